//! Scoped handles (`xtra`): every operation confined to the scope, no shared state; table
//! handles over held connections and transactions.

use fastasyncpg::{args, record, Database, ErrorKind, Job, Row, Table, UpsertOptions};

use crate::common::db;

fn s(r: &Row, c: &str) -> String {
    r.get::<String, _>(c).unwrap()
}
fn i(r: &Row, c: &str) -> i64 {
    r.get::<i64, _>(c).unwrap()
}

async fn notes(db: &Database) -> Table {
    db.execute(
        "CREATE TABLE notes (id serial PRIMARY KEY, uid int NOT NULL, body text, status text NOT NULL DEFAULT 'pending', error text)",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("notes").unwrap();
    // ids 1..=3 belong to uid 1, ids 4..=6 to uid 2
    for uid in [1, 2] {
        for n in 0..3 {
            t.insert(record! { uid: uid, body: format!("u{uid} n{n}") })
                .await
                .unwrap();
        }
    }
    t
}

/// The rows of uid 2, as they are before and must stay after every attempt through uid 1.
async fn uid2_state(t: &Table) -> Vec<(i64, String, String)> {
    t.unscoped()
        .rows_where("uid = $1", args![2])
        .order_by("id")
        .await
        .unwrap()
        .iter()
        .map(|r| (i(r, "id"), s(r, "body"), s(r, "status")))
        .collect()
}

#[tokio::test]
async fn scoped_handle_never_leaks() {
    let db = db().await;
    let t = notes(&db).await;
    let u1 = t.xtra(record! { uid: 1 }).unwrap();
    let before = uid2_state(&t).await;
    let nf = |e: fastasyncpg::Error| assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // reads
    assert!(u1.get(4).await.unwrap().is_none());
    nf(u1.at(4).await.unwrap_err());
    assert_eq!(u1.rows().await.unwrap().len(), 3);
    assert!(u1
        .rows_where("true", ())
        .await
        .unwrap()
        .iter()
        .all(|r| i(r, "uid") == 1));
    assert_eq!(u1.rows_where("id > $1", args![3]).await.unwrap().len(), 0);
    assert_eq!(u1.count().await.unwrap(), 3);
    assert_eq!(u1.count_where("id = $1", args![4]).await.unwrap(), 0);
    nf(u1.selectone("id = $1", args![4]).await.unwrap_err());
    assert_eq!(u1.pks_and_rows_where("", ()).await.unwrap().len(), 3);
    let g = u1.groupby(&["uid"], "count(*) AS n").await.unwrap();
    assert_eq!((g.len(), i(&g[0], "n")), (1, 3));
    // a where clause cannot widen the scope (it is parenthesised and ANDed)
    assert_eq!(u1.count_where("uid = 2 OR true", ()).await.unwrap(), 3);

    // single-row writes on uid 2's rows
    nf(u1
        .update(record! { id: 4, body: "hacked" })
        .await
        .unwrap_err());
    nf(u1
        .update_with(4, record! { body: "hacked" })
        .await
        .unwrap_err());
    nf(u1
        .upsert(record! { id: 4, body: "hacked" })
        .await
        .unwrap_err());
    assert!(u1
        .upsert_with(record! { id: 4, body: "hacked" }, UpsertOptions::new())
        .await
        .unwrap()
        .is_none());
    assert!(u1
        .upsert_with(
            record! { id: 4, body: "x" },
            UpsertOptions::new().do_nothing()
        )
        .await
        .unwrap()
        .is_none());
    nf(u1.delete(4).await.unwrap_err());
    let changed = u1
        .update_where(record! { body: "touched" }, "id >= $1", args![3])
        .await
        .unwrap();
    assert_eq!(changed.iter().map(|r| i(r, "id")).collect::<Vec<_>>(), [3]);
    // moving a row out of the scope, or writing another scope's value, is refused
    assert_eq!(
        u1.update(record! { id: 1, uid: 2 })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Usage
    );
    assert_eq!(
        u1.insert(record! { uid: 2, body: "x" })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Usage
    );
    assert_eq!(
        u1.update_where(record! { uid: 2 }, "", ())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Usage
    );

    // bulk writes on uid 2's rows: all or nothing
    nf(u1
        .updates(vec![
            record! { id: 1, body: "ok" },
            record! { id: 5, body: "hacked" },
        ])
        .await
        .unwrap_err());
    assert_eq!(
        s(&u1.at(1).await.unwrap(), "body"),
        "u1 n0",
        "the failed bulk update changed nothing"
    );
    nf(u1
        .upserts(vec![record! { id: 6, body: "hacked" }])
        .await
        .unwrap_err());
    let kept = u1
        .upserts_with(
            vec![record! { id: 6, body: "hacked" }],
            UpsertOptions::new().do_nothing(),
        )
        .await
        .unwrap();
    assert_eq!(
        kept, 0,
        "a row outside the scope is left alone, not counted"
    );

    // inserts take the scope values
    let new = u1
        .inserts_returning(vec![record! { body: "a" }, record! { body: "b", uid: 1 }])
        .await
        .unwrap();
    assert!(new.iter().all(|r| i(r, "uid") == 1));
    assert_eq!(u1.copy_in(vec![record! { body: "c" }]).await.unwrap(), 1);
    let up = u1.upsert(record! { body: "d" }).await.unwrap();
    assert_eq!(i(&up, "uid"), 1);
    assert_eq!(u1.count().await.unwrap(), 7);

    // the job queue only claims rows in scope
    let claimed = u1.claim(100).await.unwrap();
    assert_eq!(claimed.len(), 7);
    assert!(claimed.iter().all(|r| i(r, "uid") == 1));
    assert!(u1
        .claim_one(|_, _| async { Ok::<_, String>(Job::Done) })
        .await
        .unwrap()
        .is_none());

    // delete_where with no clause deletes the scope's rows only
    let gone = u1.delete_where("", ()).await.unwrap();
    assert_eq!(gone.len(), 7);
    assert_eq!(u1.count().await.unwrap(), 0);

    assert_eq!(
        uid2_state(&t).await,
        before,
        "uid 2's rows were never touched"
    );
    assert_eq!(t.count().await.unwrap(), 3);
}

#[tokio::test]
async fn defect_10_xtra_returns_a_new_handle() {
    let db = db().await;
    let t = notes(&db).await;
    let u1 = t.xtra(record! { uid: 1 }).unwrap();
    let u2 = t.xtra(record! { uid: 2 }).unwrap();
    assert_eq!(t.count().await.unwrap(), 6, "the base handle is not scoped");
    assert_eq!(u1.count().await.unwrap(), 3);
    assert_eq!(u2.count().await.unwrap(), 3);
    assert_eq!(format!("{u1:?}"), "Table \"notes\" xtra(uid=1)");
    // a handle from db.t is never a cached scoped object
    assert_eq!(db.t("notes").unwrap().count().await.unwrap(), 6);
    assert_eq!(u1.xtra(record! {}).unwrap().count().await.unwrap(), 6);
    assert_eq!(u1.unscoped(), t);

    // concurrent tenants over a pool
    let pool = db
        .options()
        .clone()
        .create_pool(fastasyncpg::PoolOptions::default())
        .await
        .unwrap();
    let base = pool.t("notes").unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let base = base.clone();
            tokio::spawn(async move {
                let uid = 1 + n % 2;
                let h = base.xtra(record! { uid: uid }).unwrap();
                for _ in 0..10 {
                    let rows = h.rows().await.unwrap();
                    assert!(rows
                        .iter()
                        .all(|r| r.get::<i64, _>("uid").unwrap() == uid as i64));
                    assert_eq!(rows.len(), 3);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn table_handles_in_transactions_and_held_connections() {
    let db = db().await;
    let t = notes(&db).await;
    // a failed block rolls back the table writes made inside it
    let r: fastasyncpg::Result<()> = db
        .transaction(|tx| async move {
            let nt = tx.t("notes")?;
            nt.insert(record! { uid: 3, body: "in tx" }).await?;
            nt.delete(1).await?;
            nt.inserts(vec![record! { uid: 3 }, record! { uid: 3 }])
                .await?;
            assert_eq!(nt.count().await?, 8);
            nt.at(12345).await?; // fails: NotFound
            Ok(())
        })
        .await;
    assert_eq!(r.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(t.count().await.unwrap(), 6);
    assert!(t.get(1).await.unwrap().is_some());

    // a committed block keeps them
    db.transaction(|tx| async move {
        let nt = tx.t("notes")?;
        nt.insert(record! { uid: 3, body: "kept" }).await?;
        Ok::<_, fastasyncpg::Error>(())
    })
    .await
    .unwrap();
    assert_eq!(t.count_where("uid = $1", args![3]).await.unwrap(), 1);

    // begin/rollback with a handle moved onto the transaction
    let tx = db.begin().await.unwrap();
    t.on(&tx).delete_where("", ()).await.unwrap();
    assert_eq!(t.on(&tx).count().await.unwrap(), 0);
    tx.rollback().await.unwrap();
    assert_eq!(t.count().await.unwrap(), 7);

    // the same API over a pool and a held pooled connection
    let pool = db
        .options()
        .clone()
        .create_pool(fastasyncpg::PoolOptions::default())
        .await
        .unwrap();
    let held = pool.acquire().await.unwrap();
    let ht = held.t("notes").unwrap();
    assert_eq!(ht.count().await.unwrap(), 7);
    let r = ht.insert(record! { uid: 4 }).await.unwrap();
    assert_eq!(
        pool.t("notes")
            .unwrap()
            .at(i(&r, "id"))
            .await
            .unwrap()
            .get::<i64, _>("uid")
            .unwrap(),
        4
    );
    // pool transactions
    let res: fastasyncpg::Result<()> = pool
        .transaction(|tx| async move {
            tx.t("notes")?.delete_where("uid = $1", args![4]).await?;
            Err(fastasyncpg::Error::new(ErrorKind::Other, "changed my mind"))
        })
        .await;
    assert!(res.is_err());
    assert_eq!(
        pool.t("notes")
            .unwrap()
            .count_where("uid = $1", args![4])
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn defect_07_limit_zero_returns_no_rows() {
    let db = db().await;
    let t = notes(&db).await;
    assert_eq!(t.rows().limit(0).await.unwrap().len(), 0);
    assert_eq!(
        t.rows_where("uid = $1", args![1])
            .limit(0)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(t.rows().limit(0).offset(2).await.unwrap().len(), 0);
    assert_eq!(t.rows().limit(2).await.unwrap().len(), 2);
}

#[tokio::test]
async fn defect_08_caller_args_are_not_mutated() {
    let db = db().await;
    let t = notes(&db).await;
    let scoped = t.xtra(record! { uid: 1 }).unwrap();
    let a = args![2];
    let first = scoped.rows_where("id >= $1", &a).await.unwrap().len();
    let second = scoped.rows_where("id >= $1", &a).await.unwrap().len();
    assert_eq!((first, second), (2, 2));
    assert_eq!(scoped.count_where("id >= $1", &a).await.unwrap(), 2);
    assert_eq!(scoped.delete_where("id >= $1", &a).await.unwrap().len(), 2);
    assert_eq!(a, args![2], "the caller's arguments are unchanged");
    // a placeholder without an argument is an error, never filled by the scope's own parameter
    let e = scoped.rows_where("id = $2", args![5]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Bind, "{e}");
    let e = scoped
        .delete_where("id = $2 OR id = $1", args![5])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Bind, "{e}");
    assert_eq!(scoped.count_where("id::text = '$2'", ()).await.unwrap(), 0);
}

#[tokio::test]
async fn defect_09_count_where_accepts_question_marks() {
    let db = db().await;
    let t = notes(&db).await;
    assert_eq!(
        t.count_where("uid = ? AND id > ?", args![1, 1])
            .await
            .unwrap(),
        2
    );
    let scoped = t.xtra(record! { uid: 2 }).unwrap();
    assert_eq!(scoped.count_where("id > ?", args![4]).await.unwrap(), 2);
    assert_eq!(
        scoped
            .count_where("id > :min", args![; min = 5])
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn defect_11_update_without_primary_key_is_refused() {
    let db = db().await;
    db.execute(
        "CREATE TABLE nokey (a int, b text); INSERT INTO nokey VALUES (1, 'x'), (2, 'y')",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("nokey").unwrap();
    let e = t.update(record! { a: 1, b: "changed" }).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("no primary key"), "{e}");
    assert_eq!(
        t.xtra(record! { a: 1 })
            .unwrap()
            .update(record! { b: "changed" })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Usage
    );
    assert_eq!(
        t.updates(vec![record! { a: 1, b: "changed" }])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Usage
    );
    assert_eq!(
        t.count_where("b = $1", args!["changed"]).await.unwrap(),
        0,
        "no row was changed"
    );
    // the explicit way
    let rows = t
        .update_where(record! { b: "changed" }, "a = $1", args![1])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}
