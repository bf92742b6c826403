//! Bulk writes: `inserts` / `copy_in` (binary COPY), `inserts_returning`, `updates` and
//! `upserts`.
//!
//! Records are grouped by the set of columns they give. `inserts` sends each group with one
//! binary `COPY` (values converted to the columns' types here). The others run one set-based
//! statement per group: every column travels as one binary `text[]` parameter and is cast to the
//! column's type on the server (`INSERT ... SELECT v.a::integer, ... FROM unnest($1::text[],
//! ...)`), which works for every type — enums, domains, arrays, composites — by name. A column
//! a record leaves out is therefore never sent as NULL: it gets its default on insert and
//! stays unchanged on update. Several groups run in one transaction (a savepoint when already
//! in one), so a call is all or nothing.
//!
//! In `statement_cache_mode=unnamed` (PgBouncer) `inserts` / `copy_in` do not use `COPY`,
//! which tokio-postgres can only start through a named statement: each group goes as one
//! set-based `INSERT ... SELECT ... FROM unnest(...)` instead (see `insert_counted`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use futures_util::SinkExt;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use super::record::{json_to_value, Field};
use super::{where_clause, Record, Sql, Table, UpsertOptions};
use crate::audit::AuditKind;
use crate::config::StatementCacheMode;
use crate::database::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::row::{Columns, Row};
use crate::value::Value;

/// Records that give the same columns, with their positions in the caller's list, stored
/// column by column: what the set-based statements send (one array per column).
struct Group {
    cols: Vec<usize>,
    /// Each record's position in the caller's list.
    pos: Vec<usize>,
    /// The records' values, one vector per column of `cols`.
    columns: Vec<Vec<Value>>,
}

fn group(recs: Vec<Vec<(usize, Value)>>) -> Vec<Group> {
    let mut groups = Groups::default();
    for mut rec in recs {
        groups.add(&mut rec);
    }
    groups.groups
}

/// [`Group`]s filled one record at a time.
#[derive(Default)]
struct Groups {
    groups: Vec<Group>,
    by_cols: HashMap<Vec<usize>, usize>,
    last: Option<usize>,
    n: usize,
    /// How many records to make room for in the first group (the caller's size hint).
    hint: usize,
}

impl Groups {
    /// Adds a record's `(column, value)` pairs, moving the values out (`rec` is left empty,
    /// its allocation reusable).
    fn add(&mut self, rec: &mut Vec<(usize, Value)>) {
        let same = |g: &Group| g.cols.iter().copied().eq(rec.iter().map(|p| p.0));
        // Records usually come in runs with the same columns: check the last group first.
        let gi = match self.last {
            Some(g) if same(&self.groups[g]) => g,
            _ => {
                let cols: Vec<usize> = rec.iter().map(|p| p.0).collect();
                match self.by_cols.get(&cols) {
                    Some(&g) => g,
                    None => {
                        self.by_cols.insert(cols.clone(), self.groups.len());
                        // Room for every record in the first group (usually the only one).
                        let room = if self.groups.is_empty() { self.hint } else { 0 };
                        self.groups.push(Group {
                            columns: (0..cols.len()).map(|_| Vec::with_capacity(room)).collect(),
                            cols,
                            pos: Vec::with_capacity(room),
                        });
                        self.groups.len() - 1
                    }
                }
            }
        };
        self.last = Some(gi);
        let g = &mut self.groups[gi];
        g.pos.push(self.n);
        for (col, (_, v)) in g.columns.iter_mut().zip(rec.drain(..)) {
            col.push(v);
        }
        self.n += 1;
    }
}

/// A parameter of a bulk statement.
#[derive(Debug)]
enum Param {
    /// One column's values as a binary `text[]` (NULL elements for SQL NULL).
    Array(Vec<Option<String>>),
    /// One column's values as a binary array of its (built-in) type, the values already
    /// converted to `elem`.
    Typed { elem: Type, vals: Vec<Value> },
    /// A scalar sent as untyped text: the server infers its type from the statement.
    Untyped(Option<String>),
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Array(v) => v.to_sql(ty, out),
            Param::Typed { elem, vals } => encode_array(elem, vals, out),
            Param::Untyped(None) => Ok(IsNull::Yes),
            Param::Untyped(Some(s)) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _ty: &Type) -> postgres_types::Format {
        match self {
            Param::Array(_) | Param::Typed { .. } => postgres_types::Format::Binary,
            Param::Untyped(_) => postgres_types::Format::Text,
        }
    }
    to_sql_checked!();
}

/// A one-dimensional array in binary format, elements encoded as `elem` (the values are
/// already converted to it): what `array_send` writes.
fn encode_array(
    elem: &Type,
    vals: &[Value],
    out: &mut BytesMut,
) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
    out.put_i32(1);
    out.put_i32(i32::from(vals.iter().any(Value::is_null)));
    out.put_u32(elem.oid());
    out.put_i32(i32::try_from(vals.len())?);
    out.put_i32(1);
    for v in vals {
        encode_binary_field(out, v, elem)?;
    }
    Ok(IsNull::No)
}

/// The array type of a built-in scalar type that bulk statements send in binary (`None`
/// for the rest: enums, domains, composites, extension types, arrays… go as `text[]` and
/// are cast by name on the server).
fn array_of(elem: &Type) -> Option<Type> {
    Some(match *elem {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT2 => Type::INT2_ARRAY,
        Type::INT4 => Type::INT4_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::FLOAT4 => Type::FLOAT4_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::TEXT => Type::TEXT_ARRAY,
        Type::VARCHAR => Type::VARCHAR_ARRAY,
        Type::BPCHAR => Type::BPCHAR_ARRAY,
        Type::NAME => Type::NAME_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIME => Type::TIME_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        Type::INTERVAL => Type::INTERVAL_ARRAY,
        Type::UUID => Type::UUID_ARRAY,
        Type::JSON => Type::JSON_ARRAY,
        Type::JSONB => Type::JSONB_ARRAY,
        Type::OID => Type::OID_ARRAY,
        _ => return None,
    })
}

