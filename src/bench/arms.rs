//! Running and measuring bench arms on one captured backlog.
//!
//! Owns the run order (per workload: capture once, parapply arms, the commit-order-off arm for
//! the best mode, MariaDB arms), the target reset before each arm, and each arm's numbers and
//! checksum verdict. parapply arms run as child processes (`parapply replay`, this binary) so
//! each arm has its own peak RSS and CPU time. It uses [`crate::schedule::analyze`] through its
//! public API and must not change the applier or the scheduler.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::measure::{self, checksums, global_status};
use super::report::{ArmResult, ArmSummary, BenchReport, Machine, RunSettings, ServerSettings, WorkloadInfo};
use super::sandbox::BenchSandbox;
use super::{ArmSpec, BenchError, BenchOptions};
use super::report::WorkloadResult;
use super::workload::WorkloadKind;
use crate::net::quote_ident;
use crate::schedule::Mode;
use crate::schedule::analyze::{AnalyzeOptions, Analyzer};
use crate::schedule::StaticCatalog;
use crate::source::file::BinlogFiles;
use crate::txn::TransactionReader;
use super::workload::SysbenchPhase;

const STATE_SCHEMA: &str = "parapply";

/// The captured backlog: files, what the source ended with, and the scheduler's barriers.
pub(crate) struct Capture {
    kind: WorkloadKind,
    /// The parapply binary run for parapply arms.
    bin: PathBuf,
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
    /// No source server ran this backlog (generated files): the first passing arm's checksums
    /// become the reference, and MariaDB arms are not run.
    generated: bool,
    /// Binlog files of the workload's setup (tables and seed rows): applied untimed before
    /// every arm, so each arm starts from the pre-workload snapshot and times only the backlog.
    setup_files: Vec<PathBuf>,
    /// The source's GTID at the end of the setup; `None`: no snapshot, arms time everything.
    snapshot: Option<Snapshot>,
}

/// The source's position at the pre-workload snapshot: one MariaDB GTID (the bench source
/// has one domain).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    gtid: String,
    domain: u32,
    seq_no: u64,
}

impl Snapshot {
    /// From `@@gtid_binlog_pos`; `None` when it is empty or names several domains.
    fn parse(pos: &str) -> Option<Snapshot> {
        let pos = pos.trim();
        if pos.is_empty() || pos.contains(',') {
            return None;
        }
        let mut parts = pos.split('-');
        let domain = parts.next()?.parse().ok()?;
        let _server: u32 = parts.next()?.parse().ok()?;
        let seq_no = parts.next()?.parse().ok()?;
        parts.next().is_none().then(|| Snapshot { gtid: pos.to_string(), domain, seq_no })
    }

    /// Whether `txn` is part of the setup (at or before the snapshot).
    fn covers(&self, txn: &crate::txn::Transaction) -> bool {
        matches!(txn.gtid, Some(crate::txn::Gtid::Mariadb { domain, seq, .. }) if domain == self.domain && seq <= self.seq_no)
    }
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
    // Absolute: mariadbd resolves a relative datadir against its own base directory.
    std::fs::create_dir_all(&opts.out).map_err(|e| BenchError::Other(format!("creating {}: {e}", opts.out.display())))?;
    let out = std::fs::canonicalize(&opts.out).map_err(|e| BenchError::Other(format!("{}: {e}", opts.out.display())))?;
    let sb_dir = out.join("sandbox");
    let mut sb = BenchSandbox::start(&opts.sandbox_script, &sb_dir, &["A", "C", "D"], &opts.server_args())?;
    let result = run_in_sandbox(opts, &sb, started);
    sb.stop();
    let report = result?;
    super::report::write_all(&opts.out, &report)?;
    Ok(report)
}

