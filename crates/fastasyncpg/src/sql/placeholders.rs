//! Placeholder conversion: `?` and `:name` to PostgreSQL's `$n`.
//!
//! PostgreSQL only understands numbered parameters (`$1`, `$2`, …). fastasyncpg also accepts
//! positional `?` placeholders and named `:name` placeholders and rewrites them to `$n` with a
//! small SQL lexer, so text that merely *looks* like a placeholder is never touched.
//!
//! # Rules
//!
//! 1. **Left untouched**: single-quoted strings (`'it''s ?'`), escape strings (`E'\' ?'`,
//!    backslash escapes), `U&'…'`, `B'…'`, `X'…'` and `N'…'` strings, dollar-quoted strings
//!    (`$$…$$`, `$tag$…$tag$`), quoted identifiers (`"a?b"`, `U&"…"`, `""` escapes), line
//!    comments (`-- …`) and block comments, which nest (`/* /* */ */`).
//! 2. **`$n`** is kept as written and takes positional argument *n* (`$1` is the first).
//! 3. **`?`** placeholders are numbered in order of appearance, starting after the highest
//!    explicit `$n` of the text, and take the positional arguments at those numbers:
//!    `id = $1 AND name = ?` becomes `id = $1 AND name = $2`. Numbering continues across
//!    `;`-separated statements.
//! 4. **`:name`** (a letter or `_`, then letters, digits or `_`; non-ASCII letters allowed) is a
//!    named placeholder. Each distinct name gets one number, in order of first appearance,
//!    after all positional numbers (the highest explicit `$n` plus the number of `?`); a
//!    repeated name reuses its number. Not a placeholder: `::` casts (`:x::int` is the
//!    placeholder `:x` cast to `int`) and a `:` inside an array subscript (`a[1:2]`,
//!    `a[lo:hi]`, `a[:hi]`). Inside an array *constructor* (`ARRAY[:a, :b]`) `:name` is a
//!    placeholder. Names match the named arguments exactly (case-sensitive); an argument may be
//!    given as `name` or `:name`.
//! 5. **jsonb operators** stay intact:
//!    - `?|` and `?&` are always operators, except when followed by the same character again:
//!      `?||` is a placeholder followed by `||`, `?&&` a placeholder followed by `&&`;
//!    - `@?` (jsonb path exists) is an operator;
//!    - a bare `?` is the operator when the previous token is an operand — an identifier that
//!      is not one of the keywords below, a quoted identifier, a string or number literal, a
//!      `$n`/`:name` placeholder, `)` or `]` — and a placeholder otherwise (at the start, after
//!      `;`, `=`, `(`, `[`, `,`, any other operator, or a keyword);
//!    - `??` always stands for one literal `?` character (use it for an operator after a
//!      keyword-named column, or to write `?||`);
//!    - the keywords after which `?` is a placeholder: `ALL AND ANY ARRAY AS ASYMMETRIC
//!      BETWEEN BOTH BY CASE DISTINCT DO ELSE ESCAPE EXCEPT EXISTS FETCH FIRST FOR FROM HAVING
//!      ILIKE IN INTERSECT INTO IS LEADING LIKE LIMIT NEXT NOT OFFSET ON OR OVERLAPS PLACING
//!      RETURN RETURNING SELECT SET SIMILAR SOME SYMMETRIC THEN TO TRAILING UNION USING VALUES
//!      VARIADIC WHEN WHERE WITH ZONE` (case-insensitive).
//! 6. **Errors** (kind `Bind`): a `:name` without a named argument; a named argument that no
//!    `:name` uses; fewer or more positional arguments than positional numbers (`?` and `$n`);
//!    a named argument given twice. Each message names the placeholder or argument. An explicit
//!    `$n` above 65535 is a `Usage` error when planning.
//! 7. SQL without `?`, `:` or `$` is returned as is without lexing.
//!
//! [`plan`] does the parsing once and gives a [`Plan`] that can be cached and applied to many
//! argument lists; [`conv_placeholders`] does both at once.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::value::Value;

