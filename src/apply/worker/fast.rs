//! The worker's fast paths: a whole transaction (or commit group) sent at once, as one
//! multi-statement text or one MariaDB compound statement, split into byte-bounded round trips
//! when it would not fit one packet, or in two segments when some group members must wait for
//! a dependency outside the group.
//!
//! Owns the texts those paths send, where their COMMIT goes (in the same trip when the commit
//! turn is already held, else after [`Worker::take_turn_holding`]) and the found-row checks before it.
//! It must not retry, roll back or report (the caller, [`Worker::apply`] or `apply_group`, does
//! on the returned [`Failure`]) nor build row SQL (the builder does).
//!
//! # One round trip
//! The fast path sends `[SET gtid_*;] BEGIN; rows...; checkpoint; COMMIT` as one multi-statement
//! query when nothing needs checking before COMMIT (INSERTs report a duplicate as an error).
//! An UPDATE/DELETE must find exactly one row: then everything but the COMMIT goes in one trip,
//! the affected-row counts are checked, the worker waits for its commit turn if
//! `preserve_commit_order` asks for it, and COMMIT is the second trip. (An in-batch assertion
//! after every UPDATE/DELETE would save that trip but costs the server far more: measured on
//! serial replay of sysbench oltp_write_only, 0.70 ms vs 0.50-0.58 ms of target CPU per
//! transaction.) On MariaDB the same goes as one compound statement with the checks inside
//! ([`Worker::run_compound`]).
//!
//! # Larger than one packet
//! No round trip is larger than the target's `max_allowed_packet` (read once per connection,
//! see [`crate::apply::packet`]): a transaction whose text would be is sent as `BEGIN`, its
//! statements in as many byte-bounded batches as needed (results checked after each), then the
//! checkpoint and `COMMIT`, all in the same target transaction. A single statement larger than
//! the packet stops the pipeline with [`crate::apply::ApplyError::TooLarge`] naming GTID, table and sizes.

use std::fmt::Write as _;

use mysql_async::prelude::Queryable;

use super::send::{check_found_rows, push_piece, run_batch, Piece};
use super::{Failure, Turn, Worker};
use crate::apply::checkpoint::StreamPos;
use crate::apply::packet;
use crate::apply::sql::{Stmt, StmtKind};

impl Worker {
    /// A transaction (or commit group) whose single text would exceed the target's
    /// `max_allowed_packet`: `BEGIN`, the statements in byte-bounded round trips (each checked),
    /// then the checkpoint and, in its turn, `COMMIT`, all one target transaction.
    async fn run_split(&mut self, positions: &[StreamPos], plan: &[Stmt], checkpoint: &str, turn: &mut Turn) -> Result<(), Failure> {
        // Refuse before sending anything when a statement can never be sent.
        self.batches(plan)?;
        let mut begin = positions.last().and_then(|last| self.gtid_prefix(last)).map(|p| p + ";").unwrap_or_default();
        begin.push_str("BEGIN");
        if let Some((_, error)) = run_batch(&mut self.conn, &begin).await.error {
            return Err(self.interpret_error(Some(Piece::Control), error, plan));
        }
        self.run_checked(plan).await?;
        self.exec(checkpoint, None, plan).await?;
        self.take_turn_holding(turn).await?;
        self.exec("COMMIT", None, plan).await
    }

    /// A commit group whose held members (`plan[split..]`) depend by key on transactions
    /// outside it that have not committed yet (the last of them: `dep`, see [`crate::schedule::Ready::after`]):
    /// BEGIN and the free members' statements, then, once `dep` has committed, the held
    /// members' statements, the checkpoint and, in its turn, COMMIT. No member runs beside a
    /// transaction it conflicts with: its dependencies have committed, or ran before it in this
    /// same target transaction.
    /// Wait until `dep` has committed; `holding`: this target transaction has written rows, so
    /// it holds locks an earlier transaction may wait for (see [`Worker::take_turn_holding`]).
    async fn wait_dependency(&mut self, dep: u64, holding: bool) -> Result<(), Failure> {
        if holding {
            self.wait_committed_holding(dep).await
        } else {
            self.wait_committed(dep).await
        }
    }

    pub(super) async fn run_segmented(&mut self, positions: &[StreamPos], plan: &[Stmt], split: usize, dep: u64, turn: &mut Turn) -> Result<(), Failure> {
        let checkpoint = self.shared.store.record_many_sql(positions);
        if self.compound_fits(plan, &checkpoint) {
            // Two compound statements: the first opens the transaction, the second carries the
            // checkpoint (and COMMIT when it is already this group's turn).
            let mut head = self.compound_head(positions);
            if split > 0 {
                self.compound_trip(&plan[..split], &head, "").await?;
                head.clear();
            }
            self.wait_dependency(dep, split > 0).await?;
            return self.compound_finish(plan, split, &head, &checkpoint, turn).await;
        }
        self.batches(plan)?;
        let mut begin = positions.last().and_then(|last| self.gtid_prefix(last)).map(|p| p + ";").unwrap_or_default();
        begin.push_str("BEGIN");
        if let Some((_, error)) = run_batch(&mut self.conn, &begin).await.error {
            return Err(self.interpret_error(Some(Piece::Control), error, plan));
        }
        if split > 0 {
            self.run_checked(&plan[..split]).await?;
        }
        self.wait_dependency(dep, split > 0).await?;
        if split < plan.len() {
            self.run_checked(&plan[split..]).await?;
        }
        self.exec(&checkpoint, None, plan).await?;
        self.take_turn_holding(turn).await?;
        self.exec("COMMIT", None, plan).await
    }

