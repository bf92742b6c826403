//! The Rust implementations of every workload: raw tokio-postgres (the baseline, written the way
//! a careful user would: statements prepared once and reused, binary COPY, UNNEST batches),
//! fastasyncpg (dynamic rows, and typed through the raw row until the model derive lands), and
//! sqlx (query_as with its prepared-statement cache).
//!
//! Each function runs in a process of its own (`fab one`), connects, warms up, then times only
//! the workload itself.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{pin_mut, SinkExt, StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use sqlx::{Connection, Row as _};
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

use crate::params::{Outcome, Params};
use crate::pending;

pub type BoxErr = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type R<T> = Result<T, BoxErr>;

pub const SQL_W1: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
pub const SQL_W1T: &str = "SELECT aid, bid, abalance, filler FROM pgbench_accounts WHERE aid = $1";
pub const SQL_W3: &str = "SELECT aid, bid, abalance, filler FROM pgbench_accounts WHERE aid BETWEEN $1 AND $2";
pub const SQL_W7: &str = "SELECT g AS id, g % 1000 AS qty, 'name ' || g AS name, 'note for row number ' || g AS note \
                          FROM generate_series(1, $1::int4) AS g";
/// W9 and W11 read the harness's 1,000,000-row table (made by `bench/run`).
pub const SQL_W11: &str = "SELECT id, name, qty, note FROM bench_copy_src WHERE id <= $1";
pub const DDL_W10: &str = "CREATE TABLE IF NOT EXISTS bench_load (id bigint, name text NOT NULL, qty integer NOT NULL, note text)";
pub const SQL_W10_COPY: &str = "COPY bench_load (id, name, qty, note) FROM STDIN (FORMAT csv, HEADER)";
pub const DDL_W4: &str = "CREATE TABLE IF NOT EXISTS bench_insert (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL, note text)";
pub const DDL_W5: &str = "CREATE TABLE IF NOT EXISTS bench_upsert (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL, note text)";
pub const SQL_INSERT: &str = "INSERT INTO bench_insert (id, name, qty, note) VALUES ($1, $2, $3, $4)";
pub const SQL_INSERT_UNNEST: &str = "INSERT INTO bench_insert (id, name, qty, note) \
     SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int4[], $4::text[])";
pub const SQL_UPSERT: &str = "INSERT INTO bench_upsert (id, name, qty, note) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, note = EXCLUDED.note";
pub const SQL_UPSERT_UNNEST: &str = "INSERT INTO bench_upsert (id, name, qty, note) \
     SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int4[], $4::text[]) \
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, note = EXCLUDED.note";
/// Everything a table API needs to know about every table and view of a schema, in one query.
pub const SQL_CATALOG: &str = "SELECT c.relname::text, c.relkind::text, a.attnum::int4, a.attname::text, \
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

/// One pgbench_accounts row as a typed struct.
#[derive(Debug, sqlx::FromRow)]
#[allow(dead_code)]
pub struct Account {
    pub aid: i32,
    pub bid: i32,
    pub abalance: i32,
    pub filler: String,
}

impl Account {
    fn from_pg(r: &tokio_postgres::Row) -> Account {
        Account { aid: r.get(0), bid: r.get(1), abalance: r.get(2), filler: r.get(3) }
    }
}

/// A row for the insert/upsert workloads.
#[derive(Debug, Clone)]
pub struct Rec {
    pub id: i64,
    pub name: String,
    pub qty: i32,
    pub note: Option<String>,
}

pub fn records(n: u64, tag: &str) -> Vec<Rec> {
    (1..=n as i64)
        .map(|i| Rec {
            id: i,
            name: format!("{tag} name {i}"),
            qty: (i % 1000) as i32,
            note: if i % 10 == 0 { None } else { Some(format!("note {i}")) },
        })
        .collect()
}

/// xorshift64*: the same cheap random aids for every implementation.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn aid(&mut self, n: u64) -> i32 {
        (1 + self.next() % n.max(1)) as i32
    }
}

/// A value from /proc/self/status in kB (VmRSS, VmHWM).
pub fn proc_status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets VmHWM to the current RSS (Linux >= 4.0); false if that is not possible.
pub fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

pub async fn raw_connect(url: &str) -> R<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// On-CPU time of this process so far, in ns: the sum of /proc/self/task/*/schedstat.
pub fn cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0 };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|x| x.parse::<u64>().ok()))
        .sum()
}

/// Wall-clock and CPU time of a timed section.
pub struct Clock {
    t0: Instant,
    cpu0: u64,
}

pub struct Span {
    pub el: Duration,
    pub cpu_ns: u64,
}

impl Clock {
    pub fn start() -> Clock {
        Clock { cpu0: cpu_ns(), t0: Instant::now() }
    }
    pub fn stop(&self) -> Span {
        let el = self.t0.elapsed();
        Span { el, cpu_ns: cpu_ns().saturating_sub(self.cpu0) }
    }
}