/// The result of [`conv_placeholders`].
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The SQL with only `$n` placeholders.
    pub sql: String,
    /// The arguments in `$n` order.
    pub args: Vec<Value>,
}

/// Where each `$n` of the converted SQL takes its value from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ArgSource {
    /// The positional argument at this 0-based index.
    Positional(usize),
    /// The named argument with this name (without the leading `:`).
    Named(String),
}

/// A parsed placeholder plan for one SQL text; cheap to apply to many argument lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The SQL with only `$n` placeholders.
    pub sql: String,
    /// The source of `$1`, `$2`, … in order: `sources[n - 1]` feeds `$n`.
    pub sources: Vec<ArgSource>,
    /// True when `sql` is unchanged from the input.
    pub unchanged: bool,
}

/// Converts `?` and `:name` placeholders to `$n` and orders the arguments accordingly.
///
/// See the [module documentation](self) for the rules.
pub fn conv_placeholders(
    sql: &str,
    positional: &[Value],
    named: &[(String, Value)],
) -> Result<Converted> {
    let p = plan(sql)?;
    let args = p.apply(positional, named)?;
    Ok(Converted { sql: p.sql, args })
}

/// Parses the placeholders of `sql` once; apply the plan to arguments with [`Plan::apply`].
pub fn plan(sql: &str) -> Result<Plan> {
    if !has_special(sql.as_bytes()) {
        return Ok(Plan {
            sql: sql.to_owned(),
            sources: Vec::new(),
            unchanged: true,
        });
    }
    let lexed = lex(sql)?;
    let base = lexed.max_explicit;
    let n_positional = base + lexed.questions;
    let mut sources: Vec<ArgSource> = (0..n_positional).map(ArgSource::Positional).collect();
    if lexed.edits.is_empty() {
        return Ok(Plan {
            sql: sql.to_owned(),
            sources,
            unchanged: true,
        });
    }

    let mut names: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(sql.len() + 4 * lexed.edits.len());
    let mut last = 0;
    let mut q = 0;
    for edit in &lexed.edits {
        match *edit {
            Edit::Question(at) => {
                out.push_str(&sql[last..at]);
                q += 1;
                let _ = write!(out, "${}", base + q);
                last = at + 1;
            }
            Edit::Escape(at) => {
                out.push_str(&sql[last..at]);
                out.push('?');
                last = at + 2;
            }
            Edit::Named(at, name) => {
                out.push_str(&sql[last..at]);
                let idx = match names.iter().position(|n| *n == name) {
                    Some(idx) => idx,
                    None => {
                        names.push(name);
                        names.len() - 1
                    }
                };
                let _ = write!(out, "${}", n_positional + idx + 1);
                last = at + 1 + name.len();
            }
        }
    }
    out.push_str(&sql[last..]);
    sources.extend(names.into_iter().map(|n| ArgSource::Named(n.to_owned())));
    Ok(Plan {
        sql: out,
        sources,
        unchanged: false,
    })
}

