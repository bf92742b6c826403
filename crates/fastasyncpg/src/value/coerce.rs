//! Client-side coercion of a [`Value`] to a parameter's type, like PostgreSQL's assignment casts.

use std::borrow::Cow;

use postgres_types::{Kind, Type};

use super::containers::{Composite, Range, RangeBound};
use super::datetime::{Date, Interval, Time, TimeTz, Timestamp, TimestampTz};
use super::misc::{parse_lsn, parse_mac, BitString, Inet, Tid};
use super::numeric::Numeric;
use super::{sql_type_name, Value};

type Res<'a> = Result<Cow<'a, Value>, String>;

fn owned<'a>(v: Value) -> Res<'a> {
    Ok(Cow::Owned(v))
}

/// A string for an error message: quoted, escaped, at most 60 characters.
fn quoted(s: &str) -> String {
    let mut t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    format!("{t:?}")
}

fn cannot(v: &Value, ty: &Type) -> String {
    match v {
        Value::Text(s) => format!("cannot convert text {} to {}", quoted(s), sql_type_name(ty)),
        _ => format!("cannot convert {} to {}", v.type_name(), sql_type_name(ty)),
    }
}

fn cannot_because(v: &Value, ty: &Type, why: impl std::fmt::Display) -> String {
    format!("{}: {why}", cannot(v, ty))
}

fn out_of_range(v: impl std::fmt::Display, ty: &Type) -> String {
    format!("value {v} out of range for {}", sql_type_name(ty))
}

/// PostgreSQL's boolean input: `t`, `true`, `yes`, `on`, `1` and their prefixes, any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() {
        return None;
    }
    let prefix_of = |word: &str, min: usize| s.len() >= min && word.starts_with(s.as_str());
    if s == "1" || prefix_of("true", 1) || prefix_of("yes", 1) || s == "on" {
        Some(true)
    } else if s == "0" || prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) {
        Some(false)
    } else {
        None
    }
}

/// PostgreSQL's float input: decimal or exponent notation, `NaN`, `Infinity`, `-inf`…
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Some(f64::INFINITY),
        "-infinity" | "-inf" => return Some(f64::NEG_INFINITY),
        "" => return None,
        _ => {}
    }
    if t.bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return None;
    }
    t.parse().ok()
}

/// The text types: `text`, `varchar`, `bpchar`, `name`, `unknown`, `refcursor`, `citext`.
pub(crate) fn is_text_type(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::REFCURSOR
    ) || ty.name() == "citext"
}

fn is_reg_type(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::REGPROC
            | Type::REGPROCEDURE
            | Type::REGOPER
            | Type::REGOPERATOR
            | Type::REGCLASS
            | Type::REGTYPE
            | Type::REGCONFIG
            | Type::REGDICTIONARY
            | Type::REGNAMESPACE
            | Type::REGROLE
            | Type::REGCOLLATION
    )
}

