//! The one integration test binary. Every module runs on SQLite by default and on
//! Postgres when `PLUSONE_TEST_DATABASE` is set.

mod auth;
mod cli;
mod health;
mod helpers;
mod store_conformance;
