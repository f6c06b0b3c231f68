//! Dependency scheduling: which transactions may run side by side on the target.
//!
//! Owns the dispatcher thread (fed by a bounded channel of transactions in source order,
//! handing ready transactions to workers and learning of their completion), the per-mode
//! dependency rules behind the [`DependencyRule`] trait (one file per mode: [`serial`],
//! [`logical_clock`], [`writeset`], [`writeset_session`]), key extraction for the writeset modes
//! ([`keys`], [`collation`], [`catalog`]), the commit-order token ([`CommitOrder`]), and the
//! offline `analyze` simulator ([`analyze`]). It must not talk to the target, build SQL or parse
//! binlog bytes; the only server it may read is [`InfoSchemaCatalog`]'s (table key metadata).
//!
//! # Interface to the applier (see `crate::apply`)
//! [`spawn_dispatcher`] starts the dispatcher thread and returns a [`DispatcherHandle`]:
//! - `input`: send each [`crate::txn::Transaction`] (as `Arc`) in source order. The dispatcher
//!   numbers them `seq = 0, 1, 2, ...` in arrival order. Drop every clone of the sender to end the
//!   input (the handle's own copy is dropped by [`DispatcherHandle::join`]).
//! - `ready`: workers receive [`Ready`] here once every transaction it depends on has sent
//!   [`Done`]. When `preserve_commit_order` is on, `Ready`s are released in `seq` order (see
//!   "Commit order" below); otherwise as soon as they are ready.
//! - `done`: a worker sends [`Done`] after its target commit (or after deciding to skip the
//!   transaction, e.g. already applied). Every `Ready` must be answered by exactly one `Done`.
//! - `commit_order`: with `preserve_commit_order`, a worker calls [`CommitOrder::wait_turn`]
//!   (or `wait_turn_blocking`) right before its COMMIT and [`CommitOrder::done`] right after it
//!   (also for skipped transactions). Calling `done` with the option off is harmless.
//! - `stats`: live counters ([`SchedulerStats::snapshot`]) for `/metrics` and `/status`.
//! - [`DispatcherHandle::join`]: drops the handle's own channel endpoints, waits for the thread
//!   and returns the [`SchedulerSummary`] (or the [`ScheduleError`] that stopped it).
//!
//! # Invariants
//! - **No conflicting overlap** (DESIGN rule 2): a transaction is released only after every
//!   earlier transaction it conflicts with (per the mode's [`DependencyRule`]) has sent `Done`
//!   — or, with [`DispatcherConfig::defer_key_deps`] (commit order kept), released in order
//!   with those not yet done named in [`Ready::after`], which the applier must honour: it starts
//!   the transaction only after they committed, or applies it after them in the same target
//!   transaction. Deferring lets one transaction waiting on a hot key stop holding back the
//!   independent ones behind it (release is in order), so commit groups fill up.
//!   A barrier waits for every earlier transaction and everything after it waits for the barrier.
//!   Every barrier is counted by [`BarrierReason`].
//! - **Bounded memory**: at most `window` transactions are between admission and the low
//!   watermark (the smallest `seq` not yet done); the dispatcher stops reading `input` when the
//!   window is full, which backs up into the reader. Key tables forget entries below the low
//!   watermark.
//! - **Schema changes**: after admitting a DDL barrier, the dispatcher admits nothing more until
//!   it is done, then calls [`KeyCatalog::invalidate`], so keys of later transactions are
//!   computed against the new schema.
//! - **Never blocks holding completions**: the dispatcher selects over `input`, `done` and
//!   sending on `ready`; a full `ready` channel never stops it from processing `Done`s.
//!
//! # Commit order
//! With `preserve_commit_order`, workers commit in `seq` order. To make that deadlock-free with
//! a fixed pool, `Ready`s leave the dispatcher in `seq` order: then the lowest unfinished `seq`
//! is always held by a worker (or at the head of `ready`) and never waits for its turn behind a
//! later one. Without the option, ready transactions are released in the order they become ready.
//!
//! # Error handling
//! Scheduling itself cannot fail on input: anything it cannot reason about becomes a barrier.
//! [`ScheduleError`] covers the pipeline breaking: all workers gone (ready receivers or done
//! senders dropped with work in flight), a `Done` for a sequence number never dispatched or
//! reported twice, and a panic of the dispatcher thread.

