//! What one measurement gets (`Params`, passed as JSON to `fab one` and `bench/py/bench.py`)
//! and what it answers (`Outcome`, one JSON line on stdout).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    /// Workload id: w1, w1t, w2, w2p, w3, w4, w5, w6, w6c, w7, w8, w9, w10, w11.
    pub workload: String,
    /// Implementation id (see `orchestrate::catalogue`).
    #[serde(rename = "impl")]
    pub imp: String,
    /// Connection URL (for W6 it points at the round-trip-counting proxy).
    pub url: String,
    /// Timed iterations (queries for W1/W2/W8, fetches for W3, batches for W4/W5, refreshes
    /// for W6, 1 for W7).
    pub n: u64,
    /// When > 0, time-boxed instead of `n` iterations: run for this many seconds (W1, W1t, W2,
    /// W2p, W3) and report the rate of what was done.
    #[serde(default)]
    pub seconds: f64,
    /// Untimed warm-up iterations.
    pub warmup: u64,
    /// Rows per iteration (W3 fetch, W4 insert, W5 upsert, W7 stream, W9 COPY out, W10 load,
    /// W11 cursor).
    pub rows: u64,
    /// Rows in pgbench_accounts (100000 × scale).
    pub naccounts: u64,
    /// Pool size (W2).
    pub pool: u64,
    /// Concurrent tasks (W2).
    pub tasks: u64,
    /// Address of the proxy's counter (W6), `host:port`; empty when unused.
    #[serde(default)]
    pub proxy_ctl: String,
    /// A file of the measurement: W9 writes its COPY output there, W10 loads the CSV file
    /// there. Empty when unused.
    #[serde(default)]
    pub file: String,
}

impl Params {
    pub fn from_args(args: &[String]) -> Result<Params, String> {
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--params" {
                let j = it.next().ok_or("--params needs a JSON argument")?;
                return serde_json::from_str(j).map_err(|e| format!("bad --params: {e}"));
            }
        }
        Err("missing --params JSON".into())
    }
}

/// The answer of one measurement.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Outcome {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Secondary metrics, name → value (their units are known to the orchestrator).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    /// Not applicable / not implemented: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub na: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Free-form remark (e.g. the event loop used by Python).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Outcome {
    pub fn value(v: f64, unit: &str) -> Outcome {
        Outcome { ok: true, value: Some(v), unit: Some(unit.into()), ..Default::default() }
    }
    pub fn na(why: &str) -> Outcome {
        Outcome { na: Some(why.into()), ..Default::default() }
    }
    pub fn error(e: impl std::fmt::Display) -> Outcome {
        Outcome { error: Some(e.to_string()), ..Default::default() }
    }
    pub fn with(mut self, k: &str, v: f64) -> Outcome {
        self.extra.insert(k.into(), serde_json::json!(v));
        self
    }
}
