//! `/api/v1/products`: the catalogue.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::{ApiJson, AppState};
use crate::store::{NewProduct, Product, ProductPatch};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(patch_product))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_product", message)
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let len = value.trim().chars().count();
    if len == 0 || len > max || value.trim() != value {
        return Err(invalid(format!(
            "`{field}` must be 1 to {max} characters without surrounding spaces"
        )));
    }
    Ok(())
}

/// The highest price a product may have, in minor units (HK$10,000,000.00). With the
/// ledger's largest qty it keeps every line and order total far inside `i64`.
pub const MAX_PRICE: i64 = 1_000_000_000;

fn check_price(price: i64) -> Result<(), ApiError> {
    if !(0..=MAX_PRICE).contains(&price) {
        return Err(invalid(format!(
            "`price` is in minor units, from 0 to {MAX_PRICE}"
        )));
    }
    Ok(())
}

fn validate(product: &NewProduct) -> Result<(), ApiError> {
    check_text("code", &product.code, 32)?;
    check_text("name", &product.name, 200)?;
    check_price(product.price)?;
    if product.currency.len() != 3 || !product.currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(invalid(
            "`currency` must be a three-letter code such as HKD or TWD",
        ));
    }
    if product.skus.is_empty() {
        return Err(invalid(
            "`skus` needs at least one entry; a product without variants has one SKU with \"options\": []",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for sku in &product.skus {
        check_text("skus[].sku", &sku.sku, 64)?;
        if !seen.insert(sku.sku.as_str()) {
            return Err(ApiError::conflict(
                "duplicate_sku",
                format!("SKU `{}` appears twice", sku.sku),
            ));
        }
        if sku.on_hand < 0 {
            return Err(invalid(format!(
                "`on_hand` of `{}` cannot be negative",
                sku.sku
            )));
        }
        for option in &sku.options {
            check_text("skus[].options[]", option, 32)?;
        }
    }
    Ok(())
}

/// Each alias 1 to 32 characters, none twice, none the product's own code.
pub(super) fn check_aliases(code: &str, aliases: &[String]) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    for alias in aliases {
        check_text("aliases[]", alias, 32)?;
        let key = crate::parse::normalise(alias);
        if key == crate::parse::normalise(code) || !seen.insert(key) {
            return Err(invalid(format!(
                "alias `{alias}` repeats the product's code or another of its aliases"
            )));
        }
    }
    Ok(())
}

/// 409 when an alias is another product's code or alias, compared as the parser
/// compares keywords (any case, any width), so one word never names two products.
pub(super) async fn check_alias_clash(
    state: &AppState,
    own_id: Option<i64>,
    code: &str,
    aliases: &[String],
) -> Result<(), ApiError> {
    let products = state.store.list_products().await?;
    let mine: Vec<String> = std::iter::once(code)
        .chain(aliases.iter().map(String::as_str))
        .map(crate::parse::normalise)
        .collect();
    for other in products.iter().filter(|p| Some(p.id) != own_id) {
        let taken =
            std::iter::once((true, &other.code)).chain(other.aliases.iter().map(|a| (false, a)));
        for (is_code, word) in taken {
            let word_key = crate::parse::normalise(word);
            // Code against code is the unique code's business (its own error).
            let clash = mine
                .iter()
                .enumerate()
                .any(|(i, m)| *m == word_key && !(i == 0 && is_code));
            if clash {
                return Err(ApiError::conflict(
                    "alias_taken",
                    format!("`{word}` already names product `{}`", other.code),
                ));
            }
        }
    }
    Ok(())
}

/// Adds a product with its SKUs and opening stock.
#[utoipa::path(post, path = "/products", tag = "catalogue", request_body = NewProduct,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_product(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    validate(&input)?;
    check_aliases(&input.code, &input.aliases)?;
    check_alias_clash(&state, None, &input.code, &input.aliases).await?;
    let product = state.store.create_product(&input).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// Lists products with their SKUs and stock.
#[utoipa::path(get, path = "/products", tag = "catalogue",
    responses((status = 200, body = Vec<Product>)))]
async fn list_products(State(state): State<AppState>) -> Result<Json<Vec<Product>>, ApiError> {
    Ok(Json(state.store.list_products().await?))
}

/// Changes a product's name, price, options or aliases.
#[utoipa::path(patch, path = "/products/{id}", tag = "catalogue", request_body = ProductPatch,
    params(("id" = i64, Path, description = "product id")),
    responses((status = 200, body = Product), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_product(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> Result<Json<Product>, ApiError> {
    if let Some(name) = &patch.name {
        check_text("name", name, 200)?;
    }
    if let Some(price) = patch.price {
        check_price(price)?;
    }
    if let Some(aliases) = &patch.aliases {
        let Some(product) = state.store.product(id).await? else {
            return Err(ApiError::not_found(format!("no product {id}")));
        };
        check_aliases(&product.code, aliases)?;
        check_alias_clash(&state, Some(id), &product.code, aliases).await?;
    }
    state
        .store
        .patch_product(id, &patch)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))
}