/// A rate, with the client's CPU time per operation (µs) as `cpu_us_per_op`.
fn rate_cpu(count: u64, sp: Span, unit: &str) -> Outcome {
    let mut o = rate(count, sp.el, unit);
    if sp.cpu_ns > 0 && count > 0 {
        o = o.with("cpu_us_per_op", sp.cpu_ns as f64 / 1000.0 / count as f64);
    }
    o
}

fn rate(count: u64, el: Duration, unit: &str) -> Outcome {
    Outcome::value(count as f64 / el.as_secs_f64(), unit)
}

/// How much a timed loop does: `n` iterations, or until a deadline.
#[derive(Clone, Copy)]
pub struct Budget {
    n: u64,
    deadline: Option<Instant>,
}

impl Budget {
    fn start(p: &Params) -> Budget {
        Budget::new(p.n, p.seconds)
    }
    fn new(n: u64, seconds: f64) -> Budget {
        let deadline = (seconds > 0.0).then(|| Instant::now() + Duration::from_secs_f64(seconds));
        Budget { n, deadline }
    }
    /// True while another iteration should run, after `done` of them.
    #[inline]
    fn more(&self, done: u64) -> bool {
        match self.deadline {
            Some(d) => done == 0 || Instant::now() < d,
            None => done < self.n,
        }
    }
}

/// Runs `body(aid)` `warmup` times untimed, then timed for the budget; returns (count, time).
macro_rules! seq_loop {
    ($p:expr, $aid:ident => $body:expr) => {{
        let mut rng = Rng::new(7);
        let mut sink: i64 = 0;
        for _ in 0..$p.warmup {
            let $aid = rng.aid($p.naccounts);
            sink = sink.wrapping_add($body);
        }
        let clock = Clock::start();
        let budget = Budget::start($p);
        let mut count = 0u64;
        while budget.more(count) {
            let $aid = rng.aid($p.naccounts);
            sink = sink.wrapping_add($body);
            count += 1;
        }
        let span = clock.stop();
        std::hint::black_box(sink);
        (count, span)
    }};
}

fn value_i64(v: &fastasyncpg::Value) -> i64 {
    // Only to keep the optimizer honest; works with any Value variant.
    match v {
        fastasyncpg::Value::Null => 0,
        other => other.type_name().len() as i64,
    }
}

pub fn run_one(p: &Params) -> Outcome {
    let rt = if p.workload.starts_with("w2") {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => return Outcome::error(e),
    };
    match rt.block_on(dispatch(p)) {
        Ok(o) => o,
        Err(e) => Outcome::error(format!("{e}{}", source_chain(e.as_ref()))),
    }
}

fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = String::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}

async fn dispatch(p: &Params) -> R<Outcome> {
    match p.workload.as_str() {
        "w1" => w1(p).await,
        "w1t" => w1t(p).await,
        "w2" => w2(p).await,
        "w2p" => w2p(p).await,
        "w3" => w3(p).await,
        "w4" => w4(p).await,
        "w5" => w5(p).await,
        "w6" | "w6c" => w6(p).await,
        "w7" => w7(p).await,
        "w9" => w9(p).await,
        "w10" => w10(p).await,
        "w11" => w11(p).await,
        w => Err(format!("unknown workload {w}").into()),
    }
}

fn unknown(p: &Params) -> R<Outcome> {
    Err(format!("no Rust implementation {:?} of {}", p.imp, p.workload).into())
}

// ---------------------------------------------------------------------------------------------
// W1: get by primary key, one connection, sequential.

async fn w1(p: &Params) -> R<Outcome> {
    let (count, span) = match p.imp.as_str() {
        "tokio-postgres" => {
            let c = raw_connect(&p.url).await?;
            let st = c.prepare(SQL_W1).await?;
            seq_loop!(p, aid => {
                let row = c.query_one(&st, &[&aid]).await?;
                row.get::<_, i32>(0) as i64
            })
        }
        "fastasyncpg" => {
            let db = fastasyncpg::connect(&p.url).await?;
            seq_loop!(p, aid => db.fetchval::<i64>(SQL_W1, (aid,)).await?)
        }
        "fastasyncpg-rawtyped" => {
            let db = fastasyncpg::connect(&p.url).await?;
            seq_loop!(p, aid => {
                let row = db.fetchrow(SQL_W1, (aid,)).await?.ok_or("no row")?;
                row.raw().get::<_, i32>(0) as i64
            })
        }
        "fastasyncpg-model" => {
            if !pending::MODELS {
                return Ok(Outcome::na(pending::MODELS_NA));
            }
            let db = fastasyncpg::connect(&p.url).await?;
            seq_loop!(p, aid => pending::model_w1(&db, SQL_W1, aid).await?)
        }
        "sqlx" => {
            let mut c = sqlx::PgConnection::connect(&p.url).await?;
            seq_loop!(p, aid => {
                sqlx::query_scalar::<_, i32>(SQL_W1).bind(aid).fetch_one(&mut c).await? as i64
            })
        }
        _ => return unknown(p),
    };
    Ok(rate_cpu(count, span, "q/s"))
}