fn run_in_sandbox(opts: &BenchOptions, sb: &BenchSandbox, started: Instant) -> Result<BenchReport, BenchError> {
    let rt = rt()?;
    // What every instance really runs with, read back and checked before anything is measured:
    // the report states these, not the arguments.
    let servers = rt.block_on(async {
        let mut v = Vec::new();
        for (name, role) in [("A", "source"), ("C", "parapply target"), ("D", "MariaDB replica")] {
            let mut c = connect(&sb.url(name)).await?;
            v.push(server_settings(&mut c, name, role).await.map_err(BenchError::sql(format!("settings of {name}")))?);
        }
        Ok::<_, BenchError>(v)
    })?;
    let (sync, flush) = opts.durability.settings();
    if let Some(bad) = servers.iter().find(|v| (v.sync_binlog, v.innodb_flush_log_at_trx_commit) != (sync, flush)) {
        return Err(BenchError::Other(format!(
            "durability {}: instance {} runs with sync_binlog={} innodb_flush_log_at_trx_commit={} (expected {sync} and {flush}; check the extra mariadbd arguments)",
            opts.durability.name(),
            bad.instance,
            bad.sync_binlog,
            bad.innodb_flush_log_at_trx_commit
        )));
    }
    let repeat = opts.repeat.max(1);
    let all_specs: Vec<ArmSpec> = opts.parapply_arms().into_iter().chain(opts.mariadb_arms()).collect();
    let progress = Progress::new((all_specs.len() * repeat * opts.workloads.len()) as u64);
    let mut workloads = Vec::new();
    let mut previous_schema: Option<String> = None;
    for &kind in &opts.workloads {
        let wopts = opts.sized_for(kind);
        let mut cap = rt.block_on(capture(&wopts, sb, kind, previous_schema.take()))?;
        if !cap.generated {
            previous_schema = Some(cap.schema.clone());
        }
        let size = workload_size(&wopts, kind);
        log_line(&format!("workload {}: captured {} transactions, {} rows in {} binlog file(s) ({size})", kind.name(), cap.txns, cap.rows, cap.files.len()));
        // Generated MySQL 8 files: a MariaDB replica cannot replicate them.
        let specs: Vec<ArmSpec> = if cap.generated { opts.parapply_arms() } else { all_specs.clone() };
        let mut runs: Vec<Vec<super::report::ArmResult>> = vec![Vec::new(); specs.len()];
        let mut note = None;
        for (round, i) in super::interleaved(specs.len(), repeat) {
            let spec = &specs[i];
            progress.start(&format!("{} / {} (round {}/{repeat})", kind.name(), spec.name(), round + 1));
            let r = run_arm(&rt, sb, &mut cap, spec, round);
            // Generated files whose first arm cannot apply them will not apply in any mode:
            // say why once instead of failing every arm the same way.
            if cap.generated && cap.source_checksums.is_empty() {
                note = Some(format!("not applicable on this target: {}", r.error.clone().unwrap_or_default()));
                runs[i].push(r);
                break;
            }
            runs[i].push(r);
        }
        if cap.generated && note.is_none() {
            note = Some("MySQL 8 binlog files: a MariaDB replica cannot replicate them, so only parapply arms ran; the reference checksums are those of the first passing arm (no source server ran this backlog).".into());
        }
        let arms = specs.into_iter().zip(runs).filter(|(_, r)| !r.is_empty()).map(|(spec, r)| ArmSummary::from_runs(spec, r)).collect();
        workloads.push(WorkloadResult {
            info: WorkloadInfo {
                name: kind.name().to_string(),
                schema: cap.schema.clone(),
                size,
                params: workload_params(&wopts, kind),
                transactions: cap.txns,
                rows: cap.rows,
                binlog_files: cap.files.iter().map(|p| p.display().to_string()).collect(),
            },
            arms,
            note,
        });
    }
    progress.finish();

    let lag = match &opts.lag {
        Some(lag_opts) => {
            // The lag experiment's rates are fractions of the native serial replica's capacity:
            // its median on the first workload that ran it (the oltp-like ones first).
            let native_serial = |w: &WorkloadResult| w.arms.iter().find(|a| matches!(&a.spec, ArmSpec::Mariadb { parallel_mode, .. } if parallel_mode == "none")).and_then(|a| a.txns_per_second);
            let capacity = workloads
                .iter()
                .filter(|w| matches!(w.info.name.as_str(), "oltp" | "oltp_write_only"))
                .chain(workloads.iter())
                .find_map(|w| native_serial(w).map(|t| (t, w.info.name.clone())));
            Some(super::steady::run(opts, lag_opts, sb, capacity)?)
        }
        None => None,
    };

    let mariadb_version = servers.iter().find(|s| s.instance == "C").map(|s| s.version.clone()).unwrap_or_default();
    Ok(BenchReport {
        quick: opts.quick,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        unix_time: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        total_seconds: started.elapsed().as_secs_f64(),
        machine: Machine::probe(mariadb_version, opts.server_args()),
        settings: RunSettings {
            parapply_version: parapply_version(&opts.parapply_bin),
            durability: opts.durability,
            servers,
            repeat,
            workers: opts.workers.clone(),
            modes: opts.modes.iter().map(|m| m.name().to_string()).collect(),
            mariadb_modes: opts.mariadb_modes.clone(),
            commit_group: opts.commit_group,
            per_txn_workers: opts.per_txn_workers.clone(),
            scale: opts.scale,
        },
        workloads,
        lag,
    })
}

