//! COPY in and out: `copy_to_table`, `copy_from_table`, `copy_from_query` and
//! `copy_records_to_table` on a connection, a pool and a transaction, their options, and the
//! failure cases (bad rows, bad options).

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use fastasyncpg::{
    args, AuditEvent, AuditKind, ConnectOptions, CopyOptions, Database, ErrorKind, ForceQuote,
    Record, StatementCacheMode, Value,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::common;

/// A path in the temporary directory unique to this process and `name`.
fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fastasyncpg-copy-{}-{name}", std::process::id()))
}

async fn people(db: &Database) {
    db.execute(
        "CREATE TABLE people (id int PRIMARY KEY, name text, note text)",
        (),
    )
    .await
    .unwrap();
}

async fn count(db: &Database, table: &str) -> i64 {
    db.fetchval(&format!("SELECT count(*) FROM {table}"), ())
        .await
        .unwrap()
}

/// The four calls against one handle (a connection, a pool or a transaction).
async fn four_calls(db: &Database) {
    let n = db
        .copy_records_to_table(
            "people",
            vec![(1, "Ann", Value::Null), (2, "Bob", Value::from("x"))],
            &CopyOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(n, 2);

    let csv: &[u8] = b"id,name,note\n3,\"Cy, Jr.\",\n4,Di,\"say \"\"hi\"\"\"\n";
    let n = db
        .copy_to_table("people", csv, &CopyOptions::csv().header(true))
        .await
        .unwrap();
    assert_eq!(n, 2);

    let mut out = Vec::new();
    let n = db
        .copy_from_table(
            "people",
            &mut out,
            &CopyOptions::csv().columns(["id", "name"]),
        )
        .await
        .unwrap();
    assert_eq!(n, 4);
    let mut lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
    lines.sort();
    assert_eq!(lines, ["1,Ann", "2,Bob", "3,\"Cy, Jr.\"", "4,Di"]);

    let mut out = Vec::new();
    let n = db
        .copy_from_query(
            "SELECT id, note FROM people WHERE id > ? ORDER BY id",
            args![2],
            &mut out,
            &CopyOptions::csv(),
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "3,\n4,\"say \"\"hi\"\"\"\n"
    );
}

#[tokio::test]
async fn four_calls_on_a_connection_a_pool_and_a_transaction() {
    let url = fastasyncpg_testing::fresh_db().await;
    let conn = fastasyncpg::connect(&url).await.unwrap();
    people(&conn).await;
    four_calls(&conn).await;

    conn.execute("TRUNCATE people", ()).await.unwrap();
    let pool = fastasyncpg::create_pool(&url).await.unwrap();
    four_calls(&pool).await;
    let held = pool.acquire().await.unwrap();
    held.execute("TRUNCATE people", ()).await.unwrap();
    four_calls(&held).await;

    // Inside a transaction the COPYs are part of it: a rollback takes them back.
    conn.execute("TRUNCATE people", ()).await.unwrap();
    let tx = conn.begin().await.unwrap();
    four_calls(&tx).await;
    assert_eq!(count(&tx, "people").await, 4);
    tx.rollback().await.unwrap();
    assert_eq!(count(&conn, "people").await, 0);
    let tx = pool.begin().await.unwrap();
    four_calls(&tx).await;
    tx.commit().await.unwrap();
    assert_eq!(count(&pool, "people").await, 4);
}

#[tokio::test]
async fn csv_options_header_quote_escape_null_force_null_force_quote() {
    let db = common::db().await;
    people(&db).await;
    let data: &[u8] = b"id;name;note\n1;'a;b';NULL\n2;'it\\'s';x\n3;plain;'NULL'\n";
    let opts = CopyOptions::csv()
        .header(true)
        .delimiter(";")
        .quote("'")
        .escape("\\")
        .null("NULL")
        .force_null(["note"]);
    assert_eq!(db.copy_to_table("people", data, &opts).await.unwrap(), 3);
    let rows = db
        .fetch("SELECT name, note FROM people ORDER BY id", ())
        .await
        .unwrap();
    let got: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get("name").unwrap(), r.get("note").unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("a;b".to_string(), None),
            ("it's".to_string(), Some("x".to_string())),
            ("plain".to_string(), None), // 'NULL' quoted is NULL too under FORCE_NULL
        ]
    );

    // Out: FORCE_QUOTE, header, custom NULL.
    let mut out = Vec::new();
    let n = db
        .copy_from_query(
            "SELECT id, name, note FROM people ORDER BY id",
            (),
            &mut out,
            &CopyOptions::csv()
                .header(true)
                .null("-")
                .force_quote(ForceQuote::Columns(vec!["name".into()])),
        )
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "id,name,note\n1,\"a;b\",-\n2,\"it's\",x\n3,\"plain\",-\n"
    );

    // FORCE_NOT_NULL: the null string is read as itself.
    db.execute("TRUNCATE people", ()).await.unwrap();
    let data: &[u8] = b"1,,\n";
    db.copy_to_table("people", data, &CopyOptions::csv().force_not_null(["note"]))
        .await
        .unwrap();
    let note: Option<String> = db.fetchval("SELECT note FROM people", ()).await.unwrap();
    let name: Option<String> = db.fetchval("SELECT name FROM people", ()).await.unwrap();
    assert_eq!((name, note), (None, Some(String::new())));
}

