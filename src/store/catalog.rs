//! Products and their SKUs.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::{now_ms, on_pool, on_tx, Store, StoreError, StoreResult};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NewSku {
    pub sku: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub on_hand: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NewProduct {
    pub code: String,
    pub name: String,
    /// Minor units (cents).
    pub price: i64,
    pub currency: String,
    pub skus: Vec<NewSku>,
    /// A product of the sandbox (the demo shop's, or a copy): only sandbox lives sell it,
    /// so rehearsals never take stock the counter or the web shop could sell.
    #[serde(default)]
    pub sandbox: bool,
    /// Extra keywords a buyer may type for this product (`漁夫帽`), 1 to 32 characters each.
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub options: Option<Vec<String>>,
    /// Replaces the product's aliases when given.
    pub aliases: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkuStock {
    pub id: i64,
    pub sku: String,
    pub options: Vec<String>,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// Minor units (cents).
    pub price: i64,
    pub currency: String,
    /// Every option any SKU of the product has, in first-seen order.
    pub options: Vec<String>,
    pub skus: Vec<SkuStock>,
    pub sandbox: bool,
    /// Extra keywords a buyer may type for this product.
    pub aliases: Vec<String>,
}

fn options_json(options: &[String]) -> String {
    serde_json::to_string(options).unwrap_or_else(|_| "[]".into())
}

fn options_from(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn union_of_options(skus: &[NewSku]) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for option in skus.iter().flat_map(|s| &s.options) {
        if !all.contains(option) {
            all.push(option.clone());
        }
    }
    all
}

/// The product query with a filter; statements must be `&'static str`, so it is built
/// at compile time.
macro_rules! product_query {
    ($filter:literal) => {
        concat!(
            "SELECT p.id, p.code, p.name, p.price, p.currency, p.options, p.sandbox, p.aliases, ",
            "s.id AS sku_id, s.sku, s.options AS sku_options, l.on_hand, l.reserved ",
            "FROM products p JOIN skus s ON s.product_id = p.id ",
            "JOIN stock_levels l ON l.sku_id = s.id ",
            $filter,
            " ORDER BY p.id, s.id"
        )
    };
}

/// Folds joined product/SKU rows (ordered by product) into products.
fn fold_products<R: Row>(rows: &[R]) -> StoreResult<Vec<Product>>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let mut products: Vec<Product> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        if products.last().map(|p| p.id) != Some(id) {
            products.push(Product {
                id,
                code: row.try_get("code")?,
                name: row.try_get("name")?,
                price: row.try_get("price")?,
                currency: row.try_get("currency")?,
                options: options_from(&row.try_get::<String, _>("options")?),
                skus: Vec::new(),
                sandbox: row.try_get("sandbox")?,
                aliases: options_from(&row.try_get::<String, _>("aliases")?),
            });
        }
        let on_hand: i64 = row.try_get("on_hand")?;
        let reserved: i64 = row.try_get("reserved")?;
        if let Some(product) = products.last_mut() {
            product.skus.push(SkuStock {
                id: row.try_get("sku_id")?,
                sku: row.try_get("sku")?,
                options: options_from(&row.try_get::<String, _>("sku_options")?),
                on_hand,
                reserved,
                available: on_hand - reserved,
            });
        }
    }
    Ok(products)
}

impl Store {
    /// Creates a product, its SKUs and their opening stock (a `receive` movement each).
    pub async fn create_product(&self, input: &NewProduct) -> StoreResult<Product> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let product_id: i64 = on_tx!(&mut tx, |conn| {
            let product_id: i64 = sqlx::query_scalar(
                "INSERT INTO products (code, name, price, currency, options, created_at_ms, updated_at_ms, \
                 sandbox, aliases) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id",
            )
            .bind(&input.code)
            .bind(&input.name)
            .bind(input.price)
            .bind(&input.currency)
            .bind(options_json(&union_of_options(&input.skus)))
            .bind(now)
            .bind(input.sandbox)
            .bind(options_json(&input.aliases))
            .fetch_one(&mut *conn)
            .await?;
            for sku in &input.skus {
                let sku_id: i64 = sqlx::query_scalar(
                    "INSERT INTO skus (product_id, sku, options) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(product_id)
                .bind(&sku.sku)
                .bind(options_json(&sku.options))
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO stock_levels (sku_id, on_hand, reserved, updated_at_ms) VALUES ($1, $2, 0, $3)",
                )
                .bind(sku_id)
                .bind(sku.on_hand)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                if sku.on_hand > 0 {
                    sqlx::query(
                        "INSERT INTO stock_movements (sku_id, kind, on_hand_delta, reserved_delta, channel, reference, created_at_ms) \
                         VALUES ($1, 'receive', $2, 0, 'api', 'opening stock', $3)",
                    )
                    .bind(sku_id)
                    .bind(sku.on_hand)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            product_id
        });
        tx.commit().await?;
        self.product(product_id)
            .await?
            .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))
    }

    pub async fn product(&self, id: i64) -> StoreResult<Option<Product>> {
        let rows = on_pool!(self, |pool| {
            let rows = sqlx::query(product_query!("WHERE p.id = $1"))
                .bind(id)
                .fetch_all(pool)
                .await?;
            fold_products(&rows)?
        });
        Ok(rows.into_iter().next())
    }

    pub async fn product_by_code(&self, code: &str) -> StoreResult<Option<Product>> {
        let rows = on_pool!(self, |pool| {
            let rows = sqlx::query(product_query!("WHERE p.code = $1"))
                .bind(code)
                .fetch_all(pool)
                .await?;
            fold_products(&rows)?
        });
        Ok(rows.into_iter().next())
    }

    pub async fn list_products(&self) -> StoreResult<Vec<Product>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(product_query!("")).fetch_all(pool).await?;
            fold_products(&rows)
        })
    }

    /// Changes name, price or options; `None` when there is no such product.
    pub async fn patch_product(
        &self,
        id: i64,
        patch: &ProductPatch,
    ) -> StoreResult<Option<Product>> {
        let changed = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE products SET name = COALESCE($1, name), price = COALESCE($2, price), \
                 options = COALESCE($3, options), aliases = COALESCE($6, aliases), updated_at_ms = $4 \
                 WHERE id = $5",
            )
            .bind(patch.name.as_deref())
            .bind(patch.price)
            .bind(patch.options.as_deref().map(options_json))
            .bind(now_ms())
            .bind(id)
            .bind(patch.aliases.as_deref().map(options_json))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Ok(None);
        }
        self.product(id).await
    }
}
