//! The pure rules of stock: what a batch of reservation requests gets, given the levels.
//!
//! No IO lives here. The store loads the state a batch needs, calls [`allocate`], and
//! writes the plan back in one transaction with one conditional UPDATE per SKU.
//!
//! **Partial fills.** A request for 3 units with 2 available:
//! - from a live comment (`PartialPolicy::FillThenWaitlist`): 2 are held now and the 1
//!   left over joins the SKU's waitlist when the live allows it (else it is rejected);
//! - from the POS or web shop API (`PartialPolicy::AllOrNothing`): nothing is held and the
//!   answer is `insufficient_stock` with the available qty, so the caller decides.
//!
//! **Fairness.** Requests are decided in batch order, so the first comment wins. Every
//! stock increase (release, expiry, positive adjustment) promotes the waitlist in the same
//! transaction, so units never sit available while someone waits: a new request cannot
//! jump the queue.

mod types;

pub use types::*;

use std::collections::HashMap;

/// What the store knows before deciding a batch.
#[derive(Debug, Default, Clone)]
pub struct BatchState {
    pub levels: HashMap<SkuId, Level>,
    /// Members whose orders are refused, with the reason shown to staff.
    pub blocked: HashMap<MemberId, String>,
    /// Units a member already holds, has bought or waits for, per SKU and live session.
    pub taken: HashMap<(MemberId, SkuId, Option<LiveId>), i64>,
}

/// The decisions for a batch, in request order, and the net change to `reserved` per SKU.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    pub reserved_delta: HashMap<SkuId, i64>,
}

/// Decides each request in order against the running levels.
pub fn allocate(state: &BatchState, requests: &[ReserveRequest]) -> Plan {
    let mut levels = state.levels.clone();
    let mut taken = state.taken.clone();
    let mut plan = Plan::default();
    for request in requests {
        let decision = decide(request, &mut levels, &mut taken, state);
        if decision.held > 0 {
            *plan.reserved_delta.entry(request.sku_id).or_default() += decision.held;
        }
        plan.decisions.push(decision);
    }
    plan
}

fn decide(
    request: &ReserveRequest,
    levels: &mut HashMap<SkuId, Level>,
    taken: &mut HashMap<(MemberId, SkuId, Option<LiveId>), i64>,
    state: &BatchState,
) -> Decision {
    if request.qty <= 0 {
        return Decision::rejected(Rejection::BadQty);
    }
    let Some(level) = levels.get_mut(&request.sku_id) else {
        return Decision::rejected(Rejection::UnknownSku);
    };
    if let Some(member) = request.member_id {
        if let Some(reason) = state.blocked.get(&member) {
            return Decision::rejected(Rejection::MemberBlocked {
                reason: reason.clone(),
            });
        }
        if let Some(limit) = request.limit_per_member {
            let key = (member, request.sku_id, request.live_id);
            let already = taken.get(&key).copied().unwrap_or(0);
            if already + request.qty > limit {
                return Decision::rejected(Rejection::LimitExceeded { limit, already });
            }
            *taken.entry(key).or_default() += request.qty;
        }
    }
    let available = level.available();
    let held = match request.partial {
        PartialPolicy::AllOrNothing if available < request.qty => 0,
        PartialPolicy::AllOrNothing => request.qty,
        PartialPolicy::FillThenWaitlist => available.min(request.qty),
    };
    let short = request.qty - held;
    level.reserved += held;
    let waitlisted = if short > 0
        && request.partial == PartialPolicy::FillThenWaitlist
        && request.waitlist
        && request.member_id.is_some()
    {
        short
    } else {
        0
    };
    let rejected = short - waitlisted;
    if rejected > 0 && held == 0 && waitlisted == 0 {
        // Nothing was given: give the units back to the member's limit too.
        if let (Some(member), Some(_)) = (request.member_id, request.limit_per_member) {
            if let Some(count) = taken.get_mut(&(member, request.sku_id, request.live_id)) {
                *count -= request.qty;
            }
        }
        return Decision::rejected(Rejection::InsufficientStock { available });
    }
    Decision {
        held,
        waitlisted,
        unfilled: rejected,
        rejection: None,
    }
}

/// One waiting entry, as the store hands it to [`promote`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: i64,
    pub qty: i64,
}

/// A promotion: `qty` units of waitlist entry `waitlist_id` become a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub waitlist_id: i64,
    pub qty: i64,
    /// True when the entry is fully served and leaves the line.
    pub completes: bool,
}

/// Serves the line in FIFO order with `available` units. The head of the line gets what
/// there is, even partly, and keeps its place for the rest: nobody behind it goes first.
pub fn promote(available: i64, line: &[Waiting]) -> Vec<Promotion> {
    let mut left = available;
    let mut promotions = Vec::new();
    for entry in line {
        if left <= 0 {
            break;
        }
        let qty = entry.qty.min(left);
        left -= qty;
        promotions.push(Promotion {
            waitlist_id: entry.id,
            qty,
            completes: qty == entry.qty,
        });
    }
    promotions
}

#[cfg(test)]
mod tests;
