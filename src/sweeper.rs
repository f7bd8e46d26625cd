//! The background sweeper: releases expired holds (serving the waitlist), expires orders
//! unpaid by their deadline (releasing their units) and forgets old idempotency keys.
//! Several replicas may sweep at once; the store's row locks keep them from touching the
//! same hold.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::LedgerConfig;
use crate::store::Store;

/// How often old idempotency keys are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

pub async fn run(store: Store, config: LedgerConfig, shutdown: CancellationToken) {
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
