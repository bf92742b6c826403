//! Statement tracing: the `pg.query` span and its OpenTelemetry fields, the error event, the
//! slow-statement warning, and that nothing changes without a subscriber.
//!
//! A small capturing subscriber is set as the *thread's* default (`set_default`); tokio tests
//! run on the current thread, so each test sees only its own statements.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fastasyncpg::__private::tokio_postgres::config::Host;
use fastasyncpg::{args, record, ConnectOptions, Database};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Debug, Clone)]
struct SpanRec {
    name: &'static str,
    target: String,
    fields: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct EventRec {
    level: Level,
    target: String,
    fields: HashMap<String, String>,
    /// The span the event was emitted in (index into `spans`).
    span: Option<usize>,
}

#[derive(Default)]
struct Captured {
    spans: Vec<SpanRec>,
    events: Vec<EventRec>,
    entered: Vec<usize>,
}

/// Records every span and event up to `max` level.
#[derive(Clone)]
struct Capture {
    max: Level,
    c: Arc<Mutex<Captured>>,
}

impl Capture {
    fn new(max: Level) -> Capture {
        // tracing caches each callsite's interest, computed from the live dispatchers; while at
        // most one is registered it asks the *registering thread's* default instead, so a
        // callsite first reached by a test thread without a subscriber would be cached as
        // "never" for everyone. Two dispatchers kept alive for the whole run (never anyone's
        // default) keep every callsite at "sometimes": each thread's own default decides.
        static KEEP: std::sync::OnceLock<[tracing::Dispatch; 2]> = std::sync::OnceLock::new();
        KEEP.get_or_init(|| {
            let d = || {
                tracing::Dispatch::new(Capture {
                    max: Level::TRACE,
                    c: Arc::default(),
                })
            };
            [d(), d()]
        });
        Capture {
            max,
            c: Arc::default(),
        }
    }
    fn queries(&self) -> Vec<SpanRec> {
        let c = self.c.lock().unwrap();
        c.spans
            .iter()
            .filter(|s| s.name == "pg.query")
            .cloned()
            .collect()
    }
    fn events(&self) -> Vec<EventRec> {
        self.c.lock().unwrap().events.clone()
    }
    fn span_of(&self, e: &EventRec) -> Option<SpanRec> {
        e.span.map(|i| self.c.lock().unwrap().spans[i].clone())
    }
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.0.insert(f.name().to_string(), format!("{v:?}"));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().to_string(), v.to_string());
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Asked again on each use: other test threads have no subscriber.
        Interest::sometimes()
    }
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        *m.level() <= self.max
    }
    fn new_span(&self, a: &Attributes<'_>) -> Id {
        let mut fields = HashMap::new();
        a.record(&mut Fields(&mut fields));
        let mut c = self.c.lock().unwrap();
        c.spans.push(SpanRec {
            name: a.metadata().name(),
            target: a.metadata().target().to_string(),
            fields,
        });
        Id::from_u64(c.spans.len() as u64)
    }
    fn record(&self, id: &Id, r: &Record<'_>) {
        let mut c = self.c.lock().unwrap();
        let i = id.into_u64() as usize - 1;
        r.record(&mut Fields(&mut c.spans[i].fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut fields = HashMap::new();
        e.record(&mut Fields(&mut fields));
        let mut c = self.c.lock().unwrap();
        let span = match e.parent() {
            Some(id) => Some(id.into_u64() as usize - 1),
            None if e.is_contextual() => c.entered.last().copied(),
            None => None,
        };
        c.events.push(EventRec {
            level: *e.metadata().level(),
            target: e.metadata().target().to_string(),
            fields,
            span,
        });
    }
    fn enter(&self, id: &Id) {
        self.c
            .lock()
            .unwrap()
            .entered
            .push(id.into_u64() as usize - 1);
    }
    fn exit(&self, id: &Id) {
        let mut c = self.c.lock().unwrap();
        let i = id.into_u64() as usize - 1;
        if let Some(p) = c.entered.iter().rposition(|s| *s == i) {
            c.entered.remove(p);
        }
    }
}

fn f<'a>(s: &'a SpanRec, k: &str) -> &'a str {
    s.fields
        .get(k)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("span has no field {k}: {s:?}"))
}

/// The host and port the database's connection uses, as `server.address` / `server.port`.
fn server_of(db: &Database) -> (String, String) {
    let pg = db.options().pg_config();
    let host = match &pg.get_hosts()[0] {
        Host::Tcp(h) => h.clone(),
        Host::Unix(p) => p.display().to_string(),
    };
    (host, pg.get_ports()[0].to_string())
}

