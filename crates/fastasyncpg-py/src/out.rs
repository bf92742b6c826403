//! Awaitables: a Rust future on the package's tokio runtime, handed to Python as an
//! `asyncio.Future` of the running loop.
//!
//! Two ways of driving the runtime:
//!
//! - **On the asyncio loop** (the default on Linux): a current-thread tokio runtime run by the
//!   thread of the asyncio loop itself, as asyncpg's protocol runs on the loop. The runtime's
//!   epoll descriptor is registered with the loop (`add_reader`); whenever a socket of ours is
//!   ready (or a task is woken from another thread), the loop calls [`tick`], which runs the
//!   runtime until it has nothing left to do and returns without blocking. A call spawns its
//!   future and ticks at once (the query is written before `await` returns control), and its
//!   result is set on the asyncio future directly, in the same thread. No thread hand-off: the
//!   profile of the threaded mode showed two context switches per call (loop → worker, worker →
//!   loop) as most of the difference to asyncpg on `fetchval`. While a call is pending, the
//!   loop also ticks every [`TIMER_TICK`] so that tokio timers (statement, connect and pool
//!   timeouts) fire even when no socket becomes ready.
//! - **On worker threads** (`FASTASYNCPG_THREADS=N`, or where the first mode is not available):
//!   a multi-thread runtime with N workers; when a future finishes, the worker takes the GIL,
//!   converts the result and schedules `set_result` on the loop with `call_soon_threadsafe`.
//!
//! Either way, cancelling the asyncio future (a cancelled task, `wait_for` timing out, Ctrl-C
//! in a notebook) drops the Rust future, which cancels a running query on the server and rolls
//! back a transaction it held.
//!
//! This is hand-written rather than `pyo3-async-runtimes`' `future_into_py` because that one
//! hops through a blocking thread and two spawns per call: measured on `fetchval`, 127 µs per
//! call against 32 µs for asyncpg on uvloop; most of the difference was those hops.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

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

/// How often the loop ticks the runtime while a call is pending, for tokio's timers.
const TIMER_TICK: f64 = 0.01;

/// Runs of the scheduler in one [`tick`] before it returns to the loop (and schedules itself
/// again), so that one long result cannot starve the loop's other callbacks.
const MAX_ROUNDS: usize = 256;

/// The runtime and how it is driven (see the module docs).
enum Driver {
    /// A current-thread runtime ticked by the asyncio loop; `epoll` is its I/O descriptor.
    Loop { rt: Runtime, epoll: i32 },
    /// A multi-thread runtime.
    Threads(Runtime),
}

fn driver() -> &'static Driver {
    static D: OnceLock<Driver> = OnceLock::new();
    D.get_or_init(|| {
        let threads = std::env::var("FASTASYNCPG_THREADS")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| *n > 0);
        if threads.is_none() {
            if let Some(d) = loop_driver() {
                return d;
            }
        }
        Driver::Threads(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.unwrap_or(1))
                .thread_name("fastasyncpg")
                .enable_all()
                .build()
                .expect("cannot start the fastasyncpg runtime"),
        )
    })
}

/// How calls are driven: `"loop"` (the runtime runs on the asyncio loop's thread) or
/// `"threads"` (worker threads); see the module docs.
#[pyfunction]
pub(crate) fn driver_mode() -> &'static str {
    match driver() {
        Driver::Loop { .. } => "loop",
        Driver::Threads(_) if cfg!(tokio_unstable) => "threads",
        Driver::Threads(_) => "threads (built without tokio_unstable)",
    }
}

/// The epoll descriptors this process has open.
#[cfg(all(target_os = "linux", tokio_unstable))]
fn epoll_fds() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let target = std::fs::read_link(e.path()).ok()?;
        (target.to_str()? == "anon_inode:[eventpoll]")
            .then(|| e.file_name().to_str()?.parse().ok())
            .flatten()
    })
    .collect()
}

