//! Full-text search types: the binary forms of `tsvector` and `tsquery` (PostgreSQL's
//! `tsvectorsend` and `tsquerysend`) rendered to their text forms, as `tsvectorout` and
//! `tsqueryout` write them.

type Res<T> = Result<T, String>;

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if self.0.len() < n {
            return Err("unexpected end of data".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Res<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Res<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn cstr(&mut self) -> Res<&'a str> {
        let n = self
            .0
            .iter()
            .position(|&b| b == 0)
            .ok_or("unterminated string")?;
        let s = std::str::from_utf8(&self.0[..n]).map_err(|e| e.to_string())?;
        self.0 = &self.0[n + 1..];
        Ok(s)
    }
}

/// Appends `'lexeme'` with `'` and `\` doubled.
fn quote_lexeme(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

/// Text form of a binary `tsvector`: `'a':1A 'cat' 'fat':2,3C`.
pub(crate) fn tsvector_to_text(raw: &[u8]) -> Res<String> {
    let mut r = Reader(raw);
    let n = r.i32()?;
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        let lexeme = r.cstr()?;
        quote_lexeme(&mut out, lexeme);
        let npos = r.u16()?;
        for j in 0..npos {
            out.push(if j == 0 { ':' } else { ',' });
            let p = r.u16()?;
            out.push_str(&(p & 0x3fff).to_string());
            match p >> 14 {
                3 => out.push('A'),
                2 => out.push('B'),
                1 => out.push('C'),
                _ => {}
            }
        }
    }
    if !r.0.is_empty() {
        return Err("trailing data".into());
    }
    Ok(out)
}

enum Item {
    Val {
        weight: u8,
        prefix: bool,
        text: String,
    },
    Op {
        oper: u8,
        distance: i16,
    },
}

const OP_NOT: u8 = 1;
const OP_AND: u8 = 2;
const OP_OR: u8 = 3;
const OP_PHRASE: u8 = 4;

fn priority(oper: u8) -> i32 {
    match oper {
        OP_NOT => 4,
        OP_AND => 2,
        OP_OR => 1,
        _ => 3,
    }
}

/// Text form of a binary `tsquery`: `!( 'a' & 'b' ) | 'c' <-> 'd':*AB`.
pub(crate) fn tsquery_to_text(raw: &[u8]) -> Res<String> {
    let mut r = Reader(raw);
    let n = r.i32()?;
    let mut items = Vec::with_capacity((n.max(0) as usize).min(raw.len() / 2));
    for _ in 0..n {
        match r.u8()? {
            1 => {
                let weight = r.u8()?;
                let prefix = r.u8()? != 0;
                let text = r.cstr()?.to_string();
                items.push(Item::Val {
                    weight,
                    prefix,
                    text,
                });
            }
            2 => {
                let oper = r.u8()?;
                let distance = if oper == OP_PHRASE {
                    r.u16()? as i16
                } else {
                    0
                };
                if !(OP_NOT..=OP_PHRASE).contains(&oper) {
                    return Err(format!("invalid tsquery operator {oper}"));
                }
                items.push(Item::Op { oper, distance });
            }
            t => return Err(format!("invalid tsquery item type {t}")),
        }
    }
    if !r.0.is_empty() {
        return Err("trailing data".into());
    }
    if items.is_empty() {
        return Ok(String::new());
    }
    let mut pos = 0;
    let mut out = String::new();
    infix(&items, &mut pos, &mut out, -1, false)?;
    if pos != items.len() {
        return Err("malformed tsquery".into());
    }
    Ok(out)
}

/// PostgreSQL's `infix()`: items are in prefix order, a binary operator followed by its right
/// operand then its left operand.
fn infix(
    items: &[Item],
    pos: &mut usize,
    out: &mut String,
    parent_priority: i32,
    right_phrase_op: bool,
) -> Res<()> {
    let item = items.get(*pos).ok_or("malformed tsquery")?;
    *pos += 1;
    match item {
        Item::Val {
            weight,
            prefix,
            text,
        } => {
            quote_lexeme(out, text);
            if *weight != 0 || *prefix {
                out.push(':');
                if *prefix {
                    out.push('*');
                }
                for (bit, c) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
                    if weight & bit != 0 {
                        out.push(c);
                    }
                }
            }
        }
        Item::Op { oper: OP_NOT, .. } => {
            let p = priority(OP_NOT);
            let paren = p < parent_priority;
            if paren {
                out.push_str("( ");
            }
            out.push('!');
            infix(items, pos, out, p, false)?;
            if paren {
                out.push_str(" )");
            }
        }
        Item::Op { oper, distance } => {
            let p = priority(*oper);
            let paren = p < parent_priority || (*oper == OP_PHRASE && right_phrase_op);
            if paren {
                out.push_str("( ");
            }
            let mut right = String::new();
            infix(items, pos, &mut right, p, *oper == OP_PHRASE)?;
            infix(items, pos, out, p, false)?;
            match *oper {
                OP_AND => out.push_str(" & "),
                OP_OR => out.push_str(" | "),
                _ => {
                    if *distance == 1 {
                        out.push_str(" <-> ");
                    } else {
                        out.push_str(&format!(" <{distance}> "));
                    }
                }
            }
            out.push_str(&right);
            if paren {
                out.push_str(" )");
            }
        }
    }
    Ok(())
}
