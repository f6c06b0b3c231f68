//! One apply worker: a target connection that applies whole transactions exactly once.
//!
//! Owns the execution of one [`Transaction`] on the target: the SQL text sent (one round trip
//! when it can), reading per-statement results, the commit-order turn, divergence handling
//! (`on_conflict`), rollback-and-retry on lock errors, and in-doubt resolution after a lost
//! connection. It must not choose which transaction runs next (the scheduler does) nor build
//! SQL for values (see [`crate::apply::sql`]).
//!
//! # One round trip
//! The fast path sends `[SET gtid_*;] BEGIN; rows...; checkpoint; COMMIT` as one multi-statement
//! query when nothing needs checking before COMMIT (INSERTs report a duplicate as an error).
//! An UPDATE/DELETE must find exactly one row: then everything but the COMMIT goes in one trip,
//! the affected-row counts are checked, the worker waits for its commit turn if
//! `preserve_commit_order` asks for it, and COMMIT is the second trip. (An in-batch assertion
//! after every UPDATE/DELETE would save that trip but costs the server far more: measured on
//! serial replay of sysbench oltp_write_only, 0.70 ms vs 0.50-0.58 ms of target CPU per
//! transaction.)
//!
//! # Larger than one packet
//! No round trip is larger than the target's `max_allowed_packet` (read once per connection,
//! see [`crate::apply::packet`]): a transaction whose text would be is sent as `BEGIN`, its
//! statements in as many byte-bounded batches as needed (results checked after each), then the
//! checkpoint and `COMMIT`, all in the same target transaction. A single statement larger than
//! the packet stops the pipeline with [`ApplyError::TooLarge`] naming GTID, table and sizes.
//!
//! # Commit groups
//! [`Worker::apply_group`] applies several independent, consecutive source transactions as one
//! target transaction (one COMMIT and one fsync instead of one each); see [`crate::apply::group`].
//!
//! # Error handling
//! - Deadlock (1213) / lock wait timeout (1205): ROLLBACK, back off, run the whole transaction
//!   again (bounded by `max_retries`); each retry is counted.
//! - Divergence (row missing for UPDATE/DELETE, duplicate key on INSERT): `stop` fails with the
//!   GTID and table; `skip` and `overwrite` roll back and re-run the transaction row by row,
//!   skipping the divergent row or making the target hold the source's after image.
//! - Lost connection: reconnect and read the checkpoint table; if the transaction is recorded,
//!   its COMMIT landed; otherwise run it again.
//! - Anything else: ROLLBACK and fail with the GTID, table, SQL error and statement.

use std::fmt::Write as _;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use parking_lot::Mutex;

use crate::apply::binlog_stmt::{describe_triggers, BinlogStatement, RowEvents, TriggerRow, TriggerTables, TRIGGERS_SQL};
use crate::apply::checkpoint::{CheckpointStore, Progress, StreamPos};
use crate::apply::coalesce::Coalescer;
use crate::apply::versioning;
use crate::apply::packet;
use crate::apply::retry::{classify, classify_code, Backoff, ErrorClass};
use crate::apply::sessions::{session_of, SessionConns};
use crate::apply::sql::{PlanStyle, SqlBuilder, SqlError, Stmt, StmtKind, SESSION_DEFAULTS};
use crate::apply::stats::ApplyStats;
use crate::apply::ApplyError;
use crate::config::{Endpoint, OnConflict};
use crate::schedule::{CommitOrder, InfoSchemaCatalog, KeyCatalog, Ready};
use crate::txn::{Change, ChangeStream, StreamEnd, StreamPiece, Transaction, TxnEnd};

mod trip;
mod turn;
mod xa;

use self::turn::{Turn, TURN_YIELD_AFTER};

/// Everything workers share. Built once by the pipeline.
pub struct WorkerShared {
    pub opts: mysql_async::Opts,
    pub builder: SqlBuilder,
    pub store: CheckpointStore,
    pub on_conflict: OnConflict,
    pub preserve_commit_order: bool,
    pub backoff: Backoff,
    /// Keep the source GTID on the target (MariaDB `SET gtid_domain_id, server_id, gtid_seq_no`).
    /// Turned off, with a warning, the first time the target refuses it.
    pub keep_gtid: AtomicBool,
    pub stats: Arc<ApplyStats>,
    pub progress: Arc<Mutex<Progress>>,
    pub commit_order: Arc<CommitOrder>,
    /// Set when the pipeline is stopping: workers waiting for their commit turn give up.
    pub cancel: tokio::sync::watch::Receiver<bool>,
    /// With commit order: a worker starts a group (or transaction) only once every transaction
    /// more than this many before its first one has committed. Commits are one at a time, so
    /// running far ahead of them only takes CPU from the group whose turn it is: measured on a
    /// 2-core box (20k sysbench backlog, 8 workers, groups of 128) 6,956 txn/s unbounded vs
    /// 8,881-9,488 with one group's worth of lead. Set to max(commit group size, workers): full
    /// groups then keep two groups in flight, small ones (light load) up to `workers`.
    pub max_ahead: Option<u64>,
    /// Send a row-only transaction as one MariaDB compound statement (`BEGIN NOT ATOMIC ...
    /// END`): one statement, one result packet, found-row checks inside (see
    /// [`Worker::run_compound`]). Off for targets without compound statements (MySQL).
    pub compound: bool,
    /// Commit groups and commit order are off (every source GTID kept on the target) and
    /// compound statements run: the transactions a worker takes together are sent in one round
    /// trip, each still its own target transaction (see `trip`).
    pub separate_commits: bool,
    /// Key layouts the scheduler resolved (writeset modes): commit groups' row changes are
    /// then coalesced into few statements (see [`crate::apply::coalesce`]).
    pub catalog: Option<Arc<dyn KeyCatalog>>,
    /// Target connections standing in for source sessions with temporary tables.
    pub sessions: SessionConns,
    /// The target's tables, onto which a streamed transaction's row changes are mapped as they
    /// arrive (the dispatcher maps every other transaction's at admission).
    pub tables: Option<Arc<InfoSchemaCatalog>>,
    /// How row events are applied: SQL, or `BINLOG` statements (see [`RowPath`]).
    pub row_path: RowPath,
    /// DDL GTIDs that may already be on the target: the target's `gtid_binlog_pos` when the
    /// pipeline started (a crash between a DDL and its checkpoint), plus each DDL this run
    /// has started (a retry after its checkpoint failed). See [`Worker::run_ddl`].
    pub ddl_maybe_applied: parking_lot::Mutex<std::collections::HashSet<String>>,
}

