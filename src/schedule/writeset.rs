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
//! Memory: the rule keeps a log of the keys each transaction wrote, in seq order. When the low
//! watermark passes a transaction, its logged keys are dropped from the table unless a later
//! transaction has taken them over since. Each key is logged once and dropped once, so forgetting
//! costs O(1) per key and the table never holds more than the keys of the in-flight window
//! (no scans of the whole table).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::{DependencyRule, Plan, TxnFacts};
use crate::schedule::mode::Mode;

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

/// "key -> last seq that touched it", forgetting keys whose last toucher fell below the low
/// watermark in amortised O(1) per key (see the module doc). Also used for session ids by
/// [`super::writeset_session`].
#[derive(Debug, Default)]
pub struct LastTouch {
    table: KeyTable,
    /// Keys in the order they were touched (one entry per touch).
    log: VecDeque<u64>,
    /// (seq, number of keys it logged), in seq order; only seqs that logged at least one key.
    per_seq: VecDeque<(u64, usize)>,
}

impl LastTouch {
    /// Record that `seq` touches `keys` (seqs strictly increase between calls); for each key
    /// touched before by a seq at or above `low_watermark`, call `prev(that seq)`.
    #[inline]
    pub fn touch(&mut self, seq: u64, keys: impl IntoIterator<Item = u64>, low_watermark: u64, mut prev: impl FnMut(u64)) {
        let mut n = 0usize;
        for key in keys {
            if let Some(p) = self.table.insert(key, seq) {
                if p >= low_watermark {
                    prev(p);
                }
            }
            self.log.push_back(key);
            n += 1;
        }
        if n > 0 {
            self.per_seq.push_back((seq, n));
        }
    }

    /// Drop every key whose last toucher is below `low_watermark`.
    pub fn forget_below(&mut self, low_watermark: u64) {
        while let Some(&(seq, n)) = self.per_seq.front() {
            if seq >= low_watermark {
                break;
            }
            self.per_seq.pop_front();
            for key in self.log.drain(..n) {
                if let Entry::Occupied(e) = self.table.entry(key) {
                    // A later transaction that took the key over keeps it.
                    if *e.get() == seq {
                        e.remove();
                    }
                }
            }
        }
    }

    /// Keys currently remembered.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[derive(Debug, Default)]
pub struct WritesetRule {
    last_touch: LastTouch,
}

impl WritesetRule {
    /// Keys currently remembered (for tests of the bounded memory).
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
        let after = &mut plan.after;
        self.last_touch.touch(seq, facts.keys.iter().copied(), low_watermark, |p| after.push(p));
    }
    fn forget_below(&mut self, low_watermark: u64) {
        self.last_touch.forget_below(low_watermark);
    }
}
