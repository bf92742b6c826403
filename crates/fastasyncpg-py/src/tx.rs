//! `_native.Tx`: an open transaction (or savepoint). The Python `transaction()` context manager
//! commits it on success and rolls it back on an exception or a cancellation; if it is dropped
//! without either (the task was killed), the core queues the rollback before anything else runs
//! on the connection.

use std::sync::Mutex;

use fastasyncpg::{Database, Transaction};
use pyo3::prelude::*;

use crate::db::Db;
use crate::errors::{new_err, to_py_err};
use crate::out::{awaitable, Out};

/// An open transaction.
#[pyclass(module = "fastasyncpg._native", name = "Tx", frozen)]
pub struct Tx {
    pub(crate) db: Database,
    pub(crate) tx: Mutex<Option<Transaction>>,
}

impl Tx {
    fn take(&self, py: Python<'_>) -> PyResult<Transaction> {
        self.tx
            .lock()
            .map_err(|_| new_err(py, "usage", "transaction state lost".into()))?
            .take()
            .ok_or_else(|| new_err(py, "usage", "the transaction has already ended".into()))
    }
}

#[pymethods]
impl Tx {
    /// The handle whose calls run inside the transaction.
    fn db(&self) -> Db {
        Db {
            db: self.db.clone(),
        }
    }

    /// Commits (releases the savepoint).
    fn commit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let tx = self.take(py)?;
        awaitable(py, async move {
            tx.commit().await.map_err(to_py_err)?;
            Ok(Out::none())
        })
    }

    /// Rolls back (to the savepoint).
    fn rollback<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let tx = self.take(py)?;
        awaitable(py, async move {
            tx.rollback().await.map_err(to_py_err)?;
            Ok(Out::none())
        })
    }

    /// Abandons the transaction at once: the rollback is queued on the connection (for a
    /// cancelled task that can no longer await).
    fn abandon(&self, py: Python<'_>) {
        if let Ok(mut g) = self.tx.lock() {
            let _ = py;
            drop(g.take());
        }
    }
}
