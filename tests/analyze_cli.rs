//! `parapply analyze` end to end on binlog files written by the MySQL 8.0 generator
//! (`crate::gen`), whose summary states the exact critical paths its workload has — computed by
//! the generator from its own model, independently of the scheduler — and on hand-built
//! transaction streams.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use parapply::cli::{CostModel, Mode};
use parapply::gen::{generate, workload, GenParams, GenSummary};
use parapply::schedule::analyze::{AnalyzeOptions, Analyzer, ModeReport};
use parapply::schedule::{BarrierReason, StaticCatalog, TableDef};
use parapply::source::file::BinlogFiles;
use parapply::txn::{Change, TransactionReader};

fn gen(dir: &Path, params: &GenParams) -> GenSummary {
    generate(params, dir).expect("generator writes files")
}

fn analyze_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .arg("analyze")
        .arg(dir)
        .args(["--json", "--cost", "uniform", "--workers", "16"])
        .args(extra)
        .output()
        .expect("run parapply");
    assert!(out.status.success(), "analyze failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn mode<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["modes"].as_array().unwrap().iter().find(|m| m["mode"] == name).unwrap_or_else(|| panic!("mode {name} in report"))
}

fn barrier(m: &serde_json::Value, reason: &str) -> u64 {
    m["barriers"].as_array().unwrap().iter().find(|b| b[0] == reason).map(|b| b[1].as_u64().unwrap()).unwrap_or(0)
}

#[test]
fn generated_groups_of_8_give_the_generators_critical_paths() {
    let dir = tempfile::tempdir().unwrap();
    let params = GenParams { transactions: 800, group_width: 8, tables: 4, rows: 100_000, ..Default::default() };
    let s = gen(dir.path(), &params);
    // 800 DML in groups of 8 + CREATE DATABASE + 4 CREATE TABLE, each its own group.
    assert_eq!((s.transactions, s.groups), (805, 105));
    let r = analyze_json(dir.path(), &[]);
    assert_eq!(r["transactions"], 805);
    let serial = mode(&r, "serial");
    assert_eq!(serial["critical_path_txns"], 805);
    let lc = mode(&r, "logical_clock");
    assert_eq!(lc["critical_path_txns"].as_u64(), Some(s.logical_clock_critical_path));
    assert_eq!(lc["critical_path_txns"], 105);
    assert_eq!(barrier(lc, "ddl"), 5);
    let ws = mode(&r, "writeset");
    assert_eq!(ws["critical_path_txns"].as_u64(), Some(s.writeset_critical_path));
    assert_eq!(barrier(ws, "ddl"), 5);
    assert_eq!(ws["barriers"].as_array().unwrap().len(), 1, "only the setup DDL are barriers");
    // Session order (thread 100+i per group position) can only lengthen the chain.
    assert!(mode(&r, "writeset_session")["critical_path_txns"].as_u64() >= Some(s.writeset_critical_path));
}

#[test]
fn periodic_ddl_and_file_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let params = GenParams {
        transactions: 600,
        group_width: 6,
        ddl_every: 100,
        tables: 3,
        rows: 50,
        zipf: 1.1,
        max_file_size: 40_000,
        allow_group_overlap: false,
        ..Default::default()
    };
    let s = gen(dir.path(), &params);
    assert!(s.files.len() > 1, "rotation happened ({} files)", s.files.len());
    let r = analyze_json(dir.path(), &[]);
    assert_eq!(r["transactions"].as_u64(), Some(s.transactions));
    let lc = mode(&r, "logical_clock");
    assert_eq!(lc["critical_path_txns"].as_u64(), Some(s.logical_clock_critical_path));
    assert_eq!(barrier(lc, "ddl"), s.ddl_transactions);
    // Sequence numbers restart in every file: handled without barriers.
    assert_eq!(lc["barriers"].as_array().unwrap().len(), 1, "only DDL barriers: {}", lc["barriers"]);
    let ws = mode(&r, "writeset");
    assert_eq!(ws["critical_path_txns"].as_u64(), Some(s.writeset_critical_path));
    assert_eq!(barrier(ws, "ddl"), s.ddl_transactions);
}

