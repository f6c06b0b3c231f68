//! The monitoring side of one pipeline run, started and stopped in one place: the [`Progress`]
//! registry, the HTTP endpoints (when `http.enabled`), the heartbeat writer on the source (live
//! runs; re-pointed by [`Monitor::set_heartbeat_source`] when a failover moves the writer), and
//! the terminal/log progress reporter, and (on request) a reachability probe of the target.
//!
//! Owns only the lifetimes of those parts (threads, runtimes, stop signals) and the target
//! probe; the parts themselves are [`crate::lag`] (registry, clocks, reporter), [`crate::http`]
//! and [`crate::heartbeat`]. It lives with the commands, above all of them, because it starts
//! servers and writers: [`crate::lag`] itself talks to no server. Commands such as `run`
//! create a [`Monitor`], hand [`Monitor::progress`] to the pipeline stages, and call
//! [`Monitor::finish`] when the pipeline ends. It must not touch the pipeline itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, Endpoint};
use crate::http::{HttpError, HttpServer, StatusInfo};
use crate::lag::reporter::Reporter;
use crate::lag::Progress;

/// What to start besides the registry.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// Shown by `/status` (`run`, `replay`, ...).
    pub command: String,
    /// Write heartbeats on `[source]` (live runs). Replays of files have no source to write to.
    pub heartbeat_writer: bool,
    /// Report progress this often (bar on a terminal, log lines otherwise); `None` for no report.
    pub report_every: Option<Duration>,
}

/// Starting the monitoring side failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("monitor: cannot start a thread: {0}")]
    Thread(std::io::Error),
}

/// Moves the heartbeat writer to another source (see [`Monitor::heartbeat_mover`]).
pub type HeartbeatMover = Arc<dyn Fn(&Endpoint) + Send + Sync>;

/// The heartbeat writer's thread: stop signal, and the source it writes to.
struct HeartbeatThread {
    stop: tokio::sync::watch::Sender<bool>,
    source: Arc<tokio::sync::watch::Sender<Endpoint>>,
    handle: std::thread::JoinHandle<()>,
}

/// A running monitoring side; [`Monitor::finish`] (or drop) stops it.
pub struct Monitor {
    progress: Arc<Progress>,
    http: Option<HttpServer>,
    writer: Option<HeartbeatThread>,
    reporter: Option<Reporter>,
    target_probe: Option<(tokio::sync::watch::Sender<bool>, std::thread::JoinHandle<()>)>,
}

/// Ping `target` every `every` (one kept connection; reconnect after a failure) and report
/// whether it answers, until `stop`. Why a probe of its own: an applier blocked in retries
/// against a dead target learns of it late (after its retries), and an idle one not at all.
async fn probe_loop(target: Endpoint, every: Duration, progress: Arc<Progress>, mut stop: tokio::sync::watch::Receiver<bool>) {
    use mysql_async::prelude::Queryable;
    let mut conn: Option<mysql_async::Conn> = None;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_up = true;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
        let bound = every.max(target.connect_timeout());
        let up = tokio::time::timeout(bound, async {
            if conn.is_none() {
                conn = Some(crate::net::connect(crate::net::opts(&target)).await?);
            }
            match conn.as_mut() {
                Some(c) => c.query_drop("DO 1").await,
                None => Ok(()),
            }
        })
        .await
        .is_ok_and(|r| r.is_ok());
        if !up {
            conn = None;
        }
        if up != was_up {
            if up {
                tracing::info!(target = %target.address(), "target answers again");
            } else {
                tracing::warn!(target = %target.address(), "target does not answer");
            }
            was_up = up;
        }
        progress.set_target_up(up);
    }
    if let Some(c) = conn {
        let _ = tokio::time::timeout(Duration::from_secs(1), c.disconnect()).await;
    }
}

impl Monitor {
    /// Watch the target's reachability (state `target_down`, `/health` 503) every `every`.
    pub fn probe_target(&mut self, target: &Endpoint, every: Duration) -> Result<(), MonitorError> {
        if self.target_probe.is_some() {
            return Ok(());
        }
        let (tx, rx) = tokio::sync::watch::channel(false);
        let (target, p) = (target.clone(), self.progress.clone());
        let handle = std::thread::Builder::new()
            .name("parapply-target-probe".into())
            .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(probe_loop(target, every, p, rx)),
                Err(e) => tracing::error!(error = %e, "target probe: cannot build runtime"),
            })
            .map_err(MonitorError::Thread)?;
        self.target_probe = Some((tx, handle));
        Ok(())
    }

    pub fn start(cfg: &Config, opts: MonitorOptions) -> Result<Monitor, MonitorError> {
        let progress = Progress::new(&cfg.lag);
        let http = if cfg.http.enabled { Some(HttpServer::start(&cfg.http.listen, progress.clone(), StatusInfo::from_config(cfg, &opts.command))?) } else { None };
        let writer = if opts.heartbeat_writer {
            let (tx, rx) = tokio::sync::watch::channel(false);
            let (source_tx, source_rx) = tokio::sync::watch::channel(cfg.source.endpoint.clone());
            let (lag, p) = (cfg.lag.clone(), progress.clone());
            let handle = std::thread::Builder::new()
                .name("parapply-heartbeat".into())
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(rt) => rt,
                        Err(e) => {
                            tracing::error!(error = %e, "heartbeat: cannot build runtime; no heartbeat lag");
                            return;
                        }
                    };
                    rt.block_on(crate::heartbeat::follow(source_rx, lag, p, rx));
                })
                .map_err(MonitorError::Thread)?;
            Some(HeartbeatThread { stop: tx, source: Arc::new(source_tx), handle })
        } else {
            None
        };
        let reporter = match opts.report_every {
            Some(every) => Some(Reporter::start(progress.clone(), every).map_err(MonitorError::Thread)?),
            None => None,
        };
        Ok(Monitor { progress, http, writer, reporter, target_probe: None })
    }

    /// The registry every stage reports into.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// Where the endpoints listen (`None` when `http.enabled = false`).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|h| h.local_addr())
    }

    /// Write heartbeats on `source` from now on (the failover watcher moved the writer). No-op
    /// without a heartbeat writer, or when it already writes there.
    pub fn set_heartbeat_source(&self, source: &Endpoint) {
        if let Some(mover) = self.heartbeat_mover() {
            mover(source);
        }
    }

    /// [`Monitor::set_heartbeat_source`] as a function other threads can keep (e.g. the
    /// applier, which learns of a new writer first). `None` without a heartbeat writer.
    pub fn heartbeat_mover(&self) -> Option<HeartbeatMover> {
        let tx = self.writer.as_ref()?.source.clone();
        Some(Arc::new(move |source: &Endpoint| {
            tx.send_if_modified(|cur| {
                let moved = cur.address() != source.address();
                if moved {
                    *cur = source.clone();
                }
                moved
            });
        }))
    }

    /// The pipeline ended: state `stopped` (the endpoints keep answering, `/health` 503, until
    /// the monitor is dropped), heartbeat writer and reporter stopped.
    pub fn finish(&mut self) {
        self.progress.set_stopped();
        if let Some(w) = self.writer.take() {
            let _ = w.stop.send(true);
            let _ = w.handle.join();
        }
        drop(self.reporter.take());
        if let Some((tx, handle)) = self.target_probe.take() {
            let _ = tx.send(true);
            let _ = handle.join();
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.finish();
        if let Some(h) = self.http.take() {
            h.shutdown();
        }
    }
}
