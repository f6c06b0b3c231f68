//! The benchmark harness behind `parapply bench`: capture a write workload once on a sandbox
//! source, then apply the identical backlog with every parapply mode and worker count and with
//! MariaDB's own parallel replication, check `CHECKSUM TABLE` after every arm, and report.
//!
//! - [`sandbox`]: the private MariaDB instances of one run (`tools/sandbox`).
//! - [`workload`]: the workloads run on the source (built-in oltp, sysbench, hot rows, many
//!   tables, FK parent/child, large transactions, DDL, no primary key) or generated (MySQL 8).
//! - [`arms`]: running one arm (`parapply replay` as a child process, or a MariaDB replica) and
//!   measuring it.
//! - [`steady`]: the steady-state lag experiment (fixed source rate, `parapply run` live).
//! - [`measure`]: CPU, peak RSS (child rusage) and checksums.
//! - [`report`]: `results.md`, `results.json` and the SVG plots.
//!
//! This module owns the orchestration only; the applier itself is the `parapply` binary's
//! `replay` and `run` commands, run as child processes. It must not change the pipeline or the scheduler.

pub mod arms;
pub mod measure;
pub mod report;
pub mod sandbox;
pub mod steady;
pub mod workload;

use std::path::{Path, PathBuf};

use crate::schedule::Mode;

/// Errors of a bench run, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("{what}: {}", crate::error_text::chain(.1), what = .0)]
    Io(String, std::io::Error),
    #[error("{what}: {}", crate::error_text::chain(.cause))]
    Sql {
        what: String,
        cause: mysql_async::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl BenchError {
    pub(crate) fn sql(what: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Sql { what, cause: source }
    }
}

/// Who applies the backlog in one arm.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "applier", rename_all = "snake_case")]
pub enum ArmSpec {
    /// parapply's pipeline (`parapply replay` as a child process, or `parapply run` in the lag
    /// experiment). `commit_group` is `--commit-group`: at most this many consecutive source
    /// transactions per target COMMIT (1: every source transaction is its own target
    /// transaction with its own GTID, as on a native replica).
    Parapply { mode: Mode, workers: usize, preserve_commit_order: bool, commit_group: usize },
    /// A MariaDB replica's SQL thread(s): `slave_parallel_mode` and `slave_parallel_threads`.
    Mariadb { parallel_mode: String, threads: usize },
}

impl ArmSpec {
    /// `parapply writeset w=8 cg=128`, `parapply writeset w=8 cg=1 no-commit-order`,
    /// `mariadb optimistic t=8`: the name says every setting that differs between arms.
    pub fn name(&self) -> String {
        match self {
            ArmSpec::Parapply { mode, workers, preserve_commit_order, commit_group } => {
                format!("parapply {} w={} cg={}{}", mode.name(), workers, commit_group, if *preserve_commit_order { "" } else { " no-commit-order" })
            }
            ArmSpec::Mariadb { parallel_mode, threads } => format!("mariadb {parallel_mode} t={threads}"),
        }
    }
    /// The series an arm belongs to in plots (everything but the worker count).
    pub fn series(&self) -> String {
        match self {
            ArmSpec::Parapply { mode, preserve_commit_order: true, commit_group, .. } => format!("{} cg={commit_group}", mode.name()),
            ArmSpec::Parapply { mode, commit_group, .. } => format!("{} cg={commit_group} (no commit order)", mode.name()),
            ArmSpec::Mariadb { parallel_mode, .. } => format!("mariadb {parallel_mode}"),
        }
    }
    pub fn workers(&self) -> usize {
        match self {
            ArmSpec::Parapply { workers, .. } => *workers,
            ArmSpec::Mariadb { threads, .. } => *threads,
        }
    }
    pub fn is_mariadb(&self) -> bool {
        matches!(self, ArmSpec::Mariadb { .. })
    }
}

/// How durable every instance (source, parapply's target, MariaDB replica) commits. The same
/// on every instance, so both sides of a comparison pay the same fsyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// `sync_binlog=1`, `innodb_flush_log_at_trx_commit=1`: crash-safe commits, as a
    /// production replica (issue 16's measurement).
    Full,
    /// `sync_binlog=0`, `innodb_flush_log_at_trx_commit=1` (the earlier full runs).
    Relaxed,
    /// `sync_binlog=0`, `innodb_flush_log_at_trx_commit=2`: no fsync per commit (CI's `--quick`).
    Fast,
}

