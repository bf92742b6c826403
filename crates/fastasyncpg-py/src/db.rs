//! `_native.Db`: one core [`Database`] (a connection, a pool, or a transaction's handle) with
//! every call as an awaitable. The Python `Database` class (`fastasyncpg/core.py`) wraps it
//! with the seed's names and behaviour; SQL building, placeholders, introspection, coercion and
//! the table API are the core's.

use std::time::Duration;

use fastasyncpg::{
    Args, ConnectOptions, Database, IsolationLevel, Key, PoolOptions, Record, ResetPolicy,
    StatementCacheMode, Table, TransactionOptions, Value,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::convert::{args_values, rows_to_list, to_py, to_value, RowConverter};
use crate::errors::{new_err, to_py_err};
use crate::out::{awaitable, Out};

/// Rows converted to Python per GIL acquisition when `fetch` streams a result.
const FETCH_CHUNK: usize = 1024;

/// A database handle (see the module docs).
#[pyclass(module = "fastasyncpg._native", name = "Db", frozen)]
pub struct Db {
    pub(crate) db: Database,
}

/// Python `*args` and `**kwargs` as core [`Args`].
pub(crate) fn to_args(
    args: Option<&Bound<'_, PyAny>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Args> {
    let mut a = Args::new();
    if let Some(args) = args {
        if !args.is_none() {
            if args.cast::<PyString>().is_ok() {
                return Err(PyTypeError::new_err(
                    "arguments must be a sequence of values, not a str (write (value,) for one)",
                ));
            }
            for v in args_values(args)? {
                a = a.arg(v);
            }
        }
    }
    if let Some(kw) = kwargs {
        if let Ok(d) = kw.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let name: String = k.extract()?;
                let val = to_value(&v, &|| format!("argument :{name}"))?;
                a = a.named(name.clone(), val);
            }
        }
    }
    Ok(a)
}

/// `where_args` of the table API: a sequence (`?`/`$n`) or a dict (`:name`).
fn where_args_of(args: Option<&Bound<'_, PyAny>>) -> PyResult<Args> {
    match args {
        None => Ok(Args::new()),
        Some(a) if a.is_none() => Ok(Args::new()),
        Some(a) => match a.cast::<PyDict>() {
            Ok(d) => to_args(None, Some(d)),
            Err(_) => to_args(Some(a), None),
        },
    }
}

/// The package's `UNSET` (registered by `fastasyncpg/core.py`): a field left out of a write.
pub(crate) static UNSET: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// Registers `UNSET`.
#[pyfunction]
pub(crate) fn _set_unset(py: Python<'_>, unset: Bound<'_, PyAny>) {
    let _ = UNSET.set(py, unset.unbind());
}

/// A row to write as a core [`Record`] (column → value): a dict, an `FRecord`, a dataclass
/// instance or any mapping; fields that are `UNSET` are left out (the column keeps its DEFAULT,
/// or its value on update), `enum.Enum` values send their `.value`.
pub(crate) fn to_record(d: &Bound<'_, PyAny>) -> PyResult<Record> {
    let py = d.py();
    let unset = UNSET.get(py).map(|u| u.bind(py).as_ptr());
    let mut r = Record::new();
    let mut put = |k: &Bound<'_, PyAny>, v: &Bound<'_, PyAny>| -> PyResult<()> {
        if unset == Some(v.as_ptr()) {
            return Ok(());
        }
        let k = k
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("a record's keys are column names (str)"))?;
        let name = crate::convert::utf8(k)?;
        let val = to_value(v, &|| format!("column {name:?}"))?;
        r.set(name, val);
        Ok(())
    };
    if let Ok(dict) = d.cast::<PyDict>() {
        for (k, v) in dict.iter() {
            put(&k, &v)?;
        }
    } else if let Ok(rec) = d.cast::<crate::record::FRecord>() {
        for (k, v) in rec.get().pairs() {
            put(PyString::new(py, k).as_any(), v.bind(py))?;
        }
    } else if let Ok(fields) = d.getattr(pyo3::intern!(py, "__dataclass_fields__")) {
        for k in fields.try_iter()? {
            let k = k?;
            let v = d.getattr(k.cast::<PyString>()?)?;
            put(&k, &v)?;
        }
    } else if d.hasattr(pyo3::intern!(py, "keys"))? {
        for k in d.call_method0(pyo3::intern!(py, "keys"))?.try_iter()? {
            let k = k?;
            let v = d.get_item(&k)?;
            put(&k, &v)?;
        }
    } else if let Ok(attrs) = d.getattr(pyo3::intern!(py, "__dict__")) {
        for (k, v) in attrs.cast::<PyDict>()?.iter() {
            if !k.extract::<String>()?.starts_with('_') {
                put(&k, &v)?;
            }
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "cannot use a {} as a row: pass a dict, a dataclass, a record or keywords",
            d.get_type().name()?
        )));
    }
    Ok(r)
}

