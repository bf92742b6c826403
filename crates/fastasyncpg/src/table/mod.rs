//! Table handles: `db.t("artist")` and everything done through them.
//!
//! A [`Table`] is a cheap clone of a [`Database`] handle, the table's metadata from the schema
//! snapshot and its scope (see [`Table::xtra`]). It has no mutable state: scoping returns a
//! new handle, so handles can be shared between tasks freely.

mod bulk;
mod collection;
mod describe;
mod handles;
mod key;
mod queue;
mod read;
mod record;
mod write;

use std::fmt;
use std::sync::Arc;

pub use collection::Tables;
pub(crate) use handles::{UnknownNames, Want};
pub use key::{IntoKey, Key};
pub use queue::{Job, Queue};
pub use read::RowsWhere;
pub use record::Record;
pub use write::UpsertOptions;

/// The binary COPY row encoder, shared with `crate::copy`.
pub(crate) use bulk::{encode_binary_field, encodes_directly};

use crate::audit::AuditKind;
use crate::database::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::row::{Columns, Row};
use crate::schema::{did_you_mean, near_matches, ColumnMeta, RelKind, TableMeta};
use crate::sql::quote_ident;
use crate::value::Value;

/// A handle on one table (or, from [`Database::v`], a read-only view).
///
/// `Display` is the quoted name, ready for SQL: `"artist"`, or `"other"."thing"` when the
/// table is not found through the search path.
///
/// ```no_run
/// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
/// use fastasyncpg::{args, record};
/// let artist = db.t("artist")?;
/// let acdc = artist.at(1).await?;
/// let first3 = artist.rows().limit(3).await?;
/// let n = artist.count_where("name LIKE ?", args!["A%"]).await?;
/// let cat = db.t("cat")?.insert(record! { name: "meow", weight: 6 }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Table {
    pub(crate) db: Database,
    pub(crate) meta: Arc<TableMeta>,
    /// Column index → value pairs every statement is confined to.
    pub(crate) scope: Arc<[(usize, Value)]>,
}

/// A column of a table. `Display` is the fully quoted `"table"."column"`.
#[derive(Clone, Debug)]
pub struct Col {
    meta: Arc<TableMeta>,
    idx: usize,
}

impl Col {
    /// The column name, unquoted.
    pub fn name(&self) -> &str {
        &self.meta.columns[self.idx].name
    }

    /// The column's type as `format_type` writes it.
    pub fn type_name(&self) -> &str {
        &self.meta.columns[self.idx].type_name
    }

    /// Everything known about the column.
    pub fn meta(&self) -> &ColumnMeta {
        &self.meta.columns[self.idx]
    }

    /// The quoted column name alone: `"column"`.
    pub fn quoted(&self) -> String {
        quote_ident(self.name())
    }
}

impl fmt::Display for Col {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.meta.sql_name(), quote_ident(self.name()))
    }
}

impl PartialEq for Col {
    fn eq(&self, o: &Col) -> bool {
        self.idx == o.idx && self.meta.schema == o.meta.schema && self.meta.name == o.meta.name
    }
}

impl Table {
    pub(crate) fn new(db: Database, meta: Arc<TableMeta>) -> Table {
        Table {
            db,
            meta,
            scope: Arc::from(Vec::new()),
        }
    }

    /// The table name, unquoted.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The schema it lives in.
    pub fn schema(&self) -> &str {
        &self.meta.schema
    }

    /// Everything known about the table: columns, keys, foreign keys, unique keys.
    pub fn meta(&self) -> &TableMeta {
        &self.meta
    }

    /// Table, partitioned table, view, materialized view…
    pub fn kind(&self) -> RelKind {
        self.meta.kind
    }

    /// The database handle this table's statements run on.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The same table (and scope) with statements running on `db`: a transaction, a held
    /// connection… (`artist.on(&tx).insert(...)`).
    pub fn on(&self, db: &Database) -> Table {
        Table {
            db: db.clone(),
            meta: self.meta.clone(),
            scope: self.scope.clone(),
        }
    }

