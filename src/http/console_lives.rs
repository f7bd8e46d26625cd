//! The lives pages: the list and the create form, a live's settings and lineup, the
//! host's board, the sandbox page, and the demo shop button.
//!
//! A child of the console's module: the console's guard has resolved the session and the
//! language and checked the CSRF token before any of these runs. Every change goes
//! through the same checks as `/api/v1` (`super::super::lives`, `…::sandbox`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use minijinja::context;

use super::super::error::ApiError;
use super::super::lives::{self as lives_api, CreateLive, LineupInput, PatchLive};
use super::super::sandbox as sandbox_api;
use super::super::AppState;
use super::{asset, failed, render, Ctx};
use crate::console::errors_lang;
use crate::console::lives::{chart_points, link_parts, BOARD_JS, CSS};
use crate::console::lives_lang::LivesTexts;
use crate::i18n::format_money;
use crate::roles::Role;
use crate::store::{Binding, Live, LiveState, SANDBOX};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(lives_page))
        .route("/lives", get(lives_page).post(create_live))
        .route("/lives/{id}", get(live_page))
        .route("/lives/{id}/lineup", post(save_lineup))
        .route("/lives/{id}/state", post(set_state))
        .route("/lives/{id}/current", post(set_current))
        .route("/lives/{id}/board", get(board_page))
        .route("/lives/{id}/sandbox", get(sandbox_page))
        .route("/lives/{id}/sandbox/comments", post(sandbox_comment))
        .route("/lives/{id}/sandbox/storm", post(sandbox_storm))
        .route("/lives/{id}/sandbox/reset", post(sandbox_reset))
        .route("/demo", post(make_demo))
        .route("/assets/board.js", get(board_js))
        .route("/assets/lives.css", get(lives_css))
}

async fn board_js() -> Response {
    asset("text/javascript; charset=utf-8", BOARD_JS).await
}

async fn lives_css() -> Response {
    asset("text/css; charset=utf-8", CSS).await
}

fn lt(ctx: &Ctx) -> &'static LivesTexts {
    LivesTexts::get(ctx.lang)
}

/// Forms arrive as pairs: the lineup repeats its field names.
type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// A refused change as a page: the refusal in the page's language (the API's English
/// sentence where the console has none) with its status; store failures as the API
/// answers them.
fn refused(ctx: &Ctx, err: ApiError) -> Response {
    match err {
        ApiError::Client {
            status,
            code,
            message,
            details,
        } => {
            let detail = |key: &str| {
                details
                    .as_ref()
                    .and_then(|d| d.get(key))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let said = errors_lang::sentence(ctx.lang, code, &detail("field"), &detail("value"))
                .unwrap_or(message);
            ctx.message(status, lt(ctx).not_saved, &said)
        }
        other => failed(other),
    }
}

fn state_label(t: &LivesTexts, state: LiveState) -> &'static str {
    match state {
        LiveState::Scheduled => t.scheduled,
        LiveState::Live => t.live,
        LiveState::Paused => t.paused,
        LiveState::Ended => t.ended,
    }
}

/// The live of a page's path, or the page that says why not.
async fn find_live(state: &AppState, ctx: &Ctx, id: &str) -> Result<Live, Response> {
    let found = match id.parse::<i64>() {
        Ok(id) => state.store.live(id).await.map_err(failed)?,
        Err(_) => None,
    };
    found.ok_or_else(|| ctx.message(StatusCode::NOT_FOUND, lt(ctx).not_found, ""))
}

// ---- the list and the create form -----------------------------------------------------

async fn lives_page(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    let t = lt(&ctx);
    let lives = match state.store.recent_lives(100).await {
        Ok(lives) => lives,
        Err(err) => return failed(err),
    };
    let products = match state.store.list_products().await {
        Ok(products) => products,
        Err(err) => return failed(err),
    };
    let lives: Vec<minijinja::Value> = lives
        .into_iter()
        .map(|(id, title, live_state)| {
            context! {
                id => id,
                title => title,
                state => live_state.as_str(),
                state_label => state_label(t, live_state),
            }
        })
        .collect();
    let codes: Vec<&str> = products.iter().map(|p| p.code.as_str()).collect();
    let owner = ctx
        .signed_in
        .as_ref()
        .is_some_and(|s| s.user.role == Role::Owner);
    render(
        &ctx,
        StatusCode::OK,
        "lives.html",
        context! {
            lt => t,
            lives => lives,
            codes => codes,
            empty_shop => products.is_empty(),
            can_demo => owner,
        },
    )
}

