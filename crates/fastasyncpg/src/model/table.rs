//! [`ModelTable`]: the typed table API — get, at, rows_where, selectone, count, insert, update,
//! upsert, delete, refresh, bulk inserts — and scoped handles.

use std::fmt::{self, Write};
use std::marker::PhantomData;

use crate::args::IntoArgs;
use crate::audit::AuditKind;
use crate::database::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::model::def::{Model, ModelColumn};
use crate::model::from_row::{from_raw_rows, FromRow, RowPlan};
use crate::model::query::{column_list, Column, Param, Select, Selection};
use crate::model::tracked::{ModelMut, Tracked};
use crate::row::Row;
use crate::sql::quote_ident;
use crate::value::Value;

/// One row of an insert: each column sent, with its value or `None` for `DEFAULT`.
type InsertRow = Vec<(&'static str, Option<Value>)>;

/// The highest number of parameters one statement may have.
const MAX_PARAMS: usize = 65_535;

/// The typed table API for model `M` (from [`Database::model`]): the dynamic table API's
/// operations, taking and returning `M`.
///
/// A handle may be scoped with [`xtra`](Self::xtra): every read, count, update, delete and
/// upsert is then confined to rows whose scoped columns have the scoped values, and inserts
/// write those values. Scoping returns a new handle; handles share no mutable state.
pub struct ModelTable<M> {
    db: Database,
    scope: Vec<(&'static str, Value)>,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for ModelTable<M> {
    fn clone(&self) -> Self {
        ModelTable {
            db: self.db.clone(),
            scope: self.scope.clone(),
            _m: PhantomData,
        }
    }
}

impl<M: Model> fmt::Debug for ModelTable<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelTable({}", M::qualified_table())?;
        for (c, v) in &self.scope {
            write!(f, " {c}={}", v.repr())?;
        }
        f.write_str(")")
    }
}

impl Database {
    /// The typed table API for model `M`.
    ///
    /// ```no_run
    /// # use fastasyncpg::Model;
    /// # #[derive(Model)] struct Artist { #[fastasyncpg(primary_key, generated)] artist_id: i32, name: Option<String> }
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let artists = db.model::<Artist>();
    /// let acdc = artists.at(1).await?;
    /// let some = artists.rows_where("name LIKE ?", ["A%"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn model<M: Model>(&self) -> ModelTable<M> {
        ModelTable {
            db: self.clone(),
            scope: Vec::new(),
            _m: PhantomData,
        }
    }

    /// Runs a read and builds one `T` per row straight from the driver's rows.
    pub(crate) async fn fetch_typed<T: FromRow>(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<Vec<T>> {
        let conn = self.conn().await?;
        let (cols, rows) = self.timed(&conn, conn.query(sql, args)).await?;
        from_raw_rows(&cols, &rows)
    }

    /// Runs a typed query from [`select`](crate::model::select) and returns its rows as `M`
    /// (the seed's `exec`).
    ///
    /// `S` is a model, or a tuple of models for a join (`select::<(Artist, Album)>()` returns
    /// `(Artist, Album)` pairs; an `Option<Album>` element makes it a `LEFT JOIN`).
    pub async fn exec<S: Selection>(&self, query: &Select<S>) -> Result<Vec<S>> {
        let (sql, args) = query.to_sql();
        self.fetch_typed(&sql, &args).await
    }

    /// The first row of a typed query, if any (adds `LIMIT 1` unless the query has a limit).
    pub async fn exec_first<S: Selection>(&self, query: &Select<S>) -> Result<Option<S>> {
        let q = if query.has_limit() {
            query.clone()
        } else {
            query.clone().limit(1)
        };
        Ok(self.exec(&q).await?.into_iter().next())
    }

    /// The number of rows a typed query matches (its order, limit and offset ignored).
    pub async fn exec_count<S: Selection>(&self, query: &Select<S>) -> Result<i64> {
        let (sql, args) = query.count_sql();
        let (_, rows) = self.run_query_unaudited(&sql, &args).await?;
        match rows.first() {
            Some(r) => r.get(0),
            None => Ok(0),
        }
    }

    /// Like [`exec`](Self::exec), returning [`Tracked`] models ready for dirty-only updates.
    pub async fn exec_tracked<M: Model>(&self, query: &Select<M>) -> Result<Vec<Tracked<M>>> {
        Ok(self
            .exec(query)
            .await?
            .into_iter()
            .map(Tracked::assume_saved)
            .collect())
    }

    /// Runs a query and builds a `T` from each row (columns looked up once).
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// #[derive(fastasyncpg::FromRow)]
    /// struct Name { name: String }
    /// let names: Vec<Name> = db.fetch_as("SELECT name FROM artist LIMIT ?", [3]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_as<T: FromRow>(&self, sql: &str, args: impl IntoArgs) -> Result<Vec<T>> {
        let (sql, args) = Self::prepare_sql(sql, args)?;
        self.fetch_typed_audited(&sql, &args).await
    }

    /// [`fetch_typed`](Self::fetch_typed) for caller-written SQL: reported to the audit hook
    /// by keyword, as `fetch` is (`INSERT … RETURNING` read as models is still a change).
    async fn fetch_typed_audited<T: FromRow>(&self, sql: &str, args: &[Value]) -> Result<Vec<T>> {
        let r = self.fetch_typed(sql, args).await;
        self.audit_raw(sql, || r.as_ref().map(|rows| rows.len() as u64));
        r
    }

    /// Runs a query and builds a `T` from its first row, if any.
    pub async fn fetchrow_as<T: FromRow>(
        &self,
        sql: &str,
        args: impl IntoArgs,
    ) -> Result<Option<T>> {
        let (sql, args) = Self::prepare_sql(sql, args)?;
        Ok(self
            .fetch_typed_audited(&sql, &args)
            .await?
            .into_iter()
            .next())
    }
}

