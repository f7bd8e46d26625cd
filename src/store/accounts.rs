//! Console accounts: users, their sessions, and the one-time links that make the first
//! owner. Sessions and links are kept as SHA-256 hashes of what the browser holds.

use serde::Serialize;
use sqlx::Row;

use super::{on_pool, on_tx, Store, StoreResult, TxConn};
use crate::roles::Role;

/// Serialises the making of the first owner on Postgres (SQLite has one writer).
const FIRST_OWNER_LOCK: i64 = 0x706c_7573_0001;

/// A console user, without the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at_ms: i64,
}

/// A live console session and whose it is.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub user: User,
    pub csrf_token: String,
    pub last_seen_at_ms: i64,
}

/// What a setup link leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupState {
    /// No user exists and the link is valid: the owner may be made.
    Open,
    /// A user exists already; setup links are spent.
    Done,
    /// No such link, or it expired.
    Unknown,
}

/// The outcome of making the first owner through a setup link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FirstOwner {
    Created(User),
    AlreadySetUp,
    UnknownLink,
}

/// Columns of `users` in the order [`user_from_row`] reads them.
const USER_COLUMNS: &str = "id, username, role, disabled_at_ms, created_at_ms";

fn user_from_row<R: Row>(row: &R, at: usize) -> StoreResult<User>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let role: String = row.try_get(at + 2)?;
    let disabled: Option<i64> = row.try_get(at + 3)?;
    Ok(User {
        id: row.try_get(at)?,
        username: row.try_get(at + 1)?,
        // The column's CHECK allows only the three roles; anything else gets the least.
        role: Role::parse(&role).unwrap_or(Role::Host),
        disabled: disabled.is_some(),
        created_at_ms: row.try_get(at + 4)?,
    })
}

