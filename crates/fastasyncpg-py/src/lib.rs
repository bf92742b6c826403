//! The native half of the `fastasyncpg` Python package (distribution `fastasyncpg-rs`): the
//! Rust core's database handles, table API, values and errors, with every database call an
//! asyncio awaitable driven by a tokio runtime (the GIL is released while it waits).
//!
//! The Python half (`python/fastasyncpg/`) gives these the seed's names and notebook manners;
//! see the README's "From Python" section.

mod convert;
mod cursor;
mod db;
mod errors;
mod out;
mod record;
mod tx;

use pyo3::prelude::*;
use pyo3::types::PyType;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Registers the package's `Range` class, used for range values in both directions.
#[pyfunction]
fn _set_range_class(py: Python<'_>, cls: Bound<'_, PyType>) {
    let _ = convert::RANGE.set(py, cls.unbind());
}

/// The module `fastasyncpg._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<db::Db>()?;
    m.add_class::<tx::Tx>()?;
    m.add_class::<cursor::PyCursor>()?;
    m.add_class::<record::FRecord>()?;
    m.add_function(wrap_pyfunction!(db::connect, m)?)?;
    m.add_function(wrap_pyfunction!(db::conv_placeholders, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_set_errors, m)?)?;
    m.add_function(wrap_pyfunction!(db::_set_unset, m)?)?;
    m.add_function(wrap_pyfunction!(_set_range_class, m)?)?;
    m.add_function(wrap_pyfunction!(out::driver_mode, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
