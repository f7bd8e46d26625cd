//! The buyer's pages: `/c/{token}` (the cart, then the order), the receipt upload, the
//! hand-over to a hosted checkout, and the provider's webhook.
//!
//! The token in the path is the credential, so these routes need no login. Unknown
//! tokens answer a friendly 404 page, expired ones 410, and guessing is rate-limited.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::error::ApiError;
use super::AppState;
use crate::auth::hash_token;
use crate::checkout::form::{self, FieldErrors};
use crate::checkout::page::{self, CartPage, Message, OptionChoice, OrderPage};
use crate::checkout::provider::{SessionRequest, SIGNATURE_HEADER};
use crate::checkout::{OrderStatus, PaymentKind};
use crate::i18n::Lang;
use crate::store::{CartLine, CheckoutRef, Confirmed, NewOrder, OrderChange, OrderView};

pub fn router(receipt_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/c/{token}", get(show).post(confirm))
        .route("/c/{token}/pay", get(pay_online))
        .route(
            "/c/{token}/receipt",
            // Room for the image plus the multipart framing around it.
            post(upload_receipt).layer(DefaultBodyLimit::max(receipt_limit + 16 * 1024)),
        )
        .route("/webhooks/payments", post(provider_webhook))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn page_lang(state: &AppState, headers: &HeaderMap) -> Lang {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::negotiate(accept, state.config.checkout.default_lang())
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// What a token leads to.
enum Opened {
    Cart(CheckoutRef),
    Gone(Response),
}

async fn open(state: &AppState, token: &str, lang: Lang) -> Result<Opened, ApiError> {
    let found = if token.len() == 40 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        state.store.checkout_by_token(&hash_token(token)).await?
    } else {
        None
    };
    let Some(found) = found else {
        let page = if state.checkout.unknown_tokens.check().is_ok() {
            html(
                StatusCode::NOT_FOUND,
                page::message(lang, Message::NotFound),
            )
        } else {
            html(
                StatusCode::TOO_MANY_REQUESTS,
                page::message(lang, Message::TooMany),
            )
        };
        return Ok(Opened::Gone(page));
    };
    if found.token_expires_at_ms <= now_ms() {
        return Ok(Opened::Gone(html(
            StatusCode::GONE,
            page::message(lang, Message::Expired),
        )));
    }
    Ok(Opened::Cart(found))
}

async fn points_of(state: &AppState, member_id: i64) -> Option<i64> {
    match state.store.member(member_id).await {
        Ok(member) => member.map(|m| m.points),
        Err(err) => {
            tracing::warn!(error = ?err, "could not read a member's points");
            None
        }
    }
}

fn instructions_for(state: &AppState, method: &str) -> String {
    state
        .config
        .checkout
        .payment_methods
        .iter()
        .find(|m| m.kind.as_str() == method)
        .map(|m| m.instructions.clone())
        .unwrap_or_default()
}

async fn order_page(
    state: &AppState,
    token: &str,
    lang: Lang,
    order: &OrderView,
    receipt_error: Option<&'static str>,
) -> Response {
    let pay_url = (order.payment_method == PaymentKind::Hosted.as_str()
        && state.checkout.provider.is_some())
    .then(|| format!("/c/{token}/pay"));
    let body = page::order(&OrderPage {
        lang,
        order,
        points: points_of(state, order.member_id).await,
        instructions: &instructions_for(state, &order.payment_method),
        pay_url,
        receipt_action: format!("/c/{token}/receipt"),
        receipt_error,
    });
    let status = if receipt_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(status, body)
}

/// For each line still to choose, the product's SKUs it may move to: the one it is on,
/// and the others with enough units free.
async fn variant_choices(
    state: &AppState,
    lines: &[CartLine],
) -> Result<Vec<OptionChoice>, ApiError> {
    let mut choices = Vec::new();
    for line in lines.iter().filter(|l| l.choose_variant) {
        let Some(product) = state.store.product(line.product_id).await? else {
            continue;
        };
        let skus = product
            .skus
            .iter()
            .filter(|s| s.id == line.sku_id || s.available >= line.qty)
            .map(|s| (s.sku.clone(), s.id, s.options.join(" ")))
            .collect();
        choices.push(OptionChoice {
            hold_id: line.hold_id,
            skus,
        });
    }
    Ok(choices)
}

async fn cart_page(
    state: &AppState,
    token: &str,
    lang: Lang,
    cart: &CheckoutRef,
    values: &HashMap<String, String>,
    errors: &FieldErrors,
    option_errors: &BTreeMap<i64, &'static str>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let lines = state.store.cart_lines(cart.cart_id, now).await?;
    if lines.is_empty() {
        return Ok(html(
            StatusCode::GONE,
            page::message(lang, Message::Expired),
        ));
    }
    let choices = variant_choices(state, &lines).await?;
    let body = page::cart(
        &CartPage {
            lang,
            action: format!("/c/{token}"),
            lines: &lines,
            choices: &choices,
            points: points_of(state, cart.member_id).await,
            values,
            errors,
            option_errors,
            now_ms: now,
        },
        &state.config.checkout,
    );
    let status = if errors.is_empty() && option_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(status, body))
}

