//! Counter sales: the shop's POS selling from the one stock the lives sell from.
//!
//! A sale is paid at once. In one transaction it prices its lines, checks the member's
//! points, commits its units through the ledger as `sale` movements on channel `pos` (only
//! units no hold has promised: live buyers' held units are never taken), and writes the
//! points it spent and earned. Its answer, refusals included, is kept under its
//! idempotency key, so a retry gets the first answer. Cancelling puts the units back as
//! `return` movements, gives back the points spent and takes back the points earned.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::error::retry_contention;
use super::members::{member_with_contact_in, ContactField};
use super::points::{
    move_points_in, points_balance_in, spend_points_in, PointKind, PointMove, Spend,
};
use super::stock::{next_ids, once_per_key, return_units_in, sell_units_in, IdTable};
use super::{now_ms, on_tx, IdempotencyKey, Idempotent, Store, StoreError, StoreResult, Tx};
use crate::ledger::{Channel, MemberId, Rejection, SkuId};
use crate::members::{Phone, PointsPolicy, PointsRefusal};

/// How a counter sale was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SalePayment {
    Cash,
    Card,
    Fps,
    Payme,
    Octopus,
    BankTransfer,
    Other,
}

impl SalePayment {
    pub const ALL: [SalePayment; 7] = [
        SalePayment::Cash,
        SalePayment::Card,
        SalePayment::Fps,
        SalePayment::Payme,
        SalePayment::Octopus,
        SalePayment::BankTransfer,
        SalePayment::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SalePayment::Cash => "cash",
            SalePayment::Card => "card",
            SalePayment::Fps => "fps",
            SalePayment::Payme => "payme",
            SalePayment::Octopus => "octopus",
            SalePayment::BankTransfer => "bank_transfer",
            SalePayment::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<SalePayment> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// A sale as the counter asked for it. `Debug` leaves out the phone.
#[derive(Clone)]
pub struct NewSale {
    /// (SKU code, qty), qty at least 1.
    pub lines: Vec<(String, i64)>,
    pub member_phone: Option<Phone>,
    /// 0: none.
    pub points_to_spend: i64,
    pub payment_method: SalePayment,
    /// The user or token that rang it up.
    pub actor: String,
    pub points: PointsPolicy,
}

impl std::fmt::Debug for NewSale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSale")
            .field("lines", &self.lines)
            .field("member", &self.member_phone.is_some())
            .field("points_to_spend", &self.points_to_spend)
            .field("payment_method", &self.payment_method)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SaleLineView {
    pub sku: String,
    pub name: String,
    pub options: Vec<String>,
    pub qty: i64,
    /// Minor units.
    pub unit_price: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SaleView {
    pub id: i64,
    /// What the receipt says, e.g. `CS-000042`.
    pub number: String,
    /// `paid`, or `cancelled`.
    pub status: String,
    pub member_id: Option<MemberId>,
    pub currency: String,
    /// Minor units, before points.
    pub subtotal: i64,
    pub points_spent: i64,
    /// Minor units the points took off.
    pub points_discount: i64,
    /// Minor units paid: `subtotal - points_discount`.
    pub total: i64,
    pub points_earned: i64,
    /// The member's balance when this answer was made.
    pub member_points: Option<i64>,
    pub payment_method: SalePayment,
    pub created_by: String,
    pub created_at_ms: i64,
    pub cancelled_at_ms: Option<i64>,
    pub lines: Vec<SaleLineView>,
}

/// Why a sale was not made. Nothing changed but the idempotency key, which keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SaleRefusal {
    /// Fewer units free of holds than asked for.
    InsufficientStock {
        sku: String,
        available: i64,
    },
    UnknownSku {
        sku: String,
    },
    /// No member has this phone.
    UnknownMember,
    MemberBlocked {
        reason: String,
    },
    Points {
        refusal: PointsRefusal,
    },
    /// Lines priced in different currencies.
    MixedCurrency,
}

/// What `POST /sales` answers, kept for replays.
pub type SaleAnswer = Result<SaleView, SaleRefusal>;

/// What a cancellation came to.
#[derive(Debug)]
pub enum SaleChange {
    Done(Box<SaleView>),
    NotFound,
    AlreadyCancelled,
}

/// The number on a counter sale's receipt.
pub fn sale_number(id: i64) -> String {
    format!("CS-{id:06}")
}

/// A SKU as the counter shows it when it is scanned.
#[derive(Debug, Clone, Serialize)]
pub struct CounterItem {
    pub sku: String,
    pub name: String,
    pub options: Vec<String>,
    /// Minor units.
    pub unit_price: i64,
    pub currency: String,
    /// Units no hold has promised.
    pub available: i64,
}

/// The member a phone finds at the counter. `Debug` leaves out the name.
#[derive(Clone, Serialize)]
pub struct CounterMember {
    pub id: MemberId,
    pub name: String,
    pub points: i64,
}

impl std::fmt::Debug for CounterMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterMember")
            .field("id", &self.id)
            .field("points", &self.points)
            .finish_non_exhaustive()
    }
}

