//! One-time codes that let a buyer prove another member is theirs (`identity_proofs`).
//!
//! A checkout that types a phone or email another member has only suggests a merge (see
//! `claim_contact_in`). The buyer may settle it themselves: a code goes to the other
//! member through that member's own chat, and typing it back joins the two. Only the
//! code's hash is kept; a code lives a few minutes, takes a few wrong tries, and a
//! suggestion gets a few codes an hour.

use sqlx::Row;

use super::members::ContactField;
use super::{on_pool, on_tx, Store, StoreResult, Tx};
use crate::ledger::MemberId;

/// Wrong codes one code takes before it stops working.
pub const PROOF_TRIES: i64 = 5;
/// Codes one suggestion gets per hour.
pub const PROOF_CODES_PER_HOUR: i64 = 3;

/// An open suggestion the buyer of `member_id` may prove, with the code waiting for them.
#[derive(Clone, Debug)]
pub struct ProofOffer {
    pub suggestion_id: i64,
    pub field: ContactField,
    /// A code was sent and may still be typed.
    pub waiting: Option<WaitingCode>,
}

#[derive(Clone, Copy, Debug)]
pub struct WaitingCode {
    pub expires_at_ms: i64,
    pub tries_left: i64,
}

/// What asking for a code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofStart {
    /// Written: send the code to `holder`.
    Started { holder: MemberId },
    /// This suggestion had its codes for the hour.
    TooMany,
    /// No open suggestion of this buyer has that id (merged, settled, or another's).
    NotOpen,
}

/// What typing a code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofCheck {
    /// Right: merge `merged` into `holder` in the same transaction.
    Proven {
        holder: MemberId,
        merged: MemberId,
    },
    Wrong {
        tries_left: i64,
    },
    /// No code waits (never asked, run out, used, or out of tries).
    NoCode,
    NotOpen,
}

/// The open suggestion `suggestion_id` when the typing member is `member_id`.
async fn open_suggestion_in(
    tx: &mut Tx,
    suggestion_id: i64,
    member_id: MemberId,
) -> StoreResult<Option<MemberId>> {
    let sql = if tx.is_postgres() {
        "SELECT s.holder_id FROM member_merge_suggestions s \
         JOIN members m ON m.id = s.member_id JOIN members h ON h.id = s.holder_id \
         WHERE s.id = $1 AND s.member_id = $2 AND m.merged_into IS NULL \
         AND h.merged_into IS NULL FOR UPDATE OF s"
    } else {
        "SELECT s.holder_id FROM member_merge_suggestions s \
         JOIN members m ON m.id = s.member_id JOIN members h ON h.id = s.holder_id \
         WHERE s.id = $1 AND s.member_id = $2 AND m.merged_into IS NULL \
         AND h.merged_into IS NULL"
    };
    on_tx!(tx, |conn| {
        let row = sqlx::query(sql)
            .bind(suggestion_id)
            .bind(member_id)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
    })
}

