//! The live board's fan-out: each replica computes a live's board once per change and
//! hands the same JSON to all of its subscribers.
//!
//! - A live's board is computed only while someone on this replica watches it (a
//!   `watch` channel per live; its task ends with its last subscriber).
//! - Change signals: the sequencer's batch commit ([`BoardHub::changed`]), any
//!   successful write over HTTP ([`signal_writes`]: stock, reservations, orders,
//!   checkout, lives, sandbox), and a poll of a change fingerprint.
//! - Bursts coalesce: a live's board is computed at most once per [`COALESCE`], so a
//!   storm of commits costs a few computations a second, not one per commit.
//! - Across replicas: every [`POLL`] a replica with subscribers reads one fingerprint
//!   statement (maxima of ids and change times, index lookups only) and recomputes its
//!   watched boards when it moved. See the README ("The live board") for why a poll
//!   rather than LISTEN/NOTIFY.

mod hub;

pub(crate) use hub::board_json;
pub use hub::{BoardHub, Compute, Snapshot, Subscription};

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::http::AppState;

/// The shortest time between two computations of one live's board.
pub const COALESCE: Duration = Duration::from_millis(200);

/// How often a replica with board subscribers looks for changes made elsewhere.
pub const POLL: Duration = Duration::from_millis(250);

/// Minutes of comment counts a board carries.
pub const PER_MINUTE: i64 = 15;

/// Tells the hub after every successful write over HTTP: a stock adjustment, a
/// reservation, an order's payment or a checkout changes what boards show, and which
/// lives it touches is not worth working out (a SKU can be in several lineups). Only
/// watched lives recompute, at most once per [`COALESCE`].
pub async fn signal_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let write = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let response = next.run(request).await;
    if write && response.status().is_success() {
        state.board.changed_all();
    }
    response
}
