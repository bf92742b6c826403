//! fastasyncpg's integration tests: one binary (links once), one throwaway PostgreSQL server per
//! run, a fresh database per test.

mod asyncpg_calls;
mod codegen;
mod common;
mod connect_hosts;
mod connect_tls;
mod copy;
mod core;
mod generated;
mod models;
mod pgbouncer;
mod pool_faults;
mod pool_reset;
mod replicas;
mod schema_view;
mod statements;
mod tables;
mod tables_bench;
mod tables_bulk;
mod tables_ddl;
mod tables_queue;
mod tables_schema;
mod tables_scope;
mod trace_spans;
mod types;