/// Rows for a COPY straight from a list of Python dicts with the first dict's keys (the
/// common bulk case), converted lazily: `(columns, rows)`, the scope's columns appended.
/// `None` when the first row is not a dict, gives no column or sets a scope column. The other
/// rows are checked as [`DictRows`] converts them while the COPY is under way (checking them
/// all first cost a third of the call's instructions, before the server could start): one of
/// another shape ends the COPY (nothing is written) and sets [`DictRows::misfit`], and the
/// caller then takes the general path (defaults for missing keys, scope checks).
fn columnar(
    recs: &Bound<'_, PyAny>,
    scope: &[(String, Value)],
) -> PyResult<Option<(Vec<String>, DictRows)>> {
    let py = recs.py();
    let Ok(list) = recs.cast::<PyList>() else {
        return Ok(None);
    };
    let Some(first) = list.iter().next() else {
        return Ok(None);
    };
    let Ok(first) = first.cast_into::<PyDict>() else {
        return Ok(None);
    };
    let keys: Vec<Bound<'_, PyAny>> = first.keys().iter().collect();
    let mut cols = Vec::with_capacity(keys.len() + scope.len());
    for k in &keys {
        let name: String = k.extract()?;
        if scope.iter().any(|(s, _)| *s == name) {
            return Ok(None);
        }
        cols.push(name);
    }
    if cols.is_empty() {
        return Ok(None); // rows of defaults only
    }
    let unset = UNSET.get(py).map(|u| u.bind(py).as_ptr() as usize);
    let names = cols.clone();
    cols.extend(scope.iter().map(|(s, _)| s.clone()));
    let rows = DictRows {
        list: list.clone().unbind(),
        keys: keys.into_iter().map(Bound::unbind).collect(),
        names,
        scope: scope.iter().map(|(_, v)| v.clone()).collect(),
        unset,
        misfit: Arc::new(AtomicBool::new(false)),
        pos: 0,
        buf: std::collections::VecDeque::new(),
    };
    Ok(Some((cols, rows)))
}

/// Rows of same-shaped dicts, converted to values a chunk at a time (one GIL acquisition per
/// chunk) as the COPY asks for them, so that conversion overlaps with the server's work.
struct DictRows {
    list: Py<PyList>,
    keys: Vec<Py<PyAny>>,
    names: Vec<String>,
    scope: Vec<Value>,
    /// The address of `UNSET` (a field left to its default: not a COPY row).
    unset: Option<usize>,
    /// Set when a row is not a dict with exactly the first row's keys (or holds `UNSET`):
    /// the COPY failed for that reason and the rows go the general way.
    misfit: Arc<AtomicBool>,
    pos: usize,
    buf: std::collections::VecDeque<ConvertedRow>,
}

/// One converted row, or the conversion error (which aborts the COPY: nothing is written).
struct ConvertedRow(fastasyncpg::Result<Vec<Value>>);

impl fastasyncpg::IntoCopyRow for ConvertedRow {
    fn into_copy_row(self, _columns: &[String]) -> fastasyncpg::Result<Vec<Value>> {
        self.0
    }
}

const CHUNK: usize = 2048;

impl Iterator for DictRows {
    type Item = ConvertedRow;

    fn next(&mut self) -> Option<ConvertedRow> {
        if self.buf.is_empty() {
            Python::attach(|py| {
                let list = self.list.bind(py);
                let end = (self.pos + CHUNK).min(list.len());
                while self.pos < end {
                    let row = self.convert(py, list, self.pos);
                    let failed = row.is_err();
                    self.buf.push_back(ConvertedRow(row));
                    self.pos += 1;
                    if failed {
                        self.pos = usize::MAX / 2; // nothing after an error
                        break;
                    }
                }
            });
        }
        self.buf.pop_front()
    }
}

impl DictRows {
    fn convert(
        &self,
        py: Python<'_>,
        list: &Bound<'_, PyList>,
        i: usize,
    ) -> fastasyncpg::Result<Vec<Value>> {
        let err = |e: PyErr| fastasyncpg::Error::new(fastasyncpg::ErrorKind::Bind, e.to_string());
        let misfit = || {
            self.misfit.store(true, Ordering::Relaxed);
            fastasyncpg::Error::new(
                fastasyncpg::ErrorKind::Usage,
                format!("row {}: not a dict with the first row's keys", i + 1),
            )
        };
        let d = list.get_item(i).map_err(err)?;
        let Ok(d) = d.cast::<PyDict>() else {
            return Err(misfit());
        };
        if d.len() != self.keys.len() {
            return Err(misfit());
        }
        let mut row = Vec::with_capacity(self.keys.len() + self.scope.len());
        for (k, name) in self.keys.iter().zip(&self.names) {
            let v = d.get_item(k.bind(py)).map_err(err)?.ok_or_else(misfit)?;
            if self.unset == Some(v.as_ptr() as usize) {
                return Err(misfit());
            }
            row.push(to_value(&v, &|| format!("column {name:?}")).map_err(err)?);
        }
        row.extend(self.scope.iter().cloned());
        Ok(row)
    }
}

/// Every row of `recs` as a [`Record`]; an error names the table, the operation and the row.
fn records_of(recs: &Bound<'_, PyAny>, name: &str, op: &str) -> PyResult<Vec<Record>> {
    let mut all = Vec::new();
    for (i, r) in recs.try_iter()?.enumerate() {
        all.push(
            to_record(&r?)
                .map_err(|e| PyTypeError::new_err(format!("{name}: {op}: row {}: {e}", i + 1)))?,
        );
    }
    Ok(all)
}

