//! `COPY` in and out: asyncpg's `copy_to_table`, `copy_from_table`, `copy_from_query` and
//! `copy_records_to_table` on [`Database`], with [`CopyOptions`].
//!
//! Data is streamed in chunks of 64 KiB both ways, so memory stays bounded whatever the size
//! of the file or table. Every call works the same on a connection, a pool, a held pooled
//! connection and a transaction (inside a transaction it runs on that transaction's
//! connection and is part of it).
//!
//! * **Atomic**: a `COPY ... FROM` is one statement; a bad row (or a failing reader) aborts it
//!   and leaves the table as it was. The server's error names the line and column
//!   (`CONTEXT: COPY t, line 3, column b: "x"`, shown by [`Error`]'s `Display`).
//! * **Names**: `table` is one identifier, quoted as given (`"My Table"` needs no quotes of
//!   yours); the schema goes in [`CopyOptions::schema_name`]. Option values are sent as
//!   escaped string literals.
//! * **Arguments of `copy_from_query`**: `COPY` takes no parameters. The query is prepared
//!   once to learn its parameter types, each argument is converted to its parameter's type
//!   with the same rules as [`Database::fetch`] (a value that does not fit fails naming the
//!   parameter), and then written into the query as an escaped literal with an explicit cast
//!   (`(E'it''s \\ here'::"pg_catalog"."text")`, `(NULL::"pg_catalog"."int4")`).
//! * **PgBouncer** ([`StatementCacheMode::Unnamed`]): tokio-postgres runs a `COPY` through a
//!   short-lived named statement. Outside a transaction, each COPY call is therefore wrapped in
//!   `BEGIN … COMMIT` so that the statement is created, used and closed on one server
//!   connection even behind transaction pooling; inside a transaction nothing changes.
//! * **Audit**: each `COPY ... FROM` is reported to the audit hook as [`AuditKind::Copy`];
//!   `COPY ... TO` is a read and is not reported.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::Ordering;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_postgres::types::Type;

use crate::args::IntoArgs;
use crate::audit::AuditKind;
use crate::config::StatementCacheMode;
use crate::conn::coerce_args;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::sql::quote_ident;
use crate::table::{Record, Table};
use crate::value::Value;

/// COPY data is read and sent in chunks of this size.
const CHUNK: usize = 1 << 16;

/// The binary COPY header: signature, flags, header extension length.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The data format of a `COPY` (`FORMAT text | csv | binary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CopyFormat {
    /// PostgreSQL's text format: tab-separated, `\N` for NULL, backslash escapes (the default).
    #[default]
    Text,
    /// CSV.
    Csv,
    /// PostgreSQL's binary format.
    Binary,
}

impl CopyFormat {
    fn keyword(self) -> &'static str {
        match self {
            CopyFormat::Text => "text",
            CopyFormat::Csv => "csv",
            CopyFormat::Binary => "binary",
        }
    }
}

/// `FORCE_QUOTE` of a CSV `COPY ... TO`: every non-NULL value, or the values of some columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForceQuote {
    /// `FORCE_QUOTE *`.
    All,
    /// `FORCE_QUOTE (a, b)`.
    Columns(Vec<String>),
}

/// Options of a `COPY` (asyncpg's keyword arguments of the copy methods). Unset options are
/// left to PostgreSQL's defaults. An option that does not apply to the direction or format is a
/// [`Usage`](crate::ErrorKind::Usage) error naming it, before anything is sent.
///
/// ```
/// use fastasyncpg::CopyOptions;
/// let o = CopyOptions::csv().header(true).null("").columns(["id", "name"]);
/// assert_eq!(o.columns.as_deref(), Some(&["id".to_string(), "name".to_string()][..]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `FORMAT`; `None` is PostgreSQL's default (text).
    pub format: Option<CopyFormat>,
    /// The columns to copy, in this order; `None` is every column.
    pub columns: Option<Vec<String>>,
    /// The schema of the table; `None` finds it through the search path.
    pub schema_name: Option<String>,
    /// `DELIMITER`: one one-byte character (text and CSV).
    pub delimiter: Option<String>,
    /// `NULL`: the string that stands for NULL (text and CSV).
    pub null: Option<String>,
    /// `HEADER`: a first line with the column names (text and CSV).
    pub header: Option<bool>,
    /// `QUOTE` (CSV).
    pub quote: Option<String>,
    /// `ESCAPE` (CSV).
    pub escape: Option<String>,
    /// `FORCE_QUOTE` (CSV, `COPY ... TO` only).
    pub force_quote: Option<ForceQuote>,
    /// `FORCE_NOT_NULL` (CSV, `COPY ... FROM` only): these columns' values are never NULL.
    pub force_not_null: Vec<String>,
    /// `FORCE_NULL` (CSV, `COPY ... FROM` only): these columns' quoted null strings are NULL too.
    pub force_null: Vec<String>,
    /// `ENCODING` of the data, when it is not the client encoding (UTF-8).
    pub encoding: Option<String>,
    /// `WHERE` condition (`COPY ... FROM` only): rows for which it is not true are skipped. An
    /// SQL expression over the table's columns, sent as written.
    pub where_: Option<String>,
}

impl CopyOptions {
    /// No options: PostgreSQL's defaults (text format, every column).
    pub fn new() -> Self {
        Self::default()
    }

    /// CSV format.
    pub fn csv() -> Self {
        Self::new().format(CopyFormat::Csv)
    }

    /// Text format.
    pub fn text() -> Self {
        Self::new().format(CopyFormat::Text)
    }

    /// Binary format.
    pub fn binary() -> Self {
        Self::new().format(CopyFormat::Binary)
    }

