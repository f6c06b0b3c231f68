//! Typed binlog events: one small type per event kind, as produced by [`crate::decode`].
//!
//! Owns the event data types only. Parsing lives in the sibling modules; assembling events into
//! transactions lives in [`crate::txn`].

use std::sync::Arc;

use crate::decode::value::Row;

/// The 19-byte common header of every v4 event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventHeader {
    pub timestamp: u32,
    pub event_type: u8,
    pub server_id: u32,
    /// Total event size including header and checksum.
    pub event_size: u32,
    /// Position of the *next* event (0 for artificial events).
    pub log_pos: u32,
    pub flags: u16,
}

/// Column metadata from TABLE_MAP; defined next to the value decoder it is the contract with,
/// so that the value decoder does not import the event types.
pub use crate::decode::value::ColumnDef;

/// A TABLE_MAP event: table identity plus column definitions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableMap {
    pub table_id: u64,
    pub schema: String,
    pub table: String,
    pub columns: Vec<ColumnDef>,
    /// Primary key column indexes from SIMPLE_PRIMARY_KEY / PRIMARY_KEY_WITH_PREFIX metadata;
    /// empty when the table has none or the source did not say.
    pub primary_key: Vec<usize>,
    /// True when FULL metadata was present (so an empty `primary_key` really means none).
    pub has_full_metadata: bool,
    /// The target's table is system-versioned by timestamp (MariaDB `WITH SYSTEM VERSIONING`):
    /// its rows go through the server's own row-event code, as BINLOG statements, which keeps
    /// the logged ROW START / ROW END values and history rows exactly (see
    /// [`crate::apply::binlog_stmt`]). Not in the binlog: set when the TABLE_MAP is mapped onto
    /// the target's table ([`crate::schedule::target`]).
    pub system_versioned: bool,
    /// The target's table is a MariaDB SEQUENCE (information_schema `TABLE_TYPE = 'SEQUENCE'`):
    /// a row written to it replaces its one row, and a NEXTVAL logged with a partial image
    /// (`binlog_row_image=MINIMAL`) is applied as `SETVAL` (see [`crate::apply::sql`]). Set
    /// when mapped onto the target, like `system_versioned`.
    pub sequence: bool,
}

/// QUERY event with the session context the applier needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryEvent {
    /// The event header's time (seconds since the epoch; with `microseconds`, the statement's
    /// `NOW()`), filled in by the transaction assembler; 0 when unknown.
    pub timestamp: u32,
    /// The statement depends on its source session (it uses temporary tables, or
    /// `CONNECTION_ID()`): header flag `LOG_EVENT_THREAD_SPECIFIC_F`, filled in by the assembler.
    /// Such statements must run in one target session per source session (`thread_id`).
    pub thread_specific: bool,
    pub thread_id: u32,
    pub exec_time: u32,
    pub error_code: u16,
    pub schema: String,
    /// The statement exactly as logged: bytes in the source session's `character_set_client`
    /// (`charset.0`), never re-encoded. Re-reading them in any other charset can move a string
    /// literal's end (a sjis/gbk/big5 trail byte 0x5C is a backslash elsewhere), so only
    /// [`QueryEvent::text`] may turn them into text, and only for display and classification.
    pub query: Vec<u8>,
    pub sql_mode: Option<u64>,
    /// (character_set_client, collation_connection, collation_server)
    pub charset: Option<(u16, u16, u16)>,
    pub time_zone: Option<String>,
    /// OPTION_* flags2: bit 0x4000 = NO_FOREIGN_KEY_CHECKS, 0x8000... see decoder.
    pub flags2: Option<u32>,
    /// Explicit default-collation for the database (Q_DEFAULT_COLLATION_FOR_UTF8MB4 or similar).
    pub default_collation_for_utf8mb4: Option<u16>,
    /// MariaDB/MySQL `Q_DDL_LOGGED_WITH_XID`, for atomic DDL.
    pub ddl_xid: Option<u64>,
    /// Q_AUTO_INCREMENT: (auto_increment_increment, auto_increment_offset).
    pub auto_increment: Option<(u16, u16)>,
    pub lc_time_names: Option<u16>,
    /// Q_CHARSET_DATABASE: collation_database.
    pub charset_database: Option<u16>,
    pub table_map_for_update: Option<u64>,
    /// Q_INVOKER: (user, host) of the definer for stored routines/views.
    pub invoker: Option<(String, String)>,
    /// Q_UPDATED_DB_NAMES; `Some(vec![])` when the server said "too many to list".
    pub updated_db_names: Option<Vec<String>>,
    /// Q_MICROSECONDS (MySQL) / Q_HRNOW (MariaDB): sub-second part of the event time.
    pub microseconds: Option<u32>,
    pub explicit_defaults_for_timestamp: Option<bool>,
    pub sql_require_primary_key: Option<u8>,
    pub default_table_encryption: Option<u8>,
    /// MariaDB Q_GTID_FLAGS3.
    pub gtid_flags3: Option<u8>,
    /// False when an unknown status variable stopped parsing of the block (the fields after it
    /// are missing; schema and query are still exact).
    pub status_vars_complete: bool,
}

