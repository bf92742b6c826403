//! The audit hook: an optional callback that sees every data- or schema-changing statement.
//!
//! Table-API calls know what they do and report it directly. Raw SQL (`execute`, `fetch`, …)
//! is classified by its first keyword — only while a hook is set or the `fastasyncpg::audit`
//! tracing target is enabled. With neither, nothing is looked at: a plain `SELECT` costs one
//! atomic load and tracing's cached level check. With a hook, a `SELECT` costs the first-word
//! check; only `WITH` statements (which may hide an `INSERT`) and `COPY` are scanned further.
//!
//! ```no_run
//! # async fn f(db: fastasyncpg::Database) {
//! use std::sync::Arc;
//! db.set_audit(Some(Arc::new(|e: &fastasyncpg::AuditEvent<'_>| {
//!     eprintln!("{:?} on {:?}: {}", e.kind, e.table, e.sql);
//! })));
//! # }
//! ```

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use crate::database::Database;
use crate::error::Error;

/// What kind of change a statement makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditKind {
    /// `INSERT` (without `ON CONFLICT` from the table API).
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// `INSERT ... ON CONFLICT` issued by the table API's `upsert`.
    Upsert,
    /// `MERGE`.
    Merge,
    /// `COPY ... FROM` (data loaded into a table).
    Copy,
    /// `CREATE ...`.
    Create,
    /// `DROP ...`.
    Drop,
    /// `ALTER ...`.
    Alter,
    /// `TRUNCATE`.
    Truncate,
    /// `GRANT` / `REVOKE`.
    Grant,
    /// `COMMENT ON`.
    Comment,
    /// `REFRESH MATERIALIZED VIEW`.
    Refresh,
    /// `CALL` of a procedure, `DO` blocks and other statements that may change anything.
    Other,
}

impl AuditKind {
    /// True for schema changes (CREATE, DROP, ALTER, GRANT, COMMENT).
    pub fn is_ddl(self) -> bool {
        matches!(
            self,
            AuditKind::Create
                | AuditKind::Drop
                | AuditKind::Alter
                | AuditKind::Grant
                | AuditKind::Comment
        )
    }
}

/// One audited statement, as the hook sees it (after it ran).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditEvent<'a> {
    /// What the statement does.
    pub kind: AuditKind,
    /// The SQL sent (placeholders, not argument values).
    pub sql: &'a str,
    /// The table, for table-API calls (its quoted SQL name).
    pub table: Option<&'a str>,
    /// Rows affected or returned, when known.
    pub rows: Option<u64>,
    /// The error message, when the statement failed.
    pub error: Option<String>,
}

