use super::*;
use crate::error::ErrorKind;

/// The expected outcome of one row.
enum Want {
    /// Converted SQL and sources (`"P0 P1 N:uid"`).
    Ok(&'static str, &'static str),
    /// An error whose message contains this.
    Err(&'static str),
}
use Want::{Err as E, Ok as O};

/// One table row: SQL, number of positional arguments, named argument names, expected result.
struct Case {
    sql: &'static str,
    positional: usize,
    named: &'static [&'static str],
    want: Want,
}

const fn c(
    sql: &'static str,
    positional: usize,
    named: &'static [&'static str],
    want: Want,
) -> Case {
    Case {
        sql,
        positional,
        named,
        want,
    }
}

fn fmt_sources(s: &[ArgSource]) -> String {
    s.iter()
        .map(|s| match s {
            ArgSource::Positional(i) => format!("P{i}"),
            ArgSource::Named(n) => format!("N:{n}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn pos_args(n: usize) -> Vec<Value> {
    (0..n as i64).map(|i| Value::from(100 + i)).collect()
}

fn named_args(names: &[&str]) -> Vec<(String, Value)> {
    names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Value::from(format!("v_{}", n.trim_start_matches(':'))),
            )
        })
        .collect()
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- seed examples
    c("SELECT * FROM a WHERE id = :uid OR creator = :uid", 0, &["uid"],
      O("SELECT * FROM a WHERE id = $1 OR creator = $1", "N:uid")),
    c("SELECT * FROM a WHERE id = ? AND name = :name and foo=?", 2, &["name"],
      O("SELECT * FROM a WHERE id = $1 AND name = $3 and foo=$2", "P0 P1 N:name")),
    c("SELECT * FROM a WHERE id = ?;\n SELECT * FROM b WHERE name = ?", 2, &[],
      O("SELECT * FROM a WHERE id = $1;\n SELECT * FROM b WHERE name = $2", "P0 P1")),
    c("id = $1 AND name = ?", 2, &[], O("id = $1 AND name = $2", "P0 P1")),
    // --- no placeholders / fast path
    c("SELECT 1", 0, &[], O("SELECT 1", "")),
    c("", 0, &[], O("", "")),
    c("SELECT $1, $2", 2, &[], O("SELECT $1, $2", "P0 P1")),
    c("SELECT $2", 2, &[], O("SELECT $2", "P0 P1")),
    c("SELECT 1::int", 0, &[], O("SELECT 1::int", "")),
    // --- strings
    c("SELECT 'a ? :b $1' , ?", 1, &[], O("SELECT 'a ? :b $1' , $1", "P0")),
    c("SELECT 'it''s ?', ?", 1, &[], O("SELECT 'it''s ?', $1", "P0")),
    c("SELECT 'back\\', ?", 1, &[], O("SELECT 'back\\', $1", "P0")),
    c("SELECT E'it\\'s ? :x', ?", 1, &[], O("SELECT E'it\\'s ? :x', $1", "P0")),
    c("SELECT e'a\\\\', ?", 1, &[], O("SELECT e'a\\\\', $1", "P0")),
    c("SELECT E'x''? \\\\'' :y', :z", 0, &["z"], O("SELECT E'x''? \\\\'' :y', $1", "N:z")),
    c("SELECT U&'d\\0061t?' UESCAPE '!', ?", 1, &[], O("SELECT U&'d\\0061t?' UESCAPE '!', $1", "P0")),
    c("SELECT B'1?', X'1F:a', N'n?', ?", 1, &[], O("SELECT B'1?', X'1F:a', N'n?', $1", "P0")),
    c("SELECT 'unterminated ? :x", 0, &[], O("SELECT 'unterminated ? :x", "")),
    // --- dollar quotes
    c("SELECT $$ ? :x ' $$, ?", 1, &[], O("SELECT $$ ? :x ' $$, $1", "P0")),
    c("SELECT $fn$ a $$ ? $ :x $fn$ || ?", 1, &[], O("SELECT $fn$ a $$ ? $ :x $fn$ || $1", "P0")),
    c("DO $body$ BEGIN x := ?; END $body$", 0, &[], O("DO $body$ BEGIN x := ?; END $body$", "")),
    c("SELECT $a$ $b$ ? $b$ $a$, :n", 0, &["n"], O("SELECT $a$ $b$ ? $b$ $a$, $1", "N:n")),
    c("SELECT a$b, c$$ FROM t WHERE x = ?", 1, &[], O("SELECT a$b, c$$ FROM t WHERE x = $1", "P0")),
    // --- quoted identifiers
    c(r#"SELECT "a?b", "c:x", "q""?" FROM t WHERE y = ?"#, 1, &[],
      O(r#"SELECT "a?b", "c:x", "q""?" FROM t WHERE y = $1"#, "P0")),
    c(r#"SELECT U&"x?:y" FROM t WHERE z = :z"#, 0, &["z"], O(r#"SELECT U&"x?:y" FROM t WHERE z = $1"#, "N:z")),
    // --- comments
    c("SELECT ? -- what? :x\n, ?", 2, &[], O("SELECT $1 -- what? :x\n, $2", "P0 P1")),
    c("SELECT ? -- trailing ?", 1, &[], O("SELECT $1 -- trailing ?", "P0")),
    c("SELECT /* a /* nested ? */ still :x ? */ ?", 1, &[], O("SELECT /* a /* nested ? */ still :x ? */ $1", "P0")),
    c("SELECT x=--c?\n?", 1, &[], O("SELECT x=--c?\n$1", "P0")),
    c("SELECT 1 /* unterminated ?", 0, &[], O("SELECT 1 /* unterminated ?", "")),
    // --- casts
    c("SELECT :x::int", 0, &["x"], O("SELECT $1::int", "N:x")),
    c("SELECT ?::text, '1'::int, a::jsonb", 1, &[], O("SELECT $1::text, '1'::int, a::jsonb", "P0")),
    c("SELECT :a::text || :b", 0, &["a", "b"], O("SELECT $1::text || $2", "N:a N:b")),
    // --- array slices and constructors
    c("SELECT a[1:2], a[lo:hi], a[:hi], b[x][lo:hi] FROM t WHERE id = :id", 0, &["id"],
      O("SELECT a[1:2], a[lo:hi], a[:hi], b[x][lo:hi] FROM t WHERE id = $1", "N:id")),
    c("SELECT (f(x))[lo:hi], :arr[lo:hi]", 0, &["arr"], O("SELECT (f(x))[lo:hi], $1[lo:hi]", "N:arr")),
    c("SELECT ARRAY[:a, :b], ARRAY[[:c]], ARRAY[x[lo:hi]]", 0, &["a", "b", "c"],
      O("SELECT ARRAY[$1, $2], ARRAY[[$3]], ARRAY[x[lo:hi]]", "N:a N:b N:c")),
    c("SELECT a[?:?]", 2, &[], O("SELECT a[$1:$2]", "P0 P1")),
    c("SELECT '{1}'::int[], ?", 1, &[], O("SELECT '{1}'::int[], $1", "P0")),
    // --- jsonb operators
    c("SELECT * FROM t WHERE data ? 'k' AND id = ?", 1, &[], O("SELECT * FROM t WHERE data ? 'k' AND id = $1", "P0")),
    c("SELECT * FROM t WHERE data ?| array['a','b'] AND data ?& ?", 1, &[],
      O("SELECT * FROM t WHERE data ?| array['a','b'] AND data ?& $1", "P0")),
    c("SELECT data->'a' ? 'x', (data) ? 'y', t.data ? 'z', \"D\" ? 'w' FROM t", 0, &[],
      O("SELECT data->'a' ? 'x', (data) ? 'y', t.data ? 'z', \"D\" ? 'w' FROM t", "")),
    c("SELECT arr[1] ? 'k', :doc ? 'k', $1 ? 'k', ? ? 'k'", 2, &["doc"],
      O("SELECT arr[1] ? 'k', $3 ? 'k', $1 ? 'k', $2 ? 'k'", "P0 P1 N:doc")),
    c("SELECT * FROM t WHERE data?'k' AND data?|? AND data @? '$.a' AND data@?'$.b'", 1, &[],
      O("SELECT * FROM t WHERE data?'k' AND data?|$1 AND data @? '$.a' AND data@?'$.b'", "P0")),
    c("SELECT ?|| 'x', ?&&a", 2, &[], O("SELECT $1|| 'x', $2&&a", "P0 P1")),
    c("SELECT * FROM t WHERE x IN (?, ?) AND y LIKE ? AND z BETWEEN ? AND ? LIMIT ? OFFSET ?", 7, &[],
      O("SELECT * FROM t WHERE x IN ($1, $2) AND y LIKE $3 AND z BETWEEN $4 AND $5 LIMIT $6 OFFSET $7", "P0 P1 P2 P3 P4 P5 P6")),
    c("select case when ? then ? else ? end ? 'k'", 3, &[], O("select case when $1 then $2 else $3 end ? 'k'", "P0 P1 P2")),
    c("INSERT INTO t (a, b) VALUES (?, ?) RETURNING ?", 3, &[], O("INSERT INTO t (a, b) VALUES ($1, $2) RETURNING $3", "P0 P1 P2")),
    c("UPDATE t SET a = ?, b = -?, c = NOT ?", 3, &[], O("UPDATE t SET a = $1, b = -$2, c = NOT $3", "P0 P1 P2")),
    // --- `??` escape
    c("SELECT data ?? 'k', x = ?", 1, &[], O("SELECT data ? 'k', x = $1", "P0")),
    c("SELECT \"value\" ? 'k', value ? 'k', from_ ? 'k', WHERE ?? 'k'", 0, &[],
      O("SELECT \"value\" ? 'k', value ? 'k', from_ ? 'k', WHERE ? 'k'", "")),
    c("SELECT a ??|| b, ???", 1, &[], O("SELECT a ?|| b, ?$1", "P0")),
    // --- $n mixed with ? and :name
    c("SELECT ?, $3, ?, :n, $1", 5, &["n"], O("SELECT $4, $3, $5, $6, $1", "P0 P1 P2 P3 P4 N:n")),
    c("SELECT :b, :a, :b, ?, :a", 1, &["a", "b"], O("SELECT $2, $3, $2, $1, $3", "P0 N:b N:a")),
    c("SELECT $1, :x", 1, &[":x"], O("SELECT $1, $2", "P0 N:x")),
    c("SELECT :Name, :name", 0, &["Name", "name"], O("SELECT $1, $2", "N:Name N:name")),
    c("SELECT :_x1, :y_2z", 0, &["_x1", "y_2z"], O("SELECT $1, $2", "N:_x1 N:y_2z")),
    c("SELECT f(a := ?), x:1", 1, &[], O("SELECT f(a := $1), x:1", "P0")),
    // --- multi-statement
    c("INSERT INTO t VALUES (?);UPDATE t SET a = :a WHERE b = ?; DELETE FROM t WHERE c = :a", 2, &["a"],
      O("INSERT INTO t VALUES ($1);UPDATE t SET a = $3 WHERE b = $2; DELETE FROM t WHERE c = $3", "P0 P1 N:a")),
    c("SELECT a[1;SELECT :x", 0, &["x"], O("SELECT a[1;SELECT $1", "N:x")),
    // --- non-ASCII
    c("SELECT 'héllo ?', \"naïve:x\", ünï = ? AND x = :nämé -- ça?", 1, &["nämé"],
      O("SELECT 'héllo ?', \"naïve:x\", ünï = $1 AND x = $2 -- ça?", "P0 N:nämé")),
    c("SELECT 日本 ? '語', :名前", 0, &["名前"], O("SELECT 日本 ? '語', $1", "N:名前")),
    c("SELECT $€$ ? $€$, ?", 1, &[], O("SELECT $€$ ? $€$, $1", "P0")),
    // --- errors
    c("SELECT :uid", 0, &[], E("no named argument for placeholder :uid")),
    c("SELECT :uid, :other", 0, &["uid"], E(":other")),
    c("SELECT ?", 1, &["unused"], E("named argument :unused is not used")),
    c("SELECT 1", 0, &["x"], E("named argument :x is not used")),
    c("SELECT ?, ?", 1, &[], E("placeholder $2 has no argument: the SQL has 2 positional placeholders but 1 positional argument was given")),
    c("SELECT $3", 0, &[], E("the SQL has 3 positional placeholders but 0 positional arguments were given")),
    c("SELECT ?", 3, &[], E("too many positional arguments: the SQL has 1 positional placeholder but 3 positional arguments were given")),
    c("SELECT 1", 1, &[], E("the SQL has 0 positional placeholders but 1 positional argument was given")),
    c("SELECT :x", 0, &["x", ":x"], E("named argument :x is given twice")),
    c("SELECT $70000", 0, &[], E("placeholder $70000 is out of range")),
    c("SELECT $99999999999999999999999", 0, &[], E("placeholder $99999999999999999999999 is out of range")),
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for (row, case) in CASES.iter().enumerate() {
        let positional = pos_args(case.positional);
        let named = named_args(case.named);
        let got = plan(case.sql).and_then(|p| p.apply(&positional, &named).map(|args| (p, args)));
        match (&case.want, got) {
            (O(sql, sources), Ok((p, args))) => {
                if p.sql != *sql || fmt_sources(&p.sources) != *sources {
                    failures.push(format!(
                        "row {row} {:?}\n   got  {:?} [{}]\n   want {:?} [{}]",
                        case.sql,
                        p.sql,
                        fmt_sources(&p.sources),
                        sql,
                        sources
                    ));
                }
                if p.unchanged != (p.sql == case.sql) {
                    failures.push(format!(
                        "row {row} {:?}: unchanged = {}",
                        case.sql, p.unchanged
                    ));
                }
                if args.len() != p.sources.len() {
                    failures.push(format!(
                        "row {row} {:?}: {} args for {} sources",
                        case.sql,
                        args.len(),
                        p.sources.len()
                    ));
                }
                // The one-shot function agrees with plan + apply.
                match conv_placeholders(case.sql, &positional, &named) {
                    Ok(cv) if cv.sql == p.sql && cv.args.len() == args.len() => {}
                    other => failures.push(format!(
                        "row {row} {:?}: conv_placeholders gave {other:?}",
                        case.sql
                    )),
                }
            }
            (O(..), Err(e)) => {
                failures.push(format!("row {row} {:?}: unexpected error {e}", case.sql))
            }
            (E(msg), Ok((p, _))) => failures.push(format!(
                "row {row} {:?}: expected error {msg:?}, got {:?}",
                case.sql, p.sql
            )),
            (E(msg), Err(e)) => {
                if !e.message().contains(msg) {
                    failures.push(format!(
                        "row {row} {:?}: error {:?} lacks {msg:?}",
                        case.sql,
                        e.message()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

fn strs(v: &[Value]) -> Vec<String> {
    v.iter().map(|v| v.to_string()).collect()
}

#[test]
fn apply_orders_arguments() {
    let p = plan("SELECT :b, ?, $1, :a, ?, :b").unwrap();
    assert_eq!(p.sql, "SELECT $4, $2, $1, $5, $3, $4");
    let positional = vec![Value::from(1i64), Value::from(2i64), Value::from(3i64)];
    let named = vec![
        ("a".to_string(), Value::from("A")),
        (":b".to_string(), Value::from("B")),
    ];
    let args = p.apply(&positional, &named).unwrap();
    assert_eq!(strs(&args), ["1", "2", "3", "B", "A"]);
}

#[test]
fn apply_is_reusable() {
    let p = plan("SELECT * FROM a WHERE id = :uid OR creator = :uid").unwrap();
    assert_eq!(p.sources, [ArgSource::Named("uid".into())]);
    for i in 0..3i64 {
        let args = p
            .apply(&[], &[("uid".to_string(), Value::from(i))])
            .unwrap();
        assert_eq!(strs(&args), [i.to_string()]);
    }
    assert!(p.apply(&[], &[]).is_err());
}

#[test]
fn apply_unchanged_passes_positional_through() {
    let p = plan("SELECT $1, $2::text").unwrap();
    assert!(p.unchanged);
    assert_eq!(
        p.sources,
        [ArgSource::Positional(0), ArgSource::Positional(1)]
    );
    let args = p.apply(&[Value::Null, Value::from("x")], &[]).unwrap();
    assert_eq!(strs(&args), ["NULL", "x"]);
    assert!(p.apply(&[], &[]).is_err());
}

#[test]
fn fast_path() {
    let p = plan("SELECT a, b FROM t WHERE c = 'x'").unwrap();
    assert!(p.unchanged);
    assert!(p.sources.is_empty());
    assert_eq!(p.sql, "SELECT a, b FROM t WHERE c = 'x'");
    assert!(p.apply(&[], &[]).unwrap().is_empty());
    // A long text whose only special byte is near the end.
    let long = format!("SELECT {} = ?", "x".repeat(1000));
    assert!(has_special(long.as_bytes()));
    assert!(!has_special("x".repeat(1000).as_bytes()));
    assert_eq!(
        plan(&long).unwrap().sql,
        format!("SELECT {} = $1", "x".repeat(1000))
    );
}

#[test]
fn apply_with_hand_built_plan() {
    let p = Plan {
        sql: "SELECT $1, $2, $3".into(),
        sources: vec![
            ArgSource::Positional(1),
            ArgSource::Named("n".into()),
            ArgSource::Positional(0),
        ],
        unchanged: false,
    };
    let args = p
        .apply(
            &[Value::from(10i64), Value::from(20i64)],
            &[("n".into(), Value::from("N"))],
        )
        .unwrap();
    assert_eq!(strs(&args), ["20", "N", "10"]);
}

#[test]
fn error_kinds() {
    let bind = |r: Result<Converted>| r.unwrap_err().kind();
    assert_eq!(
        bind(conv_placeholders("SELECT :x", &[], &[])),
        ErrorKind::Bind
    );
    assert_eq!(
        bind(conv_placeholders(
            "SELECT 1",
            &[],
            &[("x".into(), Value::Null)]
        )),
        ErrorKind::Bind
    );
    assert_eq!(
        bind(conv_placeholders("SELECT ?", &[], &[])),
        ErrorKind::Bind
    );
    assert_eq!(
        bind(conv_placeholders(
            "SELECT ?",
            &[Value::Null, Value::Null],
            &[]
        )),
        ErrorKind::Bind
    );
    assert_eq!(plan("SELECT $65536").unwrap_err().kind(), ErrorKind::Usage);
    assert!(plan("SELECT $65535").is_ok());
}

#[test]
fn conv_placeholders_values() {
    let c = conv_placeholders(
        "SELECT * FROM a WHERE id = ? AND name = :name and foo=?",
        &[Value::from(1i64), Value::from(2i64)],
        &[("name".into(), Value::from("bob"))],
    )
    .unwrap();
    assert_eq!(
        c.sql,
        "SELECT * FROM a WHERE id = $1 AND name = $3 and foo=$2"
    );
    assert_eq!(strs(&c.args), ["1", "2", "bob"]);
}

#[test]
fn truncated_inputs_do_not_panic() {
    // Every prefix of tricky texts lexes without panicking (char boundaries only).
    let texts = [
        "SELECT E'a\\'b' || $tag$x$tag$ || U&\"q\" /* /* */ */ -- c\n :n::int, a[1:2] ?| ?? ? 'é'",
        "$$",
        "$a",
        "$1",
        "E'\\",
        "U&",
        ":",
        "?",
        "/*",
        "--",
    ];
    for t in texts {
        for (i, _) in t.char_indices().chain([(t.len(), ' ')]) {
            let _ = plan(&t[..i]);
        }
    }
}
