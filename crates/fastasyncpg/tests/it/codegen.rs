//! `fastasyncpg gen` proven in the normal suite: the committed modules in `generated/` are what
//! the generator writes today (golden tests), they compile (they are modules of this binary),
//! and they read every row of every table and view of the database they came from.
//!
//! After an intended change to the generator, regenerate them with
//! `FASTASYNCPG_BLESS=1 cargo test -p fastasyncpg-cli gen` (the CLI's tests do not compile the
//! fixtures, so this works even when the old ones no longer compile).

use std::path::PathBuf;

use fastasyncpg::codegen::{generate, GenOptions};
use fastasyncpg::{Database, Model};

use crate::common;
use crate::generated::{chinook, rich};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/generated")
        .join(format!("{name}.rs"))
}

/// Compares `src` with the committed fixture.
fn golden(name: &str, src: &str) {
    let path = fixture(name);
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old == src {
        return;
    }
    let (o, n): (Vec<&str>, Vec<&str>) = (old.lines().collect(), src.lines().collect());
    let first = o
        .iter()
        .zip(&n)
        .position(|(a, b)| a != b)
        .unwrap_or(o.len().min(n.len()));
    panic!(
        "generated code for {name} differs from {} at line {}:\n  committed: {:?}\n  generated: {:?}\n\
         If the change is intended, regenerate with:\n  FASTASYNCPG_BLESS=1 cargo test -p fastasyncpg-cli gen",
        path.display(),
        first + 1,
        o.get(first).unwrap_or(&"<end of file>"),
        n.get(first).unwrap_or(&"<end of file>"),
    );
}

async fn rich_db() -> Database {
    let db = common::db().await;
    db.execute(include_str!("sql/rich_schema.sql"), ())
        .await
        .expect("load rich schema");
    db
}

#[tokio::test]
async fn chinook_golden() {
    let db = common::chinook().await;
    let src = generate(
        &db,
        &GenOptions {
            views: true,
            ..GenOptions::default()
        },
    )
    .await
    .unwrap();
    golden("chinook", &src);
}

#[tokio::test]
async fn rich_golden() {
    let db = rich_db().await;
    let opts = GenOptions {
        schemas: vec!["public".into(), "other schema".into()],
        views: true,
    };
    let src = generate(&db, &opts).await.unwrap();
    golden("rich", &src);
}

