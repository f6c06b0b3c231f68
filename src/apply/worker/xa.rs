//! The worker's XA path: applying one part of an XA transaction ([`XaPart`]) exactly once.
//!
//! Owns the target-side statements of an XA transaction and how a re-run after a crash knows
//! what already landed. It must not decide when a part runs (the scheduler makes every part a
//! barrier, [`crate::schedule::BarrierReason::Xa`]) nor build row SQL (the builder does).
//!
//! # What runs on the target
//! As MariaDB's own replica does (`XA_prepare_log_event::do_commit` runs `XA PREPARE` for the
//! logged prepare, and the logged `XA COMMIT` later, each under its own GTID):
//! - the prepared part: `[SET gtid_*;] XA START xid`, the rows (every UPDATE/DELETE checked to
//!   find its row), `XA END xid`, `XA PREPARE xid`; then the connection is replaced (a session
//!   with a prepared branch can run nothing else, and a prepared branch outlives its session,
//!   MariaDB 10.5+ MDEV-742); then the checkpoint row and an `xa_prepared` mark in a
//!   transaction of their own. A row written inside the branch would only become visible at
//!   its XA COMMIT, so the record cannot go in the branch.
//! - `XA COMMIT xid` / `XA ROLLBACK xid` (`[SET gtid_*;]` first), then the checkpoint row, and
//!   the mark deleted, in a transaction of their own.
//!
//! The xid is always sent as parapply-built `X'hex',X'hex',format_id` from the decoded xid,
//! never as logged text.
//!
//! # Resumption
//! `XA RECOVER` on the target is the truth about a branch:
//! - prepared part re-run (crash after `XA PREPARE`, before its record): the xid is listed, so
//!   only the record is written.
//! - commit re-run (crash after `XA COMMIT`, before its record): the xid is not listed but
//!   marked in `xa_prepared`, so the commit landed and only the record is written. Listed:
//!   the commit runs. Neither: the branch was never prepared here (the prepared part lies
//!   before where this replay started), and the worker stops, as the native replica does
//!   with XAER_NOTA.
//!
//! # Error handling
//! A branch that is not yet prepared ends only with `XA END` + `XA ROLLBACK` or with its
//! session, so any failure replaces the connection (the branch is rolled back with it), then
//! lock conflicts and lost connections are retried with backoff and anything else stops with
//! the GTID. `on_conflict = skip|overwrite` do not apply to XA parts: a divergence stops. An
//! `XA COMMIT` that finds its branch still attached to the session that prepared it (listed,
//! but XAER_NOTA while that session is being torn down) is retried.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

use mysql_async::prelude::Queryable;

use super::send::{push_piece, run_batch, Piece};
use super::{Failure, Turn, Worker};
use crate::apply::checkpoint::StreamPos;
use crate::apply::sql::{PlanStyle, Stmt};
use crate::apply::ApplyError;
use crate::decode::event::XaId;
use crate::txn::{Transaction, XaPart};

/// XAER_NOTA: "Unknown XID".
const ER_XAER_NOTA: u16 = 1397;

