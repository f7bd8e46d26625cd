//! API tokens, kept as hashes.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{now_ms, on_pool, on_tx, Store, StoreResult};

/// Advisory lock key for making the first owner token.
const FIRST_TOKEN_LOCK: i64 = 0x706c_7573_0001;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    /// May do everything, including making tokens.
    Owner,
    /// Runs the shop day to day.
    Staff,
}

impl TokenRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Owner => "owner",
            TokenRole::Staff => "staff",
        }
    }

    fn from_db(value: &str) -> TokenRole {
        match value {
            "owner" => TokenRole::Owner,
            _ => TokenRole::Staff,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: TokenRole,
    pub created_at_ms: i64,
}

fn record_from_row<R: Row>(row: &R) -> StoreResult<TokenRecord>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let role: String = row.try_get("role")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: TokenRole::from_db(&role),
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

impl Store {
    pub async fn count_tokens(&self) -> StoreResult<i64> {
        let count: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    pub async fn insert_token(
        &self,
        name: &str,
        role: TokenRole,
        token_hash: &str,
    ) -> StoreResult<TokenRecord> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "INSERT INTO api_tokens (name, role, token_hash, created_at_ms) \
                 VALUES ($1, $2, $3, $4) RETURNING id, name, role, created_at_ms",
            )
            .bind(name)
            .bind(role.as_str())
            .bind(token_hash)
            .bind(now_ms())
            .fetch_one(pool)
            .await?;
            record_from_row(&row)
        })
    }

    /// Inserts the first owner token only while no token exists, so that two replicas
    /// starting together on an empty database do not both print one.
    pub async fn insert_first_token(
        &self,
        name: &str,
        token_hash: &str,
    ) -> StoreResult<Option<TokenRecord>> {
        const INSERT: &str = "INSERT INTO api_tokens (name, role, token_hash, created_at_ms) \
             SELECT $1, 'owner', $2, $3 WHERE NOT EXISTS (SELECT 1 FROM api_tokens) \
             RETURNING id, name, role, created_at_ms";
        // On SQLite the write transaction's lock serialises starts; on Postgres read
        // committed lets two NOT EXISTS checks both pass, so a lock serialises them.
        let mut tx = self.begin_write().await?;
        if let super::TxConn::Postgres(t) = tx.conn() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(FIRST_TOKEN_LOCK)
                .execute(&mut **t)
                .await?;
        }
        let row = on_tx!(&mut tx, |conn| {
            let row = sqlx::query(INSERT)
                .bind(name)
                .bind(token_hash)
                .bind(now_ms())
                .fetch_optional(&mut *conn)
                .await?;
            row.as_ref().map(record_from_row).transpose()?
        });
        tx.commit().await?;
        Ok(row)
    }

    pub async fn find_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT id, name, role, created_at_ms FROM api_tokens WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(record_from_row).transpose()
        })
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        on_pool!(self, |pool| {
            let rows =
                sqlx::query("SELECT id, name, role, created_at_ms FROM api_tokens ORDER BY id")
                    .fetch_all(pool)
                    .await?;
            rows.iter().map(record_from_row).collect()
        })
    }
}
