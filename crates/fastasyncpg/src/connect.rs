//! Opening one server connection: the host list (`host=a,b port=5432,5433`), libpq's
//! `target_session_attrs` and `load_balance_hosts`, the `sslmode` fallbacks, and a bound on
//! the time each attempt may take.
//!
//! Hosts are tried in order (shuffled with `load_balance_hosts=random`); the first one that
//! accepts the connection and has the wanted session attributes wins. Each attempt (socket,
//! TLS, authentication, the attribute check) is bounded by `connect_timeout` (default 60 s, as
//! asyncpg). When every host fails, the error lists each host with what went wrong there.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres::{AsyncMessage, Client, Config, SimpleQueryMessage};

use crate::config::ConnectOptions;
use crate::conn::{Notification, Notifier};
use crate::error::{Error, ErrorKind, Result};
use crate::tls::{SslMode, Tls};

/// Default bound on one connection attempt (asyncpg's `timeout=60`).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server of a host list a connection may use (libpq's `target_session_attrs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TargetSessionAttrs {
    /// Any server (the default).
    #[default]
    Any,
    /// A server that accepts writes (`transaction_read_only` is off): the primary.
    ReadWrite,
    /// A server that refuses writes (`transaction_read_only` is on).
    ReadOnly,
    /// A server that is not in recovery (`pg_is_in_recovery()` is false).
    Primary,
    /// A server in recovery: a hot standby.
    Standby,
    /// A standby if one of the hosts is one, any server otherwise.
    PreferStandby,
}

impl TargetSessionAttrs {
    /// The libpq spelling (`read-write`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetSessionAttrs::Any => "any",
            TargetSessionAttrs::ReadWrite => "read-write",
            TargetSessionAttrs::ReadOnly => "read-only",
            TargetSessionAttrs::Primary => "primary",
            TargetSessionAttrs::Standby => "standby",
            TargetSessionAttrs::PreferStandby => "prefer-standby",
        }
    }
}

impl fmt::Display for TargetSessionAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TargetSessionAttrs {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            "primary" => TargetSessionAttrs::Primary,
            "standby" => TargetSessionAttrs::Standby,
            "prefer-standby" => TargetSessionAttrs::PreferStandby,
            other => {
                return Err(Error::config(format!(
                    "target_session_attrs must be any, read-write, read-only, primary, standby \
                     or prefer-standby, got {other:?}"
                )))
            }
        })
    }
}

/// Whether the host list is tried in order or in a random order (libpq's `load_balance_hosts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LoadBalanceHosts {
    /// In the order given (the default).
    #[default]
    Disable,
    /// In a new random order for each connection, spreading connections over the hosts.
    Random,
}

impl FromStr for LoadBalanceHosts {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "disable" => Ok(LoadBalanceHosts::Disable),
            "random" => Ok(LoadBalanceHosts::Random),
            other => Err(Error::config(format!(
                "load_balance_hosts must be disable or random, got {other:?}"
            ))),
        }
    }
}

/// Opens connections for one `connect` / `create_pool`: the settings plus the TLS connector
/// built from them once.
pub(crate) struct Connector {
    pub(crate) opts: ConnectOptions,
    pub(crate) tls: Tls,
}

/// A freshly opened connection.
pub(crate) struct Opened {
    pub(crate) client: Client,
    /// Where the connection task delivers notifications.
    pub(crate) notifier: Notifier,
    /// The host connected to (a name, an address or a unix-socket directory) and its port.
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// The server roles a host was found to have.
#[derive(Clone, Copy)]
struct Role {
    in_recovery: bool,
    read_only: bool,
}

impl Connector {
    /// Checks the settings (TLS files are read here) and returns the connector.
    pub(crate) fn new(opts: ConnectOptions) -> Result<Connector> {
        let tls = Tls::new(&opts.ssl)?;
        Ok(Connector { opts, tls })
    }

