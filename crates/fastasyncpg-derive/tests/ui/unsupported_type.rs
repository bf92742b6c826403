use fastasyncpg::FromRow;

struct Opaque;

#[derive(FromRow)]
struct User {
    id: i64,
    secret: Opaque,
}

fn main() {}

#[derive(fastasyncpg::Model)]
struct Doc {
    #[fastasyncpg(primary_key)]
    id: i64,
    body: Opaque,
}