/// `parapply --version` of the binary the arms run (its commit is part of it).
fn parapply_version(bin: &std::path::Path) -> String {
    std::process::Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| format!("{} (version unknown)", bin.display()))
}

/// The durability and binlog settings one instance actually runs with.
async fn server_settings(c: &mut mysql_async::Conn, name: &str, role: &str) -> Result<ServerSettings, mysql_async::Error> {
    type Row = (String, u32, u32, u32, String, String, u32);
    let row: Option<Row> = c
        .query_first("SELECT VERSION(), @@server_id, @@sync_binlog, @@innodb_flush_log_at_trx_commit, @@binlog_format, @@binlog_row_image, @@log_slave_updates")
        .await?;
    let (version, server_id, sync_binlog, flush, binlog_format, binlog_row_image, lsu) = row.unwrap_or_default();
    Ok(ServerSettings {
        instance: name.to_string(),
        role: role.to_string(),
        version,
        server_id,
        sync_binlog,
        innodb_flush_log_at_trx_commit: flush,
        binlog_format,
        binlog_row_image,
        log_slave_updates: lsu != 0,
    })
}

/// The workload's size in words, for the report.
fn workload_size(opts: &BenchOptions, kind: WorkloadKind) -> String {
    let o = &opts.workload;
    let c = &opts.custom;
    match kind {
        WorkloadKind::Oltp => format!("{} clients × {} transactions on {} tables × {} rows", o.clients, o.txns_per_client, o.tables, o.rows_per_table),
        k if k.is_sysbench() => format!("sysbench {} --events={} --threads={} --tables={} --table-size={}", k.name(), opts.sysbench.events, opts.sysbench.threads, o.tables, opts.sysbench.table_size),
        WorkloadKind::Mysql8Gen => format!("`parapply gen` {} transactions", opts.gen_transactions),
        _ => format!("{} clients × {} transactions", c.clients, c.txns_per_client),
    }
}

/// The parameters of a workload as recorded in the report.
fn workload_params(opts: &BenchOptions, kind: WorkloadKind) -> serde_json::Value {
    let v = match kind {
        WorkloadKind::Oltp => serde_json::to_value(&opts.workload),
        k if k.is_sysbench() => serde_json::to_value(super::workload::SysbenchParams { test: k.name().into(), ..opts.sysbench.clone() }),
        WorkloadKind::Mysql8Gen => serde_json::to_value(super::workload::mysql8_gen_params(opts.gen_transactions)),
        _ => serde_json::to_value(opts.custom),
    };
    v.unwrap_or(serde_json::Value::Null)
}

