//! The bench report: per-arm results, `results.md`, `results.json` and SVG plots (plotters).
//!
//! Owns formatting only; numbers come from [`super::arms`]. A FAILED arm (error or checksum
//! mismatch) keeps its counters but its time and rates are not reported.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use super::steady::LagReport;
use super::{ArmSpec, BenchError};

/// One repetition of one arm.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArmResult {
    pub name: String,
    pub spec: ArmSpec,
    pub series: String,
    pub workers: usize,
    /// The round (0-based) this repetition ran in.
    pub round: usize,
    /// "ok" or "FAILED".
    pub status: String,
    pub checksum_ok: bool,
    pub error: Option<String>,
    pub txns: u64,
    pub rows: u64,
    /// Catch-up time; None when FAILED.
    pub seconds: Option<f64>,
    pub txns_per_second: Option<f64>,
    pub rows_per_second: Option<f64>,
    /// CPU of the parapply process (None for MariaDB arms: their applier is the server).
    pub applier_cpu_seconds: Option<f64>,
    /// CPU of the target mariadbd over the arm (for MariaDB arms: the replica, which applies).
    pub target_cpu_seconds: Option<f64>,
    /// Applier + target CPU.
    pub total_cpu_seconds: Option<f64>,
    /// (applier + target CPU) per transaction, in milliseconds.
    pub cpu_ms_per_txn: Option<f64>,
    /// Peak RSS of the parapply process (None for MariaDB arms).
    pub peak_rss_bytes: Option<u64>,
    /// Peak RSS (`VmHWM`, reset at the arm's start) of the target mariadbd.
    pub target_peak_rss_bytes: Option<u64>,
    /// Applier + target peak RSS.
    pub total_peak_rss_bytes: Option<u64>,
    pub retries: u64,
    pub deadlocks: u64,
    /// Δ `Com_commit` of the target server over the arm: transactions it committed by a COMMIT
    /// statement or a replicated transaction's XID (DDL commits implicitly, not counted here).
    pub target_commits: Option<u64>,
    /// GTID events the arm added to the target's binlog (every logged transaction, DDL too).
    pub target_gtids: Option<u64>,
    /// Of those, the ones carrying another server's id: source transactions logged under their
    /// source GTID (one per parapply commit group; the rest are parapply's checkpoint-only
    /// transactions in the target's own domain).
    pub target_source_gtids: Option<u64>,
    /// parapply's own count of the target commits it made (its `--json` summary).
    pub applier_reported_commits: Option<u64>,
    /// Barriers by reason from the scheduler's rules on this backlog (parapply arms).
    pub barriers: BTreeMap<String, u64>,
}

impl ArmResult {
    pub fn new(spec: ArmSpec, round: usize, txns: u64, rows: u64) -> ArmResult {
        ArmResult {
            name: spec.name(),
            series: spec.series(),
            workers: spec.workers(),
            spec,
            round,
            status: String::new(),
            checksum_ok: false,
            error: None,
            txns,
            rows,
            seconds: None,
            txns_per_second: None,
            rows_per_second: None,
            applier_cpu_seconds: None,
            target_cpu_seconds: None,
            total_cpu_seconds: None,
            cpu_ms_per_txn: None,
            peak_rss_bytes: None,
            target_peak_rss_bytes: None,
            total_peak_rss_bytes: None,
            retries: 0,
            deadlocks: 0,
            target_commits: None,
            target_gtids: None,
            target_source_gtids: None,
            applier_reported_commits: None,
            barriers: BTreeMap::new(),
        }
    }

    /// Derive rates and sums; drop the time of a failed arm.
    pub fn finalize(&mut self) {
        if self.applier_cpu_seconds.is_some() || self.target_cpu_seconds.is_some() {
            self.total_cpu_seconds = Some(self.applier_cpu_seconds.unwrap_or(0.0) + self.target_cpu_seconds.unwrap_or(0.0));
        }
        if self.peak_rss_bytes.is_some() || self.target_peak_rss_bytes.is_some() {
            self.total_peak_rss_bytes = Some(self.peak_rss_bytes.unwrap_or(0) + self.target_peak_rss_bytes.unwrap_or(0));
        }
        if !self.checksum_ok {
            self.status = "FAILED".into();
            self.seconds = None;
            self.txns_per_second = None;
            self.rows_per_second = None;
            self.cpu_ms_per_txn = None;
            return;
        }
        self.status = "ok".into();
        if let Some(s) = self.seconds.filter(|s| *s > 0.0) {
            self.txns_per_second = Some(self.txns as f64 / s);
            self.rows_per_second = Some(self.rows as f64 / s);
        }
        if let (Some(cpu), true) = (self.total_cpu_seconds, self.txns > 0) {
            self.cpu_ms_per_txn = Some(cpu * 1000.0 / self.txns as f64);
        }
    }

