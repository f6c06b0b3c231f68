//! `logical_clock` mode: trust what the source recorded about parallelism.
//!
//! Owns the interpretation of MySQL `last_committed`/`sequence_number` and MariaDB `commit_id`
//! and `flags2`. It does not look at keys: a source clock that is wrong (e.g. hand-edited
//! binlogs) is not corrected here; `writeset` exists for that.
//!
//! **MySQL.** A transaction may start once every transaction with `sequence_number <=` its
//! `last_committed` has committed. Sequence numbers increase within one binlog file and restart
//! at 1 in the next, so a sequence number that does not increase is a clock reset: the new
//! file's numbers say nothing about the old file's transactions, so every transaction of the new
//! file waits for all of the old file (MySQL's own applier does the same at a file boundary).
//! That is not a barrier: the new file's first group still runs together.
//! ```text
//! seq  last_committed  sequence_number   waits for every seq below
//!  0         0               1             0  (nothing)
//!  1         0               2             0  -> runs with 0
//!  2         2               3             2  -> after 0 and 1
//!  3         1               4             1  -> after 0 only; may run with 1 and 2
//!  4         0               1             4  (next file: after all of the old one)
//!  5         0               2             4  -> runs with 4
//! ```
//! Because numbers within a file are monotonic, "all with sequence_number <= L" is a prefix of
//! the file, so it is one "wait for every seq below X" (X = first seq whose number is > L).
//!
//! **MariaDB.** Consecutive transactions sharing a `commit_id` group-committed together and may
//! run together; a new group waits for everything before it. flags2: `DDL` is a barrier;
//! `WAITED` (it waited for a row lock of an earlier transaction on the source), no
//! `ALLOW_PARALLEL` or no `TRANSACTIONAL` mean "wait for everything before" (and start a new
//! group). A transaction without a `commit_id` is a group of one.
//! ```text
//! seq  commit_id  flags2               waits for every seq below
//!  0     100      TRANS|ALLOW_PAR       0
//!  1     100      TRANS|ALLOW_PAR       0  -> runs with 0
//!  2     100      TRANS|ALLOW_PAR|WAITED 2 -> after 0,1; new group starts here
//!  3     100      TRANS|ALLOW_PAR       2  -> runs with 2
//!  4     None     TRANS|ALLOW_PAR       4
//! ```
//! **No information** (`CommitDeps::None`) and DDL: `NoCommitInfo` / `Ddl` barriers.

use std::collections::VecDeque;

use super::{BarrierReason, DependencyRule, Plan, TxnFacts};
use crate::schedule::mode::Mode;
use crate::txn::{mariadb_flags2 as f2, CommitDeps};

#[derive(Debug, Default)]
pub struct LogicalClockRule {
    /// MySQL: (sequence_number, seq) of the current file's transactions at or above the low
    /// watermark, in order.
    recent: VecDeque<(i64, u64)>,
    last_sequence_number: Option<i64>,
    /// MariaDB: the current group's commit_id and first seq.
    group: Option<(u64, u64)>,
}

impl DependencyRule for LogicalClockRule {
    fn mode(&self) -> Mode {
        Mode::LogicalClock
    }

    fn plan(&mut self, seq: u64, facts: &TxnFacts, _low_watermark: u64, plan: &mut Plan) {
        match facts.deps {
            CommitDeps::LogicalClock { last_committed, sequence_number } => self.plan_mysql(seq, facts.is_ddl, last_committed, sequence_number, plan),
            CommitDeps::Mariadb { commit_id, flags2 } => self.plan_mariadb(seq, facts.is_ddl, commit_id, flags2, plan),
            CommitDeps::None => {
                self.group = None;
                plan.barrier = Some(if facts.is_ddl { BarrierReason::Ddl } else { BarrierReason::NoCommitInfo });
            }
        }
    }

    fn forget_below(&mut self, low_watermark: u64) {
        // Popped entries are done; an empty list then means "everything earlier is done".
        while self.recent.front().is_some_and(|(_, s)| *s < low_watermark) {
            self.recent.pop_front();
        }
    }
}

