//! The replies page: every reply per live and per buyer with its status and the
//! platform's last error, sending dead ones again (one or a selection), and each Page's
//! private-reply budget left this hour. The same store calls as `/api/v1/replies`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use super::{failed, now_ms, render, Ctx};
use crate::console::page::local_time;
use crate::console::replies_lang::RepliesTexts;
use crate::http::AppState;
use crate::outbox::limits::{private_replies_left, PRIVATE_REPLIES_PER_HOUR};
use crate::store::{Redrive, ReplyFilter};
use crate::vocab::OutboxStatus;

/// Replies one page shows, newest first.
const PAGE_SIZE: i64 = 200;
const HOUR_MS: i64 = 3_600_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/replies", get(page))
        .route("/replies/retry", post(retry))
}

#[derive(Deserialize, Default, Clone)]
struct Filter {
    #[serde(default)]
    live_id: String,
    #[serde(default)]
    member_id: String,
    #[serde(default)]
    status: String,
    retried: Option<u32>,
    refused: Option<u32>,
}

fn number(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(()),
    }
}

impl Filter {
    fn checked(&self) -> Result<ReplyFilter, ()> {
        let status = match self.status.trim() {
            "" => None,
            s => Some(s.parse::<OutboxStatus>().map_err(|_| ())?),
        };
        Ok(ReplyFilter {
            status,
            live_id: number(&self.live_id)?,
            member_id: number(&self.member_id)?,
            before: 0,
            limit: PAGE_SIZE,
        })
    }

    /// The filter as a query string, to come back to after a retry.
    fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("live_id", self.live_id.trim())
            .append_pair("member_id", self.member_id.trim())
            .append_pair("status", self.status.trim())
            .finish()
    }
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    filter: &Filter,
    error: Option<&str>,
) -> Response {
    let p = RepliesTexts::get(ctx.lang);
    let (checked, error) = match filter.checked() {
        Ok(checked) => (Some(checked), error),
        Err(()) => (None, Some(p.bad_filter)),
    };
    let status = if checked.is_none() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let replies = match &checked {
        Some(f) => match state.store.replies_filtered(f).await {
            Ok(replies) => replies,
            Err(err) => return failed(err),
        },
        None => Vec::new(),
    };
    let replies: Vec<Value> = replies
        .iter()
        .map(|r| {
            context! {
                id => r.id,
                kind => p.kind(r.kind),
                status => r.status.as_str(),
                status_label => p.status(r.status),
                retryable => matches!(r.status, OutboxStatus::Dead | OutboxStatus::Failed),
                live_id => r.live_id,
                member_id => r.member_id,
                inbox_id => r.inbox_id,
                attempts => r.attempts,
                last_error => r.last_error,
                created => local_time(r.created_at_ms),
                sent => r.sent_at_ms.map(local_time),
            }
        })
        .collect();
    let lives = match state.store.recent_lives(50).await {
        Ok(lives) => lives,
        Err(err) => return failed(err),
    };
    let lives: Vec<Value> = lives
        .iter()
        .map(|(id, title, _)| context! { id => id, title => title, selected => filter.live_id.trim() == id.to_string() })
        .collect();
    let statuses: Vec<Value> = OutboxStatus::ALL
        .iter()
        .map(|s| context! { value => s.as_str(), label => p.status(*s), selected => filter.status.trim() == s.as_str() })
        .collect();
    let budgets = match budgets(state).await {
        Ok(budgets) => budgets,
        Err(err) => return failed(err),
    };
    render(
        ctx,
        status,
        "replies.html",
        context! {
            p => p,
            replies => replies,
            lives => lives,
            statuses => statuses,
            budgets => budgets,
            per_hour => PRIVATE_REPLIES_PER_HOUR,
            member_id => filter.member_id.trim(),
            live_id => filter.live_id.trim(),
            status_filter => filter.status.trim(),
            retried => filter.retried,
            refused => filter.refused.filter(|n| *n > 0),
            error => error,
        },
    )
}

/// Every Facebook and Instagram Page, and any Page a sent reply names, with what is left.
async fn budgets(state: &AppState) -> Result<Vec<Value>, crate::store::StoreError> {
    let pages = state.store.list_pages().await?;
    let sent = state
        .store
        .private_replies_sent_since(now_ms() - HOUR_MS)
        .await?;
    let mut rows: Vec<(String, String)> = pages
        .into_iter()
        .filter(|p| p.platform != "telegram")
        .map(|p| (p.platform, p.page_id))
        .collect();
    for (page_id, _) in &sent {
        if !rows.iter().any(|(_, id)| id == page_id) {
            rows.push((String::new(), page_id.clone()));
        }
    }
    Ok(rows
        .into_iter()
        .map(|(platform, page_id)| {
            let used = sent
                .iter()
                .find(|(id, _)| *id == page_id)
                .map_or(0, |(_, n)| *n);
            context! {
                platform => platform,
                page_id => page_id,
                used => used,
                left => private_replies_left(used),
            }
        })
        .collect())
}

async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(filter): Query<Filter>,
) -> Response {
    view(&state, &ctx, StatusCode::OK, &filter, None).await
}

/// Forms arrive as pairs: the selection repeats `id`.
type Fields = Vec<(String, String)>;

async fn retry(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(fields): Form<Fields>,
) -> Response {
    let p = RepliesTexts::get(ctx.lang);
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let filter = Filter {
        live_id: value("live_id"),
        member_id: value("member_id"),
        status: value("status"),
        ..Filter::default()
    };
    // The button on one row sends only that row; the button below sends the selection.
    let chosen: Vec<&str> = match fields.iter().find(|(k, _)| k == "one") {
        Some((_, one)) => vec![one.as_str()],
        None => fields
            .iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.as_str())
            .collect(),
    };
    let ids: Option<Vec<i64>> = chosen
        .iter()
        .map(|v| v.trim().parse::<i64>().ok().filter(|n| *n > 0))
        .collect();
    let ids = match ids {
        Some(ids) if !ids.is_empty() && ids.len() <= PAGE_SIZE as usize => ids,
        _ => {
            return view(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &filter,
                Some(p.none_selected),
            )
            .await
        }
    };
    let now = now_ms();
    let (mut retried, mut refused) = (0u32, 0u32);
    for id in ids {
        match state.store.redrive_reply(id, now).await {
            Ok(Redrive::Queued(_)) => {
                tracing::info!(reply_id = id, "reply re-driven by staff");
                retried += 1;
            }
            Ok(Redrive::NotRetryable(_) | Redrive::NotFound) => refused += 1,
            Err(err) => return failed(err),
        }
    }
    Redirect::to(&format!(
        "/replies?{}&retried={retried}&refused={refused}",
        filter.query()
    ))
    .into_response()
}
