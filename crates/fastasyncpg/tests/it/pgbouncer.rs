//! Through a real PgBouncer (transaction pooling) in `statement_cache_mode=unnamed`.

use std::time::Duration;

use fastasyncpg::{record, ConnectOptions, PoolOptions};
use fastasyncpg_testing::{PgBouncer, PgBouncerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_bulk_through_pgbouncer() {
    let server = TestServer::global().unwrap();
    let direct = server.fresh_db().await.unwrap();
    let setup = fastasyncpg::connect(&direct).await.unwrap();
    setup
        .execute("CREATE TABLE item (id int PRIMARY KEY, name text, qty int)", ())
        .await
        .unwrap();
    let bouncer = PgBouncer::start(server, PgBouncerOptions::default().default_pool_size(2)).unwrap();
    let url = format!("{}?statement_cache_mode=unnamed", bouncer.url_for(&direct).unwrap());
    let db = ConnectOptions::parse(&url)
        .unwrap()
        .create_pool(PoolOptions::default().max_size(4))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for k in 0..8i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let t = db.t("item")?;
            for round in 0..5i64 {
                let base = k * 100_000 + round * 1000;
                t.inserts((0..20).map(|i| record! {id: base + i, name: format!("n{i}")})).await?;
                t.upserts((0..20).map(|i| record! {id: base + i, name: "u", qty: i})).await?;
            }
            Ok::<_, fastasyncpg::Error>(())
        }));
    }
    let r = tokio::time::timeout(Duration::from_secs(15), futures_util::future::join_all(tasks)).await;
    eprintln!("log: {}", bouncer.log_tail(30));
    eprintln!("server log: {}", server.log_tail(30));
    let results = r.expect("hung");
    for r in results {
        r.unwrap().unwrap();
    }
}
