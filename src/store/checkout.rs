//! Carts, checkout links and the orders carts become.
//!
//! A cart is a member's open basket in one live session: the member's active holds there
//! that no order has taken yet. Confirming a cart turns those holds into an order in one
//! transaction and stretches them to the payment deadline; paying commits them as a sale,
//! the deadline passing releases them and serves the waitlist.
//!
//! Races are settled by row locks on Postgres (the cart row, then the holds, `FOR UPDATE`)
//! and by SQLite's single writer (`BEGIN IMMEDIATE`): two tabs confirming one cart find
//! the first one's order, and a hold the sweeper expired first is not in the order.

use serde::Serialize;
use sqlx::{QueryBuilder, Row};
use utoipa::ToSchema;

use super::members::claim_contact_in;
use super::points::{
    move_points_in, points_balance_in, spend_points_in, PointKind, PointMove, Spend,
};
use super::stock::{commit_holds_in, move_hold_in, release_holds_in, return_units_in};
use super::{on_pool, on_tx, Store, StoreError, StoreResult, Tx};
use crate::ledger::HoldMove;
use crate::members::{Email, Phone, PointsPolicy, PointsRefusal};
use crate::vocab::OrderStatus;

/// What a checkout token opens.
#[derive(Debug, Clone)]
pub struct CheckoutRef {
    pub cart_id: i64,
    pub member_id: i64,
    pub live_id: i64,
    pub token_expires_at_ms: i64,
}

/// One hold in a cart, priced.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CartLine {
    pub hold_id: i64,
    pub sku_id: i64,
    pub sku: String,
    pub product_id: i64,
    pub product_code: String,
    pub name: String,
    pub options: Vec<String>,
    pub qty: i64,
    /// Minor units.
    pub unit_price: i64,
    pub currency: String,
    pub expires_at_ms: i64,
    /// The buyer still picks the variant; `sku` is a stand-in.
    pub choose_variant: bool,
}

/// An order line as stored: what was bought at what price.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderLineView {
    pub hold_id: i64,
    pub sku: String,
    pub name: String,
    pub options: Vec<String>,
    pub qty: i64,
    /// Minor units.
    pub unit_price: i64,
}

/// `Debug` leaves out the buyer's contact details and address.
#[derive(Clone, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    /// What the buyer and staff call the order, e.g. `PO-000042`.
    pub number: String,
    pub cart_id: i64,
    pub member_id: i64,
    pub live_id: i64,
    pub status: OrderStatus,
    pub currency: String,
    /// Minor units.
    pub total: i64,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    /// delivery or pickup.
    pub fulfilment: String,
    pub delivery_address: String,
    pub pickup_store: String,
    pub payment_method: String,
    pub payment_deadline_ms: i64,
    pub points_earned: i64,
    /// Points that paid part of the order.
    pub points_spent: i64,
    /// Minor units the points took off; `total` is what is left to pay.
    pub points_discount: i64,
    pub receipts: i64,
    pub created_at_ms: i64,
    pub paid_at_ms: Option<i64>,
    pub lines: Vec<OrderLineView>,
    /// What fulfilling the order told the buyer; "" when nothing was given.
    pub tracking_number: String,
    pub fulfilled_at_ms: Option<i64>,
}

impl std::fmt::Debug for OrderView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderView")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("member_id", &self.member_id)
            .field("total", &self.total)
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

/// The order number shown to people.
pub fn order_number(id: i64) -> String {
    format!("PO-{id:06}")
}

/// What a buyer confirmed on the checkout page. `Debug` leaves out contact details.
#[derive(Clone)]
pub struct NewOrder {
    pub cart_id: i64,
    pub contact_name: String,
    /// Kept on the order; see `claim_contact_in` for what it does to the member.
    pub phone: Phone,
    pub email: Option<Email>,
    pub fulfilment: String,
    pub delivery_address: String,
    pub pickup_store: String,
    pub payment_method: String,
    pub payment_deadline_ms: i64,
    /// (hold id, SKU id) the buyer picked for lines ordered without a variant.
    pub variant_picks: Vec<(i64, i64)>,
    /// Points the buyer spends on this order (0: none), under `points`.
    pub points_to_spend: i64,
    pub points: PointsPolicy,
}

