//! Members: profiles, flags, lookups by contact, and merges.
//!
//! A merge folds one member (the merged) into another (the survivor) in one transaction:
//! every row that names the merged member is re-pointed (see [`MEMBER_MOVES`]), points
//! are added, profile fields the survivor lacks are taken over, and the merged row stays
//! behind with `merged_into` set so that old ids still resolve. Each merge is recorded in
//! `member_merges` with the identities it moved.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Row};
use utoipa::ToSchema;

use super::{now_ms, on_pool, on_tx, Store, StoreError, StoreResult, Tx, TxConn};
use crate::ledger::MemberId;
use crate::members::{Email, Phone};

const MEMBER_COLUMNS: &str =
    "id, display_name, name, phone, email, delivery_address, pickup_store, \
     tier, points, blocked_reason, restricted_reason, merged_into, created_at_ms, updated_at_ms";

/// Statements that re-point a member's rows during a merge: `$1` is the survivor, `$2` the
/// merged member. A new table that names a member gets its line here; a table with a
/// per-member unique key (one cart per member per live) needs its own step instead, before
/// this list runs, to fold the two rows together.
const MEMBER_MOVES: &[&str] = &[
    "UPDATE identities SET member_id = $1 WHERE member_id = $2",
    "UPDATE holds SET member_id = $1 WHERE member_id = $2",
    "UPDATE waitlist SET member_id = $1 WHERE member_id = $2",
    "UPDATE inbox SET member_id = $1 WHERE member_id = $2",
    "UPDATE ledger_events SET member_id = $1 WHERE member_id = $2",
    "UPDATE orders SET member_id = $1 WHERE member_id = $2",
    "UPDATE checkout_tokens SET member_id = $1 WHERE member_id = $2",
    // The points' history moves with the points (the survivor's sum stays its balance).
    "UPDATE point_movements SET member_id = $1 WHERE member_id = $2",
    "UPDATE sales SET member_id = $1 WHERE member_id = $2",
    // Members merged earlier into the merged one now resolve in one hop.
    "UPDATE members SET merged_into = $1 WHERE merged_into = $2",
];

/// A member as staff see it. `Debug` leaves out contact details and the address.
#[derive(Clone, Serialize, ToSchema)]
pub struct Member {
    pub id: MemberId,
    /// The name the member's first platform showed.
    pub display_name: String,
    pub name: Option<String>,
    /// Normalised: `+` and digits.
    pub phone: Option<String>,
    /// Lowercased.
    pub email: Option<String>,
    pub delivery_address: Option<String>,
    pub pickup_store: Option<String>,
    pub tier: String,
    pub points: i64,
    /// Set: the ledger refuses this member's orders.
    pub blocked_reason: Option<String>,
    /// Set: this member's live-comment orders wait for staff review.
    pub restricted_reason: Option<String>,
    /// Set when this member was merged into another; follow it to the live record.
    pub merged_into: Option<MemberId>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub identities: Vec<MemberIdentity>,
    /// A sandbox viewer (every identity is on the sandbox platform): a rehearsal, not a
    /// customer. Reports and exports leave such members out, and they never merge with
    /// real ones.
    pub sandbox: bool,
}

