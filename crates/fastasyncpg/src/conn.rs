//! One connection (stub).
