//! Feeding [`Progress`] from the apply pipeline's own interfaces, for a pipeline that does not
//! call [`Progress::on_applied`] after each commit itself.
//!
//! Owns the adapter only: [`observe`] wraps the transaction source the pipeline pulls from
//! (each transaction pulled is *received*, and a small [`AppliedTxn`] summary is queued), and
//! [`ApplyBridge::on_pipeline_progress`] / [`ApplyBridge::into_progress_fn`] take the pipeline's
//! cumulative "done" count (applied + skipped) from its periodic progress callback and report
//! that many queued transactions as applied; [`Pending::discard`] drops what a stopped pipeline
//! pulled but never committed. It must not touch the target or the pipeline's
//! internals.
//!
//! # Accuracy
//! With `preserve_commit_order = true` (the default) commits follow source order, so the first
//! `done` transactions pulled are exactly the committed ones. Without it, the k-th commit is
//! counted as the k-th transaction pulled: counts stay exact, but a heartbeat may be reported a
//! few transactions early or late. The heartbeat is seen at most one callback period late
//! (`PipelineOptions::report_every`, 250 ms by default), which over-reports the lag by that much.
//! A pipeline that calls the hooks directly after each commit is exact and needs none of this.
//!
//! # Locking
//! The queue's `parking_lot::Mutex` is never held while calling into [`Progress`] (its lock is a
//! leaf too): items are moved out first, then reported.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::lag::{AppliedTxn, Progress};
use crate::txn::Transaction;

/// The source side: an iterator adapter that reports and queues what the pipeline pulls.
pub struct Observed<I> {
    inner: I,
    progress: Arc<Progress>,
    queue: Arc<Mutex<VecDeque<AppliedTxn>>>,
}

impl<I, E> Iterator for Observed<I>
where
    I: Iterator<Item = Result<Transaction, E>>,
{
    type Item = Result<Transaction, E>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next()?;
        if let Ok(txn) = &item {
            self.progress.on_received(txn.size, txn.gtid.as_ref(), txn.commit_time_us);
            let summary = AppliedTxn::of(txn, self.progress.heartbeat_table());
            self.queue.lock().push_back(summary);
        }
        Some(item)
    }
}

/// The completion side: turns the pipeline's cumulative counters into applied reports.
pub struct ApplyBridge {
    progress: Arc<Progress>,
    queue: Arc<Mutex<VecDeque<AppliedTxn>>>,
    done: u64,
    retries: u64,
    conflicts: BTreeMap<String, u64>,
}

/// Wrap `source`; give the returned bridge the pipeline's progress.
pub fn observe<I>(progress: Arc<Progress>, source: I) -> (Observed<I>, ApplyBridge) {
    let queue = Arc::new(Mutex::new(VecDeque::new()));
    let observed = Observed { inner: source, progress: progress.clone(), queue: queue.clone() };
    (observed, ApplyBridge { progress, queue, done: 0, retries: 0, conflicts: BTreeMap::new() })
}

/// The transactions pulled but not (yet) reported as applied; see [`Pending::discard`].
#[derive(Clone)]
pub struct Pending {
    progress: Arc<Progress>,
    queue: Arc<Mutex<VecDeque<AppliedTxn>>>,
}

impl Pending {
    /// The pipeline has ended (after its last progress callback): whatever is still queued was
    /// pulled but never committed, and the next run delivers it again from the checkpoint. Takes
    /// it out of the received counts so the backlog does not count it twice. Returns how many.
    pub fn discard(&self) -> u64 {
        let left: Vec<AppliedTxn> = self.queue.lock().drain(..).collect();
        let (n, bytes) = (left.len() as u64, left.iter().map(|a| a.size).sum());
        if n > 0 {
            self.progress.forget_received(n, bytes);
        }
        n
    }
}

impl ApplyBridge {
    /// A handle on the queue, to [`Pending::discard`] it when the pipeline ended.
    pub fn pending(&self) -> Pending {
        Pending { progress: self.progress.clone(), queue: self.queue.clone() }
    }

