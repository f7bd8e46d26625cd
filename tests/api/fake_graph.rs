//! A fake Graph API: it serves canned comments for objects and records every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Clone, Default)]
pub struct FakeGraph {
    comments: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    /// (path, Authorization header) of every call.
    pub calls: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeGraph {
    pub fn set_comments(&self, object: &str, comments: Vec<Value>) {
        self.comments
            .lock()
            .unwrap()
            .insert(object.to_string(), comments);
    }

    /// Serves on a loopback port; returns the base URL.
    pub async fn start(&self) -> String {
        let app = Router::new()
            .route("/{object}/comments", get(comments))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }
}

async fn comments(
    State(fake): State<FakeGraph>,
    Path(object): Path<String>,
    headers: HeaderMap,
) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    fake.calls
        .lock()
        .unwrap()
        .push((format!("/{object}/comments"), auth));
    let data = fake
        .comments
        .lock()
        .unwrap()
        .get(&object)
        .cloned()
        .unwrap_or_default();
    Json(json!({"data": data, "paging": {}}))
}
