//! Small asyncpg calls on [`Database`]: `fetchval(.., column=)`, `execute` with the command
//! status, and `get_server_pid`.

use crate::args::IntoArgs;
use crate::database::{Database, Target};
use crate::error::{Error, Result};
use crate::row::{ColumnIndex, Row};
use crate::statement::command_status;
use crate::value::FromValue;

/// The value of column `col` of `row` (`None`: no row) for the `fetchval` family.
pub(crate) fn fetchval_from<T: FromValue, I: ColumnIndex>(
    row: Option<Row>,
    col: I,
    sql: &str,
) -> Result<T> {
    let Some(row) = row else {
        return T::from_no_row().ok_or_else(|| {
            Error::not_found(format!(
                "fetchval: the query returned no row (use Option<{}> to get None): {sql}",
                std::any::type_name::<T>()
            ))
        });
    };
    if row.is_empty() {
        return Err(Error::usage("fetchval: the query returned no column"));
    }
    row.get(col).map_err(|e| e.context("fetchval"))
}

impl Database {
    /// Runs a query and returns column `col` — an index (`2`) or a name (`"total"`) — of its
    /// first row, converted to `T` (asyncpg's `fetchval(query, *args, column=col)`). No row
    /// is `Ok(None)` for `T = Option<U>` and a [`crate::ErrorKind::NotFound`] error otherwise,
    /// as for [`fetchval`](Self::fetchval); a column the query does not return is an error
    /// listing the columns it does.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let name: String = db.fetchval_col("SELECT 1 AS id, 'x' AS name", (), "name").await?;
    /// let id: i64 = db.fetchval_col("SELECT 1 AS id, 'x' AS name", (), 0).await?;
    /// let none: Option<i64> = db.fetchval_col("SELECT 1 AS id WHERE false", (), "id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetchval_col<T: FromValue, I: ColumnIndex>(
        &self,
        sql: &str,
        args: impl IntoArgs,
        col: I,
    ) -> Result<T> {
        let row = self.fetchrow(sql, args).await?;
        fetchval_from(row, col, sql)
    }

    /// Runs a statement and returns its command status, as asyncpg's `execute` does
    /// (`"INSERT 0 2"`, `"UPDATE 3"`, `"CREATE TABLE"`). With no arguments `sql` may hold
    /// several statements (one round trip, as [`execute`](Self::execute)); the status is the
    /// last one's.
    ///
    /// tokio-postgres does not pass the server's tag text on, so the status is rebuilt from the
    /// statement's leading keywords and the row count the server reported: the same text for
    /// `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `SELECT`, `COPY`, `CREATE …`, `DROP …`; other
    /// statements give their first keyword (`"TRUNCATE"`).
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::args;
    /// let s = db.execute_status("INSERT INTO t (a) VALUES ($1), ($2)", args![1, 2]).await?;
    /// assert_eq!(s, "INSERT 0 2");
    /// # Ok(()) }
    /// ```
    pub async fn execute_status(&self, sql: &str, args: impl IntoArgs) -> Result<String> {
        let a = args.into_args();
        if !a.is_empty() {
            let (csql, args) = Self::prepare_sql(sql, a)?;
            let n = self.run_execute(&csql, &args).await?;
            return Ok(command_status(&csql, n));
        }
        let mut lost = 0;
        let r = loop {
            let conn = self.conn().await?;
            match self.timed(&conn, conn.simple_execute_each(sql)).await {
                Err(e) if self.died_idle(&conn, &e, &mut lost, sql) => continue,
                r => break r,
            }
        };
        self.audit_script(sql, r.as_ref().err());
        let counts = r?;
        let last = crate::audit::split_statements(sql)
            .last()
            .copied()
            .unwrap_or("");
        Ok(command_status(last, counts.last().copied().unwrap_or(0)))
    }

    /// The process id of the server backend serving this handle's connection (asyncpg's
    /// `get_server_pid`), read with `SELECT pg_backend_pid()` on first use and remembered. A pool
    /// handle has no one connection: that is a usage error — take one with
    /// [`acquire`](Self::acquire) first.
    ///
    /// ```no_run
    /// # async fn f(pool: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let conn = pool.acquire().await?;
    /// println!("served by backend {}", conn.server_pid().await?);
    /// # Ok(()) }
    /// ```
    pub async fn server_pid(&self) -> Result<i32> {
        let Target::Held { conn, .. } = &self.target else {
            return Err(Error::usage(
                "server_pid needs a held connection: a pool's queries run on any of its \
                 connections; call acquire() on the pool first",
            ));
        };
        if let Some(pid) = conn.pid.get() {
            return Ok(*pid);
        }
        let pid: i32 = self.fetchval("SELECT pg_backend_pid()", ()).await?;
        Ok(*conn.pid.get_or_init(|| pid))
    }
}
