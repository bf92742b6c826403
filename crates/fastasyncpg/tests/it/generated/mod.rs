//! Modules written by `fastasyncpg gen` (see `codegen.rs`): committed so that they compile as
//! part of the suite; regenerated and compared by the golden tests.

pub mod chinook;
pub mod rich;