    /// The pipeline reports cumulative counts: transactions done (applied + skipped as already
    /// on the target), retries, and conflicts per table. Reports only what is new since the
    /// last call; counts that go backwards are ignored.
    pub fn on_pipeline_progress(&mut self, done: u64, retries: u64, conflicts: &BTreeMap<String, u64>) {
        let newly_done: Vec<AppliedTxn> = if done > self.done {
            let mut q = self.queue.lock();
            let n = ((done - self.done) as usize).min(q.len());
            q.drain(..n).collect()
        } else {
            Vec::new()
        };
        self.done += newly_done.len() as u64;
        for a in &newly_done {
            self.progress.on_applied_summary(a, usize::MAX);
        }
        for _ in self.retries..retries {
            self.progress.on_retry();
        }
        self.retries = self.retries.max(retries);
        for (table, n) in conflicts {
            let seen = self.conflicts.entry(table.clone()).or_insert(0);
            for _ in *seen..*n {
                self.progress.on_conflict(table);
            }
            *seen = (*seen).max(*n);
        }
    }

    /// The callback for [`crate::apply::pipeline::run`].
    pub fn into_progress_fn(mut self) -> crate::apply::pipeline::ProgressFn {
        Box::new(move |view: &crate::apply::pipeline::ProgressView| {
            self.on_pipeline_progress(view.apply.txns_applied + view.apply.txns_skipped, view.apply.retries, &view.apply.conflicts);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LagConfig;
    use crate::txn::Gtid;

    fn txn(seq: u64) -> Result<Transaction, String> {
        Ok(Transaction { gtid: Some(Gtid::Mariadb { domain: 0, server_id: 1, seq }), size: 100, ..Default::default() })
    }

    #[test]
    fn pulled_is_received_and_done_count_is_applied_in_order() {
        let p = Progress::new(&LagConfig::default());
        let (mut src, mut bridge) = observe(p.clone(), vec![txn(1), txn(2), txn(3), Err("boom".to_string())].into_iter());
        assert!(src.next().is_some() && src.next().is_some() && src.next().is_some());
        assert_eq!(src.next(), Some(Err("boom".to_string())));
        let s = p.snapshot();
        assert_eq!((s.received.transactions, s.applied.transactions, s.backlog.bytes), (3, 0, 300));
        bridge.on_pipeline_progress(2, 1, &[("db.t".to_string(), 2)].into());
        let s = p.snapshot();
        assert_eq!((s.applied.transactions, s.applied.last_gtid.as_deref(), s.retries), (2, Some("0-1-2"), 1));
        assert_eq!(s.conflicts, [("db.t".to_string(), 2)].into());
        // Same counts again: nothing new. More done than pulled: capped at what was pulled.
        bridge.on_pipeline_progress(2, 1, &[("db.t".to_string(), 2)].into());
        bridge.on_pipeline_progress(9, 1, &BTreeMap::new());
        let s = p.snapshot();
        assert_eq!((s.applied.transactions, s.retries, s.backlog.transactions), (3, 1, 0));
        assert_eq!(s.conflicts, [("db.t".to_string(), 2)].into());
    }

    #[test]
    fn discarding_what_the_pipeline_never_committed_empties_the_backlog() {
        let p = Progress::new(&LagConfig::default());
        let (src, mut bridge) = observe(p.clone(), vec![txn(1), txn(2), txn(3)].into_iter());
        let pending = bridge.pending();
        assert_eq!(src.count(), 3);
        bridge.on_pipeline_progress(1, 0, &BTreeMap::new());
        assert_eq!(pending.discard(), 2);
        let s = p.snapshot();
        assert_eq!((s.received.transactions, s.received.bytes, s.applied.transactions, s.backlog.transactions, s.backlog.bytes), (1, 100, 1, 0, 0));
        // The next run receives them again: counted once.
        let (src, mut bridge) = observe(p.clone(), vec![txn(2), txn(3)].into_iter());
        assert_eq!(src.count(), 2);
        bridge.on_pipeline_progress(2, 0, &BTreeMap::new());
        let s = p.snapshot();
        assert_eq!((s.received.transactions, s.applied.transactions, s.applied.last_gtid.as_deref()), (3, 3, Some("0-1-3")));
        assert_eq!(bridge.pending().discard(), 0);
    }
}
