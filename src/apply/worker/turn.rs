//! The worker's commit-order turn: whether one transaction (or commit group) may COMMIT yet,
//! and the cancellable waits for it.
//!
//! Owns the "do I have my turn" state of one attempt at one transaction and every wait a
//! worker does on [`CommitOrder`] (its turn, or a key dependency having committed), each of
//! which gives up when the pipeline stops and, when asked, gives way after a while. It must not
//! run SQL, roll back or retry (the caller does that on [`Failure::YieldTurn`] /
//! [`Failure::Cancelled`]), nor mark anything committed ([`CommitOrder::done`] is the
//! worker's, after its COMMIT).
//!
//! With `preserve_commit_order` off the turn is held from the start: nothing waits.

use std::sync::Arc;
use std::time::Duration;

use super::Failure;
use crate::schedule::CommitOrder;

/// How long a worker waits for its commit turn with its transaction open before it rolls back
/// and gives way even when the target names no transaction it blocks (see
/// [`crate::apply::worker::Worker`]'s `take_turn_holding`). Far above a normal turn wait (a few
/// ms), far below `innodb_lock_wait_timeout` (50 s by default).
pub(super) const TURN_YIELD_AFTER: Duration = Duration::from_secs(1);

/// How often a worker waiting with its transaction open looks at the shared reading of the
/// target's lock waits (then it gives way at once when it blocks another apply connection).
/// The target itself is read at most every `lock_waits::REFRESH_EVERY`.
pub(super) const LOCK_PROBE_EVERY: Duration = Duration::from_millis(4);

/// The commit turn of the transaction (or commit group) with dispatcher sequence `seq`: it is
/// this one's turn once every earlier seq has called [`CommitOrder::done`]. Once taken it stays
/// taken, also across the attempts of one transaction (a re-run after giving way commits in
/// one round trip).
pub(super) struct Turn {
    order: Arc<CommitOrder>,
    cancel: tokio::sync::watch::Receiver<bool>,
    seq: u64,
    held: bool,
}

impl Turn {
    /// The turn of `seq`; held from the start when commit order is not kept (`ordered` false).
    pub(super) fn new(order: Arc<CommitOrder>, cancel: tokio::sync::watch::Receiver<bool>, ordered: bool, seq: u64) -> Turn {
        Turn { order, cancel, seq, held: !ordered }
    }

    /// Whether this transaction may COMMIT now without waiting.
    pub(super) fn held(&self) -> bool {
        self.held
    }

    /// Take the turn if every earlier transaction has already committed; never waits. Returns
    /// [`Turn::held`]: a worker that holds it can send COMMIT in the same round trip.
    pub(super) fn try_take_now(&mut self) -> bool {
        if !self.held && self.order.is_turn(self.seq) {
            self.held = true;
        }
        self.held
    }

    /// Wait (cancellably) until every earlier transaction has committed. Only
    /// [`Failure::Cancelled`] when the pipeline stops first.
    pub(super) async fn take(&mut self) -> Result<(), Failure> {
        self.take_within(None).await
    }

    /// [`Turn::take`], but at most `at_most`: then [`Failure::YieldTurn`], the turn not taken.
    /// For a worker whose target transaction is open and holds row locks, which must not wait
    /// unboundedly (see the worker's `take_turn_holding`).
    pub(super) async fn take_for(&mut self, at_most: Duration) -> Result<(), Failure> {
        self.take_within(Some(at_most)).await
    }

    /// The turn wait itself; `give_way_after`: fail with [`Failure::YieldTurn`] after that long.
    async fn take_within(&mut self, give_way_after: Option<Duration>) -> Result<(), Failure> {
        if self.held {
            return Ok(());
        }
        wait_prefix(&self.order, &self.cancel, self.seq, give_way_after).await?;
        self.held = true;
        Ok(())
    }
}

