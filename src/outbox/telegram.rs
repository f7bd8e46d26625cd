//! Replies to Telegram-origin events through the Bot API's `sendMessage`. The bot token is
//! part of the URL path, so neither the URL nor reqwest's errors are ever logged.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::errors::{final_reason, SendError};

#[derive(Clone)]
pub struct TelegramSender {
    http: reqwest::Client,
    base: String,
    token: Option<SecretString>,
}

/// Where one Telegram message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramTarget {
    pub chat_id: String,
    pub reply_to_message_id: Option<i64>,
}

impl TelegramTarget {
    /// A group message's reply target: the inbox keeps Telegram comment ids as
    /// `{chat id}:{message id}`, because message ids repeat across chats.
    pub fn reply_to(comment_id: &str) -> Option<TelegramTarget> {
        let (chat, message) = comment_id.rsplit_once(':')?;
        Some(TelegramTarget {
            chat_id: chat.to_string(),
            reply_to_message_id: message.parse().ok(),
        })
    }

    /// A private chat: a user's id is their chat with the bot.
    pub fn chat(chat_id: &str) -> TelegramTarget {
        TelegramTarget {
            chat_id: chat_id.to_string(),
            reply_to_message_id: None,
        }
    }
}

impl TelegramSender {
    pub fn new(api_base: &str, token: Option<SecretString>, timeout: Duration) -> Self {
        TelegramSender {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .unwrap_or_default(),
            base: api_base.trim_end_matches('/').to_string(),
            token,
        }
    }

    /// Sends one message; returns Telegram's message id.
    pub async fn send(&self, to: &TelegramTarget, text: &str) -> Result<Option<String>, SendError> {
        let token = self
            .token
            .as_ref()
            .ok_or_else(|| SendError::Unsendable("telegram.bot_token is not set".into()))?;
        let mut body = json!({"chat_id": to.chat_id, "text": text});
        if let Some(message) = to.reply_to_message_id {
            body["reply_to_message_id"] = json!(message);
            // The reply still goes out if the buyer deleted their message meanwhile.
            body["allow_sending_without_reply"] = json!(true);
        }
        let response = self
            .http
            .post(format!(
                "{}/bot{}/sendMessage",
                self.base,
                token.expose_secret()
            ))
            .json(&body)
            .send()
            .await
            .map_err(|err| SendError::Transient {
                lost_response: !err.is_connect(),
                reason: err.without_url().to_string(),
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|err| SendError::Transient {
            reason: err.without_url().to_string(),
            lost_response: true,
        })?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if answer["ok"].as_bool() == Some(true) {
            return Ok(answer["result"]["message_id"]
                .as_i64()
                .map(|id| id.to_string()));
        }
        Err(classify_telegram(status, &answer))
    }
}

/// Bot API errors: `{"ok":false,"error_code":N,"description":…,"parameters":{"retry_after":S}}`.
/// 429 waits `retry_after`; 5xx is retried; 400 and 403 (the user blocked the bot, or
/// never started it) are final.
pub fn classify_telegram(status: u16, answer: &Value) -> SendError {
    let code = answer["error_code"].as_i64().unwrap_or(status as i64);
    let message = answer["description"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"));
    match code {
        429 => SendError::Throttled {
            code,
            message,
            retry_after: answer["parameters"]["retry_after"]
                .as_u64()
                .map(Duration::from_secs),
        },
        500.. => SendError::Transient {
            reason: format!("HTTP {code}: {message}"),
            lost_response: true,
        },
        _ => SendError::Final {
            status,
            code: Some(code),
            subcode: None,
            why: if code == 403 {
                "the user blocked the bot or never started it"
            } else {
                final_reason(None, None)
            },
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_replies_quote_the_message_and_dms_go_to_the_user() {
        assert_eq!(
            TelegramTarget::reply_to("-100123:42"),
            Some(TelegramTarget {
                chat_id: "-100123".into(),
                reply_to_message_id: Some(42)
            })
        );
        assert_eq!(TelegramTarget::chat("777").reply_to_message_id, None);
    }

    #[test]
    fn flood_waits_blocks_are_final_and_server_errors_retry() {
        let flood = json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7",
                           "parameters": {"retry_after": 7}});
        assert!(matches!(
            classify_telegram(429, &flood),
            SendError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        let blocked = json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"});
        assert!(matches!(
            classify_telegram(403, &blocked),
            SendError::Final { .. }
        ));
        assert!(matches!(
            classify_telegram(502, &Value::Null),
            SendError::Transient { .. }
        ));
    }
}
