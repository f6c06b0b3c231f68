//! The data-loss estimate when there really is a loss: B's IO thread is stopped, A commits 25
//! more rows (seen by the watcher's checks), then A is killed. B is promoted (its link is down,
//! it applied all it received, its lag was fine while the link ran), and the estimate equals the
//! transactions A's binlog holds beyond B after A restarts: 25.

mod common;
mod failover_support;

use std::time::Duration;

use common::Sandbox;
use failover_support::*;

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
}
