//! API tokens, kept as hashes.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{now_ms, on_pool, Store, StoreResult};

const TOKEN_COLUMNS: &str =
    "id, name, role, created_at_ms, revoked_at_ms, expires_at_ms, last_used_at_ms";

/// `last_used_at_ms` is written when it is at least this old, so a busy token costs one
/// write a minute, not one per request.
pub const LAST_USED_EVERY_MS: i64 = 60_000;

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
    /// When the token stops working; null: never.
    pub expires_at_ms: Option<i64>,
    /// When the token was last accepted, to the minute (written at most once a minute).
    pub last_used_at_ms: Option<i64>,
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
        expires_at_ms: row.try_get("expires_at_ms")?,
        last_used_at_ms: row.try_get("last_used_at_ms")?,
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
        self.insert_token_expiring(name, role, token_hash, None)
            .await
    }

    /// A new token that stops working at `expires_at_ms` (`None`: never).
    pub async fn insert_token_expiring(
        &self,
        name: &str,
        role: TokenRole,
        token_hash: &str,
        expires_at_ms: Option<i64>,
    ) -> StoreResult<TokenRecord> {
        let sql = format!(
            "INSERT INTO api_tokens (name, role, token_hash, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
        );
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql)
                .bind(name)
                .bind(role.as_str())
                .bind(token_hash)
                .bind(now_ms())
                .bind(expires_at_ms)
                .fetch_one(pool)
                .await?;
            record_from_row(&row)
        })
    }

    /// The token with this hash if it works at `now`: not revoked, not expired.
    pub async fn find_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.find_live_token(token_hash, now_ms()).await
    }

    pub async fn find_live_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 \
             AND revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > $2)"
        );
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(record_from_row).transpose()
        })
    }

    /// Notes that a token was used at `now`, unless that was noted less than
    /// [`LAST_USED_EVERY_MS`] ago. True when it wrote.
    pub async fn touch_token(&self, id: i64, now: i64) -> StoreResult<bool> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE api_tokens SET last_used_at_ms = $2 WHERE id = $1 \
                 AND (last_used_at_ms IS NULL OR last_used_at_ms <= $3)",
            )
            .bind(id)
            .bind(now)
            .bind(now - LAST_USED_EVERY_MS)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(&format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
            ))
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
