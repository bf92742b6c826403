//! fastasyncpg's integration tests: one binary (links once), one throwaway PostgreSQL server per
//! run, a fresh database per test.

mod common;
mod core;
mod models;
mod types;
