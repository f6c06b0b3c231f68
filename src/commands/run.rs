//! `parapply run --config FILE`: the live replica. Streams the source's binlog
//! ([`crate::source::stream::BlockingTransactions`]) into the apply pipeline
//! ([`crate::apply::pipeline`]), starting from the target's checkpoint so a restart (even after
//! `kill -9`) continues exactly where the last committed transaction left off.
//!
//! Owns only the wiring and the periodic progress log. It starts no HTTP endpoints or lag
//! clocks (those belong to their own modules and are not wired here yet).

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::apply::pipeline::{self, PipelineOptions, ProgressFn, ProgressView, TxnSource};
use crate::cli::RunArgs;
use crate::config::Config;
use crate::source::stream::{BlockingTransactions, StartPosition, StreamOptions};

pub fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let cfg = Config::load(&args.config)?;
    let applied = pipeline::load_checkpoint(&cfg.target, &cfg.apply.state_schema).context("reading the target's checkpoint")?;
    // The checkpoint wins over --from: it is what the target actually holds.
    let start_text = applied.resume_position().or_else(|| args.from.clone()).unwrap_or_default();
    let start = StartPosition::parse(&start_text).map_err(|e| anyhow::anyhow!("start position {start_text:?}: {e}"))?;
    tracing::info!(source = %cfg.source.endpoint.address(), start = %start, "streaming from the source");
    let stream = BlockingTransactions::start(StreamOptions::from_config(&cfg.source), start, cfg.apply.channel_capacity)
        .map_err(|e| anyhow::anyhow!("source {}: {e}", cfg.source.endpoint.address()))?;
    let source: TxnSource = Box::new(stream.map(|r| r.map_err(|e| e.to_string())));
    let opts = PipelineOptions::new(cfg.target.clone(), cfg.apply.clone());
    let summary = pipeline::run(opts, source, Some(progress_log()))?;
    println!("run: source ended; {} transactions applied, {} skipped, applied position {}", summary.txns_applied, summary.txns_skipped, summary.applied_position);
    Ok(0)
}

/// A log line every 10 s.
fn progress_log() -> ProgressFn {
    throttled_progress_log(Duration::from_secs(10), |_| "run progress".to_string())
}

/// A log line with the apply counters at most every `every`, headed by `headline(view)`: the
/// progress display of `run`, and of `replay` outside a terminal.
pub(crate) fn throttled_progress_log(every: Duration, headline: impl Fn(&ProgressView) -> String + Send + 'static) -> ProgressFn {
    let mut last = Instant::now();
    Box::new(move |v: &ProgressView| {
        if last.elapsed() < every {
            return;
        }
        last = Instant::now();
        tracing::info!(
            read = v.txns_read,
            applied = v.apply.txns_applied,
            skipped = v.apply.txns_skipped,
            rows = v.apply.rows_applied,
            retries = v.apply.retries,
            conflicts = v.apply.conflicts_total(),
            "{}",
            headline(v)
        );
    })
}
