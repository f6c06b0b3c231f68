//! Which apply connections hold a row lock another apply connection waits for on the target:
//! one reading of MariaDB's `INNODB_LOCK_WAITS` shared by every worker, taken at most once per
//! [`REFRESH_EVERY`].
//!
//! Owns the snapshot, the registry of apply connection ids, and the query. It must not decide
//! what a worker does with the answer (the worker's `should_give_way` does) nor run anything
//! but the read-only query.
//!
//! # Why one shared reading, and not each worker asking for itself
//! InnoDB serves `INNODB_TRX`, `INNODB_LOCKS` and `INNODB_LOCK_WAITS` from one cache that it
//! refills only when nobody has read it for 100 ms (MariaDB `trx0i_s.cc`:
//! `CACHE_MIN_IDLE_TIME_NS`, `can_cache_be_updated`, and `trx_i_s_cache_end_read`, which moves
//! `last_read` on every read). Eight workers each asking every 20 ms kept reading it, so it was
//! never refilled. They saw the snapshot of the first wait for as long as the waits went on,
//! and found nobody waiting for them. On the MySQL 8 generator's backlog, writeset 8 with
//! `--commit-group 1`, 5 to 15 commit turns a run waited the full second: 709-1,274 txn/s
//! against serial's 987. One reader every [`REFRESH_EVERY`] leaves the cache idle long enough
//! to refill before each reading.
//!
//! # When to read
//! Only when the commit order has not moved for [`HEAD_STALL`] while a worker waits with its
//! transaction open: the transaction whose turn it is may be waiting for that worker's locks.
//! Read periodically instead, a reading is on average half a period old when a wait begins,
//! and the earlier transaction waits that long: 113 statements waited 75 ms on average on the
//! generator's backlog. Read on suspicion, the cache has usually been idle for 100 ms, so the
//! reading is fresh at once.
//!
//! # Whose waits count
//! Only waits of parapply's own apply connections (workers, and the source-session connections
//! they borrow). The checkpoint compaction's range delete also waits for a worker's uncommitted
//! checkpoint row just above its range. Giving way to it would roll back a transaction for a
//! wait that ends by itself when that transaction commits.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use parking_lot::Mutex;

/// Least time between two readings: the cache refills only after 100 ms unread.
pub const REFRESH_EVERY: Duration = Duration::from_millis(110);

/// How long the commit order may stand still, with a worker waiting with its transaction open,
/// before the lock waits are read. A commit of a small transaction takes about a millisecond
/// with `sync_binlog=1`; a transaction whose turn it is that takes longer may be waiting for a
/// lock (or just be large: then the reading finds nothing, at most every [`REFRESH_EVERY`]).
pub const HEAD_STALL: Duration = Duration::from_millis(4);

/// Every lock wait on the target as (blocking session, waiting session). Needs PROCESS.
const WAITS_SQL: &str = "SELECT b.trx_mysql_thread_id, r.trx_mysql_thread_id FROM information_schema.INNODB_LOCK_WAITS w \
     JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id \
     JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id";

/// The shared reading of lock waits; one per pipeline, in [`super::WorkerShared`].
#[derive(Debug)]
pub struct LockWaits {
    /// Worker id -> the connection id it applies on now.
    apply_conns: Mutex<HashMap<usize, u32>>,
    snapshot: Mutex<Snapshot>,
    /// False once the query failed (no PROCESS privilege, a MySQL target): waits with locks
    /// held then end only after the fixed time.
    available: AtomicBool,
}

#[derive(Debug, Default)]
struct Snapshot {
    /// When the newest reading was taken (its query sent), if any.
    taken: Option<Instant>,
    /// A worker is reading now: the others use the previous reading meanwhile.
    reading: bool,
    /// Apply connections that block another apply connection, as of `taken`.
    blockers: HashSet<u32>,
}

/// What a worker waiting with its transaction open learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A reading taken after the wait began names this connection as blocking an apply
    /// connection.
    Blocking,
    /// No reading taken since the wait began names it (or none has been taken yet).
    NotKnown,
    /// The target cannot answer: only the fixed time applies.
    Unavailable,
}

impl Default for LockWaits {
    fn default() -> Self {
        LockWaits { apply_conns: Mutex::new(HashMap::new()), snapshot: Mutex::new(Snapshot::default()), available: AtomicBool::new(true) }
    }
}

impl LockWaits {
    /// Worker `worker` applies on connection `conn_id` from now on.
    pub fn register(&self, worker: usize, conn_id: u32) {
        self.apply_conns.lock().insert(worker, conn_id);
    }

    /// Whether connection `conn_id`, whose wait with its transaction open began at
    /// `waiting_since`, blocks another apply connection. Reads the target on `conn` when the
    /// commit order has stood still for [`HEAD_STALL`] (`head_stalled`), the shared reading is
    /// older than [`REFRESH_EVERY`] and no other worker is reading.
    pub async fn check(&self, conn: &mut mysql_async::Conn, conn_id: u32, waiting_since: Instant, head_stalled: Duration) -> Verdict {
        if !self.available.load(Relaxed) {
            return Verdict::Unavailable;
        }
        let read_now = {
            let mut s = self.snapshot.lock();
            let stale = s.taken.is_none_or(|t| t.elapsed() >= REFRESH_EVERY);
            if head_stalled >= HEAD_STALL && stale && !s.reading {
                s.reading = true;
                true
            } else {
                false
            }
        };
        if read_now {
            let taken = Instant::now();
            let result = conn.query::<(Option<u64>, Option<u64>), _>(WAITS_SQL).await;
            let mut s = self.snapshot.lock();
            s.reading = false;
            match result {
                Ok(pairs) => {
                    let apply: HashSet<u32> = self.apply_conns.lock().values().copied().collect();
                    s.blockers = blockers_of_apply(&pairs, &apply);
                    s.taken = Some(taken);
                    tracing::trace!(waits = pairs.len(), blockers = ?s.blockers, "lock waits read");
                }
                Err(e) => {
                    // No PROCESS privilege, or a MySQL target (its lock waits are in
                    // performance_schema).
                    tracing::debug!(error = %e, "lock-wait reading unavailable; waits with locks held give way after the fixed time only");
                    self.available.store(false, Relaxed);
                    return Verdict::Unavailable;
                }
            }
        }
        let s = self.snapshot.lock();
        match s.taken {
            Some(t) if t >= waiting_since && s.blockers.contains(&conn_id) => Verdict::Blocking,
            _ => Verdict::NotKnown,
        }
    }
}

/// The blocking sessions of `pairs` (blocker, waiter) whose waiter is one of `apply`.
fn blockers_of_apply(pairs: &[(Option<u64>, Option<u64>)], apply: &HashSet<u32>) -> HashSet<u32> {
    pairs
        .iter()
        .filter_map(|&(blocker, waiter)| {
            let waiter = u32::try_from(waiter?).ok()?;
            apply.contains(&waiter).then_some(())?;
            u32::try_from(blocker?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_waits_of_apply_connections_make_a_blocker() {
        let apply: HashSet<u32> = [10, 11, 12].into_iter().collect();
        let pairs = [
            // worker 11 waits for worker 12
            (Some(12), Some(11)),
            // the checkpoint compaction (connection 99) waits for worker 10: not a reason
            (Some(10), Some(99)),
            // an outside session waits for another outside one
            (Some(50), Some(51)),
            // unreadable rows are ignored
            (None, Some(11)),
            (Some(13), None),
        ];
        let mut got: Vec<u32> = blockers_of_apply(&pairs, &apply).into_iter().collect();
        got.sort_unstable();
        assert_eq!(got, vec![12]);
    }
}
