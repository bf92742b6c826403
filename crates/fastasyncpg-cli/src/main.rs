//! The `fastasyncpg` command line: run SQL, list tables, load and export data, run the demo.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use fastasyncpg::{Args, Database, Value};

mod copy;
mod demo;

/// PostgreSQL as easy as a notebook.
#[derive(Parser)]
#[command(name = "fastasyncpg", version, about)]
struct Cli {
    /// Connection URL or key=value DSN. Defaults to DATABASE_URL, then the PG* variables
    /// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGPASSFILE, PGAPPNAME, PGSSLMODE).
    #[arg(long, global = true)]
    url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Subcommand)]
enum Command {
    /// Run SQL and print the result.
    ///
    /// Placeholders may be $1, ? or :name. Each ARG and --param value is sent as text and
    /// read by the server as a literal of the parameter's type (so '2024-01-31', '{1,2}' or
    /// '[1,5)' work for date, array and range parameters).
    ///
    /// --format json prints one JSON array of objects keyed by column name. Values are exact:
    /// integers and numerics are JSON numbers with every digit (no rounding); NaN, Infinity
    /// and -Infinity (float or numeric) are the strings "NaN", "Infinity", "-Infinity"; bytea
    /// is a string "\\x<hex>"; dates and times are ISO 8601 strings; json/jsonb are embedded
    /// as JSON; arrays are JSON arrays; other types are their PostgreSQL text form.
    Q {
        /// The SQL to run.
        sql: String,
        /// Positional arguments for $n / ? placeholders.
        args: Vec<String>,
        /// A named argument for a :name placeholder, as NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List tables and views with their schema: those of every schema you can use (not the
    /// system ones), partitions left out.
    Tables,
    /// Show a table's or view's columns, types, keys and foreign keys.
    ///
    /// A bare name is looked up in the search path, then in the one other schema that has it;
    /// `schema.name` picks a schema, and either part may be double-quoted
    /// ('"Inventory"."Item"', 'inventory."Odd Name"').
    Describe {
        /// The table or view.
        table: String,
    },
    /// Start a throwaway PostgreSQL, load the Chinook sample database and take the tour.
    Demo,
    /// Load a file into a table with COPY, in one transaction: a bad row leaves the table as
    /// it was, and the error names its line.
    ///
    /// Formats: csv (default), text (PostgreSQL's tab-separated format with \N for NULL),
    /// tsv (tab-separated CSV) and jsonl (one JSON object per line, keys are column names).
    /// A progress bar is shown when stderr is a terminal; a summary line is printed at the end.
    Load {
        /// The table (`schema.table` works).
        table: String,
        /// The file to read, or `-` for standard input.
        file: String,
        #[command(flatten)]
        data: DataArgs,
        /// Create the table first, with column names from the header (or --columns) and types
        /// inferred from the first rows: bigint, numeric, double precision, boolean, date,
        /// timestamptz, jsonb (jsonl objects and arrays) or text.
        #[arg(long)]
        create: bool,
        /// Empty the table first (in the same transaction).
        #[arg(long)]
        truncate: bool,
    },
    /// Write a table or a query's result to a file with COPY (streamed).
    Export {
        /// The table (`schema.table` works), unless --query is given; then the output file.
        args: Vec<String>,
        /// A query to export instead of a table.
        #[arg(long)]
        query: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write a Rust module of typed models (one #[derive(Model)] struct per table, enums and
    /// composite types) for the database's schema.
    Gen {
        /// The file to write (`-` for standard output).
        #[arg(long, value_name = "FILE")]
        out: String,
        /// A schema to read (repeatable); default: every schema `tables` lists.
        #[arg(long = "schema", value_name = "NAME")]
        schemas: Vec<String>,
        /// Also write models for views and materialized views.
        #[arg(long)]
        views: bool,
    },
}

/// Data format flags of `load` and `export`.
#[derive(clap::Args)]
struct DataArgs {
    /// The data format.
    #[arg(long, value_enum, default_value = "csv")]
    format: copy::DataFormat,
    /// The first line holds the column names (csv, tsv, text).
    #[arg(long)]
    header: bool,
    /// The field delimiter (one character; csv, tsv, text).
    #[arg(long)]
    delimiter: Option<String>,
    /// The string that stands for NULL (csv, tsv, text).
    #[arg(long)]
    null: Option<String>,
    /// The columns, in the file's order (comma-separated).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
}

impl DataArgs {
    fn options(self) -> copy::DataOptions {
        copy::DataOptions {
            format: self.format,
            header: self.header,
            delimiter: self.delimiter,
            null: self.null,
            columns: self.columns,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How `tables` names a relation kind.
fn kind_name(k: fastasyncpg::schema::RelKind) -> &'static str {
    use fastasyncpg::schema::RelKind;
    match k {
        RelKind::PartitionedTable => "partitioned table",
        RelKind::ForeignTable => "foreign table",
        RelKind::View => "view",
        RelKind::MaterializedView => "materialized view",
        _ => "table",
    }
}

async fn open(url: &Option<String>) -> fastasyncpg::Result<Database> {
    fastasyncpg::connect(url.as_deref().unwrap_or("")).await
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Q {
            sql,
            args,
            params,
            format,
        } => {
            let mut a = Args::new();
            for v in args {
                a = a.arg(Value::Literal(v));
            }
            for p in params {
                let (k, v) = p
                    .split_once('=')
                    .ok_or_else(|| format!("--param {p:?} must look like NAME=VALUE"))?;
                a = a.named(k, Value::Literal(v.to_string()));
            }
            let db = open(&cli.url).await?;
            let res = db.q(&sql, a).await?;
            match format {
                Format::Table => println!("{res}"),
                Format::Json => println!("{}", serde_json::to_string_pretty(&res.to_json()?)?),
                Format::Csv => print!("{}", res.to_csv()?),
            }
        }
        Command::Tables => {
            let db = open(&cli.url).await?;
            // From the schema snapshot, so that `tables`, `describe`, `gen` and `db.t` agree
            // on what exists (partitions are left out, as `gen` leaves them out).
            let (mut schemas, mut names, mut kinds) = (Vec::new(), Vec::new(), Vec::new());
            for r in db.schema().relations().iter().filter(|r| !r.is_partition) {
                schemas.push(r.schema.clone());
                names.push(r.name.clone());
                kinds.push(kind_name(r.kind).to_string());
            }
            let res = db
                .q(
                    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(schema, name, kind)
                     ORDER BY 1, 2",
                    vec![
                        Value::from(schemas),
                        Value::from(names),
                        Value::from(kinds),
                    ],
                )
                .await?;
            println!("{res}");
        }
        Command::Describe { table } => {
            let db = open(&cli.url).await?;
            print!("{}", db.relation(&table)?.describe());
        }
        Command::Demo => demo::run(cli.url).await?,
        Command::Load {
            table,
            file,
            data,
            create,
            truncate,
        } => {
            let db = open(&cli.url).await?;
            copy::load(&db, &table, &file, &data.options(), create, truncate).await?;
        }
        Command::Export { args, query, data } => {
            let (table, file) = match (&query, args.as_slice()) {
                (None, [t]) => (Some(t.as_str()), "-"),
                (None, [t, f]) => (Some(t.as_str()), f.as_str()),
                (Some(_), []) => (None, "-"),
                (Some(_), [f]) => (None, f.as_str()),
                _ => return Err("usage: fastasyncpg export (TABLE | --query SQL) [FILE|-]".into()),
            };
            let db = open(&cli.url).await?;
            copy::export(&db, table, query.as_deref(), file, &data.options()).await?;
        }
        Command::Gen {
            out,
            schemas,
            views,
        } => {
            let db = open(&cli.url).await?;
            let opts = fastasyncpg::codegen::GenOptions { schemas, views };
            let src = fastasyncpg::codegen::generate(&db, &opts).await?;
            if out == "-" {
                print!("{src}");
            } else {
                std::fs::write(&out, src).map_err(|e| format!("cannot write {out}: {e}"))?;
                eprintln!("wrote {out}");
            }
        }
    }
    Ok(())
}
