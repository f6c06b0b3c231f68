//! Exactly once across `kill -9` (DESIGN rule 1), with commit order on and off.
//!
//! Half the files are replayed to the end; then a replay of all files is SIGKILLed mid-run
//! at least 10 times (each kill after C's checkpoint shows a random 1–15 transactions of new progress, so
//! every kill lands mid-run, inside or between commit groups), and a last run finishes. The workload's updates are not idempotent (`a = a + k`,
//! `c = c + 1.25`, `e = CONCAT(e, 'x')`), so any transaction applied twice or lost changes the
//! checksums. The applied-GTID record must equal A's `gtid_binlog_pos` exactly, and C must
//! have logged the source GTIDs too (its own `gtid_binlog_pos` equal to A's with commit order on).
mod apply_support;
mod common;

use std::time::{Duration, Instant};

use apply_support::*;

const APPLIED_SQL: &str = "SELECT COALESCE((SELECT MAX(seq) FROM parapply_state.applied_watermark), 0) + \
     (SELECT COUNT(*) FROM parapply_state.applied_txn WHERE seq > COALESCE((SELECT MAX(seq) FROM parapply_state.applied_watermark), 0))";

/// Transactions applied on C according to its checkpoint tables, read over one kept
/// connection so polling is fast enough to kill a run that applies thousands per second.
struct AppliedProbe {
    rt: tokio::runtime::Runtime,
    conn: mysql_async::Conn,
}

impl AppliedProbe {
    fn new(sb: &common::Sandbox) -> AppliedProbe {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let conn = rt.block_on(mysql_async::Conn::from_url(sb.url("C"))).expect("connect to C");
        AppliedProbe { rt, conn }
    }
    fn applied(&mut self) -> u64 {
        use mysql_async::prelude::Queryable;
        // Before the first run creates the tables the query fails: nothing applied.
        self.rt.block_on(self.conn.query_first::<u64, _>(APPLIED_SQL)).ok().flatten().unwrap_or(0)
    }
}

fn applied_on_c(sb: &common::Sandbox) -> u64 {
    AppliedProbe::new(sb).applied()
}

fn kill_mid_run_then_finish(sb: &common::Sandbox, files: &[std::path::PathBuf], extra: &[&str]) -> (u32, serde_json::Value) {
    let half = &files[..files.len() / 2];
    // Commit groups of at most 4: some 500 target commits to land kills between (the backlog is
    // 2,000 transactions; at the default 128 a run makes a handful of commits). A group's rows,
    // GTID and checkpoint rows are one target transaction at any size.
    let mut args = vec!["--mode", "writeset", "--workers", "4", "--commit-group", "4"];
    args.extend_from_slice(extra);
    let first = replay_ok(sb, half, &args);
    assert!(u(&first, "txns_applied") > 0);

    let mut mid_run_kills = 0;
    // Random kill points, reproducible from the printed seed.
    let seed: u64 = std::env::var("KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("{extra:?}: KILL_SEED={seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut probe = AppliedProbe::new(sb);
    for _round in 0..14 {
        if mid_run_kills >= 12 {
            break;
        }
        let before = probe.applied();
        let mut child = spawn_replay(sb, files, &args);
        let deadline = Instant::now() + Duration::from_secs(60);
        // Kill as soon as this run has committed a random number of new transactions.
        let step = rand::Rng::gen_range(&mut rng, 1..=15);
        loop {
            if child.try_wait().expect("try_wait").is_some() || Instant::now() > deadline {
                break;
            }
            if probe.applied() >= before + step {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().expect("try_wait").is_none() {
            kill9(&mut child);
            mid_run_kills += 1;
        } else {
            let _ = child.wait();
        }
    }
    let last = replay_ok(sb, files, &args);
    (mid_run_kills, last)
}

#[test]
fn kill_9_mid_run_loses_nothing_and_applies_nothing_twice() {
    // Durable target: every COMMIT is on disk when acknowledged.
    let sb = common::Sandbox::start(&["A", "C"], "--innodb-flush-log-at-trx-commit=1 --sync-binlog=1");
    create_schema(&sb);
    run_workload(&sb, 500, 11);
    let files = sb.binlog_files("A");
    assert!(files.len() >= 6, "workload should span several files, got {}", files.len());
    let want = checksums(&sb, "A", &TABLES);
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let total: u64 = a_pos.rsplit('-').next().unwrap().parse().unwrap();

    // The third round sends every row event as a BINLOG statement (the path for tables with
    // triggers): its rows and checkpoint are one target transaction too.
    for extra in [&[][..], &["--no-preserve-commit-order"][..], &["--row-events", "binlog"][..]] {
        reset_target(&sb, &["w"]);
        let (kills, last) = kill_mid_run_then_finish(&sb, &files, extra);
        assert!(kills >= 10, "{extra:?}: only {kills} kills landed mid-run");
        assert_eq!(checksums(&sb, "C", &TABLES), want, "{extra:?}: data differs after kills");
        assert_eq!(last["applied_position"].as_str().unwrap(), a_pos, "{extra:?}");
        // The last run applied exactly what the killed runs had not.
        assert_eq!(u(&last, "txns_applied") + u(&last, "txns_skipped"), total, "{extra:?}");
        assert_eq!(applied_on_c(&sb), total, "{extra:?}");
        // C logged the source's transactions under the source's domain and server id. With
        // commit order on, its binlog position is exactly A's. With it off, the target's
        // `gtid_binlog_pos` names whichever transaction committed last, which may be an earlier
        // seq (the checkpoint above is the exact record).
        let c_pos = sb.sql("C", "SELECT @@gtid_binlog_pos");
        if !extra.contains(&"--no-preserve-commit-order") {
            assert!(c_pos.split(',').any(|g| g == a_pos), "{extra:?}: C gtid_binlog_pos {c_pos} lacks {a_pos}");
        } else {
            assert!(c_pos.split(',').any(|g| g.starts_with("1-1-")), "{extra:?}: C gtid_binlog_pos {c_pos} has no source GTID");
        }
        // Once compacted, nothing is left beyond the watermark.
        assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM parapply_state.applied_txn"), "0", "{extra:?}");
        assert_eq!(sb.sql("C", "SELECT stream, seq FROM parapply_state.applied_watermark"), format!("mariadb:1\t{total}"), "{extra:?}");
    }
}
