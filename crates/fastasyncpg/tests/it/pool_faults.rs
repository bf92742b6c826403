//! Pool health under faults: killed backends, many tasks, cancelled transactions, idle
//! connections closed in the background.

use std::future::Future;
use std::time::Duration;

use fastasyncpg::{args, ConnectOptions, Database, PoolOptions};

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

/// Polls `cond` every 20 ms for up to 20 s.
async fn eventually<F: Future<Output = bool>>(what: &str, mut cond: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Terminates every backend of the test database except `admin`'s own; returns how many.
async fn terminate_all(admin: &Database) -> i64 {
    t(admin.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        (),
    ))
    .await
    .unwrap()
}

async fn others(admin: &Database) -> i64 {
    t(admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        (),
    ))
    .await
    .unwrap()
}

#[tokio::test]
async fn terminated_backends_are_never_handed_out() {
    let url = fastasyncpg_testing::fresh_db().await;
    let admin = t(fastasyncpg::connect(&url)).await.unwrap();
    let pool = pool(&url, PoolOptions::default().min_size(4).max_size(4)).await;
    for round in 0..2 {
        // Open all four connections.
        let held: Vec<Database> = t(futures_util::future::try_join_all(
            (0..4).map(|_| pool.acquire()),
        ))
        .await
        .unwrap();
        drop(held);
        assert_eq!(terminate_all(&admin).await, 4);
        if round == 0 {
            // The backends are gone before the pool is used again...
            eventually("backends exit", || async { others(&admin).await == 0 }).await;
        }
        // ...or (round 1) are being terminated right now: either way every call succeeds.
        for i in 0..20 {
            let v: i32 = t(pool.fetchval("SELECT $1::int", args![i])).await.unwrap();
            assert_eq!(v, i);
        }
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    t(pool.execute("SELECT $1::int", args![i])).await.unwrap();
                })
            })
            .collect();
        for h in tasks {
            h.await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_thousand_tasks_on_ten_connections() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = pool(&url, PoolOptions::default().min_size(2).max_size(10)).await;
    t(pool.execute("CREATE TABLE hits (task int)", ()))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                t(pool.execute("INSERT INTO hits VALUES ($1)", args![i]))
                    .await
                    .unwrap();
                let n: i64 =
                    t(pool.fetchval("SELECT count(*) FROM hits WHERE task = $1", args![i]))
                        .await
                        .unwrap();
                assert_eq!(n, 1);
            })
        })
        .collect();
    for h in tasks {
        h.await.unwrap();
    }
    let n: i64 = t(pool.fetchval("SELECT count(*) FROM hits", ()))
        .await
        .unwrap();
    assert_eq!(n, 1000);
    assert!(pool.pool_status().0 <= 10);
}

/// A seeded linear congruential generator: the same "random" cancellation points every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[tokio::test]
async fn three_thousand_cancelled_transactions_leave_no_open_or_partial_transaction() {
    let url = fastasyncpg_testing::fresh_db().await;
    let admin = t(fastasyncpg::connect(&url)).await.unwrap();
    let pool = pool(&url, PoolOptions::default().min_size(10).max_size(10)).await;
    t(pool.execute("CREATE TABLE pairs (k int, part int)", ()))
        .await
        .unwrap();
    let mut rng = Lcg(0x5eed);
    let mut tasks = Vec::new();
    for k in 0..3000i32 {
        // 0..1.5 ms: cancelled while waiting for a connection, in BEGIN, between the two
        // inserts, in COMMIT, or not at all.
        let budget = Duration::from_micros(rng.next() % 1500);
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let _ = tokio::time::timeout(
                budget,
                pool.transaction(|tx| async move {
                    tx.execute("INSERT INTO pairs VALUES ($1, 1)", args![k])
                        .await?;
                    tokio::task::yield_now().await;
                    tx.execute("INSERT INTO pairs VALUES ($1, 2)", args![k])
                        .await?;
                    Ok::<_, fastasyncpg::Error>(())
                }),
            )
            .await;
        }));
        if k % 50 == 49 {
            // Waves of 50, so cancellations hit every stage instead of the queue only.
            for h in tasks.drain(..) {
                h.await.unwrap();
            }
        }
    }
    for h in tasks {
        h.await.unwrap();
    }
    // The pool settles: no backend of this database stays inside a transaction.
    eventually("no idle-in-transaction backend", || async {
        let n: i64 = t(admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            (),
        ))
        .await
        .unwrap();
        n == 0
    })
    .await;
    // Every connection handed out now is outside a transaction block.
    let held: Vec<Database> = t(futures_util::future::try_join_all(
        (0..10).map(|_| pool.acquire()),
    ))
    .await
    .unwrap();
    for c in &held {
        let e = t(c.execute("SAVEPOINT probe", ()))
            .await
            .expect_err("a pooled connection was still inside a transaction");
        assert!(e.to_string().contains("transaction blocks"), "{e}");
    }
    drop(held);
    let total: i64 = t(pool.fetchval("SELECT count(*) FROM pairs", ()))
        .await
        .unwrap();
    assert_eq!(
        total % 2,
        0,
        "{total} rows: a transaction was partly committed"
    );
    let partial: i64 = t(pool.fetchval(
        "SELECT count(*) FROM (SELECT k FROM pairs GROUP BY k HAVING count(*) <> 2 OR min(part) <> 1 OR max(part) <> 2) x",
        (),
    ))
    .await
    .unwrap();
    assert_eq!(partial, 0);
    eprintln!("{} of 3000 transactions committed", total / 2);
}

