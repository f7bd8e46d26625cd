//! `/api/v1/lives/{id}/sandbox/…`, `/api/v1/sandbox/reset` and `/api/v1/demo`: a live that
//! runs without a Meta account, for trying plusone and rehearsing a sale.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::{ApiJson, AppState};
use crate::sandbox::storm::{storm, viewer_name, StormItem};
use crate::sandbox::{comment_row, Viewer};
use crate::store::{
    Binding, LineupEntry, Live, LiveState, NewInboxRow, SandboxReply, SandboxReset, StoreError,
    SANDBOX,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_comment))
        .routes(routes!(list_replies))
        .routes(routes!(post_storm))
        .routes(routes!(reset))
        .routes(routes!(demo))
}

/// The largest storm one call sends.
const MAX_STORM: usize = 20_000;
const MAX_VIEWERS: usize = 5_000;
/// Rows per inbox write while a storm is sent (each is one group-commit job).
const STORM_CHUNK: usize = 250;

/// Makes a live's bindings ready: a sandbox live is bound to the sandbox alone, under a
/// fresh object id its comments are routed by. True when the live is a sandbox one.
pub(super) fn prepare_bindings(bindings: &mut [Binding]) -> Result<bool, ApiError> {
    if !bindings.iter().any(|b| b.platform == SANDBOX) {
        return Ok(false);
    }
    if bindings.len() > 1 {
        return Err(ApiError::unprocessable(
            "invalid_binding",
            "a sandbox live is bound to the sandbox alone: `[{\"platform\": \"sandbox\"}]`",
        ));
    }
    bindings[0].page_id = crate::sandbox::PAGE_ID.into();
    bindings[0].object_id = crate::sandbox::new_object_id();
    Ok(true)
}

/// A sandbox live sells sandbox products only, and a real live none: rehearsals never
/// take stock the counter or the web shop could sell.
pub(super) async fn check_lineup_products(
    state: &AppState,
    sandbox: bool,
    lineup: &[LineupEntry],
) -> Result<(), ApiError> {
    let codes: Vec<String> = lineup.iter().map(|e| e.code.clone()).collect();
    let flags = state.store.sandbox_flags(&codes).await?;
    if let Some((code, _)) = flags.iter().find(|(_, flag)| *flag != sandbox) {
        return Err(if sandbox {
            ApiError::conflict(
                "not_sandbox_product",
                format!("`{code}` is a product of the real shop; a sandbox live sells sandbox products only"),
            )
        } else {
            ApiError::conflict(
                "sandbox_product",
                format!("`{code}` is a sandbox product; only a sandbox live sells it"),
            )
        }
        .with_detail("product", code.clone())
        .with_detail("field", "code")
        .with_detail("value", code.clone()));
    }
    Ok(())
}

/// The live, if it exists and is a sandbox live: 404 and 409 `not_sandbox` otherwise.
pub(super) async fn sandbox_live(state: &AppState, id: i64) -> Result<Live, ApiError> {
    let live = state
        .store
        .live(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no live session {id}")))?;
    if !live.sandbox {
        return Err(ApiError::conflict(
            "not_sandbox",
            format!("live session {id} is not a sandbox live; its comments come from its platform"),
        ));
    }
    Ok(live)
}

fn object_id(live: &Live) -> Result<&str, ApiError> {
    live.bindings
        .iter()
        .find(|b| b.platform == SANDBOX)
        .map(|b| b.object_id.as_str())
        .ok_or_else(|| {
            ApiError::conflict(
                "not_sandbox",
                format!("live session {} has no sandbox binding", live.id),
            )
        })
}

fn open(live: &Live) -> Result<(), ApiError> {
    if live.state == LiveState::Ended {
        return Err(ApiError::conflict(
            "live_ended",
            format!(
                "live session {} has ended; it takes no more comments",
                live.id
            ),
        ));
    }
    Ok(())
}

/// Stores the rows through the webhooks' inbox writer; returns once they are committed.
async fn write(state: &AppState, rows: Vec<NewInboxRow>) -> Result<(), ApiError> {
    match state.inbox.write(rows).await {
        Ok(report) => {
            state
                .metrics
                .inbox_written(report.inserted as u64, report.duplicates as u64);
            Ok(())
        }
        Err(err) => {
            tracing::warn!(error = ?err, "sandbox comments not stored");
            Err(ApiError::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the comments could not be stored; try again",
            ))
        }
    }
}