    /// Opens one connection to the first suitable host.
    pub(crate) async fn connect(&self) -> Result<Opened> {
        let pg = &self.opts.pg;
        let n = pg.get_hosts().len();
        if n == 0 {
            return Err(Error::config("no host to connect to"));
        }
        let ports = pg.get_ports();
        if ports.len() > 1 && ports.len() != n {
            return Err(Error::config(format!(
                "{} hosts but {} ports: give one port for all hosts or one per host",
                n,
                ports.len()
            )));
        }
        let mut order: Vec<usize> = (0..n).collect();
        if self.opts.load_balance_hosts == LoadBalanceHosts::Random {
            shuffle(&mut order);
        }
        let want = self.opts.target_session_attrs;
        let mut failures: Vec<(String, Error)> = Vec::new();
        // prefer-standby: the first usable non-standby is kept in case no host is a standby.
        let mut fallback: Option<Opened> = None;
        for &i in &order {
            let cfg = host_config(pg, i);
            let name = host_label(&cfg);
            // Boxed: a TLS handshake future is large, and callers' futures embed this one.
            let attempt = Box::pin(self.connect_host(&cfg, &name, want));
            let timeout = pg
                .get_connect_timeout()
                .copied()
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
            let r = match tokio::time::timeout(timeout, attempt).await {
                Ok(r) => r,
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    format!("{name}: no connection within {:.1}s", timeout.as_secs_f64()),
                )),
            };
            match r {
                Ok((opened, role)) => {
                    if accepts(want, role) {
                        return Ok(opened);
                    }
                    if want == TargetSessionAttrs::PreferStandby && fallback.is_none() {
                        fallback = Some(opened);
                        continue;
                    }
                    failures.push((
                        name.clone(),
                        Error::config(format!(
                            "{name}: the server is {} (target_session_attrs={want})",
                            describe_role(role)
                        )),
                    ));
                }
                Err(e) => failures.push((name, e)),
            }
        }
        if let Some(opened) = fallback {
            return Ok(opened);
        }
        Err(self.all_failed(failures))
    }

    fn all_failed(&self, mut failures: Vec<(String, Error)>) -> Error {
        let url = self.opts.url();
        if failures.len() == 1 {
            let (_, e) = failures.pop().expect("one failure");
            return e.context(format!("cannot connect to {url}"));
        }
        let kind = failures.first().map_or(ErrorKind::Other, |(_, e)| e.kind());
        let detail: Vec<String> = failures.iter().map(|(_, e)| e.to_string()).collect();
        Error::new(
            kind,
            format!(
                "cannot connect to {url}: no host could be used (target_session_attrs={}):\n  {}",
                self.opts.target_session_attrs,
                detail.join("\n  ")
            ),
        )
    }

    /// One host: the TLS attempts its sslmode calls for, then the role check if needed.
    async fn connect_host(
        &self,
        cfg: &Config,
        name: &str,
        want: TargetSessionAttrs,
    ) -> Result<(Opened, Role)> {
        let unix = matches!(cfg.get_hosts().first(), Some(Host::Unix(_)));
        // libpq ignores sslmode on unix sockets: they never use TLS.
        let mode = if unix {
            SslMode::Disable
        } else {
            self.opts.ssl.mode
        };
        let opened = match mode {
            SslMode::Disable => self.open(cfg, PgSslMode::Disable, name).await?,
            SslMode::Allow => match self.open(cfg, PgSslMode::Disable, name).await {
                // The server refused the plain connection (pg_hba `hostssl`): try TLS.
                Err(e) if e.as_db_error().is_some() => {
                    self.open(cfg, PgSslMode::Require, name).await?
                }
                r => r?,
            },
            SslMode::Prefer => match self.open(cfg, PgSslMode::Prefer, name).await {
                // TLS failed, or the server refused the TLS connection: plain, as libpq.
                Err(e) if e.kind() == ErrorKind::Tls || e.as_db_error().is_some() => {
                    self.open(cfg, PgSslMode::Disable, name).await?
                }
                r => r?,
            },
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                self.open(cfg, PgSslMode::Require, name).await?
            }
        };
        let role = if want == TargetSessionAttrs::Any {
            Role {
                in_recovery: false,
                read_only: false,
            }
        } else {
            read_role(&opened.client)
                .await
                .map_err(|e| Error::from(e).context(format!("{name}: cannot read its role")))?
        };
        Ok((opened, role))
    }

    async fn open(&self, cfg: &Config, mode: PgSslMode, name: &str) -> Result<Opened> {
        let mut cfg = cfg.clone();
        cfg.ssl_mode(mode);
        let (client, connection) = match Box::pin(cfg.connect(self.tls.connect.clone())).await {
            Ok(pair) => pair,
            Err(e) => {
                if let Some(tls) = self.tls.describe(&e, name) {
                    return Err(tls);
                }
                return Err(Error::from(e).context(name));
            }
        };
        let notifier = Notifier::default();
        let tx = notifier.clone();
        // Drive the connection, forwarding notifications and logging notices.
        let mut connection = connection;
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        tokio::spawn(async move {
            while let Some(msg) = messages.next().await {
                match msg {
                    Ok(AsyncMessage::Notification(n)) => {
                        let _ = tx.send(Notification {
                            channel: n.channel().to_string(),
                            payload: n.payload().to_string(),
                            process_id: n.process_id(),
                        });
                    }
                    Ok(AsyncMessage::Notice(n)) => {
                        tracing::debug!(target: "fastasyncpg", severity = n.severity(), "{}", n.message())
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(target: "fastasyncpg", "connection closed: {e}");
                        break;
                    }
                }
            }
        });
        let port = cfg.get_ports().first().copied().unwrap_or(5432);
        let host = match cfg.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        };
        Ok(Opened {
            client,
            notifier,
            host,
            port,
        })
    }
}

