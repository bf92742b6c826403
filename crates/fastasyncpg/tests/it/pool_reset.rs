//! Session reset of pooled connections: roles, settings, temp tables, advisory locks and
//! listeners of one pool user never reach the next one; clean workloads pay no reset.

use std::future::Future;
use std::time::Duration;

use fastasyncpg::{
    args, record, ConnectOptions, Database, PoolOptions, ResetPolicy, StatementCacheMode,
};

/// Every database call of these tests is bounded.
async fn t<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("call timed out")
}

async fn pool(url: &str, opts: PoolOptions) -> Database {
    t(ConnectOptions::parse(url).unwrap().create_pool(opts))
        .await
        .unwrap()
}

/// Waits (bounded) until `db.pool_resets()` reaches `n`: resets run when a connection is given
/// back, on their own task.
async fn wait_resets(db: &Database, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while db.pool_resets() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} resets after 20 s",
            db.pool_resets()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn one() -> PoolOptions {
    PoolOptions::default().min_size(1).max_size(1)
}

#[tokio::test]
async fn next_user_sees_none_of_the_previous_session() {
    let url = fastasyncpg_testing::fresh_db().await;
    let admin = t(fastasyncpg::connect(&url)).await.unwrap();
    let dbname: String = t(admin.fetchval("SELECT current_database()", ()))
        .await
        .unwrap();
    let me: String = t(admin.fetchval("SELECT current_user::text", ()))
        .await
        .unwrap();
    // Roles are cluster-wide: name it after this test's database.
    let role = format!("tenant_{dbname}");
    t(admin.execute(&format!("CREATE ROLE \"{role}\""), ()))
        .await
        .unwrap();
    t(admin.execute("CREATE TABLE items (id int PRIMARY KEY, name text)", ()))
        .await
        .unwrap();
    let pool = pool(&url, one()).await;

    let a = t(pool.acquire()).await.unwrap();
    let pid_a: i32 = t(a.fetchval("SELECT pg_backend_pid()", ())).await.unwrap();
    let n: i64 = t(a.fetchval("SELECT count(*) FROM items WHERE id = $1", args![1]))
        .await
        .unwrap();
    assert_eq!(n, 0);
    t(a.execute(&format!("SET ROLE \"{role}\""), ()))
        .await
        .unwrap();
    t(a.execute("SET search_path TO pg_catalog", ()))
        .await
        .unwrap();
    let _: String = t(a.fetchval("SELECT set_config('app.tenant', 'a', false)", ()))
        .await
        .unwrap();
    t(a.execute("CREATE TEMP TABLE scratch (x int)", ()))
        .await
        .unwrap();
    t(a.execute("SELECT pg_advisory_lock(42)", ()))
        .await
        .unwrap();
    let mut old_rx = t(a.listen("tenant_events")).await.unwrap();
    let who: String = t(a.fetchval("SELECT current_user::text", ()))
        .await
        .unwrap();
    assert_eq!(who, role);
    drop(a);

    let b = t(pool.acquire()).await.unwrap();
    let pid_b: i32 = t(b.fetchval("SELECT pg_backend_pid()", ())).await.unwrap();
    assert_eq!(pid_a, pid_b, "the connection was replaced instead of reset");
    let who: String = t(b.fetchval("SELECT current_user::text", ()))
        .await
        .unwrap();
    assert_eq!(who, me);
    let path: String = t(b.fetchval("SHOW search_path", ())).await.unwrap();
    assert_eq!(path, "\"$user\", public");
    let tenant: Option<String> = t(b.fetchval("SELECT current_setting('app.tenant', true)", ()))
        .await
        .unwrap();
    assert!(tenant.as_deref().unwrap_or("").is_empty(), "{tenant:?}");
    let temps: i64 = t(b.fetchval(
        "SELECT count(*) FROM pg_class WHERE relname = 'scratch' AND relpersistence = 't'",
        (),
    ))
    .await
    .unwrap();
    assert_eq!(temps, 0, "the temp table survived");
    let channels: i64 = t(b.fetchval("SELECT count(*) FROM pg_listening_channels()", ()))
        .await
        .unwrap();
    assert_eq!(channels, 0);
    // The statement cache is kept: the statement prepared by user A still exists.
    let kept: i64 = t(b.fetchval(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT count(*) FROM items WHERE id = $1'",
        (),
    ))
    .await
    .unwrap();
    assert_eq!(kept, 1, "the reset threw the statement cache away");
    // The lock is free, seen from another session.
    let got: bool = t(admin.fetchval("SELECT pg_try_advisory_lock(42)", ()))
        .await
        .unwrap();
    assert!(got, "advisory lock 42 is still held");
    let _: bool = t(admin.fetchval("SELECT pg_advisory_unlock(42)", ()))
        .await
        .unwrap();
    // The old receiver ends: no notification of the old LISTEN reaches anyone.
    assert!(t(old_rx.recv()).await.is_none());
    assert_eq!(pool.pool_resets(), 1);
    drop(b);
    drop(pool);
    t(admin.execute(&format!("DROP ROLE \"{role}\""), ()))
        .await
        .unwrap();
}

