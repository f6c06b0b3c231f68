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

use crate::cli::Mode;

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
    /// parapply's pipeline (`parapply replay` as a child process).
    Parapply { mode: Mode, workers: usize, preserve_commit_order: bool },
    /// A MariaDB replica's SQL thread(s): `slave_parallel_mode` and `slave_parallel_threads`.
    Mariadb { parallel_mode: String, threads: usize },
}

impl ArmSpec {
    pub fn name(&self) -> String {
        match self {
            ArmSpec::Parapply { mode, workers, preserve_commit_order } => {
                format!("parapply {} w={}{}", mode.name(), workers, if *preserve_commit_order { "" } else { " no-commit-order" })
            }
            ArmSpec::Mariadb { parallel_mode, threads } => format!("mariadb {parallel_mode} t={threads}"),
        }
    }
    /// The series an arm belongs to in plots (mode without the worker count).
    pub fn series(&self) -> String {
        match self {
            ArmSpec::Parapply { mode, preserve_commit_order: true, .. } => mode.name().to_string(),
            ArmSpec::Parapply { mode, .. } => format!("{} (no commit order)", mode.name()),
            ArmSpec::Mariadb { parallel_mode, .. } => format!("mariadb {parallel_mode}"),
        }
    }
    pub fn workers(&self) -> usize {
        match self {
            ArmSpec::Parapply { workers, .. } => *workers,
            ArmSpec::Mariadb { threads, .. } => *threads,
        }
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
    /// The steady-state lag experiment (None: skipped).
    pub lag: Option<steady::LagOptions>,
    /// The parapply binary run for parapply arms (`replay`) and the lag experiment (`run`).
    pub parapply_bin: PathBuf,
    /// Extra mariadbd arguments, identical on every instance.
    pub mariadbd_args: String,
}

impl BenchOptions {
    /// The CI configuration: small workload, workers 1 and 4, MariaDB none and optimistic at 4.
    pub fn quick(out: PathBuf, sandbox_script: PathBuf) -> BenchOptions {
        BenchOptions {
            quick: true,
            out,
            sandbox_script,
            workers: vec![1, 4],
            modes: Mode::ALL.to_vec(),
            mariadb_modes: vec!["none".into(), "optimistic".into()],
            workloads: vec![workload::WorkloadKind::Oltp],
            workload: workload::OltpParams { schema: "benchq".into(), tables: 4, rows_per_table: 1000, clients: 4, txns_per_client: 250, seed: 1 },
            sysbench: workload::SysbenchParams { test: String::new(), table_size: 1000, threads: 4, events: 1000 },
            custom: workload::CustomScale { clients: 4, txns_per_client: 20, seed: 1 },
            gen_transactions: 1000,
            lag: Some(steady::LagOptions { modes: vec![Mode::Serial, Mode::Writeset], workers: 4, seconds: 6, rate: None, clients: 4 }),
            parapply_bin: default_bin(),
            mariadbd_args: "--innodb-flush-log-at-trx-commit=2 --sync-binlog=0".into(),
        }
    }

    /// The full configuration: workers 1..16, every MariaDB mode.
    pub fn full(out: PathBuf, sandbox_script: PathBuf) -> BenchOptions {
        BenchOptions {
            quick: false,
            out,
            sandbox_script,
            workers: vec![1, 2, 4, 8, 16],
            modes: Mode::ALL.to_vec(),
            mariadb_modes: vec!["none".into(), "conservative".into(), "optimistic".into(), "aggressive".into()],
            workloads: default_workloads(),
            workload: workload::OltpParams { schema: "bench".into(), tables: 8, rows_per_table: 10_000, clients: 16, txns_per_client: 1000, seed: 1 },
            sysbench: workload::SysbenchParams { test: String::new(), table_size: 10_000, threads: 16, events: 20_000 },
            custom: workload::CustomScale { clients: 8, txns_per_client: 500, seed: 1 },
            gen_transactions: 20_000,
            lag: Some(steady::LagOptions { modes: Mode::ALL.to_vec(), workers: 8, seconds: 60, rate: None, clients: 8 }),
            parapply_bin: default_bin(),
            mariadbd_args: "--innodb-flush-log-at-trx-commit=1 --sync-binlog=0".into(),
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

    /// parapply arms with commit order kept (the commit-order-off arm is chosen after them).
    pub fn parapply_arms(&self) -> Vec<ArmSpec> {
        let mut arms = Vec::new();
        for &mode in &self.modes {
            for &w in &self.workers {
                arms.push(ArmSpec::Parapply { mode, workers: w, preserve_commit_order: true });
            }
        }
        arms
    }
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
