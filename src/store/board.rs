//! The live board's numbers: stock per lineup keyword, the live's totals, comments per
//! minute and a ticker of the latest orders and questions.
//!
//! One board costs [`BOARD_QUERIES`] statements whatever the size of the live, so the
//! hub that fans it out (`crate::board`) can count its database work.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::lives::LiveState;
use super::{on_pool, Store, StoreResult};

/// Statements one [`Store::board`] runs.
pub const BOARD_QUERIES: u64 = 5;

/// How many ticker items a board carries.
pub const TICKER_LEN: i64 = 10;

const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Board {
    pub live_id: i64,
    pub title: String,
    pub state: LiveState,
    /// The keyword on screen.
    pub current: Option<String>,
    pub sandbox: bool,
    /// One per lineup keyword, in lineup order.
    pub keywords: Vec<BoardKeyword>,
    pub totals: BoardTotals,
    /// Comments per minute over the last minutes, oldest first, one entry per minute
    /// (zero where nobody wrote).
    pub per_minute: Vec<MinuteCount>,
    /// The latest orders and questions, newest first.
    pub ticker: Vec<TickerItem>,
}

/// A lineup keyword's stock, summed over the product's SKUs. The levels are the shop's
/// one ledger, so they equal `GET /api/v1/stock/{sku}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BoardKeyword {
    pub keyword: String,
    pub code: String,
    pub name: String,
    /// Minor units.
    pub price: i64,
    pub currency: String,
    pub on_hand: i64,
    /// Units held (live comments, POS and web shop alike).
    pub reserved: i64,
    pub available: i64,
    /// Units waiting in the SKUs' waitlists.
    pub waitlisted: i64,
    /// Nothing left to hold.
    pub sold_out: bool,
    pub skus: Vec<BoardSku>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BoardSku {
    pub sku: String,
    pub options: Vec<String>,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub waitlisted: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct BoardTotals {
    /// Comments and messages received for this live (edits and removals not counted).
    pub comments: i64,
    /// Comments that reserved units.
    pub orders: i64,
    /// Members holding or having bought units in this live.
    pub buyers: i64,
    /// Units this live holds now.
    pub reserved_units: i64,
    /// What the units held are worth, minor units (an order's price once ordered).
    pub revenue_held: i64,
    /// Paid and fulfilled orders of this live, minor units.
    pub revenue_paid: i64,
    /// The lineup's currency (its first product's).
    pub currency: Option<String>,
    /// Unpaid orders of this live with a receipt waiting for staff to check it.
    pub receipts_waiting: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MinuteCount {
    /// Start of the minute, Unix milliseconds.
    pub minute: i64,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TickerItem {
    pub event_id: i64,
    /// `order` or `question`.
    pub kind: String,
    /// reserved, waitlisted or question_answered.
    pub outcome: String,
    pub author_name: Option<String>,
    pub text: Option<String>,
    /// Platform time.
    pub at_ms: i64,
}

type SkuRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    i64,
);
type TotalsRow = (i64, i64, i64, i64, i64, i64, i64);
type TickerRow = (i64, String, Option<String>, Option<String>, i64);

impl Store {
    /// The board of live `live_id` at `now_ms`, with `minutes` minutes of comment counts;
    /// `None` when there is no such live. Runs [`BOARD_QUERIES`] statements.
    pub async fn board(
        &self,
        live_id: i64,
        now_ms: i64,
        minutes: i64,
    ) -> StoreResult<Option<Board>> {
        let minutes = minutes.max(1);
        let this_minute = now_ms.div_euclid(MINUTE_MS);
        let first_minute = this_minute - minutes + 1;
        let (live, skus, totals, counts, ticker) = on_pool!(self, |pool| {
            let live: Option<(String, String, Option<String>, bool)> = sqlx::query_as(&format!(
                "SELECT title, {}, current_keyword, sandbox FROM live_sessions WHERE id = $1",
                super::lives::STATE_COLUMN
            ))
            .bind(live_id)
            .fetch_optional(pool)
            .await?;
            let skus: Vec<SkuRow> = sqlx::query_as(
                "SELECT ll.keyword, p.code, p.name, p.price, p.currency, s.sku, s.options, \
                 l.on_hand, l.reserved, \
                 CAST(COALESCE((SELECT SUM(w.qty) FROM waitlist w \
                                WHERE w.sku_id = s.id AND w.status = 'waiting'), 0) AS BIGINT) \
                 FROM live_lineup ll JOIN products p ON p.code = ll.product_code \
                 JOIN skus s ON s.product_id = p.id JOIN stock_levels l ON l.sku_id = s.id \
                 WHERE ll.live_id = $1 ORDER BY ll.position, s.id",
            )
            .bind(live_id)
            .fetch_all(pool)
            .await?;
            let totals: TotalsRow = sqlx::query_as(
                "SELECT \
                 (SELECT COUNT(*) FROM inbox WHERE live_id = $1 AND verb = 'add' \
                  AND kind IN ('comment', 'message')), \
                 (SELECT COUNT(*) FROM inbox WHERE live_id = $1 AND outcome = 'reserved'), \
                 (SELECT COUNT(DISTINCT member_id) FROM holds WHERE live_id = $1 \
                  AND status IN ('active', 'committed')), \
                 (SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM holds \
                  WHERE live_id = $1 AND status = 'active'), \
                 (SELECT CAST(COALESCE(SUM(h.qty * COALESCE(ol.unit_price, p.price)), 0) AS BIGINT) \
                  FROM holds h JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id \
                  LEFT JOIN order_lines ol ON ol.hold_id = h.id \
                  WHERE h.live_id = $1 AND h.status = 'active'), \
                 (SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM orders \
                  WHERE live_id = $1 AND status IN ('paid', 'fulfilled')), \
                 (SELECT COUNT(*) FROM orders o WHERE o.live_id = $1 AND o.status = 'pending_payment' \
                  AND EXISTS (SELECT 1 FROM payment_receipts r WHERE r.order_id = o.id))",
            )
            .bind(live_id)
            .fetch_one(pool)
            .await?;
            let counts: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT platform_time_ms / 60000, COUNT(*) FROM inbox \
                 WHERE live_id = $1 AND verb = 'add' AND kind IN ('comment', 'message') \
                 AND platform_time_ms >= $2 GROUP BY platform_time_ms / 60000",
            )
            .bind(live_id)
            .bind(first_minute * MINUTE_MS)
            .fetch_all(pool)
            .await?;
            let ticker: Vec<TickerRow> = sqlx::query_as(
                "SELECT id, outcome, author_name, text, platform_time_ms FROM inbox \
                 WHERE live_id = $1 AND outcome IN ('reserved', 'waitlisted', 'question_answered') \
                 ORDER BY id DESC LIMIT $2",
            )
            .bind(live_id)
            .bind(TICKER_LEN)
            .fetch_all(pool)
            .await?;
            (live, skus, totals, counts, ticker)
        });
        let Some((title, state, current, sandbox)) = live else {
            return Ok(None);
        };
        let keywords = fold_keywords(skus);
        let (
            comments,
            orders,
            buyers,
            reserved_units,
            revenue_held,
            revenue_paid,
            receipts_waiting,
        ) = totals;
        let counts: HashMap<i64, i64> = counts.into_iter().collect();
        Ok(Some(Board {
            live_id,
            title,
            state: LiveState::from_db(&state),
            current,
            sandbox,
            totals: BoardTotals {
                comments,
                orders,
                buyers,
                reserved_units,
                revenue_held,
                revenue_paid,
                currency: keywords.first().map(|k| k.currency.clone()),
                receipts_waiting,
            },
            keywords,
            per_minute: (first_minute..=this_minute)
                .map(|m| MinuteCount {
                    minute: m * MINUTE_MS,
                    count: counts.get(&m).copied().unwrap_or(0),
                })
                .collect(),
            ticker: ticker
                .into_iter()
                .map(|(event_id, outcome, author_name, text, at_ms)| TickerItem {
                    event_id,
                    kind: if outcome == "question_answered" {
                        "question"
                    } else {
                        "order"
                    }
                    .to_string(),
                    outcome,
                    author_name,
                    text,
                    at_ms,
                })
                .collect(),
        }))
    }
}

impl Store {
    /// When the sequencer last decided one of the live's events (Unix ms, the batch's
    /// time), if it ever did.
    pub async fn last_decided_at(&self, live_id: i64) -> StoreResult<Option<i64>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(processed_at_ms) FROM inbox WHERE live_id = $1",
            )
            .bind(live_id)
            .fetch_one(pool)
            .await?
        }))
    }
}

