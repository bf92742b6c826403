//! [`Database`]: one query API over a single connection, a pool, a held pooled connection and a
//! transaction.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use std::time::Duration;

use crate::args::IntoArgs;
use crate::audit::AuditHook;
use crate::config::{ConnectOptions, PoolOptions, StatementCacheMode};
use crate::conn::{as_params, coerce_args, Conn, Notification};
use crate::connect::{Connector, TargetSessionAttrs};
use crate::error::{Error, ErrorKind, Result};
use crate::pool::{pool_error, Manager, Object, Pool};
use crate::results::Results;
use crate::row::{Columns, Row};
use crate::schema::Schema;
use crate::value::{FromValue, Value};

/// State shared by every handle derived from one `connect` / `create_pool` call.
pub(crate) struct Inner {
    pub(crate) opts: ConnectOptions,
    /// The schema snapshot every table handle reads (see `refresh`).
    pub(crate) schema: RwLock<Arc<Schema>>,
    /// The schemas `refresh` loads; `None` means every schema the user can use.
    pub(crate) schema_filter: RwLock<Option<Vec<String>>>,
    /// Bumped by each refresh; a connection that saw an older value drops its statement cache.
    pub(crate) schema_gen: AtomicU64,
    /// Names `Database::table` refreshed the snapshot for lately (its rate limit).
    pub(crate) unknown_names: crate::table::UnknownNames,
    /// The audit hook, if any.
    pub(crate) audit: RwLock<Option<AuditHook>>,
    /// True while a hook is set: the only thing a query checks when there is none.
    pub(crate) audit_on: AtomicBool,
    /// Statements classified for the audit hook (test support: zero while no hook is set).
    pub(crate) audit_classified: AtomicU64,
}

impl Inner {
    fn new(opts: ConnectOptions) -> Arc<Inner> {
        Arc::new(Inner {
            opts,
            schema: RwLock::new(Arc::new(Schema::default())),
            schema_filter: RwLock::new(None),
            schema_gen: AtomicU64::new(0),
            unknown_names: Default::default(),
            audit: RwLock::new(None),
            audit_on: AtomicBool::new(false),
            audit_classified: AtomicU64::new(0),
        })
    }
}

/// A connection that a handle keeps for itself: a single connection, or one taken from a pool
/// until the last handle using it is dropped.
pub(crate) enum HeldConn {
    Own(Conn),
    Pooled(Object),
}

impl Deref for HeldConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            HeldConn::Own(c) => c,
            HeldConn::Pooled(o) => o,
        }
    }
}

/// Where a handle's queries go.
#[derive(Clone)]
pub(crate) enum Target {
    /// Each query takes a connection from the pool and gives it back.
    Pool(Pool),
    /// Queries go to one connection; `tx` is set inside a transaction block.
    Held {
        conn: Arc<HeldConn>,
        tx: Option<Arc<TxFlag>>,
    },
}

/// Whether the transaction block a handle belongs to is still open.
pub(crate) struct TxFlag {
    pub(crate) active: AtomicBool,
}

/// A connection to PostgreSQL: a single connection, a pool, a connection held from a pool, or a
/// transaction — all with the same API. Cloning is cheap and clones share the connection(s).
///
/// `Display` is the connection URL without the password.
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
    pub(crate) target: Target,
    pub(crate) timeout: Option<Duration>,
}

/// Connects one connection. `dsn` is a URL or `key=value` string; `""` reads `DATABASE_URL`
/// or the `PG*` environment variables. See [`ConnectOptions`] for every setting.
pub async fn connect(dsn: &str) -> Result<Database> {
    connect_with(ConnectOptions::parse(dsn)?).await
}

/// Creates a pool with default [`PoolOptions`] (asyncpg's `create_pool`). The returned
/// [`Database`] has the same API as a single connection; each query borrows a connection.
pub async fn create_pool(dsn: &str) -> Result<Database> {
    create_pool_with(ConnectOptions::parse(dsn)?, PoolOptions::default()).await
}

