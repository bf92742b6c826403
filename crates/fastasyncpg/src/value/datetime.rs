//! Dates, times, timestamps and intervals with PostgreSQL's full range and its infinities.
//!
//! These types keep PostgreSQL's own representation (days or microseconds since
//! 2000-01-01), so every value the server can hold — `infinity`, `-infinity`, years beyond
//! chrono's range, `24:00:00` — decodes and round-trips. They convert to and from chrono types;
//! converting an infinite or out-of-range value to chrono fails clearly.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc,
};

pub(crate) const USECS_PER_SEC: i64 = 1_000_000;
pub(crate) const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub(crate) const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub(crate) const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Julian day number of 2000-01-01.
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
/// `NaiveDate::num_days_from_ce()` of 2000-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 730_120;

/// PostgreSQL's `date2j`: Julian day of a proleptic Gregorian date (astronomical year).
fn date2j(year: i64, month: i64, day: i64) -> i64 {
    let (m, y) = if month > 2 {
        (month + 1, year + 4800)
    } else {
        (month + 13, year + 4799)
    };
    let century = y.div_euclid(100);
    let mut julian = y * 365 - 32167;
    julian += y.div_euclid(4) - century + century.div_euclid(4);
    julian += 7834 * m / 256 + day;
    julian
}

/// PostgreSQL's `j2date`: (astronomical year, month, day) of a Julian day.
fn j2date(jd: i64) -> (i64, u32, u32) {
    let mut julian = jd + 32044;
    let mut quad = julian.div_euclid(146_097);
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    quad = julian.div_euclid(1461);
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let year = y - 4800;
    let q = julian * 2141 / 65536;
    let day = julian - 7834 * q / 256;
    let month = (q + 10) % 12 + 1;
    (year, month as u32, day as u32)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The error of parsing a date, time, timestamp or interval from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDateTimeError {
    what: &'static str,
    input: String,
}

impl ParseDateTimeError {
    fn new(what: &'static str, input: &str) -> Self {
        ParseDateTimeError {
            what,
            input: input.to_string(),
        }
    }
}

impl fmt::Display for ParseDateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}", self.what, self.input)
    }
}

impl std::error::Error for ParseDateTimeError {}

// ---------------------------------------------------------------------------------------------
// Date

/// A PostgreSQL `date`: days since 2000-01-01, with `infinity` and `-infinity`.
///
/// Every `date` the server can hold fits (4713 BC to 5874897 AD, and the infinities), so this
/// is the type generated models use for `date` columns. It converts from chrono's `NaiveDate`
/// (`From`) and to it (`TryFrom`, [`to_naive`](Date::to_naive)), compares with it, and matches
/// on the infinities:
///
/// ```
/// use fastasyncpg::types::chrono::NaiveDate;
/// use fastasyncpg::value::Date;
/// let d: Date = "2024-02-29".parse().unwrap();
/// assert_eq!(d.to_string(), "2024-02-29");
/// assert_eq!(Date::INFINITY.to_string(), "infinity");
/// assert_eq!("0044-03-15 BC".parse::<Date>().unwrap().to_string(), "0044-03-15 BC");
///
/// let leap = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
/// assert_eq!(d, leap);
/// assert_eq!(Date::from(leap), d);
/// assert_eq!(NaiveDate::try_from(d).unwrap(), leap);
/// let far: Date = "5874897-12-31".parse().unwrap(); // beyond chrono's range
/// assert!(NaiveDate::try_from(far).is_err());
/// let label = match d {
///     Date::INFINITY => "forever".to_string(),
///     Date::NEG_INFINITY => "always".to_string(),
///     d => d.to_naive().map_or("far away".into(), |n| n.format("%d %b %Y").to_string()),
/// };
/// assert_eq!(label, "29 Feb 2024");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// `infinity`.
    pub const INFINITY: Date = Date(i32::MAX);
    /// `-infinity`.
    pub const NEG_INFINITY: Date = Date(i32::MIN);

    /// From PostgreSQL's representation: days since 2000-01-01 (`i32::MAX`/`i32::MIN` are the
    /// infinities).
    pub const fn from_pg_days(days: i32) -> Date {
        Date(days)
    }

    /// PostgreSQL's representation: days since 2000-01-01.
    pub const fn pg_days(self) -> i32 {
        self.0
    }

    /// A date of the proleptic Gregorian calendar; `year` is astronomical (0 is 1 BC, -1 is
    /// 2 BC). `None` for an invalid date.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year as i64, month) {
            return None;
        }
        let days = date2j(year as i64, month as i64, day as i64) - POSTGRES_EPOCH_JDATE;
        let days = i32::try_from(days).ok()?;
        (days != i32::MAX && days != i32::MIN).then_some(Date(days))
    }

    /// (astronomical year, month, day), or `None` for the infinities.
    pub fn to_ymd(self) -> Option<(i32, u32, u32)> {
        if self.is_infinite() {
            return None;
        }
        let (y, m, d) = j2date(self.0 as i64 + POSTGRES_EPOCH_JDATE);
        Some((y as i32, m, d))
    }

    /// True for `infinity` and `-infinity`.
    pub fn is_infinite(self) -> bool {
        self.0 == i32::MAX || self.0 == i32::MIN
    }

    /// The chrono date, or `None` when infinite or beyond chrono's range.
    pub fn to_naive(self) -> Option<NaiveDate> {
        if self.is_infinite() {
            return None;
        }
        let ce = i32::try_from(self.0 as i64 + EPOCH_DAYS_FROM_CE).ok()?;
        NaiveDate::from_num_days_from_ce_opt(ce)
    }
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Date {
        Date((d.num_days_from_ce() as i64 - EPOCH_DAYS_FROM_CE) as i32)
    }
}

