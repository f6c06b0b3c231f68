//! `parapply bench`: run the benchmark harness ([`crate::bench`]) and print the Markdown table.
//!
//! Turns the arguments into [`crate::bench::BenchOptions`]; owns no measuring or reporting.

use std::path::PathBuf;

use anyhow::Context;

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
    }
    if let Some(test) = &args.sysbench {
        opts.workload.schema = "sbtest".into();
        opts.workload.tables = args.sysbench_tables;
        opts.sysbench = Some(bench::workload::SysbenchParams {
            test: test.clone(),
            table_size: args.sysbench_table_size,
            threads: args.sysbench_threads,
            events: args.sysbench_events,
        });
    }
    if opts.workers.is_empty() || opts.workers.iter().any(|w| *w == 0 || *w > 256) {
        anyhow::bail!("--workers must list counts between 1 and 256");
    }
    let report = bench::run(&opts).context("bench")?;
    println!("{}", bench::report::markdown(&report));
    println!("results in {}", out.display());
    let failed = report.arms.iter().filter(|a| !a.checksum_ok).count();
    Ok(if failed == 0 { 0 } else { 2 })
}

/// `tools/sandbox` next to the current directory or the source tree this binary was built from.
fn default_sandbox_script() -> Option<PathBuf> {
    [PathBuf::from("tools/sandbox"), PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/sandbox")].into_iter().find(|p| p.is_file())
}