pub(crate) async fn connect_with(opts: ConnectOptions) -> Result<Database> {
    let conn = Conn::connect(&Connector::new(opts.clone())?).await?;
    let timeout = opts.command_timeout;
    let db = Database {
        inner: Inner::new(opts),
        target: Target::Held {
            conn: Arc::new(HeldConn::Own(conn)),
            tx: None,
        },
        timeout,
    };
    // The seed's `connect` loads the schema: table handles are ready at once.
    db.refresh().await?;
    Ok(db)
}

pub(crate) async fn create_pool_with(
    opts: ConnectOptions,
    pool_opts: PoolOptions,
) -> Result<Database> {
    if pool_opts.max_size == 0 {
        return Err(Error::usage("PoolOptions.max_size must be at least 1"));
    }
    if pool_opts.min_size > pool_opts.max_size {
        return Err(Error::usage(format!(
            "PoolOptions.min_size ({}) is larger than max_size ({})",
            pool_opts.min_size, pool_opts.max_size
        )));
    }
    let timeouts = deadpool::managed::Timeouts {
        wait: pool_opts.acquire_timeout,
        // Our connect bounds each host attempt itself (connect_timeout, default 60 s).
        create: None,
        recycle: None,
    };
    let pool = Pool::builder(Manager {
        connector: Connector::new(opts.clone())?,
        pool: pool_opts.clone(),
        stats: Default::default(),
    })
    .max_size(pool_opts.max_size)
    .timeouts(timeouts)
    .runtime(deadpool::Runtime::Tokio1)
    .build()
    .map_err(|e| Error::usage(format!("cannot build pool: {e}")))?;
    // Open min_size connections now (also proves the settings work).
    let warm = futures_util::future::try_join_all((0..pool_opts.min_size).map(|_| pool.get()))
        .await
        .map_err(pool_error)?;
    drop(warm);
    crate::pool::spawn_health_check(&pool);
    let timeout = opts.command_timeout;
    let db = Database {
        inner: Inner::new(opts),
        target: Target::Pool(pool),
        timeout,
    };
    db.refresh().await?;
    Ok(db)
}

/// A connection borrowed for one operation.
// A short-lived stack value: boxing the pooled variant would cost an allocation per query.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ConnRef<'a> {
    Pooled(Object),
    Held(&'a Conn),
}

impl Deref for ConnRef<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            ConnRef::Pooled(o) => o,
            ConnRef::Held(c) => c,
        }
    }
}

