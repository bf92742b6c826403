//! TLS with libpq's `sslmode` semantics, on rustls.
//!
//! Why these crates: rustls is memory-safe, needs no system OpenSSL headers to build, and is
//! what the Rust PostgreSQL ecosystem standardises on; its `ring` provider builds with only a C
//! compiler (aws-lc-rs would need cmake). `tokio-postgres-rustls` is the maintained glue for
//! tokio-postgres (it also provides SCRAM channel binding); `rustls-native-certs` reads the
//! platform's trust store for `sslrootcert=system`; PEM files are parsed by `rustls-pki-types`
//! (the successor of the unmaintained `rustls-pemfile`).
//!
//! | `sslmode` | TLS | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow` | only if the server refuses a plain connection | chain, if a root certificate file exists |
//! | `prefer` (default) | if the server supports it, else plain; plain again if the TLS attempt fails | chain, if a root certificate file exists |
//! | `require` | always | chain, if a root certificate file exists |
//! | `verify-ca` | always | chain against `sslrootcert` (required) |
//! | `verify-full` | always | chain and host name |
//!
//! The root certificate file is `sslrootcert` (or `PGSSLROOTCERT`), else
//! `~/.postgresql/root.crt` when it exists; `sslrootcert=system` uses the platform's trusted
//! roots and, as in libpq, implies `verify-full` (weaker modes are rejected). A client
//! certificate comes from `sslcert` / `sslkey` (or `PGSSLCERT` / `PGSSLKEY`), else
//! `~/.postgresql/postgresql.crt` / `postgresql.key` when both exist. Unix-socket connections
//! never use TLS (as in libpq).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, ErrorKind, Result};

/// libpq's `sslmode`: whether TLS is used and how much of the server's certificate is checked.
/// The table in the [module docs](self) gives each mode's meaning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Plain first; TLS only if the server refuses the plain connection.
    Allow,
    /// TLS if the server supports it, plain otherwise (the default).
    #[default]
    Prefer,
    /// Always TLS; the certificate chain is checked only when a root certificate file exists.
    Require,
    /// Always TLS, and the certificate must be signed by a trusted root (`sslrootcert`).
    VerifyCa,
    /// Always TLS, signed by a trusted root, and issued for the host connected to.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling (`verify-full`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// True for the modes that never fall back to a plain connection.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::config(format!(
                    "sslmode must be disable, allow, prefer, require, verify-ca or verify-full, got {other:?}"
                )))
            }
        })
    }
}

/// Where trusted root certificates come from (`sslrootcert`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// The platform's trusted roots (`sslrootcert=system`); implies `verify-full`.
    System,
}

/// The TLS settings of [`ConnectOptions`](crate::ConnectOptions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SslOptions {
    pub(crate) mode: SslMode,
    pub(crate) root_cert: Option<RootCert>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
}

/// How the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// Encryption only (libpq `require` without a root certificate).
    None,
    /// The chain must lead to a trusted root; any host name.
    Chain,
    /// Chain and host name.
    Full,
}

/// The TLS connector every connection of a `connect` / `create_pool` uses (and its cancel
/// requests): built once, so certificate files are read once.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) connect: MakeRustlsConnect,
    /// The root certificate source, for error messages.
    roots: Option<String>,
}

impl Tls {
    /// Builds the connector for `opts`; fails, naming the file, when a certificate or key cannot
    /// be read, and when the mode and the files contradict each other.
    pub(crate) fn new(opts: &SslOptions) -> Result<Tls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let root = match &opts.root_cert {
            Some(r) => Some(r.clone()),
            None => home_file("root.crt").map(RootCert::File),
        };
        if root == Some(RootCert::System) && opts.mode != SslMode::VerifyFull {
            return Err(Error::config(format!(
                "sslrootcert=system needs sslmode=verify-full (libpq's rule), got sslmode={}",
                opts.mode
            )));
        }
        let check = match (opts.mode, &root) {
            (SslMode::Disable, _) => Check::None,
            (SslMode::VerifyFull, _) => Check::Full,
            (SslMode::VerifyCa, _) => Check::Chain,
            (_, Some(_)) => Check::Chain,
            (_, None) => Check::None,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match check {
            Check::None => Arc::new(NoCheck(provider.clone())),
            Check::Chain | Check::Full => {
                let Some(root) = &root else {
                    return Err(Error::config(format!(
                        "sslmode={} needs trusted root certificates: set sslrootcert to a CA file \
                         (or to \"system\" for the platform's roots), or put one in \
                         ~/.postgresql/root.crt",
                        opts.mode
                    )));
                };
                let store = Arc::new(root_store(root)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(store, provider.clone())
                    .build()
                    .map_err(|e| Error::config(format!("cannot use the root certificates: {e}")))?;
                if check == Check::Full {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match client_cert_files(opts)? {
            Some((cert, key)) => {
                let certs = read_certs(&cert)?;
                let key = read_key(&key)?;
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    Error::config(format!(
                        "client certificate {} does not match its key: {e}",
                        cert.display()
                    ))
                })?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Tls {
            connect: MakeRustlsConnect::new(config),
            roots: root.map(|r| match r {
                RootCert::File(p) => p.display().to_string(),
                RootCert::System => "the system's trusted roots".to_string(),
            }),
        })
    }

    /// A readable message for a TLS failure of a connection to `host`, or `None` when `e` is
    /// not about TLS.
    pub(crate) fn describe(&self, e: &tokio_postgres::Error, host: &str) -> Option<Error> {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        if msg.contains("server does not support TLS") {
            return Some(Error::new(
                ErrorKind::Tls,
                format!("{host}: the server does not support TLS, and the sslmode requires it"),
            ));
        }
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut tls_err = None;
        while let Some(s) = cur {
            if let Some(r) = s.downcast_ref::<rustls::Error>() {
                tls_err = Some(r.clone());
                break;
            }
            // tokio-rustls wraps it in an io::Error, whose source() skips the wrapped error.
            if let Some(r) = s
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                tls_err = Some(r.clone());
                break;
            }
            cur = s.source();
        }
        let Some(r) = tls_err else {
            return msg
                .starts_with("error performing TLS handshake")
                .then(|| Error::new(ErrorKind::Tls, format!("{host}: {msg}")));
        };
        let roots = self.roots.as_deref().unwrap_or("no root certificates");
        let text = match &r {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => format!(
                    "the server's certificate is not trusted: it is not signed by a certificate \
                     authority in {roots}"
                ),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => format!(
                    "the server's certificate is not valid for the host name {:?} \
                     (sslmode=verify-full checks it; {c})",
                    host_name(host)
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    format!("the server's certificate has expired ({c})")
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    format!("the server's certificate is not valid yet ({c})")
                }
                other => format!("the server's certificate was rejected: {other}"),
            },
            rustls::Error::AlertReceived(a) => format!(
                "the TLS handshake failed: the server sent the alert {a:?} (a client certificate \
                 the server does not accept, or no common protocol version)"
            ),
            other => format!("the TLS handshake failed: {other}"),
        };
        Some(Error::new(ErrorKind::Tls, format!("{host}: {text}")).with_source(r))
    }
}

/// The host part of `host:port`.
fn host_name(host_port: &str) -> &str {
    match host_port.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => {
            h.trim_start_matches('[').trim_end_matches(']')
        }
        _ => host_port,
    }
}

