//! The ledger's batch against the database: load the state a batch of intents needs under
//! its stock locks, run the pure rules (`crate::ledger::apply`), write the delta back.
//!
//! A batch costs a fixed number of statements, whatever its size: at most six reads
//! (hold SKUs, the locking read of the levels, holds, waitlist heads, blocked members,
//! limits) and nine writes (two id reservations, levels, new holds, changed holds, new
//! and changed waitlist entries, movements, promotions). Row sets travel as one JSON
//! parameter (`jsonb_to_recordset` on Postgres, `json_each` on SQLite), so a statement's
//! text does not change with the number of rows.
//!
//! **Locks.** The levels of every SKU the batch touches are locked first, in one statement
//! and in SKU order (`FOR UPDATE` on Postgres; SQLite has one writer). Holds are read after
//! that, so they are current. Every hold change is guarded by `status = 'active'` and its
//! rows are counted: if another transaction got a hold first, the whole transaction is
//! abandoned with [`StoreError::Contention`] and may be run again.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sqlx::Row;

use super::stock::{next_ids, IdTable};
use super::{id_list, on_tx, StoreError, StoreResult, Tx};
use crate::ledger::{
    self, Delta, Hold, HoldSource, HoldStatus, Intent, LedgerState, Level, Line, Outcome, SkuId,
    Wait, WaitStatus,
};

/// Rows per SQLite VALUES list: 13 binds a row stays under SQLite's 32,766 parameters,
/// so a batch of up to this many rows is one statement.
const SQLITE_ROWS: usize = 2_000;

/// Runs `intents` in order as one ledger batch inside `tx` and returns one outcome per
/// intent, with real ids.
pub async fn run_ledger_in(tx: &mut Tx, intents: &[Intent], now: i64) -> StoreResult<Vec<Outcome>> {
    if intents.is_empty() {
        return Ok(Vec::new());
    }
    let mut state = load_state(tx, intents, now).await?;
    let mut tries = 0;
    let mut delta = loop {
        match ledger::apply(&state, intents) {
            Ok(delta) => break delta,
            Err(more) => {
                // Rare: the loaded head of a line was too short (blocked members leaving
                // it); read more of it, and the whole of it the second time.
                tries += 1;
                let head = if tries > 1 {
                    i64::MAX
                } else {
                    more.need.max(1) as i64
                };
                let skus: BTreeSet<SkuId> = state.levels.keys().copied().collect();
                let cancelling = cancel_members(intents);
                load_waitlist(tx, &mut state, &skus, &cancelling, Some(head)).await?;
                let waiting: BTreeSet<i64> = state
                    .waiting
                    .values()
                    .flat_map(|line| line.values().map(|w| w.member_id))
                    .collect();
                load_blocked(tx, &waiting, &mut state).await?;
            }
        }
    };
    apply_delta(tx, &mut delta, now).await?;
    Ok(delta.outcomes)
}

fn named_holds(intents: &[Intent]) -> Vec<i64> {
    let mut ids = Vec::new();
    for intent in intents {
        match intent {
            Intent::Release { hold_ids, .. }
            | Intent::Expire { hold_ids }
            | Intent::Commit { hold_ids, .. } => {
                ids.extend(hold_ids.iter().copied().filter(|id| *id > 0))
            }
            Intent::Move { hold_id, .. } | Intent::Shrink { hold_id, .. } if *hold_id > 0 => {
                ids.push(*hold_id)
            }
            _ => {}
        }
    }
    ids
}

fn cancel_members(intents: &[Intent]) -> BTreeSet<i64> {
    intents
        .iter()
        .filter_map(|i| match i {
            Intent::Cancel { member_id, .. } => Some(*member_id),
            _ => None,
        })
        .collect()
}

fn batch_members(intents: &[Intent]) -> BTreeSet<i64> {
    let mut members = BTreeSet::new();
    for intent in intents {
        match intent {
            Intent::Reserve { request, .. } => members.extend(request.member_id),
            Intent::Cancel { member_id, .. } | Intent::Move { member_id, .. } => {
                members.insert(*member_id);
            }
            _ => {}
        }
    }
    members
}

