"""The seed's notebook API on the Rust core.

`connect` / `create_pool` give a `Database`; `db.t.<name>` is a `Table` with get / query /
insert / update / upsert / delete; rows come back as `FRecord`s (attribute and key access) or,
once a dataclass is linked to the table, as instances of it. Everything that touches SQL
(building statements, placeholders, introspection, coercion, the table operations) runs in the
Rust core (`fastasyncpg._native`); this module only gives it the seed's names and manners.
"""

import contextvars
import dataclasses
import datetime
import decimal
import enum
import inspect
import ipaddress
import itertools
import keyword
import os
import re
import sys
import typing
import uuid
from html import escape as _esc

from . import _native
from .errors import BY_KIND, NotFoundError, UnknownNameError

_native._set_errors(BY_KIND)

FRecord = _native.FRecord

__all__ = ['connect', 'create_pool', 'Database', 'Table', 'Results', 'FRecord', 'UNSET', 'Range',
           'conv_placeholders', 'all_dcs', 'create_mod', 'get_typ', 'col_def', 'table_names',
           'view_names', 'columns_info', 'pk_cols', 'pg_to_py']


class _Unset:
    "The default of dataclass fields: left out of inserts and updates (not NULL)."
    _inst = None

    def __new__(cls):
        if cls._inst is None: cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self): return 'UNSET'

    def __bool__(self): return False

    def __reduce__(self): return (_Unset, ())


UNSET = _Unset()
_native._set_unset(UNSET)


class Range:
    "A PostgreSQL range (asyncpg's `Range`): `lower`, `upper`, `lower_inc`, `upper_inc`, `isempty`."
    __slots__ = ('lower', 'upper', 'lower_inc', 'upper_inc', 'isempty')

    def __init__(self, lower=None, upper=None, *, lower_inc=True, upper_inc=False, empty=False):
        self.lower, self.upper = (None, None) if empty else (lower, upper)
        self.lower_inc = bool(lower_inc) and not empty and lower is not None
        self.upper_inc = bool(upper_inc) and not empty and upper is not None
        self.isempty = bool(empty)

    def __eq__(self, o):
        return isinstance(o, Range) and all(getattr(self, k) == getattr(o, k) for k in self.__slots__)

    def __hash__(self): return hash(tuple(getattr(self, k) for k in self.__slots__))

    def __repr__(self):
        if self.isempty: return '<Range empty>'
        lo = '[' if self.lower_inc else '('
        hi = ']' if self.upper_inc else ')'
        return f'<Range {lo}{self.lower!r}, {self.upper!r}{hi}>'


_native._set_range_class(Range)


class Results(list):
    "A list of rows that renders as an HTML table in notebooks."

    def _repr_html_(self):
        if not self: return '<p>(no rows)</p>'
        first = self[0]
        cols = list(_keys(first))
        head = ''.join(f'<th>{_esc(str(c))}</th>' for c in cols)
        body = ''.join('<tr>' + ''.join(f'<td>{_esc("" if v is None else str(v))}</td>'
                                        for v in _vals(r, cols)) + '</tr>' for r in self)
        return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _keys(r):
    if isinstance(r, FRecord) or isinstance(r, dict): return r.keys()
    if dataclasses.is_dataclass(r): return [f.name for f in dataclasses.fields(r)]
    return vars(r).keys()


def _vals(r, cols):
    if isinstance(r, (FRecord, dict)): return [r[c] for c in cols]
    return [getattr(r, c, None) for c in cols]


def conv_placeholders(sql, *args, **kwargs):
    """Convert `?` and `:name` placeholders to PostgreSQL's `$n`: returns `(sql, args)`, the
    keyword values in `$n` order. Numbering (the Rust core's rule): `$n` keep their numbers, each
    `?` takes the next number after the highest `$n`, and each distinct `:name` the next one."""
    if args: raise TypeError("conv_placeholders takes the SQL and keyword arguments only")
    return _native.conv_placeholders(sql, kwargs)


# ----- connecting -----

_POOL_KEYS = ('min_size', 'max_size', 'max_queries', 'max_inactive_connection_lifetime',
              'acquire_timeout', 'reset')
_IGNORED = ('record_class', 'loop', 'connection_class')