/// One column's values as a bulk parameter: a binary array of the column's built-in type
/// when every value converts to it (as `COPY` converts them), else `text[]`.
fn column_param(type_oid: u32, vals: Vec<Value>) -> Param {
    let Some(elem) = Type::from_oid(type_oid).filter(|t| array_of(t).is_some()) else {
        return Param::Array(vals.into_iter().map(into_text).collect());
    };
    let mut out = Vec::with_capacity(vals.len());
    let mut it = vals.into_iter();
    for v in it.by_ref() {
        if encodes_directly(&v, &elem) {
            out.push(v);
            continue;
        }
        let c = match v.coerce_to(&elem) {
            Ok(Cow::Borrowed(b)) if !b.needs_text_format() => None,
            Ok(Cow::Owned(c)) if !c.needs_text_format() => Some(c),
            // Left to the server to parse (and to report): the column goes as text.
            _ => {
                out.push(v);
                out.extend(it);
                return Param::Array(out.into_iter().map(into_text).collect());
            }
        };
        out.push(c.unwrap_or(v));
    }
    Param::Typed { elem, vals: out }
}

fn text_of(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| v.to_string())
}

fn into_text(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s),
        other => Some(other.to_string()),
    }
}

impl Table {
    /// Inserts many records in one atomic call and returns the number of rows inserted. The
    /// rows travel by binary `COPY` (the fastest way in), one `COPY` per set of columns the
    /// records give: a column a record leaves out gets its default, never NULL. Several sets
    /// run in one transaction (a savepoint when already in one). A scoped handle fills in and
    /// checks its scope columns as for [`insert`](Self::insert).
    ///
    /// To get the inserted rows back, use [`inserts_returning`](Self::inserts_returning).
    ///
    /// In [`StatementCacheMode::Unnamed`] (PgBouncer) the rows go by one set-based
    /// `INSERT ... SELECT ... FROM unnest(...)` per set of columns instead of `COPY`, which
    /// would need a named prepared statement; the result and the atomicity are the same.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::record;
    /// let n = db.t("cat")?.inserts((0..1000).map(|i| record! { name: format!("cat {i}") })).await?;
    /// assert_eq!(n, 1000);
    /// # Ok(()) }
    /// ```
    pub async fn inserts<R: Into<Record>>(&self, recs: impl IntoIterator<Item = R>) -> Result<u64> {
        self.copy_records(recs, "inserts", AuditKind::Insert).await
    }

