//! Cursors (the seed's `cursor`): an async stream of rows with `fetch(n)`, `fetchrow()` and
//! `forward(n)`.
//!
//! - **Inside a transaction** a cursor is a real server-side cursor (`DECLARE … NO SCROLL
//!   CURSOR`, then `FETCH FORWARD prefetch`): only `prefetch` rows (default 50, like asyncpg)
//!   are held at a time, and other queries on the same transaction can run between batches.
//! - **Outside a transaction** the rows are streamed over the extended protocol as they arrive
//!   (no transaction is opened for you; the socket's back-pressure bounds what is buffered). The
//!   cursor keeps its connection until it is dropped; other queries on that same connection
//!   wait until it is exhausted or dropped — open a transaction (`db.begin()`) to interleave.
//!
//! A server-side cursor lives until its transaction ends (or [`Cursor::close`]).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};

use tokio_postgres::Statement;

use crate::args::IntoArgs;
use crate::config::StatementCacheMode;
use crate::database::{Database, HeldConn, Target};
use crate::error::{Error, Result};
use crate::pool::pool_error;
use crate::row::{Columns, Row};
use crate::value::Value;

/// Rows fetched per round trip by a server-side cursor unless [`Cursor::prefetch`] says
/// otherwise (asyncpg's default).
pub const DEFAULT_PREFETCH: usize = 50;

type Batch = Pin<Box<dyn Future<Output = Result<Vec<Row>>> + Send>>;

/// The rows of [`Database::cursor`]: [`next`](Cursor::next), asyncpg's `fetch(n)`,
/// `fetchrow()` and `forward(n)`, and [`into_stream`](Cursor::into_stream).
pub struct Cursor {
    kind: Kind,
}

enum Kind {
    Stream(RowStream),
    Portal(Portal),
}

struct Portal {
    /// The transaction handle the cursor was declared on.
    db: Database,
    /// Quoted cursor name.
    name: Arc<str>,
    prefetch: usize,
    buf: VecDeque<Row>,
    exhausted: bool,
    pending: Option<Batch>,
    fetch: FetchSlot,
}

impl Database {
    /// A cursor over the rows of a query; see the [module docs](crate::cursor) for how it
    /// behaves inside and outside a transaction.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let tx = db.begin().await?;
    /// let mut cur = tx.cursor("SELECT * FROM track", ()).await?.prefetch(100);
    /// let first_ten = cur.fetch(10).await?;
    /// cur.forward(5).await?; // skip five
    /// while let Some(row) = cur.next().await {
    ///     let row = row?;
    ///     // other queries on `tx` may run here
    /// }
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn cursor(&self, sql: &str, args: impl IntoArgs) -> Result<Cursor> {
        let (sql, args) = Self::prepare_sql(sql, args)?;
        self.cursor_converted(&sql, args).await
    }

    /// [`cursor`](Self::cursor) for `$n`-style SQL with arguments in order.
    pub(crate) async fn cursor_converted(&self, sql: &str, args: Vec<Value>) -> Result<Cursor> {
        if self.is_in_transaction() {
            return self.declare(sql, &args).await;
        }
        let holder = match &self.target {
            Target::Pool(p) => Arc::new(HeldConn::Pooled(p.get().await.map_err(pool_error)?)),
            Target::Held { conn, .. } => {
                self.conn().await?; // fails if the transaction is over
                conn.clone()
            }
        };
        let r = self.timed(&holder, holder.query_stream(sql, &args)).await;
        self.audit_raw(sql, || r.as_ref().map(|_| 0));
        let (cols, inner) = r?;
        Ok(Cursor {
            kind: Kind::Stream(RowStream {
                inner: Box::pin(inner),
                cols,
                done: false,
                _conn: holder,
            }),
        })
    }

    async fn declare(&self, sql: &str, args: &[Value]) -> Result<Cursor> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name: Arc<str> = format!(
            "\"fastasyncpg_cursor_{}\"",
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
        .into();
        let declare = format!("DECLARE {name} NO SCROLL CURSOR FOR {sql}");
        let conn = self.conn().await?;
        // An unnamed statement: the cursor name makes every DECLARE text unique, so caching it
        // would only evict useful statements.
        self.timed(&conn, conn.execute_unnamed(&declare, args))
            .await
            .map_err(|e| e.context("cannot open the cursor"))?;
        drop(conn);
        self.audit_raw(sql, || Ok(0));
        Ok(Cursor {
            kind: Kind::Portal(Portal {
                db: self.clone(),
                name,
                prefetch: DEFAULT_PREFETCH,
                buf: VecDeque::new(),
                exhausted: false,
                pending: None,
                fetch: FetchSlot::default(),
            }),
        })
    }
}

