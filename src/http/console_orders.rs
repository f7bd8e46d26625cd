//! The orders pages: the list with its filters and a selection to act on, one order's
//! detail (buyer, lines, payment, receipts, history, the comments behind it) with its
//! actions, and a packing list to print. Every action goes through the same functions
//! as `/api/v1/orders`, so the role table and the order's rules are the API's.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::{context, Value};

use super::{failed, render, Ctx};
use crate::auth::Caller;
use crate::console::orders_lang::OrderTexts;
use crate::console::page::local_time;
use crate::http::error::ApiError;
use crate::http::orders::{change_line_as, run_action, run_bulk, Filter, Handover, OrderAction};
use crate::http::AppState;
use crate::i18n::format_money;
use crate::roles::Area;
use crate::store::OrderView;
use crate::vocab::OrderStatus;

/// Orders a page of the list shows.
const PAGE: i64 = 50;
/// Orders one selection or packing list may hold.
const MAX_SELECTED: usize = 200;

pub const TEMPLATES: [(&str, &str); 3] = [
    (
        "orders.html",
        include_str!("../../templates/console/orders.html"),
    ),
    (
        "order.html",
        include_str!("../../templates/console/order.html"),
    ),
    (
        "orders_packing.html",
        include_str!("../../templates/console/orders_packing.html"),
    ),
];

const CSS: &str = include_str!("../../assets/orders.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/orders.css", get(css))
        .route("/orders", get(list_page))
        .route("/orders/bulk", post(bulk))
        .route("/orders/packing", get(packing))
        .route("/orders/{id}", get(detail_page))
        .route("/orders/{id}/action", post(act))
        .route("/orders/{id}/lines/{line_id}", post(change_line))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

fn pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The list's filters as the form sent them: blank means "any".
#[derive(Default, serde::Serialize)]
struct Typed {
    live_id: String,
    status: String,
    channel: String,
    from: String,
    to: String,
    paid: String,
    receipt_waiting: bool,
}

impl Typed {
    fn from_pairs(pairs: &[(String, String)]) -> Typed {
        let text = |key| value(pairs, key).unwrap_or("").to_string();
        Typed {
            live_id: text("live_id"),
            status: text("status"),
            channel: text("channel"),
            from: text("from"),
            to: text("to"),
            paid: text("paid"),
            receipt_waiting: value(pairs, "receipt_waiting") == Some("true"),
        }
    }

    fn is_set(&self) -> bool {
        !(self.live_id.is_empty()
            && self.status.is_empty()
            && self.channel.is_empty()
            && self.from.is_empty()
            && self.to.is_empty()
            && self.paid.is_empty()
            && !self.receipt_waiting)
    }

    /// The API's filter; a value that does not parse is the API's 422 too.
    fn filter(&self, cursor: Option<i64>) -> Result<Filter, ApiError> {
        let number = |field: &'static str, text: &str| -> Result<Option<i64>, ApiError> {
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(|_| {
                ApiError::unprocessable("invalid_field", format!("`{field}` is a number"))
            })
        };
        let some = |text: &str| Some(text.to_string()).filter(|t| !t.is_empty());
        Ok(Filter {
            live_id: number("live_id", &self.live_id)?,
            status: some(&self.status),
            channel: some(&self.channel),
            from: some(&self.from),
            to: some(&self.to),
            paid: match self.paid.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            receipt_waiting: self.receipt_waiting.then_some(true),
            cursor,
            limit: Some(PAGE),
            ..Filter::default()
        })
    }

    /// The filters as a query string (no cursor).
    fn query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("live_id", &self.live_id),
            ("status", &self.status),
            ("channel", &self.channel),
            ("from", &self.from),
            ("to", &self.to),
            ("paid", &self.paid),
        ] {
            if !value.is_empty() {
                out.append_pair(key, value);
            }
        }
        if self.receipt_waiting {
            out.append_pair("receipt_waiting", "true");
        }
        out.finish()
    }
}

