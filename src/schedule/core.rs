//! The scheduling state machine without threads: admission in source order, dependency
//! bookkeeping, release, completion and the low watermark. The dispatcher thread, the `analyze`
//! simulator and the benches all drive this same code, so what is measured and simulated is
//! what runs.
//!
//! Owns the in-flight window (a ring of slots indexed by `seq`), the waiting counts and
//! dependents lists, "wait for every seq below X" waiters, the latest barrier and the release
//! order. It does not know channels, threads or transactions' contents (only [`TxnFacts`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use super::stats::SchedulerStats;
use super::{BarrierReason, DependencyRule, Plan, ScheduleError, TxnFacts};
use crate::schedule::mode::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Waiting,
    /// Ready but held back to keep release in seq order (preserve_commit_order).
    Ready,
    Released,
    Done,
}

#[derive(Debug)]
struct Slot {
    state: SlotState,
    /// Unfinished things this transaction still waits for.
    pending: u32,
    /// Later transactions waiting for this one.
    dependents: Vec<u64>,
    /// With deferred key dependencies: the earlier transactions this one depends on by key that
    /// had not finished at admission (handed out with it in [`super::Ready::after`]).
    after: Vec<u64>,
}

/// The result of admitting one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub seq: u64,
    pub barrier: Option<BarrierReason>,
    /// False when it had to wait for something.
    pub ready_at_once: bool,
}

/// The scheduler proper (see the module doc).
pub struct SchedulerCore {
    rule: Box<dyn DependencyRule>,
    window: usize,
    release_in_order: bool,
    /// Key dependencies (`after`) do not hold a transaction back; they travel with it (see
    /// [`SchedulerCore::defer_key_deps`]).
    defer_key_deps: bool,
    /// Hold admission after a DDL until it is done, so later keys use the new schema.
    hold_after_ddl: bool,
    slots: Vec<Slot>,
    mask: u64,
    next_seq: u64,
    low_watermark: u64,
    /// Next seq to release when releasing in order.
    next_release: u64,
    last_barrier: Option<u64>,
    held_by_ddl: Option<u64>,
    schema_changed: bool,
    prefix_waiters: BinaryHeap<Reverse<(u64, u64)>>,
    released: VecDeque<u64>,
    running: usize,
    plan: Plan,
    stats: Arc<SchedulerStats>,
}

impl SchedulerCore {
    /// `window` >= 1 transactions between admission and the low watermark.
    pub fn new(rule: Box<dyn DependencyRule>, window: usize, release_in_order: bool, stats: Arc<SchedulerStats>) -> Self {
        let window = window.max(1);
        let cap = window.next_power_of_two();
        // Every mode: admission maps row changes onto the target's tables (and the writeset
        // modes compute keys), both of which must see the schema after an earlier DDL.
        let hold_after_ddl = true;
        SchedulerCore {
            rule,
            window,
            release_in_order,
            defer_key_deps: false,
            hold_after_ddl,
            slots: (0..cap).map(|_| Slot { state: SlotState::Free, pending: 0, dependents: Vec::new(), after: Vec::new() }).collect(),
            mask: (cap - 1) as u64,
            next_seq: 0,
            low_watermark: 0,
            next_release: 0,
            last_barrier: None,
            held_by_ddl: None,
            schema_changed: false,
            prefix_waiters: BinaryHeap::new(),
            released: VecDeque::new(),
            running: 0,
            plan: Plan::default(),
            stats,
        }
    }

    /// With release in order (commit order kept): do not hold a transaction back for earlier
    /// transactions it conflicts with by key; release it in order with those still unfinished
    /// named ([`SchedulerCore::take_after`]). The applier then either applies it in the same
    /// target transaction right after them (a commit group) or waits until they committed
    /// before it starts, so conflicting transactions still never run at the same time (DESIGN
    /// rule 2). What it buys: one transaction waiting on a dependency no longer holds back
    /// every later, independent one (release is in order), so commit groups can be full.
    /// Barriers and prefix waits still hold transactions back as before.
    pub fn defer_key_deps(mut self, on: bool) -> Self {
        self.defer_key_deps = on && self.release_in_order;
        self
    }

    /// The unfinished key dependencies `seq` was released with (empty unless deferred). Call
    /// once, when handing `seq` out.
    pub fn take_after(&mut self, seq: u64) -> Vec<u64> {
        std::mem::take(&mut self.slot_mut(seq).after)
    }

    pub fn mode(&self) -> Mode {
        self.rule.mode()
    }

    /// True when another transaction may be admitted.
    pub fn has_room(&self) -> bool {
        self.held_by_ddl.is_none() && ((self.next_seq - self.low_watermark) as usize) < self.window
    }

    /// Every seq below this is done.
    pub fn low_watermark(&self) -> u64 {
        self.low_watermark
    }

    /// The seq the next admitted transaction gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Admitted and not yet done.
    pub fn in_flight(&self) -> u64 {
        self.next_seq - self.low_watermark - self.slots_done_above_watermark()
    }

    fn slots_done_above_watermark(&self) -> u64 {
        // Only used for reporting; O(window).
        (self.low_watermark..self.next_seq).filter(|s| self.slot(*s).state == SlotState::Done).count() as u64
    }

    /// Nothing admitted is unfinished.
    pub fn is_idle(&self) -> bool {
        self.low_watermark == self.next_seq
    }

    /// Released (handed out) and not yet done.
    pub fn running(&self) -> usize {
        self.running
    }

    /// True once after a held DDL completed: the catalog should be invalidated.
    pub fn take_schema_changed(&mut self) -> bool {
        std::mem::take(&mut self.schema_changed)
    }

