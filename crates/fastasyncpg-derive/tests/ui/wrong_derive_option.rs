use fastasyncpg::{FromRow, Model};

#[derive(FromRow)]
#[fastasyncpg(table = "user")]
struct A {
    id: i64,
}

#[derive(FromRow)]
struct B {
    #[fastasyncpg(default = "now()")]
    at: i64,
}

#[derive(Model)]
struct C {
    #[fastasyncpg(flatten)]
    inner: A,
    #[fastasyncpg(generated = true)]
    id: i64,
}

fn main() {}