#[tokio::test]
async fn clean_workload_does_not_reset() {
    let url = fastasyncpg_testing::fresh_db().await;
    // DDL is not clean: create the table from another connection.
    let admin = t(fastasyncpg::connect(&url)).await.unwrap();
    t(admin.execute(
        "CREATE TABLE items (id int PRIMARY KEY, name text, role text, temp int)",
        (),
    ))
    .await
    .unwrap();
    let pool = pool(&url, PoolOptions::default().min_size(1).max_size(2)).await;
    let items = pool.t("items").unwrap();
    for i in 0..5 {
        t(items.insert(record! { id: i, name: "x", role: "admin", temp: 20 }))
            .await
            .unwrap();
    }
    for i in 0..5 {
        assert!(t(items.get(i)).await.unwrap().is_some());
    }
    let n = t(items.rows_where("id > $1", args![1]).fetch())
        .await
        .unwrap()
        .len();
    assert_eq!(n, 3);
    let rows = t(pool.fetch("SELECT id, name FROM items WHERE id < $1", args![3]))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let held = t(pool.acquire()).await.unwrap();
    let _: i64 = t(held.fetchval("SELECT count(*) FROM items", ()))
        .await
        .unwrap();
    drop(held);
    t(pool.transaction(|tx| async move {
        tx.execute("UPDATE items SET name = $1 WHERE id = $2", args!["y", 1])
            .await
    }))
    .await
    .unwrap();
    t(pool.refresh()).await.unwrap();
    assert_eq!(pool.pool_resets(), 0, "a clean workload paid for resets");

    // One dirty statement costs exactly one reset.
    t(pool.execute("SET work_mem = '8MB'", ())).await.unwrap();
    wait_resets(&pool, 1).await;
    let _: i64 = t(pool.fetchval("SELECT count(*) FROM items", ()))
        .await
        .unwrap();
    let _ = t(items.get(1)).await.unwrap();
    assert_eq!(pool.pool_resets(), 1);
}

#[tokio::test]
async fn a_cached_dirty_statement_marks_the_connection_each_time() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = pool(&url, one()).await;
    for i in 1..=3u64 {
        let _: String = t(pool.fetchval(
            "SELECT set_config('app.tenant', $1, false)",
            args![i.to_string()],
        ))
        .await
        .unwrap();
        wait_resets(&pool, i).await;
        let v: Option<String> = t(pool.fetchval("SELECT current_setting('app.tenant', true)", ()))
            .await
            .unwrap();
        assert!(v.as_deref().unwrap_or("").is_empty(), "{v:?}");
    }
}

#[tokio::test]
async fn unnamed_mode_classifies_each_statement() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = t(ConnectOptions::parse(&url)
        .unwrap()
        .statement_cache_mode(StatementCacheMode::Unnamed)
        .create_pool(one()))
    .await
    .unwrap();
    let _: Option<String> =
        t(pool.fetchval("SELECT set_config('app.tenant', $1, false)", args!["a"]))
            .await
            .unwrap();
    wait_resets(&pool, 1).await;
    let v: Option<String> = t(pool.fetchval("SELECT current_setting('app.tenant', true)", ()))
        .await
        .unwrap();
    assert!(v.as_deref().unwrap_or("").is_empty(), "{v:?}");
    let _: i64 = t(pool.fetchval("SELECT 1::int8 WHERE $1::int > 0", args![1]))
        .await
        .unwrap();
    assert_eq!(pool.pool_resets(), 1);
}

