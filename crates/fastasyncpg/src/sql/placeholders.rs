//! STUB — replaced by the real lexer.
use crate::error::{Error, Result};
use crate::value::Value;

/// The result of [`conv_placeholders`].
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The SQL with only `$n` placeholders.
    pub sql: String,
    /// The arguments in `$n` order.
    pub args: Vec<Value>,
}

/// Converts `?` and `:name` placeholders to `$n` (stub: passes through).
pub fn conv_placeholders(
    sql: &str,
    positional: &[Value],
    named: &[(String, Value)],
) -> Result<Converted> {
    if !named.is_empty() {
        return Err(Error::usage("named placeholders not supported yet"));
    }
    Ok(Converted {
        sql: sql.to_string(),
        args: positional.to_vec(),
    })
}
