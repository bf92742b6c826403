//! Code generation (the seed's `create_mod`): one Rust source file with a
//! `#[derive(Model)]` struct for every table (and view, optionally), a `#[derive(PgEnum)]`
//! enum for every enum type used and a `#[derive(PgComposite)]` struct for every composite
//! type used.
//!
//! ```no_run
//! # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
//! use fastasyncpg::codegen::{generate, GenOptions};
//! let src = generate(&db, &GenOptions { views: true, ..GenOptions::default() }).await?;
//! std::fs::write("src/db.rs", src).expect("write");
//! # Ok(()) }
//! ```
//!
//! The command line does the same: `fastasyncpg gen --out src/db.rs [--schema NAME]... [--views]`.
//!
//! Column types map as follows (`pg` is `fastasyncpg::value`; `chrono`, `uuid` and
//! `serde_json` are re-exported from `fastasyncpg::types`), wrapped in `Option` when the column
//! is nullable (every view column is):
//!
//! | PostgreSQL | Rust |
//! |---|---|
//! | `boolean` | `bool` |
//! | `smallint`, `integer`, `bigint` | `i16`, `i32`, `i64` |
//! | `real`, `double precision` | `f32`, `f64` |
//! | `numeric` | `pg::Numeric` (exact, NaN and ±Infinity) |
//! | `money` | `i64` (cents) |
//! | `text`, `varchar`, `char(n)`, `name`, `"char"`, `citext`, `xml`, `tsvector`, `tsquery` | `String` |
//! | `bytea` | `Vec<u8>` |
//! | `date`, `time`, `timestamp`, `timestamptz` | `pg::Date`, `pg::Time`, `pg::Timestamp`, `pg::TimestampTz` |
//! | `timetz`, `interval` | `pg::TimeTz`, `pg::Interval` |
//! | `uuid` | `uuid::Uuid` |
//! | `json`, `jsonb` | `serde_json::Value` |
//! | `inet`, `cidr` | `pg::Inet` |
//! | `macaddr`, `macaddr8` | `pg::MacAddr`, `pg::MacAddr8` |
//! | `bit(n)`, `bit varying` | `pg::BitString` |
//! | `point`, `line`, `lseg`, `box`, `path`, `polygon`, `circle` | `pg::Point`, `Line`, `Lseg`, `GeoBox`, `Path`, `Polygon`, `Circle` |
//! | `oid`, `regclass`… | `u32` |
//! | `pg_lsn` | `u64` (the LSN as a number) |
//! | `tid` | `pg::Tid` |
//! | ranges | `pg::Range` |
//! | multiranges | `Vec<pg::Range>` (the ranges in order) |
//! | arrays | `Vec<Option<T>>`; declared with more dimensions (`int[][]`), nested: `Vec<Option<Vec<Option<T>>>>` |
//! | enums, composites | the generated enum / struct (arrays of them: `Vec<Option<Mood>>`…) |
//! | domains | their base type (a domain over `int[]` is `Vec<Option<i32>>`) |
//! | anything else (extension types such as `hstore`, arrays of multiranges, `xid`…) | `pg::Value` |
//!
//! **Dates and times.** Generated code must read every row of its schema, and any `date` or
//! `timestamp` column can hold `infinity`, `-infinity` and years that chrono cannot represent
//! (up to 5874897 AD for `date`), and any `time` column `24:00:00`. So these columns map to the
//! library's own `pg::Date`, `pg::Time`, `pg::Timestamp` and `pg::TimestampTz`, which hold every
//! value PostgreSQL does, decode straight from the binary data, and bind as parameters. They
//! convert from chrono with `From` (`pg::Date::from(naive_date)`, or `.into()`), to chrono with
//! `TryFrom` or `to_naive()`/`to_utc()` (an error or `None` for the infinities and out-of-range
//! years), compare with chrono values (`row.d == naive_date`), and the infinities are constants
//! to match on (`pg::Date::INFINITY`, `pg::Timestamp::NEG_INFINITY`). There is deliberately no
//! option to generate chrono types: a model that fails on a row its own schema allows is the
//! bug this avoids. A hand-written model can still use chrono fields where the data is known
//! to be finite.
//!
//! The module ends with `check_all(&db)`, which checks every model against the live schema
//! snapshot ([`Database::check_model`]), the seed's `link_dcs`. Models and dynamic handles
//! meet both ways: `db.t("track")?.rows_as::<Track>()` and `db.t("track")?.model::<Track>()`.
//!
//! Limits: an array column's dimensions come from its declaration (`int[]` vs `int[][]`), which
//! PostgreSQL does not enforce, so data of other dimensions needs the field changed to match
//! (or to `pg::Value`).
//!
//! Names are readable and keyword-safe: table `invoice_line` → `InvoiceLine`, `"MixedCase"` →
//! `MixedCase`, column `"first name"` → `first_name` (with `rename`), `type` → `r#type`;
//! collisions get a schema prefix or a number. Table, view, type and column comments become
//! doc comments. Partitions are left out (their partitioned table is generated).

