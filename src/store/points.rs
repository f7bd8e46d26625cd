//! Members' points as a ledger: every change is a row of `point_movements`, and
//! `members.points` is kept equal to their sum in the same transaction, so the balance
//! on a member and the history behind it never disagree.
//!
//! A movement lands on the live member (merged ids are followed), and the balance update
//! is guarded by `merged_into IS NULL`: a merge committing first makes the transaction
//! run again, and then it finds the survivor. A merge moves the movements with the points.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::members::resolve_member_in;
use super::{now_ms, on_pool, on_tx, Store, StoreError, StoreResult, Tx};
use crate::ledger::MemberId;

/// Why a member's points changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// A paid order or counter sale earned them; negative when its cancellation takes
    /// them back.
    Earned,
    /// An order or counter sale was paid with them (negative).
    Spent,
    /// A cancelled order or sale gave spent points back.
    Returned,
    /// Staff changed the balance, with a reason.
    Adjusted,
}

impl PointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PointKind::Earned => "earned",
            PointKind::Spent => "spent",
            PointKind::Returned => "returned",
            PointKind::Adjusted => "adjusted",
        }
    }

    fn parse(text: &str) -> StoreResult<PointKind> {
        Ok(match text {
            "earned" => PointKind::Earned,
            "spent" => PointKind::Spent,
            "returned" => PointKind::Returned,
            "adjusted" => PointKind::Adjusted,
            other => {
                return Err(StoreError::Invariant(format!(
                    "point movement kind `{other}` is not known"
                )))
            }
        })
    }
}

/// One row of a member's point history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointMovement {
    pub id: i64,
    pub member_id: MemberId,
    pub kind: PointKind,
    /// Positive adds, negative takes.
    pub points: i64,
    /// Staff's reason for an adjustment; empty otherwise.
    pub reason: String,
    pub order_id: Option<i64>,
    pub sale_id: Option<i64>,
    /// Who made an adjustment or a counter sale (user or token name).
    pub actor: String,
    /// The balance right after this movement.
    pub balance: i64,
    pub created_at_ms: i64,
}

/// A change to write.
#[derive(Debug, Clone, Copy)]
pub struct PointMove<'a> {
    pub kind: PointKind,
    pub points: i64,
    pub reason: &'a str,
    pub order_id: Option<i64>,
    pub sale_id: Option<i64>,
    pub actor: &'a str,
}

impl<'a> PointMove<'a> {
    pub fn new(kind: PointKind, points: i64) -> PointMove<'a> {
        PointMove {
            kind,
            points,
            reason: "",
            order_id: None,
            sale_id: None,
            actor: "",
        }
    }

    pub fn order(mut self, id: i64) -> Self {
        self.order_id = Some(id);
        self
    }

    pub fn sale(mut self, id: i64) -> Self {
        self.sale_id = Some(id);
        self
    }
}

/// What came of a spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// The new balance.
    Done(i64),
    /// The member has fewer points than asked for; nothing changed.
    Short { balance: i64 },
}

/// A member's balance as stored, following merges. `None`: no such member.
pub async fn points_balance_in(tx: &mut Tx, member: MemberId) -> StoreResult<Option<i64>> {
    let Some(member) = resolve_member_in(tx, member).await? else {
        return Ok(None);
    };
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar("SELECT points FROM members WHERE id = $1")
            .bind(member)
            .fetch_optional(&mut *conn)
            .await?
    }))
}

/// Writes one movement for the live member `member` stands for and keeps its balance
/// equal to the sum. Returns the new balance, or `None` when there is no such member.
/// A zero movement writes nothing.
pub async fn move_points_in(
    tx: &mut Tx,
    member: MemberId,
    change: PointMove<'_>,
    now: i64,
) -> StoreResult<Option<i64>> {
    move_guarded_in(tx, member, change, None, now)
        .await
        .map(|r| {
            r.map(|s| match s {
                Spend::Done(balance) | Spend::Short { balance } => balance,
            })
        })
}

/// Takes `points` (positive) from the member as a `spent` movement, only if the balance
/// covers them: the check and the change are one guarded statement, so two spends racing
/// for the last points cannot both pass.
pub async fn spend_points_in(
    tx: &mut Tx,
    member: MemberId,
    points: i64,
    change: PointMove<'_>,
    now: i64,
) -> StoreResult<Option<Spend>> {
    let change = PointMove {
        kind: PointKind::Spent,
        points: -points,
        ..change
    };
    move_guarded_in(tx, member, change, Some(points), now).await
}

