//! `/api/v1/lives/{id}/report`: how a live went, as JSON and as CSV for Excel.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::AppState;
use crate::report::{live_report, LiveReport};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(report_csv))
}

async fn find(state: &AppState, id: i64) -> Result<LiveReport, ApiError> {
    live_report(&state.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no live {id}")))
}

/// The live report: comments, buyers, orders, units held → ordered → paid, revenue
/// (minor units, per currency), expired and cancelled units, top products, the time to
/// the first order and orders per minute. The clock starts at the first comment.
#[utoipa::path(get, path = "/lives/{id}/report", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, body = LiveReport), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<LiveReport>, ApiError> {
    Ok(Json(find(&state, id).await?))
}

/// The same report as CSV (UTF-8 with a byte-order mark), one figure a row:
/// `figure,key,value,currency`. Money is in minor units, like the JSON.
#[utoipa::path(get, path = "/lives/{id}/report.csv", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn report_csv(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let report = find(&state, id).await?;
    let filename = format!("attachment; filename=\"live-{id}-report.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        csv(&report),
    )
        .into_response())
}

/// The report's rows; `figure` and `key` name a JSON field of the report.
pub fn csv(r: &LiveReport) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut row = |figure: &str, key: &str, value: String, currency: &str| {
        rows.push([figure.into(), key.into(), value, currency.into()]);
    };
    row("live", "id", r.live_id.to_string(), "");
    row("live", "title", r.title.clone(), "");
    let optional = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    row("started_at_ms", "", optional(r.started_at_ms), "");
    row("comments", "", r.comments.to_string(), "");
    row("buyers", "", r.buyers.to_string(), "");
    let o = &r.orders;
    for (key, n) in [
        ("total", o.total),
        ("pending_payment", o.pending_payment),
        ("paid", o.paid),
        ("fulfilled", o.fulfilled),
        ("cancelled", o.cancelled),
        ("expired", o.expired),
    ] {
        row("orders", key, n.to_string(), "");
    }
    let u = &r.units;
    for (key, n) in [
        ("held", u.held),
        ("ordered", u.ordered),
        ("paid", u.paid),
        ("expired", u.expired),
        ("cancelled", u.cancelled),
        ("still_held", u.still_held),
    ] {
        row("units", key, n.to_string(), "");
    }
    let c = &r.conversion;
    for (key, v) in [
        ("held_to_ordered", c.held_to_ordered),
        ("ordered_to_paid", c.ordered_to_paid),
        ("held_to_paid", c.held_to_paid),
    ] {
        row("conversion", key, format!("{v:.4}"), "");
    }
    for rev in &r.revenue {
        row("revenue", "held", rev.held.to_string(), &rev.currency);
        row("revenue", "ordered", rev.ordered.to_string(), &rev.currency);
        row("revenue", "paid", rev.paid.to_string(), &rev.currency);
    }
    for p in &r.top_products {
        row(
            "top_product_units_held",
            &p.code,
            p.units_held.to_string(),
            "",
        );
        row(
            "top_product_units_ordered",
            &p.code,
            p.units_ordered.to_string(),
            "",
        );
        row(
            "top_product_units_paid",
            &p.code,
            p.units_paid.to_string(),
            "",
        );
        row(
            "top_product_revenue_paid",
            &p.code,
            p.revenue_paid.to_string(),
            &p.currency,
        );
    }
    row(
        "time_to_first_order_ms",
        "",
        optional(r.time_to_first_order_ms),
        "",
    );
    for m in &r.orders_per_minute {
        row(
            "orders_per_minute",
            &m.minute.to_string(),
            m.orders.to_string(),
            "",
        );
    }
    let mut out = String::from("\u{feff}figure,key,value,currency\r\n");
    for fields in rows {
        let cells: Vec<String> = fields.iter().map(|f| super::orders::csv_field(f)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}
