//! `telegram.mode = "polling"`: one replica long-polls the Bot API's `getUpdates` and
//! stores what it gets in the inbox, for a shop whose machine has no public HTTPS address.
//!
//! - One replica polls: it holds a lease in `telegram_polling`, as a sequencer holds its
//!   live's; the others wait for it to lapse.
//! - The next offset is written in the transaction that stores the updates, so a crash
//!   between the two cannot happen: after a restart Telegram sends again exactly the
//!   updates that were not stored, and stored ones are never asked for again.
//! - Updates go through the same normaliser as webhooks, into the same inbox, deduplicated
//!   on the same ids.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::requests::Requester;
use teloxide::{ApiError, Bot, RequestError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::intake::inbox_rows;
use crate::ingest::{normalise_telegram, Inbound};
use crate::outbox::telegram_staff::StaffBot;
use crate::outbox::telegram_start::handle_start;
use crate::store::Store;

/// How long the polling lease outlives one long poll without renewal. After a crash,
/// another process (or the restarted one) polls again at most this long after the poll
/// timeout.
const LEASE_MARGIN_MS: i64 = 10_000;
/// How long a `getUpdates` call may take beyond its long poll (the network, a slow Bot
/// API). teloxide does not lengthen a call's timeout by the poll's, so the client's
/// timeout must: a shorter one cut every quiet poll into a timeout error. Shorter than
/// the lease's margin, so a call always ends while its lease still holds.
const CALL_MARGIN: Duration = Duration::from_secs(5);
/// Updates asked for per call (Telegram's most).
const BATCH: u8 = 100;

pub struct TelegramPoller {
    store: Store,
    bot: Bot,
    owner: String,
    timeout_secs: u32,
    lease_ms: i64,
    wake: Arc<Notify>,
    /// The staff bot: `/link` and review buttons are acted on before the offset moves.
    staff: Option<StaffBot>,
}

/// The HTTP timeout of a `getUpdates` call that long-polls `poll_secs`.
fn call_timeout(poll_secs: u64) -> Duration {
    Duration::from_secs(poll_secs) + CALL_MARGIN
}

impl TelegramPoller {
    /// A poller against `api_base` (the real Bot API, or a fake in tests).
    pub fn new(
        store: Store,
        api_base: &str,
        token: &SecretString,
        timeout_secs: u64,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        Ok(TelegramPoller {
            store,
            bot: crate::outbox::telegram::bot_for(api_base, token, call_timeout(timeout_secs))?,
            owner: format!("telegram-poll-{:016x}", rand::random::<u64>()),
            timeout_secs: u32::try_from(timeout_secs).unwrap_or(25),
            lease_ms: i64::try_from(timeout_secs).unwrap_or(25) * 1_000 + LEASE_MARGIN_MS,
            wake,
            staff: None,
        })
    }

    /// Acts on the staff bot's updates (`/link`, review buttons) before storing them.
    pub fn with_staff_bot(mut self, staff: StaffBot) -> Self {
        self.staff = Some(staff);
        self
    }

    /// Polls until `shutdown`; the call in flight is abandoned (what it fetched is not
    /// stored, so Telegram sends it again to whoever polls next).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut webhook_removed = false;
        let mut pause = Duration::ZERO;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = match self
                .store
                .take_telegram_poll_lease(&self.owner, self.lease_ms)
                .await
            {
                Ok(true) => Duration::ZERO,
                Ok(false) => Duration::from_secs(2),
                Err(err) => {
                    tracing::warn!(error = %err, "could not take the Telegram polling lease");
                    Duration::from_secs(2)
                }
            };
            if !pause.is_zero() {
                continue;
            }
            // Telegram refuses getUpdates while a webhook is set.
            if !webhook_removed {
                match self.bot.delete_webhook().await {
                    Ok(_) => webhook_removed = true,
                    Err(err) => {
                        tracing::warn!(error = %describe(&err), "could not remove the bot's webhook");
                        pause = Duration::from_secs(5);
                        continue;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                step = self.poll_once() => match step {
                    Ok(()) => {}
                    Err(wait) => pause = wait,
                }
            }
        }
        let _ = self.store.release_telegram_poll_lease(&self.owner).await;
    }

    /// One `getUpdates` call and its storing. Err: how long to wait before the next.
    async fn poll_once(&self) -> Result<(), Duration> {
        let offset = match self.store.telegram_poll_offset().await {
            Ok(offset) => offset,
            Err(err) => {
                tracing::warn!(error = %err, "could not read the Telegram offset");
                return Err(Duration::from_secs(2));
            }
        };
        let updates = self
            .bot
            .get_updates()
            .offset(i32::try_from(offset).unwrap_or(i32::MAX))
            .limit(BATCH)
            .timeout(self.timeout_secs)
            .await
            .map_err(|err| {
                tracing::warn!(error = %describe(&err), "getUpdates failed; polling again shortly");
                match err {
                    RequestError::RetryAfter(wait) => wait.duration(),
                    _ => Duration::from_secs(2),
                }
            })?;
        if updates.is_empty() {
            return Ok(());
        }
        let next = updates
            .iter()
            .map(|u| i64::from(u.id.0) + 1)
            .max()
            .unwrap_or(offset);
        let items: Vec<_> = updates
            .iter()
            .map(|update| {
                let raw = serde_json::to_value(update).unwrap_or(serde_json::Value::Null);
                normalise_telegram(&raw)
            })
            .collect();
        let now = chrono::Utc::now().timestamp_millis();
        // Buyers' /start first: a failure leaves the offset where it was, so the batch
        // comes again (acting again on a /start writes nothing new).
        for item in &items {
            if let Inbound::Event(event) = item {
                if let Err(err) = handle_start(&self.store, event, now).await {
                    tracing::warn!(error = %err, "a /start was not recorded; asking again");
                    return Err(Duration::from_secs(1));
                }
                if let Some(staff) = &self.staff {
                    if let Err(err) = staff.handle(&self.store, event, now).await {
                        tracing::warn!(error = %err, "a staff bot update failed; asking again");
                        return Err(Duration::from_secs(1));
                    }
                }
            }
        }
        let rows = inbox_rows(&items, "polling", now);
        match self
            .store
            .store_telegram_polled(&self.owner, &rows, next, self.lease_ms)
            .await
        {
            Ok(Some(report)) => {
                tracing::debug!(
                    inserted = report.inserted,
                    duplicates = report.duplicates,
                    next,
                    "Telegram updates stored"
                );
                self.wake.notify_one();
                Ok(())
            }
            Ok(None) => {
                tracing::info!("the Telegram polling lease went to another replica");
                Err(Duration::from_secs(5))
            }
            Err(err) => {
                tracing::warn!(error = %err, "Telegram updates not stored; asking again");
                Err(Duration::from_secs(1))
            }
        }
    }
}

/// A teloxide error without its URL, which carries the bot token.
fn describe(err: &RequestError) -> String {
    match err {
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
            "another process polls this bot".into()
        }
        other => crate::outbox::telegram::describe(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_outlasts_its_long_poll_and_ends_while_the_lease_holds() {
        // Every poll timeout the config accepts (1..=50 s), the default 25 among them.
        for poll in 1..=50u64 {
            let call = call_timeout(poll);
            assert!(call > Duration::from_secs(poll), "{poll} s poll cut short");
            let lease = Duration::from_millis(poll * 1_000 + LEASE_MARGIN_MS as u64);
            assert!(call < lease, "{poll} s poll outlives its lease");
        }
    }
}
