//! parapply: a standalone parallel replica applier for MySQL and MariaDB, with a failover watcher.
//!
//! Data flows one way (see `DESIGN.md` in the shared folder and the README):
//!
//! ```text
//! source ──► decode ──► txn ──► schedule ──► apply ──► checkpoint
//! ```
//!
//! - [`source`]: live binlog stream or binlog files; GTID sets and positions.
//! - [`decode`]: binlog bytes to typed events and row values.
//! - [`txn`]: events grouped into [`txn::Transaction`]s: the types in `txn/mod.rs`, the
//!   assembler in `assemble.rs`, the readers in `reader.rs` (any event source, GTID filters) and
//!   large transactions streamed in chunks in `stream.rs`.
//! - [`schedule`]: which transactions may run side by side (the [`schedule::Mode`]s serial,
//!   logical_clock, writeset, writeset_session) and the offline `analyze` simulator.
//! - [`apply`]: worker pool on the target, SQL generation, retries, and the exactly-once
//!   checkpoint ([`apply::checkpoint`]: applied GTIDs committed with the rows). One worker
//!   ([`apply::worker`]) is `apply/worker.rs` (the worker, its retry loop and dispatch) and one
//!   file per execution path under `apply/worker/` (fast, careful, ddl, streamed, xa, trip),
//!   with the commit-order turn in `apply/worker/turn.rs`.
//! - [`replica`]: the live replica loop: source -> pipeline from the checkpoint, restarted on a
//!   new writer (`run`, with or without `[failover]`).
//! - [`lag`]: the registry every stage reports into, the three clocks, heartbeat-row detection;
//!   talks to no server.
//! - [`heartbeat`]: the heartbeat writer on the source (depends on lag, not the reverse).
//! - [`http`]: the monitor endpoints (/lag /metrics /health /status), reading lag snapshots.
//! - [`failover`]: the dual-master watcher; publishes the current writer, never drives the
//!   pipeline.
//! - [`commands`]: one file per subcommand, wiring arguments to a pipeline run and a report;
//!   [`commands::monitor`] starts and stops the monitoring side (endpoints, heartbeat writer).
//! - [`bench`]: the benchmark harness.
//! - [`gen`]: the synthetic MySQL 8 binlog generator (`parapply gen`).
//! - [`config`] and [`cli`]: the TOML config and the command line.
//! - [`error_text`]: errors rendered for humans, each cause once.
//! - [`net`]: connection options (TLS, keepalive) and SQL quoting, shared by every server connection.
//! - [`utc`]: the UTC calendar (Unix time to date and back) and the one date-time formatter.
//!
//! No file in `src/` imports, through `crate::` paths, a file that imports it back
//! (`tests/module_graph.rs` checks it).

pub mod cli;
pub mod commands;
pub mod config;
pub mod error_text;
pub mod net;
pub mod decode;
pub mod source;
pub mod txn;
pub mod utc;
pub mod schedule;
pub mod apply;
pub mod lag;
pub mod heartbeat;
pub mod http;
pub mod failover;
pub mod replica;
pub mod gen;
pub mod bench;
