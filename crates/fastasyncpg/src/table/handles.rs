//! `Database` methods that hand out table and view handles and keep the schema snapshot.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use super::{Table, Tables};
use crate::database::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::schema::{self, did_you_mean, near_matches, Schema, TableMeta};
use crate::sql::quote_ident;

impl Database {
    /// The current schema snapshot (cheap: an `Arc` clone).
    pub fn schema(&self) -> Arc<Schema> {
        self.inner
            .schema
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reloads the schema snapshot from the system catalogs — in one round trip, however many
    /// tables there are — and makes every connection drop its cached statements before its
    /// next query. Call it after changing the schema outside the table API (`create`, `drop`
    /// and friends refresh for you). Handles taken before keep their old metadata.
    ///
    /// Loads the schemas on the search path, or those set by
    /// [`refresh_with_schemas`](Self::refresh_with_schemas).
    pub async fn refresh(&self) -> Result<Arc<Schema>> {
        let filter = self
            .inner
            .schema_filter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let conn = self.conn().await?;
        let snapshot = Arc::new(
            self.timed(&conn, schema::load(&conn, filter.as_deref()))
                .await?,
        );
        *self
            .inner
            .schema
            .write()
            .unwrap_or_else(PoisonError::into_inner) = snapshot.clone();
        let gen = self.inner.schema_gen.fetch_add(1, Ordering::Relaxed) + 1;
        conn.clear_cache();
        conn.schema_gen.store(gen, Ordering::Relaxed);
        Ok(snapshot)
    }

    /// Loads `schemas` (in this order for name lookups) instead of the search path, now and on
    /// every later [`refresh`](Self::refresh); an empty list goes back to the search path.
    /// Tables outside the search path display schema-qualified (`"other"."thing"`).
    pub async fn refresh_with_schemas(&self, schemas: &[&str]) -> Result<Arc<Schema>> {
        let filter = (!schemas.is_empty()).then(|| schemas.iter().map(|s| s.to_string()).collect());
        *self
            .inner
            .schema_filter
            .write()
            .unwrap_or_else(PoisonError::into_inner) = filter;
        self.refresh().await
    }

    /// The table `name` (the seed's `db.t.name`): unqualified names are looked up in
    /// search-path order; `"schema.table"` (parts may be double-quoted) picks a schema. An
    /// unknown name is an [`ErrorKind::UnknownName`] error listing near matches.
    pub fn t(&self, name: &str) -> Result<Table> {
        self.relation(name, false)
    }

    /// The table `name` in schema `schema`.
    pub fn t_in(&self, schema: &str, name: &str) -> Result<Table> {
        self.relation(
            &format!("{}.{}", quote_ident(schema), quote_ident(name)),
            false,
        )
    }

    /// The view or materialized view `name` (read-only handle).
    pub fn v(&self, name: &str) -> Result<Table> {
        self.relation(name, true)
    }

    /// The view or materialized view `name` in schema `schema`.
    pub fn v_in(&self, schema: &str, name: &str) -> Result<Table> {
        self.relation(
            &format!("{}.{}", quote_ident(schema), quote_ident(name)),
            true,
        )
    }

    /// Every table of the snapshot (`for t in db.tables().iter()`, `contains`, `names`).
    pub fn tables(&self) -> Tables {
        Tables::new(self.clone(), self.schema(), false)
    }

    /// Every view and materialized view of the snapshot.
    pub fn views(&self) -> Tables {
        Tables::new(self.clone(), self.schema(), true)
    }

    fn relation(&self, name: &str, views: bool) -> Result<Table> {
        let s = self.schema();
        let found = match s.relation(name) {
            // An exact name that is the wrong kind should not hide a qualified match.
            Some(m) if m.kind.is_view() != views => schema::split_qualified(name)
                .and_then(|(sc, n)| s.relation_in(&sc, &n))
                .cloned()
                .or(Some(m.clone())),
            other => other.cloned(),
        };
        match found {
            Some(m) if m.kind.is_view() == views => Ok(Table::new(self.clone(), m)),
            Some(m) => Err(wrong_kind(&m, views)),
            None => Err(unknown(&s, name, views)),
        }
    }
}

fn wrong_kind(m: &TableMeta, want_view: bool) -> Error {
    let (is, call) = if want_view {
        ("a table", "db.t")
    } else {
        ("a view", "db.v")
    };
    Error::new(
        ErrorKind::UnknownName,
        format!("{} is {is}: use {call}({:?})", m.sql_name(), m.name),
    )
}

fn unknown(s: &Schema, name: &str, views: bool) -> Error {
    let pool: Vec<&str> = s
        .relations()
        .iter()
        .filter(|r| r.kind.is_view() == views)
        .map(|r| r.name.as_str())
        .collect();
    let near = near_matches(name, pool);
    let noun = if views { "view" } else { "table" };
    Error::new(
        ErrorKind::UnknownName,
        format!(
            "no {noun} {} in schema{} {}{} (created it outside the table API? call db.refresh())",
            quote_ident(name),
            if s.schemas().len() == 1 { "" } else { "s" },
            s.schemas().join(", "),
            did_you_mean(&near)
        ),
    )
}
