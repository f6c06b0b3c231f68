//! The steady-state lag experiment: the source runs at a fixed transaction rate for T seconds
//! while `parapply run` (this binary, as a child process) applies it live in one mode; the
//! harness writes its own heartbeat row on the source every 100 ms (its wall clock in µs) and
//! samples, every 250 ms, the newest heartbeat the target holds: lag = now − that heartbeat's
//! time (same host, same clock, so no skew; resolution 100 ms). From the samples it computes each mode's lag reduction and CPU cost relative to `serial` — the seed
//! design's "60–80% less lag for 30–50% more CPU" claim, measured.
//!
//! Per mode: the source is reset (`RESET MASTER`) and its tables prepared again, the target is
//! emptied, `parapply run` starts from the source's first binlog and catches up with the
//! prepare (a marker row), then the load runs (sysbench `oltp_write_only --rate` when sysbench is
//! installed, else the harness's own rate-limited oltp clients), then a second marker measures
//! the catch-up after the load stops, and `CHECKSUM TABLE` must match the source.
//!
//! Owns the experiment and its numbers, table and plot. It must not change the applier, the lag
//! module or the HTTP endpoints. It measures lag itself rather than through `parapply run`'s
//! `/lag`, so the numbers do not depend on the clocks being measured.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use plotters::prelude::*;
use rand::SeedableRng;

use super::measure::{self, checksums};
use super::sandbox::BenchSandbox;
use super::workload::OltpParams;
use super::{BenchError, BenchOptions};
use crate::cli::Mode;

/// Schema of the experiment's tables on the source.
const SCHEMA: &str = "lagbench";
/// parapply's state schema on the target, and its heartbeat table's schema on the source.
const STATE_SCHEMA: &str = "parapply";

/// What the experiment runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LagOptions {
    pub modes: Vec<Mode>,
    pub workers: usize,
    /// Load duration T.
    pub seconds: u64,
    /// Source transactions per second; None: 1.2 × the serial w=1 throughput measured on the
    /// first workload (a rate serial cannot sustain), or 300 when that is unknown.
    pub rate: Option<f64>,
    /// Concurrent source sessions.
    pub clients: u32,
}

/// One `/lag` reading.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LagSample {
    /// Seconds since the load started.
    pub t: f64,
    pub heartbeat_lag_seconds: f64,
}

/// One mode's run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LagModeResult {
    pub mode: Mode,
    pub workers: usize,
    /// "ok" or "FAILED" (error, or checksums differ after the run).
    pub status: String,
    pub error: Option<String>,
    /// Transactions the source committed during the load, and the rate that makes.
    pub source_txns: u64,
    pub achieved_rate_tps: f64,
    pub samples: Vec<LagSample>,
    /// Heartbeat lag over the load window: mean, 95th percentile and max.
    pub mean_lag_seconds: Option<f64>,
    pub p95_lag_seconds: Option<f64>,
    pub max_lag_seconds: Option<f64>,
    /// After the load stopped: until the target held the source's last write.
    pub catch_up_seconds: Option<f64>,
    /// CPU of the `parapply run` process and of the target server, from load start to caught up.
    pub applier_cpu_seconds: Option<f64>,
    pub target_cpu_seconds: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    /// 1 − mean lag / serial's mean lag (0.7 = 70% less lag).
    pub lag_reduction_vs_serial: Option<f64>,
    /// parapply CPU / serial's parapply CPU − 1 (0.4 = 40% more CPU).
    pub cpu_cost_vs_serial: Option<f64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LagReport {
    pub target_rate_tps: f64,
    /// How the rate was chosen.
    pub rate_basis: String,
    /// "sysbench oltp_write_only --rate" or "built-in rate-limited oltp clients".
    pub load: String,
    pub seconds: u64,
    pub clients: u32,
    pub workers: usize,
    pub modes: Vec<LagModeResult>,
}

