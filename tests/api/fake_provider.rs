//! A fake hosted-checkout provider: it opens sessions the way the real API does, records
//! each request, and can send the signed "paid" webhook back to plusone.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const API_KEY: &str = "sk_test_provider_key";
pub const WEBHOOK_SECRET: &str = "whsec_provider_secret";

#[derive(Clone, Default)]
pub struct FakeProvider {
    /// Every session request: its body and its Idempotency-Key.
    pub sessions: Arc<Mutex<Vec<(Value, String)>>>,
    address: Arc<Mutex<String>>,
}

async fn open_session(
    State(fake): State<FakeProvider>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {API_KEY}") {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut sessions = fake.sessions.lock().unwrap();
    sessions.push((body, key));
    let id = format!("cs_{}", sessions.len());
    let url = format!("{}/pay/{id}", fake.address.lock().unwrap());
    Ok(Json(json!({"id": id, "url": url})))
}

impl FakeProvider {
    /// Serves on a loopback port; returns the API base.
    pub async fn start(&self) -> String {
        let app = Router::new()
            .route("/v1/checkout/sessions", post(open_session))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *self.address.lock().unwrap() = base.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    /// The webhook the provider sends when `session` is paid, signed with `secret`.
    pub fn paid_webhook(session: &str, amount: i64, secret: &str) -> (Vec<u8>, String) {
        let body = json!({"type": "session.completed",
            "session": {"id": session, "amount": amount, "currency": "HKD"}})
        .to_string()
        .into_bytes();
        let signature = plusone::checkout::provider::sign(
            secret.as_bytes(),
            chrono::Utc::now().timestamp(),
            &body,
        );
        (body, signature)
    }
}