async fn move_guarded_in(
    tx: &mut Tx,
    member: MemberId,
    change: PointMove<'_>,
    at_least: Option<i64>,
    now: i64,
) -> StoreResult<Option<Spend>> {
    let Some(member) = resolve_member_in(tx, member).await? else {
        return Ok(None);
    };
    if change.points == 0 {
        return Ok(points_balance_in(tx, member).await?.map(Spend::Done));
    }
    let balance: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "UPDATE members SET points = points + $1, updated_at_ms = $2 \
             WHERE id = $3 AND merged_into IS NULL AND points >= $4 RETURNING points",
        )
        .bind(change.points)
        .bind(now)
        .bind(member)
        .bind(at_least.unwrap_or(i64::MIN))
        .fetch_optional(&mut *conn)
        .await?
    });
    let Some(balance) = balance else {
        // Either the balance is short, or a merge committed since the member was resolved.
        let row: Option<(i64, Option<i64>)> = on_tx!(tx, |conn| {
            sqlx::query_as("SELECT points, merged_into FROM members WHERE id = $1")
                .bind(member)
                .fetch_optional(&mut *conn)
                .await?
        });
        return match row {
            Some((balance, None)) => Ok(Some(Spend::Short { balance })),
            _ => Err(StoreError::Contention(format!(
                "member {member} was merged while points changed"
            ))),
        };
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO point_movements (member_id, kind, points, reason, order_id, sale_id, actor, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(member)
        .bind(change.kind.as_str())
        .bind(change.points)
        .bind(change.reason)
        .bind(change.order_id)
        .bind(change.sale_id)
        .bind(change.actor)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    Ok(Some(Spend::Done(balance)))
}

/// Adds (or with a negative `delta`, takes) points as a staff adjustment with `reason`,
/// on the live member an id stands for. Returns the new balance, or `None` when there is
/// no such member.
pub async fn add_points_in(
    tx: &mut Tx,
    member: MemberId,
    delta: i64,
    reason: &str,
    now: i64,
) -> StoreResult<Option<i64>> {
    let change = PointMove {
        reason,
        ..PointMove::new(PointKind::Adjusted, delta)
    };
    move_points_in(tx, member, change, now).await
}

/// What a staff adjustment came to.
#[derive(Debug)]
pub enum Adjusted {
    Done(PointMovement),
    NotFound,
    /// The member was merged into this one; adjust that member.
    Merged(MemberId),
    /// Taking this many would leave the balance below 0; nothing changed.
    Short {
        balance: i64,
    },
}

impl Store {
    /// Staff change a balance with a reason.
    pub async fn adjust_points(
        &self,
        member: MemberId,
        points: i64,
        reason: &str,
        actor: &str,
    ) -> StoreResult<Adjusted> {
        super::error::retry_contention!(
            self.adjust_points_once(member, points, reason, actor).await
        )
    }

    async fn adjust_points_once(
        &self,
        member: MemberId,
        points: i64,
        reason: &str,
        actor: &str,
    ) -> StoreResult<Adjusted> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let merged_into: Option<Option<MemberId>> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar("SELECT merged_into FROM members WHERE id = $1")
                .bind(member)
                .fetch_optional(&mut *conn)
                .await?
        });
        match merged_into {
            None => return Ok(Adjusted::NotFound),
            Some(Some(into)) => return Ok(Adjusted::Merged(into)),
            Some(None) => {}
        }
        let change = PointMove {
            reason,
            actor,
            ..PointMove::new(PointKind::Adjusted, points)
        };
        // An adjustment never takes the balance below 0 (a cancellation may).
        let at_least = (points < 0).then_some(-points);
        match move_guarded_in(&mut tx, member, change, at_least, now).await? {
            None => return Ok(Adjusted::NotFound),
            Some(Spend::Short { balance }) => return Ok(Adjusted::Short { balance }),
            Some(Spend::Done(_)) => {}
        }
        let last = last_movements_in(&mut tx, member, 1).await?;
        tx.commit().await?;
        last.into_iter()
            .next()
            .map(Adjusted::Done)
            .ok_or_else(|| StoreError::Invariant("an adjustment left no movement".into()))
    }

    /// A member's balance and history, newest first (at most `limit` rows). `None`: no
    /// such member. A merged member's history moved to the member it was merged into.
    pub async fn point_history(
        &self,
        member: MemberId,
        limit: i64,
    ) -> StoreResult<Option<(i64, Vec<PointMovement>)>> {
        let mut tx = self.begin_read().await?;
        let balance: Option<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar("SELECT points FROM members WHERE id = $1")
                .bind(member)
                .fetch_optional(&mut *conn)
                .await?
        });
        let Some(balance) = balance else {
            return Ok(None);
        };
        let rows = last_movements_in(&mut tx, member, limit).await?;
        tx.commit().await?;
        Ok(Some((balance, rows)))
    }

    /// The sum of a member's movements (their balance, by the ledger).
    pub async fn point_movement_sum(&self, member: MemberId) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM point_movements WHERE member_id = $1",
            )
            .bind(member)
            .fetch_one(pool)
            .await?
        }))
    }
}

/// The newest `limit` movements of a member, each with the balance right after it.
async fn last_movements_in(
    tx: &mut Tx,
    member: MemberId,
    limit: i64,
) -> StoreResult<Vec<PointMovement>> {
    on_tx!(tx, |conn| {
        let rows = sqlx::query(
            "SELECT m.id, m.member_id, m.kind, m.points, m.reason, m.order_id, m.sale_id, m.actor, \
             m.created_at_ms, CAST((SELECT SUM(e.points) FROM point_movements e \
             WHERE e.member_id = m.member_id AND e.id <= m.id) AS BIGINT) AS balance \
             FROM point_movements m WHERE m.member_id = $1 ORDER BY m.id DESC LIMIT $2",
        )
        .bind(member)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| -> StoreResult<PointMovement> {
                Ok(PointMovement {
                    id: r.try_get(0)?,
                    member_id: r.try_get(1)?,
                    kind: PointKind::parse(&r.try_get::<String, _>(2)?)?,
                    points: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    order_id: r.try_get(5)?,
                    sale_id: r.try_get(6)?,
                    actor: r.try_get(7)?,
                    created_at_ms: r.try_get(8)?,
                    balance: r.try_get(9)?,
                })
            })
            .collect()
    })
}
