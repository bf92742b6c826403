//! fastasyncpg's integration tests: one binary (links once), one throwaway PostgreSQL server per
//! run, a fresh database per test.

mod codegen;
mod common;
mod core;
mod generated;
mod models;
mod types;
