//! `/api/v1/lives/{id}/board` and its Server-Sent Events stream: the host's numbers.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures_util::Stream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::AppState;
use crate::store::Board;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_board))
        .routes(routes!(stream_board))
}

/// One event of the board's stream, as a client's EventSource reads it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only described: the stream writes `Event`s.
struct BoardEvent {
    /// The board's JSON: a `Board`, the same as `GET /lives/{id}/board` answers.
    #[schema(content_media_type = "application/json")]
    data: String,
}

fn no_live(id: i64) -> ApiError {
    ApiError::not_found(format!("no live session {id}"))
}

/// The live board: per lineup keyword the stock on hand, held, available and waitlisted
/// (with a sold-out flag), the live's totals (money in minor units), comments per minute
/// over the last 15 minutes, and a ticker of the latest orders and questions.
#[utoipa::path(get, path = "/lives/{id}/board", tag = "board", params(("id" = i64, Path)),
    responses((status = 200, body = Board), (status = 404, body = ErrorBody)))]
async fn get_board(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let json = crate::board::board_json(&state.store, &state.metrics, id)
        .await?
        .ok_or_else(|| no_live(id))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json))
}

/// The live board as Server-Sent Events: a `data:` line with the board's JSON (the same
/// as `GET /lives/{id}/board`) at once, then again whenever it changes, within about a
/// second of the sequencer's commit. Every subscriber of a replica shares one
/// computation per change.
#[utoipa::path(get, path = "/lives/{id}/board/stream", tag = "board", params(("id" = i64, Path)),
    responses(
        (status = 200, content_type = "text/event-stream", body = BoardEvent,
         description = "`data:` lines, each a whole board"),
        (status = 404, body = ErrorBody)))]
async fn stream_board(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut subscription = state.board.subscribe(id);
    let first = subscription.next().await.ok_or_else(|| no_live(id))?;
    let events = futures_util::stream::unfold(
        (subscription, Some(first)),
        |(mut subscription, first)| async move {
            let json = match first {
                Some(json) => json,
                None => subscription.changed().await?,
            };
            Some((Ok(Event::default().data(&*json)), (subscription, None)))
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
