//! `/api/v1/stock` and `/api/v1/reservations`: the ledger for the POS and the web shop.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::{ApiJson, AppState};
use crate::ledger::{Channel, PartialPolicy, Rejection, ReserveRequest};
use crate::store::{HoldChange, HoldView, IdempotencyKey, Idempotent, StockLevel};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_stock))
        .routes(routes!(get_stock))
        .routes(routes!(adjust_stock))
        .routes(routes!(create_reservation))
        .routes(routes!(get_reservation))
        .routes(routes!(commit_reservation))
        .routes(routes!(release_reservation))
}

/// Holds from the API last at most a week; the live's holds are set per session.
const MAX_TTL_SECONDS: i64 = 7 * 24 * 3600;
const MAX_QTY: i64 = 1_000_000;

fn request_hash<T: Serialize>(body: &T) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

fn idempotency_key<T: Serialize>(
    scope: &'static str,
    key: Option<&str>,
    body: &T,
) -> Result<Option<IdempotencyKey>, ApiError> {
    match key {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > 200 => Err(ApiError::unprocessable(
            "invalid_idempotency_key",
            "`idempotency_key` must be 1 to 200 characters",
        )),
        Some(k) => Ok(Some(IdempotencyKey {
            scope,
            key: k.to_string(),
            request_hash: request_hash(body),
        })),
    }
}

fn key_reused() -> ApiError {
    ApiError::unprocessable(
        "idempotency_key_reused",
        "this idempotency_key was used before with a different request",
    )
}

fn rejection_error(rejection: Rejection) -> ApiError {
    match rejection {
        Rejection::InsufficientStock { available } => {
            ApiError::conflict("insufficient_stock", format!("only {available} available"))
                .with_detail("available", available)
        }
        Rejection::MemberBlocked { reason } => ApiError::conflict(
            "member_blocked",
            format!("this member is blocked: {reason}"),
        ),
        Rejection::LimitExceeded { limit, already } => ApiError::conflict(
            "limit_exceeded",
            format!("the limit is {limit} per member and {already} are already taken"),
        )
        .with_detail("limit", limit)
        .with_detail("already", already),
        Rejection::UnknownSku => ApiError::not_found("no such SKU"),
        Rejection::BadQty => ApiError::unprocessable("bad_qty", "`qty` must be at least 1"),
    }
}

#[derive(Deserialize, IntoParams)]
struct ChangedSince {
    /// RFC 3339 time or Unix milliseconds; levels changed at or after it. Omit for all.
    changed_since: Option<String>,
    /// At most this many (default 1000, at most 10000).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct StockPage {
    items: Vec<StockLevel>,
    /// Pass the last item's `updated_at_ms` as `changed_since` to continue.
    server_time_ms: i64,
}

fn parse_since(value: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_changed_since",
                "`changed_since` must be an RFC 3339 time or Unix milliseconds",
            )
        })
}

/// Stock levels changed since a time, for POS and web shop sync.
#[utoipa::path(get, path = "/stock", tag = "stock", params(ChangedSince),
    responses((status = 200, body = StockPage), (status = 400, body = ErrorBody)))]
async fn list_stock(
    State(state): State<AppState>,
    Query(query): Query<ChangedSince>,
) -> Result<Json<StockPage>, ApiError> {
    let since = query
        .changed_since
        .as_deref()
        .map(parse_since)
        .transpose()?
        .unwrap_or(0);
    let limit = query.limit.unwrap_or(1000).clamp(1, 10_000);
    let server_time_ms = chrono::Utc::now().timestamp_millis();
    let items = state.store.stock_changed_since(since, limit).await?;
    Ok(Json(StockPage {
        items,
        server_time_ms,
    }))
}

/// One SKU's stock.
#[utoipa::path(get, path = "/stock/{sku}", tag = "stock",
    params(("sku" = String, Path)),
    responses((status = 200, body = StockLevel), (status = 404, body = ErrorBody)))]
async fn get_stock(
    State(state): State<AppState>,
    Path(sku): Path<String>,
) -> Result<Json<StockLevel>, ApiError> {
    state
        .store
        .stock(&sku)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no SKU `{sku}`")))
}

#[derive(Deserialize, Serialize, ToSchema)]
struct Adjust {
    /// Units to add (a delivery) or remove (a POS sale, damage).
    delta: i64,
    #[serde(default)]
    reason: String,
    #[serde(default = "pos")]
    channel: Channel,
    idempotency_key: Option<String>,
}

fn pos() -> Channel {
    Channel::Pos
}

