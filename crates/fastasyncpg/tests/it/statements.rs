//! Prepared statements and cursors (the asyncpg half of the seed), on a connection, a pool, a
//! transaction and in the no-named-statements mode.

use std::time::Duration;

use fastasyncpg::{args, ConnectOptions, Database, PoolOptions, StatementCacheMode};
use tokio_postgres::types::Type;

async fn setup(url: &str) {
    let db = fastasyncpg::connect(url).await.unwrap();
    db.execute(
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
         INSERT INTO item SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 100) g",
        (),
    )
    .await
    .unwrap();
}

/// A connection, a pool, a transaction's handle and an unnamed-mode connection on one fresh db.
async fn handles() -> Vec<(&'static str, Database, Option<fastasyncpg::Transaction>)> {
    let url = fastasyncpg_testing::fresh_db().await;
    setup(&url).await;
    let conn = fastasyncpg::connect(&url).await.unwrap();
    let pool = ConnectOptions::parse(&url)
        .unwrap()
        .create_pool(PoolOptions::default().max_size(3))
        .await
        .unwrap();
    let unnamed = ConnectOptions::parse(&url)
        .unwrap()
        .statement_cache_mode(StatementCacheMode::Unnamed)
        .connect()
        .await
        .unwrap();
    let owner = fastasyncpg::connect(&url).await.unwrap();
    let tx = owner.begin().await.unwrap();
    vec![
        ("connection", conn, None),
        ("pool", pool, None),
        ("unnamed", unnamed, None),
        ("transaction", tx.db(), Some(tx)),
    ]
}

#[tokio::test]
async fn prepare_describes_parameters_and_columns_and_runs() {
    for (what, db, _tx) in handles().await {
        let st = db
            .prepare("SELECT id, name, price FROM item WHERE id >= :lo AND name <> ? ORDER BY id LIMIT 3")
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            st.query().contains("$1") && st.query().contains("$2"),
            "{what}"
        );
        let p = st.parameters();
        assert_eq!(p.len(), 2, "{what}");
        assert_eq!(p[0].pg_type, Type::TEXT, "{what}: ? is $1");
        assert_eq!(p[1].name.as_deref(), Some("lo"), "{what}");
        assert_eq!(p[1].pg_type, Type::INT4, "{what}");
        assert_eq!(st.columns().names(), ["id", "name", "price"], "{what}");
        assert_eq!(st.columns().types()[2], Type::NUMERIC, "{what}");

        let rows = st.fetch(args!["nope"; lo = 10]).await.unwrap();
        assert_eq!(rows.len(), 3, "{what}");
        assert_eq!(st.status().as_deref(), Some("SELECT 3"), "{what}");
        let first = st.fetchrow(args!["nope"; lo = 98]).await.unwrap().unwrap();
        assert_eq!(first.get::<i32, _>("id").unwrap(), 98);
        let id: i32 = st.fetchval(args!["nope"; lo = 50]).await.unwrap();
        assert_eq!(id, 50, "{what}");
        // Missing named argument: a clear bind error before anything is sent.
        let e = st.fetch(args!["x"]).await.unwrap_err();
        assert!(e.to_string().contains("lo"), "{what}: {e}");

        let upd = db
            .prepare("UPDATE item SET price = price + $1 WHERE id = $2")
            .await
            .unwrap();
        assert!(upd.columns().is_empty());
        assert_eq!(upd.execute(args![1, 1]).await.unwrap(), 1, "{what}");
        assert_eq!(upd.status().as_deref(), Some("UPDATE 1"));
        assert_eq!(
            upd.executemany(vec![args![1, 2], args![1, 3], args![1, 1000]])
                .await
                .unwrap(),
            2,
            "{what}"
        );
        let mut cur = st.cursor(args!["nope"; lo = 1]).await.unwrap();
        let mut n = 0;
        while let Some(r) = cur.next().await {
            r.unwrap();
            n += 1;
        }
        assert_eq!(n, 3, "{what}");
    }
}