    pub fn summary_line(&self) -> String {
        match (self.status.as_str(), self.seconds, self.txns_per_second) {
            ("ok", Some(s), Some(r)) => format!(
                "ok, {} txns in {s:.2} s ({r:.0} txn/s), {} target commits, {} target GTIDs",
                self.txns,
                self.target_commits.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                self.target_gtids.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
            ),
            _ => format!("FAILED: {}", self.error.as_deref().unwrap_or("checksum mismatch")),
        }
    }
}

/// Median, min and max of a sample.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// None for an empty sample; the median of an even count is the mean of the middle two.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Spread { median, min: v[0], max: v[n - 1] })
    }
}

/// The median of counters (rounded down for an even count); None when none was measured.
fn median_u64(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    let v: Vec<f64> = values.flatten().map(|x| x as f64).collect();
    Spread::of(&v).map(|s| s.median.floor() as u64)
}

/// One arm over its repetitions: medians with min and max. FAILED when any repetition failed
/// (an error or a checksum mismatch): its time and rates are then not reported at all.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArmSummary {
    pub name: String,
    pub spec: ArmSpec,
    pub series: String,
    pub workers: usize,
    pub status: String,
    pub checksum_ok: bool,
    /// The first failing repetition's error, with its round.
    pub error: Option<String>,
    pub repetitions: usize,
    pub txns: u64,
    pub rows: u64,
    /// Medians over the repetitions, with min and max where the spread matters.
    pub seconds: Option<f64>,
    pub seconds_min: Option<f64>,
    pub seconds_max: Option<f64>,
    pub txns_per_second: Option<f64>,
    pub txns_per_second_min: Option<f64>,
    pub txns_per_second_max: Option<f64>,
    pub rows_per_second: Option<f64>,
    pub applier_cpu_seconds: Option<f64>,
    pub target_cpu_seconds: Option<f64>,
    pub total_cpu_seconds: Option<f64>,
    pub cpu_ms_per_txn: Option<f64>,
    pub cpu_ms_per_txn_min: Option<f64>,
    pub cpu_ms_per_txn_max: Option<f64>,
    /// Peak RSS: the largest over the repetitions.
    pub peak_rss_bytes: Option<u64>,
    pub target_peak_rss_bytes: Option<u64>,
    pub total_peak_rss_bytes: Option<u64>,
    pub retries: Option<u64>,
    pub deadlocks: Option<u64>,
    pub target_commits: Option<u64>,
    pub target_gtids: Option<u64>,
    pub target_source_gtids: Option<u64>,
    pub applier_reported_commits: Option<u64>,
    pub barriers: BTreeMap<String, u64>,
    /// Every repetition, in round order.
    pub runs: Vec<ArmResult>,
}

