//! The shop's checkout choices as the owner set them in the console (`shop_checkout`,
//! `shop_payment_methods`, `shop_pickup_stores`): read whole by every checkout page, and
//! replaced whole by the owner. No row means the config's choices apply.

use serde::Serialize;
use sqlx::{QueryBuilder, Row};
use utoipa::ToSchema;

use super::{on_pool, on_tx, Store, StoreResult};
use crate::vocab::PaymentKind;

/// A payment method checkout offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShopPaymentMethod {
    pub kind: PaymentKind,
    /// What the buyer is told to do (account number, FPS id…), shown after confirming.
    pub instructions: String,
}

/// What buyers may choose at checkout, in the owner's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopCheckout {
    pub payment_methods: Vec<ShopPaymentMethod>,
    pub pickup_stores: Vec<String>,
    pub delivery: bool,
}

/// The owner's choices as saved, with when and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedShopCheckout {
    pub checkout: ShopCheckout,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

impl Store {
    /// The owner's checkout choices, or `None` while the config's apply. One statement,
    /// so a save in between is seen whole or not at all.
    pub async fn shop_checkout(&self) -> StoreResult<Option<SavedShopCheckout>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT CAST(0 AS BIGINT) AS part, CAST(0 AS BIGINT) AS position, '' AS a, '' AS b, \
                 delivery, updated_at_ms, updated_by FROM shop_checkout \
                 UNION ALL SELECT CAST(1 AS BIGINT), position, kind, instructions, FALSE, \
                 CAST(0 AS BIGINT), '' FROM shop_payment_methods \
                 UNION ALL SELECT CAST(2 AS BIGINT), position, name, '', FALSE, \
                 CAST(0 AS BIGINT), '' FROM shop_pickup_stores \
                 ORDER BY 1, 2",
            )
            .fetch_all(pool)
            .await?;
            let mut saved: Option<SavedShopCheckout> = None;
            let mut methods = Vec::new();
            let mut stores = Vec::new();
            for row in &rows {
                match row.try_get::<i64, _>(0)? {
                    0 => {
                        saved = Some(SavedShopCheckout {
                            checkout: ShopCheckout {
                                payment_methods: Vec::new(),
                                pickup_stores: Vec::new(),
                                delivery: row.try_get(4)?,
                            },
                            updated_at_ms: row.try_get(5)?,
                            updated_by: row.try_get(6)?,
                        })
                    }
                    1 => methods.push(ShopPaymentMethod {
                        kind: row.try_get(2)?,
                        instructions: row.try_get(3)?,
                    }),
                    _ => stores.push(row.try_get(2)?),
                }
            }
            Ok(saved.map(|mut saved| {
                saved.checkout.payment_methods = methods;
                saved.checkout.pickup_stores = stores;
                saved
            }))
        })
    }

    /// Replaces the owner's choices whole, in one transaction. The caller has checked
    /// them (`checkout::config::check_choices`); a kind or store twice still fails here
    /// and writes nothing.
    pub async fn replace_shop_checkout(
        &self,
        checkout: &ShopCheckout,
        actor: &str,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        if tx.is_postgres() {
            // Two owners saving at once: one after the other, not interleaved rows.
            on_tx!(&mut tx, |conn| {
                sqlx::query("LOCK TABLE shop_checkout IN EXCLUSIVE MODE")
                    .execute(&mut *conn)
                    .await?;
            });
        }
        for statement in [
            "DELETE FROM shop_checkout",
            "DELETE FROM shop_payment_methods",
            "DELETE FROM shop_pickup_stores",
        ] {
            on_tx!(&mut tx, |conn| {
                sqlx::query(statement).execute(&mut *conn).await?;
            });
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO shop_checkout (id, delivery, updated_at_ms, updated_by) \
                 VALUES (1, $1, $2, $3)",
            )
            .bind(checkout.delivery)
            .bind(now)
            .bind(actor)
            .execute(&mut *conn)
            .await?;
        });
        if !checkout.payment_methods.is_empty() {
            on_tx!(&mut tx, |conn| {
                let mut query = QueryBuilder::new(
                    "INSERT INTO shop_payment_methods (position, kind, instructions) ",
                );
                query.push_values(
                    checkout.payment_methods.iter().enumerate(),
                    |mut b, (i, m)| {
                        b.push_bind(i as i64)
                            .push_bind(m.kind)
                            .push_bind(m.instructions.clone());
                    },
                );
                query.build().execute(&mut *conn).await?;
            });
        }
        if !checkout.pickup_stores.is_empty() {
            on_tx!(&mut tx, |conn| {
                let mut query =
                    QueryBuilder::new("INSERT INTO shop_pickup_stores (position, name) ");
                query.push_values(
                    checkout.pickup_stores.iter().enumerate(),
                    |mut b, (i, name)| {
                        b.push_bind(i as i64).push_bind(name.clone());
                    },
                );
                query.build().execute(&mut *conn).await?;
            });
        }
        tx.commit().await
    }
}
