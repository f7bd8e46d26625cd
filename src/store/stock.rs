//! Stock levels, holds, the waitlist and the movement log, as the API and the other
//! rooms ask for them. Every change goes through one ledger batch (`super::ledger`): the
//! rules are in `crate::ledger`, and every level change writes a movement in the same
//! transaction, so the movements always sum to the levels.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::error::retry_contention;

use super::ledger::run_ledger_in;
use super::{now_ms, on_pool, on_tx, Store, StoreError, StoreResult, Tx, TxConn};
use crate::ledger::{
    Channel, HoldId, HoldMove, HoldStatus, Intent, LiveId, MemberId, Outcome, Rejection,
    Reservation, ReserveRequest, ShrinkRefused, SkuId,
};

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
    pub status: HoldStatus,
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
    NotActive(HoldStatus),
    /// The hold is a line of an order: only the order may release it.
    InOrder,
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

#[derive(Clone, Copy)]
pub(crate) enum IdTable {
    Holds,
    Waitlist,
    Members,
    Sales,
}

/// Takes `n` ids for new rows, so a multi-row INSERT knows which id each request got.
pub(crate) async fn next_ids(tx: &mut Tx, table: IdTable, n: usize) -> StoreResult<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let ids = match tx.conn() {
        TxConn::Postgres(t) => {
            let sql = match table {
                IdTable::Holds => "SELECT nextval(pg_get_serial_sequence('holds', 'id')) FROM generate_series(1, $1)",
                IdTable::Waitlist => "SELECT nextval(pg_get_serial_sequence('waitlist', 'id')) FROM generate_series(1, $1)",
                IdTable::Members => "SELECT nextval(pg_get_serial_sequence('members', 'id')) FROM generate_series(1, $1)",
                IdTable::Sales => "SELECT nextval(pg_get_serial_sequence('sales', 'id')) FROM generate_series(1, $1)",
            };
            let mut ids: Vec<i64> = sqlx::query_scalar(sql)
                .bind(n as i64)
                .fetch_all(&mut **t)
                .await?;
            ids.sort_unstable();
            ids
        }
        // The write lock is held, so nobody else can take ids between this read and the insert.
        TxConn::Sqlite(t) => {
            let sql = match table {
                IdTable::Holds => "SELECT COALESCE(MAX(id), 0) FROM holds",
                IdTable::Waitlist => "SELECT COALESCE(MAX(id), 0) FROM waitlist",
                IdTable::Members => "SELECT COALESCE(MAX(id), 0) FROM members",
                IdTable::Sales => "SELECT COALESCE(MAX(id), 0) FROM sales",
            };
            let max: i64 = sqlx::query_scalar(sql).fetch_one(&mut **t).await?;
            (1..=n as i64).map(|i| max + i).collect()
        }
    };
    Ok(ids)
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
pub(crate) async fn once_per_key<T, F>(
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
        status: {
            let status: String = row.try_get("status")?;
            HoldStatus::parse(&status).ok_or_else(|| {
                StoreError::Invariant(format!("hold status `{status}` is not known"))
            })?
        },
        member_id: row.try_get("member_id")?,
        live_id: row.try_get("live_id")?,
        channel: row.try_get("channel")?,
        reference: row.try_get("reference")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
    })
}

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
        retry_contention!(
            async {
                let mut tx = self.begin_write().await?;
                let outcomes = reserve_batch_in(&mut tx, requests, now_ms()).await?;
                tx.commit().await?;
                Ok(outcomes)
            }
            .await
        )
    }

    /// One reservation, at most once per idempotency key.
    pub async fn reserve_once(
        &self,
        request: ReserveRequest,
        key: Option<&IdempotencyKey>,
    ) -> StoreResult<Idempotent<ReserveOutcome>> {
        retry_contention!(
            async {
                let request = request.clone();
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
            .await
        )
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
        retry_contention!(async {
            let intent = Intent::Adjust {
                sku_id,
                delta,
                channel,
                reference: reason.to_string(),
                idempotency_key: key.map(|k| k.key.clone()),
            };
            once_per_key(self, key, move |tx, now| {
                Box::pin(async move {
                    let outcome = run_ledger_in(tx, std::slice::from_ref(&intent), now).await?;
                    match outcome.into_iter().next() {
                        Some(Outcome::Adjusted(Err(rejection))) => Ok(Err(rejection)),
                        Some(Outcome::Adjusted(Ok(_))) => {
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
                        }
                        other => Err(StoreError::Invariant(format!(
                            "an adjustment came out as {other:?}"
                        ))),
                    }
                })
            })
            .await
        }
        .await)
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
        self.finish_hold(
            id,
            Intent::Commit {
                hold_ids: vec![id],
                reference: format!("hold:{id}"),
            },
        )
        .await
    }

    /// Gives an active hold's units back and serves the waitlist with them. A hold that
    /// is a line of an order is left to its order.
    pub async fn release_hold(&self, id: i64) -> StoreResult<HoldChange> {
        self.finish_hold(
            id,
            Intent::Release {
                hold_ids: vec![id],
                ordered: false,
            },
        )
        .await
    }

    async fn finish_hold(&self, id: i64, intent: Intent) -> StoreResult<HoldChange> {
        let outcome = retry_contention!(
            async {
                let mut tx = self.begin_write().await?;
                let outcome =
                    run_ledger_in(&mut tx, std::slice::from_ref(&intent), now_ms()).await?;
                tx.commit().await?;
                Ok(outcome.into_iter().next())
            }
            .await
        )?;
        let done = match outcome {
            Some(Outcome::Committed(Ok(()))) => true,
            Some(Outcome::Released { kept_in_order, .. }) if !kept_in_order.is_empty() => {
                return Ok(HoldChange::InOrder);
            }
            Some(Outcome::Released { units, .. }) => units > 0,
            _ => false,
        };
        if done {
            return Ok(HoldChange::Done(id));
        }
        Ok(match self.hold(id).await? {
            Some(hold) => HoldChange::NotActive(hold.status),
            None => HoldChange::NotFound,
        })
    }

    /// Releases up to `limit` holds whose expiry is at or before `now`, writes their
    /// movements and serves the waitlists. Returns how many it expired.
    pub async fn expire_holds(&self, now: i64, limit: i64) -> StoreResult<usize> {
        retry_contention!(
            async {
                let mut tx = self.begin_write().await?;
                let due: Vec<HoldId> = on_tx!(&mut tx, |conn| {
                    sqlx::query_scalar(
                        "SELECT id FROM holds WHERE status = 'active' AND expires_at_ms <= $1 \
                     ORDER BY expires_at_ms LIMIT $2",
                    )
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
                });
                if due.is_empty() {
                    return Ok(0);
                }
                let outcome =
                    run_ledger_in(&mut tx, &[Intent::Expire { hold_ids: due }], now).await?;
                tx.commit().await?;
                Ok(match outcome.first() {
                    Some(Outcome::Expired { holds }) => *holds,
                    _ => 0,
                })
            }
            .await
        )
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

/// Result of a stock adjustment: the new level, or why it was refused.
pub type AdjustResult = Result<StockLevel, Rejection>;

/// What one reservation got, as the API and the pipeline report it.
fn reserve_outcome(request: &ReserveRequest, r: &Reservation) -> ReserveOutcome {
    ReserveOutcome {
        hold: r.hold_id.map(|id| HoldRef {
            id,
            sku_id: request.sku_id,
            qty: r.decision.held,
            expires_at_ms: r.expires_at_ms.unwrap_or_default(),
        }),
        waitlist: r.wait_id.map(|id| WaitRef {
            id,
            qty: r.decision.waitlisted,
            position: r.position.unwrap_or_default(),
        }),
        unfilled: r.decision.unfilled,
        rejection: r.decision.rejection.clone(),
    }
}

/// Applies a batch of reservation requests inside `tx`, in order: the first request wins.
pub async fn reserve_batch_in(
    tx: &mut Tx,
    requests: &[ReserveRequest],
    now: i64,
) -> StoreResult<Vec<ReserveOutcome>> {
    let intents: Vec<Intent> = requests
        .iter()
        .map(|request| Intent::Reserve {
            request: request.clone(),
            choose_variant: false,
        })
        .collect();
    let outcomes = run_ledger_in(tx, &intents, now).await?;
    requests
        .iter()
        .zip(outcomes)
        .map(|(request, outcome)| match outcome {
            Outcome::Reserved(r) => Ok(reserve_outcome(request, &r)),
            other => Err(StoreError::Invariant(format!(
                "a reservation came out as {other:?}"
            ))),
        })
        .collect()
}

/// Releases whole holds by id, for the order they belong to (`ordered`) or anyone else
/// (order lines are then left alone). Returns the units released.
pub async fn release_holds_in(
    tx: &mut Tx,
    ids: &[i64],
    ordered: bool,
    now: i64,
) -> StoreResult<i64> {
    let outcome = run_ledger_in(
        tx,
        &[Intent::Release {
            hold_ids: ids.to_vec(),
            ordered,
        }],
        now,
    )
    .await?;
    Ok(match outcome.first() {
        Some(Outcome::Released { units, .. }) => *units,
        _ => 0,
    })
}

/// Turns active holds into a sale, all or none: the units leave `on_hand` and `reserved`.
/// Returns the first hold that is no longer active (expired or released), in which case
/// nothing changed.
pub async fn commit_holds_in(
    tx: &mut Tx,
    ids: &[i64],
    reference: &str,
    now: i64,
) -> StoreResult<Result<(), i64>> {
    let outcome = run_ledger_in(
        tx,
        &[Intent::Commit {
            hold_ids: ids.to_vec(),
            reference: reference.to_string(),
        }],
        now,
    )
    .await?;
    match outcome.into_iter().next() {
        Some(Outcome::Committed(result)) => Ok(result),
        other => Err(StoreError::Invariant(format!(
            "a commit came out as {other:?}"
        ))),
    }
}

/// Puts sold units back on the shelf (a paid order or a counter sale cancelled) and
/// serves the waitlist. `channel` is the movements' channel.
pub async fn return_units_in(
    tx: &mut Tx,
    units: &[(SkuId, i64)],
    reference: &str,
    channel: &str,
    now: i64,
) -> StoreResult<()> {
    if units.is_empty() {
        return Ok(());
    }
    run_ledger_in(
        tx,
        &[Intent::Return {
            units: units.to_vec(),
            reference: reference.to_string(),
            channel: channel.to_string(),
        }],
        now,
    )
    .await?;
    Ok(())
}

/// Sells units at once (a counter sale), all or none, from what no hold has promised.
/// `Err` names the first SKU that is short and why; then nothing changed.
pub async fn sell_units_in(
    tx: &mut Tx,
    units: &[(SkuId, i64)],
    channel: Channel,
    reference: &str,
    now: i64,
) -> StoreResult<Result<(), (SkuId, Rejection)>> {
    let outcome = run_ledger_in(
        tx,
        &[Intent::Sell {
            units: units.to_vec(),
            channel,
            reference: reference.to_string(),
        }],
        now,
    )
    .await?;
    match outcome.into_iter().next() {
        Some(Outcome::Sold(result)) => Ok(result),
        other => Err(StoreError::Invariant(format!(
            "a sale came out as {other:?}"
        ))),
    }
}

/// Gives back units of an active hold down to `to_qty` (an unpaid order's line made
/// smaller by staff) and serves the waitlist. Returns the units given back.
pub async fn shrink_hold_in(
    tx: &mut Tx,
    hold_id: i64,
    to_qty: i64,
    reference: &str,
    now: i64,
) -> StoreResult<Result<i64, ShrinkRefused>> {
    let outcome = run_ledger_in(
        tx,
        &[Intent::Shrink {
            hold_id,
            to_qty,
            reference: reference.to_string(),
        }],
        now,
    )
    .await?;
    match outcome.into_iter().next() {
        Some(Outcome::Shrunk(shrunk)) => Ok(shrunk),
        other => Err(StoreError::Invariant(format!(
            "a shrink came out as {other:?}"
        ))),
    }
}

/// Moves a stand-in hold to the SKU the buyer picked, all or nothing, under the live's
/// per-member limit: the new SKU's units are reserved only if free, the old ones are
/// released and serve that SKU's waitlist.
pub async fn move_hold_in(
    tx: &mut Tx,
    hold_id: i64,
    member_id: MemberId,
    live_id: LiveId,
    to_sku: SkuId,
    limit_per_member: Option<i64>,
    now: i64,
) -> StoreResult<HoldMove> {
    let outcome = run_ledger_in(
        tx,
        &[Intent::Move {
            hold_id,
            member_id,
            live_id,
            to_sku,
            limit_per_member,
        }],
        now,
    )
    .await?;
    match outcome.into_iter().next() {
        Some(Outcome::Moved(moved)) => Ok(moved),
        other => Err(StoreError::Invariant(format!(
            "a move came out as {other:?}"
        ))),
    }
}