impl Worker {
    /// Apply `part` of an XA transaction (`txn`, dispatcher sequence `seq`) exactly once.
    pub(super) async fn apply_xa(&mut self, seq: u64, txn: &Transaction, part: &XaPart) -> Result<(), ApplyError> {
        let pos = StreamPos::of(txn).map_err(ApplyError::Checkpoint)?;
        let gtid = pos.gtid.clone();
        let plan = match part {
            // Rows of tables with triggers or system versioning go as BINLOG statements here
            // too (see `RowPath`); they run inside XA START ... XA END like any DML.
            XaPart::Prepare(_) if self.shared.row_path.binlog_for(&txn.changes) => {
                let mut plan = Vec::new();
                self.binlog_plan(std::slice::from_ref(&txn), &mut plan).map_err(|what| ApplyError::Unsupported { gtid: gtid.clone(), what })?;
                plan
            }
            XaPart::Prepare(_) => self.shared.builder.plan(txn, PlanStyle::Batched).map_err(|source| ApplyError::Build { gtid: gtid.clone(), cause: source })?,
            XaPart::Commit(_) | XaPart::Rollback(_) => Vec::new(),
        };
        let mut turn = self.turn(seq);
        let mut attempt = 0u32;
        loop {
            let failure = match self.try_xa(&pos, part, &plan, &mut turn).await {
                Ok(()) => break,
                Err(f) => f,
            };
            // Ends an unprepared branch with its session; a prepared one survives.
            if let Err(e) = self.replace_connection().await {
                tracing::debug!(worker = self.id, gtid = %gtid, error = %e, "reconnect after a failed XA part failed");
            }
            match failure {
                Failure::Transient(error) | Failure::Connection(error) => {
                    attempt += 1;
                    let Some(d) = self.shared.backoff.delay(attempt) else {
                        return Err(ApplyError::RetriesExhausted { gtid, attempts: attempt - 1, cause: error });
                    };
                    self.shared.stats.retries.fetch_add(1, Relaxed);
                    tracing::debug!(worker = self.id, gtid = %gtid, attempt, error = %error, "XA part failed on the target; retrying");
                    tokio::time::sleep(d).await;
                }
                Failure::Cancelled => return Err(ApplyError::Cancelled),
                Failure::Diverged { stmt, what } => {
                    let table = plan.get(stmt).map(Stmt::table_name).unwrap_or_else(|| "-".into());
                    return Err(ApplyError::Conflict { gtid, table, what: format!("{what} (in the prepared part of an XA transaction, which on_conflict skip/overwrite do not handle)") });
                }
                Failure::Fatal { stmt, error } => {
                    let (table, sql) = match stmt.and_then(|i| plan.get(i)) {
                        Some(s) => (s.table_name(), s.shown()),
                        None => ("-".into(), format!("(XA statements of {})", xid_sql(part.xid()))),
                    };
                    return Err(ApplyError::Sql { gtid, table, sql, cause: error });
                }
                Failure::TooLarge { table, bytes } => return Err(self.too_large(gtid, table, bytes)),
                Failure::Stopped(what) | Failure::Interrupted(what) => return Err(ApplyError::Unsupported { gtid, what }),
                // The turn is taken before anything runs, never with a give-way timeout.
                Failure::YieldTurn => {}
            }
        }
        self.shared.stats.target_commits.fetch_add(1, Relaxed);
        self.committed(seq, &pos, txn, &BTreeMap::new());
        Ok(())
    }

