//! A fake Telegram Bot API: `POST /bot{token}/sendMessage`, answered as Telegram does, with
//! every call recorded. Chats listed in `blocked` answer 403 like a user who blocked the bot.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Clone, Default)]
pub struct FakeTelegram {
    /// (the path's token part, the JSON body) of every call.
    pub calls: Arc<Mutex<Vec<(String, Value)>>>,
    pub blocked: Arc<Mutex<HashSet<String>>>,
}

impl FakeTelegram {
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    pub async fn start(&self) -> String {
        let app = Router::new()
            .route("/{method_path}/sendMessage", post(send_message))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }
}

async fn send_message(
    State(fake): State<FakeTelegram>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let n = {
        let mut calls = fake.calls.lock().unwrap();
        calls.push((bot, body.clone()));
        calls.len()
    };
    let chat = match &body["chat_id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if fake.blocked.lock().unwrap().contains(&chat) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"ok": false, "error_code": 403,
                        "description": "Forbidden: bot can't initiate conversation with a user"})),
        )
            .into_response();
    }
    Json(
        json!({"ok": true, "result": {"message_id": 1000 + n, "chat": {"id": body["chat_id"]},
                                        "text": body["text"]}}),
    )
    .into_response()
}