mod names;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use serde::Deserialize;

use crate::database::Database;
use crate::error::{Error, Result};
use crate::value::Value;
use names::{field_name, type_name, Names};

/// What [`generate`] covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenOptions {
    /// The schemas to read; empty for those of the schema snapshot (every schema the user can
    /// use, unless [`Database::refresh_with_schemas`] chose others).
    pub schemas: Vec<String>,
    /// Also generate models for views and materialized views.
    pub views: bool,
}

#[derive(Debug, Deserialize)]
struct Catalog {
    relations: Vec<Rel>,
    types: Vec<TypeInfo>,
}

#[derive(Debug, Deserialize)]
struct Rel {
    schema: String,
    name: String,
    kind: String,
    comment: Option<String>,
    columns: Vec<Col>,
    pk: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Col {
    name: String,
    type_oid: u32,
    sql_type: String,
    /// Declared array dimensions (`int[][]` → 2; not enforced by PostgreSQL).
    ndims: i32,
    not_null: bool,
    identity: String,
    generated: String,
    default: Option<String>,
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TypeInfo {
    oid: u32,
    schema: String,
    name: String,
    typtype: String,
    elem: u32,
    base: u32,
    comment: Option<String>,
    labels: Option<Vec<String>>,
    attrs: Option<Vec<Attr>>,
}

#[derive(Debug, Deserialize)]
struct Attr {
    name: String,
    type_oid: u32,
    sql_type: String,
}

/// Reads the schema in one round trip and writes the Rust source of its models.
pub async fn generate(db: &Database, opts: &GenOptions) -> Result<String> {
    // No schemas given: those of the table API's snapshot (every schema, or what
    // `refresh_with_schemas` chose), so that `gen` covers what `db.t` sees.
    let schemas = if !opts.schemas.is_empty() {
        Value::from(opts.schemas.clone())
    } else {
        let snap = db.schema().schemas().to_vec();
        if snap.is_empty() {
            Value::Null
        } else {
            Value::from(snap)
        }
    };
    let json: String = db
        .fetchval(include_str!("catalog.sql"), vec![schemas])
        .await?;
    let catalog: Catalog = serde_json::from_str(&json)
        .map_err(|e| Error::decode(format!("gen: unexpected catalog document: {e}")))?;
    Ok(Gen::new(&catalog, opts).render())
}

/// What a column's Rust type needs.
#[derive(Default)]
struct Uses {
    pg: bool,
    chrono: bool,
    uuid: bool,
    serde_json: bool,
}

struct Gen<'a> {
    cat: &'a Catalog,
    opts: &'a GenOptions,
    types: HashMap<u32, &'a TypeInfo>,
    /// Generated enum / composite type names by type OID (sorted by schema, name).
    named: BTreeMap<(String, String), (u32, String)>,
    by_oid: HashMap<u32, String>,
    uses: Uses,
    type_names: Names,
    rel_names: Vec<String>,
}

/// The canonical SQL type (as `format_type` spells it) that `create_model` derives from a
/// Rust type, to know when a field needs an explicit `sql_type`.
fn natural_sql(rust: &str) -> Option<&'static str> {
    Some(match rust {
        "bool" => "boolean",
        "i16" => "smallint",
        "i32" => "integer",
        "i64" => "bigint",
        "f32" => "real",
        "f64" => "double precision",
        "String" => "text",
        "Vec<u8>" => "bytea",
        "chrono::NaiveDate" => "date",
        "chrono::NaiveTime" => "time without time zone",
        "chrono::NaiveDateTime" => "timestamp without time zone",
        "chrono::DateTime<chrono::Utc>" => "timestamp with time zone",
        "uuid::Uuid" => "uuid",
        "serde_json::Value" => "jsonb",
        "pg::Numeric" => "numeric",
        "pg::Date" => "date",
        "pg::Time" => "time without time zone",
        "pg::Timestamp" => "timestamp without time zone",
        "pg::TimestampTz" => "timestamp with time zone",
        "pg::MacAddr" => "macaddr",
        "pg::MacAddr8" => "macaddr8",
        "pg::Interval" => "interval",
        "pg::TimeTz" => "time with time zone",
        "pg::Inet" => "inet",
        "pg::BitString" => "bit varying",
        "pg::Point" => "point",
        "pg::Line" => "line",
        "pg::Lseg" => "lseg",
        "pg::GeoBox" => "box",
        "pg::Path" => "path",
        "pg::Polygon" => "polygon",
        "pg::Circle" => "circle",
        "pg::Tid" => "tid",
        "u32" => "oid",
        _ => return None,
    })
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn doc_lines(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

impl<'a> Gen<'a> {
    fn new(cat: &'a Catalog, opts: &'a GenOptions) -> Self {
        let types = cat.types.iter().map(|t| (t.oid, t)).collect();
        let mut g = Gen {
            cat,
            opts,
            types,
            named: BTreeMap::new(),
            by_oid: HashMap::new(),
            uses: Uses::default(),
            type_names: Names::for_types(),
            rel_names: Vec::new(),
        };
        // Name the relations first (so a table keeps its plain name), then enums and
        // composites.
        g.reserve_relation_names();
        for t in &cat.types {
            let kind = match t.typtype.as_str() {
                "e" => "Enum",
                "c" => "Type",
                _ => continue,
            };
            let want = type_name(&t.name, kind);
            let name = g.type_names.claim(&want, Some(&format!("{want}{kind}")));
            g.named
                .insert((t.schema.clone(), t.name.clone()), (t.oid, name.clone()));
            g.by_oid.insert(t.oid, name);
        }
        g
    }

    fn relations(&self) -> impl Iterator<Item = &'a Rel> + '_ {
        let views = self.opts.views;
        self.cat
            .relations
            .iter()
            .filter(move |r| views || !matches!(r.kind.as_str(), "v" | "m"))
    }

    fn reserve_relation_names(&mut self) {
        let rels: Vec<&Rel> = self.relations().collect();
        let mut names = Vec::new();
        for r in rels {
            let want = type_name(&r.name, "Table");
            let alt = format!("{}{want}", type_name(&r.schema, "S"));
            let name = self.type_names.claim(&want, Some(&alt));
            names.push(name);
        }
        self.rel_names = names;
    }

    /// The Rust type of a value of type `oid` (not wrapped in `Option`).
    fn rust_type(&mut self, oid: u32) -> String {
        let Some(t) = self.types.get(&oid).copied() else {
            self.uses.pg = true;
            return "pg::Value".into();
        };
        if let Some(n) = self.by_oid.get(&oid) {
            return n.clone();
        }
        match t.typtype.as_str() {
            "d" => return self.rust_type(t.base),
            "r" => {
                self.uses.pg = true;
                return "pg::Range".into();
            }
            // A multirange reads as its ranges in order (and an array of ranges binds as one).
            "m" => {
                self.uses.pg = true;
                return "Vec<pg::Range>".into();
            }
            _ => {}
        }
        if t.elem != 0 {
            let inner = self.rust_type(t.elem);
            if inner.starts_with("Vec<") {
                // An array of multiranges: a `Vec` of `Vec`s would bind as a 2-D array.
                self.uses.pg = true;
                return "pg::Value".into();
            }
            return format!("Vec<Option<{inner}>>");
        }
        let builtin = if t.schema == "pg_catalog" {
            match t.name.as_str() {
                "bool" => Some("bool"),
                "int2" => Some("i16"),
                "int4" => Some("i32"),
                "int8" => Some("i64"),
                "float4" => Some("f32"),
                "float8" => Some("f64"),
                "numeric" => Some("pg::Numeric"),
                "money" => Some("i64"),
                "pg_lsn" => Some("u64"),
                "text" | "varchar" | "bpchar" | "name" | "char" | "xml" | "tsvector"
                | "tsquery" => Some("String"),
                "bytea" => Some("Vec<u8>"),
                "date" => Some("pg::Date"),
                "time" => Some("pg::Time"),
                "timestamp" => Some("pg::Timestamp"),
                "timestamptz" => Some("pg::TimestampTz"),
                "timetz" => Some("pg::TimeTz"),
                "interval" => Some("pg::Interval"),
                "uuid" => Some("uuid::Uuid"),
                "json" | "jsonb" => Some("serde_json::Value"),
                "inet" | "cidr" => Some("pg::Inet"),
                "macaddr" => Some("pg::MacAddr"),
                "macaddr8" => Some("pg::MacAddr8"),
                "bit" | "varbit" => Some("pg::BitString"),
                "point" => Some("pg::Point"),
                "line" => Some("pg::Line"),
                "lseg" => Some("pg::Lseg"),
                "box" => Some("pg::GeoBox"),
                "path" => Some("pg::Path"),
                "polygon" => Some("pg::Polygon"),
                "circle" => Some("pg::Circle"),
                "tid" => Some("pg::Tid"),
                "oid" | "regclass" | "regtype" | "regproc" | "regprocedure" | "regoper"
                | "regoperator" | "regnamespace" | "regrole" | "regconfig" | "regdictionary"
                | "regcollation" => Some("u32"),
                _ => None,
            }
        } else if t.name == "citext" {
            Some("String")
        } else {
            None
        };
        let ty = builtin.unwrap_or("pg::Value");
        if ty.starts_with("pg::") {
            self.uses.pg = true;
        } else if ty.starts_with("chrono::") {
            self.uses.chrono = true;
        } else if ty.starts_with("uuid::") {
            self.uses.uuid = true;
        } else if ty.starts_with("serde_json::") {
            self.uses.serde_json = true;
        }
        ty.to_string()
    }

    fn render(mut self) -> String {
        let mut body = String::new();
        // Enums and composites, sorted by schema and name.
        let named: Vec<(u32, String)> = self.named.values().cloned().collect();
        for (oid, name) in named {
            let Some(t) = self.types.get(&oid).copied() else {
                continue;
            };
            if t.typtype == "e" {
                self.render_enum(&mut body, t, &name);
            } else {
                self.render_composite(&mut body, t, &name);
            }
        }
        let rels: Vec<&Rel> = self.relations().collect();
        let names = std::mem::take(&mut self.rel_names);
        for (r, name) in rels.iter().zip(&names) {
            self.render_relation(&mut body, r, name);
        }
        body.push_str(
            "\n/// Checks every model of this module against `db`'s schema snapshot (the seed's\n\
             /// `link_dcs`): each table exists and has every field's column. Call it once after\n\
             /// connecting (and `db.refresh()`, with the same schemas) to catch a schema that moved on.\n\
             pub fn check_all(db: &fastasyncpg::Database) -> fastasyncpg::Result<()> {\n",
        );
        for name in &names {
            let _ = writeln!(body, "    db.check_model::<{name}>()?;");
        }
        body.push_str("    Ok(())\n}\n");

        let mut out = String::new();
        let mut cmd = String::from("fastasyncpg gen");
        for s in &self.opts.schemas {
            let _ = write!(cmd, " --schema {s}");
        }
        if self.opts.views {
            cmd.push_str(" --views");
        }
        let _ = writeln!(
            out,
            "//! Models generated by `{cmd}`: regenerate instead of editing."
        );
        out.push_str("#![allow(dead_code, clippy::all)]\n\n");
        let mut types = Vec::new();
        if self.uses.chrono {
            types.push("chrono");
        }
        if self.uses.serde_json {
            types.push("serde_json");
        }
        if self.uses.uuid {
            types.push("uuid");
        }
        match types.len() {
            0 => {}
            1 => {
                let _ = writeln!(out, "use fastasyncpg::types::{};", types[0]);
            }
            _ => {
                let _ = writeln!(out, "use fastasyncpg::types::{{{}}};", types.join(", "));
            }
        }
        if self.uses.pg {
            out.push_str("use fastasyncpg::value as pg;\n");
        }
        out.push_str(&body);
        out
    }

    fn render_enum(&mut self, out: &mut String, t: &TypeInfo, name: &str) {
        out.push('\n');
        let mut doc = format!("Enum type `{}.{}`.", t.schema, t.name);
        if let Some(c) = &t.comment {
            doc = format!("{c}\n\n{doc}");
        }
        doc_lines(out, "", &doc);
        out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, fastasyncpg::PgEnum)]\n");
        let _ = writeln!(out, "#[fastasyncpg({})]", self.type_attr(t));
        let _ = writeln!(out, "pub enum {name} {{");
        let mut variants = Names::default();
        for label in t.labels.iter().flatten() {
            let want = type_name(label, "V");
            let want = if want == "Self" {
                "SelfValue".to_string()
            } else {
                want
            };
            let v = variants.claim(&want, None);
            let _ = writeln!(out, "    #[fastasyncpg(rename = {})]", lit(label));
            let _ = writeln!(out, "    {v},");
        }
        out.push_str("}\n");
    }

