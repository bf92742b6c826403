//! Rows: values readable by column name or index, typed, as JSON or as any serde struct.

use std::fmt;
use std::sync::Arc;

use tokio_postgres::types::Type;

use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// The columns of a result: names and PostgreSQL types, shared by all rows of the result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Columns {
    names: Vec<String>,
    types: Vec<Type>,
}

impl Columns {
    pub(crate) fn from_pg(cols: &[tokio_postgres::Column]) -> Self {
        Columns {
            names: cols.iter().map(|c| c.name().to_string()).collect(),
            types: cols.iter().map(|c| c.type_().clone()).collect(),
        }
    }

    /// The same columns under other names (one per column), for reading part of a result by
    /// position (tuples of models).
    pub(crate) fn renamed(&self, names: Vec<String>) -> Self {
        Columns {
            names,
            types: self.types.clone(),
        }
    }

    /// Column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Column types, in order.
    pub fn types(&self) -> &[Type] {
        &self.types
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Index of the column called `name` (the first one, if several share it).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// How a column is named when reading a [`Row`]: by index (`0`) or by name (`"name"`).
pub trait ColumnIndex: fmt::Display {
    /// The column's position in `cols`, if it exists.
    fn index_in(&self, cols: &Columns) -> Option<usize>;
}
impl ColumnIndex for usize {
    fn index_in(&self, cols: &Columns) -> Option<usize> {
        (*self < cols.len()).then_some(*self)
    }
}
impl ColumnIndex for &str {
    fn index_in(&self, cols: &Columns) -> Option<usize> {
        cols.index_of(self)
    }
}
impl ColumnIndex for String {
    fn index_in(&self, cols: &Columns) -> Option<usize> {
        cols.index_of(self)
    }
}

/// One row of a result.
///
/// Values are decoded on access from the binary data the server sent, so reading one column of
/// a wide row costs only that column.
///
/// The driver's row is held inline, not behind an `Arc`: callgrind of a 10,000-row fetch showed
/// the `Arc` allocation and its free as ~6% of the client's instructions, while rows are
/// cloned rarely (a clone copies the driver's small index of column offsets and shares the
/// data).
#[derive(Clone)]
pub struct Row {
    cols: Arc<Columns>,
    raw: tokio_postgres::Row,
}

impl Row {
    pub(crate) fn new(cols: Arc<Columns>, raw: tokio_postgres::Row) -> Self {
        Row { cols, raw }
    }

    /// The columns of this row.
    pub fn columns(&self) -> &Columns {
        &self.cols
    }

    /// The shared columns (for borrowed row views).
    pub(crate) fn columns_arc(&self) -> &Arc<Columns> {
        &self.cols
    }

    /// The underlying tokio-postgres row, for zero-copy typed decoding.
    pub fn raw(&self) -> &tokio_postgres::Row {
        &self.raw
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// True when a column called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.cols.index_of(name).is_some()
    }

    fn index<I: ColumnIndex>(&self, key: &I) -> Result<usize> {
        key.index_in(&self.cols).ok_or_else(|| {
            Error::new(
                crate::ErrorKind::UnknownName,
                format!(
                    "no column {key} in row (columns: {})",
                    self.cols.names.join(", ")
                ),
            )
        })
    }

    /// The value of a column, by index or name.
    pub fn value<I: ColumnIndex>(&self, key: I) -> Result<Value> {
        let i = self.index(&key)?;
        self.raw.try_get::<_, Value>(i).map_err(|e| {
            Error::decode(format!(
                "column {:?} ({}): cannot decode",
                self.cols.names[i], self.cols.types[i]
            ))
            .with_source(e)
        })
    }

    /// The value of a column converted to `T`, by index or name.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let row = db.fetchrow("SELECT 1 AS id, 'x' AS name", ()).await?.unwrap();
    /// let id: i64 = row.get("id")?;
    /// let name: String = row.get(1)?;
    /// # Ok(()) }
    /// ```
    pub fn get<T: FromValue, I: ColumnIndex>(&self, key: I) -> Result<T> {
        let i = self.index(&key)?;
        let v = self.value(i)?;
        T::from_value(v).map_err(|e| e.context(format!("column {:?}", self.cols.names[i])))
    }

    /// The value of a column converted to `T`, or `default` when the row has no such column
    /// or the value is NULL (asyncpg's `record.get(name, default)`). A value that does not
    /// convert to `T` is still an error naming the column.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let row = db.fetchrow("SELECT 1 AS id, NULL::text AS nick", ()).await?.unwrap();
    /// assert_eq!(row.get_or("nick", "anon".to_string())?, "anon");
    /// assert_eq!(row.get_or("age", 0i32)?, 0);
    /// # Ok(()) }
    /// ```
    pub fn get_or<T: FromValue, I: ColumnIndex>(&self, key: I, default: T) -> Result<T> {
        let Some(i) = key.index_in(&self.cols) else {
            return Ok(default);
        };
        match self.value(i)? {
            Value::Null => Ok(default),
            v => {
                T::from_value(v).map_err(|e| e.context(format!("column {:?}", self.cols.names[i])))
            }
        }
    }

    /// `(name, value)` pairs, in column order (asyncpg's `record.items()`); `&Row` iterates the
    /// same way. A value the server sent malformed (which never happens with a sound server:
    /// every type decodes, unknown ones as [`Value::Unknown`]) comes as a `Value::Unknown` of
    /// the column's type with no bytes; [`items`](Self::items) reports it as an error instead.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let row = db.fetchrow("SELECT 1 AS id, 'x' AS name", ()).await?.unwrap();
    /// for (name, value) in &row {
    ///     println!("{name} = {value}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn iter(&self) -> RowIter<'_> {
        RowIter { row: self, next: 0 }
    }

    /// The row as a one-row HTML `<table>` (cells escaped), rendered as
    /// [`Results::to_html`](crate::Results::to_html) renders its rows.
    pub fn to_html(&self) -> String {
        crate::results::Results::new(self.cols.clone(), vec![self.clone()]).to_html()
    }

    /// Shows the row as HTML in an evcxr (Rust Jupyter) notebook.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.to_html()
        );
    }

    /// All values, in column order.
    pub fn values(&self) -> Result<Vec<Value>> {
        (0..self.len()).map(|i| self.value(i)).collect()
    }

    /// `(name, value)` pairs, in column order.
    pub fn items(&self) -> Result<Vec<(String, Value)>> {
        (0..self.len())
            .map(|i| Ok((self.cols.names[i].clone(), self.value(i)?)))
            .collect()
    }

    /// The row as a JSON object keyed by column name.
    pub fn to_json(&self) -> Result<serde_json::Value> {
        let mut m = serde_json::Map::with_capacity(self.len());
        for i in 0..self.len() {
            m.insert(self.cols.names[i].clone(), self.value(i)?.to_json());
        }
        Ok(serde_json::Value::Object(m))
    }

    /// The row deserialized into any `serde::Deserialize` type (fields matched by column name).
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.to_json()?)
            .map_err(|e| Error::decode(format!("row into {}: {e}", std::any::type_name::<T>())))
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<Row")?;
        for i in 0..self.len() {
            match self.value(i) {
                Ok(v) => write!(f, " {}={}", self.cols.names[i], v.repr())?,
                Err(_) => write!(f, " {}=<undecodable>", self.cols.names[i])?,
            }
        }
        f.write_str(">")
    }
}

/// The iterator over a row's `(name, value)` pairs: [`Row::iter`].
#[derive(Debug, Clone)]
pub struct RowIter<'a> {
    row: &'a Row,
    next: usize,
}

impl<'a> Iterator for RowIter<'a> {
    type Item = (&'a str, Value);

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        if i >= self.row.len() {
            return None;
        }
        self.next += 1;
        let v = self.row.value(i).unwrap_or_else(|_| Value::Unknown {
            type_name: self.row.cols.types[i].name().to_string(),
            bytes: Vec::new(),
        });
        Some((self.row.cols.names[i].as_str(), v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.row.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for RowIter<'_> {}

impl<'a> IntoIterator for &'a Row {
    type Item = (&'a str, Value);
    type IntoIter = RowIter<'a>;
    fn into_iter(self) -> RowIter<'a> {
        self.iter()
    }
}
