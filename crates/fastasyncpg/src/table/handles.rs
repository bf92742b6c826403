//! `Database` methods that hand out table and view handles and keep the schema snapshot.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use super::{Table, Tables};
use crate::database::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::schema::{
    self, did_you_mean, near_matches, Resolved, Schema, TableMeta, UNKNOWN_NAME_REFRESH_INTERVAL,
};
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
    /// Loads every schema the user has `USAGE` on except the system ones (`pg_catalog`,
    /// `information_schema`, `pg_toast`, temporary schemas), with the session's search path
    /// for bare-name lookups (see [`t`](Self::t)); or the schemas set by
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

    /// Loads only `schemas` (in this order for bare-name lookups: the first that has the name
    /// wins) instead of every schema, now and on every later [`refresh`](Self::refresh); an
    /// empty list goes back to every schema. Tables outside the session's search path display
    /// schema-qualified (`"other"."thing"`).
    pub async fn refresh_with_schemas(&self, schemas: &[&str]) -> Result<Arc<Schema>> {
        let filter = (!schemas.is_empty()).then(|| schemas.iter().map(|s| s.to_string()).collect());
        *self
            .inner
            .schema_filter
            .write()
            .unwrap_or_else(PoisonError::into_inner) = filter;
        self.refresh().await
    }

    /// The table `name` (the seed's `db.t.name`), from the schema snapshot. A bare name is
    /// looked up in the search path first, then in the one other schema that has it (in
    /// several, it is ambiguous: the error lists the qualified choices); `schema.name` picks a
    /// schema, and either part may be double-quoted (`"Inventory"."Item"`,
    /// `inventory."Odd Name"`). [`Schema::relation`] states the rule.
    ///
    /// An unknown name is an [`ErrorKind::UnknownName`] error listing near matches. This is
    /// synchronous and never refreshes: for a table created outside the table API since the
    /// last refresh, use [`table`](Self::table) (async, refreshes once) or call
    /// [`refresh`](Self::refresh).
    pub fn t(&self, name: &str) -> Result<Table> {
        self.lookup(None, name, Want::Table).map_err(|m| m.error)
    }

    /// The table `name` in schema `schema` (both exact, unquoted).
    pub fn t_in(&self, schema: &str, name: &str) -> Result<Table> {
        self.lookup(Some(schema), name, Want::Table)
            .map_err(|m| m.error)
    }

    /// The view or materialized view `name` (read-only handle); names resolve as in
    /// [`t`](Self::t).
    pub fn v(&self, name: &str) -> Result<Table> {
        self.lookup(None, name, Want::View).map_err(|m| m.error)
    }

    /// The view or materialized view `name` in schema `schema`.
    pub fn v_in(&self, schema: &str, name: &str) -> Result<Table> {
        self.lookup(Some(schema), name, Want::View)
            .map_err(|m| m.error)
    }

    /// The table, view or materialized view `name`, whatever its kind (what the CLI's
    /// `describe` shows); names resolve as in [`t`](Self::t).
    pub fn relation(&self, name: &str) -> Result<Table> {
        self.lookup(None, name, Want::Any).map_err(|m| m.error)
    }

    /// The table `name`, like [`t`](Self::t), but a name the snapshot does not have first
    /// refreshes it (one round trip) and looks again, so a table just created by raw SQL or
    /// another program is found:
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// db.execute("CREATE TABLE note (id serial PRIMARY KEY, body text)", ()).await?;
    /// let note = db.table("note").await?; // db.t("note") would need db.refresh() first
    /// # Ok(()) }
    /// ```
    ///
    /// The refresh happens at most once per name per second ([`UNKNOWN_NAME_REFRESH_INTERVAL`](crate::schema::UNKNOWN_NAME_REFRESH_INTERVAL))
    /// for this database (all its clones, pool and transactions), so a loop over a misspelt
    /// name does not flood the server: within the interval it fails at once, with the same
    /// near-match suggestions. Concurrent calls wait for one refresh rather than each sending
    /// their own. Ambiguous names and names of the wrong kind never refresh.
    pub async fn table(&self, name: &str) -> Result<Table> {
        self.lookup_refreshing(name, Want::Table).await
    }

    /// The view or materialized view `name`, refreshing once on an unknown name as
    /// [`table`](Self::table) does.
    pub async fn view(&self, name: &str) -> Result<Table> {
        self.lookup_refreshing(name, Want::View).await
    }

    /// Every table of the snapshot (`for t in db.tables().iter()`, `contains`, `names`).
    pub fn tables(&self) -> Tables {
        Tables::new(self.clone(), self.schema(), false)
    }

    /// Every view and materialized view of the snapshot.
    pub fn views(&self) -> Tables {
        Tables::new(self.clone(), self.schema(), true)
    }

    /// Resolves `name` (in `schema`, when given) in the current snapshot: the one lookup behind
    /// `t`, `v`, `relation`, `table`, `check_model` and `Tables::contains`.
    pub(crate) fn lookup(
        &self,
        schema: Option<&str>,
        name: &str,
        want: Want,
    ) -> std::result::Result<Table, Miss> {
        let s = self.schema();
        let found = match schema {
            Some(sc) => s
                .relation_in(sc, name)
                .map_or(Resolved::Missing, Resolved::One),
            None => s.resolve(name),
        };
        let err = |error, missing| Err(Miss { error, missing });
        match found {
            Resolved::One(m) if want.accepts(m) => Ok(Table::new(self.clone(), m.clone())),
            Resolved::One(m) => err(wrong_kind(&s, m, want == Want::View), false),
            Resolved::Ambiguous(all) => err(ambiguous(name, &all), false),
            Resolved::Missing => {
                let shown = match schema {
                    Some(sc) => format!("{}.{}", quote_ident(sc), quote_ident(name)),
                    None => name.to_string(),
                };
                err(unknown(&s, &shown, want), true)
            }
        }
    }

    async fn lookup_refreshing(&self, name: &str, want: Want) -> Result<Table> {
        match self.lookup(None, name, want) {
            Err(m) if m.missing => {}
            r => return r.map_err(|m| m.error),
        }
        // One refresh at a time: a caller that waited here may find the name already loaded.
        let mut recent = self.inner.unknown_names.recent.lock().await;
        let first = match self.lookup(None, name, want) {
            Err(m) if m.missing => m.error,
            r => return r.map_err(|m| m.error),
        };
        let now = Instant::now();
        recent.retain(|_, at| now.duration_since(*at) < UNKNOWN_NAME_REFRESH_INTERVAL);
        if recent.contains_key(name) {
            return Err(first);
        }
        recent.insert(name.to_string(), now);
        self.refresh().await?;
        self.lookup(None, name, want).map_err(|m| m.error)
    }
}