impl std::fmt::Debug for NewOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOrder")
            .field("cart_id", &self.cart_id)
            .field("fulfilment", &self.fulfilment)
            .field("payment_method", &self.payment_method)
            .finish_non_exhaustive()
    }
}

pub enum Confirmed {
    /// This confirmation made the order.
    Created(i64),
    /// The cart already had one (a second tab, a double submit).
    Existing(i64),
    /// Nothing in the cart is still held.
    NothingHeld,
    /// The variant picked for this hold has too few units left; nothing was ordered.
    OptionGone(i64),
    /// The points the buyer chose cannot pay for this order; nothing was ordered.
    PointsRefused(PointsRefusal),
}

/// Why an order could not change state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderChange {
    Done,
    NotFound,
    /// The order is in a state that does not allow the change.
    WrongStatus(OrderStatus),
    /// A hold of the order was already released (the deadline passed first).
    HoldGone(i64),
    /// The caller may not make this change to an order in this status.
    NotAllowed(OrderStatus),
}

/// Filters for the orders list. Without a live, sandbox lives' orders are left out.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub live_id: Option<i64>,
    pub status: Option<OrderStatus>,
    pub member_id: Option<i64>,
    /// The platform of the comments behind the order (`facebook`, `telegram`, …) or the
    /// ledger channel of its lines (`live`, `pos`, `web`, `api`).
    pub channel: Option<String>,
    /// Made at or after this time (Unix ms).
    pub created_from_ms: Option<i64>,
    /// Made before this time (Unix ms).
    pub created_before_ms: Option<i64>,
    /// true: orders that were paid (whatever happened after); false: never paid.
    pub paid: Option<bool>,
    /// true: unpaid orders with a receipt for staff to check; false: the others.
    pub receipt_waiting: Option<bool>,
    /// Orders with an id above this one (paging).
    pub after: Option<i64>,
    pub limit: i64,
}

const ORDER_COLUMNS: &str = "o.id, o.cart_id, o.member_id, o.live_id, o.status, o.currency, o.total, \
     o.contact_name, o.contact_phone, o.contact_email, o.fulfilment, o.delivery_address, o.pickup_store, \
     o.payment_method, o.payment_deadline_ms, o.points_earned, o.created_at_ms, o.paid_at_ms, \
     (SELECT COUNT(*) FROM payment_receipts r WHERE r.order_id = o.id), o.points_spent, o.points_discount, o.tracking_number, o.fulfilled_at_ms";

/// An unpaid order with a receipt: staff have a transfer to check.
pub(super) const RECEIPT_WAITING: &str = "(o.status = 'pending_payment' AND EXISTS \
     (SELECT 1 FROM payment_receipts r WHERE r.order_id = o.id))";

fn order_from_row<R: Row>(row: &R) -> StoreResult<OrderView>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> Option<i64>: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> OrderStatus: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let id: i64 = row.try_get(0)?;
    Ok(OrderView {
        id,
        number: order_number(id),
        cart_id: row.try_get(1)?,
        member_id: row.try_get(2)?,
        live_id: row.try_get(3)?,
        status: row.try_get(4)?,
        currency: row.try_get(5)?,
        total: row.try_get(6)?,
        contact_name: row.try_get(7)?,
        contact_phone: row.try_get(8)?,
        contact_email: row.try_get(9)?,
        fulfilment: row.try_get(10)?,
        delivery_address: row.try_get(11)?,
        pickup_store: row.try_get(12)?,
        payment_method: row.try_get(13)?,
        payment_deadline_ms: row.try_get(14)?,
        points_earned: row.try_get(15)?,
        created_at_ms: row.try_get(16)?,
        paid_at_ms: row.try_get(17)?,
        receipts: row.try_get(18)?,
        points_spent: row.try_get(19)?,
        points_discount: row.try_get(20)?,
        tracking_number: row.try_get(21)?,
        fulfilled_at_ms: row.try_get(22)?,
        lines: Vec::new(),
    })
}