    /// Sets `FORMAT`.
    pub fn format(mut self, f: CopyFormat) -> Self {
        self.format = Some(f);
        self
    }

    /// Sets the columns to copy.
    pub fn columns<S: Into<String>>(mut self, cols: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(cols.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the table's schema.
    pub fn schema_name(mut self, s: impl Into<String>) -> Self {
        self.schema_name = Some(s.into());
        self
    }

    /// Sets `DELIMITER`.
    pub fn delimiter(mut self, d: impl Into<String>) -> Self {
        self.delimiter = Some(d.into());
        self
    }

    /// Sets `NULL`.
    pub fn null(mut self, s: impl Into<String>) -> Self {
        self.null = Some(s.into());
        self
    }

    /// Sets `HEADER`.
    pub fn header(mut self, h: bool) -> Self {
        self.header = Some(h);
        self
    }

    /// Sets `QUOTE`.
    pub fn quote(mut self, q: impl Into<String>) -> Self {
        self.quote = Some(q.into());
        self
    }

    /// Sets `ESCAPE`.
    pub fn escape(mut self, e: impl Into<String>) -> Self {
        self.escape = Some(e.into());
        self
    }

    /// Sets `FORCE_QUOTE`.
    pub fn force_quote(mut self, f: ForceQuote) -> Self {
        self.force_quote = Some(f);
        self
    }

    /// Sets `FORCE_NOT_NULL`.
    pub fn force_not_null<S: Into<String>>(mut self, cols: impl IntoIterator<Item = S>) -> Self {
        self.force_not_null = cols.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `FORCE_NULL`.
    pub fn force_null<S: Into<String>>(mut self, cols: impl IntoIterator<Item = S>) -> Self {
        self.force_null = cols.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `ENCODING`.
    pub fn encoding(mut self, e: impl Into<String>) -> Self {
        self.encoding = Some(e.into());
        self
    }

    /// Sets the `WHERE` condition of a `COPY ... FROM`.
    pub fn where_(mut self, cond: impl Into<String>) -> Self {
        self.where_ = Some(cond.into());
        self
    }

    /// The quoted table name with its schema.
    fn target(&self, table: &str) -> String {
        match &self.schema_name {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(table)),
            None => quote_ident(table),
        }
    }

    /// ` ("a", "b")` or nothing.
    fn column_list(&self) -> String {
        match &self.columns {
            Some(c) if !c.is_empty() => format!(" ({})", ident_list(c)),
            _ => String::new(),
        }
    }

    /// Checks the options against the direction and format and renders ` WITH (…)` (or
    /// nothing), then ` WHERE …` for a `COPY ... FROM`.
    fn clauses(&self, dir: Dir, what: &str) -> Result<String> {
        let fmt = self.format.unwrap_or_default();
        let bad = |opt: &str, why: &str| Err(Error::usage(format!("{what}: option {opt} {why}")));
        let text_like = [
            ("delimiter", self.delimiter.is_some()),
            ("null", self.null.is_some()),
            ("header", self.header.is_some()),
        ];
        let csv_only = [
            ("quote", self.quote.is_some()),
            ("escape", self.escape.is_some()),
            ("force_quote", self.force_quote.is_some()),
            ("force_not_null", !self.force_not_null.is_empty()),
            ("force_null", !self.force_null.is_empty()),
        ];
        if dir == Dir::Records {
            let encoding = [("encoding", self.encoding.is_some())];
            let all = text_like.iter().chain(&csv_only).chain(&encoding);
            for (name, on) in all {
                if *on {
                    return bad(
                        name,
                        "does not apply: records are always sent in binary format",
                    );
                }
            }
            if matches!(self.format, Some(f) if f != CopyFormat::Binary) {
                return bad(
                    "format",
                    "does not apply: records are always sent in binary format",
                );
            }
        }
        if fmt == CopyFormat::Binary {
            for (name, on) in text_like.iter().chain(&csv_only) {
                if *on {
                    return bad(name, "is not allowed with format binary");
                }
            }
        }
        if fmt == CopyFormat::Text {
            for (name, on) in &csv_only {
                if *on {
                    return bad(name, "needs format csv");
                }
            }
        }
        if dir.is_in() && self.force_quote.is_some() {
            return bad(
                "force_quote",
                "only applies when copying out of a table or query",
            );
        }
        if !dir.is_in() {
            if !self.force_not_null.is_empty() {
                return bad("force_not_null", "only applies when copying into a table");
            }
            if !self.force_null.is_empty() {
                return bad("force_null", "only applies when copying into a table");
            }
            if self.where_.is_some() {
                return bad("where", "only applies when copying into a table");
            }
        }
        if dir == Dir::OutQuery {
            if self.columns.is_some() {
                return bad(
                    "columns",
                    "does not apply to a query (select the columns in it)",
                );
            }
            if self.schema_name.is_some() {
                return bad("schema_name", "does not apply to a query");
            }
        }
        for (name, v) in [
            ("delimiter", &self.delimiter),
            ("quote", &self.quote),
            ("escape", &self.escape),
        ] {
            if let Some(v) = v {
                if v.len() != 1 {
                    return bad(
                        name,
                        &format!("must be a single one-byte character, got {v:?}"),
                    );
                }
            }
        }
        let mut opts = Vec::new();
        if dir == Dir::Records {
            // The format is chosen from the first record; only WHERE applies.
        } else if let Some(f) = self.format {
            opts.push(format!("FORMAT {}", f.keyword()));
        }
        if let Some(d) = &self.delimiter {
            opts.push(format!("DELIMITER {}", quote_literal(d)));
        }
        if let Some(n) = &self.null {
            opts.push(format!("NULL {}", quote_literal(n)));
        }
        if let Some(h) = self.header {
            opts.push(format!("HEADER {h}"));
        }
        if let Some(q) = &self.quote {
            opts.push(format!("QUOTE {}", quote_literal(q)));
        }
        if let Some(e) = &self.escape {
            opts.push(format!("ESCAPE {}", quote_literal(e)));
        }
        match &self.force_quote {
            Some(ForceQuote::All) => opts.push("FORCE_QUOTE *".into()),
            Some(ForceQuote::Columns(c)) => opts.push(format!("FORCE_QUOTE ({})", ident_list(c))),
            None => {}
        }
        if !self.force_not_null.is_empty() {
            opts.push(format!(
                "FORCE_NOT_NULL ({})",
                ident_list(&self.force_not_null)
            ));
        }
        if !self.force_null.is_empty() {
            opts.push(format!("FORCE_NULL ({})", ident_list(&self.force_null)));
        }
        if let Some(e) = &self.encoding {
            opts.push(format!("ENCODING {}", quote_literal(e)));
        }
        let mut s = String::new();
        if !opts.is_empty() {
            s.push_str(" WITH (");
            s.push_str(&opts.join(", "));
            s.push(')');
        }
        if let Some(w) = &self.where_ {
            s.push_str(" WHERE ");
            s.push_str(w);
        }
        Ok(s)
    }

    /// `COPY target (cols) FROM STDIN WITH (…) WHERE …`.
    fn copy_in_sql(&self, table: &str, what: &str) -> Result<String> {
        let c = self.clauses(Dir::In, what)?;
        Ok(format!(
            "COPY {}{} FROM STDIN{c}",
            self.target(table),
            self.column_list()
        ))
    }

    /// `COPY target (cols) TO STDOUT WITH (…)`.
    fn copy_out_table_sql(&self, table: &str, what: &str) -> Result<String> {
        let c = self.clauses(Dir::OutTable, what)?;
        Ok(format!(
            "COPY {}{} TO STDOUT{c}",
            self.target(table),
            self.column_list()
        ))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    In,
    Records,
    OutTable,
    OutQuery,
}

impl Dir {
    fn is_in(self) -> bool {
        matches!(self, Dir::In | Dir::Records)
    }
}

fn ident_list(c: &[String]) -> String {
    c.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An SQL string literal for `s`: `'…'` with `'` doubled, or `E'…'` with `\` doubled too when
/// `s` holds a backslash (correct whatever `standard_conforming_strings` is).
pub(crate) fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for ch in s.chars() {
        match ch {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `v` (already converted to `ty`) as a parenthesized SQL literal cast to `ty`:
/// `(E'a\\b'::"pg_catalog"."text")`, `(NULL::"pg_catalog"."int4")`.
pub(crate) fn literal(v: &Value, ty: &Type) -> String {
    let cast = format!("{}.{}", quote_ident(ty.schema()), quote_ident(ty.name()));
    if v.is_null() {
        return format!("(NULL::{cast})");
    }
    format!("({}::{cast})", quote_literal(&v.to_string()))
}

/// Replaces each `$n` placeholder of `sql` (outside string literals, quoted identifiers,
/// dollar-quoted strings and comments) with `sub(n)`.
fn substitute_params(sql: &str, sub: impl Fn(usize) -> Option<String>) -> Result<String> {
    let b = sql.as_bytes();
    let n = b.len();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut last = 0;
    let mut i = 0;
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    while i < n {
        let c = b[i];
        match c {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(n, |p| i + p + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' | b'"' => {
                // E'…' strings take backslash escapes.
                let escapes = c == b'\''
                    && i > 0
                    && (b[i - 1] == b'E' || b[i - 1] == b'e')
                    && (i < 2 || !is_ident(b[i - 2]));
                i += 1;
                while i < n {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                    } else if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' if i > 0 && is_ident(b[i - 1]) => i += 1,
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let start = i;
                i += 1;
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
                let num: usize = sql[start + 1..i]
                    .parse()
                    .map_err(|_| Error::usage(format!("bad placeholder {}", &sql[start..i])))?;
                let rep = sub(num)
                    .ok_or_else(|| Error::bind(format!("placeholder ${num} has no argument")))?;
                out.push_str(&sql[last..start]);
                out.push_str(&rep);
                last = i;
            }
            b'$' => {
                // A dollar-quoted string: $tag$ … $tag$.
                let tag_end = b[i + 1..]
                    .iter()
                    .position(|&c| !is_ident(c))
                    .map(|p| i + 1 + p);
                match tag_end {
                    Some(e) if b[e] == b'$' => {
                        let tag = &sql[i..=e];
                        i = match sql[e + 1..].find(tag) {
                            Some(p) => e + 1 + p + tag.len(),
                            None => n,
                        };
                    }
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[last..]);
    Ok(out)
}

/// Counts the rows in `COPY ... TO` output as it streams by (the protocol gives no count for
/// it): newlines in text format (embedded ones are escaped), newlines outside quotes in CSV,
/// tuples in binary format. A header line is not counted.
struct RowCounter {
    fmt: CopyFormat,
    rows: u64,
    header: bool,
    // CSV
    quote: u8,
    escape: u8,
    in_quotes: bool,
    after_escape: bool,
    // binary: bytes still to skip, and a partial length/count field
    skip: usize,
    partial: Vec<u8>,
    state: BinState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BinState {
    /// Reading the 19-byte header (signature, flags, extension length).
    Header,
    /// Reading a tuple's 16-bit field count.
    Count,
    /// Reading a field's 32-bit length; `n` fields left in the tuple.
    Len(u16),
    /// The trailer was read.
    Done,
}

impl RowCounter {
    fn new(o: &CopyOptions) -> Self {
        let quote = o.quote.as_deref().map_or(b'"', |q| q.as_bytes()[0]);
        RowCounter {
            fmt: o.format.unwrap_or_default(),
            rows: 0,
            header: o.header.unwrap_or(false),
            quote,
            escape: o.escape.as_deref().map_or(quote, |e| e.as_bytes()[0]),
            in_quotes: false,
            after_escape: false,
            skip: 0,
            partial: Vec::new(),
            state: BinState::Header,
        }
    }

    fn rows(&self) -> u64 {
        if self.header && self.fmt != CopyFormat::Binary {
            self.rows.saturating_sub(1)
        } else {
            self.rows
        }
    }

    fn feed(&mut self, data: &[u8]) {
        match self.fmt {
            CopyFormat::Text => self.rows += data.iter().filter(|&&c| c == b'\n').count() as u64,
            CopyFormat::Csv => {
                for &c in data {
                    if self.in_quotes {
                        if self.after_escape {
                            self.after_escape = false;
                        } else if c == self.escape && self.escape != self.quote {
                            self.after_escape = true;
                        } else if c == self.quote {
                            // A doubled quote closes and reopens: the count stays right.
                            self.in_quotes = false;
                        }
                    } else if c == self.quote {
                        self.in_quotes = true;
                    } else if c == b'\n' {
                        self.rows += 1;
                    }
                }
            }
            CopyFormat::Binary => self.feed_binary(data),
        }
    }

    fn feed_binary(&mut self, mut data: &[u8]) {
        loop {
            if self.skip > 0 {
                let k = self.skip.min(data.len());
                self.skip -= k;
                data = &data[k..];
            }
            if data.is_empty() || self.state == BinState::Done {
                return;
            }
            let need = match self.state {
                BinState::Header => 19,
                BinState::Count => 2,
                BinState::Len(_) => 4,
                BinState::Done => return,
            };
            let k = (need - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..k]);
            data = &data[k..];
            if self.partial.len() < need {
                return;
            }
            let p = std::mem::take(&mut self.partial);
            match self.state {
                BinState::Header => {
                    self.skip = u32::from_be_bytes([p[15], p[16], p[17], p[18]]) as usize;
                    self.state = BinState::Count;
                }
                BinState::Count => {
                    let c = i16::from_be_bytes([p[0], p[1]]);
                    if c < 0 {
                        self.state = BinState::Done;
                    } else {
                        self.rows += 1;
                        self.state = if c == 0 {
                            BinState::Count
                        } else {
                            BinState::Len(c as u16)
                        };
                    }
                }
                BinState::Len(left) => {
                    let len = i32::from_be_bytes([p[0], p[1], p[2], p[3]]);
                    self.skip = len.max(0) as usize;
                    self.state = if left > 1 {
                        BinState::Len(left - 1)
                    } else {
                        BinState::Count
                    };
                }
                BinState::Done => {}
            }
        }
    }
}

/// A row for [`Database::copy_records_to_table`]: its values in the order of the copied
/// columns. Implemented for `Vec<Value>` and tuples (positional), [`Record`] (by column
/// name; use [`Record::from_serialize`] for any `serde::Serialize` value) and JSON objects or
/// arrays.
pub trait IntoCopyRow {
    /// The row's values for `columns` (the copied columns, in order). A record's field that is
    /// not among them is an error; a column it does not give is NULL.
    fn into_copy_row(self, columns: &[String]) -> Result<Vec<Value>>;
}

impl IntoCopyRow for Vec<Value> {
    fn into_copy_row(self, _columns: &[String]) -> Result<Vec<Value>> {
        Ok(self)
    }
}

impl IntoCopyRow for &[Value] {
    fn into_copy_row(self, _columns: &[String]) -> Result<Vec<Value>> {
        Ok(self.to_vec())
    }
}

impl IntoCopyRow for Record {
    fn into_copy_row(self, columns: &[String]) -> Result<Vec<Value>> {
        let mut out = vec![Value::Null; columns.len()];
        for (name, v) in self.iter() {
            let i = columns.iter().position(|c| c == name).ok_or_else(|| {
                Error::new(
                    crate::ErrorKind::UnknownName,
                    format!(
                        "field {name:?} is not one of the copied columns ({})",
                        columns.join(", ")
                    ),
                )
            })?;
            out[i] = v;
        }
        Ok(out)
    }
}

impl IntoCopyRow for serde_json::Value {
    fn into_copy_row(self, columns: &[String]) -> Result<Vec<Value>> {
        match self {
            serde_json::Value::Object(o) => {
                let mut r = Record::new();
                for (k, v) in o {
                    r.set_json(k, v);
                }
                r.into_copy_row(columns)
            }
            serde_json::Value::Array(a) => {
                let mut r = Record::new();
                for (i, v) in a.into_iter().enumerate() {
                    r.set_json(i.to_string(), v);
                }
                Ok(r.iter().map(|(_, v)| v).collect())
            }
            other => Err(Error::usage(format!(
                "a JSON row must be an object or an array, got {other}"
            ))),
        }
    }
}

macro_rules! tuple_rows {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Into<Value>),+> IntoCopyRow for ($($t,)+) {
            fn into_copy_row(self, _columns: &[String]) -> Result<Vec<Value>> {
                Ok(vec![$(self.$i.into()),+])
            }
        }
    };
}
tuple_rows!(A 0);
tuple_rows!(A 0, B 1);
tuple_rows!(A 0, B 1, C 2);
tuple_rows!(A 0, B 1, C 2, D 3);
tuple_rows!(A 0, B 1, C 2, D 3, E 4);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

fn read_error(target: &str, e: std::io::Error) -> Error {
    Error::from(e).context(format!("COPY into {target}: reading the source failed"))
}

fn write_error(e: std::io::Error) -> Error {
    Error::from(e).context("COPY out: writing the destination failed")
}

impl Database {
    /// Runs `f` on a handle for one COPY: this one, or — in
    /// [`StatementCacheMode::Unnamed`] outside a transaction — a transaction around it, so the
    /// named statement tokio-postgres uses for a COPY lives on one server connection.
    async fn copy_session<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(Database) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if self.inner.opts.cache_mode == StatementCacheMode::Unnamed && !self.is_in_transaction() {
            self.transaction(f).await
        } else {
            f(self.clone()).await
        }
    }

    /// Streams `source` into `sql` (a `COPY ... FROM STDIN`) and reports it to the audit hook.
    async fn copy_in_reader<R>(&self, sql: &str, target: &str, mut source: R) -> Result<u64>
    where
        R: AsyncRead + Unpin + Send,
    {
        let r = self
            .copy_session(|db| async move {
                let conn = db.conn().await?;
                conn.queries.fetch_add(1, Ordering::Relaxed);
                let fut = async {
                    let sink = conn.client.copy_in::<_, Bytes>(sql).await?;
                    futures_util::pin_mut!(sink);
                    let mut buf = BytesMut::with_capacity(CHUNK);
                    loop {
                        if buf.capacity() - buf.len() < CHUNK / 2 {
                            buf.reserve(CHUNK);
                        }
                        // Dropping the unfinished sink (on a read error) aborts the COPY.
                        let k = source
                            .read_buf(&mut buf)
                            .await
                            .map_err(|e| read_error(target, e))?;
                        if k == 0 {
                            break;
                        }
                        if buf.len() >= CHUNK {
                            sink.send(buf.split().freeze()).await?;
                        }
                    }
                    if !buf.is_empty() {
                        sink.send(buf.split().freeze()).await?;
                    }
                    Ok::<u64, Error>(sink.as_mut().finish().await?)
                };
                let t = crate::trace::start(&conn.trace, sql);
                let r = db.timed(&conn, fut).await;
                crate::trace::finish(t, sql, &r, |n| Some(*n));
                r
            })
            .await;
        if self.audit_active() {
            self.emit_audit(AuditKind::Copy, sql, Some(target), r.as_ref().copied());
        }
        r
    }

    /// Streams the output of `sql` (a `COPY ... TO STDOUT`) into `dest`; returns the rows.
    async fn copy_out_writer<W>(
        &self,
        sql: &str,
        opts: &CopyOptions,
        mut dest: W,
        bind: Option<(&str, Vec<Value>, &str)>,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let mut counter = RowCounter::new(opts);
        // The server sends one CopyData message per row: buffer the writes, so a file (or a
        // socket) gets 64 KiB writes instead of one per row.
        let mut dest = tokio::io::BufWriter::with_capacity(CHUNK, &mut dest);
        let dest = &mut dest;
        let counter_ref = &mut counter;
        self.copy_session(|db| async move {
            let conn = db.conn().await?;
            let sql = match bind {
                None => sql.to_string(),
                Some((query, args, clauses)) => {
                    // Learn the parameter types, convert the arguments as a query would, and
                    // write them into the query as typed literals.
                    // Unnamed mode: copy_session opened a transaction, so this short-lived
                    // named statement stays on one server connection (PgBouncer) and is
                    // closed when `stmt` drops, before the transaction ends.
                    let stmt = match conn.mode {
                        crate::StatementCacheMode::Named => conn.prepare(query).await?.stmt,
                        crate::StatementCacheMode::Unnamed => conn.client.prepare(query).await?,
                    };
                    let bound = coerce_args(&stmt, &args)?;
                    let types = stmt.params();
                    let inner = substitute_params(query, |n| {
                        let i = n.checked_sub(1)?;
                        Some(literal(&bound.get(i)?.0, types.get(i)?))
                    })?;
                    format!("COPY ({inner}) TO STDOUT{clauses}")
                }
            };
            conn.queries.fetch_add(1, Ordering::Relaxed);
            let fut = async {
                let stream = conn.client.copy_out(sql.as_str()).await?;
                futures_util::pin_mut!(stream);
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    counter_ref.feed(&chunk);
                    dest.write_all(&chunk).await.map_err(write_error)?;
                }
                dest.flush().await.map_err(write_error)?;
                Ok::<(), Error>(())
            };
            let t = crate::trace::start(&conn.trace, &sql);
            let r = db.timed(&conn, fut).await;
            crate::trace::finish(t, &sql, &r, |_| None);
            r
        })
        .await?;
        Ok(counter.rows())
    }

    /// Copies data from `source` into a table (asyncpg's `copy_to_table` with a file object)
    /// and returns the number of rows copied. `source` is read in 64 KiB chunks and streamed
    /// to the server; it must be in the format of `opts` (text by default). Atomic: a bad row
    /// or a read error leaves the table unchanged, and the error names the line and column.
    ///
    /// `table` is one identifier, quoted as given; its schema is
    /// [`CopyOptions::schema_name`].
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::CopyOptions;
    /// let csv: &[u8] = b"id,name\n1,Ann\n2,\"Bob, Jr.\"\n";
    /// let n = db.copy_to_table("person", csv, &CopyOptions::csv().header(true)).await?;
    /// assert_eq!(n, 2);
    /// # Ok(()) }
    /// ```
    pub async fn copy_to_table<R>(&self, table: &str, source: R, opts: &CopyOptions) -> Result<u64>
    where
        R: AsyncRead + Unpin + Send,
    {
        let sql = opts.copy_in_sql(table, "copy_to_table")?;
        self.copy_in_reader(&sql, &opts.target(table), source).await
    }

    /// [`copy_to_table`](Self::copy_to_table) from the file at `path`.
    pub async fn copy_to_table_from_path(
        &self,
        table: &str,
        path: impl AsRef<Path>,
        opts: &CopyOptions,
    ) -> Result<u64> {
        let sql = opts.copy_in_sql(table, "copy_to_table")?;
        let path = path.as_ref();
        let f = tokio::fs::File::open(path).await.map_err(|e| {
            Error::from(e).context(format!("copy_to_table: cannot open {}", path.display()))
        })?;
        self.copy_in_reader(&sql, &opts.target(table), f).await
    }

    /// Copies a table's rows into `dest` (asyncpg's `copy_from_table`) and returns the number
    /// of rows. Streamed in the chunks the server sends: a table of any size goes through
    /// bounded memory. `dest` is flushed at the end (not shut down).
    pub async fn copy_from_table<W>(&self, table: &str, dest: W, opts: &CopyOptions) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let sql = opts.copy_out_table_sql(table, "copy_from_table")?;
        self.copy_out_writer(&sql, opts, dest, None).await
    }

    /// [`copy_from_table`](Self::copy_from_table) into the file at `path` (created or
    /// truncated).
    pub async fn copy_from_table_to_path(
        &self,
        table: &str,
        path: impl AsRef<Path>,
        opts: &CopyOptions,
    ) -> Result<u64> {
        let sql = opts.copy_out_table_sql(table, "copy_from_table")?;
        let f = create_file(path.as_ref(), "copy_from_table").await?;
        self.copy_out_writer(&sql, opts, f, None).await
    }

    /// Copies the result of a query into `dest` (asyncpg's `copy_from_query`) and returns the
    /// number of rows. Placeholders (`$n`, `?`, `:name`) work as in [`fetch`](Self::fetch):
    /// since `COPY` takes no parameters, the query is prepared to learn their types and each
    /// argument, converted to its parameter's type, is written into the query as an escaped
    /// literal with an explicit cast (see the [module docs](crate::copy)).
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::{args, CopyOptions};
    /// let mut out = Vec::new();
    /// let n = db
    ///     .copy_from_query("SELECT * FROM person WHERE name = ?", args!["O'Brien"], &mut out, &CopyOptions::csv())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_from_query<W>(
        &self,
        sql: &str,
        args: impl IntoArgs,
        dest: W,
        opts: &CopyOptions,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let (csql, args) = Self::prepare_sql(sql, args)?;
        let c = opts.clauses(Dir::OutQuery, "copy_from_query")?;
        let query = csql.trim().trim_end_matches(';');
        if args.is_empty() {
            let copy = format!("COPY ({query}) TO STDOUT{c}");
            self.copy_out_writer(&copy, opts, dest, None).await
        } else {
            // The COPY statement is built once the arguments are rendered.
            self.copy_out_writer("", opts, dest, Some((query, args, &c)))
                .await
        }
    }

    /// [`copy_from_query`](Self::copy_from_query) into the file at `path` (created or
    /// truncated).
    pub async fn copy_from_query_to_path(
        &self,
        sql: &str,
        args: impl IntoArgs,
        path: impl AsRef<Path>,
        opts: &CopyOptions,
    ) -> Result<u64> {
        opts.clauses(Dir::OutQuery, "copy_from_query")?;
        let f = create_file(path.as_ref(), "copy_from_query").await?;
        self.copy_from_query(sql, args, f, opts).await
    }

    /// Copies rows into a table with `COPY` (asyncpg's `copy_records_to_table`) and returns
    /// the number of rows. `records` is any iterator of [`IntoCopyRow`] values:
    /// `Vec<Value>` or tuples (in the order of the columns), [`Record`]s or JSON objects (by
    /// column name; a column a record leaves out is NULL — use
    /// [`Table::inserts`] to get column defaults).
    ///
    /// The columns are [`CopyOptions::columns`], or every column that is not generated. Each
    /// value is converted to its column's type before it is sent (a value that does not fit
    /// fails naming the record and column, and nothing is written). Rows are encoded and sent
    /// in 64 KiB chunks as the iterator yields them. Only `columns`, `schema_name` and
    /// `where_` apply. Atomic.
    ///
    /// The rows travel in binary format, unless the first record holds a value that only has a
    /// text form (JSON or serde fields, [`Value::Literal`]): then the whole COPY uses text
    /// format and the server parses each value as its column's type. A later record with such
    /// a value in a binary COPY is an error (nothing is written).
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::CopyOptions;
    /// let rows = (1..=3).map(|i| (i, format!("cat {i}")));
    /// let n = db
    ///     .copy_records_to_table("cat", rows, &CopyOptions::new().columns(["id", "name"]))
    ///     .await?;
    /// assert_eq!(n, 3);
    /// # Ok(()) }
    /// ```
    pub async fn copy_records_to_table<I>(
        &self,
        table: &str,
        records: I,
        opts: &CopyOptions,
    ) -> Result<u64>
    where
        I: IntoIterator,
        I::Item: IntoCopyRow,
    {
        let clauses = opts.clauses(Dir::Records, "copy_records_to_table")?;
        let target = opts.target(table);
        let mut records = records.into_iter();
        let records = &mut records;
        let target_ref = &target;
        let clauses_ref = &clauses;
        let mut audit_sql = String::new();
        let audit_ref = &mut audit_sql;
        let r = self
            .copy_session(|db| async move {
                let conn = db.conn().await?;
                let columns: Vec<String> = match &opts.columns {
                    Some(c) if !c.is_empty() => c.clone(),
                    _ => {
                        let rows = conn
                            .query(
                                "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass \
                                 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                                &[Value::from(target_ref.as_str())],
                            )
                            .await?
                            .1;
                        rows.iter()
                            .map(|r| r.try_get::<_, String>(0))
                            .collect::<std::result::Result<_, _>>()?
                    }
                };
                let col_list = ident_list(&columns);
                let probe = format!("SELECT {col_list} FROM {target_ref}");
                // Unnamed mode: inside copy_session's transaction (see copy_out_writer).
                let stmt = match conn.mode {
                    crate::StatementCacheMode::Named => conn.prepare(&probe).await?.stmt,
                    crate::StatementCacheMode::Unnamed => conn.client.prepare(&probe).await?,
                };
                let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
                drop(stmt);
                let ctx = |k: usize| {
                    move |e: Error| {
                        e.context(format!("copy_records_to_table into {target_ref}, record {}", k + 1))
                    }
                };
                // The first record decides the format: binary, unless one of its values only
                // has a text form (JSON / serde fields, literals), which the server parses.
                let first = match records.next() {
                    Some(rec) => Some(
                        rec.into_copy_row(&columns)
                            .and_then(|v| convert_row(v, &columns, &types))
                            .map_err(ctx(0))?,
                    ),
                    None => None,
                };
                let binary = first
                    .as_ref()
                    .map_or(true, |r| !r.iter().any(Value::needs_text_format));
                let sql = format!(
                    "COPY {target_ref} ({col_list}) FROM STDIN{}{clauses_ref}",
                    if binary { " WITH (FORMAT binary)" } else { "" }
                );
                *audit_ref = sql.clone();
                conn.queries.fetch_add(1, Ordering::Relaxed);
                let fut = async {
                    let sink = conn.client.copy_in::<_, Bytes>(sql.as_str()).await?;
                    futures_util::pin_mut!(sink);
                    let mut buf = BytesMut::with_capacity(CHUNK + 4096);
                    if binary {
                        buf.put_slice(BINARY_HEADER);
                    }
                    let rest = records.map(|rec| rec.into_copy_row(&columns));
                    for (k, vals) in first.map(Ok).into_iter().chain(rest).enumerate() {
                        // Dropping the unfinished sink (on an error) aborts the COPY.
                        let vals = vals.map_err(ctx(k))?;
                        if binary {
                            encode_binary(&mut buf, &vals, &columns, &types).map_err(ctx(k))?;
                        } else {
                            let vals = convert_row(vals, &columns, &types).map_err(ctx(k))?;
                            encode_text(&mut buf, &vals);
                        }
                        if buf.len() >= CHUNK {
                            sink.send(buf.split().freeze()).await?;
                            buf.reserve(CHUNK + 4096);
                        }
                    }
                    if binary {
                        buf.put_i16(-1);
                    }
                    if !buf.is_empty() {
                        sink.send(buf.split().freeze()).await?;
                    }
                    Ok::<u64, Error>(sink.as_mut().finish().await?)
                };
                let t = crate::trace::start(&conn.trace, &sql);
                let r = db.timed(&conn, fut).await;
                crate::trace::finish(t, &sql, &r, |n| Some(*n));
                r
            })
            .await;
        if self.audit_active() {
            let sql = if audit_sql.is_empty() {
                format!("COPY {target} FROM STDIN{clauses}")
            } else {
                audit_sql
            };
            self.emit_audit(AuditKind::Copy, &sql, Some(&target), r.as_ref().copied());
        }
        r
    }
}

/// Checks the number of values and converts each to its column's type.
fn convert_row(vals: Vec<Value>, cols: &[String], types: &[Type]) -> Result<Vec<Value>> {
    check_len(&vals, cols)?;
    let mut out = Vec::with_capacity(vals.len());
    for (i, (v, ty)) in vals.into_iter().zip(types).enumerate() {
        let converted = match v.coerce_to(ty) {
            Ok(std::borrow::Cow::Owned(c)) => Some(c),
            Ok(std::borrow::Cow::Borrowed(_)) => None,
            Err(msg) => return Err(column_err(cols, i, &msg)),
        };
        out.push(converted.unwrap_or(v));
    }
    Ok(out)
}

fn check_len(vals: &[Value], cols: &[String]) -> Result<()> {
    if vals.len() != cols.len() {
        return Err(Error::bind(format!(
            "{} values given for {} columns ({})",
            vals.len(),
            cols.len(),
            cols.join(", ")
        )));
    }
    Ok(())
}

fn column_err(cols: &[String], i: usize, msg: &str) -> Error {
    Error::bind(format!("column {}: {msg}", quote_ident(&cols[i])))
}

/// Converts values to their columns' types and appends them as one binary COPY row, in one
/// pass: values already of their column's type are written as they are (converting every row
/// into a new vector first, then pairing it with positions for the encoder, was two
/// allocations and a type check per value more; callgrind of 100,000 dict rows from Python).
fn encode_binary(
    buf: &mut BytesMut,
    vals: &[Value],
    cols: &[String],
    types: &[Type],
) -> Result<()> {
    check_len(vals, cols)?;
    let n = i16::try_from(vals.len()).map_err(|_| Error::bind("too many columns for COPY"))?;
    buf.put_i16(n);
    for (i, (v, ty)) in vals.iter().zip(types).enumerate() {
        let v = if crate::table::encodes_directly(v, ty) {
            std::borrow::Cow::Borrowed(v)
        } else {
            v.coerce_to(ty).map_err(|msg| column_err(cols, i, &msg))?
        };
        if v.needs_text_format() {
            return Err(Error::bind(format!(
                "column {}: a value with only a text form (JSON, literal) after records with typed \
                 values: this binary COPY cannot take it; give typed values, or text-only values \
                 from the first record on",
                quote_ident(&cols[i])
            )));
        }
        crate::table::encode_binary_field(buf, &v, ty)
            .map_err(|e| column_err(cols, i, &e.to_string()))?;
    }
    Ok(())
}

/// Appends values as one COPY text-format row: tab-separated, `\N` for NULL, backslash,
/// tab, newline and carriage return escaped.
fn encode_text(buf: &mut BytesMut, vals: &[Value]) {
    for (j, v) in vals.iter().enumerate() {
        if j > 0 {
            buf.put_u8(b'\t');
        }
        if v.is_null() {
            buf.put_slice(b"\\N");
            continue;
        }
        for &b in v.to_string().as_bytes() {
            match b {
                b'\\' => buf.put_slice(b"\\\\"),
                b'\t' => buf.put_slice(b"\\t"),
                b'\n' => buf.put_slice(b"\\n"),
                b'\r' => buf.put_slice(b"\\r"),
                b => buf.put_u8(b),
            }
        }
    }
    buf.put_u8(b'\n');
}

async fn create_file(path: &Path, what: &str) -> Result<tokio::fs::File> {
    tokio::fs::File::create(path)
        .await
        .map_err(|e| Error::from(e).context(format!("{what}: cannot create {}", path.display())))
}

impl Table {
    /// Copies this table's rows into `dest`: [`Database::copy_from_table`] with this table's
    /// name and schema.
    pub async fn copy_from<W>(&self, dest: W, opts: &CopyOptions) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        self.check_unscoped("copy_from")?;
        let o = opts.clone().schema_name(self.meta.schema.clone());
        self.db.copy_from_table(&self.meta.name, dest, &o).await
    }

    /// Copies data from `source` into this table: [`Database::copy_to_table`] with this
    /// table's name and schema.
    pub async fn copy_to<R>(&self, source: R, opts: &CopyOptions) -> Result<u64>
    where
        R: AsyncRead + Unpin + Send,
    {
        self.writable("copy_to")?;
        self.check_unscoped("copy_to")?;
        let o = opts.clone().schema_name(self.meta.schema.clone());
        self.db.copy_to_table(&self.meta.name, source, &o).await
    }

    fn check_unscoped(&self, what: &str) -> Result<()> {
        if self.scope.is_empty() {
            Ok(())
        } else {
            Err(Error::usage(format!(
                "{what}: COPY cannot apply the scope of a handle from xtra(); use the unscoped table"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b'c"), "E'a\\\\b''c'");
        assert_eq!(
            literal(&Value::Null, &Type::INT4),
            "(NULL::\"pg_catalog\".\"int4\")"
        );
    }

    #[test]
    fn params_are_replaced_outside_literals_only() {
        let s = substitute_params(
            "SELECT $1, '$1', E'\\'$1', \"$1\", $$ $1 $$, $a$ $1 $a$, a$1, $2 -- $1\n/* $1 /* $1 */ */ $10",
            |n| Some(format!("<{n}>")),
        )
        .unwrap();
        assert_eq!(
            s,
            "SELECT <1>, '$1', E'\\'$1', \"$1\", $$ $1 $$, $a$ $1 $a$, a$1, <2> -- $1\n/* $1 /* $1 */ */ <10>"
        );
    }

    #[test]
    fn options_render_and_validate() {
        let o = CopyOptions::csv()
            .header(true)
            .delimiter(";")
            .null("\\N")
            .quote("'")
            .force_null(["a\"b"]);
        assert_eq!(
            o.copy_in_sql("t\"x", "w").unwrap(),
            "COPY \"t\"\"x\" FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL E'\\\\N', HEADER true, QUOTE '''', FORCE_NULL (\"a\"\"b\"))"
        );
        let e = CopyOptions::text()
            .quote("'")
            .copy_in_sql("t", "w")
            .unwrap_err();
        assert!(
            e.to_string().contains("option quote needs format csv"),
            "{e}"
        );
        let e = CopyOptions::csv()
            .force_quote(ForceQuote::All)
            .copy_in_sql("t", "w")
            .unwrap_err();
        assert!(e.to_string().contains("force_quote"), "{e}");
        let e = CopyOptions::binary()
            .header(true)
            .copy_out_table_sql("t", "w")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("header is not allowed with format binary"),
            "{e}"
        );
        let e = CopyOptions::new()
            .where_("a > 1")
            .copy_out_table_sql("t", "w")
            .unwrap_err();
        assert!(e.to_string().contains("where"), "{e}");
        let e = CopyOptions::csv()
            .delimiter("ab")
            .copy_in_sql("t", "w")
            .unwrap_err();
        assert!(e.to_string().contains("delimiter must be a single"), "{e}");
    }

    #[test]
    fn counts_rows_in_every_format() {
        let mut c = RowCounter::new(&CopyOptions::csv().header(true));
        for part in [&b"a,b\n1,\"x\n"[..], b"y\"\n2,\"\"\"\"\n"] {
            c.feed(part);
        }
        assert_eq!(c.rows(), 2);
        // Binary: header, a 2-field row, a 1-field NULL row, the trailer, fed byte by byte.
        let mut data = BINARY_HEADER.to_vec();
        data.extend_from_slice(&2i16.to_be_bytes());
        data.extend_from_slice(&4i32.to_be_bytes());
        data.extend_from_slice(&7i32.to_be_bytes());
        data.extend_from_slice(&1i32.to_be_bytes());
        data.push(b'x');
        data.extend_from_slice(&1i16.to_be_bytes());
        data.extend_from_slice(&(-1i32).to_be_bytes());
        data.extend_from_slice(&(-1i16).to_be_bytes());
        let mut c = RowCounter::new(&CopyOptions::binary());
        for b in &data {
            c.feed(std::slice::from_ref(b));
        }
        assert_eq!(c.rows(), 2);
    }
}
