//! Connection settings (stub, replaced next).
use crate::error::Result;
/// Connection settings.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {}
/// Pool settings.
#[derive(Clone, Debug, Default)]
pub struct PoolOptions {}
/// How statements are prepared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatementCacheMode {
    /// Named prepared statements in a bounded LRU cache.
    #[default]
    Named,
    /// No named statements (PgBouncer transaction pooling).
    Unnamed,
}
impl ConnectOptions {
    /// Parses a DSN.
    pub fn parse(_dsn: &str) -> Result<Self> {
        Ok(ConnectOptions {})
    }
}
