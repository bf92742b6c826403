//! Throwaway PostgreSQL servers for fastasyncpg's tests, the CLI `demo` command and benchmarks.
//!
//! [`TestServer::global`] starts one server per process on first use (or uses the server named
//! by the `DATABASE_URL` environment variable). [`TestServer::fresh_db`] and
//! [`TestServer::chinook_db`] hand out new databases on it, so every test gets its own database
//! while the server start-up cost is paid once.
//!
//! ```no_run
//! # async fn f() {
//! let url = fastasyncpg_testing::chinook_db().await;
//! let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
//! tokio::spawn(conn);
//! let n: i64 = client.query_one("SELECT count(*) FROM artist", &[]).await.unwrap().get(0);
//! assert_eq!(n, 275);
//! # }
//! ```
//!
//! For production-like tests there are also private servers with more moving parts:
//! - [`TestServer::start`] / [`TestServer::start_with`] ([`ServerOptions`]: settings,
//!   `pg_hba.conf` lines, existing data directory, port), with [`TestServer::restart`],
//!   [`TestServer::stop_server`], [`TestServer::stop_server_immediate`] and
//!   [`TestServer::start_again`] for fault tests (same port and socket, so URLs stay valid);
//! - [`TlsServer`]: `ssl=on` with a generated CA, server and client certificates (needs the
//!   `openssl` command-line tool);
//! - [`ReplicaSet`]: a primary and a streaming hot standby, with replay waits and promotion
//!   (needs `pg_basebackup`).
//!
//! Environment variables:
//! - `DATABASE_URL`: use this server (as admin connection) instead of starting one; databases are
//!   created on it and their URLs derived by replacing the database name.
//! - `PG_BIN_DIR`: directory holding `initdb` and `postgres` (otherwise `pg_config --bindir`,
//!   `PATH`, then the newest `/usr/lib/postgresql/*/bin` are tried).
//!
//! When running as root, the server runs as the `postgres` system user (or a `fastasyncpg`
//! system user created on demand), since PostgreSQL refuses to run as root. A watchdog process
//! stops the server and removes its directory when the test process exits, even after a panic
//! or abort.

#![warn(missing_docs)]

mod chinook;
mod local;
mod options;
mod pgbouncer;
mod replica;
mod tls;

pub use options::ServerOptions;
pub use replica::ReplicaSet;
pub use tls::{TlsFiles, TlsServer, CERT_USER, TLS_ONLY_USER};

use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use local::LocalServer;
pub use pgbouncer::{PgBouncer, PgBouncerOptions};
use tokio_postgres::{Client, Config, NoTls};

/// A PostgreSQL server for tests/demo/bench: a throwaway one this crate starts, or the one in
/// `DATABASE_URL`.
///
/// Servers from [`TestServer::start`] are owned: dropping one stops the server and removes its
/// directory. The [`TestServer::global`] server lives until the process exits, then a watchdog
/// process cleans it up.
pub struct TestServer {
    /// The server process, when this crate started it.
    local: Option<LocalServer>,
    /// Stop the local server on drop (false for the global one, which is never dropped anyway).
    owned: bool,
    /// `DATABASE_URL`, when using an existing server.
    base_url: Option<String>,
    host: String,
    port: u16,
    user: String,
    bin_dir: Option<PathBuf>,
    shared: Arc<Shared>,
}

/// State shared with blocking helper threads.
struct Shared {
    /// Connection to the admin database (`postgres`, or the `DATABASE_URL` database).
    admin: Config,
    /// Name of the Chinook template database, once built.
    template: Mutex<Option<String>>,
    /// `server_version_num`, 0 until known.
    version: AtomicI32,
}

static GLOBAL: OnceLock<Result<TestServer, String>> = OnceLock::new();