#[tokio::test]
async fn text_and_binary_formats_round_trip() {
    let db = common::db().await;
    db.execute(
        "CREATE TABLE src (id int, t text, ts timestamptz, a int[], j jsonb, b bytea);
         CREATE TABLE dst (LIKE src); CREATE TABLE dst2 (LIKE src)",
        (),
    )
    .await
    .unwrap();
    db.execute(
        r#"INSERT INTO src VALUES
           (1, E'tab\there\nnew line \\ back', '2024-02-29 12:00+00', '{1,NULL,3}', '{"k": "v\"q"}', '\x00ff'),
           (2, NULL, NULL, NULL, NULL, NULL)"#,
        (),
    )
    .await
    .unwrap();
    // Binary out and in.
    let mut bin = Vec::new();
    let n = db
        .copy_from_table("src", &mut bin, &CopyOptions::binary())
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(bin.starts_with(b"PGCOPY\n\xff\r\n\0"));
    let n = db
        .copy_to_table("dst", &bin[..], &CopyOptions::binary())
        .await
        .unwrap();
    assert_eq!(n, 2);
    // Text with a custom delimiter and NULL.
    let mut txt = Vec::new();
    let opts = CopyOptions::text().delimiter("|").null("<null>");
    let n = db.copy_from_table("src", &mut txt, &opts).await.unwrap();
    assert_eq!(n, 2);
    let s = String::from_utf8(txt.clone()).unwrap();
    assert!(s.contains("tab\\there\\nnew line \\\\ back"), "{s}");
    assert!(s.contains("2|<null>|<null>"), "{s}");
    let n = db.copy_to_table("dst2", &txt[..], &opts).await.unwrap();
    assert_eq!(n, 2);
    for t in ["dst", "dst2"] {
        let diff: i64 = db
            .fetchval(
                &format!(
                    "SELECT count(*) FROM ((TABLE src EXCEPT ALL TABLE {t}) UNION ALL (TABLE {t} EXCEPT ALL TABLE src)) d"
                ),
                (),
            )
            .await
            .unwrap();
        assert_eq!(diff, 0, "{t} differs from src");
    }
}

