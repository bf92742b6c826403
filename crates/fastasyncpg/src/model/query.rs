//! The typed query builder: column constants, expressions, `select`.
//!
//! Every value is bound as a parameter (`$n`) and every identifier is quoted and escaped, so a
//! query built here cannot be injected into, whatever the values or names hold.

use std::fmt;
use std::marker::PhantomData;

use crate::model::def::Model;
use crate::model::from_row::{FromRow, JoinedModel};
use crate::sql::quote_ident;
use crate::value::Value;

/// A typed column of model `M` whose (non-NULL) values are `T`. The derive writes one
/// constant per column (`User::NAME`); use them to build [`Expr`]essions and [`Order`]s.
///
/// `Display` is the fully quoted `"table"."column"`.
pub struct Column<M, T> {
    name: &'static str,
    _p: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for Column<M, T> {}

impl<M, T> fmt::Debug for Column<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Column({:?})", self.name)
    }
}

impl<M, T> Column<M, T> {
    /// The column called `name` (used by the derive).
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            _p: PhantomData,
        }
    }

    /// The column's SQL name (unquoted).
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// A value that can be compared with a column of type `T`: anything that converts into `T`.
pub trait Param<T> {
    /// The value to bind.
    fn into_param(self) -> Value;
}

impl<T: Into<Value>, V: Into<T>> Param<T> for V {
    fn into_param(self) -> Value {
        Into::<T>::into(self).into()
    }
}

impl<M: Model, T> Column<M, T> {
    pub(crate) fn col_ref(&self) -> ColRef {
        ColRef {
            schema: M::SCHEMA,
            table: M::TABLE,
            name: self.name,
        }
    }

    fn cmp(self, op: &'static str, v: Value) -> Expr {
        Expr(Node::Cmp(self.col_ref(), op, Operand::Value(v)))
    }

    /// `column = value`.
    pub fn eq(self, v: impl Param<T>) -> Expr {
        self.cmp("=", v.into_param())
    }
    /// `column <> value`.
    pub fn ne(self, v: impl Param<T>) -> Expr {
        self.cmp("<>", v.into_param())
    }
    /// `column < value`.
    pub fn lt(self, v: impl Param<T>) -> Expr {
        self.cmp("<", v.into_param())
    }
    /// `column <= value`.
    pub fn le(self, v: impl Param<T>) -> Expr {
        self.cmp("<=", v.into_param())
    }
    /// `column > value`.
    pub fn gt(self, v: impl Param<T>) -> Expr {
        self.cmp(">", v.into_param())
    }
    /// `column >= value`.
    pub fn ge(self, v: impl Param<T>) -> Expr {
        self.cmp(">=", v.into_param())
    }
    /// `column LIKE pattern`.
    pub fn like(self, pattern: impl Into<String>) -> Expr {
        self.cmp("LIKE", Value::from(pattern.into()))
    }
    /// `column ILIKE pattern` (case-insensitive).
    pub fn ilike(self, pattern: impl Into<String>) -> Expr {
        self.cmp("ILIKE", Value::from(pattern.into()))
    }
    /// `column IS NULL`.
    pub fn is_null(self) -> Expr {
        Expr(Node::Null(self.col_ref(), true))
    }
    /// `column IS NOT NULL`.
    pub fn is_not_null(self) -> Expr {
        Expr(Node::Null(self.col_ref(), false))
    }
    /// `column = ANY($n)` with the values bound as one array parameter. An empty list
    /// matches nothing.
    pub fn is_in<V: Param<T>>(self, values: impl IntoIterator<Item = V>) -> Expr {
        Expr(Node::In(
            self.col_ref(),
            values.into_iter().map(Param::into_param).collect(),
            false,
        ))
    }
    /// Alias of [`is_in`](Self::is_in) (the Python spelling `in_`).
    pub fn in_<V: Param<T>>(self, values: impl IntoIterator<Item = V>) -> Expr {
        self.is_in(values)
    }
    /// `NOT (column = ANY($n))`.
    pub fn not_in<V: Param<T>>(self, values: impl IntoIterator<Item = V>) -> Expr {
        Expr(Node::In(
            self.col_ref(),
            values.into_iter().map(Param::into_param).collect(),
            true,
        ))
    }
    /// `column = other_column`, typically the `on` condition of a join.
    pub fn eq_col<N: Model>(self, other: Column<N, T>) -> Expr {
        Expr(Node::Cmp(
            self.col_ref(),
            "=",
            Operand::Col(other.col_ref()),
        ))
    }
    /// Ascending order on this column.
    pub fn asc(self) -> Order {
        Order {
            col: self.col_ref(),
            desc: false,
            nulls_first: None,
        }
    }
    /// Descending order on this column.
    pub fn desc(self) -> Order {
        Order {
            col: self.col_ref(),
            desc: true,
            nulls_first: None,
        }
    }
}

