//! XA transactions replay as MariaDB's native replica applies them (issue 14 item 10).
//!
//! MariaDB 10.5+ logs an XA transaction in two GTID groups: the prepared rows (GTID with
//! PREPARED_XA, rows, `XA END`, XA_PREPARE event) and later, as its own group, `XA COMMIT` or
//! `XA ROLLBACK` (GTID with COMPLETED_XA); other transactions come in between, and a branch
//! still prepared at the end of the binlog stays prepared. Each source statement here runs in
//! its own client session (a prepared branch outlives its session), so the parts really are
//! interleaved with other sessions' commits. After replay every table and `XA RECOVER` on the
//! target equal the source's, in serial and writeset modes; re-runs after a stop between the
//! two parts, and after a stop inside each part's record window, apply nothing twice.
mod apply_support;
mod common;

use apply_support::*;

const TABLES: &str = "SELECT 't', id, v FROM xa.t UNION ALL SELECT 'u', id, n FROM xa.u ORDER BY 1, 2";
const RECOVER: &str = "XA RECOVER FORMAT='SQL'";

/// The source workload, one client session per element; `FLUSH BINARY LOGS` elements cut the
/// binlog so a replay can stop between parts.
const SESSIONS: &[&str] = &[
    "CREATE DATABASE xa; CREATE TABLE xa.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB; \
     CREATE TABLE xa.u (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB; INSERT INTO xa.u VALUES (1,0),(2,0),(3,0)",
    // x1 prepared, touching t and u(1).
    "XA START 'x1'; INSERT INTO xa.t VALUES (1,'x1'),(2,'x1'); UPDATE xa.u SET n = n + 1 WHERE id = 1; XA END 'x1'; XA PREPARE 'x1'",
    "FLUSH BINARY LOGS",
    // Other sessions commit in between, on other rows.
    "INSERT INTO xa.t VALUES (3,'plain'); UPDATE xa.u SET n = n + 10 WHERE id = 2",
    // Binary gtrid/bqual and a format id; its rows include a delete of a plain row.
    "XA START X'0102',X'ff',7; INSERT INTO xa.t VALUES (4,'bin'); DELETE FROM xa.t WHERE id = 3; XA END X'0102',X'ff',7; XA PREPARE X'0102',X'ff',7",
    "XA COMMIT 'x1'",
    "FLUSH BINARY LOGS",
    // The same rows as x1, after its commit.
    "UPDATE xa.t SET v = 'after x1' WHERE id = 1; UPDATE xa.u SET n = n * 3 WHERE id = 1",
    "XA ROLLBACK X'0102',X'ff',7",
    // ONE PHASE: logged as an ordinary transaction.
    "XA START 'op'; INSERT INTO xa.t VALUES (5,'one phase'); XA END 'op'; XA COMMIT 'op' ONE PHASE",
    // A quote, a backslash and a zero byte in the gtrid, the largest format id.
    "XA START X'27005c',X'62275c',2147483647; INSERT INTO xa.t VALUES (6,'quoted'); UPDATE xa.u SET n = n - 5 WHERE id = 3; \
     XA END X'27005c',X'62275c',2147483647; XA PREPARE X'27005c',X'62275c',2147483647",
    "INSERT INTO xa.t VALUES (7,'plain 2')",
    "XA COMMIT X'27005c',X'62275c',2147483647",
    // The same xid text again, now for a new branch, and one left prepared at the end.
    "XA START 'x1'; UPDATE xa.t SET v = 'x1 again' WHERE id = 2; XA END 'x1'; XA PREPARE 'x1'",
    "XA COMMIT 'x1'",
    "XA START 'left','bq',3; INSERT INTO xa.t VALUES (8,'left'); UPDATE xa.u SET n = n + 100 WHERE id = 3; XA END 'left','bq',3; XA PREPARE 'left','bq',3",
    "INSERT INTO xa.t VALUES (9,'after left')",
];

fn source(sb: &common::Sandbox) {
    for s in SESSIONS {
        sb.sql("A", s);
    }
}

/// Roll back what a replay left prepared on C, then drop its data and state.
fn reset(sb: &common::Sandbox) {
    for line in sb.sql("C", RECOVER).lines() {
        let xid = line.split('\t').nth(3).expect("XA RECOVER data column");
        sb.sql("C", &format!("XA ROLLBACK {xid}"));
    }
    reset_target(sb, &["xa"]);
}

