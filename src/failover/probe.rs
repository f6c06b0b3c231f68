//! The queries the failover watcher sends, each bounded by a timeout.
//!
//! Owns connecting to one server of the pair and reading its state: server variables and GTID
//! positions ([`ServerVars`]), the replication link (`SHOW SLAVE STATUS`, [`LinkStatus`]), and the
//! administrative statements promotion needs (read_only, STOP SLAVE, KILL). It decides nothing
//! and must not keep state between calls. Passwords stay inside the connection options.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use crate::config::Endpoint;
use crate::source::gtid::MariadbGtidPos;

/// A probe that failed: unreachable, timed out or refused, with the server's address.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{address}: {what}")]
pub struct ProbeError {
    pub address: String,
    pub what: String,
}

fn perr(ep: &Endpoint, what: impl std::fmt::Display) -> ProbeError {
    ProbeError { address: ep.address(), what: what.to_string() }
}

/// Connect with a timeout (the driver has no connect timeout of its own).
pub async fn connect(ep: &Endpoint, timeout: Duration) -> Result<Conn, ProbeError> {
    // A shorter keepalive than the other connections: the watcher must notice a dead peer fast.
    let opts = crate::net::opts(ep).tcp_keepalive(Some(Duration::from_secs(5)));
    match tokio::time::timeout(timeout, crate::net::connect(opts)).await {
        Ok(Ok(c)) => Ok(c),
        // chain(): mysql_async's own Display says "Input/output error" twice.
        Ok(Err(e)) => Err(perr(ep, format!("connect: {}", crate::error_text::chain(&e)))),
        Err(_) => Err(perr(ep, format!("connect timed out after {} ms", timeout.as_millis()))),
    }
}

/// Run one statement with a timeout, discarding results.
pub async fn exec(conn: &mut Conn, ep: &Endpoint, sql: &str, timeout: Duration) -> Result<(), ProbeError> {
    match tokio::time::timeout(timeout, conn.query_drop(sql)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(perr(ep, format!("`{sql}`: {}", crate::error_text::chain(&e)))),
        Err(_) => Err(perr(ep, format!("`{sql}` timed out after {} ms", timeout.as_millis()))),
    }
}

/// Run one query with a timeout, returning its rows.
pub async fn rows(conn: &mut Conn, ep: &Endpoint, sql: &str, timeout: Duration) -> Result<Vec<Row>, ProbeError> {
    match tokio::time::timeout(timeout, conn.query::<Row, _>(sql)).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(perr(ep, format!("`{sql}`: {}", crate::error_text::chain(&e)))),
        Err(_) => Err(perr(ep, format!("`{sql}` timed out after {} ms", timeout.as_millis()))),
    }
}

/// A column as text; NULL and missing columns are `None`.
pub fn text(row: &Row, col: &str) -> Option<String> {
    match row.get_opt::<Option<String>, _>(col) {
        Some(Ok(v)) => v,
        _ => None,
    }
}

fn num(row: &Row, col: &str) -> Option<u64> {
    text(row, col).and_then(|t| t.trim().parse().ok())
}

fn gtid_pos(ep: &Endpoint, what: &str, t: Option<String>) -> Result<MariadbGtidPos, ProbeError> {
    let t = t.unwrap_or_default();
    MariadbGtidPos::parse(t.trim()).map_err(|e| perr(ep, format!("{what} `{t}`: {e}")))
}

/// The variables the watcher, gate and doctor read from a master.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerVars {
    pub server_id: u64,
    pub gtid_domain_id: u32,
    pub read_only: bool,
    pub gtid_binlog_pos: MariadbGtidPos,
    pub gtid_slave_pos: MariadbGtidPos,
    pub auto_increment_increment: u64,
    pub auto_increment_offset: u64,
    pub binlog_format: String,
    pub binlog_row_image: String,
    pub binlog_row_metadata: String,
    pub log_bin: bool,
    pub log_slave_updates: bool,
    pub version: String,
}

