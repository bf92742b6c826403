//! Reads: `get` / `at` by primary key, `rows_where` (a builder you await), `count`,
//! `selectone`, `pks_and_rows_where`, `groupby`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::{where_clause, IntoKey, Key, Sql, Table};
use crate::args::{Args, IntoArgs};
use crate::error::{Error, ErrorKind, Result};
use crate::results::Results;
use crate::row::Row;
use crate::sql::quote_ident;

impl Table {
    /// The row with primary key `pk`, or `None` (also when it is outside this handle's scope).
    /// Composite keys take a tuple, in key order: `playlist_track.get((1, 3390))`.
    pub async fn get(&self, pk: impl IntoKey) -> Result<Option<Row>> {
        let key = self.key_cols(pk.into_key(), "get")?;
        let mut q = Sql::default();
        let mut conds = Vec::new();
        self.key_conds(&mut q, &mut conds, key);
        self.scope_conds(&mut q, &mut conds, None);
        q.text = format!(
            "SELECT * FROM {}{}",
            self.meta.sql_name(),
            where_clause(&conds)
        );
        Ok(self.db.run_query_first_unaudited(&q.text, &q.args).await?.0)
    }

    /// The row with primary key `pk` (the seed's `table[pk]`); a missing row is an
    /// [`ErrorKind::NotFound`] error naming the table and key.
    pub async fn at(&self, pk: impl IntoKey) -> Result<Row> {
        let key = pk.into_key();
        self.get(key.clone())
            .await?
            .ok_or_else(|| self.not_found(&key))
    }

    /// Rows matching `where_` (SQL after `WHERE`, placeholders `$n`, `?` or `:name` with
    /// `args`; `""` for all rows), within this handle's scope. Refine with
    /// [`order_by`](RowsWhere::order_by), [`select`](RowsWhere::select),
    /// [`limit`](RowsWhere::limit) and [`offset`](RowsWhere::offset), then `.await`.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::args;
    /// let rows = db.t("track")?.rows_where("milliseconds > ?", args![300_000]).order_by("name").limit(5).await?;
    /// # Ok(()) }
    /// ```
    pub fn rows_where(&self, where_: &str, args: impl IntoArgs) -> RowsWhere {
        RowsWhere {
            table: self.clone(),
            where_: where_.to_string(),
            args: args.into_args(),
            order_by: None,
            select: None,
            group_by: None,
            limit: None,
            offset: None,
            invalid: None,
        }
    }

    /// All rows in scope (the seed's `table()`): `artist.rows().limit(3).await`.
    pub fn rows(&self) -> RowsWhere {
        self.rows_where("", ())
    }

    /// Number of rows in scope.
    pub async fn count(&self) -> Result<i64> {
        self.count_where("", ()).await
    }

    /// Number of rows in scope matching `where_` (any placeholder style).
    pub async fn count_where(&self, where_: &str, args: impl IntoArgs) -> Result<i64> {
        let (_, rows) = self
            .rows_where(where_, args)
            .select("count(*)")
            .run()
            .await?;
        let row = rows
            .into_iter()
            .next()
            .ok_or_else(|| Error::decode("count(*) returned no row"))?;
        row.get(0)
    }

    /// The one row matching `where_`: none is [`ErrorKind::NotFound`], several is
    /// [`ErrorKind::NotUnique`] (it fetches at most two rows to tell).
    pub async fn selectone(&self, where_: &str, args: impl IntoArgs) -> Result<Row> {
        let (sql, rows) = self
            .rows_where(where_, args)
            .limit(2)
            .run_with_sql()
            .await?;
        let mut it = rows.into_iter();
        match (it.next(), it.next()) {
            (Some(r), None) => Ok(r),
            (None, _) => Err(Error::new(
                ErrorKind::NotFound,
                format!("selectone: no row in {}: {sql}", self.meta.sql_name()),
            )),
            (Some(_), Some(_)) => Err(Error::new(
                ErrorKind::NotUnique,
                format!(
                    "selectone: more than one row in {}: {sql}",
                    self.meta.sql_name()
                ),
            )),
        }
    }

    /// Like [`rows_where`](Self::rows_where), with each row's primary key (a [`Key`]: one value,
    /// or several for composite keys).
    pub async fn pks_and_rows_where(
        &self,
        where_: &str,
        args: impl IntoArgs,
    ) -> Result<Vec<(Key, Row)>> {
        self.rows_where(where_, args).with_pk().await
    }

