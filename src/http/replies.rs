//! `/api/v1/replies`: the outbox as staff see it, and sending a reply again after an
//! outage outlasted its retries (the re-drive).

use axum::extract::State;

use super::extract::{Path, Query};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::store::{Redrive, ReplyFilter, ReplyView};
use crate::vocab::OutboxStatus;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_replies))
        .routes(routes!(retry_reply))
}

#[derive(Deserialize, IntoParams)]
struct ReplyQuery {
    /// Only replies in this status: pending, sending, sent, failed, dead or skipped.
    status: Option<String>,
    /// Only replies of this live session.
    live_id: Option<String>,
    /// Only replies to this buyer (member).
    member_id: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ReplyPage {
    /// Newest first.
    items: Vec<ReplyView>,
    /// Null on the last page.
    next_cursor: Option<String>,
}

fn positive(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    match value {
        None => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(ApiError::bad_request(
                "invalid_query",
                format!("`{name}` must be a positive whole number"),
            )),
        },
    }
}

/// Replies, newest first, by status, live session and buyer: the dead letters are
/// `status=dead`.
#[utoipa::path(get, path = "/replies", tag = "replies", params(ReplyQuery),
    responses((status = 200, body = ReplyPage), (status = 400, body = ErrorBody)))]
async fn list_replies(
    State(state): State<AppState>,
    Query(query): Query<ReplyQuery>,
) -> Result<Json<ReplyPage>, ApiError> {
    let status = match &query.status {
        None => None,
        Some(text) => Some(text.parse::<OutboxStatus>().map_err(|_| {
            let all: Vec<&str> = OutboxStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(
                "invalid_status",
                format!("`status` must be one of {}", all.join(", ")),
            )
        })?),
    };
    let live_id = positive("live_id", &query.live_id)?;
    let member_id = positive("member_id", &query.member_id)?;
    let limit = positive("limit", &query.limit)?.unwrap_or(100).min(1000);
    let before = match &query.cursor {
        None => 0,
        Some(_) => positive("cursor", &query.cursor)?.unwrap_or(0),
    };
    let items = state
        .store
        .replies_filtered(&ReplyFilter {
            status,
            live_id,
            member_id,
            before,
            limit,
        })
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(ReplyPage { items, next_cursor }))
}

/// Sends a dead, failed or waiting reply again, now: it becomes `pending` and due, with
/// its attempts and its retry window (`outbox.retry_for_hours`) started anew. A private
/// reply whose earlier answer was lost and that did arrive is recorded as sent, not sent
/// twice (the platform refuses a second one).
#[utoipa::path(post, path = "/replies/{id}/retry", tag = "replies", params(("id" = i64, Path)),
    responses((status = 200, body = ReplyView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn retry_reply(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ReplyView>, ApiError> {
    let now = chrono::Utc::now().timestamp_millis();
    match state.store.redrive_reply(id, now).await? {
        Redrive::Queued(view) => {
            tracing::info!(reply_id = id, "reply re-driven by staff");
            Ok(Json(view))
        }
        Redrive::NotRetryable(status) => Err(ApiError::conflict(
            "not_retryable",
            format!(
                "reply {id} is `{status}`: only dead, failed or pending replies can be sent again"
            ),
        )
        .with_detail("status", status.as_str())),
        Redrive::NotFound => Err(ApiError::not_found(format!("no reply {id}"))),
    }
}