/// Changes on-hand stock. It never takes units already promised to a hold.
#[utoipa::path(post, path = "/stock/{sku}/adjust", tag = "stock", request_body = Adjust,
    params(("sku" = String, Path)),
    responses((status = 200, body = StockLevel), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn adjust_stock(
    State(state): State<AppState>,
    Path(sku): Path<String>,
    ApiJson(input): ApiJson<Adjust>,
) -> Result<Json<StockLevel>, ApiError> {
    // `unsigned_abs`: `i64::MIN` has no positive counterpart (schemathesis sent it).
    if input.delta == 0 || input.delta.unsigned_abs() > MAX_QTY.unsigned_abs() {
        return Err(ApiError::unprocessable(
            "bad_delta",
            format!("`delta` must be non-zero and at most {MAX_QTY} either way"),
        ));
    }
    let sku_id = state
        .store
        .sku_id(&sku)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no SKU `{sku}`")))?;
    let key = idempotency_key("adjust", input.idempotency_key.as_deref(), &(&sku, &input))?;
    let result = state
        .store
        .adjust_stock(
            sku_id,
            input.delta,
            input.channel,
            &input.reason,
            key.as_ref(),
        )
        .await?
        .into_inner()
        .ok_or_else(key_reused)?;
    let level = result.map_err(rejection_error)?;
    if input.delta < 0 {
        crate::outbox::telegram_staff::alert_stock(
            &state.store,
            state.config.telegram.staff_chat_id.as_deref(),
            state.config.telegram.low_stock_threshold,
            std::slice::from_ref(&sku),
        )
        .await;
    }
    Ok(Json(level))
}

#[derive(Deserialize, Serialize, ToSchema)]
struct NewReservation {
    sku: String,
    qty: i64,
    #[serde(default = "web")]
    channel: Channel,
    #[serde(default)]
    reference: String,
    #[serde(default = "default_ttl")]
    ttl_seconds: i64,
    member_id: Option<i64>,
    idempotency_key: Option<String>,
}

fn web() -> Channel {
    Channel::Web
}

fn default_ttl() -> i64 {
    900
}

#[derive(Serialize, Deserialize, ToSchema)]
struct Reservation {
    id: i64,
    sku: String,
    qty: i64,
    expires_at: String,
    expires_at_ms: i64,
}

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Holds units for a cart or a counter sale, all or nothing.
#[utoipa::path(post, path = "/reservations", tag = "stock", request_body = NewReservation,
    responses((status = 201, body = Reservation), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_reservation(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewReservation>,
) -> Result<(StatusCode, Json<Reservation>), ApiError> {
    if input.qty <= 0 || input.qty > MAX_QTY {
        return Err(ApiError::unprocessable(
            "bad_qty",
            "`qty` must be at least 1",
        ));
    }
    if !(1..=MAX_TTL_SECONDS).contains(&input.ttl_seconds) {
        return Err(ApiError::unprocessable(
            "bad_ttl",
            format!("`ttl_seconds` must be 1 to {MAX_TTL_SECONDS}"),
        ));
    }
    let sku_id = state
        .store
        .sku_id(&input.sku)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no SKU `{}`", input.sku)))?;
    let key = idempotency_key("reservations", input.idempotency_key.as_deref(), &input)?;
    let request = ReserveRequest {
        sku_id,
        qty: input.qty,
        member_id: input.member_id,
        live_id: None,
        channel: input.channel,
        reference: input.reference.clone(),
        ttl_seconds: input.ttl_seconds,
        partial: PartialPolicy::AllOrNothing,
        waitlist: false,
        limit_per_member: None,
    };
    let outcome = match state.store.reserve_once(request, key.as_ref()).await {
        Ok(Idempotent::KeyReused) => return Err(key_reused()),
        Ok(done) => done.into_inner().ok_or_else(key_reused)?,
        Err(crate::store::StoreError::Conflict { .. }) => {
            return Err(ApiError::not_found("no such member"))
        }
        Err(other) => return Err(other.into()),
    };
    if let Some(rejection) = outcome.rejection {
        return Err(rejection_error(rejection));
    }
    let hold = outcome.hold.ok_or_else(|| {
        anyhow::anyhow!("an all-or-nothing reservation got neither hold nor rejection")
    })?;
    crate::outbox::telegram_staff::alert_stock(
        &state.store,
        state.config.telegram.staff_chat_id.as_deref(),
        state.config.telegram.low_stock_threshold,
        std::slice::from_ref(&input.sku),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(Reservation {
            id: hold.id,
            sku: input.sku,
            qty: hold.qty,
            expires_at: rfc3339(hold.expires_at_ms),
            expires_at_ms: hold.expires_at_ms,
        }),
    ))
}

/// One reservation (hold) and its status.
#[utoipa::path(get, path = "/reservations/{id}", tag = "stock",
    params(("id" = i64, Path)),
    responses((status = 200, body = HoldView), (status = 404, body = ErrorBody)))]
async fn get_reservation(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<HoldView>, ApiError> {
    state
        .store
        .hold(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no reservation {id}")))
}

async fn finish(state: &AppState, id: i64, change: HoldChange) -> Result<Json<HoldView>, ApiError> {
    match change {
        HoldChange::Done(_) => get_reservation(State(state.clone()), Path(id)).await,
        HoldChange::NotFound => Err(ApiError::not_found(format!("no reservation {id}"))),
        HoldChange::NotActive(status) => Err(ApiError::conflict(
            "reservation_not_active",
            format!("reservation {id} is already {status}"),
        )
        .with_detail("status", status.as_str())),
        HoldChange::InOrder => Err(ApiError::conflict(
            "reservation_not_active",
            format!("reservation {id} is already in_order"),
        )
        .with_detail("status", "in_order")),
    }
}

/// Records the sale: the units leave stock for good.
#[utoipa::path(post, path = "/reservations/{id}/commit", tag = "stock",
    params(("id" = i64, Path)),
    responses((status = 200, body = HoldView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn commit_reservation(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<HoldView>, ApiError> {
    let change = state.store.commit_hold(id).await?;
    finish(&state, id, change).await
}

/// Gives the units back; the waitlist is served first.
#[utoipa::path(post, path = "/reservations/{id}/release", tag = "stock",
    params(("id" = i64, Path)),
    responses((status = 200, body = HoldView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn release_reservation(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<HoldView>, ApiError> {
    let change = state.store.release_hold(id).await?;
    finish(&state, id, change).await
}
