//! Text forms: `Display` of [`Value`] (PostgreSQL's text syntax) and `repr`.

use std::fmt;

use super::containers::{fmt_multirange, fmt_record};
use super::misc::{fmt_lsn, fmt_mac};
use super::Value;

/// Formats a float like PostgreSQL's `float8out`/`float4out` (shortest exact digits; exponent
/// form below 1e-4 and from 10^`max_exp`).
fn fmt_float(sci: String, max_exp: i32) -> String {
    // `sci` is Rust's `{:e}` form: "-1.2345e3", "5e-324", "0e0"
    let Some((mant, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= max_exp {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// A `double precision` as PostgreSQL writes it: `1.5`, `1e+300`, `NaN`, `-Infinity`.
pub(crate) fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        fmt_float(format!("{v:e}"), 15)
    }
}

/// A `real` as PostgreSQL writes it: `1.5`, `1.234567e+06`, `NaN`, `-Infinity`.
pub(crate) fn fmt_f32(v: f32) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        fmt_float(format!("{v:e}"), 6)
    }
}

/// `\x` followed by lowercase hex digits (PostgreSQL's `bytea_output = hex`).
pub(crate) fn fmt_bytea(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("\\x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// PostgreSQL's `"char"` output: the byte, `\ooo` octal for bytes ≥ 128, empty for 0.
pub(crate) fn fmt_char(c: u8) -> String {
    match c {
        0 => String::new(),
        c if c >= 128 => format!("\\{c:03o}"),
        c => (c as char).to_string(),
    }
}

/// `money` in the C locale: `$1,234.56`, `-$0.05`.
pub(crate) fn fmt_money(cents: i64) -> String {
    let neg = cents < 0;
    let a = cents.unsigned_abs();
    let int = (a / 100).to_string();
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}${}.{:02}", if neg { "-" } else { "" }, grouped, a % 100)
}

impl fmt::Display for Value {
    /// PostgreSQL's text form of the value, which is also valid text input for its type: send it
    /// as a text-format parameter and the server reads back the same value. `Null` displays as
    /// `NULL`; `Unknown` values display their raw bytes as `\x…` hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => f.write_str(if *b { "t" } else { "f" }),
            Value::Int2(v) => write!(f, "{v}"),
            Value::Int4(v) => write!(f, "{v}"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Float4(v) => f.write_str(&fmt_f32(*v)),
            Value::Float8(v) => f.write_str(&fmt_f64(*v)),
            Value::Numeric(v) => write!(f, "{v}"),
            Value::Money(v) => f.write_str(&fmt_money(*v)),
            Value::Text(s)
            | Value::Literal(s)
            | Value::Xml(s)
            | Value::TsVector(s)
            | Value::TsQuery(s) => f.write_str(s),
            Value::Char(c) => f.write_str(&fmt_char(*c)),
            Value::Bytea(b) => f.write_str(&fmt_bytea(b)),
            Value::Date(v) => write!(f, "{v}"),
            Value::Time(v) => write!(f, "{v}"),
            Value::TimeTz(v) => write!(f, "{v}"),
            Value::Timestamp(v) => write!(f, "{v}"),
            Value::TimestampTz(v) => write!(f, "{v}"),
            Value::Interval(v) => write!(f, "{v}"),
            Value::Uuid(v) => write!(f, "{v}"),
            Value::Json(v) | Value::Jsonb(v) => write!(f, "{v}"),
            Value::Inet(v) => write!(f, "{v}"),
            Value::Cidr(v) => f.write_str(&v.to_cidr_string()),
            Value::MacAddr(v) => f.write_str(&fmt_mac(v)),
            Value::MacAddr8(v) => f.write_str(&fmt_mac(v)),
            Value::Bit(v) | Value::VarBit(v) => write!(f, "{v}"),
            Value::Point(v) => write!(f, "{v}"),
            Value::Line(v) => write!(f, "{v}"),
            Value::Lseg(v) => write!(f, "{v}"),
            Value::Box(v) => write!(f, "{v}"),
            Value::Path(v) => write!(f, "{v}"),
            Value::Polygon(v) => write!(f, "{v}"),
            Value::Circle(v) => write!(f, "{v}"),
            Value::Oid(v) | Value::Xid(v) | Value::Cid(v) => write!(f, "{v}"),
            Value::RegOid { oid, .. } => write!(f, "{oid}"),
            Value::Xid8(v) => write!(f, "{v}"),
            Value::Tid(v) => write!(f, "{v}"),
            Value::PgLsn(v) => f.write_str(&fmt_lsn(*v)),
            Value::Enum { label, .. } => f.write_str(label),
            Value::Array(a) => write!(f, "{a}"),
            Value::Range(r) => write!(f, "{r}"),
            Value::Multirange(rs) => fmt_multirange(f, rs),
            Value::Composite(c) => fmt_record(f, c.fields.iter().map(|(_, v)| v)),
            Value::Record(vs) => fmt_record(f, vs.iter()),
            Value::Unknown { bytes, .. } => f.write_str(&fmt_bytea(bytes)),
        }
    }
}