async fn load_state(tx: &mut Tx, intents: &[Intent], now: i64) -> StoreResult<LedgerState> {
    let mut skus: BTreeSet<SkuId> = BTreeSet::new();
    let mut cancel_members = BTreeSet::new();
    let mut cancel_skus = BTreeSet::new();
    let mut limited = false;
    let mut may_wait = false;
    let mut frees_units = false;
    for intent in intents {
        match intent {
            Intent::Reserve { request, .. } => {
                skus.insert(request.sku_id);
                limited |= request.limit_per_member.is_some() && request.member_id.is_some();
                may_wait |= request.waitlist && request.member_id.is_some();
            }
            Intent::Cancel {
                member_id, sku_ids, ..
            } => {
                skus.extend(sku_ids);
                cancel_skus.extend(sku_ids);
                cancel_members.insert(*member_id);
                frees_units = true;
            }
            Intent::Adjust { sku_id, delta, .. } => {
                skus.insert(*sku_id);
                frees_units |= *delta > 0;
            }
            Intent::Move {
                to_sku,
                limit_per_member,
                ..
            } => {
                skus.insert(*to_sku);
                limited |= limit_per_member.is_some();
                frees_units = true;
            }
            Intent::Return { units, .. } => {
                skus.extend(units.iter().map(|u| u.0));
                frees_units = true;
            }
            Intent::Sell { units, .. } => skus.extend(units.iter().map(|u| u.0)),
            Intent::Release { .. } | Intent::Expire { .. } | Intent::Shrink { .. } => {
                frees_units = true
            }
            Intent::Commit { .. } => {}
        }
    }
    let named = named_holds(intents);
    if !named.is_empty() {
        skus.extend(hold_skus(tx, &named).await?);
    }
    let mut state = LedgerState {
        now_ms: now,
        ..LedgerState::default()
    };
    lock_levels(tx, &skus, &mut state).await?;
    if !named.is_empty() || !cancel_members.is_empty() {
        load_holds(tx, &named, &cancel_members, &cancel_skus, &mut state).await?;
        if let Some(hold) = state
            .holds
            .values()
            .find(|h| !state.levels.contains_key(&h.sku_id))
        {
            // The hold moved to another variant since its SKU was read.
            return Err(StoreError::Contention(format!(
                "hold {} moved before its stock was locked",
                hold.id
            )));
        }
    }
    if may_wait || frees_units {
        // Each waiting entry wants at least one unit, so no more entries can be served
        // than units can come free in this batch.
        let mut bound: i64 = state.levels.values().map(|l| l.available().max(0)).sum();
        bound += state.holds.values().map(|h| h.qty).sum::<i64>();
        for intent in intents {
            match intent {
                Intent::Adjust { delta, .. } if *delta > 0 => bound += delta,
                Intent::Return { units, .. } => {
                    bound += units.iter().map(|u| u.1.max(0)).sum::<i64>()
                }
                _ => {}
            }
        }
        let head = frees_units.then_some(bound.max(1));
        load_waitlist(tx, &mut state, &skus, &cancel_members, head).await?;
    }
    let mut members = batch_members(intents);
    members.extend(
        state
            .waiting
            .values()
            .flat_map(|line| line.values().map(|w| w.member_id)),
    );
    if !members.is_empty() {
        load_blocked(tx, &members, &mut state).await?;
    }
    if limited {
        load_taken(tx, intents, &mut state).await?;
    }
    Ok(state)
}

async fn hold_skus(tx: &mut Tx, ids: &[i64]) -> StoreResult<Vec<SkuId>> {
    let sql = sql_for!(tx, "SELECT DISTINCT sku_id FROM holds WHERE ",
            [ids "id" "1"]);
    let ids = id_list(ids.iter().copied());
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?
    }))
}

