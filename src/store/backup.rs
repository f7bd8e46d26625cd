//! Online backups of the SQLite files: `VACUUM INTO` writes a consistent copy while the
//! service keeps reading and writing.

use std::path::{Path, PathBuf};

use super::{Backend, Store, StoreError, StoreResult};

impl Store {
    /// Copies every SQLite file this store uses into `dir`, under the same file names:
    /// the intake journal first, then the main file. In that order nothing acknowledged
    /// before the journal's copy is missing from the pair: a row moved into the main
    /// file after the journal's copy is in the main copy, and rows the main copy lacks
    /// are still in the journal's and move on the next start.
    ///
    /// Postgres has its own tools (`pg_dump`); this refuses it. Files already in `dir`
    /// are not overwritten.
    pub async fn backup_sqlite_into(&self, dir: &Path) -> StoreResult<Vec<PathBuf>> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Err(StoreError::Invariant(
                "backups of a Postgres database are made with pg_dump".into(),
            ));
        };
        let main: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(pool)
                .await?;
        if main.is_empty() {
            return Err(StoreError::Invariant(
                "an in-memory database has no file to back up".into(),
            ));
        }
        let mut written = Vec::new();
        if let Some(journal) = &self.intake {
            let target = target_in(dir, journal.path())?;
            journal.vacuum_into(&target).await?;
            written.push(target);
        }
        let target = target_in(dir, Path::new(&main))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string_lossy().into_owned())
            .execute(pool)
            .await?;
        written.push(target);
        Ok(written)
    }
}

/// `dir/<file name of source>`, refused when it exists already.
fn target_in(dir: &Path, source: &Path) -> StoreResult<PathBuf> {
    let name = source
        .file_name()
        .ok_or_else(|| StoreError::Invariant(format!("`{}` names no file", source.display())))?;
    let target = dir.join(name);
    if target.exists() {
        return Err(StoreError::Invariant(format!(
            "`{}` exists already; back up into an empty folder",
            target.display()
        )));
    }
    Ok(target)
}
