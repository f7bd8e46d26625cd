//! Meta's budgets shared by every replica (Postgres). Each (Page, kind) has the same quota
//! as [`super::limits::quota`], kept as one GCRA row in the database instead of in this
//! process's memory, so N replicas together spend one Page's budget, not N.
//!
//! A call locks the row, decides here, and writes the new arrival time; replicas spending
//! at the same moment take turns. A refusal is remembered in memory until the budget has
//! room, so a storm of waiting rows does not read the row once per row.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::{Store, StoreResult};
use crate::vocab::ReplyKind;

use super::limits::quota;

/// What the GCRA says about one call at `now_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The call may go; the budget's arrival time becomes this.
    Spend { next_tat_us: i64 },
    /// No room for this long (µs).
    Wait { us: i64 },
}

/// The generic cell rate algorithm: one call every `period_us`, and up to `burst` at once.
pub fn decide(tat_us: Option<i64>, now_us: i64, period_us: i64, burst: i64) -> Decision {
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let tolerance = period_us * (burst - 1).max(0);
    if tat - now_us > tolerance {
        Decision::Wait {
            us: tat - now_us - tolerance,
        }
    } else {
        Decision::Spend {
            next_tat_us: tat + period_us,
        }
    }
}

/// A kind's quota as (period µs, burst).
fn cell(kind: ReplyKind) -> (i64, i64) {
    let quota = quota(kind);
    (
        quota.replenish_interval().as_micros() as i64,
        i64::from(quota.burst_size().get()),
    )
}

pub struct SharedBudgets {
    store: Store,
    /// (Page, kind) → refused until (µs): no need to ask the database before then.
    refused_until: Mutex<HashMap<(String, ReplyKind), i64>>,
}

impl SharedBudgets {
    pub fn new(store: Store) -> SharedBudgets {
        SharedBudgets {
            store,
            refused_until: Mutex::new(HashMap::new()),
        }
    }

    /// Spends one call of the Page's budget, or says how long until one is free.
    pub async fn check(
        &self,
        page: &str,
        kind: ReplyKind,
        now_us: i64,
    ) -> StoreResult<Result<(), Duration>> {
        let key = (page.to_string(), kind);
        let wait = |us: i64| Duration::from_micros(us.max(1) as u64);
        if let Some(until) = self.refused(&key) {
            if until > now_us {
                return Ok(Err(wait(until - now_us)));
            }
        }
        let (period, burst) = cell(kind);
        let decision = self
            .store
            .spend_page_budget(page, kind, |seen| {
                let decision = decide(seen, now_us, period, burst);
                match decision {
                    Decision::Spend { next_tat_us } => (Some(next_tat_us), decision),
                    Decision::Wait { .. } => (None, decision),
                }
            })
            .await?;
        match decision {
            Decision::Spend { .. } => Ok(Ok(())),
            Decision::Wait { us } => {
                self.refused_until
                    .lock()
                    .expect("budget map is not poisoned")
                    .insert(key, now_us + us);
                Ok(Err(wait(us)))
            }
        }
    }

    fn refused(&self, key: &(String, ReplyKind)) -> Option<i64> {
        self.refused_until
            .lock()
            .expect("budget map is not poisoned")
            .get(key)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls that pass in `window_us`, trying every `step_us`.
    fn passed_in(kind: ReplyKind, window_us: i64, step_us: i64) -> usize {
        let (period, burst) = cell(kind);
        let mut tat = None;
        let mut passed = 0;
        let mut now = 1_000_000_000;
        let end = now + window_us;
        while now < end {
            while let Decision::Spend { next_tat_us } = decide(tat, now, period, burst) {
                tat = Some(next_tat_us);
                passed += 1;
            }
            now += step_us;
        }
        passed
    }

    #[test]
    fn the_shared_cell_keeps_the_same_figures_as_the_local_limiter() {
        let private = passed_in(ReplyKind::PrivateReply, 3_600_000_000, 500_000);
        assert!((740..=750).contains(&private), "{private}");
        let send_api = passed_in(ReplyKind::SendApi, 1_000_000, 1_000);
        assert!((290..=300).contains(&send_api), "{send_api}");
        let public = passed_in(ReplyKind::PublicReply, 60_000_000, 100_000);
        assert!((38..=40).contains(&public), "{public}");
    }

    #[test]
    fn a_burst_then_a_wait_of_one_period() {
        let (period, burst) = (1_000, 3);
        let mut tat = None;
        for _ in 0..burst {
            match decide(tat, 0, period, burst) {
                Decision::Spend { next_tat_us } => tat = Some(next_tat_us),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(decide(tat, 0, period, burst), Decision::Wait { us: 1_000 });
        assert!(matches!(
            decide(tat, 1_000, period, burst),
            Decision::Spend { .. }
        ));
        // An idle budget does not save up more than its burst.
        assert_eq!(
            decide(Some(0), 1_000_000, period, burst),
            Decision::Spend {
                next_tat_us: 1_001_000
            }
        );
    }
}
