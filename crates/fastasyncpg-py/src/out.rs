//! Awaitables: a Rust future on the package's tokio runtime, handed to Python as an
//! `asyncio.Future` of the running loop.
//!
//! Per call: the future is spawned on the runtime (the GIL is not held while it runs); when it
//! finishes, the worker thread takes the GIL once, converts the result and schedules
//! `set_result` on the loop with `call_soon_threadsafe` (which wakes the loop). Cancelling the
//! asyncio future (a cancelled task, `wait_for` timing out, Ctrl-C in a notebook) drops the Rust
//! future, which cancels a running query on the server and rolls back a transaction it held.
//!
//! This is hand-written rather than `pyo3-async-runtimes`' `future_into_py` because that one
//! hops through a blocking thread and two spawns per call: measured on `fetchval`, 127 µs per
//! call against 32 µs for asyncpg on uvloop; most of the difference was those hops.

use std::future::Future;
use std::sync::{Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// Builds a Python object under the GIL.
type Convert = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

/// A result to be converted to Python once the GIL is held.
pub(crate) struct Out(Convert);

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

/// The runtime every call runs on: `FASTASYNCPG_THREADS` worker threads (default 1: the
/// driver work per query is small, and one worker avoids cross-thread wake-ups between them).
pub(crate) fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let n = std::env::var("FASTASYNCPG_THREADS")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .thread_name("fastasyncpg")
            .enable_all()
            .build()
            .expect("cannot start the fastasyncpg runtime")
    })
}

struct Fns {
    get_running_loop: Py<PyAny>,
    resolve: Py<PyAny>,
}

static FNS: PyOnceLock<Fns> = PyOnceLock::new();

fn fns(py: Python<'_>) -> PyResult<&Fns> {
    FNS.get_or_try_init(py, || {
        Ok(Fns {
            get_running_loop: py.import("asyncio")?.getattr("get_running_loop")?.unbind(),
            resolve: PyCFunction::new_closure(py, None, None, resolve)?
                .into_any()
                .unbind(),
        })
    })
}

/// `resolve(fut, ok, value)` on the loop's thread: sets the result (or the exception) unless the
/// future was cancelled meanwhile.
fn resolve(
    args: &Bound<'_, pyo3::types::PyTuple>,
    _kw: Option<&Bound<'_, pyo3::types::PyDict>>,
) -> PyResult<()> {
    let fut = args.get_item(0)?;
    let py = args.py();
    if fut.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    let ok: bool = args.get_item(1)?.extract()?;
    let v = args.get_item(2)?;
    if ok {
        fut.call_method1(pyo3::intern!(py, "set_result"), (v,))?;
    } else {
        fut.call_method1(pyo3::intern!(py, "set_exception"), (v,))?;
    }
    Ok(())
}

/// The done-callback of the asyncio future: tells the Rust side when it was cancelled.
#[pyclass(frozen)]
struct OnDone {
    tx: Mutex<Option<oneshot::Sender<()>>>,
}

#[pymethods]
impl OnDone {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut
            .call_method0(pyo3::intern!(fut.py(), "cancelled"))?
            .is_truthy()?
        {
            if let Some(tx) = self.tx.lock().ok().and_then(|mut g| g.take()) {
                let _ = tx.send(());
            }
        }
        Ok(())
    }
}

/// `fut` as an awaitable of the running asyncio loop (see the module docs).
pub(crate) fn awaitable<'py>(
    py: Python<'py>,
    fut: impl Future<Output = PyResult<Out>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>> {
    let f = fns(py)?;
    let event_loop = f.get_running_loop.bind(py).call0()?;
    let py_fut = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let (tx, rx) = oneshot::channel::<()>();
    py_fut.call_method1(
        pyo3::intern!(py, "add_done_callback"),
        (OnDone {
            tx: Mutex::new(Some(tx)),
        },),
    )?;
    let event_loop = event_loop.unbind();
    let target = py_fut.clone().unbind();
    runtime().spawn(async move {
        let r = tokio::select! {
            biased;
            _ = rx => return, // cancelled: dropping `fut` cancels its query
            r = fut => r,
        };
        Python::attach(|py| {
            let (ok, value) = match r.and_then(|out| (out.0)(py)) {
                Ok(v) => (true, v),
                Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
            };
            let Ok(f) = fns(py) else { return };
            let _ = event_loop.bind(py).call_method1(
                pyo3::intern!(py, "call_soon_threadsafe"),
                (f.resolve.bind(py), target.bind(py), ok, value),
            );
        });
    });
    Ok(py_fut)
}
