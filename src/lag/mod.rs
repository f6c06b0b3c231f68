//! Honest lag (rule 4 of DESIGN.md): the three clocks, the backlog and the pipeline state.
//!
//! Owns [`Progress`], the cheap thread-safe registry every pipeline stage reports into, and the
//! consistent [`LagSnapshot`] that monitors read ([`crate::http`], `parapply status`, the terminal
//! [`reporter`]), plus recognising heartbeat rows in applied transactions ([`heartbeat_row`])
//! and the pipeline-progress adapter ([`bridge`]). It must not talk to any server, start
//! servers or writers, build SQL or decide scheduling: the heartbeat writer that feeds it lives
//! in [`crate::heartbeat`] (which depends on lag, not the reverse), and the endpoints, the writer
//! thread and the target probe are started by [`crate::commands::monitor`].
//!
//! # API for the pipeline (stable; every stage holds an `Arc<Progress>` clone)
//!
//! | who                         | calls                                                              |
//! |-----------------------------|--------------------------------------------------------------------|
//! | source stage (stream/file)  | [`Progress::on_received`] per assembled transaction; for the live stream [`Progress::attach_stream_stats`] once (or [`Progress::set_source_up`] / [`Progress::on_reconnect`]) |
//! | applier, after target COMMIT| [`Progress::on_applied`] (it also detects heartbeat rows itself), [`Progress::worker_busy`], [`Progress::on_retry`], [`Progress::on_conflict`], [`Progress::on_error`], [`Progress::set_target_up`] |
//! | applier at start            | [`Progress::seed_applied_gtids`] with the checkpoint's GTID position (so the GTID distance is known) |
//! | scheduler (or its owner)    | [`Progress::attach_scheduler_stats`] once (pulled at each snapshot), or [`Progress::set_scheduler_snapshot`] now and then |
//! | heartbeat writer            | [`Progress::on_heartbeat_written`], [`Progress::set_source_position`], [`Progress::set_heartbeat_writer_up`] |
//! | command, on shutdown        | [`Progress::set_stopped`]                                          |
//!
//! [`Progress::on_heartbeat_applied`] exists for an applier that detects heartbeats on its own;
//! `on_applied` already calls it for rows of the configured heartbeat table, and calling it twice
//! for one id is harmless (it keeps the newest).
//!
//! # The three clocks
//! - `heartbeat_lag_seconds`: the heartbeat writer notes parapply's own monotonic clock right
//!   after each heartbeat row's autocommit returns on the source. When the applier commits that
//!   row on the target, the newest applied heartbeat's note becomes the reference, and the lag is
//!   `now − note`. Between heartbeats it keeps growing (the true lag lies between `now − note of
//!   the next unapplied heartbeat` and this value, so it over-reports by at most one interval and
//!   never under-reports). One process clock on both ends: immune to clock skew between hosts.
//!   Before the first round trip it is the time since start (`basis = "since_start"`), never 0.
//!   With `heartbeat_mode = "read"` (pt-heartbeat writes the rows), the lag is `wall now − ts`
//!   of the newest applied row (`basis = "pt_heartbeat_ts"`): this one IS sensitive to clock
//!   skew between the pt-heartbeat host and this host, and needs pt-heartbeat `--utc`.
//! - `event_lag_seconds`: wall clock now − source commit time of the newest applied
//!   non-heartbeat transaction; this is what `Seconds_Behind_Master` reports, kept for comparison.
//!   It grows while the source is idle, and is skew sensitive. Clamped at 0 when the source clock
//!   is ahead. Before anything is applied it is the time since start. MariaDB commit times come
//!   from the event header, so they have whole-second resolution.
//! - `backlog`: transactions and bytes received but not yet applied, plus the GTID distance from
//!   the applied position to the source's current position (polled by the heartbeat writer; per
//!   MariaDB domain or MySQL uuid, `source seq − applied seq`, summed; `null` while a stream of
//!   the source has no applied or seeded position to compare with).
//!
//! # States ([`PipelineState`], in priority order)
//! `stopped` (shut down) > `source_down` (the stream or the heartbeat writer cannot reach the
//! source) > `target_down` > `stalled` (a backlog exists and nothing was applied for
//! `lag.stall_timeout_s`, default 30 s) > `catching_up` (heartbeat lag above
//! 2 heartbeat intervals + 1 s, i.e. beyond the normal heartbeat sawtooth) > `streaming`.
//!
//! # Locking
//! One `parking_lot::Mutex` around all mutable state (plus two tiny ones holding the attached
//! scheduler/stream stats handles, never held together with the first or each other). Why a lock and not atomics: a snapshot must
//! be consistent (applied never above received, heartbeat note and id from the same update), the
//! critical sections are a few field updates (no I/O, no allocation in the hot path except the
//! first sight of a table/worker), and the hooks run at most once per transaction. Lock order:
//! this lock is a LEAF — no code holds it while calling out, taking another lock, or awaiting, so
//! callers may call these hooks while holding their own locks.

pub mod bridge;
pub mod heartbeat_row;
pub mod reporter;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

use crate::config::LagConfig;
use crate::lag::heartbeat_row::TableRef;
use crate::txn::{Gtid, Transaction};

/// Pipeline state as shown by `/lag`, `/metrics` (`parapply_state{state}`) and `parapply status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineState {
    Streaming,
    CatchingUp,
    Stalled,
    SourceDown,
    TargetDown,
    Stopped,
}

impl PipelineState {
    pub const ALL: [PipelineState; 6] = [
        PipelineState::Streaming,
        PipelineState::CatchingUp,
        PipelineState::Stalled,
        PipelineState::SourceDown,
        PipelineState::TargetDown,
        PipelineState::Stopped,
    ];
    pub fn name(self) -> &'static str {
        match self {
            PipelineState::Streaming => "streaming",
            PipelineState::CatchingUp => "catching_up",
            PipelineState::Stalled => "stalled",
            PipelineState::SourceDown => "source_down",
            PipelineState::TargetDown => "target_down",
            PipelineState::Stopped => "stopped",
        }
    }
}

/// What the heartbeat lag is measured from right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LagBasis {
    /// No heartbeat has made the round trip yet: time since this process started.
    SinceStart,
    /// parapply's own heartbeat: monotonic note of the newest applied heartbeat.
    Heartbeat,
    /// pt-heartbeat `ts` column of the newest applied row (clock-skew sensitive).
    PtHeartbeatTs,
}

