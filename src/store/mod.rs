//! The only place SQL lives.
//!
//! One `Store` type fronts two backends, chosen by the URL scheme: SQLite (the embedded
//! default; one process, WAL) and Postgres (several replicas). Both accept `$1`-style
//! placeholders, `ON CONFLICT` and `RETURNING`, so most statements are written once and
//! run on either pool through [`on_pool!`]; where the dialects differ, the method matches
//! on the backend and says why. The conformance tests run every method on both.

/// `column IN (the ids of a JSON array parameter)`, spelled per backend: one statement
/// text for any number of ids (see [`id_list`]).
macro_rules! in_ids {
    (pg: $col:literal, $p:literal) => {
        concat!(
            $col,
            " IN (SELECT CAST(jsonb_array_elements_text(CAST($",
            $p,
            " AS jsonb)) AS BIGINT))"
        )
    };
    (lite: $col:literal, $p:literal) => {
        concat!($col, " IN (SELECT value FROM json_each($", $p, "))")
    };
}

/// One statement spelled for the transaction's backend: string literals as they are,
/// `[ids "column" 1]` as `column IN (the ids of JSON parameter $1)`, and
/// `[pg "text"]` only on Postgres (row locks; SQLite has one writer).
macro_rules! sql_for {
    ($tx:expr, $($part:tt),+ $(,)?) => {
        if $tx.is_postgres() {
            concat!($(sql_for!(@pg $part)),+)
        } else {
            concat!($(sql_for!(@lite $part)),+)
        }
    };
    (@pg [ids $col:literal $p:literal]) => { in_ids!(pg: $col, $p) };
    (@lite [ids $col:literal $p:literal]) => { in_ids!(lite: $col, $p) };
    (@pg [pg $s:literal]) => { $s };
    (@lite [pg $s:literal]) => { "" };
    (@pg $s:literal) => { $s };
    (@lite $s:literal) => { $s };
}

mod accounts;
mod audit;
mod backup;
mod baseline;
mod board;
mod catalog;
mod catalog_import;
mod checkout;
pub mod connect;
pub(crate) mod error;
mod inbox;
mod intake;
mod ledger;
mod lives;
mod member_desk;
mod members;
mod migrations;
mod order_desk;
mod outbox;
mod payments;
mod points;
mod privacy;
mod proofs;
mod replies;
mod report;
mod review_pages;
mod sales;
mod sandbox;
mod shop_options;
mod stock;
mod synonyms;
mod telegram;
mod telegram_staff;
mod tokens;
mod tx;

