//! Personal data: a member's export, the erasure that keeps the books, Meta's
//! data-deletion requests, and the raw payload retention.
//!
//! Erasing removes or blanks what names a person (profile, identities, comment texts and
//! authors, order contacts, receipts, checkout links) and keeps what the books need:
//! orders with their totals and lines, holds, ledger events and stock movements. The
//! member's identities are deleted, so a later comment from the same platform user makes
//! a new member instead of finding the erased one.
//!
//! None of these types derive `Debug`: they carry phones, addresses and comment texts.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{
    id_list, now_ms, on_pool, on_tx, Member, MergeRecord, MergeSuggestion, OrderFilter, OrderView,
    Store, StoreResult, Tx,
};
use crate::ledger::MemberId;

/// The platforms whose user ids Meta's data-deletion callback names.
pub const META_PLATFORMS: [&str; 2] = ["facebook", "instagram"];

/// Everything plusone holds about one member.
#[derive(Serialize, ToSchema)]
pub struct MemberExport {
    pub exported_at_ms: i64,
    /// The member asked for, with its identities.
    pub member: Member,
    /// Members merged into this one: their rows keep the profile they had.
    pub merged_members: Vec<Member>,
    /// Orders with their lines and the contact given at checkout.
    pub orders: Vec<OrderView>,
    pub holds: Vec<ExportHold>,
    /// Comments and messages the member wrote, with what became of them.
    pub comments: Vec<ExportComment>,
    pub points: PointsHistory,
    pub merges: Vec<MergeRecord>,
    /// Merge suggestions naming the member, either side, settled or not.
    pub suggestions: Vec<MergeSuggestion>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportHold {
    pub id: i64,
    pub sku: String,
    pub qty: i64,
    /// active, committed, released or expired.
    pub status: String,
    pub live_id: Option<i64>,
    pub channel: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ExportComment {
    pub id: i64,
    pub platform: String,
    /// comment or message.
    pub kind: String,
    /// add, edited or remove.
    pub verb: String,
    pub live_id: Option<i64>,
    pub author_name: Option<String>,
    pub text: Option<String>,
    pub outcome: Option<String>,
    pub platform_time_ms: i64,
    pub received_at_ms: i64,
}

/// How the member's points came to be.
#[derive(Serialize, ToSchema)]
pub struct PointsHistory {
    pub balance: i64,
    pub entries: Vec<PointsEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct PointsEntry {
    /// `order` (earned when an order was paid) or `merge` (moved in from a merged member).
    pub source: String,
    /// The order's or the merge's id.
    pub source_id: i64,
    pub points: i64,
    pub at_ms: i64,
}

/// What an erasure did.
#[derive(Clone, Serialize, ToSchema)]
pub struct Erasure {
    pub member_id: MemberId,
    /// The member and those merged into it, all erased.
    pub members: Vec<MemberId>,
    /// The first erasure's time; a repeat changes nothing and keeps it.
    pub erased_at_ms: i64,
    pub identities_removed: u64,
    pub comments_scrubbed: u64,
    pub orders_scrubbed: u64,
    pub receipts_removed: u64,
    /// Replies to the member: those not yet sent are dropped (`skipped`, "member
    /// erased"), and none keeps whom it went to.
    pub replies_scrubbed: u64,
}

/// A data-deletion request from Meta, as its status page shows it.
#[derive(Clone, Serialize, ToSchema)]
pub struct DataDeletion {
    pub code: String,
    pub platform: String,
    /// How many members were erased (0: plusone held nothing about the user).
    pub members: i64,
    /// completed: the erasure ran in the same transaction as the request was recorded.
    pub status: String,
    pub created_at_ms: i64,
}

/// The member and the members merged into it (merges re-point older ones, so one hop).
/// `None`: no such member.
async fn erasure_set(tx: &mut Tx, id: MemberId) -> StoreResult<Option<Vec<MemberId>>> {
    let lock = if tx.is_postgres() {
        "SELECT merged_into FROM members WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT merged_into FROM members WHERE id = $1"
    };
    let found: Option<Option<MemberId>> = on_tx!(tx, |conn| {
        sqlx::query_scalar(lock)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    });
    let Some(merged_into) = found else {
        return Ok(None);
    };
    let mut ids = vec![id];
    if merged_into.is_none() {
        let folded: Vec<MemberId> = on_tx!(tx, |conn| {
            sqlx::query_scalar("SELECT id FROM members WHERE merged_into = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
        });
        ids.extend(folded);
    }
    Ok(Some(ids))
}

/// Blanks the comments one platform user wrote, whether or not they reached a member.
async fn scrub_author_in(tx: &mut Tx, platform: &str, author_id: &str) -> StoreResult<u64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE inbox SET text = NULL, author_name = NULL, author_id = NULL, raw = '', \
             parse_result = NULL WHERE platform = $1 AND author_id = $2",
        )
        .bind(platform)
        .bind(author_id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    }))
}

