//! A throwaway PgBouncer in front of a [`TestServer`], for tests of the behaviour behind a
//! connection pooler (transaction pooling by default).
//!
//! ```no_run
//! # fn f() -> Result<(), String> {
//! use fastasyncpg_testing::{PgBouncer, PgBouncerOptions, TestServer};
//! let server = TestServer::global()?;
//! let bouncer = PgBouncer::start(server, PgBouncerOptions::default().default_pool_size(2))?;
//! let url = bouncer.url("some_db"); // postgresql://fastasyncpg@127.0.0.1:NNNN/some_db
//! # Ok(()) }
//! ```

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpStream;
use std::os::unix::fs::{chown, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::local::RunAs;
use crate::TestServer;

/// How long to wait for PgBouncer to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How many ports to try when the chosen one turns out to be taken.
const PORT_ATTEMPTS: usize = 5;

const INSTALL_HINT: &str = "the pgbouncer binary was not found (tried $PGBOUNCER, PATH, \
/usr/sbin/pgbouncer, /usr/bin/pgbouncer). Install it (Debian/Ubuntu: `apt-get install -y pgbouncer`; \
`./dev` installs it too), or set PGBOUNCER to its path";

/// Settings of a [`PgBouncer`].
#[derive(Clone, Debug)]
pub struct PgBouncerOptions {
    pool_mode: String,
    default_pool_size: u32,
    max_client_conn: u32,
    query_wait_timeout: u32,
    users: Vec<String>,
}

impl Default for PgBouncerOptions {
    /// Transaction pooling, 2 server connections per database and user, 1000 clients,
    /// PgBouncer's own `query_wait_timeout` (120 s).
    fn default() -> Self {
        PgBouncerOptions {
            pool_mode: "transaction".into(),
            default_pool_size: 2,
            max_client_conn: 1000,
            query_wait_timeout: 120,
            users: Vec::new(),
        }
    }
}

impl PgBouncerOptions {
    /// `pool_mode`: `transaction` (default), `session` or `statement`.
    pub fn pool_mode(mut self, mode: &str) -> Self {
        self.pool_mode = mode.into();
        self
    }

    /// `default_pool_size`: server connections per database and user (default 2).
    pub fn default_pool_size(mut self, n: u32) -> Self {
        self.default_pool_size = n;
        self
    }

    /// `max_client_conn` (default 1000).
    pub fn max_client_conn(mut self, n: u32) -> Self {
        self.max_client_conn = n;
        self
    }

    /// `query_wait_timeout` in seconds: how long a client waits for a server connection
    /// before PgBouncer fails it (default 120, PgBouncer's default; 0 waits forever).
    pub fn query_wait_timeout(mut self, secs: u32) -> Self {
        self.query_wait_timeout = secs;
        self
    }

    /// Another user allowed to log in (the server's superuser always is).
    pub fn user(mut self, name: &str) -> Self {
        self.users.push(name.into());
        self
    }
}

/// A running PgBouncer owned by this process, forwarding every database name to one
/// [`TestServer`] (`[databases] * = host=... port=...`), with `auth_type = trust`.
///
/// Dropping it stops PgBouncer and removes its directory; a watchdog process does the same if
/// the test process dies first. When running as root, PgBouncer (which refuses to run as root)
/// runs as the user owning the server's directory, else as `postgres`.
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
    user: String,
    child: Child,
    watchdog: Option<Child>,
}

impl PgBouncer {
    /// Writes a `pgbouncer.ini` into a new temporary directory, starts `pgbouncer` and waits
    /// (at most 20 s) until it accepts connections. Fails with a message saying how to install
    /// PgBouncer when the binary is missing.
    pub fn start(server: &TestServer, opts: PgBouncerOptions) -> Result<PgBouncer, String> {
        let bin = find_pgbouncer()?;
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(unprivileged(server)?)
        } else {
            None
        };
        let dir = make_dir(run_as)?;
        let r = start_in(&bin, &dir, server, &opts, run_as);
        if r.is_err() {
            let _ = fs::remove_dir_all(&dir);
        }
        let (child, port, watchdog) = r?;
        Ok(PgBouncer {
            dir,
            port,
            user: server.user().to_string(),
            child,
            watchdog: Some(watchdog),
        })
    }

    /// A URL for database `dbname` through PgBouncer, as the server's superuser:
    /// `postgresql://fastasyncpg@127.0.0.1:NNNN/dbname`.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://{}@127.0.0.1:{}/{}",
            self.user,
            self.port,
            crate::encode(dbname).replace('/', "%2F")
        )
    }

    /// The URL through PgBouncer for the database a server URL (from
    /// [`TestServer::fresh_db`], say) names.
    pub fn url_for(&self, server_url: &str) -> Result<String, String> {
        let c = tokio_postgres::Config::from_str(server_url)
            .map_err(|e| format!("invalid server URL {server_url:?}: {e}"))?;
        let db = c
            .get_dbname()
            .ok_or_else(|| format!("the server URL {server_url:?} names no database"))?;
        Ok(self.url(db))
    }

    /// The TCP port PgBouncer listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory holding `pgbouncer.ini`, the log and the unix socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` lines of PgBouncer's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.dir, lines)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            if let Ok(pid) = i32::try_from(w.id()) {
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = w.kill();
            let _ = w.wait();
        }
        stop(&mut self.child);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl std::fmt::Debug for PgBouncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBouncer")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish()
    }
}

/// SIGTERM (immediate shutdown), then SIGKILL after 5 s.
fn stop(child: &mut Child) {
    crate::local::signal_then_kill(child, libc::SIGTERM, Duration::from_secs(5));
}