    fn slot(&self, seq: u64) -> &Slot {
        &self.slots[(seq & self.mask) as usize]
    }
    fn slot_mut(&mut self, seq: u64) -> &mut Slot {
        &mut self.slots[(seq & self.mask) as usize]
    }

    fn is_done(&self, seq: u64) -> bool {
        seq < self.low_watermark || self.slot(seq).state == SlotState::Done
    }

    /// Admit the next transaction in source order. The caller must check [`Self::has_room`]
    /// first (admitting beyond the window would overwrite a live slot; it returns `None` then).
    pub fn admit(&mut self, facts: &TxnFacts) -> Option<Admission> {
        if !self.has_room() {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        {
            let slot = self.slot_mut(seq);
            slot.state = SlotState::Waiting;
            slot.pending = 0;
            slot.dependents.clear();
            slot.after.clear();
        }
        let mut plan = std::mem::take(&mut self.plan);
        plan.clear();
        self.rule.plan(seq, facts, self.low_watermark, &mut plan);
        if facts.xa {
            // Whatever the mode's rule said (see `BarrierReason::Xa`).
            plan.barrier = Some(BarrierReason::Xa);
        }

        let mut pending = 0u32;
        let wait_all_before = if plan.barrier.is_some() { seq } else { plan.wait_all_before.min(seq) };
        if plan.barrier.is_none() {
            if let Some(b) = self.last_barrier {
                if !self.is_done(b) {
                    self.slot_mut(b).dependents.push(seq);
                    pending += 1;
                }
            }
        }
        for &d in &plan.after {
            if d >= seq || self.is_done(d) {
                continue;
            }
            if self.defer_key_deps {
                self.slot_mut(seq).after.push(d);
                continue;
            }
            self.slot_mut(d).dependents.push(seq);
            pending += 1;
        }
        if wait_all_before > self.low_watermark {
            self.prefix_waiters.push(Reverse((wait_all_before, seq)));
            pending += 1;
        }
        if let Some(reason) = plan.barrier {
            self.last_barrier = Some(seq);
            if reason == BarrierReason::Ddl && self.hold_after_ddl {
                self.held_by_ddl = Some(seq);
            }
        }
        if facts.is_ddl && self.hold_after_ddl {
            // Also in serial mode, whose rule makes no barriers: what is admitted next is
            // mapped onto the target's schema, which the DDL changes.
            self.held_by_ddl = Some(seq);
        }
        let barrier = plan.barrier;
        self.plan = plan;
        self.slot_mut(seq).pending = pending;
        // A deferred key dependency is still a wait (the applier honours it), so it counts.
        let deferred = !self.slot(seq).after.is_empty();
        self.stats.on_admit(barrier, pending > 0 || deferred);
        if pending == 0 {
            self.make_ready(seq);
        }
        Some(Admission { seq, barrier, ready_at_once: pending == 0 })
    }

    fn make_ready(&mut self, seq: u64) {
        if self.release_in_order {
            self.slot_mut(seq).state = SlotState::Ready;
            while self.next_release < self.next_seq && self.slot(self.next_release).state == SlotState::Ready {
                let s = self.next_release;
                self.release(s);
                self.next_release += 1;
            }
        } else {
            self.release(seq);
        }
    }

    fn release(&mut self, seq: u64) {
        self.slot_mut(seq).state = SlotState::Released;
        self.running += 1;
        self.released.push_back(seq);
        self.stats.on_release(self.running);
    }

    /// One thing `seq` waited for finished; true when it waits for nothing more.
    fn release_one_wait(&mut self, seq: u64) -> bool {
        let slot = self.slot_mut(seq);
        slot.pending = slot.pending.saturating_sub(1);
        slot.pending == 0 && slot.state == SlotState::Waiting
    }

    /// The next released seq, in release order.
    pub fn pop_released(&mut self) -> Option<u64> {
        self.released.pop_front()
    }

    /// Released seqs not yet popped.
    pub fn released_len(&self) -> usize {
        self.released.len()
    }

    /// Transaction `seq` finished on its worker.
    pub fn complete(&mut self, seq: u64) -> Result<(), ScheduleError> {
        if seq < self.low_watermark || seq >= self.next_seq || self.slot(seq).state != SlotState::Released {
            return Err(ScheduleError::UnexpectedDone { seq });
        }
        self.running -= 1;
        let mut dependents = std::mem::take(&mut self.slot_mut(seq).dependents);
        {
            let slot = self.slot_mut(seq);
            slot.state = SlotState::Done;
        }
        for &d in &dependents {
            if self.release_one_wait(d) {
                self.make_ready(d);
            }
        }
        dependents.clear();
        self.slot_mut(seq).dependents = dependents;

        if self.held_by_ddl == Some(seq) {
            self.held_by_ddl = None;
            self.schema_changed = true;
        }
        let before = self.low_watermark;
        while self.low_watermark < self.next_seq && self.slot(self.low_watermark).state == SlotState::Done {
            let lw = self.low_watermark;
            self.slot_mut(lw).state = SlotState::Free;
            self.low_watermark += 1;
        }
        if self.low_watermark != before {
            self.rule.forget_below(self.low_watermark);
            while let Some(Reverse((x, waiter))) = self.prefix_waiters.peek().copied() {
                if x > self.low_watermark {
                    break;
                }
                self.prefix_waiters.pop();
                if self.release_one_wait(waiter) {
                    self.make_ready(waiter);
                }
            }
        }
        self.stats.on_complete(self.low_watermark, self.next_seq - self.low_watermark);
        Ok(())
    }
}
