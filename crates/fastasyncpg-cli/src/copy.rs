//! `fastasyncpg load` and `fastasyncpg export`: files in and out of tables through COPY.
//!
//! A load runs in one transaction (CREATE / TRUNCATE / COPY): a bad row leaves the database as
//! it was and the error names the line. Both commands end with one summary line on stderr, and
//! show a progress bar only when stderr is a terminal.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use fastasyncpg::sql::quote_ident;
use fastasyncpg::types::chrono::{DateTime, NaiveDate, NaiveDateTime};
use fastasyncpg::{CopyFormat, CopyOptions, Database, Error, IntoCopyRow, Value};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The data format of `load` and `export`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DataFormat {
    /// CSV (`,`-separated, `"`-quoted; empty unquoted fields are NULL).
    Csv,
    /// PostgreSQL's text format (tab-separated, `\N` is NULL, backslash escapes).
    Text,
    /// Tab-separated CSV (quoted fields allowed).
    Tsv,
    /// One JSON object per line, keyed by column name.
    Jsonl,
}

/// Flags shared by `load` and `export`.
pub(crate) struct DataOptions {
    pub(crate) format: DataFormat,
    pub(crate) header: bool,
    pub(crate) delimiter: Option<String>,
    pub(crate) null: Option<String>,
    pub(crate) columns: Vec<String>,
}

impl DataOptions {
    fn copy_options(&self) -> CopyOptions {
        let mut o = match self.format {
            DataFormat::Csv => CopyOptions::csv(),
            DataFormat::Tsv => CopyOptions::csv().delimiter("\t"),
            DataFormat::Text | DataFormat::Jsonl => CopyOptions::text(),
        };
        if self.header {
            o = o.header(true);
        }
        if let Some(d) = &self.delimiter {
            o = o.delimiter(d.clone());
        }
        if let Some(n) = &self.null {
            o = o.null(n.clone());
        }
        if !self.columns.is_empty() {
            o = o.columns(self.columns.clone());
        }
        o
    }

    fn delimiter_byte(&self) -> u8 {
        match (&self.delimiter, self.format) {
            (Some(d), _) => d.as_bytes().first().copied().unwrap_or(b','),
            (None, DataFormat::Csv) => b',',
            _ => b'\t',
        }
    }

    /// The string that stands for NULL in the input.
    fn null_token(&self) -> &str {
        match (&self.null, self.format) {
            (Some(n), _) => n,
            (None, DataFormat::Text) => "\\N",
            _ => "",
        }
    }
}

type BoxError = Box<dyn std::error::Error>;

/// `schema.table` → (`Some(schema)`, `table`); the parts are taken as written.
fn split_table(name: &str) -> (Option<&str>, &str) {
    match name.split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() => (Some(s), t),
        _ => (None, name),
    }
}

fn quoted_table(name: &str) -> String {
    match split_table(name) {
        (Some(s), t) => format!("{}.{}", quote_ident(s), quote_ident(t)),
        (None, t) => quote_ident(t),
    }
}

fn progress(total: Option<u64>, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {bytes}/{total_bytes} {msg} {elapsed} ({bytes_per_sec})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {msg} {elapsed} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(format!("{what}: 0 rows"));
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

fn summary(verb: &str, rows: u64, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
    eprintln!("{verb} {rows} rows in {secs:.2} s ({rate:.0} rows/s)");
}

/// Counts the bytes and lines read through it and shows them on the progress bar.
struct Counted<R> {
    inner: R,
    bar: Option<ProgressBar>,
    lines: u64,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            let k = new.len() as u64;
            let lines = new.iter().filter(|&&c| c == b'\n').count() as u64;
            self.lines += lines;
            if let Some(b) = &self.bar {
                b.inc(k);
                b.set_message(format!("loading: ~{} rows", self.lines));
            }
        }
        r
    }
}

