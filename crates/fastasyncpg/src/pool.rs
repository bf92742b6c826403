//! The connection pool: deadpool's generic pool over our own [`Conn`], so each pooled
//! connection keeps its bounded statement cache, and recycling enforces asyncpg's settings.
//!
//! A connection given back dirty is reset before anyone else gets it (see [`crate::reset`]):
//! the [`Object`] wrapper's `Drop` hands it to a task that resets it and then returns it to
//! the pool; `recycle` resets one that still comes back dirty. A background task
//! ([`spawn_health_check`]) closes idle connections that are broken or idle for too long.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};

use crate::config::PoolOptions;
use crate::conn::Conn;
use crate::connect::Connector;
use crate::error::Error;
use crate::reset::RESET_TIMEOUT;

/// Counters of one pool.
#[derive(Debug, Default)]
pub(crate) struct PoolStats {
    /// Session resets run.
    pub(crate) resets: AtomicU64,
}

pub(crate) struct Manager {
    pub(crate) connector: Connector,
    pub(crate) pool: PoolOptions,
    pub(crate) stats: Arc<PoolStats>,
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = Error;

    async fn create(&self) -> Result<Conn, Error> {
        let mut conn = Conn::connect(&self.connector).await?;
        conn.session.policy = self.pool.reset;
        conn.session.on_checkout();
        Ok(conn)
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<Error> {
        if conn.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        if conn.tx_depth.load(Ordering::SeqCst) > 0 || conn.broken.load(Ordering::SeqCst) {
            // Never hand out a connection that may still be inside a transaction.
            return Err(RecycleError::message(
                "connection was left inside a transaction, or found unusable",
            ));
        }
        if self.pool.max_queries > 0
            && conn.queries.load(Ordering::Relaxed) >= self.pool.max_queries
        {
            return Err(RecycleError::message("max_queries reached"));
        }
        if let Some(max) = self.pool.max_inactive_connection_lifetime {
            if metrics.last_used() > max {
                return Err(RecycleError::message("inactive for too long"));
            }
        }
        // Normally done when the connection was given back; this catches one given back where
        // no task could be spawned.
        if conn.session.needs_reset() {
            match tokio::time::timeout(RESET_TIMEOUT, conn.reset_session()).await {
                Ok(Ok(())) => {
                    self.stats.resets.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(e)) => return Err(RecycleError::Backend(e)),
                Err(_) => return Err(RecycleError::message("session reset timed out")),
            }
        }
        conn.session.on_checkout();
        Ok(())
    }
}

/// A connection taken from the pool. Giving it back (dropping it) resets its session first
/// when it needs it: a task owns it meanwhile, so no other user can get it before the reset
/// is done, and a reset that fails discards it. A clean connection goes straight back (the
/// check is one atomic load).
pub(crate) struct Object(Option<managed::Object<Manager>>);

impl From<managed::Object<Manager>> for Object {
    fn from(o: managed::Object<Manager>) -> Self {
        Object(Some(o))
    }
}

impl Deref for Object {
    type Target = Conn;
    #[inline]
    fn deref(&self) -> &Conn {
        // Only `drop` takes it out.
        self.0
            .as_deref()
            .expect("pooled connection already given back")
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        let Some(obj) = self.0.take() else {
            return;
        };
        if !obj.session.needs_reset() || obj.is_closed() {
            return; // back to the pool (recycle drops a closed one)
        }
        // Without a runtime the connection goes back dirty and `recycle` resets it.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(reset_and_return(obj));
        }
    }
}

/// Resets `obj`'s session, then gives it back to the pool; discards it if the reset fails.
async fn reset_and_return(obj: managed::Object<Manager>) {
    if obj.tx_depth.load(Ordering::SeqCst) > 0 {
        return; // recycle will refuse it
    }
    match tokio::time::timeout(RESET_TIMEOUT, obj.reset_session()).await {
        Ok(Ok(())) => {
            if let Some(pool) = managed::Object::pool(&obj) {
                pool.manager().stats.resets.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(target: "fastasyncpg", "discarding a pooled connection: {e}");
            drop(managed::Object::take(obj));
        }
        Err(_) => {
            tracing::debug!(target: "fastasyncpg", "discarding a pooled connection: reset timed out");
            drop(managed::Object::take(obj));
        }
    }
}

pub(crate) type Pool = managed::Pool<Manager, Object>;

/// How often the health check runs: half the inactive lifetime, at most 30 s, at least 50 ms.
pub(crate) fn health_check_interval(opts: &PoolOptions) -> Duration {
    let max = Duration::from_secs(30);
    opts.max_inactive_connection_lifetime
        .map_or(max, |l| (l / 2).min(max))
        .max(Duration::from_millis(50))
}

/// Spawns the background health check of `pool`: every [`health_check_interval`] it closes
/// idle connections that are closed or broken, and those idle longer than
/// `max_inactive_connection_lifetime` while more than `min_size` connections are open. It
/// holds only a weak reference and stops when the pool is closed or dropped.
pub(crate) fn spawn_health_check(pool: &Pool) {
    let weak = pool.weak();
    let opts = pool.manager().pool.clone();
    let every = health_check_interval(&opts);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate
        loop {
            tick.tick().await;
            let Some(pool) = weak.upgrade() else {
                break;
            };
            if pool.is_closed() {
                break;
            }
            prune(&pool, &opts);
        }
    });
}

/// One health-check pass over the idle connections (see [`spawn_health_check`]).
pub(crate) fn prune<W: From<managed::Object<Manager>>>(
    pool: &managed::Pool<Manager, W>,
    opts: &PoolOptions,
) {
    let mut open = pool.status().size;
    let removed = pool.retain(|conn, metrics| {
        if conn.is_closed() {
            open -= 1;
            return false;
        }
        let expired = opts
            .max_inactive_connection_lifetime
            .is_some_and(|max| metrics.last_used() > max);
        if expired && open > opts.min_size {
            open -= 1;
            return false;
        }
        true
    });
    if !removed.removed.is_empty() {
        tracing::debug!(
            target: "fastasyncpg",
            "health check closed {} idle connection(s)",
            removed.removed.len()
        );
    }
}

pub(crate) fn pool_error(e: managed::PoolError<Error>) -> Error {
    match e {
        managed::PoolError::Backend(e) => e,
        managed::PoolError::Timeout(kind) => Error::new(
            crate::ErrorKind::Timeout,
            format!("timed out waiting for a pool connection ({kind:?})"),
        ),
        managed::PoolError::Closed => Error::new(crate::ErrorKind::Closed, "the pool is closed"),
        other => Error::new(crate::ErrorKind::Other, format!("pool error: {other}")),
    }
}
