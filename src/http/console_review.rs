//! The review queue (`/review`), a live's comment stream (`/lives/{id}/comments`) and
//! one comment's page (`/events/{id}`). Decisions go through `pipeline::review`, the
//! same functions as `POST /api/v1/review/{event_id}`, so two staff deciding one comment
//! at once get one decision: the second is told who was first.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};

use super::{failed, render, Ctx};
use crate::console::page::local_time;
use crate::console::review_lang::{reason_text, ReviewTexts};
use crate::http::AppState;
use crate::parse::Line;
use crate::pipeline::review::{self, LineProblem, ReviewError};
use crate::pipeline::{OutcomeKind, OUTCOMES};
use crate::store::EventView;

/// Items on the queue page; the rest follow as these are decided.
const QUEUE_PAGE: i64 = 50;
/// Comments per page of the stream.
const STREAM_PAGE: i64 = 50;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/review", get(queue_page))
        .route("/review/poll", get(poll))
        .route("/review/{id}/accept", post(accept))
        .route("/review/{id}/answer", post(answer))
        .route("/review/{id}/dismiss", post(dismiss))
        .route("/lives/{id}/comments", get(stream_page))
        .route("/events/{id}", get(event_page))
        .route("/assets/review.js", get(script))
}

impl Ctx {
    fn r(&self) -> &'static ReviewTexts {
        ReviewTexts::get(self.lang)
    }
}

async fn script() -> Response {
    super::asset("text/javascript; charset=utf-8", crate::console::REVIEW_JS).await
}

/// One line of the parser's guess, as the forms carry it.
#[derive(Serialize)]
struct GuessLine {
    keyword: String,
    /// Options separated by spaces, as typed in the edit form.
    variant: String,
    qty: Option<u32>,
}

/// The parser's best guess from an event's stored parse: its lines, and whether taking
/// it as it is makes an order.
fn guess(event: &EventView) -> (Vec<GuessLine>, bool) {
    let Some(parse) = &event.parse else {
        return (Vec::new(), false);
    };
    let lines: Vec<Line> = parse
        .get("items")
        .and_then(|items| serde_json::from_value(items.clone()).ok())
        .unwrap_or_default();
    let is_order = parse.get("intent").and_then(|i| i.as_str()) == Some("order");
    let complete = !lines.is_empty() && lines.iter().all(|l| l.qty.is_some_and(|q| q > 0));
    let lines = lines
        .into_iter()
        .map(|l| GuessLine {
            keyword: l.keyword,
            variant: l.variant.join(" "),
            qty: l.qty,
        })
        .collect();
    (lines, is_order && complete)
}

/// A buyer's orders and holds, once per member on a page.
async fn histories(
    state: &AppState,
    events: &[EventView],
) -> Result<HashMap<i64, Value>, Response> {
    let mut found = HashMap::new();
    for member in events.iter().filter_map(|e| e.member_id) {
        if found.contains_key(&member) {
            continue;
        }
        let (orders, holds) = state.store.member_history(member).await.map_err(failed)?;
        found.insert(member, context! { orders => orders, holds => holds });
    }
    Ok(found)
}

fn replies(event: &EventView) -> Vec<Value> {
    event
        .replies
        .iter()
        .map(|p| {
            context! {
                kind => p.kind.to_string(), status => p.status.to_string(),
                attempts => p.attempts, error => p.last_error,
                sent => p.sent_at_ms.map(local_time),
            }
        })
        .collect()
}

fn event_facts(ctx: &Ctx, event: &EventView, history: Option<&Value>) -> Value {
    let (lines, can_accept) = guess(event);
    let mut keywords: Vec<&str> = lines.iter().map(|l| l.keyword.as_str()).collect();
    keywords.dedup();
    let first = lines.first().map(Value::from_serialize);
    context! {
        id => event.id,
        text => event.text,
        buyer => event.author_name,
        platform => event.platform,
        history => history,
        time => local_time(event.platform_time_ms),
        live_id => event.live_id,
        outcome => event.outcome.map(|o| o.as_str()),
        outcome_label => ctx.r().outcome(event.outcome),
        reason => event.reason,
        reason_text => event.reason.as_deref().and_then(|r| reason_text(ctx.lang, r)),
        decided_by => event.decided_by,
        keywords => keywords,
        first => first,
        guess => Value::from_serialize(&lines),
        can_accept => can_accept,
        replies => replies(event),
        parse => event.parse.as_ref().and_then(|p| serde_json::to_string_pretty(p).ok()),
    }
}

// ---- the queue ------------------------------------------------------------------------

#[derive(Deserialize)]
struct QueueQuery {
    notice: Option<String>,
}

