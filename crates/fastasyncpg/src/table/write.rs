//! Writes of single rows: `insert`, `update`, `upsert`, `delete`, `delete_where`. Every
//! statement ends in `RETURNING *` and gives back the rows as the database wrote them.

use super::{where_clause, IntoKey, Record, Sql, Table};
use crate::args::IntoArgs;
use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::schema::Identity;
use crate::sql::quote_ident;
use crate::value::Value;

/// Options of [`Table::upsert_with`] and [`Table::upserts_with`].
///
/// ```
/// use fastasyncpg::UpsertOptions;
/// let by_email = UpsertOptions::new().on(&["email"]);
/// let keep_existing = UpsertOptions::new().do_nothing();
/// let by_constraint = UpsertOptions::new().on_constraint("users_email_key").update_only(&["name"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpsertOptions {
    pub(crate) on: Option<Vec<String>>,
    pub(crate) constraint: Option<String>,
    pub(crate) do_nothing: bool,
    pub(crate) update_only: Option<Vec<String>>,
}

impl UpsertOptions {
    /// Conflict on the primary key, update every other column given.
    pub fn new() -> Self {
        UpsertOptions::default()
    }

    /// Conflict on these columns (a unique index or constraint over exactly them) instead of
    /// the primary key.
    pub fn on(mut self, cols: &[&str]) -> Self {
        self.on = Some(cols.iter().map(|c| c.to_string()).collect());
        self.constraint = None;
        self
    }

    /// Conflict on the named unique (or exclusion) constraint.
    pub fn on_constraint(mut self, name: &str) -> Self {
        self.constraint = Some(name.to_string());
        self.on = None;
        self
    }

    /// Keep the existing row on conflict (`ON CONFLICT DO NOTHING`).
    pub fn do_nothing(mut self) -> Self {
        self.do_nothing = true;
        self
    }

    /// On conflict, update only these columns (default: every column given, except the
    /// conflict columns).
    pub fn update_only(mut self, cols: &[&str]) -> Self {
        self.update_only = Some(cols.iter().map(|c| c.to_string()).collect());
        self
    }
}

impl Table {
    /// The record's columns for an insert: scope values added, and a NULL primary key column
    /// that has a default or identity left out, so the database generates it.
    pub(crate) fn insert_cols(&self, rec: &Record, what: &str) -> Result<Vec<(usize, Value)>> {
        self.writable(what)?;
        let mut cols = self.resolve_writable(rec)?;
        self.apply_scope(&mut cols, what)?;
        cols.retain(|(i, v)| {
            let c = self.col(*i);
            !(v.is_null() && c.has_default() && self.meta.primary_key.contains(&c.name))
        });
        Ok(cols)
    }

