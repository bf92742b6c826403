//! `fab all`: the workload catalogue, interleaved rounds of measurements (each in a process of
//! its own), callgrind runs for W8, and the report.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::params::{Outcome, Params};
use crate::report::{self, Cell, Report};

/// Options of `fab all`, set by `bench/run`.
#[derive(Debug, Clone)]
pub struct Options {
    /// URL of the database holding pgbench's tables (TCP, 127.0.0.1).
    pub url: String,
    /// Database with the 200-table schema (W6).
    pub meta_db: String,
    /// Database with Chinook (W6c).
    pub chinook_db: String,
    pub quick: bool,
    pub rounds: usize,
    /// Python of the venv with asyncpg / uvloop / psqlpy / fastasyncpg 0.1.0 (and the bindings'
    /// wheel in `<venv>/fastasyncpg-rs`); None: the Python implementations are unavailable.
    pub python: Option<String>,
    pub python_why: String,
    pub pgbench: Option<String>,
    pub valgrind: Option<String>,
    /// psql (W9, W10).
    pub psql: Option<String>,
    /// The `fastasyncpg` CLI binary, built in release by `bench/run` (W9 export, W10 load).
    pub fa_cli: Option<String>,
    pub out: PathBuf,
    pub only: Option<Vec<String>>,
    pub scale: u64,
    pub date: String,
    pub timeout: Duration,
    pub notes: Vec<String>,
    /// `--pin`: this process, and so every measurement it starts, runs on core 1 (`bench/run
    /// --pin` also starts the server on core 0).
    pub pin: bool,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut o = Options {
        url: std::env::var("DATABASE_URL").unwrap_or_default(),
        meta_db: "bench_meta200".into(),
        chinook_db: "chinook".into(),
        quick: false,
        rounds: 0,
        python: None,
        python_why: "no Python venv".into(),
        pgbench: None,
        valgrind: None,
        psql: None,
        fa_cli: None,
        out: here.join("results"),
        only: None,
        scale: 10,
        date: String::new(),
        timeout: Duration::from_secs(600),
        notes: Vec::new(),
        pin: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => o.url = val()?,
            "--meta-db" => o.meta_db = val()?,
            "--chinook-db" => o.chinook_db = val()?,
            "--quick" => o.quick = true,
            "--rounds" => o.rounds = val()?.parse().map_err(|_| "--rounds needs a number")?,
            "--python" => o.python = Some(val()?),
            "--python-unavailable" => o.python_why = val()?,
            "--pgbench" => o.pgbench = Some(val()?),
            "--valgrind" => o.valgrind = Some(val()?),
            "--psql" => o.psql = Some(val()?),
            "--fa-cli" => o.fa_cli = Some(val()?),
            "--out" => o.out = PathBuf::from(val()?),
            "--only" => o.only = Some(val()?.split(',').map(|s| s.trim().to_lowercase()).collect()),
            "--scale" => o.scale = val()?.parse().map_err(|_| "--scale needs a number")?,
            "--date" => o.date = val()?,
            "--timeout" => o.timeout = Duration::from_secs(val()?.parse().map_err(|_| "--timeout needs seconds")?),
            "--note" => o.notes.push(val()?),
            "--pin" => o.pin = true,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if o.url.is_empty() {
        return Err("--url (or DATABASE_URL) is required".into());
    }
    if o.rounds == 0 {
        o.rounds = if o.quick { 3 } else { 7 };
    }
    if o.date.is_empty() {
        o.date = today();
    }
    Ok(o)
}

/// Today's date (UTC) as YYYY-MM-DD, without a date library.
fn today() -> String {
    let days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 86400).unwrap_or(0) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
}

/// The client core of `--pin`; `bench/run --pin` puts the server on core 0.
pub const CLIENT_CPU: u32 = 1;

/// `Cpus_allowed_list` of a process (`/proc/PID/status`), e.g. "0-1".
fn cpus_allowed(pid: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:").map(|v| v.trim().to_string()))
}

