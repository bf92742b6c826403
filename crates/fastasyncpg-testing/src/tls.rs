//! A throwaway server with TLS: its own CA, a server certificate for `localhost`/127.0.0.1,
//! a client certificate for [`CERT_USER`], and a second CA that signed nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::local::{self, Prepared};
use crate::{db_error, encode, quote_ident, run_in_thread, ServerOptions, TestServer};

/// Role that logs in with a client certificate (`hostssl ... cert`); its certificate is
/// [`TlsFiles::client_cert`].
pub const CERT_USER: &str = "certuser";

/// Role that may only connect over TLS (`hostnossl ... reject`, `hostssl ... trust`).
pub const TLS_ONLY_USER: &str = "tlsonly";

/// How long one `openssl` command may take.
const OPENSSL_TIMEOUT: Duration = Duration::from_secs(60);

const OPENSSL_HINT: &str =
    "the `openssl` command-line tool is needed to make test certificates: install it \
     (Debian/Ubuntu: `apt-get install -y openssl`)";

/// Config for the `openssl` commands: our own, so the system `openssl.cnf` does not matter.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Paths of the certificates and keys of a [`TlsServer`] (PEM files, ECDSA P-256 keys, valid
/// for ten years), all in the `tls/` subdirectory of the server's directory.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA that signed the server and client certificates (the server's `ssl_ca_file`):
    /// use as `sslrootcert` to trust the server.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// A second CA that signed nothing this server uses: trusting only it must make
    /// certificate verification fail ("untrusted certificate" tests).
    pub fn other_ca_cert(&self) -> PathBuf {
        self.dir.join("other-ca.crt")
    }

    /// The server certificate: CN=localhost, subjectAltName `DNS:localhost, IP:127.0.0.1`.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    /// Client certificate with CN=[`CERT_USER`], signed by [`TlsFiles::ca_cert`].
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.crt")
    }

    /// Key of [`TlsFiles::client_cert`] (PKCS#8 PEM, mode 0600, owned by the test process's
    /// user).
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }
}

/// A private server that accepts TLS on 127.0.0.1 (and plain TCP, per `pg_hba.conf`).
///
/// `pg_hba.conf` (first match wins):
///
/// ```text
/// hostssl   all certuser 127.0.0.1/32 cert     # client certificate, CN = user name
/// hostnossl all tlsonly  127.0.0.1/32 reject
/// hostssl   all tlsonly  127.0.0.1/32 trust
/// local     all all                   trust    # admin socket
/// host      all all      127.0.0.1/32 trust    # anyone else, TLS or not
/// ```
///
/// (and the `::1` equivalents). Roles [`CERT_USER`] and [`TLS_ONLY_USER`] exist and may
/// create objects in the `public` schema of databases made by [`TlsServer::fresh_db_name`].
/// Dropping it stops the server and removes its directory, certificates included.
///
/// ```no_run
/// let tls = fastasyncpg_testing::TlsServer::start().unwrap();
/// # async fn f(tls: &fastasyncpg_testing::TlsServer) {
/// let db = tls.fresh_db_name("tls").await.unwrap();
/// let url = format!(
///     "{}?sslmode=verify-full&sslrootcert={}",
///     tls.tcp_url(&db),
///     tls.ca_cert().display()
/// );
/// # }
/// ```
pub struct TlsServer {
    server: TestServer,
    files: TlsFiles,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("server", &self.server)
            .field("files", &self.files)
            .finish()
    }
}

impl TlsServer {
    /// Makes the certificates, starts the server with `ssl=on` and creates the roles.
    ///
    /// Takes about a second (six `openssl` runs, initdb, start). Fails with the command and
    /// its stderr, or the server log tail; says how to install `openssl` when it is missing.
    pub fn start() -> Result<TlsServer, String> {
        TlsServer::start_with(ServerOptions::new())
    }

