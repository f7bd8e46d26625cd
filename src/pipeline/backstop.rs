//! The missed-comment backstop. Webhooks alone lose comments, so while a session is live
//! its bound objects' comments are read back from the Graph API and fed through the same
//! inbox; the inbox's dedupe drops what webhooks already brought.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use super::intake::inbox_rows;
use super::InboxWriter;
use crate::ingest::{normalise_graph_comments, Inbound, Platform};
use crate::metrics::Metrics;
use crate::store::{LiveState, Store};

#[derive(Clone)]
pub struct Backstop {
    store: Store,
    inbox: InboxWriter,
    http: reqwest::Client,
    graph_api_base: String,
    metrics: Arc<Metrics>,
}

impl Backstop {
    pub fn new(
        store: Store,
        inbox: InboxWriter,
        graph_api_base: &str,
        metrics: Arc<Metrics>,
    ) -> Backstop {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Backstop {
            store,
            inbox,
            http,
            graph_api_base: graph_api_base.trim_end_matches('/').to_string(),
            metrics,
        }
    }

    pub async fn run(self, interval: Duration, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match self.poll_once().await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(recovered = n, "backstop recovered comments webhooks missed")
                }
                Err(err) => tracing::warn!(error = %err, "backstop poll failed; will retry"),
            }
        }
    }

    /// Polls every bound object of every live session once. Returns the comments that
    /// were new to the inbox.
    pub async fn poll_once(&self) -> anyhow::Result<usize> {
        let mut recovered = 0;
        for live_id in self.store.live_ids_in_state(LiveState::Live).await? {
            let Some(live) = self.store.live(live_id).await? else {
                continue;
            };
            for binding in &live.bindings {
                let platform = match binding.platform.as_str() {
                    "facebook" => Platform::Facebook,
                    "instagram" => Platform::Instagram,
                    _ => continue,
                };
                let Some(token) = self.store.page_token(&binding.page_id).await? else {
                    tracing::warn!(page = %binding.page_id, "no access token for a bound page; cannot poll");
                    continue;
                };
                let url = format!("{}/{}/comments", self.graph_api_base, binding.object_id);
                let response = self
                    .http
                    .get(&url)
                    .query(&[
                        ("filter", "stream"),
                        ("order", "reverse_chronological"),
                        ("limit", "100"),
                    ])
                    .bearer_auth(token.expose_secret())
                    .send()
                    .await;
                let body: serde_json::Value = match response {
                    Ok(r) if r.status().is_success() => r.json().await?,
                    Ok(r) => {
                        tracing::warn!(status = %r.status(), object = %binding.object_id, "Graph API refused the poll");
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err.without_url(), object = %binding.object_id, "Graph API unreachable");
                        continue;
                    }
                };
                let items: Vec<Inbound> =
                    normalise_graph_comments(platform, &binding.page_id, &binding.object_id, &body)
                        .into_iter()
                        .map(Inbound::from)
                        .collect();
                if items.is_empty() {
                    continue;
                }
                let rows = inbox_rows(&items, "backstop", chrono::Utc::now().timestamp_millis());
                let report = self.inbox.write(rows).await?;
                self.metrics
                    .inbox_written(report.inserted as u64, report.duplicates as u64);
                self.metrics.recovered(report.inserted as u64);
                recovered += report.inserted;
            }
        }
        Ok(recovered)
    }
}
