//! The store's Postgres connections over TCP have Nagle's algorithm off (`TCP_NODELAY`).
//!
//! Without it a statement larger than one segment waits about 40 ms for the server's
//! delayed ACK (sqlx 0.9.0 dropped the option; see README, "sqlx 0.8.6 and TCP_NODELAY").
//! The check reads the option from the sockets themselves rather than timing anything. It
//! runs only when `PLUSONE_TEST_DATABASE` is a Postgres URL over TCP; on SQLite or a Unix
//! socket it has nothing to look at.

use std::net::TcpStream;
use std::os::fd::{BorrowedFd, RawFd};
use std::str::FromStr;

use plusone::store::Store;
use sqlx::postgres::PgConnectOptions;

#[tokio::test]
async fn postgres_connections_over_tcp_set_tcp_nodelay() {
    let Ok(url) = std::env::var("PLUSONE_TEST_DATABASE") else {
        return;
    };
    if !url.starts_with("postgres") {
        return;
    }
    let options = PgConnectOptions::from_str(&url).unwrap();
    if options.get_host().starts_with('/') {
        return;
    }
    // The admin database exists already: nothing is created or migrated. `is_ready` only
    // makes a round trip here (it is false on an unmigrated database).
    let store = Store::connect(&url, 1).await.expect("store connects");
    store.is_ready().await.expect("postgres answers");

    let nodelay = postgres_sockets(options.get_port());
    // Other tests in this binary hold Postgres connections too; all of them are sqlx's.
    assert!(
        !nodelay.is_empty(),
        "no TCP socket to port {} found",
        options.get_port()
    );
    assert!(
        nodelay.iter().all(|(_, on)| *on),
        "Postgres sockets without TCP_NODELAY (local port, nodelay): {nodelay:?}"
    );
    store.close().await;
}

/// Every TCP socket of this process whose peer is on `server_port`, with its local port
/// and whether `TCP_NODELAY` is set on it.
fn postgres_sockets(server_port: u16) -> Vec<(u16, bool)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor is only borrowed to duplicate it; if another test closed
        // it meanwhile the dup fails, or names another file, which the checks below skip.
        let Ok(owned) = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned() else {
            continue;
        };
        // Dropping the stream closes only the duplicate.
        let stream = TcpStream::from(owned);
        let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            continue;
        };
        if peer.port() != server_port {
            continue;
        }
        if let Ok(on) = stream.nodelay() {
            found.push((local.port(), on));
        }
    }
    found
}
