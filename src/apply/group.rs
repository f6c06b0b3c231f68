//! Group commit: which ready transactions may share one target transaction.
//!
//! Owns the policy — [`CommitGroup`] collects consecutive ready transactions under
//! [`GroupLimits`], and [`GroupFeed`] forms a group when a worker asks for work: the worker
//! takes everything released and not yet taken (up to the limits). A free worker that finds one
//! transaction ready takes it alone, so grouping never takes parallelism away; transactions
//! pile up (and group) only while every worker is busy. [`crate::apply::worker`] executes the
//! group. It must not talk to the target or decide dependencies.
//!
//! Groups are formed at take time, not ahead of it: a group handed to a channel before a
//! worker was free could no longer grow, and measured on a 20k-transaction sysbench backlog
//! that made every other group a single transaction (1,644 of ~2,900 groups at 2 workers).
//!
//! # Why this is safe
//! Members are applied one after another, in source order, in one target transaction, and
//! their checkpoint rows commit with them (rule 1). With `preserve_commit_order` the scheduler
//! releases in source order, so a group is a run of consecutive seqs and the group takes the
//! commit turn of its first member: the target still commits in source order. In the writeset
//! modes the scheduler then hands transactions out with their unfinished key dependencies
//! ([`Ready::after`]) instead of holding them back: a member whose dependency is an earlier
//! member simply runs after it; one whose dependency is outside the group runs only once that
//! has committed (the worker sends the group in segments, see `Worker::run_segmented`). So no
//! member runs beside a transaction it conflicts with (DESIGN rule 2). Without commit order
//! the scheduler releases only transactions whose dependencies have committed, so released
//! transactions are mutually independent and any run of them may share a commit.
//!
//! # What joins a group
//! Only InnoDB-style transactions (ending in XID) with rows or statements the worker plans; not
//! DDL (it commits implicitly), not a streamed large transaction, not XA, not a QUERY-`COMMIT` transaction (a non-transactional
//! engine cannot be rolled back if the group has to be re-run member by member), not one tied to its
//! source session (temporary tables: it runs on that session's connection). With
//! MariaDB GTIDs all members share one domain, because the group is logged on the target under
//! its last member's GTID and the target's `gtid_binlog_pos` must still name every domain's
//! last applied transaction.

use crate::schedule::Ready;
use crate::txn::{Gtid, Transaction, TxnEnd};

/// How big a group may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    /// Members per group; 1 disables grouping.
    pub max_txns: usize,
    /// Row changes per group; a larger transaction goes alone.
    pub max_rows: usize,
}

/// Ready transactions applied as one target transaction, in seq order.
#[derive(Debug, Default)]
pub struct CommitGroup {
    members: Vec<Ready>,
    rows: usize,
}

/// Whether `txn` may share a round trip with others at all: the rules above. Round-trip
/// batches of separate commits (`Worker::apply_trip`) use the same ones.
pub(crate) fn can_group(txn: &Transaction) -> bool {
    // A transaction tied to its source session runs on that session's connection; XA parts:
    // the prepared rows go in an XA branch, not a plain transaction, and `XA COMMIT` cannot run
    // inside one (the worker's XA path applies each alone).
    !txn.is_ddl && txn.end == TxnEnd::Xid && txn.stream.is_none() && txn.xa.is_none() && crate::apply::sessions::session_of(txn).is_none()
}

fn domain(txn: &Transaction) -> Option<u32> {
    match txn.gtid {
        Some(Gtid::Mariadb { domain, .. }) => Some(domain),
        _ => None,
    }
}

fn rows(txn: &Transaction) -> usize {
    let (i, u, d) = txn.row_counts();
    i + u + d
}

impl CommitGroup {
    /// A group holding `first`.
    pub fn start(first: Ready) -> Self {
        let rows = rows(&first.txn);
        CommitGroup { members: vec![first], rows }
    }

    /// Whether another member may still be added under `limits`.
    pub fn has_room(&self, limits: GroupLimits) -> bool {
        self.members.len() < limits.max_txns && self.rows < limits.max_rows && self.members.first().is_some_and(|f| can_group(&f.txn))
    }

    /// Add `next` if it may join; gives it back otherwise (it then starts the next group).
    pub fn try_push(&mut self, next: Ready, limits: GroupLimits) -> Result<(), Ready> {
        let Some(first) = self.members.first() else {
            *self = CommitGroup::start(next);
            return Ok(());
        };
        let last_seq = self.members.last().map(|m| m.seq).unwrap_or(first.seq);
        let next_rows = rows(&next.txn);
        let fits = self.has_room(limits)
            && can_group(&next.txn)
            && domain(&next.txn) == domain(&first.txn)
            && self.rows + next_rows <= limits.max_rows
            && next.seq > last_seq;
        if !fits {
            return Err(next);
        }
        self.rows += next_rows;
        self.members.push(next);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }


    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn into_members(self) -> Vec<Ready> {
        self.members
    }
}

/// Where workers take their next group: the released transactions (in release order) and the
/// one that could not join the previous group.
pub struct GroupFeed {
    ready: tokio::sync::mpsc::Receiver<Ready>,
    held: Option<Ready>,
    limits: GroupLimits,
}