    /// Inserts many records in one atomic call and returns the inserted rows, in the order
    /// given. Records giving the same columns are inserted by one set-based statement
    /// (`INSERT ... SELECT ... FROM unnest(...) RETURNING *`, not a round trip per row); a
    /// column a record leaves out gets its default, never NULL.
    ///
    /// Slower than [`inserts`](Self::inserts), which only counts the rows.
    pub async fn inserts_returning<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
    ) -> Result<Vec<Row>> {
        let (n, groups) = self.group_records(recs, "inserts")?;
        self.run_groups(
            n,
            groups,
            |t, g| t.insert_group_sql(g, None, true),
            AuditKind::Insert,
            false,
        )
        .await
    }

    /// Updates many rows by primary key in one atomic call and returns them, in the order
    /// given. Each record must hold every primary key column; the columns it leaves out stay
    /// unchanged. A key that matches no row (or a row outside the scope) fails the whole call
    /// with [`ErrorKind::NotFound`] and nothing is changed.
    pub async fn updates<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
    ) -> Result<Vec<Row>> {
        self.writable("updates")?;
        let pk = self.pk_idx("updates (a table without a primary key cannot be updated by key)")?;
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        for (pos, r) in recs.into_iter().enumerate() {
            let cols = self.resolve_writable(&r.into())?;
            self.check_scope_unchanged(&cols, "updates")?;
            let cols: Vec<(usize, Value)> = cols
                .into_iter()
                .filter(|(i, _)| pk.contains(i) || !self.scope.iter().any(|(s, _)| s == i))
                .collect();
            let mut key = Vec::new();
            for k in &pk {
                match cols.iter().find(|(i, _)| i == k) {
                    Some((_, v)) => key.push(v.to_string()),
                    None => {
                        return Err(Error::usage(format!(
                            "updates: record {} has no value for primary key column {}",
                            pos + 1,
                            self.qcol(*k)
                        )))
                    }
                }
            }
            if !seen.insert(key.join("\u{1}")) {
                return Err(Error::usage(format!(
                    "updates: record {} repeats the key of an earlier record",
                    pos + 1
                )));
            }
            all.push(cols);
        }
        let n = all.len();
        let groups = group(all);
        self.run_groups(
            n,
            groups,
            |t, g| t.update_group_sql(g, &pk),
            AuditKind::Update,
            true,
        )
        .await
    }

    /// Inserts or updates many records (by primary key) in one atomic call and returns the
    /// number of rows written. Records giving the same columns go by one set-based
    /// `INSERT ... SELECT ... FROM unnest(...) ON CONFLICT ... DO UPDATE` (not a round trip per
    /// row). See [`upsert`](Self::upsert); to get the rows back, use
    /// [`upserts_returning`](Self::upserts_returning).
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::record;
    /// let cats = db.t("cat")?;
    /// let n = cats.upserts(vec![record! { id: 1, name: "Tom" }, record! { id: 99, name: "new" }]).await?;
    /// assert_eq!(n, 2);
    /// # Ok(()) }
    /// ```
    pub async fn upserts<R: Into<Record>>(&self, recs: impl IntoIterator<Item = R>) -> Result<u64> {
        self.upserts_with(recs, UpsertOptions::new()).await
    }

    /// [`upserts`](Self::upserts) with options. Without `do_nothing`, a conflicting row outside
    /// the scope fails the whole call with [`ErrorKind::NotFound`]; with it, rows left alone
    /// are simply not counted.
    pub async fn upserts_with<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
        opts: UpsertOptions,
    ) -> Result<u64> {
        let (_, groups) = self.group_records(recs, "upserts")?;
        self.count_groups(
            groups,
            |t, g| t.insert_group_sql(g, Some(&opts), false),
            AuditKind::Upsert,
            self.upserts_exact(&opts),
        )
        .await
    }

    /// Inserts or updates many records (by primary key) in one atomic call and returns the rows
    /// written, in the order given: [`upserts`](Self::upserts) with `RETURNING *`.
    pub async fn upserts_returning<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
    ) -> Result<Vec<Row>> {
        self.upserts_returning_with(recs, UpsertOptions::new())
            .await
    }

    /// [`upserts_returning`](Self::upserts_returning) with options; with `do_nothing`, rows
    /// left alone are not returned.
    pub async fn upserts_returning_with<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
        opts: UpsertOptions,
    ) -> Result<Vec<Row>> {
        let (n, groups) = self.group_records(recs, "upserts")?;
        let exact = self.upserts_exact(&opts);
        self.run_groups(
            n,
            groups,
            |t, g| t.insert_group_sql(g, Some(&opts), true),
            AuditKind::Upsert,
            exact,
        )
        .await
    }

    /// Whether an upsert that writes fewer rows than given fails: only in a scope without
    /// `do_nothing`, where the missing rows are conflicting rows outside the scope (the
    /// `DO UPDATE ... WHERE` of the scope left them alone). Unscoped, every record is inserted
    /// or updated; a `BEFORE` trigger skipping a row just shows in the count.
    fn upserts_exact(&self, opts: &UpsertOptions) -> bool {
        !opts.do_nothing && !self.scope.is_empty()
    }

    /// Each record's columns for an insert (as [`insert_cols`](Self::insert_cols) gives them,
    /// the values moved out of the records), grouped by the columns given; and the number of
    /// records.
    fn group_records<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
        what: &str,
    ) -> Result<(usize, Vec<Group>)> {
        self.writable(what)?;
        let mut names = Vec::new();
        let recs = recs.into_iter();
        let mut groups = Groups {
            hint: recs.size_hint().0,
            ..Groups::default()
        };
        let mut cols = Vec::new();
        for r in recs {
            self.copy_cols_into(r.into(), what, &mut names, &mut cols)?;
            groups.add(&mut cols);
        }
        Ok((groups.n, groups.groups))
    }

    /// Loads records with binary `COPY ... FROM STDIN` and returns the count: the same as
    /// [`inserts`](Self::inserts), reported to the audit hook as a `COPY`. In
    /// [`StatementCacheMode::Unnamed`] it is a set-based `INSERT` like `inserts` there.
    pub async fn copy_in<R: Into<Record>>(&self, recs: impl IntoIterator<Item = R>) -> Result<u64> {
        self.copy_records(recs, "copy_in", AuditKind::Copy).await
    }

    async fn copy_records<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
        what: &str,
        kind: AuditKind,
    ) -> Result<u64> {
        self.writable(what)?;
        if self.db.inner.opts.cache_mode == StatementCacheMode::Unnamed {
            return self.insert_counted(recs, what, kind).await;
        }
        let types = self.column_types().await;
        let mut it = recs.into_iter().map(Into::into);
        // A few records go the general way below: grouped, then one COPY per column set (in a
        // transaction only when there are several).
        let mut head: Vec<Record> = it.by_ref().take(STREAM_AFTER).collect();
        // More, outside a transaction: one transaction, and in it one binary COPY streamed
        // while the records are converted (the server works meanwhile), each row dropped once
        // encoded. Should a record give other columns, or a value need text format, that COPY
        // ends there and the rest goes the general way in the same transaction.
        if head.len() == STREAM_AFTER && !self.db.is_in_transaction() {
            let mut it = head.drain(..).chain(it);
            let types = &types;
            return self
                .db
                .transaction(|tx| async move {
                    let t = self.on(&tx);
                    let mut groups = Grouper::default();
                    let n = t
                        .copy_streamed(&mut it, &mut groups, types, what, kind)
                        .await?;
                    for r in it {
                        groups.add(&t, r, types, what)?;
                    }
                    let mut total = n;
                    for g in &groups.groups {
                        total += t.copy_group(g, types, kind).await?;
                    }
                    Ok::<_, Error>(total)
                })
                .await;
        }
        let mut groups = Grouper::default();
        for r in head.into_iter().chain(it) {
            groups.add(self, r, &types, what)?;
        }
        let groups = groups.groups;
        if groups.len() <= 1 {
            return match groups.into_iter().next() {
                Some(g) => self.copy_group(&g, &types, kind).await,
                None => Ok(0),
            };
        }
        let types = &types;
        self.db
            .transaction(|tx| async move {
                let t = self.on(&tx);
                let mut n = 0;
                for g in &groups {
                    n += t.copy_group(g, types, kind).await?;
                }
                Ok::<_, Error>(n)
            })
            .await
    }

    /// One binary COPY of the records that give the first record's columns with binary
    /// values, fed as they are converted; returns the rows it wrote. It stops at the first
    /// record that does not fit, which goes into `groups` (the caller goes on from there);
    /// so does a first record that cannot go by binary COPY.
    async fn copy_streamed(
        &self,
        it: &mut impl Iterator<Item = Record>,
        groups: &mut Grouper,
        types: &[Option<Type>],
        what: &str,
        kind: AuditKind,
    ) -> Result<u64> {
        let Some(r) = it.next() else {
            return Ok(0);
        };
        let mut row = Vec::new();
        self.copy_cols_into(r, what, &mut groups.names, &mut row)?;
        let cols: Vec<usize> = row.iter().map(|p| p.0).collect();
        if cols.is_empty() || !coerce_row(&mut row, types) {
            groups.add_pairs(row, types);
            return Ok(0);
        }
        let names = cols
            .iter()
            .map(|i| self.qcol(*i))
            .collect::<Vec<_>>()
            .join(", ");
        let tbl = self.meta.sql_name();
        let sql = format!("COPY {tbl} ({names}) FROM STDIN (FORMAT binary)");
        let col_types: Vec<Type> = cols
            .iter()
            .map(|i| types[*i].clone().unwrap_or(Type::UNKNOWN))
            .collect();
        let conn = self.db.conn().await?;
        conn.queries.fetch_add(1, Ordering::Relaxed);
        let fut = async {
            let sink = conn.client.copy_in::<_, bytes::Bytes>(sql.as_str()).await?;
            futures_util::pin_mut!(sink);
            let mut buf = BytesMut::with_capacity(CHUNK + 4096);
            buf.put_slice(BINARY_HEADER);
            let enc = |buf: &mut BytesMut, vals: &[(usize, Value)]| {
                encode_binary_row(buf, vals, &col_types)
                    .map_err(|e| Error::bind(format!("COPY into {tbl}: {e}")))
            };
            enc(&mut buf, &row)?;
            for r in it.by_ref() {
                row.clear();
                self.copy_cols_into(r, what, &mut groups.names, &mut row)?;
                let fits = row.len() == cols.len()
                    && row.iter().zip(&cols).all(|(p, c)| p.0 == *c)
                    && coerce_row(&mut row, types);
                if !fits {
                    groups.add_pairs(std::mem::take(&mut row), types);
                    break;
                }
                enc(&mut buf, &row)?;
                if buf.len() >= CHUNK {
                    sink.send(buf.split().freeze()).await?;
                    buf.reserve(CHUNK + 4096);
                }
            }
            buf.put_i16(-1);
            sink.send(buf.split().freeze()).await?;
            Ok::<_, Error>(sink.as_mut().finish().await?)
        };
        let fut = crate::trace::statement(&conn.trace, &sql, |n: &u64| Some(*n), || fut);
        let r = self.db.timed(&conn, fut).await;
        if self.db.audit_active() {
            self.db
                .emit_audit(kind, &sql, Some(self.meta.sql_name()), r.as_ref().copied());
        }
        r
    }

    /// A record's values by column index, in table order, for `COPY` and the set-based bulk
    /// writes: as [`insert_cols`](Self::insert_cols) does, but moving the values out of the
    /// record.
    /// `names` remembers the previous record's field names and columns: records usually
    /// give the same names in the same order, found then without a hash lookup.
    fn copy_cols(
        &self,
        rec: Record,
        what: &str,
        names: &mut Vec<(compact_str::CompactString, usize)>,
    ) -> Result<Vec<(usize, Value)>> {
        let mut cols = Vec::with_capacity(rec.fields.len() + self.scope.len());
        self.copy_cols_into(rec, what, names, &mut cols)?;
        Ok(cols)
    }

    /// [`copy_cols`](Self::copy_cols) into `cols` (empty), reusing its allocation.
    fn copy_cols_into(
        &self,
        rec: Record,
        what: &str,
        names: &mut Vec<(compact_str::CompactString, usize)>,
        cols: &mut Vec<(usize, Value)>,
    ) -> Result<()> {
        for (k, (name, f)) in rec.fields.into_iter().enumerate() {
            let i = match names.get(k) {
                Some((n, i)) if *n == name => *i,
                _ => {
                    let i = self.col_idx(&name)?;
                    names.truncate(k);
                    names.push((name, i));
                    i
                }
            };
            let c = self.col(i);
            if c.generated {
                continue;
            }
            let v = match f {
                Field::Value(v) => v,
                Field::Json(j) => json_to_value(&j, Some(c)),
            };
            cols.push((i, v));
        }
        if self.scope.is_empty() {
            if !cols.windows(2).all(|w| w[0].0 <= w[1].0) {
                cols.sort_by_key(|(i, _)| *i);
            }
        } else {
            self.apply_scope(cols, what)?;
        }
        cols.retain(|(i, v)| {
            let c = self.col(*i);
            !(v.is_null() && c.has_default() && self.meta.primary_key.contains(&c.name))
        });
        Ok(())
    }

    /// The types of the table's columns (indexed like its metadata) as the server sees them
    /// (enum labels, domains, composites included), from a prepared `SELECT` of every column,
    /// cached with the connection's statements. `None` for all when that fails (a column
    /// dropped since the last refresh, say): the rows then go as text.
    async fn column_types(&self) -> Vec<Option<Type>> {
        let none = || vec![None; self.meta.columns.len()];
        let names = self
            .meta
            .columns
            .iter()
            .map(|c| crate::sql::quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {names} FROM {}", self.meta.sql_name());
        let Ok(conn) = self.db.conn().await else {
            return none();
        };
        match conn.prepare(&sql).await {
            Ok(p) if p.stmt.columns().len() == self.meta.columns.len() => p
                .stmt
                .columns()
                .iter()
                .map(|c| Some(c.type_().clone()))
                .collect(),
            _ => none(),
        }
    }

    async fn copy_group(
        &self,
        cg: &CopyGroup,
        types: &[Option<Type>],
        kind: AuditKind,
    ) -> Result<u64> {
        let g = cg;
        if g.cols.is_empty() {
            let sql = format!(
                "INSERT INTO {} SELECT FROM generate_series(1, {})",
                self.meta.sql_name(),
                g.rows.len()
            );
            let r = self.db.run_execute_unaudited(&sql, &[]).await;
            if self.db.audit_active() {
                self.db.emit_audit(
                    AuditKind::Insert,
                    &sql,
                    Some(self.meta.sql_name()),
                    r.as_ref().copied(),
                );
            }
            return r;
        }
        let names = g
            .cols
            .iter()
            .map(|i| self.qcol(*i))
            .collect::<Vec<_>>()
            .join(", ");
        let tbl = self.meta.sql_name();
        // Binary when every value converted to its column's binary form; otherwise (a value
        // only the server can parse) the group goes as text and the server converts it.
        let sql = if cg.binary {
            format!("COPY {tbl} ({names}) FROM STDIN (FORMAT binary)")
        } else {
            format!("COPY {tbl} ({names}) FROM STDIN")
        };
        let col_types: Vec<Type> = g
            .cols
            .iter()
            .map(|i| types[*i].clone().unwrap_or(Type::UNKNOWN))
            .collect();
        let conn = self.db.conn().await?;
        conn.queries.fetch_add(1, Ordering::Relaxed);
        let fut = async {
            let sink = conn.client.copy_in::<_, bytes::Bytes>(sql.as_str()).await?;
            futures_util::pin_mut!(sink);
            // Encoded and sent in chunks, so the server works while the rest is encoded.
            let mut buf = BytesMut::with_capacity(CHUNK + 4096);
            if cg.binary {
                buf.put_slice(BINARY_HEADER);
            }
            for vals in &g.rows {
                if cg.binary {
                    encode_binary_row(&mut buf, vals, &col_types)
                        .map_err(|e| Error::bind(format!("COPY into {tbl}: {e}")))?;
                } else {
                    encode_text_row(&mut buf, vals);
                }
                if buf.len() >= CHUNK {
                    sink.send(buf.split().freeze()).await?;
                    buf.reserve(CHUNK + 4096);
                }
            }
            if cg.binary {
                buf.put_i16(-1);
            }
            if !buf.is_empty() {
                sink.send(buf.split().freeze()).await?;
            }
            Ok::<u64, Error>(sink.as_mut().finish().await?)
        };
        let fut = crate::trace::statement(&conn.trace, &sql, |n| Some(*n), || fut);
        let r = self.db.timed(&conn, fut).await;
        if self.db.audit_active() {
            self.db
                .emit_audit(kind, &sql, Some(self.meta.sql_name()), r.as_ref().copied());
        }
        r
    }

    /// Runs each group's statement (in one transaction when there are several, or when `exact`
    /// needs every row accounted for) and returns the rows in the caller's order.
    async fn run_groups<F>(
        &self,
        n: usize,
        mut groups: Vec<Group>,
        make: F,
        kind: AuditKind,
        exact: bool,
    ) -> Result<Vec<Row>>
    where
        F: Fn(&Table, &mut Group) -> Result<(String, Vec<Param>)>,
    {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        // Values move into the statements' parameters; the groups keep the rows' positions.
        let statements: Vec<(String, Vec<Param>)> = groups
            .iter_mut()
            .map(|g| make(self, g))
            .collect::<Result<_>>()?;
        let go = |db: Database| {
            let groups = &groups;
            let statements = &statements;
            async move {
                let t = self.on(&db);
                let mut out: Vec<Option<Row>> = vec![None; n];
                let mut extra = Vec::new();
                for (g, (sql, params)) in groups.iter().zip(statements) {
                    let rows = t.run_bulk(kind, sql, params).await?;
                    if exact && rows.len() != g.pos.len() {
                        return Err(t.not_found_in_bulk(kind, g.pos.len(), rows.len()));
                    }
                    if rows.len() == g.pos.len() {
                        for (pos, r) in g.pos.iter().zip(rows) {
                            out[*pos] = Some(r);
                        }
                    } else {
                        extra.extend(rows);
                    }
                }
                Ok::<_, Error>(out.into_iter().flatten().chain(extra).collect())
            }
        };
        if groups.len() == 1 && !exact {
            go(self.db.clone()).await
        } else {
            self.db.transaction(go).await
        }
    }

    /// `inserts` / `copy_in` in [`StatementCacheMode::Unnamed`] (PgBouncer in transaction
    /// pooling): the same rows and the same atomicity, sent without `COPY`.
    ///
    /// tokio-postgres can only start a `COPY` through a *named* prepared statement (its
    /// `copy_in(&str)` prepares `sN`, then binds it after the prepare's Sync). Behind
    /// PgBouncer the prepare and the bind can reach two different server connections: the
    /// bind fails with `prepared statement "sN" does not exist`, the statement leaks on the
    /// first server connection (`already exists` for a later client that picks the same
    /// name), and a `COPY` that fails after its Bind/Execute leaves a server connection
    /// mid-protocol (`unexpected message type 0x42 during COPY from stdin`, then PgBouncer
    /// drops it). So here each group of records goes as one set-based unnamed statement
    /// (`INSERT ... SELECT ... FROM unnest($1::text[], ...)`, as `upserts` does), several
    /// groups in one transaction: one statement per group, all or nothing.
    async fn insert_counted<R: Into<Record>>(
        &self,
        recs: impl IntoIterator<Item = R>,
        what: &str,
        kind: AuditKind,
    ) -> Result<u64> {
        let (_, groups) = self.group_records(recs, what)?;
        self.count_groups(
            groups,
            |t, g| t.insert_group_sql(g, None, false),
            kind,
            false,
        )
        .await
    }

    /// Runs one set-based statement per group (several in one transaction; one in a
    /// transaction too when `exact`) and returns the rows they affected. With `exact`, a
    /// statement that affects fewer rows than its group holds (a conflicting row outside the
    /// scope) fails the whole call with [`ErrorKind::NotFound`].
    async fn count_groups<F>(
        &self,
        mut groups: Vec<Group>,
        make: F,
        kind: AuditKind,
        exact: bool,
    ) -> Result<u64>
    where
        F: Fn(&Table, &mut Group) -> Result<(String, Vec<Param>)>,
    {
        let statements: Vec<(String, Vec<Param>)> = groups
            .iter_mut()
            .map(|g| make(self, g))
            .collect::<Result<_>>()?;
        let go = |db: Database| {
            let statements = &statements;
            let groups = &groups;
            async move {
                let t = self.on(&db);
                let mut n = 0;
                for (g, (sql, params)) in groups.iter().zip(statements) {
                    let k = t.run_bulk_count(kind, sql, params).await?;
                    if exact && k != g.pos.len() as u64 {
                        return Err(t.not_found_in_bulk(kind, g.pos.len(), k as usize));
                    }
                    n += k;
                }
                Ok::<_, Error>(n)
            }
        };
        match statements.len() {
            0 => Ok(0),
            1 if !exact => go(self.db.clone()).await,
            _ => self.db.transaction(go).await,
        }
    }

    /// The error of a bulk write whose statement found fewer rows than it was given.
    fn not_found_in_bulk(&self, kind: AuditKind, given: usize, found: usize) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "{}: {} of {} rows of {} not found{}; nothing was changed",
                kind_name(kind),
                given.saturating_sub(found),
                given,
                self.meta.sql_name(),
                if self.scope.is_empty() {
                    String::new()
                } else {
                    format!(" within scope {}", self.scope_text())
                }
            ),
        )
    }

    /// Runs one bulk statement without reading rows back and returns the rows it affected.
    async fn run_bulk_count(&self, kind: AuditKind, sql: &str, params: &[Param]) -> Result<u64> {
        let conn = self.db.conn().await?;
        conn.queries.fetch_add(1, Ordering::Relaxed);
        let typed = typed_params(params);
        let t = crate::trace::start(&conn.trace, sql);
        let r = self
            .db
            .timed(&conn, async {
                let r: std::result::Result<u64, tokio_postgres::Error> = async {
                    let stream = conn.client.query_typed_raw(sql, typed).await?;
                    futures_util::pin_mut!(stream);
                    while futures_util::TryStreamExt::try_next(&mut stream)
                        .await?
                        .is_some()
                    {}
                    Ok(stream.rows_affected().unwrap_or(0))
                }
                .await;
                r.map_err(|e| conn.pg_error(e))
            })
            .await;
        crate::trace::finish(t, sql, &r, |n| Some(*n));
        if self.db.audit_active() {
            self.db
                .emit_audit(kind, sql, Some(self.meta.sql_name()), r.as_ref().copied());
        }
        r
    }

    /// Runs one bulk statement: `text[]` arrays first, then untyped scalars.
    async fn run_bulk(&self, kind: AuditKind, sql: &str, params: &[Param]) -> Result<Vec<Row>> {
        let conn = self.db.conn().await?;
        conn.queries.fetch_add(1, Ordering::Relaxed);
        let typed = typed_params(params);
        let t = crate::trace::start(&conn.trace, sql);
        let r = self
            .db
            .timed(&conn, async {
                conn.client
                    .query_typed(sql, &typed)
                    .await
                    .map_err(|e| conn.pg_error(e))
            })
            .await;
        crate::trace::finish(t, sql, &r, |rows| Some(rows.len() as u64));
        if self.db.audit_active() {
            self.db.emit_audit(
                kind,
                sql,
                Some(self.meta.sql_name()),
                r.as_ref().map(|rows| rows.len() as u64),
            );
        }
        let raw = r?;
        let cols = match raw.first() {
            Some(r) => Arc::new(Columns::from_pg(r.columns())),
            None => Arc::new(Columns::default()),
        };
        Ok(raw.into_iter().map(|r| Row::new(cols.clone(), r)).collect())
    }

    /// The group's columns as parameters `$1..$k` (binary arrays of the columns' types where
    /// they are built-in, `text[]` otherwise) and the `SELECT` that casts them.
    fn unnest_select(&self, g: &mut Group) -> (String, Vec<Param>) {
        let columns = std::mem::take(&mut g.columns);
        let params: Vec<Param> = g
            .cols
            .iter()
            .zip(columns)
            .map(|(i, vals)| column_param(self.col(*i).type_oid, vals))
            .collect();
        let casts: Vec<String> = g
            .cols
            .iter()
            .map(|i| format!("v.{}::{}", self.qcol(*i), self.col(*i).type_name))
            .collect();
        let params_sql: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(n, p)| format!("${}::{}", n + 1, param_sql_type(p)))
            .collect();
        let aliases: Vec<String> = g.cols.iter().map(|i| self.qcol(*i)).collect();
        let sql = format!(
            "SELECT {} FROM unnest({}) AS v({})",
            casts.join(", "),
            params_sql.join(", "),
            aliases.join(", ")
        );
        (sql, params)
    }

    /// The set-based `INSERT` (or upsert) of one group; `returning` adds `RETURNING *`.
    fn insert_group_sql(
        &self,
        g: &mut Group,
        upsert: Option<&UpsertOptions>,
        returning: bool,
    ) -> Result<(String, Vec<Param>)> {
        let tbl = self.meta.sql_name();
        let ret = if returning { " RETURNING *" } else { "" };
        if g.cols.is_empty() && upsert.is_none() {
            let sql = format!(
                "INSERT INTO {tbl} SELECT FROM generate_series(1, {}){ret}",
                g.pos.len()
            );
            return Ok((sql, Vec::new()));
        }
        if g.cols.is_empty() {
            return Err(Error::usage(
                "upserts: a record with no columns cannot be upserted",
            ));
        }
        let (select, mut params) = self.unnest_select(g);
        let names: Vec<String> = g.cols.iter().map(|i| self.qcol(*i)).collect();
        let mut sql = format!(
            "INSERT INTO {tbl} AS t ({}){} {select}",
            names.join(", "),
            self.overriding(&g.cols)
        );
        if let Some(opts) = upsert {
            let mut q = Sql::with_args(vec![Value::Null; params.len()]);
            sql.push_str(&self.conflict_clause(&mut q, &g.cols, opts)?);
            params.extend(
                q.args
                    .iter()
                    .skip(g.cols.len())
                    .map(|v| Param::Untyped(text_of(v))),
            );
        }
        sql.push_str(ret);
        Ok((sql, params))
    }

    fn update_group_sql(&self, g: &mut Group, pk: &[usize]) -> Result<(String, Vec<Param>)> {
        let (_, params) = self.unnest_select(g);
        let tbl = self.meta.sql_name();
        let set: Vec<usize> = g.cols.iter().copied().filter(|i| !pk.contains(i)).collect();
        let assigns: Vec<String> = if set.is_empty() {
            vec![format!("{c} = t.{c}", c = self.qcol(pk[0]))]
        } else {
            set.iter()
                .map(|i| format!("{c} = v.{c}::{}", self.col(*i).type_name, c = self.qcol(*i)))
                .collect()
        };
        let mut q = Sql::with_args(vec![Value::Null; params.len()]);
        let mut conds: Vec<String> = pk
            .iter()
            .map(|i| {
                format!(
                    "t.{c} = v.{c}::{}",
                    self.col(*i).type_name,
                    c = self.qcol(*i)
                )
            })
            .collect();
        self.scope_conds(&mut q, &mut conds, Some("t"));
        let params_sql: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(n, p)| format!("${}::{}", n + 1, param_sql_type(p)))
            .collect();
        let aliases: Vec<String> = g.cols.iter().map(|i| self.qcol(*i)).collect();
        let sql = format!(
            "UPDATE {tbl} AS t SET {} FROM unnest({}) AS v({}){} RETURNING t.*",
            assigns.join(", "),
            params_sql.join(", "),
            aliases.join(", "),
            where_clause(&conds)
        );
        let mut params = params;
        params.extend(
            q.args
                .iter()
                .skip(g.cols.len())
                .map(|v| Param::Untyped(text_of(v))),
        );
        Ok((sql, params))
    }
}