    /// `(name, type)` of each column, in table order (the seed's `cols`).
    pub fn columns(&self) -> Vec<(&str, &str)> {
        self.meta
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.type_name.as_str()))
            .collect()
    }

    /// The column names, in table order.
    pub fn column_names(&self) -> Vec<&str> {
        self.meta.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The primary key columns, in key order (empty without a primary key).
    pub fn pks(&self) -> &[String] {
        &self.meta.primary_key
    }

    /// The column `name`; an unknown name is an [`ErrorKind::UnknownName`] error naming the
    /// table and the column.
    pub fn c(&self, name: &str) -> Result<Col> {
        Ok(Col {
            meta: self.meta.clone(),
            idx: self.col_idx(name)?,
        })
    }

    /// Every column, in table order.
    pub fn cols(&self) -> Vec<Col> {
        (0..self.meta.columns.len())
            .map(|idx| Col {
                meta: self.meta.clone(),
                idx,
            })
            .collect()
    }

    /// True when the table has a column called `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.meta.column(name).is_some()
    }

    /// A new handle confined to the rows where each column of `scope` has the given value
    /// (the seed's `xtra`, for multi-tenant code). Every read, count, update, delete, upsert
    /// and bulk operation through it sees only those rows; inserts get the values filled in,
    /// and an explicit different value is an error. `self` is unchanged. An empty record gives
    /// an unscoped handle.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::record;
    /// let acdc_albums = db.t("album")?.xtra(record! { artist_id: 1 })?;
    /// assert_eq!(acdc_albums.count().await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn xtra(&self, scope: impl Into<crate::Record>) -> Result<Table> {
        let rec = scope.into();
        let scope = self.resolve(&rec)?;
        Ok(Table {
            db: self.db.clone(),
            meta: self.meta.clone(),
            scope: Arc::from(scope),
        })
    }

    /// The same table without any scope.
    pub fn unscoped(&self) -> Table {
        Table::new(self.db.clone(), self.meta.clone())
    }

    /// The scope's `(column, value)` pairs.
    pub fn scope(&self) -> Vec<(&str, &Value)> {
        self.scope
            .iter()
            .map(|(i, v)| (self.meta.columns[*i].name.as_str(), v))
            .collect()
    }

    // ---- helpers shared by the operation modules ----

    pub(crate) fn col_idx(&self, name: &str) -> Result<usize> {
        self.meta
            .position(name)
            .ok_or_else(|| self.unknown_column(name))
    }

    pub(crate) fn unknown_column(&self, name: &str) -> Error {
        let near = near_matches(name, self.meta.columns.iter().map(|c| c.name.as_str()));
        Error::new(
            ErrorKind::UnknownName,
            format!(
                "table {} has no column {}{}",
                self.meta.sql_name(),
                quote_ident(name),
                did_you_mean(&near)
            ),
        )
    }

    pub(crate) fn col(&self, idx: usize) -> &ColumnMeta {
        &self.meta.columns[idx]
    }

    pub(crate) fn qcol(&self, idx: usize) -> String {
        quote_ident(&self.meta.columns[idx].name)
    }

    /// The record's values for a write: as [`resolve`](Self::resolve), without stored generated
    /// columns (they cannot be written; a record made from a row has them).
    pub(crate) fn resolve_writable(&self, rec: &crate::Record) -> Result<Vec<(usize, Value)>> {
        let mut cols = self.resolve(rec)?;
        cols.retain(|(i, _)| !self.col(*i).generated);
        Ok(cols)
    }

    /// The record's values by column index, in table order, converted for each column's type.
    pub(crate) fn resolve(&self, rec: &crate::Record) -> Result<Vec<(usize, Value)>> {
        let mut out = Vec::with_capacity(rec.fields.len());
        for (name, f) in &rec.fields {
            let i = self.col_idx(name)?;
            out.push((i, f.to_value(Some(self.col(i)))));
        }
        out.sort_by_key(|(i, _)| *i);
        Ok(out)
    }

    /// Key values by key column, checked against the primary key.
    pub(crate) fn key_cols(&self, key: Key, what: &str) -> Result<Vec<(usize, Value)>> {
        let pk = self.pk_idx(what)?;
        if key.len() != pk.len() {
            return Err(Error::usage(format!(
                "{what}: the primary key of {} has {} column{} ({}) but {} value{} given",
                self.meta.sql_name(),
                pk.len(),
                if pk.len() == 1 { "" } else { "s" },
                self.meta.primary_key.join(", "),
                key.len(),
                if key.len() == 1 { " was" } else { "s were" },
            )));
        }
        Ok(pk.into_iter().zip(key.into_values()).collect())
    }

    /// Primary key column indexes, in key order; an error without a primary key.
    pub(crate) fn pk_idx(&self, what: &str) -> Result<Vec<usize>> {
        if self.meta.primary_key.is_empty() {
            return Err(Error::usage(format!(
                "{what}: {} {} has no primary key",
                if self.meta.kind.is_view() {
                    "view"
                } else {
                    "table"
                },
                self.meta.sql_name()
            )));
        }
        self.meta
            .primary_key
            .iter()
            .map(|k| self.col_idx(k))
            .collect()
    }

    /// Views are read-only through this API.
    pub(crate) fn writable(&self, what: &str) -> Result<()> {
        if self.meta.kind.is_view() {
            return Err(Error::usage(format!(
                "{what}: {} is a {}; view handles are read-only (write to its tables, or use execute)",
                self.meta.sql_name(),
                if self.meta.kind == RelKind::View { "view" } else { "materialized view" },
            )));
        }
        Ok(())
    }

    /// Adds the scope values to an insert's columns: a missing scope column is filled in, an
    /// equal one is fine, a different one is an error.
    pub(crate) fn apply_scope(&self, cols: &mut Vec<(usize, Value)>, what: &str) -> Result<()> {
        for (si, sv) in self.scope.iter() {
            match cols.iter().find(|(i, _)| i == si) {
                Some((_, v)) => {
                    if !same_value(v, sv) {
                        return Err(Error::usage(format!(
                            "{what}: column {} is {} in the record but the handle is scoped to {}",
                            self.qcol(*si),
                            v,
                            sv
                        )));
                    }
                }
                None => cols.push((*si, sv.clone())),
            }
        }
        cols.sort_by_key(|(i, _)| *i);
        Ok(())
    }

    /// Appends the scope conditions (`"col" = $n` / `"col" IS NULL`) to `conds`, columns
    /// qualified by `alias` when given.
    pub(crate) fn scope_conds(&self, q: &mut Sql, conds: &mut Vec<String>, alias: Option<&str>) {
        for (i, v) in self.scope.iter() {
            let c = match alias {
                Some(a) => format!("{a}.{}", self.qcol(*i)),
                None => self.qcol(*i),
            };
            if v.is_null() {
                conds.push(format!("{c} IS NULL"));
            } else {
                let p = q.arg(v.clone());
                conds.push(format!("{c} = {p}"));
            }
        }
    }

    /// `"k1" = $1 AND "k2" = $2` for key values.
    pub(crate) fn key_conds(&self, q: &mut Sql, conds: &mut Vec<String>, key: Vec<(usize, Value)>) {
        for (i, v) in key {
            if v.is_null() {
                conds.push(format!("{} IS NULL", self.qcol(i)));
            } else {
                let p = q.arg(v);
                conds.push(format!("{} = {p}", self.qcol(i)));
            }
        }
    }

    /// Runs generated SQL, reporting it to the audit hook as `kind` when it changes data.
    pub(crate) async fn run(
        &self,
        kind: Option<AuditKind>,
        q: &Sql,
    ) -> Result<(Arc<Columns>, Vec<Row>)> {
        let r = self
            .db
            .run_query_unaudited(&q.text, &q.args)
            .await
            .map_err(|e| self.name_column(e, q));
        if let Some(kind) = kind {
            if self.db.audit_active() {
                let outcome = r.as_ref().map(|(_, rows)| rows.len() as u64);
                self.db
                    .emit_audit(kind, &q.text, Some(self.meta.sql_name()), outcome);
            }
        }
        r
    }

    /// A conversion error of a value parameter, prefixed with the table and column it was for
    /// (`"artist".artist_id: parameter $1: cannot convert bigint[] to integer`).
    fn name_column(&self, e: Error, q: &Sql) -> Error {
        if e.kind() != crate::ErrorKind::Bind {
            return e;
        }
        let n = e
            .message()
            .strip_prefix("parameter $")
            .and_then(|rest| rest.split(':').next())
            .and_then(|d| d.parse::<usize>().ok());
        let col = n.and_then(|n| q.cols.iter().find(|(p, _)| *p == n).map(|(_, c)| *c));
        match col.and_then(|c| self.meta.columns.get(c)) {
            Some(c) => e.context(format!("{}.{}", self.meta.sql_name(), quote_ident(&c.name))),
            None => e,
        }
    }

    /// The key of `row` (its primary key columns, in key order).
    pub(crate) fn key_of(&self, row: &Row) -> Result<Key> {
        if self.meta.primary_key.is_empty() {
            return Err(Error::usage(format!(
                "table {} has no primary key",
                self.meta.sql_name()
            )));
        }
        let vals = self
            .meta
            .primary_key
            .iter()
            .map(|k| row.value(k.as_str()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Key::new(vals))
    }

    pub(crate) fn not_found(&self, key: &Key) -> Error {
        let scope = if self.scope.is_empty() {
            String::new()
        } else {
            format!(" within scope {}", self.scope_text())
        };
        Error::new(
            ErrorKind::NotFound,
            format!("{}[{key}]: no such row{scope}", self.meta.sql_name()),
        )
    }

    pub(crate) fn scope_text(&self) -> String {
        let parts: Vec<String> = self
            .scope()
            .iter()
            .map(|(c, v)| format!("{c}={}", v.to_json()))
            .collect();
        parts.join(", ")
    }
}