/// Run the workload once on A and keep its binlog under the cache directory (generated
/// workloads: write the files there directly).
async fn capture(opts: &BenchOptions, sb: &BenchSandbox, kind: WorkloadKind, previous_schema: Option<String>) -> Result<Capture, BenchError> {
    let schema = kind.schema(&opts.workload);
    let cache = super::cache_dir(&opts.out, kind.name());
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache).map_err(|e| BenchError::Io(cache.display().to_string(), e))?;
    let url = sb.url("A");
    let mut files = Vec::new();
    let mut setup_files = Vec::new();
    let mut snapshot = None;
    let mut source_checksums = BTreeMap::new();
    let tables: Vec<String>;
    let (mut source_file, mut source_pos, mut source_gtid) = (String::new(), 0, String::new());
    if kind == WorkloadKind::Mysql8Gen {
        let params = super::workload::mysql8_gen_params(opts.gen_transactions);
        let cache2 = cache.clone();
        let summary = tokio::task::spawn_blocking(move || crate::gen::generate(&params, &cache2))
            .await
            .map_err(|e| BenchError::Other(format!("generator task: {e}")))?
            .map_err(|e| BenchError::Other(format!("generating MySQL 8 binlog files: {e}")))?;
        files = summary.files.iter().map(|f| cache.join(&f.name)).collect();
        tables = crate::gen::workload::schema(&summary.params).iter().map(|t| t.def.name.clone()).collect();
    } else {
        let mut a = connect(&url).await?;
        // The binlog then holds exactly the schema and the workload.
        if let Some(prev) = previous_schema {
            a.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&prev))).await.map_err(BenchError::sql("dropping the previous workload on the source"))?;
        }
        a.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&schema))).await.map_err(BenchError::sql("dropping the workload schema on the source"))?;
        a.query_drop("RESET MASTER").await.map_err(BenchError::sql("RESET MASTER on the source"))?;
        // Setup (tables and seed rows), then the snapshot point, then the backlog.
        let sysbench = |phase| {
            let p = super::workload::SysbenchParams { test: kind.name().into(), ..opts.sysbench.clone() };
            let (port, schema, tables) = (sb.port("A"), schema.clone(), opts.workload.tables);
            async move {
                tokio::task::spawn_blocking(move || super::workload::run_sysbench(port, &schema, tables, &p, phase))
                    .await
                    .map_err(|e| BenchError::Other(format!("sysbench task: {e}")))?
                    .map_err(BenchError::Other)
            }
        };
        if kind.is_sysbench() {
            a.query_drop(format!("CREATE DATABASE {}", quote_ident(&schema))).await.map_err(BenchError::sql("creating the sysbench schema"))?;
            sysbench(SysbenchPhase::Prepare).await?;
        } else if kind == WorkloadKind::Oltp {
            super::workload::prepare_oltp(&url, &opts.workload).await.map_err(BenchError::sql("preparing the workload on the source"))?;
        } else {
            super::workload::setup_custom(&url, kind, &schema, opts.custom).await.map_err(BenchError::sql(format!("setting up workload {} on the source", kind.name())))?;
        }
        let setup_pos: Option<String> = a.query_first("SELECT @@gtid_binlog_pos").await.map_err(BenchError::sql("gtid_binlog_pos"))?;
        // A new binlog file starts with the backlog, so the timed replay reads only the backlog.
        a.query_drop("FLUSH BINARY LOGS").await.map_err(BenchError::sql("FLUSH BINARY LOGS on the source"))?;
        let setup_names: Vec<std::ffi::OsString> = sb.binlog_files("A")?.iter().rev().skip(1).filter_map(|f| f.file_name().map(|n| n.to_os_string())).collect();
        snapshot = setup_pos.and_then(|pos| Snapshot::parse(&pos));
        if kind.is_sysbench() {
            sysbench(SysbenchPhase::Run).await?;
        } else if kind == WorkloadKind::Oltp {
            let committed = super::workload::load_oltp(&url, &opts.workload).await.map_err(BenchError::sql("running the workload on the source"))?;
            tracing::debug!(committed, "workload done");
        } else {
            let committed = super::workload::load_custom(&url, kind, &schema, opts.custom).await.map_err(BenchError::sql(format!("running workload {} on the source", kind.name())))?;
            tracing::debug!(committed, "workload done");
        }
        tables = a
            .exec("SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", (schema.as_str(),))
            .await
            .map_err(BenchError::sql("listing the workload's tables"))?;
        source_checksums = checksums(&mut a, &schema, &tables).await.map_err(BenchError::sql("CHECKSUM TABLE on the source"))?;
        let row: Option<mysql_async::Row> = a.query_first("SHOW MASTER STATUS").await.map_err(BenchError::sql("SHOW MASTER STATUS"))?;
        let row = row.ok_or_else(|| BenchError::Other("source has no binlog (SHOW MASTER STATUS empty)".into()))?;
        source_file = row.get::<String, _>(0).unwrap_or_default();
        source_pos = row.get::<u64, _>(1).unwrap_or(0);
        let g: Option<String> = a.query_first("SELECT @@gtid_binlog_pos").await.map_err(BenchError::sql("gtid_binlog_pos"))?;
        source_gtid = g.unwrap_or_default();
        drop(a);
        for f in sb.binlog_files("A")? {
            let Some(name) = f.file_name() else { continue };
            let dst = cache.join(name);
            std::fs::copy(&f, &dst).map_err(|e| BenchError::Io(f.display().to_string(), e))?;
            if setup_names.iter().any(|n| n == name) {
                setup_files.push(dst);
            } else {
                files.push(dst);
            }
        }
        if snapshot.is_none() {
            // No single-domain snapshot point: every arm applies setup and backlog, timed.
            files.splice(0..0, setup_files.drain(..));
        }
    }

    // Count the backlog and ask the scheduler's analysis for barriers per mode.
    let mut analyzer = Analyzer::new(AnalyzeOptions { workers: opts.workers.iter().copied().max().unwrap_or(1), ..AnalyzeOptions::default() }, Arc::new(StaticCatalog::new()));
    let reader = TransactionReader::new(BinlogFiles::open(&files).map_err(|e| BenchError::Other(format!("captured binlog: {e}")))?);
    for t in reader {
        let t = t.map_err(|e| BenchError::Other(format!("reading the captured binlog: {e}")))?;
        if snapshot.as_ref().is_some_and(|s| s.covers(&t)) {
            continue;
        }
        analyzer.add(&t);
    }
    let analysis = analyzer.finish();
    let barriers = analysis
        .modes
        .iter()
        .map(|m| (m.mode, m.barriers.iter().map(|(r, n)| (r.name().to_string(), *n)).collect::<BTreeMap<_, _>>()))
        .collect();
    Ok(Capture {
        kind,
        bin: opts.parapply_bin.clone(),
        files,
        schema,
        tables,
        source_checksums,
        txns: analysis.transactions,
        rows: analysis.rows,
        barriers,
        source_file,
        source_pos,
        source_gtid,
        generated: kind == WorkloadKind::Mysql8Gen,
        setup_files,
        snapshot,
    })
}