    /// The fast path: whole transaction in one (or, when waiting for the turn, two) round trips.
    /// `positions` are the source transactions whose rows `plan` holds (several for a commit
    /// group, which is logged under the last one's GTID); `turn` is the first one's.
    pub(super) async fn run_fast(&mut self, positions: &[StreamPos], plan: &[Stmt], turn: &mut Turn) -> Result<(), Failure> {
        turn.try_take_now();
        let checkpoint = self.shared.store.record_many_sql(positions);
        let compound = self.compound_for(plan);
        // Statement events and BINLOG statements go alone in their round trips (see
        // `run_alone`): the split path.
        if plan.iter().any(Stmt::goes_alone) || fast_text_len(plan, compound) + checkpoint.len() > self.budget {
            return self.run_split(positions, plan, &checkpoint, turn).await;
        }
        if compound {
            match self.run_compound(positions, plan, &checkpoint, turn).await {
                // A compound statement's error does not say which statement raised it: roll
                // back and run the statements one result each, which names it.
                Err(Failure::Fatal { .. }) => self.rollback().await,
                other => return other,
            }
        }
        let single_trip = turn.held() && !plan.iter().any(|s| matches!(s.kind, StmtKind::Update | StmtKind::Delete));
        let mut text = String::with_capacity(plan.iter().map(|s| s.sql.len() + 2).sum::<usize>() + 256);
        let mut pieces = Vec::with_capacity(plan.len() * 2 + 4);
        if let Some(p) = positions.last().and_then(|last| self.gtid_prefix(last)) {
            push_piece(&mut text, &mut pieces, &p, Piece::Control);
        }
        push_piece(&mut text, &mut pieces, "BEGIN", Piece::Control);
        for (i, s) in plan.iter().enumerate() {
            push_piece(&mut text, &mut pieces, &s.sql, Piece::Stmt(i));
        }
        push_piece(&mut text, &mut pieces, &checkpoint, Piece::Checkpoint);
        if single_trip {
            push_piece(&mut text, &mut pieces, "COMMIT", Piece::Commit);
        }
        let batch = run_batch(&mut self.conn, &text).await;
        if let Some((idx, error)) = batch.error {
            return Err(self.interpret_error(pieces.get(idx).copied(), error, plan));
        }
        if single_trip {
            // Committed; only INSERTs, whose divergence (a duplicate key) is an error.
            return Ok(());
        }
        // Two-trip: check every row statement found its row before committing.
        check_found_rows(&pieces, &batch.counts, plan)?;
        self.take_turn_holding(turn).await?;
        if let Err(e) = self.conn.query_drop("COMMIT").await {
            return Err(self.interpret_error(Some(Piece::Commit), e, plan));
        }
        Ok(())
    }

    /// The fast path as one MariaDB compound statement: `BEGIN NOT ATOMIC`, the GTID, `START
    /// TRANSACTION`, each row statement followed by a found-row check that SIGNALs
    /// [`DIVERGED_SIGNAL`] with the statement's index, the checkpoint row and, when it is
    /// already this transaction's turn, `COMMIT`; `END`. The server parses it once and answers
    /// with one packet, where a multi-statement text gets one result packet (and one flush) per
    /// statement; and since the checks run inside, UPDATE/DELETE transactions commit in the
    /// same round trip too. A SIGNAL leaves the transaction open: the caller rolls back.
    async fn run_compound(&mut self, positions: &[StreamPos], plan: &[Stmt], checkpoint: &str, turn: &mut Turn) -> Result<(), Failure> {
        let head = self.compound_head(positions);
        self.compound_finish(plan, 0, &head, checkpoint, turn).await
    }

    /// The last compound statement of a transaction: `head`, `plan[start..]`, the checkpoint
    /// and, when it is already this transaction's turn, COMMIT; else COMMIT in its turn.
    async fn compound_finish(&mut self, plan: &[Stmt], start: usize, head: &str, checkpoint: &str, turn: &mut Turn) -> Result<(), Failure> {
        let single_trip = turn.try_take_now();
        let tail = if single_trip { format!("{checkpoint}; COMMIT; ") } else { format!("{checkpoint}; ") };
        self.compound_trip(&plan[start..], head, &tail).await?;
        if single_trip {
            return Ok(());
        }
        self.take_turn_holding(turn).await?;
        if let Err(e) = self.conn.query_drop("COMMIT").await {
            return Err(self.interpret_error(Some(Piece::Commit), e, plan));
        }
        Ok(())
    }

