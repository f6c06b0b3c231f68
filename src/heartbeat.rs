//! The heartbeat: a row parapply writes on the source every `lag.heartbeat_interval_ms`, and the
//! helpers that recognise it when the applier applies it on the target.
//!
//! Owns the heartbeat table layout, the writer task ([`run`]) and detection
//! ([`heartbeat_id_in`], [`heartbeat_row_in`]). It reports into [`crate::lag::Progress`] and
//! must not touch the target or the binlog stream.
//!
//! # Table (pt-heartbeat compatible)
//! `lag.heartbeat_table` (default `parapply.heartbeat`) has pt-heartbeat's columns `ts
//! varchar(26)`, `server_id int unsigned PRIMARY KEY`, `file`, `position`,
//! `relay_master_log_file`, `exec_master_log_pos`, plus `parapply_seq bigint unsigned NULL`: the
//! id of the write, so that the applier can match the row to the writer's monotonic note.
//! pt-heartbeat reads and writes the same table unchanged (it names its columns); `ts` is
//! written as UTC (`YYYY-MM-DDTHH:MM:SS.ffffff`), so run `pt-heartbeat --check --utc`.
//! The table is created when missing (and the id column added to an existing pt-heartbeat
//! table); both are plain DDL on the source and replicate to the target like any other.
//!
//! # Writer
//! Each round: read `SHOW MASTER STATUS` (file, position), and `SHOW SLAVE STATUS` when the
//! source is itself a replica (dual master), upsert the row for the source's `@@server_id` with
//! the next id, and note parapply's monotonic clock right after the autocommit returns
//! ([`Progress::on_heartbeat_written`]). Then poll the source's GTID position for the backlog's
//! GTID distance ([`Progress::set_source_position`]). Ids start from the wall clock in
//! microseconds at process start, so ids from an earlier process are always smaller and never
//! match a note of this one. A source with `read_only=ON` gets no heartbeat writes (they would be
//! errant transactions on a standby); the writer logs that once and only polls positions.
//! When the source cannot be reached the writer says so ([`Progress::set_heartbeat_writer_up`]),
//! so the state becomes `source_down` and the lag keeps growing; it reconnects every interval.
//!
//! `heartbeat_mode = "read"`: nothing is written; pt-heartbeat's rows are detected when applied
//! and the lag is computed from their `ts` (clock-skew sensitive, see [`crate::lag`]).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row as SqlRow};
use tokio::sync::watch;