const VARS_SQL: &str = "SELECT @@server_id AS server_id, @@gtid_domain_id AS gtid_domain_id, @@read_only AS read_only, \
     @@gtid_binlog_pos AS gtid_binlog_pos, @@gtid_slave_pos AS gtid_slave_pos, \
     @@auto_increment_increment AS aii, @@auto_increment_offset AS aio, @@binlog_format AS binlog_format, \
     @@binlog_row_image AS binlog_row_image, @@binlog_row_metadata AS binlog_row_metadata, \
     @@log_bin AS log_bin, @@log_slave_updates AS log_slave_updates, @@version AS version";

/// Read [`ServerVars`] on an open connection.
pub async fn server_vars(conn: &mut Conn, ep: &Endpoint, timeout: Duration) -> Result<ServerVars, ProbeError> {
    let rs = rows(conn, ep, VARS_SQL, timeout).await?;
    let row = rs.first().ok_or_else(|| perr(ep, "variables query returned no row"))?;
    Ok(ServerVars {
        server_id: num(row, "server_id").unwrap_or(0),
        gtid_domain_id: num(row, "gtid_domain_id").and_then(|d| u32::try_from(d).ok()).unwrap_or(0),
        read_only: num(row, "read_only").unwrap_or(0) != 0,
        gtid_binlog_pos: gtid_pos(ep, "gtid_binlog_pos", text(row, "gtid_binlog_pos"))?,
        gtid_slave_pos: gtid_pos(ep, "gtid_slave_pos", text(row, "gtid_slave_pos"))?,
        auto_increment_increment: num(row, "aii").unwrap_or(1),
        auto_increment_offset: num(row, "aio").unwrap_or(1),
        binlog_format: text(row, "binlog_format").unwrap_or_default(),
        binlog_row_image: text(row, "binlog_row_image").unwrap_or_default(),
        binlog_row_metadata: text(row, "binlog_row_metadata").unwrap_or_default(),
        log_bin: num(row, "log_bin").unwrap_or(0) != 0,
        log_slave_updates: num(row, "log_slave_updates").unwrap_or(0) != 0,
        version: text(row, "version").unwrap_or_default(),
    })
}

/// Connect and read [`ServerVars`]: the watcher's health check (a connect plus a query).
pub async fn check(ep: &Endpoint, timeout: Duration) -> Result<ServerVars, ProbeError> {
    let mut conn = connect(ep, timeout).await?;
    let vars = server_vars(&mut conn, ep, timeout).await;
    // Disconnect politely but never wait long for it.
    let _ = tokio::time::timeout(timeout, conn.disconnect()).await;
    vars
}

/// A server's replication link to its master (`SHOW SLAVE STATUS`, default connection).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkStatus {
    pub master_host: String,
    pub master_port: u16,
    /// `Yes`, `Connecting` or `No`.
    pub io_running: String,
    pub sql_running: String,
    pub last_io_errno: u64,
    pub last_io_error: String,
    pub last_sql_errno: u64,
    pub seconds_behind_master: Option<u64>,
    /// Received from the master (MariaDB `Gtid_IO_Pos`).
    pub gtid_io_pos: MariadbGtidPos,
    /// Heartbeats received on this link so far (`Slave_received_heartbeats`): with the received
    /// position it tells whether the link carried anything recently.
    pub heartbeats: u64,
}

impl LinkStatus {
    pub fn io_yes(&self) -> bool {
        self.io_running.eq_ignore_ascii_case("yes")
    }
    pub fn sql_yes(&self) -> bool {
        self.sql_running.eq_ignore_ascii_case("yes")
    }
}

