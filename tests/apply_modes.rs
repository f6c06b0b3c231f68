//! Every scheduling mode at 1, 4 and 8 workers (and with commit order off) replays a concurrent
//! multi-table workload with inserts, updates and deletes to the same CHECKSUM TABLE as the
//! source. The workload runs from four concurrent sessions with binlog group commit waits, so
//! MariaDB writes real commit_id groups for `logical_clock`.
mod apply_support;
mod common;

use std::fmt::Write as _;

use apply_support::*;
use rand::{Rng, SeedableRng};

pub const TABLES: [&str; 3] = ["w.t1", "w.t2", "w.t3"];

pub fn create_schema(sb: &common::Sandbox) {
    sb.sql(
        "A",
        "CREATE DATABASE w;
         CREATE TABLE w.t1 (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(40)) ENGINE=InnoDB;
         CREATE TABLE w.t2 (id BIGINT UNSIGNED PRIMARY KEY, c DECIMAL(12,2), d DATETIME(6), e TEXT) ENGINE=InnoDB;
         CREATE TABLE w.t3 (x INT, y VARCHAR(10)) ENGINE=InnoDB;
         USE w;
         INSERT INTO w.t1 SELECT seq, seq, CONCAT('r', seq) FROM seq_1_to_200;
         INSERT INTO w.t2 SELECT seq, seq / 7, '2026-01-01 00:00:00', REPEAT('t', seq % 50) FROM seq_1_to_200;",
    );
}

/// SQL for one client: `txns` transactions of 1..=4 random changes on shared keys.
pub fn client_script(client: u64, txns: u64, seed: u64) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed * 1000 + client);
    let mut s = String::new();
    for n in 0..txns {
        s.push_str("BEGIN;");
        for _ in 0..rng.gen_range(1..=4) {
            let id = rng.gen_range(1..=260);
            match rng.gen_range(0..10) {
                0..=3 => {
                    let _ = write!(s, "UPDATE w.t1 SET a = a + {}, b = CONCAT('c{client}-', {n}) WHERE id = {id};", rng.gen_range(1..100));
                }
                4 => {
                    let _ = write!(s, "DELETE FROM w.t1 WHERE id = {id};");
                }
                5 => {
                    // Client-partitioned new keys: no duplicate-key errors on the source.
                    let new_id = 1000 + client * 100_000 + n * 10 + rng.gen_range(0..10);
                    let _ = write!(s, "INSERT IGNORE INTO w.t1 VALUES ({new_id}, {id}, 'new');");
                }
                6..=7 => {
                    let _ = write!(s, "UPDATE w.t2 SET c = c + 1.25, d = d + INTERVAL {n} SECOND, e = CONCAT(e, 'x') WHERE id = {id};");
                }
                8 => {
                    let _ = write!(s, "REPLACE INTO w.t2 VALUES ({id}, {}, NOW(6), 'replaced');", rng.gen_range(0..1000));
                }
                _ => {
                    let _ = write!(s, "INSERT INTO w.t3 VALUES ({id}, 'k{client}');");
                }
            }
        }
        s.push_str("COMMIT;\n");
        if n % 100 == 99 {
            // Several files, so file boundaries are crossed mid-workload.
            s.push_str("FLUSH BINARY LOGS;\n");
        }
    }
    s
}

/// Run the workload from four concurrent sessions on A.
pub fn run_workload(sb: &common::Sandbox, txns_per_client: u64, seed: u64) {
    sb.sql("A", "SET GLOBAL binlog_commit_wait_count = 3, binlog_commit_wait_usec = 20000");
    std::thread::scope(|scope| {
        for client in 0..4 {
            let script = client_script(client, txns_per_client, seed);
            scope.spawn(move || sb.sql("A", &script));
        }
    });
    sb.sql("A", "SET GLOBAL binlog_commit_wait_count = 0");
}

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
}
