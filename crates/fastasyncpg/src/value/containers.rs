//! Arrays, ranges and composite values, with PostgreSQL's text syntax for each.

use std::fmt;

use super::Value;

/// One dimension of an [`Array`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArrayDim {
    /// Number of elements along this dimension.
    pub len: i32,
    /// Index of the first element (1 unless written otherwise, e.g. `'[0:2]={1,2,3}'`).
    pub lower_bound: i32,
}

/// A PostgreSQL array of any number of dimensions; elements may be NULL.
///
/// Elements are stored flat, in row-major order. A one-dimensional array built from a `Vec`
/// has lower bound 1, like PostgreSQL's own arrays.
///
/// ```
/// use fastasyncpg::value::{Array, Value};
/// let a = Array::from_vec(vec![Value::Int4(1), Value::Null, Value::Text("a b".into())]);
/// assert_eq!(a.to_string(), r#"{1,NULL,"a b"}"#);
/// ```
///
/// An array decoded from a column of a user-defined element type (an enum, a composite…)
/// remembers its type's name for [`Value::type_name`]; equality ignores it.
#[derive(Clone, Debug, Default)]
pub struct Array {
    dims: Vec<ArrayDim>,
    elements: Vec<Value>,
    type_name: Option<Box<str>>,
}

impl PartialEq for Array {
    fn eq(&self, other: &Array) -> bool {
        self.dims == other.dims && self.elements == other.elements
    }
}

impl Array {
    /// An array with the given dimensions and its elements in row-major order; `None` when the
    /// element count does not match the dimensions.
    pub fn new(dims: Vec<ArrayDim>, elements: Vec<Value>) -> Option<Array> {
        let expected: i64 = if dims.is_empty() {
            0
        } else {
            dims.iter().map(|d| d.len.max(0) as i64).product()
        };
        if dims.iter().any(|d| d.len < 0) || expected != elements.len() as i64 {
            return None;
        }
        // PostgreSQL represents an empty array with zero dimensions.
        let dims = if elements.is_empty() {
            Vec::new()
        } else {
            dims
        };
        Some(Array {
            dims,
            elements,
            type_name: None,
        })
    }

    /// A one-dimensional array (lower bound 1); an empty `Vec` gives the empty array `{}`.
    pub fn from_vec(elements: Vec<Value>) -> Array {
        let dims = if elements.is_empty() {
            Vec::new()
        } else {
            vec![ArrayDim {
                len: elements.len() as i32,
                lower_bound: 1,
            }]
        };
        Array {
            dims,
            elements,
            type_name: None,
        }
    }

    /// The dimensions (none for an empty array).
    pub fn dims(&self) -> &[ArrayDim] {
        &self.dims
    }

    /// The elements in row-major order.
    pub fn elements(&self) -> &[Value] {
        &self.elements
    }

    /// Takes the elements (row-major order).
    pub fn into_elements(self) -> Vec<Value> {
        self.elements
    }

    /// Total number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// True when the array has no element.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The sub-arrays along the first dimension (for a 1-D array: each element as is).
    pub fn into_rows(self) -> Vec<Value> {
        if self.dims.len() <= 1 {
            return self.elements;
        }
        let inner: Vec<ArrayDim> = self.dims[1..].to_vec();
        let chunk = self.elements.len() / self.dims[0].len.max(1) as usize;
        let mut out = Vec::with_capacity(self.dims[0].len as usize);
        let mut it = self.elements.into_iter();
        for _ in 0..self.dims[0].len {
            let part: Vec<Value> = it.by_ref().take(chunk).collect();
            out.push(Value::Array(Array {
                dims: inner.clone(),
                elements: part,
                type_name: self.type_name.clone(),
            }));
        }
        out
    }

    /// Builds an array from rows: when every row is a non-empty array of the same shape the
    /// result has one more dimension, otherwise it is one-dimensional.
    pub fn from_rows(rows: Vec<Value>) -> Array {
        let shape = match rows.first() {
            Some(Value::Array(a)) if !a.is_empty() => Some(a.dims.clone()),
            _ => None,
        };
        if let Some(shape) = shape {
            if rows
                .iter()
                .all(|r| matches!(r, Value::Array(a) if a.dims == shape))
            {
                let mut dims = vec![ArrayDim {
                    len: rows.len() as i32,
                    lower_bound: 1,
                }];
                dims.extend(shape);
                let mut elements = Vec::new();
                for r in rows {
                    if let Value::Array(a) = r {
                        elements.extend(a.elements);
                    }
                }
                return Array {
                    dims,
                    elements,
                    type_name: None,
                };
            }
        }
        Array::from_vec(rows)
    }

    pub(crate) fn map_elements(&self, elements: Vec<Value>) -> Array {
        Array {
            dims: self.dims.clone(),
            elements,
            type_name: None,
        }
    }

    /// The array type's name when it was decoded from a user-defined element type
    /// (`mood[]`); `None` otherwise.
    pub fn type_name(&self) -> Option<&str> {
        self.type_name.as_deref()
    }

