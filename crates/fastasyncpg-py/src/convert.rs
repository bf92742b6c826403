//! Values between Python and the core: asyncpg's type table in both directions.
//!
//! Python → [`Value`]: `None`, `bool`, `int` (beyond 64 bits: `numeric`), `float`, `str`,
//! `bytes`/`bytearray`/`memoryview`, `decimal.Decimal`, `datetime` (aware → `timestamptz`),
//! `date`, `time`, `timedelta`, `uuid.UUID`, `dict` (→ `jsonb`), `list`/`tuple` (→ arrays,
//! nested lists → multi-dimensional), `ipaddress` objects, `enum.Enum` (its value) and
//! [`Range`](crate) objects. The core then coerces each value to its parameter's type (an `int`
//! to `integer`, a `str` to `date`…) and names the parameter when it cannot.
//!
//! [`Value`] → Python: the same types back; `json`/`jsonb` decoded; `inet` → `ipaddress`
//! interface/address, `cidr` → network; arrays → (nested) lists; ranges → `Range`; composites →
//! records; `money`, bit strings, geometry and other text-like types → `str`; a type the core
//! does not decode → `bytes`.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use fastasyncpg::value::{Array, Numeric, Range, RangeBound};
use fastasyncpg::{Row, Value};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
    PyType,
};
use tokio_postgres::types::Type;

use crate::record::{FRecord, Names};

/// Python classes looked up once.
struct Classes {
    decimal: Py<PyType>,
    uuid: Py<PyType>,
    datetime: Py<PyType>,
    date: Py<PyType>,
    time: Py<PyType>,
    timedelta: Py<PyType>,
    enum_: Py<PyType>,
    ip_address: Py<PyAny>,
    ip_interface: Py<PyAny>,
    ip_network: Py<PyAny>,
    ipv4_address: Py<PyType>,
    ipv6_address: Py<PyType>,
    ipv4_interface: Py<PyType>,
    ipv6_interface: Py<PyType>,
    ipv4_network: Py<PyType>,
    ipv6_network: Py<PyType>,
    json_loads: Py<PyAny>,
    json_dumps: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();
/// The package's `Range` class (registered by `fastasyncpg/__init__.py`).
pub(crate) static RANGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let get =
            |m: &str, n: &str| -> PyResult<Py<PyAny>> { Ok(py.import(m)?.getattr(n)?.unbind()) };
        let ty = |m: &str, n: &str| -> PyResult<Py<PyType>> {
            Ok(py.import(m)?.getattr(n)?.cast_into::<PyType>()?.unbind())
        };
        Ok(Classes {
            decimal: ty("decimal", "Decimal")?,
            uuid: ty("uuid", "UUID")?,
            datetime: ty("datetime", "datetime")?,
            date: ty("datetime", "date")?,
            time: ty("datetime", "time")?,
            timedelta: ty("datetime", "timedelta")?,
            enum_: ty("enum", "Enum")?,
            ip_address: get("ipaddress", "ip_address")?,
            ip_interface: get("ipaddress", "ip_interface")?,
            ip_network: get("ipaddress", "ip_network")?,
            ipv4_address: ty("ipaddress", "IPv4Address")?,
            ipv6_address: ty("ipaddress", "IPv6Address")?,
            ipv4_interface: ty("ipaddress", "IPv4Interface")?,
            ipv6_interface: ty("ipaddress", "IPv6Interface")?,
            ipv4_network: ty("ipaddress", "IPv4Network")?,
            ipv6_network: ty("ipaddress", "IPv6Network")?,
            json_loads: get("json", "loads")?,
            json_dumps: get("json", "dumps")?,
        })
    })
}

