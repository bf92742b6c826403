//! The report: Markdown table, targets, `latest.json`, the dated Markdown record and the SVG
//! chart of ratios to raw tokio-postgres (drawn by hand).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::orchestrate::{Options, FA, FA_MODEL, FA_PY, FA_RAWTYPED, RAW};

#[derive(Debug, Clone)]
pub struct Cell {
    pub workload: String,
    pub title: String,
    pub imp: String,
    pub label: String,
    pub metric: String,
    pub unit: String,
    pub higher_better: bool,
    /// Median over rounds.
    pub value: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub rounds: usize,
    /// value / baseline value (same metric).
    pub ratio: Option<f64>,
    pub is_baseline: bool,
    /// "n/a (...)", "unavailable (...)" or "error: ..." when there is no value.
    pub status: Option<String>,
    pub note: Option<String>,
    /// fastasyncpg rows: how many times better than the best peer of the same workload and
    /// metric (value ÷ best for ↑ metrics, best ÷ value for ↓ ones; above 1 is ahead). Set by
    /// [`annotate_best_peers`].
    pub vs_best_peer: Option<f64>,
    /// fastasyncpg rows: (impl id, label) of that best peer.
    pub best_peer: Option<(String, String)>,
}

impl Cell {
    /// (max − min) / median over the rounds; None for fewer than 2 rounds or no value.
    pub fn spread_rel(&self) -> Option<f64> {
        match self.value {
            Some(v) if self.rounds > 1 && v != 0.0 => Some((self.max - self.min) / v.abs()),
            _ => None,
        }
    }
}

/// A fastasyncpg row of the best-peer comparison: ids starting with `fastasyncpg`, except the
/// 0.1.0 Python package (`fastasyncpg-py`), which is neither a fastasyncpg row nor a peer.
pub fn is_fa_row(imp: &str) -> bool {
    imp.starts_with("fastasyncpg") && !imp.starts_with(FA_PY)
}

/// A peer: every implementation that is not fastasyncpg (tokio-postgres, sqlx, asyncpg, psql,
/// pgbench, …).
pub fn is_peer(imp: &str) -> bool {
    !imp.starts_with("fastasyncpg")
}

/// How many times better `v` is than `peer` (above 1: `v` is ahead). Memory is floored at 1 MB
/// (below that it is noise), as in the chart.
fn goodness(v: f64, peer: f64, higher_better: bool, unit: &str) -> Option<f64> {
    let (v, peer) = if unit == "MB" { (v.max(1.0), peer.max(1.0)) } else { (v, peer) };
    let r = if higher_better { v / peer } else { peer / v };
    (r.is_finite() && r > 0.0).then_some(r)
}

/// Fills `vs_best_peer` / `best_peer` of every fastasyncpg row that has a value, against the
/// best peer value of the same workload and metric.
pub fn annotate_best_peers(cells: &mut [Cell]) {
    for i in 0..cells.len() {
        cells[i].vs_best_peer = None;
        cells[i].best_peer = None;
        let c = &cells[i];
        let Some(v) = c.value.filter(|_| is_fa_row(&c.imp)) else { continue };
        let best = cells
            .iter()
            .filter(|p| p.workload == c.workload && p.metric == c.metric && is_peer(&p.imp))
            .filter_map(|p| p.value.filter(|x| x.is_finite()).map(|x| (x, p)))
            .max_by(|a, b| {
                let o = a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal);
                if c.higher_better { o } else { o.reverse() }
            });
        if let Some((pv, p)) = best {
            let (r, who) = (goodness(v, pv, c.higher_better, &c.unit), (p.imp.clone(), p.label.clone()));
            cells[i].vs_best_peer = r;
            cells[i].best_peer = r.map(|_| who);
        }
    }
}

/// One line per workload and metric: the best fastasyncpg row against the best peer.
pub struct PeerLine {
    pub workload: String,
    pub title: String,
    pub metric: String,
    /// The workload's first (headline) metric: the one that is "met" or "not met".
    pub primary: bool,
    /// (fastasyncpg label, ratio, best peer label)
    pub best: Option<(String, f64, String)>,
    /// Why there is no ratio.
    pub why: String,
}

