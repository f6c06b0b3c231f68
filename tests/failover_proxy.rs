//! Only the watcher's path to A fails (its A address goes through a TCP proxy the test pauses)
//! while B still replicates from A: the second channel vetoes, nothing is promoted, and the
//! decision is logged. When the path comes back the watcher is healthy again.

mod common;
mod failover_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::Sandbox;
use failover_support::*;

#[test]
fn watcher_path_failure_alone_is_no_failover() {
    let sb = Sandbox::start(&["A", "B"], "");
    setup_app(&sb);
    let proxy = start_proxy(sb.port("A"));
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("switch.jsonl");
    let mut cfg = config(&sb, &log_path);
    cfg.servers[0].endpoint = ep(proxy.port);
    let w = RunningWatcher::start(cfg, None);
    w.wait_state("healthy", 20);
    let load = Load::start(vec![sb.port("A"), sb.port("B")], "1", Duration::from_millis(5));

    proxy.paused.store(true, Ordering::Relaxed);
    w.wait_state("writer_unreachable_from_watcher", 30);
    std::thread::sleep(Duration::from_secs(4));
    let st = w.state.snapshot();
    assert_eq!((st.state.as_str(), st.promotions), ("writer_unreachable_from_watcher", 0));
    assert!(st.misses >= 3, "{st:?}");
    assert_eq!(sb.sql("B", "SELECT @@read_only"), "1");
    assert_eq!(sb.sql("A", "SELECT @@read_only"), "0", "A was not fenced");
    let entries = entries(&log_path);
    assert!(entries.iter().all(|e| e.event != "failover" && e.event != "failover_blocked"), "{entries:#?}");
    let vetoes: Vec<_> = entries.iter().filter(|e| e.event == "no_failover").collect();
    assert_eq!(vetoes.len(), 1, "{entries:#?}");
    assert_eq!(vetoes[0].reasons, vec!["only the watcher's path to A fails: B still replicate(s) from it".to_string()]);
    assert!(vetoes[0].checks.iter().any(|c| c.name == "B.second_channel" && c.result == "fail" && c.detail.starts_with("still replicating")), "{:#?}", vetoes[0].checks);

    proxy.paused.store(false, Ordering::Relaxed);
    w.wait_state("healthy", 20);
    let r = load.stop();
    assert!(r.ok.iter().all(|(_, p, _)| *p == sb.port("A")), "every write went to A");
}
