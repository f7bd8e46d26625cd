//! Replies to Telegram-origin events through the Bot API, with teloxide's client on our
//! reqwest stack. The bot token is part of every request URL, so neither the URL nor a
//! reqwest error's text is ever logged: network errors are described without them, and
//! the sender has no `Debug` (teloxide's `Bot` prints its token).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use teloxide::payloads::{SendMessageSetters, SetWebhookSetters};
use teloxide::requests::Requester;
use teloxide::types::{
    ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ParseMode, ReplyParameters,
};
use teloxide::{ApiError, Bot, RequestError};

use super::errors::{final_reason, SendError};

#[derive(Clone)]
pub struct TelegramSender {
    bot: Option<Bot>,
    /// `https://t.me/<bot username>`, read once with `getMe`.
    home: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

/// Where one Telegram message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramTarget {
    pub chat_id: String,
    pub reply_to_message_id: Option<i64>,
}

/// An inline URL button under a message (the checkout link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlButton {
    pub label: String,
    pub url: String,
}

/// One inline button: a link, or a callback the bot is told of when pressed (the staff
/// bot's review buttons; `data` is at most 64 bytes, as Telegram requires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    Url(UrlButton),
    Callback { label: String, data: String },
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

    /// The chat id as the Bot API takes it.
    fn chat_id_for_api(&self) -> Result<ChatId, SendError> {
        self.chat_id
            .parse()
            .map(ChatId)
            .map_err(|_| SendError::Unsendable(format!("not a Telegram chat id: {}", self.chat_id)))
    }

    /// Groups and supergroups have negative chat ids; users positive ones.
    pub fn is_group(&self) -> bool {
        self.chat_id.starts_with('-')
    }
}

/// A teloxide `Bot` for `api_base` (the real Bot API, or a fake in tests) on our reqwest
/// client, each call bounded by `timeout`. The sender and the long-poller each make one,
/// the poller with a timeout longer than its poll.
pub fn bot_for(api_base: &str, token: &SecretString, timeout: Duration) -> anyhow::Result<Bot> {
    let url = reqwest::Url::parse(api_base.trim_end_matches('/'))?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout)
        .build()?;
    Ok(Bot::with_client(token.expose_secret(), http).set_api_url(url))
}

impl TelegramSender {
    /// A sender for `telegram.api_base` (the real Bot API, or a fake in tests). Without
    /// a token, every send is unsendable.
    pub fn new(api_base: &str, token: Option<SecretString>, timeout: Duration) -> Self {
        let bot = token.and_then(|token| bot_for(api_base, &token, timeout).ok());
        TelegramSender {
            bot,
            home: Default::default(),
        }
    }

    /// The deep link that starts the bot with `payload`: `https://t.me/<bot>?start=…`.
    /// None while the bot's name cannot be read (no token, or `getMe` failed; asked again
    /// next time).
    pub async fn start_link(&self, payload: &str) -> Option<String> {
        let bot = self.bot.as_ref()?;
        let home = self
            .home
            .get_or_try_init(|| async {
                bot.get_me()
                    .await
                    .map(|me| me.tme_url().to_string().trim_end_matches('/').to_string())
            })
            .await
            .inspect_err(|err| {
                tracing::warn!(error = %describe(err), "could not read the bot's name");
            })
            .ok()?;
        Some(format!("{home}?start={payload}"))
    }

    /// Sends one message, with an inline URL button when given; returns Telegram's
    /// message id.
    pub async fn send(
        &self,
        to: &TelegramTarget,
        text: &str,
        button: Option<&UrlButton>,
    ) -> Result<Option<String>, SendError> {
        let rows: Vec<Vec<Button>> = button
            .map(|b| vec![vec![Button::Url(b.clone())]])
            .unwrap_or_default();
        self.send_with_buttons(to, text, &rows).await
    }

    fn bot(&self) -> Result<&Bot, SendError> {
        self.bot.as_ref().ok_or_else(|| {
            SendError::Unsendable(
                "telegram.bot_token is not set (or telegram.api_base is not a URL)".into(),
            )
        })
    }

    /// Sends one message with rows of inline buttons (none: a plain message); returns
    /// Telegram's message id. A URL button whose URL does not parse is left out.
    pub async fn send_with_buttons(
        &self,
        to: &TelegramTarget,
        text: &str,
        rows: &[Vec<Button>],
    ) -> Result<Option<String>, SendError> {
        let bot = self.bot()?;
        let mut request = bot.send_message(to.chat_id_for_api()?, text);
        if let Some(message) = to.reply_to_message_id.and_then(|m| i32::try_from(m).ok()) {
            // The reply still goes out if the buyer deleted their message meanwhile.
            request = request.reply_parameters(
                ReplyParameters::new(MessageId(message)).allow_sending_without_reply(),
            );
        }
        if let Some(markup) = keyboard(rows) {
            request = request.reply_markup(markup);
        }
        match request.await {
            Ok(message) => Ok(Some(message.id.0.to_string())),
            Err(err) => Err(classify_request_error(&err)),
        }
    }

    /// Answers a pressed callback button (Telegram shows `text` to the presser; as an
    /// alert when `alert`). Every callback gets one, or the button keeps spinning.
    pub async fn answer_callback(
        &self,
        callback_id: &str,
        text: &str,
        alert: bool,
    ) -> Result<(), SendError> {
        use teloxide::payloads::AnswerCallbackQuerySetters;
        let bot = self.bot()?;
        bot.answer_callback_query(teloxide::types::CallbackQueryId(callback_id.to_string()))
            .text(text)
            .show_alert(alert)
            .await
            .map(|_| ())
            .map_err(|err| classify_request_error(&err))
    }