/// A Python-like quoted string: `'it''s'` style escapes are `\'`.
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn py_bytes(b: &[u8]) -> String {
    let mut out = String::from("b'");
    for &c in b {
        match c {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('\'');
    out
}

impl Value {
    /// A short, Python-`repr`-like form for debugging output: strings quoted (`'abc'`), NULL as
    /// `None`, booleans `True`/`False`, bytea as `b'…'`, arrays as `[…]`, records as `(…)`;
    /// other values in their PostgreSQL text form.
    pub fn repr(&self) -> String {
        match self {
            Value::Null => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Text(s) | Value::Literal(s) | Value::Xml(s) => py_str(s),
            Value::Enum { label, .. } => py_str(label),
            Value::Char(c) => py_str(&fmt_char(*c)),
            Value::Bytea(b) => py_bytes(b),
            Value::Bit(b) | Value::VarBit(b) => format!("B'{b}'"),
            Value::Array(a) => {
                let items: Vec<String> = a.clone().into_rows().iter().map(Value::repr).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Composite(c) => {
                let items: Vec<String> = c.fields.iter().map(|(_, v)| v.repr()).collect();
                format!("({})", items.join(", "))
            }
            Value::Record(vs) => {
                let items: Vec<String> = vs.iter().map(Value::repr).collect();
                format!("({})", items.join(", "))
            }
            Value::Unknown { type_name, bytes } => format!("{type_name}({})", py_bytes(bytes)),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_postgres() {
        let cases = [
            (1e300, "1e+300"),
            (1e-7, "1e-07"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.5e15, "1.5e+15"),
            (123456789012345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1.5, "1.5"),
            (-2.0, "-2"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (v, s) in cases {
            assert_eq!(fmt_f64(v), s);
            if v.is_finite() {
                assert_eq!(s.parse::<f64>().unwrap(), v);
            }
        }
        assert_eq!(fmt_f32(1234567.0), "1.234567e+06");
        assert_eq!(fmt_f32(123456.0), "123456");
        assert_eq!(fmt_f32(0.1), "0.1");
    }

    #[test]
    fn misc_formats() {
        assert_eq!(fmt_money(-123456), "-$1,234.56");
        assert_eq!(fmt_money(5), "$0.05");
        assert_eq!(fmt_money(100_000_000), "$1,000,000.00");
        assert_eq!(fmt_char(200), "\\310");
        assert_eq!(fmt_char(b'A'), "A");
        assert_eq!(fmt_bytea(&[0xde, 0xad]), "\\xdead");
        assert_eq!(Value::Text("it's".into()).repr(), "'it\\'s'");
        assert_eq!(Value::Null.repr(), "None");
    }
}
