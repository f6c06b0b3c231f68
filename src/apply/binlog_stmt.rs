//! Row events as `BINLOG '<base64>'` statements: the MariaDB target applies the source's own
//! TABLE_MAP and ROWS events through its row-event code, as its native replica does.
//!
//! Owns turning runs of [`RowsChange`]s that carry their logged bytes
//! ([`crate::decode::event::RawRowsEvent`]) into BINLOG statement text, and the choice of which
//! transactions take that path ([`RowEvents`], [`TriggerTables`]). It must not send anything
//! (the worker does) nor build SQL for values (see [`crate::apply::sql`]).
//!
//! # Why
//! On a ROW-format source the rows that triggers wrote are logged with the rest; replaying rows
//! as SQL fires the target's triggers again (duplicate keys, or silent duplicates in keyless
//! tables). The server applies a BINLOG statement's row events the way its replica's SQL thread
//! does (`sql/sql_binlog.cc` hands each event to `apply_event`): no triggers for row events
//! (`slave_run_triggers_for_rbr=NO`), the ROWS flags honoured (NO_FOREIGN_KEY_CHECKS,
//! RELAXED_UNIQUE_CHECKS), rows located as the replica locates them, columns by position; and
//! nothing is parsed as SQL.
//!
//! # What the server requires (MariaDB 10.11, checked live in `tests/apply_binlog_stmt.rs`)
//! - The `BINLOG REPLAY` privilege (10.5.2+) or SUPER; without it ERROR 1227.
//! - A FORMAT_DESCRIPTION before any row event in the session (else ERROR 1609). The FDE is
//!   per session and survives transactions, but this module simply puts the source's FDE at the
//!   start of every statement it builds: the worker then keeps no session state that a
//!   reconnect or a failed round trip could lose (about 260 bytes per statement).
//! - Events are sent whole, as logged: header, body and the CRC32 trailer the FDE announces
//!   (the server strips it by the FDE's checksum algorithm; it does not verify it, parapply's
//!   decoder already did).
//! - Table ids are resolved within one statement, and the server closes the tables (and
//!   forgets the ids) at each ROWS event with STMT_END_F and at the end of each BINLOG
//!   statement. So each source statement's TABLE_MAPs go right before its ROWS events, in the
//!   same BINLOG statement, as the source logged them.
//! - It runs inside an open transaction like any DML: rows, parapply's checkpoint row and
//!   COMMIT stay one target transaction (exactly-once rule 1); ROLLBACK undoes it.
//! - A missing row (UPDATE/DELETE) fails with ERROR 1032 (HA_ERR_KEY_NOT_FOUND), a duplicate
//!   (WRITE) with 1062: the same divergence signals as the SQL path's found-row checks.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::decode::event::RawRowsEvent;
use crate::txn::{Change, RowsChange, Transaction};

/// Why a BINLOG statement cannot be built for a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinlogStmtError {
    /// A row event has no logged bytes to send (the decoder did not keep them, or the event
    /// cannot be replayed by a server: MySQL 8 PARTIAL_UPDATE_ROWS, events inside a
    /// compressed TRANSACTION_PAYLOAD).
    #[error("row event on `{schema}`.`{table}` has no logged bytes to replay as a BINLOG statement ({why})")]
    NoRawBytes { schema: String, table: String, why: &'static str },
    /// A logged event is shorter than its fixed header (never from the decoder).
    #[error("row event on `{schema}`.`{table}`: logged bytes too short ({len} bytes)")]
    Short { schema: String, table: String, len: usize },
}

/// `apply.row_events`: how row events are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RowEvents {
    /// BINLOG statements for every transaction touching a table with triggers on the target
    /// (MariaDB target with BINLOG REPLAY); SQL for the rest. Refuses at start when the target
    /// has triggers and no BINLOG path.
    #[default]
    Auto,
    /// SQL statements built from the decoded rows (triggers on the target fire).
    Sql,
    /// BINLOG statements for every row event (MariaDB target with BINLOG REPLAY or SUPER).
    Binlog,
}

