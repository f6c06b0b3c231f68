//! `parapply bench --quick` end to end on a real MariaDB sandbox: the harness must finish, every
//! arm must end with the source's CHECKSUM TABLE, and the report files must exist and parse.
//! No timing is asserted (noisy CI machine); only that the measured numbers are present.

use std::process::Command;

#[test]
fn bench_quick_writes_a_complete_report_with_matching_checksums() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("results");
    let run = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["bench", "--quick", "--out"])
        .arg(&dir)
        .args(["--sandbox-script", concat!(env!("CARGO_MANIFEST_DIR"), "/tools/sandbox")])
        .env("PARAPPLY_LOG", "warn")
        .output()
        .expect("run parapply bench");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "bench --quick failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}", run.status);

    let md = std::fs::read_to_string(dir.join("results.md")).expect("results.md");
    assert!(md.starts_with("# parapply bench (quick)"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json")).expect("results.json parses");
    assert_eq!(json["quick"], true);

    // 4 modes x workers {1, 4}, one commit-order-off arm, MariaDB none and optimistic at 4.
    let arms = json["arms"].as_array().expect("arms");
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

    // The workload: 4 clients x 250 transactions, 40 prepare inserts, 1 CREATE DATABASE + 4 CREATE TABLE.
    assert_eq!(json["workload"]["transactions"], 1045, "{:#}", json["workload"]);
    assert_eq!(json["workload"]["rows"].as_u64(), Some(8000), "{:#}", json["workload"]);
    for a in arms {
        assert_eq!(a["checksum_ok"], true, "arm failed: {a:#}");
        assert_eq!(a["status"], "ok", "{a:#}");
        assert_eq!(a["txns"], 1045, "{a:#}");
        assert!(a["seconds"].as_f64().is_some_and(|s| s > 0.0), "{a:#}");
        assert!(a["txns_per_second"].as_f64().is_some_and(|s| s > 0.0), "{a:#}");
        assert!(a["target_cpu_seconds"].as_f64().is_some(), "{a:#}");
        if a["spec"]["applier"] == "parapply" {
            assert_eq!(a["rows"], 8000, "{a:#}");
            assert!(a["applier_cpu_seconds"].as_f64().is_some_and(|s| s > 0.0), "{a:#}");
        }
    }
    for svg in ["throughput.svg", "cpu_per_txn.svg"] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap_or_else(|e| panic!("{svg}: {e}"));
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{svg} is not an SVG document");
        assert!(text.contains("writeset"), "{svg} lacks the writeset series");
    }
    // The sandbox was stopped and removed.
    assert!(!dir.join("sandbox").join("A").exists(), "sandbox left behind");
}
