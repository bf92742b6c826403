//! Host lists, `target_session_attrs` and `load_balance_hosts` against the throwaway server
//! (the primary/standby failover tests are in `replicas.rs`).

use std::time::Duration;

use fastasyncpg::{args, ConnectOptions, ErrorKind, TargetSessionAttrs};

/// A TCP port on 127.0.0.1 where nothing listens.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn fresh() -> (String, u16) {
    let server = fastasyncpg_testing::TestServer::global().unwrap();
    let url = fastasyncpg_testing::fresh_db().await;
    let db = url
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    (db, server.port())
}

#[tokio::test]
async fn a_dead_first_host_is_skipped_and_display_shows_every_host() {
    let (db, port) = fresh().await;
    let dead = dead_port();
    let dsn = format!(
        "host=127.0.0.1,127.0.0.1 port={dead},{port} user=fastasyncpg dbname={db} sslmode=disable"
    );
    let conn = fastasyncpg::connect(&dsn).await.unwrap();
    assert_eq!(conn.fetchval::<i32>("SELECT 1", ()).await.unwrap(), 1);
    let shown = conn.to_string();
    assert!(
        shown.contains(&format!("127.0.0.1:{dead},127.0.0.1:{port}")),
        "{shown}"
    );
    // The same through the builder, and as a pool.
    let opts = ConnectOptions::parse(&format!("user=fastasyncpg dbname={db} sslmode=disable"))
        .unwrap()
        .hosts([("127.0.0.1", dead), ("127.0.0.1", port)]);
    let pool = opts
        .create_pool(fastasyncpg::PoolOptions::default().max_size(2))
        .await
        .unwrap();
    assert_eq!(pool.fetchval::<i32>("SELECT 2", ()).await.unwrap(), 2);
}

#[tokio::test]
async fn every_host_failing_lists_each_host_and_its_error() {
    let (db, _) = fresh().await;
    let (a, b) = (dead_port(), dead_port());
    let dsn = format!("host=127.0.0.1,localhost port={a},{b} user=fastasyncpg dbname={db}");
    let e = fastasyncpg::connect(&dsn).await.unwrap_err();
    let s = e.to_string();
    assert!(s.contains(&format!("127.0.0.1:{a}")), "{s}");
    assert!(s.contains(&format!("localhost:{b}")), "{s}");
}

#[tokio::test]
async fn session_attrs_against_a_primary() {
    let (db, port) = fresh().await;
    let base = format!("host=127.0.0.1 port={port} user=fastasyncpg dbname={db} sslmode=disable");
    for ok in ["any", "read-write", "primary", "prefer-standby"] {
        let c = fastasyncpg::connect(&format!("{base} target_session_attrs={ok}"))
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(c.fetchval::<i32>("SELECT 1", ()).await.unwrap(), 1);
    }
    for bad in ["standby", "read-only"] {
        let e = fastasyncpg::connect(&format!("{base} target_session_attrs={bad}"))
            .await
            .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("a primary (read-write)") && s.contains(bad),
            "{bad}: {s}"
        );
    }
    // A session whose transactions are read-only by default counts as read-only.
    let ro = format!("{base} options='-c default_transaction_read_only=on'");
    let c = fastasyncpg::connect(&format!("{ro} target_session_attrs=read-only"))
        .await
        .unwrap();
    let e = c.execute("CREATE TABLE x (a int)", ()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    let e = fastasyncpg::connect(&format!("{ro} target_session_attrs=read-write"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("read-only mode"), "{e}");
}

#[tokio::test]
async fn session_attrs_from_the_environment_and_builder() {
    let (db, port) = fresh().await;
    let opts = ConnectOptions::parse(&format!(
        "host=127.0.0.1 port={port} user=fastasyncpg dbname={db} sslmode=disable"
    ))
    .unwrap()
    .target_session_attrs(TargetSessionAttrs::Standby);
    let e = opts.connect().await.unwrap_err();
    assert!(
        e.to_string().contains("target_session_attrs=standby"),
        "{e}"
    );
}

#[tokio::test]
async fn load_balancing_spreads_connections() {
    // The same server as a unix socket and over TCP: the server tells them apart
    // (inet_client_addr() is NULL on a socket). In order, the first host always wins; in random
    // order both are used (40 tries: the chance of seeing one only is 2^-39).
    let server = fastasyncpg_testing::TestServer::global().unwrap();
    let (db, port) = fresh().await;
    let hosts = format!(
        "host={},127.0.0.1 port={port} user=fastasyncpg dbname={db} sslmode=disable",
        server.host()
    );
    let over_tcp = |dsn: String| async move {
        let c = fastasyncpg::connect(&dsn).await.unwrap();
        c.fetchval::<Option<String>>("SELECT host(inet_client_addr())", ())
            .await
            .unwrap()
            .is_some()
    };
    for _ in 0..5 {
        assert!(!over_tcp(hosts.clone()).await, "in order: the socket first");
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        seen.insert(over_tcp(format!("{hosts} load_balance_hosts=random")).await);
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "random order used only one host");
}

/// `PGTARGETSESSIONATTRS` and `PGLOADBALANCEHOSTS` are process-wide: checked in a child process
/// (this test binary, filtered to [`env_attrs_child`]).
#[tokio::test]
async fn session_attrs_from_pg_environment_variables() {
    let (db, port) = fresh().await;
    let dsn = format!("host=127.0.0.1 port={port} user=fastasyncpg dbname={db} sslmode=disable");
    let run = |attrs: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "connect_hosts::env_attrs_child", "--nocapture"])
            .env("FASTASYNCPG_ATTRS_CHILD_DSN", &dsn)
            .env("PGTARGETSESSIONATTRS", attrs)
            .env("PGLOADBALANCEHOSTS", "random")
            .output()
            .unwrap()
    };
    for (attrs, expect) in [("primary", "connected"), ("standby", "refused")] {
        let out = run(attrs);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{attrs}: {text}");
        assert!(
            text.contains(&format!("child: {expect}")),
            "{attrs}: {text}"
        );
    }
}