impl TestServer {
    /// The process-wide server, started on first use (one per test process, not one per test).
    ///
    /// If the environment variable `DATABASE_URL` is set (and not empty), that server is used
    /// instead of starting one. Start-up errors are cached: later calls return the same error.
    /// When no PostgreSQL binaries are found, the error says how to install them.
    ///
    /// This blocks for the start-up (about a second) on first use; the async helpers
    /// ([`fresh_db`], [`chinook_db`]) call it on a blocking thread.
    pub fn global() -> Result<&'static TestServer, String> {
        GLOBAL
            .get_or_init(|| match std::env::var("DATABASE_URL") {
                Ok(url) if !url.trim().is_empty() => TestServer::external(url.trim()),
                _ => TestServer::start_local(false),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Starts a new private server, owned by the caller: dropping it stops the server and
    /// removes its directory.
    ///
    /// Binaries are found as for [`TestServer::global`] (`PG_BIN_DIR`, ...). This always starts
    /// a new server, even when `DATABASE_URL` is set.
    pub fn start() -> Result<TestServer, String> {
        TestServer::start_local(true)
    }

    /// Like [`TestServer::start`], with custom settings, `pg_hba.conf` lines, data directory or
    /// port (see [`ServerOptions`]).
    pub fn start_with(options: ServerOptions) -> Result<TestServer, String> {
        TestServer::start_owned(options)
    }

    fn start_local(owned: bool) -> Result<TestServer, String> {
        let mut server = TestServer::start_owned(ServerOptions::new())?;
        server.owned = owned;
        Ok(server)
    }

    pub(crate) fn start_owned(options: ServerOptions) -> Result<TestServer, String> {
        let owned = true;
        let local = LocalServer::start(options)?;
        let host = local.socket_dir().to_string_lossy().into_owned();
        let mut admin = Config::new();
        admin
            .host_path(local.socket_dir())
            .port(local.port)
            .user(local::SUPERUSER)
            .dbname("postgres")
            .application_name("fastasyncpg-testing")
            .connect_timeout(Duration::from_secs(30));
        Ok(TestServer {
            port: local.port,
            bin_dir: Some(local.bin_dir.clone()),
            local: Some(local),
            owned,
            base_url: None,
            host,
            user: local::SUPERUSER.to_string(),
            shared: Arc::new(Shared::new(admin)),
        })
    }

    fn external(url: &str) -> Result<TestServer, String> {
        let admin = Config::from_str(url).map_err(|e| format!("invalid DATABASE_URL: {e}"))?;
        let host = match admin.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.to_string_lossy().into_owned(),
            None => String::from("localhost"),
        };
        let server = TestServer {
            local: None,
            owned: false,
            base_url: Some(url.to_string()),
            host,
            port: admin.get_ports().first().copied().unwrap_or(5432),
            user: admin.get_user().unwrap_or_default().to_string(),
            bin_dir: local::find_bin_dir().ok(),
            shared: Arc::new(Shared::new(admin)),
        };
        let shared = &server.shared;
        run_in_thread(async { shared.connect_admin().await.map(drop) })
            .and_then(|r| r)
            .map_err(|e| format!("DATABASE_URL: {e}"))?;
        Ok(server)
    }

    /// Connection URL for database `dbname` on this server.
    ///
    /// For a server started by this crate it uses the unix socket:
    /// `postgresql://fastasyncpg@/dbname?host=/tmp/fastasyncpg-...&port=NNNN`.
    /// With `DATABASE_URL` it is that URL with the database name replaced.
    pub fn url(&self, dbname: &str) -> String {
        match &self.base_url {
            Some(base) => replace_dbname(base, dbname),
            None => format!(
                "postgresql://{}@/{}?host={}&port={}",
                self.user,
                encode(dbname),
                encode(&self.host),
                self.port
            ),
        }
    }

    /// Connection URL for database `dbname` over TCP (`postgresql://fastasyncpg@127.0.0.1:NNNN/dbname`).
    ///
    /// With `DATABASE_URL` this is the same as [`TestServer::url`].
    pub fn tcp_url(&self, dbname: &str) -> String {
        match &self.base_url {
            Some(base) => replace_dbname(base, dbname),
            None => format!(
                "postgresql://{}@127.0.0.1:{}/{}",
                self.user,
                self.port,
                encode(dbname)
            ),
        }
    }

    /// Restarts the server: fast shutdown, then start again with the same data directory,
    /// port, socket directory and settings, waiting until it accepts connections (or, for a
    /// standby, read-only connections). URLs handed out before stay valid; open connections
    /// are closed by the shutdown.
    ///
    /// Only for servers from [`TestServer::start`] / [`TestServer::start_with`] (not the global
    /// one, which other tests share, nor `DATABASE_URL`).
    pub fn restart(&self) -> Result<(), String> {
        self.stop_server()?;
        self.start_again()
    }

    /// Stops the server with a fast shutdown (SIGINT: sessions are terminated, a checkpoint is
    /// written) and waits until the postmaster has exited; the directory is kept for
    /// [`TestServer::start_again`]. Does nothing when already stopped. Bounded: fails after
    /// 30 s with the server log tail.
    pub fn stop_server(&self) -> Result<(), String> {
        self.owned_local()?.stop_server(false)
    }

    /// Stops the server with an immediate shutdown (SIGQUIT: no checkpoint, like a crash; the
    /// next start runs crash recovery) and waits until the postmaster has exited.
    ///
    /// The servers run with `synchronous_commit=off`, so the last commits before an immediate
    /// shutdown may be lost; a test that needs them to survive sets `synchronous_commit = on`
    /// in its session.
    pub fn stop_server_immediate(&self) -> Result<(), String> {
        self.owned_local()?.stop_server(true)
    }

    /// Starts the server again after [`TestServer::stop_server`] on the same port and socket
    /// directory, waiting (at most 30 s) until it accepts connections. Does nothing when it is
    /// running.
    pub fn start_again(&self) -> Result<(), String> {
        self.owned_local()?.start_again()
    }

    /// Whether the postmaster is running (always true with `DATABASE_URL`).
    pub fn is_running(&self) -> bool {
        self.local.as_ref().map_or(true, LocalServer::is_running)
    }

    fn owned_local(&self) -> Result<&LocalServer, String> {
        match &self.local {
            Some(l) if self.owned => Ok(l),
            Some(_) => Err(
                "the global test server cannot be stopped or restarted: other tests \
                            share it; use TestServer::start() for a private server"
                    .to_string(),
            ),
            None => Err("a DATABASE_URL server cannot be stopped or restarted".to_string()),
        }
    }

    /// Host: the unix socket directory of a server started by this crate, or the first host of
    /// `DATABASE_URL`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port the server listens on (TCP on 127.0.0.1, and the unix socket's number).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Superuser name (`fastasyncpg` for servers started by this crate; the `DATABASE_URL` user
    /// otherwise).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Directory holding the PostgreSQL binaries (`psql`, `pgbench`, ...), if found.
    pub fn bin_dir(&self) -> Option<&Path> {
        self.bin_dir.as_deref()
    }

    /// Data directory of a server started by this crate (`None` with `DATABASE_URL`).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.local.as_ref().map(|l| l.dir.join("data"))
    }

