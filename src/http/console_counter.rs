//! The Counter page: a sale at the shop counter on the one stock ledger.
//!
//! One plain form, no script needed. Scanning a SKU (a scanner types the code and
//! presses Enter) submits the form with its first button, "add", and the page comes back
//! with the line in the basket (kept in hidden fields). "Done" rings the sale up through
//! the same path as `POST /api/v1/sales`; the form carries an idempotency key, so a
//! double submit makes one sale. A refused sale keeps the basket and gets a new key.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use super::{failed, render, Ctx};
use crate::accounts::new_secret;
use crate::console::counter_lang::CounterTexts;
use crate::http::error::ApiError;
use crate::http::sales::{check, ring_up, SaleInput, SaleLineInput};
use crate::http::AppState;
use crate::i18n::format_money;
use crate::members::Phone;
use crate::store::{CounterMember, SalePayment};

pub fn router() -> Router<AppState> {
    Router::new().route("/counter", get(page).post(submit))
}

/// Lines in one basket, and the most of one line.
const MAX_LINES: usize = 100;
const MAX_QTY: i64 = 1_000_000;

#[derive(Deserialize)]
struct SaleQuery {
    sale: Option<i64>,
}

/// What the form holds between submits.
#[derive(Default)]
struct Basket {
    key: String,
    lines: Vec<(String, i64)>,
    member_phone: String,
    points_to_spend: String,
    payment_method: String,
}

impl Basket {
    fn from_fields(fields: &[(String, String)]) -> Basket {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let skus = fields
            .iter()
            .filter(|(k, _)| k == "line_sku")
            .map(|(_, v)| v);
        let qtys = fields
            .iter()
            .filter(|(k, _)| k == "line_qty")
            .map(|(_, v)| v);
        let lines = skus
            .zip(qtys)
            .filter_map(|(sku, qty)| {
                let qty = qty.trim().parse::<i64>().ok()?;
                (!sku.trim().is_empty() && (1..=MAX_QTY).contains(&qty))
                    .then(|| (sku.trim().to_string(), qty))
            })
            .take(MAX_LINES)
            .collect();
        Basket {
            key: get("key"),
            lines,
            member_phone: get("member_phone"),
            points_to_spend: get("points_to_spend"),
            payment_method: get("payment_method"),
        }
    }

    fn add(&mut self, sku: &str, qty: i64) {
        if let Some(line) = self.lines.iter_mut().find(|(s, _)| s == sku) {
            line.1 = (line.1 + qty).min(MAX_QTY);
        } else if self.lines.len() < MAX_LINES {
            self.lines.push((sku.to_string(), qty));
        }
    }
}

fn fill(text: &str, pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .fold(text.to_string(), |t, (k, v)| t.replace(k, v))
}

fn detail(err: &ApiError, key: &str) -> String {
    match err {
        ApiError::Client {
            details: Some(details),
            ..
        } => match details.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        _ => String::new(),
    }
}