// W1t: get a whole row by primary key through each library's most direct API.
async fn w1t(p: &Params) -> R<Outcome> {
    let (count, span) = match p.imp.as_str() {
        "tokio-postgres" => {
            let c = raw_connect(&p.url).await?;
            let st = c.prepare(SQL_W1T).await?;
            seq_loop!(p, aid => {
                let row = c.query_opt(&st, &[&aid]).await?.ok_or("no row")?;
                Account::from_pg(&row).abalance as i64
            })
        }
        "fastasyncpg" => {
            if !pending::TABLE_API {
                return Ok(Outcome::na(pending::TABLE_NA));
            }
            let db = fastasyncpg::connect(&p.url).await?;
            seq_loop!(p, aid => {
                let row = pending::table_get(&db, "pgbench_accounts", aid).await?.ok_or("no row")?;
                row.values()?.iter().map(value_i64).sum::<i64>()
            })
        }
        "fastasyncpg-model" => {
            if !pending::MODELS {
                return Ok(Outcome::na(pending::MODELS_NA));
            }
            let db = fastasyncpg::connect(&p.url).await?;
            seq_loop!(p, aid => pending::model_get(&db, aid).await?)
        }
        "sqlx" => {
            let mut c = sqlx::PgConnection::connect(&p.url).await?;
            seq_loop!(p, aid => {
                let a: Account = sqlx::query_as(SQL_W1T).bind(aid).fetch_one(&mut c).await?;
                a.abalance as i64
            })
        }
        _ => return unknown(p),
    };
    Ok(rate_cpu(count, span, "q/s"))
}

// ---------------------------------------------------------------------------------------------
// W2: get by primary key through a pool of `pool` connections from `tasks` concurrent tasks;
// W2p: the same with every task sharing its connection (queries pipelined on it).

/// Runs `tasks` tasks (`make(task, budget)`, each answering how many queries it ran) and
/// returns (queries, time).
async fn concurrent<F, Fut>(tasks: u64, budget: Budget, make: F) -> R<(u64, Span)>
where
    F: Fn(u64, Budget) -> Fut,
    Fut: Future<Output = R<u64>> + Send + 'static,
{
    let clock = Clock::start();
    let hs: Vec<_> = (0..tasks).map(|i| tokio::spawn(make(i, budget))).collect();
    let mut count = 0;
    for h in hs {
        count += h.await??;
    }
    Ok((count, clock.stop()))
}

/// Warm-up then timed run of `concurrent`.
async fn concurrent_timed<F, Fut>(p: &Params, make: F) -> R<Outcome>
where
    F: Fn(u64, Budget) -> Fut,
    Fut: Future<Output = R<u64>> + Send + 'static,
{
    concurrent(p.tasks, Budget::new((p.warmup / p.tasks).max(1), 0.0), &make).await?;
    let (count, span) = concurrent(p.tasks, Budget::new((p.n / p.tasks).max(1), p.seconds), &make).await?;
    Ok(rate_cpu(count, span, "q/s"))
}

async fn w2(p: &Params) -> R<Outcome> {
    let nacc = p.naccounts;
    match p.imp.as_str() {
        "tokio-postgres" => {
            // deadpool-postgres with its per-connection statement cache: the usual raw setup.
            let cfg: tokio_postgres::Config = p.url.parse()?;
            let mgr = deadpool_postgres::Manager::from_config(
                cfg,
                NoTls,
                deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
            );
            let pool = deadpool_postgres::Pool::builder(mgr).max_size(p.pool as usize).build()?;
            concurrent_timed(p, |i, b| {
                let pool = pool.clone();
                async move {
                    let mut rng = Rng::new(100 + i);
                    let (mut s, mut done) = (0i64, 0u64);
                    while b.more(done) {
                        done += 1;
                        let c = pool.get().await?;
                        let st = c.prepare_cached(SQL_W1).await?;
                        s += c.query_one(&st, &[&rng.aid(nacc)]).await?.get::<_, i32>(0) as i64;
                    }
                    std::hint::black_box(s);
                    Ok(done)
                }
            })
            .await
        }
        "fastasyncpg" | "fastasyncpg-reset-always" => {
            let reset = if p.imp == "fastasyncpg" {
                fastasyncpg::ResetPolicy::WhenNeeded
            } else {
                fastasyncpg::ResetPolicy::Always
            };
            let db = fastasyncpg::ConnectOptions::parse(&p.url)?
                .create_pool(fastasyncpg::PoolOptions::default().max_size(p.pool as usize).reset(reset))
                .await?;
            concurrent_timed(p, |i, b| {
                let db = db.clone();
                async move {
                    let mut rng = Rng::new(100 + i);
                    let (mut s, mut done) = (0i64, 0u64);
                    while b.more(done) {
                        done += 1;
                        s += db.fetchval::<i64>(SQL_W1, (rng.aid(nacc),)).await?;
                    }
                    std::hint::black_box(s);
                    Ok(done)
                }
            })
            .await
        }
        "sqlx" => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(p.pool as u32)
                .min_connections(p.pool as u32)
                .connect(&p.url)
                .await?;
            concurrent_timed(p, |i, b| {
                let pool = pool.clone();
                async move {
                    let mut rng = Rng::new(100 + i);
                    let (mut s, mut done) = (0i64, 0u64);
                    while b.more(done) {
                        done += 1;
                        s += sqlx::query_scalar::<_, i32>(SQL_W1).bind(rng.aid(nacc)).fetch_one(&pool).await? as i64;
                    }
                    std::hint::black_box(s);
                    Ok(done)
                }
            })
            .await
        }
        _ => unknown(p),
    }
}

