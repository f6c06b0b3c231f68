//! The live binlog source: a replication dump connection to the master, positioned by GTID or by
//! file and offset, yielding decoded events ([`LiveSource`]) and complete transactions
//! ([`TransactionStream`]), with automatic reconnects that neither double nor skip a transaction.
//!
//! Owns: the connection (mysql_async, TLS per [`crate::config::TlsMode`]), the session variables
//! a dump needs (checksum, MariaDB capability and GTID start, heartbeat period), turning
//! mysql_async's events back into the exact bytes the server sent, the current binlog file name,
//! heartbeats, reconnect and backoff, and the bridge to std threads ([`BlockingTransactions`]).
//! It must not interpret row data (that is [`crate::decode`]) nor decide what a transaction is
//! (that is [`crate::txn::Assembler`]).
//!
//! # Framing
//! mysql_async's `BinlogStream` hands out mysql_common `Event`s whose body has the checksum cut
//! off. [`raw_event_bytes`] puts header, body, the FDE's algorithm byte and the checksum back
//! together in the server's order, so parapply's own [`Decoder`] sees the bytes as they are in
//! the master's binlog file (and verifies their real CRC32). Two events are handled here instead
//! of in the decoder because the stream, not the file format, defines them:
//! - the artificial ROTATE that opens every dump (`log_pos == 0`, flag 0x20) names the current
//!   file and carries a CRC32 even when the binlog checksum is NONE (checked on MariaDB 10.11);
//! - HEARTBEAT (27), which exists only on the wire and only tells us the link is alive.
//!
//! mysql_async also expands TRANSACTION_PAYLOAD (MySQL 8 compression) into its inner events;
//! those copies are skipped (they are recognisable by their disabled checksum) because the
//! decoder expands the payload event itself.
//!
//! # Resumption
//! [`TransactionStream`] hands on only complete transactions and remembers the position just
//! after the last one handed on: the GTID position over all domains (MariaDB) or the executed
//! GTID set (MySQL) when the stream was started by GTID, else `file:end offset`. On any
//! disconnect or read error it drops the connection, discards the partial transaction and the
//! decoder state, waits (exponential backoff between `reconnect_min` and `reconnect_max`) and
//! asks the master for exactly that position again. A transaction is therefore handed on once:
//! never twice (the position is past it) and never skipped (the position is not past anything
//! not handed on).
//!
//! With [`StreamOptions::stream_txn`], a transaction that grows past the limits is handed on
//! early as a streamed head (see [`crate::txn::Splitter`]) and its rows follow in chunks; the
//! position still moves only at its end. Losing the connection inside it sends
//! [`crate::txn::StreamPiece::Interrupted`], so its consumer rolls back, and the transaction is
//! read again from its start like any partial one.
//!
//! # Error handling
//! Errors are split as in [`StreamError::is_transient`]: lost connections, killed dump threads,
//! server shutdown and timeouts are transient and lead to a reconnect; refused credentials or
//! privileges (1045/1044/1227), a position the master no longer has or never had (1236), TLS
//! failures, corrupt events and transactions that do not assemble are definite and end the
//! stream with an error naming the address and the file/offset or GTID position. The password is
//! never logged or put in an error.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, OptsBuilder};
use parking_lot::Mutex;

use crate::config::{Endpoint, SourceConfig};
use crate::decode::event::{Event, EventData, EventHeader};
use crate::decode::{event_type, DecodeError, Decoder};
use crate::source::gtid::{GtidError, GtidPosition, MariadbGtidPos, MysqlGtidSet};
use crate::txn::{AssembleError, Assembler, Gtid, Splitter, Transaction};

/// `LOG_EVENT_ARTIFICIAL_F`: the event was made up by the dump thread, it is not in the file.
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;
/// Length of the v4 common header.
const HEADER_LEN: usize = 19;

/// Where a stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// The master's oldest binlog file, from its first event.
    Earliest,
    /// A file and byte offset (the offset of a transaction's first event, or 4).
    File { file: String, pos: u64 },
    /// After the given GTID position: MariaDB `domain-server-seq,...` or a MySQL executed set.
    Gtid(GtidPosition),
}

impl StartPosition {
    /// Parse what `inspect --from` accepts: empty for [`StartPosition::Earliest`], a GTID
    /// position of either family, or `FILE:POS`.
    pub fn parse(text: &str) -> Result<StartPosition, StreamError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(StartPosition::Earliest);
        }
        let gtid_error = match GtidPosition::parse(t) {
            Ok(p) => return Ok(StartPosition::Gtid(p)),
            Err(e) => e,
        };
        if let Some((file, pos)) = t.rsplit_once(':') {
            if !file.is_empty() && !file.contains(',') && pos.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(pos) = pos.parse::<u64>() {
                    return Ok(StartPosition::File { file: file.to_string(), pos });
                }
            }
        }
        Err(StreamError::BadStart { input: text.to_string(), why: format!("not FILE:POS, and as a GTID position: {gtid_error}") })
    }
}

impl std::fmt::Display for StartPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartPosition::Earliest => f.write_str("the earliest binlog"),
            StartPosition::File { file, pos } => write!(f, "{file}:{pos}"),
            StartPosition::Gtid(g) => write!(f, "GTID position '{g}'"),
        }
    }
}

/// Everything needed to open (and reopen) a dump connection.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    pub endpoint: Endpoint,
    /// server_id to register with; unique in the topology (the master drops an older
    /// connection registered with the same id).
    pub server_id: u32,
    /// Heartbeat period asked of the master while it has nothing to send; zero disables it
    /// (and with it the dead-link detection below). Default 1 s.
    pub heartbeat_period: Duration,
    /// A link silent for this long (no event and no heartbeat) is treated as dead and
    /// reconnected. Default: three heartbeat periods, at least 5 s.
    pub idle_timeout: Option<Duration>,
    /// First reconnect delay; doubles per failed attempt up to `reconnect_max`. Default 100 ms.
    pub reconnect_min: Duration,
    /// Reconnect delay cap. Default 5 s.
    pub reconnect_max: Duration,
    /// Give up after this many consecutive failed connection attempts (`None`: never, the
    /// default for a replica daemon; `inspect` sets a small number).
    pub max_attempts: Option<u32>,
    /// Verify CRC32 checksums of received events (default true).
    pub verify_checksum: bool,
    /// Stream transactions with more row changes / bytes of row events than this instead of
    /// holding them whole (`None`, the default: never; `run` sets `apply.stream_txn_*`).
    pub stream_txn: Option<(usize, u64)>,
    /// Keep row events' logged bytes for the BINLOG statement apply path (default false; see
    /// [`crate::decode::Decoder::set_keep_raw`]).
    pub keep_raw: bool,
    /// With `keep_raw`: the applier's switch for ROWS events' bytes (see
    /// [`crate::decode::Decoder::share_raw_rows`]); `None`: always kept.
    pub raw_rows: Option<Arc<AtomicBool>>,
}

