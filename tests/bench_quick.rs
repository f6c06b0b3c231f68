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

    // Quick runs the built-in oltp workload only.
    let workloads = json["workloads"].as_array().expect("workloads");
    assert_eq!(workloads.len(), 1, "{json:#}");
    let w = &workloads[0];
    assert_eq!(w["name"], "oltp");
    // 4 modes x workers {1, 4}, one commit-order-off arm, MariaDB none and optimistic at 4.
    let arms = w["arms"].as_array().expect("arms");
    assert_eq!(arms.len(), 11, "{json:#}");
    let names: Vec<&str> = arms.iter().map(|a| a["name"].as_str().unwrap_or("")).collect();
    for expected in [
        "parapply serial w=1",
        "parapply serial w=4",
        "parapply logical_clock w=1",
        "parapply logical_clock w=4",
        "parapply writeset w=1",
        "parapply writeset w=4",
        "parapply writeset_session w=1",
        "parapply writeset_session w=4",
        "mariadb none t=4",
        "mariadb optimistic t=4",
    ] {
        assert!(names.contains(&expected), "missing arm {expected} in {names:?}");
    }
    assert_eq!(names.iter().filter(|n| n.ends_with("no-commit-order")).count(), 1, "{names:?}");

    // The backlog: 4 clients x 250 transactions of 4 row changes. The setup (CREATE DATABASE,
    // 4 CREATE TABLE, 40 prepare INSERTs of 100 rows) is the pre-workload snapshot: applied
    // untimed before every arm, not counted.
    assert_eq!(w["transactions"], 1000, "{w:#}");
    assert_eq!(w["rows"].as_u64(), Some(4000), "{w:#}");
    for a in arms {
        assert_eq!(a["checksum_ok"], true, "arm failed: {a:#}");
        assert_eq!(a["status"], "ok", "{a:#}");
        assert_eq!(a["txns"], 1000, "{a:#}");
        assert!(a["seconds"].as_f64().is_some_and(|s| s > 0.0), "{a:#}");
        assert!(a["txns_per_second"].as_f64().is_some_and(|s| s > 0.0), "{a:#}");
        assert!(a["target_cpu_seconds"].as_f64().is_some(), "{a:#}");
        if a["spec"]["applier"] == "parapply" {
            assert_eq!(a["rows"], 4000, "{a:#}");
            assert!(a["applier_cpu_seconds"].as_f64().is_some_and(|s| s > 0.0), "{a:#}");
            // The arm ran as its own `parapply replay` process: its peak RSS is its own, at
            // least the few MiB any Rust binary with tokio maps, and far below the harness's
            // own footprint would not be asserted (no timing or size ratios in tests).
            assert!(a["peak_rss_bytes"].as_u64().is_some_and(|b| b > 1 << 20), "{a:#}");
        }
    }
    for svg in ["throughput.svg", "cpu_per_txn.svg", "throughput_oltp.svg", "cpu_per_txn_oltp.svg"] {
        assert_svg(&dir.join(svg), "writeset");
    }

    // The steady-state lag experiment: serial and writeset, live through `parapply run`.
    let lag = &json["lag"];
    let modes = lag["modes"].as_array().expect("lag modes");
    assert_eq!(modes.iter().map(|m| m["mode"].as_str().unwrap_or("")).collect::<Vec<_>>(), ["serial", "writeset"], "{lag:#}");
    for m in modes {
        assert_eq!(m["status"], "ok", "{m:#}");
        assert!(m["source_txns"].as_u64().is_some_and(|n| n > 0), "{m:#}");
        assert!(!m["samples"].as_array().expect("samples").is_empty(), "{m:#}");
        assert!(m["mean_lag_seconds"].as_f64().is_some_and(|s| s >= 0.0), "{m:#}");
        assert!(m["catch_up_seconds"].as_f64().is_some(), "{m:#}");
        assert!(m["applier_cpu_seconds"].as_f64().is_some_and(|s| s > 0.0), "{m:#}");
    }
    // Serial is the baseline of the comparison: 0% against itself.
    assert_eq!(modes[0]["lag_reduction_vs_serial"].as_f64(), Some(0.0), "{lag:#}");
    assert_eq!(modes[0]["cpu_cost_vs_serial"].as_f64(), Some(0.0), "{lag:#}");
    assert!(modes[1]["lag_reduction_vs_serial"].as_f64().is_some(), "{lag:#}");
    assert!(md.contains("## Steady-state lag"), "{md}");
    assert_svg(&dir.join("lag_over_time.svg"), "writeset");
    // The sandbox was stopped and removed.
    assert!(!dir.join("sandbox").join("A").exists(), "sandbox left behind");
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
    bench(&dir, &["--workload", &names.join(","), "--workers", "4", "--no-lag"]);
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
        // 4 modes at 4 workers, one commit-order-off arm, MariaDB none and optimistic.
        assert_eq!(arms.len(), 7, "{name}: {w:#}");
        for a in arms {
            assert_eq!(a["status"], "ok", "{name}: {a:#}");
            assert_eq!(a["txns"], txns, "{name}: {a:#}");
            if a["spec"]["applier"] == "parapply" {
                assert_eq!(a["rows"], w["rows"], "{name}: {a:#}");
            }
        }
        assert_svg(&dir.join(format!("throughput_{name}.svg")), "writeset");
    }
    assert!(json["lag"].is_null());
    json
}

/// The writeset arm's barriers by reason in workload `name`.
fn barriers(json: &serde_json::Value, name: &str) -> serde_json::Value {
    let w = json["workloads"].as_array().expect("workloads").iter().find(|w| w["name"] == name).expect("workload");
    w["arms"].as_array().expect("arms").iter().find(|a| a["name"] == "parapply writeset w=4").expect("writeset arm")["barriers"].clone()
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
    // Every backlog transaction writing the key-less table (all 80 client ones) is a barrier;
    // the offline analysis (no catalog, keys from TABLE_MAP metadata only) files a table
    // without primary key under unknown_schema.
    assert_eq!(barriers(&json, "no_pk"), serde_json::json!({"unknown_schema": 80}));
}

