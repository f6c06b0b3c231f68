//! Per-transaction commits (`--commit-group 1`): without commit order several are sent in one
//! round trip, each still its own target transaction; with it, one per round trip, every source
//! GTID logged on the target in source order. The end state equals the source either way, and a
//! divergence inside a round trip stops at that transaction's GTID with exactly the
//! transactions before it committed.
mod apply_support;
mod common;

use apply_support::*;

/// The GTIDs of a binlog dump, in the order they were logged.
fn logged_gtids(files: &[std::path::PathBuf]) -> Vec<String> {
    let dump = std::process::Command::new("mariadb-binlog").args(files).output().expect("mariadb-binlog");
    let text = String::from_utf8_lossy(&dump.stdout);
    text.lines().filter_map(|l| l.split("\tGTID ").nth(1)).map(|g| g.split_whitespace().next().unwrap_or_default().to_string()).collect()
}

#[test]
fn per_transaction_commits_share_round_trips_without_commit_order_and_keep_every_gtid_in_order_with_it() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    create_schema(&sb);
    run_workload(&sb, 120, 11);
    let files = sb.binlog_files("A");
    let want = checksums(&sb, "A", &TABLES);
    let source = logged_gtids(&files);
    assert!(source.len() > 400, "workload logged {} transactions", source.len());

    // Commit order on: one transaction per round trip (trips would serialize the statements
    // that separate workers run side by side).
    reset_target(&sb, &["w"]);
    sb.sql("C", "RESET MASTER");
    let ordered = replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "2", "--commit-group", "1"]);
    assert_eq!(checksums(&sb, "C", &TABLES), want);
    assert_eq!(u(&ordered, "txns_applied"), source.len() as u64);
    assert_eq!(u(&ordered, "target_commits"), source.len() as u64);
    assert_eq!(u(&ordered, "batched_trips"), 0, "{ordered}");
    // The target logged every source GTID, in the source's order (its own state-table DDL
    // aside, which has the target's server id).
    let on_target: Vec<String> = logged_gtids(&sb.binlog_files("C")).into_iter().filter(|g| source.contains(g)).collect();
    assert_eq!(on_target, source);

    // Commit order off, two workers: the reader runs ahead, so a free worker finds several
    // released transactions and sends them in one round trip, each still its own commit. (Their
    // GTIDs may reach the target out of order, which a target in gtid_strict_mode refuses; the
    // applier then stops keeping them, as it says at start, so only the commits are counted.)
    reset_target(&sb, &["w"]);
    let unordered = replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "2", "--commit-group", "1", "--no-preserve-commit-order"]);
    assert_eq!(checksums(&sb, "C", &TABLES), want);
    assert_eq!(u(&unordered, "target_commits"), source.len() as u64);
    assert!(u(&unordered, "batched_txns") >= 2 * u(&unordered, "batched_trips"), "{unordered}");
    assert!(u(&unordered, "batched_trips") > 0, "{unordered}");

    // One transaction per round trip when asked.
    reset_target(&sb, &["w"]);
    let single = replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "2", "--commit-group", "1", "--no-preserve-commit-order", "--txns-per-trip", "1"]);
    assert_eq!(checksums(&sb, "C", &TABLES), want);
    assert_eq!(u(&single, "batched_trips"), 0);
    assert_eq!(u(&single, "target_commits"), source.len() as u64);
}

#[test]
fn a_divergence_inside_a_round_trip_stops_at_its_gtid_with_the_transactions_before_it_committed() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", "CREATE DATABASE d; USE d; CREATE TABLE d.t (id INT PRIMARY KEY, v INT NOT NULL); INSERT INTO d.t SELECT seq, 100 FROM seq_1_to_40; FLUSH BINARY LOGS;");
    let before: String = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let base: u64 = before.rsplit('-').next().unwrap().parse().unwrap();
    let updates: String = (1..=40).map(|k| format!("UPDATE d.t SET v = v + {k} WHERE id = {k};")).collect();
    sb.sql("A", &updates);
    let files = sb.binlog_files("A");
    let (setup, rest) = files.split_at(files.len() - 1);

    reset_target(&sb, &["d"]);
    replay_ok(&sb, setup, &["--commit-group", "1"]);
    // The target lost row 20 behind the applier's back.
    sb.sql("C", "SET SESSION sql_log_bin=0; DELETE FROM d.t WHERE id = 20");

    // One worker, reader far ahead: the update of row 20 travels in a round trip with its
    // neighbours (up to 16 per trip), which fails there after the ones before it committed.
    // (One worker commits in source order even with commit order off.)
    let out = replay(&sb, rest, &["--workers", "1", "--commit-group", "1", "--no-preserve-commit-order"]);
    assert!(!out.status.success(), "replay should stop at the missing row");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let gtid_20 = format!("{}-{}", before.rsplit_once('-').unwrap().0, base + 20);
    assert!(stderr.contains(&gtid_20) && stderr.contains("table d.t"), "error should name {gtid_20} and d.t: {stderr}");
    let values = |range: &str| sb.sql("C", &format!("SELECT GROUP_CONCAT(v - 100 ORDER BY id) FROM d.t WHERE id BETWEEN {range}"));
    assert_eq!(values("1 AND 19"), (1..=19).map(|k| k.to_string()).collect::<Vec<_>>().join(","));
    assert_eq!(values("21 AND 40"), vec!["0"; 20].join(","));

    // Rerun skipping the divergence: everything after it lands once, nothing before it twice.
    let summary = replay_ok(&sb, rest, &["--workers", "1", "--commit-group", "1", "--no-preserve-commit-order", "--on-conflict", "skip"]);
    assert!(u(&summary, "batched_trips") > 0, "{summary}");
    assert_eq!(u(&summary, "conflicts"), 1, "{summary}");
    assert_eq!(u(&summary, "txns_skipped"), 19, "{summary}");
    assert_eq!(values("1 AND 40"), (1..=40).filter(|k| *k != 20).map(|k| k.to_string()).collect::<Vec<_>>().join(","));
}
