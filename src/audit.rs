//! The audit log: who changed what, when, and where.
//!
//! Every request that may change something (any method but GET, HEAD and OPTIONS),
//! made by a signed-in console user or an API token and answered with success, leaves
//! one entry: the caller, the method and route template, and the path it acted on.
//! Bodies are not kept: they may carry phones and addresses. Review decisions also
//! keep their decider on the comment itself, in the same transaction as the decision.

use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::http::AppState;
use crate::roles::Role;

/// One change, as the log keeps it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    /// The console user's username or the API token's name.
    pub actor: String,
    #[schema(value_type = String)]
    pub role: Role,
    pub user_id: Option<i64>,
    /// Method and route template, e.g. `POST /api/v1/review/{event_id}`.
    pub action: String,
    /// The path acted on, e.g. `/api/v1/review/42`.
    pub target: String,
    /// The HTTP status the change was answered with.
    pub status: u16,
}

/// What a new entry says; the store adds the id.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at_ms: i64,
    pub actor: String,
    pub role: Role,
    pub user_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub status: u16,
}

/// Whether an answer means the change was made: a success, or the redirect a console
/// form answers a success with.
fn changed(status: axum::http::StatusCode) -> bool {
    status.is_success() || status.is_redirection()
}

/// Records a change after its handler answered. Runs inside the layer that finds the
/// caller (the API's token check, the console's session guard).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let caller = request.extensions().get::<Caller>().cloned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let method = request.method().clone();
    // A nested router sees its own part of the path; the log keeps the whole of it.
    let target = request
        .extensions()
        .get::<OriginalUri>()
        .map_or(request.uri().path(), |uri| uri.0.path())
        .to_string();
    let response = next.run(request).await;
    let (Some(caller), Some(route)) = (caller, route) else {
        return response;
    };
    if !changed(response.status()) {
        return response;
    }
    let entry = NewAuditEntry {
        at_ms: chrono::Utc::now().timestamp_millis(),
        actor: caller.name,
        role: caller.role,
        user_id: caller.user_id,
        action: format!("{method} {route}"),
        target,
        status: response.status().as_u16(),
    };
    // The change is committed: a failure to log it must not turn its answer into an
    // error the caller would retry. It is counted and logged instead.
    if let Err(err) = state.store.record_audit(&entry).await {
        state.metrics.audit_failed();
        tracing::error!(error = %err, action = %entry.action, "audit entry not recorded");
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    #[test]
    fn successes_and_form_redirects_count_as_changes_and_refusals_do_not() {
        assert!(super::changed(StatusCode::OK));
        assert!(super::changed(StatusCode::CREATED));
        assert!(super::changed(StatusCode::SEE_OTHER));
        assert!(!super::changed(StatusCode::FORBIDDEN));
        assert!(!super::changed(StatusCode::CONFLICT));
        assert!(!super::changed(StatusCode::INTERNAL_SERVER_ERROR));
    }
}
