//! The live report page: the figures of `GET /api/v1/lives/{id}/report`, with the
//! orders-per-minute chart drawn on the server like the board's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use minijinja::{context, Value};

use super::{failed, render, Ctx};
use crate::console::lives::chart_points;
use crate::console::page::local_time;
use crate::console::report_lang::ReportTexts;
use crate::http::AppState;
use crate::i18n::format_money;
use crate::report::live_report;

pub fn router() -> Router<AppState> {
    Router::new().route("/lives/{id}/report", get(page))
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let t = ctx.t();
    let r = ReportTexts::get(ctx.lang);
    let report = match id.parse::<i64>() {
        Ok(id) => match live_report(&state.store, id).await {
            Ok(found) => found,
            Err(err) => return failed(err),
        },
        Err(_) => None,
    };
    let Some(report) = report else {
        return ctx.message(StatusCode::NOT_FOUND, t.err_not_found, t.err_not_found);
    };
    let revenue: Vec<Value> = report
        .revenue
        .iter()
        .map(|v| {
            context! {
                currency => v.currency,
                held => format_money(v.held, &v.currency),
                ordered => format_money(v.ordered, &v.currency),
                paid => format_money(v.paid, &v.currency),
            }
        })
        .collect();
    let products: Vec<Value> = report
        .top_products
        .iter()
        .map(|p| {
            context! {
                code => p.code,
                name => p.name,
                held => p.units_held,
                ordered => p.units_ordered,
                paid => p.units_paid,
                revenue => format_money(p.revenue_paid, &p.currency),
            }
        })
        .collect();
    let counts: Vec<i64> = report.orders_per_minute.iter().map(|m| m.orders).collect();
    let peak = counts.iter().copied().max().unwrap_or(0);
    let c = &report.conversion;
    render(
        &ctx,
        StatusCode::OK,
        "report.html",
        context! {
            r => r,
            report => report,
            started => report.started_at_ms.map(local_time),
            held_to_ordered => percent(c.held_to_ordered),
            ordered_to_paid => percent(c.ordered_to_paid),
            held_to_paid => percent(c.held_to_paid),
            revenue => revenue,
            products => products,
            first_order => report.time_to_first_order_ms.map(|ms| r.duration(ms)),
            chart => chart_points(&counts),
            minutes => counts.len(),
            peak => peak,
        },
    )
}
