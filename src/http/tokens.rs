//! `/api/v1/me` and `/api/v1/tokens`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::extract::Path;
use super::json::ApiJson;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::auth::{generate_token, Caller};
use crate::store::{TokenRecord, TokenRole};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: TokenRole,
}

/// Who the presented token belongs to.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(Extension(caller): Extension<Caller>) -> Json<Me> {
    Json(Me {
        name: caller.name,
        role: caller.role,
    })
}

/// Lists API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", tag = "auth",
    responses((status = 200, body = Vec<TokenRecord>), (status = 401, body = ErrorBody)))]
async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(state.store.list_tokens().await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateToken {
    pub name: String,
    #[serde(default = "default_role")]
    pub role: TokenRole,
    /// The token stops working this many days from now (1 to 3650); absent or null: it
    /// works until revoked.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

fn default_role() -> TokenRole {
    TokenRole::Staff
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub record: TokenRecord,
    /// Shown once; only its hash is kept.
    pub token: String,
}

/// Makes a new API token (`role` defaults to `staff`; `expires_in_days` is optional; an
/// expired token gets 401). Owners only.
#[utoipa::path(post, path = "/tokens", tag = "auth", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            "`name` must be 1 to 100 characters",
        ));
    }
    let expires_at_ms = match input.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(chrono::Utc::now().timestamp_millis() + days * 86_400_000),
        Some(_) => {
            return Err(ApiError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_expiry",
                "`expires_in_days` must be 1 to 3650",
            ))
        }
    };
    let token = generate_token();
    let record = state
        .store
        .insert_token_expiring(name, input.role, &token.hash, expires_at_ms)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            record,
            token: token.secret.expose_secret().to_string(),
        }),
    ))
}

/// Revokes a token: it stops working at once. Owners only.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let now = chrono::Utc::now().timestamp_millis();
    if state.store.revoke_token(id, now).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no active token {id}")))
    }
}
