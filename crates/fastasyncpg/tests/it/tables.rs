//! The seed document's table examples on Chinook and the cat/dog round trips.

use fastasyncpg::{args, record, CreateOptions, ErrorKind, Record, Row};

use crate::common::{chinook, db};

fn s(r: &Row, c: &str) -> String {
    r.get::<String, _>(c).unwrap()
}
fn i(r: &Row, c: &str) -> i64 {
    r.get::<i64, _>(c).unwrap()
}

#[tokio::test]
async fn seed_tables_and_handles() {
    let db = chinook().await;
    let dt = db.tables();
    assert!(dt.contains("artist"));
    assert!(!dt.contains("foo"));
    assert_eq!(dt.len(), 11);
    let names: Vec<String> = dt
        .iter()
        .filter(|t| t.name().starts_with('a'))
        .map(|t| t.to_string())
        .collect();
    assert_eq!(names, ["\"album\"", "\"artist\""]);
    let two = dt.get_many(&["album", "artist"]).unwrap();
    assert_eq!(format!("{:?}", two), "[Table \"album\", Table \"artist\"]");

    let artist = db.t("artist").unwrap();
    assert_eq!(artist.to_string(), "\"artist\"");
    assert_eq!(artist.pks(), ["artist_id"]);
    assert_eq!(
        artist.columns(),
        vec![("artist_id", "integer"), ("name", "character varying(120)")]
    );
    assert_eq!(artist.c("name").unwrap().to_string(), "\"artist\".\"name\"");
    assert_eq!(
        format!("select {} from {artist}", artist.c("name").unwrap()),
        "select \"artist\".\"name\" from \"artist\""
    );
    assert_eq!(artist.cols().len(), 2);

    let e = db.t("artsit").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    assert!(e.to_string().contains("did you mean: artist"), "{e}");
    let e = db.t("Artist").unwrap_err();
    assert!(e.to_string().contains("artist"), "{e}");
}

#[tokio::test]
async fn seed_get_and_at() {
    let db = chinook().await;
    let artist = db.t("artist").unwrap();
    let a = artist.at(1).await.unwrap();
    assert_eq!(s(&a, "name"), "AC/DC");
    assert_eq!(s(&artist.get(1).await.unwrap().unwrap(), "name"), "AC/DC");
    assert!(artist.get(99999).await.unwrap().is_none());
    let e = artist.at(99999).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("\"artist\"[99999]"), "{e}");

    let album = db.t("album").unwrap();
    assert_eq!(
        s(&album.at(1).await.unwrap(), "title"),
        "For Those About To Rock We Salute You"
    );
    let acdc = album.xtra(record! { artist_id: 1 }).unwrap();
    assert_eq!(i(&acdc.at(1).await.unwrap(), "album_id"), 1);
    assert_eq!(acdc.at(2).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn seed_rows_count_and_selectone() {
    let db = chinook().await;
    let artist = db.t("artist").unwrap();
    let first3 = artist.rows().limit(3).await.unwrap();
    let names: Vec<String> = first3.iter().map(|r| s(r, "name")).collect();
    assert_eq!(names, ["AC/DC", "Accept", "Aerosmith"]);
    let with_pk = artist.rows().limit(3).with_pk().await.unwrap();
    assert_eq!(with_pk[1].0.to_string(), "2");
    assert_eq!(s(&with_pk[1].1, "name"), "Accept");
    let pr = artist
        .pks_and_rows_where("artist_id < $1", args![3])
        .await
        .unwrap();
    assert_eq!(pr.len(), 2);

    let album = db.t("album").unwrap();
    assert_eq!(album.count().await.unwrap(), 347);
    let acdc = album.xtra(record! { artist_id: 1 }).unwrap();
    assert_eq!(acdc.count().await.unwrap(), 2);
    let ids: Vec<i64> = acdc
        .rows()
        .limit(5)
        .await
        .unwrap()
        .iter()
        .map(|r| i(r, "album_id"))
        .collect();
    assert_eq!(ids, [1, 4]);
    assert_eq!(acdc.unscoped().count().await.unwrap(), 347);
    assert_eq!(
        album.count().await.unwrap(),
        347,
        "scoping made a new handle"
    );

    let one = artist.selectone("name = $1", args!["AC/DC"]).await.unwrap();
    assert_eq!(i(&one, "artist_id"), 1);
    let e = artist
        .selectone("name LIKE $1", args!["%a%"])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotUnique);
    let e = artist
        .selectone("name = $1", args!["i do not exist"])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    let rows = artist
        .rows_where("name LIKE $1", args!["A%"])
        .order_by("name DESC")
        .select("name")
        .limit(2)
        .offset(1)
        .await
        .unwrap();
    assert_eq!(rows.columns().names(), ["name"]);
    assert_eq!(rows.len(), 2);
    let (sql, _) = artist
        .rows_where("name = $1", args!["x"])
        .limit(2)
        .sql()
        .unwrap();
    assert_eq!(sql, "SELECT * FROM \"artist\" WHERE (name = $1) LIMIT 2");

    let g = album
        .groupby(&["artist_id"], "count(*) AS n")
        .limit(3)
        .await
        .unwrap();
    assert_eq!(g.columns().names(), ["artist_id", "n"]);
    assert_eq!((i(&g[0], "artist_id"), i(&g[0], "n")), (1, 2));
    let g = album
        .groupby(&["artist_id"], "count(*) AS n")
        .filter("artist_id = $1", args![90])
        .await
        .unwrap();
    assert_eq!(i(&g[0], "n"), 21);
    let e = album.groupby(&["nope"], "count(*)").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
}

