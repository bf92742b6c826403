//! SQL text helpers: placeholder conversion and identifier quoting.

pub mod placeholders;

pub use placeholders::{conv_placeholders, plan, ArgSource, Converted, Plan};

/// Quotes an identifier for PostgreSQL, doubling embedded `"`: `a"b` → `"a""b"`.
pub fn quote_ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for ch in name.chars() {
        if ch == '"' {
            s.push('"');
        }
        s.push(ch);
    }
    s.push('"');
    s
}

/// True when `sql` contains a `?` or `:` (so it may hold `?` / `:name` placeholders): one pass,
/// eight bytes at a time. The common `$n`-only query is decided here without the full scan.
pub(crate) fn may_have_placeholders(sql: &str) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const Q: u64 = LO * b'?' as u64;
    const C: u64 = LO * b':' as u64;
    // A byte of `x` is zero exactly when the "has zero byte" bit for it is set (no false
    // positives once any earlier zero byte is excluded, and we only ask whether one exists).
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI != 0;
    let mut chunks = sql.as_bytes().chunks_exact(8);
    for ch in &mut chunks {
        let w = u64::from_le_bytes([ch[0], ch[1], ch[2], ch[3], ch[4], ch[5], ch[6], ch[7]]);
        if zero(w ^ Q) || zero(w ^ C) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b == b'?' || b == b':')
}

#[cfg(test)]
mod scan_tests {
    #[test]
    fn may_have_placeholders_matches_a_plain_scan() {
        let samples = [
            "",
            "?",
            ":",
            "SELECT 1",
            "SELECT $1",
            "SELECT abalance FROM t WHERE aid = $1",
            "SELECT ?",
            "x::int",
            "0123456789abcdef:",
            "0123456789abcde?",
            "é?",
            "ééééé:",
            "\u{7f}\u{80}?",
            "SELECT * FROM \"Mixed Case\" WHERE id = $1 AND v = $2",
        ];
        for s in samples {
            for start in 0..s.len() {
                let Some(t) = s.get(start..) else { continue };
                let want = t.bytes().any(|b| b == b'?' || b == b':');
                assert_eq!(super::may_have_placeholders(t), want, "{t:?}");
            }
        }
        for b in 0u8..=255 {
            let s = [b'a', b'b', b'c', b'd', b'e', b'f', b'g', b];
            let s = String::from_utf8_lossy(&s);
            let want = s.bytes().any(|b| b == b'?' || b == b':');
            assert_eq!(super::may_have_placeholders(&s), want);
        }
    }
}
