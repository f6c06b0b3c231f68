//! The live replica: stream from whichever server is the writer into the apply pipeline, from
//! the target's durable checkpoint, and start again from the checkpoint whenever the writer
//! changes.
//!
//! Owns the loop "writer -> start position from the checkpoint -> live stream -> apply pipeline
//! until the writer changes" ([`apply_loop`]), for `parapply run` with a fixed `[source]`
//! ([`fixed_source`]: a writer channel that never changes), `parapply run` with a `[failover]`
//! section and `parapply failover watch --apply` (the writer the hosted watcher publishes). Its
//! input is a `tokio::sync::watch` channel of [`WriterInfo`]; who publishes it (nobody, or the
//! failover watcher through [`crate::failover::SourceSwitch`]) is not its business, and the
//! failover module never drives the pipeline. It must not decide when to switch, and must not
//! apply rows itself (that is [`crate::apply::pipeline`]).
//!
//! # Resumption
//! MariaDB GTIDs are global: the new writer holds the old writer's transactions under the same
//! GTIDs (log_slave_updates). The start position is the checkpoint's *watermark* per domain
//! (every transaction up to it is applied); transactions applied beyond it are delivered again
//! and skipped by the pipeline, which loads the same checkpoint. So the switch has no gap (the
//! watermark is never past an unapplied transaction) and no duplicate (the checkpoint commits
//! with the rows).
//!
//! # Error handling
//! Outages (writer or target unreachable) and target errors a fresh start may cure are retried
//! here, segment after segment; what reaches the caller is a [`ReplicaError`], always definite.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::apply::pipeline::{self, ApplySummary, PipelineOptions, ProgressFn, ProgressView, TxnSource};
use crate::apply::ApplyError;
use crate::config::{ApplyConfig, Endpoint};
use crate::lag::Progress;
use crate::source::gtid::GtidPosition;
use crate::source::stream::{BlockingTransactions, StartPosition, StreamError, StreamOptions};
use crate::source::TxnSourceError;

/// The writer the applier should stream from. `generation` grows by one at every switch, so a
/// consumer can tell two switches to the same server apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterInfo {
    pub name: String,
    pub endpoint: Endpoint,
    pub generation: u64,
}

/// Why the replica stopped. Every variant is definite: outages and retryable target errors are
/// retried inside [`apply_loop`] and never reach the caller.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The target answered but its checkpoint could not be read or set up.
    #[error("target checkpoint: {0}")]
    Checkpoint(Box<ApplyError>),
    /// Neither the checkpoint nor `--from` is a position the stream understands.
    #[error("start position {text:?}: {cause}")]
    StartPosition { text: String, cause: Box<StreamError> },
    /// The writer refused the dump for a reason a reconnect cannot cure (purged binlog, ...).
    #[error("stream from {writer}: {cause}")]
    Stream { writer: String, cause: Box<StreamError> },
    /// The pipeline stopped on the data or the input (a conflict with `on_conflict = stop`, a
    /// row that cannot become SQL, an unsupported event, a definite stream error).
    #[error("apply from {writer}: {cause}")]
    Apply { writer: String, cause: Box<ApplyError> },
    /// The target kept failing with the target reachable.
    #[error("apply from {writer}: {cause} ({attempts} failed attempts in a row)")]
    GaveUp { writer: String, cause: Box<ApplyError>, attempts: u32 },
}

/// What the follower needs.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub target: Endpoint,
    pub apply: ApplyConfig,
    /// server_id the dump connection registers with.
    pub server_id: u32,
}

/// One stretch of applying from one writer.
#[derive(Debug, Clone)]
pub struct Segment {
    pub writer: String,
    pub generation: u64,
    /// The GTID position the stream started after (empty: from the writer's first binlog).
    pub start: String,
    pub summary: ApplySummary,
}

