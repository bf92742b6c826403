//! Bulk writes: grouping by column set, defaults, atomicity, order, types by name.

use std::collections::HashMap;

use fastasyncpg::{args, record, ErrorKind, Record, Row, UpsertOptions};

use crate::common::db;

fn s(r: &Row, c: &str) -> String {
    r.get::<String, _>(c).unwrap()
}
fn i(r: &Row, c: &str) -> i64 {
    r.get::<i64, _>(c).unwrap()
}

const ITEMS: &str = "CREATE TYPE color AS ENUM ('red', 'green');
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL DEFAULT 7,
  note text DEFAULT 'none', color color DEFAULT 'green', tags text[], meta jsonb)";

async fn items(db: &fastasyncpg::Database) -> fastasyncpg::Table {
    db.execute(ITEMS, ()).await.unwrap();
    db.refresh().await.unwrap();
    db.t("items").unwrap()
}

#[tokio::test]
async fn defect_12_bulk_missing_keys_mean_default_and_unchanged() {
    let db = db().await;
    let t = items(&db).await;
    let recs = || {
        vec![
            record! { name: "a" },
            record! { name: "b", qty: 1 },
            record! { name: "c", note: Option::<String>::None },
            record! { name: "d", qty: 2, note: "x" },
            record! { name: "e" },
        ]
    };
    let want: Vec<(String, i64, Option<String>)> = vec![
        ("a".into(), 7, Some("none".into())),
        ("b".into(), 1, Some("none".into())),
        ("c".into(), 7, None),
        ("d".into(), 2, Some("x".into())),
        ("e".into(), 7, Some("none".into())),
    ];
    let triple = |r: &fastasyncpg::Row| {
        (
            s(r, "name"),
            i(r, "qty"),
            r.get::<Option<String>, _>("note").unwrap(),
        )
    };
    // inserts (binary COPY, one per column set): missing columns got their defaults, explicit
    // NULL stayed NULL
    assert_eq!(t.inserts(recs()).await.unwrap(), 5);
    let got: Vec<_> = db
        .fetch("SELECT * FROM items ORDER BY name", ())
        .await
        .unwrap()
        .iter()
        .map(triple)
        .collect();
    assert_eq!(got, want);
    // inserts_returning: the same, rows returned in the order given
    db.execute("TRUNCATE items", ()).await.unwrap();
    let rows = t.inserts_returning(recs()).await.unwrap();
    let got: Vec<_> = rows.iter().map(triple).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn bulk_is_atomic() {
    let db = db().await;
    let t = items(&db).await;
    t.inserts(vec![record! { id: 1, name: "a" }]).await.unwrap();
    db.execute("SELECT setval('items_id_seq', 10)", ())
        .await
        .unwrap();
    // two groups; the second fails (NOT NULL): the first group is rolled back too
    let e = t
        .inserts(vec![
            record! { name: "b" },
            record! { name: "c", qty: Option::<i64>::None },
        ])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotNullViolation);
    assert_eq!(t.count().await.unwrap(), 1);
    // duplicate key within one group
    let e = t
        .inserts(vec![
            record! { id: 5, name: "x" },
            record! { id: 5, name: "y" },
        ])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(t.count().await.unwrap(), 1);
    // a missing key fails the whole bulk update
    let e = t
        .updates(vec![
            record! { id: 1, name: "changed" },
            record! { id: 999, name: "nope" },
        ])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(s(&t.at(1).await.unwrap(), "name"), "a");
    let e = t
        .updates(vec![record! { name: "no key" }])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    let e = t
        .updates(vec![record! { id: 1, qty: 1 }, record! { id: 1, qty: 2 }])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    // inside a transaction a bulk call is a savepoint: the outer transaction survives its failure
    let tx = db.begin().await.unwrap();
    let tt = t.on(&tx);
    tt.insert(record! { name: "in tx" }).await.unwrap();
    assert!(tt
        .inserts(vec![record! { name: "ok" }, record! { qty: 1 }])
        .await
        .is_err());
    assert_eq!(tt.count().await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(t.count().await.unwrap(), 2);
    // empty input is a no-op
    assert_eq!(t.inserts(Vec::<Record>::new()).await.unwrap(), 0);
    assert!(t
        .inserts_returning(Vec::<Record>::new())
        .await
        .unwrap()
        .is_empty());
    assert!(t.updates(Vec::<Record>::new()).await.unwrap().is_empty());
    assert_eq!(t.copy_in(Vec::<Record>::new()).await.unwrap(), 0);
}

#[tokio::test]
async fn bulk_types_by_name_and_record_sources() {
    let db = db().await;
    let t = items(&db).await;
    let mut m = HashMap::new();
    m.insert("name".to_string(), "from map");
    let json: Record = serde_json::json!({"name": "from json", "tags": ["a", "b c", "d\"e"], "meta": {"k": [1, 2]}, "color": "red", "qty": 3})
        .try_into()
        .unwrap();
    #[derive(serde::Serialize)]
    struct Item {
        name: String,
        qty: i32,
        tags: Vec<String>,
        meta: Option<serde_json::Value>,
    }
    let from_struct = Record::from_serialize(&Item {
        name: "from struct".into(),
        qty: 4,
        tags: vec!["x".into()],
        meta: None,
    })
    .unwrap();
    let rows = t
        .inserts_returning(vec![
            Record::from(m),
            json.clone(),
            from_struct,
            record! { name: "empty tags", tags: "{}", color: "red" },
        ])
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    let j = &rows[1];
    assert_eq!(s(j, "color"), "red");
    assert_eq!(i(j, "qty"), 3);
    let r = db
        .fetchrow(
            "SELECT tags[3] AS t3, meta->'k'->>1 AS k1, array_length(tags, 1) AS n FROM items WHERE name = $1",
            args!["from json"],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s(&r, "t3"), "d\"e");
    assert_eq!(s(&r, "k1"), "2");
    assert_eq!(i(&r, "n"), 3);
    // single-row insert of a JSON record goes the same way
    let one = t.insert(json).await.unwrap();
    assert_eq!(s(&one, "color"), "red");
    t.delete(i(&one, "id")).await.unwrap();
    // updates/upserts with enums and arrays
    let id = i(&rows[0], "id");
    t.updates(vec![record! { id: id, color: "red", tags: "{q}" }])
        .await
        .unwrap();
    let r = db
        .fetchrow(
            "SELECT color::text AS c, tags[1] AS t FROM items WHERE id = $1",
            args![id],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s(&r, "c"), s(&r, "t")), ("red".into(), "q".into()));
    // inserts (binary COPY): enum and jsonb converted here; an array literal in text goes
    // by text COPY, parsed by the server
    assert_eq!(
        t.inserts(vec![
            record! { name: "bin enum", color: "red", qty: 11, meta: "{\"k\": 1}" },
            record! { name: "text array", tags: "{p,q}" },
        ])
        .await
        .unwrap(),
        2
    );
    let r = db
        .fetchrow(
            "SELECT color::text AS c, qty, meta->>'k' AS k FROM items WHERE name = 'bin enum'",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s(&r, "c"), i(&r, "qty"), s(&r, "k")),
        ("red".into(), 11, "1".into())
    );
    let r = db
        .fetchrow(
            "SELECT tags[2] AS t FROM items WHERE name = 'text array'",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s(&r, "t"), "q");
    // same columns, the second record needs text: the streamed binary COPY is abandoned and
    // both rows go by text COPY (nothing written twice)
    assert_eq!(
        t.inserts(vec![
            record! { name: "s1", tags: Option::<String>::None },
            record! { name: "s2", tags: "{a}" },
        ])
        .await
        .unwrap(),
        2
    );
    let n: i64 = db
        .fetchval("SELECT count(*) FROM items WHERE name IN ('s1', 's2')", ())
        .await
        .unwrap();
    assert_eq!(n, 2);
    db.execute(
        "DELETE FROM items WHERE name IN ('bin enum', 'text array', 's1', 's2')",
        (),
    )
    .await
    .unwrap();
    let e = t
        .inserts(vec![record! { name: "bad", color: "blue" }])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("invalid input value for enum color"),
        "{e}"
    );
    // conflict on a unique column instead of the key
    db.execute("CREATE UNIQUE INDEX items_name ON items (name)", ())
        .await
        .unwrap();
    let r = t
        .upserts_returning_with(
            vec![record! { name: "from map", qty: 42 }],
            UpsertOptions::new().on(&["name"]),
        )
        .await
        .unwrap();
    assert_eq!((i(&r[0], "id"), i(&r[0], "qty")), (id, 42));
    let r = t
        .upsert_with(
            record! { name: "from map", qty: 1 },
            UpsertOptions::new().on(&["name"]).do_nothing(),
        )
        .await
        .unwrap();
    assert!(r.is_none());
    let r = t
        .upsert_with(
            record! { name: "from map", qty: 1, note: "n" },
            UpsertOptions::new()
                .on_constraint("items_name")
                .update_only(&["note"]),
        )
        .await;
    // an index that is not a constraint cannot be named with ON CONSTRAINT
    assert!(r.is_err());
    let r = t
        .upsert_with(
            record! { name: "from map", qty: 1, note: "n" },
            UpsertOptions::new().on(&["name"]).update_only(&["note"]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((i(&r, "qty"), s(&r, "note")), (42, "n".into()));
}

#[tokio::test]
async fn empty_records_insert_defaults() {
    let db = db().await;
    let t = items(&db).await;
    db.execute("ALTER TABLE items ALTER COLUMN name SET DEFAULT 'anon'", ())
        .await
        .unwrap();
    db.refresh().await.unwrap();
    let t2 = db.t("items").unwrap();
    let rows = t2
        .inserts_returning(vec![Record::new(), Record::new(), record! { name: "x" }])
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| s(r, "name")).collect::<Vec<_>>(),
        ["anon", "anon", "x"]
    );
    assert_eq!(t2.copy_in(vec![Record::new()]).await.unwrap(), 1);
    assert_eq!(t.count().await.unwrap(), 4);
}

