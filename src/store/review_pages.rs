//! What the console's review queue and comment stream read besides the events
//! themselves: the queue's size, a buyer's short history and the holds of one comment.

use sqlx::Row;

use super::{on_pool, Store, StoreResult};

/// One hold as the event page shows it.
#[derive(Debug, Clone)]
pub struct HoldLine {
    pub id: i64,
    pub sku: String,
    pub qty: i64,
    pub status: String,
}

impl Store {
    /// How many comments wait for review and the newest one's id: what the queue page
    /// polls, one indexed statement.
    pub async fn review_waiting(&self) -> StoreResult<(i64, i64)> {
        Ok(on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM inbox WHERE outcome = 'needs_review'",
            )
            .fetch_one(pool)
            .await?;
            (row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?)
        }))
    }

    /// A member's orders and the holds that still count (active or sold), for the
    /// queue's "who is this buyer".
    pub async fn member_history(&self, member_id: i64) -> StoreResult<(i64, i64)> {
        Ok(on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM orders WHERE member_id = $1), \
                 (SELECT COUNT(*) FROM holds WHERE member_id = $1 AND status IN ('active', 'committed'))",
            )
            .bind(member_id)
            .fetch_one(pool)
            .await?;
            (row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?)
        }))
    }

    /// The holds with these ids, with their SKU codes, in id order.
    pub async fn holds_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<HoldLine>> {
        let mut holds = Vec::with_capacity(ids.len());
        for id in ids {
            let found = on_pool!(self, |pool| {
                let row = sqlx::query(
                    "SELECT h.id, s.sku, h.qty, h.status FROM holds h JOIN skus s ON s.id = h.sku_id \
                     WHERE h.id = $1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?;
                match row {
                    Some(r) => Some(HoldLine {
                        id: r.try_get(0)?,
                        sku: r.try_get(1)?,
                        qty: r.try_get(2)?,
                        status: r.try_get(3)?,
                    }),
                    None => None,
                }
            });
            holds.extend(found);
        }
        holds.sort_by_key(|h| h.id);
        Ok(holds)
    }
}