fn options_from(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A member's held lines in a live that no order has taken, priced, oldest first:
/// `$1` member, `$2` live, `$3` now. Holds whose time is up are left out, so the page,
/// the confirmation and the sweeper agree on `expires_at_ms > now`. `$tail` adds a lock.
macro_rules! cart_holds {
    ($tail:literal) => {
        concat!(
            "SELECT h.id, s.id, s.sku, p.id, p.code, p.name, s.options, h.qty, p.price, p.currency, \
             h.expires_at_ms, h.choose_variant \
             FROM holds h JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id \
             WHERE h.member_id = $1 AND h.live_id = $2 AND h.status = 'active' AND h.expires_at_ms > $3 \
             AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.hold_id = h.id) ORDER BY h.id",
            $tail
        )
    };
}

fn cart_line_from_row<R: Row>(r: &R) -> StoreResult<CartLine>
where
    for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> bool: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(CartLine {
        hold_id: r.try_get(0)?,
        sku_id: r.try_get(1)?,
        sku: r.try_get(2)?,
        product_id: r.try_get(3)?,
        product_code: r.try_get(4)?,
        name: r.try_get(5)?,
        options: options_from(&r.try_get::<String, _>(6)?),
        qty: r.try_get(7)?,
        unit_price: r.try_get(8)?,
        currency: r.try_get(9)?,
        expires_at_ms: r.try_get(10)?,
        choose_variant: r.try_get(11)?,
    })
}

/// The open cart of a member in a live, made when missing. Returns its id.
pub async fn open_cart_in(tx: &mut Tx, member_id: i64, live_id: i64, now: i64) -> StoreResult<i64> {
    let id = on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO carts (member_id, live_id, status, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, 'open', $3, $3) \
             ON CONFLICT (member_id, live_id) WHERE status = 'open' DO UPDATE SET updated_at_ms = $3 \
             RETURNING id",
        )
        .bind(member_id)
        .bind(live_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?
    });
    Ok(id)
}

