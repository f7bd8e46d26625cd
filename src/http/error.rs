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
            ApiError::Store(StoreError::Conflict { constraint, .. }) => body(
                StatusCode::CONFLICT,
                "conflict",
                &format!("it already exists ({constraint})"),
            ),
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
                body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the stock is busy; nothing was changed, try again",
                )
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
