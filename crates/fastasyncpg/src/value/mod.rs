//! Dynamic PostgreSQL values: [`Value`] holds a value of any PostgreSQL type, decoded from or
//! encoded to the binary wire format.
//!
//! - Every type decodes: built-in scalars, arrays of any dimension, ranges and multiranges,
//!   enums, domains (as their base type), composite types and anonymous records. A type this
//!   module does not know decodes to [`Value::Unknown`] with its raw bytes — a query never fails
//!   because of a column's type — and an `Unknown` value encodes back to the same type.
//! - [`Value::coerce_to`] converts a value for a parameter's type before anything is sent
//!   (PostgreSQL's assignment casts: `Int4` into `bigint`, text into an enum, a range check for
//!   `bigint` into `integer`…), with an error naming both types.
//! - `Display` is PostgreSQL's text syntax for the value; [`Value::to_json`] an exact JSON form;
//!   [`Value::repr`] a short debugging form.
//! - [`FromValue`] converts a value to a Rust type; `From<T> for Value` goes the other way.
//!
//! ```
//! use fastasyncpg::Value;
//! use postgres_types::Type;
//! let v = Value::Int4(42);
//! assert_eq!(v.coerce_to(&Type::INT8).unwrap().into_owned(), Value::Int8(42));
//! assert_eq!(
//!     Value::Int8(3_000_000_000).coerce_to(&Type::INT4).unwrap_err(),
//!     "value 3000000000 out of range for integer"
//! );
//! let a = Value::from(vec![Some("a b"), None]);
//! assert_eq!(a.to_string(), r#"{"a b",NULL}"#);
//! ```

mod coerce;
mod containers;
mod datetime;
mod decode;
mod encode;
mod format;
mod from_value;
mod geo;
mod json;
mod misc;
mod numeric;
mod tsearch;

use uuid::Uuid;

pub use containers::{Array, ArrayDim, Composite, Range, RangeBound};
pub use datetime::{Date, Interval, ParseDateTimeError, Time, TimeTz, Timestamp, TimestampTz};
pub use from_value::FromValue;
pub use geo::{Circle, GeoBox, Line, Lseg, Path, Point, Polygon};
pub use misc::{BitString, Inet, MacAddr, MacAddr8, ParseValueError, Tid};
pub use numeric::{Numeric, ParseNumericError};

/// A PostgreSQL value of any type.
///
/// Each variant keeps the PostgreSQL type it came from (`Int2`, `Int4` and `Int8` are distinct,
/// `Json` and `Jsonb` too…), so a value read from the server and sent back is the same value of
/// the same type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `boolean`.
    Bool(bool),
    /// `smallint` (`int2`).
    Int2(i16),
    /// `integer` (`int4`).
    Int4(i32),
    /// `bigint` (`int8`).
    Int8(i64),
    /// `real` (`float4`).
    Float4(f32),
    /// `double precision` (`float8`).
    Float8(f64),
    /// `numeric`, exact.
    Numeric(Numeric),
    /// `money`, in cents (hundredths of the currency unit).
    Money(i64),
    /// `text`, `varchar`, `char(n)` (`bpchar`), `name`, `citext` and untyped `unknown` values.
    Text(String),
    /// An untyped literal, sent in text format and parsed by the server as the parameter's type.
    Literal(String),
    /// The single-byte type `"char"`.
    Char(u8),
    /// `bytea`.
    Bytea(Vec<u8>),
    /// `date`.
    Date(Date),
    /// `time` (without time zone).
    Time(Time),
    /// `time with time zone`.
    TimeTz(TimeTz),
    /// `timestamp` (without time zone).
    Timestamp(Timestamp),
    /// `timestamp with time zone`.
    TimestampTz(TimestampTz),
    /// `interval`.
    Interval(Interval),
    /// `uuid`.
    Uuid(Uuid),
    /// `json`.
    Json(serde_json::Value),
    /// `jsonb`.
    Jsonb(serde_json::Value),
    /// `xml`, as text.
    Xml(String),
    /// `inet`.
    Inet(Inet),
    /// `cidr`.
    Cidr(Inet),
    /// `macaddr`.
    MacAddr([u8; 6]),
    /// `macaddr8`.
    MacAddr8([u8; 8]),
    /// `bit(n)`.
    Bit(BitString),
    /// `bit varying(n)`.
    VarBit(BitString),
    /// `point`.
    Point(Point),
    /// `line`.
    Line(Line),
    /// `lseg`.
    Lseg(Lseg),
    /// `box`.
    Box(GeoBox),
    /// `path`.
    Path(Path),
    /// `polygon`.
    Polygon(Polygon),
    /// `circle`.
    Circle(Circle),
    /// `oid`.
    Oid(u32),
    /// An OID alias type (`regclass`, `regtype`, `regproc`, `regnamespace`…): its name and the
    /// OID. (The binary format carries the OID only, so the value displays as a number.)
    RegOid {
        /// The alias type's name, e.g. `regclass`.
        type_name: String,
        /// The object's OID.
        oid: u32,
    },
    /// `xid` (32-bit transaction id).
    Xid(u32),
    /// `xid8` (64-bit transaction id).
    Xid8(u64),
    /// `cid` (command id).
    Cid(u32),
    /// `tid` (tuple location).
    Tid(Tid),
    /// `pg_lsn` (WAL location), displayed `X/Y`.
    PgLsn(u64),
    /// `tsvector`, in its text form (sent in text format).
    TsVector(String),
    /// `tsquery`, in its text form (sent in text format).
    TsQuery(String),
    /// A value of an enum type: the type's name and the label.
    Enum {
        /// The enum type's name (without schema).
        type_name: String,
        /// The label.
        label: String,
    },
    /// An array of any element type and dimension.
    Array(Array),
    /// A range.
    Range(Range),
    /// A multirange: its ranges in order.
    Multirange(Vec<Range>),
    /// A value of a named composite type.
    Composite(Composite),
    /// An anonymous `record` (e.g. `SELECT ROW(1, 'a')`): the field values.
    Record(Vec<Value>),
    /// A value of a type this module does not decode: its binary form, as the server sent it.
    /// Sending it back to a parameter of the same type sends these bytes unchanged.
    Unknown {
        /// The type's name.
        type_name: String,
        /// The binary representation.
        bytes: Vec<u8>,
    },
}

