//! MySQL 8.0 binlog event *encoder*: event framing (v4 header, CRC32) and the bodies of the event
//! types the generator writes, plus the row-image encoding of the column types it uses.
//!
//! Owns byte layouts only: it knows nothing of workloads, files or rotation (see
//! [`super::writer`]) and must never call parapply's decoder — decoding this module's output with
//! an independent reader (mysql_common in `tests/gen_files.rs`) is the whole point of the check.
//! Layouts follow the MySQL 8.0 server (`libbinlogevents`) and were compared byte for byte with
//! the real 8.0.28/8.0.31 files in the shared fixtures (see the unit tests).
//!
//! It is hand-written on purpose instead of using mysql_common's `MySerialize`: writing with the
//! same library the tests decode with would make the round trip check itself.

use thiserror::Error;

/// Length of the v4 common event header.
pub const EVENT_HEADER_LEN: usize = 19;
/// Length of the CRC32 trailer when `binlog_checksum=CRC32`.
pub const CHECKSUM_LEN: usize = 4;
/// Server version string written in the FORMAT_DESCRIPTION event.
pub const SERVER_VERSION: &str = "8.0.36-gen";
/// `immediate_server_version` / `original_server_version` of GTID events: 8.0.36 as MySQL encodes
/// it (major * 10000 + minor * 100 + patch).
pub const SERVER_VERSION_ID: u32 = 80036;
/// Collation id of `utf8mb4_0900_ai_ci`, MySQL 8's session default.
pub const COLLATION_UTF8MB4_0900_AI_CI: u16 = 255;
/// Collation id of `utf8mb4_general_ci`: used for table columns because both MySQL 8 and MariaDB
/// know it, so generated DDL also replays on the project's MariaDB sandboxes.
pub const COLLATION_UTF8MB4_GENERAL_CI: u16 = 45;
/// Default `sql_mode` of MySQL 8.0 (ONLY_FULL_GROUP_BY, STRICT_TRANS_TABLES, NO_ZERO_IN_DATE,
/// NO_ZERO_DATE, ERROR_FOR_DIVISION_BY_ZERO, NO_ENGINE_SUBSTITUTION), as 8.0 servers log it.
pub const SQL_MODE_MYSQL80_DEFAULT: u64 = 0x45a0_0020;

/// Event type codes the generator writes.
pub mod event_type {
    pub const QUERY: u8 = 2;
    pub const ROTATE: u8 = 4;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const TABLE_MAP: u8 = 19;
    pub const WRITE_ROWS_V2: u8 = 30;
    pub const UPDATE_ROWS_V2: u8 = 31;
    pub const DELETE_ROWS_V2: u8 = 32;
    pub const GTID: u8 = 33;
    pub const PREVIOUS_GTIDS: u8 = 35;
    pub const TRANSACTION_PAYLOAD: u8 = 40;

    /// Name used in summaries and tests (mysql_common's `EventType` names without `_EVENT`).
    pub fn name(code: u8) -> &'static str {
        match code {
            QUERY => "QUERY",
            ROTATE => "ROTATE",
            FORMAT_DESCRIPTION => "FORMAT_DESCRIPTION",
            XID => "XID",
            TABLE_MAP => "TABLE_MAP",
            WRITE_ROWS_V2 => "WRITE_ROWS_V2",
            UPDATE_ROWS_V2 => "UPDATE_ROWS_V2",
            DELETE_ROWS_V2 => "DELETE_ROWS_V2",
            GTID => "GTID",
            PREVIOUS_GTIDS => "PREVIOUS_GTIDS",
            TRANSACTION_PAYLOAD => "TRANSACTION_PAYLOAD",
            _ => "OTHER",
        }
    }
}

/// Event header flags.
pub mod event_flags {
    /// `LOG_EVENT_BINLOG_IN_USE_F`: on the FDE of a binlog the server has not closed yet.
    pub const BINLOG_IN_USE: u16 = 0x0001;
    /// `LOG_EVENT_SUPPRESS_USE_F`: set on BEGIN query events.
    pub const SUPPRESS_USE: u16 = 0x0008;
    /// `LOG_EVENT_IGNORABLE_F`: set on PREVIOUS_GTIDS.
    pub const IGNORABLE: u16 = 0x0080;
}

/// Post-header lengths of every event type (index = type code - 1) as a MySQL 8.0.20+ server
/// writes them in its FORMAT_DESCRIPTION event: 41 entries, copied from the 8.0.28 and 8.0.31
/// fixture files (a unit test re-reads them). Notable: QUERY 13, ROTATE 8, FDE 98, TABLE_MAP 8,
/// ROWS v2 10, GTID 42, TRANSACTION_PAYLOAD 40.
pub const MYSQL80_POST_HEADER_LENGTHS: [u8; 41] = [
    0, 13, 0, 8, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 98, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2, 0, 0, 0, 10, 10,
    10, 42, 42, 0, 18, 52, 0, 10, 40, 0,
];

/// Errors from encoding a value or event body. They mean the workload produced something the
/// column cannot hold; they carry the column so the bug is easy to find.
#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("column `{column}`: value {value} does not fit {ty}")]
    ValueOutOfRange { column: String, ty: String, value: String },
    #[error("column `{column}`: value kind {value} does not match column type {ty}")]
    TypeMismatch { column: String, ty: String, value: String },
    #[error("column `{column}` is NOT NULL but the row has NULL")]
    NullInNotNull { column: String },
    #[error("row has {got} values, table `{table}` has {want} columns")]
    ColumnCount { table: String, got: usize, want: usize },
    #[error("event body of {len} bytes is too large for a binlog event")]
    EventTooLarge { len: usize },
    #[error("zstd compression failed: {0}")]
    Compress(#[source] std::io::Error),
}

