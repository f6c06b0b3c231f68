//! The dispatcher thread: connects the applier's channels to [`SchedulerCore`].
//!
//! Owns the thread, the channel endpoints and the seq -> transaction table of admitted,
//! unreleased transactions. Key extraction happens here, at admission (one thread, in source
//! order). It must not apply anything or block on a full `ready` channel while `Done`s wait:
//! every blocking wait is a `select` over `done`, `input` (when the window has room) and a send
//! on `ready` (when something is released).

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Select, Sender, TryRecvError, TrySendError};

use super::catalog::KeyCatalog;
use super::commit_order::CommitOrder;
use super::core::SchedulerCore;
use super::keys::{KeyExtractor, TxnFacts};
use super::stats::{SchedulerStats, SchedulerSummary};
use super::{rule_for, DispatcherConfig, Done, Ready, ScheduleError};
use crate::schedule::mode::Mode;
use crate::txn::Transaction;

/// The applier's side of a running dispatcher (see the module doc of [`crate::schedule`]).
pub struct DispatcherHandle {
    /// Send transactions in source order; drop every clone to end the input.
    pub input: Sender<Arc<Transaction>>,
    /// Workers take ready transactions here.
    pub ready: Receiver<Ready>,
    /// Workers report finished transactions here.
    pub done: Sender<Done>,
    pub commit_order: Arc<CommitOrder>,
    pub stats: Arc<SchedulerStats>,
    thread: JoinHandle<Result<SchedulerSummary, ScheduleError>>,
}

impl DispatcherHandle {
    /// Drop this handle's own channel endpoints and wait for the dispatcher to finish: it ends
    /// once the input is closed (all `input` clones dropped) and every admitted transaction is
    /// done, or with an error when the workers disappear with work in flight.
    pub fn join(self) -> Result<SchedulerSummary, ScheduleError> {
        let DispatcherHandle { input, ready, done, thread, .. } = self;
        drop(input);
        drop(ready);
        drop(done);
        match thread.join() {
            Ok(r) => r,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(ScheduleError::Panicked { what })
            }
        }
    }
}

/// Start the dispatcher thread. `window` and `channel_capacity` below 1 are treated as 1.
pub fn spawn_dispatcher(cfg: DispatcherConfig, catalog: Arc<dyn KeyCatalog>) -> DispatcherHandle {
    let capacity = cfg.channel_capacity.max(1);
    let (input_tx, input_rx) = bounded::<Arc<Transaction>>(capacity);
    let (ready_tx, ready_rx) = bounded::<Ready>(capacity);
    // `done` is unbounded on purpose: workers must never block reporting completion (at most
    // `window` Dones can be outstanding, so it is bounded in practice).
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
    let stats = Arc::new(SchedulerStats::default());
    let commit_order = Arc::new(CommitOrder::new());
    let thread_stats = stats.clone();
    let thread = std::thread::Builder::new()
        .name("parapply-dispatch".into())
        .spawn(move || {
            let mut d = Dispatcher::new(&cfg, catalog, thread_stats);
            d.run(input_rx, ready_tx, done_rx)
        });
    let thread = match thread {
        Ok(t) => t,
        // Thread creation failing (resource exhaustion) leaves nothing to schedule with; report
        // it through join() like any other failure.
        Err(e) => {
            let what = format!("could not start the dispatcher thread: {e}");
            std::thread::spawn(move || Err(ScheduleError::Panicked { what }))
        }
    };
    DispatcherHandle { input: input_tx, ready: ready_rx, done: done_tx, commit_order, stats, thread }
}

struct Dispatcher {
    core: SchedulerCore,
    keys: KeyExtractor,
    with_keys: bool,
    /// Admitted transactions not yet released, indexed by seq & mask.
    txns: Vec<Option<Arc<Transaction>>>,
    mask: u64,
    facts: TxnFacts,
    stats: Arc<SchedulerStats>,
}

impl Dispatcher {
    fn new(cfg: &DispatcherConfig, catalog: Arc<dyn KeyCatalog>, stats: Arc<SchedulerStats>) -> Self {
        let window = cfg.window.max(1);
        let cap = window.next_power_of_two();
        Dispatcher {
            core: SchedulerCore::new(rule_for(cfg.mode), window, cfg.preserve_commit_order, stats.clone()).defer_key_deps(cfg.defer_key_deps),
            keys: KeyExtractor::new(catalog, cfg.writeset_limit),
            with_keys: matches!(cfg.mode, Mode::Writeset | Mode::WritesetSession),
            txns: vec![None; cap],
            mask: (cap - 1) as u64,
            facts: TxnFacts::default(),
            stats,
        }
    }

    fn admit(&mut self, txn: Arc<Transaction>) -> Result<(), ScheduleError> {
        let txn = onto_target(self.keys.catalog().as_ref(), txn)?;
        self.keys.facts_into(&txn, self.with_keys, &mut self.facts, None);
        if let Some(a) = self.core.admit(&self.facts) {
            self.txns[(a.seq & self.mask) as usize] = Some(txn);
        }
        Ok(())
    }

