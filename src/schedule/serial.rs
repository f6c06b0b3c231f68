//! `serial` mode: every transaction waits for the one before it (the baseline).
//!
//! Owns only that rule. Worked example:
//! ```text
//! seq:   0   1   2   3
//! waits: -   0   1   2      => critical path = number of transactions
//! ```
//! Waiting for the previous one is enough: it, in turn, waited for its own predecessor.

use super::{DependencyRule, Plan, TxnFacts};
use crate::schedule::mode::Mode;

#[derive(Debug, Default)]
pub struct SerialRule;

impl DependencyRule for SerialRule {
    fn mode(&self) -> Mode {
        Mode::Serial
    }
    fn plan(&mut self, seq: u64, _facts: &TxnFacts, _low_watermark: u64, plan: &mut Plan) {
        if seq > 0 {
            plan.after.push(seq - 1);
        }
    }
    fn forget_below(&mut self, _low_watermark: u64) {}
}