#[tokio::test]
async fn idle_connections_are_closed_in_the_background() {
    let url = fastasyncpg_testing::fresh_db().await;
    let pool = pool(
        &url,
        PoolOptions::default()
            .min_size(1)
            .max_size(5)
            .max_inactive_connection_lifetime(Some(Duration::from_secs(1))),
    )
    .await;
    let held: Vec<Database> = t(futures_util::future::try_join_all(
        (0..3).map(|_| pool.acquire()),
    ))
    .await
    .unwrap();
    drop(held);
    // No call is made: only the background health check can close them.
    eventually("idle connections closed", || {
        let (size, idle) = pool.pool_status();
        async move { idle < 3 && size < 3 }
    })
    .await;
    // It keeps min_size open.
    eventually("down to min_size", || {
        let s = pool.pool_status();
        async move { s == (1, 1) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(pool.pool_status().0, 1, "min_size not kept");
}

#[tokio::test]
async fn the_pool_serves_again_after_a_server_restart() {
    // A private server: restarting the shared one would disturb the other tests.
    let server = std::sync::Arc::new(
        t(tokio::task::spawn_blocking(
            fastasyncpg_testing::TestServer::start,
        ))
        .await
        .unwrap()
        .unwrap(),
    );
    let url = t(server.fresh_db()).await.unwrap();
    let pool = pool(&url, PoolOptions::default().min_size(3).max_size(3)).await;
    t(pool.execute("CREATE TABLE t (a int)", ())).await.unwrap();
    let held: Vec<Database> = t(futures_util::future::try_join_all(
        (0..3).map(|_| pool.acquire()),
    ))
    .await
    .unwrap();
    drop(held);
    let s = server.clone();
    t(tokio::task::spawn_blocking(move || s.restart()))
        .await
        .unwrap()
        .unwrap();
    // Every connection the pool held is dead; none is handed out.
    for i in 0..10 {
        t(pool.execute("INSERT INTO t VALUES ($1)", args![i]))
            .await
            .unwrap();
    }
    let n: i64 = t(pool.fetchval("SELECT count(*) FROM t", ()))
        .await
        .unwrap();
    assert_eq!(n, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_load_costs_only_the_calls_it_interrupts() {
    // 8 tasks query a pool of 4 without pause while the (private) server restarts. Calls that
    // meet the restart fail fast with a clear error; every call after it succeeds, on the same
    // pool, without any action by the program.
    let server = std::sync::Arc::new(
        t(tokio::task::spawn_blocking(
            fastasyncpg_testing::TestServer::start,
        ))
        .await
        .unwrap()
        .unwrap(),
    );
    let url = t(server.fresh_db()).await.unwrap();
    let pool = ConnectOptions::parse(&url)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .create_pool(
            PoolOptions::default()
                .min_size(4)
                .max_size(4)
                .acquire_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let restarted_at = std::sync::Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (pool, stop, at) = (pool.clone(), stop.clone(), restarted_at.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed, mut failed_after) = (0u64, 0u64, 0u64);
                let mut first_ok_after: Option<Duration> = None;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let done = *at.lock().unwrap();
                    let r = tokio::time::timeout(
                        Duration::from_secs(15),
                        pool.fetchval::<i64>("SELECT $1::int8", args![i]),
                    )
                    .await
                    .expect("a call hung during a restart");
                    match r {
                        Ok(v) => {
                            assert_eq!(v, i);
                            ok += 1;
                            if let (Some(d), None) = (done, first_ok_after) {
                                first_ok_after = Some(d.elapsed());
                            }
                        }
                        Err(e) => {
                            assert!(!e.to_string().is_empty());
                            failed += 1;
                            if let Some(d) = done {
                                // After the restart completed, a failure may only be the
                                // retry budget of a call that started before it.
                                if d.elapsed() > Duration::from_secs(1) {
                                    failed_after += 1;
                                }
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
                (ok, failed, failed_after, first_ok_after)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = server.clone();
    let t0 = std::time::Instant::now();
    t(tokio::task::spawn_blocking(move || s.restart()))
        .await
        .unwrap()
        .unwrap();
    let downtime = t0.elapsed();
    *restarted_at.lock().unwrap() = Some(std::time::Instant::now());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut ok, mut failed, mut failed_after) = (0, 0, 0);
    let mut recovery = Duration::ZERO;
    for h in tasks {
        let (o, f, fa, first) = h.await.unwrap();
        ok += o;
        failed += f;
        failed_after += fa;
        recovery = recovery.max(first.expect("a task never succeeded after the restart"));
    }
    eprintln!(
        "restart under load: {ok} calls ok, {failed} failed (restart took {downtime:?}), \
         every task served again within {recovery:?} of the restart"
    );
    assert_eq!(failed_after, 0, "calls failed after the server was back");
    assert!(
        recovery < Duration::from_secs(5),
        "recovery took {recovery:?}"
    );
}
