//! The durable inbox: one row per platform event, deduplicated on the platform's ids, and
//! the outbox rows written beside each outcome.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::{QueryBuilder, Row};
use utoipa::ToSchema;

use super::{on_pool, on_tx, Store, StoreResult, Tx, TxConn};
use crate::vocab::{OutboxStatus, OutcomeKind, ReplyKind, Topic};

/// An event as the ingest room hands it over.
#[derive(Debug, Clone)]
pub struct NewInboxRow {
    pub platform: String,
    pub external_id: String,
    /// comment, message, other or unrecognized.
    pub kind: String,
    pub verb: String,
    pub comment_id: Option<String>,
    pub object_id: Option<String>,
    pub page_id: Option<String>,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub text: Option<String>,
    /// Platform time; arrival time when the platform gave none.
    pub platform_time_ms: i64,
    /// webhook or backstop.
    pub source: &'static str,
    pub raw: String,
    /// Set when the event is recorded as ignored without parsing.
    pub ignore_reason: Option<String>,
}

impl NewInboxRow {
    /// Drops what a database column refuses from the decoded fields: U+0000, which a
    /// Postgres TEXT cannot hold (Rust strings hold no other such character). The raw
    /// payload keeps it, encoded: it is JSON, where a NUL can only appear as the escape
    /// `\u0000`; a raw that is not JSON gets the same escape. Returns whether anything
    /// changed.
    pub fn make_storable(&mut self) -> bool {
        let mut changed = false;
        for field in [
            &mut self.platform,
            &mut self.external_id,
            &mut self.kind,
            &mut self.verb,
        ] {
            changed |= strip_nul(field);
        }
        for field in [
            &mut self.comment_id,
            &mut self.object_id,
            &mut self.page_id,
            &mut self.author_id,
            &mut self.author_name,
            &mut self.text,
            &mut self.ignore_reason,
        ]
        .into_iter()
        .flatten()
        {
            changed |= strip_nul(field);
        }
        if self.raw.contains('\0') {
            self.raw = self.raw.replace('\0', "\\u0000");
            changed = true;
        }
        changed
    }
}

fn strip_nul(text: &mut String) -> bool {
    if !text.contains('\0') {
        return false;
    }
    text.retain(|c| c != '\0');
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertReport {
    pub inserted: usize,
    pub duplicates: usize,
}

/// A pending event the sequencer is about to decide.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub id: i64,
    pub platform: String,
    pub kind: String,
    pub verb: String,
    pub comment_id: Option<String>,
    pub page_id: Option<String>,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub text: Option<String>,
}

/// The recorded outcome of one event.
#[derive(Debug, Clone)]
pub struct EventOutcome<'a> {
    pub outcome: OutcomeKind,
    pub reason: Option<&'a str>,
    pub parse_result: Option<String>,
    pub member_id: Option<i64>,
    pub hold_ids: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct NewOutboxRow {
    pub inbox_id: Option<i64>,
    pub kind: ReplyKind,
    pub target: String,
    pub body: String,
    /// Sending is idempotent per key, e.g. `{inbox_id}:private_reply`.
    pub dedupe_key: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutboxView {
    pub id: i64,
    /// public_reply, private_reply, send_api, or `none` for a skipped notice.
    pub kind: ReplyKind,
    pub target: String,
    pub status: OutboxStatus,
    pub platform_message_id: Option<String>,
    /// What it says: checkout, merged, waitlisted, promoted, expiring, expired, paid…
    pub topic: Option<Topic>,
    /// 0 checkout links, 1 confirmations, 2 reminders.
    pub priority: i64,
    pub attempts: i64,
    /// The platform's last refusal, or why the reply was skipped.
    pub last_error: Option<String>,
    pub sent_at_ms: Option<i64>,
}

/// One comment or message and what became of it, for staff.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub platform: String,
    pub kind: String,
    pub verb: String,
    /// The platform's comment or message id.
    pub external_id: String,
    pub comment_id: Option<String>,
    pub object_id: Option<String>,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub text: Option<String>,
    pub platform_time_ms: i64,
    pub live_id: Option<i64>,
    pub source: String,
    pub status: String,
    pub outcome: Option<OutcomeKind>,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub parse: Option<serde_json::Value>,
    pub member_id: Option<i64>,
    pub hold_ids: Vec<i64>,
    /// Who decided it in the review queue (a console user or an API token's name).
    pub decided_by: Option<String>,
    pub replies: Vec<OutboxView>,
}

