//! fastasyncpg features that are still being built on other branches. Each is behind a cargo
//! feature of this crate (`table-api`, `models`); without it the workload reports
//! "n/a (not yet implemented)". To enable one once it has landed: fill in the body below
//! (if the final API differs from the guess) and build with `--features table-api` — `bench/run`
//! turns the features on by itself when it finds the API in `crates/fastasyncpg/src`.

#![allow(unused_variables, dead_code)]

use crate::rust_impls::{Rec, R};

pub const TABLE_API: bool = cfg!(feature = "table-api");
pub const MODELS: bool = cfg!(feature = "models");
pub const TABLE_NA: &str = "n/a (not yet implemented: fastasyncpg table API)";
pub const MODELS_NA: &str = "n/a (not yet implemented: fastasyncpg typed models derive)";

/// `db.t(table)?.get(pk)`: the whole row, or `None`.
pub async fn table_get(db: &fastasyncpg::Database, table: &str, pk: i32) -> R<Option<fastasyncpg::Row>> {
    #[cfg(feature = "table-api")]
    {
        return Ok(db.t(table)?.get(pk).await?);
    }
    #[allow(unreachable_code)]
    Err(TABLE_NA.into())
}

/// `db.t(table)?.inserts(records)`.
pub async fn inserts(db: &fastasyncpg::Database, table: &str, recs: &[Rec]) -> R<()> {
    #[cfg(feature = "table-api")]
    {
        db.t(table)?.inserts(recs.iter().map(to_record)).await?;
        return Ok(());
    }
    #[allow(unreachable_code)]
    Err(TABLE_NA.into())
}

/// `db.t(table)?.upserts(records)`.
pub async fn upserts(db: &fastasyncpg::Database, table: &str, recs: &[Rec]) -> R<()> {
    #[cfg(feature = "table-api")]
    {
        db.t(table)?.upserts(recs.iter().map(to_record)).await?;
        return Ok(());
    }
    #[allow(unreachable_code)]
    Err(TABLE_NA.into())
}

/// `db.refresh()`: reloads the schema's metadata.
pub async fn refresh(db: &fastasyncpg::Database) -> R<()> {
    #[cfg(feature = "table-api")]
    {
        db.refresh().await?;
        return Ok(());
    }
    #[allow(unreachable_code)]
    Err(TABLE_NA.into())
}

/// A record as the table API takes it.
#[cfg(feature = "table-api")]
fn to_record(r: &Rec) -> fastasyncpg::Record {
    fastasyncpg::Record::new()
        .with("id", r.id)
        .with("name", r.name.clone())
        .with("qty", r.qty)
        .with("note", r.note.clone())
}

// ---- typed models (`#[derive(FromRow)]`, `#[derive(Model)]`, `db.model::<T>()`) ----------

/// W1 through a typed row: `abalance` only.
#[cfg(feature = "models")]
#[derive(fastasyncpg::FromRow, Debug)]
pub struct Balance {
    pub abalance: i32,
}

/// The whole `pgbench_accounts` row as a model.
#[cfg(feature = "models")]
#[derive(fastasyncpg::Model, Debug, Clone, PartialEq)]
#[fastasyncpg(table = "pgbench_accounts")]
pub struct AccountModel {
    #[fastasyncpg(primary_key)]
    pub aid: i32,
    pub bid: i32,
    pub abalance: i32,
    pub filler: Option<String>,
}

/// W1: `db.fetchrow_as::<Balance>(sql, (aid,))`.
pub async fn model_w1(db: &fastasyncpg::Database, sql: &str, aid: i32) -> R<i64> {
    #[cfg(feature = "models")]
    {
        let b = db.fetchrow_as::<Balance>(sql, (aid,)).await?.ok_or("no row")?;
        return Ok(b.abalance as i64);
    }
    #[allow(unreachable_code)]
    Err(MODELS_NA.into())
}

/// W1t: `db.model::<AccountModel>().get(aid)`.
pub async fn model_get(db: &fastasyncpg::Database, aid: i32) -> R<i64> {
    #[cfg(feature = "models")]
    {
        let a = db.model::<AccountModel>().get(aid).await?.ok_or("no row")?;
        return Ok(a.abalance as i64);
    }
    #[allow(unreachable_code)]
    Err(MODELS_NA.into())
}

/// W3: `db.fetch_as::<AccountModel>(sql, (lo, hi))`; returns the number of rows.
pub async fn model_fetch(db: &fastasyncpg::Database, sql: &str, lo: i32, hi: i32) -> R<usize> {
    #[cfg(feature = "models")]
    {
        let v = db.fetch_as::<AccountModel>(sql, (lo, hi)).await?;
        let x: i64 = v.iter().map(|a| a.abalance as i64 + a.bid as i64).sum();
        std::hint::black_box(x);
        return Ok(v.len());
    }
    #[allow(unreachable_code)]
    Err(MODELS_NA.into())
}
