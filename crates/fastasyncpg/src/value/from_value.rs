//! Conversions between [`Value`] and Rust types: [`FromValue`] and `From<T> for Value`.

use std::net::IpAddr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use uuid::Uuid;

use super::containers::{Array, Composite, Range};
use super::datetime::{Date, Interval, Time, TimeTz, Timestamp, TimestampTz};
use super::geo::{Circle, GeoBox, Line, Lseg, Path, Point, Polygon};
use super::misc::{BitString, Inet, MacAddr, MacAddr8, Tid};
use super::numeric::Numeric;
use super::Value;
use crate::error::{Error, Result};

/// Conversion from a [`Value`] into a Rust type, lenient like PostgreSQL's assignment casts:
/// any integer type into any Rust integer type (range-checked), numbers into `f64`, `numeric`
/// into `f64`/`String`/`Decimal`, arrays into `Vec<T>`, NULL into `Option<T>::None`…
///
/// NULL into a type that is not an `Option` is an error naming the Rust type.
///
/// ```
/// use fastasyncpg::{FromValue, Value};
/// assert_eq!(i64::from_value(Value::Int2(7)).unwrap(), 7);
/// assert_eq!(Option::<String>::from_value(Value::Null).unwrap(), None);
/// assert!(i8::from_value(Value::Int4(300)).is_err());
/// let v: Vec<Option<i32>> = FromValue::from_value(Value::from(vec![Some(1), None])).unwrap();
/// assert_eq!(v, [Some(1), None]);
/// ```
pub trait FromValue: Sized {
    /// Converts `v`, or says why not (an error of kind [`crate::ErrorKind::Decode`]).
    fn from_value(v: Value) -> Result<Self>;

    /// The result for a query that returned no row, if this type has one:
    /// [`Database::fetchval`](crate::Database::fetchval) returns it instead of a
    /// [`NotFound`](crate::ErrorKind::NotFound) error. `Option<T>` gives `Some(None)` (no row
    /// reads as `None`, like asyncpg's `fetchval`); the default, `None`, keeps the error.
    fn from_no_row() -> Option<Self> {
        None
    }
}

fn null_err(rust: &str) -> Error {
    Error::decode(format!(
        "unexpected NULL for {rust} (use Option<{rust}> to accept NULL)"
    ))
}

fn type_err(v: &Value, rust: &str) -> Error {
    if v.is_null() {
        return null_err(rust);
    }
    Error::decode(format!("cannot convert {} to {rust}", v.type_name()))
}

fn why_err(v: &Value, rust: &str, why: impl std::fmt::Display) -> Error {
    Error::decode(format!(
        "cannot convert {} {} to {rust}: {why}",
        v.type_name(),
        v
    ))
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self> {
        Ok(v)
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

    /// No row is `None`, as NULL is.
    fn from_no_row() -> Option<Self> {
        Some(None)
    }
}

/// The value as an `i128` when it is integral: integer types, OIDs, integral numerics,
/// `money` (in cents) and `pg_lsn` (the LSN as a number).
fn integral(v: &Value) -> Option<i128> {
    match v {
        Value::Money(c) => Some(*c as i128),
        Value::PgLsn(l) => Some(*l as i128),
        Value::Int2(i) => Some(*i as i128),
        Value::Int4(i) => Some(*i as i128),
        Value::Int8(i) => Some(*i as i128),
        Value::Oid(o) | Value::Xid(o) | Value::Cid(o) | Value::RegOid { oid: o, .. } => {
            Some(*o as i128)
        }
        Value::Xid8(x) => Some(*x as i128),
        Value::Numeric(n) if n.is_integral() => n.round_to_i128(),
        _ => None,
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            /// From any integer type (and `oid`, `xid`, integral `numeric`, `money` in cents,
            /// `pg_lsn` as a number), range-checked.
            fn from_value(v: Value) -> Result<Self> {
                let rust = stringify!($t);
                match integral(&v) {
                    Some(i) => <$t>::try_from(i).map_err(|_| {
                        Error::decode(format!("value {i} ({}) out of range for {rust}", v.type_name()))
                    }),
                    None => Err(type_err(&v, rust)),
                }
            }
        }
    )*};
}
int_from_value!(i8, i16, i32, i64, i128, u16, u32, u64, usize);

