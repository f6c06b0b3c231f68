//! A 1,000,000-row transaction is streamed through its worker, not held whole: `parapply
//! replay` applies it (and a 100,000-row UPDATE and a 200,000-row DELETE, each one transaction)
//! with a peak RSS under 256 MB, and the target ends identical to the source. Transactions of
//! large BLOBs stream by bytes, no round trip exceeds the target's `max_allowed_packet` (in
//! `replay` and in the live `run`), and a row larger than that packet stops with a clear error.
mod apply_support;
mod common;

use std::io::Read;
use std::process::Stdio;

use apply_support::*;

/// Run `parapply replay`; its JSON summary (or its stderr when it failed) and peak RSS in bytes
/// (from `wait4`).
fn replay_measured(sb: &common::Sandbox, files: &[std::path::PathBuf], args: &[&str]) -> (Result<serde_json::Value, String>, u64) {
    let mut child = replay_cmd(sb, files, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn parapply replay");
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain libc call on our own child; `rusage` is plain data, zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let err = err_reader.join().unwrap();
    // Linux reports ru_maxrss in kilobytes.
    let rss = usage.ru_maxrss as u64 * 1024;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return (Err(format!("replay {args:?} failed: {err}\n{out}")), rss);
    }
    (Ok(serde_json::from_str(&out).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {out}"))), rss)
}

#[test]
fn a_million_row_transaction_streams_with_bounded_memory() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE big;
         CREATE TABLE big.t (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, n BIGINT NOT NULL) ENGINE=InnoDB;
         USE big;
         INSERT INTO big.t SELECT seq, CONCAT('row-', seq, '-', REPEAT('x', seq % 17)), seq * 7 FROM seq_1_to_1000000;
         UPDATE big.t SET n = n + 1, v = CONCAT(v, '!') WHERE id <= 100000;
         DELETE FROM big.t WHERE id % 5 = 0;",
    );
    let files = sb.binlog_files("A");
    let (summary, rss) = replay_measured(&sb, &files, &["--mode", "writeset", "--workers", "4"]);
    let summary = summary.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("streamed: peak RSS {:.1} MB, {} rows in {:.1} s", rss as f64 / 1e6, summary["rows_applied"], summary["seconds"]);
    assert_eq!(u(&summary, "rows_applied"), 1_000_000 + 100_000 + 200_000);
    assert_eq!(u(&summary, "txns_applied"), 5);
    assert_eq!(checksums(&sb, "C", &["big.t"]), checksums(&sb, "A", &["big.t"]));
    assert_eq!(summary["applied_position"].as_str().unwrap(), sb.sql("A", "SELECT @@gtid_binlog_pos"));
    assert!(rss < 256 * 1024 * 1024, "peak RSS {rss} bytes is not under 256 MB");

    // For the record: the same transactions held whole (streaming off). Not asserted.
    if std::env::var_os("PARAPPLY_MEASURE_UNSTREAMED").is_some() {
        reset_target(&sb, &["big"]);
        let (outcome, whole) = replay_measured(&sb, &files, &["--mode", "writeset", "--workers", "4", "--stream-txn-rows", "100000000"]);
        let last_line = |e: &str| e.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
        eprintln!("held whole: peak RSS {:.1} MB; {}", whole as f64 / 1e6, outcome.map(|_| "ok".to_string()).unwrap_or_else(|e| last_line(&e)));
    }
}

