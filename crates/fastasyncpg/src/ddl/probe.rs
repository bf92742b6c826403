//! The field shapes of a `serde::Deserialize` struct, found by deserializing it from a probing
//! `Deserializer` (for [`TableSchema::from_type`](super::TableSchema::from_type)).
//!
//! Each field's `Deserialize` impl asks for what it wants (`deserialize_i64`,
//! `deserialize_option`, `deserialize_seq`…); the probe records the request and answers with a
//! sample value. Types whose deserializers validate their input ask for a string
//! (`chrono::NaiveDate`, `DateTime<Utc>`, `uuid::Uuid`, `std::net::IpAddr` in a human-readable
//! format) or for anything (`serde_json::Value`, `rust_decimal::Decimal`): the probe offers
//! sample values in turn — a string no validating type accepts (so: text), a UUID, a date, a
//! timestamp, a timestamp with zone, a time, an IP address, a decimal; for "anything" an empty
//! map (JSON) then a decimal string — and the first sample the field accepts names its SQL type.
//! A rejected sample aborts the whole deserialization, so the struct is deserialized again with
//! the next sample for that field (a handful of runs per struct, in microseconds). Enums are
//! deserialized once per variant to tell unit-only enums (text) from the others (jsonb).

use std::cell::RefCell;
use std::collections::HashMap;

use serde::de::value::{Error as E, StrDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// What a string-reading field accepted: which SQL type it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrKind {
    Text,
    Uuid,
    Date,
    Timestamp,
    TimestampTz,
    Time,
    Inet,
    Numeric,
}

/// The samples offered to a field that reads a string, in order: the first it accepts decides.
/// The text sample comes first (a `String` accepts anything) and is no valid value of any
/// validating type.
const STR_PROBES: &[(StrKind, &str)] = &[
    (
        StrKind::Text,
        "\u{0}fastasyncpg probe: no date, uuid or number",
    ),
    (StrKind::Uuid, "00000000-0000-0000-0000-000000000000"),
    (StrKind::Date, "2000-01-02"),
    (StrKind::Timestamp, "2000-01-02T03:04:05"),
    (StrKind::TimestampTz, "2000-01-02T03:04:05Z"),
    (StrKind::Time, "03:04:05"),
    (StrKind::Inet, "127.0.0.1"),
    (StrKind::Numeric, "1.5"),
];

/// Samples for a field that reads anything (`deserialize_any`): an empty map (JSON values),
/// then a decimal string (`rust_decimal::Decimal`).
const ANY_PROBES: usize = 2;

/// What one path (a field, an `Option`'s inner value `p?`, a sequence element `p[]`, a newtype's
/// inner value `p.0`, a nested field `p.f`) asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str(StrKind),
    Numeric,
    Bytes,
    Option,
    Seq,
    NewType,
    Enum,
    /// Maps, tuples, nested structs, unit, JSON values: stored as `jsonb`.
    Json,
}

/// Which kind of sample failed, for the retry and the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Str,
    Any,
    Other,
}