pub use accounts::{FirstOwner, SessionRecord, SetupState, User};
pub use baseline::{BaselineAsk, BaselineComment, RowTimes};
pub use board::{
    Board, BoardKeyword, BoardSku, BoardTotals, MinuteCount, TickerItem, BOARD_QUERIES, TICKER_LEN,
};
pub use catalog::{NewProduct, NewSku, Product, ProductPatch, SkuStock};
pub use catalog_import::{
    ImportApplied, ImportProduct, ImportSku, ImportWrite, MovementRow, StockTarget,
};
pub use checkout::{
    mark_order_paid_in, open_cart_in, order_number, CartLine, CheckoutRef, Confirmed, NewOrder,
    OrderChange, OrderFilter, OrderLineView, OrderView, PaidOrder,
};
pub use error::{StoreError, StoreResult};
pub use inbox::{
    finish_event_in, finish_events_in, insert_inbox_in, insert_outbox_in,
    members_for_identities_in, next_batch_in, original_of_in, resolve_review_in, review_event_in,
    EventOutcome, EventView, Identity, InsertReport, NewInboxRow, NewOutboxRow, OutboxView,
    PendingEvent,
};
pub use intake::{IntakeJournal, Transfer};
pub use ledger::run_ledger_in;
pub use lives::{
    fence_live_lease_in, Binding, LineupEntry, Live, LivePatch, LiveState, NewLive, PageView,
    Rotation,
};
pub use member_desk::{MemberHold, MergePreview};
pub use members::{
    claim_contact_in, member_in, merge_members_in, resolve_member_in, restricted_members_in,
    ContactField, Member, MemberChange, MemberFilter, MemberFlag, MemberIdentity, MemberPatch,
    MergeError, MergeReason, MergeRecord, MergeSuggestion,
};
pub use order_desk::{
    change_order_line_in, fulfil_order_in, record_paid_in, ChangedOrder, FulfilledOrder,
    LineChange, OrderComment, OrderHistoryEntry, ReceiptInfo,
};
pub use outbox::{
    ClaimedReply, QueueStats, Redrive, ReplyFilter, ReplyRecord, ReplyView, RetryLimits,
};
pub use payments::{NewPaymentIssue, PaymentIssue, PaymentSession};
pub use points::{
    add_points_in, move_points_in, points_balance_in, spend_points_in, Adjusted, PointKind,
    PointMove, PointMovement, Spend,
};
pub use privacy::{
    erase_member_in, DataDeletion, Erasure, ExportComment, ExportHold, MemberExport, PointsEntry,
    PointsHistory, META_PLATFORMS,
};
pub use proofs::{
    check_proof_in, latest_live_of_in, start_proof_in, ProofCheck, ProofOffer, ProofStart,
    WaitingCode, PROOF_TRIES,
};
pub use replies::{
    carts_with_checkout_in, insert_planned_in, latest_event_in, open_window_in, open_windows_in,
    unused_comment_in, CartHold, HoldGroup, OpenWindow, PlannedReply, Promotion, TemplateRow,
    UnusedComment,
};
pub use report::{HeldValue, LiveFigures, OrderGroup, ProductFigures, TOP_PRODUCTS};
pub use review_pages::HoldLine;
pub use sales::{
    sale_number, CounterItem, CounterMember, NewSale, SaleAnswer, SaleChange, SaleLineView,
    SalePayment, SaleRefusal, SaleView,
};
pub use sandbox::{ChangeFingerprint, NewSandboxReply, SandboxReply, SandboxReset, SANDBOX};
pub use shop_options::{SavedShopCheckout, ShopCheckout, ShopPaymentMethod};
pub use stock::{
    commit_holds_in, move_hold_in, release_holds_in, reserve_batch_in, return_units_in,
    AdjustResult, HoldChange, HoldRef, HoldView, IdempotencyKey, Idempotent, ReserveOutcome,
    StockLevel, WaitRef,
};
pub use synonyms::SynonymRow;
pub use telegram::{
    link_telegram_user_in, record_start_in, start_code_in, started_telegram_user_in,
    telegram_buyer_in, use_start_code_in, StartCode, StartedUser, TelegramBuyer,
};
pub use telegram_staff::{link_staff_in, low_skus_in};
pub use tokens::{TokenRecord, TokenRole, LAST_USED_EVERY_MS};
pub(crate) use tx::on_tx;
pub use tx::{Tx, TxConn};

use sqlx::{PgPool, SqlitePool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// On SQLite on a file: where webhooks are acknowledged (see `intake`).
    intake: Option<IntakeJournal>,
    /// Whether webhooks are written to `intake` (else straight into the inbox).
    journal_writes: bool,
    /// SQLite: this process's write transactions take turns here (see `begin_write`).
    write_turns: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// Seals and opens the secrets the store keeps (Page tokens); see `secrets`.
    keyring: Option<std::sync::Arc<crate::secrets::Keyring>>,
}

/// Runs the same statement code on whichever pool the store holds.
///
/// The body is type-checked once per backend, so a statement must be valid for both.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(pool) => migrations::sqlite().run(pool).await?,
            Backend::Postgres(pool) => migrations::postgres().run(pool).await?,
        }
        Ok(())
    }

    /// True when the database answers and every migration this binary knows is applied.
    pub async fn is_ready(&self) -> StoreResult<bool> {
        let applied: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
        })
        .or_else(|err| match err {
            // No migrations table yet: reachable, but not migrated.
            sqlx::Error::Database(_) => Ok(None),
            other => Err(other),
        })?;
        Ok(applied == Some(migrations::latest_version()))
    }

    /// Seals and opens stored secrets with `keyring` from now on.
    pub fn with_keyring(mut self, keyring: std::sync::Arc<crate::secrets::Keyring>) -> Store {
        self.keyring = Some(keyring);
        self
    }

    /// The keyring the store seals with, if it was given one.
    pub fn keyring(&self) -> Option<&crate::secrets::Keyring> {
        self.keyring.as_deref()
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
        if let Some(journal) = &self.intake {
            journal.close().await;
        }
    }
}

/// A JSON array of ids, the one list parameter both backends read (see `in_ids!`).
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    let ids: Vec<i64> = ids.into_iter().collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
