//! Loading the schema snapshot: one SQL statement returns the whole snapshot as rows of
//! several kinds (see `introspect.sql`), in exactly one round trip whatever the number of
//! tables, with binary rows.
//!
//! The statement is prepared once per connection and kept aside from the statement cache
//! (which every refresh clears): later refreshes skip parsing and planning it, ~1.5–6 ms of a
//! 200-table snapshot. The first refresh sends the named `Parse` and the same SQL as the
//! unnamed statement pipelined, so it is one round trip too. In
//! [`StatementCacheMode::Unnamed`] (PgBouncer transaction pooling: no named statement may
//! outlive a transaction) every refresh runs it as the unnamed statement: parse, bind and
//! execute in one round trip.
//!
//! Schemas are chosen by namespace (every non-system schema the user can use, or a given list),
//! never by table-name pattern: a table called `pg_thing` or `Mixed Case` is as visible as any
//! other.

use std::sync::atomic::Ordering;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

use super::model::{
    ColumnMeta, Domain, EnumType, ForeignKey, Identity, RelKind, Schema, TableMeta, UniqueKey,
};
use crate::config::StatementCacheMode;
use crate::conn::Conn;
use crate::error::{Error, Result};

const INTROSPECT_SQL: &str = include_str!("introspect.sql");

/// The introspection statement for `schemas` (`None`: every schema the user can use, the
/// search path first).
pub(crate) fn introspect_sql(schemas: Option<&[String]>) -> String {
    let list = match schemas {
        None => "NULL::text[]".to_string(),
        Some(s) => {
            let items: Vec<String> = s.iter().map(|n| quote_literal(n)).collect();
            format!("ARRAY[{}]::text[]", items.join(", "))
        }
    };
    INTROSPECT_SQL.replace("{schemas}", &list)
}

/// A SQL string literal for `s`, safe whatever `standard_conforming_strings` says.
pub(crate) fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if body.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// Loads the snapshot over `conn` in one round trip.
pub(crate) async fn load(conn: &Conn, schemas: Option<&[String]>) -> Result<Schema> {
    let sql = introspect_sql(schemas);
    conn.queries.fetch_add(1, Ordering::Relaxed);
    let rows = fetch(conn, &sql).await?;
    parse(&rows)
}