/// Erases one member (and those merged into it) inside `tx`. `None`: no such member.
pub async fn erase_member_in(tx: &mut Tx, id: MemberId, now: i64) -> StoreResult<Option<Erasure>> {
    let Some(members) = erasure_set(tx, id).await? else {
        return Ok(None);
    };
    let ids = id_list(members.iter().copied());
    let sql = sql_for!(tx, "SELECT platform, platform_user_id FROM identities WHERE ",
        [ids "member_id" "1"]);
    let identities: Vec<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(sql).bind(&ids).fetch_all(&mut *conn).await?
    });
    let mut comments = 0;
    for (platform, user) in &identities {
        comments += scrub_author_in(tx, platform, user).await?;
    }
    let sql = sql_for!(tx, "UPDATE inbox SET text = NULL, author_name = NULL, author_id = NULL, \
        raw = '', parse_result = NULL WHERE (text IS NOT NULL OR author_name IS NOT NULL \
        OR author_id IS NOT NULL OR raw <> '') AND ", [ids "member_id" "1"]);
    comments += on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&ids)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    let sql = sql_for!(tx, "DELETE FROM identities WHERE ", [ids "member_id" "1"]);
    let identities_removed = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&ids)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    let sql = sql_for!(tx, "UPDATE members SET display_name = '', name = NULL, phone = NULL, \
        email = NULL, delivery_address = NULL, pickup_store = NULL, \
        blocked_reason = CASE WHEN blocked_reason IS NULL THEN NULL ELSE 'erased' END, \
        restricted_reason = CASE WHEN restricted_reason IS NULL THEN NULL ELSE 'erased' END, \
        erased_at_ms = COALESCE(erased_at_ms, $2), updated_at_ms = $2 WHERE ",
        [ids "id" "1"]);
    on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&ids)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    });
    let sql = sql_for!(tx, "DELETE FROM payment_receipts WHERE order_id IN \
        (SELECT id FROM orders WHERE ", [ids "member_id" "1"], ")");
    let receipts_removed = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&ids)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    // Totals, lines, payment method and status stay: they are the books.
    let sql = sql_for!(tx, "UPDATE orders SET contact_name = '', contact_phone = '', \
        contact_email = '', delivery_address = '', updated_at_ms = $2 WHERE \
        (contact_name <> '' OR contact_phone <> '' OR contact_email <> '' \
        OR delivery_address <> '') AND ", [ids "member_id" "1"]);
    let orders_scrubbed = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&ids)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    // Replies: nothing more is sent to an erased buyer, and no row keeps the comment,
    // chat or user it went to.
    let sql = sql_for!(tx, "UPDATE outbox SET target = '', \
        last_error = CASE WHEN status IN ('pending', 'sending', 'failed') THEN 'member erased' \
        ELSE last_error END, \
        status = CASE WHEN status IN ('pending', 'sending', 'failed') THEN 'skipped' ELSE status END, \
        updated_at_ms = $2 WHERE target <> '' AND (", [ids "member_id" "1"],
        " OR inbox_id IN (SELECT id FROM inbox WHERE ", [ids "member_id" "1"], "))");
    let replies_scrubbed = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(&ids)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    // A checkout link would show the cart to whoever holds it; the erased buyer has none.
    let sql = sql_for!(tx, "DELETE FROM checkout_tokens WHERE ", [ids "member_id" "1"]);
    on_tx!(tx, |conn| {
        sqlx::query(sql).bind(&ids).execute(&mut *conn).await?;
    });
    let sql = sql_for!(tx, "UPDATE member_merges SET identities = '[]' WHERE ",
        [ids "survivor_id" "1"], " OR ", [ids "merged_id" "1"]);
    on_tx!(tx, |conn| {
        sqlx::query(sql).bind(&ids).execute(&mut *conn).await?;
    });
    let erased_at_ms: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("SELECT erased_at_ms FROM members WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?
    });
    Ok(Some(Erasure {
        member_id: id,
        members,
        erased_at_ms,
        identities_removed,
        comments_scrubbed: comments,
        orders_scrubbed,
        receipts_removed,
        replies_scrubbed,
    }))
}