/// Wait (cancellably) until every seq below `prefix` has committed: [`Failure::Cancelled`] once
/// `cancel` says the pipeline is stopping, and with `give_way_after`, [`Failure::YieldTurn`]
/// after that long (the caller's open transaction may hold a lock an earlier one waits for,
/// see [`Turn::take_for`]).
pub(super) async fn wait_prefix(order: &CommitOrder, cancel: &tokio::sync::watch::Receiver<bool>, prefix: u64, give_way_after: Option<Duration>) -> Result<(), Failure> {
    let mut cancel = cancel.clone();
    let give_way = async {
        match give_way_after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = order.wait_turn(prefix) => Ok(()),
        _ = cancel.wait_for(|c| *c) => Err(Failure::Cancelled),
        _ = give_way => Err(Failure::YieldTurn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn setup() -> (Arc<CommitOrder>, tokio::sync::watch::Sender<bool>, tokio::sync::watch::Receiver<bool>) {
        let (stop, cancel) = tokio::sync::watch::channel(false);
        (Arc::new(CommitOrder::new()), stop, cancel)
    }

    fn outcome(r: Result<(), Failure>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(Failure::Cancelled) => "cancelled",
            Err(Failure::YieldTurn) => "yield",
            Err(_) => "other failure",
        }
    }

    #[tokio::test]
    async fn without_commit_order_the_turn_is_held_at_once() {
        let (order, _stop, cancel) = setup();
        // seq 5 with 0..4 not committed: nothing waits all the same.
        let mut turn = Turn::new(order.clone(), cancel, false, 5);
        assert!(turn.held());
        assert!(turn.try_take_now());
        assert_eq!(outcome(turn.take_for(TURN_YIELD_AFTER).await), "ok");
        assert_eq!(outcome(turn.take().await), "ok");
        assert_eq!(order.committed_prefix(), 0, "taking a turn commits nothing");
    }

    #[tokio::test]
    async fn with_commit_order_the_turn_comes_once_every_earlier_seq_is_done() {
        let (order, _stop, cancel) = setup();
        let mut turn = Turn::new(order.clone(), cancel, true, 2);
        assert!(!turn.held());
        assert!(!turn.try_take_now(), "seqs 0 and 1 have not committed");
        // Out of order: 1 done first leaves the prefix at 0.
        order.done(1);
        assert!(!turn.try_take_now(), "seq 0 has not committed");
        order.done(0);
        assert!(turn.try_take_now());
        assert!(turn.held());
        // Held stays held whatever comes later.
        assert_eq!(outcome(turn.take_for(TURN_YIELD_AFTER).await), "ok");
    }

    #[tokio::test]
    async fn the_first_seq_has_its_turn_at_once() {
        let (order, _stop, cancel) = setup();
        let mut turn = Turn::new(order, cancel, true, 0);
        assert!(!turn.held(), "not taken until asked");
        assert!(turn.try_take_now());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn take_returns_when_the_predecessor_is_marked_done() {
        let (order, _stop, cancel) = setup();
        order.done(0);
        let mut turn = Turn::new(order.clone(), cancel, true, 2);
        // Polled once (deterministically): seq 1 has not committed, so no turn.
        assert!(turn.take().now_or_never().is_none(), "took the turn before seq 1 committed");
        assert!(!turn.held());
        let waiter = tokio::spawn(async move {
            let r = turn.take().await;
            (outcome(r), turn.held())
        });
        let marker = tokio::spawn({
            let order = order.clone();
            async move { order.done(1) }
        });
        marker.await.expect("marker task");
        assert_eq!(waiter.await.expect("waiter task"), ("ok", true));
        assert_eq!(order.committed_prefix(), 2);
    }

    #[tokio::test]
    async fn a_turn_taken_stays_taken_after_its_predecessors_without_waiting_again() {
        let (order, _stop, cancel) = setup();
        order.done(0);
        let mut turn = Turn::new(order.clone(), cancel, true, 1);
        assert_eq!(outcome(turn.take().await), "ok");
        assert!(turn.held());
        // `done(1)` is the worker's job after its COMMIT: taking the turn does not do it.
        assert_eq!(order.committed_prefix(), 1);
    }

    /// The give-way path: with the predecessor never committing, `take_for` fails with
    /// `YieldTurn` after `TURN_YIELD_AFTER` (the worker then rolls back) and leaves the turn not
    /// taken; the plain `take` the worker does next, holding no locks, waits for the
    /// predecessor and then holds the turn, so the re-run commits in one trip.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn holding_the_transaction_open_gives_way_and_the_retry_takes_the_turn_in_order() {
        let (order, _stop, cancel) = setup();
        let mut turn = Turn::new(order.clone(), cancel, true, 1);
        assert_eq!(outcome(turn.take_for(TURN_YIELD_AFTER).await), "yield");
        assert!(!turn.held(), "giving way does not take the turn");
        assert!(!turn.try_take_now());
        let waiter = tokio::spawn(async move {
            let r = turn.take().await;
            (outcome(r), turn.held())
        });
        order.done(0);
        assert_eq!(waiter.await.expect("waiter task"), ("ok", true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopping_pipeline_ends_every_turn_wait_with_cancelled() {
        let (order, stop, cancel) = setup();
        let mut plain = Turn::new(order.clone(), cancel.clone(), true, 3);
        let mut holding = Turn::new(order.clone(), cancel.clone(), true, 4);
        let a = tokio::spawn(async move { (outcome(plain.take().await), plain.held()) });
        let b = tokio::spawn(async move { (outcome(holding.take_for(TURN_YIELD_AFTER).await), holding.held()) });
        stop.send_replace(true);
        assert_eq!(a.await.expect("plain"), ("cancelled", false));
        // Cancellation wins over giving way: the stop came long before TURN_YIELD_AFTER.
        assert_eq!(b.await.expect("holding"), ("cancelled", false));
        // A wait that starts after the stop ends at once too.
        let mut late = Turn::new(order.clone(), cancel.clone(), true, 1);
        assert_eq!(outcome(late.take().await), "cancelled");
        assert_eq!(outcome(wait_prefix(&order, &cancel, 9, None).await), "cancelled");
        assert_eq!(order.committed_prefix(), 0);
    }

    #[tokio::test]
    async fn a_stopped_pipeline_does_not_cancel_a_turn_already_held() {
        let (order, stop, cancel) = setup();
        let mut turn = Turn::new(order, cancel, true, 0);
        assert!(turn.try_take_now());
        stop.send_replace(true);
        assert_eq!(outcome(turn.take().await), "ok");
    }

    #[tokio::test]
    async fn wait_prefix_returns_at_once_when_the_prefix_has_committed() {
        let (order, _stop, cancel) = setup();
        order.done(0);
        order.done(1);
        assert_eq!(outcome(wait_prefix(&order, &cancel, 2, Some(TURN_YIELD_AFTER)).await), "ok");
        assert_eq!(outcome(wait_prefix(&order, &cancel, 0, None).await), "ok");
    }

    #[tokio::test]
    async fn wait_prefix_with_a_give_way_time_yields_when_the_prefix_never_comes() {
        let (order, _stop, cancel) = setup();
        assert_eq!(outcome(wait_prefix(&order, &cancel, 1, Some(Duration::from_millis(20))).await), "yield");
    }
}
