use fastasyncpg::FromRow;

#[derive(FromRow)]
enum Mood {
    Happy,
    Sad,
}

#[derive(FromRow)]
struct Pair(i64, String);

fn main() {}