impl ArmSummary {
    pub fn from_runs(spec: ArmSpec, runs: Vec<ArmResult>) -> ArmSummary {
        let ok = !runs.is_empty() && runs.iter().all(|r| r.checksum_ok);
        let f = |get: fn(&ArmResult) -> Option<f64>| if ok { Spread::of(&runs.iter().filter_map(get).collect::<Vec<_>>()) } else { None };
        let secs = f(|r| r.seconds);
        let tps = f(|r| r.txns_per_second);
        let cpu_txn = f(|r| r.cpu_ms_per_txn);
        let any = |get: fn(&ArmResult) -> Option<f64>| Spread::of(&runs.iter().filter_map(get).collect::<Vec<_>>()).map(|s| s.median);
        let max_u = |get: fn(&ArmResult) -> Option<u64>| runs.iter().filter_map(get).max();
        ArmSummary {
            name: spec.name(),
            series: spec.series(),
            workers: spec.workers(),
            status: if ok { "ok".into() } else { "FAILED".into() },
            checksum_ok: ok,
            error: runs.iter().find(|r| !r.checksum_ok).map(|r| format!("round {}: {}", r.round + 1, r.error.as_deref().unwrap_or("checksum mismatch"))),
            repetitions: runs.len(),
            txns: runs.first().map(|r| r.txns).unwrap_or(0),
            rows: runs.first().map(|r| r.rows).unwrap_or(0),
            seconds: secs.map(|s| s.median),
            seconds_min: secs.map(|s| s.min),
            seconds_max: secs.map(|s| s.max),
            txns_per_second: tps.map(|s| s.median),
            txns_per_second_min: tps.map(|s| s.min),
            txns_per_second_max: tps.map(|s| s.max),
            rows_per_second: f(|r| r.rows_per_second).map(|s| s.median),
            applier_cpu_seconds: any(|r| r.applier_cpu_seconds),
            target_cpu_seconds: any(|r| r.target_cpu_seconds),
            total_cpu_seconds: any(|r| r.total_cpu_seconds),
            cpu_ms_per_txn: cpu_txn.map(|s| s.median),
            cpu_ms_per_txn_min: cpu_txn.map(|s| s.min),
            cpu_ms_per_txn_max: cpu_txn.map(|s| s.max),
            peak_rss_bytes: max_u(|r| r.peak_rss_bytes),
            target_peak_rss_bytes: max_u(|r| r.target_peak_rss_bytes),
            total_peak_rss_bytes: max_u(|r| r.total_peak_rss_bytes),
            retries: median_u64(runs.iter().map(|r| Some(r.retries))),
            deadlocks: median_u64(runs.iter().map(|r| Some(r.deadlocks))),
            target_commits: median_u64(runs.iter().map(|r| r.target_commits)),
            target_gtids: median_u64(runs.iter().map(|r| r.target_gtids)),
            target_source_gtids: median_u64(runs.iter().map(|r| r.target_source_gtids)),
            applier_reported_commits: median_u64(runs.iter().map(|r| r.applier_reported_commits)),
            barriers: runs.first().map(|r| r.barriers.clone()).unwrap_or_default(),
            spec,
            runs,
        }
    }
}

/// What one server instance of the run was set to, read back from it (not assumed from the
/// arguments).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServerSettings {
    /// A (source), C (parapply's target), D (MariaDB replica).
    pub instance: String,
    pub role: String,
    pub version: String,
    pub server_id: u32,
    pub sync_binlog: u32,
    pub innodb_flush_log_at_trx_commit: u32,
    pub binlog_format: String,
    pub binlog_row_image: String,
    pub log_slave_updates: bool,
}

/// The run's settings, printed at the top of `results.md`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSettings {
    /// `parapply --version` of the binary the parapply arms ran.
    pub parapply_version: String,
    pub durability: super::Durability,
    pub servers: Vec<ServerSettings>,
    pub repeat: usize,
    pub workers: Vec<usize>,
    pub modes: Vec<String>,
    pub mariadb_modes: Vec<String>,
    pub commit_group: usize,
    pub per_txn_workers: Vec<usize>,
    pub scale: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub memory_gib: f64,
    pub mariadb_version: String,
    pub mariadbd_args: String,
}