/// The cursor's `FETCH FORWARD prefetch` prepared once (named mode), with its columns: each
/// batch is then only Bind/Execute instead of Parse/Describe/Bind/Execute. Not through the
/// statement cache: every cursor has its own name, so caching would only evict useful
/// statements. Closed on the server when the cursor is dropped.
type FetchSlot = Arc<Mutex<Option<(usize, Statement, Arc<Columns>)>>>;

/// `FETCH FORWARD n FROM name` on the cursor's transaction.
async fn fetch_batch(db: Database, name: Arc<str>, n: usize, slot: FetchSlot) -> Result<Vec<Row>> {
    let conn = db.conn().await?;
    let sql = format!("FETCH FORWARD {n} FROM {name}");
    if conn.mode == StatementCacheMode::Named {
        let ready = slot.lock().ok().and_then(|g| {
            g.as_ref()
                .filter(|(k, _, _)| *k == n)
                .map(|(_, st, c)| (st.clone(), c.clone()))
        });
        let (stmt, cols) = match ready {
            Some(x) => x,
            None => {
                let st = db
                    .timed(&conn, async { Ok(conn.client.prepare(&sql).await?) })
                    .await?;
                let cols = Arc::new(Columns::from_pg(st.columns()));
                if let Ok(mut g) = slot.lock() {
                    *g = Some((n, st.clone(), cols.clone()));
                }
                (st, cols)
            }
        };
        let raw = db.timed(&conn, conn.query_statement(&sql, &stmt)).await?;
        return Ok(raw.into_iter().map(|r| Row::new(cols.clone(), r)).collect());
    }
    let raw = db.timed(&conn, conn.query_unnamed(&sql)).await?;
    let mut cols: Option<Arc<Columns>> = None;
    Ok(raw
        .into_iter()
        .map(|r| {
            let c = cols
                .get_or_insert_with(|| Arc::new(Columns::from_pg(r.columns())))
                .clone();
            Row::new(c, r)
        })
        .collect())
}

impl Cursor {
    /// Rows fetched per round trip by a server-side cursor (default [`DEFAULT_PREFETCH`]);
    /// no effect on a streamed cursor.
    pub fn prefetch(mut self, n: usize) -> Self {
        if let Kind::Portal(p) = &mut self.kind {
            p.prefetch = n.max(1);
        }
        self
    }

    /// True for a server-side cursor (inside a transaction).
    pub fn is_server_side(&self) -> bool {
        matches!(self.kind, Kind::Portal(_))
    }

    /// The next `n` rows (fewer at the end).
    pub async fn fetch(&mut self, n: usize) -> Result<Vec<Row>> {
        match &mut self.kind {
            Kind::Stream(s) => {
                let mut out = Vec::with_capacity(n.min(1024));
                while out.len() < n {
                    match s.next().await {
                        Some(r) => out.push(r?),
                        None => break,
                    }
                }
                Ok(out)
            }
            Kind::Portal(p) => {
                p.settle().await?;
                let mut out: Vec<Row> = p.buf.drain(..n.min(p.buf.len())).collect();
                if out.len() < n && !p.exhausted {
                    let want = n - out.len();
                    let more =
                        fetch_batch(p.db.clone(), p.name.clone(), want, p.fetch.clone()).await?;
                    if more.len() < want {
                        p.exhausted = true;
                    }
                    out.extend(more);
                }
                Ok(out)
            }
        }
    }

    /// The next row, or `None` at the end.
    pub async fn fetchrow(&mut self) -> Result<Option<Row>> {
        Cursor::next(self).await.transpose()
    }

