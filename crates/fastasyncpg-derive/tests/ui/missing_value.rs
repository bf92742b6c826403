use fastasyncpg::Model;

#[derive(Model)]
#[fastasyncpg(table)]
struct User {
    #[fastasyncpg(primary_key)]
    id: i64,
}

fn main() {}