impl RowEvents {
    pub fn name(self) -> &'static str {
        match self {
            RowEvents::Auto => "auto",
            RowEvents::Sql => "sql",
            RowEvents::Binlog => "binlog",
        }
    }

    /// Whether the source must be decoded with row-event bytes kept.
    pub fn needs_raw(self) -> bool {
        self != RowEvents::Sql
    }
}

/// Tables that have triggers on the target, as (schema, table); read from
/// `information_schema.TRIGGERS` at start and again after every DDL the pipeline applies (a
/// replicated CREATE TRIGGER or CREATE TABLE changes it). A short lock: read per transaction,
/// written only while a DDL barrier runs alone.
#[derive(Debug, Default)]
pub struct TriggerTables {
    tables: RwLock<HashSet<(String, String)>>,
}

/// The query that lists triggers: (schema, table, trigger name, timing, event).
pub const TRIGGERS_SQL: &str = "SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION \
     FROM information_schema.TRIGGERS \
     WHERE EVENT_OBJECT_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') \
     ORDER BY EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME";

/// One trigger on the target, as [`TRIGGERS_SQL`] lists it.
pub type TriggerRow = (String, String, String, String, String);

impl TriggerTables {
    pub fn new(rows: &[TriggerRow]) -> TriggerTables {
        let t = TriggerTables::default();
        t.replace(rows);
        t
    }

    pub fn replace(&self, rows: &[TriggerRow]) {
        *self.tables.write() = rows.iter().map(|r| (r.0.clone(), r.1.clone())).collect();
    }

    pub fn is_empty(&self) -> bool {
        self.tables.read().is_empty()
    }

    /// Whether `txn` changes rows of a table with triggers.
    pub fn touches(&self, txn: &Transaction) -> bool {
        self.touches_changes(&txn.changes)
    }

    /// Whether `changes` hold rows of a table with triggers.
    pub fn touches_changes(&self, changes: &[Change]) -> bool {
        let t = self.tables.read();
        !t.is_empty() && changes.iter().any(|c| matches!(c, Change::Rows(r) if t.contains(&(r.table.schema.clone(), r.table.table.clone()))))
    }
}

/// `schema.table TRIGGER (BEFORE INSERT), ...` for a refusal message.
pub fn describe_triggers(rows: &[TriggerRow]) -> String {
    rows.iter().map(|(s, t, n, timing, ev)| format!("`{s}`.`{t}`: `{n}` ({timing} {ev})")).collect::<Vec<_>>().join(", ")
}

/// ROWS event flag: last event of its statement (the server closes the tables after it).
const STMT_END_F: u16 = 1;
/// Common header length (v4).
const HEADER: usize = 19;

/// Table id (6 bytes after the common header) of a TABLE_MAP or ROWS event.
fn table_id(ev: &[u8]) -> Option<u64> {
    let b = ev.get(HEADER..HEADER + 6)?;
    let mut id = [0u8; 8];
    id[..6].copy_from_slice(b);
    Some(u64::from_le_bytes(id))
}