/// Runs the introspection statement `sql`: the connection's prepared copy when it has one for
/// this text, else the unnamed statement (pipelined with preparing the named one, in named
/// mode).
async fn fetch(conn: &Conn, sql: &str) -> Result<Vec<Row>> {
    if conn.mode == StatementCacheMode::Unnamed {
        return Ok(conn.client.query_typed(sql, &[]).await?);
    }
    let cached = conn.introspection.lock().ok().and_then(|g| {
        g.as_ref()
            .filter(|(s, _)| **s == *sql)
            .map(|(_, st)| st.clone())
    });
    if let Some(st) = cached {
        match conn.client.query(&st, &[]).await {
            Ok(rows) => return Ok(rows),
            // Deallocated behind our back (`DEALLOCATE ALL`, `DISCARD ALL`): prepare again,
            // unless a transaction block is open (the failure aborted it).
            Err(e)
                if e.code() == Some(&SqlState::INVALID_SQL_STATEMENT_NAME)
                    && conn.tx_depth.load(Ordering::SeqCst) == 0 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let (prepared, rows) =
        futures_util::future::join(conn.client.prepare(sql), conn.client.query_typed(sql, &[]))
            .await;
    let rows = rows?;
    if let (Ok(st), Ok(mut slot)) = (prepared, conn.introspection.lock()) {
        *slot = Some((sql.into(), st));
    }
    Ok(rows)
}

fn bad(what: &str) -> Error {
    Error::decode(format!("cannot read the schema snapshot: {what}"))
}

/// A cell's bytes as sent (binary format), `None` for NULL.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }
    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

fn cell(r: &Row, i: usize) -> Option<&[u8]> {
    r.try_get::<_, Raw<'_>>(i).ok().and_then(|c| c.0)
}

/// A text cell (text is sent as its UTF-8 bytes in binary format too).
fn get(r: &Row, i: usize) -> Option<&str> {
    cell(r, i).and_then(|b| std::str::from_utf8(b).ok())
}

/// An integer cell: `int4` or `int8` (binary, big-endian), or a decimal text cell.
fn int(r: &Row, i: usize) -> Result<i64> {
    let ty = r.columns().get(i).map(|c| c.type_());
    let b = cell(r, i).ok_or_else(|| bad("missing number"))?;
    match (ty, b.len()) {
        (Some(&Type::INT8), 8) => Ok(i64::from_be_bytes(
            b.try_into().map_err(|_| bad("bad number"))?,
        )),
        (Some(&Type::INT4), 4) => {
            Ok(i32::from_be_bytes(b.try_into().map_err(|_| bad("bad number"))?).into())
        }
        (Some(&Type::INT2), 2) => {
            Ok(i16::from_be_bytes(b.try_into().map_err(|_| bad("bad number"))?).into())
        }
        _ => std::str::from_utf8(b)
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("bad number")),
    }
}

fn text(r: &Row, i: usize) -> Result<String> {
    get(r, i)
        .map(str::to_string)
        .ok_or_else(|| bad("missing value"))
}

fn opt(r: &Row, i: usize) -> Option<String> {
    get(r, i).map(str::to_string)
}

fn flag(r: &Row, i: usize) -> bool {
    matches!(cell(r, i), Some(b"true" | b"t"))
}

/// Names for an `int2vector` of attnums (`"1 3"`), from the relation's columns; attnum 0 (an
/// expression) and unknown ones are left out.
fn key_names(cols: &[(i64, ColumnMeta)], attnums: &str) -> Vec<String> {
    attnums
        .split_whitespace()
        .filter_map(|n| n.parse::<i64>().ok())
        .filter_map(|n| {
            cols.binary_search_by_key(&n, |c| c.0)
                .ok()
                .map(|i| cols[i].1.name.clone())
        })
        .collect()
}

/// One foreign key as its rows arrive: constraint oid, name, referenced schema and table, and
/// per key part (position, attnum, referenced column name — or, when the referenced relation
/// is loaded, its rel number and the referenced attnum, named from its column rows).
type RawFk = (
    i64,
    String,
    String,
    String,
    Vec<(i64, i64, Option<String>, Option<(usize, i64)>)>,
);

#[derive(Default)]
struct Rel {
    meta: Option<(TableMeta, bool)>,
    cols: Vec<(i64, ColumnMeta)>,
    pk: Option<String>,
    uniques: Vec<(UniqueKey, String)>,
    fks: Vec<RawFk>,
    /// (attnum, comment); attnum 0 is the relation's own.
    comments: Vec<(i64, String)>,
}

const T: usize = 4; // the first text column

fn parse(rows: &[Row]) -> Result<Schema> {
    let mut schemas: Vec<(i64, String, bool)> = Vec::new();
    let mut rels: Vec<Rel> = Vec::new();
    let mut enums: Vec<(i64, EnumType)> = Vec::new();
    let mut domains: Vec<(i64, Domain)> = Vec::new();
    for r in rows {
        let kind = int(r, 0)?;
        let k1 = int(r, 1)?;
        if (1..=5).contains(&kind) || kind == 8 {
            let i = usize::try_from(k1 - 1).map_err(|_| bad("bad relation number"))?;
            if rels.len() <= i {
                rels.resize_with(i + 1, Rel::default);
            }
        }
        match kind {
            0 => schemas.push((k1, text(r, T)?, flag(r, T + 1))),
            1 => {
                let Some(kind) = get(r, T + 2).and_then(RelKind::from_code) else {
                    continue;
                };
                rels[(k1 - 1) as usize].meta = Some((
                    TableMeta {
                        schema: text(r, T)?,
                        name: text(r, T + 1)?,
                        kind,
                        is_partition: flag(r, T + 3),
                        comment: None,
                        columns: Vec::new(),
                        primary_key: Vec::new(),
                        foreign_keys: Vec::new(),
                        uniques: Vec::new(),
                        sql_name: String::new(),
                        col_index: Default::default(),
                    },
                    flag(r, T + 4),
                ));
            }
            2 => {
                let default = opt(r, T + 4);
                let col = ColumnMeta {
                    serial: default
                        .as_deref()
                        .is_some_and(|d| d.starts_with("nextval(")),
                    identity: match get(r, T + 5) {
                        Some("a") => Some(Identity::Always),
                        Some("d") => Some(Identity::ByDefault),
                        _ => None,
                    },
                    generated: get(r, T + 6) == Some("s"),
                    name: text(r, T)?,
                    type_name: text(r, T + 1)?,
                    type_oid: u32::try_from(int(r, T + 2)?).map_err(|_| bad("bad oid"))?,
                    not_null: flag(r, T + 3),
                    default,
                    comment: None,
                };
                rels[(k1 - 1) as usize].cols.push((int(r, 2)?, col));
            }
            3 => rels[(k1 - 1) as usize].pk = opt(r, T),
            4 => rels[(k1 - 1) as usize].uniques.push((
                UniqueKey {
                    index: text(r, T)?,
                    constraint: opt(r, T + 1),
                    columns: Vec::new(),
                    partial: flag(r, T + 2),
                    expression: flag(r, T + 3),
                },
                text(r, T + 4)?,
            )),
            5 => {
                let fks = &mut rels[(k1 - 1) as usize].fks;
                let oid = int(r, 2)?;
                let at = match fks.iter().position(|f| f.0 == oid) {
                    Some(at) => at,
                    None => {
                        fks.push((
                            oid,
                            text(r, T)?,
                            text(r, T + 1)?,
                            text(r, T + 2)?,
                            Vec::new(),
                        ));
                        fks.len() - 1
                    }
                };
                let local = match (get(r, T + 5), get(r, T + 6)) {
                    (Some(rel), Some(att)) => rel.parse().ok().zip(att.parse().ok()),
                    _ => None,
                };
                fks[at]
                    .4
                    .push((int(r, 3)?, int(r, T + 3)?, opt(r, T + 4), local));
            }
            6 => enums.push((
                k1,
                EnumType {
                    schema: text(r, T)?,
                    name: text(r, T + 1)?,
                    oid: u32::try_from(int(r, T + 2)?).map_err(|_| bad("bad oid"))?,
                    labels: match get(r, T + 3) {
                        Some(j) => serde_json::from_str(j).map_err(|e| bad(&e.to_string()))?,
                        None => Vec::new(),
                    },
                },
            )),
            7 => domains.push((
                k1,
                Domain {
                    schema: text(r, T)?,
                    name: text(r, T + 1)?,
                    oid: u32::try_from(int(r, T + 2)?).map_err(|_| bad("bad oid"))?,
                    base_type: text(r, T + 3)?,
                    not_null: flag(r, T + 4),
                    default: opt(r, T + 5),
                },
            )),
            8 => {
                if let Some(c) = opt(r, T) {
                    rels[(k1 - 1) as usize].comments.push((int(r, 2)?, c));
                }
            }
            _ => {}
        }
    }
    schemas.sort_by_key(|s| s.0);
    enums.sort_by_key(|e| e.0);
    domains.sort_by_key(|d| d.0);
    for r in &mut rels {
        r.cols.sort_by_key(|c| c.0);
    }
    // Referenced columns of loaded relations, by attnum from their column rows.
    let mut named = Vec::new();
    for (i, r) in rels.iter().enumerate() {
        for (f, fk) in r.fks.iter().enumerate() {
            for (p, part) in fk.4.iter().enumerate() {
                let (None, Some((rel, att))) = (&part.2, part.3) else {
                    continue;
                };
                let cols = rel
                    .checked_sub(1)
                    .and_then(|k| rels.get(k))
                    .map(|t| &t.cols);
                if let Some(cols) = cols {
                    if let Ok(j) = cols.binary_search_by_key(&att, |c| c.0) {
                        named.push((i, f, p, cols[j].1.name.clone()));
                    }
                }
            }
        }
    }
    for (i, f, p, name) in named {
        rels[i].fks[f].4[p].2 = Some(name);
    }
    let relations = rels
        .into_iter()
        .filter_map(|mut r| {
            let (mut t, visible) = r.meta.take()?;
            for (attnum, c) in r.comments {
                if attnum == 0 {
                    t.comment = Some(c);
                } else if let Ok(i) = r.cols.binary_search_by_key(&attnum, |c| c.0) {
                    r.cols[i].1.comment = Some(c);
                }
            }
            t.primary_key =
                r.pk.as_deref()
                    .map(|k| key_names(&r.cols, k))
                    .unwrap_or_default();
            // index and constraint names sort bytewise, as PostgreSQL's `name` type does
            r.uniques.sort_by(|a, b| a.0.index.cmp(&b.0.index));
            t.uniques = r
                .uniques
                .into_iter()
                .map(|(mut u, key)| {
                    u.columns = key_names(&r.cols, &key);
                    u
                })
                .collect();
            r.fks.sort_by(|a, b| a.1.cmp(&b.1));
            t.foreign_keys = r
                .fks
                .into_iter()
                .map(|(_, name, ref_schema, ref_table, mut parts)| {
                    parts.sort_by_key(|p| p.0);
                    let attnums: Vec<String> = parts.iter().map(|p| p.1.to_string()).collect();
                    ForeignKey {
                        name,
                        columns: key_names(&r.cols, &attnums.join(" ")),
                        ref_schema,
                        ref_table,
                        ref_columns: parts.into_iter().filter_map(|p| p.2).collect(),
                    }
                })
                .collect();
            t.columns = r.cols.into_iter().map(|c| c.1).collect();
            Some((t, visible))
        })
        .collect();
    Ok(Schema::new(
        schemas
            .iter()
            .filter(|s| s.2)
            .map(|s| s.1.clone())
            .collect(),
        schemas.into_iter().map(|s| s.1).collect(),
        relations,
        enums.into_iter().map(|e| e.1).collect(),
        domains.into_iter().map(|d| d.1).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_quoting() {
        assert_eq!(quote_literal("public"), "'public'");
        assert_eq!(quote_literal("o'k"), "'o''k'");
        assert_eq!(quote_literal(r"a\b"), r"E'a\\b'");
    }

    #[test]
    fn schema_list_is_inlined_as_literals() {
        let sql = introspect_sql(Some(&["public".to_string(), "we'ird".to_string()]));
        assert!(sql.contains("ARRAY['public', 'we''ird']::text[]"));
        assert!(introspect_sql(None).contains("COALESCE(NULL::text[]"));
    }
}