/// The source's current position, polled by the heartbeat writer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePosition {
    /// Last GTID per stream: one per MariaDB domain (`@@gtid_binlog_pos`), or per MySQL uuid
    /// (the highest gno of `@@gtid_executed`).
    pub gtids: Vec<Gtid>,
    /// `SHOW MASTER STATUS` file and position.
    pub file: Option<String>,
    pub pos: Option<u64>,
}

/// Pre-aggregated scheduler statistics (the scheduler owns the numbers; we only expose them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SchedulerMetrics {
    /// Histogram of "transactions running at once" sampled at each dispatch:
    /// `(upper bound, count in this bucket)` (NOT cumulative), upper bounds ascending; use
    /// `f64::MAX` for +Inf.
    pub parallelism_buckets: Vec<(f64, u64)>,
    pub parallelism_sum: f64,
    pub parallelism_count: u64,
    /// Barrier downgrades by reason (rule 2: every downgrade is counted with its reason).
    pub barriers: BTreeMap<String, u64>,
}

impl SchedulerMetrics {
    /// From the scheduler's own counters: bucket `i` of its parallelism array ("i running") has
    /// upper bound `i`; its last bucket ("this or more") becomes +Inf, and counts at its lower
    /// bound in the sum.
    pub fn from_scheduler(s: &crate::schedule::SchedulerSnapshot) -> SchedulerMetrics {
        let last = s.parallelism.len().saturating_sub(1);
        let parallelism_buckets = s.parallelism.iter().enumerate().map(|(i, n)| (if i == last { f64::MAX } else { i as f64 }, *n)).collect();
        SchedulerMetrics {
            parallelism_buckets,
            parallelism_sum: s.parallelism.iter().enumerate().map(|(i, n)| i as f64 * *n as f64).sum(),
            parallelism_count: s.parallelism.iter().sum(),
            barriers: s.barriers.iter().map(|(r, n)| (r.name().to_string(), *n)).collect(),
        }
    }
}

/// What [`Progress`] needs to know about an applied transaction: small enough to keep for every
/// transaction in flight (no row data).
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedTxn {
    pub gtid: Option<Gtid>,
    pub commit_time_us: u64,
    pub size: u64,
    pub rows: u64,
    /// Source binlog file and end position.
    pub end_pos: Option<(String, u64)>,
    /// Set when the transaction writes the heartbeat table.
    pub heartbeat: Option<heartbeat_row::HeartbeatRow>,
}

impl AppliedTxn {
    pub fn of(txn: &Transaction, heartbeat_table: Option<&TableRef>) -> AppliedTxn {
        let (ins, upd, del) = txn.row_counts();
        AppliedTxn {
            gtid: txn.gtid.clone(),
            commit_time_us: txn.commit_time_us,
            size: txn.size,
            rows: (ins + upd + del) as u64,
            end_pos: (!txn.pos.file.is_empty()).then(|| {
                let file = if txn.pos.end_file.is_empty() { &txn.pos.file } else { &txn.pos.end_file };
                (file.clone(), txn.pos.end)
            }),
            heartbeat: heartbeat_table.and_then(|t| heartbeat_row::heartbeat_row_in(txn, t)),
        }
    }
}

/// Per-stream key of a GTID (MariaDB domain, or MySQL uuid + tag).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum StreamKey {
    Domain(u32),
    Uuid([u8; 16], Option<String>),
}

fn stream_of(g: &Gtid) -> Option<(StreamKey, u64)> {
    match g {
        Gtid::Mariadb { domain, seq, .. } => Some((StreamKey::Domain(*domain), *seq)),
        Gtid::Mysql { uuid, tag, gno } => Some((StreamKey::Uuid(*uuid, tag.clone()), *gno)),
        Gtid::Anonymous => None,
    }
}

/// Settings derived from [`LagConfig`] once.
#[derive(Debug, Clone)]
struct Settings {
    heartbeat_interval: Duration,
    heartbeat_table: Option<TableRef>,
    read_mode: bool,
    max_lag: Duration,
}

#[derive(Debug, Default, Clone)]
struct WorkerStat {
    busy: Duration,
    busy_at_last_sample: Duration,
    ratio: f64,
}

/// Rate samples: (when, applied txns, applied bytes). Kept for about 10 s.
#[derive(Debug, Default)]
struct RateWindow {
    samples: VecDeque<(Instant, u64, u64)>,
}

const RATE_SAMPLE_EVERY: Duration = Duration::from_millis(250);
const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Heartbeat notes kept for unapplied heartbeats (at 1/s, more than a day of backlog).
const MAX_HEARTBEAT_NOTES: usize = 100_000;

impl RateWindow {
    fn sample(&mut self, now: Instant, txns: u64, bytes: u64) {
        if self.samples.back().is_some_and(|(t, _, _)| now.duration_since(*t) < RATE_SAMPLE_EVERY) {
            return;
        }
        self.samples.push_back((now, txns, bytes));
        while self.samples.len() > 2 && self.samples.front().is_some_and(|(t, _, _)| now.duration_since(*t) > RATE_WINDOW) {
            self.samples.pop_front();
        }
    }
    /// (txns/s, bytes/s) from the oldest sample in the window to the current totals.
    fn rate(&self, now: Instant, txns: u64, bytes: u64) -> (f64, f64) {
        match self.samples.front() {
            Some((t, t0, b0)) => {
                let dt = now.duration_since(*t).as_secs_f64();
                if dt < 0.5 {
                    return (0.0, 0.0);
                }
                (txns.saturating_sub(*t0) as f64 / dt, bytes.saturating_sub(*b0) as f64 / dt)
            }
            None => (0.0, 0.0),
        }
    }
}

#[derive(Debug)]
struct Inner {
    received_txns: u64,
    received_bytes: u64,
    last_received_gtid: Option<Gtid>,
    last_received_commit_us: u64,

    applied_txns: u64,
    applied_rows: u64,
    applied_bytes: u64,
    applied_heartbeats: u64,
    last_applied_gtid: Option<Gtid>,
    last_applied_file: Option<String>,
    last_applied_pos: Option<u64>,
    /// Newest source commit time among applied non-heartbeat transactions.
    newest_applied_commit_us: Option<u64>,
    applied_streams: HashMap<StreamKey, u64>,
    /// Last time anything was applied, or the backlog was empty (the stall clock starts here).
    progress_mark: Instant,

