//! Issue 19: parapply's state schema on the target never collides with a replicated schema.
//!
//! - The README's read-mode set-up, exactly: `heartbeat_mode = "read"`, the heartbeat table
//!   `parapply.heartbeat`, and on the source `CREATE DATABASE parapply` plus pt-heartbeat
//!   writing into it. The replicated `CREATE DATABASE parapply` used to fail on the target with
//!   ERROR 1007 (parapply had made that schema for its own state) and `run` exited.
//! - Upgrading: a checkpoint left in the old default schema `parapply` is moved to the new one,
//!   and the replica resumes from it (nothing applied twice, nothing skipped).
mod apply_support;
mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use apply_support::*;
use common::{wait_for, Sandbox};

#[test]
fn read_mode_as_documented_survives_create_database_parapply_on_the_source() {
    let sb = Sandbox::start(&["A", "C"], "");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("parapply.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = '127.0.0.1'\nport = {}\nuser = 'root'\nserver_id = 4000321\n[target]\nhost = '127.0.0.1'\nport = {}\nuser = 'root'\n[http]\nenabled = false\n\
             [lag]\nheartbeat_table = \"parapply.heartbeat\"\nheartbeat_mode = \"read\"\n",
            sb.port("A"),
            sb.port("C")
        ),
    )
    .unwrap();
    let mut child = Command::new(bin()).args(["run", "--config"]).arg(&config).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn parapply run");
    // parapply has made its state on the target before the source creates the heartbeat schema.
    wait_for("state tables on C", 60, || (sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'parapply_state'") == "3").then_some(()));

    // The README: the heartbeat table lives in `parapply` on the source, written by pt-heartbeat.
    sb.sql("A", "CREATE DATABASE parapply");
    let pt = Path::new("/usr/bin/pt-heartbeat");
    let mut heartbeat = if pt.exists() {
        let c = Command::new(pt)
            .args(["--update", "--create-table", "--utc", "--database", "parapply", "--table", "heartbeat", "--interval", "0.2", "-h", "127.0.0.1", "-P", &sb.port("A").to_string(), "-u", "root"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pt-heartbeat");
        Some(c)
    } else {
        eprintln!("\n\n!!!!! pt-heartbeat absent (apt-get install -y percona-toolkit): its table is made by hand !!!!!\n");
        sb.sql("A", "CREATE TABLE parapply.heartbeat (ts varchar(26) NOT NULL, server_id int unsigned NOT NULL PRIMARY KEY, file varchar(255) DEFAULT NULL, position bigint unsigned DEFAULT NULL, relay_master_log_file varchar(255) DEFAULT NULL, exec_master_log_pos bigint unsigned DEFAULT NULL); INSERT INTO parapply.heartbeat (ts, server_id) VALUES (UTC_TIMESTAMP(6), @@server_id)");
        None
    };
    wait_for("a heartbeat row on A", 30, || (sb.sql("A", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'parapply' AND TABLE_NAME = 'heartbeat'") == "1" && sb.sql("A", "SELECT COUNT(*) FROM parapply.heartbeat") == "1").then_some(()));
    sb.sql("A", "CREATE TABLE parapply.after_heartbeat (id INT PRIMARY KEY); INSERT INTO parapply.after_heartbeat VALUES (1)");
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");

    // The replicated schema, its heartbeat rows and what came after reach the target.
    let applied = wait_for_opt(60, || {
        let rows = sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'parapply' AND TABLE_NAME = 'after_heartbeat'");
        (rows == "1" && sb.sql("C", "SELECT COUNT(*) FROM parapply.after_heartbeat") == "1").then_some(())
    });
    let exited = child.try_wait().unwrap();
    if let Some(c) = heartbeat.as_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
    kill9(&mut child);
    let stderr = child.stderr.take().map(|mut s| {
        let mut t = String::new();
        let _ = std::io::Read::read_to_string(&mut s, &mut t);
        t
    });
    assert!(exited.is_none(), "parapply run exited ({exited:?}): {}", stderr.unwrap_or_default());
    assert!(applied.is_some(), "the replicated parapply schema did not reach C: {}", stderr.unwrap_or_default());
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM parapply.heartbeat"), "1");
    // parapply's own state is apart from it, at A's position or beyond (pt-heartbeat keeps writing).
    let applied_seq: u64 = sb.sql("C", "SELECT MAX(seq) FROM parapply_state.applied_watermark").parse().unwrap_or(0)
        .max(sb.sql("C", "SELECT COALESCE(MAX(seq), 0) FROM parapply_state.applied_txn").parse().unwrap_or(0));
    let a_seq: u64 = a_pos.rsplit('-').next().unwrap().parse().unwrap();
    assert!(applied_seq >= a_seq, "applied {applied_seq}, A at {a_pos}");
}

fn wait_for_opt(secs: u64, mut f: impl FnMut() -> Option<()>) -> Option<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f().is_some() {
            return Some(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

#[test]
fn checkpoint_in_the_old_default_schema_is_moved_and_resumed_from() {
    let sb = Sandbox::start(&["A", "C"], "");
    sb.sql("A", "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY)");
    sb.sql("A", "INSERT INTO d.t VALUES (1)");
    // What an earlier parapply applied, with its checkpoint in `parapply` (the old default).
    let old_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let (domain, seq) = {
        let mut it = old_pos.split('-');
        (it.next().unwrap().to_string(), it.nth(1).unwrap().to_string())
    };
    sb.sql(
        "C",
        &format!(
            "SET SESSION sql_log_bin = 0; CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY); INSERT INTO d.t VALUES (1);\
             CREATE DATABASE parapply;\
             CREATE TABLE parapply.applied_txn (stream VARBINARY(128) NOT NULL, seq BIGINT UNSIGNED NOT NULL, gtid VARBINARY(255) NOT NULL, PRIMARY KEY (stream, seq)) ENGINE=InnoDB;\
             CREATE TABLE parapply.applied_watermark (stream VARBINARY(128) NOT NULL PRIMARY KEY, seq BIGINT UNSIGNED NOT NULL, gtid VARBINARY(255) NOT NULL) ENGINE=InnoDB;\
             INSERT INTO parapply.applied_watermark VALUES ('mariadb:{domain}', {seq}, '{old_pos}')"
        ),
    );
    sb.sql("A", "INSERT INTO d.t VALUES (2)");
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");

    // The default state schema: the old checkpoint is found, so only the last insert runs
    // (replaying from the start would fail on CREATE DATABASE d).
    let summary = replay_ok(&sb, &sb.binlog_files("A"), &[]);
    assert_eq!(u(&summary, "txns_applied"), 1, "{summary:#}");
    assert_eq!(sb.sql("C", "SELECT GROUP_CONCAT(id ORDER BY id) FROM d.t"), "1,2");
    assert_eq!(sb.sql("C", "SELECT gtid FROM parapply_state.applied_watermark"), a_pos);
    // The old schema held only the state tables: it is gone, so a replicated one can be made.
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'parapply'"), "0");
}