async fn create_live(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(fields): Form<Fields>,
) -> Response {
    let platform = field(&fields, "platform").trim().to_string();
    let bindings = if platform == SANDBOX {
        vec![Binding {
            platform,
            page_id: String::new(),
            object_id: String::new(),
        }]
    } else {
        vec![Binding {
            platform,
            page_id: field(&fields, "page_id").trim().into(),
            object_id: field(&fields, "object_id").trim().into(),
        }]
    };
    let minutes = field(&fields, "hold_minutes").trim();
    let Ok(minutes) = (if minutes.is_empty() { "30" } else { minutes }).parse::<i64>() else {
        return refused(
            &ctx,
            ApiError::unprocessable("invalid_live", "the hold time is a number of minutes")
                .with_detail("field", "hold_ttl_seconds"),
        );
    };
    let limit = field(&fields, "limit_per_member").trim();
    let limit = if limit.is_empty() {
        None
    } else {
        match limit.parse::<i64>() {
            Ok(limit) => Some(limit),
            Err(_) => {
                return refused(
                    &ctx,
                    ApiError::unprocessable("invalid_live", "the limit per buyer is a number")
                        .with_detail("field", "limit_per_member"),
                )
            }
        }
    };
    let input = CreateLive {
        title: field(&fields, "title").trim().into(),
        bindings,
        lineup: Vec::new(),
        current: None,
        hold_ttl_seconds: minutes.saturating_mul(60),
        waitlist: !field(&fields, "waitlist").is_empty(),
        limit_per_member: limit,
        state: LiveState::Scheduled,
    };
    match lives_api::create(&state, input).await {
        Ok(live) => Redirect::to(&format!("/lives/{}", live.id)).into_response(),
        Err(err) => refused(&ctx, err),
    }
}

// ---- one live: settings, lineup, state, the product on screen -------------------------

#[derive(serde::Deserialize)]
struct Notice {
    notice: Option<String>,
    viewer: Option<String>,
    name: Option<String>,
}

async fn live_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let t = lt(&ctx);
    let live = match find_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let products = match state.store.list_products().await {
        Ok(products) => products,
        Err(err) => return failed(err),
    };
    // Only what this live may sell: sandbox products for a sandbox live, real ones else.
    let codes: Vec<&str> = products
        .iter()
        .filter(|p| p.sandbox == live.sandbox)
        .map(|p| p.code.as_str())
        .collect();
    let mut rows: Vec<(String, String)> = live
        .lineup
        .iter()
        .map(|e| (e.keyword.clone(), e.code.clone()))
        .collect();
    rows.extend(std::iter::repeat_n((String::new(), String::new()), 3));
    let states: Vec<minijinja::Value> = [
        LiveState::Scheduled,
        LiveState::Live,
        LiveState::Paused,
        LiveState::Ended,
    ]
    .into_iter()
    .filter(|s| *s != live.state)
    .map(|s| context! { value => s.as_str(), label => state_label(t, s) })
    .collect();
    render(
        &ctx,
        StatusCode::OK,
        "live.html",
        context! {
            lt => t,
            live => live,
            state_label => state_label(t, live.state),
            states => states,
            rows => rows,
            codes => codes,
            saved => notice.notice.as_deref() == Some("saved"),
        },
    )
}

async fn save_lineup(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let live = match find_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let keywords = fields
        .iter()
        .filter(|(k, _)| k == "keyword")
        .map(|(_, v)| v);
    let codes = fields.iter().filter(|(k, _)| k == "code").map(|(_, v)| v);
    let lineup: Vec<LineupInput> = keywords
        .zip(codes)
        .filter(|(k, c)| !(k.trim().is_empty() && c.trim().is_empty()))
        .map(|(k, c)| LineupInput {
            keyword: Some(k.trim().to_string()).filter(|k| !k.is_empty()),
            code: c.trim().to_string(),
        })
        .collect();
    // A product on screen that left the lineup leaves the screen too.
    let current_stays = live.current.as_deref().is_none_or(|c| {
        lineup
            .iter()
            .any(|e| e.keyword.as_deref().unwrap_or(&e.code) == c)
    });
    let patch = PatchLive {
        lineup: Some(lineup),
        current: (!current_stays).then_some(None),
        ..PatchLive::default()
    };
    patch_then(
        &state,
        &ctx,
        live.id,
        patch,
        &format!("/lives/{}?notice=saved", live.id),
    )
    .await
}

