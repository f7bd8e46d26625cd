//! `/webhooks/meta` (the verification handshake and signed deliveries) and
//! `/webhooks/telegram` (updates carrying the bot's secret token).
//!
//! A delivery is answered 200 only after its events are committed to the inbox, since
//! Meta does not resend what it got a 200 for. Unknown shapes are stored, not refused,
//! so that Meta does not retry them for 36 hours.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use secrecy::ExposeSecret;

use super::error::ApiError;
use super::AppState;
use crate::ingest::{
    meta_handshake_reply, normalise_meta, normalise_telegram, verify_meta_signature,
    verify_telegram_secret, Inbound,
};
use crate::pipeline::intake::inbox_rows;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/meta", get(handshake).post(deliver))
        .route("/webhooks/telegram", post(deliver_telegram))
}

async fn handshake(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(expected) = state.config.meta.verify_token.as_ref() else {
        return ApiError::client(
            StatusCode::FORBIDDEN,
            "webhook_not_configured",
            "set meta.verify_token to subscribe this webhook",
        )
        .into_response();
    };
    match meta_handshake_reply(
        expected.expose_secret(),
        query.get("hub.mode").map(String::as_str),
        query.get("hub.verify_token").map(String::as_str),
        query.get("hub.challenge").map(String::as_str),
    ) {
        Some(challenge) => (StatusCode::OK, challenge.to_string()).into_response(),
        None => ApiError::forbidden("the verify token does not match").into_response(),
    }
}

async fn deliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(secret) = state.config.meta.app_secret.as_ref() else {
        return Err(ApiError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_not_configured",
            "set meta.app_secret to receive Meta webhooks",
        ));
    };
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    // Verified on the raw bytes, before any JSON parsing: re-serialised JSON differs.
    verify_meta_signature(secret.expose_secret().as_bytes(), &body, signature).map_err(|err| {
        ApiError::client(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            format!("X-Hub-Signature-256: {err}"),
        )
    })?;
    let items = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => normalise_meta(&value).items,
        Err(_) => vec![Inbound::Unrecognized {
            raw: serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()),
        }],
    };
    store_and_ack(&state, items).await
}

/// Telegram sends one `Update` per request, with the secret given to `setWebhook`.
async fn deliver_telegram(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(secret) = state.config.telegram.webhook_secret.as_ref() else {
        return Err(ApiError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_not_configured",
            "set telegram.webhook_secret to receive Telegram webhooks",
        ));
    };
    let presented = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok());
    if !verify_telegram_secret(secret.expose_secret(), presented) {
        return Err(ApiError::client(
            StatusCode::UNAUTHORIZED,
            "bad_secret",
            "X-Telegram-Bot-Api-Secret-Token is missing or wrong",
        ));
    }
    let item = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(update) => normalise_telegram(&update),
        Err(_) => Inbound::Unrecognized {
            raw: serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()),
        },
    };
    // A buyer's /start is acted on before the update is acknowledged (Telegram sends it
    // again on a 503; acting again writes nothing new).
    if let Inbound::Event(event) = &item {
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(err) =
            crate::outbox::telegram_start::handle_start(&state.store, event, now).await
        {
            tracing::warn!(error = %err, "a /start was not recorded; Telegram will retry");
            return Err(ApiError::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the update could not be stored; retry later",
            ));
        }
        // So are staff's /link and review buttons (acting again changes nothing).
        if let Err(err) = state.staff_bot.handle(&state.store, event, now).await {
            tracing::warn!(error = %err, "a staff bot update failed; Telegram will retry");
            return Err(ApiError::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the update could not be stored; retry later",
            ));
        }
    }
    store_and_ack(&state, vec![item]).await
}

/// Answers 200 only once the items are committed; 503 makes the platform retry.
async fn store_and_ack(state: &AppState, items: Vec<Inbound>) -> Result<Response, ApiError> {
    let rows = inbox_rows(&items, "webhook", chrono::Utc::now().timestamp_millis());
    match state.inbox.write(rows).await {
        Ok(report) => {
            state
                .metrics
                .inbox_written(report.inserted as u64, report.duplicates as u64);
            Ok((StatusCode::OK, "EVENT_RECEIVED").into_response())
        }
        Err(err) => {
            tracing::warn!(error = ?err, "webhook not stored; Meta will retry");
            Err(ApiError::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "events could not be stored; retry later",
            ))
        }
    }
}
