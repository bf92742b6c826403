//! Starting and stopping a throwaway PostgreSQL server in a temporary directory.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Name of the superuser created by `initdb` in the throwaway cluster.
pub(crate) const SUPERUSER: &str = "fastasyncpg";

/// Unprivileged system user created when running as root and no `postgres` user exists.
const SYSTEM_USER: &str = "fastasyncpg";

/// How long to wait for the server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many ports to try when the chosen one turns out to be taken.
const PORT_ATTEMPTS: usize = 5;

const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, postgres) were not found. \
Install them (Debian/Ubuntu: `apt-get install -y postgresql`; Fedora: `dnf install -y postgresql-server`; \
macOS: `brew install postgresql`), or set PG_BIN_DIR to the directory holding initdb and postgres, \
or set DATABASE_URL to use an existing server";

/// A running server owned by this process.
pub(crate) struct LocalServer {
    /// Temporary directory holding `data/`, the socket and `postgres.log`.
    pub dir: PathBuf,
    pub port: u16,
    pub bin_dir: PathBuf,
    postmaster: Child,
    watchdog: Option<Child>,
}

/// The unprivileged account used when we run as root.
#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

impl LocalServer {
    /// Runs initdb, starts postgres and waits until it accepts connections.
    pub fn start() -> Result<LocalServer, String> {
        let bin_dir = find_bin_dir()?;
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(unprivileged_user()?)
        } else {
            None
        };
        let dir = make_temp_dir(run_as)?;
        // From here on the watchdog removes `dir` if this process dies.
        let watchdog = match spawn_watchdog(&dir) {
            Ok(w) => w,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let mut guard = DirGuard {
            dir: dir.clone(),
            watchdog: Some(watchdog),
        };
        initdb(&bin_dir, &dir, run_as)?;
        let (postmaster, port) = start_postgres(&bin_dir, &dir, run_as)?;
        let watchdog = guard.watchdog.take();
        std::mem::forget(guard);
        Ok(LocalServer {
            dir,
            port,
            bin_dir,
            postmaster,
            watchdog,
        })
    }

    /// The directory holding the unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server and removes its directory (used by `Drop` of owned servers).
    pub fn stop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            kill_group(&mut w);
        }
        stop_child(&mut self.postmaster);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Removes the temporary directory (and stops the watchdog) when startup fails.
struct DirGuard {
    dir: PathBuf,
    watchdog: Option<Child>,
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            kill_group(&mut w);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Kills the watchdog's process group (the shell and its `sleep`) and reaps it.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Immediate shutdown (SIGQUIT), then SIGKILL if the server lingers.
fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        unsafe {
            libc::kill(pid, libc::SIGQUIT);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Finds the directory holding `initdb` and `postgres`.
///
/// Order: `PG_BIN_DIR`, `pg_config --bindir`, `initdb` on `PATH`, newest `/usr/lib/postgresql/*/bin`.
pub(crate) fn find_bin_dir() -> Result<PathBuf, String> {
    let has_bins = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("PG_BIN_DIR") {
        let d = PathBuf::from(d);
        return if has_bins(&d) {
            Ok(d)
        } else {
            Err(format!(
                "PG_BIN_DIR={} does not contain initdb and postgres",
                d.display()
            ))
        };
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        if out.status.success() {
            let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if has_bins(&d) {
                return Ok(d);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() {
                // `initdb` on PATH may be a symlink (e.g. /usr/local/bin); use its real directory.
                let real = fs::canonicalize(d.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf));
                for cand in real.into_iter().chain(std::iter::once(d.clone())) {
                    if has_bins(&cand) {
                        return Ok(cand);
                    }
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_bins(d))
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, d)) => Ok(d),
        None => Err(INSTALL_HINT.to_string()),
    }
}

/// Looks a user up in /etc/passwd, returning (uid, gid).
fn passwd_lookup(name: &str) -> Option<RunAs> {
    let text = fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _password = f.next()?;
        let uid = f.next()?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        Some(RunAs { uid, gid })
    })
}

/// PostgreSQL refuses to run as root: use `postgres`, else create a system user.
fn unprivileged_user() -> Result<RunAs, String> {
    for name in ["postgres", SYSTEM_USER] {
        if let Some(u) = passwd_lookup(name) {
            if u.uid != 0 {
                return Ok(u);
            }
        }
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            SYSTEM_USER,
        ])
        .output()
        .map_err(|e| {
            format!("running as root and no `postgres` user exists; `useradd {SYSTEM_USER}` failed to run: {e}")
        })?;
    // Exit code 9: the user already exists (created concurrently by another process).
    if !out.status.success() && out.status.code() != Some(9) {
        return Err(format!(
            "running as root and no `postgres` user exists; `useradd --system {SYSTEM_USER}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    passwd_lookup(SYSTEM_USER).ok_or_else(|| {
        format!("created system user `{SYSTEM_USER}` but cannot find it in /etc/passwd")
    })
}

