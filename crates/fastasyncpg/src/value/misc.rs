//! Smaller scalar types: network addresses, bit strings, tuple ids, LSNs and MAC addresses.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An `inet` or `cidr` value: an IP address and a prefix length (netmask bits).
///
/// ```
/// use fastasyncpg::value::Inet;
/// let a: Inet = "192.168.0.1/24".parse().unwrap();
/// assert_eq!(a.prefix, 24);
/// assert_eq!(a.to_string(), "192.168.0.1/24");
/// assert_eq!("::1".parse::<Inet>().unwrap().to_string(), "::1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inet {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length: 0–32 for IPv4, 0–128 for IPv6.
    pub prefix: u8,
}

impl Inet {
    /// An address with a prefix length; `None` when the prefix is too long for the family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Inet> {
        (prefix <= max_prefix(&addr)).then_some(Inet { addr, prefix })
    }

    /// A single host (full-length prefix).
    pub fn host(addr: IpAddr) -> Inet {
        Inet {
            addr,
            prefix: max_prefix(&addr),
        }
    }

    /// True when the prefix covers the whole address (a single host).
    pub fn is_host(&self) -> bool {
        self.prefix == max_prefix(&self.addr)
    }

    /// The network: the address with its host bits zeroed (what `cidr` keeps).
    pub fn network(&self) -> Inet {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix as u32)
                };
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix as u32)
                };
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        Inet {
            addr,
            prefix: self.prefix,
        }
    }

    /// `addr/prefix`, always with the prefix (PostgreSQL's `cidr` output).
    pub fn to_cidr_string(&self) -> String {
        format!("{}/{}", self.addr, self.prefix)
    }
}

pub(crate) fn max_prefix(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

impl fmt::Display for Inet {
    /// `addr/prefix`, or just `addr` for a single host (PostgreSQL's `inet` output).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// The error of parsing an [`Inet`], [`BitString`], [`Tid`], MAC address or LSN from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseValueError {
    what: &'static str,
    input: String,
}

impl ParseValueError {
    pub(crate) fn new(what: &'static str, input: &str) -> Self {
        ParseValueError {
            what,
            input: input.to_string(),
        }
    }
}

impl fmt::Display for ParseValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}", self.what, self.input)
    }
}

impl std::error::Error for ParseValueError {}

impl FromStr for Inet {
    type Err = ParseValueError;

    /// Parses `addr` or `addr/prefix`.
    fn from_str(input: &str) -> Result<Inet, ParseValueError> {
        let err = || ParseValueError::new("inet", input);
        let s = input.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| err())?;
        let prefix = match p {
            Some(p) => p.parse::<u8>().map_err(|_| err())?,
            None => max_prefix(&addr),
        };
        Inet::new(addr, prefix).ok_or_else(err)
    }
}

/// A `bit` or `bit varying` value: a string of bits.
///
/// ```
/// use fastasyncpg::value::BitString;
/// let b: BitString = "10110".parse().unwrap();
/// assert_eq!(b.len(), 5);
/// assert_eq!(b.as_bytes(), &[0b1011_0000]);
/// assert_eq!(b.to_string(), "10110");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BitString {
    len: usize,
    bytes: Vec<u8>,
}

impl BitString {
    /// From packed bytes (most significant bit first) and a bit count; `None` when `bytes` is not
    /// exactly `ceil(len / 8)` long. Padding bits are cleared.
    pub fn from_bytes(mut bytes: Vec<u8>, len: usize) -> Option<BitString> {
        if bytes.len() != len.div_ceil(8) {
            return None;
        }
        if len % 8 != 0 {
            if let Some(last) = bytes.last_mut() {
                *last &= 0xFFu8 << (8 - len % 8);
            }
        }
        Some(BitString { len, bytes })
    }

    /// From bits, first bit first.
    pub fn from_bits(bits: impl IntoIterator<Item = bool>) -> BitString {
        let mut b = BitString::default();
        for bit in bits {
            if b.len % 8 == 0 {
                b.bytes.push(0);
            }
            if bit {
                let i = b.len / 8;
                b.bytes[i] |= 0x80 >> (b.len % 8);
            }
            b.len += 1;
        }
        b
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no bit.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bits packed into bytes, most significant bit first, padding bits zero.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bit `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<bool> {
        (i < self.len).then(|| self.bytes[i / 8] & (0x80 >> (i % 8)) != 0)
    }

    /// The bits, first bit first.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.bytes[i / 8] & (0x80 >> (i % 8)) != 0)
    }
}

impl fmt::Display for BitString {
    /// The bits as `0`/`1` characters (PostgreSQL's output, also valid input).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: String = self.iter().map(|b| if b { '1' } else { '0' }).collect();
        f.write_str(&s)
    }
}

impl FromStr for BitString {
    type Err = ParseValueError;

    /// Parses `0`/`1` digits, optionally prefixed with `B`, or hexadecimal digits prefixed with `X`.
    fn from_str(input: &str) -> Result<BitString, ParseValueError> {
        let err = || ParseValueError::new("bit string", input);
        let s = input.trim();
        if let Some(hex) = s.strip_prefix(['x', 'X']) {
            let mut bits = Vec::with_capacity(hex.len() * 4);
            for c in hex.chars() {
                let v = c.to_digit(16).ok_or_else(err)?;
                bits.extend((0..4).rev().map(|i| v & (1 << i) != 0));
            }
            return Ok(BitString::from_bits(bits));
        }
        let s = s.strip_prefix(['b', 'B']).unwrap_or(s);
        let bits: Option<Vec<bool>> = s
            .chars()
            .map(|c| match c {
                '0' => Some(false),
                '1' => Some(true),
                _ => None,
            })
            .collect();
        Ok(BitString::from_bits(bits.ok_or_else(err)?))
    }
}

/// A `tid`: a tuple's physical location, `(block,offset)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tid {
    /// Block number.
    pub block: u32,
    /// Tuple index within the block (1-based).
    pub offset: u16,
}

impl fmt::Display for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.block, self.offset)
    }
}

