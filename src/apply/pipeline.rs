//! The apply pipeline: a transaction source -> scheduler -> worker pool -> target, exactly once.
//!
//! Owns only the wiring: the reader thread (skips what the target already has, feeds the
//! dispatcher), the bridge from the dispatcher's `ready` channel to the async workers, the
//! compaction task, the progress callback and shutdown. The same pipeline serves `replay`
//! (binlog files) and `run` (live stream). It must not build SQL or decide dependencies.
//!
//! # Shutdown
//! One cancellation signal (a `watch` channel) is set by the first failure. The reader stops
//! feeding, the bridge stops handing out work, workers finish or roll back the transaction in
//! hand (a worker waiting for its commit turn gives up), and the first error is returned. What
//! committed is recorded in the checkpoint table, so a rerun continues exactly there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use parking_lot::Mutex;

use crate::apply::checkpoint::{AppliedSet, CheckpointStore, Progress, StreamPos};
use crate::apply::group::{GroupFeed, GroupLimits};
use crate::apply::retry::Backoff;
use crate::apply::sql::{Charsets, SqlBuilder};
use crate::apply::stats::{ApplySnapshot, ApplyStats};
use crate::apply::versioning;
use crate::apply::binlog_stmt::{describe_triggers, RowEvents, TriggerRow, TriggerTables, TRIGGERS_SQL};
use crate::apply::worker::{probe_binlog_statement, probe_compound, probe_keep_gtid, target_opts, RowPath, Worker, WorkerShared};
use crate::apply::ApplyError;
use crate::config::{ApplyConfig, Endpoint};
use crate::schedule::{spawn_dispatcher, DispatcherConfig, Done, InfoSchemaCatalog, Ready, SchedulerSnapshot, SchedulerStats};
use crate::txn::{ChangeStream, Transaction};

/// Transactions in source order; an `Err` stops the pipeline with that message.
pub type TxnSource = Box<dyn Iterator<Item = Result<Transaction, crate::source::TxnSourceError>> + Send>;

/// What the pipeline needs to know.
#[derive(Clone)]
pub struct PipelineOptions {
    pub target: Endpoint,
    pub apply: ApplyConfig,
    /// Try to keep source GTIDs on the target (MariaDB, needs SUPER). Default true.
    pub keep_source_gtid: bool,
    /// How often the watermark is compacted.
    pub compact_every: Duration,
    /// How often the progress callback runs.
    pub report_every: Duration,
    /// Given the scheduler's live counters once the dispatcher starts (e.g. for `/metrics`:
    /// parallelism histogram, barriers by reason).
    pub on_scheduler_stats: Option<Arc<dyn Fn(Arc<SchedulerStats>) + Send + Sync>>,
    /// The reader's switch for keeping ROWS events' bytes (shared with its decoder through
    /// `share_raw_rows`): the pipeline turns it off when no row will go as a BINLOG statement
    /// (no triggers on the target under `auto`, or no BINLOG path) and back on when a DDL
    /// gives the target triggers. Starts on, so nothing read before that choice lacks them.
    pub raw_rows: Arc<AtomicBool>,
}

impl std::fmt::Debug for PipelineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineOptions")
            .field("target", &self.target)
            .field("apply", &self.apply)
            .field("keep_source_gtid", &self.keep_source_gtid)
            .field("compact_every", &self.compact_every)
            .field("report_every", &self.report_every)
            .field("on_scheduler_stats", &self.on_scheduler_stats.is_some())
            .finish()
    }
}

impl PipelineOptions {
    pub fn new(target: Endpoint, apply: ApplyConfig) -> Self {
        PipelineOptions {
            target,
            apply,
            keep_source_gtid: true,
            compact_every: Duration::from_millis(500),
            report_every: Duration::from_millis(250),
            on_scheduler_stats: None,
            raw_rows: Arc::new(AtomicBool::new(true)),
        }
    }
}