/// A primary key from Python: one value, or a tuple/list for a composite key.
fn to_key(pk: &Bound<'_, PyAny>) -> PyResult<Key> {
    if let Ok(t) = pk.cast::<PyTuple>() {
        return Ok(Key::new(args_values(t.as_any())?));
    }
    if let Ok(l) = pk.cast::<PyList>() {
        return Ok(Key::new(args_values(l.as_any())?));
    }
    Ok(Key::new(vec![to_value(pk, &|| "primary key".to_string())?]))
}

fn key_to_py<'py>(py: Python<'py>, k: &Key) -> PyResult<Bound<'py, PyAny>> {
    match k.values() {
        [one] => to_py(py, one),
        many => {
            let vals: PyResult<Vec<_>> = many.iter().map(|v| to_py(py, v)).collect();
            Ok(PyTuple::new(py, vals?)?.into_any())
        }
    }
}

fn opt_secs(v: Option<f64>) -> Option<Duration> {
    v.filter(|s| *s > 0.0).map(Duration::from_secs_f64)
}

/// The options `connect`/`create_pool` understand beyond the DSN (asyncpg's keyword names).
fn apply_options(mut o: ConnectOptions, kw: &Bound<'_, PyDict>) -> PyResult<ConnectOptions> {
    for (k, v) in kw.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        o = match key.as_str() {
            "user" => o.user(&v.extract::<String>()?),
            "password" => o.password(&v.extract::<String>()?),
            "database" => o.database(&v.extract::<String>()?),
            "host" => o.host(&v.extract::<String>()?),
            "port" => o.port(v.extract()?),
            "command_timeout" => o.command_timeout(opt_secs(v.extract()?)),
            "timeout" => o.connect_timeout(Duration::from_secs_f64(v.extract()?)),
            "statement_cache_size" => {
                let n: usize = v.extract()?;
                if n == 0 {
                    // asyncpg's spelling of "no named statements" (PgBouncer).
                    o.statement_cache_mode(StatementCacheMode::Unnamed)
                } else {
                    o.statement_cache_size(n)
                }
            }
            "application_name" => o.application_name(&v.extract::<String>()?),
            "server_settings" => {
                let d = v.cast::<PyDict>()?;
                let mut pairs = Vec::new();
                for (sk, sv) in d.iter() {
                    pairs.push((sk.extract::<String>()?, sv.str()?.to_string()));
                }
                o.server_settings(pairs)
            }
            "ssl" | "sslmode" => match v.extract::<bool>() {
                Ok(true) => o.ssl_mode(fastasyncpg::SslMode::Require),
                Ok(false) => o.ssl_mode(fastasyncpg::SslMode::Disable),
                Err(_) => o.ssl_mode(
                    v.extract::<String>()?
                        .parse()
                        .map_err(|e: fastasyncpg::Error| PyValueError::new_err(e.to_string()))?,
                ),
            },
            "sslrootcert" => o.ssl_root_cert(v.extract::<String>()?),
            "target_session_attrs" => o.target_session_attrs(
                v.extract::<String>()?
                    .parse()
                    .map_err(|e: fastasyncpg::Error| PyValueError::new_err(e.to_string()))?,
            ),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "connect() got an unknown option {other:?}"
                )))
            }
        };
    }
    Ok(o)
}

fn pool_options(kw: &Bound<'_, PyDict>) -> PyResult<PoolOptions> {
    let mut p = PoolOptions::default();
    for (k, v) in kw.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        p = match key.as_str() {
            "min_size" => p.min_size(v.extract()?),
            "max_size" => p.max_size(v.extract()?),
            "max_queries" => p.max_queries(v.extract()?),
            "max_inactive_connection_lifetime" => {
                p.max_inactive_connection_lifetime(opt_secs(v.extract()?))
            }
            "acquire_timeout" => p.acquire_timeout(opt_secs(v.extract()?)),
            "reset" => p.reset(match v.extract::<String>()?.as_str() {
                "always" => ResetPolicy::Always,
                "never" => ResetPolicy::Never,
                _ => ResetPolicy::WhenNeeded,
            }),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "create_pool() got an unknown option {other:?}"
                )))
            }
        };
    }
    Ok(p)
}

/// Connects (`pool=False`) or creates a pool; `options` are asyncpg-style keywords
/// (`user`, `host`, `command_timeout`, `statement_cache_size`, `min_size`, …).
#[pyfunction]
#[pyo3(signature = (dsn, options, pool_options_=None))]
pub(crate) fn connect<'py>(
    py: Python<'py>,
    dsn: &str,
    options: Bound<'py, PyDict>,
    pool_options_: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let opts = ConnectOptions::parse(dsn).map_err(to_py_err)?;
    let opts = apply_options(opts, &options)?;
    let pool = pool_options_.as_ref().map(pool_options).transpose()?;
    awaitable(py, async move {
        let db = match pool {
            None => opts.connect().await,
            Some(p) => opts.create_pool(p).await,
        }
        .map_err(to_py_err)?;
        Ok(Out::new(
            move |py| Ok(Bound::new(py, Db { db })?.into_any()),
        ))
    })
}

impl Db {
    fn table(&self, name: &str, xtra: Option<&Bound<'_, PyAny>>) -> PyResult<Table> {
        let t = self.db.relation(name).map_err(to_py_err)?;
        match xtra {
            Some(x) if !x.is_none() && x.cast::<PyDict>().is_ok_and(|d| !d.is_empty()) => {
                t.xtra(to_record(x)?).map_err(to_py_err)
            }
            _ => Ok(t),
        }
    }
}

