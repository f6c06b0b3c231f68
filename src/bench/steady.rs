//! The steady-state lag experiment: the source runs at a fixed transaction rate for T seconds
//! while one applier follows it live: `parapply run` (this binary, as a child process) in one
//! mode, or MariaDB's own replica (replica D) in one `slave_parallel_mode`. The harness writes
//! its own heartbeat row on the source every 100 ms (its wall clock in µs) and samples, every
//! 250 ms, the newest heartbeat the applier's server holds: lag = now − that heartbeat's time
//! (same host, same clock, so no skew; resolution 100 ms). Both kinds of applier are measured
//! by this same heartbeat.
//!
//! The rates are fractions of the native serial replica's capacity (its median txn/s on the
//! oltp backlog of the same run, or `--lag-capacity`): 0.5× and 0.8× (every applier should
//! keep up: does parallel apply still cut lag?) and 1.2× (serial cannot keep up). Per rate and
//! applier: mean, p99 and max heartbeat lag, the lag slope (least squares, seconds of lag
//! gained per second: > 0 means falling behind without bound), catch-up after the load, and
//! CPU of applier + target server — the seed design's "60–80% less lag for 30–50% more CPU"
//! claim, measured.
//!
//! Per run: the source is reset (`RESET MASTER`) and its tables prepared again, the target is
//! emptied, the applier starts from the source's first binlog and catches up with the
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
use super::{ArmSpec, BenchError, BenchOptions};
use crate::schedule::Mode;

/// Schema of the experiment's tables on the source.
const SCHEMA: &str = "lagbench";
/// parapply's state schema on the target, and its heartbeat table's schema on the source.
const STATE_SCHEMA: &str = "parapply";

/// What the experiment runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LagOptions {
    /// parapply modes (each at `workers`, the run's `--commit-group`).
    pub modes: Vec<Mode>,
    /// Also `writeset` at `--commit-group 1` (every source GTID kept).
    pub per_txn: bool,
    /// MariaDB replica arms (`slave_parallel_mode`, at `workers` threads; `none` is serial).
    pub mariadb_modes: Vec<String>,
    pub workers: usize,
    /// Load duration T.
    pub seconds: u64,
    /// Source rates as fractions of the native serial replica's capacity.
    pub factors: Vec<f64>,
    /// The capacity the factors multiply; None: measured (the `mariadb none` arm's median).
    pub capacity: Option<f64>,
    /// One absolute source rate instead of the factors (`--lag-rate`).
    pub rate: Option<f64>,
    /// Concurrent source sessions.
    pub clients: u32,
}

impl LagOptions {
    /// CI: serial, writeset and the native serial replica at 0.8× for 6 s.
    pub fn quick() -> LagOptions {
        LagOptions {
            modes: vec![Mode::Serial, Mode::Writeset],
            per_txn: false,
            mariadb_modes: vec!["none".into()],
            workers: 4,
            seconds: 6,
            factors: vec![0.8],
            capacity: None,
            rate: None,
            clients: 4,
        }
    }

    /// Issue 16 section 5: 0.5×, 0.8×, 1.2× native serial capacity; parapply serial,
    /// logical_clock, writeset (and writeset at `--commit-group 1`), native none and optimistic.
    pub fn full() -> LagOptions {
        LagOptions {
            modes: vec![Mode::Serial, Mode::LogicalClock, Mode::Writeset],
            per_txn: true,
            mariadb_modes: vec!["none".into(), "optimistic".into()],
            workers: 8,
            seconds: 60,
            factors: vec![0.5, 0.8, 1.2],
            capacity: None,
            rate: None,
            clients: 8,
        }
    }

    /// The appliers of each rate, in run order.
    pub fn arms(&self, commit_group: usize) -> Vec<ArmSpec> {
        let mut v: Vec<ArmSpec> = self.modes.iter().map(|&mode| ArmSpec::Parapply { mode, workers: self.workers, preserve_commit_order: true, commit_group: commit_group.max(1) }).collect();
        if self.per_txn && commit_group != 1 {
            v.push(ArmSpec::Parapply { mode: Mode::Writeset, workers: self.workers, preserve_commit_order: true, commit_group: 1 });
        }
        v.extend(self.mariadb_modes.iter().map(|m| ArmSpec::Mariadb { parallel_mode: m.clone(), threads: if m == "none" { 0 } else { self.workers } }));
        v
    }
}