/// Counts bytes written through it on the progress bar.
struct CountedWrite<W> {
    inner: W,
    bar: Option<ProgressBar>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for CountedWrite<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let (Poll::Ready(Ok(k)), Some(b)) = (&r, &self.bar) {
            b.inc(*k as u64);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The sampled first rows are inferred from at most this many rows (or this many bytes).
const SAMPLE_ROWS: usize = 1000;
const SAMPLE_BYTES: usize = 1 << 20;

/// `fastasyncpg load TABLE FILE|-`.
pub(crate) async fn load(
    db: &Database,
    table: &str,
    file: &str,
    opts: &DataOptions,
    create: bool,
    truncate: bool,
) -> Result<(), BoxError> {
    let started = Instant::now();
    let (schema, name) = split_table(table);
    if opts.format == DataFormat::Jsonl {
        return load_jsonl(db, table, file, opts, create, truncate, started).await;
    }
    let mut copy = opts.copy_options();
    if let Some(s) = schema {
        copy = copy.schema_name(s);
    }
    let (mut source, total): (Box<dyn AsyncRead + Unpin + Send>, Option<u64>) = if file == "-" {
        (Box::new(tokio::io::stdin()), None)
    } else {
        let f = tokio::fs::File::open(file)
            .await
            .map_err(|e| format!("cannot open {file}: {e}"))?;
        let len = f.metadata().await.ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let mut create_sql = None;
    if create {
        // Read a prefix to infer the columns from, then send it ahead of the rest.
        let mut prefix = Vec::with_capacity(SAMPLE_BYTES);
        (&mut source)
            .take(SAMPLE_BYTES as u64)
            .read_to_end(&mut prefix)
            .await
            .map_err(|e| format!("cannot read {file}: {e}"))?;
        let complete = prefix.len() < SAMPLE_BYTES;
        create_sql = Some(create_table_sql(table, &prefix, complete, opts)?);
        source = Box::new(AsyncReadExt::chain(std::io::Cursor::new(prefix), source));
    }
    let bar = progress(total, "loading");
    let reader = Counted {
        inner: source,
        bar: bar.clone(),
        lines: 0,
    };
    let tx = db.begin().await?;
    let r = async {
        if let Some(sql) = &create_sql {
            tx.execute(sql, ()).await?;
        }
        if truncate {
            tx.execute(&format!("TRUNCATE {}", quoted_table(table)), ())
                .await?;
        }
        tx.copy_to_table(name, reader, &copy).await
    }
    .await;
    finish_load(tx, r, bar.as_ref(), table, started).await
}

/// Ends a load: commits and prints the summary, or rolls back and says nothing was changed.
async fn finish_load(
    tx: fastasyncpg::Transaction,
    r: fastasyncpg::Result<u64>,
    bar: Option<&ProgressBar>,
    table: &str,
    started: Instant,
) -> Result<(), BoxError> {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match r {
        Ok(n) => {
            tx.commit().await?;
            summary(&format!("loaded into {table}:"), n, started);
            Ok(())
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(format!("load into {table} failed, nothing was changed: {e}").into())
        }
    }
}

/// A value's SQL type, as far as a sample of its text can tell.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Guess {
    Bigint,
    Numeric,
    Double,
    Boolean,
    Date,
    Timestamptz,
    Jsonb,
    Text,
}

impl Guess {
    fn sql(self) -> &'static str {
        match self {
            Guess::Bigint => "bigint",
            Guess::Numeric => "numeric",
            Guess::Double => "double precision",
            Guess::Boolean => "boolean",
            Guess::Date => "date",
            Guess::Timestamptz => "timestamptz",
            Guess::Jsonb => "jsonb",
            Guess::Text => "text",
        }
    }
}

/// The candidates one value allows, most specific first.
fn candidates(v: &str) -> Vec<Guess> {
    let v = v.trim();
    let mut c = Vec::new();
    let numeric_like = {
        let s = v.strip_prefix(['+', '-']).unwrap_or(v);
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        !s.is_empty()
            && s != "."
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    if v.parse::<i64>().is_ok() {
        c.push(Guess::Bigint);
    }
    if numeric_like {
        c.push(Guess::Numeric);
    }
    if v.parse::<f64>().is_ok() {
        c.push(Guess::Double);
    }
    if ["true", "false", "t", "f", "yes", "no"]
        .iter()
        .any(|b| v.eq_ignore_ascii_case(b))
    {
        c.push(Guess::Boolean);
    }
    let date = NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok();
    if date {
        c.push(Guess::Date);
    }
    let ts = date
        || DateTime::parse_from_rfc3339(v).is_ok()
        || DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f%#z").is_ok()
        || NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").is_ok();
    if ts {
        c.push(Guess::Timestamptz);
    }
    c.push(Guess::Text);
    c
}

/// Narrows a column's guess with one more value; `None` is "no value yet".
fn narrow(cur: Option<Vec<Guess>>, v: &str) -> Option<Vec<Guess>> {
    let c = candidates(v);
    Some(match cur {
        None => c,
        Some(cur) => cur.into_iter().filter(|g| c.contains(g)).collect(),
    })
}

fn best(c: &Option<Vec<Guess>>) -> Guess {
    c.as_ref()
        .and_then(|c| c.first().copied())
        .unwrap_or(Guess::Text)
}

/// `CREATE TABLE` for the columns of a CSV / text sample (the header, or `--columns`).
fn create_table_sql(
    table: &str,
    prefix: &[u8],
    complete: bool,
    opts: &DataOptions,
) -> Result<String, BoxError> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(opts.delimiter_byte())
        .quoting(opts.format != DataFormat::Text)
        .from_reader(prefix);
    let mut records = rd.records();
    let mut names: Vec<String> = opts.columns.clone();
    if opts.header {
        let h = match records.next() {
            Some(h) => h.map_err(|e| format!("cannot read the header: {e}"))?,
            None => return Err("--create: the input is empty (no header)".into()),
        };
        if names.is_empty() {
            names = h.iter().map(str::to_string).collect();
        }
    }
    if names.is_empty() {
        return Err("--create needs column names: a header line (--header) or --columns".into());
    }
    let null = opts.null_token();
    let mut guesses: Vec<Option<Vec<Guess>>> = vec![None; names.len()];
    let mut sampled: Vec<csv::StringRecord> = Vec::new();
    for r in records.by_ref().take(SAMPLE_ROWS + 1) {
        match r {
            Ok(r) => sampled.push(r),
            Err(_) => break, // a row cut by the sample's end, or one the server will reject
        }
    }
    // The last record of an incomplete sample may be cut short.
    if !complete {
        sampled.pop();
    }
    for r in sampled.iter().take(SAMPLE_ROWS) {
        for (i, v) in r.iter().enumerate().take(names.len()) {
            if v != null {
                guesses[i] = narrow(guesses[i].take(), v);
            }
        }
    }
    let cols: Vec<String> = names
        .iter()
        .zip(&guesses)
        .map(|(n, g)| format!("{} {}", quote_ident(n), best(g).sql()))
        .collect();
    Ok(format!(
        "CREATE TABLE {} ({})",
        quoted_table(table),
        cols.join(", ")
    ))
}

/// One line of a JSONL file, parsed, with its line number.
struct JsonLine {
    line: u64,
    value: Result<serde_json::Value, String>,
}

impl IntoCopyRow for JsonLine {
    fn into_copy_row(self, columns: &[String]) -> fastasyncpg::Result<Vec<Value>> {
        let line = self.line;
        let fail =
            |msg: String| Error::new(fastasyncpg::ErrorKind::Usage, format!("line {line}: {msg}"));
        match self.value.map_err(fail)? {
            v @ serde_json::Value::Object(_) => v
                .into_copy_row(columns)
                .map_err(|e| fail(e.message().to_string())),
            other => Err(fail(format!("expected a JSON object, got {other}"))),
        }
    }
}

/// Reads JSONL lines one by one (blocking reads, fine for a command line tool).
struct JsonLines {
    rd: Box<dyn BufRead + Send>,
    line: u64,
    pending: std::collections::VecDeque<(u64, String)>,
    bar: Option<ProgressBar>,
    rows: u64,
}

impl JsonLines {
    fn next_raw(&mut self) -> Option<(u64, Result<String, String>)> {
        if let Some((n, s)) = self.pending.pop_front() {
            return Some((n, Ok(s)));
        }
        let mut s = String::new();
        self.line += 1;
        match self.rd.read_line(&mut s) {
            Ok(0) => None,
            Ok(k) => {
                if let Some(b) = &self.bar {
                    b.inc(k as u64);
                }
                Some((self.line, Ok(s)))
            }
            Err(e) => Some((self.line, Err(format!("cannot read: {e}")))),
        }
    }
}

impl Iterator for JsonLines {
    type Item = JsonLine;
    fn next(&mut self) -> Option<JsonLine> {
        let (line, s) = self.next_raw()?;
        self.rows += 1;
        if let Some(b) = &self.bar {
            if self.rows % 1000 == 0 {
                b.set_message(format!("loading: {} rows", self.rows));
            }
        }
        let value = s.and_then(|s| {
            if s.trim().is_empty() {
                return Err("empty line (expected a JSON object)".to_string());
            }
            serde_json::from_str(&s).map_err(|e| format!("not valid JSON: {e}"))
        });
        Some(JsonLine { line, value })
    }
}

/// A JSON value's text for type inference; `None` for null, `Err(())` for objects and arrays.
fn json_text(v: &serde_json::Value) -> Option<Result<String, ()>> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Ok(s.clone())),
        serde_json::Value::Number(n) => Some(Ok(n.to_string())),
        serde_json::Value::Bool(b) => Some(Ok(b.to_string())),
        _ => Some(Err(())),
    }
}