impl Durability {
    pub fn name(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Relaxed => "relaxed",
            Durability::Fast => "fast",
        }
    }
    /// `(sync_binlog, innodb_flush_log_at_trx_commit)`.
    pub fn settings(self) -> (u32, u32) {
        match self {
            Durability::Full => (1, 1),
            Durability::Relaxed => (0, 1),
            Durability::Fast => (0, 2),
        }
    }
    /// The mariadbd arguments that set it.
    pub fn mariadbd_args(self) -> String {
        let (sync, flush) = self.settings();
        format!("--sync-binlog={sync} --innodb-flush-log-at-trx-commit={flush}")
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub quick: bool,
    pub out: PathBuf,
    /// The repository's `tools/sandbox` script.
    pub sandbox_script: PathBuf,
    pub workers: Vec<usize>,
    pub modes: Vec<Mode>,
    pub mariadb_modes: Vec<String>,
    /// `--commit-group` of the default parapply arms (parapply's own default: 128).
    pub commit_group: usize,
    /// Worker counts of the per-transaction arms (`--commit-group 1`, with and without commit
    /// order) and of the default-group commit-order-off arm.
    pub per_txn_workers: Vec<usize>,
    /// Every arm runs this many times, interleaved (see [`interleaved`]).
    pub repeat: usize,
    pub durability: Durability,
    /// The workloads, each captured once and applied by every arm, in this order.
    pub workloads: Vec<workload::WorkloadKind>,
    /// The built-in oltp workload's size.
    pub workload: workload::OltpParams,
    /// sysbench sizes (its `test` is set per workload).
    pub sysbench: workload::SysbenchParams,
    /// The custom workloads' size.
    pub custom: workload::CustomScale,
    /// DML transactions of the MySQL 8 generator workload.
    pub gen_transactions: u64,
    /// Size each workload at its own default transaction count
    /// ([`workload::WorkloadKind::default_transactions`]) × `scale`; false: the sizes above as
    /// given (quick, or `--txns-per-client` / `--sysbench-events`).
    pub sizing: bool,
    /// Multiplies each workload's default transaction count.
    pub scale: f64,
    /// The steady-state lag experiment (None: skipped).
    pub lag: Option<steady::LagOptions>,
    /// The parapply binary run for parapply arms (`replay`) and the lag experiment (`run`).
    pub parapply_bin: PathBuf,
    /// Extra mariadbd arguments, identical on every instance (after the durability's).
    pub mariadbd_args: String,
}

impl BenchOptions {
    /// The CI configuration: small workload, workers 1 and 4, MariaDB none and optimistic at 4,
    /// one repetition, no fsync per commit.
    pub fn quick(out: PathBuf, sandbox_script: PathBuf) -> BenchOptions {
        BenchOptions {
            quick: true,
            out,
            sandbox_script,
            workers: vec![1, 4],
            modes: Mode::ALL.to_vec(),
            mariadb_modes: vec!["none".into(), "optimistic".into()],
            commit_group: 128,
            per_txn_workers: vec![4],
            repeat: 1,
            durability: Durability::Fast,
            workloads: vec![workload::WorkloadKind::Oltp],
            workload: workload::OltpParams { schema: "benchq".into(), tables: 4, rows_per_table: 1000, clients: 4, txns_per_client: 250, seed: 1 },
            sysbench: workload::SysbenchParams { test: String::new(), table_size: 1000, threads: 4, events: 1000 },
            custom: workload::CustomScale { clients: 4, txns_per_client: 20, seed: 1 },
            gen_transactions: 1000,
            sizing: false,
            scale: 1.0,
            lag: Some(steady::LagOptions::quick()),
            parapply_bin: default_bin(),
            mariadbd_args: String::new(),
        }
    }

    /// The full configuration: workers 1..16, every MariaDB mode, 3 interleaved repetitions,
    /// `sync_binlog=1` and `innodb_flush_log_at_trx_commit=1` everywhere.
    pub fn full(out: PathBuf, sandbox_script: PathBuf) -> BenchOptions {
        BenchOptions {
            quick: false,
            out,
            sandbox_script,
            workers: vec![1, 2, 4, 8, 16],
            modes: Mode::ALL.to_vec(),
            mariadb_modes: vec!["none".into(), "conservative".into(), "optimistic".into(), "aggressive".into()],
            commit_group: 128,
            per_txn_workers: vec![8],
            repeat: 3,
            durability: Durability::Full,
            workloads: default_workloads(),
            workload: workload::OltpParams { schema: "bench".into(), tables: 8, rows_per_table: 10_000, clients: 16, txns_per_client: 1000, seed: 1 },
            sysbench: workload::SysbenchParams { test: String::new(), table_size: 10_000, threads: 16, events: 20_000 },
            custom: workload::CustomScale { clients: 8, txns_per_client: 500, seed: 1 },
            gen_transactions: 20_000,
            sizing: true,
            scale: 1.0,
            lag: Some(steady::LagOptions::full()),
            parapply_bin: default_bin(),
            mariadbd_args: String::new(),
        }
    }

