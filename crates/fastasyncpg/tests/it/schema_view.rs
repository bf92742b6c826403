//! One view of the database (issue 10): the snapshot covers every schema the user can see, and
//! `db.tables()`, `db.t` / `db.v`, `check_model` and generated modules agree on what exists
//! and how a name resolves. The CLI half (`tables`, `describe`, `gen` run as a binary) is in
//! `crates/fastasyncpg-cli/tests/schema_view.rs`, on the same schema (`sql/schema_view.sql`).

use std::time::{Duration, Instant};

use crate::common::db;

/// The benchmark's W6 schema: 200 tables (9 columns, a foreign key, an index each) and 20
/// views.
pub const W6_SCHEMA: &str = r#"
DO $$
BEGIN
  FOR i IN 1..200 LOOP
    EXECUTE format(
      'CREATE TABLE t%s (id bigserial PRIMARY KEY, name text NOT NULL, qty integer NOT NULL DEFAULT 0, '
      'price numeric(12,2), created timestamptz NOT NULL DEFAULT now(), active boolean, tags text[], '
      'data jsonb, ref_id bigint %s)',
      lpad(i::text, 3, '0'),
      CASE WHEN i > 1 THEN format('REFERENCES t%s (id)', lpad((i - 1)::text, 3, '0')) ELSE '' END);
    EXECUTE format('CREATE INDEX ON t%s (name)', lpad(i::text, 3, '0'));
    IF i % 10 = 0 THEN
      EXECUTE format('CREATE VIEW v%s AS SELECT id, name, qty FROM t%s', lpad(i::text, 3, '0'), lpad(i::text, 3, '0'));
    END IF;
  END LOOP;
END $$;
ANALYZE;
"#;

/// W6-style timing of `refresh` on the 200-table schema (median of 40 after 5 warm-ups).
/// Ignored by default: `cargo test --release -p fastasyncpg --test it refresh_timing -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "timing: run with --ignored --nocapture"]
async fn refresh_timing_200_tables() {
    let db = db().await;
    db.execute(W6_SCHEMA, ()).await.unwrap();
    for _ in 0..5 {
        db.refresh().await.unwrap();
    }
    let mut times = vec![Duration::ZERO; 40];
    for t in times.iter_mut() {
        let t0 = Instant::now();
        let snap = db.refresh().await.unwrap();
        *t = t0.elapsed();
        assert_eq!(snap.tables().count(), 200);
    }
    report("refresh (round trip + parse)", &mut times);
    // The catalog statement alone (server time and transfer, no parsing), as the refresh sends it.
    let sql = include_str!("../../src/schema/introspect.sql").replace("{schemas}", "NULL::text[]");
    for t in times.iter_mut() {
        let t0 = Instant::now();
        db.execute(&sql, ()).await.unwrap();
        *t = t0.elapsed();
    }
    report("catalog statement alone", &mut times);
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}, 200 tables: median {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}
