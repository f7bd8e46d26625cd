//! `/api/v1/orders`: staff run the orders checkout made: list, mark paid, hand over,
//! cancel, export for Excel, and look at the buyer's receipts.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::auth::Caller;
use crate::checkout::OrderStatus;
use crate::i18n::plain_amount;
use crate::roles::Area;
use crate::store::{OrderChange, OrderFilter, OrderView, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(export_orders))
        .routes(routes!(get_order))
        .routes(routes!(mark_paid))
        .routes(routes!(fulfil))
        .routes(routes!(cancel))
        .routes(routes!(receipt))
}

#[derive(Deserialize, IntoParams)]
struct Filter {
    live_id: Option<i64>,
    /// pending_payment, paid, fulfilled, cancelled or expired.
    status: Option<String>,
    member_id: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

impl Filter {
    fn checked(&self, default_limit: i64, max: i64) -> Result<OrderFilter, ApiError> {
        let status = match &self.status {
            Some(status) => Some(status.parse::<OrderStatus>().map_err(|_| {
                let all: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::unprocessable(
                    "invalid_status",
                    format!("`status` must be one of {}", all.join(", ")),
                )
            })?),
            None => None,
        };
        Ok(OrderFilter {
            live_id: self.live_id,
            status,
            member_id: self.member_id,
            after: self.cursor,
            limit: self.limit.unwrap_or(default_limit).clamp(1, max),
        })
    }
}

#[derive(Serialize, ToSchema)]
struct OrderPage {
    items: Vec<OrderView>,
    /// Null on the last page.
    next_cursor: Option<i64>,
}

/// Orders, oldest first, filtered by live, status and member.
#[utoipa::path(get, path = "/orders", tag = "orders", params(Filter),
    responses((status = 200, body = OrderPage), (status = 422, body = ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Json<OrderPage>, ApiError> {
    let filter = filter.checked(100, 1000)?;
    let items = state.store.list_orders(&filter).await?;
    let next_cursor = (items.len() as i64 == filter.limit)
        .then(|| items.last().map(|o| o.id))
        .flatten();
    Ok(Json(OrderPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<OrderView>, ApiError> {
    state
        .store
        .order(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))
}

async fn answer(
    state: &AppState,
    id: i64,
    change: OrderChange,
) -> Result<Json<OrderView>, ApiError> {
    match change {
        OrderChange::Done => get_order(State(state.clone()), Path(id)).await,
        OrderChange::NotFound => Err(ApiError::not_found(format!("no order {id}"))),
        OrderChange::NotAllowed(status) => Err(ApiError::forbidden(format!(
            "only an owner may cancel a {status} order (the money goes back)"
        ))),
        OrderChange::WrongStatus(status) => Err(ApiError::conflict(
            "order_status",
            format!("the order is {status}; that change is not possible"),
        )
        .with_detail("status", status.as_str())),
        OrderChange::HoldGone(hold) => Err(ApiError::conflict(
            "hold_released",
            "the payment deadline passed and the units went back on sale; cancel the order and refund, or take a new order",
        )
        .with_detail("hold_id", hold)),
    }
}

/// Payment received (manual methods): the units become a sale and points are earned.
#[utoipa::path(post, path = "/orders/{id}/mark-paid", tag = "orders",
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn mark_paid(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<OrderView>, ApiError> {
    let change = mark_paid_and_thank(&state, id, chrono::Utc::now().timestamp_millis()).await?;
    answer(&state, id, change).await
}

/// Marks an order paid (checkout) and, in the same transaction, queues the buyer's
/// thank-you where a channel to them is open (outbox): written with the payment, once.
pub(super) async fn mark_paid_and_thank(
    state: &AppState,
    id: i64,
    now: i64,
) -> Result<OrderChange, StoreError> {
    let mut tx = state.store.begin_write().await?;
    let paid = match crate::checkout::mark_paid_in(&mut tx, &state.config.checkout, id, now).await?
    {
        Ok(paid) => paid,
        Err(refused) => return Ok(refused),
    };
    crate::outbox::enqueue_order_paid_in(
        &mut tx,
        paid.member_id,
        paid.live_id,
        &paid.number,
        paid.total,
        &paid.currency,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(OrderChange::Done)
}

/// A paid order was handed over or shipped.
#[utoipa::path(post, path = "/orders/{id}/fulfil", tag = "orders",
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn fulfil(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<OrderView>, ApiError> {
    let change = state
        .store
        .fulfil_order(id, chrono::Utc::now().timestamp_millis())
        .await?;
    answer(&state, id, change).await
}

/// Cancels an unfulfilled order; its units go back on sale and the waitlist is served.
/// Cancelling a paid order is the owner's.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "orders",
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<OrderView>, ApiError> {
    let allow_paid = Area::OrdersCancelPaid.allows(caller.role);
    let change = state
        .store
        .cancel_order(id, allow_paid, chrono::Utc::now().timestamp_millis())
        .await?;
    answer(&state, id, change).await
}

fn csv_field(value: &str) -> String {
    // Excel runs cells that start with = + - @ as formulas; a leading quote keeps them text.
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// All matching orders as CSV for Excel (UTF-8 with a byte-order mark), one row per line.
#[utoipa::path(get, path = "/orders.csv", tag = "orders", params(Filter),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorBody)))]
async fn export_orders(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Response, ApiError> {
    let mut filter = filter.checked(1000, 1000)?;
    let mut out = String::from("\u{feff}");
    out.push_str("order,status,created_utc,live_id,member_id,name,phone,email,fulfilment,address,pickup_store,payment_method,sku,item,options,qty,unit_price,line_total,order_total,currency\r\n");
    loop {
        let page = state.store.list_orders(&filter).await?;
        for order in &page {
            let created = chrono::DateTime::from_timestamp_millis(order.created_at_ms)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            for line in &order.lines {
                let fields = [
                    order.number.clone(),
                    order.status.to_string(),
                    created.clone(),
                    order.live_id.to_string(),
                    order.member_id.to_string(),
                    order.contact_name.clone(),
                    order.contact_phone.clone(),
                    order.contact_email.clone(),
                    order.fulfilment.clone(),
                    order.delivery_address.clone(),
                    order.pickup_store.clone(),
                    order.payment_method.clone(),
                    line.sku.clone(),
                    line.name.clone(),
                    line.options.join(" "),
                    line.qty.to_string(),
                    plain_amount(line.unit_price),
                    plain_amount(line.unit_price * line.qty),
                    plain_amount(order.total),
                    order.currency.clone(),
                ];
                let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                out.push_str(&row.join(","));
                out.push_str("\r\n");
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == filter.limit => filter.after = Some(last.id),
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"orders.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// A receipt image a buyer uploaded for an order.
#[utoipa::path(get, path = "/orders/{id}/receipts/{receipt_id}", tag = "orders",
    responses((status = 200, description = "the image"), (status = 404, body = ErrorBody)))]
async fn receipt(
    State(state): State<AppState>,
    Path((id, receipt_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let Some((content_type, bytes)) = state.store.payment_receipt(id, receipt_id).await? else {
        return Err(ApiError::not_found(format!(
            "no receipt {receipt_id} on order {id}"
        )));
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        bytes,
    )
        .into_response())
}
