//! Binary encoding: `impl ToSql for Value`, for every type.

use bytes::{BufMut, BytesMut};
use postgres_protocol::types as pt;
use postgres_protocol::IsNull as PIsNull;
use postgres_types::{to_sql_checked, Format, IsNull, Kind, ToSql, Type};

use super::containers::{Range, RangeBound};
use super::Value;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    /// Encodes the value for a parameter of type `ty`. The value is first converted with
    /// [`Value::coerce_to`] (a no-op when it already has the right type), so an `Int4` can be
    /// bound to a `bigint` parameter, text to an enum, etc.; a value that cannot be converted
    /// fails with the coercion's message. Values that must travel as text (see
    /// [`ToSql::encode_format`]) are written in their text form.
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let v = self.coerce_to(ty)?;
        if v.is_null() {
            return Ok(IsNull::Yes);
        }
        if v.needs_text_format() {
            out.put_slice(v.to_string().as_bytes());
            return Ok(IsNull::No);
        }
        encode(&v, ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    /// Text for [`Value::Literal`], `tsvector`/`tsquery` values (sent in their text form) and
    /// containers holding one of them; binary for everything else.
    fn encode_format(&self, ty: &Type) -> Format {
        match self.coerce_to(ty) {
            Ok(v) if v.needs_text_format() => Format::Text,
            _ => Format::Binary,
        }
    }

    to_sql_checked!();
}

impl Value {
    /// True when this (already coerced) value must be sent in text format.
    pub(crate) fn needs_text_format(&self) -> bool {
        match self {
            Value::Literal(_) | Value::TsVector(_) | Value::TsQuery(_) => true,
            Value::Array(a) => a.elements().iter().any(Value::needs_text_format),
            Value::Range(r) => range_needs_text(r),
            Value::Multirange(rs) => rs.iter().any(range_needs_text),
            Value::Composite(c) => c.fields.iter().any(|(_, v)| v.needs_text_format()),
            Value::Record(vs) => vs.iter().any(Value::needs_text_format),
            _ => false,
        }
    }
}

fn range_needs_text(r: &Range) -> bool {
    match r {
        Range::Empty => false,
        Range::Bounds { lower, upper } => {
            lower.value().is_some_and(Value::needs_text_format)
                || upper.value().is_some_and(Value::needs_text_format)
        }
    }
}

/// The type under any domains.
pub(crate) fn base_type(ty: &Type) -> &Type {
    let mut t = ty;
    while let Kind::Domain(base) = t.kind() {
        t = base;
    }
    t
}

fn mismatch(v: &Value, ty: &Type) -> BoxError {
    format!(
        "cannot encode {} as {}",
        v.type_name(),
        super::sql_type_name(ty)
    )
    .into()
}

fn to_protocol_null(n: IsNull) -> PIsNull {
    match n {
        IsNull::Yes => PIsNull::Yes,
        IsNull::No => PIsNull::No,
    }
}

