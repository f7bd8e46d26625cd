//! `POST /api/v1/parse`: the comment parser over HTTP, for the console and tools.

use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, AppState};
use crate::parse::{parse, Catalog, Limits, Parsed, Product};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(parse_comment))
}

#[derive(Deserialize, ToSchema)]
pub struct ParseRequest {
    pub text: String,
    /// The keyword a bare `+1` means.
    pub current: Option<String>,
    #[schema(value_type = Object)]
    pub catalog: CatalogBody,
    /// The largest qty per line before review (default 20).
    pub max_qty: Option<u32>,
}

#[derive(Deserialize)]
pub struct CatalogBody {
    pub products: Vec<Product>,
}

/// Parses one comment against a catalogue, exactly as `plusone parse` does.
#[utoipa::path(post, path = "/parse", tag = "parse", request_body = ParseRequest,
    responses((status = 200, description = "the parse result", body = Object),
              (status = 422, body = ErrorBody)))]
async fn parse_comment(ApiJson(request): ApiJson<ParseRequest>) -> Result<Json<Parsed>, ApiError> {
    if request.text.len() > 10_000 {
        return Err(ApiError::unprocessable(
            "text_too_long",
            "`text` is at most 10000 bytes",
        ));
    }
    let catalog = Catalog::new(request.catalog.products);
    let limits = Limits {
        max_qty: request.max_qty.unwrap_or(Limits::default().max_qty),
    };
    Ok(Json(parse(
        &request.text,
        &catalog,
        request.current.as_deref(),
        &limits,
    )))
}