/// One lag sample.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LagSample {
    /// Seconds since the load started.
    pub t: f64,
    pub heartbeat_lag_seconds: f64,
}

/// One applier at one rate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LagArmResult {
    pub name: String,
    pub spec: ArmSpec,
    /// "ok" or "FAILED" (error, or checksums differ after the run).
    pub status: String,
    pub error: Option<String>,
    /// Transactions the source committed during the load, and the rate that makes.
    pub source_txns: u64,
    pub achieved_rate_tps: f64,
    pub samples: Vec<LagSample>,
    /// Heartbeat lag over the load window: mean, 99th percentile (nearest rank) and max.
    pub mean_lag_seconds: Option<f64>,
    pub p99_lag_seconds: Option<f64>,
    pub max_lag_seconds: Option<f64>,
    /// Least-squares slope of lag over the load window: seconds of lag gained per second.
    pub lag_slope: Option<f64>,
    /// After the load stopped: until the target held the source's last write.
    pub catch_up_seconds: Option<f64>,
    /// CPU of the `parapply run` process (None for a MariaDB replica: it applies inside its
    /// server) and of the applier's target server, from load start to caught up.
    pub applier_cpu_seconds: Option<f64>,
    pub target_cpu_seconds: Option<f64>,
    pub total_cpu_seconds: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub target_peak_rss_bytes: Option<u64>,
    /// 1 − mean lag / parapply serial's mean lag at the same rate (0.7 = 70% less lag).
    pub lag_reduction_vs_serial: Option<f64>,
    /// Total CPU (applier + target) / parapply serial's − 1 (0.4 = 40% more CPU).
    pub cpu_cost_vs_serial: Option<f64>,
    /// The same two against the native serial replica (`mariadb none`).
    pub lag_reduction_vs_native_serial: Option<f64>,
    pub cpu_cost_vs_native_serial: Option<f64>,
}

impl LagArmResult {
    fn new(spec: ArmSpec) -> LagArmResult {
        LagArmResult {
            name: spec.name(),
            spec,
            status: String::new(),
            error: None,
            source_txns: 0,
            achieved_rate_tps: 0.0,
            samples: Vec::new(),
            mean_lag_seconds: None,
            p99_lag_seconds: None,
            max_lag_seconds: None,
            lag_slope: None,
            catch_up_seconds: None,
            applier_cpu_seconds: None,
            target_cpu_seconds: None,
            total_cpu_seconds: None,
            peak_rss_bytes: None,
            target_peak_rss_bytes: None,
            lag_reduction_vs_serial: None,
            cpu_cost_vs_serial: None,
            lag_reduction_vs_native_serial: None,
            cpu_cost_vs_native_serial: None,
        }
    }
    fn is_parapply_serial(&self) -> bool {
        matches!(self.spec, ArmSpec::Parapply { mode: Mode::Serial, .. })
    }
    fn is_native_serial(&self) -> bool {
        matches!(&self.spec, ArmSpec::Mariadb { parallel_mode, .. } if parallel_mode == "none")
    }
}

/// Every applier at one source rate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LagRateResult {
    /// The fraction of the capacity (None: an absolute `--lag-rate`).
    pub factor: Option<f64>,
    pub target_rate_tps: f64,
    pub arms: Vec<LagArmResult>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LagReport {
    /// The native serial replica's capacity the factors multiply, and where it came from.
    pub capacity_tps: Option<f64>,
    pub capacity_basis: String,
    /// "sysbench oltp_write_only --rate" or "built-in rate-limited oltp clients".
    pub load: String,
    pub seconds: u64,
    pub clients: u32,
    pub workers: usize,
    pub rates: Vec<LagRateResult>,
}

