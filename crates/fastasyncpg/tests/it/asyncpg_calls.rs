//! asyncpg's smaller calls (`fetchval(column=)`, `execute`'s status, `get_server_pid`, `Record`
//! access), the README's `money` / `pg_lsn` claims, `db.create::<T>` for plain serde structs
//! with validating field types, and the audit hook on every public path that runs SQL.

use std::sync::{Arc, Mutex};

use fastasyncpg::{args, record, AuditEvent, AuditKind, CreateOptions, Database, ErrorKind, Value};

/// A single connection, a pool and a transaction (on its own connection), all on one fresh
/// database. The transaction is rolled back when dropped.
async fn handles() -> (Database, Database, fastasyncpg::Transaction) {
    let url = fastasyncpg_testing::fresh_db().await;
    let conn = fastasyncpg::connect(&url).await.expect("connect");
    let pool = fastasyncpg::create_pool(&url).await.expect("pool");
    let tx_conn = fastasyncpg::connect(&url).await.expect("connect");
    let tx = tx_conn.begin().await.expect("begin");
    (conn, pool, tx)
}

#[tokio::test]
async fn fetchval_column_and_no_row() {
    let (conn, pool, tx) = handles().await;
    for (label, db) in [
        ("connection", &conn),
        ("pool", &pool),
        ("transaction", &*tx),
    ] {
        let sql = "SELECT 1 AS id, 'x' AS name, NULL::int AS gone";
        let name: String = db.fetchval_col(sql, (), "name").await.unwrap();
        assert_eq!(name, "x", "{label}");
        let name: String = db.fetchval_col(sql, (), 1).await.unwrap();
        assert_eq!(name, "x", "{label}");
        let id: i64 = db.fetchval_col(sql, (), 0).await.unwrap();
        assert_eq!(id, 1, "{label}");
        let gone: Option<i32> = db.fetchval_col(sql, (), "gone").await.unwrap();
        assert_eq!(gone, None, "{label}");

        // an unknown column names the columns there are
        let e = db
            .fetchval_col::<i64, _>(sql, (), "nope")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownName, "{label}");
        assert!(
            e.message().contains("nope") && e.message().contains("id, name, gone"),
            "{e}"
        );
        let e = db.fetchval_col::<i64, _>(sql, (), 7).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownName, "{label}");

        // no row: None for Option<T> (asyncpg returns None), NotFound for T
        let none: Option<i64> = db
            .fetchval("SELECT 1 WHERE $1", args![false])
            .await
            .unwrap();
        assert_eq!(none, None, "{label}");
        let none: Option<String> = db
            .fetchval_col("SELECT 1 AS a, 'b' AS b WHERE false", (), "b")
            .await
            .unwrap();
        assert_eq!(none, None, "{label}");
        let e = db
            .fetchval::<i64>("SELECT 1 WHERE false", ())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{label}");
        assert!(e.message().contains("Option<i64>"), "{e}");
        // NULL into T is still an error naming the column
        let e = db
            .fetchval_col::<i32, _>(sql, (), "gone")
            .await
            .unwrap_err();
        assert!(
            e.message().contains("\"gone\"") && e.message().contains("NULL"),
            "{e}"
        );

        // prepared statements follow the same rules
        let st = db
            .prepare("SELECT $1::int AS a, 'b' AS b WHERE $1 > 0")
            .await
            .unwrap();
        let b: String = st.fetchval_col(args![1], "b").await.unwrap();
        assert_eq!(b, "b", "{label}");
        let none: Option<i32> = st.fetchval(args![0]).await.unwrap();
        assert_eq!(none, None, "{label}");
        assert_eq!(
            st.fetchval::<i32>(args![0]).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}