#[derive(Default)]
struct State {
    /// The sample (or enum variant) index per path.
    choice: HashMap<String, usize>,
    /// Shapes seen in the current run.
    shapes: HashMap<String, Shape>,
    /// Enum paths: the number of variants, and whether a variant seen so far carries data.
    enums: HashMap<String, (usize, bool)>,
    /// The first sample rejected in the current run.
    failed: Option<(String, Probe)>,
    /// The field being deserialized last (a type may reject a sample after reading it).
    current: Option<String>,
    /// The top-level struct's name and fields.
    top: Option<(&'static str, &'static [&'static str])>,
}

/// One field of the traced struct, mapped.
pub(crate) struct Field {
    pub(crate) name: String,
    /// The SQL type (`jsonb` for anything without a scalar mapping).
    pub(crate) sql_type: String,
    /// An `Option` field.
    pub(crate) nullable: bool,
    /// An integer type that fits `bigint` (an identity key candidate).
    pub(crate) integer: bool,
}

/// The struct name and mapped fields of `T`, or why they cannot be found.
pub(crate) fn trace<T: DeserializeOwned>() -> Result<(String, Vec<Field>), String> {
    let st = RefCell::new(State::default());
    let mut runs = 0;
    loop {
        runs += 1;
        if runs > 10_000 {
            return Err("too many variants to trace".into());
        }
        {
            let mut s = st.borrow_mut();
            s.shapes.clear();
            s.failed = None;
            s.current = None;
        }
        let r = T::deserialize(ProbeDe {
            st: &st,
            path: String::new(),
        });
        let mut s = st.borrow_mut();
        match r {
            Ok(_) => {
                // Explore the next variant of an enum not yet known to carry data.
                let next = s
                    .enums
                    .iter()
                    .filter(|(p, (n, data))| {
                        !data
                            && s.shapes.contains_key(*p)
                            && s.choice.get(*p).copied().unwrap_or(0) + 1 < *n
                    })
                    .map(|(p, _)| p.clone())
                    .min();
                match next {
                    Some(p) => *s.choice.entry(p).or_insert(0) += 1,
                    None => break,
                }
            }
            Err(e) => {
                // A sample read without complaint and then refused (a newtype validating a
                // `String`) counts as rejected by the field being deserialized.
                let failed = s.failed.clone().or_else(|| {
                    let p = s.current.clone()?;
                    let probe = match s.shapes.get(&p) {
                        Some(Shape::Str(_)) => Probe::Str,
                        _ => Probe::Other,
                    };
                    Some((p, probe))
                });
                let Some((path, probe)) = failed else {
                    return Err(e.to_string());
                };
                let limit = match probe {
                    Probe::Str => STR_PROBES.len(),
                    Probe::Any => ANY_PROBES,
                    Probe::Other => 0,
                };
                let c = s.choice.entry(path.clone()).or_insert(0);
                if *c + 1 < limit {
                    *c += 1;
                    continue;
                }
                let what = match probe {
                    Probe::Str => {
                        "reads a string but accepts none of text, a uuid, a date, a timestamp, a \
                         timestamp with time zone, a time, an IP address or a decimal"
                    }
                    Probe::Any => "reads any value but accepts neither a JSON object nor a decimal",
                    Probe::Other => return Err(format!("field {path:?}: {e}")),
                };
                return Err(format!("field {path:?}: its type {what} ({e})"));
            }
        }
    }
    let s = st.into_inner();
    let Some((name, fields)) = s.top else {
        return Err("it is not a struct with named fields".into());
    };
    let out = fields
        .iter()
        .map(|f| {
            let (ty, nullable) = match s.shapes.get(*f) {
                Some(Shape::Option) => {
                    let inner = format!("{f}?");
                    (s.sql_of(&inner), true)
                }
                _ => (s.sql_of(f), false),
            };
            Field {
                name: f.to_string(),
                sql_type: ty.unwrap_or_else(|| "jsonb".into()),
                nullable,
                integer: s.is_integer(f),
            }
        })
        .collect();
    Ok((name.to_string(), out))
}

impl State {
    /// The SQL type of a path, `None` when it has no scalar mapping (jsonb as a column).
    fn sql_of(&self, p: &str) -> Option<String> {
        let t = match self.shapes.get(p)? {
            Shape::Bool => "boolean",
            Shape::I8 | Shape::I16 | Shape::U8 => "smallint",
            Shape::I32 | Shape::U16 => "integer",
            Shape::I64 | Shape::U32 => "bigint",
            Shape::U64 | Shape::I128 | Shape::U128 | Shape::Numeric => "numeric",
            Shape::F32 => "real",
            Shape::F64 => "double precision",
            Shape::Char | Shape::Str(StrKind::Text) => "text",
            Shape::Str(StrKind::Uuid) => "uuid",
            Shape::Str(StrKind::Date) => "date",
            Shape::Str(StrKind::Timestamp) => "timestamp",
            Shape::Str(StrKind::TimestampTz) => "timestamptz",
            Shape::Str(StrKind::Time) => "time",
            Shape::Str(StrKind::Inet) => "inet",
            Shape::Str(StrKind::Numeric) => "numeric",
            Shape::Bytes => "bytea",
            Shape::Option => return self.sql_of(&format!("{p}?")),
            Shape::NewType => return self.sql_of(&format!("{p}.0")),
            Shape::Seq => {
                let elem = format!("{p}[]");
                if self.shapes.get(&elem) == Some(&Shape::U8) {
                    return Some("bytea".into());
                }
                let t = self.sql_of(&elem)?;
                if t.ends_with("[]") || t == "bytea" {
                    return None;
                }
                return Some(format!("{t}[]"));
            }
            Shape::Enum => match self.enums.get(p) {
                Some((_, false)) => "text",
                _ => return None,
            },
            Shape::Json => return None,
        };
        Some(t.to_string())
    }

    fn is_integer(&self, p: &str) -> bool {
        match self.shapes.get(p) {
            Some(Shape::Option) => self.is_integer(&format!("{p}?")),
            Some(Shape::NewType) => self.is_integer(&format!("{p}.0")),
            Some(
                Shape::I8
                | Shape::I16
                | Shape::I32
                | Shape::I64
                | Shape::U8
                | Shape::U16
                | Shape::U32,
            ) => true,
            _ => false,
        }
    }
}

struct ProbeDe<'s> {
    st: &'s RefCell<State>,
    path: String,
}

impl<'s> ProbeDe<'s> {
    fn at(&self, suffix: &str) -> ProbeDe<'s> {
        ProbeDe {
            st: self.st,
            path: format!("{}{suffix}", self.path),
        }
    }

