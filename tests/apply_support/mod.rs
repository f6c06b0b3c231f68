//! Helpers shared by the `apply_*` integration tests: run the real `parapply` binary against a
//! sandbox target and read its JSON summary.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use rand::{Rng, SeedableRng};

use crate::common::Sandbox;

/// The `parapply` binary cargo built for this test run.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parapply"))
}

/// `parapply replay FILES --target C --json ARGS`.
pub fn replay_cmd(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("replay").args(files).arg("--target").arg(sb.url("C")).arg("--json").args(args);
    c.env("PARAPPLY_LOG", "parapply=info");
    c
}

/// Run a replay to the end; returns the process output.
pub fn replay(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> Output {
    replay_cmd(sb, files, args).output().expect("run parapply")
}

/// Run a replay that must succeed; returns its JSON summary.
pub fn replay_ok(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> serde_json::Value {
    let out = replay(sb, files, args);
    assert!(out.status.success(), "replay {args:?} failed:\nstdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Start a replay in the background (for kill tests).
pub fn spawn_replay(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> Child {
    replay_cmd(sb, files, args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn parapply")
}

/// SIGKILL a child we spawned, by its own pid.
pub fn kill9(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// Drop the given databases and parapply's state schema on C.
pub fn reset_target(sb: &Sandbox, dbs: &[&str]) {
    let mut sql = String::from("SET SESSION sql_log_bin=0;");
    for db in dbs.iter().chain(["parapply", "parapply_state"].iter()) {
        sql.push_str(&format!("DROP DATABASE IF EXISTS `{db}`;"));
    }
    sb.sql("C", &sql);
}

/// `CHECKSUM TABLE` of each table on an instance, as text lines.
pub fn checksums(sb: &Sandbox, name: &str, tables: &[&str]) -> String {
    sb.sql(name, &format!("CHECKSUM TABLE {}", tables.join(", ")))
}

pub fn u(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("summary has no {key}: {v}"))
}

// ---- A concurrent multi-table workload on A (used by the modes and exactly-once tests) ----

pub const TABLES: [&str; 3] = ["w.t1", "w.t2", "w.t3"];

pub fn create_schema(sb: &Sandbox) {
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

/// Run the workload from four concurrent sessions on A (they may deadlock each other now and
/// then: see [`Sandbox::sql_concurrent`]).
pub fn run_workload(sb: &Sandbox, txns_per_client: u64, seed: u64) {
    sb.sql("A", "SET GLOBAL binlog_commit_wait_count = 3, binlog_commit_wait_usec = 20000");
    std::thread::scope(|scope| {
        for client in 0..4 {
            let script = client_script(client, txns_per_client, seed);
            scope.spawn(move || sb.sql_concurrent("A", &script));
        }
    });
    sb.sql("A", "SET GLOBAL binlog_commit_wait_count = 0");
}

