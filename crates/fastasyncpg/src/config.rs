//! Connection and pool settings: URL and `key=value` DSNs, the `PG*` environment variables,
//! `DATABASE_URL`, password files and unix-socket hosts.
//!
//! Precedence follows libpq: a value written in the DSN wins over the environment, which wins
//! over the defaults (unix socket in `/var/run/postgresql` or `/tmp` when one exists, else
//! `localhost`; port 5432; the operating-system user; a database named like the user).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;

use crate::connect::{LoadBalanceHosts, TargetSessionAttrs};
use crate::error::{Error, Result};
use crate::reset::ResetPolicy;
use crate::tls::{RootCert, SslMode, SslOptions};

/// How a connection prepares statements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatementCacheMode {
    /// Named prepared statements, kept in a bounded LRU cache per connection (like asyncpg).
    #[default]
    Named,
    /// No named prepared statements at all: every query is sent as an unnamed statement with
    /// text-format parameters in one round trip. Use this behind PgBouncer in transaction
    /// pooling mode, where a named statement may not exist on the next server connection.
    Unnamed,
}

/// Settings for one connection (and for each connection of a pool).
#[derive(Clone)]
pub struct ConnectOptions {
    pub(crate) pg: tokio_postgres::Config,
    pub(crate) statement_cache_size: usize,
    pub(crate) cache_mode: StatementCacheMode,
    pub(crate) command_timeout: Option<Duration>,
    pub(crate) ssl: SslOptions,
    pub(crate) target_session_attrs: TargetSessionAttrs,
    pub(crate) load_balance_hosts: LoadBalanceHosts,
    pub(crate) slow_statement: Option<Duration>,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.url())
            .field("statement_cache_size", &self.statement_cache_size)
            .field("cache_mode", &self.cache_mode)
            .field("command_timeout", &self.command_timeout)
            .field("sslmode", &self.ssl.mode)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("slow_statement", &self.slow_statement)
            .finish()
    }
}

/// Options this crate handles itself, accepted in the DSN (URL query or `key=value`): ours, and
/// libpq's that tokio-postgres does not implement the way libpq does (TLS, host selection).
const OWN_KEYS: [&str; 10] = [
    "statement_cache_size",
    "statement_cache_mode",
    "command_timeout",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "load_balance_hosts",
    "slow_statement_ms",
];

