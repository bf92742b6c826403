//! A job queue on any table with a status column: `claim` (`FOR UPDATE SKIP LOCKED`) and
//! `claim_one`, which runs the caller's work on one claimed row inside a savepoint.

use std::fmt::Display;
use std::future::Future;

use super::{where_clause, Sql, Table};
use crate::audit::AuditKind;
use crate::database::Database;
use crate::error::Result;
use crate::row::Row;
use crate::sql::quote_ident;
use crate::value::Value;

/// What the work given to [`Queue::claim_one`] says about its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// The job is done: its row is marked completed and the work's writes are kept.
    Done,
    /// Try again later: the work's writes are rolled back and the row goes back to pending.
    Retry,
}

/// Job-queue operations on a table (from [`Table::queue`]), with configurable column names
/// and status values. Defaults: status column `status` with values `pending`, `running`,
/// `completed`, `failed`; error column `error`; jobs taken in primary-key order.
#[derive(Clone, Debug)]
pub struct Queue {
    table: Table,
    status: String,
    error: String,
    pending: String,
    running: String,
    completed: String,
    failed: String,
}

impl Table {
    /// This table as a job queue with the default column names and status values.
    pub fn queue(&self) -> Queue {
        Queue {
            table: self.clone(),
            status: "status".into(),
            error: "error".into(),
            pending: "pending".into(),
            running: "running".into(),
            completed: "completed".into(),
            failed: "failed".into(),
        }
    }

    /// Claims up to `n` pending rows (see [`Queue::claim`]).
    pub async fn claim(&self, n: u64) -> Result<Vec<Row>> {
        self.queue().claim(n).await
    }

    /// Claims one pending row and runs `work` on it (see [`Queue::claim_one`]).
    pub async fn claim_one<F, Fut, E>(&self, work: F) -> Result<Option<Row>>
    where
        F: FnOnce(Row, Database) -> Fut,
        Fut: Future<Output = std::result::Result<Job, E>>,
        E: Display,
    {
        self.queue().claim_one(work).await
    }
}

impl Queue {
    /// The status column (default `status`).
    pub fn status_column(mut self, name: &str) -> Self {
        self.status = name.into();
        self
    }

    /// The column that receives a failed job's error text (default `error`).
    pub fn error_column(mut self, name: &str) -> Self {
        self.error = name.into();
        self
    }

    /// The status values for pending, running, completed and failed jobs.
    pub fn statuses(mut self, pending: &str, running: &str, completed: &str, failed: &str) -> Self {
        self.pending = pending.into();
        self.running = running.into();
        self.completed = completed.into();
        self.failed = failed.into();
        self
    }

    /// The same queue on another handle (a transaction, a held connection).
    pub fn on(mut self, db: &Database) -> Self {
        self.table = self.table.on(db);
        self
    }

    /// Marks up to `n` pending rows (in scope) as running and returns every one of them, in
    /// key order. Rows locked by other workers are skipped, not waited for
    /// (`FOR UPDATE SKIP LOCKED`), so concurrent workers never get the same row.
    pub async fn claim(&self, n: u64) -> Result<Vec<Row>> {
        let t = &self.table;
        t.writable("claim")?;
        let pk = t.pk_idx("claim (a job table needs a primary key)")?;
        let status = t.col_idx(&self.status)?;
        let pk_list = pk.iter().map(|i| t.qcol(*i)).collect::<Vec<_>>().join(", ");
        let mut q = Sql::default();
        let mut conds = vec![format!(
            "{} = {}",
            t.qcol(status),
            q.arg(Value::Literal(self.pending.clone()))
        )];
        t.scope_conds(&mut q, &mut conds, None);
        let running = q.arg(Value::Literal(self.running.clone()));
        let join = pk
            .iter()
            .map(|i| format!("t.{c} = c.{c}", c = t.qcol(*i)))
            .collect::<Vec<_>>()
            .join(" AND ");
        q.text = format!(
            "WITH c AS MATERIALIZED (SELECT {pk_list} FROM {tbl}{w} ORDER BY {pk_list} LIMIT {n} FOR UPDATE SKIP LOCKED), \
             u AS (UPDATE {tbl} AS t SET {st} = {running} FROM c WHERE {join} RETURNING t.*) \
             SELECT * FROM u ORDER BY {pk_list}",
            tbl = t.meta.sql_name(),
            w = where_clause(&conds),
            st = t.qcol(status),
        );
        Ok(t.run(Some(AuditKind::Update), &q).await?.1)
    }