impl Database {
    /// Borrows a connection for one operation.
    pub(crate) async fn conn(&self) -> Result<ConnRef<'_>> {
        let c = self.conn_unchecked().await?;
        if c.cancel_gate.try_lock().is_err() {
            // A cancel request for the previous statement is still on its way.
            drop(c.cancel_gate.lock().await);
        }
        // After a schema refresh, cached statements may describe old table shapes.
        let gen = self.inner.schema_gen.load(Ordering::Relaxed);
        if c.schema_gen.swap(gen, Ordering::Relaxed) != gen {
            c.clear_cache();
        }
        Ok(c)
    }

    /// The held connection, checked as [`conn`](Self::conn) does, without awaiting; `None`
    /// for a pool.
    fn held_now(&self) -> Option<Result<&Conn>> {
        let Target::Held { conn, tx } = &self.target else {
            return None;
        };
        if let Some(tx) = tx {
            if !tx.active.load(Ordering::SeqCst) {
                return Some(Err(tx_over()));
            }
        }
        let c: &Conn = conn;
        if c.cancel_gate.try_lock().is_err() {
            return None; // the awaiting path waits for the cancel request to finish
        }
        let gen = self.inner.schema_gen.load(Ordering::Relaxed);
        if c.schema_gen.swap(gen, Ordering::Relaxed) != gen {
            c.clear_cache();
        }
        Some(Ok(c))
    }

    async fn conn_unchecked(&self) -> Result<ConnRef<'_>> {
        match &self.target {
            Target::Pool(p) => Ok(ConnRef::Pooled(p.get().await.map_err(pool_error)?)),
            Target::Held { conn, tx } => {
                if let Some(tx) = tx {
                    if !tx.active.load(Ordering::SeqCst) {
                        return Err(tx_over());
                    }
                }
                Ok(ConnRef::Held(conn))
            }
        }
    }

    /// Runs `fut` under this handle's timeout; on expiry cancels the query on the server.
    pub(crate) async fn timed<T>(
        &self,
        conn: &Conn,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let checked = |r: Result<T>| {
            if let Err(e) = &r {
                conn.note_error(e);
                // A server that refuses writes although the settings asked for a writable one
                // (a primary demoted, or made read-only, since the connection was opened): the
                // pool must not hand this connection out again; a new one looks for the
                // primary among the hosts.
                if e.kind() == ErrorKind::ReadOnly
                    && matches!(
                        self.inner.opts.target_session_attrs,
                        TargetSessionAttrs::ReadWrite | TargetSessionAttrs::Primary
                    )
                {
                    conn.broken.store(true, Ordering::SeqCst);
                }
            }
            r
        };
        // Dropped before the reply (the caller's task cancelled, `select!`, a Python
        // `asyncio` cancellation): the query is cancelled on the server too.
        let mut guard = CancelOnDrop { conn, armed: true };
        let r = match self.timeout {
            None => checked(fut.await),
            Some(d) => match tokio::time::timeout(d, fut).await {
                Ok(r) => checked(r),
                Err(_) => {
                    guard.armed = false;
                    cancel_on_server(conn);
                    Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "query timed out after {:.3}s and was cancelled on the server",
                            d.as_secs_f64()
                        ),
                    ))
                }
            },
        };
        guard.armed = false;
        r
    }

    /// Converts `?` / `:name` placeholders; `$n`-only SQL passes through untouched.
    pub(crate) fn prepare_sql<'s>(
        sql: &'s str,
        args: impl IntoArgs,
    ) -> Result<(std::borrow::Cow<'s, str>, Vec<Value>)> {
        let a = args.into_args();
        if a.named.is_empty() && !crate::sql::may_have_placeholders(sql) {
            return Ok((std::borrow::Cow::Borrowed(sql), a.positional));
        }
        let c = crate::sql::conv_placeholders(sql, &a.positional, &a.named)?;
        Ok((std::borrow::Cow::Owned(c.sql), c.args))
    }

    /// Runs `$n`-style SQL with already converted arguments; the core of every read. Raw SQL
    /// is audited by keyword when a hook is set.
    pub(crate) async fn run_query(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Arc<Columns>, Vec<Row>)> {
        let r = self.run_query_unaudited(sql, args).await;
        self.audit_raw(sql, || r.as_ref().map(|(_, rows)| rows.len() as u64));
        r
    }

    /// [`run_query`](Self::run_query) without the audit hook (the table API reports its own).
    pub(crate) async fn run_query_unaudited(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Arc<Columns>, Vec<Row>)> {
        let mut lost = 0;
        let (cols, raw) = loop {
            let conn = self.conn().await?;
            match self.timed(&conn, conn.query(sql, args)).await {
                Err(e) if self.died_idle(&conn, &e, &mut lost, sql) => continue,
                r => break r?,
            }
        };
        let rows = raw.into_iter().map(|r| Row::new(cols.clone(), r)).collect();
        Ok((cols, rows))
    }

    /// Like [`run_query`](Self::run_query) but keeps only the first row (the others are read
    /// and dropped): returns it and the number of rows.
    pub(crate) async fn run_query_first(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Option<Row>, u64)> {
        let r = self.run_query_first_unaudited(sql, args).await;
        self.audit_raw(sql, || r.as_ref().map(|(_, n)| *n));
        r
    }

    /// [`run_query_first`](Self::run_query_first) without the audit hook.
    pub(crate) async fn run_query_first_unaudited(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Option<Row>, u64)> {
        // A held connection without a timeout (the common case) runs the query directly: no
        // borrowed-connection or timeout future wrapped around it.
        let (cols, first, n) = match self.held_now() {
            Some(c) if self.timeout.is_none() => {
                let c = c?;
                let mut guard = CancelOnDrop {
                    conn: c,
                    armed: true,
                };
                let r = c.query_first(sql, args).await;
                guard.armed = false;
                r?
            }
            _ => {
                let mut lost = 0;
                loop {
                    let conn = self.conn().await?;
                    match self.timed(&conn, conn.query_first(sql, args)).await {
                        Err(e) if self.died_idle(&conn, &e, &mut lost, sql) => continue,
                        r => break r?,
                    }
                }
            }
        };
        Ok((first.map(|r| Row::new(cols, r)), n))
    }

    /// Runs `$n`-style SQL with already converted arguments, returning rows affected.
    pub(crate) async fn run_execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        let r = self.run_execute_unaudited(sql, args).await;
        self.audit_raw(sql, || r.as_ref().copied());
        r
    }

    /// [`run_execute`](Self::run_execute) without the audit hook.
    pub(crate) async fn run_execute_unaudited(&self, sql: &str, args: &[Value]) -> Result<u64> {
        let mut lost = 0;
        loop {
            let conn = self.conn().await?;
            match self.timed(&conn, conn.execute(sql, args)).await {
                Err(e) if self.died_idle(&conn, &e, &mut lost, sql) => continue,
                r => return r,
            }
        }
    }

    /// True when a statement run on a connection just taken from the pool failed because the
    /// server had ended that connection while it sat idle, so it is sent again on another
    /// connection, at most once per connection the pool holds. The dead connection is marked so
    /// the pool drops it. Held connections and transactions are never retried.
    ///
    /// SQLSTATE 57P01 (`pg_terminate_backend`, a server shutdown) as the answer means the
    /// server did not run the statement: any statement is retried. A connection merely found
    /// closed may have died after running it (a crash between commit and reply), so only
    /// `read_only` SQL (a plain SELECT/VALUES/TABLE/SHOW) is retried then.
    pub(crate) fn died_idle(&self, conn: &Conn, e: &Error, lost: &mut usize, sql: &str) -> bool {
        let Target::Pool(p) = &self.target else {
            return false;
        };
        let dead = e.code() == Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN)
            || (e.is_closed() && read_only_sql(sql));
        if !dead || *lost > p.status().max_size {
            return false;
        }
        *lost += 1;
        conn.broken.store(true, Ordering::SeqCst);
        true
    }

    /// Runs a statement and returns the number of rows it affected. With no arguments, `sql`
    /// may hold several statements separated by `;`: they run in one round trip (simple query
    /// protocol) and the result is the sum of the rows they affected.
    ///
    /// Placeholders: `$1`, `?` and `:name`, in any mix (see [`crate::sql::placeholders`]).
    pub async fn execute(&self, sql: &str, args: impl IntoArgs) -> Result<u64> {
        let a = args.into_args();
        if a.is_empty() {
            let mut lost = 0;
            let r = loop {
                let conn = self.conn().await?;
                match self.timed(&conn, conn.simple_execute(sql)).await {
                    Err(e) if self.died_idle(&conn, &e, &mut lost, sql) => continue,
                    r => break r,
                }
            };
            self.audit_script(sql, r.as_ref().err());
            return r;
        }
        let (sql, args) = Self::prepare_sql(sql, a)?;
        self.run_execute(&sql, &args).await
    }

    /// Runs one statement for each argument list, atomically (all or none) and pipelined: the
    /// statement is prepared once and every execution is sent without waiting for the previous
    /// one. Returns the total number of rows affected.
    pub async fn executemany<A: IntoArgs>(
        &self,
        sql: &str,
        args: impl IntoIterator<Item = A>,
    ) -> Result<u64> {
        let mut lists = Vec::new();
        let mut converted_sql: Option<String> = None;
        for a in args {
            let (s, vals) = Self::prepare_sql(sql, a)?;
            if converted_sql.is_none() {
                converted_sql = Some(s.into_owned());
            }
            lists.push(vals);
        }
        let Some(csql) = converted_sql else {
            return Ok(0);
        };
        let audit_sql = csql.clone();
        let r = self
            .transaction(move |tx| async move {
                let conn = tx.conn().await?;
                let fut = async {
                    match conn.mode {
                        StatementCacheMode::Named => {
                            let p = conn.prepare(&csql).await?;
                            let coerced: Vec<Vec<crate::conn::Bound<'_>>> = lists
                                .iter()
                                .enumerate()
                                .map(|(i, l)| {
                                    coerce_args(&p.stmt, l)
                                        .map_err(|e| e.context(format!("argument list {}", i + 1)))
                                })
                                .collect::<Result<_>>()?;
                            let params: Vec<Vec<&(dyn tokio_postgres::types::ToSql + Sync)>> =
                                coerced.iter().map(|c| as_params(c)).collect();
                            let counts = futures_util::future::try_join_all(
                                params.iter().map(|ps| conn.client.execute(&p.stmt, ps)),
                            )
                            .await?;
                            Ok(counts.iter().sum())
                        }
                        StatementCacheMode::Unnamed => {
                            let counts = futures_util::future::try_join_all(
                                lists.iter().map(|l| conn.execute(&csql, l)),
                            )
                            .await?;
                            Ok(counts.iter().sum())
                        }
                    }
                };
                let fut = crate::trace::statement(&conn.trace, &csql, |n| Some(*n), || fut);
                tx.timed(&conn, fut).await
            })
            .await;
        self.audit_raw(&audit_sql, || r.as_ref().copied());
        r
    }

    /// Runs a query and returns all its rows.
    pub async fn fetch(&self, sql: &str, args: impl IntoArgs) -> Result<Vec<Row>> {
        let (sql, args) = Self::prepare_sql(sql, args)?;
        Ok(self.run_query(&sql, &args).await?.1)
    }

    /// Runs a query and returns its first row, or `None`.
    pub async fn fetchrow(&self, sql: &str, args: impl IntoArgs) -> Result<Option<Row>> {
        let (sql, args) = Self::prepare_sql(sql, args)?;
        Ok(self.run_query_first(&sql, &args).await?.0)
    }

    /// Runs a query and returns the first column of its first row, converted to `T`
    /// (`Value` keeps it dynamic). With `T = Option<U>`, NULL **and no row** are `Ok(None)`
    /// (asyncpg's `fetchval` returns `None` for both); for any other `T` no row is an
    /// [`ErrorKind::NotFound`] error. [`fetchval_col`](Self::fetchval_col) picks another column.
    pub async fn fetchval<T: FromValue>(&self, sql: &str, args: impl IntoArgs) -> Result<T> {
        self.fetchval_col(sql, args, 0usize).await
    }

    /// Runs a query and returns [`Results`], which display as a table (fastasyncpg's `db.q`).
    pub async fn q(&self, sql: &str, args: impl IntoArgs) -> Result<Results> {
        let (sql, args) = Self::prepare_sql(sql, args)?;
        let (cols, rows) = self.run_query(&sql, &args).await?;
        Ok(Results::new(cols, rows))
    }

    /// Runs a query that must return exactly one row: none is [`ErrorKind::NotFound`], more
    /// than one is [`ErrorKind::NotUnique`].
    pub async fn qone(&self, sql: &str, args: impl IntoArgs) -> Result<Row> {
        let (csql, args) = Self::prepare_sql(sql, args)?;
        match self.run_query_first(&csql, &args).await? {
            (Some(r), 1) => Ok(r),
            (None, _) => Err(Error::not_found(format!(
                "the query returned no row: {sql}"
            ))),
            (Some(_), _) => Err(Error::new(
                ErrorKind::NotUnique,
                format!("the query returned more than one row: {sql}"),
            )),
        }
    }

    /// Runs a query that must return exactly one row with exactly one column, and returns that
    /// value (fastasyncpg's `db.item`).
    pub async fn item<T: FromValue>(&self, sql: &str, args: impl IntoArgs) -> Result<T> {
        let row = self.qone(sql, args).await?;
        if row.len() != 1 {
            return Err(Error::usage(format!(
                "item: the query returned {} columns, expected 1",
                row.len()
            )));
        }
        row.get(0)
    }

    /// Takes one connection from the pool and keeps it for the returned handle and its clones
    /// (the seed's `pool.acquire()`); it goes back when the last of them is dropped. On a
    /// handle that already has one connection this is a cheap clone.
    pub async fn acquire(&self) -> Result<Database> {
        match &self.target {
            Target::Pool(p) => {
                let obj = p.get().await.map_err(pool_error)?;
                Ok(Database {
                    inner: self.inner.clone(),
                    target: Target::Held {
                        conn: Arc::new(HeldConn::Pooled(obj)),
                        tx: None,
                    },
                    timeout: self.timeout,
                })
            }
            Target::Held { .. } => Ok(self.clone()),
        }
    }

    /// A handle whose queries time out after `t` (cancelled on the server); `None` removes it.
    pub fn with_timeout(&self, t: Option<Duration>) -> Database {
        Database {
            timeout: t,
            ..self.clone()
        }
    }

    /// Subscribes to notifications (`LISTEN channel`) on a held connection and returns the
    /// receiver of every notification that connection gets. Call on a handle from
    /// [`acquire`](Self::acquire) or [`connect`]; a pool handle holds no connection to listen on.
    pub async fn listen(
        &self,
        channel: &str,
    ) -> Result<tokio::sync::mpsc::UnboundedReceiver<Notification>> {
        let Target::Held { conn, .. } = &self.target else {
            return Err(Error::usage(
                "listen needs a held connection: call acquire() on the pool first",
            ));
        };
        let rx = conn.notifications.subscribe().ok_or_else(|| {
            Error::usage("notifications of this connection are already being received by an earlier listen()")
        })?;
        // Reset (UNLISTEN *) before the next pool user gets the connection.
        conn.session.mark_dirty();
        self.execute(&format!("LISTEN {}", crate::sql::quote_ident(channel)), ())
            .await?;
        Ok(rx)
    }

    /// Sends a notification (`pg_notify(channel, payload)`).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        self.run_query(
            "SELECT pg_notify($1, $2)",
            &[Value::from(channel), Value::from(payload)],
        )
        .await?;
        Ok(())
    }

    /// True when this handle is a pool.
    pub fn is_pool(&self) -> bool {
        matches!(self.target, Target::Pool(_))
    }

    /// True inside a transaction block opened through this API.
    pub fn is_in_transaction(&self) -> bool {
        matches!(&self.target, Target::Held { tx: Some(t), .. } if t.active.load(Ordering::SeqCst))
    }

    /// True when the held connection is closed (always false for a pool).
    pub fn is_closed(&self) -> bool {
        match &self.target {
            Target::Pool(_) => false,
            Target::Held { conn, .. } => conn.is_closed(),
        }
    }

    /// Pool size and idle connections `(size, idle)`; `(1, _)` for a held connection.
    pub fn pool_status(&self) -> (usize, usize) {
        match &self.target {
            Target::Pool(p) => {
                let s = p.status();
                (s.size, s.available)
            }
            Target::Held { .. } => (1, 0),
        }
    }

    /// The number of session resets this pool has run (0 for a single connection): how often
    /// a connection given back had to be cleaned before its next user (see
    /// [`PoolOptions::reset`]). Counts only finished resets.
    pub fn pool_resets(&self) -> u64 {
        match &self.target {
            Target::Pool(p) => p.manager().stats.resets.load(Ordering::Relaxed),
            Target::Held { .. } => 0,
        }
    }

    /// The number of prepared statements cached on the held connection (0 for a pool).
    pub fn cached_statements(&self) -> usize {
        match &self.target {
            Target::Pool(_) => 0,
            Target::Held { conn, .. } => conn.cached_statements(),
        }
    }

    /// The number of statements the held connection has sent so far (0 for a pool): shows how
    /// many round trips an operation costs (preparing a statement not yet cached adds one).
    pub fn query_count(&self) -> u64 {
        match &self.target {
            Target::Pool(_) => 0,
            Target::Held { conn, .. } => conn.queries.load(Ordering::Relaxed),
        }
    }

    /// Forgets cached statements and types (done for you after DDL run through this API).
    pub fn clear_statement_cache(&self) {
        if let Target::Held { conn, .. } = &self.target {
            conn.clear_cache();
        }
    }

    /// The server version, e.g. `150008` for 15.8.
    pub async fn server_version(&self) -> Result<i32> {
        let v: String = self.fetchval("SHOW server_version_num", ()).await?;
        v.parse()
            .map_err(|_| Error::decode(format!("unexpected server_version_num {v:?}")))
    }

    /// The settings this handle connects with.
    pub fn options(&self) -> &ConnectOptions {
        &self.inner.opts
    }

    /// Closes the pool (waiting queries fail) or drops this handle's connection.
    pub async fn close(self) {
        if let Target::Pool(p) = &self.target {
            p.close();
        }
    }
}