impl Plan {
    /// The arguments in `$n` order, taken from `positional` and `named`.
    ///
    /// Fails (kind `Bind`) when the positional arguments are fewer or more than the positional
    /// placeholders, when a `:name` has no named argument, when a named argument is not used,
    /// or when a named argument is given twice. Named arguments may be spelled `name` or
    /// `:name`.
    pub fn apply(&self, positional: &[Value], named: &[(String, Value)]) -> Result<Vec<Value>> {
        let needed = self
            .sources
            .iter()
            .filter_map(|s| match s {
                ArgSource::Positional(i) => Some(i + 1),
                ArgSource::Named(_) => None,
            })
            .max()
            .unwrap_or(0);
        let given = positional.len();
        if given < needed {
            return Err(Error::bind(format!(
                "placeholder ${} has no argument: the SQL has {} but {} given",
                given + 1,
                count(needed, "positional placeholder", "positional placeholders"),
                count(
                    given,
                    "positional argument was",
                    "positional arguments were"
                ),
            )));
        }
        if given > needed {
            return Err(Error::bind(format!(
                "too many positional arguments: the SQL has {} but {} given",
                count(needed, "positional placeholder", "positional placeholders"),
                count(
                    given,
                    "positional argument was",
                    "positional arguments were"
                ),
            )));
        }

        for (k, (name, _)) in named.iter().enumerate() {
            let bare = bare_name(name);
            if named[..k].iter().any(|(n, _)| bare_name(n) == bare) {
                return Err(Error::bind(format!(
                    "named argument :{bare} is given twice"
                )));
            }
            let used = self
                .sources
                .iter()
                .any(|s| matches!(s, ArgSource::Named(n) if n == bare));
            if !used {
                return Err(Error::bind(format!(
                    "named argument :{bare} is not used: the SQL has no :{bare} placeholder"
                )));
            }
        }

        let mut out = Vec::with_capacity(self.sources.len());
        for s in &self.sources {
            match s {
                ArgSource::Positional(i) => out.push(positional[*i].clone()),
                ArgSource::Named(name) => match named.iter().find(|(n, _)| bare_name(n) == name) {
                    Some((_, v)) => out.push(v.clone()),
                    None => {
                        return Err(Error::bind(format!(
                            "no named argument for placeholder :{name}"
                        )));
                    }
                },
            }
        }
        Ok(out)
    }
}

/// `"1 thing"` / `"2 things"`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A named argument's name without a leading `:`.
fn bare_name(name: &str) -> &str {
    name.strip_prefix(':').unwrap_or(name)
}

/// True when `b` contains `?`, `:` or `$`, the only bytes that can start a placeholder.
fn has_special(b: &[u8]) -> bool {
    // Branch-free inner loop over chunks so the compiler can vectorise it.
    b.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |acc, &c| {
            acc | (c == b'?') | (c == b':') | (c == b'$')
        })
    })
}

/// One change to make to the SQL text.
enum Edit<'a> {
    /// A `?` placeholder at this byte offset.
    Question(usize),
    /// A `??` escape at this byte offset, written as one `?`.
    Escape(usize),
    /// A `:name` placeholder at this byte offset (of the `:`), with its name.
    Named(usize, &'a str),
}

/// What the lexer found.
struct Lexed<'a> {
    edits: Vec<Edit<'a>>,
    max_explicit: usize,
    questions: usize,
}

/// The kind of the previous significant token, for telling the `?` operator from a placeholder.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// An identifier, literal, placeholder, `)` or `]`: a `?` after it is the jsonb operator.
    Operand,
    /// Anything else (start, keyword, operator, punctuation): a `?` after it is a placeholder.
    Other,
}

/// The highest parameter number PostgreSQL accepts.
const MAX_PARAM: usize = 65535;

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// Identifier characters after the first, without `$` (names of `:name` and dollar tags).
fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The end of the name starting at `i`.
fn name_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_name_char(b[i]) {
        i += 1;
    }
    i
}

/// The end of a string or quoted identifier whose body starts at `i`, closed by `q` with `qq`
/// standing for one `q`. Unterminated: the end of the text.
fn quoted_end(b: &[u8], mut i: usize, q: u8) -> usize {
    while let Some(p) = b[i.min(b.len())..].iter().position(|&c| c == q) {
        let p = i + p;
        if b.get(p + 1) == Some(&q) {
            i = p + 2;
        } else {
            return p + 1;
        }
    }
    b.len()
}

/// The end of an `E'…'` string whose body starts at `i` (backslash escapes, `''`).
fn escape_string_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The end of a block comment whose body starts at `i` (comments nest).
fn block_comment_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 1usize;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// If a dollar-quote opening delimiter (`$$` or `$tag$`) starts at `i`, its end.
fn dollar_tag_end(b: &[u8], i: usize) -> Option<usize> {
    let j = i + 1;
    match b.get(j) {
        Some(b'$') => Some(j + 1),
        Some(&c) if is_ident_start(c) => {
            let k = name_end(b, j);
            (b.get(k) == Some(&b'$')).then_some(k + 1)
        }
        _ => None,
    }
}

