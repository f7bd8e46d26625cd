//! The baseline server for `plusone bench pipeline`: the same signed webhook, acknowledged
//! only after one transaction per comment has committed, the way most tools do it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::ingest::{normalise_meta, verify_meta_signature};
use crate::parse::{self, Limits};
use crate::pipeline::catalog::LiveCatalog;
use crate::pipeline::decide::{decide, Action};
use crate::pipeline::intake::inbox_rows;
use crate::pipeline::OutcomeKind;
use crate::store::{BaselineAsk, BaselineComment, Store};

struct Baseline {
    store: Store,
    /// The one sale being measured, loaded once (a per-comment lookup would only slow
    /// the baseline further).
    catalog: LiveCatalog,
    app_secret: String,
}

pub struct BaselineServer {
    pub webhook: String,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl BaselineServer {
    pub async fn start(store: Store, live_id: i64, app_secret: &str) -> anyhow::Result<Self> {
        let live = store
            .live(live_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no live session {live_id}"))?;
        let catalog = LiveCatalog::load(&store, live).await?;
        let state = Arc::new(Baseline {
            store,
            catalog,
            app_secret: app_secret.to_string(),
        });
        let app = Router::new()
            .route("/webhooks/meta", post(deliver))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let webhook = format!("http://{}/webhooks/meta", listener.local_addr()?);
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
        });
        Ok(BaselineServer {
            webhook,
            stop,
            task,
        })
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn deliver(
    State(baseline): State<Arc<Baseline>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if verify_meta_signature(baseline.app_secret.as_bytes(), &body, signature).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let items = normalise_meta(&value).items;
    let rows = inbox_rows(&items, "webhook", chrono::Utc::now().timestamp_millis());
    let catalog = &baseline.catalog;
    let live = &catalog.live;
    let limits = Limits::default();
    for row in &rows {
        let bound = row.object_id.as_deref().is_some_and(|object| {
            live.bindings
                .iter()
                .any(|b| b.object_id == object && b.platform == row.platform)
        });
        let parsed = parse::parse(
            row.text.as_deref().unwrap_or(""),
            &catalog.catalog,
            live.current.as_deref(),
            &limits,
        );
        let ask = match decide(&parsed, catalog) {
            Action::Order(lines) => {
                BaselineAsk::Order(lines.iter().map(|l| (l.sku_id, l.qty)).collect())
            }
            Action::Question(_) => BaselineAsk::Other {
                outcome: OutcomeKind::QuestionAnswered,
                reason: None,
                reply: true,
            },
            // Cancelling needs the member's holds; the baseline only records the ask.
            Action::Cancel(_) => BaselineAsk::Other {
                outcome: OutcomeKind::Cancelled,
                reason: Some("nothing_to_cancel".into()),
                reply: true,
            },
            Action::Review(reason) => BaselineAsk::Other {
                outcome: OutcomeKind::NeedsReview,
                reason: Some(reason),
                reply: false,
            },
            Action::Ignore(reason) => BaselineAsk::Other {
                outcome: OutcomeKind::Ignored,
                reason: Some(reason.to_string()),
                reply: false,
            },
        };
        let comment = BaselineComment {
            row,
            live_id: bound.then_some(live.id),
            hold_ttl_seconds: live.hold_ttl_seconds,
            ask,
        };
        if let Err(err) = baseline.store.baseline_comment(&comment).await {
            tracing::warn!(error = ?err, "baseline: comment not stored; Meta will retry");
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    StatusCode::OK
}