impl LagReport {
    pub fn all_arms(&self) -> impl Iterator<Item = &LagArmResult> {
        self.rates.iter().flat_map(|r| r.arms.iter())
    }
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

/// The source rates to run: `(factor, txn/s)`.
fn rates(lag: &LagOptions, capacity: Option<f64>) -> Vec<(Option<f64>, f64)> {
    match (lag.rate, capacity) {
        (Some(r), _) => vec![(None, r)],
        (None, Some(c)) => lag.factors.iter().map(|f| (Some(*f), (c * f).clamp(5.0, 50_000.0).round())).collect(),
        (None, None) => lag.factors.iter().map(|f| (Some(*f), (300.0 * f).round())).collect(),
    }
}

/// Run the experiment for every rate and applier. An applier that fails is reported FAILED;
/// the experiment as a whole fails only when the sandbox itself does. `measured`: the native
/// serial replica's median txn/s in this run and the workload it was measured on.
pub fn run(opts: &BenchOptions, lag: &LagOptions, sb: &BenchSandbox, measured: Option<(f64, String)>) -> Result<LagReport, BenchError> {
    let (capacity, basis) = match (lag.rate, lag.capacity, measured) {
        (Some(r), _, _) => (None, format!("--lag-rate {r}")),
        (None, Some(c), _) => (Some(c), "--lag-capacity".to_string()),
        (None, None, Some((t, w))) => (Some(t), format!("native serial replica (mariadb none), median on the `{w}` backlog of this run")),
        (None, None, None) => (None, "no native serial measurement in this run: factors of 300 txn/s".to_string()),
    };
    let sysbench = sysbench_installed();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Other(format!("tokio runtime: {e}")))?;
    let dir = opts.out.join("lag");
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::Io(dir.display().to_string(), e))?;
    let mut out = Vec::new();
    let specs = lag.arms(opts.commit_group);
    for (factor, rate) in rates(lag, capacity) {
        let mut arms = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            eprintln!("bench: lag experiment: {} at {rate:.0} txn/s for {} s", spec.name(), lag.seconds);
            let mut r = LagArmResult::new(spec.clone());
            if let Err(e) = rt.block_on(run_arm(opts, lag, sb, spec, i, rate, sysbench, &dir, &mut r)) {
                r.error = Some(e.to_string());
            }
            r.status = if r.error.is_none() { "ok".into() } else { "FAILED".into() };
            if r.status != "ok" {
                r.mean_lag_seconds = None;
                r.p99_lag_seconds = None;
                r.lag_slope = None;
                r.catch_up_seconds = None;
            }
            eprintln!(
                "bench: lag {} at {rate:.0} txn/s: {} mean lag {:?} s, slope {:?}, catch-up {:?} s, cpu {:?} s",
                spec.name(),
                r.status,
                r.mean_lag_seconds.map(|v| (v * 100.0).round() / 100.0),
                r.lag_slope.map(|v| (v * 1000.0).round() / 1000.0),
                r.catch_up_seconds.map(|v| (v * 100.0).round() / 100.0),
                r.total_cpu_seconds.map(|v| (v * 100.0).round() / 100.0)
            );
            arms.push(r);
        }
        compare(&mut arms);
        out.push(LagRateResult { factor, target_rate_tps: rate, arms });
    }
    Ok(LagReport {
        capacity_tps: capacity,
        capacity_basis: basis,
        load: if sysbench { "sysbench oltp_write_only --rate".into() } else { "built-in rate-limited oltp clients".into() },
        seconds: lag.seconds,
        clients: lag.clients,
        workers: lag.workers,
        rates: out,
    })
}

/// Lag reduction and CPU cost of every passing applier relative to the passing parapply serial
/// run and the passing native serial run at the same rate.
fn compare(arms: &mut [LagArmResult]) {
    let base = |pick: fn(&LagArmResult) -> bool, arms: &[LagArmResult]| arms.iter().find(|a| pick(a) && a.status == "ok").map(|a| (a.mean_lag_seconds, a.total_cpu_seconds));
    let serial = base(LagArmResult::is_parapply_serial, arms);
    let native = base(LagArmResult::is_native_serial, arms);
    let rel = |x: Option<f64>, b: Option<f64>| match (x, b) {
        (Some(x), Some(b)) if b > 0.0 => Some(x / b),
        _ => None,
    };
    for a in arms.iter_mut().filter(|a| a.status == "ok") {
        if let Some((lag, cpu)) = serial {
            a.lag_reduction_vs_serial = rel(a.mean_lag_seconds, lag).map(|r| 1.0 - r);
            a.cpu_cost_vs_serial = rel(a.total_cpu_seconds, cpu).map(|r| r - 1.0);
        }
        if let Some((lag, cpu)) = native {
            a.lag_reduction_vs_native_serial = rel(a.mean_lag_seconds, lag).map(|r| 1.0 - r);
            a.cpu_cost_vs_native_serial = rel(a.total_cpu_seconds, cpu).map(|r| r - 1.0);
        }
    }
}

/// Least-squares slope of `y` over `x`; None with fewer than two distinct `x`.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of `values`.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let idx = ((v.len() as f64 * p / 100.0).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[idx])
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

