//! The data-loss estimate when there really is a loss: B's IO thread is stopped, A commits 25
//! more rows (seen by the watcher's checks), then A is killed. B is promoted (its link is down,
//! it applied all it received, its lag was fine while the link ran), and the estimate equals the
//! transactions A's binlog holds beyond B after A restarts: 25. `failover reconcile` then lists
//! those 25 GTIDs exactly.

mod common;
mod failover_support;

use std::time::Duration;

use common::Sandbox;
use failover_support::*;
use parapply::failover::log::LostRows;
use parapply::failover::watcher::reconcile_once;

#[test]
fn estimate_equals_the_transactions_really_lost() {
    let sb = Sandbox::start(&["A", "B"], "");
    setup_app(&sb);
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("switch.jsonl");
    let w = RunningWatcher::start(config(&sb, &log_path), None);
    w.wait_state("healthy", 20);
    std::thread::sleep(Duration::from_secs(2));
    sb.sql("B", "STOP SLAVE IO_THREAD");
    for i in 0..25 {
        sb.sql("A", &format!("INSERT INTO app.t (token, who) VALUES ({i}, 'x')"));
    }
    // Let the watcher read A's position after the writes.
    std::thread::sleep(Duration::from_millis(2500));
    sb.kill("A");
    wait_for("the promotion", 30, || (w.state.snapshot().promotions == 1).then_some(()));
    drop(w);
    let b_pos = sb.sql("B", "SELECT @@gtid_binlog_pos");
    sb.start_more(&["A"]);
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let really_lost = seq(&a_pos, 1) - seq(&b_pos, 1);
    assert_eq!(really_lost, 25, "A {a_pos}, B {b_pos}");
    let e = entries(&log_path).into_iter().find(|e| e.event == "failover").expect("failover entry");
    let est = e.data_loss_estimate.expect("estimate");
    assert_eq!(est.transactions, 25);
    assert_eq!(est.per_domain.into_iter().collect::<Vec<_>>(), vec![(1, 25)]);
    assert_eq!(seq(&e.gtid.writer_last_seen, 1), seq(&a_pos, 1));

    // The operator's reconcile (the watcher is gone): the exact 25 GTIDs, read from A's binlog,
    // with the table and rows they wrote; A fenced.
    let b_has = seq(&b_pos, 1);
    let cfg = config(&sb, &log_path);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let rec = rt.block_on(reconcile_once(&cfg, "A", None)).expect("reconcile");
    let r = rec.reconcile.as_ref().expect("reconcile block");
    assert_eq!((rec.event.as_str(), rec.trigger.as_str(), rec.new_writer.as_deref()), ("reconcile", "operator", Some("B")));
    assert_eq!(r.lost_transactions, 25);
    assert_eq!(r.lost_gtids, vec![format!("1-1-{}..1-1-{}", b_has + 1, b_has + 25)]);
    assert_eq!(r.lost_per_domain.iter().map(|(d, n)| (*d, *n)).collect::<Vec<_>>(), vec![(1, 25)]);
    assert_eq!(r.lost_tables.get("app.t"), Some(&LostRows { transactions: 25, inserts: 25, updates: 0, deletes: 0 }));
    assert_eq!(r.lost_tables.len(), 1);
    assert_eq!((r.estimate, r.exact, r.old_writer_read_only), (Some(25), true, true));
    assert_eq!(sb.sql("A", "SELECT @@read_only"), "1");
    assert_eq!(entries(&log_path).last().map(|e| e.event.clone()).as_deref(), Some("reconcile"));
    // Settled: a second run finds no unreconciled promotion away from A.
    assert!(rt.block_on(reconcile_once(&cfg, "A", None)).is_err());
}
