//! Primary + streaming standby.

use std::path::PathBuf;
use std::time::Instant;

use fastasyncpg_testing::ReplicaSet;

mod common;
use common::{connect, count, eventually, port_open};

#[test]
fn replicates_then_fails_over() {
    let t = Instant::now();
    let set = ReplicaSet::start().unwrap();
    eprintln!(
        "replica set (initdb + start + pg_basebackup + standby) took {:?}",
        t.elapsed()
    );
    let (p, s) = (set.primary(), set.standby());
    assert_ne!(p.port(), s.port());
    assert_ne!(p.dir(), s.dir());
    let dirs: Vec<PathBuf> = [p, s]
        .iter()
        .map(|x| x.dir().unwrap().to_path_buf())
        .collect();
    let ports = [p.port(), s.port()];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = set.create_db("repl").await.unwrap();
        let primary = connect(&p.tcp_url(&db)).await;
        let standby = connect(&s.tcp_url(&db)).await;
        let in_recovery: bool = standby
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .unwrap()
            .get(0);
        assert!(in_recovery);
        primary
            .batch_execute("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 100)")
            .await
            .unwrap();
        set.wait_replayed().await.unwrap();
        assert_eq!(count(&standby, "SELECT count(*) FROM t").await, 100);
        // The standby is read-only.
        let err = standby
            .batch_execute("INSERT INTO t VALUES (0)")
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION),
            "{err:?}"
        );
        // A second write, replayed as well (wait_replayed is not a one-off).
        primary
            .batch_execute("INSERT INTO t VALUES (101)")
            .await
            .unwrap();
        set.wait_replayed().await.unwrap();
        assert_eq!(count(&standby, "SELECT max(x)::int8 FROM t").await, 101);

        // Fail over.
        set.stop_primary().unwrap();
        assert!(!port_open(ports[0]));
        assert!(primary.query_one("SELECT 1", &[]).await.is_err());
        let t = Instant::now();
        set.promote_standby().await.unwrap();
        eprintln!("promotion took {:?}", t.elapsed());
        // Existing standby sessions survive promotion and may now write.
        let in_recovery: bool = standby
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .unwrap()
            .get(0);
        assert!(!in_recovery);
        standby
            .batch_execute("INSERT INTO t VALUES (102)")
            .await
            .unwrap();
        assert_eq!(count(&standby, "SELECT count(*) FROM t").await, 102);
    });
    drop(set);
    for d in &dirs {
        assert!(!d.exists(), "{} not removed", d.display());
    }
    for port in ports {
        assert!(!port_open(port), "port {port} still open");
    }
}

/// Does nothing unless `FASTASYNCPG_TESTING_CHILD` is set: the helper run as a child process by `watchdog_cleans_up_replica_set_after_abort`.
#[test]
fn child_abort_replica() {
    if std::env::var_os("FASTASYNCPG_TESTING_CHILD").is_none() {
        return;
    }
    let set = ReplicaSet::start().unwrap();
    for s in [set.primary(), set.standby()] {
        println!("SERVER {} {}", s.port(), s.dir().unwrap().display());
    }
    std::process::abort();
}

#[test]
fn watchdog_cleans_up_replica_set_after_abort() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_abort_replica", "--nocapture"])
        .env("FASTASYNCPG_TESTING_CHILD", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let servers: Vec<(u16, PathBuf)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("SERVER "))
        .map(|l| {
            let (port, dir) = l.split_once(' ').unwrap();
            (port.parse().unwrap(), PathBuf::from(dir))
        })
        .collect();
    assert_eq!(
        servers.len(),
        2,
        "child output: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (port, dir) in servers {
        assert!(
            eventually(15, || !dir.exists()),
            "{} not removed",
            dir.display()
        );
        assert!(
            eventually(15, || !port_open(port)),
            "port {port} still open"
        );
    }
}

#[test]
fn standby_follows_a_restarted_primary() {
    let set = ReplicaSet::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = set.create_db("restart").await.unwrap();
        set.primary().restart().unwrap();
        let primary = connect(&set.primary().tcp_url(&db)).await;
        primary
            .batch_execute(
                "CREATE TABLE after_restart (x int); INSERT INTO after_restart VALUES (1)",
            )
            .await
            .unwrap();
        // The standby reconnects and replays what was written after the restart.
        set.wait_replayed().await.unwrap();
        let standby = connect(&set.standby().tcp_url(&db)).await;
        assert_eq!(
            count(&standby, "SELECT count(*) FROM after_restart").await,
            1
        );
    });
}