impl<M: Model, T> fmt::Display for Column<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.col_ref().fmt(f)
    }
}

/// A column with its table, for rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ColRef {
    pub(crate) schema: Option<&'static str>,
    pub(crate) table: &'static str,
    pub(crate) name: &'static str,
}

impl fmt::Display for ColRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.schema {
            write!(f, "{}.", quote_ident(s))?;
        }
        write!(f, "{}.{}", quote_ident(self.table), quote_ident(self.name))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Value(Value),
    Col(ColRef),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Cmp(ColRef, &'static str, Operand),
    Null(ColRef, bool),
    In(ColRef, Vec<Value>, bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Bool(bool),
}

/// A boolean SQL condition built from [`Column`]s: combine with [`and`](Expr::and),
/// [`or`](Expr::or), [`not`](Expr::not) (or `&`, `|`, `!`).
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(Node);

impl Expr {
    /// `TRUE` (matches every row); a neutral start for building conditions in a loop.
    pub fn always() -> Expr {
        Expr(Node::Bool(true))
    }

    /// `FALSE` (matches no row).
    pub fn never() -> Expr {
        Expr(Node::Bool(false))
    }

    /// `self AND other`.
    pub fn and(self, other: Expr) -> Expr {
        let mut parts = match self.0 {
            Node::And(v) => v,
            Node::Bool(true) => Vec::new(),
            n => vec![n],
        };
        match other.0 {
            Node::And(v) => parts.extend(v),
            Node::Bool(true) => {}
            n => parts.push(n),
        }
        match parts.len() {
            0 => Expr::always(),
            1 => Expr(parts.remove(0)),
            _ => Expr(Node::And(parts)),
        }
    }

    /// `self OR other`.
    pub fn or(self, other: Expr) -> Expr {
        let mut parts = match self.0 {
            Node::Or(v) => v,
            Node::Bool(false) => Vec::new(),
            n => vec![n],
        };
        match other.0 {
            Node::Or(v) => parts.extend(v),
            Node::Bool(false) => {}
            n => parts.push(n),
        }
        match parts.len() {
            0 => Expr::never(),
            1 => Expr(parts.remove(0)),
            _ => Expr(Node::Or(parts)),
        }
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        match self.0 {
            Node::Not(inner) => Expr(*inner),
            n => Expr(Node::Not(Box::new(n))),
        }
    }

    /// Renders the condition, numbering parameters after those already in `args`.
    pub fn render(&self, args: &mut Vec<Value>) -> String {
        let mut s = String::new();
        self.0.render(&mut s, args);
        s
    }
}

impl std::ops::BitAnd for Expr {
    type Output = Expr;
    fn bitand(self, rhs: Expr) -> Expr {
        self.and(rhs)
    }
}
impl std::ops::BitOr for Expr {
    type Output = Expr;
    fn bitor(self, rhs: Expr) -> Expr {
        self.or(rhs)
    }
}
impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::not(self)
    }
}

fn push_arg(out: &mut String, args: &mut Vec<Value>, v: Value) {
    args.push(v);
    out.push('$');
    out.push_str(&args.len().to_string());
}