/// The relations the generator covers (what `all_models!` must list).
async fn relation_names(db: &Database, schemas: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = db
        .fetch(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = ANY(?) AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition",
            [schemas.iter().map(|s| s.to_string()).collect::<Vec<_>>()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    names.sort();
    names
}

fn qualified<M: Model>() -> String {
    format!("{}.{}", M::SCHEMA.unwrap_or("public"), M::TABLE)
}

/// Reads every row of `M`'s table through the model; returns the table's name and checks the
/// count against `count(*)`.
async fn load_all<M: Model>(db: &Database) -> (String, Vec<M>) {
    let rows = db
        .model::<M>()
        .rows()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", qualified::<M>()));
    let n: i64 = db
        .fetchval(
            &format!("SELECT count(*) FROM {}", M::qualified_table()),
            (),
        )
        .await
        .unwrap();
    assert_eq!(rows.len() as i64, n, "{}", qualified::<M>());
    (qualified::<M>(), rows)
}

/// Writes every row back (a plain-model update sends every non-key column), reads it again
/// and checks that nothing changed: every column type round-trips through its Rust type.
async fn write_back<M: Model + PartialEq + std::fmt::Debug>(db: &Database, rows: Vec<M>) {
    let t = db.model::<M>();
    for mut m in rows {
        let before = format!("{m:?}");
        t.update(&mut m)
            .await
            .unwrap_or_else(|e| panic!("{}: update {before}: {e}", qualified::<M>()));
        let again = t.at(m.key()).await.unwrap();
        // Debug, not ==, so that NaN compares equal to itself.
        assert_eq!(format!("{again:?}"), before, "{}", qualified::<M>());
    }
}

macro_rules! load_models {
    ($db:expr, $seen:expr; $($m:ty),* $(,)?) => {{
        $( let (name, _) = load_all::<$m>($db).await; $seen.push(name); )*
    }};
}

macro_rules! roundtrip_models {
    ($db:expr, $seen:expr; $($m:ty),* $(,)?) => {{
        $(
            let (name, rows) = load_all::<$m>($db).await;
            $seen.push(name);
            write_back::<$m>($db, rows).await;
        )*
    }};
}

#[tokio::test]
async fn chinook_every_row() {
    use chinook::*;
    let db = common::chinook().await;
    let mut seen = Vec::new();
    roundtrip_models!(&db, seen; Album, Artist, Customer, Employee, Genre, Invoice, InvoiceLine,
        MediaType, Playlist, PlaylistTrack, Track);
    seen.sort();
    assert_eq!(
        seen,
        relation_names(&db, &["public"]).await,
        "every table has a model"
    );
}

#[tokio::test]
async fn rich_every_row() {
    use rich::*;
    let db = rich_db().await;
    let mut seen = Vec::new();
    roundtrip_models!(&db, seen; AllTypes, Containers, MixedCase, Type, Measurement,
        OtherSchemaContainers);
    load_models!(&db, seen; LogLine, HappyContainers, MeasurementStats);
    // A module of two schemas checks against the default snapshot (issue 10), and against
    // the list it was generated from.
    db.refresh().await.unwrap();
    rich::check_all(&db).unwrap();
    db.refresh_with_schemas(&["public", "other schema"])
        .await
        .unwrap();
    rich::check_all(&db).unwrap();
    seen.sort();
    assert_eq!(
        seen,
        relation_names(&db, &["public", "other schema"]).await,
        "every relation has a model"
    );

    // Spot checks of the values themselves.
    let all = db.model::<AllTypes>().at(1).await.unwrap();
    assert_eq!(all.c_int8, Some(i64::MIN));
    assert_eq!(
        all.c_numeric.as_ref().unwrap().to_string(),
        "12345678901234567890.123456789"
    );
    assert_eq!(all.c_text.as_deref(), Some("héllo \"world\""));
    let empty = db.model::<AllTypes>().at(2).await.unwrap();
    assert_eq!(empty.c_bool, None);
    let c = db.model::<Containers>().at(1).await.unwrap();
    assert_eq!(c.ints, Some(vec![Some(1), None, Some(3)]));
    assert_eq!(
        c.grid,
        Some(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(3), None])
        ])
    );
    assert_eq!(c.moods, Some(vec![Some(Mood::Sad), Some(Mood::VeryHappy)]));
    assert_eq!(c.feeling, Mood::VeryHappy);
    assert_eq!(c.level, Some(Level::High));
    assert_eq!(c.home.as_ref().and_then(|h| h.zip), Some(12345));
    assert_eq!(c.item.as_ref().and_then(|i| i.feel), Some(Mood::Ok));
    // Extreme values (issue 10): infinities, years beyond chrono's range, 24:00:00, the
    // largest money and LSN, MAC addresses, multiranges, an extension's type.
    use fastasyncpg::value::{Date, MacAddr, Time, Timestamp, TimestampTz, Value};
    let max = db.model::<AllTypes>().at(4).await.unwrap();
    assert_eq!(max.c_date, Some(Date::INFINITY));
    assert_eq!(max.c_timestamp, Some(Timestamp::INFINITY));
    assert_eq!(max.c_timestamptz, Some(TimestampTz::INFINITY));
    assert_eq!(max.c_money, Some(i64::MAX));
    assert_eq!(max.c_pg_lsn, Some(u64::MAX));
    assert_eq!(max.c_macaddr, Some(MacAddr([0xff; 6])));
    assert_eq!(max.c_float8, Some(f64::INFINITY));
    assert!(max.c_numeric.as_ref().is_some_and(|n| n.is_infinite()));
    assert_eq!(max.c_char.as_deref(), Some("🎉  "));
    let min = db.model::<AllTypes>().at(5).await.unwrap();
    assert_eq!(min.c_date, Some(Date::NEG_INFINITY));
    assert_eq!(min.c_money, Some(i64::MIN));
    let far = db.model::<AllTypes>().at(6).await.unwrap();
    assert_eq!(
        far.c_date.map(|d| d.to_string()).as_deref(),
        Some("5874897-12-31")
    );
    assert_eq!(far.c_date.and_then(|d| d.to_naive()), None, "beyond chrono");
    assert_eq!(far.c_time, Time::from_hms_micro(24, 0, 0, 0));
    let bc = db.model::<AllTypes>().at(7).await.unwrap();
    assert_eq!(
        bc.c_timestamp.map(|t| t.to_string()).as_deref(),
        Some("4713-01-01 00:00:00 BC")
    );
    let c4 = db.model::<Containers>().at(4).await.unwrap();
    assert_eq!(c4.int_multi.as_ref().map(Vec::len), Some(3));
    assert_eq!(
        c4.levels,
        Some(vec![Some(Level::V1st), None, Some(Level::High)])
    );
    assert_eq!(c4.small_list, Some(vec![None, Some(-1), Some(i32::MAX)]));
    assert_eq!(
        c4.dates.as_ref().map(|d| d[..2].to_vec()),
        Some(vec![Some(Date::INFINITY), Some(Date::NEG_INFINITY)])
    );
    assert!(
        matches!(&c4.extra, Some(Value::Unknown { type_name, .. }) if type_name == "hstore"),
        "{:?}",
        c4.extra
    );
    let c3 = db.model::<Containers>().at(3).await.unwrap();
    assert_eq!(c3.int_multi, Some(vec![]));
    let m = db
        .model::<MixedCase>()
        .at((1, "b".to_string()))
        .await
        .unwrap();
    assert_eq!((m.select, m.order), (2, Some(4)));

    // A model without a primary key reads, but cannot be looked up or updated by key.
    let err = db.model::<LogLine>().get(()).await.unwrap_err();
    assert_eq!(err.kind(), fastasyncpg::ErrorKind::Usage);
    assert!(err.to_string().contains("no primary key"), "{err}");

    // Insert through generated models: generated and defaulted columns come back.
    let mut t = Type {
        id: 0,
        r#where: None,
        created: chrono_now().into(),
        r#fn: Some(1),
    };
    db.model::<Type>().insert(&mut t).await.unwrap();
    assert_eq!((t.id, t.r#where.as_deref()), (3, Some("here")));
    let mut row = all.clone();
    row.c_text = Some("copy".into());
    db.model::<AllTypes>().insert(&mut row).await.unwrap();
    assert_eq!(row.id, 8);
    let mut back = db.model::<AllTypes>().at(8).await.unwrap();
    back.id = all.id;
    back.c_text = all.c_text.clone();
    assert_eq!(format!("{back:?}"), format!("{all:?}"));
}

fn chrono_now() -> fastasyncpg::types::chrono::DateTime<fastasyncpg::types::chrono::Utc> {
    fastasyncpg::types::chrono::Utc::now()
}

/// Generated models linked to dynamic handles (the seed's `link_dcs` / `set_classes`).
#[tokio::test]
async fn generated_models_on_dynamic_handles() {
    use chinook::{Album, Track};
    let db = common::chinook().await;
    db.refresh().await.unwrap();
    let track = db.t("track").unwrap();
    let t1: Track = track.at_as(1).await.unwrap();
    assert_eq!(t1.name, "For Those About To Rock (We Salute You)");
    assert!(track.get_as::<Track>(999_999).await.unwrap().is_none());
    let some: Vec<Track> = track
        .rows_where("album_id = ?", [1])
        .order_by("track_id DESC")
        .limit(3)
        .fetch_as()
        .await
        .unwrap();
    assert_eq!(some.len(), 3);
    assert_eq!(some[0].track_id, 14);
    assert_eq!(
        db.t("album")
            .unwrap()
            .rows_as::<Album>()
            .await
            .unwrap()
            .len(),
        347
    );

    // A scoped dynamic handle becomes a scoped typed handle.
    let acdc = db
        .t("album")
        .unwrap()
        .xtra(fastasyncpg::Record::new().with("artist_id", 1))
        .unwrap();
    let albums = acdc.model::<Album>().unwrap();
    assert_eq!(albums.count().await.unwrap(), 2);
    assert!(
        albums.get(3).await.unwrap().is_none(),
        "album 3 is not AC/DC's"
    );

    // Wrong table, or a model out of step with the schema, is reported.
    let err = db.t("artist").unwrap().model::<Album>().unwrap_err();
    assert!(err.to_string().contains("is for table"), "{err}");
    db.check_model::<Track>().unwrap();
    chinook::check_all(&db).unwrap();
    db.execute("ALTER TABLE track RENAME COLUMN composer TO author", ())
        .await
        .unwrap();
    db.refresh().await.unwrap();
    let err = db.check_model::<Track>().unwrap_err();
    assert!(err.to_string().contains("no column \"composer\""), "{err}");
}
