//! Telegram's own rows:
//! - long polling of the Bot API (`telegram_polling`): who polls, and the next update to
//!   ask for, moved forward in the same transaction that stores the updates;
//! - buyers who started the bot (`telegram_started`) and the deep-link codes posted for
//!   the others (`telegram_start_codes`).

use sqlx::Row;

use super::inbox::insert_inbox_in;
use super::members::resolve_member_in;
use super::{now_ms, on_pool, on_tx, InsertReport, NewInboxRow, Store, StoreResult, Tx};
use crate::ledger::MemberId;

/// Whom a new deep-link code is bound to.
#[derive(Clone, Copy)]
enum CodeOwner<'a> {
    User(&'a str),
    Member(MemberId),
}

/// A deep-link code as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartCode {
    /// The Telegram user it was made for (a group's deep link)…
    pub user_id: Option<String>,
    /// …or the member whose checkout page showed it.
    pub member_id: Option<MemberId>,
    pub used: bool,
}

/// Where a Telegram user's cart is: their member, the live of their newest group
/// message, and that message's inbox row (its platform routes the reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelegramBuyer {
    pub member_id: MemberId,
    pub live_id: i64,
    pub inbox_id: i64,
}

/// A member's Telegram user who started the bot, and their newest Telegram inbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedUser {
    pub user_id: String,
    pub inbox_id: Option<i64>,
}

/// The member's Telegram user, if they started the bot: private messages reach them.
pub async fn started_telegram_user_in(
    tx: &mut Tx,
    member_id: MemberId,
) -> StoreResult<Option<StartedUser>> {
    let found: Option<(String, Option<i64>)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "SELECT d.platform_user_id, (SELECT MAX(i.id) FROM inbox i \
             WHERE i.platform = 'telegram' AND i.author_id = d.platform_user_id) \
             FROM identities d JOIN telegram_started s ON s.user_id = d.platform_user_id \
             WHERE d.platform = 'telegram' AND d.member_id = $1 \
             ORDER BY s.started_at_ms DESC LIMIT 1",
        )
        .bind(member_id)
        .fetch_optional(&mut *conn)
        .await?
    });
    Ok(found.map(|(user_id, inbox_id)| StartedUser { user_id, inbox_id }))
}

/// Records that `user_id` started the bot (a /start came from them).
pub async fn record_start_in(tx: &mut Tx, user_id: &str, now: i64) -> StoreResult<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO telegram_started (user_id, started_at_ms) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// A deep-link code, locked for the rest of `tx` on Postgres.
pub async fn start_code_in(tx: &mut Tx, code: &str) -> StoreResult<Option<StartCode>> {
    let sql = if tx.is_postgres() {
        "SELECT user_id, member_id, used_at_ms FROM telegram_start_codes WHERE code = $1 FOR UPDATE"
    } else {
        "SELECT user_id, member_id, used_at_ms FROM telegram_start_codes WHERE code = $1"
    };
    on_tx!(tx, |conn| {
        let row = sqlx::query(sql)
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(match row {
            Some(r) => Some(StartCode {
                user_id: r.try_get(0)?,
                member_id: r.try_get(1)?,
                used: r.try_get::<Option<i64>, _>(2)?.is_some(),
            }),
            None => None,
        })
    })
}

pub async fn use_start_code_in(tx: &mut Tx, code: &str, now: i64) -> StoreResult<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE telegram_start_codes SET used_at_ms = $2 WHERE code = $1 AND used_at_ms IS NULL",
        )
        .bind(code)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// Joins Telegram user `user_id` to `member_id`. False when the user already belongs to
/// another member (nothing changes then).
pub async fn link_telegram_user_in(
    tx: &mut Tx,
    user_id: &str,
    member_id: MemberId,
    now: i64,
) -> StoreResult<bool> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO identities (platform, platform_user_id, member_id, display_name, created_at_ms) \
             VALUES ('telegram', $1, $2, '', $3) ON CONFLICT (platform, platform_user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(member_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    let owner: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "SELECT member_id FROM identities WHERE platform = 'telegram' AND platform_user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
    });
    let owner = match owner {
        Some(owner) => resolve_member_in(tx, owner).await?,
        None => None,
    };
    Ok(owner == Some(member_id))
}

/// The member behind a Telegram user and the live of their newest group message, if
/// they ever wrote in a bound group.
pub async fn telegram_buyer_in(tx: &mut Tx, user_id: &str) -> StoreResult<Option<TelegramBuyer>> {
    let found: Option<(i64, i64, i64)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "SELECT d.member_id, i.live_id, i.id FROM identities d \
             JOIN inbox i ON i.platform = 'telegram' AND i.author_id = d.platform_user_id \
             AND i.kind = 'comment' AND i.live_id IS NOT NULL \
             WHERE d.platform = 'telegram' AND d.platform_user_id = $1 \
             ORDER BY i.id DESC LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
    });
    let Some((member, live_id, inbox_id)) = found else {
        return Ok(None);
    };
    Ok(resolve_member_in(tx, member)
        .await?
        .map(|member_id| TelegramBuyer {
            member_id,
            live_id,
            inbox_id,
        }))
}

