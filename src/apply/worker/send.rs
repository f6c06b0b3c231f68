//! Sending statements on the worker's connection and reading what came back: multi-statement
//! round trips under the target's `max_allowed_packet`, each statement's found-row count, and
//! what a target error means for the attempt ([`Failure`]).
//!
//! Owns the text framing (`;`-joined statements, which ones go alone in their own COM_QUERY),
//! the mapping of results back to plan statements ([`Piece`]) and the `SET gtid_*` prefix. It
//! must not decide when to commit or wait for a turn (the paths do: `fast`, `careful`, `ddl`,
//! `streamed`, `xa`) nor build row SQL (the builder does).

use std::sync::atomic::Ordering::Relaxed;

use mysql_async::prelude::Queryable;

use super::{Failure, Worker};
use crate::apply::checkpoint::StreamPos;
use crate::apply::packet;
use crate::apply::retry::{classify, ErrorClass};
use crate::apply::sql::{Stmt, StmtKind};

impl Worker {
    /// Run `plan`'s statements inside the open transaction, in as few round trips as fit the
    /// target's `max_allowed_packet` (one when it can); every UPDATE/DELETE must have found
    /// exactly one row. Nothing is sent when a statement is too large to send at all.
    pub(super) async fn run_checked(&mut self, plan: &[Stmt]) -> Result<(), Failure> {
        let ranges = self.batches(plan)?;
        for range in ranges {
            if let [s] = &plan[range.clone()] {
                if s.goes_alone() {
                    self.run_alone(range.start, plan).await?;
                    continue;
                }
            }
            let mut text = String::with_capacity(plan[range.clone()].iter().map(|s| s.sql.len() + packet::SEPARATOR).sum::<usize>());
            let mut pieces = Vec::with_capacity(range.len());
            for i in range {
                push_piece(&mut text, &mut pieces, &plan[i].sql, Piece::Stmt(i));
            }
            let batch = run_batch(&mut self.conn, &text).await;
            drop(text);
            if let Some((idx, error)) = batch.error {
                return Err(self.interpret_error(pieces.get(idx).copied(), error, plan));
            }
            check_found_rows(&pieces, &batch.counts, plan)?;
        }
        Ok(())
    }

    /// `plan` cut into round trips under the budget, or the statement that fits none.
    pub(super) fn batches(&self, plan: &[Stmt]) -> Result<Vec<std::ops::Range<usize>>, Failure> {
        let alone = |i: usize| plan.get(i).is_some_and(Stmt::goes_alone);
        packet::batches(plan.iter().map(Stmt::len), self.budget)
            .map(|ranges| ranges.into_iter().flat_map(|r| split_around(r, alone)).collect())
            .map_err(|o| Failure::TooLarge { table: plan.get(o.index).map(Stmt::table_name).unwrap_or_else(|| "-".into()), bytes: o.bytes })
    }

    /// `SET gtid_*` so the target logs the transaction under the source's GTID.
    pub(super) fn gtid_prefix(&self, pos: &StreamPos) -> Option<String> {
        if !self.shared.keep_gtid.load(Relaxed) {
            return None;
        }
        pos.mariadb.map(|(d, s, n)| format!("SET SESSION gtid_domain_id={d}, server_id={s}, gtid_seq_no={n}"))
    }