/// The parameters of a bulk statement with their types: `text[]` for the arrays, unknown
/// (inferred by the server) for the scalars.
fn typed_params(params: &[Param]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|p| (p as &(dyn ToSql + Sync), param_type(p)))
        .collect()
}

/// How a bulk array parameter is written in SQL (`$1::int8[]`).
fn param_sql_type(p: &Param) -> String {
    match p {
        Param::Typed { elem, .. } => format!("{}[]", elem.name()),
        _ => "text[]".to_string(),
    }
}

/// The type a bulk parameter is sent as.
fn param_type(p: &Param) -> Type {
    match p {
        Param::Array(_) => Type::TEXT_ARRAY,
        Param::Typed { elem, .. } => array_of(elem).unwrap_or(Type::TEXT_ARRAY),
        Param::Untyped(_) => Type::UNKNOWN,
    }
}

fn kind_name(k: AuditKind) -> &'static str {
    match k {
        AuditKind::Update => "updates",
        AuditKind::Upsert => "upserts",
        _ => "inserts",
    }
}

/// `inserts` of more records than this streams them through one COPY in a transaction
/// (`copy_records`); fewer go without the transaction's two round trips.
const STREAM_AFTER: usize = 1024;

/// COPY data is sent in chunks of about this size.
const CHUNK: usize = 1 << 16;