impl StreamOptions {
    pub fn new(endpoint: Endpoint, server_id: u32) -> StreamOptions {
        StreamOptions {
            endpoint,
            server_id,
            heartbeat_period: Duration::from_secs(1),
            idle_timeout: None,
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            max_attempts: None,
            verify_checksum: true,
            stream_txn: None,
            keep_raw: false,
            raw_rows: None,
        }
    }

    /// From the validated `[source]` section.
    pub fn from_config(cfg: &SourceConfig) -> StreamOptions {
        StreamOptions {
            heartbeat_period: Duration::from_millis(cfg.heartbeat_period_ms),
            reconnect_min: Duration::from_millis(cfg.reconnect_min_ms),
            reconnect_max: Duration::from_millis(cfg.reconnect_max_ms.max(cfg.reconnect_min_ms)),
            ..StreamOptions::new(cfg.endpoint.clone(), cfg.server_id)
        }
    }

    fn effective_idle_timeout(&self) -> Option<Duration> {
        if let Some(t) = self.idle_timeout {
            return Some(t);
        }
        if self.heartbeat_period.is_zero() {
            None
        } else {
            Some((self.heartbeat_period * 3).max(Duration::from_secs(5)))
        }
    }
}

/// Which server family the master is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Mariadb,
    Mysql,
}

/// A failure of the live source. See [`StreamError::is_transient`] for which ones reconnect.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("invalid start position `{input}`: {why}")]
    BadStart { input: String, why: String },
    #[error("cannot connect to {address}: {}", crate::error_text::chain(.cause))]
    Connect { address: String, cause: mysql_async::Error },
    #[error("connecting to {address} timed out after {after:?}")]
    ConnectTimeout { address: String, after: Duration },
    #[error("{address} refused user `{user}` (error {code}: {message}); check the user, its password and the host it may connect from")]
    Access { address: String, user: String, code: u16, message: String },
    /// Login worked but registering as a replica was refused: MariaDB answers a missing
    /// REPLICATION SLAVE privilege with error 1045 ("Access denied") at this point.
    #[error("{address}: user `{user}` logged in but may not read the binlog (error {code}: {message}); GRANT REPLICATION SLAVE ON *.* TO the user")]
    NoReplicationPrivilege { address: String, user: String, code: u16, message: String },
    #[error("TLS to {address} failed: {}", crate::error_text::chain(.cause))]
    Tls { address: String, cause: mysql_async::Error },
    #[error("{address}: setting up the dump failed at `{step}`: {}", crate::error_text::chain(.cause))]
    Setup { address: String, step: String, cause: mysql_async::Error },
    #[error("{address} cannot stream from {start} (error {code}: {message})")]
    PositionRefused { address: String, start: String, code: u16, message: String },
    #[error("{address}: a {wanted} start position was given but the server is {actual:?}")]
    FlavorMismatch { address: String, wanted: &'static str, actual: Flavor },
    #[error("{address}: connection lost after {file}:{pos}: {}", crate::error_text::chain(.cause))]
    Lost { address: String, file: String, pos: u64, cause: mysql_async::Error },
    #[error("{address}: the server ended the stream after {file}:{pos}")]
    Ended { address: String, file: String, pos: u64 },
    #[error("{address}: nothing received for {after:?} (no event, no heartbeat) after {file}:{pos}")]
    Idle { address: String, file: String, pos: u64, after: Duration },
    #[error("{address}: malformed event after {file}:{pos}: {what}")]
    Protocol { address: String, file: String, pos: u64, what: String },
    #[error("{address}: {}", crate::error_text::chain(.cause))]
    Decode { address: String, cause: DecodeError },
    #[error("{address}: {}", crate::error_text::chain(.cause))]
    Assemble { address: String, cause: AssembleError },
    #[error("{address}: transaction {gtid}: {}", crate::error_text::chain(.cause))]
    Position { address: String, gtid: String, cause: GtidError },
    #[error("{address}: gave up after {attempts} failed connection attempts; last error: {last}")]
    GaveUp { address: String, attempts: u32, last: Box<StreamError> },
    #[error("the stream was stopped")]
    Stopped,
}

impl StreamError {
    /// True for failures a reconnect can cure (the link, not the request, was the problem).
    pub fn is_transient(&self) -> bool {
        match self {
            StreamError::Connect { .. } | StreamError::ConnectTimeout { .. } | StreamError::Lost { .. } | StreamError::Ended { .. } | StreamError::Idle { .. } => true,
            StreamError::Setup { cause: source, .. } => is_transient_driver_error(source),
            _ => false,
        }
    }
}

/// Server error codes that mean "the connection went away", not "your request is wrong".
fn is_transient_server_code(code: u16) -> bool {
    matches!(
        code,
        1040 // too many connections
            | 1053 // server shutdown in progress
            | 1152 | 1153 | 1159 | 1161 // aborted / packet too large / net read timeouts
            | 1203 // max_user_connections
            | 1205 | 1213 // lock wait / deadlock (setup queries)
            | 1317 // query interrupted
            | 1927 // MariaDB ER_CONNECTION_KILLED
            | 2006 | 2013 // gone away / lost connection
            | 4031 // MySQL 8: client disconnected by server (inactivity)
    )
}

fn is_access_code(code: u16) -> bool {
    matches!(code, 1044 | 1045 | 1227 | 1698 | 1820 | 1862 | 4151)
}

fn is_transient_driver_error(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(mysql_async::IoError::Io(_)) => true,
        mysql_async::Error::Io(_) => false, // TLS
        mysql_async::Error::Driver(d) => matches!(d, mysql_async::DriverError::ConnectionClosed | mysql_async::DriverError::PacketOutOfOrder | mysql_async::DriverError::UnexpectedPacket { .. }),
        mysql_async::Error::Server(s) => is_transient_server_code(s.code),
        mysql_async::Error::Other(_) | mysql_async::Error::Url(_) => false,
    }
}

