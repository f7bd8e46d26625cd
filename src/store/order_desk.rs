//! What staff need to run orders from the console: an order's history, receipts and the
//! comments behind it, the count of receipts waiting for a check, handing an order over,
//! and making an unpaid order's line smaller through the ledger.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::checkout::{lock_order, order_number, set_order_status, OrderChange, RECEIPT_WAITING};
use super::stock::shrink_hold_in;
use super::{on_pool, on_tx, Store, StoreResult, Tx};
use crate::ledger::ShrinkRefused;
use crate::vocab::OrderStatus;

/// One entry of an order's history.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct OrderHistoryEntry {
    pub at_ms: i64,
    /// created, paid, fulfilled, cancelled, expired or line_changed.
    pub kind: String,
    /// Who made the change; "" for the service itself (the sweeper, a payment provider).
    pub actor: String,
    /// e.g. `A01-BLK-M 3 → 1`, or the tracking number a fulfilment gave.
    pub detail: String,
}

/// A receipt a buyer uploaded, without its bytes.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ReceiptInfo {
    pub id: i64,
    pub content_type: String,
    pub uploaded_at_ms: i64,
}

/// A comment whose hold became a line of the order.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct OrderComment {
    pub event_id: i64,
    pub platform: String,
    pub author_name: Option<String>,
    pub text: Option<String>,
    pub platform_time_ms: i64,
    pub outcome: Option<String>,
}

/// An order just handed over, for whoever tells the buyer in the same transaction.
#[derive(Debug, Clone)]
pub struct FulfilledOrder {
    pub member_id: i64,
    pub live_id: i64,
    pub number: String,
    pub tracking_number: String,
    /// The store the buyer picks up from, for a pickup order.
    pub pickup_store: String,
}

/// An unpaid order after staff made a line smaller, for the buyer's message.
#[derive(Debug, Clone)]
pub struct ChangedOrder {
    pub member_id: i64,
    pub live_id: i64,
    pub number: String,
    pub total: i64,
    pub currency: String,
    /// (item name, options, qty) of the lines left.
    pub lines: Vec<(String, Vec<String>, i64)>,
    /// The history entry of this change; makes the buyer's message once-only.
    pub history_id: i64,
    /// Units given back to the shelf.
    pub units_back: i64,
}

/// Why an order line could not be changed; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineChange {
    /// The order (or its line) does not exist.
    NotFound,
    /// Only an unpaid order's lines change.
    WrongStatus(OrderStatus),
    /// The new quantity is not below the line's (`qty`).
    NotLower { qty: i64 },
    /// Removing the order's only line: cancel the order instead.
    LastLine,
    /// The hold behind the line was released first (the deadline passed).
    HoldGone(i64),
}

/// Adds an entry to an order's history; returns its id.
pub(super) async fn order_history_in(
    tx: &mut Tx,
    order_id: i64,
    kind: &str,
    actor: &str,
    detail: &str,
    now: i64,
) -> StoreResult<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO order_history (order_id, at_ms, kind, actor, detail) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(order_id)
        .bind(now)
        .bind(kind)
        .bind(actor)
        .bind(detail)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?
    }))
}

/// Records, in the payment's transaction, who marked an order paid.
pub async fn record_paid_in(tx: &mut Tx, order_id: i64, actor: &str, now: i64) -> StoreResult<()> {
    order_history_in(tx, order_id, "paid", actor, "", now).await?;
    Ok(())
}