    /// One attempt at `part` (see the module doc).
    async fn try_xa(&mut self, pos: &StreamPos, part: &XaPart, plan: &[Stmt], turn: &mut Turn) -> Result<(), Failure> {
        // A barrier: every earlier transaction has finished. In commit order, also its turn.
        turn.take().await?;
        let xid = part.xid();
        let x = xid_sql(xid);
        let listed = self.xa_listed(xid).await?;
        let store = self.shared.store.clone();
        let record = match part {
            XaPart::Prepare(_) => {
                if listed {
                    tracing::info!(worker = self.id, gtid = %pos.gtid, xid = %x, "XA branch already prepared on the target (stopped before its record); recording it only");
                } else {
                    self.batches(plan)?;
                    self.run_control(pos, &format!("XA START {x}"), plan).await?;
                    self.run_checked(plan).await?;
                    self.exec(&format!("XA END {x}"), None, plan).await?;
                    self.exec(&format!("XA PREPARE {x}"), None, plan).await?;
                    // This session can run nothing else until the branch ends; the branch
                    // outlives the session.
                    self.replace_connection().await.map_err(Failure::Connection)?;
                    // The server ends the old session when it gets to its COM_QUIT, and lists
                    // the branch only then. Until it is listed, the XA COMMIT that follows would
                    // find it neither listed nor unrecorded and take it for one committed before
                    // a crash: it would leave the branch prepared, holding its locks for good.
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                    while !self.xa_listed(xid).await? {
                        if std::time::Instant::now() > deadline {
                            return Err(Failure::Stopped(format!("XA PREPARE {x}: the branch is not listed by XA RECOVER 30 s after its session was closed")));
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                }
                format!("{}; {}", store.record_sql(pos), store.xa_mark_sql(xid, pos))
            }
            XaPart::Commit(_) | XaPart::Rollback(_) => {
                let verb = if matches!(part, XaPart::Commit(_)) { "COMMIT" } else { "ROLLBACK" };
                if listed {
                    match self.run_control(pos, &format!("XA {verb} {x}"), plan).await {
                        // Listed but unknown: the session that prepared it is still ending.
                        Err(Failure::Fatal { error: mysql_async::Error::Server(e), .. }) if e.code == ER_XAER_NOTA => {
                            return Err(Failure::Transient(mysql_async::Error::Server(e)));
                        }
                        other => other?,
                    }
                } else if store.xa_marked(&mut self.conn, xid).await.map_err(|e| Failure::Stopped(e.to_string()))? {
                    tracing::info!(worker = self.id, gtid = %pos.gtid, xid = %x, "XA branch no longer prepared on the target (XA {verb} landed before its record); recording it only");
                } else {
                    return Err(Failure::Stopped(format!(
                        "XA {verb} {x}: the branch is not prepared on the target (XA RECOVER does not list it) and parapply did not prepare it; its XA PREPARE lies before where this replay started"
                    )));
                }
                format!("{}; {}", store.record_sql(pos), store.xa_unmark_sql(xid))
            }
        };
        self.record_alone(pos, &record, plan).await
    }

    /// `[SET gtid_*;] sql` as one round trip: a refused GTID turns GTID keeping off and retries
    /// (see [`Worker::interpret_error`]).
    async fn run_control(&mut self, pos: &StreamPos, sql: &str, plan: &[Stmt]) -> Result<(), Failure> {
        let mut text = String::new();
        let mut pieces = Vec::new();
        if let Some(p) = self.gtid_prefix(pos) {
            push_piece(&mut text, &mut pieces, &p, Piece::Control);
        }
        push_piece(&mut text, &mut pieces, sql, Piece::Commit);
        if let Some((idx, error)) = run_batch(&mut self.conn, &text).await.error {
            return Err(self.interpret_error(pieces.get(idx).copied(), error, plan));
        }
        Ok(())
    }

    /// `record` in a transaction of its own, logged under the target's own GTID domain (the
    /// source GTID went to the XA statement).
    async fn record_alone(&mut self, pos: &StreamPos, record: &str, plan: &[Stmt]) -> Result<(), Failure> {
        let mut text = String::new();
        if pos.mariadb.is_some() && self.shared.keep_gtid.load(Relaxed) {
            text.push_str("SET SESSION gtid_domain_id=@@GLOBAL.gtid_domain_id, server_id=@@GLOBAL.server_id;");
        }
        text.push_str("BEGIN;");
        text.push_str(record);
        text.push_str(";COMMIT");
        self.exec(&text, None, plan).await
    }

    /// Does `XA RECOVER` on the target list `xid` as prepared?
    async fn xa_listed(&mut self, xid: &XaId) -> Result<bool, Failure> {
        let rows: Vec<(i64, i64, i64, Vec<u8>)> = match self.conn.query("XA RECOVER").await {
            Ok(r) => r,
            Err(e) => return Err(self.interpret_error(None, e, &[])),
        };
        Ok(rows.iter().any(|(format_id, gtrid_len, _, data)| recovered_is(xid, *format_id, *gtrid_len, data)))
    }

    /// A fresh session in place of the current one, which is closed (ending its session and
    /// any branch not yet prepared). Not counted as a reconnect: it is part of the XA path.
    async fn replace_connection(&mut self) -> Result<(), mysql_async::Error> {
        let conn = mysql_async::Conn::new(self.shared.opts.clone()).await?;
        let old = self.swap_conn(conn);
        if let Err(e) = old.disconnect().await {
            tracing::debug!(worker = self.id, error = %e, "closing the XA session failed (the server ends it when it notices)");
        }
        Ok(())
    }
}

/// Whether one `XA RECOVER` row (format id, gtrid length, data = gtrid || bqual) is `xid`.
fn recovered_is(xid: &XaId, format_id: i64, gtrid_len: i64, data: &[u8]) -> bool {
    i64::from(xid.format_id) == format_id
        && usize::try_from(gtrid_len).is_ok_and(|n| n == xid.gtrid.len())
        && data.len() == xid.gtrid.len() + xid.bqual.len()
        && data.starts_with(&xid.gtrid)
        && data.ends_with(&xid.bqual)
}

/// `xid` as XA statements take it: `X'gtrid',X'bqual',format_id` (hex, never logged text).
pub(crate) fn xid_sql(xid: &XaId) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("X'{}',X'{}',{}", hex(&xid.gtrid), hex(&xid.bqual), xid.format_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xid_is_sent_as_hex_with_its_format_id() {
        let x = XaId { format_id: -7, gtrid: vec![0x27, 0x5c, 0], bqual: vec![] };
        assert_eq!(xid_sql(&x), "X'275c00',X'',-7");
    }

    #[test]
    fn recover_rows_match_on_format_id_split_and_bytes() {
        let x = XaId { format_id: 3, gtrid: b"ab".to_vec(), bqual: b"c".to_vec() };
        assert!(recovered_is(&x, 3, 2, b"abc"));
        assert!(!recovered_is(&x, 1, 2, b"abc"), "other format id");
        assert!(!recovered_is(&x, 3, 1, b"abc"), "same bytes split differently ('a','bc')");
        assert!(!recovered_is(&x, 3, 2, b"abcd"));
    }
}
