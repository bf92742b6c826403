//! The core's errors as Python exceptions.
//!
//! The exception classes live in `fastasyncpg/errors.py` (so they can also derive from
//! `ValueError`, `TimeoutError`…); the package registers them here at import. Each carries
//! `kind` (the core's error kind, snake_case), `sqlstate`, `detail`, `hint`, `constraint_name`
//! and the server's `message`; `str(e)` is the core's full message (the server's text with
//! SQLSTATE, detail, hint, position and constraint).

use fastasyncpg::{Error, ErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Registers the exception classes: a dict from kind name (see [`kind_name`]) to class, with
/// `"error"` as the fallback.
#[pyfunction]
pub(crate) fn _set_errors(py: Python<'_>, classes: Bound<'_, PyDict>) -> PyResult<()> {
    let _ = CLASSES.set(py, classes.unbind());
    Ok(())
}

/// The snake_case name of a kind, as the Python classes are registered.
pub(crate) fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::NotFound => "not_found",
        ErrorKind::NotUnique => "not_unique",
        ErrorKind::UniqueViolation => "unique_violation",
        ErrorKind::ForeignKeyViolation => "foreign_key_violation",
        ErrorKind::NotNullViolation => "not_null_violation",
        ErrorKind::CheckViolation => "check_violation",
        ErrorKind::SerializationFailure => "serialization_failure",
        ErrorKind::Closed => "closed",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Bind => "bind",
        ErrorKind::Decode => "decode",
        ErrorKind::Database => "database",
        ErrorKind::UnknownName => "unknown_name",
        ErrorKind::Usage => "usage",
        ErrorKind::Config => "config",
        ErrorKind::Tls => "tls",
        ErrorKind::ReadOnly => "read_only",
        _ => "other",
    }
}

/// A Python exception of the registered class for `kind`, with `message` and no server details.
pub(crate) fn new_err(py: Python<'_>, kind: &str, message: String) -> PyErr {
    let Some(classes) = CLASSES.get(py) else {
        return PyRuntimeError::new_err(message);
    };
    let classes = classes.bind(py);
    let cls = match classes.get_item(kind) {
        Ok(Some(c)) => c,
        _ => match classes.get_item("error") {
            Ok(Some(c)) => c,
            _ => return PyRuntimeError::new_err(message),
        },
    };
    match cls.call1((message.clone(),)) {
        Ok(inst) => {
            let _ = inst.setattr("kind", kind);
            PyErr::from_value(inst)
        }
        Err(e) => e,
    }
}

/// Converts a core error (needs the GIL).
pub(crate) fn err_with(py: Python<'_>, e: &Error) -> PyErr {
    let kind = kind_name(e.kind());
    let err = new_err(py, kind, e.to_string());
    let v = err.value(py);
    if let Some(db) = e.as_db_error() {
        let _ = v.setattr("sqlstate", db.code().code());
        let _ = v.setattr("message", db.message());
        let _ = v.setattr("detail", db.detail());
        let _ = v.setattr("hint", db.hint());
        let _ = v.setattr("constraint_name", db.constraint());
        let _ = v.setattr("table_name", db.table());
        let _ = v.setattr("column_name", db.column());
        let _ = v.setattr("schema_name", db.schema());
    } else {
        let _ = v.setattr("message", e.message());
    }
    err
}

/// Converts a core error, taking the GIL.
pub(crate) fn to_py_err(e: Error) -> PyErr {
    Python::attach(|py| err_with(py, &e))
}
