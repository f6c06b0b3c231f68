//! The worker's DDL path: a DDL runs in its commit turn, alone (it commits implicitly), then
//! its checkpoint in a transaction of its own, with a `CREATE TABLE ... SELECT`'s rows; a DDL
//! the target already logged (crash before its checkpoint) is not run again; after it the
//! worker re-reads the target's triggers and system-versioned tables.
//!
//! Owns those steps and the reload after a DDL. It must not decide when a DDL runs (the
//! scheduler makes it a barrier) nor build its SQL (the builder does).

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use mysql_async::prelude::Queryable;

use super::send::{run_batch, Piece};
use super::{Failure, Turn, Worker};
use crate::apply::binlog_stmt::{describe_triggers, RowEvents, TriggerRow, TRIGGERS_SQL};
use crate::apply::checkpoint::StreamPos;
use crate::apply::sql::{PlanStyle, Stmt, StmtKind};
use crate::apply::versioning;
use crate::schedule::KeyCatalog;
use crate::txn::{Change, Transaction};

impl Worker {
    /// DDL: it commits implicitly, so it cannot share a transaction with its checkpoint. When the
    /// source GTID is kept on the target, a DDL whose GTID the target already logged (crash
    /// between the DDL and its checkpoint) is not run again.
    ///
    /// For `CREATE TABLE ... SELECT`, `plan` stops before the rows (`created_rows`: the
    /// transaction and its first row change): those are mapped onto the table the CREATE made
    /// (which alone says which columns the target computes), then run in the checkpoint's
    /// transaction.
    pub(super) async fn run_ddl(&mut self, pos: &StreamPos, plan: &[Stmt], created_rows: Option<(&Transaction, usize)>, turn: &mut Turn) -> Result<(), Failure> {
        turn.take().await?;
        // The target's last GTID in the domain being this DDL's is not enough on its own: a
        // transaction on a non-transactional table (MyISAM, Aria) is logged on the target as
        // two event groups, its rows under the source GTID and its checkpoint under the next
        // seq, which is the next source transaction's. Only a GTID the target had when the run
        // started, or a DDL this run started, can be one that ran before its checkpoint.
        let already = match (self.gtid_prefix(pos), pos.mariadb) {
            (Some(_), Some((d, s, n))) => {
                let gtid = format!("{d}-{s}-{n}");
                let maybe = !self.shared.ddl_maybe_applied.lock().insert(gtid.clone());
                maybe && {
                    let logged: Option<String> = self.conn.query_first("SELECT @@GLOBAL.gtid_binlog_pos").await.map_err(|e| self.interpret_error(None, e, plan))?;
                    logged.unwrap_or_default().split(',').any(|g| g.trim() == gtid)
                }
            }
            _ => false,
        };
        if already {
            tracing::info!(worker = self.id, gtid = %pos.gtid, "DDL already on the target (its GTID is logged there); recording checkpoint only");
        } else {
            if let Some(p) = self.gtid_prefix(pos) {
                if let Some((_, error)) = run_batch(&mut self.conn, &p).await.error {
                    return Err(self.interpret_error(Some(Piece::Control), error, plan));
                }
            }
            // The statement event alone in its round trip, its context before it.
            self.run_checked(plan).await?;
        }
        // The checkpoint goes in its own transaction, logged under the target's own GTID domain
        // (not the source's: that seq belongs to the DDL). A CREATE TABLE ... SELECT's rows go in
        // that transaction too: a crash between the CREATE and its rows leaves the checkpoint
        // unrecorded and the rows uncommitted, and the rerun (which finds the CREATE's GTID
        // logged and skips it) applies them exactly once.
        let mut text = String::new();
        if pos.mariadb.is_some() && self.shared.keep_gtid.load(Relaxed) {
            text.push_str("SET SESSION gtid_domain_id=@@GLOBAL.gtid_domain_id, server_id=@@GLOBAL.server_id;");
        }
        // A replicated event must not run on the target: MariaDB's SQL thread creates it
        // SLAVESIDE_DISABLED (Event_parse_data::check_if_in_the_past / check_originator_id);
        // parapply disables it right after, under the target's own GTID (also after a crash
        // between the DDL and its checkpoint, when the DDL itself is not run again).
        for s in plan.iter() {
            let StmtKind::Logged(bytes) = &s.kind else { continue };
            if let Some(name) = crate::apply::events::replicated_event_to_disable(&String::from_utf8_lossy(bytes), &self.ddl_schema(plan)) {
                let _ = write!(text, "ALTER EVENT {name} DISABLE ON SLAVE;");
            }
        }
        text.push_str("BEGIN");
        self.exec(&text, None, plan).await?;
        if let Some((txn, first)) = created_rows {
            self.run_created_rows(txn, first).await?;
        }
        let text = format!("{};COMMIT", self.shared.store.record_sql(pos));
        self.exec(&text, None, plan).await?;
        self.reload_after_ddl().await
    }