/// Converts one Python argument; `what` names it in errors (`argument 2`, `column "name"`).
pub(crate) fn to_value(v: &Bound<'_, PyAny>, what: &dyn Fn() -> String) -> PyResult<Value> {
    let py = v.py();
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = v.cast::<PyString>() {
        let text = utf8(s).map_err(|e| PyValueError::new_err(format!("{}: {e}", what())))?;
        return Ok(Value::Text(text.to_owned()));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.cast::<PyInt>().is_ok() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Value::Int8(i));
        }
        let s = v.str()?.to_string();
        return s
            .parse::<Numeric>()
            .map(Value::Numeric)
            .map_err(|e| PyOverflowError::new_err(format!("{}: {e}", what())));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Float8(f.value()));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Value::Bytea(b.as_bytes().to_vec()));
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(Value::Bytea(b.to_vec()));
    }
    if v.cast::<PyMemoryView>().is_ok() {
        let b: Vec<u8> = py
            .import("builtins")?
            .getattr("bytes")?
            .call1((v,))?
            .extract()?;
        return Ok(Value::Bytea(b));
    }
    let c = classes(py)?;
    if v.is_instance(c.decimal.bind(py))? {
        let s = v.str()?.to_string();
        let s = match s.as_str() {
            "sNaN" | "-NaN" | "-sNaN" => "NaN".to_string(),
            _ => s,
        };
        return s
            .parse::<Numeric>()
            .map(Value::Numeric)
            .map_err(|e| PyTypeError::new_err(format!("{}: {e}", what())));
    }
    // datetime before date: a datetime is a date.
    if v.is_instance(c.datetime.bind(py))? {
        if v.getattr("tzinfo")?.is_none() {
            let t: NaiveDateTime = v.extract()?;
            return Ok(Value::Timestamp(t.into()));
        }
        let t: DateTime<FixedOffset> = v.extract()?;
        return Ok(Value::TimestampTz(t.into()));
    }
    if v.is_instance(c.date.bind(py))? {
        let d: NaiveDate = v.extract()?;
        return Ok(Value::Date(d.into()));
    }
    if v.is_instance(c.time.bind(py))? {
        if !v.getattr("tzinfo")?.is_none() {
            // time with time zone: let the server parse its ISO form.
            let s: String = v.call_method0("isoformat")?.extract()?;
            return Ok(Value::Literal(s));
        }
        let t: NaiveTime = v.extract()?;
        return Ok(Value::Time(t.into()));
    }
    if v.is_instance(c.timedelta.bind(py))? {
        let d: TimeDelta = v.extract()?;
        let micros = d
            .num_microseconds()
            .ok_or_else(|| PyOverflowError::new_err(format!("{}: interval too large", what())))?;
        return Ok(Value::Interval(fastasyncpg::value::Interval::from_micros(
            micros,
        )));
    }
    if v.is_instance(c.uuid.bind(py))? {
        let b: Vec<u8> = v.getattr("bytes")?.extract()?;
        let u = uuid::Uuid::from_slice(&b).map_err(|e| PyTypeError::new_err(e.to_string()))?;
        return Ok(Value::Uuid(u));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        return json_value(c, d.as_any(), true);
    }
    if let Ok(l) = v.cast::<PyList>() {
        return array(l.iter(), what);
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        return array(t.iter(), what);
    }
    if v.is_instance(c.enum_.bind(py))? {
        return to_value(&v.getattr("value")?, what);
    }
    for (ty, network) in [
        (&c.ipv4_address, false),
        (&c.ipv6_address, false),
        (&c.ipv4_interface, false),
        (&c.ipv6_interface, false),
        (&c.ipv4_network, true),
        (&c.ipv6_network, true),
    ] {
        if v.is_instance(ty.bind(py))? {
            let s = v.str()?.to_string();
            let inet = s
                .parse()
                .map_err(|e| PyTypeError::new_err(format!("{}: {e}", what())))?;
            return Ok(if network {
                Value::Cidr(inet)
            } else {
                Value::Inet(inet)
            });
        }
    }
    if let Some(range) = RANGE.get(py) {
        if v.is_instance(range.bind(py))? {
            return range_value(v, what);
        }
    }
    // Any other mapping (a record, a custom Mapping) goes as JSON when it serialises.
    if v.hasattr("keys")? && v.hasattr("__getitem__")? {
        let d = PyDict::new(py);
        for k in v.call_method0("keys")?.try_iter()? {
            let k = k?;
            d.set_item(&k, v.get_item(&k)?)?;
        }
        return json_value(c, d.as_any(), true);
    }
    Err(PyTypeError::new_err(format!(
        "{}: cannot send a Python {} to PostgreSQL",
        what(),
        v.get_type().name()?
    )))
}