def _split(dsn, kwargs, pool):
    kw = dict(kwargs)
    for k in _IGNORED:
        v = kw.pop(k, None)
        if k == 'record_class' and v not in (None, FRecord):
            raise TypeError('record_class: fastasyncpg returns FRecord rows (or linked dataclasses)')
    for k in ('init', 'setup'):
        if kw.pop(k, None) is not None:
            raise TypeError(f'{k}=: connection callbacks are not supported')
    if 'dbname' in kw: kw['database'] = kw.pop('dbname')
    popts = {k: kw.pop(k) for k in _POOL_KEYS if k in kw} if pool else None
    return dsn or '', kw, popts


async def connect(dsn=None, **kwargs):
    """Connect one connection and load the schema (one round trip): every table is ready as
    `db.t.<name>`. `dsn` is a URL or `key=value` string; asyncpg's keywords also work (`user`,
    `password`, `host`, `port`, `database`, `ssl`, `timeout`, `command_timeout`,
    `statement_cache_size` (0: no named statements, for PgBouncer), `server_settings`). With
    neither, `DATABASE_URL` or the `PG*` variables are read."""
    dsn, kw, _ = _split(dsn, kwargs, False)
    return Database(await _native.connect(dsn, kw))


async def create_pool(dsn=None, **kwargs):
    """A pool with the same API as a connection (each call borrows a connection, cleaned when
    given back); also takes `min_size`, `max_size`, `max_queries`,
    `max_inactive_connection_lifetime`, `acquire_timeout` and `reset` (`when_needed`, `always`,
    `never`)."""
    dsn, kw, popts = _split(dsn, kwargs, True)
    return Database(await _native.connect(dsn, kw, popts))


# ----- naming -----

def _camel(name):
    "The seed's class name for a table: the name title-cased (`invoice_line` → `Invoice_Line`)."
    return _ident(name.title())


def _ident(name):
    s = re.sub(r'\W', '_', name)
    if not s or s[0].isdigit() or keyword.iskeyword(s): s = '_' + s
    return s


def _plural(name):
    if re.search(r'(s|x|z|ch|sh)$', name): return name + 'es'
    if re.search(r'[^aeiou]y$', name): return name[:-1] + 'ies'
    return name + 's'


# ----- types -----

pg_to_py = {
    'smallint': int, 'integer': int, 'bigint': int, 'int2': int, 'int4': int, 'int8': int,
    'serial': int, 'bigserial': int, 'oid': int, 'real': float, 'double precision': float,
    'float4': float, 'float8': float, 'numeric': decimal.Decimal, 'decimal': decimal.Decimal,
    'money': str, 'text': str, 'character varying': str, 'varchar': str, 'character': str,
    'char': str, 'bpchar': str, 'name': str, 'citext': str, 'xml': str, 'tsvector': str,
    'tsquery': str, 'boolean': bool, 'bool': bool, 'bytea': bytes, 'date': datetime.date,
    'time without time zone': datetime.time, 'time': datetime.time,
    'time with time zone': datetime.time, 'timetz': datetime.time,
    'timestamp without time zone': datetime.datetime, 'timestamp': datetime.datetime,
    'timestamp with time zone': datetime.datetime, 'timestamptz': datetime.datetime,
    'interval': datetime.timedelta, 'uuid': uuid.UUID, 'json': dict, 'jsonb': dict,
    'inet': ipaddress.IPv4Address, 'cidr': ipaddress.IPv4Network, 'macaddr': str,
    'macaddr8': str, 'bit': str, 'bit varying': str, 'point': tuple,
}


def get_typ(pg_type):
    "The Python type for a PostgreSQL type name (size specifiers stripped; arrays → `list`)."
    t = pg_type.strip()
    if t.endswith('[]'): return list
    t = re.sub(r'\(.*?\)', '', t).strip()
    if t.endswith('range') or t.endswith('multirange'): return Range
    return pg_to_py.get(t, str)


_py_to_pg = {int: 'integer', float: 'double precision', str: 'text', bool: 'boolean',
             bytes: 'bytea', decimal.Decimal: 'numeric', datetime.datetime: 'timestamp',
             datetime.date: 'date', datetime.time: 'time', datetime.timedelta: 'interval',
             uuid.UUID: 'uuid', dict: 'jsonb', list: 'jsonb', Range: 'int4range',
             ipaddress.IPv4Address: 'inet', ipaddress.IPv6Address: 'inet'}


def _unoptional(typ):
    "(type, nullable) for `X`, `Optional[X]` and `X | None`."
    args = getattr(typ, '__args__', None)
    origin = getattr(typ, '__origin__', None)
    if args and type(None) in args and (origin is not None or type(typ).__name__ == 'UnionType'):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1: return rest[0], True
    return typ, False