fn sysbench_installed() -> bool {
    std::process::Command::new("sysbench").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn oltp_params() -> OltpParams {
    OltpParams { schema: SCHEMA.into(), tables: 4, rows_per_table: 10_000, clients: 0, txns_per_client: 0, seed: 7 }
}

async fn connect(url: &str) -> Result<mysql_async::Conn, BenchError> {
    let opts = mysql_async::Opts::from_url(url).map_err(|e| BenchError::Other(format!("url: {e}")))?;
    mysql_async::Conn::new(opts).await.map_err(BenchError::sql(format!("connecting to {url}")))
}

/// Run the experiment for every mode of `lag`. A mode that fails is reported FAILED; the
/// experiment as a whole fails only when the sandbox itself does.
pub fn run(opts: &BenchOptions, lag: &LagOptions, sb: &BenchSandbox, serial_tps: Option<f64>) -> Result<LagReport, BenchError> {
    let (rate, basis) = match (lag.rate, serial_tps) {
        (Some(r), _) => (r, "--lag-rate".to_string()),
        (None, Some(s)) => ((s * 1.2).clamp(20.0, 20_000.0).round(), format!("1.2 × serial w=1 backlog throughput of the first workload ({s:.0} txn/s)")),
        (None, None) => (300.0, "default (no serial measurement)".to_string()),
    };
    let sysbench = sysbench_installed();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Other(format!("tokio runtime: {e}")))?;
    let dir = opts.out.join("lag");
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::Io(dir.display().to_string(), e))?;
    let mut modes = Vec::new();
    for (i, &mode) in lag.modes.iter().enumerate() {
        eprintln!("bench: lag experiment: {} w={} at {rate:.0} txn/s for {} s", mode.name(), lag.workers, lag.seconds);
        let mut r = LagModeResult {
            mode,
            workers: lag.workers,
            status: String::new(),
            error: None,
            source_txns: 0,
            achieved_rate_tps: 0.0,
            samples: Vec::new(),
            mean_lag_seconds: None,
            p95_lag_seconds: None,
            max_lag_seconds: None,
            catch_up_seconds: None,
            applier_cpu_seconds: None,
            target_cpu_seconds: None,
            peak_rss_bytes: None,
            lag_reduction_vs_serial: None,
            cpu_cost_vs_serial: None,
        };
        if let Err(e) = rt.block_on(run_mode(opts, lag, sb, mode, i, rate, sysbench, &dir, &mut r)) {
            r.error = Some(e.to_string());
        }
        r.status = if r.error.is_none() { "ok".into() } else { "FAILED".into() };
        if r.status != "ok" {
            r.mean_lag_seconds = None;
            r.p95_lag_seconds = None;
            r.catch_up_seconds = None;
        }
        eprintln!(
            "bench: lag {}: {} mean lag {:?} s, catch-up {:?} s, cpu {:?} s",
            mode.name(),
            r.status,
            r.mean_lag_seconds.map(|v| (v * 100.0).round() / 100.0),
            r.catch_up_seconds.map(|v| (v * 100.0).round() / 100.0),
            r.applier_cpu_seconds.map(|v| (v * 100.0).round() / 100.0)
        );
        modes.push(r);
    }
    compare_to_serial(&mut modes);
    Ok(LagReport {
        target_rate_tps: rate,
        rate_basis: basis,
        load: if sysbench { "sysbench oltp_write_only --rate".into() } else { "built-in rate-limited oltp clients".into() },
        seconds: lag.seconds,
        clients: lag.clients,
        workers: lag.workers,
        modes,
    })
}

