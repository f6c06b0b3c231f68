//! `parapply bench`: run the benchmark harness ([`crate::bench`]) and print the Markdown table.
//!
//! Turns the arguments into [`crate::bench::BenchOptions`]; owns no measuring or reporting.

use std::path::PathBuf;

use anyhow::Context;

use crate::bench::workload::WorkloadKind;
use crate::bench::{self, BenchOptions};
use crate::cli::BenchArgs;

pub fn run(args: &BenchArgs) -> anyhow::Result<i32> {
    let out = args.out.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        PathBuf::from("bench-results").join(secs.to_string())
    });
    let script = match &args.sandbox_script {
        Some(p) => p.clone(),
        None => default_sandbox_script().context("tools/sandbox not found; pass --sandbox-script")?,
    };
    let mut opts = if args.quick { BenchOptions::quick(out.clone(), script) } else { BenchOptions::full(out.clone(), script) };
    if let Some(w) = &args.workers {
        opts.workers = w.clone();
    }
    if let Some(t) = args.txns_per_client {
        opts.workload.txns_per_client = t;
        opts.custom.txns_per_client = t;
    }
    let mut names: Vec<String> = args.workload.clone().unwrap_or_default();
    if let Some(test) = &args.sysbench {
        names.push(test.clone());
    }
    if !names.is_empty() {
        opts.workloads = names
            .iter()
            .map(|n| match n.as_str() {
                "all" => Ok(bench::default_workloads()),
                n => WorkloadKind::parse(n).map(|k| vec![k]).ok_or_else(|| {
                    anyhow::anyhow!("unknown workload {n:?}; known: all, {}", WorkloadKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "))
                }),
            })
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
    }
    opts.sysbench.table_size = args.sysbench_table_size;
    opts.sysbench.threads = args.sysbench_threads;
    opts.sysbench.events = args.sysbench_events;
    if args.sysbench.is_some() || opts.workloads.iter().any(|k| k.is_sysbench()) {
        opts.workload.tables = args.sysbench_tables;
    }
    if args.no_lag {
        opts.lag = None;
    }
    if let Some(lag) = opts.lag.as_mut() {
        if let Some(s) = args.lag_seconds {
            lag.seconds = s;
        }
        lag.rate = args.lag_rate.or(lag.rate);
        if let Some(w) = args.lag_workers {
            lag.workers = w;
        }
    }
    if opts.workers.is_empty() || opts.workers.iter().any(|w| *w == 0 || *w > 256) {
        anyhow::bail!("--workers must list counts between 1 and 256");
    }
    let report = bench::run(&opts).context("bench")?;
    println!("{}", bench::report::markdown(&report));
    println!("results in {}", out.display());
    let failed = report.all_arms().filter(|a| !a.checksum_ok).count() + report.lag.iter().flat_map(|l| l.modes.iter()).filter(|m| m.status != "ok").count();
    Ok(if failed == 0 { 0 } else { 2 })
}

/// `tools/sandbox` next to the current directory or the source tree this binary was built from.
fn default_sandbox_script() -> Option<PathBuf> {
    [PathBuf::from("tools/sandbox"), PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/sandbox")].into_iter().find(|p| p.is_file())
}