/// The audit callback type.
pub type AuditHook = Arc<dyn Fn(&AuditEvent<'_>) + Send + Sync>;

/// Classifies one statement by its first keyword (after whitespace, comments and opening
/// parentheses). `None` for statements that change nothing (`SELECT`, `SHOW`, `BEGIN`…).
/// A `WITH` statement is scanned for `INSERT`, `UPDATE`, `DELETE` or `MERGE` keywords outside
/// string literals, quoted identifiers and comments.
pub fn classify(sql: &str) -> Option<AuditKind> {
    let mut lx = Lexer::new(sql);
    let first = loop {
        match lx.next()? {
            Tok::Word(w) => break w,
            Tok::Punct(b'(') => continue,
            Tok::Punct(b';') => continue,
            _ => return None,
        }
    };
    let kw = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    let kind = if kw(first, "select")
        || kw(first, "show")
        || kw(first, "values")
        || kw(first, "table")
    {
        return None;
    } else if kw(first, "insert") {
        AuditKind::Insert
    } else if kw(first, "update") {
        AuditKind::Update
    } else if kw(first, "delete") {
        AuditKind::Delete
    } else if kw(first, "merge") {
        AuditKind::Merge
    } else if kw(first, "create") {
        AuditKind::Create
    } else if kw(first, "drop") {
        AuditKind::Drop
    } else if kw(first, "alter") {
        AuditKind::Alter
    } else if kw(first, "truncate") {
        AuditKind::Truncate
    } else if kw(first, "grant") || kw(first, "revoke") {
        AuditKind::Grant
    } else if kw(first, "comment") {
        AuditKind::Comment
    } else if kw(first, "refresh") {
        AuditKind::Refresh
    } else if kw(first, "call") || kw(first, "do") || kw(first, "reindex") || kw(first, "cluster") {
        AuditKind::Other
    } else if kw(first, "copy") {
        // COPY t FROM … loads data; COPY t TO … / COPY (query) TO … reads.
        let mut depth = 0i32;
        loop {
            match lx.next() {
                None => return None,
                Some(Tok::Punct(b'(')) => depth += 1,
                Some(Tok::Punct(b')')) => depth -= 1,
                Some(Tok::Punct(b';')) if depth == 0 => return None,
                Some(Tok::Word(w)) if depth == 0 && kw(w, "from") => break AuditKind::Copy,
                Some(Tok::Word(w)) if depth == 0 && kw(w, "to") => return None,
                _ => {}
            }
        }
    } else if kw(first, "with") {
        loop {
            match lx.next() {
                None | Some(Tok::Punct(b';')) => return None,
                Some(Tok::Word(w)) if kw(w, "insert") => break AuditKind::Insert,
                Some(Tok::Word(w)) if kw(w, "update") => {
                    // `FOR UPDATE` is a lock, not a change.
                    if lx.prev_word.is_some_and(|p| kw(p, "for")) {
                        continue;
                    }
                    break AuditKind::Update;
                }
                Some(Tok::Word(w)) if kw(w, "delete") => break AuditKind::Delete,
                Some(Tok::Word(w)) if kw(w, "merge") => break AuditKind::Merge,
                _ => {}
            }
        }
    } else {
        return None;
    };
    Some(kind)
}

/// Classifies each statement of a `;`-separated script (the no-argument `execute` form).
pub(crate) fn classify_script(sql: &str) -> Vec<(AuditKind, &str)> {
    split_statements(sql)
        .into_iter()
        .filter_map(|s| classify(s).map(|k| (k, s)))
        .collect()
}

/// The highest `$n` placeholder in `sql` (outside literals, quoted identifiers and comments).
pub(crate) fn max_param(sql: &str) -> usize {
    let mut lx = Lexer::new(sql);
    let mut max = 0;
    while let Some(t) = lx.next() {
        if let Tok::Param(n) = t {
            max = max.max(n);
        }
    }
    max
}

/// Splits a script at top-level `;`.
pub(crate) fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut lx = Lexer::new(sql);
    let mut start = 0;
    while let Some(t) = lx.next() {
        if let Tok::Punct(b';') = t {
            let s = sql[start..lx.pos - 1].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = lx.pos;
        }
    }
    let s = sql[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

pub(crate) enum Tok<'a> {
    Word(&'a str),
    Punct(u8),
    /// A `$n` parameter.
    Param(usize),
    Other,
}

/// A minimal SQL tokenizer: words, punctuation; skips strings (incl. `E''`), quoted
/// identifiers, dollar-quoted bodies and comments.
pub(crate) struct Lexer<'a> {
    s: &'a str,
    pub(crate) pos: usize,
    prev_word: Option<&'a str>,
    last_word: Option<&'a str>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Lexer {
            s,
            pos: 0,
            prev_word: None,
            last_word: None,
        }
    }

    pub(crate) fn next(&mut self) -> Option<Tok<'a>> {
        let b = self.s.as_bytes();
        loop {
            let c = *b.get(self.pos)?;
            match c {
                c if c.is_ascii_whitespace() => self.pos += 1,
                b'-' if b.get(self.pos + 1) == Some(&b'-') => {
                    while self.pos < b.len() && b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'/' if b.get(self.pos + 1) == Some(&b'*') => {
                    let mut depth = 0;
                    while self.pos < b.len() {
                        if b[self.pos] == b'/' && b.get(self.pos + 1) == Some(&b'*') {
                            depth += 1;
                            self.pos += 2;
                        } else if b[self.pos] == b'*' && b.get(self.pos + 1) == Some(&b'/') {
                            depth -= 1;
                            self.pos += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                b'\'' => {
                    let escapes = self.pos > 0 && matches!(b[self.pos - 1], b'e' | b'E');
                    self.skip_quoted(b'\'', escapes);
                    return Some(Tok::Other);
                }
                b'"' => {
                    self.skip_quoted(b'"', false);
                    return Some(Tok::Other);
                }
                b'$' if b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) => {
                    let digits = self.s[self.pos + 1..]
                        .bytes()
                        .take_while(u8::is_ascii_digit)
                        .count();
                    let n = self.s[self.pos + 1..self.pos + 1 + digits]
                        .parse()
                        .unwrap_or(usize::MAX);
                    self.pos += 1 + digits;
                    return Some(Tok::Param(n));
                }
                b'$' => {
                    // $tag$ ... $tag$
                    let rest = &self.s[self.pos + 1..];
                    let tag_len = rest
                        .bytes()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                        .count();
                    if rest.as_bytes().get(tag_len) == Some(&b'$')
                        && !rest.starts_with(|c: char| c.is_ascii_digit())
                    {
                        let tag = &self.s[self.pos..self.pos + tag_len + 2];
                        let body_start = self.pos + tag.len();
                        self.pos = match self.s[body_start..].find(tag) {
                            Some(i) => body_start + i + tag.len(),
                            None => b.len(),
                        };
                    } else {
                        self.pos += 1 + tag_len;
                    }
                    return Some(Tok::Other);
                }
                c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                    let start = self.pos;
                    while self.pos < b.len()
                        && (b[self.pos].is_ascii_alphanumeric()
                            || b[self.pos] == b'_'
                            || b[self.pos] >= 0x80
                            || b[self.pos] == b'$')
                    {
                        self.pos += 1;
                    }
                    let w = &self.s[start..self.pos];
                    self.prev_word = self.last_word;
                    self.last_word = Some(w);
                    return Some(Tok::Word(w));
                }
                c => {
                    self.pos += 1;
                    return Some(Tok::Punct(c));
                }
            }
        }
    }

    fn skip_quoted(&mut self, q: u8, backslash_escapes: bool) {
        let b = self.s.as_bytes();
        self.pos += 1;
        while self.pos < b.len() {
            let c = b[self.pos];
            if backslash_escapes && c == b'\\' {
                self.pos += 2;
                continue;
            }
            self.pos += 1;
            if c == q {
                if b.get(self.pos) == Some(&q) {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
    }
}

impl Database {
    /// Sets (or with `None` removes) the audit hook of this database and every handle derived
    /// from it (pool connections, transactions, table handles). The hook is called after each
    /// data- or schema-changing statement with its kind and SQL; it must be quick (it runs on
    /// the query's task). Events are also emitted as `tracing` events with target
    /// `fastasyncpg::audit`.
    pub fn set_audit(&self, hook: Option<AuditHook>) {
        let on = hook.is_some();
        *self
            .inner
            .audit
            .write()
            .unwrap_or_else(PoisonError::into_inner) = hook;
        self.inner.audit_on.store(on, Ordering::Release);
    }

    /// True when an audit hook is set or audit tracing is enabled. The only cost a query pays
    /// when neither is.
    #[inline]
    pub(crate) fn audit_active(&self) -> bool {
        self.inner.audit_on.load(Ordering::Relaxed)
            || tracing::enabled!(target: "fastasyncpg::audit", tracing::Level::INFO)
    }

    /// Audits raw SQL by keyword: nothing at all happens unless a hook or tracing wants it.
    #[inline]
    pub(crate) fn audit_raw<'e>(
        &self,
        sql: &str,
        outcome: impl FnOnce() -> Result<u64, &'e Error>,
    ) {
        if !self.audit_active() {
            return;
        }
        self.inner.audit_classified.fetch_add(1, Ordering::Relaxed);
        if let Some(kind) = classify(sql) {
            self.emit_audit(kind, sql, None, outcome());
        }
    }

    /// How many raw statements this database (and the handles derived from it) classified for
    /// auditing: stays 0 while no hook is set (test support).
    #[doc(hidden)]
    pub fn __audit_classified(&self) -> u64 {
        self.inner.audit_classified.load(Ordering::Relaxed)
    }

    /// Audits each changing statement of a `;`-separated script.
    pub(crate) fn audit_script(&self, sql: &str, err: Option<&Error>) {
        if !self.audit_active() {
            return;
        }
        self.inner.audit_classified.fetch_add(1, Ordering::Relaxed);
        for (kind, stmt) in classify_script(sql) {
            self.emit_audit(kind, stmt, None, err.map_or(Ok(0), Err));
        }
    }

    /// Reports one statement whose kind is known (table API, DDL helpers).
    pub(crate) fn emit_audit(
        &self,
        kind: AuditKind,
        sql: &str,
        table: Option<&str>,
        outcome: Result<u64, &Error>,
    ) {
        let (rows, error) = match outcome {
            Ok(n) => (Some(n), None),
            Err(e) => (None, Some(e.to_string())),
        };
        tracing::info!(target: "fastasyncpg::audit", kind = ?kind, table, rows, error = error.as_deref(), "{sql}");
        if !self.inner.audit_on.load(Ordering::Acquire) {
            return;
        }
        let hook = self
            .inner
            .audit
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(hook) = hook {
            hook(&AuditEvent {
                kind,
                sql,
                table,
                rows,
                error,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_keyword() {
        assert_eq!(classify("SELECT 1"), None);
        assert_eq!(
            classify("  -- hi\n/* c /* nested */ */ insert into t values (1)"),
            Some(AuditKind::Insert)
        );
        assert_eq!(classify("(SELECT 1) UNION (SELECT 2)"), None);
        assert_eq!(classify("update t set a = 1"), Some(AuditKind::Update));
        assert_eq!(classify("CREATE TABLE x (a int)"), Some(AuditKind::Create));
        assert_eq!(classify("truncate x"), Some(AuditKind::Truncate));
        assert_eq!(classify("COPY t FROM STDIN"), Some(AuditKind::Copy));
        assert_eq!(classify("COPY (SELECT a FROM t) TO STDOUT"), None);
        assert_eq!(classify("copy t to stdout"), None);
    }

    #[test]
    fn with_statements_are_scanned() {
        assert_eq!(classify("WITH x AS (SELECT 1) SELECT * FROM x"), None);
        assert_eq!(
            classify("WITH x AS (SELECT 'insert') SELECT * FROM x"),
            None
        );
        assert_eq!(
            classify("WITH x AS (SELECT 1 AS \"delete\") SELECT * FROM x"),
            None
        );
        assert_eq!(
            classify("WITH x AS (SELECT $$update$$) SELECT * FROM x"),
            None
        );
        assert_eq!(
            classify("WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x"),
            None
        );
        assert_eq!(
            classify("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"),
            Some(AuditKind::Delete)
        );
        assert_eq!(
            classify("WITH v AS (SELECT 1) INSERT INTO t SELECT * FROM v"),
            Some(AuditKind::Insert)
        );
    }

    #[test]
    fn highest_parameter() {
        assert_eq!(
            max_param("a = $1 AND b = $12 AND c = '$99' AND d = $$ $40 $$ -- $50"),
            12
        );
        assert_eq!(max_param("x::text = 'a'"), 0);
        assert_eq!(max_param("$tag$ $3 $tag$ = $2"), 2);
    }

    #[test]
    fn scripts_split_at_top_level_semicolons() {
        let k = classify_script(
            "CREATE TABLE a (x text DEFAULT ';'); SELECT 1; INSERT INTO a VALUES ('x;y');",
        );
        assert_eq!(
            k.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            vec![AuditKind::Create, AuditKind::Insert]
        );
        assert_eq!(k[1].1, "INSERT INTO a VALUES ('x;y')");
    }
}