fn find_pgbouncer() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PGBOUNCER") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "PGBOUNCER={} is not a file; {INSTALL_HINT}",
                p.display()
            ))
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file())
        .ok_or_else(|| INSTALL_HINT.to_string())
}

/// The account PgBouncer runs as when we are root: the owner of the server's directory (the
/// account the server itself runs as), else `postgres`.
fn unprivileged(server: &TestServer) -> Result<RunAs, String> {
    if let Some(m) = server.dir().and_then(|d| fs::metadata(d).ok()) {
        if m.uid() != 0 {
            return Ok(RunAs {
                uid: m.uid(),
                gid: m.gid(),
            });
        }
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == "postgres").then(|| {
                Some(RunAs {
                    uid: f[2].parse().ok()?,
                    gid: f[3].parse().ok()?,
                })
            })?
        })
        .filter(|u| u.uid != 0)
        .ok_or_else(|| {
            "running as root, and PgBouncer refuses to run as root: no `postgres` user to run it as \
             (create one, e.g. `apt-get install -y postgresql` does)"
                .to_string()
        })
}

fn make_dir(run_as: Option<RunAs>) -> Result<PathBuf, String> {
    crate::local::make_temp_dir_named("fastasyncpg-pgbouncer", run_as)
}

fn write_file(path: &Path, text: &str, run_as: Option<RunAs>) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if let Some(u) = run_as {
        chown(path, Some(u.uid), Some(u.gid))
            .map_err(|e| format!("cannot chown {}: {e}", path.display()))?;
    }
    Ok(())
}

fn ini(dir: &Path, server: &TestServer, opts: &PgBouncerOptions, port: u16) -> String {
    // Unquoted: a socket directory or host name has no spaces.
    let host = server.host();
    format!(
        "[databases]\n\
         * = host={host} port={sport}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir = {dir}\n\
         auth_type = trust\n\
         auth_file = {dir}/userlist.txt\n\
         admin_users = {user}\n\
         stats_users = {user}\n\
         pool_mode = {mode}\n\
         default_pool_size = {size}\n\
         min_pool_size = 0\n\
         reserve_pool_size = 0\n\
         max_client_conn = {maxc}\n\
         query_wait_timeout = {qwt}\n\
         ignore_startup_parameters = extra_float_digits,options\n\
         logfile = {dir}/pgbouncer.log\n\
         pidfile = {dir}/pgbouncer.pid\n",
        sport = server.port(),
        dir = dir.display(),
        user = server.user(),
        mode = opts.pool_mode,
        size = opts.default_pool_size,
        maxc = opts.max_client_conn,
        qwt = opts.query_wait_timeout,
    )
}

type Started = (Child, u16, Child);

fn start_in(
    bin: &Path,
    dir: &Path,
    server: &TestServer,
    opts: &PgBouncerOptions,
    run_as: Option<RunAs>,
) -> Result<Started, String> {
    let mut users: Vec<&str> = vec![server.user()];
    users.extend(opts.users.iter().map(String::as_str));
    let userlist: String = users
        .iter()
        .map(|u| format!("\"{}\" \"\"\n", u.replace('"', "\"\"")))
        .collect();
    write_file(&dir.join("userlist.txt"), &userlist, run_as)?;
    let mut last_err = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let conf = dir.join("pgbouncer.ini");
        write_file(&conf, &ini(dir, server, opts, port), run_as)?;
        let out = dir.join("pgbouncer.out");
        let log =
            fs::File::create(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", out.display()))?;
        let mut cmd = Command::new(bin);
        cmd.arg(&conf)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        if let Some(u) = run_as {
            cmd.uid(u.uid).gid(u.gid);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let watchdog = match spawn_watchdog(child.id(), dir) {
            Ok(w) => w,
            Err(e) => {
                stop(&mut child);
                return Err(e);
            }
        };
        match wait_ready(&mut child, port) {
            Ok(()) => return Ok((child, port, watchdog)),
            Err(e) => {
                stop(&mut child);
                let mut w = watchdog;
                if let Ok(pid) = i32::try_from(w.id()) {
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                    }
                }
                let _ = w.wait();
                let tail = log_tail(dir, 20);
                last_err = format!("{e}; PgBouncer log:\n{tail}");
                if tail.contains("in use") {
                    continue;
                }
                return Err(last_err);
            }
        }
    }
    Err(last_err)
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("cannot wait for pgbouncer: {e}"))?
        {
            return Err(format!("pgbouncer exited during startup ({status})"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "pgbouncer did not accept connections on 127.0.0.1:{port} within {}s",
                READY_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `sh` that waits for this process to die, then stops PgBouncer and removes `dir`.
fn spawn_watchdog(pgbouncer: u32, dir: &Path) -> Result<Child, String> {
    const SCRIPT: &str = r#"
parent=$1; pgb=$2; dir=$3
while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
kill -TERM "$pgb" 2>/dev/null
i=0
while kill -0 "$pgb" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL "$pgb" 2>/dev/null
rm -rf "$dir"
"#;
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("fastasyncpg-pgbouncer-watchdog")
        .arg(std::process::id().to_string())
        .arg(pgbouncer.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot spawn cleanup watchdog (sh): {e}"))
}

fn log_tail(dir: &Path, lines: usize) -> String {
    let mut all = String::new();
    for name in ["pgbouncer.log", "pgbouncer.out"] {
        let Ok(mut f) = fs::File::open(dir.join(name)) else {
            continue;
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        all.push_str(&String::from_utf8_lossy(&buf));
    }
    let v: Vec<&str> = all.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}
