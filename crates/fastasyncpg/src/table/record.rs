//! [`Record`]: the column → value pairs written by `insert`, `update`, `upsert` and friends.

use std::collections::{BTreeMap, HashMap};

use compact_str::CompactString;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::schema::ColumnMeta;
use crate::value::Value;

/// One field of a record: a [`Value`], or JSON (from serde) converted once the target
/// column's type is known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Value(Value),
    Json(serde_json::Value),
}

impl Field {
    /// The value to send for a column of type `col`.
    pub(crate) fn to_value(&self, col: Option<&ColumnMeta>) -> Value {
        match self {
            Field::Value(v) => v.clone(),
            Field::Json(j) => json_to_value(j, col),
        }
    }
}

/// An ordered set of column → value pairs (setting a column twice keeps the last value).
///
/// Build one with [`record!`](crate::record), from `(name, value)` pairs, a map, a
/// `serde_json` object, any `serde::Serialize` struct ([`Record::from_serialize`]) or a
/// [`Row`] ([`Record::from_row`]).
///
/// ```
/// use fastasyncpg::{record, Record};
/// let a = record! { name: "meow", weight: 6 };
/// let b = Record::new().with("name", "meow").with("weight", 6);
/// assert_eq!(a, b);
/// let c: Record = vec![("name", "meow")].into();
/// assert_eq!(c.names().collect::<Vec<_>>(), ["name"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Names are inline strings (up to 24 bytes without an allocation): a bulk write of many
    /// records otherwise spent about a fifth of its client time allocating and freeing them.
    pub(crate) fields: Vec<(CompactString, Field)>,
}

impl Record {
    /// An empty record (inserting it writes a row of defaults).
    pub fn new() -> Self {
        Record::default()
    }

    /// Sets `name` to `value` and returns the record (builder form of [`set`](Self::set)).
    pub fn with(mut self, name: impl AsRef<str>, value: impl Into<Value>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets `name` to `value`, replacing an earlier value of the same column.
    pub fn set(&mut self, name: impl AsRef<str>, value: impl Into<Value>) {
        self.set_field(name.as_ref(), Field::Value(value.into()));
    }

    /// Sets `name` to a JSON value, converted when the column's type is known: JSON arrays
    /// become PostgreSQL arrays for array columns, objects and arrays stay JSON for `json` /
    /// `jsonb` columns, scalars are parsed by the server as the column's type.
    pub fn set_json(&mut self, name: impl AsRef<str>, value: serde_json::Value) {
        self.set_field(name.as_ref(), Field::Json(value));
    }

    fn set_field(&mut self, name: &str, f: Field) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = f,
            None => self.fields.push((CompactString::from(name), f)),
        }
    }

    /// The value of `name`, if set (JSON fields converted without a column type).
    pub fn get(&self, name: &str) -> Option<Value> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.to_value(None))
    }

    /// True when `name` is set.
    pub fn contains(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    /// Removes `name` and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.fields.iter().position(|(n, _)| n == name)?;
        Some(self.fields.remove(i).1.to_value(None))
    }

    /// The column names, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(n, _)| n.as_str())
    }

    /// `(name, value)` pairs in insertion order (JSON fields converted without a column type).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Value)> {
        self.fields
            .iter()
            .map(|(n, f)| (n.as_str(), f.to_value(None)))
    }

    /// Number of columns set.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no column is set.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// A record from any `serde::Serialize` value that serializes as a map or struct (field
    /// names are column names). Values are converted with the target column's type in mind
    /// when written (see [`set_json`](Self::set_json)).
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Cat { name: String, weight: f64 }
    /// let r = fastasyncpg::Record::from_serialize(&Cat { name: "meow".into(), weight: 6.0 }).unwrap();
    /// assert_eq!(r.len(), 2);
    /// ```
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Record> {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(m)) => Ok(m.into()),
            Ok(other) => Err(Error::usage(format!(
                "Record::from_serialize needs a struct or map, got JSON {}",
                json_kind(&other)
            ))),
            Err(e) => Err(Error::usage(format!("Record::from_serialize: {e}"))),
        }
    }

    /// A record holding every column of `row` (to change some and `update` it back).
    pub fn from_row(row: &Row) -> Result<Record> {
        Ok(Record {
            fields: row
                .items()?
                .into_iter()
                .map(|(n, v)| (CompactString::from(n), Field::Value(v)))
                .collect(),
        })
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// JSON → [`Value`] for a column of type `col` (unknown: generic conversion). Scalars are sent
/// as untyped literals, which the server parses as the column's type, so a JSON string becomes
/// a date, a uuid or an enum label as the column needs, and numbers keep every digit.
pub(crate) fn json_to_value(j: &serde_json::Value, col: Option<&ColumnMeta>) -> Value {
    use serde_json::Value as J;
    let is_json = col.is_some_and(ColumnMeta::is_json);
    match j {
        J::Null => Value::Null,
        // A JSON string for a json column is sent as JSON text (`"abc"`), not as bare text.
        J::String(_) if is_json => Value::Literal(j.to_string()),
        J::String(s) => Value::Literal(s.clone()),
        J::Bool(b) => Value::Literal(if *b { "true" } else { "false" }.to_string()),
        J::Number(n) => Value::Literal(n.to_string()),
        J::Array(items) if !is_json && col.is_some_and(ColumnMeta::is_array) => {
            Value::Literal(pg_array_literal(items))
        }
        J::Array(_) | J::Object(_) => Value::Literal(j.to_string()),
    }
}

/// A PostgreSQL array literal (`{1,"a b",NULL,{2,3}}`) for a JSON array.
pub(crate) fn pg_array_literal(items: &[serde_json::Value]) -> String {
    use serde_json::Value as J;
    let mut s = String::from("{");
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match it {
            J::Null => s.push_str("NULL"),
            J::Array(inner) => s.push_str(&pg_array_literal(inner)),
            J::String(t) => push_quoted_element(&mut s, t),
            J::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            J::Number(n) => s.push_str(&n.to_string()),
            J::Object(_) => push_quoted_element(&mut s, &it.to_string()),
        }
    }
    s.push('}');
    s
}

