//! The data-loss estimate when there really is a loss: B's IO thread is stopped, A commits 25
//! more rows (seen by the watcher's checks), then A is killed. B is promoted (its link is down,
//! it applied all it received, its lag was fine while the link ran), and the estimate equals the
//! transactions A's binlog holds beyond B after A restarts: 25. When A answers again the watcher's
//! `reconcile` entry lists those 25 GTIDs exactly, and so does `failover reconcile --old A`.

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

    // The watcher sees A answer again: it fences A and settles the loss from A's binlog, the
    // exact 25 GTIDs with the table and rows they wrote.
    let b_has = seq(&b_pos, 1);
    let want_gtids = vec![format!("1-1-{}..1-1-{}", b_has + 1, b_has + 25)];
    let check = |rec: &parapply::failover::log::Entry, estimate: Option<u64>| {
        let r = rec.reconcile.as_ref().expect("reconcile block");
        assert_eq!((rec.event.as_str(), rec.old_writer.as_deref(), rec.new_writer.as_deref()), ("reconcile", Some("A"), Some("B")));
        assert_eq!(r.lost_transactions, 25, "{r:#?}");
        assert_eq!(r.lost_gtids, want_gtids);
        assert_eq!(r.lost_per_domain.iter().map(|(d, n)| (*d, *n)).collect::<Vec<_>>(), vec![(1, 25)]);
        assert_eq!(r.lost_tables.get("app.t"), Some(&LostRows { transactions: 25, inserts: 25, updates: 0, deletes: 0 }));
        assert_eq!(r.lost_tables.len(), 1);
        assert_eq!((r.estimate, r.exact, r.old_writer_read_only), (estimate, true, true));
        assert_eq!(r.old_writer_pos, a_pos);
    };
    let rec = wait_for("the reconcile entry", 30, || entries(&log_path).into_iter().find(|e| e.event == "reconcile"));
    assert_eq!(rec.trigger, "old_writer_returned");
    check(&rec, Some(25));
    assert_eq!(sb.sql("A", "SELECT @@read_only"), "1");
    let view = w.state.snapshot().last_reconcile.expect("last_reconcile on the state");
    assert_eq!((view.lost_transactions, view.lost_gtids.clone(), view.estimate), (25, want_gtids.clone(), Some(25)));
    drop(w);

    // The operator's command: settled already, so it needs --new; then the same 25 GTIDs (no
    // promotion to compare with this time).
    let cfg = config(&sb, &log_path);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert!(rt.block_on(reconcile_once(&cfg, "A", None)).is_err());
    let rec = rt.block_on(reconcile_once(&cfg, "A", Some("B"))).expect("reconcile");
    assert_eq!(rec.trigger, "operator");
    check(&rec, None);
    assert_eq!(entries(&log_path).iter().filter(|e| e.event == "reconcile").count(), 2);
}