    /// `OVERRIDING SYSTEM VALUE` when a `GENERATED ALWAYS` identity column is given a value.
    pub(crate) fn overriding(&self, cols: &[usize]) -> &'static str {
        if cols
            .iter()
            .any(|i| self.col(*i).identity == Some(Identity::Always))
        {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        }
    }

    /// Inserts one row and returns it as stored (generated ids and defaults filled in). Columns
    /// left out get their defaults; an empty record inserts `DEFAULT VALUES`. A scoped handle
    /// fills in its scope columns.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::record;
    /// let c = db.t("cat")?.insert(record! { name: "meow", weight: 6, uid: 2 }).await?;
    /// let id: i64 = c.get("id")?;
    /// # Ok(()) }
    /// ```
    pub async fn insert(&self, rec: impl Into<Record>) -> Result<Row> {
        let cols = self.insert_cols(&rec.into(), "insert")?;
        let mut q = Sql::default();
        q.text = if cols.is_empty() {
            format!(
                "INSERT INTO {} DEFAULT VALUES RETURNING *",
                self.meta.sql_name()
            )
        } else {
            let idx: Vec<usize> = cols.iter().map(|(i, _)| *i).collect();
            let names: Vec<String> = idx.iter().map(|i| self.qcol(*i)).collect();
            let ps: Vec<String> = cols.into_iter().map(|(i, v)| q.col_arg(i, v)).collect();
            format!(
                "INSERT INTO {} ({}){} VALUES ({}) RETURNING *",
                self.meta.sql_name(),
                names.join(", "),
                self.overriding(&idx),
                ps.join(", ")
            )
        };
        let (_, rows) = self.run(Some(AuditKind::Insert), &q).await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| Error::decode("INSERT ... RETURNING returned no row"))
    }

    /// Updates the row whose primary key is in `rec` with the record's other columns and
    /// returns it. Every primary key column must be in the record. A table without a primary
    /// key is an error (use [`update_where`](Self::update_where)); a row that does not exist,
    /// or is outside this handle's scope, is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    pub async fn update(&self, rec: impl Into<Record>) -> Result<Row> {
        self.writable("update")?;
        let pk = self.pk_idx(
            "update (a table without a primary key cannot be updated by key: use update_where)",
        )?;
        let cols = self.resolve_writable(&rec.into())?;
        let mut key = Vec::with_capacity(pk.len());
        for k in &pk {
            match cols.iter().find(|(i, _)| i == k) {
                Some((_, v)) => key.push(v.clone()),
                None => {
                    return Err(Error::usage(format!(
                        "update: the record has no value for primary key column {} of {}",
                        self.qcol(*k),
                        self.meta.sql_name()
                    )))
                }
            }
        }
        let set: Vec<(usize, Value)> = cols.into_iter().filter(|(i, _)| !pk.contains(i)).collect();
        self.update_by_key(crate::Key::new(key), set, "update")
            .await
    }

    /// Updates the row with primary key `pk`, setting the columns of `rec` (which may include
    /// key columns, to change the key). Errors as [`update`](Self::update).
    pub async fn update_with(&self, pk: impl IntoKey, rec: impl Into<Record>) -> Result<Row> {
        self.writable("update_with")?;
        let set = self.resolve_writable(&rec.into())?;
        self.update_by_key(pk.into_key(), set, "update_with").await
    }

    async fn update_by_key(
        &self,
        key: crate::Key,
        set: Vec<(usize, Value)>,
        what: &str,
    ) -> Result<Row> {
        self.check_scope_unchanged(&set, what)?;
        let set: Vec<(usize, Value)> = set
            .into_iter()
            .filter(|(i, _)| !self.scope.iter().any(|(s, _)| s == i))
            .collect();
        if set.is_empty() {
            // Nothing to change: the row as it is (still confined to the scope).
            return self.at(key).await;
        }
        let key_cols = self.key_cols(key.clone(), what)?;
        let mut q = Sql::default();
        let assigns: Vec<String> = set
            .into_iter()
            .map(|(i, v)| format!("{} = {}", self.qcol(i), q.col_arg(i, v)))
            .collect();
        let mut conds = Vec::new();
        self.key_conds(&mut q, &mut conds, key_cols);
        self.scope_conds(&mut q, &mut conds, None);
        q.text = format!(
            "UPDATE {} SET {}{} RETURNING *",
            self.meta.sql_name(),
            assigns.join(", "),
            where_clause(&conds)
        );
        let (_, rows) = self.run(Some(AuditKind::Update), &q).await?;
        rows.into_iter().next().ok_or_else(|| self.not_found(&key))
    }

    /// A write through a scoped handle may not move a row out of its scope.
    pub(crate) fn check_scope_unchanged(&self, set: &[(usize, Value)], what: &str) -> Result<()> {
        for (i, v) in set {
            if let Some((_, sv)) = self.scope.iter().find(|(s, _)| s == i) {
                if !super::same_value(v, sv) {
                    return Err(Error::usage(format!(
                        "{what}: column {} is {} in the record but the handle is scoped to {}",
                        self.qcol(*i),
                        v,
                        sv
                    )));
                }
            }
        }
        Ok(())
    }

    /// Sets the columns of `rec` on every row in scope matching `where_` (any placeholder
    /// style) and returns the updated rows. An empty `where_` updates every row in scope.
    pub async fn update_where(
        &self,
        rec: impl Into<Record>,
        where_: &str,
        args: impl IntoArgs,
    ) -> Result<Vec<Row>> {
        self.writable("update_where")?;
        let set = self.resolve_writable(&rec.into())?;
        self.check_scope_unchanged(&set, "update_where")?;
        if set.is_empty() {
            return Err(Error::usage("update_where: the record sets no column"));
        }
        let (mut q, mut conds) = self.user_where(where_, args)?;
        let assigns: Vec<String> = set
            .into_iter()
            .map(|(i, v)| format!("{} = {}", self.qcol(i), q.col_arg(i, v)))
            .collect();
        self.scope_conds(&mut q, &mut conds, None);
        q.text = format!(
            "UPDATE {} SET {}{} RETURNING *",
            self.meta.sql_name(),
            assigns.join(", "),
            where_clause(&conds)
        );
        Ok(self.run(Some(AuditKind::Update), &q).await?.1)
    }

    /// The user's where clause converted to `$n` form, as the first condition.
    pub(crate) fn user_where(
        &self,
        where_: &str,
        args: impl IntoArgs,
    ) -> Result<(Sql, Vec<String>)> {
        if where_.trim().is_empty() {
            return Ok((Sql::default(), Vec::new()));
        }
        let (w, args) = super::convert_where(where_, args)?;
        Ok((Sql::with_args(args), vec![format!("({w})")]))
    }

    /// Inserts `rec`, or updates the existing row with the same primary key, and returns the
    /// row (the seed's `upsert`). A record without the key columns is a plain insert. On a
    /// scoped handle the record gets the scope values, and an existing row outside the scope is
    /// left alone ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound)).
    pub async fn upsert(&self, rec: impl Into<Record>) -> Result<Row> {
        let rec = rec.into();
        self.upsert_with(&rec, UpsertOptions::new())
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "upsert: the existing row of {} is outside this handle's scope ({})",
                    self.meta.sql_name(),
                    self.scope_text()
                ))
            })
    }

    /// [`upsert`](Self::upsert) with options: another conflict target (unique columns or a
    /// constraint), `DO NOTHING`, or only some columns updated. Returns `None` when nothing was
    /// written (`do_nothing` and the row existed, or the existing row is out of scope).
    pub async fn upsert_with(
        &self,
        rec: impl Into<Record>,
        opts: UpsertOptions,
    ) -> Result<Option<Row>> {
        let cols = self.insert_cols(&rec.into(), "upsert")?;
        let idx: Vec<usize> = cols.iter().map(|(i, _)| *i).collect();
        let mut q = Sql::default();
        let ps: Vec<String> = cols.into_iter().map(|(i, v)| q.col_arg(i, v)).collect();
        let values = if idx.is_empty() {
            " DEFAULT VALUES".to_string()
        } else {
            format!(
                " ({}){} VALUES ({})",
                idx.iter()
                    .map(|i| self.qcol(*i))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.overriding(&idx),
                ps.join(", ")
            )
        };
        let conflict = self.conflict_clause(&mut q, &idx, &opts)?;
        q.text = format!(
            "INSERT INTO {} AS t{values}{conflict} RETURNING *",
            self.meta.sql_name()
        );
        let (_, rows) = self.run(Some(AuditKind::Upsert), &q).await?;
        Ok(rows.into_iter().next())
    }

    /// `ON CONFLICT (...) DO UPDATE SET ... WHERE <scope>` for the given inserted columns
    /// (the target table aliased `t`).
    pub(crate) fn conflict_clause(
        &self,
        q: &mut Sql,
        idx: &[usize],
        opts: &UpsertOptions,
    ) -> Result<String> {
        let target_idx: Vec<usize> = match (&opts.on, &opts.constraint) {
            (Some(cols), _) => cols
                .iter()
                .map(|c| self.col_idx(c))
                .collect::<Result<_>>()?,
            (None, Some(_)) => Vec::new(),
            (None, None) => {
                self.pk_idx("upsert (give the conflict columns with UpsertOptions::on)")?
            }
        };
        let target = match &opts.constraint {
            Some(c) => format!(" ON CONFLICT ON CONSTRAINT {}", quote_ident(c)),
            None => {
                format!(
                    " ON CONFLICT ({})",
                    target_idx
                        .iter()
                        .map(|i| self.qcol(*i))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        if opts.do_nothing {
            return Ok(format!("{target} DO NOTHING"));
        }
        let update: Vec<usize> = match &opts.update_only {
            Some(cols) => cols
                .iter()
                .map(|c| self.col_idx(c))
                .collect::<Result<_>>()?,
            None => idx
                .iter()
                .copied()
                .filter(|i| !target_idx.contains(i) && !self.scope.iter().any(|(s, _)| s == i))
                .collect(),
        };
        let assigns: Vec<String> = if update.is_empty() {
            // Nothing to change, but the existing row must still come back: a no-op update.
            match idx.first().or(target_idx.first()) {
                Some(&i) => vec![format!("{c} = t.{c}", c = self.qcol(i))],
                None => return Ok(format!("{target} DO NOTHING")),
            }
        } else {
            update
                .iter()
                .map(|i| format!("{c} = EXCLUDED.{c}", c = self.qcol(*i)))
                .collect()
        };
        let mut conds = Vec::new();
        self.scope_conds(q, &mut conds, Some("t"));
        Ok(format!(
            "{target} DO UPDATE SET {}{}",
            assigns.join(", "),
            where_clause(&conds)
        ))
    }

    /// Deletes the row with primary key `pk` and returns it; a missing (or out-of-scope) row is
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    pub async fn delete(&self, pk: impl IntoKey) -> Result<Row> {
        self.writable("delete")?;
        let key = pk.into_key();
        let key_cols = self.key_cols(key.clone(), "delete")?;
        let mut q = Sql::default();
        let mut conds = Vec::new();
        self.key_conds(&mut q, &mut conds, key_cols);
        self.scope_conds(&mut q, &mut conds, None);
        q.text = format!(
            "DELETE FROM {}{} RETURNING *",
            self.meta.sql_name(),
            where_clause(&conds)
        );
        let (_, rows) = self.run(Some(AuditKind::Delete), &q).await?;
        rows.into_iter().next().ok_or_else(|| self.not_found(&key))
    }

    /// Deletes every row in scope matching `where_` (any placeholder style; `""` deletes every
    /// row in scope) and returns the deleted rows.
    pub async fn delete_where(&self, where_: &str, args: impl IntoArgs) -> Result<Vec<Row>> {
        self.writable("delete_where")?;
        let (mut q, mut conds) = self.user_where(where_, args)?;
        self.scope_conds(&mut q, &mut conds, None);
        q.text = format!(
            "DELETE FROM {}{} RETURNING *",
            self.meta.sql_name(),
            where_clause(&conds)
        );
        Ok(self.run(Some(AuditKind::Delete), &q).await?.1)
    }
}
