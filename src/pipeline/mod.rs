//! From the inbox to outcomes: the sequencer and what it needs.

pub mod backstop;
pub mod catalog;
pub mod config;
pub mod decide;
pub mod inbox_writer;
pub mod intake;
pub mod orders;
pub mod review;
pub mod sequencer;
pub mod telegram_poll;

pub use backstop::Backstop;
pub use config::PipelineConfig;
pub use inbox_writer::InboxWriter;
pub use sequencer::{BatchReport, Sequencer};

pub use crate::vocab::OutcomeKind;

/// Every outcome an event can end with, as stored and served.
pub const OUTCOMES: &[&str] = &[
    OutcomeKind::Reserved.as_str(),
    OutcomeKind::Waitlisted.as_str(),
    OutcomeKind::Rejected.as_str(),
    OutcomeKind::NeedsReview.as_str(),
    OutcomeKind::QuestionAnswered.as_str(),
    OutcomeKind::Cancelled.as_str(),
    OutcomeKind::Ignored.as_str(),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_list_is_every_outcome_kind() {
        let kinds: Vec<&str> = OutcomeKind::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(OUTCOMES, kinds.as_slice());
    }
}