    source_position: Option<SourcePosition>,

    heartbeat_notes: BTreeMap<u64, Instant>,
    newest_written: Option<(u64, Instant)>,
    newest_applied_hb: Option<(u64, Instant)>,
    /// A heartbeat id applied before its writer noted it (possible on a fast local path).
    applied_hb_without_note: Option<u64>,
    /// Read mode: newest applied pt-heartbeat ts, unix microseconds.
    newest_applied_ts_us: Option<u64>,
    heartbeat_writer_up: bool,
    heartbeat_failures: u64,

    source_up: bool,
    target_up: bool,
    stopped: bool,

    workers: Vec<WorkerStat>,
    worker_sample_at: Instant,
    retries: u64,
    conflicts: BTreeMap<String, u64>,
    errors: u64,
    reconnects: u64,
    rate: RateWindow,
    scheduler: Option<SchedulerMetrics>,
    stall_after: Duration,
}

/// The shared progress registry. See the module doc for who calls what.
pub struct Progress {
    settings: Settings,
    started: Instant,
    started_wall_us: u64,
    inner: Mutex<Inner>,
    /// The scheduler's live counters, read at snapshot time (its own atomics; not under our lock).
    scheduler_stats: Mutex<Option<Arc<crate::schedule::SchedulerStats>>>,
    /// The live stream's counters (connected, reconnects), read at snapshot time.
    stream_stats: Mutex<Option<Arc<crate::source::stream::StreamStats>>>,
    /// The failover watcher's state as JSON (set by [`Progress::set_failover_state`]; a leaf
    /// lock like the others, never held with them).
    failover: Mutex<Option<serde_json::Value>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("settings", &self.settings).field("started", &self.started).finish_non_exhaustive()
    }
}

fn wall_now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

impl Progress {
    /// A fresh registry. The heartbeat table comes from `cfg.heartbeat_table` (`schema.table`;
    /// an unparsable name disables heartbeat detection in [`Progress::on_applied`]).
    pub fn new(cfg: &LagConfig) -> Arc<Progress> {
        let now = Instant::now();
        let interval = Duration::from_millis(cfg.heartbeat_interval_ms.max(1));
        let settings = Settings {
            heartbeat_interval: interval,
            heartbeat_table: TableRef::parse(&cfg.heartbeat_table),
            read_mode: cfg.heartbeat_mode == "read",
            max_lag: Duration::from_secs_f64(if cfg.max_lag_s.is_finite() && cfg.max_lag_s > 0.0 { cfg.max_lag_s } else { 30.0 }),
        };
        // `lag.stall_timeout_s` (validated positive by the config); a bad value from a
        // hand-built LagConfig falls back to max(10 s, 5 heartbeat intervals).
        let stall_after = if cfg.stall_timeout_s.is_finite() && cfg.stall_timeout_s > 0.0 { Duration::from_secs_f64(cfg.stall_timeout_s) } else { (interval * 5).max(Duration::from_secs(10)) };
        Arc::new(Progress {
            settings,
            started: now,
            started_wall_us: wall_now_us(),
            inner: Mutex::new(Inner {
                received_txns: 0,
                received_bytes: 0,
                last_received_gtid: None,
                last_received_commit_us: 0,
                applied_txns: 0,
                applied_rows: 0,
                applied_bytes: 0,
                applied_heartbeats: 0,
                last_applied_gtid: None,
                last_applied_file: None,
                last_applied_pos: None,
                newest_applied_commit_us: None,
                applied_streams: HashMap::new(),
                progress_mark: now,
                source_position: None,
                heartbeat_notes: BTreeMap::new(),
                newest_written: None,
                newest_applied_hb: None,
                applied_hb_without_note: None,
                newest_applied_ts_us: None,
                heartbeat_writer_up: true,
                heartbeat_failures: 0,
                source_up: true,
                target_up: true,
                stopped: false,
                workers: Vec::new(),
                worker_sample_at: now,
                retries: 0,
                conflicts: BTreeMap::new(),
                errors: 0,
                reconnects: 0,
                rate: RateWindow::default(),
                scheduler: None,
                stall_after,
            }),
            scheduler_stats: Mutex::new(None),
            stream_stats: Mutex::new(None),
            failover: Mutex::new(None),
        })
    }

    /// How long a backlog may make no progress before the state is `stalled`.
    pub fn set_stall_after(&self, d: Duration) {
        self.inner.lock().stall_after = d;
    }

    /// The configured `/health` threshold.
    pub fn max_lag(&self) -> Duration {
        self.settings.max_lag
    }

    /// When this registry was created (the "since start" lag basis).
    pub fn started(&self) -> Instant {
        self.started
    }

    // ----- source stage -----

    /// A transaction was received from the source (assembled, before scheduling).
    pub fn on_received(&self, txn_bytes: u64, gtid: Option<&Gtid>, commit_time_us: u64) {
        let now = Instant::now();
        let mut s = self.inner.lock();
        if s.received_txns <= s.applied_txns {
            // The backlog was empty until now: the stall clock starts here, not at the last apply.
            s.progress_mark = now;
        }
        s.received_txns += 1;
        s.received_bytes += txn_bytes;
        if let Some(g) = gtid {
            s.last_received_gtid = Some(g.clone());
        }
        s.last_received_commit_us = s.last_received_commit_us.max(commit_time_us);
    }

    /// Transactions counted by [`Progress::on_received`] that will never be applied as received:
    /// the pipeline stopped (an outage, a writer switch) after pulling them, and the next run
    /// receives them again from the checkpoint. Without this the backlog would keep them forever.
    pub fn forget_received(&self, txns: u64, bytes: u64) {
        let mut s = self.inner.lock();
        s.received_txns = s.received_txns.saturating_sub(txns).max(s.applied_txns);
        s.received_bytes = s.received_bytes.saturating_sub(bytes).max(s.applied_bytes);
    }

    /// The live stream is connected (`true`) or lost (`false`).
    pub fn set_source_up(&self, up: bool) {
        self.inner.lock().source_up = up;
    }

    /// The source stream reconnected (counted in `parapply_source_reconnects_total`).
    pub fn on_reconnect(&self) {
        self.inner.lock().reconnects += 1;
    }