#[tokio::test]
async fn execute_status_strings() {
    let (conn, pool, tx) = handles().await;
    for (label, db) in [
        ("connection", &conn),
        ("pool", &pool),
        ("transaction", &*tx),
    ] {
        let t = format!("st_{}", label);
        let s = db
            .execute_status(&format!("CREATE TABLE {t} (a int)"), ())
            .await
            .unwrap();
        assert_eq!(s, "CREATE TABLE", "{label}");
        let s = db
            .execute_status(
                &format!("INSERT INTO {t} (a) VALUES ($1), (?)"),
                args![1, 2],
            )
            .await
            .unwrap();
        assert_eq!(s, "INSERT 0 2", "{label}");
        let s = db
            .execute_status(
                &format!("UPDATE {t} SET a = a + 1 WHERE a > :min"),
                args![; min = 0],
            )
            .await
            .unwrap();
        assert_eq!(s, "UPDATE 2", "{label}");
        // several statements without arguments: the last one's status
        let s = db
            .execute_status(
                &format!("INSERT INTO {t} VALUES (10); DELETE FROM {t} WHERE a >= 3;"),
                (),
            )
            .await
            .unwrap();
        assert_eq!(s, "DELETE 2", "{label}");
        let s = db
            .execute_status(&format!("SELECT * FROM {t}"), ())
            .await
            .unwrap();
        assert_eq!(s, "SELECT 1", "{label}");
        let e = db
            .execute_status("INSERT INTO no_such_table VALUES (1)", ())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no_such_table"), "{e}");
    }
}

