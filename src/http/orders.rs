//! `/api/v1/orders`: staff run the orders checkout made: list, mark paid, hand over,
//! cancel, export for Excel, and look at the buyer's receipts.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::{ApiJson, AppState};
use crate::auth::Caller;
use crate::checkout::OrderStatus;
use crate::i18n::plain_amount;
use crate::roles::Area;
use crate::store::{LineChange, OrderChange, OrderFilter, OrderView, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(export_orders))
        .routes(routes!(get_order))
        .routes(routes!(mark_paid))
        .routes(routes!(fulfil))
        .routes(routes!(cancel))
        .routes(routes!(receipt))
        .routes(routes!(bulk))
        .routes(routes!(change_line))
}

#[derive(Default, Deserialize, IntoParams)]
pub(crate) struct Filter {
    pub(crate) live_id: Option<i64>,
    /// pending_payment, paid, fulfilled, cancelled or expired.
    #[param(pattern = "^(pending_payment|paid|fulfilled|cancelled|expired)$")]
    pub(crate) status: Option<String>,
    pub(crate) member_id: Option<i64>,
    /// The platform of the comments behind the order (facebook, instagram, telegram,
    /// sandbox) or the ledger channel of its lines (live, pos, web, api); empty: any.
    #[param(pattern = "^[a-z_]{0,32}$")]
    pub(crate) channel: Option<String>,
    /// Made on or after this day, `YYYY-MM-DD` (Hong Kong time).
    pub(crate) from: Option<String>,
    /// Made on or before this day, `YYYY-MM-DD` (Hong Kong time).
    pub(crate) to: Option<String>,
    /// true: orders that were paid (whatever happened after); false: never paid.
    pub(crate) paid: Option<bool>,
    /// true: unpaid orders with a receipt waiting for staff to check it; false: the others.
    pub(crate) receipt_waiting: Option<bool>,
    /// `next_cursor` of the previous page.
    pub(crate) cursor: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub(crate) limit: Option<i64>,
}

/// The start of a day at UTC+8 (Hong Kong and Taiwan), Unix ms.
fn day_start_ms(field: &'static str, day: &str) -> Result<i64, ApiError> {
    let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::unprocessable("invalid_date", format!("`{field}` is a day, `YYYY-MM-DD`"))
            .with_detail("field", field)
    })?;
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    Ok(midnight.and_utc().timestamp_millis() - 8 * 3_600_000)
}

impl Filter {
    pub(crate) fn checked(&self, default_limit: i64, max: i64) -> Result<OrderFilter, ApiError> {
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
        let channel = match self.channel.as_deref() {
            None | Some("") => None,
            Some(c) if c.len() <= 32 && c.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
                Some(c.to_string())
            }
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "invalid_channel",
                    "`channel` is a platform or channel name such as facebook, telegram or pos",
                ))
            }
        };
        let from = match self.from.as_deref().filter(|d| !d.trim().is_empty()) {
            Some(day) => Some(day_start_ms("from", day)?),
            None => None,
        };
        let to = match self.to.as_deref().filter(|d| !d.trim().is_empty()) {
            Some(day) => Some(day_start_ms("to", day)? + 24 * 3_600_000),
            None => None,
        };
        if let (Some(from), Some(to)) = (from, to) {
            if to <= from {
                return Err(ApiError::unprocessable(
                    "invalid_date",
                    "`to` is on or after `from`",
                ));
            }
        }
        Ok(OrderFilter {
            live_id: self.live_id,
            status,
            member_id: self.member_id,
            channel,
            created_from_ms: from,
            created_before_ms: to,
            paid: self.paid,
            receipt_waiting: self.receipt_waiting,
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
    /// Unpaid orders with a receipt waiting for a check, in the live asked for or in
    /// the whole shop (whatever the other filters).
    receipts_waiting: i64,
}

/// Orders, oldest first, filtered by live, status, member, channel, day, payment and
/// receipts waiting for a check.
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
    let receipts_waiting = state.store.receipts_waiting(filter.live_id).await?;
    Ok(Json(OrderPage {
        items,
        next_cursor,
        receipts_waiting,
    }))
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
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<OrderView>, ApiError> {
    run_action(
        &state,
        &caller,
        id,
        OrderAction::MarkPaid,
        &Handover::default(),
    )
    .await
    .map(Json)
}

/// Marks an order paid (checkout) and, in the same transaction, queues the buyer's
/// thank-you where a channel to them is open (outbox): written with the payment, once.
pub(super) async fn mark_paid_and_thank(
    state: &AppState,
    id: i64,
    now: i64,
) -> Result<OrderChange, StoreError> {
    mark_paid_by(state, id, "", now).await
}

/// [`mark_paid_and_thank`], with who marked it paid in the order's history.
pub(crate) async fn mark_paid_by(
    state: &AppState,
    id: i64,
    actor: &str,
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
    crate::store::record_paid_in(&mut tx, id, actor, now).await?;
    tx.commit().await?;
    Ok(OrderChange::Done)
}

/// What a fulfilment tells the buyer. Both optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct Handover {
    /// A courier's tracking number (at most 100 characters).
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// The store the buyer picks the order up from (at most 100 characters); a pickup
    /// order without one names the store the buyer chose.
    #[serde(default)]
    pub pickup_store: Option<String>,
}