/// Bound sessions in the order a comment is matched to one: the newest session that has
/// not ended wins, so a post reused for a new sale goes to the new session.
async fn live_for(tx: &mut Tx, row: &NewInboxRow) -> StoreResult<Option<i64>> {
    let by_object = matches!(
        row.platform.as_str(),
        "facebook" | "instagram" | "telegram" | "sandbox"
    );
    let live = if by_object {
        let Some(object) = &row.object_id else {
            return Ok(None);
        };
        on_tx!(tx, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT b.live_id FROM live_bindings b JOIN live_sessions s ON s.id = b.live_id \
                 WHERE b.object_id = $1 AND b.platform = $2 AND s.state <> 'ended' \
                 ORDER BY b.live_id DESC LIMIT 1",
            )
            .bind(object)
            .bind(binding_platform(&row.platform))
            .fetch_optional(&mut *conn)
            .await?
        })
    } else {
        // A DM goes to the page's session that is live now.
        let Some(page) = &row.page_id else {
            return Ok(None);
        };
        on_tx!(tx, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT b.live_id FROM live_bindings b JOIN live_sessions s ON s.id = b.live_id \
                 WHERE b.page_id = $1 AND s.state = 'live' ORDER BY b.live_id DESC LIMIT 1",
            )
            .bind(page)
            .fetch_optional(&mut *conn)
            .await?
        })
    };
    Ok(live)
}

/// Comments on Facebook and messages sent to a Facebook page share the page's bindings.
fn binding_platform(platform: &str) -> &str {
    match platform {
        "messenger" => "facebook",
        "instagram_dm" => "instagram",
        other => other,
    }
}

/// Inserts a batch of events in `tx`, skipping ones already stored. Events that need no
/// decision (ignored, unrecognised, unbound) get their outcome now; an edit or removal
/// of a comment not yet decided is applied to it directly.
pub async fn insert_inbox_in(
    tx: &mut Tx,
    rows: &[NewInboxRow],
    now: i64,
) -> StoreResult<InsertReport> {
    let mut report = InsertReport::default();
    let mut lives: HashMap<(String, Option<String>, Option<String>), Option<i64>> = HashMap::new();
    let mut prepared = Vec::with_capacity(rows.len());
    for row in rows {
        let (live, status, outcome, reason): (_, &'static str, Option<OutcomeKind>, _) =
            match &row.ignore_reason {
                Some(reason) => (
                    None,
                    "done",
                    Some(OutcomeKind::Ignored),
                    Some(reason.clone()),
                ),
                None => {
                    let key = (
                        row.platform.clone(),
                        row.object_id.clone(),
                        row.page_id.clone(),
                    );
                    let live = match lives.get(&key) {
                        Some(live) => *live,
                        None => {
                            let live = live_for(tx, row).await?;
                            lives.insert(key, live);
                            live
                        }
                    };
                    match live {
                        Some(live) => (Some(live), "pending", None, None),
                        None => (
                            None,
                            "done",
                            Some(OutcomeKind::Ignored),
                            Some("unbound".to_string()),
                        ),
                    }
                }
            };
        prepared.push((row, live, status, outcome, reason));
    }
    let mut inserted_edits = Vec::new();
    for chunk in prepared.chunks(200) {
        let inserted = insert_rows(tx, chunk, now).await?;
        report.inserted += inserted.len();
        report.duplicates += chunk.len() - inserted.len();
        inserted_edits.extend(
            inserted
                .into_iter()
                .filter(|(_, verb)| verb != "add")
                .map(|(id, _)| id),
        );
    }
    for id in inserted_edits {
        apply_change_to_pending(tx, id, now).await?;
    }
    Ok(report)
}

/// A row with what the inbox decided at arrival: its live session, status and outcome.
type Prepared<'a> = (
    &'a NewInboxRow,
    Option<i64>,
    &'static str,
    Option<OutcomeKind>,
    Option<String>,
);

const INBOX_COLUMNS: &str = "INSERT INTO inbox (platform, external_id, kind, verb, comment_id, object_id, page_id, \
     author_id, author_name, text, platform_time_ms, live_id, source, raw, status, outcome, reason, \
     received_at_ms, processed_at_ms) ";

