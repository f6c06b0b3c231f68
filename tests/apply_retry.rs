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
