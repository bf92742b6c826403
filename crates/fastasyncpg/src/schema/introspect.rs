//! Loading the schema snapshot: one SQL statement builds the whole snapshot as one JSON
//! document (`json_agg` over the catalogs), sent with the simple query protocol so the refresh
//! is exactly one round trip, whatever the number of tables.
//!
//! Schemas are chosen by namespace (every non-system schema the user can use, or a given list),
//! never by table-name pattern: a table called `pg_thing` or `Mixed Case` is as visible as any
//! other.

use std::sync::atomic::Ordering;

use serde::Deserialize;
use tokio_postgres::SimpleQueryMessage;

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
    let text = msgs
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0),
            _ => None,
        })
        .ok_or_else(|| Error::decode("schema introspection returned no row"))?;
    parse(text)
}

#[derive(Deserialize)]
struct RawSchema {
    search_path: Option<Vec<String>>,
    schemas: Option<Vec<String>>,
    relations: Vec<RawRel>,
    enums: Vec<RawEnum>,
    domains: Vec<RawDomain>,
}

#[derive(Deserialize)]
struct RawRel {
    schema: String,
    name: String,
    kind: String,
    partition: bool,
    visible: bool,
    comment: Option<String>,
    columns: Option<Vec<RawCol>>,
    pk: Option<Vec<String>>,
    uniques: Option<Vec<RawUnique>>,
    foreign_keys: Option<Vec<RawFk>>,
}

#[derive(Deserialize)]
struct RawCol {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    oid: u32,
    not_null: bool,
    default: Option<String>,
    identity: String,
    generated: String,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct RawUnique {
    name: String,
    constraint: Option<String>,
    partial: bool,
    columns: Option<Vec<String>>,
    expression: bool,
}

#[derive(Deserialize)]
struct RawFk {
    name: String,
    ref_schema: String,
    ref_table: String,
    columns: Option<Vec<String>>,
    ref_columns: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawEnum {
    schema: String,
    name: String,
    oid: u32,
    labels: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawDomain {
    schema: String,
    name: String,
    oid: u32,
    base: String,
    not_null: bool,
    default: Option<String>,
}

fn parse(text: &str) -> Result<Schema> {
    let raw: RawSchema = serde_json::from_str(text)
        .map_err(|e| Error::decode(format!("cannot read the schema snapshot: {e}")))?;
    let relations = raw
        .relations
        .into_iter()
        .filter_map(|r| {
            let kind = RelKind::from_code(&r.kind)?;
            let columns = r
                .columns
                .unwrap_or_default()
                .into_iter()
                .map(|c| ColumnMeta {
                    serial: c
                        .default
                        .as_deref()
                        .is_some_and(|d| d.starts_with("nextval(")),
                    identity: match c.identity.as_str() {
                        "a" => Some(Identity::Always),
                        "d" => Some(Identity::ByDefault),
                        _ => None,
                    },
                    generated: c.generated == "s",
                    name: c.name,
                    type_name: c.type_name,
                    type_oid: c.oid,
                    not_null: c.not_null,
                    default: c.default,
                    comment: c.comment,
                })
                .collect();
            let visible = r.visible;
            Some((
                TableMeta {
                    schema: r.schema,
                    name: r.name,
                    kind,
                    is_partition: r.partition,
                    comment: r.comment,
                    columns,
                    primary_key: r.pk.unwrap_or_default(),
                    foreign_keys: r
                        .foreign_keys
                        .unwrap_or_default()
                        .into_iter()
                        .map(|f| ForeignKey {
                            name: f.name,
                            columns: f.columns.unwrap_or_default(),
                            ref_schema: f.ref_schema,
                            ref_table: f.ref_table,
                            ref_columns: f.ref_columns.unwrap_or_default(),
                        })
                        .collect(),
                    uniques: r
                        .uniques
                        .unwrap_or_default()
                        .into_iter()
                        .map(|u| UniqueKey {
                            index: u.name,
                            constraint: u.constraint,
                            columns: u.columns.unwrap_or_default(),
                            partial: u.partial,
                            expression: u.expression,
                        })
                        .collect(),
                    sql_name: String::new(),
                    col_index: Default::default(),
                },
                visible,
            ))
        })
        .collect();
    let enums = raw
        .enums
        .into_iter()
        .map(|e| EnumType {
            schema: e.schema,
            name: e.name,
            oid: e.oid,
            labels: e.labels.unwrap_or_default(),
        })
        .collect();
    let domains = raw
        .domains
        .into_iter()
        .map(|d| Domain {
            schema: d.schema,
            name: d.name,
            oid: d.oid,
            base_type: d.base,
            not_null: d.not_null,
            default: d.default,
        })
        .collect();
    Ok(Schema::new(
        raw.search_path.unwrap_or_default(),
        raw.schemas.unwrap_or_default(),
        relations,
        enums,
        domains,
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
