//! Pool health under faults: killed backends, many tasks, cancelled transactions, idle
//! connections closed in the background.