/// Counters and times the rest of parapply reads about the live source (lag, /status,
/// failover's source health). Plain atomics plus one short `parking_lot` lock for the times:
/// writers are the stream task, readers are HTTP handlers on other threads, and no other lock is
/// ever taken while holding it, so it cannot take part in a lock-order cycle.
#[derive(Debug, Default)]
pub struct StreamStats {
    reconnects: AtomicU64,
    failed_attempts: AtomicU64,
    heartbeats: AtomicU64,
    events: AtomicU64,
    bytes: AtomicU64,
    transactions: AtomicU64,
    partials_discarded: AtomicU64,
    connected: AtomicBool,
    connection_id: AtomicU32,
    times: Mutex<StatTimes>,
}

#[derive(Debug, Default, Clone)]
struct StatTimes {
    last_heartbeat: Option<Instant>,
    last_event: Option<Instant>,
    /// The master's own position from its last heartbeat: how far its binlog goes.
    master_head: Option<(String, u64)>,
    last_error: Option<String>,
}

/// A consistent copy of [`StreamStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatsSnapshot {
    /// Connections re-established after a loss.
    pub reconnects: u64,
    /// Connection attempts that failed (each is followed by a backoff wait).
    pub failed_attempts: u64,
    pub heartbeats: u64,
    pub events: u64,
    pub bytes: u64,
    pub transactions: u64,
    /// Transactions cut by a lost connection and discarded (they are read again in full after
    /// the reconnect).
    pub partials_discarded: u64,
    pub connected: bool,
    /// Server-side connection id of the current dump connection (0 when none).
    pub connection_id: u32,
    pub last_heartbeat: Option<Instant>,
    pub last_event: Option<Instant>,
    pub master_head: Option<(String, u64)>,
    pub last_error: Option<String>,
}

impl StreamStats {
    pub fn snapshot(&self) -> StreamStatsSnapshot {
        let times = self.times.lock().clone();
        StreamStatsSnapshot {
            reconnects: self.reconnects.load(Ordering::Relaxed),
            failed_attempts: self.failed_attempts.load(Ordering::Relaxed),
            heartbeats: self.heartbeats.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            partials_discarded: self.partials_discarded.load(Ordering::Relaxed),
            connected: self.connected.load(Ordering::Relaxed),
            connection_id: self.connection_id.load(Ordering::Relaxed),
            last_heartbeat: times.last_heartbeat,
            last_event: times.last_event,
            master_head: times.master_head,
            last_error: times.last_error,
        }
    }
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
    pub fn heartbeats(&self) -> u64 {
        self.heartbeats.load(Ordering::Relaxed)
    }
    pub fn last_heartbeat(&self) -> Option<Instant> {
        self.times.lock().last_heartbeat
    }
    fn note_event(&self, len: usize) {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
        self.times.lock().last_event = Some(Instant::now());
    }
    fn note_heartbeat(&self, file: &str, pos: u64) {
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
        let mut t = self.times.lock();
        t.last_heartbeat = Some(Instant::now());
        t.master_head = Some((file.to_string(), pos));
    }
    fn note_error(&self, e: &StreamError) {
        self.times.lock().last_error = Some(e.to_string());
    }
}

/// mysql_async connection options for `ep`: the shared ones ([`crate::net::opts`]).
pub fn connection_opts(ep: &Endpoint) -> OptsBuilder {
    crate::net::opts(ep)
}

/// What to reserve for an event's bytes: what arrived (header, body, checksum-algorithm byte,
/// checksum), never more because the header's `event_size` (up to 4 GiB) says so; a mismatch
/// is reported by [`raw_event_bytes`] after.
fn raw_capacity(declared: u32, body: usize) -> usize {
    (declared as usize).min(HEADER_LEN + body + 1 + 4)
}

/// Put a mysql_common event back into the bytes the server sent: 19-byte header, body, for a
/// FORMAT_DESCRIPTION the checksum-algorithm byte, then the 4-byte checksum when there is one.
/// The result must be exactly `event_size` long; anything else means the event was not what
/// its header claimed and is reported, not guessed at.
pub fn raw_event_bytes(ev: &mysql_common::binlog::events::Event, out: &mut Vec<u8>) -> Result<(), String> {
    let h = ev.header();
    out.clear();
    out.reserve(raw_capacity(h.event_size(), ev.data().len()));
    out.extend_from_slice(&h.timestamp().to_le_bytes());
    out.push(h.event_type_raw());
    out.extend_from_slice(&h.server_id().to_le_bytes());
    out.extend_from_slice(&h.event_size().to_le_bytes());
    out.extend_from_slice(&h.log_pos().to_le_bytes());
    out.extend_from_slice(&h.flags_raw().to_le_bytes());
    out.extend_from_slice(ev.data());
    if h.event_type_raw() == event_type::FORMAT_DESCRIPTION {
        match ev.footer().get_checksum_alg() {
            Ok(Some(alg)) => out.push(alg as u8),
            Ok(None) => {}
            Err(unknown) => out.push(unknown.0),
        }
    }
    if let Some(crc) = ev.checksum() {
        out.extend_from_slice(&crc);
    }
    if out.len() != h.event_size() as usize {
        return Err(format!("event type {} declares {} bytes but {} were received", h.event_type_raw(), h.event_size(), out.len()));
    }
    Ok(())
}

fn header_of(raw: &[u8]) -> Option<EventHeader> {
    let b = raw.get(..HEADER_LEN)?;
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Some(EventHeader { timestamp: u32_at(0), event_type: b[4], server_id: u32_at(5), event_size: u32_at(9), log_pos: u32_at(13), flags: u16::from_le_bytes([b[17], b[18]]) })
}

/// The file name in the artificial ROTATE at the start of a dump. Its body is an 8-byte
/// position and the name; a CRC32 follows when the server added one, which MariaDB does even
/// with `binlog_checksum=NONE`, so the trailer is recognised by checking it, not by the setting.
fn parse_artificial_rotate(raw: &[u8]) -> Option<(String, u64)> {
    let body = raw.get(HEADER_LEN..)?;
    let pos = u64::from_le_bytes(body.get(..8)?.try_into().ok()?);
    let mut name = body.get(8..)?;
    if raw.len() >= HEADER_LEN + 8 + 4 {
        let (covered, crc) = raw.split_at(raw.len() - 4);
        if crc32fast::hash(covered).to_le_bytes() == crc {
            name = &name[..name.len() - 4];
        }
    }
    Some((String::from_utf8_lossy(name).into_owned(), pos))
}