    fn type_attr(&self, t: &TypeInfo) -> String {
        if t.schema == "public" {
            format!("type_name = {}", lit(&t.name))
        } else {
            format!("type_name = {}, schema = {}", lit(&t.name), lit(&t.schema))
        }
    }

    fn render_composite(&mut self, out: &mut String, t: &TypeInfo, name: &str) {
        out.push('\n');
        let mut doc = format!("Composite type `{}.{}`.", t.schema, t.name);
        if let Some(c) = &t.comment {
            doc = format!("{c}\n\n{doc}");
        }
        doc_lines(out, "", &doc);
        out.push_str("#[derive(Debug, Clone, PartialEq, fastasyncpg::PgComposite)]\n");
        let _ = writeln!(out, "#[fastasyncpg({})]", self.type_attr(t));
        let _ = writeln!(out, "pub struct {name} {{");
        let mut fields = Names::default();
        for a in t.attrs.iter().flatten() {
            let f = fields.claim(&field_name(&a.name), None);
            let ty = self.rust_type(a.type_oid);
            let _ = writeln!(out, "    /// `{}`: `{}`.", a.name, a.sql_type);
            if f.strip_prefix("r#").unwrap_or(&f) != a.name {
                let _ = writeln!(out, "    #[fastasyncpg(rename = {})]", lit(&a.name));
            }
            // Attributes of a composite are always nullable.
            let _ = writeln!(out, "    pub {f}: Option<{ty}>,");
        }
        out.push_str("}\n");
    }

