//! `/api/v1/products`: the catalogue.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
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

fn validate(product: &NewProduct) -> Result<(), ApiError> {
    check_text("code", &product.code, 32)?;
    check_text("name", &product.name, 200)?;
    if product.price < 0 {
        return Err(invalid("`price` is in minor units and cannot be negative"));
    }
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

/// Adds a product with its SKUs and opening stock.
#[utoipa::path(post, path = "/products", tag = "catalogue", request_body = NewProduct,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_product(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    validate(&input)?;
    let product = state.store.create_product(&input).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// Lists products with their SKUs and stock.
#[utoipa::path(get, path = "/products", tag = "catalogue",
    responses((status = 200, body = Vec<Product>)))]
async fn list_products(State(state): State<AppState>) -> Result<Json<Vec<Product>>, ApiError> {
    Ok(Json(state.store.list_products().await?))
}

/// Changes a product's name, price or options.
#[utoipa::path(patch, path = "/products/{id}", tag = "catalogue", request_body = ProductPatch,
    params(("id" = i64, Path, description = "product id")),
    responses((status = 200, body = Product), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn patch_product(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> Result<Json<Product>, ApiError> {
    if let Some(name) = &patch.name {
        check_text("name", name, 200)?;
    }
    if patch.price.is_some_and(|p| p < 0) {
        return Err(invalid("`price` is in minor units and cannot be negative"));
    }
    state
        .store
        .patch_product(id, &patch)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))
}
