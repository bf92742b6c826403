//! One view of the database (issue 10): the snapshot covers every schema the user can see, and
//! `db.tables()`, `db.t` / `db.v`, `check_model` and generated modules agree on what exists
//! and how a name resolves. The CLI half (`tables`, `describe`, `gen` run as a binary) is in
//! `crates/fastasyncpg-cli/tests/schema_view.rs`, on the same schema (`sql/schema_view.sql`).

use std::collections::BTreeSet;
use std::time::Duration;

use fastasyncpg::codegen::{generate, GenOptions};
use fastasyncpg::schema::RelKind;
use fastasyncpg::{record, Database, ErrorKind, Model};

use crate::common::db;

/// The database of issue 10 (see `sql/schema_view.sql`), on a plain `connect`.
async fn issue_db() -> Database {
    let url = fastasyncpg_testing::fresh_db().await;
    let setup = fastasyncpg::connect(&url).await.unwrap();
    setup
        .execute(include_str!("sql/schema_view.sql"), ())
        .await
        .unwrap();
    // A new connection: its snapshot is the one `connect` loads, no refresh by hand.
    fastasyncpg::connect(&url).await.unwrap()
}

fn err_text<T>(r: fastasyncpg::Result<T>) -> (ErrorKind, String) {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => (e.kind(), e.to_string()),
    }
}

