//! `writeset` mode: dependencies computed from key hashes (see [`super::keys`]), whatever the
//! source's logical clock says (DESIGN rule 2).
//!
//! Owns the key table "key hash -> last transaction that touched it". A transaction waits for
//! the last earlier in-flight transaction of each of its keys; the writers of one key form a
//! chain, so waiting for the last one orders it after all of them. Transactions with a
//! `key_barrier` (DDL, no key, too many keys, statement DML, opaque events, unknown schema,
//! partial images) are barriers.
//!
//! Worked example, `t(id PK, email UNIQUE)`:
//! ```text
//! seq 0: UPDATE t SET email='b' WHERE id=1     keys {PK 1, email a, email b}
//! seq 1: UPDATE t SET x=x+1 WHERE id=2         keys {PK 2}              -> runs with 0
//! seq 2: INSERT t VALUES (3,'a')               keys {PK 3, email a}     -> waits for 0 (would
//!                                                                          hit a duplicate 'a')
//! seq 3: ALTER TABLE t ADD c INT               barrier                  -> waits for 0,1,2
//! seq 4: UPDATE t SET x=1 WHERE id=9           keys {PK 9}              -> waits for 3
//! ```
//! Why a changed key forces both images: seq 0 frees 'a' and takes 'b'; seq 2 takes 'a'. Only
//! the before image of seq 0 shows that they meet.
//!
//! Why a key-changing update needs no barrier here (a partitioner that routes rows by key, like
//! ape-dts's, must serialise it): `t(f1 PK, f2 UNIQUE)` holding (1,1) and (2,2),
//! ```text
//! seq 0: UPDATE (1,1) -> (1,3)     keys {f1 1, f2 1, f2 3}
//! seq 1: UPDATE (2,2) -> (2,1)     keys {f1 2, f2 2, f2 1}   -> waits for 0 via f2=1
//! ```
//! Run side by side, seq 1 could take f2=1 before seq 0 released it. Hashing both images turns
//! that into an ordinary dependency, and unrelated rows keep running in parallel.
//!
//! Memory: entries whose transaction is below the low watermark are dropped by a sweep that
//! runs when the table has doubled since the last one (amortised O(1) per key).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{DependencyRule, Plan, TxnFacts};
use crate::cli::Mode;

/// Keys are already xxh3 hashes: hashing them again would only cost time.
#[derive(Default, Clone, Copy)]
pub struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u64 keys, which this map never has; fold bytes in anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_u32(&mut self, n: u32) {
        // Session ids are small integers: spread them (Fibonacci hashing).
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type KeyTable = HashMap<u64, u64, BuildHasherDefault<PrehashedKey>>;

const MIN_SWEEP: usize = 4096;

#[derive(Debug)]
pub struct WritesetRule {
    last_touch: KeyTable,
    sweep_at: usize,
}

impl Default for WritesetRule {
    fn default() -> Self {
        WritesetRule { last_touch: KeyTable::default(), sweep_at: MIN_SWEEP }
    }
}

impl WritesetRule {
    /// Keys currently remembered (for tests of the bounded-memory sweep).
    pub fn remembered_keys(&self) -> usize {
        self.last_touch.len()
    }
}

impl DependencyRule for WritesetRule {
    fn mode(&self) -> Mode {
        Mode::Writeset
    }
    fn plan(&mut self, seq: u64, facts: &TxnFacts, low_watermark: u64, plan: &mut Plan) {
        if let Some(reason) = facts.key_barrier {
            plan.barrier = Some(reason);
            return;
        }
        for &key in &facts.keys {
            if let Some(prev) = self.last_touch.insert(key, seq) {
                if prev >= low_watermark {
                    plan.after.push(prev);
                }
            }
        }
    }
    fn forget_below(&mut self, low_watermark: u64) {
        if self.last_touch.len() >= self.sweep_at {
            self.last_touch.retain(|_, seq| *seq >= low_watermark);
            self.sweep_at = (self.last_touch.len() * 2).max(MIN_SWEEP);
        }
    }
}