/// A live view for progress displays.
#[derive(Debug, Clone, Default)]
pub struct ProgressView {
    pub txns_read: u64,
    /// Binlog bytes of the transactions read so far.
    pub bytes_read: u64,
    pub apply: ApplySnapshot,
    pub elapsed: Duration,
}

/// Called periodically with the current progress.
pub type ProgressFn = Box<dyn FnMut(&ProgressView) + Send>;

/// The end-of-run report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplySummary {
    pub txns_read: u64,
    pub txns_applied: u64,
    /// Found already applied on the target and skipped.
    pub txns_skipped: u64,
    pub rows_applied: u64,
    pub bytes_applied: u64,
    pub seconds: f64,
    pub txns_per_second: f64,
    pub retries: u64,
    pub conflicts: u64,
    pub conflicts_by_table: std::collections::BTreeMap<String, u64>,
    /// Transactions re-run row by row after a divergence.
    pub careful_txns: u64,
    /// Target COMMITs: fewer than `txns_applied` when group commit combined transactions.
    pub target_commits: u64,
    /// Commit-group members held back until a dependency outside their group committed.
    pub held_back: u64,
    /// Round trips that carried several transactions as separate target transactions (commit
    /// groups off), and how many transactions they committed.
    pub batched_trips: u64,
    pub batched_txns: u64,
    /// Whether source GTIDs were kept on the target.
    pub kept_source_gtid: bool,
    /// Highest applied GTID per stream after the run (checkpoint table).
    pub applied_position: String,
    /// What the scheduler did: transactions that waited for a dependency, barriers by reason,
    /// the parallelism histogram.
    pub scheduler: SchedulerSnapshot,
}

/// Shared state of one run.
struct Run {
    cancel_tx: tokio::sync::watch::Sender<bool>,
    /// First failure wins.
    error: Mutex<Option<ApplyError>>,
    txns_read: AtomicU64,
    bytes_read: AtomicU64,
    stopped: AtomicBool,
    /// The latest streamed large transaction handed on: abandoned on failure, so the reader
    /// stops waiting for a worker that will never read it.
    streaming: Mutex<Option<ChangeStream>>,
}

impl Run {
    fn fail(&self, e: ApplyError) {
        let mut slot = self.error.lock();
        if slot.is_none() {
            tracing::error!(error = %e, "apply pipeline stopping");
            *slot = Some(e);
        }
        drop(slot);
        if let Some(stream) = self.streaming.lock().take() {
            stream.abandon();
        }
        self.stopped.store(true, Relaxed);
        self.cancel_tx.send_replace(true);
    }
    fn is_stopped(&self) -> bool {
        self.stopped.load(Relaxed)
    }
}

/// Read the target's checkpoint (creating the state tables if needed), e.g. to decide where a
/// live source resumes. Blocks.
pub fn load_checkpoint(target: &Endpoint, state_schema: &str) -> Result<AppliedSet, ApplyError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| ApplyError::Setup(format!("tokio runtime: {e}")))?;
    rt.block_on(async {
        let mut conn = crate::net::connect(target_opts(target)).await.map_err(|source| ApplyError::Connect { worker: 0, cause: source })?;
        let store = CheckpointStore::new(state_schema);
        store.setup(&mut conn).await?;
        let set = store.load(&mut conn).await?;
        let _ = conn.disconnect().await;
        Ok(set)
    })
}

/// Run the pipeline to the end of `source` (or the first failure). Blocks; owns its own tokio
/// runtime.
pub fn run(opts: PipelineOptions, source: TxnSource, progress_fn: Option<ProgressFn>) -> Result<ApplySummary, ApplyError> {
    let threads = async_threads(opts.apply.workers);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .thread_name("parapply-apply")
        .build()
        .map_err(|e| ApplyError::Setup(format!("tokio runtime: {e}")))?;
    rt.block_on(run_async(opts, source, progress_fn))
}