/// Row data far beyond the target's `max_allowed_packet` (set to 4 MiB on C): a 300-row
/// transaction of 256 KiB BLOBs (~77 MB of binlog) streams by bytes, and a ~16 MB transaction
/// of blob UPDATEs, DELETEs and INSERTs, held whole, goes in several round trips inside one
/// target transaction. Both apply exactly; peak RSS stays bounded.
#[test]
fn blob_transactions_larger_than_max_allowed_packet_apply_in_bounded_round_trips() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE blobs;
         CREATE TABLE blobs.b (id INT PRIMARY KEY, tag VARCHAR(20) NOT NULL, data LONGBLOB NOT NULL) ENGINE=InnoDB;
         USE blobs;
         INSERT INTO blobs.b SELECT seq, CONCAT('r', seq), REPEAT(UNHEX(MD5(seq)), 16384) FROM seq_1_to_300;
         BEGIN;
         UPDATE blobs.b SET data = REPEAT(UNHEX(MD5(id + 1000)), 16384), tag = 'u' WHERE id <= 24;
         DELETE FROM blobs.b WHERE id BETWEEN 25 AND 30;
         INSERT INTO blobs.b SELECT seq, 'n', REPEAT(UNHEX(MD5(seq)), 16384) FROM seq_301_to_310;
         COMMIT;",
    );
    assert_eq!(sb.sql("A", "SELECT COUNT(*), SUM(LENGTH(data)) FROM blobs.b"), "304\t79691776");
    sb.sql("C", "SET GLOBAL max_allowed_packet = 4194304");
    let files = sb.binlog_files("A");
    // 16 MiB: the 300-row transaction (~77 MB) streams, the ~16 MB one is held whole. Both have
    // far more SQL than one 4 MiB packet (hex doubles the bytes).
    let (summary, rss) = replay_measured(&sb, &files, &["--mode", "writeset", "--workers", "4", "--stream-txn-bytes", "16777216"]);
    let summary = summary.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("blobs: peak RSS {:.1} MB, {} rows in {:.1} s", rss as f64 / 1e6, summary["rows_applied"], summary["seconds"]);
    assert_eq!(u(&summary, "rows_applied"), 300 + 24 + 6 + 10);
    assert_eq!(u(&summary, "txns_applied"), 4);
    assert_eq!(sb.sql("C", "SELECT COUNT(*), SUM(LENGTH(data)), SUM(tag = 'u') FROM blobs.b"), "304\t79691776\t24");
    assert_eq!(checksums(&sb, "C", &["blobs.b"]), checksums(&sb, "A", &["blobs.b"]));
    assert_eq!(summary["applied_position"].as_str().unwrap(), sb.sql("A", "SELECT @@gtid_binlog_pos"));
    // Held whole, the 300-row transaction alone is ~77 MB of row data plus ~154 MB of SQL.
    assert!(rss < 160 * 1024 * 1024, "peak RSS {rss} bytes is not under 160 MB");

    if std::env::var_os("PARAPPLY_MEASURE_UNSTREAMED").is_some() {
        reset_target(&sb, &["blobs"]);
        let (outcome, whole) = replay_measured(&sb, &files, &["--mode", "writeset", "--workers", "4", "--stream-txn-bytes", "100000000000"]);
        eprintln!("blobs held whole: peak RSS {:.1} MB; {}", whole as f64 / 1e6, outcome.map(|_| "ok".to_string()).unwrap_or_else(|e| e));
    }
}

/// One row whose INSERT alone is larger than the target's `max_allowed_packet`: the replay stops
/// at once (no reconnect-and-retry loop) with an error naming the GTID, the table and the sizes,
/// and nothing of that transaction is on the target.
#[test]
fn a_row_larger_than_max_allowed_packet_stops_with_gtid_table_and_sizes() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE huge;
         CREATE TABLE huge.r (id INT PRIMARY KEY, data LONGBLOB NOT NULL) ENGINE=InnoDB;
         BEGIN;
         INSERT INTO huge.r VALUES (1, 'small');
         INSERT INTO huge.r SELECT 2, REPEAT(UNHEX(MD5(2)), 80000);
         COMMIT;",
    );
    let gtid = sb.sql("A", "SELECT @@gtid_binlog_pos");
    sb.sql("C", "SET GLOBAL max_allowed_packet = 2097152");
    let files = sb.binlog_files("A");
    let (outcome, _) = replay_measured(&sb, &files, &["--workers", "2"]);
    let err = outcome.expect_err("a 2.56 MB statement cannot go to a target with a 2 MiB max_allowed_packet");
    let line = err.lines().find(|l| l.contains("max_allowed_packet")).unwrap_or_else(|| panic!("no max_allowed_packet error in: {err}"));
    // The INSERT: `INSERT INTO `huge`.`r` (`id`,`data`) VALUES (2,X'…')` with 1,280,000 bytes in hex.
    let bytes = "INSERT INTO `huge`.`r` (`id`,`data`) VALUES (2,X'')".len() + 2 * 1_280_000;
    let budget = 2_097_152 - 2_097_152 / 32 - 1024;
    assert!(
        line.contains(&format!("GTID {gtid}, table huge.r: a single statement of {bytes} bytes does not fit the target's max_allowed_packet (2097152 bytes; at most {budget} bytes per round trip)")),
        "{line}"
    );
    assert!(!err.contains("connection lost"), "treated as a connection failure: {err}");
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM huge.r"), "0");
}