/// Runs a change on `db` and reports it to the audit hook as `kind`.
async fn write_on<M: Model>(
    db: &Database,
    kind: AuditKind,
    sql: &str,
    args: &[Value],
) -> Result<Vec<Row>> {
    let r = db
        .run_query_unaudited(sql, args)
        .await
        .map(|(_, rows)| rows);
    if db.audit_active() {
        let outcome = r.as_ref().map(|rows| rows.len() as u64);
        db.emit_audit(kind, sql, Some(&M::qualified_table()), outcome);
    }
    r
}

/// `"a" = $1 AND "b" = $2`, numbering after `args`.
fn key_condition(names: &[&'static str], values: Vec<Value>, args: &mut Vec<Value>) -> String {
    let mut s = String::new();
    for (i, (n, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            s.push_str(" AND ");
        }
        args.push(v);
        let _ = write!(s, "{} = ${}", quote_ident(n), args.len());
    }
    s
}

impl<M: Model> ModelTable<M> {
    /// The database handle this table handle uses.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// A handle scoped to rows where `column` equals `value` (the seed's `xtra`). Scopes
    /// add up: `t.xtra(A, 1).xtra(B, 2)` is confined to `a = 1 AND b = 2`.
    pub fn xtra<T>(&self, column: Column<M, T>, value: impl Param<T>) -> ModelTable<M> {
        let mut scope = self.scope.clone();
        let v = value.into_param();
        match scope.iter_mut().find(|(c, _)| *c == column.name()) {
            Some(slot) => slot.1 = v,
            None => scope.push((column.name(), v)),
        }
        ModelTable {
            db: self.db.clone(),
            scope,
            _m: PhantomData,
        }
    }

    /// The scope of this handle: `(column, value)` pairs.
    pub fn scope(&self) -> &[(&'static str, Value)] {
        &self.scope
    }

    fn pk_names() -> Result<Vec<&'static str>> {
        let names: Vec<&'static str> = M::KEY
            .iter()
            .filter_map(|&i| M::COLUMNS.get(i))
            .map(|c| c.name)
            .collect();
        if names.is_empty() {
            return Err(Error::usage(format!(
                "model for {} has no primary key: mark key fields #[fastasyncpg(primary_key)]",
                M::qualified_table()
            )));
        }
        Ok(names)
    }

    /// ` AND "scoped" = $n …` for the scope, numbering after `args`.
    fn scope_sql(&self, args: &mut Vec<Value>) -> String {
        let mut s = String::new();
        for (c, v) in &self.scope {
            args.push(v.clone());
            let _ = write!(s, " AND {} = ${}", quote_ident(c), args.len());
        }
        s
    }

    fn select_head() -> String {
        format!(
            "SELECT {} FROM {}",
            column_list::<M>(false),
            M::qualified_table()
        )
    }

    /// Runs a read (not audited).
    async fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        Ok(self.db.run_query_unaudited(sql, args).await?.1)
    }

    /// Runs a change and reports it to the audit hook as `kind` (like the dynamic table API).
    async fn write(&self, kind: AuditKind, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        write_on::<M>(&self.db, kind, sql, args).await
    }

    async fn fetch_key(&self, key: &M::Key) -> Result<Option<M>> {
        let names = Self::pk_names()?;
        let mut args = Vec::new();
        let cond = key_condition(&names, M::key_values(key), &mut args);
        let scope = self.scope_sql(&mut args);
        let sql = format!("{} WHERE {cond}{scope}", Self::select_head());
        Ok(self.db.fetch_typed(&sql, &args).await?.into_iter().next())
    }

    fn not_found(&self, what: &str) -> Error {
        let mut msg = format!("{}: no row {what}", M::qualified_table());
        if !self.scope.is_empty() {
            let s: Vec<String> = self
                .scope
                .iter()
                .map(|(c, v)| format!("{c}={}", v.repr()))
                .collect();
            let _ = write!(msg, " in scope {}", s.join(", "));
        }
        Error::not_found(msg)
    }

    fn key_text(key: &M::Key) -> String {
        let v: Vec<String> = M::key_values(key).iter().map(Value::repr).collect();
        format!("with key ({})", v.join(", "))
    }

    /// The row with primary key `key` (a tuple for a composite key), or `None`.
    pub async fn get(&self, key: impl Into<M::Key>) -> Result<Option<M>> {
        self.fetch_key(&key.into()).await
    }

    /// The row with primary key `key`; a [`ErrorKind::NotFound`] error when there is none.
    pub async fn at(&self, key: impl Into<M::Key>) -> Result<M> {
        let key = key.into();
        match self.fetch_key(&key).await? {
            Some(m) => Ok(m),
            None => Err(self.not_found(&Self::key_text(&key))),
        }
    }

    /// [`get`](Self::get), tracked for dirty-only updates.
    pub async fn get_tracked(&self, key: impl Into<M::Key>) -> Result<Option<Tracked<M>>> {
        Ok(self.get(key).await?.map(Tracked::assume_saved))
    }

    /// [`at`](Self::at), tracked for dirty-only updates.
    pub async fn at_tracked(&self, key: impl Into<M::Key>) -> Result<Tracked<M>> {
        Ok(Tracked::assume_saved(self.at(key).await?))
    }

    /// Every row (in scope).
    pub async fn rows(&self) -> Result<Vec<M>> {
        self.rows_where("", ()).await
    }

    /// The rows matching an SQL condition with `$n`, `?` or `:name` placeholders; `""` for all.
    pub async fn rows_where(&self, where_: &str, args: impl IntoArgs) -> Result<Vec<M>> {
        let (sql, args) = self.where_sql(&Self::select_head(), where_, args)?;
        self.db.fetch_typed(&sql, &args).await
    }

    /// [`rows_where`](Self::rows_where), tracked for dirty-only updates.
    pub async fn rows_where_tracked(
        &self,
        where_: &str,
        args: impl IntoArgs,
    ) -> Result<Vec<Tracked<M>>> {
        Ok(self
            .rows_where(where_, args)
            .await?
            .into_iter()
            .map(Tracked::assume_saved)
            .collect())
    }

    /// The single row matching the condition: none is [`ErrorKind::NotFound`], several is
    /// [`ErrorKind::NotUnique`].
    pub async fn selectone(&self, where_: &str, args: impl IntoArgs) -> Result<M> {
        let (sql, args) = self.where_sql(&Self::select_head(), where_, args)?;
        let sql = format!("{sql} LIMIT 2");
        let mut rows: Vec<M> = self.db.fetch_typed(&sql, &args).await?;
        match rows.len() {
            0 => Err(self.not_found(&format!("where {where_}"))),
            1 => Ok(rows.remove(0)),
            _ => Err(Error::new(
                ErrorKind::NotUnique,
                format!("{}: more than one row where {where_}", M::qualified_table()),
            )),
        }
    }

    /// The number of rows (in scope).
    pub async fn count(&self) -> Result<i64> {
        self.count_where("", ()).await
    }

    /// The number of rows matching the condition.
    pub async fn count_where(&self, where_: &str, args: impl IntoArgs) -> Result<i64> {
        let head = format!("SELECT count(*) FROM {}", M::qualified_table());
        let (sql, args) = self.where_sql(&head, where_, args)?;
        let rows = self.query(&sql, &args).await?;
        match rows.first() {
            Some(r) => r.get(0),
            None => Ok(0),
        }
    }

    /// A typed query of this table, already restricted to the handle's scope.
    pub fn select(&self) -> Select<M> {
        Select::<M>::scoped(&self.scope)
    }

    /// `head WHERE (where_) AND scope`, placeholders converted.
    fn where_sql(
        &self,
        head: &str,
        where_: &str,
        args: impl IntoArgs,
    ) -> Result<(String, Vec<Value>)> {
        let (w, mut args) = Database::prepare_sql(where_, args)?;
        let w = w.trim();
        let scope = self.scope_sql(&mut args);
        let sql = match (w.is_empty(), scope.is_empty()) {
            (true, true) => head.to_string(),
            (true, false) => format!("{head} WHERE {}", &scope[" AND ".len()..]),
            (false, _) => format!("{head} WHERE ({w}){scope}"),
        };
        Ok((sql, args))
    }

    /// The columns an insert sends and their values (scope values win), `DEFAULT` for a NULL
    /// in a column with an SQL default.
    fn insert_values(&self, m: &M, with_generated: bool) -> InsertRow {
        let values = m.values();
        let mut out: InsertRow = Vec::with_capacity(values.len());
        for (def, v) in M::COLUMNS.iter().zip(values) {
            let scoped = self.scope.iter().find(|(c, _)| *c == def.name);
            if let Some((_, sv)) = scoped {
                out.push((def.name, Some(sv.clone())));
                continue;
            }
            if def.is_generated() && !(with_generated && def.primary_key) {
                continue;
            }
            if v.is_null() && def.default.is_some() {
                out.push((def.name, None));
            } else {
                out.push((def.name, Some(v)));
            }
        }
        out
    }

    fn load_returned(m: &mut impl ModelMut<M>, rows: &[Row], what: &str) -> Result<()> {
        let Some(row) = rows.first() else {
            return Err(Error::not_found(format!(
                "{}: {what} returned no row",
                M::qualified_table()
            )));
        };
        let plan = M::plan(row.columns())?;
        m.model_mut().load(row.into(), &plan)?;
        m.mark_saved();
        Ok(())
    }

    /// Inserts a row and reads it back into `m` (`RETURNING`): generated keys, identity and
    /// serial columns, server defaults and trigger changes are filled in. Generated columns
    /// are not sent; a `None` in a column with an SQL default sends `DEFAULT`.
    pub async fn insert(&self, m: &mut impl ModelMut<M>) -> Result<()> {
        let cols = self.insert_values(m.model(), false);
        let mut args = Vec::new();
        let sql = insert_sql::<M>(&[cols], &mut args, "");
        let rows = self.write(AuditKind::Insert, &sql, &args).await?;
        Self::load_returned(m, &rows, "insert")
    }

    /// Inserts many rows atomically, in multi-row statements (not one round trip per row),
    /// and reads each back into its model like [`insert`](Self::insert).
    pub async fn inserts(&self, ms: &mut [M]) -> Result<()> {
        if ms.is_empty() {
            return Ok(());
        }
        // Same column list for every row: every non-generated column (DEFAULT where needed).
        let rows: Vec<InsertRow> = ms.iter().map(|m| self.insert_values(m, false)).collect();
        let width = rows.first().map_or(1, |r| r.len().max(1));
        let per_chunk = (MAX_PARAMS / width).clamp(1, 1000);
        let chunks: Vec<&[InsertRow]> = rows.chunks(per_chunk).collect();
        let returned: Vec<Row> = if let [only] = chunks.as_slice() {
            let mut args = Vec::new();
            let sql = insert_sql::<M>(only, &mut args, "");
            self.write(AuditKind::Insert, &sql, &args).await?
        } else {
            let stmts: Vec<(String, Vec<Value>)> = chunks
                .iter()
                .map(|c| {
                    let mut args = Vec::new();
                    let sql = insert_sql::<M>(c, &mut args, "");
                    (sql, args)
                })
                .collect();
            self.db
                .transaction(move |tx| async move {
                    let mut all = Vec::new();
                    for (sql, args) in &stmts {
                        all.extend(write_on::<M>(&tx, AuditKind::Insert, sql, args).await?);
                    }
                    Ok::<_, Error>(all)
                })
                .await?
        };
        if returned.len() != ms.len() {
            return Err(Error::new(
                ErrorKind::Other,
                format!(
                    "{}: inserted {} rows but {} came back",
                    M::qualified_table(),
                    ms.len(),
                    returned.len()
                ),
            ));
        }
        let Some(first) = returned.first() else {
            return Ok(());
        };
        let plan = M::plan(first.columns())?;
        for (m, row) in ms.iter_mut().zip(&returned) {
            m.load(row.into(), &plan)?;
        }
        Ok(())
    }

    /// Updates the row of `m` by primary key and reads it back.
    ///
    /// With a [`Tracked`] model only the columns changed since it was loaded or saved are
    /// sent, and nothing at all when none changed; the row is found by the key in the
    /// snapshot. With a plain model every non-key column is sent. Generated columns are never
    /// sent. Returns whether a statement was sent; a row that no longer exists (or is out of
    /// scope) is [`ErrorKind::NotFound`].
    pub async fn update(&self, m: &mut impl ModelMut<M>) -> Result<bool> {
        let names = Self::pk_names()?;
        let now = m.model().values();
        // (column, new value) for every column the statement sets.
        let (changed, key_values): (Vec<(&ModelColumn, &Value)>, Vec<Value>) =
            match m.saved_values() {
                Some(snap) => {
                    let changed: Vec<(&ModelColumn, &Value)> = M::COLUMNS
                        .iter()
                        .zip(&now)
                        .zip(snap)
                        .filter(|((_, a), b)| a != b)
                        .map(|(pair, _)| pair)
                        .collect();
                    if let Some((g, _)) = changed.iter().find(|(d, _)| d.is_generated()) {
                        return Err(Error::usage(format!(
                            "{}: field `{}` changed, but column {:?} is generated by the server \
                             and is never sent; undo the change or drop `generated` from the field",
                            M::qualified_table(),
                            g.field,
                            g.name
                        )));
                    }
                    let keys = M::KEY
                        .iter()
                        .filter_map(|&i| snap.get(i))
                        .cloned()
                        .collect();
                    (changed, keys)
                }
                None => {
                    let changed = M::COLUMNS
                        .iter()
                        .zip(&now)
                        .filter(|(d, _)| !d.primary_key && !d.is_generated())
                        .collect();
                    (changed, M::key_values(&m.model().key()))
                }
            };
        if changed.is_empty() {
            return Ok(false);
        }
        let mut args = Vec::new();
        let mut set = String::new();
        for (k, (def, v)) in changed.iter().enumerate() {
            if k > 0 {
                set.push_str(", ");
            }
            args.push((*v).clone());
            let _ = write!(set, "{} = ${}", quote_ident(def.name), args.len());
        }
        let cond = key_condition(&names, key_values, &mut args);
        let scope = self.scope_sql(&mut args);
        let sql = format!(
            "UPDATE {} SET {set} WHERE {cond}{scope} RETURNING {}",
            M::qualified_table(),
            column_list::<M>(false)
        );
        let rows = self.write(AuditKind::Update, &sql, &args).await?;
        if rows.is_empty() {
            let key = M::key_values(&m.model().key());
            let v: Vec<String> = key.iter().map(Value::repr).collect();
            return Err(self.not_found(&format!("with key ({}) to update", v.join(", "))));
        }
        Self::load_returned(m, &rows, "update")?;
        Ok(true)
    }

    /// Inserts `m`, or updates the row with the same primary key (`INSERT … ON CONFLICT (key)
    /// DO UPDATE`), and reads the row back. Key columns are sent even when generated. A row
    /// outside the handle's scope is not changed and is [`ErrorKind::NotFound`].
    pub async fn upsert(&self, m: &mut impl ModelMut<M>) -> Result<()> {
        let names = Self::pk_names()?;
        let cols = self.insert_values(m.model(), true);
        let mut args = Vec::new();
        let updates: Vec<String> = cols
            .iter()
            .filter(|(c, _)| !names.contains(c))
            .map(|(c, _)| format!("{0} = EXCLUDED.{0}", quote_ident(c)))
            .collect();
        let set = if updates.is_empty() {
            // Nothing but the key: a no-op update so that RETURNING gives the row.
            let first = names.first().copied().unwrap_or_default();
            format!("{0} = EXCLUDED.{0}", quote_ident(first))
        } else {
            updates.join(", ")
        };
        let target: Vec<String> = names.iter().map(|n| quote_ident(n)).collect();
        let mut tail = format!(" ON CONFLICT ({}) DO UPDATE SET {set}", target.join(", "));
        if !self.scope.is_empty() {
            // Confine the update to rows in scope (the insert already writes scoped values).
            let mut conds = Vec::new();
            let base = cols.iter().filter(|(_, v)| v.is_some()).count();
            for (i, (c, _)) in self.scope.iter().enumerate() {
                conds.push(format!(
                    "{}.{} = ${}",
                    M::qualified_table(),
                    quote_ident(c),
                    base + i + 1
                ));
            }
            let _ = write!(tail, " WHERE {}", conds.join(" AND "));
        }
        let sql = insert_sql::<M>(&[cols], &mut args, &tail);
        // insert_sql numbered the row's values first; the scope's follow.
        for (_, v) in &self.scope {
            args.push(v.clone());
        }
        let rows = self.write(AuditKind::Upsert, &sql, &args).await?;
        if rows.is_empty() {
            return Err(self.not_found("to upsert (the existing row is out of scope)"));
        }
        Self::load_returned(m, &rows, "upsert")
    }

    /// Deletes the row of `m` (by primary key); [`ErrorKind::NotFound`] when there is none.
    pub async fn delete(&self, m: &M) -> Result<()> {
        self.delete_key(m.key()).await.and_then(|n| {
            if n == 0 {
                Err(self.not_found(&format!("{} to delete", Self::key_text(&m.key()))))
            } else {
                Ok(())
            }
        })
    }

    /// Deletes the row with primary key `key`; returns the number of rows deleted (0 or 1).
    pub async fn delete_key(&self, key: impl Into<M::Key>) -> Result<u64> {
        let names = Self::pk_names()?;
        let mut args = Vec::new();
        let cond = key_condition(&names, M::key_values(&key.into()), &mut args);
        let scope = self.scope_sql(&mut args);
        let sql = format!(
            "DELETE FROM {} WHERE {cond}{scope} RETURNING 1",
            M::qualified_table()
        );
        Ok(self.write(AuditKind::Delete, &sql, &args).await?.len() as u64)
    }

    /// Deletes the rows matching the condition (`""`: every row in scope) and returns them.
    pub async fn delete_where(&self, where_: &str, args: impl IntoArgs) -> Result<Vec<M>> {
        let head = format!("DELETE FROM {}", M::qualified_table());
        let (sql, args) = self.where_sql(&head, where_, args)?;
        let sql = format!("{sql} RETURNING {}", column_list::<M>(false));
        let rows = self.write(AuditKind::Delete, &sql, &args).await?;
        M::from_rows(&rows)
    }

    /// Reloads `m` from the database by its primary key (a [`Tracked`] model: by the key in
    /// its snapshot, and it gets a new snapshot); [`ErrorKind::NotFound`] when the row is gone.
    pub async fn refresh(&self, m: &mut impl ModelMut<M>) -> Result<()> {
        let names = Self::pk_names()?;
        let key = m.model().key();
        // A tracked model is the row its snapshot came from, even if its key field changed.
        let key_values = match m.saved_values() {
            Some(snap) => M::KEY
                .iter()
                .filter_map(|&i| snap.get(i))
                .cloned()
                .collect(),
            None => M::key_values(&key),
        };
        let mut args = Vec::new();
        let cond = key_condition(&names, key_values, &mut args);
        let scope = self.scope_sql(&mut args);
        let sql = format!("{} WHERE {cond}{scope}", Self::select_head());
        let rows = self.query(&sql, &args).await?;
        if rows.is_empty() {
            return Err(self.not_found(&Self::key_text(&key)));
        }
        Self::load_returned(m, &rows, "refresh")
    }

    /// A plan for reading this model from `rows`' columns (exposed for dynamic handles).
    pub fn plan(cols: &crate::row::Columns) -> Result<RowPlan> {
        M::plan(cols)
    }
}