#[tokio::test]
async fn paths_readers_and_writers() {
    let db = common::db().await;
    people(&db).await;
    db.execute(
        "INSERT INTO people SELECT g, 'n' || g FROM generate_series(1, 50) g",
        (),
    )
    .await
    .unwrap();
    let path = tmp("paths.csv");
    let n = db
        .copy_from_table_to_path("people", &path, &CopyOptions::csv().header(true))
        .await
        .unwrap();
    assert_eq!(n, 50);
    db.execute("CREATE TABLE people2 (LIKE people)", ())
        .await
        .unwrap();
    let n = db
        .copy_to_table_from_path("people2", &path, &CopyOptions::csv().header(true))
        .await
        .unwrap();
    assert_eq!(n, 50);
    let qpath = tmp("paths-query.txt");
    let n = db
        .copy_from_query_to_path(
            "SELECT * FROM people WHERE id <= $1",
            args![7],
            &qpath,
            &CopyOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(n, 7);
    assert_eq!(std::fs::read_to_string(&qpath).unwrap().lines().count(), 7);
    // A tokio file as reader.
    let f = tokio::fs::File::open(&path).await.unwrap();
    db.execute("TRUNCATE people2", ()).await.unwrap();
    let n = db
        .copy_to_table("people2", f, &CopyOptions::csv().header(true))
        .await
        .unwrap();
    assert_eq!(n, 50);
    // A missing file names the path.
    let e = db
        .copy_to_table_from_path("people2", tmp("missing.csv"), &CopyOptions::csv())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("missing.csv"), "{e}");
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(&qpath).unwrap();
}

#[tokio::test]
async fn where_condition_filters_rows_in() {
    let db = common::db().await;
    people(&db).await;
    let data: &[u8] = b"1\ta\t\\N\n2\tb\t\\N\n3\tc\t\\N\n";
    let n = db
        .copy_to_table("people", data, &CopyOptions::new().where_("id <> 2"))
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n = db
        .copy_records_to_table(
            "people",
            (10..20).map(|i| vec![Value::from(i), Value::from("r"), Value::Null]),
            &CopyOptions::new().where_("id % 2 = 0"),
        )
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(count(&db, "people").await, 7);
}

#[tokio::test]
async fn names_needing_quotes() {
    let db = common::db().await;
    db.execute(
        r#"CREATE SCHEMA "My ""Schema"""; CREATE TABLE "My ""Schema"""."Odd ""Name""; x" ("a""b" int, "Sp ace" text)"#,
        (),
    )
    .await
    .unwrap();
    let opts = CopyOptions::csv()
        .schema_name("My \"Schema\"")
        .columns(["Sp ace", "a\"b"]);
    let n = db
        .copy_to_table("Odd \"Name\"; x", &b"one,1\ntwo,2\n"[..], &opts)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n = db
        .copy_records_to_table(
            "Odd \"Name\"; x",
            [("three", 3)],
            &CopyOptions::new()
                .schema_name("My \"Schema\"")
                .columns(["Sp ace", "a\"b"]),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let mut out = Vec::new();
    let n = db
        .copy_from_table(
            "Odd \"Name\"; x",
            &mut out,
            &CopyOptions::csv()
                .header(true)
                .schema_name("My \"Schema\"")
                .force_quote(ForceQuote::All),
        )
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\"a\"\"b\",Sp ace\n\"1\",\"one\"\n\"2\",\"two\"\n\"3\",\"three\"\n"
    );
    // Records by name, through the whole-table column list (no columns option).
    db.refresh().await.unwrap();
    let n = db
        .copy_records_to_table(
            "Odd \"Name\"; x",
            [Record::new().with("Sp ace", "four").with("a\"b", 4)],
            &CopyOptions::new().schema_name("My \"Schema\""),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_bad_row_names_line_and_column_and_changes_nothing() {
    let db = common::db().await;
    people(&db).await;
    db.execute("INSERT INTO people VALUES (100, 'kept', NULL)", ())
        .await
        .unwrap();
    let data: &[u8] = b"1\ta\t\\N\n2\tb\t\\N\nnot-a-number\tc\t\\N\n4\td\t\\N\n";
    let e = db
        .copy_to_table("people", data, &CopyOptions::new())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.kind(), ErrorKind::Database, "{msg}");
    assert!(
        msg.contains("invalid input syntax for type integer"),
        "{msg}"
    );
    assert!(
        msg.contains("CONTEXT: COPY people, line 3, column id"),
        "{msg}"
    );
    assert_eq!(count(&db, "people").await, 1);

    // A record that does not fit its column: named, nothing written.
    let recs = vec![
        vec![Value::from(1), Value::from("a"), Value::Null],
        vec![Value::from(2), Value::from("b"), Value::Null],
        vec![Value::from("x"), Value::from("c"), Value::Null],
    ];
    let e = db
        .copy_records_to_table("people", recs, &CopyOptions::new())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("record 3") && msg.contains("\"id\""), "{msg}");
    assert_eq!(count(&db, "people").await, 1);

    // A duplicate key fails the whole COPY.
    let e = db
        .copy_records_to_table(
            "people",
            [(1, "a", "n"), (100, "dup", "n")],
            &CopyOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
    assert_eq!(count(&db, "people").await, 1);

    // A reader that fails mid-way aborts the COPY.
    struct Failing(bool);
    impl AsyncRead for Failing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if self.0 {
                return Poll::Ready(Err(std::io::Error::other("disk on fire")));
            }
            self.0 = true;
            buf.put_slice(b"5\te\t\\N\n");
            Poll::Ready(Ok(()))
        }
    }
    let e = db
        .copy_to_table("people", Failing(false), &CopyOptions::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("disk on fire"), "{e}");
    assert_eq!(count(&db, "people").await, 1);
    // The connection is still usable.
    assert_eq!(count(&db, "people").await, 1);
}

