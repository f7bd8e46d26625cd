//! The sandbox's rows: what the sandbox sender delivered, the reset that removes every
//! trace of a rehearsal, and the change fingerprint the board hub polls.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{id_list, now_ms, on_pool, on_tx, Store, StoreError, StoreResult, Tx};

/// The platform name of sandbox lives, their inbox rows and their viewers' identities.
pub const SANDBOX: &str = "sandbox";

/// A reply the sandbox sender recorded instead of calling Meta.
#[derive(Debug, Clone)]
pub struct NewSandboxReply<'a> {
    pub outbox_id: i64,
    pub live_id: Option<i64>,
    pub inbox_id: Option<i64>,
    pub viewer_id: Option<&'a str>,
    pub comment_id: Option<&'a str>,
    /// `public` (under the comment) or `private` (the viewer's Messenger).
    pub kind: &'a str,
    pub text: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SandboxReply {
    pub id: i64,
    /// `public` (under the comment) or `private` (the viewer's Messenger).
    pub kind: String,
    pub text: String,
    pub at_ms: i64,
    pub viewer_id: Option<String>,
    /// The comment answered.
    pub comment_id: Option<String>,
}

/// What a reset removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SandboxReset {
    /// Holds removed, active ones included (their units are back on the sandbox shelf).
    pub holds: u64,
    pub orders: u64,
    pub members: u64,
    /// Inbox rows (comments) removed.
    pub events: u64,
    pub replies: u64,
}

/// A cheap summary of everything a board shows: when it changes, some board may have.
pub type ChangeFingerprint = (i64, i64, i64, i64, i64, i64, i64);