    /// The rows of a `CREATE TABLE ... SELECT` (from change `first` on), mapped by position onto
    /// the table its CREATE has just made, as the native replica applies them.
    async fn run_created_rows(&mut self, txn: &Transaction, first: usize) -> Result<(), Failure> {
        if let Some(tables) = &self.shared.tables {
            tables.invalidate();
        }
        let mut rest = Transaction { changes: txn.changes[first..].to_vec(), is_ddl: false, ..txn.clone() };
        self.onto_target(&mut rest.changes).await?;
        let what = |e: String| Failure::Stopped(format!("GTID {}: rows of CREATE TABLE ... SELECT: {e}", txn.gtid.as_ref().map(|g| g.to_string()).unwrap_or_default()));
        // A table created system-versioned (mapped just now) takes the BINLOG path too.
        let plan = if self.shared.row_path.binlog_for(&rest.changes) {
            let mut plan = Vec::new();
            self.binlog_plan(&[&rest], &mut plan).map_err(what)?;
            plan
        } else {
            self.shared.builder.plan(&rest, PlanStyle::Batched).map_err(|e| what(e.to_string()))?
        };
        self.run_checked(&plan).await
    }

    /// The default schema a DDL plan ran in (its `USE`), for unqualified names.
    fn ddl_schema(&self, plan: &[Stmt]) -> String {
        plan.iter()
            .rev()
            .find_map(|s| s.sql.strip_prefix("USE ").map(|n| n.trim().trim_matches('`').replace("``", "`")))
            .unwrap_or_default()
    }

    /// Re-read the target's triggers and system-versioned tables after a DDL (it may have
    /// created a trigger, or a table that has one, or a versioned table). With `row_events =
    /// auto` and no BINLOG path, a trigger on the target stops the pipeline: its rows would be
    /// applied twice; so does a table versioned by transaction id, in any mode.
    async fn reload_after_ddl(&mut self) -> Result<(), Failure> {
        // A DDL may have created a table versioned by transaction id: refused before any of its
        // changes run (see `crate::apply::versioning`).
        let versioned = match versioning::versioned_tables(&mut self.conn).await {
            Ok(v) => v,
            Err(e) => return Err(self.interpret_error(None, e, &[])),
        };
        if !versioned.is_empty() {
            let trx = match versioning::trx_versioned(&mut self.conn, &versioned).await {
                Ok(t) => t,
                Err(e) => return Err(self.interpret_error(None, e, &[])),
            };
            if !trx.is_empty() {
                return Err(Failure::Stopped(format!("the target now has tables {}", versioning::trx_refusal(&trx))));
            }
        }
        self.shared.row_path.versioned.store(!versioned.is_empty(), Relaxed);
        self.shared.row_path.settle_raw_rows();
        let path = &self.shared.row_path;
        if path.mode == RowEvents::Sql || (path.mode == RowEvents::Binlog && path.binlog_available) {
            return Ok(());
        }
        let rows: Vec<TriggerRow> = match self.conn.query(TRIGGERS_SQL).await {
            Ok(r) => r,
            Err(e) => return Err(self.interpret_error(None, e, &[])),
        };
        self.shared.row_path.triggers.replace(&rows);
        self.shared.row_path.settle_raw_rows();
        if !rows.is_empty() && !self.shared.row_path.binlog_available {
            return Err(Failure::Stopped(format!(
                "the target now has triggers ({}) and no BINLOG statement path (needs a MariaDB target and the BINLOG REPLAY privilege): applying rows as SQL would fire them for rows the source already logged",
                describe_triggers(&rows)
            )));
        }
        Ok(())
    }
}

/// Index of the first row change of a DDL transaction: the rows of a `CREATE TABLE ...
/// SELECT`, which the dispatcher could not map because their table did not exist yet (named or
/// not, only the created table says which columns the target computes).
pub(super) fn first_rows(txn: &Transaction) -> Option<usize> {
    txn.changes.iter().position(|c| matches!(c, Change::Rows(_)))
}