    fn field(&self, name: &str) -> ProbeDe<'s> {
        ProbeDe {
            st: self.st,
            path: if self.path.is_empty() {
                name.to_string()
            } else {
                format!("{}.{name}", self.path)
            },
        }
    }

    fn shape(&self, s: Shape) {
        self.st.borrow_mut().shapes.insert(self.path.clone(), s);
    }

    fn choice(&self) -> usize {
        self.st
            .borrow()
            .choice
            .get(&self.path)
            .copied()
            .unwrap_or(0)
    }

    /// Notes the first rejected sample of the run.
    fn check<T>(&self, r: Result<T, E>, probe: Probe) -> Result<T, E> {
        if r.is_err() {
            let mut s = self.st.borrow_mut();
            if s.failed.is_none() {
                s.failed = Some((self.path.clone(), probe));
            }
        }
        r
    }
}

macro_rules! scalar {
    ($($method:ident => $shape:ident, $visit:ident($($v:expr)?);)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
            self.shape(Shape::$shape);
            let r = visitor.$visit($($v)?);
            self.check(r, Probe::Other)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ProbeDe<'_> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        let r = if self.choice() == 0 {
            self.shape(Shape::Json);
            visitor.visit_map(Fields {
                de: self.at(""),
                fields: &[],
                i: 0,
            })
        } else {
            self.shape(Shape::Numeric);
            visitor.visit_str("1.5")
        };
        self.check(r, Probe::Any)
    }

    scalar! {
        deserialize_bool => Bool, visit_bool(false);
        deserialize_i8 => I8, visit_i8(1);
        deserialize_i16 => I16, visit_i16(1);
        deserialize_i32 => I32, visit_i32(1);
        deserialize_i64 => I64, visit_i64(1);
        deserialize_i128 => I128, visit_i128(1);
        deserialize_u8 => U8, visit_u8(1);
        deserialize_u16 => U16, visit_u16(1);
        deserialize_u32 => U32, visit_u32(1);
        deserialize_u64 => U64, visit_u64(1);
        deserialize_u128 => U128, visit_u128(1);
        deserialize_f32 => F32, visit_f32(1.0);
        deserialize_f64 => F64, visit_f64(1.0);
        deserialize_char => Char, visit_char('a');
        deserialize_bytes => Bytes, visit_bytes(&[]);
        deserialize_byte_buf => Bytes, visit_byte_buf(Vec::new());
        deserialize_unit => Json, visit_unit();
        deserialize_ignored_any => Json, visit_unit();
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        let (kind, sample) = STR_PROBES[self.choice().min(STR_PROBES.len() - 1)];
        self.shape(Shape::Str(kind));
        let r = visitor.visit_str(sample);
        self.check(r, Probe::Str)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.shape(Shape::Option);
        visitor.visit_some(self.at("?"))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        self.shape(Shape::NewType);
        visitor.visit_newtype_struct(self.at(".0"))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.shape(Shape::Seq);
        visitor.visit_seq(Elements {
            de: self.at("[]"),
            left: 1,
            index: None,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, E> {
        self.shape(Shape::Json);
        visitor.visit_seq(Elements {
            de: self.at(""),
            left: len,
            index: Some(0),
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, E> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.shape(Shape::Json);
        visitor.visit_map(Fields {
            de: self.at(""),
            fields: &[],
            i: 0,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        if self.path.is_empty() {
            self.st.borrow_mut().top = Some((name, fields));
        }
        self.shape(Shape::Json);
        visitor.visit_map(Fields {
            de: self.at(""),
            fields,
            i: 0,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        self.shape(Shape::Enum);
        {
            let mut s = self.st.borrow_mut();
            s.enums
                .entry(self.path.clone())
                .or_insert((variants.len(), false))
                .0 = variants.len();
        }
        let i = self.choice().min(variants.len().saturating_sub(1));
        let r = visitor.visit_enum(Variant {
            de: self.at(""),
            name: variants.get(i).copied().unwrap_or(""),
            index: i,
        });
        self.check(r, Probe::Other)
    }
}

/// The fields of a struct (or no entries: an empty map).
struct Fields<'s> {
    de: ProbeDe<'s>,
    fields: &'static [&'static str],
    i: usize,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = E;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        let Some(f) = self.fields.get(self.i) else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, E> = (*f).into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        let f = self.fields[self.i];
        self.i += 1;
        let de = self.de.field(f);
        self.de.st.borrow_mut().current = Some(de.path.clone());
        seed.deserialize(de)
    }
}

/// The elements of a sequence (one sample element) or a tuple (`len` elements).
struct Elements<'s> {
    de: ProbeDe<'s>,
    left: usize,
    /// Tuples number their elements; a sequence's one element is its path itself.
    index: Option<usize>,
}

impl<'de> SeqAccess<'de> for Elements<'_> {
    type Error = E;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let de = match &mut self.index {
            Some(i) => {
                *i += 1;
                self.de.field(&(*i - 1).to_string())
            }
            None => self.de.at(""),
        };
        seed.deserialize(de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// One variant of an enum.
struct Variant<'s> {
    de: ProbeDe<'s>,
    name: &'static str,
    index: usize,
}

impl Variant<'_> {
    fn has_data(&self) {
        if let Some(e) = self.de.st.borrow_mut().enums.get_mut(&self.de.path) {
            e.1 = true;
        }
    }
}

impl<'de, 's> EnumAccess<'de> for Variant<'s> {
    type Error = E;
    type Variant = Variant<'s>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), E> {
        let key: StrDeserializer<'_, E> = self.name.into_deserializer();
        let v = seed.deserialize(key)?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = E;

    fn unit_variant(self) -> Result<(), E> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, E> {
        self.has_data();
        seed.deserialize(self.de.at(&format!("#{}", self.index)))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, E> {
        self.has_data();
        visitor.visit_seq(Elements {
            de: self.de.at(&format!("#{}", self.index)),
            left: len,
            index: Some(0),
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        self.has_data();
        visitor.visit_map(Fields {
            de: self.de.at(&format!("#{}", self.index)),
            fields,
            i: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    enum Mood {
        Sad,
        Happy,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    enum Shape2 {
        Dot,
        Circle(f64),
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    struct Meters(f64);

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    struct Inner {
        a: i32,
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    struct Everything {
        id: i64,
        name: String,
        born: chrono::NaiveDate,
        seen: chrono::NaiveDateTime,
        at: chrono::DateTime<chrono::Utc>,
        wake: chrono::NaiveTime,
        key: uuid::Uuid,
        doc: serde_json::Value,
        maybe_born: Option<chrono::NaiveDate>,
        maybe_key: Option<uuid::Uuid>,
        tags: Vec<String>,
        days: Vec<chrono::NaiveDate>,
        blob: Vec<u8>,
        ip: std::net::IpAddr,
        mood: Mood,
        shape: Shape2,
        len: Meters,
        inner: Inner,
        pair: (i32, String),
        #[serde(rename = "Flag")]
        flag: Option<bool>,
    }

    #[test]
    fn maps_validating_types() {
        let (name, fields) = trace::<Everything>().unwrap();
        assert_eq!(name, "Everything");
        let got: Vec<(&str, &str, bool)> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.sql_type.as_str(), f.nullable))
            .collect();
        assert_eq!(
            got,
            [
                ("id", "bigint", false),
                ("name", "text", false),
                ("born", "date", false),
                ("seen", "timestamp", false),
                ("at", "timestamptz", false),
                ("wake", "time", false),
                ("key", "uuid", false),
                ("doc", "jsonb", false),
                ("maybe_born", "date", true),
                ("maybe_key", "uuid", true),
                ("tags", "text[]", false),
                ("days", "date[]", false),
                ("blob", "bytea", false),
                ("ip", "inet", false),
                ("mood", "text", false),
                ("shape", "jsonb", false),
                ("len", "double precision", false),
                ("inner", "jsonb", false),
                ("pair", "jsonb", false),
                ("Flag", "boolean", true),
            ]
        );
        assert!(fields[0].integer);
        assert!(!fields[1].integer);
    }

    #[test]
    fn a_type_that_accepts_no_sample_is_named() {
        #[allow(dead_code)]
        struct Email(String);
        impl<'de> serde::Deserialize<'de> for Email {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                if s.contains('@') {
                    Ok(Email(s))
                } else {
                    Err(de::Error::custom("not an email address"))
                }
            }
        }
        #[allow(dead_code)]
        #[derive(serde::Deserialize)]
        struct User {
            id: i64,
            email: Email,
        }
        let e = trace::<User>().err().unwrap();
        assert!(
            e.starts_with("field \"email\": its type reads a string"),
            "{e}"
        );
        assert!(e.contains("not an email address"), "{e}");
    }

    #[test]
    fn not_a_struct() {
        assert_eq!(
            trace::<(i32, i32)>().err().unwrap(),
            "it is not a struct with named fields"
        );
    }
}
