//! Links between typed models and the dynamic table API (the seed's `link_dcs` /
//! `set_classes`): read a dynamic handle's rows as models, turn a (scoped) [`Table`] into a
//! [`ModelTable`], and check a model against the live schema.

use crate::args::IntoArgs;
use crate::database::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::model::def::Model;
use crate::model::from_row::{from_raw_rows, FromRow};
use crate::model::query::Column;
use crate::model::table::ModelTable;
use crate::table::{IntoKey, RowsWhere, Table};
use crate::value::Value;

impl Table {
    /// This table's typed API for model `M`, keeping this handle's scope (`xtra`). Fails when
    /// `M` is not a model of this table or names a column the table does not have.
    ///
    /// ```no_run
    /// # use fastasyncpg::Model;
    /// # #[derive(Model)] struct Album { #[fastasyncpg(primary_key)] album_id: i32, title: String, artist_id: i32 }
    /// # async fn f(db: fastasyncpg::Database) -> fastasyncpg::Result<()> {
    /// let acdc_albums = db.t("album")?.xtra(fastasyncpg::Record::new().with("artist_id", 1))?;
    /// let albums = acdc_albums.model::<Album>()?; // typed, still confined to artist 1
    /// let first: Vec<Album> = albums.rows().await?;
    /// # Ok(()) }
    /// ```
    pub fn model<M: Model>(&self) -> Result<ModelTable<M>> {
        check_against::<M>(self)?;
        let mut typed = self.db().model::<M>();
        for (name, v) in self.scope() {
            let Some(def) = M::COLUMNS.iter().find(|c| c.name == name) else {
                return Err(Error::new(
                    ErrorKind::UnknownName,
                    format!(
                        "{}: the handle is scoped on column {name:?}, which model {} has no field for",
                        self.meta().sql_name(),
                        std::any::type_name::<M>()
                    ),
                ));
            };
            typed = typed.xtra(Column::<M, Value>::new(def.name), v.clone());
        }
        Ok(typed)
    }

    /// Every row (in scope) as `T`.
    pub async fn rows_as<T: FromRow>(&self) -> Result<Vec<T>> {
        self.rows().fetch_as().await
    }

    /// The rows matching a condition (in scope) as `T`.
    pub async fn rows_where_as<T: FromRow>(
        &self,
        where_: &str,
        args: impl IntoArgs,
    ) -> Result<Vec<T>> {
        self.rows_where(where_, args).fetch_as().await
    }

    /// The row with this primary key as `T`, or `None`.
    pub async fn get_as<T: FromRow>(&self, pk: impl IntoKey) -> Result<Option<T>> {
        self.get(pk).await?.as_ref().map(T::from_row).transpose()
    }

    /// The row with this primary key as `T`; [`ErrorKind::NotFound`] when there is none.
    pub async fn at_as<T: FromRow>(&self, pk: impl IntoKey) -> Result<T> {
        T::from_row(&self.at(pk).await?)
    }
}

impl RowsWhere {
    /// Runs the query and builds a `T` from each row (columns looked up once).
    pub async fn fetch_as<T: FromRow>(self) -> Result<Vec<T>> {
        let (sql, args) = self.sql()?;
        let db = self.table().db();
        let conn = db.conn().await?;
        let (cols, rows) = db.timed(&conn, conn.query(&sql, &args)).await?;
        from_raw_rows(&cols, &rows)
    }
}

/// Checks `M`'s columns against a table's metadata.
fn check_against<M: Model>(t: &Table) -> Result<()> {
    let meta = t.meta();
    let schema_ok = M::SCHEMA.map_or(true, |s| s == meta.schema);
    if M::TABLE != meta.name || !schema_ok {
        return Err(Error::usage(format!(
            "model {} is for table {}, not {}",
            std::any::type_name::<M>(),
            M::qualified_table(),
            meta.sql_name()
        )));
    }
    // A model without a schema writes the bare name in SQL: it must find this relation.
    if M::SCHEMA.is_none() && meta.sql_name() != crate::sql::quote_ident(&meta.name) {
        return Err(Error::usage(format!(
            "model {} names table {} without a schema, but {} is not found by that name \
             through the search path: add `schema = {:?}` to the model",
            std::any::type_name::<M>(),
            M::qualified_table(),
            meta.sql_name(),
            meta.schema
        )));
    }
    let mut problems = Vec::new();
    for def in M::COLUMNS {
        match meta.column(def.name) {
            None => problems.push(format!("no column {:?} (field `{}`)", def.name, def.field)),
            // Views report every column as nullable: only tables are checked for this.
            Some(c) if !def.nullable && !c.not_null && meta.kind.is_table() => {
                problems.push(format!(
                    "column {:?} accepts NULL but field `{}` is not an Option",
                    def.name, def.field
                ))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::UnknownName,
            format!(
                "model {} does not match table {}: {}; regenerate the models \
                 (fastasyncpg gen) or fix the struct",
                std::any::type_name::<M>(),
                meta.sql_name(),
                problems.join("; ")
            ),
        ))
    }
}

impl Database {
    /// Checks model `M` against the schema snapshot (see [`refresh`](Database::refresh)): its
    /// table exists, every field's column exists, and no non-`Option` field reads a nullable
    /// column. The seed's `link_dcs` check, for models written by hand or generated from an
    /// older schema.
    pub fn check_model<M: Model>(&self) -> Result<()> {
        // The same resolution as `db.t`, for a table or a view.
        let t = self
            .lookup(M::SCHEMA, M::TABLE, crate::table::Want::Any)
            .map_err(|m| m.error)?;
        check_against::<M>(&t)
    }
}
