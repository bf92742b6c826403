//! `fastasyncpg load` and `fastasyncpg export` against a throwaway server.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn run(url: &str, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fastasyncpg"))
        .arg("--url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fastasyncpg");
    if let Some(data) = stdin {
        let mut w = child.stdin.take().unwrap();
        w.write_all(data).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A path in the temporary directory unique to this process and `name`.
fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "fastasyncpg-cli-copy-{}-{name}",
        std::process::id()
    ))
}

/// The summary line: `loaded into T: N rows in S s (R rows/s)`.
fn assert_summary(stderr: &str, verb: &str, rows: u64) {
    let line = stderr.lines().last().unwrap_or("");
    assert!(
        line.starts_with(verb)
            && line.contains(&format!(": {rows} rows in "))
            && line.ends_with(" rows/s)"),
        "summary line: {stderr:?}"
    );
}

#[tokio::test]
async fn csv_round_trip_with_create() {
    let url = fastasyncpg_testing::fresh_db().await;
    let csv = "id,name,price,ok,day,at,nothing\n\
               1,\"Ann, the first\",1.50,true,2024-02-29,2024-02-29 10:00:00+00,\n\
               2,Bob,2,false,2024-03-01,2024-03-01T11:30:00Z,\n\
               3,\"say \"\"hi\"\"\",,,,,\n";
    let src = tmp("round.csv");
    std::fs::write(&src, csv).unwrap();
    let (code, out, err) = run(
        &url,
        &[
            "load",
            "items",
            src.to_str().unwrap(),
            "--header",
            "--create",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert_summary(&err, "loaded into items", 3);
    assert!(
        !err.contains('\u{1b}'),
        "no progress bar when stderr is not a terminal: {err:?}"
    );

    let db = fastasyncpg::connect(&url).await.unwrap();
    let types: Vec<String> = db
        .fetch(
            "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute \
             WHERE attrelid = 'items'::regclass AND attnum > 0 ORDER BY attnum",
            (),
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("t").unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "bigint",
            "text",
            "numeric",
            "boolean",
            "date",
            "timestamp with time zone",
            "text"
        ]
    );

    let (code, out, err) = run(&url, &["export", "items", "out.csv", "--query", "x"], None);
    assert_ne!(code, 0, "a table and --query together is an error: {out}");
    assert!(err.contains("usage"), "{err}");

    let dst = tmp("round-out.csv");
    let (code, _, err) = run(
        &url,
        &[
            "export",
            "--query",
            "SELECT id, name FROM items ORDER BY id",
            dst.to_str().unwrap(),
            "--header",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_summary(&err, "exported from the query", 3);
    assert_eq!(
        std::fs::read_to_string(&dst).unwrap(),
        "id,name\n1,\"Ann, the first\"\n2,Bob\n3,\"say \"\"hi\"\"\"\n"
    );

    // Table → CSV on stdout → a second table from stdin → the same CSV.
    let (code, first, err) = run(&url, &["export", "items", "--header"], None);
    assert_eq!(code, 0, "{err}");
    assert_summary(&err, "exported from items", 3);
    db.execute("CREATE TABLE items2 (LIKE items)", ())
        .await
        .unwrap();
    let (code, _, err) = run(
        &url,
        &["load", "items2", "-", "--header"],
        Some(first.as_bytes()),
    );
    assert_eq!(code, 0, "{err}");
    let (code, second, err) = run(&url, &["export", "items2", "-", "--header"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first, second);
    assert!(
        first.starts_with(
            "id,name,price,ok,day,at,nothing\n1,\"Ann, the first\",1.50,t,2024-02-29,"
        ),
        "{first}"
    );

    // --truncate replaces the rows.
    let (code, _, err) = run(
        &url,
        &["load", "items2", "-", "--header", "--truncate"],
        Some(first.as_bytes()),
    );
    assert_eq!(code, 0, "{err}");
    let n: i64 = db
        .fetchval("SELECT count(*) FROM items2", ())
        .await
        .unwrap();
    assert_eq!(n, 3);
    std::fs::remove_file(&src).unwrap();
    std::fs::remove_file(&dst).unwrap();
}

#[tokio::test]
async fn a_bad_line_is_named_and_nothing_is_loaded() {
    let url = fastasyncpg_testing::fresh_db().await;
    let db = fastasyncpg::connect(&url).await.unwrap();
    db.execute("CREATE TABLE nums (n int, label text)", ())
        .await
        .unwrap();
    let data = b"n,label\n1,one\n2,two\nthree,3\n4,four\n";
    let (code, _, err) = run(&url, &["load", "nums", "-", "--header"], Some(data));
    assert_ne!(code, 0);
    assert!(
        err.contains("line 4") && err.contains("column n") && err.contains("nothing was changed"),
        "{err}"
    );
    let n: i64 = db.fetchval("SELECT count(*) FROM nums", ()).await.unwrap();
    assert_eq!(n, 0);

    // With --create the table is not left behind either. The bad value comes after the
    // sampled rows (else the column would be inferred as text).
    let mut data = String::from("n\n");
    for i in 0..1200 {
        data.push_str(&format!("{i}\n"));
    }
    data.push_str("x\n");
    let (code, _, err) = run(
        &url,
        &["load", "fresh", "-", "--header", "--create"],
        Some(data.as_bytes()),
    );
    assert_ne!(code, 0);
    assert!(err.contains("line 1202") && err.contains("bigint"), "{err}");
    let exists: bool = db
        .fetchval("SELECT to_regclass('fresh') IS NOT NULL", ())
        .await
        .unwrap();
    assert!(!exists);

    // Text and tsv formats with options.
    let (code, _, err) = run(
        &url,
        &[
            "load",
            "nums",
            "-",
            "--format",
            "text",
            "--null",
            "-",
            "--columns",
            "label,n",
        ],
        Some(b"one\t1\n-\t2\n"),
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        &url,
        &["load", "nums", "-", "--format", "tsv"],
        Some(b"3\t\"th\tree\"\n"),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        &url,
        &[
            "export",
            "--query",
            "SELECT * FROM nums ORDER BY n",
            "--format",
            "text",
            "--null",
            "?",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\tone\n2\t?\n3\tth\\tree\n");
}

#[tokio::test]
async fn jsonl_both_ways() {
    let url = fastasyncpg_testing::fresh_db().await;
    let data = concat!(
        r#"{"id": 1, "name": "Ann \"A\" \\ B", "tags": ["x", "y"], "score": 1.5, "born": "2000-01-02"}"#,
        "\n",
        r#"{"id": 2, "name": null, "score": 2}"#,
        "\n",
        r#"{"id": 3, "name": "line\nbreak", "tags": {"k": 1}, "score": null, "born": null}"#,
        "\n"
    );
    let (code, _, err) = run(
        &url,
        &["load", "people", "-", "--format", "jsonl", "--create"],
        Some(data.as_bytes()),
    );
    assert_eq!(code, 0, "{err}");
    assert_summary(&err, "loaded into people", 3);
    let (code, out, err) = run(&url, &["export", "people", "--format", "jsonl"], None);
    assert_eq!(code, 0, "{err}");
    assert_summary(&err, "exported from people", 3);
    let got: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(
        got,
        [
            serde_json::json!({"id": 1, "name": "Ann \"A\" \\ B", "tags": ["x", "y"], "score": 1.5, "born": "2000-01-02"}),
            serde_json::json!({"id": 2, "name": null, "tags": null, "score": 2, "born": null}),
            serde_json::json!({"id": 3, "name": "line\nbreak", "tags": {"k": 1}, "score": null, "born": null}),
        ]
    );

    // A bad line names its number; nothing is loaded.
    let bad = "{\"id\": 4}\n{\"id\": 5,,}\n";
    let (code, _, err) = run(
        &url,
        &["load", "people", "-", "--format", "jsonl"],
        Some(bad.as_bytes()),
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("line 2") && err.contains("not valid JSON"),
        "{err}"
    );
    let bad = "{\"id\": 4}\n{\"id\": 5}\n{\"nope\": 1}\n";
    let (code, _, err) = run(
        &url,
        &["load", "people", "-", "--format", "jsonl"],
        Some(bad.as_bytes()),
    );
    assert_ne!(code, 0);
    assert!(err.contains("line 3") && err.contains("nope"), "{err}");
    let db = fastasyncpg::connect(&url).await.unwrap();
    let n: i64 = db
        .fetchval("SELECT count(*) FROM people", ())
        .await
        .unwrap();
    assert_eq!(n, 3);
}