async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = page_lang(&state, &headers);
    let cart = match open(&state, &token, lang).await? {
        Opened::Cart(cart) => cart,
        Opened::Gone(page) => return Ok(page),
    };
    if let Some(order) = state.store.order_for_cart(cart.cart_id).await? {
        return Ok(order_page(&state, &token, lang, &order, None).await);
    }
    let values = remembered_contact(&state, cart.member_id).await?;
    cart_page(
        &state,
        &token,
        lang,
        &cart,
        &values,
        &FieldErrors::new(),
        &BTreeMap::new(),
    )
    .await
}

/// A returning buyer's details from their member profile, to fill the form with.
async fn remembered_contact(
    state: &AppState,
    member_id: i64,
) -> Result<HashMap<String, String>, ApiError> {
    let mut values = HashMap::new();
    let Some(member) = state.store.member(member_id).await? else {
        return Ok(values);
    };
    for (field, value) in [
        ("name", member.name),
        ("phone", member.phone),
        ("email", member.email),
        ("address", member.delivery_address),
        ("pickup_store", member.pickup_store),
    ] {
        if let Some(value) = value {
            values.insert(field.to_string(), value);
        }
    }
    Ok(values)
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let lang = page_lang(&state, &headers);
    let cart = match open(&state, &token, lang).await? {
        Opened::Cart(cart) => cart,
        Opened::Gone(page) => return Ok(page),
    };
    let contact = match form::validate(&values, &state.config.checkout) {
        Ok(contact) => contact,
        Err(errors) => {
            if state.store.order_for_cart(cart.cart_id).await?.is_some() {
                return Ok(back_to(&token));
            }
            return cart_page(
                &state,
                &token,
                lang,
                &cart,
                &values,
                &errors,
                &BTreeMap::new(),
            )
            .await;
        }
    };
    let (address, store) = match &contact.fulfilment {
        form::Fulfilment::Delivery { address } => (address.clone(), String::new()),
        form::Fulfilment::Pickup { store } => (String::new(), store.clone()),
    };
    let now = now_ms();
    // The variant picked for each line that still needed one, by SKU code.
    let lines = state.store.cart_lines(cart.cart_id, now).await?;
    let mut variant_picks = Vec::new();
    // A line whose picked variant cannot be had: the page says so and nothing changes.
    let mut gone = None;
    for choice in variant_choices(&state, &lines).await? {
        let picked = values.get(&format!("option_{}", choice.hold_id));
        if let Some((_, sku_id, _)) = choice.skus.iter().find(|(sku, _, _)| Some(sku) == picked) {
            variant_picks.push((choice.hold_id, *sku_id));
        } else if picked.is_some() {
            gone = Some(choice.hold_id);
            break;
        }
    }
    if gone.is_none() {
        let order = NewOrder {
            cart_id: cart.cart_id,
            contact_name: contact.name.clone(),
            phone: contact.phone.clone(),
            email: contact.email.clone(),
            fulfilment: contact.fulfilment.kind().to_string(),
            delivery_address: address,
            pickup_store: store,
            payment_method: contact.payment.as_str().to_string(),
            payment_deadline_ms: now + state.config.checkout.payment_deadline_minutes * 60_000,
            variant_picks,
        };
        match state.store.confirm_cart(&order, now).await? {
            Confirmed::Created(id) => {
                tracing::info!(order = id, cart = cart.cart_id, "order confirmed");
            }
            Confirmed::Existing(_) => {}
            Confirmed::NothingHeld => {
                return Ok(html(
                    StatusCode::GONE,
                    page::message(lang, Message::Expired),
                ));
            }
            Confirmed::OptionGone(hold) => gone = Some(hold),
        }
    }
    if let Some(hold) = gone {
        let errors = BTreeMap::from([(hold, "err_option_gone")]);
        return cart_page(
            &state,
            &token,
            lang,
            &cart,
            &values,
            &FieldErrors::new(),
            &errors,
        )
        .await;
    }
    // Post/redirect/get: a reload shows the order instead of confirming again.
    Ok(back_to(&token))
}

