//! What the replies room reads and writes besides claiming: reply templates, planned
//! outbox rows (priority, cart, topic), the buyer's open channels, the cart a reply lists,
//! and the holds and promotions reminders announce.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::{QueryBuilder, Row};
use utoipa::ToSchema;

use super::{on_pool, on_tx, Store, StoreResult, Tx};
use crate::vocab::{OutboxStatus, ReplyKind, Topic};

/// One stored template text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateRow {
    pub name: String,
    pub lang: String,
    pub body: String,
    /// True while the text is the shipped default (a new release may refresh it).
    pub is_default: bool,
    pub updated_at_ms: i64,
}

/// An outbox row with what the dispatcher orders and merges by.
#[derive(Debug, Clone)]
pub struct PlannedReply {
    pub inbox_id: Option<i64>,
    /// `NoChannel` (stored `none`) for a row recorded as skipped.
    pub kind: ReplyKind,
    pub target: String,
    pub body: String,
    pub dedupe_key: String,
    /// 0 checkout links, 1 confirmations, 2 reminders.
    pub priority: i64,
    pub live_id: Option<i64>,
    pub member_id: Option<i64>,
    pub topic: Option<Topic>,
    /// `Pending`, or `Skipped` when no channel to the buyer is open.
    pub status: OutboxStatus,
    /// Why a row was skipped.
    pub note: Option<String>,
}

/// A Send API conversation the buyer opened by writing to the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenWindow {
    pub inbox_id: i64,
    pub platform: String,
    /// The PSID (or IGSID) to write to.
    pub recipient: String,
    pub page_id: String,
}

/// A comment of the buyer's whose one private reply is still unspent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedComment {
    pub inbox_id: i64,
    pub comment_id: String,
    pub page_id: String,
}

/// A hold in a buyer's cart, with its product.
#[derive(Debug, Clone, PartialEq)]
pub struct CartHold {
    pub hold_id: i64,
    pub code: String,
    pub name: String,
    pub options: Vec<String>,
    pub qty: i64,
    pub price: i64,
    pub currency: String,
    pub expires_at_ms: i64,
}

/// Holds of one buyer in one live that a reminder is about.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldGroup {
    pub live_id: i64,
    pub member_id: i64,
    pub holds: Vec<CartHold>,
    /// Expired holds: when the sweep released them.
    pub at_ms: i64,
}

/// A waitlist entry that became a hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub event_id: i64,
    pub live_id: i64,
    pub member_id: i64,
    pub hold: CartHold,
}

/// A statement selecting the hold columns `hold_of` reads, then `$rest`.
macro_rules! hold_sql {
    ($($rest:literal),+) => {
        concat!(
            "SELECT h.id, p.code, p.name, s.options, h.qty, p.price, p.currency, ",
            "h.expires_at_ms, h.live_id, h.member_id, h.updated_at_ms",
            $($rest),+
        )
    };
}

fn hold_of(r: &impl RowLike) -> StoreResult<(CartHold, Option<i64>, Option<i64>, i64)> {
    r.hold()
}

/// Reads a hold row on either backend (the two row types share no trait sqlx exposes
/// that also decodes i64 and String without naming the database).
trait RowLike {
    fn hold(&self) -> StoreResult<(CartHold, Option<i64>, Option<i64>, i64)>;
}

macro_rules! row_like {
    ($row:ty) => {
        impl RowLike for $row {
            fn hold(&self) -> StoreResult<(CartHold, Option<i64>, Option<i64>, i64)> {
                let options: String = self.try_get(3)?;
                Ok((
                    CartHold {
                        hold_id: self.try_get(0)?,
                        code: self.try_get(1)?,
                        name: self.try_get(2)?,
                        options: serde_json::from_str(&options).unwrap_or_default(),
                        qty: self.try_get(4)?,
                        price: self.try_get(5)?,
                        currency: self.try_get(6)?,
                        expires_at_ms: self.try_get(7)?,
                    },
                    self.try_get(8)?,
                    self.try_get(9)?,
                    self.try_get(10)?,
                ))
            }
        }
    };
}
row_like!(sqlx::sqlite::SqliteRow);
row_like!(sqlx::postgres::PgRow);

