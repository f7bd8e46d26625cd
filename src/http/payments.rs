//! `/api/v1/payments/issues`: online payments that need staff, and closing them.

use axum::extract::State;

use super::extract::{Path, Query};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, AppState};
use crate::auth::Caller;
use crate::store::PaymentIssue;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_issues))
        .routes(routes!(resolve_issue))
}

#[derive(Deserialize, IntoParams)]
struct IssuesQuery {
    /// `open` (the default) or `all`.
    status: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct IssueList {
    /// Newest first.
    items: Vec<PaymentIssue>,
}

/// Payments that could not simply mark their order paid: a session no order opened
/// (`unmatched`), a different amount (`amount_mismatch`), an order that had expired or
/// been cancelled (`after_close`), or a second payment of a paid order (`paid_twice`).
#[utoipa::path(get, path = "/payments/issues", tag = "orders", params(IssuesQuery),
    responses((status = 200, body = IssueList), (status = 400, body = ErrorBody)))]
async fn list_issues(
    State(state): State<AppState>,
    Query(query): Query<IssuesQuery>,
) -> Result<Json<IssueList>, ApiError> {
    let open_only = match query.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_status",
                "`status` is `open` or `all`",
            ))
        }
    };
    let items = state.store.payment_issues(open_only, 500).await?;
    Ok(Json(IssueList { items }))
}

#[derive(Deserialize, ToSchema)]
struct Resolve {
    /// What was done: refunded, matched to an order by hand, and so on (1 to 500 characters).
    note: String,
}

/// Closes an issue with a note of what was done; who closed it is recorded.
#[utoipa::path(post, path = "/payments/issues/{id}/resolve", tag = "orders",
    params(("id" = i64, Path)), request_body = Resolve,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn resolve_issue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<Resolve>,
) -> Result<StatusCode, ApiError> {
    let note = input.note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(ApiError::unprocessable(
            "invalid_note",
            "`note` must be 1 to 500 characters",
        ));
    }
    let now = chrono::Utc::now().timestamp_millis();
    if state
        .store
        .resolve_payment_issue(id, &caller.name, note, now)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no open payment issue {id}")))
    }
}