    /// Whether `plan` goes as compound statements: the target runs them and the plan has only
    /// row statements (session changes and statement events keep multi-statement text).
    pub(super) fn compound_for(&self, plan: &[Stmt]) -> bool {
        self.shared.compound && plan.iter().all(|s| matches!(s.kind, StmtKind::Insert | StmtKind::Update | StmtKind::Delete))
    }

    /// [`Worker::compound_for`] and within one round trip's budget with `checkpoint`.
    fn compound_fits(&self, plan: &[Stmt], checkpoint: &str) -> bool {
        self.compound_for(plan) && fast_text_len(plan, true) + checkpoint.len() <= self.budget
    }

    /// What opens the target transaction inside a compound statement: the GTID, START
    /// TRANSACTION.
    pub(super) fn compound_head(&self, positions: &[StreamPos]) -> String {
        let mut head = positions.last().and_then(|last| self.gtid_prefix(last)).map(|p| p + "; ").unwrap_or_default();
        head.push_str("START TRANSACTION; ");
        head
    }

    /// One compound statement: `head`, the statements of `plan`, `tail`. Each UPDATE/DELETE
    /// adds whether it found all its rows (one, or a coalesced batch's count) to a local
    /// counter, and one check before `tail` SIGNALs [`DIVERGED_SIGNAL`] unless all did. A check per statement (`IF ROW_COUNT() <> 1
    /// THEN SIGNAL ...`) costs the server a parsed SIGNAL statement each, and its parser
    /// back-patches every IF's jump by scanning all earlier ones, quadratic in a commit group's
    /// size: a third of the target's CPU went to parsing. The signal does not say which
    /// statement diverged; the caller re-runs the statements one result each, which names it.
    async fn compound_trip(&mut self, plan: &[Stmt], head: &str, tail: &str) -> Result<(), Failure> {
        let checked = plan.iter().filter(|s| matches!(s.kind, StmtKind::Update | StmtKind::Delete)).count();
        let mut text = String::with_capacity(fast_text_len(plan, true) + head.len() + tail.len());
        text.push_str("BEGIN NOT ATOMIC ");
        if checked > 0 {
            text.push_str("DECLARE parapply_found INT UNSIGNED DEFAULT 0; ");
        }
        text.push_str(head);
        push_checked_statements(&mut text, plan, 0);
        text.push_str(tail);
        text.push_str("END");
        if let Err(error) = self.conn.query_drop(text).await {
            if matches!(&error, mysql_async::Error::Server(se) if se.message == DIVERGED_SIGNAL) {
                // Some UPDATE/DELETE found no row; which one, the re-run says.
                return Err(Failure::Fatal { stmt: None, error });
            }
            return Err(self.interpret_error(None, error, plan));
        }
        Ok(())
    }
}

/// `plan`'s statements for a compound statement that DECLAREd `parapply_found`: each
/// UPDATE/DELETE adds whether it found all its rows, and one check after them SIGNALs
/// [`DIVERGED_SIGNAL`] unless the count reached `found_before` plus this plan's checks (several
/// plans share the counter, see `trip`). Returns that total.
pub(super) fn push_checked_statements(text: &mut String, plan: &[Stmt], found_before: usize) -> usize {
    let mut expected = found_before;
    for s in plan {
        text.push_str(&s.sql);
        text.push_str("; ");
        if matches!(s.kind, StmtKind::Update | StmtKind::Delete) {
            let _ = write!(text, "SET parapply_found = parapply_found + (ROW_COUNT() = {}); ", s.rows);
            expected += 1;
        }
    }
    if expected > found_before {
        let _ = write!(text, "IF parapply_found <> {expected} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{DIVERGED_SIGNAL}'; END IF; ");
    }
    expected
}

/// Bytes of [`Worker::run_fast`]'s text for `plan` without its checkpoint: statements,
/// separators, and room for `SET gtid_*`, `BEGIN` and `COMMIT` (and a compound statement's
/// frame, counter and final check).
pub(super) fn fast_text_len(plan: &[Stmt], compound: bool) -> usize {
    let (per_stmt, fixed) = if compound { (COMPOUND_CHECK_LEN, 512) } else { (packet::SEPARATOR, 256) };
    plan.iter().map(|s| s.len() + per_stmt).sum::<usize>() + fixed
}

/// Upper bound of what a compound statement adds per statement: `SET parapply_found =
/// parapply_found + (ROW_COUNT() = N); `.
const COMPOUND_CHECK_LEN: usize = 80;

/// MESSAGE_TEXT of a compound statement's found-row check.
const DIVERGED_SIGNAL: &str = "parapply: an UPDATE or DELETE found no row";