impl Store {
    /// Stores a checkout token (its hash) for the member's open cart in the live.
    /// Returns the cart id.
    pub async fn issue_checkout_token(
        &self,
        member_id: i64,
        live_id: i64,
        token_hash: &str,
        expires_at_ms: i64,
        now: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let cart = open_cart_in(&mut tx, member_id, live_id, now).await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO checkout_tokens (token_hash, cart_id, member_id, expires_at_ms, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(cart)
            .bind(member_id)
            .bind(expires_at_ms)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(cart)
    }

    /// The cart a token opens, whatever its expiry (the caller decides what expiry means).
    pub async fn checkout_by_token(&self, token_hash: &str) -> StoreResult<Option<CheckoutRef>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT c.id, c.member_id, c.live_id, t.expires_at_ms FROM checkout_tokens t \
                 JOIN carts c ON c.id = t.cart_id WHERE t.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
            row.map(|r| -> StoreResult<CheckoutRef> {
                Ok(CheckoutRef {
                    cart_id: r.try_get(0)?,
                    member_id: r.try_get(1)?,
                    live_id: r.try_get(2)?,
                    token_expires_at_ms: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    /// The holds a cart holds now: its member's active holds in its live that no order
    /// has taken, oldest first. A closed (ordered) cart holds nothing.
    pub async fn cart_lines(&self, cart_id: i64, now: i64) -> StoreResult<Vec<CartLine>> {
        let cart = on_pool!(self, |pool| {
            sqlx::query("SELECT member_id, live_id FROM carts WHERE id = $1 AND status = 'open'")
                .bind(cart_id)
                .fetch_optional(pool)
                .await?
                .map(|r| -> StoreResult<(i64, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()?
        });
        match cart {
            Some((member, live)) => self.member_cart_lines(member, live, now).await,
            None => Ok(Vec::new()),
        }
    }

    /// What a member's checkout would hold in a live right now (the lines of their open
    /// cart there), for replies that list it.
    pub async fn member_cart_lines(
        &self,
        member_id: i64,
        live_id: i64,
        now: i64,
    ) -> StoreResult<Vec<CartLine>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(cart_holds!(""))
                .bind(member_id)
                .bind(live_id)
                .bind(now)
                .fetch_all(pool)
                .await?;
            rows.iter().map(cart_line_from_row).collect()
        })
    }

    /// The order a cart became, if it did.
    pub async fn order_for_cart(&self, cart_id: i64) -> StoreResult<Option<OrderView>> {
        let id = on_pool!(self, |pool| {
            sqlx::query("SELECT id FROM orders WHERE cart_id = $1")
                .bind(cart_id)
                .fetch_optional(pool)
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?
        });
        match id {
            Some(id) => self.order(id).await,
            None => Ok(None),
        }
    }

    /// Turns the cart's held lines into an order in `pending_payment`, and keeps their
    /// holds until the payment deadline. Exactly one confirmation of a cart makes an order.
    pub async fn confirm_cart(&self, order: &NewOrder, now: i64) -> StoreResult<Confirmed> {
        super::error::retry_contention!(self.confirm_cart_once(order, now).await)
    }

    async fn confirm_cart_once(&self, order: &NewOrder, now: i64) -> StoreResult<Confirmed> {
        let mut tx = self.begin_write().await?;
        // The cart row serialises confirmations of one cart on Postgres.
        let lock_cart = if tx.is_postgres() {
            "SELECT member_id, live_id FROM carts WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT member_id, live_id FROM carts WHERE id = $1"
        };
        let cart = on_tx!(&mut tx, |conn| {
            sqlx::query(lock_cart)
                .bind(order.cart_id)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| -> StoreResult<(i64, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()?
        });
        let Some((member_id, live_id)) = cart else {
            return Ok(Confirmed::NothingHeld);
        };
        let existing = on_tx!(&mut tx, |conn| {
            sqlx::query("SELECT id FROM orders WHERE cart_id = $1")
                .bind(order.cart_id)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?
        });
        if let Some(id) = existing {
            return Ok(Confirmed::Existing(id));
        }
        let limit: Option<i64> = if order.variant_picks.is_empty() {
            None
        } else {
            on_tx!(&mut tx, |conn| {
                sqlx::query_scalar("SELECT limit_per_member FROM live_sessions WHERE id = $1")
                    .bind(live_id)
                    .fetch_one(&mut *conn)
                    .await?
            })
        };
        for &(hold, sku) in &order.variant_picks {
            match move_hold_in(&mut tx, hold, member_id, live_id, sku, limit, now).await? {
                HoldMove::Moved | HoldMove::Unchanged | HoldMove::NotAllowed => {}
                HoldMove::SoldOut | HoldMove::WrongProduct | HoldMove::LimitExceeded => {
                    return Ok(Confirmed::OptionGone(hold))
                }
            }
        }
        // Holds the sweeper has not reached but whose time is up are not sold: the sweeper
        // and this check agree on `expires_at_ms > now`, so exactly one side wins a hold.
        // FOR UPDATE OF h: the sweeper skips (SKIP LOCKED) holds being ordered.
        let lines_sql = if tx.is_postgres() {
            cart_holds!(" FOR UPDATE OF h")
        } else {
            cart_holds!("")
        };
        let lines: Vec<CartLine> = on_tx!(&mut tx, |conn| {
            let rows = sqlx::query(lines_sql)
                .bind(member_id)
                .bind(live_id)
                .bind(now)
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(cart_line_from_row)
                .collect::<StoreResult<Vec<_>>>()?
        });
        if lines.is_empty() {
            return Ok(Confirmed::NothingHeld);
        }
        let currency = lines[0].currency.clone();
        // Prices and quantities are capped where they come in; checked all the same, so
        // a bad row fails the order instead of wrapping its total.
        let total = lines
            .iter()
            .try_fold(0i64, |sum, l| {
                l.qty
                    .checked_mul(l.unit_price)
                    .and_then(|amount| sum.checked_add(amount))
            })
            .ok_or_else(|| StoreError::Invariant("the order total is out of range".into()))?;
        // Points pay part of the total, checked against the balance and the share here,
        // and taken below with a guarded update in this same transaction.
        let discount = if order.points_to_spend > 0 {
            let balance = points_balance_in(&mut tx, member_id).await?.unwrap_or(0);
            match order.points.discount(order.points_to_spend, total, balance) {
                Ok(discount) => discount,
                Err(refusal) => return Ok(Confirmed::PointsRefused(refusal)),
            }
        } else {
            0
        };
        let order_id = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO orders (cart_id, member_id, live_id, status, currency, total, contact_name, \
                 contact_phone, contact_email, fulfilment, delivery_address, pickup_store, payment_method, \
                 payment_deadline_ms, created_at_ms, updated_at_ms, points_spent, points_discount) \
                 VALUES ($1, $2, $3, 'pending_payment', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16) \
                 RETURNING id",
            )
            .bind(order.cart_id)
            .bind(member_id)
            .bind(live_id)
            .bind(&currency)
            .bind(total - discount)
            .bind(&order.contact_name)
            .bind(order.phone.as_str())
            .bind(order.email.as_ref().map_or("", Email::as_str))
            .bind(&order.fulfilment)
            .bind(&order.delivery_address)
            .bind(&order.pickup_store)
            .bind(&order.payment_method)
            .bind(order.payment_deadline_ms)
            .bind(now)
            .bind(if discount > 0 { order.points_to_spend } else { 0 })
            .bind(discount)
            .fetch_one(&mut *conn)
            .await?
            .try_get::<i64, _>(0)?
        });
        if discount > 0 {
            let spent = spend_points_in(
                &mut tx,
                member_id,
                order.points_to_spend,
                PointMove::new(PointKind::Spent, 0).order(order_id),
                now,
            )
            .await?;
            match spent {
                Some(Spend::Done(_)) => {}
                // The balance was read in this transaction; a spend elsewhere got there
                // first (Postgres). Running again reads the new balance and refuses.
                _ => {
                    return Err(StoreError::Contention(
                        "the member's points changed while ordering".into(),
                    ))
                }
            }
        }
        for line in &lines {
            let options = serde_json::to_string(&line.options).unwrap_or_else(|_| "[]".into());
            on_tx!(&mut tx, |conn| {
                sqlx::query(
                    "INSERT INTO order_lines (order_id, hold_id, sku_id, sku, name, options, qty, unit_price) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(order_id)
                .bind(line.hold_id)
                .bind(line.sku_id)
                .bind(&line.sku)
                .bind(&line.name)
                .bind(&options)
                .bind(line.qty)
                .bind(line.unit_price)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "UPDATE holds SET expires_at_ms = $1, updated_at_ms = $2 WHERE id = $3",
                )
                .bind(order.payment_deadline_ms.max(line.expires_at_ms))
                .bind(now)
                .bind(line.hold_id)
                .execute(&mut *conn)
                .await?;
            });
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query("UPDATE carts SET status = 'ordered', updated_at_ms = $1 WHERE id = $2")
                .bind(now)
                .bind(order.cart_id)
                .execute(&mut *conn)
                .await?;
        });
        // The contact stays on the order. It joins the member's profile only when no other
        // member has it; otherwise staff get a merge suggestion. Typing someone's phone
        // proves nothing, so checkout never merges (issue 14).
        let member = claim_contact_in(
            &mut tx,
            member_id,
            Some(&order.phone),
            order.email.as_ref(),
            Some(order_id),
            now,
        )
        .await?
        .ok_or_else(|| StoreError::Invariant(format!("cart {} has no member", order.cart_id)))?;
        remember_contact_in(&mut tx, member, order, now).await?;
        tx.commit().await?;
        Ok(Confirmed::Created(order_id))
    }

    pub async fn order(&self, id: i64) -> StoreResult<Option<OrderView>> {
        let order = on_pool!(self, |pool| {
            let mut query = QueryBuilder::new(format!(
                "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = "
            ));
            query.push_bind(id);
            query
                .build()
                .fetch_optional(pool)
                .await?
                .map(|r| order_from_row(&r))
                .transpose()?
        });
        let Some(mut order) = order else {
            return Ok(None);
        };
        order.lines = self
            .order_lines(&[id])
            .await?
            .into_iter()
            .map(|l| l.1)
            .collect();
        Ok(Some(order))
    }

    async fn order_lines(&self, ids: &[i64]) -> StoreResult<Vec<(i64, OrderLineView)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, |pool| {
            let mut query = QueryBuilder::new(
                "SELECT order_id, hold_id, sku, name, options, qty, unit_price FROM order_lines WHERE order_id IN (",
            );
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            query.push(") ORDER BY order_id, hold_id");
            let rows = query.build().fetch_all(pool).await?;
            rows.iter()
                .map(|r| -> StoreResult<(i64, OrderLineView)> {
                    Ok((
                        r.try_get(0)?,
                        OrderLineView {
                            hold_id: r.try_get(1)?,
                            sku: r.try_get(2)?,
                            name: r.try_get(3)?,
                            options: options_from(&r.try_get::<String, _>(4)?),
                            qty: r.try_get(5)?,
                            unit_price: r.try_get(6)?,
                        },
                    ))
                })
                .collect()
        })
    }

    /// Orders matching the filter, oldest first, with their lines.
    pub async fn list_orders(&self, filter: &OrderFilter) -> StoreResult<Vec<OrderView>> {
        let mut orders = on_pool!(self, |pool| {
            let mut query =
                QueryBuilder::new(format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE 1 = 1"));
            match filter.live_id {
                Some(live) => {
                    query.push(" AND o.live_id = ").push_bind(live);
                }
                // Rehearsals stay out of the shop's lists and exports unless asked for.
                None => {
                    query
                        .push(" AND o.live_id NOT IN (SELECT id FROM live_sessions WHERE sandbox)");
                }
            }
            if let Some(status) = &filter.status {
                query.push(" AND o.status = ").push_bind(*status);
            }
            if let Some(member) = filter.member_id {
                query.push(" AND o.member_id = ").push_bind(member);
            }
            if let Some(channel) = &filter.channel {
                // Live holds name their comment as `inbox:{id}`.
                query
                    .push(
                        " AND EXISTS (SELECT 1 FROM order_lines l JOIN holds h ON h.id = l.hold_id \
                         WHERE l.order_id = o.id AND (h.channel = ",
                    )
                    .push_bind(channel.clone())
                    .push(
                        " OR EXISTS (SELECT 1 FROM inbox i WHERE i.id = CASE WHEN h.reference LIKE 'inbox:%' \
                         THEN CAST(SUBSTR(h.reference, 7) AS BIGINT) END AND i.platform = ",
                    )
                    .push_bind(channel.clone())
                    .push(")))");
            }
            if let Some(from) = filter.created_from_ms {
                query.push(" AND o.created_at_ms >= ").push_bind(from);
            }
            if let Some(before) = filter.created_before_ms {
                query.push(" AND o.created_at_ms < ").push_bind(before);
            }
            match filter.paid {
                Some(true) => {
                    query.push(" AND o.paid_at_ms IS NOT NULL");
                }
                Some(false) => {
                    query.push(" AND o.paid_at_ms IS NULL");
                }
                None => {}
            }
            match filter.receipt_waiting {
                Some(true) => {
                    query.push(" AND ").push(RECEIPT_WAITING);
                }
                Some(false) => {
                    query.push(" AND NOT ").push(RECEIPT_WAITING);
                }
                None => {}
            }
            if let Some(after) = filter.after {
                query.push(" AND o.id > ").push_bind(after);
            }
            query.push(" ORDER BY o.id LIMIT ").push_bind(filter.limit);
            let rows = query.build().fetch_all(pool).await?;
            rows.iter()
                .map(order_from_row)
                .collect::<StoreResult<Vec<_>>>()?
        });
        let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
        let mut lines = self.order_lines(&ids).await?.into_iter().peekable();
        for order in &mut orders {
            while let Some((_, line)) = lines.next_if(|(id, _)| *id == order.id) {
                order.lines.push(line);
            }
        }
        Ok(orders)
    }

    /// Cancels an unfulfilled order: held units are released, sold units go back on the
    /// shelf (and points earned are taken back); either way the waitlist is served.
    /// Without `allow_paid` a paid order is `NotAllowed`, decided under the order's lock.
    /// `actor` goes into the order's history.
    pub async fn cancel_order(
        &self,
        id: i64,
        allow_paid: bool,
        actor: &str,
        now: i64,
    ) -> StoreResult<OrderChange> {
        super::error::retry_contention!(self.cancel_order_once(id, allow_paid, actor, now).await)
    }

    async fn cancel_order_once(
        &self,
        id: i64,
        allow_paid: bool,
        actor: &str,
        now: i64,
    ) -> StoreResult<OrderChange> {
        let mut tx = self.begin_write().await?;
        let Some((status, member_id)) = lock_order(&mut tx, id).await? else {
            return Ok(OrderChange::NotFound);
        };
        if status == OrderStatus::Paid && !allow_paid {
            return Ok(OrderChange::NotAllowed(status));
        }
        match status {
            OrderStatus::PendingPayment => {
                let holds = order_holds(&mut tx, id).await?;
                release_holds_in(&mut tx, &holds, true, now).await?;
                give_back_points_in(&mut tx, id, member_id, false, now).await?;
            }
            OrderStatus::Paid => {
                let units = on_tx!(&mut tx, |conn| {
                    let rows =
                        sqlx::query("SELECT sku_id, qty FROM order_lines WHERE order_id = $1")
                            .bind(id)
                            .fetch_all(&mut *conn)
                            .await?;
                    rows.iter()
                        .map(|r| -> StoreResult<(i64, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                        .collect::<StoreResult<Vec<_>>>()?
                });
                return_units_in(&mut tx, &units, &order_number(id), "checkout", now).await?;
                give_back_points_in(&mut tx, id, member_id, true, now).await?;
            }
            _ => return Ok(OrderChange::WrongStatus(status)),
        }
        set_order_status(&mut tx, id, OrderStatus::Cancelled, now).await?;
        super::order_desk::order_history_in(&mut tx, id, "cancelled", actor, "", now).await?;
        tx.commit().await?;
        Ok(OrderChange::Done)
    }

    /// Orders whose payment deadline passed: `expired`, their units released and the
    /// waitlist served. Returns how many expired.
    pub async fn expire_unpaid_orders(&self, now: i64, limit: i64) -> StoreResult<usize> {
        super::error::retry_contention!(self.expire_unpaid_orders_once(now, limit).await)
    }

    async fn expire_unpaid_orders_once(&self, now: i64, limit: i64) -> StoreResult<usize> {
        let mut tx = self.begin_write().await?;
        let sql = if tx.is_postgres() {
            "SELECT id FROM orders WHERE status = 'pending_payment' AND payment_deadline_ms <= $1 \
             ORDER BY payment_deadline_ms LIMIT $2 FOR UPDATE SKIP LOCKED"
        } else {
            "SELECT id FROM orders WHERE status = 'pending_payment' AND payment_deadline_ms <= $1 \
             ORDER BY payment_deadline_ms LIMIT $2"
        };
        let due = on_tx!(&mut tx, |conn| {
            let rows = sqlx::query(sql)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<Vec<_>, _>>()?
        });
        for id in &due {
            let holds = order_holds(&mut tx, *id).await?;
            release_holds_in(&mut tx, &holds, true, now).await?;
            let member: i64 = on_tx!(&mut tx, |conn| {
                sqlx::query_scalar("SELECT member_id FROM orders WHERE id = $1")
                    .bind(*id)
                    .fetch_one(&mut *conn)
                    .await?
            });
            give_back_points_in(&mut tx, *id, member, false, now).await?;
            set_order_status(&mut tx, *id, OrderStatus::Expired, now).await?;
            super::order_desk::order_history_in(&mut tx, *id, "expired", "", "", now).await?;
        }
        tx.commit().await?;
        Ok(due.len())
    }

    /// Keeps a buyer's receipt image with the order.
    pub async fn add_payment_receipt(
        &self,
        order_id: i64,
        content_type: &str,
        bytes: &[u8],
        now: i64,
    ) -> StoreResult<i64> {
        on_pool!(self, |pool| {
            Ok(sqlx::query(
                "INSERT INTO payment_receipts (order_id, content_type, bytes, uploaded_at_ms) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(order_id)
            .bind(content_type)
            .bind(bytes)
            .bind(now)
            .fetch_one(pool)
            .await?
            .try_get::<i64, _>(0)?)
        })
    }

    /// A receipt's type and bytes, for staff.
    pub async fn payment_receipt(
        &self,
        order_id: i64,
        receipt_id: i64,
    ) -> StoreResult<Option<(String, Vec<u8>)>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT content_type, bytes FROM payment_receipts WHERE order_id = $1 AND id = $2",
            )
            .bind(order_id)
            .bind(receipt_id)
            .fetch_optional(pool)
            .await?
            .map(|r| -> StoreResult<(String, Vec<u8>)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .transpose()
        })
    }
}

