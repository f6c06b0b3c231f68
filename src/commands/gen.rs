//! `parapply gen`: turns [`GenArgs`] into [`GenParams`], runs the generator and prints its
//! summary (text, or JSON with `--json`).
//!
//! Owns argument mapping and printing only; everything about the files is in [`crate::gen`].

use anyhow::Context;

use crate::cli::GenArgs;
use crate::gen::{generate, GenParams, GenSummary};

impl From<&GenArgs> for GenParams {
    fn from(a: &GenArgs) -> Self {
        GenParams {
            base_name: a.base_name.clone(),
            transactions: a.transactions,
            tables: a.tables,
            rows: a.rows,
            txn_size: a.txn_size,
            zipf: a.zipf,
            group_width: a.group_width,
            ddl_every: a.ddl_every,
            fk_pairs: a.fk_pairs,
            compress: a.compress,
            max_file_size: a.max_file_size,
            seed: a.seed,
            allow_group_overlap: a.allow_group_overlap,
            origin_lag_us: a.origin_lag_us,
            last_file_in_use: a.last_file_in_use,
            max_statement_rows: a.statement_rows,
            rows_event_max_size: a.rows_event_max_size,
            ..GenParams::default()
        }
    }
}

pub fn run(args: &GenArgs) -> anyhow::Result<i32> {
    let params = GenParams::from(args);
    let summary = generate(&params, &args.out).with_context(|| format!("generating binlogs into {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", render(&summary));
    }
    Ok(0)
}

fn render(s: &GenSummary) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<28} {v}\n"));
    line("files", s.files.len().to_string());
    for f in &s.files {
        line("  file", format!("{} {} bytes, {} transactions, gno {}-{}", f.name, f.bytes, f.transactions, f.first_gno, f.last_gno));
    }
    line("bytes", s.bytes.to_string());
    line("gtid_set", s.gtid_set.clone());
    line("transactions", s.transactions.to_string());
    line("  dml", s.dml_transactions.to_string());
    line("  ddl (setup + periodic)", format!("{} ({} + {})", s.ddl_transactions, s.setup_ddl_transactions, s.periodic_ddl_transactions));
    line("  compressed", s.compressed_transactions.to_string());
    line("rows inserted/updated/deleted", format!("{}/{}/{}", s.rows_inserted, s.rows_updated, s.rows_deleted));
    line("statements / rows events", format!("{} / {}", s.statements, s.rows_events));
    line("groups", s.groups.to_string());
    line("logical_clock critical path", s.logical_clock_critical_path.to_string());
    line("writeset critical path", s.writeset_critical_path.to_string());
    line("group key overlaps", s.group_key_overlaps.to_string());
    for (name, n) in &s.events {
        line(&format!("  event {name}"), n.to_string());
    }
    for (name, n) in &s.payload_events {
        line(&format!("  payload event {name}"), n.to_string());
    }
    out
}