/// A statement that only reads: it starts with SELECT, VALUES, TABLE or SHOW (a function it
/// calls could still write; this is the best a client can tell without parsing).
fn read_only_sql(sql: &str) -> bool {
    let first: String = sql
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    ["SELECT", "VALUES", "TABLE", "SHOW"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}

fn tx_over() -> Error {
    Error::usage(
        "this transaction is already committed or rolled back; use the database handle it came from",
    )
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.opts.url())
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.target {
            Target::Pool(_) => "pool",
            Target::Held { tx: Some(_), .. } => "transaction",
            Target::Held { .. } => "connection",
        };
        write!(f, "Database({kind} {})", self.inner.opts.url())
    }
}

/// Sends a cancel request for whatever `conn` is running (on a task of its own). Until the
/// server has taken it (the postmaster signals the backend before it closes the cancel
/// connection), the connection's next statement waits: a cancel that arrives while the backend
/// is idle is ignored by PostgreSQL, so it can never hit a later statement.
fn cancel_on_server(conn: &Conn) {
    let token = conn.client.cancel_token();
    let tls = conn.tls.clone();
    let gate = conn.cancel_gate.clone().try_lock_owned().ok();
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            let _ = tokio::time::timeout(CANCEL_TIMEOUT, token.cancel_query(tls)).await;
            // The postmaster signals the backend before it closes the cancel connection, but
            // the backend acts on the signal only when it is next scheduled: on a loaded
            // machine that was seen to land on the connection's next statement (the pool
            // fault test, once in CI). A short grace before the gate opens closes that window
            // for the connection that was cancelled only.
            tokio::time::sleep(CANCEL_GRACE).await;
            drop(gate);
        });
    }
}

/// How long a cancel request may take before the connection is used again regardless.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the next statement of a cancelled connection waits after the cancel request was
/// delivered (see `cancel_on_server`).
const CANCEL_GRACE: Duration = Duration::from_millis(25);

/// Cancels the query on the server when the future running it is dropped before it finished.
struct CancelOnDrop<'a> {
    conn: &'a Conn,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            cancel_on_server(self.conn);
        }
    }
}
