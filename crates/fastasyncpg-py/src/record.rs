//! `FRecord`: a result row readable by attribute (`r.name`), by key (`r['name']`), by position
//! (`r[0]`, slices) and as a mapping (`dict(r)`, `Cls(**r)`), shown as `<FRecord a=1 b='x'>` and
//! as an HTML table in notebooks — asyncpg's `Record` with the seed's additions.

use std::sync::Arc;

use pyo3::exceptions::{PyAttributeError, PyIndexError, PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PySlice, PyString, PyTuple};

/// Column names shared by every row of one result.
pub(crate) type Names = Arc<Vec<String>>;

/// A result row (the seed's `FRecord`).
#[pyclass(module = "fastasyncpg", name = "FRecord", frozen, sequence)]
pub struct FRecord {
    names: Names,
    values: Vec<Py<PyAny>>,
}

impl FRecord {
    pub(crate) fn new(names: Names, values: Vec<Py<PyAny>>) -> FRecord {
        FRecord { names, values }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// (name, value) pairs.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &Py<PyAny>)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[pymethods]
impl FRecord {
    fn __len__(&self) -> usize {
        self.values.len()
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(s) = key.cast::<PyString>() {
            let name = crate::convert::utf8(s)?;
            return match self.index_of(name) {
                Some(i) => Ok(self.values[i].bind(py).clone()),
                None => Err(PyKeyError::new_err(name.to_owned())),
            };
        }
        if let Ok(sl) = key.cast::<PySlice>() {
            let t = PyTuple::new(py, self.values.iter().map(|v| v.bind(py)))?;
            return t.as_any().get_item(sl);
        }
        let i: isize = key
            .extract()
            .map_err(|_| PyTypeError::new_err("record index must be an int, a str or a slice"))?;
        let n = self.values.len() as isize;
        let j = if i < 0 { i + n } else { i };
        if j < 0 || j >= n {
            return Err(PyIndexError::new_err("record index out of range"));
        }
        Ok(self.values[j as usize].bind(py).clone())
    }

    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.index_of(name) {
            Some(i) => Ok(self.values[i].bind(py).clone()),
            None => Err(PyAttributeError::new_err(format!(
                "record has no column {name:?} (columns: {})",
                self.names.join(", ")
            ))),
        }
    }

    fn __contains__(&self, name: &Bound<'_, PyAny>) -> bool {
        name.extract::<String>()
            .ok()
            .is_some_and(|n| self.index_of(&n).is_some())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyTuple::new(py, self.values.iter().map(|v| v.bind(py)))?
            .as_any()
            .try_iter()
            .map(Bound::into_any)
    }

    fn __dir__(&self) -> Vec<String> {
        let mut d: Vec<String> = self.names.to_vec();
        d.extend(["keys", "values", "items", "get"].map(String::from));
        d
    }

    /// The column names.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.names.iter())
    }

    /// The values, in column order.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.values.iter().map(|v| v.bind(py)))
    }

    /// (name, value) pairs.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.pairs().map(|(n, v)| (n, v.bind(py))))
    }

    /// The value of column `key`, or `default`.
    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> Bound<'py, PyAny> {
        match self.index_of(key) {
            Some(i) => self.values[i].bind(py).clone(),
            None => default.unwrap_or_else(|| py.None().into_bound(py)),
        }
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let mine = PyTuple::new(py, self.values.iter().map(|v| v.bind(py)))?;
        if let Ok(o) = other.cast::<FRecord>() {
            let o = o.get();
            let theirs = PyTuple::new(py, o.values.iter().map(|v| v.bind(py)))?;
            return Ok(self.names == o.names && mine.eq(theirs)?);
        }
        if other.cast::<PyTuple>().is_ok() {
            return mine.eq(other);
        }
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut s = String::from("<FRecord");
        for (n, v) in self.pairs() {
            s.push(' ');
            s.push_str(n);
            s.push('=');
            s.push_str(&v.bind(py).repr()?.to_string());
        }
        s.push('>');
        Ok(s)
    }

    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        let mut s = String::from("<table><thead><tr>");
        for n in self.names.iter() {
            s.push_str(&format!("<th>{}</th>", escape(n)));
        }
        s.push_str("</tr></thead><tbody><tr>");
        for v in &self.values {
            let v = v.bind(py);
            let text = if v.is_none() {
                String::new()
            } else {
                v.str()?.to_string()
            };
            s.push_str(&format!("<td>{}</td>", escape(&text)));
        }
        s.push_str("</tr></tbody></table>");
        Ok(s)
    }
}
