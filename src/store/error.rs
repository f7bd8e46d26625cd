use thiserror::Error;

/// What went wrong in the store, sorted by what a caller can do about it.
///
/// Its `Debug` (what logs print with `?err`) is the chain of messages only: a Postgres
/// error's DETAIL line can quote the row's values (`Key (phone)=(…) already exists`),
/// and phones and addresses stay out of logs.
#[derive(Error)]
pub enum StoreError {
    /// A unique or foreign-key constraint refused the write.
    #[error("constraint `{constraint}` refused the write")]
    Conflict {
        constraint: String,
        #[source]
        source: sqlx::Error,
    },
    /// The database could not be reached in time; the caller may retry later.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// A rule the store enforces was about to break; the transaction was abandoned.
    #[error("ledger invariant: {0}")]
    Invariant(String),
    /// Another transaction got there first (a deadlock, a serialization failure, or a
    /// hold that left `active` between the read and the write). Nothing was written;
    /// running the whole transaction again is safe.
    #[error("lost a race with another transaction: {0}")]
    Contention(String),
    /// A stored secret could not be sealed or opened (a missing or wrong key).
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretsError),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                let fallback = if db.is_foreign_key_violation() {
                    "foreign key"
                } else {
                    "unique"
                };
                StoreError::Conflict {
                    constraint: db.constraint().unwrap_or(fallback).to_string(),
                    source: err,
                }
            }
            // Postgres: deadlock_detected, serialization_failure.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("40P01" | "40001")) =>
            {
                StoreError::Contention(db.message().to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err)
            }
            _ => StoreError::Database(err),
        }
    }
}

impl std::fmt::Debug for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variant = match self {
            StoreError::Conflict { .. } => "Conflict",
            StoreError::Unavailable(_) => "Unavailable",
            StoreError::Database(_) => "Database",
            StoreError::Invariant(_) => "Invariant",
            StoreError::Contention(_) => "Contention",
            StoreError::Migrate(_) => "Migrate",
            StoreError::Secret(_) => "Secret",
        };
        write!(f, "{variant}: {self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            // The message, never the database's DETAIL or WHERE lines.
            match cause.downcast_ref::<sqlx::Error>() {
                Some(sqlx::Error::Database(db)) => write!(
                    f,
                    ": {} (code {})",
                    db.message(),
                    db.code().unwrap_or_default()
                )?,
                _ => write!(f, ": {cause}")?,
            }
            source = cause.source();
        }
        Ok(())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A foreign key refused the write: a row still in use, or one that points at
    /// something missing (as opposed to a duplicate).
    pub fn is_reference_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { source: sqlx::Error::Database(db), .. }
            if db.is_foreign_key_violation())
    }

    pub fn is_contention(&self) -> bool {
        matches!(self, StoreError::Contention(_))
    }
}

/// Runs a whole transaction again when it lost a race (see [`StoreError::Contention`]),
/// a few times with a short random pause, so callers see an answer instead of a 500.
/// The body is an expression such as `async { … }.await` that begins and commits its own
/// transaction.
macro_rules! retry_contention {
    ($attempt:expr) => {{
        let mut tries = 0u32;
        loop {
            let attempt: $crate::store::StoreResult<_> = $attempt;
            match attempt {
                Err(err) if err.is_contention() && tries < $crate::store::error::RETRIES => {
                    tries += 1;
                    $crate::store::error::contention_pause(&err, tries).await;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use retry_contention;

pub(crate) const RETRIES: u32 = 8;

pub(crate) async fn contention_pause(err: &StoreError, tries: u32) {
    tracing::debug!(error = %err, tries, "transaction lost a race; running it again");
    let pause = rand::random::<u64>() % (2u64 << tries.min(6));
    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
}
