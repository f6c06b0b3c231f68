//! The monitoring side of one pipeline run, started and stopped in one place: the [`Progress`]
//! registry, the HTTP endpoints (when `http.enabled`), the heartbeat writer on the source (live
//! runs), and the terminal/log progress reporter.
//!
//! Owns only the lifetimes of those parts (threads, runtimes, stop signals). Commands such as
//! `run` and `replay` create a [`Monitor`], hand [`Monitor::progress`] to the pipeline stages,
//! and call [`Monitor::finish`] when the pipeline ends. It must not touch the pipeline itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
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

/// A running monitoring side; [`Monitor::finish`] (or drop) stops it.
pub struct Monitor {
    progress: Arc<Progress>,
    http: Option<HttpServer>,
    writer: Option<(tokio::sync::watch::Sender<bool>, std::thread::JoinHandle<()>)>,
    reporter: Option<Reporter>,
}

impl Monitor {
    pub fn start(cfg: &Config, opts: MonitorOptions) -> Result<Monitor, MonitorError> {
        let progress = Progress::new(&cfg.lag);
        let http = if cfg.http.enabled { Some(HttpServer::start(&cfg.http.listen, progress.clone(), StatusInfo::from_config(cfg, &opts.command))?) } else { None };
        let writer = if opts.heartbeat_writer {
            let (tx, rx) = tokio::sync::watch::channel(false);
            let (source, lag, p) = (cfg.source.endpoint.clone(), cfg.lag.clone(), progress.clone());
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
                    if let Err(e) = rt.block_on(crate::heartbeat::run(source, lag, p, rx)) {
                        tracing::error!(error = %e, "heartbeat writer stopped; heartbeat lag will keep growing");
                    }
                })
                .map_err(MonitorError::Thread)?;
            Some((tx, handle))
        } else {
            None
        };
        let reporter = match opts.report_every {
            Some(every) => Some(Reporter::start(progress.clone(), every).map_err(MonitorError::Thread)?),
            None => None,
        };
        Ok(Monitor { progress, http, writer, reporter })
    }

    /// The registry every stage reports into.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// Where the endpoints listen (`None` when `http.enabled = false`).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|h| h.local_addr())
    }

    /// The pipeline ended: state `stopped` (the endpoints keep answering, `/health` 503, until
    /// the monitor is dropped), heartbeat writer and reporter stopped.
    pub fn finish(&mut self) {
        self.progress.set_stopped();
        if let Some((tx, handle)) = self.writer.take() {
            let _ = tx.send(true);
            let _ = handle.join();
        }
        drop(self.reporter.take());
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