/// Apply from the current writer until `stop` is set, switching writers whenever `writers`
/// changes. Blocks; returns the segments applied. Each segment's pipeline ends cleanly (all it
/// dispatched committed) before the next starts. This is [`apply_loop`] with the stream
/// settings of [`StreamOptions::new`] and nothing fed to a lag registry.
pub fn follow_writer(writers: tokio::sync::watch::Receiver<WriterInfo>, opts: FollowOptions, stop: Arc<AtomicBool>) -> Result<Vec<Segment>, ReplicaError> {
    let stream = StreamOptions::new(opts.target.clone(), opts.server_id);
    apply_loop(writers, ApplierOptions::new(opts.target, opts.apply, stream), stop)
}

/// The applier on a fixed `source` (`parapply run` without `[failover]`): a writer channel
/// that never changes.
pub fn fixed_source(source: Endpoint, opts: ApplierOptions, stop: Arc<AtomicBool>) -> Result<Vec<Segment>, ReplicaError> {
    // `_keep` must live as long as the loop: a dropped sender reads as "the writer changed".
    let (_keep, rx) = tokio::sync::watch::channel(WriterInfo { name: "source".into(), endpoint: source, generation: 0 });
    apply_loop(rx, opts, stop)
}

/// A per-segment callback factory (the pipeline's progress callback is consumed by each run).
pub type ProgressFnFactory = Arc<dyn Fn() -> ProgressFn + Send + Sync>;

/// Called when a segment starts streaming from a writer.
pub type OnWriter = Arc<dyn Fn(&WriterInfo) + Send + Sync>;

/// Everything [`apply_loop`] needs besides the writer channel.
#[derive(Clone)]
pub struct ApplierOptions {
    pub target: Endpoint,
    pub apply: ApplyConfig,
    /// Dump-connection settings (server_id, heartbeat period, reconnect backoff); the endpoint
    /// is replaced by the current writer's.
    pub stream: StreamOptions,
    /// Where to start while the target has no checkpoint yet (`None`: the writer's earliest
    /// binlog). Ignored once a checkpoint exists: it is what the target actually holds.
    pub from: Option<String>,
    /// The lag registry to feed: received/applied (through [`crate::lag::bridge`]), the stream's
    /// connection state, target up/down, definite errors.
    pub progress: Option<Arc<Progress>>,
    /// An extra progress callback made for each segment (e.g. the throttled log line).
    pub progress_log: Option<ProgressFnFactory>,
    /// Called when a segment starts streaming from a writer (e.g. to move the heartbeat writer).
    pub on_writer: Option<OnWriter>,
    /// Pause between attempts while the target or the writer cannot be reached. Default 1 s.
    pub retry_pause: Duration,
    /// Consecutive failed segments, with the target reachable, before a target error counts as
    /// definite and stops the loop. Default 5.
    pub max_failed_segments: u32,
}

impl ApplierOptions {
    pub fn new(target: Endpoint, apply: ApplyConfig, mut stream: StreamOptions) -> ApplierOptions {
        // The BINLOG statement apply path sends row events as logged.
        stream.keep_raw = apply.row_events.needs_raw();
        ApplierOptions { target, apply, stream, from: None, progress: None, progress_log: None, on_writer: None, retry_pause: Duration::from_secs(1), max_failed_segments: 5 }
    }
}

/// Failed connection attempts of one dump connection before its segment ends and the loop
/// looks at the writer channel (and the stop flag) again.
const STREAM_ATTEMPTS: u32 = 5;

/// Whether a segment's failure stops the loop (true) or starts a new segment from the
/// checkpoint after a pause (false: an outage, or a target error a fresh start may cure).
fn is_definite(e: &ApplyError) -> bool {
    match e {
        // The data or the input is the problem: a restart would fail the same way.
        ApplyError::Conflict { .. } | ApplyError::Build { .. } | ApplyError::Unsupported { .. } | ApplyError::TooLarge { .. } | ApplyError::Source(_) | ApplyError::Schedule(_) => true,
        // The target (connection lost, retries used up, checkpoint or setup statements failed):
        // the next segment's checkpoint read tells an outage from a reachable target.
        _ => false,
    }
}