/// EXECUTE_LOAD_QUERY: a statement-based `LOAD DATA` with where its file name sits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadQuery {
    pub query: QueryEvent,
    /// The file, assembled from BEGIN_LOAD_QUERY / APPEND_BLOCK events with this id.
    pub file_id: u32,
    /// `query.query[fn_pos_start..fn_pos_end]` is ` [LOCAL] INFILE 'name' [REPLACE|IGNORE] INTO`,
    /// which a replica replaces to read the logged file instead.
    pub fn_pos_start: usize,
    pub fn_pos_end: usize,
    /// 0 error, 1 IGNORE, 2 REPLACE.
    pub dup_handling: u8,
}

impl QueryEvent {
    /// The statement as text for display and for classifying it (BEGIN, COMMIT, DDL):
    /// invalid UTF-8 becomes U+FFFD. Never send this to a server; send [`QueryEvent::query`].
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.query)
    }
}

/// MySQL GTID (33), ANONYMOUS_GTID (34) and GTID_TAGGED (42).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MysqlGtidEvent {
    pub flags: u8,
    pub uuid: [u8; 16],
    pub gno: i64,
    pub tag: Option<String>,
    pub anonymous: bool,
    /// LOGICAL_CLOCK, when present (5.7+).
    pub last_committed: Option<i64>,
    pub sequence_number: Option<i64>,
    /// Microseconds since the epoch (8.0.1+).
    pub immediate_commit_timestamp: Option<u64>,
    pub original_commit_timestamp: Option<u64>,
    pub transaction_length: Option<u64>,
    /// Server versions as numbers (e.g. 80028), 8.0.14+; `original` defaults to `immediate`.
    pub immediate_server_version: Option<u32>,
    pub original_server_version: Option<u32>,
    /// GTID_TAGGED only: binlog group-commit ticket, when set.
    pub commit_group_ticket: Option<u64>,
}

/// MariaDB GTID (162).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MariadbGtidEvent {
    pub seq_no: u64,
    pub domain_id: u32,
    /// From the common header.
    pub server_id: u32,
    pub flags2: u8,
    pub commit_id: Option<u64>,
    /// XA transaction id, when flags2 has PREPARED_XA or COMPLETED_XA.
    pub xid: Option<XaId>,
}

/// An XA transaction id (formatID, gtrid, bqual).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XaId {
    pub format_id: i32,
    pub gtrid: Vec<u8>,
    pub bqual: Vec<u8>,
}

/// Which ROWS event this was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsEventKind {
    Write,
    Update,
    Delete,
    /// MySQL 8 PARTIAL_UPDATE_ROWS (JSON diffs): after images hold the patched JSON where the
    /// decoder could apply the diff to the before image.
    PartialUpdate,
}

/// A decoded ROWS event (v1, v2 or partial update).
#[derive(Debug, Clone, PartialEq)]
pub struct RowsEvent {
    pub kind: RowsEventKind,
    pub table_id: u64,
    pub flags: u16,
    /// The TABLE_MAP in force for this table id.
    pub table: Arc<TableMap>,
    /// (before, after) per row: Write has only after, Delete only before, Update both.
    pub rows: Vec<(Option<Row>, Option<Row>)>,
    /// The event as logged, with its TABLE_MAP and FORMAT_DESCRIPTION, when the decoder was
    /// asked to keep them ([`crate::decode::Decoder::set_keep_raw`]) and the event can be
    /// replayed by the server itself (see [`RawRowsEvent`]); `None` otherwise.
    pub raw: Option<Arc<RawRowsEvent>>,
}