fn hold_from_row<R: Row>(r: &R) -> StoreResult<ExportHold>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(ExportHold {
        id: r.try_get(0)?,
        sku: r.try_get(1)?,
        qty: r.try_get(2)?,
        status: r.try_get(3)?,
        live_id: r.try_get(4)?,
        channel: r.try_get(5)?,
        created_at_ms: r.try_get(6)?,
        expires_at_ms: r.try_get(7)?,
    })
}

fn comment_from_row<R: Row>(r: &R) -> StoreResult<ExportComment>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(ExportComment {
        id: r.try_get(0)?,
        platform: r.try_get(1)?,
        kind: r.try_get(2)?,
        verb: r.try_get(3)?,
        live_id: r.try_get(4)?,
        author_name: r.try_get(5)?,
        text: r.try_get(6)?,
        outcome: r.try_get(7)?,
        platform_time_ms: r.try_get(8)?,
        received_at_ms: r.try_get(9)?,
    })
}

const COMMENT_COLUMNS: &str =
    "SELECT id, platform, kind, verb, live_id, author_name, text, outcome, \
     platform_time_ms, received_at_ms FROM inbox WHERE ";

impl Store {
    /// Everything about a member; `None` when there is no such member.
    pub async fn export_member(&self, id: MemberId) -> StoreResult<Option<MemberExport>> {
        let Some(member) = self.member(id).await? else {
            return Ok(None);
        };
        let mut tx = self.begin_read().await?;
        let members = erasure_set(&mut tx, id).await?.unwrap_or_else(|| vec![id]);
        let ids = id_list(members.iter().copied());
        let sql = sql_for!(&mut tx, "SELECT h.id, s.sku, h.qty, h.status, h.live_id, h.channel, \
            h.created_at_ms, h.expires_at_ms FROM holds h JOIN skus s ON s.id = h.sku_id WHERE ",
            [ids "h.member_id" "1"], " ORDER BY h.id");
        let holds = on_tx!(&mut tx, |conn| {
            sqlx::query(sql)
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(hold_from_row)
                .collect::<StoreResult<Vec<_>>>()?
        });
        let mut comments: BTreeMap<i64, ExportComment> = BTreeMap::new();
        let sql = sql_for!(&mut tx, "SELECT id, platform, kind, verb, live_id, author_name, text, \
            outcome, platform_time_ms, received_at_ms FROM inbox WHERE ", [ids "member_id" "1"]);
        let by_member = on_tx!(&mut tx, |conn| {
            sqlx::query(sql)
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(comment_from_row)
                .collect::<StoreResult<Vec<_>>>()?
        });
        comments.extend(by_member.into_iter().map(|c| (c.id, c)));
        let sql = sql_for!(&mut tx, "SELECT platform, platform_user_id FROM identities WHERE ",
            [ids "member_id" "1"]);
        let identities: Vec<(String, String)> = on_tx!(&mut tx, |conn| {
            sqlx::query_as(sql).bind(&ids).fetch_all(&mut *conn).await?
        });
        let by_author = format!("{COMMENT_COLUMNS}platform = $1 AND author_id = $2");
        for (platform, user) in &identities {
            let found = on_tx!(&mut tx, |conn| {
                sqlx::query(&by_author)
                    .bind(platform)
                    .bind(user)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(comment_from_row)
                    .collect::<StoreResult<Vec<_>>>()?
            });
            comments.extend(found.into_iter().map(|c| (c.id, c)));
        }
        let sql = sql_for!(&mut tx, "SELECT s.id, s.member_id, s.holder_id, s.field, s.order_id, \
            s.created_at_ms FROM member_merge_suggestions s WHERE ", [ids "s.member_id" "1"],
            " OR ", [ids "s.holder_id" "1"], " ORDER BY s.id");
        let suggestions = on_tx!(&mut tx, |conn| {
            sqlx::query(sql)
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| -> StoreResult<MergeSuggestion> {
                    let field: String = r.try_get(3)?;
                    Ok(MergeSuggestion {
                        id: r.try_get(0)?,
                        member_id: r.try_get(1)?,
                        holder_id: r.try_get(2)?,
                        field: super::members::ContactField::from_db(&field),
                        order_id: r.try_get(4)?,
                        created_at_ms: r.try_get(5)?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?
        });
        drop(tx);

        let mut merged_members = Vec::new();
        for other in members.iter().skip(1) {
            if let Some(m) = self.member(*other).await? {
                merged_members.push(m);
            }
        }
        let mut orders = Vec::new();
        for owner in &members {
            let mut after = None;
            loop {
                let page = self
                    .list_orders(&OrderFilter {
                        member_id: Some(*owner),
                        after,
                        limit: 500,
                        ..OrderFilter::default()
                    })
                    .await?;
                let done = page.len() < 500;
                after = page.last().map(|o| o.id);
                orders.extend(page);
                if done {
                    break;
                }
            }
        }
        orders.sort_by_key(|o| o.id);
        let merges = self.member_merges(id).await?;
        let mut entries: Vec<PointsEntry> = orders
            .iter()
            .filter(|o| o.points_earned != 0)
            .map(|o| PointsEntry {
                source: "order".into(),
                source_id: o.id,
                points: o.points_earned,
                at_ms: o.paid_at_ms.unwrap_or(o.created_at_ms),
            })
            .collect();
        entries.extend(
            merges
                .iter()
                .filter(|m| m.survivor_id == id && m.points_moved != 0)
                .map(|m| PointsEntry {
                    source: "merge".into(),
                    source_id: m.id,
                    points: m.points_moved,
                    at_ms: m.created_at_ms,
                }),
        );
        entries.sort_by_key(|e| e.at_ms);
        Ok(Some(MemberExport {
            exported_at_ms: now_ms(),
            points: PointsHistory {
                balance: member.points,
                entries,
            },
            member,
            merged_members,
            orders,
            holds,
            comments: comments.into_values().collect(),
            merges,
            suggestions,
        }))
    }

    /// Erases a member in its own transaction; see [`erase_member_in`].
    pub async fn erase_member(&self, id: MemberId) -> StoreResult<Option<Erasure>> {
        let mut tx = self.begin_write().await?;
        let erased = erase_member_in(&mut tx, id, now_ms()).await?;
        tx.commit().await?;
        Ok(erased)
    }

    /// Meta's data-deletion request for `user_id`: erases every member with that user id
    /// on Facebook or Instagram, blanks the user's comments that reached no member, and
    /// records the request under `code`, all in one transaction.
    pub async fn erase_meta_user(&self, user_id: &str, code: &str) -> StoreResult<DataDeletion> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let mut members: Vec<MemberId> = Vec::new();
        for platform in META_PLATFORMS {
            let found: Option<MemberId> = on_tx!(&mut tx, |conn| {
                sqlx::query_scalar(
                    "SELECT member_id FROM identities WHERE platform = $1 AND platform_user_id = $2",
                )
                .bind(platform)
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?
            });
            if let Some(member) = found {
                members.push(member);
            }
            scrub_author_in(&mut tx, platform, user_id).await?;
        }
        members.sort_unstable();
        members.dedup();
        for member in &members {
            erase_member_in(&mut tx, *member, now).await?;
        }
        let deletion = DataDeletion {
            code: code.to_string(),
            platform: "meta".into(),
            members: members.len() as i64,
            status: "completed".into(),
            created_at_ms: now,
        };
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO data_deletions (code, platform, members, status, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&deletion.code)
            .bind(&deletion.platform)
            .bind(deletion.members)
            .bind(&deletion.status)
            .bind(deletion.created_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(deletion)
    }

    /// A recorded data-deletion request, by its confirmation code.
    pub async fn data_deletion(&self, code: &str) -> StoreResult<Option<DataDeletion>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT code, platform, members, status, created_at_ms FROM data_deletions \
                 WHERE code = $1",
            )
            .bind(code)
            .fetch_optional(pool)
            .await?
            .map(|r| -> StoreResult<DataDeletion> {
                Ok(DataDeletion {
                    code: r.try_get(0)?,
                    platform: r.try_get(1)?,
                    members: r.try_get(2)?,
                    status: r.try_get(3)?,
                    created_at_ms: r.try_get(4)?,
                })
            })
            .transpose()
        })
    }

    /// Drops the raw payload of up to `batch` decided inbox events received before
    /// `before_ms`, oldest first, keeping the decoded event. Returns how many.
    pub async fn drop_raw_payloads(&self, before_ms: i64, batch: i64) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let dropped = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE inbox SET raw = '' WHERE id IN (SELECT id FROM inbox \
                 WHERE raw <> '' AND received_at_ms < $1 AND status = 'done' \
                 ORDER BY received_at_ms LIMIT $2)",
            )
            .bind(before_ms)
            .bind(batch)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(dropped)
    }
}
