//! Order lines through the ledger, for the sequencer and for staff accepting a review.

use serde_json::json;

use super::decide::OrderLine;
use crate::ledger::{Channel, PartialPolicy, Rejection, ReserveRequest};
use crate::store::{mark_choose_variant_in, reserve_batch_in, Live, StoreResult, Tx};

/// One event's orders, as the ledger is asked for them.
pub struct EventOrder<'a> {
    pub event_id: i64,
    pub member: Option<i64>,
    pub lines: &'a [OrderLine],
}

/// What an event's orders came to.
pub struct OrderResult {
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub hold_ids: Vec<i64>,
    /// What the replies announce: per line, held, waiting (and place) or refused.
    pub facts: serde_json::Value,
}

/// Reserves all lines of all events as one ledger batch, in order.
pub async fn reserve_orders_in(
    tx: &mut Tx,
    live: &Live,
    orders: &[EventOrder<'_>],
    now: i64,
) -> StoreResult<Vec<OrderResult>> {
    let mut requests = Vec::new();
    for order in orders {
        for line in order.lines {
            requests.push(ReserveRequest {
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
            });
        }
    }
    let mut outcomes = reserve_batch_in(tx, &requests, now).await?.into_iter();
    let mut results = Vec::with_capacity(orders.len());
    let mut to_choose = Vec::new();
    for order in orders {
        let mut holds = Vec::new();
        let mut items = Vec::new();
        let mut waiting = false;
        let mut rejection: Option<Rejection> = None;
        for line in order.lines {
            let Some(outcome) = outcomes.next() else {
                break;
            };
            if let Some(hold) = &outcome.hold {
                holds.push(hold.id);
                if line.choose_variant {
                    to_choose.push(hold.id);
                }
            }
            waiting |= outcome.waitlist.is_some();
            if rejection.is_none() {
                rejection = outcome.rejection.clone();
            }
            items.push(json!({
                "keyword": line.keyword, "variant": line.variant, "qty": line.qty,
                "held": outcome.hold.as_ref().map_or(0, |h| h.qty),
                "hold_id": outcome.hold.as_ref().map(|h| h.id),
                "expires_at_ms": outcome.hold.as_ref().map(|h| h.expires_at_ms),
                "waitlisted": outcome.waitlist.as_ref().map_or(0, |w| w.qty),
                "position": outcome.waitlist.as_ref().map(|w| w.position),
                "rejection": outcome.rejection,
                "choose_variant": line.choose_variant,
            }));
        }
        let (outcome, reason) = if !holds.is_empty() {
            ("reserved", None)
        } else if waiting {
            ("waitlisted", None)
        } else {
            ("rejected", rejection.as_ref().map(rejection_code))
        };
        results.push(OrderResult {
            outcome,
            reason,
            hold_ids: holds,
            facts: json!({ "items": items }),
        });
    }
    mark_choose_variant_in(tx, &to_choose, now).await?;
    Ok(results)
}

fn rejection_code(rejection: &Rejection) -> String {
    serde_json::to_value(rejection)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_else(|| "rejected".into())
}
