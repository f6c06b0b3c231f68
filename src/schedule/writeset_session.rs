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
//! watermark are swept like the key table.

use std::collections::HashMap;

use super::writeset::{PrehashedKey, WritesetRule};
use std::hash::BuildHasherDefault;
use super::{DependencyRule, Plan, TxnFacts};
use crate::cli::Mode;

const MIN_SWEEP: usize = 1024;

#[derive(Debug)]
pub struct WritesetSessionRule {
    keys: WritesetRule,
    last_of_session: HashMap<u32, u64, BuildHasherDefault<PrehashedKey>>,
    sweep_at: usize,
}

impl Default for WritesetSessionRule {
    fn default() -> Self {
        WritesetSessionRule { keys: WritesetRule::default(), last_of_session: HashMap::default(), sweep_at: MIN_SWEEP }
    }
}

impl DependencyRule for WritesetSessionRule {
    fn mode(&self) -> Mode {
        Mode::WritesetSession
    }
    fn plan(&mut self, seq: u64, facts: &TxnFacts, low_watermark: u64, plan: &mut Plan) {
        self.keys.plan(seq, facts, low_watermark, plan);
        if let Some(thread) = facts.thread_id {
            if let Some(prev) = self.last_of_session.insert(thread, seq) {
                if prev >= low_watermark {
                    plan.after.push(prev);
                }
            }
        }
    }
    fn forget_below(&mut self, low_watermark: u64) {
        self.keys.forget_below(low_watermark);
        if self.last_of_session.len() >= self.sweep_at {
            self.last_of_session.retain(|_, seq| *seq >= low_watermark);
            self.sweep_at = (self.last_of_session.len() * 2).max(MIN_SWEEP);
        }
    }
}
