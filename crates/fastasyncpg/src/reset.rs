//! Session reset of pooled connections: no session state (role, settings, listeners, advisory
//! locks, temporary objects, cursors) crosses from one user of a pool to the next.
//!
//! # Design
//!
//! * **Where.** A pooled connection is reset when it is *given back* (the pool wrapper's
//!   `Drop` spawns a task that owns the connection, runs the reset and only then returns it
//!   to the pool, so nobody can take it in between), with the pool's `recycle` as a backstop
//!   (it resets a connection that comes back dirty, e.g. when it was dropped outside a tokio
//!   runtime). Resetting on return releases advisory locks and stops `LISTEN` deliveries at
//!   once instead of while the connection sits idle, and keeps the round trip off the next
//!   user's acquire.
//! * **One round trip.** The reset is one simple-query batch ([`RESET_SQL`]). It keeps the
//!   statement cache: no `DISCARD ALL` / `DEALLOCATE`. Its last statement tells whether the
//!   connection is still inside a transaction block (a user's raw `BEGIN`, or an aborted one
//!   makes the batch fail); then a second batch with a leading `ROLLBACK` runs. A reset that
//!   fails, or times out, discards the connection.
//! * **Only when needed.** Each connection keeps a "session may be dirty" flag. SQL this
//!   library generates (table API, typed models, schema refresh, `BEGIN`/`COMMIT`/`SAVEPOINT`,
//!   DDL from structs) never sets it: its identifiers are always quoted and its values are
//!   parameters, so the classifier below finds nothing in it. User SQL is classified by
//!   [`dirties`] once when its statement is prepared, and the verdict is stored in the
//!   statement-cache entry, so a cache hit costs one `bool` test; unnamed statements and
//!   simple-query `execute` are classified on each call (one scan of the text).
//!   `listen()` always sets the flag. The check when a connection is given back is one atomic
//!   load.
//!
//! # Classification
//!
//! A statement is clean when its first word is `SELECT`, `INSERT`, `UPDATE`, `DELETE`,
//! `MERGE`, `WITH`, `VALUES`, `TABLE` or `SHOW`, and no unquoted word of it (string literals,
//! comments and dollar-quoted bodies are skipped) contains `set_config`, `advisory` or
//! `dblink`, or is `temp`, `temporary`, `listen`, `prepare`, `declare`, `role`,
//! `authorization`, `discard`, or `into` not right after `INSERT`/`MERGE` (`SELECT … INTO`).
//! A quoted function name (`"set_config"(…)`) is checked too. Every statement of a script
//! must be clean. A false positive only costs one reset; what it cannot see is session state
//! changed *inside* a server function (a function that calls `set_config` or `SET ROLE`):
//! choose [`ResetPolicy::Always`] for security-sensitive multi-tenant code. `currval` /
//! `lastval` state left by `nextval` does not mark a connection dirty (an insert into a
//! serial column would make every insert pay a reset); the reset clears it when it runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::SimpleQueryMessage;

use crate::audit::{Lexer, Tok};
use crate::conn::Conn;
use crate::error::{Error, ErrorKind, Result};

/// When a connection given back to a pool is reset ([`PoolOptions::reset`](crate::PoolOptions)).
///
/// The reset is one round trip: `CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL;
/// UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES` (plus a
/// `ROLLBACK` first when the connection is still inside a transaction block). Prepared
/// statements stay cached. Settings given with
/// [`ConnectOptions::server_settings`](crate::ConnectOptions::server_settings) survive it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResetPolicy {
    /// Reset only a connection whose user ran SQL that may change session state (see the
    /// classification rule in the README's "Pools in production"): `SET`, `SET ROLE`, `set_config`,
    /// advisory locks, `LISTEN`, temporary tables, `PREPARE`, cursors, any DDL or statement
    /// that is not a plain `SELECT`/`INSERT`/`UPDATE`/`DELETE`/`WITH`/`VALUES`. A clean
    /// workload pays nothing. Session state changed inside a server function (one that calls
    /// `set_config` or `SET ROLE` itself) is **not** seen: use `Always` for that.
    #[default]
    WhenNeeded,
    /// Reset every connection each time it is given back: one extra round trip per use, for
    /// security-sensitive multi-tenant code that calls server functions which may change the
    /// role or settings.
    Always,
    /// Never reset: session state of one user is visible to the next. Only for code that
    /// manages session state itself. Connections inside a transaction are still never
    /// handed out.
    Never,
}

/// The reset batch (one round trip). Its last statement is true outside a transaction block.
pub(crate) const RESET_SQL: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; \
     UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES; \
     SELECT now() = statement_timestamp()";

/// How long a reset may take before the connection is discarded instead.
pub(crate) const RESET_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection reset state.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    /// The session may hold state a later pool user must not see.
    dirty: AtomicBool,
    /// The pool's policy (`WhenNeeded` for a connection outside a pool, where it is unused).
    pub(crate) policy: ResetPolicy,
}

impl SessionState {
    /// Notes that the session may now hold state.
    #[inline]
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Marks the session dirty when `sql` (not prepared, classified now) may change it.
    #[inline]
    pub(crate) fn note_sql(&self, sql: &str) {
        if !self.dirty.load(Ordering::Relaxed) && dirties(sql) {
            self.mark_dirty();
        }
    }

    /// True when the connection must be reset before another user gets it.
    #[inline]
    pub(crate) fn needs_reset(&self) -> bool {
        self.policy != ResetPolicy::Never && self.dirty.load(Ordering::Relaxed)
    }

