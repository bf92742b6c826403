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

/// A record as the table API takes it (a guess: column name → value pairs).
#[cfg(feature = "table-api")]
fn to_record(r: &Rec) -> Vec<(&'static str, fastasyncpg::Value)> {
    vec![
        ("id", r.id.into()),
        ("name", r.name.clone().into()),
        ("qty", r.qty.into()),
        ("note", r.note.clone().into()),
    ]
}