#[tokio::test]
async fn every_schema_one_resolution_rule() {
    let db = issue_db().await;
    let snap = db.schema();
    assert_eq!(snap.search_path(), ["public"]);
    assert_eq!(
        snap.schemas(),
        ["public", "Inventory", "archive", "inventory"]
    );

    // db.tables(): every schema, the search path first, then by schema and name (byte order,
    // as `name` sorts); names read back with db.t.
    let names = db.tables().names();
    assert_eq!(
        names,
        [
            "customer",
            "Item",
            "archive.log",
            "Odd Name",
            "inventory.customer",
            "event",
            "event_2024",
            "item",
            "inventory.log",
        ]
    );
    for n in &names {
        let t = db.t(n).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert!(db.tables().contains(n), "{n}");
        assert!(db.tables().contains(&format!(
            "{}.{}",
            fastasyncpg::sql::quote_ident(t.schema()),
            fastasyncpg::sql::quote_ident(t.name())
        )));
    }
    assert_eq!(db.views().names(), ["stock", "item_view"]);

    // Bare names: the search path wins, else the one schema that has it.
    assert_eq!(db.t("customer").unwrap().schema(), "public");
    assert_eq!(db.t("customer").unwrap().to_string(), r#""customer""#);
    let item = db.t("item").unwrap();
    assert_eq!((item.schema(), item.name()), ("inventory", "item"));
    assert_eq!(item.to_string(), r#""inventory"."item""#);
    assert_eq!(item.count().await.unwrap(), 2);
    assert_eq!(db.t("Item").unwrap().schema(), "Inventory");
    assert_eq!(db.t("event").unwrap().kind(), RelKind::PartitionedTable);
    assert!(db.t("event_2024").unwrap().meta().is_partition);
    assert_eq!(db.v("item_view").unwrap().schema(), "inventory");
    assert_eq!(db.v("stock").unwrap().kind(), RelKind::MaterializedView);

    // Qualified and quoted forms all find the same relation.
    for (name, schema, rel) in [
        ("inventory.item", "inventory", "item"),
        (r#""inventory"."item""#, "inventory", "item"),
        (r#""Inventory"."Item""#, "Inventory", "Item"),
        ("Inventory.Item", "Inventory", "Item"),
        (r#"inventory."Odd Name""#, "inventory", "Odd Name"),
        ("inventory.Odd Name", "inventory", "Odd Name"),
        (r#""Odd Name""#, "inventory", "Odd Name"),
        ("Odd Name", "inventory", "Odd Name"),
        ("inventory.customer", "inventory", "customer"),
        ("public.customer", "public", "customer"),
        ("archive.log", "archive", "log"),
    ] {
        let t = db.t(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((t.schema(), t.name()), (schema, rel), "{name}");
        assert_eq!(db.relation(name).unwrap(), t, "{name}");
        assert_eq!(db.t_in(schema, rel).unwrap(), t, "{name}");
    }
    assert_eq!(
        db.v(r#"inventory."item_view""#).unwrap(),
        db.v_in("inventory", "item_view").unwrap()
    );
    let odd = db.t(r#"inventory."Odd Name""#).unwrap();
    assert_eq!(odd.to_string(), r#""inventory"."Odd Name""#);
    let r = odd
        .insert(record! { id: 2, "Mixed Col": "two" })
        .await
        .unwrap();
    assert_eq!(r.get::<String, _>("Mixed Col").unwrap(), "two");

    // Ambiguous: in two schemas, neither on the search path.
    let (kind, msg) = err_text(db.t("log"));
    assert_eq!(kind, ErrorKind::UnknownName);
    assert!(
        msg.contains("ambiguous") && msg.contains("archive.log, inventory.log"),
        "{msg}"
    );
    assert!(!db.tables().contains("log"));
    assert!(db.relation("log").is_err());

    // Wrong kind and unknown names name the relation and suggest.
    let (_, msg) = err_text(db.t("item_view"));
    assert!(msg.contains(r#"use db.v("item_view")"#), "{msg}");
    let (kind, msg) = err_text(db.t("itme"));
    assert_eq!(kind, ErrorKind::UnknownName);
    assert!(msg.contains("did you mean: Item, item?"), "{msg}");
    assert!(
        msg.contains("schemas public, Inventory, archive, inventory"),
        "{msg}"
    );
    let (_, msg) = err_text(db.t("inventory.itme"));
    assert!(msg.contains(r#""inventory"."itme""#), "{msg}");
    assert!(msg.contains("did you mean: inventory.item"), "{msg}");
    let (_, msg) = err_text(db.t("public.item"));
    assert!(msg.contains("did you mean: inventory.item"), "{msg}");
    let (_, msg) = err_text(db.t_in("nowhere", "item"));
    assert!(msg.contains(r#""nowhere"."item""#), "{msg}");

    // A search path that includes the schema changes what bare names find, as in SQL.
    db.execute("SET search_path = inventory, public", ())
        .await
        .unwrap();
    db.refresh().await.unwrap();
    assert_eq!(db.t("customer").unwrap().schema(), "inventory");
    assert_eq!(db.t("log").unwrap().schema(), "inventory");
    assert_eq!(
        db.t("public.customer").unwrap().to_string(),
        r#""public"."customer""#
    );
    assert!(db.tables().names().contains(&"public.customer".to_string()));
}

#[tokio::test]
async fn table_refreshes_once_for_an_unknown_name() {
    let db = db().await;
    db.execute(
        "CREATE TABLE made_by_sql (id int PRIMARY KEY); CREATE VIEW v_by_sql AS SELECT 1 AS one",
        (),
    )
    .await
    .unwrap();
    // Raw SQL does not refresh the snapshot: the sync lookup fails, and says what to do.
    let (_, msg) = err_text(db.t("made_by_sql"));
    assert!(msg.contains("db.table(name).await"), "{msg}");
    let refreshes = |before: u64| db.query_count() - before;

    // The async lookup refreshes (one statement) and finds it; after that db.t does too.
    let n = db.query_count();
    let t = db.table("made_by_sql").await.unwrap();
    assert_eq!((t.name(), refreshes(n)), ("made_by_sql", 1));
    assert_eq!(db.t("made_by_sql").unwrap(), t);
    let n = db.query_count();
    db.table("made_by_sql").await.unwrap();
    assert_eq!(refreshes(n), 0, "a known name costs nothing");
    let n = db.query_count();
    assert_eq!(db.view("v_by_sql").await.unwrap().kind(), RelKind::View);
    assert_eq!(refreshes(n), 0, "loaded by the same refresh");

    // Wrong kind and ambiguity are not "unknown": no refresh.
    let n = db.query_count();
    let (_, msg) = err_text(db.table("v_by_sql").await);
    assert!(msg.contains("db.v"), "{msg}");
    assert_eq!(refreshes(n), 0);

    // An unknown name: one refresh, then none for that name within the interval, however
    // often it is asked for; the error keeps its suggestions. Another name gets its own.
    let n = db.query_count();
    let (kind, msg) = err_text(db.table("made_by_sq").await);
    assert_eq!(kind, ErrorKind::UnknownName);
    assert!(msg.contains("did you mean: made_by_sql"), "{msg}");
    assert_eq!(refreshes(n), 1);
    let n = db.query_count();
    for _ in 0..50 {
        let (_, msg) = err_text(db.table("made_by_sq").await);
        assert!(msg.contains("did you mean: made_by_sql"), "{msg}");
    }
    assert_eq!(refreshes(n), 0, "a typo loop does not flood the server");
    let n = db.query_count();
    assert!(db.table("other_typo").await.is_err());
    assert_eq!(refreshes(n), 1);

    // Created meanwhile, the name is found once the interval has passed.
    db.execute("CREATE TABLE made_by_sq (id int)", ())
        .await
        .unwrap();
    let n = db.query_count();
    assert!(db.table("made_by_sq").await.is_err());
    assert_eq!(refreshes(n), 0, "still within the interval");
    tokio::time::sleep(
        fastasyncpg::schema::UNKNOWN_NAME_REFRESH_INTERVAL + Duration::from_millis(50),
    )
    .await;
    let n = db.query_count();
    assert_eq!(db.table("made_by_sq").await.unwrap().name(), "made_by_sq");
    assert_eq!(refreshes(n), 1);

    // Concurrent lookups of a new name share one refresh (clones share the rate limit).
    db.execute("CREATE TABLE made_later (id int)", ())
        .await
        .unwrap();
    let n = db.query_count();
    let found = futures_util::future::join_all((0..8).map(|_| {
        let db = db.clone();
        async move { db.table("made_later").await.map(|t| t.name().to_string()) }
    }))
    .await;
    assert!(
        found
            .iter()
            .all(|r| r.as_deref().ok() == Some("made_later")),
        "{found:?}"
    );
    assert_eq!(refreshes(n), 1);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[fastasyncpg(table = "Item", schema = "Inventory")]
struct UpperItem {
    #[fastasyncpg(primary_key)]
    id: i32,
    label: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[fastasyncpg(table = "Odd Name", schema = "inventory")]
struct OddName {
    #[fastasyncpg(primary_key)]
    id: i32,
    #[fastasyncpg(rename = "Mixed Col")]
    mixed_col: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[fastasyncpg(table = "customer")]
struct Customer {
    #[fastasyncpg(primary_key)]
    id: i32,
    name: String,
}

/// `item` without a schema: `db.t("item")` finds `inventory.item`, but the model's SQL would
/// say `"item"`, which the search path does not find.
#[derive(Model, Debug, Clone, PartialEq)]
#[fastasyncpg(table = "item")]
struct BareItem {
    #[fastasyncpg(primary_key)]
    id: i32,
    sku: String,
}

#[tokio::test]
async fn models_with_schema_resolve_like_db_t() {
    let db = issue_db().await;
    db.check_model::<UpperItem>().unwrap();
    db.check_model::<OddName>().unwrap();
    db.check_model::<Customer>().unwrap();
    let odd: Vec<OddName> = db.model::<OddName>().rows().await.unwrap();
    assert_eq!(odd[0].mixed_col.as_deref(), Some("odd"));
    assert!(db.model::<UpperItem>().rows().await.unwrap().is_empty());
    // Dynamic handle and model meet on the same relation.
    let t = db.t(r#""Inventory"."Item""#).unwrap();
    t.model::<UpperItem>().unwrap();
    let e = db.check_model::<BareItem>().unwrap_err();
    assert!(
        e.to_string().contains(r#"add `schema = "inventory"`"#),
        "{e}"
    );
}

/// The models `src` declares: `(schema, table)` from each `#[fastasyncpg(table = ..)]`.
fn generated_models(src: &str) -> BTreeSet<(String, String)> {
    src.lines()
        .filter_map(|l| l.trim().strip_prefix("#[fastasyncpg(table = "))
        .map(|rest| {
            let parts: Vec<&str> = rest.split('"').collect();
            let schema = if rest.contains("schema = ") {
                parts[3]
            } else {
                "public"
            };
            (schema.to_string(), parts[1].to_string())
        })
        .collect()
}

#[tokio::test]
async fn gen_covers_what_db_t_sees_and_its_models_resolve() {
    let db = issue_db().await;
    // Relations as the snapshot has them (partitions are not generated).
    let expected: BTreeSet<(String, String)> = db
        .schema()
        .relations()
        .iter()
        .filter(|r| !r.is_partition)
        .map(|r| (r.schema.clone(), r.name.clone()))
        .collect();
    let all = GenOptions {
        views: true,
        ..GenOptions::default()
    };
    let src = generate(&db, &all).await.unwrap();
    let models = generated_models(&src);
    assert_eq!(models, expected, "gen (default schemas) = the snapshot");
    // `gen --schema public --schema inventory`, as in the issue: each model's table resolves
    // through the lookup `check_model` uses (a model with no schema is looked up bare).
    let two = GenOptions {
        schemas: vec!["public".into(), "inventory".into()],
        views: true,
    };
    let src = generate(&db, &two).await.unwrap();
    let models = generated_models(&src);
    assert_eq!(models.len(), 8, "{models:?}");
    for (schema, table) in &models {
        let t = if schema == "public" {
            db.relation(table)
        } else {
            db.t_in(schema, table).or_else(|_| db.v_in(schema, table))
        }
        .unwrap_or_else(|e| panic!("{schema}.{table}: {e}"));
        assert_eq!((t.schema(), t.name()), (schema.as_str(), table.as_str()));
    }
    assert!(src.contains("db.check_model::<"), "{src}");
}