async fn queue_view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Response {
    let events = match state.store.review_queue(0, QUEUE_PAGE).await {
        Ok(events) => events,
        Err(err) => return failed(err),
    };
    let histories = match histories(state, &events).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let (_, newest) = match state.store.review_waiting().await {
        Ok(waiting) => waiting,
        Err(err) => return failed(err),
    };
    let items: Vec<Value> = events
        .iter()
        .map(|e| event_facts(ctx, e, e.member_id.and_then(|m| histories.get(&m))))
        .collect();
    render(
        ctx,
        status,
        "review.html",
        context! {
            r => ctx.r(), items => items, newest => newest, notice => notice, error => error,
        },
    )
}

async fn queue_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<QueueQuery>,
) -> Response {
    let r = ctx.r();
    // Only our own sentences, never what a link says.
    let notice = match query.notice.as_deref() {
        Some("accepted") => Some(r.accepted),
        Some("answered") => Some(r.answered),
        Some("dismissed") => Some(r.dismissed),
        _ => None,
    };
    queue_view(&state, &ctx, StatusCode::OK, notice, None).await
}

#[derive(Serialize)]
struct Waiting {
    waiting: i64,
    newest: i64,
}

/// What the queue's script polls: how many wait and the newest id, one small query.
async fn poll(State(state): State<AppState>) -> Response {
    match state.store.review_waiting().await {
        Ok((waiting, newest)) => Json(Waiting { waiting, newest }).into_response(),
        Err(err) => failed(err),
    }
}

/// The lines of an accept form: `keyword`, `variant` and `qty` fields, repeated per line
/// in that order.
fn form_lines(body: &[u8]) -> Result<Vec<Line>, LineProblem> {
    let mut lines: Vec<Line> = Vec::new();
    for (key, value) in form_urlencoded::parse(body) {
        let value = value.trim();
        match key.as_ref() {
            "keyword" => {
                if value.is_empty() {
                    return Err(LineProblem::NoLines);
                }
                lines.push(Line {
                    keyword: value.to_string(),
                    qty: None,
                    variant: Vec::new(),
                });
            }
            "variant" => {
                if let Some(line) = lines.last_mut() {
                    line.variant = value
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
                        .filter(|v| !v.is_empty())
                        .map(str::to_string)
                        .collect();
                }
            }
            "qty" => {
                let qty = value.parse::<u32>().ok().filter(|q| (1..=999).contains(q));
                match (lines.last_mut(), qty) {
                    (Some(line), Some(qty)) => line.qty = Some(qty),
                    (line, None) => {
                        let keyword = line.map(|l| l.keyword.clone()).unwrap_or_default();
                        return Err(LineProblem::Qty(keyword));
                    }
                    (None, Some(_)) => return Err(LineProblem::NoLines),
                }
            }
            _ => {}
        }
    }
    if lines.is_empty() {
        return Err(LineProblem::NoLines);
    }
    Ok(lines)
}

fn form_keywords(body: &[u8]) -> Vec<String> {
    form_urlencoded::parse(body)
        .filter(|(k, v)| k == "keyword" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

/// The answer to a decision: back to the queue, or the queue with why not.
async fn decided(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    done: Result<(), ReviewError>,
    notice: &str,
) -> Response {
    let r = ctx.r();
    match done {
        Ok(()) => Redirect::to(&format!("/review?notice={notice}")).into_response(),
        Err(ReviewError::NotWaiting(_)) => {
            let now = match state.store.event(id).await {
                Ok(found) => found,
                Err(err) => return failed(err),
            };
            match now {
                Some(event) => {
                    let mut error = format!("{}{}", r.already_decided, r.outcome(event.outcome));
                    if let Some(by) = &event.decided_by {
                        error.push_str(&format!(" ({}{by})", r.decided_by));
                    }
                    queue_view(state, ctx, StatusCode::CONFLICT, None, Some(error)).await
                }
                None => {
                    let error = Some(ctx.t().err_not_found.to_string());
                    queue_view(state, ctx, StatusCode::NOT_FOUND, None, error).await
                }
            }
        }
        Err(ReviewError::BadLine(why)) => {
            let error = Some(format!("{}{}", r.not_accepted, r.problem(&why)));
            queue_view(state, ctx, StatusCode::UNPROCESSABLE_ENTITY, None, error).await
        }
        Err(ReviewError::Store(err)) => failed(err),
    }
}

fn not_found(ctx: &Ctx) -> Response {
    let t = ctx.t();
    ctx.message(StatusCode::NOT_FOUND, t.err_not_found, t.err_not_found)
}

async fn accept(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&ctx);
    };
    let lines = match form_lines(&body) {
        Ok(lines) => lines,
        Err(why) => {
            let r = ctx.r();
            let error = Some(format!("{}{}", r.not_accepted, r.problem(&why)));
            return queue_view(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, None, error).await;
        }
    };
    let done = review::accept(&state.store, id, &lines, ctx.username())
        .await
        .map(|_| ());
    decided(&state, &ctx, id, done, "accepted").await
}

