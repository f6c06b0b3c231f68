//! `parapply bench --quick` end to end on a real MariaDB sandbox: the harness must finish, every
//! arm must end with the source's CHECKSUM TABLE, and the report files must exist and parse.
//! No timing is asserted (noisy CI machine); only that the measured numbers are present.

use std::path::Path;
use std::process::Command;

/// `parapply bench --quick --out DIR EXTRA...`; panics with its output unless it exits 0.
fn bench(dir: &Path, extra: &[&str]) {
    let run = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["bench", "--quick", "--out"])
        .arg(dir)
        .args(["--sandbox-script", concat!(env!("CARGO_MANIFEST_DIR"), "/tools/sandbox")])
        .args(extra)
        .env("PARAPPLY_LOG", "warn")
        .output()
        .expect("run parapply bench");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "bench --quick failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}", run.status);
}

fn assert_svg(path: &Path, series: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{} is not an SVG document", path.display());
    assert!(text.contains(series), "{} lacks the {series} series", path.display());
}

#[test]
fn bench_quick_writes_a_complete_report_with_matching_checksums() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("results");
    bench(&dir, &[]);

    let md = std::fs::read_to_string(dir.join("results.md")).expect("results.md");
    assert!(md.starts_with("# parapply bench (quick)"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json")).expect("results.json parses");
    assert_eq!(json["quick"], true);

    // The run's settings, read back from every instance: quick runs without an fsync per commit.
    let settings = &json["settings"];
    assert_eq!(settings["durability"], "fast", "{settings:#}");
    assert_eq!(settings["repeat"], 1, "{settings:#}");
    assert_eq!(settings["commit_group"], 128, "{settings:#}");
    let servers = settings["servers"].as_array().expect("servers");
    assert_eq!(servers.iter().map(|s| s["instance"].as_str().unwrap_or("")).collect::<Vec<_>>(), ["A", "C", "D"], "{settings:#}");
    for s in servers {
        assert_eq!((s["sync_binlog"].as_u64(), s["innodb_flush_log_at_trx_commit"].as_u64()), (Some(0), Some(2)), "{s:#}");
        assert_eq!(s["binlog_format"], "ROW", "{s:#}");
        assert_eq!(s["log_slave_updates"], true, "{s:#}");
    }
    assert!(settings["parapply_version"].as_str().is_some_and(|v| v.starts_with("parapply ") && v.contains("commit")), "{settings:#}");
    assert!(md.contains("## Settings\n") && md.contains("`sync_binlog=0`, `innodb_flush_log_at_trx_commit=2` on every instance"), "{md}");
    assert!(md.contains("is **one target transaction**: one COMMIT, logged on the target under one GTID"), "{md}");

    // Quick runs the built-in oltp workload only.
    let workloads = json["workloads"].as_array().expect("workloads");
    assert_eq!(workloads.len(), 1, "{json:#}");
    let w = &workloads[0];
    assert_eq!(w["name"], "oltp");
    // 4 modes x workers {1, 4} at the default commit group, then at 4 workers: --commit-group 1
    // for every mode, without commit order too (not serial), and writeset's default group
    // without commit order; MariaDB none and optimistic at 4.
    let arms = w["arms"].as_array().expect("arms");
    let names: Vec<&str> = arms.iter().map(|a| a["name"].as_str().unwrap_or("")).collect();
    assert_eq!(
        names,
        [
            "parapply serial w=1 cg=128",
            "parapply serial w=4 cg=128",
            "parapply serial w=4 cg=1",
            "parapply logical_clock w=1 cg=128",
            "parapply logical_clock w=4 cg=128",
            "parapply logical_clock w=4 cg=1",
            "parapply logical_clock w=4 cg=1 no-commit-order",
            "parapply writeset w=1 cg=128",
            "parapply writeset w=4 cg=128",
            "parapply writeset w=4 cg=1",
            "parapply writeset w=4 cg=1 no-commit-order",
            "parapply writeset w=4 cg=128 no-commit-order",
            "parapply writeset_session w=1 cg=128",
            "parapply writeset_session w=4 cg=128",
            "parapply writeset_session w=4 cg=1",
            "parapply writeset_session w=4 cg=1 no-commit-order",
            "mariadb none t=4",
            "mariadb optimistic t=4",
        ]
    );

    // The backlog: 4 clients x 250 transactions of 4 row changes. The setup (CREATE DATABASE,
    // 4 CREATE TABLE, 40 prepare INSERTs of 100 rows) is the pre-workload snapshot: applied
    // untimed before every arm, not counted.
    assert_eq!(w["transactions"], 1000, "{w:#}");
    assert_eq!(w["rows"].as_u64(), Some(4000), "{w:#}");
    assert_eq!(w["size"], "4 clients × 250 transactions on 4 tables × 1000 rows", "{w:#}");
    for a in arms {
        assert_eq!(a["checksum_ok"], true, "arm failed: {a:#}");
        assert_eq!(a["status"], "ok", "{a:#}");
        assert_eq!(a["txns"], 1000, "{a:#}");
        assert_eq!(a["repetitions"], 1, "{a:#}");
        assert_eq!(a["runs"].as_array().map(Vec::len), Some(1), "{a:#}");
        assert!(a["seconds"].as_f64().is_some_and(|s| s > 0.0), "{a:#}");
        let tps = a["txns_per_second"].as_f64().expect("txn/s");
        // One repetition: its min and max are the median.
        assert_eq!((a["txns_per_second_min"].as_f64(), a["txns_per_second_max"].as_f64()), (Some(tps), Some(tps)), "{a:#}");
        // The target server's CPU and memory over the arm, for both kinds of applier.
        assert!(a["target_cpu_seconds"].as_f64().is_some_and(|s| s >= 0.0), "{a:#}");
        assert!(a["target_peak_rss_bytes"].as_u64().is_some_and(|b| b > 32 << 20), "{a:#}");
        let commits = a["target_commits"].as_u64().expect("target commits");
        let gtids = a["target_gtids"].as_u64().expect("target GTIDs");
        let source_gtids = a["target_source_gtids"].as_u64().expect("source GTIDs");
        assert!(source_gtids <= gtids, "{a:#}");
        if a["spec"]["applier"] == "parapply" {
            assert_eq!(a["rows"], 4000, "{a:#}");
            let cpu = a["applier_cpu_seconds"].as_f64().expect("parapply CPU");
            assert!(cpu > 0.0, "{a:#}");
            let total = a["total_cpu_seconds"].as_f64().expect("total CPU");
            assert!((total - cpu - a["target_cpu_seconds"].as_f64().unwrap_or(0.0)).abs() < 1e-6, "{a:#}");
            // The arm ran as its own `parapply replay` process: its peak RSS is its own, at
            // least the few MiB any Rust binary with tokio maps.
            let rss = a["peak_rss_bytes"].as_u64().expect("parapply RSS");
            assert!(rss > 1 << 20, "{a:#}");
            assert_eq!(a["total_peak_rss_bytes"].as_u64(), Some(rss + a["target_peak_rss_bytes"].as_u64().unwrap_or(0)), "{a:#}");
            // One GTID per commit group: the source GTIDs on the target are exactly the
            // commits parapply says it made, and each made a COMMIT on the target (checkpoint-only
            // transactions come on top).
            assert_eq!(Some(source_gtids), a["applier_reported_commits"].as_u64(), "{a:#}");
            assert!(commits >= source_gtids, "{a:#}");
            if a["spec"]["commit_group"] == 1 {
                // Every source transaction its own target transaction with its own GTID.
                assert_eq!(source_gtids, 1000, "{a:#}");
            }
            if a["name"] == "parapply writeset w=4 cg=128" {
                assert!(source_gtids < 500, "commit groups formed: {a:#}");
            }
        } else {
            // The native replica: one GTID per source transaction, nothing else, and one commit
            // each, plus one for a transaction the optimistic replica killed in its commit wait
            // and retried (seen once: 1 retry, 1,001 commits).
            let retries = a["retries"].as_u64().expect("retries");
            assert_eq!((gtids, source_gtids), (1000, 1000), "{a:#}");
            assert!((1000..=1000 + retries).contains(&commits), "{a:#}");
            assert!(a["applier_cpu_seconds"].is_null() && a["peak_rss_bytes"].is_null(), "{a:#}");
            assert_eq!(a["total_cpu_seconds"], a["target_cpu_seconds"], "{a:#}");
        }
    }
    for svg in ["throughput.svg", "cpu_per_txn.svg", "throughput_oltp.svg", "cpu_per_txn_oltp.svg"] {
        assert_svg(&dir.join(svg), "writeset cg=128");
    }
    assert_svg(&dir.join("throughput_oltp.svg"), "writeset cg=1 (no commit order)");

    // The steady-state lag experiment at 0.8x the native serial replica's capacity (its median
    // on this run's backlog): parapply serial and writeset live through `parapply run`, and the
    // native serial replica, measured by the same heartbeat.
    let lag = &json["lag"];
    let native_none = arms.iter().find(|a| a["name"] == "mariadb none t=4").expect("native serial arm");
    assert_eq!(lag["capacity_tps"], native_none["txns_per_second"], "{lag:#}");
    let rates = lag["rates"].as_array().expect("lag rates");
    assert_eq!(rates.len(), 1, "{lag:#}");
    assert_eq!(rates[0]["factor"].as_f64(), Some(0.8), "{lag:#}");
    let cap = lag["capacity_tps"].as_f64().expect("capacity");
    assert_eq!(rates[0]["target_rate_tps"].as_f64(), Some((cap * 0.8).clamp(5.0, 50_000.0).round()), "{lag:#}");
    let modes = rates[0]["arms"].as_array().expect("lag arms");
    assert_eq!(modes.iter().map(|m| m["name"].as_str().unwrap_or("")).collect::<Vec<_>>(), ["parapply serial w=4 cg=128", "parapply writeset w=4 cg=128", "mariadb none t=0"], "{lag:#}");
    for m in modes {
        assert_eq!(m["status"], "ok", "{m:#}");
        assert!(m["source_txns"].as_u64().is_some_and(|n| n > 0), "{m:#}");
        assert!(!m["samples"].as_array().expect("samples").is_empty(), "{m:#}");
        let (mean, p99, max) = (m["mean_lag_seconds"].as_f64().expect("mean"), m["p99_lag_seconds"].as_f64().expect("p99"), m["max_lag_seconds"].as_f64().expect("max"));
        assert!(mean >= 0.0 && p99 >= 0.0 && max >= p99 && max >= mean, "{m:#}");
        assert!(m["lag_slope"].as_f64().is_some(), "{m:#}");
        assert!(m["catch_up_seconds"].as_f64().is_some(), "{m:#}");
        assert!(m["target_cpu_seconds"].as_f64().is_some_and(|s| s > 0.0), "{m:#}");
        if m["spec"]["applier"] == "parapply" {
            assert!(m["applier_cpu_seconds"].as_f64().is_some_and(|s| s > 0.0), "{m:#}");
        } else {
            assert!(m["applier_cpu_seconds"].is_null(), "{m:#}");
        }
    }
    // Each serial arm is the baseline of its own comparison: 0% against itself.
    assert_eq!(modes[0]["lag_reduction_vs_serial"].as_f64(), Some(0.0), "{lag:#}");
    assert_eq!(modes[0]["cpu_cost_vs_serial"].as_f64(), Some(0.0), "{lag:#}");
    assert_eq!(modes[2]["lag_reduction_vs_native_serial"].as_f64(), Some(0.0), "{lag:#}");
    assert!(modes[1]["lag_reduction_vs_serial"].as_f64().is_some() && modes[1]["lag_reduction_vs_native_serial"].as_f64().is_some(), "{lag:#}");
    assert!(md.contains("## Steady-state lag") && md.contains("### 0.8× capacity, "), "{md}");
    assert_svg(&dir.join("lag_over_time.svg"), "writeset");
    assert_svg(&dir.join("lag_over_time_0.8x.svg"), "mariadb none");
    // The sandbox was stopped and removed.
    assert!(!dir.join("sandbox").join("A").exists(), "sandbox left behind");
}

/// `--repeat 2 --durability full`: every arm runs twice, round by round in the listed order,
/// each repetition checked, on servers that fsync every commit.
#[test]
fn bench_quick_repeats_arms_in_interleaved_rounds_with_full_durability() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("results");
    bench(&dir, &["--workload", "hot_rows", "--workers", "4", "--modes", "writeset", "--mariadb-modes", "none", "--repeat", "2", "--durability", "full", "--no-lag"]);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json")).expect("results.json parses");
    for s in json["settings"]["servers"].as_array().expect("servers") {
        assert_eq!((s["sync_binlog"].as_u64(), s["innodb_flush_log_at_trx_commit"].as_u64()), (Some(1), Some(1)), "{s:#}");
    }
    assert_eq!(json["settings"]["repeat"], 2);
    let arms = json["workloads"][0]["arms"].as_array().expect("arms");
    let names: Vec<&str> = arms.iter().map(|a| a["name"].as_str().unwrap_or("")).collect();
    assert_eq!(names, ["parapply writeset w=4 cg=128", "parapply writeset w=4 cg=1", "parapply writeset w=4 cg=1 no-commit-order", "parapply writeset w=4 cg=128 no-commit-order", "mariadb none t=4"]);
    for a in arms {
        assert_eq!(a["status"], "ok", "{a:#}");
        let runs = a["runs"].as_array().expect("runs");
        assert_eq!(runs.iter().map(|r| r["round"].as_u64()).collect::<Vec<_>>(), [Some(0), Some(1)], "{a:#}");
        assert!(runs.iter().all(|r| r["checksum_ok"] == true), "{a:#}");
        let (lo, mid, hi) = (a["txns_per_second_min"].as_f64().expect("min"), a["txns_per_second"].as_f64().expect("median"), a["txns_per_second_max"].as_f64().expect("max"));
        assert!(lo <= mid && mid <= hi, "{a:#}");
        // The median of two is their mean.
        let r: Vec<f64> = runs.iter().map(|r| r["txns_per_second"].as_f64().expect("run txn/s")).collect();
        assert!((mid - (r[0] + r[1]) / 2.0).abs() < 1e-6, "{a:#}");
        assert!(a["target_source_gtids"].as_u64().is_some_and(|n| n > 0), "{a:#}");
    }
}