pub fn peer_lines(rep: &Report) -> Vec<PeerLine> {
    let mut out: Vec<PeerLine> = Vec::new();
    for c in &rep.cells {
        if out.iter().any(|l| l.workload == c.workload && l.metric == c.metric) {
            continue;
        }
        let primary = !out.iter().any(|l| l.workload == c.workload);
        let same = || rep.cells.iter().filter(|x| x.workload == c.workload && x.metric == c.metric);
        let best = same()
            .filter_map(|x| Some((x, x.vs_best_peer?)))
            .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
            .map(|(x, r)| (x.label.clone(), r, x.best_peer.as_ref().map(|b| b.1.clone()).unwrap_or_default()));
        let why = if !same().any(|x| is_fa_row(&x.imp) && x.value.is_some()) {
            "no fastasyncpg number".to_string()
        } else if !same().any(|x| is_peer(&x.imp) && x.value.is_some()) {
            "no peer produced a number".to_string()
        } else {
            String::new()
        };
        out.push(PeerLine { workload: c.workload.clone(), title: c.title.clone(), metric: c.metric.clone(), primary, best, why });
    }
    out
}

/// "W3 …: fastasyncpg 1.05× best peer (sqlx query_as) — met", one line per workload (its
/// headline metric; the other metrics of the workload follow on the same line, unjudged).
pub fn best_peer_summary(rep: &Report) -> String {
    let mut s = String::from(
        "### Against the best peer\n\n\
         The best fastasyncpg row of each workload against the best peer (every implementation that is not \
         fastasyncpg and produced a number; fastasyncpg-py 0.1.0 is neither), on the workload's headline metric: \
         met when fastasyncpg is at least as good (× best peer ≥ 1; for ↓ metrics the ratio is best ÷ value). \
         Other metrics of the workload follow, unjudged. The fastasyncpg row is named in brackets.\n\n",
    );
    let lines = peer_lines(rep);
    for l in lines.iter().filter(|l| l.primary) {
        let head = match &l.best {
            Some((fa, r, peer)) => format!(
                "fastasyncpg {} best peer ({peer}) — {} [{fa}]",
                fmt_ratio_judged(*r),
                if *r >= 1.0 { "met" } else { "**not met**" }
            ),
            None => format!("n/a ({})", l.why),
        };
        let mut rest = Vec::new();
        for o in lines.iter().filter(|o| !o.primary && o.workload == l.workload) {
            if let Some((fa, r, peer)) = &o.best {
                rest.push(format!("{}: {} best peer ({peer}) [{fa}]", o.metric, fmt_ratio_judged(*r)));
            }
        }
        let rest = if rest.is_empty() { String::new() } else { format!("; {}", rest.join("; ")) };
        let _ = writeln!(s, "- {}: {head}{rest}", l.title);
    }
    s
}

pub struct Report {
    pub quick: bool,
    pub rounds: usize,
    pub date: String,
    pub scale: u64,
    pub cells: Vec<Cell>,
    pub elapsed: Duration,
    pub env: Vec<(String, String)>,
    pub notes: Vec<String>,
    /// "on (…)" / "off": CPU pinning of server and client (`--pin`).
    pub pinning: String,
}

impl Report {
    fn get(&self, w: &str, imp: &str, metric: Option<&str>) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.workload == w && c.imp == imp && metric.is_none_or(|m| c.metric == m))
    }
    fn val(&self, w: &str, imp: &str) -> Option<f64> {
        self.get(w, imp, None).and_then(|c| c.value)
    }
}

/// 12,345 / 123 / 12.3 / 1.23 / 0.0123
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", a);
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        if v < 0.0 { format!("-{out}") } else { out }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.3}")
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else if r >= 0.1 {
        format!("{r:.2}×")
    } else if r >= 0.01 {
        format!("{r:.3}×")
    } else {
        format!("{r:.4}×")
    }
}

/// `fmt_ratio`, but never "1.00×" for a ratio just below 1 (which is "not met").
fn fmt_ratio_judged(r: f64) -> String {
    if (0.995..1.0).contains(&r) {
        format!("{:.3}×", (r * 1000.0).floor() / 1000.0)
    } else {
        fmt_ratio(r)
    }
}