async fn w2p(p: &Params) -> R<Outcome> {
    let nacc = p.naccounts;
    match p.imp.as_str() {
        "tokio-postgres" => {
            // `pool` clients shared by all tasks: tokio-postgres pipelines concurrent queries.
            let mut conns = Vec::new();
            for _ in 0..p.pool {
                let c = raw_connect(&p.url).await?;
                let st = c.prepare(SQL_W1).await?;
                conns.push(Arc::new((c, st)));
            }
            concurrent_timed(p, |i, b| {
                let cs = conns[(i % conns.len() as u64) as usize].clone();
                async move {
                    let (c, st) = &*cs;
                    let mut rng = Rng::new(100 + i);
                    let (mut s, mut done) = (0i64, 0u64);
                    while b.more(done) {
                        done += 1;
                        s += c.query_one(st, &[&rng.aid(nacc)]).await?.get::<_, i32>(0) as i64;
                    }
                    std::hint::black_box(s);
                    Ok(done)
                }
            })
            .await
        }
        "fastasyncpg" => {
            // `pool` connections held from the pool; clones of a held handle share (pipeline) it.
            let pool = fastasyncpg::ConnectOptions::parse(&p.url)?
                .create_pool(fastasyncpg::PoolOptions::default().max_size(p.pool as usize))
                .await?;
            let mut held = Vec::new();
            for _ in 0..p.pool {
                held.push(pool.acquire().await?);
            }
            concurrent_timed(p, |i, b| {
                let db = held[(i % held.len() as u64) as usize].clone();
                async move {
                    let mut rng = Rng::new(100 + i);
                    let (mut s, mut done) = (0i64, 0u64);
                    while b.more(done) {
                        done += 1;
                        s += db.fetchval::<i64>(SQL_W1, (rng.aid(nacc),)).await?;
                    }
                    std::hint::black_box(s);
                    Ok(done)
                }
            })
            .await
        }
        _ => unknown(p),
    }
}

// ---------------------------------------------------------------------------------------------
// W3: fetch `rows` rows × 4 columns, typed structs or dynamic rows.