fn opt_cls(cls: Option<Bound<'_, PyAny>>) -> Option<Py<PyAny>> {
    cls.filter(|c| !c.is_none()).map(Bound::unbind)
}

fn row_out(row: fastasyncpg::Row, cls: Option<Py<PyAny>>) -> Out {
    Out::new(move |py| RowConverter::new(&row).object(py, &row, cls.as_ref()))
}

fn opt_row_out(row: Option<fastasyncpg::Row>, cls: Option<Py<PyAny>>) -> Out {
    match row {
        Some(r) => row_out(r, cls),
        None => Out::none(),
    }
}

fn rows_out(rows: Vec<fastasyncpg::Row>, cls: Option<Py<PyAny>>) -> Out {
    Out::new(move |py| Ok(rows_to_list(py, &rows, cls.as_ref())?.into_any()))
}

/// An awaitable of the row a table call returns, made into `cls` (or a record).
fn row_call<'py, Fut>(
    py: Python<'py>,
    cls: Option<Bound<'py, PyAny>>,
    fut: Fut,
) -> PyResult<Bound<'py, PyAny>>
where
    Fut: std::future::Future<Output = fastasyncpg::Result<fastasyncpg::Row>> + Send + 'static,
{
    let cls = opt_cls(cls);
    awaitable(py, async move {
        Ok(row_out(fut.await.map_err(to_py_err)?, cls))
    })
}

/// An awaitable of the rows a table call returns, each made into `cls` (or a record).
fn rows_call<'py, Fut>(
    py: Python<'py>,
    cls: Option<Bound<'py, PyAny>>,
    fut: Fut,
) -> PyResult<Bound<'py, PyAny>>
where
    Fut: std::future::Future<Output = fastasyncpg::Result<Vec<fastasyncpg::Row>>> + Send + 'static,
{
    let cls = opt_cls(cls);
    awaitable(py, async move {
        Ok(rows_out(fut.await.map_err(to_py_err)?, cls))
    })
}

#[pymethods]
impl Db {
    /// The connection URL without the password (`str(db)` in the seed).
    fn url(&self) -> String {
        self.db.to_string()
    }

    /// True for a pool.
    fn is_pool(&self) -> bool {
        self.db.is_pool()
    }

    /// True inside a transaction.
    fn is_in_transaction(&self) -> bool {
        self.db.is_in_transaction()
    }