use chrono::Datelike;

fn write_ymd(f: &mut fmt::Formatter<'_>, y: i64, m: u32, d: u32) -> fmt::Result {
    let y = if y > 0 { y } else { 1 - y };
    write!(f, "{y:04}-{m:02}-{d:02}")
}

impl fmt::Display for Date {
    /// PostgreSQL's ISO output: `2024-01-15`, `0044-03-15 BC`, `infinity`, `-infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Date::INFINITY => f.write_str("infinity"),
            Date::NEG_INFINITY => f.write_str("-infinity"),
            _ => {
                let (y, m, d) = j2date(self.0 as i64 + POSTGRES_EPOCH_JDATE);
                write_ymd(f, y, m, d)?;
                if y <= 0 {
                    f.write_str(" BC")?;
                }
                Ok(())
            }
        }
    }
}

/// Parses `YYYY-MM-DD` at the start of `s`; returns the Julian day and the rest.
fn parse_ymd(s: &str) -> Option<(i64, u32, u32, &str)> {
    let b = s.as_bytes();
    let ylen = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=7).contains(&ylen) || b.get(ylen) != Some(&b'-') {
        return None;
    }
    let year: i64 = s[..ylen].parse().ok()?;
    let rest = &s[ylen + 1..];
    let (month, rest) = take_2digits(rest)?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = take_2digits(rest)?;
    Some((year, month, day, rest))
}

fn take_2digits(s: &str) -> Option<(u32, &str)> {
    let b = s.as_bytes();
    let n = b.iter().take(2).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Strips a trailing ` BC`/` AD` era marker.
fn strip_era(s: &str) -> (&str, bool) {
    let t = s.trim_end();
    let upper = t.len() >= 3 && t.is_char_boundary(t.len() - 2);
    if upper {
        let (head, tail) = t.split_at(t.len() - 2);
        if tail.eq_ignore_ascii_case("bc") {
            return (head.trim_end(), true);
        }
        if tail.eq_ignore_ascii_case("ad") {
            return (head.trim_end(), false);
        }
    }
    (t, false)
}

/// Converts a written year (1-based, with era) to an astronomical one and validates the date.
fn checked_date(year: i64, month: u32, day: u32, bc: bool) -> Option<i64> {
    if year == 0 && bc {
        return None;
    }
    let year = if bc { 1 - year } else { year };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(date2j(year, month as i64, day as i64) - POSTGRES_EPOCH_JDATE)
}

impl FromStr for Date {
    type Err = ParseDateTimeError;

    /// Parses `YYYY-MM-DD` (optionally followed by ` BC`), `infinity` and `-infinity`.
    fn from_str(input: &str) -> Result<Date, ParseDateTimeError> {
        let err = || ParseDateTimeError::new("date", input);
        let s = input.trim();
        match s.to_ascii_lowercase().as_str() {
            "infinity" | "+infinity" => return Ok(Date::INFINITY),
            "-infinity" => return Ok(Date::NEG_INFINITY),
            _ => {}
        }
        let (s, bc) = strip_era(s);
        let (y, m, d, rest) = parse_ymd(s).ok_or_else(err)?;
        if !rest.is_empty() {
            return Err(err());
        }
        let days = checked_date(y, m, d, bc).ok_or_else(err)?;
        let days = i32::try_from(days).map_err(|_| err())?;
        Ok(Date(days))
    }
}

// ---------------------------------------------------------------------------------------------
// Time

/// A PostgreSQL `time` (without time zone): microseconds since midnight, `00:00:00` to
/// `24:00:00` inclusive (chrono's `NaiveTime` has no `24:00:00`, so generated models use this
/// type for `time` columns; it converts from `NaiveTime` and, with `TryFrom`, to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(i64);

impl Time {
    /// From microseconds since midnight; `None` outside `0..=86_400_000_000`.
    pub const fn from_micros(micros: i64) -> Option<Time> {
        if micros >= 0 && micros <= USECS_PER_DAY {
            Some(Time(micros))
        } else {
            None
        }
    }

    /// From hours, minutes, seconds and microseconds; `None` when out of range.
    pub fn from_hms_micro(hour: u32, minute: u32, second: u32, micro: u32) -> Option<Time> {
        if minute > 59 || second > 59 || micro > 999_999 {
            return None;
        }
        Time::from_micros(
            hour as i64 * USECS_PER_HOUR
                + minute as i64 * USECS_PER_MINUTE
                + second as i64 * USECS_PER_SEC
                + micro as i64,
        )
    }

    /// Microseconds since midnight.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// The chrono time, or `None` for `24:00:00`.
    pub fn to_naive(self) -> Option<NaiveTime> {
        let secs = u32::try_from(self.0 / USECS_PER_SEC).ok()?;
        NaiveTime::from_num_seconds_from_midnight_opt(secs, (self.0 % USECS_PER_SEC) as u32 * 1000)
    }
}

impl From<NaiveTime> for Time {
    /// Sub-microsecond digits are truncated; a leap second counts as `:59.999999`.
    fn from(t: NaiveTime) -> Time {
        let micros = (t.nanosecond() / 1000).min(999_999) as i64;
        Time(t.num_seconds_from_midnight() as i64 * USECS_PER_SEC + micros)
    }
}

/// Writes `HH:MM:SS[.ffffff]` (trailing zeros of the fraction trimmed) for a time of day.
fn write_hms(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    let h = micros / USECS_PER_HOUR;
    let m = micros / USECS_PER_MINUTE % 60;
    let s = micros / USECS_PER_SEC % 60;
    let us = micros % USECS_PER_SEC;
    write!(f, "{h:02}:{m:02}:{s:02}")?;
    write_fraction(f, us)
}

fn write_fraction(f: &mut fmt::Formatter<'_>, us: i64) -> fmt::Result {
    if us != 0 {
        let frac = format!("{us:06}");
        write!(f, ".{}", frac.trim_end_matches('0'))?;
    }
    Ok(())
}

impl fmt::Display for Time {
    /// `HH:MM:SS[.ffffff]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hms(f, self.0)
    }
}