impl Value {
    /// Converts this value for a parameter (or column) of type `ty`, before anything is sent —
    /// the rules of PostgreSQL's assignment casts, checked client-side:
    ///
    /// - `NULL` and [`Value::Literal`] go to any type unchanged (a literal is parsed by the
    ///   server); a value of the right type is returned as is (borrowed).
    /// - Numbers convert between `smallint`, `integer`, `bigint`, `real`, `double precision`,
    ///   `numeric` and `money`, with range checks; a float or numeric into an integer type is
    ///   rounded like PostgreSQL does. **An integer into `money` is an amount in cents** (the
    ///   number `row.get::<i64>` reads back, and [`Value::Money`]'s unit); `numeric`, floats and
    ///   text into `money` are in currency units (`12.5` is `$12.50`). An integer or integral
    ///   `numeric` into `pg_lsn` is the LSN as a number (`u64`).
    /// - Any value converts to a text type (`text`, `varchar`, `char(n)`, `name`, `citext`) as
    ///   its text form.
    /// - Text converts by parsing into `boolean`, the number types, `uuid`, `oid`, `xid`, enums
    ///   (the label must be one of the enum's, the error lists them) and `json`/`jsonb`: **text
    ///   bound to `json`/`jsonb` is JSON source text and must parse** (`'{"a":1}'`); to store a
    ///   JSON string, pass a [`Value::Json`]. Other values bound to `json`/`jsonb` are converted
    ///   with [`Value::to_json`].
    /// - Text into dates, times, timestamps, intervals, network and MAC addresses, bit strings,
    ///   `tid` and `pg_lsn` is parsed when it has the canonical form; otherwise — and for every
    ///   other type (geometric, `bytea`, `reg*`, arrays, ranges, composites, extension types) — it
    ///   becomes a [`Value::Literal`] for the server to parse with the type's own input function.
    /// - Dates, timestamps and times convert between each other; a `timestamp` read as
    ///   `timestamptz` (and the reverse) is taken as UTC.
    /// - Domains coerce to their base type; arrays, ranges, multiranges and composites element-
    ///   or field-wise.
    /// - A [`Value::Unknown`] only goes to a type of the same name.
    ///
    /// The error names both types: `cannot convert text "abc" to integer`,
    /// `value 3000000000 out of range for integer`.
    pub fn coerce_to(&self, ty: &Type) -> Result<Cow<'_, Value>, String> {
        if matches!(self, Value::Null | Value::Literal(_)) {
            return Ok(Cow::Borrowed(self));
        }
        if let Value::Unknown { type_name, .. } = self {
            if type_name == ty.name() {
                return Ok(Cow::Borrowed(self));
            }
            if is_text_type(ty) {
                return Err(cannot(self, ty));
            }
        }
        match ty.kind() {
            Kind::Domain(base) => self.coerce_to(base),
            Kind::Array(elem) => self.coerce_array(ty, elem),
            Kind::Range(elem) => match self {
                Value::Range(r) => Ok(coerce_range(r, elem)?
                    .map_or(Cow::Borrowed(self), |r| Cow::Owned(Value::Range(r)))),
                Value::Text(s) => owned(Value::Literal(s.clone())),
                _ => Err(cannot(self, ty)),
            },
            Kind::Multirange(elem) => match self {
                Value::Multirange(rs) => {
                    let mut changed = false;
                    let mut out = Vec::with_capacity(rs.len());
                    for r in rs {
                        match coerce_range(r, elem)? {
                            Some(n) => {
                                changed = true;
                                out.push(n);
                            }
                            None => out.push(r.clone()),
                        }
                    }
                    Ok(if changed {
                        Cow::Owned(Value::Multirange(out))
                    } else {
                        Cow::Borrowed(self)
                    })
                }
                Value::Range(r) => owned(Value::Multirange(vec![
                    coerce_range(r, elem)?.unwrap_or_else(|| r.clone())
                ])),
                // A one-dimensional array of ranges (a `Vec<Range>`, as a generated model's
                // multirange field holds it) is the multirange of those ranges.
                Value::Array(a)
                    if a.dims().len() <= 1
                        && a.elements().iter().all(|e| matches!(e, Value::Range(_))) =>
                {
                    let mut out = Vec::with_capacity(a.len());
                    for (i, e) in a.elements().iter().enumerate() {
                        if let Value::Range(r) = e {
                            let c = coerce_range(r, elem)
                                .map_err(|err| format!("range {}: {err}", i + 1))?;
                            out.push(c.unwrap_or_else(|| r.clone()));
                        }
                    }
                    owned(Value::Multirange(out))
                }
                Value::Text(s) => owned(Value::Literal(s.clone())),
                _ => Err(cannot(self, ty)),
            },
            Kind::Enum(labels) => {
                let label = match self {
                    Value::Enum { type_name, label } => {
                        if type_name == ty.name() && labels.contains(label) {
                            return Ok(Cow::Borrowed(self));
                        }
                        label
                    }
                    Value::Text(s) => s,
                    _ => return Err(cannot(self, ty)),
                };
                if labels.contains(label) {
                    owned(Value::Enum {
                        type_name: ty.name().to_string(),
                        label: label.clone(),
                    })
                } else {
                    Err(format!(
                        "cannot convert {} {} to {}: not one of its labels ({})",
                        self.type_name(),
                        quoted(label),
                        ty.name(),
                        labels.join(", ")
                    ))
                }
            }
            Kind::Composite(fields) => {
                let (values, same_name): (Vec<&Value>, bool) = match self {
                    Value::Composite(c) => (
                        c.fields.iter().map(|(_, v)| v).collect(),
                        c.type_name == ty.name()
                            && c.fields.iter().zip(fields).all(|((n, _), f)| n == f.name()),
                    ),
                    Value::Record(vs) => (vs.iter().collect(), false),
                    Value::Text(s) => return owned(Value::Literal(s.clone())),
                    _ => return Err(cannot(self, ty)),
                };
                if values.len() != fields.len() {
                    return Err(format!(
                        "cannot convert {} with {} fields to {} with {} fields",
                        self.type_name(),
                        values.len(),
                        ty.name(),
                        fields.len()
                    ));
                }
                let mut changed = !same_name;
                let mut out = Vec::with_capacity(fields.len());
                for (v, f) in values.into_iter().zip(fields) {
                    let c = v
                        .coerce_to(f.type_())
                        .map_err(|e| format!("field {}: {e}", f.name()))?;
                    changed |= matches!(c, Cow::Owned(_));
                    out.push((f.name().to_string(), c.into_owned()));
                }
                Ok(if changed {
                    Cow::Owned(Value::Composite(Composite {
                        type_name: ty.name().to_string(),
                        fields: out,
                    }))
                } else {
                    Cow::Borrowed(self)
                })
            }
            Kind::Pseudo => Ok(Cow::Borrowed(self)),
            _ => self.coerce_simple(ty),
        }
    }

    fn coerce_array(&self, ty: &Type, elem: &Type) -> Result<Cow<'_, Value>, String> {
        match self {
            Value::Array(a) => {
                let mut out: Option<Vec<Value>> = None;
                for (i, e) in a.elements().iter().enumerate() {
                    let c = e
                        .coerce_to(elem)
                        .map_err(|err| format!("array element {}: {err}", i + 1))?;
                    match (c, &mut out) {
                        (Cow::Borrowed(_), None) => {}
                        (c, None) => {
                            let mut v: Vec<Value> = a.elements()[..i].to_vec();
                            v.push(c.into_owned());
                            out = Some(v);
                        }
                        (c, Some(v)) => v.push(c.into_owned()),
                    }
                }
                Ok(match out {
                    Some(v) => Cow::Owned(Value::Array(a.map_elements(v))),
                    None => Cow::Borrowed(self),
                })
            }
            Value::Text(s) => owned(Value::Literal(s.clone())),
            _ => Err(cannot(self, ty)),
        }
    }

    fn coerce_simple(&self, ty: &Type) -> Result<Cow<'_, Value>, String> {
        use Value as V;
        let v = self;
        if v.has_type(ty) {
            return Ok(Cow::Borrowed(v));
        }
        if is_text_type(ty) {
            return match v {
                V::Text(_) => Ok(Cow::Borrowed(v)),
                _ => owned(V::Text(v.to_string())),
            };
        }
        // A string to be parsed by the server.
        let literal = |s: &String| owned(V::Literal(s.clone()));
        match *ty {
            Type::BOOL => match v {
                V::Text(s) => parse_bool(s).map(V::Bool).map(Cow::Owned).ok_or_else(|| cannot(v, ty)),
                _ => Err(cannot(v, ty)),
            },
            Type::INT2 | Type::INT4 | Type::INT8 => {
                let i: i128 = match v {
                    V::Int2(i) => *i as i128,
                    V::Int4(i) => *i as i128,
                    V::Int8(i) => *i as i128,
                    V::Oid(o) | V::Xid(o) | V::Cid(o) | V::RegOid { oid: o, .. } => *o as i128,
                    V::Numeric(n) => n.round_to_i128().ok_or_else(|| out_of_range(n, ty))?,
                    V::Float4(f) => float_to_int(*f as f64, ty)?,
                    V::Float8(f) => float_to_int(*f, ty)?,
                    V::Text(s) => s.trim().parse::<i128>().map_err(|_| cannot(v, ty))?,
                    _ => return Err(cannot(v, ty)),
                };
                let r = match *ty {
                    Type::INT2 => i16::try_from(i).map(V::Int2).ok(),
                    Type::INT4 => i32::try_from(i).map(V::Int4).ok(),
                    _ => i64::try_from(i).map(V::Int8).ok(),
                };
                r.map(Cow::Owned).ok_or_else(|| out_of_range(i, ty))
            }
            Type::FLOAT4 | Type::FLOAT8 => {
                let f: f64 = match v {
                    V::Int2(i) => *i as f64,
                    V::Int4(i) => *i as f64,
                    V::Int8(i) => *i as f64,
                    V::Float4(f) => *f as f64,
                    V::Float8(f) => *f,
                    V::Numeric(n) => {
                        let f = n.to_f64();
                        if n.is_finite() && f.is_infinite() {
                            return Err(out_of_range(n, ty));
                        }
                        f
                    }
                    V::Text(s) => parse_float(s).ok_or_else(|| cannot(v, ty))?,
                    _ => return Err(cannot(v, ty)),
                };
                if *ty == Type::FLOAT8 {
                    return owned(V::Float8(f));
                }
                let g = f as f32;
                if (f.is_finite() && g.is_infinite()) || (f != 0.0 && g == 0.0) {
                    return Err(out_of_range(super::format::fmt_f64(f), ty));
                }
                owned(V::Float4(g))
            }
            Type::NUMERIC => match v {
                V::Int2(i) => owned(V::Numeric((*i).into())),
                V::Int4(i) => owned(V::Numeric((*i).into())),
                V::Int8(i) => owned(V::Numeric((*i).into())),
                V::Float4(f) => owned(V::Numeric((*f).into())),
                V::Float8(f) => owned(V::Numeric((*f).into())),
                V::Money(c) => owned(V::Numeric(money_to_numeric(*c))),
                V::Text(s) => s.parse::<Numeric>().map(|n| Cow::Owned(V::Numeric(n))).map_err(|_| cannot(v, ty)),
                _ => Err(cannot(v, ty)),
            },
            Type::MONEY => {
                let n: Numeric = match v {
                    // Integers are the amount in cents, the number `get::<i64>` reads back.
                    V::Int2(i) => return owned(V::Money(*i as i64)),
                    V::Int4(i) => return owned(V::Money(*i as i64)),
                    V::Int8(i) => return owned(V::Money(*i)),
                    V::Numeric(n) => n.clone(),
                    V::Float4(f) => (*f).into(),
                    V::Float8(f) => (*f).into(),
                    V::Text(s) => match s.parse::<Numeric>() {
                        Ok(n) if n.is_finite() => n,
                        _ => return literal(s),
                    },
                    _ => return Err(cannot(v, ty)),
                };
                let cents = n
                    .round(2)
                    .to_string()
                    .replace('.', "")
                    .parse::<i64>()
                    .ok()
                    .filter(|_| n.is_finite())
                    .ok_or_else(|| out_of_range(&n, ty))?;
                owned(V::Money(cents))
            }
            Type::CHAR => match v {
                V::Text(s) if s.len() == 1 => owned(V::Char(s.as_bytes()[0])),
                V::Text(s) => literal(s),
                _ => Err(cannot(v, ty)),
            },
            Type::DATE => match v {
                V::Timestamp(t) => owned(V::Date(t.date())),
                V::TimestampTz(t) => owned(V::Date(t.to_utc_timestamp().date())),
                V::Text(s) => s.parse::<Date>().map_or_else(|_| literal(s), |d| owned(V::Date(d))),
                _ => Err(cannot(v, ty)),
            },
            Type::TIME => match v {
                V::Timestamp(t) => t.time().map(|t| Cow::Owned(V::Time(t))).ok_or_else(|| cannot(v, ty)),
                V::TimeTz(t) => owned(V::Time(t.time)),
                V::Text(s) => s.parse::<Time>().map_or_else(|_| literal(s), |t| owned(V::Time(t))),
                _ => Err(cannot(v, ty)),
            },
            Type::TIMETZ => match v {
                V::Time(t) => owned(V::TimeTz(TimeTz { time: *t, offset_seconds: 0 })),
                V::Text(s) => s.parse::<TimeTz>().map_or_else(|_| literal(s), |t| owned(V::TimeTz(t))),
                _ => Err(cannot(v, ty)),
            },
            Type::TIMESTAMP => match v {
                V::Date(d) => owned(V::Timestamp(Timestamp::from(*d))),
                V::TimestampTz(t) => owned(V::Timestamp(t.to_utc_timestamp())),
                V::Text(s) => s.parse::<Timestamp>().map_or_else(|_| literal(s), |t| owned(V::Timestamp(t))),
                _ => Err(cannot(v, ty)),
            },
            Type::TIMESTAMPTZ => match v {
                V::Date(d) => owned(V::TimestampTz(Timestamp::from(*d).into())),
                V::Timestamp(t) => owned(V::TimestampTz((*t).into())),
                V::Text(s) => s.parse::<TimestampTz>().map_or_else(|_| literal(s), |t| owned(V::TimestampTz(t))),
                _ => Err(cannot(v, ty)),
            },
            Type::INTERVAL => match v {
                V::Time(t) => owned(V::Interval(Interval::from_micros(t.micros()))),
                V::Text(s) => s.parse::<Interval>().map_or_else(|_| literal(s), |i| owned(V::Interval(i))),
                _ => Err(cannot(v, ty)),
            },
            Type::UUID => match v {
                V::Text(s) => uuid::Uuid::parse_str(s.trim())
                    .map(|u| Cow::Owned(V::Uuid(u)))
                    .map_err(|_| cannot(v, ty)),
                _ => Err(cannot(v, ty)),
            },
            Type::JSON | Type::JSONB => {
                let j = match v {
                    V::Json(j) | V::Jsonb(j) => j.clone(),
                    V::Text(s) => serde_json::from_str(s).map_err(|e| cannot_because(v, ty, e))?,
                    V::Unknown { .. } => return Err(cannot(v, ty)),
                    other => other.to_json(),
                };
                owned(if *ty == Type::JSON { V::Json(j) } else { V::Jsonb(j) })
            }
            Type::XML => match v {
                V::Text(s) => owned(V::Xml(s.clone())),
                _ => Err(cannot(v, ty)),
            },
            Type::INET => match v {
                V::Cidr(i) => owned(V::Inet(*i)),
                V::Text(s) => s.parse::<Inet>().map_or_else(|_| literal(s), |i| owned(V::Inet(i))),
                _ => Err(cannot(v, ty)),
            },
            Type::CIDR => match v {
                V::Inet(i) => owned(V::Cidr(i.network())),
                V::Text(s) => match s.parse::<Inet>() {
                    Ok(i) if i.network() == i => owned(V::Cidr(i)),
                    _ => literal(s),
                },
                _ => Err(cannot(v, ty)),
            },
            Type::MACADDR => match v {
                V::MacAddr8(m) if m[3] == 0xff && m[4] == 0xfe => {
                    owned(V::MacAddr([m[0], m[1], m[2], m[5], m[6], m[7]]))
                }
                V::MacAddr8(_) => Err(format!("cannot convert macaddr8 {v} to macaddr: only addresses with FF:FE in the 4th and 5th bytes can be")),
                V::Text(s) => parse_mac::<6>(s).map_or_else(|| literal(s), |m| owned(V::MacAddr(m))),
                _ => Err(cannot(v, ty)),
            },
            Type::MACADDR8 => match v {
                V::MacAddr(m) => owned(V::MacAddr8(mac6_to_8(m))),
                V::Text(s) => match (parse_mac::<8>(s), parse_mac::<6>(s)) {
                    (Some(m), _) => owned(V::MacAddr8(m)),
                    (None, Some(m)) => owned(V::MacAddr8(mac6_to_8(&m))),
                    _ => literal(s),
                },
                _ => Err(cannot(v, ty)),
            },
            Type::BIT | Type::VARBIT => {
                let b = match v {
                    V::Bit(b) | V::VarBit(b) => b.clone(),
                    V::Text(s) => match s.parse::<BitString>() {
                        Ok(b) => b,
                        Err(_) => return literal(s),
                    },
                    _ => return Err(cannot(v, ty)),
                };
                owned(if *ty == Type::BIT { V::Bit(b) } else { V::VarBit(b) })
            }
            Type::OID => match v {
                V::RegOid { oid, .. } => owned(V::Oid(*oid)),
                V::Int2(_) | V::Int4(_) | V::Int8(_) => {
                    let i = v.as_i64().unwrap_or(-1);
                    u32::try_from(i).map(|o| Cow::Owned(V::Oid(o))).map_err(|_| out_of_range(i, ty))
                }
                V::Text(s) => s.trim().parse::<u32>().map(|o| Cow::Owned(V::Oid(o))).map_err(|_| cannot(v, ty)),
                _ => Err(cannot(v, ty)),
            },
            _ if is_reg_type(ty) => {
                let oid = match v {
                    V::Oid(o) | V::RegOid { oid: o, .. } => *o,
                    V::Int2(_) | V::Int4(_) | V::Int8(_) => {
                        let i = v.as_i64().unwrap_or(-1);
                        u32::try_from(i).map_err(|_| out_of_range(i, ty))?
                    }
                    V::Text(s) => return literal(s),
                    _ => return Err(cannot(v, ty)),
                };
                owned(V::RegOid { type_name: ty.name().to_string(), oid })
            }
            Type::XID | Type::CID => match v {
                V::Text(s) => {
                    let x = s.trim().parse::<u32>().map_err(|_| cannot(v, ty))?;
                    owned(if *ty == Type::XID { V::Xid(x) } else { V::Cid(x) })
                }
                _ => Err(cannot(v, ty)),
            },
            Type::XID8 => match v {
                V::Text(s) => s.trim().parse::<u64>().map(|x| Cow::Owned(V::Xid8(x))).map_err(|_| cannot(v, ty)),
                _ => Err(cannot(v, ty)),
            },
            Type::TID => match v {
                V::Text(s) => s.parse::<Tid>().map_or_else(|_| literal(s), |t| owned(V::Tid(t))),
                _ => Err(cannot(v, ty)),
            },
            Type::PG_LSN => match v {
                V::Text(s) => parse_lsn(s).map_or_else(|| literal(s), |l| owned(V::PgLsn(l))),
                // The LSN as a number (`u64`, what `get::<u64>` reads).
                V::Int2(_) | V::Int4(_) | V::Int8(_) | V::Numeric(_) => {
                    let i = match v {
                        V::Numeric(n) if n.is_integral() => n.round_to_i128(),
                        V::Numeric(_) => None,
                        _ => v.as_i64().map(i128::from),
                    };
                    match i {
                        Some(i) => u64::try_from(i).map(|l| Cow::Owned(V::PgLsn(l))).map_err(|_| out_of_range(i, ty)),
                        None => Err(cannot(v, ty)),
                    }
                }
                _ => Err(cannot(v, ty)),
            },
            Type::TS_VECTOR => match v {
                V::Text(s) => owned(V::TsVector(s.clone())),
                _ => Err(cannot(v, ty)),
            },
            Type::TSQUERY => match v {
                V::Text(s) => owned(V::TsQuery(s.clone())),
                _ => Err(cannot(v, ty)),
            },
            Type::BYTEA
            | Type::POINT
            | Type::LINE
            | Type::LSEG
            | Type::BOX
            | Type::PATH
            | Type::POLYGON
            | Type::CIRCLE => match v {
                V::Text(s) => literal(s),
                _ => Err(cannot(v, ty)),
            },
            // A type this module has no binary form for (an extension's, typically): the server
            // parses the value's text form.
            _ if Type::from_oid(ty.oid()).is_none() => match v {
                V::Text(s) => literal(s),
                V::Unknown { .. } => Err(cannot(v, ty)),
                other => owned(V::Literal(other.to_string())),
            },
            _ => match v {
                V::Text(s) => literal(s),
                _ => Err(cannot(v, ty)),
            },
        }
    }

    /// True when this value already has the binary form of (simple) type `ty`.
    fn has_type(&self, ty: &Type) -> bool {
        use Value as V;
        match self {
            V::Bool(_) => *ty == Type::BOOL,
            V::Int2(_) => *ty == Type::INT2,
            V::Int4(_) => *ty == Type::INT4,
            V::Int8(_) => *ty == Type::INT8,
            V::Float4(_) => *ty == Type::FLOAT4,
            V::Float8(_) => *ty == Type::FLOAT8,
            V::Numeric(_) => *ty == Type::NUMERIC,
            V::Money(_) => *ty == Type::MONEY,
            V::Text(_) => is_text_type(ty),
            V::Char(_) => *ty == Type::CHAR,
            V::Bytea(_) => *ty == Type::BYTEA,
            V::Date(_) => *ty == Type::DATE,
            V::Time(_) => *ty == Type::TIME,
            V::TimeTz(_) => *ty == Type::TIMETZ,
            V::Timestamp(_) => *ty == Type::TIMESTAMP,
            V::TimestampTz(_) => *ty == Type::TIMESTAMPTZ,
            V::Interval(_) => *ty == Type::INTERVAL,
            V::Uuid(_) => *ty == Type::UUID,
            V::Json(_) => *ty == Type::JSON,
            V::Jsonb(_) => *ty == Type::JSONB,
            V::Xml(_) => *ty == Type::XML,
            V::Inet(_) => *ty == Type::INET,
            V::Cidr(_) => *ty == Type::CIDR,
            V::MacAddr(_) => *ty == Type::MACADDR,
            V::MacAddr8(_) => *ty == Type::MACADDR8,
            V::Bit(_) => *ty == Type::BIT,
            V::VarBit(_) => *ty == Type::VARBIT,
            V::Point(_) => *ty == Type::POINT,
            V::Line(_) => *ty == Type::LINE,
            V::Lseg(_) => *ty == Type::LSEG,
            V::Box(_) => *ty == Type::BOX,
            V::Path(_) => *ty == Type::PATH,
            V::Polygon(_) => *ty == Type::POLYGON,
            V::Circle(_) => *ty == Type::CIRCLE,
            V::Oid(_) => *ty == Type::OID,
            V::RegOid { type_name, .. } => type_name == ty.name(),
            V::Xid(_) => *ty == Type::XID,
            V::Xid8(_) => *ty == Type::XID8,
            V::Cid(_) => *ty == Type::CID,
            V::Tid(_) => *ty == Type::TID,
            V::PgLsn(_) => *ty == Type::PG_LSN,
            V::TsVector(_) => *ty == Type::TS_VECTOR,
            V::TsQuery(_) => *ty == Type::TSQUERY,
            V::Record(_) | V::Composite(_) => *ty == Type::RECORD,
            _ => false,
        }
    }

    /// The value as an `i64` when it is an integer type.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int2(i) => Some(*i as i64),
            Value::Int4(i) => Some(*i as i64),
            Value::Int8(i) => Some(*i),
            _ => None,
        }
    }
}