/// Which transactions' row events go as `BINLOG` statements (see
/// [`crate::apply::binlog_stmt`]), decided at start by the pipeline from `apply.row_events`,
/// the target and the triggers on it.
#[derive(Debug, Default)]
pub struct RowPath {
    /// `Sql`: never; `Binlog`: every row event; `Auto`: transactions that change a table with
    /// triggers on the target or a system-versioned table.
    pub mode: RowEvents,
    /// The target runs BINLOG statements for this user (MariaDB, BINLOG REPLAY or SUPER).
    pub binlog_available: bool,
    /// Tables with triggers on the target, reloaded after each DDL.
    pub triggers: Arc<TriggerTables>,
    /// The reader's switch for keeping ROWS events' bytes ([`crate::decode::Decoder::share_raw_rows`]).
    pub raw_rows: Arc<AtomicBool>,
    /// The target has system-versioned tables (their rows go as BINLOG statements under
    /// `auto`, so the reader must keep their bytes), reloaded after each DDL.
    pub versioned: AtomicBool,
}

impl RowPath {
    /// Tell the reader whether row events need their logged bytes from now on: only when some
    /// may go as BINLOG statements.
    pub fn settle_raw_rows(&self) {
        let wanted = match self.mode {
            RowEvents::Sql => false,
            RowEvents::Binlog => true,
            RowEvents::Auto => self.binlog_available && (!self.triggers.is_empty() || self.versioned.load(Relaxed)),
        };
        self.raw_rows.store(wanted, Relaxed);
    }

    /// Whether row changes `changes` (of one transaction) go as BINLOG statements.
    fn binlog_for(&self, changes: &[Change]) -> bool {
        match self.mode {
            RowEvents::Sql => false,
            RowEvents::Binlog => true,
            RowEvents::Auto => self.binlog_available && (touches_versioned(changes) || self.triggers.touches_changes(changes)),
        }
    }
}

/// Whether `changes` hold rows of a system-versioned table: those go as BINLOG statements,
/// whose server-side row code keeps the logged ROW START/ROW END and history rows exactly, as
/// the native replica's does (SQL cannot: see [`crate::apply::sql::column_names`]). A flag the
/// dispatcher set once per TABLE_MAP when mapping it onto the target's table.
fn touches_versioned(changes: &[Change]) -> bool {
    changes.iter().any(|c| matches!(c, Change::Rows(r) if r.table.system_versioned))
}

/// Connection options for the target: the shared ones ([`crate::net::opts`]: TLS, keepalive),
/// plus CLIENT_FOUND_ROWS (UPDATE counts matched rows) and the session the generated SQL assumes.
pub fn target_opts(ep: &Endpoint) -> mysql_async::Opts {
    crate::net::opts(ep)
        .client_found_rows(true)
        .stmt_cache_size(0)
        .setup(vec![
            SESSION_DEFAULTS.to_string(),
            // READ COMMITTED: row lookups by key take no gap locks, so transactions the
            // scheduler proved independent do not block each other on neighbouring keys.
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED".to_string(),
        ])
        .into()
}

/// Why one attempt at a transaction failed.
enum Failure {
    /// Lock conflict: roll back and retry.
    Transient(mysql_async::Error),
    /// The target diverged at statement `stmt` (index into the plan).
    Diverged { stmt: usize, what: String },
    /// Connection lost; fate unknown until the checkpoint is read.
    Connection(mysql_async::Error),
    /// Stop: SQL error at statement `stmt` (None: outside the plan, e.g. COMMIT/checkpoint).
    Fatal { stmt: Option<usize>, error: mysql_async::Error },
    /// The pipeline is stopping.
    Cancelled,
    /// Cannot go on and cannot be retried (a streamed transaction's source failed, SQL could
    /// not be built, XA PREPARE); the message says why.
    Stopped(String),
    /// A streamed transaction's source broke off before its end (see [`StreamPiece::Interrupted`]).
    Interrupted(String),
    /// Waited [`TURN_YIELD_AFTER`] for the commit turn with the transaction open: roll back,
    /// wait for the turn holding no locks, then run it again (see [`Turn::take_holding`]).
    YieldTurn,
    /// One statement of `bytes` on `table` is larger than a round trip may be.
    TooLarge { table: String, bytes: usize },
}

/// The result of one multi-statement round trip.
struct Batch {
    /// Affected (found) rows of each statement that completed, in order.
    counts: Vec<u64>,
    /// The error and the index of the statement that raised it.
    error: Option<(usize, mysql_async::Error)>,
}

/// What each statement of a sent text is, to map results back to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Control,
    Stmt(usize),
    Checkpoint,
    Commit,
}

/// One worker and its connection.
pub struct Worker {
    pub id: usize,
    conn: mysql_async::Conn,
    shared: Arc<WorkerShared>,
    /// The connection's `max_allowed_packet`, and the SQL bytes one round trip may carry.
    max_packet: u64,
    budget: usize,
    /// Plans commit groups as few statements (writeset modes only).
    coalescer: Option<Coalescer>,
}

impl Worker {
    pub async fn connect(id: usize, shared: Arc<WorkerShared>) -> Result<Worker, ApplyError> {
        let mut conn = crate::net::connect(shared.opts.clone()).await.map_err(|source| ApplyError::Connect { worker: id, cause: source })?;
        let max_packet = packet::read_max_allowed_packet(&mut conn).await.map_err(|source| ApplyError::Connect { worker: id, cause: source })?;
        let coalescer = shared.catalog.clone().map(Coalescer::new);
        Ok(Worker { id, conn, shared, max_packet, budget: packet::budget(max_packet), coalescer })
    }

    /// [`ApplyError::TooLarge`] for `gtid`.
    fn too_large(&self, gtid: String, table: String, bytes: usize) -> ApplyError {
        ApplyError::TooLarge { gtid, table, bytes, max_allowed_packet: self.max_packet, budget: self.budget }
    }

