//! B lagging (its SQL thread stopped while A keeps writing) when A is killed: the gate refuses,
//! nothing is promoted, the state is `failover_blocked` and the switch log says why. Then the
//! operator's `promote --to B --force` overrides the gate, and the log records the override.

mod common;
mod failover_support;

use std::time::Duration;

use common::Sandbox;
use failover_support::*;
use parapply::failover::watcher::promote_once;

#[test]
fn lagging_candidate_is_not_promoted_and_force_overrides() {
    let sb = Sandbox::start(&["A", "B"], "");
    setup_app(&sb);
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("switch.jsonl");
    let cfg = config(&sb, &log_path);
    let w = RunningWatcher::start(cfg.clone(), None);
    w.wait_state("healthy", 20);

    sb.sql("B", "STOP SLAVE SQL_THREAD");
    let load = Load::start(vec![sb.port("A"), sb.port("B")], "1", Duration::from_millis(2));
    std::thread::sleep(Duration::from_secs(2));
    let result = load.stop();
    assert!(result.ok.len() > 10, "the load wrote {} rows", result.ok.len());
    // B received A's writes (IO thread) but applies none of them.
    wait_for("B to receive A's writes", 20, || (seq(&gtid_io_pos(&sb, "B"), 1) >= seq(&sb.sql("A", "SELECT @@gtid_binlog_pos"), 1)).then_some(()));
    sb.kill("A");
    w.wait_state("failover_blocked", 30);
    // Keep checking for a while: still nothing promoted.
    std::thread::sleep(Duration::from_secs(4));
    let st = w.state.snapshot();
    assert_eq!((st.state.as_str(), st.promotions), ("failover_blocked", 0));
    assert!(st.reasons.iter().any(|r| r.contains("relay_applied") && r.contains("SQL thread is not running")), "{:?}", st.reasons);
    assert_eq!(sb.sql("B", "SELECT @@read_only"), "1");
    let entries = entries(&log_path);
    assert!(entries.iter().all(|e| e.event != "failover"), "{entries:#?}");
    let blocked: Vec<_> = entries.iter().filter(|e| e.event == "failover_blocked").collect();
    // Logged once per distinct set of reasons, not every second.
    assert_eq!(blocked.len(), 1, "{entries:#?}");
    let reasons = blocked[0].reasons.join("\n");
    assert!(reasons.contains("B: relay_applied:") && reasons.contains("received transaction(s) not applied"), "{reasons}");
    assert!(reasons.contains("B: lag: unknown"), "{reasons}");
    assert!(blocked[0].checks.iter().any(|c| c.name == "B.relay_applied" && c.result == "fail"));
    drop(w);

    // The operator's override.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let e = rt.block_on(promote_once(&cfg, "B", true, None, None)).unwrap();
    assert_eq!((e.event.as_str(), e.new_writer.as_deref()), ("forced_promotion", Some("B")));
    assert!(e.reasons.iter().all(|r| r.starts_with("overridden by --force: ")) && !e.reasons.is_empty(), "{:?}", e.reasons);
    assert_eq!(sb.sql("B", "SELECT @@read_only"), "0");
    let all = entries_of(&log_path);
    assert_eq!(all.last().map(|e| e.event.clone()).as_deref(), Some("forced_promotion"));
}

fn entries_of(p: &std::path::Path) -> Vec<parapply::failover::log::Entry> {
    entries(p)
}