/// Parses `HH:MM[:SS[.ffffff]]` at the start of `s`; returns micros and the rest.
fn parse_hms(s: &str) -> Option<(i64, &str)> {
    let (h, rest) = take_2digits(s)?;
    let rest = rest.strip_prefix(':')?;
    let (m, mut rest) = take_2digits(rest)?;
    let mut sec = 0;
    let mut us = 0i64;
    if let Some(r) = rest.strip_prefix(':') {
        let (s2, r) = take_2digits(r)?;
        sec = s2;
        rest = r;
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            let digits = &r[..n];
            let mut v: i64 = 0;
            for (i, c) in digits.bytes().take(6).enumerate() {
                v += (c - b'0') as i64 * 10i64.pow(5 - i as u32);
            }
            if digits.as_bytes().get(6).is_some_and(|&c| c >= b'5') {
                v += 1;
            }
            us = v;
            rest = &r[n..];
        }
    }
    if m > 59 || sec > 60 {
        return None;
    }
    let total =
        h as i64 * USECS_PER_HOUR + m as i64 * USECS_PER_MINUTE + sec as i64 * USECS_PER_SEC + us;
    (total <= USECS_PER_DAY).then_some((total, rest))
}

/// Parses a UTC offset (`Z`, `+05`, `-0330`, `+05:30`, `+05:30:15`) to seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let parts: Vec<&str> = if rest.contains(':') {
        rest.split(':').collect()
    } else if rest.len() <= 2 {
        vec![rest]
    } else if rest.len() == 4 {
        vec![&rest[..2], &rest[2..]]
    } else if rest.len() == 6 {
        vec![&rest[..2], &rest[2..4], &rest[4..]]
    } else {
        return None;
    };
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let mut secs = 0i32;
    for (i, p) in parts.iter().enumerate() {
        let v: i32 = p.parse().ok()?;
        if i > 0 && v > 59 {
            return None;
        }
        secs += v * [3600, 60, 1][i];
    }
    (secs <= 15 * 3600 + 59 * 60 + 59).then_some(sign * secs)
}

impl FromStr for Time {
    type Err = ParseDateTimeError;

    /// Parses `HH:MM[:SS[.ffffff]]`.
    fn from_str(input: &str) -> Result<Time, ParseDateTimeError> {
        match parse_hms(input.trim()) {
            Some((us, "")) => Ok(Time(us)),
            _ => Err(ParseDateTimeError::new("time", input)),
        }
    }
}

/// A PostgreSQL `time with time zone`: a time of day and a UTC offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeTz {
    /// The local time of day.
    pub time: Time,
    /// The UTC offset in seconds, positive east of Greenwich (`+05:30` is 19800).
    pub offset_seconds: i32,
}

impl TimeTz {
    /// The chrono time and offset, or `None` for `24:00:00` or an offset chrono rejects.
    pub fn to_chrono(self) -> Option<(NaiveTime, FixedOffset)> {
        Some((
            self.time.to_naive()?,
            FixedOffset::east_opt(self.offset_seconds)?,
        ))
    }
}

/// Writes a UTC offset like PostgreSQL: `+05`, `-03:30`, `+01:02:03`.
fn write_offset(f: &mut fmt::Formatter<'_>, east: i32) -> fmt::Result {
    let sign = if east < 0 { '-' } else { '+' };
    let a = east.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    write!(f, "{sign}{h:02}")?;
    if m != 0 || s != 0 {
        write!(f, ":{m:02}")?;
    }
    if s != 0 {
        write!(f, ":{s:02}")?;
    }
    Ok(())
}

