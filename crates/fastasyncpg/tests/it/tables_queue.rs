//! The job queue: `claim` and `claim_one` with many concurrent workers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fastasyncpg::{args, record, Database, ErrorKind, Job, PoolOptions, Row};

use crate::common::db;

fn s(r: &Row, c: &str) -> String {
    r.get::<String, _>(c).unwrap()
}
fn i(r: &Row, c: &str) -> i64 {
    r.get::<i64, _>(c).unwrap()
}

async fn jobs(db: &Database, n: usize) -> fastasyncpg::Table {
    db.execute(
        "CREATE TABLE jobs (id serial PRIMARY KEY, payload int, status text NOT NULL DEFAULT 'pending', error text);
         CREATE TABLE done (job_id int PRIMARY KEY, worker int)",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("jobs").unwrap();
    t.inserts((0..n).map(|p| record! { payload: p as i64 }))
        .await
        .unwrap();
    t
}

#[tokio::test]
async fn defect_16_claim_returns_every_claimed_row() {
    let db = db().await;
    let t = jobs(&db, 10).await;
    let got = t.claim(4).await.unwrap();
    assert_eq!(
        got.iter().map(|r| i(r, "id")).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(got.iter().all(|r| s(r, "status") == "running"));
    let got = t.claim(100).await.unwrap();
    assert_eq!(got.len(), 6);
    assert_eq!(
        t.count_where("status = $1", args!["running"])
            .await
            .unwrap(),
        10
    );
    assert!(t.claim(5).await.unwrap().is_empty());
}

#[tokio::test]
async fn claim_skips_rows_locked_by_another_transaction() {
    let db = db().await;
    let t = jobs(&db, 3).await;
    let pool = db
        .options()
        .clone()
        .create_pool(PoolOptions::default())
        .await
        .unwrap();
    let tx = pool.begin().await.unwrap();
    let mine = pool.t("jobs").unwrap().on(&tx).claim(2).await.unwrap();
    assert_eq!(mine.len(), 2);
    // the other worker does not wait for the locked rows and gets the third
    let other = t.claim(5).await.unwrap();
    assert_eq!(other.iter().map(|r| i(r, "id")).collect::<Vec<_>>(), [3]);
    tx.rollback().await.unwrap();
    // rolled back: the two rows are pending again
    assert_eq!(t.claim(5).await.unwrap().len(), 2);
}

#[tokio::test]
async fn claim_one_marks_done_failed_or_retry() {
    let db = db().await;
    let t = jobs(&db, 3).await;
    // done: the work's writes are kept
    let r = t
        .claim_one(|job, tx| async move {
            tx.execute(
                "INSERT INTO done VALUES ($1, 0)",
                args![job.get::<i64, _>("id")?],
            )
            .await?;
            Ok::<_, fastasyncpg::Error>(Job::Done)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((i(&r, "id"), s(&r, "status")), (1, "completed".into()));
    // failed: the work's writes are rolled back, the error kept
    let r = t
        .claim_one(|job, tx| async move {
            let id: i64 = job.get("id").map_err(|e| e.to_string())?;
            tx.execute("INSERT INTO done VALUES ($1, 0)", args![id])
                .await
                .map_err(|e| e.to_string())?;
            Err::<Job, _>(format!("boom on {id}"))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (i(&r, "id"), s(&r, "status"), s(&r, "error")),
        (2, "failed".into(), "boom on 2".into())
    );
    // retry: back to pending, writes rolled back
    let r = t
        .claim_one(|job, tx| async move {
            tx.execute(
                "INSERT INTO done VALUES ($1, 0)",
                args![job.get::<i64, _>("id")?],
            )
            .await?;
            Ok::<_, fastasyncpg::Error>(Job::Retry)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((i(&r, "id"), s(&r, "status")), (3, "pending".into()));
    assert_eq!(
        db.fetchval::<i64>("SELECT count(*) FROM done", ())
            .await
            .unwrap(),
        1
    );
    // a panicking / dropped worker leaves its job pending
    let t2 = t.clone();
    let h = tokio::spawn(async move {
        t2.claim_one(|_, _| async move {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok::<_, String>(Job::Done)
        })
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    h.abort();
    let _ = h.await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(s(&t.at(3).await.unwrap(), "status"), "pending");
    // custom column names and statuses
    db.execute(
        "CREATE TABLE q2 (k text PRIMARY KEY, state text, why text); INSERT INTO q2 VALUES ('a', 'todo', NULL)",
        (),
    )
    .await
    .unwrap();
    db.refresh().await.unwrap();
    let q = db
        .t("q2")
        .unwrap()
        .queue()
        .status_column("state")
        .error_column("why")
        .statuses("todo", "doing", "ok", "bad");
    let r = q
        .claim_one(|_, _| async { Err::<Job, _>("nope") })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s(&r, "state"), s(&r, "why")),
        ("bad".into(), "nope".into())
    );
    let e = db.t("q2").unwrap().claim(1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
}

#[tokio::test]
async fn concurrent_workers_run_every_job_exactly_once() {
    const JOBS: usize = 200;
    const WORKERS: i64 = 8;
    let db = db().await;
    jobs(&db, JOBS).await;
    let pool = db
        .options()
        .clone()
        .create_pool(PoolOptions::default().max_size(WORKERS as usize))
        .await
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(Mutex::new(HashSet::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let t = pool.t("jobs").unwrap();
            let runs = runs.clone();
            let retried = retried.clone();
            tokio::spawn(async move {
                let mut mine = 0;
                loop {
                    let runs = runs.clone();
                    let retried = retried.clone();
                    let r = t
                        .claim_one(move |job, tx| async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            let id: i64 = job.get("id")?;
                            // `done` has job_id as primary key: running a job twice would fail
                            tx.execute("INSERT INTO done VALUES ($1, $2)", args![id, w])
                                .await?;
                            // every 10th job asks for a retry the first time: its writes are
                            // rolled back and whoever claims it next runs it again
                            if id % 10 == 0 && retried.lock().unwrap().insert(id) {
                                return Ok(Job::Retry);
                            }
                            tokio::task::yield_now().await;
                            Ok::<_, fastasyncpg::Error>(Job::Done)
                        })
                        .await
                        .unwrap();
                    match r {
                        Some(_) => mine += 1,
                        None => break,
                    }
                }
                mine
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(
        total,
        JOBS + JOBS / 10,
        "every claim, retries included, was reported"
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        JOBS + JOBS / 10,
        "only retried jobs ran twice"
    );
    let t = db.t("jobs").unwrap();
    assert_eq!(
        t.count_where("status = $1", args!["completed"])
            .await
            .unwrap(),
        JOBS as i64
    );
    assert_eq!(
        db.fetchval::<i64>("SELECT count(*) FROM done WHERE job_id > 0", ())
            .await
            .unwrap(),
        JOBS as i64
    );
    let per_worker: i64 = db
        .fetchval("SELECT count(DISTINCT worker) FROM done", ())
        .await
        .unwrap();
    assert!(per_worker > 1, "work was shared between workers");
}