/// SKU rows (ordered by lineup position) folded into one entry per keyword.
fn fold_keywords(rows: Vec<SkuRow>) -> Vec<BoardKeyword> {
    let mut keywords: Vec<BoardKeyword> = Vec::new();
    for (keyword, code, name, price, currency, sku, options, on_hand, reserved, waitlisted) in rows
    {
        if keywords.last().map(|k| &k.keyword) != Some(&keyword) {
            keywords.push(BoardKeyword {
                keyword,
                code,
                name,
                price,
                currency,
                on_hand: 0,
                reserved: 0,
                available: 0,
                waitlisted: 0,
                sold_out: true,
                skus: Vec::new(),
            });
        }
        let entry = keywords.last_mut().expect("pushed above");
        let available = on_hand - reserved;
        entry.on_hand += on_hand;
        entry.reserved += reserved;
        entry.available += available;
        entry.waitlisted += waitlisted;
        entry.sold_out = entry.available <= 0;
        entry.skus.push(BoardSku {
            sku,
            options: serde_json::from_str(&options).unwrap_or_default(),
            on_hand,
            reserved,
            available,
            waitlisted,
        });
    }
    keywords
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(keyword: &str, sku: &str, on_hand: i64, reserved: i64, waiting: i64) -> SkuRow {
        (
            keyword.into(),
            format!("P-{keyword}"),
            "name".into(),
            100,
            "HKD".into(),
            sku.into(),
            r#"["黑"]"#.into(),
            on_hand,
            reserved,
            waiting,
        )
    }

    #[test]
    fn skus_fold_into_their_keyword_and_sold_out_means_nothing_available() {
        let keywords = fold_keywords(vec![
            row("A01", "A01-1", 3, 3, 2),
            row("A01", "A01-2", 2, 2, 0),
            row("B01", "B01-1", 5, 1, 0),
        ]);
        assert_eq!(keywords.len(), 2);
        let a = &keywords[0];
        assert_eq!(
            (a.on_hand, a.reserved, a.available, a.waitlisted),
            (5, 5, 0, 2)
        );
        assert!(a.sold_out);
        assert_eq!(a.skus.len(), 2);
        assert_eq!(a.skus[0].options, vec!["黑".to_string()]);
        let b = &keywords[1];
        assert_eq!((b.available, b.sold_out), (4, false));
    }
}