/// How row events will be applied (`apply.row_events`), from what the target allows and the
/// triggers it has. Refuses, listing the triggers, when the target has triggers and no BINLOG
/// statement path under `auto` (rows applied as SQL would fire them a second time), and when
/// `binlog` was asked for and the target cannot run it.
async fn choose_row_path(admin: &mut mysql_async::Conn, wanted: RowEvents, raw_rows: Arc<AtomicBool>) -> Result<RowPath, ApplyError> {
    // System-versioned tables keep the source's history only through the BINLOG path (see
    // `crate::apply::sql::column_names`): refuse up front, naming them, when it is not there.
    let versioned = versioning::versioned_tables(admin).await.map_err(|e| ApplyError::Setup(format!("reading the target's system-versioned tables: {e}")))?;
    let trx = versioning::trx_versioned(admin, &versioned).await.map_err(|e| ApplyError::Setup(format!("reading the target's system-versioned tables: {e}")))?;
    if !trx.is_empty() {
        return Err(ApplyError::Setup(versioning::trx_refusal(&trx)));
    }
    let versioned_refusal = |why: &str| {
        ApplyError::Setup(format!(
            "the target has system-versioned tables ({}) and their rows keep the source's ROW START/ROW END and history rows only when the server applies them through its own row-event code (BINLOG statements), which {why}; as SQL the target would write its own timestamps and history. Grant BINLOG REPLAY to the target user (MariaDB) and leave apply.row_events at auto or binlog",
            versioning::describe(&versioned)
        ))
    };
    if wanted == RowEvents::Sql {
        if !versioned.is_empty() {
            return Err(versioned_refusal("apply.row_events = \"sql\" turns off"));
        }
        return Ok(RowPath { mode: RowEvents::Sql, binlog_available: false, triggers: Arc::new(TriggerTables::default()), raw_rows, versioned: AtomicBool::new(false) });
    }
    let triggers: Vec<TriggerRow> = admin.query(TRIGGERS_SQL).await.map_err(|e| ApplyError::Setup(format!("reading the target's triggers: {e}")))?;
    let probe = probe_binlog_statement(admin).await;
    match (&probe, wanted) {
        (Err(why), RowEvents::Binlog) => return Err(ApplyError::Setup(format!("apply.row_events = binlog: {why}"))),
        (Err(why), _) if !triggers.is_empty() => {
            return Err(ApplyError::Setup(format!(
                "the target has triggers ({}) and rows applied as SQL would fire them for rows the source already logged; the BINLOG statement path that does not is unavailable: {why}. Grant BINLOG REPLAY to the target user (MariaDB), or drop the triggers on the target, or set apply.row_events = \"sql\" to apply anyway",
                describe_triggers(&triggers)
            )))
        }
        (Err(why), _) if !versioned.is_empty() => return Err(versioned_refusal(&format!("is unavailable here: {why}"))),
        (Err(why), _) => tracing::info!(reason = %why, "no BINLOG statement path on the target; row events go as SQL (a trigger or system-versioned table created later stops the run)"),
        (Ok(()), _) => {}
    }
    Ok(RowPath { mode: wanted, binlog_available: probe.is_ok(), triggers: Arc::new(TriggerTables::new(&triggers)), raw_rows, versioned: AtomicBool::new(!versioned.is_empty()) })
}

/// Threads of the workers' runtime. Workers mostly wait on the target, and every wake-up that
/// crosses threads is a futex round; on a small machine one thread carries all of them (the
/// reader, dispatcher and target need the other cores). Measured on 2 cores, 8 workers,
/// sysbench oltp_write_only: 41.6k futex calls per 20k transactions with one runtime thread
/// vs 61.9k with eight.
fn async_threads(workers: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    workers.min(cores / 2).clamp(1, 8)
}