    pub(crate) fn set_type_name(&mut self, name: String) {
        self.type_name = Some(name.into_boxed_str());
    }
}

impl FromIterator<Value> for Array {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Array::from_vec(iter.into_iter().collect())
    }
}

fn is_pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C')
}

/// Writes an array element, quoted when PostgreSQL's `array_out` would quote it.
fn write_array_elem(out: &mut String, s: &str, delim: char) {
    let needs = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.chars()
            .any(|c| c == '"' || c == '\\' || c == '{' || c == '}' || c == delim || is_pg_space(c));
    if !needs {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

impl fmt::Display for Array {
    /// PostgreSQL's array syntax: `{1,NULL,"a b"}`, `{{1,2},{3,4}}`, `[0:1]={a,b}`, `{}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.elements.is_empty() {
            return f.write_str("{}");
        }
        let delim = match self.elements.iter().find(|v| !v.is_null()) {
            Some(Value::Box(_)) => ';',
            _ => ',',
        };
        let lens: Vec<usize> = self.dims.iter().map(|d| d.len as usize).collect();
        let mut res = String::new();
        if self.dims.iter().any(|d| d.lower_bound != 1) {
            for d in &self.dims {
                res.push_str(&format!(
                    "[{}:{}]",
                    d.lower_bound,
                    d.lower_bound as i64 + d.len as i64 - 1
                ));
            }
            res.push('=');
        }
        write_nested(&mut res, &self.elements, &lens, delim);
        f.write_str(&res)
    }
}

fn write_nested(out: &mut String, elements: &[Value], lens: &[usize], delim: char) {
    out.push('{');
    if lens.len() <= 1 {
        for (i, v) in elements.iter().enumerate() {
            if i > 0 {
                out.push(delim);
            }
            match v {
                Value::Null => out.push_str("NULL"),
                v => write_array_elem(out, &v.to_string(), delim),
            }
        }
    } else {
        let chunk = elements.len() / lens[0].max(1);
        for (i, part) in elements.chunks(chunk.max(1)).enumerate() {
            if i > 0 {
                out.push(delim);
            }
            write_nested(out, part, &lens[1..], delim);
        }
    }
    out.push('}');
}

/// One end of a [`Range`].
#[derive(Clone, Debug, PartialEq)]
pub enum RangeBound {
    /// The end value is part of the range (`[` or `]`).
    Inclusive(Box<Value>),
    /// The end value is not part of the range (`(` or `)`).
    Exclusive(Box<Value>),
    /// No bound on this side (infinite).
    Unbounded,
}

impl RangeBound {
    /// The bound's value, `None` when unbounded.
    pub fn value(&self) -> Option<&Value> {
        match self {
            RangeBound::Inclusive(v) | RangeBound::Exclusive(v) => Some(v),
            RangeBound::Unbounded => None,
        }
    }

    pub(crate) fn with_value(&self, v: Value) -> RangeBound {
        match self {
            RangeBound::Inclusive(_) => RangeBound::Inclusive(Box::new(v)),
            RangeBound::Exclusive(_) => RangeBound::Exclusive(Box::new(v)),
            RangeBound::Unbounded => RangeBound::Unbounded,
        }
    }
}

/// A PostgreSQL range (`int4range`, `tstzrange`, any custom range type…).
///
/// ```
/// use fastasyncpg::value::{Range, RangeBound, Value};
/// let r = Range::Bounds {
///     lower: RangeBound::Inclusive(Box::new(Value::Int4(1))),
///     upper: RangeBound::Exclusive(Box::new(Value::Int4(5))),
/// };
/// assert_eq!(r.to_string(), "[1,5)");
/// assert_eq!(Range::Empty.to_string(), "empty");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Range {
    /// The empty range.
    Empty,
    /// A range with two ends, each inclusive, exclusive or unbounded.
    Bounds {
        /// The lower end.
        lower: RangeBound,
        /// The upper end.
        upper: RangeBound,
    },
}

impl Range {
    /// `[lower, upper)`, the canonical form of discrete ranges.
    pub fn closed_open(lower: impl Into<Value>, upper: impl Into<Value>) -> Range {
        Range::Bounds {
            lower: RangeBound::Inclusive(Box::new(lower.into())),
            upper: RangeBound::Exclusive(Box::new(upper.into())),
        }
    }

    /// The value of the first bound present (to tell the element type).
    pub(crate) fn some_value(&self) -> Option<&Value> {
        match self {
            Range::Empty => None,
            Range::Bounds { lower, upper } => lower.value().or(upper.value()),
        }
    }
}

