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

use tokio_postgres::config::{Host, SslMode};

use crate::error::{Error, Result};
use crate::reset::ResetPolicy;

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
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.url())
            .field("statement_cache_size", &self.statement_cache_size)
            .field("cache_mode", &self.cache_mode)
            .field("command_timeout", &self.command_timeout)
            .finish()
    }
}

/// Our own options, accepted in the DSN (URL query or `key=value`) besides libpq's.
const OWN_KEYS: [&str; 3] = [
    "statement_cache_size",
    "statement_cache_mode",
    "command_timeout",
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
    /// `PGDATABASE`, `PGPASSFILE` (or `~/.pgpass`), `PGAPPNAME`, `PGSSLMODE`, `PGCONNECT_TIMEOUT`.
    ///
    /// Besides libpq's options the DSN accepts `statement_cache_size=N`,
    /// `statement_cache_mode=named|unnamed` and `command_timeout=SECONDS`.
    pub fn parse(dsn: &str) -> Result<Self> {
        let dsn = dsn.trim();
        if dsn.is_empty() {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                if !url.trim().is_empty() {
                    return Self::parse(&url);
                }
            }
        }
        let (rest, own) = split_own_options(dsn);
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
        };
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
        pg = rebuild_without_hosts(&pg);
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
        let mut pg = rebuild_without_hosts(&self.pg);
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

    /// Timeout for establishing a connection.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.pg.connect_timeout(t);
        self
    }

    /// The underlying tokio-postgres settings.
    pub fn pg_config(&self) -> &tokio_postgres::Config {
        &self.pg
    }

    /// The settings as a URL, without the password.
    pub fn url(&self) -> String {
        let pg = &self.pg;
        let user = pg.get_user().unwrap_or("");
        let db = pg.get_dbname().unwrap_or("");
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        let mut tcp = Vec::new();
        let mut sockets = Vec::new();
        for h in pg.get_hosts() {
            match h {
                Host::Tcp(s) => tcp.push(s.clone()),
                Host::Unix(p) => sockets.push(p.display().to_string()),
            }
        }
        let userpart = if user.is_empty() {
            String::new()
        } else {
            format!("{}@", pct(user))
        };
        if !tcp.is_empty() {
            let hosts: Vec<String> = tcp
                .iter()
                .map(|h| {
                    if h.contains(':') {
                        format!("[{h}]:{port}")
                    } else {
                        format!("{h}:{port}")
                    }
                })
                .collect();
            format!("postgresql://{userpart}{}/{}", hosts.join(","), pct(db))
        } else {
            let host = sockets.first().cloned().unwrap_or_default();
            format!(
                "postgresql://{userpart}/{}?host={}&port={port}",
                pct(db),
                pct(&host)
            )
        }
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

/// Removes our own options from a DSN so tokio-postgres accepts the rest.
fn split_own_options(dsn: &str) -> (String, Vec<(String, String)>) {
    let mut own = Vec::new();
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let Some((base, query)) = dsn.split_once('?') else {
            return (dsn.to_string(), own);
        };
        let mut keep = Vec::new();
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            if OWN_KEYS.contains(&k) {
                own.push((k.to_string(), v.to_string()));
            } else {
                keep.push(kv);
            }
        }
        let rest = if keep.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", keep.join("&"))
        };
        (rest, own)
    } else {
        // key=value form; values may be quoted with '...'. Our keys never need quoting.
        let mut keep = Vec::new();
        for part in dsn.split_whitespace() {
            match part.split_once('=') {
                Some((k, v)) if OWN_KEYS.contains(&k) => own.push((k.to_string(), v.to_string())),
                _ => keep.push(part),
            }
        }
        (keep.join(" "), own)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn rebuild_without_hosts(pg: &tokio_postgres::Config) -> tokio_postgres::Config {
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
    n.ssl_mode(pg.get_ssl_mode());
    n.target_session_attrs(pg.get_target_session_attrs());
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
    if let Some(mode) = env("PGSSLMODE") {
        // Only when the DSN did not say: tokio-postgres' default is Prefer.
        if pg.get_ssl_mode() == SslMode::Prefer {
            pg.ssl_mode(match mode.as_str() {
                "disable" => SslMode::Disable,
                "allow" | "prefer" => SslMode::Prefer,
                "require" | "verify-ca" | "verify-full" => SslMode::Require,
                other => {
                    return Err(Error::config(format!(
                        "PGSSLMODE {other:?} is not a valid sslmode"
                    )))
                }
            });
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
            split_own_options("postgresql://u@h/db?statement_cache_size=0&application_name=x");
        assert_eq!(rest, "postgresql://u@h/db?application_name=x");
        assert_eq!(
            own,
            vec![("statement_cache_size".to_string(), "0".to_string())]
        );
        let (rest, own) = split_own_options("host=h statement_cache_mode=unnamed dbname=d");
        assert_eq!(rest, "host=h dbname=d");
        assert_eq!(own.len(), 1);
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
    fn bad_option_value_names_the_option() {
        let e = ConnectOptions::parse("postgresql://u@h/db?statement_cache_size=lots").unwrap_err();
        assert!(e.to_string().contains("statement_cache_size"), "{e}");
    }
}