impl ConnectOptions {
    /// Settings from the environment only: `DATABASE_URL` if set, else the `PG*` variables.
    pub fn from_env() -> Result<Self> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Self::parse(&url),
            _ => Self::parse(""),
        }
    }

    /// Parses a `postgres[ql]://user:pass@host:port/db?option=value` URL or a
    /// `host=... port=... user=... dbname=...` DSN; an empty string means "from the environment".
    /// Anything the DSN leaves out comes from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
    /// `PGDATABASE`, `PGPASSFILE` (or `~/.pgpass`), `PGAPPNAME`, `PGCONNECT_TIMEOUT`,
    /// `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, `PGTARGETSESSIONATTRS`,
    /// `PGLOADBALANCEHOSTS`.
    ///
    /// Several hosts are written `host=a,b port=5432,5433` or `postgresql://a:5432,b:5433/db`;
    /// see [`target_session_attrs`](Self::target_session_attrs) for how one is chosen. TLS
    /// follows libpq's `sslmode` (default `prefer`), `sslrootcert` (a file or `system`),
    /// `sslcert` and `sslkey`: see [`crate::tls`].
    ///
    /// Besides libpq's options the DSN accepts `statement_cache_size=N`,
    /// `statement_cache_mode=named|unnamed`, `command_timeout=SECONDS` and
    /// `slow_statement_ms=N` (see [`slow_statement`](Self::slow_statement)).
    pub fn parse(dsn: &str) -> Result<Self> {
        let dsn = dsn.trim();
        if dsn.is_empty() {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                if !url.trim().is_empty() {
                    return Self::parse(&url);
                }
            }
        }
        let (rest, own) = split_own_options(dsn)?;
        let mut pg = if rest.is_empty() {
            tokio_postgres::Config::new()
        } else {
            tokio_postgres::Config::from_str(&rest)
                .map_err(|e| Error::config(format!("invalid connection string: {e}")))?
        };
        apply_env_defaults(&mut pg)?;
        let mut opts = ConnectOptions {
            pg,
            statement_cache_size: 100,
            cache_mode: StatementCacheMode::Named,
            command_timeout: None,
            ssl: SslOptions::default(),
            target_session_attrs: TargetSessionAttrs::Any,
            load_balance_hosts: LoadBalanceHosts::Disable,
            slow_statement: None,
        };
        let mut own = own;
        // The environment fills what the DSN left out (libpq's precedence).
        for (key, var) in [
            ("sslmode", "PGSSLMODE"),
            ("sslrootcert", "PGSSLROOTCERT"),
            ("sslcert", "PGSSLCERT"),
            ("sslkey", "PGSSLKEY"),
            ("target_session_attrs", "PGTARGETSESSIONATTRS"),
            ("load_balance_hosts", "PGLOADBALANCEHOSTS"),
        ] {
            if !own.iter().any(|(k, _)| k == key) {
                if let Some(v) = env(var) {
                    own.push((key.to_string(), v));
                }
            }
        }
        for (k, v) in own {
            match k.as_str() {
                "statement_cache_size" => {
                    opts.statement_cache_size = v.parse().map_err(|_| {
                        Error::config(format!(
                            "statement_cache_size must be a whole number, got {v:?}"
                        ))
                    })?
                }
                "statement_cache_mode" => {
                    opts.cache_mode = match v.as_str() {
                        "named" => StatementCacheMode::Named,
                        "unnamed" | "pgbouncer" => StatementCacheMode::Unnamed,
                        _ => {
                            return Err(Error::config(format!(
                                "statement_cache_mode must be named or unnamed, got {v:?}"
                            )))
                        }
                    }
                }
                "command_timeout" => {
                    let secs: f64 = v.parse().map_err(|_| {
                        Error::config(format!("command_timeout must be seconds, got {v:?}"))
                    })?;
                    opts.command_timeout = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
                }
                "sslmode" => opts.ssl.mode = v.parse()?,
                "sslrootcert" => {
                    opts.ssl.root_cert = Some(if v == "system" {
                        RootCert::System
                    } else {
                        RootCert::File(PathBuf::from(v))
                    })
                }
                "sslcert" => opts.ssl.cert = Some(PathBuf::from(v)),
                "sslkey" => opts.ssl.key = Some(PathBuf::from(v)),
                "target_session_attrs" => opts.target_session_attrs = v.parse()?,
                "load_balance_hosts" => opts.load_balance_hosts = v.parse()?,
                "slow_statement_ms" => {
                    let ms: u64 = v.parse().map_err(|_| {
                        Error::config(format!(
                            "slow_statement_ms must be a whole number of milliseconds, got {v:?}"
                        ))
                    })?;
                    opts.slow_statement = (ms > 0).then(|| Duration::from_millis(ms));
                }
                _ => {}
            }
        }
        Ok(opts)
    }

    /// Sets the user.
    pub fn user(mut self, user: &str) -> Self {
        self.pg.user(user);
        self
    }

    /// Sets the password.
    pub fn password(mut self, password: &str) -> Self {
        self.pg.password(password);
        self
    }

    /// Sets the database name.
    pub fn database(mut self, dbname: &str) -> Self {
        self.pg.dbname(dbname);
        self
    }

    /// Replaces the hosts with one host (a name, an IP address, or a unix socket directory).
    pub fn host(mut self, host: &str) -> Self {
        let mut pg = self.pg.clone();
        // Config has no way to clear hosts: rebuild from a DSN holding only the other settings.
        let port = pg.get_ports().first().copied();
        pg = without_hosts(&pg);
        pg.host(host);
        if let Some(p) = port {
            pg.port(p);
        }
        self.pg = pg;
        self
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        let hosts = self.pg.get_hosts().to_vec();
        let mut pg = without_hosts(&self.pg);
        for h in hosts {
            match h {
                Host::Tcp(s) => pg.host(&s),
                Host::Unix(p) => pg.host_path(p),
            };
        }
        pg.port(port);
        self.pg = pg;
        self
    }

    /// Sets `application_name`.
    pub fn application_name(mut self, name: &str) -> Self {
        self.pg.application_name(name);
        self
    }

    /// Size of the per-connection LRU statement cache (default 100, like asyncpg); 0 disables
    /// caching (each query prepares and closes its statement).
    pub fn statement_cache_size(mut self, n: usize) -> Self {
        self.statement_cache_size = n;
        self
    }

    /// Named statements (default) or none at all (PgBouncer transaction pooling).
    pub fn statement_cache_mode(mut self, mode: StatementCacheMode) -> Self {
        self.cache_mode = mode;
        self
    }

    /// A timeout for every query; on expiry the query is cancelled on the server and the call
    /// fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    pub fn command_timeout(mut self, t: Option<Duration>) -> Self {
        self.command_timeout = t;
        self
    }

    /// Logs a `tracing` WARN event (target `fastasyncpg`, with the SQL and `elapsed_ms`) for
    /// every statement that takes longer than `t`; `None` (the default) turns it off. Works
    /// whether or not statement spans are enabled. In a DSN: `slow_statement_ms=N` (0 = off).
    pub fn slow_statement(mut self, t: Option<Duration>) -> Self {
        self.slow_statement = t;
        self
    }

    /// Timeout for establishing a connection.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.pg.connect_timeout(t);
        self
    }

    /// Replaces the hosts with several `(host, port)` pairs, tried as
    /// [`target_session_attrs`](Self::target_session_attrs) and
    /// [`load_balance_hosts`](Self::load_balance_hosts) say (libpq's `host=a,b port=1,2`).
    /// A host starting with `/` is a unix-socket directory.
    pub fn hosts<'a>(mut self, hosts: impl IntoIterator<Item = (&'a str, u16)>) -> Self {
        let mut pg = without_hosts(&self.pg);
        for (h, p) in hosts {
            if h.starts_with('/') {
                pg.host_path(h);
            } else {
                pg.host(h);
            }
            pg.port(p);
        }
        self.pg = pg;
        self
    }

    /// Which of several hosts a connection may use: any (default), `ReadWrite` (the primary),
    /// `ReadOnly`, `Primary`, `Standby` or `PreferStandby` — libpq's `target_session_attrs`.
    /// Each new connection of a pool chooses again, so after a failover a pool with
    /// `ReadWrite` finds the promoted standby as soon as its connections to the old primary
    /// are gone.
    pub fn target_session_attrs(mut self, attrs: TargetSessionAttrs) -> Self {
        self.target_session_attrs = attrs;
        self
    }

    /// Try the hosts in a random order for each connection (libpq's
    /// `load_balance_hosts=random`).
    pub fn load_balance_hosts(mut self, lb: LoadBalanceHosts) -> Self {
        self.load_balance_hosts = lb;
        self
    }

    /// libpq's `sslmode` (default [`SslMode::Prefer`]); see [`crate::tls`].
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl.mode = mode;
        self
    }

    /// A PEM file of trusted CA certificates (`sslrootcert`).
    pub fn ssl_root_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl.root_cert = Some(RootCert::File(path.into()));
        self
    }

    /// Trust the platform's root certificates (`sslrootcert=system`); needs
    /// [`SslMode::VerifyFull`], which this also sets.
    pub fn ssl_root_cert_system(mut self) -> Self {
        self.ssl.root_cert = Some(RootCert::System);
        self.ssl.mode = SslMode::VerifyFull;
        self
    }

    /// A client certificate and its private key, both PEM files (`sslcert` / `sslkey`). The key
    /// must not be readable by group or others, as libpq requires.
    pub fn ssl_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.ssl.cert = Some(cert.into());
        self.ssl.key = Some(key.into());
        self
    }

    /// The TLS mode in force.
    pub fn get_ssl_mode(&self) -> SslMode {
        self.ssl.mode
    }

    /// The session attributes a host must have.
    pub fn get_target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs
    }

    /// The underlying tokio-postgres settings.
    pub fn pg_config(&self) -> &tokio_postgres::Config {
        &self.pg
    }

    /// The settings as a URL, without the password: every host with its port, and the
    /// `sslmode` / `target_session_attrs` when they are not the defaults.
    pub fn url(&self) -> String {
        let pg = &self.pg;
        let user = pg.get_user().unwrap_or("");
        let db = pg.get_dbname().unwrap_or("");
        let ports = pg.get_ports();
        let port_of = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let mut tcp = Vec::new();
        let mut sockets = Vec::new();
        for (i, h) in pg.get_hosts().iter().enumerate() {
            match h {
                Host::Tcp(s) if s.contains(':') => tcp.push(format!("[{s}]:{}", port_of(i))),
                Host::Tcp(s) => tcp.push(format!("{s}:{}", port_of(i))),
                Host::Unix(p) => sockets.push((p.display().to_string(), port_of(i))),
            }
        }
        let userpart = if user.is_empty() {
            String::new()
        } else {
            format!("{}@", pct(user))
        };
        let mut query = Vec::new();
        let mut url = if !tcp.is_empty() {
            format!("postgresql://{userpart}{}/{}", tcp.join(","), pct(db))
        } else {
            format!("postgresql://{userpart}/{}", pct(db))
        };
        if tcp.is_empty() {
            if let Some((host, port)) = sockets.first() {
                query.push(format!("host={}", pct(host)));
                query.push(format!("port={port}"));
            }
        }
        if self.ssl.mode != SslMode::Prefer {
            query.push(format!("sslmode={}", self.ssl.mode));
        }
        if self.target_session_attrs != TargetSessionAttrs::Any {
            query.push(format!(
                "target_session_attrs={}",
                self.target_session_attrs
            ));
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    /// Connects one connection.
    pub async fn connect(self) -> Result<crate::Database> {
        crate::database::connect_with(self).await
    }

    /// Creates a pool of connections with these settings.
    pub async fn create_pool(self, pool: PoolOptions) -> Result<crate::Database> {
        crate::database::create_pool_with(self, pool).await
    }

    /// Server settings for every connection (asyncpg's `server_settings`), sent at startup as
    /// `-c name=value` in the `options` parameter. They are the session's defaults, so they
    /// survive the reset of a pooled connection (`RESET ALL` returns to them).
    ///
    /// ```
    /// # use fastasyncpg::ConnectOptions;
    /// let o = ConnectOptions::parse("postgresql://u@h/db")?
    ///     .server_settings([("search_path", "app, public"), ("statement_timeout", "5s")]);
    /// assert_eq!(o.pg_config().get_options(), Some("-c search_path=app,\\ public -c statement_timeout=5s"));
    /// # Ok::<_, fastasyncpg::Error>(())
    /// ```
    pub fn server_settings<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        settings: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in settings {
            self = self.server_setting(k.as_ref(), v.as_ref());
        }
        self
    }

    /// One server setting for every connection: see [`server_settings`](Self::server_settings).
    pub fn server_setting(mut self, name: &str, value: &str) -> Self {
        // libpq's rule for `options`: whitespace separates arguments, a backslash escapes.
        let esc = |s: &str| {
            let mut o = String::with_capacity(s.len());
            for c in s.chars() {
                if c == '\\' || c.is_whitespace() {
                    o.push('\\');
                }
                o.push(c);
            }
            o
        };
        let opt = format!("-c {}={}", esc(name), esc(value));
        let all = match self.pg.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} {opt}"),
            _ => opt,
        };
        self.pg.options(&all);
        self
    }
}

