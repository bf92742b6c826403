//! [`Numeric`]: PostgreSQL's arbitrary-precision `numeric`, kept exactly.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

/// Largest decimal exponent accepted by [`Numeric::from_str`] (PostgreSQL allows 131072 digits
/// before the decimal point and 16383 after).
const MAX_EXPONENT: i64 = 140_000;

/// An exact PostgreSQL `numeric`: any number of digits, its display scale, `NaN` and
/// `±Infinity`.
///
/// The value is kept as its canonical decimal text (`-123.4500`): no digit is ever lost, and the
/// scale (number of digits after the point) is preserved, as PostgreSQL does. Equality is
/// therefore textual: `1.2` and `1.20` are different `Numeric`s (they are equal in SQL).
///
/// ```
/// use fastasyncpg::value::Numeric;
/// let n: Numeric = "1234567890123456789012345678901234567890.000001".parse().unwrap();
/// assert_eq!(n.to_string(), "1234567890123456789012345678901234567890.000001");
/// assert_eq!("1e-3".parse::<Numeric>().unwrap().to_string(), "0.001");
/// assert!(Numeric::nan().is_nan());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Numeric(Repr);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Repr {
    NaN,
    Infinity,
    NegInfinity,
    /// Canonical text: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, never `-0…`.
    Finite(String),
}

/// The error of [`Numeric::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseNumericError(String);

impl fmt::Display for ParseNumericError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid numeric {:?}", self.0)
    }
}

impl std::error::Error for ParseNumericError {}

impl Numeric {
    /// `NaN`.
    pub fn nan() -> Self {
        Numeric(Repr::NaN)
    }

    /// `Infinity`.
    pub fn infinity() -> Self {
        Numeric(Repr::Infinity)
    }

    /// `-Infinity`.
    pub fn neg_infinity() -> Self {
        Numeric(Repr::NegInfinity)
    }

    /// Zero, with scale 0.
    pub fn zero() -> Self {
        Numeric(Repr::Finite("0".into()))
    }

    /// True for `NaN`.
    pub fn is_nan(&self) -> bool {
        matches!(self.0, Repr::NaN)
    }

    /// True for `Infinity` and `-Infinity`.
    pub fn is_infinite(&self) -> bool {
        matches!(self.0, Repr::Infinity | Repr::NegInfinity)
    }

    /// True for an ordinary number (not `NaN` nor infinite).
    pub fn is_finite(&self) -> bool {
        matches!(self.0, Repr::Finite(_))
    }

    /// True for a number below zero (including `-Infinity`).
    pub fn is_negative(&self) -> bool {
        match &self.0 {
            Repr::NegInfinity => true,
            Repr::Finite(s) => s.starts_with('-'),
            _ => false,
        }
    }

    /// The display scale: the number of digits after the decimal point (0 for non-finite values).
    pub fn scale(&self) -> u16 {
        match &self.0 {
            Repr::Finite(s) => s.find('.').map_or(0, |p| (s.len() - p - 1) as u16),
            _ => 0,
        }
    }

    /// True when the value has no fractional part (`12.000` is integral).
    pub fn is_integral(&self) -> bool {
        match &self.0 {
            Repr::Finite(_) => self.parts().2.bytes().all(|b| b == b'0'),
            _ => false,
        }
    }

    /// (negative, integer digits without leading zeros (empty for 0), fraction digits).
    fn parts(&self) -> (bool, &str, &str) {
        let Repr::Finite(s) = &self.0 else {
            return (false, "", "");
        };
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let int = int.trim_start_matches('0');
        (neg, int, frac)
    }

    /// The nearest `f64` (`NaN` and infinities map to their float counterparts).
    pub fn to_f64(&self) -> f64 {
        match &self.0 {
            Repr::NaN => f64::NAN,
            Repr::Infinity => f64::INFINITY,
            Repr::NegInfinity => f64::NEG_INFINITY,
            Repr::Finite(s) => s.parse().unwrap_or(f64::NAN),
        }
    }

