//! The payments page: online payments that need staff, and closing them with a note.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use super::{failed, now_ms, render, Ctx, NoticeQuery};
use crate::console::page::local_time;
use crate::console::payments_lang::PaymentTexts;
use crate::http::AppState;
use crate::i18n::format_money;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments", get(page))
        .route("/payments/{id}/resolve", post(resolve))
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let p = PaymentTexts::get(ctx.lang);
    let issues = match state.store.payment_issues(true, 200).await {
        Ok(issues) => issues,
        Err(err) => return failed(err),
    };
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            context! {
                id => i.id,
                kind_label => p.kind(i.kind),
                order_id => i.order_id,
                amount => format_money(i.amount, &i.currency),
                session => i.provider_session,
                time => local_time(i.created_at_ms),
            }
        })
        .collect();
    render(
        ctx,
        status,
        "payments.html",
        context! { p => p, issues => issues, notice => notice, error => error },
    )
}

async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let p = PaymentTexts::get(ctx.lang);
    let notice = (query.notice.as_deref() == Some("resolved")).then_some(p.resolved);
    view(&state, &ctx, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    note: String,
}

async fn resolve(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Response {
    let p = PaymentTexts::get(ctx.lang);
    let note = form.note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return view(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(p.note_needed),
        )
        .await;
    }
    let Ok(id) = id.parse::<i64>() else {
        return view(
            &state,
            &ctx,
            StatusCode::NOT_FOUND,
            None,
            Some(p.already_closed),
        )
        .await;
    };
    match state
        .store
        .resolve_payment_issue(id, ctx.username(), note, now_ms())
        .await
    {
        Ok(true) => Redirect::to("/payments?notice=resolved").into_response(),
        Ok(false) => {
            view(
                &state,
                &ctx,
                StatusCode::CONFLICT,
                None,
                Some(p.already_closed),
            )
            .await
        }
        Err(err) => failed(err),
    }
}
