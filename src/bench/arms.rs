//! Running and measuring bench arms on one captured backlog.
//!
//! Owns the run order (capture once, parapply arms, the commit-order-off arm for the best mode,
//! MariaDB arms), the target reset before each arm, and each arm's numbers and checksum
//! verdict. It uses [`crate::apply::pipeline`] and [`crate::schedule::analyze`] through their
//! public APIs and must not change them.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::measure::{self, checksums, global_status};
use super::report::{ArmResult, BenchReport, Machine, WorkloadInfo};
use super::sandbox::BenchSandbox;
use super::{ArmSpec, BenchError, BenchOptions};
use crate::apply::pipeline::{self, PipelineOptions, TxnSource};
use crate::cli::Mode;
use crate::config::{ApplyConfig, Endpoint};
use crate::schedule::analyze::{AnalyzeOptions, Analyzer};
use crate::schedule::StaticCatalog;
use crate::source::file::BinlogFiles;
use crate::txn::TransactionReader;

const STATE_SCHEMA: &str = "parapply";

/// The captured backlog: files, what the source ended with, and the scheduler's barriers.
struct Capture {
    files: Vec<PathBuf>,
    schema: String,
    tables: Vec<String>,
    source_checksums: BTreeMap<String, Option<u64>>,
    txns: u64,
    rows: u64,
    barriers: std::collections::HashMap<Mode, BTreeMap<String, u64>>,
    /// The source's binlog end: file, position, gtid_binlog_pos.
    source_file: String,
    source_pos: u64,
    source_gtid: String,
}

fn rt() -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| BenchError::Other(format!("tokio runtime: {e}")))
}

async fn connect(url: &str) -> Result<mysql_async::Conn, BenchError> {
    let opts = mysql_async::Opts::from_url(url).map_err(|e| BenchError::Other(format!("url: {e}")))?;
    mysql_async::Conn::new(opts).await.map_err(BenchError::sql(format!("connecting to {url}")))
}

/// Everything, in order. The sandbox is stopped when this returns (also on error).
pub fn run_all(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let started = Instant::now();
    let sb_dir = opts.out.join("sandbox");
    let mut sb = BenchSandbox::start(&opts.sandbox_script, &sb_dir, &["A", "C", "D"], &opts.mariadbd_args)?;
    let result = run_in_sandbox(opts, &sb, started);
    sb.stop();
    let report = result?;
    super::report::write_all(&opts.out, &report)?;
    Ok(report)
}

fn run_in_sandbox(opts: &BenchOptions, sb: &BenchSandbox, started: Instant) -> Result<BenchReport, BenchError> {
    let rt = rt()?;
    let capture = rt.block_on(capture(opts, sb))?;
    log_line(&format!("captured {} transactions, {} rows in {} binlog file(s)", capture.txns, capture.rows, capture.files.len()));

    let mut specs = opts.parapply_arms();
    let total_arms = specs.len() + 1 + opts.mariadb_arms().len();
    let progress = Progress::new(total_arms as u64);
    let mut results = Vec::new();
    for spec in specs.drain(..) {
        progress.start(&spec.name());
        results.push(run_arm(&rt, sb, &capture, &spec));
    }
    // Commit order off for the best mode at its best worker count.
    let best = results
        .iter()
        .filter(|r| r.checksum_ok)
        .filter_map(|r| match &r.spec {
            ArmSpec::Parapply { mode, workers, .. } if *mode != Mode::Serial => Some((*mode, *workers, r.txns_per_second.unwrap_or(0.0))),
            _ => None,
        })
        .max_by(|a, b| a.2.total_cmp(&b.2));
    let (best_mode, best_workers) = best.map(|b| (b.0, b.1)).unwrap_or((Mode::Writeset, opts.workers.iter().copied().max().unwrap_or(1)));
    let spec = ArmSpec::Parapply { mode: best_mode, workers: best_workers, preserve_commit_order: false };
    progress.start(&spec.name());
    results.push(run_arm(&rt, sb, &capture, &spec));
    for spec in opts.mariadb_arms() {
        progress.start(&spec.name());
        results.push(run_arm(&rt, sb, &capture, &spec));
    }
    progress.finish();

    let mariadb_version = rt.block_on(async {
        let mut c = connect(&sb.url("C")).await?;
        let v: Option<String> = c.query_first("SELECT VERSION()").await.map_err(BenchError::sql("version"))?;
        Ok::<_, BenchError>(v.unwrap_or_default())
    })?;
    Ok(BenchReport {
        quick: opts.quick,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        unix_time: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        total_seconds: started.elapsed().as_secs_f64(),
        machine: Machine::probe(mariadb_version, opts.mariadbd_args.clone()),
        workload: WorkloadInfo {
            name: opts.workload.schema.clone(),
            params: opts.workload.clone(),
            transactions: capture.txns,
            rows: capture.rows,
            binlog_files: capture.files.iter().map(|p| p.display().to_string()).collect(),
        },
        arms: results,
    })
}