    // ----- applier -----

    /// The GTID position the applier resumes from (its checkpoint), so that the GTID distance to
    /// the source is known before the first transaction of each stream is applied.
    pub fn seed_applied_gtids(&self, gtids: &[Gtid]) {
        let mut s = self.inner.lock();
        for g in gtids {
            if let Some((k, seq)) = stream_of(g) {
                let e = s.applied_streams.entry(k).or_insert(seq);
                *e = (*e).max(seq);
            }
        }
    }

    /// A transaction committed on the target (rows and checkpoint together), by `worker`.
    /// Detects rows of the heartbeat table and advances the heartbeat clock itself.
    pub fn on_applied(&self, txn: &Transaction, worker: usize) {
        self.on_applied_summary(&AppliedTxn::of(txn, self.settings.heartbeat_table.as_ref()), worker);
    }

    /// The heartbeat table this registry detects (from `lag.heartbeat_table`).
    pub fn heartbeat_table(&self) -> Option<&TableRef> {
        self.settings.heartbeat_table.as_ref()
    }

    /// [`Progress::on_applied`] from a summary taken earlier (see [`AppliedTxn`]), for callers
    /// that learn of the commit after they gave the transaction away. `worker` out of range
    /// (e.g. `usize::MAX`) means unknown.
    pub fn on_applied_summary(&self, a: &AppliedTxn, worker: usize) {
        let now = Instant::now();
        let mut s = self.inner.lock();
        s.applied_txns += 1;
        s.applied_rows += a.rows;
        s.applied_bytes += a.size;
        s.progress_mark = now;
        if let Some(g) = &a.gtid {
            if let Some((k, seq)) = stream_of(g) {
                let e = s.applied_streams.entry(k).or_insert(seq);
                *e = (*e).max(seq);
            }
            s.last_applied_gtid = Some(g.clone());
        }
        if let Some((file, end)) = &a.end_pos {
            s.last_applied_file = Some(file.clone());
            s.last_applied_pos = Some(*end);
        }
        if worker >= s.workers.len() && worker < 4096 {
            s.workers.resize(worker + 1, WorkerStat::default());
        }
        match a.heartbeat {
            Some(row) => {
                s.applied_heartbeats += 1;
                if let Some(id) = row.id {
                    Self::heartbeat_applied_locked(&mut s, id);
                }
                if self.settings.read_mode {
                    if let Some(ts) = row.ts_us {
                        s.newest_applied_ts_us = Some(s.newest_applied_ts_us.map_or(ts, |old| old.max(ts)));
                    }
                }
            }
            None => {
                if a.commit_time_us > 0 {
                    s.newest_applied_commit_us = Some(s.newest_applied_commit_us.map_or(a.commit_time_us, |o| o.max(a.commit_time_us)));
                }
            }
        }
        let (t, b) = (s.applied_txns, s.applied_bytes);
        s.rate.sample(now, t, b);
    }

    /// The applier saw heartbeat `id` committed on the target.
    pub fn on_heartbeat_applied(&self, id: u64) {
        let mut s = self.inner.lock();
        Self::heartbeat_applied_locked(&mut s, id);
    }

    fn heartbeat_applied_locked(s: &mut Inner, id: u64) {
        if s.newest_applied_hb.is_some_and(|(old, _)| old >= id) {
            return;
        }
        match s.heartbeat_notes.get(&id).copied() {
            Some(note) => {
                s.newest_applied_hb = Some((id, note));
                // Notes of this and older heartbeats are no longer needed.
                let newer = s.heartbeat_notes.split_off(&(id + 1));
                s.heartbeat_notes = newer;
            }
            None => {
                // Either written by an earlier process (no note: ignore, its ids are smaller than
                // ours) or applied before the writer noted it; on_heartbeat_written resolves that.
                if s.newest_written.is_none_or(|(w, _)| id > w) {
                    s.applied_hb_without_note = Some(s.applied_hb_without_note.map_or(id, |o| o.max(id)));
                }
            }
        }
    }

    /// Worker `worker` spent `busy` applying (accumulated; exported as a busy ratio).
    pub fn worker_busy(&self, worker: usize, busy: Duration) {
        if worker >= 4096 {
            return;
        }
        let mut s = self.inner.lock();
        if worker >= s.workers.len() {
            s.workers.resize(worker + 1, WorkerStat::default());
        }
        if let Some(w) = s.workers.get_mut(worker) {
            w.busy += busy;
        }
    }

    /// A transient target error was retried (deadlock, lock wait timeout, lost connection).
    pub fn on_retry(&self) {
        self.inner.lock().retries += 1;
    }

    /// A row conflict (missing row, duplicate key) on `table` (`schema.table`).
    pub fn on_conflict(&self, table: &str) {
        let mut s = self.inner.lock();
        match s.conflicts.get_mut(table) {
            Some(n) => *n += 1,
            None => {
                s.conflicts.insert(table.to_string(), 1);
            }
        }
    }

    /// A definite error stopped (or will stop) the pipeline.
    pub fn on_error(&self) {
        self.inner.lock().errors += 1;
    }

    /// The target is reachable (`true`) or not (`false`).
    pub fn set_target_up(&self, up: bool) {
        self.inner.lock().target_up = up;
    }

    /// The pipeline has shut down (state `stopped`; `/health` answers 503).
    pub fn set_stopped(&self) {
        self.inner.lock().stopped = true;
    }

    // ----- scheduler -----

    /// Read the live stream's counters at every snapshot: the source is down while the stream is
    /// not connected (as well as when [`Progress::set_source_up`] said so), and its reconnects
    /// add to `parapply_source_reconnects_total`.
    pub fn attach_stream_stats(&self, stats: Arc<crate::source::stream::StreamStats>) {
        *self.stream_stats.lock() = Some(stats);
    }

    /// The stream given to [`Progress::attach_stream_stats`] has ended: stop reading its
    /// counters (a dropped stream reads as disconnected, which would say `source_down` while the
    /// source is fine and, say, the target is the one down).
    pub fn detach_stream_stats(&self) {
        *self.stream_stats.lock() = None;
    }

    /// The failover watcher's current state (shown on `/status` as `failover` and, its
    /// `readers` part, on `/readers`). Owned by [`crate::failover`]; lag only carries it.
    pub fn set_failover_state(&self, state: serde_json::Value) {
        *self.failover.lock() = Some(state);
    }