/// Writes a range bound value, quoted when PostgreSQL's `range_out` would quote it.
fn write_range_elem(out: &mut String, s: &str) {
    let needs = s.is_empty()
        || s.chars()
            .any(|c| matches!(c, '"' | '\\' | '(' | ')' | '[' | ']' | ',') || is_pg_space(c));
    if !needs {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('"');
}

impl fmt::Display for Range {
    /// PostgreSQL's range syntax: `[1,5)`, `(,10]`, `empty`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Empty => f.write_str("empty"),
            Range::Bounds { lower, upper } => {
                let mut out = String::new();
                out.push(if matches!(lower, RangeBound::Inclusive(_)) {
                    '['
                } else {
                    '('
                });
                if let Some(v) = lower.value() {
                    write_range_elem(&mut out, &v.to_string());
                }
                out.push(',');
                if let Some(v) = upper.value() {
                    write_range_elem(&mut out, &v.to_string());
                }
                out.push(if matches!(upper, RangeBound::Inclusive(_)) {
                    ']'
                } else {
                    ')'
                });
                f.write_str(&out)
            }
        }
    }
}

/// Writes a multirange: `{[1,3),[5,7)}`.
pub(crate) fn fmt_multirange(f: &mut fmt::Formatter<'_>, ranges: &[Range]) -> fmt::Result {
    f.write_str("{")?;
    for (i, r) in ranges.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{r}")?;
    }
    f.write_str("}")
}

/// A value of a composite type (a table's row type or `CREATE TYPE … AS (…)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Composite {
    /// The type's name (without schema).
    pub type_name: String,
    /// The fields, in order, with their names.
    pub fields: Vec<(String, Value)>,
}

impl Composite {
    /// The value of the field called `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Writes record syntax: `(1,"a b",)` (NULL fields are empty).
pub(crate) fn fmt_record<'a>(
    f: &mut fmt::Formatter<'_>,
    values: impl Iterator<Item = &'a Value>,
) -> fmt::Result {
    let mut out = String::from("(");
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if v.is_null() {
            continue;
        }
        let s = v.to_string();
        let needs = s.is_empty()
            || s.chars()
                .any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || is_pg_space(c));
        if !needs {
            out.push_str(&s);
            continue;
        }
        out.push('"');
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push(')');
    f.write_str(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn array_text_quoting() {
        let a = Array::from_vec(vec![
            t("a"),
            t("a b"),
            t(""),
            t("null"),
            Value::Null,
            t("x\"y"),
            t("back\\slash"),
            t("{}"),
            t("a,b"),
            t("tab\there"),
        ]);
        assert_eq!(
            a.to_string(),
            r#"{a,"a b","","null",NULL,"x\"y","back\\slash","{}","a,b","tab	here"}"#
        );
        assert_eq!(Array::default().to_string(), "{}");
        let two = Array::new(
            vec![
                ArrayDim {
                    len: 2,
                    lower_bound: 1,
                },
                ArrayDim {
                    len: 3,
                    lower_bound: 1,
                },
            ],
            (1..=6).map(Value::Int4).collect(),
        )
        .unwrap();
        assert_eq!(two.to_string(), "{{1,2,3},{4,5,6}}");
        let rows = two.clone().into_rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].to_string(), "{4,5,6}");
        assert_eq!(Array::from_rows(rows), two);
        let lb = Array::new(
            vec![ArrayDim {
                len: 2,
                lower_bound: 0,
            }],
            vec![t("a"), t("b")],
        )
        .unwrap();
        assert_eq!(lb.to_string(), "[0:1]={a,b}");
        assert!(Array::new(
            vec![ArrayDim {
                len: 2,
                lower_bound: 1
            }],
            vec![t("a")]
        )
        .is_none());
        let boxes = Array::from_vec(vec![
            Value::Box(crate::value::GeoBox::default()),
            Value::Box(crate::value::GeoBox::default()),
        ]);
        assert_eq!(boxes.to_string(), "{(0,0),(0,0);(0,0),(0,0)}");
        let nested = Array::from_vec(vec![
            Value::Record(vec![Value::Int4(1), t("a b")]),
            Value::Range(Range::closed_open(1, 2)),
        ]);
        assert_eq!(nested.to_string(), r#"{"(1,\"a b\")","[1,2)"}"#);
    }

    #[test]
    fn range_and_record_text() {
        let r = Range::Bounds {
            lower: RangeBound::Unbounded,
            upper: RangeBound::Inclusive(Box::new(t("a \"q\" b"))),
        };
        assert_eq!(r.to_string(), r#"(,"a ""q"" b"]"#);
        let r = Range::closed_open(t(""), t("z"));
        assert_eq!(r.to_string(), r#"["",z)"#);
        let rec = Value::Record(vec![
            Value::Int4(1),
            t("a b"),
            Value::Null,
            t(""),
            t("x\"y\\"),
            t("(p)"),
        ]);
        assert_eq!(rec.to_string(), r#"(1,"a b",,"","x""y\\","(p)")"#);
        let mr = Value::Multirange(vec![Range::closed_open(1, 3), Range::closed_open(5, 7)]);
        assert_eq!(mr.to_string(), "{[1,3),[5,7)}");
        assert_eq!(Value::Multirange(vec![]).to_string(), "{}");
    }
}