/// True when every identity (and at least one) is a sandbox one.
fn only_sandbox(identities: &[MemberIdentity]) -> bool {
    !identities.is_empty() && identities.iter().all(|i| i.platform == "sandbox")
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("tier", &self.tier)
            .field("points", &self.points)
            .field("blocked", &self.blocked_reason.is_some())
            .field("restricted", &self.restricted_reason.is_some())
            .field("merged_into", &self.merged_into)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MemberIdentity {
    /// facebook, instagram, telegram, …
    pub platform: String,
    pub platform_user_id: String,
    pub display_name: String,
    pub created_at_ms: i64,
}

/// Which members a list shows. Merged members are never listed (they resolve by id).
#[derive(Clone, Default)]
pub struct MemberFilter {
    /// A substring of the name, display name, phone, email or an identity.
    pub q: Option<String>,
    pub blocked: Option<bool>,
    pub limit: i64,
    /// Only members with a larger id (the previous page's last id).
    pub after: MemberId,
}

/// A profile change. The outer `None` leaves a field alone; `Some(None)` clears it.
#[derive(Clone, Default)]
pub struct MemberPatch {
    pub name: Option<Option<String>>,
    pub phone: Option<Option<Phone>>,
    pub email: Option<Option<Email>>,
    pub delivery_address: Option<Option<String>>,
    pub pickup_store: Option<Option<String>>,
    pub tier: Option<String>,
}

/// What a change to one member came to.
#[derive(Debug)]
pub enum MemberChange<T> {
    Done(T),
    NotFound,
    /// The member was merged into this one; change that one instead.
    Merged(MemberId),
    /// Another member already has this phone or email.
    ContactTaken {
        field: &'static str,
        member_id: MemberId,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberFlag {
    /// The ledger refuses the member's orders.
    Blocked,
    /// The member's live-comment orders go to staff review.
    Restricted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MergeReason {
    /// Before merge suggestions: the buyer gave, at checkout, a phone another member had.
    /// Checkout no longer merges; old records keep the reason.
    CheckoutPhone,
    /// Before merge suggestions: likewise for an email.
    CheckoutEmail,
    Staff,
    /// The buyer typed back a one-time code sent to the other member's own chat.
    ProvenCode,
}

impl MergeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeReason::CheckoutPhone => "checkout_phone",
            MergeReason::CheckoutEmail => "checkout_email",
            MergeReason::Staff => "staff",
            MergeReason::ProvenCode => "proven_code",
        }
    }

    fn from_db(value: &str) -> MergeReason {
        match value {
            "checkout_phone" => MergeReason::CheckoutPhone,
            "checkout_email" => MergeReason::CheckoutEmail,
            "proven_code" => MergeReason::ProvenCode,
            _ => MergeReason::Staff,
        }
    }
}

/// One recorded merge.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MergeRecord {
    pub id: i64,
    pub survivor_id: MemberId,
    pub merged_id: MemberId,
    pub reason: MergeReason,
    /// The staff token's or user's name (`checkout` on merges from before suggestions).
    pub actor: String,
    /// The identities that moved to the survivor.
    pub identities: Vec<MemberIdentity>,
    pub points_moved: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("a member cannot be merged into itself")]
    SameMember,
    #[error("no member {0}")]
    NotFound(MemberId),
    #[error("member {member_id} was already merged into {into}")]
    AlreadyMerged { member_id: MemberId, into: MemberId },
    #[error("member {sandbox} is a sandbox viewer; it never merges with a real member")]
    SandboxWithReal { sandbox: MemberId },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MergeError {
    fn from(err: sqlx::Error) -> Self {
        MergeError::Store(err.into())
    }
}

fn member_from_row<R: Row>(row: &R) -> StoreResult<Member>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(Member {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        delivery_address: row.try_get("delivery_address")?,
        pickup_store: row.try_get("pickup_store")?,
        tier: row.try_get("tier")?,
        points: row.try_get("points")?,
        blocked_reason: row.try_get("blocked_reason")?,
        restricted_reason: row.try_get("restricted_reason")?,
        merged_into: row.try_get("merged_into")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        identities: Vec::new(),
        sandbox: false,
    })
}

