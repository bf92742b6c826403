//! Connections, pools, statement cache, queries, transactions, cursors, timeouts, errors.

use std::time::Duration;

use fastasyncpg::{args, ConnectOptions, ErrorKind, PoolOptions, StatementCacheMode, Value};

use crate::common::db;

#[tokio::test]
async fn fetch_family_and_placeholders() {
    let db = db().await;
    db.execute(
        "CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL, age INTEGER)",
        (),
    )
    .await
    .unwrap();
    assert_eq!(
        db.execute(
            "INSERT INTO users (name, age) VALUES ($1, $2)",
            args!["Alice", 30]
        )
        .await
        .unwrap(),
        1
    );
    db.execute(
        "INSERT INTO users (name, age) VALUES (?, ?)",
        args!["Bob", 40],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO users (name, age) VALUES (:n, :a)",
        args![; n = "Carol", a = 50],
    )
    .await
    .unwrap();
    let rows = db
        .fetch("SELECT * FROM users ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].get::<String, _>("name").unwrap(), "Alice");
    let row = db
        .fetchrow("SELECT * FROM users WHERE name = $1", args!["Bob"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i64, _>("age").unwrap(), 40);
    assert!(db
        .fetchrow("SELECT * FROM users WHERE name = $1", args!["Zed"])
        .await
        .unwrap()
        .is_none());
    let n: i64 = db.fetchval("SELECT count(*) FROM users", ()).await.unwrap();
    assert_eq!(n, 3);
    let name: String = db
        .item("SELECT name FROM users WHERE age > ?", args![45])
        .await
        .unwrap();
    assert_eq!(name, "Carol");
    let e = db
        .item::<String>("SELECT name FROM users", ())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotUnique);
    let e = db
        .qone("SELECT name FROM users WHERE age > 100", ())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let res = db
        .q("SELECT id, name FROM users ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(res.len(), 3);
    assert_eq!(
        res.columns().names(),
        &["id".to_string(), "name".to_string()]
    );
}

#[tokio::test]
async fn execute_runs_several_statements_without_args() {
    let db = db().await;
    db.execute(
        "CREATE TABLE mytab (a int); INSERT INTO mytab (a) VALUES (100), (200), (300)",
        (),
    )
    .await
    .unwrap();
    let n: i64 = db.fetchval("SELECT sum(a) FROM mytab", ()).await.unwrap();
    assert_eq!(n, 600);
}

#[tokio::test]
async fn executemany_is_atomic() {
    let db = db().await;
    db.execute("CREATE TABLE t (a int PRIMARY KEY, b int)", ())
        .await
        .unwrap();
    let n = db
        .executemany(
            "INSERT INTO t VALUES ($1, $2)",
            (0..500).map(|i| args![i, i * 2]),
        )
        .await
        .unwrap();
    assert_eq!(n, 500);
    // The duplicate key in the middle makes the whole batch fail: nothing of it is kept.
    let e = db
        .executemany(
            "INSERT INTO t VALUES ($1, $2)",
            vec![args![1000, 1], args![1, 1], args![1001, 1]],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    let n: i64 = db.fetchval("SELECT count(*) FROM t", ()).await.unwrap();
    assert_eq!(n, 500);
}

#[tokio::test]
async fn server_error_display_has_sqlstate_detail_and_position() {
    let db = db().await;
    db.execute("CREATE TABLE u (id int PRIMARY KEY)", ())
        .await
        .unwrap();
    db.execute("INSERT INTO u VALUES (1)", ()).await.unwrap();
    let e = db
        .execute("INSERT INTO u VALUES ($1)", args![1])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    let s = e.to_string();
    assert!(
        s.contains("duplicate key value violates unique constraint"),
        "{s}"
    );
    assert!(
        s.contains("23505") && s.contains("DETAIL: Key (id)=(1) already exists."),
        "{s}"
    );
    assert!(s.contains("CONSTRAINT: u_pkey"), "{s}");
    let e = db.fetch("SELECT nonsense FROM u", ()).await.unwrap_err();
    assert!(e.to_string().contains("POSITION: 8"), "{e}");
    assert_eq!(e.code().map(|c| c.code()), Some("42703"));
}

#[tokio::test]
async fn wrong_argument_count_is_a_bind_error_before_sending() {
    let db = db().await;
    let e = db
        .fetch("SELECT $1::int + $2::int", args![1])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Bind);
    assert!(
        e.to_string().contains("$2") && e.to_string().contains("1 positional argument"),
        "{e}"
    );
    // Without placeholder conversion the statement's own parameter list is checked.
    db.execute("CREATE TABLE t (a int, b int)", ())
        .await
        .unwrap();
    let e = db
        .execute("INSERT INTO t VALUES ($1, $2)", args![1])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Bind);
    assert!(e.to_string().contains("2 parameters but 1 argument"), "{e}");
}

#[tokio::test]
async fn transactions_commit_rollback_nest_and_drop() {
    let db = db().await;
    db.execute("CREATE TABLE t (a int)", ()).await.unwrap();
    let tx = db.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES ($1)", args![1])
        .await
        .unwrap();
    {
        let inner = tx.begin().await.unwrap();
        inner
            .execute("INSERT INTO t VALUES ($1)", args![2])
            .await
            .unwrap();
        inner.rollback().await.unwrap();
    }
    {
        let inner = tx.begin().await.unwrap();
        inner
            .execute("INSERT INTO t VALUES ($1)", args![3])
            .await
            .unwrap();
        // dropped: rolled back to its savepoint
    }
    tx.execute("INSERT INTO t VALUES ($1)", args![4])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let v: Vec<i64> = db
        .fetch("SELECT a FROM t ORDER BY a", ())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(v, vec![1, 4]);
    let n: i64 = db.fetchval("SELECT count(*) FROM t", ()).await.unwrap();
    assert_eq!(n, 2);

    // Closure form: Err rolls back.
    let r: Result<(), fastasyncpg::Error> = db
        .transaction(|tx| async move {
            tx.execute("INSERT INTO t VALUES ($1)", args![5]).await?;
            tx.execute("INSERT INTO nope VALUES (1)", ()).await?;
            Ok(())
        })
        .await;
    assert!(r.is_err());
    let n: i64 = db.fetchval("SELECT count(*) FROM t", ()).await.unwrap();
    assert_eq!(n, 2);
    // A finished transaction's handle refuses further use.
    let tx = db.begin().await.unwrap();
    let handle = tx.db();
    tx.commit().await.unwrap();
    assert_eq!(
        handle
            .execute("SELECT 1", args![])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Usage
    );
}

#[tokio::test]
async fn pool_serves_many_more_tasks_than_connections() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = ConnectOptions::parse(&url)
        .unwrap()
        .create_pool(PoolOptions::default().min_size(2).max_size(4))
        .await
        .unwrap();
    pool.execute("CREATE TABLE hits (task int)", ())
        .await
        .unwrap();
    let mut handles = Vec::new();
    for i in 0..64 {
        let pool = pool.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..5 {
                pool.execute("INSERT INTO hits VALUES ($1)", args![i])
                    .await
                    .unwrap();
            }
            let _: i64 = pool
                .fetchval("SELECT count(*) FROM hits", ())
                .await
                .unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let n: i64 = pool
        .fetchval("SELECT count(*) FROM hits", ())
        .await
        .unwrap();
    assert_eq!(n, 320);
    let (size, _) = pool.pool_status();
    assert!(size <= 4, "pool grew to {size}");
    let backends: i64 = pool
        .fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()",
            (),
        )
        .await
        .unwrap();
    assert!(backends <= 4, "{backends} server connections");
}

