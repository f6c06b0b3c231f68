//! GTID event bodies: MySQL GTID (33), ANONYMOUS_GTID (34), GTID_TAGGED (42, MySQL 8.3+
//! serialization-library format), PREVIOUS_GTIDS (35, plain and tagged) and MariaDB GTID (162),
//! GTID_LIST (163) and BINLOG_CHECKPOINT (161).
//!
//! Owns the byte layouts only. It must not keep GTID sets or decide ordering: see
//! [`crate::source`] and [`crate::txn`].

use crate::decode::event::{MariadbGtidEvent, MysqlGtidEvent, XaId};
use crate::decode::reader::{text, Cursor, Fail, Res};

/// Immediate-commit-timestamp bit saying an original timestamp follows.
const ENCODED_COMMIT_TIMESTAMP_FLAG: u64 = 1 << 55;
/// Immediate-server-version bit saying an original version follows.
const ENCODED_SERVER_VERSION_FLAG: u32 = 1 << 31;
/// Logical-clock type code preceding last_committed/sequence_number (5.7+).
const LOGICAL_TIMESTAMP_TYPECODE: u8 = 2;

/// GTID (33) and ANONYMOUS_GTID (34).
pub(crate) fn parse_mysql_gtid(body: &[u8], base: usize, anonymous: bool) -> Res<MysqlGtidEvent> {
    let mut c = Cursor::new(body, base);
    let flags = c.u8("GTID flags")?;
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(c.bytes(16, "GTID uuid")?);
    let gno = c.u64("GTID gno")? as i64;
    let mut g = MysqlGtidEvent { flags, uuid, gno, anonymous, ..MysqlGtidEvent::default() };
    if c.rest().first() == Some(&LOGICAL_TIMESTAMP_TYPECODE) {
        c.skip(1, "GTID logical clock type")?;
        g.last_committed = Some(c.u64("GTID last_committed")? as i64);
        g.sequence_number = Some(c.u64("GTID sequence_number")? as i64);
        if c.remaining() >= 7 {
            let immediate = c.uint_n(7, "GTID immediate commit timestamp")?;
            if immediate & ENCODED_COMMIT_TIMESTAMP_FLAG != 0 {
                g.immediate_commit_timestamp = Some(immediate & !ENCODED_COMMIT_TIMESTAMP_FLAG);
                g.original_commit_timestamp = Some(c.uint_n(7, "GTID original commit timestamp")?);
            } else {
                g.immediate_commit_timestamp = Some(immediate);
                g.original_commit_timestamp = Some(immediate);
            }
            if !c.is_empty() {
                g.transaction_length = Some(c.lenenc("GTID transaction length")?);
            }
            if c.remaining() >= 4 {
                let immediate = c.u32("GTID immediate server version")?;
                if immediate & ENCODED_SERVER_VERSION_FLAG != 0 {
                    g.immediate_server_version = Some(immediate & !ENCODED_SERVER_VERSION_FLAG);
                    g.original_server_version = Some(c.u32("GTID original server version")?);
                } else {
                    g.immediate_server_version = Some(immediate);
                    g.original_server_version = Some(immediate);
                }
            }
        }
    }
    Ok(g)
}

/// Variable-length unsigned integer of the MySQL serialization library: the number of trailing
/// one bits in the first byte is the count of extra bytes; 0xFF means 8 raw bytes follow.
fn varlen_uint(c: &mut Cursor<'_>, what: &'static str) -> Res<u64> {
    let first = *c.rest().first().ok_or_else(|| Fail::new(c.at(), format!("truncated reading {what}")))?;
    let ones = first.trailing_ones() as usize;
    if ones == 8 {
        c.skip(1, what)?;
        return c.u64(what);
    }
    let n = ones + 1;
    let raw = c.uint_n(n, what)?;
    Ok(raw >> n)
}