#[tokio::test]
async fn seed_placeholder_styles_in_where() {
    let db = chinook().await;
    let artist = db.t("artist").unwrap();
    let a = artist.selectone("name = ?", args!["AC/DC"]).await.unwrap();
    assert_eq!(i(&a, "artist_id"), 1);
    let e = artist
        .selectone("name LIKE ?", args!["%a%"])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotUnique);
    let a = artist
        .selectone("name = :n", args![; n = "Accept"])
        .await
        .unwrap();
    assert_eq!(i(&a, "artist_id"), 2);
    // A scoped handle numbers its own parameters after the caller's.
    let album = db
        .t("album")
        .unwrap()
        .xtra(record! { artist_id: 1 })
        .unwrap();
    assert_eq!(
        album
            .count_where("title LIKE ?", args!["%Rock%"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        album
            .count_where("album_id = :id", args![; id = 4])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        album
            .rows_where("album_id > $1", args![1])
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn cat_table(db: &fastasyncpg::Database) -> fastasyncpg::Table {
    db.execute(
        "DROP TABLE IF EXISTS cat; CREATE TABLE cat (id SERIAL PRIMARY KEY, name TEXT, weight REAL, uid INTEGER)",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    db.t("cat").unwrap()
}

#[tokio::test]
async fn seed_cat_insert_update_delete() {
    let db = db().await;
    let cats = cat_table(&db).await;
    let c = cats
        .insert(record! { name: "meow", weight: 6, uid: 2 })
        .await
        .unwrap();
    assert_eq!(
        (
            i(&c, "id"),
            s(&c, "name"),
            c.get::<f64, _>("weight").unwrap(),
            i(&c, "uid")
        ),
        (1, "meow".into(), 6.0, 2)
    );

    let scoped = cats.xtra(record! { uid: 1 }).unwrap();
    let c2 = scoped
        .insert(record! { name: "purr", weight: 4 })
        .await
        .unwrap();
    assert_eq!((i(&c2, "id"), i(&c2, "uid")), (2, 1));
    assert_eq!(scoped.rows().await.unwrap().len(), 1);
    assert_eq!(cats.rows().await.unwrap().len(), 2);

    // update from a row changed by name (the seed's `c.name = "moo"; cats.update(c)`)
    let mut rec = Record::from_row(&c).unwrap();
    rec.set("name", "moo");
    rec.set("uid", 1);
    let u = cats.update(&rec).await.unwrap();
    assert_eq!((s(&u, "name"), i(&u, "uid")), ("moo".into(), 1));
    let all = cats.rows().order_by("id").await.unwrap();
    assert_eq!(
        all.iter().map(|r| s(r, "name")).collect::<Vec<_>>(),
        ["moo", "purr"]
    );

    // cat 1 has uid=1: a handle scoped to uid=2 cannot update it
    let other = cats.xtra(record! { uid: 2 }).unwrap();
    rec.set("uid", 2);
    let e = other.update(&rec).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(s(&cats.at(1).await.unwrap(), "name"), "moo");

    let d = cats.delete(1).await.unwrap();
    assert_eq!(s(&d, "name"), "moo");
    assert_eq!(cats.count().await.unwrap(), 1);
    let e = cats
        .xtra(record! { uid: 99 })
        .unwrap()
        .delete(2)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("\"cat\"[2]"), "{e}");

    cats.insert(record! { name: "Cat McCat Face", weight: 9 })
        .await
        .unwrap();
    let sk = cats
        .insert(record! { name: "Skitter", weight: 2 })
        .await
        .unwrap();
    assert_eq!(
        (i(&sk, "id"), sk.get::<Option<i64>, _>("uid").unwrap()),
        (4, None)
    );
    let gone = cats.delete_where("weight > $1", args![3]).await.unwrap();
    let mut names: Vec<String> = gone.iter().map(|r| s(r, "name")).collect();
    names.sort();
    assert_eq!(names, ["Cat McCat Face", "purr"]);
    let left = cats.rows().await.unwrap();
    assert_eq!(
        left.iter().map(|r| s(r, "name")).collect::<Vec<_>>(),
        ["Skitter"]
    );

    // update_with: key given apart from the values
    let u = cats.update_with(4, record! { weight: 3 }).await.unwrap();
    assert_eq!(u.get::<f64, _>("weight").unwrap(), 3.0);
    // an empty record inserts defaults
    let e = cats.insert(Record::new()).await.unwrap();
    assert_eq!(i(&e, "id"), 5);
    assert!(e.get::<Option<String>, _>("name").unwrap().is_none());
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Dog {
    id: Option<i64>,
    name: String,
    age: i32,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Toy {
    id: i64,
    name: String,
    dog_id: i64,
}

#[tokio::test]
async fn seed_dog_create_and_upsert() {
    let db = db().await;
    let dogs = db
        .create::<Dog>(CreateOptions::new().replace())
        .await
        .unwrap();
    assert_eq!(
        dogs.columns(),
        vec![("id", "bigint"), ("name", "text"), ("age", "integer")]
    );
    assert_eq!(dogs.pks(), ["id"]);
    let d = dogs
        .insert(
            Record::from_serialize(&Dog {
                id: None,
                name: "Rex".into(),
                age: 5,
            })
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        (i(&d, "id"), s(&d, "name"), i(&d, "age")),
        (1, "Rex".into(), 5)
    );

    let toys = db
        .create::<Toy>(
            CreateOptions::new()
                .replace()
                .foreign_key("dog_id", "dog", "id"),
        )
        .await
        .unwrap();
    let t = toys
        .insert(record! { name: "Ball", dog_id: 1 })
        .await
        .unwrap();
    assert_eq!(i(&t, "dog_id"), 1);
    let e = toys
        .insert(record! { name: "Bone", dog_id: 42 })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ForeignKeyViolation);
    assert_eq!(toys.meta().foreign_keys[0].ref_table, "dog");

    // upsert an existing row: Rex's age 5 -> 6
    let u = dogs
        .upsert(record! { id: 1, name: "Rex", age: 6 })
        .await
        .unwrap();
    assert_eq!(i(&u, "age"), 6);
    assert_eq!(dogs.count().await.unwrap(), 1);
    // upsert without an id inserts
    let spot = dogs.upsert(record! { name: "Spot", age: 3 }).await.unwrap();
    assert_eq!(i(&spot, "id"), 2);
    let all = dogs.rows().order_by("id").await.unwrap();
    assert_eq!(
        all.iter()
            .map(|r| (s(r, "name"), i(r, "age")))
            .collect::<Vec<_>>(),
        [("Rex".into(), 6), ("Spot".into(), 3)]
    );
    // with xtra, upsert merges the scope into the row
    let six = dogs.xtra(record! { age: 6 }).unwrap();
    let r = six.upsert(record! { id: 1, name: "Rexy" }).await.unwrap();
    assert_eq!((s(&r, "name"), i(&r, "age")), ("Rexy".into(), 6));

    toys.drop(false).await.unwrap();
    assert!(!db.tables().contains("toy"));
    dogs.drop(true).await.unwrap();
    assert!(db.t("dog").is_err());
}