    fn complete(&mut self, seq: u64) -> Result<(), ScheduleError> {
        self.core.complete(seq)?;
        if self.core.take_schema_changed() {
            self.keys.catalog().invalidate();
        }
        Ok(())
    }

    fn gone(&self) -> ScheduleError {
        let next = self.core.next_seq();
        ScheduleError::WorkersGone { in_flight: self.core.in_flight(), last_seq: next.checked_sub(1) }
    }

    fn run(&mut self, input: Receiver<Arc<Transaction>>, ready: Sender<Ready>, done: Receiver<Done>) -> Result<SchedulerSummary, ScheduleError> {
        let mut outbox: VecDeque<Ready> = VecDeque::new();
        let mut input_open = true;
        loop {
            // Everything non-blocking first: completions, then releases, then new input.
            loop {
                match done.try_recv() {
                    Ok(d) => self.complete(d.seq)?,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        if !self.core.is_idle() || input_open {
                            return Err(self.gone());
                        }
                        break;
                    }
                }
            }
            while let Some(seq) = self.core.pop_released() {
                if let Some(txn) = self.txns[(seq & self.mask) as usize].take() {
                    let after = self.core.take_after(seq);
                    outbox.push_back(Ready { seq, txn, after });
                }
            }
            while let Some(r) = outbox.pop_front() {
                match ready.try_send(r) {
                    Ok(()) => {}
                    Err(TrySendError::Full(r)) => {
                        outbox.push_front(r);
                        break;
                    }
                    Err(TrySendError::Disconnected(_)) => return Err(self.gone()),
                }
            }
            while input_open && self.core.has_room() {
                match input.try_recv() {
                    Ok(txn) => self.admit(txn)?,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => input_open = false,
                }
            }
            if self.core.released_len() > 0 {
                continue;
            }
            if !input_open && self.core.is_idle() && outbox.is_empty() {
                return Ok(self.stats.snapshot());
            }

            // Block until one of the three can make progress.
            let mut sel = Select::new();
            let op_done = sel.recv(&done);
            let op_input = (input_open && self.core.has_room()).then(|| sel.recv(&input));
            let op_send = (!outbox.is_empty()).then(|| sel.send(&ready));
            let op = sel.select();
            let i = op.index();
            if i == op_done {
                match op.recv(&done) {
                    Ok(d) => self.complete(d.seq)?,
                    Err(_) => return Err(self.gone()),
                }
            } else if Some(i) == op_input {
                match op.recv(&input) {
                    Ok(txn) => self.admit(txn)?,
                    Err(_) => input_open = false,
                }
            } else if Some(i) == op_send {
                if let Some(r) = outbox.pop_front() {
                    if let Err(e) = op.send(&ready, r) {
                        outbox.push_front(e.into_inner());
                        return Err(self.gone());
                    }
                }
            }
        }
    }
}

/// `txn` with every row change's TABLE_MAP replaced by the target's view of it (names, primary
/// key, signedness, collations: see [`super::target`]) and unsigned values the source logged
/// without signedness fixed, so key extraction and SQL both see the target's columns.
///
/// Done at admission, in source order: DDL is held (nothing is admitted after a DDL until it is
/// done, then the catalog is invalidated), so each transaction is mapped onto the schema it will
/// be applied to. The transaction is changed in place when this thread holds the only reference
/// (it does: the reader hands it over).
///
/// A table absent from the target while the TABLE_MAP names its columns (FULL metadata) is left
/// as logged: the transaction may create it (`CREATE TABLE ... SELECT`), and applying it says
/// precisely what is missing otherwise.
pub fn onto_target(catalog: &dyn KeyCatalog, mut txn: Arc<Transaction>) -> Result<Arc<Transaction>, ScheduleError> {
    use crate::txn::Change;
    // CREATE TABLE ... SELECT logged in ROW format: the rows follow the CREATE in the same
    // transaction and belong to the table it creates, which does not exist yet or (CREATE OR
    // REPLACE) still has its old columns; the worker maps them once the CREATE has run (see
    // `Worker::run_ddl`). A DDL is applied alone, so its rows need no keys here.
    if txn.is_ddl {
        return Ok(txn);
    }
    for i in 0..txn.changes.len() {
        let Change::Rows(rc) = &txn.changes[i] else { continue };
        let Some(mapped) = catalog.target_table(&rc.table) else { continue };
        let target = match mapped {
            Ok(t) => t,
            Err(super::target::MapError::NoTable { .. }) if rc.table.columns.iter().all(|c| c.name.is_some()) => continue,
            Err(source) => {
                let gtid = match &txn.gtid {
                    Some(g) => format!("{g} ({}:{})", txn.pos.file, txn.pos.start),
                    None => format!("at {}:{}", txn.pos.file, txn.pos.start),
                };
                return Err(ScheduleError::Target { gtid, source: Box::new(source) });
            }
        };
        if Arc::ptr_eq(&target.map, &rc.table) {
            continue;
        }
        let Change::Rows(rc) = &mut Arc::make_mut(&mut txn).changes[i] else { continue };
        rc.table = target.map.clone();
        target.fix_rows(&mut rc.rows);
    }
    Ok(txn)
}
