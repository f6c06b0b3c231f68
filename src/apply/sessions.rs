//! Target sessions that stand in for source sessions.
//!
//! Owns one target connection per source session (origin `server_id`, pseudo thread id) whose
//! statements depend on their session: a statement event logged with
//! `LOG_EVENT_THREAD_SPECIFIC_F` uses temporary tables (or `CONNECTION_ID()`), which live in one
//! connection only. MariaDB's SQL thread keeps such temporary tables per pseudo thread id; a
//! pool of worker connections would lose them between transactions (a `CREATE TEMPORARY TABLE`
//! on one worker, the `INSERT ... SELECT FROM` it on another). So a transaction holding such a
//! statement runs on its source session's connection, made on first use. It must not build SQL
//! or decide what runs when (the worker and the scheduler do).
//!
//! The number of kept sessions is bounded ([`MAX_SESSIONS`]); past it the least recently used
//! one is closed, with a warning, as the server itself drops a session's temporary tables when
//! the session ends.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::txn::{Change, Transaction};

/// Source sessions whose target connections are kept at once.
pub const MAX_SESSIONS: usize = 256;

/// A source session: origin server id and pseudo thread id.
pub type SessionKey = (u32, u32);

/// The source session `txn` must run in, when one of its statements depends on its session.
pub fn session_of(txn: &Transaction) -> Option<SessionKey> {
    let thread = txn.changes.iter().find_map(|c| match c {
        Change::Query(q) if q.thread_specific => Some(q.thread_id),
        _ => None,
    })?;
    Some((txn.server_id, thread))
}

/// One kept connection; `None` until first used, and while a worker has it checked out the
/// worker's own connection sits here instead.
pub type SessionConn = Arc<tokio::sync::Mutex<Option<mysql_async::Conn>>>;

/// The kept connections, by source session.
#[derive(Default)]
pub struct SessionConns {
    /// Short lock: look-up and LRU order only; the connection itself has its own async lock,
    /// held for a whole transaction.
    inner: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    by_key: HashMap<SessionKey, (SessionConn, u64)>,
    clock: u64,
}

impl SessionConns {
    /// The slot of `key`, made when new; evicts the least recently used session past
    /// [`MAX_SESSIONS`] (its connection closes when the last holder lets go of it).
    pub fn slot(&self, key: SessionKey) -> SessionConn {
        let mut s = self.inner.lock();
        s.clock += 1;
        let now = s.clock;
        if let Some((slot, used)) = s.by_key.get_mut(&key) {
            *used = now;
            return slot.clone();
        }
        if s.by_key.len() >= MAX_SESSIONS {
            if let Some(oldest) = s.by_key.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| *k) {
                tracing::warn!(server_id = oldest.0, thread_id = oldest.1, kept = MAX_SESSIONS, "too many source sessions with temporary tables: closing the least recently used one's target session (its temporary tables are gone)");
                s.by_key.remove(&oldest);
            }
        }
        let slot: SessionConn = Arc::new(tokio::sync::Mutex::new(None));
        s.by_key.insert(key, (slot.clone(), now));
        slot
    }

    /// Sessions kept now.
    pub fn len(&self) -> usize {
        self.inner.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::QueryEvent;

    fn txn(server_id: u32, thread_id: u32, thread_specific: bool) -> Transaction {
        let q = QueryEvent { thread_id, thread_specific, query: b"CREATE TEMPORARY TABLE t (a INT)".to_vec(), ..Default::default() };
        Transaction { server_id, changes: vec![Change::Query(q)], ..Default::default() }
    }

    #[test]
    fn only_thread_specific_statements_pin_a_session() {
        assert_eq!(session_of(&txn(1, 42, true)), Some((1, 42)));
        assert_eq!(session_of(&txn(1, 42, false)), None);
        assert_eq!(session_of(&Transaction::default()), None);
    }

    #[test]
    fn same_session_same_slot_and_the_oldest_is_evicted() {
        let s = SessionConns::default();
        let a = s.slot((1, 1));
        assert!(Arc::ptr_eq(&a, &s.slot((1, 1))));
        assert!(!Arc::ptr_eq(&a, &s.slot((2, 1))), "another origin server is another session");
        for t in 2..(MAX_SESSIONS as u32) {
            s.slot((1, t));
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        // (1,1) was used most recently before (2,1); (2,1) is now the oldest.
        s.slot((1, 1));
        s.slot((9, 9));
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(Arc::ptr_eq(&a, &s.slot((1, 1))), "a recently used session is kept");
        let inner = s.inner.lock();
        assert!(!inner.by_key.contains_key(&(2, 1)), "the least recently used session is closed");
    }
}