/// Peak RSS of a process of ours still running (`VmHWM` in /proc), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).expect("VmHWM");
    kb * 1024
}

/// `parapply run` on `config` from A's current position, its stderr in `log`.
fn spawn_run(sb: &common::Sandbox, config: &std::path::Path, log: &std::path::Path) -> std::process::Child {
    let start = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let mut cmd = std::process::Command::new(apply_support::bin());
    cmd.arg("run").arg("--config").arg(config);
    if !start.is_empty() {
        cmd.arg("--from").arg(&start);
    }
    cmd.stdout(Stdio::null()).stderr(std::fs::File::create(log).unwrap()).spawn().expect("spawn parapply run")
}

/// A run config for A -> C with `apply_extra` in `[apply]`.
fn run_config(sb: &common::Sandbox, dir: &std::path::Path, server_id: u32, apply_extra: &str) -> std::path::PathBuf {
    let config = dir.join("parapply.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\nserver_id = {server_id}\n\n\
             [target]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\n\
             [apply]\nworkers = 4\n{apply_extra}\n\n[http]\nenabled = false\n",
            sb.port("A"),
            sb.port("C")
        ),
    )
    .unwrap();
    config
}

/// The blob workload of [`blob_transactions_larger_than_max_allowed_packet_apply_in_bounded_round_trips`]:
/// [`BLOB_SCHEMA`] then [`BLOB_ROWS`].
const BLOB_SCHEMA: &str = "CREATE DATABASE blobs;
     CREATE TABLE blobs.b (id INT PRIMARY KEY, tag VARCHAR(20) NOT NULL, data LONGBLOB NOT NULL) ENGINE=InnoDB;";
const BLOB_ROWS: &str = "USE blobs;
     INSERT INTO blobs.b SELECT seq, CONCAT('r', seq), REPEAT(UNHEX(MD5(seq)), 16384) FROM seq_1_to_300;
     BEGIN;
     UPDATE blobs.b SET data = REPEAT(UNHEX(MD5(id + 1000)), 16384), tag = 'u' WHERE id <= 24;
     DELETE FROM blobs.b WHERE id BETWEEN 25 AND 30;
     INSERT INTO blobs.b SELECT seq, 'n', REPEAT(UNHEX(MD5(seq)), 16384) FROM seq_301_to_310;
     COMMIT;";

/// Wait until C holds the whole blob workload (panics if `child` exits first).
fn wait_for_blobs(sb: &common::Sandbox, child: &mut std::process::Child, log: &std::path::Path) {
    common::wait_for("C has the blob rows", 180, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("run exited ({status}): {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        let exists = sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'blobs' AND TABLE_NAME = 'b'");
        (exists == "1" && sb.sql("C", "SELECT COUNT(*), SUM(LENGTH(data)), SUM(tag = 'u') FROM blobs.b") == "304\t79691776\t24").then_some(())
    });
}

/// SIGTERM our own child and require a clean exit.
fn terminate(child: &mut std::process::Child, log: &std::path::Path) {
    // SAFETY: signalling our own child by its pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "run did not stop cleanly: {}", std::fs::read_to_string(log).unwrap_or_default());
}