/// Zig-zag signed variant (sign in the lowest bit).
fn varlen_int(c: &mut Cursor<'_>, what: &'static str) -> Res<i64> {
    let u = varlen_uint(c, what)?;
    let magnitude = (u >> 1) as i64;
    Ok(if u & 1 != 0 { -magnitude - 1 } else { magnitude })
}

fn varlen_string(c: &mut Cursor<'_>, what: &'static str) -> Res<String> {
    let at = c.at();
    let n = varlen_uint(c, what)?;
    let n = c.check_count(at, n, 1, what)?;
    Ok(text(c.bytes(n, what)?))
}

// Field ids of GTID_TAGGED (libs/mysql/binlog/event/control_events.h).
const F_FLAGS: u64 = 0;
const F_SID: u64 = 1;
const F_GNO: u64 = 2;
const F_TAG: u64 = 3;
const F_LAST_COMMITTED: u64 = 4;
const F_SEQUENCE_NUMBER: u64 = 5;
const F_IMMEDIATE_COMMIT_TS: u64 = 6;
const F_ORIGINAL_COMMIT_TS: u64 = 7;
const F_TRANSACTION_LENGTH: u64 = 8;
const F_IMMEDIATE_SERVER_VERSION: u64 = 9;
const F_ORIGINAL_SERVER_VERSION: u64 = 10;
const F_COMMIT_GROUP_TICKET: u64 = 11;

/// GTID_TAGGED (42): `version u8, payload_size varlen, last_non_ignorable_field_id varlen,
/// (field_id varlen, value)*`, where `payload_size` counts from the version byte.
pub(crate) fn parse_tagged_gtid(body: &[u8], base: usize) -> Res<MysqlGtidEvent> {
    let mut c = Cursor::new(body, base);
    let version_at = c.at();
    let version = c.u8("GTID_TAGGED serialization version")?;
    if version != 2 {
        return Err(Fail::new(version_at, format!("unsupported GTID_TAGGED serialization version {version}")));
    }
    let start = c.remaining() + 1;
    let payload_size = varlen_uint(&mut c, "GTID_TAGGED payload size")?;
    let last_non_ignorable = varlen_uint(&mut c, "GTID_TAGGED last non-ignorable field id")?;
    let consumed = (start - c.remaining()) as u64;
    let fields_len = payload_size
        .checked_sub(consumed)
        .ok_or_else(|| Fail::new(c.at(), format!("GTID_TAGGED payload size {payload_size} smaller than its envelope")))?;
    let fields_at = c.at();
    let fields = c.bytes(usize::try_from(fields_len).unwrap_or(usize::MAX), "GTID_TAGGED fields")?;
    let mut f = Cursor::new(fields, fields_at);
    let mut g = MysqlGtidEvent::default();
    let mut original_ts = None;
    let mut original_version = None;
    while !f.is_empty() {
        let id_at = f.at();
        let id = varlen_uint(&mut f, "GTID_TAGGED field id")?;
        match id {
            F_FLAGS => g.flags = varlen_uint(&mut f, "GTID_TAGGED flags")? as u8,
            F_SID => {
                for b in g.uuid.iter_mut() {
                    *b = varlen_uint(&mut f, "GTID_TAGGED uuid")? as u8;
                }
            }
            F_GNO => g.gno = varlen_int(&mut f, "GTID_TAGGED gno")?,
            F_TAG => g.tag = Some(varlen_string(&mut f, "GTID_TAGGED tag")?),
            F_LAST_COMMITTED => g.last_committed = Some(varlen_int(&mut f, "GTID_TAGGED last_committed")?),
            F_SEQUENCE_NUMBER => g.sequence_number = Some(varlen_int(&mut f, "GTID_TAGGED sequence_number")?),
            F_IMMEDIATE_COMMIT_TS => {
                g.immediate_commit_timestamp = Some(varlen_uint(&mut f, "GTID_TAGGED immediate commit timestamp")?)
            }
            F_ORIGINAL_COMMIT_TS => original_ts = Some(varlen_uint(&mut f, "GTID_TAGGED original commit timestamp")?),
            F_TRANSACTION_LENGTH => g.transaction_length = Some(varlen_uint(&mut f, "GTID_TAGGED transaction length")?),
            F_IMMEDIATE_SERVER_VERSION => {
                g.immediate_server_version = Some(varlen_uint(&mut f, "GTID_TAGGED immediate server version")? as u32)
            }
            F_ORIGINAL_SERVER_VERSION => {
                original_version = Some(varlen_uint(&mut f, "GTID_TAGGED original server version")? as u32)
            }
            F_COMMIT_GROUP_TICKET => g.commit_group_ticket = Some(varlen_uint(&mut f, "GTID_TAGGED commit group ticket")?),
            _ if id <= last_non_ignorable => {
                return Err(Fail::new(id_at, format!("GTID_TAGGED has unknown non-ignorable field {id}")));
            }
            // An ignorable field we do not know: its length is not self-described, stop here.
            _ => break,
        }
    }
    g.original_commit_timestamp = original_ts.or(g.immediate_commit_timestamp);
    g.original_server_version = original_version.or(g.immediate_server_version);
    Ok(g)
}

