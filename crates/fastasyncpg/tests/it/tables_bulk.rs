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
    let rows = t
        .inserts(vec![
            record! { name: "a" },
            record! { name: "b", qty: 1 },
            record! { name: "c", note: Option::<String>::None },
            record! { name: "d", qty: 2, note: "x" },
            record! { name: "e" },
        ])
        .await
        .unwrap();
    // returned in the order given, missing columns got their defaults, explicit NULL stayed NULL
    let got: Vec<(String, i64, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                s(r, "name"),
                i(r, "qty"),
                r.get::<Option<String>, _>("note").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a".into(), 7, Some("none".into())),
            ("b".into(), 1, Some("none".into())),
            ("c".into(), 7, None),
            ("d".into(), 2, Some("x".into())),
            ("e".into(), 7, Some("none".into())),
        ]
    );
    // bulk update: columns left out stay unchanged
    let ids: Vec<i64> = rows.iter().map(|r| i(r, "id")).collect();
    let upd = t
        .updates(vec![
            record! { id: ids[0], qty: 100 },
            record! { id: ids[3], note: "y" },
            record! { id: ids[1], qty: 5, note: "z" },
        ])
        .await
        .unwrap();
    assert_eq!(
        upd.iter().map(|r| i(r, "id")).collect::<Vec<_>>(),
        [ids[0], ids[3], ids[1]]
    );
    let a = t.at(ids[0]).await.unwrap();
    assert_eq!((i(&a, "qty"), s(&a, "note")), (100, "none".into()));
    let d = t.at(ids[3]).await.unwrap();
    assert_eq!((i(&d, "qty"), s(&d, "note")), (2, "y".into()));
    let b = t.at(ids[1]).await.unwrap();
    assert_eq!((i(&b, "qty"), s(&b, "note")), (5, "z".into()));
    // bulk upsert: an existing row keeps the columns not given; a new one gets defaults
    let ups = t
        .upserts(vec![
            record! { id: ids[4], name: "e2" },
            record! { name: "f" },
        ])
        .await
        .unwrap();
    assert_eq!(ups.len(), 2);
    let e = t.at(ids[4]).await.unwrap();
    assert_eq!(
        (s(&e, "name"), i(&e, "qty"), s(&e, "note")),
        ("e2".into(), 7, "none".into())
    );
    assert_eq!((s(&ups[1], "name"), i(&ups[1], "qty")), ("f".into(), 7));
    // copy_in: defaults too
    assert_eq!(
        t.copy_in(vec![record! { name: "g" }, record! { name: "h", qty: 3 }])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        i(&t.selectone("name = $1", args!["g"]).await.unwrap(), "qty"),
        7
    );
    assert_eq!(
        i(&t.selectone("name = $1", args!["h"]).await.unwrap(), "qty"),
        3
    );
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
    assert!(t.inserts(Vec::<Record>::new()).await.unwrap().is_empty());
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
        .inserts(vec![
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
        .upserts_with(
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
        .inserts(vec![Record::new(), Record::new(), record! { name: "x" }])
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| s(r, "name")).collect::<Vec<_>>(),
        ["anon", "anon", "x"]
    );
    assert_eq!(t2.copy_in(vec![Record::new()]).await.unwrap(), 1);
    assert_eq!(t.count().await.unwrap(), 4);
}
