//! `CREATE TABLE` from a model's own definition, through the table API's [`TableSchema`].

use crate::database::Database;
use crate::ddl::{ColumnDef as SchemaColumn, ForeignKeyDef, TableSchema};
use crate::error::{Error, Result};
use crate::model::def::{Generated, Model};
use crate::schema::Schema;
use crate::table::Table;

/// Options of [`Database::create_model`]: what the model cannot say itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateModelOptions {
    /// `CREATE TABLE IF NOT EXISTS`: an existing table is left as it is.
    pub if_not_exists: bool,
    /// Drop an existing table of that name first (`DROP TABLE IF EXISTS … CASCADE`, in the
    /// same transaction).
    pub replace: bool,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Unique constraints (each a list of columns).
    pub uniques: Vec<Vec<String>>,
}

impl CreateModelOptions {
    /// Default options: fail if the table exists.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets [`if_not_exists`](Self::if_not_exists).
    pub fn if_not_exists(mut self, yes: bool) -> Self {
        self.if_not_exists = yes;
        self
    }
    /// Sets [`replace`](Self::replace).
    pub fn replace(mut self, yes: bool) -> Self {
        self.replace = yes;
        self
    }
    /// Adds a foreign key from `column` to `ref_table`'s `ref_column`.
    pub fn foreign_key(mut self, column: &str, ref_table: &str, ref_column: &str) -> Self {
        self.foreign_keys.push(ForeignKeyDef {
            columns: vec![column.into()],
            ref_table: ref_table.into(),
            ref_columns: vec![ref_column.into()],
            on_delete: None,
        });
        self
    }
    /// Adds a unique constraint on `columns`.
    pub fn unique(mut self, columns: &[&str]) -> Self {
        self.uniques
            .push(columns.iter().map(|c| c.to_string()).collect());
        self
    }
}

fn is_integer(ty: &str) -> bool {
    matches!(
        ty,
        "smallint" | "integer" | "bigint" | "int2" | "int4" | "int8" | "int"
    )
}

/// The [`TableSchema`] of model `M`: column types from the `sql_type` options or the fields'
/// Rust types ([`SqlType`](crate::model::SqlType)), `NOT NULL` unless the field is an
/// `Option`, SQL defaults, identity columns (an `identity` field, or a `generated` integer
/// field without a default) and the primary key in key order.
pub fn table_schema<M: Model>(opts: &CreateModelOptions) -> Result<TableSchema> {
    let types = M::sql_types();
    let mut spec = TableSchema::new(M::TABLE);
    spec.schema = M::SCHEMA.map(str::to_string);
    for (i, def) in M::COLUMNS.iter().enumerate() {
        let ty = match (def.sql_type, types.get(i).cloned().flatten()) {
            (Some(t), _) => t.to_string(),
            (None, Some(t)) => t,
            (None, None) => {
                return Err(Error::usage(format!(
                    "{}: no SQL type known for field `{}`; add \
                     #[fastasyncpg(sql_type = \"...\")] or implement fastasyncpg::model::SqlType",
                    M::qualified_table(),
                    def.field
                )))
            }
        };
        let identity = match def.generated {
            Generated::Identity => true,
            Generated::Yes => def.default.is_none() && is_integer(&ty),
            Generated::No => false,
        };
        let mut c = SchemaColumn::new(def.name, &ty);
        c.not_null = !def.nullable;
        c.identity = identity;
        c.default = def.default.map(str::to_string);
        spec.columns.push(c);
    }
    spec.primary_key = M::KEY
        .iter()
        .filter_map(|&i| M::COLUMNS.get(i))
        .map(|c| c.name.to_string())
        .collect();
    spec.foreign_keys = opts.foreign_keys.clone();
    spec.uniques = opts.uniques.clone();
    spec.if_not_exists = opts.if_not_exists;
    spec.replace = opts.replace;
    Ok(spec)
}

/// The `CREATE TABLE` statement for `M` (see [`table_schema`]).
pub fn create_table_sql<M: Model>(opts: &CreateModelOptions) -> Result<String> {
    table_schema::<M>(opts)?.create_sql(&Schema::default())
}

impl Database {
    /// Creates the table of model `M` from its definition (see [`table_schema`]) with
    /// [`create_from_schema`](Database::create_from_schema): the schema snapshot is refreshed
    /// and the new table's dynamic handle returned.
    ///
    /// ```no_run
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// use fastasyncpg::{model::CreateModelOptions, Model};
    /// #[derive(Model)]
    /// struct Note {
    ///     #[fastasyncpg(primary_key, identity)]
    ///     id: i64,
    ///     body: String,
    ///     #[fastasyncpg(generated, default = "now()", sql_type = "timestamptz")]
    ///     created: Option<fastasyncpg::Value>,
    /// }
    /// db.create_model::<Note>(CreateModelOptions::new().if_not_exists(true)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// A model whose `schema` is not among the schemas of the snapshot adds that schema to
    /// the snapshot (as [`create_from_schema`](Database::create_from_schema) does), so that the
    /// new table has a handle.
    pub async fn create_model<M: Model>(&self, opts: CreateModelOptions) -> Result<Table> {
        let spec = table_schema::<M>(&opts)?;
        self.create_from_schema(&spec).await
    }
}