/// One dump connection: decoded events in stream order. It does not reconnect; see
/// [`TransactionStream`] for that.
pub struct LiveSource {
    stream: BinlogStream,
    decoder: Decoder,
    file: Arc<str>,
    /// End offset of the last event read (its `log_pos`), for error messages.
    last_pos: u64,
    address: String,
    flavor: Flavor,
    connection_id: u32,
    idle_timeout: Option<Duration>,
    stats: Arc<StreamStats>,
    scratch: Vec<u8>,
}

impl LiveSource {
    /// Connect, prepare the session and request the dump from `start`.
    pub async fn connect(opts: &StreamOptions, start: &StartPosition, stats: Arc<StreamStats>) -> Result<LiveSource, StreamError> {
        let address = opts.endpoint.address();
        let timeout = opts.endpoint.connect_timeout();
        let mut conn = match tokio::time::timeout(timeout, crate::net::connect(connection_opts(&opts.endpoint))).await {
            Err(_) => return Err(StreamError::ConnectTimeout { address, after: timeout }),
            Ok(Err(e)) => return Err(classify_connect_error(&address, &opts.endpoint.user, e)),
            Ok(Ok(c)) => c,
        };
        let setup = |step: &str, e: mysql_async::Error| classify_setup_error(&address, &opts.endpoint.user, step, e);

        let version: Option<String> = conn.query_first("SELECT VERSION()").await.map_err(|e| setup("SELECT VERSION()", e))?;
        let flavor = if version.as_deref().unwrap_or("").contains("MariaDB") { Flavor::Mariadb } else { Flavor::Mysql };

        // Checksum negotiation: tell the master we understand its checksum, whatever it is.
        // (mysql_async sets the variable again, to 'ALL', just before registering; both
        // values make the master send events exactly as its binlog stores them.)
        let mut statements = vec!["SET @master_binlog_checksum = @@global.binlog_checksum".to_string()];
        if flavor == Flavor::Mariadb {
            // 4 = MARIA_SLAVE_CAPABILITY_GTID: without it MariaDB sends no GTID events.
            statements.push("SET @mariadb_slave_capability = 4".into());
        }
        if !opts.heartbeat_period.is_zero() {
            let ns = opts.heartbeat_period.as_nanos().min(u128::from(u64::MAX));
            statements.push(format!("SET @master_heartbeat_period = {ns}"));
            if flavor == Flavor::Mysql {
                statements.push(format!("SET @source_heartbeat_period = {ns}"));
            }
        }
        let mut sids = Vec::new();
        let mut file_name: Vec<u8> = Vec::new();
        let mut pos = 4u64;
        let mut use_gtid_dump = false;
        match (start, flavor) {
            (StartPosition::Earliest, _) => {}
            (StartPosition::File { file, pos: p }, _) => {
                file_name = file.as_bytes().to_vec();
                pos = *p;
            }
            (StartPosition::Gtid(GtidPosition::Mariadb(p)), Flavor::Mariadb) => {
                // The position is digits, dashes and commas only (it was parsed), so quoting
                // it as a string literal is safe.
                statements.push(format!("SET @slave_connect_state = '{p}'"));
                // Refuse a position the master does not have instead of silently starting
                // somewhere else.
                statements.push("SET @slave_gtid_strict_mode = 1".into());
                statements.push("SET @slave_gtid_ignore_duplicates = 0".into());
            }
            (StartPosition::Gtid(GtidPosition::Mysql(set)), Flavor::Mysql) => {
                use_gtid_dump = true;
                sids = set.to_sids();
            }
            (StartPosition::Gtid(GtidPosition::Mariadb(_)), actual) => return Err(StreamError::FlavorMismatch { address: address.clone(), wanted: "MariaDB", actual }),
            (StartPosition::Gtid(GtidPosition::Mysql(_)), actual) => return Err(StreamError::FlavorMismatch { address: address.clone(), wanted: "MySQL", actual }),
        }
        for s in &statements {
            conn.query_drop(s.as_str()).await.map_err(|e| setup(s, e))?;
        }
        let connection_id = conn.id();
        let mut request = BinlogStreamRequest::new(opts.server_id).with_filename(&file_name).with_pos(pos);
        if use_gtid_dump {
            request = request.with_gtid().with_gtid_set(sids);
        }
        let stream = conn.get_binlog_stream(request).await.map_err(|e| match classify_setup_error(&address, &opts.endpoint.user, "register as replica", e) {
            StreamError::Access { address, user, code, message } => StreamError::NoReplicationPrivilege { address, user, code, message },
            other => other,
        })?;
        stats.connected.store(true, Ordering::Relaxed);
        stats.connection_id.store(connection_id, Ordering::Relaxed);
        tracing::info!(address = %address, server_id = opts.server_id, connection_id, start = %start, ?flavor, "binlog dump started");
        let file: Arc<str> = match start {
            StartPosition::File { file, .. } => Arc::from(file.as_str()),
            _ => Arc::from(""),
        };
        Ok(LiveSource {
            stream,
            decoder: {
                let mut d = Decoder::new();
                d.set_verify_checksum(opts.verify_checksum);
                d.set_keep_raw(opts.keep_raw);
                if let Some(w) = &opts.raw_rows {
                    d.share_raw_rows(w.clone());
                }
                d
            },
            file,
            last_pos: pos,
            address,
            flavor,
            connection_id,
            idle_timeout: opts.effective_idle_timeout(),
            stats,
            scratch: Vec::with_capacity(64 * 1024),
        })
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Server-side id of this dump connection (what `SHOW PROCESSLIST` lists).
    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    /// The binlog file the next event comes from.
    pub fn current_file(&self) -> &Arc<str> {
        &self.file
    }

    /// The next event. Heartbeats are returned too (as [`EventData::Heartbeat`]) so callers
    /// can see the link is alive; they belong to no transaction.
    pub async fn next_event(&mut self) -> Result<Event, StreamError> {
        loop {
            // mysql_common's event reader panics (instead of failing) on an event shorter than
            // its header claims; such bytes must end in an error naming the position, not in a
            // crashed process.
            let guarded = std::panic::AssertUnwindSafe(self.stream.next()).catch_unwind();
            let next = match self.idle_timeout {
                Some(t) => match tokio::time::timeout(t, guarded).await {
                    Ok(n) => n,
                    Err(_) => return Err(StreamError::Idle { address: self.address.clone(), file: self.file.to_string(), pos: self.last_pos, after: t }),
                },
                None => guarded.await,
            };
            let next = next.map_err(|_| self.protocol_error("the binlog reader failed on a malformed event".into()))?;
            let ev = match next {
                None => return Err(StreamError::Ended { address: self.address.clone(), file: self.file.to_string(), pos: self.last_pos }),
                Some(Err(e)) => return Err(self.classify_read_error(e)),
                Some(Ok(ev)) => ev,
            };
            // mysql_async's own expansion of a TRANSACTION_PAYLOAD: the decoder expands the
            // payload event itself, so these copies would be duplicates.
            if !ev.footer().get_checksum_enabled() {
                continue;
            }
            let mut raw = std::mem::take(&mut self.scratch);
            let result = self.handle_raw(&ev, &mut raw);
            self.scratch = raw;
            return result;
        }
    }

    fn protocol_error(&self, what: String) -> StreamError {
        StreamError::Protocol { address: self.address.clone(), file: self.file.to_string(), pos: self.last_pos, what }
    }

    fn handle_raw(&mut self, ev: &mysql_common::binlog::events::Event, raw: &mut Vec<u8>) -> Result<Event, StreamError> {
        raw_event_bytes(ev, raw).map_err(|w| self.protocol_error(w))?;
        let header = header_of(raw).ok_or_else(|| self.protocol_error("event shorter than its header".into()))?;
        self.stats.note_event(raw.len());
        let artificial = header.log_pos == 0 || header.flags & LOG_EVENT_ARTIFICIAL_F != 0;
        let offset = if header.log_pos != 0 && header.log_pos >= header.event_size { u64::from(header.log_pos - header.event_size) } else { 0 };
        match header.event_type {
            event_type::ROTATE if artificial => {
                let (name, position) = parse_artificial_rotate(raw).ok_or_else(|| self.protocol_error("artificial ROTATE too short".into()))?;
                self.file = Arc::from(name.as_str());
                return Ok(Event { header, file: self.file.clone(), offset: 0, data: EventData::Rotate { next_file: name, position } });
            }
            event_type::HEARTBEAT => {
                // The body is the master's current file name; its log_pos is how far that
                // file goes. mysql_common already cut off the checksum, if any.
                let log_file = String::from_utf8_lossy(ev.data()).into_owned();
                self.stats.note_heartbeat(&log_file, u64::from(header.log_pos));
                return Ok(Event { header, file: self.file.clone(), offset: 0, data: EventData::Heartbeat { log_file } });
            }
            _ => {}
        }
        let event = self.decoder.decode(raw, &self.file, offset).map_err(|source| StreamError::Decode { address: self.address.clone(), cause: source })?;
        if header.log_pos != 0 {
            self.last_pos = u64::from(header.log_pos);
        }
        match &event.data {
            EventData::Rotate { next_file, position } => {
                self.file = Arc::from(next_file.as_str());
                self.last_pos = *position;
            }
            EventData::Heartbeat { log_file } => self.stats.note_heartbeat(log_file, u64::from(header.log_pos)),
            _ => {}
        }
        Ok(event)
    }

    fn classify_read_error(&self, e: mysql_async::Error) -> StreamError {
        if let mysql_async::Error::Server(s) = &e {
            if s.code == 1236 {
                return StreamError::PositionRefused { address: self.address.clone(), start: format!("{}:{}", self.file, self.last_pos), code: s.code, message: s.message.clone() };
            }
            if is_access_code(s.code) {
                return StreamError::Access { address: self.address.clone(), user: String::new(), code: s.code, message: s.message.clone() };
            }
            if !is_transient_server_code(s.code) {
                return self.protocol_error(format!("server error {}: {}", s.code, s.message));
            }
        }
        StreamError::Lost { address: self.address.clone(), file: self.file.to_string(), pos: self.last_pos, cause: e }
    }

    /// Close the dump connection politely.
    pub async fn close(self) {
        self.stats.connected.store(false, Ordering::Relaxed);
        let _ = self.stream.close().await;
    }
}

fn classify_connect_error(address: &str, user: &str, e: mysql_async::Error) -> StreamError {
    match &e {
        mysql_async::Error::Server(s) if is_access_code(s.code) => StreamError::Access { address: address.into(), user: user.into(), code: s.code, message: s.message.clone() },
        mysql_async::Error::Io(mysql_async::IoError::Io(_)) => StreamError::Connect { address: address.into(), cause: e },
        mysql_async::Error::Io(_) => StreamError::Tls { address: address.into(), cause: e },
        _ if is_transient_driver_error(&e) => StreamError::Connect { address: address.into(), cause: e },
        _ => StreamError::Setup { address: address.into(), step: "connect".into(), cause: e },
    }
}

fn classify_setup_error(address: &str, user: &str, step: &str, e: mysql_async::Error) -> StreamError {
    match &e {
        mysql_async::Error::Server(s) if is_access_code(s.code) => StreamError::Access { address: address.into(), user: user.into(), code: s.code, message: s.message.clone() },
        mysql_async::Error::Server(s) if s.code == 1236 => StreamError::PositionRefused { address: address.into(), start: step.into(), code: s.code, message: s.message.clone() },
        _ if is_transient_driver_error(&e) => StreamError::Lost { address: address.into(), file: String::new(), pos: 0, cause: e },
        _ => StreamError::Setup { address: address.into(), step: step.into(), cause: e },
    }
}

/// Where a [`TransactionStream`] would resume: just after the last transaction it handed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPosition {
    /// Binlog file and the offset just past the last transaction (or the start of the file
    /// after a rotate); empty file name until the master named it.
    pub file: String,
    pub pos: u64,
    /// The GTID position including the last transaction, when the stream was started by GTID.
    pub gtid: Option<GtidPosition>,
}

