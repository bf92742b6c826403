use std::path::PathBuf;
use std::time::Instant;

use fastasyncpg_testing::TestServer;
use tokio_postgres::NoTls;

mod common;
use common::{connect, count, eventually, port_open};

#[test]
fn global_server_starts_once() {
    let t = Instant::now();
    let servers: Vec<usize> = (0..4)
        .map(|_| std::thread::spawn(|| TestServer::global().unwrap() as *const _ as usize))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    eprintln!("global server ready after {:?}", t.elapsed());
    assert!(servers.windows(2).all(|w| w[0] == w[1]));
    let s = TestServer::global().unwrap();
    assert_eq!(s as *const _ as usize, servers[0]);
    if std::env::var_os("DATABASE_URL").is_none() {
        assert!(s.dir().unwrap().exists());
        assert!(port_open(s.port()));
        assert_eq!(s.user(), "fastasyncpg");
        assert!(s.bin_dir().unwrap().join("pg_ctl").exists());
    }
}

#[tokio::test]
async fn fresh_dbs_are_distinct_and_empty() {
    let a = fastasyncpg_testing::fresh_db().await;
    let b = fastasyncpg_testing::fresh_db().await;
    assert_ne!(a, b);
    let (ca, cb) = (connect(&a).await, connect(&b).await);
    let name_a: String = ca
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    let name_b: String = cb
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert_ne!(name_a, name_b);
    let tables = "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')";
    assert_eq!(count(&ca, tables).await, 0);
    assert_eq!(count(&cb, tables).await, 0);
    // Writes in one database are not visible in the other.
    ca.batch_execute("CREATE TABLE t (x int)").await.unwrap();
    assert_eq!(count(&cb, tables).await, 0);
}

#[tokio::test]
async fn tcp_url_works() {
    let server = TestServer::global().unwrap();
    let url = server.fresh_db().await.unwrap();
    let dbname = url.split('/').nth(3).unwrap().split('?').next().unwrap();
    let client = connect(&server.tcp_url(dbname)).await;
    let got: String = client
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(got, dbname);
}

#[tokio::test]
async fn chinook_has_data() {
    let t = Instant::now();
    let url = fastasyncpg_testing::chinook_db().await;
    eprintln!("first chinook_db after {:?}", t.elapsed());
    let c = connect(&url).await;
    assert_eq!(count(&c, "SELECT count(*) FROM artist").await, 275);
    assert_eq!(count(&c, "SELECT count(*) FROM album").await, 347);
    assert_eq!(count(&c, "SELECT count(*) FROM track").await, 3503);
    // Each call is a separate copy.
    c.batch_execute("DELETE FROM playlist_track").await.unwrap();
    let t = Instant::now();
    let url2 = fastasyncpg_testing::chinook_db().await;
    eprintln!("another chinook_db took {:?}", t.elapsed());
    assert_ne!(url, url2);
    let c2 = connect(&url2).await;
    assert!(count(&c2, "SELECT count(*) FROM playlist_track").await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_chinook_dbs() {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async {
                let url = fastasyncpg_testing::chinook_db().await;
                let c = connect(&url).await;
                assert_eq!(count(&c, "SELECT count(*) FROM album").await, 347);
                url
            })
        })
        .collect();
    let mut urls = Vec::new();
    for t in tasks {
        urls.push(t.await.unwrap());
    }
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 8);
}

#[test]
fn owned_server_is_removed_on_drop() {
    let t = Instant::now();
    let server = TestServer::start().unwrap();
    eprintln!("owned server: initdb + start took {:?}", t.elapsed());
    let dir: PathBuf = server.dir().unwrap().to_path_buf();
    let port = server.port();
    assert_ne!(port, TestServer::global().map(|g| g.port()).unwrap_or(0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = server.fresh_db().await.unwrap();
        let c = connect(&url).await;
        assert_eq!(count(&c, "SELECT 1::int8").await, 1);
    });
    assert!(dir.join("data").exists());
    assert!(port_open(port));
    let t = Instant::now();
    drop(server);
    eprintln!("owned server: stop took {:?}", t.elapsed());
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!port_open(port), "port {port} still open");
}

/// Does nothing unless `FASTASYNCPG_TESTING_CHILD` is set: the helper run as a child process by `watchdog_cleans_up_after_abort`.
#[test]
fn child_abort() {
    if std::env::var_os("FASTASYNCPG_TESTING_CHILD").is_none() {
        return;
    }
    let server = TestServer::start().unwrap();
    println!(
        "SERVER {} {}",
        server.port(),
        server.dir().unwrap().display()
    );
    std::process::abort();
}