/// A refused sale, said for the person at the counter.
fn refusal_text(c: &CounterTexts, err: &ApiError) -> Option<String> {
    let ApiError::Client { code, .. } = err else {
        return None;
    };
    Some(match *code {
        "insufficient_stock" => fill(
            c.err_insufficient,
            &[
                ("{sku}", detail(err, "sku")),
                ("{n}", detail(err, "available")),
            ],
        ),
        "not_found" => fill(c.err_unknown_sku, &[("{sku}", detail(err, "sku"))]),
        "unknown_member" => c.err_unknown_member.to_string(),
        "invalid_phone" => c.err_phone.to_string(),
        "member_blocked" => c.err_member_blocked.to_string(),
        "points_over_balance" => fill(c.err_points_balance, &[("{n}", detail(err, "balance"))]),
        "points_over_share" => fill(
            c.err_points_share,
            &[
                ("{share}", detail(err, "max_share_percent")),
                ("{n}", detail(err, "max_points")),
            ],
        ),
        "points_need_member" => c.err_points_member.to_string(),
        "invalid_points" => c.err_points_number.to_string(),
        "bad_qty" => c.err_qty.to_string(),
        "invalid_lines" => c.err_empty.to_string(),
        "invalid_payment_method" => c.err_method.to_string(),
        "mixed_currency" => c.err_currency.to_string(),
        _ => c.err_other.to_string(),
    })
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    basket: &Basket,
    sale_id: Option<i64>,
    errors: &[String],
) -> Response {
    let c = CounterTexts::get(ctx.lang);
    let mut errors = errors.to_vec();
    let mut lines = Vec::new();
    let mut subtotal = 0i64;
    let mut currency = String::from("HKD");
    for (sku, qty) in &basket.lines {
        match state.store.counter_item(sku).await {
            Ok(Some(item)) => {
                let amount = item.unit_price.saturating_mul(*qty);
                subtotal = subtotal.saturating_add(amount);
                currency = item.currency.clone();
                lines.push(context! {
                    sku => item.sku, name => item.name, options => item.options.join(" "),
                    qty => qty, available => item.available,
                    unit_price => format_money(item.unit_price, &item.currency),
                    amount => format_money(amount, &item.currency),
                });
            }
            Ok(None) => errors.push(fill(c.err_unknown_sku, &[("{sku}", sku.clone())])),
            Err(err) => return failed(err),
        }
    }
    let member: Option<CounterMember> = match basket.member_phone.as_str() {
        "" => None,
        raw => match Phone::parse(raw) {
            Ok(phone) => match state.store.counter_member(&phone).await {
                Ok(found) => {
                    if found.is_none() && sale_id.is_none() {
                        errors.push(c.err_unknown_member.to_string());
                    }
                    found
                }
                Err(err) => return failed(err),
            },
            Err(_) => {
                errors.push(c.err_phone.to_string());
                None
            }
        },
    };
    let policy = state.config.checkout.points();
    let points_max = member
        .as_ref()
        .map_or(0, |m| policy.max_spend(subtotal, m.points));
    let sale = match sale_id {
        Some(id) => match state.store.sale(id).await {
            Ok(Some(sale)) => Some(context! {
                id => sale.id,
                number => sale.number.clone(),
                heading => fill(c.sold, &[("{number}", sale.number.clone())]),
                cancelled => sale.status == "cancelled",
                total => format_money(sale.total, &sale.currency),
                subtotal => format_money(sale.subtotal, &sale.currency),
                points_spent => sale.points_spent,
                points_earned => sale.points_earned,
                member_points => sale.member_points,
                method => c.method(sale.payment_method),
                lines => sale.lines.iter().map(|l| context! {
                    sku => l.sku, name => l.name, qty => l.qty,
                    amount => format_money(l.unit_price.saturating_mul(l.qty), &sale.currency),
                }).collect::<Vec<_>>(),
            }),
            Ok(None) => None,
            Err(err) => return failed(err),
        },
        None => None,
    };
    let methods: Vec<Value> = SalePayment::ALL
        .iter()
        .map(|m| context! { value => m.as_str(), label => c.method(*m) })
        .collect();
    let picked = SalePayment::parse(&basket.payment_method)
        .unwrap_or(SalePayment::Cash)
        .as_str();
    let key = if basket.key.is_empty() {
        new_secret()
    } else {
        basket.key.clone()
    };
    render(
        ctx,
        status,
        "counter.html",
        context! {
            c => c,
            key => key,
            lines => lines,
            subtotal => format_money(subtotal, &currency),
            member => member,
            member_phone => basket.member_phone,
            points_to_spend => basket.points_to_spend,
            points_max => points_max,
            points_up_to => fill(c.points_up_to, &[("{n}", points_max.to_string())]),
            methods => methods,
            picked => picked,
            sale => sale,
            errors => errors,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<SaleQuery>,
) -> Response {
    view(
        &state,
        &ctx,
        StatusCode::OK,
        &Basket::default(),
        query.sale,
        &[],
    )
    .await
}

async fn submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let c = CounterTexts::get(ctx.lang);
    let mut basket = Basket::from_fields(&fields);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let action = field("action");
    if let Some(index) = action.strip_prefix("remove:") {
        if let Ok(i) = index.parse::<usize>() {
            if i < basket.lines.len() {
                basket.lines.remove(i);
            }
        }
        return view(&state, &ctx, StatusCode::OK, &basket, None, &[]).await;
    }
    if action != "sell" {
        // "add", and Enter in any field: a scanned SKU joins the basket.
        let sku = field("sku");
        if sku.is_empty() {
            return view(&state, &ctx, StatusCode::OK, &basket, None, &[]).await;
        }
        let qty = match field("qty").as_str() {
            "" => Ok(1),
            text => text
                .parse::<i64>()
                .ok()
                .filter(|q| (1..=MAX_QTY).contains(q))
                .ok_or(()),
        };
        let error = match (qty, state.store.counter_item(&sku).await) {
            (Err(()), _) => Some(c.err_qty.to_string()),
            (Ok(_), Ok(None)) => Some(fill(c.err_unknown_sku, &[("{sku}", sku.clone())])),
            (Ok(qty), Ok(Some(item))) => {
                basket.add(&item.sku, qty);
                None
            }
            (_, Err(err)) => return failed(err),
        };
        let status = if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        let errors: Vec<String> = error.into_iter().collect();
        return view(&state, &ctx, status, &basket, None, &errors).await;
    }
    let points_to_spend = match basket.points_to_spend.as_str() {
        "" => Ok(0),
        text => text.parse::<i64>().map_err(|_| ()),
    };
    let result = match points_to_spend {
        Err(()) => Err(ApiError::unprocessable("invalid_points", "points")),
        Ok(points_to_spend) => {
            let input = SaleInput {
                lines: basket
                    .lines
                    .iter()
                    .map(|(sku, qty)| SaleLineInput {
                        sku: sku.clone(),
                        qty: *qty,
                    })
                    .collect(),
                member_phone: Some(basket.member_phone.clone()).filter(|p| !p.is_empty()),
                points_to_spend,
                payment_method: basket.payment_method.clone(),
                idempotency_key: basket.key.clone(),
            };
            match check(&input, ctx.username(), &state) {
                Ok((sale, key)) => ring_up(&state, &sale, &key).await,
                Err(err) => Err(err),
            }
        }
    };
    match result {
        Ok(sale) => Redirect::to(&format!("/counter?sale={}", sale.id)).into_response(),
        Err(err) => match refusal_text(c, &err) {
            Some(text) => {
                let status = match &err {
                    ApiError::Client { status, .. } => *status,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                // The key keeps this refusal; the next try is a new request.
                basket.key = new_secret();
                view(&state, &ctx, status, &basket, None, &[text]).await
            }
            None => failed(err),
        },
    }
}