/// Expected backlog transactions of each custom workload at quick scale: 4 sessions x 20
/// transactions. The setup (CREATE DATABASE, CREATE TABLE, fill INSERTs of 500 rows; e.g.
/// many_tables 1 + 64 x 2) is the pre-workload snapshot, applied untimed and not counted.
const CUSTOM: [(&str, u64); 6] = [("hot_rows", 80), ("many_tables", 80), ("fk_parent_child", 80), ("large_txn", 80), ("ddl", 80), ("no_pk", 80)];

/// Run `--quick --workload NAMES --workers 4 --no-lag`; every workload captured once, applied by
/// every arm, checksums equal. Returns the report.
fn custom_workloads(names: &[&str]) -> serde_json::Value {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("results");
    bench(&dir, &["--workload", &names.join(","), "--workers", "4", "--modes", "serial,writeset,writeset_session", "--no-lag"]);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json")).expect("results.json parses");
    let workloads = json["workloads"].as_array().expect("workloads");
    assert_eq!(workloads.len(), names.len(), "{json:#}");
    for (w, name) in workloads.iter().zip(names) {
        let txns = CUSTOM.iter().find(|c| c.0 == *name).expect("known workload").1;
        assert_eq!(w["name"], *name);
        assert_eq!(w["transactions"], txns, "{name}");
        // Each workload's binlog is kept in the cache directory.
        assert!(dir.join("cache").join(name).read_dir().expect("cache dir").count() >= 1, "{name}");
        let arms = w["arms"].as_array().expect("arms");
        // 3 modes at 4 workers, their per-transaction arms (serial 1, writeset 3,
        // writeset_session 2), MariaDB none and optimistic.
        assert_eq!(arms.len(), 11, "{name}: {w:#}");
        for a in arms {
            assert_eq!(a["status"], "ok", "{name}: {a:#}");
            assert_eq!(a["txns"], txns, "{name}: {a:#}");
            if a["spec"]["applier"] == "parapply" {
                assert_eq!(a["rows"], w["rows"], "{name}: {a:#}");
                if a["spec"]["commit_group"] == 1 {
                    assert_eq!(a["target_source_gtids"], txns, "{name}: {a:#}");
                }
            } else {
                assert_eq!(a["target_source_gtids"], txns, "{name}: {a:#}");
            }
        }
        assert_svg(&dir.join(format!("throughput_{name}.svg")), "writeset cg=128");
    }
    assert!(json["lag"].is_null());
    json
}

