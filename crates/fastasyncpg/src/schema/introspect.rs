//! Loading the schema snapshot: one SQL statement returns the whole snapshot as rows of
//! several kinds (see `introspect.sql`), sent with the simple query protocol so the refresh
//! is exactly one round trip, whatever the number of tables.
//!
//! Schemas are chosen by namespace (every non-system schema the user can use, or a given list),
//! never by table-name pattern: a table called `pg_thing` or `Mixed Case` is as visible as any
//! other.

use std::sync::atomic::Ordering;

use tokio_postgres::{SimpleQueryMessage, SimpleQueryRow};

use super::model::{
    ColumnMeta, Domain, EnumType, ForeignKey, Identity, RelKind, Schema, TableMeta, UniqueKey,
};
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
    let msgs = conn.client.simple_query(&sql).await?;
    let rows = msgs.iter().filter_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    parse(rows)
}

fn bad(what: &str) -> Error {
    Error::decode(format!("cannot read the schema snapshot: {what}"))
}

fn int(r: &SimpleQueryRow, i: usize) -> Result<i64> {
    r.get(i)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("bad number"))
}

fn text(r: &SimpleQueryRow, i: usize) -> Result<String> {
    r.get(i)
        .map(str::to_string)
        .ok_or_else(|| bad("missing value"))
}

fn opt(r: &SimpleQueryRow, i: usize) -> Option<String> {
    r.get(i).map(str::to_string)
}

fn flag(r: &SimpleQueryRow, i: usize) -> bool {
    matches!(r.get(i), Some("true" | "t"))
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
/// per key part (position, attnum, referenced column name).
type RawFk = (i64, String, String, String, Vec<(i64, i64, Option<String>)>);

#[derive(Default)]
struct Rel {
    meta: Option<(TableMeta, bool)>,
    cols: Vec<(i64, ColumnMeta)>,
    pk: Option<String>,
    uniques: Vec<(UniqueKey, String)>,
    fks: Vec<RawFk>,
}

const T: usize = 4; // the first text column

fn parse<'a>(rows: impl Iterator<Item = &'a SimpleQueryRow>) -> Result<Schema> {
    let mut schemas: Vec<(i64, String, bool)> = Vec::new();
    let mut rels: Vec<Rel> = Vec::new();
    let mut enums: Vec<(i64, EnumType)> = Vec::new();
    let mut domains: Vec<(i64, Domain)> = Vec::new();
    for r in rows {
        let kind = int(r, 0)?;
        let k1 = int(r, 1)?;
        if (1..=5).contains(&kind) {
            let i = usize::try_from(k1 - 1).map_err(|_| bad("bad relation number"))?;
            if rels.len() <= i {
                rels.resize_with(i + 1, Rel::default);
            }
        }
        match kind {
            0 => schemas.push((k1, text(r, T)?, flag(r, T + 1))),
            1 => {
                let Some(kind) = r.get(T + 2).and_then(RelKind::from_code) else {
                    continue;
                };
                rels[(k1 - 1) as usize].meta = Some((
                    TableMeta {
                        schema: text(r, T)?,
                        name: text(r, T + 1)?,
                        kind,
                        is_partition: flag(r, T + 3),
                        comment: opt(r, T + 5),
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
                    identity: match r.get(T + 5) {
                        Some("a") => Some(Identity::Always),
                        Some("d") => Some(Identity::ByDefault),
                        _ => None,
                    },
                    generated: r.get(T + 6) == Some("s"),
                    name: text(r, T)?,
                    type_name: text(r, T + 1)?,
                    type_oid: u32::try_from(int(r, T + 2)?).map_err(|_| bad("bad oid"))?,
                    not_null: flag(r, T + 3),
                    default,
                    comment: opt(r, T + 7),
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
                fks[at].4.push((int(r, 3)?, int(r, T + 3)?, opt(r, T + 4)));
            }
            6 => enums.push((
                k1,
                EnumType {
                    schema: text(r, T)?,
                    name: text(r, T + 1)?,
                    oid: u32::try_from(int(r, T + 2)?).map_err(|_| bad("bad oid"))?,
                    labels: match r.get(T + 3) {
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
            _ => {}
        }
    }
    schemas.sort_by_key(|s| s.0);
    enums.sort_by_key(|e| e.0);
    domains.sort_by_key(|d| d.0);
    let relations = rels
        .into_iter()
        .filter_map(|mut r| {
            let (mut t, visible) = r.meta.take()?;
            r.cols.sort_by_key(|c| c.0);
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
