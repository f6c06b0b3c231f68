//! Scalar decoders shared by column values and binary JSON: the error they report, the
//! MYSQL_TYPE_* codes, DECIMAL, MySQL's packed temporal integers, and digit output.
//!
//! Owns [`ValueError`] (re-exported by [`crate::decode::value`], where the rest of the crate
//! names it), [`column_type`] and [`type_name`], [`decode_newdecimal`], and the unpacking of
//! MySQL's packed TIME / DATETIME integers into plain fields ([`unpack_time`],
//! [`unpack_datetime`]). It sits below both [`crate::decode::value`] (row images) and
//! [`crate::decode::json`] (JSONB opaque DECIMAL and temporal values), so neither has to import
//! the other's internals: it must not name [`crate::decode::value::Value`], JSON or anything
//! else in `decode`, only bytes in and numbers or text out. Every read is bounds-checked and a
//! malformed value ends in a [`ValueError`], never a panic.

use column_type as ct;

/// A column value that could not be decoded; carries what was wrong (type, lengths).
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct ValueError {
    pub what: String,
}

impl ValueError {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        ValueError { what: what.into() }
    }
}

/// Human name of a type code, for error messages.
pub fn type_name(code: u8) -> &'static str {
    match code {
        ct::DECIMAL => "DECIMAL",
        ct::TINY => "TINY",
        ct::SHORT => "SHORT",
        ct::LONG => "LONG",
        ct::FLOAT => "FLOAT",
        ct::DOUBLE => "DOUBLE",
        ct::NULL => "NULL",
        ct::TIMESTAMP => "TIMESTAMP",
        ct::LONGLONG => "LONGLONG",
        ct::INT24 => "INT24",
        ct::DATE => "DATE",
        ct::TIME => "TIME",
        ct::DATETIME => "DATETIME",
        ct::YEAR => "YEAR",
        ct::NEWDATE => "NEWDATE",
        ct::VARCHAR => "VARCHAR",
        ct::BIT => "BIT",
        ct::TIMESTAMP2 => "TIMESTAMP2",
        ct::DATETIME2 => "DATETIME2",
        ct::TIME2 => "TIME2",
        ct::MARIA_VARCHAR_COMPRESSED => "VARCHAR_COMPRESSED",
        ct::MARIA_BLOB_COMPRESSED => "BLOB_COMPRESSED",
        ct::VECTOR => "VECTOR",
        ct::TYPED_ARRAY => "TYPED_ARRAY",
        ct::JSON => "JSON",
        ct::NEWDECIMAL => "NEWDECIMAL",
        ct::ENUM => "ENUM",
        ct::SET => "SET",
        ct::TINY_BLOB => "TINY_BLOB",
        ct::MEDIUM_BLOB => "MEDIUM_BLOB",
        ct::LONG_BLOB => "LONG_BLOB",
        ct::BLOB => "BLOB",
        ct::VAR_STRING => "VAR_STRING",
        ct::STRING => "STRING",
        ct::GEOMETRY => "GEOMETRY",
        _ => "UNKNOWN",
    }
}

/// MYSQL_TYPE_* codes the decoders dispatch on.
pub mod column_type {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    /// MariaDB `BLOB/TEXT ... COMPRESSED` (MariaDB's mysql_com.h: BLOB_COMPRESSED = 140).
    pub const MARIA_BLOB_COMPRESSED: u8 = 140;
    /// MariaDB `VARCHAR ... COMPRESSED` (VARCHAR_COMPRESSED = 141).
    pub const MARIA_VARCHAR_COMPRESSED: u8 = 141;
    pub const VECTOR: u8 = 242;
    pub const TYPED_ARRAY: u8 = 244;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}


/// The error for a value that needs more bytes than are left.
#[inline]
pub(super) fn short(code: u8, need: usize, have: usize) -> ValueError {
    ValueError::new(format!("{} value needs {need} bytes, only {have} left", type_name(code)))
}

/// Append the decimal digits of `v`, left-padded with zeros to `width` (no `fmt` machinery:
/// this runs for every DECIMAL group and JSON number).
#[inline]
pub(crate) fn push_uint(out: &mut String, mut v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    for _ in (buf.len() - i)..width {
        out.push('0');
    }
    buf[i..].iter().for_each(|&b| out.push(b as char));
}

/// Append a signed integer.
#[inline]
pub(crate) fn push_int(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_uint(out, v.unsigned_abs(), 0);
}

// ---------------------------------------------------------------------------------------------
// DECIMAL

/// Bytes used by a group of 0..=8 leftover decimal digits (MySQL `dig2bytes`).
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const POW10: [u32; 10] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// Bytes a DECIMAL(precision, scale) takes in a row image (MySQL `decimal_bin_size`).
pub fn decimal_bin_size(precision: u8, scale: u8) -> usize {
    let intg = precision.saturating_sub(scale) as usize;
    let scale = scale as usize;
    (intg / 9) * 4 + DIG2BYTES[intg % 9] + (scale / 9) * 4 + DIG2BYTES[scale % 9]
}