impl Store {
    /// Copies the shipped texts in. A text staff changed is kept; a default is refreshed.
    pub async fn seed_templates(
        &self,
        texts: &[(String, String, String)],
        now: i64,
    ) -> StoreResult<()> {
        for chunk in texts.chunks(200) {
            on_pool!(self, |pool| {
                let mut query = QueryBuilder::new(
                    "INSERT INTO reply_templates (name, lang, body, is_default, updated_at_ms) ",
                );
                query.push_values(chunk, |mut b, (name, lang, body)| {
                    b.push_bind(name)
                        .push_bind(lang)
                        .push_bind(body)
                        .push_bind(1i64)
                        .push_bind(now);
                });
                query.push(
                    " ON CONFLICT (name, lang) DO UPDATE SET body = excluded.body, \
                     updated_at_ms = excluded.updated_at_ms \
                     WHERE reply_templates.is_default = 1 AND reply_templates.body <> excluded.body",
                );
                query.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Every stored text, or one language's, by name.
    pub async fn templates(&self, lang: Option<&str>) -> StoreResult<Vec<TemplateRow>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT name, lang, body, is_default, updated_at_ms FROM reply_templates \
                 WHERE ($1 IS NULL OR lang = $1) ORDER BY lang, name",
            )
            .bind(lang)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<TemplateRow> {
                let is_default: i64 = r.try_get(3)?;
                Ok(TemplateRow {
                    name: r.try_get(0)?,
                    lang: r.try_get(1)?,
                    body: r.try_get(2)?,
                    is_default: is_default != 0,
                    updated_at_ms: r.try_get(4)?,
                })
            })
            .collect()
        })
    }

    /// Saves staff's text for a template; it is no longer refreshed from the defaults.
    pub async fn set_template(
        &self,
        name: &str,
        lang: &str,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO reply_templates (name, lang, body, is_default, updated_at_ms) \
                 VALUES ($1, $2, $3, 0, $4) ON CONFLICT (name, lang) DO UPDATE SET \
                 body = excluded.body, is_default = 0, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(name)
            .bind(lang)
            .bind(body)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Active live holds expiring in `(now, until]` that lasted longer than `min_ttl_ms`
    /// (a hold shorter than the reminder's lead time is not reminded at once), by buyer.
    pub async fn holds_expiring(
        &self,
        now: i64,
        until: i64,
        min_ttl_ms: i64,
    ) -> StoreResult<Vec<HoldGroup>> {
        let sql = hold_sql!(
            " FROM holds h JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id ",
            "WHERE h.status = 'active' AND h.expires_at_ms > $1 AND h.expires_at_ms <= $2 ",
            "AND h.expires_at_ms - h.created_at_ms > $3 ",
            "AND h.live_id IS NOT NULL AND h.member_id IS NOT NULL ",
            "ORDER BY h.live_id, h.member_id, h.id LIMIT 5000"
        );
        let rows = on_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(now)
                .bind(until)
                .bind(min_ttl_ms)
                .fetch_all(pool)
                .await?
                .iter()
                .map(hold_of)
                .collect::<StoreResult<Vec<_>>>()?
        });
        Ok(group(rows, false))
    }

    /// Live holds the sweeper expired since `since`, by buyer and sweep.
    pub async fn holds_expired_since(&self, since: i64) -> StoreResult<Vec<HoldGroup>> {
        let sql = hold_sql!(
            " FROM holds h JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id ",
            "WHERE h.status = 'expired' AND h.updated_at_ms >= $1 ",
            "AND h.live_id IS NOT NULL AND h.member_id IS NOT NULL ",
            "ORDER BY h.live_id, h.member_id, h.updated_at_ms, h.id LIMIT 5000"
        );
        let rows = on_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(since)
                .fetch_all(pool)
                .await?
                .iter()
                .map(hold_of)
                .collect::<StoreResult<Vec<_>>>()?
        });
        Ok(group(rows, true))
    }

    /// Waitlist promotions in lives since `since` that no reply announces yet.
    pub async fn unannounced_promotions(&self, since: i64) -> StoreResult<Vec<Promotion>> {
        let sql = hold_sql!(
            ", e.id FROM ledger_events e JOIN holds h ON h.id = e.hold_id ",
            "JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id ",
            "WHERE e.kind = 'waitlist_promoted' AND e.created_at_ms >= $1 ",
            "AND h.live_id IS NOT NULL AND h.member_id IS NOT NULL ",
            "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'promoted:' || e.id) ",
            "ORDER BY e.id LIMIT 1000"
        );
        on_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(since)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| -> StoreResult<Promotion> {
                    let (hold, live, member, _) = hold_of(r)?;
                    Ok(Promotion {
                        event_id: r.try_get(11)?,
                        live_id: live.unwrap_or_default(),
                        member_id: member.unwrap_or_default(),
                        hold,
                    })
                })
                .collect()
        })
    }
}