/// The writeset arm's barriers by reason in workload `name`.
fn barriers(json: &serde_json::Value, name: &str) -> serde_json::Value {
    let w = json["workloads"].as_array().expect("workloads").iter().find(|w| w["name"] == name).expect("workload");
    w["arms"].as_array().expect("arms").iter().find(|a| a["name"] == "parapply writeset w=4 cg=128").expect("writeset arm")["barriers"].clone()
}

/// The issue's own workloads, each captured once on the source and applied by every arm; the
/// checksum gate holds for each. FK parent/child also proves rule 2 in replay: a child row is
/// never applied before its parent (the writeset arms learn the foreign key from the target's
/// information_schema; without it commit order off applied a child first, ERROR 1452).
#[test]
fn bench_quick_custom_workloads_match_the_source() {
    let json = custom_workloads(&["hot_rows", "many_tables", "fk_parent_child", "large_txn", "ddl", "no_pk"]);
    // DDL barriers in the ddl workload's backlog: its 2 ALTER TABLE (the CREATEs are setup).
    assert_eq!(barriers(&json, "ddl"), serde_json::json!({"ddl": 2}));
    // The arm's own scheduler (keys from the target's catalog) reports its barriers: the 80
    // client transactions writing the key-less table carry that table's key instead (in order
    // among themselves), so none is a barrier. (The offline analysis, without a catalog, filed
    // all 80 under unknown_schema.)
    assert_eq!(barriers(&json, "no_pk"), serde_json::json!({}));
}