#[derive(Deserialize, ToSchema)]
struct SandboxComment {
    /// Any id for the pretend viewer (letters, digits, `-`, `_`, `.`, `:`; up to 64).
    viewer_id: String,
    /// Shown as the commenter's name; the id when absent.
    viewer_name: Option<String>,
    text: String,
}

#[derive(Serialize, ToSchema)]
struct Accepted {
    live_id: i64,
    /// The comment's id, as replies name it.
    comment_id: String,
}

fn check_viewer(id: &str, name: Option<&str>) -> Result<(), ApiError> {
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !id_ok {
        return Err(ApiError::unprocessable(
            "invalid_viewer",
            "`viewer_id` must be 1 to 64 letters, digits, `-`, `_`, `.` or `:`",
        )
        .with_detail("field", "viewer_id"));
    }
    if name.is_some_and(|n| n.trim().is_empty() || n.chars().count() > 100) {
        return Err(ApiError::unprocessable(
            "invalid_viewer",
            "`viewer_name` must be 1 to 100 characters",
        )
        .with_detail("field", "viewer_name"));
    }
    Ok(())
}

/// A pretend viewer's comment on a sandbox live. It enters the same inbox, sequencer,
/// ledger and outbox as a Facebook live comment; answered once it is committed.
#[utoipa::path(post, path = "/lives/{id}/sandbox/comments", tag = "sandbox",
    params(("id" = i64, Path)), request_body = SandboxComment,
    responses((status = 202, body = Accepted), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`not_sandbox`, `live_ended`"),
              (status = 422, body = ErrorBody)))]
async fn post_comment(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<SandboxComment>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let comment_id = send_comment(
        &state,
        id,
        &input.viewer_id,
        input.viewer_name.as_deref(),
        &input.text,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            live_id: id,
            comment_id,
        }),
    ))
}

/// Checks a pretend viewer's comment and commits it to the inbox; the comment's id. The
/// API and the console's sandbox page both come here.
pub(super) async fn send_comment(
    state: &AppState,
    id: i64,
    viewer_id: &str,
    viewer_name: Option<&str>,
    text: &str,
) -> Result<String, ApiError> {
    check_viewer(viewer_id, viewer_name)?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2_000 {
        return Err(
            ApiError::unprocessable("invalid_text", "`text` must be 1 to 2000 characters")
                .with_detail("field", "text"),
        );
    }
    let live = sandbox_live(state, id).await?;
    open(&live)?;
    let viewer = Viewer {
        id: viewer_id,
        name: viewer_name.map(str::trim).unwrap_or(viewer_id),
    };
    let row = comment_row(object_id(&live)?, &viewer, text, now_ms());
    let comment_id = row.external_id.clone();
    write(state, vec![row]).await?;
    Ok(comment_id)
}

#[derive(Deserialize, IntoParams)]
struct ReplyFilter {
    /// One viewer's replies; all of the live's without it.
    viewer_id: Option<String>,
    /// At most this many, oldest first (default 500, at most 5000).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct ReplyList {
    items: Vec<SandboxReply>,
}

/// What the sandbox sender delivered: `public` replies (under the viewer's comment) and
/// `private` ones (their Messenger), with the text as sent, checkout link included.
#[utoipa::path(get, path = "/lives/{id}/sandbox/replies", tag = "sandbox",
    params(("id" = i64, Path), ReplyFilter),
    responses((status = 200, body = ReplyList), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn list_replies(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(filter): Query<ReplyFilter>,
) -> Result<Json<ReplyList>, ApiError> {
    sandbox_live(&state, id).await?;
    let limit = filter.limit.unwrap_or(500).clamp(1, 5_000);
    let items = state
        .store
        .sandbox_replies(id, filter.viewer_id.as_deref(), limit)
        .await?;
    Ok(Json(ReplyList { items }))
}

#[derive(Deserialize, ToSchema)]
struct StormInput {
    /// Comments to send (1 to 20000).
    comments: usize,
    /// Viewers writing them (1 to 5000).
    viewers: usize,
    /// The same seed sends the same storm again.
    seed: Option<u64>,
}

#[derive(Serialize, ToSchema)]
struct StormSent {
    live_id: i64,
    comments: usize,
    viewers: usize,
}

/// Sends a storm of comments in a live sale's mix: orders (with variants, bare `+1`,
/// some for two), cancels, questions and chat. Answered once all are committed to the
/// inbox; the board shows them being decided.
#[utoipa::path(post, path = "/lives/{id}/sandbox/storm", tag = "sandbox",
    params(("id" = i64, Path)), request_body = StormInput,
    responses((status = 202, body = StormSent), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_storm(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<StormInput>,
) -> Result<(StatusCode, Json<StormSent>), ApiError> {
    send_storm(&state, id, input.comments, input.viewers, input.seed).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StormSent {
            live_id: id,
            comments: input.comments,
            viewers: input.viewers,
        }),
    ))
}

