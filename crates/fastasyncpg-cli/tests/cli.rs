//! The `fastasyncpg` binary against a throwaway server.

mod common;
use common::fastasyncpg;

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

/// The committed generated modules of the library's test suite (which compiles them and reads
/// every row through them). `FASTASYNCPG_BLESS=1` rewrites them from the current generator;
/// this works even when the current fixtures no longer compile, since this crate does not
/// include them.
fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fastasyncpg/tests/it/generated")
        .join(format!("{name}.rs"))
}

fn check_or_bless(name: &str, written: &str) {
    let path = fixture_path(name);
    if std::env::var_os("FASTASYNCPG_BLESS").is_some() {
        std::fs::write(&path, written).expect("write fixture");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == written,
        "`fastasyncpg gen` output differs from {}; if intended, regenerate with\n  \
         FASTASYNCPG_BLESS=1 cargo test -p fastasyncpg-cli gen",
        path.display()
    );
}

fn gen_to_string(url: &str, args: &[&str]) -> String {
    let out = std::env::temp_dir().join(format!(
        "fastasyncpg-gen-{}-{}.rs",
        std::process::id(),
        args.len()
    ));
    let path = out.to_str().expect("utf-8 temp path");
    let mut all = vec!["gen", "--out", path];
    all.extend_from_slice(args);
    let (code, _, err) = fastasyncpg(url, &all);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(&out).expect("read generated file");
    let _ = std::fs::remove_file(&out);
    written
}

#[tokio::test]
async fn gen_writes_the_models_modules() {
    let url = fastasyncpg_testing::chinook_db().await;
    check_or_bless("chinook", &gen_to_string(&url, &["--views"]));
    let (code, stdout, err) = fastasyncpg(&url, &["gen", "--out", "-", "--schema", "public"]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("pub struct InvoiceLine {"), "{stdout}");
    assert!(!stdout.contains("--views"), "{stdout}");

    let url = fastasyncpg_testing::fresh_db().await;
    let db = fastasyncpg::connect(&url).await.expect("connect");
    db.execute(
        include_str!("../../fastasyncpg/tests/it/sql/rich_schema.sql"),
        (),
    )
    .await
    .expect("load rich schema");
    let rich = gen_to_string(
        &url,
        &["--schema", "public", "--schema", "other schema", "--views"],
    );
    check_or_bless("rich", &rich);
}

#[tokio::test]
async fn describe_shows_columns_keys_and_foreign_keys() {
    let url = fastasyncpg_testing::chinook_db().await;
    let (code, out, err) = fastasyncpg(&url, &["describe", "album"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("album_id") && out.contains("character varying(160)"),
        "{out}"
    );
    assert!(
        out.contains("primary key") && out.contains("\"artist\""),
        "{out}"
    );
    let (code, _, err) = fastasyncpg(&url, &["describe", "albun"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("album"),
        "the error suggests the near name: {err}"
    );
}
