//! Order lines through the ledger, for the sequencer and for staff accepting a review.

use super::decide::OrderLine;
use super::OutcomeKind;
use crate::ledger::{Channel, Intent, Outcome, PartialPolicy, Rejection, ReserveRequest};
use crate::outbox::{FactItem, ReplyFacts};
use crate::store::{run_ledger_in, Live, StoreResult, Tx};

/// One event's orders, as the ledger is asked for them.
pub struct EventOrder<'a> {
    pub event_id: i64,
    pub member: Option<i64>,
    pub lines: &'a [OrderLine],
}

/// What an event's orders came to.
pub struct OrderResult {
    pub outcome: OutcomeKind,
    pub reason: Option<String>,
    pub hold_ids: Vec<i64>,
    /// What the replies announce: per line, held, waiting (and place) or refused.
    pub facts: ReplyFacts,
}

/// The ledger intents for one event's order lines, in line order.
pub fn order_intents(live: &Live, order: &EventOrder<'_>) -> Vec<Intent> {
    order
        .lines
        .iter()
        .map(|line| Intent::Reserve {
            request: ReserveRequest {
                sku_id: line.sku_id,
                qty: line.qty,
                member_id: order.member,
                live_id: Some(live.id),
                channel: Channel::Live,
                reference: format!("inbox:{}", order.event_id),
                ttl_seconds: live.hold_ttl_seconds,
                partial: PartialPolicy::FillThenWaitlist,
                waitlist: live.waitlist,
                limit_per_member: live.limit_per_member,
            },
            choose_variant: line.choose_variant,
        })
        .collect()
}

/// What an event's order came to, from the outcomes of its [`order_intents`].
pub fn order_result(lines: &[OrderLine], outcomes: &[Outcome]) -> OrderResult {
    let mut holds = Vec::new();
    let mut items = Vec::new();
    let mut waiting = false;
    let mut rejection: Option<Rejection> = None;
    for (line, outcome) in lines.iter().zip(outcomes) {
        let Outcome::Reserved(r) = outcome else {
            continue;
        };
        holds.extend(r.hold_id);
        waiting |= r.wait_id.is_some();
        if rejection.is_none() {
            rejection = r.decision.rejection.clone();
        }
        items.push(FactItem {
            keyword: line.keyword.clone(),
            variant: line.variant.clone(),
            qty: line.qty,
            held: r.decision.held,
            hold_id: r.hold_id,
            expires_at_ms: r.expires_at_ms,
            waitlisted: r.decision.waitlisted,
            position: r.position,
            rejection: r.decision.rejection.clone(),
            choose_variant: line.choose_variant,
        });
    }
    let (outcome, reason) = if !holds.is_empty() {
        (OutcomeKind::Reserved, None)
    } else if waiting {
        (OutcomeKind::Waitlisted, None)
    } else {
        (
            OutcomeKind::Rejected,
            rejection.as_ref().map(rejection_code),
        )
    };
    OrderResult {
        outcome,
        reason,
        hold_ids: holds,
        facts: ReplyFacts {
            items,
            ..ReplyFacts::default()
        },
    }
}

/// Reserves all lines of all events as one ledger batch, in order.
pub async fn reserve_orders_in(
    tx: &mut Tx,
    live: &Live,
    orders: &[EventOrder<'_>],
    now: i64,
) -> StoreResult<Vec<OrderResult>> {
    let intents: Vec<Intent> = orders.iter().flat_map(|o| order_intents(live, o)).collect();
    let outcomes = run_ledger_in(tx, &intents, now).await?;
    let mut at = 0;
    Ok(orders
        .iter()
        .map(|order| {
            let n = order.lines.len();
            let result = order_result(order.lines, &outcomes[at..at + n]);
            at += n;
            result
        })
        .collect())
}

fn rejection_code(rejection: &Rejection) -> String {
    serde_json::to_value(rejection)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_else(|| "rejected".into())
}