use crate::config::{Endpoint, LagConfig};
use crate::decode::value::Value;
use crate::lag::{Progress, SourcePosition};
use crate::net::{quote_ident, quote_str};
use crate::source::gtid::{MariadbGtidPos, MysqlGtidSet};
use crate::txn::{Change, Gtid, RowKind, Transaction};

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
    let days = days_from_civil(year, month, day);
    if days < 0 {
        return None;
    }
    Some(((days as u64 * 86_400) + hour * 3600 + minute * 60 + second) * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// What went wrong talking to the source for heartbeats (transient: the writer retries).
#[derive(Debug, thiserror::Error)]
pub enum HeartbeatError {
    #[error("heartbeat: cannot connect to source {address}: {}", crate::error_text::chain(.cause))]
    Connect { address: String, cause: Box<mysql_async::Error> },
    #[error("heartbeat: connecting to source {address} timed out after {timeout_ms} ms")]
    ConnectTimeout { address: String, timeout_ms: u64 },
    #[error("heartbeat: {what} on source {address} (table {table}): {}", crate::error_text::chain(.cause))]
    Query { what: &'static str, address: String, table: String, cause: Box<mysql_async::Error> },
    #[error("heartbeat: {what} on source {address} timed out")]
    Timeout { what: &'static str, address: String },
    #[error("heartbeat: config key `lag.heartbeat_table` = {0:?} is not schema.table")]
    BadTable(String),
}

/// Connection options for `ep`: the shared ones ([`crate::net::opts`]) with a small statement
/// cache for the writer's repeated statements.
pub fn opts_for(ep: &Endpoint) -> OptsBuilder {
    crate::net::opts(ep).stmt_cache_size(8)
}

/// The first heartbeat id of this process: wall-clock microseconds, so it is above every id an
/// earlier process wrote (unless the clock went back by more than that process's uptime).
fn first_id() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(1).max(1)
}

/// One connected writer session.
struct Session {
    conn: Conn,
    address: String,
    table: TableRef,
    is_mariadb: bool,
    read_only: bool,
    timeout: Duration,
}

impl Session {
    async fn open(ep: &Endpoint, table: &TableRef, write: bool) -> Result<Session, HeartbeatError> {
        let address = ep.address();
        let timeout = ep.connect_timeout().max(Duration::from_millis(100));
        let conn = match tokio::time::timeout(timeout, crate::net::connect(opts_for(ep))).await {
            Ok(Ok(c)) => c,
            Ok(Err(source)) => return Err(HeartbeatError::Connect { address, cause: Box::new(source) }),
            Err(_) => return Err(HeartbeatError::ConnectTimeout { address, timeout_ms: timeout.as_millis() as u64 }),
        };
        let mut s = Session { conn, address, table: table.clone(), is_mariadb: false, read_only: false, timeout };
        let (version, read_only): (String, i64) = s.first("read @@version", "SELECT @@version, @@read_only").await?.unwrap_or_default();
        s.is_mariadb = version.contains("MariaDB");
        s.read_only = read_only != 0;
        if write && !s.read_only {
            // Row events are what the applier detects; ignore failure (needs privilege) since
            // the source is expected to be ROW already.
            let _ = s.conn.query_drop("SET SESSION binlog_format = 'ROW'").await;
            s.ensure_table().await?;
        }
        Ok(s)
    }

    /// Map a query outcome under the session timeout to a [`HeartbeatError`] naming `what`.
    fn outcome<T>(&self, what: &'static str, r: Result<Result<T, mysql_async::Error>, tokio::time::error::Elapsed>) -> Result<T, HeartbeatError> {
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => Err(HeartbeatError::Query { what, address: self.address.clone(), table: self.table.to_string(), cause: Box::new(source) }),
            Err(_) => Err(HeartbeatError::Timeout { what, address: self.address.clone() }),
        }
    }

    async fn exec(&mut self, what: &'static str, sql: String) -> Result<(), HeartbeatError> {
        let r = tokio::time::timeout(self.timeout, self.conn.query_drop(sql)).await;
        self.outcome(what, r)
    }

    async fn first<T: mysql_async::prelude::FromRow + Send + 'static>(&mut self, what: &'static str, sql: &str) -> Result<Option<T>, HeartbeatError> {
        let r = tokio::time::timeout(self.timeout, self.conn.query_first::<T, _>(sql)).await;
        self.outcome(what, r)
    }

    async fn rows(&mut self, what: &'static str, sql: &str) -> Result<Vec<SqlRow>, HeartbeatError> {
        let r = tokio::time::timeout(self.timeout, self.conn.query::<SqlRow, _>(sql)).await;
        self.outcome(what, r)
    }

    /// Create the schema/table when missing and add our id column to a pt-heartbeat table.
    /// Checked through information_schema first, because `CREATE ... IF NOT EXISTS` on an
    /// existing object is still written to the binlog.
    async fn ensure_table(&mut self) -> Result<(), HeartbeatError> {
        let schema_lit = quote_str(&self.table.schema);
        let table_lit = quote_str(&self.table.table);
        let tables: Option<i64> = self
            .first("look up heartbeat table", &format!("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {schema_lit} AND TABLE_NAME = {table_lit}"))
            .await?;
        if tables.unwrap_or(0) == 0 {
            let schemas: Option<i64> =
                self.first("look up heartbeat schema", &format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {schema_lit}")).await?;
            if schemas.unwrap_or(0) == 0 {
                let sql = format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(&self.table.schema));
                self.exec("create heartbeat schema", sql).await?;
            }
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {} (\
                 ts varchar(26) NOT NULL, \
                 server_id int unsigned NOT NULL PRIMARY KEY, \
                 file varchar(255) DEFAULT NULL, \
                 position bigint unsigned DEFAULT NULL, \
                 relay_master_log_file varchar(255) DEFAULT NULL, \
                 exec_master_log_pos bigint unsigned DEFAULT NULL, \
                 {ID_COLUMN} bigint unsigned DEFAULT NULL) ENGINE=InnoDB",
                self.table.quoted()
            );
            return self.exec("create heartbeat table", sql).await;
        }
        let cols: Option<i64> = self
            .first(
                "look up heartbeat id column",
                &format!(
                    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {schema_lit} AND TABLE_NAME = {table_lit} AND COLUMN_NAME = '{ID_COLUMN}'"
                ),
            )
            .await?;
        if cols.unwrap_or(0) == 0 {
            let sql = format!("ALTER TABLE {} ADD COLUMN {ID_COLUMN} bigint unsigned DEFAULT NULL", self.table.quoted());
            self.exec("add heartbeat id column", sql).await?;
        }
        Ok(())
    }

    /// Write heartbeat `id`; returns the monotonic instant right after the commit returned.
    async fn write(&mut self, id: u64) -> Result<Instant, HeartbeatError> {
        let master = self.rows("SHOW MASTER STATUS", "SHOW MASTER STATUS").await?;
        let (file, position): (Option<String>, Option<u64>) = match master.first() {
            Some(r) => (r.get_opt::<String, _>(0).and_then(|v| v.ok()), r.get_opt::<u64, _>(1).and_then(|v| v.ok())),
            None => (None, None),
        };
        let slave = self.rows("SHOW SLAVE STATUS", "SHOW SLAVE STATUS").await.unwrap_or_default();
        let (relay_file, exec_pos): (Option<String>, Option<u64>) = match slave.first() {
            Some(r) => (
                r.get_opt::<String, _>("Relay_Master_Log_File").and_then(|v| v.ok()),
                r.get_opt::<u64, _>("Exec_Master_Log_Pos").and_then(|v| v.ok()),
            ),
            None => (None, None),
        };
        let sql = format!(
            "INSERT INTO {} (ts, server_id, file, position, relay_master_log_file, exec_master_log_pos, {ID_COLUMN}) \
             VALUES (DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f'), @@server_id, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE ts = VALUES(ts), file = VALUES(file), position = VALUES(position), \
             relay_master_log_file = VALUES(relay_master_log_file), exec_master_log_pos = VALUES(exec_master_log_pos), \
             {ID_COLUMN} = VALUES({ID_COLUMN})",
            self.table.quoted()
        );
        let r = tokio::time::timeout(self.timeout, self.conn.exec_drop(sql, (file, position, relay_file, exec_pos, id))).await;
        self.outcome("write heartbeat", r)?;
        Ok(Instant::now())
    }

    /// The source's current GTID position (one GTID per stream) and binlog file/position.
    async fn position(&mut self) -> Result<SourcePosition, HeartbeatError> {
        let gtids = if self.is_mariadb {
            let text: Option<String> = self.first("read @@gtid_binlog_pos", "SELECT @@gtid_binlog_pos").await?;
            MariadbGtidPos::parse(text.as_deref().unwrap_or("")).map(|p| p.gtids()).unwrap_or_default()
        } else {
            let text: Option<String> = self.first("read @@gtid_executed", "SELECT @@GLOBAL.gtid_executed").await?;
            match MysqlGtidSet::parse(text.as_deref().unwrap_or("")) {
                Ok(set) => set
                    .iter()
                    .filter_map(|(tsid, intervals)| {
                        // Half-open intervals: the highest executed gno is the last end − 1.
                        intervals.last().map(|(_, end)| Gtid::Mysql { uuid: tsid.uuid, tag: tsid.tag.clone(), gno: end.saturating_sub(1) })
                    })
                    .collect(),
                Err(_) => Vec::new(),
            }
        };
        let master = self.rows("SHOW MASTER STATUS", "SHOW MASTER STATUS").await?;
        let (file, pos) = match master.first() {
            Some(r) => (r.get_opt::<String, _>(0).and_then(|v| v.ok()), r.get_opt::<u64, _>(1).and_then(|v| v.ok())),
            None => (None, None),
        };
        Ok(SourcePosition { gtids, file, pos })
    }
}