/// Consecutive rows of one (live, member) — and, for expired holds, one sweep — as one group.
fn group(rows: Vec<(CartHold, Option<i64>, Option<i64>, i64)>, by_sweep: bool) -> Vec<HoldGroup> {
    let mut groups: Vec<HoldGroup> = Vec::new();
    for (hold, live, member, updated) in rows {
        let (Some(live_id), Some(member_id)) = (live, member) else {
            continue;
        };
        let at_ms = if by_sweep { updated } else { 0 };
        match groups.last_mut() {
            Some(g) if g.live_id == live_id && g.member_id == member_id && g.at_ms == at_ms => {
                g.holds.push(hold)
            }
            _ => groups.push(HoldGroup {
                live_id,
                member_id,
                holds: vec![hold],
                at_ms,
            }),
        }
    }
    groups
}

/// Writes planned rows; a row whose dedupe key exists already is left alone.
/// Returns how many were new.
pub async fn insert_planned_in(tx: &mut Tx, rows: &[PlannedReply], now: i64) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    // One statement for any number of rows: they travel as one JSON parameter.
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "inbox_id": r.inbox_id, "kind": r.kind, "target": r.target, "body": r.body,
                "dedupe_key": r.dedupe_key, "status": r.status, "priority": r.priority,
                "live_id": r.live_id, "member_id": r.member_id, "topic": r.topic,
                "last_error": r.note,
            })
        })
        .collect();
    let json = serde_json::Value::Array(json).to_string();
    let sql = if tx.is_postgres() {
        "INSERT INTO outbox (inbox_id, kind, target, body, dedupe_key, status, attempts, \
         next_attempt_ms, created_at_ms, priority, live_id, member_id, topic, last_error) \
         SELECT inbox_id, kind, target, body, dedupe_key, status, 0, $2, $2, priority, live_id, \
         member_id, topic, last_error FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(inbox_id BIGINT, \
         kind TEXT, target TEXT, body TEXT, dedupe_key TEXT, status TEXT, priority BIGINT, \
         live_id BIGINT, member_id BIGINT, topic TEXT, last_error TEXT) \
         ON CONFLICT (dedupe_key) DO NOTHING"
    } else {
        // `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON.
        "INSERT INTO outbox (inbox_id, kind, target, body, dedupe_key, status, attempts, \
         next_attempt_ms, created_at_ms, priority, live_id, member_id, topic, last_error) \
         SELECT value ->> 'inbox_id', value ->> 'kind', value ->> 'target', value ->> 'body', \
         value ->> 'dedupe_key', value ->> 'status', 0, $2, $2, value ->> 'priority', \
         value ->> 'live_id', value ->> 'member_id', value ->> 'topic', value ->> 'last_error' \
         FROM json_each($1) WHERE true ON CONFLICT (dedupe_key) DO NOTHING"
    };
    Ok(on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&json)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    }))
}

/// The newest Messenger or Instagram conversation any identity of the buyer wrote to the
/// page in since `since` (platform time): the Send API may answer inside it.
pub async fn open_window_in(
    tx: &mut Tx,
    member_id: i64,
    since: i64,
) -> StoreResult<Option<OpenWindow>> {
    on_tx!(tx, |conn| {
        let row = sqlx::query(
            "SELECT i.id, i.platform, i.author_id, i.page_id FROM inbox i \
             JOIN identities d ON d.platform = i.platform AND d.platform_user_id = i.author_id \
             WHERE d.member_id = $1 AND i.kind = 'message' \
             AND i.platform IN ('messenger', 'instagram_dm') AND i.platform_time_ms >= $2 \
             AND i.page_id IS NOT NULL ORDER BY i.platform_time_ms DESC, i.id DESC LIMIT 1",
        )
        .bind(member_id)
        .bind(since)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| -> StoreResult<OpenWindow> {
            Ok(OpenWindow {
                inbox_id: r.try_get(0)?,
                platform: r.try_get(1)?,
                recipient: r.try_get(2)?,
                page_id: r.try_get(3)?,
            })
        })
        .transpose()
    })
}