fn buyer_label(order: &OrderView) -> String {
    if order.contact_name.is_empty() {
        format!("#{}", order.member_id)
    } else {
        order.contact_name.clone()
    }
}

/// One refused order of a selection, for the page.
struct Failure {
    id: i64,
    reason: &'static str,
}

#[allow(clippy::too_many_arguments)]
async fn list_view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    typed: Typed,
    cursor: Option<i64>,
    notice: Option<String>,
    error: Option<&str>,
    failures: &[Failure],
) -> Response {
    let ot = OrderTexts::get(ctx.lang);
    let (orders, error, status) = match typed.filter(cursor).and_then(|f| f.checked(PAGE, PAGE)) {
        Ok(filter) => match state.store.list_orders(&filter).await {
            Ok(orders) => (orders, error, status),
            Err(err) => return failed(err),
        },
        Err(ApiError::Client { code, .. }) => (
            Vec::new(),
            Some(ot.error(code)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(err) => return failed(err),
    };
    let waiting = match state.store.receipts_waiting(None).await {
        Ok(n) => n,
        Err(err) => return failed(err),
    };
    let lives = match state.store.recent_lives(50).await {
        Ok(lives) => lives,
        Err(err) => return failed(err),
    };
    let lives: Vec<Value> = lives
        .iter()
        .map(|(id, title, _)| {
            context! { id => id, title => title, selected => id.to_string() == typed.live_id }
        })
        .collect();
    let statuses: Vec<Value> = OrderStatus::ALL
        .iter()
        .map(|s| context! { value => s.as_str(), label => ot.status(*s) })
        .collect();
    let query = typed.query();
    let next_href = (orders.len() as i64 == PAGE)
        .then(|| orders.last().map(|o| o.id))
        .flatten()
        .map(|last| {
            if query.is_empty() {
                format!("/orders?cursor={last}")
            } else {
                format!("/orders?{query}&cursor={last}")
            }
        });
    let rows: Vec<Value> = orders
        .iter()
        .map(|o| {
            context! {
                id => o.id,
                number => o.number,
                buyer => buyer_label(o),
                total => format_money(o.total, &o.currency),
                status => o.status.as_str(),
                status_label => ot.status(o.status),
                created => local_time(o.created_at_ms),
                receipts => o.receipts,
                receipt_waiting => o.status == OrderStatus::PendingPayment && o.receipts > 0,
            }
        })
        .collect();
    let failures: Vec<Value> = failures
        .iter()
        .map(|f| {
            context! { id => f.id, number => crate::store::order_number(f.id), reason => f.reason }
        })
        .collect();
    render(
        ctx,
        status,
        "orders.html",
        context! {
            ot => ot,
            orders => rows,
            receipts_waiting => waiting,
            lives => lives,
            statuses => statuses,
            f => Value::from_serialize(&typed),
            filtered => typed.is_set(),
            csv_href => format!("/api/v1/orders.csv?{query}"),
            back => query,
            next_href => next_href,
            notice => notice,
            error => error,
            failures => failures,
        },
    )
}

async fn list_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = pairs(query.as_deref().unwrap_or(""));
    let typed = Typed::from_pairs(&pairs);
    let cursor = value(&pairs, "cursor").and_then(|c| c.parse().ok());
    list_view(&state, &ctx, StatusCode::OK, typed, cursor, None, None, &[]).await
}

/// Order ids from a form's or a query's `ids` (repeated, or one comma-separated list).
fn ids_of(pairs: &[(String, String)]) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "ids") {
        for part in v.split(',') {
            if let Ok(id) = part.trim().parse::<i64>() {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    ids
}

async fn bulk(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let ot = OrderTexts::get(ctx.lang);
    let form = pairs(&String::from_utf8_lossy(&body));
    let typed = Typed::from_pairs(&pairs(value(&form, "back").unwrap_or("")));
    let ids = ids_of(&form);
    let action = value(&form, "action").unwrap_or("");
    if ids.is_empty() || ids.len() > MAX_SELECTED {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return list_view(
            &state,
            &ctx,
            status,
            typed,
            None,
            None,
            Some(ot.select_some),
            &[],
        )
        .await;
    }
    if action == "packing" {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        return Redirect::to(&format!("/orders/packing?ids={}", list.join(","))).into_response();
    }
    let Some(action) = OrderAction::parse(action) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return list_view(
            &state,
            &ctx,
            status,
            typed,
            None,
            None,
            Some(ot.err_other),
            &[],
        )
        .await;
    };
    let results = match run_bulk(&state, &caller, action, &ids, &Handover::default()).await {
        Ok(results) => results,
        Err(err) => return failed(err),
    };
    let done = results.iter().filter(|r| r.ok).count();
    let failures: Vec<Failure> = results
        .iter()
        .filter_map(|r| {
            r.error.as_ref().map(|e| Failure {
                id: r.id,
                reason: ot.error(&e.code),
            })
        })
        .collect();
    let notice = Some(format!("{}: {done}", ot.done_n));
    list_view(
        &state,
        &ctx,
        StatusCode::OK,
        typed,
        None,
        notice,
        None,
        &failures,
    )
    .await
}

fn lines_of(order: &OrderView) -> Vec<Value> {
    order
        .lines
        .iter()
        .map(|l| {
            context! {
                hold_id => l.hold_id,
                sku => l.sku,
                name => l.name,
                options => l.options.join(" "),
                qty => l.qty,
                unit_price => format_money(l.unit_price, &order.currency),
                amount => format_money(l.unit_price.saturating_mul(l.qty), &order.currency),
            }
        })
        .collect()
}

async fn packing(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(query): RawQuery,
) -> Response {
    let ot = OrderTexts::get(ctx.lang);
    let ids = ids_of(&pairs(query.as_deref().unwrap_or("")));
    let mut orders = Vec::new();
    for id in ids.into_iter().take(MAX_SELECTED) {
        match state.store.order(id).await {
            Ok(Some(order)) => orders.push(context! {
                id => order.id,
                number => order.number,
                contact_name => order.contact_name,
                contact_phone => order.contact_phone,
                fulfilment => order.fulfilment,
                delivery_address => order.delivery_address,
                pickup_store => order.pickup_store,
                tracking_number => order.tracking_number,
                total => format_money(order.total, &order.currency),
                lines => lines_of(&order),
            }),
            Ok(None) => {}
            Err(err) => return failed(err),
        }
    }
    render(
        &ctx,
        StatusCode::OK,
        "orders_packing.html",
        context! { ot => ot, orders => orders },
    )
}

async fn detail_view(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let ot = OrderTexts::get(ctx.lang);
    let order = match state.store.order(id).await {
        Ok(Some(order)) => order,
        Ok(None) => {
            return ctx.message(StatusCode::NOT_FOUND, ot.err_not_found, "");
        }
        Err(err) => return failed(err),
    };
    let (history, receipts, comments) = match tokio::try_join!(
        state.store.order_history(id),
        state.store.order_receipts(id),
        state.store.order_comments(id),
    ) {
        Ok(found) => found,
        Err(err) => return failed(err),
    };
    let history: Vec<Value> = history
        .iter()
        .map(|h| {
            context! {
                time => local_time(h.at_ms),
                label => ot.history(&h.kind),
                detail => h.detail,
                actor => h.actor,
            }
        })
        .collect();
    let receipts: Vec<Value> = receipts
        .iter()
        .map(|r| context! { id => r.id, time => local_time(r.uploaded_at_ms) })
        .collect();
    let comments: Vec<Value> = comments
        .iter()
        .map(|c| {
            context! {
                event_id => c.event_id,
                platform => c.platform,
                author => c.author_name,
                text => c.text,
                time => local_time(c.platform_time_ms),
            }
        })
        .collect();
    let may_cancel_paid = ctx
        .signed_in
        .as_ref()
        .is_some_and(|s| Area::OrdersCancelPaid.allows(s.user.role));
    let o = context! {
        id => order.id,
        number => order.number,
        member_id => order.member_id,
        live_id => order.live_id,
        status => order.status.as_str(),
        status_label => ot.status(order.status),
        contact_name => order.contact_name,
        contact_phone => order.contact_phone,
        contact_email => order.contact_email,
        fulfilment_label => if order.fulfilment == "pickup" { ot.pickup } else { ot.delivery },
        delivery_address => order.delivery_address,
        pickup_store => order.pickup_store,
        tracking_number => order.tracking_number,
        payment_method => order.payment_method,
        deadline => local_time(order.payment_deadline_ms),
        paid_at => order.paid_at_ms.map(local_time),
        total => format_money(order.total, &order.currency),
    };
    render(
        ctx,
        status,
        "order.html",
        context! {
            ot => ot,
            o => o,
            lines => lines_of(&order),
            editable => order.status == OrderStatus::PendingPayment && !order.lines.is_empty(),
            receipts => receipts,
            history => history,
            comments => comments,
            may_cancel_paid => may_cancel_paid,
            notice => notice,
            error => error,
        },
    )
}

fn order_id(ctx: &Ctx, id: &str) -> Result<i64, Box<Response>> {
    id.parse::<i64>().map_err(|_| {
        let ot = OrderTexts::get(ctx.lang);
        Box::new(ctx.message(StatusCode::NOT_FOUND, ot.err_not_found, ""))
    })
}

async fn detail_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let id = match order_id(&ctx, &id) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let ot = OrderTexts::get(ctx.lang);
    let notice = match value(&pairs(query.as_deref().unwrap_or("")), "notice") {
        Some("mark_paid") => Some(ot.notice_mark_paid),
        Some("fulfil") => Some(ot.notice_fulfil),
        Some("cancel") => Some(ot.notice_cancel),
        Some("line") => Some(ot.notice_line),
        _ => None,
    };
    detail_view(&state, &ctx, id, StatusCode::OK, notice, None).await
}