/// ROWS event flags (after the 6-byte table id).
fn rows_flags(ev: &[u8]) -> Option<u16> {
    let b = ev.get(HEADER + 6..HEADER + 8)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// Builds one BINLOG statement from consecutive row changes, in source order.
#[derive(Default)]
pub struct BinlogStatement {
    /// Event bytes: FDE, then per source statement its TABLE_MAPs and ROWS events.
    bytes: Vec<u8>,
    fde: Option<Arc<[u8]>>,
    /// Table ids mapped in the current source statement.
    mapped: Vec<u64>,
    /// The current source statement's ROWS events (its TABLE_MAPs go first).
    pending: Vec<Arc<RawRowsEvent>>,
    rows: u64,
    first_table: Option<Arc<crate::decode::event::TableMap>>,
}

impl BinlogStatement {
    pub fn new() -> BinlogStatement {
        BinlogStatement::default()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.pending.is_empty()
    }

    /// Event bytes so far (before base64: the text is 4/3 of this).
    pub fn len(&self) -> usize {
        self.bytes.len() + self.pending.iter().map(|e| e.event.len() + e.table_map.len()).sum::<usize>()
    }

    /// Row changes added.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The first table changed (for messages).
    pub fn first_table(&self) -> Option<&Arc<crate::decode::event::TableMap>> {
        self.first_table.as_ref()
    }

    /// Add one ROWS event.
    pub fn push(&mut self, rc: &RowsChange) -> Result<(), BinlogStmtError> {
        let raw = rc.raw.as_ref().ok_or_else(|| BinlogStmtError::NoRawBytes {
            schema: rc.table.schema.clone(),
            table: rc.table.table.clone(),
            why: "the source was read without raw row events (the table gained triggers on the target after the reader had decoded this event without them: rerunning resumes here and keeps them), or the event kind cannot be replayed by the server (MySQL 8 PARTIAL_UPDATE_ROWS, events inside a TRANSACTION_PAYLOAD)",
        })?;
        let short = |len| BinlogStmtError::Short { schema: rc.table.schema.clone(), table: rc.table.table.clone(), len };
        let flags = rows_flags(&raw.event).ok_or_else(|| short(raw.event.len()))?;
        table_id(&raw.table_map).ok_or_else(|| short(raw.table_map.len()))?;
        if !self.fde.as_ref().is_some_and(|f| Arc::ptr_eq(f, &raw.fde) || **f == *raw.fde) {
            // A new FDE (first event, or the next file came from another server version):
            // close the statement in progress first, it was logged under the previous one.
            self.flush();
            self.bytes.extend_from_slice(&raw.fde);
            self.fde = Some(raw.fde.clone());
        }
        self.rows += rc.rows.len() as u64;
        if self.first_table.is_none() {
            self.first_table = Some(rc.table.clone());
        }
        self.pending.push(raw.clone());
        if flags & STMT_END_F != 0 {
            self.flush();
        }
        Ok(())
    }

    /// Write the pending source statement: its distinct TABLE_MAPs, then its ROWS events.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.mapped.clear();
        for ev in &self.pending {
            let id = table_id(&ev.table_map).unwrap_or(u64::MAX);
            if !self.mapped.contains(&id) {
                self.mapped.push(id);
                self.bytes.extend_from_slice(&ev.table_map);
            }
        }
        for ev in self.pending.drain(..) {
            self.bytes.extend_from_slice(&ev.event);
        }
    }

    /// The statement text: `BINLOG '<base64 of the events>'`. A source statement left open
    /// (no STMT_END_F yet: a streamed transaction cut inside a statement) ends here; the server
    /// closes its tables at the end of the BINLOG statement, and the next statement maps them
    /// again.
    pub fn finish(mut self) -> String {
        self.flush();
        let mut out = String::with_capacity(self.bytes.len() * 4 / 3 + 16);
        out.push_str("BINLOG '");
        base64_into(&mut out, &self.bytes);
        out.push('\'');
        out
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as the server's `my_base64_decode` reads it.
fn base64_into(out: &mut String, bytes: &[u8]) {
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        for shift in [18, 12, 6, 0] {
            out.push(B64[(n >> shift & 63) as usize] as char);
        }
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.push(B64[(n >> 18 & 63) as usize] as char);
            out.push(B64[(n >> 12 & 63) as usize] as char);
            out.push_str("==");
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.push(B64[(n >> 18 & 63) as usize] as char);
            out.push(B64[(n >> 12 & 63) as usize] as char);
            out.push(B64[(n >> 6 & 63) as usize] as char);
            out.push('=');
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::TableMap;
    use crate::txn::{RowChange, RowKind};

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            let mut s = String::new();
            base64_into(&mut s, input.as_bytes());
            assert_eq!(s, want, "{input:?}");
        }
        let mut s = String::new();
        base64_into(&mut s, &[0xff, 0xfe, 0x00]);
        assert_eq!(s, "//4A");
    }

    fn event(kind: u8, id: u8, flags: u16, tag: u8) -> Box<[u8]> {
        let mut v = vec![0u8; HEADER];
        v[4] = kind;
        v.extend_from_slice(&[id, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&flags.to_le_bytes());
        v.push(tag);
        v.into()
    }

    fn change(fde: &Arc<[u8]>, id: u8, flags: u16, tag: u8) -> RowsChange {
        let table = Arc::new(TableMap { schema: "d".into(), table: format!("t{id}"), ..TableMap::default() });
        RowsChange {
            table,
            kind: RowKind::Insert,
            rows: vec![RowChange { before: None, after: None }],
            flags,
            raw: Some(Arc::new(RawRowsEvent { fde: fde.clone(), table_map: Arc::from(event(19, id, 0, 100 + id)), event: event(23, id, flags, tag) })),
        }
    }

    fn decode(text: &str) -> Vec<(u8, u8, u8)> {
        let b64 = text.strip_prefix("BINLOG '").and_then(|t| t.strip_suffix('\'')).unwrap();
        let mut bits = Vec::new();
        for c in b64.bytes().filter(|c| *c != b'=') {
            bits.push(B64.iter().position(|x| *x == c).unwrap() as u8);
        }
        let mut bytes = Vec::new();
        for c in bits.chunks(4) {
            let n = c.iter().enumerate().fold(0u32, |n, (i, v)| n | u32::from(*v) << (18 - 6 * i));
            bytes.extend_from_slice(&n.to_be_bytes()[1..c.len()]);
        }
        // Events here are: FDE of 20 bytes, others of 28 (header + id + flags + tag).
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let len = if bytes[i + 4] == 15 { 20 } else { 28 };
            let ev = &bytes[i..i + len];
            out.push((ev[4], if len == 28 { ev[19] } else { 0 }, ev[len - 1]));
            i += len;
        }
        out
    }

    /// Each source statement's TABLE_MAPs (once per table id) go before its ROWS events, the
    /// FDE first; a statement is closed by STMT_END_F, so the next maps its tables again.
    #[test]
    fn statements_map_their_tables_first() {
        let mut fde_bytes = vec![0u8; 20];
        fde_bytes[4] = 15;
        let fde: Arc<[u8]> = fde_bytes.into();
        let mut s = BinlogStatement::new();
        // Statement 1 (trigger-style): rows on t1, t2, t1 again, the last with STMT_END_F.
        s.push(&change(&fde, 1, 0, 1)).unwrap();
        s.push(&change(&fde, 2, 0, 2)).unwrap();
        s.push(&change(&fde, 1, 1, 3)).unwrap();
        // Statement 2 on t1.
        s.push(&change(&fde, 1, 1, 4)).unwrap();
        assert_eq!(s.rows(), 4);
        let got = decode(&s.finish());
        assert_eq!(
            got,
            vec![(15, 0, 0), (19, 1, 101), (19, 2, 102), (23, 1, 1), (23, 2, 2), (23, 1, 3), (19, 1, 101), (23, 1, 4)]
        );
    }

    #[test]
    fn change_without_bytes_is_refused_with_its_table() {
        let table = Arc::new(TableMap { schema: "d".into(), table: "t".into(), ..TableMap::default() });
        let rc = RowsChange { table, kind: RowKind::Delete, rows: vec![], flags: 0, raw: None };
        let e = BinlogStatement::new().push(&rc).unwrap_err();
        assert!(matches!(&e, BinlogStmtError::NoRawBytes { schema, table, .. } if schema == "d" && table == "t"), "{e}");
    }
}