impl FromStr for ConnectOptions {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ConnectOptions::parse(s)
    }
}

impl fmt::Display for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

/// Settings of a pool, named like asyncpg's.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Connections opened when the pool is created (default 1).
    pub min_size: usize,
    /// Most connections open at once (default 10).
    pub max_size: usize,
    /// Queries after which a connection is replaced (default 50,000; 0 = never).
    pub max_queries: u64,
    /// A connection idle longer than this (measured from when it was last handed out) is
    /// closed, by the pool's background health check or when next handed out, keeping
    /// `min_size` connections open (default 300 s; `None` = never). The health check runs
    /// every half of this, at most every 30 s.
    pub max_inactive_connection_lifetime: Option<Duration>,
    /// How long `acquire` (and every pooled query) waits for a free connection (default
    /// `None` = wait as long as needed).
    pub acquire_timeout: Option<Duration>,
    /// When a connection given back is reset so no session state (role, settings, listeners,
    /// advisory locks, temporary objects) reaches the next user (default
    /// [`ResetPolicy::WhenNeeded`]).
    pub reset: ResetPolicy,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            min_size: 1,
            max_size: 10,
            max_queries: 50_000,
            max_inactive_connection_lifetime: Some(Duration::from_secs(300)),
            acquire_timeout: None,
            reset: ResetPolicy::WhenNeeded,
        }
    }
}