/// The applier of `parapply run` and `parapply failover watch --apply`: stream from the current
/// writer of `writers` into the apply pipeline, from the target's checkpoint, until `stop`.
///
/// # Resumption
/// Every segment starts from the target's checkpoint (see the module doc), so a new segment
/// after a switch, an outage or a retried target error has no gap and no duplicate.
///
/// # Error handling
/// - Writer unreachable (the dump connection fails [`STREAM_ATTEMPTS`] times in a row): the
///   segment ends cleanly, the source is marked down, and after `retry_pause` a new segment
///   starts from whichever server is the writer then.
/// - Target unreachable (the checkpoint cannot be read): marked `target_down`, retried every
///   `retry_pause` for as long as it takes.
/// - Other target errors with the target reachable: retried `max_failed_segments` times in a
///   row, then definite.
/// - Conflicts (`on_conflict = stop`), rows that cannot be turned into SQL, unsupported events,
///   definite stream errors (purged binlog, CRC mismatch): stop with the error.
pub fn apply_loop(mut writers: tokio::sync::watch::Receiver<WriterInfo>, opts: ApplierOptions, stop: Arc<AtomicBool>) -> Result<Vec<Segment>, ReplicaError> {
    let mut segments = Vec::new();
    let mut failed_in_row = 0u32;
    let mut target_down_logged = false;
    let progress = opts.progress.clone();
    let pause = |stop: &AtomicBool| {
        let until = std::time::Instant::now() + opts.retry_pause;
        while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let writer = writers.borrow_and_update().clone();
        // The target's checkpoint: where to start, and the probe that tells a target outage.
        let applied = match pipeline::load_checkpoint(&opts.target, &opts.apply.state_schema) {
            Ok(a) => a,
            Err(e @ ApplyError::Connect { .. }) => {
                if !target_down_logged {
                    tracing::warn!(target = %opts.target.address(), error = %e, "target unreachable; retrying");
                    target_down_logged = true;
                }
                if let Some(p) = &progress {
                    p.set_target_up(false);
                }
                failed_in_row = 0;
                pause(&stop);
                continue;
            }
            Err(e) => return Err(definite(&progress, ReplicaError::Checkpoint(Box::new(e)))),
        };
        if let Some(p) = &progress {
            p.set_target_up(true);
        }
        target_down_logged = false;
        let start_text = applied.resume_position().or_else(|| opts.from.clone()).unwrap_or_default();
        let start = StartPosition::parse(&start_text).map_err(|e| definite(&progress, ReplicaError::StartPosition { text: start_text.clone(), cause: Box::new(e) }))?;
        if let (Some(p), StartPosition::Gtid(GtidPosition::Mariadb(pos))) = (&progress, &start) {
            p.seed_applied_gtids(&pos.gtids());
        }
        if let Some(f) = &opts.on_writer {
            f(&writer);
        }
        tracing::info!(writer = %writer.name, address = %writer.endpoint.address(), start = %start, "applier streaming from the writer");
        // Raw row bytes only while the pipeline says some rows may need them (triggers).
        let raw_rows = Arc::new(AtomicBool::new(true));
        let stream_opts = StreamOptions {
            raw_rows: Some(raw_rows.clone()),
            endpoint: writer.endpoint.clone(),
            max_attempts: Some(STREAM_ATTEMPTS),
            stream_txn: Some((opts.apply.stream_txn_rows, opts.apply.stream_txn_bytes)),
            ..opts.stream.clone()
        };
        let stream = match BlockingTransactions::start(stream_opts, start, opts.apply.channel_capacity) {
            Ok(s) => s,
            Err(e) if e.is_transient() || matches!(e, StreamError::GaveUp { .. }) => {
                // The writer is down and no switch yet: wait for one (or for it to come back).
                tracing::warn!(writer = %writer.name, error = %e, "writer unreachable; retrying");
                if let Some(p) = &progress {
                    p.set_source_up(false);
                }
                pause(&stop);
                continue;
            }
            Err(e) => return Err(definite(&progress, ReplicaError::Stream { writer: writer.name.clone(), cause: Box::new(e) })),
        };
        let lost = Arc::new(AtomicBool::new(false));
        let segment_source = SegmentSource { stream, writers: writers.clone(), stop: stop.clone(), lost: lost.clone() };
        let mut pending = None;
        let (source, progress_fn): (TxnSource, Option<ProgressFn>) = match &progress {
            Some(p) => {
                p.attach_stream_stats(segment_source.stream.stats());
                p.set_source_up(true);
                let (observed, bridge) = crate::lag::bridge::observe(p.clone(), segment_source);
                pending = Some(bridge.pending());
                let mut feed = bridge.into_progress_fn();
                let mut log = opts.progress_log.as_ref().map(|f| f());
                (Box::new(observed), Some(Box::new(move |v: &ProgressView| {
                    feed(v);
                    if let Some(l) = log.as_mut() {
                        l(v);
                    }
                })))
            }
            None => (Box::new(segment_source), opts.progress_log.as_ref().map(|f| f())),
        };
        let mut pipeline_opts = PipelineOptions::new(opts.target.clone(), opts.apply.clone());
        pipeline_opts.raw_rows = raw_rows;
        if let Some(p) = &progress {
            // /metrics shows the live scheduler: parallelism histogram, barriers by reason.
            let p = p.clone();
            pipeline_opts.on_scheduler_stats = Some(Arc::new(move |stats| p.attach_scheduler_stats(stats)));
        }
        let result = pipeline::run(pipeline_opts, source, progress_fn);
        // Pulled but never committed: received again by the next segment. The stream is gone:
        // its counters no longer describe the source.
        if let Some(p) = &pending {
            p.discard();
        }
        if let Some(p) = &progress {
            p.detach_stream_stats();
        }
        match result {
            Ok(summary) => {
                failed_in_row = 0;
                segments.push(Segment { writer: writer.name.clone(), generation: writer.generation, start: start_text, summary });
                if lost.load(Ordering::Relaxed) {
                    if let Some(p) = &progress {
                        p.set_source_up(false);
                    }
                    pause(&stop);
                }
            }
            Err(e) if is_definite(&e) => return Err(definite(&progress, ReplicaError::Apply { writer: writer.name.clone(), cause: Box::new(e) })),
            Err(e) => {
                failed_in_row += 1;
                if failed_in_row > opts.max_failed_segments {
                    return Err(definite(&progress, ReplicaError::GaveUp { writer: writer.name.clone(), cause: Box::new(e), attempts: failed_in_row }));
                }
                tracing::warn!(writer = %writer.name, error = %e, attempt = failed_in_row, "apply stopped; restarting from the checkpoint");
                pause(&stop);
            }
        }
    }
    Ok(segments)
}