def _sql_type(typ):
    typ, _ = _unoptional(typ)
    if isinstance(typ, str): return typ
    origin = getattr(typ, '__origin__', None)
    if origin in (list, tuple):
        args = getattr(typ, '__args__', ())
        if args and args[0] in _py_to_pg and args[0] not in (dict, list):
            return _py_to_pg[args[0]] + '[]'
        return 'jsonb'
    if origin is dict: return 'jsonb'
    if inspect.isclass(typ) and issubclass(typ, enum.Enum): return 'text'
    for k, v in _py_to_pg.items():
        if typ is k: return v
    if inspect.isclass(typ):
        for k, v in _py_to_pg.items():
            if issubclass(typ, k): return v
    raise TypeError(f'no PostgreSQL type for Python type {typ!r}: annotate the field with a '
                    'supported type or give its SQL type as a string')


def _sql_literal(v):
    "A Python value as a SQL literal (for column defaults)."
    if v is None: return 'NULL'
    if isinstance(v, bool): return 'TRUE' if v else 'FALSE'
    if isinstance(v, enum.Enum): v = v.value
    if isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool):
        if isinstance(v, float) and (v != v or v in (float('inf'), float('-inf'))):
            return f"'{v}'::double precision"
        return repr(v) if not isinstance(v, decimal.Decimal) else str(v)
    if isinstance(v, (dict, list)):
        import json
        return "'" + json.dumps(v).replace("'", "''") + "'::jsonb"
    return "'" + str(v).replace("'", "''") + "'"


def col_def(name, typ, pk, not_null):
    "Column definition SQL for `CREATE TABLE` (an `int` primary key becomes `SERIAL PRIMARY KEY`)."
    qn = '"' + name.replace('"', '""') + '"'
    base, _ = _unoptional(typ)
    pks = [pk] if isinstance(pk, str) else list(pk or [])
    if name in pks and len(pks) == 1 and base is int: return f'{qn} SERIAL PRIMARY KEY'
    sql = f'{qn} {_sql_type(typ).upper()}'
    if not_null and name in not_null: sql += ' NOT NULL'
    return sql


# ----- rows in -----

def _process_row(record=None, **kwargs):
    "A dataclass, mapping, record or object (and keyword overrides) as a dict, UNSET dropped."
    if record is None: d = {}
    elif isinstance(record, dict): d = dict(record)
    elif isinstance(record, FRecord): d = dict(record.items())
    elif dataclasses.is_dataclass(record) and not isinstance(record, type):
        d = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    elif hasattr(record, 'keys') and hasattr(record, '__getitem__'):
        d = {k: record[k] for k in record.keys()}
    elif hasattr(record, '__dict__'): d = {k: v for k, v in vars(record).items() if not k.startswith('_')}
    else: raise TypeError(f'cannot use a {type(record).__name__} as a row: pass a dict, a dataclass or keywords')
    d.update(kwargs)
    return {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in d.items() if v is not UNSET}


def _rows(records):
    "Rows for a bulk call: the core reads dicts, records, dataclasses and objects itself (skipping UNSET)."
    return records if isinstance(records, (list, tuple)) else list(records)


# ----- the task-local handle of an open transaction -----

_TX = contextvars.ContextVar('fastasyncpg_tx', default=None)
# Per-task table scopes (`xtra`): {table token: scope}.
_XTRA = contextvars.ContextVar('fastasyncpg_xtra', default=None)
_tokens = itertools.count(1)


class _Transaction:
    "`async with db.transaction():` — commits on success, rolls back on an error or cancellation."

    def __init__(self, db, isolation, readonly, deferrable):
        self.db, self.opts, self._tx, self._reset = db, (isolation, readonly, deferrable), None, None

    async def start(self):
        self._tx = await self.db._h().begin(*self.opts)
        cur = dict(_TX.get() or {})
        cur[self.db._id] = self._tx.db()
        self._reset = _TX.set(cur)
        return self

    async def commit(self):
        try: await self._tx.commit()
        finally: self._restore()

    async def rollback(self):
        try: await self._tx.rollback()
        finally: self._restore()

    def _restore(self):
        if self._reset is not None:
            try: _TX.reset(self._reset)
            except ValueError: _TX.set({k: v for k, v in (_TX.get() or {}).items() if k != self.db._id})
            self._reset = None

    async def __aenter__(self): return await self.start()

    async def __aexit__(self, et, e, tb):
        if et is None:
            await self.commit()
            return False
        try: await self.rollback()
        except BaseException:
            # Cancelled again while rolling back: the core queues the rollback on the connection.
            self._tx.abandon()
            self._restore()
        return False