    /// These options with the sizes of workload `kind` (its default transaction count × `scale`
    /// when sizing, split over its clients).
    pub fn sized_for(&self, kind: workload::WorkloadKind) -> BenchOptions {
        let mut o = self.clone();
        if !self.sizing {
            return o;
        }
        let total = ((kind.default_transactions() as f64) * self.scale).round().max(1.0) as u64;
        let per = |clients: u32| u32::try_from(total.div_ceil(u64::from(clients.max(1)))).unwrap_or(u32::MAX).max(1);
        o.workload.txns_per_client = per(o.workload.clients);
        o.custom.txns_per_client = per(o.custom.clients);
        o.sysbench.events = total;
        o.gen_transactions = total;
        o
    }

    /// The mariadbd arguments of every instance: the durability's, then the extra ones.
    pub fn server_args(&self) -> String {
        let d = self.durability.mariadbd_args();
        if self.mariadbd_args.trim().is_empty() {
            d
        } else {
            format!("{d} {}", self.mariadbd_args.trim())
        }
    }

    /// The MariaDB arms: `none` once (its thread count is irrelevant, reported at the largest),
    /// the other modes at every worker count > 1 (quick: only the largest).
    pub fn mariadb_arms(&self) -> Vec<ArmSpec> {
        let max = self.workers.iter().copied().max().unwrap_or(1);
        let mut arms = Vec::new();
        for m in &self.mariadb_modes {
            if m == "none" || self.quick {
                arms.push(ArmSpec::Mariadb { parallel_mode: m.clone(), threads: max });
            } else {
                for &w in self.workers.iter().filter(|w| **w > 1) {
                    arms.push(ArmSpec::Mariadb { parallel_mode: m.clone(), threads: w });
                }
            }
        }
        arms
    }

    /// The parapply arms, mode by mode: the default arms (`--commit-group` as given, commit
    /// order kept) at every worker count, then at each per-transaction worker count the
    /// `--commit-group 1` arm and, except for `serial` (one transaction at a time: commit order
    /// cannot differ), the same without commit order; `writeset` (the default mode) also gets
    /// its default-group arm without commit order there.
    pub fn parapply_arms(&self) -> Vec<ArmSpec> {
        let mut arms = Vec::new();
        let cg = self.commit_group.max(1);
        for &mode in &self.modes {
            for &w in &self.workers {
                arms.push(ArmSpec::Parapply { mode, workers: w, preserve_commit_order: true, commit_group: cg });
            }
            for &w in &self.per_txn_workers {
                if cg != 1 {
                    arms.push(ArmSpec::Parapply { mode, workers: w, preserve_commit_order: true, commit_group: 1 });
                }
                if mode != Mode::Serial {
                    arms.push(ArmSpec::Parapply { mode, workers: w, preserve_commit_order: false, commit_group: 1 });
                    if mode == Mode::Writeset && cg != 1 {
                        arms.push(ArmSpec::Parapply { mode, workers: w, preserve_commit_order: false, commit_group: cg });
                    }
                }
            }
        }
        arms
    }
}

/// The run order of `arms` arms repeated `repeat` times, interleaved: round r runs every arm
/// once, in the listed order, before round r + 1 starts, so a slow phase of the machine (or
/// a warming cache) spreads over every arm instead of landing on a few. `(round, arm index)`.
pub fn interleaved(arms: usize, repeat: usize) -> Vec<(usize, usize)> {
    (0..repeat.max(1)).flat_map(|r| (0..arms).map(move |a| (r, a))).collect()
}

/// This executable (the `parapply` binary when called from the CLI).
fn default_bin() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("parapply"))
}

