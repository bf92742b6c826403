//! A primary and a streaming standby that the test support starts: reads on the standby,
//! writes refused there, and failover of a `read-write` pool to the promoted standby without
//! restarting the program.

use std::time::{Duration, Instant};

use fastasyncpg::{ErrorKind, PoolOptions};
use fastasyncpg_testing::ReplicaSet;

fn dsn(set: &ReplicaSet, db: &str, attrs: &str) -> String {
    format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=fastasyncpg dbname={db} sslmode=disable target_session_attrs={attrs}",
        set.primary().port(),
        set.standby().port()
    )
}

#[tokio::test]
async fn reads_go_to_the_standby_and_writes_fail_there() {
    let set = tokio::task::spawn_blocking(ReplicaSet::start)
        .await
        .unwrap()
        .unwrap();
    let db = set.create_db("rep").await.unwrap();
    let rw = fastasyncpg::connect(&dsn(&set, &db, "read-write"))
        .await
        .unwrap();
    rw.execute("CREATE TABLE t (id int PRIMARY KEY, v text)", ())
        .await
        .unwrap();
    rw.execute("INSERT INTO t VALUES (1, 'one')", ())
        .await
        .unwrap();
    assert!(!rw
        .fetchval::<bool>("SELECT pg_is_in_recovery()", ())
        .await
        .unwrap());
    set.wait_replayed().await.unwrap();

    for attrs in ["standby", "prefer-standby", "read-only"] {
        let ro = fastasyncpg::connect(&dsn(&set, &db, attrs)).await.unwrap();
        assert!(
            ro.fetchval::<bool>("SELECT pg_is_in_recovery()", ())
                .await
                .unwrap(),
            "{attrs}"
        );
        let port: i32 = ro.fetchval("SELECT inet_server_port()", ()).await.unwrap();
        assert_eq!(port as u16, set.standby().port(), "{attrs}");
        // The table API reads the replicated row.
        let row = ro.t("t").unwrap().get(1).await.unwrap().unwrap();
        assert_eq!(row.get::<String, _>("v").unwrap(), "one");
        let e = ro
            .execute("INSERT INTO t VALUES (2, 'two')", ())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
        assert!(e.to_string().contains("read-only transaction"), "{e}");
    }
    // primary listed second is still found.
    let p = fastasyncpg::connect(&format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=fastasyncpg dbname={db} sslmode=disable target_session_attrs=primary",
        set.standby().port(),
        set.primary().port()
    ))
    .await
    .unwrap();
    assert!(!p
        .fetchval::<bool>("SELECT pg_is_in_recovery()", ())
        .await
        .unwrap());
    // Display names both hosts.
    let shown = p.to_string();
    assert!(
        shown.contains(&format!(
            "127.0.0.1:{},127.0.0.1:{}",
            set.standby().port(),
            set.primary().port()
        )) && shown.contains("target_session_attrs=primary"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_read_write_pool_follows_a_promoted_standby() {
    let set = tokio::task::spawn_blocking(ReplicaSet::start)
        .await
        .unwrap()
        .unwrap();
    let db = set.create_db("failover").await.unwrap();
    let pool = fastasyncpg::ConnectOptions::parse(&dsn(&set, &db, "read-write"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .create_pool(
            PoolOptions::default()
                .min_size(2)
                .max_size(4)
                .acquire_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    pool.execute("CREATE TABLE t (id serial PRIMARY KEY, at text)", ())
        .await
        .unwrap();
    pool.execute("INSERT INTO t (at) VALUES ('before')", ())
        .await
        .unwrap();
    set.wait_replayed().await.unwrap();

    set.stop_primary().unwrap();
    // No server accepts writes now: calls fail (quickly, with a clear error), never hang.
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        pool.execute("INSERT INTO t (at) VALUES ('during')", ()),
    )
    .await
    .expect("a write with no primary must fail, not hang")
    .unwrap_err();
    assert!(!e.to_string().is_empty());

    let promoted = Instant::now();
    set.promote_standby().await.unwrap();
    // The same pool, no restart: writes succeed again once the standby is promoted.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failed = 0;
    loop {
        match tokio::time::timeout(
            Duration::from_secs(10),
            pool.execute("INSERT INTO t (at) VALUES ('after')", ()),
        )
        .await
        {
            Ok(Ok(_)) => break,
            Ok(Err(e)) if Instant::now() < deadline => {
                failed += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(Err(e)) => panic!("no write after promotion within 30 s: {e}"),
            Err(_) => panic!("a write after promotion hung"),
        }
    }
    let recovery = promoted.elapsed();
    eprintln!("failover: first write {recovery:?} after promotion, {failed} failed calls");
    let at: Vec<String> = pool
        .fetch("SELECT at FROM t ORDER BY id", ())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("at").unwrap())
        .collect();
    assert_eq!(at, ["before", "after"]);
    let port: i32 = pool
        .fetchval("SELECT inet_server_port()", ())
        .await
        .unwrap();
    assert_eq!(port as u16, set.standby().port());
}
