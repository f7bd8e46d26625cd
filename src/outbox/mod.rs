//! Replies that arrive: the dispatcher claims outbox rows, renders them, sends them through
//! the platform senders within each Page's budget, and records what the platform said.

mod dispatcher;
pub mod errors;
pub mod limits;
pub mod senders;
pub mod templates;

pub use dispatcher::{backoff_ms, BatchReport, DispatchOutcome, Dispatcher};
pub use senders::ReplyKind;
pub use templates::Lang;