impl Value {
    /// The PostgreSQL name of this value's type (`integer`, `timestamp with time zone`,
    /// `text[]`, the enum's or composite's own name…). `null` for NULL, `unknown` for a
    /// [`Value::Literal`]; `array` (or `anyrange`…) when the element type cannot be told from the
    /// elements.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int2(_) => "smallint",
            Value::Int4(_) => "integer",
            Value::Int8(_) => "bigint",
            Value::Float4(_) => "real",
            Value::Float8(_) => "double precision",
            Value::Numeric(_) => "numeric",
            Value::Money(_) => "money",
            Value::Text(_) => "text",
            Value::Literal(_) => "unknown",
            Value::Char(_) => "\"char\"",
            Value::Bytea(_) => "bytea",
            Value::Date(_) => "date",
            Value::Time(_) => "time without time zone",
            Value::TimeTz(_) => "time with time zone",
            Value::Timestamp(_) => "timestamp without time zone",
            Value::TimestampTz(_) => "timestamp with time zone",
            Value::Interval(_) => "interval",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
            Value::Jsonb(_) => "jsonb",
            Value::Xml(_) => "xml",
            Value::Inet(_) => "inet",
            Value::Cidr(_) => "cidr",
            Value::MacAddr(_) => "macaddr",
            Value::MacAddr8(_) => "macaddr8",
            Value::Bit(_) => "bit",
            Value::VarBit(_) => "bit varying",
            Value::Point(_) => "point",
            Value::Line(_) => "line",
            Value::Lseg(_) => "lseg",
            Value::Box(_) => "box",
            Value::Path(_) => "path",
            Value::Polygon(_) => "polygon",
            Value::Circle(_) => "circle",
            Value::Oid(_) => "oid",
            Value::RegOid { type_name, .. } => type_name,
            Value::Xid(_) => "xid",
            Value::Xid8(_) => "xid8",
            Value::Cid(_) => "cid",
            Value::Tid(_) => "tid",
            Value::PgLsn(_) => "pg_lsn",
            Value::TsVector(_) => "tsvector",
            Value::TsQuery(_) => "tsquery",
            Value::Enum { type_name, .. } => type_name,
            Value::Array(a) => a.type_name().unwrap_or_else(|| array_type_name(a)),
            Value::Range(r) => range_type_name(r.some_value(), false),
            Value::Multirange(rs) => range_type_name(rs.iter().find_map(|r| r.some_value()), true),
            Value::Composite(c) => &c.type_name,
            Value::Record(_) => "record",
            Value::Unknown { type_name, .. } => type_name,
        }
    }

    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