    /// The value rounded to an integer (half away from zero, like PostgreSQL's numeric to
    /// integer casts), or `None` when not finite or beyond `i128`.
    pub fn round_to_i128(&self) -> Option<i128> {
        if !self.is_finite() {
            return None;
        }
        let (neg, int, frac) = self.parts();
        if int.len() > 38 {
            return None;
        }
        let mut v: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        if frac.as_bytes().first().is_some_and(|&d| d >= b'5') {
            v = v.checked_add(1)?;
        }
        Some(if neg { -v } else { v })
    }

    /// The value as an `i64` when it is integral and in range.
    pub fn to_i64(&self) -> Option<i64> {
        if !self.is_integral() {
            return None;
        }
        self.round_to_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// This number rounded (half away from zero) to `scale` fractional digits.
    pub fn round(&self, scale: u16) -> Numeric {
        if !self.is_finite() {
            return self.clone();
        }
        let (neg, int, frac) = self.parts();
        let scale = scale as usize;
        let mut digits: Vec<u8> = int.bytes().collect();
        let int_len = digits.len();
        digits.extend(frac.bytes().take(scale));
        while digits.len() < int_len + scale {
            digits.push(b'0');
        }
        if frac.as_bytes().get(scale).is_some_and(|&d| d >= b'5') {
            // increment the decimal string
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, b'1');
                    break;
                }
                i -= 1;
                if digits[i] == b'9' {
                    digits[i] = b'0';
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        let int_len = digits.len() - scale;
        let s = std::str::from_utf8(&digits).unwrap_or("0");
        Numeric::from_parts(neg, &s[..int_len], &s[int_len..])
    }

    /// Builds the canonical form from a sign, integer digits and fraction digits (all ASCII digits).
    fn from_parts(neg: bool, int: &str, frac: &str) -> Numeric {
        let int = int.trim_start_matches('0');
        let zero = int.is_empty() && frac.bytes().all(|b| b == b'0');
        let mut s = String::with_capacity(int.len() + frac.len() + 3);
        if neg && !zero {
            s.push('-');
        }
        s.push_str(if int.is_empty() { "0" } else { int });
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        Numeric(Repr::Finite(s))
    }

    /// Writes the binary wire format of `numeric`; fails for a value beyond the format's limits
    /// (32767 base-10000 digits, weight within ±32767).
    pub(crate) fn to_binary(&self, out: &mut BytesMut) -> Result<(), String> {
        let sign = match &self.0 {
            Repr::NaN => NUMERIC_NAN,
            Repr::Infinity => NUMERIC_PINF,
            Repr::NegInfinity => NUMERIC_NINF,
            Repr::Finite(_) => {
                let (neg, int, frac) = self.parts();
                let mut groups: Vec<i16> = Vec::with_capacity((int.len() + frac.len()) / 4 + 2);
                let pad = (4 - int.len() % 4) % 4;
                let mut acc = 0i16;
                for (i, b) in std::iter::repeat(b'0')
                    .take(pad)
                    .chain(int.bytes())
                    .enumerate()
                {
                    acc = acc * 10 + (b - b'0') as i16;
                    if i % 4 == 3 {
                        groups.push(acc);
                        acc = 0;
                    }
                }
                let int_groups = groups.len() as i32;
                let mut n = 0;
                for b in frac.bytes() {
                    acc = acc * 10 + (b - b'0') as i16;
                    n += 1;
                    if n == 4 {
                        groups.push(acc);
                        acc = 0;
                        n = 0;
                    }
                }
                if n > 0 {
                    for _ in n..4 {
                        acc *= 10;
                    }
                    groups.push(acc);
                }
                let mut weight = int_groups - 1;
                let lead = groups.iter().take_while(|&&g| g == 0).count();
                weight -= lead as i32;
                let trail = groups[lead..].iter().rev().take_while(|&&g| g == 0).count();
                let digits = &groups[lead..groups.len() - trail];
                let (weight, sign) = if digits.is_empty() {
                    (0, NUMERIC_POS)
                } else {
                    (weight, if neg { NUMERIC_NEG } else { NUMERIC_POS })
                };
                if digits.len() > i16::MAX as usize
                    || i16::try_from(weight).is_err()
                    || frac.len() > 0x3FFF
                {
                    return Err(format!(
                        "numeric value with {} digits is too large to send",
                        int.len() + frac.len()
                    ));
                }
                out.reserve(8 + digits.len() * 2);
                out.put_i16(digits.len() as i16);
                out.put_i16(weight as i16);
                out.put_u16(sign);
                out.put_u16(frac.len() as u16);
                for &d in digits {
                    out.put_i16(d);
                }
                return Ok(());
            }
        };
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(sign);
        out.put_u16(0);
        Ok(())
    }

    /// Reads the binary wire format of `numeric`.
    pub(crate) fn from_binary(raw: &[u8]) -> Result<Numeric, String> {
        if raw.len() < 8 {
            return Err("numeric: message too short".into());
        }
        let rd = |i: usize| u16::from_be_bytes([raw[i], raw[i + 1]]);
        let ndigits = rd(0) as i16;
        let weight = rd(2) as i16 as i32;
        let sign = rd(4);
        let dscale = rd(6) as usize;
        match sign {
            NUMERIC_NAN => return Ok(Numeric::nan()),
            NUMERIC_PINF => return Ok(Numeric::infinity()),
            NUMERIC_NINF => return Ok(Numeric::neg_infinity()),
            NUMERIC_POS | NUMERIC_NEG => {}
            _ => return Err(format!("numeric: invalid sign 0x{sign:04x}")),
        }
        if ndigits < 0 || raw.len() != 8 + ndigits as usize * 2 {
            return Err("numeric: invalid length".into());
        }
        let digits: Vec<u16> = (0..ndigits as usize).map(|i| rd(8 + i * 2)).collect();
        if digits.iter().any(|&d| d >= 10000) {
            return Err("numeric: invalid digit".into());
        }
        let digit = |idx: i32| -> u16 {
            if idx >= 0 && (idx as usize) < digits.len() {
                digits[idx as usize]
            } else {
                0
            }
        };
        let mut int = String::new();
        if weight >= 0 {
            for i in 0..=weight {
                let d = digit(i);
                if int.is_empty() {
                    if d != 0 {
                        int.push_str(&d.to_string());
                    }
                } else {
                    int.push_str(&format!("{d:04}"));
                }
            }
        }
        let mut frac = String::with_capacity(dscale + 4);
        let mut idx = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", digit(idx)));
            idx += 1;
        }
        frac.truncate(dscale);
        Ok(Numeric::from_parts(sign == NUMERIC_NEG, &int, &frac))
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.0 {
            Repr::NaN => "NaN",
            Repr::Infinity => "Infinity",
            Repr::NegInfinity => "-Infinity",
            Repr::Finite(s) => s,
        })
    }
}