impl StreamPosition {
    /// The start position that resumes right after this one.
    pub fn resume_point(&self) -> StartPosition {
        match &self.gtid {
            Some(g) => StartPosition::Gtid(g.clone()),
            None if self.file.is_empty() => StartPosition::Earliest,
            None => StartPosition::File { file: self.file.clone(), pos: self.pos },
        }
    }
}

/// Complete transactions from the live source, reconnecting as needed (see the module docs).
pub struct TransactionStream {
    opts: StreamOptions,
    source: Option<LiveSource>,
    assembler: Assembler,
    position: StreamPosition,
    /// Has a connection ever been made? (The first one is not a reconnect.)
    connected_once: bool,
    stats: Arc<StreamStats>,
    splitter: Splitter,
}

impl TransactionStream {
    /// A stream that will connect on the first call to [`TransactionStream::next`].
    pub fn new(opts: StreamOptions, start: StartPosition) -> TransactionStream {
        let position = match &start {
            StartPosition::Earliest => StreamPosition { file: String::new(), pos: 4, gtid: None },
            StartPosition::File { file, pos } => StreamPosition { file: file.clone(), pos: *pos, gtid: None },
            StartPosition::Gtid(g) => StreamPosition { file: String::new(), pos: 0, gtid: Some(g.clone()) },
        };
        let splitter = Splitter::new(opts.stream_txn.map(|(r, _)| r), opts.stream_txn.map(|(_, b)| b));
        TransactionStream { opts, source: None, assembler: Assembler::new(), position, connected_once: false, stats: Arc::new(StreamStats::default()), splitter }
    }