fn merge_from_row<R: Row>(row: &R) -> StoreResult<MergeRecord>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let reason: String = row.try_get("reason")?;
    let identities: String = row.try_get("identities")?;
    Ok(MergeRecord {
        id: row.try_get("id")?,
        survivor_id: row.try_get("survivor_id")?,
        merged_id: row.try_get("merged_id")?,
        reason: MergeReason::from_db(&reason),
        actor: row.try_get("actor")?,
        identities: serde_json::from_str(&identities).unwrap_or_default(),
        points_moved: row.try_get("points_moved")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// `%q%` for LIKE, with LIKE's own wildcards taken literally (`ESCAPE '\'`).
fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

// ---- transaction-level pieces -------------------------------------------------------

async fn identities_of(
    tx: &mut Tx,
    members: &[MemberId],
) -> StoreResult<HashMap<MemberId, Vec<MemberIdentity>>> {
    let mut out: HashMap<MemberId, Vec<MemberIdentity>> = HashMap::new();
    if members.is_empty() {
        return Ok(out);
    }
    let rows = on_tx!(tx, |conn| {
        let mut query = QueryBuilder::new(
            "SELECT member_id, platform, platform_user_id, display_name, created_at_ms \
             FROM identities WHERE member_id IN (",
        );
        let mut list = query.separated(", ");
        for id in members {
            list.push_bind(*id);
        }
        query.push(") ORDER BY created_at_ms, platform, platform_user_id");
        query
            .build()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| -> StoreResult<(MemberId, MemberIdentity)> {
                Ok((
                    r.try_get(0)?,
                    MemberIdentity {
                        platform: r.try_get(1)?,
                        platform_user_id: r.try_get(2)?,
                        display_name: r.try_get(3)?,
                        created_at_ms: r.try_get(4)?,
                    },
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?
    });
    for (member, identity) in rows {
        out.entry(member).or_default().push(identity);
    }
    Ok(out)
}

/// The member rows, locked on Postgres (in id order, so two merges cannot deadlock).
async fn lock_members(tx: &mut Tx, ids: &[MemberId]) -> StoreResult<HashMap<MemberId, Member>> {
    let lock = tx.is_postgres();
    fetch_members(tx, ids, lock).await
}

async fn fetch_members(
    tx: &mut Tx,
    ids: &[MemberId],
    lock: bool,
) -> StoreResult<HashMap<MemberId, Member>> {
    let ids: BTreeSet<MemberId> = ids.iter().copied().collect();
    let rows = on_tx!(tx, |conn| {
        let mut query = QueryBuilder::new("SELECT ");
        query
            .push(MEMBER_COLUMNS)
            .push(" FROM members WHERE id IN (");
        let mut list = query.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        query.push(") ORDER BY id");
        if lock {
            query.push(" FOR UPDATE");
        }
        query
            .build()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(member_from_row)
            .collect::<StoreResult<Vec<_>>>()?
    });
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// A member with its identities, inside a transaction.
pub async fn member_in(tx: &mut Tx, id: MemberId) -> StoreResult<Option<Member>> {
    let Some(mut member) = fetch_members(tx, &[id], false).await?.remove(&id) else {
        return Ok(None);
    };
    member.identities = identities_of(tx, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    member.sandbox = only_sandbox(&member.identities);
    Ok(Some(member))
}

/// The live member an id stands for: itself, or the member it was merged into.
pub async fn resolve_member_in(tx: &mut Tx, id: MemberId) -> StoreResult<Option<MemberId>> {
    let mut current = id;
    // Merges re-point older merges, so one hop is the rule; the bound guards a bad row.
    for _ in 0..8 {
        let into: Option<Option<MemberId>> = on_tx!(tx, |conn| {
            sqlx::query_scalar("SELECT merged_into FROM members WHERE id = $1")
                .bind(current)
                .fetch_optional(&mut *conn)
                .await?
        });
        match into {
            None => return Ok(None),
            Some(None) => return Ok(Some(current)),
            Some(Some(next)) => current = next,
        }
    }
    Err(StoreError::Invariant(format!(
        "member {id} resolves through too many merges"
    )))
}

/// Re-points identities found before a concurrent merge committed to the survivor, and
/// keeps the members from being merged until `tx` ends.
///
/// Only Postgres needs it: there the pipeline reads identities without locks, so a merge
/// committing between that read and the hold insert would leave the new hold on the merged
/// member. `FOR KEY SHARE` waits for a merge in progress (which holds `FOR UPDATE`), then
/// reads its `merged_into`; a merge starting later waits for this transaction and moves
/// what it wrote. On SQLite the write lock already serialises the two.
pub(crate) async fn follow_merges_in<K>(
    tx: &mut Tx,
    found: &mut HashMap<K, MemberId>,
) -> StoreResult<()> {
    let TxConn::Postgres(t) = tx.conn() else {
        return Ok(());
    };
    if found.is_empty() {
        return Ok(());
    }
    let ids: Vec<MemberId> = found
        .values()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows: Vec<(MemberId, Option<MemberId>)> = sqlx::query_as(
        "SELECT id, merged_into FROM members WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
    )
    .bind(&ids)
    .fetch_all(&mut **t)
    .await?;
    let moved: HashMap<MemberId, MemberId> = rows
        .into_iter()
        .filter_map(|(id, into)| Some((id, into?)))
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    for member in found.values_mut() {
        if let Some(into) = moved.get(member) {
            *member = *into;
        }
    }
    Ok(())
}

/// The live member holding a (normalised) contact, if any.
pub(crate) async fn member_with_contact_in(
    tx: &mut Tx,
    field: ContactField,
    value: &str,
) -> StoreResult<Option<MemberId>> {
    let sql = match field {
        ContactField::Phone => "SELECT id FROM members WHERE phone = $1 AND merged_into IS NULL",
        ContactField::Email => "SELECT id FROM members WHERE email = $1 AND merged_into IS NULL",
    };
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(sql)
            .bind(value)
            .fetch_optional(&mut *conn)
            .await?
    }))
}

/// Advisory-lock namespace for contacts (the two-key form, apart from other locks).
const CONTACT_LOCK: i32 = 0x6d65_6d62;

/// Serialises, on Postgres, transactions that may give the same phone or email to a member,
/// so that two checkouts with one new phone link instead of one failing on the unique
/// index. SQLite's single writer already does this.
async fn lock_contact(tx: &mut Tx, value: &str) -> StoreResult<()> {
    if let TxConn::Postgres(t) = tx.conn() {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(CONTACT_LOCK)
            .bind(value)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// A contact kind: which one a merge suggestion is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactField {
    Phone,
    Email,
}

impl ContactField {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactField::Phone => "phone",
            ContactField::Email => "email",
        }
    }
}

/// Two members that may be one person: at checkout, the buyer of `member_id` typed a
/// phone or email that `holder_id` already has. Nothing was merged; staff decide (merge
/// with `survivor_id` = `holder_id`, `merged_id` = `member_id`, or leave them apart).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MergeSuggestion {
    pub id: i64,
    /// The member whose buyer typed the contact.
    pub member_id: MemberId,
    /// The member who already had it.
    pub holder_id: MemberId,
    pub field: ContactField,
    /// The order the contact was typed for (the first one, when typed again).
    pub order_id: Option<i64>,
    pub created_at_ms: i64,
}

/// Members of `members` whose orders wait for review: restricted and not blocked (a
/// blocked member is refused by the ledger instead).
pub async fn restricted_members_in(
    tx: &mut Tx,
    members: &[MemberId],
) -> StoreResult<HashSet<MemberId>> {
    let ids: BTreeSet<MemberId> = members.iter().copied().collect();
    let mut found = HashSet::new();
    let ids: Vec<MemberId> = ids.into_iter().collect();
    for chunk in ids.chunks(500) {
        on_tx!(tx, |conn| {
            let mut query = QueryBuilder::new(
                "SELECT id FROM members WHERE restricted_reason IS NOT NULL \
                 AND blocked_reason IS NULL AND id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            for row in query.build().fetch_all(&mut *conn).await? {
                found.insert(row.try_get::<i64, _>(0)?);
            }
        });
    }
    Ok(found)
}

/// Folds `merged` into `survivor`, all inside `tx`:
/// - identities, holds, waitlist entries, inbox rows and ledger events move (see
///   [`MEMBER_MOVES`]);
/// - the survivor gains the merged member's points;
/// - the survivor keeps its own profile fields and takes the merged member's where its own
///   are empty; a non-standard tier, a block and a restriction carry over likewise, so
///   that merging never lifts a flag;
/// - the merged row keeps its data, loses its points and gets `merged_into`;
/// - the merge is recorded in `member_merges`.
pub async fn merge_members_in(
    tx: &mut Tx,
    survivor: MemberId,
    merged: MemberId,
    reason: MergeReason,
    actor: &str,
    now: i64,
) -> Result<MergeRecord, MergeError> {
    if survivor == merged {
        return Err(MergeError::SameMember);
    }
    let mut rows = lock_members(tx, &[survivor, merged]).await?;
    let keep = rows
        .remove(&survivor)
        .ok_or(MergeError::NotFound(survivor))?;
    let gone = rows.remove(&merged).ok_or(MergeError::NotFound(merged))?;
    for m in [&keep, &gone] {
        if let Some(into) = m.merged_into {
            return Err(MergeError::AlreadyMerged {
                member_id: m.id,
                into,
            });
        }
    }
    // A rehearsal never joins a customer, in either direction.
    let keep_sandbox = super::sandbox::is_sandbox_member_in(tx, survivor).await?;
    let gone_sandbox = super::sandbox::is_sandbox_member_in(tx, merged).await?;
    if keep_sandbox != gone_sandbox {
        let sandbox = if keep_sandbox { survivor } else { merged };
        return Err(MergeError::SandboxWithReal { sandbox });
    }
    let moved = identities_of(tx, &[merged])
        .await?
        .remove(&merged)
        .unwrap_or_default();

    // The merged row leaves the contact indexes first, so the survivor can take its
    // phone and email without a unique clash.
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE members SET merged_into = $1, points = 0, updated_at_ms = $2 WHERE id = $3",
        )
        .bind(survivor)
        .bind(now)
        .bind(merged)
        .execute(&mut *conn)
        .await?;
    });
    let tier = if keep.tier == "standard" {
        gone.tier.clone()
    } else {
        keep.tier.clone()
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE members SET name = $1, phone = $2, email = $3, delivery_address = $4, \
             pickup_store = $5, tier = $6, points = points + $7, blocked_reason = $8, \
             restricted_reason = $9, updated_at_ms = $10 WHERE id = $11",
        )
        .bind(keep.name.clone().or(gone.name.clone()))
        .bind(keep.phone.clone().or(gone.phone.clone()))
        .bind(keep.email.clone().or(gone.email.clone()))
        .bind(
            keep.delivery_address
                .clone()
                .or(gone.delivery_address.clone()),
        )
        .bind(keep.pickup_store.clone().or(gone.pickup_store.clone()))
        .bind(&tier)
        .bind(gone.points)
        .bind(keep.blocked_reason.clone().or(gone.blocked_reason.clone()))
        .bind(
            keep.restricted_reason
                .clone()
                .or(gone.restricted_reason.clone()),
        )
        .bind(now)
        .bind(survivor)
        .execute(&mut *conn)
        .await?;
    });
    fold_carts_in(tx, survivor, merged, now).await?;
    for statement in MEMBER_MOVES {
        on_tx!(tx, |conn| {
            sqlx::query(statement)
                .bind(survivor)
                .bind(merged)
                .execute(&mut *conn)
                .await?;
        });
    }
    let identities = serde_json::to_string(&moved).unwrap_or_else(|_| "[]".into());
    let row = on_tx!(tx, |conn| {
        let row = sqlx::query(
            "INSERT INTO member_merges (survivor_id, merged_id, reason, actor, identities, \
             points_moved, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id, survivor_id, merged_id, reason, actor, identities, points_moved, created_at_ms",
        )
        .bind(survivor)
        .bind(merged)
        .bind(reason.as_str())
        .bind(actor)
        .bind(&identities)
        .bind(gone.points)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        merge_from_row(&row)?
    });
    Ok(row)
}

