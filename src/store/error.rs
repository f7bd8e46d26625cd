use thiserror::Error;

/// What went wrong in the store, sorted by what a caller can do about it.
#[derive(Debug, Error)]
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
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                StoreError::Conflict {
                    constraint: db.constraint().unwrap_or("unique").to_string(),
                    source: err,
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err)
            }
            _ => StoreError::Database(err),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