/// The names [`Database::table`] refreshed the snapshot for, and when (shared by every handle
/// of one database; entries older than [`UNKNOWN_NAME_REFRESH_INTERVAL`] are dropped).
#[derive(Default)]
pub(crate) struct UnknownNames {
    recent: tokio::sync::Mutex<HashMap<String, Instant>>,
}

/// Which kinds of relation a lookup accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Table,
    View,
    Any,
}

impl Want {
    fn accepts(self, m: &TableMeta) -> bool {
        match self {
            Want::Table => m.kind.is_table(),
            Want::View => m.kind.is_view(),
            Want::Any => true,
        }
    }
}

/// A failed lookup; `missing` when the name finds nothing (a refresh might help).
pub(crate) struct Miss {
    pub(crate) error: Error,
    missing: bool,
}

fn ambiguous(name: &str, all: &[&Arc<TableMeta>]) -> Error {
    let choices: Vec<String> = all.iter().map(|m| m.display_qualified()).collect();
    Error::new(
        ErrorKind::UnknownName,
        format!(
            "{} is ambiguous: it is in no schema of the search path but in several others; \
             qualify it: {}",
            shown(name),
            choices.join(", ")
        ),
    )
}

fn wrong_kind(s: &Schema, m: &TableMeta, want_view: bool) -> Error {
    let (is, call) = if want_view {
        ("a table", "db.t")
    } else {
        ("a view", "db.v")
    };
    Error::new(
        ErrorKind::UnknownName,
        format!(
            "{} is {is}: use {call}({:?})",
            m.sql_name(),
            s.display_name(m)
        ),
    )
}

/// `name` as an error message shows it: each part quoted (`"inventory"."item"`).
fn shown(name: &str) -> String {
    match schema::parse_name(name).as_deref() {
        Some([sc, n]) => format!("{}.{}", quote_ident(sc), quote_ident(n)),
        Some([n]) => quote_ident(n),
        _ => quote_ident(name),
    }
}

fn unknown(s: &Schema, name: &str, want: Want) -> Error {
    let kind: Vec<&Arc<TableMeta>> = s.relations().iter().filter(|r| want.accepts(r)).collect();
    let near = match schema::split_qualified(name) {
        // `schema.name`: near names in that schema, then the same name in other schemas.
        Some((sc, n)) => {
            let same: Vec<&str> = kind
                .iter()
                .filter(|r| r.schema == sc)
                .map(|r| r.name.as_str())
                .collect();
            let mut near: Vec<String> = near_matches(&n, same)
                .into_iter()
                .filter_map(|m| s.relation_in(&sc, &m).map(|r| r.display_qualified()))
                .collect();
            near.extend(
                kind.iter()
                    .filter(|r| r.name == n && r.schema != sc)
                    .map(|r| r.display_qualified()),
            );
            near.truncate(5);
            near
        }
        None => near_matches(name, kind.iter().map(|r| r.name.as_str())),
    };
    let noun = match want {
        Want::Table => "table",
        Want::View => "view",
        Want::Any => "table or view",
    };
    Error::new(
        ErrorKind::UnknownName,
        format!(
            "no {noun} {} in schema{} {}{} (created it outside the table API? use \
             db.table(name).await, which refreshes, or call db.refresh())",
            shown(name),
            if s.schemas().len() == 1 { "" } else { "s" },
            s.schemas().join(", "),
            did_you_mean(&near)
        ),
    )
}