    /// Shared counters: reconnects, heartbeats, last heartbeat time, ...
    pub fn stats(&self) -> Arc<StreamStats> {
        self.stats.clone()
    }

    /// The position after the last transaction handed on.
    pub fn position(&self) -> &StreamPosition {
        &self.position
    }

    /// Server-side id of the current dump connection, if connected.
    pub fn connection_id(&self) -> Option<u32> {
        self.source.as_ref().map(LiveSource::connection_id)
    }

    /// Connect now (rather than on the first `next`), so that definite errors such as refused
    /// credentials surface immediately.
    pub async fn connect(&mut self) -> Result<(), StreamError> {
        if self.source.is_none() {
            self.connect_with_backoff().await?;
        }
        Ok(())
    }

    async fn connect_with_backoff(&mut self) -> Result<(), StreamError> {
        let mut delay = self.opts.reconnect_min;
        let mut attempts = 0u32;
        loop {
            let start = self.position.resume_point();
            match LiveSource::connect(&self.opts, &start, self.stats.clone()).await {
                Ok(src) => {
                    if self.connected_once {
                        self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(address = %self.opts.endpoint.address(), start = %start, "binlog stream reconnected");
                    }
                    self.connected_once = true;
                    self.source = Some(src);
                    return Ok(());
                }
                Err(e) if e.is_transient() => {
                    attempts += 1;
                    self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    self.stats.note_error(&e);
                    if self.opts.max_attempts.is_some_and(|m| attempts >= m) {
                        return Err(StreamError::GaveUp { address: self.opts.endpoint.address(), attempts, last: Box::new(e) });
                    }
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "binlog stream connect failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.opts.reconnect_max.max(self.opts.reconnect_min));
                }
                Err(e) => {
                    self.stats.note_error(&e);
                    return Err(e);
                }
            }
        }
    }

    /// Forget the connection and everything read on it after the last complete transaction.
    async fn drop_connection(&mut self) {
        self.stats.connected.store(false, Ordering::Relaxed);
        self.stats.connection_id.store(0, Ordering::Relaxed);
        if self.assembler.in_transaction() {
            self.stats.partials_discarded.fetch_add(1, Ordering::Relaxed);
        }
        self.splitter.fail("the source connection was lost inside the transaction");
        self.assembler = Assembler::new();
        if let Some(src) = self.source.take() {
            // Closing a broken link can hang on the dead socket; bound it.
            let _ = tokio::time::timeout(Duration::from_secs(1), src.close()).await;
        }
    }

    /// The next complete transaction.
    pub async fn next(&mut self) -> Result<Transaction, StreamError> {
        loop {
            if self.source.is_none() {
                self.connect_with_backoff().await?;
            }
            let Some(src) = self.source.as_mut() else { continue };
            let event = match src.next_event().await {
                Ok(ev) => ev,
                Err(e) if e.is_transient() => {
                    self.stats.note_error(&e);
                    tracing::warn!(error = %e, resume = %self.position.resume_point(), "binlog stream lost; reconnecting");
                    self.drop_connection().await;
                    continue;
                }
                Err(e) => {
                    self.stats.note_error(&e);
                    self.drop_connection().await;
                    return Err(e);
                }
            };
            if matches!(event.data, EventData::Heartbeat { .. }) {
                continue;
            }
            let real_rotate = match &event.data {
                EventData::Rotate { next_file, position } if event.header.log_pos != 0 => Some((next_file.clone(), *position)),
                EventData::Rotate { next_file, .. } if self.position.file.is_empty() => {
                    // The dump's opening ROTATE names the file an Earliest start begins in; its
                    // offset is not a transaction boundary, so only the name is taken.
                    self.position.file = next_file.clone();
                    None
                }
                _ => None,
            };
            match self.assembler.push(event) {
                Ok(Some(txn)) => {
                    self.note_transaction(&txn).map_err(|source| StreamError::Position { address: self.opts.endpoint.address(), gtid: txn.gtid.as_ref().map(Gtid::to_string).unwrap_or_default(), cause: source })?;
                    // The end of a streamed transaction goes to its stream; its head went on.
                    if let Some(txn) = self.splitter.complete(txn) {
                        return Ok(txn);
                    }
                }
                Ok(None) => {
                    if let Some((file, pos)) = real_rotate {
                        if !self.assembler.in_transaction() {
                            self.position.file = file;
                            self.position.pos = pos;
                        }
                    }
                    if let Some(head) = self.splitter.after_open_event(&mut self.assembler) {
                        return Ok(head);
                    }
                }
                Err(source) => {
                    self.drop_connection().await;
                    let e = StreamError::Assemble { address: self.opts.endpoint.address(), cause: source };
                    self.stats.note_error(&e);
                    return Err(e);
                }
            }
        }
    }

    fn note_transaction(&mut self, txn: &Transaction) -> Result<(), GtidError> {
        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
        if !txn.pos.file.is_empty() {
            self.position.file = txn.pos.file.clone();
        }
        self.position.pos = txn.pos.end;
        if let Some(g) = &mut self.position.gtid {
            match &txn.gtid {
                Some(Gtid::Anonymous) | None => {
                    // A transaction without a GTID cannot be expressed in a GTID position:
                    // from here on resume by file and offset, which names it exactly.
                    tracing::warn!(file = %txn.pos.file, pos = txn.pos.end, "transaction without GTID in a GTID-positioned stream; resuming by file position from now on");
                    self.position.gtid = None;
                }
                Some(gtid) => g.advance(gtid)?,
            }
        }
        Ok(())
    }
}