/// The binary COPY header: signature, flags, header extension length.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Records for `COPY` grouped by the columns they give, values converted once to their
/// columns' types on the way in.
#[derive(Default)]
struct Grouper {
    groups: Vec<CopyGroup>,
    by_cols: HashMap<Vec<usize>, usize>,
    last: Option<usize>,
    /// The last record's field names and their columns.
    names: Vec<(compact_str::CompactString, usize)>,
}

impl Grouper {
    /// Adds a record and returns the index of its group.
    fn add(&mut self, t: &Table, rec: Record, types: &[Option<Type>], what: &str) -> Result<usize> {
        let pairs = t.copy_cols(rec, what, &mut self.names)?;
        Ok(self.add_pairs(pairs, types))
    }

    /// Adds a record's `(column, value)` pairs (from [`Table::copy_cols`]) and returns the
    /// index of its group.
    fn add_pairs(&mut self, mut pairs: Vec<(usize, Value)>, types: &[Option<Type>]) -> usize {
        let same = |g: &CopyGroup| g.cols.iter().copied().eq(pairs.iter().map(|p| p.0));
        let gi = match self.last {
            Some(gi) if same(&self.groups[gi]) => gi,
            _ => {
                let cols: Vec<usize> = pairs.iter().map(|p| p.0).collect();
                match self.by_cols.get(&cols) {
                    Some(&gi) => gi,
                    None => {
                        self.by_cols.insert(cols.clone(), self.groups.len());
                        self.groups.push(CopyGroup {
                            cols,
                            rows: Vec::new(),
                            binary: true,
                        });
                        self.groups.len() - 1
                    }
                }
            }
        };
        self.last = Some(gi);
        let cg = &mut self.groups[gi];
        if !coerce_row(&mut pairs, types) {
            cg.binary = false;
        }
        cg.rows.push(pairs);
        gi
    }
}