fn json_value(c: &Classes, v: &Bound<'_, PyAny>, binary: bool) -> PyResult<Value> {
    let s: String = c.json_dumps.bind(v.py()).call1((v,))?.extract()?;
    let j: serde_json::Value =
        serde_json::from_str(&s).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    Ok(if binary {
        Value::Jsonb(j)
    } else {
        Value::Json(j)
    })
}

fn array<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    what: &dyn Fn() -> String,
) -> PyResult<Value> {
    let mut vals = Vec::new();
    let mut nested = false;
    for (i, it) in items.enumerate() {
        let item_what = || format!("{} element {}", what(), i + 1);
        let v = to_value(&it, &item_what)?;
        nested |= matches!(v, Value::Array(_));
        vals.push(v);
    }
    Ok(Value::Array(if nested {
        Array::from_rows(vals)
    } else {
        Array::from_vec(vals)
    }))
}

fn range_value(v: &Bound<'_, PyAny>, what: &dyn Fn() -> String) -> PyResult<Value> {
    if v.getattr("isempty")?.is_truthy()? {
        return Ok(Value::Range(Range::Empty));
    }
    let bound = |name: &str, inc: &str| -> PyResult<RangeBound> {
        let b = v.getattr(name)?;
        if b.is_none() {
            return Ok(RangeBound::Unbounded);
        }
        let val = Box::new(to_value(&b, what)?);
        Ok(if v.getattr(inc)?.is_truthy()? {
            RangeBound::Inclusive(val)
        } else {
            RangeBound::Exclusive(val)
        })
    };
    Ok(Value::Range(Range::Bounds {
        lower: bound("lower", "lower_inc")?,
        upper: bound("upper", "upper_inc")?,
    }))
}

/// Python arguments (`*args`) as positional values, each named by its number in errors.
pub(crate) fn args_values(args: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
    let mut out = Vec::new();
    for (i, a) in args.try_iter()?.enumerate() {
        out.push(to_value(&a?, &|| format!("argument {}", i + 1))?);
    }
    Ok(out)
}

