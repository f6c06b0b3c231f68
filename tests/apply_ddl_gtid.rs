//! A DDL is skipped as "already on the target" only when it can have run before a crash took
//! its checkpoint. A transaction on a non-transactional table (MyISAM, Aria) is logged on the
//! target as two event groups: its rows under the source GTID and its checkpoint under the next
//! seq, the next source transaction's. When that next transaction is a DDL, comparing the
//! target's last GTID with the DDL's once skipped the DDL (`Table 'adv2.a' doesn't exist` on
//! the next insert), where MariaDB's native replica applies the same binlog.
mod apply_support;
mod common;

use apply_support::*;

const TABLES: [&str; 5] = ["nt.m", "nt.a", "nt.i", "nt.m2", "nt.after"];

fn source_workload(sb: &common::Sandbox) {
    sb.sql(
        "A",
        "CREATE DATABASE nt; \
         CREATE TABLE nt.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM; \
         INSERT INTO nt.m VALUES (1, 1), (2, 2); \
         CREATE TABLE nt.a (id INT PRIMARY KEY, v INT) ENGINE=Aria; \
         INSERT INTO nt.a VALUES (1, 1); \
         CREATE TABLE nt.i (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO nt.m VALUES (3, 3); \
         ALTER TABLE nt.i ADD COLUMN w INT DEFAULT 5; \
         INSERT INTO nt.i VALUES (1, 1, 1); \
         UPDATE nt.m SET v = 30 WHERE id = 3; \
         CREATE TABLE nt.m2 LIKE nt.m; \
         INSERT INTO nt.m2 SELECT * FROM nt.m; \
         DELETE FROM nt.a WHERE id = 1; \
         CREATE TABLE nt.after (id INT PRIMARY KEY) ENGINE=InnoDB; \
         INSERT INTO nt.after VALUES (1), (2)",
    );
}

#[test]
fn ddl_after_a_non_transactional_transaction_is_applied() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    source_workload(&sb);
    let files = sb.binlog_files("A");
    for args in [&["--mode", "writeset", "--workers", "8"][..], &["--mode", "serial", "--workers", "1"][..]] {
        let summary = replay_ok(&sb, &files, args);
        assert_eq!(u(&summary, "conflicts"), 0);
        assert_eq!(checksums(&sb, "C", &TABLES), checksums(&sb, "A", &TABLES), "{args:?}");
        assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM nt.after"), "2");
        reset_target(&sb, &["nt"]);
    }
}

/// The crash window itself: the DDL ran on the target under its source GTID, the checkpoint did
/// not follow. The rerun records the checkpoint only and goes on.
#[test]
fn ddl_that_ran_before_a_crash_took_its_checkpoint_is_not_run_again() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", "CREATE DATABASE nt; CREATE TABLE nt.i (id INT PRIMARY KEY, v INT); INSERT INTO nt.i VALUES (1, 1)");
    let before_ddl = sb.sql("A", "SELECT @@gtid_binlog_pos");
    sb.sql("A", "ALTER TABLE nt.i ADD COLUMN w INT DEFAULT 5; INSERT INTO nt.i VALUES (2, 2, 2)");
    let files = sb.binlog_files("A");
    replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "8", "--stop-gtid", &before_ddl]);
    let (domain, rest) = before_ddl.split_once('-').unwrap();
    let (server, seq) = rest.split_once('-').unwrap();
    let ddl_seq: u64 = seq.parse::<u64>().unwrap() + 1;
    // As if parapply had run the DDL and died before its checkpoint.
    sb.sql("C", &format!("SET SESSION gtid_domain_id={domain}, server_id={server}, gtid_seq_no={ddl_seq}; ALTER TABLE nt.i ADD COLUMN w INT DEFAULT 5"));
    let out = replay(&sb, &files, &["--mode", "writeset", "--workers", "8"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("DDL already on the target"), "{stderr}");
    assert_eq!(checksums(&sb, "C", &["nt.i"]), checksums(&sb, "A", &["nt.i"]));
    assert_eq!(sb.sql("C", "SELECT id, v, w FROM nt.i ORDER BY id"), "1\t1\t5\n2\t2\t2");
}