/// `--pin`: moves this process to `CLIENT_CPU` with `taskset` (before any thread is started, so
/// every thread and every child process — the measurements, pgbench, Python, psql, valgrind —
/// inherits it). Returns this process's CPU list afterwards.
fn pin_self() -> Result<String, String> {
    let pid = std::process::id().to_string();
    let out = Command::new("taskset")
        .args(["-a", "-p", "-c", &CLIENT_CPU.to_string(), &pid])
        .output()
        .map_err(|e| format!("--pin needs taskset (util-linux): {e}"))?;
    if !out.status.success() {
        return Err(format!("taskset -c {CLIENT_CPU}: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let now = cpus_allowed("self").unwrap_or_default();
    if now != CLIENT_CPU.to_string() {
        return Err(format!("--pin: this process is allowed CPUs {now:?} after taskset, expected {CLIENT_CPU}"));
    }
    Ok(now)
}

/// The CPUs the server's backends may run on: `Cpus_allowed_list` of the backend serving a
/// connection (backends inherit the postmaster's affinity); None when the server is not local
/// or its /proc entry is not readable.
fn server_cpus(url: &str) -> Option<String> {
    let pid = block_on(async {
        let c = crate::rust_impls::raw_connect(url).await.ok()?;
        let r = c.query_one("SELECT pg_backend_pid()", &[]).await.ok()?;
        Some(r.get::<_, i32>(0))
    })
    .ok()
    .flatten()?;
    cpus_allowed(&pid.to_string())
}

/// Replaces the database name of a postgres URL (and optionally host:port).
pub fn with_db(url: &str, db: &str, hostport: Option<&str>) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgresql", url));
    let (auth_host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let query = path.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    let auth_host = match hostport {
        Some(hp) => match auth_host.rsplit_once('@') {
            Some((auth, _)) => format!("{auth}@{hp}"),
            None => hp.to_string(),
        },
        None => auth_host.to_string(),
    };
    format!("{scheme}://{auth_host}/{db}{query}")
}

/// `(host, port)` of a postgres URL.
fn host_port(url: &str) -> (String, u16) {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    let hp = rest.split('/').next().unwrap_or("");
    let hp = hp.rsplit_once('@').map(|x| x.1).unwrap_or(hp);
    match hp.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(5432)),
        None => (if hp.is_empty() { "127.0.0.1".into() } else { hp.to_string() }, 5432),
    }
}

#[derive(Debug, Clone)]
pub enum Runner {
    /// `fab one`.
    Rust,
    /// `bench/py/bench.py`.
    Py,
    /// pgbench with this script, these clients/threads; queries per transaction.
    Pgbench { script: String, clients: u64, threads: u64, per_tx: u64 },
    /// An external program timed as a whole process (start, connect, work, exit), with `{url}`
    /// and `{file}` in `args` replaced by the measurement's. W10's table is truncated first; the
    /// result is checked (W9: lines of the file, W10: rows in the table).
    Command { prog: Prog, args: Vec<String> },
    /// Known not to apply / not implemented: shown as this text.
    Na(String),
}

/// The programs of `Runner::Command`.
#[derive(Debug, Clone, Copy)]
pub enum Prog {
    Psql,
    FaCli,
}

#[derive(Debug, Clone)]
pub struct Impl {
    pub id: &'static str,
    pub label: String,
    pub runner: Runner,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub id: &'static str,
    pub title: String,
    pub metric: &'static str,
    pub unit: &'static str,
    pub higher_better: bool,
    /// Secondary metrics a measurement may return in `extra`: (key, metric name, unit, higher is better).
    pub extras: Vec<(&'static str, &'static str, &'static str, bool)>,
    pub params: Params,
    pub impls: Vec<Impl>,
    /// Which impl is the 1.0 of the ratio column.
    pub baseline: &'static str,
    /// At most this many rounds (the long, steadier workloads need fewer).
    pub max_rounds: usize,
}

fn imp(id: &'static str, label: &str, runner: Runner) -> Impl {
    Impl { id, label: label.to_string(), runner }
}

pub const RAW: &str = "tokio-postgres";
pub const FA: &str = "fastasyncpg";
/// fastasyncpg's pool with `ResetPolicy::Always`: what the pooled-connection reset costs.
pub const FA_RESET: &str = "fastasyncpg-reset-always";
pub const FA_RAWTYPED: &str = "fastasyncpg-rawtyped";
pub const FA_MODEL: &str = "fastasyncpg-model";
pub const FA_PY: &str = "fastasyncpg-py";
/// This project's Python bindings (`crates/fastasyncpg-py`, the wheel `fastasyncpg-rs`), run by
/// `py/bench.py`: a fastasyncpg row (its id starts with `fastasyncpg`, not with `fastasyncpg-py`).
pub const FA_RS_PY: &str = "fastasyncpg-rs-py";
/// The bindings' W1 through the table API (`await t[pk]`, the whole row).
pub const FA_RS_PY_TABLE: &str = "fastasyncpg-rs-py-table";
/// psqlpy (Rust-backed Python driver), a peer.
pub const PSQLPY: &str = "psqlpy";
/// The `fastasyncpg` command line (`load`, `export`), timed as a whole process.
pub const FA_CLI: &str = "fastasyncpg-cli";

fn models_runner() -> Runner {
    if crate::pending::MODELS {
        Runner::Rust
    } else {
        Runner::Na(crate::pending::MODELS_NA.into())
    }
}

fn table_runner() -> Runner {
    if crate::pending::TABLE_API {
        Runner::Rust
    } else {
        Runner::Na(crate::pending::TABLE_NA.into())
    }
}

/// Every workload with its sizes for this mode.
pub fn catalogue(o: &Options) -> Vec<Workload> {
    let q = o.quick;
    let nacc = o.scale * 100_000;
    let base = Params {
        workload: String::new(),
        imp: String::new(),
        url: o.url.clone(),
        n: 0,
        seconds: 0.0,
        warmup: 0,
        rows: 0,
        naccounts: nacc,
        pool: 4,
        tasks: 32,
        proxy_ctl: String::new(),
        file: String::new(),
    };
    let pr = |w: &str, n: u64, warmup: u64, rows: u64| Params { workload: w.into(), n, warmup, rows, ..base.clone() };
    // Time-boxed workloads: every implementation runs for the same time, slow or fast.
    let secs = if q { 0.4 } else { 0.75 };
    let timed = |w: &str, warmup: u64, rows: u64| Params { seconds: secs, ..pr(w, 0, warmup, rows) };
    let get_script = format!("\\set aid random(1, {nacc})\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n");
    let mut pipe_script = String::from("\\startpipeline\n");
    for k in 0..8 {
        pipe_script.push_str(&format!(
            "\\set aid{k} random(1, {nacc})\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid{k};\n"
        ));
    }
    pipe_script.push_str("\\endpipeline\n");
    let (w1, w2) = if q { (300, 640) } else { (1000, 2000) };
    let rust = || Runner::Rust;
    let py = || Runner::Py;
    let cmd = |prog: Prog, args: &[&str]| Runner::Command { prog, args: args.iter().map(|a| a.to_string()).collect() };
    let psql = |c: String| cmd(Prog::Psql, &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "{url}", "-c", c.as_str()]);
    let big = if q { 200_000 } else { 1_000_000 };
    let big_s = if q { "200,000" } else { "1,000,000" };
    let sql9 = crate::rust_impls::sql_w9(big);
    vec![
        Workload {
            id: "w1",
            title: "W1 get by pk (1 conn, sequential)".into(),
            metric: "throughput",
            unit: "q/s",
            higher_better: true,
            extras: vec![("cpu_us_per_op", "client CPU", "µs/query", false)],
            params: timed("w1", w1, 0),
            impls: vec![
                imp(RAW, "tokio-postgres (prepared)", rust()),
                imp(FA, "fastasyncpg (dynamic rows)", rust()),
                imp(FA_RAWTYPED, "fastasyncpg typed via raw row", rust()),
                imp(FA_MODEL, "fastasyncpg typed models", models_runner()),
                imp("sqlx", "sqlx (query_scalar)", rust()),
                imp("asyncpg", "asyncpg (fetchval)", py()),
                imp(FA_RS_PY, "fastasyncpg-rs-py Python bindings (fetchval)", py()),
                imp(FA_RS_PY_TABLE, "fastasyncpg-rs-py await t[pk] (whole row)", py()),
                imp(PSQLPY, "psqlpy (fetch_val)", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 (q)", py()),
                imp("pgbench", "pgbench -M prepared -c 1", Runner::Pgbench { script: get_script.clone(), clients: 1, threads: 1, per_tx: 1 }),
            ],
            baseline: RAW,
            max_rounds: usize::MAX,
        },
        Workload {
            id: "w1t",
            title: "W1t get whole row by pk via table API".into(),
            metric: "throughput",
            unit: "q/s",
            higher_better: true,
            extras: vec![("cpu_us_per_op", "client CPU", "µs/query", false)],
            params: timed("w1t", w1, 0),
            impls: vec![
                imp(RAW, "tokio-postgres (prepared SELECT *)", rust()),
                imp(FA, "fastasyncpg db.t(..).get(pk)", table_runner()),
                imp(FA_MODEL, "fastasyncpg typed models", models_runner()),
                imp("sqlx", "sqlx (query_as)", rust()),
                imp("asyncpg", "asyncpg (fetchrow)", py()),
                imp(FA_RS_PY, "fastasyncpg-rs-py await t[pk]", py()),
                imp(PSQLPY, "psqlpy (fetch_row)", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 t.get(pk)", py()),
            ],
            baseline: RAW,
            max_rounds: usize::MAX,
        },
        Workload {
            id: "w2",
            title: "W2 get by pk, pool of 4, 32 tasks".into(),
            metric: "throughput",
            unit: "q/s",
            higher_better: true,
            extras: vec![("cpu_us_per_op", "client CPU", "µs/query", false)],
            params: timed("w2", w2, 0),
            impls: vec![
                imp(RAW, "tokio-postgres + deadpool-postgres", rust()),
                imp(FA, "fastasyncpg pool", rust()),
                imp(FA_RESET, "fastasyncpg pool, reset=always (a session reset per use)", rust()),
                imp("sqlx", "sqlx PgPool", rust()),
                imp("asyncpg", "asyncpg pool", py()),
                imp(FA_RS_PY, "fastasyncpg-rs-py create_pool (fetchval)", py()),
                imp(PSQLPY, "psqlpy ConnectionPool (acquire, fetch_val)", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 pool", py()),
                imp("pgbench", "pgbench -c 4 -j 2", Runner::Pgbench { script: get_script.clone(), clients: 4, threads: 2, per_tx: 1 }),
            ],
            baseline: RAW,
            max_rounds: usize::MAX,
        },
        Workload {
            id: "w2p",
            title: "W2p get by pk, 4 conns, 32 tasks pipelined".into(),
            metric: "throughput",
            unit: "q/s",
            higher_better: true,
            extras: vec![("cpu_us_per_op", "client CPU", "µs/query", false)],
            params: timed("w2p", w2, 0),
            impls: vec![
                imp(RAW, "tokio-postgres (4 shared clients)", rust()),
                imp(FA, "fastasyncpg (4 shared held conns)", rust()),
                imp("sqlx", "sqlx", Runner::Na("n/a (sqlx connections do not pipeline)".into())),
                imp("asyncpg", "asyncpg", Runner::Na("n/a (asyncpg connections do not pipeline)".into())),
                imp("pgbench", "pgbench -c 4 -j 2 \\startpipeline ×8", Runner::Pgbench { script: pipe_script, clients: 4, threads: 2, per_tx: 8 }),
            ],
            baseline: RAW,
            max_rounds: usize::MAX,
        },
        Workload {
            id: "w3",
            title: "W3 fetch 10,000 rows × 4 cols".into(),
            metric: "throughput",
            unit: "rows/s",
            higher_better: true,
            extras: vec![("cpu_us_per_op", "client CPU", "µs/fetch", false)],
            params: timed("w3", 2, 10_000),
            impls: vec![
                imp(RAW, "tokio-postgres → structs", rust()),
                imp(FA, "fastasyncpg dynamic rows (all values read)", rust()),
                imp(FA_RAWTYPED, "fastasyncpg typed via raw row → structs", rust()),
                imp(FA_MODEL, "fastasyncpg typed models", models_runner()),
                imp("sqlx", "sqlx query_as → structs", rust()),
                imp("asyncpg", "asyncpg fetch (Records)", py()),
                imp(FA_RS_PY, "fastasyncpg-rs-py fetch (FRecords)", py()),
                imp(PSQLPY, "psqlpy fetch().result() (dicts)", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 q", py()),
            ],
            baseline: RAW,
            max_rounds: usize::MAX,
        },
        Workload {
            id: "w4",
            title: format!("W4 bulk insert {} rows × 4 cols", if q { "20,000" } else { "100,000" }),
            metric: "throughput",
            unit: "rows/s",
            higher_better: true,
            extras: vec![],
            params: pr("w4", if q { 1 } else { 2 }, 0, if q { 20_000 } else { 100_000 }),
            impls: vec![
                imp(RAW, "tokio-postgres binary COPY", rust()),
                imp("tokio-postgres-pipelined", "tokio-postgres pipelined INSERTs", rust()),
                imp(FA, "fastasyncpg t.inserts", table_runner()),
                imp("fastasyncpg-executemany", "fastasyncpg executemany", rust()),
                imp("sqlx", "sqlx UNNEST", rust()),
                imp("asyncpg", "asyncpg executemany", py()),
                imp("asyncpg-copy", "asyncpg copy_records_to_table", py()),
                imp(FA_RS_PY, "fastasyncpg-rs-py t.inserts", py()),
                imp(PSQLPY, "psqlpy copy_records_to_table", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 t.inserts", py()),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
        Workload {
            id: "w5",
            title: "W5 upsert 10,000 rows, half new".into(),
            metric: "throughput",
            unit: "rows/s",
            higher_better: true,
            extras: vec![],
            params: pr("w5", if q { 1 } else { 3 }, 0, 10_000),
            impls: vec![
                imp(RAW, "tokio-postgres UNNEST … ON CONFLICT", rust()),
                imp(FA, "fastasyncpg t.upserts", table_runner()),
                imp("fastasyncpg-executemany", "fastasyncpg executemany ON CONFLICT", rust()),
                imp("sqlx", "sqlx UNNEST … ON CONFLICT", rust()),
                imp("asyncpg", "asyncpg executemany ON CONFLICT", py()),
                imp(FA_RS_PY, "fastasyncpg-rs-py t.upserts", py()),
                imp(PSQLPY, "psqlpy execute_many ON CONFLICT", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 t.upserts", py()),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
        Workload {
            id: "w6",
            title: "W6 metadata refresh, 200 tables".into(),
            metric: "time",
            unit: "ms",
            higher_better: false,
            extras: vec![("round_trips", "round trips", "round trips", false)],
            params: Params { url: with_db(&o.url, &o.meta_db, None), ..pr("w6", if q { 2 } else { 5 }, 1, 0) },
            impls: vec![
                imp(RAW, "tokio-postgres one catalog query", rust()),
                imp(FA, "fastasyncpg db.refresh()", table_runner()),
                imp(FA_RS_PY, "fastasyncpg-rs-py db.refresh()", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 refresh()", py()),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
        Workload {
            id: "w6c",
            title: "W6c metadata refresh, Chinook (11 tables)".into(),
            metric: "time",
            unit: "ms",
            higher_better: false,
            extras: vec![("round_trips", "round trips", "round trips", false)],
            params: Params { url: with_db(&o.url, &o.chinook_db, None), ..pr("w6c", if q { 5 } else { 10 }, 1, 0) },
            impls: vec![
                imp(RAW, "tokio-postgres one catalog query", rust()),
                imp(FA, "fastasyncpg db.refresh()", table_runner()),
                imp(FA_RS_PY, "fastasyncpg-rs-py db.refresh()", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 refresh()", py()),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
        Workload {
            id: "w7",
            title: format!("W7 stream {} rows through a cursor", if q { "200,000" } else { "1,000,000" }),
            metric: "peak RSS growth",
            unit: "MB",
            higher_better: false,
            extras: vec![("rows_per_s", "throughput", "rows/s", true)],
            params: pr("w7", 1, 0, if q { 200_000 } else { 1_000_000 }),
            impls: vec![
                imp(RAW, "tokio-postgres query_raw", rust()),
                imp(FA, "fastasyncpg cursor", rust()),
                imp("sqlx", "sqlx fetch stream", rust()),
                imp("asyncpg", "asyncpg cursor", py()),
                imp(FA_PY, "fastasyncpg-py 0.1.0 q (no cursor API: materializes)", py()),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
        Workload {
            id: "w9",
            title: format!("W9 COPY out {big_s} rows × 4 cols to a file"),
            metric: "throughput",
            unit: "rows/s",
            higher_better: true,
            extras: vec![],
            params: pr("w9", 1, 0, big),
            impls: vec![
                imp(RAW, "tokio-postgres copy_out → BufWriter<File>", rust()),
                imp(FA, "fastasyncpg copy_from_query_to_path", rust()),
                imp("fastasyncpg-bufwriter", "fastasyncpg copy_from_query → BufWriter<File>", rust()),
                imp(FA_CLI, "fastasyncpg export --query (CLI, whole process)", cmd(Prog::FaCli, &["--url", "{url}", "export", "--query", sql9.as_str(), "{file}", "--format", "text"])),
                imp("asyncpg", "asyncpg copy_from_query(output=path)", py()),
                imp("psql", "psql \\copy (…) TO file (whole process)", psql(format!("\\copy ({sql9}) TO '{{file}}'"))),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
        Workload {
            id: "w10",
            title: format!("W10 load a {big_s}-row CSV file"),
            metric: "throughput",
            unit: "rows/s",
            higher_better: true,
            extras: vec![],
            params: pr("w10", 1, 0, big),
            impls: vec![
                imp(RAW, "tokio-postgres copy_in from the file (64 KiB chunks)", rust()),
                imp(FA, "fastasyncpg copy_to_table_from_path", rust()),
                imp(FA_CLI, "fastasyncpg load (CLI, whole process)", cmd(Prog::FaCli, &["--url", "{url}", "load", "bench_load", "{file}", "--format", "csv", "--header"])),
                imp("asyncpg", "asyncpg copy_to_table(source=path, format='csv')", py()),
                imp("psql", "psql \\copy FROM file CSV (whole process)", psql("\\copy bench_load FROM '{file}' WITH (FORMAT csv, HEADER)".into())),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
        Workload {
            id: "w11",
            title: format!("W11 cursor, prefetch 50, over {big_s} rows in a transaction"),
            metric: "throughput",
            unit: "rows/s",
            higher_better: true,
            extras: vec![],
            params: pr("w11", 1, 0, big),
            impls: vec![
                imp(RAW, "tokio-postgres portal, query_portal(.., 50)", rust()),
                imp(FA, "fastasyncpg tx.cursor(..).prefetch(50)", rust()),
                imp("asyncpg", "asyncpg cursor(prefetch=50)", py()),
            ],
            baseline: RAW,
            max_rounds: 5,
        },
    ]
}

/// W10's CSV file: a header line and `rows` rows (id, name, qty, note); every 10th note is
/// NULL (an empty unquoted field), every 10th from 7 is quoted with a comma and quotes in it.
fn write_w10_csv(path: &std::path::Path, rows: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    writeln!(w, "id,name,qty,note")?;
    for i in 1..=rows {
        let q = i % 1000;
        match i % 10 {
            0 => writeln!(w, "{i},name {i},{q},")?,
            7 => writeln!(w, "{i},name {i},{q},\"a note, \"\"quoted\"\", for row {i}\"")?,
            _ => writeln!(w, "{i},name {i},{q},note for row number {i}")?,
        }
    }
    w.flush()
}

/// Runs a future on a current-thread runtime of its own (setup and checks of `Runner::Command`).
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    Ok(rt.block_on(f))
}

/// One callgrind row: the report's workload (`w8`, `w8py`, `w8pyt`), the workload its runner
/// runs (the Rust harness's `w8`, or bench.py's `w1` / `w1t`), implementation and label.
struct W8Row {
    group: &'static str,
    runs: &'static str,
    id: &'static str,
    label: &'static str,
}

/// The W8 configuration: (n, warmup, rows). Besides the Rust get, the Python calls asyncpg is
/// compared on — `fetchval` (W8py) and a whole row (W8pyt: asyncpg `fetchrow`, the bindings'
/// `await t[pk]`) — since their wall-clock ratios drown in this machine's noise.
fn w8_spec(o: &Options) -> (u64, u64, Vec<W8Row>) {
    let (n, w) = if o.quick { (1000, 100) } else { (2000, 200) };
    let r = |group, runs, id, label| W8Row { group, runs, id, label };
    (
        n,
        w,
        vec![
            r("w8", "w8", RAW, "tokio-postgres (prepared)"),
            r("w8", "w8", FA, "fastasyncpg (dynamic rows)"),
            r("w8", "w8", FA_RAWTYPED, "fastasyncpg typed via raw row"),
            r("w8", "w8", "sqlx", "sqlx (query_scalar)"),
            r("w8py", "w1", "asyncpg", "asyncpg (fetchval)"),
            r("w8py", "w1", FA_RS_PY, "fastasyncpg-rs-py fetchval"),
            r("w8pyt", "w1t", "asyncpg", "asyncpg (fetchrow)"),
            r("w8pyt", "w1t", FA_RS_PY, "fastasyncpg-rs-py await t[pk]"),
            r("w8pyt", "w1t", FA_PY, "fastasyncpg-py 0.1.0 t.get(pk)"),
        ],
    )
}

/// The title and baseline implementation of a W8 group.
fn w8_group(group: &str) -> (&'static str, &'static str) {
    match group {
        "w8py" => ("W8py CPU instructions per fetchval from Python (callgrind, uvloop)", "asyncpg"),
        "w8pyt" => ("W8pyt CPU instructions per whole row by pk from Python (callgrind, uvloop)", "asyncpg"),
        _ => ("W8 CPU instructions per get by pk (callgrind)", RAW),
    }
}

/// Runs a command with a time limit; returns (stdout, stderr, success).
fn run_cmd(cmd: &mut Command, timeout: Duration) -> (String, String, bool) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (String::new(), format!("cannot start {:?}: {e}", cmd.get_program()), false),
    };
    let mut so = child.stdout.take().expect("piped stdout");
    let mut se = child.stderr.take().expect("piped stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if t0.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let out = t_out.join().unwrap_or_default();
    let mut err = t_err.join().unwrap_or_default();
    if status.is_none() {
        err = format!("timed out after {}s; {err}", timeout.as_secs());
    }
    (out, err, status.map(|s| s.success()).unwrap_or(false))
}

/// Parses the last JSON line of a measurement's stdout.
fn parse_outcome(out: &str, err: &str, ok: bool) -> Outcome {
    if let Some(line) = out.lines().rev().find(|l| l.trim_start().starts_with('{')) {
        if let Ok(o) = serde_json::from_str::<Outcome>(line) {
            return o;
        }
    }
    let why = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(if ok { "no result" } else { "failed" });
    Outcome::error(why.chars().take(300).collect::<String>())
}

struct Ctx<'a> {
    o: &'a Options,
    exe: PathBuf,
    py_script: PathBuf,
    tmp: PathBuf,
}

impl Ctx<'_> {
    fn measure(&self, w: &Workload, im: &Impl, proxy_ctl: &str) -> Outcome {
        let mut p = w.params.clone();
        p.imp = im.id.to_string();
        p.proxy_ctl = proxy_ctl.to_string();
        let pj = serde_json::to_string(&p).expect("params to JSON");
        match &im.runner {
            Runner::Na(why) => Outcome::na(why),
            Runner::Rust => {
                let (out, err, ok) = run_cmd(Command::new(&self.exe).args(["one", "--params", &pj]), self.o.timeout);
                parse_outcome(&out, &err, ok)
            }
            Runner::Py => match &self.o.python {
                None => Outcome::na(&format!("unavailable ({})", self.o.python_why)),
                Some(py) => {
                    let (out, err, ok) =
                        run_cmd(Command::new(py).arg(&self.py_script).args(["--params", &pj]), self.o.timeout);
                    parse_outcome(&out, &err, ok)
                }
            },
            Runner::Pgbench { script, clients, threads, per_tx } => match &self.o.pgbench {
                None => Outcome::na("unavailable (no pgbench)"),
                Some(pgb) => {
                    let f = self.tmp.join(format!("{}.pgbench", w.id));
                    if let Err(e) = std::fs::write(&f, script) {
                        return Outcome::error(e);
                    }
                    let warm = (p.warmup / (clients * per_tx)).max(1);
                    let run = |limit: [String; 2]| {
                        run_cmd(
                            Command::new(pgb)
                                .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &threads.to_string()])
                                .args(limit)
                                .arg("-f")
                                .arg(&f)
                                .arg(&p.url),
                            self.o.timeout,
                        )
                    };
                    let _ = run(["-t".into(), warm.to_string()]);
                    let (out, err, ok) = if p.seconds > 0.0 {
                        // pgbench counts whole seconds.
                        run(["-T".into(), (p.seconds.ceil() as u64).max(1).to_string()])
                    } else {
                        run(["-t".into(), (p.n / (clients * per_tx)).max(1).to_string()])
                    };
                    let tps = out
                        .lines()
                        .find(|l| l.starts_with("tps =") && l.contains("without initial connection"))
                        .and_then(|l| l.split_whitespace().nth(2))
                        .and_then(|v| v.parse::<f64>().ok());
                    match (tps, ok) {
                        (Some(t), true) => Outcome::value(t * *per_tx as f64, &w.unit.to_string()),
                        _ => Outcome::error(format!(
                            "pgbench: {}",
                            err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no tps line")
                        )),
                    }
                }
            },
            Runner::Command { prog, args } => {
                let (exe, name) = match prog {
                    Prog::Psql => (&self.o.psql, "psql"),
                    Prog::FaCli => (&self.o.fa_cli, "fastasyncpg CLI"),
                };
                let Some(exe) = exe else {
                    return Outcome::na(&format!("unavailable (no {name})"));
                };
                self.command(w, &p, exe, name, args)
            }
        }
    }

    fn command(&self, w: &Workload, p: &Params, exe: &str, name: &str, args: &[String]) -> Outcome {
        use crate::rust_impls as ri;
        let args: Vec<String> = args.iter().map(|a| a.replace("{url}", &p.url).replace("{file}", &p.file)).collect();
        if w.id == "w10" {
            match block_on(ri::w10_reset(&p.url)) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Outcome::error(e),
                Err(e) => return Outcome::error(e),
            }
        }
        let t0 = Instant::now();
        let (_out, err, ok) = run_cmd(Command::new(exe).args(&args), self.o.timeout);
        let el = t0.elapsed();
        if !ok {
            return Outcome::error(format!(
                "{name}: {}",
                err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("failed")
            ));
        }
        let got: Result<u64, String> = match w.id {
            "w9" => {
                let n = std::fs::read(&p.file).map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64);
                let _ = std::fs::remove_file(&p.file);
                n.map_err(|e| format!("{}: {e}", p.file))
            }
            "w10" => block_on(async {
                let c = ri::raw_connect(&p.url).await?;
                let n: i64 = c.query_one("SELECT count(*) FROM bench_load", &[]).await?.get(0);
                Ok::<u64, ri::BoxErr>(n as u64)
            })
            .and_then(|r| r.map_err(|e| e.to_string())),
            _ => Ok(p.rows),
        };
        match got {
            Ok(n) if n == p.rows => Outcome::value(p.rows as f64 / el.as_secs_f64(), w.unit),
            Ok(n) => Outcome::error(format!("{name}: {n} rows, expected {}", p.rows)),
            Err(e) => Outcome::error(e),
        }
    }
}

pub fn main(args: &[String]) -> Result<(), String> {
    let o = parse_options(args)?;
    // First, before any thread exists: pin this process (and so every child) to the client core.
    let client_cpus = if o.pin { pin_self()? } else { cpus_allowed("self").unwrap_or_else(|| "?".into()) };
    let server = server_cpus(&o.url);
    let pinning = if o.pin {
        let srv = match &server {
            Some(c) if *c == "0" => "server on core 0 (its backends' Cpus_allowed_list: 0)".to_string(),
            Some(c) => format!("server NOT pinned (its backends may run on CPUs {c})"),
            None => "server's CPUs unknown (not a local server, or /proc not readable)".to_string(),
        };
        format!("on — {srv}; client processes on core {client_cpus} (taskset)")
    } else {
        format!(
            "off — server (CPUs {}) and client processes (CPUs {client_cpus}) share the machine",
            server.as_deref().unwrap_or("?")
        )
    };
    eprintln!("fab: CPU pinning {pinning}");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = std::env::temp_dir().join(format!("fab-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let ctx = Ctx { o: &o, exe, py_script: here.join("py").join("bench.py"), tmp: tmp.clone() };
    let started = Instant::now();

    let mut wls = catalogue(&o);
    if let Some(only) = &o.only {
        wls.retain(|w| only.iter().any(|x| x == w.id));
    }
    // W9 writes its COPY output to a file of the run's temp dir (removed after each
    // measurement); W10 loads a CSV file made once per run.
    for w in wls.iter_mut() {
        match w.id {
            "w9" => w.params.file = tmp.join("w9.out").display().to_string(),
            "w10" => {
                let f = tmp.join("w10.csv");
                write_w10_csv(&f, w.params.rows).map_err(|e| format!("writing {}: {e}", f.display()))?;
                w.params.file = f.display().to_string();
            }
            _ => {}
        }
    }
    let want_w8 = o.only.as_ref().map_or(true, |only| only.iter().any(|x| x == "w8"));

    // The round-trip-counting proxy, for W6.
    let proxy = crate::proxy::start(host_port(&o.url)).map_err(|e| format!("proxy: {e}"))?;
    let proxy_hp = format!("127.0.0.1:{}", proxy.port);
    for w in wls.iter_mut() {
        if w.id.starts_with("w6") {
            let db = w.params.url.rsplit('/').next().unwrap_or("").split('?').next().unwrap_or("").to_string();
            w.params.url = with_db(&o.url, &db, Some(&proxy_hp));
        }
    }

    let mode = if o.quick { "QUICK (fewer rounds, fewer iterations, smaller sizes)" } else { "full" };
    eprintln!("fab: {} rounds, mode {mode}; each measurement runs in a process of its own", o.rounds);

    // samples[(workload, impl, metric)] and the last non-value state per (workload, impl)
    let mut samples: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    let mut status: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut notes: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in 0..o.rounds {
        for w in &wls {
            if r >= w.max_rounds {
                continue;
            }
            let k = w.impls.len();
            for j in 0..k {
                // Interleaved, and rotated by round so that no impl always runs first.
                let im = &w.impls[(j + r) % k];
                let key = (w.id.to_string(), im.id.to_string());
                if matches!(im.runner, Runner::Na(_)) && r > 0 {
                    continue;
                }
                if status.get(&key).is_some_and(|s| s.starts_with("n/a") || s.starts_with("unavailable")) {
                    continue;
                }
                let t0 = Instant::now();
                let out = ctx.measure(w, im, if w.id.starts_with("w6") { &proxy.ctl } else { "" });
                let secs = t0.elapsed().as_secs_f64();
                match (&out.value, &out.na, &out.error) {
                    (Some(v), _, _) if out.ok => {
                        samples.entry((key.0.clone(), key.1.clone(), w.metric.to_string())).or_default().push(*v);
                        for (ek, em, _, _) in &w.extras {
                            if let Some(x) = out.extra.get(*ek).and_then(|x| x.as_f64()) {
                                samples.entry((key.0.clone(), key.1.clone(), em.to_string())).or_default().push(x);
                            }
                        }
                        status.remove(&key);
                        if let Some(n) = &out.note {
                            notes.insert(key.clone(), n.clone());
                        }
                        eprintln!(
                            "[{}/{}] {:<5} {:<45} {:>14} {} ({secs:.1}s)",
                            r + 1,
                            o.rounds,
                            w.id,
                            im.label,
                            report::fmt_num(*v),
                            w.unit
                        );
                    }
                    (_, Some(na), _) => {
                        let na = if na.starts_with("n/a") || na.starts_with("unavailable") { na.clone() } else { format!("n/a ({na})") };
                        eprintln!("[{}/{}] {:<5} {:<45} {na}", r + 1, o.rounds, w.id, im.label);
                        status.insert(key, na);
                    }
                    _ => {
                        let e = out.error.clone().unwrap_or_else(|| "no result".into());
                        eprintln!("[{}/{}] {:<5} {:<45} ERROR {e}", r + 1, o.rounds, w.id, im.label);
                        if !samples.contains_key(&(key.0.clone(), key.1.clone(), w.metric.to_string())) {
                            status.insert(key, format!("error: {e}"));
                        }
                    }
                }
            }
        }
    }

    // W8: instructions per get under callgrind, as the difference of two runs (n and 0 gets).
    let mut w8_rows = Vec::new();
    if want_w8 {
        let (n, warm, rows) = w8_spec(&o);
        for row in rows {
            let py = row.runs != "w8";
            let cell = match (&o.valgrind, &o.python) {
                (None, _) => Err("unavailable (no valgrind)".to_string()),
                (_, None) if py => Err(format!("unavailable ({})", o.python_why)),
                (Some(vg), _) => w8_measure(&ctx, vg, &row, n, warm),
            };
            let (group, label) = (row.group, row.label);
            match &cell {
                Ok(v) => eprintln!("[{group}]  {label:<45} {} instructions/query", report::fmt_num(*v)),
                Err(e) => eprintln!("[{group}]  {label:<45} {e}"),
            }
            w8_rows.push((row, cell));
        }
    }

    let elapsed = started.elapsed();
    let mut rep = build_report(&o, &wls, &samples, &status, &notes, &w8_rows, elapsed);
    rep.pinning = pinning;
    let md = report::markdown_table(&rep);
    let targets = report::targets(&rep);
    println!("{}", report::header(&rep));
    println!("{md}");
    println!("{targets}");
    println!("{}", report::best_peer_summary(&rep));
    report::write_all(&rep, &o.out, &here).map_err(|e| format!("writing results: {e}"))?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

fn w8_measure(ctx: &Ctx<'_>, vg: &str, row: &W8Row, n: u64, warm: u64) -> Result<f64, String> {
    let id = row.id;
    let mut counts = Vec::new();
    for k in [0, n] {
        let p = Params {
            workload: row.runs.into(),
            imp: id.into(),
            url: ctx.o.url.clone(),
            n: k,
            seconds: 0.0,
            warmup: warm,
            rows: 0,
            naccounts: ctx.o.scale * 100_000,
            pool: 1,
            tasks: 1,
            proxy_ctl: String::new(),
            file: String::new(),
        };
        let pj = serde_json::to_string(&p).map_err(|e| e.to_string())?;
        let outf = ctx.tmp.join(format!("callgrind.{}.{id}.{k}", row.group));
        let mut cmd = Command::new(vg);
        cmd.arg("--tool=callgrind").arg(format!("--callgrind-out-file={}", outf.display()));
        match &ctx.o.python {
            // Python: bench.py's own W1/W1t loop with n calls (seconds 0: counted, not timed).
            Some(py) if row.runs != "w8" => cmd.arg(py).arg(&ctx.py_script).args(["--params", &pj]),
            _ => cmd.arg(&ctx.exe).args(["w8", "--params", &pj]),
        };
        let (out, err, ok) = run_cmd(&mut cmd, ctx.o.timeout);
        let o = parse_outcome(&out, &err, ok);
        if !o.ok {
            return Err(format!("error: {}", o.error.unwrap_or_default()));
        }
        // "==123== Collected : 456789"
        let c = err
            .lines()
            .find_map(|l| l.split_once("Collected :").map(|x| x.1.trim().replace(',', "")))
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| "error: no 'Collected' line from callgrind".to_string())?;
        counts.push(c);
        // Keep the profile of the full run for inspection (small: a few hundred kB).
        if k == n {
            let keep = ctx.o.out.join(format!("callgrind.{}.{id}.out", row.group));
            if std::env::var_os("FAB_KEEP_CALLGRIND").is_some() {
                let _ = std::fs::copy(&outf, keep);
            }
        }
    }
    Ok((counts[1] - counts[0]) / n as f64)
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let m = if s.len() % 2 == 1 { s[s.len() / 2] } else { (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0 };
    (m, s[0], s[s.len() - 1])
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    o: &Options,
    wls: &[Workload],
    samples: &BTreeMap<(String, String, String), Vec<f64>>,
    status: &BTreeMap<(String, String), String>,
    notes: &BTreeMap<(String, String), String>,
    w8: &[(W8Row, Result<f64, String>)],
    elapsed: Duration,
) -> Report {
    let mut cells = Vec::new();
    for w in wls {
        let mut metrics = vec![(w.metric, w.unit, w.higher_better, true)];
        for (_, em, eu, hb) in &w.extras {
            metrics.push((em, eu, *hb, false));
        }
        for (metric, unit, hb, primary) in metrics {
            let base = samples.get(&(w.id.to_string(), w.baseline.to_string(), metric.to_string())).map(|v| stats(v).0);
            for im in &w.impls {
                let key = (w.id.to_string(), im.id.to_string());
                let s = samples.get(&(key.0.clone(), key.1.clone(), metric.to_string()));
                if !primary && s.is_none() {
                    continue;
                }
                let (value, min, max, n) = match s {
                    Some(v) => {
                        let (m, lo, hi) = stats(v);
                        (Some(m), lo, hi, v.len())
                    }
                    None => (None, 0.0, 0.0, 0),
                };
                cells.push(Cell {
                    workload: w.id.to_string(),
                    title: if primary { w.title.clone() } else { format!("{} — {metric}", w.title) },
                    imp: im.id.to_string(),
                    label: im.label.clone(),
                    metric: metric.to_string(),
                    unit: unit.to_string(),
                    higher_better: hb,
                    value,
                    min,
                    max,
                    rounds: n,
                    ratio: match (value, base) {
                        (Some(v), Some(b)) if b != 0.0 => Some(v / b),
                        _ => None,
                    },
                    is_baseline: im.id == w.baseline,
                    status: status.get(&key).cloned(),
                    note: notes.get(&key).cloned(),
                    vs_best_peer: None,
                    best_peer: None,
                });
            }
        }
    }
    for (row, r) in w8 {
        let (title, base_id) = w8_group(row.group);
        let base8 = w8
            .iter()
            .find(|(b, _)| b.group == row.group && b.id == base_id)
            .and_then(|(_, r)| r.as_ref().ok().copied());
        let v = r.as_ref().ok().copied();
        cells.push(Cell {
            workload: row.group.into(),
            title: title.into(),
            imp: row.id.to_string(),
            label: row.label.to_string(),
            metric: "instructions".into(),
            unit: "instr/query".into(),
            higher_better: false,
            value: v,
            min: v.unwrap_or(0.0),
            max: v.unwrap_or(0.0),
            rounds: usize::from(v.is_some()),
            ratio: match (v, base8) {
                (Some(v), Some(b)) if b != 0.0 => Some(v / b),
                _ => None,
            },
            is_baseline: row.id == base_id,
            status: r.as_ref().err().cloned(),
            note: None,
            vs_best_peer: None,
            best_peer: None,
        });
    }
    report::annotate_best_peers(&mut cells);
    Report {
        quick: o.quick,
        rounds: o.rounds,
        date: o.date.clone(),
        scale: o.scale,
        cells,
        elapsed,
        env: report::environment(o),
        notes: o.notes.clone(),
        pinning: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{is_fa_row, is_peer};

    /// The Python bindings are fastasyncpg rows, psqlpy and asyncpg are peers, fastasyncpg 0.1.0
    /// is neither; and every Python workload of the bindings has a psqlpy peer beside it.
    #[test]
    fn python_impls_are_classified() {
        for id in [FA_RS_PY, FA_RS_PY_TABLE] {
            assert!(is_fa_row(id) && !is_peer(id), "{id}");
        }
        for id in [PSQLPY, "asyncpg", "asyncpg-copy"] {
            assert!(is_peer(id) && !is_fa_row(id), "{id}");
        }
        assert!(!is_fa_row(FA_PY) && !is_peer(FA_PY));
        let o = parse_options(&["--url".into(), "postgresql://u@127.0.0.1:5432/fab_bench".into()]).unwrap();
        let cat = catalogue(&o);
        for w in ["w1", "w1t", "w2", "w3", "w4", "w5", "w6", "w6c"] {
            let wl = cat.iter().find(|x| x.id == w).unwrap();
            let has = |id: &str| wl.impls.iter().any(|i| i.id == id && matches!(i.runner, Runner::Py));
            assert!(has(FA_RS_PY), "{w} has the bindings");
            assert!(w.starts_with("w6") || has(PSQLPY), "{w} has psqlpy");
        }
        let w1 = cat.iter().find(|x| x.id == "w1").unwrap();
        assert!(w1.impls.iter().any(|i| i.id == FA_RS_PY_TABLE));
    }
}
