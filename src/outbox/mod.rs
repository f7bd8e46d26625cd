//! Replies that arrive: the dispatcher claims outbox rows, renders them, sends them through
//! the platform senders within each Page's budget, and records what the platform said.

pub mod budgets;
mod checkout_link;
pub mod config;
mod dispatcher;
pub mod errors;
pub mod facts;
pub mod limits;
pub mod plan;
pub mod reminders;
pub mod senders;
pub mod telegram;
pub mod telegram_staff;
pub mod telegram_start;
pub mod templates;

/// Kept for code not yet moved to [`crate::i18n::Lang`].
#[doc(hidden)]
pub use crate::i18n::Lang;
pub use checkout_link::checkout_url;
pub use config::OutboxConfig;
pub use dispatcher::{backoff_ms, BatchReport, DispatchConfig, DispatchOutcome, Dispatcher};
pub use facts::{FactItem, NewReply, ReplyBody, ReplyFacts};
pub use plan::{
    enqueue_order_changed_in, enqueue_order_fulfilled_in, enqueue_order_paid_in, insert_replies_in,
};
pub use senders::ReplyKind;