/// The one locking read: every level the batch touches, in SKU order.
async fn lock_levels(
    tx: &mut Tx,
    skus: &BTreeSet<SkuId>,
    state: &mut LedgerState,
) -> StoreResult<()> {
    if skus.is_empty() {
        return Ok(());
    }
    let sql = sql_for!(tx, "SELECT l.sku_id, l.on_hand, l.reserved, s.product_id FROM stock_levels l \
             JOIN skus s ON s.id = l.sku_id WHERE ",
            [ids "l.sku_id" "1"],
            " ORDER BY l.sku_id",
            [pg " FOR UPDATE OF l"]);
    let ids = id_list(skus.iter().copied());
    on_tx!(tx, |conn| {
        for row in sqlx::query(sql).bind(&ids).fetch_all(&mut *conn).await? {
            let sku: i64 = row.try_get(0)?;
            state.levels.insert(
                sku,
                Level {
                    on_hand: row.try_get(1)?,
                    reserved: row.try_get(2)?,
                },
            );
            state.products.insert(sku, row.try_get(3)?);
        }
    });
    Ok(())
}

async fn load_holds(
    tx: &mut Tx,
    named: &[i64],
    members: &BTreeSet<i64>,
    skus: &BTreeSet<SkuId>,
    state: &mut LedgerState,
) -> StoreResult<()> {
    let sql = sql_for!(tx, "SELECT h.id, h.sku_id, h.member_id, h.live_id, h.qty, h.status, h.channel, h.reference, \
             h.source, h.expires_at_ms, h.choose_variant, \
             EXISTS (SELECT 1 FROM order_lines ol WHERE ol.hold_id = h.id) FROM holds h WHERE ",
            [ids "h.id" "1"],
            " OR (h.status = 'active' AND ",
            [ids "h.member_id" "2"],
            " AND ",
            [ids "h.sku_id" "3"],
            ")");
    let (named, members, skus) = (
        id_list(named.iter().copied()),
        id_list(members.iter().copied()),
        id_list(skus.iter().copied()),
    );
    on_tx!(tx, |conn| {
        let rows = sqlx::query(sql)
            .bind(&named)
            .bind(&members)
            .bind(&skus)
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            let status: String = row.try_get(5)?;
            let source: String = row.try_get(8)?;
            let hold = Hold {
                id: row.try_get(0)?,
                sku_id: row.try_get(1)?,
                member_id: row.try_get(2)?,
                live_id: row.try_get(3)?,
                qty: row.try_get(4)?,
                status: HoldStatus::parse(&status).ok_or_else(|| {
                    StoreError::Invariant(format!("hold status `{status}` is not known"))
                })?,
                channel: row.try_get(6)?,
                reference: row.try_get(7)?,
                source: if source == "waitlist" {
                    HoldSource::Waitlist
                } else {
                    HoldSource::Request
                },
                expires_at_ms: row.try_get(9)?,
                choose_variant: row.try_get(10)?,
                in_order: row.try_get(11)?,
            };
            state.holds.insert(hold.id, hold);
        }
    });
    Ok(())
}

