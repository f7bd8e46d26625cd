//! The live report, for after a live: comments, buyers, orders, units from held to paid,
//! revenue, top products, the time to the first order and orders per minute.
//!
//! The store sums the rows (`Store::live_figures`); this room names the figures and
//! derives the ratios and the per-minute series. The clock starts at the live's first
//! comment (a live keeps no start time of its own).

use serde::Serialize;
use utoipa::ToSchema;

use crate::ledger::HoldStatus;
use crate::store::{LiveFigures, StoreResult};
use crate::vocab::OrderStatus;

/// The per-minute series covers at most the first day after the first comment.
pub const SERIES_MAX_MINUTES: i64 = 1440;

const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LiveReport {
    pub live_id: i64,
    pub title: String,
    /// Platform time of the live's first comment: the report's clock starts here. Null
    /// when nobody commented.
    pub started_at_ms: Option<i64>,
    /// New comments and messages (edits and removals are not counted again).
    pub comments: i64,
    /// Members who held at least one unit.
    pub buyers: i64,
    pub orders: OrderCounts,
    pub units: Units,
    pub conversion: Conversion,
    /// Per currency, in minor units.
    pub revenue: Vec<Revenue>,
    /// At most 10 products, the most ordered first (then the most held).
    pub top_products: Vec<TopProduct>,
    /// From the first comment to the first order; null without both.
    pub time_to_first_order_ms: Option<i64>,
    /// One entry per minute from the first comment to the last order (at most 1440),
    /// zero where no order was placed; empty without orders.
    pub orders_per_minute: Vec<MinuteOrders>,
}

/// Orders of the live by status; `total` counts them all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct OrderCounts {
    pub total: i64,
    pub pending_payment: i64,
    pub paid: i64,
    pub fulfilled: i64,
    pub cancelled: i64,
    pub expired: i64,
}

/// Units, as the pages say "held"; the API's stock fields stay `reserved`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Units {
    /// Every unit a comment (or a waitlist promotion) held in the live.
    pub held: i64,
    /// Units on the live's orders, whatever became of the order.
    pub ordered: i64,
    /// Units on paid or fulfilled orders.
    pub paid: i64,
    /// Holds that ran out before checkout, and lines of orders left unpaid past their
    /// deadline.
    pub expired: i64,
    /// Holds released before checkout (a buyer's or staff's cancel), and lines of
    /// cancelled orders.
    pub cancelled: i64,
    /// Holds still waiting for their buyer's checkout.
    pub still_held: i64,
}

