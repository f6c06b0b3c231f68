//! The applier's side of a switch: stream from whichever server is the writer, and after every
//! switch resume from the target's durable checkpoint on the new writer.
//!
//! Owns the loop "writer -> start position from the checkpoint -> live stream -> apply pipeline
//! until the writer changes". It must not decide when to switch (the watcher publishes that on
//! [`crate::failover::SourceSwitch`]) and must not apply rows itself (that is
//! [`crate::apply::pipeline`]).
//!
//! # Resumption
//! MariaDB GTIDs are global: the new writer holds the old writer's transactions under the same
//! GTIDs (log_slave_updates). The start position is the checkpoint's *watermark* per domain
//! (every transaction up to it is applied); transactions applied beyond it are delivered again
//! and skipped by the pipeline, which loads the same checkpoint. So the switch has no gap (the
//! watermark is never past an unapplied transaction) and no duplicate (the checkpoint commits
//! with the rows).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::apply::checkpoint::CheckpointStore;
use crate::apply::pipeline::{self, ApplySummary, PipelineOptions, TxnSource};
use crate::config::{ApplyConfig, Endpoint};
use crate::failover::{probe, FailoverError, WriterInfo};
use crate::source::gtid::{GtidPosition, MariadbGtidPos};
use crate::source::stream::{BlockingTransactions, StartPosition, StreamOptions};

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

/// The start position: the checkpoint watermark of every MariaDB domain.
pub async fn checkpoint_start(target: &Endpoint, schema: &str) -> Result<MariadbGtidPos, FailoverError> {
    let t = target.connect_timeout();
    let mut conn = probe::connect(target, t).await.map_err(|e| FailoverError::Other(format!("target: {e}")))?;
    let store = CheckpointStore::new(schema);
    store.setup(&mut conn).await.map_err(|e| FailoverError::Other(format!("target checkpoint: {e}")))?;
    let set = store.load(&mut conn).await.map_err(|e| FailoverError::Other(format!("target checkpoint: {e}")))?;
    let _ = conn.disconnect().await;
    let mut pos = MariadbGtidPos::new();
    for (stream, (_, gtid)) in &set.watermark {
        if stream.starts_with("mariadb:") {
            if let Ok(p) = MariadbGtidPos::parse(gtid) {
                pos = probe::max_pos(&pos, &p);
            }
        }
    }
    Ok(pos)
}

/// Apply from the current writer until `stop` is set, switching writers whenever `writers`
/// changes. Blocks; returns the segments applied. Each segment's pipeline ends cleanly (all it
/// dispatched committed) before the next starts.
pub fn follow_writer(mut writers: tokio::sync::watch::Receiver<WriterInfo>, opts: FollowOptions, stop: Arc<AtomicBool>) -> Result<Vec<Segment>, FailoverError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| FailoverError::Other(format!("runtime: {e}")))?;
    let mut segments = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let writer = writers.borrow_and_update().clone();
        let start_pos = rt.block_on(checkpoint_start(&opts.target, &opts.apply.state_schema))?;
        let start = if start_pos.is_empty() { StartPosition::Earliest } else { StartPosition::Gtid(GtidPosition::Mariadb(start_pos.clone())) };
        tracing::info!(writer = %writer.name, address = %writer.endpoint.address(), start = %start_pos, "applier following writer");
        let stream = match BlockingTransactions::start(StreamOptions::new(writer.endpoint.clone(), opts.server_id), start, opts.apply.channel_capacity) {
            Ok(s) => s,
            Err(e) if e.is_transient() => {
                // The writer is down and no switch yet: wait for one (or for it to come back).
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            Err(e) => return Err(FailoverError::Other(format!("stream from {}: {e}", writer.name))),
        };
        let source: TxnSource = Box::new(UntilSwitch { stream, writers: writers.clone(), stop: stop.clone() });
        let summary = pipeline::run(PipelineOptions::new(opts.target.clone(), opts.apply.clone()), source, None).map_err(|e| FailoverError::Other(format!("apply from {}: {e}", writer.name)))?;
        segments.push(Segment { writer: writer.name, generation: writer.generation, start: start_pos.to_string(), summary });
    }
    Ok(segments)
}

/// The live stream, ending (cleanly) when the writer changes or `stop` is set.
struct UntilSwitch {
    stream: BlockingTransactions,
    writers: tokio::sync::watch::Receiver<WriterInfo>,
    stop: Arc<AtomicBool>,
}

impl Iterator for UntilSwitch {
    type Item = Result<crate::txn::Transaction, String>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.stop.load(Ordering::Relaxed) || self.writers.has_changed().unwrap_or(true) {
                return None;
            }
            match self.stream.recv_timeout(Duration::from_millis(100)) {
                None => continue,
                Some(Ok(t)) => return Some(Ok(t)),
                Some(Err(e)) => return Some(Err(e.to_string())),
            }
        }
    }
}
