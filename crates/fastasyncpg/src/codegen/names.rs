//! Readable, keyword-safe Rust names from SQL names.

use std::collections::HashSet;

/// Rust keywords (strict, reserved and edition-2024 ones) that need `r#` as identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Type names a generated type must not shadow (prelude and what generated code names).
const RESERVED_TYPES: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Vec",
    "String",
    "Box",
    "Self",
    "Default",
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Send",
    "Sync",
    "Sized",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Iterator",
    "From",
    "Into",
    "ToString",
    "ToOwned",
    "AsRef",
    "AsMut",
    "Extend",
    "IntoIterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "PartialOrd",
    "Ord",
    "Unpin",
    "TryFrom",
    "TryInto",
    "FromIterator",
    "Model",
    "PgEnum",
    "PgComposite",
    "FromRow",
];

/// Splits a SQL name into lower-case ASCII words: at non-alphanumerics and case changes
/// (`firstName`, `HTTPCode`, `first name`, `invoice_line`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        if !ch.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if ch.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next = chars.get(i + 1).copied();
            let boundary = prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()));
            if boundary {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(ch.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `first name` → `first_name`, `type` → `r#type`, `self` → `self_`, `1st` → `c_1st`.
pub(crate) fn field_name(sql: &str) -> String {
    let w = words(sql);
    let mut s = if w.is_empty() {
        "col".to_string()
    } else {
        w.join("_")
    };
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("c_{s}");
    }
    keyword_safe(s)
}

fn keyword_safe(s: String) -> String {
    if NOT_RAW.contains(&s.as_str()) {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// `invoice_line` → `InvoiceLine`, `MixedCase` → `MixedCase`, `very happy` → `VeryHappy`.
pub(crate) fn type_name(sql: &str, fallback: &str) -> String {
    let mut s: String = words(sql)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if s.is_empty() {
        s = fallback.to_string();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("{fallback}{s}");
    }
    s
}

/// A set of names already used in one namespace; [`Names::claim`] dedupes.
#[derive(Default)]
pub(crate) struct Names {
    used: HashSet<String>,
}

impl Names {
    /// A namespace for type names, with the reserved ones taken.
    pub(crate) fn for_types() -> Self {
        Names {
            used: RESERVED_TYPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `want` if free, else the first free of `alt`, `want2`, `want3`…
    pub(crate) fn claim(&mut self, want: &str, alt: Option<&str>) -> String {
        let base = want.strip_prefix("r#").unwrap_or(want);
        if self.used.insert(base.to_string()) {
            return want.to_string();
        }
        if let Some(a) = alt {
            let b = a.strip_prefix("r#").unwrap_or(a);
            if self.used.insert(b.to_string()) {
                return a.to_string();
            }
        }
        let stem = base.trim_end_matches('_');
        let sep = if stem.ends_with(|c: char| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        let mut n = 2;
        loop {
            let cand = format!("{stem}{sep}{n}");
            if self.used.insert(cand.clone()) {
                return cand;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(field_name("first name"), "first_name");
        assert_eq!(field_name("MixedCase"), "mixed_case");
        assert_eq!(field_name("firstName"), "first_name");
        assert_eq!(field_name("HTTPCode"), "http_code");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("1st"), "c_1st");
        assert_eq!(field_name("\"quoted\""), "quoted");
        assert_eq!(field_name("---"), "col");
        assert_eq!(field_name("café au lait"), "caf_au_lait");
    }

    #[test]
    fn types() {
        assert_eq!(type_name("invoice_line", "T"), "InvoiceLine");
        assert_eq!(type_name("MixedCase", "T"), "MixedCase");
        assert_eq!(type_name("very happy", "V"), "VeryHappy");
        assert_eq!(type_name("1st", "V"), "V1st");
        assert_eq!(type_name("", "Empty"), "Empty");
        let mut n = Names::for_types();
        assert_eq!(n.claim("Option", Some("OptionRow")), "OptionRow");
        assert_eq!(n.claim("Artist", None), "Artist");
        assert_eq!(n.claim("Artist", None), "Artist2");
        let mut f = Names::default();
        assert_eq!(f.claim("r#type", None), "r#type");
        assert_eq!(f.claim("type", None), "type2");
        assert_eq!(f.claim("a1", None), "a1");
        assert_eq!(f.claim("a1", None), "a1_2");
    }
}