/// One PREVIOUS_GTIDS entry: (uuid, tag, intervals [start, end)).
pub(crate) type PrevGtidEntry = ([u8; 16], Option<String>, Vec<(u64, u64)>);

/// PREVIOUS_GTIDS (35): u64 header (format in the top byte; tagged format keeps the count in
/// bits 8..56), then per entry uuid, [tag], interval count and intervals.
pub(crate) fn parse_previous_gtids(body: &[u8], base: usize) -> Res<Vec<PrevGtidEntry>> {
    let mut c = Cursor::new(body, base);
    let at = c.at();
    let header = c.u64("PREVIOUS_GTIDS header")?;
    let tagged = (header >> 56) != 0;
    let n_sids = if tagged { (header >> 8) & ((1 << 48) - 1) } else { header & ((1 << 56) - 1) };
    let n_sids = c.check_count(at, n_sids, 24, "PREVIOUS_GTIDS sid count")?;
    let mut out = Vec::with_capacity(n_sids);
    for _ in 0..n_sids {
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(c.bytes(16, "PREVIOUS_GTIDS uuid")?);
        let tag = if tagged {
            let t = varlen_string(&mut c, "PREVIOUS_GTIDS tag")?;
            (!t.is_empty()).then_some(t)
        } else {
            None
        };
        let at = c.at();
        let n = c.u64("PREVIOUS_GTIDS interval count")?;
        let n = c.check_count(at, n, 16, "PREVIOUS_GTIDS interval count")?;
        let mut intervals = Vec::with_capacity(n);
        for _ in 0..n {
            let start = c.u64("PREVIOUS_GTIDS interval start")?;
            let end = c.u64("PREVIOUS_GTIDS interval end")?;
            intervals.push((start, end));
        }
        out.push((uuid, tag, intervals));
    }
    Ok(out)
}

// MariaDB GTID flags2 bits.
const FL_GROUP_COMMIT_ID: u8 = 2;
const FL_PREPARED_XA: u8 = 64;
const FL_COMPLETED_XA: u8 = 128;