    /// Apply `txn` (dispatcher sequence `seq`) exactly once, including the commit-order turn
    /// and the in-memory progress update. Returns after COMMIT. A transaction whose statements
    /// depend on their source session (temporary tables) runs on that session's own target
    /// connection (see [`crate::apply::sessions`]).
    pub async fn apply(&mut self, seq: u64, txn: &Transaction) -> Result<(), ApplyError> {
        let Some(key) = session_of(txn) else { return self.apply_here(seq, txn).await };
        let slot = self.shared.sessions.slot(key);
        let mut kept = slot.lock().await;
        let session = match kept.take() {
            Some(conn) => conn,
            None => {
                let mut conn = crate::net::connect(self.shared.opts.clone()).await.map_err(|cause| ApplyError::Connect { worker: self.id, cause })?;
                // The server takes this id as the session's own (CONNECTION_ID()), like the
                // SQL thread's pseudo thread id; without the privilege it stays the target's.
                // ROW binlog format: with temporary tables in a STATEMENT/MIXED session, MariaDB
                // refuses to switch gtid_domain_id (error 1953), which keeping source GTIDs does
                // per transaction; in ROW format temporary tables are not logged at all and
                // what they feed into real tables is logged as rows.
                for set in [format!("SET SESSION pseudo_thread_id={}", key.1), "SET SESSION binlog_format='ROW'".to_string()] {
                    if let Err(e) = conn.query_drop(&set).await {
                        tracing::debug!(worker = self.id, error = %e, statement = %set, "session setting refused");
                    }
                }
                tracing::debug!(worker = self.id, server_id = key.0, thread_id = key.1, "new target session for a source session with temporary tables");
                conn
            }
        };
        let own = std::mem::replace(&mut self.conn, session);
        let result = self.apply_here(seq, txn).await;
        *kept = Some(std::mem::replace(&mut self.conn, own));
        result
    }

