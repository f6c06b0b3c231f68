//! `parapply run --config FILE`: the live replica, as one process. Streams the source's binlog
//! into the apply pipeline from the target's checkpoint (so a restart, even after `kill -9`,
//! continues exactly where the last committed transaction left off), and runs the monitoring
//! side with it: the lag registry, the `[http]` endpoints (/lag /metrics /health /status), the
//! heartbeat writer on the source (or the pt-heartbeat reader with `heartbeat_mode = "read"`),
//! and progress (a bar on a terminal, a log line every 10 s otherwise). With a `[failover]`
//! section it also hosts the failover watcher, and the applier follows the writer it publishes.
//!
//! Owns only the wiring. The applier loop (segments, outages, retries) is the live replica,
//! [`crate::replica`], with or without `[failover]` (shared with `parapply failover watch
//! --apply`); the monitoring parts are [`crate::commands::monitor::Monitor`].
//!
//! # Shutdown
//! SIGTERM or SIGINT: the stream stops, what was dispatched commits, state `stopped`, exit 0. A
//! definite error (a conflict with `on_conflict = stop`, a purged binlog, ...) stops the same
//! way with the error, exit code 1. Outages of the source or the target do not end the process:
//! the state says `source_down` / `target_down`, the lag keeps growing, and it retries.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::apply::pipeline::{ProgressFn, ProgressView};
use crate::cli::RunArgs;
use crate::config::Config;
use crate::commands::monitor::{Monitor, MonitorOptions};
use crate::replica::{self, ApplierOptions, WriterInfo};
use crate::source::stream::StreamOptions;

pub fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let cfg = Config::load(&args.config)?;
    let terminal = std::io::stderr().is_terminal();
    let mut monitor = Monitor::start(&cfg, MonitorOptions { command: "run".into(), heartbeat_writer: true, report_every: terminal.then_some(Duration::from_secs(1)) }).context("starting the monitor")?;
    if let Some(addr) = monitor.http_addr() {
        tracing::info!(listen = %addr, "endpoints: /lag /metrics /health /health/live /health/ready /status");
    }
    monitor.probe_target(&cfg.target, Duration::from_secs(1)).context("starting the target probe")?;
    let progress = monitor.progress().clone();
    let mut opts = ApplierOptions::new(cfg.target.clone(), cfg.apply.clone(), StreamOptions::from_config(&cfg.source));
    opts.from = args.from.clone();
    opts.progress = Some(progress.clone());
    if !terminal {
        let p = progress.clone();
        opts.progress_log = Some(Arc::new(move || {
            let p = p.clone();
            throttled_progress_log(Duration::from_secs(10), move |_| crate::lag::reporter::format_line(&p.snapshot()))
        }));
    }
    if let Some(mover) = monitor.heartbeat_mover() {
        opts.on_writer = Some(Arc::new(move |w: &WriterInfo| mover(&w.endpoint)));
    }

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = rt.block_on(async {
        let stop = crate::commands::failover::stop_on_signal();
        match cfg.failover.clone() {
            Some(f) => {
                tracing::info!(servers = f.servers.len(), "hosting the failover watcher: the applier follows its writer");
                let target = Some((cfg.target.clone(), cfg.apply.state_schema.clone()));
                crate::commands::failover::host(f, target, Some(progress.clone()), Some(opts), stop).await
            }
            None => {
                tracing::info!(source = %cfg.source.endpoint.address(), "streaming from the source");
                let source = cfg.source.endpoint.clone();
                tokio::task::spawn_blocking(move || replica::fixed_source(source, opts, stop)).await.context("applier thread")?.map_err(anyhow::Error::from)
            }
        }
    });
    monitor.finish();
    match result {
        Ok(segments) => {
            crate::commands::failover::log_segments(&segments);
            let s = progress.snapshot();
            println!("run: stopped; {} transactions applied ({} heartbeats), applied GTID {}", s.applied.transactions, s.applied.heartbeats, s.applied.last_gtid.as_deref().unwrap_or("-"));
            Ok(0)
        }
        Err(e) => {
            tracing::error!(error = %crate::error_text::chain(e.as_ref()), "run stopped");
            Err(e)
        }
    }
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
