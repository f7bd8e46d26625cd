//! The audit log's rows.

use sqlx::Row;

use super::{on_pool, on_tx, Store, StoreResult};
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::roles::Role;

impl Store {
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO audit_log (at_ms, actor, role, user_id, action, target, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(entry.at_ms)
            .bind(&entry.actor)
            .bind(entry.role.as_str())
            .bind(entry.user_id)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(i32::from(entry.status))
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await
    }

    /// The newest entries first, older than `before` (an entry id) when given.
    pub async fn audit_entries(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, at_ms, actor, role, user_id, action, target, status FROM audit_log \
                 WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
            )
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| -> StoreResult<AuditEntry> {
                    let role: String = r.try_get(3)?;
                    let status: i32 = r.try_get(7)?;
                    Ok(AuditEntry {
                        id: r.try_get(0)?,
                        at_ms: r.try_get(1)?,
                        actor: r.try_get(2)?,
                        role: Role::parse(&role).unwrap_or(Role::Host),
                        user_id: r.try_get(4)?,
                        action: r.try_get(5)?,
                        target: r.try_get(6)?,
                        status: u16::try_from(status).unwrap_or(0),
                    })
                })
                .collect()
        })
    }
}
