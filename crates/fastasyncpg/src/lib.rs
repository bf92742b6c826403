//! # fastasyncpg
//!
//! PostgreSQL as easy as a notebook, at the speed of the raw driver.
//!
//! Connect, and every table of the live schema is a ready handle; rows come back readable by
//! name or as typed structs.
//!
//! ```no_run
//! # async fn demo() -> fastasyncpg::Result<()> {
//! use fastasyncpg::{args, connect};
//! let db = connect("postgresql://localhost/chinook").await?;
//! let n: i64 = db.fetchval("SELECT count(*) FROM artist", ()).await?;
//! let acdc = db.q("SELECT * FROM artist WHERE name = ?", args!["AC/DC"]).await?;
//! println!("{n} artists\n{acdc}");
//! # Ok(()) }
//! ```
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod args;
mod config;
mod conn;
mod database;
pub mod error;
pub mod model;
mod pool;
mod results;
mod row;
pub mod sql;
mod transaction;
pub mod value;

pub use args::{Args, IntoArgs};
pub use config::{ConnectOptions, PoolOptions, StatementCacheMode};
pub use conn::Notification;
pub use database::{connect, create_pool, Database, RowStream};
pub use error::{Error, ErrorKind, Result};
pub use model::{FromRow, Model, ModelTable, Tracked};

/// `#[derive(FromRow)]`: see the [`FromRow`](trait@FromRow) trait.
#[cfg(feature = "derive")]
pub use fastasyncpg_derive::FromRow;
/// `#[derive(Model)]`: see the [`Model`](trait@Model) trait.
#[cfg(feature = "derive")]
pub use fastasyncpg_derive::Model;
pub use results::Results;
pub use row::{Columns, Row};
pub use transaction::{IsolationLevel, Transaction, TransactionOptions};
pub use value::{FromValue, Value};

/// Re-exports used by generated code and derive macros. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::model::__private::*;
    pub use crate::model::ColumnDef;
    pub use crate::model::RowPlan;
    pub use postgres_types;
    pub use tokio_postgres;
}