/// Converts a row's values to their columns' types in place; false when one of them must go
/// as text (no type known, a value only the server can parse, a text-format value), in
/// which case the rest are still converted where they can be.
fn coerce_row(pairs: &mut [(usize, Value)], types: &[Option<Type>]) -> bool {
    let mut binary = true;
    for (i, v) in pairs.iter_mut() {
        let Some(ty) = types.get(*i).and_then(Option::as_ref) else {
            binary = false;
            continue;
        };
        if encodes_directly(v, ty) {
            continue;
        }
        match v.coerce_to(ty) {
            Ok(Cow::Owned(c)) => *v = c,
            Ok(Cow::Borrowed(_)) => {}
            // Left to the server to parse (and to report).
            Err(_) => binary = false,
        }
        if binary && v.needs_text_format() {
            binary = false;
        }
    }
    binary
}

/// A group of records for `COPY`, values already converted to their columns' types.
struct CopyGroup {
    /// The columns the group's records give, in table order.
    cols: Vec<usize>,
    /// Each record's `(column, value)` pairs, values converted to the columns' types.
    rows: Vec<Vec<(usize, Value)>>,
    /// Every value has a binary form (else the group goes as text).
    binary: bool,
}

/// True for the common values that already have their column's built-in type and are
/// written as they are (the callgrind profile of a 20,000-row `inserts` showed `coerce_to`,
/// `needs_text_format` and `encode_coerced` at ~300 instructions a value, for a no-op).
pub(crate) fn encodes_directly(v: &Value, ty: &Type) -> bool {
    match v {
        Value::Null => true,
        // Python ints arrive as `Int8`: written as `int4` / `int2` when they fit.
        Value::Int8(x) => {
            *ty == Type::INT8
                || (*ty == Type::INT4 && i32::try_from(*x).is_ok())
                || (*ty == Type::INT2 && i16::try_from(*x).is_ok())
        }
        Value::Int4(_) => *ty == Type::INT4,
        Value::Int2(_) => *ty == Type::INT2,
        Value::Bool(_) => *ty == Type::BOOL,
        Value::Float8(_) => *ty == Type::FLOAT8,
        Value::Text(_) => *ty == Type::TEXT || *ty == Type::VARCHAR,
        _ => false,
    }
}