impl LogicalClockRule {
    fn plan_mysql(&mut self, seq: u64, is_ddl: bool, last_committed: i64, sequence_number: i64, plan: &mut Plan) {
        self.group = None;
        let reset = self.last_sequence_number.is_some_and(|prev| sequence_number <= prev);
        self.last_sequence_number = Some(sequence_number);
        if reset {
            // New file: forget the old file's numbers; with an empty list the first
            // transaction waits for everything before it, and the rest of its group waits for
            // the same prefix through its entry below.
            self.recent.clear();
        }
        let valid = sequence_number > 0 && last_committed >= 0 && last_committed < sequence_number;
        // Entries are in increasing sequence_number order; the first with a number above
        // last_committed starts what this transaction need not wait for.
        let first_after = self.recent.partition_point(|(n, _)| *n <= last_committed);
        let wait_before = self.recent.get(first_after).map_or(seq, |(_, s)| *s);
        self.recent.push_back((sequence_number, seq));
        if is_ddl {
            plan.barrier = Some(BarrierReason::Ddl);
        } else if !valid {
            plan.barrier = Some(BarrierReason::NoCommitInfo);
        } else {
            plan.wait_all_before = wait_before;
        }
    }

    fn plan_mariadb(&mut self, seq: u64, is_ddl: bool, commit_id: Option<u64>, flags2: u8, plan: &mut Plan) {
        self.recent.clear();
        self.last_sequence_number = None;
        if is_ddl || flags2 & f2::DDL != 0 {
            self.group = None;
            plan.barrier = Some(BarrierReason::Ddl);
            return;
        }
        let must_wait = flags2 & f2::WAITED != 0 || flags2 & f2::ALLOW_PARALLEL == 0 || flags2 & f2::TRANSACTIONAL == 0;
        match (commit_id, self.group) {
            (Some(id), Some((gid, start))) if id == gid && !must_wait => plan.wait_all_before = start,
            (Some(id), _) => {
                self.group = Some((id, seq));
                plan.wait_all_before = seq;
            }
            (None, _) => {
                self.group = None;
                plan.wait_all_before = seq;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mysql(l: i64, s: i64) -> TxnFacts {
        TxnFacts { deps: CommitDeps::LogicalClock { last_committed: l, sequence_number: s }, ..Default::default() }
    }
    fn maria(c: Option<u64>, flags2: u8) -> TxnFacts {
        TxnFacts { deps: CommitDeps::Mariadb { commit_id: c, flags2 }, ..Default::default() }
    }
    fn plans(facts: &[TxnFacts]) -> Vec<Plan> {
        let mut r = LogicalClockRule::default();
        facts
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut p = Plan::default();
                r.plan(i as u64, f, 0, &mut p);
                p
            })
            .collect()
    }
    fn wait(w: u64) -> Plan {
        Plan { wait_all_before: w, ..Default::default() }
    }
    fn barrier(r: BarrierReason) -> Plan {
        Plan { barrier: Some(r), ..Default::default() }
    }

    #[test]
    fn mysql_worked_example() {
        let p = plans(&[mysql(0, 1), mysql(0, 2), mysql(2, 3), mysql(1, 4), mysql(0, 1), mysql(0, 2), mysql(2, 3)]);
        assert_eq!(p, vec![wait(0), wait(0), wait(2), wait(1), wait(4), wait(4), wait(6)]);
    }

    #[test]
    fn mysql_invalid_clock_and_ddl_are_barriers() {
        let mut ddl = mysql(1, 2);
        ddl.is_ddl = true;
        let p = plans(&[mysql(0, 1), ddl, mysql(3, 3), TxnFacts::default()]);
        assert_eq!(
            p,
            vec![wait(0), barrier(BarrierReason::Ddl), barrier(BarrierReason::NoCommitInfo), barrier(BarrierReason::NoCommitInfo)]
        );
    }

    #[test]
    fn mariadb_worked_example() {
        let ok = f2::TRANSACTIONAL | f2::ALLOW_PARALLEL | f2::GROUP_COMMIT_ID;
        let p = plans(&[
            maria(Some(100), ok),
            maria(Some(100), ok),
            maria(Some(100), ok | f2::WAITED),
            maria(Some(100), ok),
            maria(None, ok),
            maria(Some(101), ok),
            maria(Some(101), f2::ALLOW_PARALLEL),
            maria(Some(101), ok | f2::DDL),
        ]);
        assert_eq!(p, vec![wait(0), wait(0), wait(2), wait(2), wait(4), wait(5), wait(6), barrier(BarrierReason::Ddl)]);
    }
}