pub fn header(rep: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## fastasyncpg side-by-side benchmark — {}", rep.date);
    if rep.quick {
        let _ = writeln!(
            s,
            "\n**QUICK MODE**: {} rounds, fewer iterations and smaller sizes (time-boxed loops 0.4 s instead of 0.75 s, W4 20,000 rows, W7 and W9–W11 200,000 rows, W8 1,000 gets). \
             Numbers are indicative only; run `bench/run` without `--quick` for the record.",
            rep.rounds
        );
    } else {
        let _ = writeln!(s, "\nFull run: {} interleaved rounds; median and min–max over rounds.", rep.rounds);
    }
    let _ = writeln!(s, "Elapsed (measuring only): {:.0}s.", rep.elapsed.as_secs_f64());
    if !rep.pinning.is_empty() {
        let _ = writeln!(s, "CPU pinning: {}.", rep.pinning);
    }
    s
}

pub fn markdown_table(rep: &Report) -> String {
    let mut s = String::new();
    s.push_str("| Workload | Implementation | Median | Spread (min–max) | Unit | × tokio-postgres | × best peer |\n");
    s.push_str("|---|---|---:|---:|---|---:|---:|\n");
    let mut last = String::new();
    for c in &rep.cells {
        let title = if c.title != last { c.title.clone() } else { String::new() };
        last = c.title.clone();
        let arrow = if c.higher_better { "↑" } else { "↓" };
        let (med, spread, ratio) = match c.value {
            Some(v) => (
                fmt_num(v),
                match c.spread_rel() {
                    Some(sr) => format!("{}–{} ({:.0}%)", fmt_num(c.min), fmt_num(c.max), sr * 100.0),
                    None => "(1 run)".into(),
                },
                if c.is_baseline {
                    "1.00 (baseline)".into()
                } else {
                    c.ratio.map(fmt_ratio).unwrap_or_else(|| "—".into())
                },
            ),
            None => (c.status.clone().unwrap_or_else(|| "—".into()), String::new(), String::new()),
        };
        let label = match &c.note {
            Some(n) => format!("{} ({n})", c.label),
            None => c.label.clone(),
        };
        let peer = match (&c.vs_best_peer, &c.best_peer) {
            (Some(r), Some((_, who))) => format!("{} ({who})", fmt_ratio_judged(*r)),
            _ => String::new(),
        };
        let _ = writeln!(s, "| {title} | {label} | {med} | {spread} | {} {arrow} | {ratio} | {peer} |", c.unit);
    }
    s.push_str(
        "\n↑ higher is better, ↓ lower is better. × tokio-postgres is value ÷ tokio-postgres's value of the same metric. \
         × best peer (fastasyncpg rows) is how many times better than the best peer of the same workload and metric \
         — value ÷ best for ↑, best ÷ value for ↓ (memory floored at 1 MB), so above 1 is ahead either way. \
         The percentage after min–max is the relative spread (max − min) ÷ median.\n",
    );
    s
}

pub struct Target {
    pub what: String,
    /// "throughput", "client CPU", "memory", "instructions".
    pub basis: &'static str,
    pub measured: Option<String>,
    pub met: Option<bool>,
}