/// Appends one row in binary COPY format; the values are already converted to `types`.
pub(crate) fn encode_binary_row(
    buf: &mut BytesMut,
    vals: &[(usize, Value)],
    types: &[Type],
) -> std::result::Result<(), Box<dyn std::error::Error + Sync + Send>> {
    buf.put_i16(i16::try_from(vals.len())?);
    for ((_, v), ty) in vals.iter().zip(types) {
        encode_binary_field(buf, v, ty)?;
    }
    Ok(())
}

/// Appends one field of a binary COPY row (length, then bytes; -1 for NULL) for a value
/// already converted to `ty`.
pub(crate) fn encode_binary_field(
    buf: &mut BytesMut,
    v: &Value,
    ty: &Type,
) -> std::result::Result<(), Box<dyn std::error::Error + Sync + Send>> {
    // What `encode_coerced` writes, without its checks, for `encodes_directly` values.
    match v {
        Value::Null => {
            buf.put_i32(-1);
            return Ok(());
        }
        Value::Int8(x) if *ty == Type::INT8 => {
            buf.put_i32(8);
            buf.put_i64(*x);
            return Ok(());
        }
        Value::Int4(x) if *ty == Type::INT4 => {
            buf.put_i32(4);
            buf.put_i32(*x);
            return Ok(());
        }
        Value::Int8(x) if *ty == Type::INT4 => {
            if let Ok(x) = i32::try_from(*x) {
                buf.put_i32(4);
                buf.put_i32(x);
                return Ok(());
            }
        }
        Value::Int8(x) if *ty == Type::INT2 => {
            if let Ok(x) = i16::try_from(*x) {
                buf.put_i32(2);
                buf.put_i16(x);
                return Ok(());
            }
        }
        Value::Text(t) if *ty == Type::TEXT || *ty == Type::VARCHAR => {
            buf.put_i32(i32::try_from(t.len())?);
            buf.put_slice(t.as_bytes());
            return Ok(());
        }
        _ => {}
    }
    let at = buf.len();
    buf.put_i32(0);
    match v.encode_coerced(ty, buf)? {
        IsNull::Yes => {
            buf.truncate(at);
            buf.put_i32(-1);
        }
        IsNull::No => {
            let len = i32::try_from(buf.len() - at - 4)?;
            buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
    }
    Ok(())
}

/// Appends one row in COPY text format.
fn encode_text_row(buf: &mut BytesMut, vals: &[(usize, Value)]) {
    for (j, (_, v)) in vals.iter().enumerate() {
        if j > 0 {
            buf.extend_from_slice(b"\t");
        }
        push_copy_text(buf, v);
    }
    buf.extend_from_slice(b"\n");
}

/// Appends `v` in COPY text format: `\N` for NULL, backslash escapes for `\`, tab, newline
/// and carriage return.
fn push_copy_text(buf: &mut BytesMut, v: &Value) {
    if v.is_null() {
        buf.extend_from_slice(b"\\N");
        return;
    }
    // Display straight into the buffer, escaping on the way: no String per value.
    let _ = std::fmt::Write::write_fmt(&mut CopyEscaper(buf), format_args!("{v}"));
}

/// Writes text into a buffer with COPY text-format escapes.
struct CopyEscaper<'a>(&'a mut BytesMut);

impl std::fmt::Write for CopyEscaper<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, b) in bytes.iter().enumerate() {
            let esc: &[u8] = match b {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                _ => continue,
            };
            self.0.extend_from_slice(&bytes[start..i]);
            self.0.extend_from_slice(esc);
            start = i + 1;
        }
        self.0.extend_from_slice(&bytes[start..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes() {
        let mut b = BytesMut::new();
        push_copy_text(&mut b, &Value::from("a\\b\tc\nd\re"));
        b.extend_from_slice(b"|");
        push_copy_text(&mut b, &Value::Null);
        assert_eq!(&b[..], b"a\\\\b\\tc\\nd\\re|\\N");
    }
}