struct Priced {
    sku_id: SkuId,
    line: SaleLineView,
    currency: String,
}

impl Store {
    /// Rings up a sale, once per idempotency key.
    pub async fn create_sale(
        &self,
        sale: &NewSale,
        key: &IdempotencyKey,
    ) -> StoreResult<Idempotent<SaleAnswer>> {
        retry_contention!(
            async {
                let sale = sale.clone();
                once_per_key(self, Some(key), move |tx, now| {
                    Box::pin(async move { create_sale_in(tx, &sale, now).await })
                })
                .await
            }
            .await
        )
    }

    /// A SKU's name, price and units free of holds, for the counter.
    pub async fn counter_item(&self, sku: &str) -> StoreResult<Option<CounterItem>> {
        let mut tx = self.begin_read().await?;
        let priced = price_line(&mut tx, sku, 1).await?;
        let Some(priced) = priced else {
            return Ok(None);
        };
        let available: Option<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar("SELECT on_hand - reserved FROM stock_levels WHERE sku_id = $1")
                .bind(priced.sku_id)
                .fetch_optional(&mut *conn)
                .await?
        });
        tx.commit().await?;
        Ok(Some(CounterItem {
            sku: priced.line.sku,
            name: priced.line.name,
            options: priced.line.options,
            unit_price: priced.line.unit_price,
            currency: priced.currency,
            available: available.unwrap_or(0),
        }))
    }

    /// The live member with this phone, with their name and balance.
    pub async fn counter_member(&self, phone: &Phone) -> StoreResult<Option<CounterMember>> {
        let mut tx = self.begin_read().await?;
        let Some(id) = member_with_contact_in(&mut tx, ContactField::Phone, phone.as_str()).await?
        else {
            return Ok(None);
        };
        let row: (String, Option<String>, i64) = on_tx!(&mut tx, |conn| {
            sqlx::query_as("SELECT display_name, name, points FROM members WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?
        });
        tx.commit().await?;
        let (display_name, name, points) = row;
        Ok(Some(CounterMember {
            id,
            name: name.filter(|n| !n.is_empty()).unwrap_or(display_name),
            points,
        }))
    }

    pub async fn sale(&self, id: i64) -> StoreResult<Option<SaleView>> {
        let mut tx = self.begin_read().await?;
        let sale = sale_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(sale)
    }

    /// Cancels a paid sale: units back on the shelf (`return` on channel `pos`, serving
    /// waitlists), spent points back, earned points taken back.
    pub async fn cancel_sale(&self, id: i64) -> StoreResult<SaleChange> {
        retry_contention!(self.cancel_sale_once(id).await)
    }

    async fn cancel_sale_once(&self, id: i64) -> StoreResult<SaleChange> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let lock = if tx.is_postgres() {
            "SELECT status, member_id, points_spent, points_earned FROM sales WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT status, member_id, points_spent, points_earned FROM sales WHERE id = $1"
        };
        let row: Option<(String, Option<i64>, i64, i64)> = on_tx!(&mut tx, |conn| {
            sqlx::query_as(lock)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        });
        let Some((status, member, spent, earned)) = row else {
            return Ok(SaleChange::NotFound);
        };
        if status != "paid" {
            return Ok(SaleChange::AlreadyCancelled);
        }
        let units: Vec<(SkuId, i64)> = on_tx!(&mut tx, |conn| {
            sqlx::query_as("SELECT sku_id, qty FROM sale_lines WHERE sale_id = $1 ORDER BY line")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
        });
        return_units_in(
            &mut tx,
            &units,
            &sale_number(id),
            Channel::Pos.as_str(),
            now,
        )
        .await?;
        if let Some(member) = member {
            let back = PointMove::new(PointKind::Returned, spent).sale(id);
            move_points_in(&mut tx, member, back, now).await?;
            let taken = PointMove::new(PointKind::Earned, -earned).sale(id);
            move_points_in(&mut tx, member, taken, now).await?;
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE sales SET status = 'cancelled', cancelled_at_ms = $1, updated_at_ms = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        });
        let view = sale_in(&mut tx, id).await?;
        tx.commit().await?;
        view.map(|v| SaleChange::Done(Box::new(v)))
            .ok_or_else(|| StoreError::Invariant(format!("sale {id} vanished")))
    }
}

