//! The dispatcher's side of the outbox: claiming due rows under a lease and recording what
//! the platform answered.
//!
//! A claim moves rows to `sending` with `lease_until_ms`; every later write names that
//! lease, so a replica whose lease ran out (and whose row another replica took over)
//! cannot overwrite the newer attempt's result. The rows themselves are written by the
//! sequencer, beside the outcome they announce (`insert_outbox_in`).

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{on_pool, on_tx, Store, StoreResult};
use crate::vocab::{OutboxStatus, ReplyKind, Topic};

/// A row claimed for sending.
#[derive(Debug, Clone)]
pub struct ClaimedReply {
    pub id: i64,
    pub inbox_id: Option<i64>,
    pub kind: ReplyKind,
    /// The comment id (replies) or the PSID (Send API).
    pub target: String,
    /// JSON: outcome, reason, live_id, member_id, page_id, facts.
    pub body: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// Earlier attempts whose answer never came back; they may have been delivered.
    pub lost_responses: i64,
    /// The lease this claim holds; results are recorded only under it.
    pub lease_until_ms: i64,
    /// The platform of the event the reply answers (facebook, instagram, messenger…).
    pub platform: Option<String>,
    /// The author of that event (a Telegram user's id is their private chat's id).
    pub author_id: Option<String>,
    /// 0 checkout links, 1 confirmations, 2 reminders.
    pub priority: i64,
    pub live_id: Option<i64>,
    pub member_id: Option<i64>,
    /// The name the author goes by on the platform (a Telegram mention shows it).
    pub author_name: Option<String>,
}

/// One outbox row as it stands, for staff and tests.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyRecord {
    pub id: i64,
    pub inbox_id: Option<i64>,
    pub kind: ReplyKind,
    pub target: String,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub lost_responses: i64,
    pub next_attempt_ms: i64,
    pub platform_message_id: Option<String>,
    pub last_error: Option<String>,
    pub sent_at_ms: Option<i64>,
    pub priority: i64,
    pub topic: Option<Topic>,
}

/// When a failing reply stops being retried: after this many attempts, or once it has
/// been retried this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryLimits {
    pub max_attempts: i64,
    pub window_ms: i64,
}

/// One reply as staff see it in the re-drive list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyView {
    pub id: i64,
    /// The comment or message it answers.
    pub inbox_id: Option<i64>,
    pub live_id: Option<i64>,
    pub member_id: Option<i64>,
    pub kind: ReplyKind,
    /// The comment id (replies), the PSID (Send API) or the chat (Telegram).
    pub target: String,
    pub status: OutboxStatus,
    pub topic: Option<Topic>,
    /// Attempts since it was made or last re-driven.
    pub attempts: i64,
    /// Attempts whose answer never came back (they may have been delivered).
    pub lost_responses: i64,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    pub platform_message_id: Option<String>,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    /// Retries count their window from here (creation, or the last re-drive).
    pub retry_from_ms: i64,
}

/// Which replies a list shows: newest first, with `id` below `before` (0: from the newest).
#[derive(Debug, Clone, Default)]
pub struct ReplyFilter {
    pub status: Option<OutboxStatus>,
    pub live_id: Option<i64>,
    pub member_id: Option<i64>,
    pub before: i64,
    pub limit: i64,
}

/// What a re-drive did.
#[derive(Debug, Clone)]
pub enum Redrive {
    /// Pending again and due now, with a fresh attempt count and retry window.
    Queued(ReplyView),
    /// Sent, skipped or being sent right now: nothing to re-drive.
    NotRetryable(OutboxStatus),
    NotFound,
}

/// How much is waiting to go out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Pending rows that are due now.
    pub due: i64,
    /// When the oldest due row became due.
    pub oldest_due_ms: Option<i64>,
    /// Rows claimed by some dispatcher right now.
    pub sending: i64,
}

