//! Helpers shared by this crate's test binaries.
#![allow(dead_code)] // each binary uses a subset

use std::net::TcpStream;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// Connects and drives the connection on the current runtime.
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e:?}"));
    tokio::spawn(conn);
    client
}

/// The first column of the first row, as a number.
pub async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// True when something listens on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Polls `cond` for up to `secs` seconds.
pub fn eventually(secs: u64, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}