/// Hands a paid order over: `fulfilled`, with the tracking number when given. The
/// caller tells the buyer and commits.
pub async fn fulfil_order_in(
    tx: &mut Tx,
    id: i64,
    tracking_number: &str,
    pickup_store: Option<&str>,
    actor: &str,
    now: i64,
) -> StoreResult<Result<FulfilledOrder, OrderChange>> {
    let Some((status, member_id)) = lock_order(tx, id).await? else {
        return Ok(Err(OrderChange::NotFound));
    };
    if status != OrderStatus::Paid {
        return Ok(Err(OrderChange::WrongStatus(status)));
    }
    set_order_status(tx, id, OrderStatus::Fulfilled, now).await?;
    let (live_id, fulfilment, store) = on_tx!(tx, |conn| {
        sqlx::query("UPDATE orders SET tracking_number = $1, fulfilled_at_ms = $2 WHERE id = $3")
            .bind(tracking_number)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let row = sqlx::query("SELECT live_id, fulfilment, pickup_store FROM orders WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        (
            row.try_get::<i64, _>(0)?,
            row.try_get::<String, _>(1)?,
            row.try_get::<String, _>(2)?,
        )
    });
    let pickup_store = match pickup_store {
        Some(given) => given.to_string(),
        None if fulfilment == "pickup" => store,
        None => String::new(),
    };
    let detail = [tracking_number, pickup_store.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" · ");
    order_history_in(tx, id, "fulfilled", actor, &detail, now).await?;
    Ok(Ok(FulfilledOrder {
        member_id,
        live_id,
        number: order_number(id),
        tracking_number: tracking_number.to_string(),
        pickup_store,
    }))
}