/// Moves a merged member's carts to the survivor. Where both have an open cart in the
/// same live, the merged one's links are pointed at the survivor's and it is closed as
/// `merged` (one open cart per member per live); the rest simply change hands.
async fn fold_carts_in(tx: &mut Tx, survivor: i64, merged: i64, now: i64) -> StoreResult<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE checkout_tokens SET cart_id = (SELECT s.id FROM carts s JOIN carts m ON m.live_id = s.live_id \
             WHERE m.id = checkout_tokens.cart_id AND s.member_id = $1 AND s.status = 'open') \
             WHERE cart_id IN (SELECT m.id FROM carts m JOIN carts s ON s.live_id = m.live_id \
             WHERE m.member_id = $2 AND m.status = 'open' AND s.member_id = $1 AND s.status = 'open')",
        )
        .bind(survivor)
        .bind(merged)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE carts SET status = 'merged', updated_at_ms = $3 WHERE member_id = $2 AND status = 'open' \
             AND live_id IN (SELECT live_id FROM carts WHERE member_id = $1 AND status = 'open')",
        )
        .bind(survivor)
        .bind(merged)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE carts SET member_id = $1, updated_at_ms = $3 WHERE member_id = $2")
            .bind(survivor)
            .bind(merged)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Keeps a phone and/or email given at checkout for `member_id`, and returns the live
