//! What the pipeline benchmark needs from the database: the baseline's one transaction
//! per comment (the usual design, kept only to compare against; the service never uses
//! it), and the timestamps a run leaves on inbox and outbox rows.

use serde_json::json;
use sqlx::Row;

use super::{now_ms, on_pool, on_tx, NewInboxRow, Store, StoreResult};
use crate::vocab::{OutcomeKind, ReplyKind};

/// What the baseline decided a comment asks for, before its transaction.
pub enum BaselineAsk {
    /// (SKU id, qty) per order line.
    Order(Vec<(i64, i64)>),
    /// No stock involved: a question, chatter, a cancel or a review.
    Other {
        outcome: OutcomeKind,
        reason: Option<String>,
        reply: bool,
    },
}

/// One comment of the baseline, with the live session it belongs to (if any).
pub struct BaselineComment<'a> {
    pub row: &'a NewInboxRow,
    pub live_id: Option<i64>,
    pub hold_ttl_seconds: i64,
    pub ask: BaselineAsk,
}

/// Per timed inbox row: when it arrived, was decided, and its first reply was queued (ms).
pub struct RowTimes {
    pub external_id: String,
    pub received_at_ms: i64,
    pub processed_at_ms: Option<i64>,
    pub reply_queued_ms: Option<i64>,
}

impl Store {
    /// The usual design: one transaction per comment. It stores the comment (deduplicated
    /// on the platform id), takes stock with a conditional UPDATE per line, writes a hold
    /// and a movement per line, records the outcome and queues the replies, then commits.
    /// Returns false for a comment already stored. Authors are not resolved to members,
    /// which makes the baseline cheaper than the pipeline's work, not dearer.
    pub async fn baseline_comment(&self, comment: &BaselineComment<'_>) -> StoreResult<bool> {
        let now = now_ms();
        let row = comment.row;
        let mut tx = self.begin_write().await?;
        let (status, outcome, reason) = match (&row.ignore_reason, comment.live_id) {
            (Some(reason), _) => ("done", Some(OutcomeKind::Ignored), Some(reason.clone())),
            (None, None) => (
                "done",
                Some(OutcomeKind::Ignored),
                Some("unbound".to_string()),
            ),
            (None, Some(_)) => ("pending", None, None),
        };
        let id: Option<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "INSERT INTO inbox (platform, external_id, kind, verb, comment_id, object_id, page_id, \
                 author_id, author_name, text, platform_time_ms, live_id, source, raw, status, outcome, reason, \
                 received_at_ms, processed_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (platform, external_id) DO NOTHING RETURNING id",
            )
            .bind(&row.platform)
            .bind(&row.external_id)
            .bind(&row.kind)
            .bind(&row.verb)
            .bind(&row.comment_id)
            .bind(&row.object_id)
            .bind(&row.page_id)
            .bind(&row.author_id)
            .bind(&row.author_name)
            .bind(&row.text)
            .bind(row.platform_time_ms)
            .bind(comment.live_id)
            .bind(row.source)
            .bind(&row.raw)
            .bind(status)
            .bind(outcome)
            .bind(reason.as_deref())
            .bind(now)
            .bind((status == "done").then_some(now))
            .fetch_optional(&mut *conn)
            .await?
        });
        let (Some(id), Some(live_id)) = (id, comment.live_id) else {
            tx.commit().await?;
            return Ok(id.is_some());
        };
        if status == "done" {
            tx.commit().await?;
            return Ok(true);
        }
        let (outcome, reason, holds, reply) = match &comment.ask {
            BaselineAsk::Other {
                outcome,
                reason,
                reply,
            } => (*outcome, reason.clone(), Vec::new(), *reply),
            BaselineAsk::Order(lines) => {
                let mut holds = Vec::new();
                for &(sku_id, qty) in lines {
                    let taken = on_tx!(&mut tx, |conn| {
                        sqlx::query(
                            "UPDATE stock_levels SET reserved = reserved + $1, updated_at_ms = $2 \
                             WHERE sku_id = $3 AND on_hand - reserved >= $1",
                        )
                        .bind(qty)
                        .bind(now)
                        .bind(sku_id)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected()
                    });
                    if taken != 1 {
                        continue;
                    }
                    let reference = format!("inbox:{id}");
                    let hold: i64 = on_tx!(&mut tx, |conn| {
                        let hold = sqlx::query_scalar(
                            "INSERT INTO holds (sku_id, live_id, qty, status, channel, reference, source, \
                             expires_at_ms, created_at_ms, updated_at_ms) \
                             VALUES ($1, $2, $3, 'active', 'live', $4, 'request', $5, $6, $6) RETURNING id",
                        )
                        .bind(sku_id)
                        .bind(live_id)
                        .bind(qty)
                        .bind(&reference)
                        .bind(now + comment.hold_ttl_seconds * 1000)
                        .bind(now)
                        .fetch_one(&mut *conn)
                        .await?;
                        sqlx::query(
                            "INSERT INTO stock_movements (sku_id, kind, on_hand_delta, reserved_delta, channel, \
                             reference, created_at_ms) VALUES ($1, 'reserve', 0, $2, 'live', $3, $4)",
                        )
                        .bind(sku_id)
                        .bind(qty)
                        .bind(&reference)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                        hold
                    });
                    holds.push(hold);
                }
                if holds.is_empty() {
                    (
                        OutcomeKind::Rejected,
                        Some("insufficient_stock".to_string()),
                        holds,
                        true,
                    )
                } else {
                    (OutcomeKind::Reserved, None, holds, true)
                }
            }
        };
        let hold_ids = serde_json::to_string(&holds).unwrap_or_else(|_| "[]".into());
        let body = json!({"outcome": outcome, "reason": reason, "live_id": live_id,
                          "member_id": null, "page_id": row.page_id, "facts": {"hold_ids": holds}})
        .to_string();
        let mut kinds = Vec::new();
        if reply {
            kinds.push(ReplyKind::PrivateReply);
            if outcome == OutcomeKind::Reserved {
                kinds.push(ReplyKind::PublicReply);
            }
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE inbox SET status = 'done', outcome = $1, reason = $2, hold_ids = $3, \
                 processed_at_ms = $4 WHERE id = $5",
            )
            .bind(outcome)
            .bind(reason.as_deref())
            .bind(&hold_ids)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            for kind in kinds {
                sqlx::query(
                    "INSERT INTO outbox (inbox_id, kind, target, body, dedupe_key, status, attempts, \
                     next_attempt_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
                     ON CONFLICT (dedupe_key) DO NOTHING",
                )
                .bind(id)
                .bind(kind)
                .bind(row.comment_id.as_deref().unwrap_or(""))
                .bind(&body)
                .bind(format!("{id}:{kind}"))
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
        });
        tx.commit().await?;
        Ok(true)
    }

    /// Arrival, decision and first queued reply of every event of a live session.
    pub async fn row_times(&self, live_id: i64) -> StoreResult<Vec<RowTimes>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT i.external_id, i.received_at_ms, i.processed_at_ms, \
                 (SELECT MIN(o.created_at_ms) FROM outbox o WHERE o.inbox_id = i.id) \
                 FROM inbox i WHERE i.live_id = $1",
            )
            .bind(live_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<RowTimes> {
                Ok(RowTimes {
                    external_id: r.try_get(0)?,
                    received_at_ms: r.try_get(1)?,
                    processed_at_ms: r.try_get(2)?,
                    reply_queued_ms: r.try_get(3)?,
                })
            })
            .collect()
        })
    }
}
