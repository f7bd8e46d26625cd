//! A minimal Graph API on loopback for the instance under load to reply to: it answers
//! replies as Meta does and records when each comment's reply arrived. It is a stand-in
//! for Meta in a measurement, like the fakes in the tests, never a production path.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// One reply as it arrived: when, to which comment, and which kind.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub comment_id: String,
    pub private: bool,
}

#[derive(Clone)]
pub struct GraphSink {
    pub base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
    stop: CancellationToken,
}

impl GraphSink {
    /// Serves on `addr` (port 0 picks one) until dropped or stopped.
    pub async fn start(addr: SocketAddr) -> anyhow::Result<GraphSink> {
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "the graph sink listens on loopback only"
        );
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let sink = GraphSink {
            base_url,
            received: Arc::default(),
            stop: CancellationToken::new(),
        };
        let app = Router::new()
            .route("/{object}/comments", get(no_comments).post(public_reply))
            .route("/{object}/replies", post(public_reply))
            .route("/{object}/messages", post(private_reply))
            .with_state(sink.clone());
        let stop = sink.stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        Ok(sink)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("sink log").clone()
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }

    fn record(&self, comment_id: String, private: bool) -> usize {
        let mut received = self.received.lock().expect("sink log");
        received.push(Received {
            at: Instant::now(),
            comment_id,
            private,
        });
        received.len()
    }
}

/// The poll backstop and the lost-answer lookup read comments; none are needed here.
async fn no_comments() -> Json<Value> {
    Json(json!({"data": [], "paging": {}}))
}

async fn public_reply(State(sink): State<GraphSink>, Path(object): Path<String>) -> Json<Value> {
    let n = sink.record(object.clone(), false);
    Json(json!({"id": format!("{object}_r{n}")}))
}

async fn private_reply(State(sink): State<GraphSink>, Json(body): Json<Value>) -> Json<Value> {
    let to = body["recipient"]["comment_id"]
        .as_str()
        .or(body["recipient"]["id"].as_str())
        .unwrap_or("")
        .to_string();
    let n = sink.record(to.clone(), true);
    Json(json!({"recipient_id": format!("psid-{to}"), "message_id": format!("m_{n}")}))
}