/// One repetition of an arm; never fails as a whole: an error or a checksum mismatch makes it
/// FAILED.
fn run_arm(rt: &tokio::runtime::Runtime, sb: &BenchSandbox, cap: &mut Capture, spec: &ArmSpec, round: usize) -> ArmResult {
    let mut res = ArmResult::new(spec.clone(), round, cap.txns, cap.rows);
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
            if cap.generated && cap.source_checksums.is_empty() && res.error.is_none() && sums.values().all(Option::is_some) {
                cap.source_checksums = sums.clone();
            }
            res.checksum_ok = res.error.is_none() && sums == cap.source_checksums && sums.values().all(Option::is_some);
            if !res.checksum_ok && res.error.is_none() {
                res.error = Some(format!("checksums differ: target {sums:?}, source {:?}", cap.source_checksums));
            }
        }
        Err(e) => res.error = Some(format!("checksum: {e}")),
    }
    res.finalize();
    log_line(&format!("{} / {} (round {}): {}", cap.kind.name(), spec.name(), round + 1, res.summary_line()));
    res
}

/// The target's counters at the start of an arm's timed part, after `FLUSH BINARY LOGS` so
/// the arm's transactions are in the binlog files from `first_file` on.
struct TargetMark {
    first_file: String,
    server_id: u32,
    commits: u64,
    deadlocks: u64,
    cpu: Option<f64>,
    pid: Option<i32>,
}

