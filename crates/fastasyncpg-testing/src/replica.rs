//! A primary and a streaming hot standby, for failover and read-replica tests.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::{connect, db_error, run_in_thread, ServerOptions, TestServer};

/// How long to wait for streaming to start, for replay, and for promotion.
const REPLICA_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings given to both servers (a hot standby needs at least the primary's values).
const REPLICA_SETTINGS: &[(&str, &str)] = &[
    ("wal_level", "replica"),
    ("max_wal_senders", "5"),
    ("hot_standby", "on"),
    // Reconnect to a restarted primary (and react to promotion) quickly: the default is 5 s.
    ("wal_retrieve_retry_interval", "200ms"),
];

/// A primary and a hot standby streaming from it, each a private [`TestServer`] on its own
/// free port, directory and cleanup watchdog. Dropping the set stops both and removes their
/// directories.
///
/// The standby is made with `pg_basebackup -R -X stream` from the primary over 127.0.0.1
/// (the primary's `pg_hba.conf` trusts replication connections from 127.0.0.1) and runs as
/// the same OS user. It accepts read-only connections.
///
/// ```no_run
/// # async fn f() {
/// let set = fastasyncpg_testing::ReplicaSet::start().unwrap();
/// let db = set.create_db("app").await.unwrap();
/// let primary_url = set.primary().tcp_url(&db);
/// let standby_url = set.standby().tcp_url(&db);
/// // ... write on the primary, then:
/// set.wait_replayed().await.unwrap();
/// // ... read the write on the standby; fail over:
/// set.stop_primary().unwrap();
/// set.promote_standby().await.unwrap();
/// # }
/// ```
pub struct ReplicaSet {
    // Dropped first: the standby does not retry against a primary that is already gone.
    standby: TestServer,
    primary: TestServer,
}

impl std::fmt::Debug for ReplicaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaSet")
            .field("primary", &self.primary)
            .field("standby", &self.standby)
            .finish()
    }
}

impl ReplicaSet {
    /// Starts the primary, makes the standby from a base backup, starts it, and waits until it
    /// is in recovery and streaming (`pg_stat_wal_receiver.status = 'streaming'`).
    ///
    /// Blocking; takes a few seconds. Fails with the command's stderr or the log tails; says
    /// which package to install when `pg_basebackup` is missing.
    pub fn start() -> Result<ReplicaSet, String> {
        let options = || {
            REPLICA_SETTINGS
                .iter()
                .fold(ServerOptions::new(), |o, (k, v)| o.setting(*k, *v))
        };
        let primary = TestServer::start_owned(options())?;
        let standby =
            TestServer::start_owned(options().base_backup_of(primary.port())).map_err(|e| {
                format!(
                    "standby of the primary on port {}: {e}\nprimary log:\n{}",
                    primary.port(),
                    primary.log_tail(20)
                )
            })?;
        let set = ReplicaSet { standby, primary };
        run_in_thread(set.wait_streaming()).and_then(|r| r)?;
        Ok(set)
    }

    /// The primary (read-write).
    pub fn primary(&self) -> &TestServer {
        &self.primary
    }

    /// The standby (read-only until [`ReplicaSet::promote_standby`]).
    pub fn standby(&self) -> &TestServer {
        &self.standby
    }

    /// Creates a fresh empty database on the primary, waits until the standby has it, and
    /// returns its name (use [`TestServer::url`] / [`TestServer::tcp_url`] of either server).
    pub async fn create_db(&self, prefix: &str) -> Result<String, String> {
        let name = self.primary.fresh_db_name(prefix).await?;
        self.wait_replayed().await?;
        let standby = self.connect_standby().await?;
        let found = standby
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .map_err(|e| format!("looking for {name} on the standby: {}", db_error(&e)))?;
        match found {
            Some(_) => Ok(name),
            None => Err(self.with_logs(format!(
                "database {name} was created on the primary but is missing on the standby \
                 after replay"
            ))),
        }
    }