    /// `execute(sql, args, kwargs)`: the command status (`'INSERT 0 1'`, `'CREATE TABLE'`);
    /// with no arguments `sql` may hold several statements.
    #[pyo3(signature = (sql, args=None, kwargs=None))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        args: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = to_args(args.as_ref(), kwargs.as_ref())?;
        let db = self.db.clone();
        awaitable(py, async move {
            let s = db.execute_status(&sql, a).await.map_err(to_py_err)?;
            Ok(Out::new(move |py| Ok(PyString::new(py, &s).into_any())))
        })
    }

    /// `executemany(sql, list_of_args)`: one statement for many argument tuples, atomically.
    fn executemany<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        many: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut all = Vec::new();
        for (i, item) in many.try_iter()?.enumerate() {
            let item = item?;
            let a = match item.cast::<PyDict>() {
                Ok(d) => to_args(None, Some(d)),
                Err(_) => to_args(Some(&item), None),
            }
            .map_err(|e| {
                PyTypeError::new_err(format!("executemany: argument set {}: {e}", i + 1))
            })?;
            all.push(a);
        }
        let db = self.db.clone();
        awaitable(py, async move {
            db.executemany(&sql, all).await.map_err(to_py_err)?;
            Ok(Out::none())
        })
    }

    /// `fetch(sql, args, kwargs)`: every row, as records.
    #[pyo3(signature = (sql, args=None, kwargs=None, cls=None))]
    fn fetch<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        args: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = to_args(args.as_ref(), kwargs.as_ref())?;
        let cls = opt_cls(cls);
        let db = self.db.clone();
        awaitable(py, async move {
            if db.is_in_transaction() {
                let rows = db.fetch(&sql, a).await.map_err(to_py_err)?;
                return Ok(rows_out(rows, cls));
            }
            // Streamed, each chunk made Python while the next one arrives.
            let mut c = db.cursor(&sql, a).await.map_err(to_py_err)?;
            let list: Py<PyList> = Python::attach(|py| PyList::empty(py).unbind());
            let mut conv: Option<RowConverter> = None;
            loop {
                let rows = c.fetch(FETCH_CHUNK).await.map_err(to_py_err)?;
                let Some(first) = rows.first() else { break };
                let conv = conv.get_or_insert_with(|| RowConverter::new(first));
                Python::attach(|py| -> PyResult<()> {
                    let l = list.bind(py);
                    for r in &rows {
                        l.append(conv.object(py, r, cls.as_ref())?)?;
                    }
                    Ok(())
                })?;
                if rows.len() < FETCH_CHUNK {
                    break;
                }
            }
            Ok(Out::new(move |py| Ok(list.into_bound(py).into_any())))
        })
    }

    /// `fetchrow(sql, args, kwargs)`: the first row or `None`.
    #[pyo3(signature = (sql, args=None, kwargs=None))]
    fn fetchrow<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        args: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = to_args(args.as_ref(), kwargs.as_ref())?;
        let db = self.db.clone();
        awaitable(py, async move {
            let row = db.fetchrow(&sql, a).await.map_err(to_py_err)?;
            Ok(opt_row_out(row, None))
        })
    }

    /// `fetchval(sql, args, kwargs, column)`: one value of the first row (`None` without rows).
    #[pyo3(signature = (sql, args=None, kwargs=None, column=0))]
    fn fetchval<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        args: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
        column: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = to_args(args.as_ref(), kwargs.as_ref())?;
        let db = self.db.clone();
        awaitable(py, async move {
            let row = db.fetchrow(&sql, a).await.map_err(to_py_err)?;
            Ok(match row {
                None => Out::none(),
                Some(row) => Out::new(move |py| {
                    if column >= row.len() {
                        return Err(new_err(
                            py,
                            "usage",
                            format!("fetchval: column {column} is out of range: the query returned {} column(s)", row.len()),
                        ));
                    }
                    RowConverter::new(&row).value(py, &row, column)
                }),
            })
        })
    }

    /// `item(sql, args)`: the single field of the single row (an error otherwise).
    #[pyo3(signature = (sql, args=None, kwargs=None))]
    fn item<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        args: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = to_args(args.as_ref(), kwargs.as_ref())?;
        let db = self.db.clone();
        awaitable(py, async move {
            let v: Value = db.item(&sql, a).await.map_err(to_py_err)?;
            Ok(Out::new(move |py| to_py(py, &v)))
        })
    }

    /// Reloads the schema (one round trip); returns nothing.
    fn refresh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db.clone();
        awaitable(py, async move {
            db.refresh().await.map_err(to_py_err)?;
            Ok(Out::none())
        })
    }

    /// A handle on one connection of the pool for this handle's lifetime (asyncpg's
    /// `acquire`); on a single connection, the same connection.
    fn acquire<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db.clone();
        awaitable(py, async move {
            let held = db.acquire().await.map_err(to_py_err)?;
            Ok(Out::new(move |py| {
                Ok(Bound::new(py, Db { db: held })?.into_any())
            }))
        })
    }

    /// Starts a transaction (a savepoint when nested); returns a `_native.Tx`.
    #[pyo3(signature = (isolation=None, readonly=false, deferrable=false))]
    fn begin<'py>(
        &self,
        py: Python<'py>,
        isolation: Option<String>,
        readonly: bool,
        deferrable: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let isolation = match isolation.as_deref() {
            None => None,
            Some("read_committed") => Some(IsolationLevel::ReadCommitted),
            Some("repeatable_read") => Some(IsolationLevel::RepeatableRead),
            Some("serializable") => Some(IsolationLevel::Serializable),
            Some("read_uncommitted") => Some(IsolationLevel::ReadUncommitted),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "isolation must be read_committed, repeatable_read, serializable or read_uncommitted, not {other:?}"
                )))
            }
        };
        let opts = TransactionOptions {
            isolation,
            readonly,
            deferrable,
        };
        let db = self.db.clone();
        awaitable(py, async move {
            let tx = db.begin_with(opts).await.map_err(to_py_err)?;
            Ok(Out::new(move |py| {
                Ok(Bound::new(
                    py,
                    crate::tx::Tx {
                        db: tx.db(),
                        tx: Mutex::new(Some(tx)),
                    },
                )?
                .into_any())
            }))
        })
    }

    /// Opens a cursor over `sql` (a server-side cursor inside a transaction, a streamed query
    /// otherwise); returns a `_native.Cursor`.
    #[pyo3(signature = (sql, args=None, kwargs=None, prefetch=None))]
    fn cursor<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        args: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
        prefetch: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = to_args(args.as_ref(), kwargs.as_ref())?;
        let db = self.db.clone();
        awaitable(py, async move {
            let mut c = db.cursor(&sql, a).await.map_err(to_py_err)?;
            if let Some(n) = prefetch {
                c = c.prefetch(n);
            }
            Ok(Out::new(move |py| {
                Ok(Bound::new(py, crate::cursor::PyCursor::new(c))?.into_any())
            }))
        })
    }

    /// Closes the connection (or every connection of the pool).
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db.clone();
        awaitable(py, async move {
            db.close().await;
            Ok(Out::none())
        })
    }

    // ----- schema -----

    /// Table (or, with `views=True`, view) names of the schema snapshot.
    #[pyo3(signature = (views=false))]
    fn names(&self, views: bool) -> Vec<String> {
        if views {
            self.db.views().names()
        } else {
            self.db.tables().names()
        }
    }

    /// The metadata of relation `name`: `{"name", "schema", "kind", "sql_name", "cols":
    /// [(name, type, nullable, has_default)], "pks"}`; an unknown name raises with suggestions.
    fn meta<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
        let t = self.db.relation(name).map_err(to_py_err)?;
        let d = PyDict::new(py);
        d.set_item("name", t.name())?;
        d.set_item("schema", t.schema())?;
        d.set_item("kind", format!("{:?}", t.kind()).to_lowercase())?;
        d.set_item("is_view", !t.kind().is_table())?;
        d.set_item("sql_name", t.meta().sql_name())?;
        let cols = PyList::empty(py);
        for c in &t.meta().columns {
            cols.append((
                c.name.as_str(),
                c.type_name.as_str(),
                !c.not_null,
                c.has_default(),
            ))?;
        }
        d.set_item("cols", cols)?;
        d.set_item("pks", t.pks().to_vec())?;
        Ok(d)
    }

    // ----- the table API (name, xtra scope and dataclass passed by the Python Table) -----

    /// `t[pk]` (`required`: `NotFoundError` when no row in scope has the key) / `t.get(pk)`
    /// (`None` then). A row made into `cls` gets `_db = mark` (the seed's back-reference).
    #[pyo3(signature = (name, pk, xtra=None, cls=None, required=false, mark=None))]
    #[allow(clippy::too_many_arguments)]
    fn t_get<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        pk: Bound<'py, PyAny>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
        required: bool,
        mark: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let key = to_key(&pk)?;
        let cls = opt_cls(cls);
        let mark = mark
            .filter(|m| !m.is_none() && cls.is_some())
            .map(Bound::unbind);
        let shown = required.then(|| pk.clone().unbind());
        let tname = name.to_string();
        awaitable(py, async move {
            let row = t.get(key).await.map_err(to_py_err)?;
            match row {
                None if required => Err(Python::attach(|py| {
                    let k = shown
                        .and_then(|k| k.bind(py).repr().ok().map(|r| r.to_string()))
                        .unwrap_or_default();
                    new_err(py, "not_found", format!("{tname}[{k}]"))
                })),
                None => Ok(Out::none()),
                Some(row) => Ok(Out::new(move |py| {
                    let obj = RowConverter::new(&row).object(py, &row, cls.as_ref())?;
                    if let Some(m) = mark {
                        let _ = obj.setattr(pyo3::intern!(py, "_db"), m);
                    }
                    Ok(obj)
                })),
            }
        })
    }

    /// `rows_where` / `t(...)`: rows (or `(pk, row)` pairs with `with_pk`).
    #[pyo3(signature = (name, where_=None, where_args=None, order_by=None, select=None, limit=None, offset=None, xtra=None, cls=None, with_pk=false, debug=false))]
    #[allow(clippy::too_many_arguments)]
    fn t_rows<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        where_: Option<String>,
        where_args: Option<Bound<'py, PyAny>>,
        order_by: Option<String>,
        select: Option<String>,
        limit: Option<u64>,
        offset: Option<u64>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
        with_pk: bool,
        debug: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let mut rw = t.rows_where(
            where_.as_deref().unwrap_or(""),
            where_args_of(where_args.as_ref())?,
        );
        if let Some(o) = order_by.as_deref().filter(|s| !s.is_empty()) {
            rw = rw.order_by(o);
        }
        if let Some(s) = select.as_deref().filter(|s| !s.is_empty() && *s != "*") {
            rw = rw.select(s);
        }
        if let Some(n) = limit {
            rw = rw.limit(n);
        }
        if let Some(n) = offset {
            rw = rw.offset(n);
        }
        if debug {
            let (sql, _) = rw.sql().map_err(to_py_err)?;
            py.import("builtins")?.getattr("print")?.call1((sql,))?;
        }
        let cls = opt_cls(cls);
        awaitable(py, async move {
            if with_pk {
                let pairs = rw.with_pk().await.map_err(to_py_err)?;
                return Ok(Out::new(move |py| {
                    let l = PyList::empty(py);
                    if let Some((_, first)) = pairs.first() {
                        let conv = RowConverter::new(first);
                        for (k, r) in &pairs {
                            let obj = conv.object(py, r, cls.as_ref())?;
                            l.append((key_to_py(py, k)?, obj))?;
                        }
                    }
                    Ok(l.into_any())
                }));
            }
            let rows = rw.fetch().await.map_err(to_py_err)?.into_rows();
            Ok(rows_out(rows, cls))
        })
    }

    /// `count_where` / `t.count`.
    #[pyo3(signature = (name, where_=None, where_args=None, xtra=None))]
    fn t_count<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        where_: Option<String>,
        where_args: Option<Bound<'py, PyAny>>,
        xtra: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let a = where_args_of(where_args.as_ref())?;
        awaitable(py, async move {
            let n = t
                .count_where(where_.as_deref().unwrap_or(""), a)
                .await
                .map_err(to_py_err)?;
            Ok(Out::new(move |py| Ok(n.into_pyobject(py)?.into_any())))
        })
    }

    /// `selectone`: exactly one row (`NotFoundError` for none, `ValueError` for several).
    #[pyo3(signature = (name, where_=None, where_args=None, select=None, xtra=None, cls=None, debug=false))]
    #[allow(clippy::too_many_arguments)]
    fn t_selectone<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        where_: Option<String>,
        where_args: Option<Bound<'py, PyAny>>,
        select: Option<String>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
        debug: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let mut rw = t
            .rows_where(
                where_.as_deref().unwrap_or(""),
                where_args_of(where_args.as_ref())?,
            )
            .limit(2);
        if let Some(s) = select.as_deref().filter(|s| !s.is_empty() && *s != "*") {
            rw = rw.select(s);
        }
        let (sql, _) = rw.sql().map_err(to_py_err)?;
        if debug {
            py.import("builtins")?
                .getattr("print")?
                .call1((sql.clone(),))?;
        }
        let cls = opt_cls(cls);
        let sql_name = t.meta().sql_name().to_string();
        awaitable(py, async move {
            let rows = rw.fetch().await.map_err(to_py_err)?.into_rows();
            let n = rows.len();
            let mut it = rows.into_iter();
            match (it.next(), n) {
                (Some(r), 1) => Ok(row_out(r, cls)),
                (None, _) => Err(Python::attach(|py| {
                    new_err(
                        py,
                        "not_found",
                        format!("selectone: no row in {sql_name}: {sql}"),
                    )
                })),
                _ => Err(Python::attach(|py| {
                    new_err(
                        py,
                        "not_unique",
                        format!("selectone: more than one row in {sql_name}: {sql}"),
                    )
                })),
            }
        })
    }

    /// `insert(record)`: the inserted row (`RETURNING *`).
    #[pyo3(signature = (name, rec, xtra=None, cls=None))]
    fn t_insert<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        rec: Bound<'py, PyAny>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let r = to_record(&rec)?;
        row_call(py, cls, async move { t.insert(r).await })
    }

    /// `update(record, pk_values)`: the updated row; `NotFoundError` when no row (in scope)
    /// has the key.
    #[pyo3(signature = (name, rec, pk=None, xtra=None, cls=None))]
    fn t_update<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        rec: Bound<'py, PyAny>,
        pk: Option<Bound<'py, PyAny>>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let r = to_record(&rec)?;
        let key = pk
            .filter(|p| !p.is_none())
            .map(|p| to_key(&p))
            .transpose()?;
        row_call(py, cls, async move {
            match key {
                Some(k) => t.update_with(k, r).await,
                None => t.update(r).await,
            }
        })
    }

    /// `upsert(record)`: insert, or update the row with the same primary key.
    #[pyo3(signature = (name, rec, xtra=None, cls=None))]
    fn t_upsert<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        rec: Bound<'py, PyAny>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let r = to_record(&rec)?;
        row_call(py, cls, async move { t.upsert(r).await })
    }

    /// `delete(pk)`: the deleted row; `NotFoundError` when none (in scope) has the key.
    #[pyo3(signature = (name, pk, xtra=None, cls=None))]
    fn t_delete<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        pk: Bound<'py, PyAny>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let key = to_key(&pk)?;
        row_call(py, cls, async move { t.delete(key).await })
    }

    /// `delete_where(where, where_args)`: the deleted rows.
    #[pyo3(signature = (name, where_=None, where_args=None, xtra=None, cls=None))]
    fn t_delete_where<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        where_: Option<String>,
        where_args: Option<Bound<'py, PyAny>>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let a = where_args_of(where_args.as_ref())?;
        rows_call(py, cls, async move {
            t.delete_where(where_.as_deref().unwrap_or(""), a).await
        })
    }

    /// Bulk writes, each one atomic call: `op` is `inserts` (binary COPY) or `upserts`, which
    /// return the count, or `updates` / `upserts_returning`, which return the rows written, in
    /// the order given.
    #[pyo3(signature = (name, op, recs, xtra=None, cls=None))]
    fn t_bulk<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        op: &str,
        recs: Bound<'py, PyAny>,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        if op == "inserts" {
            let scope: Vec<(String, Value)> = t
                .scope()
                .into_iter()
                .map(|(c, v)| (c.to_string(), v.clone()))
                .collect();
            if let Some((cols, rows)) = columnar(&recs, &scope)? {
                // Same COPY as `Table::inserts`, without a Record per row.
                let opts = fastasyncpg::CopyOptions::new()
                    .columns(cols)
                    .schema_name(t.schema());
                let db = self.db.clone();
                let table = t.name().to_string();
                let misfit = rows.misfit.clone();
                let recs = recs.unbind();
                let name = name.to_string();
                return awaitable(py, async move {
                    let copy = |db: Database| async move {
                        db.copy_records_to_table(&table, rows, &opts).await
                    };
                    // In a transaction, a savepoint keeps a COPY ended by a misfit from
                    // aborting it.
                    let r = if db.is_in_transaction() {
                        db.transaction(copy).await
                    } else {
                        copy(db.clone()).await
                    };
                    let n = match r {
                        Err(_) if misfit.load(Ordering::Relaxed) => {
                            let all =
                                Python::attach(|py| records_of(recs.bind(py), &name, "inserts"))?;
                            t.inserts(all).await
                        }
                        r => r,
                    }
                    .map_err(to_py_err)?;
                    Ok(Out::new(move |py| Ok(n.into_pyobject(py)?.into_any())))
                });
            }
        }
        let all = records_of(&recs, name, op)?;
        let cls = opt_cls(cls);
        let op = op.to_string();
        awaitable(py, async move {
            let rows = match op.as_str() {
                "inserts" | "upserts" => {
                    let n = if op == "inserts" {
                        t.inserts(all).await
                    } else {
                        t.upserts(all).await
                    }
                    .map_err(to_py_err)?;
                    return Ok(Out::new(move |py| Ok(n.into_pyobject(py)?.into_any())));
                }
                "updates" => t.updates(all).await,
                "upserts_returning" => t.upserts_returning(all).await,
                other => {
                    return Err(Python::attach(|py| {
                        new_err(py, "usage", format!("unknown bulk operation {other:?}"))
                    }))
                }
            }
            .map_err(to_py_err)?;
            Ok(rows_out(rows, cls))
        })
    }

    /// `drop(cascade)`: drops the table or view.
    #[pyo3(signature = (name, cascade=false))]
    fn t_drop<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        cascade: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, None)?;
        awaitable(py, async move {
            t.drop(cascade).await.map_err(to_py_err)?;
            Ok(Out::none())
        })
    }

    /// `claim(n)`: marks up to `n` pending rows as running and returns them all.
    #[pyo3(signature = (name, n=1, xtra=None, cls=None))]
    fn t_claim<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        n: u64,
        xtra: Option<Bound<'py, PyAny>>,
        cls: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        rows_call(py, cls, async move { t.claim(n).await })
    }

    /// `groupby(cols, aggs, where, where_args, limit)`: grouped rows as records.
    #[pyo3(signature = (name, cols, aggs, where_=None, where_args=None, limit=None, xtra=None))]
    #[allow(clippy::too_many_arguments)]
    fn t_groupby<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        cols: Vec<String>,
        aggs: &str,
        where_: Option<String>,
        where_args: Option<Bound<'py, PyAny>>,
        limit: Option<u64>,
        xtra: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.table(name, xtra.as_ref())?;
        let c: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut rw = t.groupby(&c, aggs);
        if let Some(w) = where_.as_deref().filter(|w| !w.is_empty()) {
            rw = rw.filter(w, where_args_of(where_args.as_ref())?);
        }
        if let Some(n) = limit {
            rw = rw.limit(n);
        }
        awaitable(py, async move {
            let rows = rw.fetch().await.map_err(to_py_err)?.into_rows();
            Ok(rows_out(rows, None))
        })
    }

    /// `create`: `CREATE TABLE` from column specs `[(name, sql_type, not_null, default_sql)]`,
    /// a primary key, foreign keys `{col: (table, col)}`; returns nothing (the Python side
    /// refreshes and hands out the table).
    #[pyo3(signature = (name, columns, pk, foreign_keys=None, if_not_exists=false, replace=false))]
    #[allow(clippy::too_many_arguments)]
    fn create<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        columns: Vec<(String, String, bool, Option<String>)>,
        pk: Vec<String>,
        foreign_keys: Option<Bound<'py, PyDict>>,
        if_not_exists: bool,
        replace: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut spec = fastasyncpg::TableSchema::new(name);
        for (col, ty, not_null, default) in &columns {
            let mut c = fastasyncpg::ColumnDef::new(col, ty);
            if *not_null {
                c = c.not_null();
            }
            if let Some(d) = default {
                c = c.default_sql(d);
            }
            spec = spec.column(c);
        }
        let pk_refs: Vec<&str> = pk.iter().map(String::as_str).collect();
        if !pk_refs.is_empty() {
            spec = spec.primary_key(&pk_refs);
        }
        if let Some(fks) = foreign_keys {
            for (k, v) in fks.iter() {
                let col: String = k.extract()?;
                let (rt, rc): (String, String) = v.extract().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "foreign_keys[{col:?}] must be a (table, column) tuple"
                    ))
                })?;
                spec = spec.references(&col, &rt, &rc);
            }
        }
        if if_not_exists {
            spec = spec.if_not_exists();
        }
        if replace {
            spec = spec.replace();
        }
        let db = self.db.clone();
        awaitable(py, async move {
            db.create_from_schema(&spec).await.map_err(to_py_err)?;
            Ok(Out::none())
        })
    }
}