class _Cursor:
    "`async for r in db.cursor(sql, *args)`, or `c = await db.cursor(...)` then `fetch(n)`."

    def __init__(self, db, sql, args, kwargs, prefetch):
        self.db, self.sql, self.args, self.kwargs = db, sql, args, kwargs
        self.prefetch = prefetch or 50
        self._c, self._buf = None, []

    async def _open(self):
        if self._c is None:
            self._c = await self.db._h().cursor(self.sql, self.args, self.kwargs, self.prefetch)
        return self

    def __await__(self): return self._open().__await__()

    def __aiter__(self): return self

    async def __anext__(self):
        if not self._buf:
            await self._open()
            self._buf = list(reversed(await self._c.fetch(self.prefetch)))
            if not self._buf: raise StopAsyncIteration
        return self._buf.pop()

    async def fetch(self, n):
        "The next `n` rows."
        await self._open()
        out = [self._buf.pop() for _ in range(min(n, len(self._buf)))]
        if len(out) < n: out += await self._c.fetch(n - len(out))
        return out

    async def fetchrow(self):
        "The next row, or None."
        r = await self.fetch(1)
        return r[0] if r else None

    async def forward(self, n):
        "Skip `n` rows; returns how many were skipped."
        await self._open()
        k = min(n, len(self._buf))
        del self._buf[len(self._buf) - k:]
        return k + (await self._c.forward(n - k) if n > k else 0)

    async def close(self):
        if self._c is not None: await self._c.close()


class _Acquire:
    "`async with db.acquire() as conn:` or `conn = await db.acquire()`."

    def __init__(self, db): self.db, self.conn = db, None

    async def _get(self):
        self.conn = Database(await self.db._h().acquire(), parent=self.db)
        return self.conn

    def __await__(self): return self._get().__await__()

    async def __aenter__(self): return await self._get()

    async def __aexit__(self, *a):
        self.conn._n = None
        return False


class _Getter:
    "Attribute, item, iteration and `in` access to the tables (or views) of a database."

    def __init__(self, db, views): self._db, self._views = db, views

    def _names(self): return self._db._h().names(self._views)

    def __dir__(self): return self._names()

    def __iter__(self): return (self._db.table(n) for n in self._names())

    def __len__(self): return len(self._names())

    def __contains__(self, k):
        if isinstance(k, Table): k = k.name
        return k in self._names()

    def __getitem__(self, k):
        if isinstance(k, tuple): return [self._db.table(n) for n in k]
        return self._db.table(k)

    def __getattr__(self, k):
        if k.startswith('__'): raise AttributeError(k)
        return self._db.table(k)

    def __repr__(self): return ', '.join(self._names())


