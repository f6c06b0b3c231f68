//! Counters of the apply stage, shared by workers and read by progress reporting and `/metrics`.
//!
//! Owns only the counters and their consistent snapshot. Workers add to them after a target
//! COMMIT succeeded, so a retried attempt is never counted twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

#[derive(Debug, Default)]
pub struct ApplyStats {
    pub txns_applied: AtomicU64,
    pub rows_applied: AtomicU64,
    pub bytes_applied: AtomicU64,
    /// Transactions found already applied on the target (skipped, still exactly once).
    pub txns_skipped: AtomicU64,
    /// Rollback-and-retry cycles after a deadlock or lock wait timeout.
    pub retries: AtomicU64,
    /// Reconnects after a lost target connection.
    pub reconnects: AtomicU64,
    /// Transactions that needed the row-by-row path after a divergence.
    pub careful_txns: AtomicU64,
    /// Source commit time (µs) of the latest committed transaction.
    pub last_commit_time_us: AtomicU64,
    /// Target COMMITs of applied transactions: below `txns_applied` when group commit put
    /// several source transactions in one target transaction.
    pub target_commits: AtomicU64,
    /// Commit-group members run after the group waited for a dependency outside it to commit
    /// (see `Worker::try_group`).
    pub held_back: AtomicU64,
    /// Round trips that carried several transactions, each its own target transaction
    /// (commit groups off, see `Worker::apply_trip`), and the transactions they committed.
    pub batched_trips: AtomicU64,
    pub batched_txns: AtomicU64,
    // Short lock: updated once per transaction that had a conflict; read by snapshots only.
    conflicts: Mutex<BTreeMap<String, u64>>,
}

/// A consistent copy of [`ApplyStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplySnapshot {
    pub txns_applied: u64,
    pub rows_applied: u64,
    pub bytes_applied: u64,
    pub txns_skipped: u64,
    pub retries: u64,
    pub reconnects: u64,
    pub careful_txns: u64,
    pub target_commits: u64,
    pub held_back: u64,
    pub batched_trips: u64,
    pub batched_txns: u64,
    /// Divergences per `schema.table` (rows missing for UPDATE/DELETE, duplicates on INSERT).
    pub conflicts: BTreeMap<String, u64>,
}

impl ApplySnapshot {
    pub fn conflicts_total(&self) -> u64 {
        self.conflicts.values().sum()
    }
}

impl ApplyStats {
    /// Add divergences found in one committed transaction.
    pub fn add_conflicts(&self, per_table: &BTreeMap<String, u64>) {
        if per_table.is_empty() {
            return;
        }
        let mut c = self.conflicts.lock();
        for (t, n) in per_table {
            *c.entry(t.clone()).or_default() += n;
        }
    }

    pub fn snapshot(&self) -> ApplySnapshot {
        ApplySnapshot {
            txns_applied: self.txns_applied.load(Relaxed),
            rows_applied: self.rows_applied.load(Relaxed),
            bytes_applied: self.bytes_applied.load(Relaxed),
            txns_skipped: self.txns_skipped.load(Relaxed),
            retries: self.retries.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            careful_txns: self.careful_txns.load(Relaxed),
            target_commits: self.target_commits.load(Relaxed),
            held_back: self.held_back.load(Relaxed),
            batched_trips: self.batched_trips.load(Relaxed),
            batched_txns: self.batched_txns.load(Relaxed),
            conflicts: self.conflicts.lock().clone(),
        }
    }
}
