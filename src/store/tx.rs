//! Write transactions that several store operations share.
//!
//! The pipeline puts parsing outcomes, ledger changes and outbox rows in one transaction,
//! so ledger operations take a `&mut Tx` rather than opening their own.

use sqlx::{Postgres, Sqlite, Transaction};

use std::sync::Arc;
use std::time::Duration;

use super::{Backend, Store, StoreError, StoreResult};

/// As long as SQLite's busy timeout (`store::connect`).
const WRITE_TURN_WAIT: Duration = Duration::from_secs(10);

/// A write (or read) transaction, with a count of the statement blocks run in it so a
/// test or a metric can see whether a batch's cost grows with its size.
pub struct Tx {
    conn: TxConn,
    statements: u32,
    /// On SQLite, this process's turn at the file's one writer (after `conn`, so it is
    /// released after the transaction ends).
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

pub enum TxConn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same statement code on the transaction's connection, whichever backend.
/// Each use counts as one statement: keep one statement per block.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx.conn() {
            $crate::store::TxConn::Sqlite(t) => {
                let $conn: &mut sqlx::SqliteConnection = &mut **t;
                $body
            }
            $crate::store::TxConn::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Tx {
    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, TxConn::Postgres(_))
    }

    /// The connection, for one statement (counted).
    pub(crate) fn conn(&mut self) -> &mut TxConn {
        self.statements += 1;
        &mut self.conn
    }

    /// How many statements ran in this transaction so far.
    pub fn statements(&self) -> u32 {
        self.statements
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self.conn {
            TxConn::Sqlite(t) => t.commit().await?,
            TxConn::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Gives the transaction up now (dropping it does too, on the pool's next use).
    pub async fn rollback(self) -> StoreResult<()> {
        match self.conn {
            TxConn::Sqlite(t) => t.rollback().await?,
            TxConn::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

impl From<TxConn> for Tx {
    fn from(conn: TxConn) -> Tx {
        Tx {
            conn,
            statements: 0,
            turn: None,
        }
    }
}

impl Store {
    /// Opens a transaction that only reads, so several statements see one snapshot
    /// (on SQLite a deferred transaction, which takes no write lock).
    pub async fn begin_read(&self) -> StoreResult<Tx> {
        Ok(match &self.backend {
            Backend::Sqlite(pool) => TxConn::Sqlite(pool.begin().await?).into(),
            Backend::Postgres(pool) => TxConn::Postgres(pool.begin().await?).into(),
        })
    }

    /// Opens a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write inside it cannot be refused half-way.
    ///
    /// On SQLite the process's writers also take turns in arrival order (a fair async
    /// lock) before asking SQLite: SQLite's own busy handler sleeps and retries, so a
    /// writer that commits and begins again at once kept the lock while others slept, and
    /// one live's storm starved another live's comments. Waiting longer than SQLite's
    /// busy timeout is a lost race, as SQLite's own "database is locked" would be.
    pub async fn begin_write(&self) -> StoreResult<Tx> {
        Ok(match &self.backend {
            Backend::Sqlite(pool) => {
                let turn = match &self.write_turns {
                    Some(turns) => Some(
                        tokio::time::timeout(WRITE_TURN_WAIT, Arc::clone(turns).lock_owned())
                            .await
                            .map_err(|_| {
                                StoreError::Contention("waited too long for the writer".into())
                            })?,
                    ),
                    None => None,
                };
                let mut tx: Tx = TxConn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?).into();
                tx.turn = turn;
                tx
            }
            Backend::Postgres(pool) => TxConn::Postgres(pool.begin().await?).into(),
        })
    }
}