/// Run the heartbeat writer (or, in read mode, only the position poller) until `stop` becomes
/// true. Errors are transient: they are logged, reported as `source_down`, and retried each
/// interval.
pub async fn run(source: Endpoint, cfg: LagConfig, progress: Arc<Progress>, mut stop: watch::Receiver<bool>) -> Result<(), HeartbeatError> {
    let table = TableRef::parse(&cfg.heartbeat_table).ok_or_else(|| HeartbeatError::BadTable(cfg.heartbeat_table.clone()))?;
    let write = cfg.heartbeat_mode != "read";
    let interval = Duration::from_millis(cfg.heartbeat_interval_ms.max(1));
    let mut next_id = first_id();
    let mut session: Option<Session> = None;
    let mut warned_read_only = false;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            if let Some(s) = session.take() {
                let _ = s.conn.disconnect().await;
            }
            return Ok(());
        }
        let round = async {
            if session.is_none() {
                session = Some(Session::open(&source, &table, write).await?);
            }
            let Some(s) = session.as_mut() else { return Ok(()) };
            if write && !s.read_only {
                let id = next_id;
                next_id += 1;
                let at = s.write(id).await?;
                progress.on_heartbeat_written(id, at);
            } else if write && !warned_read_only {
                warned_read_only = true;
                tracing::warn!(source = %s.address, table = %table, "source has read_only=ON: not writing heartbeats there (they would be errant transactions)");
            }
            let pos = s.position().await?;
            progress.set_source_position(pos);
            Ok::<(), HeartbeatError>(())
        };
        match round.await {
            Ok(()) => progress.set_heartbeat_writer_up(true),
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat round failed; will reconnect");
                progress.set_heartbeat_writer_up(false);
                session = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::{ColumnDef, TableMap};
    use crate::decode::value::Row;
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
