//! [`Tracked`]: a model plus a snapshot of its column values, for updates that send only what
//! changed.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::model::def::Model;
use crate::value::Value;

/// A model value that remembers its column values as they were when it was loaded from or
/// last saved to the database, so that [`ModelTable::update`](crate::model::ModelTable::update)
/// sends only the columns that changed since.
///
/// How it works: loading (`get_tracked`, `at_tracked`, `rows_where_tracked`, `exec_tracked`)
/// and saving (`insert`, `update`, `upsert`, `refresh`) take a snapshot — the
/// [`Value`] of every column, as [`Model::values`] gives them. `Tracked` dereferences to the
/// model, so fields are read and assigned as usual (`user.name = "Bob".into()`). `update`
/// compares the current values with the snapshot, sends `UPDATE … SET` for the differing
/// columns only (no difference: no statement at all), reads the row back with `RETURNING`
/// (so triggers and server-side changes are seen) and takes a new snapshot.
///
/// Why it is hard to misuse: the snapshot lives beside the model and only the database
/// operations above refresh it, so no change made through `DerefMut` can be forgotten; the
/// diff is by value, so setting a field to the value it already had sends nothing; the row is
/// found by the key *in the snapshot*, so changing a primary key field updates that row's key
/// instead of touching another row. A plain model (not `Tracked`) can be updated too: then
/// every non-key column is sent, which is never wrong, only wider.
///
/// ```no_run
/// # use fastasyncpg::Model;
/// # #[derive(Model, Debug)]
/// # struct User { #[fastasyncpg(primary_key, generated)] id: i64, name: String, email: String }
/// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
/// let users = db.model::<User>();
/// let mut u = users.at_tracked(1).await?;
/// u.email = "new@example.com".into();
/// assert_eq!(u.dirty_columns(), ["email"]);
/// users.update(&mut u).await?; // UPDATE "user" SET "email" = $1 WHERE "id" = $2 RETURNING …
/// assert!(!u.is_dirty());
/// # Ok(()) }
/// ```
pub struct Tracked<M> {
    model: M,
    snapshot: Vec<Value>,
}

impl<M: Model> Tracked<M> {
    /// Wraps a model whose fields are known to equal the row in the database (e.g. one you
    /// just read with a query of your own). Changes made *before* wrapping are not tracked.
    pub fn assume_saved(model: M) -> Self {
        let snapshot = model.values();
        Tracked { model, snapshot }
    }

    /// The model, without its snapshot.
    pub fn into_inner(self) -> M {
        self.model
    }

    /// True when some column differs from the snapshot.
    pub fn is_dirty(&self) -> bool {
        !self.dirty_indices().is_empty()
    }

    /// The SQL names of the columns that differ from the snapshot, in column order.
    pub fn dirty_columns(&self) -> Vec<&'static str> {
        self.dirty_indices()
            .into_iter()
            .filter_map(|i| M::COLUMNS.get(i))
            .map(|c| c.name)
            .collect()
    }

    /// The column values as last loaded or saved.
    pub fn snapshot(&self) -> &[Value] {
        &self.snapshot
    }

    /// Indices (into [`Model::COLUMNS`]) of the columns that changed.
    pub(crate) fn dirty_indices(&self) -> Vec<usize> {
        let now = self.model.values();
        now.iter()
            .zip(&self.snapshot)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, _)| i)
            .collect()
    }
}

impl<M> Deref for Tracked<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.model
    }
}

impl<M> DerefMut for Tracked<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.model
    }
}

impl<M: fmt::Debug> fmt::Debug for Tracked<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.model.fmt(f)
    }
}

impl<M: Clone> Clone for Tracked<M> {
    fn clone(&self) -> Self {
        Tracked {
            model: self.model.clone(),
            snapshot: self.snapshot.clone(),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A model, or a [`Tracked`] model: what `insert`, `update`, `upsert` and `refresh` accept.
/// Implemented for every [`Model`] and for `Tracked<M>`; sealed.
pub trait ModelMut<M: Model>: sealed::Sealed {
    /// The model.
    fn model(&self) -> &M;
    /// The model, mutably.
    fn model_mut(&mut self) -> &mut M;
    /// The snapshot of a tracked model.
    fn saved_values(&self) -> Option<&[Value]>;
    /// Takes a new snapshot (after a save or load).
    fn mark_saved(&mut self);
}

impl<M: Model> sealed::Sealed for M {}
impl<M: Model> ModelMut<M> for M {
    fn model(&self) -> &M {
        self
    }
    fn model_mut(&mut self) -> &mut M {
        self
    }
    fn saved_values(&self) -> Option<&[Value]> {
        None
    }
    fn mark_saved(&mut self) {}
}

impl<M: Model> sealed::Sealed for Tracked<M> {}
impl<M: Model> ModelMut<M> for Tracked<M> {
    fn model(&self) -> &M {
        &self.model
    }
    fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }
    fn saved_values(&self) -> Option<&[Value]> {
        Some(&self.snapshot)
    }
    fn mark_saved(&mut self) {
        self.snapshot = self.model.values();
    }
}
