//! The SQLite intake journal: the webhook's acknowledgement without the main writer.
//!
//! SQLite has one writer per file. With the inbox in the main file, a webhook's group
//! commit queued behind every sequencer, dispatcher and sweeper transaction, and SQLite's
//! busy handler made it sleep and retry while they took turns: the ack p99 reached
//! seconds in a storm. So on SQLite the webhook writes to a second file, the journal,
//! whose only writer is the inbox writer. The journal is append-only; a transfer moves its
//! rows into the main inbox in the main database's own transaction, together with the
//! journal position it has read up to (the consumer-offset pattern). A crash between the
//! two transfers the same rows again, and the inbox's uniqueness drops them.
//!
//! Postgres needs none of this: its writers do not exclude each other.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, SqlitePool};

use super::{insert_inbox_in, on_tx, InsertReport, NewInboxRow, Store, StoreResult, Tx, TxConn};

/// How long a moved row stays in the journal: a reader that took the position a moment
/// ago still finds every row after it (see [`Store::intake_backlog_after`]).
const PRUNE_AFTER_MS: i64 = 60_000;

/// Rows moved into the main inbox per transfer transaction.
const TRANSFER_ROWS: i64 = 2_000;

/// The journal file beside a main SQLite database.
#[derive(Clone, Debug)]
pub struct IntakeJournal {
    pool: SqlitePool,
    path: PathBuf,
}

// AUTOINCREMENT: a pruned journal must never hand out a position the inbox has passed.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS arrivals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    verb TEXT NOT NULL,
    comment_id TEXT,
    object_id TEXT,
    page_id TEXT,
    author_id TEXT,
    author_name TEXT,
    text TEXT,
    platform_time_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    raw TEXT NOT NULL,
    ignore_reason TEXT,
    received_at_ms INTEGER NOT NULL,
    UNIQUE (platform, external_id)
)";

impl IntakeJournal {
    /// Opens (creating) the journal for the main database file `main`.
    pub(super) async fn open(main: &Path) -> StoreResult<IntakeJournal> {
        let mut path = main.as_os_str().to_owned();
        path.push(".intake");
        let path = PathBuf::from(path);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // The same durability as the main file: committed rows survive a process crash.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        // One writer (the inbox writer) and one reader (the transfer) at a time.
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        sqlx::query(SCHEMA).execute(&pool).await?;
        Ok(IntakeJournal { pool, path })
    }

    /// A consistent copy of the journal at `target` (a new file), taken while it is in use.
    pub(super) async fn vacuum_into(&self, target: &Path) -> StoreResult<()> {
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    /// Appends rows in one transaction, skipping ones the journal still holds.
    async fn append(&self, groups: &[&[NewInboxRow]]) -> StoreResult<Vec<InsertReport>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Stamped under the lock: along the journal, arrival times never go down.
        let now = super::now_ms();
        let mut reports = Vec::with_capacity(groups.len());
        for rows in groups {
            let mut report = InsertReport::default();
            // 16 bound values a row; SQLite allows 32,766 per statement.
            for chunk in rows.chunks(1_000) {
                let mut query = QueryBuilder::new(
                    "INSERT INTO arrivals (platform, external_id, kind, verb, comment_id, object_id, \
                     page_id, author_id, author_name, text, platform_time_ms, source, raw, \
                     ignore_reason, received_at_ms) ",
                );
                query.push_values(chunk, |mut b, row| {
                    b.push_bind(&row.platform)
                        .push_bind(&row.external_id)
                        .push_bind(&row.kind)
                        .push_bind(&row.verb)
                        .push_bind(&row.comment_id)
                        .push_bind(&row.object_id)
                        .push_bind(&row.page_id)
                        .push_bind(&row.author_id)
                        .push_bind(&row.author_name)
                        .push_bind(&row.text)
                        .push_bind(row.platform_time_ms)
                        .push_bind(row.source)
                        .push_bind(&row.raw)
                        .push_bind(&row.ignore_reason)
                        .push_bind(now);
                });
                query.push(" ON CONFLICT (platform, external_id) DO NOTHING");
                let inserted = query.build().execute(&mut *tx).await?.rows_affected() as usize;
                report.inserted += inserted;
                report.duplicates += chunk.len() - inserted;
            }
            reports.push(report);
        }
        tx.commit().await?;
        Ok(reports)
    }

