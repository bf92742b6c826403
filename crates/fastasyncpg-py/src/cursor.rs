//! `_native.Cursor`: the core's cursor (server-side inside a transaction, streamed outside),
//! read in batches by the Python `Cursor` iterator.

use std::sync::Arc;

use fastasyncpg::Cursor;
use pyo3::prelude::*;
use tokio::sync::Mutex;

use crate::convert::rows_to_list;
use crate::errors::to_py_err;
use crate::out::{awaitable, Out};

/// An open cursor.
#[pyclass(module = "fastasyncpg._native", name = "Cursor", frozen)]
pub struct PyCursor {
    inner: Arc<Mutex<Option<Cursor>>>,
}

impl PyCursor {
    pub(crate) fn new(c: Cursor) -> PyCursor {
        PyCursor {
            inner: Arc::new(Mutex::new(Some(c))),
        }
    }
}

#[pymethods]
impl PyCursor {
    /// The next `n` rows (fewer at the end, none after it), as records.
    fn fetch<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        awaitable(py, async move {
            let mut g = inner.lock().await;
            let rows = match g.as_mut() {
                Some(c) => c.fetch(n).await.map_err(to_py_err)?,
                None => Vec::new(),
            };
            Ok(Out::new(move |py| {
                Ok(rows_to_list(py, &rows, None)?.into_any())
            }))
        })
    }

    /// Skips `n` rows; returns how many were skipped.
    fn forward<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        awaitable(py, async move {
            let mut g = inner.lock().await;
            let k = match g.as_mut() {
                Some(c) => c.forward(n).await.map_err(to_py_err)?,
                None => 0,
            };
            Ok(Out::new(move |py| Ok(k.into_pyobject(py)?.into_any())))
        })
    }

    /// Closes the cursor (also done when it is dropped).
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        awaitable(py, async move {
            let c = inner.lock().await.take();
            if let Some(c) = c {
                c.close().await.map_err(to_py_err)?;
            }
            Ok(Out::none())
        })
    }
}