/// Count, per (table, id), the transactions touching it, straight from the row images.
fn key_heat(dir: &Path) -> HashMap<(String, String), u64> {
    let mut heat = HashMap::new();
    for txn in TransactionReader::new(BinlogFiles::open(&[dir.to_path_buf()]).unwrap()) {
        let txn = txn.unwrap();
        let mut keys = std::collections::HashSet::new();
        for c in &txn.changes {
            if let Change::Rows(r) = c {
                for row in &r.rows {
                    for img in [&row.before, &row.after].into_iter().flatten() {
                        if let Some(Some(id)) = img.cols.first() {
                            keys.insert((r.table.table.clone(), id.to_string()));
                        }
                    }
                }
            }
        }
        for k in keys {
            *heat.entry(k).or_insert(0) += 1;
        }
    }
    heat
}

#[test]
fn hottest_keys_are_counted_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let params = GenParams { transactions: 400, group_width: 4, tables: 2, rows: 200, zipf: 1.3, ..Default::default() };
    gen(dir.path(), &params);
    let heat = key_heat(dir.path());
    let mut counts: Vec<u64> = heat.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let r = analyze_json(dir.path(), &[]);
    let hot = r["hottest_keys"].as_array().unwrap();
    assert_eq!(hot.len(), 10);
    let reported: Vec<u64> = hot.iter().map(|k| k["transactions"].as_u64().unwrap()).collect();
    assert_eq!(reported, counts[..10].to_vec());
    assert_eq!(hot[0]["index"], "PRIMARY(id)");
    assert!(hot.iter().all(|k| k["values"] == "(?)"), "values hidden: {hot:?}");
    assert!(hot[0]["table"].as_str().unwrap().starts_with("gen.t"));
    // Hidden values still tell the keys apart: ten distinct 8-digit lowercase hex hashes.
    let hashes: Vec<String> = hot.iter().map(|k| k["key_hash"].as_str().unwrap().to_string()).collect();
    for h in &hashes {
        assert!(h.len() == 8 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "key_hash {h:?}");
    }
    let distinct: std::collections::HashSet<&String> = hashes.iter().collect();
    assert_eq!(distinct.len(), 10, "hashes {hashes:?}");
    // With --show-values the hottest key's id appears, and it is one with the top count.
    let shown = analyze_json(dir.path(), &["--show-values"]);
    let top = &shown["hottest_keys"][0];
    let table = top["table"].as_str().unwrap().trim_start_matches("gen.").to_string();
    let id = top["values"].as_str().unwrap().trim_matches(|c| c == '(' || c == ')').to_string();
    assert_eq!(heat.get(&(table, id)).copied(), Some(counts[0]));
    // The same key has the same hash whether its values are shown or not, and every key shown
    // with values has the count the files give for its (table, id).
    let shown_hot = shown["hottest_keys"].as_array().unwrap();
    for (h, s) in hot.iter().zip(shown_hot) {
        assert_eq!((&h["table"], &h["index"], &h["key_hash"], &h["transactions"]), (&s["table"], &s["index"], &s["key_hash"], &s["transactions"]));
        let table = s["table"].as_str().unwrap().trim_start_matches("gen.").to_string();
        let id = s["values"].as_str().unwrap().trim_matches(|c| c == '(' || c == ')').to_string();
        assert_eq!(heat.get(&(table, id)).copied(), s["transactions"].as_u64(), "key {s}");
    }

    // Text output: the header says how to see values; each line is count, table, index, #hash,
    // redacted values.
    let out = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .arg("analyze")
        .arg(dir.path())
        .args(["--cost", "uniform", "--workers", "16"])
        .output()
        .expect("run parapply");
    assert!(out.status.success(), "analyze failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let header = "hottest keys (transactions touching them; #hash tells keys apart); values hidden, --show-values shows them:";
    let lines: Vec<&str> = text.lines().skip_while(|l| *l != header).skip(1).take(10).collect();
    let expected: Vec<String> = hot
        .iter()
        .map(|k| {
            format!(
                "  {:>8}  {} {} #{} = (?)",
                k["transactions"].as_u64().unwrap(),
                k["table"].as_str().unwrap(),
                k["index"].as_str().unwrap(),
                k["key_hash"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(lines, expected, "text output:\n{text}");
}

#[test]
fn foreign_keys_from_definitions_match_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    let params = GenParams { transactions: 500, group_width: 5, tables: 1, fk_pairs: 2, rows: 40, zipf: 0.9, ..Default::default() };
    let s = gen(dir.path(), &params);
    // The catalog a live server's information_schema would give: PK, the unique key, the FKs.
    let mut catalog = StaticCatalog::new();
    for t in workload::schema(&params) {
        let mut def = TableDef::new(&t.def.schema, &t.def.name);
        for c in &t.def.columns {
            def = def.column(&c.name, None);
        }
        def = def.primary_key(&["id"]).unique_key("uk_uk", &["uk"]);
        if let workload::TableRole::Child { parent } = t.role {
            let parent_name = format!("p{}", &t.def.name[1..]);
            let _ = parent;
            def = def.foreign_key("fk", &["parent_id"], workload::SCHEMA, &parent_name, &["id"]);
        }
        catalog.add_table(def);
    }
    let run = |catalog: StaticCatalog| -> ModeReport {
        let opts = AnalyzeOptions { modes: vec![Mode::Writeset], workers: 8, cost: CostModel::Uniform, ..Default::default() };
        let mut a = Analyzer::new(opts, Arc::new(catalog));
        for txn in TransactionReader::new(BinlogFiles::open(&[dir.path().to_path_buf()]).unwrap()) {
            a.add(&txn.unwrap());
        }
        a.finish().modes.remove(0)
    };
    let with_fks = run(catalog);
    assert_eq!(with_fks.critical_path_txns, s.writeset_critical_path);
    assert_eq!(with_fks.barriers, vec![(BarrierReason::Ddl, s.ddl_transactions)]);
    // Without the FK definitions, parent/child pairs look independent: a shorter chain.
    let pk_only = run(StaticCatalog::new());
    assert!(pk_only.critical_path_txns < with_fks.critical_path_txns, "{} vs {}", pk_only.critical_path_txns, with_fks.critical_path_txns);
}

#[test]
fn text_output_names_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    gen(dir.path(), &GenParams { transactions: 80, group_width: 8, tables: 2, rows: 1000, ..Default::default() });
    let out = Command::new(env!("CARGO_BIN_EXE_parapply")).arg("analyze").arg(dir.path()).args(["--workers", "4", "--cost", "uniform"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("83 transactions, 320 row changes; cost model: uniform; simulated with 4 workers\n"), "{text}");
    let serial = text.lines().find(|l| l.starts_with("serial ")).unwrap();
    assert_eq!(serial.split_whitespace().collect::<Vec<_>>(), ["serial", "83", "83", "1.00x", "1.00x", "1.00x", "1.000", "0"]);
    let lc = text.lines().find(|l| l.starts_with("logical_clock ")).unwrap();
    // 10 DML groups + 3 setup DDL groups.
    assert_eq!(lc.split_whitespace().nth(1), Some("13"));
    let out = Command::new(env!("CARGO_BIN_EXE_parapply")).args(["analyze", "--mode", "writeset"]).arg(dir.path()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("writeset ")));
    assert!(!text.lines().any(|l| l.starts_with("serial ")));
}

#[test]
fn uniform_workload_schedules_at_least_90_percent_efficiently() {
    let dir = tempfile::tempdir().unwrap();
    let s = gen(dir.path(), &GenParams { transactions: 4000, group_width: 16, tables: 8, rows: 1_000_000, ..Default::default() });
    let r = analyze_json(dir.path(), &[]);
    let ws = mode(&r, "writeset");
    assert_eq!(ws["critical_path_txns"].as_u64(), Some(s.writeset_critical_path));
    let efficiency = ws["schedule_efficiency"].as_f64().unwrap();
    assert!(efficiency >= 0.9, "writeset schedule efficiency {efficiency}");
    // logical_clock: groups of 16 on 16 workers, nothing lost.
    assert_eq!(mode(&r, "logical_clock")["schedule_efficiency"].as_f64(), Some(1.0));
}
