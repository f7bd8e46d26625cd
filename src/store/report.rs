//! The live report's raw figures: what a live's comments, holds and orders add up to,
//! summed by the database. The report room (`crate::report`) derives the rest.

use sqlx::Row;

use super::{on_pool, Store, StoreResult};
use crate::ledger::HoldStatus;
use crate::vocab::OrderStatus;

/// How many products the report ranks.
pub const TOP_PRODUCTS: i64 = 10;

/// What one live's rows add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveFigures {
    /// New comments and messages of the live (`verb = add`; edits and removals are not
    /// comments of their own).
    pub comments: i64,
    /// The platform time of the first of them: where the report's clock starts.
    pub first_comment_ms: Option<i64>,
    /// Members who held at least one unit in the live.
    pub buyers: i64,
    /// Every hold of the live, by the product's currency.
    pub held: Vec<HeldValue>,
    /// Units of holds that never became an order line, by hold status.
    pub unordered: Vec<(HoldStatus, i64)>,
    /// Orders by status and currency.
    pub orders: Vec<OrderGroup>,
    /// Order line units by order status.
    pub order_units: Vec<(OrderStatus, i64)>,
    /// The products most held, with what became of them.
    pub top_products: Vec<ProductFigures>,
    pub first_order_ms: Option<i64>,
    /// Orders per minute since `first_comment_ms` (minute index, orders), only minutes
    /// with orders; an order before the first comment counts in minute 0.
    pub orders_by_minute: Vec<(i64, i64)>,
}

/// Units held in one currency and what they are worth at the products' prices.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldValue {
    pub currency: String,
    pub units: i64,
    /// Minor units.
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderGroup {
    pub status: OrderStatus,
    pub currency: String,
    pub count: i64,
    /// Sum of the orders' totals, minor units.
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductFigures {
    pub code: String,
    pub name: String,
    pub currency: String,
    pub units_held: i64,
    pub units_ordered: i64,
    pub units_paid: i64,
    /// Paid order lines (unit price × qty), minor units.
    pub revenue_paid: i64,
}

impl Store {
    /// The raw figures of live `live_id` (which the caller has found). Eight statements,
    /// whatever the size of the live; sums are cast so both backends answer BIGINT.
    pub async fn live_figures(&self, live_id: i64) -> StoreResult<LiveFigures> {
        let mut figures = LiveFigures::default();
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT COUNT(*), MIN(platform_time_ms) FROM inbox WHERE live_id = $1 AND verb = 'add'",
            )
            .bind(live_id)
            .fetch_one(pool)
            .await?;
            figures.comments = row.try_get(0)?;
            figures.first_comment_ms = row.try_get(1)?;

            figures.buyers = sqlx::query_scalar(
                "SELECT COUNT(DISTINCT member_id) FROM holds WHERE live_id = $1 AND member_id IS NOT NULL",
            )
            .bind(live_id)
            .fetch_one(pool)
            .await?;

            for r in sqlx::query(
                "SELECT p.currency, CAST(SUM(h.qty) AS BIGINT), CAST(SUM(h.qty * p.price) AS BIGINT) \
                 FROM holds h JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id \
                 WHERE h.live_id = $1 GROUP BY p.currency ORDER BY p.currency",
            )
            .bind(live_id)
            .fetch_all(pool)
            .await?
            {
                figures.held.push(HeldValue {
                    currency: r.try_get(0)?,
                    units: r.try_get(1)?,
                    value: r.try_get(2)?,
                });
            }

            for r in sqlx::query(
                "SELECT h.status, CAST(SUM(h.qty) AS BIGINT) FROM holds h WHERE h.live_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.hold_id = h.id) \
                 GROUP BY h.status ORDER BY h.status",
            )
            .bind(live_id)
            .fetch_all(pool)
            .await?
            {
                let status: String = r.try_get(0)?;
                if let Some(status) = HoldStatus::parse(&status) {
                    figures.unordered.push((status, r.try_get(1)?));
                }
            }

            for r in sqlx::query(
                "SELECT status, currency, COUNT(*), CAST(SUM(total) AS BIGINT) FROM orders \
                 WHERE live_id = $1 GROUP BY status, currency ORDER BY status, currency",
            )
            .bind(live_id)
            .fetch_all(pool)
            .await?
            {
                figures.orders.push(OrderGroup {
                    status: r.try_get(0)?,
                    currency: r.try_get(1)?,
                    count: r.try_get(2)?,
                    total: r.try_get(3)?,
                });
            }

            for r in sqlx::query(
                "SELECT o.status, CAST(SUM(l.qty) AS BIGINT) FROM order_lines l \
                 JOIN orders o ON o.id = l.order_id WHERE o.live_id = $1 \
                 GROUP BY o.status ORDER BY o.status",
            )
            .bind(live_id)
            .fetch_all(pool)
            .await?
            {
                figures.order_units.push((r.try_get(0)?, r.try_get(1)?));
            }

            for r in sqlx::query(
                "SELECT p.code, p.name, p.currency, CAST(SUM(h.qty) AS BIGINT), \
                 CAST(SUM(CASE WHEN o.id IS NULL THEN 0 ELSE l.qty END) AS BIGINT), \
                 CAST(SUM(CASE WHEN o.status IN ('paid', 'fulfilled') THEN l.qty ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN o.status IN ('paid', 'fulfilled') THEN l.qty * l.unit_price ELSE 0 END) AS BIGINT) \
                 FROM holds h JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id \
                 LEFT JOIN order_lines l ON l.hold_id = h.id LEFT JOIN orders o ON o.id = l.order_id \
                 WHERE h.live_id = $1 GROUP BY p.id, p.code, p.name, p.currency \
                 ORDER BY 5 DESC, 4 DESC, p.code LIMIT $2",
            )
            .bind(live_id)
            .bind(TOP_PRODUCTS)
            .fetch_all(pool)
            .await?
            {
                figures.top_products.push(ProductFigures {
                    code: r.try_get(0)?,
                    name: r.try_get(1)?,
                    currency: r.try_get(2)?,
                    units_held: r.try_get(3)?,
                    units_ordered: r.try_get(4)?,
                    units_paid: r.try_get(5)?,
                    revenue_paid: r.try_get(6)?,
                });
            }

            figures.first_order_ms =
                sqlx::query_scalar("SELECT MIN(created_at_ms) FROM orders WHERE live_id = $1")
                    .bind(live_id)
                    .fetch_one(pool)
                    .await?;

            if let Some(start) = figures.first_comment_ms {
                for r in sqlx::query(
                    "SELECT CASE WHEN created_at_ms < $2 THEN 0 ELSE (created_at_ms - $2) / 60000 END AS minute, \
                     COUNT(*) FROM orders WHERE live_id = $1 GROUP BY 1 ORDER BY 1",
                )
                .bind(live_id)
                .bind(start)
                .fetch_all(pool)
                .await?
                {
                    figures.orders_by_minute.push((r.try_get(0)?, r.try_get(1)?));
                }
            }
        });
        Ok(figures)
    }
}