    /// The last state given to [`Progress::set_failover_state`].
    pub fn failover_state(&self) -> Option<serde_json::Value> {
        self.failover.lock().clone()
    }

    /// Read the scheduler's live counters at every snapshot (instead of pushing them).
    pub fn attach_scheduler_stats(&self, stats: Arc<crate::schedule::SchedulerStats>) {
        *self.scheduler_stats.lock() = Some(stats);
    }

    /// Replace the scheduler's statistics (cumulative since start).
    pub fn set_scheduler_snapshot(&self, m: SchedulerMetrics) {
        self.inner.lock().scheduler = Some(m);
    }

    // ----- heartbeat writer -----

    /// Heartbeat `id` was committed on the source; `at` is parapply's monotonic clock right after
    /// the commit returned.
    pub fn on_heartbeat_written(&self, id: u64, at: Instant) {
        let mut s = self.inner.lock();
        s.heartbeat_writer_up = true;
        if s.newest_written.is_none_or(|(w, _)| id > w) {
            s.newest_written = Some((id, at));
        }
        if s.applied_hb_without_note.is_some_and(|a| a >= id) {
            // The applier was faster than our note: the row is already on the target.
            if s.newest_applied_hb.is_none_or(|(old, _)| id > old) {
                s.newest_applied_hb = Some((id, at));
            }
            return;
        }
        s.heartbeat_notes.insert(id, at);
        while s.heartbeat_notes.len() > MAX_HEARTBEAT_NOTES {
            // Far behind: forget the oldest notes. Applying one of them later is then ignored,
            // so the lag keeps growing from the last matched note (over-reports, never under).
            let Some((&oldest, _)) = s.heartbeat_notes.iter().next() else { break };
            s.heartbeat_notes.remove(&oldest);
        }
    }

    /// The heartbeat writer could (`true`) or could not (`false`) reach the source. A writer that
    /// cannot write makes the state `source_down` even while the stream has not noticed yet.
    pub fn set_heartbeat_writer_up(&self, up: bool) {
        let mut s = self.inner.lock();
        if !up {
            s.heartbeat_failures += 1;
        }
        s.heartbeat_writer_up = up;
    }

    /// The source's current position (polled), for the GTID distance in the backlog.
    pub fn set_source_position(&self, pos: SourcePosition) {
        let now = Instant::now();
        let mut s = self.inner.lock();
        if gtid_distance(&s.applied_streams, s.source_position.as_ref()).is_none_or(|d| d == 0) {
            s.progress_mark = s.progress_mark.max(now);
        }
        s.source_position = Some(pos);
    }

    // ----- readers -----

    /// A consistent copy of everything, with the clocks evaluated now.
    pub fn snapshot(&self) -> LagSnapshot {
        // Pulled before taking our lock, which stays a leaf.
        let pulled = self.scheduler_stats.lock().clone().map(|st| SchedulerMetrics::from_scheduler(&st.snapshot()));
        let stream = self.stream_stats.lock().clone().map(|st| st.snapshot());
        let (stream_connected, stream_reconnects) = stream.map_or((true, 0), |st| (st.connected, st.reconnects));
        let now = Instant::now();
        let wall_us = wall_now_us();
        let mut s = self.inner.lock();
        if pulled.is_some() {
            s.scheduler = pulled;
        }
        let (t, b) = (s.applied_txns, s.applied_bytes);
        s.rate.sample(now, t, b);
        let (rate_tps, rate_bps) = s.rate.rate(now, t, b);

        // Worker busy ratios over the time since the previous sample (at least 1 s apart).
        let since = now.duration_since(s.worker_sample_at);
        if since >= Duration::from_secs(1) {
            let secs = since.as_secs_f64();
            for w in s.workers.iter_mut() {
                w.ratio = ((w.busy.saturating_sub(w.busy_at_last_sample)).as_secs_f64() / secs).min(1.0);
                w.busy_at_last_sample = w.busy;
            }
            s.worker_sample_at = now;
        }

        let since_start = now.duration_since(self.started).as_secs_f64();
        let (heartbeat_lag, basis) = if self.settings.read_mode {
            match s.newest_applied_ts_us {
                Some(ts) => (wall_us.saturating_sub(ts) as f64 / 1e6, LagBasis::PtHeartbeatTs),
                None => (since_start, LagBasis::SinceStart),
            }
        } else {
            match s.newest_applied_hb {
                Some((_, note)) => (now.duration_since(note).as_secs_f64(), LagBasis::Heartbeat),
                None => (since_start, LagBasis::SinceStart),
            }
        };
        let event_lag = match s.newest_applied_commit_us {
            Some(c) => wall_us.saturating_sub(c) as f64 / 1e6,
            None => since_start,
        };
        let backlog_txns = s.received_txns.saturating_sub(s.applied_txns);
        let backlog_bytes = s.received_bytes.saturating_sub(s.applied_bytes);
        let distance = gtid_distance(&s.applied_streams, s.source_position.as_ref());
        let backlog_exists = backlog_txns > 0 || distance.is_some_and(|d| d > 0);
        let stalled = backlog_exists && now.duration_since(s.progress_mark) > s.stall_after;
        let catch_up_threshold = (self.settings.heartbeat_interval * 2 + Duration::from_secs(1)).as_secs_f64();
        let stream_up = s.source_up && stream_connected;
        let source_down = !stream_up || !s.heartbeat_writer_up;
        let state = if s.stopped {
            PipelineState::Stopped
        } else if !s.target_up && s.source_up && s.heartbeat_writer_up {
            // The source answers; what is down is the target. The applier restarting its stream
            // while it retries the target is not a source outage.
            PipelineState::TargetDown
        } else if source_down {
            PipelineState::SourceDown
        } else if !s.target_up {
            PipelineState::TargetDown
        } else if stalled {
            PipelineState::Stalled
        } else if heartbeat_lag > catch_up_threshold {
            PipelineState::CatchingUp
        } else {
            PipelineState::Streaming
        };
        let max_lag = self.settings.max_lag.as_secs_f64();
        let (healthy, health_reason) = if s.stopped {
            (false, "stopped".to_string())
        } else if !s.target_up {
            (false, "target down".to_string())
        } else if heartbeat_lag >= max_lag {
            (false, format!("heartbeat lag {heartbeat_lag:.1}s >= max_lag {max_lag}s"))
        } else {
            (true, "ok".to_string())
        };
        let eta_seconds = if backlog_txns == 0 { Some(0.0) } else if rate_tps > 0.0 { Some(backlog_txns as f64 / rate_tps) } else { None };

        LagSnapshot {
            state,
            heartbeat_lag_seconds: heartbeat_lag,
            heartbeat_lag_basis: basis,
            event_lag_seconds: event_lag,
            backlog: Backlog { transactions: backlog_txns, bytes: backlog_bytes, gtid_distance: distance },
            received: Received {
                transactions: s.received_txns,
                bytes: s.received_bytes,
                last_gtid: s.last_received_gtid.as_ref().map(|g| g.to_string()),
                last_commit_time_us: (s.last_received_commit_us > 0).then_some(s.last_received_commit_us),
            },
            applied: Applied {
                transactions: s.applied_txns,
                rows: s.applied_rows,
                bytes: s.applied_bytes,
                heartbeats: s.applied_heartbeats,
                last_gtid: s.last_applied_gtid.as_ref().map(|g| g.to_string()),
                file: s.last_applied_file.clone(),
                pos: s.last_applied_pos,
                last_commit_time_us: s.newest_applied_commit_us,
            },
            source: SourceView {
                up: !source_down,
                stream_up,
                heartbeat_writer_up: s.heartbeat_writer_up,
                gtids: s.source_position.as_ref().map(|p| p.gtids.iter().map(|g| g.to_string()).collect()).unwrap_or_default(),
                file: s.source_position.as_ref().and_then(|p| p.file.clone()),
                pos: s.source_position.as_ref().and_then(|p| p.pos),
            },
            target_up: s.target_up,
            heartbeat: HeartbeatView {
                mode: if self.settings.read_mode { "read" } else { "write" },
                interval_ms: self.settings.heartbeat_interval.as_millis() as u64,
                last_written_id: s.newest_written.map(|(id, _)| id),
                last_applied_id: s.newest_applied_hb.map(|(id, _)| id),
                write_failures: s.heartbeat_failures,
            },
            apply_rate_tps: rate_tps,
            apply_rate_bytes_per_second: rate_bps,
            eta_seconds,
            max_lag_seconds: max_lag,
            healthy,
            health_reason,
            uptime_seconds: since_start,
            started_unix_us: self.started_wall_us,
            workers: s.workers.iter().enumerate().map(|(i, w)| WorkerView { worker: i, busy_seconds: w.busy.as_secs_f64(), busy_ratio: w.ratio }).collect(),
            retries: s.retries,
            conflicts: s.conflicts.clone(),
            errors: s.errors,
            reconnects: s.reconnects + stream_reconnects,
            scheduler: s.scheduler.clone(),
        }
    }
}

