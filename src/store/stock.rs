//! Stock levels, holds, the waitlist and the movement log.
//!
//! Every change to a level writes a movement in the same transaction, so the movements
//! always sum to the levels. Postgres rows are locked in SKU order (`FOR UPDATE`) so that
//! replicas serialise per SKU without deadlocks; SQLite has one writer (`BEGIN IMMEDIATE`).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Row};
use utoipa::ToSchema;

use super::{now_ms, on_pool, on_tx, Store, StoreError, StoreResult, Tx};
use crate::ledger::{
    self, BatchState, Channel, Level, LiveId, MemberId, Rejection, ReserveRequest, SkuId, Waiting,
};

/// Statements are `&'static str`; this picks the Postgres or SQLite spelling of one that
/// locks rows on Postgres and relies on SQLite's single writer.
macro_rules! locking {
    ($tx:expr, $sql:literal) => {
        if $tx.is_postgres() {
            concat!($sql, " FOR UPDATE")
        } else {
            $sql
        }
    };
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StockLevel {
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HoldRef {
    pub id: i64,
    pub sku_id: i64,
    pub qty: i64,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WaitRef {
    pub id: i64,
    pub qty: i64,
    /// 1 is the head of the line for this SKU.
    pub position: i64,
}

/// What one reservation request got.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReserveOutcome {
    pub hold: Option<HoldRef>,
    pub waitlist: Option<WaitRef>,
    /// Units neither held nor waiting.
    pub unfilled: i64,
    pub rejection: Option<Rejection>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HoldView {
    pub id: i64,
    pub sku: String,
    pub qty: i64,
    pub status: String,
    pub member_id: Option<i64>,
    pub live_id: Option<i64>,
    pub channel: String,
    pub reference: String,
    pub expires_at_ms: i64,
}

/// Why a hold could not be committed or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldChange {
    Done(i64),
    NotFound,
    /// The hold is already committed, released or expired.
    NotActive(String),
}

/// A request made with an idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub scope: &'static str,
    pub key: String,
    /// A hash of the request body: the same key with another body is refused.
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Idempotent<T> {
    /// Done now.
    Fresh(T),
    /// Done before with the same key and body; this is the earlier result.
    Replayed(T),
    /// The key was used before with a different body.
    KeyReused,
}

impl<T> Idempotent<T> {
    pub fn into_inner(self) -> Option<T> {
        match self {
            Idempotent::Fresh(t) | Idempotent::Replayed(t) => Some(t),
            Idempotent::KeyReused => None,
        }
    }
}

enum Claim {
    New,
    Replay(String),
    Mismatch,
}

/// One row of the movement log.
struct Movement<'a> {
    sku_id: SkuId,
    kind: &'static str,
    on_hand_delta: i64,
    reserved_delta: i64,
    channel: &'a str,
    reference: &'a str,
    idempotency_key: Option<&'a str>,
}

struct NewHold<'a> {
    id: i64,
    sku_id: SkuId,
    member_id: Option<MemberId>,
    live_id: Option<LiveId>,
    qty: i64,
    channel: &'a str,
    reference: &'a str,
    source: &'static str,
    expires_at_ms: i64,
}

#[derive(Clone, Copy)]
pub(crate) enum IdTable {
    Holds,
    Waitlist,
    Members,
}

/// Rows per multi-row INSERT: well under both backends' bind-parameter limits.
const INSERT_CHUNK: usize = 500;

// ---- transaction-level pieces -------------------------------------------------------

async fn lock_levels(tx: &mut Tx, skus: &BTreeSet<SkuId>) -> StoreResult<HashMap<SkuId, Level>> {
    let sql = locking!(
        tx,
        "SELECT on_hand, reserved FROM stock_levels WHERE sku_id = $1"
    );
    let mut levels = HashMap::with_capacity(skus.len());
    for &sku in skus {
        let row = on_tx!(tx, |conn| {
            sqlx::query(sql)
                .bind(sku)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| -> StoreResult<Level> {
                    Ok(Level {
                        on_hand: r.try_get(0)?,
                        reserved: r.try_get(1)?,
                    })
                })
                .transpose()?
        });
        if let Some(level) = row {
            levels.insert(sku, level);
        }
    }
    Ok(levels)
}

async fn blocked_members(
    tx: &mut Tx,
    members: &BTreeSet<MemberId>,
) -> StoreResult<HashMap<MemberId, String>> {
    let mut blocked = HashMap::new();
    if members.is_empty() {
        return Ok(blocked);
    }
    let ids: Vec<MemberId> = members.iter().copied().collect();
    for chunk in ids.chunks(INSERT_CHUNK) {
        on_tx!(tx, |conn| {
            let mut query = QueryBuilder::new(
                "SELECT id, blocked_reason FROM members WHERE blocked_reason IS NOT NULL AND id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            for row in query.build().fetch_all(&mut *conn).await? {
                blocked.insert(row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?);
            }
        });
    }
    Ok(blocked)
}

/// Units a member holds, bought or waits for, of one SKU in one live session.
async fn member_taken(
    tx: &mut Tx,
    member: MemberId,
    sku: SkuId,
    live: Option<LiveId>,
) -> StoreResult<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM ( \
               SELECT qty FROM holds WHERE member_id = $1 AND sku_id = $2 \
                 AND live_id IS NOT DISTINCT FROM $3 AND status IN ('active', 'committed') \
               UNION ALL \
               SELECT qty FROM waitlist WHERE member_id = $1 AND sku_id = $2 \
                 AND live_id IS NOT DISTINCT FROM $3 AND status = 'waiting') taken",
        )
        .bind(member)
        .bind(sku)
        .bind(live)
        .fetch_one(&mut *conn)
        .await?
    }))
}