    /// Skips `n` rows without sending them to the client (`MOVE FORWARD n` on a server-side
    /// cursor); returns how many were skipped.
    pub async fn forward(&mut self, n: usize) -> Result<u64> {
        match &mut self.kind {
            Kind::Stream(s) => {
                let mut skipped = 0;
                while skipped < n as u64 {
                    match s.next().await {
                        Some(r) => {
                            r?;
                            skipped += 1;
                        }
                        None => break,
                    }
                }
                Ok(skipped)
            }
            Kind::Portal(p) => {
                p.settle().await?;
                let from_buf = n.min(p.buf.len());
                p.buf.drain(..from_buf);
                let mut skipped = from_buf as u64;
                if from_buf < n && !p.exhausted {
                    let want = (n - from_buf) as u64;
                    let conn = p.db.conn().await?;
                    let moved =
                        p.db.timed(
                            &conn,
                            conn.execute_unnamed(
                                &format!("MOVE FORWARD {want} FROM {}", p.name),
                                &[],
                            ),
                        )
                        .await?;
                    if moved < want {
                        p.exhausted = true;
                    }
                    skipped += moved;
                }
                Ok(skipped)
            }
        }
    }

    /// Closes a server-side cursor now instead of at the end of its transaction.
    pub async fn close(self) -> Result<()> {
        if let Kind::Portal(mut p) = self.kind {
            p.settle().await?;
            p.db.execute(&format!("CLOSE {}", p.name), ()).await?;
        }
        Ok(())
    }
}

impl Portal {
    /// Waits for a batch the stream side started, so `fetch`/`forward` never race it.
    async fn settle(&mut self) -> Result<()> {
        if let Some(f) = self.pending.take() {
            let rows = f.await?;
            if rows.len() < self.prefetch {
                self.exhausted = true;
            }
            self.buf.extend(rows);
        }
        Ok(())
    }
}

impl Cursor {
    /// The next row (`None` at the end), fetching a batch of `prefetch` rows when none is
    /// buffered: `while let Some(row) = cur.next().await { … }`.
    #[allow(clippy::should_implement_trait)]
    pub async fn next(&mut self) -> Option<Result<Row>> {
        futures_util::future::poll_fn(|cx| self.poll_row(cx)).await
    }

    /// The rows as a [`Stream`], for stream combinators. (`Cursor` itself is not a `Stream`,
    /// so that its asyncpg method [`forward`](Self::forward) is not shadowed by
    /// `StreamExt::forward`.)
    pub fn into_stream(mut self) -> impl Stream<Item = Result<Row>> + Send + Unpin {
        futures_util::stream::poll_fn(move |cx| self.poll_row(cx))
    }

    fn poll_row(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        match &mut self.kind {
            Kind::Stream(s) => Pin::new(s).poll_next(cx),
            Kind::Portal(p) => loop {
                if let Some(r) = p.buf.pop_front() {
                    return Poll::Ready(Some(Ok(r)));
                }
                if p.exhausted && p.pending.is_none() {
                    return Poll::Ready(None);
                }
                if p.pending.is_none() {
                    p.pending = Some(Box::pin(fetch_batch(
                        p.db.clone(),
                        p.name.clone(),
                        p.prefetch,
                        p.fetch.clone(),
                    )));
                }
                let Some(fut) = p.pending.as_mut() else {
                    return Poll::Ready(None);
                };
                match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(r) => {
                        p.pending = None;
                        match r {
                            Ok(rows) => {
                                if rows.len() < p.prefetch {
                                    p.exhausted = true;
                                }
                                p.buf.extend(rows);
                            }
                            Err(e) => {
                                p.exhausted = true;
                                return Poll::Ready(Some(Err(e)));
                            }
                        }
                    }
                }
            },
        }
    }
}

/// Rows streamed as they arrive (a cursor outside a transaction). Keeps its connection until
/// dropped.
pub struct RowStream {
    inner: Pin<Box<tokio_postgres::RowStream>>,
    cols: Option<Arc<Columns>>,
    /// Set once the rows ended: tokio-postgres' stream must not be polled after that.
    done: bool,
    _conn: Arc<HeldConn>,
}

impl RowStream {
    /// Rows affected, once the stream is exhausted.
    pub fn rows_affected(&self) -> Option<u64> {
        self.inner.rows_affected()
    }
}

impl Stream for RowStream {
    type Item = Result<Row>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(raw))) => {
                let cols = match &self.cols {
                    Some(c) => c.clone(),
                    None => {
                        let c = Arc::new(Columns::from_pg(raw.columns()));
                        self.cols = Some(c.clone());
                        c
                    }
                };
                Poll::Ready(Some(Ok(Row::new(cols, raw))))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(Error::from(e))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