/// Rows due now, or claimed by a replica whose lease ran out. Each claim counts as an
/// attempt; a claim over a run-out lease also counts a lost response.
macro_rules! claim_sql {
    (due: $due:expr, update: $update:literal) => {
        concat!(
            $update,
            " SET status = 'sending', lease_until_ms = $2, attempts = attempts + 1, ",
            "lost_responses = lost_responses + CASE WHEN status = 'sending' THEN 1 ELSE 0 END, ",
            "updated_at_ms = $1 ",
            $due,
            " RETURNING id, inbox_id, kind, target, body, attempts, lost_responses, ",
            "lease_until_ms, (SELECT i.platform FROM inbox i WHERE i.id = outbox.inbox_id), ",
            "(SELECT i.author_id FROM inbox i WHERE i.id = outbox.inbox_id), priority, live_id, ",
            "member_id, (SELECT i.author_name FROM inbox i WHERE i.id = outbox.inbox_id)"
        )
    };
}

/// News of a buyer's orders (paid, changed, fulfilled) goes out in the order it was
/// written: such a row waits while an earlier one of the same buyer is still pending or
/// being sent, so a retried "your total is now X" never lands after a newer total.
macro_rules! order_news_waits {
    () => {
        "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE o.topic IN ('paid', 'order_changed', \
         'fulfilled') AND e.member_id = o.member_id AND e.topic IN ('paid', 'order_changed', \
         'fulfilled') AND e.id < o.id AND e.status IN ('pending', 'sending'))"
    };
}

// SKIP LOCKED: replicas claiming at once take disjoint rows instead of queueing.
const CLAIM_POSTGRES: &str = claim_sql!(
    due: concat!(
        "FROM (SELECT id AS due_id FROM outbox o WHERE ((status = 'pending' AND \
         next_attempt_ms <= $1) OR (status = 'sending' AND lease_until_ms <= $1)) ",
        order_news_waits!(),
        " ORDER BY priority, next_attempt_ms, id LIMIT $3 FOR UPDATE SKIP LOCKED) AS due \
         WHERE outbox.id = due.due_id"
    ),
    update: "UPDATE outbox"
);

const CLAIM_SQLITE: &str = claim_sql!(
    due: concat!(
        "WHERE id IN (SELECT id FROM outbox o WHERE ((status = 'pending' AND \
         next_attempt_ms <= $1) OR (status = 'sending' AND lease_until_ms <= $1)) ",
        order_news_waits!(),
        " ORDER BY priority, next_attempt_ms, id LIMIT $3)"
    ),
    update: "UPDATE outbox"
);

const REPLY_VIEW: &str =
    "id, inbox_id, live_id, member_id, kind, target, status, topic, attempts, \
     lost_responses, next_attempt_ms, last_error, platform_message_id, created_at_ms, sent_at_ms, \
     COALESCE(retry_from_ms, created_at_ms)";

/// A [`ReplyView`] from a row selected with [`REPLY_VIEW`], on either backend.
macro_rules! reply_view {
    ($r:expr) => {{
        let r = $r;
        (|| -> StoreResult<ReplyView> {
            Ok(ReplyView {
                id: r.try_get(0)?,
                inbox_id: r.try_get(1)?,
                live_id: r.try_get(2)?,
                member_id: r.try_get(3)?,
                kind: r.try_get(4)?,
                target: r.try_get(5)?,
                status: r.try_get(6)?,
                topic: r.try_get(7)?,
                attempts: r.try_get(8)?,
                lost_responses: r.try_get(9)?,
                next_attempt_ms: r.try_get(10)?,
                last_error: r.try_get(11)?,
                platform_message_id: r.try_get(12)?,
                created_at_ms: r.try_get(13)?,
                sent_at_ms: r.try_get(14)?,
                retry_from_ms: r.try_get(15)?,
            })
        })()
    }};
}

