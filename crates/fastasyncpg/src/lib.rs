//! # fastasyncpg
//!
//! PostgreSQL as easy as a notebook, at the speed of the raw driver.
//!
//! Connect, and every table of the live schema is a ready handle; rows come back readable by
//! name or as typed structs.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> fastasyncpg::Result<()> {
//! # let url = fastasyncpg_testing::chinook_db().await; // a throwaway copy of Chinook
//! use fastasyncpg::{args, connect};
//!
//! let db = connect(&url).await?; // or connect("") for DATABASE_URL / PG* variables
//! let n: i64 = db.fetchval("SELECT count(*) FROM artist", ()).await?;
//! assert_eq!(n, 275);
//!
//! // `$n`, `?` and `:name` placeholders, mixed as you like.
//! let acdc = db.q("SELECT * FROM artist WHERE name = ?", args!["AC/DC"]).await?;
//! println!("{acdc}"); // an aligned text table
//! let title: String = db
//!     .fetchrow("SELECT title FROM album WHERE album_id = :id", args![; id = 1])
//!     .await?
//!     .expect("album 1")
//!     .get("title")?;
//! assert_eq!(title, "For Those About To Rock We Salute You");
//! # Ok(()) }
//! ```
//!
//! Tables are handles: `db.t("artist")?.at(1).await?`, `.rows_where(..)`, `.insert(record!{..})`,
//! scoped with `.xtra(..)` (see [`Table`]); typed models derive [`Model`] (see [`model`]); the
//! README has the full tour and a table from fastasyncpg / asyncpg names to these.
//!
//! ## Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `derive` | yes | `#[derive(FromRow, Model, PgEnum, PgComposite)]` |
//! | `rust_decimal` | no | conversions between [`value::Numeric`] and `rust_decimal::Decimal` |
//!
//! Dates and times use `chrono`, UUIDs `uuid`, JSON `serde_json` (re-exported in [`types`]).
//! TLS is built in (rustls) and on by default with libpq's `sslmode` semantics (see [`tls`]);
//! host lists with `target_session_attrs` pick a primary or a standby (see
//! [`ConnectOptions::target_session_attrs`]).
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod args;
pub mod audit;
mod calls;
pub mod codegen;
mod config;
mod conn;
mod connect;
pub mod copy;
pub mod cursor;
mod database;
mod ddl;
pub mod error;
pub mod model;
mod pool;
mod reset;
mod results;
mod row;
pub mod schema;
pub mod sql;
mod statement;
mod table;
pub mod tls;
mod trace;
mod transaction;
pub mod value;

pub use args::{Args, IntoArgs};
pub use audit::{AuditEvent, AuditHook, AuditKind};
pub use config::{ConnectOptions, PoolOptions, StatementCacheMode};
pub use conn::Notification;
pub use connect::{LoadBalanceHosts, TargetSessionAttrs};
pub use copy::{CopyFormat, CopyOptions, ForceQuote, IntoCopyRow};
pub use cursor::{Cursor, RowStream};
pub use database::{connect, create_pool, Database};
pub use ddl::{ColumnDef, CreateOptions, ForeignKeyDef, TableSchema};
pub use error::{Error, ErrorKind, Result};
pub use model::{FromRow, Model, ModelTable, Tracked};
pub use reset::ResetPolicy;
pub use statement::{Parameter, PreparedStatement};
pub use tls::{RootCert, SslMode};

/// `#[derive(FromRow)]`: see the [`FromRow`](trait@FromRow) trait.
#[cfg(feature = "derive")]
pub use fastasyncpg_derive::FromRow;
/// `#[derive(Model)]`: see the [`Model`](trait@Model) trait.
#[cfg(feature = "derive")]
pub use fastasyncpg_derive::Model;
/// `#[derive(PgComposite)]`: a Rust struct for a PostgreSQL composite type.
///
/// `#[fastasyncpg(type_name = "address")]` (and optionally `schema = "..."`) names the type;
/// each field is an attribute, read by name (`#[fastasyncpg(rename = "...")]` when they
/// differ). The struct gets `FromValue`, `Into<Value>` and [`model::SqlType`].
#[cfg(feature = "derive")]
pub use fastasyncpg_derive::PgComposite;
/// `#[derive(PgEnum)]`: a Rust enum for a PostgreSQL enum type.
///
/// `#[fastasyncpg(type_name = "mood")]` (and optionally `schema = "..."`) on the enum names
/// the type; each unit variant is a label, spelled as the variant unless
/// `#[fastasyncpg(rename = "label")]`. The enum gets `FromValue`, `Into<Value>`,
/// tokio-postgres `FromSql`/`ToSql`, [`model::SqlType`], `Display` (the label), `label()`,
/// `from_label()` and `ALL`.
///
/// ```
/// #[derive(fastasyncpg::PgEnum, Debug, Clone, Copy, PartialEq)]
/// #[fastasyncpg(type_name = "mood")]
/// enum Mood {
///     #[fastasyncpg(rename = "sad")]
///     Sad,
///     #[fastasyncpg(rename = "very happy")]
///     VeryHappy,
/// }
/// assert_eq!(Mood::VeryHappy.label(), "very happy");
/// assert_eq!(Mood::from_label("sad"), Some(Mood::Sad));
/// ```
#[cfg(feature = "derive")]
pub use fastasyncpg_derive::PgEnum;
pub use results::Results;
pub use row::{ColumnIndex, Columns, Row, RowIter};
pub use schema::Schema;
pub use table::{Col, IntoKey, Job, Key, Queue, Record, RowsWhere, Table, Tables, UpsertOptions};
pub use transaction::{IsolationLevel, Transaction, TransactionOptions};
pub use value::{FromValue, Value};

/// The crates whose types appear in models and generated code, so that a program needs no
/// direct dependency on them: `fastasyncpg::types::chrono::NaiveDate`, `…::uuid::Uuid`,
/// `…::serde_json::Value`. PostgreSQL-specific value types are in [`value`].
pub mod types {
    pub use chrono;
    pub use serde_json;
    pub use uuid;
}

/// Re-exports used by generated code and derive macros. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::model::__private::*;
    pub use crate::model::ModelColumn;
    pub use crate::model::RowPlan;
    pub use postgres_types;
    pub use tokio_postgres;
}

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