/// One value as Python.
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int2(i) => i.into_pyobject(py)?.into_any(),
        Value::Int4(i) => i.into_pyobject(py)?.into_any(),
        Value::Int8(i) => i.into_pyobject(py)?.into_any(),
        Value::Oid(i) | Value::Xid(i) | Value::Cid(i) => i.into_pyobject(py)?.into_any(),
        Value::RegOid { oid, .. } => oid.into_pyobject(py)?.into_any(),
        Value::Xid8(i) => i.into_pyobject(py)?.into_any(),
        Value::Float4(f) => PyFloat::new(py, f64::from(*f)).into_any(),
        Value::Float8(f) => PyFloat::new(py, *f).into_any(),
        Value::Numeric(n) => classes(py)?.decimal.bind(py).call1((n.to_string(),))?,
        Value::Text(s) | Value::Literal(s) | Value::Xml(s) => PyString::new(py, s).into_any(),
        Value::TsVector(s) | Value::TsQuery(s) => PyString::new(py, s).into_any(),
        Value::Enum { label, .. } => PyString::new(py, label).into_any(),
        Value::Char(c) => PyString::new(py, &char::from(*c).to_string()).into_any(),
        Value::Bytea(b) => PyBytes::new(py, b).into_any(),
        Value::Date(d) => match d.to_naive() {
            Some(n) => n.into_pyobject(py)?.into_any(),
            None => infinite(py, &classes(py)?.date, &d.to_string())?,
        },
        Value::Time(t) => match t.to_naive() {
            Some(n) => n.into_pyobject(py)?.into_any(),
            None => PyString::new(py, &t.to_string()).into_any(),
        },
        Value::TimeTz(t) => match t.to_chrono() {
            Some((time, off)) => {
                let tz = off.into_pyobject(py)?;
                let naive = time.into_pyobject(py)?;
                naive.call_method("replace", (), Some(&[("tzinfo", tz)].into_py_dict(py)?))?
            }
            None => PyString::new(py, &t.to_string()).into_any(),
        },
        Value::Timestamp(t) => match t.to_naive() {
            Some(n) => n.into_pyobject(py)?.into_any(),
            None => infinite(py, &classes(py)?.datetime, &t.to_string())?,
        },
        Value::TimestampTz(t) => match t.to_utc() {
            Some(u) => u.into_pyobject(py)?.into_any(),
            None => {
                let dt = infinite(py, &classes(py)?.datetime, &t.to_string())?;
                let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
                dt.call_method("replace", (), Some(&[("tzinfo", utc)].into_py_dict(py)?))?
            }
        },
        Value::Interval(i) => {
            // asyncpg's mapping: a month is 30 days.
            let days = i64::from(i.months) * 30 + i64::from(i.days);
            let td = TimeDelta::try_days(days)
                .and_then(|d| d.checked_add(&TimeDelta::microseconds(i.microseconds)));
            match td {
                Some(td) => td.into_pyobject(py)?.into_any(),
                None => PyString::new(py, &i.to_string()).into_any(),
            }
        }
        Value::Uuid(u) => {
            let kw = [("bytes", PyBytes::new(py, u.as_bytes()))].into_py_dict(py)?;
            classes(py)?.uuid.bind(py).call((), Some(&kw))?
        }
        Value::Json(j) | Value::Jsonb(j) => {
            classes(py)?.json_loads.bind(py).call1((j.to_string(),))?
        }
        Value::Inet(i) => {
            let c = classes(py)?;
            if i.is_host() {
                c.ip_address.bind(py).call1((i.addr.to_string(),))?
            } else {
                c.ip_interface.bind(py).call1((i.to_string(),))?
            }
        }
        Value::Cidr(i) => classes(py)?
            .ip_network
            .bind(py)
            .call1((i.to_cidr_string(),))?,
        Value::Point(p) => PyTuple::new(py, [p.x, p.y])?.into_any(),
        Value::Array(a) => array_to_py(py, a)?,
        Value::Range(r) => range_to_py(py, r)?,
        Value::Multirange(rs) => {
            let l = PyList::empty(py);
            for r in rs {
                l.append(range_to_py(py, r)?)?;
            }
            l.into_any()
        }
        Value::Composite(c) => {
            let names: Names = Arc::new(c.fields.iter().map(|(n, _)| n.clone()).collect());
            let mut vals = Vec::with_capacity(c.fields.len());
            for (_, v) in &c.fields {
                vals.push(to_py(py, v)?.unbind());
            }
            Bound::new(py, FRecord::new(names, vals))?.into_any()
        }
        Value::Record(fields) => {
            let mut vals = Vec::with_capacity(fields.len());
            for v in fields {
                vals.push(to_py(py, v)?);
            }
            PyTuple::new(py, vals)?.into_any()
        }
        Value::Unknown { bytes, .. } => PyBytes::new(py, bytes).into_any(),
        // money, bit strings, geometry other than points, mac addresses, tid, pg_lsn: their
        // PostgreSQL text form.
        other => PyString::new(py, &other.to_string()).into_any(),
    })
}

/// `date.max`/`date.min` (and the datetime ones) for `infinity`/`-infinity`, as asyncpg.
fn infinite<'py>(py: Python<'py>, cls: &Py<PyType>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let attr = if text.starts_with('-') { "min" } else { "max" };
    cls.bind(py).getattr(attr)
}

fn array_to_py<'py>(py: Python<'py>, a: &Array) -> PyResult<Bound<'py, PyAny>> {
    let lens: Vec<usize> = a
        .dims()
        .iter()
        .map(|d| usize::try_from(d.len).unwrap_or(0))
        .collect();
    nested(py, &lens, a.elements())
}