impl Store {
    /// Takes or renews the polling lease. True when `owner` holds it.
    pub async fn take_telegram_poll_lease(&self, owner: &str, ttl_ms: i64) -> StoreResult<bool> {
        let now = now_ms();
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE telegram_polling SET lease_owner = $1, lease_until_ms = $2 \
                 WHERE id = 1 AND (lease_owner = $1 OR lease_owner IS NULL OR lease_until_ms < $3)",
            )
            .bind(owner)
            .bind(now + ttl_ms)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// Lets another replica poll at once (on a clean stop).
    pub async fn release_telegram_poll_lease(&self, owner: &str) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE telegram_polling SET lease_owner = NULL, lease_until_ms = 0 \
                 WHERE id = 1 AND lease_owner = $1",
            )
            .bind(owner)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The next update id to ask `getUpdates` for (its `offset`).
    pub async fn telegram_poll_offset(&self) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT next_update_id FROM telegram_polling WHERE id = 1")
                .fetch_optional(pool)
                .await?
                .unwrap_or(0)
        }))
    }

    /// Stores polled updates and moves the offset past them, in one transaction, if
    /// `owner` still holds the lease (renewed here). None: the lease was lost and nothing
    /// was written; another replica polls now.
    pub async fn store_telegram_polled(
        &self,
        owner: &str,
        rows: &[NewInboxRow],
        next_update_id: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<InsertReport>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let held = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE telegram_polling SET lease_until_ms = $1, \
                 next_update_id = CASE WHEN next_update_id > $2 THEN next_update_id ELSE $2 END \
                 WHERE id = 1 AND lease_owner = $3 AND lease_until_ms > $4",
            )
            .bind(now + lease_ms)
            .bind(next_update_id)
            .bind(owner)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        }) == 1;
        if !held {
            return Ok(None);
        }
        let report = insert_inbox_in(&mut tx, rows, now).await?;
        tx.commit().await?;
        Ok(Some(report))
    }

    /// Whether `user_id` started the bot.
    pub async fn telegram_started(&self, user_id: &str) -> StoreResult<bool> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM telegram_started WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await?
                > 0
        }))
    }

    /// The deep-link code for Telegram user `user_id`: their unused one, or `fresh` kept
    /// as a new one.
    pub async fn start_code_for(&self, user_id: &str, fresh: &str) -> StoreResult<String> {
        self.start_code(CodeOwner::User(user_id), fresh).await
    }

    /// The "follow my order on Telegram" code of a member: their unused one, or `fresh`.
    pub async fn start_code_for_member(
        &self,
        member_id: MemberId,
        fresh: &str,
    ) -> StoreResult<String> {
        self.start_code(CodeOwner::Member(member_id), fresh).await
    }

    async fn start_code(&self, owner: CodeOwner<'_>, fresh: &str) -> StoreResult<String> {
        let now = now_ms();
        let (find, keep) = match owner {
            CodeOwner::User(_) => (
                "SELECT code FROM telegram_start_codes WHERE user_id = $1 \
                 AND used_at_ms IS NULL ORDER BY created_at_ms DESC LIMIT 1",
                "INSERT INTO telegram_start_codes (code, user_id, created_at_ms) VALUES ($2, $1, $3)",
            ),
            CodeOwner::Member(_) => (
                "SELECT code FROM telegram_start_codes WHERE member_id = $1 \
                 AND used_at_ms IS NULL ORDER BY created_at_ms DESC LIMIT 1",
                "INSERT INTO telegram_start_codes (code, member_id, created_at_ms) VALUES ($2, $1, $3)",
            ),
        };
        let mut tx = self.begin_write().await?;
        let code = on_tx!(&mut tx, |conn| {
            let existing: Option<String> = match owner {
                CodeOwner::User(user) => sqlx::query_scalar(find).bind(user),
                CodeOwner::Member(member) => sqlx::query_scalar(find).bind(member),
            }
            .fetch_optional(&mut *conn)
            .await?;
            match existing {
                Some(code) => code,
                None => {
                    match owner {
                        CodeOwner::User(user) => sqlx::query(keep).bind(user),
                        CodeOwner::Member(member) => sqlx::query(keep).bind(member),
                    }
                    .bind(fresh)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    fresh.to_string()
                }
            }
        });
        tx.commit().await?;
        Ok(code)
    }
}
