//! Bearer-token authentication for `/api/v1`.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use super::AppState;

/// Rejects a request without a valid token and hands the `Caller` to the handler.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(ApiError::unauthorized)?;
    let caller = state
        .tokens
        .verify(&state.store, presented)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}