impl FromStr for Numeric {
    type Err = ParseNumericError;

    /// Parses PostgreSQL numeric input: `12`, `-0.50`, `1.5e-30`, `.5`, `NaN`, `Infinity`,
    /// `-inf`… (surrounding whitespace allowed). Exponents are applied exactly; the scale is that
    /// of the written digits, adjusted by the exponent, as PostgreSQL does.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = || ParseNumericError(input.to_string());
        let s = input.trim();
        match s.to_ascii_lowercase().as_str() {
            "nan" => return Ok(Numeric::nan()),
            "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Numeric::infinity()),
            "-infinity" | "-inf" => return Ok(Numeric::neg_infinity()),
            _ => {}
        }
        let (neg, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mant, exp) = match s.find(['e', 'E']) {
            Some(p) => {
                let e = &s[p + 1..];
                let ok = !e.is_empty()
                    && e.trim_start_matches(['+', '-'])
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                    && e.len() - e.trim_start_matches(['+', '-']).len() <= 1
                    && e.len() < 12;
                if !ok {
                    return Err(err());
                }
                let v: i64 = e.parse().map_err(|_| err())?;
                if v.abs() > MAX_EXPONENT {
                    return Err(err());
                }
                (&s[..p], v)
            }
            None => (s, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        if exp == 0 {
            return Ok(Numeric::from_parts(neg, int, frac));
        }
        let all: String = [int, frac].concat();
        let point = int.len() as i64 + exp; // position of the decimal point in `all`
        let dscale = (frac.len() as i64 - exp).max(0) as usize;
        let (i, f) = if point <= 0 {
            (String::new(), "0".repeat((-point) as usize) + &all)
        } else if point as usize >= all.len() {
            (
                all.clone() + &"0".repeat(point as usize - all.len()),
                String::new(),
            )
        } else {
            (
                all[..point as usize].to_string(),
                all[point as usize..].to_string(),
            )
        };
        debug_assert_eq!(f.len(), dscale);
        Ok(Numeric::from_parts(neg, &i, &f))
    }
}

impl From<i64> for Numeric {
    fn from(v: i64) -> Self {
        Numeric(Repr::Finite(v.to_string()))
    }
}

impl From<i32> for Numeric {
    fn from(v: i32) -> Self {
        Numeric(Repr::Finite(v.to_string()))
    }
}

impl From<i16> for Numeric {
    fn from(v: i16) -> Self {
        Numeric(Repr::Finite(v.to_string()))
    }
}

impl From<u64> for Numeric {
    fn from(v: u64) -> Self {
        Numeric(Repr::Finite(v.to_string()))
    }
}

impl From<i128> for Numeric {
    fn from(v: i128) -> Self {
        Numeric(Repr::Finite(v.to_string()))
    }
}

impl From<f64> for Numeric {
    /// The shortest decimal that reads back as the same `f64`; `NaN` and infinities map to the
    /// numeric special values.
    fn from(v: f64) -> Self {
        if v.is_nan() {
            Numeric::nan()
        } else if v == f64::INFINITY {
            Numeric::infinity()
        } else if v == f64::NEG_INFINITY {
            Numeric::neg_infinity()
        } else {
            format!("{v}").parse().unwrap_or_else(|_| Numeric::nan())
        }
    }
}

impl From<f32> for Numeric {
    /// The shortest decimal that reads back as the same `f32`.
    fn from(v: f32) -> Self {
        if v.is_nan() {
            Numeric::nan()
        } else if v.is_infinite() {
            Numeric::from(v as f64)
        } else {
            format!("{v}").parse().unwrap_or_else(|_| Numeric::nan())
        }
    }
}

impl From<&Numeric> for f64 {
    fn from(v: &Numeric) -> f64 {
        v.to_f64()
    }
}

#[cfg(feature = "rust_decimal")]
impl From<rust_decimal::Decimal> for Numeric {
    fn from(v: rust_decimal::Decimal) -> Self {
        v.to_string().parse().unwrap_or_else(|_| Numeric::nan())
    }
}

#[cfg(feature = "rust_decimal")]
impl TryFrom<&Numeric> for rust_decimal::Decimal {
    type Error = String;

