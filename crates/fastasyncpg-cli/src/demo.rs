//! `fastasyncpg demo`: the tour of the fastasyncpg documentation, in Rust, on Chinook.

use fastasyncpg::{args, Database};

fn step(title: &str, code: &str) {
    println!("\n== {title}\n   {code}");
}

/// Runs the tour. Without `--url` (and without DATABASE_URL) a throwaway server is started.
pub async fn run(url: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(u) = &url {
        // Let the test server helper use the given server for the Chinook copy.
        std::env::set_var("DATABASE_URL", u);
    }
    let server = fastasyncpg_testing::TestServer::global()?;
    println!("PostgreSQL server: {}", server.url("postgres"));
    let chinook = server.chinook_db().await?;
    let db: Database = fastasyncpg::connect(&chinook).await?;
    println!("Connected: {db}");

    step(
        "How many artists?",
        r#"db.fetchval::<i64>("SELECT count(*) FROM artist", ())"#,
    );
    let n: i64 = db.fetchval("SELECT count(*) FROM artist", ()).await?;
    println!("{n}");

    step(
        "Results display as a table",
        r#"db.q("SELECT * FROM artist ORDER BY artist_id LIMIT 5", ())"#,
    );
    println!(
        "{}",
        db.q("SELECT * FROM artist ORDER BY artist_id LIMIT 5", ())
            .await?
    );

    step(
        "Placeholders: $1, ? and :name",
        r#"db.q("... WHERE name = ?", args!["AC/DC"])"#,
    );
    println!(
        "{}",
        db.q("SELECT * FROM artist WHERE name = $1", args!["AC/DC"])
            .await?
    );
    println!(
        "{}",
        db.q("SELECT * FROM artist WHERE name = ?", args!["AC/DC"])
            .await?
    );
    println!(
        "{}",
        db.q(
            "SELECT * FROM artist WHERE name = :name",
            args![; name = "AC/DC"]
        )
        .await?
    );

    step("Rows read by name", r#"row.get::<String, _>("title")"#);
    let row = db
        .fetchrow("SELECT * FROM album WHERE album_id = $1", args![1])
        .await?
        .ok_or("album 1 missing")?;
    println!("{row:?}");
    println!("title = {}", row.get::<String, _>("title")?);

    step(
        "db.item for scalars",
        r#"db.item::<i64>("SELECT artist_id FROM artist WHERE name = $1", args!["AC/DC"])"#,
    );
    println!(
        "{}",
        db.item::<i64>(
            "SELECT artist_id FROM artist WHERE name = $1",
            args!["AC/DC"]
        )
        .await?
    );

    step(
        "A transaction that fails is rolled back",
        "db.transaction(|tx| async move { ... })",
    );
    let before: i64 = db.fetchval("SELECT count(*) FROM genre", ()).await?;
    let r: Result<(), fastasyncpg::Error> = db
        .transaction(|tx| async move {
            tx.execute(
                "INSERT INTO genre (genre_id, name) VALUES ($1, $2)",
                args![1000, "Demo"],
            )
            .await?;
            tx.execute(
                "INSERT INTO genre (genre_id, name) VALUES ($1, $2)",
                args![1000, "Dup"],
            )
            .await?;
            Ok(())
        })
        .await;
    let after: i64 = db.fetchval("SELECT count(*) FROM genre", ()).await?;
    println!(
        "error: {}\ngenres before {before}, after {after}",
        r.err().map(|e| e.to_string()).unwrap_or_default()
    );

    println!(
        "\nDone. Next: `cargo run -p fastasyncpg-cli -- --url <your database> q \"SELECT 1\"`."
    );
    Ok(())
}