/// A refusal shown on the order's page, with the API's status.
async fn refused(state: &AppState, ctx: &Ctx, id: i64, err: ApiError) -> Response {
    match err {
        ApiError::Client { status, code, .. } => {
            let ot = OrderTexts::get(ctx.lang);
            detail_view(state, ctx, id, status, None, Some(ot.error(code))).await
        }
        other => failed(other),
    }
}

async fn act(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match order_id(&ctx, &id) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let form = pairs(&String::from_utf8_lossy(&body));
    let Some(action) = value(&form, "action").and_then(OrderAction::parse) else {
        let ot = OrderTexts::get(ctx.lang);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return detail_view(&state, &ctx, id, status, None, Some(ot.err_other)).await;
    };
    let handover = Handover {
        tracking_number: value(&form, "tracking_number").map(str::to_string),
        pickup_store: value(&form, "pickup_store").map(str::to_string),
    };
    let key = match action {
        OrderAction::MarkPaid => "mark_paid",
        OrderAction::Fulfil => "fulfil",
        OrderAction::Cancel => "cancel",
    };
    match run_action(&state, &caller, id, action, &handover).await {
        Ok(_) => {
            state.board.changed_all();
            Redirect::to(&format!("/orders/{id}?notice={key}")).into_response()
        }
        Err(err) => refused(&state, &ctx, id, err).await,
    }
}

async fn change_line(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(caller): Extension<Caller>,
    Path((id, line_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let id = match order_id(&ctx, &id) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let ot = OrderTexts::get(ctx.lang);
    let form = pairs(&String::from_utf8_lossy(&body));
    let qty = value(&form, "qty").and_then(|q| q.parse::<i64>().ok());
    let (Ok(line_id), Some(qty)) = (line_id.parse::<i64>(), qty) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return detail_view(&state, &ctx, id, status, None, Some(ot.err_not_lower)).await;
    };
    match change_line_as(&state, &caller, id, line_id, qty).await {
        Ok(_) => {
            state.board.changed_all();
            Redirect::to(&format!("/orders/{id}?notice=line")).into_response()
        }
        Err(err) => refused(&state, &ctx, id, err).await,
    }
}