/// Coerces the bounds of a range; `None` when nothing changed.
fn coerce_range(r: &Range, elem: &Type) -> Result<Option<Range>, String> {
    let Range::Bounds { lower, upper } = r else {
        return Ok(None);
    };
    let conv = |b: &RangeBound| -> Result<Option<RangeBound>, String> {
        match b.value() {
            Some(v) => match v.coerce_to(elem).map_err(|e| format!("range bound: {e}"))? {
                Cow::Borrowed(_) => Ok(None),
                Cow::Owned(n) => Ok(Some(b.with_value(n))),
            },
            None => Ok(None),
        }
    };
    let (l, u) = (conv(lower)?, conv(upper)?);
    if l.is_none() && u.is_none() {
        return Ok(None);
    }
    Ok(Some(Range::Bounds {
        lower: l.unwrap_or_else(|| lower.clone()),
        upper: u.unwrap_or_else(|| upper.clone()),
    }))
}

/// A float into an integer type: rounded to nearest, ties to even (PostgreSQL's `rint`).
fn float_to_int(f: f64, ty: &Type) -> Result<i128, String> {
    if !f.is_finite() || f.abs() >= 1.7e38 {
        return Err(out_of_range(super::format::fmt_f64(f), ty));
    }
    Ok(f.round_ties_even() as i128)
}