impl PoolOptions {
    /// Sets `min_size`.
    pub fn min_size(mut self, n: usize) -> Self {
        self.min_size = n;
        self
    }
    /// Sets `max_size`.
    pub fn max_size(mut self, n: usize) -> Self {
        self.max_size = n;
        self
    }
    /// Sets `max_queries`.
    pub fn max_queries(mut self, n: u64) -> Self {
        self.max_queries = n;
        self
    }
    /// Sets `max_inactive_connection_lifetime`.
    pub fn max_inactive_connection_lifetime(mut self, t: Option<Duration>) -> Self {
        self.max_inactive_connection_lifetime = t;
        self
    }
    /// Sets `acquire_timeout`.
    pub fn acquire_timeout(mut self, t: Option<Duration>) -> Self {
        self.acquire_timeout = t;
        self
    }
    /// Sets `reset`.
    pub fn reset(mut self, policy: ResetPolicy) -> Self {
        self.reset = policy;
        self
    }
}

fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Removes our own options from a DSN so tokio-postgres accepts the rest. URL query values are
/// percent-decoded; `key=value` values may be quoted (`'a b'`, with `\'` and `\\` escapes).
fn split_own_options(dsn: &str) -> Result<(String, Vec<(String, String)>)> {
    let mut own = Vec::new();
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let Some((base, query)) = dsn.split_once('?') else {
            return Ok((dsn.to_string(), own));
        };
        let mut keep = Vec::new();
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            if OWN_KEYS.contains(&k) {
                own.push((k.to_string(), pct_decode(v)));
            } else {
                keep.push(kv);
            }
        }
        let rest = if keep.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", keep.join("&"))
        };
        Ok((rest, own))
    } else {
        let mut keep = String::new();
        let mut chars = dsn.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            if chars.peek().is_none() {
                break;
            }
            let mut key = String::new();
            while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
                key.push(c);
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            if chars.next_if_eq(&'=').is_none() {
                return Err(Error::config(format!(
                    "invalid connection string: {key:?} has no value (expected key=value)"
                )));
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            // The raw text (re-emitted for tokio-postgres) and the unquoted value.
            let mut raw = String::new();
            let mut value = String::new();
            if chars.next_if_eq(&'\'').is_some() {
                raw.push('\'');
                loop {
                    match chars.next() {
                        Some('\\') => {
                            raw.push('\\');
                            if let Some(n) = chars.next() {
                                raw.push(n);
                                value.push(n);
                            }
                        }
                        Some('\'') => {
                            raw.push('\'');
                            break;
                        }
                        Some(c) => {
                            raw.push(c);
                            value.push(c);
                        }
                        None => {
                            return Err(Error::config(format!(
                            "invalid connection string: the quoted value of {key:?} is not closed"
                        )))
                        }
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    raw.push(c);
                    value.push(c);
                }
            }
            if OWN_KEYS.contains(&key.as_str()) {
                own.push((key, value));
            } else {
                if !keep.is_empty() {
                    keep.push(' ');
                }
                keep.push_str(&key);
                keep.push('=');
                keep.push_str(&raw);
            }
        }
        Ok((keep, own))
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A copy of `pg` without its hosts, host addresses and ports (tokio-postgres has no way to
/// clear them).
pub(crate) fn without_hosts(pg: &tokio_postgres::Config) -> tokio_postgres::Config {
    let mut n = tokio_postgres::Config::new();
    if let Some(u) = pg.get_user() {
        n.user(u);
    }
    if let Some(p) = pg.get_password() {
        n.password(p);
    }
    if let Some(d) = pg.get_dbname() {
        n.dbname(d);
    }
    if let Some(o) = pg.get_options() {
        n.options(o);
    }
    if let Some(a) = pg.get_application_name() {
        n.application_name(a);
    }
    if let Some(t) = pg.get_connect_timeout() {
        n.connect_timeout(*t);
    }
    if let Some(t) = pg.get_tcp_user_timeout() {
        n.tcp_user_timeout(*t);
    }
    n.keepalives(pg.get_keepalives());
    n.keepalives_idle(pg.get_keepalives_idle());
    if let Some(i) = pg.get_keepalives_interval() {
        n.keepalives_interval(i);
    }
    if let Some(r) = pg.get_keepalives_retries() {
        n.keepalives_retries(r);
    }
    n.ssl_mode(pg.get_ssl_mode());
    n.ssl_negotiation(pg.get_ssl_negotiation());
    n.channel_binding(pg.get_channel_binding());
    n
}

fn os_user() -> Option<String> {
    env("USER").or_else(|| env("LOGNAME")).or_else(|| {
        // Fall back to the passwd entry of the effective uid.
        let uid = std::fs::metadata("/proc/self")
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))?;
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
    })
}

fn apply_env_defaults(pg: &mut tokio_postgres::Config) -> Result<()> {
    if pg.get_hosts().is_empty() {
        let hosts = env("PGHOST");
        match hosts {
            Some(hs) => {
                for h in hs.split(',') {
                    if h.starts_with('/') {
                        pg.host_path(h);
                    } else {
                        pg.host(h);
                    }
                }
            }
            None => {
                let sock = ["/var/run/postgresql", "/tmp"]
                    .into_iter()
                    .find(|d| Path::new(d).is_dir() && has_socket(d));
                match sock {
                    Some(d) => pg.host_path(d),
                    None => pg.host("localhost"),
                };
            }
        }
    }
    if pg.get_ports().is_empty() {
        let port = match env("PGPORT") {
            Some(p) => p
                .parse()
                .map_err(|_| Error::config(format!("PGPORT must be a port number, got {p:?}")))?,
            None => 5432,
        };
        pg.port(port);
    }
    if pg.get_user().is_none() {
        if let Some(u) = env("PGUSER").or_else(os_user) {
            pg.user(&u);
        }
    }
    if pg.get_dbname().is_none() {
        if let Some(d) = env("PGDATABASE").or_else(|| pg.get_user().map(str::to_string)) {
            pg.dbname(&d);
        }
    }
    if pg.get_application_name().is_none() {
        if let Some(a) = env("PGAPPNAME") {
            pg.application_name(&a);
        }
    }
    if pg.get_connect_timeout().is_none() {
        if let Some(t) = env("PGCONNECT_TIMEOUT").and_then(|t| t.parse::<u64>().ok()) {
            pg.connect_timeout(Duration::from_secs(t));
        }
    }
    if pg.get_password().is_none() {
        if let Some(p) = env("PGPASSWORD") {
            pg.password(p);
        } else if let Some(p) = passfile_password(pg) {
            pg.password(p);
        }
    }
    Ok(())
}

fn has_socket(dir: &str) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(".s.PGSQL."))
        })
        .unwrap_or(false)
}