/// The end of a dollar-quoted string whose opening delimiter is `b[start..body]`.
fn dollar_string_end(b: &[u8], start: usize, body: usize) -> usize {
    let delim = &b[start..body];
    b[body..]
        .windows(delim.len())
        .position(|w| w == delim)
        .map_or(b.len(), |p| body + p + delim.len())
}

/// True for the keywords after which a `?` is a placeholder (see rule 5).
fn is_keyword(word: &[u8]) -> bool {
    const LONGEST: usize = 10;
    if word.len() < 2 || word.len() > LONGEST {
        return false;
    }
    let mut buf = [0u8; LONGEST];
    let up = &mut buf[..word.len()];
    up.copy_from_slice(word);
    up.make_ascii_uppercase();
    matches!(
        &*up,
        b"ALL"
            | b"AND"
            | b"ANY"
            | b"ARRAY"
            | b"AS"
            | b"ASYMMETRIC"
            | b"BETWEEN"
            | b"BOTH"
            | b"BY"
            | b"CASE"
            | b"DISTINCT"
            | b"DO"
            | b"ELSE"
            | b"ESCAPE"
            | b"EXCEPT"
            | b"EXISTS"
            | b"FETCH"
            | b"FIRST"
            | b"FOR"
            | b"FROM"
            | b"HAVING"
            | b"ILIKE"
            | b"IN"
            | b"INTERSECT"
            | b"INTO"
            | b"IS"
            | b"LEADING"
            | b"LIKE"
            | b"LIMIT"
            | b"NEXT"
            | b"NOT"
            | b"OFFSET"
            | b"ON"
            | b"OR"
            | b"OVERLAPS"
            | b"PLACING"
            | b"RETURN"
            | b"RETURNING"
            | b"SELECT"
            | b"SET"
            | b"SIMILAR"
            | b"SOME"
            | b"SYMMETRIC"
            | b"THEN"
            | b"TO"
            | b"TRAILING"
            | b"UNION"
            | b"USING"
            | b"VALUES"
            | b"VARIADIC"
            | b"WHEN"
            | b"WHERE"
            | b"WITH"
            | b"ZONE"
    )
}

