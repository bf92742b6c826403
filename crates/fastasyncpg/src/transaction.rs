//! Transactions: a guard that commits explicitly and rolls back when dropped, nesting through
//! savepoints, and the closure form [`Database::transaction`].

use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::database::{Database, HeldConn, Target, TxFlag};
use crate::error::{Error, Result};
use crate::pool::pool_error;

/// Isolation level of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsolationLevel {
    /// `READ COMMITTED` (PostgreSQL's default).
    ReadCommitted,
    /// `REPEATABLE READ`.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
    /// `READ UNCOMMITTED` (behaves as READ COMMITTED in PostgreSQL).
    ReadUncommitted,
}

/// Options of a transaction (asyncpg's `transaction(isolation=, readonly=, deferrable=)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransactionOptions {
    /// The isolation level; `None` uses the session's default.
    pub isolation: Option<IsolationLevel>,
    /// `READ ONLY`.
    pub readonly: bool,
    /// `DEFERRABLE` (only meaningful with serializable read-only transactions).
    pub deferrable: bool,
}

impl TransactionOptions {
    fn begin_sql(&self) -> String {
        let mut s = String::from("BEGIN");
        if let Some(i) = self.isolation {
            s.push_str(match i {
                IsolationLevel::ReadCommitted => " ISOLATION LEVEL READ COMMITTED",
                IsolationLevel::RepeatableRead => " ISOLATION LEVEL REPEATABLE READ",
                IsolationLevel::Serializable => " ISOLATION LEVEL SERIALIZABLE",
                IsolationLevel::ReadUncommitted => " ISOLATION LEVEL READ UNCOMMITTED",
            });
        }
        if self.readonly {
            s.push_str(" READ ONLY");
        }
        if self.deferrable {
            s.push_str(" DEFERRABLE");
        }
        s
    }
}

/// An open transaction (or savepoint, when nested). Derefs to a [`Database`] whose queries run
/// inside it. [`commit`](Self::commit) ends it; dropping it without commit — including when
/// the future using it is cancelled — rolls it back.
pub struct Transaction {
    db: Database,
    conn: Arc<HeldConn>,
    flag: Arc<TxFlag>,
    savepoint: Option<String>,
    done: bool,
}

impl Deref for Transaction {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

impl Transaction {
    /// The handle whose queries run inside this transaction (a cheap clone).
    pub fn db(&self) -> Database {
        self.db.clone()
    }

    /// Commits (or releases the savepoint).
    pub async fn commit(mut self) -> Result<()> {
        let sql = match &self.savepoint {
            Some(sp) => format!("RELEASE SAVEPOINT {sp}"),
            None => "COMMIT".to_string(),
        };
        self.conn.batch_execute(&sql).await?;
        self.finish();
        Ok(())
    }

    /// Rolls back (to the savepoint, when nested).
    pub async fn rollback(mut self) -> Result<()> {
        let sql = match &self.savepoint {
            Some(sp) => format!("ROLLBACK TO SAVEPOINT {sp}; RELEASE SAVEPOINT {sp}"),
            None => "ROLLBACK".to_string(),
        };
        self.conn.batch_execute(&sql).await?;
        self.finish();
        Ok(())
    }

    fn finish(&mut self) {
        self.done = true;
        self.flag.active.store(false, Ordering::SeqCst);
        self.conn.tx_depth.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.done {
            // Queued before anything sent later on this connection, so nothing can run inside
            // the abandoned transaction.
            self.conn.queue_rollback(self.savepoint.as_deref());
            self.finish();
        }
    }
}

impl Database {
    /// Starts a transaction with default options; nested inside another it is a savepoint.
    pub async fn begin(&self) -> Result<Transaction> {
        self.begin_with(TransactionOptions::default()).await
    }

    /// Starts a transaction with `opts` (ignored for a nested savepoint).
    pub async fn begin_with(&self, opts: TransactionOptions) -> Result<Transaction> {
        let (conn, nested) = match &self.target {
            Target::Pool(p) => (
                Arc::new(HeldConn::Pooled(p.get().await.map_err(pool_error)?)),
                false,
            ),
            Target::Held { conn, tx } => {
                self.conn().await?; // a finished transaction cannot start a nested one
                (conn.clone(), tx.is_some())
            }
        };
        let depth = conn.tx_depth.fetch_add(1, Ordering::SeqCst);
        let savepoint = nested.then(|| format!("fastasyncpg_sp_{}", depth + 1));
        let flag = Arc::new(TxFlag {
            active: AtomicBool::new(true),
        });
        // The guard exists before BEGIN is sent: if this future is dropped mid-way, its Drop
        // queues the rollback.
        let tx = Transaction {
            db: Database {
                inner: self.inner.clone(),
                target: Target::Held {
                    conn: conn.clone(),
                    tx: Some(flag.clone()),
                },
                timeout: self.timeout,
            },
            conn,
            flag,
            savepoint,
            done: false,
        };
        let sql = match &tx.savepoint {
            Some(sp) => format!("SAVEPOINT {sp}"),
            None => opts.begin_sql(),
        };
        tx.conn.batch_execute(&sql).await?;
        Ok(tx)
    }

    /// Runs `f` inside a transaction: commits when it returns `Ok`, rolls back when it returns
    /// `Err` or when this future is dropped. Nested calls use savepoints.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::args;
    /// db.transaction(|tx| async move {
    ///     tx.execute("INSERT INTO cat (name) VALUES ($1)", args!["meow"]).await?;
    ///     tx.execute("INSERT INTO cat (name) VALUES ($1)", args!["purr"]).await?;
    ///     Ok::<_, fastasyncpg::Error>(())
    /// }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T, E, F, Fut>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(Database) -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        E: From<Error>,
    {
        self.transaction_with(TransactionOptions::default(), f)
            .await
    }

    /// [`transaction`](Self::transaction) with options.
    pub async fn transaction_with<T, E, F, Fut>(
        &self,
        opts: TransactionOptions,
        f: F,
    ) -> std::result::Result<T, E>
    where
        F: FnOnce(Database) -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        E: From<Error>,
    {
        let tx = self.begin_with(opts).await?;
        match f(tx.db()).await {
            Ok(v) => {
                tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                // If the rollback itself fails the connection is broken; report the first error.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
}