pub fn target_list(rep: &Report) -> Vec<Target> {
    let mut t = Vec::new();
    let mut ratio_target = |what: &str, basis: &'static str, num: Option<f64>, den: Option<f64>, min: f64| {
        let r = match (num, den) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        t.push(Target { what: what.into(), basis, measured: r.map(fmt_ratio), met: r.map(|r| r >= min) });
    };
    let cpu = |w: &str, imp: &str| rep.get(w, imp, Some("client CPU")).and_then(|c| c.value);
    let tp = "throughput";
    let cp = "client CPU";
    let fa1 = rep.val("w1", FA);
    ratio_target("W1 get by pk: fastasyncpg ≥ 0.9× tokio-postgres", tp, fa1, rep.val("w1", RAW), 0.9);
    ratio_target("W1 get by pk: fastasyncpg ≥ 0.9× tokio-postgres", cp, cpu("w1", RAW), cpu("w1", FA), 0.9);
    ratio_target("W1 get by pk: fastasyncpg ≥ 2× asyncpg", tp, fa1, rep.val("w1", "asyncpg"), 2.0);
    ratio_target("W1 get by pk: fastasyncpg ≥ 2× asyncpg", cp, cpu("w1", "asyncpg"), cpu("w1", FA), 2.0);
    ratio_target("W1 get by pk: fastasyncpg ≥ 20× fastasyncpg-py 0.1.0", tp, fa1, rep.val("w1", FA_PY), 20.0);
    ratio_target("W1 get by pk: fastasyncpg ≥ 20× fastasyncpg-py 0.1.0", cp, cpu("w1", FA_PY), cpu("w1", FA), 20.0);
    let pgb = rep.val("w2", "pgbench");
    ratio_target("W2 pool: fastasyncpg ≥ 0.75× pgbench -c 4 -j 2", tp, rep.val("w2", FA), pgb, 0.75);
    ratio_target("W2p pipelined: fastasyncpg ≥ 1.5× pgbench -c 4 -j 2", tp, rep.val("w2p", FA), pgb, 1.5);
    let (typed, which) = match rep.val("w3", FA_MODEL) {
        Some(_) => (FA_MODEL, "typed models"),
        None => (FA_RAWTYPED, "typed via raw row (models n/a)"),
    };
    let what = format!("W3 typed fetch: fastasyncpg {which} ≥ 0.95× tokio-postgres");
    ratio_target(&what, tp, rep.val("w3", typed), rep.val("w3", RAW), 0.95);
    ratio_target(&what, cp, cpu("w3", RAW), cpu("w3", typed), 0.95);
    let ins = rep.val("w4", FA);
    ratio_target("W4 bulk insert: fastasyncpg inserts ≥ 0.9× binary COPY", tp, ins, rep.val("w4", RAW), 0.9);
    ratio_target("W4 bulk insert: fastasyncpg inserts ≥ 3× asyncpg executemany", tp, ins, rep.val("w4", "asyncpg"), 3.0);
    let w7 = rep.val("w7", FA);
    t.push(Target {
        what: "W7 stream: fastasyncpg peak RSS growth < 64 MB".into(),
        basis: "memory",
        measured: w7.map(|v| format!("{} MB", fmt_num(v))),
        met: w7.map(|v| v < 64.0),
    });
    let (a, b) = (rep.val("w8", FA), rep.val("w8", RAW));
    let r = match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    t.push(Target {
        what: "W8 instructions per get: fastasyncpg ≤ 1.2× tokio-postgres".into(),
        basis: "instructions",
        measured: r.map(|r| format!("{} ({} vs {})", fmt_ratio(r), fmt_num(a.unwrap_or(0.0)), fmt_num(b.unwrap_or(0.0)))),
        met: r.map(|r| r <= 1.2),
    });
    t
}

pub fn targets(rep: &Report) -> String {
    let mut s = String::from(
        "### Targets\n\n\
         Each throughput target is also read on the client's CPU time per operation (the same ratio, \
         computed as their CPU ÷ fastasyncpg's CPU): on a shared 2-core machine wall-clock rates of \
         latency-bound loops swing by ±30% with scheduling, CPU time much less.\n\n\
         | Target | Basis | Measured | Status |\n|---|---|---:|---|\n",
    );
    for t in target_list(rep) {
        let status = match t.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "n/a",
        };
        let _ = writeln!(s, "| {} | {} | {} | {status} |", t.what, t.basis, t.measured.unwrap_or_else(|| "—".into()));
    }
    s
}

fn cmd_out(prog: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(prog).args(args).output().ok()?;
    let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let s = if s.is_empty() { String::from_utf8_lossy(&o.stderr).trim().to_string() } else { s };
    (!s.is_empty()).then(|| s.lines().next().unwrap_or("").to_string())
}