    /// A statement event: its logged bytes, unchanged and alone in one COM_QUERY, so the target
    /// parses exactly what the source parsed, in the charset the statements before it set
    /// (never joined with parapply's own SQL, whose `;` would let a literal that ends
    /// differently spill into the next statement). One statement answers with one result;
    /// more means the target split the text into several statements, which the source did
    /// not: stop rather than go on (nothing of a transactional statement commits then).
    /// A `LOAD DATA` reads its file through the one-shot LOCAL INFILE handler set here, which
    /// answers whatever name the server asks for with the logged bytes and nothing else. A
    /// BINLOG statement goes the same way (see [`Stmt::goes_alone`]).
    pub(super) async fn run_alone(&mut self, i: usize, plan: &[Stmt]) -> Result<(), Failure> {
        let bytes: &[u8] = match plan.get(i).map(|s| (&s.kind, s)) {
            Some((StmtKind::Binlog, s)) => s.sql.as_bytes(),
            Some((StmtKind::Logged(bytes), _)) => bytes,
            Some((StmtKind::LoadData { sql, data }, _)) => {
                let data = bytes::Bytes::copy_from_slice(data);
                self.conn.set_infile_handler(async move {
                    let chunks: mysql_async::InfileData = Box::pin(futures_util::stream::once(async move { Ok(data) }));
                    Ok(chunks)
                });
                sql
            }
            _ => return Err(Failure::Stopped(format!("statement {i} does not go alone"))),
        };
        let batch = run_batch(&mut self.conn, bytes).await;
        let expected = plan.get(i).map_or(0, |s| s.expected_error);
        match batch.error {
            // The source logged the statement with this very error (it changed a
            // non-transactional table before failing): the target got as far, as MariaDB's
            // replica accepts in `Query_log_event::do_apply_event`.
            Some((_, mysql_async::Error::Server(se))) if expected != 0 && se.code == expected => {
                tracing::warn!(worker = self.id, error = %se, "statement failed on the target with the error the source logged for it; going on, as the native replica does");
                return Ok(());
            }
            Some((_, error)) if expected != 0 && matches!(error, mysql_async::Error::Server(_)) => {
                return Err(Failure::Stopped(format!(
                    "the source logged error {expected} for this statement, the target failed with another ({error}): {}",
                    plan.get(i).map(Stmt::shown).unwrap_or_default()
                )));
            }
            Some((_, error)) => return Err(self.interpret_error(Some(Piece::Stmt(i)), error, plan)),
            None if expected != 0 => {
                return Err(Failure::Stopped(format!(
                    "the source logged error {expected} for this statement, which ran without error on the target (the two diverged before it): {}",
                    plan.get(i).map(Stmt::shown).unwrap_or_default()
                )));
            }
            None => {}
        }
        if batch.counts.len() > 1 {
            return Err(Failure::Stopped(format!(
                "the target ran a logged statement as {} statements (the source ran one): {}",
                batch.counts.len(),
                plan.get(i).map(Stmt::shown).unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Run `sql` (possibly multi-statement) and discard results.
    pub(super) async fn exec(&mut self, sql: &str, stmt: Option<usize>, plan: &[Stmt]) -> Result<(), Failure> {
        match self.conn.query_iter(sql).await {
            Ok(r) => r.drop_result().await.map_err(|e| self.interpret_error(stmt.map(Piece::Stmt), e, plan)),
            Err(e) => Err(self.interpret_error(stmt.map(Piece::Stmt), e, plan)),
        }
    }

    pub(super) fn interpret_error(&self, piece: Option<Piece>, error: mysql_async::Error, plan: &[Stmt]) -> Failure {
        // The target refused to log the source GTID (gtid_strict_mode out-of-order 1950, or no
        // privilege 1227): stop keeping GTIDs and run the transaction again without them.
        if let (Some(Piece::Control), mysql_async::Error::Server(s)) = (piece, &error) {
            if matches!(s.code, 1950 | 1227) && self.shared.keep_gtid.swap(false, Relaxed) {
                tracing::warn!(worker = self.id, error = %error, "target refuses SET gtid_seq_no; source GTIDs are no longer kept on the target (checkpoint table only)");
                return Failure::Transient(error);
            }
        }
        if let (Some(Piece::Stmt(i)), mysql_async::Error::Server(se)) = (piece, &error) {
            // The server's row code reports a row it cannot find (1032, HA_ERR_KEY_NOT_FOUND)
            // or a duplicate key (1062) as errors: the same divergence the SQL path's found-row
            // checks detect.
            if plan.get(i).is_some_and(|s| s.kind == StmtKind::Binlog) && matches!(se.code, 1032 | 1062) {
                return Failure::Diverged { stmt: i, what: format!("row event not applicable ({error})") };
            }
        }
        let class = classify(&error);
        match (class, piece) {
            (ErrorClass::Transient, _) => Failure::Transient(error),
            (ErrorClass::Connection, _) => Failure::Connection(error),
            (ErrorClass::Duplicate, Some(Piece::Stmt(i))) if plan.get(i).is_some_and(|s| s.kind == StmtKind::Insert) => {
                Failure::Diverged { stmt: i, what: format!("INSERT hit a duplicate key ({error})") }
            }
            (_, Some(Piece::Stmt(i))) => Failure::Fatal { stmt: Some(i), error },
            _ => Failure::Fatal { stmt: None, error },
        }
    }
}

/// The result of one multi-statement round trip.
pub(super) struct Batch {
    /// Affected (found) rows of each statement that completed, in order.
    pub(super) counts: Vec<u64>,
    /// The error and the index of the statement that raised it.
    pub(super) error: Option<(usize, mysql_async::Error)>,
}

/// What each statement of a sent text is, to map results back to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    Control,
    Stmt(usize),
    Checkpoint,
    Commit,
}

/// Every UPDATE/DELETE among `pieces` must have found exactly one row (`counts` are the
/// statements' found-row counts, in piece order).
pub(super) fn check_found_rows(pieces: &[Piece], counts: &[u64], plan: &[Stmt]) -> Result<(), Failure> {
    for (k, piece) in pieces.iter().enumerate() {
        if let Piece::Stmt(i) = piece {
            let Some(s) = plan.get(*i) else { continue };
            let got = counts.get(k).copied().unwrap_or(0);
            if matches!(s.kind, StmtKind::Update | StmtKind::Delete) && got != s.rows {
                let what = match (got, s.rows) {
                    (0, 1) => format!("{:?} found no row (row missing on target)", s.kind),
                    (n, want) => format!("{:?} found {n} rows, expected {want}", s.kind),
                };
                return Err(Failure::Diverged { stmt: *i, what });
            }
        }
    }
    Ok(())
}

/// `range` cut so every index for which `alone` holds is a range of its own.
fn split_around(range: std::ops::Range<usize>, alone: impl Fn(usize) -> bool) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    for i in range.clone() {
        if alone(i) {
            if start < i {
                out.push(start..i);
            }
            out.push(i..i + 1);
            start = i + 1;
        }
    }
    if start < range.end {
        out.push(start..range.end);
    }
    out
}

pub(super) fn push_piece(text: &mut String, pieces: &mut Vec<Piece>, sql: &str, piece: Piece) {
    if !text.is_empty() {
        text.push_str(";\n");
    }
    text.push_str(sql);
    pieces.push(piece);
}

/// Send a multi-statement text and collect each statement's affected rows, stopping at the
/// first error (the server executes nothing after it).
pub(super) async fn run_batch(conn: &mut mysql_async::Conn, sql: impl AsRef<[u8]>) -> Batch {
    let sql = sql.as_ref();
    let mut counts = Vec::new();
    let mut qr = match conn.query_iter(sql).await {
        Ok(q) => q,
        Err(e) => return Batch { counts, error: Some((0, e)) },
    };
    // Whether the loop ended after draining a statement's result, so that whatever
    // `drop_result` still reports belongs to the statement after the last one counted.
    let mut drained_last = false;
    loop {
        counts.push(qr.affected_rows());
        // `is_empty` is also true when the next result is an error: `drop_result` below
        // surfaces it, and it belongs to the statement whose count was just pushed.
        if qr.is_empty() {
            break;
        }
        loop {
            match qr.next().await {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => return Batch { error: Some((counts.len(), e)), counts },
            }
        }
        // Draining moved on to the next statement's result, if there is one (`None` also when
        // that is an error, which `drop_result` surfaces). A statement that answers with rows
        // (a logged ANALYZE/OPTIMIZE/REPAIR TABLE) was not empty above although nothing
        // follows it: without this check it counted as two statements.
        if qr.columns().is_none() {
            drained_last = true;
            break;
        }
    }
    match qr.drop_result().await {
        Ok(()) => Batch { counts, error: None },
        Err(e) if drained_last => Batch { error: Some((counts.len(), e)), counts },
        Err(e) => {
            let idx = counts.len().saturating_sub(1);
            counts.truncate(idx);
            Batch { counts, error: Some((idx, e)) }
        }
    }
}

/// [`run_batch`] for integration tests: the per-statement affected-row counts of one
/// multi-statement round trip, and the index and server error code of the statement that
/// failed, if one did.
#[doc(hidden)]
pub async fn run_batch_for_test(conn: &mut mysql_async::Conn, sql: &str) -> (Vec<u64>, Option<(usize, u16)>) {
    let b = run_batch(conn, sql).await;
    let err = b.error.map(|(i, e)| (i, if let mysql_async::Error::Server(s) = &e { s.code } else { 0 }));
    (b.counts, err)
}
