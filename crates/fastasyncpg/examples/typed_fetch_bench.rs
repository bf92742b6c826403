//! Typed fetch of 10,000 rows: `#[derive(FromRow)]` through `Database::fetch_as` against raw
//! tokio-postgres decoding the same rows by hand. Starts its own throwaway PostgreSQL.
//!
//! ```text
//! cargo run --release -p fastasyncpg --example typed_fetch_bench
//! ```
//!
//! Measured 2026-11-21 on a shared 2-core Linux VM (load average ~3), PostgreSQL 15.18 over a
//! Unix socket, rustc 1.95: raw tokio-postgres 6.03 ms, `fetch_as` 6.44 ms (ratio 1.07; five
//! of five fields decoded straight from the binary data). Runs on that machine ranged 1.07–1.15.

use std::time::{Duration, Instant};

use fastasyncpg::types::chrono::NaiveDateTime;
use fastasyncpg::FromRow;

#[derive(FromRow, Debug)]
#[allow(dead_code)]
struct Item {
    id: i32,
    name: String,
    price: f64,
    created: NaiveDateTime,
    note: Option<String>,
}

const SQL: &str = "SELECT id, name, price, created, note FROM item";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = fastasyncpg_testing::fresh_db().await;
    let db = fastasyncpg::connect(&url).await?;
    db.execute(
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL, price float8 NOT NULL,
                            created timestamp NOT NULL, note text);
         INSERT INTO item SELECT g, 'item ' || g, g * 0.5, '2024-01-01'::timestamp + g * interval '1 min',
                                 CASE WHEN g % 3 = 0 THEN NULL ELSE 'note' END
         FROM generate_series(1, 10000) g",
        (),
    )
    .await?;

    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let stmt = client.prepare(SQL).await?;

    let probe = db.fetchrow(SQL, ()).await?.ok_or("no row")?;
    let plan = <Item as FromRow>::plan(probe.columns())?;
    println!(
        "fields decoded directly from the binary data: {} of 5",
        plan.fast_fields()
    );
    {
        let rows = db.fetch(SQL, ()).await?;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            let t = Instant::now();
            let items: Vec<Item> = rows
                .iter()
                .map(|row| {
                    let r = row.raw();
                    Item {
                        id: r.get(0),
                        name: r.get(1),
                        price: r.get(2),
                        created: r.get(3),
                        note: r.get(4),
                    }
                })
                .collect();
            assert_eq!(items.len(), 10_000);
            a.push(t.elapsed());
            let t = Instant::now();
            let items = Item::from_rows(&rows)?;
            assert_eq!(items.len(), 10_000);
            b.push(t.elapsed());
        }
        println!(
            "decode only: by hand {:.2} ms, derive {:.2} ms",
            median(a).as_secs_f64() * 1e3,
            median(b).as_secs_f64() * 1e3
        );
    }
    let rounds = 30;
    let (mut raw, mut typed, mut raw_q, mut rows_q) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        let rows = client.query(&stmt, &[]).await?;
        assert_eq!(rows.len(), 10_000);
        drop(rows);
        raw_q.push(t.elapsed());
        let t = Instant::now();
        let rows = db.fetch(SQL, ()).await?;
        assert_eq!(rows.len(), 10_000);
        drop(rows);
        rows_q.push(t.elapsed());

        let t = Instant::now();
        let rows = client.query(&stmt, &[]).await?;
        let items: Vec<Item> = rows
            .iter()
            .map(|r| Item {
                id: r.get(0),
                name: r.get(1),
                price: r.get(2),
                created: r.get(3),
                note: r.get(4),
            })
            .collect();
        assert_eq!(items.len(), 10_000);
        drop(rows); // fetch_as frees the driver's rows too
        raw.push(t.elapsed());

        let t = Instant::now();
        let items: Vec<Item> = db.fetch_as(SQL, ()).await?;
        assert_eq!(items.len(), 10_000);
        typed.push(t.elapsed());
    }
    let (r, t) = (median(raw), median(typed));
    println!(
        "  (no decoding: tokio-postgres query {:.2} ms, fastasyncpg fetch {:.2} ms)",
        median(raw_q).as_secs_f64() * 1e3,
        median(rows_q).as_secs_f64() * 1e3
    );
    println!("10,000 rows, median of {rounds} rounds:");
    println!(
        "  raw tokio-postgres, hand-written decode: {:>8.2} ms",
        r.as_secs_f64() * 1e3
    );
    println!(
        "  fastasyncpg fetch_as::<Item> (derive):   {:>8.2} ms",
        t.as_secs_f64() * 1e3
    );
    println!("  ratio: {:.2}", t.as_secs_f64() / r.as_secs_f64());
    Ok(())
}