fn accepts(want: TargetSessionAttrs, r: Role) -> bool {
    match want {
        TargetSessionAttrs::Any => true,
        TargetSessionAttrs::ReadWrite => !r.read_only,
        TargetSessionAttrs::ReadOnly => r.read_only,
        TargetSessionAttrs::Primary => !r.in_recovery,
        TargetSessionAttrs::Standby | TargetSessionAttrs::PreferStandby => r.in_recovery,
    }
}

fn describe_role(r: Role) -> &'static str {
    match (r.in_recovery, r.read_only) {
        (true, _) => "a standby (in recovery, read-only)",
        (false, true) => "a primary in read-only mode (default_transaction_read_only is on)",
        (false, false) => "a primary (read-write)",
    }
}

/// Reads the server's role with the simple protocol (no statement is prepared: this works
/// through PgBouncer too).
async fn read_role(client: &Client) -> std::result::Result<Role, tokio_postgres::Error> {
    let msgs = client
        .simple_query(
            "SELECT pg_catalog.pg_is_in_recovery()::text, \
             pg_catalog.current_setting('transaction_read_only')",
        )
        .await?;
    let mut role = Role {
        in_recovery: false,
        read_only: false,
    };
    for m in msgs {
        if let SimpleQueryMessage::Row(r) = m {
            role.in_recovery = r.get(0) == Some("true");
            role.read_only = r.get(1) == Some("on");
        }
    }
    Ok(role)
}

/// `host:port` (or `socket-dir:port`) for messages.
pub(crate) fn host_label(cfg: &Config) -> String {
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) if h.contains(':') => format!("[{h}]:{port}"),
        Some(Host::Tcp(h)) => format!("{h}:{port}"),
        Some(Host::Unix(p)) => format!("{}:{port}", p.display()),
        None => format!("localhost:{port}"),
    }
}

/// The settings for the `i`-th host alone.
fn host_config(pg: &Config, i: usize) -> Config {
    let mut c = crate::config::without_hosts(pg);
    match &pg.get_hosts()[i] {
        Host::Tcp(h) => c.host(h),
        Host::Unix(p) => c.host_path(p),
    };
    if let Some(a) = pg.get_hostaddrs().get(i) {
        c.hostaddr(*a);
    }
    let ports = pg.get_ports();
    c.port(ports.get(i).or(ports.first()).copied().unwrap_or(5432));
    c
}

/// Fisher–Yates with a per-call seed from std's randomly keyed hasher (no RNG dependency).
fn shuffle(v: &mut [usize]) {
    use std::hash::{BuildHasher, Hasher};
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let mut x = h.finish() | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_parse() {
        for s in [
            "any",
            "read-write",
            "read-only",
            "primary",
            "standby",
            "prefer-standby",
        ] {
            assert_eq!(s.parse::<TargetSessionAttrs>().unwrap().as_str(), s);
        }
        assert!("master".parse::<TargetSessionAttrs>().is_err());
    }

    #[test]
    fn shuffle_is_a_permutation_and_varies() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let mut v: Vec<usize> = (0..4).collect();
            shuffle(&mut v);
            let mut s = v.clone();
            s.sort();
            assert_eq!(s, vec![0, 1, 2, 3]);
            seen.insert(v);
        }
        assert!(seen.len() > 1);
    }

    #[test]
    fn per_host_ports() {
        let pg: Config = "host=a,b port=5432,5433 user=u".parse().unwrap();
        assert_eq!(host_label(&host_config(&pg, 1)), "b:5433");
        let pg: Config = "host=a,b port=7 user=u".parse().unwrap();
        assert_eq!(host_label(&host_config(&pg, 1)), "b:7");
    }
}