/// Machine and versions.
pub fn environment(o: &Options) -> Vec<(String, String)> {
    let mut e = Vec::new();
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|x| x.1.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    e.push(("nproc".into(), nproc.to_string()));
    e.push(("CPU".into(), cpu));
    e.push(("memory".into(), mem));
    e.push((
        "kernel".into(),
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string(),
    ));
    e.push(("rustc".into(), cmd_out("rustc", &["-V"]).unwrap_or_else(|| "unknown".into())));
    e.push(("PostgreSQL server".into(), server_version(&o.url).unwrap_or_else(|e| format!("unknown ({e})"))));
    if let Some(p) = &o.pgbench {
        e.push(("pgbench".into(), cmd_out(p, &["--version"]).unwrap_or_default()));
    }
    if let Some(p) = &o.psql {
        e.push(("psql".into(), cmd_out(p, &["--version"]).unwrap_or_default()));
    }
    if let Some(c) = &o.fa_cli {
        e.push(("fastasyncpg CLI".into(), cmd_out(c, &["--version"]).unwrap_or_default()));
    }
    if let Some(v) = &o.valgrind {
        e.push(("valgrind".into(), cmd_out(v, &["--version"]).unwrap_or_default()));
    }
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap_or_default();
    let crates: Vec<String> = ["fastasyncpg", "tokio-postgres", "tokio", "deadpool-postgres", "sqlx"]
        .iter()
        .filter_map(|name| {
            let needle = format!("name = \"{name}\"\nversion = \"");
            let i = lock.find(&needle)? + needle.len();
            let v = &lock[i..i + lock[i..].find('"')?];
            Some(format!("{name} {v}"))
        })
        .collect();
    e.push(("crates".into(), crates.join(", ")));
    match &o.python {
        Some(py) => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py").join("bench.py");
            let v = Command::new(py)
                .arg(script)
                .arg("--versions")
                .output()
                .ok()
                .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok());
            let s = match v {
                Some(serde_json::Value::Object(m)) => {
                    m.iter().map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("?"))).collect::<Vec<_>>().join(", ")
                }
                _ => "unknown".into(),
            };
            e.push(("Python".into(), s));
        }
        None => e.push(("Python".into(), format!("unavailable ({})", o.python_why))),
    }
    e
}

fn server_version(url: &str) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let c = crate::rust_impls::raw_connect(url).await.map_err(|e| e.to_string())?;
        let r = c.query_one("SHOW server_version", &[]).await.map_err(|e| e.to_string())?;
        Ok(r.get::<_, String>(0))
    })
}

fn json_results(rep: &Report) -> serde_json::Value {
    let arr: Vec<serde_json::Value> = rep
        .cells
        .iter()
        .map(|c| {
            let mut m = serde_json::json!({
                "workload": c.workload,
                "impl": c.imp,
                "metric": c.metric,
                "value": c.value,
                "unit": c.unit,
                "label": c.label,
                "title": c.title,
                "baseline": c.is_baseline,
                "higher_is_better": c.higher_better,
            });
            if c.value.is_some() {
                m["min"] = serde_json::json!(c.min);
                m["max"] = serde_json::json!(c.max);
                m["rounds"] = serde_json::json!(c.rounds);
                m["ratio_to_tokio_postgres"] = serde_json::json!(c.ratio);
                m["spread_rel"] = serde_json::json!(c.spread_rel());
            }
            if let (Some(r), Some((id, label))) = (c.vs_best_peer, &c.best_peer) {
                m["vs_best_peer"] = serde_json::json!(r);
                m["best_peer"] = serde_json::json!(id);
                m["best_peer_label"] = serde_json::json!(label);
                m["best_peer_met"] = serde_json::json!(r >= 1.0);
            }
            if let Some(s) = &c.status {
                m["status"] = serde_json::json!(s);
            }
            m
        })
        .collect();
    serde_json::Value::Array(arr)
}