impl fmt::Display for TimeTz {
    /// `HH:MM:SS[.ffffff]+HH[:MM]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hms(f, self.time.0)?;
        write_offset(f, self.offset_seconds)
    }
}

impl FromStr for TimeTz {
    type Err = ParseDateTimeError;

    /// Parses `HH:MM[:SS[.ffffff]]` followed by an offset (`Z`, `+05`, `-03:30`).
    fn from_str(input: &str) -> Result<TimeTz, ParseDateTimeError> {
        let err = || ParseDateTimeError::new("time with time zone", input);
        let (us, rest) = parse_hms(input.trim()).ok_or_else(err)?;
        let offset = parse_offset(rest).ok_or_else(err)?;
        Ok(TimeTz {
            time: Time(us),
            offset_seconds: offset,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Timestamps

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

/// Writes the date and time of a finite timestamp; returns true for a BC date.
fn write_timestamp(f: &mut fmt::Formatter<'_>, micros: i64, sep: char) -> Result<bool, fmt::Error> {
    let days = micros.div_euclid(USECS_PER_DAY);
    let time = micros.rem_euclid(USECS_PER_DAY);
    let (y, m, d) = j2date(days + POSTGRES_EPOCH_JDATE);
    write_ymd(f, y, m, d)?;
    write!(f, "{sep}")?;
    write_hms(f, time)?;
    Ok(y <= 0)
}

fn date_micros(y: i64, m: u32, d: u32, bc: bool) -> Option<i64> {
    let days = checked_date(y, m, d, bc)?;
    days.checked_mul(USECS_PER_DAY)
}

/// Parses a timestamp with an optional trailing offset: (micros, offset seconds east).
fn parse_timestamp_full(input: &str) -> Option<(i64, Option<i32>)> {
    let (s, bc) = strip_era(input.trim());
    let (y, m, d, rest) = parse_ymd(s)?;
    let (time, rest) = if let Some(r) = rest.strip_prefix(['T', 't', ' ']) {
        parse_hms(r.trim_start())?
    } else {
        (0, rest)
    };
    let base = date_micros(y, m, d, bc)?;
    let micros = base.checked_add(time)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Some((micros, None));
    }
    let off = parse_offset(rest)?;
    Some((micros, Some(off)))
}

/// A PostgreSQL `timestamp` (without time zone): microseconds since 2000-01-01 00:00:00, with
/// `infinity` and `-infinity`: every value the server can hold, hence what generated models use
/// for `timestamp` columns. Converts from and (`TryFrom`, [`to_naive`](Timestamp::to_naive)) to
/// chrono's `NaiveDateTime`, and compares with it.
///
/// ```
/// use fastasyncpg::value::Timestamp;
/// let t: Timestamp = "2024-01-15 10:30:00.25".parse().unwrap();
/// assert_eq!(t.to_string(), "2024-01-15 10:30:00.25");
/// assert_eq!(Timestamp::NEG_INFINITY.to_string(), "-infinity");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// `infinity`.
    pub const INFINITY: Timestamp = Timestamp(i64::MAX);
    /// `-infinity`.
    pub const NEG_INFINITY: Timestamp = Timestamp(i64::MIN);

    /// From PostgreSQL's representation: microseconds since 2000-01-01 00:00:00.
    pub const fn from_pg_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    /// PostgreSQL's representation: microseconds since 2000-01-01 00:00:00.
    pub const fn pg_micros(self) -> i64 {
        self.0
    }

    /// True for `infinity` and `-infinity`.
    pub fn is_infinite(self) -> bool {
        self.0 == i64::MAX || self.0 == i64::MIN
    }

    /// The chrono timestamp, or `None` when infinite or beyond chrono's range.
    pub fn to_naive(self) -> Option<NaiveDateTime> {
        if self.is_infinite() {
            return None;
        }
        epoch().checked_add_signed(TimeDelta::microseconds(self.0))
    }

    /// The date part (`infinity` stays infinite).
    pub fn date(self) -> Date {
        match self {
            Timestamp::INFINITY => Date::INFINITY,
            Timestamp::NEG_INFINITY => Date::NEG_INFINITY,
            _ => Date(self.0.div_euclid(USECS_PER_DAY) as i32),
        }
    }

    /// The time part, or `None` when infinite.
    pub fn time(self) -> Option<Time> {
        (!self.is_infinite()).then(|| Time(self.0.rem_euclid(USECS_PER_DAY)))
    }
}

impl From<Date> for Timestamp {
    /// Midnight of the date (infinities map to infinities).
    fn from(d: Date) -> Timestamp {
        match d {
            Date::INFINITY => Timestamp::INFINITY,
            Date::NEG_INFINITY => Timestamp::NEG_INFINITY,
            _ => Timestamp(d.0 as i64 * USECS_PER_DAY),
        }
    }
}

impl From<NaiveDateTime> for Timestamp {
    /// Sub-microsecond digits are truncated.
    fn from(t: NaiveDateTime) -> Timestamp {
        let d = t - epoch();
        Timestamp(d.num_microseconds().unwrap_or(if d < TimeDelta::zero() {
            i64::MIN
        } else {
            i64::MAX
        }))
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DD HH:MM:SS[.ffffff][ BC]`, `infinity`, `-infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Timestamp::INFINITY => f.write_str("infinity"),
            Timestamp::NEG_INFINITY => f.write_str("-infinity"),
            _ => {
                if write_timestamp(f, self.0, ' ')? {
                    f.write_str(" BC")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Timestamp {
    type Err = ParseDateTimeError;

    /// Parses `YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][ BC]`, `infinity`, `-infinity`.
    fn from_str(input: &str) -> Result<Timestamp, ParseDateTimeError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "infinity" | "+infinity" => return Ok(Timestamp::INFINITY),
            "-infinity" => return Ok(Timestamp::NEG_INFINITY),
            _ => {}
        }
        match parse_timestamp_full(input) {
            Some((us, None)) => Ok(Timestamp(us)),
            _ => Err(ParseDateTimeError::new("timestamp", input)),
        }
    }
}

/// A PostgreSQL `timestamp with time zone`: an instant, microseconds since
/// 2000-01-01 00:00:00 UTC, with `infinity` and `-infinity`. Displayed in UTC (`+00`).
///
/// What generated models use for `timestamptz` columns; converts from and (`TryFrom`,
/// [`to_utc`](TimestampTz::to_utc)) to chrono's `DateTime<Utc>`, and compares with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimestampTz(i64);

impl TimestampTz {
    /// `infinity`.
    pub const INFINITY: TimestampTz = TimestampTz(i64::MAX);
    /// `-infinity`.
    pub const NEG_INFINITY: TimestampTz = TimestampTz(i64::MIN);

    /// From PostgreSQL's representation: microseconds since 2000-01-01 00:00:00 UTC.
    pub const fn from_pg_micros(micros: i64) -> TimestampTz {
        TimestampTz(micros)
    }

    /// PostgreSQL's representation: microseconds since 2000-01-01 00:00:00 UTC.
    pub const fn pg_micros(self) -> i64 {
        self.0
    }

    /// True for `infinity` and `-infinity`.
    pub fn is_infinite(self) -> bool {
        self.0 == i64::MAX || self.0 == i64::MIN
    }

    /// The chrono instant, or `None` when infinite or beyond chrono's range.
    pub fn to_utc(self) -> Option<DateTime<Utc>> {
        Timestamp(self.0)
            .to_naive()
            .map(|n| DateTime::from_naive_utc_and_offset(n, Utc))
    }

    /// The same instant as a UTC wall-clock [`Timestamp`].
    pub fn to_utc_timestamp(self) -> Timestamp {
        Timestamp(self.0)
    }
}

impl From<Timestamp> for TimestampTz {
    /// Reads the wall-clock time as UTC.
    fn from(t: Timestamp) -> TimestampTz {
        TimestampTz(t.0)
    }
}

impl From<DateTime<Utc>> for TimestampTz {
    fn from(t: DateTime<Utc>) -> TimestampTz {
        TimestampTz(Timestamp::from(t.naive_utc()).0)
    }
}

impl From<DateTime<FixedOffset>> for TimestampTz {
    fn from(t: DateTime<FixedOffset>) -> TimestampTz {
        TimestampTz(Timestamp::from(t.naive_utc()).0)
    }
}

impl fmt::Display for TimestampTz {
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]+00[ BC]`, `infinity`, `-infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimestampTz::INFINITY => f.write_str("infinity"),
            TimestampTz::NEG_INFINITY => f.write_str("-infinity"),
            _ => {
                let bc = write_timestamp(f, self.0, ' ')?;
                f.write_str("+00")?;
                if bc {
                    f.write_str(" BC")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for TimestampTz {
    type Err = ParseDateTimeError;

    /// Parses a timestamp followed by a UTC offset (`Z`, `+02`, `-03:30`), `infinity` or
    /// `-infinity`. A timestamp without an offset is rejected (its meaning depends on the
    /// session's time zone).
    fn from_str(input: &str) -> Result<TimestampTz, ParseDateTimeError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "infinity" | "+infinity" => return Ok(TimestampTz::INFINITY),
            "-infinity" => return Ok(TimestampTz::NEG_INFINITY),
            _ => {}
        }
        let err = || ParseDateTimeError::new("timestamp with time zone", input);
        match parse_timestamp_full(input) {
            Some((us, Some(off))) => us
                .checked_sub(off as i64 * USECS_PER_SEC)
                .map(TimestampTz)
                .ok_or_else(err),
            _ => Err(err()),
        }
    }
}

/// ISO 8601 text of a timestamp for JSON: `2024-01-15T10:30:00.5` (`+00:00` appended for
/// `timestamptz`), `infinity`, `-infinity`. BC years are written as negative astronomical years.
pub(crate) fn iso_timestamp(micros: i64, tz: bool) -> String {
    if micros == i64::MAX {
        return "infinity".into();
    }
    if micros == i64::MIN {
        return "-infinity".into();
    }
    let days = micros.div_euclid(USECS_PER_DAY);
    let time = micros.rem_euclid(USECS_PER_DAY);
    let mut s = iso_date(days);
    s.push('T');
    s.push_str(&Time(time).to_string());
    if tz {
        s.push_str("+00:00");
    }
    s
}

/// ISO 8601 text of a date for JSON (astronomical years: 1 BC is `0000`).
pub(crate) fn iso_date(days: i64) -> String {
    if days == i32::MAX as i64 {
        return "infinity".into();
    }
    if days == i32::MIN as i64 {
        return "-infinity".into();
    }
    let (y, m, d) = j2date(days + POSTGRES_EPOCH_JDATE);
    if y < 0 {
        format!("-{:04}-{m:02}-{d:02}", -y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

// ---------------------------------------------------------------------------------------------
// chrono interop: `TryFrom` (fails for the infinities and years beyond chrono's range, naming
// the value), `is_finite`, and comparison with chrono values.

fn not_chrono(what: &str, v: impl fmt::Display, rust: &str) -> crate::Error {
    crate::Error::decode(format!(
        "{what} {v} is not a {rust} (infinite or beyond chrono's range)"
    ))
}

macro_rules! chrono_interop {
    ($($ours:ty, $what:expr, $chrono:ty, $rust:expr, $to:ident;)*) => {$(
        impl TryFrom<$ours> for $chrono {
            type Error = crate::Error;
            /// Fails for `infinity`, `-infinity` and years beyond chrono's range.
            fn try_from(v: $ours) -> Result<$chrono, crate::Error> {
                v.$to().ok_or_else(|| not_chrono($what, v, $rust))
            }
        }

        impl PartialEq<$chrono> for $ours {
            fn eq(&self, other: &$chrono) -> bool {
                *self == <$ours>::from(*other)
            }
        }

        impl PartialEq<$ours> for $chrono {
            fn eq(&self, other: &$ours) -> bool {
                <$ours>::from(*self) == *other
            }
        }
    )*};
}

chrono_interop! {
    Date, "date", NaiveDate, "chrono::NaiveDate", to_naive;
    Timestamp, "timestamp", NaiveDateTime, "chrono::NaiveDateTime", to_naive;
    TimestampTz, "timestamptz", DateTime<Utc>, "chrono::DateTime<Utc>", to_utc;
}

impl TryFrom<Time> for NaiveTime {
    type Error = crate::Error;
    /// Fails for `24:00:00`.
    fn try_from(v: Time) -> Result<NaiveTime, crate::Error> {
        v.to_naive()
            .ok_or_else(|| crate::Error::decode(format!("time {v} is not a chrono::NaiveTime")))
    }
}

impl PartialEq<NaiveTime> for Time {
    fn eq(&self, other: &NaiveTime) -> bool {
        *self == Time::from(*other)
    }
}

impl Date {
    /// True for every date but `infinity` and `-infinity`.
    pub fn is_finite(self) -> bool {
        !self.is_infinite()
    }
}

impl Timestamp {
    /// True for every timestamp but `infinity` and `-infinity`.
    pub fn is_finite(self) -> bool {
        !self.is_infinite()
    }
}

impl TimestampTz {
    /// True for every timestamp but `infinity` and `-infinity`.
    pub fn is_finite(self) -> bool {
        !self.is_infinite()
    }
}

// ---------------------------------------------------------------------------------------------
// Interval

/// A PostgreSQL `interval`: months, days and microseconds, kept separately as PostgreSQL does
/// (a month is not a fixed number of days, nor a day a fixed number of hours across DST).
///
/// ```
/// use fastasyncpg::value::Interval;
/// let i = Interval { months: 14, days: 3, microseconds: 4 * 3_600_000_000 + 500_000 };
/// assert_eq!(i.to_string(), "1 year 2 mons 3 days 04:00:00.5");
/// assert_eq!("1 year 2 mons 3 days 04:00:00.5".parse::<Interval>().unwrap(), i);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Interval {
    /// Months (years are 12 months).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub microseconds: i64,
}

impl Interval {
    /// An interval of whole days, hours… given as microseconds.
    pub fn from_micros(microseconds: i64) -> Interval {
        Interval {
            months: 0,
            days: 0,
            microseconds,
        }
    }
}

impl fmt::Display for Interval {
    /// PostgreSQL's default (`postgres`) interval style: `1 year 2 mons -3 days +04:05:06.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let year = self.months / 12;
        let mon = self.months % 12;
        let mut is_zero = true;
        let mut is_before = false;
        for (value, unit) in [
            (year as i64, "year"),
            (mon as i64, "mon"),
            (self.days as i64, "day"),
        ] {
            if value == 0 {
                continue;
            }
            let sep = if is_zero { "" } else { " " };
            let plus = if is_before && value > 0 { "+" } else { "" };
            let s = if value != 1 { "s" } else { "" };
            write!(f, "{sep}{plus}{value} {unit}{s}")?;
            is_before = value < 0;
            is_zero = false;
        }
        let us = self.microseconds;
        if is_zero || us != 0 {
            let minus = us < 0;
            let a = us.unsigned_abs();
            let h = a / USECS_PER_HOUR as u64;
            let m = a / USECS_PER_MINUTE as u64 % 60;
            let s = a / USECS_PER_SEC as u64 % 60;
            let frac = a % USECS_PER_SEC as u64;
            let sep = if is_zero { "" } else { " " };
            let sign = if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            };
            write!(f, "{sep}{sign}{h:02}:{m:02}:{s:02}")?;
            write_fraction(f, frac as i64)?;
        }
        Ok(())
    }
}

impl FromStr for Interval {
    type Err = ParseDateTimeError;

    /// Parses PostgreSQL's `postgres` style (`1 year 2 mons -3 days +04:05:06.5`), with the
    /// usual unit names and abbreviations, an optional leading `@` and a trailing `ago`. ISO 8601
    /// and other styles are not parsed here (the server parses them when sent as literals).
    fn from_str(input: &str) -> Result<Interval, ParseDateTimeError> {
        let err = || ParseDateTimeError::new("interval", input);
        let mut s = input.trim();
        if let Some(r) = s.strip_prefix('@') {
            s = r.trim_start();
        }
        let mut tokens: Vec<&str> = s.split_whitespace().collect();
        let ago = tokens.last().is_some_and(|t| t.eq_ignore_ascii_case("ago"));
        if ago {
            tokens.pop();
        }
        if tokens.is_empty() {
            return Err(err());
        }
        let mut months: i128 = 0;
        let mut days: i128 = 0;
        let mut micros: i128 = 0;
        let mut i = 0;
        while i < tokens.len() {
            let t = tokens[i];
            if t.contains(':') {
                let (neg, body) = match t.as_bytes()[0] {
                    b'-' => (true, &t[1..]),
                    b'+' => (false, &t[1..]),
                    _ => (false, t),
                };
                let mut parts = body.splitn(3, ':');
                let h: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
                let m: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
                let sec = match parts.next() {
                    Some(p) => parse_decimal_micros(p).ok_or_else(err)?,
                    None => 0,
                };
                if m > 59 || h < 0 || m < 0 || sec < 0 || sec >= 60 * USECS_PER_SEC as i128 {
                    return Err(err());
                }
                let v =
                    h as i128 * USECS_PER_HOUR as i128 + m as i128 * USECS_PER_MINUTE as i128 + sec;
                micros = micros
                    .checked_add(if neg { -v } else { v })
                    .ok_or_else(err)?;
                i += 1;
                continue;
            }
            let unit = tokens.get(i + 1).ok_or_else(err)?.to_ascii_lowercase();
            i += 2;
            let unit = unit.as_str();
            let int_units: Option<i128> = match unit {
                "millennium" | "millennia" | "millenniums" | "mil" | "mils" => Some(12_000),
                "century" | "centuries" | "cent" | "c" => Some(1200),
                "decade" | "decades" | "dec" | "decs" => Some(120),
                "year" | "years" | "yr" | "yrs" | "y" => Some(12),
                "month" | "months" | "mon" | "mons" => Some(1),
                _ => None,
            };
            if let Some(mult) = int_units {
                let v: i64 = t.parse().map_err(|_| err())?;
                months = months.checked_add(v as i128 * mult).ok_or_else(err)?;
                continue;
            }
            match unit {
                "week" | "weeks" | "w" => {
                    days = days
                        .checked_add(t.parse::<i64>().map_err(|_| err())? as i128 * 7)
                        .ok_or_else(err)?
                }
                "day" | "days" | "d" => {
                    days = days
                        .checked_add(t.parse::<i64>().map_err(|_| err())? as i128)
                        .ok_or_else(err)?
                }
                _ => {
                    let mult: i128 = match unit {
                        "hour" | "hours" | "h" | "hr" | "hrs" => USECS_PER_HOUR as i128,
                        "minute" | "minutes" | "min" | "mins" | "m" => USECS_PER_MINUTE as i128,
                        "second" | "seconds" | "sec" | "secs" | "s" => USECS_PER_SEC as i128,
                        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => 1000,
                        "microsecond" | "microseconds" | "us" | "usec" | "usecs" => 1,
                        _ => return Err(err()),
                    };
                    let v = parse_decimal_micros(t).ok_or_else(err)?; // value * 1e6
                    micros = micros
                        .checked_add(v * mult / USECS_PER_SEC as i128)
                        .ok_or_else(err)?;
                }
            }
        }
        if ago {
            months = -months;
            days = -days;
            micros = -micros;
        }
        Ok(Interval {
            months: i32::try_from(months).map_err(|_| err())?,
            days: i32::try_from(days).map_err(|_| err())?,
            microseconds: i64::try_from(micros).map_err(|_| err())?,
        })
    }
}

/// Parses a signed decimal number into millionths (`1.5` → 1_500_000), rounding the 7th digit.
fn parse_decimal_micros(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())
        || int.len() > 20
    {
        return None;
    }
    let mut v: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    v *= 1_000_000;
    let mut f: i128 = 0;
    for (i, c) in frac.bytes().take(6).enumerate() {
        f += (c - b'0') as i128 * 10i128.pow(5 - i as u32);
    }
    if frac.as_bytes().get(6).is_some_and(|&c| c >= b'5') {
        f += 1;
    }
    v += f;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(date2j(2000, 1, 1), POSTGRES_EPOCH_JDATE);
        for days in [
            -2_451_545i64,
            -730_120,
            -1,
            0,
            1,
            59,
            60,
            365,
            10_000,
            2_000_000,
        ] {
            let (y, m, d) = j2date(days + POSTGRES_EPOCH_JDATE);
            assert_eq!(date2j(y, m as i64, d as i64) - POSTGRES_EPOCH_JDATE, days);
        }
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(Date::from(d).to_naive(), Some(d));
        assert_eq!(Date::from(d).to_string(), "2024-02-29");
        assert_eq!(Date::from_ymd(2000, 1, 1), Some(Date(0)));
        assert_eq!(Date::from_ymd(2023, 2, 29), None);
    }

    #[test]
    fn date_text() {
        for s in [
            "2024-01-15",
            "0001-01-01",
            "0001-12-31 BC",
            "4713-11-24 BC",
            "5874897-12-31",
            "infinity",
            "-infinity",
            "12345-06-07",
        ] {
            let d: Date = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "x",
            "2024-01-01 10:00",
            "0000-01-01 BC",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert_eq!(Date::INFINITY.to_naive(), None);
    }

    #[test]
    fn timestamp_text() {
        for s in [
            "2024-01-15 10:30:00",
            "2024-01-15 10:30:00.000001",
            "1999-12-31 23:59:59.5",
            "0044-03-15 12:00:00 BC",
            "infinity",
            "-infinity",
        ] {
            let t: Timestamp = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!(
            "2024-01-15T10:30".parse::<Timestamp>().unwrap().to_string(),
            "2024-01-15 10:30:00"
        );
        assert_eq!(
            "2024-01-15".parse::<Timestamp>().unwrap().to_string(),
            "2024-01-15 00:00:00"
        );
        let tz: TimestampTz = "2024-01-15 12:30:00+02".parse().unwrap();
        assert_eq!(tz.to_string(), "2024-01-15 10:30:00+00");
        let tz: TimestampTz = "2024-01-15T10:30:00.5Z".parse().unwrap();
        assert_eq!(tz.to_string(), "2024-01-15 10:30:00.5+00");
        assert!("2024-01-15 10:30:00".parse::<TimestampTz>().is_err());
        let n = NaiveDate::from_ymd_opt(1969, 7, 20)
            .unwrap()
            .and_hms_micro_opt(20, 17, 40, 123_456)
            .unwrap();
        assert_eq!(Timestamp::from(n).to_naive(), Some(n));
        assert_eq!(
            iso_timestamp(Timestamp::from(n).pg_micros(), true),
            "1969-07-20T20:17:40.123456+00:00"
        );
    }

    #[test]
    fn time_text() {
        assert_eq!("24:00:00".parse::<Time>().unwrap().to_string(), "24:00:00");
        assert_eq!("10:00".parse::<Time>().unwrap().to_string(), "10:00:00");
        assert!("24:00:01".parse::<Time>().is_err());
        let t: TimeTz = "10:00:00+05:30".parse().unwrap();
        assert_eq!(t.offset_seconds, 19800);
        assert_eq!(t.to_string(), "10:00:00+05:30");
        assert_eq!(
            "10:00:00.25-03".parse::<TimeTz>().unwrap().to_string(),
            "10:00:00.25-03"
        );
    }

    #[test]
    fn interval_text() {
        let cases = [
            (
                Interval {
                    months: 0,
                    days: 0,
                    microseconds: 0,
                },
                "00:00:00",
            ),
            (
                Interval {
                    months: 10,
                    days: 3,
                    microseconds: -(4 * USECS_PER_HOUR + 5 * USECS_PER_MINUTE + 6_500_000),
                },
                "10 mons 3 days -04:05:06.5",
            ),
            (
                Interval {
                    months: 0,
                    days: -1,
                    microseconds: 0,
                },
                "-1 days",
            ),
            (
                Interval {
                    months: 0,
                    days: -1,
                    microseconds: 2 * USECS_PER_HOUR,
                },
                "-1 days +02:00:00",
            ),
            (
                Interval {
                    months: 25,
                    days: 1,
                    microseconds: 0,
                },
                "2 years 1 mon 1 day",
            ),
            (
                Interval {
                    months: -12,
                    days: 0,
                    microseconds: 25 * USECS_PER_HOUR,
                },
                "-1 years +25:00:00",
            ),
        ];
        for (i, s) in cases {
            assert_eq!(i.to_string(), s);
            assert_eq!(s.parse::<Interval>().unwrap(), i, "{s}");
        }
        assert_eq!(
            "1 day 2 hours ago".parse::<Interval>().unwrap(),
            Interval {
                months: 0,
                days: -1,
                microseconds: -2 * USECS_PER_HOUR
            }
        );
        assert_eq!(
            "1.5 seconds".parse::<Interval>().unwrap().microseconds,
            1_500_000
        );
        assert!("P1D".parse::<Interval>().is_err());
    }
}