impl FromStr for Tid {
    type Err = ParseValueError;

    /// Parses `(block,offset)`.
    fn from_str(input: &str) -> Result<Tid, ParseValueError> {
        let err = || ParseValueError::new("tid", input);
        let s = input
            .trim()
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(err)?;
        let (b, o) = s.split_once(',').ok_or_else(err)?;
        Ok(Tid {
            block: b.trim().parse().map_err(|_| err())?,
            offset: o.trim().parse().map_err(|_| err())?,
        })
    }
}

/// A `macaddr` value: a 6-byte MAC address, written `08:00:2b:01:02:03`.
///
/// ```
/// use fastasyncpg::value::MacAddr;
/// let m: MacAddr = "08-00-2B-01-02-03".parse().unwrap();
/// assert_eq!(m.0, [8, 0, 0x2b, 1, 2, 3]);
/// assert_eq!(m.to_string(), "08:00:2b:01:02:03");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

/// A `macaddr8` value: an 8-byte (EUI-64) MAC address, written `08:00:2b:01:02:03:04:05`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr8(pub [u8; 8]);

impl fmt::Display for MacAddr {
    /// Lower-case hex pairs separated by `:` (PostgreSQL's output).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_mac(&self.0))
    }
}

impl fmt::Display for MacAddr8 {
    /// Lower-case hex pairs separated by `:` (PostgreSQL's output).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_mac(&self.0))
    }
}

impl FromStr for MacAddr {
    type Err = ParseValueError;

    /// Parses six hex pairs separated by `:`, `-`, `.` or nothing.
    fn from_str(input: &str) -> Result<MacAddr, ParseValueError> {
        parse_mac::<6>(input)
            .map(MacAddr)
            .ok_or_else(|| ParseValueError::new("macaddr", input))
    }
}

impl FromStr for MacAddr8 {
    type Err = ParseValueError;

    /// Parses eight hex pairs separated by `:`, `-`, `.` or nothing.
    fn from_str(input: &str) -> Result<MacAddr8, ParseValueError> {
        parse_mac::<8>(input)
            .map(MacAddr8)
            .ok_or_else(|| ParseValueError::new("macaddr8", input))
    }
}

/// `X/Y` upper-case hexadecimal, PostgreSQL's `pg_lsn` text form.
pub(crate) fn fmt_lsn(v: u64) -> String {
    format!("{:X}/{:X}", v >> 32, v & 0xFFFF_FFFF)
}

/// Parses a `pg_lsn` (`16/B374D848`).
pub(crate) fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.trim().split_once('/')?;
    if hi.is_empty() || lo.is_empty() || hi.len() > 8 || lo.len() > 8 {
        return None;
    }
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    Some(hi << 32 | lo)
}

/// `08:00:2b:01:02:03`.
pub(crate) fn fmt_mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses a MAC address of `N` bytes written as hex pairs separated by `:`, `-`, `.` or nothing.
pub(crate) fn parse_mac<const N: usize>(s: &str) -> Option<[u8; N]> {
    let hex: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != N * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misc_text() {
        let b: BitString = "101100111".parse().unwrap();
        assert_eq!(b.as_bytes(), &[0b1011_0011, 0b1000_0000]);
        assert_eq!(b.to_string(), "101100111");
        assert_eq!("X1F".parse::<BitString>().unwrap().to_string(), "00011111");
        assert!("102".parse::<BitString>().is_err());
        assert_eq!(
            BitString::from_bytes(vec![0xFF], 3).unwrap().as_bytes(),
            &[0xE0]
        );
        assert_eq!(fmt_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(
            parse_mac::<6>("08:00:2B:01:02:03"),
            Some([8, 0, 0x2b, 1, 2, 3])
        );
        assert_eq!(fmt_mac(&[8, 0, 0x2b, 1, 2, 3]), "08:00:2b:01:02:03");
        let i: Inet = "10.1.2.3/8".parse().unwrap();
        assert_eq!(i.network().to_cidr_string(), "10.0.0.0/8");
        assert!("10.1.2.3/33".parse::<Inet>().is_err());
        assert_eq!(
            "(3,4)".parse::<Tid>().unwrap(),
            Tid {
                block: 3,
                offset: 4
            }
        );
    }
}
