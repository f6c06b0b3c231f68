//! `parapply replay`: apply binlog files to a target through the parallel apply pipeline.
//!
//! Wires [`crate::source::file::BinlogFiles`] -> [`crate::txn::TransactionReader`] (with the
//! start/stop filters) -> [`crate::apply::pipeline`], shows progress (an indicatif bar on a
//! terminal, periodic log lines otherwise) and prints the summary. It owns no SQL or scheduling.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::apply::pipeline::{self, PipelineOptions, ProgressFn, ProgressView, TxnSource};
use crate::cli::{OnConflictArg, ReplayArgs};
use crate::config::{ApplyConfig, Endpoint, OnConflict};
use crate::source::file::{expand_paths, BinlogFiles};
use crate::txn::{Gtid, TransactionReader};

pub fn run(args: &ReplayArgs) -> anyhow::Result<i32> {
    let target = Endpoint::from_cli_url(&args.target, "--target", "PARAPPLY_TARGET_PASSWORD").context("--target")?;
    if args.workers == 0 || args.workers > 256 {
        anyhow::bail!("--workers must be between 1 and 256");
    }
    let start: Option<Gtid> = args.start_gtid.as_deref().map(str::parse).transpose().map_err(|e: String| anyhow::anyhow!("--start-gtid: {e}"))?;
    let stop: Option<Gtid> = args.stop_gtid.as_deref().map(str::parse).transpose().map_err(|e: String| anyhow::anyhow!("--stop-gtid: {e}"))?;
    let stop_before_us = args.stop_datetime.as_deref().map(parse_utc_datetime).transpose().context("--stop-datetime")?;

    let paths = expand_paths(&args.files).context("binlog files")?;
    let total_bytes: u64 = paths.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let files = BinlogFiles::open(&paths).context("opening binlog files")?.verify_checksum(!args.no_verify_checksum).keep_raw(args.row_events.needs_raw());
    // Raw row bytes only while the pipeline says some rows may need them (triggers on the target).
    let raw_rows = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let files = files.share_raw_rows(raw_rows.clone());
    let reader = TransactionReader::new(files).start_gtid(start).stop_gtid(stop).stream_large(Some(args.stream_txn_rows)).stream_large_bytes(Some(args.stream_txn_bytes));
    let source: TxnSource = Box::new(
        reader
            .map(|r| r.map_err(crate::source::TxnSourceError::from))
            // --stop-datetime: stop at the first transaction committed at or after it.
            .take_while(move |r| match (r, stop_before_us) {
                (Ok(t), Some(limit)) => t.commit_time_us < limit,
                _ => true,
            }),
    );

    let apply = ApplyConfig {
        mode: args.mode,
        workers: args.workers,
        preserve_commit_order: !args.no_preserve_commit_order,
        on_conflict: match args.on_conflict {
            OnConflictArg::Stop => OnConflict::Stop,
            OnConflictArg::Skip => OnConflict::Skip,
            OnConflictArg::Overwrite => OnConflict::Overwrite,
        },
        state_schema: args.state_schema.clone(),
        window: ApplyConfig::default().window.max(args.workers),
        commit_group_max_txns: args.commit_group.max(1),
        txns_per_trip: args.txns_per_trip.max(1),
        compound_statements: !args.no_compound,
        row_events: args.row_events,
        ..ApplyConfig::default()
    };
    let mut opts = PipelineOptions::new(target, apply);
    opts.keep_source_gtid = !args.no_keep_gtid;
    opts.raw_rows = raw_rows;

    let progress = progress_reporter(total_bytes);
    let summary = pipeline::run(opts, source, Some(progress))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "replay: {} transactions applied ({} already on target, skipped), {} rows, {:.2} s, {:.0} txn/s, {} retries, {} conflicts{}",
            summary.txns_applied,
            summary.txns_skipped,
            summary.rows_applied,
            summary.seconds,
            summary.txns_per_second,
            summary.retries,
            summary.conflicts,
            if summary.conflicts_by_table.is_empty() { String::new() } else { format!(" {:?}", summary.conflicts_by_table) }
        );
        println!("applied position: {}", if summary.applied_position.is_empty() { "-" } else { &summary.applied_position });
    }
    Ok(0)
}

/// A progress bar on a terminal (events, rate, ETA by bytes), else a log line every 5 s.
fn progress_reporter(total_bytes: u64) -> ProgressFn {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total_bytes.max(1));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ETA {eta} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Box::new(move |v: &ProgressView| {
            bar.set_position(v.bytes_read.min(total_bytes));
            let rate = v.apply.txns_applied as f64 / v.elapsed.as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "read {} txns, applied {} ({:.0}/s), skipped {}, rows {}, retries {}, conflicts {}",
                v.txns_read,
                v.apply.txns_applied,
                rate,
                v.apply.txns_skipped,
                v.apply.rows_applied,
                v.apply.retries,
                v.apply.conflicts_total()
            ));
        })
    } else {
        crate::commands::run::throttled_progress_log(Duration::from_secs(5), move |v| {
            let rate = v.apply.txns_applied as f64 / v.elapsed.as_secs_f64().max(1e-3);
            let pct = if total_bytes > 0 { 100.0 * v.bytes_read as f64 / total_bytes as f64 } else { 0.0 };
            format!("replay progress: {pct:.1}% of bytes, {rate:.0} txn/s")
        })
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) -> microseconds since the epoch.
fn parse_utc_datetime(s: &str) -> anyhow::Result<u64> {
    let bad = || anyhow::anyhow!("expected YYYY-MM-DD HH:MM:SS (UTC), got {s:?}");
    let (date, time) = s.trim().split_once([' ', 'T']).ok_or_else(bad)?;
    let d: Vec<i64> = date.split('-').map(|p| p.parse::<i64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    let t: Vec<i64> = time.split(':').map(|p| p.parse::<i64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    let ([y, m, day], [hh, mm, ss]) = (d.as_slice(), t.as_slice()) else { return Err(bad()) };
    if !(1..=12).contains(m) || !(1..=31).contains(day) || !(0..24).contains(hh) || !(0..60).contains(mm) || !(0..=60).contains(ss) {
        return Err(bad());
    }
    let days = crate::utc::days_from_civil(*y, *m as u32, *day as u32);
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs).map(|s| s * 1_000_000).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::parse_utc_datetime;

    #[test]
    fn stop_datetime_parses_as_utc() {
        assert_eq!(parse_utc_datetime("1970-01-01 00:00:01").unwrap(), 1_000_000);
        assert_eq!(parse_utc_datetime("2038-01-19 03:14:07").unwrap(), 2_147_483_647_000_000);
        assert_eq!(parse_utc_datetime("2000-02-29T00:00:00").unwrap(), 951_782_400_000_000);
        assert!(parse_utc_datetime("2000-13-01 00:00:00").is_err());
        assert!(parse_utc_datetime("yesterday").is_err());
    }
}
