//! One server connection: the tokio-postgres client, its bounded LRU statement cache, the
//! background task that drives the socket (forwarding notifications), and the bookkeeping a
//! pool needs (queries run, open transaction depth).

use std::borrow::Cow;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use lru::LruCache;
use tokio::sync::mpsc;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Statement;

use crate::config::StatementCacheMode;
use crate::connect::{Connector, Opened};
use crate::error::{Error, Result};
use crate::reset::SessionState;
use crate::row::Columns;
use crate::trace::{self, ConnTrace};
use crate::value::Value;

/// A notification received through `LISTEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The channel it was sent on.
    pub channel: String,
    /// The payload.
    pub payload: String,
    /// The sending server process.
    pub process_id: i32,
}

/// A prepared statement with its result columns, as the cache keeps it.
#[derive(Clone)]
pub(crate) struct Prepared {
    pub(crate) stmt: Statement,
    pub(crate) cols: Arc<Columns>,
    /// The statement may change session state ([`crate::reset::dirties`], decided once when
    /// it is prepared): running it marks the connection for a reset before its next pool user.
    pub(crate) dirties: bool,
}

/// Where the connection task delivers notifications: the receiver of the current `listen()`
/// caller, if any. Replaceable, so that a later holder of a pooled connection can listen
/// again, and cleared by the pool's reset so an old `LISTEN`'s notifications reach nobody.
#[derive(Clone, Default)]
pub(crate) struct Notifier(Arc<Mutex<Option<mpsc::UnboundedSender<Notification>>>>);

impl Notifier {
    pub(crate) fn send(&self, n: Notification) -> std::result::Result<(), ()> {
        match self.0.lock() {
            Ok(g) => match g.as_ref() {
                Some(tx) => tx.send(n).map_err(|_| ()),
                None => Err(()),
            },
            Err(_) => Err(()),
        }
    }

    /// A new receiver of this connection's notifications; `None` while an earlier receiver is
    /// still alive (it keeps receiving everything).
    pub(crate) fn subscribe(&self) -> Option<mpsc::UnboundedReceiver<Notification>> {
        let mut g = self.0.lock().ok()?;
        if g.as_ref().is_some_and(|tx| !tx.is_closed()) {
            return None;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        *g = Some(tx);
        Some(rx)
    }

    /// Stops delivering: the current receiver sees the end of its stream.
    pub(crate) fn clear(&self) {
        if let Ok(mut g) = self.0.lock() {
            *g = None;
        }
    }
}

/// The statement cache: an LRU keyed by SQL text, plus the most recently used entry kept
/// aside, so the common case of running the same statement again is a string comparison
/// instead of a hash, a probe and an LRU reordering.
struct StmtCache {
    lru: LruCache<String, Prepared>,
    /// The LRU's most recently used entry (always the same statement as its head).
    last: Option<(Box<str>, Prepared)>,
}

impl StmtCache {
    fn get(&mut self, sql: &str) -> Option<Prepared> {
        if let Some((s, p)) = &self.last {
            if **s == *sql {
                return Some(p.clone());
            }
        }
        let p = self.lru.get(sql)?.clone();
        self.last = Some((sql.into(), p.clone()));
        Some(p)
    }

    fn put(&mut self, sql: &str, p: &Prepared) {
        self.lru.put(sql.to_string(), p.clone());
        self.last = Some((sql.into(), p.clone()));
    }

