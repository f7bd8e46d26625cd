//! Personal data: `/api/v1/members/{id}/export` and `/erase` (owner only), and Meta's
//! data-deletion callback `/webhooks/meta/data-deletion` with its status page
//! `/privacy/deletions/{code}`.
//!
//! Nothing here logs a member's data or a platform user id: the answers carry it, the
//! logs carry counts.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::RngExt;
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::ingest::{parse_signed_request, SignedRequestError};
use crate::store::{Erasure, MemberExport};

/// The `/api/v1` part.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_member))
        .routes(routes!(erase_member))
}

/// Meta's callback and the status page it links to (no token: Meta and the user call them).
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/meta/data-deletion", post(meta_data_deletion))
        .route("/privacy/deletions/{code}", get(deletion_status))
}

fn no_member(id: i64) -> ApiError {
    ApiError::not_found(format!("no member {id}"))
}

/// Everything plusone holds about a member, as JSON: profile and identities, members
/// merged into it, orders with lines and contact, holds, comment texts, points history,
/// merges and merge suggestions.
#[utoipa::path(get, path = "/members/{id}/export", tag = "members", params(("id" = i64, Path)),
    responses((status = 200, body = MemberExport), (status = 404, body = ErrorBody)))]
async fn export_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<MemberExport>, ApiError> {
    state
        .store
        .export_member(id)
        .await?
        .map(Json)
        .ok_or_else(|| no_member(id))
}

/// Erases a member's personal data, and that of members merged into it: profile,
/// identities (so the platform user's next comment makes a new member), comment texts
/// and author names, raw payloads, order contacts and addresses, receipts and checkout
/// links. Orders keep their totals and lines, and holds and stock movements stay, for
/// the books. Calling it again changes nothing.
#[utoipa::path(post, path = "/members/{id}/erase", tag = "members", params(("id" = i64, Path)),
    responses((status = 200, body = Erasure), (status = 404, body = ErrorBody)))]
async fn erase_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Erasure>, ApiError> {
    let erased = state
        .store
        .erase_member(id)
        .await?
        .ok_or_else(|| no_member(id))?;
    tracing::info!(
        member_id = id,
        members = erased.members.len(),
        "member's personal data erased"
    );
    Ok(Json(erased))
}

/// What Meta expects back: where the user can see the request's status, and its code.
#[derive(Serialize, ToSchema)]
struct DeletionAnswer {
    url: String,
    confirmation_code: String,
}

/// Meta's data-deletion request callback: a form with `signed_request`, signed with the
/// app secret. Erases the members with that user id before answering.
async fn meta_data_deletion(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<DeletionAnswer>, ApiError> {
    let Some(secret) = state.config.meta.app_secret.as_ref() else {
        return Err(ApiError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_not_configured",
            "set meta.app_secret to receive Meta's data-deletion requests",
        ));
    };
    let signed = form_urlencoded::parse(&body)
        .find(|(key, _)| key == "signed_request")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_signed_request",
                "send a form with `signed_request`",
            )
        })?;
    let request = parse_signed_request(secret.expose_secret().as_bytes(), &signed).map_err(
        |err| match err {
            SignedRequestError::BadSignature => {
                ApiError::client(StatusCode::UNAUTHORIZED, "bad_signature", err.to_string())
            }
            _ => ApiError::bad_request("invalid_signed_request", err.to_string()),
        },
    )?;
    let bytes: [u8; 16] = rand::rng().random();
    let code = hex::encode(bytes);
    let deletion = state.store.erase_meta_user(&request.user_id, &code).await?;
    tracing::info!(
        members = deletion.members,
        "Meta data-deletion request answered"
    );
    Ok(Json(DeletionAnswer {
        url: format!(
            "{}/privacy/deletions/{code}",
            state.config.public_base_url().trim_end_matches('/')
        ),
        confirmation_code: code,
    }))
}

/// The page a confirmation code links to: a human-readable status, in English and
/// Chinese. Codes are 32 hex digits; anything else is not found.
async fn deletion_status(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let valid = code.len() == 32 && code.bytes().all(|b| b.is_ascii_hexdigit());
    let found = if valid {
        state.store.data_deletion(&code).await?
    } else {
        None
    };
    let Some(deletion) = found else {
        return Err(ApiError::not_found(
            "no data-deletion request with this code",
        ));
    };
    let when = chrono::DateTime::from_timestamp_millis(deletion.created_at_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let held = if deletion.members == 0 {
        "We held no data about you. / 我們沒有持有你的資料。"
    } else {
        "Your name, contact details, addresses, comments and platform ids were erased. \
         Order totals and items are kept for the shop's accounts, without your name. / \
         你的姓名、聯絡資料、地址、留言及平台帳號已刪除；訂單金額及貨品為會計紀錄保留，不含你的姓名。"
    };
    // Every value here is ours: a hex code, a status word, a date and fixed text.
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Data deletion {code}</title></head><body>\
         <h1>Data deletion request / 刪除資料要求</h1>\
         <p>Confirmation code / 確認編號: <code>{code}</code></p>\
         <p>Received / 收到: {when}</p>\
         <p>Status / 狀態: <strong>{status}</strong></p><p>{held}</p></body></html>",
        code = deletion.code,
        status = deletion.status,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}