impl Store {
    /// Claims up to `limit` rows that are due, or whose lease ran out, until `now + lease_ms`.
    /// Each claim counts as an attempt, so a row that crashes its sender every time still
    /// reaches the dead letters. A claim over a run-out lease also counts a lost response:
    /// the replica that held it may have sent before it died.
    pub async fn claim_outbox(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedReply>> {
        let lease = now + lease_ms;
        let sql = if self.kind() == super::BackendKind::Postgres {
            CLAIM_POSTGRES
        } else {
            CLAIM_SQLITE
        };
        // On SQLite the write lock is taken up front (BEGIN IMMEDIATE): one claimer at a time.
        let mut tx = self.begin_write().await?;
        let mut unknown_kinds = Vec::new();
        let mut claimed = on_tx!(&mut tx, |conn| {
            let rows = sqlx::query(sql)
                .bind(now)
                .bind(lease)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for r in &rows {
                let id: i64 = r.try_get(0)?;
                let kind: String = r.try_get(2)?;
                let Some(kind) = ReplyKind::parse(&kind) else {
                    unknown_kinds.push((id, kind));
                    continue;
                };
                claimed.push(ClaimedReply {
                    id,
                    inbox_id: r.try_get(1)?,
                    kind,
                    target: r.try_get(3)?,
                    body: r.try_get(4)?,
                    attempts: r.try_get(5)?,
                    lost_responses: r.try_get(6)?,
                    lease_until_ms: r.try_get(7)?,
                    platform: r.try_get(8)?,
                    author_id: r.try_get(9)?,
                    priority: r.try_get(10)?,
                    live_id: r.try_get(11)?,
                    member_id: r.try_get(12)?,
                    author_name: r.try_get(13)?,
                });
            }
            // A kind no sender knows can never go out: it ends as a final failure, as a
            // platform's final refusal would, instead of being claimed again and again.
            for (id, kind) in &unknown_kinds {
                sqlx::query(
                    "UPDATE outbox SET status = 'failed', last_error = $1, lease_until_ms = 0 \
                     WHERE id = $2",
                )
                .bind(format!("unknown reply kind `{kind}`"))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            claimed
        });
        tx.commit().await?;
        // RETURNING gives no order; send checkout links first, then in the order written.
        claimed.sort_by_key(|c| (c.priority, c.id));
        Ok(claimed)
    }

    /// Records a delivery. False when the lease was lost to another replica.
    pub async fn outbox_sent(
        &self,
        claim: &ClaimedReply,
        platform_message_id: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'sent', platform_message_id = $1, sent_at_ms = $2, \
                 updated_at_ms = $2, lease_until_ms = 0 \
                 WHERE id = $3 AND status = 'sending' AND lease_until_ms = $4",
            )
            .bind(platform_message_id)
            .bind(now)
            .bind(claim.id)
            .bind(claim.lease_until_ms)
            .execute(pool)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// Records a failed attempt: the row waits until `next_attempt_ms`, or goes to the dead
    /// letters (`dead`) when it has had `limits.max_attempts`, or when it has been retried
    /// for `limits.window_ms` (from its creation or its last re-drive). Returns the new
    /// status, or None when the lease was lost.
    pub async fn outbox_retry(
        &self,
        claim: &ClaimedReply,
        next_attempt_ms: i64,
        error: &str,
        lost_response: bool,
        limits: RetryLimits,
        now: i64,
    ) -> StoreResult<Option<OutboxStatus>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "UPDATE outbox SET status = CASE WHEN attempts >= $1 \
                 OR $5 >= COALESCE(retry_from_ms, created_at_ms) + $8 THEN 'dead' ELSE 'pending' END, \
                 next_attempt_ms = $2, last_error = $3, lost_responses = lost_responses + $4, \
                 lease_until_ms = 0, updated_at_ms = $5 \
                 WHERE id = $6 AND status = 'sending' AND lease_until_ms = $7 RETURNING status",
            )
            .bind(limits.max_attempts)
            .bind(next_attempt_ms)
            .bind(error)
            .bind(i64::from(lost_response))
            .bind(now)
            .bind(claim.id)
            .bind(claim.lease_until_ms)
            .bind(limits.window_ms)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Puts a row back without spending an attempt: it was not sent because the page is
    /// throttled (by Meta or by our own budget), which says nothing about the row.
    pub async fn outbox_defer(
        &self,
        claim: &ClaimedReply,
        next_attempt_ms: i64,
        error: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', attempts = attempts - 1, next_attempt_ms = $1, \
                 last_error = COALESCE($2, last_error), lease_until_ms = 0, updated_at_ms = $3 \
                 WHERE id = $4 AND status = 'sending' AND lease_until_ms = $5",
            )
            .bind(next_attempt_ms)
            .bind(error)
            .bind(now)
            .bind(claim.id)
            .bind(claim.lease_until_ms)
            .execute(pool)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// Puts many claimed rows back for later at once, without spending an attempt: the
    /// Page's budget is used up and all of them wait for it. Returns how many were still
    /// under their lease.
    pub async fn outbox_defer_many(
        &self,
        claims: &[&ClaimedReply],
        next_attempt_ms: i64,
        now: i64,
    ) -> StoreResult<u64> {
        if claims.is_empty() {
            return Ok(0);
        }
        on_pool!(self, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "UPDATE outbox SET status = 'pending', attempts = attempts - 1, lease_until_ms = 0, \
                 next_attempt_ms = ",
            );
            query.push_bind(next_attempt_ms);
            query.push(", updated_at_ms = ").push_bind(now);
            // The id list lets the primary key find the rows; the OR of pairs alone made
            // SQLite scan the whole outbox.
            query.push(" WHERE status = 'sending' AND id IN (");
            let mut ids = query.separated(", ");
            for claim in claims {
                ids.push_bind(claim.id);
            }
            query.push(") AND (");
            for (i, claim) in claims.iter().enumerate() {
                if i > 0 {
                    query.push(" OR ");
                }
                query.push("(id = ").push_bind(claim.id);
                query
                    .push(" AND lease_until_ms = ")
                    .push_bind(claim.lease_until_ms);
                query.push(")");
            }
            query.push(")");
            Ok(query.build().execute(pool).await?.rows_affected())
        })
    }

    /// Records a final platform error: the row is never tried again.
    pub async fn outbox_failed(
        &self,
        claim: &ClaimedReply,
        error: &str,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'failed', last_error = $1, lease_until_ms = 0, \
                 updated_at_ms = $2 WHERE id = $3 AND status = 'sending' AND lease_until_ms = $4",
            )
            .bind(error)
            .bind(now)
            .bind(claim.id)
            .bind(claim.lease_until_ms)
            .execute(pool)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// Records that a row was not sent on purpose (a notice switched off): never retried.
    pub async fn outbox_skipped(
        &self,
        claim: &ClaimedReply,
        why: &str,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'skipped', last_error = $1, lease_until_ms = 0, \
                 attempts = attempts - 1, updated_at_ms = $2 \
                 WHERE id = $3 AND status = 'sending' AND lease_until_ms = $4",
            )
            .bind(why)
            .bind(now)
            .bind(claim.id)
            .bind(claim.lease_until_ms)
            .execute(pool)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// The queue depth and the oldest due row, for metrics.
    pub async fn outbox_queue(&self, now: i64) -> StoreResult<QueueStats> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT COUNT(*), MIN(next_attempt_ms) FROM outbox \
                 WHERE status = 'pending' AND next_attempt_ms <= $1",
            )
            .bind(now)
            .fetch_one(pool)
            .await?;
            let sending: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sending'")
                    .fetch_one(pool)
                    .await?;
            Ok(QueueStats {
                due: row.try_get(0)?,
                oldest_due_ms: row.try_get(1)?,
                sending,
            })
        })
    }

    /// Every outbox row of one event, oldest first.
    pub async fn replies_of(&self, inbox_id: i64) -> StoreResult<Vec<ReplyRecord>> {
        self.replies_where(Some(inbox_id)).await
    }

    /// Every outbox row, oldest first (tests and diagnostics; the table grows).
    pub async fn all_replies(&self) -> StoreResult<Vec<ReplyRecord>> {
        self.replies_where(None).await
    }

    /// Replies for the re-drive list, newest first, with `id` below `before` (0: from the
    /// newest), filtered by status and live session.
    pub async fn replies_page(
        &self,
        status: Option<OutboxStatus>,
        live_id: Option<i64>,
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<ReplyView>> {
        self.replies_filtered(&ReplyFilter {
            status,
            live_id,
            member_id: None,
            before,
            limit,
        })
        .await
    }

    /// [`Store::replies_page`] with every filter, the buyer's included.
    pub async fn replies_filtered(&self, filter: &ReplyFilter) -> StoreResult<Vec<ReplyView>> {
        on_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {REPLY_VIEW} FROM outbox WHERE ($1 IS NULL OR status = $1) \
                 AND ($2 IS NULL OR live_id = $2) AND ($3 IS NULL OR member_id = $3) \
                 AND ($4 = 0 OR id < $4) ORDER BY id DESC LIMIT $5"
            ))
            .bind(filter.status)
            .bind(filter.live_id)
            .bind(filter.member_id)
            .bind(filter.before)
            .bind(filter.limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| reply_view!(r))
            .collect()
        })
    }

    /// Private replies sent since `since`, by the Page of the comment they answer: what
    /// each Page has spent of Meta's hourly allowance.
    pub async fn private_replies_sent_since(&self, since: i64) -> StoreResult<Vec<(String, i64)>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT i.page_id, COUNT(*) FROM outbox o JOIN inbox i ON i.id = o.inbox_id \
                 WHERE o.kind = 'private_reply' AND o.status = 'sent' AND o.sent_at_ms >= $1 \
                 AND i.page_id IS NOT NULL GROUP BY i.page_id ORDER BY i.page_id",
            )
            .bind(since)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<(String, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .collect()
        })
    }

    /// Sends a dead, failed or waiting reply again: pending and due now, its attempts
    /// counted and its retry window started anew. Lost answers stay counted, so a private
    /// reply that did arrive earlier is still recognised by the platform's refusal.
    pub async fn redrive_reply(&self, id: i64, now: i64) -> StoreResult<Redrive> {
        on_pool!(self, |pool| {
            let updated = sqlx::query(&format!(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_ms = $1, \
                 lease_until_ms = 0, retry_from_ms = $1, updated_at_ms = $1 \
                 WHERE id = $2 AND status IN ('dead', 'failed', 'pending') RETURNING {REPLY_VIEW}"
            ))
            .bind(now)
            .bind(id)
            .fetch_optional(pool)
            .await?;
            if let Some(row) = updated {
                return Ok(Redrive::Queued(reply_view!(&row)?));
            }
            let status: Option<OutboxStatus> =
                sqlx::query_scalar("SELECT status FROM outbox WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
            Ok(match status {
                Some(status) => Redrive::NotRetryable(status),
                None => Redrive::NotFound,
            })
        })
    }

    async fn replies_where(&self, inbox_id: Option<i64>) -> StoreResult<Vec<ReplyRecord>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, inbox_id, kind, target, status, attempts, lost_responses, next_attempt_ms, \
                 platform_message_id, last_error, sent_at_ms, priority, topic FROM outbox \
                 WHERE ($1 IS NULL OR inbox_id = $1) ORDER BY id",
            )
            .bind(inbox_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<ReplyRecord> {
                Ok(ReplyRecord {
                    id: r.try_get(0)?,
                    inbox_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    target: r.try_get(3)?,
                    status: r.try_get(4)?,
                    attempts: r.try_get(5)?,
                    lost_responses: r.try_get(6)?,
                    next_attempt_ms: r.try_get(7)?,
                    platform_message_id: r.try_get(8)?,
                    last_error: r.try_get(9)?,
                    sent_at_ms: r.try_get(10)?,
                    priority: r.try_get(11)?,
                    topic: r.try_get(12)?,
                })
            })
            .collect()
        })
    }
}

