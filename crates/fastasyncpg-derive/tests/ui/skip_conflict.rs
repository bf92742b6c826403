use fastasyncpg::Model;

#[derive(Model)]
struct User {
    #[fastasyncpg(skip, primary_key)]
    id: i64,
    name: String,
}

fn main() {}