    /// Rows after `position`, oldest first, with the time each arrived.
    async fn after(&self, position: i64, limit: i64) -> StoreResult<Vec<(i64, i64, NewInboxRow)>> {
        let rows = sqlx::query(
            "SELECT seq, received_at_ms, platform, external_id, kind, verb, comment_id, object_id, \
             page_id, author_id, author_name, text, platform_time_ms, source, raw, ignore_reason \
             FROM arrivals WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(position)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let source: String = r.try_get(13)?;
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    NewInboxRow {
                        platform: r.try_get(2)?,
                        external_id: r.try_get(3)?,
                        kind: r.try_get(4)?,
                        verb: r.try_get(5)?,
                        comment_id: r.try_get(6)?,
                        object_id: r.try_get(7)?,
                        page_id: r.try_get(8)?,
                        author_id: r.try_get(9)?,
                        author_name: r.try_get(10)?,
                        text: r.try_get(11)?,
                        platform_time_ms: r.try_get(12)?,
                        source: if source == "backstop" {
                            "backstop"
                        } else {
                            "webhook"
                        },
                        raw: r.try_get(14)?,
                        ignore_reason: r.try_get(15)?,
                    },
                ))
            })
            .collect()
    }

    async fn count_after(&self, position: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM arrivals WHERE seq > $1")
                .bind(position)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Makes sure the next position is past `position`, for a journal file made anew
    /// beside a main database that had read an older one.
    async fn continue_after(&self, position: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let next: i64 = sqlx::query_scalar(
            "SELECT MAX(COALESCE((SELECT MAX(seq) FROM arrivals), 0), \
             COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'arrivals'), 0))",
        )
        .fetch_one(&mut *tx)
        .await?;
        if next < position {
            sqlx::query("DELETE FROM sqlite_sequence WHERE name = 'arrivals'")
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('arrivals', $1)")
                .bind(position)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets rows the main inbox has taken. Only the inbox writer calls it, between
    /// its group commits, so it never waits for the journal's lock.
    async fn prune(&self, up_to: i64) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM arrivals WHERE seq <= $1 AND received_at_ms < $2")
                .bind(up_to)
                .bind(super::now_ms() - PRUNE_AFTER_MS)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// What one transfer did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Journal rows read.
    pub moved: usize,
    /// Of those, rows the inbox already had (redeliveries older than the journal).
    pub duplicates: usize,
    /// The journal position now stored in the main database.
    pub position: i64,
    /// The transfer took as many rows as one may: more may be waiting.
    pub full: bool,
}

/// How far the inbox has read the journal (0 on Postgres, which has none).
pub(super) async fn position_in(tx: &mut Tx) -> StoreResult<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM intake_position")
            .fetch_one(&mut *conn)
            .await?
    }))
}

impl Store {
    /// The intake journal's file, where there is one.
    pub fn intake_journal_path(&self) -> Option<&Path> {
        self.intake.as_ref().map(IntakeJournal::path)
    }

    /// True when there is an intake journal to move rows from (SQLite on a file).
    pub fn has_intake_journal(&self) -> bool {
        self.intake.is_some()
    }

    /// Stores groups of webhook rows durably: in the intake journal where there is one,
    /// otherwise in the inbox in one transaction. One report per group.
    pub async fn write_intake(&self, groups: &[&[NewInboxRow]]) -> StoreResult<Vec<InsertReport>> {
        if let Some(journal) = self.intake.as_ref().filter(|_| self.journal_writes) {
            return journal.append(groups).await;
        }
        let now = super::now_ms();
        let mut tx = self.begin_write().await?;
        let mut reports = Vec::with_capacity(groups.len());
        for rows in groups {
            reports.push(insert_inbox_in(&mut tx, rows, now).await?);
        }
        tx.commit().await?;
        Ok(reports)
    }