async fn w3(p: &Params) -> R<Outcome> {
    let span = p.rows as i32;
    let hi_max = (p.naccounts as i32 - span).max(1) as u64;
    let mut got = 0u64;
    let mut count = 0u64;
    macro_rules! fetch_loop {
        ($lo:ident, $hi:ident => $body:expr) => {{
            let mut rng = Rng::new(3);
            for _ in 0..p.warmup {
                let $lo = rng.aid(hi_max);
                let $hi = $lo + span - 1;
                std::hint::black_box($body);
            }
            let clock = Clock::start();
            let budget = Budget::start(p);
            while budget.more(count) {
                let $lo = rng.aid(hi_max);
                let $hi = $lo + span - 1;
                got += std::hint::black_box($body) as u64;
                count += 1;
            }
            clock.stop()
        }};
    }
    let sp = match p.imp.as_str() {
        "tokio-postgres" => {
            let c = raw_connect(&p.url).await?;
            let st = c.prepare(SQL_W3).await?;
            fetch_loop!(lo, hi => {
                let rows = c.query(&st, &[&lo, &hi]).await?;
                let v: Vec<Account> = rows.iter().map(Account::from_pg).collect();
                v.len()
            })
        }
        "fastasyncpg" => {
            // Dynamic rows, every value read as a Value.
            let db = fastasyncpg::connect(&p.url).await?;
            fetch_loop!(lo, hi => {
                let rows = db.fetch(SQL_W3, (lo, hi)).await?;
                let mut x = 0i64;
                for r in &rows {
                    for i in 0..4 {
                        x += value_i64(&r.value(i)?);
                    }
                }
                std::hint::black_box(x);
                rows.len()
            })
        }
        "fastasyncpg-rawtyped" => {
            let db = fastasyncpg::connect(&p.url).await?;
            fetch_loop!(lo, hi => {
                let rows = db.fetch(SQL_W3, (lo, hi)).await?;
                let v: Vec<Account> = rows.iter().map(|r| Account::from_pg(r.raw())).collect();
                v.len()
            })
        }
        "fastasyncpg-model" => {
            if !pending::MODELS {
                return Ok(Outcome::na(pending::MODELS_NA));
            }
            let db = fastasyncpg::connect(&p.url).await?;
            fetch_loop!(lo, hi => pending::model_fetch(&db, SQL_W3, lo, hi).await?)
        }
        "sqlx" => {
            let mut c = sqlx::PgConnection::connect(&p.url).await?;
            fetch_loop!(lo, hi => {
                let v: Vec<Account> = sqlx::query_as(SQL_W3).bind(lo).bind(hi).fetch_all(&mut c).await?;
                v.len()
            })
        }
        _ => return unknown(p),
    };
    if got != count * p.rows {
        return Err(format!("fetched {got} rows, expected {}", count * p.rows).into());
    }
    let cpu = sp.cpu_ns;
    let mut o = rate(got, sp.el, "rows/s");
    if cpu > 0 {
        o = o.with("cpu_us_per_op", cpu as f64 / 1000.0 / count as f64);
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// W4: bulk insert of `rows` rows (4 columns) into an empty table, `n` times.

async fn w4(p: &Params) -> R<Outcome> {
    if p.imp == "fastasyncpg" && !pending::TABLE_API {
        return Ok(Outcome::na(pending::TABLE_NA));
    }
    let admin = raw_connect(&p.url).await?;
    admin.batch_execute(DDL_W4).await?;
    let recs = records(p.rows, "w4");
    let mut total = Duration::ZERO;
    for _ in 0..p.n {
        admin.batch_execute("TRUNCATE bench_insert").await?;
        total += match p.imp.as_str() {
            "tokio-postgres" => {
                // Binary COPY.
                let c = raw_connect(&p.url).await?;
                let t0 = Instant::now();
                let sink = c.copy_in("COPY bench_insert (id, name, qty, note) FROM STDIN (FORMAT binary)").await?;
                let w = tokio_postgres::binary_copy::BinaryCopyInWriter::new(
                    sink,
                    &[Type::INT8, Type::TEXT, Type::INT4, Type::TEXT],
                );
                pin_mut!(w);
                for r in &recs {
                    w.as_mut().write(&[&r.id, &r.name, &r.qty, &r.note]).await?;
                }
                w.finish().await?;
                t0.elapsed()
            }
            "tokio-postgres-pipelined" => {
                // One prepared INSERT per row, all pipelined, in one transaction.
                let mut c = raw_connect(&p.url).await?;
                let t0 = Instant::now();
                let tx = c.transaction().await?;
                let st = tx.prepare(SQL_INSERT).await?;
                futures_util::stream::iter(recs.iter())
                    .map(|r| {
                        let (tx, st) = (&tx, &st);
                        async move { tx.execute(st, &[&r.id, &r.name, &r.qty, &r.note]).await }
                    })
                    .buffered(1024)
                    .try_for_each(|_| async { Ok(()) })
                    .await?;
                tx.commit().await?;
                t0.elapsed()
            }
            "fastasyncpg" => {
                let db = fastasyncpg::connect(&p.url).await?;
                let t0 = Instant::now();
                pending::inserts(&db, "bench_insert", &recs).await?;
                t0.elapsed()
            }
            "fastasyncpg-executemany" => {
                let db = fastasyncpg::connect(&p.url).await?;
                let t0 = Instant::now();
                db.executemany(SQL_INSERT, recs.iter().map(|r| (r.id, r.name.clone(), r.qty, r.note.clone())))
                    .await?;
                t0.elapsed()
            }
            "sqlx" => {
                let mut c = sqlx::PgConnection::connect(&p.url).await?;
                let t0 = Instant::now();
                sqlx_unnest(&mut c, SQL_INSERT_UNNEST, &recs).await?;
                t0.elapsed()
            }
            _ => return unknown(p),
        };
        let n: i64 = admin.query_one("SELECT count(*) FROM bench_insert", &[]).await?.get(0);
        if n as u64 != p.rows {
            return Err(format!("inserted {n} rows, expected {}", p.rows).into());
        }
    }
    Ok(rate(p.n * p.rows, total, "rows/s"))
}

/// sqlx's idiomatic bulk write: one statement binding four arrays.
async fn sqlx_unnest(c: &mut sqlx::PgConnection, sql: &str, recs: &[Rec]) -> R<()> {
    let ids: Vec<i64> = recs.iter().map(|r| r.id).collect();
    let names: Vec<String> = recs.iter().map(|r| r.name.clone()).collect();
    let qtys: Vec<i32> = recs.iter().map(|r| r.qty).collect();
    let notes: Vec<Option<String>> = recs.iter().map(|r| r.note.clone()).collect();
    sqlx::query(sql).bind(ids).bind(names).bind(qtys).bind(notes).execute(c).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// W5: upsert `rows` rows into a table holding the first half of them, `n` times.

async fn w5(p: &Params) -> R<Outcome> {
    if p.imp == "fastasyncpg" && !pending::TABLE_API {
        return Ok(Outcome::na(pending::TABLE_NA));
    }
    let admin = raw_connect(&p.url).await?;
    admin.batch_execute(DDL_W5).await?;
    let recs = records(p.rows, "w5");
    let mut total = Duration::ZERO;
    for _ in 0..p.n {
        admin
            .batch_execute(&format!(
                "TRUNCATE bench_upsert; INSERT INTO bench_upsert SELECT g, 'old ' || g, 0, NULL FROM generate_series(1, {}) g; ANALYZE bench_upsert",
                p.rows / 2
            ))
            .await?;
        total += match p.imp.as_str() {
            "tokio-postgres" => {
                let c = raw_connect(&p.url).await?;
                let t0 = Instant::now();
                let ids: Vec<i64> = recs.iter().map(|r| r.id).collect();
                let names: Vec<&str> = recs.iter().map(|r| r.name.as_str()).collect();
                let qtys: Vec<i32> = recs.iter().map(|r| r.qty).collect();
                let notes: Vec<Option<&str>> = recs.iter().map(|r| r.note.as_deref()).collect();
                c.execute(SQL_UPSERT_UNNEST, &[&ids, &names, &qtys, &notes]).await?;
                t0.elapsed()
            }
            "fastasyncpg" => {
                let db = fastasyncpg::connect(&p.url).await?;
                let t0 = Instant::now();
                pending::upserts(&db, "bench_upsert", &recs).await?;
                t0.elapsed()
            }
            "fastasyncpg-executemany" => {
                let db = fastasyncpg::connect(&p.url).await?;
                let t0 = Instant::now();
                db.executemany(SQL_UPSERT, recs.iter().map(|r| (r.id, r.name.clone(), r.qty, r.note.clone())))
                    .await?;
                t0.elapsed()
            }
            "sqlx" => {
                let mut c = sqlx::PgConnection::connect(&p.url).await?;
                let t0 = Instant::now();
                sqlx_unnest(&mut c, SQL_UPSERT_UNNEST, &recs).await?;
                t0.elapsed()
            }
            _ => return unknown(p),
        };
        let n: i64 = admin
            .query_one("SELECT count(*) FROM bench_upsert WHERE name LIKE 'w5 %'", &[])
            .await?
            .get(0);
        if n as u64 != p.rows {
            return Err(format!("upserted {n} rows, expected {}", p.rows).into());
        }
    }
    Ok(rate(p.n * p.rows, total, "rows/s"))
}

// ---------------------------------------------------------------------------------------------
// W6: metadata refresh (every table's columns, types, defaults, primary key).

/// The proxy's count of round trips so far (see `proxy.rs`).
pub fn proxy_count(ctl: &str) -> R<u64> {
    use std::io::Read;
    if ctl.is_empty() {
        return Err("no proxy".into());
    }
    let mut s = std::net::TcpStream::connect(ctl)?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    Ok(buf.trim().parse()?)
}

#[allow(dead_code)]
pub struct ColInfo {
    pub name: String,
    pub ty: String,
    pub not_null: bool,
    pub default: Option<String>,
    pub pk: bool,
}

async fn w6(p: &Params) -> R<Outcome> {
    let (el, rt0, rt1) = match p.imp.as_str() {
        "tokio-postgres" => {
            let c = raw_connect(&p.url).await?;
            let refresh = || async {
                // query_typed: parse, bind and execute in one round trip.
                let rows = c.query_typed(SQL_CATALOG, &[]).await?;
                let mut m: std::collections::HashMap<String, (String, Vec<ColInfo>)> = Default::default();
                for r in &rows {
                    let e = m.entry(r.get(0)).or_insert_with(|| (r.get(1), Vec::new()));
                    e.1.push(ColInfo { name: r.get(3), ty: r.get(4), not_null: r.get(5), default: r.get(6), pk: r.get(7) });
                }
                Ok::<_, BoxErr>(m.len())
            };
            for _ in 0..p.warmup {
                refresh().await?;
            }
            let rt0 = proxy_count(&p.proxy_ctl).ok();
            let t0 = Instant::now();
            let mut tables = 0;
            for _ in 0..p.n {
                tables = refresh().await?;
            }
            let el = t0.elapsed();
            if tables == 0 {
                return Err("the catalog query found no table".into());
            }
            (el, rt0, proxy_count(&p.proxy_ctl).ok())
        }
        "fastasyncpg" => {
            if !pending::TABLE_API {
                return Ok(Outcome::na(pending::TABLE_NA));
            }
            let db = fastasyncpg::connect(&p.url).await?;
            for _ in 0..p.warmup {
                pending::refresh(&db).await?;
            }
            let rt0 = proxy_count(&p.proxy_ctl).ok();
            let t0 = Instant::now();
            for _ in 0..p.n {
                pending::refresh(&db).await?;
            }
            (t0.elapsed(), rt0, proxy_count(&p.proxy_ctl).ok())
        }
        _ => return unknown(p),
    };
    let mut o = Outcome::value(el.as_secs_f64() * 1000.0 / p.n as f64, "ms");
    if let (Some(a), Some(b)) = (rt0, rt1) {
        o = o.with("round_trips", (b - a) as f64 / p.n as f64);
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// W7: stream `rows` rows through a cursor; peak RSS growth.

async fn w7(p: &Params) -> R<Outcome> {
    let n = p.rows as i32;
    let mut count = 0u64;
    let mut sink = 0i64;
    // Connect and warm up first, then reset the high-water mark.
    enum Conn {
        Raw(tokio_postgres::Client, tokio_postgres::Statement),
        Fa(fastasyncpg::Database),
        Sqlx(sqlx::PgConnection),
    }
    let mut conn = match p.imp.as_str() {
        "tokio-postgres" => {
            let c = raw_connect(&p.url).await?;
            let st = c.prepare(SQL_W7).await?;
            c.query(&st, &[&10i32]).await?;
            Conn::Raw(c, st)
        }
        "fastasyncpg" => {
            let db = fastasyncpg::connect(&p.url).await?;
            db.fetch(SQL_W7, (10i32,)).await?;
            Conn::Fa(db)
        }
        "sqlx" => {
            let mut c = sqlx::PgConnection::connect(&p.url).await?;
            sqlx::query(SQL_W7).bind(10i32).fetch_all(&mut c).await?;
            Conn::Sqlx(c)
        }
        _ => return unknown(p),
    };
    let hwm_reset = reset_hwm();
    let rss0 = proc_status_kb("VmRSS").ok_or("no VmRSS")?;
    let hwm0 = proc_status_kb("VmHWM").ok_or("no VmHWM")?;
    let t0 = Instant::now();
    match &mut conn {
        Conn::Raw(c, st) => {
            let s = c.query_raw(&*st, &[&n]).await?;
            pin_mut!(s);
            while let Some(r) = s.next().await {
                let r = r?;
                sink += r.get::<_, i32>(1) as i64 + r.get::<_, &str>(2).len() as i64;
                count += 1;
            }
        }
        Conn::Fa(db) => {
            let mut s = db.cursor(SQL_W7, (n,)).await?;
            while let Some(r) = s.next().await {
                let r = r?;
                sink += value_i64(&r.value(1)?) + value_i64(&r.value(2)?);
                count += 1;
            }
        }
        Conn::Sqlx(c) => {
            let mut s = sqlx::query(SQL_W7).bind(n).fetch(&mut *c);
            while let Some(r) = s.next().await {
                let r = r?;
                sink += r.get::<i32, _>(1) as i64 + r.get::<&str, _>(2).len() as i64;
                count += 1;
            }
        }
    }
    let el = t0.elapsed();
    std::hint::black_box(sink);
    if count != p.rows {
        return Err(format!("streamed {count} rows, expected {}", p.rows).into());
    }
    let hwm1 = proc_status_kb("VmHWM").ok_or("no VmHWM")?;
    let base = if hwm_reset { rss0 } else { hwm0 };
    let growth_mb = hwm1.saturating_sub(base) as f64 / 1024.0;
    let mut o = Outcome::value(growth_mb, "MB").with("rows_per_s", count as f64 / el.as_secs_f64());
    if !hwm_reset {
        o.note = Some("VmHWM could not be reset; growth is measured from the earlier peak".into());
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// W9: COPY the result of a query (`rows` rows × 4 columns, text format) out to a file.

/// The query W9 copies out (a literal bound: every peer runs the same text, psql included).
pub fn sql_w9(rows: u64) -> String {
    format!("SELECT id, name, qty, note FROM bench_copy_src WHERE id <= {rows}")
}

/// Lines in a file (COPY text output: one per row).
fn file_lines(path: &str) -> R<u64> {
    let b = std::fs::read(path)?;
    Ok(b.iter().filter(|&&c| c == b'\n').count() as u64)
}

async fn w9(p: &Params) -> R<Outcome> {
    if p.file.is_empty() {
        return Err("W9 needs params.file".into());
    }
    let sql = sql_w9(p.rows);
    let copy_sql = format!("COPY ({sql}) TO STDOUT");
    let (el, n) = match p.imp.as_str() {
        "tokio-postgres" => {
            // copy_out yields one chunk per row: a careful user buffers the file writes.
            let c = raw_connect(&p.url).await?;
            c.batch_execute("SELECT 1").await?;
            let t0 = Instant::now();
            let f = tokio::fs::File::create(&p.file).await?;
            let mut w = tokio::io::BufWriter::with_capacity(64 << 10, f);
            let s = c.copy_out(copy_sql.as_str()).await?;
            pin_mut!(s);
            while let Some(chunk) = s.next().await {
                w.write_all(&chunk?).await?;
            }
            w.flush().await?;
            (t0.elapsed(), None)
        }
        "fastasyncpg" => {
            let db = fastasyncpg::connect(&p.url).await?;
            db.execute("SELECT 1", ()).await?;
            let t0 = Instant::now();
            let n = db.copy_from_query_to_path(&sql, (), &p.file, &fastasyncpg::CopyOptions::new()).await?;
            (t0.elapsed(), Some(n))
        }
        "fastasyncpg-bufwriter" => {
            let db = fastasyncpg::connect(&p.url).await?;
            db.execute("SELECT 1", ()).await?;
            let t0 = Instant::now();
            let f = tokio::fs::File::create(&p.file).await?;
            let mut w = tokio::io::BufWriter::with_capacity(64 << 10, f);
            let n = db.copy_from_query(&sql, (), &mut w, &fastasyncpg::CopyOptions::new()).await?;
            (t0.elapsed(), Some(n))
        }
        _ => return unknown(p),
    };
    let lines = file_lines(&p.file)?;
    let _ = std::fs::remove_file(&p.file);
    if lines != p.rows || n.is_some_and(|n| n != p.rows) {
        return Err(format!("copied {lines} lines (reported {n:?}), expected {}", p.rows).into());
    }
    Ok(rate(p.rows, el, "rows/s"))
}

// ---------------------------------------------------------------------------------------------
// W10: load a CSV file of `rows` rows (with a header line) into an empty table.

/// Truncates (creating it if needed) W10's table; answers a connection for the count check.
pub async fn w10_reset(url: &str) -> R<tokio_postgres::Client> {
    let admin = raw_connect(url).await?;
    admin.batch_execute(DDL_W10).await?;
    admin.batch_execute("TRUNCATE bench_load").await?;
    Ok(admin)
}

async fn w10(p: &Params) -> R<Outcome> {
    if p.file.is_empty() {
        return Err("W10 needs params.file".into());
    }
    let admin = w10_reset(&p.url).await?;
    let (el, n) = match p.imp.as_str() {
        "tokio-postgres" => {
            // copy_in fed from the file in 64 KiB chunks.
            let c = raw_connect(&p.url).await?;
            c.batch_execute("SELECT 1").await?;
            let t0 = Instant::now();
            let mut f = tokio::fs::File::open(&p.file).await?;
            let sink = c.copy_in::<_, bytes::Bytes>(SQL_W10_COPY).await?;
            pin_mut!(sink);
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let k = f.read(&mut buf).await?;
                if k == 0 {
                    break;
                }
                sink.send(bytes::Bytes::copy_from_slice(&buf[..k])).await?;
            }
            let n = sink.as_mut().finish().await?;
            (t0.elapsed(), n)
        }
        "fastasyncpg" => {
            let db = fastasyncpg::connect(&p.url).await?;
            db.execute("SELECT 1", ()).await?;
            let t0 = Instant::now();
            let n = db
                .copy_to_table_from_path("bench_load", &p.file, &fastasyncpg::CopyOptions::csv().header(true))
                .await?;
            (t0.elapsed(), n)
        }
        _ => return unknown(p),
    };
    let count: i64 = admin.query_one("SELECT count(*) FROM bench_load", &[]).await?.get(0);
    if count as u64 != p.rows || n != p.rows {
        return Err(format!("loaded {count} rows (reported {n}), expected {}", p.rows).into());
    }
    Ok(rate(p.rows, el, "rows/s"))
}

// ---------------------------------------------------------------------------------------------
// W11: a server-side cursor fetching 50 rows per round trip over `rows` rows, in a transaction.

pub const W11_PREFETCH: usize = 50;

async fn w11(p: &Params) -> R<Outcome> {
    let n = p.rows as i64;
    let mut count = 0u64;
    let mut sink = 0i64;
    let el = match p.imp.as_str() {
        "tokio-postgres" => {
            // The raw form of a cursor: a portal, executed 50 rows at a time.
            let mut c = raw_connect(&p.url).await?;
            let st = c.prepare(SQL_W11).await?;
            c.query(&st, &[&10i64]).await?;
            let t0 = Instant::now();
            let tx = c.transaction().await?;
            let portal = tx.bind(&st, &[&n]).await?;
            loop {
                let rows = tx.query_portal(&portal, W11_PREFETCH as i32).await?;
                for r in &rows {
                    sink += r.get::<_, i64>(0) + r.get::<_, i32>(2) as i64;
                    count += 1;
                }
                if rows.len() < W11_PREFETCH {
                    break;
                }
            }
            drop(portal);
            tx.commit().await?;
            t0.elapsed()
        }
        "fastasyncpg" => {
            let db = fastasyncpg::connect(&p.url).await?;
            db.fetch(SQL_W11, (10i64,)).await?;
            let t0 = Instant::now();
            let tx = db.begin().await?;
            let mut cur = tx.cursor(SQL_W11, (n,)).await?.prefetch(W11_PREFETCH);
            while let Some(r) = cur.next().await {
                let r = r?;
                sink += r.get::<i64, _>(0)? + r.get::<i32, _>(2)? as i64;
                count += 1;
            }
            drop(cur);
            tx.commit().await?;
            t0.elapsed()
        }
        _ => return unknown(p),
    };
    std::hint::black_box(sink);
    if count != p.rows {
        return Err(format!("fetched {count} rows, expected {}", p.rows).into());
    }
    Ok(rate(count, el, "rows/s"))
}

// ---------------------------------------------------------------------------------------------
// W8: the get-by-pk loop run under callgrind (`fab w8`): warm-up, then `n` gets.

pub fn run_w8(p: &Params) -> Outcome {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Outcome::error(e),
    };
    match rt.block_on(w8(p)) {
        Ok(o) => o,
        Err(e) => Outcome::error(format!("{e}{}", source_chain(e.as_ref()))),
    }
}

async fn w8(p: &Params) -> R<Outcome> {
    let w1p = Params { workload: "w1".into(), ..p.clone() };
    let _ = w1(&w1p).await?;
    Ok(Outcome::value(p.n as f64, "gets"))
}
