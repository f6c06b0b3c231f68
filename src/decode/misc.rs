//! Small fixed-layout event bodies: ROTATE, XID, INTVAR, RAND, USER_VAR, INCIDENT,
//! HEARTBEAT (27) / HEARTBEAT_V2 (41), ROWS_QUERY (29) and MariaDB ANNOTATE_ROWS (160).
//!
//! Owns these byte layouts only; no state, no interpretation.

use crate::decode::event::{EventData, UserValue};
use crate::decode::reader::{text, Cursor, Fail, Res};
use crate::decode::value::decode_newdecimal;

/// ROTATE: u64 position of the first event in the next file, then its name.
pub(crate) fn parse_rotate(body: &[u8], base: usize) -> Res<EventData> {
    let mut c = Cursor::new(body, base);
    let position = c.u64("ROTATE position")?;
    let next_file = text(c.take_rest());
    Ok(EventData::Rotate { next_file, position })
}

pub(crate) fn parse_xid(body: &[u8], base: usize) -> Res<EventData> {
    Ok(EventData::Xid(Cursor::new(body, base).u64("XID")?))
}

pub(crate) fn parse_intvar(body: &[u8], base: usize) -> Res<EventData> {
    let mut c = Cursor::new(body, base);
    let kind = c.u8("INTVAR type")?;
    let value = c.u64("INTVAR value")?;
    Ok(EventData::IntVar { kind, value })
}

pub(crate) fn parse_rand(body: &[u8], base: usize) -> Res<EventData> {
    let mut c = Cursor::new(body, base);
    let seed1 = c.u64("RAND seed1")?;
    let seed2 = c.u64("RAND seed2")?;
    Ok(EventData::Rand { seed1, seed2 })
}

/// USER_VAR: u32 name length, name, is_null; unless NULL: the value's type (`Item_result`:
/// 0 string, 1 real, 2 int, 4 decimal), its charset/collation id (u32), u32 value length, the
/// value, and (newer servers) one flags byte whose bit 0 marks an unsigned integer.
pub(crate) fn parse_user_var(body: &[u8], base: usize) -> Res<EventData> {
    const STRING_RESULT: u8 = 0;
    const REAL_RESULT: u8 = 1;
    const INT_RESULT: u8 = 2;
    const DECIMAL_RESULT: u8 = 4;
    let mut c = Cursor::new(body, base);
    let at = c.at();
    let n = c.u32("USER_VAR name length")?;
    let n = c.check_count(at, u64::from(n), 1, "USER_VAR name length")?;
    let name = text(c.bytes(n, "USER_VAR name")?);
    if c.u8("USER_VAR is_null")? != 0 {
        return Ok(EventData::UserVar { name, value: None });
    }
    let type_at = c.at();
    let kind = c.u8("USER_VAR value type")?;
    let collation = c.u32("USER_VAR charset")?;
    let len_at = c.at();
    let len = c.u32("USER_VAR value length")?;
    let len = c.check_count(len_at, u64::from(len), 1, "USER_VAR value length")?;
    let bytes = c.bytes(len, "USER_VAR value")?;
    let unsigned = !c.is_empty() && c.u8("USER_VAR flags")? & 1 != 0;
    let fixed = |what: &'static str| -> Res<[u8; 8]> { bytes.try_into().map_err(|_| Fail::new(len_at, format!("USER_VAR {what} value of {len} bytes, expected 8"))) };
    let value = match kind {
        STRING_RESULT => UserValue::Str { bytes: bytes.to_vec(), collation },
        REAL_RESULT => UserValue::Real(f64::from_le_bytes(fixed("real")?)),
        INT_RESULT => UserValue::Int { value: i64::from_le_bytes(fixed("integer")?), unsigned },
        DECIMAL_RESULT => {
            let [precision, scale, digits @ ..] = bytes else { return Err(Fail::new(len_at, "USER_VAR decimal value shorter than its precision and scale")) };
            let (text, _) = decode_newdecimal(*precision, *scale, digits).map_err(|e| Fail::new(len_at + 4, format!("USER_VAR decimal: {e}")))?;
            UserValue::Decimal(text)
        }
        other => return Err(Fail::new(type_at, format!("USER_VAR value type {other} is unknown"))),
    };
    Ok(EventData::UserVar { name, value: Some(value) })
}

/// INCIDENT: u16 kind, u8 message length, message.
pub(crate) fn parse_incident(body: &[u8], base: usize) -> Res<EventData> {
    let mut c = Cursor::new(body, base);
    let kind = c.u16("INCIDENT type")?;
    let message = if c.is_empty() { String::new() } else { text(c.u8_bytes("INCIDENT message")?) };
    Ok(EventData::Incident { kind, message })
}

/// HEARTBEAT (27): the current binlog file name is the whole body.
pub(crate) fn parse_heartbeat(body: &[u8]) -> EventData {
    EventData::Heartbeat { log_file: text(body) }
}

/// HEARTBEAT_V2 (41): (field type u8, packed length, value) fields; 0 = log file name,
/// 1 = log position (not carried: the header's log_pos has it too).
pub(crate) fn parse_heartbeat_v2(body: &[u8], base: usize) -> Res<EventData> {
    const OT_LOG_FILENAME: u8 = 0;
    let mut c = Cursor::new(body, base);
    let mut log_file = String::new();
    while !c.is_empty() {
        let kind = c.u8("HEARTBEAT_V2 field type")?;
        let value = c.lenenc_bytes("HEARTBEAT_V2 field")?;
        if kind == OT_LOG_FILENAME {
            log_file = text(value);
        }
    }
    Ok(EventData::Heartbeat { log_file })
}

/// ROWS_QUERY (29): a one-byte length that overflows for long statements (ignored), then the
/// statement to the end of the body.
pub(crate) fn parse_rows_query(body: &[u8], base: usize) -> Res<EventData> {
    let mut c = Cursor::new(body, base);
    c.skip(1, "ROWS_QUERY length")?;
    Ok(EventData::RowsQuery(text(c.take_rest())))
}

/// MariaDB ANNOTATE_ROWS (160): the statement is the whole body.
pub(crate) fn parse_annotate_rows(body: &[u8]) -> EventData {
    EventData::RowsQuery(text(body))
}