/// Σ over the source's streams of `source seq − applied seq`; `None` without a polled source
/// position or while one of its streams has nothing applied or seeded to compare with.
fn gtid_distance(applied: &HashMap<StreamKey, u64>, source: Option<&SourcePosition>) -> Option<u64> {
    let source = source?;
    let mut total = 0u64;
    for g in &source.gtids {
        let Some((k, seq)) = stream_of(g) else { continue };
        let done = applied.get(&k)?;
        total = total.saturating_add(seq.saturating_sub(*done));
    }
    Some(total)
}

/// Backlog: received but not applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backlog {
    pub transactions: u64,
    pub bytes: u64,
    /// GTID distance to the source's current position; `null` while unknown.
    pub gtid_distance: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Received {
    pub transactions: u64,
    pub bytes: u64,
    pub last_gtid: Option<String>,
    pub last_commit_time_us: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub transactions: u64,
    pub rows: u64,
    pub bytes: u64,
    /// Heartbeat transactions among `transactions`.
    pub heartbeats: u64,
    pub last_gtid: Option<String>,
    /// Source binlog file and end position of the last applied transaction.
    pub file: Option<String>,
    pub pos: Option<u64>,
    /// Newest source commit time among applied non-heartbeat transactions.
    pub last_commit_time_us: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceView {
    /// Both the stream and the heartbeat writer reach the source.
    pub up: bool,
    pub stream_up: bool,
    pub heartbeat_writer_up: bool,
    /// The source's current GTID position, one per stream (polled).
    pub gtids: Vec<String>,
    pub file: Option<String>,
    pub pos: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeartbeatView {
    pub mode: &'static str,
    pub interval_ms: u64,
    pub last_written_id: Option<u64>,
    pub last_applied_id: Option<u64>,
    pub write_failures: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerView {
    pub worker: usize,
    pub busy_seconds: f64,
    /// Fraction of the last sampling period (>= 1 s) this worker was busy.
    pub busy_ratio: f64,
}

/// A consistent copy of the progress registry, clocks evaluated at snapshot time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LagSnapshot {
    pub state: PipelineState,
    pub heartbeat_lag_seconds: f64,
    pub heartbeat_lag_basis: LagBasis,
    pub event_lag_seconds: f64,
    pub backlog: Backlog,
    pub received: Received,
    pub applied: Applied,
    pub source: SourceView,
    pub target_up: bool,
    pub heartbeat: HeartbeatView,
    pub apply_rate_tps: f64,
    pub apply_rate_bytes_per_second: f64,
    /// Seconds to drain the transaction backlog at the current rate; `null` while nothing moves.
    pub eta_seconds: Option<f64>,
    pub max_lag_seconds: f64,
    /// What `/health` answers: running and heartbeat lag below max_lag.
    pub healthy: bool,
    pub health_reason: String,
    pub uptime_seconds: f64,
    pub started_unix_us: u64,
    pub workers: Vec<WorkerView>,
    pub retries: u64,
    pub conflicts: BTreeMap<String, u64>,
    pub errors: u64,
    pub reconnects: u64,
    pub scheduler: Option<SchedulerMetrics>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::{ColumnDef, TableMap};
    use crate::decode::value::{Row, Value};
    use crate::txn::{BinlogPos, Change, RowChange, RowKind, RowsChange};

    fn cfg() -> LagConfig {
        LagConfig::default()
    }

    fn ago(secs: u64) -> Instant {
        Instant::now().checked_sub(Duration::from_secs(secs)).unwrap_or_else(Instant::now)
    }

    fn gtid(domain: u32, seq: u64) -> Gtid {
        Gtid::Mariadb { domain, server_id: 1, seq }
    }

    fn user_txn(g: Gtid, commit_time_us: u64) -> Transaction {
        let table = Arc::new(TableMap { schema: "db".into(), table: "t".into(), ..Default::default() });
        let rows = vec![RowChange { before: None, after: Some(Row { cols: vec![Some(Value::Int(1))] }) }; 3];
        Transaction {
            gtid: Some(g),
            commit_time_us,
            size: 500,
            pos: BinlogPos { file: "binlog.000002".into(), start: 100, end: 600, end_file: "binlog.000002".into() },
            changes: vec![Change::Rows(RowsChange { raw: None, table, kind: RowKind::Insert, rows, flags: 0 })],
            ..Default::default()
        }
    }

    fn hb_txn(id: Option<u64>, ts: &str, commit_time_us: u64) -> Transaction {
        let names = ["ts", "server_id", "file", "position", "relay_master_log_file", "exec_master_log_pos", "parapply_seq"];
        let table = Arc::new(TableMap {
            schema: "parapply".into(),
            table: "heartbeat".into(),
            columns: names.iter().map(|n| ColumnDef { name: Some(n.to_string()), ..Default::default() }).collect(),
            ..Default::default()
        });
        let mut cols = vec![Some(Value::Bytes(ts.as_bytes().to_vec())), Some(Value::UInt(1))];
        cols.extend([None, None, None, None]);
        cols.push(Some(id.map_or(Value::Null, Value::UInt)));
        Transaction {
            commit_time_us,
            size: 80,
            changes: vec![Change::Rows(RowsChange { raw: None, table, kind: RowKind::Update, rows: vec![RowChange { before: Some(Row::default()), after: Some(Row { cols }) }], flags: 0 })],
            ..Default::default()
        }
    }

    #[test]
    fn before_first_round_trip_lag_is_time_since_start_never_zero() {
        let p = Progress::new(&cfg());
        std::thread::sleep(Duration::from_millis(5));
        let s = p.snapshot();
        assert_eq!(s.heartbeat_lag_basis, LagBasis::SinceStart);
        assert!(s.heartbeat_lag_seconds >= 0.005, "{}", s.heartbeat_lag_seconds);
        assert!(s.event_lag_seconds >= 0.005);
        assert_eq!(s.state, PipelineState::Streaming);
        assert_eq!(s.heartbeat.last_applied_id, None);
    }

    #[test]
    fn heartbeat_lag_counts_from_the_note_of_the_newest_applied_heartbeat() {
        let p = Progress::new(&cfg());
        p.on_heartbeat_written(10, ago(100));
        p.on_heartbeat_written(11, Instant::now());
        // Nothing applied yet: time since start, not the notes.
        assert_eq!(p.snapshot().heartbeat_lag_basis, LagBasis::SinceStart);
        p.on_applied(&hb_txn(Some(10), "x", 0), 0);
        let s = p.snapshot();
        assert_eq!(s.heartbeat_lag_basis, LagBasis::Heartbeat);
        assert_eq!(s.heartbeat.last_applied_id, Some(10));
        assert!(s.heartbeat_lag_seconds >= 100.0, "{}", s.heartbeat_lag_seconds);
        assert_eq!(s.state, PipelineState::CatchingUp);
        assert!(!s.healthy);
        assert_eq!(s.health_reason, format!("heartbeat lag {:.1}s >= max_lag 30s", s.heartbeat_lag_seconds));
        // The next heartbeat resets it; an older id applied late changes nothing.
        p.on_heartbeat_applied(11);
        p.on_heartbeat_applied(10);
        let s = p.snapshot();
        assert_eq!(s.heartbeat.last_applied_id, Some(11));
        assert!(s.heartbeat_lag_seconds < 100.0);
        assert_eq!(s.state, PipelineState::Streaming);
        assert!(s.healthy);
        assert_eq!(s.applied.heartbeats, 1);
    }

    #[test]
    fn heartbeat_applied_before_its_note_and_stale_ids_from_an_earlier_process() {
        let p = Progress::new(&cfg());
        p.on_heartbeat_written(1000, ago(50));
        p.on_heartbeat_applied(1000);
        // Id 5 was written by an earlier process: no note, smaller than ours: ignored.
        p.on_heartbeat_applied(5);
        assert_eq!(p.snapshot().heartbeat.last_applied_id, Some(1000));
        // 1001 reaches the target before the writer noted it.
        p.on_heartbeat_applied(1001);
        assert_eq!(p.snapshot().heartbeat.last_applied_id, Some(1000));
        p.on_heartbeat_written(1001, Instant::now());
        let s = p.snapshot();
        assert_eq!(s.heartbeat.last_applied_id, Some(1001));
        assert!(s.heartbeat_lag_seconds < 50.0);
    }

    #[test]
    fn backlog_and_positions() {
        let p = Progress::new(&cfg());
        for seq in 1..=3 {
            p.on_received(500, Some(&gtid(0, seq)), 1_000_000 * seq);
        }
        p.on_applied(&user_txn(gtid(0, 1), 1_000_000), 2);
        let s = p.snapshot();
        assert_eq!(s.backlog, Backlog { transactions: 2, bytes: 1000, gtid_distance: None });
        assert_eq!(s.received.last_gtid.as_deref(), Some("0-1-3"));
        assert_eq!(s.received.last_commit_time_us, Some(3_000_000));
        assert_eq!((s.applied.transactions, s.applied.rows, s.applied.bytes), (1, 3, 500));
        assert_eq!(s.applied.last_gtid.as_deref(), Some("0-1-1"));
        assert_eq!((s.applied.file.as_deref(), s.applied.pos), (Some("binlog.000002"), Some(600)));
        assert_eq!(s.workers.len(), 3);
    }

    #[test]
    fn gtid_distance_per_stream() {
        let p = Progress::new(&cfg());
        p.set_source_position(SourcePosition { gtids: vec![gtid(0, 9), gtid(1, 3)], file: Some("binlog.000001".into()), pos: Some(4) });
        assert_eq!(p.snapshot().backlog.gtid_distance, None);
        p.seed_applied_gtids(&[gtid(0, 5)]);
        // Domain 1 has nothing applied or seeded: unknown, not a guess.
        assert_eq!(p.snapshot().backlog.gtid_distance, None);
        p.seed_applied_gtids(&[gtid(1, 1)]);
        assert_eq!(p.snapshot().backlog.gtid_distance, Some(4 + 2));
        p.on_applied(&user_txn(gtid(0, 7), 1), 0);
        let s = p.snapshot();
        assert_eq!(s.backlog.gtid_distance, Some(2 + 2));
        assert_eq!(s.source.gtids, vec!["0-1-9".to_string(), "1-1-3".to_string()]);
        assert_eq!((s.source.file.as_deref(), s.source.pos), (Some("binlog.000001"), Some(4)));
    }

    #[test]
    fn states_in_priority_order() {
        let p = Progress::new(&cfg());
        p.set_stall_after(Duration::ZERO);
        p.on_received(10, None, 0);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(p.snapshot().state, PipelineState::Stalled);
        p.set_target_up(false);
        let s = p.snapshot();
        assert_eq!(s.state, PipelineState::TargetDown);
        assert_eq!((s.healthy, s.health_reason.as_str()), (false, "target down"));
        p.set_heartbeat_writer_up(false);
        let s = p.snapshot();
        assert_eq!(s.state, PipelineState::SourceDown);
        assert_eq!((s.source.up, s.source.stream_up, s.source.heartbeat_writer_up, s.heartbeat.write_failures), (false, true, false, 1));
        p.set_heartbeat_writer_up(true);
        p.set_source_up(false);
        assert_eq!(p.snapshot().state, PipelineState::SourceDown);
        p.set_stopped();
        let s = p.snapshot();
        assert_eq!((s.state, s.healthy, s.health_reason.as_str()), (PipelineState::Stopped, false, "stopped"));
    }

    #[test]
    fn stall_timeout_comes_from_the_config() {
        let p = Progress::new(&LagConfig { stall_timeout_s: 0.2, ..LagConfig::default() });
        p.on_received(10, None, 0);
        assert_eq!(p.snapshot().state, PipelineState::Streaming);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(p.snapshot().state, PipelineState::Stalled);
        p.on_applied(&user_txn(gtid(0, 1), 1), 0);
        assert_eq!(p.snapshot().state, PipelineState::Streaming);
    }

    #[test]
    fn forgotten_receipts_leave_no_phantom_backlog() {
        let p = Progress::new(&cfg());
        p.on_received(10, None, 0);
        p.on_received(20, None, 0);
        p.on_applied(&user_txn(gtid(0, 1), 1), 0);
        p.forget_received(5, 500);
        let s = p.snapshot();
        // Never below what was applied.
        assert_eq!((s.received.transactions, s.backlog.transactions, s.backlog.bytes), (1, 0, 0));
    }

    #[test]
    fn no_stall_without_backlog() {
        let p = Progress::new(&cfg());
        p.set_stall_after(Duration::ZERO);
        p.on_received(10, None, 0);
        p.on_applied(&user_txn(gtid(0, 1), 1), 0);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(p.snapshot().state, PipelineState::Streaming);
    }

    #[test]
    fn event_lag_ignores_heartbeat_transactions() {
        let p = Progress::new(&cfg());
        let wall = wall_now_us();
        p.on_applied(&user_txn(gtid(0, 1), wall - 50_000_000), 0);
        p.on_heartbeat_written(7, Instant::now());
        p.on_applied(&hb_txn(Some(7), "x", wall), 0);
        let s = p.snapshot();
        assert!(s.event_lag_seconds >= 50.0, "{}", s.event_lag_seconds);
        assert_eq!(s.applied.last_commit_time_us, Some(wall - 50_000_000));
        assert_eq!(s.heartbeat.last_applied_id, Some(7));
        assert_eq!(s.applied.transactions, 2);
    }

    #[test]
    fn read_mode_uses_pt_heartbeat_ts() {
        let mut c = cfg();
        c.heartbeat_mode = "read".into();
        let p = Progress::new(&c);
        p.on_applied(&hb_txn(None, "1970-01-01T00:00:01.000000", 0), 0);
        let s = p.snapshot();
        assert_eq!(s.heartbeat_lag_basis, LagBasis::PtHeartbeatTs);
        assert!(s.heartbeat_lag_seconds > 1.0e9);
        assert_eq!(s.heartbeat.mode, "read");
    }

    #[test]
    fn counters() {
        let p = Progress::new(&cfg());
        p.on_retry();
        p.on_retry();
        p.on_conflict("db.t");
        p.on_conflict("db.t");
        p.on_conflict("db.u");
        p.on_error();
        p.on_reconnect();
        p.worker_busy(1, Duration::from_millis(1500));
        p.set_scheduler_snapshot(SchedulerMetrics { parallelism_buckets: vec![(1.0, 3), (f64::MAX, 1)], parallelism_sum: 7.0, parallelism_count: 4, barriers: [("ddl".to_string(), 2)].into() });
        let s = p.snapshot();
        assert_eq!((s.retries, s.errors, s.reconnects), (2, 1, 1));
        assert_eq!(s.conflicts, [("db.t".to_string(), 2), ("db.u".to_string(), 1)].into());
        assert_eq!(s.workers.len(), 2);
        assert_eq!(s.workers[1].busy_seconds, 1.5);
        assert_eq!(s.scheduler.map(|m| m.barriers), Some([("ddl".to_string(), 2)].into()));
    }

    #[test]
    fn scheduler_snapshot_maps_to_histogram_and_barrier_names() {
        let snap = crate::schedule::SchedulerSnapshot {
            barriers: vec![(crate::schedule::BarrierReason::Ddl, 2), (crate::schedule::BarrierReason::NoKey, 5)],
            parallelism: vec![0, 4, 3, 1],
            ..Default::default()
        };
        let m = SchedulerMetrics::from_scheduler(&snap);
        assert_eq!(m.parallelism_buckets, vec![(0.0, 0), (1.0, 4), (2.0, 3), (f64::MAX, 1)]);
        assert_eq!((m.parallelism_sum, m.parallelism_count), (4.0 + 6.0 + 3.0, 8));
        assert_eq!(m.barriers, [("ddl".to_string(), 2), ("no_key".to_string(), 5)].into());
    }
}
