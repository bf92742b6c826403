//! Schema introspection: odd names, several schemas, partitioned tables, views, keys, refresh.

use fastasyncpg::schema::{Identity, RelKind};
use fastasyncpg::{args, record, ErrorKind, Record, Row};

use crate::common::{chinook, db};

fn s(r: &Row, c: &str) -> String {
    r.get::<String, _>(c).unwrap()
}
fn i(r: &Row, c: &str) -> i64 {
    r.get::<i64, _>(c).unwrap()
}

const ODD_SCHEMA: &str = r#"
CREATE TABLE "Mixed Case" (id serial PRIMARY KEY, "we""ird" text, "Name" text);
CREATE TABLE pgthing (id int PRIMARY KEY, v text);
CREATE TABLE pg_thing (id int PRIMARY KEY);
CREATE SCHEMA other;
CREATE TABLE other.thing (id int PRIMARY KEY, label text);
CREATE TABLE thing (id int PRIMARY KEY, public_only boolean);
CREATE TABLE measurement (id int, logdate date NOT NULL, v int, PRIMARY KEY (id, logdate)) PARTITION BY RANGE (logdate);
CREATE TABLE measurement_2024 PARTITION OF measurement FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE MATERIALIZED VIEW thing_count AS SELECT count(*) AS n FROM thing;
CREATE VIEW mixed_view AS SELECT * FROM "Mixed Case";
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE person (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, m mood DEFAULT 'ok',
  age posint, email text UNIQUE, twice int GENERATED ALWAYS AS (age * 2) STORED);
COMMENT ON COLUMN person.email IS 'contact address';
"#;