    /// Temporary directory (data directory, socket and `postgres.log`) of a server started by
    /// this crate; removed when the server is dropped or the process exits.
    pub fn dir(&self) -> Option<&Path> {
        self.local.as_ref().map(|l| l.dir.as_path())
    }

    /// The last `lines` lines of the server log (empty with `DATABASE_URL`).
    pub fn log_tail(&self, lines: usize) -> String {
        self.local
            .as_ref()
            .map(|l| local::log_tail(&l.dir, lines))
            .unwrap_or_default()
    }

    /// Creates a fresh empty database with a unique name and returns its URL.
    pub async fn fresh_db(&self) -> Result<String, String> {
        self.fresh_db_named("t").await
    }

    /// Like [`TestServer::fresh_db`], with a readable prefix in the database name (only ASCII
    /// letters, digits and `_` are kept).
    pub async fn fresh_db_named(&self, prefix: &str) -> Result<String, String> {
        self.create_db(prefix, None).await
    }

    /// Creates a fresh empty database and returns its name (not a URL), for use with
    /// [`TestServer::tcp_url`] or other hosts/users. Same naming as
    /// [`TestServer::fresh_db_named`].
    pub async fn fresh_db_name(&self, prefix: &str) -> Result<String, String> {
        self.create_db_name(prefix, None).await
    }

