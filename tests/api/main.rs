//! The one integration test binary. Every module runs on SQLite by default and on
//! Postgres when `PLUSONE_TEST_DATABASE` is set.

mod auth;
mod board;
mod browser;
mod checkout;
mod cli;
mod console;
mod console_browser;
mod console_lives;
mod console_review;
mod crash;
mod fake_graph;
mod fake_provider;
mod fake_telegram;
mod health;
mod helpers;
mod intake;
mod ledger;
mod ledger_core;
mod ledger_engine;
mod ledger_storm;
mod lives_browser;
mod loadgen_smoke;
mod members;
mod outbox_store;
mod parse;
mod pg_tcp;
mod pipeline;
mod pipeline_storm;
mod replies;
mod reply_flows;
mod reply_templates;
mod sandbox;
mod sequencer_isolation;
mod store_conformance;