impl GroupFeed {
    pub fn new(ready: tokio::sync::mpsc::Receiver<Ready>, limits: GroupLimits) -> Self {
        GroupFeed { ready, held: None, limits }
    }

    /// The next group: waits for one transaction, then adds whatever else is already released
    /// while it may join. `None` once the sender is gone and nothing is left.
    pub async fn next_group(&mut self) -> Option<Vec<Ready>> {
        let first = match self.held.take() {
            Some(r) => r,
            None => self.ready.recv().await?,
        };
        let mut group = CommitGroup::start(first);
        while group.has_room(self.limits) {
            let Ok(next) = self.ready.try_recv() else { break };
            if let Err(back) = group.try_push(next, self.limits) {
                self.held = Some(back);
                break;
            }
        }
        Some(group.into_members())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::synth;

    fn ready(seq: u64, txn: Transaction) -> Ready {
        Ready { seq, txn: std::sync::Arc::new(txn), after: Vec::new() }
    }

    fn txn(domain: u32, seq: u64, rows: usize) -> Transaction {
        let t = synth::table(1, "d", "t", &[("id", synth::TYPE_LONGLONG, None), ("v", synth::TYPE_LONGLONG, None)], &[0]);
        let ids: Vec<i64> = (0..rows as i64).collect();
        let mut x = synth::txn(if rows == 0 { Vec::new() } else { vec![synth::insert_ids(&t, &ids)] });
        x.gtid = Some(Gtid::Mariadb { domain, server_id: 1, seq });
        x
    }

    const LIMITS: GroupLimits = GroupLimits { max_txns: 3, max_rows: 10 };

    #[test]
    fn groups_up_to_the_member_limit() {
        let mut g = CommitGroup::start(ready(0, txn(1, 1, 1)));
        assert!(g.try_push(ready(1, txn(1, 2, 1)), LIMITS).is_ok());
        assert!(g.try_push(ready(2, txn(1, 3, 1)), LIMITS).is_ok());
        let back = g.try_push(ready(3, txn(1, 4, 1)), LIMITS).unwrap_err();
        assert_eq!(back.seq, 3);
        assert_eq!(g.into_members().iter().map(|m| m.seq).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn ddl_xa_nontransactional_other_domain_and_big_transactions_go_alone() {
        let mut ddl = txn(1, 2, 0);
        ddl.is_ddl = true;
        let mut xa = txn(1, 2, 1);
        xa.end = TxnEnd::XaPrepare;
        let mut myisam = txn(1, 2, 1);
        myisam.end = TxnEnd::Commit;
        // An XA part that ends like an InnoDB transaction still goes alone.
        let mut xa_commit = txn(1, 2, 1);
        xa_commit.xa = Some(crate::txn::XaPart::Commit(crate::decode::event::XaId { format_id: 1, gtrid: b"x".to_vec(), bqual: vec![] }));
        for next in [ddl, xa, myisam, xa_commit, txn(2, 2, 1), txn(1, 2, 10)] {
            let mut g = CommitGroup::start(ready(0, txn(1, 1, 1)));
            assert!(g.try_push(ready(1, next), LIMITS).is_err());
            assert_eq!(g.len(), 1);
        }
        // A DDL cannot start a group others join either.
        let mut ddl = txn(1, 1, 0);
        ddl.is_ddl = true;
        let mut g = CommitGroup::start(ready(0, ddl));
        assert!(!g.has_room(LIMITS));
        assert!(g.try_push(ready(1, txn(1, 2, 1)), LIMITS).is_err());
    }

    #[tokio::test]
    async fn the_feed_groups_what_is_ready_when_a_worker_asks() {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let mut feed = GroupFeed::new(rx, LIMITS);
        tx.send(ready(0, txn(1, 1, 1))).await.unwrap();
        assert_eq!(feed.next_group().await.unwrap().len(), 1, "one ready: taken alone");
        for (seq, domain) in [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (6, 2)] {
            tx.send(ready(seq, txn(domain, seq, 1))).await.unwrap();
        }
        let seqs = |g: Vec<Ready>| g.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(feed.next_group().await.unwrap()), vec![1, 2, 3], "up to max_txns");
        assert_eq!(seqs(feed.next_group().await.unwrap()), vec![4], "the next domain does not join");
        assert_eq!(seqs(feed.next_group().await.unwrap()), vec![5, 6], "the held one starts the next group");
        drop(tx);
        assert!(feed.next_group().await.is_none());
    }

    #[test]
    fn limit_one_disables_grouping_and_order_is_kept() {
        let one = GroupLimits { max_txns: 1, max_rows: 10 };
        let mut g = CommitGroup::start(ready(5, txn(1, 1, 1)));
        assert!(g.try_push(ready(6, txn(1, 2, 1)), one).is_err());
        let mut g = CommitGroup::start(ready(5, txn(1, 1, 1)));
        assert!(g.try_push(ready(4, txn(1, 2, 1)), LIMITS).is_err(), "a group is in increasing seq order");
    }
}