    /// Claims one pending row and runs `work(row, db)` on it, where `db` is a savepoint inside
    /// the claiming transaction. Then:
    /// - `Ok(Job::Done)`: the work's writes are kept and the row is marked completed;
    /// - `Ok(Job::Retry)`: the work's writes are rolled back and the row is pending again;
    /// - `Err(e)`: the work's writes are rolled back, the row is marked failed and `e`'s text
    ///   goes into the error column.
    ///
    /// The row stays locked until then, and if this future is dropped or the process dies the
    /// whole transaction rolls back and the row is pending again: a job is never run to
    /// completion twice and never lost. Returns the row as finally marked, or `None` when no
    /// row was pending.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::{args, Job};
    /// let jobs = db.t("jobs")?;
    /// while let Some(row) = jobs
    ///     .claim_one(|job, tx| async move {
    ///         let id: i64 = job.get("id")?;
    ///         tx.execute("INSERT INTO results (job_id) VALUES ($1)", args![id]).await?;
    ///         Ok::<_, fastasyncpg::Error>(Job::Done)
    ///     })
    ///     .await?
    /// {
    ///     println!("{row:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn claim_one<F, Fut, E>(&self, work: F) -> Result<Option<Row>>
    where
        F: FnOnce(Row, Database) -> Fut,
        Fut: Future<Output = std::result::Result<Job, E>>,
        E: Display,
    {
        let t = &self.table;
        let status = t.col_idx(&self.status)?;
        let tx = t.db.begin().await?;
        let q = self.clone().on(&tx);
        let Some(row) = q.claim(1).await?.into_iter().next() else {
            tx.commit().await?;
            return Ok(None);
        };
        let key = t.key_of(&row)?;
        let sp = tx.begin().await?;
        let outcome = work(row, sp.db()).await;
        let (new_status, err_text) = match outcome {
            Ok(Job::Done) => {
                sp.commit().await?;
                (&self.completed, None)
            }
            Ok(Job::Retry) => {
                sp.rollback().await?;
                (&self.pending, None)
            }
            Err(e) => {
                sp.rollback().await?;
                (&self.failed, Some(e.to_string()))
            }
        };
        let qt = t.on(&tx);
        let mut sql = Sql::default();
        let mut assigns = vec![format!(
            "{} = {}",
            qt.qcol(status),
            sql.arg(Value::Literal(new_status.clone()))
        )];
        if let Some(text) = err_text {
            // Without an error column the status alone says the job failed.
            match qt.col_idx(&self.error) {
                Ok(ec) => assigns.push(format!("{} = {}", qt.qcol(ec), sql.arg(Value::Text(text)))),
                Err(_) => {
                    tracing::warn!(target: "fastasyncpg", table = %qt, "job failed (no {} column to keep the error): {text}", quote_ident(&self.error))
                }
            }
        }
        let mut conds = Vec::new();
        qt.key_conds(&mut sql, &mut conds, qt.key_cols(key, "claim_one")?);
        sql.text = format!(
            "UPDATE {} SET {}{} RETURNING *",
            qt.meta.sql_name(),
            assigns.join(", "),
            where_clause(&conds)
        );
        let (_, rows) = qt.run(Some(AuditKind::Update), &sql).await?;
        tx.commit().await?;
        Ok(rows.into_iter().next())
    }
}