async fn answer(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&ctx);
    };
    let done = review::answer(&state.store, id, &form_keywords(&body), ctx.username()).await;
    decided(&state, &ctx, id, done, "answered").await
}

async fn dismiss(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&ctx);
    };
    let done = review::dismiss(&state.store, id, ctx.username()).await;
    decided(&state, &ctx, id, done, "dismissed").await
}

// ---- the comment stream ---------------------------------------------------------------

#[derive(Deserialize)]
struct StreamQuery {
    outcome: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

fn stream_href(live: i64, outcome: &str, q: &str, cursor: Option<i64>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if !outcome.is_empty() {
        query.append_pair("outcome", outcome);
    }
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    if let Some(cursor) = cursor {
        query.append_pair("cursor", &cursor.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/lives/{live}/comments")
    } else {
        format!("/lives/{live}/comments?{query}")
    }
}

async fn stream_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let r = ctx.r();
    let live = match id.parse::<i64>() {
        Ok(id) => match state.store.live(id).await {
            Ok(found) => found,
            Err(err) => return failed(err),
        },
        Err(_) => None,
    };
    let Some(live) = live else {
        return not_found(&ctx);
    };
    let outcome_text = query.outcome.unwrap_or_default();
    let outcome = if outcome_text.is_empty() {
        None
    } else {
        match outcome_text.parse::<OutcomeKind>() {
            Ok(outcome) => Some(outcome),
            Err(_) => {
                return ctx.message(StatusCode::BAD_REQUEST, r.filter, r.no_comments);
            }
        }
    };
    let q = query.q.unwrap_or_default().trim().to_string();
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => match c.parse::<i64>() {
            Ok(c) if c >= 0 => c,
            _ => return ctx.message(StatusCode::BAD_REQUEST, r.filter, r.no_comments),
        },
    };
    let search = (!q.is_empty()).then_some(q.as_str());
    let events = match state
        .store
        .live_events_by_author(live.id, outcome, search, cursor, STREAM_PAGE)
        .await
    {
        Ok(events) => events,
        Err(err) => return failed(err),
    };
    let next = (events.len() as i64 == STREAM_PAGE)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    let items: Vec<Value> = events.iter().map(|e| event_facts(&ctx, e, None)).collect();
    let outcomes: Vec<Value> = OUTCOMES
        .iter()
        .filter_map(|o| o.parse::<OutcomeKind>().ok())
        .map(|o| context! { value => o.as_str(), label => r.outcome(Some(o)) })
        .collect();
    render(
        &ctx,
        StatusCode::OK,
        "stream.html",
        context! {
            r => r, live_id => live.id, live_title => live.title, items => items,
            outcomes => outcomes, outcome => outcome_text, q => q, cursor => cursor,
            first_href => stream_href(live.id, &outcome_text, &q, None),
            next_href => next.map(|n| stream_href(live.id, &outcome_text, &q, Some(n))),
        },
    )
}

// ---- one comment ----------------------------------------------------------------------

async fn event_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let found = match id.parse::<i64>() {
        Ok(id) => match state.store.event(id).await {
            Ok(found) => found,
            Err(err) => return failed(err),
        },
        Err(_) => None,
    };
    let Some(event) = found else {
        return not_found(&ctx);
    };
    let histories = match histories(&state, std::slice::from_ref(&event)).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let holds = match state.store.holds_by_ids(&event.hold_ids).await {
        Ok(holds) => holds,
        Err(err) => return failed(err),
    };
    let holds: Vec<Value> = holds
        .iter()
        .map(|h| context! { id => h.id, sku => h.sku, qty => h.qty, status => h.status })
        .collect();
    let history = event.member_id.and_then(|m| histories.get(&m));
    let facts = event_facts(&ctx, &event, history);
    render(
        &ctx,
        StatusCode::OK,
        "event.html",
        context! { r => ctx.r(), e => facts, holds => holds },
    )
}

#[cfg(test)]
mod tests {
    use super::form_lines;

    #[test]
    fn accept_forms_carry_lines_in_order() {
        let lines =
            form_lines(b"csrf=x&keyword=A01&variant=%E9%BB%91+M&qty=2&keyword=B02&qty=1").unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].keyword, "A01");
        assert_eq!(lines[0].variant, ["黑", "M"]);
        assert_eq!(lines[0].qty, Some(2));
        assert_eq!(lines[1].qty, Some(1));
        assert!(form_lines(b"csrf=x").is_err());
        assert!(form_lines(b"keyword=A01&qty=0").is_err());
        assert!(form_lines(b"keyword=A01&qty=lots").is_err());
    }
}