    /// Waits (at most 30 s) until the standby has replayed everything the primary has
    /// committed so far, so a read on the standby sees all earlier writes on the primary.
    ///
    /// The servers run with `synchronous_commit=off`, so this first commits a small WAL-writing
    /// transaction (`pg_logical_emit_message`) with `synchronous_commit = on` on the primary,
    /// which flushes all WAL before it, then waits until `pg_last_wal_replay_lsn()` on the
    /// standby reaches the primary's flush LSN.
    pub async fn wait_replayed(&self) -> Result<(), String> {
        let primary = self.connect_primary().await?;
        // Separate statements: one multi-statement query is one transaction, and the flush
        // position must be read after the forced commit.
        let err = |e: tokio_postgres::Error| {
            format!("reading the primary's WAL position: {}", db_error(&e))
        };
        primary
            .batch_execute("SET synchronous_commit = on")
            .await
            .map_err(err)?;
        // A transaction that writes WAL (a transactional logical message) commits
        // synchronously, flushing all WAL before it. (One that only takes an xid, like
        // `SELECT txid_current()`, writes no WAL before its commit record and commits
        // asynchronously whatever synchronous_commit says.)
        primary
            .batch_execute("SELECT pg_logical_emit_message(true, 'fastasyncpg-testing', '')")
            .await
            .map_err(err)?;
        let lsn: String = primary
            .query_one("SELECT pg_current_wal_flush_lsn()::text", &[])
            .await
            .map_err(err)?
            .get(0);
        let standby = self.connect_standby().await?;
        let deadline = Instant::now() + REPLICA_TIMEOUT;
        loop {
            let row = standby
                .query_one(
                    "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false), \
                     coalesce(pg_last_wal_replay_lsn()::text, '(none)')",
                    &[&lsn],
                )
                .await
                .map_err(|e| format!("reading the standby's replay position: {}", db_error(&e)))?;
            if row.get::<_, bool>(0) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let replayed: String = row.get(1);
                return Err(self.with_logs(format!(
                    "the standby did not replay up to the primary's LSN {lsn} within {}s \
                     (replayed up to {replayed})",
                    REPLICA_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the primary with a fast shutdown (its WAL, shutdown checkpoint included, is sent
    /// to the standby first). For a crash instead, use
    /// `primary().stop_server_immediate()`; [`TestServer::start_again`] brings it back.
    pub fn stop_primary(&self) -> Result<(), String> {
        self.primary.stop_server()
    }

    /// Promotes the standby (`SELECT pg_promote(true, 30)`) and waits until
    /// `pg_is_in_recovery()` is false there; it then accepts writes. The old primary is left
    /// as it is (stop it first to avoid two writable servers).
    pub async fn promote_standby(&self) -> Result<(), String> {
        let standby = self.connect_standby().await?;
        let promoted: bool = standby
            .query_one(
                "SELECT pg_promote(true, $1)",
                &[&(REPLICA_TIMEOUT.as_secs() as i32)],
            )
            .await
            .map_err(|e| self.with_logs(format!("pg_promote on the standby: {}", db_error(&e))))?
            .get(0);
        if !promoted {
            return Err(self.with_logs(format!(
                "the standby did not finish promotion within {}s",
                REPLICA_TIMEOUT.as_secs()
            )));
        }
        let deadline = Instant::now() + REPLICA_TIMEOUT;
        loop {
            let in_recovery: bool = standby
                .query_one("SELECT pg_is_in_recovery()", &[])
                .await
                .map_err(|e| format!("pg_is_in_recovery on the standby: {}", db_error(&e)))?
                .get(0);
            if !in_recovery {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.with_logs(format!(
                    "the standby is still in recovery {}s after pg_promote",
                    REPLICA_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the standby is in recovery and its WAL receiver is streaming.
    async fn wait_streaming(&self) -> Result<(), String> {
        let standby = self.connect_standby().await?;
        let deadline = Instant::now() + REPLICA_TIMEOUT;
        loop {
            let row = standby
                .query_one(
                    "SELECT pg_is_in_recovery(), \
                     coalesce((SELECT status FROM pg_stat_wal_receiver), '(no WAL receiver)')",
                    &[],
                )
                .await
                .map_err(|e| format!("checking the standby: {}", db_error(&e)))?;
            let (in_recovery, status): (bool, String) = (row.get(0), row.get(1));
            if !in_recovery {
                return Err(self
                    .with_logs("the standby is not in recovery (no standby.signal?)".to_string()));
            }
            if status == "streaming" {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.with_logs(format!(
                    "the standby is not streaming from the primary after {}s \
                     (WAL receiver: {status})",
                    REPLICA_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn connect_primary(&self) -> Result<Client, String> {
        connect(&self.primary.shared.admin)
            .await
            .map_err(|e| self.with_logs(format!("primary: {e}")))
    }

    async fn connect_standby(&self) -> Result<Client, String> {
        connect(&self.standby.shared.admin)
            .await
            .map_err(|e| self.with_logs(format!("standby: {e}")))
    }

    /// `msg` followed by the tails of both server logs.
    fn with_logs(&self, msg: String) -> String {
        format!(
            "{msg}\nprimary log (port {}):\n{}\nstandby log (port {}):\n{}",
            self.primary.port(),
            self.primary.log_tail(15),
            self.standby.port(),
            self.standby.log_tail(15)
        )
    }
}