/// An order just marked paid, for whoever announces it in the same transaction.
#[derive(Debug, Clone)]
pub struct PaidOrder {
    pub member_id: i64,
    pub live_id: i64,
    pub total: i64,
    pub currency: String,
    pub points: i64,
}

/// Payment received: the order becomes `paid`, its holds become a sale, and the member
/// earns the points `points_for` gives its total. All or nothing; the caller commits.
pub async fn mark_order_paid_in(
    tx: &mut Tx,
    id: i64,
    points_for: impl FnOnce(i64) -> i64,
    now: i64,
) -> StoreResult<Result<PaidOrder, OrderChange>> {
    let Some((status, member_id)) = lock_order(tx, id).await? else {
        return Ok(Err(OrderChange::NotFound));
    };
    if status != OrderStatus::PendingPayment {
        return Ok(Err(OrderChange::WrongStatus(status)));
    }
    let holds = order_holds(tx, id).await?;
    if let Err(gone) = commit_holds_in(tx, &holds, &order_number(id), now).await? {
        return Ok(Err(OrderChange::HoldGone(gone)));
    }
    let (live_id, total, currency) = on_tx!(tx, |conn| {
        let row = sqlx::query("SELECT live_id, total, currency FROM orders WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        (
            row.try_get::<i64, _>(0)?,
            row.try_get::<i64, _>(1)?,
            row.try_get::<String, _>(2)?,
        )
    });
    let points = points_for(total);
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE orders SET status = 'paid', paid_at_ms = $1, updated_at_ms = $1, points_earned = $2 \
             WHERE id = $3",
        )
        .bind(now)
        .bind(points)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    });
    let earned = PointMove::new(PointKind::Earned, points).order(id);
    move_points_in(tx, member_id, earned, now).await?;
    Ok(Ok(PaidOrder {
        member_id,
        live_id,
        total,
        currency,
        points,
    }))
}

