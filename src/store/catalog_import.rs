//! Writing a checked catalogue import in one transaction (the rules, the diff and the
//! file are `crate::catalogue_import`), and what the console's product pages read besides
//! the products: a SKU's movements and the units waiting per SKU.

use std::collections::HashMap;

use sqlx::Row;

use super::error::retry_contention;
use super::ledger::run_ledger_in;
use super::{id_list, now_ms, on_pool, on_tx, Store, StoreResult, Tx};
use crate::ledger::{Channel, Intent, Outcome, SkuId};

/// A product as an import writes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportProduct {
    pub code: String,
    pub name: String,
    /// Minor units.
    pub price: i64,
    pub currency: String,
    pub options: Vec<String>,
    pub aliases: Vec<String>,
}

/// A new SKU: of an existing product (`product_id`) or of a new one (by `code`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSku {
    pub product_id: Option<i64>,
    pub code: String,
    pub sku: String,
    pub options: Vec<String>,
}

/// The level a SKU's `on_hand` is set to; `sku_id` is `None` for a SKU the import makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StockTarget {
    pub sku: String,
    pub sku_id: Option<SkuId>,
    pub on_hand: i64,
}

/// Everything one import writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportWrite {
    pub new_products: Vec<ImportProduct>,
    /// By product id: every field is written.
    pub changed_products: Vec<(i64, ImportProduct)>,
    pub new_skus: Vec<ImportSku>,
    /// By SKU id: the SKU's new options.
    pub changed_skus: Vec<(SkuId, Vec<String>)>,
    pub stock: Vec<StockTarget>,
    /// The reference of the ledger's `adjust` movements.
    pub reason: String,
}

impl ImportWrite {
    pub fn is_empty(&self) -> bool {
        self.new_products.is_empty()
            && self.changed_products.is_empty()
            && self.new_skus.is_empty()
            && self.changed_skus.is_empty()
            && self.stock.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportApplied {
    Done,
    /// Units held for buyers grew past a SKU's new `on_hand` after the check; nothing
    /// was written.
    BelowHeld {
        sku: String,
        held: i64,
    },
}

/// A row of a SKU's movement log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRow {
    pub kind: String,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub channel: String,
    pub reference: String,
    pub created_at_ms: i64,
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

async fn insert_product(tx: &mut Tx, p: &ImportProduct, now: i64) -> StoreResult<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "INSERT INTO products (code, name, price, currency, options, created_at_ms, updated_at_ms, \
             sandbox, aliases) VALUES ($1, $2, $3, $4, $5, $6, $6, FALSE, $7) RETURNING id",
        )
        .bind(&p.code)
        .bind(&p.name)
        .bind(p.price)
        .bind(&p.currency)
        .bind(json_list(&p.options))
        .bind(now)
        .bind(json_list(&p.aliases))
        .fetch_one(&mut *conn)
        .await?
    }))
}

impl Store {
    /// Writes an import, all of it or none: products and SKUs first, then each stock
    /// target as a ledger adjustment by its difference from the level read under the
    /// ledger's lock (so a hold made meanwhile is never taken).
    pub async fn import_catalogue(&self, write: &ImportWrite) -> StoreResult<ImportApplied> {
        if write.is_empty() {
            return Ok(ImportApplied::Done);
        }
        retry_contention!(self.import_once(write).await)
    }

