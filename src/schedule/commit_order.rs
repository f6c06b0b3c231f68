//! The commit-order token: lets workers commit in source (`seq`) order when
//! `preserve_commit_order` is on (DESIGN rule 3).
//!
//! Owns only the "which seqs have committed" state. It does not know about workers, SQL or the
//! dispatcher; workers call [`CommitOrder::wait_turn`] before COMMIT and [`CommitOrder::done`]
//! after it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// Tracks the contiguous prefix of committed sequence numbers.
///
/// `done` may be called out of order (when the option is off, or for skipped transactions);
/// sequence numbers above the prefix are remembered until the gap closes.
pub struct CommitOrder {
    // Sync lock (not tokio's): held only for a few instructions, never across an await, and it is
    // the innermost lock of the applier (nothing is locked while holding it).
    state: Mutex<State>,
    changed: Condvar,
    // Async waiters watch the prefix; updated under `state` so it never goes backwards.
    prefix_tx: tokio::sync::watch::Sender<u64>,
}

struct State {
    /// Every seq below this has called `done`.
    committed_prefix: u64,
    /// Seqs at or above `committed_prefix + 1` that called `done` early.
    early: BTreeSet<u64>,
    /// When `committed_prefix` last moved (or the order was made).
    moved_at: Instant,
}

impl std::fmt::Debug for CommitOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitOrder").field("committed_prefix", &self.committed_prefix()).finish()
    }
}

impl Default for CommitOrder {
    fn default() -> Self {
        Self::new()
    }
}

impl CommitOrder {
    /// Starts at seq 0.
    pub fn new() -> Self {
        Self::starting_at(0)
    }

    /// Starts with every seq below `first` considered committed.
    pub fn starting_at(first: u64) -> Self {
        let (prefix_tx, _) = tokio::sync::watch::channel(first);
        CommitOrder {
            state: Mutex::new(State { committed_prefix: first, early: BTreeSet::new(), moved_at: Instant::now() }),
            changed: Condvar::new(),
            prefix_tx,
        }
    }

    /// Resolves when every `seq' < seq` has called [`CommitOrder::done`].
    pub async fn wait_turn(&self, seq: u64) {
        let mut rx = self.prefix_tx.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we borrow `self`.
        let _ = rx.wait_for(|prefix| *prefix >= seq).await;
    }

    /// Blocking version of [`CommitOrder::wait_turn`] for non-async threads.
    pub fn wait_turn_blocking(&self, seq: u64) {
        let mut st = self.state.lock();
        while st.committed_prefix < seq {
            self.changed.wait(&mut st);
        }
    }

    /// True when every `seq' < seq` has called `done` (non-blocking check).
    pub fn is_turn(&self, seq: u64) -> bool {
        self.state.lock().committed_prefix >= seq
    }

    /// Every seq below the returned value has called `done`.
    pub fn committed_prefix(&self) -> u64 {
        self.state.lock().committed_prefix
    }

    /// How long the committed prefix has not moved: the transaction whose turn it is has been
    /// running (or waiting) that long.
    pub fn stalled_for(&self) -> Duration {
        self.state.lock().moved_at.elapsed()
    }

    /// Record that `seq` has committed (or was skipped). Idempotent.
    pub fn done(&self, seq: u64) {
        let mut st = self.state.lock();
        if seq < st.committed_prefix {
            return;
        }
        if seq != st.committed_prefix {
            st.early.insert(seq);
            return;
        }
        st.committed_prefix += 1;
        loop {
            let next = st.committed_prefix;
            if st.early.remove(&next) {
                st.committed_prefix += 1;
            } else {
                break;
            }
        }
        st.moved_at = Instant::now();
        let prefix = st.committed_prefix;
        self.prefix_tx.send_replace(prefix);
        drop(st);
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn prefix_advances_over_early_dones() {
        let co = CommitOrder::new();
        co.done(2);
        co.done(1);
        assert_eq!(co.committed_prefix(), 0);
        assert!(!co.is_turn(1));
        co.done(0);
        assert_eq!(co.committed_prefix(), 3);
        co.done(1); // idempotent
        assert_eq!(co.committed_prefix(), 3);
        assert!(co.is_turn(3));
        assert!(!co.is_turn(4));
        let moved = co.stalled_for();
        co.done(5); // early: the prefix stays at 3
        assert!(co.stalled_for() >= moved, "an early done does not move the prefix");
        std::thread::sleep(Duration::from_millis(50));
        let before = co.stalled_for();
        assert!(before >= Duration::from_millis(50));
        co.done(3);
        assert!(co.stalled_for() < before, "the prefix moved (3 and the early 5 are not: 4 is missing)");
        assert_eq!(co.committed_prefix(), 4);
    }

    #[test]
    fn blocking_waiters_commit_in_order() {
        let co = Arc::new(CommitOrder::new());
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut hs = Vec::new();
        for seq in (0..8u64).rev() {
            let co = co.clone();
            let order = order.clone();
            hs.push(std::thread::spawn(move || {
                co.wait_turn_blocking(seq);
                order.lock().push(seq);
                co.done(seq);
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*order.lock(), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn async_waiters_commit_in_order() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let co = Arc::new(CommitOrder::new());
        let order = Arc::new(Mutex::new(Vec::new()));
        rt.block_on(async {
            let mut hs = Vec::new();
            for seq in (0..16u64).rev() {
                let co = co.clone();
                let order = order.clone();
                hs.push(tokio::spawn(async move {
                    co.wait_turn(seq).await;
                    order.lock().push(seq);
                    co.done(seq);
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
        });
        assert_eq!(*order.lock(), (0..16).collect::<Vec<_>>());
    }
}