#[tokio::test]
async fn odd_names_schemas_partitions_and_views() {
    let db = db().await;
    db.execute(ODD_SCHEMA, ()).await.unwrap();
    db.refresh().await.unwrap();
    let dt = db.tables();
    for n in [
        "Mixed Case",
        "pgthing",
        "pg_thing",
        "thing",
        "measurement",
        "measurement_2024",
        "person",
    ] {
        assert!(dt.contains(n), "{n} missing from {dt}");
    }
    let mc = db.t("Mixed Case").unwrap();
    assert_eq!(
        mc.c("we\"ird").unwrap().to_string(),
        r#""Mixed Case"."we""ird""#
    );
    let r = mc
        .insert(record! { "we\"ird": "w", "Name": "n" })
        .await
        .unwrap();
    let r = mc
        .update(record! { id: i(&r, "id"), "we\"ird": "w2" })
        .await
        .unwrap();
    assert_eq!(s(&r, "we\"ird"), "w2");
    assert_eq!(
        mc.xtra(record! { "Name": "n" })
            .unwrap()
            .count()
            .await
            .unwrap(),
        1
    );
    // other schema: not on the search path, loaded all the same (defect 5); a bare name
    // finds the search path's table first
    let other = db.t("other.thing").unwrap();
    assert_eq!(db.t("thing").unwrap().schema(), "public");
    db.refresh_with_schemas(&["public", "other"]).await.unwrap();
    assert_eq!(db.t("other.thing").unwrap(), other);
    assert_eq!(other.schema(), "other");
    assert_eq!(other.to_string(), "\"other\".\"thing\"");
    assert_eq!(db.t_in("other", "thing").unwrap(), other);
    // unqualified names resolve in search-path order
    let public_thing = db.t("thing").unwrap();
    assert_eq!(public_thing.schema(), "public");
    assert_eq!(public_thing.to_string(), "\"thing\"");
    other.insert(record! { id: 1, label: "x" }).await.unwrap();
    assert_eq!(s(&other.at(1).await.unwrap(), "label"), "x");
    assert_eq!(public_thing.count().await.unwrap(), 0);
    assert!(db.tables().names().contains(&"other.thing".to_string()));

    // partitioned table and its partition
    let m = db.t("measurement").unwrap();
    assert_eq!(m.kind(), RelKind::PartitionedTable);
    assert_eq!(m.pks(), ["id", "logdate"]);
    assert!(db.t("measurement_2024").unwrap().meta().is_partition);
    m.insert(record! { id: 1, logdate: "2024-03-01", v: 5 })
        .await
        .unwrap();
    assert_eq!(i(&m.at((1, "2024-03-01")).await.unwrap(), "v"), 5);
    assert_eq!(db.t("measurement_2024").unwrap().count().await.unwrap(), 1);

    // views and materialized views: db.v, read-only
    let vw = db.v("mixed_view").unwrap();
    assert_eq!(vw.kind(), RelKind::View);
    let mv = db.v("thing_count").unwrap();
    assert_eq!(mv.kind(), RelKind::MaterializedView);
    assert!(db.views().contains("thing_count") && !db.views().contains("thing"));
    assert_eq!(i(&mv.rows().await.unwrap()[0], "n"), 0);
    let e = vw.insert(record! { id: 1 }).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("read-only"), "{e}");
    assert!(db.t("mixed_view").unwrap_err().to_string().contains("db.v"));
    assert!(db.v("thing").unwrap_err().to_string().contains("db.t"));

    // enum, domain, identity, generated, unique, comment
    let sch = db.schema();
    let mood = sch.enums().iter().find(|e| e.name == "mood").unwrap();
    assert_eq!(mood.labels, ["sad", "ok", "happy"]);
    let posint = sch.domains().iter().find(|d| d.name == "posint").unwrap();
    assert_eq!(posint.base_type, "integer");
    let person = db.t("person").unwrap();
    let meta = person.meta();
    assert_eq!(meta.column("id").unwrap().identity, Some(Identity::Always));
    assert_eq!(meta.column("m").unwrap().type_name, "mood");
    assert_eq!(
        meta.column("m").unwrap().default.as_deref(),
        Some("'ok'::mood")
    );
    assert_eq!(meta.column("age").unwrap().type_name, "posint");
    assert!(meta.column("twice").unwrap().generated);
    assert_eq!(
        meta.column("email").unwrap().comment.as_deref(),
        Some("contact address")
    );
    assert_eq!(meta.uniques.len(), 1);
    assert_eq!(meta.uniques[0].columns, ["email"]);
    let p = person
        .insert(record! { age: 21, email: "a@b" })
        .await
        .unwrap();
    assert_eq!((s(&p, "m"), i(&p, "twice")), ("ok".into(), 42));
    // explicit value for a GENERATED ALWAYS identity: OVERRIDING SYSTEM VALUE
    let p = person
        .insert(record! { id: 100, m: "happy", age: 1 })
        .await
        .unwrap();
    assert_eq!(i(&p, "id"), 100);
    // a record made from a row carries the generated column: it is left out of writes
    let mut rec = Record::from_row(&p).unwrap();
    rec.set("age", 30);
    let p2 = person.update(&rec).await.unwrap();
    assert_eq!(i(&p2, "twice"), 60);
    rec.remove("id");
    rec.set("email", "copy@b");
    let p3 = person.insert(&rec).await.unwrap();
    assert_eq!(i(&p3, "twice"), 60);
    assert_ne!(i(&p3, "id"), 100);
    let e = person.insert(record! { age: -1 }).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CheckViolation);
    let d = person.describe();
    assert!(
        d.contains("generated always as identity") && d.contains("-- contact address"),
        "{d}"
    );
    assert!(
        d.contains("unique constraint person_email_key: (\"email\")"),
        "{d}"
    );
}

