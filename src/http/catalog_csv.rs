//! `/api/v1/products/import` and `/api/v1/products.csv`: the catalogue as a CSV file.
//! The columns and the rules are `crate::catalogue_import`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::Query;
use super::AppState;
use crate::catalogue_import::{self, ImportError, Outcome, RowErrorView, MAX_ROWS};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_products))
        .routes(routes!(export_products))
}

#[derive(Deserialize, IntoParams)]
struct ImportQuery {
    /// `true` checks every row and answers what would change, writing nothing; `false`
    /// writes every row in one transaction when none has an error.
    dry_run: bool,
}

/// What an import did (or, in a dry run, would do): one count per product row.
#[derive(Serialize, ToSchema)]
struct ImportReport {
    /// Rows whose SKU is new.
    created: usize,
    /// Rows that change their product, their SKU's options or its `on_hand`.
    updated: usize,
    unchanged: usize,
    /// Each problem by row (the header is row 1, as Excel shows it) and column. Empty on
    /// a 200.
    errors: Vec<RowErrorView>,
    dry_run: bool,
}

/// A refused import: the report with its errors, and the API's error object beside it.
#[derive(Serialize, ToSchema)]
struct ImportRefused {
    created: usize,
    updated: usize,
    unchanged: usize,
    errors: Vec<RowErrorView>,
    dry_run: bool,
    /// `invalid_rows`.
    #[schema(value_type = Object)]
    error: serde_json::Value,
}

fn is_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"))
}

fn answer(outcome: Outcome, dry_run: bool) -> Response {
    let errors: Vec<RowErrorView> = outcome.errors.iter().map(RowErrorView::from).collect();
    if errors.is_empty() {
        return Json(ImportReport {
            created: outcome.created,
            updated: outcome.updated,
            unchanged: outcome.unchanged,
            errors,
            dry_run,
        })
        .into_response();
    }
    let message = format!(
        "{} problem(s) in the file; nothing was written",
        errors.len()
    );
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(ImportRefused {
            created: outcome.created,
            updated: outcome.updated,
            unchanged: outcome.unchanged,
            errors,
            dry_run,
            error: serde_json::json!({"code": "invalid_rows", "message": message}),
        }),
    )
        .into_response()
}

/// Imports products, SKUs and stock from CSV: `code,name,option1,option2,option3,sku,price,currency,aliases,on_hand`,
/// one row per SKU. `price` is in integer minor units (HK$125.00 is `12500`); `aliases`
/// are separated by `|`; `on_hand` sets the SKU's level through a ledger adjustment by
/// the difference (reason `import`), and an empty `on_hand` leaves stock alone. Plain
/// UTF-8 and Excel's UTF-8 with BOM, LF or CRLF. Rows are numbered as Excel shows them
/// (the header is row 1). Any error: 422 and nothing written. Importing the same file
/// again changes nothing.
#[utoipa::path(post, path = "/products/import", tag = "catalogue", params(ImportQuery),
    request_body(content = String, content_type = "text/csv",
        description = "The CSV file, at most `http.body_limit_bytes` and 5,000 product rows."),
    responses((status = 200, body = ImportReport, description = "checked (dry run) or written"),
              (status = 409, body = ErrorBody, description = "held units grew past a row's `on_hand` while importing (`stock_changed`); nothing was written"),
              (status = 413, body = ErrorBody, description = "too large (`body_too_large`) or more than 5,000 product rows (`too_many_rows`)"),
              (status = 415, body = ErrorBody, description = "the body is not sent as `text/csv` (`unsupported_media_type`)"),
              (status = 422, body = ImportRefused, description = "rows with errors (`invalid_rows`); nothing was written")))]
async fn import_products(
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !is_csv(&headers) {
        return Err(ApiError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as `Content-Type: text/csv`",
        ));
    }
    match catalogue_import::import(&state.store, &body, !query.dry_run).await {
        Ok(outcome) => Ok(answer(outcome, query.dry_run)),
        Err(ImportError::TooManyRows) => Err(ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_rows",
            format!("a file may have at most {MAX_ROWS} product rows; split it"),
        )),
        Err(ImportError::StockChanged { sku, held }) => Err(ApiError::conflict(
            "stock_changed",
            format!("{held} units of `{sku}` are held now, more than the file's on_hand; nothing was written"),
        )
        .with_detail("sku", sku)
        .with_detail("held", held)),
        Err(ImportError::Store(err)) => Err(err.into()),
    }
}

/// The catalogue as CSV for Excel (UTF-8 with BOM), in the import's columns: importing
/// it back changes nothing. The sandbox's demo products are left out.
#[utoipa::path(get, path = "/products.csv", tag = "catalogue",
    responses((status = 200, content_type = "text/csv", body = String)))]
async fn export_products(State(state): State<AppState>) -> Result<Response, ApiError> {
    let products = state.store.list_products().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"products.csv\"",
            ),
        ],
        catalogue_import::export(&products),
    )
        .into_response())
}