async fn set_state(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let live = match find_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let new_state = match field(&fields, "state") {
        "scheduled" => LiveState::Scheduled,
        "live" => LiveState::Live,
        "paused" => LiveState::Paused,
        "ended" => LiveState::Ended,
        _ => {
            return refused(
                &ctx,
                ApiError::unprocessable(
                    "invalid_state",
                    "the state is scheduled, live, paused or ended",
                )
                .with_detail("field", "state"),
            )
        }
    };
    let patch = PatchLive {
        state: Some(new_state),
        ..PatchLive::default()
    };
    patch_then(
        &state,
        &ctx,
        live.id,
        patch,
        &format!("/lives/{}?notice=saved", live.id),
    )
    .await
}

async fn set_current(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let live = match find_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let keyword = field(&fields, "keyword").trim();
    let patch = PatchLive {
        current: Some(Some(keyword.to_string()).filter(|k| !k.is_empty())),
        ..PatchLive::default()
    };
    patch_then(
        &state,
        &ctx,
        live.id,
        patch,
        &format!("/lives/{}/board", live.id),
    )
    .await
}

/// Changes a live through the API's own checks, tells its board (a form's 303 is not the
/// 2xx the board's request signal listens for), then goes to `next`.
async fn patch_then(
    state: &AppState,
    ctx: &Ctx,
    live_id: i64,
    patch: PatchLive,
    next: &str,
) -> Response {
    match lives_api::patch(state, live_id, patch).await {
        Ok(_) => {
            state.board.changed(live_id);
            Redirect::to(next).into_response()
        }
        Err(err) => refused(ctx, err),
    }
}

// ---- the board ------------------------------------------------------------------------

fn money(minor: i64, currency: Option<&str>) -> String {
    format_money(minor, currency.unwrap_or("HKD"))
}

async fn board_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let t = lt(&ctx);
    let live = match find_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let board = match state
        .store
        .board(live.id, now, crate::board::PER_MINUTE)
        .await
    {
        Ok(Some(board)) => board,
        Ok(None) => return ctx.message(StatusCode::NOT_FOUND, t.not_found, ""),
        Err(err) => return failed(err),
    };
    state.metrics.board_computed(crate::store::BOARD_QUERIES);
    let currency = board.totals.currency.as_deref();
    let keywords: Vec<minijinja::Value> = board
        .keywords
        .iter()
        .enumerate()
        .map(|(i, k)| {
            context! {
                key => (i < 9).then_some(i + 1),
                keyword => k.keyword,
                name => k.name,
                price => format_money(k.price, &k.currency),
                available => k.available,
                reserved => k.reserved,
                waitlisted => k.waitlisted,
                sold_out => k.sold_out,
                current => board.current.as_deref() == Some(k.keyword.as_str()),
            }
        })
        .collect();
    let ticker: Vec<minijinja::Value> = board
        .ticker
        .iter()
        .map(|item| {
            let label = match (item.kind.as_str(), item.outcome.as_str()) {
                ("question", _) => t.question,
                (_, "waitlisted") => t.waitlisted,
                _ => t.order,
            };
            context! {
                kind => item.kind,
                label => label,
                author => item.author_name,
                text => item.text,
            }
        })
        .collect();
    let counts: Vec<i64> = board.per_minute.iter().map(|m| m.count).collect();
    let totals = &board.totals;
    render(
        &ctx,
        StatusCode::OK,
        "board.html",
        context! {
            lt => t,
            live_id => live.id,
            title => board.title,
            sandbox => board.sandbox,
            state_label => state_label(t, board.state),
            current => board.current,
            keywords => keywords,
            comments => totals.comments,
            orders => totals.orders,
            buyers => totals.buyers,
            units_held => totals.reserved_units,
            revenue_held => money(totals.revenue_held, currency),
            revenue_paid => money(totals.revenue_paid, currency),
            receipts_waiting => totals.receipts_waiting,
            ot => crate::console::orders_lang::OrderTexts::get(ctx.lang),
            chart => chart_points(&counts),
            chart_last => counts.last().copied().unwrap_or(0),
            ticker => ticker,
        },
    )
}

// ---- the sandbox ----------------------------------------------------------------------

/// How many of a sandbox live's comments its page shows, newest last.
const SHOWN_COMMENTS: usize = 100;