#[tokio::test]
async fn options_that_do_not_apply_are_usage_errors() {
    let db = common::db().await;
    people(&db).await;
    let mut out = Vec::new();
    let cases: Vec<(CopyOptions, &str)> = vec![
        (CopyOptions::new().where_("id > 1"), "where"),
        (CopyOptions::csv().force_null(["note"]), "force_null"),
        (CopyOptions::text().quote("'"), "quote"),
        (CopyOptions::binary().delimiter(","), "delimiter"),
    ];
    for (o, name) in cases {
        let e = db
            .copy_from_table("people", &mut out, &o)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains(&format!("option {name} ")), "{e}");
    }
    let e = db
        .copy_to_table(
            "people",
            &b""[..],
            &CopyOptions::csv().force_quote(ForceQuote::All),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("force_quote"), "{e}");
    let e = db
        .copy_records_to_table("people", [(1, "a", "b")], &CopyOptions::csv())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("option format"), "{e}");
    let e = db
        .copy_from_query("SELECT 1", (), &mut out, &CopyOptions::new().columns(["a"]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("option columns"), "{e}");
}

/// Generates `n` rows of COPY text on the fly (never holding them).
struct RowGen {
    next: u64,
    n: u64,
    pending: Vec<u8>,
}

impl AsyncRead for RowGen {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.pending.len() < buf.remaining() && self.next < self.n {
            let i = self.next + 1;
            self.next = i;
            let line = format!("{i}\tname {i}\t\\N\n");
            self.pending.extend_from_slice(line.as_bytes());
        }
        let k = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..k]);
        self.pending.drain(..k);
        Poll::Ready(Ok(()))
    }
}

/// Counts bytes written and remembers the largest single write.
#[derive(Default)]
struct CountingWriter {
    bytes: usize,
    largest: usize,
}

