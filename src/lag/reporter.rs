//! Progress reporter: an indicatif bar (applied/received, lag, backlog, rate, ETA) when stderr
//! is a terminal, plain periodic `tracing` info lines otherwise (logs, systemd, CI).
//!
//! Owns only presentation. It reads [`crate::lag::Progress::snapshot`] on its own thread and
//! must not change progress state.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::lag::{LagSnapshot, Progress};

/// One human line: state, both lags, backlog, rate, ETA.
pub fn format_line(s: &LagSnapshot) -> String {
    let eta = match s.eta_seconds {
        Some(e) => human_duration(e),
        None => "unknown".to_string(),
    };
    let gtids = match s.backlog.gtid_distance {
        Some(d) => format!(", {d} GTIDs behind source"),
        None => String::new(),
    };
    format!(
        "{state} | heartbeat lag {hb:.1}s | event lag {ev:.1}s | backlog {bt} txns {bb}{gtids} | {rate:.0} txn/s | ETA {eta}",
        state = s.state.name(),
        hb = s.heartbeat_lag_seconds,
        ev = s.event_lag_seconds,
        bt = s.backlog.transactions,
        bb = human_bytes(s.backlog.bytes),
        rate = s.apply_rate_tps,
    )
}

/// `1.5 KiB`, `3.0 MiB`, ... (binary units).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// `45s`, `3m05s`, `2h03m`.
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "unknown".into();
    }
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// A running reporter; stops on drop.
pub struct Reporter {
    stop: Option<Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reporter {
    /// Report every `every` (bar refresh or log line). Chooses the bar when stderr is a terminal.
    pub fn start(progress: Arc<Progress>, every: Duration) -> std::io::Result<Reporter> {
        let terminal = std::io::stderr().is_terminal();
        let (tx, rx) = bounded::<()>(1);
        let thread = std::thread::Builder::new().name("parapply-progress".into()).spawn(move || {
            let bar = terminal.then(|| {
                let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} applied | {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                bar.set_style(style);
                bar
            });
            let tick = if terminal { every.min(Duration::from_millis(500)) } else { every };
            // Any message or a dropped sender means stop; a timeout means report.
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(tick) {
                let s = progress.snapshot();
                match &bar {
                    Some(bar) => {
                        bar.set_length(s.received.transactions.max(s.applied.transactions));
                        bar.set_position(s.applied.transactions);
                        bar.set_message(format_line(&s));
                        bar.tick();
                    }
                    None => tracing::info!(
                        state = s.state.name(),
                        heartbeat_lag_s = s.heartbeat_lag_seconds,
                        event_lag_s = s.event_lag_seconds,
                        backlog_txns = s.backlog.transactions,
                        backlog_bytes = s.backlog.bytes,
                        applied_txns = s.applied.transactions,
                        rate_tps = s.apply_rate_tps,
                        eta_s = s.eta_seconds,
                        "progress: {}",
                        format_line(&s)
                    ),
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        })?;
        Ok(Reporter { stop: Some(tx), thread: Some(thread) })
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_summary() {
        let p = Progress::new(&crate::config::LagConfig::default());
        p.on_received(2048, None, 0);
        let mut s = p.snapshot();
        s.heartbeat_lag_seconds = 1.25;
        s.event_lag_seconds = 7.0;
        s.apply_rate_tps = 99.6;
        s.eta_seconds = Some(125.0);
        s.backlog.gtid_distance = Some(3);
        assert_eq!(format_line(&s), "streaming | heartbeat lag 1.2s | event lag 7.0s | backlog 1 txns 2.0 KiB, 3 GTIDs behind source | 100 txn/s | ETA 2m05s");
        s.eta_seconds = None;
        s.backlog.gtid_distance = None;
        assert!(format_line(&s).ends_with("backlog 1 txns 2.0 KiB | 100 txn/s | ETA unknown"));
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(human_duration(44.6), "45s");
        assert_eq!(human_duration(185.0), "3m05s");
        assert_eq!(human_duration(7380.0), "2h03m");
        assert_eq!(human_duration(f64::NAN), "unknown");
    }
}
