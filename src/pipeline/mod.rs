//! From the inbox to outcomes: the sequencer and what it needs.

pub mod backstop;
pub mod catalog;
pub mod decide;
pub mod inbox_writer;
pub mod intake;
pub mod orders;
pub mod review;
pub mod sequencer;

pub use backstop::Backstop;
pub use inbox_writer::InboxWriter;
pub use sequencer::{BatchReport, Sequencer};

/// Every outcome an event can end with.
pub const OUTCOMES: &[&str] = &[
    "reserved",
    "waitlisted",
    "rejected",
    "needs_review",
    "question_answered",
    "cancelled",
    "ignored",
];