/// `conv_placeholders(sql, **kwargs)`: the core's conversion of `?` and `:name` to `$n`,
/// returning `(sql, args)`: the keyword values in the order of their `$n` (as the seed; the
/// positional placeholders keep their numbers for the caller's own arguments). A keyword that
/// no `:name` uses, or a `:name` without a keyword, is an error naming it.
#[pyfunction]
#[pyo3(signature = (sql, kwargs=None))]
pub(crate) fn conv_placeholders<'py>(
    py: Python<'py>,
    sql: &str,
    kwargs: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let plan = fastasyncpg::sql::placeholders::plan(sql).map_err(to_py_err)?;
    let kw = kwargs.unwrap_or_else(|| PyDict::new(py));
    let vals = PyList::empty(py);
    let mut used = Vec::new();
    for src in &plan.sources {
        if let fastasyncpg::sql::placeholders::ArgSource::Named(n) = src {
            let v = kw
                .get_item(n)?
                .or(kw.get_item(format!(":{n}"))?)
                .ok_or_else(|| {
                    new_err(
                        py,
                        "bind",
                        format!("placeholder :{n} has no keyword argument"),
                    )
                })?;
            vals.append(v)?;
            used.push(n.clone());
        }
    }
    for k in kw.keys() {
        let k: String = k.extract()?;
        if !used.iter().any(|u| *u == k || format!(":{u}") == k) {
            return Err(new_err(
                py,
                "bind",
                format!("keyword argument {k:?} is used by no :{k} placeholder"),
            ));
        }
    }
    PyTuple::new(
        py,
        [PyString::new(py, &plan.sql).into_any(), vals.into_any()],
    )
}
