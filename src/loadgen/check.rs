//! The end-of-run checks, through the API only: every comment has one outcome, no SKU
//! is oversold, and redeliveries changed nothing.

use crate::pipeline::OUTCOMES;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use super::drive::{redeliver, stock, walk_events, Sale, Sent, Target};
use super::scenario;
use super::storm::Storm;

/// Comments sent again after everything was decided, to see that nothing moves.
const LATE_REDELIVERIES: usize = 500;

#[derive(Debug, Default)]
pub struct Correctness {
    /// Distinct comments the instance acknowledged.
    pub comments: usize,
    /// Events the session lists.
    pub events: usize,
    pub outcomes: BTreeMap<String, usize>,
    /// Acknowledged comments with no event.
    pub missing: usize,
    /// Comments listed more than once.
    pub duplicated: usize,
    /// Events with no outcome, or one that is not in the list.
    pub without_outcome: usize,
    /// Events that are not the run's comments.
    pub strangers: usize,
    /// Hold ids that appear on two events.
    pub shared_holds: usize,
    /// SKUs with more reserved than on hand: (sku, on hand, reserved).
    pub oversold: Vec<(String, i64, i64)>,
    /// The hot SKU's (on hand, reserved, units asked for), when the scenario has one.
    pub hot: Option<(i64, i64, i64)>,
    /// Comments redelivered after they were decided.
    pub late_redelivered: usize,
    pub late_refused: usize,
    /// What the late redeliveries changed: new events, SKUs whose levels moved.
    pub late_new_events: usize,
    pub late_moved_skus: usize,
}

impl Correctness {
    /// What is wrong, one sentence each; empty when the run was correct.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.missing > 0 {
            problems.push(format!(
                "{} acknowledged comments have no event",
                self.missing
            ));
        }
        if self.duplicated > 0 {
            problems.push(format!("{} comments are listed twice", self.duplicated));
        }
        if self.without_outcome > 0 {
            problems.push(format!("{} events have no outcome", self.without_outcome));
        }
        if self.strangers > 0 {
            problems.push(format!(
                "{} events are not the run's comments",
                self.strangers
            ));
        }
        if self.shared_holds > 0 {
            problems.push(format!(
                "{} holds belong to two comments",
                self.shared_holds
            ));
        }
        for (sku, on_hand, reserved) in &self.oversold {
            problems.push(format!("{sku} oversold: {reserved} reserved of {on_hand}"));
        }
        if let Some((on_hand, reserved, asked)) = self.hot {
            if reserved != on_hand.min(asked) {
                problems.push(format!(
                    "the hot SKU holds {reserved} of {on_hand} though {asked} were asked for"
                ));
            }
        }
        if self.late_refused > 0 {
            problems.push(format!(
                "{} redelivery POSTs were refused",
                self.late_refused
            ));
        }
        if self.late_new_events > 0 || self.late_moved_skus > 0 {
            problems.push(format!(
                "redeliveries changed things: {} new events, {} SKUs moved",
                self.late_new_events, self.late_moved_skus
            ));
        }
        problems
    }

    pub fn passed(&self) -> bool {
        self.problems().is_empty()
    }

    /// One line for a report.
    pub fn summary(&self) -> String {
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(o, n)| format!("{o} {n}"))
            .collect();
        let verdict = if self.passed() {
            "PASS".to_string()
        } else {
            format!("FAIL: {}", self.problems().join("; "))
        };
        format!(
            "{verdict}. {} comments, {} events, one outcome each ({}); no SKU oversold{}; \
             {} comments redelivered after their decision changed nothing",
            self.comments,
            self.events,
            outcomes.join(", "),
            match self.hot {
                Some((on_hand, reserved, asked)) => {
                    format!(" (hot SKU: {reserved} held of {on_hand}, {asked} asked for)")
                }
                None => String::new(),
            },
            self.late_redelivered
        )
    }
}

pub async fn check(
    client: &reqwest::Client,
    target: &Target,
    storm: &Storm,
    sale: &Sale,
    sent: &Sent,
) -> anyhow::Result<Correctness> {
    let mut result = Correctness {
        comments: sent.delivered.len(),
        ..Correctness::default()
    };
    let mut seen: HashMap<u32, u32> = HashMap::with_capacity(sent.delivered.len());
    let mut holds: HashSet<i64> = HashSet::new();
    let mut decided: Vec<u32> = Vec::new();
    let last = walk_events(client, target, sale.live_id, 0, |e| {
        result.events += 1;
        let outcome = e.outcome.as_deref().filter(|o| OUTCOMES.contains(o));
        match outcome {
            Some(o) if e.status == "done" => {
                *result.outcomes.entry(o.to_string()).or_default() += 1;
            }
            _ => result.without_outcome += 1,
        }
        for hold in e.hold_ids {
            if !holds.insert(hold) {
                result.shared_holds += 1;
            }
        }
        match storm.index_of(&e.external_id) {
            Some(i) => {
                *seen.entry(i).or_default() += 1;
                if decided.len() < LATE_REDELIVERIES && i % 7 == 0 {
                    decided.push(i);
                }
            }
            None => result.strangers += 1,
        }
    })
    .await?;
    result.duplicated = seen.values().filter(|&&n| n > 1).count();
    result.missing = sent
        .delivered
        .iter()
        .filter(|i| !seen.contains_key(i))
        .count();

    let before = stock(client, target, &sale.skus).await?;
    for (sku, level) in &before {
        if level.reserved > level.on_hand {
            result
                .oversold
                .push((sku.clone(), level.on_hand, level.reserved));
        }
        if sale.hot_sku.as_deref() == Some(sku.as_str()) {
            let asked = sent
                .delivered
                .iter()
                .map(|&i| scenario::hot_units(storm.scenario, storm.seed, u64::from(i)))
                .sum();
            result.hot = Some((level.on_hand, level.reserved, asked));
        }
    }

    // Meta may resend a comment long after it was decided: nothing may move.
    result.late_redelivered = decided.len();
    result.late_refused = redeliver(client, target, storm, sent.base_secs, &decided).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    walk_events(client, target, sale.live_id, last, |_| {
        result.late_new_events += 1
    })
    .await?;
    let after = stock(client, target, &sale.skus).await?;
    result.late_moved_skus = before
        .iter()
        .zip(&after)
        .filter(|((_, a), (_, b))| a.on_hand != b.on_hand || a.reserved != b.reserved)
        .count();
    Ok(result)
}
