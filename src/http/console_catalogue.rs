//! The catalogue's pages: products with their stock, one product (details, stock
//! adjustments with a reason, each SKU's movements), and the CSV import with a preview.
//! The import's rules are `crate::catalogue_import`, as for the API.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use base64::Engine;
use minijinja::{context, Value};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{failed, render, Ctx, NoticeQuery};
use crate::catalogue_import::{self, ImportError, Outcome};
use crate::console::catalogue_lang::{problem_text, CatalogueTexts};
use crate::console::page::local_time;
use crate::http::catalog::{check_alias_clash, check_aliases};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::i18n::format_money;
use crate::ledger::Channel;
use crate::store::{IdempotencyKey, Product, ProductPatch, SkuStock};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list))
        .route("/products/import", get(import_page).post(preview))
        .route("/products/import/confirm", post(confirm))
        .route("/products/{id}", get(product_page).post(edit))
        .route("/products/{id}/stock", post(adjust))
}

/// The movements shown per SKU, newest first.
const MOVEMENTS_SHOWN: i64 = 20;
const MAX_DELTA: i64 = 1_000_000;

fn sku_facts(sku: &SkuStock, waiting: &HashMap<i64, i64>, p: &CatalogueTexts) -> Value {
    context! {
        id => sku.id,
        sku => sku.sku,
        options => if sku.options.is_empty() { p.no_options.to_string() } else { sku.options.join(" / ") },
        on_hand => sku.on_hand,
        held => sku.reserved,
        available => sku.available,
        waitlist => waiting.get(&sku.id).copied().unwrap_or(0),
    }
}

fn product_facts(product: &Product, waiting: &HashMap<i64, i64>, p: &CatalogueTexts) -> Value {
    context! {
        id => product.id,
        code => product.code,
        name => product.name,
        price => product.price,
        price_text => format_money(product.price, &product.currency),
        currency => product.currency,
        aliases => product.aliases.join(", "),
        sandbox => product.sandbox,
        skus => product.skus.iter().map(|s| sku_facts(s, waiting, p)).collect::<Vec<_>>(),
    }
}

async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    let (products, waiting) =
        match tokio::try_join!(state.store.list_products(), state.store.waiting_units()) {
            Ok(found) => found,
            Err(err) => return failed(err),
        };
    let products: Vec<Value> = products
        .iter()
        .map(|product| product_facts(product, &waiting, p))
        .collect();
    let notice = (query.notice.as_deref() == Some("imported")).then_some(p.imported);
    render(
        &ctx,
        StatusCode::OK,
        "products.html",
        context! { p => p, products => products, notice => notice },
    )
}

/// What the product page shows besides the product: a notice, an error and the
/// details form's values as typed.
#[derive(Default)]
struct Shown<'a> {
    notice: Option<&'a str>,
    error: Option<&'a str>,
    typed: Option<&'a EditForm>,
}

async fn product_view(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    status: StatusCode,
    shown: Shown<'_>,
) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    let product = match id.parse::<i64>() {
        Ok(id) => match state.store.product(id).await {
            Ok(found) => found,
            Err(err) => return failed(err),
        },
        Err(_) => None,
    };
    let Some(product) = product else {
        return ctx.message(StatusCode::NOT_FOUND, p.title, p.err_no_product);
    };
    let waiting = match state.store.waiting_units().await {
        Ok(waiting) => waiting,
        Err(err) => return failed(err),
    };
    let mut skus = Vec::new();
    for sku in &product.skus {
        let movements = match state.store.sku_movements(sku.id, MOVEMENTS_SHOWN).await {
            Ok(movements) => movements,
            Err(err) => return failed(err),
        };
        let movements: Vec<Value> = movements
            .iter()
            .map(|m| {
                context! {
                    kind => p.kind(&m.kind),
                    on_hand => format!("{:+}", m.on_hand_delta),
                    held => format!("{:+}", m.reserved_delta),
                    channel => m.channel,
                    reference => m.reference,
                    time => local_time(m.created_at_ms),
                }
            })
            .collect();
        skus.push(context! {
            ..sku_facts(sku, &waiting, p),
            ..context! { movements => movements, key => crate::accounts::new_secret() }
        });
    }
    let form = match shown.typed {
        Some(typed) => {
            context! { name => typed.name, price => typed.price, aliases => typed.aliases }
        }
        None => context! {
            name => product.name,
            price => product.price.to_string(),
            aliases => product.aliases.join(", "),
        },
    };
    render(
        ctx,
        status,
        "products_item.html",
        context! {
            p => p,
            product => product_facts(&product, &waiting, p),
            skus => skus,
            form => form,
            notice => shown.notice,
            error => shown.error,
        },
    )
}

