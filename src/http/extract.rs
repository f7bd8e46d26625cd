//! `Path` and `Query` extractors for `/api/v1` whose rejections use the API's error shape
//! (axum's own answer 400 in plain text).
//!
//! They keep axum's names so that a handler switches by its `use` line alone, and so that
//! utoipa still reads the path and query parameters from the handler's arguments.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::FromRequestParts;

use super::error::ApiError;

/// Path parameters; a value that does not parse answers 400 `invalid_path`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Query parameters; a value that does not parse answers 400 `invalid_query`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A route whose parameters do not fit its handler is our bug, not the caller's.
        if rejection.status().is_server_error() {
            return ApiError::Internal(anyhow::anyhow!(rejection.body_text()));
        }
        ApiError::bad_request("invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", rejection.body_text())
    }
}
