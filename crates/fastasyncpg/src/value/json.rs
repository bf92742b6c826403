//! [`Value::to_json`]: an exact JSON form of any value.

use serde_json::{Map, Number, Value as J};

use super::containers::{Range, RangeBound};
use super::datetime::{iso_date, iso_timestamp, TimeTz};
use super::format::{fmt_bytea, fmt_char, fmt_f32, fmt_f64};
use super::Value;

/// A JSON number with exactly these digits (serde_json keeps them: `arbitrary_precision`).
fn number(digits: &str) -> J {
    digits
        .parse::<Number>()
        .map(J::Number)
        .unwrap_or_else(|_| J::String(digits.to_string()))
}

fn iso_timetz(t: &TimeTz) -> String {
    let east = t.offset_seconds;
    let sign = if east < 0 { '-' } else { '+' };
    let a = east.unsigned_abs();
    let mut s = format!("{}{sign}{:02}:{:02}", t.time, a / 3600, a / 60 % 60);
    if a % 60 != 0 {
        s.push_str(&format!(":{:02}", a % 60));
    }
    s
}

fn range_json(r: &Range) -> J {
    match r {
        Range::Empty => J::String("empty".into()),
        Range::Bounds { lower, upper } => {
            let mut m = Map::new();
            m.insert(
                "lower".into(),
                lower.value().map_or(J::Null, Value::to_json),
            );
            m.insert(
                "upper".into(),
                upper.value().map_or(J::Null, Value::to_json),
            );
            let l = if matches!(lower, RangeBound::Inclusive(_)) {
                '['
            } else {
                '('
            };
            let u = if matches!(upper, RangeBound::Inclusive(_)) {
                ']'
            } else {
                ')'
            };
            m.insert("bounds".into(), J::String(format!("{l}{u}")));
            J::Object(m)
        }
    }
}

impl Value {
    /// The value as JSON, exactly:
    ///
    /// - numbers (integers, floats, `numeric`, `money`) as JSON numbers with the exact digits
    ///   PostgreSQL would print; `NaN`, `Infinity` and `-Infinity` as strings;
    /// - `bytea` (and unknown types' raw bytes) as a `"\x…"` hex string;
    /// - dates, times and timestamps in ISO 8601 (`2024-01-15T10:30:00`, `…+00:00` for
    ///   `timestamptz`, `"infinity"`/`"-infinity"`);
    /// - `json`/`jsonb` as themselves; arrays as nested JSON arrays; composites as objects;
    ///   anonymous records and multiranges as arrays;
    /// - ranges as `{"lower":…,"upper":…,"bounds":"[)"}` (a missing bound is `null`) or
    ///   `"empty"`;
    /// - intervals and everything else as their PostgreSQL text form.
    pub fn to_json(&self) -> J {
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int2(v) => J::from(*v),
            Value::Int4(v) => J::from(*v),
            Value::Int8(v) => J::from(*v),
            Value::Oid(v) | Value::Xid(v) | Value::Cid(v) | Value::RegOid { oid: v, .. } => {
                J::from(*v)
            }
            Value::Xid8(v) => J::from(*v),
            Value::Float4(v) if v.is_finite() => number(&fmt_f32(*v)),
            Value::Float8(v) if v.is_finite() => number(&fmt_f64(*v)),
            Value::Numeric(n) if n.is_finite() => number(&n.to_string()),
            Value::Money(c) => {
                let a = c.unsigned_abs();
                number(&format!(
                    "{}{}.{:02}",
                    if *c < 0 { "-" } else { "" },
                    a / 100,
                    a % 100
                ))
            }
            Value::Text(s)
            | Value::Literal(s)
            | Value::Xml(s)
            | Value::TsVector(s)
            | Value::TsQuery(s) => J::String(s.clone()),
            Value::Enum { label, .. } => J::String(label.clone()),
            Value::Char(c) => J::String(fmt_char(*c)),
            Value::Bytea(b) | Value::Unknown { bytes: b, .. } => J::String(fmt_bytea(b)),
            Value::Date(d) => J::String(iso_date(d.pg_days() as i64)),
            Value::TimeTz(t) => J::String(iso_timetz(t)),
            Value::Timestamp(t) => J::String(iso_timestamp(t.pg_micros(), false)),
            Value::TimestampTz(t) => J::String(iso_timestamp(t.pg_micros(), true)),
            Value::Json(j) | Value::Jsonb(j) => j.clone(),
            Value::Array(a) => J::Array(a.clone().into_rows().iter().map(Value::to_json).collect()),
            Value::Range(r) => range_json(r),
            Value::Multirange(rs) => J::Array(rs.iter().map(range_json).collect()),
            Value::Composite(c) => J::Object(
                c.fields
                    .iter()
                    .map(|(n, v)| (n.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Record(vs) => J::Array(vs.iter().map(Value::to_json).collect()),
            other => J::String(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Numeric;

    #[test]
    fn exact_numbers() {
        let n: Numeric = "123456789012345678901234567890.000000000000000000001"
            .parse()
            .unwrap();
        assert_eq!(
            Value::Numeric(n).to_json().to_string(),
            "123456789012345678901234567890.000000000000000000001"
        );
        assert_eq!(
            Value::Numeric(Numeric::nan()).to_json(),
            J::String("NaN".into())
        );
        assert_eq!(Value::Float4(0.1).to_json().to_string(), "0.1");
        assert_eq!(
            Value::Float8(f64::INFINITY).to_json(),
            J::String("Infinity".into())
        );
        assert_eq!(Value::Money(-5).to_json().to_string(), "-0.05");
        assert_eq!(
            Value::Bytea(vec![1, 255]).to_json(),
            J::String("\\x01ff".into())
        );
        let a = Value::from(vec![vec![1, 2], vec![3, 4]]);
        assert_eq!(a.to_json().to_string(), "[[1,2],[3,4]]");
    }
}