impl FromValue for f64 {
    /// From any number type (`numeric` and `bigint` may round).
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Float8(f) => Ok(f),
            Value::Float4(f) => Ok(f as f64),
            Value::Numeric(ref n) => Ok(n.to_f64()),
            Value::Money(c) => Ok(c as f64 / 100.0),
            ref o => integral(o)
                .map(|i| i as f64)
                .ok_or_else(|| type_err(o, "f64")),
        }
    }
}

impl FromValue for f32 {
    /// From `real`, and from other number types when the value fits.
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Float4(f) => Ok(f),
            ref o => {
                let f = f64::from_value(o.clone()).map_err(|_| type_err(o, "f32"))?;
                let g = f as f32;
                if f.is_finite() && g.is_infinite() {
                    return Err(why_err(o, "f32", "out of range"));
                }
                Ok(g)
            }
        }
    }
}

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Bool(b) => Ok(b),
            o => Err(type_err(&o, "bool")),
        }
    }
}

impl FromValue for String {
    /// From the text types (`text`, `varchar`, `name`, `xml`, `tsvector`…), enum labels,
    /// `"char"`, and `numeric` (its exact digits).
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Text(s)
            | Value::Literal(s)
            | Value::Xml(s)
            | Value::TsVector(s)
            | Value::TsQuery(s) => Ok(s),
            Value::Enum { label, .. } => Ok(label),
            Value::Numeric(n) => Ok(n.to_string()),
            Value::Char(_) => Ok(v.to_string()),
            o => Err(type_err(&o, "String")),
        }
    }
}

impl FromValue for Vec<u8> {
    /// From `bytea`.
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Bytea(b) => Ok(b),
            o => Err(type_err(&o, "Vec<u8>")),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    /// From an array (a multi-dimensional array gives its sub-arrays, for `Vec<Vec<T>>`), or a
    /// multirange's ranges.
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Array(a) => a.into_rows().into_iter().map(T::from_value).collect(),
            Value::Multirange(rs) => rs
                .into_iter()
                .map(|r| T::from_value(Value::Range(r)))
                .collect(),
            o => Err(type_err(&o, "Vec")),
        }
    }
}

impl FromValue for Numeric {
    /// From `numeric`, the integer types, floats and `money`.
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Numeric(n) => Ok(n),
            Value::Float8(f) => Ok(f.into()),
            Value::Float4(f) => Ok(f.into()),
            Value::Money(c) => Ok(format!(
                "{}{}.{:02}",
                if c < 0 { "-" } else { "" },
                c.unsigned_abs() / 100,
                c.unsigned_abs() % 100
            )
            .parse()
            .unwrap_or_else(|_| Numeric::nan())),
            ref o => integral(o)
                .map(Numeric::from)
                .ok_or_else(|| type_err(o, "Numeric")),
        }
    }
}

#[cfg(feature = "rust_decimal")]
impl FromValue for rust_decimal::Decimal {
    /// From `numeric` (fails beyond `Decimal`'s precision, for `NaN` and infinities), integer
    /// types and `money`.
    fn from_value(v: Value) -> Result<Self> {
        let n = Numeric::from_value(v.clone()).map_err(|_| type_err(&v, "Decimal"))?;
        rust_decimal::Decimal::try_from(&n).map_err(Error::decode)
    }
}

#[cfg(feature = "rust_decimal")]
impl From<rust_decimal::Decimal> for Value {
    fn from(v: rust_decimal::Decimal) -> Value {
        Value::Numeric(v.into())
    }
}

macro_rules! simple_from_value {
    ($t:ty, $rust:expr, $($pat:pat => $e:expr),+ $(,)?) => {
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self> {
                match v {
                    $($pat => Ok($e),)+
                    o => Err(type_err(&o, $rust)),
                }
            }
        }
    };
}

