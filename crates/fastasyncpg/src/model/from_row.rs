//! [`FromRow`]: typed structs from rows, with column lookup done once per result and a fast
//! path that decodes straight from the driver's binary data.

use std::marker::PhantomData;
use std::sync::Arc;

use postgres_types::{FromSql, Type};

use crate::error::{Error, Result};
use crate::model::def::Model;
use crate::row::{Columns, Row};
use crate::value::{FromValue, Value};

/// A type that can be built from a [`Row`]: derive it with `#[derive(FromRow)]` (or
/// `#[derive(Model)]`, which implies it).
///
/// Reading many rows looks the columns up once ([`plan`](FromRow::plan)) and then decodes
/// each row with [`from_row_with`](FromRow::from_row_with). A field whose type implements
/// tokio-postgres' `FromSql` for the column's type is decoded straight from the binary data
/// (as fast as raw tokio-postgres); any other field goes through [`Value`] and [`FromValue`],
/// which converts leniently (an `int4` column into an `i64` field, an enum into a `String`…).
///
/// Field options (`#[fastasyncpg(...)]`):
///
/// | option | meaning |
/// |---|---|
/// | `rename = "col"` | read column `col` instead of the field's name |
/// | `default` | a missing column reads as `Default::default()` instead of failing |
/// | `skip` | not read at all: always `Default::default()` |
/// | `flatten` | the field is itself `FromRow`, read from the same row |
///
/// ```
/// use fastasyncpg::FromRow;
///
/// #[derive(FromRow, Debug)]
/// struct Track {
///     #[fastasyncpg(rename = "track_id")]
///     id: i32,
///     name: String,
///     composer: Option<String>,
///     #[fastasyncpg(default)]
///     plays: i64,
///     #[fastasyncpg(skip)]
///     cached: Vec<u8>,
/// }
/// ```
pub trait FromRow: Sized {
    /// Finds the columns this type reads in `cols`; fails when a required column is missing.
    fn plan(cols: &Columns) -> Result<RowPlan>;

    /// Builds a value from `row`, whose columns `plan` was made from.
    fn from_row_with(row: RowRef<'_>, plan: &RowPlan) -> Result<Self>;

    /// Builds a value from one row (looks the columns up first).
    fn from_row(row: &Row) -> Result<Self> {
        let plan = Self::plan(row.columns())?;
        Self::from_row_with(row.into(), &plan)
    }

    /// Builds one value per row, looking the columns up once.
    fn from_rows(rows: &[Row]) -> Result<Vec<Self>> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let plan = Self::plan(first.columns())?;
        rows.iter()
            .map(|r| Self::from_row_with(r.into(), &plan))
            .collect()
    }
}

/// Builds one `T` per driver row (the fast path of typed reads: no [`Row`] is made).
pub(crate) fn from_raw_rows<T: FromRow>(
    cols: &Arc<Columns>,
    rows: &[tokio_postgres::Row],
) -> Result<Vec<T>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let plan = T::plan(cols)?;
    rows.iter()
        .map(|r| T::from_row_with(RowRef { raw: r, cols }, &plan))
        .collect()
}

/// A borrowed row: the driver's row and its columns. What [`FromRow`] reads from; made from a
/// [`Row`] with `.into()`.
#[derive(Clone, Copy)]
pub struct RowRef<'a> {
    raw: &'a tokio_postgres::Row,
    cols: &'a Arc<Columns>,
}

impl<'a> From<&'a Row> for RowRef<'a> {
    fn from(r: &'a Row) -> Self {
        RowRef {
            raw: r.raw(),
            cols: r.columns_arc(),
        }
    }
}

impl<'a> RowRef<'a> {
    /// The driver's row.
    pub fn raw(&self) -> &'a tokio_postgres::Row {
        self.raw
    }

    /// The columns.
    pub fn columns(&self) -> &'a Columns {
        self.cols
    }

    /// The value of column `i`.
    pub fn value(&self, i: usize) -> Result<Value> {
        self.raw.try_get::<_, Value>(i).map_err(|e| {
            let (name, ty) = (
                self.cols.names().get(i).map(String::as_str).unwrap_or("?"),
                self.cols.types().get(i).map(|t| t.name()).unwrap_or("?"),
            );
            Error::decode(format!("column {name:?} ({ty}): cannot decode")).with_source(e)
        })
    }

    /// An owned [`Row`] (cheap: shares the columns; copies the row's handle).
    pub fn to_row(&self) -> Row {
        Row::new(self.cols.clone(), self.raw.clone())
    }
}

