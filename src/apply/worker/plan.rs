//! What the worker sends for a transaction's changes when it is not plain per-transaction SQL:
//! row events as `BINLOG` statements (see [`super::RowPath`]) with the rest as SQL in between,
//! and a commit group's statements (coalesced when the coalescer can place every change).
//!
//! Owns choosing and joining those plans. It must not send anything (the paths do) nor build
//! a statement's text itself ([`crate::apply::sql`], [`crate::apply::binlog_stmt`] and
//! [`crate::apply::coalesce`] do).

use super::{Failure, Worker};
use crate::apply::binlog_stmt::BinlogStatement;
use crate::apply::sql::{PlanStyle, SqlError, Stmt, StmtKind};
use crate::txn::{Change, Transaction, TxnEnd};

impl Worker {
    /// Row changes of `txns` (in order) as BINLOG statements; their other changes (statement
    /// events, session context) as SQL in between, in source order. Consecutive row changes,
    /// across transactions too, share one statement up to a quarter of a round trip.
    pub(super) fn binlog_plan(&self, txns: &[&Transaction], out: &mut Vec<Stmt>) -> Result<(), String> {
        let cap = (self.budget / 4).max(64 * 1024);
        let mut cur = BinlogStatement::new();
        let finish = |cur: BinlogStatement, out: &mut Vec<Stmt>| {
            if !cur.is_empty() {
                let (table, rows) = (cur.first_table().cloned(), cur.rows());
                out.push(Stmt { sql: cur.finish(), kind: StmtKind::Binlog, table, rows, overwrite_sql: None, expected_error: 0 });
            }
        };
        for txn in txns {
            if txn.end == TxnEnd::Rollback {
                finish(std::mem::take(&mut cur), out);
                out.extend(self.shared.builder.rolled_back(txn).map_err(|e| format!("cannot build SQL: {e}"))?);
                continue;
            }
            let mut other: Vec<Change> = Vec::new();
            for c in &txn.changes {
                match c {
                    // A sequence's row as SQL: a NEXTVAL logged with a partial image is ERROR
                    // 4085 in the server's row code (see `SqlBuilder::sequence_setval`).
                    Change::Rows(rc) if !rc.table.sequence => {
                        if !other.is_empty() {
                            finish(std::mem::take(&mut cur), out);
                            self.sql_part(txn, std::mem::take(&mut other), out)?;
                        }
                        cur.push(rc).map_err(|e| e.to_string())?;
                        if cur.len() >= cap {
                            finish(std::mem::take(&mut cur), out);
                        }
                    }
                    other_change => other.push(other_change.clone()),
                }
            }
            if !other.is_empty() {
                finish(std::mem::take(&mut cur), out);
                self.sql_part(txn, other, out)?;
            }
        }
        finish(cur, out);
        Ok(())
    }

    /// Statement events and context of `txn` (no row changes) as SQL.
    fn sql_part(&self, txn: &Transaction, changes: Vec<Change>, out: &mut Vec<Stmt>) -> Result<(), String> {
        let part = Transaction { gtid: txn.gtid.clone(), server_id: txn.server_id, thread_id: txn.thread_id, changes, is_ddl: txn.is_ddl, ..Transaction::default() };
        out.extend(self.shared.builder.plan(&part, PlanStyle::Batched).map_err(|e| format!("cannot build SQL: {e}"))?);
        Ok(())
    }

    /// The statements of `txns` (part of a commit group, in source order): coalesced when the
    /// coalescer can place every change, else each transaction's own plan one after another.
    pub(super) fn group_plan(&mut self, txns: &[&Transaction]) -> Result<Vec<Stmt>, Failure> {
        // Unbuildable SQL: the member path reports it properly.
        let unbuildable = |e: SqlError| Failure::Stopped(e.to_string());
        if txns.iter().any(|t| self.shared.row_path.binlog_for(&t.changes)) {
            let mut plan = Vec::new();
            self.binlog_plan(txns, &mut plan).map_err(Failure::Stopped)?;
            return Ok(plan);
        }
        self.sql_plan(txns).map_err(unbuildable)
    }

    /// The row changes and statements of `txns` (in source order, one target transaction) as
    /// SQL: coalesced when the coalescer can place every change (a single transaction too, so
    /// a source statement that changed many rows becomes batched statements instead of one
    /// per row), else each transaction's own plan one after another.
    pub(super) fn sql_plan(&mut self, txns: &[&Transaction]) -> Result<Vec<Stmt>, SqlError> {
        if let Some(plan) = self.coalescer.as_mut().and_then(|c| c.plan(&self.shared.builder, txns.iter().copied())) {
            return plan;
        }
        let mut plan = Vec::new();
        for txn in txns {
            if txn.end == TxnEnd::Rollback {
                plan.extend(self.shared.builder.rolled_back(txn)?);
            } else {
                plan.extend(self.shared.builder.plan(txn, PlanStyle::Batched)?);
            }
        }
        Ok(plan)
    }
}
