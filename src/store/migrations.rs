//! Migrations compiled into the binary, one list per backend.
//!
//! They are append-only: a shipped file is never edited; a change is a new file.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

type Source = (i64, &'static str, &'static str);

/// One list of files per backend, named once so the two lists cannot drift apart.
macro_rules! sources {
    ($backend:literal) => {
        &[
            (
                1,
                "foundation",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0001_foundation.sql"
                )),
            ),
            (
                2,
                "ledger",
                include_str!(concat!("../../migrations/", $backend, "/0002_ledger.sql")),
            ),
            (
                3,
                "pipeline",
                include_str!(concat!("../../migrations/", $backend, "/0003_pipeline.sql")),
            ),
            (
                4,
                "outbox_dispatch",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0004_outbox_dispatch.sql"
                )),
            ),
            (
                5,
                "members",
                include_str!(concat!("../../migrations/", $backend, "/0005_members.sql")),
            ),
            (
                6,
                "checkout",
                include_str!(concat!("../../migrations/", $backend, "/0006_checkout.sql")),
            ),
            (
                7,
                "templates",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0007_templates.sql"
                )),
            ),
            (
                8,
                "watermark_index",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0008_watermark_index.sql"
                )),
            ),
            (
                9,
                "accounts",
                include_str!(concat!("../../migrations/", $backend, "/0009_accounts.sql")),
            ),
            (
                10,
                "sandbox",
                include_str!(concat!("../../migrations/", $backend, "/0010_sandbox.sql")),
            ),
            (
                11,
                "intake_position",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0011_intake_position.sql"
                )),
            ),
            (
                12,
                "review_queue_index",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0012_review_queue_index.sql"
                )),
            ),
        ]
    };
}

const SQLITE: &[Source] = sources!("sqlite");
const POSTGRES: &[Source] = sources!("postgres");

fn migrator(sources: &'static [Source]) -> Migrator {
    let migrations = sources
        .iter()
        .map(|(version, name, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*name),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect();
    // sqlx 0.8 has no `Migrator::with_migrations`; this is what its `Migrator::new` and
    // `migrate!()` build. (sqlx 0.9 has the constructor; see README,
    // "sqlx 0.8.6 and TCP_NODELAY".)
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

pub fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub fn postgres() -> Migrator {
    migrator(POSTGRES)
}

/// The version a fully migrated database of either backend reports.
pub fn latest_version() -> i64 {
    debug_assert_eq!(SQLITE.last().map(|m| m.0), POSTGRES.last().map(|m| m.0));
    SQLITE.last().map(|m| m.0).unwrap_or(0)
}