/// Transactions from the live source for std threads: a dedicated thread runs the async
/// [`TransactionStream`] and pushes into a bounded channel, so a slow consumer slows the reader
/// (backpressure) instead of growing a buffer. Dropping it stops the thread.
pub struct BlockingTransactions {
    rx: crossbeam_channel::Receiver<Result<Transaction, StreamError>>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<StreamStats>,
    position: Arc<Mutex<StreamPosition>>,
    finished: bool,
}

impl BlockingTransactions {
    /// Start streaming from `start` with room for `capacity` transactions in the channel.
    /// Connects before returning, so refused credentials and bad positions are reported here;
    /// while the master is unreachable it keeps retrying (with backoff) until
    /// `opts.max_attempts` is used up, or indefinitely when that is `None`.
    pub fn start(opts: StreamOptions, start: StartPosition, capacity: usize) -> Result<BlockingTransactions, StreamError> {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), StreamError>>();
        let mut stream = TransactionStream::new(opts, start);
        let stats = stream.stats();
        let position = Arc::new(Mutex::new(stream.position().clone()));
        let shared_position = position.clone();
        let thread = std::thread::Builder::new()
            .name("parapply-source".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StreamError::Protocol { address: String::new(), file: String::new(), pos: 0, what: format!("cannot start the stream runtime: {e}") }));
                        return;
                    }
                };
                rt.block_on(async move {
                    let first = stream.connect().await;
                    let failed = first.is_err();
                    let _ = ready_tx.send(first);
                    if failed {
                        return;
                    }
                    loop {
                        let item = tokio::select! {
                            _ = stop_rx.changed() => break,
                            item = stream.next() => item,
                        };
                        let is_err = item.is_err();
                        if item.is_ok() {
                            *shared_position.lock() = stream.position().clone();
                        }
                        // Blocking send on this dedicated thread is the backpressure; a closed
                        // channel means the consumer is gone.
                        if tx.send(item).is_err() || is_err {
                            break;
                        }
                    }
                    if let Some(src) = stream.source.take() {
                        let _ = tokio::time::timeout(Duration::from_secs(1), src.close()).await;
                    }
                });
            })
            .map_err(|e| StreamError::Protocol { address: String::new(), file: String::new(), pos: 0, what: format!("cannot start the stream thread: {e}") })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(StreamError::Stopped);
            }
        }
        Ok(BlockingTransactions { rx, stop: Some(stop_tx), thread: Some(thread), stats, position, finished: false })
    }

    pub fn stats(&self) -> Arc<StreamStats> {
        self.stats.clone()
    }

    /// Position after the last transaction the stream thread put into the channel.
    pub fn position(&self) -> StreamPosition {
        self.position.lock().clone()
    }

    /// Wait at most `timeout` for the next transaction; `None` on timeout.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Result<Transaction, StreamError>> {
        if self.finished {
            return None;
        }
        match self.rx.recv_timeout(timeout) {
            Ok(item) => {
                self.finished = item.is_err();
                Some(item)
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                self.finished = true;
                Some(Err(StreamError::Stopped))
            }
        }
    }
}

impl Iterator for BlockingTransactions {
    type Item = Result<Transaction, StreamError>;

    /// Blocks until the next transaction. After an error the iterator ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.rx.recv() {
            Ok(item) => {
                self.finished = item.is_err();
                Some(item)
            }
            Err(_) => {
                self.finished = true;
                None
            }
        }
    }
}

