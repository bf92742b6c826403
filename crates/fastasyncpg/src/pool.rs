//! The connection pool: deadpool's generic pool over our own [`Conn`], so each pooled
//! connection keeps its bounded statement cache, and recycling enforces asyncpg's settings.

use std::sync::atomic::Ordering;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};

use crate::config::PoolOptions;
use crate::connect::Connector;
use crate::conn::Conn;
use crate::error::Error;

pub(crate) struct Manager {
    pub(crate) connector: Connector,
    pub(crate) pool: PoolOptions,
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = Error;

    async fn create(&self) -> Result<Conn, Error> {
        Conn::connect(&self.connector).await
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<Error> {
        if conn.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        if conn.tx_depth.load(Ordering::SeqCst) > 0 || conn.broken.load(Ordering::SeqCst) {
            // Never hand out a connection that may still be inside a transaction.
            return Err(RecycleError::message(
                "connection was left inside a transaction",
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
        Ok(())
    }
}

pub(crate) type Pool = managed::Pool<Manager>;
pub(crate) type Object = managed::Object<Manager>;

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