/// Of `carts` (live, member), those whose checkout link was already sent or is queued:
/// one statement for a whole batch.
pub async fn carts_with_checkout_in(
    tx: &mut Tx,
    carts: &[(i64, i64)],
) -> StoreResult<HashSet<(i64, i64)>> {
    if carts.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = sql_for!(tx, "SELECT DISTINCT live_id, member_id FROM outbox WHERE topic = 'checkout' \
             AND status NOT IN ('failed', 'dead', 'skipped') AND ",
            [ids "member_id" "1"],
            " AND ",
            [ids "live_id" "2"]);
    let members = super::id_list(carts.iter().map(|c| c.1));
    let lives = super::id_list(carts.iter().map(|c| c.0));
    let found: Vec<(i64, i64)> = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&members)
            .bind(&lives)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| -> StoreResult<(i64, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .collect::<StoreResult<Vec<_>>>()?
    });
    let asked: HashSet<(i64, i64)> = carts.iter().copied().collect();
    Ok(found.into_iter().filter(|c| asked.contains(c)).collect())
}

/// [`open_window_in`] for many members in one statement.
pub async fn open_windows_in(
    tx: &mut Tx,
    members: &[i64],
    since: i64,
) -> StoreResult<HashMap<i64, OpenWindow>> {
    if members.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = sql_for!(tx, "SELECT member_id, id, platform, author_id, page_id FROM ( \
               SELECT d.member_id, i.id, i.platform, i.author_id, i.page_id, \
               ROW_NUMBER() OVER (PARTITION BY d.member_id ORDER BY i.platform_time_ms DESC, i.id DESC) AS rn \
               FROM inbox i JOIN identities d ON d.platform = i.platform AND d.platform_user_id = i.author_id \
               WHERE i.kind = 'message' AND i.platform IN ('messenger', 'instagram_dm') \
               AND i.platform_time_ms >= $2 AND i.page_id IS NOT NULL AND ",
            [ids "d.member_id" "1"],
            ") x WHERE rn = 1");
    let ids = super::id_list(members.iter().copied());
    on_tx!(tx, |conn| {
        let rows = sqlx::query(sql)
            .bind(&ids)
            .bind(since)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| -> StoreResult<(i64, OpenWindow)> {
                Ok((
                    r.try_get(0)?,
                    OpenWindow {
                        inbox_id: r.try_get(1)?,
                        platform: r.try_get(2)?,
                        recipient: r.try_get(3)?,
                        page_id: r.try_get(4)?,
                    },
                ))
            })
            .collect()
    })
}

/// The buyer's newest Facebook or Instagram comment in the live since `since` with no
/// private reply yet: its one private reply is still there to spend.
pub async fn unused_comment_in(
    tx: &mut Tx,
    member_id: i64,
    live_id: i64,
    since: i64,
) -> StoreResult<Option<UnusedComment>> {
    on_tx!(tx, |conn| {
        let row = sqlx::query(
            "SELECT i.id, i.comment_id, i.page_id FROM inbox i \
             WHERE i.member_id = $1 AND i.live_id = $2 AND i.kind = 'comment' \
             AND i.platform IN ('facebook', 'instagram') AND i.verb = 'add' \
             AND i.platform_time_ms >= $3 AND i.comment_id IS NOT NULL AND i.page_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.inbox_id = i.id \
                             AND o.kind = 'private_reply') \
             ORDER BY i.platform_time_ms DESC, i.id DESC LIMIT 1",
        )
        .bind(member_id)
        .bind(live_id)
        .bind(since)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| -> StoreResult<UnusedComment> {
            Ok(UnusedComment {
                inbox_id: r.try_get(0)?,
                comment_id: r.try_get(1)?,
                page_id: r.try_get(2)?,
            })
        })
        .transpose()
    })
}

/// The buyer's newest event in the live, so a skipped reminder shows beside it.
pub async fn latest_event_in(
    tx: &mut Tx,
    member_id: i64,
    live_id: i64,
) -> StoreResult<Option<i64>> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM inbox WHERE member_id = $1 AND live_id = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(member_id)
        .bind(live_id)
        .fetch_optional(&mut *conn)
        .await?
    }))
}
