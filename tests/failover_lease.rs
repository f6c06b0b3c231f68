//! Two `parapply failover watch` processes share a GET_LOCK lease on the target C. The active one
//! is SIGKILLed while the writer A is failing: the server frees its lock, the standby takes over,
//! and exactly one promotion happens (written by the standby).

mod common;
mod failover_support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Sandbox;
use failover_support::*;

fn spawn_watcher(cfg: &std::path::Path, log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["failover", "watch", "--config"])
        .arg(cfg)
        .env("PARAPPLY_LOG", "parapply=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn log_has(p: &std::path::Path, what: &str) -> bool {
    std::fs::read_to_string(p).unwrap_or_default().contains(what)
}

#[test]
fn killing_the_active_watcher_during_a_failure_gives_exactly_one_promotion() {
    let sb = Sandbox::start(&["A", "B", "C"], "");
    let dir = tempfile::tempdir().unwrap();
    let switch_log = dir.path().join("switch.jsonl");
    let cfg_path = dir.path().join("parapply.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "[source]\nhost='127.0.0.1'\nport={a}\n[target]\nhost='127.0.0.1'\nport={c}\n[http]\nenabled=false\n\
             [failover]\nswitch_log='{log}'\n\
             [[failover.servers]]\nname='A'\nhost='127.0.0.1'\nport={a}\n\
             [[failover.servers]]\nname='B'\nhost='127.0.0.1'\nport={b}\n",
            a = sb.port("A"),
            b = sb.port("B"),
            c = sb.port("C"),
            log = switch_log.display()
        ),
    )
    .unwrap();
    let (l1, l2) = (dir.path().join("w1.log"), dir.path().join("w2.log"));
    let mut w1 = spawn_watcher(&cfg_path, &l1);
    wait_for("watcher 1 to take the lease", 30, || log_has(&l1, "failover lease acquired").then_some(()));
    let mut w2 = spawn_watcher(&cfg_path, &l2);
    std::thread::sleep(Duration::from_secs(3));
    assert!(!log_has(&l2, "failover lease acquired"), "the standby must not hold the lease while the active one lives");

    sb.kill("A");
    // The active watcher has seen at most one or two misses: kill it before it can act.
    std::thread::sleep(Duration::from_millis(1200));
    w1.kill().unwrap();
    let _ = w1.wait();
    wait_for("B promoted", 40, || (sb.sql("B", "SELECT @@read_only") == "0").then_some(()));
    std::thread::sleep(Duration::from_secs(3));
    let _ = w2.kill();
    let _ = w2.wait();

    assert!(log_has(&l2, "failover lease acquired"), "the standby took over the lease");
    let entries = entries(&switch_log);
    let promotions: Vec<_> = entries.iter().filter(|e| matches!(e.event.as_str(), "failover" | "forced_promotion" | "switchover")).collect();
    assert_eq!(promotions.len(), 1, "{entries:#?}");
    assert!(promotions[0].watcher.ends_with(&format!(":{}", w2.id())), "promoted by the standby: {}", promotions[0].watcher);
    assert_eq!(promotions[0].new_writer.as_deref(), Some("B"));
    assert!(entries.iter().all(|e| e.event != "adopted_writer"), "{entries:#?}");
}
