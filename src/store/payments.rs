//! Online payment sessions (every one an order opened) and the payments that need staff.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{on_pool, on_tx, Store, StoreResult};
use crate::vocab::PaymentIssueKind;

/// A provider session, and the order it was opened for.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentSession {
    pub order_id: i64,
    pub amount: i64,
    pub currency: String,
    pub paid_at_ms: Option<i64>,
}

/// A payment that could not simply mark its order paid.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PaymentIssue {
    pub id: i64,
    pub kind: PaymentIssueKind,
    pub order_id: Option<i64>,
    pub provider_session: String,
    /// What the provider says was paid, in minor units.
    pub amount: i64,
    pub currency: String,
    pub created_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
}

/// What a new issue says.
#[derive(Debug, Clone)]
pub struct NewPaymentIssue<'a> {
    pub kind: PaymentIssueKind,
    pub order_id: Option<i64>,
    pub provider_session: &'a str,
    pub amount: i64,
    pub currency: &'a str,
}

impl Store {
    /// Keeps a session opened for an order beside the ones before it; the order's
    /// `provider_session` names the newest. Opening the same session again is harmless.
    pub async fn record_payment_session(
        &self,
        order_id: i64,
        session: &str,
        amount: i64,
        currency: &str,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO payment_sessions (order_id, provider_session, amount, currency, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider_session) DO NOTHING",
            )
            .bind(order_id)
            .bind(session)
            .bind(amount)
            .bind(currency)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE orders SET provider_session = $1 WHERE id = $2")
                .bind(session)
                .bind(order_id)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await
    }

    /// The session and its order, whichever of an order's sessions it is.
    pub async fn payment_session(&self, session: &str) -> StoreResult<Option<PaymentSession>> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT order_id, amount, currency, paid_at_ms FROM payment_sessions \
                 WHERE provider_session = $1",
            )
            .bind(session)
            .fetch_optional(pool)
            .await?
            .map(|r| -> StoreResult<PaymentSession> {
                Ok(PaymentSession {
                    order_id: r.try_get(0)?,
                    amount: r.try_get(1)?,
                    currency: r.try_get(2)?,
                    paid_at_ms: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    /// Notes that the provider says the session was paid. True the first time only, so
    /// a redelivered webhook is told apart from a second payment.
    pub async fn mark_session_paid(&self, session: &str, now: i64) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let first = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE payment_sessions SET paid_at_ms = $1 \
                 WHERE provider_session = $2 AND paid_at_ms IS NULL",
            )
            .bind(now)
            .bind(session)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        }) == 1;
        tx.commit().await?;
        Ok(first)
    }

    /// Opens an issue for staff; the same session and kind again (a redelivery) is one.
    /// Opens an issue (once per provider session and kind), and writes `alert` (the
    /// staff chat's message) in the same transaction.
    pub async fn open_payment_issue(
        &self,
        issue: &NewPaymentIssue<'_>,
        alert: Option<&super::PlannedReply>,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        if let Some(alert) = alert {
            super::insert_planned_in(&mut tx, std::slice::from_ref(alert), now).await?;
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO payment_issues (kind, order_id, provider_session, amount, currency, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider_session, kind) DO NOTHING",
            )
            .bind(issue.kind)
            .bind(issue.order_id)
            .bind(issue.provider_session)
            .bind(issue.amount)
            .bind(issue.currency)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await
    }

    /// Issues, newest first: the open ones only, or all.
    pub async fn payment_issues(
        &self,
        open_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<PaymentIssue>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, kind, order_id, provider_session, amount, currency, created_at_ms, \
                 resolved_at_ms, resolved_by, resolution_note FROM payment_issues \
                 WHERE ($1 = FALSE OR resolved_at_ms IS NULL) ORDER BY id DESC LIMIT $2",
            )
            .bind(open_only)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<PaymentIssue> {
                    Ok(PaymentIssue {
                        id: r.try_get(0)?,
                        kind: r.try_get(1)?,
                        order_id: r.try_get(2)?,
                        provider_session: r.try_get(3)?,
                        amount: r.try_get(4)?,
                        currency: r.try_get(5)?,
                        created_at_ms: r.try_get(6)?,
                        resolved_at_ms: r.try_get(7)?,
                        resolved_by: r.try_get(8)?,
                        resolution_note: r.try_get(9)?,
                    })
                })
                .collect()
        })
    }

    /// Marks an open issue handled. False when there is no such open issue.
    pub async fn resolve_payment_issue(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE payment_issues SET resolved_at_ms = $1, resolved_by = $2, resolution_note = $3 \
                 WHERE id = $4 AND resolved_at_ms IS NULL",
            )
            .bind(now)
            .bind(by)
            .bind(note)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        }) == 1;
        tx.commit().await?;
        Ok(done)
    }
}
