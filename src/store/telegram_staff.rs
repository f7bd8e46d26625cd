//! The staff bot's rows (issue 17 §4): one-time link codes (`telegram_link_codes`, kept
//! as SHA-256 hashes) and Telegram users linked to console users (`telegram_staff`).
//! Role and `disabled` are read from `users` whenever a linked user acts.

use super::accounts::User;
use super::{on_pool, on_tx, Store, StoreResult, Tx};
use crate::roles::Role;

/// Binds `telegram_user_id` to the console user whose unused, unexpired code hashes to
/// `code_hash`, and spends the code. None: no such code (wrong, used or expired); nothing
/// is bound. A Telegram account or console user linked before is linked anew.
pub async fn link_staff_in(
    tx: &mut Tx,
    code_hash: &str,
    telegram_user_id: &str,
    now: i64,
) -> StoreResult<Option<i64>> {
    let sql = if tx.is_postgres() {
        "SELECT console_user_id FROM telegram_link_codes \
         WHERE code_hash = $1 AND used_at_ms IS NULL AND expires_at_ms > $2 FOR UPDATE"
    } else {
        "SELECT console_user_id FROM telegram_link_codes \
         WHERE code_hash = $1 AND used_at_ms IS NULL AND expires_at_ms > $2"
    };
    on_tx!(tx, |conn| {
        let found: Option<i64> = sqlx::query_scalar(sql)
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(user) = found else {
            return Ok(None);
        };
        sqlx::query("UPDATE telegram_link_codes SET used_at_ms = $2 WHERE code_hash = $1")
            .bind(code_hash)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "DELETE FROM telegram_staff WHERE telegram_user_id = $1 OR console_user_id = $2",
        )
        .bind(telegram_user_id)
        .bind(user)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO telegram_staff (telegram_user_id, console_user_id, linked_at_ms) \
             VALUES ($1, $2, $3)",
        )
        .bind(telegram_user_id)
        .bind(user)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(Some(user))
    })
}

/// Of `sku_ids`, those with nothing left to sell (`on_hand - reserved <= 0`), with their
/// SKU codes, as this transaction sees them.
/// SKUs of `sku_ids` with at most `threshold` units available, with their code and
/// what is available (0 or less: sold out).
pub async fn low_skus_in(
    tx: &mut Tx,
    sku_ids: &[i64],
    threshold: i64,
) -> StoreResult<Vec<(i64, String, i64)>> {
    let mut out = Vec::new();
    for sku in sku_ids {
        let found: Option<(String, i64)> = on_tx!(tx, |conn| {
            sqlx::query_as(
                "SELECT s.sku, l.on_hand - l.reserved FROM skus s \
                 JOIN stock_levels l ON l.sku_id = s.id \
                 WHERE s.id = $1 AND l.on_hand - l.reserved <= $2",
            )
            .bind(sku)
            .bind(threshold)
            .fetch_optional(&mut *conn)
            .await?
        });
        if let Some((code, available)) = found {
            out.push((*sku, code, available));
        }
    }
    Ok(out)
}

impl Store {
    /// Of the SKUs `skus` (codes), those a selling live (live or paused, not a sandbox)
    /// has in its lineup and that have at most `threshold` units left to sell: (live,
    /// SKU id, SKU code, available), once per live and SKU.
    pub async fn lineup_skus_low(
        &self,
        skus: &[String],
        threshold: i64,
    ) -> StoreResult<Vec<(i64, i64, String, i64)>> {
        let mut out = Vec::new();
        for sku in skus {
            let rows: Vec<(i64, i64, String, i64)> = on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT DISTINCT ll.live_id, s.id, s.sku, l.on_hand - l.reserved \
                     FROM skus s \
                     JOIN stock_levels l ON l.sku_id = s.id \
                     JOIN products p ON p.id = s.product_id \
                     JOIN live_lineup ll ON ll.product_code = p.code \
                     JOIN live_sessions ls ON ls.id = ll.live_id \
                     WHERE s.sku = $1 AND ls.state IN ('live', 'paused') AND NOT ls.sandbox \
                     AND l.on_hand - l.reserved <= $2",
                )
                .bind(sku)
                .bind(threshold)
                .fetch_all(pool)
                .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Keeps a new link code's hash for `console_user_id` until `expires_at_ms`; their
    /// older unused codes stop working.
    pub async fn insert_telegram_link_code(
        &self,
        console_user_id: i64,
        code_hash: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "DELETE FROM telegram_link_codes WHERE console_user_id = $1 AND used_at_ms IS NULL",
            )
            .bind(console_user_id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO telegram_link_codes (code_hash, console_user_id, expires_at_ms) \
                 VALUES ($1, $2, $3)",
            )
            .bind(code_hash)
            .bind(console_user_id)
            .bind(expires_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// The console user a Telegram user is linked to, as `users` has them now.
    pub async fn telegram_staff_user(&self, telegram_user_id: &str) -> StoreResult<Option<User>> {
        let row: Option<(i64, String, String, Option<i64>, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.username, u.role, u.disabled_at_ms, u.created_at_ms \
                 FROM telegram_staff t JOIN users u ON u.id = t.console_user_id \
                 WHERE t.telegram_user_id = $1",
            )
            .bind(telegram_user_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(
            row.map(|(id, username, role, disabled, created_at_ms)| User {
                id,
                username,
                role: Role::parse(&role).unwrap_or(Role::Host),
                disabled: disabled.is_some(),
                created_at_ms,
            }),
        )
    }

    /// Unlinks a console user's Telegram account: its presses and `/board` are refused
    /// from now on. False when none was linked.
    pub async fn unlink_telegram_staff(&self, console_user_id: i64) -> StoreResult<bool> {
        let gone = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM telegram_staff WHERE console_user_id = $1")
                .bind(console_user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(gone > 0)
    }

    /// Whether a console user has a Telegram account linked, and since when.
    pub async fn telegram_linked_since(&self, console_user_id: i64) -> StoreResult<Option<i64>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT linked_at_ms FROM telegram_staff WHERE console_user_id = $1")
                .bind(console_user_id)
                .fetch_optional(pool)
                .await?
        }))
    }
}