#[test]
fn xa_parts_interleaved_with_other_sessions_replay_to_the_source_state() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    source(&sb);
    let files = sb.binlog_files("A");
    assert_eq!(files.len(), 3);
    let want = sb.sql("A", TABLES);
    let want_recover = sb.sql("A", RECOVER);
    assert_eq!(want_recover, "3\t4\t2\t'left','bq',3");
    // The source logged the two-part shape this test is about.
    let dump = std::process::Command::new("mariadb-binlog").args(&files).output().expect("mariadb-binlog");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("XA PREPARE X'7831',X'',1") && dump.contains("XA COMMIT X'7831',X'',1") && dump.contains("XA ROLLBACK X'0102',X'ff',7"), "{dump}");

    for args in [&["--mode", "serial"][..], &["--mode", "writeset", "--workers", "8"][..], &["--mode", "writeset", "--workers", "8", "--no-preserve-commit-order"][..]] {
        let summary = replay_ok(&sb, &files, args);
        assert_eq!(sb.sql("C", TABLES), want, "{args:?}");
        assert_eq!(sb.sql("C", RECOVER), want_recover, "{args:?}: the branch prepared at the end stays prepared");
        assert_eq!(u(&summary, "txns_applied"), sb.sql("A", "SELECT @@gtid_binlog_pos").rsplit('-').next().unwrap().parse::<u64>().unwrap(), "{args:?}");
        // Nothing of a finished branch is left marked; the open one is.
        assert_eq!(sb.sql("C", "SELECT HEX(xid) FROM parapply_state.xa_prepared"), "00000003046C6566746271", "{args:?}");
        // The target logged the XA parts under the source's GTIDs.
        let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
        if !args.contains(&"--no-preserve-commit-order") {
            assert!(sb.sql("C", "SELECT @@gtid_binlog_pos").split(',').any(|g| g == a_pos), "{args:?}");
        }
        // A second run finds everything applied and changes nothing.
        let again = replay_ok(&sb, &files, args);
        assert_eq!(u(&again, "txns_applied"), 0, "{args:?}");
        assert_eq!(sb.sql("C", TABLES), want, "{args:?}");
        assert_eq!(sb.sql("C", RECOVER), want_recover, "{args:?}");
        reset(&sb);
    }
}

#[test]
fn stops_between_and_inside_xa_parts_apply_nothing_twice() {
    let sb = common::Sandbox::start(&["A", "C"], "--innodb-flush-log-at-trx-commit=1 --sync-binlog=1");
    source(&sb);
    let files = sb.binlog_files("A");
    let want = sb.sql("A", TABLES);
    let args = ["--mode", "writeset", "--workers", "4"];

    // Stop between the parts: file 1 ends with x1's prepare.
    replay_ok(&sb, &files[..1], &args);
    assert_eq!(sb.sql("C", RECOVER), "1\t2\t0\t'x1'");
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM xa.t"), "0", "prepared rows are not visible");

    // A crash after XA PREPARE, before its record: the record and mark are gone, the branch
    // is prepared. The re-run must see the branch in XA RECOVER and only record it.
    sb.sql("C", "UPDATE parapply_state.applied_watermark SET seq = seq - 1; DELETE FROM parapply_state.xa_prepared");
    let s = replay_ok(&sb, &files[..1], &args);
    assert_eq!(u(&s, "txns_applied"), 1);
    assert_eq!(sb.sql("C", RECOVER), "1\t2\t0\t'x1'");

    // Up to x1's XA COMMIT (file 2 ends with it), then a crash after XA COMMIT, before its
    // record: the mark is still there, the branch is gone. The re-run must not commit again
    // (XAER_NOTA) nor stop: it records only.
    replay_ok(&sb, &files[..2], &args);
    assert_eq!(sb.sql("C", RECOVER), "7\t2\t1\tX'0102',X'ff',7");
    sb.sql("C", "UPDATE parapply_state.applied_watermark SET seq = seq - 1; INSERT INTO parapply_state.xa_prepared VALUES (CONCAT(X'0000000102', 'x1'), 'crash')");
    let s = replay_ok(&sb, &files[..2], &args);
    assert_eq!(u(&s, "txns_applied"), 1);
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM parapply_state.xa_prepared"), "1", "only X'0102' is still marked");

    // The rest, from where it stopped.
    replay_ok(&sb, &files, &args);
    assert_eq!(sb.sql("C", TABLES), want);
    assert_eq!(sb.sql("C", RECOVER), sb.sql("A", RECOVER));
}