async fn price_line(tx: &mut Tx, sku: &str, qty: i64) -> StoreResult<Option<Priced>> {
    let row: Option<(i64, String, String, String, i64, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "SELECT s.id, s.sku, s.options, p.name, p.price, p.currency FROM skus s \
             JOIN products p ON p.id = s.product_id WHERE s.sku = $1",
        )
        .bind(sku)
        .fetch_optional(&mut *conn)
        .await?
    });
    Ok(row.map(
        |(sku_id, sku, options, name, unit_price, currency)| Priced {
            sku_id,
            line: SaleLineView {
                sku,
                options: serde_json::from_str(&options).unwrap_or_default(),
                name,
                qty,
                unit_price,
            },
            currency,
        },
    ))
}

async fn create_sale_in(tx: &mut Tx, sale: &NewSale, now: i64) -> StoreResult<SaleAnswer> {
    let mut priced = Vec::with_capacity(sale.lines.len());
    for (sku, qty) in &sale.lines {
        match price_line(tx, sku, *qty).await? {
            Some(line) => priced.push(line),
            None => return Ok(Err(SaleRefusal::UnknownSku { sku: sku.clone() })),
        }
    }
    let Some(currency) = priced.first().map(|p| p.currency.clone()) else {
        return Err(StoreError::Invariant("a sale with no lines".into()));
    };
    if priced.iter().any(|p| p.currency != currency) {
        return Ok(Err(SaleRefusal::MixedCurrency));
    }
    // Prices and quantities are capped where they come in; checked all the same.
    let subtotal = priced
        .iter()
        .try_fold(0i64, |sum, p| {
            p.line
                .qty
                .checked_mul(p.line.unit_price)
                .and_then(|amount| sum.checked_add(amount))
        })
        .ok_or_else(|| StoreError::Invariant("the sale total is out of range".into()))?;

    let member = match &sale.member_phone {
        None => None,
        Some(phone) => match member_with_contact_in(tx, ContactField::Phone, phone.as_str()).await?
        {
            Some(id) => Some(id),
            None => return Ok(Err(SaleRefusal::UnknownMember)),
        },
    };
    if let Some(member) = member {
        let blocked: Option<String> = on_tx!(tx, |conn| {
            sqlx::query_scalar("SELECT blocked_reason FROM members WHERE id = $1")
                .bind(member)
                .fetch_one(&mut *conn)
                .await?
        });
        if let Some(reason) = blocked {
            return Ok(Err(SaleRefusal::MemberBlocked { reason }));
        }
    }
    let discount = match (sale.points_to_spend, member) {
        (0, _) => 0,
        (_, None) => {
            return Ok(Err(SaleRefusal::Points {
                refusal: PointsRefusal::NoMember,
            }))
        }
        (points, Some(member)) => {
            let balance = points_balance_in(tx, member).await?.unwrap_or(0);
            match sale.points.discount(points, subtotal, balance) {
                Ok(discount) => discount,
                Err(refusal) => return Ok(Err(SaleRefusal::Points { refusal })),
            }
        }
    };
    let total = subtotal - discount;

    let id = next_ids(tx, IdTable::Sales, 1)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Invariant("no id for a sale".into()))?;
    let number = sale_number(id);
    let units: Vec<(SkuId, i64)> = priced.iter().map(|p| (p.sku_id, p.line.qty)).collect();
    if let Err((sku_id, rejection)) = sell_units_in(tx, &units, Channel::Pos, &number, now).await? {
        let sku = priced
            .iter()
            .find(|p| p.sku_id == sku_id)
            .map(|p| p.line.sku.clone())
            .unwrap_or_default();
        return Ok(Err(match rejection {
            Rejection::InsufficientStock { available } => {
                SaleRefusal::InsufficientStock { sku, available }
            }
            // The SKU was priced above, so it exists; its level row may not.
            _ => SaleRefusal::InsufficientStock { sku, available: 0 },
        }));
    }
    let earned = if member.is_some() {
        sale.points.earned(total)
    } else {
        0
    };
    let spent = if discount > 0 {
        sale.points_to_spend
    } else {
        0
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO sales (id, member_id, status, currency, subtotal, points_spent, points_discount, \
             total, points_earned, payment_method, created_by, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, 'paid', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(id)
        .bind(member)
        .bind(&currency)
        .bind(subtotal)
        .bind(spent)
        .bind(discount)
        .bind(total)
        .bind(earned)
        .bind(sale.payment_method.as_str())
        .bind(&sale.actor)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    for (i, p) in priced.iter().enumerate() {
        let options = serde_json::to_string(&p.line.options).unwrap_or_else(|_| "[]".into());
        on_tx!(tx, |conn| {
            sqlx::query(
                "INSERT INTO sale_lines (sale_id, line, sku_id, sku, name, options, qty, unit_price) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(i as i64 + 1)
            .bind(p.sku_id)
            .bind(&p.line.sku)
            .bind(&p.line.name)
            .bind(&options)
            .bind(p.line.qty)
            .bind(p.line.unit_price)
            .execute(&mut *conn)
            .await?;
        });
    }
    if let Some(member) = member {
        if spent > 0 {
            let paid = PointMove {
                actor: &sale.actor,
                ..PointMove::new(PointKind::Spent, 0).sale(id)
            };
            match spend_points_in(tx, member, spent, paid, now).await? {
                Some(Spend::Done(_)) => {}
                // Another spend got there after the balance was read (Postgres): run
                // again, and the check above refuses with the new balance.
                _ => {
                    return Err(StoreError::Contention(
                        "the member's points changed during a sale".into(),
                    ))
                }
            }
        }
        let got = PointMove {
            actor: &sale.actor,
            ..PointMove::new(PointKind::Earned, earned).sale(id)
        };
        move_points_in(tx, member, got, now).await?;
    }
    let view = sale_in(tx, id).await?;
    view.map(Ok)
        .ok_or_else(|| StoreError::Invariant(format!("sale {id} was not stored")))
}

/// A sale's row: id, status, member, currency, subtotal, points spent, discount, total,
/// points earned, payment method, created by, created, cancelled, the member's balance.
type SaleRow = (
    i64,
    String,
    Option<i64>,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

async fn sale_in(tx: &mut Tx, id: i64) -> StoreResult<Option<SaleView>> {
    let row: Option<SaleRow> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "SELECT s.id, s.status, s.member_id, s.currency, s.subtotal, s.points_spent, s.points_discount, \
             s.total, s.points_earned, s.payment_method, s.created_by, s.created_at_ms, s.cancelled_at_ms, \
             m.points FROM sales s LEFT JOIN members m ON m.id = s.member_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    });
    let Some(row) = row else { return Ok(None) };
    let lines = on_tx!(tx, |conn| {
        let rows = sqlx::query(
            "SELECT sku, name, options, qty, unit_price FROM sale_lines WHERE sale_id = $1 ORDER BY line",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| -> StoreResult<SaleLineView> {
                Ok(SaleLineView {
                    sku: r.try_get(0)?,
                    name: r.try_get(1)?,
                    options: serde_json::from_str(&r.try_get::<String, _>(2)?).unwrap_or_default(),
                    qty: r.try_get(3)?,
                    unit_price: r.try_get(4)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?
    });
    let (
        id,
        status,
        member_id,
        currency,
        subtotal,
        points_spent,
        points_discount,
        total,
        points_earned,
        method,
        created_by,
        created_at_ms,
        cancelled_at_ms,
        member_points,
    ) = row;
    Ok(Some(SaleView {
        id,
        number: sale_number(id),
        status,
        member_id,
        currency,
        subtotal,
        points_spent,
        points_discount,
        total,
        points_earned,
        member_points,
        payment_method: SalePayment::parse(&method).ok_or_else(|| {
            StoreError::Invariant(format!("sale payment method `{method}` is not known"))
        })?,
        created_by,
        created_at_ms,
        cancelled_at_ms,
        lines,
    }))
}