/// `SHOW SLAVE STATUS` plus the heartbeat counter; `None` when the server replicates from nobody.
pub async fn link_status(conn: &mut Conn, ep: &Endpoint, timeout: Duration) -> Result<Option<LinkStatus>, ProbeError> {
    let rs = rows(conn, ep, "SHOW SLAVE STATUS", timeout).await?;
    let Some(row) = rs.first() else { return Ok(None) };
    let mut s = LinkStatus {
        master_host: text(row, "Master_Host").unwrap_or_default(),
        master_port: num(row, "Master_Port").and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        io_running: text(row, "Slave_IO_Running").unwrap_or_default(),
        sql_running: text(row, "Slave_SQL_Running").unwrap_or_default(),
        last_io_errno: num(row, "Last_IO_Errno").unwrap_or(0),
        last_io_error: text(row, "Last_IO_Error").unwrap_or_default(),
        last_sql_errno: num(row, "Last_SQL_Errno").unwrap_or(0),
        seconds_behind_master: num(row, "Seconds_Behind_Master"),
        gtid_io_pos: gtid_pos(ep, "Gtid_IO_Pos", text(row, "Gtid_IO_Pos"))?,
        heartbeats: 0,
    };
    let hb = rows(conn, ep, "SHOW GLOBAL STATUS LIKE 'Slave_received_heartbeats'", timeout).await?;
    s.heartbeats = hb.first().and_then(|r| num(r, "Value")).unwrap_or(0);
    Ok(Some(s))
}

/// Transactions received from the master but not applied yet, in the domains of `domains`
/// (the writer's): `Gtid_IO_Pos` minus `gtid_slave_pos`, per domain, summed.
pub fn relay_backlog(received: &MariadbGtidPos, applied: &MariadbGtidPos, skip_domain: u32) -> u64 {
    received
        .iter()
        .filter(|(d, _, _)| *d != skip_domain)
        .map(|(d, _, seq)| seq.saturating_sub(applied.get(d).map(|(_, s)| s).unwrap_or(0)))
        .sum()
}

/// Seq of `domain` in `pos`, 0 when absent.
pub fn seq_of(pos: &MariadbGtidPos, domain: u32) -> u64 {
    pos.get(domain).map(|(_, s)| s).unwrap_or(0)
}

/// Per-domain maximum of two positions (for "the writer's last known position" from several
/// witnesses). The server_id of the larger seq is kept.
pub fn max_pos(a: &MariadbGtidPos, b: &MariadbGtidPos) -> MariadbGtidPos {
    let mut out = a.clone();
    for (d, sid, seq) in b.iter() {
        if seq > seq_of(&out, d) || out.get(d).is_none() {
            out.set(d, sid, seq);
        }
    }
    out
}

/// Client connections to kill when fencing: everything but replication threads, system threads
/// and our own connection.
pub async fn client_connection_ids(conn: &mut Conn, ep: &Endpoint, timeout: Duration) -> Result<Vec<u64>, ProbeError> {
    let sql = "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() \
               AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker') \
               AND USER NOT IN ('system user', 'event_scheduler')";
    let rs = rows(conn, ep, sql, timeout).await?;
    Ok(rs.iter().filter_map(|r| num(r, "id")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 17, seen in `failover status` and the switch log's fence step): a
    /// refused connection read "connect: Input/output error: Input/output error: Connection
    /// refused".
    #[test]
    fn a_refused_connection_says_its_cause_once() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let ep = Endpoint { host: "127.0.0.1".into(), port, ..Endpoint::default() };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let err = rt.block_on(connect(&ep, Duration::from_secs(5))).map(|_| ()).unwrap_err();
        let text = err.to_string();
        assert_eq!(text, format!("127.0.0.1:{port}: connect: Input/output error: Connection refused (os error 111)"));
        assert_eq!(crate::error_text::repeated_segment(&text), None);
    }

    #[test]
    fn backlog_counts_only_other_domains() {
        let io = MariadbGtidPos::parse("1-1-120,2-2-7").unwrap();
        let applied = MariadbGtidPos::parse("1-1-100,2-2-3").unwrap();
        assert_eq!(relay_backlog(&io, &applied, 2), 20);
        assert_eq!(relay_backlog(&io, &applied, 9), 24);
        assert_eq!(relay_backlog(&applied, &io, 2), 0);
    }

    #[test]
    fn max_pos_per_domain() {
        let a = MariadbGtidPos::parse("1-1-120,2-2-7").unwrap();
        let b = MariadbGtidPos::parse("1-1-100,2-2-9,3-3-1").unwrap();
        assert_eq!(max_pos(&a, &b).to_string(), "1-1-120,2-2-9,3-3-1");
    }
}