/// An order that will not be paid gives back the points it spent (`returned`); a paid one
/// (`paid`) also loses the points it earned (a negative `earned`).
async fn give_back_points_in(
    tx: &mut Tx,
    id: i64,
    member_id: i64,
    paid: bool,
    now: i64,
) -> StoreResult<()> {
    let (spent, earned): (i64, i64) = on_tx!(tx, |conn| {
        sqlx::query_as("SELECT points_spent, points_earned FROM orders WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?
    });
    move_points_in(
        tx,
        member_id,
        PointMove::new(PointKind::Returned, spent).order(id),
        now,
    )
    .await?;
    if paid {
        move_points_in(
            tx,
            member_id,
            PointMove::new(PointKind::Earned, -earned).order(id),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Keeps what the buyer typed as the member's defaults, where the profile has none yet.
async fn remember_contact_in(
    tx: &mut Tx,
    member: i64,
    order: &NewOrder,
    now: i64,
) -> StoreResult<()> {
    let address = Some(order.delivery_address.as_str()).filter(|a| !a.is_empty());
    let store = Some(order.pickup_store.as_str()).filter(|s| !s.is_empty());
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE members SET name = COALESCE(name, $1), delivery_address = COALESCE(delivery_address, $2), \
             pickup_store = COALESCE(pickup_store, $3), updated_at_ms = $4 WHERE id = $5",
        )
        .bind(&order.contact_name)
        .bind(address)
        .bind(store)
        .bind(now)
        .bind(member)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// The order's status and member, locked for the rest of the transaction on Postgres.
pub(super) async fn lock_order(tx: &mut Tx, id: i64) -> StoreResult<Option<(OrderStatus, i64)>> {
    let sql = if tx.is_postgres() {
        "SELECT status, member_id FROM orders WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT status, member_id FROM orders WHERE id = $1"
    };
    Ok(on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| -> StoreResult<(OrderStatus, i64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .transpose()?
    }))
}

async fn order_holds(tx: &mut Tx, id: i64) -> StoreResult<Vec<i64>> {
    Ok(on_tx!(tx, |conn| {
        let rows =
            sqlx::query("SELECT hold_id FROM order_lines WHERE order_id = $1 ORDER BY hold_id")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<Vec<_>, _>>()?
    }))
}

pub(super) async fn set_order_status(
    tx: &mut Tx,
    id: i64,
    status: OrderStatus,
    now: i64,
) -> StoreResult<()> {
    on_tx!(tx, |conn| {
        sqlx::query("UPDATE orders SET status = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(status)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}