/// Makes a storm and commits it to the inbox; the API and the console's storm button
/// both come here.
pub(super) async fn send_storm(
    state: &AppState,
    id: i64,
    count: usize,
    viewers: usize,
    seed: Option<u64>,
) -> Result<(), ApiError> {
    if !(1..=MAX_STORM).contains(&count) || !(1..=MAX_VIEWERS).contains(&viewers) {
        return Err(ApiError::unprocessable(
            "invalid_storm",
            format!("`comments` must be 1 to {MAX_STORM} and `viewers` 1 to {MAX_VIEWERS}"),
        ));
    }
    let live = sandbox_live(state, id).await?;
    open(&live)?;
    let object = object_id(&live)?.to_string();
    let mut items = Vec::new();
    for entry in &live.lineup {
        if let Some(product) = state.store.product_by_code(&entry.code).await? {
            items.push(StormItem::new(&entry.keyword, &product));
        }
    }
    let seed = seed.unwrap_or_else(rand::random);
    let comments = storm(&items, live.current.as_deref(), count, viewers, seed);
    let now = now_ms();
    let names: Vec<String> = (0..viewers).map(viewer_name).collect();
    let ids: Vec<String> = (0..viewers).map(|i| format!("storm-{}", i + 1)).collect();
    let rows: Vec<NewInboxRow> = comments
        .iter()
        .map(|c| {
            let viewer = Viewer {
                id: &ids[c.viewer],
                name: &names[c.viewer],
            };
            // One platform time for the whole storm: ties go by arrival, the order sent.
            comment_row(&object, &viewer, &c.text, now)
        })
        .collect();
    let chunks: Vec<Vec<NewInboxRow>> = rows.chunks(STORM_CHUNK).map(<[_]>::to_vec).collect();
    for chunk in chunks {
        write(state, chunk).await?;
    }
    Ok(())
}

/// Removes everything the sandbox made: its comments and replies, holds (their units go
/// back on the sandbox shelf), waitlists, carts, checkout links and orders, and the
/// pretend viewers. Sandbox products and lives stay, with their stock as received.
#[utoipa::path(post, path = "/sandbox/reset", tag = "sandbox",
    responses((status = 200, body = SandboxReset)))]
async fn reset(State(state): State<AppState>) -> Result<Json<SandboxReset>, ApiError> {
    Ok(Json(state.store.reset_sandbox().await?))
}

#[derive(Serialize, ToSchema)]
struct DemoAnswer {
    /// The demo's sandbox live.
    live_id: i64,
    /// False when the demo shop was there already (its live had not ended).
    created: bool,
}

/// Makes the demo shop (owner): sandbox products with variants, prices and stock, and a
/// sandbox live selling them with `A01` on screen. Called again while that live has not
/// ended, it answers the same live (200) instead of making a second.
#[utoipa::path(post, path = "/demo", tag = "sandbox",
    responses((status = 201, body = DemoAnswer), (status = 200, body = DemoAnswer),
              (status = 409, body = ErrorBody, description = "a real product uses a demo code")))]
async fn demo(State(state): State<AppState>) -> Result<(StatusCode, Json<DemoAnswer>), ApiError> {
    let shop = crate::sandbox::demo::create(&state.store)
        .await
        .map_err(|err| match err {
            StoreError::Invariant(message) => ApiError::conflict("demo_conflict", message),
            other => other.into(),
        })?;
    let status = if shop.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(DemoAnswer {
            live_id: shop.live_id,
            created: shop.created,
        }),
    ))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
