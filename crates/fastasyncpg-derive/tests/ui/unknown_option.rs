use fastasyncpg::Model;

#[derive(Model)]
struct User {
    #[fastasyncpg(primary_key, primay_key)]
    id: i64,
}

fn main() {}
