//! A lock conflict on the target (another session holds the row) makes the worker roll back
//! and retry; the retry is counted and the data ends up exact.
mod apply_support;
mod common;

use std::time::Duration;

use apply_support::*;

#[test]
fn lock_wait_timeout_is_retried_and_counted() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", "CREATE DATABASE r; CREATE TABLE r.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO r.t VALUES (1, 0), (2, 0);");
    sb.sql("A", "FLUSH BINARY LOGS");
    // Every file but the new, empty one FLUSH just opened.
    let mut schema_files = sb.binlog_files("A");
    schema_files.pop();
    sb.sql("A", "UPDATE r.t SET v = v + 1 WHERE id = 1; UPDATE r.t SET v = v + 10 WHERE id = 2; UPDATE r.t SET v = v + 100 WHERE id = 1;");
    let files = sb.binlog_files("A");
    replay_ok(&sb, &schema_files, &[]);

    // New target sessions give up a lock wait after 1 s.
    sb.sql("C", "SET GLOBAL innodb_lock_wait_timeout = 1");
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| {
            let t = std::time::Instant::now();
            let out = sb.sql("C", "BEGIN; SELECT v FROM r.t WHERE id = 1 FOR UPDATE; DO SLEEP(3); COMMIT;");
            (out, t.elapsed())
        });
        // Let the holder take its lock first.
        let mut locked = false;
        let t0 = std::time::Instant::now();
        let mut polls = 0;
        for _ in 0..200 {
            polls += 1;
            // The holder is in its SLEEP, so its FOR UPDATE lock is taken. (INNODB_TRX was
            // polled here before and sometimes never showed the transaction.)
            if sb.sql("C", "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP%'") != "0" {
                locked = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if !locked {
            panic!(
                "lock holder did not start ({polls} polls in {:?}; holder finished: {}, said {:?})",
                t0.elapsed(),
                holder.is_finished(),
                holder.join().map_err(|_| "panicked")
            );
        }
        let sum = replay_ok(&sb, &files, &["--workers", "2"]);
        assert!(u(&sum, "retries") >= 1, "no retry counted: {sum}");
        assert_eq!(u(&sum, "txns_applied"), 3);
        holder.join().unwrap();
    });
    assert_eq!(sb.sql("C", "SELECT id, v FROM r.t ORDER BY id"), "1\t101\n2\t10");
    assert_eq!(checksums(&sb, "C", &["r.t"]), checksums(&sb, "A", &["r.t"]));
}

/// With commit order kept, a later transaction that has run and waits for its turn with its
/// target transaction open gives way after 1 s: it rolls back (counted as a retry) and runs
/// again in turn. Here the earlier transaction waits 3 s on a lock another session holds, so
/// the later one must yield once; in the real case (InnoDB gap locks between transactions the
/// scheduler calls independent, seen on the MySQL 8 generator's backlog) the earlier one waits
/// for a lock the later one holds, and only this breaks the wait cycle before
/// innodb_lock_wait_timeout.
#[test]
fn a_later_transaction_waiting_for_its_turn_gives_way() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", "CREATE DATABASE y; CREATE TABLE y.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO y.t VALUES (1, 0), (2, 0);");
    sb.sql("A", "FLUSH BINARY LOGS");
    let mut schema_files = sb.binlog_files("A");
    schema_files.pop();
    // Two independent transactions: the earlier on row 1, the later on row 2.
    sb.sql("A", "UPDATE y.t SET v = 1 WHERE id = 1; UPDATE y.t SET v = 2 WHERE id = 2;");
    let files = sb.binlog_files("A");
    replay_ok(&sb, &schema_files, &[]);

    std::thread::scope(|scope| {
        let holder = scope.spawn(|| sb.sql("C", "BEGIN; SELECT v FROM y.t WHERE id = 1 FOR UPDATE; DO SLEEP(3); COMMIT;"));
        let mut locked = false;
        for _ in 0..300 {
            if sb.sql("C", "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP%'") != "0" {
                locked = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(locked, "lock holder did not start");
        // No commit groups and one transaction per round trip: each on its own worker.
        let sum = replay_ok(&sb, &files, &["--workers", "2", "--commit-group", "1", "--txns-per-trip", "1"]);
        assert_eq!(u(&sum, "txns_applied"), 2, "{sum}");
        assert!(u(&sum, "retries") >= 1, "the later transaction did not give way: {sum}");
        holder.join().unwrap();
    });
    assert_eq!(sb.sql("C", "SELECT id, v FROM y.t ORDER BY id"), "1\t1\n2\t2");
    assert_eq!(checksums(&sb, "C", &["y.t"]), checksums(&sb, "A", &["y.t"]));
}
