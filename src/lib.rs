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
//! - [`txn`]: events grouped into [`txn::Transaction`]s.
//! - [`schedule`]: which transactions may run side by side (serial, logical_clock, writeset,
//!   writeset_session) and the offline `analyze` simulator.
//! - [`apply`]: worker pool on the target, SQL generation, exactly-once checkpoints, retries.
//! - [`lag`] and [`http`]: honest lag clocks and the monitor endpoints.
//! - [`failover`]: the dual-master watcher.
//! - [`bench`]: the benchmark harness.
//! - [`config`] and [`cli`]: the TOML config and the command line.
//! - [`error_text`]: errors rendered for humans, each cause once.
//! - [`net`]: connection options (TLS, keepalive) and SQL quoting, shared by every server connection.
//! - [`utc`]: the UTC calendar (Unix time to date and back) and the one date-time formatter.

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
