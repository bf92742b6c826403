//! W6 locally: `db.refresh()` on a 200-table schema against the bench's baseline (one catalog
//! query with tokio-postgres, rows decoded into a map), interleaved, median of 50 rounds.
//!
//! ```text
//! cargo run --release -p fastasyncpg --example refresh_bench [URL]
//! ```
//!
//! Without a URL it starts a throwaway PostgreSQL and creates the bench's 200-table schema
//! (`bench/run`: 200 tables of 9 columns, each with a foreign key to the previous one, an
//! index, and a view every 10 tables).

use std::time::{Duration, Instant};

/// The bench's baseline (`bench/src/rust_impls.rs`, `SQL_CATALOG`).
const SQL_CATALOG: &str =
    "SELECT c.relname::text, c.relkind::text, a.attnum::int4, a.attname::text, \
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, \
       pg_get_expr(d.adbin, d.adrelid) AS default_expr, \
       coalesce(a.attnum = ANY(i.indkey), false) AS is_pk \
     FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
     LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') \
     ORDER BY c.relname, a.attnum";

const SCHEMA_200: &str = "DO $$ BEGIN FOR i IN 1..200 LOOP
  EXECUTE format('CREATE TABLE t%s (id bigserial PRIMARY KEY, name text NOT NULL, qty integer NOT NULL DEFAULT 0, '
    'price numeric(12,2), created timestamptz NOT NULL DEFAULT now(), active boolean, tags text[], data jsonb, ref_id bigint %s)',
    lpad(i::text, 3, '0'), CASE WHEN i > 1 THEN format('REFERENCES t%s (id)', lpad((i - 1)::text, 3, '0')) ELSE '' END);
  EXECUTE format('CREATE INDEX ON t%s (name)', lpad(i::text, 3, '0'));
  IF i % 10 = 0 THEN
    EXECUTE format('CREATE VIEW v%s AS SELECT id, name, qty FROM t%s', lpad(i::text, 3, '0'), lpad(i::text, 3, '0'));
  END IF;
END LOOP; END $$";

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

#[allow(dead_code)]
struct ColInfo {
    name: String,
    ty: String,
    not_null: bool,
    default: Option<String>,
    pk: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = match std::env::args().nth(1) {
        Some(u) => u,
        None => {
            let url = fastasyncpg_testing::fresh_db().await;
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            c.batch_execute(SCHEMA_200).await?;
            c.batch_execute("ANALYZE").await?;
            url
        }
    };
    let db = fastasyncpg::connect(&url).await?;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let baseline = || async {
        let rows = client.query_typed(SQL_CATALOG, &[]).await?;
        let mut m: std::collections::HashMap<String, (String, Vec<ColInfo>)> = Default::default();
        for r in &rows {
            let e = m.entry(r.get(0)).or_insert_with(|| (r.get(1), Vec::new()));
            e.1.push(ColInfo {
                name: r.get(3),
                ty: r.get(4),
                not_null: r.get(5),
                default: r.get(6),
                pk: r.get(7),
            });
        }
        Ok::<_, tokio_postgres::Error>(m.len())
    };
    for _ in 0..5 {
        baseline().await?;
        db.refresh().await?;
    }
    let rounds = 50;
    let (mut base, mut refresh) = (Vec::new(), Vec::new());
    let mut tables = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let n = baseline().await?;
        base.push(t.elapsed());
        let t = Instant::now();
        let s = db.refresh().await?;
        refresh.push(t.elapsed());
        tables = s.relations().len();
        assert!(n > 0);
    }
    let (b, r) = (median(base), median(refresh));
    println!("{tables} relations, median of {rounds} interleaved rounds:");
    println!("  baseline (tokio-postgres one catalog query): {b:>8.2} ms");
    println!("  db.refresh():                                {r:>8.2} ms");
    println!("  ratio: {:.2}", r / b);
    Ok(())
}
