//! Parallel apply on the target: worker pool, row change -> SQL, exactly-once checkpoints, retries.
//!
//! Owns everything that talks to the target server. It receives ready transactions from
//! [`crate::schedule`] and must not parse binlog bytes or decide dependencies.
//!
//! - [`sql`]: row changes and statements -> SQL text with exact literals.
//! - [`binlog_stmt`]: row events as `BINLOG` statements the target applies with its own row code
//!   (no triggers fired for replicated rows, as MariaDB's replica).
//! - [`checkpoint`]: the applied-transaction record on the target and its compaction.
//! - [`retry`]: which target errors are transient, and the backoff.
//! - [`worker`]: one connection applying whole transactions (or commit groups) exactly once:
//!   the worker and its retry loop in `worker.rs`, each execution path in its own file under
//!   `worker/` (`fast`, `careful`, `ddl`, `streamed`, `xa`, `trip`), and under them `turn`
//!   (the commit-order turn), `send` (round trips and results), `plan` and `probe`.
//! - [`packet`]: round trips that fit the target's `max_allowed_packet`.
//! - [`group`]: which ready transactions may share one target COMMIT (group commit).
//! - [`coalesce`]: a commit group's row changes as few statements as key conflicts allow.
//! - [`pipeline`]: wires a transaction source, the scheduler and the worker pool together.
//! - [`stats`]: counters.
//!
//! # Resumption
//! The target holds the truth: every applied transaction is recorded in
//! `<state_schema>.applied_txn` in the same target transaction as its rows, and compacted into
//! `<state_schema>.applied_watermark`. On start the pipeline loads both and skips every
//! transaction they contain, so re-reading the same input after `kill -9` applies nothing twice
//! and loses nothing, whatever order workers committed in.
//!
//! # Error handling
//! Lock conflicts are retried; a lost connection is resolved by reading the checkpoint; every
//! other failure stops the pipeline with an [`ApplyError`] naming the GTID, the table and the
//! server's error. Workers stop taking new transactions, transactions in flight either commit
//! (with their checkpoint) or roll back, so nothing after the last committed transaction is lost.

pub mod binlog_stmt;
pub mod checkpoint;
pub mod events;
pub mod coalesce;
pub mod group;
pub mod packet;
pub mod pipeline;
pub mod retry;
pub mod sessions;
pub mod sql;
pub mod stats;
pub mod versioning;
pub mod worker;

/// Why the apply stage stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("worker {worker}: cannot connect to the target: {}", crate::error_text::chain(.cause))]
    Connect { worker: usize, cause: mysql_async::Error },
    #[error("GTID {gtid}: cannot build SQL: {}", crate::error_text::chain(.cause))]
    Build { gtid: String, cause: sql::SqlError },
    #[error("GTID {gtid}, table {table}: target error: {}; statement: {sql}", crate::error_text::chain(.cause))]
    Sql { gtid: String, table: String, sql: String, cause: mysql_async::Error },
    #[error("GTID {gtid}, table {table}: target diverged: {what} (on_conflict = stop)")]
    Conflict { gtid: String, table: String, what: String },
    #[error("GTID {gtid}, table {table}: a single statement of {bytes} bytes does not fit the target's max_allowed_packet ({max_allowed_packet} bytes; at most {budget} bytes per round trip): raise max_allowed_packet on the target")]
    TooLarge { gtid: String, table: String, bytes: usize, max_allowed_packet: u64, budget: usize },
    #[error("GTID {gtid}: {why}; the streamed transaction was rolled back and is applied again when its source is read again")]
    Interrupted { gtid: String, why: String },
    #[error("GTID {gtid}: still failing after {attempts} retries: {}", crate::error_text::chain(.cause))]
    RetriesExhausted { gtid: String, attempts: u32, cause: mysql_async::Error },
    #[error("GTID {gtid}: {what}")]
    Unsupported { gtid: String, what: String },
    #[error("checkpoint: {0}")]
    Checkpoint(checkpoint::CheckpointError),
    #[error("target setup: {0}")]
    Setup(String),
    #[error("scheduler: {0}")]
    Schedule(String),
    /// Row changes that cannot be mapped onto the target's table (see
    /// [`crate::schedule::target`]): GTID, table, column position and both types.
    #[error("rows do not fit the target's table: {0}")]
    Target(String),
    #[error("source: {0}")]
    Source(crate::source::TxnSourceError),
    #[error("stopped before the transaction committed")]
    Cancelled,
}

// By hand rather than `#[from]`: the message already says the cause, so it is not also the
// error's `source()` (which would make a `{:#}` chain say it twice).
impl From<checkpoint::CheckpointError> for ApplyError {
    fn from(e: checkpoint::CheckpointError) -> Self {
        ApplyError::Checkpoint(e)
    }
}