fn money_to_numeric(cents: i64) -> Numeric {
    let neg = cents < 0;
    let a = cents.unsigned_abs();
    format!("{}{}.{:02}", if neg { "-" } else { "" }, a / 100, a % 100)
        .parse()
        .unwrap_or_else(|_| Numeric::nan())
}

fn mac6_to_8(m: &[u8; 6]) -> [u8; 8] {
    [m[0], m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: Value, ty: &Type) -> Result<Value, String> {
        v.coerce_to(ty).map(Cow::into_owned)
    }

    #[test]
    fn numbers() {
        assert_eq!(c(Value::Int4(5), &Type::INT8), Ok(Value::Int8(5)));
        assert_eq!(c(Value::Int4(5), &Type::FLOAT4), Ok(Value::Float4(5.0)));
        assert_eq!(
            c(Value::Int4(5), &Type::NUMERIC),
            Ok(Value::Numeric(5.into()))
        );
        assert_eq!(
            c(Value::Int8(3_000_000_000), &Type::INT4),
            Err("value 3000000000 out of range for integer".into())
        );
        assert_eq!(
            c(Value::Int4(70000), &Type::INT2),
            Err("value 70000 out of range for smallint".into())
        );
        assert_eq!(c(Value::Float8(2.5), &Type::INT4), Ok(Value::Int4(2)));
        assert_eq!(
            c(Value::Numeric("2.5".parse().unwrap()), &Type::INT4),
            Ok(Value::Int4(3))
        );
        assert_eq!(
            c(Value::Text("abc".into()), &Type::INT4),
            Err("cannot convert text \"abc\" to integer".into())
        );
        assert_eq!(
            c(Value::Text(" 42 ".into()), &Type::INT4),
            Ok(Value::Int4(42))
        );
        assert_eq!(
            c(Value::Float8(1e300), &Type::FLOAT4),
            Err("value 1e+300 out of range for real".into())
        );
        assert_eq!(c(Value::Int4(1234), &Type::MONEY), Ok(Value::Money(1234)));
        assert_eq!(c(Value::Int8(-5), &Type::MONEY), Ok(Value::Money(-5)));
        assert_eq!(c(Value::Float8(12.5), &Type::MONEY), Ok(Value::Money(1250)));
        assert_eq!(
            c(Value::Int8(0x16_B374_D848), &Type::PG_LSN),
            Ok(Value::PgLsn(0x16_B374_D848))
        );
        assert_eq!(
            c(Value::Int4(-1), &Type::PG_LSN),
            Err("value -1 out of range for pg_lsn".into())
        );
        assert_eq!(
            c(Value::Money(-123456), &Type::NUMERIC),
            Ok(Value::Numeric("-1234.56".parse().unwrap()))
        );
        assert_eq!(
            c(Value::Bool(true), &Type::INT4),
            Err("cannot convert boolean to integer".into())
        );
        assert!(matches!(
            Value::Int4(1).coerce_to(&Type::INT4),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn text_targets() {
        assert_eq!(c(Value::Int4(5), &Type::TEXT), Ok(Value::Text("5".into())));
        assert_eq!(
            c(Value::Text("yes".into()), &Type::BOOL),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            c(Value::Text("{\"a\":1}".into()), &Type::JSONB),
            Ok(Value::Jsonb(serde_json::json!({"a": 1})))
        );
        assert!(c(Value::Text("abc".into()), &Type::JSON)
            .unwrap_err()
            .starts_with("cannot convert text \"abc\" to json: "));
        assert_eq!(
            c(Value::Int4(5), &Type::JSON),
            Ok(Value::Json(serde_json::json!(5)))
        );
        assert_eq!(
            c(Value::Text("now".into()), &Type::TIMESTAMPTZ),
            Ok(Value::Literal("now".into()))
        );
        assert_eq!(
            c(Value::Text("2024-01-02".into()), &Type::DATE),
            Ok(Value::Date("2024-01-02".parse().unwrap()))
        );
        assert_eq!(
            c(Value::Text("{1,2}".into()), &Type::INT4_ARRAY),
            Ok(Value::Literal("{1,2}".into()))
        );
        assert!(c(Value::Text("nope".into()), &Type::UUID).is_err());
    }

    #[test]
    fn containers() {
        let a = Value::from(vec![1i32, 2]);
        assert_eq!(
            c(a.clone(), &Type::INT8_ARRAY),
            Ok(Value::from(vec![1i64, 2]))
        );
        assert!(matches!(
            a.coerce_to(&Type::INT4_ARRAY),
            Ok(Cow::Borrowed(_))
        ));
        let e = c(Value::from(vec![1i64, 3_000_000_000]), &Type::INT4_ARRAY).unwrap_err();
        assert_eq!(
            e,
            "array element 2: value 3000000000 out of range for integer"
        );
        let r = Value::Range(Range::closed_open(1i32, 5i32));
        assert_eq!(
            c(r, &Type::INT8_RANGE),
            Ok(Value::Range(Range::closed_open(1i64, 5i64)))
        );
        let ty = Type::new(
            "mood".into(),
            1,
            Kind::Enum(vec!["sad".into(), "ok".into()]),
            "public".into(),
        );
        assert_eq!(
            c(Value::Text("ok".into()), &ty),
            Ok(Value::Enum {
                type_name: "mood".into(),
                label: "ok".into()
            })
        );
        assert_eq!(
            c(Value::Text("happy".into()), &ty),
            Err("cannot convert text \"happy\" to mood: not one of its labels (sad, ok)".into())
        );
    }

    #[test]
    fn bools() {
        for t in ["t", "TRUE", "yes", "on", "1", " y "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["f", "false", "no", "off", "of", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for x in ["", "o", "maybe", "2"] {
            assert_eq!(parse_bool(x), None, "{x}");
        }
    }
}