/// Two values are the same for scope checks when equal or written the same (an `i32` 1 and a
/// JSON number 1 are the same scope value).
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    a == b || (a.is_null() == b.is_null() && a.to_string() == b.to_string())
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.meta.sql_name())
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.meta.kind.is_view() {
            "View"
        } else {
            "Table"
        };
        write!(f, "{noun} {}", self.meta.sql_name())?;
        if !self.scope.is_empty() {
            write!(f, " xtra({})", self.scope_text())?;
        }
        Ok(())
    }
}

impl PartialEq for Table {
    /// Same table and same scope (whatever connection the handles use).
    fn eq(&self, o: &Table) -> bool {
        self.meta.schema == o.meta.schema
            && self.meta.name == o.meta.name
            && self.scope[..] == o.scope[..]
    }
}

/// Generated SQL with its `$n` arguments.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Value>,
    /// The column each value parameter is for (`$n` → column index), so that a value that cannot
    /// be converted is reported with its column's name.
    pub(crate) cols: Vec<(usize, usize)>,
}

impl Sql {
    /// Starts from already converted SQL (e.g. a user's where clause) and its arguments.
    pub(crate) fn with_args(args: Vec<Value>) -> Sql {
        Sql {
            text: String::new(),
            args,
            cols: Vec::new(),
        }
    }

