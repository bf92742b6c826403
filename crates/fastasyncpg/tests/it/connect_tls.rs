//! TLS against a real server with `ssl = on` and a certificate authority the test support
//! generates: every `sslmode`, root certificates, host-name checks, client certificates, the
//! `PGSSL*` variables, pools and cancel requests over TLS.

use std::sync::OnceLock;
use std::time::Duration;

use fastasyncpg::{ConnectOptions, Database, ErrorKind, PoolOptions, SslMode};
use fastasyncpg_testing::{TlsServer, CERT_USER, TLS_ONLY_USER};

/// One TLS server for this test binary (the watchdog removes it when the process exits).
fn tls() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| TlsServer::start().unwrap_or_else(|e| panic!("TLS server: {e}")))
}

async fn db_name() -> String {
    let t = tls();
    t.fresh_db_name("tls").await.unwrap()
}

/// `?sslmode=…&…` appended to the TLS server's URL for `user`.
fn url(user: &str, db: &str, query: &str) -> String {
    format!("{}?{query}", tls().tcp_url_as(user, db))
}

fn ca() -> String {
    tls().ca_cert().display().to_string()
}

async fn uses_tls(db: &Database) -> bool {
    db.fetchval(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        (),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn verify_full_with_the_ca_connects_encrypted() {
    let name = db_name().await;
    let db = fastasyncpg::connect(&url(
        "fastasyncpg",
        &name,
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
    ))
    .await
    .unwrap();
    assert!(uses_tls(&db).await);
    // 127.0.0.1 is in the certificate's subjectAltName too.
    let by_ip = format!(
        "postgresql://fastasyncpg@127.0.0.1:{}/{name}?sslmode=verify-full&sslrootcert={}",
        tls().port(),
        ca()
    );
    assert!(uses_tls(&fastasyncpg::connect(&by_ip).await.unwrap()).await);
}

#[tokio::test]
async fn verify_full_rejects_a_wrong_host_name_and_verify_ca_accepts_it() {
    let name = db_name().await;
    // Connect to 127.0.0.1 while calling the server by a name its certificate lacks.
    let dsn = |mode: &str| {
        format!(
            "host=wrong.invalid hostaddr=127.0.0.1 port={} user=fastasyncpg dbname={name} sslmode={mode} sslrootcert='{}'",
            tls().port(),
            ca()
        )
    };
    let e = fastasyncpg::connect(&dsn("verify-full")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    let s = e.to_string();
    assert!(
        s.contains("not valid for the host name \"wrong.invalid\""),
        "{s}"
    );
    assert!(
        s.contains(&format!("wrong.invalid:{}", tls().port())),
        "{s}"
    );
    let db = fastasyncpg::connect(&dsn("verify-ca")).await.unwrap();
    assert!(uses_tls(&db).await);
}

#[tokio::test]
async fn an_untrusted_certificate_is_an_error_that_says_so() {
    let name = db_name().await;
    let other = tls().other_ca_cert().display().to_string();
    for mode in ["verify-ca", "verify-full", "require"] {
        // require with a root certificate file behaves like verify-ca (libpq's rule).
        let e = fastasyncpg::connect(&url(
            "fastasyncpg",
            &name,
            &format!("sslmode={mode}&sslrootcert={other}"),
        ))
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tls, "{mode}: {e}");
        let s = e.to_string();
        assert!(
            s.contains("not trusted") && s.contains(&other) && s.contains("localhost:"),
            "{mode}: {s}"
        );
    }
    // verify-ca without any root certificate: a configuration error before connecting.
    let e = fastasyncpg::connect(&url("fastasyncpg", &name, "sslmode=verify-ca"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("sslrootcert"), "{e}");
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() {
    let name = db_name().await;
    let dsn = format!(
        "host=wrong.invalid hostaddr=127.0.0.1 port={} user=fastasyncpg dbname={name} sslmode=require",
        tls().port()
    );
    assert!(uses_tls(&fastasyncpg::connect(&dsn).await.unwrap()).await);
}

#[tokio::test]
async fn prefer_is_the_default_and_falls_back_to_plain() {
    let name = db_name().await;
    // Default (no sslmode): TLS when the server has it.
    let db = fastasyncpg::connect(&tls().tcp_url(&name)).await.unwrap();
    assert!(uses_tls(&db).await);
    assert_eq!(db.options().get_ssl_mode(), SslMode::Prefer);
    // A server without TLS: plain.
    let plain = fastasyncpg_testing::TestServer::global().unwrap();
    let db = fastasyncpg::connect(&format!("{}?sslmode=prefer", plain.tcp_url("postgres")))
        .await
        .unwrap();
    assert!(!uses_tls(&db).await);
    // prefer with an untrusted root: the TLS attempt fails, plain is tried (libpq's rule) and
    // the server accepts it for this user.
    let db = fastasyncpg::connect(&url(
        "fastasyncpg",
        &name,
        &format!(
            "sslmode=prefer&sslrootcert={}",
            tls().other_ca_cert().display()
        ),
    ))
    .await
    .unwrap();
    assert!(!uses_tls(&db).await);
}

#[tokio::test]
async fn allow_tries_plain_first_then_tls() {
    let name = db_name().await;
    let db = fastasyncpg::connect(&url("fastasyncpg", &name, "sslmode=allow"))
        .await
        .unwrap();
    assert!(
        !uses_tls(&db).await,
        "allow: plain when the server accepts it"
    );
    // This user is refused without TLS (pg_hba hostnossl reject): allow retries with TLS.
    let db = fastasyncpg::connect(&url(TLS_ONLY_USER, &name, "sslmode=allow"))
        .await
        .unwrap();
    assert!(uses_tls(&db).await);
    // disable never tries TLS: the server's refusal is the error.
    let e = fastasyncpg::connect(&url(TLS_ONLY_USER, &name, "sslmode=disable"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("pg_hba.conf"), "{e}");
}

#[tokio::test]
async fn a_client_certificate_logs_in() {
    let name = db_name().await;
    let t = tls();
    let with_cert = format!(
        "sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        ca(),
        t.client_cert().display(),
        t.client_key().display()
    );
    let db = fastasyncpg::connect(&url(CERT_USER, &name, &with_cert))
        .await
        .unwrap();
    assert_eq!(
        db.fetchval::<String>("SELECT current_user", ())
            .await
            .unwrap(),
        CERT_USER
    );
    assert!(uses_tls(&db).await);
    // The builder says the same.
    let opts = ConnectOptions::parse(&tls().tcp_url_as(CERT_USER, &name))
        .unwrap()
        .ssl_mode(SslMode::VerifyFull)
        .ssl_root_cert(t.ca_cert())
        .ssl_client_cert(t.client_cert(), t.client_key());
    assert!(uses_tls(&opts.connect().await.unwrap()).await);
    // Without the certificate the server refuses the user.
    let e = fastasyncpg::connect(&url(
        CERT_USER,
        &name,
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
    ))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("certificate"), "{e}");
}

#[tokio::test]
async fn a_key_readable_by_others_is_refused_naming_the_file() {
    let t = tls();
    let dir = std::env::temp_dir().join(format!("fastasyncpg-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("client.key");
    std::fs::copy(t.client_key(), &key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = fastasyncpg::connect(&url(
        CERT_USER,
        "postgres",
        &format!(
            "sslmode=require&sslcert={}&sslkey={}",
            t.client_cert().display(),
            key.display()
        ),
    ))
    .await
    .unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains(&key.display().to_string()), "{e}");
}

/// The `PGSSL*` variables are process-wide: this runs in a child process (the test binary
/// itself, filtered to [`env_child`]) so parallel tests never see them.
#[tokio::test]
async fn pgssl_environment_variables() {
    let name = db_name().await;
    let t = tls();
    let run = |vars: Vec<(&'static str, String)>| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "connect_tls::env_child", "--nocapture"])
            .env("FASTASYNCPG_ENV_CHILD_URL", t.tcp_url_as(CERT_USER, &name));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let ok = run(vec![
        ("PGSSLMODE", "verify-full".into()),
        ("PGSSLROOTCERT", ca()),
        ("PGSSLCERT", t.client_cert().display().to_string()),
        ("PGSSLKEY", t.client_key().display().to_string()),
        ("FASTASYNCPG_ENV_CHILD_EXPECT", "ok".into()),
    ]);
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    let untrusted = run(vec![
        ("PGSSLMODE", "verify-ca".into()),
        ("PGSSLROOTCERT", t.other_ca_cert().display().to_string()),
        ("FASTASYNCPG_ENV_CHILD_EXPECT", "untrusted".into()),
    ]);
    assert!(
        untrusted.status.success(),
        "{}{}",
        String::from_utf8_lossy(&untrusted.stdout),
        String::from_utf8_lossy(&untrusted.stderr)
    );
}

/// Child half of [`pgssl_environment_variables`]; does nothing in a normal run.
#[tokio::test]
async fn env_child() {
    let Ok(url) = std::env::var("FASTASYNCPG_ENV_CHILD_URL") else {
        return;
    };
    let expect = std::env::var("FASTASYNCPG_ENV_CHILD_EXPECT").unwrap();
    let r = fastasyncpg::connect(&url).await;
    match expect.as_str() {
        "ok" => {
            let db = r.unwrap();
            assert!(uses_tls(&db).await);
            assert_eq!(db.options().get_ssl_mode(), SslMode::VerifyFull);
        }
        _ => {
            let e = r.unwrap_err();
            assert!(e.to_string().contains("not trusted"), "{e}");
        }
    }
}

#[tokio::test]
async fn every_pooled_connection_and_cancel_request_uses_tls() {
    let name = db_name().await;
    let opts = ConnectOptions::parse(&url(
        TLS_ONLY_USER,
        &name,
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
    ))
    .unwrap();
    let pool = opts
        .create_pool(PoolOptions::default().min_size(3).max_size(3))
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        let c = pool.acquire().await.unwrap();
        assert!(uses_tls(&c).await);
        held.push(c);
    }
    drop(held);
    // A timed-out query is cancelled on the server over TLS: the connection is usable at once.
    let c = pool.acquire().await.unwrap();
    let started = std::time::Instant::now();
    let e = c
        .with_timeout(Some(Duration::from_millis(200)))
        .execute("SELECT pg_sleep(30)", fastasyncpg::args![])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let v: i32 = tokio::time::timeout(Duration::from_secs(10), c.fetchval("SELECT 7", ()))
        .await
        .expect("the cancelled connection answers")
        .unwrap();
    assert_eq!(v, 7);
    assert!(started.elapsed() < Duration::from_secs(15));
}