/// MariaDB GTID (162): seq_no, domain_id, flags2, then commit_id if FL_GROUP_COMMIT_ID, then
/// the XA id if an XA flag is set (otherwise zero padding, and MariaDB 11 extra flags, ignored).
pub(crate) fn parse_mariadb_gtid(body: &[u8], base: usize, server_id: u32) -> Res<MariadbGtidEvent> {
    let mut c = Cursor::new(body, base);
    let seq_no = c.u64("MariaDB GTID seq_no")?;
    let domain_id = c.u32("MariaDB GTID domain_id")?;
    let flags2 = c.u8("MariaDB GTID flags2")?;
    let commit_id = if flags2 & FL_GROUP_COMMIT_ID != 0 { Some(c.u64("MariaDB GTID commit_id")?) } else { None };
    let xid = if flags2 & (FL_PREPARED_XA | FL_COMPLETED_XA) != 0 {
        let format_id = c.u32("MariaDB GTID XA format id")? as i32;
        let gtrid_len = c.u8("MariaDB GTID XA gtrid length")? as usize;
        let bqual_len = c.u8("MariaDB GTID XA bqual length")? as usize;
        let gtrid = c.bytes(gtrid_len, "MariaDB GTID XA gtrid")?.to_vec();
        let bqual = c.bytes(bqual_len, "MariaDB GTID XA bqual")?.to_vec();
        Some(XaId { format_id, gtrid, bqual })
    } else {
        None
    };
    Ok(MariadbGtidEvent { seq_no, domain_id, server_id, flags2, commit_id, xid })
}

/// MariaDB GTID_LIST (163): count in the low 28 bits, then (domain, server_id, seq) triples.
pub(crate) fn parse_mariadb_gtid_list(body: &[u8], base: usize) -> Res<Vec<(u32, u32, u64)>> {
    let mut c = Cursor::new(body, base);
    let at = c.at();
    let n = c.u32("GTID_LIST count")? & 0x0FFF_FFFF;
    let n = c.check_count(at, u64::from(n), 16, "GTID_LIST count")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let domain = c.u32("GTID_LIST domain")?;
        let server = c.u32("GTID_LIST server_id")?;
        let seq = c.u64("GTID_LIST seq_no")?;
        out.push((domain, server, seq));
    }
    Ok(out)
}

/// MariaDB BINLOG_CHECKPOINT (161): u32 name length, then the binlog file name.
pub(crate) fn parse_binlog_checkpoint(body: &[u8], base: usize) -> Res<String> {
    let mut c = Cursor::new(body, base);
    let at = c.at();
    let n = c.u32("BINLOG_CHECKPOINT name length")?;
    let n = c.check_count(at, u64::from(n), 1, "BINLOG_CHECKPOINT name length")?;
    Ok(text(c.bytes(n, "BINLOG_CHECKPOINT name")?))
}

/// XA id as in XA_PREPARE (38): format id i32, gtrid length u32, bqual length u32, data.
pub(crate) fn parse_xa_prepare(body: &[u8], base: usize) -> Res<(bool, XaId)> {
    let mut c = Cursor::new(body, base);
    let one_phase = c.u8("XA_PREPARE one_phase")? != 0;
    let format_id = c.u32("XA_PREPARE format id")? as i32;
    let gtrid_len = c.u32("XA_PREPARE gtrid length")? as usize;
    let bqual_len = c.u32("XA_PREPARE bqual length")? as usize;
    let gtrid = c.bytes(gtrid_len, "XA_PREPARE gtrid")?.to_vec();
    let bqual = c.bytes(bqual_len, "XA_PREPARE bqual")?.to_vec();
    Ok((one_phase, XaId { format_id, gtrid, bqual }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_varlen() {
        // 1 byte: value << 1 (no trailing one); 2 bytes: (value << 2) | 0b01.
        let b = [0x0Au8, 0x01 | (300u16 << 2) as u8, ((300u16 << 2) >> 8) as u8];
        let mut c = Cursor::new(&b, 0);
        assert_eq!(varlen_uint(&mut c, "x").unwrap(), 5);
        assert_eq!(varlen_uint(&mut c, "x").unwrap(), 300);
        // zig-zag: 3 (sign bit set, magnitude 1) is -2; one-byte form stores it as 3 << 1.
        let mut c = Cursor::new(&[3u8 << 1], 0);
        assert_eq!(varlen_int(&mut c, "x").unwrap(), -2);
        let mut c = Cursor::new(&[0xFFu8, 1, 0, 0, 0, 0, 0, 0, 0], 0);
        assert_eq!(varlen_uint(&mut c, "x").unwrap(), 1);
    }
}