    /// Adds the value for column `col` (an index into the table's columns) and returns its
    /// placeholder.
    pub(crate) fn col_arg(&mut self, col: usize, v: Value) -> String {
        let p = self.arg(v);
        self.cols.push((self.args.len(), col));
        p
    }

    /// Adds an argument and returns its placeholder.
    pub(crate) fn arg(&mut self, v: Value) -> String {
        self.args.push(v);
        format!("${}", self.args.len())
    }
}

/// A user's where clause converted to `$n` form with its arguments. Checked so that the
/// handle's own parameters, numbered after the caller's, can never fill a `$n` the caller
/// gave no argument for.
pub(crate) fn convert_where(
    where_: &str,
    args: impl crate::args::IntoArgs,
) -> Result<(String, Vec<Value>)> {
    let (w, args) = Database::prepare_sql(where_, args)?;
    let max = crate::audit::max_param(&w);
    if max > args.len() {
        return Err(Error::new(
            ErrorKind::Bind,
            format!(
                "the where clause uses ${max} but {} argument{} given: {where_}",
                args.len(),
                if args.len() == 1 { " was" } else { "s were" }
            ),
        ));
    }
    Ok((w.into_owned(), args))
}

/// `" WHERE a AND b"`, or nothing.
pub(crate) fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}
