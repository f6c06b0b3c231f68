//! The shared reading of the target's lock waits (`apply::worker::LockWaits`) against a live
//! MariaDB: a worker whose open transaction holds a row another apply connection waits for is
//! told so once the commit order has stood still; a wait of a connection that is not an apply
//! connection (the checkpoint compaction, an outside client) is not a reason; readings are
//! spaced so InnoDB's lock-wait cache refills (it refills only after 100 ms unread); a user
//! without PROCESS gets `Unavailable`, once and for good.
mod common;

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use parapply::apply::worker::{LockWaitVerdict, LockWaits, HEAD_STALL, REFRESH_EVERY};

async fn conn(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::new(mysql_async::Opts::from_url(url).unwrap()).await.unwrap()
}

/// Read until the verdict for `holder` is `want` (readings at least `REFRESH_EVERY` apart), at
/// most 40 readings; returns how many it took, or None.
async fn readings_until(waits: &LockWaits, holder: &mut mysql_async::Conn, since: Instant, want: LockWaitVerdict) -> Option<usize> {
    let id = holder.id();
    for n in 1..=40 {
        if waits.check(holder, id, since, HEAD_STALL).await == want {
            return Some(n);
        }
        tokio::time::sleep(REFRESH_EVERY).await;
    }
    None
}

#[test]
fn a_worker_learns_that_another_apply_connection_waits_for_its_locks_and_only_then() {
    let sb = common::Sandbox::start(&["C"], "");
    sb.sql("C", "CREATE DATABASE lw; CREATE TABLE lw.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO lw.t VALUES (1, 0), (2, 0);");
    sb.sql("C", "CREATE USER 'noproc'@'%'; GRANT SELECT, INSERT, UPDATE ON lw.* TO 'noproc'@'%';");
    let url = sb.url("C");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let waits = LockWaits::default();
        // Two workers (0 and 1) and one outside session.
        let mut holder = conn(&url).await;
        let mut waiter = conn(&url).await;
        let mut other_holder = conn(&url).await;
        let mut outsider = conn(&url).await;
        waits.register(0, holder.id());
        waits.register(1, waiter.id());
        waits.register(2, other_holder.id());

        let since = Instant::now();
        holder.query_drop("BEGIN; UPDATE lw.t SET v = 1 WHERE id = 1").await.unwrap();
        other_holder.query_drop("BEGIN; UPDATE lw.t SET v = 1 WHERE id = 2").await.unwrap();
        // Nothing waits yet.
        assert_eq!(waits.check(&mut holder, 0, since, HEAD_STALL).await, LockWaitVerdict::NotKnown);
        // Worker 1 waits for worker 0's row; the outsider waits for worker 2's.
        let blocked = tokio::spawn(async move {
            waiter.query_drop("SET SESSION innodb_lock_wait_timeout = 30; BEGIN; UPDATE lw.t SET v = 2 WHERE id = 1").await.unwrap();
            waiter
        });
        let blocked_outside = tokio::spawn(async move {
            outsider.query_drop("SET SESSION innodb_lock_wait_timeout = 30; BEGIN; UPDATE lw.t SET v = 2 WHERE id = 2").await.unwrap();
            outsider
        });
        tokio::time::sleep(REFRESH_EVERY).await;

        // With the commit order moving, nothing is read: a reading taken now would be the first.
        let holder_id = holder.id();
        assert_eq!(waits.check(&mut holder, holder_id, since, Duration::ZERO).await, LockWaitVerdict::NotKnown);
        // Stood still: worker 0 learns that an apply connection waits for it. The first reading
        // after an idle cache sees it; allow a few in case the server's cache was just read.
        let n = readings_until(&waits, &mut holder, since, LockWaitVerdict::Blocking).await;
        assert!(matches!(n, Some(1..=3)), "worker 0 was told it blocks worker 1 after {n:?} readings");
        // A reading taken before a wait began says nothing about it.
        assert_eq!(waits.check(&mut holder, holder_id, Instant::now(), HEAD_STALL).await, LockWaitVerdict::NotKnown);
        // Worker 2 blocks only the outsider: never a reason to give way.
        for _ in 0..3 {
            tokio::time::sleep(REFRESH_EVERY).await;
            let id = other_holder.id();
            assert_eq!(waits.check(&mut other_holder, id, since, HEAD_STALL).await, LockWaitVerdict::NotKnown);
        }

        holder.query_drop("ROLLBACK").await.unwrap();
        other_holder.query_drop("ROLLBACK").await.unwrap();
        let mut waiter = blocked.await.unwrap();
        let mut outsider = blocked_outside.await.unwrap();
        waiter.query_drop("ROLLBACK").await.unwrap();
        outsider.query_drop("ROLLBACK").await.unwrap();
        // Once the wait is over, a fresh reading no longer names worker 0.
        tokio::time::sleep(REFRESH_EVERY).await;
        holder.query_drop("BEGIN; UPDATE lw.t SET v = 3 WHERE id = 1").await.unwrap();
        let n = readings_until(&waits, &mut holder, Instant::now(), LockWaitVerdict::NotKnown).await;
        assert_eq!(n, Some(1));
        holder.query_drop("ROLLBACK").await.unwrap();

        // Without PROCESS the target cannot answer: Unavailable, and it stays so without asking
        // again (a worker then gives way after the fixed time only).
        let noproc_url = url.replacen("root@", "noproc@", 1);
        assert_ne!(noproc_url, url, "the sandbox URL names root: {url}");
        let mut limited = conn(&noproc_url).await;
        let limited_waits = LockWaits::default();
        let id = limited.id();
        tokio::time::sleep(REFRESH_EVERY).await;
        assert_eq!(limited_waits.check(&mut limited, id, since, HEAD_STALL).await, LockWaitVerdict::Unavailable);
        assert_eq!(limited_waits.check(&mut limited, id, since, HEAD_STALL).await, LockWaitVerdict::Unavailable);
    });
}