#[tokio::test]
async fn fetchrow_span_has_database_attributes_and_no_argument_values() {
    let url = fastasyncpg_testing::fresh_db().await;
    let db = fastasyncpg::connect(&url).await.unwrap();
    db.execute(
        "CREATE TABLE acc (id int PRIMARY KEY, owner text); \
         INSERT INTO acc VALUES (1, 'carol-7f3a'), (2, 'dave')",
        (),
    )
    .await
    .unwrap();

    let cap = Capture::new(Level::TRACE);
    let guard = tracing::subscriber::set_default(cap.clone());
    let sql = "SELECT id FROM acc WHERE owner = $1";
    let row = db.fetchrow(sql, args!["carol-7f3a"]).await.unwrap();
    drop(guard);
    assert_eq!(row.unwrap().get::<i32, _>(0).unwrap(), 1);

    let spans = cap.queries();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    let s = &spans[0];
    assert_eq!(s.target, "fastasyncpg");
    assert_eq!(f(s, "db.system"), "postgresql");
    assert_eq!(f(s, "db.statement"), sql);
    assert_eq!(f(s, "db.operation"), "SELECT");
    assert_eq!(
        f(s, "db.name"),
        db.options().pg_config().get_dbname().unwrap()
    );
    let (host, port) = server_of(&db);
    assert_eq!(f(s, "server.address"), host);
    assert_eq!(f(s, "server.port"), port);
    assert_eq!(f(s, "db.rows"), "1");
    let ms: f64 = f(s, "elapsed_ms").parse().unwrap();
    assert!(ms >= 0.0);
    // The argument's value appears nowhere: not in a span, not in an event.
    for s in &spans {
        assert!(
            s.fields.values().all(|v| !v.contains("carol-7f3a")),
            "{s:?}"
        );
    }
    for e in cap.events() {
        assert!(
            e.fields.values().all(|v| !v.contains("carol-7f3a")),
            "{e:?}"
        );
    }
    // A success emits no warning or error.
    assert!(cap.events().iter().all(|e| e.level > Level::WARN));
}

#[tokio::test]
async fn every_statement_path_gets_one_span_with_its_operation() {
    let db = crate::common::db().await;
    db.execute("CREATE TABLE t (id int PRIMARY KEY, name text)", ())
        .await
        .unwrap();
    db.refresh().await.unwrap();
    let t = db.t("t").unwrap();

    let cap = Capture::new(Level::DEBUG);
    let guard = tracing::subscriber::set_default(cap.clone());
    let n = db
        .execute("insert into t VALUES ($1, $2)", args![1, "a"])
        .await
        .unwrap();
    assert_eq!(n, 1);
    db.executemany(
        "INSERT INTO t VALUES ($1, $2)",
        [args![2, "b"], args![3, "c"]],
    )
    .await
    .unwrap();
    db.transaction(|tx| async move {
        tx.execute("UPDATE t SET name = $1 WHERE id = 1", args!["z"])
            .await?;
        Ok::<_, fastasyncpg::Error>(())
    })
    .await
    .unwrap();
    t.copy_in(vec![
        record! { id: 10, name: "x" },
        record! { id: 11, name: "y" },
    ])
    .await
    .unwrap();
    let rows = db.fetch("SELECT * FROM t", ()).await.unwrap();
    drop(guard);
    assert_eq!(rows.len(), 5);

    let spans = cap.queries();
    let ops: Vec<&str> = spans.iter().map(|s| f(s, "db.operation")).collect();
    // executemany runs in a transaction of its own.
    assert_eq!(
        ops,
        ["INSERT", "BEGIN", "INSERT", "COMMIT", "BEGIN", "UPDATE", "COMMIT", "COPY", "SELECT"],
        "{spans:#?}"
    );
    let rows_of = |i: usize| spans[i].fields.get("db.rows").cloned();
    assert_eq!(rows_of(0).as_deref(), Some("1"));
    assert_eq!(rows_of(2).as_deref(), Some("2"));
    assert_eq!(rows_of(5).as_deref(), Some("1"));
    assert_eq!(rows_of(7).as_deref(), Some("2"));
    assert_eq!(rows_of(8).as_deref(), Some("5"));
    assert!(f(&spans[7], "db.statement").starts_with("COPY "));
    assert!(spans.iter().all(|s| s.fields.contains_key("elapsed_ms")));
}

