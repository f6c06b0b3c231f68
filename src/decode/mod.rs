//! Binlog bytes -> typed events.
//!
//! Owns the v4 event framing (common header, CRC32 verification with the FDE in-use quirk),
//! per-event body parsers (MySQL and MariaDB, including MariaDB 160–163 which mysql_common leaves
//! undecoded), TABLE_MAP optional metadata, row images and TRANSACTION_PAYLOAD expansion.
//! It must not know where bytes come from (files or network: see [`crate::source`]) nor how
//! events group into transactions (see [`crate::txn`]).
//!
//! # Error handling
//! Every failure is a [`DecodeError`] naming the file and byte offset of the event and what was
//! wrong. Input is never trusted: lengths are checked before every read, nothing panics.

pub mod event;
pub mod json;
pub mod value;
// Below both value and json: the scalar decoders they share (value re-exports its public part).
mod scalar;

// Event decoder (framing, state, dispatch) and its per-event body parsers.
mod compressed;
mod decoder;
mod fde;
mod gtid;
mod misc;
mod payload;
mod query;
mod reader;
mod rows;
mod table_map;

pub use decoder::{event_type_name, parse_header, Decoder, DEFAULT_MAX_PAYLOAD_SIZE, HEADER_LEN};

/// Event type codes used across the crate.
pub mod event_type {
    pub const UNKNOWN: u8 = 0;
    pub const START_V3: u8 = 1;
    pub const QUERY: u8 = 2;
    pub const STOP: u8 = 3;
    pub const ROTATE: u8 = 4;
    pub const INTVAR: u8 = 5;
    pub const LOAD: u8 = 6;
    pub const SLAVE: u8 = 7;
    pub const CREATE_FILE: u8 = 8;
    pub const APPEND_BLOCK: u8 = 9;
    pub const EXEC_LOAD: u8 = 10;
    pub const DELETE_FILE: u8 = 11;
    pub const NEW_LOAD: u8 = 12;
    pub const RAND: u8 = 13;
    pub const USER_VAR: u8 = 14;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const BEGIN_LOAD_QUERY: u8 = 17;
    pub const EXECUTE_LOAD_QUERY: u8 = 18;
    pub const TABLE_MAP: u8 = 19;
    pub const PRE_GA_WRITE_ROWS: u8 = 20;
    pub const PRE_GA_UPDATE_ROWS: u8 = 21;
    pub const PRE_GA_DELETE_ROWS: u8 = 22;
    pub const WRITE_ROWS_V1: u8 = 23;
    pub const UPDATE_ROWS_V1: u8 = 24;
    pub const DELETE_ROWS_V1: u8 = 25;
    pub const INCIDENT: u8 = 26;
    pub const HEARTBEAT: u8 = 27;
    pub const IGNORABLE: u8 = 28;
    pub const ROWS_QUERY: u8 = 29;
    pub const WRITE_ROWS_V2: u8 = 30;
    pub const UPDATE_ROWS_V2: u8 = 31;
    pub const DELETE_ROWS_V2: u8 = 32;
    pub const GTID: u8 = 33;
    pub const ANONYMOUS_GTID: u8 = 34;
    pub const PREVIOUS_GTIDS: u8 = 35;
    pub const TRANSACTION_CONTEXT: u8 = 36;
    pub const VIEW_CHANGE: u8 = 37;
    pub const XA_PREPARE: u8 = 38;
    pub const PARTIAL_UPDATE_ROWS: u8 = 39;
    pub const TRANSACTION_PAYLOAD: u8 = 40;
    pub const HEARTBEAT_V2: u8 = 41;
    pub const GTID_TAGGED: u8 = 42;
    pub const MARIA_ANNOTATE_ROWS: u8 = 160;
    pub const MARIA_BINLOG_CHECKPOINT: u8 = 161;
    pub const MARIA_GTID: u8 = 162;
    pub const MARIA_GTID_LIST: u8 = 163;
    pub const MARIA_START_ENCRYPTION: u8 = 164;
    pub const MARIA_QUERY_COMPRESSED: u8 = 165;
    pub const MARIA_WRITE_ROWS_COMPRESSED_V1: u8 = 166;
    pub const MARIA_UPDATE_ROWS_COMPRESSED_V1: u8 = 167;
    pub const MARIA_DELETE_ROWS_COMPRESSED_V1: u8 = 168;
    pub const MARIA_WRITE_ROWS_COMPRESSED: u8 = 169;
    pub const MARIA_UPDATE_ROWS_COMPRESSED: u8 = 170;
    pub const MARIA_DELETE_ROWS_COMPRESSED: u8 = 171;
}

/// A decode failure, always with its location.
#[derive(Debug, thiserror::Error)]
#[error("{file} at offset {offset}: {what}")]
pub struct DecodeError {
    pub file: String,
    pub offset: u64,
    pub what: String,
}