/// One pass over the bytes of `sql`, collecting the edits to make. All the bytes the lexer
/// stops at are ASCII, so every offset it records is a char boundary.
fn lex(sql: &str) -> Result<Lexed<'_>> {
    let b = sql.as_bytes();
    let n = b.len();
    let mut edits = Vec::new();
    let mut max_explicit = 0usize;
    let mut questions = 0usize;
    let mut prev = Prev::Other;
    // Square-bracket nesting; bit d-1 of `subscripts` is set when the bracket at depth d is a
    // subscript (`a[…]`) rather than an array constructor (`ARRAY[…]`). Deeper than 64: subscript.
    let mut depth = 0u32;
    let mut subscripts = 0u64;
    let mut i = 0;
    while i < n {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => i += 1,
            b'-' if next == Some(b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(n, |p| i + p + 1);
            }
            b'/' if next == Some(b'*') => i = block_comment_end(b, i + 2),
            b'\'' | b'"' => {
                i = quoted_end(b, i + 1, c);
                prev = Prev::Operand;
            }
            b'$' => match next {
                Some(d) if d.is_ascii_digit() => {
                    let start = i + 1;
                    let mut j = start;
                    let mut num = 0usize;
                    while j < n && b[j].is_ascii_digit() {
                        num = num
                            .saturating_mul(10)
                            .saturating_add(usize::from(b[j] - b'0'));
                        j += 1;
                    }
                    if num > MAX_PARAM {
                        return Err(Error::usage(format!(
                            "placeholder ${} is out of range: PostgreSQL allows at most ${MAX_PARAM}",
                            &sql[start..j]
                        )));
                    }
                    max_explicit = max_explicit.max(num);
                    i = j;
                    prev = Prev::Operand;
                }
                _ => match dollar_tag_end(b, i) {
                    Some(body) => {
                        i = dollar_string_end(b, i, body);
                        prev = Prev::Operand;
                    }
                    None => {
                        i += 1;
                        prev = Prev::Other;
                    }
                },
            },
            b'0'..=b'9' => {
                i = number_end(b, i);
                prev = Prev::Operand;
            }
            b'.' if next.is_some_and(|d| d.is_ascii_digit()) => {
                i = number_end(b, i + 1);
                prev = Prev::Operand;
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < n && (is_name_char(b[i]) || b[i] == b'$') {
                    i += 1;
                }
                prev = Prev::Operand;
                if i - start == 1 {
                    // String prefixes: E'…', B'…', X'…', N'…', U&'…', U&"…".
                    match (c.to_ascii_uppercase(), b.get(i), b.get(i + 1)) {
                        (b'E', Some(b'\''), _) => {
                            i = escape_string_end(b, i + 1);
                            continue;
                        }
                        (b'B' | b'X' | b'N', Some(b'\''), _) => {
                            i = quoted_end(b, i + 1, b'\'');
                            continue;
                        }
                        (b'U', Some(b'&'), Some(&q @ (b'\'' | b'"'))) => {
                            i = quoted_end(b, i + 2, q);
                            continue;
                        }
                        _ => {}
                    }
                }
                if is_keyword(&b[start..i]) {
                    prev = Prev::Other;
                }
            }
            b'[' => {
                depth += 1;
                if depth <= 64 {
                    let bit = 1u64 << (depth - 1);
                    if prev == Prev::Operand {
                        subscripts |= bit;
                    } else {
                        subscripts &= !bit;
                    }
                }
                i += 1;
                prev = Prev::Other;
            }
            b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
                prev = Prev::Operand;
            }
            b')' => {
                i += 1;
                prev = Prev::Operand;
            }
            b';' => {
                depth = 0;
                i += 1;
                prev = Prev::Other;
            }
            b':' => match next {
                Some(b':') => {
                    i += 2;
                    prev = Prev::Other;
                }
                Some(s)
                    if is_ident_start(s)
                        && !(depth > 64
                            || (depth > 0 && subscripts & (1u64 << (depth - 1)) != 0)) =>
                {
                    let end = name_end(b, i + 1);
                    edits.push(Edit::Named(i, &sql[i + 1..end]));
                    i = end;
                    prev = Prev::Operand;
                }
                _ => {
                    i += 1;
                    prev = Prev::Other;
                }
            },
            b'?' => match next {
                Some(b'?') => {
                    edits.push(Edit::Escape(i));
                    i += 2;
                    prev = Prev::Other;
                }
                Some(op @ (b'|' | b'&')) if b.get(i + 2) != Some(&op) => {
                    i += 2;
                    prev = Prev::Other;
                }
                _ if prev == Prev::Operand || (i > 0 && b[i - 1] == b'@') => {
                    i += 1;
                    prev = Prev::Other;
                }
                _ => {
                    edits.push(Edit::Question(i));
                    questions += 1;
                    i += 1;
                    prev = Prev::Operand;
                }
            },
            _ => {
                // Operators, `(`, `,`, `.` and anything else: an operand is expected next.
                i += 1;
                prev = Prev::Other;
            }
        }
    }
    Ok(Lexed {
        edits,
        max_explicit,
        questions,
    })
}

/// The end of a numeric literal starting at `i` (digits, `.`, exponent, `0x…`, `_`).
fn number_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
        i += 1;
    }
    i
}

#[cfg(test)]
#[path = "placeholders_tests.rs"]
mod tests;