/// Lowers a line of an unpaid order to `qty` (0 removes it): the hold gives the units
/// back through the ledger (the waitlist is served), and the total is recomputed. The
/// line is named by its hold id. The caller tells the buyer and commits.
pub async fn change_order_line_in(
    tx: &mut Tx,
    order_id: i64,
    hold_id: i64,
    qty: i64,
    actor: &str,
    now: i64,
) -> StoreResult<Result<ChangedOrder, LineChange>> {
    let Some((status, member_id)) = lock_order(tx, order_id).await? else {
        return Ok(Err(LineChange::NotFound));
    };
    if status != OrderStatus::PendingPayment {
        return Ok(Err(LineChange::WrongStatus(status)));
    }
    let lines: Vec<(i64, String, i64)> = on_tx!(tx, |conn| {
        sqlx::query(
            "SELECT hold_id, sku, qty FROM order_lines WHERE order_id = $1 ORDER BY hold_id",
        )
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| -> StoreResult<(i64, String, i64)> {
            Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        })
        .collect::<StoreResult<Vec<_>>>()?
    });
    let Some((_, sku, old_qty)) = lines.iter().find(|l| l.0 == hold_id).cloned() else {
        return Ok(Err(LineChange::NotFound));
    };
    if qty < 0 || qty >= old_qty {
        return Ok(Err(LineChange::NotLower { qty: old_qty }));
    }
    if qty == 0 && lines.len() == 1 {
        return Ok(Err(LineChange::LastLine));
    }
    let number = order_number(order_id);
    let units_back = match shrink_hold_in(tx, hold_id, qty, &number, now).await? {
        Ok(units) => units,
        Err(ShrinkRefused::NotLower { qty }) => return Ok(Err(LineChange::NotLower { qty })),
        Err(ShrinkRefused::Missing | ShrinkRefused::NotActive(_)) => {
            return Ok(Err(LineChange::HoldGone(hold_id)))
        }
    };
    let (live_id, total, currency, lines) = on_tx!(tx, |conn| {
        if qty == 0 {
            sqlx::query("DELETE FROM order_lines WHERE order_id = $1 AND hold_id = $2")
                .bind(order_id)
                .bind(hold_id)
                .execute(&mut *conn)
                .await?;
        } else {
            sqlx::query("UPDATE order_lines SET qty = $1 WHERE order_id = $2 AND hold_id = $3")
                .bind(qty)
                .bind(order_id)
                .bind(hold_id)
                .execute(&mut *conn)
                .await?;
        }
        let row = sqlx::query(
            "UPDATE orders SET total = (SELECT CAST(COALESCE(SUM(qty * unit_price), 0) AS BIGINT) \
             FROM order_lines WHERE order_id = $1), updated_at_ms = $2 WHERE id = $1 \
             RETURNING live_id, total, currency",
        )
        .bind(order_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        let kept = sqlx::query(
            "SELECT name, options, qty FROM order_lines WHERE order_id = $1 ORDER BY hold_id",
        )
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| -> StoreResult<(String, Vec<String>, i64)> {
            let options: String = r.try_get(1)?;
            Ok((
                r.try_get(0)?,
                serde_json::from_str(&options).unwrap_or_default(),
                r.try_get(2)?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
        (
            row.try_get::<i64, _>(0)?,
            row.try_get::<i64, _>(1)?,
            row.try_get::<String, _>(2)?,
            kept,
        )
    });
    let history_id = order_history_in(
        tx,
        order_id,
        "line_changed",
        actor,
        &format!("{sku} {old_qty} → {qty}"),
        now,
    )
    .await?;
    Ok(Ok(ChangedOrder {
        member_id,
        live_id,
        number,
        total,
        currency,
        lines,
        history_id,
        units_back,
    }))
}

impl Store {
    /// An order's history, oldest first; its creation comes first.
    pub async fn order_history(&self, id: i64) -> StoreResult<Vec<OrderHistoryEntry>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT created_at_ms, 'created', '', '', 0 FROM orders WHERE id = $1 \
                 UNION ALL SELECT at_ms, kind, actor, detail, id FROM order_history WHERE order_id = $1 \
                 ORDER BY 5",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<OrderHistoryEntry> {
                    Ok(OrderHistoryEntry {
                        at_ms: r.try_get(0)?,
                        kind: r.try_get(1)?,
                        actor: r.try_get(2)?,
                        detail: r.try_get(3)?,
                    })
                })
                .collect()
        })
    }

    /// The receipts of an order, oldest first, without their bytes.
    pub async fn order_receipts(&self, id: i64) -> StoreResult<Vec<ReceiptInfo>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, content_type, uploaded_at_ms FROM payment_receipts \
                 WHERE order_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<ReceiptInfo> {
                    Ok(ReceiptInfo {
                        id: r.try_get(0)?,
                        content_type: r.try_get(1)?,
                        uploaded_at_ms: r.try_get(2)?,
                    })
                })
                .collect()
        })
    }

    /// The comments behind an order: those whose holds are its lines (live holds name
    /// their comment as `inbox:{id}`), in platform time order.
    pub async fn order_comments(&self, id: i64) -> StoreResult<Vec<OrderComment>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT i.id, i.platform, i.author_name, i.text, i.platform_time_ms, i.outcome \
                 FROM inbox i WHERE i.id IN (SELECT CASE WHEN h.reference LIKE 'inbox:%' \
                 THEN CAST(SUBSTR(h.reference, 7) AS BIGINT) END FROM order_lines l \
                 JOIN holds h ON h.id = l.hold_id WHERE l.order_id = $1) \
                 ORDER BY i.platform_time_ms, i.id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<OrderComment> {
                    Ok(OrderComment {
                        event_id: r.try_get(0)?,
                        platform: r.try_get(1)?,
                        author_name: r.try_get(2)?,
                        text: r.try_get(3)?,
                        platform_time_ms: r.try_get(4)?,
                        outcome: r.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    /// Unpaid orders with a receipt for staff to check: of one live, or of the shop
    /// (sandbox lives left out).
    pub async fn receipts_waiting(&self, live_id: Option<i64>) -> StoreResult<i64> {
        let sql = match live_id {
            Some(_) => {
                format!("SELECT COUNT(*) FROM orders o WHERE o.live_id = $1 AND {RECEIPT_WAITING}")
            }
            None => format!(
                "SELECT COUNT(*) FROM orders o WHERE o.live_id NOT IN \
                 (SELECT id FROM live_sessions WHERE sandbox) AND {RECEIPT_WAITING}"
            ),
        };
        on_pool!(self, |pool| {
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            if let Some(live) = live_id {
                query = query.bind(live);
            }
            Ok(query.fetch_one(pool).await?)
        })
    }
}
