//! A list of rows that renders as a text table, HTML, JSON or CSV.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::row::{Columns, Row};

/// The rows of a query, with their columns. Derefs to `[Row]`.
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

impl fmt::Display for Results {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.cols.names().join(" | "))?;
        for r in &self.rows {
            let vals: Vec<String> = (0..r.len())
                .map(|i| r.value(i).map(|v| v.to_string()).unwrap_or_default())
                .collect();
            writeln!(f, "{}", vals.join(" | "))?;
        }
        Ok(())
    }
}