impl Machine {
    pub fn probe(mariadb_version: String, mariadbd_args: String) -> Machine {
        let mem_kb: f64 = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
            .unwrap_or(0.0);
        Machine {
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            memory_gib: (mem_kb / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            mariadb_version,
            mariadbd_args,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadInfo {
    pub name: String,
    pub schema: String,
    /// The size used, in words (clients, transactions, tables and rows).
    pub size: String,
    pub params: serde_json::Value,
    pub transactions: u64,
    pub rows: u64,
    pub binlog_files: Vec<String>,
}

/// The whole run, as written to `results.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub quick: bool,
    pub command: String,
    pub unix_time: u64,
    pub total_seconds: f64,
    pub machine: Machine,
    pub settings: RunSettings,
    pub workloads: Vec<WorkloadResult>,
    /// The steady-state lag experiment, when it ran.
    pub lag: Option<LagReport>,
}

/// One workload's backlog and its arms.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadResult {
    #[serde(flatten)]
    pub info: WorkloadInfo,
    pub arms: Vec<ArmSummary>,
    /// Why some arms did not run, or how the reference checksums were obtained.
    pub note: Option<String>,
}

impl BenchReport {
    /// Every arm of every workload.
    pub fn all_arms(&self) -> impl Iterator<Item = &ArmSummary> {
        self.workloads.iter().flat_map(|w| w.arms.iter())
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "—".into())
}

fn opt_u(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
}

fn mib(v: Option<u64>) -> String {
    v.map(|b| format!("{:.0}", b as f64 / 1048576.0)).unwrap_or_else(|| "—".into())
}

/// What the columns mean, printed once above the tables.
pub const COLUMNS: &str = "A parapply **commit group** (`cg=N`: up to N consecutive source transactions merged, their rows coalesced) \
is **one target transaction**: one COMMIT, logged on the target under one GTID (its last member's); its members are not separate \
transactions on the target. `cg=1` arms commit every source transaction on its own with its own GTID, as the native replica does. \
*target commits* = Δ `Com_commit` of the target server over the arm (COMMIT statements and replicated XIDs; DDL commits implicitly and is not counted); \
*target GTIDs* = GTID events the arm added to the target's binlog (every logged transaction, DDL too); *source GTIDs* = those carrying the source's \
server_id (the rest are parapply's checkpoint-only transactions in the target's own domain). CPU: parapply = the `parapply replay` child (rusage), \
server = the target mariadbd (`/proc/PID/stat` utime+stime over the arm); RSS: parapply's peak, the server's peak `VmHWM` (reset at the arm's start); \
for MariaDB arms the applier is the replica server itself (parapply columns —). txn/s and CPU are medians over the repetitions, with min–max; \
vs serial = median time of `parapply serial w=1` / this arm's; vs native best = this arm's median txn/s / the fastest MariaDB arm's.\n";

/// The Markdown report (also printed by the command): the settings, one table per workload,
/// then the lag experiment.
pub fn markdown(r: &BenchReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# parapply bench ({})\n", if r.quick { "quick" } else { "full" });
    settings_section(&mut s, r);
    s.push_str(COLUMNS);
    s.push('\n');
    for w in &r.workloads {
        workload_table(&mut s, w);
    }
    if let Some(lag) = &r.lag {
        super::steady::markdown(&mut s, lag);
    }
    s
}

fn settings_section(s: &mut String, r: &BenchReport) {
    let st = &r.settings;
    let (sync, flush) = st.durability.settings();
    let _ = writeln!(s, "## Settings\n");
    let _ = writeln!(s, "- Command: `{}`", r.command);
    let _ = writeln!(s, "- parapply: `{}` (the binary every parapply arm ran)", st.parapply_version);
    let _ = writeln!(s, "- Durability `{}`: `sync_binlog={sync}`, `innodb_flush_log_at_trx_commit={flush}` on every instance", st.durability.name());
    let _ = writeln!(s, "- Servers (read back from each):\n");
    s.push_str("  | instance | role | version | server_id | sync_binlog | innodb_flush_log_at_trx_commit | binlog_format | binlog_row_image | log_slave_updates |\n");
    s.push_str("  |---|---|---|---:|---:|---:|---|---|---|\n");
    for v in &st.servers {
        let _ = writeln!(
            s,
            "  | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            v.instance,
            v.role,
            v.version,
            v.server_id,
            v.sync_binlog,
            v.innodb_flush_log_at_trx_commit,
            v.binlog_format,
            v.binlog_row_image,
            if v.log_slave_updates { "ON" } else { "OFF" }
        );
    }
    s.push('\n');
    let _ = writeln!(s, "- mariadbd arguments (every instance): `{}`", r.machine.mariadbd_args);
    let _ = writeln!(s, "- Machine: {} CPUs, {} GiB", r.machine.cpus, r.machine.memory_gib);
    let _ = writeln!(
        s,
        "- Repetitions: {} per arm, interleaved (round r runs every arm once, in the order listed, before round r+1; every repetition re-applies the backlog to a target reset to the pre-workload snapshot and checks CHECKSUM TABLE)",
        st.repeat
    );
    let join = |v: &[usize]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", ");
    let per_txn = if st.per_txn_workers.is_empty() {
        "none (`--no-per-txn`)".to_string()
    } else {
        format!("at workers {}", join(&st.per_txn_workers))
    };
    let _ = writeln!(
        s,
        "- parapply arms: modes {} at workers {}, `--commit-group {}`; per-transaction arms (`cg=1`, with and without commit order) {per_txn}",
        st.modes.join(", "),
        join(&st.workers),
        st.commit_group,
    );
    let _ = writeln!(s, "- MariaDB arms: slave_parallel_mode {}", st.mariadb_modes.join(", "));
    let _ = writeln!(s, "- Workload scale: {}× the per-workload default (sizes below)", st.scale);
    let _ = writeln!(s, "- Total: {:.0} s\n", r.total_seconds);
}

fn workload_table(s: &mut String, w: &WorkloadResult) {
    let _ = writeln!(s, "## Workload `{}`\n\n{} transactions, {} rows ({}).\n", w.info.name, w.info.transactions, w.info.rows, w.info.size);
    if let Some(n) = &w.note {
        let _ = writeln!(s, "Note: {n}\n");
    }
    let serial1 = w
        .arms
        .iter()
        .find(|a| matches!(a.spec, ArmSpec::Parapply { mode: crate::schedule::Mode::Serial, workers: 1, preserve_commit_order: true, commit_group } if commit_group > 1))
        .or_else(|| w.arms.iter().find(|a| matches!(a.spec, ArmSpec::Parapply { mode: crate::schedule::Mode::Serial, workers: 1, .. })))
        .and_then(|a| a.seconds);
    let native_best = w.arms.iter().filter(|a| a.spec.is_mariadb()).filter_map(|a| a.txns_per_second).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    s.push_str("| arm | status | runs | txn/s | min–max | vs serial w=1 | vs native best | target commits | target GTIDs | source GTIDs | parapply CPU s | server CPU s | total CPU s | CPU ms/txn | parapply RSS MiB | server RSS MiB | total RSS MiB | retries | deadlocks | barriers |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for a in &w.arms {
        let speedup = match (serial1, a.seconds) {
            (Some(b), Some(x)) if x > 0.0 => format!("{:.2}×", b / x),
            _ => "—".into(),
        };
        let vs_native = match (native_best, a.txns_per_second) {
            (Some(b), Some(x)) if b > 0.0 => format!("{:.2}×", x / b),
            _ => "—".into(),
        };
        let range = match (a.txns_per_second_min, a.txns_per_second_max) {
            (Some(lo), Some(hi)) => format!("{lo:.0}–{hi:.0}"),
            _ => "—".into(),
        };
        let barriers = if a.barriers.is_empty() { "—".to_string() } else { a.barriers.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ") };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            a.name,
            a.status,
            a.repetitions,
            opt(a.txns_per_second, 0),
            range,
            speedup,
            vs_native,
            opt_u(a.target_commits),
            opt_u(a.target_gtids),
            opt_u(a.target_source_gtids),
            opt(a.applier_cpu_seconds, 2),
            opt(a.target_cpu_seconds, 2),
            opt(a.total_cpu_seconds, 2),
            opt(a.cpu_ms_per_txn, 3),
            mib(a.peak_rss_bytes),
            mib(a.target_peak_rss_bytes),
            mib(a.total_peak_rss_bytes),
            opt_u(a.retries),
            opt_u(a.deadlocks),
            barriers
        );
    }
    for a in w.arms.iter().filter(|a| a.status != "ok") {
        let _ = writeln!(s, "\nFAILED {}: {}", a.name, a.error.as_deref().unwrap_or("checksum mismatch"));
    }
    s.push('\n');
}

/// Write `results.md`, `results.json`, and the plots: `throughput.svg` and `cpu_per_txn.svg` of
/// the first workload, `throughput_<workload>.svg` / `cpu_per_txn_<workload>.svg` of every
/// workload, and `lag_over_time.svg` when the lag experiment ran.
pub fn write_all(dir: &Path, r: &BenchReport) -> Result<(), BenchError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e| BenchError::Io(p, e)
    };
    let md = dir.join("results.md");
    std::fs::write(&md, markdown(r)).map_err(io(&md))?;
    let js = dir.join("results.json");
    let text = serde_json::to_string_pretty(r).map_err(|e| BenchError::Other(format!("results.json: {e}")))?;
    std::fs::write(&js, text).map_err(io(&js))?;
    for (i, w) in r.workloads.iter().enumerate() {
        let tp = |a: &ArmSummary| Some((a.txns_per_second?, a.txns_per_second_min?, a.txns_per_second_max?));
        let cpu = |a: &ArmSummary| Some((a.cpu_ms_per_txn?, a.cpu_ms_per_txn_min?, a.cpu_ms_per_txn_max?));
        let t1 = format!("Apply throughput vs workers ({}; median, whiskers min–max)", w.info.name);
        let t2 = format!("CPU per transaction, applier + target ({}; median, min–max)", w.info.name);
        plot(&dir.join(format!("throughput_{}.svg", w.info.name)), &w.arms, &t1, "transactions/s", tp)?;
        plot(&dir.join(format!("cpu_per_txn_{}.svg", w.info.name)), &w.arms, &t2, "CPU ms / transaction", cpu)?;
        if i == 0 {
            plot(&dir.join("throughput.svg"), &w.arms, &t1, "transactions/s", tp)?;
            plot(&dir.join("cpu_per_txn.svg"), &w.arms, &t2, "CPU ms / transaction", cpu)?;
        }
    }
    if let Some(lag) = &r.lag {
        super::steady::plot(&dir.join("lag_over_time.svg"), lag)?;
    }
    Ok(())
}