/// Each line's length (for the places of new entries) and, with `head`, the first `head`
/// entries of each line plus the entries of `members` (who cancel). A storm only adds to
/// a line, so its batches read the lengths alone; reading the head walks the whole line
/// and is left to batches that can free units.
async fn load_waitlist(
    tx: &mut Tx,
    state: &mut LedgerState,
    skus: &BTreeSet<SkuId>,
    members: &BTreeSet<i64>,
    head: Option<i64>,
) -> StoreResult<()> {
    let lengths = sql_for!(
        tx,
        "SELECT sku_id, COUNT(*) FROM waitlist WHERE status = 'waiting' AND ",
        [ids "sku_id" "1"],
        " GROUP BY sku_id"
    );
    let entries = sql_for!(
        tx,
        "SELECT id, sku_id, member_id, live_id, qty, channel, reference, ttl_seconds, rn FROM ( \
           SELECT w.id, w.sku_id, w.member_id, w.live_id, w.qty, w.channel, w.reference, w.ttl_seconds, \
             ROW_NUMBER() OVER (PARTITION BY w.sku_id ORDER BY w.id) AS rn \
           FROM waitlist w WHERE w.status = 'waiting' AND ",
        [ids "w.sku_id" "1"],
        ") x WHERE rn <= $2 OR ",
        [ids "member_id" "3"],
        " ORDER BY sku_id, id"
    );
    let (sku_ids, member_ids) = (
        id_list(skus.iter().copied()),
        id_list(members.iter().copied()),
    );
    state.waiting.clear();
    state.lines.clear();
    on_tx!(tx, |conn| {
        for row in sqlx::query(lengths)
            .bind(&sku_ids)
            .fetch_all(&mut *conn)
            .await?
        {
            let (sku, n): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            // Nothing of the line is loaded yet.
            state.lines.insert(
                sku,
                Line {
                    length: n,
                    loaded_to: (n > 0).then_some(0),
                },
            );
        }
    });
    if head.is_none() && members.is_empty() {
        return Ok(());
    }
    let head = head.unwrap_or(0);
    let mut head_end: std::collections::HashMap<SkuId, i64> = std::collections::HashMap::new();
    on_tx!(tx, |conn| {
        let rows = sqlx::query(entries)
            .bind(&sku_ids)
            .bind(head)
            .bind(&member_ids)
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            let wait = Wait {
                id: row.try_get(0)?,
                sku_id: row.try_get(1)?,
                member_id: row.try_get(2)?,
                live_id: row.try_get(3)?,
                qty: row.try_get(4)?,
                status: WaitStatus::Waiting,
                channel: row.try_get(5)?,
                reference: row.try_get(6)?,
                ttl_seconds: row.try_get(7)?,
            };
            let rn: i64 = row.try_get(8)?;
            if rn <= head {
                let end = head_end.entry(wait.sku_id).or_default();
                *end = (*end).max(wait.id);
            }
            state
                .waiting
                .entry(wait.sku_id)
                .or_default()
                .insert(wait.id, wait);
        }
    });
    for (sku, line) in state.lines.iter_mut() {
        line.loaded_to = if line.length <= head {
            None
        } else {
            Some(head_end.get(sku).copied().unwrap_or(0))
        };
    }
    Ok(())
}

async fn load_blocked(
    tx: &mut Tx,
    members: &BTreeSet<i64>,
    state: &mut LedgerState,
) -> StoreResult<()> {
    let sql = sql_for!(tx, "SELECT id, blocked_reason FROM members WHERE blocked_reason IS NOT NULL AND ",
            [ids "id" "1"]);
    let ids = id_list(members.iter().copied());
    on_tx!(tx, |conn| {
        for row in sqlx::query(sql).bind(&ids).fetch_all(&mut *conn).await? {
            state
                .blocked
                .insert(row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?);
        }
    });
    Ok(())
}

/// Units each limited member holds, bought or waits for, per SKU and live.
async fn load_taken(tx: &mut Tx, intents: &[Intent], state: &mut LedgerState) -> StoreResult<()> {
    let mut members = BTreeSet::new();
    for intent in intents {
        match intent {
            Intent::Reserve { request, .. } if request.limit_per_member.is_some() => {
                members.extend(request.member_id)
            }
            Intent::Move {
                member_id,
                limit_per_member: Some(_),
                ..
            } => {
                members.insert(*member_id);
            }
            _ => {}
        }
    }
    let sql = sql_for!(tx, "SELECT member_id, sku_id, live_id, CAST(SUM(qty) AS BIGINT) FROM ( \
               SELECT member_id, sku_id, live_id, qty FROM holds WHERE status IN ('active', 'committed') AND ",
            [ids "member_id" "1"],
            " AND ",
            [ids "sku_id" "2"],
            " UNION ALL SELECT member_id, sku_id, live_id, qty FROM waitlist WHERE status = 'waiting' AND ",
            [ids "member_id" "1"],
            " AND ",
            [ids "sku_id" "2"],
            ") t GROUP BY member_id, sku_id, live_id");
    let (member_ids, sku_ids) = (
        id_list(members.iter().copied()),
        id_list(state.levels.keys().copied()),
    );
    on_tx!(tx, |conn| {
        let rows = sqlx::query(sql)
            .bind(&member_ids)
            .bind(&sku_ids)
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            state.taken.insert(
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?),
                row.try_get(3)?,
            );
        }
    });
    Ok(())
}

