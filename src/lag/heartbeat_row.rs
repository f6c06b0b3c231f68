//! Recognising the heartbeat row when the applier applies it on the target: the heartbeat
//! table's name ([`TableRef`]) and columns, and what a transaction's after images say about it
//! ([`heartbeat_row_in`]: parapply's id and pt-heartbeat's `ts`).
//!
//! Owns detection only; the writer that puts the row on the source is [`crate::heartbeat`],
//! which imports this file (never the reverse). Talks to no server.
//!
//! # Table (pt-heartbeat compatible)
//! pt-heartbeat's columns `ts varchar(26)`, `server_id int unsigned PRIMARY KEY`, `file`,
//! `position`, `relay_master_log_file`, `exec_master_log_pos`, plus parapply's
//! [`ID_COLUMN`]: the id of the write, so that the applier can match the row to the writer's
//! monotonic note. Without column names in the binlog (`binlog_row_metadata=MINIMAL`), the
//! layout is trusted only when the table has exactly these seven columns.

use crate::decode::value::Value;
use crate::net::quote_ident;
use crate::txn::{Change, RowKind, Transaction};

/// Name of parapply's id column in the heartbeat table.
pub const ID_COLUMN: &str = "parapply_seq";
/// Column index of the id when the source sent no column names (pt-heartbeat's six, then ours).
const ID_COLUMN_INDEX: usize = 6;
const TS_COLUMN_INDEX: usize = 0;

/// `schema.table`, compared exactly (table names are case sensitive on Linux servers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableRef {
    pub schema: String,
    pub table: String,
}

impl TableRef {
    /// Parse `schema.table`; `None` unless both parts are non-empty.
    pub fn parse(s: &str) -> Option<TableRef> {
        let (schema, table) = s.split_once('.')?;
        if schema.is_empty() || table.is_empty() || table.contains('.') {
            return None;
        }
        Some(TableRef { schema: schema.to_string(), table: table.to_string() })
    }

    /// `` `schema`.`table` `` with embedded backticks doubled.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// What a heartbeat row change carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeartbeatRow {
    /// parapply's id (`parapply_seq`), when the row was written by parapply.
    pub id: Option<u64>,
    /// The `ts` column as unix microseconds (UTC), when it parses.
    pub ts_us: Option<u64>,
}

/// The highest parapply heartbeat id written by `txn` into `table` (from after images of
/// inserts and updates), or `None` when `txn` is not a parapply heartbeat.
pub fn heartbeat_id_in(txn: &Transaction, table: &TableRef) -> Option<u64> {
    heartbeat_row_in(txn, table).and_then(|r| r.id)
}

/// Whether `txn` writes `table`, and if so the newest id and ts its after images carry.
pub fn heartbeat_row_in(txn: &Transaction, table: &TableRef) -> Option<HeartbeatRow> {
    let mut found: Option<HeartbeatRow> = None;
    for change in &txn.changes {
        let Change::Rows(rows) = change else { continue };
        if rows.kind == RowKind::Delete || rows.table.table != table.table || rows.table.schema != table.schema {
            continue;
        }
        let names = &rows.table.columns;
        let col_index = |name: &str, fallback: usize| -> Option<usize> {
            let by_name = names.iter().position(|c| c.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)));
            match by_name {
                Some(i) => Some(i),
                // Without column names (binlog_row_metadata=MINIMAL) trust the layout only when
                // the table has the exact column count of ours.
                None if names.iter().all(|c| c.name.is_none()) && names.len() == ID_COLUMN_INDEX + 1 => Some(fallback),
                None => None,
            }
        };
        let id_idx = col_index(ID_COLUMN, ID_COLUMN_INDEX);
        let ts_idx = col_index("ts", TS_COLUMN_INDEX);
        let entry = found.get_or_insert_with(HeartbeatRow::default);
        for rc in &rows.rows {
            let Some(after) = &rc.after else { continue };
            if let Some(id) = id_idx.and_then(|i| after.cols.get(i)).and_then(|v| v.as_ref()).and_then(value_as_u64) {
                entry.id = Some(entry.id.map_or(id, |o| o.max(id)));
            }
            if let Some(ts) = ts_idx.and_then(|i| after.cols.get(i)).and_then(|v| v.as_ref()).and_then(|v| match v {
                Value::Bytes(b) => parse_pt_ts(b),
                _ => None,
            }) {
                entry.ts_us = Some(entry.ts_us.map_or(ts, |o| o.max(ts)));
            }
        }
    }
    found
}

fn value_as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::UInt(n) if *n > 0 => Some(*n),
        Value::Int(n) if *n > 0 => Some(*n as u64),
        _ => None,
    }
}