/// The live `parapply run` streams large transactions too (`stream_txn_bytes` = 16 MiB here) and
/// sends no round trip larger than the target's `max_allowed_packet`: the blob transactions
/// reach a 4 MiB-packet target exactly, with the same memory bound as `replay`.
#[test]
fn live_run_streams_blob_transactions_larger_than_max_allowed_packet() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("C", "SET GLOBAL max_allowed_packet = 4194304");
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(&sb, dir.path(), 4200011, "stream_txn_bytes = 16777216");
    let log = dir.path().join("run.log");
    let mut child = spawn_run(&sb, &config, &log);
    sb.sql("A", &format!("{BLOB_SCHEMA}{BLOB_ROWS}"));
    wait_for_blobs(&sb, &mut child, &log);
    let rss = peak_rss(child.id());
    eprintln!("live run, streamed: peak RSS {:.1} MB", rss as f64 / 1e6);
    terminate(&mut child, &log);
    assert_eq!(checksums(&sb, "C", &["blobs.b"]), checksums(&sb, "A", &["blobs.b"]));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("connection lost"), "a round trip was refused: {text}");
    // Held whole (stream_txn_bytes above the transaction) it measured 367 MB: ~77 MB of row
    // data and ~154 MB of SQL for one transaction, plus the allocator's retention.
    assert!(rss < 280 * 1024 * 1024, "peak RSS {rss} bytes is not under 280 MB");
}

/// The source connection is killed while a streamed transaction is being applied: the worker
/// rolls back, `run` restarts from the target's checkpoint, reads the transaction again from its
/// start and applies it once. The process keeps running and the target ends identical.
#[test]
fn live_run_source_lost_inside_a_streamed_transaction_applies_it_once() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(&sb, dir.path(), 4200012, "stream_txn_bytes = 16777216");
    let log = dir.path().join("run.log");
    let mut child = spawn_run(&sb, &config, &log);
    sb.sql("A", BLOB_SCHEMA);
    common::wait_for("blobs.b on C", 120, || (sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'blobs'") == "1").then_some(()));
    std::thread::scope(|scope| {
        // An outside session on C holds the key of row 100: the streamed 300-row INSERT stops
        // there, inside its target transaction, and the reader is at most a few 4 MiB chunks
        // ahead of it, so the source is mid-transaction. (Without the hold the whole backlog can
        // apply before anyone looks.)
        let holder = scope.spawn(|| sb.sql("C", "BEGIN; INSERT INTO blobs.b VALUES (100, 'hold', ''); DO SLEEP(300); ROLLBACK;"));
        common::wait_for("the holder on C", 60, || (sb.sql("C", "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP%'") != "0").then_some(()));
        let writer = scope.spawn(|| sb.sql("A", BLOB_ROWS));
        common::wait_for("a streamed INSERT waiting on row 100 on C", 120, || {
            let n = sb.sql("C", "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO `blobs`.`b`%VALUES (100,%' AND TIME >= 1");
            (n != "0").then_some(())
        });
        // Cut the source, then let the worker go on: its next chunk says the stream broke off.
        sb.sql("A", "SELECT CONCAT('KILL ', ID) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%' INTO @k; PREPARE s FROM @k; EXECUTE s");
        sb.sql("C", "SELECT CONCAT('KILL QUERY ', ID) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP%' INTO @k; PREPARE s FROM @k; EXECUTE s");
        holder.join().unwrap();
        writer.join().unwrap();
    });
    wait_for_blobs(&sb, &mut child, &log);
    terminate(&mut child, &log);
    assert_eq!(checksums(&sb, "C", &["blobs.b"]), checksums(&sb, "A", &["blobs.b"]));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("broke off inside the transaction"), "the kill did not land inside the streamed transaction: {text}");
    assert!(text.contains("restarting from the checkpoint"), "{text}");
}