/// Decode MySQL's binary DECIMAL (`bin2decimal`): 9-digit groups in 4 big-endian bytes, a
/// leading partial group for the integer digits that do not fill a group and a trailing one for
/// the fraction; the first bit is the inverted sign, and negative numbers store every byte
/// inverted. Returns exact text with all `scale` fraction digits.
pub fn decode_newdecimal(precision: u8, scale: u8, buf: &[u8]) -> Result<(String, usize), ValueError> {
    if precision == 0 || precision > 65 || scale > precision || scale > 38 {
        return Err(ValueError::new(format!("DECIMAL({precision},{scale}) is not a valid precision/scale")));
    }
    let size = decimal_bin_size(precision, scale);
    let src = buf.get(..size).ok_or_else(|| short(ct::NEWDECIMAL, size, buf.len()))?;
    let mut bytes = [0u8; 40];
    let bytes = &mut bytes[..size];
    bytes.copy_from_slice(src);
    let negative = bytes[0] & 0x80 == 0;
    bytes[0] ^= 0x80;
    if negative {
        bytes.iter_mut().for_each(|b| *b = !*b);
    }

    let intg = (precision - scale) as usize;
    let (intg_full, intg_lead) = (intg / 9, intg % 9);
    let scale = scale as usize;
    let (frac_full, frac_tail) = (scale / 9, scale % 9);

    let mut pos = 0usize;
    let mut group = |ndigits: usize| -> Result<u32, ValueError> {
        let n = if ndigits == 9 { 4 } else { DIG2BYTES[ndigits] };
        let part = bytes.get(pos..pos + n).ok_or_else(|| short(ct::NEWDECIMAL, pos + n, size))?;
        let v = part.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32);
        pos += n;
        if v >= POW10[ndigits] {
            return Err(ValueError::new(format!("DECIMAL group value {v} has more than {ndigits} digits")));
        }
        Ok(v)
    };

    let mut text = String::with_capacity(precision as usize + 3);
    // Reserve the sign position; dropped below for positive numbers and zero.
    text.push('-');
    let mut started = false;
    let push_group = |text: &mut String, v: u32, width: usize, started: &mut bool| {
        if *started {
            push_uint(text, v as u64, width);
        } else if v != 0 {
            push_uint(text, v as u64, 0);
            *started = true;
        }
    };
    if intg_lead > 0 {
        let v = group(intg_lead)?;
        push_group(&mut text, v, intg_lead, &mut started);
    }
    for _ in 0..intg_full {
        let v = group(9)?;
        push_group(&mut text, v, 9, &mut started);
    }
    if !started {
        text.push('0');
    }
    let mut all_zero = !started;
    if scale > 0 {
        text.push('.');
        for _ in 0..frac_full {
            let v = group(9)?;
            all_zero &= v == 0;
            push_uint(&mut text, v as u64, 9);
        }
        if frac_tail > 0 {
            let v = group(frac_tail)?;
            all_zero &= v == 0;
            push_uint(&mut text, v as u64, frac_tail);
        }
    }
    // A negative zero prints as plain zero, as the server does when it reads the value back.
    if !negative || all_zero {
        text.remove(0);
    }
    Ok((text, size))
}

// ---------------------------------------------------------------------------------------------
// Packed temporal integers

/// TIME fields, as MySQL's packed time integer holds them (`Value::Time`'s, which this file
/// must not name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeFields { pub negative: bool, pub hours: u32, pub minutes: u8, pub seconds: u8, pub micros: u32 }

/// DATETIME fields, as MySQL's packed datetime integer holds them (`Value::DateTime`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTimeFields { pub year: u16, pub month: u8, pub day: u8, pub hour: u8, pub minute: u8, pub second: u8, pub micros: u32 }

/// Packed time integer -> TIME fields (`TIME_from_longlong_time_packed`).
pub fn unpack_time(packed: i64) -> TimeFields {
    let negative = packed < 0;
    let tmp = packed.unsigned_abs();
    let hms = tmp >> 24;
    TimeFields {
        negative,
        hours: ((hms >> 12) % (1 << 10)) as u32,
        minutes: ((hms >> 6) % (1 << 6)) as u8,
        seconds: (hms % (1 << 6)) as u8,
        micros: (tmp % (1 << 24)) as u32,
    }
}

/// Packed datetime integer -> DATETIME fields (`TIME_from_longlong_datetime_packed`), shared with
/// the JSON opaque DATE/DATETIME/TIMESTAMP values.
pub fn unpack_datetime(packed: i64) -> DateTimeFields {
    let tmp = packed.unsigned_abs();
    let micros = (tmp % (1 << 24)) as u32;
    let ymdhms = tmp >> 24;
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms % (1 << 17);
    DateTimeFields {
        year: (ym / 13).min(u16::MAX as u64) as u16,
        month: (ym % 13) as u8,
        day: (ymd % (1 << 5)) as u8,
        hour: (hms >> 12) as u8,
        minute: ((hms >> 6) % (1 << 6)) as u8,
        second: (hms % (1 << 6)) as u8,
        micros,
    }
}