    /// Moves up to one transfer's worth of journal rows into the inbox, with the new
    /// position, in one main-database transaction. Nothing to do without a journal.
    ///
    /// Only one task per process transfers (the inbox writer's), so the position read
    /// before the transaction is still the position inside it: the main write lock is
    /// taken only when there are rows to move.
    pub async fn transfer_intake(&self) -> StoreResult<Transfer> {
        let Some(journal) = &self.intake else {
            return Ok(Transfer::default());
        };
        let position = self.intake_position().await?;
        let read_at = super::now_ms();
        let rows = journal.after(position, TRANSFER_ROWS).await?;
        let Some(&(last, last_received, _)) = rows.last() else {
            // A full transfer that happened to take the journal's last rows left the
            // horizon just before their arrival: move it on, or they wait for the next
            // webhook. The inbox writer reads again at once only after a full transfer.
            let mut tx = self.begin_write().await?;
            let TxConn::Sqlite(conn) = tx.conn() else {
                unreachable!("the intake journal exists only beside SQLite");
            };
            sqlx::query("UPDATE intake_position SET horizon_ms = $1 WHERE horizon_ms < $1")
                .bind(read_at)
                .execute(&mut **conn)
                .await?;
            tx.commit().await?;
            return Ok(Transfer {
                position,
                ..Transfer::default()
            });
        };
        // The sequencer's reorder window must not pass an arrival time whose events may
        // still be in the journal. The journal has one writer that stamps rows inside its
        // transaction, so arrival times never go down along it. A transfer that read
        // everything holds every row that arrived before its read; one that left rows
        // behind may have left some that arrived at `last_received`. Every row moved
        // arrived before the read, so no moved row is ever held back by its own horizon.
        let horizon = if (rows.len() as i64) < TRANSFER_ROWS {
            read_at
        } else {
            last_received - 1
        };
        let mut transfer = Transfer {
            moved: rows.len(),
            duplicates: 0,
            position: last,
            full: rows.len() as i64 >= TRANSFER_ROWS,
        };
        let mut tx = self.begin_write().await?;
        // Rows keep the time they arrived: the reorder window counts from it.
        for group in rows.chunk_by(|a, b| a.1 == b.1) {
            let received = group[0].1;
            let group: Vec<NewInboxRow> = group.iter().map(|r| r.2.clone()).collect();
            transfer.duplicates += insert_inbox_in(&mut tx, &group, received).await?.duplicates;
        }
        let TxConn::Sqlite(conn) = tx.conn() else {
            unreachable!("the intake journal exists only beside SQLite");
        };
        sqlx::query(
            "INSERT INTO intake_position (id, position, horizon_ms) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET position = excluded.position, horizon_ms = excluded.horizon_ms",
        )
        .bind(last)
        .bind(horizon)
        .execute(&mut **conn)
        .await?;
        tx.commit().await?;
        Ok(transfer)
    }

    /// Journal rows not yet in the inbox: acknowledged, not yet seen by the sequencer.
    pub async fn intake_backlog(&self) -> StoreResult<i64> {
        if self.intake.is_none() {
            return Ok(0);
        }
        let position = self.intake_position().await?;
        self.intake_backlog_after(position).await
    }

    /// Journal rows after `position`, read from the main database a moment ago. Rows are
    /// pruned only a minute after they arrived, so none has gone since that read unless
    /// it waited more than a minute to move.
    pub(super) async fn intake_backlog_after(&self, position: i64) -> StoreResult<i64> {
        match &self.intake {
            Some(journal) => journal.count_after(position).await,
            None => Ok(0),
        }
    }

    async fn intake_position(&self) -> StoreResult<i64> {
        let mut tx = self.begin_read().await?;
        let position = position_in(&mut tx).await?;
        tx.commit().await?;
        Ok(position)
    }

    /// Run by the journal's writer before its first write: a journal file made anew
    /// (deleted by hand, say) continues after the position the inbox has read.
    pub async fn prepare_intake(&self) -> StoreResult<()> {
        match &self.intake {
            Some(journal) => journal.continue_after(self.intake_position().await?).await,
            None => Ok(()),
        }
    }

    /// Forgets journal rows up to `position` (already in the inbox) that arrived more
    /// than a minute ago.
    pub async fn prune_intake(&self, position: i64) -> StoreResult<u64> {
        match &self.intake {
            Some(journal) => journal.prune(position).await,
            None => Ok(0),
        }
    }
}
