//! Helpers shared by the CLI's test binaries.
#![allow(dead_code)] // each binary uses a subset

use std::process::Command;

/// Runs the `fastasyncpg` binary with `--url url` and `args`: (exit code, stdout, stderr).
pub fn fastasyncpg(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fastasyncpg"))
        .arg("--url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run fastasyncpg");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
