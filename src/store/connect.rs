//! Opening a store from a URL, creating the database when it is missing.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Postgres;

use super::{Backend, IntakeJournal, Store, StoreResult};

/// How long a caller waits for a pooled connection before the store reports itself
/// unavailable. Short, so that webhooks answer 503 quickly while the database is away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl Store {
    /// Connects to `url` (`sqlite:` or `postgres:`), creating the SQLite file and folder
    /// or the Postgres database when missing. It does not migrate.
    ///
    /// A SQLite file gets its intake journal beside it (`<file>.intake`), where webhooks
    /// are acknowledged; [`Store::without_intake_journal`] turns that off.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Store> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, max_connections).await
        } else {
            Self::connect_postgres(url, max_connections).await
        }
    }

    async fn connect_sqlite(url: &str, max_connections: u32) -> StoreResult<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL keeps committed data safe across a process crash with NORMAL; only a
            // power loss can drop the last transactions, which FULL would cost us per commit.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = Path::new(options.get_filename()).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
            }
        }
        let in_memory =
            options.get_filename().as_os_str() == ":memory:" || url.contains("mode=memory");
        let intake = if in_memory {
            None
        } else {
            Some(IntakeJournal::open(options.get_filename()).await?)
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Store {
            backend: Backend::Sqlite(pool),
            journal_writes: intake.is_some(),
            intake,
            write_turns: Some(std::sync::Arc::new(tokio::sync::Mutex::new(()))),
            keyring: None,
        })
    }

    async fn connect_postgres(url: &str, max_connections: u32) -> StoreResult<Store> {
        if !Postgres::database_exists(url).await? {
            if let Err(err) = Postgres::create_database(url).await {
                // Another replica may have created it between the check and the create.
                if !Postgres::database_exists(url).await? {
                    return Err(err.into());
                }
            }
        }
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Store {
            backend: Backend::Postgres(pool),
            intake: None,
            journal_writes: false,
            write_turns: None,
            keyring: None,
        })
    }
}

impl Store {
    /// Webhooks go straight into the inbox, sharing the main writer (the design before
    /// the journal; `database.sqlite_intake_journal = false`). Rows the journal already
    /// holds are still moved into the inbox by [`Store::transfer_intake`].
    pub fn without_intake_journal(mut self) -> Store {
        self.journal_writes = false;
        self
    }
}

/// The same server URL naming another database, keeping any `?host=…` options.
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn the_database_name_is_swapped_and_options_kept() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database_name(
                "postgres:///postgres?host=/var/run/postgresql&user=postgres",
                "x"
            ),
            "postgres:///x?host=/var/run/postgresql&user=postgres"
        );
    }
}
