//! Online payment through a hosted checkout: plusone opens a session by API, sends the
//! buyer to the provider's page, and learns of the payment by a signed webhook.
//!
//! The wire format (HTTP + JSON, HMAC-SHA256 signatures over `"{t}.{body}"` with a
//! timestamp against replays) is the shape hosted checkouts commonly use; an adapter for a
//! particular provider implements [`PaymentProvider`].

use std::time::Duration;

use futures_util::future::BoxFuture;
use hmac::Mac;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::config::{PaymentsConfig, ProviderKind};
use crate::ingest::signature::{mac_for, same_secret};

/// Webhooks signed longer ago than this are refused (replays).
const SIGNATURE_TOLERANCE_SECS: i64 = 300;
pub const SIGNATURE_HEADER: &str = "plusone-provider-signature";

/// What the provider is asked to collect.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRequest {
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    /// The order number.
    pub reference: String,
    pub success_url: String,
    pub cancel_url: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    /// Where to send the buyer.
    pub url: String,
}

/// A verified webhook.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProviderEvent {
    /// `session.completed` (paid) or anything else, which plusone ignores.
    #[serde(rename = "type")]
    pub kind: String,
    pub session: SessionState,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SessionState {
    pub id: String,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the payment provider refused: {0}")]
    Refused(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("signature header missing or malformed")]
    Malformed,
    #[error("signature does not match")]
    BadSignature,
    #[error("signature too old")]
    Stale,
    #[error("body is not a payment event: {0}")]
    BadBody(String),
}

pub trait PaymentProvider: Send + Sync {
    fn create_session<'a>(
        &'a self,
        request: &'a SessionRequest,
    ) -> BoxFuture<'a, Result<Session, ProviderError>>;

    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<ProviderEvent, WebhookError>;
}

/// The provider named by `[payments]`, if any.
pub fn from_config(
    config: &PaymentsConfig,
    timeout: Duration,
) -> Option<std::sync::Arc<dyn PaymentProvider>> {
    match config.provider {
        ProviderKind::None => None,
        ProviderKind::Hosted => Some(std::sync::Arc::new(HostedProvider {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .unwrap_or_default(),
            api_base: config.api_base.trim_end_matches('/').to_string(),
            api_key: config.api_key.clone()?,
            webhook_secret: config.webhook_secret.clone()?,
        })),
    }
}

pub struct HostedProvider {
    client: reqwest::Client,
    api_base: String,
    api_key: SecretString,
    webhook_secret: SecretString,
}

impl PaymentProvider for HostedProvider {
    fn create_session<'a>(
        &'a self,
        request: &'a SessionRequest,
    ) -> BoxFuture<'a, Result<Session, ProviderError>> {
        Box::pin(async move {
            let response = self
                .client
                .post(format!("{}/v1/checkout/sessions", self.api_base))
                .bearer_auth(self.api_key.expose_secret())
                .header("Idempotency-Key", &request.reference)
                .json(request)
                .send()
                .await
                .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(ProviderError::Refused(format!(
                    "{status}: {}",
                    body.chars().take(200).collect::<String>()
                )));
            }
            response
                .json::<Session>()
                .await
                .map_err(|e| ProviderError::Refused(e.without_url().to_string()))
        })
    }

    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<ProviderEvent, WebhookError> {
        verify_signature(
            self.webhook_secret.expose_secret().as_bytes(),
            signature,
            body,
            now_secs,
        )?;
        serde_json::from_slice(body).map_err(|e| WebhookError::BadBody(e.to_string()))
    }
}

/// The header value for `body` signed at `t` (also what tests' fake provider sends).
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = mac_for(secret);
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn verify_signature(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::Malformed)?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(WebhookError::Malformed);
    };
    let expected = sign(secret, t, body);
    let expected_v1 = expected.rsplit_once("v1=").map_or("", |(_, v)| v);
    if !same_secret(expected_v1.as_bytes(), v1.as_bytes()) {
        return Err(WebhookError::BadSignature);
    }
    if now_secs.abs_diff(t) > SIGNATURE_TOLERANCE_SECS.unsigned_abs() {
        return Err(WebhookError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse_tampering_and_replays() {
        let body =
            br#"{"type":"session.completed","session":{"id":"s1","amount":100,"currency":"HKD"}}"#;
        let header = sign(b"secret", 1_000, body);
        assert_eq!(
            verify_signature(b"secret", Some(&header), body, 1_010),
            Ok(())
        );
        assert_eq!(
            verify_signature(b"other", Some(&header), body, 1_010),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(b"secret", Some(&header), b"{}", 1_010),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(b"secret", Some(&header), body, 1_000 + 301),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            verify_signature(b"secret", Some("v1=abc"), body, 1_000),
            Err(WebhookError::Malformed)
        );
        assert_eq!(
            verify_signature(b"secret", None, body, 1_000),
            Err(WebhookError::Malformed)
        );
    }
}
