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
            (
                13,
                "merge_suggestions",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0013_merge_suggestions.sql"
                )),
            ),
            (
                14,
                "token_lifecycle",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0014_token_lifecycle.sql"
                )),
            ),
            (
                16,
                "reply_redrive",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0016_reply_redrive.sql"
                )),
            ),
            (
                17,
                "live_paused",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0017_live_paused.sql"
                )),
            ),
            (
                18,
                "audit",
                include_str!(concat!("../../migrations/", $backend, "/0018_audit.sql")),
            ),
            (
                19,
                "payments",
                include_str!(concat!("../../migrations/", $backend, "/0019_payments.sql")),
            ),
            (
                21,
                "privacy",
                include_str!(concat!("../../migrations/", $backend, "/0021_privacy.sql")),
            ),
            (
                22,
                "product_aliases",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0022_product_aliases.sql"
                )),
            ),
            (
                23,
                "points_and_sales",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0023_points_and_sales.sql"
                )),
            ),
            (
                24,
                "order_desk",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0024_order_desk.sql"
                )),
            ),
            (
                26,
                "shop_synonyms",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0026_shop_synonyms.sql"
                )),
            ),
            (
                29,
                "page_budgets",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0029_page_budgets.sql"
                )),
            ),
            (
                30,
                "order_news_in_order",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0030_order_news_in_order.sql"
                )),
            ),
            (
                31,
                "identity_proofs",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0031_identity_proofs.sql"
                )),
            ),
            (
                32,
                "shop_checkout",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0032_shop_checkout.sql"
                )),
            ),
            (
                33,
                "telegram_polling",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0033_telegram_polling.sql"
                )),
            ),
            (
                34,
                "telegram_buyers",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0034_telegram_buyers.sql"
                )),
            ),
            (
                35,
                "telegram_staff",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0035_telegram_staff.sql"
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
