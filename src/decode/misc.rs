//! Small fixed-layout event bodies: ROTATE, XID, INTVAR, RAND, USER_VAR, INCIDENT,
//! HEARTBEAT (27) / HEARTBEAT_V2 (41), ROWS_QUERY (29) and MariaDB ANNOTATE_ROWS (160).
//!
//! Owns these byte layouts only; no state, no interpretation.

use crate::decode::event::EventData;
use crate::decode::reader::{text, Cursor, Res};

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

/// USER_VAR: u32 name length, name, is_null; the typed value after it is not needed by the
/// applier (row events carry the effects), so it is not decoded.
pub(crate) fn parse_user_var(body: &[u8], base: usize) -> Res<EventData> {
    let mut c = Cursor::new(body, base);
    let at = c.at();
    let n = c.u32("USER_VAR name length")?;
    let n = c.check_count(at, u64::from(n), 1, "USER_VAR name length")?;
    let name = text(c.bytes(n, "USER_VAR name")?);
    let is_null = c.u8("USER_VAR is_null")? != 0;
    Ok(EventData::UserVar { name, is_null })
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