/// Inserts rows, skipping known ones; returns (id, verb) of the new ones.
async fn insert_rows(
    tx: &mut Tx,
    rows: &[Prepared<'_>],
    now: i64,
) -> StoreResult<Vec<(i64, String)>> {
    let processed = |status: &str| if status == "done" { Some(now) } else { None };
    let returned = match tx.conn() {
        // One statement shape for any row count: prepared once, where a VALUES list of
        // each length would be parsed and planned anew.
        TxConn::Postgres(t) => {
            let col =
                |f: &dyn Fn(&Prepared) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
            sqlx::query(concat!(
                "INSERT INTO inbox (platform, external_id, kind, verb, comment_id, object_id, page_id, ",
                "author_id, author_name, text, platform_time_ms, live_id, source, raw, status, outcome, reason, ",
                "received_at_ms, processed_at_ms) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], ",
                "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], ",
                "$11::int8[], $12::int8[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], ",
                "$18::int8[], $19::int8[]) ON CONFLICT (platform, external_id) DO NOTHING RETURNING id, verb"
            ))
            .bind(col(&|r| Some(r.0.platform.clone())))
            .bind(col(&|r| Some(r.0.external_id.clone())))
            .bind(col(&|r| Some(r.0.kind.clone())))
            .bind(col(&|r| Some(r.0.verb.clone())))
            .bind(col(&|r| r.0.comment_id.clone()))
            .bind(col(&|r| r.0.object_id.clone()))
            .bind(col(&|r| r.0.page_id.clone()))
            .bind(col(&|r| r.0.author_id.clone()))
            .bind(col(&|r| r.0.author_name.clone()))
            .bind(col(&|r| r.0.text.clone()))
            .bind(rows.iter().map(|r| r.0.platform_time_ms).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
            .bind(col(&|r| Some(r.0.source.to_string())))
            .bind(col(&|r| Some(r.0.raw.clone())))
            .bind(col(&|r| Some(r.2.to_string())))
            .bind(col(&|r| r.3.map(|o| o.as_str().to_string())))
            .bind(col(&|r| r.4.clone()))
            .bind(vec![now; rows.len()])
            .bind(rows.iter().map(|r| processed(r.2)).collect::<Vec<_>>())
            .fetch_all(&mut **t)
            .await?
            .iter()
            .map(|r| -> StoreResult<(i64, String)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .collect::<StoreResult<Vec<_>>>()?
        }
        TxConn::Sqlite(t) => {
            let mut query = QueryBuilder::new(INBOX_COLUMNS);
            query.push_values(rows, |mut b, (row, live, status, outcome, reason)| {
                b.push_bind(&row.platform)
                    .push_bind(&row.external_id)
                    .push_bind(&row.kind)
                    .push_bind(&row.verb)
                    .push_bind(&row.comment_id)
                    .push_bind(&row.object_id)
                    .push_bind(&row.page_id)
                    .push_bind(&row.author_id)
                    .push_bind(&row.author_name)
                    .push_bind(&row.text)
                    .push_bind(row.platform_time_ms)
                    .push_bind(*live)
                    .push_bind(row.source)
                    .push_bind(&row.raw)
                    .push_bind(*status)
                    .push_bind(*outcome)
                    .push_bind(reason.as_deref())
                    .push_bind(now)
                    .push_bind(processed(status));
            });
            query.push(" ON CONFLICT (platform, external_id) DO NOTHING RETURNING id, verb");
            query
                .build()
                .fetch_all(&mut **t)
                .await?
                .iter()
                .map(|r| -> StoreResult<(i64, String)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .collect::<StoreResult<Vec<_>>>()?
        }
    };
    Ok(returned)
}

/// An edit or removal whose comment is still waiting in the inbox changes that comment
/// and is itself done. Otherwise it stays pending for the sequencer to decide in order.
async fn apply_change_to_pending(tx: &mut Tx, change_id: i64, now: i64) -> StoreResult<()> {
    // On Postgres a comment the sequencer has locked for its batch is skipped, not waited
    // for: the webhook's ack never waits on the sequencer. The change then stays pending
    // and the sequencer decides it after the comment, in order.
    let waiting = if tx.is_postgres() {
        "id IN (SELECT id FROM inbox WHERE platform = $2 AND comment_id = $3 AND verb = 'add' \
         AND status = 'pending' FOR UPDATE SKIP LOCKED)"
    } else {
        "platform = $2 AND comment_id = $3 AND verb = 'add' AND status = 'pending'"
    };
    on_tx!(tx, |conn| {
        let row =
            sqlx::query("SELECT platform, comment_id, verb, text, status FROM inbox WHERE id = $1")
                .bind(change_id)
                .fetch_one(&mut *conn)
                .await?;
        let platform: String = row.try_get(0)?;
        let comment_id: Option<String> = row.try_get(1)?;
        let verb: String = row.try_get(2)?;
        let text: Option<String> = row.try_get(3)?;
        let status: String = row.try_get(4)?;
        let Some(comment_id) = comment_id else {
            return Ok(());
        };
        if status != "pending" {
            return Ok(());
        }
        let applied = if verb == "edited" {
            sqlx::query(&format!("UPDATE inbox SET text = $1 WHERE {waiting}"))
                .bind(&text)
                .bind(&platform)
                .bind(&comment_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        } else {
            sqlx::query(&format!(
                "UPDATE inbox SET status = 'done', outcome = 'ignored', \
                 reason = 'removed_before_processing', processed_at_ms = $1 WHERE {waiting}"
            ))
            .bind(now)
            .bind(&platform)
            .bind(&comment_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        };
        if applied > 0 {
            sqlx::query(
                "UPDATE inbox SET status = 'done', outcome = 'ignored', reason = 'applied_before_processing', \
                 processed_at_ms = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(change_id)
            .execute(&mut *conn)
            .await?;
        }
    });
    Ok(())
}

/// Takes the next batch of one live session's pending events in fair order: platform time,
/// then arrival. Only events up to the watermark are taken: the latest platform time among
/// events that arrived at least `window_ms` ago. A late delivery with an earlier platform
/// time, if it arrives within the window, is still taken before the events after it.
pub async fn next_batch_in(
    tx: &mut Tx,
    live_id: i64,
    now: i64,
    window_ms: i64,
    limit: i64,
) -> StoreResult<Vec<PendingEvent>> {
    // On SQLite, events the intake journal has not handed over yet may have arrived
    // before the window's end: the window stops at the journal's horizon.
    let sql = if tx.is_postgres() {
        "SELECT MAX(platform_time_ms) FROM inbox WHERE live_id = $1 AND status = 'pending' \
         AND received_at_ms <= $2"
    } else {
        "SELECT MAX(platform_time_ms) FROM inbox WHERE live_id = $1 AND status = 'pending' \
         AND received_at_ms <= MIN($2, COALESCE((SELECT horizon_ms FROM intake_position), $2))"
    };
    let watermark: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar(sql)
            .bind(live_id)
            .bind(now - window_ms)
            .fetch_one(&mut *conn)
            .await?
    });
    let Some(watermark) = watermark else {
        return Ok(Vec::new());
    };
    let sql = if tx.is_postgres() {
        "SELECT id, platform, kind, verb, comment_id, page_id, author_id, author_name, text FROM inbox \
         WHERE live_id = $1 AND status = 'pending' AND platform_time_ms <= $2 \
         ORDER BY platform_time_ms, id LIMIT $3 FOR UPDATE"
    } else {
        "SELECT id, platform, kind, verb, comment_id, page_id, author_id, author_name, text FROM inbox \
         WHERE live_id = $1 AND status = 'pending' AND platform_time_ms <= $2 \
         ORDER BY platform_time_ms, id LIMIT $3"
    };
    on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(live_id)
            .bind(watermark)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| -> StoreResult<PendingEvent> {
                Ok(PendingEvent {
                    id: r.try_get(0)?,
                    platform: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    verb: r.try_get(3)?,
                    comment_id: r.try_get(4)?,
                    page_id: r.try_get(5)?,
                    author_id: r.try_get(6)?,
                    author_name: r.try_get(7)?,
                    text: r.try_get(8)?,
                })
            })
            .collect()
    })
}

/// Records the one outcome of an event. Only a pending event can get one, so a second
/// decision of the same event (a replica that lost its lease) changes nothing.
pub async fn finish_event_in(
    tx: &mut Tx,
    id: i64,
    outcome: &EventOutcome<'_>,
    now: i64,
) -> StoreResult<bool> {
    let holds = serde_json::to_string(&outcome.hold_ids).unwrap_or_else(|_| "[]".into());
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE inbox SET status = 'done', outcome = $1, reason = $2, parse_result = $3, member_id = $4, \
             hold_ids = $5, processed_at_ms = $6 WHERE id = $7 AND status = 'pending'",
        )
        .bind(outcome.outcome)
        .bind(outcome.reason)
        .bind(outcome.parse_result.as_deref())
        .bind(outcome.member_id)
        .bind(&holds)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    }) == 1)
}

