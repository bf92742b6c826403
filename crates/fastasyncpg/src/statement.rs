//! Prepared statements (asyncpg's `conn.prepare`): parameter and column introspection, the
//! query calls, `explain`, and the status of the last run.
//!
//! A [`PreparedStatement`] keeps its SQL (placeholders already converted to `$n`), the
//! parameter types and the result columns. Running it goes through the handle it came from, so
//! on a pool it works on whichever connection runs it: each connection prepares it once and
//! keeps it in its statement cache. In [`StatementCacheMode::Unnamed`] the description is
//! read inside a short transaction whose statement is closed before it ends (so behind PgBouncer
//! it never outlives one server connection), and each run is an unnamed statement.

use std::sync::{Arc, Mutex};

use tokio_postgres::types::Type;

use crate::args::IntoArgs;
use crate::config::StatementCacheMode;
use crate::cursor::Cursor;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::row::{Columns, Row};
use crate::sql::placeholders::{plan, ArgSource, Plan};
use crate::value::{FromValue, Value};

/// One parameter of a prepared statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// `$n`'s number, from 1.
    pub position: usize,
    /// The `:name` it was written as, when it was named.
    pub name: Option<String>,
    /// The type PostgreSQL inferred for it.
    pub pg_type: Type,
}

/// A statement prepared with [`Database::prepare`].
#[derive(Clone)]
pub struct PreparedStatement {
    db: Database,
    plan: Arc<Plan>,
    params: Arc<Vec<Parameter>>,
    columns: Arc<Columns>,
    status: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for PreparedStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedStatement")
            .field("query", &self.plan.sql)
            .field("parameters", &self.params)
            .field("columns", &self.columns.names())
            .finish()
    }
}

impl Database {
    /// Prepares `sql` (any placeholder style: `$n`, `?`, `:name`) and describes its parameters
    /// and result columns.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::args;
    /// let st = db.prepare("SELECT name FROM artist WHERE artist_id = :id").await?;
    /// assert_eq!(st.parameters()[0].name.as_deref(), Some("id"));
    /// let name: String = st.fetchval(args![; id = 1]).await?;
    /// let plan = st.explain(args![; id = 1], false).await?; // EXPLAIN (FORMAT JSON, VERBOSE)
    /// # Ok(()) }
    /// ```
    pub async fn prepare(&self, sql: &str) -> Result<PreparedStatement> {
        let plan = plan(sql)?;
        let conn = self.conn().await?;
        let (types, cols) = match conn.mode {
            StatementCacheMode::Named => {
                let p = self.timed(&conn, conn.prepare(&plan.sql)).await?;
                (p.stmt.params().to_vec(), p.cols)
            }
            StatementCacheMode::Unnamed => {
                let describe = async {
                    // Pinned to one server connection by the transaction, closed before it ends.
                    let in_tx = self.is_in_transaction();
                    if !in_tx {
                        conn.batch_execute("BEGIN").await?;
                    }
                    let r = conn.client.prepare(&plan.sql).await;
                    let out = r.map(|stmt| {
                        (
                            stmt.params().to_vec(),
                            Arc::new(Columns::from_pg(stmt.columns())),
                        )
                    });
                    if !in_tx {
                        conn.batch_execute("ROLLBACK").await?;
                    }
                    Ok::<_, Error>(out?)
                };
                self.timed(&conn, describe).await?
            }
        };
        let params = types
            .into_iter()
            .enumerate()
            .map(|(i, t)| Parameter {
                position: i + 1,
                name: match plan.sources.get(i) {
                    Some(ArgSource::Named(n)) => Some(n.clone()),
                    _ => None,
                },
                pg_type: t,
            })
            .collect();
        drop(conn);
        Ok(PreparedStatement {
            db: self.clone(),
            plan: Arc::new(plan),
            params: Arc::new(params),
            columns: cols,
            status: Arc::new(Mutex::new(None)),
        })
    }
}

impl PreparedStatement {
    /// The SQL as sent to the server (placeholders converted to `$n`).
    pub fn query(&self) -> &str {
        &self.plan.sql
    }

    /// The parameters, `$1` first, with the types PostgreSQL inferred.
    pub fn parameters(&self) -> &[Parameter] {
        &self.params
    }

    /// The result columns (names and types); empty for a statement that returns no rows.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The command status of the last run through this statement (or its clones), like
    /// asyncpg's `get_statusmsg()`: `"SELECT 3"`, `"INSERT 0 2"`, `"UPDATE 1"`… tokio-postgres
    /// gives the row count but not the server's tag text, so the tag is rebuilt from the
    /// statement's command and that count.
    pub fn status(&self) -> Option<String> {
        self.status.lock().ok().and_then(|s| s.clone())
    }

    fn args(&self, args: impl IntoArgs) -> Result<Vec<Value>> {
        let a = args.into_args();
        if self.plan.sources.is_empty() && a.named.is_empty() {
            return Ok(a.positional);
        }
        self.plan.apply(&a.positional, &a.named)
    }

    fn record(&self, rows: u64) {
        if let Ok(mut s) = self.status.lock() {
            *s = Some(command_status(&self.plan.sql, rows));
        }
    }

    /// Runs the statement and returns all rows.
    pub async fn fetch(&self, args: impl IntoArgs) -> Result<Vec<Row>> {
        let args = self.args(args)?;
        let (_, rows) = self.db.run_query(&self.plan.sql, &args).await?;
        self.record(rows.len() as u64);
        Ok(rows)
    }

