//! API tokens, kept as hashes.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{now_ms, on_pool, Store, StoreResult};

/// API tokens carry the console's roles; the old name stays for callers.
pub type TokenRole = crate::roles::Role;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: TokenRole,
    pub created_at_ms: i64,
    /// Set when the token was revoked; it has not worked since.
    pub revoked_at_ms: Option<i64>,
}

fn record_from_row<R: Row>(row: &R) -> StoreResult<TokenRecord>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let role: String = row.try_get("role")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        // The column's CHECK allows only the three roles; anything else gets the least.
        role: TokenRole::parse(&role).unwrap_or(TokenRole::Host),
        created_at_ms: row.try_get("created_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
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
                 VALUES ($1, $2, $3, $4) RETURNING id, name, role, created_at_ms, revoked_at_ms",
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

    pub async fn find_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT id, name, role, created_at_ms, revoked_at_ms FROM api_tokens \
                 WHERE token_hash = $1 AND revoked_at_ms IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(record_from_row).transpose()
        })
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, name, role, created_at_ms, revoked_at_ms FROM api_tokens ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            rows.iter().map(record_from_row).collect()
        })
    }

    /// Revokes a token at once. False when there is no such token or it was revoked.
    pub async fn revoke_token(&self, id: i64, now: i64) -> StoreResult<bool> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}
