//! `parapply analyze FILE...`: what each scheduling mode could achieve on these binlogs.
//!
//! Wires [`crate::source::file::BinlogFiles`] -> [`crate::txn::TransactionReader`] ->
//! [`crate::schedule::analyze::Analyzer`] and prints its [`AnalyzeReport`] as a table or one
//! JSON document. It owns only the output format; every number comes from
//! `crate::schedule::analyze`, which runs the dispatcher's own rules and state machine.
//!
//! Key layouts come from TABLE_MAP FULL metadata (primary keys, collations): files do not say
//! which other unique keys or foreign keys exist, so writeset numbers are an upper bound for
//! tables that have them (the report says so) unless `--schema-from URL` names a server whose
//! information_schema supplies them. Key values are personal data: they are shown only with
//! `--show-values`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::apply::worker::target_opts;
use crate::cli::{AnalyzeArgs, AnalyzeMode};
use crate::schedule::Mode;
use crate::config::Endpoint;
use crate::schedule::analyze::{AnalyzeOptions, AnalyzeReport, Analyzer};
use crate::schedule::{InfoSchemaCatalog, KeyCatalog, StaticCatalog};
use crate::source::file::BinlogFiles;
use crate::txn::TransactionReader;

/// Entry point for `parapply analyze`.
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<i32> {
    let opts = options(args);
    let report = match &args.schema_from {
        None => analyze_files(&args.files, opts, Arc::new(StaticCatalog::new()))?,
        Some(url) => {
            let ep = Endpoint::from_cli_url(url, "--schema-from", "PARAPPLY_SCHEMA_PASSWORD").context("--schema-from")?;
            // The analyzer runs on this thread and loads tables lazily by blocking on the
            // runtime, so the runtime lives beside it rather than around it.
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
            let pool = mysql_async::Pool::new(target_opts(&ep));
            let catalog = Arc::new(InfoSchemaCatalog::new(pool.clone(), rt.handle().clone()));
            rt.block_on(async { pool.get_conn().await.map(drop) }).with_context(|| format!("--schema-from: connecting to {}", ep.address()))?;
            let report = analyze_files(&args.files, opts, catalog);
            let _ = rt.block_on(pool.disconnect());
            AnalyzeReport { key_source: format!("information_schema {}", ep.address()), ..report? }
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let text = if args.json { serde_json::to_string_pretty(&report)? + "\n" } else { render_text(&report, args.show_values) };
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(0),
        // `| head` closing stdout is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// The analysis options a command line asks for.
pub fn options(args: &AnalyzeArgs) -> AnalyzeOptions {
    let modes = match args.mode {
        AnalyzeMode::All => Mode::ALL.to_vec(),
        AnalyzeMode::Serial => vec![Mode::Serial],
        AnalyzeMode::LogicalClock => vec![Mode::LogicalClock],
        AnalyzeMode::Writeset => vec![Mode::Writeset],
        AnalyzeMode::WritesetSession => vec![Mode::WritesetSession],
    };
    AnalyzeOptions { modes, workers: args.workers.max(1), cost: args.cost, show_values: args.show_values, ..Default::default() }
}

/// Read every transaction of `files` (in order) and analyse them.
pub fn analyze_files(files: &[PathBuf], opts: AnalyzeOptions, catalog: Arc<dyn KeyCatalog>) -> anyhow::Result<AnalyzeReport> {
    let events = BinlogFiles::open(files).context("opening binlog files")?;
    let mut analyzer = Analyzer::new(opts, catalog);
    for txn in TransactionReader::new(events) {
        let txn = txn.context("reading transactions")?;
        analyzer.add(&txn);
    }
    Ok(analyzer.finish())
}

/// The readable table.
pub fn render_text(r: &AnalyzeReport, show_values: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let cost = if r.cost_model == "rows" { "rows (cost = row changes, at least 1)" } else { "uniform" };
    let _ = writeln!(s, "{} transactions, {} row changes; cost model: {}; simulated with {} workers", r.transactions, r.rows, cost, r.workers);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<17} {:>9} {:>10} {:>11} {:>8} {:>11} {:>10} {:>10}",
        "mode", "critical", "crit.cost", "ideal", "ideal$", "simulated", "efficiency", "barriers"
    );
    for m in &r.modes {
        let barriers: u64 = m.barriers.iter().map(|(_, n)| n).sum();
        let _ = writeln!(
            s,
            "{:<17} {:>9} {:>10} {:>10.2}x {:>7.2}x {:>10.2}x {:>10.3} {:>10}",
            m.mode.name(),
            m.critical_path_txns,
            m.critical_path_cost,
            m.ideal_speedup,
            m.ideal_speedup_cost,
            m.simulated_speedup,
            m.schedule_efficiency,
            barriers
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "critical: longest dependency chain in transactions; crit.cost: in cost; ideal = transactions / critical,");
    let _ = writeln!(s, "ideal$ = cost / crit.cost; simulated: {} workers, commit order kept; efficiency = simulated / min(workers, ideal$)", r.workers);
    let _ = writeln!(s);
    let _ = writeln!(s, "ready at once (dependency levels by how many transactions each holds):");
    for m in &r.modes {
        let parts: Vec<String> = m
            .ready_at_once
            .iter()
            .map(|b| if b.min == b.max { format!("{}: {}", b.min, b.levels) } else { format!("{}-{}: {}", b.min, b.max, b.levels) })
            .collect();
        let _ = writeln!(s, "  {:<17} {}", m.mode.name(), if parts.is_empty() { "-".into() } else { parts.join("  ") });
    }
    let with_barriers: Vec<_> = r.modes.iter().filter(|m| !m.barriers.is_empty()).collect();
    if !with_barriers.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "barriers by reason:");
        for m in with_barriers {
            let parts: Vec<String> = m.barriers.iter().map(|(reason, n)| format!("{}={}", reason.name(), n)).collect();
            let _ = writeln!(s, "  {:<17} {}", m.mode.name(), parts.join(" "));
        }
    }
    if !r.hottest_keys.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "hottest keys (transactions touching them; #hash tells keys apart){}:",
            if show_values { "" } else { "; values hidden, --show-values shows them" }
        );
        for k in &r.hottest_keys {
            let _ = writeln!(s, "  {:>8}  {} {} #{} = {}", k.transactions, k.table, k.index, k.key_hash, k.values);
        }
    }
    let _ = writeln!(s);
    if r.key_source == "table_map" {
        let _ = writeln!(
            s,
            "note: binlog files name primary keys only; unique keys and foreign keys they do not show are not in these writeset numbers (--schema-from URL reads them from a server)"
        );
    } else {
        let _ = writeln!(s, "key layouts: primary, unique and foreign keys and collations from {}", r.key_source);
    }
    s
}
