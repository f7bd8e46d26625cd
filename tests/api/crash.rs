//! kill -9 in the middle of a storm: what was acknowledged survives, nothing is doubled.
//! The service runs as a real process here, so the kill is a real SIGKILL.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::TestDatabase;
use crate::pipeline::{comment, feed, PAGE, POST, SECRET};

const ADMIN: &str = "crash-test-admin-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Service {
    child: Child,
    base: String,
}

impl Drop for Service {
    /// A failed assertion must not leave the process running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &TestDatabase) -> Service {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plusone"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PLUSONE") {
            cmd.env_remove(key);
        }
    }
    let child = cmd
        .env("PLUSONE__DATABASE__URL", &db.url)
        .env("PLUSONE__HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env(
            "PLUSONE__METRICS__ADDR",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("PLUSONE__ADMIN__API_TOKEN", ADMIN)
        .env("PLUSONE__META__APP_SECRET", SECRET)
        .env("PLUSONE__PIPELINE__REORDER_WINDOW_MS", "0")
        .env("PLUSONE__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Service {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Waits for the process to answer `/readyz`; it has to start and migrate first.
async fn ready(client: &reqwest::Client, service: &Service) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", service.base)).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn deliver(client: &reqwest::Client, base: &str, body: &[u8]) -> bool {
    client
        .post(format!("{base}/webhooks/meta"))
        .header(
            "x-hub-signature-256",
            plusone::ingest::sign_meta_body(SECRET.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_loses_no_acknowledged_comment_and_doubles_none() {
    const COMMENTS: usize = 1_000;
    const STOCK: i64 = 50;
    let db = TestDatabase::new();
    let client = reqwest::Client::new();
    let mut service = start(&db);
    ready(&client, &service).await;
    let api = |path: &str| format!("{}{path}", service.base);
    let made = client
        .post(api("/api/v1/products"))
        .bearer_auth(ADMIN)
        .json(
            &json!({"code": "A01", "name": "裙", "price": 100, "currency": "HKD",
                      "skus": [{"sku": "A01-1", "on_hand": STOCK}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let live: Value = client
        .post(api("/api/v1/lives"))
        .bearer_auth(ADMIN)
        .json(&json!({"title": "crash", "state": "live",
                      "bindings": [{"platform": "facebook", "page_id": PAGE, "object_id": POST}],
                      "lineup": [{"code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(live["id"].is_i64());

    let bodies: Vec<Vec<u8>> = (0..COMMENTS)
        .collect::<Vec<_>>()
        .chunks(10)
        .map(|chunk| {
            feed(
                chunk
                    .iter()
                    .map(|&i| {
                        comment(
                            &format!("c{i}"),
                            &format!("u{i}"),
                            "+1",
                            1_700_000_000 + i as i64,
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let mut acknowledged = 0;
    for body in &bodies[..bodies.len() / 2] {
        if deliver(&client, &service.base, body).await {
            acknowledged += 1;
        }
    }
    assert_eq!(acknowledged, bodies.len() / 2);
    // SIGKILL while the sequencer is deciding: no shutdown path runs.
    service.child.kill().unwrap();
    service.child.wait().unwrap();
    drop(service);
    let store = db.store().await;
    let counts = store.outcome_counts().await.unwrap();
    assert_eq!(
        counts.values().sum::<i64>(),
        (COMMENTS / 2) as i64,
        "every acknowledged comment was stored: {counts:?}"
    );

    // Meta resends what it has no 200 for; resending everything is a superset of that.
    service = start(&db);
    ready(&client, &service).await;
    for body in &bodies {
        assert!(deliver(&client, &service.base, body).await);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = store.outcome_counts().await.unwrap();
        if !counts.contains_key("pending") && counts.values().sum::<i64>() == COMMENTS as i64 {
            assert_eq!(counts.get("reserved"), Some(&STOCK), "{counts:?}");
            assert_eq!(
                counts.get("waitlisted"),
                Some(&(COMMENTS as i64 - STOCK)),
                "{counts:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still undecided: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let level = store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (STOCK, STOCK));
}