    /// Rows grouped by `cols` with the aggregate expressions `aggs` (SQL, e.g.
    /// `"count(*) AS n, max(total) AS top"`), ordered by the group columns. Add a filter with
    /// [`RowsWhere::filter`] before awaiting.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let per_artist = db.t("album")?.groupby(&["artist_id"], "count(*) AS n").limit(5).await?;
    /// # Ok(()) }
    /// ```
    pub fn groupby(&self, cols: &[&str], aggs: &str) -> RowsWhere {
        let quoted: Result<Vec<String>> = cols
            .iter()
            .map(|c| self.col_idx(c).map(|_| quote_ident(c)))
            .collect();
        let mut rw = self.rows();
        match quoted {
            Ok(q) => {
                let keys = q.join(", ");
                let select = match (keys.is_empty(), aggs.trim().is_empty()) {
                    (true, _) => aggs.to_string(),
                    (false, true) => keys.clone(),
                    (false, false) => format!("{keys}, {aggs}"),
                };
                rw.select = Some(select);
                if !keys.is_empty() {
                    rw.group_by = Some(keys.clone());
                    rw.order_by = Some(keys);
                }
            }
            Err(e) => rw.invalid = Some(e.message().to_string()),
        }
        rw
    }
}

/// A query on a table, built by [`Table::rows_where`], [`Table::rows`] or [`Table::groupby`]
/// and run by awaiting it (`Output = Result<Results>`).
#[must_use = "a query does nothing until awaited"]
#[derive(Clone)]
pub struct RowsWhere {
    table: Table,
    where_: String,
    args: Args,
    order_by: Option<String>,
    select: Option<String>,
    group_by: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
    /// An unknown column named by `groupby`, reported when run.
    invalid: Option<String>,
}

impl RowsWhere {
    /// `ORDER BY` this SQL (e.g. `"name DESC"`).
    pub fn order_by(mut self, order_by: &str) -> Self {
        self.order_by = Some(order_by.to_string());
        self
    }

    /// Select this SQL instead of `*` (e.g. `"artist_id, name"`).
    pub fn select(mut self, select: &str) -> Self {
        self.select = Some(select.to_string());
        self
    }

    /// At most `n` rows; `limit(0)` returns no rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skip the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Replaces the where clause and its arguments (useful after [`Table::groupby`]).
    pub fn filter(mut self, where_: &str, args: impl IntoArgs) -> Self {
        self.where_ = where_.to_string();
        self.args = args.into_args();
        self
    }

    /// The table this query reads.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The SQL and arguments that would run (the seed's `debug=True`).
    pub fn sql(&self) -> Result<(String, Vec<crate::Value>)> {
        let t = &self.table;
        if let Some(msg) = &self.invalid {
            return Err(Error::new(ErrorKind::UnknownName, msg.clone()));
        }
        let select = self.select.as_deref().unwrap_or("*");
        let mut conds = Vec::new();
        let mut q = if self.where_.trim().is_empty() {
            Sql::default()
        } else {
            let (w, args) = super::convert_where(&self.where_, self.args.clone())?;
            conds.push(format!("({w})"));
            Sql::with_args(args)
        };
        t.scope_conds(&mut q, &mut conds, None);
        let mut sql = format!(
            "SELECT {select} FROM {}{}",
            t.meta.sql_name(),
            where_clause(&conds)
        );
        if let Some(g) = &self.group_by {
            sql.push_str(&format!(" GROUP BY {g}"));
        }
        if let Some(o) = &self.order_by {
            sql.push_str(&format!(" ORDER BY {o}"));
        }
        if let Some(n) = self.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        if let Some(n) = self.offset {
            sql.push_str(&format!(" OFFSET {n}"));
        }
        Ok((sql, q.args))
    }

    async fn run_with_sql(self) -> Result<(String, Vec<Row>)> {
        let (text, args) = self.sql()?;
        let q = Sql {
            text,
            args,
            cols: Vec::new(),
        };
        let (_, rows) = self.table.run(None, &q).await?;
        Ok((q.text, rows))
    }

    async fn run(self) -> Result<(std::sync::Arc<crate::row::Columns>, Vec<Row>)> {
        let (text, args) = self.sql()?;
        self.table
            .run(
                None,
                &Sql {
                    text,
                    args,
                    cols: Vec::new(),
                },
            )
            .await
    }

    /// Runs the query and returns its rows.
    pub async fn fetch(self) -> Result<Results> {
        let (cols, rows) = self.run().await?;
        Ok(Results::new(cols, rows))
    }

    /// Runs the query and returns `(primary key, row)` pairs (the seed's `with_pk=True`). The
    /// selected columns must include the primary key.
    pub async fn with_pk(self) -> Result<Vec<(Key, Row)>> {
        let t = self.table.clone();
        t.pk_idx("with_pk")?;
        let (_, rows) = self.run().await?;
        rows.into_iter().map(|r| Ok((t.key_of(&r)?, r))).collect()
    }
}

impl IntoFuture for RowsWhere {
    type Output = Result<Results>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Results>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.fetch())
    }
}