/// Count a definite error on the registry and build the loop's error.
fn definite(progress: &Option<Arc<Progress>>, e: ReplicaError) -> ReplicaError {
    if let Some(p) = progress {
        p.on_error();
    }
    e
}

/// The live stream of one segment: ends (cleanly) when the writer changes, `stop` is set, or
/// the writer could not be reached [`STREAM_ATTEMPTS`] times in a row (`lost`). Definite
/// stream errors pass through and stop the pipeline.
struct SegmentSource {
    stream: BlockingTransactions,
    writers: tokio::sync::watch::Receiver<WriterInfo>,
    stop: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
}

impl Iterator for SegmentSource {
    type Item = Result<crate::txn::Transaction, TxnSourceError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.stop.load(Ordering::Relaxed) || self.writers.has_changed().unwrap_or(true) {
                return None;
            }
            match self.stream.recv_timeout(Duration::from_millis(100)) {
                None => continue,
                Some(Ok(t)) => return Some(Ok(t)),
                Some(Err(e)) if e.is_transient() || matches!(e, StreamError::GaveUp { .. }) => {
                    tracing::warn!(error = %e, "writer lost; the segment ends here");
                    self.lost.store(true, Ordering::Relaxed);
                    return None;
                }
                Some(Err(e)) => return Some(Err(TxnSourceError::from(e))),
            }
        }
    }
}