use std::sync::Arc;

use crate::txn::Transaction;

pub mod analyze;
pub mod catalog;
pub mod collation;
mod commit_order;
mod core;
mod dispatcher;
mod fold_table;
pub mod infoschema;
pub mod keys;
pub mod logical_clock;
pub mod mode;
pub mod serial;
mod stats;
pub mod synth;
pub mod target;
pub mod writeset;
pub mod writeset_session;

pub use self::catalog::{ForeignKeyDef, IndexDef, KeyCatalog, StaticCatalog, TableDef, TableKeys};
pub use self::commit_order::CommitOrder;
pub use self::core::{Admission, SchedulerCore};
pub use self::dispatcher::{spawn_dispatcher, DispatcherHandle};
pub use self::infoschema::{CatalogError, InfoSchemaCatalog, TargetError};
pub use self::target::{MapError, TargetTable};
pub use self::keys::{KeyExtractor, TxnFacts};
pub use self::mode::{CostModel, Mode};
pub use self::stats::{SchedulerSnapshot, SchedulerStats, SchedulerSummary};

/// How the dispatcher runs. Mirrors `[apply]` in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatcherConfig {
    pub mode: Mode,
    /// Worker count (used for the parallelism histogram's range; the dispatcher starts no workers).
    pub workers: usize,
    /// Maximum transactions between admission and the low watermark. At least 1.
    pub window: usize,
    pub preserve_commit_order: bool,
    /// A transaction with more keys than this is a barrier in the writeset modes.
    pub writeset_limit: usize,
    /// Capacity of the `input` and `ready` channels. At least 1.
    pub channel_capacity: usize,
    /// With `preserve_commit_order`: key dependencies travel with the transaction in
    /// [`Ready::after`] instead of holding it back (see `SchedulerCore::defer_key_deps`).
    pub defer_key_deps: bool,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            mode: Mode::Writeset,
            workers: 8,
            window: 1024,
            preserve_commit_order: true,
            writeset_limit: 10_000,
            channel_capacity: 1024,
            defer_key_deps: false,
        }
    }
}

/// A transaction whose dependencies have all finished: a worker may start it.
#[derive(Debug, Clone)]
pub struct Ready {
    /// Position in source order, from 0.
    pub seq: u64,
    pub txn: Arc<Transaction>,
    /// With [`DispatcherConfig::defer_key_deps`]: earlier transactions this one conflicts with
    /// by key that had not finished when it was admitted. The applier must not start it before
    /// each has committed, unless it applies it in the same target transaction after them.
    /// Empty otherwise.
    pub after: Vec<u64>,
}

/// Sent by a worker after committing (or skipping) the transaction `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub seq: u64,
}

/// Why a transaction was made a barrier (waits for everything before, blocks everything after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierReason {
    /// DDL or a statement that implicitly commits.
    Ddl,
    /// A table with neither a primary key nor a usable unique key.
    NoKey,
    /// More keys than `writeset_limit`.
    TooManyKeys,
    /// Statement-based DML (`Change::Query` that is not DDL): rows unknown.
    StatementDml,
    /// `Change::Opaque` (LOAD DATA pieces and other events the decoder cannot see into).
    Opaque,
    /// The table's key layout is unknown to the catalog.
    UnknownSchema,
    /// A row image lacks a key column whose value decides conflicts (MINIMAL row images).
    PartialImage,
    /// The source recorded no parallelism information (logical_clock mode).
    NoCommitInfo,
    /// MariaDB flags2 without TRANSACTIONAL: a non-transactional engine cannot be rolled back.
    NonTransactional,
    /// One part of an XA transaction (prepared rows, or `XA COMMIT`/`XA ROLLBACK`), in every
    /// mode: a prepared branch keeps its row locks until its XA COMMIT, which must not run
    /// before the prepare nor beside a transaction that depends on its rows. Worked example:
    /// source `XA PREPARE 'x'` (row id=1), T2 (id=2), `XA COMMIT 'x'`, T4 (UPDATE id=1). As
    /// barriers, the prepare lands first, T2 next, then the commit, then T4: T4 never waits on
    /// the prepared branch's lock, and the commit never finds its branch not yet prepared.
    Xa,
    /// A parent change whose FK actions (ON DELETE CASCADE / SET NULL, ON UPDATE SET NULL,
    /// multi-level ON UPDATE CASCADE) change child rows on the target that the binlog does not
    /// log and no key of the change names (see `catalog::CascadeReach`).
    FkCascade,
}

