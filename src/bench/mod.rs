//! `plusone bench …`: measurements run on this machine, reported as ratios against a
//! baseline run in the same process on the same database.

pub mod baseline;
pub mod board;
pub mod chart;
pub mod ledger;
pub mod pipeline;
