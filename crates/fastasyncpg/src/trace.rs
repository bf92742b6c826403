//! Statement tracing: a `tracing` span per statement sent to the server, named `pg.query`, at
//! DEBUG level under the target `fastasyncpg`, with OpenTelemetry's database attributes
//! (`db.system`, `db.statement`, `db.operation`, `db.name`, `server.address`, `server.port`,
//! then `db.rows` and `elapsed_ms` once it completed), an ERROR event inside it when the
//! statement fails, and a WARN event for statements slower than
//! [`ConnectOptions::slow_statement`](crate::ConnectOptions::slow_statement).
//!
//! Cost when nobody listens: building a disabled span is tracing's cached level/interest
//! check, then one test of the slow-statement `Option`; the statement then runs as it would
//! without this module (no clock read, no allocation, no `Instrument` wrapper).
//!
//! Everything goes through [`statement`] (a future) or [`start`] / [`finish`] (around code that
//! cannot be wrapped), called at the few places a statement reaches the server: the `Conn`
//! methods, `executemany` and the COPY / bulk paths of the table API.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant};

use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::config::ConnectOptions;
use crate::error::{Error, Result};

/// What a connection's statement spans say about where they run, and the slow-statement
/// threshold: fixed when the connection is opened. The default (empty names, port 0, no
/// threshold) is only for connections built without [`ConnTrace::new`].
#[derive(Debug, Default)]
pub(crate) struct ConnTrace {
    /// The database name (`db.name`).
    db_name: Box<str>,
    /// The host actually connected to: a name, an IP address or a unix-socket directory
    /// (`server.address`).
    host: Box<str>,
    /// Its port (`server.port`).
    port: u16,
    /// Statements slower than this are logged at WARN.
    slow: Option<Duration>,
}

impl ConnTrace {
    /// The tracing facts of a connection to `host:port` opened with `opts`.
    pub(crate) fn new(opts: &ConnectOptions, host: &str, port: u16) -> ConnTrace {
        ConnTrace {
            db_name: opts.pg.get_dbname().unwrap_or("").into(),
            host: host.into(),
            port,
            slow: opts.slow_statement,
        }
    }
}

/// A statement being traced or timed; dropping it before [`finish`] (a timeout, a dropped
/// future) still records the elapsed time and the slow-statement warning.
pub(crate) struct Active<'a> {
    span: Span,
    start: Instant,
    sql: &'a str,
    slow: Option<Duration>,
    done: bool,
}

/// Starts tracing `sql`, or returns `None` — the plain path — when no subscriber wants the
/// span and no slow-statement threshold is set.
#[inline]
pub(crate) fn start<'a>(t: &ConnTrace, sql: &'a str) -> Option<Active<'a>> {
    let span = tracing::debug_span!(
        target: "fastasyncpg",
        "pg.query",
        db.system = "postgresql",
        db.statement = sql,
        db.operation = &*operation(sql),
        db.name = &*t.db_name,
        server.address = &*t.host,
        server.port = t.port,
        db.rows = Empty,
        db.response.status_code = Empty,
        elapsed_ms = Empty,
    );
    if span.is_disabled() && t.slow.is_none() {
        return None;
    }
    Some(Active {
        span,
        start: Instant::now(),
        sql,
        slow: t.slow,
        done: false,
    })
}

/// Completes a statement started with [`start`]: records the rows `rows` finds in a success,
/// or emits the error event. With `None` (the plain path) only a failure is looked at.
#[inline]
pub(crate) fn finish<T>(
    a: Option<Active<'_>>,
    sql: &str,
    r: &Result<T>,
    rows: impl FnOnce(&T) -> Option<u64>,
) {
    match a {
        None => {
            if let Err(e) = r {
                failed(sql, e);
            }
        }
        Some(mut a) => {
            a.done = true;
            let _in = a.span.enter();
            match r {
                Ok(v) => {
                    if let Some(n) = rows(v) {
                        a.span.record("db.rows", n);
                    }
                }
                Err(e) => {
                    if let Some(code) = e.code() {
                        a.span.record("db.response.status_code", code.code());
                    }
                    failed(sql, e);
                }
            }
            // `a` drops after `_in`: the timing events are emitted inside the span.
        }
    }
}

/// Runs the future `run` makes, the execution of `sql`, inside its span (see the module
/// docs); `rows` reads the rows affected or returned from a success, when known.
///
/// `run` is a closure so that the (large) statement future is built in place, in the slot it
/// is polled from: passing the future itself would store it twice and copy it on each move.
#[inline]
pub(crate) async fn statement<T, F: Future<Output = Result<T>>>(
    t: &ConnTrace,
    sql: &str,
    rows: impl FnOnce(&T) -> Option<u64>,
    run: impl FnOnce() -> F,
) -> Result<T> {
    let Some(a) = start(t, sql) else {
        let r = run().await;
        if let Err(e) = &r {
            failed(sql, e);
        }
        return r;
    };
    let r = run().instrument(a.span.clone()).await;
    finish(Some(a), sql, &r, rows);
    r
}

/// The error event of a failed statement (its `Display` holds the SQLSTATE).
#[cold]
fn failed(sql: &str, e: &Error) {
    tracing::error!(
        target: "fastasyncpg",
        { db.statement = sql, db.response.status_code = e.code().map(|c| c.code()) },
        "statement failed: {e}"
    );
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        let ms = elapsed.as_secs_f64() * 1000.0;
        let _in = self.span.enter();
        self.span.record("elapsed_ms", ms);
        if !self.done {
            tracing::debug!(
                target: "fastasyncpg",
                elapsed_ms = ms,
                "statement abandoned before it completed (timeout or dropped future)"
            );
        }
        if self.slow.is_some_and(|t| elapsed >= t) {
            tracing::warn!(
                target: "fastasyncpg",
                { db.statement = self.sql, elapsed_ms = ms },
                "slow statement ({ms:.1} ms): {}",
                self.sql
            );
        }
    }
}

/// The statement's first keyword, uppercase (`SELECT`, `INSERT`, `WITH`, `COPY`, `BEGIN`…),
/// after whitespace, comments and opening parentheses; `""` when there is none.
pub(crate) fn operation(sql: &str) -> Cow<'_, str> {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() || c == b'(' => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            _ => break,
        }
    }
    let start = i.min(b.len());
    let mut end = start;
    while end < b.len() && (b[end].is_ascii_alphabetic() || b[end] == b'_') {
        end += 1;
    }
    let w = &sql[start..end];
    if w.bytes().any(|c| c.is_ascii_lowercase()) {
        Cow::Owned(w.to_ascii_uppercase())
    } else {
        Cow::Borrowed(w)
    }
}

#[cfg(test)]
mod tests {
    use super::operation;

    #[test]
    fn first_keyword_uppercase() {
        assert_eq!(operation("select 1"), "SELECT");
        assert_eq!(
            operation("  -- note\n /* c */ (SELECT 1) UNION (SELECT 2)"),
            "SELECT"
        );
        assert_eq!(operation("insert into t values (1)"), "INSERT");
        assert_eq!(operation("COPY t FROM STDIN"), "COPY");
        assert_eq!(operation("with x as (select 1) delete from t"), "WITH");
        assert_eq!(operation("begin isolation level serializable"), "BEGIN");
        assert_eq!(operation(""), "");
        assert_eq!(operation("/* unterminated"), "");
    }
}