    fn pop(&mut self, sql: &str) {
        self.lru.pop(sql);
        if self.last.as_ref().is_some_and(|(s, _)| **s == *sql) {
            self.last = None;
        }
    }
}

pub(crate) struct Conn {
    pub(crate) client: tokio_postgres::Client,
    /// The TLS connector this connection was opened with: its cancel requests use it too.
    pub(crate) tls: tokio_postgres_rustls::MakeRustlsConnect,
    cache: Option<Mutex<StmtCache>>,
    pub(crate) mode: StatementCacheMode,
    /// Open transaction/savepoint depth started through our API.
    pub(crate) tx_depth: AtomicU32,
    /// Where its statements run, for their tracing spans (see `trace.rs`).
    pub(crate) trace: ConnTrace,
    /// Set when a transaction block was abandoned and its rollback is queued.
    pub(crate) broken: AtomicBool,
    pub(crate) queries: AtomicU64,
    /// The schema generation this connection's statement cache belongs to.
    pub(crate) schema_gen: AtomicU64,
    pub(crate) notifications: Notifier,
    /// Whether the session may hold state a later pool user must not see.
    pub(crate) session: SessionState,
    /// The backend's process id, read once on first use (`Database::server_pid`).
    pub(crate) pid: std::sync::OnceLock<i32>,
    /// Held while a cancel request for this connection is on its way: the next statement waits
    /// for it, so a late cancel can never hit a statement sent after the one it was meant for.
    pub(crate) cancel_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The schema introspection statement, prepared on the first refresh (named mode only),
    /// with its SQL text: kept apart from the statement cache, which each refresh clears
    /// (see `schema/introspect.rs`).
    pub(crate) introspection: Mutex<Option<(Box<str>, Statement)>>,
}

impl Conn {
    /// Opens a connection with `connector`'s settings (host choice, TLS: see `connect.rs`).
    pub(crate) async fn connect(connector: &Connector) -> Result<Conn> {
        let opts = &connector.opts;
        let Opened {
            client,
            notifier,
            host,
            port,
        } = connector.connect().await?;
        let cache = match (
            opts.cache_mode,
            NonZeroUsize::new(opts.statement_cache_size),
        ) {
            (StatementCacheMode::Named, Some(n)) => Some(Mutex::new(StmtCache {
                lru: LruCache::new(n),
                last: None,
            })),
            _ => None,
        };
        let conn = Conn {
            client,
            tls: connector.tls.connect.clone(),
            cache,
            mode: opts.cache_mode,
            tx_depth: AtomicU32::new(0),
            trace: ConnTrace::new(opts, &host, port),
            broken: AtomicBool::new(false),
            queries: AtomicU64::new(0),
            schema_gen: AtomicU64::new(0),
            notifications: notifier,
            session: SessionState::default(),
            pid: std::sync::OnceLock::new(),
            cancel_gate: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            introspection: Mutex::new(None),
        };
        if conn.mode == StatementCacheMode::Unnamed {
            conn.load_types().await.map_err(|e| {
                e.context("cannot load the database's types (statement_cache_mode=unnamed)")
            })?;
        }
        Ok(conn)
    }

