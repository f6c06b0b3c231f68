//! The worker's round-trip batches: with commit groups off (`commit_group_max_txns = 1`, every
//! source GTID kept on the target), several released transactions sent in one compound
//! statement, each still its own target transaction with its own GTID, checkpoint row and
//! COMMIT.
//!
//! Owns building that statement and finding out, after a failure, which members landed. It
//! must not decide which transactions travel together (see [`crate::apply::group`]) nor build
//! row SQL (the builder does).
//!
//! # Why
//! With one target transaction per source transaction the cost per transaction is a commit;
//! what a separate round trip per transaction adds on top (a packet each way, a wake-up on
//! both sides) is paid once per trip: the server runs the members back to back, as its SQL
//! thread does. Only without commit order (the pipeline decides): with it, separate workers
//! run their statements side by side and queue only for COMMIT, which a trip's one-after-
//! another members cannot (measured 4x slower, see `docs/replay.md`).
//!
//! # Exactly once
//! Members run in source order on one connection, each `START TRANSACTION ... checkpoint row;
//! COMMIT`, so after any failure the members that landed are a prefix, and each one's
//! checkpoint row says whether it did ([`crate::apply::checkpoint::CheckpointStore::is_recorded`]).
//! The rest go one by one through the ordinary path, which owns retries, divergence handling
//! and error messages per GTID.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

use mysql_async::prelude::Queryable;

use super::fast::{fast_text_len, push_checked_statements};
use super::{Failure, Worker};
use crate::apply::checkpoint::StreamPos;
use crate::apply::group::can_group;
use crate::apply::sql::{PlanStyle, Stmt};
use crate::apply::ApplyError;
use crate::schedule::Ready;

/// One member of a trip: its place in its stream and its statements.
struct Member {
    pos: StreamPos,
    plan: Vec<Stmt>,
}

impl Worker {
    /// Apply `members` (released transactions, in seq order) each as its own target
    /// transaction, as many as fit in one compound statement per round trip; anything that
    /// cannot travel that way, or fails, goes through [`Worker::apply_ready`] alone.
    pub(super) async fn apply_trip(&mut self, members: &[Ready]) -> Result<(), ApplyError> {
        let mut done = 0;
        while done < members.len() {
            let rest = &members[done..];
            let planned = self.trip_members(rest);
            if planned.len() < 2 {
                self.apply_ready(&rest[0]).await?;
                done += 1;
                continue;
            }
            let landed = self.run_trip(&rest[..planned.len()], &planned).await?;
            done += landed;
        }
        Ok(())
    }

    /// The longest prefix of `members` that may travel in one compound statement, planned.
    fn trip_members(&self, members: &[Ready]) -> Vec<Member> {
        let mut out = Vec::with_capacity(members.len());
        let mut bytes = 64;
        for m in members {
            let txn = &m.txn;
            if !can_group(txn) || self.shared.row_path.binlog_for(&txn.changes) {
                break;
            }
            let Ok(pos) = StreamPos::of(txn) else { break };
            let Ok(plan) = self.shared.builder.plan(txn, PlanStyle::Batched) else { break };
            if !self.compound_for(&plan) {
                break;
            }
            bytes += fast_text_len(&plan, true) + 256 + pos.stream.len() + pos.gtid.len();
            if bytes > self.budget {
                break;
            }
            out.push(Member { pos, plan });
        }
        out
    }

    /// One attempt at `members` (planned as `planned`); returns how many landed (all of them,
    /// or the prefix that committed before a failure plus the rest applied one by one).
    async fn run_trip(&mut self, members: &[Ready], planned: &[Member]) -> Result<usize, ApplyError> {
        // A member must not run beside a transaction it depends on (DESIGN rule 2): members
        // run one after another here, so only dependencies outside the trip are waited for.
        let outside = members.iter().flat_map(|m| m.after.iter().copied()).filter(|d| members.binary_search_by_key(d, |m| m.seq).is_err()).max();
        if let Some(dep) = outside {
            if self.wait_committed(dep).await.is_err() {
                return Err(ApplyError::Cancelled);
            }
        }
        let outcome = self.trip_attempt(planned).await;
        match outcome {
            Ok(()) => {
                self.shared.stats.batched_trips.fetch_add(1, Relaxed);
                self.shared.stats.batched_txns.fetch_add(members.len() as u64, Relaxed);
                for (m, p) in members.iter().zip(planned) {
                    self.shared.stats.target_commits.fetch_add(1, Relaxed);
                    self.committed(m.seq, &p.pos, &m.txn, &BTreeMap::new());
                }
                return Ok(members.len());
            }
            Err(Failure::Cancelled) => {
                self.rollback().await;
                return Err(ApplyError::Cancelled);
            }
            Err(Failure::Connection(e)) => {
                tracing::debug!(worker = self.id, error = %e, "target connection lost during a round-trip batch; resolving member by member");
                let _ = self.reconnect().await;
            }
            Err(_) => self.rollback().await,
        }
        // The members that committed before the failure are a prefix; each one's checkpoint
        // row says so. The first that did not, and all after it, go alone.
        let mut landed = 0;
        for (m, p) in members.iter().zip(planned) {
            if !matches!(self.shared.store.is_recorded(&mut self.conn, &p.pos).await, Ok(true)) {
                break;
            }
            self.shared.stats.target_commits.fetch_add(1, Relaxed);
            self.committed(m.seq, &p.pos, &m.txn, &BTreeMap::new());
            landed += 1;
        }
        if landed < members.len() {
            self.apply_ready(&members[landed]).await?;
            landed += 1;
        }
        Ok(landed)
    }

    /// Send the trip: one compound statement. Trips are formed only without commit order (see
    /// the pipeline), so no member waits for a turn.
    async fn trip_attempt(&mut self, planned: &[Member]) -> Result<(), Failure> {
        let text = self.trip_text(planned);
        if let Err(error) = self.conn.query_drop(text).await {
            return Err(self.interpret_error(None, error, &[]));
        }
        Ok(())
    }

    /// `BEGIN NOT ATOMIC`, then per member its GTID, `START TRANSACTION`, its statements with
    /// their found-row check, its checkpoint row and `COMMIT`; `END`.
    fn trip_text(&self, members: &[Member]) -> String {
        let len: usize = members.iter().map(|m| fast_text_len(&m.plan, true) + 256).sum();
        let mut text = String::with_capacity(len + 128);
        text.push_str("BEGIN NOT ATOMIC DECLARE parapply_found INT UNSIGNED DEFAULT 0; ");
        let mut found = 0;
        for m in members {
            text.push_str(&self.compound_head(std::slice::from_ref(&m.pos)));
            found = push_checked_statements(&mut text, &m.plan, found);
            text.push_str(&self.shared.store.record_many_sql(std::slice::from_ref(&m.pos)));
            text.push_str("; COMMIT; ");
        }
        text.push_str("END");
        text
    }
}
