//! SQL text helpers: placeholder conversion and identifier quoting.

mod placeholders;

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
