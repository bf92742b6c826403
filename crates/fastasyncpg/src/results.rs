//! [`Results`]: a list of rows that renders as an aligned text table (`Display`), as HTML for
//! notebooks (with escaping), and as JSON or CSV.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use unicode_width::UnicodeWidthStr;

use crate::error::Result;
use crate::row::{Columns, Row};
use crate::value::Value;

/// Longest cell shown by `Display` before it is cut with `…` (JSON and CSV are never cut).
const MAX_CELL: usize = 60;

/// The rows of a query, with their columns. Derefs to `[Row]`.
///
/// `Display` is an aligned table like psql's:
///
/// ```text
///  artist_id | name
/// -----------+-------
///          1 | AC/DC
/// (1 row)
/// ```
#[derive(Clone, Debug)]
pub struct Results {
    cols: Arc<Columns>,
    rows: Vec<Row>,
}

impl Results {
    /// Wraps rows that share `cols`.
    pub fn new(cols: Arc<Columns>, rows: Vec<Row>) -> Self {
        Results { cols, rows }
    }

    /// The columns.
    pub fn columns(&self) -> &Columns {
        &self.cols
    }

    /// The rows, owned.
    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }

    /// Every row as a JSON object keyed by column name, in one JSON array.
    pub fn to_json(&self) -> Result<serde_json::Value> {
        self.rows
            .iter()
            .map(Row::to_json)
            .collect::<Result<Vec<_>>>()
            .map(serde_json::Value::Array)
    }

    /// CSV with a header line (RFC 4180 quoting; NULL is an empty field, an empty string is `""`).
    pub fn to_csv(&self) -> Result<String> {
        let mut out = String::new();
        let header: Vec<String> = self
            .cols
            .names()
            .iter()
            .map(|n| csv_field(n, false))
            .collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for r in &self.rows {
            let mut fields = Vec::with_capacity(r.len());
            for i in 0..r.len() {
                let v = r.value(i)?;
                fields.push(if v.is_null() {
                    String::new()
                } else {
                    csv_field(&v.to_string(), true)
                });
            }
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    }

    /// An HTML `<table>` (cells escaped), for notebooks.
    pub fn to_html(&self) -> String {
        let mut s = String::from("<table>\n<thead>\n<tr>");
        for n in self.cols.names() {
            s.push_str("<th>");
            s.push_str(&html_escape(n));
            s.push_str("</th>");
        }
        s.push_str("</tr>\n</thead>\n<tbody>\n");
        for r in &self.rows {
            s.push_str("<tr>");
            for i in 0..r.len() {
                s.push_str("<td>");
                s.push_str(&html_escape(&cell(r, i)));
                s.push_str("</td>");
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody>\n</table>");
        s
    }

    /// Shows the results as HTML in an evcxr (Rust Jupyter) notebook.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.to_html()
        );
    }
}

fn cell(r: &Row, i: usize) -> String {
    match r.value(i) {
        Ok(Value::Null) => "NULL".to_string(),
        Ok(v) => v.to_string(),
        Err(_) => "<undecodable>".to_string(),
    }
}

fn csv_field(s: &str, quote_empty: bool) -> String {
    if s.contains([',', '"', '\n', '\r'])
        || (quote_empty && s.is_empty())
        || s.starts_with(' ')
        || s.ends_with(' ')
    {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn shorten(s: String) -> String {
    // One line per cell, and not too wide.
    let s = if s.contains(['\n', '\r', '\t']) {
        s.replace(['\n', '\r', '\t'], " ")
    } else {
        s
    };
    if s.chars().count() <= MAX_CELL {
        s
    } else {
        let mut t: String = s.chars().take(MAX_CELL - 1).collect();
        t.push('…');
        t
    }
}

fn is_numeric(ty: &tokio_postgres::types::Type) -> bool {
    use tokio_postgres::types::Type;
    matches!(
        *ty,
        Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::NUMERIC
            | Type::OID
    )
}

impl fmt::Display for Results {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.cols.names();
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| (0..r.len()).map(|i| shorten(cell(r, i))).collect())
            .collect();
        let mut widths: Vec<usize> = names.iter().map(|n| n.width()).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.width());
            }
        }
        let right: Vec<bool> = self.cols.types().iter().map(is_numeric).collect();
        let pad = |s: &str, w: usize, right: bool| {
            let fill = " ".repeat(w.saturating_sub(s.width()));
            if right {
                format!("{fill}{s}")
            } else {
                format!("{s}{fill}")
            }
        };
        let header: Vec<String> = names
            .iter()
            .zip(&widths)
            .map(|(n, w)| pad(n, *w, false))
            .collect();
        writeln!(f, " {}", header.join(" | ").trim_end())?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w + 2)).collect();
        writeln!(f, "{}", rule.join("+"))?;
        for row in &cells {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .zip(&right)
                .map(|((c, w), r)| pad(c, *w, *r))
                .collect();
            writeln!(f, " {}", line.join(" | ").trim_end())?;
        }
        let n = self.rows.len();
        write!(f, "({n} row{})", if n == 1 { "" } else { "s" })
    }
}

impl Deref for Results {
    type Target = [Row];
    fn deref(&self) -> &[Row] {
        &self.rows
    }
}

impl IntoIterator for Results {
    type Item = Row;
    type IntoIter = std::vec::IntoIter<Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl<'a> IntoIterator for &'a Results {
    type Item = &'a Row;
    type IntoIter = std::slice::Iter<'a, Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b", true), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"", true), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("", true), "\"\"");
        assert_eq!(csv_field("plain", true), "plain");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn long_cells_are_cut() {
        let s = shorten("x".repeat(100));
        assert_eq!(s.chars().count(), MAX_CELL);
        assert!(s.ends_with('…'));
    }
}