/// Appends `t` as a double-quoted array element, escaping `"` and `\`.
pub(crate) fn push_quoted_element(s: &mut String, t: &str) {
    s.push('"');
    for c in t.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
}

impl<K: AsRef<str>, V: Into<Value>> From<Vec<(K, V)>> for Record {
    fn from(pairs: Vec<(K, V)>) -> Self {
        let mut r = Record::new();
        for (k, v) in pairs {
            r.set(k, v);
        }
        r
    }
}

impl<K: AsRef<str>, V: Into<Value>, const N: usize> From<[(K, V); N]> for Record {
    fn from(pairs: [(K, V); N]) -> Self {
        let mut r = Record::new();
        for (k, v) in pairs {
            r.set(k, v);
        }
        r
    }
}

impl<K: AsRef<str>, V: Into<Value>, S> From<HashMap<K, V, S>> for Record {
    fn from(m: HashMap<K, V, S>) -> Self {
        // Sorted by name so the same keys always give the same SQL (statement cache).
        let mut pairs: Vec<(K, Value)> = m.into_iter().map(|(k, v)| (k, v.into())).collect();
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        pairs.into()
    }
}

impl<K: AsRef<str>, V: Into<Value>> From<BTreeMap<K, V>> for Record {
    fn from(m: BTreeMap<K, V>) -> Self {
        let mut r = Record::new();
        for (k, v) in m {
            r.set(k, v);
        }
        r
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for Record {
    fn from(m: serde_json::Map<String, serde_json::Value>) -> Self {
        let mut r = Record::new();
        for (k, v) in m {
            r.set_json(k, v);
        }
        r
    }
}

impl From<&Record> for Record {
    fn from(r: &Record) -> Self {
        r.clone()
    }
}

impl TryFrom<serde_json::Value> for Record {
    type Error = Error;
    fn try_from(v: serde_json::Value) -> Result<Self> {
        match v {
            serde_json::Value::Object(m) => Ok(m.into()),
            other => Err(Error::usage(format!(
                "a record needs a JSON object, got {}",
                json_kind(&other)
            ))),
        }
    }
}

impl TryFrom<&Row> for Record {
    type Error = Error;
    fn try_from(row: &Row) -> Result<Self> {
        Record::from_row(row)
    }
}

/// Builds a [`Record`]: `record!{name: "meow", weight: 6}`. Keys are identifiers or string
/// literals (for names that are not identifiers: `record!{"Mixed Case": 1}`).
///
/// ```
/// use fastasyncpg::record;
/// let r = record! { name: "meow", "we\"ird": 1 };
/// assert!(r.contains("we\"ird"));
/// let empty = record! {};
/// assert!(empty.is_empty());
/// ```
#[macro_export]
macro_rules! record {
    () => { $crate::Record::new() };
    ($($k:tt : $v:expr),+ $(,)?) => {{
        let mut r = $crate::Record::new();
        $( r.set($crate::__record_key!($k), $v); )+
        r
    }};
}

/// Turns a `record!` key into a string. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_key {
    ($k:ident) => {
        stringify!($k)
    };
    ($k:literal) => {
        $k
    };
}