async fn sandbox_live(state: &AppState, ctx: &Ctx, id: &str) -> Result<Live, Response> {
    let live = find_live(state, ctx, id).await?;
    if !live.sandbox {
        return Err(ctx.message(StatusCode::CONFLICT, lt(ctx).not_sandbox, ""));
    }
    Ok(live)
}

async fn sandbox_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let t = lt(&ctx);
    let live = match sandbox_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let events = match state.store.live_events(live.id, None, 0, 5_000).await {
        Ok(events) => events,
        Err(err) => return failed(err),
    };
    let replies = match state.store.sandbox_replies(live.id, None, 5_000).await {
        Ok(replies) => replies,
        Err(err) => return failed(err),
    };
    let skip = events.len().saturating_sub(SHOWN_COMMENTS);
    let comments: Vec<minijinja::Value> = events
        .iter()
        .skip(skip)
        .map(|e| {
            let public: Vec<&str> = replies
                .iter()
                .filter(|r| r.kind == "public" && r.comment_id.as_deref() == Some(&e.external_id))
                .map(|r| r.text.as_str())
                .collect();
            context! {
                author => e.author_name,
                author_id => e.author_id,
                text => e.text,
                outcome => e.outcome.map(|o| o.as_str()),
                replies => public,
            }
        })
        .collect();
    let viewer = notice
        .viewer
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "viewer-1".into());
    let name = notice.name.clone().unwrap_or_default();
    let messenger: Vec<minijinja::Value> = replies
        .iter()
        .filter(|r| r.kind == "private" && r.viewer_id.as_deref() == Some(viewer.as_str()))
        .map(|r| {
            let parts: Vec<minijinja::Value> = link_parts(&r.text)
                .into_iter()
                .map(|(text, link)| context! { text => text, link => link })
                .collect();
            context! { parts => parts, at => super::local_time(r.at_ms) }
        })
        .collect();
    render(
        &ctx,
        StatusCode::OK,
        "sandbox.html",
        context! {
            lt => t,
            live_id => live.id,
            title => live.title,
            current => live.current,
            comments => comments,
            viewer => viewer,
            name => name,
            messenger => messenger,
            reset_done => notice.notice.as_deref() == Some("reset"),
            refresh => viewer_path(live.id, &viewer, &name),
        },
    )
}

/// The sandbox page with a viewer picked, so the next comment is theirs too.
fn viewer_path(live_id: i64, viewer: &str, name: &str) -> String {
    let viewer: String = form_urlencoded::byte_serialize(viewer.as_bytes()).collect();
    let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("/lives/{live_id}/sandbox?viewer={viewer}&name={name}")
}

async fn sandbox_comment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let live = match sandbox_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let viewer = field(&fields, "viewer_id").trim();
    let name = Some(field(&fields, "viewer_name").trim()).filter(|n| !n.is_empty());
    let text = field(&fields, "text");
    match sandbox_api::send_comment(&state, live.id, viewer, name, text).await {
        Ok(_) => Redirect::to(&viewer_path(live.id, viewer, name.unwrap_or(""))).into_response(),
        Err(err) => refused(&ctx, err),
    }
}

async fn sandbox_storm(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let live = match sandbox_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    let count = field(&fields, "comments")
        .trim()
        .parse::<usize>()
        .unwrap_or(0);
    let viewers = field(&fields, "viewers")
        .trim()
        .parse::<usize>()
        .unwrap_or(0);
    match sandbox_api::send_storm(&state, live.id, count, viewers, None).await {
        Ok(()) => Redirect::to(&format!("/lives/{}/board", live.id)).into_response(),
        Err(err) => refused(&ctx, err),
    }
}

async fn sandbox_reset(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let live = match sandbox_live(&state, &ctx, &id).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    match state.store.reset_sandbox().await {
        Ok(_) => {
            state.board.changed_all();
            Redirect::to(&format!("/lives/{}/sandbox?notice=reset", live.id)).into_response()
        }
        Err(err) => failed(err),
    }
}

// ---- the demo shop --------------------------------------------------------------------

async fn make_demo(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    match crate::sandbox::demo::create(&state.store).await {
        Ok(shop) => {
            state.board.changed_all();
            Redirect::to(&format!("/lives/{}/board", shop.live_id)).into_response()
        }
        Err(crate::store::StoreError::Invariant(message)) => {
            ctx.message(StatusCode::CONFLICT, lt(&ctx).not_saved, &message)
        }
        Err(err) => failed(err),
    }
}