/// Child half of [`session_attrs_from_pg_environment_variables`]; does nothing in a normal run.
#[tokio::test]
async fn env_attrs_child() {
    let Ok(dsn) = std::env::var("FASTASYNCPG_ATTRS_CHILD_DSN") else {
        return;
    };
    let want = std::env::var("PGTARGETSESSIONATTRS").unwrap();
    let opts = ConnectOptions::parse(&dsn).unwrap();
    assert_eq!(opts.get_target_session_attrs().as_str(), want);
    match opts.connect().await {
        Ok(_) => println!("child: connected"),
        Err(e) => {
            assert!(
                e.to_string().contains("target_session_attrs=standby"),
                "{e}"
            );
            println!("child: refused");
        }
    }
}

#[tokio::test]
async fn a_read_write_pool_leaves_a_primary_that_became_read_only() {
    // Host A is writable, then turns read-only (as a demoted primary would); host B is
    // writable. A read-write pool's writes fail on A at most once per pooled connection, then
    // go to B without a restart of the program.
    let a = tokio::task::spawn_blocking(fastasyncpg_testing::TestServer::start)
        .await
        .unwrap()
        .unwrap();
    let name = a.fresh_db_name("demote").await.unwrap();
    let b = fastasyncpg_testing::TestServer::global().unwrap();
    let b_admin = fastasyncpg::connect(&b.url("postgres")).await.unwrap();
    b_admin
        .execute(&format!("CREATE DATABASE \"{name}\""), ())
        .await
        .unwrap();
    let dsn = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=fastasyncpg dbname={name} sslmode=disable target_session_attrs=read-write",
        a.port(),
        b.port()
    );
    let pool = ConnectOptions::parse(&dsn)
        .unwrap()
        .create_pool(fastasyncpg::PoolOptions::default().min_size(2).max_size(2))
        .await
        .unwrap();
    let port = |db: fastasyncpg::Database| async move {
        db.fetchval::<i32>("SELECT inet_server_port()", ())
            .await
            .unwrap() as u16
    };
    assert_eq!(port(pool.clone()).await, a.port());
    for url in [a.url(&name), b.url(&name)] {
        let c = fastasyncpg::connect(&url).await.unwrap();
        c.execute("CREATE TABLE t (x int)", ()).await.unwrap();
    }
    let a_admin = fastasyncpg::connect(&a.url(&name)).await.unwrap();
    // Two calls: a multi-statement string is one implicit transaction, where ALTER SYSTEM
    // cannot run.
    for sql in [
        "ALTER SYSTEM SET default_transaction_read_only = on",
        "SELECT pg_reload_conf()",
    ] {
        a_admin.execute(sql, ()).await.unwrap();
    }
    // Wait until A's sessions see it.
    let probe = fastasyncpg::connect(&a.url(&name)).await.unwrap();
    for _ in 0..200 {
        let ro: String = probe
            .fetchval("SHOW default_transaction_read_only", ())
            .await
            .unwrap();
        if ro == "on" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut failed = 0;
    for i in 0..20 {
        match pool.execute("INSERT INTO t VALUES ($1)", args![i]).await {
            Ok(_) => break,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
                failed += 1;
            }
        }
    }
    assert!(failed <= 2, "{failed} writes failed for a pool of 2");
    assert_eq!(port(pool.clone()).await, b.port());
    let n: i64 = fastasyncpg::connect(&b.url(&name))
        .await
        .unwrap()
        .fetchval("SELECT count(*) FROM t", ())
        .await
        .unwrap();
    assert_eq!(n, 1);
    drop(pool);
}
