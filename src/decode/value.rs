//! Typed column values decoded from row images.
//!
//! Owns [`Value`] and [`Row`], the column definition they are decoded by ([`ColumnDef`], part
//! of a TABLE_MAP; [`crate::decode::event`] re-exports it), and the per-type decoders that turn
//! the bytes of one column in a ROWS event into a [`Value`], given the column's type and
//! TABLE_MAP metadata. It must not know
//! about events, transactions or SQL: its input is a byte slice and a column definition (whose
//! `meta` the event decoder has already normalised, see [`ColumnDef`]). Binary JSON lives in
//! [`crate::decode::json`]; the scalar decoders this file shares with it (DECIMAL, packed
//! temporal integers, [`ValueError`], the type codes) in `decode/scalar.rs`, re-exported here.
//! JSON never imports this file back.
//!
//! Hot path: [`decode_value`] runs once per column per row. Integers, floats and temporal types
//! decode without allocating; only strings, blobs, DECIMAL text and JSON allocate their result.
//! Every read is bounds-checked and a malformed value ends in a [`ValueError`], never a panic.

use std::fmt;

use crate::decode::json;
use crate::decode::scalar::{short, unpack_datetime, unpack_time, DateTimeFields, TimeFields};

pub use crate::decode::scalar::{column_type, decimal_bin_size, decode_newdecimal, type_name, ValueError};

/// Column metadata from TABLE_MAP, including FULL optional metadata where the source sent it.
///
/// # `column_type`, `real_type` and `meta` (contract with the value decoder, [`decode_value`])
///
/// `column_type` is the byte from the TABLE_MAP column-type array, unchanged. `real_type` is the
/// type to decode the row bytes as: equal to `column_type` for every type except
/// MYSQL_TYPE_STRING (254), where it is recovered from the metadata (STRING 254, ENUM 247 or
/// SET 248). `meta` is already normalised by the event decoder, so the value decoder never looks
/// at raw metadata bytes. Per `real_type`:
///
/// | real_type (code)                         | `meta`                                          |
/// |------------------------------------------|-------------------------------------------------|
/// | FLOAT (4), DOUBLE (5)                    | pack length in bytes: 4 or 8                    |
/// | VARCHAR (15), VAR_STRING (253)           | max length in BYTES (<256: 1-byte length prefix, else 2) |
/// | STRING (254) (CHAR/BINARY)               | max length in BYTES, with MySQL's high-bits trick already undone (so CHAR(255) utf8mb4 gives 1020; <256: 1-byte length prefix, else 2) |
/// | ENUM (247), SET (248) (sent as STRING)   | pack length in bytes (ENUM 1 or 2, SET 1..=8)   |
/// | NEWDECIMAL (246)                         | `precision << 8 \| scale`                        |
/// | TIMESTAMP2 (17), DATETIME2 (18), TIME2 (19) | fractional-seconds precision 0..=6           |
/// | BLOB (252) and TINY/MEDIUM/LONG_BLOB (249-251), GEOMETRY (255), JSON (245), VECTOR (242) | number of length-prefix bytes: 1..=4 |
/// | BIT (16)                                 | width in bits (`bytes * 8 + bits`), 1..=64      |
/// | every other type (ints, YEAR, DATE, TIME, DATETIME, TIMESTAMP, NEWDATE, NULL, old DECIMAL) | 0 (no metadata) |
///
/// Integer types (TINY 1, SHORT 2, INT24 9, LONG 3, LONGLONG 8) decode as unsigned only when
/// `unsigned == Some(true)`. Charset-dependent behaviour uses `collation` (63 = binary).
/// Note: MariaDB compressed columns (types 140 VARCHAR_COMPRESSED, 141 BLOB_COMPRESSED) keep
/// their own codes in both fields; `meta` is as for VARCHAR / BLOB respectively.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnDef {
    /// Wire type code (MYSQL_TYPE_*), as in the TABLE_MAP column type array.
    pub column_type: u8,
    /// The type to decode row bytes as: `column_type`, except for MYSQL_TYPE_STRING where it is
    /// the real type (ENUM 247 / SET 248 / STRING 254) recovered from the metadata.
    pub real_type: u8,
    /// Normalised per-type metadata: see the table on [`ColumnDef`].
    pub meta: u16,
    pub nullable: bool,
    pub name: Option<String>,
    /// From SIGNEDNESS metadata; `None` when the source did not send it.
    pub unsigned: Option<bool>,
    /// Collation id from (ENUM_AND_SET_)DEFAULT_CHARSET / COLUMN_CHARSET metadata.
    pub collation: Option<u16>,
    pub enum_values: Vec<Vec<u8>>,
    pub set_values: Vec<Vec<u8>>,
    pub geometry_type: Option<u32>,
    /// VISIBILITY metadata (MySQL 8.0.23+): false for invisible columns.
    pub visible: bool,
    /// The target computes this column itself (VIRTUAL or STORED generated, or a system-versioned
    /// table's ROW START / ROW END): the row images carry its value, which key extraction uses,
    /// but SQL must never write it (ERROR 1906) nor locate rows by it. Not in the binlog: set
    /// from the target's schema when the TABLE_MAP is mapped onto it ([`crate::schedule::target`]).
    pub generated: bool,
}

/// A decoded column value. Strings and blobs stay bytes; their charset is on the column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Signed integers (TINY..LONGLONG, and INT24), widened.
    Int(i64),
    /// Unsigned integers (when the column is known UNSIGNED).
    UInt(u64),
    Float(f32),
    Double(f64),
    /// DECIMAL as exact text, e.g. "-12.3400" (scale digits always present).
    Decimal(String),
    Year(u16),
    Date { year: u16, month: u8, day: u8 },
    /// TIME, possibly negative, hours up to 838.
    Time { negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32 },
    DateTime { year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8, micros: u32 },
    /// TIMESTAMP as seconds since the epoch (UTC) plus microseconds.
    Timestamp { secs: u32, micros: u32 },
    /// CHAR/VARCHAR/TEXT/BINARY/BLOB bytes.
    Bytes(Vec<u8>),
    /// BIT(n): value and width in bits.
    Bit { value: u64, bits: u16 },
    /// ENUM index (1-based; 0 is the empty error value).
    Enum(u16),
    /// SET bitmap.
    Set(u64),
    /// JSON as canonical JSON text (MySQL binary JSON decoded; MariaDB stores JSON as text).
    Json(String),
    /// A JSON column changed by diffs against a value the event does not carry: MySQL's
    /// PARTIAL_UPDATE_ROWS with `binlog_row_image=MINIMAL` (the before image lacks the column).
    /// Only ever in an UPDATE's after image; the applier replays the diffs on the target's value.
    JsonDiff(Vec<json::JsonDiff>),
    /// GEOMETRY as stored: 4-byte SRID then WKB.
    Geometry(Vec<u8>),
    /// VECTOR as float32 values.
    Vector(Vec<f32>),
}