async fn product_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    let notice = match query.notice.as_deref() {
        Some("saved") => Some(p.saved),
        Some("adjusted") => Some(p.adjusted),
        _ => None,
    };
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    product_view(&state, &ctx, &id, StatusCode::OK, shown).await
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    aliases: String,
}

/// Aliases as typed in one field: separated by commas (either width), `、` or `|`.
fn split_aliases(text: &str) -> Vec<String> {
    text.split([',', '，', '、', '|'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

async fn edit(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    let refuse = |error: &'static str| Shown {
        error: Some(error),
        typed: Some(&form),
        ..Shown::default()
    };
    let Ok(product_id) = id.parse::<i64>() else {
        return ctx.message(StatusCode::NOT_FOUND, p.title, p.err_no_product);
    };
    let product = match state.store.product(product_id).await {
        Ok(Some(product)) => product,
        Ok(None) => return ctx.message(StatusCode::NOT_FOUND, p.title, p.err_no_product),
        Err(err) => return failed(err),
    };
    let name = form.name.trim();
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if name.is_empty() || name.chars().count() > 200 {
        return product_view(&state, &ctx, &id, status, refuse(p.err_name)).await;
    }
    let price = match form.price.trim().parse::<i64>() {
        Ok(price) if (0..=crate::http::MAX_PRICE).contains(&price) => price,
        _ => return product_view(&state, &ctx, &id, status, refuse(p.err_price)).await,
    };
    let aliases = split_aliases(&form.aliases);
    if check_aliases(&product.code, &aliases).is_err() {
        return product_view(&state, &ctx, &id, status, refuse(p.err_aliases)).await;
    }
    match check_alias_clash(&state, Some(product_id), &product.code, &aliases).await {
        Ok(()) => {}
        Err(ApiError::Client { .. }) => {
            let conflict = StatusCode::CONFLICT;
            return product_view(&state, &ctx, &id, conflict, refuse(p.err_alias_taken)).await;
        }
        Err(err) => return failed(err),
    }
    let patch = ProductPatch {
        name: Some(name.to_string()),
        price: Some(price),
        options: None,
        aliases: Some(aliases),
    };
    match state.store.patch_product(product_id, &patch).await {
        Ok(Some(_)) => {
            Redirect::to(&format!("/products/{product_id}?notice=saved")).into_response()
        }
        Ok(None) => ctx.message(StatusCode::NOT_FOUND, p.title, p.err_no_product),
        Err(err) => failed(err),
    }
}

#[derive(Deserialize)]
struct AdjustForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    delta: String,
    #[serde(default)]
    reason: String,
    /// One per rendered form: sending it twice adjusts once.
    #[serde(default)]
    key: String,
}

async fn adjust(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<AdjustForm>,
) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let refuse = |error: &'static str| Shown {
        error: Some(error),
        ..Shown::default()
    };
    let product = match id.parse::<i64>() {
        Ok(product_id) => match state.store.product(product_id).await {
            Ok(found) => found,
            Err(err) => return failed(err),
        },
        Err(_) => None,
    };
    let Some(sku) = product
        .as_ref()
        .and_then(|product| product.skus.iter().find(|s| s.sku == form.sku))
    else {
        return ctx.message(StatusCode::NOT_FOUND, p.title, p.err_no_product);
    };
    let delta = match form.delta.trim().trim_start_matches('+').parse::<i64>() {
        Ok(delta) if delta != 0 && delta.unsigned_abs() <= MAX_DELTA.unsigned_abs() => delta,
        _ => return product_view(&state, &ctx, &id, status, refuse(p.err_delta)).await,
    };
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return product_view(&state, &ctx, &id, status, refuse(p.err_reason)).await;
    }
    let key = (!form.key.is_empty() && form.key.len() <= 200).then(|| IdempotencyKey {
        scope: "console-adjust",
        key: form.key.clone(),
        request_hash: hex::encode(Sha256::digest(
            format!("{}\n{delta}\n{reason}", sku.sku).as_bytes(),
        )),
    });
    let done = state
        .store
        .adjust_stock(sku.id, delta, Channel::Api, reason, key.as_ref())
        .await;
    match done.map(|d| d.into_inner()) {
        Ok(Some(Ok(_))) => {
            if delta < 0 {
                crate::outbox::telegram_staff::alert_stock(
                    &state.store,
                    state.config.telegram.staff_chat_id.as_deref(),
                    state.config.telegram.low_stock_threshold,
                    std::slice::from_ref(&sku.sku),
                )
                .await;
            }
            Redirect::to(&format!("/products/{id}?notice=adjusted")).into_response()
        }
        // The form's key came back with another change (sent again after editing it).
        Ok(None) => Redirect::to(&format!("/products/{id}")).into_response(),
        Ok(Some(Err(_))) => {
            product_view(
                &state,
                &ctx,
                &id,
                StatusCode::CONFLICT,
                refuse(p.err_not_enough),
            )
            .await
        }
        Err(err) => failed(err),
    }
}