fn array_type_name(a: &Array) -> &'static str {
    let Some(first) = a.elements().iter().find(|v| !v.is_null()) else {
        return "array";
    };
    match first {
        Value::Bool(_) => "boolean[]",
        Value::Int2(_) => "smallint[]",
        Value::Int4(_) => "integer[]",
        Value::Int8(_) => "bigint[]",
        Value::Float4(_) => "real[]",
        Value::Float8(_) => "double precision[]",
        Value::Numeric(_) => "numeric[]",
        Value::Money(_) => "money[]",
        Value::Text(_) => "text[]",
        Value::Literal(_) => "unknown[]",
        Value::Char(_) => "\"char\"[]",
        Value::Bytea(_) => "bytea[]",
        Value::Date(_) => "date[]",
        Value::Time(_) => "time without time zone[]",
        Value::TimeTz(_) => "time with time zone[]",
        Value::Timestamp(_) => "timestamp without time zone[]",
        Value::TimestampTz(_) => "timestamp with time zone[]",
        Value::Interval(_) => "interval[]",
        Value::Uuid(_) => "uuid[]",
        Value::Json(_) => "json[]",
        Value::Jsonb(_) => "jsonb[]",
        Value::Xml(_) => "xml[]",
        Value::Inet(_) => "inet[]",
        Value::Cidr(_) => "cidr[]",
        Value::MacAddr(_) => "macaddr[]",
        Value::MacAddr8(_) => "macaddr8[]",
        Value::Bit(_) => "bit[]",
        Value::VarBit(_) => "bit varying[]",
        Value::Point(_) => "point[]",
        Value::Line(_) => "line[]",
        Value::Lseg(_) => "lseg[]",
        Value::Box(_) => "box[]",
        Value::Path(_) => "path[]",
        Value::Polygon(_) => "polygon[]",
        Value::Circle(_) => "circle[]",
        Value::Oid(_) => "oid[]",
        Value::Xid(_) => "xid[]",
        Value::Xid8(_) => "xid8[]",
        Value::Cid(_) => "cid[]",
        Value::Tid(_) => "tid[]",
        Value::PgLsn(_) => "pg_lsn[]",
        Value::TsVector(_) => "tsvector[]",
        Value::TsQuery(_) => "tsquery[]",
        Value::Record(_) => "record[]",
        Value::Range(r) => match r.some_value() {
            Some(Value::Int4(_)) => "int4range[]",
            Some(Value::Int8(_)) => "int8range[]",
            Some(Value::Numeric(_)) => "numrange[]",
            Some(Value::Date(_)) => "daterange[]",
            Some(Value::Timestamp(_)) => "tsrange[]",
            Some(Value::TimestampTz(_)) => "tstzrange[]",
            _ => "anyrange[]",
        },
        _ => "array",
    }
}

fn range_type_name(v: Option<&Value>, multi: bool) -> &'static str {
    let (r, m) = match v {
        Some(Value::Int4(_)) => ("int4range", "int4multirange"),
        Some(Value::Int8(_)) => ("int8range", "int8multirange"),
        Some(Value::Numeric(_)) => ("numrange", "nummultirange"),
        Some(Value::Date(_)) => ("daterange", "datemultirange"),
        Some(Value::Timestamp(_)) => ("tsrange", "tsmultirange"),
        Some(Value::TimestampTz(_)) => ("tstzrange", "tstzmultirange"),
        _ => ("anyrange", "anymultirange"),
    };
    if multi {
        m
    } else {
        r
    }
}

/// The PostgreSQL name of a type as written in SQL and error messages (`integer`,
/// `timestamp with time zone`, `text[]`, an enum's name…).
pub fn sql_type_name(ty: &postgres_types::Type) -> String {
    use postgres_types::{Kind, Type};
    if let Kind::Array(elem) = ty.kind() {
        return format!("{}[]", sql_type_name(elem));
    }
    let s = match *ty {
        Type::BOOL => "boolean",
        Type::INT2 => "smallint",
        Type::INT4 => "integer",
        Type::INT8 => "bigint",
        Type::FLOAT4 => "real",
        Type::FLOAT8 => "double precision",
        Type::VARCHAR => "character varying",
        Type::BPCHAR => "character",
        Type::CHAR => "\"char\"",
        Type::TIME => "time without time zone",
        Type::TIMETZ => "time with time zone",
        Type::TIMESTAMP => "timestamp without time zone",
        Type::TIMESTAMPTZ => "timestamp with time zone",
        Type::VARBIT => "bit varying",
        _ => return ty.name().to_string(),
    };
    s.to_string()
}