impl Store {
    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Adds a user; a taken username is `StoreError::Conflict`.
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        now: i64,
    ) -> StoreResult<User> {
        on_pool!(self, |pool| {
            let row = sqlx::query(&format!(
                "INSERT INTO users (username, password_hash, role, created_at_ms) \
                 VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}"
            ))
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now)
            .fetch_one(pool)
            .await?;
            user_from_row(&row, 0)
        })
    }

    /// A user and their password hash, by username (disabled users too: the caller
    /// decides, after checking the password, so timing does not tell them apart).
    pub async fn user_for_login(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(&format!(
                "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"
            ))
            .bind(username)
            .fetch_optional(pool)
            .await?;
            row.map(|r| -> StoreResult<_> { Ok((user_from_row(&r, 0)?, r.try_get(5)?)) })
                .transpose()
        })
    }

    pub async fn user_password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| user_from_row(&r, 0)).transpose()
        })
    }

    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| user_from_row(r, 0)).collect()
        })
    }

    /// Changes a user's role; their sessions carry the new role from their next request.
    pub async fn set_user_role(&self, id: i64, role: Role) -> StoreResult<bool> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
                .bind(id)
                .bind(role.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Disables a user and ends all of their sessions, in one transaction.
    pub async fn disable_user(&self, id: i64, now: i64) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE users SET disabled_at_ms = $2 WHERE id = $1 AND disabled_at_ms IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(done == 1)
    }

    pub async fn enable_user(&self, id: i64) -> StoreResult<bool> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE users SET disabled_at_ms = NULL WHERE id = $1 AND disabled_at_ms IS NOT NULL",
            )
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Stores a new password hash and ends every session of the user except `keep` (the
    /// hash of the session that changed it, if any), in one transaction.
    pub async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: Option<&str>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = on_tx!(&mut tx, |conn| {
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(user_id)
                .bind(password_hash)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "DELETE FROM console_sessions WHERE user_id = $1 AND id_hash <> COALESCE($2, '')",
            )
            .bind(user_id)
            .bind(keep)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(done == 1)
    }

    /// Remembers a setup link until it expires or an owner exists.
    pub async fn insert_setup_token(
        &self,
        token_hash: &str,
        now: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO setup_tokens (token_hash, created_at_ms, expires_at_ms) VALUES ($1, $2, $3)",
            )
            .bind(token_hash)
            .bind(now)
            .bind(expires_at_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn setup_state(&self, token_hash: &str, now: i64) -> StoreResult<SetupState> {
        if self.count_users().await? > 0 {
            return Ok(SetupState::Done);
        }
        let found: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND expires_at_ms > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok(if found > 0 {
            SetupState::Open
        } else {
            SetupState::Unknown
        })
    }

    /// Makes the first owner if the link is valid and no user exists yet, and spends
    /// every setup link. Two replicas, or two tabs, racing: one owner, one winner.
    pub async fn create_first_owner(
        &self,
        token_hash: &str,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<FirstOwner> {
        let mut tx = self.begin_write().await?;
        // SQLite's write lock serialises this already; Postgres read committed would let
        // two "no users yet" checks both pass.
        if let TxConn::Postgres(t) = tx.conn() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(FIRST_OWNER_LOCK)
                .execute(&mut **t)
                .await?;
        }
        let users: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(&mut *conn)
                .await?
        });
        if users > 0 {
            return Ok(FirstOwner::AlreadySetUp);
        }
        let valid: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND expires_at_ms > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
        });
        if valid == 0 {
            return Ok(FirstOwner::UnknownLink);
        }
        let user = on_tx!(&mut tx, |conn| {
            let row = sqlx::query(&format!(
                "INSERT INTO users (username, password_hash, role, created_at_ms) \
                 VALUES ($1, $2, 'owner', $3) RETURNING {USER_COLUMNS}"
            ))
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            user_from_row(&row, 0)?
        });
        on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM setup_tokens")
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(FirstOwner::Created(user))
    }

    /// Starts a session. Sessions past either timeout are cleared on the way, so the
    /// table holds only what could still be used.
    pub async fn insert_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: i64,
        expires_at_ms: i64,
        idle_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "DELETE FROM console_sessions WHERE expires_at_ms <= $1 OR last_seen_at_ms <= $2",
            )
            .bind(now)
            .bind(now - idle_ms)
            .execute(&mut *conn)
            .await?;
        });
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO console_sessions \
                 (id_hash, user_id, csrf_token, created_at_ms, last_seen_at_ms, expires_at_ms) \
                 VALUES ($1, $2, $3, $4, $4, $5)",
            )
            .bind(id_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// The session and its user, if the session is within both timeouts and the user is
    /// enabled. The user's role is read now, so a role change applies at once.
    pub async fn session(
        &self,
        id_hash: &str,
        now: i64,
        idle_ms: i64,
    ) -> StoreResult<Option<SessionRecord>> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT u.id, u.username, u.role, u.disabled_at_ms, u.created_at_ms, \
                        s.csrf_token, s.last_seen_at_ms \
                 FROM console_sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id_hash = $1 AND s.expires_at_ms > $2 AND s.last_seen_at_ms > $3 \
                   AND u.disabled_at_ms IS NULL",
            )
            .bind(id_hash)
            .bind(now)
            .bind(now - idle_ms)
            .fetch_optional(pool)
            .await?;
            row.map(|r| -> StoreResult<SessionRecord> {
                Ok(SessionRecord {
                    user: user_from_row(&r, 0)?,
                    csrf_token: r.try_get(5)?,
                    last_seen_at_ms: r.try_get(6)?,
                })
            })
            .transpose()
        })
    }

    /// Moves the idle timeout on.
    pub async fn touch_session(&self, id_hash: &str, now: i64) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE console_sessions SET last_seen_at_ms = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// How many sessions a user has open (expired ones not yet cleared included).
    pub async fn count_sessions(&self, user_id: i64) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM console_sessions WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await?
        }))
    }
}
