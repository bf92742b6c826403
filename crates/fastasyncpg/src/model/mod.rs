//! Typed models: structs for rows ([`FromRow`]), structs for tables ([`Model`]), the typed
//! table API ([`ModelTable`]), dirty tracking ([`Tracked`]), the typed query builder
//! ([`select`], [`Column`], [`Expr`]) and `CREATE TABLE` from a model
//! ([`Database::create_model`](crate::Database::create_model)).
//!
//! ```no_run
//! use fastasyncpg::model::{select, CreateModelOptions};
//! use fastasyncpg::Model;
//!
//! #[derive(Model, Debug, Clone)]
//! #[fastasyncpg(table = "person")]
//! struct Person {
//!     #[fastasyncpg(primary_key, identity)]
//!     id: i64,
//!     name: String,
//!     email: Option<String>,
//!     age: i32,
//! }
//!
//! # async fn demo() -> fastasyncpg::Result<()> {
//! let db = fastasyncpg::connect("postgresql://localhost/demo").await?;
//! db.create_model::<Person>(CreateModelOptions::new().replace(true)).await?;
//! let people = db.model::<Person>();
//!
//! // insert fills the generated id back in
//! let mut alice = Person { id: 0, name: "Alice".into(), email: None, age: 33 };
//! people.insert(&mut alice).await?;
//! assert!(alice.id > 0);
//!
//! // update sends only what changed since the row was loaded
//! let mut p = people.at_tracked(alice.id).await?;
//! p.email = Some("alice@example.com".into());
//! people.update(&mut p).await?; // UPDATE "person" SET "email" = $1 WHERE "id" = $2 …
//!
//! // the typed query builder: always parameterised
//! let q = select::<Person>()
//!     .where_(Person::NAME.eq("Alice").and(Person::AGE.gt(30)))
//!     .order_by(Person::ID.desc())
//!     .limit(10);
//! let found: Vec<Person> = db.exec(&q).await?;
//! # Ok(()) }
//! ```

mod ddl;
mod def;
mod from_row;
mod pgtype;
mod query;
mod table;
mod tracked;

pub use ddl::{create_table_sql, CreateModelOptions};
pub use def::{ColumnDef, Generated, Model, SqlType, WritableField};
pub use from_row::{FromRow, ReadableField, RowPlan, RowRef, Slot};
pub use query::{select, Column, Expr, Order, Param, Select};
pub use table::ModelTable;
pub use tracked::{ModelMut, Tracked};

#[doc(hidden)]
pub mod __private {
    pub use super::def::{to_value, SqlTypeKnown, SqlTypeUnknown};
    pub use super::from_row::{DecodeBoth, DecodeSql, DecodeValue, Probe};
    pub use super::pgtype::*;
    pub use bytes::BytesMut;
}
