//! Test-only: a builder of decoded events at consecutive offsets in one file, shared by the
//! assembler's and the reader's unit tests. Compiled only for tests; touches nothing else.

use std::sync::Arc;

use crate::decode::event::{Event, EventData, EventHeader, MariadbGtidEvent, MysqlGtidEvent, QueryEvent, RowsEvent, RowsEventKind, TableMap};
use crate::decode::event_type as t;
use crate::decode::value::{Row, Value};

/// Builds a stream of events at consecutive offsets in one file.
pub(super) struct Stream {
    pub(super) file: Arc<str>,
    pub(super) offset: u64,
    pub(super) ts: u32,
}

impl Stream {
    pub(super) fn new(file: &str) -> Stream {
        Stream { file: file.into(), offset: 4, ts: 1_700_000_000 }
    }
    pub(super) fn ev(&mut self, event_type: u8, size: u32, data: EventData) -> Event {
        let header = EventHeader { timestamp: self.ts, event_type, server_id: 7, event_size: size, log_pos: 0, flags: 0 };
        let e = Event { header, file: self.file.clone(), offset: self.offset, data };
        self.offset += u64::from(size);
        e
    }
    pub(super) fn mysql_gtid(&mut self, gno: i64, lc: i64, seq: i64, ts: Option<u64>) -> Event {
        let g = MysqlGtidEvent {
            uuid: [0x11; 16],
            gno,
            last_committed: Some(lc),
            sequence_number: Some(seq),
            immediate_commit_timestamp: ts,
            ..Default::default()
        };
        self.ev(t::GTID, 65, EventData::MysqlGtid(g))
    }
    pub(super) fn maria_gtid(&mut self, seq: u64, flags2: u8, commit_id: Option<u64>) -> Event {
        let g = MariadbGtidEvent { seq_no: seq, domain_id: 1, server_id: 7, flags2, commit_id, xid: None };
        self.ev(t::MARIA_GTID, 42, EventData::MariadbGtid(g))
    }
    pub(super) fn query(&mut self, sql: &str) -> Event {
        let q = QueryEvent { thread_id: 99, schema: "db".into(), query: sql.into(), ..Default::default() };
        self.ev(t::QUERY, 70 + sql.len() as u32, EventData::Query(q))
    }
    pub(super) fn table_map(&mut self, name: &str) -> (Event, Arc<TableMap>) {
        let tm = Arc::new(TableMap { table_id: 5, schema: "db".into(), table: name.into(), ..Default::default() });
        (self.ev(t::TABLE_MAP, 50, EventData::TableMap(tm.clone())), tm)
    }
    pub(super) fn rows(&mut self, tm: &Arc<TableMap>, kind: RowsEventKind, n: i64, stmt_end: bool) -> Event {
        let row = |i: i64| Row { cols: vec![Some(Value::Int(i))] };
        let rows = (0..n)
            .map(|i| match kind {
                RowsEventKind::Write => (None, Some(row(i))),
                RowsEventKind::Delete => (Some(row(i)), None),
                _ => (Some(row(i)), Some(row(i + 100))),
            })
            .collect();
        let r = RowsEvent { kind, table_id: 5, flags: if stmt_end { 1 } else { 0 }, table: tm.clone(), rows, raw: None };
        self.ev(t::WRITE_ROWS_V2, 40, EventData::Rows(r))
    }
    pub(super) fn xid(&mut self) -> Event {
        self.ev(t::XID, 31, EventData::Xid(12))
    }
}