/// A ROWS event exactly as the source logged it, with the TABLE_MAP it refers to and the
/// FORMAT_DESCRIPTION in force: what a MariaDB target needs to apply it through its own row
/// code in a `BINLOG '<base64>'` statement (see [`crate::apply::binlog_stmt`]). Each holds
/// the whole event (common header, body and the checksum trailer the FDE announces).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRowsEvent {
    pub fde: Arc<[u8]>,
    pub table_map: Arc<[u8]>,
    pub event: Box<[u8]>,
}

impl RowsEvent {
    /// STMT_END_F: last ROWS event of the statement.
    pub fn is_stmt_end(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// FORMAT_DESCRIPTION: what the rest of the file looks like.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormatDescription {
    pub binlog_version: u16,
    pub server_version: String,
    pub create_timestamp: u32,
    pub header_length: u8,
    /// Post-header length per event type (index = type - 1).
    pub post_header_lengths: Vec<u8>,
    /// 0 = NONE, 1 = CRC32; `None` for pre-5.6.1 formats without the field.
    pub checksum_alg: Option<u8>,
}

impl FormatDescription {
    pub fn has_crc32(&self) -> bool {
        self.checksum_alg == Some(1)
    }
    /// True for MariaDB servers (version string contains "MariaDB").
    pub fn is_mariadb(&self) -> bool {
        self.server_version.contains("MariaDB")
    }
}

/// The value of a user variable as USER_VAR logs it (`Item_result` type, then the bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum UserValue {
    /// A string in the character set of `collation`.
    Str { bytes: Vec<u8>, collation: u32 },
    Int { value: i64, unsigned: bool },
    Real(f64),
    /// Exact decimal text.
    Decimal(String),
}

/// One decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    FormatDescription(FormatDescription),
    Rotate { next_file: String, position: u64 },
    Query(QueryEvent),
    Xid(u64),
    TableMap(Arc<TableMap>),
    Rows(RowsEvent),
    MysqlGtid(MysqlGtidEvent),
    /// MySQL PREVIOUS_GTIDS, as (uuid, tag, intervals [start, end)).
    PreviousGtids(Vec<([u8; 16], Option<String>, Vec<(u64, u64)>)>),
    MariadbGtid(MariadbGtidEvent),
    /// MariaDB GTID_LIST: (domain, server_id, seq).
    MariadbGtidList(Vec<(u32, u32, u64)>),
    MariadbBinlogCheckpoint(String),
    /// MariaDB ANNOTATE_ROWS or MySQL ROWS_QUERY: the original SQL text.
    RowsQuery(String),
    IntVar { kind: u8, value: u64 },
    Rand { seed1: u64, seed2: u64 },
    /// USER_VAR: a user variable a statement-based DML statement reads (`None`: NULL).
    UserVar { name: String, value: Option<UserValue> },
    /// XA_PREPARE (MySQL 38).
    XaPrepare { one_phase: bool, xid: XaId },
    /// TRANSACTION_PAYLOAD expanded: the inner events with their headers.
    TransactionPayload(Vec<(EventHeader, EventData)>),
    Heartbeat { log_file: String },
    Incident { kind: u16, message: String },
    Stop,
    /// BEGIN_LOAD_QUERY (`begin`) / APPEND_BLOCK: a block of the file a statement-based
    /// `LOAD DATA` reads.
    LoadBlock { file_id: u32, begin: bool, data: Vec<u8> },
    /// EXECUTE_LOAD_QUERY: the `LOAD DATA` statement that reads the file.
    ExecuteLoad(LoadQuery),
    /// DELETE_FILE: the file is dropped (the statement failed on the source).
    DeleteFile { file_id: u32 },
    /// Pre-5.0 LOAD events and other events the applier cannot see into.
    Opaque,
    /// Events that carry nothing for the pipeline (IGNORABLE, START_ENCRYPTION marker, unknown
    /// types with LOG_EVENT_IGNORABLE_F).
    Ignored,
}

/// A decoded event with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub header: EventHeader,
    /// File name (for files and the live stream's current file) and byte offset of the event.
    pub file: Arc<str>,
    pub offset: u64,
    pub data: EventData,
}
