//! The TLS server, checked with `psql` (libpq) as the client.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Instant;

use fastasyncpg_testing::{TlsServer, CERT_USER, TLS_ONLY_USER};

/// Runs `psql "<conninfo>" -c <sql>`; Ok(stdout) or Err(stderr).
fn psql(tls: &TlsServer, conninfo: &str, sql: &str) -> Result<String, String> {
    let psql = tls.server().bin_dir().unwrap().join("psql");
    let out = Command::new(&psql)
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", psql.display()));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn conninfo(tls: &TlsServer, host: &str, user: &str, db: &str, extra: &str) -> String {
    format!(
        "host={host} port={} user={user} dbname={db} {extra}",
        tls.port()
    )
}

const IS_SSL: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[test]
fn tls_server_verifies_and_authenticates() {
    let t = Instant::now();
    let tls = TlsServer::start().unwrap();
    eprintln!(
        "TLS server (certificates + initdb + start) took {:?}",
        t.elapsed()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(tls.fresh_db_name("tls")).unwrap();
    let ca = tls.ca_cert().display().to_string();
    let other = tls.other_ca_cert().display().to_string();
    let su = tls.server().user().to_string();

    // verify-full against the right CA, by name and by IP (subjectAltName has both).
    for host in ["localhost", "127.0.0.1"] {
        let ci = conninfo(
            &tls,
            host,
            &su,
            &db,
            &format!("sslmode=verify-full sslrootcert={ca}"),
        );
        assert_eq!(psql(&tls, &ci, IS_SSL).unwrap(), "t", "{ci}");
    }
    // The URL form works the same.
    let url = format!("{}?sslmode=verify-full&sslrootcert={ca}", tls.tcp_url(&db));
    assert_eq!(psql(&tls, &url, IS_SSL).unwrap(), "t");

    // The other CA did not sign the server certificate.
    let ci = conninfo(
        &tls,
        "localhost",
        &su,
        &db,
        &format!("sslmode=verify-full sslrootcert={other}"),
    );
    let err = psql(&tls, &ci, IS_SSL).unwrap_err();
    assert!(err.contains("certificate verify failed"), "{err}");

    // Plain TCP still works for ordinary users.
    let ci = conninfo(&tls, "127.0.0.1", &su, &db, "sslmode=disable");
    assert_eq!(psql(&tls, &ci, IS_SSL).unwrap(), "f");

    // Client certificate login.
    let cert = format!(
        "sslmode=verify-full sslrootcert={ca} sslcert={} sslkey={}",
        tls.client_cert().display(),
        tls.client_key().display()
    );
    let ci = conninfo(&tls, "localhost", CERT_USER, &db, &cert);
    assert_eq!(
        psql(&tls, &ci, "SELECT current_user || ' ' || (SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid())").unwrap(),
        format!("{CERT_USER} /CN={CERT_USER}")
    );
    // certuser may create objects in a fresh database.
    psql(
        &tls,
        &ci,
        "CREATE TABLE mine (x int); INSERT INTO mine VALUES (1)",
    )
    .unwrap();
    // Without the certificate, certuser is refused over TLS.
    let ci = conninfo(
        &tls,
        "localhost",
        CERT_USER,
        &db,
        &format!("sslmode=verify-full sslrootcert={ca}"),
    );
    let err = psql(&tls, &ci, "SELECT 1").unwrap_err();
    assert!(err.contains("certificate"), "{err}");

    // tlsonly: rejected over plain TCP, accepted over TLS.
    let ci = conninfo(&tls, "127.0.0.1", TLS_ONLY_USER, &db, "sslmode=disable");
    let err = psql(&tls, &ci, "SELECT 1").unwrap_err();
    assert!(
        err.contains("pg_hba.conf rejects connection") && err.contains("no encryption"),
        "{err}"
    );
    let ci = conninfo(&tls, "localhost", TLS_ONLY_USER, &db, "sslmode=require");
    assert_eq!(psql(&tls, &ci, IS_SSL).unwrap(), "t");

    // TLS survives a restart (settings are kept).
    tls.server().restart().unwrap();
    let ci = conninfo(
        &tls,
        "localhost",
        &su,
        &db,
        &format!("sslmode=verify-full sslrootcert={ca}"),
    );
    assert_eq!(psql(&tls, &ci, IS_SSL).unwrap(), "t");

    let dir = tls.files().dir().to_path_buf();
    drop(tls);
    assert!(!dir.exists(), "{} not removed", dir.display());
}

#[test]
fn tls_files_have_safe_modes() {
    let tls = TlsServer::start().unwrap();
    let me = unsafe { libc::geteuid() };
    let key = std::fs::metadata(tls.client_key()).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    assert_eq!(key.uid(), me);
    let skey = std::fs::metadata(tls.files().dir().join("server.key")).unwrap();
    assert_eq!(skey.permissions().mode() & 0o777, 0o600);
    // The server key belongs to the server's user (the data directory's owner).
    let data = std::fs::metadata(tls.server().data_dir().unwrap()).unwrap();
    assert_eq!(skey.uid(), data.uid());
    for f in [
        tls.ca_cert(),
        tls.other_ca_cert(),
        tls.client_cert(),
        tls.files().server_cert(),
    ] {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("-----BEGIN CERTIFICATE-----"),
            "{}",
            f.display()
        );
    }
    assert_ne!(
        std::fs::read(tls.ca_cert()).unwrap(),
        std::fs::read(tls.other_ca_cert()).unwrap()
    );
}
