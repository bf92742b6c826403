//! Dynamic PostgreSQL values.
//!
//! STUB — the full codec (every built-in type) replaces this file. The contract other modules
//! rely on:
//! - `Value::Null`, `Value::Text(String)`, `Value::Literal(String)` (an untyped literal sent in
//!   text format, parsed by the server as the parameter's type);
//! - `impl FromSql for Value` accepting every type, `impl ToSql for Value` accepting every type;
//! - `Value::coerce_to(&self, &Type) -> Result<Cow<'_, Value>, String>` (assignment-cast rules,
//!   error text names both types);
//! - `Value::type_name(&self) -> &str`; `Display` = PostgreSQL text input syntax;
//! - `FromValue` (lenient typed conversion) and `From<T> for Value` for the usual Rust types.

use std::borrow::Cow;
use std::fmt;

use bytes::BytesMut;
use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::error::{Error, Result};

/// A PostgreSQL value of any type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `bigint` (stub).
    Int8(i64),
    /// `text` (stub).
    Text(String),
    /// An untyped literal, sent in text format and parsed by the server as the parameter's type.
    Literal(String),
}

impl Value {
    /// The name of this value's type.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "bigint",
            Value::Text(_) => "text",
            Value::Literal(_) => "unknown",
        }
    }

    /// Converts this value for a parameter or column of type `ty`.
    pub fn coerce_to(&self, _ty: &Type) -> std::result::Result<Cow<'_, Value>, String> {
        Ok(Cow::Borrowed(self))
    }

    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Text(s) | Value::Literal(s) => f.write_str(s),
        }
    }
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int8(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int8(i32::from_sql(ty, raw)? as i64),
            _ => Value::Text(String::from_utf8_lossy(raw).into_owned()),
        })
    }
    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int8(v) => match *ty {
                Type::INT4 => (*v as i32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(s) | Value::Literal(s) => s.as_str().to_sql(&Type::TEXT, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _ty: &Type) -> postgres_types::Format {
        match self {
            Value::Literal(_) => postgres_types::Format::Text,
            _ => postgres_types::Format::Binary,
        }
    }
    to_sql_checked!();
}

/// Conversion from a [`Value`] into a Rust type, lenient like PostgreSQL's assignment casts.
pub trait FromValue: Sized {
    /// Converts `v`, or says why not.
    fn from_value(v: Value) -> Result<Self>;
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self> {
        Ok(v)
    }
}
impl FromValue for i64 {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Int8(i) => Ok(i),
            o => Err(Error::decode(format!(
                "cannot read {} as i64",
                o.type_name()
            ))),
        }
    }
}
impl FromValue for String {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Text(s) => Ok(s),
            o => Err(Error::decode(format!(
                "cannot read {} as String",
                o.type_name()
            ))),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Self> {
        if v.is_null() {
            Ok(None)
        } else {
            T::from_value(v).map(Some)
        }
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int8(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int8(v as i64)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl Value {
    /// The value as JSON (stub).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Int8(v) => (*v).into(),
            Value::Text(s) | Value::Literal(s) => s.clone().into(),
        }
    }

    /// Python-repr-like form for `Debug` of rows: strings quoted, NULL as `None`-like `NULL`.
    pub fn repr(&self) -> String {
        match self {
            Value::Text(s) => format!("{s:?}"),
            o => o.to_string(),
        }
    }
}