#[tokio::test]
async fn cancelled_transactions_never_return_to_the_pool_open() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = ConnectOptions::parse(&url)
        .unwrap()
        .create_pool(PoolOptions::default().max_size(3))
        .await
        .unwrap();
    pool.execute("CREATE TABLE t (a int)", ()).await.unwrap();
    let mut handles = Vec::new();
    for i in 0..40u64 {
        let pool = pool.clone();
        let h = tokio::spawn(async move {
            let _ = pool
                .transaction(|tx| async move {
                    tx.execute("INSERT INTO t VALUES ($1)", args![i as i32])
                        .await?;
                    tx.execute("SELECT pg_sleep(0.01)", args![]).await?;
                    tx.execute("INSERT INTO t VALUES ($1)", args![i as i32])
                        .await?;
                    Ok::<_, fastasyncpg::Error>(())
                })
                .await;
        });
        // Cancel at pseudo-random points.
        let pause = Duration::from_micros((i * 7919) % 25_000);
        handles.push(tokio::spawn(async move {
            tokio::time::sleep(pause).await;
            h.abort();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Every committed transaction inserted exactly two rows: no half transactions.
    let odd: i64 = pool
        .fetchval(
            "SELECT count(*) FROM (SELECT a FROM t GROUP BY a HAVING count(*) <> 2) x",
            (),
        )
        .await
        .unwrap();
    assert_eq!(odd, 0);
    // No connection handed out is inside a transaction.
    for _ in 0..10 {
        let c = pool.acquire().await.unwrap();
        // SAVEPOINT is only allowed inside a transaction block: it must fail here.
        let e = c
            .execute("SAVEPOINT probe", ())
            .await
            .expect_err("a pooled connection was still inside a transaction");
        assert!(
            e.to_string()
                .contains("can only be used in transaction blocks"),
            "{e}"
        );
    }
    let idle_in_tx: i64 = pool
        .fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            (),
        )
        .await
        .unwrap();
    assert_eq!(idle_in_tx, 0);
}

#[tokio::test]
async fn statement_cache_is_bounded_lru() {
    let url = fastasyncpg_testing::fresh_db().await;
    let db = ConnectOptions::parse(&url)
        .unwrap()
        .statement_cache_size(3)
        .connect()
        .await
        .unwrap();
    for i in 0..10 {
        let _: i64 = db
            .fetchval(&format!("SELECT {i}::int8 + $1::int8"), args![1i64])
            .await
            .unwrap();
    }
    assert_eq!(db.cached_statements(), 3);
    let server: i64 = db
        .fetchval("SELECT count(*) FROM pg_prepared_statements", ())
        .await
        .unwrap();
    // Evicted statements are closed on the server (the count includes this query's own statement).
    assert!(server <= 4, "{server} statements prepared on the server");
    // Size 0 disables caching.
    let db = ConnectOptions::parse(&url)
        .unwrap()
        .statement_cache_size(0)
        .connect()
        .await
        .unwrap();
    for _ in 0..3 {
        let _: i64 = db.fetchval("SELECT $1::int8", args![1i64]).await.unwrap();
    }
    assert_eq!(db.cached_statements(), 0);
}

#[tokio::test]
async fn unnamed_mode_prepares_no_named_statements() {
    let url = fastasyncpg_testing::fresh_db().await;
    let db = ConnectOptions::parse(&url)
        .unwrap()
        .statement_cache_mode(StatementCacheMode::Unnamed)
        .connect()
        .await
        .unwrap();
    db.execute(
        "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t (id int, m mood, x numeric)",
        (),
    )
    .await
    .unwrap();
    let n = db
        .execute("INSERT INTO t VALUES ($1, $2, $3)", args![1, "happy", 2])
        .await
        .unwrap();
    assert_eq!(n, 1, "rows affected in unnamed mode");
    let row = db
        .fetchrow("SELECT id, m::text, x FROM t WHERE m = ?", args!["happy"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i64, _>("id").unwrap(), 1);
    let named: i64 = db
        .fetchval("SELECT count(*) FROM pg_prepared_statements", ())
        .await
        .unwrap();
    assert_eq!(named, 0);
    let mut s = db
        .cursor("SELECT g FROM generate_series(1, $1::int) g", args![5])
        .await
        .unwrap();
    let mut n = 0;
    while let Some(r) = s.next().await {
        r.unwrap();
        n += 1;
    }
    assert_eq!(n, 5);
}

#[tokio::test]
async fn cursor_streams_rows_from_pool_and_connection() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = fastasyncpg::create_pool(&url).await.unwrap();
    let mut s = pool
        .cursor("SELECT g FROM generate_series(1, 10000) g", ())
        .await
        .unwrap();
    let mut sum = 0i64;
    while let Some(r) = s.next().await {
        sum += r.unwrap().get::<i64, _>(0).unwrap();
    }
    assert_eq!(sum, 10000 * 10001 / 2);
}

#[tokio::test]
async fn query_timeout_cancels_on_server() {
    let db = db().await;
    let slow = db.with_timeout(Some(Duration::from_millis(200)));
    let t0 = std::time::Instant::now();
    let e = slow
        .execute("SELECT pg_sleep(5)", args![])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(t0.elapsed() < Duration::from_secs(3));
    // The connection is usable afterwards, and the server is not still sleeping.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n: i64 = db
        .fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%'",
            (),
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A query whose future is dropped (a cancelled task, `select!`, a Python `asyncio`
/// cancellation through the bindings) is cancelled on the server too, on a single connection and
/// on a pool, and both stay usable.
#[tokio::test]
async fn dropped_query_is_cancelled_on_server() {
    let url = fastasyncpg_testing::fresh_db().await;
    let single = fastasyncpg::connect(&url).await.unwrap();
    let pool = fastasyncpg::create_pool(&url).await.unwrap();
    let monitor = fastasyncpg::connect(&url).await.unwrap();
    for (db, sql) in [
        (&single, "SELECT pg_sleep(31)"),
        (&pool, "SELECT pg_sleep(32)"),
    ] {
        let dropped =
            tokio::time::timeout(Duration::from_millis(300), db.fetchval::<Value>(sql, ())).await;
        assert!(dropped.is_err(), "{sql} finished early");
        let pattern = format!("{sql}%");
        let mut n = 1;
        for _ in 0..50 {
            n = monitor
                .fetchval::<i64>(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active'",
                    args![pattern.as_str()],
                )
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(n, 0, "{sql} is still running on the server");
        let one: i32 = db.fetchval("SELECT 1", ()).await.unwrap();
        assert_eq!(one, 1);
    }
}

#[tokio::test]
async fn listen_notify() {
    let url = fastasyncpg_testing::fresh_db().await;
    let listener = fastasyncpg::connect(&url).await.unwrap();
    let mut rx = listener.listen("events").await.unwrap();
    let sender = fastasyncpg::connect(&url).await.unwrap();
    sender.notify("events", "hello").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n.channel.as_str(), n.payload.as_str()),
        ("events", "hello")
    );
}

#[tokio::test]
async fn display_is_url_without_password() {
    let db = db().await;
    let s = db.to_string();
    assert!(s.starts_with("postgresql://"), "{s}");
    let o = ConnectOptions::parse("postgresql://bob:hunter2@localhost:5432/x").unwrap();
    assert!(!o.to_string().contains("hunter2"));
}

#[tokio::test]
async fn execute_without_args_reports_rows_affected() {
    let db = db().await;
    assert_eq!(db.execute("CREATE TABLE t (a int)", ()).await.unwrap(), 0);
    assert_eq!(
        db.execute(
            "INSERT INTO t VALUES (1), (2); INSERT INTO t VALUES (3)",
            ()
        )
        .await
        .unwrap(),
        3
    );
    assert_eq!(db.execute("UPDATE t SET a = a + 1", ()).await.unwrap(), 3);
}

#[tokio::test]
async fn cached_statement_survives_ddl() {
    let db = db().await;
    db.execute("CREATE TABLE t (a int); INSERT INTO t VALUES (1)", ())
        .await
        .unwrap();
    let r = db
        .fetchrow("SELECT * FROM t WHERE a = $1", args![1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.len(), 1);
    db.execute("ALTER TABLE t ADD COLUMN b text", ())
        .await
        .unwrap();
    // Same SQL text: the cached statement's result shape is stale; it is prepared again.
    let r = db
        .fetchrow("SELECT * FROM t WHERE a = $1", args![1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.len(), 2);
}

#[tokio::test]
async fn sslmode_require_fails_clearly_without_tls() {
    // Over TCP, a server without TLS cannot satisfy sslmode=require: the error says so and
    // names the host.
    let server = fastasyncpg_testing::TestServer::global().unwrap();
    let url = server.tcp_url("postgres");
    let e = fastasyncpg::connect(&format!("{url}?sslmode=require"))
        .await
        .unwrap_err();
    let s = e.to_string();
    assert_eq!(e.kind(), fastasyncpg::ErrorKind::Tls, "{s}");
    assert!(
        s.contains("cannot connect")
            && s.contains("does not support TLS")
            && s.contains(&format!("127.0.0.1:{}", server.port())),
        "{s}"
    );
    // libpq ignores sslmode on unix sockets, and so do we.
    let url = fastasyncpg_testing::fresh_db().await;
    let db = fastasyncpg::connect(&format!("{url}&sslmode=require"))
        .await
        .unwrap();
    assert_eq!(db.fetchval::<i32>("SELECT 1", ()).await.unwrap(), 1);
}
