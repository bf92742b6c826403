//! Shared helpers for the integration tests.

use fastasyncpg::Database;

/// A single connection to a fresh, empty database.
pub async fn db() -> Database {
    fastasyncpg::connect(&fastasyncpg_testing::fresh_db().await)
        .await
        .expect("connect")
}

/// A single connection to a fresh copy of Chinook.
#[allow(dead_code)]
pub async fn chinook() -> Database {
    fastasyncpg::connect(&fastasyncpg_testing::chinook_db().await)
        .await
        .expect("connect")
}