class Database:
    """A connection or a pool, with the schema loaded: `db.t.<table>`, `db.v.<view>`, and
    asyncpg's calls (`fetch`, `fetchrow`, `fetchval`, `execute`, `executemany`, `cursor`,
    `transaction`, `acquire`) plus the seed's `q`, `item`, `create`, `refresh`…"""

    def __init__(self, native, parent=None):
        self._n = native
        self._id = next(_tokens) if parent is None else parent._id
        # Dataclasses linked to tables, and table handles: shared with acquired connections.
        self._classes = {} if parent is None else parent._classes
        self._tables = {} if parent is None else parent._tables
        self._parent = parent

    def _h(self):
        "The native handle for this task: the open transaction's, if any."
        tx = _TX.get()
        if tx is not None:
            h = tx.get(self._id)
            if h is not None: return h
        if self._n is None: raise NotFoundError('this connection was released to its pool')
        return self._n

    def __str__(self): return self._n.url()

    def __repr__(self): return f'<Database {self}>'

    @property
    def t(self):
        "The tables: `db.t.artist`, `db.t['album', 'artist']`, `for t in db.t`, `'artist' in db.t`."
        return _Getter(self, False)

    @property
    def v(self):
        "The views (and materialized views), like `t`."
        return _Getter(self, True)

    def table(self, name):
        "The handle of table or view `name` (an unknown name raises `UnknownNameError` with suggestions)."
        t = self._tables.get(name)
        if t is None:
            self._h().meta(name)  # raises for an unknown name
            t = self._tables[name] = Table(self, name)
        return t

    async def refresh(self):
        "Reload the schema (one round trip)."
        await self._h().refresh()
        return self

    # asyncpg's calls
    def execute(self, sql, *args, **kwargs):
        "Run `sql`; returns the status (`'INSERT 0 1'`). Without arguments `sql` may hold several statements."
        return self._h().execute(sql, args, kwargs)

    def executemany(self, sql, args):
        "Run `sql` once per argument tuple, atomically."
        return self._h().executemany(sql, args)

    def fetch(self, sql, *args, **kwargs):
        "Every row, as `FRecord`s."
        return self._h().fetch(sql, args, kwargs)

    def fetchrow(self, sql, *args, **kwargs):
        "The first row, or None."
        return self._h().fetchrow(sql, args, kwargs)

    def fetchval(self, sql, *args, column=0, **kwargs):
        "A value of the first row (None without rows)."
        return self._h().fetchval(sql, args, kwargs, column)

    async def q(self, sql, *args, **kwargs):
        "Run a query; the rows as `Results` (an HTML table in notebooks). `$n`, `?` and `:name` all work."
        return Results(await self._h().fetch(sql, args, kwargs))

    def item(self, sql, args=None, **kwargs):
        "The single field of the single row of `sql`."
        return self._h().item(sql, args, kwargs)

    def cursor(self, sql, *args, prefetch=None, **kwargs):
        "A cursor: `async for r in db.cursor(...)` (a server-side cursor inside a transaction)."
        return _Cursor(self, sql, args, kwargs, prefetch)

    def transaction(self, isolation=None, readonly=False, deferrable=False):
        "`async with db.transaction():` — the calls on `db` in this task run inside it."
        return _Transaction(self, isolation, readonly, deferrable)

    def acquire(self):
        "One connection of the pool (`async with db.acquire() as conn:`)."
        return _Acquire(self)

    async def close(self):
        "Close the connection, or every connection of the pool."
        if self._n is not None: await self._n.close()

    # the seed's schema helpers
    async def create(self, cls=None, name=None, pk='id', foreign_keys=None, defaults=None,
                     column_order=None, not_null=None, if_not_exists=False, replace=False):
        """Create a table from a class's annotations (made a dataclass with `UNSET` defaults, and
        linked to the table); an `int` primary key is `SERIAL`. Returns the table."""
        name = name or cls.__name__.lower()
        ann = {}
        for c in reversed(cls.__mro__):
            ann.update(getattr(c, '__annotations__', {}))
        if column_order: ann = {k: ann[k] for k in column_order if k in ann} | {k: v for k, v in ann.items() if k not in column_order}
        pks = [pk] if isinstance(pk, str) else list(pk)
        missing = [p for p in pks if p not in ann]
        if missing: raise ValueError(f'create {name}: primary key column(s) {missing} are not fields of {cls.__name__}')
        cols = []
        for k, typ in ann.items():
            base, _ = _unoptional(typ)
            if k in pks and len(pks) == 1 and base is int: sql_t = 'serial'
            else: sql_t = _sql_type(typ)
            dflt = None
            if defaults and k in defaults: dflt = _sql_literal(defaults[k])
            cols.append((k, sql_t, bool(not_null and k in not_null), dflt))
        await self._h().create(name, cols, pks, foreign_keys, if_not_exists, replace)
        await self.refresh()
        self._tables.pop(name, None)
        t = self.table(name)
        dc = _as_dataclass(cls)
        self._classes[name] = dc
        return t

    def table2glb(self, name, glb=None):
        "Refresh, make the table's dataclass, and add both to `glb` (default: the caller's globals)."
        if glb is None: glb = sys._getframe(1).f_globals

        async def run():
            await self.refresh()
            self._tables.pop(name, None)
            t = self.table(name)
            dc = t.dataclass()
            glb[_plural(name)] = t
            glb[dc.__name__] = dc
            return t
        return run()

    def set_classes(self, glb):
        "Link every table to the dataclass named after it in `glb` (`Artist` for `artist`)."
        for n in self._h().names(False):
            c = glb.get(_camel(n))
            if c is not None: self._classes[n] = c

    def get_tables(self, glb):
        "Add each table to `glb` under its plural name (`albums` for `album`)."
        for n in self._h().names(False):
            glb[_plural(_ident(n))] = self.table(n)

    def link_dcs(self, mod):
        "Link tables to the dataclasses of a module written by `create_mod`."
        self.set_classes(vars(mod))