/// Set-based bulk writes send built-in column types as binary typed arrays (`$1::int8[]`) and
/// the rest as `text[]` cast by name; a column with a value only the server can parse goes as
/// text. Either way the rows are the ones a single `insert` writes, and an upsert updates only
/// the columns given.
#[tokio::test]
async fn bulk_typed_arrays_match_single_inserts() {
    let db = db().await;
    db.execute(
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE DOMAIN posint AS int CHECK (VALUE > 0);
         CREATE TABLE k (id bigint PRIMARY KEY, b boolean, s smallint, f float8, n numeric(8,2),
           d date, ts timestamptz, u uuid, by bytea, j jsonb, v varchar(5), m mood, p posint,
           keep text DEFAULT 'kept')",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("k").unwrap();
    let rec = |id: i64| {
        record! {
            id: id, b: id % 2 == 0, s: 7, f: 1.5, n: "12.345", d: "2024-02-29",
            ts: "2024-01-02 03:04:05+00", u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            by: vec![0u8, 255], j: serde_json::json!({"a": [1, null]}), v: "abc", m: "ok", p: 3
        }
    };
    let single = t.insert(rec(1)).await.unwrap();
    let bulk = t.inserts_returning(vec![rec(2), rec(3)]).await.unwrap();
    let cols = [
        "b", "s", "f", "n", "d", "ts", "u", "by", "j", "v", "m", "p", "keep",
    ];
    let text = |r: &Row| -> Vec<Option<String>> {
        cols.iter()
            .map(|c| {
                r.get::<fastasyncpg::Value, _>(*c)
                    .unwrap()
                    .to_string()
                    .into()
            })
            .collect()
    };
    assert_eq!(text(&bulk[1]), text(&single));
    assert_eq!(i(&bulk[0], "id"), 2);
    // upserts: one existing (only the given columns change), one new, NULLs in typed arrays
    db.execute("UPDATE k SET keep = 'changed' WHERE id = 2", ())
        .await
        .unwrap();
    let rows = t
        .upserts_returning(vec![
            record! { id: 2, s: Option::<i32>::None, n: 1, v: "xy" },
            record! { id: 4, s: 9, n: Option::<f64>::None, v: "z" },
        ])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(s(&rows[0], "keep"), "changed");
    assert_eq!(rows[0].get::<Option<i64>, _>("s").unwrap(), None);
    assert_eq!(s(&rows[0], "v"), "xy");
    assert_eq!(s(&rows[0], "m"), "ok");
    assert_eq!(s(&rows[1], "keep"), "kept");
    assert_eq!(i(&rows[1], "s"), 9);
    // upserts counts the rows written (one updated, one new); with do_nothing, only the new
    assert_eq!(
        t.upserts(vec![record! { id: 2, v: "c1" }, record! { id: 7, v: "c2" }])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        t.upserts_with(
            vec![record! { id: 7, v: "kept?" }, record! { id: 8, v: "c3" }],
            fastasyncpg::UpsertOptions::new().do_nothing()
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        db.fetchval::<String>(
            "SELECT string_agg(v, ',' ORDER BY id) FROM k WHERE id IN (2, 7, 8)",
            ()
        )
        .await
        .unwrap(),
        "c1,c2,c3"
    );
    db.execute("DELETE FROM k WHERE id IN (7, 8)", ())
        .await
        .unwrap();
    // a domain check fails the whole call: nothing written
    assert!(t
        .upserts(vec![record! { id: 5, p: 1 }, record! { id: 6, p: -1 }])
        .await
        .is_err());
    let n: i64 = db
        .fetchval("SELECT count(*) FROM k WHERE id >= 5", ())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// `inserts` streams one binary COPY while it reads the records; a record giving other
/// columns, or a value that must go as text, ends that COPY and the rest go by column set,
/// all in one transaction: every row lands once, and an error anywhere writes nothing.
#[tokio::test]
async fn inserts_stream_then_switch_column_sets() {
    let db = db().await;
    let t = items(&db).await;
    let recs = |bad: bool| {
        (0..3000).map(move |n| match n {
            _ if (1000..1100).contains(&n) => {
                record! { name: format!("n{n}"), qty: n, note: "other set" }
            }
            1500 => record! { name: "as text", qty: n, tags: "{a,b}" },
            2999 if bad => record! { name: "bad", qty: "not a number" },
            _ => record! { name: format!("n{n}"), qty: n },
        })
    };
    let e = t.inserts(recs(true)).await.unwrap_err();
    assert!(e.to_string().contains("not a number"), "{e}");
    let n: i64 = db.fetchval("SELECT count(*) FROM items", ()).await.unwrap();
    assert_eq!(n, 0, "nothing written");
    assert_eq!(t.inserts(recs(false)).await.unwrap(), 3000);
    let r = db
        .fetchrow(
            "SELECT count(*) AS n, count(DISTINCT qty) AS q, sum(qty) AS s, \
             count(*) FILTER (WHERE note = 'other set') AS other, \
             count(*) FILTER (WHERE note = 'none') AS dflt, \
             max(array_length(tags, 1)) AS tags FROM items",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(i(&r, "n"), 3000);
    assert_eq!(i(&r, "q"), 3000);
    assert_eq!(i(&r, "s"), (0..3000).sum::<i64>());
    assert_eq!(i(&r, "other"), 100);
    assert_eq!(i(&r, "dflt"), 2900);
    assert_eq!(i(&r, "tags"), 2);
}

/// 64-bit integers (what Python ints and untyped literals arrive as) into `int4` and `int2`
/// columns: written directly when they fit, by `inserts` (a binary COPY past 1,024 records)
/// and `copy_records_to_table`; one that does not fit names its column and writes nothing.
#[tokio::test]
async fn wide_integers_into_narrow_columns() {
    let db = db().await;
    db.execute(
        "CREATE TABLE narrow (id int8 PRIMARY KEY, a int4, b int2)",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("narrow").unwrap();
    let recs =
        (0..2_000i64).map(|k| record! { id: k, a: k * 1_000_000 - 1_000_000_000, b: k - 1_000 });
    assert_eq!(t.inserts(recs).await.unwrap(), 2_000);
    let row = db
        .fetchrow(
            "SELECT sum(a)::int8 AS a, sum(b)::int8 AS b, min(a) AS lo, max(b) AS hi FROM narrow",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    let sum = |f: fn(i64) -> i64| (0..2_000i64).map(f).sum::<i64>();
    assert_eq!(i(&row, "a"), sum(|k| k * 1_000_000 - 1_000_000_000));
    assert_eq!(i(&row, "b"), sum(|k| k - 1_000));
    assert_eq!(i(&row, "lo"), -1_000_000_000);
    assert_eq!(i(&row, "hi"), 999);
    let rows: Vec<Vec<fastasyncpg::Value>> = (0..3i64)
        .map(|k| {
            vec![
                (10_000 + k).into(),
                (i64::from(i32::MAX) - k).into(),
                (i64::from(i16::MIN) + k).into(),
            ]
        })
        .collect();
    assert_eq!(
        db.copy_records_to_table("narrow", rows, &Default::default())
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        db.fetchval::<i64>("SELECT b FROM narrow WHERE id = 10000", ())
            .await
            .unwrap(),
        i64::from(i16::MIN)
    );
    let bad = (0..2_000i64).map(|k| {
        let a = if k == 1_500 { 1i64 << 40 } else { k };
        record! { id: 20_000 + k, a: a, b: 0 }
    });
    let e = t.inserts(bad).await.unwrap_err();
    assert!(
        e.to_string().contains("\"a\"") || e.to_string().contains(" a"),
        "{e}"
    );
    assert_eq!(
        db.fetchval::<i64>("SELECT count(*) FROM narrow WHERE id >= 20000", ())
            .await
            .unwrap(),
        0
    );
}
