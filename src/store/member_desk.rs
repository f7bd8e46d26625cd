//! What the members pages read: a member's active holds, and what a merge would move.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{on_pool, Store, StoreResult};
use crate::ledger::MemberId;

/// Units held for a member now.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct MemberHold {
    pub hold_id: i64,
    pub sku: String,
    pub name: String,
    pub qty: i64,
    pub live_id: Option<i64>,
    pub expires_at_ms: i64,
    /// The unpaid order the hold is a line of, if any.
    pub order_id: Option<i64>,
}

/// What merging `merged_id` into `survivor_id` would move, counted now.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct MergePreview {
    pub survivor_id: MemberId,
    pub merged_id: MemberId,
    pub orders: i64,
    /// Active holds.
    pub holds: i64,
    /// Waiting waitlist entries.
    pub waitlist: i64,
    /// Comments and messages.
    pub comments: i64,
    /// (platform, display name) of each identity that moves.
    pub identities: Vec<(String, String)>,
    pub points: i64,
}

impl Store {
    /// A member's active holds, newest first.
    pub async fn member_holds(&self, member_id: MemberId) -> StoreResult<Vec<MemberHold>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT h.id, s.sku, p.name, h.qty, h.live_id, h.expires_at_ms, \
                 (SELECT l.order_id FROM order_lines l WHERE l.hold_id = h.id) \
                 FROM holds h JOIN skus s ON s.id = h.sku_id JOIN products p ON p.id = s.product_id \
                 WHERE h.member_id = $1 AND h.status = 'active' ORDER BY h.id DESC LIMIT 200",
            )
            .bind(member_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<MemberHold> {
                    Ok(MemberHold {
                        hold_id: r.try_get(0)?,
                        sku: r.try_get(1)?,
                        name: r.try_get(2)?,
                        qty: r.try_get(3)?,
                        live_id: r.try_get(4)?,
                        expires_at_ms: r.try_get(5)?,
                        order_id: r.try_get(6)?,
                    })
                })
                .collect()
        })
    }

    /// What a merge of `merged` into `survivor` would move (see `merge_members_in`).
    /// Changes nothing; the caller checks both members exist.
    pub async fn merge_preview(
        &self,
        survivor: MemberId,
        merged: MemberId,
    ) -> StoreResult<MergePreview> {
        on_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM orders WHERE member_id = $1), \
                 (SELECT COUNT(*) FROM holds WHERE member_id = $1 AND status = 'active'), \
                 (SELECT COUNT(*) FROM waitlist WHERE member_id = $1 AND status = 'waiting'), \
                 (SELECT COUNT(*) FROM inbox WHERE member_id = $1), \
                 (SELECT points FROM members WHERE id = $1)",
            )
            .bind(merged)
            .fetch_one(pool)
            .await?;
            let identities = sqlx::query(
                "SELECT platform, display_name FROM identities WHERE member_id = $1 \
                 ORDER BY created_at_ms, platform, platform_user_id",
            )
            .bind(merged)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> StoreResult<(String, String)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .collect::<StoreResult<Vec<_>>>()?;
            Ok(MergePreview {
                survivor_id: survivor,
                merged_id: merged,
                orders: row.try_get(0)?,
                holds: row.try_get(1)?,
                waitlist: row.try_get(2)?,
                comments: row.try_get(3)?,
                identities,
                points: row.try_get::<Option<i64>, _>(4)?.unwrap_or(0),
            })
        })
    }
}