/// Looks the password up in `PGPASSFILE` or `~/.pgpass` (`host:port:db:user:password`, `*`
/// wildcards, `\:` and `\\` escapes; a unix-socket host matches `localhost`).
fn passfile_password(pg: &tokio_postgres::Config) -> Option<Vec<u8>> {
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let host = match pg.get_hosts().first()? {
        Host::Tcp(h) => h.clone(),
        Host::Unix(_) => "localhost".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432).to_string();
    let db = pg.get_dbname().unwrap_or("");
    let user = pg.get_user().unwrap_or("");
    passfile_lookup(&text, &host, &port, db, user).map(String::into_bytes)
}

pub(crate) fn passfile_lookup(
    text: &str,
    host: &str,
    port: &str,
    db: &str,
    user: &str,
) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n)
                    }
                }
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let ok = |f: &str, v: &str| f == "*" || f == v;
        if ok(&fields[0], host)
            && ok(&fields[1], port)
            && ok(&fields[2], db)
            && ok(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passfile_matches_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:*:nope\nlocalhost:*:chin\\:ook:bob:s3cr\\:et\n*:*:*:*:fallback\n";
        assert_eq!(
            passfile_lookup(text, "localhost", "5432", "chin:ook", "bob").as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(
            passfile_lookup(text, "db", "1", "x", "y").as_deref(),
            Some("fallback")
        );
    }

    #[test]
    fn own_options_are_split_from_url_and_dsn() {
        let (rest, own) =
            split_own_options("postgresql://u@h/db?statement_cache_size=0&application_name=x")
                .unwrap();
        assert_eq!(rest, "postgresql://u@h/db?application_name=x");
        assert_eq!(
            own,
            vec![("statement_cache_size".to_string(), "0".to_string())]
        );
        let (rest, own) =
            split_own_options("host=h statement_cache_mode=unnamed dbname=d").unwrap();
        assert_eq!(rest, "host=h dbname=d");
        assert_eq!(own.len(), 1);
        let (rest, own) = split_own_options(
            "host=h sslrootcert = '/tmp/my ca.pem' password='it\\'s' sslmode=verify-full",
        )
        .unwrap();
        assert_eq!(rest, "host=h password='it\\'s'");
        assert_eq!(
            own,
            vec![
                ("sslrootcert".to_string(), "/tmp/my ca.pem".to_string()),
                ("sslmode".to_string(), "verify-full".to_string())
            ]
        );
        let (_, own) = split_own_options("postgresql://h/db?sslrootcert=%2Ftmp%2Fca.pem").unwrap();
        assert_eq!(own[0].1, "/tmp/ca.pem");
    }

    #[test]
    fn libpq_tls_and_host_options() {
        let o = ConnectOptions::parse(
            "host=a,b port=5432,5433 user=u dbname=d sslmode=verify-ca target_session_attrs=prefer-standby load_balance_hosts=random",
        )
        .unwrap();
        assert_eq!(o.get_ssl_mode(), SslMode::VerifyCa);
        assert_eq!(o.target_session_attrs, TargetSessionAttrs::PreferStandby);
        assert_eq!(o.load_balance_hosts, LoadBalanceHosts::Random);
        assert_eq!(
            o.url(),
            "postgresql://u@a:5432,b:5433/d?sslmode=verify-ca&target_session_attrs=prefer-standby"
        );
        let e = ConnectOptions::parse("host=a sslmode=verify").unwrap_err();
        assert!(e.to_string().contains("sslmode"), "{e}");
        let e = ConnectOptions::parse("host=a target_session_attrs=master").unwrap_err();
        assert!(e.to_string().contains("target_session_attrs"), "{e}");
        let o = ConnectOptions::parse("host=x user=u dbname=d")
            .unwrap()
            .hosts([("h1", 1), ("h2", 2)])
            .target_session_attrs(TargetSessionAttrs::ReadWrite);
        assert_eq!(
            o.url(),
            "postgresql://u@h1:1,h2:2/d?target_session_attrs=read-write"
        );
    }

    #[test]
    fn url_hides_password() {
        let o = ConnectOptions::parse("postgresql://bob:secret@127.0.0.1:5433/chinook").unwrap();
        assert_eq!(o.url(), "postgresql://bob@127.0.0.1:5433/chinook");
        let o =
            ConnectOptions::parse("host=/tmp/sock port=6000 user=al dbname=x password=pw").unwrap();
        assert_eq!(o.url(), "postgresql://al@/x?host=%2Ftmp%2Fsock&port=6000");
    }

    #[test]
    fn slow_statement_option() {
        let o = ConnectOptions::parse("host=h slow_statement_ms=250 dbname=d").unwrap();
        assert_eq!(o.slow_statement, Some(Duration::from_millis(250)));
        let o = ConnectOptions::parse("postgresql://u@h/db?slow_statement_ms=0").unwrap();
        assert_eq!(o.slow_statement, None);
        let o = o.slow_statement(Some(Duration::from_secs(1)));
        assert_eq!(o.slow_statement, Some(Duration::from_secs(1)));
        let e = ConnectOptions::parse("host=h slow_statement_ms=fast").unwrap_err();
        assert!(e.to_string().contains("slow_statement_ms"), "{e}");
    }

    #[test]
    fn bad_option_value_names_the_option() {
        let e = ConnectOptions::parse("postgresql://u@h/db?statement_cache_size=lots").unwrap_err();
        assert!(e.to_string().contains("statement_cache_size"), "{e}");
    }
}