// ---------------------------------------------------------------------------------------------
// Framing

/// The fields of the common header the caller chooses (size and position are computed).
#[derive(Debug, Clone, Copy)]
pub struct EventHeader {
    pub timestamp: u32,
    pub type_code: u8,
    pub server_id: u32,
    pub flags: u16,
}

/// Where an event goes, which decides `log_pos` and the checksum.
#[derive(Debug, Clone, Copy)]
pub enum Placement {
    /// A top-level event starting at this file offset: `log_pos` = offset + size, CRC32 appended.
    File { start: u64 },
    /// An event inside a TRANSACTION_PAYLOAD: `log_pos` = 0 and no checksum (WL#3549).
    Payload,
}

/// Serialises header + body (+ CRC32) into `out`. Returns the event size.
pub fn frame_event(
    out: &mut Vec<u8>,
    header: EventHeader,
    body: &[u8],
    placement: Placement,
) -> Result<u32, EncodeError> {
    let with_crc = matches!(placement, Placement::File { .. });
    let total = EVENT_HEADER_LEN + body.len() + if with_crc { CHECKSUM_LEN } else { 0 };
    let size = u32::try_from(total).map_err(|_| EncodeError::EventTooLarge { len: body.len() })?;
    let log_pos = match placement {
        Placement::File { start } => u32::try_from(start + u64::from(size))
            .map_err(|_| EncodeError::EventTooLarge { len: body.len() })?,
        Placement::Payload => 0,
    };
    let begin = out.len();
    out.extend_from_slice(&header.timestamp.to_le_bytes());
    out.push(header.type_code);
    out.extend_from_slice(&header.server_id.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&log_pos.to_le_bytes());
    out.extend_from_slice(&header.flags.to_le_bytes());
    out.extend_from_slice(body);
    if with_crc {
        // The CRC covers the whole event before it, header included. We never set
        // LOG_EVENT_BINLOG_IN_USE_F, so the FDE needs no special case here.
        let crc = crc32fast::hash(&out[begin..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    Ok(size)
}

/// Size a framed event will have, without building it.
pub fn framed_len(body_len: usize, placement: Placement) -> usize {
    EVENT_HEADER_LEN + body_len + if matches!(placement, Placement::File { .. }) { CHECKSUM_LEN } else { 0 }
}

// ---------------------------------------------------------------------------------------------
// Primitive encoders

/// MySQL "length-encoded integer" (`net_store_length`), used by TABLE_MAP, ROWS, GTID
/// transaction_length and the TRANSACTION_PAYLOAD header.
pub fn put_lenenc(out: &mut Vec<u8>, v: u64) {
    if v < 251 {
        out.push(v as u8);
    } else if v < 1 << 16 {
        out.push(0xfc);
        out.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v < 1 << 24 {
        out.push(0xfd);
        out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
    } else {
        out.push(0xfe);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Bytes `put_lenenc` writes for `v`.
pub fn lenenc_len(v: u64) -> usize {
    if v < 251 {
        1
    } else if v < 1 << 16 {
        3
    } else if v < 1 << 24 {
        4
    } else {
        9
    }
}

fn put_lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    put_lenenc(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Bitmap with bit i = `bits[i]`, least significant bit first (null bitmaps, column bitmaps).
fn put_bitmap_lsb(out: &mut Vec<u8>, bits: impl Iterator<Item = bool>) {
    let mut byte = 0u8;
    let mut n = 0;
    for b in bits {
        if b {
            byte |= 1 << (n % 8);
        }
        n += 1;
        if n % 8 == 0 {
            out.push(byte);
            byte = 0;
        }
    }
    if n % 8 != 0 {
        out.push(byte);
    }
}

/// Bitmap with the most significant bit first (optional metadata SIGNEDNESS, COLUMN_VISIBILITY).
fn bitmap_msb(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            if let Some(byte) = out.get_mut(i / 8) {
                *byte |= 0x80 >> (i % 8);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// FORMAT_DESCRIPTION, PREVIOUS_GTIDS, ROTATE, XID

/// FORMAT_DESCRIPTION body for 8.0 with `binlog_checksum=CRC32`: the checksum-algorithm byte (1)
/// is part of the body, the CRC follows it (added by [`frame_event`]).
pub fn format_description_body(create_timestamp: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(2 + 50 + 4 + 1 + MYSQL80_POST_HEADER_LENGTHS.len() + 1);
    b.extend_from_slice(&4u16.to_le_bytes());
    let mut version = [0u8; 50];
    let v = SERVER_VERSION.as_bytes();
    version[..v.len()].copy_from_slice(v);
    b.extend_from_slice(&version);
    b.extend_from_slice(&create_timestamp.to_le_bytes());
    b.push(EVENT_HEADER_LEN as u8);
    b.extend_from_slice(&MYSQL80_POST_HEADER_LENGTHS);
    b.push(1); // BINLOG_CHECKSUM_ALG_CRC32
    b
}

/// GTID intervals of one server uuid, each `[start, end)`.
pub type GtidIntervals = ([u8; 16], Vec<(u64, u64)>);

/// PREVIOUS_GTIDS body: for each server uuid, its GTID intervals.
pub fn previous_gtids_body(sets: &[GtidIntervals]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(sets.len() as u64).to_le_bytes());
    for (sid, intervals) in sets {
        b.extend_from_slice(sid);
        b.extend_from_slice(&(intervals.len() as u64).to_le_bytes());
        for (start, end) in intervals {
            b.extend_from_slice(&start.to_le_bytes());
            b.extend_from_slice(&end.to_le_bytes());
        }
    }
    b
}

/// ROTATE body: position in the next file (always 4) and its name (no terminator).
pub fn rotate_body(next_file: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + next_file.len());
    b.extend_from_slice(&4u64.to_le_bytes());
    b.extend_from_slice(next_file.as_bytes());
    b
}

pub fn xid_body(xid: u64) -> Vec<u8> {
    xid.to_le_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// GTID (33)

/// The fields of a MySQL 8.0 GTID event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GtidFields {
    /// 1 = `FLAG_MAY_HAVE_SBR` (MySQL sets it on DDL), 0 for row-based DML.
    pub flags: u8,
    pub sid: [u8; 16],
    pub gno: u64,
    pub last_committed: i64,
    pub sequence_number: i64,
    /// Microseconds since the epoch.
    pub immediate_commit_timestamp: u64,
    pub original_commit_timestamp: u64,
    /// Bytes of the whole transaction in the binlog, this GTID event included.
    pub transaction_length: u64,
    pub immediate_server_version: u32,
    pub original_server_version: u32,
}

/// Logical-clock type code (`LOGICAL_TIMESTAMP_TYPECODE`).
const LOGICAL_CLOCK_TYPECODE: u8 = 2;
/// Bit 55 of the 7-byte immediate commit timestamp: "original timestamp follows".
const ORIGINAL_COMMIT_TIMESTAMP_FLAG: u64 = 1 << 55;
/// Bit 31 of the immediate server version: "original server version follows".
const ORIGINAL_SERVER_VERSION_FLAG: u32 = 1 << 31;

pub fn gtid_body(g: &GtidFields) -> Vec<u8> {
    let mut b = Vec::with_capacity(42 + 14 + 9 + 8);
    b.push(g.flags);
    b.extend_from_slice(&g.sid);
    b.extend_from_slice(&g.gno.to_le_bytes());
    b.push(LOGICAL_CLOCK_TYPECODE);
    b.extend_from_slice(&g.last_committed.to_le_bytes());
    b.extend_from_slice(&g.sequence_number.to_le_bytes());
    let immediate = g.immediate_commit_timestamp & ((1 << 55) - 1);
    if g.original_commit_timestamp != g.immediate_commit_timestamp {
        b.extend_from_slice(&(immediate | ORIGINAL_COMMIT_TIMESTAMP_FLAG).to_le_bytes()[..7]);
        b.extend_from_slice(&g.original_commit_timestamp.to_le_bytes()[..7]);
    } else {
        b.extend_from_slice(&immediate.to_le_bytes()[..7]);
    }
    put_lenenc(&mut b, g.transaction_length);
    if g.original_server_version != g.immediate_server_version {
        b.extend_from_slice(&(g.immediate_server_version | ORIGINAL_SERVER_VERSION_FLAG).to_le_bytes());
        b.extend_from_slice(&g.original_server_version.to_le_bytes());
    } else {
        b.extend_from_slice(&g.immediate_server_version.to_le_bytes());
    }
    b
}

// ---------------------------------------------------------------------------------------------
// QUERY (2)

/// A QUERY event: BEGIN or a DDL statement.
#[derive(Debug, Clone)]
pub struct QueryFields<'a> {
    pub thread_id: u32,
    /// Default database of the session ("" = none).
    pub db: &'a str,
    pub sql: &'a str,
    /// `Some(xid)` for DDL: MySQL 8 logs atomic DDL with Q_DDL_LOGGED_WITH_XID and no XID event.
    pub ddl_xid: Option<u64>,
    /// Databases the statement changes (Q_UPDATED_DB_NAMES), written for DDL.
    pub updated_dbs: &'a [&'a str],
}

mod status_var {
    pub const FLAGS2: u8 = 0;
    pub const SQL_MODE: u8 = 1;
    pub const CHARSET: u8 = 4;
    pub const CATALOG_NZ: u8 = 6;
    pub const UPDATED_DB_NAMES: u8 = 12;
    pub const DDL_LOGGED_WITH_XID: u8 = 17;
    pub const DEFAULT_COLLATION_FOR_UTF8MB4: u8 = 18;
    pub const SQL_REQUIRE_PRIMARY_KEY: u8 = 19;
}

/// QUERY body with the status variables an 8.0 server writes, in its order (compared with the
/// fixtures): flags2, sql_mode, catalog "std", charset triple, (DDL: updated dbs, ddl xid),
/// utf8mb4 default collation, (DDL: sql_require_primary_key).
pub fn query_body(q: &QueryFields<'_>) -> Vec<u8> {
    let mut status = Vec::with_capacity(64);
    status.push(status_var::FLAGS2);
    status.extend_from_slice(&0u32.to_le_bytes());
    status.push(status_var::SQL_MODE);
    status.extend_from_slice(&SQL_MODE_MYSQL80_DEFAULT.to_le_bytes());
    status.push(status_var::CATALOG_NZ);
    status.push(3);
    status.extend_from_slice(b"std");
    status.push(status_var::CHARSET);
    for _ in 0..3 {
        // character_set_client, collation_connection, collation_server
        status.extend_from_slice(&COLLATION_UTF8MB4_0900_AI_CI.to_le_bytes());
    }
    let is_ddl = q.ddl_xid.is_some();
    if is_ddl && !q.updated_dbs.is_empty() {
        status.push(status_var::UPDATED_DB_NAMES);
        status.push(q.updated_dbs.len().min(254) as u8);
        for db in q.updated_dbs.iter().take(254) {
            status.extend_from_slice(db.as_bytes());
            status.push(0);
        }
    }
    if let Some(xid) = q.ddl_xid {
        status.push(status_var::DDL_LOGGED_WITH_XID);
        status.extend_from_slice(&xid.to_le_bytes());
    }
    status.push(status_var::DEFAULT_COLLATION_FOR_UTF8MB4);
    status.extend_from_slice(&COLLATION_UTF8MB4_0900_AI_CI.to_le_bytes());
    if is_ddl {
        status.push(status_var::SQL_REQUIRE_PRIMARY_KEY);
        status.push(0);
    }

    let db = &q.db.as_bytes()[..q.db.len().min(255)];
    let mut b = Vec::with_capacity(13 + status.len() + db.len() + 1 + q.sql.len());
    b.extend_from_slice(&q.thread_id.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // exec_time
    b.push(db.len() as u8);
    b.extend_from_slice(&0u16.to_le_bytes()); // error_code
    b.extend_from_slice(&(status.len() as u16).to_le_bytes());
    b.extend_from_slice(&status);
    b.extend_from_slice(db);
    b.push(0);
    b.extend_from_slice(q.sql.as_bytes());
    b
}

// ---------------------------------------------------------------------------------------------
// Column types and values

/// The column types the generator writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// BIGINT, optionally UNSIGNED (MYSQL_TYPE_LONGLONG).
    BigInt { unsigned: bool },
    /// INT, optionally UNSIGNED (MYSQL_TYPE_LONG).
    Int { unsigned: bool },
    /// VARCHAR(max_chars) in utf8mb4 (4 bytes per character).
    Varchar { max_chars: u16 },
    /// DECIMAL(precision, scale) (MYSQL_TYPE_NEWDECIMAL).
    Decimal { precision: u8, scale: u8 },
    /// DATETIME(fsp) (MYSQL_TYPE_DATETIME2).
    DateTime { fsp: u8 },
    /// ENUM('a', ...): logged as MYSQL_TYPE_STRING with real type ENUM in the metadata.
    Enum { values: Vec<String> },
}

impl ColumnType {
    /// Type byte in TABLE_MAP.
    fn binlog_type(&self) -> u8 {
        match self {
            ColumnType::BigInt { .. } => 8,
            ColumnType::Int { .. } => 3,
            ColumnType::Varchar { .. } => 15,
            ColumnType::Decimal { .. } => 246,
            ColumnType::DateTime { .. } => 18,
            ColumnType::Enum { .. } => 254,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, ColumnType::BigInt { .. } | ColumnType::Int { .. } | ColumnType::Decimal { .. })
    }

    fn is_unsigned(&self) -> bool {
        matches!(self, ColumnType::BigInt { unsigned: true } | ColumnType::Int { unsigned: true })
    }

    /// Maximum byte length of a VARCHAR (what TABLE_MAP metadata carries).
    fn varchar_max_bytes(max_chars: u16) -> u32 {
        u32::from(max_chars) * 4
    }

    fn enum_pack_len(values: &[String]) -> u8 {
        if values.len() < 256 {
            1
        } else {
            2
        }
    }

    /// SQL spelling, for DDL text and error messages.
    pub fn sql(&self) -> String {
        match self {
            ColumnType::BigInt { unsigned } => format!("BIGINT{}", if *unsigned { " UNSIGNED" } else { "" }),
            ColumnType::Int { unsigned } => format!("INT{}", if *unsigned { " UNSIGNED" } else { "" }),
            ColumnType::Varchar { max_chars } => format!("VARCHAR({max_chars})"),
            ColumnType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            ColumnType::DateTime { fsp } => format!("DATETIME({fsp})"),
            ColumnType::Enum { values } => {
                let quoted: Vec<String> = values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
                format!("ENUM({})", quoted.join(","))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// What TABLE_MAP describes: one table's columns and primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Column indexes of the primary key, in key order.
    pub primary_key: Vec<usize>,
}

/// A DATETIME value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
}

/// A column value as the workload produces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    Int(i64),
    UInt(u64),
    Str(String),
    /// Unscaled decimal: `Decimal(12345)` in a DECIMAL(10,2) column is 123.45.
    Decimal(i64),
    DateTime(DateTime),
    /// 1-based ENUM index (0 is MySQL's "invalid" value).
    Enum(u16),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "Int",
            Value::UInt(_) => "UInt",
            Value::Str(_) => "Str",
            Value::Decimal(_) => "Decimal",
            Value::DateTime(_) => "DateTime",
            Value::Enum(_) => "Enum",
        }
    }
}

/// Text form of an unscaled decimal (`-12345`, scale 2 -> `-123.45`), as MySQL prints it.
pub fn decimal_to_string(unscaled: i64, scale: u8) -> String {
    let neg = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let padded = if digits.len() <= scale { format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits) } else { digits };
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    let sign = if neg { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    }
}

/// Bytes MySQL uses for a group of 0..=9 decimal digits.
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// MySQL's `decimal2bin`: integer digits then fraction digits, in groups of 9 digits stored
/// big-endian in 4 bytes (a shorter leading/trailing group uses fewer bytes); negative values
/// have every byte inverted; then the top bit of the first byte is flipped so that the bytes
/// sort like the numbers.
fn encode_decimal(out: &mut Vec<u8>, unscaled: i64, precision: u8, scale: u8) -> Result<(), ()> {
    let intg = usize::from(precision.saturating_sub(scale));
    let scale = usize::from(scale);
    let mag = unscaled.unsigned_abs();
    let pow = 10u64.checked_pow(scale as u32).ok_or(())?;
    let int_part = mag / pow;
    let frac_part = mag % pow;
    if intg < 20 && int_part >= 10u64.checked_pow(intg as u32).unwrap_or(u64::MAX) {
        return Err(());
    }
    // Zero-width parts (DECIMAL(p,p) has no integer digits, DECIMAL(p,0) no fraction) are empty,
    // not "0".
    let digits = |v: u64, width: usize| if width == 0 { String::new() } else { format!("{v:0width$}") };
    let int_digits = digits(int_part, intg);
    let frac_digits = digits(frac_part, scale);
    if int_digits.len() != intg || frac_digits.len() != scale {
        return Err(());
    }
    let start = out.len();
    let put_group = |digits: &str, out: &mut Vec<u8>| -> Result<(), ()> {
        if digits.is_empty() {
            return Ok(());
        }
        let v: u32 = digits.parse().map_err(|_| ())?;
        let n = DIG2BYTES.get(digits.len()).copied().ok_or(())?;
        out.extend_from_slice(&v.to_be_bytes()[4 - n..]);
        Ok(())
    };
    // Integer part: leading partial group, then full groups of 9.
    let lead = intg % 9;
    put_group(&int_digits[..lead], out)?;
    for chunk in int_digits.as_bytes()[lead..].chunks(9) {
        put_group(std::str::from_utf8(chunk).map_err(|_| ())?, out)?;
    }
    // Fraction: full groups of 9, then the trailing partial group.
    for chunk in frac_digits.as_bytes().chunks(9) {
        put_group(std::str::from_utf8(chunk).map_err(|_| ())?, out)?;
    }
    let bytes = &mut out[start..];
    if unscaled < 0 {
        for b in bytes.iter_mut() {
            *b = !*b;
        }
    }
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x80;
    }
    Ok(())
}

/// MySQL's DATETIME2: 40-bit big-endian packed value (sign bit set for non-negative values;
/// year*13+month, day, hour, minute, second), then the fraction in (fsp+1)/2 bytes.
fn encode_datetime2(out: &mut Vec<u8>, dt: &DateTime, fsp: u8) -> Result<(), ()> {
    if dt.month > 12 || dt.day > 31 || dt.hour > 23 || dt.minute > 59 || dt.second > 59 || dt.micros > 999_999 || dt.year > 9999 {
        return Err(());
    }
    let ym = u64::from(dt.year) * 13 + u64::from(dt.month);
    let ymd = (ym << 5) | u64::from(dt.day);
    let hms = (u64::from(dt.hour) << 12) | (u64::from(dt.minute) << 6) | u64::from(dt.second);
    let packed = ((ymd << 17) | hms) + 0x80_0000_0000;
    out.extend_from_slice(&packed.to_be_bytes()[3..]);
    match fsp {
        0 => {}
        1 | 2 => out.push((dt.micros / 10_000) as u8),
        3 | 4 => out.extend_from_slice(&((dt.micros / 100) as u16).to_be_bytes()),
        5 | 6 => out.extend_from_slice(&dt.micros.to_be_bytes()[1..]),
        _ => return Err(()),
    }
    Ok(())
}

fn encode_value(out: &mut Vec<u8>, col: &ColumnDef, v: &Value) -> Result<(), EncodeError> {
    let range = || EncodeError::ValueOutOfRange { column: col.name.clone(), ty: col.ty.sql(), value: format!("{v:?}") };
    let mismatch = || EncodeError::TypeMismatch { column: col.name.clone(), ty: col.ty.sql(), value: v.kind().to_string() };
    match (&col.ty, v) {
        (ColumnType::BigInt { unsigned: false }, Value::Int(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (ColumnType::BigInt { unsigned: true }, Value::UInt(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (ColumnType::Int { unsigned: false }, Value::Int(x)) => {
            let x = i32::try_from(*x).map_err(|_| range())?;
            out.extend_from_slice(&x.to_le_bytes())
        }
        (ColumnType::Int { unsigned: true }, Value::UInt(x)) => {
            let x = u32::try_from(*x).map_err(|_| range())?;
            out.extend_from_slice(&x.to_le_bytes())
        }
        (ColumnType::Varchar { max_chars }, Value::Str(s)) => {
            if s.chars().count() > usize::from(*max_chars) {
                return Err(range());
            }
            let bytes = s.as_bytes();
            if ColumnType::varchar_max_bytes(*max_chars) < 256 {
                out.push(bytes.len() as u8);
            } else {
                out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            }
            out.extend_from_slice(bytes);
        }
        (ColumnType::Decimal { precision, scale }, Value::Decimal(x)) => {
            encode_decimal(out, *x, *precision, *scale).map_err(|_| range())?
        }
        (ColumnType::DateTime { fsp }, Value::DateTime(dt)) => encode_datetime2(out, dt, *fsp).map_err(|_| range())?,
        (ColumnType::Enum { values }, Value::Enum(i)) => {
            if *i == 0 || usize::from(*i) > values.len() {
                return Err(range());
            }
            if ColumnType::enum_pack_len(values) == 1 {
                out.push(*i as u8);
            } else {
                out.extend_from_slice(&i.to_le_bytes());
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// TABLE_MAP (19)

mod optional_meta {
    pub const SIGNEDNESS: u8 = 1;
    pub const DEFAULT_CHARSET: u8 = 2;
    pub const COLUMN_NAME: u8 = 4;
    pub const ENUM_STR_VALUE: u8 = 6;
    pub const SIMPLE_PRIMARY_KEY: u8 = 8;
    pub const ENUM_AND_SET_DEFAULT_CHARSET: u8 = 10;
    pub const COLUMN_VISIBILITY: u8 = 12;
}

/// `TM_BIT_LEN_EXACT_F`, the flag 8.0 servers put on every TABLE_MAP.
const TABLE_MAP_FLAGS: u16 = 1;

fn put_optional_field(out: &mut Vec<u8>, code: u8, value: &[u8]) {
    out.push(code);
    put_lenenc(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// TABLE_MAP body with `binlog_row_metadata=FULL` optional metadata, in the order 8.0 writes it:
/// SIGNEDNESS, DEFAULT_CHARSET, COLUMN_NAME, ENUM_AND_SET_DEFAULT_CHARSET, ENUM_STR_VALUE,
/// SIMPLE_PRIMARY_KEY, COLUMN_VISIBILITY. Character and ENUM columns use
/// [`COLLATION_UTF8MB4_GENERAL_CI`].
pub fn table_map_body(table_id: u64, t: &TableDef) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    b.extend_from_slice(&table_id.to_le_bytes()[..6]);
    b.extend_from_slice(&TABLE_MAP_FLAGS.to_le_bytes());
    let schema = &t.schema.as_bytes()[..t.schema.len().min(64)];
    let name = &t.name.as_bytes()[..t.name.len().min(64)];
    b.push(schema.len() as u8);
    b.extend_from_slice(schema);
    b.push(0);
    b.push(name.len() as u8);
    b.extend_from_slice(name);
    b.push(0);
    put_lenenc(&mut b, t.columns.len() as u64);
    for c in &t.columns {
        b.push(c.ty.binlog_type());
    }
    let mut meta = Vec::new();
    for c in &t.columns {
        match &c.ty {
            ColumnType::BigInt { .. } | ColumnType::Int { .. } => {}
            ColumnType::Varchar { max_chars } => {
                meta.extend_from_slice(&(ColumnType::varchar_max_bytes(*max_chars) as u16).to_le_bytes())
            }
            ColumnType::Decimal { precision, scale } => meta.extend_from_slice(&[*precision, *scale]),
            ColumnType::DateTime { fsp } => meta.push(*fsp),
            ColumnType::Enum { values } => meta.extend_from_slice(&[247, ColumnType::enum_pack_len(values)]),
        }
    }
    put_lenenc(&mut b, meta.len() as u64);
    b.extend_from_slice(&meta);
    put_bitmap_lsb(&mut b, t.columns.iter().map(|c| c.nullable));

    // Optional metadata.
    let signedness: Vec<bool> = t.columns.iter().filter(|c| c.ty.is_numeric()).map(|c| c.ty.is_unsigned()).collect();
    if !signedness.is_empty() {
        put_optional_field(&mut b, optional_meta::SIGNEDNESS, &bitmap_msb(&signedness));
    }
    if t.columns.iter().any(|c| matches!(c.ty, ColumnType::Varchar { .. })) {
        let mut v = Vec::new();
        put_lenenc(&mut v, u64::from(COLLATION_UTF8MB4_GENERAL_CI));
        put_optional_field(&mut b, optional_meta::DEFAULT_CHARSET, &v);
    }
    let mut names = Vec::new();
    for c in &t.columns {
        put_lenenc_str(&mut names, c.name.as_bytes());
    }
    put_optional_field(&mut b, optional_meta::COLUMN_NAME, &names);
    let enums: Vec<&Vec<String>> = t
        .columns
        .iter()
        .filter_map(|c| match &c.ty {
            ColumnType::Enum { values } => Some(values),
            _ => None,
        })
        .collect();
    if !enums.is_empty() {
        let mut v = Vec::new();
        put_lenenc(&mut v, u64::from(COLLATION_UTF8MB4_GENERAL_CI));
        put_optional_field(&mut b, optional_meta::ENUM_AND_SET_DEFAULT_CHARSET, &v);
        let mut v = Vec::new();
        for values in enums {
            put_lenenc(&mut v, values.len() as u64);
            for s in values {
                put_lenenc_str(&mut v, s.as_bytes());
            }
        }
        put_optional_field(&mut b, optional_meta::ENUM_STR_VALUE, &v);
    }
    if !t.primary_key.is_empty() {
        let mut v = Vec::new();
        for i in &t.primary_key {
            put_lenenc(&mut v, *i as u64);
        }
        put_optional_field(&mut b, optional_meta::SIMPLE_PRIMARY_KEY, &v);
    }
    let visible = vec![true; t.columns.len()];
    put_optional_field(&mut b, optional_meta::COLUMN_VISIBILITY, &bitmap_msb(&visible));
    b
}

// ---------------------------------------------------------------------------------------------
// ROWS v2 (30, 31, 32)

/// Which ROWS event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowsKind {
    Write,
    Update,
    Delete,
}

impl RowsKind {
    pub fn type_code(self) -> u8 {
        match self {
            RowsKind::Write => event_type::WRITE_ROWS_V2,
            RowsKind::Update => event_type::UPDATE_ROWS_V2,
            RowsKind::Delete => event_type::DELETE_ROWS_V2,
        }
    }
}

/// One row of a ROWS event: `(before, after)` images.
pub type RowRef<'a> = (Option<&'a [Value]>, Option<&'a [Value]>);

/// `STMT_END_F`: the last ROWS event of a statement.
pub const ROWS_FLAG_STMT_END: u16 = 1;

fn encode_row_image(out: &mut Vec<u8>, t: &TableDef, row: &[Value]) -> Result<(), EncodeError> {
    if row.len() != t.columns.len() {
        return Err(EncodeError::ColumnCount { table: t.name.clone(), got: row.len(), want: t.columns.len() });
    }
    put_bitmap_lsb(out, row.iter().map(|v| matches!(v, Value::Null)));
    for (col, v) in t.columns.iter().zip(row) {
        match v {
            Value::Null if col.nullable => {}
            Value::Null => return Err(EncodeError::NullInNotNull { column: col.name.clone() }),
            v => encode_value(out, col, v)?,
        }
    }
    Ok(())
}

/// ROWS v2 body with full images of every column. For `Write` pass `(None, Some(after))`, for
/// `Delete` `(Some(before), None)`, for `Update` both. The v2 post-header carries
/// `extra_data_len = 2` (the length field counts itself; no extra row info).
pub fn rows_body(
    kind: RowsKind,
    table_id: u64,
    t: &TableDef,
    flags: u16,
    rows: &[RowRef<'_>],
) -> Result<Vec<u8>, EncodeError> {
    let mut b = rows_header(kind, table_id, t, flags);
    for row in rows {
        encode_row(&mut b, kind, t, row)?;
    }
    Ok(b)
}

/// Post-header and column bitmaps of a ROWS v2 event.
fn rows_header(kind: RowsKind, table_id: u64, t: &TableDef, flags: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    b.extend_from_slice(&table_id.to_le_bytes()[..6]);
    b.extend_from_slice(&flags.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    let n = t.columns.len();
    put_lenenc(&mut b, n as u64);
    let images = if kind == RowsKind::Update { 2 } else { 1 };
    for _ in 0..images {
        put_bitmap_lsb(&mut b, (0..n).map(|_| true));
    }
    b
}

/// The image(s) of one row change as the event kind wants them.
fn encode_row(out: &mut Vec<u8>, kind: RowsKind, t: &TableDef, (before, after): &RowRef<'_>) -> Result<(), EncodeError> {
    let missing = |what: &str| EncodeError::TypeMismatch {
        column: String::new(),
        ty: format!("{kind:?} rows event"),
        value: format!("missing {what} image"),
    };
    match kind {
        RowsKind::Write => encode_row_image(out, t, after.ok_or_else(|| missing("after"))?),
        RowsKind::Delete => encode_row_image(out, t, before.ok_or_else(|| missing("before"))?),
        RowsKind::Update => {
            encode_row_image(out, t, before.ok_or_else(|| missing("before"))?)?;
            encode_row_image(out, t, after.ok_or_else(|| missing("after"))?)
        }
    }
}

/// `binlog_row_event_max_size` default of MySQL 8.0.
pub const ROWS_EVENT_MAX_SIZE_DEFAULT: usize = 8192;

/// The ROWS v2 events of one statement, split as the server splits them: rows are packed into
/// an event until the next row would take its row data past `max_rows_bytes` (an event always
/// holds at least one row); only the last event carries `STMT_END_F`.
pub fn statement_rows_bodies(
    kind: RowsKind,
    table_id: u64,
    t: &TableDef,
    rows: &[RowRef<'_>],
    max_rows_bytes: usize,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut row = Vec::new();
    for r in rows {
        row.clear();
        encode_row(&mut row, kind, t, r)?;
        if !current.is_empty() && current.len() + row.len() > max_rows_bytes {
            chunks.push(std::mem::take(&mut current));
        }
        current.extend_from_slice(&row);
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    let last = chunks.len() - 1;
    Ok(chunks
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            let flags = if i == last { ROWS_FLAG_STMT_END } else { 0 };
            let mut b = rows_header(kind, table_id, t, flags);
            b.extend_from_slice(&data);
            b
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// TRANSACTION_PAYLOAD (40)

mod payload_field {
    pub const END_MARK: u64 = 0;
    pub const PAYLOAD_SIZE: u64 = 1;
    pub const COMPRESSION_TYPE: u64 = 2;
    pub const UNCOMPRESSED_SIZE: u64 = 3;
}

/// zstd level MySQL uses by default (`binlog_transaction_compression_level_zstd = 3`).
pub const ZSTD_LEVEL: i32 = 3;

fn put_payload_field(out: &mut Vec<u8>, code: u64, value: u64) {
    put_lenenc(out, code);
    put_lenenc(out, lenenc_len(value) as u64);
    put_lenenc(out, value);
}

/// TRANSACTION_PAYLOAD body: header fields as (type, length, value) length-encoded triples in the
/// order 8.0 writes them (compression type 0 = zstd, uncompressed size, payload size, end mark),
/// then the zstd frame of `inner` (events framed with [`Placement::Payload`]).
pub fn transaction_payload_body(inner: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let compressed = zstd::bulk::compress(inner, ZSTD_LEVEL).map_err(EncodeError::Compress)?;
    let mut b = Vec::with_capacity(compressed.len() + 16);
    put_payload_field(&mut b, payload_field::COMPRESSION_TYPE, 0);
    put_payload_field(&mut b, payload_field::UNCOMPRESSED_SIZE, inner.len() as u64);
    put_payload_field(&mut b, payload_field::PAYLOAD_SIZE, compressed.len() as u64);
    put_lenenc(&mut b, payload_field::END_MARK);
    b.extend_from_slice(&compressed);
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_boundaries() {
        for (v, want) in [(0u64, vec![0u8]), (250, vec![250]), (251, vec![0xfc, 251, 0]), (65535, vec![0xfc, 0xff, 0xff]),
            (65536, vec![0xfd, 0, 0, 1]), (1 << 24, vec![0xfe, 0, 0, 0, 1, 0, 0, 0, 0])]
        {
            let mut out = Vec::new();
            put_lenenc(&mut out, v);
            assert_eq!(out, want, "value {v}");
            assert_eq!(lenenc_len(v), want.len());
        }
    }

    #[test]
    fn decimal_matches_mysql_examples() {
        // DECIMAL(10,2): 4 bytes for the 8 integer digits, 1 byte for the 2 fraction digits.
        let mut out = Vec::new();
        encode_decimal(&mut out, 12345, 10, 2).unwrap();
        assert_eq!(out, vec![0x80, 0, 0, 123, 45]);
        let mut out = Vec::new();
        encode_decimal(&mut out, -12345, 10, 2).unwrap();
        assert_eq!(out, vec![0x7f, 0xff, 0xff, !123u8, !45u8]);
        // MySQL's documented example: 1234567890.1234 as DECIMAL(14,4) -> 81 0D FB 38 D2 04 D2.
        let mut out = Vec::new();
        encode_decimal(&mut out, 12_345_678_901_234, 14, 4).unwrap();
        assert_eq!(out, vec![0x81, 0x0d, 0xfb, 0x38, 0xd2, 0x04, 0xd2]);
        assert!(encode_decimal(&mut Vec::new(), 10_000_000_000, 10, 2).is_err());
        assert_eq!(decimal_to_string(-5, 2), "-0.05");
        assert_eq!(decimal_to_string(12345, 2), "123.45");
        assert_eq!(decimal_to_string(7, 0), "7");
    }

    #[test]
    fn datetime2_layout() {
        // 2026-01-02 03:04:05.000006, packed as MySQL's TIME_to_longlong_datetime_packed.
        let dt = DateTime { year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, micros: 6 };
        let mut out = Vec::new();
        encode_datetime2(&mut out, &dt, 6).unwrap();
        let ymd = ((2026u64 * 13 + 1) << 5) | 2;
        let hms = (3u64 << 12) | (4 << 6) | 5;
        let packed = ((ymd << 17) | hms) | (1 << 39);
        assert_eq!(&out[..5], &packed.to_be_bytes()[3..]);
        assert_eq!(&out[5..], &[0, 0, 6]);
    }

    #[test]
    fn frame_sets_size_pos_and_crc() {
        let mut out = Vec::new();
        let h = EventHeader { timestamp: 7, type_code: event_type::XID, server_id: 3, flags: 0 };
        let size = frame_event(&mut out, h, &xid_body(9), Placement::File { start: 100 }).unwrap();
        assert_eq!(size, 31);
        assert_eq!(out.len(), 31);
        assert_eq!(u32::from_le_bytes(out[9..13].try_into().unwrap()), 31);
        assert_eq!(u32::from_le_bytes(out[13..17].try_into().unwrap()), 131);
        assert_eq!(u32::from_le_bytes(out[27..31].try_into().unwrap()), crc32fast::hash(&out[..27]));
        let mut inner = Vec::new();
        frame_event(&mut inner, h, &xid_body(9), Placement::Payload).unwrap();
        assert_eq!(inner.len(), 27);
        assert_eq!(&inner[13..17], &[0, 0, 0, 0]);
    }

    #[test]
    fn gtid_body_uses_high_bit_convention() {
        let mut g = GtidFields {
            flags: 0,
            sid: [7; 16],
            gno: 5,
            last_committed: 3,
            sequence_number: 4,
            immediate_commit_timestamp: 1_000,
            original_commit_timestamp: 1_000,
            transaction_length: 300,
            immediate_server_version: SERVER_VERSION_ID,
            original_server_version: SERVER_VERSION_ID,
        };
        let same = gtid_body(&g);
        assert_eq!(same.len(), 42 + 7 + 3 + 4);
        g.original_commit_timestamp = 400;
        g.original_server_version = 80035;
        let diff = gtid_body(&g);
        assert_eq!(diff.len(), 42 + 14 + 3 + 8);
        assert_eq!(diff[42 + 6] & 0x80, 0x80);
        assert_eq!(&diff[49..56], &400u64.to_le_bytes()[..7]);
    }

    /// The post-header table must be what real 8.0 servers write: read it from a fixture.
    #[test]
    fn post_header_table_matches_real_mysql80_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/binlog/mysql-cdc-rs/8.0/02_query_bigger/binlog.000733");
        let Ok(bytes) = std::fs::read(&path) else {
            panic!("fixture missing: {}", path.display());
        };
        let size = u32::from_le_bytes(bytes[13..17].try_into().unwrap()) as usize;
        let body = &bytes[4 + EVENT_HEADER_LEN..4 + size - CHECKSUM_LEN];
        // binlog version (2) + server version (50) + create timestamp (4) + header length (1).
        let table = &body[57..body.len() - 1];
        assert_eq!(table, &MYSQL80_POST_HEADER_LENGTHS[..]);
        let ours = format_description_body(0);
        assert_eq!(ours.len(), body.len());
        assert_eq!(&ours[57..], &body[57..]);
    }
}