simple_from_value!(Date, "Date", Value::Date(d) => d, Value::Timestamp(t) => t.date());
simple_from_value!(Time, "Time", Value::Time(t) => t);
simple_from_value!(TimeTz, "TimeTz", Value::TimeTz(t) => t);
simple_from_value!(Timestamp, "Timestamp", Value::Timestamp(t) => t, Value::Date(d) => d.into());
simple_from_value!(TimestampTz, "TimestampTz", Value::TimestampTz(t) => t);
simple_from_value!(Interval, "Interval", Value::Interval(i) => i);
simple_from_value!(Uuid, "Uuid", Value::Uuid(u) => u);
simple_from_value!(Inet, "Inet", Value::Inet(i) => i, Value::Cidr(i) => i);
simple_from_value!(IpAddr, "IpAddr", Value::Inet(i) => i.addr, Value::Cidr(i) => i.addr);
simple_from_value!(BitString, "BitString", Value::Bit(b) => b, Value::VarBit(b) => b);
simple_from_value!(Point, "Point", Value::Point(p) => p);
simple_from_value!(Line, "Line", Value::Line(l) => l);
simple_from_value!(Lseg, "Lseg", Value::Lseg(l) => l);
simple_from_value!(GeoBox, "GeoBox", Value::Box(b) => b);
simple_from_value!(Path, "Path", Value::Path(p) => p);
simple_from_value!(Polygon, "Polygon", Value::Polygon(p) => p);
simple_from_value!(Circle, "Circle", Value::Circle(c) => c);
simple_from_value!(Tid, "Tid", Value::Tid(t) => t);
simple_from_value!(MacAddr, "MacAddr", Value::MacAddr(m) => MacAddr(m));
simple_from_value!(MacAddr8, "MacAddr8", Value::MacAddr8(m) => MacAddr8(m));
simple_from_value!(Array, "Array", Value::Array(a) => a);
simple_from_value!(Range, "Range", Value::Range(r) => r);
simple_from_value!(Composite, "Composite", Value::Composite(c) => c);

impl FromValue for serde_json::Value {
    /// `json`/`jsonb` as they are, NULL as JSON `null`, any other value by [`Value::to_json`].
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Json(j) | Value::Jsonb(j) => Ok(j),
            Value::Unknown { .. } => Err(type_err(&v, "serde_json::Value")),
            o => Ok(o.to_json()),
        }
    }
}

impl FromValue for NaiveDate {
    /// From `date` (not `infinity`/`-infinity`, nor beyond chrono's range).
    fn from_value(v: Value) -> Result<Self> {
        let d = Date::from_value(v.clone()).map_err(|_| type_err(&v, "NaiveDate"))?;
        d.to_naive()
            .ok_or_else(|| why_err(&v, "NaiveDate", "infinite or out of chrono's range"))
    }
}

impl FromValue for NaiveTime {
    /// From `time` (not `24:00:00`).
    fn from_value(v: Value) -> Result<Self> {
        let t = Time::from_value(v.clone()).map_err(|_| type_err(&v, "NaiveTime"))?;
        t.to_naive()
            .ok_or_else(|| why_err(&v, "NaiveTime", "24:00:00 is not a chrono time"))
    }
}

impl FromValue for NaiveDateTime {
    /// From `timestamp` or `date` (not infinite, nor beyond chrono's range).
    fn from_value(v: Value) -> Result<Self> {
        let t = Timestamp::from_value(v.clone()).map_err(|_| type_err(&v, "NaiveDateTime"))?;
        t.to_naive()
            .ok_or_else(|| why_err(&v, "NaiveDateTime", "infinite or out of chrono's range"))
    }
}

impl FromValue for DateTime<Utc> {
    /// From `timestamptz` (not infinite, nor beyond chrono's range).
    fn from_value(v: Value) -> Result<Self> {
        let t = TimestampTz::from_value(v.clone()).map_err(|_| type_err(&v, "DateTime<Utc>"))?;
        t.to_utc()
            .ok_or_else(|| why_err(&v, "DateTime<Utc>", "infinite or out of chrono's range"))
    }
}

impl FromValue for DateTime<FixedOffset> {
    /// From `timestamptz`, at offset `+00:00`.
    fn from_value(v: Value) -> Result<Self> {
        DateTime::<Utc>::from_value(v)
            .map(|t| t.fixed_offset())
            .map_err(|e| {
                Error::decode(
                    e.message()
                        .replace("DateTime<Utc>", "DateTime<FixedOffset>"),
                )
            })
    }
}

// ---------------------------------------------------------------------------------------------
// From<T> for Value

macro_rules! value_from {
    ($($t:ty => |$x:ident| $e:expr),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from($x: $t) -> Value {
                $e
            }
        }
    )*};
}