/// Shares between 0 and 1 (0 when the base is 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Conversion {
    /// `units.ordered / units.held`.
    pub held_to_ordered: f64,
    /// `units.paid / units.ordered`.
    pub ordered_to_paid: f64,
    /// `units.paid / units.held`.
    pub held_to_paid: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Revenue {
    pub currency: String,
    /// Every held unit at its product's price, minor units.
    pub held: i64,
    /// Totals of every order, minor units.
    pub ordered: i64,
    /// Totals of paid and fulfilled orders, minor units.
    pub paid: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TopProduct {
    pub code: String,
    pub name: String,
    pub currency: String,
    pub units_held: i64,
    pub units_ordered: i64,
    pub units_paid: i64,
    /// Paid lines (unit price × qty), minor units.
    pub revenue_paid: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MinuteOrders {
    /// Minutes since `started_at_ms`.
    pub minute: i64,
    /// The minute's start.
    pub at_ms: i64,
    pub orders: i64,
}

/// The report of live `live_id`, or `None` when there is no such live.
pub async fn live_report(
    store: &crate::store::Store,
    live_id: i64,
) -> StoreResult<Option<LiveReport>> {
    let Some(live) = store.live(live_id).await? else {
        return Ok(None);
    };
    let figures = store.live_figures(live_id).await?;
    Ok(Some(build(live.id, live.title, figures)))
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Names the figures and derives the rest.
pub fn build(live_id: i64, title: String, f: LiveFigures) -> LiveReport {
    let mut orders = OrderCounts::default();
    for group in &f.orders {
        orders.total += group.count;
        match group.status {
            OrderStatus::PendingPayment => orders.pending_payment += group.count,
            OrderStatus::Paid => orders.paid += group.count,
            OrderStatus::Fulfilled => orders.fulfilled += group.count,
            OrderStatus::Cancelled => orders.cancelled += group.count,
            OrderStatus::Expired => orders.expired += group.count,
        }
    }

    let mut units = Units {
        held: f.held.iter().map(|h| h.units).sum(),
        ..Units::default()
    };
    for (status, n) in &f.order_units {
        units.ordered += n;
        match status {
            OrderStatus::Paid | OrderStatus::Fulfilled => units.paid += n,
            OrderStatus::Expired => units.expired += n,
            OrderStatus::Cancelled => units.cancelled += n,
            OrderStatus::PendingPayment => {}
        }
    }
    for (status, n) in &f.unordered {
        match status {
            HoldStatus::Expired => units.expired += n,
            HoldStatus::Released => units.cancelled += n,
            HoldStatus::Active => units.still_held += n,
            // Committed outside an order (a reservation API sale): not a live checkout.
            HoldStatus::Committed => {}
        }
    }

    let conversion = Conversion {
        held_to_ordered: ratio(units.ordered, units.held),
        ordered_to_paid: ratio(units.paid, units.ordered),
        held_to_paid: ratio(units.paid, units.held),
    };

    let mut revenue: Vec<Revenue> = f
        .held
        .iter()
        .map(|h| Revenue {
            currency: h.currency.clone(),
            held: h.value,
            ordered: 0,
            paid: 0,
        })
        .collect();
    for group in &f.orders {
        let at = match revenue.iter().position(|r| r.currency == group.currency) {
            Some(at) => at,
            None => {
                revenue.push(Revenue {
                    currency: group.currency.clone(),
                    held: 0,
                    ordered: 0,
                    paid: 0,
                });
                revenue.len() - 1
            }
        };
        revenue[at].ordered += group.total;
        if matches!(group.status, OrderStatus::Paid | OrderStatus::Fulfilled) {
            revenue[at].paid += group.total;
        }
    }
    revenue.sort_by(|a, b| a.currency.cmp(&b.currency));

    let top_products = f
        .top_products
        .into_iter()
        .map(|p| TopProduct {
            code: p.code,
            name: p.name,
            currency: p.currency,
            units_held: p.units_held,
            units_ordered: p.units_ordered,
            units_paid: p.units_paid,
            revenue_paid: p.revenue_paid,
        })
        .collect();

    let time_to_first_order_ms = match (f.first_comment_ms, f.first_order_ms) {
        (Some(start), Some(first)) => Some((first - start).max(0)),
        _ => None,
    };

    LiveReport {
        live_id,
        title,
        started_at_ms: f.first_comment_ms,
        comments: f.comments,
        buyers: f.buyers,
        orders,
        units,
        conversion,
        revenue,
        top_products,
        time_to_first_order_ms,
        orders_per_minute: series(f.first_comment_ms, &f.orders_by_minute),
    }
}

/// Every minute from 0 to the last one with orders (within [`SERIES_MAX_MINUTES`]), zero
/// where there were none.
fn series(start: Option<i64>, by_minute: &[(i64, i64)]) -> Vec<MinuteOrders> {
    let Some(start) = start else {
        return Vec::new();
    };
    let Some(last) = by_minute
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| *m < SERIES_MAX_MINUTES)
        .max()
    else {
        return Vec::new();
    };
    let mut counts = vec![0; last as usize + 1];
    for (minute, n) in by_minute {
        if (0..=last).contains(minute) {
            counts[*minute as usize] += n;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(minute, orders)| MinuteOrders {
            minute: minute as i64,
            at_ms: start + minute as i64 * MINUTE_MS,
            orders,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{HeldValue, OrderGroup};

    #[test]
    fn the_series_fills_quiet_minutes_and_stops_after_a_day() {
        let s = series(Some(1_000), &[(0, 2), (3, 1), (5000, 7)]);
        let counts: Vec<i64> = s.iter().map(|m| m.orders).collect();
        assert_eq!(counts, [2, 0, 0, 1]);
        assert_eq!(s[3].at_ms, 1_000 + 3 * MINUTE_MS);
        assert!(series(None, &[(0, 1)]).is_empty());
        assert!(series(Some(0), &[]).is_empty());
    }

    #[test]
    fn units_follow_the_fate_of_each_hold_and_order() {
        let figures = LiveFigures {
            comments: 9,
            first_comment_ms: Some(10_000),
            buyers: 4,
            held: vec![HeldValue {
                currency: "HKD".into(),
                units: 10,
                value: 100_000,
            }],
            unordered: vec![
                (HoldStatus::Active, 1),
                (HoldStatus::Expired, 2),
                (HoldStatus::Released, 1),
            ],
            orders: vec![
                OrderGroup {
                    status: OrderStatus::Paid,
                    currency: "HKD".into(),
                    count: 2,
                    total: 30_000,
                },
                OrderGroup {
                    status: OrderStatus::Expired,
                    currency: "HKD".into(),
                    count: 1,
                    total: 10_000,
                },
            ],
            order_units: vec![(OrderStatus::Paid, 4), (OrderStatus::Expired, 2)],
            top_products: vec![],
            first_order_ms: Some(70_000),
            orders_by_minute: vec![(1, 3)],
        };
        let r = build(1, "Friday".into(), figures);
        assert_eq!(
            r.units,
            Units {
                held: 10,
                ordered: 6,
                paid: 4,
                expired: 4,
                cancelled: 1,
                still_held: 1
            }
        );
        assert_eq!(r.orders.total, 3);
        assert_eq!(r.conversion.held_to_ordered, 0.6);
        assert_eq!(r.conversion.ordered_to_paid, 4.0 / 6.0);
        assert_eq!(
            r.revenue,
            vec![Revenue {
                currency: "HKD".into(),
                held: 100_000,
                ordered: 40_000,
                paid: 30_000
            }]
        );
        assert_eq!(r.time_to_first_order_ms, Some(60_000));
        assert_eq!(r.orders_per_minute.len(), 2);
    }
}