    /// Fails for `NaN`, infinities and values beyond `Decimal`'s 28-29 significant digits.
    fn try_from(v: &Numeric) -> Result<Self, String> {
        if !v.is_finite() {
            return Err(format!("numeric {v} cannot be represented as a Decimal"));
        }
        rust_decimal::Decimal::from_str_exact(&v.to_string())
            .map_err(|e| format!("numeric {v} cannot be represented as a Decimal: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> Numeric {
        let n: Numeric = s.parse().unwrap();
        let mut buf = BytesMut::new();
        n.to_binary(&mut buf).unwrap();
        let back = Numeric::from_binary(&buf).unwrap();
        assert_eq!(back, n, "binary round trip of {s}");
        n
    }

    #[test]
    fn parse_and_display() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("-0.00", "0.00"),
            ("-0.5", "-0.5"),
            ("00012.3400", "12.3400"),
            (".5", "0.5"),
            ("5.", "5"),
            ("+7", "7"),
            ("1e-30", "0.000000000000000000000000000001"),
            ("1.5E+3", "1500"),
            ("1.25e1", "12.5"),
            ("-12.5e-2", "-0.125"),
            ("  42  ", "42"),
            ("0.0001", "0.0001"),
            ("10000", "10000"),
            ("99999999", "99999999"),
            ("1.2300", "1.2300"),
            ("nan", "NaN"),
            ("Infinity", "Infinity"),
            ("-inf", "-Infinity"),
        ];
        for (input, want) in cases {
            assert_eq!(roundtrip(input).to_string(), want, "{input}");
        }
        for bad in [
            "", "-", ".", "1.2.3", "1e", "e5", "abc", "1 2", "--1", "1e+-5", "0x10",
        ] {
            assert!(bad.parse::<Numeric>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn binary_many_digits() {
        let forty = "1234567890123456789012345678901234567890";
        for s in [
            forty,
            &format!("-{forty}"),
            &format!("{forty}.{forty}"),
            "0.000000000000000000000000000000000000000000000000000000000001",
            "100000000000000000000000000000000000000000000000000",
            "99999999.99999999",
            "1.0000",
            "0.10",
            "12345.6789",
            "-1",
            "9999",
            "10001",
        ] {
            assert_eq!(roundtrip(s).to_string(), s);
        }
    }

    #[test]
    fn binary_layout() {
        let enc = |s: &str| {
            let mut b = BytesMut::new();
            s.parse::<Numeric>().unwrap().to_binary(&mut b).unwrap();
            b.to_vec()
        };
        // 10000 = one digit 1 at weight 1
        assert_eq!(enc("10000"), [0, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
        // 0.0001 = digit 1 at weight -1, dscale 4
        assert_eq!(enc("0.0001"), [0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1]);
        // -1.5 = digits 1, 5000; weight 0; neg; dscale 1
        assert_eq!(enc("-1.5"), [0, 2, 0, 0, 0x40, 0, 0, 1, 0, 1, 0x13, 0x88]);
        assert_eq!(enc("0.00"), [0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(enc("NaN"), [0, 0, 0, 0, 0xC0, 0, 0, 0]);
        assert_eq!(enc("Infinity"), [0, 0, 0, 0, 0xD0, 0, 0, 0]);
        assert_eq!(enc("-Infinity"), [0, 0, 0, 0, 0xF0, 0, 0, 0]);
    }

    #[test]
    fn conversions() {
        assert_eq!(Numeric::from(0.1f64).to_string(), "0.1");
        assert_eq!(Numeric::from(-2.5f64).to_string(), "-2.5");
        assert!(Numeric::from(f64::NAN).is_nan());
        assert_eq!(Numeric::from(f64::NEG_INFINITY), Numeric::neg_infinity());
        assert_eq!("12.5".parse::<Numeric>().unwrap().to_f64(), 12.5);
        assert_eq!("2.5".parse::<Numeric>().unwrap().round_to_i128(), Some(3));
        assert_eq!("-2.5".parse::<Numeric>().unwrap().round_to_i128(), Some(-3));
        assert_eq!("-2.4".parse::<Numeric>().unwrap().round_to_i128(), Some(-2));
        assert_eq!("12.000".parse::<Numeric>().unwrap().to_i64(), Some(12));
        assert_eq!("12.001".parse::<Numeric>().unwrap().to_i64(), None);
        assert_eq!(
            "9.995".parse::<Numeric>().unwrap().round(2).to_string(),
            "10.00"
        );
        assert_eq!(
            "-0.004".parse::<Numeric>().unwrap().round(2).to_string(),
            "0.00"
        );
        assert_eq!("1.2300".parse::<Numeric>().unwrap().scale(), 4);
        let huge: Numeric = "1e140000".parse().unwrap();
        assert!(huge.to_binary(&mut BytesMut::new()).is_err());
    }
}

#[cfg(all(test, feature = "rust_decimal"))]
mod decimal_tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn rust_decimal_conversions() {
        let d: Decimal = "-1.2300".parse().unwrap();
        let n = Numeric::from(d);
        assert_eq!(n.to_string(), "-1.2300");
        let back = Decimal::try_from(&n).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.scale(), 4);
        assert!(Decimal::try_from(&Numeric::nan()).is_err());
        let big: Numeric = "1234567890123456789012345678901234567890".parse().unwrap();
        assert!(Decimal::try_from(&big).is_err());
    }
}
