//! Issue 10 through the binary: `tables`, `describe` and `gen` agree with the library's schema
//! snapshot (`db.tables()`, `db.t`) on a database with several schemas (the library's
//! `tests/it/sql/schema_view.sql`; its own half is `tests/it/schema_view.rs`).

use std::collections::BTreeSet;

mod common;
use common::fastasyncpg;

#[tokio::test]
async fn tables_describe_gen_and_db_t_agree() {
    let url = fastasyncpg_testing::fresh_db().await;
    fastasyncpg::connect(&url)
        .await
        .unwrap()
        .execute(
            include_str!("../../fastasyncpg/tests/it/sql/schema_view.sql"),
            (),
        )
        .await
        .unwrap();
    let db = fastasyncpg::connect(&url).await.unwrap();

    // `tables` lists exactly the snapshot's relations (partitions left out).
    let (code, out, err) = fastasyncpg(&url, &["tables"]);
    assert_eq!(code, 0, "{err}");
    let listed: BTreeSet<(String, String, String)> = out
        .lines()
        .skip(2)
        .filter(|l| l.contains('|'))
        .map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            (c[0].to_string(), c[1].to_string(), c[2].to_string())
        })
        .collect();
    let snapshot: BTreeSet<(String, String, String)> = db
        .schema()
        .relations()
        .iter()
        .filter(|r| !r.is_partition)
        .map(|r| {
            let kind = match r.kind {
                fastasyncpg::schema::RelKind::PartitionedTable => "partitioned table",
                fastasyncpg::schema::RelKind::View => "view",
                fastasyncpg::schema::RelKind::MaterializedView => "materialized view",
                _ => "table",
            };
            (r.schema.clone(), r.name.clone(), kind.to_string())
        })
        .collect();
    assert_eq!(listed, snapshot, "{out}");
    assert!(listed.contains(&("inventory".into(), "item".into(), "table".into())));

    // `describe` finds every listed relation by the name `db.tables()` / `db.views()` give,
    // and by its quoted qualified name, and shows the same relation as `db.t` / `db.v`.
    let mut names = db.tables().names();
    names.extend(db.views().names());
    for n in names {
        let t = db.relation(&n).unwrap_or_else(|e| panic!("{n}: {e}"));
        let head = format!(
            "{} {}.{}",
            match t.kind() {
                fastasyncpg::schema::RelKind::Table if t.meta().is_partition => "table (partition)",
                fastasyncpg::schema::RelKind::PartitionedTable => "partitioned table",
                fastasyncpg::schema::RelKind::View => "view",
                fastasyncpg::schema::RelKind::MaterializedView => "materialized view",
                _ => "table",
            },
            fastasyncpg::sql::quote_ident(t.schema()),
            fastasyncpg::sql::quote_ident(t.name())
        );
        let qualified = format!(
            "{}.{}",
            fastasyncpg::sql::quote_ident(t.schema()),
            fastasyncpg::sql::quote_ident(t.name())
        );
        for arg in [n.as_str(), qualified.as_str()] {
            let (code, out, err) = fastasyncpg(&url, &["describe", arg]);
            assert_eq!(code, 0, "describe {arg}: {err}");
            assert_eq!(out.lines().next(), Some(head.as_str()), "describe {arg}");
            assert_eq!(out, t.describe(), "describe {arg}");
        }
    }
    // The issue's own example, and the quoted mixed-case forms.
    for (arg, head) in [
        ("inventory.item", r#"table "inventory"."item""#),
        (r#""Inventory"."Item""#, r#"table "Inventory"."Item""#),
        (r#"inventory."Odd Name""#, r#"table "inventory"."Odd Name""#),
        ("customer", r#"table "public"."customer""#),
    ] {
        let (code, out, err) = fastasyncpg(&url, &["describe", arg]);
        assert_eq!(code, 0, "describe {arg}: {err}");
        assert_eq!(out.lines().next(), Some(head), "describe {arg}");
    }
    // Ambiguous and unknown names fail the same way `db.t` does.
    let (code, _, err) = fastasyncpg(&url, &["describe", "log"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("ambiguous") && err.contains("archive.log, inventory.log"),
        "{err}"
    );
    let (code, _, err) = fastasyncpg(&url, &["describe", "inventory.itme"]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean: inventory.item"), "{err}");

    // `gen` with no --schema covers what `tables` lists, and writes what the library's
    // `generate` writes.
    let (code, src, err) = fastasyncpg(&url, &["gen", "--out", "-", "--views"]);
    assert_eq!(code, 0, "{err}");
    let lib = fastasyncpg::codegen::generate(
        &db,
        &fastasyncpg::codegen::GenOptions {
            views: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(src, lib);
    let models = src
        .lines()
        .filter(|l| l.trim_start().starts_with("#[fastasyncpg(table = "))
        .count();
    assert_eq!(models, snapshot.len(), "{src}");
    assert!(src.contains(r#"#[fastasyncpg(table = "item", schema = "inventory")]"#));
    assert!(src.contains(r#"#[fastasyncpg(table = "Item", schema = "Inventory")]"#));
}
