//! Where binlog bytes come from: binlog/relay-log files ([`file`]) or a live dump stream
//! ([`stream`]), plus GTID positions and sets ([`gtid`]).
//!
//! Owns positioning, reconnects and the byte framing into raw events. It hands raw event bytes
//! to [`crate::decode`] and must not interpret row data.

pub mod file;
pub mod gtid;
pub mod stream;
