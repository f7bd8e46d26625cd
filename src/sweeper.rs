//! The background sweeper: releases expired holds (serving the waitlist), expires orders
//! unpaid by their deadline (releasing their units), forgets old idempotency keys and
//! drops raw webhook payloads past their retention.
//! Several replicas may sweep at once; the store's row locks keep them from touching the
//! same hold.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{LedgerConfig, PrivacyConfig};
use crate::store::Store;

/// How often old idempotency keys are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

pub async fn run(
    store: Store,
    config: LedgerConfig,
    privacy: PrivacyConfig,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(config.sweep_interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge = tokio::time::Instant::now() - PURGE_EVERY;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        sweep_expired(&store, config.sweep_batch).await;
        expire_unpaid_orders(&store, config.sweep_batch).await;
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = tokio::time::Instant::now();
            let before =
                chrono::Utc::now().timestamp_millis() - config.idempotency_ttl_hours * 3_600_000;
            match store.purge_idempotency_keys(before).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "forgot old idempotency keys"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = ?err, "could not purge idempotency keys"),
            }
            let now = chrono::Utc::now().timestamp_millis();
            let before = raw_payload_cutoff(now, privacy.raw_payload_retention_days);
            drop_old_raw_payloads(&store, before, config.sweep_batch, &shutdown).await;
        }
    }
}

/// Expires holds in batches until none are due.
pub async fn sweep_expired(store: &Store, batch: i64) -> usize {
    let mut total = 0;
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        match store.expire_holds(now, batch).await {
            Ok(n) => {
                total += n;
                if (n as i64) < batch {
                    break;
                }
            }
            Err(err) => {
                tracing::warn!(error = ?err, "hold sweep failed; will retry");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(expired = total, "released expired holds");
    }
    total
}

/// Orders still unpaid at their payment deadline: expired, units back on sale.
pub async fn expire_unpaid_orders(store: &Store, batch: i64) -> usize {
    let now = chrono::Utc::now().timestamp_millis();
    match store.expire_unpaid_orders(now, batch).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(expired = n, "orders unpaid by their deadline expired");
            }
            n
        }
        Err(err) => {
            tracing::warn!(error = ?err, "order expiry failed; will retry");
            0
        }
    }
}

/// Raw payloads that arrived before this time are dropped.
pub fn raw_payload_cutoff(now_ms: i64, retention_days: i64) -> i64 {
    now_ms - retention_days * 86_400_000
}

/// Drops raw payloads received before `before_ms`, `batch` rows per transaction so that
/// a first pass over a large inbox never holds the writer long. Returns how many.
pub async fn drop_old_raw_payloads(
    store: &Store,
    before_ms: i64,
    batch: i64,
    shutdown: &CancellationToken,
) -> u64 {
    let mut total = 0;
    while !shutdown.is_cancelled() {
        match store.drop_raw_payloads(before_ms, batch).await {
            Ok(n) => {
                total += n;
                if (n as i64) < batch {
                    break;
                }
                // Let the pipeline's writers in between batches.
                tokio::task::yield_now().await;
            }
            Err(err) => {
                tracing::warn!(error = ?err, "raw payload retention failed; will retry");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(
            dropped = total,
            "dropped raw webhook payloads past their retention"
        );
    }
    total
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cutoff_is_the_retention_before_now() {
        let day = 86_400_000;
        assert_eq!(super::raw_payload_cutoff(100 * day, 90), 10 * day);
        assert_eq!(super::raw_payload_cutoff(100 * day, 1), 99 * day);
    }
}