/// Records many events' outcomes at once (the sequencer's batch) in one statement on
/// either backend. Returns, per event, whether it was still pending (and so is now
/// decided by this call).
pub async fn finish_events_in(
    tx: &mut Tx,
    events: &[(i64, EventOutcome<'_>)],
    now: i64,
) -> StoreResult<Vec<bool>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|(id, outcome)| {
            serde_json::json!({
                "id": id, "outcome": outcome.outcome, "reason": outcome.reason,
                "parse_result": outcome.parse_result, "member_id": outcome.member_id,
                "hold_ids": serde_json::to_string(&outcome.hold_ids).unwrap_or_else(|_| "[]".into()),
            })
        })
        .collect();
    let rows = serde_json::Value::Array(rows).to_string();
    let sql = if tx.is_postgres() {
        "UPDATE inbox SET status = 'done', outcome = u.outcome, reason = u.reason, \
         parse_result = u.parse_result, member_id = u.member_id, hold_ids = u.hold_ids, processed_at_ms = $2 \
         FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS u(id BIGINT, outcome TEXT, reason TEXT, \
         parse_result TEXT, member_id BIGINT, hold_ids TEXT) \
         WHERE inbox.id = u.id AND inbox.status = 'pending' RETURNING inbox.id"
    } else {
        "UPDATE inbox SET status = 'done', outcome = u.outcome, reason = u.reason, \
         parse_result = u.parse_result, member_id = u.member_id, hold_ids = u.hold_ids, processed_at_ms = $2 \
         FROM (SELECT value ->> 'id' AS id, value ->> 'outcome' AS outcome, value ->> 'reason' AS reason, \
         value ->> 'parse_result' AS parse_result, value ->> 'member_id' AS member_id, \
         value ->> 'hold_ids' AS hold_ids FROM json_each($1)) AS u \
         WHERE inbox.id = u.id AND inbox.status = 'pending' RETURNING inbox.id"
    };
    let finished: std::collections::HashSet<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(&rows)
            .bind(now)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    });
    Ok(events.iter().map(|(id, _)| finished.contains(id)).collect())
}