class _Count:
    def __init__(self, t): self.t = t

    def __await__(self): return self.t.count_where().__await__()

    def __call__(self): return self.t.count_where()


class _Col:
    "A column; `str()` gives the qualified SQL name (`\"artist\".\"name\"`)."

    def __init__(self, t, name): self.t, self.name = t, name

    def __str__(self): return f'{self.t}."' + self.name.replace('"', '""') + '"'

    def __repr__(self): return self.name

    def __eq__(self, o): return isinstance(o, _Col) and (o.t.name, o.name) == (self.t.name, self.name)

    def __hash__(self): return hash((self.t.name, self.name))


class _ColsGetter:
    def __init__(self, t): self._t = t

    def _names(self): return list(self._t.cols)

    def __dir__(self): return self._names()

    def __call__(self): return [_Col(self._t, n) for n in self._names()]

    def __iter__(self): return iter(self())

    def __contains__(self, k):
        if isinstance(k, _Col): return k.t.name == self._t.name and k.name in self._names()
        return k in self._names()

    def __getitem__(self, k): return self.__getattr__(k)

    def __getattr__(self, k):
        if k.startswith('__'): raise AttributeError(k)
        # Unlike the seed, columns are checked (`ac.Name` for `name` raises, naming the near match).
        names = self._names()
        if k not in names:
            near = [n for n in names if n.lower() == k.lower()]
            hint = f' (did you mean {near[0]!r}?)' if near else f' (columns: {", ".join(names)})'
            raise UnknownNameError(f'table {self._t.name} has no column {k!r}{hint}')
        return _Col(self._t, k)

    def __repr__(self): return ', '.join(self._names())