impl TargetMark {
    /// Flush the binlog, read the counters, and reset the server's peak-RSS mark.
    async fn take(c: &mut mysql_async::Conn, pid: Option<i32>) -> Result<TargetMark, BenchError> {
        c.query_drop("FLUSH BINARY LOGS").await.map_err(BenchError::sql("FLUSH BINARY LOGS on the target"))?;
        let row: Option<mysql_async::Row> = c.query_first("SHOW MASTER STATUS").await.map_err(BenchError::sql("SHOW MASTER STATUS on the target"))?;
        let first_file = row.and_then(|r| r.get_opt::<String, _>(0).and_then(Result::ok)).ok_or_else(|| BenchError::Other("the target has no binlog (SHOW MASTER STATUS empty)".into()))?;
        let server_id: Option<u32> = c.query_first("SELECT @@server_id").await.map_err(BenchError::sql("server_id"))?;
        let commits = global_status(c, "Com_commit").await.map_err(BenchError::sql("status"))?;
        let deadlocks = global_status(c, "Innodb_deadlocks").await.map_err(BenchError::sql("status"))?;
        if let Some(p) = pid {
            measure::reset_peak_rss(p);
        }
        Ok(TargetMark { first_file, server_id: server_id.unwrap_or(0), commits, deadlocks, cpu: pid.and_then(measure::cpu_seconds), pid })
    }

    /// The arm's deltas into `res`: commits, deadlocks, GTIDs logged, the server's CPU and peak RSS.
    async fn finish(&self, c: &mut mysql_async::Conn, sb: &BenchSandbox, name: &str, res: &mut ArmResult) -> Result<(), BenchError> {
        res.target_cpu_seconds = match (self.cpu, self.pid.and_then(measure::cpu_seconds)) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        res.target_peak_rss_bytes = self.pid.and_then(measure::peak_rss_bytes);
        res.target_commits = Some(global_status(c, "Com_commit").await.map_err(BenchError::sql("status"))?.saturating_sub(self.commits));
        res.deadlocks = global_status(c, "Innodb_deadlocks").await.map_err(BenchError::sql("status"))?.saturating_sub(self.deadlocks);
        let files: Vec<PathBuf> = sb.binlog_files(name)?.into_iter().filter(|f| f.file_name().and_then(|n| n.to_str()).is_some_and(|n| n >= self.first_file.as_str())).collect();
        let n = measure::count_gtids(&files, self.server_id).map_err(|e| BenchError::Other(format!("counting the target's GTIDs: {e}")))?;
        res.target_gtids = Some(n.total);
        res.target_source_gtids = Some(n.foreign);
        Ok(())
    }
}

