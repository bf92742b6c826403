"""The exceptions fastasyncpg raises.

Every one derives from `Error`; errors PostgreSQL reported carry `sqlstate`, `message`,
`detail`, `hint`, `constraint_name`, `table_name`, `column_name` and `schema_name`, and every
error has `kind`, the Rust core's error kind (`not_found`, `unique_violation`, ...).
`str(e)` is the full message: the server's text with SQLSTATE, detail, hint and constraint.
"""

__all__ = ['Error', 'PostgresError', 'NotFoundError', 'NotUniqueError', 'UniqueViolationError',
           'ForeignKeyViolationError', 'NotNullViolationError', 'CheckViolationError',
           'SerializationError', 'ReadOnlyError', 'ConnectionClosedError', 'QueryTimeoutError',
           'DataError', 'UnknownNameError', 'InterfaceError', 'TLSError']


class Error(Exception):
    "Base class of fastasyncpg's errors."
    kind = 'other'
    sqlstate = None
    message = None
    detail = None
    hint = None
    constraint_name = None
    table_name = None
    column_name = None
    schema_name = None


class PostgresError(Error):
    "An error the server reported (see `sqlstate`)."


class NotFoundError(Error):
    "No row (in scope) has that key, or `selectone` found none."


class NotUniqueError(Error, ValueError):
    "`selectone` found more than one row."


class UniqueViolationError(PostgresError):
    "SQLSTATE 23505."


class ForeignKeyViolationError(PostgresError):
    "SQLSTATE 23503."


class NotNullViolationError(PostgresError):
    "SQLSTATE 23502."


class CheckViolationError(PostgresError):
    "SQLSTATE 23514."


class SerializationError(PostgresError):
    "SQLSTATE 40001 or 40P01: retrying the transaction may succeed."


class ReadOnlyError(PostgresError):
    "SQLSTATE 25006: a write on a read-only server or transaction."


class ConnectionClosedError(Error, ConnectionError):
    "The connection is closed or broken."


class QueryTimeoutError(Error, TimeoutError):
    "A timeout elapsed (connect, acquire or `command_timeout`); the query was cancelled."


class DataError(Error, ValueError):
    "An argument could not be converted to its parameter's type (the message names both)."


class UnknownNameError(Error, AttributeError):
    "A table, view or column that is not in the schema (the message suggests near names)."


class InterfaceError(Error):
    "Invalid use of the API, or connection settings that cannot be used."


class TLSError(InterfaceError):
    "The TLS handshake failed or the server's certificate was not trusted."


#: Kind (as the Rust core names it) → class.
BY_KIND = {
    'error': Error, 'other': Error, 'database': PostgresError, 'not_found': NotFoundError,
    'not_unique': NotUniqueError, 'unique_violation': UniqueViolationError,
    'foreign_key_violation': ForeignKeyViolationError, 'not_null_violation': NotNullViolationError,
    'check_violation': CheckViolationError, 'serialization_failure': SerializationError,
    'read_only': ReadOnlyError, 'closed': ConnectionClosedError, 'timeout': QueryTimeoutError,
    'bind': DataError, 'decode': DataError, 'unknown_name': UnknownNameError,
    'usage': InterfaceError, 'config': InterfaceError, 'tls': TLSError,
}