/// Replaces the outcome of a needs_review event once staff decided it.
/// Records a staff decision on a comment waiting for review, and who made it. False when
/// the comment no longer waits (someone else decided it first).
pub async fn resolve_review_in(
    tx: &mut Tx,
    id: i64,
    outcome: &EventOutcome<'_>,
    decided_by: &str,
    now: i64,
) -> StoreResult<bool> {
    let holds = serde_json::to_string(&outcome.hold_ids).unwrap_or_else(|_| "[]".into());
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE inbox SET outcome = $1, reason = $2, member_id = COALESCE($3, member_id), hold_ids = $4, \
             processed_at_ms = $5, decided_by = $7 WHERE id = $6 AND outcome = 'needs_review'",
        )
        .bind(outcome.outcome)
        .bind(outcome.reason)
        .bind(outcome.member_id)
        .bind(&holds)
        .bind(now)
        .bind(id)
        .bind(decided_by)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    }) == 1)
}

pub async fn insert_outbox_in(tx: &mut Tx, rows: &[NewOutboxRow], now: i64) -> StoreResult<()> {
    for chunk in rows.chunks(300) {
        on_tx!(tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO outbox (inbox_id, kind, target, body, dedupe_key, status, attempts, \
                 next_attempt_ms, created_at_ms) ",
            );
            query.push_values(chunk, |mut b, r| {
                b.push_bind(r.inbox_id)
                    .push_bind(r.kind)
                    .push_bind(&r.target)
                    .push_bind(&r.body)
                    .push_bind(&r.dedupe_key)
                    .push_bind("pending")
                    .push_bind(0i64)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (dedupe_key) DO NOTHING");
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// An author as the platform names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub platform: String,
    pub user_id: String,
    pub display_name: String,
}

/// The members behind a batch's authors, made as guests on first sight: one lookup and
/// at most two multi-row inserts per batch, not three statements per author.
pub async fn members_for_identities_in(
    tx: &mut Tx,
    identities: &[Identity],
    now: i64,
) -> StoreResult<HashMap<(String, String), i64>> {
    let mut found: HashMap<(String, String), i64> = HashMap::new();
    if identities.is_empty() {
        return Ok(found);
    }
    // Each step is one statement for the whole batch; rows travel as one JSON parameter.
    let asked: Vec<serde_json::Value> = identities
        .iter()
        .map(|id| serde_json::json!({"p": id.platform, "u": id.user_id}))
        .collect();
    let asked = serde_json::Value::Array(asked).to_string();
    let lookup = if tx.is_postgres() {
        "SELECT i.platform, i.platform_user_id, i.member_id FROM identities i \
         JOIN jsonb_to_recordset(CAST($1 AS jsonb)) AS d(p TEXT, u TEXT) \
         ON i.platform = d.p AND i.platform_user_id = d.u"
    } else {
        "SELECT i.platform, i.platform_user_id, i.member_id FROM identities i \
         JOIN (SELECT value ->> 'p' AS p, value ->> 'u' AS u FROM json_each($1)) AS d \
         ON i.platform = d.p AND i.platform_user_id = d.u"
    };
    let rows = on_tx!(tx, |conn| {
        sqlx::query(lookup)
            .bind(&asked)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| -> StoreResult<(String, String, i64)> {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            })
            .collect::<StoreResult<Vec<_>>>()?
    });
    for (platform, user, member) in rows {
        found.insert((platform, user), member);
    }
    super::members::follow_merges_in(tx, &mut found).await?;
    let mut missing: Vec<&Identity> = Vec::new();
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for id in identities {
        let key = (id.platform.clone(), id.user_id.clone());
        if !found.contains_key(&key) && seen.insert((&id.platform, &id.user_id)) {
            missing.push(id);
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let ids = super::stock::next_ids(tx, super::stock::IdTable::Members, missing.len()).await?;
    let rows: Vec<serde_json::Value> = missing
        .iter()
        .zip(&ids)
        .map(|(who, id)| {
            serde_json::json!({"id": id, "p": who.platform, "u": who.user_id, "n": who.display_name})
        })
        .collect();
    let rows = serde_json::Value::Array(rows).to_string();
    let (members, links) = if tx.is_postgres() {
        (
            "INSERT INTO members (id, display_name, created_at_ms) \
             SELECT id, n, $2 FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(id BIGINT, n TEXT)",
            "INSERT INTO identities (platform, platform_user_id, member_id, display_name, created_at_ms) \
             SELECT p, u, id, n, $2 FROM jsonb_to_recordset(CAST($1 AS jsonb)) \
             AS d(id BIGINT, p TEXT, u TEXT, n TEXT)",
        )
    } else {
        (
            "INSERT INTO members (id, display_name, created_at_ms) \
             SELECT value ->> 'id', value ->> 'n', $2 FROM json_each($1)",
            "INSERT INTO identities (platform, platform_user_id, member_id, display_name, created_at_ms) \
             SELECT value ->> 'p', value ->> 'u', value ->> 'id', value ->> 'n', $2 FROM json_each($1)",
        )
    };
    for sql in [members, links] {
        on_tx!(tx, |conn| {
            sqlx::query(sql)
                .bind(&rows)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        });
    }
    for (who, id) in missing.iter().zip(ids) {
        found.insert((who.platform.clone(), who.user_id.clone()), id);
    }
    Ok(found)
}

/// The outcome and holds of the comment an edit or removal refers to.
pub async fn original_of_in(
    tx: &mut Tx,
    platform: &str,
    comment_id: &str,
) -> StoreResult<Option<(i64, Option<OutcomeKind>, Vec<i64>)>> {
    on_tx!(tx, |conn| {
        let row = sqlx::query(
            "SELECT id, outcome, hold_ids FROM inbox WHERE platform = $1 AND comment_id = $2 AND verb = 'add'",
        )
        .bind(platform)
        .bind(comment_id)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| -> StoreResult<_> {
            let holds: String = r.try_get(2)?;
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                serde_json::from_str(&holds).unwrap_or_default(),
            ))
        })
        .transpose()
    })
}

impl Store {
    /// Inserts events in their own transaction; the webhook's group commit uses
    /// [`insert_inbox_in`] to share one.
    pub async fn insert_inbox(&self, rows: &[NewInboxRow]) -> StoreResult<InsertReport> {
        let mut tx = self.begin_write().await?;
        let report = insert_inbox_in(&mut tx, rows, super::now_ms()).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// The raw payload stored for one platform event, as it arrived.
    pub async fn inbox_raw(
        &self,
        platform: &str,
        external_id: &str,
    ) -> StoreResult<Option<String>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT raw FROM inbox WHERE platform = $1 AND external_id = $2")
                .bind(platform)
                .bind(external_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Live sessions with events waiting for the sequencer.
    pub async fn lives_with_pending(&self) -> StoreResult<Vec<i64>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT DISTINCT live_id FROM inbox WHERE status = 'pending' AND live_id IS NOT NULL",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// When the oldest waiting event of a session arrived, if any waits.
    pub async fn oldest_pending_arrival(&self, live_id: i64) -> StoreResult<Option<i64>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT MIN(received_at_ms) FROM inbox WHERE live_id = $1 AND status = 'pending'",
            )
            .bind(live_id)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Events of a live session, oldest first, after `cursor` (an event id).
    pub async fn live_events(
        &self,
        live_id: i64,
        outcome: Option<OutcomeKind>,
        cursor: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventView>> {
        self.events_where(Some(live_id), outcome, None, cursor, limit)
            .await
    }

    /// Events of a live session whose author's name contains `author` (any case),
    /// oldest first, after `cursor`: the console's comment stream.
    pub async fn live_events_by_author(
        &self,
        live_id: i64,
        outcome: Option<OutcomeKind>,
        author: Option<&str>,
        cursor: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventView>> {
        // LIKE's wildcards in a name are matched as themselves.
        let pattern = author.map(|a| {
            let escaped = a
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        self.events_where(Some(live_id), outcome, pattern.as_deref(), cursor, limit)
            .await
    }

    /// Events waiting for staff, oldest first.
    pub async fn review_queue(&self, cursor: i64, limit: i64) -> StoreResult<Vec<EventView>> {
        self.events_where(None, Some(OutcomeKind::NeedsReview), None, cursor, limit)
            .await
    }

    pub async fn event(&self, id: i64) -> StoreResult<Option<EventView>> {
        let mut events = self.events_where(None, None, None, id - 1, 1).await?;
        Ok(events.pop().filter(|e| e.id == id))
    }

    async fn events_where(
        &self,
        live_id: Option<i64>,
        outcome: Option<OutcomeKind>,
        author: Option<&str>,
        cursor: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventView>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, platform, kind, verb, external_id, comment_id, object_id, author_id, author_name, \
                 text, platform_time_ms, live_id, source, status, outcome, reason, parse_result, member_id, \
                 hold_ids, decided_by FROM inbox WHERE ($1 IS NULL OR live_id = $1) AND ($2 IS NULL OR outcome = $2) \
                 AND id > $3 AND ($5 IS NULL OR LOWER(author_name) LIKE $5 ESCAPE '\\') ORDER BY id LIMIT $4",
            )
            .bind(live_id)
            .bind(outcome)
            .bind(cursor)
            .bind(limit)
            .bind(author)
            .fetch_all(pool)
            .await?;
            let mut events = Vec::with_capacity(rows.len());
            for r in &rows {
                let parse: Option<String> = r.try_get(16)?;
                let holds: String = r.try_get(18)?;
                events.push(EventView {
                    id: r.try_get(0)?,
                    platform: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    verb: r.try_get(3)?,
                    external_id: r.try_get(4)?,
                    comment_id: r.try_get(5)?,
                    object_id: r.try_get(6)?,
                    author_id: r.try_get(7)?,
                    author_name: r.try_get(8)?,
                    text: r.try_get(9)?,
                    platform_time_ms: r.try_get(10)?,
                    live_id: r.try_get(11)?,
                    source: r.try_get(12)?,
                    status: r.try_get(13)?,
                    outcome: r.try_get(14)?,
                    reason: r.try_get(15)?,
                    parse: parse.and_then(|p| serde_json::from_str(&p).ok()),
                    member_id: r.try_get(17)?,
                    hold_ids: serde_json::from_str(&holds).unwrap_or_default(),
                    decided_by: r.try_get(19)?,
                    replies: Vec::new(),
                });
            }
            if let (Some(first), Some(last)) =
                (events.first().map(|e| e.id), events.last().map(|e| e.id))
            {
                let replies = sqlx::query(
                    "SELECT id, inbox_id, kind, target, status, platform_message_id, topic, \
                     priority, attempts, last_error, sent_at_ms FROM outbox \
                     WHERE inbox_id >= $1 AND inbox_id <= $2 ORDER BY id",
                )
                .bind(first)
                .bind(last)
                .fetch_all(pool)
                .await?;
                for r in &replies {
                    let inbox_id: i64 = r.try_get(1)?;
                    if let Some(event) = events.iter_mut().find(|e| e.id == inbox_id) {
                        event.replies.push(OutboxView {
                            id: r.try_get(0)?,
                            kind: r.try_get(2)?,
                            target: r.try_get(3)?,
                            status: r.try_get(4)?,
                            platform_message_id: r.try_get(5)?,
                            topic: r.try_get(6)?,
                            priority: r.try_get(7)?,
                            attempts: r.try_get(8)?,
                            last_error: r.try_get(9)?,
                            sent_at_ms: r.try_get(10)?,
                        });
                    }
                }
            }
            Ok(events)
        })
    }

    /// Counts of events by outcome (`pending` for undecided), for tests and the console.
    /// Acknowledged events still in the intake journal count as pending. The inbox and
    /// the journal position are read in one snapshot, so a row moved meanwhile is
    /// counted once.
    pub async fn outcome_counts(&self) -> StoreResult<HashMap<String, i64>> {
        let mut tx = self.begin_read().await?;
        let position = super::intake::position_in(&mut tx).await?;
        let mut counts: HashMap<String, i64> = on_tx!(tx, |conn| {
            let rows = sqlx::query(
                "SELECT COALESCE(outcome, 'pending'), COUNT(*) FROM inbox GROUP BY COALESCE(outcome, 'pending')",
            )
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<(String, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .collect::<StoreResult<_>>()?
        });
        tx.commit().await?;
        let backlog = self.intake_backlog_after(position).await?;
        if backlog > 0 {
            *counts.entry("pending".into()).or_default() += backlog;
        }
        Ok(counts)
    }
}

/// A needs_review event, locked for staff to decide: the event, its live and its member.
pub async fn review_event_in(
    tx: &mut Tx,
    id: i64,
) -> StoreResult<Option<(PendingEvent, Option<i64>, Option<i64>)>> {
    let sql = if tx.is_postgres() {
        "SELECT id, platform, kind, verb, comment_id, page_id, author_id, author_name, text, live_id, member_id \
         FROM inbox WHERE id = $1 AND outcome = 'needs_review' FOR UPDATE"
    } else {
        "SELECT id, platform, kind, verb, comment_id, page_id, author_id, author_name, text, live_id, member_id \
         FROM inbox WHERE id = $1 AND outcome = 'needs_review'"
    };
    on_tx!(tx, |conn| {
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.map(|r| -> StoreResult<_> {
            Ok((
                PendingEvent {
                    id: r.try_get(0)?,
                    platform: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    verb: r.try_get(3)?,
                    comment_id: r.try_get(4)?,
                    page_id: r.try_get(5)?,
                    author_id: r.try_get(6)?,
                    author_name: r.try_get(7)?,
                    text: r.try_get(8)?,
                },
                r.try_get(9)?,
                r.try_get(10)?,
            ))
        })
        .transpose()
    })
}

#[cfg(test)]
mod storable_tests {
    use super::NewInboxRow;

    fn row(text: &str, raw: &str) -> NewInboxRow {
        NewInboxRow {
            platform: "facebook".into(),
            external_id: "c\0_1".into(),
            kind: "comment".into(),
            verb: "add".into(),
            comment_id: Some("c\0_1".into()),
            object_id: None,
            page_id: None,
            author_id: Some("u1".into()),
            author_name: Some("A\0nn".into()),
            text: Some(text.into()),
            platform_time_ms: 0,
            source: "webhook",
            raw: raw.into(),
            ignore_reason: None,
        }
    }

    #[test]
    fn nuls_leave_the_decoded_fields_and_stay_encoded_in_raw() {
        let mut r = row("A01\0+1\0", r#"{"message":"A01\u0000+1"}"#);
        assert!(r.make_storable());
        assert_eq!(r.text.as_deref(), Some("A01+1"));
        assert_eq!(r.external_id, "c_1");
        assert_eq!(r.comment_id.as_deref(), Some("c_1"));
        assert_eq!(r.author_name.as_deref(), Some("Ann"));
        // JSON already holds the NUL as an escape: the raw is untouched.
        assert_eq!(r.raw, r#"{"message":"A01\u0000+1"}"#);

        let mut bare = row("ok", "not json \0 here");
        assert!(bare.make_storable());
        assert_eq!(bare.raw, r"not json \u0000 here");
        assert!(!bare.raw.contains('\0'));

        let mut clean = row("A01+1", "{}");
        clean.external_id = "c_1".into();
        clean.comment_id = None;
        clean.author_name = None;
        assert!(!clean.make_storable());
    }
}
