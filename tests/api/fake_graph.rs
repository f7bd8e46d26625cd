//! A fake Graph API: it serves canned comments for objects, takes replies the way Meta
//! does (one private reply per comment, 10900 for a second), injects faults on demand and
//! records every call.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// What the fake does to the next call whose path ends with the fault's suffix.
#[derive(Clone, Debug)]
pub enum Fault {
    /// HTTP 500 without acting.
    ServerError,
    /// Meta's custom rate limit, optionally with a usage header asking for a wait.
    Throttled { regain_minutes: Option<u64> },
    /// Acts (the reply is delivered), then answers only after this long.
    SlowAnswer(Duration),
    /// Refuses with Meta's error body: `{"error":{"code":…,"error_subcode":…}}`.
    Refused {
        status: u16,
        code: i64,
        subcode: Option<i64>,
    },
}

/// One POST as the fake saw it, and the status it answered.
#[derive(Clone, Debug)]
pub struct Post {
    pub path: String,
    pub auth: String,
    pub body: Value,
    pub status: u16,
}

#[derive(Clone, Default)]
pub struct FakeGraph {
    comments: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    /// (path, Authorization header) of every GET.
    pub calls: Arc<Mutex<Vec<(String, String)>>>,
    /// Every POST, in arrival order.
    pub posts: Arc<Mutex<Vec<Post>>>,
    faults: Arc<Mutex<Vec<(String, Fault)>>>,
    /// Comments that have had their one private reply.
    replied: Arc<Mutex<HashSet<String>>>,
    /// Replies that reached the audience: (path, recipient or comment, text).
    pub delivered: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl FakeGraph {
    pub fn set_comments(&self, object: &str, comments: Vec<Value>) {
        self.comments
            .lock()
            .unwrap()
            .insert(object.to_string(), comments);
    }

    /// The next call whose path ends with `suffix` (e.g. `/messages`) meets `fault`.
    pub fn fail_next(&self, suffix: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .push((suffix.to_string(), fault));
    }

    /// A comment that already has its private reply (sent by an earlier attempt or by hand).
    pub fn mark_replied(&self, comment: &str) {
        self.replied.lock().unwrap().insert(comment.to_string());
    }

    pub fn posts_to(&self, suffix: &str) -> Vec<Post> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.path.ends_with(suffix))
            .cloned()
            .collect()
    }

    pub fn delivered(&self) -> Vec<(String, String, String)> {
        self.delivered.lock().unwrap().clone()
    }

    /// Serves on a loopback port; returns the base URL.
    pub async fn start(&self) -> String {
        let app = Router::new()
            .route("/{object}/comments", get(comments).post(reply))
            .route("/{object}/replies", post(reply))
            .route("/{object}/messages", post(reply))
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

/// Public replies, private replies and Send API messages, as Meta answers them.
async fn reply(
    State(fake): State<FakeGraph>,
    Path(object): Path<String>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let path = uri.path().to_string();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let fault = {
        let mut faults = fake.faults.lock().unwrap();
        faults
            .iter()
            .position(|(suffix, _)| path.ends_with(suffix.as_str()))
            .map(|i| faults.remove(i).1)
    };
    let record = |status: u16| {
        fake.posts.lock().unwrap().push(Post {
            path: path.clone(),
            auth: auth.clone(),
            body: body.clone(),
            status,
        })
    };
    let meta_error = |status: StatusCode, code: i64, message: &str| {
        (
            status,
            Json(
                json!({"error": {"message": message, "type": "OAuthException", "code": code,
                                  "fbtrace_id": "AbCdEf"}}),
            ),
        )
    };
    match &fault {
        Some(Fault::ServerError) => {
            record(500);
            return meta_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                2,
                "An unexpected error has occurred.",
            )
            .into_response();
        }
        Some(Fault::Throttled { regain_minutes }) => {
            record(400);
            let mut response = meta_error(
                StatusCode::BAD_REQUEST,
                613,
                "Calls to this api have exceeded the rate limit.",
            )
            .into_response();
            if let Some(minutes) = regain_minutes {
                let usage = json!({"137542570280222": [{"type": "pages", "call_count": 100,
                    "total_cputime": 10, "total_time": 10,
                    "estimated_time_to_regain_access": minutes}]});
                response.headers_mut().insert(
                    "x-business-use-case-usage",
                    usage.to_string().parse().unwrap(),
                );
            }
            return response;
        }
        Some(Fault::Refused {
            status,
            code,
            subcode,
        }) => {
            record(*status);
            return (
                StatusCode::from_u16(*status).unwrap(),
                Json(
                    json!({"error": {"message": "(#551) This person isn't available right now.",
                                      "type": "OAuthException", "code": code,
                                      "error_subcode": subcode, "fbtrace_id": "AbCdEf"}}),
                ),
            )
                .into_response();
        }
        _ => {}
    }
    let comment_recipient = body["recipient"]["comment_id"].as_str().map(str::to_string);
    if let Some(comment) = &comment_recipient {
        if !fake.replied.lock().unwrap().insert(comment.clone()) {
            record(400);
            return meta_error(
                StatusCode::BAD_REQUEST,
                10900,
                "Activity already replied to",
            )
            .into_response();
        }
    }
    let text = body["message"]["text"]
        .as_str()
        .or(body["message"].as_str())
        .unwrap_or("")
        .to_string();
    let to = comment_recipient
        .or(body["recipient"]["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| object.clone());
    let n = {
        let mut delivered = fake.delivered.lock().unwrap();
        delivered.push((path.clone(), to.clone(), text));
        delivered.len()
    };
    record(200);
    let public = !path.ends_with("/messages");
    if public {
        // The reply shows under the comment, as the page's own.
        fake.comments
            .lock()
            .unwrap()
            .entry(object.clone())
            .or_default()
            .push(json!({"id": format!("{object}_reply{n}"),
                         "from": {"id": crate::pipeline::PAGE, "name": "the shop"},
                         "message": body["message"].clone()}));
    }
    if let Some(Fault::SlowAnswer(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    let answer = if public {
        json!({"id": format!("{object}_reply{n}")})
    } else {
        json!({"recipient_id": format!("psid-of-{to}"), "message_id": format!("m_{n}")})
    };
    Json(answer).into_response()
}
