//! A snapshot of the live schema: tables (incl. partitioned), views, materialized views, their
//! columns, keys and foreign keys, enum types and domains.
//!
//! [`Database::refresh`](crate::Database::refresh) loads it from the system catalogs in one
//! round trip, whatever the number of tables; every table handle reads from it.

mod introspect;
mod model;
mod suggest;

pub(crate) use introspect::load;
pub(crate) use model::{parse_name, split_qualified, Resolved};
pub use model::{
    ColumnMeta, Domain, EnumType, ForeignKey, Identity, RelKind, Schema, TableMeta, UniqueKey,
};
pub(crate) use suggest::{did_you_mean, near_matches};

/// How long a name that [`Database::table`](crate::Database::table) or
/// [`Database::view`](crate::Database::view) did not find, even after refreshing the snapshot,
/// fails at once without refreshing again: one second.
pub const UNKNOWN_NAME_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