impl BarrierReason {
    pub const ALL: [BarrierReason; 11] = [
        BarrierReason::Ddl,
        BarrierReason::NoKey,
        BarrierReason::TooManyKeys,
        BarrierReason::StatementDml,
        BarrierReason::Opaque,
        BarrierReason::UnknownSchema,
        BarrierReason::PartialImage,
        BarrierReason::NoCommitInfo,
        BarrierReason::NonTransactional,
        BarrierReason::Xa,
        BarrierReason::FkCascade,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BarrierReason::Ddl => "ddl",
            BarrierReason::NoKey => "no_key",
            BarrierReason::TooManyKeys => "too_many_keys",
            BarrierReason::StatementDml => "statement_dml",
            BarrierReason::Opaque => "opaque",
            BarrierReason::UnknownSchema => "unknown_schema",
            BarrierReason::PartialImage => "partial_image",
            BarrierReason::NoCommitInfo => "no_commit_info",
            BarrierReason::NonTransactional => "non_transactional",
            BarrierReason::Xa => "xa",
            BarrierReason::FkCascade => "fk_cascade",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// What one transaction must wait for, as decided by a [`DependencyRule`].
///
/// The three parts combine: the transaction starts once every `seq < wait_all_before` is done,
/// every `seq` in `after` is done, and (handled by [`SchedulerCore`], not the rule) the latest
/// earlier barrier is done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Wait until every transaction numbered below this is done (0 = no such wait).
    pub wait_all_before: u64,
    /// Individual earlier transactions to wait for (duplicates allowed; finished ones ignored).
    pub after: Vec<u64>,
    /// Make this transaction a barrier, for this reason.
    pub barrier: Option<BarrierReason>,
}

impl Plan {
    pub fn clear(&mut self) {
        self.wait_all_before = 0;
        self.after.clear();
        self.barrier = None;
    }
}

/// One scheduling mode: decides, for each transaction in source order, what it waits for.
///
/// Rules are called from one thread, in `seq` order, exactly once per transaction. They keep
/// whatever history they need (key tables, clock positions) and must drop history below the
/// low watermark when [`DependencyRule::forget_below`] is called, to bound memory.
pub trait DependencyRule: Send {
    fn mode(&self) -> Mode;
    /// Fill `plan` (already cleared) for transaction `seq` described by `facts`.
    /// `low_watermark` is the smallest seq not yet done: anything below it needs no waiting.
    fn plan(&mut self, seq: u64, facts: &TxnFacts, low_watermark: u64, plan: &mut Plan);
    /// Every transaction below `low_watermark` is done; history about them may be dropped.
    fn forget_below(&mut self, low_watermark: u64);
}

/// Fresh counters for driving a [`SchedulerCore`] outside the dispatcher (benches, simulations).
pub fn stats_for_bench() -> Arc<SchedulerStats> {
    Arc::new(SchedulerStats::default())
}

/// The rule for `mode`.
pub fn rule_for(mode: Mode) -> Box<dyn DependencyRule> {
    match mode {
        Mode::Serial => Box::new(serial::SerialRule::default()),
        Mode::LogicalClock => Box::new(logical_clock::LogicalClockRule::default()),
        Mode::Writeset => Box::new(writeset::WritesetRule::default()),
        Mode::WritesetSession => Box::new(writeset_session::WritesetSessionRule::default()),
    }
}

/// The dispatcher pipeline broke.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("all workers are gone with {in_flight} transaction(s) in flight (last admitted seq {last_seq:?})")]
    WorkersGone { in_flight: u64, last_seq: Option<u64> },
    #[error("Done for seq {seq} which was never dispatched or was already reported done")]
    UnexpectedDone { seq: u64 },
    #[error("invalid dispatcher config: {what}")]
    Config { what: String },
    #[error("the dispatcher thread panicked: {what}")]
    Panicked { what: String },
    /// A transaction's rows cannot be mapped onto the target's table (see [`target`]).
    #[error("GTID {gtid}: {source}")]
    Target { gtid: String, source: Box<MapError> },
}