/// Writes the binary form of an already-coerced value for type `ty`.
pub(crate) fn encode(v: &Value, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    let ty = base_type(ty);
    match v {
        Value::Null => return Ok(IsNull::Yes),
        Value::Bool(b) => pt::bool_to_sql(*b, out),
        Value::Int2(i) => pt::int2_to_sql(*i, out),
        Value::Int4(i) => pt::int4_to_sql(*i, out),
        Value::Int8(i) | Value::Money(i) => pt::int8_to_sql(*i, out),
        Value::Float4(f) => pt::float4_to_sql(*f, out),
        Value::Float8(f) => pt::float8_to_sql(*f, out),
        Value::Numeric(n) => n.to_binary(out)?,
        Value::Text(s)
        | Value::Xml(s)
        | Value::Literal(s)
        | Value::TsVector(s)
        | Value::TsQuery(s) => pt::text_to_sql(s, out),
        Value::Enum { label, .. } => pt::text_to_sql(label, out),
        Value::Char(c) => out.put_u8(*c),
        Value::Bytea(b) => pt::bytea_to_sql(b, out),
        Value::Date(d) => pt::date_to_sql(d.pg_days(), out),
        Value::Time(t) => pt::time_to_sql(t.micros(), out),
        Value::TimeTz(t) => {
            out.put_i64(t.time.micros());
            out.put_i32(-t.offset_seconds);
        }
        Value::Timestamp(t) => pt::timestamp_to_sql(t.pg_micros(), out),
        Value::TimestampTz(t) => pt::timestamp_to_sql(t.pg_micros(), out),
        Value::Interval(i) => {
            out.put_i64(i.microseconds);
            out.put_i32(i.days);
            out.put_i32(i.months);
        }
        Value::Uuid(u) => pt::uuid_to_sql(*u.as_bytes(), out),
        Value::Json(j) | Value::Jsonb(j) => {
            if *ty == Type::JSONB {
                out.put_u8(1);
            }
            serde_json::to_writer(out.writer(), j)?;
        }
        Value::Inet(i) | Value::Cidr(i) => {
            let (family, bytes): (u8, Vec<u8>) = match i.addr {
                std::net::IpAddr::V4(a) => (2, a.octets().to_vec()),
                std::net::IpAddr::V6(a) => (3, a.octets().to_vec()),
            };
            out.put_u8(family);
            out.put_u8(i.prefix);
            out.put_u8(u8::from(*ty == Type::CIDR));
            out.put_u8(bytes.len() as u8);
            out.put_slice(&bytes);
        }
        Value::MacAddr(m) => out.put_slice(m),
        Value::MacAddr8(m) => out.put_slice(m),
        Value::Bit(b) | Value::VarBit(b) => {
            out.put_i32(i32::try_from(b.len())?);
            out.put_slice(b.as_bytes());
        }
        Value::Point(p) => pt::point_to_sql(p.x, p.y, out),
        Value::Line(l) => {
            out.put_f64(l.a);
            out.put_f64(l.b);
            out.put_f64(l.c);
        }
        Value::Lseg(l) => {
            for f in [l.start.x, l.start.y, l.end.x, l.end.y] {
                out.put_f64(f);
            }
        }
        Value::Box(b) => pt::box_to_sql(b.high.x, b.high.y, b.low.x, b.low.y, out),
        Value::Path(p) => pt::path_to_sql(p.closed, p.points.iter().map(|p| (p.x, p.y)), out)?,
        Value::Polygon(p) => {
            out.put_i32(i32::try_from(p.points.len())?);
            for pt in &p.points {
                out.put_f64(pt.x);
                out.put_f64(pt.y);
            }
        }
        Value::Circle(c) => {
            out.put_f64(c.center.x);
            out.put_f64(c.center.y);
            out.put_f64(c.radius);
        }
        Value::Oid(o) | Value::Xid(o) | Value::Cid(o) | Value::RegOid { oid: o, .. } => {
            pt::oid_to_sql(*o, out)
        }
        Value::Xid8(x) => out.put_u64(*x),
        Value::Tid(t) => {
            out.put_u32(t.block);
            out.put_u16(t.offset);
        }
        Value::PgLsn(l) => pt::lsn_to_sql(*l, out),
        Value::Array(a) => {
            let elem = match ty.kind() {
                Kind::Array(elem) => elem,
                _ => return Err(mismatch(v, ty)),
            };
            let dims = a.dims().iter().map(|d| pt::ArrayDimension {
                len: d.len,
                lower_bound: d.lower_bound,
            });
            pt::array_to_sql(
                dims,
                elem.oid(),
                a.elements(),
                |e, buf| encode(e, elem, buf).map(to_protocol_null),
                out,
            )?;
        }
        Value::Range(r) => {
            let elem = match ty.kind() {
                Kind::Range(elem) => elem,
                _ => return Err(mismatch(v, ty)),
            };
            encode_range(r, elem, out)?;
        }
        Value::Multirange(rs) => {
            let elem = match ty.kind() {
                Kind::Multirange(elem) => elem,
                _ => return Err(mismatch(v, ty)),
            };
            out.put_i32(i32::try_from(rs.len())?);
            for r in rs {
                let at = out.len();
                out.put_i32(0);
                encode_range(r, elem, out)?;
                let len = i32::try_from(out.len() - at - 4)?;
                out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
        Value::Composite(c) => {
            encode_record(c.fields.iter().map(|(_, v)| v), c.fields.len(), v, ty, out)?
        }
        Value::Record(vs) => encode_record(vs.iter(), vs.len(), v, ty, out)?,
        Value::Unknown { bytes, .. } => out.put_slice(bytes),
    }
    Ok(IsNull::No)
}

fn encode_range(r: &Range, elem: &Type, out: &mut BytesMut) -> Result<(), BoxError> {
    match r {
        Range::Empty => {
            pt::empty_range_to_sql(out);
            Ok(())
        }
        Range::Bounds { lower, upper } => {
            let bound =
                |b: &RangeBound, buf: &mut BytesMut| -> Result<pt::RangeBound<PIsNull>, BoxError> {
                    Ok(match b {
                        RangeBound::Inclusive(v) => {
                            pt::RangeBound::Inclusive(to_protocol_null(encode(v, elem, buf)?))
                        }
                        RangeBound::Exclusive(v) => {
                            pt::RangeBound::Exclusive(to_protocol_null(encode(v, elem, buf)?))
                        }
                        RangeBound::Unbounded => pt::RangeBound::Unbounded,
                    })
                };
            pt::range_to_sql(|buf| bound(lower, buf), |buf| bound(upper, buf), out)
        }
    }
}

fn encode_record<'a>(
    values: impl Iterator<Item = &'a Value>,
    n: usize,
    whole: &Value,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<(), BoxError> {
    let fields = match ty.kind() {
        Kind::Composite(fields) if fields.len() == n => fields,
        _ => return Err(mismatch(whole, ty)),
    };
    out.put_i32(i32::try_from(n)?);
    for (v, f) in values.zip(fields) {
        out.put_u32(f.type_().oid());
        let at = out.len();
        out.put_i32(0);
        match encode(v, f.type_(), out)? {
            IsNull::Yes => {
                out.truncate(at);
                out.put_i32(-1);
            }
            IsNull::No => {
                let len = i32::try_from(out.len() - at - 4)?;
                out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
    }
    Ok(())
}