impl AsyncWrite for CountingWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.bytes += buf.len();
        self.largest = self.largest.max(buf.len());
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn large_copies_stream_both_ways() {
    let db = common::db().await;
    people(&db).await;
    const N: u64 = 200_000;
    let n = db
        .copy_to_table(
            "people",
            RowGen {
                next: 0,
                n: N,
                pending: Vec::new(),
            },
            &CopyOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(n, N);
    // Out to a writer: many small writes, never the whole table at once.
    let mut w = CountingWriter::default();
    let n = db
        .copy_from_table("people", &mut w, &CopyOptions::new())
        .await
        .unwrap();
    assert_eq!(n, N);
    assert!(w.bytes > 3_000_000, "{}", w.bytes);
    assert!(w.largest < 1 << 20, "largest write {} bytes", w.largest);
    // To a file and back in.
    let path = tmp("large.bin");
    let n = db
        .copy_from_table_to_path("people", &path, &CopyOptions::binary())
        .await
        .unwrap();
    assert_eq!(n, N);
    db.execute("CREATE TABLE people2 (LIKE people)", ())
        .await
        .unwrap();
    let n = db
        .copy_to_table_from_path("people2", &path, &CopyOptions::binary())
        .await
        .unwrap();
    assert_eq!(n, N);
    assert_eq!(count(&db, "people2").await, N as i64);
    std::fs::remove_file(&path).unwrap();
    // Records streamed from an iterator.
    db.execute("TRUNCATE people2", ()).await.unwrap();
    let n = db
        .copy_records_to_table(
            "people2",
            (1..=N as i32).map(|i| (i, "x", Value::Null)),
            &CopyOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(n, N);
}

#[tokio::test]
async fn copy_from_query_binds_quotes_backslashes_and_nulls() {
    let db = common::db().await;
    people(&db).await;
    db.copy_records_to_table(
        "people",
        [
            (1, "O'Brien", Value::Null),
            (2, "back\\slash", Value::from("n")),
            (3, "$1 'x'", Value::from("m")),
        ],
        &CopyOptions::new(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let n = db
        .copy_from_query(
            "SELECT id, name, '$1 ?' AS lit FROM people \
             WHERE (name = $1 OR name = $2 OR note IS NOT DISTINCT FROM $3 OR name = :other) \
             AND id <= :max ORDER BY id",
            args!["O'Brien", "back\\slash", Value::Null; other = "$1 'x'", max = 3],
            &mut out,
            &CopyOptions::csv(),
        )
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1,O'Brien,$1 ?\n2,back\\slash,$1 ?\n3,$1 'x',$1 ?\n"
    );
    // Values take their parameter's type: a date, an array, a NULL int.
    let mut out = Vec::new();
    db.copy_from_query(
        "SELECT $1::date + 1 AS d, $2::int[] AS a, $3::int IS NULL AS n, $4::text AS t",
        args![
            "2024-02-28",
            vec![1i32, 2],
            Option::<i32>::None,
            "a'b\\c\"d"
        ],
        &mut out,
        &CopyOptions::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "2024-02-29\t{1,2}\tt\ta'b\\\\c\"d\n"
    );
    // A value that does not fit its parameter fails naming it.
    let e = db
        .copy_from_query(
            "SELECT $1::int",
            args!["nope"],
            Vec::<u8>::new(),
            &CopyOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Bind, "{e}");
    assert!(e.to_string().contains("$1"), "{e}");
}

#[tokio::test]
async fn unnamed_mode_wraps_copy_in_a_transaction() {
    let url = fastasyncpg_testing::fresh_db().await;
    let opts = ConnectOptions::parse(&url)
        .unwrap()
        .statement_cache_mode(StatementCacheMode::Unnamed);
    let db = opts.clone().connect().await.unwrap();
    people(&db).await;
    db.copy_to_table("people", &b"1\ta\t\\N\n"[..], &CopyOptions::new())
        .await
        .unwrap();
    db.copy_records_to_table("people", [(2, "b", "x")], &CopyOptions::new())
        .await
        .unwrap();
    let mut out = Vec::new();
    let n = db
        .copy_from_query(
            "SELECT name FROM people WHERE id >= $1 ORDER BY 1",
            args![1],
            &mut out,
            &CopyOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!((n, out), (2, b"a\nb\n".to_vec()));
    // Nothing named is left on the server connection, and the wrapping transactions were
    // committed (another connection sees the rows).
    let named: i64 = db
        .fetchval("SELECT count(*) FROM pg_prepared_statements", ())
        .await
        .unwrap();
    assert_eq!(named, 0);
    assert!(!db.is_in_transaction());
    let other = fastasyncpg::connect(&url).await.unwrap();
    assert_eq!(count(&other, "people").await, 2);
    // A failed COPY rolls its wrapping transaction back; the connection goes on.
    let e = db
        .copy_to_table("people", &b"1\tdup\t\\N\n"[..], &CopyOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(count(&db, "people").await, 2);
    // On a pool, and inside a transaction (no second BEGIN).
    let pool = opts
        .create_pool(fastasyncpg::PoolOptions::default())
        .await
        .unwrap();
    let tx = pool.begin().await.unwrap();
    tx.copy_to_table("people", &b"3\tc\t\\N\n"[..], &CopyOptions::new())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&pool, "people").await, 3);
}

#[tokio::test]
async fn copy_in_is_audited_copy_out_is_not() {
    let db = common::db().await;
    people(&db).await;
    type Seen = Vec<(AuditKind, Option<String>, Option<u64>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s = seen.clone();
    db.set_audit(Some(Arc::new(move |e: &AuditEvent<'_>| {
        s.lock()
            .unwrap()
            .push((e.kind, e.table.map(str::to_string), e.rows));
    })));
    db.copy_to_table("people", &b"1\ta\t\\N\n"[..], &CopyOptions::new())
        .await
        .unwrap();
    db.copy_records_to_table("people", [(2, "b", "c")], &CopyOptions::new())
        .await
        .unwrap();
    db.copy_from_table("people", Vec::<u8>::new(), &CopyOptions::new())
        .await
        .unwrap();
    db.copy_from_query(
        "SELECT * FROM people",
        (),
        Vec::<u8>::new(),
        &CopyOptions::new(),
    )
    .await
    .unwrap();
    db.set_audit(None);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (AuditKind::Copy, Some("\"people\"".to_string()), Some(1)),
            (AuditKind::Copy, Some("\"people\"".to_string()), Some(1)),
        ]
    );
}

#[tokio::test]
async fn table_handles_copy_to_and_from() {
    let db = common::db().await;
    db.execute(
        "CREATE SCHEMA other; CREATE TABLE other.pets (id int, name text)",
        (),
    )
    .await
    .unwrap();
    db.refresh_with_schemas(&["public", "other"]).await.unwrap();
    let t = db.t("other.pets").unwrap();
    let n = t
        .copy_to(&b"1,Rex\n2,Tom\n"[..], &CopyOptions::csv())
        .await
        .unwrap();
    assert_eq!(n, 2);
    let mut out = Vec::new();
    let n = t.copy_from(&mut out, &CopyOptions::csv()).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(String::from_utf8(out).unwrap(), "1,Rex\n2,Tom\n");
}

#[tokio::test]
async fn records_from_json_and_serde_go_as_text() {
    #[derive(serde::Serialize)]
    struct P {
        id: i32,
        name: &'static str,
    }
    let db = common::db().await;
    people(&db).await;
    let rows = vec![
        serde_json::json!({"id": 1, "name": "tab\there \\ x"}),
        serde_json::json!({"id": 2, "note": "n"}),
    ];
    let n = db
        .copy_records_to_table("people", rows, &CopyOptions::new())
        .await
        .unwrap();
    assert_eq!(n, 2);
    let recs = [Record::from_serialize(&P { id: 3, name: "c" }).unwrap()];
    let n = db
        .copy_records_to_table("people", recs, &CopyOptions::new())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let name: String = db
        .fetchval("SELECT name FROM people WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!(name, "tab\there \\ x");
    // An unknown key is named.
    let e = db
        .copy_records_to_table(
            "people",
            [serde_json::json!({"id": 4, "nope": 1})],
            &CopyOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    assert!(
        e.to_string().contains("nope") && e.to_string().contains("record 1"),
        "{e}"
    );
    assert_eq!(count(&db, "people").await, 3);
}
