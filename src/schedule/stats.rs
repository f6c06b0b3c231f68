//! Live scheduler counters, shared between the dispatcher thread (the only writer) and readers
//! such as `/metrics` and `/status` (via [`SchedulerStats::snapshot`]).
//!
//! Owns counters only; it decides nothing.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::BarrierReason;

/// Buckets of the parallelism histogram: index `i` counts releases that found `i` transactions
/// running (released, not yet done) including the released one; the last bucket is "this or more".
pub const PARALLELISM_BUCKETS: usize = 65;

/// Counters written by the dispatcher with relaxed atomics (each is independently meaningful;
/// a snapshot may mix values from a few microseconds apart, which monitors tolerate).
///
/// One [`super::SchedulerCore`] owns the writing side, so increments are a relaxed load and
/// store ([`bump`]) rather than read-modify-write instructions: the scheduler loop does about
/// eight per transaction and locked RMWs were a measurable share of its time.
#[derive(Debug)]
pub struct SchedulerStats {
    admitted: AtomicU64,
    released: AtomicU64,
    completed: AtomicU64,
    /// Admitted transactions that were not ready at once (had to wait for a dependency).
    waited: AtomicU64,
    barriers: [AtomicU64; BarrierReason::ALL.len()],
    parallelism: [AtomicU64; PARALLELISM_BUCKETS],
    low_watermark: AtomicU64,
    in_window: AtomicU64,
}

impl Default for SchedulerStats {
    fn default() -> Self {
        SchedulerStats {
            admitted: AtomicU64::new(0),
            released: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            waited: AtomicU64::new(0),
            barriers: std::array::from_fn(|_| AtomicU64::new(0)),
            parallelism: std::array::from_fn(|_| AtomicU64::new(0)),
            low_watermark: AtomicU64::new(0),
            in_window: AtomicU64::new(0),
        }
    }
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct SchedulerSnapshot {
    pub admitted: u64,
    pub released: u64,
    pub completed: u64,
    pub waited: u64,
    /// Barrier counts by reason (only reasons seen).
    pub barriers: Vec<(BarrierReason, u64)>,
    /// `parallelism[i]`: releases that found `i` transactions running (last bucket: or more).
    pub parallelism: Vec<u64>,
    /// Smallest seq not yet done: every transaction below it has finished.
    pub low_watermark: u64,
    /// Transactions admitted but not below the low watermark.
    pub in_window: u64,
}

impl SchedulerSnapshot {
    pub fn barriers_total(&self) -> u64 {
        self.barriers.iter().map(|(_, n)| n).sum()
    }
    pub fn barrier_count(&self, reason: BarrierReason) -> u64 {
        self.barriers.iter().find(|(r, _)| *r == reason).map(|(_, n)| *n).unwrap_or(0)
    }
    /// Largest number of transactions seen running at once.
    pub fn max_parallelism(&self) -> usize {
        self.parallelism.iter().rposition(|n| *n > 0).unwrap_or(0)
    }
}

/// What the dispatcher reports when it ends.
pub type SchedulerSummary = SchedulerSnapshot;

/// Increment a counter that only one thread writes (see [`SchedulerStats`]).
#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

impl SchedulerStats {
    pub fn snapshot(&self) -> SchedulerSnapshot {
        SchedulerSnapshot {
            admitted: self.admitted.load(Relaxed),
            released: self.released.load(Relaxed),
            completed: self.completed.load(Relaxed),
            waited: self.waited.load(Relaxed),
            barriers: BarrierReason::ALL
                .iter()
                .map(|r| (*r, self.barriers[r.index()].load(Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            parallelism: self.parallelism.iter().map(|a| a.load(Relaxed)).collect(),
            low_watermark: self.low_watermark.load(Relaxed),
            in_window: self.in_window.load(Relaxed),
        }
    }

    pub(crate) fn on_admit(&self, barrier: Option<BarrierReason>, waits: bool) {
        bump(&self.admitted);
        bump(&self.in_window);
        if let Some(r) = barrier {
            bump(&self.barriers[r.index()]);
        }
        if waits {
            bump(&self.waited);
        }
    }

    pub(crate) fn on_release(&self, running: usize) {
        bump(&self.released);
        bump(&self.parallelism[running.min(PARALLELISM_BUCKETS - 1)]);
    }

    pub(crate) fn on_complete(&self, low_watermark: u64, in_window: u64) {
        bump(&self.completed);
        self.low_watermark.store(low_watermark, Relaxed);
        self.in_window.store(in_window, Relaxed);
    }
}
