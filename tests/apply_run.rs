//! `parapply run --config`: the live replica streams A's binlog into C, is SIGKILLed while A is
//! still writing, and on restart resumes from C's checkpoint: C ends identical to A and its
//! applied position equals A's `gtid_binlog_pos`.
mod apply_support;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use apply_support::*;

fn watermark_seq(sb: &common::Sandbox) -> u64 {
    let out = Command::new(common::repo_dir().join("tools/sandbox"))
        .args(["sql", "C", "SELECT COALESCE(MAX(seq), 0) FROM parapply.applied_watermark"])
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

#[test]
fn live_run_survives_kill_9_and_resumes_from_the_checkpoint() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("parapply.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = '127.0.0.1'\nport = {}\nuser = 'root'\nserver_id = 4000123\n[target]\nhost = '127.0.0.1'\nport = {}\nuser = 'root'\n[apply]\nworkers = 4\n",
            sb.port("A"),
            sb.port("C")
        ),
    )
    .unwrap();
    let spawn = || {
        Command::new(bin()).args(["run", "--config"]).arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn parapply run")
    };

    create_schema(&sb);
    let mut child = spawn();
    // A writes while the replica runs; kill it once it has applied part of the workload.
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| run_workload(&sb, 150, 3));
        let deadline = Instant::now() + Duration::from_secs(120);
        while watermark_seq(&sb) < 100 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        kill9(&mut child);
        writer.join().unwrap();
    });
    let killed_at = watermark_seq(&sb);
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let total: u64 = a_pos.rsplit('-').next().unwrap().parse().unwrap();
    assert!(killed_at < total, "the kill should land before the replica caught up ({killed_at} of {total})");

    let mut child = spawn();
    let caught_up = wait_for(&sb, total);
    kill9(&mut child);
    assert!(caught_up, "replica did not catch up to {total} (at {})", watermark_seq(&sb));
    assert_eq!(checksums(&sb, "C", &TABLES), checksums(&sb, "A", &TABLES));
    assert_eq!(sb.sql("C", "SELECT gtid FROM parapply.applied_watermark"), a_pos);
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM parapply.applied_txn"), "0");
}