/// `~/.postgresql/NAME`, when it exists.
fn home_file(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home).join(".postgresql").join(name);
    p.is_file().then_some(p)
}

fn client_cert_files(opts: &SslOptions) -> Result<Option<(PathBuf, PathBuf)>> {
    match (&opts.cert, &opts.key) {
        (Some(c), Some(k)) => Ok(Some((c.clone(), k.clone()))),
        (Some(c), None) => {
            // libpq's default: the key beside the certificate is ~/.postgresql/postgresql.key.
            match home_file("postgresql.key") {
                Some(k) => Ok(Some((c.clone(), k))),
                None => Err(Error::config(format!(
                    "sslcert {} is set but sslkey is not: give the client certificate's key file",
                    c.display()
                ))),
            }
        }
        (None, Some(k)) => Err(Error::config(format!(
            "sslkey {} is set but sslcert is not: give the client certificate file",
            k.display()
        ))),
        (None, None) => match (home_file("postgresql.crt"), home_file("postgresql.key")) {
            (Some(c), Some(k)) => Ok(Some((c, k))),
            _ => Ok(None),
        },
    }
}

fn root_store(root: &RootCert) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match root {
        RootCert::File(path) => {
            for cert in read_certs(path)? {
                store.add(cert).map_err(|e| {
                    Error::config(format!(
                        "sslrootcert {}: not a usable CA certificate: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        RootCert::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(Error::config(format!(
                    "sslrootcert=system: no trusted root certificates found on this system{why} \
                     (Debian: apt-get install ca-certificates)"
                )));
            }
        }
    }
    Ok(store)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| Error::config(format!("cannot read certificate {}: {e}", path.display())))?;
    let certs = iter
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("cannot parse certificate {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    check_key_permissions(path)?;
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        Error::config(format!(
            "cannot read private key {} (PEM, PKCS#8, PKCS#1 or SEC1): {e}",
            path.display()
        ))
    })
}

/// libpq's rule: a key file owned by the current user must not be readable by group or others
/// (a key owned by root may be group-readable).
fn check_key_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::config(format!("cannot read private key {}: {e}", path.display())))?;
    let mode = meta.mode() & 0o777;
    let allowed = if meta.uid() == 0 { 0o640 } else { 0o600 };
    if mode & !allowed != 0 {
        return Err(Error::config(format!(
            "private key {} has group or world access (mode {mode:o}): it must be u=rw (0600) or \
             less, or u=rw,g=r (0640) if owned by root",
            path.display()
        )));
    }
    Ok(())
}

/// `require` without a root certificate: the connection is encrypted, the certificate is not
/// checked (libpq's behaviour), handshake signatures still are.
#[derive(Debug)]
struct NoCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full webpki check, except that a certificate issued for another host name
/// is accepted.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for m in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            assert_eq!(m.parse::<SslMode>().unwrap().as_str(), m);
        }
        let e = "verify".parse::<SslMode>().unwrap_err();
        assert!(e.to_string().contains("sslmode"), "{e}");
    }

    #[test]
    fn system_roots_need_verify_full() {
        let e = Tls::new(&SslOptions {
            mode: SslMode::Require,
            root_cert: Some(RootCert::System),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("verify-full"), "{e}");
    }

    #[test]
    fn missing_root_file_is_named() {
        let e = Tls::new(&SslOptions {
            mode: SslMode::VerifyCa,
            root_cert: Some(RootCert::File("/nonexistent/ca.pem".into())),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn host_of_host_port() {
        assert_eq!(host_name("localhost:5432"), "localhost");
        assert_eq!(host_name("[::1]:5432"), "::1");
    }
}