impl Handover {
    /// Trimmed, blank as none, and not too long.
    pub(crate) fn checked(&self) -> Result<(String, Option<String>), ApiError> {
        let field = |name: &'static str, value: &Option<String>| {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
            match value {
                Some(v) if v.chars().count() > 100 || v.chars().any(char::is_control) => {
                    Err(ApiError::unprocessable(
                        "invalid_field",
                        format!("`{name}` is at most 100 characters on one line"),
                    )
                    .with_detail("field", name))
                }
                other => Ok(other.map(str::to_string)),
            }
        };
        Ok((
            field("tracking_number", &self.tracking_number)?.unwrap_or_default(),
            field("pickup_store", &self.pickup_store)?,
        ))
    }
}

/// A paid order was handed over or shipped. The buyer gets a message (template
/// `fulfilled`) with the tracking number or pickup store when given. The body is
/// optional.
#[utoipa::path(post, path = "/orders/{id}/fulfil", tag = "orders",
    request_body(content = Handover, description = "optional"),
    responses((status = 200, body = OrderView), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn fulfil(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<OrderView>, ApiError> {
    let handover: Handover = if body.iter().all(u8::is_ascii_whitespace) {
        Handover::default()
    } else {
        serde_json::from_slice(&body).map_err(|err| {
            if err.is_data() {
                ApiError::unprocessable("invalid_body", err.to_string())
            } else {
                ApiError::bad_request("malformed_json", err.to_string())
            }
        })?
    };
    run_action(&state, &caller, id, OrderAction::Fulfil, &handover)
        .await
        .map(Json)
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
    run_action(
        &state,
        &caller,
        id,
        OrderAction::Cancel,
        &Handover::default(),
    )
    .await
    .map(Json)
}

/// What staff do to an order, from the API or the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OrderAction {
    MarkPaid,
    Fulfil,
    Cancel,
}

impl OrderAction {
    pub(crate) fn parse(value: &str) -> Option<OrderAction> {
        match value {
            "mark_paid" => Some(OrderAction::MarkPaid),
            "fulfil" => Some(OrderAction::Fulfil),
            "cancel" => Some(OrderAction::Cancel),
            _ => None,
        }
    }
}

/// Runs one action on one order, as `caller`, and answers with the order as it now is.
pub(crate) async fn run_action(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: OrderAction,
    handover: &Handover,
) -> Result<OrderView, ApiError> {
    let now = chrono::Utc::now().timestamp_millis();
    let change = match action {
        OrderAction::MarkPaid => mark_paid_by(state, id, &caller.name, now).await?,
        OrderAction::Fulfil => {
            let (tracking, pickup) = handover.checked()?;
            fulfil_and_tell(state, id, &tracking, pickup.as_deref(), &caller.name, now).await?
        }
        OrderAction::Cancel => {
            let allow_paid = Area::OrdersCancelPaid.allows(caller.role);
            state
                .store
                .cancel_order(id, allow_paid, &caller.name, now)
                .await?
        }
    };
    answer(state, id, change).await.map(|Json(order)| order)
}

/// Fulfils an order and, in the same transaction, queues the buyer's message.
async fn fulfil_and_tell(
    state: &AppState,
    id: i64,
    tracking: &str,
    pickup: Option<&str>,
    actor: &str,
    now: i64,
) -> Result<OrderChange, StoreError> {
    let mut tx = state.store.begin_write().await?;
    let done =
        match crate::store::fulfil_order_in(&mut tx, id, tracking, pickup, actor, now).await? {
            Ok(done) => done,
            Err(refused) => return Ok(refused),
        };
    crate::outbox::enqueue_order_fulfilled_in(&mut tx, &done, now).await?;
    tx.commit().await?;
    Ok(OrderChange::Done)
}

#[derive(Deserialize, ToSchema)]
struct BulkInput {
    action: OrderAction,
    /// 1 to 200 order ids; each is tried on its own.
    ids: Vec<i64>,
    /// For `fulfil`: said to every buyer (usually left out in bulk).
    #[serde(default)]
    tracking_number: Option<String>,
    #[serde(default)]
    pickup_store: Option<String>,
}

/// One order's result in a bulk action.
#[derive(Serialize, ToSchema)]
pub(crate) struct BulkResult {
    pub id: i64,
    pub ok: bool,
    /// The order's status after the action (absent when there is no such order).
    pub status: Option<OrderStatus>,
    /// Why the action was refused for this order, as the single action would say.
    pub error: Option<BulkError>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct BulkError {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
struct BulkAnswer {
    /// In the order of `ids`.
    results: Vec<BulkResult>,
}

/// Runs an action on each order of a selection; each succeeds or fails alone.
pub(crate) async fn run_bulk(
    state: &AppState,
    caller: &Caller,
    action: OrderAction,
    ids: &[i64],
    handover: &Handover,
) -> Result<Vec<BulkResult>, ApiError> {
    let mut results = Vec::with_capacity(ids.len());
    for &id in ids {
        match run_action(state, caller, id, action, handover).await {
            Ok(order) => results.push(BulkResult {
                id,
                ok: true,
                status: Some(order.status),
                error: None,
            }),
            Err(ApiError::Client { code, message, .. }) => {
                let status = state.store.order(id).await?.map(|o| o.status);
                results.push(BulkResult {
                    id,
                    ok: false,
                    status,
                    error: Some(BulkError {
                        code: code.to_string(),
                        message,
                    }),
                })
            }
            Err(other) => return Err(other),
        }
    }
    Ok(results)
}

/// Marks paid, fulfils or cancels a selection of orders. Answers 200 with one result
/// per id: an order that cannot take the action (wrong status, not found, a paid order
/// a staff member may not cancel) fails alone and leaves the others done.
#[utoipa::path(post, path = "/orders/bulk", tag = "orders", request_body = BulkInput,
    responses((status = 200, body = BulkAnswer), (status = 400, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn bulk(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<BulkInput>,
) -> Result<Json<BulkAnswer>, ApiError> {
    let mut ids = input.ids.clone();
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    if ids.is_empty() || ids.len() > 200 {
        return Err(ApiError::unprocessable(
            "invalid_ids",
            "`ids` holds 1 to 200 order ids",
        ));
    }
    let handover = Handover {
        tracking_number: input.tracking_number,
        pickup_store: input.pickup_store,
    };
    handover.checked()?;
    let results = run_bulk(&state, &caller, input.action, &ids, &handover).await?;
    Ok(Json(BulkAnswer { results }))
}

#[derive(Deserialize, ToSchema)]
struct LineQty {
    /// The new quantity, below the line's; 0 removes the line.
    qty: i64,
}

/// Lowers a line of an unpaid order (`line_id` is the line's `hold_id`), or removes it
/// with `qty` 0: the units go back on sale through the ledger (the waitlist is served),
/// the total is recomputed, and the buyer gets a message (template `order_changed`).
/// 409 when the order is no longer unpaid or the line is its last (cancel instead);
/// 422 for a quantity that is not lower.
#[utoipa::path(patch, path = "/orders/{id}/lines/{line_id}", tag = "orders",
    request_body = LineQty,
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_line(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, line_id)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<LineQty>,
) -> Result<Json<OrderView>, ApiError> {
    change_line_as(&state, &caller, id, line_id, input.qty)
        .await
        .map(Json)
}

/// Lowers an order line and tells the buyer, in one transaction.
pub(crate) async fn change_line_as(
    state: &AppState,
    caller: &Caller,
    id: i64,
    line_id: i64,
    qty: i64,
) -> Result<OrderView, ApiError> {
    if qty < 0 {
        return Err(ApiError::unprocessable(
            "invalid_qty",
            "`qty` is 0 (remove the line) or more",
        ));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = state.store.begin_write().await?;
    let changed =
        crate::store::change_order_line_in(&mut tx, id, line_id, qty, &caller.name, now).await?;
    let changed = match changed {
        Ok(changed) => changed,
        Err(LineChange::NotFound) => {
            return Err(ApiError::not_found(format!(
                "no line {line_id} on order {id}"
            )))
        }
        Err(LineChange::WrongStatus(status)) => {
            return Err(ApiError::conflict(
                "order_status",
                format!("the order is {status}; only an unpaid order's lines change"),
            )
            .with_detail("status", status.as_str()))
        }
        Err(LineChange::NotLower { qty: has }) => {
            return Err(ApiError::unprocessable(
                "qty_not_lower",
                format!("the line has {has}; a line can only be lowered (0 removes it)"),
            )
            .with_detail("qty", has))
        }
        Err(LineChange::LastLine) => {
            return Err(ApiError::conflict(
                "last_line",
                "this is the order's only line; cancel the order instead",
            ))
        }
        Err(LineChange::HoldGone(hold)) => {
            return Err(ApiError::conflict(
                "hold_released",
                "the units of this line went back on sale already",
            )
            .with_detail("hold_id", hold))
        }
    };
    crate::outbox::enqueue_order_changed_in(&mut tx, &changed, now).await?;
    tx.commit().await?;
    state
        .store
        .order(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))
}

pub(super) fn csv_field(value: &str) -> String {
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
