//! Runtime support for `#[derive(PgEnum)]` and `#[derive(PgComposite)]`.

use postgres_types::{Kind, Type};

use crate::error::{Error, Result};
use crate::value::{Composite, FromValue, Value};

/// The error type of tokio-postgres' `FromSql`/`ToSql`.
pub type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// The label of an enum value (or of a text value standing for one).
pub fn enum_label(v: Value, type_name: &str) -> Result<String> {
    match v {
        Value::Enum { label, .. } | Value::Text(label) | Value::Literal(label) => Ok(label),
        o => Err(Error::decode(format!(
            "cannot read {} as enum {type_name}",
            o.type_name()
        ))),
    }
}

/// The error for a label the Rust enum does not have.
pub fn bad_label(type_name: &str, label: &str, labels: &[&str]) -> Error {
    Error::decode(format!(
        "{label:?} is not a label of enum {type_name} (labels: {}); regenerate the models if \
         the type changed",
        labels.join(", ")
    ))
}

/// The [`Value`] of an enum label.
pub fn enum_value(type_name: &str, label: &str) -> Value {
    Value::Enum {
        type_name: type_name.to_string(),
        label: label.to_string(),
    }
}

/// True when `ty` is the enum type `type_name` (in `schema`, when given), or a domain over it.
pub fn enum_accepts(ty: &Type, type_name: &str, schema: Option<&str>) -> bool {
    match ty.kind() {
        Kind::Enum(_) => ty.name() == type_name && schema.map_or(true, |s| s == ty.schema()),
        Kind::Domain(base) => enum_accepts(base, type_name, schema),
        _ => false,
    }
}

/// The fields of a composite value (a record's fields get empty names: read by position).
pub fn composite_fields(v: Value, type_name: &str) -> Result<Vec<(String, Option<Value>)>> {
    match v {
        Value::Composite(c) => Ok(c.fields.into_iter().map(|(n, v)| (n, Some(v))).collect()),
        Value::Record(vs) => Ok(vs.into_iter().map(|v| (String::new(), Some(v))).collect()),
        o => Err(Error::decode(format!(
            "cannot read {} as composite type {type_name}",
            o.type_name()
        ))),
    }
}

/// Takes the field `name` (or, for a record, the one at `pos`) and converts it.
pub fn composite_field<T: FromValue>(
    fields: &mut [(String, Option<Value>)],
    name: &str,
    pos: usize,
    type_name: &str,
) -> Result<T> {
    let slot = match fields.iter().position(|(n, _)| n == name) {
        Some(i) => fields.get_mut(i),
        None => fields.get_mut(pos).filter(|(n, _)| n.is_empty()),
    };
    let v = slot.and_then(|(_, v)| v.take()).ok_or_else(|| {
        Error::decode(format!(
            "composite type {type_name} has no field {name:?}; regenerate the models if the \
             type changed"
        ))
    })?;
    T::from_value(v).map_err(|e| e.context(format!("{type_name}.{name}")))
}

/// The [`Value`] of a composite.
pub fn composite_value(type_name: &str, fields: Vec<(String, Value)>) -> Value {
    Value::Composite(Composite {
        type_name: type_name.to_string(),
        fields,
    })
}