#[tokio::test]
async fn defect_01_identifiers_escaped() {
    let db = db().await;
    db.execute(
        r#"CREATE TABLE "we""ird" ("a""b" text, id int PRIMARY KEY)"#,
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("we\"ird").unwrap();
    assert_eq!(t.to_string(), r#""we""ird""#);
    assert_eq!(t.c("a\"b").unwrap().to_string(), r#""we""ird"."a""b""#);
    let r = t.insert(record! { id: 1, "a\"b": "x" }).await.unwrap();
    assert_eq!(s(&r, "a\"b"), "x");
    t.update(record! { id: 1, "a\"b": "y" }).await.unwrap();
    t.upsert(record! { id: 1, "a\"b": "z" }).await.unwrap();
    t.inserts(vec![record! { id: 2, "a\"b": "w" }])
        .await
        .unwrap();
    t.updates(vec![record! { id: 2, "a\"b": "v" }])
        .await
        .unwrap();
    let scoped = t.xtra(record! { "a\"b": "z" }).unwrap();
    assert_eq!(scoped.count().await.unwrap(), 1);
    // a hostile key is an unknown column, never SQL
    let evil = r#"x" text); DROP TABLE "we""ird"; --"#;
    let e = t.insert(Record::new().with(evil, 1)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    let e = t.xtra(Record::new().with(evil, 1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    assert_eq!(t.count().await.unwrap(), 2);
}

#[tokio::test]
async fn defect_02_mixed_case_table_names() {
    let db = db().await;
    db.execute(
        r#"CREATE TABLE "Mixed Case" (id serial PRIMARY KEY, "Name" text); CREATE TABLE "UPPER" (id int PRIMARY KEY)"#,
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("Mixed Case").unwrap();
    assert_eq!(t.columns(), vec![("id", "integer"), ("Name", "text")]);
    assert_eq!(t.pks(), ["id"]);
    let r = t.insert(record! { "Name": "Ann" }).await.unwrap();
    assert_eq!(s(&t.at(i(&r, "id")).await.unwrap(), "Name"), "Ann");
    assert!(db.t("UPPER").is_ok());
    assert!(db.t("upper").unwrap_err().to_string().contains("UPPER"));
}

#[tokio::test]
async fn defect_03_pg_prefixed_tables_visible() {
    let db = db().await;
    db.execute(
        "CREATE TABLE pgthing (id int PRIMARY KEY); CREATE TABLE pg_x (id int PRIMARY KEY); CREATE TABLE pg (id int)",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    for n in ["pgthing", "pg_x", "pg"] {
        assert!(db.tables().contains(n), "{n}");
    }
    db.t("pg_x")
        .unwrap()
        .insert(record! { id: 1 })
        .await
        .unwrap();
    assert_eq!(db.t("pg_x").unwrap().count().await.unwrap(), 1);
    // system catalogs are not tables of the user schema
    assert!(!db.tables().contains("pg_class"));
}

#[tokio::test]
async fn defect_04_composite_pk_key_order() {
    let db = db().await;
    db.execute(
        "CREATE TABLE ck (a int, b text, v text, PRIMARY KEY (b, a))",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("ck").unwrap();
    assert_eq!(t.pks(), ["b", "a"], "key order, not column order");
    t.inserts(vec![
        record! { a: 1, b: "x", v: "1x" },
        record! { a: 2, b: "x", v: "2x" },
        record! { a: 1, b: "y", v: "1y" },
    ])
    .await
    .unwrap();
    // get uses every key column, in key order
    assert_eq!(s(&t.at(("x", 2)).await.unwrap(), "v"), "2x");
    assert_eq!(s(&t.at(("y", 1)).await.unwrap(), "v"), "1y");
    assert!(t.get(("y", 2)).await.unwrap().is_none());
    let e = t.get(1).await.unwrap_err();
    assert!(
        e.to_string().contains("2 columns (b, a) but 1 value"),
        "{e}"
    );
    // upsert conflicts on the whole key
    let u = t.upsert(record! { a: 1, b: "x", v: "new" }).await.unwrap();
    assert_eq!(s(&u, "v"), "new");
    assert_eq!(s(&t.at(("x", 2)).await.unwrap(), "v"), "2x");
    assert_eq!(s(&t.at(("y", 1)).await.unwrap(), "v"), "1y");
    t.upsert(record! { a: 3, b: "x", v: "3x" }).await.unwrap();
    assert_eq!(t.count().await.unwrap(), 4);
    // update and delete by the whole key
    t.update(record! { a: 1, b: "y", v: "upd" }).await.unwrap();
    assert_eq!(s(&t.at(("x", 1)).await.unwrap(), "v"), "new");
    let d = t.delete(("x", 1)).await.unwrap();
    assert_eq!(s(&d, "v"), "new");
    assert_eq!(t.count().await.unwrap(), 3);
    assert_eq!(s(&t.at(("y", 1)).await.unwrap(), "v"), "upd");
    // keys of composite rows are tuples in key order
    let pr = t.pks_and_rows_where("b = $1", args!["y"]).await.unwrap();
    assert_eq!(pr[0].0.to_string(), "(\"y\", 1)");
    let n = t
        .upserts(vec![
            record! { a: 1, b: "y", v: "bulk" },
            record! { a: 9, b: "z", v: "9z" },
        ])
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(s(&t.at(("y", 1)).await.unwrap(), "v"), "bulk");
}

#[tokio::test]
async fn defect_05_partitioned_matviews_and_other_schemas_visible() {
    let db = db().await;
    db.execute(
        "CREATE SCHEMA app; SET search_path = public, app;
         CREATE TABLE app.items (id int PRIMARY KEY);
         CREATE TABLE ev (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM ('2000-01-01') TO ('3000-01-01');
         CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    assert!(
        db.tables().contains("items"),
        "schema on the search path: {}",
        db.tables()
    );
    assert_eq!(db.t("items").unwrap().schema(), "app");
    assert_eq!(db.t("ev").unwrap().kind(), RelKind::PartitionedTable);
    assert_eq!(db.v("mv").unwrap().kind(), RelKind::MaterializedView);
}

#[tokio::test]
async fn defect_15_columns_checked() {
    let db = chinook().await;
    let artist = db.t("artist").unwrap();
    let e = artist.c("nmae").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    let msg = e.to_string();
    assert!(
        msg.contains("\"artist\"")
            && msg.contains("\"nmae\"")
            && msg.contains("did you mean: name"),
        "{msg}"
    );
    assert_eq!(
        artist
            .cols()
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>(),
        ["\"artist\".\"artist_id\"", "\"artist\".\"name\""]
    );
    assert_eq!(
        artist.c("name").unwrap().type_name(),
        "character varying(120)"
    );
    let e = artist.insert(record! { nmae: "x" }).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    let e = artist.xtra(record! { nmae: "x" }).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    let e = artist
        .update(record! { artist_id: 1, nmae: "x" })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
}

#[tokio::test]
async fn defect_17_refresh_is_one_round_trip() {
    let db = db().await;
    let before = db.query_count();
    db.refresh().await.unwrap();
    assert_eq!(db.query_count() - before, 1);
    let ddl: String = (0..60)
        .map(|n| format!("CREATE TABLE t{n} (id int PRIMARY KEY, v text); CREATE VIEW v{n} AS SELECT * FROM t{n};"))
        .collect();
    db.execute(&ddl, ()).await.unwrap();
    let before = db.query_count();
    let snap = db.refresh().await.unwrap();
    assert_eq!(
        db.query_count() - before,
        1,
        "one statement whatever the number of tables"
    );
    assert_eq!(snap.tables().count(), 60);
    assert_eq!(snap.views().count(), 60);
}

#[tokio::test]
async fn refresh_clears_statement_caches_after_ddl() {
    let db = db().await;
    db.execute("CREATE TABLE r (id int PRIMARY KEY, a text)", ())
        .await
        .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("r").unwrap();
    t.insert(record! { id: 1, a: "x" }).await.unwrap();
    assert_eq!(t.rows().await.unwrap()[0].len(), 2);
    db.execute("ALTER TABLE r ADD COLUMN b int DEFAULT 7", ())
        .await
        .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("r").unwrap();
    let rows = t.rows().await.unwrap();
    assert_eq!(rows[0].len(), 3);
    assert_eq!(i(&rows[0], "b"), 7);
}

/// The snapshot is the same whichever way it was loaded: the prepared statement (named mode,
/// kept per connection across refreshes) or the unnamed one (PgBouncer mode); comments of
/// tables and columns included. A named statement deallocated behind our back is prepared again.
#[tokio::test]
async fn refresh_is_identical_in_named_and_unnamed_mode() {
    let url = fastasyncpg_testing::fresh_db().await;
    let named = fastasyncpg::connect(&url).await.unwrap();
    named.execute(ODD_SCHEMA, ()).await.unwrap();
    named
        .execute(
            "COMMENT ON TABLE person IS 'people'; COMMENT ON VIEW mixed_view IS 'a view'; \
             CREATE TABLE parent (a int, b int, PRIMARY KEY (a, b)); \
             CREATE TABLE child (id int PRIMARY KEY, pa int, pb int, \
               FOREIGN KEY (pb, pa) REFERENCES parent (b, a), \
               CONSTRAINT to_other FOREIGN KEY (id) REFERENCES other.thing (id))",
            (),
        )
        .await
        .unwrap();
    let unnamed = fastasyncpg::ConnectOptions::parse(&url)
        .unwrap()
        .statement_cache_mode(fastasyncpg::StatementCacheMode::Unnamed)
        .connect()
        .await
        .unwrap();
    let a = named.refresh().await.unwrap();
    let b = named.refresh().await.unwrap();
    let c = unnamed.refresh().await.unwrap();
    let same = |x: &fastasyncpg::schema::Schema, y: &fastasyncpg::schema::Schema| {
        assert_eq!(x.search_path(), y.search_path());
        assert_eq!(x.schemas(), y.schemas());
        assert_eq!(x.relations(), y.relations());
        assert_eq!(x.enums(), y.enums());
        assert_eq!(x.domains(), y.domains());
    };
    same(&a, &b);
    same(&a, &c);
    let person = a.relation("person").unwrap();
    assert_eq!(person.comment.as_deref(), Some("people"));
    assert_eq!(
        person.column("email").unwrap().comment.as_deref(),
        Some("contact address")
    );
    assert_eq!(person.column("age").unwrap().comment, None);
    assert_eq!(
        a.relation("mixed_view").unwrap().comment.as_deref(),
        Some("a view")
    );
    let child = a.relation("child").unwrap();
    let fks: Vec<_> = child
        .foreign_keys
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.columns.clone(),
                f.ref_table.as_str(),
                f.ref_columns.clone(),
            )
        })
        .collect();
    assert_eq!(
        fks,
        [
            (
                "child_pb_pa_fkey",
                vec!["pb".to_string(), "pa".to_string()],
                "parent",
                vec!["b".to_string(), "a".to_string()]
            ),
            (
                "to_other",
                vec!["id".to_string()],
                "thing",
                vec!["id".to_string()]
            ),
        ]
    );
    // named mode keeps exactly one prepared introspection statement; unnamed mode none
    let prepared = |db: fastasyncpg::Database| async move {
        let n: i64 = db
            .fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '-- The whole schema snapshot%'",
                (),
            )
            .await
            .unwrap();
        (db, n)
    };
    let (named, n) = prepared(named).await;
    assert_eq!(n, 1);
    let (unnamed, n) = prepared(unnamed).await;
    assert_eq!(n, 0);
    drop(unnamed);
    named.execute("DEALLOCATE ALL", ()).await.unwrap();
    let d = named.refresh().await.unwrap();
    same(&a, &d);
    // A foreign key to a relation outside the loaded schemas still names its columns (the
    // server does; for loaded ones the decoder does, from their column rows).
    let e = named.refresh_with_schemas(&["public"]).await.unwrap();
    assert!(!e.schemas().iter().any(|s| s == "other"));
    assert_eq!(
        e.relation("child").unwrap().foreign_keys,
        a.relation("child").unwrap().foreign_keys
    );
}