/// The order behind a link; otherwise the page to show instead (gone, or back to the
/// cart when nothing is ordered yet).
async fn open_order(
    state: &AppState,
    token: &str,
    lang: Lang,
) -> Result<Result<OrderView, Response>, ApiError> {
    let cart = match open(state, token, lang).await? {
        Opened::Cart(cart) => cart,
        Opened::Gone(page) => return Ok(Err(page)),
    };
    Ok(match state.store.order_for_cart(cart.cart_id).await? {
        Some(order) => Ok(order),
        None => Err(back_to(token)),
    })
}

fn back_to(token: &str) -> Response {
    Redirect::to(&format!("/c/{token}")).into_response()
}

/// Sends the buyer to the hosted checkout for their order.
async fn pay_online(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = page_lang(&state, &headers);
    let order = match open_order(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let Some(provider) = state.checkout.provider.as_ref() else {
        return Ok(back_to(&token));
    };
    if order.status != OrderStatus::PendingPayment
        || order.payment_method != PaymentKind::Hosted.as_str()
    {
        return Ok(back_to(&token));
    }
    let back = format!("{}/c/{token}", state.config.public_base_url());
    let session = provider
        .create_session(&SessionRequest {
            amount: order.total,
            currency: order.currency.clone(),
            reference: order.number.clone(),
            success_url: back.clone(),
            cancel_url: back,
        })
        .await
        .map_err(|e| {
            tracing::warn!(order = order.id, error = %e, "could not open a payment session");
            ApiError::client(
                StatusCode::BAD_GATEWAY,
                "payment_provider_unavailable",
                "the payment provider is not answering; please try again",
            )
        })?;
    state
        .store
        .set_provider_session(order.id, &session.id)
        .await?;
    Ok(Redirect::to(&session.url).into_response())
}

/// What a receipt's first bytes say it is.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

async fn upload_receipt(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let lang = page_lang(&state, &headers);
    let order = match open_order(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let mut image = None;
    let mut too_big = false;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("receipt") => match field.bytes().await {
                Ok(bytes) => image = Some(bytes),
                Err(_) => too_big = true,
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                too_big = true;
                break;
            }
        }
    }
    let max = state.config.checkout.receipt_max_bytes;
    let problem = match &image {
        _ if too_big => Some("err_receipt_size"),
        Some(bytes) if bytes.len() > max => Some("err_receipt_size"),
        Some(bytes) if image_type(bytes).is_none() => Some("err_receipt_type"),
        None => Some("err_receipt_type"),
        Some(_) => None,
    };
    let kind = PaymentKind::parse(&order.payment_method);
    if order.status != OrderStatus::PendingPayment || !kind.is_some_and(PaymentKind::takes_receipt)
    {
        return Ok(back_to(&token));
    }
    if let Some(problem) = problem {
        return Ok(order_page(&state, &token, lang, &order, Some(problem)).await);
    }
    let bytes: Bytes = image.unwrap_or_default();
    let content_type = image_type(&bytes).unwrap_or("application/octet-stream");
    state
        .store
        .add_payment_receipt(order.id, content_type, &bytes, now_ms())
        .await?;
    tracing::info!(
        order = order.id,
        bytes = bytes.len(),
        "payment receipt uploaded"
    );
    Ok(back_to(&token))
}

/// The hosted checkout tells us a session was paid.
async fn provider_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(provider) = state.checkout.provider.as_ref() else {
        return Err(ApiError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "payments_not_configured",
            "set payments.provider to receive payment webhooks",
        ));
    };
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let event = provider
        .verify_webhook(signature, &body, chrono::Utc::now().timestamp())
        .map_err(|e| ApiError::client(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()))?;
    if event.kind != "session.completed" {
        return Ok(StatusCode::OK.into_response());
    }
    let Some(order_id) = state
        .store
        .order_by_provider_session(&event.session.id)
        .await?
    else {
        tracing::warn!(session = %event.session.id, "payment for a session no order has");
        return Ok(StatusCode::OK.into_response());
    };
    let Some(order) = state.store.order(order_id).await? else {
        return Ok(StatusCode::OK.into_response());
    };
    if order.total != event.session.amount || order.currency != event.session.currency {
        tracing::error!(
            order = order.id,
            "paid amount differs from the order total; left for staff"
        );
        return Ok(StatusCode::OK.into_response());
    }
    match super::orders::mark_paid_and_thank(&state, order.id, now_ms()).await? {
        OrderChange::Done => tracing::info!(order = order.id, "order paid online"),
        // A redelivery, or staff were faster.
        OrderChange::WrongStatus(OrderStatus::Paid | OrderStatus::Fulfilled) => {}
        other => {
            tracing::error!(order = order.id, result = ?other, "paid online but the order could not be marked paid; left for staff")
        }
    }
    Ok(StatusCode::OK.into_response())
}