class Table:
    """A table or view of the schema: `await t[pk]`, `t.get`, `await t(...)`, `rows_where`,
    `await t.count`, `insert` / `update` / `upsert` / `delete` and the bulk forms, scoped with
    `xtra(**cols)`."""

    def __init__(self, db, name):
        self.db, self.name = db, name
        self._token = next(_tokens)

    # metadata
    def _meta(self): return self.db._h().meta(self.name)

    def __str__(self): return self._meta()['sql_name']

    def __repr__(self): return f'Table {self}'

    def __eq__(self, o): return isinstance(o, Table) and o.name == self.name and o.db._id == self.db._id

    def __hash__(self): return hash((self.db._id, self.name))

    @property
    def cols(self):
        "`{column: type}` in column order."
        return {c[0]: c[1] for c in self._meta()['cols']}

    @property
    def pks(self):
        "The primary key columns, in key order."
        return list(self._meta()['pks'])

    @property
    def c(self):
        "The columns: `t.c.name` (qualified SQL), `t.c()` (all), `'name' in t.c`."
        return _ColsGetter(self)

    @property
    def cls(self):
        "The dataclass rows come back as (None: `FRecord`s)."
        return self.db._classes.get(self.name)

    @cls.setter
    def cls(self, c): self.db._classes[self.name] = c

    # scope
    def xtra(self, **kwargs):
        """Scope every later call to rows with these column values (inserts set them); `xtra()`
        clears it. The scope belongs to the calling task (a context variable, inherited by tasks
        it starts): concurrent tasks setting different scopes on one table never see each
        other's, and a task that set none sees the whole table."""
        cols = self.cols
        bad = [k for k in kwargs if k not in cols]
        if bad: raise AttributeError(f'xtra: table {self.name} has no column(s) {bad} (columns: {", ".join(cols)})')
        d = dict(_XTRA.get() or {})
        if kwargs: d[self._token] = dict(kwargs)
        else: d.pop(self._token, None)
        _XTRA.set(d)
        return self

    def _scope(self):
        d = _XTRA.get()
        return d.get(self._token) if d else None

    def _cls(self, as_cls=True): return self.db._classes.get(self.name) if as_cls else None

    def _mark(self, obj):
        if obj is not None and not isinstance(obj, FRecord):
            try: object.__setattr__(obj, '_db', self.db)
            except (AttributeError, TypeError): pass
        return obj

    # reads
    def __getitem__(self, pk):
        "`await t[pk]`: the row (a tuple for a composite key); `NotFoundError` if none in scope."
        return self.db._h().t_get(self.name, pk, self._scope(), self._cls(), True, self.db)

    def get(self, pk):
        "`await t.get(pk)`: the row with primary key `pk`, or None."
        return self.db._h().t_get(self.name, pk, self._scope(), self._cls(), False, self.db)

    def rows_where(self, where=None, where_args=None, order_by=None, select='*', limit=None,
                         offset=None, as_cls=True, debug=False):
        "Rows matching `where` (`$n`, `?` or `:name` with `where_args`), in scope."
        return self.db._h().t_rows(self.name, where, where_args, order_by, select, limit, offset,
                                         self._scope(), self._cls(as_cls and select in (None, '*')), False, debug)

    def pks_and_rows_where(self, where=None, where_args=None, order_by=None, select='*', limit=None,
                                 offset=None, as_cls=True, debug=False):
        "Like `rows_where`, as `(pk, row)` pairs."
        return self.db._h().t_rows(self.name, where, where_args, order_by, select, limit, offset,
                                         self._scope(), self._cls(as_cls and select in (None, '*')), True, debug)

    def __call__(self, where=None, where_args=None, order_by=None, limit=None, offset=None,
                       select='*', with_pk=False, as_cls=True, debug=False):
        "`await t(limit=3)`: `rows_where` (or `pks_and_rows_where` with `with_pk=True`)."
        return self.db._h().t_rows(self.name, where, where_args, order_by, select, limit, offset,
                                         self._scope(), self._cls(as_cls and select in (None, '*')), with_pk, debug)

    @property
    def count(self):
        "`await t.count`: rows in scope."
        return _Count(self)

    def count_where(self, where=None, where_args=None):
        "Rows matching `where`, in scope."
        return self.db._h().t_count(self.name, where, where_args, self._scope())

    async def selectone(self, where=None, where_args=None, select='*', as_cls=True, debug=False):
        "The one row matching `where`: `NotFoundError` for none, `ValueError` for several."
        return self._mark(await self.db._h().t_selectone(
            self.name, where, where_args, select, self._scope(), self._cls(as_cls and select in (None, '*')), debug))

    async def groupby(self, cols, aggs='count(*) AS n', where=None, where_args=None, limit=None):
        "Rows grouped by `cols` with aggregate SQL `aggs`, ordered by the group columns."
        cols = [cols] if isinstance(cols, str) else list(cols)
        return Results(await self.db._h().t_groupby(self.name, cols, aggs, where, where_args, limit, self._scope()))

    # writes
    async def insert(self, record=None, **kwargs):
        "Insert a row (a dataclass, dict or keywords; scope values added) and return it."
        return self._mark(await self.db._h().t_insert(self.name, _process_row(record, **kwargs),
                                                      self._scope(), self._cls()))

    async def update(self, record=None, pk_values=None, **kwargs):
        "Update the row with the record's primary key (or `pk_values`) and return it; `NotFoundError` if none in scope."
        return self._mark(await self.db._h().t_update(self.name, _process_row(record, **kwargs), pk_values,
                                                      self._scope(), self._cls()))

    async def upsert(self, record=None, **kwargs):
        "Insert, or update the row with the same primary key; returns it."
        return self._mark(await self.db._h().t_upsert(self.name, _process_row(record, **kwargs),
                                                      self._scope(), self._cls()))

    async def delete(self, pk_values):
        "Delete the row with this primary key and return it; `NotFoundError` if none in scope."
        return self._mark(await self.db._h().t_delete(self.name, pk_values, self._scope(), self._cls()))

    def delete_where(self, where=None, where_args=None):
        "Delete the rows matching `where` (all in scope without one); returns them."
        return self.db._h().t_delete_where(self.name, where, where_args, self._scope(), self._cls())

    async def inserts(self, records):
        "Insert many rows in one atomic call (binary COPY); returns the count. Missing columns get their DEFAULT."
        return await self.db._h().t_bulk(self.name, 'inserts', _rows(records), self._scope())

    async def updates(self, records):
        "Update many rows by primary key in one atomic call; missing columns stay unchanged. Returns the rows."
        return await self.db._h().t_bulk(self.name, 'updates', _rows(records),
                                         self._scope(), self._cls())

    async def upserts(self, records, returning=False):
        "Insert or update many rows in one atomic call; returns the count (the rows, in order, with `returning=True`)."
        op = 'upserts_returning' if returning else 'upserts'
        return await self.db._h().t_bulk(self.name, op, _rows(records), self._scope(), self._cls())

    def claim(self, n=1):
        "Mark up to `n` pending rows (`status`) as running, skipping locked ones; returns them all."
        return self.db._h().t_claim(self.name, n, self._scope(), self._cls())

    async def claim_one(self):
        "Claim one pending row; None when there is none."
        r = await self.claim(1)
        return r[0] if r else None

    async def drop(self, cascade=False):
        "Drop this table (or view)."
        await self.db._h().t_drop(self.name, cascade)
        await self.db.refresh()
        self.db._tables.pop(self.name, None)
        self.db._classes.pop(self.name, None)

    # dataclasses
    def dataclass(self, store=True, suf=''):
        "A dataclass for this table's rows (fields default to `UNSET`); linked to the table unless `store=False`."
        dc = _make_dataclass(_camel(self.name) + suf, self._meta())
        if store: self.db._classes[self.name] = dc
        return dc