/// One row image. `cols[i]` is `None` when column `i` is absent from the image (MINIMAL/NOBLOB
/// row images, or partial JSON columns sent as a diff).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub cols: Vec<Option<Value>>,
}

use column_type as ct;

// ---------------------------------------------------------------------------------------------
// Bounds-checked readers. Each returns a fixed array so callers convert without allocating.

#[inline]
fn fixed<const N: usize>(code: u8, buf: &[u8]) -> Result<[u8; N], ValueError> {
    match buf.get(..N) {
        Some(s) => {
            let mut a = [0u8; N];
            a.copy_from_slice(s);
            Ok(a)
        }
        None => Err(short(code, N, buf.len())),
    }
}

/// Big-endian unsigned integer of `n` (0..=8) bytes.
#[inline]
fn be_uint(code: u8, buf: &[u8], n: usize) -> Result<u64, ValueError> {
    let s = buf.get(..n).ok_or_else(|| short(code, n, buf.len()))?;
    Ok(s.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

/// Little-endian unsigned integer of `n` (0..=8) bytes.
#[inline]
fn le_uint(code: u8, buf: &[u8], n: usize) -> Result<u64, ValueError> {
    let s = buf.get(..n).ok_or_else(|| short(code, n, buf.len()))?;
    Ok(s.iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

/// A length-prefixed byte string: `prefix_len` little-endian length bytes, then the data.
/// Returns the data and the total bytes consumed.
#[inline]
fn length_prefixed(code: u8, buf: &[u8], prefix_len: usize) -> Result<(&[u8], usize), ValueError> {
    if !(1..=4).contains(&prefix_len) {
        return Err(ValueError::new(format!(
            "{} column has an invalid length-prefix size {prefix_len} (expected 1..=4)",
            type_name(code)
        )));
    }
    let len = le_uint(code, buf, prefix_len)? as usize;
    let end = prefix_len
        .checked_add(len)
        .ok_or_else(|| ValueError::new(format!("{} length {len} overflows", type_name(code))))?;
    let data = buf.get(prefix_len..end).ok_or_else(|| {
        ValueError::new(format!(
            "{} value of {len} bytes runs past the row image ({} bytes left after the length)",
            type_name(code),
            buf.len().saturating_sub(prefix_len)
        ))
    })?;
    Ok((data, end))
}

/// The `binary` collation id (BINARY/VARBINARY/BLOB columns).
pub const BINARY_COLLATION: u16 = 63;

/// 1-byte length prefix when the column's max length fits a byte, else 2 (MySQL's rule for
/// VARCHAR and CHAR: `max_length > 255 ? 2 : 1`).
#[inline]
fn string_prefix_len(max_len: u16) -> usize {
    if max_len > 255 {
        2
    } else {
        1
    }
}

// ---------------------------------------------------------------------------------------------

/// Decode one non-NULL column value at the start of `buf`; returns the value and bytes consumed.
pub fn decode_value(col: &ColumnDef, buf: &[u8]) -> Result<(Value, usize), ValueError> {
    // The event decoder resolves the real type of STRING columns; fall back to the wire type if
    // a caller built a ColumnDef by hand without it.
    let code = if col.real_type != 0 || col.column_type == ct::DECIMAL { col.real_type } else { col.column_type };
    let unsigned = col.unsigned == Some(true);
    let meta = col.meta;
    match code {
        ct::TINY => {
            let [b] = fixed::<1>(code, buf)?;
            Ok((if unsigned { Value::UInt(b as u64) } else { Value::Int(b as i8 as i64) }, 1))
        }
        ct::SHORT => {
            let a = fixed::<2>(code, buf)?;
            Ok((
                if unsigned {
                    Value::UInt(u16::from_le_bytes(a) as u64)
                } else {
                    Value::Int(i16::from_le_bytes(a) as i64)
                },
                2,
            ))
        }
        ct::INT24 => {
            let a = fixed::<3>(code, buf)?;
            let raw = u32::from_le_bytes([a[0], a[1], a[2], 0]);
            // Sign-extend from bit 23.
            let signed = ((raw << 8) as i32 >> 8) as i64;
            Ok((if unsigned { Value::UInt(raw as u64) } else { Value::Int(signed) }, 3))
        }
        ct::LONG => {
            let a = fixed::<4>(code, buf)?;
            Ok((
                if unsigned {
                    Value::UInt(u32::from_le_bytes(a) as u64)
                } else {
                    Value::Int(i32::from_le_bytes(a) as i64)
                },
                4,
            ))
        }
        ct::LONGLONG => {
            let a = fixed::<8>(code, buf)?;
            Ok((if unsigned { Value::UInt(u64::from_le_bytes(a)) } else { Value::Int(i64::from_le_bytes(a)) }, 8))
        }
        ct::YEAR => {
            let [b] = fixed::<1>(code, buf)?;
            Ok((Value::Year(if b == 0 { 0 } else { 1900 + b as u16 }), 1))
        }
        ct::FLOAT => Ok((Value::Float(f32::from_le_bytes(fixed::<4>(code, buf)?)), 4)),
        ct::DOUBLE => Ok((Value::Double(f64::from_le_bytes(fixed::<8>(code, buf)?)), 8)),
        ct::NEWDECIMAL => {
            let (text, used) = decode_newdecimal((meta >> 8) as u8, (meta & 0xff) as u8, buf)?;
            Ok((Value::Decimal(text), used))
        }
        ct::DATE | ct::NEWDATE => {
            let a = fixed::<3>(code, buf)?;
            let v = u32::from_le_bytes([a[0], a[1], a[2], 0]);
            Ok((Value::Date { year: (v >> 9) as u16, month: ((v >> 5) & 15) as u8, day: (v & 31) as u8 }, 3))
        }
        ct::TIME => decode_old_time(buf),
        ct::TIME2 => decode_time2(meta, buf),
        ct::DATETIME => {
            let v = u64::from_le_bytes(fixed::<8>(code, buf)?);
            let (date, time) = (v / 1_000_000, v % 1_000_000);
            Ok((
                Value::DateTime {
                    year: (date / 10_000) as u16,
                    month: (date / 100 % 100) as u8,
                    day: (date % 100) as u8,
                    hour: (time / 10_000) as u8,
                    minute: (time / 100 % 100) as u8,
                    second: (time % 100) as u8,
                    micros: 0,
                },
                8,
            ))
        }
        ct::DATETIME2 => decode_datetime2(meta, buf),
        ct::TIMESTAMP => Ok((Value::Timestamp { secs: u32::from_le_bytes(fixed::<4>(code, buf)?), micros: 0 }, 4)),
        ct::TIMESTAMP2 => {
            let fsp = check_fsp(code, meta)?;
            let secs = u32::from_be_bytes(fixed::<4>(code, buf)?);
            let rest = buf.get(4..).unwrap_or(&[]);
            let (micros, n) = read_fraction(code, fsp, rest)?;
            Ok((Value::Timestamp { secs, micros }, 4 + n))
        }
        ct::VARCHAR | ct::VAR_STRING => {
            let (data, used) = length_prefixed(code, buf, string_prefix_len(meta))?;
            Ok((Value::Bytes(data.to_vec()), used))
        }
        ct::STRING => {
            let (data, used) = length_prefixed(code, buf, string_prefix_len(meta))?;
            // The server strips trailing pad bytes from CHAR/BINARY images. For BINARY (binary
            // collation) the pad byte 0x00 is part of the value (SELECT returns it, and a WHERE
            // on the unpadded bytes would not match), so restore it; CHAR's trailing spaces stay
            // stripped, as SELECT shows them.
            if col.collation == Some(BINARY_COLLATION) && data.len() < meta as usize {
                let mut v = Vec::with_capacity(meta as usize);
                v.extend_from_slice(data);
                v.resize(meta as usize, 0);
                return Ok((Value::Bytes(v), used));
            }
            Ok((Value::Bytes(data.to_vec()), used))
        }
        ct::ENUM => match meta {
            1 => Ok((Value::Enum(fixed::<1>(code, buf)?[0] as u16), 1)),
            2 => Ok((Value::Enum(u16::from_le_bytes(fixed::<2>(code, buf)?)), 2)),
            n => Err(ValueError::new(format!("ENUM pack length {n} is not 1 or 2"))),
        },
        ct::SET => {
            if !(1..=8).contains(&meta) {
                return Err(ValueError::new(format!("SET pack length {meta} is not 1..=8")));
            }
            Ok((Value::Set(le_uint(code, buf, meta as usize)?), meta as usize))
        }
        ct::BIT => {
            if !(1..=64).contains(&meta) {
                return Err(ValueError::new(format!("BIT width {meta} is not 1..=64")));
            }
            let n = (meta as usize).div_ceil(8);
            Ok((Value::Bit { value: be_uint(code, buf, n)?, bits: meta }, n))
        }
        ct::TINY_BLOB | ct::MEDIUM_BLOB | ct::LONG_BLOB | ct::BLOB => {
            let (data, used) = length_prefixed(code, buf, meta as usize)?;
            Ok((Value::Bytes(data.to_vec()), used))
        }
        ct::GEOMETRY => {
            let (data, used) = length_prefixed(code, buf, meta as usize)?;
            Ok((Value::Geometry(data.to_vec()), used))
        }
        ct::JSON => {
            let (data, used) = length_prefixed(code, buf, meta as usize)?;
            // MySQL reads a zero-length JSON value (e.g. a column added without default) as null.
            if data.is_empty() {
                return Ok((Value::Json("null".to_owned()), used));
            }
            Ok((Value::Json(json::decode_jsonb(data)?), used))
        }
        ct::VECTOR => {
            let (data, used) = length_prefixed(code, buf, meta as usize)?;
            if data.len() % 4 != 0 {
                return Err(ValueError::new(format!("VECTOR value of {} bytes is not a whole number of float32", data.len())));
            }
            let v = data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            Ok((Value::Vector(v), used))
        }
        ct::MARIA_VARCHAR_COMPRESSED => {
            let (data, used) = length_prefixed(code, buf, string_prefix_len(meta))?;
            Ok((Value::Bytes(maria_decompress(data)?), used))
        }
        ct::MARIA_BLOB_COMPRESSED => {
            let (data, used) = length_prefixed(code, buf, meta as usize)?;
            Ok((Value::Bytes(maria_decompress(data)?), used))
        }
        ct::NULL => Ok((Value::Null, 0)),
        ct::DECIMAL => Err(ValueError::new(
            "old DECIMAL (type 0, pre-5.0.3 tables) has no row-image format; the server never writes it in ROWS events",
        )),
        other => Err(ValueError::new(format!(
            "column type {other} ({}) cannot be decoded from a row image",
            type_name(other)
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Temporal types

#[inline]
fn check_fsp(code: u8, meta: u16) -> Result<u8, ValueError> {
    if meta > 6 {
        return Err(ValueError::new(format!("{} fractional precision {meta} is not 0..=6", type_name(code))));
    }
    Ok(meta as u8)
}

/// Fractional seconds of TIMESTAMP2 and DATETIME2: `(fsp + 1) / 2` big-endian bytes holding
/// hundredths, ten-thousandths or microseconds. Returns microseconds and bytes used.
#[inline]
fn read_fraction(code: u8, fsp: u8, buf: &[u8]) -> Result<(u32, usize), ValueError> {
    let (micros, n) = match fsp {
        0 => (0, 0),
        1 | 2 => (be_uint(code, buf, 1)? as u32 * 10_000, 1),
        3 | 4 => (be_uint(code, buf, 2)? as u32 * 100, 2),
        _ => (be_uint(code, buf, 3)? as u32, 3),
    };
    if micros >= 1_000_000 {
        return Err(ValueError::new(format!("{} fraction {micros} is not below one second", type_name(code))));
    }
    Ok((micros, n))
}

/// Old 3-byte TIME: a signed little-endian integer `±HHMMSS`.
fn decode_old_time(buf: &[u8]) -> Result<(Value, usize), ValueError> {
    let a = fixed::<3>(ct::TIME, buf)?;
    let raw = u32::from_le_bytes([a[0], a[1], a[2], 0]);
    let v = (raw << 8) as i32 >> 8;
    let negative = v < 0;
    let m = v.unsigned_abs();
    Ok((
        Value::Time { negative, hours: m / 10_000, minutes: (m / 100 % 100) as u8, seconds: (m % 100) as u8, micros: 0 },
        3,
    ))
}

/// Bytes of a TIME2 / DATETIME2 / TIMESTAMP2 fraction for each fsp.
const FRAC_BYTES: [usize; 7] = [0, 1, 1, 2, 2, 3, 3];
const TIMEF_INT_OFS: i64 = 0x80_0000;
const TIMEF_OFS: i64 = 0x8000_0000_0000;

/// TIME2 -> MySQL's "packed" time integer (`my_time_packed_from_binary`): the integer part
/// `hh<<12 | mm<<6 | ss` shifted left 24 bits plus microseconds, the whole negated for negative
/// times. For fsp 1..=4 a negative value stores its fraction as a separate complement, so the
/// integer part must be corrected by one when the fraction is non-zero.
pub fn time2_packed(fsp: u8, buf: &[u8]) -> Result<(i64, usize), ValueError> {
    let int_part = || -> Result<i64, ValueError> { Ok(be_uint(ct::TIME2, buf, 3)? as i64 - TIMEF_INT_OFS) };
    let rest = buf.get(3..).unwrap_or(&[]);
    match fsp {
        0 => Ok((int_part()? << 24, 3)),
        1 | 2 => {
            let mut intpart = int_part()?;
            let mut frac = be_uint(ct::TIME2, rest, 1)? as i64;
            if intpart < 0 && frac != 0 {
                intpart += 1;
                frac -= 0x100;
            }
            Ok(((intpart << 24) + frac * 10_000, 4))
        }
        3 | 4 => {
            let mut intpart = int_part()?;
            let mut frac = be_uint(ct::TIME2, rest, 2)? as i64;
            if intpart < 0 && frac != 0 {
                intpart += 1;
                frac -= 0x10000;
            }
            Ok(((intpart << 24) + frac * 100, 5))
        }
        _ => Ok((be_uint(ct::TIME2, buf, 6)? as i64 - TIMEF_OFS, 6)),
    }
}

/// Packed time integer -> TIME value (`TIME_from_longlong_time_packed`, see [`unpack_time`]).
pub fn time_from_packed(packed: i64) -> Value {
    let TimeFields { negative, hours, minutes, seconds, micros } = unpack_time(packed);
    Value::Time { negative, hours, minutes, seconds, micros }
}

fn decode_time2(meta: u16, buf: &[u8]) -> Result<(Value, usize), ValueError> {
    let fsp = check_fsp(ct::TIME2, meta)?;
    let (packed, used) = time2_packed(fsp, buf)?;
    let v = time_from_packed(packed);
    if let Value::Time { micros, .. } = v {
        if micros >= 1_000_000 {
            return Err(ValueError::new(format!("TIME2 fraction {micros} is not below one second")));
        }
    }
    Ok((v, used))
}

/// Packed datetime integer -> DATETIME value (`TIME_from_longlong_datetime_packed`, see
/// [`unpack_datetime`]).
pub fn datetime_from_packed(packed: i64) -> Value {
    let DateTimeFields { year, month, day, hour, minute, second, micros } = unpack_datetime(packed);
    Value::DateTime { year, month, day, hour, minute, second, micros }
}

/// DATETIME2: 5 big-endian bytes `1 bit sign | 17 bits year*13+month | 5 day | 5 hour | 6 min |
/// 6 sec` (offset by 0x8000000000), then the fraction bytes.
fn decode_datetime2(meta: u16, buf: &[u8]) -> Result<(Value, usize), ValueError> {
    let fsp = check_fsp(ct::DATETIME2, meta)?;
    let intpart = be_uint(ct::DATETIME2, buf, 5)? as i64 - 0x80_0000_0000;
    let rest = buf.get(5..).unwrap_or(&[]);
    let (micros, n) = read_fraction(ct::DATETIME2, fsp, rest)?;
    let v = datetime_from_packed((intpart << 24) + micros as i64);
    debug_assert_eq!(n, FRAC_BYTES[fsp as usize]);
    Ok((v, 5 + n))
}

// ---------------------------------------------------------------------------------------------
// MariaDB compressed columns

/// Largest value a compressed column may inflate to (MariaDB's max_allowed_packet ceiling).
const MAX_DECOMPRESSED: usize = 1 << 30;

/// MariaDB column compression (`field_comp.cc`): one header byte, then either the raw bytes
/// (header 0) or `header & 7` big-endian bytes of original length followed by a zlib stream
/// (raw deflate when `header & 8`).
fn maria_decompress(data: &[u8]) -> Result<Vec<u8>, ValueError> {
    use std::io::Read;
    let Some((&header, rest)) = data.split_first() else {
        return Ok(Vec::new());
    };
    if header & 0x80 == 0 {
        return Ok(rest.to_vec());
    }
    let len_bytes = (header & 7) as usize;
    if len_bytes == 0 || len_bytes > 4 {
        return Err(ValueError::new(format!("compressed column header {header:#04x} has a bad length size")));
    }
    let orig_len = be_uint(ct::MARIA_BLOB_COMPRESSED, rest, len_bytes)? as usize;
    if orig_len > MAX_DECOMPRESSED {
        return Err(ValueError::new(format!("compressed column claims {orig_len} bytes")));
    }
    let stream = &rest[len_bytes..];
    let mut out = Vec::with_capacity(crate::decode::compressed::inflate_capacity(orig_len, stream.len()).map_err(ValueError::new)?);
    let read = if header & 8 != 0 {
        flate2::read::DeflateDecoder::new(stream).take(orig_len as u64 + 1).read_to_end(&mut out)
    } else {
        flate2::read::ZlibDecoder::new(stream).take(orig_len as u64 + 1).read_to_end(&mut out)
    };
    read.map_err(|e| ValueError::new(format!("compressed column does not inflate: {e}")))?;
    if out.len() != orig_len {
        return Err(ValueError::new(format!(
            "compressed column inflated to {} bytes, header says {orig_len}",
            out.len()
        )));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Display: mysqlbinlog-like text, as `analyze --show-values` shows the key values of hot rows
// (schedule::keys). `inspect --show-values` has its own formatter (commands::inspect::format_value:
// truncated long strings, ISO timestamps), so changing either one changes only its command.

/// Write bytes as a quoted string when they are UTF-8, else as a hex literal.
fn fmt_bytes(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    match std::str::from_utf8(b) {
        Ok(s) => {
            f.write_str("'")?;
            for c in s.chars() {
                match c {
                    '\'' => f.write_str("\\'")?,
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '\r' => f.write_str("\\r")?,
                    '\t' => f.write_str("\\t")?,
                    '\0' => f.write_str("\\0")?,
                    c if (c as u32) < 0x20 => write!(f, "\\x{:02x}", c as u32)?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("'")
        }
        Err(_) => fmt_hex(f, b),
    }
}

fn fmt_hex(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    f.write_str("X'")?;
    for x in b {
        write!(f, "{x:02X}")?;
    }
    f.write_str("'")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
            Value::Decimal(s) => f.write_str(s),
            Value::Year(y) => write!(f, "{y}"),
            Value::Date { year, month, day } => write!(f, "'{year:04}-{month:02}-{day:02}'"),
            Value::Time { negative, hours, minutes, seconds, micros } => {
                let sign = if *negative { "-" } else { "" };
                write!(f, "'{sign}{hours:02}:{minutes:02}:{seconds:02}")?;
                if *micros != 0 {
                    write!(f, ".{micros:06}")?;
                }
                f.write_str("'")
            }
            Value::DateTime { year, month, day, hour, minute, second, micros } => {
                write!(f, "'{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")?;
                if *micros != 0 {
                    write!(f, ".{micros:06}")?;
                }
                f.write_str("'")
            }
            Value::Timestamp { secs, micros } => {
                write!(f, "{secs}")?;
                if *micros != 0 {
                    write!(f, ".{micros:06}")?;
                }
                Ok(())
            }
            Value::Bytes(b) => fmt_bytes(f, b),
            Value::Bit { value, bits } => {
                f.write_str("b'")?;
                for i in (0..*bits).rev() {
                    f.write_str(if i < 64 && (value >> i) & 1 == 1 { "1" } else { "0" })?;
                }
                f.write_str("'")
            }
            Value::Enum(i) => write!(f, "{i}"),
            Value::Set(bits) => write!(f, "b'{bits:b}'"),
            Value::Json(s) => fmt_bytes(f, s.as_bytes()),
            // As mysqlbinlog prints a partial update, with `@col` for the column's old value.
            Value::JsonDiff(diffs) => {
                let mut s = String::new();
                write_json_diff(diffs, "@col", &mut s);
                f.write_str(&s)
            }
            Value::Geometry(b) => fmt_hex(f, b),
            Value::Vector(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// `diffs` as mysqlbinlog shows a partial JSON update, applied to `target` (e.g. `@2`):
/// `JSON_REPLACE(@2, '$.age', 26)`, nested in diff order; paths and values as quoted/raw text.
pub fn write_json_diff(diffs: &[json::JsonDiff], target: &str, out: &mut String) {
    json::write_diff_expression(
        diffs,
        target,
        out,
        |p, out| {
            out.push('\'');
            out.push_str(&p.replace('\'', "''"));
            out.push('\'');
        },
        |v, out| out.push_str(v),
    );
}

/// PARTIAL_UPDATE_ROWS: apply one column's binary JSON diff list (starting at `buf`) to the
/// before-image value, which must be JSON; returns the new [`Value::Json`] and bytes consumed
/// (the diffs themselves: [`json::apply_json_diff_text`]).
pub fn apply_json_diff(before: &Value, buf: &[u8]) -> Result<(Value, usize), ValueError> {
    let before_text = match before {
        Value::Json(s) => s.as_str(),
        other => return Err(ValueError::new(format!("JSON: partial update needs a JSON before image, got {other:?}"))),
    };
    let (text, used) = json::apply_json_diff_text(before_text, buf)?;
    Ok((Value::Json(text), used))
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The bytes of a string, blob, geometry or JSON value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) | Value::Geometry(b) => Some(b),
            Value::Json(s) | Value::Decimal(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// Integer value as i128 (covers both signed and unsigned 64-bit ranges).
    pub fn as_i128(&self) -> Option<i128> {
        match *self {
            Value::Int(v) => Some(v as i128),
            Value::UInt(v) => Some(v as i128),
            Value::Year(v) => Some(v as i128),
            Value::Enum(v) => Some(v as i128),
            Value::Set(v) => Some(v as i128),
            Value::Bit { value, .. } => Some(value as i128),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(real_type: u8, meta: u16, unsigned: Option<bool>) -> ColumnDef {
        ColumnDef { column_type: real_type, real_type, meta, unsigned, ..Default::default() }
    }

    fn dec(real_type: u8, meta: u16, unsigned: Option<bool>, bytes: &[u8]) -> (Value, usize) {
        decode_value(&col(real_type, meta, unsigned), bytes).unwrap()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn time(negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32) -> Value {
        Value::Time { negative, hours, minutes, seconds, micros }
    }

    #[test]
    fn integers_every_width_signed_and_unsigned() {
        assert_eq!(dec(ct::TINY, 0, None, &[0x80]), (Value::Int(-128), 1));
        assert_eq!(dec(ct::TINY, 0, Some(false), &[0x7f]), (Value::Int(127), 1));
        assert_eq!(dec(ct::TINY, 0, Some(true), &[0xff]), (Value::UInt(255), 1));
        assert_eq!(dec(ct::SHORT, 0, None, &[0x00, 0x80]), (Value::Int(-32768), 2));
        assert_eq!(dec(ct::SHORT, 0, Some(true), &[0xff, 0xff]), (Value::UInt(65535), 2));
        assert_eq!(dec(ct::INT24, 0, None, &[0x00, 0x00, 0x80]), (Value::Int(-8_388_608), 3));
        assert_eq!(dec(ct::INT24, 0, None, &[0xff, 0xff, 0x7f]), (Value::Int(8_388_607), 3));
        assert_eq!(dec(ct::INT24, 0, None, &[0xff, 0xff, 0xff]), (Value::Int(-1), 3));
        assert_eq!(dec(ct::INT24, 0, Some(true), &[0xff, 0xff, 0xff]), (Value::UInt(16_777_215), 3));
        assert_eq!(dec(ct::LONG, 0, None, &[0, 0, 0, 0x80]), (Value::Int(i32::MIN as i64), 4));
        assert_eq!(dec(ct::LONG, 0, Some(true), &[0xff; 4]), (Value::UInt(u32::MAX as u64), 4));
        assert_eq!(dec(ct::LONGLONG, 0, None, &[0, 0, 0, 0, 0, 0, 0, 0x80]), (Value::Int(i64::MIN), 8));
        assert_eq!(dec(ct::LONGLONG, 0, Some(true), &[0xff; 8]), (Value::UInt(u64::MAX), 8));
        assert_eq!(dec(ct::LONGLONG, 0, None, &[0xff; 8]), (Value::Int(-1), 8));
        // Trailing bytes belong to the next column and are not consumed.
        assert_eq!(dec(ct::SHORT, 0, None, &[1, 0, 9, 9]), (Value::Int(1), 2));
    }

    #[test]
    fn year_float_double_null() {
        assert_eq!(dec(ct::YEAR, 0, None, &[0]), (Value::Year(0), 1));
        assert_eq!(dec(ct::YEAR, 0, None, &[1]), (Value::Year(1901), 1));
        assert_eq!(dec(ct::YEAR, 0, None, &[255]), (Value::Year(2155), 1));
        assert_eq!(dec(ct::FLOAT, 4, None, &1.5f32.to_le_bytes()), (Value::Float(1.5), 4));
        assert_eq!(dec(ct::DOUBLE, 8, None, &(-2.25f64).to_le_bytes()), (Value::Double(-2.25), 8));
        assert_eq!(dec(ct::NULL, 0, None, &[]), (Value::Null, 0));
    }

    #[test]
    fn newdecimal_vectors() {
        let d = |p: u16, s: u16, h: &str| dec(ct::NEWDECIMAL, p << 8 | s, None, &hex(h));
        // The two examples in MySQL's decimal.cc comment.
        assert_eq!(d(14, 4, "810dfb38d204d2"), (Value::Decimal("1234567890.1234".into()), 7));
        assert_eq!(d(14, 4, "7ef204c72dfb2d"), (Value::Decimal("-1234567890.1234".into()), 7));
        let max = format!("{}.{}", "9".repeat(35), "9".repeat(30));
        assert_eq!(
            d(65, 30, "85f5e0ff3b9ac9ff3b9ac9ff3b9ac9ff3b9ac9ff3b9ac9ff3b9ac9ff03e7"),
            (Value::Decimal(max.clone()), 30)
        );
        assert_eq!(
            d(65, 30, "7a0a1f00c4653600c4653600c4653600c4653600c4653600c4653600fc18"),
            (Value::Decimal(format!("-{max}")), 30)
        );
        assert_eq!(d(10, 2, "8000000005"), (Value::Decimal("0.05".into()), 5));
        assert_eq!(d(10, 2, "7ffffffffa"), (Value::Decimal("-0.05".into()), 5));
        assert_eq!(d(10, 9, "8000000001"), (Value::Decimal("0.000000001".into()), 5));
        assert_eq!(d(6, 4, "73f2b7"), (Value::Decimal("-12.3400".into()), 3));
        assert_eq!(d(10, 0, "8000000000"), (Value::Decimal("0".into()), 5));
        assert_eq!(d(10, 2, "8000000000"), (Value::Decimal("0.00".into()), 5));
        assert_eq!(decimal_bin_size(65, 30), 30);
        assert_eq!(decimal_bin_size(10, 2), 5);
        // A group holding more digits than it may is corrupt, not a number.
        assert!(decode_value(&col(ct::NEWDECIMAL, 1 << 8, None), &[0xff]).is_err());
        assert!(decode_value(&col(ct::NEWDECIMAL, 14 << 8 | 4, None), &hex("810dfb38d204")).is_err());
        assert!(decode_value(&col(ct::NEWDECIMAL, 0, None), &[0x80]).is_err());
    }

    #[test]
    fn date_and_old_temporal_types() {
        let v = (2024u32 << 9 | 2 << 5 | 29).to_le_bytes();
        assert_eq!(dec(ct::DATE, 0, None, &v[..3]), (Value::Date { year: 2024, month: 2, day: 29 }, 3));
        assert_eq!(dec(ct::NEWDATE, 0, None, &[0, 0, 0]), (Value::Date { year: 0, month: 0, day: 0 }, 3));
        let t = (-8_385_959i32).to_le_bytes();
        assert_eq!(dec(ct::TIME, 0, None, &t[..3]), (time(true, 838, 59, 59, 0), 3));
        let t = 123_456i32.to_le_bytes();
        assert_eq!(dec(ct::TIME, 0, None, &t[..3]), (time(false, 12, 34, 56, 0), 3));
        let dt = 20_241_231_235_958u64.to_le_bytes();
        assert_eq!(
            dec(ct::DATETIME, 0, None, &dt),
            (Value::DateTime { year: 2024, month: 12, day: 31, hour: 23, minute: 59, second: 58, micros: 0 }, 8)
        );
        assert_eq!(
            dec(ct::DATETIME, 0, None, &[0; 8]),
            (Value::DateTime { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, micros: 0 }, 8)
        );
        assert_eq!(dec(ct::TIMESTAMP, 0, None, &1_700_000_000u32.to_le_bytes()), (Value::Timestamp { secs: 1_700_000_000, micros: 0 }, 4));
    }

    /// Vectors from a literal port of MySQL's `TIME_to_longlong_time_packed` +
    /// `my_time_packed_to_binary` (C division semantics), one or more per fsp, negative values
    /// with a fraction included for every fsp.
    #[test]
    fn time2_every_fsp_including_negative_fractions() {
        let t = |fsp: u16, h: &str| dec(ct::TIME2, fsp, None, &hex(h));
        assert_eq!(t(0, "4b9105"), (time(true, 838, 59, 59, 0), 3));
        assert_eq!(t(0, "800000"), (time(false, 0, 0, 0, 0), 3));
        assert_eq!(t(1, "4b9105a6"), (time(true, 838, 59, 58, 900_000), 4));
        assert_eq!(t(1, "7fffffce"), (time(true, 0, 0, 0, 500_000), 4));
        assert_eq!(t(2, "7ffffeff"), (time(true, 0, 0, 1, 10_000), 4));
        assert_eq!(t(2, "7fef7cf4"), (time(true, 1, 2, 3, 120_000), 4));
        assert_eq!(t(3, "7fef7cfb32"), (time(true, 1, 2, 3, 123_000), 5));
        assert_eq!(t(4, "7fef7cfb2e"), (time(true, 1, 2, 3, 123_400), 5));
        assert_eq!(t(5, "7fffffffcfcc"), (time(true, 0, 0, 0, 12_340), 6));
        assert_eq!(t(6, "7f3747fe1dc0"), (time(true, 12, 34, 56, 123_456), 6));
        assert_eq!(t(6, "7fffffffffff"), (time(true, 0, 0, 0, 1), 6));
        assert_eq!(t(6, "b46efb0f423f"), (time(false, 838, 59, 59, 999_999), 6));
        assert!(decode_value(&col(ct::TIME2, 7, None), &[0x80; 8]).is_err());
        assert!(decode_value(&col(ct::TIME2, 6, None), &hex("8000000000")).is_err());
    }

    fn datetime2_bytes(y: u64, mo: u64, d: u64, h: u64, mi: u64, s: u64) -> [u8; 5] {
        let ymd = (y * 13 + mo) << 5 | d;
        let hms = h << 12 | mi << 6 | s;
        let v = (ymd << 17 | hms) + 0x80_0000_0000;
        let b = v.to_be_bytes();
        [b[3], b[4], b[5], b[6], b[7]]
    }

    #[test]
    fn datetime2_and_timestamp2() {
        let mut b = datetime2_bytes(9999, 12, 31, 23, 59, 59).to_vec();
        b.extend_from_slice(&[0x0f, 0x42, 0x3f]); // 999999
        assert_eq!(
            dec(ct::DATETIME2, 6, None, &b),
            (Value::DateTime { year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, micros: 999_999 }, 8)
        );
        let mut b = datetime2_bytes(2001, 2, 3, 4, 5, 6).to_vec();
        b.push(12); // fsp 1 stores hundredths: .12 -> 120000
        assert_eq!(
            dec(ct::DATETIME2, 2, None, &b),
            (Value::DateTime { year: 2001, month: 2, day: 3, hour: 4, minute: 5, second: 6, micros: 120_000 }, 6)
        );
        let mut b = datetime2_bytes(2001, 2, 3, 4, 5, 6).to_vec();
        b.extend_from_slice(&1234u16.to_be_bytes());
        assert_eq!(
            dec(ct::DATETIME2, 4, None, &b),
            (Value::DateTime { year: 2001, month: 2, day: 3, hour: 4, minute: 5, second: 6, micros: 123_400 }, 7)
        );
        assert_eq!(
            dec(ct::DATETIME2, 0, None, &hex("8000000000")),
            (Value::DateTime { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, micros: 0 }, 5)
        );
        let mut ts = 2_147_483_647u32.to_be_bytes().to_vec();
        ts.extend_from_slice(&[0x0f, 0x42, 0x3f]);
        assert_eq!(dec(ct::TIMESTAMP2, 6, None, &ts), (Value::Timestamp { secs: 2_147_483_647, micros: 999_999 }, 7));
        assert_eq!(dec(ct::TIMESTAMP2, 3, None, &[0, 0, 0, 1, 0x03, 0xe7]), (Value::Timestamp { secs: 1, micros: 99_900 }, 6));
        assert_eq!(dec(ct::TIMESTAMP2, 0, None, &[0, 0, 0, 0]), (Value::Timestamp { secs: 0, micros: 0 }, 4));
        // A fraction of 100 hundredths is not a fraction.
        assert!(decode_value(&col(ct::TIMESTAMP2, 2, None), &[0, 0, 0, 1, 100]).is_err());
    }

    #[test]
    fn strings_blobs_and_prefix_sizes() {
        let emoji = "a😀é".as_bytes();
        let mut b = vec![emoji.len() as u8];
        b.extend_from_slice(emoji);
        assert_eq!(dec(ct::VARCHAR, 255, None, &b), (Value::Bytes(emoji.to_vec()), 1 + emoji.len()));
        let mut b = (emoji.len() as u16).to_le_bytes().to_vec();
        b.extend_from_slice(emoji);
        assert_eq!(dec(ct::VARCHAR, 256, None, &b), (Value::Bytes(emoji.to_vec()), 2 + emoji.len()));
        assert_eq!(dec(ct::VAR_STRING, 1020, None, &b), (Value::Bytes(emoji.to_vec()), 2 + emoji.len()));
        assert_eq!(dec(ct::STRING, 1020, None, &b), (Value::Bytes(emoji.to_vec()), 2 + emoji.len()));
        assert_eq!(dec(ct::STRING, 10, None, &[0]), (Value::Bytes(vec![]), 1));
        // BINARY(4) gets its stripped 0x00 pad back; CHAR keeps trailing spaces stripped.
        let binary = ColumnDef { collation: Some(BINARY_COLLATION), ..col(ct::STRING, 4, None) };
        assert_eq!(decode_value(&binary, &[1, 7]).unwrap(), (Value::Bytes(vec![7, 0, 0, 0]), 2));
        assert_eq!(decode_value(&binary, &[0]).unwrap(), (Value::Bytes(vec![0; 4]), 1));
        let utf8 = ColumnDef { collation: Some(45), ..col(ct::STRING, 40, None) };
        assert_eq!(decode_value(&utf8, &[2, b'a', b'b']).unwrap(), (Value::Bytes(b"ab".to_vec()), 3));
        for prefix in 1..=4usize {
            let mut b = 3u32.to_le_bytes()[..prefix].to_vec();
            b.extend_from_slice(b"xyz!");
            assert_eq!(dec(ct::BLOB, prefix as u16, None, &b), (Value::Bytes(b"xyz".to_vec()), prefix + 3));
        }
        // Length past the end, bad prefix size, empty buffer.
        assert!(decode_value(&col(ct::BLOB, 2, None), &[5, 0, 1, 2]).is_err());
        assert!(decode_value(&col(ct::BLOB, 5, None), &[0; 8]).is_err());
        assert!(decode_value(&col(ct::VARCHAR, 10, None), &[]).is_err());
        let mut g = vec![5, 0, 0, 0];
        g.extend_from_slice(&[0, 0, 0, 0, 1]);
        assert_eq!(dec(ct::GEOMETRY, 4, None, &g), (Value::Geometry(vec![0, 0, 0, 0, 1]), 9));
    }

    #[test]
    fn enum_set_bit() {
        assert_eq!(dec(ct::ENUM, 1, None, &[3]), (Value::Enum(3), 1));
        assert_eq!(dec(ct::ENUM, 2, None, &[0x2c, 0x01]), (Value::Enum(300), 2));
        assert!(decode_value(&col(ct::ENUM, 3, None), &[0; 3]).is_err());
        assert_eq!(dec(ct::SET, 1, None, &[0b101]), (Value::Set(5), 1));
        assert_eq!(dec(ct::SET, 3, None, &[1, 0, 0x80]), (Value::Set(0x80_0001), 3));
        assert_eq!(dec(ct::SET, 8, None, &[0xff; 8]), (Value::Set(u64::MAX), 8));
        assert!(decode_value(&col(ct::SET, 9, None), &[0; 9]).is_err());
        assert_eq!(dec(ct::BIT, 64, None, &[0xff; 8]), (Value::Bit { value: u64::MAX, bits: 64 }, 8));
        assert_eq!(dec(ct::BIT, 1, None, &[1]), (Value::Bit { value: 1, bits: 1 }, 1));
        assert_eq!(dec(ct::BIT, 10, None, &[0x02, 0x01]), (Value::Bit { value: 0x201, bits: 10 }, 2));
        assert!(decode_value(&col(ct::BIT, 0, None), &[0; 8]).is_err());
        assert!(decode_value(&col(ct::BIT, 65, None), &[0; 9]).is_err());
    }

    #[test]
    fn string_column_with_unset_real_type_falls_back_to_wire_type() {
        let c = ColumnDef { column_type: ct::STRING, real_type: 0, meta: 4, ..Default::default() };
        assert_eq!(decode_value(&c, &[2, b'h', b'i']).unwrap(), (Value::Bytes(b"hi".to_vec()), 3));
    }

    #[test]
    fn json_vector_columns() {
        // {"a": 1} as MySQL stores it: small object, one key, int16 inlined.
        // type 00, count 1, size 12, key entry (offset 11, length 1), value entry (int16 1), "a".
        let jsonb = hex("0001000c000b000100050100");
        let mut jsonb = jsonb;
        jsonb.push(b'a');
        let mut b = (jsonb.len() as u32).to_le_bytes().to_vec();
        b.extend_from_slice(&jsonb);
        assert_eq!(dec(ct::JSON, 4, None, &b), (Value::Json(r#"{"a": 1}"#.into()), 4 + jsonb.len()));
        assert_eq!(dec(ct::JSON, 4, None, &[0, 0, 0, 0]), (Value::Json("null".into()), 4));
        let mut v = 8u32.to_le_bytes().to_vec();
        v.extend_from_slice(&1.5f32.to_le_bytes());
        v.extend_from_slice(&(-2.0f32).to_le_bytes());
        assert_eq!(dec(ct::VECTOR, 4, None, &v), (Value::Vector(vec![1.5, -2.0]), 12));
        assert!(decode_value(&col(ct::VECTOR, 4, None), &[3, 0, 0, 0, 1, 2, 3]).is_err());
    }

    #[test]
    fn mariadb_compressed_columns() {
        use std::io::Write;
        // Stored uncompressed (header 0).
        assert_eq!(
            dec(ct::MARIA_BLOB_COMPRESSED, 1, None, &[4, 0, b'a', b'b', b'c']),
            (Value::Bytes(b"abc".to_vec()), 5)
        );
        let text = "compress me ".repeat(20);
        for raw_deflate in [false, true] {
            let compressed = if raw_deflate {
                let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(text.as_bytes()).unwrap();
                e.finish().unwrap()
            } else {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(text.as_bytes()).unwrap();
                e.finish().unwrap()
            };
            let mut data = vec![0x80 | 2 | if raw_deflate { 8 } else { 0 }];
            data.extend_from_slice(&(text.len() as u16).to_be_bytes());
            data.extend_from_slice(&compressed);
            let mut b = (data.len() as u16).to_le_bytes().to_vec();
            b.extend_from_slice(&data);
            assert_eq!(dec(ct::MARIA_VARCHAR_COMPRESSED, 1000, None, &b), (Value::Bytes(text.as_bytes().to_vec()), b.len()));
        }
        assert!(decode_value(&col(ct::MARIA_BLOB_COMPRESSED, 1, None), &[4, 0x81, 9, 1, 2]).is_err());
    }

    /// Issue 15 item 4: a compressed column whose header announces 1 GiB over 3 bytes of stream
    /// is refused; it used to reserve the announced size before inflating anything.
    #[test]
    fn compressed_column_length_is_bounded_by_the_bytes_present() {
        let bytes = [8, 0x84, 0x40, 0, 0, 0, 0x78, 0x9c, 3];
        let e = decode_value(&col(ct::MARIA_BLOB_COMPRESSED, 1, None), &bytes).unwrap_err();
        assert_eq!(e.what, "compressed block announces 1073741824 bytes from 3 compressed bytes (deflate inflates at most 1032:1)");
    }

    #[test]
    fn unknown_and_unsupported_types_are_errors() {
        assert!(decode_value(&col(ct::TYPED_ARRAY, 0, None), &[0; 8]).is_err());
        assert!(decode_value(&col(ct::DECIMAL, 0, None), &[0; 8]).is_err());
        assert!(decode_value(&col(100, 0, None), &[0; 8]).is_err());
    }

    #[test]
    fn display_is_mysqlbinlog_like() {
        assert_eq!(Value::Int(-5).to_string(), "-5");
        assert_eq!(Value::UInt(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Value::Decimal("-1.50".into()).to_string(), "-1.50");
        assert_eq!(Value::Date { year: 2024, month: 2, day: 9 }.to_string(), "'2024-02-09'");
        assert_eq!(time(true, 838, 59, 58, 900_000).to_string(), "'-838:59:58.900000'");
        assert_eq!(time(false, 1, 2, 3, 0).to_string(), "'01:02:03'");
        assert_eq!(
            Value::DateTime { year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, micros: 999_999 }.to_string(),
            "'9999-12-31 23:59:59.999999'"
        );
        assert_eq!(Value::Timestamp { secs: 7, micros: 5 }.to_string(), "7.000005");
        assert_eq!(Value::Bytes(b"it's\n".to_vec()).to_string(), r"'it\'s\n'");
        assert_eq!(Value::Bytes(vec![0xff, 0x00]).to_string(), "X'FF00'");
        assert_eq!(Value::Bit { value: 5, bits: 4 }.to_string(), "b'0101'");
        assert_eq!(Value::Set(5).to_string(), "b'101'");
        assert_eq!(Value::Json(r#"{"a": 1}"#.into()).to_string(), r#"'{"a": 1}'"#);
        assert_eq!(Value::Vector(vec![1.5, -2.0]).to_string(), "[1.5,-2]");
        assert_eq!(Value::Null.to_string(), "NULL");
    }

    #[test]
    fn json_diff_applies_to_a_json_value_and_refuses_any_other() {
        // An empty diff list (its 4-byte length 0) keeps the document and consumes 4 bytes; the
        // next column's bytes stay unread.
        let empty = [0u8, 0, 0, 0, 0xaa];
        assert_eq!(apply_json_diff(&Value::Json(r#"{"a": [1, 2]}"#.into()), &empty).unwrap(), (Value::Json(r#"{"a": [1, 2]}"#.into()), 4));
        assert_eq!(apply_json_diff(&Value::Null, &empty).unwrap_err().to_string(), "JSON: partial update needs a JSON before image, got Null");
        assert_eq!(apply_json_diff(&Value::Int(1), &empty).unwrap_err().to_string(), "JSON: partial update needs a JSON before image, got Int(1)");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Arbitrary bytes never panic, and a successful decode never claims more bytes than given.
        #[test]
        fn random_bytes_never_panic(
            ty in proptest::sample::select(vec![
                ct::TINY, ct::SHORT, ct::INT24, ct::LONG, ct::LONGLONG, ct::YEAR, ct::FLOAT, ct::DOUBLE,
                ct::NEWDECIMAL, ct::DATE, ct::NEWDATE, ct::TIME, ct::TIME2, ct::DATETIME, ct::DATETIME2,
                ct::TIMESTAMP, ct::TIMESTAMP2, ct::VARCHAR, ct::VAR_STRING, ct::STRING, ct::ENUM, ct::SET,
                ct::BIT, ct::BLOB, ct::TINY_BLOB, ct::GEOMETRY, ct::JSON, ct::VECTOR, ct::NULL, ct::DECIMAL,
                ct::MARIA_VARCHAR_COMPRESSED, ct::MARIA_BLOB_COMPRESSED, 100u8,
            ]),
            meta in proptest::prelude::any::<u16>(),
            small_meta in 0u16..=8,
            use_small in proptest::prelude::any::<bool>(),
            unsigned in proptest::prelude::any::<Option<bool>>(),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let meta = if ty == ct::NEWDECIMAL && use_small { (meta % 66) << 8 | (meta >> 8) % 31 } else if use_small { small_meta } else { meta };
            let c = col(ty, meta, unsigned);
            if let Ok((_, used)) = decode_value(&c, &bytes) {
                proptest::prop_assert!(used <= bytes.len());
            }
        }
    }
}