async fn run_async(opts: PipelineOptions, source: TxnSource, mut progress_fn: Option<ProgressFn>) -> Result<ApplySummary, ApplyError> {
    let started = Instant::now();
    let cfg = &opts.apply;
    let mut target_opts = target_opts(&opts.target);
    let store = CheckpointStore::new(&cfg.state_schema);

    // Setup on one admin connection: state tables, what is applied, charsets, GTID keeping.
    let mut admin = crate::net::connect(target_opts.clone()).await.map_err(|source| ApplyError::Connect { worker: 0, cause: source })?;
    // A target logging in STATEMENT format cannot log InnoDB changes made under READ COMMITTED
    // (ERROR 1665), and the workers use READ COMMITTED. MIXED logs those changes as rows and
    // statement events as statements, as the native replica logs what it applies.
    let format: Option<String> = admin.query_first("SELECT @@GLOBAL.binlog_format").await.ok().flatten();
    if format.as_deref() == Some("STATEMENT") {
        const MIXED: &str = "SET SESSION binlog_format='MIXED'";
        admin.query_drop(MIXED).await.map_err(|e| {
            ApplyError::Setup(format!(
                "the target logs in STATEMENT format, which cannot log the workers' READ COMMITTED changes, and this user may not switch its sessions to MIXED ({}): grant it BINLOG ADMIN (or SUPER), or run the target with binlog_format=MIXED or ROW",
                crate::error_text::chain(&e)
            ))
        })?;
        let mut setup = target_opts.setup().to_vec();
        setup.push(MIXED.to_string());
        target_opts = mysql_async::OptsBuilder::from_opts(target_opts).setup(setup).into();
    }
    store.setup(&mut admin).await?;
    let applied = store.load(&mut admin).await?;
    let charsets: Vec<(u64, String)> = admin
        .query("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL")
        .await
        .map_err(|e| ApplyError::Setup(format!("reading target collations: {e}")))?;
    let charsets: HashMap<u16, String> = charsets.into_iter().filter_map(|(id, cs)| u16::try_from(id).ok().map(|id| (id, cs))).collect();
    let keep_gtid = opts.keep_source_gtid && probe_keep_gtid(&mut admin).await;
    let compound = cfg.compound_statements && probe_compound(&mut admin).await;
    // Commit groups and commit order off: a worker may still take several released
    // transactions and send them in one round trip as separate target transactions (compound
    // statements only). Not with commit order: members of a trip run one after another on one
    // connection, where separate workers run their statements side by side and only queue for
    // COMMIT; measured on the 20k sysbench backlog (writeset, 8 workers, flush_log_at_trx_commit=1,
    // sync_binlog=0) trips of 16 made ordered replay 4x slower (median 323 vs 1,312 txn/s) and
    // unordered replay 1.24x faster (2,278 vs 1,837 txn/s, parapply CPU 0.088 vs 0.126 ms/txn).
    let separate_commits = cfg.commit_group_max_txns <= 1 && !cfg.preserve_commit_order && compound && cfg.txns_per_trip > 1;
    let take_at_once = if separate_commits { cfg.txns_per_trip } else { cfg.commit_group_max_txns.max(1) };
    let row_path = choose_row_path(&mut admin, cfg.row_events, opts.raw_rows.clone()).await?;
    // The target's last GTID per domain now: a DDL among them may have run before a crash
    // took its checkpoint (MySQL targets have no such variable: none).
    let logged_at_start: Option<String> = admin.query_first("SELECT @@GLOBAL.gtid_binlog_pos").await.ok().flatten();
    let ddl_maybe_applied = logged_at_start.unwrap_or_default().split(',').map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect();
    row_path.settle_raw_rows();
    // Multi-row INSERTs stay well under one round trip (workers re-read the limit per connection).
    let max_packet = crate::apply::packet::read_max_allowed_packet(&mut admin).await.map_err(|e| ApplyError::Setup(format!("reading max_allowed_packet: {e}")))?;
    let insert_batch_bytes = (crate::apply::packet::budget(max_packet) / 4).min(512 * 1024);
    admin
        .query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .map_err(|e| ApplyError::Setup(format!("admin session: {e}")))?;
    tracing::info!(
        target = %opts.target.address(),
        workers = cfg.workers,
        mode = cfg.mode.name(),
        preserve_commit_order = cfg.preserve_commit_order,
        already_applied_beyond_watermark = applied.beyond_count(),
        keep_source_gtid = keep_gtid,
        row_events = row_path.mode.name(),
        binlog_statements = row_path.binlog_available,
        "apply pipeline starting"
    );

    let dispatcher_cfg = DispatcherConfig {
        mode: cfg.mode,
        workers: cfg.workers,
        window: cfg.window.max(cfg.workers),
        preserve_commit_order: cfg.preserve_commit_order,
        writeset_limit: cfg.writeset_limit,
        channel_capacity: cfg.channel_capacity,
        // Serial stays one transaction at a time (the baseline); logical_clock waits by prefix.
        defer_key_deps: cfg.preserve_commit_order && matches!(cfg.mode, crate::schedule::Mode::Writeset | crate::schedule::Mode::WritesetSession),
    };
    // Rule 2: unique and foreign keys are not in TABLE_MAP, so the writeset modes read them from
    // the target's information_schema; and every mode maps row images onto the target's tables
    // through it (column names, primary key and signedness by position when the source's
    // binlog_row_metadata is not FULL; see `schedule::target`). The target's schema is the one
    // at the applied position: DDL reaches it through this same pipeline, and the dispatcher
    // reloads after each DDL.
    let catalog_pool = mysql_async::Pool::new(crate::net::pool_opts(target_opts.clone()));
    let catalog = Arc::new(InfoSchemaCatalog::new(catalog_pool.clone(), tokio::runtime::Handle::current()));
    let mut handle = spawn_dispatcher(dispatcher_cfg, catalog.clone());
    if let Some(hook) = &opts.on_scheduler_stats {
        hook(handle.stats.clone());
    }
    // Take the input sender out of the handle so that the reader dropping it ends the input.
    let (dummy_tx, _) = crossbeam_channel::bounded(1);
    let input = std::mem::replace(&mut handle.input, dummy_tx);

    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let run = Arc::new(Run { cancel_tx, error: Mutex::new(None), txns_read: AtomicU64::new(0), bytes_read: AtomicU64::new(0), stopped: AtomicBool::new(false), streaming: Mutex::new(None) });
    let stats = Arc::new(ApplyStats::default());
    let progress = Arc::new(Mutex::new(Progress::from_applied(&applied)));
    let shared = Arc::new(WorkerShared {
        opts: target_opts.clone(),
        builder: SqlBuilder::new(Arc::new(Charsets::new(charsets))).batch_bytes(insert_batch_bytes),
        store: store.clone(),
        on_conflict: cfg.on_conflict,
        preserve_commit_order: cfg.preserve_commit_order,
        backoff: Backoff::new(cfg.max_retries),
        keep_gtid: AtomicBool::new(keep_gtid),
        stats: stats.clone(),
        progress: progress.clone(),
        commit_order: handle.commit_order.clone(),
        cancel: cancel_rx.clone(),
        compound,
        separate_commits,
        catalog: matches!(cfg.mode, crate::schedule::Mode::Writeset | crate::schedule::Mode::WritesetSession).then(|| catalog.clone() as Arc<dyn crate::schedule::KeyCatalog>),
        max_ahead: cfg.preserve_commit_order.then(|| take_at_once.max(cfg.workers) as u64),
        sessions: Default::default(),
        tables: Some(catalog.clone()),
        row_path,
        ddl_maybe_applied: parking_lot::Mutex::new(ddl_maybe_applied),
        lock_waits: Default::default(),
    });

    // Workers connect before any transaction is read, so a bad target fails fast.
    let mut workers = Vec::with_capacity(cfg.workers);
    for id in 0..cfg.workers {
        workers.push(Worker::connect(id, shared.clone()).await?);
    }

    // Reader thread: source -> skip already applied -> dispatcher.
    let reader = {
        let run = run.clone();
        let progress = progress.clone();
        let stats = stats.clone();
        std::thread::Builder::new()
            .name("parapply-read".into())
            .spawn(move || read_loop(source, applied, input, run, progress, stats))
            .map_err(|e| ApplyError::Setup(format!("reader thread: {e}")))?
    };

    // Bridge thread: crossbeam `ready` -> tokio channel; the worker that takes work forms its
    // commit group from what is released at that moment (see `GroupFeed`).
    let limits = GroupLimits { max_txns: take_at_once, max_rows: cfg.commit_group_max_rows };
    let (work_tx, work_rx) = tokio::sync::mpsc::channel::<Ready>(limits.max_txns.max(cfg.workers) * 2);
    let bridge = {
        let ready = handle.ready.clone();
        let run = run.clone();
        std::thread::Builder::new()
            .name("parapply-bridge".into())
            .spawn(move || bridge_loop(ready, work_tx, run))
            .map_err(|e| ApplyError::Setup(format!("bridge thread: {e}")))?
    };

    let work_rx = Arc::new(tokio::sync::Mutex::new(GroupFeed::new(work_rx, limits)));
    let mut tasks = Vec::with_capacity(workers.len());
    for mut w in workers {
        let work_rx = work_rx.clone();
        let done = handle.done.clone();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if run.is_stopped() {
                    break;
                }
                let next = { work_rx.lock().await.next_group().await };
                let Some(group) = next else { break };
                match w.apply_group(&group).await {
                    Ok(()) => {
                        if group.iter().any(|r| done.send(Done { seq: r.seq }).is_err()) {
                            run.fail(ApplyError::Schedule("dispatcher stopped while workers were running".into()));
                            break;
                        }
                    }
                    Err(ApplyError::Cancelled) => break,
                    Err(e) => {
                        run.fail(e);
                        break;
                    }
                }
            }
            w.close().await;
        }));
    }

    // Only the workers hold the receiver now: when they stop, the bridge's send fails and it ends.
    drop(work_rx);

    // Compaction and progress until every worker is finished.
    let mut compact_tick = tokio::time::interval(opts.compact_every);
    let mut report_tick = tokio::time::interval(opts.report_every);
    let all_workers = futures_util::future::join_all(tasks);
    tokio::pin!(all_workers);
    loop {
        tokio::select! {
            _ = &mut all_workers => break,
            _ = compact_tick.tick() => {
                if let Err(e) = compact(&store, &mut admin, &progress).await {
                    run.fail(ApplyError::Checkpoint(e));
                }
            }
            _ = report_tick.tick() => {
                if let Some(f) = progress_fn.as_mut() {
                    f(&view(&run, &stats, started));
                }
            }
        }
    }
    let _ = bridge.join();
    let _ = reader.join();
    let sched = handle.join();
    let _ = catalog_pool.disconnect().await;
    // Final compaction even after a failure: it only records what committed.
    let final_compact = compact(&store, &mut admin, &progress).await;
    if let Some(f) = progress_fn.as_mut() {
        f(&view(&run, &stats, started));
    }
    // Taken first: the lock must not be held across the disconnect's await.
    let mut failed = run.error.lock().take();
    // A transaction whose rows do not fit the target's table stopped the dispatcher: that is the
    // cause, the reader's and workers' "dispatcher stopped" the consequence.
    if let Err(e @ crate::schedule::ScheduleError::Target { .. }) = &sched {
        failed = Some(ApplyError::Target(e.to_string()));
    }
    if let Some(e) = failed {
        let _ = admin.disconnect().await;
        return Err(e);
    }
    final_compact?;
    let scheduler = sched.map_err(|e| ApplyError::Schedule(e.to_string()))?;
    let position = store.position(&mut admin).await?;
    let _ = admin.disconnect().await;
    let snap = stats.snapshot();
    let seconds = started.elapsed().as_secs_f64();
    Ok(ApplySummary {
        txns_read: run.txns_read.load(Relaxed),
        txns_applied: snap.txns_applied,
        txns_skipped: snap.txns_skipped,
        rows_applied: snap.rows_applied,
        bytes_applied: snap.bytes_applied,
        seconds,
        txns_per_second: if seconds > 0.0 { snap.txns_applied as f64 / seconds } else { 0.0 },
        retries: snap.retries,
        conflicts: snap.conflicts_total(),
        conflicts_by_table: snap.conflicts.clone(),
        careful_txns: snap.careful_txns,
        target_commits: snap.target_commits,
        held_back: snap.held_back,
        batched_trips: snap.batched_trips,
        batched_txns: snap.batched_txns,
        kept_source_gtid: shared.keep_gtid.load(Relaxed),
        applied_position: position,
        scheduler,
    })
}