    async fn import_once(&self, write: &ImportWrite) -> StoreResult<ImportApplied> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let mut product_ids: HashMap<&str, i64> = HashMap::new();
        for product in &write.new_products {
            let id = insert_product(&mut tx, product, now).await?;
            product_ids.insert(&product.code, id);
        }
        for (id, p) in &write.changed_products {
            on_tx!(&mut tx, |conn| {
                sqlx::query(
                    "UPDATE products SET name = $1, price = $2, currency = $3, options = $4, \
                     aliases = $5, updated_at_ms = $6 WHERE id = $7",
                )
                .bind(&p.name)
                .bind(p.price)
                .bind(&p.currency)
                .bind(json_list(&p.options))
                .bind(json_list(&p.aliases))
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            });
        }
        let mut sku_ids: HashMap<&str, SkuId> = HashMap::new();
        for sku in &write.new_skus {
            let product_id = match sku.product_id {
                Some(id) => id,
                None => *product_ids.get(sku.code.as_str()).ok_or_else(|| {
                    super::StoreError::Invariant(format!(
                        "SKU `{}` of a product the import does not make",
                        sku.sku
                    ))
                })?,
            };
            let id: i64 = on_tx!(&mut tx, |conn| {
                sqlx::query_scalar(
                    "INSERT INTO skus (product_id, sku, options) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(product_id)
                .bind(&sku.sku)
                .bind(json_list(&sku.options))
                .fetch_one(&mut *conn)
                .await?
            });
            on_tx!(&mut tx, |conn| {
                sqlx::query(
                    "INSERT INTO stock_levels (sku_id, on_hand, reserved, updated_at_ms) VALUES ($1, 0, 0, $2)",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            });
            sku_ids.insert(&sku.sku, id);
        }
        for (id, options) in &write.changed_skus {
            on_tx!(&mut tx, |conn| {
                sqlx::query("UPDATE skus SET options = $1 WHERE id = $2")
                    .bind(json_list(options))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            });
        }

        let mut targets: Vec<(SkuId, &StockTarget)> = Vec::new();
        for target in &write.stock {
            let id = match target.sku_id {
                Some(id) => id,
                None => *sku_ids.get(target.sku.as_str()).ok_or_else(|| {
                    super::StoreError::Invariant(format!(
                        "stock for SKU `{}`, which the import does not make",
                        target.sku
                    ))
                })?,
            };
            targets.push((id, target));
        }
        targets.sort_by_key(|(id, _)| *id);
        // The ledger's own lock, in SKU order, taken here so the differences are current.
        let levels: HashMap<SkuId, (i64, i64)> = {
            let ids = id_list(targets.iter().map(|(id, _)| *id));
            let sql = sql_for!(
                tx,
                "SELECT sku_id, on_hand, reserved FROM stock_levels WHERE ",
                [ids "sku_id" 1],
                " ORDER BY sku_id",
                [pg " FOR UPDATE"]
            );
            on_tx!(&mut tx, |conn| {
                let rows = sqlx::query(sql).bind(&ids).fetch_all(&mut *conn).await?;
                let mut levels: HashMap<SkuId, (i64, i64)> = HashMap::new();
                for row in rows {
                    let id: i64 = row.try_get("sku_id")?;
                    levels.insert(id, (row.try_get("on_hand")?, row.try_get("reserved")?));
                }
                levels
            })
        };
        let mut intents = Vec::new();
        let mut names = Vec::new();
        for (id, target) in &targets {
            let (on_hand, reserved) = levels.get(id).copied().unwrap_or((0, 0));
            if target.on_hand < reserved {
                tx.rollback().await?;
                return Ok(ImportApplied::BelowHeld {
                    sku: target.sku.clone(),
                    held: reserved,
                });
            }
            if target.on_hand != on_hand {
                intents.push(Intent::Adjust {
                    sku_id: *id,
                    delta: target.on_hand - on_hand,
                    channel: Channel::Api,
                    reference: write.reason.clone(),
                    idempotency_key: None,
                });
                names.push(target.sku.clone());
            }
        }
        let outcomes = run_ledger_in(&mut tx, &intents, now).await?;
        for (outcome, sku) in outcomes.iter().zip(names) {
            if let Outcome::Adjusted(Err(_)) = outcome {
                tx.rollback().await?;
                let held = self.stock(&sku).await?.map_or(0, |l| l.reserved);
                return Ok(ImportApplied::BelowHeld { sku, held });
            }
        }
        tx.commit().await?;
        Ok(ImportApplied::Done)
    }

    /// A SKU's movements, newest first.
    pub async fn sku_movements(&self, sku_id: SkuId, limit: i64) -> StoreResult<Vec<MovementRow>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT kind, on_hand_delta, reserved_delta, channel, reference, created_at_ms \
                 FROM stock_movements WHERE sku_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(sku_id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<MovementRow> {
                    Ok(MovementRow {
                        kind: r.try_get("kind")?,
                        on_hand_delta: r.try_get("on_hand_delta")?,
                        reserved_delta: r.try_get("reserved_delta")?,
                        channel: r.try_get("channel")?,
                        reference: r.try_get("reference")?,
                        created_at_ms: r.try_get("created_at_ms")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()
        })
    }

    /// Units waiting per SKU (SKUs with none are left out).
    pub async fn waiting_units(&self) -> StoreResult<HashMap<SkuId, i64>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT sku_id, CAST(SUM(qty) AS BIGINT) AS units FROM waitlist \
                 WHERE status = 'waiting' GROUP BY sku_id",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<(SkuId, i64)> {
                    Ok((r.try_get("sku_id")?, r.try_get("units")?))
                })
                .collect::<StoreResult<HashMap<_, _>>>()
        })
    }
}
