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
use crate::checkout::page::{self, CartPage, Message, OptionChoice, OrderPage, ProofPart};
use crate::checkout::provider::{SessionRequest, SIGNATURE_HEADER};
use crate::checkout::{shop_config, OrderStatus, PaymentKind};
use crate::i18n::Lang;
use crate::members::proof;
use crate::members::PointsRefusal;
use crate::store::{
    CartLine, CheckoutRef, Confirmed, NewOrder, NewPaymentIssue, OrderChange, OrderView,
};
use crate::vocab::PaymentIssueKind;

pub fn router(state: AppState) -> Router<AppState> {
    let receipt_limit = state.config.checkout.receipt_max_bytes;
    Router::new()
        .route("/c/{token}", get(show).post(confirm))
        // A POST opens a session; a GET (an old bookmark, a preview bot) opens nothing.
        .route("/c/{token}/pay", get(pay_page).post(pay_online))
        // The buyer proves another member is theirs too: ask for a code, then type it.
        .route("/c/{token}/prove", post(prove_send))
        .route("/c/{token}/prove/code", post(prove_code))
        .route(
            "/c/{token}/receipt",
            // Room for the image plus the multipart framing around it.
            post(upload_receipt).layer(DefaultBodyLimit::max(receipt_limit + 16 * 1024)),
        )
        .layer(axum::middleware::from_fn_with_state(state, limit_guessing))
        .route("/webhooks/payments", post(provider_webhook))
        .route("/assets/checkout.css", get(css))
        .route("/assets/checkout.js", get(js))
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", page::CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", page::JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Unknown links, per client address: an address over `checkout.unknown_token_per_minute`
/// gets 429 before its token is even looked up, so guessing is slow and costs the
/// database nothing, while everyone else's real links keep working.
async fn limit_guessing(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let address = super::client_address(&state.config, request.headers(), request.extensions());
    let lang = page_lang(&state, request.headers());
    let too_many = || {
        html(
            StatusCode::TOO_MANY_REQUESTS,
            page::message(lang, Message::TooMany),
        )
    };
    if state.checkout.guessing.refused(address) {
        return too_many();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::NOT_FOUND && !state.checkout.guessing.charge(address) {
        return too_many();
    }
    response
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
        // `limit_guessing` counts this 404 against the client's address.
        return Ok(Opened::Gone(html(
            StatusCode::NOT_FOUND,
            page::message(lang, Message::NotFound),
        )));
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

/// What the buyer is told to do for the order's method: the shop's words now, or the
/// config's for a method the shop has stopped offering since.
async fn instructions_for(state: &AppState, method: &str) -> String {
    let find = |methods: &[crate::checkout::config::PaymentMethodConfig]| {
        methods
            .iter()
            .find(|m| m.kind.as_str() == method)
            .map(|m| m.instructions.clone())
    };
    let shop = match shop_config(&state.store, &state.config.checkout).await {
        Ok(shop) => find(&shop.payment_methods),
        Err(err) => {
            tracing::warn!(error = ?err, "could not read the shop's payment methods");
            None
        }
    };
    shop.or_else(|| find(&state.config.checkout.payment_methods))
        .unwrap_or_default()
}

async fn order_page(
    state: &AppState,
    token: &str,
    lang: Lang,
    order: &OrderView,
    receipt_error: Option<&'static str>,
) -> Response {
    order_page_with(
        state,
        token,
        lang,
        order,
        receipt_error,
        None,
        StatusCode::OK,
    )
    .await
}

/// The order page with a line about proving another account (`proof_note`: a text key,
/// its number, whether it is a success) answered with `status`.
async fn order_page_with(
    state: &AppState,
    token: &str,
    lang: Lang,
    order: &OrderView,
    receipt_error: Option<&'static str>,
    proof_note: Option<(&'static str, Option<i64>, bool)>,
    status: StatusCode,
) -> Response {
    let offers = match state.store.proof_offers(order.member_id, now_ms()).await {
        Ok(offers) => offers,
        Err(err) => {
            tracing::warn!(error = ?err, "could not read a buyer's merge suggestions");
            Vec::new()
        }
    };
    let pay_url = (order.payment_method == PaymentKind::Hosted.as_str()
        && state.checkout.provider.is_some())
    .then(|| format!("/c/{token}/pay"));
    let body = page::order(&OrderPage {
        lang,
        order,
        points: points_of(state, order.member_id).await,
        instructions: &instructions_for(state, &order.payment_method).await,
        pay_url,
        receipt_action: format!("/c/{token}/receipt"),
        receipt_error,
        proof: ProofPart {
            offers,
            note: proof_note,
            action: format!("/c/{token}/prove"),
        },
        follow_url: follow_on_telegram(state, order.member_id).await,
    });
    let status = if receipt_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    html(status, body)
}

/// The staff chat's message about a payment issue, when a staff chat is set.
fn staff_alert(
    state: &AppState,
    issue: &NewPaymentIssue<'_>,
    order: Option<&str>,
) -> Option<crate::store::PlannedReply> {
    let chat = state.config.telegram.staff_chat_id.as_deref()?;
    Some(crate::outbox::telegram_staff::payment_row(
        chat,
        issue.kind.as_str(),
        issue.provider_session,
        issue.amount,
        issue.currency,
        order,
    ))
}

/// "Follow my order on Telegram": a deep link that starts the bot and joins the Telegram
/// user who presses it to this member, so order news reaches them there. None when the
/// member already follows, or Telegram is not set up (no token, or the bot's name cannot
/// be read).
async fn follow_on_telegram(state: &AppState, member_id: i64) -> Option<String> {
    state.config.telegram.bot_token.as_ref()?;
    let follows = async {
        let mut read = state.store.begin_read().await?;
        let user = crate::store::started_telegram_user_in(&mut read, member_id).await?;
        read.commit().await?;
        Ok::<_, crate::store::StoreError>(user.is_some())
    };
    match follows.await {
        Ok(false) => {}
        Ok(true) => return None,
        Err(err) => {
            tracing::warn!(error = %err, "could not read whether a buyer follows on Telegram");
            return None;
        }
    }
    let fresh = format!("{:016x}", rand::random::<u64>());
    let code = match state.store.start_code_for_member(member_id, &fresh).await {
        Ok(code) => code,
        Err(err) => {
            tracing::warn!(error = %err, "could not keep a follow code");
            return None;
        }
    };
    state.telegram.start_link(&code).await
}

/// `POST /c/{token}/prove` (`suggestion`): sends a one-time code to the other member's
/// own chat. Only suggestions of this link's buyer can be named.
async fn prove_send(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let lang = page_lang(&state, &headers);
    let order = match open_order(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    // A missing or malformed id names no open suggestion of this buyer.
    let asked = match suggestion_of(&values) {
        Some(suggestion) => {
            proof::send_code(&state.store, order.member_id, suggestion, now_ms()).await?
        }
        None => proof::CodeAsked::NotOpen,
    };
    let (note, status) = match asked {
        proof::CodeAsked::Sent => {
            tracing::info!("one-time code sent to the other member");
            (("proof_sent", None, true), StatusCode::OK)
        }
        proof::CodeAsked::NoChannel => (("proof_no_channel", None, false), StatusCode::CONFLICT),
        proof::CodeAsked::TooMany => (
            ("proof_too_many", None, false),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        proof::CodeAsked::NotOpen => (("proof_not_open", None, false), StatusCode::CONFLICT),
    };
    Ok(order_page_with(&state, &token, lang, &order, None, Some(note), status).await)
}

/// `POST /c/{token}/prove/code` (`suggestion`, `code`): a right code joins this link's
/// buyer to the other member.
async fn prove_code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let lang = page_lang(&state, &headers);
    let order = match open_order(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let typed = values.get("code").map(String::as_str).unwrap_or("");
    let typed = match suggestion_of(&values) {
        Some(suggestion) => {
            proof::type_code(&state.store, order.member_id, suggestion, typed, now_ms()).await?
        }
        None => proof::CodeTyped::NotOpen,
    };
    let (note, status) = match typed {
        proof::CodeTyped::Joined { survivor } => {
            tracing::info!(
                survivor,
                "a buyer joined their members with a one-time code"
            );
            (("proof_joined", None, true), StatusCode::OK)
        }
        proof::CodeTyped::Wrong { tries_left } => (
            ("proof_wrong", Some(tries_left), false),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        proof::CodeTyped::NotSixDigits => (
            ("proof_not_six", None, false),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        proof::CodeTyped::NoCode => (("proof_no_code", None, false), StatusCode::GONE),
        proof::CodeTyped::NotOpen => (("proof_not_open", None, false), StatusCode::CONFLICT),
    };
    // Joined: the order now belongs to the surviving member; read it again.
    let order = state
        .store
        .order_for_cart(order.cart_id)
        .await?
        .unwrap_or(order);
    Ok(order_page_with(&state, &token, lang, &order, None, Some(note), status).await)
}

fn suggestion_of(values: &HashMap<String, String>) -> Option<i64> {
    values
        .get("suggestion")?
        .trim()
        .parse()
        .ok()
        .filter(|id| *id > 0)
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

#[allow(clippy::too_many_arguments)]
async fn cart_page(
    state: &AppState,
    token: &str,
    lang: Lang,
    cart: &CheckoutRef,
    values: &HashMap<String, String>,
    errors: &FieldErrors,
    option_errors: &BTreeMap<i64, &'static str>,
    points_error: Option<String>,
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
    let points = points_of(state, cart.member_id).await;
    let shop = shop_config(&state.store, &state.config.checkout).await?;
    let points_max = state
        .config
        .checkout
        .points()
        .max_spend(cart_total(&lines), points.unwrap_or(0));
    let body = page::cart(
        &CartPage {
            lang,
            action: format!("/c/{token}"),
            lines: &lines,
            choices: &choices,
            points,
            points_max,
            points_error: points_error.clone(),
            values,
            errors,
            option_errors,
            now_ms: now,
        },
        &shop,
    );
    let status = if errors.is_empty() && option_errors.is_empty() && points_error.is_none() {
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
        None,
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
    let shop = shop_config(&state.store, &state.config.checkout).await?;
    let contact = match form::validate(&values, &shop) {
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
                None,
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
    let policy = state.config.checkout.points();
    let t = lang.texts();
    let points_to_spend = match chosen_points(&values) {
        Ok(Some(points)) => points,
        // "Use my points" without a number: as many as this order takes.
        Ok(None) if values.contains_key("use_points") => {
            let balance = points_of(&state, cart.member_id).await.unwrap_or(0);
            policy.max_spend(cart_total(&lines), balance)
        }
        Ok(None) => 0,
        Err(()) => {
            if state.store.order_for_cart(cart.cart_id).await?.is_some() {
                return Ok(back_to(&token));
            }
            let error = Some(t.err_points_number.to_string());
            return cart_page(
                &state,
                &token,
                lang,
                &cart,
                &values,
                &FieldErrors::new(),
                &BTreeMap::new(),
                error,
            )
            .await;
        }
    };
    let mut refused = None;
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
            points_to_spend,
            points: policy,
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
            Confirmed::PointsRefused(refusal) => refused = Some(refusal),
        }
    }
    if let Some(refusal) = refused {
        let error = match refusal {
            PointsRefusal::OverBalance { balance } => {
                t.err_points_balance.replace("{n}", &balance.to_string())
            }
            PointsRefusal::OverShare {
                max_points,
                max_share_percent,
            } => t
                .err_points_share
                .replace("{share}", &max_share_percent.to_string())
                .replace("{n}", &max_points.to_string()),
            PointsRefusal::NoMember => t.err_points_number.to_string(),
        };
        return cart_page(
            &state,
            &token,
            lang,
            &cart,
            &values,
            &FieldErrors::new(),
            &BTreeMap::new(),
            Some(error),
        )
        .await;
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
            None,
        )
        .await;
    }
    // Post/redirect/get: a reload shows the order instead of confirming again.
    Ok(back_to(&token))
}

/// The cart's total before points, minor units.
fn cart_total(lines: &[CartLine]) -> i64 {
    lines
        .iter()
        .map(|l| l.qty.saturating_mul(l.unit_price))
        .fold(0i64, i64::saturating_add)
}

/// The points the buyer chose to spend: `None` when they did not tick "use my points"
/// or left the number empty; `Err` when the number is not a whole number above 0.
fn chosen_points(values: &HashMap<String, String>) -> Result<Option<i64>, ()> {
    if !values.contains_key("use_points") {
        return Ok(None);
    }
    match values.get("points_to_use").map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(()),
        },
    }
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
/// `GET /c/{token}/pay` opens no provider session: it sends the buyer to the order page,
/// whose "pay online" button posts.
async fn pay_page(Path(token): Path<String>) -> Response {
    back_to(&token)
}

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
        .record_payment_session(
            order.id,
            &session.id,
            order.total,
            &order.currency,
            now_ms(),
        )
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
        _ if order.receipts >= state.config.checkout.max_receipts_per_order => {
            Some("err_receipt_count")
        }
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
    let paid = &event.session;
    let now = now_ms();
    // Anything but "this order is now paid" becomes an item staff see and close.
    let issue = |kind: PaymentIssueKind, order_id: Option<i64>| NewPaymentIssue {
        kind,
        order_id,
        provider_session: &paid.id,
        amount: paid.amount,
        currency: &paid.currency,
    };
    let order = match state.store.payment_session(&paid.id).await? {
        Some(session) => state.store.order(session.order_id).await?,
        None => None,
    };
    let Some(order) = order else {
        tracing::warn!("payment for a session no order has; left for staff");
        let unmatched = issue(PaymentIssueKind::Unmatched, None);
        let alert = staff_alert(&state, &unmatched, None);
        state
            .store
            .open_payment_issue(&unmatched, alert.as_ref(), now)
            .await?;
        return Ok(StatusCode::OK.into_response());
    };
    if order.total != paid.amount || order.currency != paid.currency {
        tracing::error!(
            order = order.id,
            "paid amount differs from the order total; left for staff"
        );
        let mismatch = issue(PaymentIssueKind::AmountMismatch, Some(order.id));
        let alert = staff_alert(&state, &mismatch, Some(&order.number));
        state
            .store
            .open_payment_issue(&mismatch, alert.as_ref(), now)
            .await?;
        return Ok(StatusCode::OK.into_response());
    }
    // First news of this session, or a redelivery of it.
    let first = state.store.mark_session_paid(&paid.id, now).await?;
    let kind = match super::orders::mark_paid_and_thank(&state, order.id, now).await? {
        OrderChange::Done => {
            tracing::info!(order = order.id, "order paid online");
            None
        }
        // Already paid: a redelivery, or staff were faster with this very payment…
        OrderChange::WrongStatus(OrderStatus::Paid | OrderStatus::Fulfilled) if !first => None,
        // …or a second session of the order was paid too.
        OrderChange::WrongStatus(OrderStatus::Paid | OrderStatus::Fulfilled) => {
            Some(PaymentIssueKind::PaidTwice)
        }
        // Expired, cancelled, or a hold already gone: the money came too late.
        other => {
            tracing::warn!(order = order.id, result = ?other, "paid online after the order closed; left for staff");
            Some(PaymentIssueKind::AfterClose)
        }
    };
    if let Some(kind) = kind {
        let open = issue(kind, Some(order.id));
        let alert = staff_alert(&state, &open, Some(&order.number));
        state
            .store
            .open_payment_issue(&open, alert.as_ref(), now)
            .await?;
    }
    Ok(StatusCode::OK.into_response())
}