    /// Like [`TlsServer::start`], with more settings or `pg_hba.conf` lines (placed after the
    /// TLS lines above and before the defaults).
    pub fn start_with(options: ServerOptions) -> Result<TlsServer, String> {
        let mut options = options;
        let mut hba: Vec<String> = Vec::new();
        for addr in ["127.0.0.1/32", "::1/128"] {
            hba.push(format!("hostssl all {CERT_USER} {addr} cert"));
            hba.push(format!("hostnossl all {TLS_ONLY_USER} {addr} reject"));
            hba.push(format!("hostssl all {TLS_ONLY_USER} {addr} trust"));
        }
        hba.append(&mut options.hba_lines);
        options.hba_lines = hba;
        let options = options.prepare(make_certificates);
        let server = TestServer::start_owned(options)?;
        let files = TlsFiles {
            dir: server
                .dir()
                .ok_or("TLS server has no directory")?
                .join("tls"),
        };
        let admin = server.shared.admin.clone();
        run_in_thread(async move {
            let client = crate::connect(&admin).await?;
            let sql = format!(
                "CREATE ROLE {c} LOGIN; CREATE ROLE {t} LOGIN",
                c = quote_ident(CERT_USER),
                t = quote_ident(TLS_ONLY_USER)
            );
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("{sql}: {}", db_error(&e)))?;
            // New databases are copied from template1: let the roles use their public schema.
            let mut t1 = admin.clone();
            t1.dbname("template1");
            let client = crate::connect(&t1).await?;
            let sql = format!(
                "GRANT ALL ON SCHEMA public TO {}, {}",
                quote_ident(CERT_USER),
                quote_ident(TLS_ONLY_USER)
            );
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("{sql} (in template1): {}", db_error(&e)))
        })
        .and_then(|r| r)
        .map_err(|e| format!("TLS server: {e}; server log:\n{}", server.log_tail(20)))?;
        Ok(TlsServer { server, files })
    }

    /// The underlying server: socket URL, restart, log tail, `bin_dir()` (for `psql`), ...
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// The certificate and key paths.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// See [`TlsFiles::ca_cert`].
    pub fn ca_cert(&self) -> PathBuf {
        self.files.ca_cert()
    }

    /// See [`TlsFiles::other_ca_cert`].
    pub fn other_ca_cert(&self) -> PathBuf {
        self.files.other_ca_cert()
    }

    /// See [`TlsFiles::client_cert`].
    pub fn client_cert(&self) -> PathBuf {
        self.files.client_cert()
    }

    /// See [`TlsFiles::client_key`].
    pub fn client_key(&self) -> PathBuf {
        self.files.client_key()
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `postgresql://fastasyncpg@localhost:PORT/dbname` (the superuser; host `localhost`
    /// matches the certificate). No query part, so `?sslmode=...&sslrootcert=...` can be
    /// appended.
    pub fn tcp_url(&self, dbname: &str) -> String {
        self.tcp_url_as(self.server.user(), dbname)
    }

    /// Like [`TlsServer::tcp_url`] for another user, e.g. [`CERT_USER`] or [`TLS_ONLY_USER`].
    pub fn tcp_url_as(&self, user: &str, dbname: &str) -> String {
        format!(
            "postgresql://{}@localhost:{}/{}",
            encode(user),
            self.port(),
            encode(dbname)
        )
    }

    /// Creates a fresh empty database and returns its name (see [`TestServer::fresh_db_name`]).
    pub async fn fresh_db_name(&self, prefix: &str) -> Result<String, String> {
        self.server.fresh_db_name(prefix).await
    }
}

/// Makes the CA, server, other-CA and client certificates in `<dir>/tls` and returns the
/// `ssl*` settings pointing at them.
fn make_certificates(p: &Prepared<'_>) -> Result<Vec<(String, String)>, String> {
    let dir = p.dir.join("tls");
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    p.give_to_server(&dir, 0o755)?;
    let cnf = dir.join("openssl.cnf");
    std::fs::write(&cnf, OPENSSL_CNF)
        .map_err(|e| format!("cannot write {}: {e}", cnf.display()))?;
    new_ca(&dir, "ca", "fastasyncpg test CA")?;
    new_ca(&dir, "other-ca", "fastasyncpg untrusted test CA")?;
    new_leaf(&dir, "server", "localhost", "server", 1001)?;
    new_leaf(&dir, "client", CERT_USER, "client", 1002)?;
    for f in ["ca.crt", "server.crt"] {
        p.give_to_server(&dir.join(f), 0o644)?;
    }
    // PostgreSQL refuses a key others can read, or that belongs to someone else.
    p.give_to_server(&dir.join("server.key"), 0o600)?;
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    Ok(vec![
        ("ssl".into(), "on".into()),
        ("ssl_cert_file".into(), path("server.crt")),
        ("ssl_key_file".into(), path("server.key")),
        ("ssl_ca_file".into(), path("ca.crt")),
    ])
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir).args(args);
    local::run_bounded(&mut cmd, OPENSSL_TIMEOUT, OPENSSL_HINT).map(drop)
}

const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// Self-signed CA `<name>.crt` with key `<name>.key` (mode 0600).
fn new_ca(dir: &Path, name: &str, cn: &str) -> Result<(), String> {
    let (key, crt, subj) = (
        format!("{name}.key"),
        format!("{name}.crt"),
        format!("/CN={cn}"),
    );
    let mut args = vec!["req", "-x509", "-new", "-nodes", "-config", "openssl.cnf"];
    args.extend(EC_KEY);
    args.extend([
        "-keyout",
        &key,
        "-out",
        &crt,
        "-days",
        "3650",
        "-subj",
        &subj,
        "-extensions",
        "ca",
    ]);
    openssl(dir, &args)
}

/// `<name>.crt` signed by `ca.crt`, with key `<name>.key` (mode 0600) and the extensions of
/// section `ext` of [`OPENSSL_CNF`].
fn new_leaf(dir: &Path, name: &str, cn: &str, ext: &str, serial: u32) -> Result<(), String> {
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    let subj = format!("/CN={cn}");
    let mut args = vec!["req", "-new", "-nodes", "-config", "openssl.cnf"];
    args.extend(EC_KEY);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
    openssl(dir, &args)?;
    let serial = serial.to_string();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            ext,
            "-out",
            &crt,
        ],
    )?;
    use std::os::unix::fs::PermissionsExt;
    let key = dir.join(key);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot chmod {}: {e}", key.display()))
}
