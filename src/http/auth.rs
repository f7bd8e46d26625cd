//! Who may call `/api/v1`: a bearer token, or a console session, checked against the role
//! table ([`crate::roles`]).

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use super::session;
use super::AppState;
use crate::accounts::secrets_match;
use crate::auth::Caller;

/// The header a page's script sends with an unsafe API call made with its session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Rejects a request without a valid token or session, or whose role the table does not
/// allow on this route, and hands the `Caller` to the handler.
///
/// A session is accepted so the console's own scripts can read the API (EventSource
/// cannot send headers); an unsafe method with a session also needs `X-CSRF-Token`.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = match request.headers().get(AUTHORIZATION) {
        Some(value) => {
            let presented = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(ApiError::unauthorized)?;
            state
                .tokens
                .verify(&state.store, presented)
                .await?
                .ok_or_else(ApiError::unauthorized)?
        }
        None => {
            let signed = session::signed_in(&state, request.headers())
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            if !request.method().is_safe() {
                let presented = request
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !secrets_match(presented, &signed.csrf) {
                    return Err(ApiError::client(
                        StatusCode::FORBIDDEN,
                        "csrf",
                        "a call made with a console session needs the session's `X-CSRF-Token`",
                    ));
                }
            }
            Caller {
                name: signed.user.username,
                role: signed.user.role,
                user_id: Some(signed.user.id),
            }
        }
    };
    // No matched route means the fallback: a 404 follows, whoever asks.
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        let area = crate::roles::api_area(request.method().as_str(), route.as_str());
        if !area.allows(caller.role) {
            return Err(ApiError::forbidden(format!(
                "the {} role may not use {} {}",
                caller.role.as_str(),
                request.method(),
                route.as_str()
            )));
        }
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}