    fn render_relation(&mut self, out: &mut String, r: &Rel, name: &str) {
        out.push('\n');
        let noun = match r.kind.as_str() {
            "v" => "View",
            "m" => "Materialized view",
            "p" => "Partitioned table",
            "f" => "Foreign table",
            _ => "Table",
        };
        let mut doc = format!("{noun} `{}.{}`.", r.schema, r.name);
        if let Some(c) = &r.comment {
            doc = format!("{c}\n\n{doc}");
        }
        doc_lines(out, "", &doc);
        out.push_str("#[derive(Debug, Clone, PartialEq, fastasyncpg::Model)]\n");
        let mut attrs = vec![format!("table = {}", lit(&r.name))];
        if r.schema != "public" {
            attrs.push(format!("schema = {}", lit(&r.schema)));
        }
        let _ = writeln!(out, "#[fastasyncpg({})]", attrs.join(", "));
        let _ = writeln!(out, "pub struct {name} {{");
        let is_view = matches!(r.kind.as_str(), "v" | "m");
        let mut fields = Names::default();
        for c in &r.columns {
            let f = fields.claim(&field_name(&c.name), None);
            let mut base = self.rust_type(c.type_oid);
            // A column declared with several dimensions (`int[][]`) reads as nested vectors.
            for _ in 1..c.ndims.max(1) {
                if let Some(inner) = base.strip_prefix("Vec<").and_then(|b| b.strip_suffix('>')) {
                    base = format!("Vec<Option<Vec<{inner}>>>");
                }
            }
            let nullable = !c.not_null || is_view;
            let ty = if nullable {
                format!("Option<{base}>")
            } else {
                base.clone()
            };
            // Docs: the comment, then the SQL definition.
            let mut def = format!("`{}`: `{}`", c.name, c.sql_type);
            if c.not_null {
                def.push_str(" not null");
            }
            if c.generated == "s" {
                if let Some(d) = &c.default {
                    let _ = write!(def, ", generated always as `{d}` (stored)");
                }
            } else if let Some(d) = &c.default {
                let _ = write!(def, ", default `{d}`");
            }
            if c.identity == "a" {
                def.push_str(", generated always as identity");
            } else if c.identity == "d" {
                def.push_str(", generated by default as identity");
            }
            def.push('.');
            let doc = match &c.comment {
                Some(cm) => format!("{cm}\n\n{def}"),
                None => def,
            };
            doc_lines(out, "    ", &doc);
            let mut fa = Vec::new();
            if let Some(pos) = r.pk.iter().position(|k| *k == c.name).filter(|_| !is_view) {
                if r.pk.len() > 1 {
                    fa.push(format!("primary_key = {}", pos + 1));
                } else {
                    fa.push("primary_key".to_string());
                }
            }
            let serial = c
                .default
                .as_deref()
                .is_some_and(|d| d.starts_with("nextval("));
            if !c.identity.is_empty() {
                fa.push("identity".into());
            } else if c.generated == "s" || serial {
                fa.push("generated".into());
            }
            if f.strip_prefix("r#").unwrap_or(&f) != c.name {
                fa.push(format!("rename = {}", lit(&c.name)));
            }
            if let Some(d) = &c.default {
                if !serial && c.generated != "s" {
                    fa.push(format!("default = {}", lit(d)));
                }
            }
            let is_named = self.by_oid.contains_key(&c.type_oid);
            if !is_named && natural_sql(&base) != Some(c.sql_type.as_str()) {
                fa.push(format!("sql_type = {}", lit(&c.sql_type)));
            }
            if !fa.is_empty() {
                let _ = writeln!(out, "    #[fastasyncpg({})]", fa.join(", "));
            }
            let _ = writeln!(out, "    pub {f}: {ty},");
        }
        out.push_str("}\n");
    }
}
