//! One apply worker: a target connection that applies whole transactions exactly once.
//!
//! Owns the execution of one [`Transaction`] on the target: the SQL text sent (one round trip
//! when it can), reading per-statement results, the commit-order turn, divergence handling
//! (`on_conflict`), rollback-and-retry on lock errors, and in-doubt resolution after a lost
//! connection. It must not choose which transaction runs next (the scheduler does) nor build
//! SQL for values (see [`crate::apply::sql`]).
//!
//! # Files
//! This file holds the worker, its shared state and the loop around one attempt
//! ([`Worker::apply`], [`Worker::apply_group`]): retries, divergence, in-doubt resolution and
//! the bookkeeping after COMMIT. Each attempt runs one path, in its own file:
//! - `fast`: one round trip (or a few under `max_allowed_packet`), multi-statement text or a
//!   compound statement; a commit group in two segments around a dependency outside it.
//! - `careful`: statement by statement after a divergence, per `on_conflict`.
//! - `ddl`: a DDL alone, then its checkpoint (and a `CREATE TABLE ... SELECT`'s rows).
//! - `streamed`: a transaction too large to hold, chunk by chunk.
//! - `xa`: one part of an XA transaction.
//! - `trip`: several transactions, each its own target transaction, in one round trip.
//!
//! Under them: `turn` (the commit-order turn and its cancellable waits), `lock_waits` (which
//! apply connection blocks another on the target, for a worker waiting with its transaction
//! open), `send` (round trips, results, what a target error means), `plan` (BINLOG-statement
//! plans, a commit group's plan) and `probe` (what the target allows, asked once at start).
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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use parking_lot::Mutex;

use crate::apply::binlog_stmt::{RowEvents, TriggerTables};
use crate::apply::checkpoint::{CheckpointStore, Progress, StreamPos};
use crate::apply::coalesce::Coalescer;
use crate::apply::packet;
use crate::apply::retry::Backoff;
use crate::apply::sessions::{session_of, SessionConns};
use crate::apply::sql::{PlanStyle, SqlBuilder, Stmt, SESSION_DEFAULTS};
use crate::apply::stats::ApplyStats;
use crate::apply::ApplyError;
use crate::config::{Endpoint, OnConflict};
use crate::schedule::{CommitOrder, InfoSchemaCatalog, KeyCatalog, Ready};
use crate::txn::{Change, Transaction, TxnEnd};

mod careful;
mod ddl;
mod fast;
mod lock_waits;
mod plan;
mod probe;
mod send;
mod streamed;
mod trip;
mod turn;
mod xa;

