//! `/api/v1/lives/{id}/events` and `/api/v1/review`: every comment and its outcome, and
//! the queue of what the parser would not guess.

use crate::pipeline::{OutcomeKind, OUTCOMES};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::{ApiJson, AppState};
use crate::auth::Caller;
use crate::parse::Line;
use crate::pipeline::review::{self, ReviewError};
use crate::store::EventView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live_events))
        .routes(routes!(review_queue))
        .routes(routes!(review_event))
}

#[derive(Deserialize, IntoParams)]
struct Page {
    /// Only events with this outcome.
    #[param(value_type = Option<OutcomeKind>)]
    outcome: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct EventPage {
    items: Vec<EventView>,
    /// Null on the last page.
    next_cursor: Option<String>,
}

fn page_of(items: Vec<EventView>, limit: i64) -> EventPage {
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.id.to_string()))
        .flatten();
    EventPage { items, next_cursor }
}

/// The page's limit, cursor and outcome filter.
fn read_page(page: &Page) -> Result<(i64, i64, Option<OutcomeKind>), ApiError> {
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let cursor = match &page.cursor {
        Some(c) => c.parse::<i64>().map_err(|_| {
            ApiError::bad_request("invalid_cursor", "`cursor` must be a `next_cursor` value")
        })?,
        None => 0,
    };
    let outcome = match &page.outcome {
        Some(outcome) => Some(outcome.parse::<OutcomeKind>().map_err(|_| {
            ApiError::bad_request(
                "invalid_outcome",
                format!("`outcome` must be one of {}", OUTCOMES.join(", ")),
            )
        })?),
        None => None,
    };
    Ok((limit, cursor, outcome))
}

/// Every comment of a live session: text, author, platform time, parse, outcome, holds, replies.
#[utoipa::path(get, path = "/lives/{id}/events", tag = "events", params(("id" = i64, Path), Page),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorBody)))]
async fn live_events(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(page): Query<Page>,
) -> Result<Json<EventPage>, ApiError> {
    let (limit, cursor, outcome) = read_page(&page)?;
    let items = state.store.live_events(id, outcome, cursor, limit).await?;
    Ok(Json(page_of(items, limit)))
}

/// Comments waiting for staff, oldest first.
#[utoipa::path(get, path = "/review", tag = "events", params(Page),
    responses((status = 200, body = EventPage)))]
async fn review_queue(
    State(state): State<AppState>,
    Query(page): Query<Page>,
) -> Result<Json<EventPage>, ApiError> {
    let (limit, cursor, _) = read_page(&page)?;
    let items = state.store.review_queue(cursor, limit).await?;
    Ok(Json(page_of(items, limit)))
}

#[derive(Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "lowercase")]
enum ReviewAction {
    /// Run these lines through the ledger like any comment.
    Accept {
        #[schema(value_type = Vec<Object>)]
        items: Vec<Line>,
    },
    Dismiss,
}

/// Accepts a comment with corrected lines, or dismisses it.
#[utoipa::path(post, path = "/review/{event_id}", tag = "events", params(("event_id" = i64, Path)),
    request_body = ReviewAction,
    responses((status = 200, body = EventView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn review_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(event_id): Path<i64>,
    ApiJson(action): ApiJson<ReviewAction>,
) -> Result<Json<EventView>, ApiError> {
    let done = match action {
        ReviewAction::Accept { items } => {
            review::accept(&state.store, event_id, &items, &caller.name)
                .await
                .map(|_| ())
        }
        ReviewAction::Dismiss => review::dismiss(&state.store, event_id, &caller.name).await,
    };
    match done {
        Ok(()) => {}
        Err(ReviewError::NotWaiting(id)) => {
            return Err(ApiError::not_found(format!(
                "no event {id} is waiting for review"
            )))
        }
        Err(ReviewError::BadLine(problem)) => {
            return Err(ApiError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_items",
                problem.to_string(),
            ))
        }
        Err(ReviewError::Store(err)) => return Err(err.into()),
    }
    state
        .store
        .event(event_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no event {event_id}")))
}
