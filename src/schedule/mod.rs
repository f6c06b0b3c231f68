//! Dependency scheduling: which transactions may run side by side on the target.
//!
//! Owns the [`Dispatcher`] thread (fed by a bounded channel of transactions in source order,
//! handing ready transactions to workers and learning of their completion), the per-mode
//! dependency rules behind the [`DependencyRule`] trait (one file per mode), key extraction for
//! the writeset modes, the commit-order token, and the offline `analyze` simulator.
//! It must not talk to any server or build SQL.
//!
//! # Interface to the applier (see `crate::apply`)
//! The applier sends each [`crate::txn::Transaction`] (in source order) into the dispatcher's
//! input channel; the dispatcher assigns it a sequence number and sends it to the workers' ready
//! channel as a [`Ready`] once every transaction it depends on has finished. A worker reports
//! [`Done`] on the completion channel after its target commit. When `preserve_commit_order` is on,
//! a worker calls [`CommitOrder::wait_turn`] with the sequence number right before its COMMIT and
//! [`CommitOrder::done`] right after it.