    /// Creates a fresh database holding the Chinook sample data and returns its URL.
    ///
    /// It is cloned from a template database that is built once per server (the first call
    /// takes about a second), with `CREATE DATABASE .. TEMPLATE .. STRATEGY FILE_COPY`.
    pub async fn chinook_db(&self) -> Result<String, String> {
        let template = self.chinook_template().await?;
        self.create_db("chinook", Some(&template)).await
    }

    /// Name of the Chinook template database, building it on first use.
    ///
    /// Do not connect to it: `CREATE DATABASE .. TEMPLATE` fails while it has connections.
    pub async fn chinook_template(&self) -> Result<String, String> {
        if let Ok(guard) = self.shared.template.try_lock() {
            if let Some(name) = &*guard {
                return Ok(name.clone());
            }
        }
        let shared = Arc::clone(&self.shared);
        blocking(move || shared.ensure_template()).await?
    }

    async fn create_db(&self, prefix: &str, template: Option<&str>) -> Result<String, String> {
        let name = self.create_db_name(prefix, template).await?;
        Ok(self.url(&name))
    }

    async fn create_db_name(&self, prefix: &str, template: Option<&str>) -> Result<String, String> {
        let name = unique_name(prefix);
        let client = self.shared.connect_admin().await?;
        let mut sql = format!("CREATE DATABASE {}", quote_ident(&name));
        if let Some(t) = template {
            sql.push_str(" TEMPLATE ");
            sql.push_str(&quote_ident(t));
            if self.shared.version(&client).await? >= 150000 {
                sql.push_str(" STRATEGY FILE_COPY");
            }
        }
        retry_in_use(|| client.batch_execute(&sql))
            .await
            .map_err(|e| format!("{sql}: {}", db_error(&e)))?;
        Ok(name)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.owned {
            if let Some(local) = &mut self.local {
                local.stop();
            }
        }
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("external", &self.base_url.is_some())
            .finish()
    }
}

impl Shared {
    fn new(admin: Config) -> Shared {
        Shared {
            admin,
            template: Mutex::new(None),
            version: AtomicI32::new(0),
        }
    }

    async fn connect_admin(&self) -> Result<Client, String> {
        connect(&self.admin).await
    }

    async fn version(&self, client: &Client) -> Result<i32, String> {
        let v = self.version.load(Ordering::Relaxed);
        if v != 0 {
            return Ok(v);
        }
        let row = client
            .query_one("SELECT current_setting('server_version_num')::int4", &[])
            .await
            .map_err(|e| format!("cannot read server version: {}", db_error(&e)))?;
        let v: i32 = row.get(0);
        self.version.store(v, Ordering::Relaxed);
        Ok(v)
    }

    /// Builds the Chinook template once (blocking; runs its own runtime in a helper thread).
    fn ensure_template(&self) -> Result<String, String> {
        let mut guard = self.template.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = &*guard {
            return Ok(name.clone());
        }
        let name = run_in_thread(chinook::ensure_template(&self.admin))??;
        *guard = Some(name.clone());
        Ok(name)
    }
}

/// Connects and drives the connection on the current tokio runtime.
pub(crate) async fn connect(config: &Config) -> Result<Client, String> {
    // A busy machine can refuse or delay the first connections to a server that just said it
    // is ready: retry transient failures (I/O errors, "the database system is starting up")
    // for up to 10 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (client, conn) = loop {
        match config.connect(NoTls).await {
            Ok(pair) => break pair,
            Err(e) => {
                let transient = match e.code() {
                    None => true,
                    Some(code) => *code == tokio_postgres::error::SqlState::CANNOT_CONNECT_NOW,
                };
                if transient && std::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let mut msg = db_error(&e);
                let mut cur = std::error::Error::source(&e);
                while let Some(src) = cur {
                    msg.push_str(": ");
                    msg.push_str(&src.to_string());
                    cur = src.source();
                }
                return Err(format!(
                    "cannot connect to {:?} on {:?} port {:?}: {msg}",
                    config.get_dbname().unwrap_or(""),
                    config.get_hosts(),
                    config.get_ports(),
                ));
            }
        }
    };
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// An error message including the server's detail/hint, when there is one.
pub(crate) fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str("; DETAIL: ");
                s.push_str(d);
            }
            if let Some(h) = db.hint() {
                s.push_str("; HINT: ");
                s.push_str(h);
            }
            s
        }
        None => e.to_string(),
    }
}