    /// Loads every user-defined type into tokio-postgres' type cache, in unnamed mode.
    ///
    /// tokio-postgres looks up a type it does not know (an enum, a domain, a composite, an
    /// extension's type, arrays of them) the first time a result column has it, with *named*
    /// statements it prepares once and keeps per client (`prepare.rs`, `typeinfo_statement`).
    /// Behind PgBouncer in transaction pooling that lookup's Parse and Bind can reach two
    /// different server connections (`prepared statement "sN" does not exist`), and the
    /// statement leaks on the first one. So the lookups happen here, once per connection,
    /// inside one transaction (PgBouncer keeps a transaction on one server connection), and
    /// the statements are deallocated before it commits: no named statement outlives it.
    /// Afterwards the client's lookup statement is gone on every server, so a type created
    /// later fails deterministically (see [`type_lookup_error`]) instead of leaking or
    /// reaching the wrong server.
    async fn load_types(&self) -> Result<()> {
        let msgs = self
            .client
            .simple_query(
                "BEGIN; SELECT pg_catalog.format_type(t.oid, NULL) FROM pg_catalog.pg_type t \
                 JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
                 WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' \
                 AND n.nspname !~ '^pg_(toast|temp_)' AND t.typisdefined AND t.typtype <> 'p' \
                 AND (t.typrelid = 0 OR EXISTS (SELECT FROM pg_catalog.pg_class c \
                      WHERE c.oid = t.typrelid AND c.relkind = 'c')) \
                 ORDER BY t.oid",
            )
            .await?;
        // A type every server has and tokio-postgres does not know (the row type of a view;
        // not a domain: a result column of a domain type is described as its base type): its
        // lookup prepares tokio-postgres' lookup statement inside this block, so no later
        // lookup can prepare one outside it.
        let mut casts =
            vec!["NULL::information_schema.information_schema_catalog_name".to_string()];
        casts.extend(msgs.iter().filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|t| format!("NULL::{t}")),
            _ => None,
        }));
        let r: std::result::Result<(), tokio_postgres::Error> = async {
            for chunk in casts.chunks(1000) {
                let sql = format!("SELECT {}", chunk.join(", "));
                let stream = self
                    .client
                    .query_typed_raw(sql.as_str(), std::iter::empty::<(&str, Type)>())
                    .await?;
                futures_util::pin_mut!(stream);
                while stream.try_next().await?.is_some() {}
            }
            Ok(())
        }
        .await;
        if let Err(e) = r {
            // Closing the connection mid-transaction makes PgBouncer close its server
            // connection too, with whatever was prepared on it.
            return Err(e.into());
        }
        self.client.batch_execute("DEALLOCATE ALL; COMMIT").await?;
        Ok(())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Number of statements in the cache.
    pub(crate) fn cached_statements(&self) -> usize {
        self.cache
            .as_ref()
            .map_or(0, |c| c.lock().map(|c| c.lru.len()).unwrap_or(0))
    }

    /// The cached statement for `sql`, if any. Marks the session dirty when it may change
    /// session state.
    pub(crate) fn cached(&self, sql: &str) -> Result<Option<Prepared>> {
        match &self.cache {
            Some(cache) => {
                let p = cache.lock().map_err(|_| poisoned())?.get(sql);
                if let Some(p) = &p {
                    if p.dirties {
                        self.session.mark_dirty();
                    }
                }
                Ok(p)
            }
            None => Ok(None),
        }
    }

    /// Prepares `sql`, through the cache when there is one.
    ///
    /// Refused in [`StatementCacheMode::Unnamed`]: tokio-postgres' `prepare` always creates a
    /// named statement (`sN`), which behind PgBouncer in transaction pooling may be created on
    /// one server connection and used (or closed) on another. Every path of that mode uses
    /// `query_typed`/`query_typed_raw` (the unnamed statement) or the simple protocol instead.
    pub(crate) async fn prepare(&self, sql: &str) -> Result<Prepared> {
        if self.mode == StatementCacheMode::Unnamed {
            return Err(Error::new(
                crate::ErrorKind::Other,
                format!("internal error: a named prepared statement was requested in statement_cache_mode=unnamed: {sql}"),
            ));
        }
        if let Some(p) = self.cached(sql)? {
            return Ok(p);
        }
        let stmt = self.client.prepare(sql).await?;
        let p = Prepared {
            cols: Arc::new(Columns::from_pg(stmt.columns())),
            stmt,
            dirties: crate::reset::dirties(sql),
        };
        if p.dirties {
            self.session.mark_dirty();
        }
        if let Some(cache) = &self.cache {
            // Evicted statements are closed on the server when their last clone drops.
            cache.lock().map_err(|_| poisoned())?.put(sql, &p);
        }
        Ok(p)
    }

    /// Drops every cached statement (after DDL changed a table's shape, for instance).
    pub(crate) fn clear_cache(&self) {
        if let Some(c) = &self.cache {
            if let Ok(mut c) = c.lock() {
                c.lru.clear();
                c.last = None;
            }
        }
        // In unnamed mode the types were loaded once, at connect, and cannot be looked up
        // again (see `load_types`): keep them.
        if self.mode == StatementCacheMode::Named {
            self.client.clear_type_cache();
        }
    }

    /// Runs `sql` with `args`, returning the result columns and the raw rows.
    pub(crate) fn query<'a>(
        &'a self,
        sql: &'a str,
        args: &'a [Value],
    ) -> impl Future<Output = Result<(Arc<Columns>, Vec<tokio_postgres::Row>)>> + 'a {
        let rows = |r: &(_, Vec<_>)| Some(r.1.len() as u64);
        trace::statement(&self.trace, sql, rows, move || {
            self.query_untraced(sql, args)
        })
    }

    async fn query_untraced(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Arc<Columns>, Vec<tokio_postgres::Row>)> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.note_unprepared(sql);
        match self.mode {
            StatementCacheMode::Named => {
                let mut retried = false;
                loop {
                    let p = self.prepare(sql).await?;
                    let coerced = coerce_args(&p.stmt, args)?;
                    match self.client.query(&p.stmt, &as_params(&coerced)).await {
                        Ok(rows) => return Ok((p.cols, rows)),
                        Err(e) if !retried && self.stale_statement(sql, &e) => retried = true,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            StatementCacheMode::Unnamed => {
                let rows: Vec<tokio_postgres::Row> = async {
                    self.client
                        .query_typed_raw(sql, text_params(args))
                        .await?
                        .try_collect()
                        .await
                }
                .await
                .map_err(type_lookup_error)?;
                let cols = match rows.first() {
                    Some(r) => Arc::new(Columns::from_pg(r.columns())),
                    None => Arc::new(Columns::default()),
                };
                Ok((cols, rows))
            }
        }
    }

    /// Runs `sql` with `args` and returns its first row (if any) and the number of rows.
    /// Streams the rows instead of collecting them: only the first is kept, the rest are read
    /// and dropped (so an error raised by a later row still fails the query).
    pub(crate) fn query_first<'a>(
        &'a self,
        sql: &'a str,
        args: &'a [Value],
    ) -> impl Future<Output = Result<(Arc<Columns>, Option<tokio_postgres::Row>, u64)>> + 'a {
        let rows = |r: &(_, _, u64)| Some(r.2);
        trace::statement(&self.trace, sql, rows, move || {
            self.query_first_untraced(sql, args)
        })
    }

    async fn query_first_untraced(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Arc<Columns>, Option<tokio_postgres::Row>, u64)> {
        if self.mode != StatementCacheMode::Named {
            let (cols, rows) = self.query_untraced(sql, args).await?;
            let n = rows.len() as u64;
            return Ok((cols, rows.into_iter().next(), n));
        }
        self.queries.fetch_add(1, Ordering::Relaxed);
        let mut retried = false;
        loop {
            // A cache hit is checked without building the (large) prepare future.
            let p = match self.cached(sql)? {
                Some(p) => p,
                None => self.prepare(sql).await?,
            };
            let coerced = coerce_args(&p.stmt, args)?;
            let r: std::result::Result<_, tokio_postgres::Error> = async {
                let stream = self.client.query_raw(&p.stmt, coerced.iter()).await?;
                futures_util::pin_mut!(stream);
                let first = match stream.next().await {
                    Some(r) => Some(r?),
                    None => return Ok((None, 0)),
                };
                let mut n = 1;
                while let Some(r) = stream.next().await {
                    r?;
                    n += 1;
                }
                Ok((first, n))
            }
            .await;
            match r {
                Ok((first, n)) => return Ok((p.cols, first, n)),
                Err(e) if !retried && self.stale_statement(sql, &e) => retried = true,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// True when `e` says the cached statement for `sql` no longer matches the table it reads
    /// (DDL changed its result type) and it is safe to prepare it again and retry: outside a
    /// transaction, where the failed attempt changed nothing. The stale entry is dropped.
    fn stale_statement(&self, sql: &str, e: &tokio_postgres::Error) -> bool {
        let stale = e.code() == Some(&tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED)
            && e.as_db_error().is_some_and(|d| {
                d.message()
                    .contains("cached plan must not change result type")
            });
        if stale {
            if let Some(c) = &self.cache {
                if let Ok(mut c) = c.lock() {
                    c.pop(sql);
                }
            }
        }
        stale && self.tx_depth.load(Ordering::SeqCst) == 0
    }

    /// Starts `sql` with `args` and returns a stream of its rows (columns known up front for
    /// named statements, from the first row otherwise).
    /// Its span covers starting the query, not reading the rows.
    pub(crate) async fn query_stream(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Option<Arc<Columns>>, tokio_postgres::RowStream)> {
        let run = || self.query_stream_untraced(sql, args);
        trace::statement(&self.trace, sql, |_| None, run).await
    }

    async fn query_stream_untraced(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Option<Arc<Columns>>, tokio_postgres::RowStream)> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.note_unprepared(sql);
        match self.mode {
            StatementCacheMode::Named => {
                let p = self.prepare(sql).await?;
                let coerced: Vec<Bound<'static>> = coerce_args(&p.stmt, args)?
                    .into_iter()
                    .map(Bound::into_owned)
                    .collect();
                let s = self.client.query_raw(&p.stmt, coerced).await?;
                Ok((Some(p.cols), s))
            }
            StatementCacheMode::Unnamed => {
                let params = text_params(args);
                let s = self
                    .client
                    .query_typed_raw(sql, params)
                    .await
                    .map_err(type_lookup_error)?;
                Ok((None, s))
            }
        }
    }

    /// Runs `sql` with `args`, returning the number of rows affected.
    pub(crate) fn execute<'a>(
        &'a self,
        sql: &'a str,
        args: &'a [Value],
    ) -> impl Future<Output = Result<u64>> + 'a {
        let run = move || self.execute_untraced(sql, args);
        trace::statement(&self.trace, sql, |n| Some(*n), run)
    }

    async fn execute_untraced(&self, sql: &str, args: &[Value]) -> Result<u64> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.note_unprepared(sql);
        match self.mode {
            StatementCacheMode::Named => {
                let mut retried = false;
                loop {
                    let p = self.prepare(sql).await?;
                    let coerced = coerce_args(&p.stmt, args)?;
                    match self.client.execute(&p.stmt, &as_params(&coerced)).await {
                        Ok(n) => return Ok(n),
                        Err(e) if !retried && self.stale_statement(sql, &e) => retried = true,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            StatementCacheMode::Unnamed => {
                let r: std::result::Result<u64, tokio_postgres::Error> = async {
                    let stream = self.client.query_typed_raw(sql, text_params(args)).await?;
                    futures_util::pin_mut!(stream);
                    while stream.try_next().await?.is_some() {}
                    Ok(stream.rows_affected().unwrap_or(0))
                }
                .await;
                r.map_err(type_lookup_error)
            }
        }
    }

    /// Runs `sql` as an unnamed statement with text-format arguments whatever the cache mode
    /// (for one-off SQL such as a cursor's `DECLARE`), returning the rows affected.
    pub(crate) async fn execute_unnamed(&self, sql: &str, args: &[Value]) -> Result<u64> {
        let run = || async {
            self.queries.fetch_add(1, Ordering::Relaxed);
            let stream = self.client.query_typed_raw(sql, text_params(args)).await?;
            futures_util::pin_mut!(stream);
            while stream.try_next().await?.is_some() {}
            Ok(stream.rows_affected().unwrap_or(0))
        };
        trace::statement(&self.trace, sql, |n| Some(*n), run).await
    }

    /// Runs `sql` (no arguments) as an unnamed statement whatever the cache mode, returning
    /// its rows (a cursor's `FETCH`).
    pub(crate) async fn query_unnamed(&self, sql: &str) -> Result<Vec<tokio_postgres::Row>> {
        let run = || async {
            self.queries.fetch_add(1, Ordering::Relaxed);
            Ok(self
                .client
                .query_typed_raw(sql, text_params(&[]))
                .await?
                .try_collect()
                .await?)
        };
        trace::statement(
            &self.trace,
            sql,
            |rows: &Vec<_>| Some(rows.len() as u64),
            run,
        )
        .await
    }

    /// Runs an already prepared statement without arguments (a cursor's `FETCH`), returning
    /// its rows.
    pub(crate) async fn query_statement(
        &self,
        sql: &str,
        stmt: &Statement,
    ) -> Result<Vec<tokio_postgres::Row>> {
        let run = || async {
            self.queries.fetch_add(1, Ordering::Relaxed);
            Ok(self.client.query(stmt, &[]).await?)
        };
        trace::statement(
            &self.trace,
            sql,
            |rows: &Vec<_>| Some(rows.len() as u64),
            run,
        )
        .await
    }

    /// Runs one or more statements without arguments (simple query protocol) and returns the
    /// rows affected, summed over the statements.
    pub(crate) async fn simple_execute(&self, sql: &str) -> Result<u64> {
        let run = || self.simple_execute_untraced(sql);
        trace::statement(&self.trace, sql, |n| Some(*n), run).await
    }

    async fn simple_execute_untraced(&self, sql: &str) -> Result<u64> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.session.note_sql(sql);
        let msgs = self.client.simple_query(sql).await?;
        Ok(msgs
            .iter()
            .map(|m| match m {
                tokio_postgres::SimpleQueryMessage::CommandComplete(n) => *n,
                _ => 0,
            })
            .sum())
    }

    /// Like [`simple_execute`](Self::simple_execute), returning the rows affected by each
    /// statement, in order (`Database::execute_status` reports the last one).
    pub(crate) async fn simple_execute_each(&self, sql: &str) -> Result<Vec<u64>> {
        let run = || async {
            self.queries.fetch_add(1, Ordering::Relaxed);
            self.session.note_sql(sql);
            let msgs = self.client.simple_query(sql).await?;
            Ok(msgs
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
                    _ => None,
                })
                .collect())
        };
        trace::statement(&self.trace, sql, |n: &Vec<u64>| Some(n.iter().sum()), run).await
    }

    /// Runs several statements with no arguments (simple query protocol).
    pub(crate) async fn batch_execute(&self, sql: &str) -> Result<()> {
        let run = || async {
            self.queries.fetch_add(1, Ordering::Relaxed);
            Ok(self.client.batch_execute(sql).await?)
        };
        trace::statement(&self.trace, sql, |_| None, run).await
    }

    /// Unnamed statements are not cached: classify their text on each call (named ones are
    /// classified when prepared).
    #[inline]
    fn note_unprepared(&self, sql: &str) {
        if self.mode == StatementCacheMode::Unnamed {
            self.session.note_sql(sql);
        }
    }

    /// A driver error of this connection as ours, explained as a type lookup failure in
    /// unnamed mode (see [`type_lookup_error`]).
    pub(crate) fn pg_error(&self, e: tokio_postgres::Error) -> Error {
        match self.mode {
            StatementCacheMode::Unnamed => type_lookup_error(e),
            StatementCacheMode::Named => e.into(),
        }
    }

    /// Marks the connection unusable after an error that leaves its protocol stream in an
    /// unknown state ("unexpected message from server": the responses no longer match the
    /// requests), so the pool discards it instead of handing the next user answers meant for
    /// someone else.
    pub(crate) fn note_error(&self, e: &Error) {
        if e.kind() == crate::ErrorKind::Other
            && e.to_string().contains("unexpected message from server")
        {
            self.broken.store(true, Ordering::SeqCst);
        }
    }

    /// Queues a ROLLBACK (or ROLLBACK TO a savepoint) without waiting: used when a transaction
    /// guard is dropped, so the rollback is ordered before anything sent afterwards.
    pub(crate) fn queue_rollback(&self, savepoint: Option<&str>) {
        self.client.__private_api_rollback(savepoint);
    }
}