#[tokio::test]
async fn explain_returns_the_json_plan_and_analyze_keeps_nothing() {
    for (what, db, _tx) in handles().await {
        let st = db
            .prepare("INSERT INTO item VALUES ($1, 'new', 1)")
            .await
            .unwrap();
        let plan = st.explain(args![1000], false).await.unwrap();
        assert_eq!(
            plan[0]["Plan"]["Node Type"], "ModifyTable",
            "{what}: {plan}"
        );
        let plan = st.explain(args![1000], true).await.unwrap();
        assert!(plan[0]["Execution Time"].is_number(), "{what}: {plan}");
        let n: i64 = db
            .fetchval("SELECT count(*) FROM item WHERE id = 1000", ())
            .await
            .unwrap();
        assert_eq!(n, 0, "{what}: EXPLAIN ANALYZE kept its insert");
        // The handle still works afterwards (a transaction stays open, its savepoint is gone).
        assert_eq!(db.fetchval::<i32>("SELECT 1", ()).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn a_query_inside_a_cursor_loop_in_a_transaction_does_not_hang() {
    let db = fastasyncpg::connect(&fastasyncpg_testing::fresh_db().await)
        .await
        .unwrap();
    let work = async {
        let tx = db.begin().await.unwrap();
        let mut cur = tx
            .cursor("SELECT g FROM generate_series(1, $1::int) g", args![20_000])
            .await
            .unwrap();
        assert!(cur.is_server_side());
        let (mut seen, mut checks) = (0i64, 0);
        while let Some(r) = cur.next().await {
            let g: i32 = r.unwrap().get(0).unwrap();
            seen += 1;
            assert_eq!(g as i64, seen);
            if seen % 5_000 == 0 {
                let v: i64 = tx
                    .fetchval("SELECT $1::int8 * 2", args![seen])
                    .await
                    .unwrap();
                assert_eq!(v, seen * 2);
                checks += 1;
            }
        }
        tx.commit().await.unwrap();
        (seen, checks)
    };
    let (seen, checks) = tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("a query between cursor batches must not hang");
    assert_eq!((seen, checks), (20_000, 4));
}

#[tokio::test]
async fn cursor_fetch_fetchrow_forward_and_prefetch() {
    for (what, db, tx) in handles().await {
        let in_tx = tx.is_some();
        let mut cur = db
            .cursor("SELECT id FROM item ORDER BY id", ())
            .await
            .unwrap()
            .prefetch(7);
        assert_eq!(cur.is_server_side(), in_tx, "{what}");
        let ids = |rows: Vec<fastasyncpg::Row>| -> Vec<i32> {
            rows.iter().map(|r| r.get(0).unwrap()).collect()
        };
        assert_eq!(ids(cur.fetch(3).await.unwrap()), [1, 2, 3], "{what}");
        assert_eq!(
            cur.fetchrow()
                .await
                .unwrap()
                .unwrap()
                .get::<i32, _>(0)
                .unwrap(),
            4
        );
        assert_eq!(cur.forward(10).await.unwrap(), 10, "{what}");
        // A batch the stream started is taken into account by fetch/forward.
        assert_eq!(
            cur.next().await.unwrap().unwrap().get::<i32, _>(0).unwrap(),
            15
        );
        assert_eq!(ids(cur.fetch(2).await.unwrap()), [16, 17], "{what}");
        assert_eq!(
            cur.forward(1000)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}")),
            83,
            "{what}"
        );
        assert!(cur.fetch(5).await.unwrap().is_empty(), "{what}");
        assert!(cur.next().await.is_none(), "{what}");
    }
}

/// Memory is per process: the measurement runs alone in a child process (this test binary,
/// filtered to [`cursor_memory_child`]).
#[tokio::test]
async fn a_large_server_side_cursor_stays_in_bounded_memory() {
    let url = fastasyncpg_testing::fresh_db().await;
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "statements::cursor_memory_child", "--nocapture"])
        .env("FASTASYNCPG_CURSOR_CHILD_URL", url)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("cursor rows: 300000"), "{text}");
}

/// Child half of [`a_large_server_side_cursor_stays_in_bounded_memory`]; does nothing in a
/// normal run.
#[tokio::test]
async fn cursor_memory_child() {
    let Ok(url) = std::env::var("FASTASYNCPG_CURSOR_CHILD_URL") else {
        return;
    };
    let db = fastasyncpg::connect(&url).await.unwrap();
    let rss = || -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let tx = db.begin().await.unwrap();
    // 300,000 rows of 200 bytes: ~60 MB if they were all held.
    let mut cur = tx
        .cursor(
            "SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 300000) g",
            (),
        )
        .await
        .unwrap()
        .prefetch(2_000);
    let before = rss();
    let (mut n, mut peak) = (0u64, 0u64);
    while let Some(r) = cur.next().await {
        r.unwrap();
        n += 1;
        if n % 10_000 == 0 {
            peak = peak.max(rss().saturating_sub(before));
        }
    }
    assert!(peak < 20_000, "RSS grew by {peak} kB while iterating");
    println!("cursor rows: {n}, peak RSS growth {peak} kB");
    tx.commit().await.unwrap();
}