impl Node {
    fn render(&self, out: &mut String, args: &mut Vec<Value>) {
        use std::fmt::Write;
        match self {
            Node::Cmp(c, op, rhs) => {
                let _ = write!(out, "{c} {op} ");
                match rhs {
                    Operand::Value(v) => push_arg(out, args, v.clone()),
                    Operand::Col(o) => {
                        let _ = write!(out, "{o}");
                    }
                }
            }
            Node::Null(c, is) => {
                let _ = write!(out, "{c} IS {}NULL", if *is { "" } else { "NOT " });
            }
            Node::In(c, vals, negated) => {
                if vals.is_empty() {
                    out.push_str(if *negated { "TRUE" } else { "FALSE" });
                    return;
                }
                if *negated {
                    out.push_str("NOT ");
                }
                let _ = write!(out, "{c} = ANY(");
                push_arg(out, args, Value::from(vals.clone()));
                out.push(')');
            }
            Node::And(parts) | Node::Or(parts) => {
                let sep = if matches!(self, Node::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    let paren = matches!(p, Node::And(_) | Node::Or(_));
                    if paren {
                        out.push('(');
                    }
                    p.render(out, args);
                    if paren {
                        out.push(')');
                    }
                }
            }
            Node::Not(inner) => {
                out.push_str("NOT (");
                inner.render(out, args);
                out.push(')');
            }
            Node::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        }
    }
}

/// An `ORDER BY` term: `Column::asc()`, `Column::desc()` or a bare column (ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    col: ColRef,
    desc: bool,
    nulls_first: Option<bool>,
}

impl Order {
    /// `NULLS FIRST`.
    pub fn nulls_first(mut self) -> Order {
        self.nulls_first = Some(true);
        self
    }
    /// `NULLS LAST`.
    pub fn nulls_last(mut self) -> Order {
        self.nulls_first = Some(false);
        self
    }
}

