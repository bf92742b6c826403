//! Throughput of the table API against the raw driver on the same server. Ignored by default:
//! `cargo test --release -p fastasyncpg --test it tables_bench -- --ignored --nocapture`.

use std::time::Instant;

use fastasyncpg::__private::tokio_postgres::{binary_copy::BinaryCopyInWriter, types::Type, NoTls};
use fastasyncpg::{record, Record};
use futures_util::pin_mut;

use crate::common::db;

const N: i64 = 100_000;

fn recs() -> Vec<Record> {
    (0..N)
        .map(|i| record! { id: i, name: format!("item {i}"), qty: (i % 1000) as i32, price: i as f64 * 0.25 })
        .collect()
}

#[tokio::test]
#[ignore = "benchmark: run with --ignored --nocapture, in release mode"]
async fn tables_bench() {
    let db = db().await;
    db.execute(
        "CREATE TABLE raw_b (id bigint PRIMARY KEY, name text, qty int, price double precision);
         CREATE TABLE api_b (LIKE raw_b INCLUDING ALL); CREATE TABLE copy_b (LIKE raw_b INCLUDING ALL);
         CREATE TABLE ret_b (LIKE raw_b INCLUDING ALL)",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();

    // raw binary COPY with the driver alone
    let (client, conn) = db.options().pg_config().connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    let t0 = Instant::now();
    let sink = client
        .copy_in("COPY raw_b (id, name, qty, price) FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    let w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT, Type::INT4, Type::FLOAT8]);
    pin_mut!(w);
    for i in 0..N {
        let name = format!("item {i}");
        let qty = (i % 1000) as i32;
        let price = i as f64 * 0.25;
        w.as_mut().write(&[&i, &name, &qty, &price]).await.unwrap();
    }
    w.finish().await.unwrap();
    let raw = t0.elapsed();

    let t = db.t("api_b").unwrap();
    let t0 = Instant::now();
    let rows = t.inserts(recs()).await.unwrap();
    let api = t0.elapsed();
    assert_eq!(rows.len() as i64, N);

    let c = db.t("copy_b").unwrap();
    let t0 = Instant::now();
    assert_eq!(c.copy_in(recs()).await.unwrap() as i64, N);
    let copy = t0.elapsed();

    // get by primary key, one at a time
    let gets = 10_000;
    let t0 = Instant::now();
    for i in 0..gets {
        let r = t.get(i * 7 % N).await.unwrap();
        assert!(r.is_some());
    }
    let get = t0.elapsed();
    let t0 = Instant::now();
    let stmt = client
        .prepare("SELECT * FROM raw_b WHERE id = $1")
        .await
        .unwrap();
    for i in 0..gets {
        let r = client.query_opt(&stmt, &[&(i * 7 % N)]).await.unwrap();
        assert!(r.is_some());
    }
    let get_raw = t0.elapsed();

    println!("{N} rows: raw binary COPY {raw:.2?}; table.inserts (RETURNING *) {api:.2?}; table.copy_in {copy:.2?}");
    println!(
        "get by pk: table.get {:.0} rows/s; raw prepared query_opt {:.0} rows/s",
        gets as f64 / get.as_secs_f64(),
        gets as f64 / get_raw.as_secs_f64()
    );
}
