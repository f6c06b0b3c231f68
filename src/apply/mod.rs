//! Parallel apply on the target: worker pool, row change -> SQL, exactly-once checkpoints, retries.
//!
//! Owns everything that talks to the target server. It receives ready transactions from
//! [`crate::schedule`] and must not parse binlog bytes or decide dependencies.

pub mod sql;
pub mod checkpoint;
pub mod retry;
