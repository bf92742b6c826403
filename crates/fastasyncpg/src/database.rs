//! The Database handle (stub).
use crate::args::IntoArgs;
use crate::error::{Error, Result};
use crate::results::Results;
use crate::row::Row;
use crate::value::FromValue;

/// A database: one connection, a pool, a held connection or a transaction, with one API.
#[derive(Clone, Debug)]
pub struct Database {
    client: std::sync::Arc<tokio_postgres::Client>,
}

/// Connects one connection.
pub async fn connect(dsn: &str) -> Result<Database> {
    let (client, conn) = tokio_postgres::connect(dsn, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Database {
        client: std::sync::Arc::new(client),
    })
}

/// Creates a pool (stub: one connection).
pub async fn create_pool(dsn: &str) -> Result<Database> {
    connect(dsn).await
}

impl Database {
    /// Runs a query and returns its rows.
    pub async fn fetch(&self, sql: &str, args: impl IntoArgs) -> Result<Vec<Row>> {
        let a = args.into_args();
        let c = crate::sql::conv_placeholders(sql, &a.positional, &a.named)?;
        let stmt = self.client.prepare(&c.sql).await?;
        let cols = std::sync::Arc::new(crate::row::Columns::from_pg(stmt.columns()));
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = c
            .args
            .iter()
            .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let rows = self.client.query(&stmt, &params).await?;
        Ok(rows
            .into_iter()
            .map(|r| Row::new(cols.clone(), r))
            .collect())
    }
    /// Runs a query and returns `Results`.
    pub async fn q(&self, sql: &str, args: impl IntoArgs) -> Result<Results> {
        let rows = self.fetch(sql, args).await?;
        let cols = rows
            .first()
            .map(|r| r.columns_arc().clone())
            .unwrap_or_default();
        Ok(Results::new(cols, rows))
    }
    /// First row or None.
    pub async fn fetchrow(&self, sql: &str, args: impl IntoArgs) -> Result<Option<Row>> {
        Ok(self.fetch(sql, args).await?.into_iter().next())
    }
    /// First value of the first row.
    pub async fn fetchval<T: FromValue>(&self, sql: &str, args: impl IntoArgs) -> Result<T> {
        let row = self
            .fetchrow(sql, args)
            .await?
            .ok_or_else(|| Error::not_found("no row"))?;
        row.get(0)
    }
    /// Runs statements.
    pub async fn execute(&self, sql: &str, _args: impl IntoArgs) -> Result<u64> {
        self.client.batch_execute(sql).await?;
        Ok(0)
    }
}
