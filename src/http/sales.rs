//! `/api/v1/sales`: counter sales (POS) on the one stock ledger.
//!
//! A sale commits its units at once as `sale` movements on channel `pos`, from units no
//! hold has promised, so it never takes what live buyers hold. Every answer of `POST
//! /sales`, refusals included, is kept under its `idempotency_key`: a retry gets the
//! first answer, status and body alike.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::{ApiJson, AppState};
use crate::auth::Caller;
use crate::members::{Phone, PointsRefusal};
use crate::store::{
    IdempotencyKey, Idempotent, NewSale, SaleAnswer, SaleChange, SalePayment, SaleRefusal, SaleView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_sale))
        .routes(routes!(get_sale))
        .routes(routes!(cancel_sale))
}

const MAX_LINES: usize = 100;
const MAX_QTY: i64 = 1_000_000;
const MAX_POINTS: i64 = 1_000_000_000_000;

#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub(crate) struct SaleLineInput {
    pub sku: String,
    /// At least 1.
    pub qty: i64,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub(crate) struct SaleInput {
    /// 1 to 100 lines; the same SKU may appear more than once.
    pub lines: Vec<SaleLineInput>,
    /// The member who buys, found by phone (eight digits are a Hong Kong number). They
    /// earn points, and may spend them. Unknown: 404 `unknown_member`.
    pub member_phone: Option<String>,
    /// Points the member spends on this sale (needs `member_phone`).
    #[serde(default)]
    pub points_to_spend: i64,
    /// cash, card, fps, payme, octopus, bank_transfer or other.
    pub payment_method: String,
    /// 1 to 200 characters. A retry with the same key and body replays the first answer;
    /// with another body it is refused (422 `idempotency_key_reused`).
    pub idempotency_key: String,
}

fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, message).with_detail("field", field)
}

/// Checks a sale request; the refusal names the field.
pub(crate) fn check(
    input: &SaleInput,
    actor: &str,
    state: &AppState,
) -> Result<(NewSale, IdempotencyKey), ApiError> {
    let key = input.idempotency_key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(invalid(
            "idempotency_key",
            "invalid_idempotency_key",
            "`idempotency_key` must be 1 to 200 characters",
        ));
    }
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(invalid(
            "lines",
            "invalid_lines",
            format!("a sale has 1 to {MAX_LINES} lines"),
        ));
    }
    let mut lines = Vec::with_capacity(input.lines.len());
    for line in &input.lines {
        let sku = line.sku.trim();
        if sku.is_empty() || sku.len() > 100 {
            return Err(invalid(
                "sku",
                "invalid_sku",
                "`sku` must be 1 to 100 characters",
            ));
        }
        if !(1..=MAX_QTY).contains(&line.qty) {
            return Err(invalid(
                "qty",
                "bad_qty",
                format!("`qty` must be 1 to {MAX_QTY}"),
            ));
        }
        lines.push((sku.to_string(), line.qty));
    }
    let Some(payment_method) = SalePayment::parse(input.payment_method.trim()) else {
        return Err(invalid(
            "payment_method",
            "invalid_payment_method",
            "`payment_method` must be one of cash, card, fps, payme, octopus, bank_transfer, other",
        ));
    };
    let member_phone = match input.member_phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(Phone::parse(raw).map_err(|why| {
            invalid(
                "member_phone",
                "invalid_phone",
                format!("`member_phone`: {why}"),
            )
        })?),
    };
    if !(0..=MAX_POINTS).contains(&input.points_to_spend) {
        return Err(invalid(
            "points_to_spend",
            "invalid_points",
            "`points_to_spend` must be 0 or more",
        ));
    }
    let body = serde_json::to_vec(input).unwrap_or_default();
    let key = IdempotencyKey {
        scope: "sales",
        key: key.to_string(),
        request_hash: hex::encode(Sha256::digest(&body)),
    };
    let sale = NewSale {
        lines,
        member_phone,
        points_to_spend: input.points_to_spend,
        payment_method,
        actor: actor.to_string(),
        points: state.config.checkout.points(),
    };
    Ok((sale, key))
}