/// Writes a new code for the open suggestion `suggestion_id` of `member_id`. Earlier
/// codes of the suggestion stop working: only the newest one can be typed.
pub async fn start_proof_in(
    tx: &mut Tx,
    suggestion_id: i64,
    member_id: MemberId,
    code_hash: &str,
    now: i64,
    ttl_ms: i64,
) -> StoreResult<ProofStart> {
    let Some(holder) = open_suggestion_in(tx, suggestion_id, member_id).await? else {
        return Ok(ProofStart::NotOpen);
    };
    on_tx!(tx, |conn| {
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM identity_proofs WHERE suggestion_id = $1 AND created_at_ms > $2",
        )
        .bind(suggestion_id)
        .bind(now - 3_600_000)
        .fetch_one(&mut *conn)
        .await?;
        if recent >= PROOF_CODES_PER_HOUR {
            return Ok(ProofStart::TooMany);
        }
        sqlx::query(
            "UPDATE identity_proofs SET expires_at_ms = $2 \
             WHERE suggestion_id = $1 AND used_at_ms IS NULL AND expires_at_ms > $2",
        )
        .bind(suggestion_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO identity_proofs (suggestion_id, code_hash, expires_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(suggestion_id)
        .bind(code_hash)
        .bind(now + ttl_ms)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(ProofStart::Started { holder })
    })
}

/// Checks a typed code against the newest live code of the suggestion; a wrong one
/// counts a try, a right one is used up. The caller commits either way.
pub async fn check_proof_in(
    tx: &mut Tx,
    suggestion_id: i64,
    member_id: MemberId,
    code_hash: &str,
    now: i64,
) -> StoreResult<ProofCheck> {
    let Some(holder) = open_suggestion_in(tx, suggestion_id, member_id).await? else {
        return Ok(ProofCheck::NotOpen);
    };
    on_tx!(tx, |conn| {
        let row = sqlx::query(
            "SELECT id, code_hash, attempts FROM identity_proofs \
             WHERE suggestion_id = $1 AND used_at_ms IS NULL AND expires_at_ms > $2 \
             AND attempts < $3 ORDER BY id DESC LIMIT 1",
        )
        .bind(suggestion_id)
        .bind(now)
        .bind(PROOF_TRIES)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(ProofCheck::NoCode);
        };
        let id: i64 = row.try_get(0)?;
        let stored: String = row.try_get(1)?;
        let attempts: i64 = row.try_get::<i32, _>(2)?.into();
        if !crate::auth::same_secret(&stored, code_hash) {
            sqlx::query("UPDATE identity_proofs SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            return Ok(ProofCheck::Wrong {
                tries_left: PROOF_TRIES - attempts - 1,
            });
        }
        sqlx::query("UPDATE identity_proofs SET used_at_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok(ProofCheck::Proven {
            holder,
            merged: member_id,
        })
    })
}

/// The live of the member's newest comment or message: where a notice to them is filed.
pub async fn latest_live_of_in(tx: &mut Tx, member_id: MemberId) -> StoreResult<Option<i64>> {
    on_tx!(tx, |conn| {
        Ok(sqlx::query_scalar(
            "SELECT live_id FROM inbox WHERE member_id = $1 AND live_id IS NOT NULL \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(member_id)
        .fetch_optional(&mut *conn)
        .await?)
    })
}

impl Store {
    /// The open suggestions the buyer of `member_id` may prove, oldest first, each with
    /// the code waiting to be typed, if any.
    pub async fn proof_offers(
        &self,
        member_id: MemberId,
        now: i64,
    ) -> StoreResult<Vec<ProofOffer>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT s.id, s.field, p.expires_at_ms, p.attempts \
                 FROM member_merge_suggestions s \
                 JOIN members m ON m.id = s.member_id JOIN members h ON h.id = s.holder_id \
                 LEFT JOIN identity_proofs p ON p.id = (SELECT MAX(q.id) FROM identity_proofs q \
                     WHERE q.suggestion_id = s.id) \
                     AND p.used_at_ms IS NULL AND p.expires_at_ms > $2 AND p.attempts < $3 \
                 WHERE s.member_id = $1 AND m.merged_into IS NULL AND h.merged_into IS NULL \
                 ORDER BY s.id",
            )
            .bind(member_id)
            .bind(now)
            .bind(PROOF_TRIES)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<ProofOffer> {
                let field: String = r.try_get(1)?;
                let expires: Option<i64> = r.try_get(2)?;
                let attempts: Option<i32> = r.try_get(3)?;
                Ok(ProofOffer {
                    suggestion_id: r.try_get(0)?,
                    field: ContactField::from_db(&field),
                    waiting: expires.map(|expires_at_ms| WaitingCode {
                        expires_at_ms,
                        tries_left: PROOF_TRIES - i64::from(attempts.unwrap_or(0)),
                    }),
                })
            })
            .collect()
        })
    }
}

impl ContactField {
    /// The column's CHECK allows only the two.
    pub(crate) fn from_db(value: &str) -> ContactField {
        if value == "email" {
            ContactField::Email
        } else {
            ContactField::Phone
        }
    }
}