pub use self::lock_waits::{LockWaits, Verdict as LockWaitVerdict, HEAD_STALL, REFRESH_EVERY};
pub use self::probe::{probe_binlog_statement, probe_compound, probe_keep_gtid};
pub use self::send::run_batch_for_test;
use self::turn::{Turn, LOCK_PROBE_EVERY, TURN_YIELD_AFTER};

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
    /// Which apply connections block another on the target (see `lock_waits`).
    pub lock_waits: LockWaits,
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
    /// A streamed transaction's source broke off before its end (see [`crate::txn::StreamPiece::Interrupted`]).
    Interrupted(String),
    /// Blocked an earlier transaction, or waited [`TURN_YIELD_AFTER`], for the commit turn with the transaction open: roll back,
    /// wait for the turn holding no locks, then run it again (see [`Worker::take_turn_holding`]).
    YieldTurn,
    /// One statement of `bytes` on `table` is larger than a round trip may be.
    TooLarge { table: String, bytes: usize },
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
        shared.lock_waits.register(id, conn.id());
        Ok(Worker { id, conn, shared, max_packet, budget: packet::budget(max_packet), coalescer })
    }

    /// Make `conn` this worker's connection, returning the one it had; the lock-wait reading
    /// counts waits of whatever connection a worker applies on.
    fn swap_conn(&mut self, conn: mysql_async::Conn) -> mysql_async::Conn {
        self.shared.lock_waits.register(self.id, conn.id());
        std::mem::replace(&mut self.conn, conn)
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
        let own = self.swap_conn(session);
        let result = self.apply_here(seq, txn).await;
        *kept = Some(self.swap_conn(own));
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
        let created_rows = if txn.is_ddl { ddl::first_rows(txn) } else { None };
        let plan = match txn.end {
            // A rolled-back transaction: only what its statements did to non-transactional
            // tables stays (often nothing: then only its checkpoint row).
            TxnEnd::Rollback => self.shared.builder.rolled_back(txn).map_err(fail_build)?,
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
            // Coalesced like a commit group of one.
            _ => self.sql_plan(&[txn]).map_err(fail_build)?,
        };
        let mut careful_plan: Option<Vec<Stmt>> = None;
        // Taken at most once: a re-run after giving way (or a retry after its COMMIT failed)
        // keeps it.
        let mut turn = self.turn(seq);
        let mut attempt = 0u32;
        let conflicts;
        loop {
            // A rolled-back transaction is never run as DDL, even when it holds one (a
            // CREATE TEMPORARY TABLE, which commits nothing): its statements need the open
            // transaction their savepoint lives in.
            let result = if txn.is_ddl && txn.end != TxnEnd::Rollback {
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
                    tracing::debug!(worker = self.id, gtid = %gtid, "gave way with locks held (another apply connection waited for them, or no commit turn within {TURN_YIELD_AFTER:?}); rolled back, running again in turn");
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
            if first.seq > ahead && self.wait_committed(first.seq - ahead - 1).await.is_err() {
                return Err(ApplyError::Cancelled);
            }
        }
        if members.len() == 1 {
            return self.apply_ready(first).await;
        }
        if self.shared.separate_commits {
            return self.apply_trip(members).await;
        }
        let mut outcome = self.try_group(members).await;
        if matches!(outcome, Err(Failure::YieldTurn)) {
            // It gave way to an earlier transaction waiting for its locks: wait for the turn
            // holding none, then run the group again, whole. Member by member it would make
            // one commit (and fsync) per member; on the MySQL 8 generator's backlog the groups
            // that gave way made most of the run's commits.
            tracing::debug!(worker = self.id, members = members.len(), "commit group gave way to an earlier transaction; running it again in turn");
            self.rollback().await;
            self.shared.stats.retries.fetch_add(1, Relaxed);
            if self.turn(first.seq).take().await.is_err() {
                return Err(ApplyError::Cancelled);
            }
            outcome = self.try_group(members).await;
        }
        match outcome {
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
                tracing::debug!(worker = self.id, members = members.len(), "commit group gave way again; applying its members one by one");
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
            if self.wait_committed(last).await.is_err() {
                return Err(ApplyError::Cancelled);
            }
        }
        self.apply(r.seq, &r.txn).await
    }

    /// Wait (cancellably) until every seq up to `seq` has committed, holding no locks (with the
    /// target transaction open: [`Worker::wait_committed_holding`]).
    async fn wait_committed(&self, seq: u64) -> Result<(), Failure> {
        turn::wait_prefix(&self.shared.commit_order, &self.shared.cancel, seq + 1, None).await
    }

    /// [`Turn::take`] for a worker whose target transaction is open and holds row locks.
    /// Transactions the scheduler calls independent can still meet on the target through
    /// InnoDB gap locks (a unique-index duplicate check takes a next-key lock even in READ
    /// COMMITTED): then an earlier transaction may wait for a lock this later one holds while
    /// this one waits for the earlier one's commit, a wait cycle InnoDB cannot see. Like
    /// MariaDB's own parallel replica, which checks each lock wait against commit order
    /// (`thd_rpl_deadlock_check`), the later transaction gives way: every
    /// [`LOCK_PROBE_EVERY`] it looks at the shared reading of the target's lock waits (see
    /// `lock_waits`), and when that names it as blocking another apply connection (or after
    /// [`TURN_YIELD_AFTER`] in any case) fails with [`Failure::YieldTurn`], the turn not taken;
    /// the caller rolls back, waits holding no locks, and runs it again. With a fixed 1 s
    /// alone, the MySQL 8 generator's backlog (unique keys: an INSERT's duplicate check locks
    /// the next key) stalled a second at a time: 343 txn/s.
    async fn take_turn_holding(&mut self, turn: &mut Turn) -> Result<(), Failure> {
        let since = std::time::Instant::now();
        loop {
            match turn.take_for(LOCK_PROBE_EVERY).await {
                Err(Failure::YieldTurn) if !self.should_give_way(since).await => continue,
                other => return other,
            }
        }
    }

    /// [`Worker::wait_committed`] of `seq` with the target transaction open, giving way as
    /// [`Worker::take_turn_holding`] does.
    async fn wait_committed_holding(&mut self, seq: u64) -> Result<(), Failure> {
        // "Every seq up to `seq` has committed" is the commit turn of `seq + 1`.
        let mut committed = Turn::new(self.shared.commit_order.clone(), self.shared.cancel.clone(), true, seq + 1);
        self.take_turn_holding(&mut committed).await
    }

    /// Whether a worker that has waited since `since` with its transaction open should roll
    /// back: a reading of the target's lock waits taken since then names its connection as
    /// blocking another apply connection, or it has waited [`TURN_YIELD_AFTER`].
    async fn should_give_way(&mut self, since: std::time::Instant) -> bool {
        if since.elapsed() >= TURN_YIELD_AFTER {
            return true;
        }
        let conn_id = self.conn.id();
        let stalled = self.shared.commit_order.stalled_for();
        let verdict = self.shared.lock_waits.check(&mut self.conn, conn_id, since, stalled).await;
        if verdict == LockWaitVerdict::Blocking {
            tracing::trace!(worker = self.id, waited_ms = since.elapsed().as_millis() as u64, "another apply connection waits for this one's locks; giving way");
        }
        verdict == LockWaitVerdict::Blocking
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
        drop(self.swap_conn(conn));
        self.shared.stats.reconnects.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Close the connection cleanly.
    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

