//! The single error type of fastasyncpg and its kinds.
//!
//! Server errors keep everything PostgreSQL said; [`Error`]'s `Display` shows the message with
//! SQLSTATE, detail, hint and position, so a log line is enough to diagnose a failure.

use std::fmt;
use tokio_postgres::error::{DbError, SqlState};

/// The result type of every fallible fastasyncpg operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in a form a program can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A lookup that must find a row found none (`get_or_err`, `selectone`, `qone`, `update` by key…).
    NotFound,
    /// A lookup that must find exactly one row found several.
    NotUnique,
    /// SQLSTATE 23505.
    UniqueViolation,
    /// SQLSTATE 23503.
    ForeignKeyViolation,
    /// SQLSTATE 23502.
    NotNullViolation,
    /// SQLSTATE 23514.
    CheckViolation,
    /// SQLSTATE 40001 (and 40P01, deadlock): retrying the transaction may succeed.
    SerializationFailure,
    /// The connection is closed or broken.
    Closed,
    /// A timeout elapsed (acquire, connect or query).
    Timeout,
    /// An argument could not be converted to the parameter's type, or arguments and
    /// placeholders do not match.
    Bind,
    /// A value read from the server could not be converted to the requested Rust type.
    Decode,
    /// Any other error reported by the server.
    Database,
    /// A table, view or column name that does not exist in the schema.
    UnknownName,
    /// Invalid use of the API (bad option, conflicting arguments…).
    Usage,
    /// Connection settings could not be read or used.
    Config,
    /// The TLS handshake failed or the server's certificate was not trusted (the message says
    /// which, and names the host).
    Tls,
    /// SQLSTATE 25006: a write on a read-only connection (a hot standby, or
    /// `default_transaction_read_only`). Connect with `target_session_attrs=read-write` to reach
    /// the primary.
    ReadOnly,
    /// Anything else (I/O, protocol).
    Other,
}

/// The error type of fastasyncpg.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the server details.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server's error, if PostgreSQL reported this one.
    pub fn as_db_error(&self) -> Option<&DbError> {
        let src = self.source.as_deref()?;
        if let Some(db) = src.downcast_ref::<DbError>() {
            return Some(db);
        }
        src.downcast_ref::<tokio_postgres::Error>()
            .and_then(|e| e.as_db_error())
    }

    /// The SQLSTATE code, if PostgreSQL reported this error.
    pub fn code(&self) -> Option<&SqlState> {
        self.as_db_error().map(|e| e.code())
    }

    /// True when the connection is closed or broken.
    pub fn is_closed(&self) -> bool {
        self.kind == ErrorKind::Closed
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, what)
    }

    pub(crate) fn bind(what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Bind, what)
    }

    pub(crate) fn usage(what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, what)
    }

    pub(crate) fn decode(what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Decode, what)
    }

    pub(crate) fn config(what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, what)
    }

    /// Adds context in front of the message (`"context: message"`).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

fn kind_of_state(code: &SqlState) -> ErrorKind {
    match code.code() {
        "23505" => ErrorKind::UniqueViolation,
        "23503" => ErrorKind::ForeignKeyViolation,
        "23502" => ErrorKind::NotNullViolation,
        "23514" => ErrorKind::CheckViolation,
        "40001" | "40P01" => ErrorKind::SerializationFailure,
        "25006" => ErrorKind::ReadOnly,
        "57014" => ErrorKind::Timeout, // query_canceled (statement_timeout or our cancel)
        c if c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03" => {
            ErrorKind::Closed
        }
        _ => ErrorKind::Database,
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let kind = kind_of_state(db.code());
            return Error {
                kind,
                message: db.message().to_string(),
                source: Some(Box::new(e)),
            };
        }
        let kind = if e.is_closed() {
            ErrorKind::Closed
        } else {
            ErrorKind::Other
        };
        // tokio-postgres' Display is terse ("error serializing parameter 0"): add the cause.
        let mut message = e.to_string();
        let mut cur = std::error::Error::source(&e);
        while let Some(s) = cur {
            message.push_str(": ");
            message.push_str(&s.to_string());
            cur = s.source();
        }
        let kind = if message.contains("error serializing parameter") {
            ErrorKind::Bind
        } else {
            kind
        };
        Error {
            kind,
            message,
            source: Some(Box::new(e)),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let kind = if e.kind() == std::io::ErrorKind::TimedOut {
            ErrorKind::Timeout
        } else {
            ErrorKind::Other
        };
        Error {
            kind,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_db_error() {
            Some(db) => {
                write!(
                    f,
                    "{}: {} (SQLSTATE {})",
                    db.severity(),
                    db.message(),
                    db.code().code()
                )?;
                if let Some(d) = db.detail() {
                    write!(f, "\nDETAIL: {d}")?;
                }
                if let Some(h) = db.hint() {
                    write!(f, "\nHINT: {h}")?;
                }
                if let Some(w) = db.where_() {
                    // e.g. `COPY t, line 3, column b: "x"`: which input line failed.
                    write!(f, "\nCONTEXT: {w}")?;
                }
                if let Some(p) = db.position() {
                    match p {
                        tokio_postgres::error::ErrorPosition::Original(n) => {
                            write!(f, "\nPOSITION: {n}")?
                        }
                        tokio_postgres::error::ErrorPosition::Internal { position, query } => {
                            write!(f, "\nPOSITION: {position} in internal query: {query}")?
                        }
                    }
                }
                let names = [
                    ("SCHEMA", db.schema()),
                    ("TABLE", db.table()),
                    ("COLUMN", db.column()),
                    ("CONSTRAINT", db.constraint()),
                ];
                for (label, v) in names {
                    if let Some(v) = v {
                        write!(f, "\n{label}: {v}")?;
                    }
                }
                if self.message != db.message() {
                    // context added on our side
                    write!(f, "\nCONTEXT: {}", self.message)?;
                }
                Ok(())
            }
            None => f.write_str(&self.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Error {{ kind: {:?}, message: {:?} }}",
            self.kind,
            self.to_string()
        )
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The server error is already part of Display; exposing it again as source() would make
        // error reporters print it twice. Non-server causes are exposed.
        match self.as_db_error() {
            Some(_) => None,
            None => self
                .source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
        }
    }
}