/// Elements stored flat in row-major order as nested lists, one level per dimension.
fn nested<'py>(py: Python<'py>, lens: &[usize], elems: &[Value]) -> PyResult<Bound<'py, PyAny>> {
    let l = PyList::empty(py);
    match lens {
        [] | [_] => {
            for e in elems {
                l.append(to_py(py, e)?)?;
            }
        }
        [n, rest @ ..] => {
            let chunk = rest.iter().product::<usize>().max(1);
            for part in elems.chunks(chunk).take(*n) {
                l.append(nested(py, rest, part)?)?;
            }
        }
    }
    Ok(l.into_any())
}

fn range_to_py<'py>(py: Python<'py>, r: &Range) -> PyResult<Bound<'py, PyAny>> {
    let cls = RANGE
        .get(py)
        .ok_or_else(|| PyTypeError::new_err("fastasyncpg.Range is not registered"))?
        .bind(py);
    match r {
        Range::Empty => cls.call((), Some(&[("empty", true)].into_py_dict(py)?)),
        Range::Bounds { lower, upper } => {
            let b = |b: &RangeBound| -> PyResult<(Bound<'py, PyAny>, bool)> {
                Ok(match b {
                    RangeBound::Inclusive(v) => (to_py(py, v)?, true),
                    RangeBound::Exclusive(v) => (to_py(py, v)?, false),
                    RangeBound::Unbounded => (py.None().into_bound(py), false),
                })
            };
            let (lo, lo_inc) = b(lower)?;
            let (up, up_inc) = b(upper)?;
            let kw = PyDict::new(py);
            kw.set_item("lower_inc", lo_inc)?;
            kw.set_item("upper_inc", up_inc)?;
            cls.call((lo, up), Some(&kw))
        }
    }
}

/// How one result column becomes Python: a direct decode for the common types, the core's
/// [`Value`] for the rest.
#[derive(Clone, Copy)]
enum Fast {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Text,
    Other,
}

fn fast_kind(t: &Type) -> Fast {
    match *t {
        Type::BOOL => Fast::Bool,
        Type::INT2 => Fast::Int2,
        Type::INT4 => Fast::Int4,
        Type::INT8 => Fast::Int8,
        Type::FLOAT4 => Fast::Float4,
        Type::FLOAT8 => Fast::Float8,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Fast::Text,
        _ => Fast::Other,
    }
}

/// A column's bytes as the server sent them (text types: UTF-8).
struct RawBytes<'a>(&'a [u8]);