/// Retries `op` while it fails with "object in use" (e.g. a template database whose last
/// connection is still shutting down), for up to 30 s: a loaded CI machine can be slow.
pub(crate) async fn retry_in_use<F, Fut>(mut op: F) -> Result<(), tokio_postgres::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), tokio_postgres::Error>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e)
                if attempt < 600
                    && e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            r => return r,
        }
    }
}

/// Runs a future to completion on a new thread with its own current-thread runtime, so it works
/// whether or not the caller is inside a tokio runtime.
pub(crate) fn run_in_thread<F>(fut: F) -> Result<F::Output, String>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
            Ok(rt.block_on(fut))
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Runs blocking `f` off the async runtime's worker threads (or inline outside a runtime).
async fn blocking<T, F>(f: F) -> Result<T, String>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.spawn_blocking(f).await {
            Ok(v) => Ok(v),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(format!("blocking task failed: {e}")),
        },
        Err(_) => Ok(f()),
    }
}

async fn global_async() -> Result<&'static TestServer, String> {
    if let Some(r) = GLOBAL.get() {
        return r.as_ref().map_err(Clone::clone);
    }
    blocking(TestServer::global).await?
}

/// A fresh empty database on the [global](TestServer::global) server; returns its URL.
///
/// Shorthand for tests: panics with the error message when the server cannot be started.
pub async fn fresh_db() -> String {
    let server = global_async().await.unwrap_or_else(|e| panic!("{e}"));
    server.fresh_db().await.unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh database with the Chinook sample data on the [global](TestServer::global) server;
/// returns its URL.
///
/// Shorthand for tests: panics with the error message when the server cannot be started.
pub async fn chinook_db() -> String {
    let server = global_async().await.unwrap_or_else(|e| panic!("{e}"));
    server.chinook_db().await.unwrap_or_else(|e| panic!("{e}"))
}

/// `prefix_pid_token_counter`, unique per server and across processes sharing a server.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut p: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        p.insert(0, 'd');
    }
    format!(
        "{p}_{}_{:06x}_{}",
        std::process::id(),
        local::process_token() & 0xff_ffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Percent-encodes everything but unreserved characters and `/`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces the database name in a `postgres://` URL or a `key=value` connection string.
fn replace_dbname(base: &str, dbname: &str) -> String {
    let Some(scheme_end) = base.find("://") else {
        // key=value format: a later dbname overrides an earlier one.
        return format!("{base} dbname='{}'", dbname.replace('\'', "\\'"));
    };
    let rest_start = scheme_end + 3;
    let rest = &base[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let after = &rest[authority_end..];
    let query = match after.find('?') {
        Some(q) => &after[q..],
        None => "",
    };
    format!(
        "{}{}/{}{}",
        &base[..rest_start],
        &rest[..authority_end],
        encode(dbname).replace('/', "%2F"),
        query
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_dbname() {
        assert_eq!(
            replace_dbname("postgres://u:p@h:5/db?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(replace_dbname("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            replace_dbname("postgresql://u@/d?host=/tmp", "x"),
            "postgresql://u@/x?host=/tmp"
        );
        assert_eq!(
            replace_dbname("host=/tmp user=u dbname=d", "x"),
            "host=/tmp user=u dbname=d dbname='x'"
        );
        let c = Config::from_str(&replace_dbname("host=/tmp user=u dbname=d", "x")).unwrap();
        assert_eq!(c.get_dbname(), Some("x"));
    }

    #[test]
    fn unique_names() {
        let a = unique_name("My Test");
        let b = unique_name("My Test");
        assert_ne!(a, b);
        assert!(a.starts_with("my_test_"), "{a}");
        assert!(unique_name("").starts_with("d_"));
        assert!(a.len() < 63);
    }

    #[test]
    fn url_parses() {
        let url = "postgresql://fastasyncpg@/d_1?host=/tmp/x%20y&port=5";
        let c = Config::from_str(url).unwrap();
        assert_eq!(c.get_ports(), &[5]);
        assert_eq!(c.get_dbname(), Some("d_1"));
        assert_eq!(encode("/tmp/x y"), "/tmp/x%20y");
    }
}
