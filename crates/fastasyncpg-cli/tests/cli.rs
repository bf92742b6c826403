//! The `fastasyncpg` binary against a throwaway server.

use std::process::Command;

fn fastasyncpg(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fastasyncpg"))
        .arg("--url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run fastasyncpg");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn q_prints_table_json_and_csv() {
    let url = fastasyncpg_testing::chinook_db().await;
    let (code, out, err) = fastasyncpg(
        &url,
        &[
            "q",
            "SELECT artist_id, name FROM artist WHERE artist_id <= ? ORDER BY 1",
            "2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("artist_id | name"), "{out}");
    assert!(
        out.contains("AC/DC") && out.contains("Accept") && out.contains("(2 rows)"),
        "{out}"
    );

    let (code, out, err) = fastasyncpg(
        &url,
        &[
            "q",
            "SELECT name FROM artist WHERE name = :n",
            "--param",
            "n=AC/DC",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, serde_json::json!([{"name": "AC/DC"}]));

    let (code, out, err) = fastasyncpg(
        &url,
        &[
            "q",
            "SELECT artist_id, name FROM artist WHERE artist_id = $1",
            "1",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "artist_id,name\r\n1,AC/DC\r\n");
}

#[tokio::test]
async fn q_json_values_are_exact() {
    let url = fastasyncpg_testing::fresh_db().await;
    let (code, out, err) = fastasyncpg(
        &url,
        &[
            "q",
            "SELECT 123456789012345678901234567890.000123::numeric AS n, 'NaN'::float8 AS f, '\\x00ff'::bytea AS b, $1::date AS d",
            "2024-02-29",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("123456789012345678901234567890.000123"),
        "{out}"
    );
    assert!(out.contains("\"NaN\""), "{out}");
    assert!(out.contains("\\\\x00ff"), "{out}");
    assert!(out.contains("2024-02-29"), "{out}");
}

#[tokio::test]
async fn errors_go_to_stderr_with_exit_code_1() {
    let url = fastasyncpg_testing::fresh_db().await;
    let (code, out, err) = fastasyncpg(&url, &["q", "SELECT * FROM no_such_table"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("no_such_table") && err.contains("42P01"),
        "{err}"
    );
}

#[tokio::test]
async fn tables_lists_tables_with_schema() {
    let url = fastasyncpg_testing::chinook_db().await;
    let (code, out, err) = fastasyncpg(&url, &["tables"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("public | artist") && out.contains("| table"),
        "{out}"
    );
}

#[tokio::test]
async fn gen_writes_the_models_module() {
    let url = fastasyncpg_testing::chinook_db().await;
    let out = std::env::temp_dir().join(format!("fastasyncpg-gen-{}.rs", std::process::id()));
    let path = out.to_str().expect("utf-8 temp path");
    let (code, _, err) = fastasyncpg(&url, &["gen", "--out", path, "--views"]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(&out).expect("read generated file");
    let _ = std::fs::remove_file(&out);
    // The same module the library's golden test checks (and compiles).
    let fixture = include_str!("../../fastasyncpg/tests/it/generated/chinook.rs");
    assert_eq!(written, fixture);
    let (code, stdout, err) = fastasyncpg(&url, &["gen", "--out", "-", "--schema", "public"]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("pub struct InvoiceLine {"), "{stdout}");
    assert!(!stdout.contains("--views"), "{stdout}");
}
