//! `parapply run --config`: the live replica streams A's binlog into C, is SIGKILLed at random
//! moments (at least 10 times, with commit order on and off) while A is still writing, and each
//! restart resumes from C's checkpoint: C ends identical to A and its applied position equals
//! A's `gtid_binlog_pos`.
mod apply_support;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use apply_support::*;

fn watermark_seq(sb: &common::Sandbox) -> u64 {
    let out = Command::new(common::repo_dir().join("tools/sandbox"))
        .args(["sql", "C", "SELECT COALESCE(MAX(seq), 0) FROM parapply_state.applied_watermark"])
        .env("SANDBOX_DIR", &sb.dir)
        .env("SANDBOX_BASE_PORT", sb.base_port.to_string())
        .output()
        .expect("sandbox sql");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}

fn wait_for(sb: &common::Sandbox, seq: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if watermark_seq(sb) >= seq {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// One live replica per commit-order setting: A writes while `parapply run` is SIGKILLed at
/// random moments at least 10 times (restarted at once after each kill); a last run catches up.
#[test]
fn live_run_survives_kill_9_and_resumes_from_the_checkpoint() {
    let seed: u64 = std::env::var("KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("KILL_SEED={seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    for preserve_commit_order in [true, false] {
        let sb = common::Sandbox::start(&["A", "C"], "--innodb-flush-log-at-trx-commit=1 --sync-binlog=1");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("parapply.toml");
        std::fs::write(
            &config,
            format!(
                "[source]\nhost = '127.0.0.1'\nport = {}\nuser = 'root'\nserver_id = 4000123\n[target]\nhost = '127.0.0.1'\nport = {}\nuser = 'root'\n[apply]\nworkers = 4\npreserve_commit_order = {preserve_commit_order}\n[http]\nenabled = false\n[lag]\nheartbeat_mode = 'read'\n",
                sb.port("A"),
                sb.port("C")
            ),
        )
        .unwrap();
        let spawn = || {
            Command::new(bin()).args(["run", "--config"]).arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn parapply run")
        };

        create_schema(&sb);
        let mut kills = 0;
        let mut killed_below_total = 0;
        // A writes while the replica runs and is killed again and again.
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| run_workload(&sb, 300, 3));
            while kills < 10 || !writer.is_finished() {
                let mut child = spawn();
                std::thread::sleep(Duration::from_millis(rand::Rng::gen_range(&mut rng, 150..700)));
                kill9(&mut child);
                kills += 1;
                if !writer.is_finished() {
                    killed_below_total += 1;
                }
            }
            writer.join().unwrap();
        });
        let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
        let total: u64 = a_pos.rsplit('-').next().unwrap().parse().unwrap();
        assert!(kills >= 10 && killed_below_total > 0, "{kills} kills, {killed_below_total} while A was writing");

        let mut child = spawn();
        let caught_up = wait_for(&sb, total);
        kill9(&mut child);
        assert!(caught_up, "preserve_commit_order={preserve_commit_order}: replica did not catch up to {total} (at {})", watermark_seq(&sb));
        assert_eq!(checksums(&sb, "C", &TABLES), checksums(&sb, "A", &TABLES), "preserve_commit_order={preserve_commit_order}");
        assert_eq!(sb.sql("C", "SELECT gtid FROM parapply_state.applied_watermark"), a_pos);
        assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM parapply_state.applied_txn"), "0");
    }
}