#[tokio::test]
async fn a_raw_begin_left_open_is_rolled_back_by_the_reset() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = pool(&url, one()).await;
    t(pool.execute("CREATE TABLE t (a int)", ())).await.unwrap();
    let a = t(pool.acquire()).await.unwrap();
    let pid: i32 = t(a.fetchval("SELECT pg_backend_pid()", ())).await.unwrap();
    t(a.execute("BEGIN", ())).await.unwrap();
    t(a.execute("INSERT INTO t VALUES (1)", ())).await.unwrap();
    drop(a);
    let b = t(pool.acquire()).await.unwrap();
    // SAVEPOINT is only allowed inside a transaction block: it must fail here.
    let e = t(b.execute("SAVEPOINT probe", ()))
        .await
        .expect_err("handed out inside a transaction");
    assert!(e.to_string().contains("transaction blocks"), "{e}");
    let n: i64 = t(b.fetchval("SELECT count(*) FROM t", ())).await.unwrap();
    assert_eq!(n, 0);
    // An aborted transaction block too.
    t(b.execute("BEGIN", ())).await.unwrap();
    assert!(t(b.execute("SELECT 1/0", ())).await.is_err());
    drop(b);
    let c = t(pool.acquire()).await.unwrap();
    let pid_c: i32 = t(c.fetchval("SELECT pg_backend_pid()", ())).await.unwrap();
    assert_eq!(pid, pid_c);
    let n: i64 = t(c.fetchval("SELECT count(*) FROM t", ())).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn always_policy_resets_every_use() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = pool(&url, one().reset(ResetPolicy::Always)).await;
    // A server function that changes a setting is invisible to the classifier: `Always` is
    // the policy for that.
    t(pool.execute(
        "CREATE FUNCTION become_b() RETURNS text LANGUAGE sql AS $$ SELECT set_config('app.tenant', 'b', false) $$",
        (),
    ))
    .await
    .unwrap();
    let before = pool.pool_resets();
    let v: String = t(pool.fetchval("SELECT become_b()", ())).await.unwrap();
    assert_eq!(v, "b");
    wait_resets(&pool, before + 1).await;
    let v: Option<String> = t(pool.fetchval("SELECT current_setting('app.tenant', true)", ()))
        .await
        .unwrap();
    assert!(v.as_deref().unwrap_or("").is_empty(), "{v:?}");
    wait_resets(&pool, before + 2).await;
    let _: i32 = t(pool.fetchval("SELECT 1", ())).await.unwrap();
    wait_resets(&pool, before + 3).await;
}

#[tokio::test]
async fn never_policy_keeps_session_state() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = pool(&url, one().reset(ResetPolicy::Never)).await;
    t(pool.execute("SET search_path TO pg_catalog", ()))
        .await
        .unwrap();
    let path: String = t(pool.fetchval("SHOW search_path", ())).await.unwrap();
    assert_eq!(path, "pg_catalog");
    assert_eq!(pool.pool_resets(), 0);
}

#[tokio::test]
async fn server_settings_survive_the_reset() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = t(ConnectOptions::parse(&url)
        .unwrap()
        .server_settings([("application_name", "x"), ("search_path", "s1, public")])
        .create_pool(one()))
    .await
    .unwrap();
    t(pool.execute("SET search_path TO pg_catalog", ()))
        .await
        .unwrap();
    wait_resets(&pool, 1).await;
    let path: String = t(pool.fetchval("SHOW search_path", ())).await.unwrap();
    assert_eq!(path, "s1, public");
    let app: String = t(pool.fetchval("SHOW application_name", ())).await.unwrap();
    assert_eq!(app, "x");
}

#[tokio::test]
async fn a_later_holder_of_a_pooled_connection_can_listen_again() {
    let url = fastasyncpg_testing::fresh_db().await;
    let sender = t(fastasyncpg::connect(&url)).await.unwrap();
    let pool = pool(&url, one()).await;
    let a = t(pool.acquire()).await.unwrap();
    let mut rx_a = t(a.listen("first")).await.unwrap();
    t(sender.notify("first", "1")).await.unwrap();
    let n = t(rx_a.recv()).await.unwrap();
    assert_eq!((n.channel.as_str(), n.payload.as_str()), ("first", "1"));
    drop(a);

    let b = t(pool.acquire()).await.unwrap();
    let mut rx_b = t(b.listen("second")).await.unwrap();
    // Sent in this order by one session, so a leaked "first" would arrive before "second".
    t(sender.notify("first", "leak")).await.unwrap();
    t(sender.notify("second", "2")).await.unwrap();
    let n = t(rx_b.recv()).await.unwrap();
    assert_eq!((n.channel.as_str(), n.payload.as_str()), ("second", "2"));
    assert!(t(rx_a.recv()).await.is_none());
    // A second listen on the same holder while its receiver lives is refused clearly.
    let e = t(b.listen("third")).await.unwrap_err();
    assert!(e.to_string().contains("already"), "{e}");
}