#[test]
fn xa_commit_of_a_branch_never_prepared_here_stops_with_the_reason() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    source(&sb);
    let files = sb.binlog_files("A");
    // File 2 alone: x1's prepare is in file 1, before where this replay starts.
    sb.sql("C", "CREATE DATABASE xa; CREATE TABLE xa.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB; \
                CREATE TABLE xa.u (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB; INSERT INTO xa.u VALUES (1,0),(2,0),(3,0)");
    let out = replay(&sb, &files[1..2], &["--mode", "serial"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GTID 1-1-") && err.contains("XA COMMIT X'7831',X'',1: the branch is not prepared on the target (XA RECOVER does not list it) and parapply did not prepare it"),
        "{err}"
    );
}

#[test]
fn kill_9_during_an_xa_workload_loses_nothing_and_applies_nothing_twice() {
    let sb = common::Sandbox::start(&["A", "C"], "--innodb-flush-log-at-trx-commit=1 --sync-binlog=1");
    sb.sql("A", SESSIONS[0]);
    // Non-idempotent changes (n = n + k): a part applied twice or lost changes the sums.
    // Branches stay prepared across other sessions' commits and across each other.
    for i in 0..40u32 {
        let a = format!("'k{i}'");
        let b = format!("X'{:02x}ff',X'00',{}", i, 1000 + i);
        sb.sql("A", &format!("XA START {a}; INSERT INTO xa.t VALUES ({}, 'a'); UPDATE xa.u SET n = n + {} WHERE id = 1; XA END {a}; XA PREPARE {a}", 100 + i, i + 1));
        sb.sql("A", &format!("XA START {b}; UPDATE xa.u SET n = n + 7 WHERE id = 2; XA END {b}; XA PREPARE {b}"));
        sb.sql("A", &format!("INSERT INTO xa.t VALUES ({}, 'plain'); UPDATE xa.u SET n = n * 2 WHERE id = 3", 1000 + i));
        sb.sql("A", &format!("XA COMMIT {a}"));
        sb.sql("A", &format!("{} {b}", if i % 3 == 0 { "XA ROLLBACK" } else { "XA COMMIT" }));
        if i % 10 == 9 {
            sb.sql("A", "FLUSH BINARY LOGS");
        }
    }
    sb.sql("A", "XA START 'open'; UPDATE xa.u SET n = n + 1 WHERE id = 3; XA END 'open'; XA PREPARE 'open'");
    let files = sb.binlog_files("A");
    let want = sb.sql("A", TABLES);
    let total: u64 = sb.sql("A", "SELECT @@gtid_binlog_pos").rsplit('-').next().unwrap().parse().unwrap();
    let applied = "SELECT COALESCE((SELECT MAX(seq) FROM parapply_state.applied_watermark), 0) + \
        (SELECT COUNT(*) FROM parapply_state.applied_txn WHERE seq > COALESCE((SELECT MAX(seq) FROM parapply_state.applied_watermark), 0))";
    // One kept connection: polling must be fast enough to kill a run of a few hundred parts.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut conn = rt.block_on(mysql_async::Conn::from_url(sb.url("C"))).expect("connect to C");
    let mut applied_on_c = || {
        use mysql_async::prelude::Queryable;
        // Before the first run creates the tables the query fails: nothing applied.
        rt.block_on(conn.query_first::<u64, _>(applied)).ok().flatten().unwrap_or(0)
    };
    for args in [&["--mode", "writeset", "--workers", "8"][..], &["--mode", "writeset", "--workers", "8", "--no-preserve-commit-order"][..]] {
        let seed: u64 = std::env::var("KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
        eprintln!("{args:?}: KILL_SEED={seed}");
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        let mut kills = 0;
        for _ in 0..12 {
            let before = applied_on_c();
            let step = rand::Rng::gen_range(&mut rng, 1..=4);
            let mut child = spawn_replay(&sb, &files, args);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while child.try_wait().expect("try_wait").is_none() && std::time::Instant::now() < deadline && applied_on_c() < before + step {}
            if child.try_wait().expect("try_wait").is_none() {
                kill9(&mut child);
                kills += 1;
            }
        }
        let last = replay_ok(&sb, &files, args);
        assert!(kills >= 6, "{args:?}: only {kills} kills landed mid-run");
        assert_eq!(sb.sql("C", TABLES), want, "{args:?}: data differs after kills");
        assert_eq!(sb.sql("C", RECOVER), sb.sql("A", RECOVER), "{args:?}");
        assert_eq!(u(&last, "txns_applied") + u(&last, "txns_skipped"), total, "{args:?}");
        assert_eq!(applied_on_c(), total, "{args:?}");
        reset(&sb);
    }
}