/// `INSERT INTO t (cols) VALUES (…), (…) <tail> RETURNING cols`; `DEFAULT VALUES` when no
/// column is sent (single row).
fn insert_sql<M: Model>(rows: &[InsertRow], args: &mut Vec<Value>, tail: &str) -> String {
    let mut sql = format!("INSERT INTO {}", M::qualified_table());
    let first = rows.first().map(Vec::as_slice).unwrap_or(&[]);
    if first.is_empty() {
        if rows.len() <= 1 {
            sql.push_str(" DEFAULT VALUES");
        } else {
            // Several rows with nothing to send: `VALUES (DEFAULT), (DEFAULT)` on the first
            // column.
            let col = M::COLUMNS.first().map(|c| c.name).unwrap_or("id");
            let _ = write!(sql, " ({}) VALUES ", quote_ident(col));
            let v: Vec<&str> = rows.iter().map(|_| "(DEFAULT)").collect();
            sql.push_str(&v.join(", "));
        }
    } else {
        let names: Vec<String> = first.iter().map(|(c, _)| quote_ident(c)).collect();
        let _ = write!(sql, " ({}) VALUES ", names.join(", "));
        for (r, row) in rows.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (i, (_, v)) in row.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                match v {
                    Some(v) => {
                        args.push(v.clone());
                        let _ = write!(sql, "${}", args.len());
                    }
                    None => sql.push_str("DEFAULT"),
                }
            }
            sql.push(')');
        }
    }
    sql.push_str(tail);
    let _ = write!(sql, " RETURNING {}", column_list::<M>(false));
    sql
}
