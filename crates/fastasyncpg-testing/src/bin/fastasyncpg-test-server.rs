//! `fastasyncpg-test-server`: a throwaway PostgreSQL server for test suites in other languages
//! (the Python bindings' pytest suite in `crates/fastasyncpg-py/tests`).
//!
//! It starts the [global](fastasyncpg_testing::TestServer::global) server (or uses the one in
//! `DATABASE_URL`), builds the Chinook template database, prints ONE line of JSON to stdout and
//! then blocks until its stdin is closed; then it exits and the server is stopped and removed
//! (by the testing crate's watchdog). Run it with a pipe as stdin, so that the server lives
//! exactly as long as the process that reads the line:
//!
//! ```text
//! {"admin_url": "postgresql://fastasyncpg@127.0.0.1:5433/postgres",
//!  "socket_admin_url": "postgresql://fastasyncpg@/postgres?host=/tmp/...&port=5433",
//!  "db_url_template": "postgresql://fastasyncpg@127.0.0.1:5433/__DB__", "db_placeholder": "__DB__",
//!  "chinook_template": "chinook_tpl_...", "host": "127.0.0.1", "socket_dir": "/tmp/...",
//!  "port": 5433, "user": "fastasyncpg", "external": false, "bin_dir": "/usr/lib/postgresql/15/bin"}
//! ```
//!
//! (one line in reality). `admin_url` connects to the admin database over TCP; a database `d`
//! is reached at `db_url_template` with `db_placeholder` replaced by `d`. Create databases from
//! the template with `CREATE DATABASE d TEMPLATE <chinook_template>`, and never connect to the
//! template itself. `bin_dir` holds `psql` and the other PostgreSQL programs (null when not
//! found). On a start-up failure it prints `{"error": "..."}` and exits with status 1.

use std::io::{Read, Write};
use std::process::ExitCode;

use fastasyncpg_testing::TestServer;

/// The placeholder for the database name in `db_url_template`.
const DB_PLACEHOLDER: &str = "__DB__";

fn main() -> ExitCode {
    match start() {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            drop(out);
            // Block until the reader closes our stdin (EOF) or goes away (error).
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{{\"error\": {}}}", json_str(&e));
            eprintln!("fastasyncpg-test-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts (or finds) the server, builds the Chinook template and returns the JSON line.
fn start() -> Result<String, String> {
    let server = TestServer::global()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let template = rt.block_on(server.chinook_template())?;
    let external = std::env::var("DATABASE_URL").is_ok_and(|u| !u.trim().is_empty());
    let admin_url = match std::env::var("DATABASE_URL") {
        Ok(u) if external => u.trim().to_string(),
        _ => server.tcp_url("postgres"),
    };
    let socket_admin_url = match std::env::var("DATABASE_URL") {
        Ok(u) if external => u.trim().to_string(),
        _ => server.url("postgres"),
    };
    let host = if external {
        server.host().to_string()
    } else {
        String::from("127.0.0.1")
    };
    let fields = [
        ("admin_url", json_str(&admin_url)),
        ("socket_admin_url", json_str(&socket_admin_url)),
        ("db_url_template", json_str(&server.tcp_url(DB_PLACEHOLDER))),
        ("db_placeholder", json_str(DB_PLACEHOLDER)),
        ("chinook_template", json_str(&template)),
        ("host", json_str(&host)),
        ("socket_dir", json_str(server.host())),
        ("port", server.port().to_string()),
        ("user", json_str(server.user())),
        ("external", external.to_string()),
        (
            "bin_dir",
            server
                .bin_dir()
                .map_or_else(|| String::from("null"), |d| json_str(&d.to_string_lossy())),
        ),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {v}", json_str(k)))
        .collect();
    Ok(format!("{{{}}}", body.join(", ")))
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