#[test]
fn watchdog_cleans_up_after_abort() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_abort", "--nocapture"])
        .env("FASTASYNCPG_TESTING_CHILD", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SERVER "))
        .unwrap_or_else(|| {
            panic!(
                "child printed no server: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let (port, dir) = line.split_once(' ').unwrap();
    let port: u16 = port.parse().unwrap();
    let dir = PathBuf::from(dir);
    assert!(
        eventually(10, || !dir.exists()),
        "{} not removed",
        dir.display()
    );
    assert!(
        eventually(10, || !port_open(port)),
        "port {port} still open"
    );
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn restart_keeps_port_socket_and_data() {
    let server = TestServer::start().unwrap();
    let (port, host) = (server.port(), server.host().to_string());
    let rt = rt();
    let (url, name) = rt.block_on(async {
        let name = server.fresh_db_name("restart").await.unwrap();
        let url = server.url(&name);
        let c = connect(&url).await;
        c.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
            .await
            .unwrap();
        (url, name)
    });
    let t = Instant::now();
    server.restart().unwrap();
    eprintln!("restart took {:?}", t.elapsed());
    assert_eq!((server.port(), server.host()), (port, &*host));
    assert!(server.is_running());
    rt.block_on(async {
        let c = connect(&url).await;
        assert_eq!(count(&c, "SELECT count(*) FROM t").await, 2);
        let c = connect(&server.tcp_url(&name)).await;
        assert_eq!(count(&c, "SELECT count(*) FROM t").await, 2);
    });

    // Stopped: connections fail (the directory stays); started again: they work.
    server.stop_server().unwrap();
    assert!(!server.is_running());
    assert!(!port_open(port));
    assert!(server.data_dir().unwrap().join("PG_VERSION").exists());
    server.stop_server().unwrap(); // no-op when stopped
    rt.block_on(async {
        assert!(tokio_postgres::connect(&url, NoTls).await.is_err());
    });
    server.start_again().unwrap();
    server.start_again().unwrap(); // no-op when running
    rt.block_on(async {
        let c = connect(&url).await;
        // The servers run with synchronous_commit=off: ask for a durable commit.
        c.batch_execute("SET synchronous_commit = on; INSERT INTO t VALUES (3)")
            .await
            .unwrap();
    });

    // Immediate shutdown loses nothing committed (crash recovery replays the WAL).
    server.stop_server_immediate().unwrap();
    server.start_again().unwrap();
    rt.block_on(async {
        let c = connect(&url).await;
        assert_eq!(count(&c, "SELECT count(*) FROM t").await, 3);
    });
}

#[test]
fn restart_closes_open_connections() {
    let server = TestServer::start().unwrap();
    let rt = rt();
    rt.block_on(async {
        let url = server.fresh_db().await.unwrap();
        let c = connect(&url).await;
        assert_eq!(count(&c, "SELECT 1::int8").await, 1);
        server.restart().unwrap();
        assert!(c.query_one("SELECT 1", &[]).await.is_err());
        let c = connect(&url).await;
        assert_eq!(count(&c, "SELECT 1::int8").await, 1);
    });
}

#[test]
fn global_server_cannot_be_restarted() {
    let g = TestServer::global().unwrap();
    let err = g.restart().unwrap_err();
    assert!(err.contains("cannot be stopped"), "{err}");
    assert!(g.is_running());
}

#[test]
fn start_with_settings_hba_and_port() {
    use fastasyncpg_testing::ServerOptions;
    // A free port, chosen by us.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = TestServer::start_with(
        ServerOptions::new()
            .setting("max_connections", "42")
            .setting("application_name", "from_options")
            .hba_line("host all nobody 127.0.0.1/32 reject")
            .port(port),
    )
    .unwrap();
    assert_eq!(server.port(), port);
    let rt = rt();
    rt.block_on(async {
        let url = server.fresh_db().await.unwrap();
        let c = connect(&url).await;
        let max: String = c
            .query_one("SHOW max_connections", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(max, "42");
        c.batch_execute("CREATE ROLE nobody LOGIN").await.unwrap();
        let name: String = c
            .query_one("SELECT current_database()", &[])
            .await
            .unwrap()
            .get(0);
        let bad = format!("postgresql://nobody@127.0.0.1:{port}/{name}");
        let Err(err) = tokio_postgres::connect(&bad, NoTls).await else {
            panic!("{bad} connected despite the reject line");
        };
        let msg = err.as_db_error().map(|d| d.message().to_string());
        assert!(
            msg.as_deref().unwrap_or("").contains("pg_hba.conf"),
            "{err:?}"
        );
        // Defaults still follow the added lines.
        connect(&server.tcp_url(&name)).await;
    });
    // The port is taken now: a second server on it fails with the log tail.
    let err = TestServer::start_with(ServerOptions::new().port(port)).unwrap_err();
    assert!(err.contains("already in use"), "{err}");
}

#[test]
fn start_with_existing_data_dir() {
    use fastasyncpg_testing::ServerOptions;
    let first = TestServer::start().unwrap();
    let rt = rt();
    let name = rt.block_on(async {
        let name = first.fresh_db_name("kept").await.unwrap();
        let c = connect(&first.url(&name)).await;
        c.batch_execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
            .await
            .unwrap();
        name
    });
    first.stop_server().unwrap();
    let data = first.data_dir().unwrap();
    let second = TestServer::start_with(ServerOptions::new().existing_data_dir(&data)).unwrap();
    rt.block_on(async {
        let c = connect(&second.url(&name)).await;
        assert_eq!(count(&c, "SELECT sum(x)::int8 FROM kept").await, 7);
    });
    drop(second);
    // The data directory is not removed with the server that borrowed it.
    assert!(data.join("PG_VERSION").exists());
}
