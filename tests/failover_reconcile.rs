//! Reconcile when the promotion's estimate is short: transactions A committed that no survivor
//! could see. B's IO thread is stopped; A commits 5 rows that the watcher reads (they are in the
//! estimate); then the watcher's path to A is cut (a paused TCP proxy) and A commits 3 more rows
//! nobody sees before it is killed. B is promoted with an estimate of 5 while 8 are really lost.
//! When A is back and reachable, the watcher fences it and its `reconcile` entry lists exactly
//! the 8 GTIDs A's binlog holds beyond B, and `/status` shows it.

mod common;
mod failover_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::Sandbox;
use failover_support::*;
use parapply::failover::log::LostRows;

fn get_status(base: &str) -> serde_json::Value {
    let (code, status) = get_json(base, "/status");
    assert_eq!(code, 200);
    assert!(!status.is_null(), "/status did not answer JSON");
    status
}

#[test]
fn reconcile_finds_the_transactions_the_estimate_could_not_see() {
    let sb = Sandbox::start(&["A", "B"], "");
    setup_app(&sb);
    let proxy = start_proxy(sb.port("A"));
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("switch.jsonl");
    let mut cfg = config(&sb, &log_path);
    cfg.servers[0].endpoint = ep(proxy.port);
    // The watcher's state on a real /status endpoint, as `failover watch` serves it.
    let (w, _http, base) = start_served_watcher(cfg);
    w.wait_state("healthy", 20);
    // B's lag is sampled while its link runs (the gate needs one figure).
    std::thread::sleep(Duration::from_secs(2));
    sb.sql("B", "STOP SLAVE IO_THREAD");
    let b_pos = sb.sql("B", "SELECT @@gtid_binlog_pos");

    // Seen by the watcher: in the estimate.
    sb.sql("A", &(0..5).map(|i| format!("INSERT INTO app.t (token, who) VALUES ({}, 'x');", 100 + i)).collect::<String>());
    let a_seen = sb.sql("A", "SELECT @@gtid_binlog_pos");
    wait_for("the watcher to read A after the 5 rows", 20, || (seq(w.state.snapshot().last_writer_gtid.as_deref().unwrap_or(""), 1) == seq(&a_seen, 1)).then_some(()));

    // Seen by nobody: the watcher's path is cut before they commit (a response generated after
    // the pause never reaches it) and B's link is down.
    proxy.paused.store(true, Ordering::Relaxed);
    sb.sql("A", &(0..3).map(|i| format!("INSERT INTO app.t (token, who) VALUES ({}, 'y');", 200 + i)).collect::<String>());
    sb.kill("A");
    wait_for("the promotion", 30, || (w.state.snapshot().promotions == 1).then_some(()));
    let all = entries(&log_path);
    let failover = all.iter().find(|e| e.event == "failover").expect("failover entry");
    assert_eq!(failover.data_loss_estimate.as_ref().map(|d| d.transactions), Some(5), "{failover:#?}");
    assert_eq!(sb.sql("B", "SELECT @@gtid_binlog_pos"), b_pos, "nothing written on B since");

    sb.start_more(&["A"]);
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let b_has = seq(&b_pos, 1);
    let really_lost = seq(&a_pos, 1) - b_has;
    assert_eq!(really_lost, 8, "A {a_pos}, B {b_pos}");

    // Up but unreachable for the watcher: still pending, nothing settled, A untouched.
    std::thread::sleep(Duration::from_secs(3));
    assert!(entries(&log_path).iter().all(|e| e.event != "reconcile"));
    assert_eq!(w.state.snapshot().pending_reconcile, vec!["A".to_string()]);
    assert_eq!(get_status(&base)["failover"]["pending_reconcile"], serde_json::json!(["A"]));
    assert_eq!(sb.sql("A", "SELECT @@read_only"), "0");

    proxy.paused.store(false, Ordering::Relaxed);
    let rec = wait_for("the reconcile entry", 30, || entries(&log_path).into_iter().find(|e| e.event == "reconcile"));
    eprintln!("{rec:#?}");
    let r = rec.reconcile.as_ref().expect("reconcile block");
    assert_eq!((rec.old_writer.as_deref(), rec.new_writer.as_deref(), rec.trigger.as_str()), (Some("A"), Some("B"), "old_writer_returned"));
    assert_eq!(r.lost_transactions, really_lost);
    assert_eq!(r.lost_gtids, vec![format!("1-1-{}..1-1-{}", b_has + 1, b_has + 8)]);
    assert_eq!(r.lost_per_domain.iter().map(|(d, n)| (*d, *n)).collect::<Vec<_>>(), vec![(1, 8)]);
    assert_eq!((r.estimate, r.exact), (Some(5), true), "{}", r.basis);
    assert_eq!((r.old_writer_pos.as_str(), r.new_writer_pos.as_str()), (a_pos.as_str(), b_pos.as_str()));
    assert_eq!(r.lost_tables.len(), 1);
    assert_eq!(r.lost_tables.get("app.t"), Some(&LostRows { transactions: 8, inserts: 8, updates: 0, deletes: 0 }));
    // The rows themselves: the 8 tokens A has and B lacks.
    let (on_a, on_b) = (token_counts(&sb, "A"), token_counts(&sb, "B"));
    let mut only_a: Vec<u64> = on_a.keys().filter(|t| !on_b.contains_key(t)).copied().collect();
    only_a.sort();
    assert_eq!(only_a, vec![100, 101, 102, 103, 104, 200, 201, 202]);
    // Fenced, not re-admitted; the state shows it and nothing is pending.
    assert!(r.old_writer_read_only);
    assert_eq!(sb.sql("A", "SELECT @@read_only"), "1");
    let st = w.state.snapshot();
    assert!(st.pending_reconcile.is_empty());
    let view = st.last_reconcile.expect("last_reconcile");
    assert_eq!((view.lost_transactions, view.estimate, view.exact, view.old_writer_read_only), (8, Some(5), true, true));
    let status = get_status(&base);
    let shown = &status["failover"]["last_reconcile"];
    assert_eq!((shown["old_writer"].as_str(), shown["new_writer"].as_str()), (Some("A"), Some("B")));
    assert_eq!((shown["lost_transactions"].as_u64(), shown["estimate"].as_u64()), (Some(8), Some(5)));
    assert_eq!(shown["lost_gtids"], serde_json::json!([format!("1-1-{}..1-1-{}", b_has + 1, b_has + 8)]));
    assert_eq!(status["failover"]["pending_reconcile"], serde_json::json!([]));
    // A's excess is the settled loss, not a dual write on the passive master.
    assert!(st.doctor_problems.iter().all(|p| !p.starts_with("dual-write hazard")), "{:?}", st.doctor_problems);
}