/// Horizontal bars of relative performance (tokio-postgres = 1, higher is better), log scale.
pub fn svg(rep: &Report) -> String {
    struct Bar<'a> {
        c: &'a Cell,
        rel: f64,
    }
    let mut groups: Vec<(String, Vec<Bar<'_>>)> = Vec::new();
    for c in &rep.cells {
        // Primary metrics only (the first metric of each workload), plus W8.
        let primary = rep.cells.iter().find(|x| x.workload == c.workload).map(|x| x.metric.as_str()) == Some(c.metric.as_str());
        if !primary || c.is_baseline {
            continue;
        }
        let rel = match c.ratio.filter(|r| *r > 0.0) {
            Some(r) if c.higher_better => r,
            // Memory below 1 MB is noise: compare max(value, 1 MB).
            Some(r) if c.unit == "MB" => {
                let v = c.value.unwrap_or(0.0);
                (v / r).max(1.0) / v.max(1.0)
            }
            Some(r) => 1.0 / r,
            // fastasyncpg's own pending cells are shown as n/a rows.
            None if c.imp.starts_with("fastasyncpg") && !c.imp.starts_with("fastasyncpg-py") && c.status.is_some() => 0.0,
            None => continue,
        };
        match groups.last_mut() {
            Some((t, v)) if *t == c.title => v.push(Bar { c, rel }),
            _ => groups.push((c.title.clone(), vec![Bar { c, rel }])),
        }
    }
    let (w, left, x0, x1) = (980.0, 16.0, 400.0, 900.0);
    let (lo, hi) = (-2.0f64, 1.0f64); // log10 domain: 0.01× .. 10×
    let x = |rel: f64| x0 + ((rel.log10().clamp(lo, hi) - lo) / (hi - lo)) * (x1 - x0);
    let row = 18.0;
    let mut y = 70.0;
    let mut body = String::new();
    for (title, bars) in &groups {
        y += 20.0;
        let _ = writeln!(body, r#"<text x="{left}" y="{y}" class="h">{}</text>"#, esc(title));
        y += 2.0;
        for b in bars {
            y += row;
            if b.rel == 0.0 {
                let _ = writeln!(body, r#"<text x="{}" y="{}" class="l">{}</text>"#, left + 12.0, y - 4.0, esc(&b.c.label));
                let what = b.c.status.as_deref().unwrap_or("n/a");
                let what = if what.starts_with("n/a (not yet") { "n/a (not yet implemented)" } else { what };
                let _ = writeln!(body, r#"<text x="{:.1}" y="{:.1}" class="v">{}</text>"#, x(1.0) + 4.0, y - 4.0, esc(what));
                continue;
            }
            let (xa, xb) = (x(1.0), x(b.rel));
            let (bx, bw) = if xb >= xa { (xa, xb - xa) } else { (xb, xa - xb) };
            let fill = if b.c.imp.starts_with("fastasyncpg-py") {
                "#dd8452"
            } else if b.c.imp.starts_with("fastasyncpg") {
                "#2b6cb0"
            } else if b.c.imp.starts_with("pgbench") {
                "#55a868"
            } else if b.c.imp.starts_with("asyncpg") {
                "#c44e52"
            } else {
                "#8c8c8c"
            };
            let _ = writeln!(body, r#"<text x="{}" y="{}" class="l">{}</text>"#, left + 12.0, y - 4.0, esc(&b.c.label));
            let _ = writeln!(
                body,
                r#"<rect x="{bx:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}: {} {}</title></rect>"#,
                y - row + 4.0,
                bw.max(1.0),
                row - 6.0,
                esc(&b.c.label),
                fmt_num(b.c.value.unwrap_or(0.0)),
                esc(&b.c.unit)
            );
            let tx = if xb >= xa { xb + 4.0 } else { xb - 4.0 };
            let anchor = if xb >= xa { "start" } else { "end" };
            let _ = writeln!(body, r#"<text x="{tx:.1}" y="{:.1}" class="v" text-anchor="{anchor}">{}</text>"#, y - 4.0, fmt_ratio(b.rel));
        }
    }
    let hgt = y + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{hgt}" viewBox="0 0 {w} {hgt}" font-family="sans-serif">"#
    );
    s.push_str("<style>.h{font-size:13px;font-weight:bold}.l{font-size:11px}.v{font-size:10px;fill:#333}.t{font-size:15px;font-weight:bold}.a{font-size:10px;fill:#555}</style>\n");
    let _ = writeln!(s, r##"<rect width="{w}" height="{hgt}" fill="#fff"/>"##);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="22" class="t">Relative to raw tokio-postgres (= 1×; higher is better; log scale){}</text>"#,
        if rep.quick { " — QUICK run" } else { "" }
    );
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="40" class="a">{}throughput: value ÷ tokio-postgres; time, memory (floored at 1 MB), instructions: tokio-postgres ÷ value</text>"#,
        if rep.date.is_empty() { String::new() } else { format!("{} · ", esc(&rep.date)) }
    );
    for t in [0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0] {
        let xt = x(t);
        let stroke = if t == 1.0 { "#000" } else { "#ddd" };
        let _ = writeln!(s, r#"<line x1="{xt:.1}" y1="56" x2="{xt:.1}" y2="{:.1}" stroke="{stroke}"/>"#, hgt - 20.0);
        let _ = writeln!(s, r#"<text x="{xt:.1}" y="52" class="a" text-anchor="middle">{t}×</text>"#);
    }
    s.push_str(&body);
    s.push_str("</svg>\n");
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn write_all(rep: &Report, out: &Path, bench_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let json = serde_json::to_string_pretty(&json_results(rep)).unwrap_or_default();
    std::fs::write(out.join("latest.json"), json + "\n")?;
    std::fs::write(out.join("latest.svg"), svg(rep))?;
    let mut md = header(rep);
    md.push_str("\n### Machine and versions\n\n");
    for (k, v) in &rep.env {
        let _ = writeln!(md, "- {k}: {v}");
    }
    md.push_str("\n### Results\n\n");
    md.push_str(&markdown_table(rep));
    md.push('\n');
    md.push_str(&targets(rep));
    md.push('\n');
    md.push_str(&best_peer_summary(rep));
    md.push_str("\n### Method\n\n");
    md.push_str(&format!(
        "- One throwaway PostgreSQL server (fsync off), pgbench data at scale {}, Chinook, a 200-table schema; clients and server share the machine.\n",
        rep.scale
    ));
    md.push_str("- Every measurement runs in a process of its own, after connecting and warming up; only the workload is timed. \
                 Rounds are interleaved (round r runs every implementation of a workload, in an order rotated by r).\n");
    md.push_str("- Rust: tokio current-thread runtime, except W2/W2p (multi-thread, 2 workers). Python: uvloop when installed.\n");
    md.push_str("- W6 round trips are counted by a protocol proxy (Sync/Query … ReadyForQuery exchanges, pipelined ones counted once).\n");
    md.push_str("- W7: VmHWM reset (clear_refs 5) after connecting, growth = VmHWM after − VmRSS before.\n");
    md.push_str("- W9–W11 read (W10 writes) a table of their own; psql and the fastasyncpg CLI are timed as whole processes (start, connect, COPY, exit), the libraries from after connecting.\n");
    md.push_str("- W8: callgrind instruction count of the client process with N gets minus with 0 gets, ÷ N.\n");
    md.push_str("- Median and min–max over rounds; the relative spread (max − min) ÷ median is printed after min–max and stored \
                 as `spread_rel` in `latest.json` — a row whose spread is wider than its distance to a peer does not rank them.\n");
    md.push_str("- × best peer: each fastasyncpg row against the best implementation that is not fastasyncpg (fastasyncpg-py 0.1.0 \
                 excluded from both sides) of the same workload and metric; above 1 is ahead (`vs_best_peer`, `best_peer` in `latest.json`).\n");
    let _ = writeln!(md, "- CPU pinning: {}.", if rep.pinning.is_empty() { "off" } else { &rep.pinning });
    for n in &rep.notes {
        let _ = writeln!(md, "- {n}");
    }
    let _ = writeln!(md, "\nChart: `latest.svg` (relative performance). Raw data: `latest.json`.");
    let name = if rep.quick { format!("{}-quick.md", rep.date) } else { format!("{}.md", rep.date) };
    std::fs::write(out.join(name), md)?;
    let _ = bench_dir;
    Ok(())
}

/// Rebuilds the cells of a report from `latest.json` (for `fab svg`).
pub fn cells_from_json(v: &serde_json::Value) -> Vec<Cell> {
    let empty = Vec::new();
    v.as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|e| {
            let st = |k: &str| e.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            let f = |k: &str| e.get(k).and_then(|x| x.as_f64());
            Cell {
                workload: st("workload"),
                title: e.get("title").and_then(|x| x.as_str()).map(String::from).unwrap_or_else(|| st("workload").to_uppercase()),
                imp: st("impl"),
                label: st("label"),
                metric: st("metric"),
                unit: st("unit"),
                higher_better: e.get("higher_is_better").and_then(|x| x.as_bool()).unwrap_or(true),
                value: f("value"),
                min: f("min").unwrap_or(0.0),
                max: f("max").unwrap_or(0.0),
                rounds: f("rounds").unwrap_or(0.0) as usize,
                ratio: f("ratio_to_tokio_postgres"),
                is_baseline: e.get("baseline").and_then(|x| x.as_bool()).unwrap_or_else(|| st("impl") == RAW),
                status: e.get("status").and_then(|x| x.as_str()).map(String::from),
                note: None,
                vs_best_peer: f("vs_best_peer"),
                best_peer: e.get("best_peer").and_then(|x| x.as_str()).map(|id| {
                    (id.to_string(), e.get("best_peer_label").and_then(|x| x.as_str()).unwrap_or(id).to_string())
                }),
            }
        })
        .collect()
}
