//! Pages (with their access tokens) and live sessions: bindings, lineup, current product.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::{now_ms, on_pool, on_tx, Store, StoreResult};

/// The SQL that reads a live's state, paused included, for [`LiveState::from_db`].
pub(crate) const STATE_COLUMN: &str = "CASE WHEN paused THEN 'paused' ELSE state END";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageView {
    pub id: i64,
    pub platform: String,
    pub page_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Binding {
    /// facebook, instagram, telegram or sandbox.
    pub platform: String,
    /// Not needed for `sandbox`.
    #[serde(default)]
    pub page_id: String,
    /// A live video or post id (Facebook) or a media id (Instagram); for `sandbox`, made
    /// by plusone.
    #[serde(default)]
    pub object_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LineupEntry {
    pub keyword: String,
    pub code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LiveState {
    Scheduled,
    Live,
    /// Live, but taking no orders for a while: order comments wait for staff.
    Paused,
    Ended,
}

impl LiveState {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveState::Scheduled => "scheduled",
            LiveState::Live => "live",
            LiveState::Paused => "paused",
            LiveState::Ended => "ended",
        }
    }

    /// How the state is stored: the `state` column and the `paused` flag beside it.
    fn stored(self) -> (&'static str, bool) {
        match self {
            LiveState::Paused => ("live", true),
            other => (other.as_str(), false),
        }
    }

    /// Reads what [`STATE_COLUMN`] selects.
    pub(crate) fn from_db(value: &str) -> LiveState {
        match value {
            "live" => LiveState::Live,
            "paused" => LiveState::Paused,
            "ended" => LiveState::Ended,
            _ => LiveState::Scheduled,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Live {
    pub id: i64,
    pub title: String,
    pub state: LiveState,
    /// The keyword a bare `+1` means.
    pub current: Option<String>,
    pub hold_ttl_seconds: i64,
    pub waitlist: bool,
    pub limit_per_member: Option<i64>,
    pub bindings: Vec<Binding>,
    pub lineup: Vec<LineupEntry>,
    /// Bound to the sandbox: it sells only sandbox products, and its viewers, orders and
    /// replies stay out of the real shop.
    pub sandbox: bool,
}

/// What a new live session is made of.
#[derive(Debug, Clone)]
pub struct NewLive {
    pub title: String,
    pub state: LiveState,
    pub current: Option<String>,
    pub hold_ttl_seconds: i64,
    pub waitlist: bool,
    pub limit_per_member: Option<i64>,
    pub bindings: Vec<Binding>,
    pub lineup: Vec<LineupEntry>,
}

#[derive(Debug, Clone, Default)]
pub struct LivePatch {
    /// `Some(None)` clears the current product.
    pub current: Option<Option<String>>,
    pub state: Option<LiveState>,
    pub lineup: Option<Vec<LineupEntry>>,
}

impl NewLive {
    /// A live bound to the sandbox platform.
    pub fn is_sandbox(&self) -> bool {
        self.bindings
            .iter()
            .any(|b| b.platform == super::sandbox::SANDBOX)
    }
}

/// What a Page's token is sealed against: a sealed token moved to another row does not open.
fn page_context(platform: &str, page_id: &str) -> String {
    format!("pages.access_token:{platform}:{page_id}")
}

/// What `plusone secrets rotate` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Stored values now sealed with the current key that were not before.
    pub rewritten: u64,
    /// Values already sealed with the current key.
    pub already_current: u64,
}

impl Store {
    fn keys(&self) -> StoreResult<&crate::secrets::Keyring> {
        Ok(self
            .keyring
            .as_deref()
            .ok_or(crate::secrets::SecretsError::NoKey)?)
    }

    /// Adds a page or replaces its token, sealed with the store's key.
    pub async fn upsert_page(
        &self,
        platform: &str,
        page_id: &str,
        token: &SecretString,
    ) -> StoreResult<PageView> {
        let sealed = self
            .keys()?
            .seal(token.expose_secret(), &page_context(platform, page_id))?;
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "INSERT INTO pages (platform, page_id, access_token, created_at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (platform, page_id) DO UPDATE SET access_token = excluded.access_token \
                 RETURNING id, platform, page_id",
            )
            .bind(platform)
            .bind(page_id)
            .bind(&sealed)
            .bind(now_ms())
            .fetch_one(pool)
            .await?;
            Ok(PageView {
                id: row.try_get(0)?,
                platform: row.try_get(1)?,
                page_id: row.try_get(2)?,
            })
        })
    }

    pub async fn list_pages(&self) -> StoreResult<Vec<PageView>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query("SELECT id, platform, page_id FROM pages ORDER BY id")
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| -> StoreResult<PageView> {
                    Ok(PageView {
                        id: r.try_get(0)?,
                        platform: r.try_get(1)?,
                        page_id: r.try_get(2)?,
                    })
                })
                .collect()
        })
    }

    /// A page's access token, for the senders and the poll backstop. A token stored in
    /// plain text before encryption is read as it is; a sealed one that does not open
    /// is an error naming the key, never an empty token.
    pub async fn page_token(&self, page_id: &str) -> StoreResult<Option<SecretString>> {
        let row: Option<(String, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT platform, access_token FROM pages WHERE page_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(page_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((platform, stored)) = row else {
            return Ok(None);
        };
        let context = page_context(&platform, page_id);
        match &self.keyring {
            Some(keys) => Ok(Some(keys.open(&stored, &context)?)),
            // Without a key only a plain (legacy) value can be read.
            None if !stored.starts_with("v1:") => Ok(Some(SecretString::from(stored))),
            None => Err(crate::secrets::SecretsError::NoKey.into()),
        }
    }

    /// Seals every stored Page token with the keyring's current key: plain ones and ones
    /// sealed with an older key. A row changed meanwhile is left to its writer, who
    /// sealed it with the current key. Stops at the first value that does not open.
    pub async fn rotate_page_tokens(&self) -> StoreResult<Rotation> {
        let keys = self.keys()?;
        let rows: Vec<(i64, String, String, String)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, platform, page_id, access_token FROM pages ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        let mut done = Rotation::default();
        for (id, platform, page_id, stored) in rows {
            if keys.is_current(&stored) {
                done.already_current += 1;
                continue;
            }
            let context = page_context(&platform, &page_id);
            let plain = keys.open(&stored, &context)?;
            let sealed = keys.seal(plain.expose_secret(), &context)?;
            let changed = on_pool!(self, |pool| {
                sqlx::query(
                    "UPDATE pages SET access_token = $1 WHERE id = $2 AND access_token = $3",
                )
                .bind(&sealed)
                .bind(id)
                .bind(&stored)
                .execute(pool)
                .await?
                .rows_affected()
            });
            done.rewritten += changed;
        }
        Ok(done)
    }

    /// The `access_token` column as stored, for tests that check nothing is in plain text.
    #[doc(hidden)]
    pub async fn stored_page_token_text(&self, page_id: &str) -> StoreResult<Option<String>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT access_token FROM pages WHERE page_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(page_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Writes a Page row with `text` as its stored token, as a version before encryption
    /// did, for tests of legacy values.
    #[doc(hidden)]
    pub async fn put_stored_page_token_text(
        &self,
        platform: &str,
        page_id: &str,
        text: &str,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO pages (platform, page_id, access_token, created_at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (platform, page_id) DO UPDATE SET access_token = excluded.access_token",
            )
            .bind(platform)
            .bind(page_id)
            .bind(text)
            .bind(now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn create_live(&self, live: &NewLive) -> StoreResult<Live> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let id: i64 = on_tx!(&mut tx, |conn| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO live_sessions (title, state, current_keyword, hold_ttl_seconds, waitlist, \
                 limit_per_member, created_at_ms, updated_at_ms, sandbox, paused) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) RETURNING id",
            )
            .bind(&live.title)
            .bind(live.state.stored().0)
            .bind(live.current.as_deref())
            .bind(live.hold_ttl_seconds)
            .bind(live.waitlist as i64)
            .bind(live.limit_per_member)
            .bind(now)
            .bind(live.is_sandbox())
            .bind(live.state.stored().1)
            .fetch_one(&mut *conn)
            .await?;
            for b in &live.bindings {
                sqlx::query(
                    "INSERT INTO live_bindings (live_id, platform, page_id, object_id) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(&b.platform)
                .bind(&b.page_id)
                .bind(&b.object_id)
                .execute(&mut *conn)
                .await?;
            }
            id
        });
        replace_lineup(&mut tx, id, &live.lineup).await?;
        tx.commit().await?;
        self.live(id)
            .await?
            .ok_or(super::StoreError::Database(sqlx::Error::RowNotFound))
    }

    pub async fn patch_live(&self, id: i64, patch: &LivePatch) -> StoreResult<Option<Live>> {
        let mut tx = self.begin_write().await?;
        let exists = on_tx!(&mut tx, |conn| {
            let mut changed =
                sqlx::query("UPDATE live_sessions SET updated_at_ms = $1 WHERE id = $2")
                    .bind(now_ms())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
            if let Some(current) = &patch.current {
                changed =
                    sqlx::query("UPDATE live_sessions SET current_keyword = $1 WHERE id = $2")
                        .bind(current.as_deref())
                        .bind(id)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
            }
            if let Some(state) = patch.state {
                let (state, paused) = state.stored();
                changed =
                    sqlx::query("UPDATE live_sessions SET state = $1, paused = $2 WHERE id = $3")
                        .bind(state)
                        .bind(paused)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
            }
            changed == 1
        });
        if !exists {
            return Ok(None);
        }
        if let Some(lineup) = &patch.lineup {
            replace_lineup(&mut tx, id, lineup).await?;
        }
        tx.commit().await?;
        self.live(id).await
    }

    pub async fn live(&self, id: i64) -> StoreResult<Option<Live>> {
        on_pool!(self, |pool| {
            let Some(row) = sqlx::query(&format!(
                "SELECT id, title, {STATE_COLUMN}, current_keyword, hold_ttl_seconds, waitlist, \
                     limit_per_member, sandbox FROM live_sessions WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let bindings = sqlx::query(
                "SELECT platform, page_id, object_id FROM live_bindings WHERE live_id = $1 ORDER BY platform, object_id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<Binding> {
                Ok(Binding {
                    platform: r.try_get(0)?,
                    page_id: r.try_get(1)?,
                    object_id: r.try_get(2)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
            let lineup = sqlx::query(
                "SELECT keyword, product_code FROM live_lineup WHERE live_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<LineupEntry> {
                Ok(LineupEntry {
                    keyword: r.try_get(0)?,
                    code: r.try_get(1)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
            let state: String = row.try_get(2)?;
            let waitlist: i64 = row.try_get(5)?;
            Ok(Some(Live {
                id: row.try_get(0)?,
                title: row.try_get(1)?,
                state: LiveState::from_db(&state),
                current: row.try_get(3)?,
                hold_ttl_seconds: row.try_get(4)?,
                waitlist: waitlist != 0,
                limit_per_member: row.try_get(6)?,
                bindings,
                lineup,
                sandbox: row.try_get(7)?,
            }))
        })
    }

    /// The newest lives first, without bindings or lineup: what a list shows.
    pub async fn recent_lives(&self, limit: i64) -> StoreResult<Vec<(i64, String, LiveState)>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(&format!(
                "SELECT id, title, {STATE_COLUMN} FROM live_sessions ORDER BY id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<_> {
                    let state: String = r.try_get(2)?;
                    Ok((r.try_get(0)?, r.try_get(1)?, LiveState::from_db(&state)))
                })
                .collect()
        })
    }

    /// Ids of sessions in a state, for the poll backstop. Paused lives count as live
    /// here: their comments still arrive.
    pub async fn live_ids_in_state(&self, state: LiveState) -> StoreResult<Vec<i64>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM live_sessions WHERE state = $1 ORDER BY id")
                .bind(state.stored().0)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Takes or renews the sequencer lease of a live session. True when `owner` holds it.
    pub async fn take_live_lease(
        &self,
        live_id: i64,
        owner: &str,
        ttl_ms: i64,
    ) -> StoreResult<bool> {
        let now = now_ms();
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE live_sessions SET lease_owner = $1, lease_until_ms = $2 \
                 WHERE id = $3 AND (lease_owner = $1 OR lease_owner IS NULL OR lease_until_ms < $4)",
            )
            .bind(owner)
            .bind(now + ttl_ms)
            .bind(live_id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// Live sessions this `owner` may sequence now: some pending event has waited out
    /// `window_ms` (so a batch is due), and the lease is free, expired or already ours.
    /// Sessions another replica holds are left out, so the supervisor does not start a
    /// task for them on every tick.
    pub async fn lives_due_for(
        &self,
        owner: &str,
        now: i64,
        window_ms: i64,
    ) -> StoreResult<Vec<i64>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT s.id FROM live_sessions s \
                 WHERE (s.lease_owner IS NULL OR s.lease_owner = $1 OR s.lease_until_ms < $2) \
                 AND EXISTS (SELECT 1 FROM inbox i WHERE i.live_id = s.id AND i.status = 'pending' \
                             AND i.received_at_ms <= $3) \
                 ORDER BY s.id",
            )
            .bind(owner)
            .bind(now)
            .bind(now - window_ms)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Who holds the sequencer lease of a session, and until when (ms), if anyone does.
    pub async fn live_lease(&self, live_id: i64) -> StoreResult<Option<(String, i64)>> {
        let row: Option<(Option<String>, i64)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT lease_owner, lease_until_ms FROM live_sessions WHERE id = $1")
                .bind(live_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(owner, until)| owner.map(|o| (o, until))))
    }

    pub async fn release_live_lease(&self, live_id: i64, owner: &str) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE live_sessions SET lease_owner = NULL, lease_until_ms = 0 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(live_id)
            .bind(owner)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// Fencing for a sequencer batch: renews `owner`'s lease of the session inside `tx` and
/// says whether it still held it. Run first in the batch transaction; on false the caller
/// drops the transaction (a rollback) and stops, so a replica whose lease lapsed or was
/// taken over commits nothing. The row stays locked (Postgres) or the database write-locked
/// (SQLite) until the batch commits, so no one can take the lease in the middle of it.
pub async fn fence_live_lease_in(
    tx: &mut super::Tx,
    live_id: i64,
    owner: &str,
    lease_ms: i64,
    now: i64,
) -> StoreResult<bool> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE live_sessions SET lease_until_ms = $1 \
             WHERE id = $2 AND lease_owner = $3 AND lease_until_ms > $4",
        )
        .bind(now + lease_ms)
        .bind(live_id)
        .bind(owner)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    }) == 1)
}

async fn replace_lineup(
    tx: &mut super::Tx,
    live_id: i64,
    lineup: &[LineupEntry],
) -> StoreResult<()> {
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM live_lineup WHERE live_id = $1")
            .bind(live_id)
            .execute(&mut *conn)
            .await?;
        for (position, entry) in lineup.iter().enumerate() {
            sqlx::query(
                "INSERT INTO live_lineup (live_id, keyword, product_code, position) VALUES ($1, $2, $3, $4)",
            )
            .bind(live_id)
            .bind(&entry.keyword)
            .bind(&entry.code)
            .bind(position as i64)
            .execute(&mut *conn)
            .await?;
        }
    });
    Ok(())
}