/// The `parapply run` configuration of one arm (no HTTP endpoint and no heartbeat writes of
/// its own: the harness measures lag with its own heartbeat, and the source's load stays the
/// workload's).
fn config_toml(sb: &BenchSandbox, spec: &ArmSpec, server_id: u32) -> String {
    let ArmSpec::Parapply { mode, workers, preserve_commit_order, commit_group } = spec else { return String::new() };
    format!(
        "[source]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\nserver_id = {server_id}\nheartbeat_period_ms = 500\n\n\
         [target]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
         [apply]\nmode = \"{}\"\nworkers = {workers}\npreserve_commit_order = {preserve_commit_order}\ncommit_group_max_txns = {commit_group}\nstate_schema = \"{STATE_SCHEMA}\"\nwindow = {}\n\n\
         [http]\nenabled = false\n\n\
         [lag]\nheartbeat_mode = \"read\"\n",
        sb.port("A"),
        sb.port("C"),
        mode.name(),
        1024.max(*workers)
    )
}

/// What applies the source live: a `parapply run` child, or replica D's SQL thread(s).
enum Applier {
    Parapply(std::process::Child),
    Replica,
}

impl Applier {
    /// An error when the applier stopped on its own (parapply exited, or the replica's SQL or IO
    /// thread reports an error).
    async fn check(&mut self, c: &mut mysql_async::Conn) -> Result<(), BenchError> {
        match self {
            Applier::Parapply(child) => match child.try_wait() {
                Ok(Some(status)) => Err(BenchError::Other(format!("parapply run exited early ({status}); see its log under lag/"))),
                _ => Ok(()),
            },
            Applier::Replica => {
                let row: Option<mysql_async::Row> = c.query_first("SHOW SLAVE STATUS").await.map_err(BenchError::sql("SHOW SLAVE STATUS"))?;
                let err = |k: &str| row.as_ref().and_then(|r| r.get_opt::<String, _>(k)).and_then(Result::ok).unwrap_or_default();
                match (err("Last_SQL_Error"), err("Last_IO_Error")) {
                    (s, _) if !s.is_empty() => Err(BenchError::Other(format!("replica SQL thread: {s}"))),
                    (_, i) if !i.is_empty() => Err(BenchError::Other(format!("replica IO thread: {i}"))),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Wait until the target holds marker row `id` (the source wrote it after everything before).
async fn wait_marker(c: &mut mysql_async::Conn, id: u32, limit: Duration, applier: &mut Applier) -> Result<f64, BenchError> {
    let t0 = Instant::now();
    let mut polls = 0u32;
    loop {
        let found: Result<Option<u32>, _> = c.query_first(format!("SELECT id FROM `{SCHEMA}`.`marker` WHERE id = {id}")).await;
        if let Ok(Some(_)) = found {
            return Ok(t0.elapsed().as_secs_f64());
        }
        polls += 1;
        if polls.is_multiple_of(10) {
            applier.check(c).await?;
        }
        if t0.elapsed() > limit {
            return Err(BenchError::Other(format!("target did not reach marker {id} within {} s", limit.as_secs())));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_arm(opts: &BenchOptions, lag: &LagOptions, sb: &BenchSandbox, spec: &ArmSpec, index: usize, rate: f64, sysbench: bool, dir: &Path, r: &mut LagArmResult) -> Result<(), BenchError> {
    let p = oltp_params();
    let target = if spec.is_mariadb() { "D" } else { "C" };
    // Reset both sides: the source's binlog then starts with this run's prepare.
    let mut c = connect(&sb.url(target)).await?;
    if let ArmSpec::Mariadb { parallel_mode, threads } = spec {
        for s in [
            "STOP SLAVE".to_string(),
            "RESET SLAVE ALL".into(),
            format!("DROP DATABASE IF EXISTS `{SCHEMA}`"),
            "RESET MASTER".into(),
            "SET GLOBAL gtid_slave_pos=''".into(),
            format!("SET GLOBAL slave_parallel_threads={threads}"),
            format!("SET GLOBAL slave_parallel_mode='{parallel_mode}'"),
        ] {
            c.query_drop(&s).await.map_err(BenchError::sql(format!("replica reset: {s}")))?;
        }
    } else {
        for s in [format!("DROP DATABASE IF EXISTS `{SCHEMA}`"), format!("DROP DATABASE IF EXISTS `{STATE_SCHEMA}`"), "RESET MASTER".into()] {
            c.query_drop(&s).await.map_err(BenchError::sql(format!("target reset: {s}")))?;
        }
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

    // Start the applier.
    let mut applier = match spec {
        ArmSpec::Mariadb { .. } => {
            let change = format!("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos", sb.port("A"));
            c.query_drop(change).await.map_err(BenchError::sql("replica CHANGE MASTER"))?;
            c.query_drop("START SLAVE").await.map_err(BenchError::sql("START SLAVE"))?;
            Applier::Replica
        }
        ArmSpec::Parapply { .. } => {
            let tag = spec.name().replace(' ', "_").replace('=', "");
            let cfg_path = dir.join(format!("{tag}.toml"));
            std::fs::write(&cfg_path, config_toml(sb, spec, 4_100_000 + index as u32)).map_err(|e| BenchError::Io(cfg_path.display().to_string(), e))?;
            let log_path = dir.join(format!("{tag}.log"));
            let log = std::fs::File::create(&log_path).map_err(|e| BenchError::Io(log_path.display().to_string(), e))?;
            let log2 = log.try_clone().map_err(|e| BenchError::Io(log_path.display().to_string(), e))?;
            let child = std::process::Command::new(&opts.parapply_bin)
                .args(["run", "--config"])
                .arg(&cfg_path)
                .env("PARAPPLY_LOG", "warn")
                .stdin(std::process::Stdio::null())
                .stdout(log)
                .stderr(log2)
                .spawn()
                .map_err(|e| BenchError::Io(format!("starting {} run", opts.parapply_bin.display()), e))?;
            Applier::Parapply(child)
        }
    };
    let result = drive(lag, sb, target, rate, sysbench, &p, &mut a, &mut c, &mut applier, r).await;
    match applier {
        Applier::Parapply(mut child) => {
            let pid = child.id() as i32;
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
        }
        Applier::Replica => {
            let _ = c.query_drop("STOP SLAVE").await;
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    lag: &LagOptions,
    sb: &BenchSandbox,
    target: &str,
    rate: f64,
    sysbench: bool,
    p: &OltpParams,
    a: &mut mysql_async::Conn,
    c: &mut mysql_async::Conn,
    applier: &mut Applier,
    r: &mut LagArmResult,
) -> Result<(), BenchError> {
    // Caught up with the prepare before the clock starts.
    wait_marker(c, 1, Duration::from_secs(600), applier).await?;
    let pid = match applier {
        Applier::Parapply(child) => Some(child.id() as i32),
        Applier::Replica => None,
    };
    let target_pid = sb.pid(target);
    if let Some(tp) = target_pid {
        measure::reset_peak_rss(tp);
    }
    let cpu0 = pid.and_then(measure::cpu_seconds);
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

    // Sample the lag until the load ends, then through the catch-up.
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
    let mut c2 = connect(&sb.url(target)).await?;
    let (caught_up, extra) = {
        let mut extra = Vec::new();
        let wait = wait_marker(c, 2, Duration::from_secs(1800), applier);
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
    r.applier_cpu_seconds = match (cpu0, pid.and_then(measure::cpu_seconds)) {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    r.target_cpu_seconds = match (tcpu0, target_pid.and_then(measure::cpu_seconds)) {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    if r.applier_cpu_seconds.is_some() || r.target_cpu_seconds.is_some() {
        r.total_cpu_seconds = Some(r.applier_cpu_seconds.unwrap_or(0.0) + r.target_cpu_seconds.unwrap_or(0.0));
    }
    r.peak_rss_bytes = pid.and_then(measure::peak_rss_bytes);
    r.target_peak_rss_bytes = target_pid.and_then(measure::peak_rss_bytes);

    // Lag statistics over the load window.
    let window: Vec<(f64, f64)> = r.samples.iter().filter(|s| s.t <= load_seconds).map(|s| (s.t, s.heartbeat_lag_seconds)).collect();
    if window.is_empty() {
        return Err(BenchError::Other("no lag sample during the load (no heartbeat reached the target)".into()));
    }
    let lags: Vec<f64> = window.iter().map(|w| w.1).collect();
    r.mean_lag_seconds = Some(lags.iter().sum::<f64>() / lags.len() as f64);
    r.max_lag_seconds = lags.iter().copied().fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    r.p99_lag_seconds = percentile(&lags, 99.0);
    r.lag_slope = slope(&window);

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
    // Rounded first, + 0.0 turns a negative zero into 0: "+0%", never "-0%".
    v.map(|x| format!("{:+.0}%", (x * 100.0).round() + 0.0)).unwrap_or_else(|| "—".into())
}

/// The lag section of `results.md`: one table per source rate.
pub fn markdown(s: &mut String, l: &LagReport) {
    let cap = l.capacity_tps.map(|c| format!("{c:.0} txn/s ({})", l.capacity_basis)).unwrap_or_else(|| l.capacity_basis.clone());
    let _ = writeln!(
        s,
        "## Steady-state lag\n\nSource load: {} for {} s from {} sessions, at fractions of the native serial replica's capacity: {cap}. \
         Each applier follows the source live (`parapply run` at {} workers, or MariaDB's replica). \
         Lag = now − the newest of the harness's own heartbeat rows (written on the source every 100 ms) found on the applier's target, sampled every 250 ms during the load, \
         the same for parapply and the native replica. Slope = least-squares lag gained per second over the load (> 0: falling behind). \
         CPU = applier + target server, load start to caught up. Reduction = 1 − mean lag / the serial arm's; CPU cost = total CPU / the serial arm's − 1, at the same rate.\n",
        l.load, l.seconds, l.clients, l.workers
    );
    for rate in &l.rates {
        let factor = rate.factor.map(|f| format!("{f}× capacity, ")).unwrap_or_default();
        let _ = writeln!(s, "### {factor}{:.0} txn/s\n", rate.target_rate_tps);
        s.push_str("| applier | status | source txn/s | mean lag s | p99 lag s | max lag s | slope s/s | catch-up s | parapply CPU s | server CPU s | total CPU s | parapply RSS MiB | server RSS MiB | lag vs parapply serial | CPU vs parapply serial | lag vs native serial | CPU vs native serial |\n");
        s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for m in &rate.arms {
            let _ = writeln!(
                s,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                m.name,
                m.status,
                m.achieved_rate_tps,
                opt(m.mean_lag_seconds, 2),
                opt(m.p99_lag_seconds, 2),
                opt(m.max_lag_seconds, 2),
                opt(m.lag_slope, 3),
                opt(m.catch_up_seconds, 2),
                opt(m.applier_cpu_seconds, 2),
                opt(m.target_cpu_seconds, 2),
                opt(m.total_cpu_seconds, 2),
                mib(m.peak_rss_bytes),
                mib(m.target_peak_rss_bytes),
                pct(m.lag_reduction_vs_serial.map(|v| -v)),
                pct(m.cpu_cost_vs_serial),
                pct(m.lag_reduction_vs_native_serial.map(|v| -v)),
                pct(m.cpu_cost_vs_native_serial)
            );
        }
        for m in rate.arms.iter().filter(|m| m.status != "ok") {
            let _ = writeln!(s, "\nFAILED lag {} at {:.0} txn/s: {}", m.name, rate.target_rate_tps, m.error.as_deref().unwrap_or("?"));
        }
        s.push('\n');
    }
}

fn mib(v: Option<u64>) -> String {
    v.map(|b| format!("{:.0}", b as f64 / 1048576.0)).unwrap_or_else(|| "—".into())
}

/// Heartbeat lag over time, one line per applier: `lag_over_time_<factor>x.svg` per rate, and
/// `path` for the last (highest) rate.
pub fn plot(path: &Path, l: &LagReport) -> Result<(), BenchError> {
    for (i, rate) in l.rates.iter().enumerate() {
        if let Some(f) = rate.factor {
            let p = path.with_file_name(format!("lag_over_time_{f}x.svg"));
            plot_rate(&p, l, rate)?;
        }
        if i + 1 == l.rates.len() {
            plot_rate(path, l, rate)?;
        }
    }
    Ok(())
}

fn plot_rate(path: &Path, l: &LagReport, rate: &LagRateResult) -> Result<(), BenchError> {
    let err = |e: &dyn std::fmt::Display| BenchError::Other(format!("plot {}: {e}", path.display()));
    let x_max = rate.arms.iter().flat_map(|m| m.samples.iter().map(|s| s.t)).fold(1.0f64, f64::max);
    let y_max = rate.arms.iter().flat_map(|m| m.samples.iter().map(|s| s.heartbeat_lag_seconds)).fold(0.1f64, f64::max) * 1.1;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let factor = rate.factor.map(|f| format!("{f}× native serial capacity, ")).unwrap_or_default();
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("Heartbeat lag over time at {factor}{:.0} txn/s (load ends at {} s)", rate.target_rate_tps, l.seconds), ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc("seconds since load start").y_desc("heartbeat lag, s").draw().map_err(|e| err(&e))?;
    for (i, m) in rate.arms.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = m.samples.iter().map(|s| (s.t, s.heartbeat_lag_seconds)).collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(m.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(spec: ArmSpec, lag: f64, cpu: f64) -> LagArmResult {
        let mut a = LagArmResult::new(spec);
        a.status = "ok".into();
        a.mean_lag_seconds = Some(lag);
        a.total_cpu_seconds = Some(cpu);
        a
    }
    fn pp(mode: Mode) -> ArmSpec {
        ArmSpec::Parapply { mode, workers: 4, preserve_commit_order: true, commit_group: 128 }
    }
    fn native(m: &str) -> ArmSpec {
        ArmSpec::Mariadb { parallel_mode: m.into(), threads: 0 }
    }

    #[test]
    fn reduction_and_cost_are_relative_to_both_serial_arms() {
        let mut v = vec![arm(pp(Mode::Serial), 10.0, 2.0), arm(pp(Mode::Writeset), 2.5, 3.0), arm(native("none"), 5.0, 4.0)];
        compare(&mut v);
        assert_eq!(v[0].lag_reduction_vs_serial, Some(0.0));
        assert_eq!(v[1].lag_reduction_vs_serial, Some(0.75));
        assert_eq!(v[1].cpu_cost_vs_serial, Some(0.5));
        assert_eq!(v[1].lag_reduction_vs_native_serial, Some(0.5));
        assert_eq!(v[1].cpu_cost_vs_native_serial, Some(-0.25));
        assert_eq!(v[2].lag_reduction_vs_native_serial, Some(0.0));
        assert_eq!(v[2].lag_reduction_vs_serial, Some(0.5));
    }

    #[test]
    fn no_comparison_without_a_passing_serial_run() {
        let mut v = vec![arm(pp(Mode::Writeset), 2.5, 3.0), arm(pp(Mode::Serial), 10.0, 2.0)];
        v[1].status = "FAILED".into();
        compare(&mut v);
        assert_eq!(v[0].lag_reduction_vs_serial, None);
        assert_eq!(v[0].lag_reduction_vs_native_serial, None);
    }

    #[test]
    fn slope_is_the_least_squares_fit() {
        // y = 0.5 t + 1 exactly, then with symmetric noise that leaves the fit unchanged.
        let exact: Vec<(f64, f64)> = (0..10).map(|t| (t as f64, 0.5 * t as f64 + 1.0)).collect();
        assert_eq!(slope(&exact), Some(0.5));
        assert_eq!(slope(&[(0.0, 1.0), (1.0, 0.0), (2.0, 3.0), (3.0, 2.0)]), Some(0.6));
        // A flat lag has slope 0; a single point or one x has none.
        assert_eq!(slope(&[(0.0, 0.2), (1.0, 0.2), (2.0, 0.2)]), Some(0.0));
        assert_eq!(slope(&[(1.0, 3.0)]), None);
        assert_eq!(slope(&[(1.0, 3.0), (1.0, 4.0)]), None);
    }

    #[test]
    fn p99_is_the_nearest_rank() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&v, 99.0), Some(198.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 99.0), Some(3.0));
        assert_eq!(percentile(&[], 99.0), None);
    }

    #[test]
    fn rates_are_fractions_of_the_capacity_unless_a_rate_is_given() {
        let mut o = LagOptions::full();
        assert_eq!(rates(&o, Some(1000.0)), vec![(Some(0.5), 500.0), (Some(0.8), 800.0), (Some(1.2), 1200.0)]);
        o.rate = Some(250.0);
        assert_eq!(rates(&o, Some(1000.0)), vec![(None, 250.0)]);
    }

    #[test]
    fn full_lag_arms_cover_parapply_and_the_native_replica() {
        let names: Vec<String> = LagOptions::full().arms(128).iter().map(ArmSpec::name).collect();
        assert_eq!(
            names,
            [
                "parapply serial w=8 cg=128",
                "parapply logical_clock w=8 cg=128",
                "parapply writeset w=8 cg=128",
                "parapply writeset w=8 cg=1",
                "mariadb none t=0",
                "mariadb optimistic t=8"
            ]
        );
    }
}