/// Move released transactions from the dispatcher's channel to the workers' feed.
fn bridge_loop(ready: crossbeam_channel::Receiver<Ready>, work_tx: tokio::sync::mpsc::Sender<Ready>, run: Arc<Run>) {
    loop {
        if run.is_stopped() {
            return;
        }
        match ready.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => {
                if work_tx.blocking_send(r).is_err() {
                    return;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn view(run: &Run, stats: &ApplyStats, started: Instant) -> ProgressView {
    ProgressView { txns_read: run.txns_read.load(Relaxed), bytes_read: run.bytes_read.load(Relaxed), apply: stats.snapshot(), elapsed: started.elapsed() }
}

async fn compact(store: &CheckpointStore, admin: &mut mysql_async::Conn, progress: &Mutex<Progress>) -> Result<(), crate::apply::checkpoint::CheckpointError> {
    let targets = progress.lock().compaction_targets();
    if targets.is_empty() {
        return Ok(());
    }
    store.compact(admin, &targets).await?;
    progress.lock().compacted(&targets);
    Ok(())
}

fn read_loop(source: TxnSource, applied: AppliedSet, input: crossbeam_channel::Sender<Arc<Transaction>>, run: Arc<Run>, progress: Arc<Mutex<Progress>>, stats: Arc<ApplyStats>) {
    for item in source {
        if run.is_stopped() {
            break;
        }
        let txn = match item {
            Ok(t) => t,
            Err(e) => {
                run.fail(ApplyError::Source(e));
                break;
            }
        };
        run.txns_read.fetch_add(1, Relaxed);
        run.bytes_read.fetch_add(txn.size, Relaxed);
        let pos = match StreamPos::of(&txn) {
            Ok(p) => p,
            Err(e) => {
                run.fail(ApplyError::Checkpoint(e));
                break;
            }
        };
        if applied.contains(&pos) {
            progress.lock().skipped(&pos);
            stats.txns_skipped.fetch_add(1, Relaxed);
            continue;
        }
        // Mark in flight before the dispatcher can hand it to a worker.
        progress.lock().dispatched(&pos);
        if let Some(stream) = &txn.stream {
            *run.streaming.lock() = Some(stream.clone());
        }
        // Bounded waits so a stop elsewhere never leaves the reader blocked on a full window.
        let mut item = Arc::new(txn);
        loop {
            match input.send_timeout(item, Duration::from_millis(100)) {
                Ok(()) => break,
                Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => {
                    if run.is_stopped() {
                        return;
                    }
                    item = back;
                }
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => {
                    run.fail(ApplyError::Schedule("dispatcher stopped accepting transactions".into()));
                    return;
                }
            }
        }
    }
    drop(input);
}
