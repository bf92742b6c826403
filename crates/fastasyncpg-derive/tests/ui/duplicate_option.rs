use fastasyncpg::FromRow;

#[derive(FromRow)]
struct User {
    #[fastasyncpg(rename = "a", rename = "b")]
    id: i64,
}

fn main() {}