/// Moves `reserved` (and `on_hand`) of one SKU. The WHERE clause repeats the ledger's
/// rule, so a wrong plan fails loudly instead of overselling.
async fn change_level(
    tx: &mut Tx,
    sku: SkuId,
    on_hand_delta: i64,
    reserved_delta: i64,
    now: i64,
) -> StoreResult<()> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE stock_levels SET on_hand = on_hand + $1, reserved = reserved + $2, updated_at_ms = $3 \
             WHERE sku_id = $4 AND reserved + $2 >= 0 AND reserved + $2 <= on_hand + $1",
        )
        .bind(on_hand_delta)
        .bind(reserved_delta)
        .bind(now)
        .bind(sku)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if changed != 1 {
        return Err(StoreError::Invariant(format!(
            "stock level of SKU {sku} refused on_hand {on_hand_delta:+}, reserved {reserved_delta:+}"
        )));
    }
    Ok(())
}

/// Takes `n` ids for new rows, so a multi-row INSERT knows which id each request got.
pub(crate) async fn next_ids(tx: &mut Tx, table: IdTable, n: usize) -> StoreResult<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let ids = match tx {
        Tx::Postgres(t) => {
            let sql = match table {
                IdTable::Holds => "SELECT nextval(pg_get_serial_sequence('holds', 'id')) FROM generate_series(1, $1)",
                IdTable::Waitlist => "SELECT nextval(pg_get_serial_sequence('waitlist', 'id')) FROM generate_series(1, $1)",
                IdTable::Members => "SELECT nextval(pg_get_serial_sequence('members', 'id')) FROM generate_series(1, $1)",
            };
            let mut ids: Vec<i64> = sqlx::query_scalar(sql)
                .bind(n as i64)
                .fetch_all(&mut **t)
                .await?;
            ids.sort_unstable();
            ids
        }
        // The write lock is held, so nobody else can take ids between this read and the insert.
        Tx::Sqlite(t) => {
            let sql = match table {
                IdTable::Holds => "SELECT COALESCE(MAX(id), 0) FROM holds",
                IdTable::Waitlist => "SELECT COALESCE(MAX(id), 0) FROM waitlist",
                IdTable::Members => "SELECT COALESCE(MAX(id), 0) FROM members",
            };
            let max: i64 = sqlx::query_scalar(sql).fetch_one(&mut **t).await?;
            (1..=n as i64).map(|i| max + i).collect()
        }
    };
    Ok(ids)
}

