//! `fastasyncpg demo`: the tour of the fastasyncpg documentation, in Rust, on Chinook.

use fastasyncpg::{args, record, CreateOptions, Database, ErrorKind};
use serde::Deserialize;

fn step(title: &str, code: &str) {
    println!("\n== {title}");
    for line in code.lines() {
        println!("   {line}");
    }
}

/// A table created from a Rust struct, like the seed's `class Cat`.
#[derive(Deserialize)]
#[allow(dead_code)] // only its shape is used
struct Cat {
    id: i64,
    name: Option<String>,
    weight: Option<f64>,
    uid: Option<i32>,
}

/// Runs the tour. Without `--url` (and without DATABASE_URL) a throwaway server is started.
pub async fn run(url: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(u) = &url {
        // The server helper creates the Chinook copy on the server named by DATABASE_URL.
        std::env::set_var("DATABASE_URL", u);
    }
    let server = fastasyncpg_testing::TestServer::global()?;
    let chinook = server.chinook_db().await?;
    let db: Database = fastasyncpg::connect(&chinook).await?;
    println!("Connected to a fresh copy of Chinook: {db}");

    step(
        "Every table of the live schema is a handle",
        "db.tables().names()",
    );
    println!("{}", db.tables().names().join(" "));

    step(
        "A table handle",
        "let artist = db.t(\"artist\")?;\nartist.pks(); artist.columns()",
    );
    let artist = db.t("artist")?;
    println!(
        "{artist}  pks={:?}  columns={:?}",
        artist.pks(),
        artist.columns()
    );

    step(
        "Columns display as quoted SQL",
        "let name = artist.c(\"name\")?;\nformat!(\"select {name} from {artist}\")",
    );
    let name = artist.c("name")?;
    println!("select {name} from {artist}");

    step(
        "Queries render as tables",
        "db.q(&format!(\"select * from {artist} where {name} like 'AC/%'\"), ())",
    );
    println!(
        "{}",
        db.q(
            &format!("select * from {artist} where {name} like 'AC/%'"),
            ()
        )
        .await?
    );

    step(
        "Placeholders: $1, ? and :name",
        "db.q(\"... where name = ?\", args![\"AC/DC\"])\ndb.q(\"... where name = :name\", args![; name = \"AC/DC\"])",
    );
    println!(
        "{}",
        db.q(
            &format!("select * from {artist} where {name} = ?"),
            args!["AC/DC"]
        )
        .await?
    );
    println!(
        "{}",
        db.q(
            &format!("select * from {artist} where {name} = :name"),
            args![; name = "AC/DC"]
        )
        .await?
    );

    step(
        "Get by primary key",
        "artist.at(1).await?        // the seed's artist[1]\nartist.get(99999).await?   // None",
    );
    println!("{:?}", artist.at(1).await?);
    println!("{:?}", artist.get(99999).await?);

    step(
        "Rows, with limit and order",
        "artist.rows().order_by(\"artist_id\").limit(3).await?",
    );
    println!("{}", artist.rows().order_by("artist_id").limit(3).await?);

    step(
        "Scoped handles: every operation stays inside the scope",
        "let album = db.t(\"album\")?;\nalbum.count().await?\nalbum.xtra(record!{artist_id: 1})?.count().await?",
    );
    let album = db.t("album")?;
    let acdc_albums = album.xtra(record! {artist_id: 1})?;
    println!(
        "{} albums, {} by artist 1",
        album.count().await?,
        acdc_albums.count().await?
    );
    println!("{}", acdc_albums.rows().await?);
    match acdc_albums.at(2).await {
        Err(e) if e.kind() == ErrorKind::NotFound => println!("album 2 is outside the scope: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    step(
        "selectone: exactly one row",
        "artist.selectone(\"name = ?\", args![\"AC/DC\"]).await?",
    );
    println!("{:?}", artist.selectone("name = ?", args!["AC/DC"]).await?);
    let e = artist
        .selectone("name LIKE ?", args!["%a%"])
        .await
        .expect_err("several rows");
    println!("{:?}: {e}", e.kind());

    step(
        "db.item for scalars",
        "db.item::<i64>(\"select artist_id from artist where name=$1\", args![\"AC/DC\"])",
    );
    println!(
        "{}",
        db.item::<i64>("select artist_id from artist where name=$1", args!["AC/DC"])
            .await?
    );

    step(
        "Create a table from a Rust struct",
        "#[derive(Deserialize)] struct Cat { id: i64, name: Option<String>, weight: Option<f64>, uid: Option<i32> }\nlet cats = db.create::<Cat>(CreateOptions::new().name(\"cat\").replace()).await?;",
    );
    let cats = db
        .create::<Cat>(CreateOptions::new().name("cat").replace())
        .await?;
    println!("{}", cats.describe());

    step(
        "insert returns the row, with the generated id",
        "cats.insert(record!{name: \"meow\", weight: 6, uid: 2}).await?",
    );
    let c = cats
        .insert(record! {name: "meow", weight: 6, uid: 2})
        .await?;
    println!("{c:?}");
    let cats1 = cats.xtra(record! {uid: 1})?;
    println!(
        "{:?}",
        cats1.insert(record! {name: "purr", weight: 4}).await?
    );

    step(
        "update by primary key",
        "cats.update(record!{id: 1, name: \"moo\", uid: 1}).await?",
    );
    println!(
        "{:?}",
        cats.update(record! {id: 1, name: "moo", uid: 1}).await?
    );
    let blocked = cats
        .xtra(record! {uid: 2})?
        .update(record! {id: 1, name: "x"})
        .await;
    println!(
        "through the uid=2 scope: {}",
        blocked.err().map(|e| e.to_string()).unwrap_or_default()
    );

    step(
        "upsert, delete, delete_where",
        "cats.upsert(..); cats.delete(1); cats.delete_where(\"weight > ?\", args![3])",
    );
    println!(
        "{:?}",
        cats.upsert(record! {id: 1, name: "Rexy", weight: 6.5})
            .await?
    );
    println!(
        "{:?}",
        cats.upsert(record! {name: "Spot", weight: 3}).await?
    );
    println!("deleted {:?}", cats.delete(1).await?);
    println!(
        "deleted {} rows",
        cats.delete_where("weight > ?", args![3]).await?.len()
    );
    println!("{}", cats.rows().await?);

    step(
        "A transaction that fails is rolled back",
        "db.transaction(|tx| async move { ... }).await",
    );
    let before = db.t("genre")?.count().await?;
    let r: Result<(), fastasyncpg::Error> = db
        .transaction(|tx| async move {
            let genre = tx.t("genre")?;
            genre.insert(record! {genre_id: 1000, name: "Demo"}).await?;
            genre.insert(record! {genre_id: 1000, name: "Dup"}).await?;
            Ok(())
        })
        .await;
    println!("{}", r.err().map(|e| e.to_string()).unwrap_or_default());
    println!(
        "genres before {before}, after {}",
        db.t("genre")?.count().await?
    );

    println!("\nDone. Try: cargo run -p fastasyncpg-cli -- --url <your database> describe <table>");
    Ok(())
}
