//! The producers of messages no comment asked for: waitlist promotions (from the ledger's
//! `waitlist_promoted` events), holds about to run out, and holds the sweeper expired.
//!
//! Each pass looks back over a window and writes notices with dedupe keys, so a pass that
//! sees the same promotion or hold again (or another replica's pass) writes nothing new.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::facts::{FactItem, ReplyFacts};
use super::plan::{enqueue_notice_in, Channel, Notice, CHECKOUT, REMINDER};
use super::OutboxConfig;
use crate::metrics::Metrics;
use crate::store::{CartHold, Store, StoreResult};
use crate::vocab::Topic;

/// How far back a pass looks for promotions and expiries it has not announced. Longer
/// than any pause between passes; the dedupe keys make the overlap harmless.
const LOOKBACK_MS: i64 = 3_600_000;

/// What one pass wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReminderReport {
    pub promoted: usize,
    pub expiring: usize,
    pub expired: usize,
    /// Notices recorded as skipped: no channel to the buyer was open.
    pub skipped: usize,
}

/// Runs a pass every `outbox.reminder_interval_ms` until `shutdown`.
pub async fn run(
    store: Store,
    config: OutboxConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(config.reminder_interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = chrono::Utc::now().timestamp_millis();
        match scan_once(&store, &config, now).await {
            Ok(report) if report != ReminderReport::default() => {
                metrics.replies_skipped(report.skipped as u64);
                tracing::info!(?report, "wrote buyer notices")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?err, "notice pass failed; will retry"),
        }
    }
}

/// The holds a notice is about, as the lines its reply lists.
fn items(holds: &[CartHold]) -> ReplyFacts {
    ReplyFacts {
        items: holds
            .iter()
            .map(|h| FactItem {
                keyword: h.code.clone(),
                variant: h.options.clone(),
                qty: h.qty,
                held: h.qty,
                hold_id: Some(h.hold_id),
                expires_at_ms: Some(h.expires_at_ms),
                ..FactItem::default()
            })
            .collect(),
        ..ReplyFacts::default()
    }
}

/// One pass judging holds at `now`: promotions, holds expiring within
/// `expiring_notice_minutes`, and holds expired in the last hour. The notices are due at
/// once (tests move `now` forward; the dispatcher runs on the wall clock).
pub async fn scan_once(
    store: &Store,
    config: &OutboxConfig,
    now: i64,
) -> StoreResult<ReminderReport> {
    let mut notices = Vec::new();
    let mut report = ReminderReport::default();
    let mut counts = Vec::new();
    for promotion in store.unannounced_promotions(now - LOOKBACK_MS).await? {
        notices.push(Notice {
            topic: Topic::Promoted,
            live_id: promotion.live_id,
            member_id: promotion.member_id,
            facts: items(std::slice::from_ref(&promotion.hold)),
            dedupe_key: format!("promoted:{}", promotion.event_id),
            // It carries the checkout link for units someone else is waiting behind.
            priority: CHECKOUT,
        });
    }
    if config.expiring_notice_minutes > 0 {
        let lead = config.expiring_notice_minutes * 60_000;
        // A hold shorter than twice the lead would be reminded as soon as it is made.
        for group in store.holds_expiring(now, now + lead, 2 * lead).await? {
            let first = group
                .holds
                .iter()
                .map(|h| h.hold_id)
                .min()
                .unwrap_or_default();
            notices.push(Notice {
                topic: Topic::Expiring,
                live_id: group.live_id,
                member_id: group.member_id,
                facts: items(&group.holds),
                dedupe_key: format!("expiring:{}:{}:{first}", group.live_id, group.member_id),
                priority: REMINDER,
            });
        }
    }
    for group in store.holds_expired_since(now - LOOKBACK_MS).await? {
        notices.push(Notice {
            topic: Topic::Expired,
            live_id: group.live_id,
            member_id: group.member_id,
            facts: items(&group.holds),
            dedupe_key: format!(
                "expired:{}:{}:{}",
                group.live_id, group.member_id, group.at_ms
            ),
            priority: REMINDER,
        });
    }
    if notices.is_empty() {
        return Ok(report);
    }
    let due = now.min(chrono::Utc::now().timestamp_millis());
    let mut tx = store.begin_write().await?;
    for notice in &notices {
        let Some(channel) = enqueue_notice_in(&mut tx, notice, now, due).await? else {
            continue;
        };
        counts.push(notice.topic);
        if channel == Channel::None {
            report.skipped += 1;
        }
    }
    for topic in counts {
        match topic {
            Topic::Promoted => report.promoted += 1,
            Topic::Expiring => report.expiring += 1,
            _ => report.expired += 1,
        }
    }
    tx.commit().await?;
    Ok(report)
}