/// A per-process random number (std's hasher keys are randomly seeded).
pub(crate) fn process_token() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static TOKEN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TOKEN.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    })
}

/// Creates a fresh mode-0700 directory under the temp dir, owned by `run_as`.
fn make_temp_dir(run_as: Option<RunAs>) -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut base = std::env::temp_dir();
    // Unix socket paths are limited to ~107 bytes ("<dir>/.s.PGSQL.NNNNN").
    if base.as_os_str().len() > 60 {
        base = PathBuf::from("/tmp");
    }
    let name = format!(
        "fastasyncpg-{}-{}-{:06x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        process_token() & 0xff_ffff
    );
    let dir = base.join(name);
    fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let setup = || -> std::io::Result<()> {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        if let Some(u) = run_as {
            chown(&dir, Some(u.uid), Some(u.gid))?;
        }
        Ok(())
    };
    if let Err(e) = setup() {
        let _ = fs::remove_dir_all(&dir);
        return Err(format!("cannot set up {}: {e}", dir.display()));
    }
    Ok(dir)
}

/// Spawns `sh` that waits for this process to die, then stops postgres and removes `dir`.
///
/// It reads the postmaster pid from `data/postmaster.pid`, so it also covers port retries.
fn spawn_watchdog(dir: &Path) -> Result<Child, String> {
    const SCRIPT: &str = r#"
parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
pidfile="$dir/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pg=$(head -n 1 "$pidfile")
  if [ -n "$pg" ]; then
    kill -QUIT "$pg" 2>/dev/null
    i=0
    while kill -0 "$pg" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    kill -KILL "$pg" 2>/dev/null
  fi
fi
rm -rf "$dir"
"#;
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("fastasyncpg-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: Ctrl-C in the terminal must not kill the watchdog.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot spawn cleanup watchdog (sh): {e}"))
}

fn command_as(program: PathBuf, dir: &Path, run_as: Option<RunAs>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).stdin(Stdio::null());
    if let Some(u) = run_as {
        cmd.uid(u.uid).gid(u.gid);
    }
    cmd
}

fn initdb(bin_dir: &Path, dir: &Path, run_as: Option<RunAs>) -> Result<(), String> {
    let initdb = bin_dir.join("initdb");
    let out = command_as(initdb.clone(), dir, run_as)
        .arg("-D")
        .arg(dir.join("data"))
        .args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", initdb.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}{}",
            initdb.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// The last `lines` lines of the server log.
pub(crate) fn log_tail(dir: &Path, lines: usize) -> String {
    let Ok(mut f) = fs::File::open(dir.join("postgres.log")) else {
        return String::from("(no server log)");
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn start_postgres(
    bin_dir: &Path,
    dir: &Path,
    run_as: Option<RunAs>,
) -> Result<(Child, u16), String> {
    let postgres = bin_dir.join("postgres");
    let mut last_err = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let log_path = dir.join("postgres.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let mut child = command_as(postgres.clone(), dir, run_as)
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-k")
            .arg(dir)
            .arg("-p")
            .arg(port.to_string())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ])
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", postgres.display()))?;
        match wait_ready(&mut child, dir, port) {
            Ok(()) => return Ok((child, port)),
            Err(e) => {
                stop_child(&mut child);
                let tail = log_tail(dir, 30);
                last_err = format!("{e}; server log ({}):\n{tail}", log_path.display());
                if tail.contains("already in use") {
                    continue;
                }
                return Err(last_err);
            }
        }
    }
    Err(last_err)
}

/// Waits until `data/postmaster.pid` reports "ready" and the socket exists.
fn wait_ready(child: &mut Child, dir: &Path, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let socket = dir.join(format!(".s.PGSQL.{port}"));
    let pidfile = dir.join("data").join("postmaster.pid");
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("cannot wait for postgres: {e}"))?
        {
            return Err(format!("postgres exited during startup ({status})"));
        }
        if socket.exists() {
            if let Ok(text) = fs::read_to_string(&pidfile) {
                let lines: Vec<&str> = text.lines().collect();
                // Line 8 is the postmaster status (PostgreSQL 10+).
                match lines.get(7) {
                    Some(s) if s.trim() == "ready" => return Ok(()),
                    None if lines.len() == 7 => return Ok(()), // pre-10: no status line
                    _ => {}
                }
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "postgres did not become ready within {}s",
                READY_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