/// Run the workload once on A and keep its binlog under the cache directory.
async fn capture(opts: &BenchOptions, sb: &BenchSandbox) -> Result<Capture, BenchError> {
    let url = sb.url("A");
    let mut a = connect(&url).await?;
    // The binlog then holds exactly the schema and the workload.
    a.query_drop("RESET MASTER").await.map_err(BenchError::sql("RESET MASTER on the source"))?;
    drop(a);
    match &opts.sysbench {
        Some(p) => {
            let mut a = connect(&url).await?;
            a.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", q(&opts.workload.schema))).await.map_err(BenchError::sql("creating the sysbench schema"))?;
            drop(a);
            let (port, schema, tables, p) = (sb.port("A"), opts.workload.schema.clone(), opts.workload.tables, p.clone());
            tokio::task::spawn_blocking(move || super::workload::run_sysbench(port, &schema, tables, &p))
                .await
                .map_err(|e| BenchError::Other(format!("sysbench task: {e}")))?
                .map_err(BenchError::Other)?;
        }
        None => {
            let committed = super::workload::run_oltp(&url, &opts.workload).await.map_err(BenchError::sql("running the workload on the source"))?;
            tracing::debug!(committed, "workload done");
        }
    }
    let mut a = connect(&url).await?;
    let tables = opts.workload.table_names();
    let source_checksums = checksums(&mut a, &opts.workload.schema, &tables).await.map_err(BenchError::sql("CHECKSUM TABLE on the source"))?;
    let (source_file, source_pos): (String, u64) = {
        let row: Option<mysql_async::Row> = a.query_first("SHOW MASTER STATUS").await.map_err(BenchError::sql("SHOW MASTER STATUS"))?;
        let row = row.ok_or_else(|| BenchError::Other("source has no binlog (SHOW MASTER STATUS empty)".into()))?;
        (row.get::<String, _>(0).unwrap_or_default(), row.get::<u64, _>(1).unwrap_or(0))
    };
    let source_gtid: Option<String> = a.query_first("SELECT @@gtid_binlog_pos").await.map_err(BenchError::sql("gtid_binlog_pos"))?;
    drop(a);

    let cache = super::cache_dir(&opts.out, &opts.workload.schema);
    std::fs::create_dir_all(&cache).map_err(|e| BenchError::Io(cache.display().to_string(), e))?;
    let mut files = Vec::new();
    for f in sb.binlog_files("A")? {
        let Some(name) = f.file_name() else { continue };
        let dst = cache.join(name);
        std::fs::copy(&f, &dst).map_err(|e| BenchError::Io(f.display().to_string(), e))?;
        files.push(dst);
    }

    // Count the backlog and ask the scheduler's analysis for barriers per mode.
    let mut analyzer = Analyzer::new(AnalyzeOptions { workers: opts.workers.iter().copied().max().unwrap_or(1), ..AnalyzeOptions::default() }, Arc::new(StaticCatalog::new()));
    let reader = TransactionReader::new(BinlogFiles::open(&files).map_err(|e| BenchError::Other(format!("captured binlog: {e}")))?);
    for t in reader {
        let t = t.map_err(|e| BenchError::Other(format!("reading the captured binlog: {e}")))?;
        analyzer.add(&t);
    }
    let analysis = analyzer.finish();
    let barriers = analysis
        .modes
        .iter()
        .map(|m| (m.mode, m.barriers.iter().map(|(r, n)| (r.name().to_string(), *n)).collect::<BTreeMap<_, _>>()))
        .collect();
    Ok(Capture {
        files,
        schema: opts.workload.schema.clone(),
        tables,
        source_checksums,
        txns: analysis.transactions,
        rows: analysis.rows,
        barriers,
        source_file,
        source_pos,
        source_gtid: source_gtid.unwrap_or_default(),
    })
}

