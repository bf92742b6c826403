//! The Chinook sample database, loaded once per server into a template database.

use std::sync::OnceLock;

use tokio_postgres::Config;

use crate::{connect, db_error, quote_ident, retry_in_use};

/// The Chinook 1.4.5 script for PostgreSQL (starts with `CREATE DATABASE` and `\c chinook;`).
const CHINOOK_SQL: &str = include_str!("../../../data/chinook/Chinook_PostgreSql.sql");

/// Advisory lock key serialising template builds across processes sharing a server.
const LOCK_KEY: i64 = 0x6661_7061_6368_6e6b; // "fapachnk"

/// The script without its `DROP/CREATE DATABASE` preamble (everything up to `\c chinook;`).
fn script() -> Result<&'static str, String> {
    let mut offset = 0;
    for line in CHINOOK_SQL.split_inclusive('\n') {
        offset += line.len();
        if line.trim_start().starts_with("\\c") {
            let rest = &CHINOOK_SQL[offset..];
            if let Some(other) = rest.lines().find(|l| l.trim_start().starts_with('\\')) {
                return Err(format!(
                    "Chinook script has an unsupported psql command: {other}"
                ));
            }
            return Ok(rest);
        }
    }
    Err(String::from("Chinook script has no `\\c chinook;` line"))
}

/// Template name: includes a hash of the script, so different versions never collide.
pub(crate) fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        // FNV-1a, stable across Rust versions (unlike std's hasher).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in CHINOOK_SQL.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("fastasyncpg_chinook_{:012x}", h >> 16)
    })
}

/// Creates the template database unless it exists; returns its name.
///
/// Serialised across processes with `pg_advisory_lock`; built under a temporary name and renamed
/// when complete, so a crash mid-build never leaves a half-loaded template behind.
pub(crate) async fn ensure_template(admin: &Config) -> Result<String, String> {
    let name = template_name();
    let client = connect(admin).await?;
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .await
        .map_err(|e| format!("pg_advisory_lock: {}", db_error(&e)))?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(|e| format!("cannot list databases: {}", db_error(&e)))?
        .is_some();
    if !exists {
        let build = format!("{name}_build");
        let run = |sql: String| {
            let client = &client;
            async move {
                retry_in_use(|| client.batch_execute(&sql))
                    .await
                    .map_err(|e| format!("{sql}: {}", db_error(&e)))
            }
        };
        run(format!("DROP DATABASE IF EXISTS {}", quote_ident(&build))).await?;
        run(format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
            quote_ident(&build)
        ))
        .await?;
        load(admin, &build).await?;
        run(format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&build),
            quote_ident(name)
        ))
        .await?;
        // Lets non-superusers with CREATEDB clone it; harmless if it fails.
        let _ = client
            .batch_execute(&format!(
                "ALTER DATABASE {} WITH IS_TEMPLATE true",
                quote_ident(name)
            ))
            .await;
    }
    // Dropping the connection also releases the lock; unlock explicitly anyway.
    let _ = client
        .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .await;
    Ok(name.to_string())
}

/// Runs the Chinook script in database `db`, then closes the connection.
async fn load(admin: &Config, db: &str) -> Result<(), String> {
    let sql = script()?;
    let mut config = admin.clone();
    config.dbname(db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot connect to {db}: {}", db_error(&e)))?;
    let conn = tokio::spawn(conn);
    let result = client.batch_execute(sql).await;
    drop(client);
    // Wait for the connection to close so the database can be renamed/cloned.
    let _ = conn.await;
    result.map_err(|e| format!("loading Chinook into {db}: {}", db_error(&e)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn script_skips_preamble() {
        let s = super::script().unwrap();
        assert!(!s.contains("CREATE DATABASE"));
        assert!(s.contains("CREATE TABLE album"));
        assert!(super::template_name().len() < 60);
    }
}