fn run_parapply(rt: &tokio::runtime::Runtime, sb: &BenchSandbox, cap: &Capture, spec: &ArmSpec, res: &mut ArmResult) -> Result<(), BenchError> {
    let ArmSpec::Parapply { mode, workers, preserve_commit_order, commit_group } = spec else { return Ok(()) };
    let url = sb.url("C");
    rt.block_on(async {
        let mut c = connect(&url).await?;
        for s in [format!("DROP DATABASE IF EXISTS {}", quote_ident(&cap.schema)), format!("DROP DATABASE IF EXISTS {}", quote_ident(STATE_SCHEMA)), "RESET MASTER".into()] {
            c.query_drop(&s).await.map_err(BenchError::sql(format!("target reset: {s}")))?;
        }
        Ok::<_, BenchError>(())
    })?;
    if !cap.setup_files.is_empty() {
        // Untimed: bring the target to the pre-workload snapshot.
        let mut cmd = std::process::Command::new(&cap.bin);
        cmd.arg("replay")
            .args(&cap.setup_files)
            .args(["--target", &url, "--mode", "writeset", "--workers", "4", "--state-schema", STATE_SCHEMA, "--json"])
            .env("PARAPPLY_LOG", "warn");
        let setup = measure::run_child(cmd).map_err(|e| BenchError::Io("parapply replay (setup)".into(), e))?;
        if !setup.success {
            let tail: String = setup.stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
            return Err(BenchError::Other(format!("parapply replay of the setup exited with {}: {tail}", setup.status)));
        }
    }
    let mark = rt.block_on(async {
        let mut c = connect(&url).await?;
        TargetMark::take(&mut c, sb.pid("C")).await
    })?;
    // `parapply replay` as a child: its peak RSS and CPU time are this arm's alone.
    let mode_arg = clap::ValueEnum::to_possible_value(mode).map(|v| v.get_name().to_string()).unwrap_or_else(|| mode.name().to_string());
    let mut cmd = std::process::Command::new(&cap.bin);
    cmd.arg("replay")
        .args(&cap.files)
        .args(["--target", &url, "--mode", &mode_arg, "--workers", &workers.to_string(), "--state-schema", STATE_SCHEMA, "--json"])
        .args(["--commit-group", &commit_group.to_string()])
        .env("PARAPPLY_LOG", "warn");
    if !preserve_commit_order {
        cmd.arg("--no-preserve-commit-order");
    }
    let child = measure::run_child(cmd).map_err(|e| BenchError::Io("parapply replay".into(), e))?;
    if !child.success {
        let tail: String = child.stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
        return Err(BenchError::Other(format!("parapply replay exited with {}: {tail}", child.status)));
    }
    rt.block_on(async {
        let mut c = connect(&url).await?;
        mark.finish(&mut c, sb, "C", res).await
    })?;
    let summary: serde_json::Value = serde_json::from_str(child.stdout.trim()).map_err(|e| BenchError::Other(format!("parapply replay --json output: {e}")))?;
    let num = |k: &str| summary[k].as_u64().unwrap_or(0);
    // The pipeline's own clock (from the first read to the last commit), as the in-process
    // harness measured it; process start-up and connecting are not apply time.
    res.seconds = summary["seconds"].as_f64().or(Some(child.wall_seconds));
    res.applier_cpu_seconds = Some(child.cpu_seconds);
    res.peak_rss_bytes = Some(child.peak_rss_bytes);
    res.txns = num("txns_applied");
    res.rows = num("rows_applied");
    res.retries = num("retries");
    res.applier_reported_commits = summary["target_commits"].as_u64();
    // The run's own barriers (its scheduler read keys from the target's catalog); the offline
    // analysis, which knows no schema, only when the summary has none.
    res.barriers = match summary["scheduler"]["barriers"].as_array() {
        Some(list) => list.iter().filter_map(|b| Some((b.get(0)?.as_str()?.to_string(), b.get(1)?.as_u64()?))).collect(),
        None => cap.barriers.get(mode).cloned().unwrap_or_default(),
    };
    Ok(())
}