/// One line per series, x = workers, y = `value`'s median of the passing arms, with a
/// min–max whisker at every point.
fn plot(path: &Path, arms: &[ArmSummary], title: &str, y_label: &str, value: impl Fn(&ArmSummary) -> Option<(f64, f64, f64)>) -> Result<(), BenchError> {
    let err = |e: &dyn std::fmt::Display| BenchError::Other(format!("plot {}: {e}", path.display()));
    let mut series: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    for a in arms {
        if let Some((median, lo, hi)) = value(a) {
            series.entry(a.series.clone()).or_default().push((a.workers as f64, median, lo, hi));
        }
    }
    let workers: BTreeSet<usize> = arms.iter().map(|a| a.workers).collect();
    let x_max = workers.iter().copied().max().unwrap_or(1).max(2) as f64;
    let y_max = series.values().flatten().map(|p| p.3).fold(0.0f64, f64::max).max(1e-6) * 1.15;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.5f64..x_max + 0.5, 0f64..y_max)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc("workers / threads").y_desc(y_label).draw().map_err(|e| err(&e))?;
    for (i, (name, mut pts)) in series.into_iter().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 4, color.filled()))).map_err(|e| err(&e))?;
        // Whiskers from min to max with short caps (drawn as paths: plotters' ErrorBar needs a
        // feature this crate does not enable).
        let cap = (x_max / 60.0).max(0.05);
        chart
            .draw_series(pts.iter().flat_map(|p| {
                [
                    PathElement::new(vec![(p.0, p.2), (p.0, p.3)], color.stroke_width(1)),
                    PathElement::new(vec![(p.0 - cap, p.2), (p.0 + cap, p.2)], color.stroke_width(1)),
                    PathElement::new(vec![(p.0 - cap, p.3), (p.0 + cap, p.3)], color.stroke_width(1)),
                ]
            }))
            .map_err(|e| err(&e))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Mode;

    #[test]
    fn spread_is_median_min_max() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]), Some(Spread { median: 2.0, min: 1.0, max: 3.0 }));
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 10.0]), Some(Spread { median: 3.0, min: 1.0, max: 10.0 }));
        assert_eq!(Spread::of(&[5.0]), Some(Spread { median: 5.0, min: 5.0, max: 5.0 }));
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN]), None);
        assert_eq!(median_u64([Some(7), None, Some(3), Some(5)].into_iter()), Some(5));
        assert_eq!(median_u64([Some(2), Some(3)].into_iter()), Some(2));
        assert_eq!(median_u64([None].into_iter()), None);
    }

    /// A passing repetition taking `seconds` for 1000 transactions.
    fn run(spec: &ArmSpec, round: usize, seconds: f64, commits: u64, applier: Option<(f64, u64)>, target: (f64, u64)) -> ArmResult {
        let mut r = ArmResult::new(spec.clone(), round, 1000, 4000);
        r.checksum_ok = true;
        r.seconds = Some(seconds);
        if let Some((cpu, rss)) = applier {
            r.applier_cpu_seconds = Some(cpu);
            r.peak_rss_bytes = Some(rss);
        }
        r.target_cpu_seconds = Some(target.0);
        r.target_peak_rss_bytes = Some(target.1);
        r.target_commits = Some(commits);
        r.target_gtids = Some(commits + 4);
        r.target_source_gtids = Some(commits);
        r.finalize();
        r
    }

    const MIB: u64 = 1 << 20;

    fn sample() -> WorkloadResult {
        let serial = ArmSpec::Parapply { mode: Mode::Serial, workers: 1, preserve_commit_order: true, commit_group: 128 };
        let ws1 = ArmSpec::Parapply { mode: Mode::Writeset, workers: 4, preserve_commit_order: false, commit_group: 1 };
        let native = ArmSpec::Mariadb { parallel_mode: "none".into(), threads: 4 };
        let mut failed = ArmResult::new(ws1.clone(), 1, 1000, 4000);
        failed.error = Some("checksums differ".into());
        failed.finalize();
        let arms = vec![
            ArmSummary::from_runs(
                serial.clone(),
                vec![
                    run(&serial, 0, 2.0, 1001, Some((0.5, 20 * MIB)), (1.0, 300 * MIB)),
                    run(&serial, 1, 1.0, 1001, Some((0.7, 22 * MIB)), (1.2, 310 * MIB)),
                    run(&serial, 2, 4.0, 1001, Some((0.6, 21 * MIB)), (1.1, 305 * MIB)),
                ],
            ),
            ArmSummary::from_runs(ws1.clone(), vec![run(&ws1, 0, 0.5, 1001, Some((0.4, 30 * MIB)), (0.8, 320 * MIB)), failed]),
            ArmSummary::from_runs(
                native.clone(),
                vec![run(&native, 0, 0.8, 1000, None, (0.9, 400 * MIB)), run(&native, 1, 1.0, 1000, None, (1.0, 410 * MIB)), run(&native, 2, 1.25, 1000, None, (1.1, 405 * MIB))],
            ),
        ];
        WorkloadResult {
            info: WorkloadInfo {
                name: "oltp".into(),
                schema: "benchq".into(),
                size: "4 clients × 250 transactions on 4 tables × 1000 rows".into(),
                params: serde_json::Value::Null,
                transactions: 1000,
                rows: 4000,
                binlog_files: vec![],
            },
            arms,
            note: None,
        }
    }

    #[test]
    fn an_arm_is_summarised_by_median_min_max_and_fails_with_any_repetition() {
        let w = sample();
        let s = &w.arms[0];
        assert_eq!((s.status.as_str(), s.repetitions), ("ok", 3));
        assert_eq!((s.seconds, s.seconds_min, s.seconds_max), (Some(2.0), Some(1.0), Some(4.0)));
        assert_eq!((s.txns_per_second, s.txns_per_second_min, s.txns_per_second_max), (Some(500.0), Some(250.0), Some(1000.0)));
        // Medians per column: 0.6 applier + 1.1 server = 1.7 total (0.5+1.0 / 0.7+1.2 / 0.6+1.1).
        assert!(s.total_cpu_seconds.is_some_and(|c| (c - 1.7).abs() < 1e-9), "{:?}", s.total_cpu_seconds);
        assert_eq!((s.peak_rss_bytes, s.target_peak_rss_bytes, s.total_peak_rss_bytes), (Some(22 * MIB), Some(310 * MIB), Some(332 * MIB)));
        assert_eq!((s.target_commits, s.target_gtids, s.target_source_gtids), (Some(1001), Some(1005), Some(1001)));
        let f = &w.arms[1];
        assert_eq!((f.status.as_str(), f.txns_per_second, f.seconds), ("FAILED", None, None));
        assert_eq!(f.error.as_deref(), Some("round 2: checksums differ"));
    }

    #[test]
    fn workload_table_renders_medians_spread_commits_and_both_sides_resources() {
        let mut s = String::new();
        workload_table(&mut s, &sample());
        assert_eq!(
            s,
            "## Workload `oltp`\n\n1000 transactions, 4000 rows (4 clients × 250 transactions on 4 tables × 1000 rows).\n\n\
| arm | status | runs | txn/s | min–max | vs serial w=1 | vs native best | target commits | target GTIDs | source GTIDs | parapply CPU s | server CPU s | total CPU s | CPU ms/txn | parapply RSS MiB | server RSS MiB | total RSS MiB | retries | deadlocks | barriers |\n\
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n\
| parapply serial w=1 cg=128 | ok | 3 | 500 | 250–1000 | 1.00× | 0.50× | 1001 | 1005 | 1001 | 0.60 | 1.10 | 1.70 | 1.700 | 22 | 310 | 332 | 0 | 0 | — |\n\
| parapply writeset w=4 cg=1 no-commit-order | FAILED | 2 | — | — | — | — | 1001 | 1005 | 1001 | 0.40 | 0.80 | 1.20 | — | 30 | 320 | 350 | 0 | 0 | — |\n\
| mariadb none t=4 | ok | 3 | 1000 | 800–1250 | 2.00× | 1.00× | 1000 | 1004 | 1000 | — | 1.00 | 1.00 | 1.000 | — | 410 | 410 | 0 | 0 | — |\n\
\nFAILED parapply writeset w=4 cg=1 no-commit-order: round 2: checksums differ\n\n"
        );
    }

    #[test]
    fn settings_are_printed_at_the_top() {
        let r = BenchReport {
            quick: false,
            command: "parapply bench --repeat 3".into(),
            unix_time: 0,
            total_seconds: 12.4,
            machine: Machine { cpus: 2, memory_gib: 23.5, mariadb_version: "10.11.6-MariaDB".into(), mariadbd_args: "--sync-binlog=1 --innodb-flush-log-at-trx-commit=1".into() },
            settings: RunSettings {
                parapply_version: "parapply 0.1.0 (commit abc1234)".into(),
                durability: super::super::Durability::Full,
                servers: vec![ServerSettings {
                    instance: "C".into(),
                    role: "parapply target".into(),
                    version: "10.11.6-MariaDB".into(),
                    server_id: 3,
                    sync_binlog: 1,
                    innodb_flush_log_at_trx_commit: 1,
                    binlog_format: "ROW".into(),
                    binlog_row_image: "FULL".into(),
                    log_slave_updates: true,
                }],
                repeat: 3,
                workers: vec![1, 8],
                modes: vec!["writeset".into()],
                mariadb_modes: vec!["none".into(), "optimistic".into()],
                commit_group: 128,
                per_txn_workers: vec![8],
                scale: 1.0,
            },
            workloads: vec![],
            lag: None,
        };
        let md = markdown(&r);
        let head = [
            "# parapply bench (full)",
            "",
            "## Settings",
            "",
            "- Command: `parapply bench --repeat 3`",
            "- parapply: `parapply 0.1.0 (commit abc1234)` (the binary every parapply arm ran)",
            "- Durability `full`: `sync_binlog=1`, `innodb_flush_log_at_trx_commit=1` on every instance",
            "- Servers (read back from each):",
            "",
            "  | instance | role | version | server_id | sync_binlog | innodb_flush_log_at_trx_commit | binlog_format | binlog_row_image | log_slave_updates |",
            "  |---|---|---|---:|---:|---:|---|---|---|",
            "  | C | parapply target | 10.11.6-MariaDB | 3 | 1 | 1 | ROW | FULL | ON |",
            "",
            "- mariadbd arguments (every instance): `--sync-binlog=1 --innodb-flush-log-at-trx-commit=1`",
            "- Machine: 2 CPUs, 23.5 GiB",
            "- Repetitions: 3 per arm, interleaved",
        ]
        .join("\n");
        assert!(md.starts_with(&head), "{md}");
        assert!(md.contains("- parapply arms: modes writeset at workers 1, 8, `--commit-group 128`; per-transaction arms (`cg=1`, with and without commit order) at workers 8\n"), "{md}");
        assert!(md.contains("- Total: 12 s\n"), "{md}");
        assert!(md.contains("is **one target transaction**: one COMMIT, logged on the target under one GTID"), "{md}");
    }
}