impl Store {
    /// Records one delivered sandbox reply; a second call for the same outbox row (a
    /// retried send) records nothing and returns the first row's id.
    pub async fn record_sandbox_reply(&self, reply: &NewSandboxReply<'_>) -> StoreResult<i64> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sandbox_replies (outbox_id, live_id, inbox_id, viewer_id, comment_id, \
                 kind, text, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (outbox_id) DO NOTHING",
            )
            .bind(reply.outbox_id)
            .bind(reply.live_id)
            .bind(reply.inbox_id)
            .bind(reply.viewer_id)
            .bind(reply.comment_id)
            .bind(reply.kind)
            .bind(reply.text)
            .bind(now_ms())
            .execute(pool)
            .await?;
            Ok(
                sqlx::query_scalar("SELECT id FROM sandbox_replies WHERE outbox_id = $1")
                    .bind(reply.outbox_id)
                    .fetch_one(pool)
                    .await?,
            )
        })
    }

    /// What the sandbox sender delivered in a live, to one viewer or to all, oldest first.
    pub async fn sandbox_replies(
        &self,
        live_id: i64,
        viewer_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<SandboxReply>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, kind, text, created_at_ms, viewer_id, comment_id FROM sandbox_replies \
                 WHERE live_id = $1 AND ($2 IS NULL OR viewer_id = $2) ORDER BY id LIMIT $3",
            )
            .bind(live_id)
            .bind(viewer_id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<SandboxReply> {
                    Ok(SandboxReply {
                        id: r.try_get(0)?,
                        kind: r.try_get(1)?,
                        text: r.try_get(2)?,
                        at_ms: r.try_get(3)?,
                        viewer_id: r.try_get(4)?,
                        comment_id: r.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    /// The newest sandbox live with this title that has not ended.
    pub async fn open_sandbox_live(&self, title: &str) -> StoreResult<Option<i64>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM live_sessions WHERE sandbox AND title = $1 AND state <> 'ended' \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(title)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Whether every product of `codes` exists and carries the sandbox flag, per code.
    pub async fn sandbox_flags(&self, codes: &[String]) -> StoreResult<Vec<(String, bool)>> {
        let codes = serde_json::to_string(codes).unwrap_or_else(|_| "[]".into());
        Ok(match self.kind() {
            super::BackendKind::Postgres => on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT code, sandbox FROM products WHERE code IN \
                     (SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))",
                )
                .bind(&codes)
                .fetch_all(pool)
                .await?
            }),
            super::BackendKind::Sqlite => on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT code, sandbox FROM products WHERE code IN (SELECT value FROM json_each($1))",
                )
                .bind(&codes)
                .fetch_all(pool)
                .await?
            }),
        })
    }

    /// The maxima of the ids and change times behind every board, in one statement of
    /// index lookups. A board can only have changed when this has.
    pub async fn change_fingerprint(&self) -> StoreResult<ChangeFingerprint> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT \
                 (SELECT COALESCE(MAX(id), 0) FROM inbox), \
                 (SELECT COALESCE(MAX(id), 0) FROM stock_movements), \
                 (SELECT COALESCE(MAX(updated_at_ms), 0) FROM stock_levels), \
                 (SELECT COALESCE(MAX(id), 0) FROM waitlist), \
                 (SELECT COALESCE(MAX(id), 0) FROM outbox), \
                 (SELECT COALESCE(MAX(id), 0) FROM orders), \
                 (SELECT COALESCE(MAX(updated_at_ms), 0) FROM live_sessions)",
            )
            .fetch_one(pool)
            .await?
        }))
    }

    /// Removes every trace of the sandbox in one transaction: its comments and replies,
    /// holds, waitlist entries, carts, links and orders, and the viewers' members. Sandbox
    /// products and lives stay, with their stock back to what was received and adjusted
    /// (the reservations, sales and returns are taken out of the movement log with them,
    /// so the movements still sum to the levels).
    ///
    /// On Postgres a worker may add a row under one the reset is removing between two of
    /// its statements (the reply sender opens a cart and a checkout link as it sends; the
    /// sequencer decides a comment). The delete of the parent then fails its foreign key
    /// and the whole reset rolls back; it is run again, and the row that came in late is
    /// removed with the rest.
    pub async fn reset_sandbox(&self) -> StoreResult<SandboxReset> {
        let mut tries = 0u32;
        loop {
            match self.reset_sandbox_once().await {
                Err(err @ (StoreError::Conflict { .. } | StoreError::Contention(_)))
                    if tries < super::error::RETRIES =>
                {
                    tries += 1;
                    super::error::contention_pause(&err, tries).await;
                }
                other => return other,
            }
        }
    }

    async fn reset_sandbox_once(&self) -> StoreResult<SandboxReset> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let lives: Vec<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar("SELECT id FROM live_sessions WHERE sandbox")
                .fetch_all(&mut *conn)
                .await?
        });
        let skus: Vec<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id WHERE p.sandbox",
            )
            .fetch_all(&mut *conn)
            .await?
        });
        // A member is the sandbox's when all its identities are (a viewer never merges
        // into a real member: see `is_sandbox_member_in`), and so is one merged into it.
        let members: Vec<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "WITH viewers AS (SELECT member_id FROM identities WHERE platform = 'sandbox' \
                 AND member_id NOT IN (SELECT member_id FROM identities WHERE platform <> 'sandbox')) \
                 SELECT id FROM members WHERE id IN (SELECT member_id FROM viewers) \
                 OR merged_into IN (SELECT member_id FROM viewers)",
            )
            .fetch_all(&mut *conn)
            .await?
        });
        let (lives, skus, members) = (id_list(lives), id_list(skus), id_list(members));
        let dialect = Dialect(tx.is_postgres());
        let mut report = SandboxReset {
            replies: run(&mut tx, "DELETE FROM sandbox_replies", &[]).await?,
            ..SandboxReset::default()
        };
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM payment_receipts WHERE order_id IN (SELECT id FROM orders WHERE ",
                [ids "live_id" 1],
                ")"
            ),
            &[&lives],
        )
        .await?;
        // What a rehearsed online payment or a typed contact left under the orders and
        // the viewers.
        for table in [
            sql_for!(
                dialect,
                "DELETE FROM payment_sessions WHERE order_id IN (SELECT id FROM orders WHERE ",
                [ids "live_id" 1],
                ")"
            ),
            sql_for!(
                dialect,
                "DELETE FROM payment_issues WHERE order_id IN (SELECT id FROM orders WHERE ",
                [ids "live_id" 1],
                ")"
            ),
            sql_for!(
                dialect,
                "DELETE FROM order_history WHERE order_id IN (SELECT id FROM orders WHERE ",
                [ids "live_id" 1],
                ")"
            ),
        ] {
            run(&mut tx, table, &[&lives]).await?;
        }
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM member_merge_suggestions WHERE order_id IN (SELECT id FROM orders WHERE ",
                [ids "live_id" 1],
                ") OR ",
                [ids "member_id" 2],
                " OR ",
                [ids "holder_id" 2]
            ),
            &[&lives, &members],
        )
        .await?;
        // Points the rehearsal's orders earned or spent, and the viewers' whole history.
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM point_movements WHERE order_id IN (SELECT id FROM orders WHERE ",
                [ids "live_id" 1],
                ") OR ",
                [ids "member_id" 2]
            ),
            &[&lives, &members],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "UPDATE sales SET member_id = NULL WHERE ",
                [ids "member_id" 1]
            ),
            &[&members],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE ",
                [ids "live_id" 1],
                ")"
            ),
            &[&lives],
        )
        .await?;
        report.orders = run(
            &mut tx,
            sql_for!(dialect, "DELETE FROM orders WHERE ", [ids "live_id" 1]),
            &[&lives],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM checkout_tokens WHERE cart_id IN (SELECT id FROM carts WHERE ",
                [ids "live_id" 1],
                " OR ",
                [ids "member_id" 2],
                ")"
            ),
            &[&lives, &members],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM carts WHERE ",
                [ids "live_id" 1],
                " OR ",
                [ids "member_id" 2]
            ),
            &[&lives, &members],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM outbox WHERE ",
                [ids "live_id" 1],
                " OR ",
                [ids "member_id" 2],
                " OR inbox_id IN (SELECT id FROM inbox WHERE platform = 'sandbox' OR ",
                [ids "live_id" 1],
                ")"
            ),
            &[&lives, &members],
        )
        .await?;
        report.events = run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM inbox WHERE platform = 'sandbox' OR ",
                [ids "live_id" 1]
            ),
            &[&lives],
        )
        .await?;
        report.holds = run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM holds WHERE ",
                [ids "sku_id" 1],
                " OR ",
                [ids "live_id" 2],
                " OR ",
                [ids "member_id" 3]
            ),
            &[&skus, &lives, &members],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM waitlist WHERE ",
                [ids "sku_id" 1],
                " OR ",
                [ids "live_id" 2],
                " OR ",
                [ids "member_id" 3]
            ),
            &[&skus, &lives, &members],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM ledger_events WHERE ",
                [ids "sku_id" 1],
                " OR ",
                [ids "live_id" 2],
                " OR ",
                [ids "member_id" 3]
            ),
            &[&skus, &lives, &members],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM stock_movements WHERE kind IN ('reserve', 'release', 'sale', 'return') AND ",
                [ids "sku_id" 1]
            ),
            &[&skus],
        )
        .await?;
        let now_text = now.to_string();
        run(
            &mut tx,
            sql_for!(
                dialect,
                "UPDATE stock_levels SET reserved = 0, updated_at_ms = CAST($2 AS BIGINT), on_hand = \
                 (SELECT CAST(COALESCE(SUM(m.on_hand_delta), 0) AS BIGINT) FROM stock_movements m \
                  WHERE m.sku_id = stock_levels.sku_id) WHERE ",
                [ids "sku_id" 1]
            ),
            &[&skus, &now_text],
        )
        .await?;
        run(
            &mut tx,
            sql_for!(
                dialect,
                "DELETE FROM member_merges WHERE ",
                [ids "survivor_id" 1],
                " OR ",
                [ids "merged_id" 1]
            ),
            &[&members],
        )
        .await?;
        run(
            &mut tx,
            "DELETE FROM identities WHERE platform = 'sandbox'",
            &[],
        )
        .await?;
        report.members = run(
            &mut tx,
            sql_for!(dialect, "DELETE FROM members WHERE ", [ids "id" 1]),
            &[&members],
        )
        .await?;
        // Boards on every replica see the reset through the lives' change time.
        run(
            &mut tx,
            sql_for!(
                dialect,
                "UPDATE live_sessions SET updated_at_ms = CAST($2 AS BIGINT) WHERE ",
                [ids "id" 1]
            ),
            &[&lives, &now_text],
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// The backend of a transaction, for `sql_for!` while the transaction is borrowed.
struct Dialect(bool);

impl Dialect {
    fn is_postgres(&self) -> bool {
        self.0
    }
}

/// One statement with text parameters (id lists are JSON text); rows affected.
async fn run(tx: &mut Tx, sql: &'static str, params: &[&String]) -> StoreResult<u64> {
    Ok(on_tx!(tx, |conn| {
        let mut query = sqlx::query(sql);
        for param in params {
            query = query.bind(param.as_str());
        }
        query.execute(&mut *conn).await?.rows_affected()
    }))
}

/// True when the member (followed through merges) is a sandbox viewer: its identities
/// are all on the sandbox platform. Checkout never links such a member to a real one by
/// phone or email, so a rehearsal cannot merge into (or take the contact of) a customer.
pub(crate) async fn is_sandbox_member_in(tx: &mut Tx, member_id: i64) -> StoreResult<bool> {
    let (sandbox, other): (i64, i64) = on_tx!(tx, |conn| {
        sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM identities WHERE member_id = $1 AND platform = 'sandbox'), \
             (SELECT COUNT(*) FROM identities WHERE member_id = $1 AND platform <> 'sandbox')",
        )
        .bind(member_id)
        .fetch_one(&mut *conn)
        .await?
    });
    Ok(sandbox > 0 && other == 0)
}
