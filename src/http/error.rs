//! The one error type every handler returns.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's fault; the message is safe to show.
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        /// Extra fields for the error object, such as the available qty.
        details: Option<serde_json::Map<String, serde_json::Value>>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Adds a field beside `code` and `message` in the error object.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if let ApiError::Client { details, .. } = &mut self {
            details
                .get_or_insert_with(Default::default)
                .insert(key.to_string(), value.into());
        }
        self
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API token as `Authorization: Bearer <token>`",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", message)
    }
}

/// Marks an answer whose transaction lost a race (a deadlock, a serialization failure)
/// and wrote nothing, so running the whole request again is safe.
#[derive(Clone, Copy, Debug)]
pub struct LostRace;

/// Runs an `/api/v1` request a second time when its first run lost a race, before
/// answering: the caller sees one answer instead of a 503 for a conflict that a second
/// try almost always clears. The body (small: the API's body limit applies) is kept for
/// that second run.
pub async fn retry_lost_race(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body could not be read",
        )
        .into_response();
    };
    let again =
        axum::extract::Request::from_parts(parts.clone(), axum::body::Body::from(bytes.clone()));
    let first = next
        .clone()
        .run(axum::extract::Request::from_parts(
            parts,
            axum::body::Body::from(bytes),
        ))
        .await;
    if first.extensions().get::<LostRace>().is_none() {
        return first;
    }
    tracing::info!("running a request again after it lost a race");
    next.run(again).await
}

/// The JSON body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

fn body(status: StatusCode, code: &str, message: &str) -> Response {
    body_with(status, code, message, None)
}

fn body_with(
    status: StatusCode,
    code: &str,
    message: &str,
    details: Option<serde_json::Map<String, serde_json::Value>>,
) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message: message.to_string(),
            details: details.unwrap_or_default(),
        },
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Client {
                status,
                code,
                message,
                details,
            } => body_with(status, code, &message, details),
            ApiError::Store(ref err @ StoreError::Conflict { ref constraint, .. }) => {
                let message = if err.is_reference_conflict() {
                    format!("it is still in use, or names something that is gone ({constraint})")
                } else {
                    format!("it already exists ({constraint})")
                };
                body(StatusCode::CONFLICT, "conflict", &message)
            }
            ApiError::Store(err @ StoreError::Unavailable(_)) => {
                tracing::warn!(error = ?err, "database unavailable");
                body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; try again shortly",
                )
            }
            // Store calls run a lost race again a few times; one that still loses is busy,
            // not broken, and changed nothing.
            ApiError::Store(err @ StoreError::Contention(_)) => {
                tracing::warn!(error = ?err, "transaction kept losing races");
                let mut response = body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the stock is busy; nothing was changed, try again",
                );
                // Nothing was written: `retry_lost_race` may run the request once more.
                response.extensions_mut().insert(LostRace);
                response
            }
            other => {
                tracing::error!(error = ?other, "internal error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side",
                )
            }
        }
    }
}

/// The answers tower's layers give on their own under `/api/v1` (413 from the body limit
/// when `Content-Length` is too large, 408 from the timeout) come with a text or empty
/// body; this gives them the error shape too. Handlers' and extractors' errors are
/// already JSON and pass unchanged.
pub async fn shape_layer_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let under_api = path == "/api/v1" || path.starts_with("/api/v1/");
    let response = next.run(request).await;
    let status = response.status();
    if !under_api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long; try again"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this route does not take that method")
        }
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        s if s.is_server_error() => ("internal", "something went wrong on our side"),
        _ => ("bad_request", "the request was refused"),
    };
    let mut shaped = body(status, code, message);
    // Keep headers such as `Allow` and `Retry-After`.
    for (name, value) in response.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            shaped.headers_mut().append(name.clone(), value.clone());
        }
    }
    shaped
}

#[cfg(test)]
mod lost_race_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::routing::post;
    use axum::Router;

    use super::{retry_lost_race, ApiError};
    use crate::store::StoreError;

    /// Serves a route that loses its race the first `losses` times, behind the layer;
    /// answers the status and body of one POST, and how often the handler ran.
    async fn post_once(losses: usize) -> (u16, String, usize) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&calls);
        let app = Router::new()
            .route(
                "/thing",
                post(move |body: String| {
                    let seen = Arc::clone(&seen);
                    async move {
                        if seen.fetch_add(1, Ordering::SeqCst) < losses {
                            Err(ApiError::Store(StoreError::Contention("deadlock".into())))
                        } else {
                            Ok(format!("stored {body}"))
                        }
                    }
                }),
            )
            .layer(axum::middleware::from_fn(retry_lost_race));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let answer = reqwest::Client::new()
            .post(format!("http://{address}/thing"))
            .body("the same body")
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (
            status,
            answer.text().await.unwrap(),
            calls.load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn a_lost_race_runs_once_more_with_the_same_body() {
        assert_eq!(post_once(0).await, (200, "stored the same body".into(), 1));
        assert_eq!(post_once(1).await, (200, "stored the same body".into(), 2));
        // Only once more: a second loss is answered, 503 `busy`.
        let (status, body, calls) = post_once(2).await;
        assert_eq!((status, calls), (503, 2));
        assert!(body.contains(r#""code":"busy""#), "{body}");
    }
}