/// Parse pt-heartbeat's `ts` (`YYYY-MM-DDTHH:MM:SS[.ffffff]`, `T` or space) as UTC unix
/// microseconds.
pub fn parse_pt_ts(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(b).ok()?;
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let (hms, frac) = match time.split_once('.') {
        Some((h, f)) => (h, f),
        None => (time, ""),
    };
    let mut t = hms.splitn(3, ':');
    let hour: u64 = t.next()?.parse().ok()?;
    let minute: u64 = t.next()?.parse().ok()?;
    let second: u64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || frac.len() > 9 {
        return None;
    }
    let micros: u64 = if frac.is_empty() {
        0
    } else {
        let digits: u64 = frac.parse().ok()?;
        let len = frac.len() as u32;
        if len <= 6 { digits * 10u64.pow(6 - len) } else { digits / 10u64.pow(len - 6) }
    };
    let days = crate::utc::days_from_civil(year, month, day);
    if days < 0 {
        return None;
    }
    Some(((days as u64 * 86_400) + hour * 3600 + minute * 60 + second) * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::{ColumnDef, TableMap};
    use crate::decode::value::Row;
    use std::sync::Arc;
    use crate::txn::{RowChange, RowsChange};

    fn hb_table(named: bool) -> Arc<TableMap> {
        let names = ["ts", "server_id", "file", "position", "relay_master_log_file", "exec_master_log_pos", ID_COLUMN];
        Arc::new(TableMap {
            table_id: 1,
            schema: "parapply".into(),
            table: "heartbeat".into(),
            columns: names.iter().map(|n| ColumnDef { name: named.then(|| n.to_string()), ..Default::default() }).collect(),
            primary_key: vec![1],
            has_full_metadata: named,
            system_versioned: false,
            sequence: false,
        })
    }

    fn hb_txn(kind: RowKind, id: Option<u64>, ts: &str, named: bool) -> Transaction {
        let row = Row {
            cols: vec![
                Some(Value::Bytes(ts.as_bytes().to_vec())),
                Some(Value::UInt(1)),
                Some(Value::Null),
                Some(Value::Null),
                Some(Value::Null),
                Some(Value::Null),
                Some(id.map_or(Value::Null, Value::UInt)),
            ],
        };
        let rc = match kind {
            RowKind::Insert => RowChange { before: None, after: Some(row) },
            RowKind::Update => RowChange { before: Some(Row::default()), after: Some(row) },
            RowKind::Delete => RowChange { before: Some(row), after: None },
        };
        Transaction { changes: vec![Change::Rows(RowsChange { raw: None, table: hb_table(named), kind, rows: vec![rc], flags: 0 })], ..Default::default() }
    }

    #[test]
    fn detects_id_in_insert_and_update_after_image() {
        let t = TableRef::parse("parapply.heartbeat").unwrap();
        assert_eq!(heartbeat_id_in(&hb_txn(RowKind::Insert, Some(42), "x", true), &t), Some(42));
        assert_eq!(heartbeat_id_in(&hb_txn(RowKind::Update, Some(43), "x", true), &t), Some(43));
        assert_eq!(heartbeat_id_in(&hb_txn(RowKind::Update, Some(44), "x", false), &t), Some(44));
        assert_eq!(heartbeat_id_in(&hb_txn(RowKind::Delete, Some(45), "x", true), &t), None);
        // pt-heartbeat's own write (no id) is a heartbeat row without an id.
        assert_eq!(heartbeat_row_in(&hb_txn(RowKind::Update, None, "2026-01-02T03:04:05.500000", true), &t), Some(HeartbeatRow { id: None, ts_us: Some(1_767_323_045_500_000) }));
        let other = TableRef::parse("parapply.other").unwrap();
        assert_eq!(heartbeat_row_in(&hb_txn(RowKind::Insert, Some(42), "x", true), &other), None);
    }

    #[test]
    fn parses_pt_heartbeat_ts() {
        assert_eq!(parse_pt_ts(b"1970-01-01T00:00:00.000000"), Some(0));
        assert_eq!(parse_pt_ts(b"1970-01-02 00:00:01"), Some(86_401_000_000));
        assert_eq!(parse_pt_ts(b"2000-03-01T00:00:00.5"), Some(951_868_800_500_000));
        assert_eq!(parse_pt_ts(b"2026-13-01T00:00:00"), None);
        assert_eq!(parse_pt_ts(b"garbage"), None);
        assert_eq!(parse_pt_ts(b"\xff\xfe"), None);
        assert_eq!(parse_pt_ts(b"2026-01-01T00:00:99"), None);
    }

    #[test]
    fn table_ref_quotes() {
        let t = TableRef::parse("we`ird.t").unwrap();
        assert_eq!(t.quoted(), "`we``ird`.`t`");
        assert_eq!(TableRef::parse("nodot"), None);
        assert_eq!(TableRef::parse(".t"), None);
    }
}