async fn insert_holds(tx: &mut Tx, holds: &[NewHold<'_>], now: i64) -> StoreResult<()> {
    if holds.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(t) = tx {
        // One statement shape for any count: a VALUES list of each length would be
        // parsed and planned anew, which costs more than the insert itself.
        sqlx::query(
            "INSERT INTO holds (id, sku_id, member_id, live_id, qty, status, channel, reference, source, \
             expires_at_ms, created_at_ms, updated_at_ms) \
             SELECT id, sku_id, member_id, live_id, qty, 'active', channel, reference, source, expires_at_ms, $10, $10 \
             FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::text[], $7::text[], \
             $8::text[], $9::int8[]) AS h(id, sku_id, member_id, live_id, qty, channel, reference, source, expires_at_ms)",
        )
        .bind(holds.iter().map(|h| h.id).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.sku_id).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.member_id).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.live_id).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.qty).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.channel).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.reference).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.source).collect::<Vec<_>>())
        .bind(holds.iter().map(|h| h.expires_at_ms).collect::<Vec<_>>())
        .bind(now)
        .execute(&mut **t)
        .await?;
        return Ok(());
    }
    for chunk in holds.chunks(INSERT_CHUNK) {
        on_tx!(tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO holds (id, sku_id, member_id, live_id, qty, status, channel, reference, \
                 source, expires_at_ms, created_at_ms, updated_at_ms) ",
            );
            query.push_values(chunk, |mut row, h| {
                row.push_bind(h.id)
                    .push_bind(h.sku_id)
                    .push_bind(h.member_id)
                    .push_bind(h.live_id)
                    .push_bind(h.qty)
                    .push_bind("active")
                    .push_bind(h.channel)
                    .push_bind(h.reference)
                    .push_bind(h.source)
                    .push_bind(h.expires_at_ms)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

async fn insert_movements(tx: &mut Tx, movements: &[Movement<'_>], now: i64) -> StoreResult<()> {
    if movements.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(t) = tx {
        sqlx::query(
            "INSERT INTO stock_movements (sku_id, kind, on_hand_delta, reserved_delta, channel, reference, \
             idempotency_key, created_at_ms) \
             SELECT sku_id, kind, on_hand_delta, reserved_delta, channel, reference, idempotency_key, $8 \
             FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[]) \
             AS m(sku_id, kind, on_hand_delta, reserved_delta, channel, reference, idempotency_key)",
        )
        .bind(movements.iter().map(|m| m.sku_id).collect::<Vec<_>>())
        .bind(movements.iter().map(|m| m.kind).collect::<Vec<_>>())
        .bind(movements.iter().map(|m| m.on_hand_delta).collect::<Vec<_>>())
        .bind(movements.iter().map(|m| m.reserved_delta).collect::<Vec<_>>())
        .bind(movements.iter().map(|m| m.channel).collect::<Vec<_>>())
        .bind(movements.iter().map(|m| m.reference).collect::<Vec<_>>())
        .bind(movements.iter().map(|m| m.idempotency_key).collect::<Vec<_>>())
        .bind(now)
        .execute(&mut **t)
        .await?;
        return Ok(());
    }
    for chunk in movements.chunks(INSERT_CHUNK) {
        on_tx!(tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO stock_movements (sku_id, kind, on_hand_delta, reserved_delta, channel, \
                 reference, idempotency_key, created_at_ms) ",
            );
            query.push_values(chunk, |mut row, m| {
                row.push_bind(m.sku_id)
                    .push_bind(m.kind)
                    .push_bind(m.on_hand_delta)
                    .push_bind(m.reserved_delta)
                    .push_bind(m.channel)
                    .push_bind(m.reference)
                    .push_bind(m.idempotency_key)
                    .push_bind(now);
            });
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

async fn waiting_count(tx: &mut Tx, sku: SkuId) -> StoreResult<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM waitlist WHERE sku_id = $1 AND status = 'waiting'",
        )
        .bind(sku)
        .fetch_one(&mut *conn)
        .await?
    }))
}

/// Applies a batch of reservation requests inside `tx`, in order: the first request wins.
/// One conditional UPDATE per SKU, multi-row inserts for holds, waitlist and movements.
pub async fn reserve_batch_in(
    tx: &mut Tx,
    requests: &[ReserveRequest],
    now: i64,
) -> StoreResult<Vec<ReserveOutcome>> {
    let skus: BTreeSet<SkuId> = requests.iter().map(|r| r.sku_id).collect();
    let members: BTreeSet<MemberId> = requests.iter().filter_map(|r| r.member_id).collect();
    let mut state = BatchState {
        levels: lock_levels(tx, &skus).await?,
        blocked: blocked_members(tx, &members).await?,
        taken: HashMap::new(),
    };
    for r in requests.iter().filter(|r| r.limit_per_member.is_some()) {
        if let Some(member) = r.member_id {
            let key = (member, r.sku_id, r.live_id);
            if !state.taken.contains_key(&key) {
                let taken = member_taken(tx, member, r.sku_id, r.live_id).await?;
                state.taken.insert(key, taken);
            }
        }
    }
    let plan = ledger::allocate(&state, requests);
    for (&sku, &delta) in &plan.reserved_delta {
        change_level(tx, sku, 0, delta, now).await?;
    }

    let hold_count = plan.decisions.iter().filter(|d| d.held > 0).count();
    let wait_count = plan.decisions.iter().filter(|d| d.waitlisted > 0).count();
    let mut hold_ids = next_ids(tx, IdTable::Holds, hold_count).await?.into_iter();
    let mut wait_ids = next_ids(tx, IdTable::Waitlist, wait_count)
        .await?
        .into_iter();
    let mut line_length: HashMap<SkuId, i64> = HashMap::new();
    for r in plan
        .decisions
        .iter()
        .zip(requests)
        .filter(|(d, _)| d.waitlisted > 0)
        .map(|(_, r)| r)
    {
        if !line_length.contains_key(&r.sku_id) {
            line_length.insert(r.sku_id, waiting_count(tx, r.sku_id).await?);
        }
    }

    let mut holds = Vec::with_capacity(hold_count);
    let mut movements = Vec::with_capacity(hold_count);
    let mut waits = Vec::with_capacity(wait_count);
    let mut outcomes = Vec::with_capacity(requests.len());
    for (decision, request) in plan.decisions.iter().zip(requests) {
        let mut outcome = ReserveOutcome {
            hold: None,
            waitlist: None,
            unfilled: decision.unfilled,
            rejection: decision.rejection.clone(),
        };
        if decision.held > 0 {
            let id = hold_ids
                .next()
                .ok_or_else(|| StoreError::Invariant("hold ids ran out".into()))?;
            let expires_at_ms = now + request.ttl_seconds * 1000;
            holds.push(NewHold {
                id,
                sku_id: request.sku_id,
                member_id: request.member_id,
                live_id: request.live_id,
                qty: decision.held,
                channel: request.channel.as_str(),
                reference: &request.reference,
                source: "request",
                expires_at_ms,
            });
            movements.push(Movement {
                sku_id: request.sku_id,
                kind: "reserve",
                on_hand_delta: 0,
                reserved_delta: decision.held,
                channel: request.channel.as_str(),
                reference: &request.reference,
                idempotency_key: None,
            });
            outcome.hold = Some(HoldRef {
                id,
                sku_id: request.sku_id,
                qty: decision.held,
                expires_at_ms,
            });
        }
        if decision.waitlisted > 0 {
            let id = wait_ids
                .next()
                .ok_or_else(|| StoreError::Invariant("waitlist ids ran out".into()))?;
            let length = line_length.entry(request.sku_id).or_default();
            *length += 1;
            waits.push((id, request, decision.waitlisted));
            outcome.waitlist = Some(WaitRef {
                id,
                qty: decision.waitlisted,
                position: *length,
            });
        }
        outcomes.push(outcome);
    }
    insert_holds(tx, &holds, now).await?;
    insert_movements(tx, &movements, now).await?;
    for chunk in waits.chunks(INSERT_CHUNK) {
        on_tx!(tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO waitlist (id, sku_id, member_id, live_id, qty, status, channel, reference, \
                 ttl_seconds, created_at_ms) ",
            );
            query.push_values(chunk, |mut row, (id, r, qty)| {
                row.push_bind(*id)
                    .push_bind(r.sku_id)
                    .push_bind(r.member_id)
                    .push_bind(r.live_id)
                    .push_bind(*qty)
                    .push_bind("waiting")
                    .push_bind(r.channel.as_str())
                    .push_bind(&r.reference)
                    .push_bind(r.ttl_seconds)
                    .push_bind(now);
            });
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(outcomes)
}

/// Serves the waitlists of `skus` with whatever is available, recording each promotion
/// as a `waitlist_promoted` ledger event for the replies to announce.
pub async fn promote_waitlists_in(
    tx: &mut Tx,
    skus: &BTreeSet<SkuId>,
    now: i64,
) -> StoreResult<usize> {
    let levels = lock_levels(tx, skus).await?;
    let mut promoted = 0;
    for (&sku, level) in levels.iter().filter(|(_, l)| l.available() > 0) {
        let line = on_tx!(tx, |conn| {
            let rows = sqlx::query(
                "SELECT id, member_id, live_id, qty, channel, reference, ttl_seconds FROM waitlist \
                 WHERE sku_id = $1 AND status = 'waiting' ORDER BY id LIMIT $2",
            )
            .bind(sku)
            .bind(level.available())
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<_> {
                    Ok((
                        r.try_get::<i64, _>(0)?,
                        r.try_get::<i64, _>(1)?,
                        r.try_get::<Option<i64>, _>(2)?,
                        r.try_get::<i64, _>(3)?,
                        r.try_get::<String, _>(4)?,
                        r.try_get::<String, _>(5)?,
                        r.try_get::<i64, _>(6)?,
                    ))
                })
                .collect::<StoreResult<Vec<_>>>()?
        });
        let waiting: Vec<Waiting> = line.iter().map(|e| Waiting { id: e.0, qty: e.3 }).collect();
        let promotions = ledger::promote(level.available(), &waiting);
        if promotions.is_empty() {
            continue;
        }
        let ids = next_ids(tx, IdTable::Holds, promotions.len()).await?;
        let mut holds = Vec::with_capacity(promotions.len());
        let mut movements = Vec::with_capacity(promotions.len());
        let mut total = 0;
        for (promotion, id) in promotions.iter().zip(&ids) {
            let Some(entry) = line.iter().find(|e| e.0 == promotion.waitlist_id) else {
                continue;
            };
            total += promotion.qty;
            holds.push(NewHold {
                id: *id,
                sku_id: sku,
                member_id: Some(entry.1),
                live_id: entry.2,
                qty: promotion.qty,
                channel: &entry.4,
                reference: &entry.5,
                source: "waitlist",
                expires_at_ms: now + entry.6 * 1000,
            });
            movements.push(Movement {
                sku_id: sku,
                kind: "reserve",
                on_hand_delta: 0,
                reserved_delta: promotion.qty,
                channel: &entry.4,
                reference: &entry.5,
                idempotency_key: None,
            });
            on_tx!(tx, |conn| {
                sqlx::query(
                    // A served entry keeps its qty as a record; a partly served one keeps
                    // its place with what is still owed.
                    "UPDATE waitlist SET qty = CASE WHEN qty = $1 THEN qty ELSE qty - $1 END, \
                     status = CASE WHEN qty = $1 THEN 'promoted' ELSE status END WHERE id = $2",
                )
                .bind(promotion.qty)
                .bind(promotion.waitlist_id)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO ledger_events (kind, sku_id, member_id, live_id, hold_id, waitlist_id, qty, created_at_ms) \
                     VALUES ('waitlist_promoted', $1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(sku)
                .bind(entry.1)
                .bind(entry.2)
                .bind(*id)
                .bind(promotion.waitlist_id)
                .bind(promotion.qty)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            });
        }
        change_level(tx, sku, 0, total, now).await?;
        insert_holds(tx, &holds, now).await?;
        insert_movements(tx, &movements, now).await?;
        promoted += holds.len();
    }
    Ok(promoted)
}

async fn claim_key(tx: &mut Tx, key: &IdempotencyKey, now: i64) -> StoreResult<Claim> {
    let inserted = on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_hash, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(key.scope)
        .bind(&key.key)
        .bind(&key.request_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let (hash, result): (String, Option<String>) = on_tx!(tx, |conn| {
        let row = sqlx::query(
            "SELECT request_hash, result FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )
        .bind(key.scope)
        .bind(&key.key)
        .fetch_one(&mut *conn)
        .await?;
        (row.try_get(0)?, row.try_get(1)?)
    });
    match result {
        Some(result) if hash == key.request_hash => Ok(Claim::Replay(result)),
        _ => Ok(Claim::Mismatch),
    }
}

async fn save_key_result(tx: &mut Tx, key: &IdempotencyKey, result: &str) -> StoreResult<()> {
    on_tx!(tx, |conn| {
        sqlx::query("UPDATE idempotency_keys SET result = $1 WHERE scope = $2 AND key = $3")
            .bind(result)
            .bind(key.scope)
            .bind(&key.key)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Runs `work` once per idempotency key: a retry with the same body gets the stored result.
async fn once_per_key<T, F>(
    store: &Store,
    key: Option<&IdempotencyKey>,
    work: F,
) -> StoreResult<Idempotent<T>>
where
    T: Serialize + for<'de> Deserialize<'de>,
    F: for<'t> FnOnce(&'t mut Tx, i64) -> futures_util::future::BoxFuture<'t, StoreResult<T>>,
{
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    if let Some(key) = key {
        match claim_key(&mut tx, key, now).await? {
            Claim::New => {}
            Claim::Replay(stored) => {
                let value = serde_json::from_str(&stored)
                    .map_err(|e| StoreError::Invariant(format!("stored idempotent result: {e}")))?;
                return Ok(Idempotent::Replayed(value));
            }
            Claim::Mismatch => return Ok(Idempotent::KeyReused),
        }
    }
    let result = work(&mut tx, now).await?;
    if let Some(key) = key {
        let text = serde_json::to_string(&result)
            .map_err(|e| StoreError::Invariant(format!("idempotent result: {e}")))?;
        save_key_result(&mut tx, key, &text).await?;
    }
    tx.commit().await?;
    Ok(Idempotent::Fresh(result))
}

fn hold_from_row<R: Row>(row: &R) -> StoreResult<HoldView>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(HoldView {
        id: row.try_get("id")?,
        sku: row.try_get("sku")?,
        qty: row.try_get("qty")?,
        status: row.try_get("status")?,
        member_id: row.try_get("member_id")?,
        live_id: row.try_get("live_id")?,
        channel: row.try_get("channel")?,
        reference: row.try_get("reference")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
    })
}

/// Result of a stock adjustment: the new level, or why it was refused.
pub type AdjustResult = Result<StockLevel, Rejection>;

impl Store {
    pub async fn sku_id(&self, sku: &str) -> StoreResult<Option<SkuId>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM skus WHERE sku = $1")
                .bind(sku)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub async fn stock(&self, sku: &str) -> StoreResult<Option<StockLevel>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT s.sku, l.on_hand, l.reserved, l.updated_at_ms FROM skus s \
                 JOIN stock_levels l ON l.sku_id = s.id WHERE s.sku = $1",
            )
            .bind(sku)
            .fetch_optional(pool)
            .await?;
            row.map(|r| level_from_row(&r)).transpose()
        })
    }

    /// Levels changed at or after `since_ms`, oldest change first, for POS sync.
    pub async fn stock_changed_since(
        &self,
        since_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<StockLevel>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT s.sku, l.on_hand, l.reserved, l.updated_at_ms FROM skus s \
                 JOIN stock_levels l ON l.sku_id = s.id WHERE l.updated_at_ms >= $1 \
                 ORDER BY l.updated_at_ms, s.id LIMIT $2",
            )
            .bind(since_ms)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter().map(level_from_row).collect()
        })
    }

    /// Applies a batch in its own transaction. See [`reserve_batch_in`].
    pub async fn reserve_batch(
        &self,
        requests: &[ReserveRequest],
    ) -> StoreResult<Vec<ReserveOutcome>> {
        let mut tx = self.begin_write().await?;
        let outcomes = reserve_batch_in(&mut tx, requests, now_ms()).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    /// One reservation, at most once per idempotency key.
    pub async fn reserve_once(
        &self,
        request: ReserveRequest,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Idempotent<ReserveOutcome>> {
        once_per_key(self, key, move |tx, now| {
            Box::pin(async move {
                let mut outcomes =
                    reserve_batch_in(tx, std::slice::from_ref(&request), now).await?;
                outcomes
                    .pop()
                    .ok_or_else(|| StoreError::Invariant("a request got no outcome".into()))
            })
        })
        .await
    }

    /// Changes `on_hand` by `delta` (a POS sale is -1, a delivery +n). It never takes units
    /// that holds have promised; new units serve the waitlist first.
    pub async fn adjust_stock(
        &self,
        sku_id: SkuId,
        delta: i64,
        channel: Channel,
        reason: &str,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Idempotent<AdjustResult>> {
        let key_text = key.map(|k| k.key.clone());
        let reason = reason.to_string();
        once_per_key(self, key, move |tx, now| {
            Box::pin(async move {
                let skus = BTreeSet::from([sku_id]);
                let Some(level) = lock_levels(tx, &skus).await?.remove(&sku_id) else {
                    return Ok(Err(Rejection::UnknownSku));
                };
                if level.on_hand + delta < level.reserved {
                    return Ok(Err(Rejection::InsufficientStock {
                        available: level.available(),
                    }));
                }
                change_level(tx, sku_id, delta, 0, now).await?;
                insert_movements(
                    tx,
                    &[Movement {
                        sku_id,
                        kind: if delta >= 0 { "receive" } else { "adjust" },
                        on_hand_delta: delta,
                        reserved_delta: 0,
                        channel: channel.as_str(),
                        reference: &reason,
                        idempotency_key: key_text.as_deref(),
                    }],
                    now,
                )
                .await?;
                if delta > 0 {
                    promote_waitlists_in(tx, &skus, now).await?;
                }
                let level = on_tx!(tx, |conn| {
                    let row = sqlx::query(
                        "SELECT s.sku, l.on_hand, l.reserved, l.updated_at_ms FROM skus s \
                         JOIN stock_levels l ON l.sku_id = s.id WHERE s.id = $1",
                    )
                    .bind(sku_id)
                    .fetch_one(&mut *conn)
                    .await?;
                    level_from_row(&row)?
                });
                Ok(Ok(level))
            })
        })
        .await
    }

    pub async fn hold(&self, id: i64) -> StoreResult<Option<HoldView>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT h.id, s.sku, h.qty, h.status, h.member_id, h.live_id, h.channel, h.reference, \
                 h.expires_at_ms FROM holds h JOIN skus s ON s.id = h.sku_id WHERE h.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.map(|r| hold_from_row(&r)).transpose()
        })
    }

    /// Turns an active hold into a sale: the units leave `on_hand` and `reserved`.
    pub async fn commit_hold(&self, id: i64) -> StoreResult<HoldChange> {
        self.finish_hold(id, "committed").await
    }

    /// Gives an active hold's units back and serves the waitlist with them.
    pub async fn release_hold(&self, id: i64) -> StoreResult<HoldChange> {
        self.finish_hold(id, "released").await
    }

    async fn finish_hold(&self, id: i64, status: &'static str) -> StoreResult<HoldChange> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let taken = on_tx!(&mut tx, |conn| {
            let row = sqlx::query(
                "UPDATE holds SET status = $1, updated_at_ms = $2 WHERE id = $3 AND status = 'active' \
                 RETURNING sku_id, qty, channel, reference",
            )
            .bind(status)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            row.map(|r| -> StoreResult<(i64, i64, String, String)> {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
            })
            .transpose()?
        });
        let Some((sku, qty, channel, reference)) = taken else {
            drop(tx);
            return Ok(match self.hold(id).await? {
                Some(hold) => HoldChange::NotActive(hold.status),
                None => HoldChange::NotFound,
            });
        };
        let skus = BTreeSet::from([sku]);
        lock_levels(&mut tx, &skus).await?;
        let (kind, on_hand_delta) = if status == "committed" {
            ("sale", -qty)
        } else {
            ("release", 0)
        };
        change_level(&mut tx, sku, on_hand_delta, -qty, now).await?;
        insert_movements(
            &mut tx,
            &[Movement {
                sku_id: sku,
                kind,
                on_hand_delta,
                reserved_delta: -qty,
                channel: &channel,
                reference: &reference,
                idempotency_key: None,
            }],
            now,
        )
        .await?;
        if kind == "release" {
            promote_waitlists_in(&mut tx, &skus, now).await?;
        }
        tx.commit().await?;
        Ok(HoldChange::Done(id))
    }

    /// Releases up to `limit` holds whose expiry is at or before `now`, writes their
    /// movements and serves the waitlists. Returns how many it expired.
    pub async fn expire_holds(&self, now: i64, limit: i64) -> StoreResult<usize> {
        let mut tx = self.begin_write().await?;
        // SKIP LOCKED lets several replicas sweep at once without waiting on each other.
        let sql = if tx.is_postgres() {
            "SELECT id, sku_id, qty, channel FROM holds WHERE status = 'active' AND expires_at_ms <= $1 \
             ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED"
        } else {
            "SELECT id, sku_id, qty, channel FROM holds WHERE status = 'active' AND expires_at_ms <= $1 \
             ORDER BY expires_at_ms LIMIT $2"
        };
        let expired = on_tx!(&mut tx, |conn| {
            let rows = sqlx::query(sql)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|r| -> StoreResult<(i64, i64, i64, String)> {
                    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
                })
                .collect::<StoreResult<Vec<_>>>()?
        });
        if expired.is_empty() {
            return Ok(0);
        }
        on_tx!(&mut tx, |conn| {
            let mut query =
                QueryBuilder::new("UPDATE holds SET status = 'expired', updated_at_ms = ");
            query.push_bind(now).push(" WHERE id IN (");
            let mut ids = query.separated(", ");
            for (id, ..) in &expired {
                ids.push_bind(*id);
            }
            query.push(")");
            query.build().execute(&mut *conn).await?;
        });
        let mut per_sku: HashMap<SkuId, i64> = HashMap::new();
        for (_, sku, qty, _) in &expired {
            *per_sku.entry(*sku).or_default() += qty;
        }
        let skus: BTreeSet<SkuId> = per_sku.keys().copied().collect();
        lock_levels(&mut tx, &skus).await?;
        for sku in &skus {
            change_level(&mut tx, *sku, 0, -per_sku[sku], now).await?;
        }
        let movements: Vec<Movement> = expired
            .iter()
            .map(|(_, sku, qty, channel)| Movement {
                sku_id: *sku,
                kind: "release",
                on_hand_delta: 0,
                reserved_delta: -qty,
                channel,
                reference: "hold expired",
                idempotency_key: None,
            })
            .collect();
        insert_movements(&mut tx, &movements, now).await?;
        promote_waitlists_in(&mut tx, &skus, now).await?;
        tx.commit().await?;
        Ok(expired.len())
    }

    /// Forgets idempotency keys made before `before_ms`.
    pub async fn purge_idempotency_keys(&self, before_ms: i64) -> StoreResult<u64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at_ms < $1")
                .bind(before_ms)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Sums of the movement log for one SKU: (on_hand, reserved). They equal the level.
    pub async fn movement_totals(&self, sku_id: SkuId) -> StoreResult<(i64, i64)> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT CAST(COALESCE(SUM(on_hand_delta), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(reserved_delta), 0) AS BIGINT) FROM stock_movements WHERE sku_id = $1",
            )
            .bind(sku_id)
            .fetch_one(pool)
            .await?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })
    }

    /// Units sold of one SKU, from the movement log.
    pub async fn sold(&self, sku_id: SkuId) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(-SUM(on_hand_delta), 0) AS BIGINT) FROM stock_movements \
                 WHERE sku_id = $1 AND kind = 'sale'",
            )
            .bind(sku_id)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Waitlist promotions not yet announced; the replies room consumes them.
    pub async fn count_ledger_events(&self, kind: &str) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM ledger_events WHERE kind = $1")
                .bind(kind)
                .fetch_one(pool)
                .await?
        }))
    }

    /// A member row, for callers (tests, the members room) that need one.
    pub async fn create_member(&self, display_name: &str) -> StoreResult<MemberId> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO members (display_name, created_at_ms) VALUES ($1, $2) RETURNING id",
            )
            .bind(display_name)
            .bind(now_ms())
            .fetch_one(pool)
            .await?
        }))
    }

    pub async fn set_member_blocked(
        &self,
        member: MemberId,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE members SET blocked_reason = $1 WHERE id = $2")
                .bind(reason)
                .bind(member)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

fn level_from_row<R: Row>(row: &R) -> StoreResult<StockLevel>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let on_hand: i64 = row.try_get("on_hand")?;
    let reserved: i64 = row.try_get("reserved")?;
    Ok(StockLevel {
        sku: row.try_get("sku")?,
        on_hand,
        reserved,
        available: on_hand - reserved,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

impl Store {
    /// The usual design, kept as the benchmark's baseline: one transaction per
    /// reservation (conditional UPDATE, hold row, movement row). Not used by the service.
    pub async fn reserve_one_naive(
        &self,
        sku_id: SkuId,
        qty: i64,
        ttl_seconds: i64,
    ) -> StoreResult<bool> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let reserved = on_tx!(&mut tx, |conn| {
            let changed = sqlx::query(
                "UPDATE stock_levels SET reserved = reserved + $1, updated_at_ms = $2 \
                 WHERE sku_id = $3 AND on_hand - reserved >= $1",
            )
            .bind(qty)
            .bind(now)
            .bind(sku_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if changed == 1 {
                sqlx::query(
                    "INSERT INTO holds (sku_id, qty, status, channel, reference, source, expires_at_ms, \
                     created_at_ms, updated_at_ms) VALUES ($1, $2, 'active', 'live', '', 'request', $3, $4, $4)",
                )
                .bind(sku_id)
                .bind(qty)
                .bind(now + ttl_seconds * 1000)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO stock_movements (sku_id, kind, on_hand_delta, reserved_delta, channel, \
                     reference, created_at_ms) VALUES ($1, 'reserve', 0, $2, 'live', '', $3)",
                )
                .bind(sku_id)
                .bind(qty)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
            changed == 1
        });
        tx.commit().await?;
        Ok(reserved)
    }
}

/// Gives back units a member asked to cancel, for some SKUs of one live session: waiting
/// units first (they hold no stock), then the newest holds. `qty: None` cancels all.
/// Released units serve the waitlist. Returns the units cancelled.
pub async fn cancel_member_units_in(
    tx: &mut Tx,
    member: MemberId,
    live: Option<LiveId>,
    skus: &[SkuId],
    qty: Option<i64>,
    now: i64,
) -> StoreResult<i64> {
    let mut left = qty.unwrap_or(i64::MAX);
    let mut cancelled = 0;
    for &sku in skus {
        let waiting = on_tx!(tx, |conn| {
            sqlx::query(
                "SELECT id, qty FROM waitlist WHERE member_id = $1 AND sku_id = $2 \
                 AND live_id IS NOT DISTINCT FROM $3 AND status = 'waiting' ORDER BY id DESC",
            )
            .bind(member)
            .bind(sku)
            .bind(live)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| -> StoreResult<(i64, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .collect::<StoreResult<Vec<_>>>()?
        });
        for (id, units) in waiting {
            if left == 0 {
                break;
            }
            let take = units.min(left);
            on_tx!(tx, |conn| {
                sqlx::query(
                    "UPDATE waitlist SET qty = CASE WHEN qty = $1 THEN qty ELSE qty - $1 END, \
                     status = CASE WHEN qty = $1 THEN 'cancelled' ELSE status END WHERE id = $2",
                )
                .bind(take)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            });
            left -= take;
            cancelled += take;
        }
    }
    let holds = on_tx!(tx, |conn| {
        let mut query = QueryBuilder::new(
            "SELECT id, sku_id, qty, channel, reference FROM holds WHERE status = 'active' AND member_id = ",
        );
        query
            .push_bind(member)
            .push(" AND live_id IS NOT DISTINCT FROM ")
            .push_bind(live);
        query.push(" AND sku_id IN (");
        let mut list = query.separated(", ");
        for sku in skus {
            list.push_bind(*sku);
        }
        query.push(") ORDER BY id DESC");
        query
            .build()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| -> StoreResult<(i64, i64, i64, String, String)> {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?
    });
    let mut picked = Vec::new();
    for (id, sku, units, channel, reference) in holds {
        if left == 0 {
            break;
        }
        let take = units.min(left);
        left -= take;
        picked.push((id, sku, units, take, channel, reference));
    }
    cancelled += release_parts_in(tx, &picked, now).await?;
    Ok(cancelled)
}

/// Releases whole holds by id (a removed comment's holds). Returns the units released.
pub async fn release_holds_in(tx: &mut Tx, ids: &[i64], now: i64) -> StoreResult<i64> {
    let mut picked = Vec::new();
    for &id in ids {
        let row = on_tx!(tx, |conn| {
            sqlx::query(
                "SELECT id, sku_id, qty, channel, reference FROM holds WHERE id = $1 AND status = 'active'",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| -> StoreResult<(i64, i64, i64, String, String)> {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?))
            })
            .transpose()?
        });
        if let Some((id, sku, units, channel, reference)) = row {
            picked.push((id, sku, units, units, channel, reference));
        }
    }
    release_parts_in(tx, &picked, now).await
}

/// (hold id, sku, units held, units to release, channel, reference)
type HoldPart = (i64, SkuId, i64, i64, String, String);

async fn release_parts_in(tx: &mut Tx, parts: &[HoldPart], now: i64) -> StoreResult<i64> {
    if parts.is_empty() {
        return Ok(0);
    }
    let skus: BTreeSet<SkuId> = parts.iter().map(|p| p.1).collect();
    lock_levels(tx, &skus).await?;
    let mut per_sku: HashMap<SkuId, i64> = HashMap::new();
    let mut movements = Vec::with_capacity(parts.len());
    for (id, sku, units, take, channel, reference) in parts {
        on_tx!(tx, |conn| {
            sqlx::query(
                "UPDATE holds SET qty = CASE WHEN qty = $1 THEN qty ELSE qty - $1 END, \
                 status = CASE WHEN qty = $1 THEN 'released' ELSE status END, updated_at_ms = $2 WHERE id = $3",
            )
            .bind(*take)
            .bind(now)
            .bind(*id)
            .execute(&mut *conn)
            .await?;
        });
        debug_assert!(take <= units);
        *per_sku.entry(*sku).or_default() += take;
        movements.push(Movement {
            sku_id: *sku,
            kind: "release",
            on_hand_delta: 0,
            reserved_delta: -take,
            channel,
            reference,
            idempotency_key: None,
        });
    }
    for (&sku, &units) in &per_sku {
        change_level(tx, sku, 0, -units, now).await?;
    }
    insert_movements(tx, &movements, now).await?;
    promote_waitlists_in(tx, &skus, now).await?;
    Ok(per_sku.values().sum())
}

/// Turns active holds into a sale, all or none: the units leave `on_hand` and `reserved`.
/// Returns the first hold that is no longer active (expired or released), in which case the
/// caller must roll back.
pub async fn commit_holds_in(
    tx: &mut Tx,
    ids: &[i64],
    reference: &str,
    now: i64,
) -> StoreResult<Result<(), i64>> {
    let mut taken = Vec::with_capacity(ids.len());
    for &id in ids {
        let row = on_tx!(tx, |conn| {
            sqlx::query(
                "UPDATE holds SET status = 'committed', updated_at_ms = $1 \
                 WHERE id = $2 AND status = 'active' RETURNING sku_id, qty, channel",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| -> StoreResult<(SkuId, i64, String)> {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            })
            .transpose()?
        });
        match row {
            Some(part) => taken.push(part),
            None => return Ok(Err(id)),
        }
    }
    let skus: BTreeSet<SkuId> = taken.iter().map(|t| t.0).collect();
    lock_levels(tx, &skus).await?;
    for (sku, qty, _) in &taken {
        change_level(tx, *sku, -qty, -qty, now).await?;
    }
    let movements: Vec<Movement> = taken
        .iter()
        .map(|(sku, qty, channel)| Movement {
            sku_id: *sku,
            kind: "sale",
            on_hand_delta: -qty,
            reserved_delta: -qty,
            channel,
            reference,
            idempotency_key: None,
        })
        .collect();
    insert_movements(tx, &movements, now).await?;
    Ok(Ok(()))
}

/// Puts sold units back on the shelf (a paid order cancelled) and serves the waitlist.
pub async fn return_units_in(
    tx: &mut Tx,
    units: &[(SkuId, i64)],
    reference: &str,
    now: i64,
) -> StoreResult<()> {
    if units.is_empty() {
        return Ok(());
    }
    let skus: BTreeSet<SkuId> = units.iter().map(|u| u.0).collect();
    lock_levels(tx, &skus).await?;
    for (sku, qty) in units {
        change_level(tx, *sku, *qty, 0, now).await?;
    }
    let movements: Vec<Movement> = units
        .iter()
        .map(|(sku, qty)| Movement {
            sku_id: *sku,
            kind: "return",
            on_hand_delta: *qty,
            reserved_delta: 0,
            channel: "checkout",
            reference,
            idempotency_key: None,
        })
        .collect();
    insert_movements(tx, &movements, now).await?;
    promote_waitlists_in(tx, &skus, now).await?;
    Ok(())
}

/// Marks holds whose SKU is a stand-in until the buyer picks a variant at checkout.
pub async fn mark_choose_variant_in(tx: &mut Tx, ids: &[i64], now: i64) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    on_tx!(tx, |conn| {
        let mut query =
            QueryBuilder::new("UPDATE holds SET choose_variant = TRUE, updated_at_ms = ");
        query.push_bind(now).push(" WHERE id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(")");
        query.build().execute(&mut *conn).await?;
    });
    Ok(())
}

/// What became of a request to move a hold to the variant the buyer picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldMove {
    Moved,
    /// The pick is the SKU the hold is already on.
    Unchanged,
    /// Not an active, still-to-choose hold of this member in this live.
    NotAllowed,
    /// The picked SKU is not a variant of the same product.
    WrongProduct,
    /// The picked variant has too few free units; nothing changed.
    SoldOut,
}

/// Moves a stand-in hold to the SKU the buyer picked, all or nothing: the new SKU's units
/// are reserved only if free, the old ones are released and serve that SKU's waitlist.
pub async fn move_hold_in(
    tx: &mut Tx,
    hold_id: i64,
    member_id: i64,
    live_id: i64,
    to_sku: SkuId,
    now: i64,
) -> StoreResult<HoldMove> {
    let sql = locking!(
        tx,
        "SELECT sku_id, qty, channel, reference FROM holds WHERE id = $1 AND member_id = $2 \
         AND live_id = $3 AND status = 'active' AND choose_variant = TRUE"
    );
    let found = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(hold_id)
            .bind(member_id)
            .bind(live_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| -> StoreResult<(SkuId, i64, String, String)> {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
            })
            .transpose()?
    });
    let Some((from_sku, qty, channel, reference)) = found else {
        return Ok(HoldMove::NotAllowed);
    };
    if from_sku == to_sku {
        on_tx!(tx, |conn| {
            sqlx::query(
                "UPDATE holds SET choose_variant = FALSE, updated_at_ms = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(hold_id)
            .execute(&mut *conn)
            .await?;
        });
        return Ok(HoldMove::Unchanged);
    }
    let same_product = on_tx!(tx, |conn| {
        sqlx::query("SELECT COUNT(DISTINCT product_id), COUNT(*) FROM skus WHERE id IN ($1, $2)")
            .bind(from_sku)
            .bind(to_sku)
            .fetch_one(&mut *conn)
            .await
            .map(|r| -> StoreResult<bool> {
                Ok(r.try_get::<i64, _>(0)? == 1 && r.try_get::<i64, _>(1)? == 2)
            })??
    });
    if !same_product {
        return Ok(HoldMove::WrongProduct);
    }
    let skus = BTreeSet::from([from_sku, to_sku]);
    lock_levels(tx, &skus).await?;
    let taken = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE stock_levels SET reserved = reserved + $1, updated_at_ms = $2 \
             WHERE sku_id = $3 AND on_hand - reserved >= $1",
        )
        .bind(qty)
        .bind(now)
        .bind(to_sku)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if taken != 1 {
        return Ok(HoldMove::SoldOut);
    }
    change_level(tx, from_sku, 0, -qty, now).await?;
    insert_movements(
        tx,
        &[
            Movement {
                sku_id: from_sku,
                kind: "release",
                on_hand_delta: 0,
                reserved_delta: -qty,
                channel: &channel,
                reference: &reference,
                idempotency_key: None,
            },
            Movement {
                sku_id: to_sku,
                kind: "reserve",
                on_hand_delta: 0,
                reserved_delta: qty,
                channel: &channel,
                reference: &reference,
                idempotency_key: None,
            },
        ],
        now,
    )
    .await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE holds SET sku_id = $1, choose_variant = FALSE, updated_at_ms = $2 WHERE id = $3",
        )
        .bind(to_sku)
        .bind(now)
        .bind(hold_id)
        .execute(&mut *conn)
        .await?;
    });
    promote_waitlists_in(tx, &BTreeSet::from([from_sku]), now).await?;
    Ok(HoldMove::Moved)
}
