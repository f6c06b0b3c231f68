//! Every scheduling mode at 1, 4 and 8 workers (and with commit order off) replays a concurrent
//! multi-table workload with inserts, updates and deletes to the same CHECKSUM TABLE as the
//! source. The workload runs from four concurrent sessions with binlog group commit waits, so
//! MariaDB writes real commit_id groups for `logical_clock`.
mod apply_support;
mod common;

use apply_support::*;

#[test]
fn every_mode_and_worker_count_reproduces_the_source_exactly() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    create_schema(&sb);
    run_workload(&sb, 150, 7);
    let files = sb.binlog_files("A");
    let want = checksums(&sb, "A", &TABLES);
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    // The source really wrote commit groups (GTID events with `cid=`), so logical_clock has
    // parallelism to use.
    let dump = std::process::Command::new("mariadb-binlog").args(&files).output().expect("mariadb-binlog");
    let groups = String::from_utf8_lossy(&dump.stdout).matches(" cid=").count();
    assert!(groups > 0, "no commit_id groups in the source binlog");

    let mut runs = Vec::new();
    for mode in ["serial", "logical-clock", "writeset", "writeset-session"] {
        for workers in ["1", "4", "8"] {
            runs.push(vec!["--mode", mode, "--workers", workers]);
        }
    }
    runs.push(vec!["--mode", "writeset", "--workers", "8", "--no-preserve-commit-order"]);
    runs.push(vec!["--mode", "logical-clock", "--workers", "4", "--no-preserve-commit-order"]);
    let mut applied_counts = Vec::new();
    for args in &runs {
        reset_target(&sb, &["w"]);
        let summary = replay_ok(&sb, &files, args);
        assert_eq!(checksums(&sb, "C", &TABLES), want, "checksums differ for {args:?}");
        assert_eq!(summary["applied_position"].as_str().unwrap(), a_pos, "{args:?}");
        assert_eq!(u(&summary, "conflicts"), 0, "{args:?}");
        applied_counts.push(u(&summary, "txns_applied"));
    }
    // Every run applied the same transactions.
    assert!(applied_counts.iter().all(|&n| n == applied_counts[0]), "{applied_counts:?}");
    // ... and that is every transaction A logged (one GTID domain, seq_no counts them).
    let a_seq: u64 = a_pos.rsplit('-').next().unwrap().parse().unwrap();
    assert_eq!(applied_counts[0], a_seq);

    // Group commit. One worker is always busy while the reader is far ahead, so ready
    // transactions share target commits; the target still ends at A's position, logged under
    // each group's last GTID. With --commit-group 1 every transaction is its own commit.
    reset_target(&sb, &["w"]);
    sb.sql("C", "RESET MASTER");
    let grouped = replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "1"]);
    assert_eq!(checksums(&sb, "C", &TABLES), want);
    assert_eq!(u(&grouped, "txns_applied"), a_seq);
    assert!(u(&grouped, "target_commits") < a_seq, "no commit groups formed: {grouped}");
    let c_pos = sb.sql("C", "SELECT @@gtid_binlog_pos");
    assert!(c_pos.split(',').any(|g| g == a_pos), "C logged {c_pos}, A is at {a_pos}");
    reset_target(&sb, &["w"]);
    let single = replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "8", "--commit-group", "1"]);
    assert_eq!(checksums(&sb, "C", &TABLES), want);
    assert_eq!(u(&single, "target_commits"), u(&single, "txns_applied"));
}