    /// Called when a connection is handed out: under `Always` it will be reset when given
    /// back whatever it runs.
    #[inline]
    pub(crate) fn on_checkout(&self) {
        if self.policy == ResetPolicy::Always {
            self.mark_dirty();
        }
    }
}

impl Conn {
    /// Resets the session in one round trip (two when it was left inside a transaction block)
    /// and forgets the notification subscriber. Keeps the statement cache.
    pub(crate) async fn reset_session(&self) -> Result<()> {
        let done = match self.client.simple_query(RESET_SQL).await {
            Ok(msgs) => outside_transaction(&msgs),
            Err(e) if e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => false,
            Err(e) => return Err(Error::from(e).context("resetting a pooled connection")),
        };
        if !done {
            let msgs = self
                .client
                .simple_query(&format!("ROLLBACK; {RESET_SQL}"))
                .await
                .map_err(|e| Error::from(e).context("resetting a pooled connection"))?;
            if !outside_transaction(&msgs) {
                return Err(Error::new(
                    ErrorKind::Other,
                    "resetting a pooled connection: still inside a transaction after ROLLBACK",
                ));
            }
        }
        self.notifications.clear();
        self.session.dirty.store(false, Ordering::Relaxed);
        Ok(())
    }
}

fn outside_transaction(msgs: &[SimpleQueryMessage]) -> bool {
    msgs.iter()
        .rev()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0) == Some("t")),
            _ => None,
        })
        .unwrap_or(false)
}

/// True when `sql` (one statement or a script) may change session state that a later user of
/// the same pooled connection could see. See the module docs for the rule.
pub(crate) fn dirties(sql: &str) -> bool {
    let mut lx = Lexer::new(sql);
    // The first word of the current statement, once seen.
    let mut first: Option<&str> = None;
    let mut prev: Option<&str> = None;
    loop {
        let before = lx.pos;
        let Some(tok) = lx.next() else {
            return false;
        };
        match tok {
            Tok::Punct(b';') => {
                first = None;
                prev = None;
            }
            Tok::Word(w) => {
                if first.is_none() {
                    if !CLEAN_FIRST.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                        return true;
                    }
                    first = Some(w);
                } else if word_dirties(w, prev) {
                    return true;
                }
                prev = Some(w);
            }
            Tok::Other => {
                // A quoted identifier may name a function: `"set_config"(…)`.
                let text = sql[before..lx.pos].trim_start();
                if let Some(name) = text.strip_prefix('"') {
                    if contains_dirty_part(name) {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
}

const CLEAN_FIRST: [&str; 9] = [
    "select", "insert", "update", "delete", "merge", "with", "values", "table", "show",
];

const DIRTY_WORDS: [&str; 8] = [
    "temp",
    "temporary",
    "listen",
    "prepare",
    "declare",
    "role",
    "authorization",
    "discard",
];

fn contains_dirty_part(w: &str) -> bool {
    let l = w.to_ascii_lowercase();
    l.contains("set_config") || l.contains("advisory") || l.contains("dblink")
}

fn word_dirties(w: &str, prev: Option<&str>) -> bool {
    if w.eq_ignore_ascii_case("into") {
        return !prev
            .is_some_and(|p| p.eq_ignore_ascii_case("insert") || p.eq_ignore_ascii_case("merge"));
    }
    DIRTY_WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) || contains_dirty_part(w)
}

#[cfg(test)]
mod tests {
    use super::dirties;

    #[test]
    fn clean_statements() {
        for sql in [
            "SELECT 1",
            "select * from t where a = $1",
            "  (SELECT 1) UNION (SELECT 2)",
            "INSERT INTO \"t\" (\"a\") VALUES ($1) RETURNING *",
            "UPDATE \"t\" SET \"role\" = $1 WHERE \"id\" = $2",
            "DELETE FROM t WHERE id = 1",
            "WITH x AS (DELETE FROM t RETURNING *) INSERT INTO u SELECT * FROM x",
            "VALUES (1), (2)",
            "TABLE t",
            "SHOW search_path",
            "SELECT 'set_config(role)' AS s -- set_config\n, \"temp\" FROM t /* advisory */",
            "SELECT $tag$ SET ROLE x $tag$",
            "SELECT 1; SELECT 2;",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "SELECT pg_notify($1, $2)",
        ] {
            assert!(!dirties(sql), "{sql}");
        }
    }

    #[test]
    fn dirty_statements() {
        for sql in [
            "SET ROLE tenant_a",
            "set search_path to pg_catalog",
            "RESET ALL",
            "BEGIN",
            "LISTEN ch",
            "CREATE TEMP TABLE x (a int)",
            "CREATE TABLE x (a int)",
            "PREPARE p AS SELECT 1",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "DISCARD ALL",
            "DO $$ BEGIN PERFORM set_config('role', 'x', false); END $$",
            "SELECT set_config('app.tenant', 'a', false)",
            "select pg_catalog.SET_CONFIG('a.b', 'c', false)",
            "SELECT pg_advisory_lock(42)",
            "SELECT pg_try_advisory_lock_shared(1)",
            "SELECT \"set_config\"('a.b', 'c', false)",
            "SELECT * INTO TEMP x FROM t",
            "SELECT * INTO newt FROM t",
            "SELECT 1; SET ROLE x",
            "SELECT 1; CREATE TEMP TABLE x ()",
            "SELECT dblink_connect('c', 'dbname=x')",
            "CALL p()",
            "EXECUTE p",
        ] {
            assert!(dirties(sql), "{sql}");
        }
    }

    #[test]
    fn schema_introspection_is_clean() {
        assert!(!dirties(include_str!("schema/introspect.sql")));
    }
}