impl Drop for BlockingTransactions {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        // Unblock a pending send by dropping our receiver before joining.
        let (_, dummy) = crossbeam_channel::bounded(1);
        drop(std::mem::replace(&mut self.rx, dummy));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Transactions from `endpoint` starting at `start`, for blocking callers such as
/// `parapply inspect --source`: default heartbeat and backoff, and at most five consecutive
/// failed connection attempts before giving up.
pub fn transactions(endpoint: &Endpoint, start: StartPosition, server_id: u32) -> Result<BlockingTransactions, StreamError> {
    let mut opts = StreamOptions::new(endpoint.clone(), server_id);
    opts.max_attempts = Some(5);
    BlockingTransactions::start(opts, start, 256)
}

/// The MariaDB GTID position a MariaDB master reports as `@@gtid_binlog_pos`, for callers that
/// want to start "from now".
pub async fn current_mariadb_position(endpoint: &Endpoint) -> Result<MariadbGtidPos, StreamError> {
    let address = endpoint.address();
    let mut conn = crate::net::connect(connection_opts(endpoint)).await.map_err(|e| classify_connect_error(&address, &endpoint.user, e))?;
    let text: Option<String> = conn.query_first("SELECT @@GLOBAL.gtid_binlog_pos").await.map_err(|e| classify_setup_error(&address, &endpoint.user, "SELECT @@gtid_binlog_pos", e))?;
    let _ = conn.disconnect().await;
    let text = text.unwrap_or_default();
    MariadbGtidPos::parse(&text).map_err(|source| StreamError::Position { address, gtid: text, cause: source })
}

/// The executed GTID set of a MySQL master (`@@gtid_executed`).
pub async fn current_mysql_gtid_executed(endpoint: &Endpoint) -> Result<MysqlGtidSet, StreamError> {
    let address = endpoint.address();
    let mut conn = crate::net::connect(connection_opts(endpoint)).await.map_err(|e| classify_connect_error(&address, &endpoint.user, e))?;
    let text: Option<String> = conn.query_first("SELECT @@GLOBAL.gtid_executed").await.map_err(|e| classify_setup_error(&address, &endpoint.user, "SELECT @@gtid_executed", e))?;
    let _ = conn.disconnect().await;
    let text = text.unwrap_or_default();
    MysqlGtidSet::parse(&text).map_err(|source| StreamError::Position { address, gtid: text, cause: source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::Event as McEvent;

    const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn start_position_parse() {
        assert_eq!(StartPosition::parse("").unwrap(), StartPosition::Earliest);
        assert_eq!(StartPosition::parse("binlog.000002:1234").unwrap(), StartPosition::File { file: "binlog.000002".into(), pos: 1234 });
        assert_eq!(StartPosition::parse("0-1-100,1-2-5").unwrap(), StartPosition::Gtid(GtidPosition::Mariadb(MariadbGtidPos::parse("1-2-5,0-1-100").unwrap())));
        assert_eq!(StartPosition::parse(&format!("{U1}:1-5")).unwrap(), StartPosition::Gtid(GtidPosition::Mysql(MysqlGtidSet::parse(&format!("{U1}:1-5")).unwrap())));
        let e = StartPosition::parse("binlog.000002:abc").unwrap_err().to_string();
        assert!(e.starts_with("invalid start position `binlog.000002:abc`: not FILE:POS"), "{e}");
        assert!(StartPosition::parse("0-1").is_err());
    }

    #[test]
    fn resume_point_prefers_gtid() {
        let p = StreamPosition { file: "b.1".into(), pos: 99, gtid: Some(GtidPosition::parse("0-1-5").unwrap()) };
        assert_eq!(p.resume_point(), StartPosition::Gtid(GtidPosition::parse("0-1-5").unwrap()));
        let f = StreamPosition { file: "b.1".into(), pos: 99, gtid: None };
        assert_eq!(f.resume_point(), StartPosition::File { file: "b.1".into(), pos: 99 });
        assert_eq!(StreamPosition { file: String::new(), pos: 4, gtid: None }.resume_point(), StartPosition::Earliest);
    }

    #[test]
    fn artificial_rotate_with_and_without_crc() {
        let mut raw = vec![0u8; HEADER_LEN];
        raw[4] = event_type::ROTATE;
        raw.extend_from_slice(&4u64.to_le_bytes());
        raw.extend_from_slice(b"binlog.000007");
        let size = (raw.len() + 4) as u32;
        raw[9..13].copy_from_slice(&size.to_le_bytes());
        let crc = crc32fast::hash(&raw);
        let mut with_crc = raw.clone();
        with_crc.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(parse_artificial_rotate(&with_crc), Some(("binlog.000007".to_string(), 4)));
        // Without a trailer nothing is cut from the name.
        assert_eq!(parse_artificial_rotate(&raw), Some(("binlog.000007".to_string(), 4)));
        assert_eq!(parse_artificial_rotate(&raw[..HEADER_LEN + 3]), None);
    }

    /// Round trip through mysql_common's reader on real binlog files: the reassembled bytes are
    /// exactly the file's bytes, original checksums included (a recomputed checksum would hide
    /// corruption from the decoder).
    #[test]
    fn raw_bytes_roundtrip_real_files() {
        use mysql_common::binlog::EventStreamReader;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/binlog");
        let files = ["rust_mysql_common/mariadb-bin.000001", "mariadb-poc/domain_id_0/mariadb-repl-bin.000005", "mysql-binlog-connector-java/mysql-bin.checksum-crc32"];
        for name in files {
            let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut esr = EventStreamReader::new(BinlogVersion::Version4);
            let mut at = 4usize;
            let mut out = Vec::new();
            let mut n = 0;
            while at < bytes.len() {
                let size = u32::from_le_bytes(bytes[at + 9..at + 13].try_into().unwrap()) as usize;
                let ev: McEvent = esr.read(&bytes[at..at + size]).unwrap().unwrap();
                raw_event_bytes(&ev, &mut out).unwrap();
                assert_eq!(out, &bytes[at..at + size], "{name} at {at}");
                at += size;
                n += 1;
            }
            assert!(n >= 8, "{name}: only {n} events");
        }
    }

    #[test]
    fn error_classes() {
        let io = || mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)));
        assert!(StreamError::Lost { address: "a".into(), file: "f".into(), pos: 4, cause: io() }.is_transient());
        let denied = classify_connect_error("h:1", "repl", mysql_async::Error::Server(mysql_async::ServerError { code: 1045, message: "Access denied".into(), state: "28000".into() }));
        assert!(!denied.is_transient());
        assert_eq!(denied.to_string(), "h:1 refused user `repl` (error 1045: Access denied); check the user, its password and the host it may connect from");
        let refused = classify_connect_error("h:1", "repl", io());
        assert!(refused.is_transient());
        let gone = classify_setup_error("h:1", "u", "x", mysql_async::Error::Server(mysql_async::ServerError { code: 1236, message: "no such GTID".into(), state: "HY000".into() }));
        assert!(matches!(gone, StreamError::PositionRefused { code: 1236, .. }) && !gone.is_transient());
        assert!(classify_setup_error("h:1", "u", "x", mysql_async::Error::Server(mysql_async::ServerError { code: 1927, message: "killed".into(), state: "70100".into() })).is_transient());
    }

    #[test]
    fn password_not_in_debug_or_errors() {
        let mut ep = Endpoint::from_url("mysql://repl:hunter2@127.0.0.1:1").unwrap();
        ep.connect_timeout_ms = 10;
        let opts = StreamOptions::new(ep, 9);
        assert!(!format!("{opts:?}").contains("hunter2"));
        let e = classify_connect_error(&opts.endpoint.address(), &opts.endpoint.user, mysql_async::Error::Server(mysql_async::ServerError { code: 1045, message: "Access denied for user 'repl'@'localhost' (using password: YES)".into(), state: "28000".into() }));
        assert!(!e.to_string().contains("hunter2"));
    }

    /// Issue 15 item 4: the header's event_size (up to 4 GiB) does not size the buffer.
    #[test]
    fn raw_event_buffer_is_sized_by_what_arrived() {
        assert_eq!(raw_capacity(u32::MAX, 10), 19 + 10 + 5);
        assert_eq!(raw_capacity(40, 17), 40);
    }

    #[test]
    fn options_from_config() {
        let cfg = crate::config::Config::from_toml("[source]\nport=3310\nreconnect_min_ms=50\nreconnect_max_ms=800\nheartbeat_period_ms=250\nserver_id=77\n[target]\n", "t").unwrap();
        let o = StreamOptions::from_config(&cfg.source);
        assert_eq!((o.reconnect_min, o.reconnect_max, o.heartbeat_period, o.server_id, o.endpoint.port), (Duration::from_millis(50), Duration::from_millis(800), Duration::from_millis(250), 77, 3310));
        assert_eq!(o.effective_idle_timeout(), Some(Duration::from_secs(5)));
    }
}