value_from!(
    bool => |v| Value::Bool(v),
    i8 => |v| Value::Int2(v as i16),
    i16 => |v| Value::Int2(v),
    i32 => |v| Value::Int4(v),
    i64 => |v| Value::Int8(v),
    u16 => |v| Value::Int4(v as i32),
    u32 => |v| Value::Int8(v as i64),
    u64 => |v| i64::try_from(v).map_or_else(|_| Value::Numeric(Numeric::from(v)), Value::Int8),
    f32 => |v| Value::Float4(v),
    f64 => |v| Value::Float8(v),
    &str => |v| Value::Text(v.to_string()),
    String => |v| Value::Text(v),
    &String => |v| Value::Text(v.clone()),
    &[u8] => |v| Value::Bytea(v.to_vec()),
    Vec<u8> => |v| Value::Bytea(v),
    NaiveDate => |v| Value::Date(v.into()),
    NaiveTime => |v| Value::Time(v.into()),
    NaiveDateTime => |v| Value::Timestamp(v.into()),
    DateTime<Utc> => |v| Value::TimestampTz(v.into()),
    DateTime<FixedOffset> => |v| Value::TimestampTz(v.into()),
    Uuid => |v| Value::Uuid(v),
    serde_json::Value => |v| Value::Json(v),
    IpAddr => |v| Value::Inet(Inet::host(v)),
    Numeric => |v| Value::Numeric(v),
    Date => |v| Value::Date(v),
    Time => |v| Value::Time(v),
    TimeTz => |v| Value::TimeTz(v),
    Timestamp => |v| Value::Timestamp(v),
    TimestampTz => |v| Value::TimestampTz(v),
    Interval => |v| Value::Interval(v),
    Inet => |v| Value::Inet(v),
    BitString => |v| Value::VarBit(v),
    Point => |v| Value::Point(v),
    Line => |v| Value::Line(v),
    Lseg => |v| Value::Lseg(v),
    GeoBox => |v| Value::Box(v),
    Path => |v| Value::Path(v),
    Polygon => |v| Value::Polygon(v),
    Circle => |v| Value::Circle(v),
    Tid => |v| Value::Tid(v),
    MacAddr => |v| Value::MacAddr(v.0),
    MacAddr8 => |v| Value::MacAddr8(v.0),
    Array => |v| Value::Array(v),
    Range => |v| Value::Range(v),
    Composite => |v| Value::Composite(v),
);

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is NULL.
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    /// A one-dimensional array; a `Vec` of equally-shaped `Vec`s gives a multi-dimensional array.
    fn from(v: Vec<T>) -> Value {
        Value::Array(Array::from_rows(v.into_iter().map(Into::into).collect()))
    }
}

impl From<&Value> for Value {
    fn from(v: &Value) -> Value {
        v.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn lenient_ints() {
        assert_eq!(i16::from_value(Value::Int8(5)).unwrap(), 5);
        assert_eq!(u32::from_value(Value::Oid(7)).unwrap(), 7);
        let e = i16::from_value(Value::Int4(70000)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert_eq!(e.message(), "value 70000 (integer) out of range for i16");
        let e = i32::from_value(Value::Null).unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected NULL for i32 (use Option<i32> to accept NULL)"
        );
        assert_eq!(
            f64::from_value(Value::Numeric("1.5".parse().unwrap())).unwrap(),
            1.5
        );
        assert_eq!(
            String::from_value(Value::Numeric("1.50".parse().unwrap())).unwrap(),
            "1.50"
        );
        assert_eq!(
            i64::from_value(Value::Numeric("12.00".parse().unwrap())).unwrap(),
            12
        );
        assert!(i64::from_value(Value::Numeric("12.5".parse().unwrap())).is_err());
        assert_eq!(
            i32::from_value(Value::Text("x".into()))
                .unwrap_err()
                .message(),
            "cannot convert text to i32"
        );
    }

    #[test]
    fn chrono_and_arrays() {
        let d = NaiveDate::from_ymd_opt(2020, 5, 17).unwrap();
        assert_eq!(NaiveDate::from_value(Value::from(d)).unwrap(), d);
        let e = NaiveDate::from_value(Value::Date(Date::INFINITY)).unwrap_err();
        assert_eq!(
            e.message(),
            "cannot convert date infinity to NaiveDate: infinite or out of chrono's range"
        );
        let v: Vec<Vec<i64>> =
            FromValue::from_value(Value::from(vec![vec![1i32, 2], vec![3, 4]])).unwrap();
        assert_eq!(v, [[1, 2], [3, 4]]);
        let a = Value::from(vec![vec![1i32, 2], vec![3, 4]]);
        assert_eq!(a.to_string(), "{{1,2},{3,4}}");
        assert_eq!(Value::from(Vec::<i32>::new()).to_string(), "{}");
        assert_eq!(Value::from(b"ab".to_vec()), Value::Bytea(b"ab".to_vec()));
    }
}