/// Lag reduction and CPU cost of every passing mode relative to the passing serial run.
fn compare_to_serial(modes: &mut [LagModeResult]) {
    let serial = modes.iter().find(|m| m.mode == Mode::Serial && m.status == "ok").map(|m| (m.mean_lag_seconds, m.applier_cpu_seconds));
    let Some((Some(serial_lag), serial_cpu)) = serial else { return };
    for m in modes.iter_mut().filter(|m| m.status == "ok") {
        if let Some(l) = m.mean_lag_seconds {
            if serial_lag > 0.0 {
                m.lag_reduction_vs_serial = Some(1.0 - l / serial_lag);
            }
        }
        if let (Some(c), Some(sc)) = (m.applier_cpu_seconds, serial_cpu) {
            if sc > 0.0 {
                m.cpu_cost_vs_serial = Some(c / sc - 1.0);
            }
        }
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// The harness's heartbeat lag on the target: now − the newest heartbeat time applied there.
async fn read_lag(c: &mut mysql_async::Conn) -> Option<f64> {
    let ts: Option<Option<i64>> = c.query_first(format!("SELECT MAX(ts_us) FROM `{SCHEMA}`.`hb`")).await.ok()?;
    Some(((now_us() - ts.flatten()?) as f64 / 1e6).max(0.0))
}

/// Writes a heartbeat row on the source every 100 ms until `stop` is set.
async fn heartbeat_writer(url: String, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Result<(), mysql_async::Error> {
    let opts = mysql_async::Opts::from_url(&url).map_err(mysql_async::Error::Url)?;
    let mut conn = mysql_async::Conn::new(opts).await?;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tick.tick().await;
        conn.query_drop(format!("INSERT INTO `{SCHEMA}`.`hb` (ts_us) VALUES ({})", now_us())).await?;
    }
    Ok(())
}

/// The `parapply run` configuration of one mode (no HTTP endpoint and no heartbeat writes of its
/// own: the harness measures lag with its own heartbeat, and the source's load stays the workload's).
fn config_toml(sb: &BenchSandbox, mode: Mode, workers: usize, server_id: u32) -> String {
    format!(
        "[source]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\nserver_id = {server_id}\nheartbeat_period_ms = 500\n\n\
         [target]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
         [apply]\nmode = \"{}\"\nworkers = {workers}\npreserve_commit_order = true\nstate_schema = \"{STATE_SCHEMA}\"\nwindow = {}\n\n\
         [http]\nenabled = false\n\n\
         [lag]\nheartbeat_mode = \"read\"\n",
        sb.port("A"),
        sb.port("C"),
        mode.name(),
        1024.max(workers)
    )
}

/// Wait until the target holds marker row `id` (the source wrote it after everything before).
async fn wait_marker(c: &mut mysql_async::Conn, id: u32, limit: Duration, child: &mut std::process::Child) -> Result<f64, BenchError> {
    let t0 = Instant::now();
    loop {
        let found: Result<Option<u32>, _> = c.query_first(format!("SELECT id FROM `{SCHEMA}`.`marker` WHERE id = {id}")).await;
        if let Ok(Some(_)) = found {
            return Ok(t0.elapsed().as_secs_f64());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(BenchError::Other(format!("parapply run exited early ({status}); see its log under lag/")));
        }
        if t0.elapsed() > limit {
            return Err(BenchError::Other(format!("target did not reach marker {id} within {} s", limit.as_secs())));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_mode(
    opts: &BenchOptions,
    lag: &LagOptions,
    sb: &BenchSandbox,
    mode: Mode,
    index: usize,
    rate: f64,
    sysbench: bool,
    dir: &Path,
    r: &mut LagModeResult,
) -> Result<(), BenchError> {
    let p = oltp_params();
    // Reset both sides: the source's binlog then starts with this mode's prepare.
    let mut c = connect(&sb.url("C")).await?;
    for s in [format!("DROP DATABASE IF EXISTS `{SCHEMA}`"), format!("DROP DATABASE IF EXISTS `{STATE_SCHEMA}`"), "RESET MASTER".into()] {
        c.query_drop(&s).await.map_err(BenchError::sql(format!("target reset: {s}")))?;
    }
    let mut a = connect(&sb.url("A")).await?;
    for s in [format!("DROP DATABASE IF EXISTS `{SCHEMA}`"), format!("DROP DATABASE IF EXISTS `{STATE_SCHEMA}`")] {
        a.query_drop(&s).await.map_err(BenchError::sql(format!("source reset: {s}")))?;
    }
    // Earlier workloads' schemas stay on the source but are not in the new binlog.
    a.query_drop("RESET MASTER").await.map_err(BenchError::sql("RESET MASTER on the source"))?;
    a.query_drop(format!("CREATE DATABASE `{SCHEMA}`")).await.map_err(BenchError::sql("lag schema"))?;
    a.query_drop(format!("CREATE TABLE `{SCHEMA}`.`marker` (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB")).await.map_err(BenchError::sql("marker table"))?;
    a.query_drop(format!("CREATE TABLE `{SCHEMA}`.`hb` (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, ts_us BIGINT NOT NULL) ENGINE=InnoDB"))
        .await
        .map_err(BenchError::sql("heartbeat table"))?;
    if sysbench {
        let sp = super::workload::SysbenchParams { test: "oltp_write_only".into(), table_size: p.rows_per_table, threads: lag.clients, events: 0 };
        let port = sb.port("A");
        tokio::task::spawn_blocking(move || sysbench_cmd(port, &sp, 4, &["prepare"]))
            .await
            .map_err(|e| BenchError::Other(format!("sysbench task: {e}")))?
            .map_err(BenchError::Other)?;
    } else {
        super::workload::run_oltp(&sb.url("A"), &p).await.map_err(BenchError::sql("preparing the lag tables"))?;
    }
    a.query_drop(format!("INSERT INTO `{SCHEMA}`.`marker` VALUES (1)")).await.map_err(BenchError::sql("marker 1"))?;

    // Start `parapply run`.
    let cfg_path = dir.join(format!("{}.toml", mode.name()));
    std::fs::write(&cfg_path, config_toml(sb, mode, lag.workers, 4_100_000 + index as u32)).map_err(|e| BenchError::Io(cfg_path.display().to_string(), e))?;
    let log_path = dir.join(format!("{}.log", mode.name()));
    let log = std::fs::File::create(&log_path).map_err(|e| BenchError::Io(log_path.display().to_string(), e))?;
    let log2 = log.try_clone().map_err(|e| BenchError::Io(log_path.display().to_string(), e))?;
    let mut child = std::process::Command::new(&opts.parapply_bin)
        .args(["run", "--config"])
        .arg(&cfg_path)
        .env("PARAPPLY_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| BenchError::Io(format!("starting {} run", opts.parapply_bin.display()), e))?;
    let pid = child.id() as i32;
    let result = drive(lag, sb, rate, sysbench, &p, &mut a, &mut c, &mut child, pid, r).await;
    // SIGTERM first so the child shuts down cleanly, then make sure it is gone.
    // SAFETY: kill on our own child's pid.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    result
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    lag: &LagOptions,
    sb: &BenchSandbox,
    rate: f64,
    sysbench: bool,
    p: &OltpParams,
    a: &mut mysql_async::Conn,
    c: &mut mysql_async::Conn,
    child: &mut std::process::Child,
    pid: i32,
    r: &mut LagModeResult,
) -> Result<(), BenchError> {
    // Caught up with the prepare before the clock starts.
    wait_marker(c, 1, Duration::from_secs(300), child).await?;
    let target_pid = sb.pid("C");
    let cpu0 = measure::cpu_seconds(pid);
    let tcpu0 = target_pid.and_then(measure::cpu_seconds);
    let commits0 = measure::global_status(a, "Com_commit").await.map_err(BenchError::sql("status"))?;
    let t0 = Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hb = tokio::spawn(heartbeat_writer(sb.url("A"), stop.clone()));

    // The load, on its own task(s).
    let load: tokio::task::JoinHandle<Result<(), String>> = if sysbench {
        let sp = super::workload::SysbenchParams { test: "oltp_write_only".into(), table_size: p.rows_per_table, threads: lag.clients, events: 0 };
        let (port, secs) = (sb.port("A"), lag.seconds);
        tokio::task::spawn_blocking(move || sysbench_cmd(port, &sp, 4, &[&format!("--time={secs}"), &format!("--rate={}", rate.round() as u64), "run"]))
    } else {
        let (url, p, secs, clients) = (sb.url("A"), p.clone(), lag.seconds, lag.clients.max(1));
        tokio::spawn(async move { rate_limited_load(&url, &p, rate, secs, clients).await.map_err(|e| e.to_string()) })
    };

    // Sample /lag until the load ends, then through the catch-up.
    let sample_every = Duration::from_millis(250);
    let load_end = Duration::from_secs(lag.seconds);
    while t0.elapsed() < load_end && !load.is_finished() {
        if let Some(l) = read_lag(c).await {
            r.samples.push(LagSample { t: t0.elapsed().as_secs_f64(), heartbeat_lag_seconds: l });
        }
        tokio::time::sleep(sample_every).await;
    }
    load.await.map_err(|e| BenchError::Other(format!("load task: {e}")))?.map_err(BenchError::Other)?;
    let load_seconds = t0.elapsed().as_secs_f64();
    let commits1 = measure::global_status(a, "Com_commit").await.map_err(BenchError::sql("status"))?;
    r.source_txns = commits1.saturating_sub(commits0);
    r.achieved_rate_tps = r.source_txns as f64 / load_seconds.max(1e-3);
    // No heartbeat after the marker: the checksums compared once the target holds marker 2
    // must cover everything the source wrote (heartbeats written during a serial mode's
    // 30 s catch-up made `hb` differ). Lag samples during the catch-up still read the newest
    // heartbeat the target has applied.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hb.await.map_err(|e| BenchError::Other(format!("heartbeat task: {e}")))?.map_err(BenchError::sql("heartbeat on the source"))?;
    a.query_drop(format!("INSERT INTO `{SCHEMA}`.`marker` VALUES (2)")).await.map_err(BenchError::sql("marker 2"))?;
    let t_stop = Instant::now();
    let mut c2 = connect(&sb.url("C")).await?;
    let (caught_up, extra) = {
        let mut extra = Vec::new();
        let wait = wait_marker(c, 2, Duration::from_secs(600), child);
        tokio::pin!(wait);
        // Keep sampling while the target catches up; the marker decides when it has.
        let res = loop {
            tokio::select! {
                res = &mut wait => break res,
                _ = tokio::time::sleep(sample_every) => {
                    if let Some(l) = read_lag(&mut c2).await {
                        extra.push(LagSample { t: t0.elapsed().as_secs_f64(), heartbeat_lag_seconds: l });
                    }
                }
            }
        };
        (res, extra)
    };
    caught_up?;
    r.catch_up_seconds = Some(t_stop.elapsed().as_secs_f64());
    r.samples.extend(extra);
    r.applier_cpu_seconds = match (cpu0, measure::cpu_seconds(pid)) {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    r.target_cpu_seconds = match (tcpu0, target_pid.and_then(measure::cpu_seconds)) {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    r.peak_rss_bytes = measure::peak_rss_bytes(pid);

    // Lag statistics over the load window.
    let mut window: Vec<&LagSample> = r.samples.iter().filter(|s| s.t <= load_seconds).collect();
    if window.is_empty() {
        return Err(BenchError::Other("no lag sample during the load (no heartbeat reached the target)".into()));
    }
    let n = window.len() as f64;
    r.mean_lag_seconds = Some(window.iter().map(|s| s.heartbeat_lag_seconds).sum::<f64>() / n);
    r.max_lag_seconds = window.iter().map(|s| s.heartbeat_lag_seconds).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    window.sort_by(|x, y| x.heartbeat_lag_seconds.total_cmp(&y.heartbeat_lag_seconds));
    let idx = ((window.len() as f64 * 0.95).ceil() as usize).clamp(1, window.len()) - 1;
    r.p95_lag_seconds = Some(window[idx].heartbeat_lag_seconds);

    // The gate: the target ends with the source's tables.
    let tables: Vec<String> = a
        .exec("SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", (SCHEMA,))
        .await
        .map_err(BenchError::sql("listing the lag tables"))?;
    let src = checksums(a, SCHEMA, &tables).await.map_err(BenchError::sql("CHECKSUM TABLE on the source"))?;
    let dst = checksums(c, SCHEMA, &tables).await.map_err(BenchError::sql("CHECKSUM TABLE on the target"))?;
    if src != dst {
        return Err(BenchError::Other(format!("checksums differ after the lag run: target {dst:?}, source {src:?}")));
    }
    Ok(())
}

/// sysbench against the source with the lag experiment's tables.
fn sysbench_cmd(port: u16, p: &super::workload::SysbenchParams, tables: u32, extra: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("sysbench")
        .arg(&p.test)
        .args(["--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-user=root", "--mysql-ignore-errors=1213,1205,1062"])
        .arg(format!("--mysql-port={port}"))
        .arg(format!("--mysql-db={SCHEMA}"))
        .arg(format!("--tables={tables}"))
        .arg(format!("--table-size={}", p.table_size))
        .arg(format!("--threads={}", p.threads.max(1)))
        .args(extra)
        .output()
        .map_err(|e| format!("running sysbench: {e}"))?;
    if !out.status.success() {
        return Err(format!("sysbench {extra:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// `clients` sessions together committing `rate` oltp_write_only transactions per second for
/// `secs` seconds (each session paced at rate/clients; a session that falls behind does not
/// burst to catch up, so the offered rate never exceeds the target).
async fn rate_limited_load(url: &str, p: &OltpParams, rate: f64, secs: u64, clients: u32) -> Result<(), mysql_async::Error> {
    let opts = mysql_async::Opts::from_url(url).map_err(mysql_async::Error::Url)?;
    let per = (rate / f64::from(clients)).max(0.1);
    let end = Instant::now() + Duration::from_secs(secs);
    let schema = format!("`{SCHEMA}`");
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (opts, p, schema) = (opts.clone(), p.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = mysql_async::Conn::new(opts).await?;
            let mut rng = rand::rngs::StdRng::seed_from_u64(1000 + u64::from(client));
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < end {
                tick.tick().await;
                let stmts = super::workload::oltp_txn(&mut rng, &p, &schema);
                super::workload::run_txn_retrying(&mut conn, &stmts).await?;
            }
            Ok::<(), mysql_async::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| mysql_async::Error::Other(Box::new(e)))??;
    }
    Ok(())
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "—".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:+.0}%", x * 100.0)).unwrap_or_else(|| "—".into())
}

/// The lag section of `results.md`.
pub fn markdown(s: &mut String, l: &LagReport) {
    let _ = writeln!(
        s,
        "## Steady-state lag\n\nSource load: {} at {:.0} txn/s ({}) for {} s from {} sessions; each mode applies live with `parapply run` at {} workers. \
         Lag = now − the newest of the harness's own heartbeat rows (written on the source every 100 ms) found on the target, sampled every 250 ms during the load. \
         Reduction = 1 − mean lag / serial's; CPU cost = parapply CPU / serial's − 1 (load start to caught up).\n",
        l.load, l.target_rate_tps, l.rate_basis, l.seconds, l.clients, l.workers
    );
    s.push_str("| mode | status | source txn/s | mean lag s | p95 lag s | max lag s | catch-up s | parapply CPU s | target CPU s | peak RSS MiB | lag vs serial | CPU vs serial |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for m in &l.modes {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.mode.name(),
            m.status,
            m.achieved_rate_tps,
            opt(m.mean_lag_seconds, 2),
            opt(m.p95_lag_seconds, 2),
            opt(m.max_lag_seconds, 2),
            opt(m.catch_up_seconds, 2),
            opt(m.applier_cpu_seconds, 2),
            opt(m.target_cpu_seconds, 2),
            m.peak_rss_bytes.map(|b| format!("{:.0}", b as f64 / 1048576.0)).unwrap_or_else(|| "—".into()),
            pct(m.lag_reduction_vs_serial.map(|v| -v)),
            pct(m.cpu_cost_vs_serial)
        );
    }
    for m in l.modes.iter().filter(|m| m.status != "ok") {
        let _ = writeln!(s, "\nFAILED lag {}: {}", m.mode.name(), m.error.as_deref().unwrap_or("?"));
    }
    s.push('\n');
}

/// Heartbeat lag over time, one line per mode.
pub fn plot(path: &Path, l: &LagReport) -> Result<(), BenchError> {
    let err = |e: &dyn std::fmt::Display| BenchError::Other(format!("plot {}: {e}", path.display()));
    let x_max = l.modes.iter().flat_map(|m| m.samples.iter().map(|s| s.t)).fold(1.0f64, f64::max);
    let y_max = l.modes.iter().flat_map(|m| m.samples.iter().map(|s| s.heartbeat_lag_seconds)).fold(0.1f64, f64::max) * 1.1;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("Heartbeat lag over time at {:.0} txn/s (load ends at {} s)", l.target_rate_tps, l.seconds), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc("seconds since load start").y_desc("heartbeat lag, s").draw().map_err(|e| err(&e))?;
    for (i, m) in l.modes.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = m.samples.iter().map(|s| (s.t, s.heartbeat_lag_seconds)).collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(format!("{} w={}", m.mode.name(), m.workers))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(m: Mode, lag: f64, cpu: f64) -> LagModeResult {
        LagModeResult {
            mode: m,
            workers: 4,
            status: "ok".into(),
            error: None,
            source_txns: 0,
            achieved_rate_tps: 0.0,
            samples: Vec::new(),
            mean_lag_seconds: Some(lag),
            p95_lag_seconds: None,
            max_lag_seconds: None,
            catch_up_seconds: None,
            applier_cpu_seconds: Some(cpu),
            target_cpu_seconds: None,
            peak_rss_bytes: None,
            lag_reduction_vs_serial: None,
            cpu_cost_vs_serial: None,
        }
    }

    #[test]
    fn reduction_and_cost_are_relative_to_serial() {
        let mut v = vec![mode(Mode::Serial, 10.0, 2.0), mode(Mode::Writeset, 2.5, 3.0)];
        compare_to_serial(&mut v);
        assert_eq!(v[0].lag_reduction_vs_serial, Some(0.0));
        assert_eq!(v[1].lag_reduction_vs_serial, Some(0.75));
        assert_eq!(v[1].cpu_cost_vs_serial, Some(0.5));
    }

    #[test]
    fn no_comparison_without_a_passing_serial_run() {
        let mut v = vec![mode(Mode::Writeset, 2.5, 3.0)];
        v[0].status = "ok".into();
        let mut s = mode(Mode::Serial, 10.0, 2.0);
        s.status = "FAILED".into();
        v.push(s);
        compare_to_serial(&mut v);
        assert_eq!(v[0].lag_reduction_vs_serial, None);
    }
}