#[tokio::test]
async fn failing_statement_emits_an_error_event_with_the_sqlstate() {
    let db = crate::common::db().await;
    let cap = Capture::new(Level::TRACE);
    let guard = tracing::subscriber::set_default(cap.clone());
    let e = db
        .fetch("SELECT * FROM no_such_table WHERE id = $1", args![1])
        .await
        .unwrap_err();
    drop(guard);
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));

    let spans = cap.queries();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(f(&spans[0], "db.response.status_code"), "42P01");
    let errors: Vec<EventRec> = cap
        .events()
        .into_iter()
        .filter(|e| e.level == Level::ERROR)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let ev = &errors[0];
    assert_eq!(ev.target, "fastasyncpg");
    assert!(ev.fields["message"].contains("42P01"), "{ev:?}");
    assert!(ev.fields["message"].contains("no_such_table"), "{ev:?}");
    assert_eq!(
        ev.fields["db.statement"],
        "SELECT * FROM no_such_table WHERE id = $1"
    );
    // Inside the statement's span.
    assert_eq!(cap.span_of(ev).map(|s| s.name), Some("pg.query"));
}

#[tokio::test]
async fn error_event_without_spans_enabled() {
    // A subscriber that takes only errors: the span is off, the error is still reported.
    let db = crate::common::db().await;
    let cap = Capture::new(Level::ERROR);
    let guard = tracing::subscriber::set_default(cap.clone());
    db.fetchrow("SELECT 1", ()).await.unwrap();
    let e = db.execute("SELECT 1/0", ()).await.unwrap_err();
    drop(guard);
    assert_eq!(e.code().map(|c| c.code()), Some("22012"));
    assert!(cap.queries().is_empty());
    let events = cap.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert!(events[0].fields["message"].contains("22012"), "{events:?}");
}

#[tokio::test]
async fn slow_statement_warning_with_and_without_spans() {
    let url = fastasyncpg_testing::fresh_db().await;
    let db = ConnectOptions::parse(&url)
        .unwrap()
        .slow_statement(Some(Duration::from_millis(50)))
        .connect()
        .await
        .unwrap();
    let sql = "SELECT pg_sleep(0.2)";
    let slow = |cap: &Capture| -> Vec<EventRec> {
        cap.events()
            .into_iter()
            .filter(|e| e.level == Level::WARN)
            .collect()
    };

    // Spans on: the warning is inside the statement's span.
    let cap = Capture::new(Level::TRACE);
    let guard = tracing::subscriber::set_default(cap.clone());
    db.fetchrow(sql, ()).await.unwrap();
    drop(guard);
    let w = slow(&cap);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].target, "fastasyncpg");
    assert_eq!(w[0].fields["db.statement"], sql);
    let ms: f64 = w[0].fields["elapsed_ms"].parse().unwrap();
    assert!(ms >= 50.0, "{ms}");
    assert!(w[0].fields["message"].contains(sql));
    assert_eq!(cap.span_of(&w[0]).map(|s| s.name), Some("pg.query"));

    // Spans off (WARN and above only): the warning still comes.
    let cap = Capture::new(Level::WARN);
    let guard = tracing::subscriber::set_default(cap.clone());
    db.execute(sql, ()).await.unwrap();
    drop(guard);
    assert!(cap.queries().is_empty());
    let w = slow(&cap);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].fields["db.statement"], sql);

    // The DSN form, with a threshold no statement here reaches.
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = fastasyncpg::connect(&format!("{url}{sep}slow_statement_ms=600000"))
        .await
        .unwrap();
    let shown = format!("{:?}", db.options());
    assert!(shown.contains("slow_statement: Some(600s)"), "{shown}");
    let cap = Capture::new(Level::WARN);
    let guard = tracing::subscriber::set_default(cap.clone());
    db.fetchrow("SELECT 1", ()).await.unwrap();
    drop(guard);
    assert!(slow(&cap).is_empty());
}

#[tokio::test]
async fn without_a_subscriber_nothing_changes() {
    let url = fastasyncpg_testing::fresh_db().await;
    let db = ConnectOptions::parse(&url)
        .unwrap()
        .slow_statement(Some(Duration::from_millis(1)))
        .connect()
        .await
        .unwrap();
    db.execute("CREATE TABLE t (id int)", ()).await.unwrap();
    assert_eq!(
        db.execute("INSERT INTO t VALUES ($1)", args![1])
            .await
            .unwrap(),
        1
    );
    assert_eq!(db.fetchval::<i32>("SELECT id FROM t", ()).await.unwrap(), 1);
    let e = db.fetch("SELECT * FROM nope", ()).await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    db.fetchrow("SELECT pg_sleep(0.01)", ()).await.unwrap();
    let plain = crate::common::db().await;
    assert_eq!(plain.fetchval::<i32>("SELECT 2", ()).await.unwrap(), 2);
}
