//! `plusone bench …`: measurements run on this machine, reported as ratios against a
//! baseline run in the same process on the same database.

pub mod ledger;