/// An error of an unnamed-mode query, explained when it is tokio-postgres failing to look up
/// a type that was not loaded at connect (see [`Conn::load_types`]): its lookup statement was
/// deallocated on purpose, so the lookup fails with `prepared statement "sN" does not exist`.
pub(crate) fn type_lookup_error(e: tokio_postgres::Error) -> Error {
    let lookup = e.code() == Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME)
        && e.as_db_error().is_some_and(|d| {
            d.message().starts_with("prepared statement \"s")
                && d.message().ends_with("does not exist")
        });
    let err = Error::from(e);
    if !lookup {
        return err;
    }
    err.context(
        "a result column has a type this connection did not load when it connected (a type \
         created since, or a table's row type); with statement_cache_mode=unnamed types are \
         loaded once per connection because tokio-postgres looks them up with a named \
         statement, which PgBouncer's transaction pooling cannot keep on one server. Cast the \
         column (e.g. to text), reconnect (new connections load the types that exist then), or \
         use PgBouncer 1.21+ with max_prepared_statements and statement_cache_mode=named",
    )
}

fn poisoned() -> Error {
    Error::new(crate::ErrorKind::Other, "statement cache lock poisoned")
}

/// An argument already coerced to its parameter's type: encoded as is, without the second
/// coercion `impl ToSql for Value` would do.
#[derive(Debug)]
pub(crate) struct Bound<'a>(pub(crate) Cow<'a, Value>);