/// Writes a delta: ids for new rows first, then one statement per kind of change.
async fn apply_delta(tx: &mut Tx, delta: &mut Delta, now: i64) -> StoreResult<()> {
    let hold_ids = next_ids(tx, IdTable::Holds, delta.new_holds.len()).await?;
    let wait_ids = next_ids(tx, IdTable::Waitlist, delta.new_waits.len()).await?;
    delta.resolve_ids(&hold_ids, &wait_ids);

    if !delta.levels.is_empty() {
        let rows: Vec<Value> = delta
            .levels
            .iter()
            .map(|(sku, (dh, dr))| json!({"s": sku, "dh": dh, "dr": dr}))
            .collect();
        let sql = if tx.is_postgres() {
            "UPDATE stock_levels l SET on_hand = l.on_hand + d.dh, reserved = l.reserved + d.dr, \
             updated_at_ms = $2 FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(s BIGINT, dh BIGINT, dr BIGINT) \
             WHERE l.sku_id = d.s"
        } else {
            "UPDATE stock_levels SET on_hand = on_hand + d.dh, reserved = reserved + d.dr, updated_at_ms = $2 \
             FROM (SELECT value ->> 's' AS s, value ->> 'dh' AS dh, value ->> 'dr' AS dr FROM json_each($1)) AS d \
             WHERE stock_levels.sku_id = d.s"
        };
        let changed = execute(tx, sql, Value::Array(rows), now).await?;
        if changed != delta.levels.len() as u64 {
            return Err(StoreError::Invariant(format!(
                "{} of {} stock levels changed",
                changed,
                delta.levels.len()
            )));
        }
    }

    if !delta.new_holds.is_empty() {
        if tx.is_postgres() {
            let rows: Vec<Value> = delta.new_holds.iter().map(hold_json).collect();
            let sql = "INSERT INTO holds (id, sku_id, member_id, live_id, qty, status, channel, reference, source, \
             expires_at_ms, choose_variant, created_at_ms, updated_at_ms) \
             SELECT id, sku_id, member_id, live_id, qty, status, channel, reference, source, expires_at_ms, \
             choose_variant, $2, $2 FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(id BIGINT, sku_id BIGINT, \
             member_id BIGINT, live_id BIGINT, qty BIGINT, status TEXT, channel TEXT, reference TEXT, \
             source TEXT, expires_at_ms BIGINT, choose_variant BOOLEAN)";
            execute(tx, sql, Value::Array(rows), now).await?;
        } else {
            // SQLite reads JSON rows field by field, re-parsing each object: for the two
            // largest row sets a VALUES list is several times cheaper.
            for chunk in delta.new_holds.chunks(SQLITE_ROWS) {
                on_tx!(tx, |conn| {
                    let mut query = sqlx::QueryBuilder::new(
                        "INSERT INTO holds (id, sku_id, member_id, live_id, qty, status, channel, reference, \
                         source, expires_at_ms, choose_variant, created_at_ms, updated_at_ms) ",
                    );
                    query.push_values(chunk, |mut b, h| {
                        b.push_bind(h.id)
                            .push_bind(h.sku_id)
                            .push_bind(h.member_id)
                            .push_bind(h.live_id)
                            .push_bind(h.qty)
                            .push_bind(h.status.as_str())
                            .push_bind(&h.channel)
                            .push_bind(&h.reference)
                            .push_bind(h.source.as_str())
                            .push_bind(h.expires_at_ms)
                            .push_bind(h.choose_variant)
                            .push_bind(now)
                            .push_bind(now);
                    });
                    query.build().execute(&mut *conn).await?;
                });
            }
        }
    }

    if !delta.changed_holds.is_empty() {
        let rows: Vec<Value> = delta.changed_holds.iter().map(hold_json).collect();
        // A hold leaves `active` once: only rows still active change, and an expiry only
        // if the hold has not been stretched since it was read.
        let sql = if tx.is_postgres() {
            "UPDATE holds h SET sku_id = d.sku_id, qty = d.qty, status = d.status, \
             choose_variant = d.choose_variant, updated_at_ms = $2 \
             FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(id BIGINT, sku_id BIGINT, qty BIGINT, \
             status TEXT, choose_variant BOOLEAN) \
             WHERE h.id = d.id AND h.status = 'active' AND (d.status <> 'expired' OR h.expires_at_ms <= $2)"
        } else {
            "UPDATE holds SET sku_id = d.sku_id, qty = d.qty, status = d.status, \
             choose_variant = d.choose_variant, updated_at_ms = $2 \
             FROM (SELECT value ->> 'id' AS id, value ->> 'sku_id' AS sku_id, value ->> 'qty' AS qty, \
             value ->> 'status' AS status, value ->> 'choose_variant' AS choose_variant FROM json_each($1)) AS d \
             WHERE holds.id = d.id AND holds.status = 'active' \
             AND (d.status <> 'expired' OR holds.expires_at_ms <= $2)"
        };
        let changed = execute(tx, sql, Value::Array(rows), now).await?;
        if changed != delta.changed_holds.len() as u64 {
            return Err(StoreError::Contention(format!(
                "{} of {} holds were still active",
                changed,
                delta.changed_holds.len()
            )));
        }
    }

    if !delta.new_waits.is_empty() {
        let rows: Vec<Value> = delta.new_waits.iter().map(wait_json).collect();
        let sql = if tx.is_postgres() {
            "INSERT INTO waitlist (id, sku_id, member_id, live_id, qty, status, channel, reference, \
             ttl_seconds, created_at_ms) \
             SELECT id, sku_id, member_id, live_id, qty, status, channel, reference, ttl_seconds, $2 \
             FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(id BIGINT, sku_id BIGINT, member_id BIGINT, \
             live_id BIGINT, qty BIGINT, status TEXT, channel TEXT, reference TEXT, ttl_seconds BIGINT)"
        } else {
            "INSERT INTO waitlist (id, sku_id, member_id, live_id, qty, status, channel, reference, \
             ttl_seconds, created_at_ms) \
             SELECT value ->> 'id', value ->> 'sku_id', value ->> 'member_id', value ->> 'live_id', \
             value ->> 'qty', value ->> 'status', value ->> 'channel', value ->> 'reference', \
             value ->> 'ttl_seconds', $2 FROM json_each($1)"
        };
        execute(tx, sql, Value::Array(rows), now).await?;
    }

    if !delta.changed_waits.is_empty() {
        let rows: Vec<Value> = delta.changed_waits.iter().map(wait_json).collect();
        let sql = if tx.is_postgres() {
            "UPDATE waitlist w SET qty = d.qty, status = d.status \
             FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(id BIGINT, qty BIGINT, status TEXT) \
             WHERE w.id = d.id AND w.status = 'waiting' AND $2 = $2"
        } else {
            "UPDATE waitlist SET qty = d.qty, status = d.status \
             FROM (SELECT value ->> 'id' AS id, value ->> 'qty' AS qty, value ->> 'status' AS status \
             FROM json_each($1)) AS d WHERE waitlist.id = d.id AND waitlist.status = 'waiting' AND $2 = $2"
        };
        let changed = execute(tx, sql, Value::Array(rows), now).await?;
        if changed != delta.changed_waits.len() as u64 {
            return Err(StoreError::Contention(format!(
                "{} of {} waitlist entries were still waiting",
                changed,
                delta.changed_waits.len()
            )));
        }
    }

    if !delta.movements.is_empty() {
        if tx.is_postgres() {
            let rows: Vec<Value> = delta
                .movements
                .iter()
                .map(|m| {
                    json!({
                        "sku_id": m.sku_id, "kind": m.kind, "on_hand_delta": m.on_hand_delta,
                        "reserved_delta": m.reserved_delta, "channel": m.channel,
                        "reference": m.reference, "idempotency_key": m.idempotency_key,
                    })
                })
                .collect();
            let sql = "INSERT INTO stock_movements (sku_id, kind, on_hand_delta, reserved_delta, channel, reference, \
             idempotency_key, created_at_ms) \
             SELECT sku_id, kind, on_hand_delta, reserved_delta, channel, reference, idempotency_key, $2 \
             FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(sku_id BIGINT, kind TEXT, on_hand_delta BIGINT, \
             reserved_delta BIGINT, channel TEXT, reference TEXT, idempotency_key TEXT)";
            execute(tx, sql, Value::Array(rows), now).await?;
        } else {
            for chunk in delta.movements.chunks(SQLITE_ROWS) {
                on_tx!(tx, |conn| {
                    let mut query = sqlx::QueryBuilder::new(
                        "INSERT INTO stock_movements (sku_id, kind, on_hand_delta, reserved_delta, channel, \
                         reference, idempotency_key, created_at_ms) ",
                    );
                    query.push_values(chunk, |mut b, m| {
                        b.push_bind(m.sku_id)
                            .push_bind(m.kind)
                            .push_bind(m.on_hand_delta)
                            .push_bind(m.reserved_delta)
                            .push_bind(&m.channel)
                            .push_bind(&m.reference)
                            .push_bind(&m.idempotency_key)
                            .push_bind(now);
                    });
                    query.build().execute(&mut *conn).await?;
                });
            }
        }
    }

    if !delta.promotions.is_empty() {
        let rows: Vec<Value> = delta
            .promotions
            .iter()
            .map(|p| {
                json!({
                    "sku_id": p.sku_id, "member_id": p.member_id, "live_id": p.live_id,
                    "hold_id": p.hold_id, "waitlist_id": p.waitlist_id, "qty": p.qty,
                })
            })
            .collect();
        let sql = if tx.is_postgres() {
            "INSERT INTO ledger_events (kind, sku_id, member_id, live_id, hold_id, waitlist_id, qty, created_at_ms) \
             SELECT 'waitlist_promoted', sku_id, member_id, live_id, hold_id, waitlist_id, qty, $2 \
             FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS d(sku_id BIGINT, member_id BIGINT, live_id BIGINT, \
             hold_id BIGINT, waitlist_id BIGINT, qty BIGINT)"
        } else {
            "INSERT INTO ledger_events (kind, sku_id, member_id, live_id, hold_id, waitlist_id, qty, created_at_ms) \
             SELECT 'waitlist_promoted', value ->> 'sku_id', value ->> 'member_id', value ->> 'live_id', \
             value ->> 'hold_id', value ->> 'waitlist_id', value ->> 'qty', $2 FROM json_each($1)"
        };
        execute(tx, sql, Value::Array(rows), now).await?;
    }
    Ok(())
}

fn hold_json(h: &Hold) -> Value {
    json!({
        "id": h.id, "sku_id": h.sku_id, "member_id": h.member_id, "live_id": h.live_id,
        "qty": h.qty, "status": h.status.as_str(), "channel": h.channel,
        "reference": h.reference, "source": h.source.as_str(),
        "expires_at_ms": h.expires_at_ms, "choose_variant": h.choose_variant,
    })
}

fn wait_json(w: &Wait) -> Value {
    json!({
        "id": w.id, "sku_id": w.sku_id, "member_id": w.member_id, "live_id": w.live_id,
        "qty": w.qty, "status": w.status.as_str(), "channel": w.channel,
        "reference": w.reference, "ttl_seconds": w.ttl_seconds,
    })
}

/// One statement with its rows as `$1` (JSON) and the time as `$2`; rows affected.
async fn execute(tx: &mut Tx, sql: &'static str, rows: Value, now: i64) -> StoreResult<u64> {
    let rows = rows.to_string();
    Ok(on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&rows)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    }))
}
