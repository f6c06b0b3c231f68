//! The heartbeat writer: a row parapply writes on the source every `lag.heartbeat_interval_ms`.
//!
//! Owns the heartbeat table's DDL and the writer task ([`run`], and [`follow`], which moves it
//! to a new source after a failover). Recognising the row when the applier applies it on the
//! target is the lag registry's ([`crate::lag::heartbeat_row`]): this writer depends on lag,
//! not the other way. It reports into [`crate::lag::Progress`] and must not touch the target or
//! the binlog stream.
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
use crate::lag::heartbeat_row::{TableRef, ID_COLUMN};
use crate::lag::{Progress, SourcePosition};
use crate::net::{quote_ident, quote_str};
use crate::source::gtid::{MariadbGtidPos, MysqlGtidSet};
use crate::txn::Gtid;

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

/// The heartbeat writer on `source`, restarted on the new endpoint whenever `source` changes
/// (a failover moved the writer), until `stop`. A writer that ends with an error (it logs why)
/// waits for a new source or the stop; the lag keeps growing meanwhile, which is the truth.
pub async fn follow(mut source: watch::Receiver<Endpoint>, lag: LagConfig, progress: Arc<Progress>, mut stop: watch::Receiver<bool>) {
    loop {
        let ep = source.borrow_and_update().clone();
        let (inner_tx, inner_rx) = watch::channel(false);
        let writer = run(ep.clone(), lag.clone(), progress.clone(), inner_rx);
        tokio::pin!(writer);
        let mut ended = false;
        let stopping = tokio::select! {
            r = &mut writer => {
                ended = true;
                if let Err(e) = r {
                    tracing::error!(error = %e, source = %ep.address(), "heartbeat writer stopped; heartbeat lag will keep growing");
                }
                tokio::select! {
                    changed = source.changed() => changed.is_err(),
                    _ = stop.changed() => true,
                }
            }
            changed = source.changed() => changed.is_err(),
            _ = stop.changed() => true,
        };
        if !ended {
            let _ = inner_tx.send(true);
            let _ = writer.await;
        }
        if stopping || *stop.borrow() {
            return;
        }
        tracing::info!(source = %source.borrow().address(), "heartbeat writer moves to the new source");
    }
}