impl FromRow for Row {
    fn plan(_: &Columns) -> Result<RowPlan> {
        Ok(RowPlan::new("Row"))
    }
    fn from_row_with(row: RowRef<'_>, _: &RowPlan) -> Result<Self> {
        Ok(row.to_row())
    }
}

/// Where one field's column is in a result, and whether it can be decoded directly.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    index: Option<usize>,
    fast: bool,
    column: &'static str,
    field: &'static str,
}

impl Slot {
    const MISSING: Slot = Slot {
        index: None,
        fast: false,
        column: "?",
        field: "?",
    };

    /// True when the column is in the result.
    pub fn is_present(&self) -> bool {
        self.index.is_some()
    }
}

/// The columns a [`FromRow`] type reads, looked up in one result's [`Columns`]. Made by
/// [`FromRow::plan`]; generated code fills it in.
#[derive(Debug, Clone)]
pub struct RowPlan {
    type_name: &'static str,
    slots: Vec<Slot>,
    nested: Vec<RowPlan>,
    missing: Vec<&'static str>,
    nested_errors: Vec<String>,
    /// For an `Option<M>` of a tuple: the columns whose all being NULL means "no row".
    none_if_null: Vec<usize>,
}

static EMPTY_PLAN: RowPlan = RowPlan {
    type_name: "?",
    slots: Vec::new(),
    nested: Vec::new(),
    missing: Vec::new(),
    nested_errors: Vec::new(),
    none_if_null: Vec::new(),
};

impl RowPlan {
    /// An empty plan for the type called `type_name`.
    pub fn new(type_name: &'static str) -> Self {
        RowPlan {
            type_name,
            slots: Vec::new(),
            nested: Vec::new(),
            missing: Vec::new(),
            nested_errors: Vec::new(),
            none_if_null: Vec::new(),
        }
    }

    /// Adds the field `field`, read from `column`. `accepts` tells whether the field's type
    /// decodes the column's type directly (fast path).
    pub fn column(
        &mut self,
        cols: &Columns,
        column: &'static str,
        field: &'static str,
        required: bool,
        accepts: fn(&Type) -> bool,
    ) {
        let index = cols.index_of(column);
        let fast = index.and_then(|i| cols.types().get(i)).is_some_and(accepts);
        if index.is_none() && required {
            self.missing.push(column);
        }
        self.slots.push(Slot {
            index,
            fast,
            column,
            field,
        });
    }

    /// Adds the plan of a flattened field (its error is reported by [`finish`](Self::finish)).
    pub fn nest(&mut self, plan: Result<RowPlan>) {
        match plan {
            Ok(p) => self.nested.push(p),
            Err(e) => {
                self.nested_errors.push(e.message().to_string());
                self.nested.push(RowPlan::new("?"));
            }
        }
    }

    /// Checks that every required column was found (here and in flattened fields).
    pub fn finish(self, cols: &Columns) -> Result<RowPlan> {
        if self.missing.is_empty() && self.nested_errors.is_empty() {
            return Ok(self);
        }
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            let quoted: Vec<String> = self.missing.iter().map(|c| format!("{c:?}")).collect();
            parts.push(format!(
                "{}: the result has no column {} (columns: {}); rename the field with \
                 #[fastasyncpg(rename = \"...\")] or mark it #[fastasyncpg(default)]",
                self.type_name,
                quoted.join(", "),
                cols.names().join(", ")
            ));
        }
        parts.extend(self.nested_errors.iter().cloned());
        Err(Error::new(crate::ErrorKind::UnknownName, parts.join("; ")))
    }

    /// The slot of the `i`-th field (a missing slot if out of range: never panics).
    pub fn slot(&self, i: usize) -> Slot {
        self.slots.get(i).copied().unwrap_or(Slot::MISSING)
    }

    /// The plan of the `i`-th flattened field.
    pub fn nested(&self, i: usize) -> &RowPlan {
        self.nested.get(i).unwrap_or(&EMPTY_PLAN)
    }

    /// Number of fields that read a column directly (for tests and diagnostics).
    pub fn fast_fields(&self) -> usize {
        self.slots.iter().filter(|s| s.fast).count()
            + self.nested.iter().map(RowPlan::fast_fields).sum::<usize>()
    }
}

fn missing(slot: Slot) -> Error {
    Error::decode(format!(
        "field `{}`: column {:?} is not in the result",
        slot.field, slot.column
    ))
}

#[inline]
fn fast_decode<T: for<'a> FromSql<'a>>(row: RowRef<'_>, slot: Slot, i: usize) -> Result<T> {
    match row.raw.try_get::<usize, T>(i) {
        Ok(v) => Ok(v),
        Err(e) => Err(fast_error(row, slot, i, std::any::type_name::<T>(), e)),
    }
}