impl<'a> tokio_postgres::types::FromSql<'a> for RawBytes<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawBytes(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A Python `str` from UTF-8 bytes, validated once (by Python's decoder).
fn text_from_utf8<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = pyo3::ffi::Py_ssize_t::try_from(b.len())
        .map_err(|_| PyOverflowError::new_err("text value too long"))?;
    // SAFETY: the pointer and length describe `b`, alive for the call; the result is a new
    // reference or NULL with an exception set, which `from_owned_ptr_or_err` handles.
    unsafe {
        let p = pyo3::ffi::PyUnicode_DecodeUTF8(b.as_ptr().cast(), len, c"strict".as_ptr());
        Bound::from_owned_ptr_or_err(py, p)
    }
}

/// Converts rows that share one column set, decoding column by column with the plan made once.
pub(crate) struct RowConverter {
    names: Names,
    plan: Vec<Fast>,
}

fn dec(e: impl std::fmt::Display) -> PyErr {
    PyTypeError::new_err(format!("cannot decode a column: {e}"))
}

impl RowConverter {
    /// The plan for rows like `first`.
    pub(crate) fn new(first: &Row) -> RowConverter {
        let cols = first.columns();
        RowConverter {
            names: Arc::new(cols.names().to_vec()),
            plan: cols.types().iter().map(fast_kind).collect(),
        }
    }

    /// One column of `row` as Python.
    pub(crate) fn value<'py>(
        &self,
        py: Python<'py>,
        row: &Row,
        i: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let raw = row.raw();
        macro_rules! get {
            ($t:ty) => {
                match raw.try_get::<_, Option<$t>>(i).map_err(dec)? {
                    Some(v) => v.into_pyobject(py)?.into_any(),
                    None => py.None().into_bound(py),
                }
            };
        }
        Ok(match self.plan[i] {
            Fast::Bool => match raw.try_get::<_, Option<bool>>(i).map_err(dec)? {
                Some(b) => PyBool::new(py, b).to_owned().into_any(),
                None => py.None().into_bound(py),
            },
            Fast::Int2 => get!(i16),
            Fast::Int4 => get!(i32),
            Fast::Int8 => get!(i64),
            Fast::Float4 => match raw.try_get::<_, Option<f32>>(i).map_err(dec)? {
                Some(f) => PyFloat::new(py, f64::from(f)).into_any(),
                None => py.None().into_bound(py),
            },
            Fast::Float8 => get!(f64),
            Fast::Text => match raw.try_get::<_, Option<RawBytes<'_>>>(i).map_err(dec)? {
                Some(RawBytes(b)) => text_from_utf8(py, b)?,
                None => py.None().into_bound(py),
            },
            Fast::Other => to_py(py, &row.value(i).map_err(crate::errors::to_py_err)?)?,
        })
    }

    /// The row's values, in column order.
    pub(crate) fn values(&self, py: Python<'_>, row: &Row) -> PyResult<Vec<Py<PyAny>>> {
        (0..self.plan.len())
            .map(|i| self.value(py, row, i).map(Bound::unbind))
            .collect()
    }

    /// The row as an `FRecord`.
    pub(crate) fn record<'py>(&self, py: Python<'py>, row: &Row) -> PyResult<Bound<'py, PyAny>> {
        let rec = Bound::new(py, FRecord::new(self.names.clone(), self.values(py, row)?))?;
        // A record is immutable and its values come from the server (numbers, strings, decoded
        // JSON…), none of which can refer back to it: it can never be part of a reference cycle,
        // so the cycle collector need not track it (CPython does the same for tuples of atomic
        // values). Profiled on 10,000-row fetches: tracking cost ~10% of the conversion.
        // SAFETY: `rec` is a live GC object created just above; untracking only removes it from
        // the collector's lists.
        unsafe { pyo3::ffi::PyObject_GC_UnTrack(rec.as_ptr().cast()) };
        Ok(rec.into_any())
    }

    /// The row as `cls(**row)` (a dataclass), or an `FRecord` when `cls` is `None`.
    pub(crate) fn object<'py>(
        &self,
        py: Python<'py>,
        row: &Row,
        cls: Option<&Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match cls {
            None => self.record(py, row),
            Some(cls) => {
                let kw = PyDict::new(py);
                for (i, name) in self.names.iter().enumerate() {
                    kw.set_item(name, self.value(py, row, i)?)?;
                }
                cls.bind(py).call((), Some(&kw))
            }
        }
    }
}

/// Rows as a Python list of records (or of `cls` instances).
pub(crate) fn rows_to_list<'py>(
    py: Python<'py>,
    rows: &[Row],
    cls: Option<&Py<PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let Some(first) = rows.first() else {
        return Ok(PyList::empty(py));
    };
    let conv = RowConverter::new(first);
    let objs: PyResult<Vec<Bound<'py, PyAny>>> =
        rows.iter().map(|r| conv.object(py, r, cls)).collect();
    PyList::new(py, objs?)
}

use pyo3::types::IntoPyDict;

extern "C" {
    // In every CPython since 3.3 and in the stable ABI from 3.10; the abi3-py39 build of the
    // FFI crate leaves it out, so it is declared here.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

/// A `str`'s text as UTF-8, borrowed from the object (CPython keeps the UTF-8 form of a
/// string once asked, and an ASCII string's data is its UTF-8). `to_cow` on the abi3-py39
/// build encodes into a new `bytes` object and copies it: in callgrind of 100,000 dict rows,
/// ~280 instructions a string.
pub(crate) fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    let mut n: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live `str` (the GIL is held through `Bound`); the buffer belongs to
    // the object and lives as long as the borrow of `s`.
    unsafe {
        let p = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut n);
        if p.is_null() {
            return Err(PyErr::fetch(s.py()));
        }
        let bytes = std::slice::from_raw_parts(p.cast::<u8>(), n as usize);
        // CPython's UTF-8 form is valid UTF-8 (lone surrogates fail above).
        Ok(std::str::from_utf8_unchecked(bytes))
    }
}
