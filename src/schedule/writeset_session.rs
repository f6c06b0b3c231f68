//! `writeset_session` mode: [`super::writeset`], plus transactions of one source session
//! (`thread_id`) stay in their source order — for applications that read their own writes
//! through a replica and expect a session's effects in order.
//!
//! Owns the "thread id -> last transaction" table. Worked example:
//! ```text
//! seq 0: thread 7, keys {PK 1}
//! seq 1: thread 8, keys {PK 2}     -> runs with 0
//! seq 2: thread 7, keys {PK 3}     -> waits for 0 (same session), not for 1
//! ```
//! Transactions without a thread id (no QUERY BEGIN, e.g. some MySQL 8 DDL) get no session
//! ordering beyond their keys. Memory: sessions whose last transaction is below the low
//! watermark are forgotten like keys (amortised O(1) each, see [`LastTouch`]).

use super::writeset::{LastTouch, WritesetRule};
use super::{DependencyRule, Plan, TxnFacts};
use crate::schedule::mode::Mode;

#[derive(Debug, Default)]
pub struct WritesetSessionRule {
    keys: WritesetRule,
    /// Session (thread id, spread by [`session_key`]) -> its last seq.
    last_of_session: LastTouch,
}

impl DependencyRule for WritesetSessionRule {
    fn mode(&self) -> Mode {
        Mode::WritesetSession
    }
    fn plan(&mut self, seq: u64, facts: &TxnFacts, low_watermark: u64, plan: &mut Plan) {
        self.keys.plan(seq, facts, low_watermark, plan);
        if let Some(thread) = facts.thread_id {
            let after = &mut plan.after;
            self.last_of_session.touch(seq, [session_key(thread)], low_watermark, |p| after.push(p));
        }
    }
    fn forget_below(&mut self, low_watermark: u64) {
        self.keys.forget_below(low_watermark);
        self.last_of_session.forget_below(low_watermark);
    }
}

/// Thread ids are small integers; the table's hasher uses the key as its hash, so spread them.
fn session_key(thread: u32) -> u64 {
    u64::from(thread).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