async fn load_jsonl(
    db: &Database,
    table: &str,
    file: &str,
    opts: &DataOptions,
    create: bool,
    truncate: bool,
    started: Instant,
) -> Result<(), BoxError> {
    if opts.header || opts.delimiter.is_some() || opts.null.is_some() {
        return Err("--header, --delimiter and --null do not apply to --format jsonl".into());
    }
    let (schema, name) = split_table(table);
    let (rd, total): (Box<dyn BufRead + Send>, Option<u64>) = if file == "-" {
        (Box::new(std::io::BufReader::new(std::io::stdin())), None)
    } else {
        let f = std::fs::File::open(file).map_err(|e| format!("cannot open {file}: {e}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(std::io::BufReader::with_capacity(1 << 16, f)), len)
    };
    let bar = progress(total, "loading");
    let mut lines = JsonLines {
        rd,
        line: 0,
        pending: Default::default(),
        bar: bar.clone(),
        rows: 0,
    };
    let mut columns = opts.columns.clone();
    let mut create_sql = None;
    if create {
        // Sample the first lines for the columns (keys, in order of appearance) and types.
        let mut guesses: Vec<(String, Option<Vec<Guess>>, bool)> = Vec::new();
        let mut line = 0;
        while lines.pending.len() < SAMPLE_ROWS {
            let mut s = String::new();
            line += 1;
            if lines.rd.read_line(&mut s)? == 0 {
                break;
            }
            if let Ok(serde_json::Value::Object(o)) = serde_json::from_str(&s) {
                for (k, v) in &o {
                    let gi = match guesses.iter().position(|g| g.0 == *k) {
                        Some(i) => i,
                        None => {
                            guesses.push((k.clone(), None, false));
                            guesses.len() - 1
                        }
                    };
                    match json_text(v) {
                        None => {}
                        Some(Ok(t)) => guesses[gi].1 = narrow(guesses[gi].1.take(), &t),
                        Some(Err(())) => guesses[gi].2 = true,
                    }
                }
            }
            lines.pending.push_back((line, s));
        }
        lines.line = line;
        if columns.is_empty() {
            columns = guesses.iter().map(|g| g.0.clone()).collect();
        }
        if columns.is_empty() {
            return Err("--create: no JSON object in the first lines to take columns from".into());
        }
        let defs: Vec<String> = columns
            .iter()
            .map(|c| {
                let g = guesses.iter().find(|g| g.0 == *c);
                let ty = match g {
                    Some((_, _, true)) => Guess::Jsonb,
                    Some((_, g, false)) => best(g),
                    None => Guess::Text,
                };
                format!("{} {}", quote_ident(c), ty.sql())
            })
            .collect();
        create_sql = Some(format!(
            "CREATE TABLE {} ({})",
            quoted_table(table),
            defs.join(", ")
        ));
    }
    let mut copy = CopyOptions::new();
    if let Some(s) = schema {
        copy = copy.schema_name(s);
    }
    if !columns.is_empty() {
        copy = copy.columns(columns);
    }
    let tx = db.begin().await?;
    let r = async {
        if let Some(sql) = &create_sql {
            tx.execute(sql, ()).await?;
        }
        if truncate {
            tx.execute(&format!("TRUNCATE {}", quoted_table(table)), ())
                .await?;
        }
        tx.copy_records_to_table(name, &mut lines, &copy).await
    }
    .await;
    finish_load(tx, r, bar.as_ref(), table, started).await
}

/// Decodes COPY text-format escapes (`\\`, `\n`, `\t`…) on the way to `inner`: turns the text
/// COPY of `row_to_json` into JSON lines.
struct TextUnescape<W> {
    inner: W,
    /// A backslash ended the previous chunk.
    escape: bool,
    out: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for TextUnescape<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // Flush what the last call decoded before taking more.
        if self.as_mut().drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        let mut out = std::mem::take(&mut self.out);
        for &c in buf {
            if self.escape {
                self.escape = false;
                out.push(match c {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'b' => 8,
                    b'f' => 12,
                    b'v' => 11,
                    other => other,
                });
            } else if c == b'\\' {
                self.escape = true;
            } else {
                out.push(c);
            }
        }
        self.out = out;
        // The decoded bytes are written by later calls (or flush): this chunk is taken.
        let _ = self.as_mut().drain(cx)?;
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.as_mut().drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.as_mut().drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<W: AsyncWrite + Unpin> TextUnescape<W> {
    /// Writes out the decoded bytes held.
    fn drain(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.out.is_empty() {
            let this = &mut *self;
            match Pin::new(&mut this.inner).poll_write(cx, &this.out) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()))
                }
                Poll::Ready(Ok(k)) => {
                    this.out.drain(..k);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// `fastasyncpg export (TABLE | --query SQL) [FILE|-]`.
pub(crate) async fn export(
    db: &Database,
    table: Option<&str>,
    query: Option<&str>,
    file: &str,
    opts: &DataOptions,
) -> Result<(), BoxError> {
    let started = Instant::now();
    let (dest, to_file): (Box<dyn AsyncWrite + Unpin + Send>, bool) = if file == "-" {
        (Box::new(tokio::io::stdout()), false)
    } else {
        let f = tokio::fs::File::create(Path::new(file))
            .await
            .map_err(|e| format!("cannot create {file}: {e}"))?;
        (Box::new(f), true)
    };
    let bar = if to_file {
        progress(None, "exporting")
    } else {
        None
    };
    let mut dest = CountedWrite {
        inner: dest,
        bar: bar.clone(),
    };
    let what = match (table, query) {
        (Some(t), None) => t.to_string(),
        (None, Some(_)) => "the query".to_string(),
        _ => return Err("export needs a TABLE or --query SQL (not both)".into()),
    };
    let r = if opts.format == DataFormat::Jsonl {
        if opts.header || opts.delimiter.is_some() || opts.null.is_some() {
            return Err("--header, --delimiter and --null do not apply to --format jsonl".into());
        }
        let inner = match (table, query) {
            (Some(t), _) => {
                let cols = if opts.columns.is_empty() {
                    "*".to_string()
                } else {
                    opts.columns
                        .iter()
                        .map(|c| quote_ident(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("SELECT {cols} FROM {}", quoted_table(t))
            }
            (None, Some(q)) => q.trim().trim_end_matches(';').to_string(),
            _ => unreachable!("checked above"),
        };
        let sql = format!("SELECT row_to_json(fastasyncpg_row) FROM ({inner}) fastasyncpg_row");
        let w = TextUnescape {
            inner: &mut dest,
            escape: false,
            out: Vec::new(),
        };
        db.copy_from_query(&sql, (), w, &CopyOptions::new().format(CopyFormat::Text))
            .await
    } else {
        let copy = opts.copy_options();
        match (table, query) {
            (Some(t), _) => {
                let (schema, name) = split_table(t);
                let copy = match schema {
                    Some(s) => copy.schema_name(s),
                    None => copy,
                };
                db.copy_from_table(name, &mut dest, &copy).await
            }
            (None, Some(q)) => {
                if !opts.columns.is_empty() {
                    return Err("--columns does not apply to --query (select the columns)".into());
                }
                db.copy_from_query(q, (), &mut dest, &copy).await
            }
            _ => unreachable!("checked above"),
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let n = r.map_err(|e| format!("export of {what} failed: {e}"))?;
    summary(&format!("exported from {what}:"), n, started);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_types_from_samples() {
        let g = |vals: &[&str]| {
            let mut c = None;
            for v in vals {
                c = narrow(c, v);
            }
            best(&c)
        };
        assert_eq!(g(&["1", "-20"]), Guess::Bigint);
        assert_eq!(g(&["1", "2.50"]), Guess::Numeric);
        assert_eq!(g(&["1", "2.5e3"]), Guess::Double);
        assert_eq!(g(&["true", "F"]), Guess::Boolean);
        assert_eq!(g(&["2024-02-29"]), Guess::Date);
        assert_eq!(
            g(&["2024-02-29", "2024-02-29 10:00:00+02"]),
            Guess::Timestamptz
        );
        assert_eq!(g(&["1", "x"]), Guess::Text);
        assert_eq!(g(&[]), Guess::Text);
        assert_eq!(g(&["99999999999999999999"]), Guess::Numeric);
    }
}
