//! Starting and stopping a throwaway PostgreSQL server in a temporary directory.

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::options::{DataInit, ServerOptions};

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
    /// Temporary directory holding `data/`, the socket, `pg_hba.conf` and `postgres.log`.
    pub dir: PathBuf,
    pub port: u16,
    pub bin_dir: PathBuf,
    /// The postmaster; `None` while stopped (see [`LocalServer::stop_server`]).
    postmaster: Mutex<Option<Child>>,
    /// Arguments for `postgres` (data dir, socket dir, port, settings), reused by restarts.
    args: Vec<OsString>,
    run_as: Option<RunAs>,
    watchdog: Option<Child>,
}

/// The unprivileged account used when we run as root.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunAs {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// What a [`ServerOptions::prepare`] step gets: the server's directory, before postgres starts.
pub(crate) struct Prepared<'a> {
    /// The server's temporary directory (data dir is `data/` in it).
    pub dir: &'a Path,
    run_as: Option<RunAs>,
}

impl Prepared<'_> {
    /// Sets `path`'s mode and makes it belong to the user the server runs as.
    pub fn give_to_server(&self, path: &Path, mode: u32) -> Result<(), String> {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot chmod {}: {e}", path.display()))?;
        if let Some(u) = self.run_as {
            chown(path, Some(u.uid), Some(u.gid))
                .map_err(|e| format!("cannot chown {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

/// How long a fast shutdown may take before it is reported as failed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `pg_basebackup` may take.
const BASEBACKUP_TIMEOUT: Duration = Duration::from_secs(120);

impl LocalServer {
    /// Makes the data directory (initdb, existing or base backup), starts postgres and waits
    /// until it accepts connections.
    pub fn start(opts: ServerOptions) -> Result<LocalServer, String> {
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
        match &opts.data {
            DataInit::Initdb => initdb(&bin_dir, &dir, run_as)?,
            DataInit::Existing(data) => {
                if !data.join("PG_VERSION").is_file() {
                    return Err(format!(
                        "{} is not a PostgreSQL data directory (no PG_VERSION)",
                        data.display()
                    ));
                }
                let data = fs::canonicalize(data)
                    .map_err(|e| format!("cannot resolve {}: {e}", data.display()))?;
                std::os::unix::fs::symlink(&data, dir.join("data")).map_err(|e| {
                    format!("cannot link {} into {}: {e}", data.display(), dir.display())
                })?;
            }
            DataInit::BaseBackup { port } => base_backup(&bin_dir, &dir, run_as, *port)?,
        }
        write_hba(&dir, &opts, run_as)?;
        let prepared = Prepared { dir: &dir, run_as };
        let mut settings = opts.settings;
        for step in opts.prepare {
            settings.extend(step(&prepared)?);
        }
        let (postmaster, port, args) =
            start_postgres(&bin_dir, &dir, run_as, &settings, opts.port)?;
        let watchdog = guard.watchdog.take();
        std::mem::forget(guard);
        Ok(LocalServer {
            dir,
            port,
            bin_dir,
            postmaster: Mutex::new(Some(postmaster)),
            args,
            run_as,
            watchdog,
        })
    }

    /// The directory holding the unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    fn postmaster(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.postmaster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the postmaster is running (started and not exited).
    pub fn is_running(&self) -> bool {
        match &mut *self.postmaster() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the postmaster: fast shutdown (SIGINT: sessions are ended, a shutdown checkpoint
    /// is written) or, with `immediate`, immediate shutdown (SIGQUIT: no checkpoint, crash
    /// recovery on the next start). Waits until it has exited. Does nothing when stopped.
    pub fn stop_server(&self, immediate: bool) -> Result<(), String> {
        let mut guard = self.postmaster();
        let Some(child) = guard.as_mut() else {
            return Ok(());
        };
        if let Ok(Some(_)) = child.try_wait() {
            *guard = None;
            return Ok(());
        }
        let (signal, mode) = if immediate {
            (libc::SIGQUIT, "immediate")
        } else {
            (libc::SIGINT, "fast")
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            unsafe {
                libc::kill(pid, signal);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => {
                    *guard = None;
                    return Ok(());
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    return Err(format!(
                        "postgres (pid {}) did not finish a {mode} shutdown within {}s; server log:\n{}",
                        child.id(),
                        STOP_TIMEOUT.as_secs(),
                        log_tail(&self.dir, 30)
                    ))
                }
                Err(e) => return Err(format!("cannot wait for postgres: {e}")),
            }
        }
    }

    /// Starts the postmaster again after [`LocalServer::stop_server`], with the same data
    /// directory, port, socket directory and settings, and waits until it is ready. Does
    /// nothing when it is running.
    pub fn start_again(&self) -> Result<(), String> {
        let mut guard = self.postmaster();
        if let Some(child) = guard.as_mut() {
            if let Ok(None) = child.try_wait() {
                return Ok(());
            }
            *guard = None;
        }
        // Another process may grab the port while we are down; retry for a few seconds
        // (the port cannot change: clients hold URLs with it).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut child = spawn_postgres(&self.bin_dir, &self.dir, self.run_as, &self.args)?;
            match wait_ready(&mut child, &self.dir, self.port) {
                Ok(()) => {
                    *guard = Some(child);
                    return Ok(());
                }
                Err(e) => {
                    stop_child(&mut child);
                    let tail = log_tail(&self.dir, 30);
                    if tail.contains("already in use") && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    return Err(format!(
                        "restarting postgres on port {}: {e}; server log ({}):\n{tail}",
                        self.port,
                        self.dir.join("postgres.log").display()
                    ));
                }
            }
        }
    }

    /// Stops the server and removes its directory (used by `Drop` of owned servers).
    pub fn stop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            kill_group(&mut w);
        }
        if let Some(mut child) = self.postmaster().take() {
            stop_child(&mut child);
        }
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
    signal_then_kill(child, libc::SIGQUIT, Duration::from_secs(10));
}

/// Sends `signal`, waits up to `grace` for the process to exit, then SIGKILLs and reaps it.
pub(crate) fn signal_then_kill(child: &mut Child, signal: libc::c_int, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        unsafe {
            libc::kill(pid, signal);
        }
    }
    let deadline = Instant::now() + grace;
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

/// Creates a fresh mode-0700 directory `<prefix>-<pid>-<n>-<token>` under the temp dir (or
/// `/tmp` when that path is long: unix socket paths are limited to ~107 bytes), owned by
/// `run_as`.
pub(crate) fn make_temp_dir_named(prefix: &str, run_as: Option<RunAs>) -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut base = std::env::temp_dir();
    // Unix socket paths are limited to ~107 bytes ("<dir>/.s.PGSQL.NNNNN").
    if base.as_os_str().len() > 60 {
        base = PathBuf::from("/tmp");
    }
    let name = format!(
        "{prefix}-{}-{}-{:06x}",
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

/// The server's temporary directory.
fn make_temp_dir(run_as: Option<RunAs>) -> Result<PathBuf, String> {
    make_temp_dir_named("fastasyncpg", run_as)
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

/// The default settings, before the caller's.
const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "127.0.0.1"),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("max_connections", "300"),
];

fn start_postgres(
    bin_dir: &Path,
    dir: &Path,
    run_as: Option<RunAs>,
    settings: &[(String, String)],
    fixed_port: Option<u16>,
) -> Result<(Child, u16, Vec<OsString>), String> {
    let log_path = dir.join("postgres.log");
    let mut last_err = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = match fixed_port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut args: Vec<OsString> = vec![
            "-D".into(),
            dir.join("data").into(),
            "-k".into(),
            dir.into(),
            "-p".into(),
            port.to_string().into(),
        ];
        let hba = format!("hba_file={}", dir.join("pg_hba.conf").display());
        let defaults = DEFAULT_SETTINGS
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(std::iter::once(hba))
            .chain(settings.iter().map(|(k, v)| format!("{k}={v}")));
        for kv in defaults {
            args.push("-c".into());
            args.push(kv.into());
        }
        let mut child = spawn_postgres(bin_dir, dir, run_as, &args)?;
        match wait_ready(&mut child, dir, port) {
            Ok(()) => return Ok((child, port, args)),
            Err(e) => {
                stop_child(&mut child);
                let tail = log_tail(dir, 30);
                last_err = format!("{e}; server log ({}):\n{tail}", log_path.display());
                if tail.contains("already in use") && fixed_port.is_none() {
                    continue;
                }
                return Err(last_err);
            }
        }
    }
    Err(last_err)
}

/// Spawns `postgres` with its output appended to `<dir>/postgres.log`.
fn spawn_postgres(
    bin_dir: &Path,
    dir: &Path,
    run_as: Option<RunAs>,
    args: &[OsString],
) -> Result<Child, String> {
    let postgres = bin_dir.join("postgres");
    let log_path = dir.join("postgres.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    command_as(postgres.clone(), dir, run_as)
        .args(args)
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", postgres.display()))
}

/// Writes `<dir>/pg_hba.conf`: the caller's lines, then (unless dropped) the trust defaults.
fn write_hba(dir: &Path, opts: &ServerOptions, run_as: Option<RunAs>) -> Result<(), String> {
    let mut text = String::from("# Written by fastasyncpg-testing; first match wins.\n");
    for line in &opts.hba_lines {
        text.push_str(line);
        text.push('\n');
    }
    if opts.default_hba {
        text.push_str(
            "local all all trust\n\
             local replication all trust\n\
             host all all 127.0.0.1/32 trust\n\
             host all all ::1/128 trust\n\
             host replication all 127.0.0.1/32 trust\n\
             host replication all ::1/128 trust\n",
        );
    }
    let path = dir.join("pg_hba.conf");
    fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Prepared { dir, run_as }.give_to_server(&path, 0o600)
}

/// `pg_basebackup -R -X stream` from the server at 127.0.0.1:`port` into `<dir>/data`.
fn base_backup(bin_dir: &Path, dir: &Path, run_as: Option<RunAs>, port: u16) -> Result<(), String> {
    let exe = bin_dir.join("pg_basebackup");
    if !exe.is_file() {
        return Err(format!(
            "{} not found: install the PostgreSQL client tools (Debian/Ubuntu: \
             `apt-get install -y postgresql-client`, same major version as the server)",
            exe.display()
        ));
    }
    let mut cmd = command_as(exe.clone(), dir, run_as);
    cmd.arg("-D")
        .arg(dir.join("data"))
        .args([
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
            "-h",
            "127.0.0.1",
        ])
        .arg("-p")
        .arg(port.to_string())
        .args(["-U", SUPERUSER]);
    run_bounded(&mut cmd, BASEBACKUP_TIMEOUT, "").map(drop)
}

/// Runs `cmd` to completion, killing it after `timeout`. Fails (with its stderr) when it
/// cannot be run, exits unsuccessfully or times out; `missing_hint` is added when the program
/// is not installed.
pub(crate) fn run_bounded(
    cmd: &mut Command,
    timeout: Duration,
    missing_hint: &str,
) -> Result<std::process::Output, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound && !missing_hint.is_empty() {
                format!("cannot run {shown}: {e}; {missing_hint}")
            } else {
                format!("cannot run {shown}: {e}")
            }
        })?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut b);
        }
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(o) = err.as_mut() {
            let _ = o.read_to_end(&mut b);
        }
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    match status {
        Some(status) if status.success() => Ok(std::process::Output {
            status,
            stdout,
            stderr,
        }),
        Some(status) => Err(format!(
            "{shown} failed ({status}):\n{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )),
        None => Err(format!(
            "{shown} did not finish within {}s (killed):\n{}{}",
            timeout.as_secs(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )),
    }
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
                // A pid file left by an earlier run (before a restart) does not count.
                let ours = lines.first().map(|l| l.trim()) == Some(&*child.id().to_string());
                // Line 8 is the postmaster status (PostgreSQL 10+); a hot standby that accepts
                // read-only connections says "standby". (Seven lines is not "ready": the status
                // line is written after the shared-memory key line, during start-up.)
                if ours && matches!(lines.get(7).map(|s| s.trim()), Some("ready" | "standby")) {
                    return Ok(());
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
