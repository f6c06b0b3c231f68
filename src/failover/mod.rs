//! The built-in failover watcher for a MariaDB master-master pair (DESIGN rule 6: never promote
//! the wrong replica).
//!
//! Layout (one job per file, data flows watcher -> promote -> log):
//! - [`probe`]: the few queries every part needs (server variables, `SHOW SLAVE STATUS`), each
//!   with a timeout. Connections only, no decisions.
//! - [`watcher`]: the loop. Checks the writer every `check_interval`, counts misses, asks the
//!   second channel (the candidate's own replication link), holds the lease, keeps the read pool,
//!   and hands a confirmed failure to [`promote`].
//! - [`promote`]: the gate (relay applied, lag, errant transactions, configuration), then the
//!   timed steps: fence, wait for the relay log, `read_only=OFF`, hooks, re-point.
//! - [`hooks`]: running the operator's hook commands (own process group, timeout, capped
//!   output, no credentials in their environment; reader hooks serialized per reader).
//! - [`log`]: the JSON Lines switch log.
//! - [`doctor`]: dual-master configuration checks (`parapply doctor`, and at watcher start).
//! - [`reconcile`]: when a failed writer comes back, the exact transactions it holds that its
//!   successor never received (it stays fenced).
//!
//! This module must not decode binlogs or build row SQL, and never drives the apply pipeline: it
//! talks to servers with a handful of administrative statements and only publishes which server
//! is the writer, on [`SourceSwitch`] (a `watch` channel). The live replica
//! ([`crate::replica`]) follows that channel.
//!
//! # Resumption
//! The watcher keeps nothing on disk except the switch log. On (re)start, or when it takes over
//! the lease from another watcher, it re-discovers the writer from the servers themselves (the
//! one master with `read_only=OFF`), so a watcher killed half way through a promotion does not
//! make its successor promote a second time.
//!
//! # Error handling
//! A check that fails is a miss, never an error. Only configuration problems (no writer can be
//! determined, a switch log that cannot be written) stop the watcher.

pub mod doctor;
pub mod hooks;
pub mod log;
pub mod probe;
pub mod promote;
pub mod reconcile;
pub mod watcher;

use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

use crate::config::FailoverServer;

/// Failover failures that stop a command or the watcher, naming the server or file.
#[derive(Debug, thiserror::Error)]
pub enum FailoverError {
    #[error("{server} ({address}): {what}")]
    Server { server: String, address: String, what: String },
    #[error("switch log {path}: {}", crate::error_text::chain(.cause))]
    Log { path: String, cause: std::io::Error },
    #[error("cannot tell which server is the writer: {0}")]
    NoWriter(String),
    #[error("unknown server `{0}` (not in failover.servers)")]
    UnknownServer(String),
    #[error("promotion of {candidate} refused: {reasons}")]
    Refused { candidate: String, reasons: String },
    #[error("{0}")]
    Other(String),
}

/// What [`SourceSwitch`] publishes: the replica's own input type.
pub use crate::replica::WriterInfo;

/// The current writer, published by the watcher and consumed by the applier (`run`, or
/// [`crate::replica::follow_writer`]): a `watch` channel, so a consumer only ever sees the newest
/// value.
#[derive(Debug, Clone)]
pub struct SourceSwitch {
    tx: Arc<tokio::sync::watch::Sender<WriterInfo>>,
}

impl SourceSwitch {
    pub fn new(initial: &FailoverServer) -> SourceSwitch {
        let (tx, _) = tokio::sync::watch::channel(WriterInfo { name: initial.name.clone(), endpoint: initial.endpoint.clone(), generation: 0 });
        SourceSwitch { tx: Arc::new(tx) }
    }
    /// A receiver for the applier side.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<WriterInfo> {
        self.tx.subscribe()
    }
    /// True when some applier follows this channel (a receiver exists).
    pub fn has_followers(&self) -> bool {
        self.tx.receiver_count() > 0
    }
    pub fn current(&self) -> WriterInfo {
        self.tx.borrow().clone()
    }
    /// Publish a new writer (a no-op when it already is the writer).
    pub fn switch_to(&self, server: &FailoverServer) {
        self.tx.send_if_modified(|w| {
            if w.name == server.name && w.endpoint == server.endpoint {
                return false;
            }
            *w = WriterInfo { name: server.name.clone(), endpoint: server.endpoint.clone(), generation: w.generation + 1 };
            true
        });
    }
}

/// One reader in the read pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReaderView {
    pub name: String,
    pub address: String,
    pub in_pool: bool,
    /// Last replication lag seen (Seconds_Behind_Master); `null` when unknown (counts as out).
    pub lag_seconds: Option<f64>,
    pub reason: String,
}

/// What the watcher is doing, for `/status`, `/readers` and `parapply failover status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FailoverState {
    /// `starting`, `healthy`, `suspect` (misses below max), `writer_unreachable_from_watcher`
    /// (second channel says the writer is alive), `failover_blocked`, `promoting`, `standby`
    /// (another watcher holds the lease).
    pub state: String,
    pub writer: Option<String>,
    pub misses: u32,
    pub lease_held: bool,
    /// Why the state is what it is (gate failures for `failover_blocked`).
    pub reasons: Vec<String>,
    pub last_writer_gtid: Option<String>,
    pub promotions: u64,
    pub readers: Vec<ReaderView>,
    /// Doctor findings that are not OK (at start and when they change).
    pub doctor_problems: Vec<String>,
    /// Old writers failed over from and not reconciled yet (checked until they answer).
    pub pending_reconcile: Vec<String>,
    /// The last reconciliation of a returned old writer: what it held that was lost.
    pub last_reconcile: Option<ReconcileView>,
}

/// A `reconcile` switch-log entry as `/status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReconcileView {
    pub time: String,
    pub old_writer: String,
    pub new_writer: String,
    pub lost_transactions: u64,
    /// The first 20 lost GTID ranges (the switch log has them all).
    pub lost_gtids: Vec<String>,
    /// The promotion's estimate, for comparison.
    pub estimate: Option<u64>,
    pub exact: bool,
    /// The old writer is read_only (fenced, not re-admitted).
    pub old_writer_read_only: bool,
}

/// Shared handle on the state: one short lock (a leaf: never held across I/O or other locks).
#[derive(Debug, Clone, Default)]
pub struct StateHandle(Arc<Mutex<FailoverState>>);

impl StateHandle {
    pub fn snapshot(&self) -> FailoverState {
        self.0.lock().clone()
    }
    pub fn update(&self, f: impl FnOnce(&mut FailoverState)) {
        f(&mut self.0.lock());
    }
}

/// A check and its result, as it goes into the switch log and `doctor` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Check {
    pub name: String,
    /// `ok`, `fail` or `warn`.
    pub result: String,
    pub detail: String,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), result: "ok".into(), detail: detail.into() }
    }
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), result: "fail".into(), detail: detail.into() }
    }
    pub fn warn(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), result: "warn".into(), detail: detail.into() }
    }
    pub fn passed(&self) -> bool {
        self.result != "fail"
    }
}
