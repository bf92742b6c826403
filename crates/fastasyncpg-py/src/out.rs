//! Awaitables: a Rust future on the shared tokio runtime whose result becomes a Python object
//! only when it is handed to the event loop (one GIL acquisition per call).

use std::future::Future;

use pyo3::prelude::*;

/// A result to be converted to Python once the GIL is held.
pub(crate) struct Out(Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>);

impl Out {
    /// A result built by `f` under the GIL.
    pub(crate) fn new(
        f: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send + 'static,
    ) -> Out {
        Out(Box::new(f))
    }

    /// `None`.
    pub(crate) fn none() -> Out {
        Out::new(|py| Ok(py.None().into_bound(py)))
    }
}

impl<'py> IntoPyObject<'py> for Out {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (self.0)(py)
    }
}

/// `fut` as an asyncio awaitable. Cancelling the awaiting task drops `fut`, which cancels a
/// running query on the server and rolls back a transaction it held.
pub(crate) fn awaitable<'py>(
    py: Python<'py>,
    fut: impl Future<Output = PyResult<Out>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, fut)
}