def _make_dataclass(clsname, meta):
    fields = [(_ident(c[0]), typing.Optional[get_typ(c[1])], dataclasses.field(default=UNSET))
              for c in meta['cols']]
    dc = dataclasses.make_dataclass(clsname, fields)
    dc.__module__ = '__main__'
    return dc


def _as_dataclass(cls):
    "The class itself, made a dataclass with UNSET defaults (as the seed's `flexiclass`)."
    if dataclasses.is_dataclass(cls): return cls
    for k in getattr(cls, '__annotations__', {}):
        if not hasattr(cls, k): setattr(cls, k, UNSET)
    return dataclasses.dataclass(cls)


def all_dcs(db, with_views=False, store=True, suf=''):
    "Dataclasses for every table (and, with `with_views`, view) of `db`."
    names = list(db._h().names(False)) + (list(db._h().names(True)) if with_views else [])
    return [db.table(n).dataclass(store=store, suf=suf) for n in names]


_SRC_TYPES = {int: 'int', float: 'float', str: 'str', bool: 'bool', bytes: 'bytes',
              decimal.Decimal: 'Decimal', datetime.datetime: 'datetime', datetime.date: 'date',
              datetime.time: 'time', datetime.timedelta: 'timedelta', uuid.UUID: 'UUID',
              dict: 'dict', list: 'list', tuple: 'tuple', Range: 'Range',
              ipaddress.IPv4Address: 'IPv4Address', ipaddress.IPv4Network: 'IPv4Network'}


def create_mod(db, mod_fn, with_views=False, store=True, suf=''):
    "Write a module of dataclasses for every table of `db` to `mod_fn` (`.py` added); importable."
    mod_fn = str(mod_fn)
    if not mod_fn.endswith('.py'): mod_fn += '.py'
    names = list(db._h().names(False)) + (list(db._h().names(True)) if with_views else [])
    lines = ['"""Dataclasses for the tables of a PostgreSQL database (written by fastasyncpg.create_mod)."""',
             'from __future__ import annotations', '', 'from dataclasses import dataclass',
             'from datetime import date, datetime, time, timedelta', 'from decimal import Decimal',
             'from ipaddress import IPv4Address, IPv4Network', 'from uuid import UUID', '',
             'from fastasyncpg import UNSET, Range', '']
    exports = []
    for n in names:
        meta = db._h().meta(n)
        cname = _camel(n) + suf
        exports.append(cname)
        lines += ['', '@dataclass', f'class {cname}:']
        for col, typ, nullable, _dflt in meta['cols']:
            lines.append(f'    {_ident(col)}: {_SRC_TYPES.get(get_typ(typ), "str")} | None = UNSET')
        if not meta['cols']: lines.append('    pass')
    lines += ['', '', f'__all__ = {exports!r}', '']
    with open(mod_fn, 'w') as f: f.write('\n'.join(lines))
    if store:
        # Link the tables to the module's classes, so that rows come back as them.
        import importlib.util
        modname = os.path.splitext(os.path.basename(mod_fn))[0]
        spec = importlib.util.spec_from_file_location(modname, mod_fn)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
        db.link_dcs(mod)


# ----- the seed's catalog helpers -----

async def table_names(db, schema='public'):
    "Table names (the schema snapshot; `schema` other than public: schema-qualified names)."
    return [n for n in db._h().names(False) if db._h().meta(n)['schema'] == schema]


async def view_names(db, schema='public'):
    "View names in `schema`."
    return [n for n in db._h().names(True) if db._h().meta(n)['schema'] == schema]


async def columns_info(db, table, schema='public'):
    "`{column: type}` of `table`."
    return db.table(table).cols


async def pk_cols(db, table):
    "The primary key columns of `table`, in key order."
    return db.table(table).pks