    /// Replaces a message's text, and its buttons with `rows` (none: no buttons left).
    pub async fn edit_text(
        &self,
        chat_id: i64,
        message_id: i32,
        text: &str,
        rows: &[Vec<Button>],
    ) -> Result<(), SendError> {
        use teloxide::payloads::EditMessageTextSetters;
        let bot = self.bot()?;
        let mut request = bot.edit_message_text(ChatId(chat_id), MessageId(message_id), text);
        if let Some(markup) = keyboard(rows) {
            request = request.reply_markup(markup);
        }
        request
            .await
            .map(|_| ())
            .map_err(|err| classify_request_error(&err))
    }
}

/// Rows of buttons as Telegram's inline keyboard; None when there are none.
fn keyboard(rows: &[Vec<Button>]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|button| match button {
                    Button::Url(b) => reqwest::Url::parse(&b.url)
                        .ok()
                        .map(|url| InlineKeyboardButton::url(b.label.clone(), url)),
                    Button::Callback { label, data } => {
                        Some(InlineKeyboardButton::callback(label.clone(), data.clone()))
                    }
                })
                .collect::<Vec<_>>()
        })
        .filter(|row| !row.is_empty())
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

impl TelegramSender {
    /// Points the bot's webhook at `url`, with the secret Telegram will echo in each
    /// delivery. Err: the reason in words (never the request URL, which holds the token).
    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<(), String> {
        let bot = self.bot.as_ref().ok_or("telegram.bot_token is not set")?;
        let url = reqwest::Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
        bot.set_webhook(url)
            .secret_token(secret)
            .await
            .map(|_| ())
            .map_err(|err| describe(&err))
    }

    /// Sends one message written in Telegram's HTML (mentions as `tg://user` links).
    pub async fn send_html(
        &self,
        to: &TelegramTarget,
        html: &str,
    ) -> Result<Option<String>, SendError> {
        self.bot()?
            .send_message(to.chat_id_for_api()?, html)
            .parse_mode(ParseMode::Html)
            .await
            .map(|message| Some(message.id.0.to_string()))
            .map_err(|err| classify_request_error(&err))
    }
}

/// teloxide's errors as ours. teloxide keeps Telegram's description but not its
/// `error_code`, so a server error is known by its description.
pub fn classify_request_error(err: &RequestError) -> SendError {
    match err {
        RequestError::RetryAfter(wait) => SendError::Throttled {
            code: 429,
            message: format!("Too Many Requests: retry after {}", wait.seconds()),
            retry_after: Some(wait.duration()),
        },
        RequestError::Network(err) => SendError::Transient {
            // A refused connection never reached Telegram; anything later may have.
            lost_response: !err.is_connect(),
            reason: network_reason(err),
        },
        // Telegram (or a proxy before it) answered something that is not the Bot API's
        // JSON, such as a 502 page: it may have acted.
        RequestError::InvalidJson { .. } => SendError::Transient {
            reason: "the Bot API answered something that is not its JSON".into(),
            lost_response: true,
        },
        RequestError::Io(err) => SendError::Transient {
            reason: format!("I/O error: {}", err.kind()),
            lost_response: true,
        },
        RequestError::MigrateToChatId(_) => SendError::Final {
            status: 400,
            code: Some(400),
            subcode: None,
            why: "the group became a supergroup with a new id",
            message: "group chat was upgraded to a supergroup chat".into(),
        },
        RequestError::Api(api) => classify_api_error(api),
    }
}

/// A teloxide error in words, without the request URL (it holds the bot token).
pub fn describe(err: &RequestError) -> String {
    match classify_request_error(err) {
        SendError::Throttled { message, .. } => message,
        SendError::Transient { reason, .. } => reason,
        SendError::Final { message, .. } => message,
        other => other.to_string(),
    }
}

fn network_reason(err: &reqwest::Error) -> String {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    match err.status() {
        Some(status) => format!("{what} (HTTP {status})"),
        None => what.to_string(),
    }
}

fn classify_api_error(api: &ApiError) -> SendError {
    let message = api.to_string();
    if let ApiError::Unknown(description) = api {
        let server = [
            "Internal Server Error",
            "Bad Gateway",
            "Service Unavailable",
            "Gateway Timeout",
        ];
        if server.iter().any(|s| description.contains(s)) {
            return SendError::Transient {
                reason: description.clone(),
                lost_response: true,
            };
        }
    }
    // Telegram words every 403 "Forbidden: …"; teloxide knows some of them by name.
    let forbidden = matches!(
        api,
        ApiError::BotBlocked
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
    ) || matches!(api, ApiError::Unknown(d) if d.starts_with("Forbidden:"));
    SendError::Final {
        status: if forbidden { 403 } else { 400 },
        code: Some(if forbidden { 403 } else { 400 }),
        subcode: None,
        why: if forbidden {
            "the user blocked the bot or never started it"
        } else {
            final_reason(None, None)
        },
        message,
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
        use teloxide::types::Seconds;
        let flood = RequestError::RetryAfter(Seconds::from_seconds(7));
        assert!(matches!(
            classify_request_error(&flood),
            SendError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        for blocked in [
            ApiError::BotBlocked,
            ApiError::CantInitiateConversation,
            ApiError::Unknown("Forbidden: bot can't initiate conversation with a user".into()),
        ] {
            assert!(matches!(
                classify_request_error(&RequestError::Api(blocked)),
                SendError::Final { status: 403, .. }
            ));
        }
        let gateway = RequestError::Api(ApiError::Unknown("Bad Gateway".into()));
        assert!(matches!(
            classify_request_error(&gateway),
            SendError::Transient {
                lost_response: true,
                ..
            }
        ));
        let bad = RequestError::Api(ApiError::MessageTextIsEmpty);
        assert!(matches!(
            classify_request_error(&bad),
            SendError::Final { status: 400, .. }
        ));
    }
}
