//! `parapply failover watch|promote|switchover|reconcile|status`: wires [`crate::failover`] to the config,
//! signals and stdout. Owns no decision logic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{FailoverAction, FailoverArgs};
use crate::config::{Config, FailoverConfig};
use crate::failover::log::{Entry, SwitchLog};
use crate::failover::{probe, promote, watcher};
use crate::replica::{apply_loop, ApplierOptions, Segment};
use crate::source::stream::StreamOptions;

pub fn run(args: &FailoverArgs) -> anyhow::Result<i32> {
    let path = args.config.as_ref().context("--config is required")?;
    let cfg = Config::load(path)?;
    let f: FailoverConfig = cfg.failover.clone().context("the config has no [failover] section")?;
    let target = Some((cfg.target.clone(), cfg.apply.state_schema.clone()));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match &args.action {
        FailoverAction::Watch { apply } => rt.block_on(watch(&cfg, f, target, *apply)),
        FailoverAction::Promote { to, force } => {
            let e = rt.block_on(watcher::promote_once(&f, to, *force, target, None))?;
            println!("{}", serde_json::to_string_pretty(&e)?);
            Ok(if e.new_writer.is_some() && matches!(e.event.as_str(), "failover" | "forced_promotion") { 0 } else { 2 })
        }
        FailoverAction::Switchover { to } => {
            let (old, cand) = rt.block_on(async {
                let wi = watcher::discover_writer(&f).await?;
                let old = f.servers.get(wi).cloned().context("writer")?;
                let cand = f.servers.iter().find(|s| &s.name == to).cloned().with_context(|| format!("unknown server {to}"))?;
                anyhow::Ok((old, cand))
            })?;
            if old.name == cand.name {
                anyhow::bail!("{to} already is the writer");
            }
            let (e, ok) = rt.block_on(promote::switchover(&f, &old, &cand, None));
            SwitchLog::new(f.switch_log.clone()).append(&e)?;
            println!("{}", serde_json::to_string_pretty(&e)?);
            Ok(if ok { 0 } else { 2 })
        }
        FailoverAction::Reconcile { old, new } => {
            let e = rt.block_on(watcher::reconcile_once(&f, old, new.as_deref()))?;
            println!("{}", serde_json::to_string_pretty(&e)?);
            Ok(if e.reconcile.as_ref().is_some_and(|r| r.lost_transactions > 0) { 3 } else { 0 })
        }
        FailoverAction::Status { json } => rt.block_on(status(&f, *json)),
    }
}

async fn watch(cfg: &Config, f: FailoverConfig, target: Option<(crate::config::Endpoint, String)>, apply: bool) -> anyhow::Result<i32> {
    // The state on /status and /readers.
    let progress = cfg.http.enabled.then(|| crate::lag::Progress::new(&cfg.lag));
    let _http = match &progress {
        Some(p) => Some(crate::http::HttpServer::start(&cfg.http.listen, p.clone(), crate::http::StatusInfo::from_config(cfg, "failover watch")).context("[http]")?),
        None => None,
    };
    let stop = stop_on_signal();
    let applier = apply.then(|| {
        let mut o = ApplierOptions::new(cfg.target.clone(), cfg.apply.clone(), StreamOptions::from_config(&cfg.source));
        o.progress = progress.clone();
        o
    });
    let segments = host(f, target, progress, applier, stop).await?;
    log_segments(&segments);
    Ok(0)
}

/// Log what each applier segment did.
pub(crate) fn log_segments(segments: &[Segment]) {
    for s in segments {
        tracing::info!(writer = %s.writer, start = %s.start, applied = s.summary.txns_applied, skipped = s.summary.txns_skipped, "applier segment");
    }
}

/// A stop flag set by SIGINT or SIGTERM (a task on the current tokio runtime waits for them).
pub(crate) fn stop_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
        tracing::info!("signal received: stopping (the applier drains what it dispatched)");
        f.store(true, Ordering::Relaxed);
    });
    flag
}