    /// [`Worker::apply`] on this worker's current connection.
    async fn apply_here(&mut self, seq: u64, txn: &Transaction) -> Result<(), ApplyError> {
        let pos = StreamPos::of(txn).map_err(ApplyError::Checkpoint)?;
        let gtid = pos.gtid.clone();
        let fail_build = |source| ApplyError::Build { gtid: gtid.clone(), cause: source };
        if let Some(stream) = &txn.stream {
            return self.apply_streamed(seq, txn, stream).await;
        }
        if let Some(part) = &txn.xa {
            return self.apply_xa(seq, txn, part).await;
        }
        // CREATE TABLE ... SELECT: its first row change; the rows run after the CREATE, mapped
        // onto the table it made, in one transaction with the checkpoint (see `run_ddl`).
        let created_rows = if txn.is_ddl { first_rows(txn) } else { None };
        let plan = match txn.end {
            // A rolled-back transaction changed nothing transactional: record it only.
            TxnEnd::Rollback => Vec::new(),
            // The assembler gives every XA PREPARE its xid (`txn.xa`); without one it cannot run.
            TxnEnd::XaPrepare => return Err(ApplyError::Unsupported { gtid, what: "XA PREPARE without an xid".into() }),
            // CREATE TABLE ... SELECT: the statements before the rows; the rows can be mapped
            // only once the CREATE has run (see `run_ddl`).
            _ if let Some(first) = created_rows => {
                let head = Transaction { changes: txn.changes[..first].to_vec(), ..txn.clone() };
                self.shared.builder.plan(&head, PlanStyle::Batched).map_err(fail_build)?
            }
            _ if self.shared.row_path.binlog_for(&txn.changes) => {
                let mut plan = Vec::new();
                self.binlog_plan(std::slice::from_ref(&txn), &mut plan).map_err(|what| ApplyError::Unsupported { gtid: gtid.clone(), what })?;
                plan
            }
            // Coalesced like a commit group of one: a source statement that changed many rows
            // becomes batched statements instead of one statement per row.
            _ => match self.coalescer.as_mut().and_then(|c| c.plan(&self.shared.builder, std::iter::once(txn))) {
                Some(plan) => plan.map_err(fail_build)?,
                None => self.shared.builder.plan(txn, PlanStyle::Batched).map_err(fail_build)?,
            },
        };
        let mut careful_plan: Option<Vec<Stmt>> = None;
        // Taken at most once: a re-run after giving way (or a retry after its COMMIT failed)
        // keeps it.
        let mut turn = self.turn(seq);
        let mut attempt = 0u32;
        let conflicts;
        loop {
            let result = if txn.is_ddl {
                self.run_ddl(&pos, &plan, created_rows.map(|first| (txn, first)), &mut turn).await.map(|()| BTreeMap::new())
            } else if let Some(cp) = &careful_plan {
                self.run_careful(&pos, cp, &mut turn).await
            } else {
                self.run_fast(std::slice::from_ref(&pos), &plan, &mut turn).await.map(|()| BTreeMap::new())
            };
            match result {
                Ok(c) => {
                    conflicts = c;
                    break;
                }
                Err(Failure::Cancelled) => {
                    self.rollback().await;
                    return Err(ApplyError::Cancelled);
                }
                Err(Failure::Transient(error)) => {
                    self.rollback().await;
                    attempt += 1;
                    match self.shared.backoff.delay(attempt) {
                        Some(d) => {
                            self.shared.stats.retries.fetch_add(1, Relaxed);
                            tracing::debug!(worker = self.id, gtid = %gtid, attempt, error = %error, "lock conflict on target; retrying");
                            tokio::time::sleep(d).await;
                        }
                        None => return Err(ApplyError::RetriesExhausted { gtid, attempts: attempt - 1, cause: error }),
                    }
                }
                Err(Failure::Diverged { stmt, what }) => {
                    self.rollback().await;
                    let table = plan.get(stmt).or_else(|| careful_plan.as_ref().and_then(|c| c.get(stmt))).map(Stmt::table_name).unwrap_or_else(|| "-".into());
                    if self.shared.on_conflict == OnConflict::Stop || careful_plan.is_some() {
                        return Err(ApplyError::Conflict { gtid, table, what });
                    }
                    if touches_versioned(&txn.changes) {
                        return Err(ApplyError::Conflict { gtid, table, what: format!("{what}; on_conflict skip/overwrite re-run rows as SQL, which cannot keep a system-versioned table's history and timestamps, so it stops here") });
                    }
                    if self.shared.row_path.triggers.touches(txn) {
                        // skip/overwrite re-run the rows as SQL, which would fire the target's
                        // triggers a second time for rows the source already logged.
                        return Err(ApplyError::Conflict { gtid, table, what: format!("{what}; on_conflict skip/overwrite re-run rows as SQL, which fires this table's triggers on the target, so it stops here") });
                    }
                    tracing::info!(worker = self.id, gtid = %gtid, table = %table, "target diverged ({what}); re-running row by row (on_conflict={:?})", self.shared.on_conflict);
                    careful_plan = Some(self.shared.builder.plan(txn, PlanStyle::RowByRow).map_err(fail_build)?);
                    self.shared.stats.careful_txns.fetch_add(1, Relaxed);
                }
                Err(Failure::Connection(error)) => {
                    attempt += 1;
                    let Some(d) = self.shared.backoff.delay(attempt) else {
                        return Err(ApplyError::RetriesExhausted { gtid, attempts: attempt - 1, cause: error });
                    };
                    tracing::warn!(worker = self.id, gtid = %gtid, error = %error, "target connection lost; reconnecting");
                    tokio::time::sleep(d).await;
                    if self.reconnect().await.is_err() {
                        continue;
                    }
                    match self.shared.store.is_recorded(&mut self.conn, &pos).await {
                        Ok(true) => {
                            conflicts = BTreeMap::new();
                            break;
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(worker = self.id, gtid = %gtid, error = %e, "could not read checkpoint after reconnect"),
                    }
                }
                Err(Failure::Stopped(what) | Failure::Interrupted(what)) => {
                    self.rollback().await;
                    return Err(ApplyError::Unsupported { gtid, what });
                }
                Err(Failure::YieldTurn) => {
                    self.rollback().await;
                    self.shared.stats.retries.fetch_add(1, Relaxed);
                    tracing::debug!(worker = self.id, gtid = %gtid, "commit turn not reached in {TURN_YIELD_AFTER:?} with locks held; rolled back, running again in turn");
                    if let Err(f) = turn.take().await {
                        debug_assert!(matches!(f, Failure::Cancelled));
                        return Err(ApplyError::Cancelled);
                    }
                }
                Err(Failure::TooLarge { table, bytes }) => {
                    self.rollback().await;
                    return Err(self.too_large(gtid, table, bytes));
                }
                Err(Failure::Fatal { stmt, error }) => {
                    self.rollback().await;
                    let used = careful_plan.as_ref().unwrap_or(&plan);
                    let (table, sql) = match stmt.and_then(|i| used.get(i)) {
                        Some(s) => (s.table_name(), s.shown()),
                        None => ("-".into(), "(BEGIN/checkpoint/COMMIT)".into()),
                    };
                    return Err(ApplyError::Sql { gtid, table, sql, cause: error });
                }
            }
        }
        self.shared.stats.target_commits.fetch_add(1, Relaxed);
        self.committed(seq, &pos, txn, &conflicts);
        Ok(())
    }

    /// Bookkeeping after `txn`'s target COMMIT: commit-order token, in-memory progress, counters.
    fn committed(&self, seq: u64, pos: &StreamPos, txn: &Transaction, conflicts: &BTreeMap<String, u64>) {
        let (i, u, d) = txn.row_counts();
        self.committed_counts(seq, pos, (i + u + d) as u64, txn.size, txn.commit_time_us, conflicts);
    }

    /// [`Worker::committed`] from the counts themselves (a streamed transaction's head knows
    /// neither its rows nor its size).
    fn committed_counts(&self, seq: u64, pos: &StreamPos, rows: u64, bytes: u64, commit_time_us: u64, conflicts: &BTreeMap<String, u64>) {
        if self.shared.preserve_commit_order {
            self.shared.commit_order.done(seq);
        }
        self.shared.progress.lock().committed(pos);
        let s = &self.shared.stats;
        s.txns_applied.fetch_add(1, Relaxed);
        s.rows_applied.fetch_add(rows, Relaxed);
        s.bytes_applied.fetch_add(bytes, Relaxed);
        s.last_commit_time_us.fetch_max(commit_time_us, Relaxed);
        s.add_conflicts(conflicts);
    }

    /// Apply a commit group (see [`crate::apply::group`]): every member's rows and checkpoint
    /// row in one target transaction, taking the commit turn of the first member. Any failure
    /// rolls the whole group back and applies the members one by one through [`Worker::apply`],
    /// which owns retries, divergence handling and error reporting per GTID.
    pub async fn apply_group(&mut self, members: &[Ready]) -> Result<(), ApplyError> {
        let [first, ..] = members else { return Ok(()) };
        // With commit order, work ahead of the commit point is bounded (see `max_ahead`).
        if let Some(ahead) = self.shared.max_ahead {
            if first.seq > ahead && self.wait_committed(first.seq - ahead - 1, None).await.is_err() {
                return Err(ApplyError::Cancelled);
            }
        }
        if members.len() == 1 {
            return self.apply_ready(first).await;
        }
        if self.shared.separate_commits {
            return self.apply_trip(members).await;
        }
        match self.try_group(members).await {
            Ok(positions) => {
                self.shared.stats.target_commits.fetch_add(1, Relaxed);
                for (m, pos) in members.iter().zip(&positions) {
                    self.committed(m.seq, pos, &m.txn, &BTreeMap::new());
                }
                return Ok(());
            }
            Err(Failure::Cancelled) => {
                self.rollback().await;
                return Err(ApplyError::Cancelled);
            }
            Err(Failure::Connection(e)) => {
                tracing::debug!(worker = self.id, error = %e, "target connection lost during a commit group; resolving member by member");
                let _ = self.reconnect().await;
            }
            Err(Failure::Transient(e) | Failure::Fatal { error: e, .. }) => {
                tracing::debug!(worker = self.id, error = %e, members = members.len(), "commit group failed; applying its members one by one");
                self.rollback().await;
            }
            Err(Failure::Diverged { what, .. } | Failure::Stopped(what) | Failure::Interrupted(what)) => {
                tracing::debug!(worker = self.id, what = %what, "commit group diverged; applying its members one by one");
                self.rollback().await;
            }
            Err(Failure::TooLarge { .. }) => self.rollback().await,
            Err(Failure::YieldTurn) => {
                tracing::debug!(worker = self.id, members = members.len(), "commit group gave way to an earlier transaction; applying its members one by one");
                self.rollback().await;
            }
        }
        // Member by member. After a lost connection the group may have committed as a whole:
        // `apply` first checks nothing, so ask the checkpoint once for the first member.
        let first_pos = StreamPos::of(&first.txn).map_err(ApplyError::Checkpoint)?;
        if matches!(self.shared.store.is_recorded(&mut self.conn, &first_pos).await, Ok(true)) {
            self.shared.stats.target_commits.fetch_add(1, Relaxed);
            for m in members {
                let pos = StreamPos::of(&m.txn).map_err(ApplyError::Checkpoint)?;
                self.committed(m.seq, &pos, &m.txn, &BTreeMap::new());
            }
            return Ok(());
        }
        for m in members {
            self.apply_ready(m).await?;
        }
        Ok(())
    }

    /// [`Worker::apply`] once every key dependency `r` was released with (see
    /// [`Ready::after`]) has committed: it must not run beside them (DESIGN rule 2).
    async fn apply_ready(&mut self, r: &Ready) -> Result<(), ApplyError> {
        if let Some(&last) = r.after.iter().max() {
            if self.wait_committed(last, None).await.is_err() {
                return Err(ApplyError::Cancelled);
            }
        }
        self.apply(r.seq, &r.txn).await
    }

    /// Wait (cancellably) until every seq up to `seq` has committed; `give_way_after`: with
    /// the target transaction open, fail with [`Failure::YieldTurn`] after that long (the
    /// earlier transaction may be waiting for a lock this one holds, see
    /// [`Turn::take_holding`]).
    async fn wait_committed(&self, seq: u64, give_way_after: Option<std::time::Duration>) -> Result<(), Failure> {
        turn::wait_prefix(&self.shared.commit_order, &self.shared.cancel, seq + 1, give_way_after).await
    }

    /// The commit turn of dispatcher sequence `seq` (held from the start without commit order).
    fn turn(&self, seq: u64) -> Turn {
        Turn::new(self.shared.commit_order.clone(), self.shared.cancel.clone(), self.shared.preserve_commit_order, seq)
    }

    /// One attempt at a whole group. Returns each member's position once committed.
    async fn try_group(&mut self, members: &[Ready]) -> Result<Vec<StreamPos>, Failure> {
        let mut positions = Vec::with_capacity(members.len());
        // Members whose key dependencies outside the group have not committed yet, and every
        // member that depends on one of those, are "held": their statements go after the
        // others' and only once those dependencies have committed. The rest run at once, so the
        // group overlaps the earlier groups' work instead of queueing behind it. Moving a
        // member ahead of a held one is safe: had it conflicted with it (or with one between,
        // the group being contiguous), its `after` would name one of them and it would be held
        // too. So no member runs beside or before a transaction it conflicts with (rule 2).
        let committed_prefix = self.shared.commit_order.committed_prefix();
        let mut held = vec![false; members.len()];
        let mut last_outside: Option<u64> = None;
        let mut free = Vec::with_capacity(members.len());
        let mut held_txns = Vec::new();
        for (k, m) in members.iter().enumerate() {
            // Anything odd (no order key): the member path reports it properly.
            let pos = StreamPos::of(&m.txn).map_err(|e| Failure::Stopped(e.to_string()))?;
            for &d in &m.after {
                // Members are in increasing seq order.
                match members[..k].binary_search_by_key(&d, |x| x.seq) {
                    Ok(i) => held[k] |= held[i],
                    Err(_) if d >= committed_prefix => {
                        held[k] = true;
                        last_outside = last_outside.max(Some(d));
                    }
                    Err(_) => {}
                }
            }
            if held[k] { held_txns.push(&*m.txn) } else { free.push(&*m.txn) }
            positions.push(pos);
        }
        let mut free_plan = self.group_plan(&free)?;
        let held_plan = self.group_plan(&held_txns)?;
        let mut turn = self.turn(members[0].seq);
        match last_outside {
            None => self.run_fast(&positions, &free_plan, &mut turn).await?,
            Some(dep) => {
                self.shared.stats.held_back.fetch_add(held.iter().filter(|h| **h).count() as u64, Relaxed);
                let split = free_plan.len();
                free_plan.extend(held_plan);
                self.run_segmented(&positions, &free_plan, split, dep, &mut turn).await?;
            }
        }
        Ok(positions)
    }

    /// The statements of `txns` (part of a commit group, in source order): coalesced when the
    /// coalescer can place every change, else each transaction's own plan one after another.
    fn group_plan(&mut self, txns: &[&Transaction]) -> Result<Vec<Stmt>, Failure> {
        // Unbuildable SQL: the member path reports it properly.
        let unbuildable = |e: SqlError| Failure::Stopped(e.to_string());
        if txns.iter().any(|t| self.shared.row_path.binlog_for(&t.changes)) {
            let mut plan = Vec::new();
            self.binlog_plan(txns, &mut plan).map_err(Failure::Stopped)?;
            return Ok(plan);
        }
        if let Some(plan) = self.coalescer.as_mut().and_then(|c| c.plan(&self.shared.builder, txns.iter().copied())) {
            return plan.map_err(unbuildable);
        }
        let mut plan = Vec::new();
        for txn in txns {
            if txn.end != TxnEnd::Rollback {
                plan.extend(self.shared.builder.plan(txn, PlanStyle::Batched).map_err(unbuildable)?);
            }
        }
        Ok(plan)
    }

    /// A streamed large transaction (see [`crate::txn::TransactionReader::stream_large`]): BEGIN,
    /// then each chunk of row changes as it arrives (one round trip per chunk, every
    /// UPDATE/DELETE checked to have found its row), then the checkpoint row and COMMIT in its
    /// turn. Memory stays at one chunk. It cannot be retried (the chunks are gone), so any
    /// failure rolls back and stops the pipeline; a rerun streams it again from the source and
    /// nothing was committed twice or lost.
    async fn apply_streamed(&mut self, seq: u64, head: &Transaction, stream: &ChangeStream) -> Result<(), ApplyError> {
        let pos = StreamPos::of(head).map_err(ApplyError::Checkpoint)?;
        let gtid = pos.gtid.clone();
        let mut turn = self.turn(seq);
        let mut rows = 0u64;
        let outcome = self.run_streamed(&pos, head, stream, &mut turn, &mut rows).await;
        let end = match outcome {
            Ok(end) => end,
            Err(failure) => {
                stream.abandon();
                self.rollback().await;
                return Err(match failure {
                    Failure::Cancelled => ApplyError::Cancelled,
                    Failure::Diverged { what, .. } => ApplyError::Conflict { gtid, table: "-".into(), what: format!("{what} (in a streamed large transaction: on_conflict skip/overwrite do not apply to it)") },
                    Failure::Transient(source) | Failure::Connection(source) | Failure::Fatal { error: source, .. } => {
                        ApplyError::Sql { gtid, table: "-".into(), sql: "(streamed large transaction; rolled back, a rerun applies it again)".into(), cause: source }
                    }
                    Failure::Stopped(what) => ApplyError::Unsupported { gtid, what },
                    Failure::Interrupted(why) => ApplyError::Interrupted { gtid, why },
                    Failure::TooLarge { table, bytes } => self.too_large(gtid, table, bytes),
                    // A streamed transaction is a barrier: every earlier one has committed.
                    Failure::YieldTurn => ApplyError::Unsupported { gtid, what: "streamed transaction yielded its commit turn".into() },
                });
            }
        };
        self.shared.stats.target_commits.fetch_add(1, Relaxed);
        self.committed_counts(seq, &pos, rows, end.size, end.commit_time_us, &BTreeMap::new());
        Ok(())
    }

    async fn run_streamed(
        &mut self,
        pos: &StreamPos,
        head: &Transaction,
        stream: &ChangeStream,
        turn: &mut Turn,
        rows: &mut u64,
    ) -> Result<StreamEnd, Failure> {
        let mut begin = self.gtid_prefix(pos).map(|p| p + ";").unwrap_or_default();
        begin.push_str("BEGIN");
        self.exec(&begin, None, &[]).await?;
        loop {
            let piece = loop {
                if *self.shared.cancel.borrow() {
                    return Err(Failure::Cancelled);
                }
                let s = stream.clone();
                let got = tokio::task::spawn_blocking(move || s.next_piece(Duration::from_millis(100)))
                    .await
                    .map_err(|e| Failure::Stopped(format!("waiting for the next chunk: {e}")))?;
                if let Some(p) = got {
                    break p;
                }
            };
            match piece {
                StreamPiece::Changes(mut changes) => {
                    self.onto_target(&mut changes).await?;
                    let chunk = Transaction { gtid: head.gtid.clone(), server_id: head.server_id, thread_id: head.thread_id, changes, ..Transaction::default() };
                    let (i, u, d) = chunk.row_counts();
                    *rows += (i + u + d) as u64;
                    let plan = if self.shared.row_path.binlog_for(&chunk.changes) {
                        let mut plan = Vec::new();
                        self.binlog_plan(&[&chunk], &mut plan).map_err(Failure::Stopped)?;
                        plan
                    } else {
                        let unbuildable = |e| Failure::Stopped(format!("cannot build SQL: {e}"));
                        // A chunk is a prefix of one target transaction: its changes may be
                        // coalesced among themselves as a commit group's are.
                        match self.coalescer.as_mut().and_then(|c| c.plan(&self.shared.builder, std::iter::once(&chunk))) {
                            Some(plan) => plan.map_err(unbuildable)?,
                            None => self.shared.builder.plan(&chunk, PlanStyle::Batched).map_err(unbuildable)?,
                        }
                    };
                    self.run_checked(&plan).await?;
                }
                StreamPiece::Failed(why) => return Err(Failure::Stopped(format!("the source failed inside the transaction: {why}"))),
                StreamPiece::Interrupted(why) => return Err(Failure::Interrupted(format!("the source broke off inside the transaction: {why}"))),
                StreamPiece::End(end) => {
                    match end.end {
                        // Its rows went into a plain transaction: an XA branch starts with XA
                        // START, and that the transaction prepares shows only here.
                        TxnEnd::XaPrepare => {
                            return Err(Failure::Stopped(
                                "XA PREPARE of a transaction too large to hold whole is not applied (it was streamed); raise the reader's large-transaction limits".into(),
                            ))
                        }
                        // Rolled back on the source: nothing of it may stay; only its record.
                        TxnEnd::Rollback => {
                            self.exec("ROLLBACK", None, &[]).await?;
                            self.exec(&begin, None, &[]).await?;
                            *rows = 0;
                        }
                        TxnEnd::Xid | TxnEnd::Commit => {}
                    }
                    self.exec(&self.shared.store.record_sql(pos), None, &[]).await?;
                    turn.take().await?;
                    self.exec("COMMIT", None, &[]).await?;
                    return Ok(end);
                }
            }
        }
    }

    /// A streamed chunk's row changes mapped onto the target's tables, as the dispatcher maps
    /// whole transactions (see [`crate::schedule::target`]).
    async fn onto_target(&self, changes: &mut [crate::txn::Change]) -> Result<(), Failure> {
        let Some(tables) = &self.shared.tables else { return Ok(()) };
        for change in changes {
            let crate::txn::Change::Rows(rc) = change else { continue };
            let target = match tables.target_table_async(&rc.table).await {
                Ok(t) => t,
                // Named columns and no such table yet: as logged (see `schedule::onto_target`).
                Err(crate::schedule::TargetError::Map(crate::schedule::MapError::NoTable { .. })) if rc.table.columns.iter().all(|c| c.name.is_some()) => continue,
                Err(e) => return Err(Failure::Stopped(e.to_string())),
            };
            rc.table = target.map.clone();
            target.fix_rows(&mut rc.rows);
        }
        Ok(())
    }

    /// Run `plan`'s statements inside the open transaction, in as few round trips as fit the
    /// target's `max_allowed_packet` (one when it can); every UPDATE/DELETE must have found
    /// exactly one row. Nothing is sent when a statement is too large to send at all.
    async fn run_checked(&mut self, plan: &[Stmt]) -> Result<(), Failure> {
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
    fn batches(&self, plan: &[Stmt]) -> Result<Vec<std::ops::Range<usize>>, Failure> {
        let alone = |i: usize| plan.get(i).is_some_and(Stmt::goes_alone);
        packet::batches(plan.iter().map(Stmt::len), self.budget)
            .map(|ranges| ranges.into_iter().flat_map(|r| split_around(r, alone)).collect())
            .map_err(|o| Failure::TooLarge { table: plan.get(o.index).map(Stmt::table_name).unwrap_or_else(|| "-".into()), bytes: o.bytes })
    }

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
        turn.take_holding().await?;
        self.exec("COMMIT", None, plan).await
    }

    /// A commit group whose held members (`plan[split..]`) depend by key on transactions
    /// outside it that have not committed yet (the last of them: `dep`, see [`Ready::after`]):
    /// BEGIN and the free members' statements, then, once `dep` has committed, the held
    /// members' statements, the checkpoint and, in its turn, COMMIT. No member runs beside a
    /// transaction it conflicts with: its dependencies have committed, or ran before it in this
    /// same target transaction.
    async fn run_segmented(&mut self, positions: &[StreamPos], plan: &[Stmt], split: usize, dep: u64, turn: &mut Turn) -> Result<(), Failure> {
        let checkpoint = self.shared.store.record_many_sql(positions);
        // With rows written, this transaction holds locks an earlier one may wait for.
        let give_way = (split > 0).then_some(TURN_YIELD_AFTER);
        if self.compound_fits(plan, &checkpoint) {
            // Two compound statements: the first opens the transaction, the second carries the
            // checkpoint (and COMMIT when it is already this group's turn).
            let mut head = self.compound_head(positions);
            if split > 0 {
                self.compound_trip(&plan[..split], &head, "").await?;
                head.clear();
            }
            self.wait_committed(dep, give_way).await?;
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
        self.wait_committed(dep, give_way).await?;
        if split < plan.len() {
            self.run_checked(&plan[split..]).await?;
        }
        self.exec(&checkpoint, None, plan).await?;
        turn.take_holding().await?;
        self.exec("COMMIT", None, plan).await
    }

    /// `SET gtid_*` so the target logs the transaction under the source's GTID.
    fn gtid_prefix(&self, pos: &StreamPos) -> Option<String> {
        if !self.shared.keep_gtid.load(Relaxed) {
            return None;
        }
        pos.mariadb.map(|(d, s, n)| format!("SET SESSION gtid_domain_id={d}, server_id={s}, gtid_seq_no={n}"))
    }

    /// The fast path: whole transaction in one (or, when waiting for the turn, two) round trips.
    /// `positions` are the source transactions whose rows `plan` holds (several for a commit
    /// group, which is logged under the last one's GTID); `seq` is the first one's.
    async fn run_fast(&mut self, positions: &[StreamPos], plan: &[Stmt], turn: &mut Turn) -> Result<(), Failure> {
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
        turn.take_holding().await?;
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
        turn.take_holding().await?;
        if let Err(e) = self.conn.query_drop("COMMIT").await {
            return Err(self.interpret_error(Some(Piece::Commit), e, plan));
        }
        Ok(())
    }

    /// Whether `plan` goes as compound statements: the target runs them and the plan has only
    /// row statements (session changes and statement events keep multi-statement text).
    fn compound_for(&self, plan: &[Stmt]) -> bool {
        self.shared.compound && plan.iter().all(|s| matches!(s.kind, StmtKind::Insert | StmtKind::Update | StmtKind::Delete))
    }

    /// [`Worker::compound_for`] and within one round trip's budget with `checkpoint`.
    fn compound_fits(&self, plan: &[Stmt], checkpoint: &str) -> bool {
        self.compound_for(plan) && fast_text_len(plan, true) + checkpoint.len() <= self.budget
    }

    /// What opens the target transaction inside a compound statement: the GTID, START
    /// TRANSACTION.
    fn compound_head(&self, positions: &[StreamPos]) -> String {
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

    /// Row by row, handling each divergence per `on_conflict`. Returns conflicts per table.
    async fn run_careful(&mut self, pos: &StreamPos, plan: &[Stmt], turn: &mut Turn) -> Result<BTreeMap<String, u64>, Failure> {
        let mut conflicts: BTreeMap<String, u64> = BTreeMap::new();
        // Each statement is its own round trip here: refuse one that can never be sent.
        if let Some(s) = plan.iter().find(|s| s.len().max(s.overwrite_sql.as_ref().map_or(0, String::len)) > self.budget) {
            return Err(Failure::TooLarge { table: s.table_name(), bytes: s.len().max(s.overwrite_sql.as_ref().map_or(0, String::len)) });
        }
        let mut begin = String::new();
        if let Some(p) = self.gtid_prefix(pos) {
            begin.push_str(&p);
            begin.push(';');
        }
        begin.push_str("BEGIN");
        self.exec(&begin, None, plan).await?;
        let overwrite = self.shared.on_conflict == OnConflict::Overwrite;
        for (i, s) in plan.iter().enumerate() {
            if s.goes_alone() {
                self.run_alone(i, plan).await?;
                continue;
            }
            let diverged = match self.conn.query_iter(s.sql.as_str()).await {
                Ok(r) => {
                    let n = r.affected_rows();
                    r.drop_result().await.map_err(|e| self.interpret_error(Some(Piece::Stmt(i)), e, plan))?;
                    matches!(s.kind, StmtKind::Update | StmtKind::Delete) && n != 1
                }
                Err(mysql_async::Error::Server(e)) if s.kind == StmtKind::Insert && classify_code(e.code) == ErrorClass::Duplicate => true,
                Err(e) => return Err(self.interpret_error(Some(Piece::Stmt(i)), e, plan)),
            };
            if !diverged {
                continue;
            }
            *conflicts.entry(s.table_name()).or_default() += 1;
            if overwrite {
                if let Some(alt) = &s.overwrite_sql {
                    self.exec(alt, Some(i), plan).await?;
                }
            }
        }
        self.exec(&self.shared.store.record_sql(pos), None, plan).await?;
        turn.take().await?;
        self.exec("COMMIT", None, plan).await?;
        Ok(conflicts)
    }

    /// DDL: it commits implicitly, so it cannot share a transaction with its checkpoint. When the
    /// source GTID is kept on the target, a DDL whose GTID the target already logged (crash
    /// between the DDL and its checkpoint) is not run again.
    ///
    /// For `CREATE TABLE ... SELECT`, `plan` stops before the rows (`created_rows`: the
    /// transaction and its first row change): those are mapped onto the table the CREATE made
    /// (which alone says which columns the target computes), then run in the checkpoint's
    /// transaction.
    async fn run_ddl(&mut self, pos: &StreamPos, plan: &[Stmt], created_rows: Option<(&Transaction, usize)>, turn: &mut Turn) -> Result<(), Failure> {
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

    /// Row changes of `txns` (in order) as BINLOG statements; their other changes (statement
    /// events, session context) as SQL in between, in source order. Consecutive row changes,
    /// across transactions too, share one statement up to a quarter of a round trip.
    fn binlog_plan(&self, txns: &[&Transaction], out: &mut Vec<Stmt>) -> Result<(), String> {
        let cap = (self.budget / 4).max(64 * 1024);
        let mut cur = BinlogStatement::new();
        let finish = |cur: BinlogStatement, out: &mut Vec<Stmt>| {
            if !cur.is_empty() {
                let (table, rows) = (cur.first_table().cloned(), cur.rows());
                out.push(Stmt { sql: cur.finish(), kind: StmtKind::Binlog, table, rows, overwrite_sql: None });
            }
        };
        for txn in txns {
            if txn.end == TxnEnd::Rollback {
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

    /// A statement event: its logged bytes, unchanged and alone in one COM_QUERY, so the target
    /// parses exactly what the source parsed, in the charset the statements before it set
    /// (never joined with parapply's own SQL, whose `;` would let a literal that ends
    /// differently spill into the next statement). One statement answers with one result;
    /// more means the target split the text into several statements, which the source did
    /// not: stop rather than go on (nothing of a transactional statement commits then).
    /// A `LOAD DATA` reads its file through the one-shot LOCAL INFILE handler set here, which
    /// answers whatever name the server asks for with the logged bytes and nothing else. A
    /// BINLOG statement goes the same way (see [`Stmt::goes_alone`]).
    async fn run_alone(&mut self, i: usize, plan: &[Stmt]) -> Result<(), Failure> {
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
        if let Some((_, error)) = batch.error {
            return Err(self.interpret_error(Some(Piece::Stmt(i)), error, plan));
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
    async fn exec(&mut self, sql: &str, stmt: Option<usize>, plan: &[Stmt]) -> Result<(), Failure> {
        match self.conn.query_iter(sql).await {
            Ok(r) => r.drop_result().await.map_err(|e| self.interpret_error(stmt.map(Piece::Stmt), e, plan)),
            Err(e) => Err(self.interpret_error(stmt.map(Piece::Stmt), e, plan)),
        }
    }

    fn interpret_error(&self, piece: Option<Piece>, error: mysql_async::Error, plan: &[Stmt]) -> Failure {
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

    async fn rollback(&mut self) {
        if let Err(e) = self.conn.query_drop("ROLLBACK").await {
            tracing::debug!(worker = self.id, error = %e, "ROLLBACK failed (connection will be replaced)");
            let _ = self.reconnect().await;
        }
    }

    async fn reconnect(&mut self) -> Result<(), mysql_async::Error> {
        let mut conn = crate::net::connect(self.shared.opts.clone()).await?;
        self.max_packet = packet::read_max_allowed_packet(&mut conn).await?;
        self.budget = packet::budget(self.max_packet);
        let old = std::mem::replace(&mut self.conn, conn);
        drop(old);
        self.shared.stats.reconnects.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Close the connection cleanly.
    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

/// Try `SET gtid_domain_id` on `conn`: true when the target lets parapply keep source GTIDs.
pub async fn probe_keep_gtid(conn: &mut mysql_async::Conn) -> bool {
    match conn.query_drop("SET SESSION gtid_domain_id=@@GLOBAL.gtid_domain_id, server_id=@@GLOBAL.server_id").await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "target refuses SET gtid_domain_id/server_id (needs MariaDB and SUPER); source GTIDs will not be kept on the target, only in the checkpoint table");
            false
        }
    }
}

/// Whether the target runs BINLOG statements for this user: `BINLOG ''` is refused with 1227
/// without BINLOG REPLAY (or SUPER), and with it fails as an empty statement (ER_SYNTAX_ERROR
/// 1149, seen on MariaDB 10.11; 1064 accepted too); other answers mean no BINLOG path.
pub async fn probe_binlog_statement(conn: &mut mysql_async::Conn) -> Result<(), String> {
    match conn.query_drop("BINLOG ''").await {
        Ok(()) => Ok(()),
        Err(mysql_async::Error::Server(e)) if matches!(e.code, 1149 | 1064) => Ok(()),
        Err(mysql_async::Error::Server(e)) if e.code == 1227 => Err(format!("the target user lacks the BINLOG REPLAY privilege (or SUPER): {}", e.message)),
        Err(e) => Err(format!("the target does not run BINLOG statements: {e}")),
    }
}

/// Whether the target runs compound statements outside stored programs (MariaDB 10.1+).
pub async fn probe_compound(conn: &mut mysql_async::Conn) -> bool {
    match conn.query_drop("BEGIN NOT ATOMIC DO 1; END").await {
        Ok(()) => true,
        Err(e) => {
            tracing::info!(error = %e, "target has no compound statements; transactions go as multi-statement text");
            false
        }
    }
}

/// Every UPDATE/DELETE among `pieces` must have found exactly one row (`counts` are the
/// statements' found-row counts, in piece order).
/// `plan`'s statements for a compound statement that DECLAREd `parapply_found`: each
/// UPDATE/DELETE adds whether it found all its rows, and one check after them SIGNALs
/// [`DIVERGED_SIGNAL`] unless the count reached `found_before` plus this plan's checks (several
/// plans share the counter, see `trip`). Returns that total.
fn push_checked_statements(text: &mut String, plan: &[Stmt], found_before: usize) -> usize {
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

fn check_found_rows(pieces: &[Piece], counts: &[u64], plan: &[Stmt]) -> Result<(), Failure> {
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

/// Bytes of [`Worker::run_fast`]'s text for `plan` without its checkpoint: statements,
/// separators, and room for `SET gtid_*`, `BEGIN` and `COMMIT` (and a compound statement's
/// frame, counter and final check).
fn fast_text_len(plan: &[Stmt], compound: bool) -> usize {
    let (per_stmt, fixed) = if compound { (COMPOUND_CHECK_LEN, 512) } else { (packet::SEPARATOR, 256) };
    plan.iter().map(|s| s.len() + per_stmt).sum::<usize>() + fixed
}

/// Upper bound of what a compound statement adds per statement: `SET parapply_found =
/// parapply_found + (ROW_COUNT() = N); `.
const COMPOUND_CHECK_LEN: usize = 80;

/// MESSAGE_TEXT of a compound statement's found-row check.
const DIVERGED_SIGNAL: &str = "parapply: an UPDATE or DELETE found no row";


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

fn push_piece(text: &mut String, pieces: &mut Vec<Piece>, sql: &str, piece: Piece) {
    if !text.is_empty() {
        text.push_str(";\n");
    }
    text.push_str(sql);
    pieces.push(piece);
}

/// Send a multi-statement text and collect each statement's affected rows, stopping at the
/// first error (the server executes nothing after it).
async fn run_batch(conn: &mut mysql_async::Conn, sql: impl AsRef<[u8]>) -> Batch {
    let sql = sql.as_ref();
    let mut counts = Vec::new();
    let mut qr = match conn.query_iter(sql).await {
        Ok(q) => q,
        Err(e) => return Batch { counts, error: Some((0, e)) },
    };
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
    }
    match qr.drop_result().await {
        Ok(()) => Batch { counts, error: None },
        Err(e) => {
            let idx = counts.len().saturating_sub(1);
            counts.truncate(idx);
            Batch { counts, error: Some((idx, e)) }
        }
    }
}

/// Run every worker's `is_turn` probe sanity: exposed for tests of the batch reader.
#[doc(hidden)]
pub async fn run_batch_for_test(conn: &mut mysql_async::Conn, sql: &str) -> (Vec<u64>, Option<(usize, u16)>) {
    let b = run_batch(conn, sql).await;
    let err = b.error.map(|(i, e)| (i, if let mysql_async::Error::Server(s) = &e { s.code } else { 0 }));
    (b.counts, err)
}

/// Index of the first row change of a DDL transaction: the rows of a `CREATE TABLE ...
/// SELECT`, which the dispatcher could not map because their table did not exist yet (named or
/// not, only the created table says which columns the target computes).
fn first_rows(txn: &Transaction) -> Option<usize> {
    txn.changes.iter().position(|c| matches!(c, Change::Rows(_)))
}
