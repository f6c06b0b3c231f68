//! `parapply failover watch|promote|switchover|status`: wires [`crate::failover`] to the config,
//! signals and stdout. Owns no decision logic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{FailoverAction, FailoverArgs};
use crate::config::{Config, FailoverConfig};
use crate::failover::log::SwitchLog;
use crate::failover::repoint::{follow_writer, FollowOptions};
use crate::failover::{probe, promote, watcher};

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
        FailoverAction::Status { json } => rt.block_on(status(&f, *json)),
    }
}

async fn watch(cfg: &Config, f: FailoverConfig, target: Option<(crate::config::Endpoint, String)>, apply: bool) -> anyhow::Result<i32> {
    let mut w = watcher::Watcher::start(f, target).await?;
    tracing::info!(writer = %w.writer_name(), "failover watcher started");
    // The state on /status and /readers.
    let _http = if cfg.http.enabled {
        let progress = crate::lag::Progress::new(&cfg.lag);
        let p = progress.clone();
        w.set_publisher(Arc::new(move |st| p.set_failover_state(serde_json::to_value(st).unwrap_or_default())));
        Some(crate::http::HttpServer::start(&cfg.http.listen, progress, crate::http::StatusInfo::from_config(cfg, "failover watch")).context("[http]")?)
    } else {
        None
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_flag = Arc::new(AtomicBool::new(false));
    let flag = stop_flag.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
        flag.store(true, Ordering::Relaxed);
        let _ = stop_tx.send(true);
    });
    let applier = if apply {
        let opts = FollowOptions { target: cfg.target.clone(), apply: cfg.apply.clone(), server_id: cfg.source.server_id };
        let (rx, stop) = (w.switch().subscribe(), stop_flag.clone());
        Some(std::thread::Builder::new().name("parapply-follow".into()).spawn(move || follow_writer(rx, opts, stop))?)
    } else {
        None
    };
    let result = w.run(stop_rx).await;
    stop_flag.store(true, Ordering::Relaxed);
    if let Some(a) = applier {
        match a.join() {
            Ok(Ok(segments)) => {
                for s in segments {
                    tracing::info!(writer = %s.writer, start = %s.start, applied = s.summary.txns_applied, "applier segment");
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "applier stopped"),
            Err(_) => tracing::error!("applier thread panicked"),
        }
    }
    result?;
    Ok(0)
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
            println!("{} {} {} -> {} {}", e.time, e.event, e.old_writer.as_deref().unwrap_or("-"), e.new_writer.as_deref().unwrap_or("-"), e.reasons.join("; "));
        }
    }
    Ok(0)
}