/// A current-thread runtime and its epoll descriptor: the one that building it opened. `None`
/// when that cannot be told (then the threaded mode is used).
#[cfg(all(target_os = "linux", tokio_unstable))]
fn loop_driver() -> Option<Driver> {
    let before = epoll_fds();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let new: Vec<i32> = epoll_fds()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect();
    // tokio keeps a clone of its registry: a `dup` of the same epoll instance, which lists the
    // same registrations (its eventfd waker) in /proc/self/fdinfo.
    let regs = |fd: &i32| {
        std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
            .ok()
            .map(|s| {
                s.lines()
                    .filter(|l| l.starts_with("tfd:"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
    };
    let first = *new.first()?;
    let same = regs(&first).filter(|r| !r.is_empty());
    (same.is_some() && new.iter().all(|fd| regs(fd) == same))
        .then_some(Driver::Loop { rt, epoll: first })
}

/// Without tokio's queue-depth metric (`--cfg tokio_unstable`, set in `.cargo/config.toml`) a
/// tick cannot tell when the runtime has run out of work: the threaded mode is used.
#[cfg(not(all(target_os = "linux", tokio_unstable)))]
fn loop_driver() -> Option<Driver> {
    None
}

/// Whether a tick is running (on any thread): a nested or concurrent tick returns at once and
/// the running one picks the new work up (it runs until no task is runnable).
static TICKING: AtomicBool = AtomicBool::new(false);

/// Calls not yet finished in the loop mode; the timer ticks while there are any.
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Decrements [`PENDING`] when the call's task ends (finished, cancelled or dropped).
struct PendingGuard;

impl Drop for PendingGuard {
    fn drop(&mut self) {
        PENDING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Clears [`TICKING`] when a tick ends, also by unwinding.
struct TickGuard;

impl Drop for TickGuard {
    fn drop(&mut self) {
        TICKING.store(false, Ordering::Release);
    }
}

/// Runs the scheduler until no task is runnable and the last look at the I/O and timer drivers
/// found nothing new. `yield_now` inside `block_on` defers the wake-up until the scheduler has
/// run every ready task and polled the drivers without blocking, so each round is: run what is
/// ready, poll the drivers once; the queue-depth metric then tells whether that poll made work.
/// Returns `true` when it stopped after [`MAX_ROUNDS`] with work left.
async fn quiesce(m: tokio::runtime::RuntimeMetrics) -> bool {
    for _ in 0..MAX_ROUNDS {
        tokio::task::yield_now().await;
        if queue_empty(&m) {
            return false;
        }
    }
    true
}

#[cfg(tokio_unstable)]
fn queue_empty(m: &tokio::runtime::RuntimeMetrics) -> bool {
    m.worker_local_queue_depth(0) == 0 && m.global_queue_depth() == 0
}

#[cfg(not(tokio_unstable))]
fn queue_empty(_: &tokio::runtime::RuntimeMetrics) -> bool {
    unreachable!("the loop mode needs tokio_unstable")
}

/// One tick of the loop-mode runtime on the calling thread (the loop's), spawning `task` first
/// when given. Schedules another tick with `call_soon` when it stopped with work left.
fn tick(py: Python<'_>, rt: &Runtime, task: Option<Task>) -> PyResult<()> {
    if TICKING.swap(true, Ordering::AcqRel) {
        // Nested in a tick of this thread (Python code run by a task) or beside one of another
        // thread: the running tick sees the new task in its queue.
        if let Some(task) = task {
            drop(rt.spawn(task));
        }
        return Ok(());
    }
    let more = {
        let _reset = TickGuard;
        let m = rt.metrics();
        rt.block_on(async move {
            if let Some(task) = task {
                drop(tokio::spawn(task));
            }
            quiesce(m).await
        })
    };
    if more {
        let f = fns(py)?;
        f.get_running_loop
            .bind(py)
            .call0()?
            .call_method1(pyo3::intern!(py, "call_soon"), (f.tick.bind(py),))?;
    }
    Ok(())
}

/// A call's future, boxed for spawning.
type Task = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The loop's reader callback (the runtime's epoll descriptor is ready) and the `call_soon`
/// continuation of a tick that stopped early.
fn on_ready(py: Python<'_>) -> PyResult<()> {
    if let Driver::Loop { rt, .. } = driver() {
        tick(py, rt, None)?;
    }
    Ok(())
}

/// A loop the runtime's descriptor is registered with, and whether its timer is armed.
struct Registered {
    event_loop: Py<PyAny>,
    timer: bool,
}

/// The loops the descriptor is registered with (usually one; a new loop per `asyncio.run`).
static LOOPS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

fn loops() -> std::sync::MutexGuard<'static, Vec<Registered>> {
    LOOPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on the registry entry of `event_loop`, if it has one.
fn with_entry<R>(event_loop: &Bound<'_, PyAny>, f: impl FnOnce(&mut Registered) -> R) -> Option<R> {
    loops()
        .iter_mut()
        .find(|r| r.event_loop.as_ptr() == event_loop.as_ptr())
        .map(f)
}

/// Schedules the timer on `event_loop` in [`TIMER_TICK`] seconds.
fn arm_timer(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<()> {
    event_loop.call_method1(
        pyo3::intern!(py, "call_later"),
        (TIMER_TICK, fns(py)?.timer.bind(py), event_loop),
    )?;
    Ok(())
}

/// Registers the runtime's descriptor with `event_loop` (once per loop) and arms its timer.
/// Python is called outside the lock (it may switch threads).
fn attach_loop(py: Python<'_>, event_loop: &Bound<'_, PyAny>, epoll: i32) -> PyResult<()> {
    let arm = with_entry(event_loop, |r| !std::mem::replace(&mut r.timer, true));
    if arm.is_none() {
        // A new loop: forget the closed ones, then watch the descriptor from this one.
        let known: Vec<Py<PyAny>> = loops().iter().map(|r| r.event_loop.clone_ref(py)).collect();
        let closed: Vec<*mut pyo3::ffi::PyObject> = known
            .iter()
            .filter(|l| {
                l.bind(py)
                    .call_method0(pyo3::intern!(py, "is_closed"))
                    .and_then(|v| v.is_truthy())
                    .unwrap_or(true)
            })
            .map(|l| l.as_ptr())
            .collect();
        event_loop.call_method1(
            pyo3::intern!(py, "add_reader"),
            (epoll, fns(py)?.tick.bind(py)),
        )?;
        let mut g = loops();
        g.retain(|r| !closed.contains(&r.event_loop.as_ptr()));
        g.push(Registered {
            event_loop: event_loop.clone().unbind(),
            timer: true,
        });
    }
    if arm.unwrap_or(true) {
        arm_timer(py, event_loop)?;
    }
    Ok(())
}

/// The timer: ticks (tokio's timers expire only when the runtime is driven), and stays armed
/// while calls are pending.
fn on_timer(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<()> {
    on_ready(py)?;
    if PENDING.load(Ordering::Acquire) > 0 {
        return arm_timer(py, event_loop);
    }
    with_entry(event_loop, |r| r.timer = false);
    Ok(())
}

struct Fns {
    get_running_loop: Py<PyAny>,
    resolve: Py<PyAny>,
    tick: Py<PyAny>,
    timer: Py<PyAny>,
}

static FNS: PyOnceLock<Fns> = PyOnceLock::new();

fn fns(py: Python<'_>) -> PyResult<&Fns> {
    FNS.get_or_try_init(py, || {
        Ok(Fns {
            get_running_loop: py.import("asyncio")?.getattr("get_running_loop")?.unbind(),
            resolve: PyCFunction::new_closure(py, None, None, resolve)?
                .into_any()
                .unbind(),
            tick: PyCFunction::new_closure(py, None, None, |args, _kw| on_ready(args.py()))?
                .into_any()
                .unbind(),
            timer: PyCFunction::new_closure(py, None, None, |args, _kw| {
                on_timer(args.py(), &args.get_item(0)?)
            })?
            .into_any()
            .unbind(),
        })
    })
}

/// Sets the result (or the exception) of `fut` unless it was cancelled meanwhile.
fn settle(fut: &Bound<'_, PyAny>, ok: bool, v: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = fut.py();
    if fut.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    if ok {
        fut.call_method1(pyo3::intern!(py, "set_result"), (v,))?;
    } else {
        fut.call_method1(pyo3::intern!(py, "set_exception"), (v,))?;
    }
    Ok(())
}

/// `resolve(fut, ok, value)`, scheduled on the loop's thread by a call finished elsewhere.
fn resolve(
    args: &Bound<'_, pyo3::types::PyTuple>,
    _kw: Option<&Bound<'_, pyo3::types::PyDict>>,
) -> PyResult<()> {
    let ok: bool = args.get_item(1)?.extract()?;
    settle(&args.get_item(0)?, ok, &args.get_item(2)?)
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
    // Boxed at once: the core's futures are several kilobytes, and every move of an unboxed one
    // (into the wrapper, the task, the scheduler) was a memcpy of all of it — in callgrind,
    // more instructions per `fetchval` than asyncpg's whole call.
    let fut = Box::pin(fut);
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
    let target = py_fut.clone().unbind();
    let home: ThreadId = std::thread::current().id();
    let loop_ref = event_loop.clone().unbind();
    let task = async move {
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
            if std::thread::current().id() == home {
                // Loop mode, ticked by the loop's own thread: set it now.
                let _ = settle(target.bind(py), ok, &value);
                return;
            }
            let Ok(f) = fns(py) else { return };
            let _ = loop_ref.bind(py).call_method1(
                pyo3::intern!(py, "call_soon_threadsafe"),
                (f.resolve.bind(py), target.bind(py), ok, value),
            );
        });
    };
    match driver() {
        Driver::Loop { rt, epoll } => {
            PENDING.fetch_add(1, Ordering::AcqRel);
            let guard = PendingGuard;
            attach_loop(py, &event_loop, *epoll)?;
            let task: Task = Box::pin(async move {
                let _guard = guard;
                task.await
            });
            tick(py, rt, Some(task))?;
        }
        Driver::Threads(rt) => {
            drop(rt.spawn(task));
        }
    }
    Ok(py_fut)
}