/// Poll (every 10 ms) until the replica's `gtid_slave_pos` is `want`; an SQL thread error or
/// the deadline ends the wait with an error.
async fn wait_slave_pos(d: &mut mysql_async::Conn, want: &str, limit: Duration) -> Result<(), BenchError> {
    let t0 = Instant::now();
    loop {
        let pos: Option<String> = d.query_first("SELECT @@gtid_slave_pos").await.map_err(BenchError::sql("gtid_slave_pos"))?;
        if pos.as_deref() == Some(want) {
            return Ok(());
        }
        if t0.elapsed() > limit {
            return Err(BenchError::Other(format!("replica did not reach {want} within {} s (at {pos:?})", limit.as_secs())));
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
            format!("DROP DATABASE IF EXISTS {}", quote_ident(&cap.schema)),
            "RESET MASTER".into(),
            "SET GLOBAL gtid_slave_pos=''".into(),
            format!("SET GLOBAL slave_parallel_threads={threads_setting}"),
            format!("SET GLOBAL slave_parallel_mode='{parallel_mode}'"),
            format!("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={source_port}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos"),
        ];
        for s in &setup {
            d.query_drop(s).await.map_err(BenchError::sql(format!("replica setup: {}", s.split(" MASTER_PASSWORD").next().unwrap_or(s))))?;
        }
        if let Some(snap) = &cap.snapshot {
            // Untimed: replicate the setup up to the pre-workload snapshot, then stop.
            d.query_drop(format!("START SLAVE UNTIL master_gtid_pos = '{}'", snap.gtid)).await.map_err(BenchError::sql("START SLAVE UNTIL"))?;
            wait_slave_pos(&mut d, &snap.gtid, Duration::from_secs(600)).await?;
            d.query_drop("STOP SLAVE").await.map_err(BenchError::sql("STOP SLAVE"))?;
            // The UNTIL condition outlives STOP SLAVE (even the IO thread would stop there
            // again); CHANGE MASTER clears it.
            d.query_drop("CHANGE MASTER TO MASTER_USE_GTID=slave_pos").await.map_err(BenchError::sql("CHANGE MASTER (clear UNTIL)"))?;
        }
        d.query_drop("START SLAVE IO_THREAD").await.map_err(BenchError::sql("START SLAVE IO_THREAD"))?;
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
        let mark = TargetMark::take(&mut d, pid).await?;
        let t0 = Instant::now();
        d.query_drop("START SLAVE SQL_THREAD").await.map_err(BenchError::sql("START SLAVE SQL_THREAD"))?;
        wait_slave_pos(&mut d, &cap.source_gtid, Duration::from_secs(3600)).await?;
        res.seconds = Some(t0.elapsed().as_secs_f64());
        // The applier runs inside the replica's server: one process, reported as the target.
        res.retries = global_status(&mut d, "Slave_retried_transactions").await.map_err(BenchError::sql("status"))?.saturating_sub(retries0);
        mark.finish(&mut d, sb, "D", res).await?;
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

#[cfg(test)]
mod tests {
    use super::Snapshot;

    #[test]
    fn snapshot_is_one_mariadb_gtid() {
        assert_eq!(Snapshot::parse(" 0-1-57\n"), Some(Snapshot { gtid: "0-1-57".into(), domain: 0, seq_no: 57 }));
        assert_eq!(Snapshot::parse("3-200-9"), Some(Snapshot { gtid: "3-200-9".into(), domain: 3, seq_no: 9 }));
        // Several domains, empty, or not a GTID: no snapshot point.
        assert_eq!(Snapshot::parse("0-1-57,1-2-3"), None);
        assert_eq!(Snapshot::parse(""), None);
        assert_eq!(Snapshot::parse("0-1"), None);
        assert_eq!(Snapshot::parse("0-1-2-3"), None);
        assert_eq!(Snapshot::parse("a-1-2"), None);
    }
}