/// member the id stands for (`None`: no such member).
///
/// Typing a contact proves nothing (anyone can type anyone's phone), so **this never
/// merges members**:
/// - a contact nobody has is stored on the member (replacing an older one: the latest a
///   buyer gives is the one to use);
/// - a contact the member already has changes nothing;
/// - a contact another member has stays with that member, and a merge suggestion
///   (`member_merge_suggestions`) records the two for staff, who may merge them with the
///   members merge API. The same pair and field is suggested once.
///
/// Sandbox members keep nothing. Contacts must already be normalised ([`Phone::parse`],
/// [`Email::parse`]).
pub async fn claim_contact_in(
    tx: &mut Tx,
    member_id: MemberId,
    phone: Option<&Phone>,
    email: Option<&Email>,
    order_id: Option<i64>,
    now: i64,
) -> StoreResult<Option<MemberId>> {
    let Some(current) = resolve_member_in(tx, member_id).await? else {
        return Ok(None);
    };
    if super::sandbox::is_sandbox_member_in(tx, current).await? {
        return Ok(Some(current));
    }
    let contacts = [
        (ContactField::Phone, phone.map(Phone::as_str)),
        (ContactField::Email, email.map(Email::as_str)),
    ];
    for (_, value) in &contacts {
        if let Some(value) = value {
            lock_contact(tx, value).await?;
        }
    }
    for (field, value) in contacts {
        let Some(value) = value else { continue };
        match member_with_contact_in(tx, field, value).await? {
            Some(holder) if holder == current => {}
            Some(holder) => {
                on_tx!(tx, |conn| {
                    sqlx::query(
                        "INSERT INTO member_merge_suggestions \
                         (member_id, holder_id, field, order_id, created_at_ms) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (member_id, holder_id, field) DO NOTHING",
                    )
                    .bind(current)
                    .bind(holder)
                    .bind(field.as_str())
                    .bind(order_id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                });
            }
            None => {
                let sql = match field {
                    ContactField::Phone => {
                        "UPDATE members SET phone = $1, updated_at_ms = $2 WHERE id = $3"
                    }
                    ContactField::Email => {
                        "UPDATE members SET email = $1, updated_at_ms = $2 WHERE id = $3"
                    }
                };
                on_tx!(tx, |conn| {
                    sqlx::query(sql)
                        .bind(value)
                        .bind(now)
                        .bind(current)
                        .execute(&mut *conn)
                        .await?;
                });
            }
        }
    }
    Ok(Some(current))
}

// ---- pool-level operations ----------------------------------------------------------

impl Store {
    /// Live (not merged) members in id order, a page at a time.
    pub async fn list_members(&self, filter: &MemberFilter) -> StoreResult<Vec<Member>> {
        let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let text = q.map(|q| like_pattern(&q.to_lowercase()));
        // Phones are stored without spaces or dashes; search them the same way.
        let digits = q
            .map(|q| {
                q.chars()
                    .filter(|c| !matches!(c, ' ' | '-'))
                    .collect::<String>()
            })
            .filter(|d| !d.is_empty())
            .map(|d| like_pattern(&d));
        let mut members = on_pool!(self, |pool| {
            let mut query = QueryBuilder::new("SELECT ");
            query
                .push(MEMBER_COLUMNS)
                .push(" FROM members m WHERE merged_into IS NULL AND id > ")
                .push_bind(filter.after);
            match filter.blocked {
                Some(true) => {
                    query.push(" AND blocked_reason IS NOT NULL");
                }
                Some(false) => {
                    query.push(" AND blocked_reason IS NULL");
                }
                None => {}
            }
            if let Some(text) = &text {
                query
                    .push(" AND (LOWER(COALESCE(name, '')) LIKE ")
                    .push_bind(text.clone())
                    .push(" ESCAPE '\\' OR LOWER(display_name) LIKE ")
                    .push_bind(text.clone())
                    .push(" ESCAPE '\\' OR COALESCE(email, '') LIKE ")
                    .push_bind(text.clone())
                    .push(" ESCAPE '\\'");
                if let Some(digits) = &digits {
                    query
                        .push(" OR COALESCE(phone, '') LIKE ")
                        .push_bind(digits.clone())
                        .push(" ESCAPE '\\'");
                }
                query
                    .push(
                        " OR EXISTS (SELECT 1 FROM identities i WHERE i.member_id = m.id \
                         AND (LOWER(i.display_name) LIKE ",
                    )
                    .push_bind(text.clone())
                    .push(" ESCAPE '\\' OR LOWER(i.platform_user_id) LIKE ")
                    .push_bind(text.clone())
                    .push(" ESCAPE '\\')))");
            }
            query.push(" ORDER BY id LIMIT ").push_bind(filter.limit);
            query
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(member_from_row)
                .collect::<StoreResult<Vec<_>>>()?
        });
        let ids: Vec<MemberId> = members.iter().map(|m| m.id).collect();
        let mut identities = self.identities_for(&ids).await?;
        for member in &mut members {
            member.identities = identities.remove(&member.id).unwrap_or_default();
            member.sandbox = only_sandbox(&member.identities);
        }
        Ok(members)
    }

    async fn identities_for(
        &self,
        ids: &[MemberId],
    ) -> StoreResult<HashMap<MemberId, Vec<MemberIdentity>>> {
        // A read, but sharing `identities_of` keeps one spelling of the query.
        let mut tx = self.begin_read().await?;
        let found = identities_of(&mut tx, ids).await?;
        drop(tx);
        Ok(found)
    }

    /// A member with its identities; merged members too (see `merged_into`).
    pub async fn member(&self, id: MemberId) -> StoreResult<Option<Member>> {
        let mut tx = self.begin_read().await?;
        let member = member_in(&mut tx, id).await?;
        drop(tx);
        Ok(member)
    }

    /// The live member with this phone, if any.
    pub async fn member_by_phone(&self, phone: &Phone) -> StoreResult<Option<MemberId>> {
        let mut tx = self.begin_read().await?;
        let found = member_with_contact_in(&mut tx, ContactField::Phone, phone.as_str()).await?;
        drop(tx);
        Ok(found)
    }

    /// The live member with this email, if any.
    pub async fn member_by_email(&self, email: &Email) -> StoreResult<Option<MemberId>> {
        let mut tx = self.begin_read().await?;
        let found = member_with_contact_in(&mut tx, ContactField::Email, email.as_str()).await?;
        drop(tx);
        Ok(found)
    }

    pub async fn update_member(
        &self,
        id: MemberId,
        patch: &MemberPatch,
    ) -> StoreResult<MemberChange<Member>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let contacts = [
            (
                "phone",
                ContactField::Phone,
                patch
                    .phone
                    .as_ref()
                    .and_then(|p| p.as_ref())
                    .map(Phone::as_str),
            ),
            (
                "email",
                ContactField::Email,
                patch
                    .email
                    .as_ref()
                    .and_then(|e| e.as_ref())
                    .map(Email::as_str),
            ),
        ];
        for (_, _, value) in &contacts {
            if let Some(value) = value {
                lock_contact(&mut tx, value).await?;
            }
        }
        // Contact locks before the member row, in the order claim_contact_in takes them.
        let Some(current) = lock_members(&mut tx, &[id]).await?.remove(&id) else {
            return Ok(MemberChange::NotFound);
        };
        if let Some(into) = current.merged_into {
            return Ok(MemberChange::Merged(into));
        }
        for (name, field, value) in contacts {
            let Some(value) = value else { continue };
            if let Some(holder) = member_with_contact_in(&mut tx, field, value).await? {
                if holder != id {
                    return Ok(MemberChange::ContactTaken {
                        field: name,
                        member_id: holder,
                    });
                }
            }
        }
        let pick = |change: &Option<Option<String>>, old: &Option<String>| match change {
            Some(new) => new.clone(),
            None => old.clone(),
        };
        let phone = match &patch.phone {
            Some(p) => p.as_ref().map(|p| p.as_str().to_string()),
            None => current.phone.clone(),
        };
        let email = match &patch.email {
            Some(e) => e.as_ref().map(|e| e.as_str().to_string()),
            None => current.email.clone(),
        };
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE members SET name = $1, phone = $2, email = $3, delivery_address = $4, \
                 pickup_store = $5, tier = $6, updated_at_ms = $7 WHERE id = $8",
            )
            .bind(pick(&patch.name, &current.name))
            .bind(phone)
            .bind(email)
            .bind(pick(&patch.delivery_address, &current.delivery_address))
            .bind(pick(&patch.pickup_store, &current.pickup_store))
            .bind(patch.tier.clone().unwrap_or(current.tier.clone()))
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        });
        let updated = member_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Invariant(format!("member {id} vanished mid-update")))?;
        tx.commit().await?;
        Ok(MemberChange::Done(updated))
    }

    /// Sets (`Some(reason)`) or lifts (`None`) a block or a restriction.
    pub async fn set_member_flag(
        &self,
        id: MemberId,
        flag: MemberFlag,
        reason: Option<&str>,
    ) -> StoreResult<MemberChange<Member>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let Some(current) = lock_members(&mut tx, &[id]).await?.remove(&id) else {
            return Ok(MemberChange::NotFound);
        };
        if let Some(into) = current.merged_into {
            return Ok(MemberChange::Merged(into));
        }
        let sql = match flag {
            MemberFlag::Blocked => {
                "UPDATE members SET blocked_reason = $1, updated_at_ms = $2 WHERE id = $3"
            }
            MemberFlag::Restricted => {
                "UPDATE members SET restricted_reason = $1, updated_at_ms = $2 WHERE id = $3"
            }
        };
        on_tx!(&mut tx, |conn| {
            sqlx::query(sql)
                .bind(reason)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        });
        let updated = member_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Invariant(format!("member {id} vanished mid-update")))?;
        tx.commit().await?;
        Ok(MemberChange::Done(updated))
    }

    /// Merges in its own transaction (staff merges; checkout calls the `_in` form).
    pub async fn merge_members(
        &self,
        survivor: MemberId,
        merged: MemberId,
        reason: MergeReason,
        actor: &str,
    ) -> Result<MergeRecord, MergeError> {
        let mut tx = self.begin_write().await?;
        let record = merge_members_in(&mut tx, survivor, merged, reason, actor, now_ms()).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Keeps a contact in its own transaction; see [`claim_contact_in`].
    pub async fn claim_member_contact(
        &self,
        member_id: MemberId,
        phone: Option<&Phone>,
        email: Option<&Email>,
    ) -> StoreResult<Option<MemberId>> {
        let mut tx = self.begin_write().await?;
        let member = claim_contact_in(&mut tx, member_id, phone, email, None, now_ms()).await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Open merge suggestions, oldest first: those whose two members are both still live
    /// (a merge of either one settles it). `after`: the previous page's last id.
    pub async fn merge_suggestions(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<MergeSuggestion>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT s.id, s.member_id, s.holder_id, s.field, s.order_id, s.created_at_ms \
                 FROM member_merge_suggestions s \
                 JOIN members m ON m.id = s.member_id JOIN members h ON h.id = s.holder_id \
                 WHERE m.merged_into IS NULL AND h.merged_into IS NULL AND s.id > $1 \
                 ORDER BY s.id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<MergeSuggestion> {
                let field: String = r.try_get(3)?;
                Ok(MergeSuggestion {
                    id: r.try_get(0)?,
                    member_id: r.try_get(1)?,
                    holder_id: r.try_get(2)?,
                    field: ContactField::from_db(&field),
                    order_id: r.try_get(4)?,
                    created_at_ms: r.try_get(5)?,
                })
            })
            .collect()
        })
    }

    /// Merges a member took part in, either side, oldest first.
    pub async fn member_merges(&self, id: MemberId) -> StoreResult<Vec<MergeRecord>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, survivor_id, merged_id, reason, actor, identities, points_moved, created_at_ms \
                 FROM member_merges WHERE survivor_id = $1 OR merged_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(merge_from_row)
            .collect()
        })
    }
}