impl Store {
    /// Spends from a Page's shared budget for one kind of reply. `decide` gets the GCRA's
    /// theoretical arrival time (µs; `None` before the first call) and answers the new one
    /// (`None`: no call, nothing written) with what to return. The row is locked while
    /// `decide` runs, so replicas spending at the same moment take turns instead of
    /// failing.
    pub async fn spend_page_budget<T>(
        &self,
        page_id: &str,
        kind: ReplyKind,
        decide: impl FnOnce(Option<i64>) -> (Option<i64>, T),
    ) -> StoreResult<T> {
        let mut tx = self.begin_write().await?;
        // The row exists before it is locked (an idle budget: arrival time 0), so two
        // first calls at once also take turns.
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO page_budgets (page_id, kind, tat_us) VALUES ($1, $2, 0) \
                 ON CONFLICT (page_id, kind) DO NOTHING",
            )
            .bind(page_id)
            .bind(kind.as_str())
            .execute(&mut *conn)
            .await?;
        });
        let lock = if tx.is_postgres() { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT tat_us FROM page_budgets WHERE page_id = $1 AND kind = $2{lock}");
        let seen: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(&sql)
                .bind(page_id)
                .bind(kind.as_str())
                .fetch_one(&mut *conn)
                .await?
        });
        let (next, answer) = decide(Some(seen));
        if let Some(next) = next {
            on_tx!(&mut tx, |conn| {
                sqlx::query("UPDATE page_budgets SET tat_us = $3 WHERE page_id = $1 AND kind = $2")
                    .bind(page_id)
                    .bind(kind.as_str())
                    .bind(next)
                    .execute(&mut *conn)
                    .await?;
            });
        }
        tx.commit().await?;
        Ok(answer)
    }
}
