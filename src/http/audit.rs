//! `GET /api/v1/audit`: the audit log, for the owner.

use axum::extract::State;

use super::extract::Query;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::audit::AuditEntry;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Deserialize, IntoParams)]
struct AuditQuery {
    /// At most this many (default 100, 1 to 1000).
    limit: Option<i64>,
    /// `next_cursor` of the previous page: entries older than it.
    cursor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct AuditPage {
    /// Newest first.
    items: Vec<AuditEntry>,
    /// Null on the last page.
    next_cursor: Option<i64>,
}

/// Who changed what and when: every change a console user or an API token made that
/// succeeded, newest first. Bodies are not kept.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody)))]
async fn audit_log(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            "`limit` is from 1 to 1000",
        ));
    }
    let items = state.store.audit_entries(query.cursor, limit).await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage { items, next_cursor }))
}
