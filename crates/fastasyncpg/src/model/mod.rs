//! Typed models: structs for rows ([`FromRow`]), structs for tables ([`Model`]), the typed
//! table API ([`ModelTable`]), dirty tracking ([`Tracked`]), the typed query builder
//! ([`select`], [`Column`], [`Expr`]) and `CREATE TABLE` from a model
//! ([`Database::create_model`](crate::Database::create_model)).
//!
//! ```
//! use fastasyncpg::model::{select, CreateModelOptions};
//! use fastasyncpg::{FromRow, Model};
//!
//! #[derive(Model, Debug, Clone, PartialEq)]
//! #[fastasyncpg(table = "person")]
//! struct Person {
//!     #[fastasyncpg(primary_key, identity)]
//!     id: i64,
//!     name: String,
//!     email: Option<String>,
//!     age: i32,
//!     #[fastasyncpg(default = "'member'")]
//!     role: Option<String>,
//! }
//!
//! #[derive(FromRow, Debug)]
//! struct RoleCount {
//!     role: String,
//!     #[fastasyncpg(rename = "count")]
//!     n: i64,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> fastasyncpg::Result<()> {
//! # let url = fastasyncpg_testing::fresh_db().await; // a throwaway database
//! let db = fastasyncpg::connect(&url).await?;
//! db.create_model::<Person>(CreateModelOptions::new()).await?;
//! let people = db.model::<Person>();
//!
//! // insert fills the identity and the server default back in
//! let mut alice = Person { id: 0, name: "Alice".into(), email: None, age: 33, role: None };
//! people.insert(&mut alice).await?;
//! assert_eq!((alice.id, alice.role.as_deref()), (1, Some("member")));
//! let mut more = vec![
//!     Person { id: 0, name: "Bob".into(), email: None, age: 25, role: Some("admin".into()) },
//!     Person { id: 0, name: "Carol".into(), email: None, age: 41, role: None },
//! ];
//! people.inserts(&mut more).await?; // one statement, ids filled in order
//!
//! // update sends only what changed since the row was loaded
//! let mut p = people.at_tracked(alice.id).await?;
//! p.email = Some("alice@example.com".into());
//! assert_eq!(p.dirty_columns(), ["email"]);
//! people.update(&mut p).await?; // UPDATE "person" SET "email" = $1 WHERE "id" = $2 RETURNING …
//! assert!(!people.update(&mut p).await?); // nothing changed: no statement
//!
//! // the typed query builder: values are always bound, names always quoted
//! let q = select::<Person>()
//!     .where_(Person::AGE.gt(30).and(Person::NAME.ne("Bob")))
//!     .order_by(Person::AGE.desc())
//!     .limit(10);
//! let names: Vec<String> = db.exec(&q).await?.into_iter().map(|p| p.name).collect();
//! assert_eq!(names, ["Carol", "Alice"]);
//!
//! // get / at / rows_where / count, and scoped handles
//! assert!(people.get(99).await?.is_none());
//! assert_eq!(people.count_where("age < ?", [40]).await?, 2);
//! let admins = people.xtra(Person::ROLE, "admin");
//! assert_eq!(admins.rows().await?[0].name, "Bob");
//!
//! // any query into any FromRow struct
//! let counts: Vec<RoleCount> = db
//!     .fetch_as("SELECT role, count(*) FROM person GROUP BY role ORDER BY role", ())
//!     .await?;
//! assert_eq!((counts[0].role.as_str(), counts[0].n), ("admin", 1));
//! # Ok(()) }
//! ```
//!
//! Models for an existing schema are written by [`codegen::generate`](crate::codegen::generate)
//! (`fastasyncpg gen` on the command line).

mod ddl;
mod def;
mod from_row;
mod link;
mod pgtype;
mod query;
mod table;
mod tracked;

pub use ddl::{create_table_sql, table_schema, CreateModelOptions};
pub use def::{Generated, Model, ModelColumn, SqlType, WritableField};
pub use from_row::{FromRow, JoinedModel, ReadableField, RowPlan, RowRef, Slot};
pub use query::{select, Column, Expr, Order, Param, Select, Selection};
pub use table::ModelTable;
pub use tracked::{ModelMut, Tracked};

#[doc(hidden)]
pub mod __private {
    pub use super::def::{to_value, SqlTypeKnown, SqlTypeUnknown};
    pub use super::from_row::{DecodeBoth, DecodeSql, DecodeValue, Probe};
    pub use super::pgtype::*;
    pub use bytes::BytesMut;
}