/// The import page, with a preview or an import's result when there is one.
#[derive(Default)]
struct ImportShown<'a> {
    error: Option<&'a str>,
    outcome: Option<&'a Outcome>,
    /// The file, carried in the confirm form.
    data: Option<String>,
}

fn import_view(ctx: &Ctx, status: StatusCode, shown: ImportShown<'_>) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    let outcome = shown.outcome.map(|o| {
        let errors: Vec<Value> = o
            .errors
            .iter()
            .map(|e| {
                context! {
                    row => e.row,
                    column => e.column,
                    problem => problem_text(ctx.lang, &e.problem),
                }
            })
            .collect();
        context! {
            created => o.created,
            updated => o.updated,
            unchanged => o.unchanged,
            errors => errors,
            written => o.written,
        }
    });
    render(
        ctx,
        status,
        "products_import.html",
        context! {
            p => p,
            error => shown.error,
            outcome => outcome,
            data => shown.data,
        },
    )
}

async fn import_page(Extension(ctx): Extension<Ctx>) -> Response {
    import_view(&ctx, StatusCode::OK, ImportShown::default())
}

/// The named field of a multipart form, as bytes.
async fn field(form: &mut Multipart, name: &str) -> Option<Vec<u8>> {
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    None
}

async fn run(state: &AppState, ctx: &Ctx, bytes: &[u8], write: bool) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    match catalogue_import::import(&state.store, bytes, write).await {
        Ok(outcome) => {
            let status = if outcome.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let data = (!write && outcome.errors.is_empty())
                .then(|| base64::engine::general_purpose::STANDARD.encode(bytes));
            let shown = ImportShown {
                outcome: Some(&outcome),
                data,
                ..ImportShown::default()
            };
            import_view(ctx, status, shown)
        }
        Err(ImportError::TooManyRows) => {
            let shown = ImportShown {
                error: Some(p.err_too_many),
                ..ImportShown::default()
            };
            import_view(ctx, StatusCode::PAYLOAD_TOO_LARGE, shown)
        }
        Err(ImportError::StockChanged { .. }) => {
            let shown = ImportShown {
                error: Some(p.err_stock_changed),
                ..ImportShown::default()
            };
            import_view(ctx, StatusCode::CONFLICT, shown)
        }
        Err(ImportError::Store(err)) => failed(err),
    }
}

async fn preview(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    mut form: Multipart,
) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    match field(&mut form, "file").await {
        Some(bytes) if !bytes.is_empty() => run(&state, &ctx, &bytes, false).await,
        _ => {
            let shown = ImportShown {
                error: Some(p.err_no_file),
                ..ImportShown::default()
            };
            import_view(&ctx, StatusCode::UNPROCESSABLE_ENTITY, shown)
        }
    }
}

async fn confirm(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    mut form: Multipart,
) -> Response {
    let p = CatalogueTexts::get(ctx.lang);
    let bytes = field(&mut form, "data").await.and_then(|data| {
        base64::engine::general_purpose::STANDARD
            .decode(data.trim_ascii())
            .ok()
    });
    match bytes {
        Some(bytes) if !bytes.is_empty() => run(&state, &ctx, &bytes, true).await,
        _ => {
            let shown = ImportShown {
                error: Some(p.err_no_file),
                ..ImportShown::default()
            };
            import_view(&ctx, StatusCode::UNPROCESSABLE_ENTITY, shown)
        }
    }
}