#[cold]
#[inline(never)]
fn fast_error(
    row: RowRef<'_>,
    slot: Slot,
    i: usize,
    rust: &str,
    e: tokio_postgres::Error,
) -> Error {
    let ty = row
        .cols
        .types()
        .get(i)
        .map(|t| t.name().to_string())
        .unwrap_or_default();
    Error::decode(format!(
        "field `{}` ({rust}): cannot read column {:?} of type {ty}: {e}",
        slot.field, slot.column
    ))
}

fn value_decode<T: FromValue>(row: RowRef<'_>, slot: Slot, i: usize) -> Result<T> {
    let v: Value = row.value(i)?;
    T::from_value(v).map_err(|e| e.context(format!("field `{}`", slot.field)))
}

/// Chooses, per field type, how generated code decodes it ("autoref specialisation": the
/// most capable impl is found first by method resolution). Not a public API.
#[doc(hidden)]
pub struct Probe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> Probe<T> {
    /// The probe for `T`.
    pub const NEW: Self = Probe(PhantomData);
}

/// Field types that are both `FromSql` and [`FromValue`]: fast path when the column's type is
/// accepted, lenient conversion otherwise.
#[doc(hidden)]
pub trait DecodeBoth<T> {
    fn __accepts_fn(&self) -> fn(&Type) -> bool;
    fn __decode(&self, row: RowRef<'_>, slot: Slot) -> Result<T>;
}
impl<T: for<'a> FromSql<'a> + FromValue> DecodeBoth<T> for &&Probe<T> {
    fn __accepts_fn(&self) -> fn(&Type) -> bool {
        <T as FromSql<'_>>::accepts
    }
    #[inline]
    fn __decode(&self, row: RowRef<'_>, slot: Slot) -> Result<T> {
        match slot.index {
            Some(i) if slot.fast => fast_decode(row, slot, i),
            Some(i) => value_decode(row, slot, i),
            None => Err(missing(slot)),
        }
    }
}

/// Field types that are only `FromSql` (a user type with its own codec).
#[doc(hidden)]
pub trait DecodeSql<T> {
    fn __accepts_fn(&self) -> fn(&Type) -> bool;
    fn __decode(&self, row: RowRef<'_>, slot: Slot) -> Result<T>;
}
impl<T: for<'a> FromSql<'a>> DecodeSql<T> for &Probe<T> {
    fn __accepts_fn(&self) -> fn(&Type) -> bool {
        <T as FromSql<'_>>::accepts
    }
    fn __decode(&self, row: RowRef<'_>, slot: Slot) -> Result<T> {
        match slot.index {
            Some(i) => fast_decode(row, slot, i),
            None => Err(missing(slot)),
        }
    }
}

/// Field types that are only [`FromValue`] — the last resort, whose bound is checked after
/// the method is chosen so that an unreadable type gets [`ReadableField`]'s clear message.
#[doc(hidden)]
pub trait DecodeValue<T> {
    fn __accepts_fn(&self) -> fn(&Type) -> bool;
    fn __decode(&self, row: RowRef<'_>, slot: Slot) -> Result<T>
    where
        T: ReadableField;
}
impl<T> DecodeValue<T> for Probe<T> {
    fn __accepts_fn(&self) -> fn(&Type) -> bool {
        |_| false
    }
    fn __decode(&self, row: RowRef<'_>, slot: Slot) -> Result<T>
    where
        T: ReadableField,
    {
        match slot.index {
            Some(i) => value_decode(row, slot, i),
            None => Err(missing(slot)),
        }
    }
}

/// A field type that [`FromRow`] can read: anything [`FromValue`] (types that are only
/// tokio-postgres `FromSql` are read without it).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a column",
    label = "this field's type implements neither `fastasyncpg::FromValue` nor tokio-postgres' `FromSql`",
    note = "implement `fastasyncpg::FromValue` or `postgres_types::FromSql` for it, or mark the field `#[fastasyncpg(skip)]`"
)]
pub trait ReadableField: FromValue {}
#[diagnostic::do_not_recommend]
impl<T: FromValue> ReadableField for T {}

// ---------------------------------------------------------------------------------------------
// Tuples of models: `(A, B)` reads consecutive groups of columns by position, so that joined
// tables' same-named columns (`id`, `name`) do not collide.

/// One model of a tuple read (`FromRow` for `(A, B, …)`, what
/// [`select::<(A, B)>()`](crate::model::select) returns): a [`Model`], or `Option<M>` for a
/// table joined with `LEFT JOIN`, which reads as `None` when the row has no match (its
/// primary-key columns — every column, for a table without a key — are NULL).
pub trait JoinedModel: Sized {
    /// The model read.
    type Model: Model;
    /// True for `Option<M>`: the table is joined with `LEFT JOIN`.
    const OPTIONAL: bool;
    /// Plans the model's columns, found at `offset..offset + Model::COLUMNS.len()` of `cols`.
    fn plan_at(cols: &Columns, offset: usize) -> Result<RowPlan>;
    /// Reads the model from `row` with the plan of [`plan_at`](JoinedModel::plan_at).
    fn read(row: RowRef<'_>, plan: &RowPlan) -> Result<Self>;
}

fn plan_part<M: Model>(cols: &Columns, offset: usize) -> Result<RowPlan> {
    let n = M::COLUMNS.len();
    // Only this part's columns carry their model names: the plan finds them, and only them.
    let names = (0..cols.len())
        .map(
            |i| match i.checked_sub(offset).and_then(|k| M::COLUMNS.get(k)) {
                Some(c) => c.name.to_string(),
                None => String::new(),
            },
        )
        .collect();
    let mut plan = M::plan(&cols.renamed(names))?;
    plan.none_if_null = if M::KEY.is_empty() {
        (offset..offset + n).collect()
    } else {
        M::KEY.iter().map(|k| offset + k).collect()
    };
    Ok(plan)
}

/// Decodes only whether a column is NULL.
struct IsNull(bool);

impl<'a> FromSql<'a> for IsNull {
    fn from_sql(
        _: &Type,
        _: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull(false))
    }
    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull(true))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

impl<M: Model> JoinedModel for M {
    type Model = M;
    const OPTIONAL: bool = false;
    fn plan_at(cols: &Columns, offset: usize) -> Result<RowPlan> {
        plan_part::<M>(cols, offset)
    }
    fn read(row: RowRef<'_>, plan: &RowPlan) -> Result<Self> {
        M::from_row_with(row, plan)
    }
}

impl<M: Model> JoinedModel for Option<M> {
    type Model = M;
    const OPTIONAL: bool = true;
    fn plan_at(cols: &Columns, offset: usize) -> Result<RowPlan> {
        plan_part::<M>(cols, offset)
    }
    fn read(row: RowRef<'_>, plan: &RowPlan) -> Result<Self> {
        let no_match = plan
            .none_if_null
            .iter()
            .all(|&i| row.raw.try_get::<usize, IsNull>(i).is_ok_and(|n| n.0));
        if no_match {
            Ok(None)
        } else {
            M::from_row_with(row, plan).map(Some)
        }
    }
}

fn width_error(cols: &Columns, type_name: &str, parts: &[(&str, usize)]) -> Error {
    let total: usize = parts.iter().map(|p| p.1).sum();
    let each: Vec<String> = parts.iter().map(|(t, n)| format!("{n} of {t}")).collect();
    Error::decode(format!(
        "{type_name} reads {total} columns by position ({}), but the result has {} (columns: {})",
        each.join(", "),
        cols.len(),
        cols.names().join(", ")
    ))
}

macro_rules! tuple_from_row {
    ($($name:ident $idx:tt),+) => {
        /// A tuple of models reads consecutive groups of columns by position: `A`'s columns
        /// first, then the next model's… (what [`select::<(A, B)>()`](crate::model::select)
        /// selects). A later element may be `Option<M>` (see [`JoinedModel`]).
        impl<A: Model, $($name: JoinedModel),+> FromRow for (A, $($name),+) {
            fn plan(cols: &Columns) -> Result<RowPlan> {
                let parts = [
                    (A::TABLE, A::COLUMNS.len()),
                    $(($name::Model::TABLE, $name::Model::COLUMNS.len())),+
                ];
                let type_name = std::any::type_name::<Self>();
                if parts.iter().map(|p| p.1).sum::<usize>() != cols.len() {
                    return Err(width_error(cols, type_name, &parts));
                }
                let mut plan = RowPlan::new(type_name);
                let mut offset = 0;
                plan.nested.push(<A as JoinedModel>::plan_at(cols, offset)?);
                offset += parts[0].1;
                $(
                    plan.nested.push($name::plan_at(cols, offset)?);
                    offset += parts[$idx].1;
                )+
                let _ = offset;
                Ok(plan)
            }

            fn from_row_with(row: RowRef<'_>, plan: &RowPlan) -> Result<Self> {
                Ok((
                    <A as JoinedModel>::read(row, plan.nested(0))?,
                    $($name::read(row, plan.nested($idx))?),+
                ))
            }
        }
    };
}

tuple_from_row!(B 1);
tuple_from_row!(B 1, C 2);
tuple_from_row!(B 1, C 2, D 3);
