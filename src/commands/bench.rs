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
    if let Some(m) = &args.modes {
        opts.modes = m
            .iter()
            .map(|name| {
                crate::cli::Mode::ALL.into_iter().find(|k| k.name() == name.replace('-', "_")).ok_or_else(|| {
                    anyhow::anyhow!("unknown mode {name:?} in --modes; known: {}", crate::cli::Mode::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "))
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
    }
    if let Some(m) = &args.mariadb_modes {
        opts.mariadb_modes = m.clone();
    }
    if args.commit_group == 0 {
        anyhow::bail!("--commit-group must be at least 1 (1 keeps every source transaction as its own target transaction)");
    }
    opts.commit_group = args.commit_group;
    if let Some(w) = &args.per_txn_workers {
        opts.per_txn_workers = w.clone();
    }
    if args.no_per_txn {
        opts.per_txn_workers.clear();
    }
    if let Some(r) = args.repeat {
        if r == 0 {
            anyhow::bail!("--repeat must be at least 1");
        }
        opts.repeat = r;
    }
    if let Some(d) = args.durability {
        opts.durability = d;
    }
    if let Some(f) = args.scale {
        if !(f.is_finite() && f > 0.0) {
            anyhow::bail!("--scale must be a positive number");
        }
        opts.scale = f;
    }
    if let Some(t) = args.txns_per_client {
        opts.workload.txns_per_client = t;
        opts.custom.txns_per_client = t;
        opts.sizing = false;
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
    if let Some(e) = args.sysbench_events {
        opts.sysbench.events = e;
        opts.sizing = false;
    }
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
        lag.capacity = args.lag_capacity.or(lag.capacity);
        if let Some(f) = &args.lag_factors {
            if f.is_empty() || f.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
                anyhow::bail!("--lag-factors must list positive numbers");
            }
            lag.factors = f.clone();
        }
        if let Some(w) = args.lag_workers {
            lag.workers = w;
        }
    }
    for (what, list) in [("--workers", &opts.workers), ("--per-txn-workers", &opts.per_txn_workers)] {
        if list.iter().any(|w| *w == 0 || *w > 256) || (what == "--workers" && list.is_empty()) {
            anyhow::bail!("{what} must list counts between 1 and 256");
        }
    }
    if let Some(bad) = opts.mariadb_modes.iter().find(|m| !["none", "conservative", "optimistic", "aggressive", "minimal"].contains(&m.as_str())) {
        anyhow::bail!("unknown --mariadb-modes value {bad:?}; known: none, minimal, conservative, optimistic, aggressive");
    }
    let report = bench::run(&opts).context("bench")?;
    println!("{}", bench::report::markdown(&report));
    println!("results in {}", out.display());
    let failed = report.all_arms().filter(|a| !a.checksum_ok).count() + report.lag.iter().flat_map(|l| l.all_arms()).filter(|m| m.status != "ok").count();
    Ok(if failed == 0 { 0 } else { 2 })
}

/// `tools/sandbox` next to the current directory or the source tree this binary was built from.
fn default_sandbox_script() -> Option<PathBuf> {
    [PathBuf::from("tools/sandbox"), PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/sandbox")].into_iter().find(|p| p.is_file())
}