impl<M: Model, T> From<Column<M, T>> for Order {
    fn from(c: Column<M, T>) -> Order {
        c.asc()
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.col)?;
        if self.desc {
            f.write_str(" DESC")?;
        }
        match self.nulls_first {
            Some(true) => f.write_str(" NULLS FIRST"),
            Some(false) => f.write_str(" NULLS LAST"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Join {
    left: bool,
    table: String,
    on: Expr,
    /// One of the selection's own tables (joined by `join_on`), not an extra one.
    own: bool,
}

/// What a [`Select`] returns per row: a [`Model`] (`select::<User>()`), or a tuple of models
/// for a join (`select::<(User, Post)>()`, iceaxe's `select((User, Post))`), whose later
/// elements may be `Option<M>` for a `LEFT JOIN`. A tuple selects every table's columns under
/// distinct aliases and reads each model by position (see [`JoinedModel`]).
pub trait Selection: FromRow + Send + 'static {
    /// The `FROM` table: the (first) model's, quoted.
    fn from_table() -> String;
    /// The select list.
    fn select_list() -> String;
    /// The tuple's other tables, in order: quoted name, and true for `Option<M>` (`LEFT JOIN`).
    fn joined_tables() -> Vec<(String, bool)>;
}

impl<M: Model> Selection for M {
    fn from_table() -> String {
        M::qualified_table()
    }
    fn select_list() -> String {
        column_list::<M>(true)
    }
    fn joined_tables() -> Vec<(String, bool)> {
        Vec::new()
    }
}

/// `"t"."a" AS "t.a", …`: qualified and aliased, so that two tables' `id`s stay distinct.
fn aliased_list<M: Model>() -> String {
    let table = M::qualified_table();
    let mut s = String::new();
    for (i, c) in M::COLUMNS.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let alias = quote_ident(&format!("{}.{}", M::TABLE, c.name));
        s.push_str(&format!("{table}.{} AS {alias}", quote_ident(c.name)));
    }
    s
}

macro_rules! tuple_selection {
    ($($name:ident),+) => {
        impl<A: Model, $($name: JoinedModel + Send + 'static),+> Selection for (A, $($name),+) {
            fn from_table() -> String {
                A::qualified_table()
            }
            fn select_list() -> String {
                [aliased_list::<A>(), $(aliased_list::<$name::Model>()),+].join(", ")
            }
            fn joined_tables() -> Vec<(String, bool)> {
                vec![$(($name::Model::qualified_table(), $name::OPTIONAL)),+]
            }
        }
    };
}
tuple_selection!(B);
tuple_selection!(B, C);
tuple_selection!(B, C, D);

/// A typed `SELECT` of model `M`: build it with [`select`], run it with
/// [`Database::exec`](crate::Database::exec).
///
/// ```
/// use fastasyncpg::{model::select, Model};
///
/// #[derive(Model, Debug)]
/// struct User {
///     #[fastasyncpg(primary_key, generated)]
///     id: i64,
///     name: String,
///     age: i64,
/// }
///
/// let q = select::<User>()
///     .where_(User::NAME.eq("Alice").and(User::AGE.gt(30)))
///     .order_by(User::ID.desc())
///     .limit(10)
///     .offset(5);
/// let (sql, args) = q.to_sql();
/// assert_eq!(
///     sql,
///     r#"SELECT "user"."id", "user"."name", "user"."age" FROM "user" WHERE "user"."name" = $1 AND "user"."age" > $2 ORDER BY "user"."id" DESC LIMIT 10 OFFSET 5"#
/// );
/// assert_eq!(args.len(), 2);
/// ```
pub struct Select<M> {
    joins: Vec<Join>,
    /// How many of the selection's own tables `join_on` has joined.
    own_joined: usize,
    filter: Expr,
    order: Vec<Order>,
    limit: Option<u64>,
    offset: Option<u64>,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Select<M> {
    fn clone(&self) -> Self {
        Select {
            joins: self.joins.clone(),
            own_joined: self.own_joined,
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            _m: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Select<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("joins", &self.joins)
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .finish()
    }
}

/// Starts a typed `SELECT` of every column of `M`'s table (the seed's `select(User)`), or of
/// several tables for a tuple of models: `select::<(Artist, Album)>()` joined with
/// [`join_on`](Select::join_on) returns `(Artist, Album)` pairs, and
/// `select::<(Artist, Option<Album>)>()` is a `LEFT JOIN` (`None` for an artist without
/// albums).
///
/// ```
/// use fastasyncpg::{model::select, Model};
///
/// #[derive(Model, Debug)]
/// struct Artist {
///     #[fastasyncpg(primary_key)]
///     artist_id: i32,
///     name: Option<String>,
/// }
///
/// #[derive(Model, Debug)]
/// struct Album {
///     #[fastasyncpg(primary_key)]
///     album_id: i32,
///     title: String,
///     artist_id: i32,
/// }
///
/// let q = select::<(Artist, Option<Album>)>()
///     .join_on(Album::ARTIST_ID.eq_col(Artist::ARTIST_ID))
///     .where_(Artist::NAME.like("A%"))
///     .order_by(Artist::ARTIST_ID);
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "artist"."artist_id" AS "artist.artist_id", "artist"."name" AS "artist.name", "album"."album_id" AS "album.album_id", "album"."title" AS "album.title", "album"."artist_id" AS "album.artist_id" FROM "artist" LEFT JOIN "album" ON "album"."artist_id" = "artist"."artist_id" WHERE "artist"."name" LIKE $1 ORDER BY "artist"."artist_id""#
/// );
/// // db.exec(&q).await? is a Vec<(Artist, Option<Album>)>
/// ```
pub fn select<S: Selection>() -> Select<S> {
    Select {
        joins: Vec::new(),
        own_joined: 0,
        filter: Expr::always(),
        order: Vec::new(),
        limit: None,
        offset: None,
        _m: PhantomData,
    }
}

impl<M: Model> Select<M> {
    /// A select confined to `column = value` pairs (a scoped handle's).
    pub(crate) fn scoped(scope: &[(&'static str, Value)]) -> Select<M> {
        let mut s = select::<M>();
        for (c, v) in scope {
            let col = ColRef {
                schema: M::SCHEMA,
                table: M::TABLE,
                name: c,
            };
            s = s.where_(Expr(Node::Cmp(col, "=", Operand::Value(v.clone()))));
        }
        s
    }
}

impl<S: Selection> Select<S> {
    /// Adds a condition (`AND`ed with earlier ones).
    pub fn where_(mut self, cond: Expr) -> Self {
        self.filter = std::mem::replace(&mut self.filter, Expr::always()).and(cond);
        self
    }

    /// Alias of [`where_`](Self::where_).
    pub fn filter(self, cond: Expr) -> Self {
        self.where_(cond)
    }

    /// `JOIN j ON cond`: rows that have a matching row in `J`'s table (which conditions may
    /// then use). Only the selection's columns are returned (to read `J` too, select a tuple
    /// and use [`join_on`](Self::join_on)).
    pub fn join<J: Model>(mut self, on: Expr) -> Self {
        self.joins.push(Join {
            left: false,
            table: J::qualified_table(),
            on,
            own: false,
        });
        self
    }

    /// `LEFT JOIN j ON cond`.
    pub fn left_join<J: Model>(mut self, on: Expr) -> Self {
        self.joins.push(Join {
            left: true,
            table: J::qualified_table(),
            on,
            own: false,
        });
        self
    }

    /// The join condition of the selection's next table: for `select::<(A, B, C)>()` the first
    /// call joins `B`, the second `C` — with `JOIN`, or `LEFT JOIN` for an `Option<M>` element.
    /// A table given no condition is joined `ON TRUE` (so a condition in
    /// [`where_`](Self::where_) works too); a call after every table is joined `AND`s its
    /// condition into the last one's (for a single model: into the `WHERE` clause).
    pub fn join_on(mut self, on: Expr) -> Self {
        let tables = S::joined_tables();
        if let Some((table, left)) = tables.get(self.own_joined).cloned() {
            self.joins.push(Join {
                left,
                table,
                on,
                own: true,
            });
            self.own_joined += 1;
        } else if let Some(j) = self.joins.iter_mut().rev().find(|j| j.own) {
            j.on = std::mem::replace(&mut j.on, Expr::always()).and(on);
        } else {
            self = self.where_(on);
        }
        self
    }

    /// Adds an `ORDER BY` term: a column (ascending) or `column.desc()`.
    pub fn order_by(mut self, o: impl Into<Order>) -> Self {
        self.order.push(o.into());
        self
    }

    /// At most `n` rows (`limit(0)` returns none).
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// True when a limit is set.
    pub fn has_limit(&self) -> bool {
        self.limit.is_some()
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    fn render_from_where(&self, sql: &mut String, args: &mut Vec<Value>) {
        use std::fmt::Write;
        let _ = write!(sql, " FROM {}", S::from_table());
        for j in &self.joins {
            let kind = if j.left { "LEFT JOIN" } else { "JOIN" };
            let on = j.on.render(args);
            let _ = write!(sql, " {kind} {} ON {on}", j.table);
        }
        for (table, left) in S::joined_tables().into_iter().skip(self.own_joined) {
            let kind = if left { "LEFT JOIN" } else { "JOIN" };
            let _ = write!(sql, " {kind} {table} ON TRUE");
        }
        if self.filter != Expr::always() {
            let w = self.filter.render(args);
            let _ = write!(sql, " WHERE {w}");
        }
    }

    /// The SQL (with `$n` placeholders) and its arguments.
    pub fn to_sql(&self) -> (String, Vec<Value>) {
        use std::fmt::Write;
        let mut args = Vec::new();
        let mut sql = format!("SELECT {}", S::select_list());
        self.render_from_where(&mut sql, &mut args);
        if !self.order.is_empty() {
            let o: Vec<String> = self.order.iter().map(Order::to_string).collect();
            let _ = write!(sql, " ORDER BY {}", o.join(", "));
        }
        if let Some(n) = self.limit {
            let _ = write!(sql, " LIMIT {n}");
        }
        if let Some(n) = self.offset {
            let _ = write!(sql, " OFFSET {n}");
        }
        (sql, args)
    }

    /// `SELECT count(*)` over the same joins and conditions (order, limit and offset ignored).
    pub fn count_sql(&self) -> (String, Vec<Value>) {
        let mut args = Vec::new();
        let mut sql = String::from("SELECT count(*)");
        self.render_from_where(&mut sql, &mut args);
        (sql, args)
    }
}

/// Readable SQL for debugging: the statement, then each argument as a comment.
impl<S: Selection> fmt::Display for Select<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sql, args) = self.to_sql();
        f.write_str(&sql)?;
        for (i, a) in args.iter().enumerate() {
            write!(f, "\n-- ${} = {}", i + 1, a.repr())?;
        }
        Ok(())
    }
}

/// `"t"."a", "t"."b"` (qualified) or `"a", "b"`.
pub(crate) fn column_list<M: Model>(qualified: bool) -> String {
    let prefix = if qualified {
        let mut p = M::qualified_table();
        p.push('.');
        p
    } else {
        String::new()
    };
    let mut s = String::new();
    for (i, c) in M::COLUMNS.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&prefix);
        s.push_str(&quote_ident(c.name));
    }
    s
}
