//! [`Tables`]: the tables (or views) of a schema snapshot, as handles.

use std::fmt;
use std::sync::Arc;

use super::Table;
use crate::database::Database;
use crate::error::Result;
use crate::schema::{Schema, TableMeta};

/// The tables (from [`Database::tables`]) or views (from [`Database::views`]) of the schema
/// snapshot: those of the search path in its order, then those of the other schemas by schema
/// name, each schema's by name.
///
/// ```no_run
/// # fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
/// let dt = db.tables();
/// assert!(dt.contains("artist"));
/// let [album, artist] = <[_; 2]>::try_from(dt.get_many(&["album", "artist"])?).unwrap();
/// for t in dt.iter().filter(|t| t.name().starts_with('a')) {
///     println!("{t}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Tables {
    db: Database,
    schema: Arc<Schema>,
    views: bool,
}

impl Tables {
    pub(crate) fn new(db: Database, schema: Arc<Schema>, views: bool) -> Self {
        Tables { db, schema, views }
    }

    fn metas(&self) -> impl Iterator<Item = &Arc<TableMeta>> {
        let views = self.views;
        self.schema
            .relations()
            .iter()
            .filter(move |r| r.kind.is_view() == views)
    }

    /// A handle for each table (partitions included: see [`TableMeta::is_partition`]).
    pub fn iter(&self) -> impl Iterator<Item = Table> + '_ {
        self.metas().map(|m| Table::new(self.db.clone(), m.clone()))
    }

    /// The names, in order: the bare name when [`Database::t`] finds this table by it,
    /// `schema.name` otherwise (outside the search path and shadowed, or ambiguous), parts
    /// double-quoted only when they hold a `.` or a `"`. Each one reads back with `db.t`.
    pub fn names(&self) -> Vec<String> {
        self.metas().map(|m| self.schema.display_name(m)).collect()
    }

    /// True when `name`, bare or `schema.name` (as accepted by [`Database::t`]), finds one of
    /// them.
    pub fn contains(&self, name: &str) -> bool {
        matches!(self.schema.relation(name), Some(m) if m.kind.is_view() == self.views)
    }

    /// The handle for `name`; errors like [`Database::t`].
    pub fn get(&self, name: &str) -> Result<Table> {
        if self.views {
            self.db.v(name)
        } else {
            self.db.t(name)
        }
    }

    /// Handles for several names at once (the seed's `dt['album', 'artist']`).
    pub fn get_many(&self, names: &[&str]) -> Result<Vec<Table>> {
        names.iter().map(|n| self.get(n)).collect()
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.metas().count()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Tables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

impl fmt::Debug for Tables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.metas().map(|m| m.sql_name()))
            .finish()
    }
}
