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

/// One arm's numbers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArmResult {
    pub name: String,
    pub spec: ArmSpec,
    pub series: String,
    pub workers: usize,
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
    /// CPU of the target mariadbd (for MariaDB arms: the replica, which also applies).
    pub target_cpu_seconds: Option<f64>,
    /// (applier + target CPU) per transaction, in milliseconds.
    pub cpu_ms_per_txn: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub retries: u64,
    pub deadlocks: u64,
    /// Target transactions the arm committed (parapply: fewer than `txns` when commit groups
    /// formed; MariaDB arms: not reported).
    pub target_commits: Option<u64>,
    /// Barriers by reason from the scheduler's rules on this backlog (parapply arms).
    pub barriers: BTreeMap<String, u64>,
}

impl ArmResult {
    pub fn new(spec: ArmSpec, txns: u64, rows: u64) -> ArmResult {
        ArmResult {
            name: spec.name(),
            series: spec.series(),
            workers: spec.workers(),
            spec,
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
            cpu_ms_per_txn: None,
            peak_rss_bytes: None,
            retries: 0,
            deadlocks: 0,
            target_commits: None,
            barriers: BTreeMap::new(),
        }
    }

    /// Derive rates; drop the time of a failed arm.
    pub fn finalize(&mut self) {
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
        let cpu = self.applier_cpu_seconds.unwrap_or(0.0) + self.target_cpu_seconds.unwrap_or(0.0);
        if self.txns > 0 && (self.applier_cpu_seconds.is_some() || self.target_cpu_seconds.is_some()) {
            self.cpu_ms_per_txn = Some(cpu * 1000.0 / self.txns as f64);
        }
    }

    pub fn summary_line(&self) -> String {
        match (self.status.as_str(), self.seconds, self.txns_per_second) {
            ("ok", Some(s), Some(r)) => format!("ok, {} txns in {s:.2} s ({r:.0} txn/s)", self.txns),
            _ => format!("FAILED: {}", self.error.as_deref().unwrap_or("checksum mismatch")),
        }
    }
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
    pub workloads: Vec<WorkloadResult>,
    /// The steady-state lag experiment, when it ran.
    pub lag: Option<LagReport>,
}

/// One workload's backlog and its arms.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadResult {
    #[serde(flatten)]
    pub info: WorkloadInfo,
    pub arms: Vec<ArmResult>,
    /// Why some arms did not run, or how the reference checksums were obtained.
    pub note: Option<String>,
}

impl BenchReport {
    /// Every arm of every workload.
    pub fn all_arms(&self) -> impl Iterator<Item = &ArmResult> {
        self.workloads.iter().flat_map(|w| w.arms.iter())
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "—".into())
}

/// The Markdown report (also printed by the command): one table per workload, then the lag
/// experiment.
pub fn markdown(r: &BenchReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# parapply bench ({})\n", if r.quick { "quick" } else { "full" });
    let _ = writeln!(
        s,
        "Machine: {} CPUs, {} GiB, MariaDB {} (`{}`). Total {:.0} s.\n",
        r.machine.cpus, r.machine.memory_gib, r.machine.mariadb_version, r.machine.mariadbd_args, r.total_seconds
    );
    for w in &r.workloads {
        workload_table(&mut s, w);
    }
    if let Some(lag) = &r.lag {
        super::steady::markdown(&mut s, lag);
    }
    s
}

fn workload_table(s: &mut String, w: &WorkloadResult) {
    let _ = writeln!(s, "## Workload `{}`\n\n{} transactions, {} rows.\n", w.info.name, w.info.transactions, w.info.rows);
    if let Some(n) = &w.note {
        let _ = writeln!(s, "Note: {n}\n");
    }
    let serial1 = w.arms.iter().find(|a| matches!(a.spec, ArmSpec::Parapply { mode: crate::cli::Mode::Serial, workers: 1, .. })).and_then(|a| a.seconds);
    s.push_str("| arm | status | txn/s | rows/s | catch-up s | vs serial w=1 | parapply CPU s | target CPU s | CPU ms/txn | peak RSS MiB | retries | deadlocks | target commits | barriers |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for a in &w.arms {
        let speedup = match (serial1, a.seconds) {
            (Some(b), Some(x)) if x > 0.0 => format!("{:.2}×", b / x),
            _ => "—".into(),
        };
        let barriers = if a.barriers.is_empty() { "—".to_string() } else { a.barriers.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ") };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            a.name,
            a.status,
            opt(a.txns_per_second, 0),
            opt(a.rows_per_second, 0),
            opt(a.seconds, 2),
            speedup,
            opt(a.applier_cpu_seconds, 2),
            opt(a.target_cpu_seconds, 2),
            opt(a.cpu_ms_per_txn, 3),
            a.peak_rss_bytes.map(|b| format!("{:.0}", b as f64 / 1048576.0)).unwrap_or_else(|| "—".into()),
            a.retries,
            a.deadlocks,
            a.target_commits.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
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
        let tp = |a: &ArmResult| a.txns_per_second;
        let cpu = |a: &ArmResult| a.cpu_ms_per_txn;
        let t1 = format!("Apply throughput vs workers ({})", w.info.name);
        let t2 = format!("CPU per transaction, applier + target ({})", w.info.name);
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

/// One line per series (mode), x = workers, y = `value` of the passing arms.
fn plot(path: &Path, arms: &[ArmResult], title: &str, y_label: &str, value: impl Fn(&ArmResult) -> Option<f64>) -> Result<(), BenchError> {
    let err = |e: &dyn std::fmt::Display| BenchError::Other(format!("plot {}: {e}", path.display()));
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for a in arms {
        if let Some(v) = value(a) {
            series.entry(a.series.clone()).or_default().push((a.workers as f64, v));
        }
    }
    let workers: BTreeSet<usize> = arms.iter().map(|a| a.workers).collect();
    let x_max = workers.iter().copied().max().unwrap_or(1).max(2) as f64;
    let y_max = series.values().flatten().map(|p| p.1).fold(0.0f64, f64::max).max(1e-6) * 1.15;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
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
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled()))).map_err(|e| err(&e))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
