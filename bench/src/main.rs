//! `fab`: fastasyncpg's side-by-side benchmark harness.
//!
//! - `fab all [options]` runs every workload for every implementation in interleaved rounds,
//!   each measurement in a process of its own, and writes the report (see `bench/README.md`).
//! - `fab one --params JSON` runs one measurement of a Rust implementation and prints one JSON
//!   line (`{"ok":true,"value":..,"unit":..,"extra":{..}}`, or `{"ok":false,"na":..}` /
//!   `{"ok":false,"error":..}`). The Python script `bench/py/bench.py` speaks the same.
//! - `fab w8 --params JSON` is the tiny get-by-pk loop run under callgrind.
//! - `fab svg results/latest.json [out.svg]` redraws the chart from a results file.
//! - `fab free-port` prints a free TCP port on 127.0.0.1.

mod orchestrate;
mod params;
mod pending;
mod proxy;
mod report;
mod rust_impls;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("usage: fab all|one|w8|free-port ... (see bench/README.md)");
        return ExitCode::from(2);
    };
    match cmd.as_str() {
        "all" => match orchestrate::main(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fab all: {e}");
                ExitCode::FAILURE
            }
        },
        "one" | "w8" => {
            let p = match params::Params::from_args(&args[1..]) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("fab {cmd}: {e}");
                    return ExitCode::from(2);
                }
            };
            let out = if cmd == "one" { rust_impls::run_one(&p) } else { rust_impls::run_w8(&p) };
            println!("{}", serde_json::to_string(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        "svg" => {
            // fab svg JSON [OUT.svg]: redraw the chart from a results file.
            let (Some(src), out) = (args.get(1), args.get(2)) else {
                eprintln!("usage: fab svg results/latest.json [out.svg]");
                return ExitCode::from(2);
            };
            let v: serde_json::Value = match std::fs::read_to_string(src).map(|t| serde_json::from_str(&t)) {
                Ok(Ok(v)) => v,
                _ => {
                    eprintln!("fab svg: cannot read {src}");
                    return ExitCode::FAILURE;
                }
            };
            let rep = report::Report {
                quick: src.contains("quick"),
                rounds: 0,
                date: String::new(),
                scale: 0,
                cells: report::cells_from_json(&v),
                elapsed: std::time::Duration::ZERO,
                env: Vec::new(),
                notes: Vec::new(),
                pinning: String::new(),
            };
            let out = out.cloned().unwrap_or_else(|| src.replace(".json", ".svg"));
            match std::fs::write(&out, report::svg(&rep)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("fab svg: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        "free-port" => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            println!("{}", l.local_addr().expect("local addr").port());
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("fab: unknown command {other:?}");
            ExitCode::from(2)
        }
    }
}