    /// Runs the statement and returns its first row, or `None`.
    pub async fn fetchrow(&self, args: impl IntoArgs) -> Result<Option<Row>> {
        let args = self.args(args)?;
        let (row, n) = self.db.run_query_first(&self.plan.sql, &args).await?;
        self.record(n);
        Ok(row)
    }

    /// The first column of the first row, as [`Database::fetchval`] (no row: `Ok(None)` for
    /// `Option<T>`, a `NotFound` error otherwise).
    pub async fn fetchval<T: FromValue>(&self, args: impl IntoArgs) -> Result<T> {
        self.fetchval_col(args, 0usize).await
    }

    /// Column `col` (an index or a name) of the first row, as [`Database::fetchval_col`]
    /// (asyncpg's `stmt.fetchval(*args, column=col)`).
    pub async fn fetchval_col<T: FromValue, I: crate::row::ColumnIndex>(
        &self,
        args: impl IntoArgs,
        col: I,
    ) -> Result<T> {
        let row = self.fetchrow(args).await?;
        crate::calls::fetchval_from(row, col, &self.plan.sql)
    }

    /// Runs the statement and returns the number of rows affected.
    pub async fn execute(&self, args: impl IntoArgs) -> Result<u64> {
        let args = self.args(args)?;
        let n = self.db.run_execute(&self.plan.sql, &args).await?;
        self.record(n);
        Ok(n)
    }

    /// Runs the statement once per argument list, atomically and pipelined
    /// ([`Database::executemany`]).
    pub async fn executemany<A: IntoArgs>(&self, args: impl IntoIterator<Item = A>) -> Result<u64> {
        let lists: Vec<Vec<Value>> = args
            .into_iter()
            .map(|a| self.args(a))
            .collect::<Result<_>>()?;
        let n = self.db.executemany(&self.plan.sql, lists).await?;
        self.record(n);
        Ok(n)
    }

    /// A [`Cursor`] over the statement's rows ([`Database::cursor`]).
    pub async fn cursor(&self, args: impl IntoArgs) -> Result<Cursor> {
        let args = self.args(args)?;
        self.db.cursor_converted(&self.plan.sql, args).await
    }

    /// The plan as JSON (`EXPLAIN (FORMAT JSON, VERBOSE)`); with `analyze` the statement is
    /// run (`ANALYZE`) inside a transaction — or savepoint — that is rolled back, so nothing it
    /// does is kept.
    pub async fn explain(&self, args: impl IntoArgs, analyze: bool) -> Result<serde_json::Value> {
        let args = self.args(args)?;
        let sql = format!(
            "EXPLAIN (FORMAT JSON, VERBOSE{}) {}",
            if analyze { ", ANALYZE" } else { "" },
            self.plan.sql
        );
        let plan: Value = if analyze {
            let tx = self.db.begin().await?;
            let r = tx.run_query_first_unaudited(&sql, &args).await;
            tx.rollback().await?;
            first_value(r?.0)?
        } else {
            first_value(self.db.run_query_first_unaudited(&sql, &args).await?.0)?
        };
        Ok(plan.to_json())
    }
}

fn first_value(row: Option<Row>) -> Result<Value> {
    row.ok_or_else(|| Error::decode("EXPLAIN returned no row"))?
        .get(0)
}

/// asyncpg-style command status from the statement's leading keywords and a row count.
pub(crate) fn command_status(sql: &str, rows: u64) -> String {
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase());
    let first = words.next().unwrap_or_default();
    match first.as_str() {
        "INSERT" => format!("INSERT 0 {rows}"),
        "SELECT" | "VALUES" | "TABLE" | "WITH" => {
            // WITH … may end in any command; SELECT is the common case.
            let cmd = if first == "WITH" {
                words
                    .find(|w| matches!(w.as_str(), "INSERT" | "UPDATE" | "DELETE" | "MERGE"))
                    .unwrap_or_else(|| "SELECT".to_string())
            } else {
                "SELECT".to_string()
            };
            if cmd == "INSERT" {
                format!("INSERT 0 {rows}")
            } else {
                format!("{cmd} {rows}")
            }
        }
        "UPDATE" | "DELETE" | "MERGE" | "FETCH" | "MOVE" | "COPY" => format!("{first} {rows}"),
        "CREATE" | "DROP" | "ALTER" => {
            let mut kind = words.next().unwrap_or_default();
            // CREATE UNIQUE INDEX / CREATE OR REPLACE FUNCTION / CREATE TEMP TABLE …
            while matches!(
                kind.as_str(),
                "OR" | "REPLACE" | "UNIQUE" | "TEMP" | "TEMPORARY" | "UNLOGGED" | "MATERIALIZED"
            ) {
                if kind == "MATERIALIZED" {
                    kind = "MATERIALIZED VIEW".to_string();
                    break;
                }
                kind = words.next().unwrap_or_default();
            }
            format!("{first} {kind}")
        }
        "" => String::new(),
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::command_status;

    #[test]
    fn statuses_look_like_the_server_tags() {
        assert_eq!(command_status("insert into t values (1)", 2), "INSERT 0 2");
        assert_eq!(command_status("SELECT 1", 1), "SELECT 1");
        assert_eq!(command_status("  update t set a = 1", 3), "UPDATE 3");
        assert_eq!(
            command_status("WITH x AS (SELECT 1) DELETE FROM t", 4),
            "DELETE 4"
        );
        assert_eq!(
            command_status("create unique index i on t (a)", 0),
            "CREATE INDEX"
        );
        assert_eq!(command_status("CREATE TABLE t (a int)", 0), "CREATE TABLE");
        assert_eq!(command_status("TRUNCATE t", 0), "TRUNCATE");
    }
}
