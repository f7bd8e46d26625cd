//! plusone: takes orders from live-stream comments and reserves them in one stock ledger
//! that the shop's POS and web shop share. See the README for where each room lives.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod board;
pub mod catalogue_import;
pub mod checkout;
pub mod cli;
pub mod config;
pub mod console;
pub mod http;
pub mod i18n;
pub mod ingest;
pub mod ledger;
pub mod loadgen;
pub mod members;
pub mod metrics;
pub mod outbox;
pub mod parse;
pub mod parse_cli;
pub mod pipeline;
pub mod report;
pub mod roles;
pub mod sandbox;
pub mod secrets;
pub mod settings;
pub mod startup;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod vocab;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod module_graph_tests;
