//! A fake Telegram Bot API, answered as Telegram does, with every call recorded:
//! - `sendMessage`: chats listed in `blocked` answer 403 like a user who blocked the bot;
//! - `getUpdates`: hands out the queued `updates` from the asked offset (a long poll waits
//!   a little when there are none), and forgets those below it, as Telegram confirms them;
//! - `deleteWebhook`: true; `getMe`: the bot, named [`BOT_USERNAME`];
//! - `answerCallbackQuery`, `editMessageText`: recorded in `answers` and `edits`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const BOT_USERNAME: &str = "plusone_shop_bot";

#[derive(Clone, Default)]
pub struct FakeTelegram {
    /// (the path's token part, the JSON body) of every call.
    pub calls: Arc<Mutex<Vec<(String, Value)>>>,
    pub blocked: Arc<Mutex<HashSet<String>>>,
    /// Updates waiting to be fetched by `getUpdates`.
    pub updates: Arc<Mutex<Vec<Value>>>,
    /// The `offset` of every `getUpdates` call, in order.
    pub offsets: Arc<Mutex<Vec<i64>>>,
    /// Chats whose next `sendMessage` is refused with 429 and this `retry_after` (once).
    pub throttle_once: Arc<Mutex<std::collections::HashMap<String, u64>>>,
    /// (method in lower case, body) of every call that is not `sendMessage`.
    pub others: Arc<Mutex<Vec<(String, Value)>>>,
    /// (chat, when) of every message delivered.
    pub delivered: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    /// Every `answerCallbackQuery` body, in order.
    pub answers: Arc<Mutex<Vec<Value>>>,
    /// Every `editMessageText` body, in order.
    pub edits: Arc<Mutex<Vec<Value>>>,
}

impl FakeTelegram {
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    /// Queues updates for `getUpdates`.
    pub fn queue(&self, updates: impl IntoIterator<Item = Value>) {
        self.updates.lock().unwrap().extend(updates);
    }

    pub fn answers(&self) -> Vec<Value> {
        self.answers.lock().unwrap().clone()
    }

    pub fn edits(&self) -> Vec<Value> {
        self.edits.lock().unwrap().clone()
    }

    pub fn offsets(&self) -> Vec<i64> {
        self.offsets.lock().unwrap().clone()
    }

    pub async fn start(&self) -> String {
        let app = Router::new()
            // Bot API method names are case-insensitive (teloxide writes `SendMessage`).
            .route("/{bot}/{method}", post(call))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }
}

async fn call(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    // JSON, or multipart/form-data (teloxide sends `setWebhook` so, for its certificate).
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let body = match kind.split_once("boundary=") {
        Some((_, boundary)) => form_fields(&String::from_utf8_lossy(&raw), boundary),
        None => serde_json::from_slice(&raw).unwrap_or(Value::Null),
    };
    let method = method.to_ascii_lowercase();
    if method != "sendmessage" {
        fake.others
            .lock()
            .unwrap()
            .push((method.clone(), body.clone()));
    }
    match method.as_str() {
        "sendmessage" => send_message(fake, bot, body).await,
        "setwebhook" => Json(json!({"ok": true, "result": true, "description": "Webhook was set"}))
            .into_response(),
        "getupdates" => get_updates(fake, body).await,
        "answercallbackquery" => {
            fake.answers.lock().unwrap().push(body);
            Json(json!({"ok": true, "result": true})).into_response()
        }
        "editmessagetext" => {
            fake.edits.lock().unwrap().push(body.clone());
            let chat_id = body["chat_id"].as_i64().unwrap_or(0);
            Json(json!({"ok": true, "result": {
                "message_id": body["message_id"], "date": chrono::Utc::now().timestamp(),
                "edit_date": chrono::Utc::now().timestamp(),
                "chat": {"id": chat_id, "type": "supergroup", "title": "Staff"},
                "from": {"id": 42, "is_bot": true, "first_name": "Shop bot", "username": "shop_bot"},
                "text": body["text"]}}))
            .into_response()
        }
        "deletewebhook" => delete_webhook().await,
        "getme" => Json(json!({"ok": true, "result": {
            "id": 42, "is_bot": true, "first_name": "Shop bot", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false,
            "has_main_web_app": false}}))
        .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "error_code": 404, "description": "Not Found"})),
        )
            .into_response(),
    }
}

async fn send_message(fake: FakeTelegram, bot: String, body: Value) -> Response {
    let n = {
        let mut calls = fake.calls.lock().unwrap();
        calls.push((bot, body.clone()));
        calls.len()
    };
    let chat = match &body["chat_id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(wait) = fake.throttle_once.lock().unwrap().remove(&chat) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"ok": false, "error_code": 429,
                        "description": format!("Too Many Requests: retry after {wait}"),
                        "parameters": {"retry_after": wait}})),
        )
            .into_response();
    }
    if fake.blocked.lock().unwrap().contains(&chat) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"ok": false, "error_code": 403,
                        "description": "Forbidden: bot can't initiate conversation with a user"})),
        )
            .into_response();
    }
    fake.delivered
        .lock()
        .unwrap()
        .push((chat.clone(), std::time::Instant::now()));
    // The sent message as the Bot API returns it, whole enough for teloxide to read.
    let chat_id: i64 = chat.trim_matches('"').parse().unwrap_or(0);
    let chat = if chat_id < 0 {
        json!({"id": chat_id, "type": "supergroup", "title": "Live group"})
    } else {
        json!({"id": chat_id, "type": "private", "first_name": "Buyer"})
    };
    let mut message = json!({
        "message_id": 1000 + n,
        "date": chrono::Utc::now().timestamp(),
        "chat": chat,
        "from": {"id": 42, "is_bot": true, "first_name": "Shop bot", "username": "shop_bot"},
        "text": body["text"],
    });
    if let Some(markup) = body.get("reply_markup") {
        message["reply_markup"] = markup.clone();
    }
    Json(json!({"ok": true, "result": message})).into_response()
}

async fn get_updates(fake: FakeTelegram, body: Value) -> Response {
    let offset = body["offset"].as_i64().unwrap_or(0);
    let limit = body["limit"].as_u64().unwrap_or(100) as usize;
    // A long poll, held as long as asked, as Telegram does (the tests ask for 1 s).
    let wait = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0));
    fake.offsets.lock().unwrap().push(offset);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let batch: Vec<Value> = {
            let mut updates = fake.updates.lock().unwrap();
            // Asking from an offset confirms every update below it.
            updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            updates.iter().take(limit).cloned().collect()
        };
        if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
            return Json(json!({"ok": true, "result": batch})).into_response();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn delete_webhook() -> Response {
    Json(json!({"ok": true, "result": true, "description": "Webhook is already deleted"}))
        .into_response()
}

/// The text fields of a multipart/form-data body, as a JSON object.
fn form_fields(body: &str, boundary: &str) -> Value {
    let mut fields = serde_json::Map::new();
    for part in body.split(&format!("--{}", boundary.trim_matches('"'))) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        fields.insert(
            name.to_string(),
            Value::String(value.trim_end_matches("\r\n").to_string()),
        );
    }
    Value::Object(fields)
}