/// A points refusal as the API says it.
pub(crate) fn points_error(refusal: PointsRefusal) -> ApiError {
    match refusal {
        PointsRefusal::OverBalance { balance } => ApiError::unprocessable(
            "points_over_balance",
            format!("the member has only {balance} points"),
        )
        .with_detail("balance", balance),
        PointsRefusal::OverShare {
            max_points,
            max_share_percent,
        } => ApiError::unprocessable(
            "points_over_share",
            format!(
                "points may pay at most {max_share_percent}% of this total: {max_points} points at most"
            ),
        )
        .with_detail("max_points", max_points)
        .with_detail("max_share_percent", max_share_percent),
        PointsRefusal::NoMember => ApiError::unprocessable(
            "points_need_member",
            "spending points needs the member: give `member_phone`",
        ),
    }
}

fn refusal_error(refusal: SaleRefusal) -> ApiError {
    match refusal {
        SaleRefusal::InsufficientStock { sku, available } => ApiError::conflict(
            "insufficient_stock",
            format!("only {available} of `{sku}` available"),
        )
        .with_detail("available", available)
        .with_detail("sku", sku),
        SaleRefusal::UnknownSku { sku } => {
            ApiError::not_found(format!("no SKU `{sku}`")).with_detail("sku", sku)
        }
        SaleRefusal::UnknownMember => ApiError::client(
            StatusCode::NOT_FOUND,
            "unknown_member",
            "no member has this phone; sell without `member_phone`, or add the phone to the member first",
        ),
        SaleRefusal::MemberBlocked { reason } => ApiError::conflict(
            "member_blocked",
            format!("this member is blocked: {reason}"),
        ),
        SaleRefusal::Points { refusal } => points_error(refusal),
        SaleRefusal::MixedCurrency => ApiError::unprocessable(
            "mixed_currency",
            "the lines are priced in different currencies; ring them up as separate sales",
        ),
    }
}

/// Rings up a checked sale: the answer the API gives, for the API and the Counter page.
pub(crate) async fn ring_up(
    state: &AppState,
    sale: &NewSale,
    key: &IdempotencyKey,
) -> Result<SaleView, ApiError> {
    let answer: SaleAnswer = match state.store.create_sale(sale, key).await? {
        Idempotent::Fresh(answer) | Idempotent::Replayed(answer) => answer,
        Idempotent::KeyReused => {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this idempotency_key was used before with a different request",
            ))
        }
    };
    let view = answer.map_err(refusal_error)?;
    let skus: Vec<String> = sale.lines.iter().map(|(sku, _)| sku.clone()).collect();
    crate::outbox::telegram_staff::alert_stock(
        &state.store,
        state.config.telegram.staff_chat_id.as_deref(),
        state.config.telegram.low_stock_threshold,
        &skus,
    )
    .await;
    Ok(view)
}

/// Rings up a counter sale, paid at once.
#[utoipa::path(post, path = "/sales", tag = "sales", request_body = SaleInput,
    responses((status = 201, body = SaleView, description = "the sale, or the first answer to this idempotency_key"),
              (status = 404, body = ErrorBody, description = "an unknown SKU (`not_found`) or phone (`unknown_member`)"),
              (status = 409, body = ErrorBody, description = "`insufficient_stock` with `available` and `sku`, or `member_blocked`"),
              (status = 422, body = ErrorBody, description = "a bad field, `points_over_balance`, `points_over_share`, `points_need_member`, `mixed_currency` or `idempotency_key_reused`")))]
async fn create_sale(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<SaleInput>,
) -> Result<(StatusCode, Json<SaleView>), ApiError> {
    let (sale, key) = check(&input, &caller.name, &state)?;
    let view = ring_up(&state, &sale, &key).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One counter sale.
#[utoipa::path(get, path = "/sales/{id}", tag = "sales", params(("id" = i64, Path)),
    responses((status = 200, body = SaleView), (status = 404, body = ErrorBody)))]
async fn get_sale(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<SaleView>, ApiError> {
    state
        .store
        .sale(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no sale {id}")))
}

/// Cancels a counter sale: its units go back on the shelf (`return` movements on channel
/// `pos`, serving waitlists first), the points it spent come back and the points it
/// earned are taken back.
#[utoipa::path(post, path = "/sales/{id}/cancel", tag = "sales", params(("id" = i64, Path)),
    responses((status = 200, body = SaleView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`sale_cancelled`: already cancelled")))]
async fn cancel_sale(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<SaleView>, ApiError> {
    match state.store.cancel_sale(id).await? {
        SaleChange::Done(view) => Ok(Json(*view)),
        SaleChange::NotFound => Err(ApiError::not_found(format!("no sale {id}"))),
        SaleChange::AlreadyCancelled => Err(ApiError::conflict(
            "sale_cancelled",
            format!("sale {id} is already cancelled"),
        )),
    }
}