/// Every workload: the three sysbench tests when `sysbench` is installed (else the built-in
/// oltp), the six custom ones, and the MySQL 8 generator's files.
pub fn default_workloads() -> Vec<workload::WorkloadKind> {
    let sysbench = std::process::Command::new("sysbench").arg("--version").output().is_ok_and(|o| o.status.success());
    let mut v = if sysbench { workload::WorkloadKind::SYSBENCH.to_vec() } else { vec![workload::WorkloadKind::Oltp] };
    v.extend(workload::WorkloadKind::CUSTOM);
    v.push(workload::WorkloadKind::Mysql8Gen);
    v
}

/// Run the whole benchmark and write the report into `opts.out`.
pub fn run(opts: &BenchOptions) -> Result<report::BenchReport, BenchError> {
    std::fs::create_dir_all(&opts.out).map_err(|e| BenchError::Io(opts.out.display().to_string(), e))?;
    arms::run_all(opts)
}

/// The cache directory of a workload under the results directory.
pub fn cache_dir(out: &Path, workload: &str) -> PathBuf {
    out.join("cache").join(workload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_run_every_arm_once_in_order_before_the_next_round() {
        assert_eq!(interleaved(3, 2), vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        assert_eq!(interleaved(2, 1), vec![(0, 0), (0, 1)]);
        // Zero repetitions still run once; no arms, nothing.
        assert_eq!(interleaved(2, 0), vec![(0, 0), (0, 1)]);
        assert_eq!(interleaved(0, 3), vec![]);
    }

    fn names(arms: &[ArmSpec]) -> Vec<String> {
        arms.iter().map(ArmSpec::name).collect()
    }

    #[test]
    fn every_mode_gets_per_transaction_arms_next_to_its_default_arms() {
        let mut o = BenchOptions::quick(PathBuf::from("/nonexistent"), PathBuf::from("/nonexistent"));
        o.modes = vec![Mode::Serial, Mode::Writeset];
        assert_eq!(
            names(&o.parapply_arms()),
            [
                "parapply serial w=1 cg=128",
                "parapply serial w=4 cg=128",
                "parapply serial w=4 cg=1",
                "parapply writeset w=1 cg=128",
                "parapply writeset w=4 cg=128",
                "parapply writeset w=4 cg=1",
                "parapply writeset w=4 cg=1 no-commit-order",
                "parapply writeset w=4 cg=128 no-commit-order",
            ]
        );
        // At --commit-group 1 the default arms are the per-transaction ones: no duplicates.
        o.commit_group = 1;
        assert_eq!(
            names(&o.parapply_arms()),
            ["parapply serial w=1 cg=1", "parapply serial w=4 cg=1", "parapply writeset w=1 cg=1", "parapply writeset w=4 cg=1", "parapply writeset w=4 cg=1 no-commit-order"]
        );
        assert_eq!(names(&o.mariadb_arms()), ["mariadb none t=4", "mariadb optimistic t=4"]);
    }

    #[test]
    fn durability_sets_both_flush_settings_on_every_instance() {
        let mut o = BenchOptions::full(PathBuf::from("/x"), PathBuf::from("/x"));
        assert_eq!(o.durability, Durability::Full);
        assert_eq!(o.server_args(), "--sync-binlog=1 --innodb-flush-log-at-trx-commit=1");
        o.durability = Durability::Relaxed;
        o.mariadbd_args = " --innodb-buffer-pool-size=256M ".into();
        assert_eq!(o.server_args(), "--sync-binlog=0 --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=256M");
        let q = BenchOptions::quick(PathBuf::from("/x"), PathBuf::from("/x"));
        assert_eq!((q.durability, q.repeat), (Durability::Fast, 1));
        assert_eq!(q.server_args(), "--sync-binlog=0 --innodb-flush-log-at-trx-commit=2");
    }

    #[test]
    fn workloads_are_sized_by_their_default_times_the_scale() {
        let mut o = BenchOptions::full(PathBuf::from("/x"), PathBuf::from("/x"));
        let s = o.sized_for(workload::WorkloadKind::OltpWriteOnly);
        assert_eq!(s.sysbench.events, 30_000);
        let s = o.sized_for(workload::WorkloadKind::LargeTxn);
        // 10,000 over 8 custom clients.
        assert_eq!(s.custom.txns_per_client, 1250);
        o.scale = 0.5;
        let s = o.sized_for(workload::WorkloadKind::Oltp);
        // 15,000 over 16 clients, rounded up.
        assert_eq!(s.workload.txns_per_client, 938);
        // Explicit sizes (quick, or --txns-per-client) are kept as given.
        o.sizing = false;
        assert_eq!(o.sized_for(workload::WorkloadKind::Oltp).workload.txns_per_client, 1000);
    }
}