impl Bound<'_> {
    pub(crate) fn into_owned(self) -> Bound<'static> {
        Bound(Cow::Owned(self.0.into_owned()))
    }
}

impl ToSql for Bound<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        self.0.encode_coerced(ty, out)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _ty: &Type) -> tokio_postgres::types::Format {
        if self.0.needs_text_format() {
            tokio_postgres::types::Format::Text
        } else {
            tokio_postgres::types::Format::Binary
        }
    }
    tokio_postgres::types::to_sql_checked!();
}

/// Checks the argument count and coerces each argument to its parameter's type, so that a
/// value that cannot go in fails before anything is sent, naming the parameter.
pub(crate) fn coerce_args<'a>(stmt: &Statement, args: &'a [Value]) -> Result<Vec<Bound<'a>>> {
    let params = stmt.params();
    if params.len() != args.len() {
        return Err(Error::bind(format!(
            "the query has {} parameter{} but {} argument{} given",
            params.len(),
            if params.len() == 1 { "" } else { "s" },
            args.len(),
            if args.len() == 1 { " was" } else { "s were" }
        )));
    }
    args.iter()
        .zip(params)
        .enumerate()
        .map(|(i, (v, ty))| {
            v.coerce_to(ty)
                .map(Bound)
                .map_err(|msg| Error::bind(format!("parameter ${}: {msg}", i + 1)))
        })
        .collect()
}

pub(crate) fn as_params<'a>(vals: &'a [Bound<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    vals.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// The arguments of an unnamed statement: text format, types left for the server to infer.
fn text_params(args: &[Value]) -> impl ExactSizeIterator<Item = (TextParam<'_>, Type)> {
    args.iter().map(|v| (TextParam(v), Type::UNKNOWN))
}

/// A value sent in text format with an unspecified type: the server infers the type from the
/// query and parses the text, as it does for a quoted literal.
#[derive(Debug)]
struct TextParam<'a>(&'a Value);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        if self.0.is_null() {
            return Ok(tokio_postgres::types::IsNull::Yes);
        }
        use std::fmt::Write;
        write!(out, "{}", self.0)?;
        Ok(tokio_postgres::types::IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _ty: &Type) -> tokio_postgres::types::Format {
        tokio_postgres::types::Format::Text
    }
    tokio_postgres::types::to_sql_checked!();
}