fn q(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// One arm; never fails as a whole: an error or a checksum mismatch makes it FAILED.
fn run_arm(rt: &tokio::runtime::Runtime, sb: &BenchSandbox, cap: &Capture, spec: &ArmSpec) -> ArmResult {
    let mut res = ArmResult::new(spec.clone(), cap.txns, cap.rows);
    let outcome = match spec {
        ArmSpec::Parapply { .. } => run_parapply(rt, sb, cap, spec, &mut res),
        ArmSpec::Mariadb { .. } => run_mariadb(rt, sb, cap, spec, &mut res),
    };
    if let Err(e) = outcome {
        res.error = Some(e.to_string());
    }
    let target = if matches!(spec, ArmSpec::Parapply { .. }) { "C" } else { "D" };
    match rt.block_on(async {
        let mut c = connect(&sb.url(target)).await?;
        checksums(&mut c, &cap.schema, &cap.tables).await.map_err(BenchError::sql("CHECKSUM TABLE on the target"))
    }) {
        Ok(sums) => {
            res.checksum_ok = res.error.is_none() && sums == cap.source_checksums && sums.values().all(Option::is_some);
            if !res.checksum_ok && res.error.is_none() {
                res.error = Some(format!("checksums differ: target {sums:?}, source {:?}", cap.source_checksums));
            }
        }
        Err(e) => res.error = Some(format!("checksum: {e}")),
    }
    res.finalize();
    log_line(&format!("{}: {}", spec.name(), res.summary_line()));
    res
}

fn run_parapply(rt: &tokio::runtime::Runtime, sb: &BenchSandbox, cap: &Capture, spec: &ArmSpec, res: &mut ArmResult) -> Result<(), BenchError> {
    let ArmSpec::Parapply { mode, workers, preserve_commit_order } = spec else { return Ok(()) };
    let url = sb.url("C");
    let deadlocks0 = rt.block_on(async {
        let mut c = connect(&url).await?;
        for s in [format!("DROP DATABASE IF EXISTS {}", q(&cap.schema)), format!("DROP DATABASE IF EXISTS {}", q(STATE_SCHEMA)), "RESET MASTER".into()] {
            c.query_drop(&s).await.map_err(BenchError::sql(format!("target reset: {s}")))?;
        }
        global_status(&mut c, "Innodb_deadlocks").await.map_err(BenchError::sql("status"))
    })?;
    let files = BinlogFiles::open(&cap.files).map_err(|e| BenchError::Other(format!("captured binlog: {e}")))?;
    let source: TxnSource = Box::new(TransactionReader::new(files).map(|r| r.map_err(|e| e.to_string())));
    let target = Endpoint::from_url(&url).map_err(|e| BenchError::Other(format!("target url: {e}")))?;
    let apply = ApplyConfig {
        mode: *mode,
        workers: *workers,
        preserve_commit_order: *preserve_commit_order,
        state_schema: STATE_SCHEMA.into(),
        window: ApplyConfig::default().window.max(*workers),
        ..ApplyConfig::default()
    };
    let opts = PipelineOptions::new(target, apply);
    let me = std::process::id() as i32;
    let target_pid = sb.pid("C");
    measure::reset_peak_rss(me);
    let cpu0 = measure::self_cpu_seconds();
    let tcpu0 = target_pid.and_then(measure::cpu_seconds);
    let t0 = Instant::now();
    let summary = pipeline::run(opts, source, None).map_err(|e| BenchError::Other(format!("apply: {e}")))?;
    res.seconds = Some(t0.elapsed().as_secs_f64());
    res.applier_cpu_seconds = Some(measure::self_cpu_seconds() - cpu0);
    res.target_cpu_seconds = match (tcpu0, target_pid.and_then(measure::cpu_seconds)) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    res.peak_rss_bytes = measure::peak_rss_bytes(me);
    res.txns = summary.txns_applied;
    res.rows = summary.rows_applied;
    res.retries = summary.retries;
    res.barriers = cap.barriers.get(mode).cloned().unwrap_or_default();
    res.deadlocks = rt.block_on(async {
        let mut c = connect(&url).await?;
        global_status(&mut c, "Innodb_deadlocks").await.map_err(BenchError::sql("status"))
    })?
    .saturating_sub(deadlocks0);
    Ok(())
}

fn run_mariadb(rt: &tokio::runtime::Runtime, sb: &BenchSandbox, cap: &Capture, spec: &ArmSpec, res: &mut ArmResult) -> Result<(), BenchError> {
    let ArmSpec::Mariadb { parallel_mode, threads } = spec else { return Ok(()) };
    let url = sb.url("D");
    let source_port = sb.port("A");
    let pid = sb.pid("D");
    rt.block_on(async {
        let mut d = connect(&url).await?;
        let threads_setting = if parallel_mode == "none" { 0 } else { *threads };
        // Reset to an empty replica with identical settings, then fetch the whole backlog first.
        let setup = [
            "STOP SLAVE".to_string(),
            "RESET SLAVE ALL".into(),
            format!("DROP DATABASE IF EXISTS {}", q(&cap.schema)),
            "RESET MASTER".into(),
            "SET GLOBAL gtid_slave_pos=''".into(),
            format!("SET GLOBAL slave_parallel_threads={threads_setting}"),
            format!("SET GLOBAL slave_parallel_mode='{parallel_mode}'"),
            format!("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={source_port}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos"),
            "START SLAVE IO_THREAD".into(),
        ];
        for s in &setup {
            d.query_drop(s).await.map_err(BenchError::sql(format!("replica setup: {}", s.split(" MASTER_PASSWORD").next().unwrap_or(s))))?;
        }
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let row: Option<mysql_async::Row> = d.query_first("SHOW SLAVE STATUS").await.map_err(BenchError::sql("SHOW SLAVE STATUS"))?;
            let row = row.ok_or_else(|| BenchError::Other("replica has no slave status".into()))?;
            let file: String = row.get_opt::<String, _>("Master_Log_File").and_then(Result::ok).unwrap_or_default();
            let pos: u64 = row.get_opt::<u64, _>("Read_Master_Log_Pos").and_then(Result::ok).unwrap_or(0);
            if file == cap.source_file && pos >= cap.source_pos {
                break;
            }
            let io_err: String = row.get_opt::<String, _>("Last_IO_Error").and_then(Result::ok).unwrap_or_default();
            if !io_err.is_empty() {
                return Err(BenchError::Other(format!("replica IO thread: {io_err}")));
            }
            if Instant::now() > deadline {
                return Err(BenchError::Other("replica IO thread did not fetch the backlog within 300 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let retries0 = global_status(&mut d, "Slave_retried_transactions").await.map_err(BenchError::sql("status"))?;
        let deadlocks0 = global_status(&mut d, "Innodb_deadlocks").await.map_err(BenchError::sql("status"))?;
        if let Some(p) = pid {
            measure::reset_peak_rss(p);
        }
        let cpu0 = pid.and_then(measure::cpu_seconds);
        let t0 = Instant::now();
        d.query_drop("START SLAVE SQL_THREAD").await.map_err(BenchError::sql("START SLAVE SQL_THREAD"))?;
        loop {
            let pos: Option<String> = d.query_first("SELECT @@gtid_slave_pos").await.map_err(BenchError::sql("gtid_slave_pos"))?;
            if pos.as_deref() == Some(cap.source_gtid.as_str()) {
                break;
            }
            if t0.elapsed() > Duration::from_secs(600) {
                return Err(BenchError::Other(format!("replica did not reach {} within 600 s (at {pos:?})", cap.source_gtid)));
            }
            let row: Option<mysql_async::Row> = d.query_first("SHOW SLAVE STATUS").await.map_err(BenchError::sql("SHOW SLAVE STATUS"))?;
            if let Some(row) = row {
                let err: String = row.get_opt::<String, _>("Last_SQL_Error").and_then(Result::ok).unwrap_or_default();
                if !err.is_empty() {
                    return Err(BenchError::Other(format!("replica SQL thread: {err}")));
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        res.seconds = Some(t0.elapsed().as_secs_f64());
        // The applier runs inside the replica's server: one process, reported as the target.
        res.target_cpu_seconds = match (cpu0, pid.and_then(measure::cpu_seconds)) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        res.peak_rss_bytes = pid.and_then(measure::peak_rss_bytes);
        res.retries = global_status(&mut d, "Slave_retried_transactions").await.map_err(BenchError::sql("status"))?.saturating_sub(retries0);
        res.deadlocks = global_status(&mut d, "Innodb_deadlocks").await.map_err(BenchError::sql("status"))?.saturating_sub(deadlocks0);
        d.query_drop("STOP SLAVE").await.map_err(BenchError::sql("STOP SLAVE"))?;
        Ok(())
    })
}

/// An indicatif bar naming the running arm on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(len: u64) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(len);
            bar.set_style(indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress { bar: Some(bar) }
        } else {
            Progress { bar: None }
        }
    }
    fn start(&self, arm: &str) {
        match &self.bar {
            Some(b) => {
                if !b.message().is_empty() {
                    b.inc(1);
                }
                b.set_message(arm.to_string());
            }
            None => eprintln!("bench: running arm {arm}"),
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
            b.finish_with_message("done");
        }
    }
}

fn log_line(s: &str) {
    // Printed above an active progress bar by indicatif when one is drawn on stderr.
    eprintln!("bench: {s}");
}
