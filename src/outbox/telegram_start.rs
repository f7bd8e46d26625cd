//! `/start` in a private chat with the bot: the buyer has started it, so private messages
//! reach them from now on; with a deep-link code (`/start <code>`) posted in their group,
//! they get their checkout link at once.
//!
//! The code sits in a public group, so it is bound to the Telegram user who commented:
//! from anyone else it is refused politely and binds nothing. Runs before the update is
//! acknowledged (webhook) or its offset stored (polling); it is safe to run again for the
//! same update (the messages it writes are keyed by the update's message).

use crate::ingest::{EventKind, InboundEvent, Platform};
use crate::store::{
    insert_planned_in, link_telegram_user_in, record_start_in, start_code_in, telegram_buyer_in,
    use_start_code_in, PlannedReply, Store, StoreResult, Tx,
};
use crate::vocab::{OutboxStatus, ReplyKind, Topic};

use super::facts::ReplyBody;
use super::plan::CHECKOUT;

/// What a `/start` came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Started {
    /// Not a `/start` in a private chat.
    NotStart,
    /// Recorded; the buyer's cart (with its link) is on its way.
    CartSent,
    /// Recorded; nothing is held for them now: a welcome.
    Welcomed,
    /// Another user's code: refused, nothing bound (this user's own start is recorded).
    Refused,
}

/// The payload of `/start` or `/start@bot payload`, if the text is one.
pub fn start_payload(text: &str) -> Option<&str> {
    let rest = text.trim().strip_prefix("/start")?;
    let rest = match rest.strip_prefix('@') {
        Some(mention) => mention
            .split_once(char::is_whitespace)
            .map_or("", |(_, p)| p),
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest,
        None => return None,
    };
    Some(rest.trim())
}

/// Handles one event if it is a `/start` in a private chat.
pub async fn handle_start(store: &Store, event: &InboundEvent, now: i64) -> StoreResult<Started> {
    if event.platform != Platform::Telegram || event.kind != EventKind::Message {
        return Ok(Started::NotStart);
    }
    let (Some(text), Some(user)) = (event.text.as_deref(), event.author_id.as_deref()) else {
        return Ok(Started::NotStart);
    };
    let Some(payload) = start_payload(text) else {
        return Ok(Started::NotStart);
    };
    let key = format!("tg_start:{}", event.external_id);
    // Read before the write lock: whose cart, and whether anything is held in it.
    let buyer = {
        let mut read = store.begin_read().await?;
        let buyer = telegram_buyer_in(&mut read, user).await?;
        read.commit().await?;
        buyer
    };
    let buyer = match buyer {
        Some(b)
            if !store
                .member_cart_lines(b.member_id, b.live_id, now)
                .await?
                .is_empty() =>
        {
            Some(b)
        }
        _ => None,
    };
    let mut tx = store.begin_write().await?;
    record_start_in(&mut tx, user, now).await?;
    if !payload.is_empty() {
        if let Some(code) = start_code_in(&mut tx, payload).await? {
            let theirs = match (&code.user_id, code.member_id) {
                // A group's deep link: only the user who commented.
                (Some(bound), _) => bound == user,
                // A checkout page's: the first Telegram user joins that member, unless
                // they already belong to another one.
                (None, Some(member)) if !code.used => {
                    link_telegram_user_in(&mut tx, user, member, now).await?
                }
                (None, _) => false,
            };
            if !theirs {
                tracing::info!("a /start with a code that is not this user's was refused");
                write(&mut tx, user, Topic::StartRefused, None, &key, now).await?;
                tx.commit().await?;
                return Ok(Started::Refused);
            }
            use_start_code_in(&mut tx, payload, now).await?;
        }
    }
    let started = match buyer {
        Some(buyer) => {
            write(&mut tx, user, Topic::Checkout, Some(buyer), &key, now).await?;
            Started::CartSent
        }
        None => {
            write(&mut tx, user, Topic::Started, None, &key, now).await?;
            Started::Welcomed
        }
    };
    tx.commit().await?;
    Ok(started)
}

/// One message to the user's private chat. A cart message names the buyer's member and
/// live, so the dispatcher reads the cart and issues the checkout link when it sends.
async fn write(
    tx: &mut Tx,
    user: &str,
    topic: Topic,
    buyer: Option<crate::store::TelegramBuyer>,
    key: &str,
    now: i64,
) -> StoreResult<()> {
    let body = ReplyBody {
        topic: Some(topic),
        live_id: buyer.map(|b| b.live_id),
        member_id: buyer.map(|b| b.member_id),
        ..ReplyBody::default()
    };
    let row = PlannedReply {
        inbox_id: buyer.map(|b| b.inbox_id),
        kind: ReplyKind::Telegram,
        target: user.to_string(),
        body: body.to_stored(),
        dedupe_key: key.to_string(),
        priority: CHECKOUT,
        live_id: buyer.map(|b| b.live_id),
        member_id: buyer.map(|b| b.member_id),
        topic: Some(topic),
        status: OutboxStatus::Pending,
        note: None,
    };
    insert_planned_in(tx, &[row], now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_payloads_are_read_as_telegram_sends_them() {
        assert_eq!(start_payload("/start"), Some(""));
        assert_eq!(start_payload("/start abc123"), Some("abc123"));
        assert_eq!(start_payload("  /start   abc123 "), Some("abc123"));
        assert_eq!(start_payload("/start@shop_bot abc"), Some("abc"));
        assert_eq!(start_payload("/start@shop_bot"), Some(""));
        assert_eq!(start_payload("/started"), None);
        assert_eq!(start_payload("A01+1"), None);
        assert_eq!(start_payload("please /start"), None);
    }
}