#[tokio::test]
async fn server_pid_of_a_held_connection() {
    let (conn, pool, tx) = handles().await;
    let pid = conn.server_pid().await.unwrap();
    let seen: i32 = conn.fetchval("SELECT pg_backend_pid()", ()).await.unwrap();
    assert_eq!(pid, seen);
    let n = conn.query_count();
    assert_eq!(conn.server_pid().await.unwrap(), pid);
    assert_eq!(conn.query_count(), n, "read once, then remembered");

    let e = pool.server_pid().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.message().contains("acquire()"), "{e}");
    let held = pool.acquire().await.unwrap();
    let pid2 = held.server_pid().await.unwrap();
    assert_eq!(
        pid2,
        held.fetchval::<i32>("SELECT pg_backend_pid()", ())
            .await
            .unwrap()
    );
    assert_ne!(pid2, pid);

    let tpid = tx.server_pid().await.unwrap();
    assert_eq!(
        tpid,
        tx.fetchval::<i32>("SELECT pg_backend_pid()", ())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn row_get_or_iteration_and_html() {
    let (conn, pool, tx) = handles().await;
    for (label, db) in [
        ("connection", &conn),
        ("pool", &pool),
        ("transaction", &*tx),
    ] {
        let row = db
            .fetchrow(
                "SELECT 1 AS id, NULL::text AS nick, '<b>&\"x\"</b>' AS html",
                (),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.get_or("id", 0i64).unwrap(), 1, "{label}");
        assert_eq!(row.get_or("nick", "anon".to_string()).unwrap(), "anon");
        assert_eq!(row.get_or("missing", 5i32).unwrap(), 5);
        assert_eq!(row.get_or(9, 5i32).unwrap(), 5);
        // a value of the wrong type is an error, not the default
        let e = row.get_or("html", 0i32).unwrap_err();
        assert!(e.message().contains("\"html\""), "{e}");

        let items: Vec<(String, Value)> = row.iter().map(|(n, v)| (n.to_string(), v)).collect();
        assert_eq!(
            items,
            [
                ("id".to_string(), Value::Int4(1)),
                ("nick".to_string(), Value::Null),
                ("html".to_string(), Value::Text("<b>&\"x\"</b>".into())),
            ]
        );
        let mut names = Vec::new();
        for (name, _) in &row {
            names.push(name);
        }
        assert_eq!(names, ["id", "nick", "html"]);
        assert_eq!(row.iter().len(), 3);

        let html = row.to_html();
        assert_eq!(
            html,
            "<table>\n<thead>\n<tr><th>id</th><th>nick</th><th>html</th></tr>\n</thead>\n<tbody>\n\
             <tr><td>1</td><td>NULL</td><td>&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;</td></tr>\n\
             </tbody>\n</table>"
        );
        let results = db
            .q(
                "SELECT 1 AS id, NULL::text AS nick, '<b>&\"x\"</b>' AS html",
                (),
            )
            .await
            .unwrap();
        assert_eq!(
            results.to_html(),
            html,
            "a row renders as a one-row Results"
        );
    }
}

#[tokio::test]
async fn money_is_cents_and_pg_lsn_a_number() {
    let (conn, pool, tx) = handles().await;
    for (label, db) in [
        ("connection", &conn),
        ("pool", &pool),
        ("transaction", &*tx),
    ] {
        let t = format!("m_{label}");
        db.execute(
            &format!("CREATE TABLE {t} (id int PRIMARY KEY, price money, lsn pg_lsn)"),
            (),
        )
        .await
        .unwrap();
        db.refresh().await.unwrap();
        let cents: i64 = db.fetchval("SELECT '1234.56'::money", ()).await.unwrap();
        assert_eq!(cents, 123456, "{label}");
        let lsn: u64 = db
            .fetchval("SELECT '16/B374D848'::pg_lsn", ())
            .await
            .unwrap();
        assert_eq!(lsn, 0x16_B374_D848, "{label}");

        // i64 → money in cents and u64 → pg_lsn, through a parameter and the table API
        db.execute(
            &format!("INSERT INTO {t} VALUES (1, $1, $2)"),
            args![-1999i64, 0x16_B374_D848u64],
        )
        .await
        .unwrap();
        db.t(&t)
            .unwrap_or_else(|_| panic!("{label}: table handle"))
            .insert(record! {id: 2, price: 5i64, lsn: u64::MAX})
            .await
            .unwrap();
        let rows = db
            .fetch(
                &format!(
                    "SELECT price, lsn, price::text AS p, lsn::text AS l FROM {t} ORDER BY id"
                ),
                (),
            )
            .await
            .unwrap();
        assert_eq!(rows[0].get::<i64, _>("price").unwrap(), -1999);
        assert_eq!(rows[0].get::<String, _>("p").unwrap(), "-$19.99");
        assert_eq!(rows[0].get::<u64, _>("lsn").unwrap(), 0x16_B374_D848);
        assert_eq!(rows[0].get::<String, _>("l").unwrap(), "16/B374D848");
        assert_eq!(rows[1].get::<i64, _>("price").unwrap(), 5);
        assert_eq!(rows[1].get::<String, _>("p").unwrap(), "$0.05");
        assert_eq!(rows[1].get::<u64, _>("lsn").unwrap(), u64::MAX);
        assert_eq!(rows[1].get::<String, _>("l").unwrap(), "FFFFFFFF/FFFFFFFF");
        // range checks name the column
        let e = rows[1].get::<i64, _>("lsn").unwrap_err();
        assert!(
            e.message().contains("\"lsn\"") && e.message().contains("out of range"),
            "{e}"
        );
        let e = db
            .execute(
                &format!("INSERT INTO {t} (id, lsn) VALUES (3, $1)"),
                args![-1],
            )
            .await
            .unwrap_err();
        assert!(e.message().contains("pg_lsn"), "{e}");
    }
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Event {
    id: i64,
    title: String,
    day: chrono::NaiveDate,
    at: chrono::NaiveDateTime,
    stamp: chrono::DateTime<chrono::Utc>,
    key: uuid::Uuid,
    doc: serde_json::Value,
    maybe_day: Option<chrono::NaiveDate>,
    maybe_at: Option<chrono::NaiveDateTime>,
    maybe_stamp: Option<chrono::DateTime<chrono::Utc>>,
    maybe_key: Option<uuid::Uuid>,
    maybe_doc: Option<serde_json::Value>,
}

#[tokio::test]
async fn create_from_plain_serde_structs_with_validating_types() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let (conn, pool, tx) = handles().await;
    for (label, db) in [
        ("connection", &conn),
        ("pool", &pool),
        ("transaction", &*tx),
    ] {
        let name = format!("event_{label}");
        let events = db
            .create::<Event>(CreateOptions::new().name(&name))
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let types: Vec<(String, String, bool)> = db
            .fetch(
                "SELECT column_name::text, data_type::text, is_nullable = 'YES' \
                 FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                args![name.as_str()],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
            .collect();
        let want = [
            ("id", "bigint", false),
            ("title", "text", false),
            ("day", "date", false),
            ("at", "timestamp without time zone", false),
            ("stamp", "timestamp with time zone", false),
            ("key", "uuid", false),
            ("doc", "jsonb", false),
            ("maybe_day", "date", true),
            ("maybe_at", "timestamp without time zone", true),
            ("maybe_stamp", "timestamp with time zone", true),
            ("maybe_key", "uuid", true),
            ("maybe_doc", "jsonb", true),
        ];
        let want: Vec<(String, String, bool)> = want
            .iter()
            .map(|(c, t, n)| (c.to_string(), t.to_string(), *n))
            .collect();
        assert_eq!(types, want, "{label}");

        let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let at = day.and_hms_micro_opt(13, 14, 15, 123_456).unwrap();
        let stamp = Utc.with_ymd_and_hms(2024, 3, 1, 8, 0, 0).unwrap();
        let key = uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        let doc = serde_json::json!({"tags": ["a", "b"], "n": 1});
        let row = events
            .insert(record! {
                title: "launch", day: day, at: at, stamp: stamp, key: key, doc: doc.clone(),
                maybe_day: day, maybe_at: at, maybe_stamp: stamp, maybe_key: key,
                maybe_doc: doc.clone(),
            })
            .await
            .unwrap();
        let id: i64 = row.get("id").unwrap();
        events
            .insert(record! {title: "empty", day: day, at: at, stamp: stamp, key: key, doc: doc.clone()})
            .await
            .unwrap();

        let back = events.at(id).await.unwrap();
        assert_eq!(back.get::<NaiveDate, _>("day").unwrap(), day);
        assert_eq!(back.get::<chrono::NaiveDateTime, _>("at").unwrap(), at);
        assert_eq!(
            back.get::<chrono::DateTime<Utc>, _>("stamp").unwrap(),
            stamp
        );
        assert_eq!(back.get::<uuid::Uuid, _>("key").unwrap(), key);
        assert_eq!(back.get::<serde_json::Value, _>("doc").unwrap(), doc);
        assert_eq!(
            back.get::<Option<NaiveDate>, _>("maybe_day").unwrap(),
            Some(day)
        );
        assert_eq!(
            back.get::<Option<uuid::Uuid>, _>("maybe_key").unwrap(),
            Some(key)
        );
        let want = Event {
            id,
            title: "launch".into(),
            day,
            at,
            stamp,
            key,
            doc: doc.clone(),
            maybe_day: Some(day),
            maybe_at: Some(at),
            maybe_stamp: Some(stamp),
            maybe_key: Some(key),
            maybe_doc: Some(doc.clone()),
        };
        assert_eq!(back.deserialize::<Event>().unwrap(), want, "{label}");
        let empty = events.selectone("title = ?", args!["empty"]).await.unwrap();
        let e: Event = empty.deserialize().unwrap();
        assert_eq!(
            (
                e.maybe_day,
                e.maybe_at,
                e.maybe_stamp,
                e.maybe_key,
                e.maybe_doc
            ),
            (None, None, None, None, None)
        );
    }
}

#[cfg(feature = "rust_decimal")]
#[tokio::test]
async fn create_with_rust_decimal_fields() {
    use rust_decimal::Decimal;
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Price {
        id: i32,
        amount: Decimal,
        discount: Option<Decimal>,
    }
    let (conn, pool, tx) = handles().await;
    for (label, db) in [
        ("connection", &conn),
        ("pool", &pool),
        ("transaction", &*tx),
    ] {
        let name = format!("price_{label}");
        let prices = db
            .create::<Price>(CreateOptions::new().name(&name))
            .await
            .unwrap();
        let nullable: Vec<(String, String, bool)> = db
            .fetch(
                "SELECT column_name::text, data_type::text, is_nullable = 'YES' \
                 FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                args![name.as_str()],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
            .collect();
        assert_eq!(
            nullable,
            [
                ("id".to_string(), "integer".to_string(), false),
                ("amount".to_string(), "numeric".to_string(), false),
                ("discount".to_string(), "numeric".to_string(), true),
            ],
            "{label}"
        );
        let amount: Decimal = "12345678901234.5678".parse().unwrap();
        let row = prices
            .insert(record! {amount: amount, discount: Option::<Decimal>::None})
            .await
            .unwrap();
        let back = prices.at(row.get::<i32, _>("id").unwrap()).await.unwrap();
        assert_eq!(back.get::<Decimal, _>("amount").unwrap(), amount);
        assert_eq!(back.get::<Option<Decimal>, _>("discount").unwrap(), None);
    }
}

#[tokio::test]
async fn create_names_a_field_it_cannot_map() {
    struct Email;
    impl<'de> serde::Deserialize<'de> for Email {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            Err(serde::de::Error::custom(format!(
                "{s:?} is no email address"
            )))
        }
    }
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct User {
        id: i64,
        email: Email,
    }
    let db = crate::common::db().await;
    let e = db.create::<User>(CreateOptions::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.message().contains("field \"email\""), "{e}");
    assert!(e.message().contains("User"), "{e}");
}

type Seen = Arc<Mutex<Vec<(AuditKind, String)>>>;

fn record_audit(db: &Database) -> Seen {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    db.set_audit(Some(Arc::new(move |e: &AuditEvent<'_>| {
        sink.lock().unwrap().push((e.kind, e.sql.to_string()));
    })));
    seen
}

#[derive(fastasyncpg::FromRow, Debug)]
#[allow(dead_code)]
struct Id {
    id: i32,
}

#[tokio::test]
async fn audit_sees_changes_from_every_call() {
    let (conn, pool, tx) = handles().await;
    for (label, db) in [
        ("connection", &conn),
        ("pool", &pool),
        ("transaction", &*tx),
    ] {
        let t = format!("au_{label}");
        let seen = record_audit(db);
        let take = || std::mem::take(&mut *seen.lock().unwrap());
        db.execute(
            &format!("CREATE TABLE {t} (id serial PRIMARY KEY, v int)"),
            (),
        )
        .await
        .unwrap();
        assert_eq!(
            take().iter().map(|e| e.0).collect::<Vec<_>>(),
            [AuditKind::Create]
        );

        let ins = format!("INSERT INTO {t} (v) VALUES ($1) RETURNING id");
        let ids: Vec<Id> = db.fetch_as(&ins, args![1]).await.unwrap();
        assert_eq!(ids.len(), 1);
        let one: Option<Id> = db.fetchrow_as(&ins, args![2]).await.unwrap();
        assert!(one.is_some());
        let _: i32 = db.fetchval(&ins, args![3]).await.unwrap();
        let _: i32 = db.fetchval_col(&ins, args![4], "id").await.unwrap();
        let _ = db.fetchrow(&ins, args![5]).await.unwrap();
        let _ = db.fetch(&ins, args![6]).await.unwrap();
        let _ = db.q(&ins, args![7]).await.unwrap();
        let _ = db.qone(&ins, args![8]).await.unwrap();
        let _: i32 = db.item(&ins, args![9]).await.unwrap();
        db.execute_status(&format!("UPDATE {t} SET v = v + 1 WHERE v = $1"), args![1])
            .await
            .unwrap();
        db.execute_status(
            &format!("DELETE FROM {t} WHERE v = 2; DELETE FROM {t} WHERE v = 3"),
            (),
        )
        .await
        .unwrap();
        db.executemany(
            &format!("INSERT INTO {t} (v) VALUES ($1)"),
            [args![10], args![11]],
        )
        .await
        .unwrap();
        let st = db
            .prepare(&format!("UPDATE {t} SET v = v WHERE v > $1"))
            .await
            .unwrap();
        st.execute(args![100]).await.unwrap();
        let kinds: Vec<AuditKind> = take().iter().map(|e| e.0).collect();
        use AuditKind::*;
        assert_eq!(
            kinds,
            [
                Insert, Insert, Insert, Insert, Insert, Insert, Insert, Insert, Insert, Update,
                Delete, Delete, Insert, Update
            ],
            "{label}"
        );

        // reads are not reported
        let _: Vec<Id> = db
            .fetch_as(&format!("SELECT id FROM {t}"), ())
            .await
            .unwrap();
        let _: Option<Id> = db
            .fetchrow_as(&format!("SELECT id FROM {t}"), ())
            .await
            .unwrap();
        let _: Option<i32> = db
            .fetchval(&format!("SELECT id FROM {t} LIMIT 1"), ())
            .await
            .unwrap();
        assert!(take().is_empty(), "{label}");

        // a failed change is still reported, with its error
        let e = db
            .fetch_as::<Id>(
                &format!("INSERT INTO {t} (id, v) VALUES (9, 1) RETURNING id"),
                (),
            )
            .await;
        assert!(e.is_err());
        let ev = take();
        assert_eq!(ev.len(), 1, "{label}");
        assert_eq!(ev[0].0, Insert);
        db.set_audit(None);
    }
}