/// The failover watcher hosted in this process, and (with `applier`) the applier following the
/// writer it publishes ([`apply_loop`]): `parapply failover watch [--apply]`, and `parapply run`
/// with a `[failover]` section. The watcher's state goes to `progress` (`/status` `failover`,
/// `/readers`). Runs until `stop` is set or the applier ends (a definite error stops
/// everything: a process that watches but no longer applies would look healthy and not be).
pub(crate) async fn host(f: FailoverConfig, target: Option<(crate::config::Endpoint, String)>, progress: Option<Arc<crate::lag::Progress>>, applier: Option<ApplierOptions>, stop: Arc<AtomicBool>) -> anyhow::Result<Vec<Segment>> {
    let mut w = watcher::Watcher::start(f, target).await?;
    tracing::info!(writer = %w.writer_name(), "failover watcher started");
    if let Some(p) = progress {
        w.set_publisher(Arc::new(move |st| p.set_failover_state(serde_json::to_value(st).unwrap_or_default())));
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let applier = match applier {
        Some(opts) => {
            let (rx, stop) = (w.switch().subscribe(), stop.clone());
            Some(std::thread::Builder::new().name("parapply-follow".into()).spawn(move || {
                let r = apply_loop(rx, opts, stop.clone());
                // Whatever ended the applier ends the watcher too.
                stop.store(true, Ordering::Relaxed);
                r
            })?)
        }
        None => None,
    };
    // The one stop flag drives the watcher's shutdown channel.
    let flag = stop.clone();
    tokio::spawn(async move {
        while !flag.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop_tx.send(true);
    });
    let watched = w.run(stop_rx).await;
    stop.store(true, Ordering::Relaxed);
    let segments = match applier {
        Some(a) => match tokio::task::spawn_blocking(move || a.join()).await {
            Ok(Ok(r)) => r.context("applier")?,
            _ => anyhow::bail!("applier thread panicked"),
        },
        None => Vec::new(),
    };
    watched?;
    Ok(segments)
}

async fn status(f: &FailoverConfig, json: bool) -> anyhow::Result<i32> {
    let t = Duration::from_millis(f.check_timeout_ms.max(1000));
    let mut servers = Vec::new();
    for s in &f.servers {
        let v = match probe::connect(&s.endpoint, t).await {
            Ok(mut c) => {
                let vars = probe::server_vars(&mut c, &s.endpoint, t).await;
                let link = probe::link_status(&mut c, &s.endpoint, t).await;
                let _ = c.disconnect().await;
                match vars {
                    Ok(v) => serde_json::json!({
                        "name": s.name, "address": s.endpoint.address(), "role": s.role, "up": true,
                        "read_only": v.read_only, "gtid_binlog_pos": v.gtid_binlog_pos.to_string(), "gtid_slave_pos": v.gtid_slave_pos.to_string(),
                        "io_running": link.as_ref().ok().and_then(|l| l.as_ref()).map(|l| l.io_running.clone()),
                        "sql_running": link.as_ref().ok().and_then(|l| l.as_ref()).map(|l| l.sql_running.clone()),
                        "seconds_behind_master": link.as_ref().ok().and_then(|l| l.as_ref()).and_then(|l| l.seconds_behind_master),
                    }),
                    Err(e) => serde_json::json!({"name": s.name, "address": s.endpoint.address(), "role": s.role, "up": false, "error": e.to_string()}),
                }
            }
            Err(e) => serde_json::json!({"name": s.name, "address": s.endpoint.address(), "role": s.role, "up": false, "error": e.to_string()}),
        };
        servers.push(v);
    }
    let entries = SwitchLog::new(f.switch_log.clone()).read_all()?;
    let recent: Vec<_> = entries.iter().rev().take(5).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "servers": servers, "recent_switch_log": recent }))?);
    } else {
        for s in &servers {
            println!("{}", serde_json::to_string(s)?);
        }
        for e in recent {
            println!("{}", entry_line(e));
        }
    }
    Ok(0)
}

/// One switch-log entry as `failover status` shows it: when, what, who to whom, why, and what
/// it cost (the loss estimate, or the exact loss of a `reconcile`; detection and switch time).
/// The full entry is the JSON line in the switch log.
fn entry_line(e: &Entry) -> String {
    let mut line = format!("{} {} {} -> {} ({})", e.time, e.event, e.old_writer.as_deref().unwrap_or("-"), e.new_writer.as_deref().unwrap_or("-"), e.trigger);
    let failed = e.checks.iter().filter(|c| c.result == "fail").count();
    if !e.checks.is_empty() {
        line.push_str(&format!(", checks {} ok / {failed} failed", e.checks.len() - failed));
    }
    if let Some(r) = &e.reconcile {
        line.push_str(&format!(", lost {} transactions{}", r.lost_transactions, if r.lost_gtids.is_empty() { String::new() } else { format!(" ({})", r.lost_gtids.join(",")) }));
    } else if let Some(d) = &e.data_loss_estimate {
        line.push_str(&format!(", data loss estimate {} transactions", d.transactions));
    }
    if let Some(ms) = e.detection_ms {
        line.push_str(&format!(", detected in {ms:.0} ms"));
    }
    if let Some(ms) = e.total_ms {
        line.push_str(&format!(", switched in {ms:.0} ms"));
    }
    if !e.reasons.is_empty() {
        line.push_str(&format!("; reasons: {}", e.reasons.join("; ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failover::log::DataLoss;
    use crate::failover::Check;

    #[test]
    fn a_switch_log_entry_reads_on_one_line() {
        let mut e = Entry { time: "2026-12-02T01:52:01.607Z".into(), event: "failover".into(), trigger: "writer_failed_3_checks".into(), old_writer: Some("A".into()), new_writer: Some("B".into()), ..Default::default() };
        e.checks = vec![Check { name: "B.lag".into(), result: "ok".into(), detail: String::new() }, Check { name: "B.config.B.log_bin".into(), result: "ok".into(), detail: String::new() }];
        e.data_loss_estimate = Some(DataLoss { transactions: 0, ..Default::default() });
        e.detection_ms = Some(2006.44);
        e.total_ms = Some(15.77);
        assert_eq!(
            entry_line(&e),
            "2026-12-02T01:52:01.607Z failover A -> B (writer_failed_3_checks), checks 2 ok / 0 failed, data loss estimate 0 transactions, detected in 2006 ms, switched in 16 ms"
        );
        let blocked = Entry {
            time: "t".into(),
            event: "failover_blocked".into(),
            trigger: "writer_failed_3_checks".into(),
            old_writer: Some("A".into()),
            checks: vec![Check { name: "B.relay_applied".into(), result: "fail".into(), detail: String::new() }],
            reasons: vec!["B: SQL thread stopped".into()],
            ..Default::default()
        };
        assert_eq!(entry_line(&blocked), "t failover_blocked A -> - (writer_failed_3_checks), checks 0 ok / 1 failed; reasons: B: SQL thread stopped");
    }
}
