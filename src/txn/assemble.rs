//! Assembly: decoded events -> [`Transaction`]s.
//!
//! Owns the [`Assembler`] (which events open, extend and end a transaction, for every binlog
//! shape MySQL and MariaDB write), its [`AssembleError`], and the XA xid reader. It reads no
//! source and streams nothing: [`super::TransactionReader`] and [`super::Splitter`] drive it
//! through its public methods, and it must not reach into them. The types it builds live in
//! `txn/mod.rs`.

use std::sync::Arc;

use crate::decode::event::{Event, EventData, QueryEvent, RowsEventKind, XaId};

use super::{mariadb_flags2, BinlogPos, Change, CommitDeps, Gtid, LoadData, RowChange, RowKind, RowsChange, StatementContext, Transaction, TxnEnd, XaPart};

/// Why events could not be grouped into a transaction. Every variant names file and offset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AssembleError {
    /// A new transaction started (GTID or BEGIN) before the open one ended.
    #[error("{file} at offset {offset}: {what} while transaction {gtid} (started at {start_file}:{start}) is still open")]
    Unterminated { file: String, offset: u64, what: String, gtid: String, start_file: String, start: u64 },
    /// An event that only makes sense inside a transaction (XID, COMMIT) came outside one.
    #[error("{file} at offset {offset}: {what} outside a transaction")]
    OutsideTransaction { file: String, offset: u64, what: String },
    /// The source wrote an INCIDENT event: it says events were lost, so applying past it is
    /// unsafe (MySQL replicas stop here too).
    #[error("{file} at offset {offset}: INCIDENT event (kind {kind}): {message}")]
    Incident { file: String, offset: u64, kind: u16, message: String },
    /// A TRANSACTION_PAYLOAD held more than one transaction.
    #[error("{file} at offset {offset}: TRANSACTION_PAYLOAD holds more than one transaction")]
    PayloadSplit { file: String, offset: u64 },
    /// An `XA COMMIT` / `XA ROLLBACK` / `XA PREPARE` statement whose xid is not in a form the
    /// servers log (`X'hex',X'hex',format_id`, or quoted strings) and no event carried it.
    #[error("{file} at offset {offset}: cannot read the XA xid of {query}")]
    BadXid { file: String, offset: u64, query: String },
    /// Input ended inside a transaction.
    #[error("incomplete transaction {gtid} at end of {file}:{start} (last event ends at {end})")]
    Incomplete { gtid: String, file: String, start: u64, end: u64 },
}

/// How the transaction being built will end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A MySQL GTID / ANONYMOUS_GTID was seen: a BEGIN (or XA START) follows, or a single
    /// statement (DDL, XA COMMIT) that is the whole transaction.
    BeginOrStatement,
    /// Inside BEGIN (or a MariaDB non-standalone GTID, which implies BEGIN): ends at XID,
    /// COMMIT, ROLLBACK or XA PREPARE.
    Terminator,
    /// One statement is the whole transaction (MariaDB FL_STANDALONE, or no GTID and no BEGIN):
    /// ends at the first QUERY, at a ROWS event with STMT_END_F, or at a LOAD statement.
    Statement,
}

struct Building {
    txn: Transaction,
    expect: Expect,
    /// MariaDB GTIDs imply BEGIN; a redundant QUERY BEGIN right after one is tolerated.
    implicit_begin: bool,
    /// File of the latest event (relay logs may split a transaction across files).
    last_file: Arc<str>,
    commit_time_from_gtid: bool,
    /// Row changes in `txn.changes` (for streaming large transactions).
    rows: usize,
    /// Bytes of the row events behind `txn.changes` (uncompressed event sizes): what streaming
    /// by size measures, since a few rows of large BLOBs weigh as much as millions of small ones.
    row_bytes: u64,
    /// Files of statement-based `LOAD DATA`s being logged, by file id, until their
    /// EXECUTE_LOAD_QUERY (or DELETE_FILE) arrives.
    load_files: std::collections::HashMap<u32, Vec<u8>>,
    /// The XA id announced at the start (MariaDB GTID with an XA flag, MySQL `XA START`).
    xid: Option<XaId>,
}

impl Building {
    /// A transaction whose first event is `at`.
    fn new(at: At<'_>, expect: Expect) -> Building {
        let txn = Transaction {
            server_id: at.server_id,
            pos: BinlogPos { file: at.file.to_string(), start: at.offset, end: at.offset, end_file: at.file.to_string() },
            ..Transaction::default()
        };
        Building { txn, expect, implicit_begin: false, last_file: at.file.clone(), commit_time_from_gtid: false, rows: 0, row_bytes: 0, load_files: Default::default(), xid: None }
    }
}

/// Groups decoded events into [`Transaction`]s.
///
/// Feed every event of a stream, in order, to [`Assembler::push`]; it returns a transaction when
/// the event completes one. At the end of input call [`Assembler::finish`], which reports a
/// transaction cut off by the end of input.
///
/// Shapes understood (see the unit tests for each):
/// - MySQL 5.6+: GTID / ANONYMOUS_GTID / GTID_TAGGED, then `BEGIN` .. XID | `COMMIT` |
///   `ROLLBACK`, or a single non-BEGIN statement (DDL) that is the whole transaction;
///   XA: `XA START` .. `XA END`, XA_PREPARE event; later `XA COMMIT` as its own transaction.
/// - MariaDB: GTID (implies BEGIN) .. XID | `COMMIT`; GTID with FL_STANDALONE then one statement;
///   XA (flags2 PREPARED_XA / COMPLETED_XA) like MySQL's.
/// - No GTIDs (MySQL 5.0–5.5, 5.6 without gtid_mode): `BEGIN` .. XID | `COMMIT`, or a single
///   statement, possibly preceded by INTVAR / RAND / USER_VAR context events.
/// - TRANSACTION_PAYLOAD: its inner events are assembled as if they were inline; the payload's
///   bytes count once towards the transaction's size.
///
/// ROTATE, FORMAT_DESCRIPTION, PREVIOUS_GTIDS, GTID_LIST, BINLOG_CHECKPOINT, HEARTBEAT, STOP and
/// ignorable events belong to no transaction and are skipped, even between a transaction's events.
#[derive(Default)]
pub struct Assembler {
    building: Option<Building>,
    /// A GTID-less one-statement transaction, held back for one event: MySQL 5.0 writes an
    /// autocommitted InnoDB statement without BEGIN but with an XID after it, and that XID
    /// belongs to it. Any other next event releases it unchanged.
    held: Option<Transaction>,
}

/// Statement texts that open/close transactions, compared case-insensitively after trimming.
fn first_words(query: &str) -> String {
    // Skip leading whitespace and /* ... */ comments, which servers and clients put before
    // statements, then take the first two words uppercased.
    let mut s = query.trim_start();
    while let Some(rest) = s.strip_prefix("/*") {
        match rest.find("*/") {
            Some(end) => s = rest[end + 2..].trim_start(),
            None => return String::new(),
        }
    }
    let mut out = String::new();
    for (i, w) in s.split_whitespace().take(2).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let w: String = w.chars().take_while(|c| c.is_ascii_alphabetic() || *c == '_').collect();
        out.push_str(&w.to_ascii_uppercase());
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatementKind {
    Begin,
    Commit,
    Rollback,
    XaStart,
    XaEnd,
    XaPrepare,
    XaCommit,
    XaRollback,
    /// Row-level DML or session statements inside a transaction (INSERT, SAVEPOINT, ...).
    Dml,
    /// Anything else: DDL, GRANT, ... (implicitly commits; a barrier for scheduling).
    Ddl,
}

fn classify(query: &str) -> StatementKind {
    let w = first_words(query);
    let first = w.split(' ').next().unwrap_or("");
    match w.as_str() {
        "BEGIN" | "START TRANSACTION" => return StatementKind::Begin,
        "COMMIT" => return StatementKind::Commit,
        "ROLLBACK" => return StatementKind::Rollback,
        "XA START" | "XA BEGIN" => return StatementKind::XaStart,
        "XA END" => return StatementKind::XaEnd,
        "XA PREPARE" => return StatementKind::XaPrepare,
        "XA COMMIT" => return StatementKind::XaCommit,
        "XA ROLLBACK" => return StatementKind::XaRollback,
        _ => {}
    }
    match first {
        // "ROLLBACK TO SAVEPOINT x" has a second word, so it lands here as DML.
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" | "SAVEPOINT" | "ROLLBACK" | "RELEASE"
        | "SET" | "SELECT" | "DO" | "CALL" | "WITH" | "HANDLER" | "COMMIT" => StatementKind::Dml,
        _ => StatementKind::Ddl,
    }
}

/// The xid of a logged XA statement (`XA START|END|PREPARE|COMMIT|ROLLBACK xid ...`): gtrid
/// [, bqual [, format_id]], each string `X'hex'`, `0xhex` or quoted (`'..'`/`".."`, with
/// doubled quotes and backslash escapes), format id 1 when absent (the server's default).
/// MariaDB and MySQL log the serialized form `X'hex',X'hex',format_id`; `None` for anything
/// else (the caller then reports the statement).
pub(crate) fn xid_of_statement(query: impl AsRef<[u8]>) -> Option<XaId> {
    let q = query.as_ref();
    let mut i = 0;
    // Leading blanks and /* */ comments, then the words `XA` and the verb.
    for _ in 0..2 {
        i = skip_blanks(q, i)?;
        let start = i;
        while i < q.len() && q[i].is_ascii_alphabetic() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    i = skip_blanks(q, i)?;
    let (gtrid, mut i) = xid_string(q, i)?;
    let mut parts = vec![];
    for _ in 0..2 {
        let j = skip_blanks(q, i)?;
        if q.get(j) != Some(&b',') {
            break;
        }
        i = skip_blanks(q, j + 1)?;
        if parts.is_empty() {
            let (b, k) = xid_string(q, i)?;
            parts.push(b);
            i = k;
        } else {
            let start = i;
            if q.get(i) == Some(&b'-') {
                i += 1;
            }
            while i < q.len() && q[i].is_ascii_digit() {
                i += 1;
            }
            let n: i64 = std::str::from_utf8(&q[start..i]).ok()?.parse().ok()?;
            let format_id = i32::try_from(n).ok()?;
            return (gtrid.len() <= 64 && parts[0].len() <= 64).then(|| XaId { format_id, gtrid, bqual: parts.remove(0) });
        }
    }
    let bqual = parts.pop().unwrap_or_default();
    (gtrid.len() <= 64 && bqual.len() <= 64).then_some(XaId { format_id: 1, gtrid, bqual })
}

/// `i` past blanks and `/* */` comments (`None`: an unclosed comment).
fn skip_blanks(q: &[u8], mut i: usize) -> Option<usize> {
    loop {
        while i < q.len() && q[i].is_ascii_whitespace() {
            i += 1;
        }
        if q[i..].starts_with(b"/*") {
            let end = q[i + 2..].windows(2).position(|w| w == b"*/")?;
            i += 2 + end + 2;
        } else {
            return Some(i);
        }
    }
}

/// One xid string literal at `i`: its bytes and the index past it.
fn xid_string(q: &[u8], i: usize) -> Option<(Vec<u8>, usize)> {
    let hex_digits = |from: usize| {
        let mut j = from;
        while j < q.len() && q[j].is_ascii_hexdigit() {
            j += 1;
        }
        j
    };
    let decode_hex = |h: &[u8]| -> Option<Vec<u8>> {
        if !h.len().is_multiple_of(2) {
            return None;
        }
        h.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok()).collect()
    };
    match q.get(i..i + 2)? {
        [b'X' | b'x', b'\''] => {
            let end = hex_digits(i + 2);
            (q.get(end) == Some(&b'\'')).then_some(())?;
            Some((decode_hex(&q[i + 2..end])?, end + 1))
        }
        [b'0', b'x'] => {
            let end = hex_digits(i + 2);
            // `0x` literals have an odd digit count padded on the left.
            let h = &q[i + 2..end];
            let padded: Vec<u8> = if h.len() % 2 == 1 { std::iter::once(b'0').chain(h.iter().copied()).collect() } else { h.to_vec() };
            (!h.is_empty()).then_some(())?;
            Some((decode_hex(&padded)?, end))
        }
        [quote @ (b'\'' | b'"'), _] => {
            let quote = *quote;
            let mut out = Vec::new();
            let mut j = i + 1;
            loop {
                let c = *q.get(j)?;
                if c == quote {
                    if q.get(j + 1) == Some(&quote) {
                        out.push(quote);
                        j += 2;
                        continue;
                    }
                    return Some((out, j + 1));
                }
                if c == b'\\' {
                    let e = *q.get(j + 1)?;
                    let unescaped = match e {
                        b'0' => 0,
                        b'b' => 8,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'Z' => 26,
                        // `\%` and `\_` keep their backslash outside LIKE patterns.
                        b'%' | b'_' => {
                            out.push(b'\\');
                            e
                        }
                        other => other,
                    };
                    out.push(unescaped);
                    j += 2;
                    continue;
                }
                out.push(c);
                j += 1;
            }
        }
        _ => None,
    }
}

/// LOAD DATA statement events: each is the statement itself (it ends a no-BEGIN transaction).
fn is_load_statement(event_type: u8) -> bool {
    use crate::decode::event_type as t;
    matches!(event_type, t::LOAD | t::EXEC_LOAD | t::NEW_LOAD | t::EXECUTE_LOAD_QUERY)
}

fn gtid_text(g: &Option<Gtid>) -> String {
    match g {
        Some(g) => g.to_string(),
        None => "(no GTID)".to_string(),
    }
}

/// Where an event sits, and how much of its size counts towards the transaction (inner events
/// of a TRANSACTION_PAYLOAD count 0: the payload's own size is counted once).
#[derive(Clone, Copy)]
struct At<'a> {
    file: &'a Arc<str>,
    offset: u64,
    end: u64,
    size: u64,
    /// The event's own size, also for an inner event of a TRANSACTION_PAYLOAD (its uncompressed
    /// size): how much row data it carries.
    event_size: u64,
    timestamp: u32,
    server_id: u32,
    /// The event header's flags.
    flags: u16,
}

/// Header flag of a statement that depends on its session (temporary tables, CONNECTION_ID()):
/// `LOG_EVENT_THREAD_SPECIFIC_F` in both servers' log_event.h.
const LOG_EVENT_THREAD_SPECIFIC_F: u16 = 0x4;

impl Assembler {
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// True while a transaction has started and not ended.
    pub fn in_transaction(&self) -> bool {
        self.building.is_some()
    }

    /// Row changes the open transaction holds, when it may be streamed: it is inside BEGIN
    /// (ends at XID/COMMIT/ROLLBACK) and has a GTID to be recorded under before it ends.
    pub fn streamable_rows(&self) -> Option<usize> {
        self.streamable_size().map(|(rows, _)| rows)
    }

    /// [`Assembler::streamable_rows`] with the bytes of row events those changes came from.
    pub fn streamable_size(&self) -> Option<(usize, u64)> {
        let b = self.building.as_ref()?;
        let has_gtid = matches!(b.txn.gtid, Some(Gtid::Mariadb { .. } | Gtid::Mysql { .. }));
        (b.expect == Expect::Terminator && has_gtid).then_some((b.rows, b.row_bytes))
    }

    /// Move the open transaction's changes out (they are sent on), keeping its head.
    pub fn take_open_changes(&mut self) -> Vec<Change> {
        match self.building.as_mut() {
            Some(b) => {
                b.rows = 0;
                b.row_bytes = 0;
                std::mem::take(&mut b.txn.changes)
            }
            None => Vec::new(),
        }
    }

    /// The open transaction without its changes: GTID, commit information, position so far.
    pub fn open_head(&self) -> Option<Transaction> {
        let b = self.building.as_ref()?;
        Some(Transaction {
            gtid: b.txn.gtid.clone(),
            deps: b.txn.deps,
            commit_time_us: b.txn.commit_time_us,
            server_id: b.txn.server_id,
            thread_id: b.txn.thread_id,
            pos: b.txn.pos.clone(),
            size: b.txn.size,
            changes: Vec::new(),
            end: b.txn.end,
            is_ddl: b.txn.is_ddl,
            stream: None,
            // Whether an XA START ends in XA PREPARE or ONE PHASE shows only at its end.
            xa: None,
        })
    }

    /// Feed the next event. Returns the transaction this event completes, if any.
    ///
    /// In files without GTIDs a one-statement transaction is returned one event late (by the
    /// next `push`, or by [`Assembler::finish`]): the event after it may be its XID.
    pub fn push(&mut self, event: Event) -> Result<Option<Transaction>, AssembleError> {
        if let Some(mut held) = self.held.take() {
            if let EventData::Xid(_) = event.data {
                held.size += u64::from(event.header.event_size);
                held.pos.end = event.offset + u64::from(event.header.event_size);
                if *held.pos.end_file != *event.file {
                    held.pos.end_file = event.file.to_string();
                }
                held.end = TxnEnd::Xid;
                held.commit_time_us = u64::from(event.header.timestamp) * 1_000_000;
                return Ok(Some(held));
            }
            // With nothing open, one event can only complete a one-statement GTID-less
            // transaction, which `complete` holds back again instead of returning; should any
            // other completion ever come out here, it is held too so that none is lost.
            if let Some(t) = self.push_event(event)? {
                if self.held.is_none() {
                    self.held = Some(t);
                }
            }
            return Ok(Some(held));
        }
        self.push_event(event)
    }

    fn push_event(&mut self, event: Event) -> Result<Option<Transaction>, AssembleError> {
        let Event { header, file, offset, data } = event;
        let at = At {
            file: &file,
            offset,
            end: offset + u64::from(header.event_size),
            size: u64::from(header.event_size),
            event_size: u64::from(header.event_size),
            timestamp: header.timestamp,
            server_id: header.server_id,
            flags: header.flags,
        };
        match data {
            EventData::TransactionPayload(inner) => {
                let mut done: Option<Transaction> = None;
                let mut first = true;
                for (h, d) in inner {
                    let inner_at = At { size: if first { at.size } else { 0 }, event_size: u64::from(h.event_size), timestamp: h.timestamp, flags: h.flags, ..at };
                    first = false;
                    if let Some(t) = self.handle(h.event_type, d, inner_at)? {
                        if done.is_some() {
                            return Err(AssembleError::PayloadSplit { file: file.to_string(), offset });
                        }
                        done = Some(t);
                    }
                }
                Ok(done)
            }
            other => self.handle(header.event_type, other, at),
        }
    }
}

impl Assembler {
    /// Report a transaction cut off by the end of input, and forget it.
    /// Returns the last transaction when it was still held back (see [`Assembler::push`]).
    pub fn finish(&mut self) -> Result<Option<Transaction>, AssembleError> {
        if let Some(t) = self.held.take() {
            return Ok(Some(t));
        }
        match self.building.take() {
            None => Ok(None),
            Some(b) => Err(AssembleError::Incomplete {
                gtid: gtid_text(&b.txn.gtid),
                file: b.txn.pos.file.clone(),
                start: b.txn.pos.start,
                end: b.txn.pos.end,
            }),
        }
    }

    fn start(&mut self, at: At<'_>, expect: Expect) -> &mut Building {
        self.building.insert(Building::new(at, expect))
    }

    /// The open transaction, or a new one (no GTID) expecting `expect`.
    fn current_or_start(&mut self, at: At<'_>, expect: Expect) -> &mut Building {
        self.building.get_or_insert_with(|| Building::new(at, expect))
    }

    fn unterminated(&self, at: At<'_>, what: &str) -> AssembleError {
        let (gtid, start_file, start) = match &self.building {
            Some(b) => (gtid_text(&b.txn.gtid), b.txn.pos.file.clone(), b.txn.pos.start),
            None => (String::new(), String::new(), 0),
        };
        AssembleError::Unterminated { file: at.file.to_string(), offset: at.offset, what: what.to_string(), gtid, start_file, start }
    }

    fn outside(at: At<'_>, what: &str) -> AssembleError {
        AssembleError::OutsideTransaction { file: at.file.to_string(), offset: at.offset, what: what.to_string() }
    }

    /// Account for an event belonging to the open transaction.
    fn account(b: &mut Building, at: At<'_>) {
        b.txn.size += at.size;
        b.txn.pos.end = at.end;
        if !Arc::ptr_eq(&b.last_file, at.file) {
            b.last_file = at.file.clone();
            if *b.txn.pos.end_file != **at.file {
                b.txn.pos.end_file = at.file.to_string();
            }
        }
    }

    /// Close the open transaction with `end` at the event `at`.
    fn complete(&mut self, at: At<'_>, end: TxnEnd) -> Option<Transaction> {
        let mut b = self.building.take()?;
        Self::account(&mut b, at);
        b.txn.end = end;
        if !b.commit_time_from_gtid {
            b.txn.commit_time_us = u64::from(at.timestamp) * 1_000_000;
        }
        if b.txn.gtid.is_none() && b.expect == Expect::Statement && end == TxnEnd::Commit {
            self.held = Some(b.txn);
            return None;
        }
        Some(b.txn)
    }

    fn handle(&mut self, event_type: u8, data: EventData, at: At<'_>) -> Result<Option<Transaction>, AssembleError> {
        match data {
            EventData::MysqlGtid(g) => {
                if self.building.is_some() {
                    return Err(self.unterminated(at, "GTID event"));
                }
                let b = self.start(at, Expect::BeginOrStatement);
                b.txn.gtid = Some(if g.anonymous {
                    Gtid::Anonymous
                } else {
                    Gtid::Mysql { uuid: g.uuid, tag: g.tag.clone(), gno: g.gno.max(0) as u64 }
                });
                if let (Some(lc), Some(seq)) = (g.last_committed, g.sequence_number) {
                    b.txn.deps = CommitDeps::LogicalClock { last_committed: lc, sequence_number: seq };
                }
                if let Some(ts) = g.immediate_commit_timestamp.filter(|t| *t > 0) {
                    b.txn.commit_time_us = ts;
                    b.commit_time_from_gtid = true;
                }
                Self::account(b, at);
                Ok(None)
            }
            EventData::MariadbGtid(g) => {
                if self.building.is_some() {
                    return Err(self.unterminated(at, "GTID event"));
                }
                let standalone = g.flags2 & mariadb_flags2::STANDALONE != 0;
                let b = self.start(at, if standalone { Expect::Statement } else { Expect::Terminator });
                b.implicit_begin = !standalone;
                b.txn.gtid = Some(Gtid::Mariadb { domain: g.domain_id, server_id: at.server_id, seq: g.seq_no });
                b.txn.deps = CommitDeps::Mariadb { commit_id: g.commit_id, flags2: g.flags2 };
                b.xid = g.xid.clone();
                Self::account(b, at);
                Ok(None)
            }
            EventData::Query(q) => self.handle_query(q, at),
            EventData::Xid(_) => {
                match &self.building {
                    Some(b) if b.expect == Expect::Terminator => Ok(self.complete(at, TxnEnd::Xid)),
                    // Old servers (5.0-5.2): context events, then XID without BEGIN.
                    Some(b) if b.expect == Expect::Statement && b.txn.gtid.is_none() => Ok(self.complete(at, TxnEnd::Xid)),
                    Some(_) => Err(self.unterminated(at, "XID before BEGIN")),
                    None => Err(Self::outside(at, "XID event")),
                }
            }
            EventData::XaPrepare { one_phase, xid } => match self.building.as_mut() {
                Some(b) if b.expect == Expect::Terminator => {
                    if one_phase {
                        return Ok(self.complete(at, TxnEnd::Commit));
                    }
                    // The event's own xid is authoritative (the GTID's or XA START's is the same).
                    b.txn.xa = Some(XaPart::Prepare(xid));
                    Ok(self.complete(at, TxnEnd::XaPrepare))
                }
                Some(_) => Err(self.unterminated(at, "XA_PREPARE before XA START")),
                None => Err(Self::outside(at, "XA_PREPARE event")),
            },
            EventData::TableMap(_) => {
                // The table map travels with each ROWS event; here it only counts as bytes.
                let b = self.current_or_start(at, Expect::Statement);
                if b.expect == Expect::BeginOrStatement {
                    b.expect = Expect::Statement;
                }
                Self::account(b, at);
                Ok(None)
            }
            EventData::Rows(r) => {
                let stmt_end = r.is_stmt_end();
                let b = self.current_or_start(at, Expect::Statement);
                if b.expect == Expect::BeginOrStatement {
                    b.expect = Expect::Statement;
                }
                let kind = match r.kind {
                    RowsEventKind::Write => RowKind::Insert,
                    RowsEventKind::Update | RowsEventKind::PartialUpdate => RowKind::Update,
                    RowsEventKind::Delete => RowKind::Delete,
                };
                let rows: Vec<RowChange> = r.rows.into_iter().map(|(before, after)| RowChange { before, after }).collect();
                b.rows += rows.len();
                b.row_bytes += at.event_size;
                b.txn.changes.push(Change::Rows(RowsChange { table: r.table, kind, rows, flags: r.flags, raw: r.raw }));
                if stmt_end && b.expect == Expect::Statement {
                    return Ok(self.complete(at, TxnEnd::Commit));
                }
                Self::account(b, at);
                Ok(None)
            }
            EventData::RowsQuery(_) => {
                let b = self.current_or_start(at, Expect::Statement);
                Self::account(b, at);
                Ok(None)
            }
            EventData::IntVar { kind, value } => {
                // INTVAR types (sql/log_event.h): 1 LAST_INSERT_ID, 2 INSERT_ID.
                match kind {
                    1 => self.context(at, Change::Context(StatementContext::LastInsertId(value))),
                    2 => self.context(at, Change::Context(StatementContext::InsertId(value))),
                    other => self.context(at, Change::Opaque { event_type, what: format!("INTVAR type {other}={value}") }),
                }
                Ok(None)
            }
            EventData::Rand { seed1, seed2 } => {
                self.context(at, Change::Context(StatementContext::Rand { seed1, seed2 }));
                Ok(None)
            }
            EventData::UserVar { name, value } => {
                self.context(at, Change::Context(StatementContext::UserVar { name, value }));
                Ok(None)
            }
            EventData::LoadBlock { file_id, begin, data } => {
                let b = self.current_or_start(at, Expect::Statement);
                let file = b.load_files.entry(file_id).or_default();
                if begin {
                    file.clear();
                }
                file.extend_from_slice(&data);
                Self::account(b, at);
                Ok(None)
            }
            EventData::DeleteFile { file_id } => {
                // The LOAD DATA failed on the source: its file goes, nothing is applied.
                let b = self.current_or_start(at, Expect::Statement);
                b.load_files.remove(&file_id);
                Self::account(b, at);
                Ok(None)
            }
            EventData::ExecuteLoad(mut load) => {
                load.query.timestamp = at.timestamp;
                load.query.thread_specific = at.flags & LOG_EVENT_THREAD_SPECIFIC_F != 0;
                let b = self.current_or_start(at, Expect::Statement);
                let Some(data) = b.load_files.remove(&load.file_id) else {
                    return Err(self.unterminated(at, &format!("EXECUTE_LOAD_QUERY of file {} whose BEGIN_LOAD_QUERY was not seen", load.file_id)));
                };
                if b.txn.thread_id.is_none() {
                    b.txn.thread_id = Some(load.query.thread_id);
                }
                b.txn.changes.push(Change::Load(LoadData { load, data: data.into() }));
                if b.expect != Expect::Terminator {
                    // No BEGIN (a non-transactional table): the statement is the transaction.
                    return Ok(self.complete(at, TxnEnd::Commit));
                }
                Self::account(b, at);
                Ok(None)
            }
            EventData::Opaque => {
                let what = format!("event type {event_type}");
                if is_load_statement(event_type) {
                    let b = self.current_or_start(at, Expect::Statement);
                    if b.expect != Expect::Terminator {
                        // The LOAD statement is the whole (no-BEGIN) transaction: `complete`
                        // accounts for this event's bytes.
                        b.txn.changes.push(Change::Opaque { event_type, what });
                        return Ok(self.complete(at, TxnEnd::Commit));
                    }
                }
                self.context(at, Change::Opaque { event_type, what });
                Ok(None)
            }
            EventData::Incident { kind, message } => {
                Err(AssembleError::Incident { file: at.file.to_string(), offset: at.offset, kind, message })
            }
            EventData::TransactionPayload(_) => {
                // Nested payloads do not exist; count the bytes and carry on.
                if let Some(b) = self.building.as_mut() {
                    Self::account(b, at);
                }
                Ok(None)
            }
            EventData::FormatDescription(_)
            | EventData::Rotate { .. }
            | EventData::PreviousGtids(_)
            | EventData::MariadbGtidList(_)
            | EventData::MariadbBinlogCheckpoint(_)
            | EventData::Heartbeat { .. }
            | EventData::Stop
            | EventData::Ignored => Ok(None),
        }
    }

    /// INTVAR / RAND / USER_VAR / LOAD pieces: context for the statement that follows.
    fn context(&mut self, at: At<'_>, change: Change) {
        let b = self.current_or_start(at, Expect::Statement);
        b.txn.changes.push(change);
        Self::account(b, at);
    }

    fn handle_query(&mut self, mut q: QueryEvent, at: At<'_>) -> Result<Option<Transaction>, AssembleError> {
        q.timestamp = at.timestamp;
        q.thread_specific = at.flags & LOG_EVENT_THREAD_SPECIFIC_F != 0;
        let kind = classify(&q.text());
        let Some(b) = self.building.as_mut() else {
            // No GTID: BEGIN opens a transaction, anything else is a transaction of one statement.
            return match kind {
                StatementKind::Begin | StatementKind::XaStart => {
                    let b = self.start(at, Expect::Terminator);
                    b.txn.thread_id = Some(q.thread_id);
                    Self::account(b, at);
                    Ok(None)
                }
                StatementKind::Commit | StatementKind::Rollback | StatementKind::XaEnd | StatementKind::XaPrepare => {
                    Err(Self::outside(at, &format!("QUERY {:?}", q.text())))
                }
                _ => {
                    let b = self.start(at, Expect::Statement);
                    b.txn.thread_id = Some(q.thread_id);
                    self.single_statement(q, kind, at)
                }
            };
        };
        if b.txn.thread_id.is_none() {
            b.txn.thread_id = Some(q.thread_id);
        }
        match (b.expect, kind) {
            (Expect::BeginOrStatement, StatementKind::Begin | StatementKind::XaStart) => {
                b.expect = Expect::Terminator;
                b.txn.thread_id = Some(q.thread_id);
                if kind == StatementKind::XaStart {
                    b.xid = xid_of_statement(&q.query);
                }
                Self::account(b, at);
                Ok(None)
            }
            (Expect::Statement, StatementKind::Begin) => {
                if b.txn.changes.iter().all(|c| matches!(c, Change::Opaque { .. } | Change::Context(_))) {
                    // Context events before BEGIN: keep them and open the transaction.
                    b.expect = Expect::Terminator;
                    Self::account(b, at);
                    Ok(None)
                } else {
                    Err(self.unterminated(at, "BEGIN"))
                }
            }
            (Expect::BeginOrStatement | Expect::Statement, _) => self.single_statement(q, kind, at),
            (Expect::Terminator, StatementKind::Begin | StatementKind::XaStart) => {
                if b.implicit_begin && b.txn.changes.is_empty() {
                    b.implicit_begin = false;
                    b.txn.thread_id = Some(q.thread_id);
                    if kind == StatementKind::XaStart && b.xid.is_none() {
                        b.xid = xid_of_statement(&q.query);
                    }
                    Self::account(b, at);
                    Ok(None)
                } else {
                    Err(self.unterminated(at, "BEGIN"))
                }
            }
            (Expect::Terminator, StatementKind::Commit | StatementKind::Rollback) => {
                Ok(self.complete(at, if kind == StatementKind::Commit { TxnEnd::Commit } else { TxnEnd::Rollback }))
            }
            (Expect::Terminator, StatementKind::XaCommit | StatementKind::XaRollback) => {
                // MariaDB: a GTID with COMPLETED_XA (which implies BEGIN), then the statement.
                let xid = xid_of_statement(&q.query).or_else(|| b.xid.take()).ok_or_else(|| Self::bad_xid(at, &q))?;
                let commit = kind == StatementKind::XaCommit;
                b.txn.xa = Some(if commit { XaPart::Commit(xid) } else { XaPart::Rollback(xid) });
                b.txn.changes.push(Change::Query(q));
                Ok(self.complete(at, if commit { TxnEnd::Commit } else { TxnEnd::Rollback }))
            }
            (Expect::Terminator, StatementKind::XaPrepare) => {
                // A QUERY `XA PREPARE` (servers that log no XA_PREPARE event).
                let xid = xid_of_statement(&q.query).or_else(|| b.xid.take()).ok_or_else(|| Self::bad_xid(at, &q))?;
                b.txn.xa = Some(XaPart::Prepare(xid));
                Ok(self.complete(at, TxnEnd::XaPrepare))
            }
            (Expect::Terminator, StatementKind::XaEnd) => {
                Self::account(b, at);
                Ok(None)
            }
            (Expect::Terminator, StatementKind::Ddl) => {
                // e.g. CREATE TABLE ... SELECT logged inside BEGIN .. COMMIT (MySQL 8.0.21+).
                b.txn.is_ddl = true;
                b.txn.changes.push(Change::Query(q));
                Self::account(b, at);
                Ok(None)
            }
            (Expect::Terminator, StatementKind::Dml) => {
                b.txn.changes.push(Change::Query(q));
                Self::account(b, at);
                Ok(None)
            }
        }
    }

    /// A statement that is a whole transaction by itself (DDL, XA COMMIT, autocommitted
    /// statement without BEGIN).
    fn single_statement(&mut self, q: QueryEvent, kind: StatementKind, at: At<'_>) -> Result<Option<Transaction>, AssembleError> {
        let Some(b) = self.building.as_mut() else { return Ok(None) };
        b.txn.is_ddl = kind == StatementKind::Ddl;
        let end = if kind == StatementKind::XaRollback { TxnEnd::Rollback } else { TxnEnd::Commit };
        if matches!(kind, StatementKind::XaCommit | StatementKind::XaRollback) {
            // MySQL: `XA COMMIT xid` / `XA ROLLBACK xid` is a GTID group of its own.
            let xid = xid_of_statement(&q.query).or_else(|| b.xid.take()).ok_or_else(|| Self::bad_xid(at, &q))?;
            b.txn.xa = Some(if kind == StatementKind::XaCommit { XaPart::Commit(xid) } else { XaPart::Rollback(xid) });
        }
        b.txn.changes.push(Change::Query(q));
        Ok(self.complete(at, end))
    }

    /// An XA statement whose xid could not be read.
    fn bad_xid(at: At<'_>, q: &QueryEvent) -> AssembleError {
        AssembleError::BadXid { file: at.file.to_string(), offset: at.offset, query: format!("{:?}", q.text()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::{EventHeader, MariadbGtidEvent, RowsEvent, TableMap};
    use crate::decode::event_type as t;
    use crate::decode::value::{Row, Value};
    use crate::txn::test_events::Stream;

    fn feed(asm: &mut Assembler, events: Vec<Event>) -> Vec<Transaction> {
        let mut out = Vec::new();
        for e in events {
            if let Some(t) = asm.push(e).unwrap() {
                out.push(t);
            }
        }
        out
    }

    /// A replica's relay-log rotation split a MariaDB transaction: its first ROWS event and the
    /// ROTATE end `relay.000002`; `relay.000003` opens with its FDE and GTID_LIST, then the rest
    /// of the rows and the XID. One transaction, named by both files.
    #[test]
    fn transaction_continues_across_rotate_and_the_next_files_header() {
        let mut a = Stream::new("relay.000002");
        a.offset = 1000;
        let g = a.maria_gtid(5, 0x0c, None);
        let (tm_ev, tm) = a.table_map("big");
        let r1 = a.rows(&tm, RowsEventKind::Write, 3, false);
        let rot = a.ev(t::ROTATE, 40, EventData::Rotate { next_file: "relay.000003".into(), position: 4 });
        let mut b = Stream::new("relay.000003");
        let fde = b.ev(t::FORMAT_DESCRIPTION, 256, EventData::FormatDescription(Default::default()));
        let list = b.ev(t::MARIA_GTID_LIST, 29, EventData::MariadbGtidList(vec![]));
        let r2 = b.rows(&tm, RowsEventKind::Write, 2, true);
        let x = b.xid();
        let mut asm = Assembler::new();
        let txns = feed(&mut asm, vec![g, tm_ev, r1, rot, fde, list, r2, x]);
        assert_eq!(txns.len(), 1);
        let t = &txns[0];
        assert_eq!(t.gtid.as_ref().unwrap().to_string(), "1-7-5");
        assert_eq!(t.row_counts(), (5, 0, 0));
        assert_eq!(t.pos, BinlogPos { file: "relay.000002".into(), start: 1000, end: 4 + 256 + 29 + 40 + 31, end_file: "relay.000003".into() });
        // The relay files' own ROTATE/FDE/GTID_LIST are not part of the transaction.
        assert_eq!(t.size, 42 + 50 + 40 + 40 + 31);
        assert_eq!(asm.finish(), Ok(None));
        // Cut after the first file: incomplete, named by where it started.
        let mut a = Stream::new("relay.000002");
        let evs = vec![a.maria_gtid(5, 0x0c, None), a.table_map("big").0];
        let mut asm = Assembler::new();
        assert!(feed(&mut asm, evs).is_empty());
        assert_eq!(asm.finish().unwrap_err().to_string(), "incomplete transaction 1-7-5 at end of relay.000002:4 (last event ends at 96)");
    }

    #[test]
    fn mysql_gtid_begin_rows_xid() {
        let mut s = Stream::new("binlog.000003");
        let g = s.mysql_gtid(42, 10, 12, Some(1_700_000_000_123_456));
        let b = s.query("BEGIN");
        let (tm_ev, tm) = s.table_map("t1");
        let r1 = s.rows(&tm, RowsEventKind::Write, 2, false);
        let r2 = s.rows(&tm, RowsEventKind::Update, 1, true);
        let x = s.xid();
        let mut asm = Assembler::new();
        let txns = feed(&mut asm, vec![g, b, tm_ev, r1, r2, x]);
        assert_eq!(txns.len(), 1);
        let t = &txns[0];
        assert_eq!(t.gtid.as_ref().unwrap().to_string(), "11111111-1111-1111-1111-111111111111:42");
        assert_eq!(t.deps, CommitDeps::LogicalClock { last_committed: 10, sequence_number: 12 });
        assert_eq!(t.commit_time_us, 1_700_000_000_123_456);
        assert_eq!((t.server_id, t.thread_id), (7, Some(99)));
        assert_eq!(t.pos, BinlogPos { file: "binlog.000003".into(), start: 4, end: 4 + 65 + 75 + 50 + 40 + 40 + 31, end_file: "binlog.000003".into() });
        assert_eq!(t.size, 65 + 75 + 50 + 40 + 40 + 31);
        assert_eq!(t.row_counts(), (2, 1, 0));
        assert_eq!(t.end, TxnEnd::Xid);
        assert!(!t.is_ddl);
        assert_eq!(t.tables(), vec![("db".to_string(), "t1".to_string())]);
        match &t.changes[1] {
            Change::Rows(r) => {
                assert_eq!(r.kind, RowKind::Update);
                assert_eq!(r.rows[0].before, Some(Row { cols: vec![Some(Value::Int(0))] }));
                assert_eq!(r.rows[0].after, Some(Row { cols: vec![Some(Value::Int(100))] }));
            }
            other => panic!("{other:?}"),
        }
        assert!(!asm.in_transaction());
        assert_eq!(asm.finish(), Ok(None));
    }

    #[test]
    fn mysql_ddl_is_its_own_transaction_with_header_time() {
        let mut s = Stream::new("b.1");
        let evs = vec![s.mysql_gtid(1, 0, 1, None), s.query("/* x */ create table t (a int)"), s.mysql_gtid(2, 1, 2, None)];
        let mut asm = Assembler::new();
        let txns = feed(&mut asm, evs);
        assert_eq!(txns.len(), 1);
        assert!(txns[0].is_ddl);
        assert_eq!(txns[0].end, TxnEnd::Commit);
        assert_eq!(txns[0].commit_time_us, 1_700_000_000 * 1_000_000);
        assert!(matches!(&txns[0].changes[..], [Change::Query(q)] if q.text().ends_with("(a int)")));
        assert!(asm.in_transaction());
        let err = asm.finish().unwrap_err();
        assert_eq!(err.to_string(), "incomplete transaction 11111111-1111-1111-1111-111111111111:2 at end of b.1:169 (last event ends at 234)");
    }

    #[test]
    fn mariadb_gtid_implies_begin_and_standalone_is_one_statement() {
        let mut s = Stream::new("mariadb-bin.000001");
        let g1 = s.maria_gtid(100, mariadb_flags2::TRANSACTIONAL | mariadb_flags2::ALLOW_PARALLEL | mariadb_flags2::GROUP_COMMIT_ID, Some(345));
        let ann = s.ev(t::MARIA_ANNOTATE_ROWS, 60, EventData::RowsQuery("insert into t1 values (1)".into()));
        let (tm_ev, tm) = s.table_map("t1");
        let r = s.rows(&tm, RowsEventKind::Write, 1, true);
        let x = s.xid();
        let list = s.ev(t::MARIA_BINLOG_CHECKPOINT, 30, EventData::MariadbBinlogCheckpoint("x".into()));
        let g2 = s.maria_gtid(101, mariadb_flags2::STANDALONE | mariadb_flags2::DDL, None);
        let ddl = s.query("ALTER TABLE t1 ADD COLUMN b INT");
        let mut asm = Assembler::new();
        let txns = feed(&mut asm, vec![g1, ann, tm_ev, r, x, list, g2, ddl]);
        assert_eq!(txns.len(), 2);
        assert_eq!(txns[0].gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 100 }));
        assert_eq!(txns[0].deps, CommitDeps::Mariadb { commit_id: Some(345), flags2: 14 });
        assert_eq!(txns[0].size, 42 + 60 + 50 + 40 + 31);
        assert_eq!(txns[0].thread_id, None);
        assert_eq!((txns[0].row_counts(), txns[0].end, txns[0].is_ddl), ((1, 0, 0), TxnEnd::Xid, false));
        assert_eq!(txns[1].gtid.as_ref().unwrap().to_string(), "1-7-101");
        assert_eq!((txns[1].is_ddl, txns[1].end, txns[1].thread_id), (true, TxnEnd::Commit, Some(99)));
        assert_eq!(txns[1].pos.start, 4 + 42 + 60 + 50 + 40 + 31 + 30);
    }

    #[test]
    fn no_gtid_files_begin_commit_and_single_statements_with_context() {
        let mut s = Stream::new("mysql-bin.000001");
        let evs = vec![
            s.ev(t::FORMAT_DESCRIPTION, 103, EventData::Ignored),
            s.query("BEGIN"),
            s.ev(t::INTVAR, 28, EventData::IntVar { kind: 2, value: 5 }),
            s.query("INSERT INTO t VALUES (NULL)"),
            s.query("COMMIT"),
            s.ev(t::USER_VAR, 40, EventData::UserVar { name: "a".into(), value: Some(crate::decode::event::UserValue::Int { value: 7, unsigned: false }) }),
            s.query("insert into myisam_t values (@a)"),
            s.query("DROP TABLE x"),
            s.query("BEGIN"),
            s.query("SAVEPOINT a"),
            s.query("ROLLBACK TO SAVEPOINT a"),
            s.query("ROLLBACK"),
        ];
        let mut asm = Assembler::new();
        let txns = feed(&mut asm, evs);
        assert_eq!(txns.len(), 4);
        assert_eq!(txns[0].gtid, None);
        assert_eq!(txns[0].pos.start, 4 + 103);
        assert!(matches!(&txns[0].changes[..], [Change::Context(StatementContext::InsertId(5)), Change::Query(_)]));
        assert_eq!((txns[0].end, txns[0].is_ddl), (TxnEnd::Commit, false));
        assert!(matches!(&txns[1].changes[..], [Change::Context(StatementContext::UserVar { name, value: Some(crate::decode::event::UserValue::Int { value: 7, unsigned: false }) }), Change::Query(_)] if name == "a"));
        assert_eq!((txns[1].end, txns[1].is_ddl), (TxnEnd::Commit, false));
        assert_eq!((txns[2].end, txns[2].is_ddl), (TxnEnd::Commit, true));
        assert_eq!(txns[3].end, TxnEnd::Rollback);
        assert_eq!(txns[3].changes.len(), 2);
    }

    /// MySQL 5.0 (corrupt-relay-bin.000624 at 3961): INTVAR, INSERT without BEGIN, then XID.
    #[test]
    fn mysql50_statement_without_begin_takes_the_following_xid() {
        let mut s = Stream::new("relay.000624");
        let evs = vec![
            s.ev(t::INTVAR, 28, EventData::IntVar { kind: 2, value: 144100157 }),
            s.query("insert into CLICK values (1)"),
            s.xid(),
            s.query("BEGIN"),
            s.query("insert into RECORD values (2)"),
            s.xid(),
            s.query("CREATE TABLE t3 (a int)"),
            s.ev(t::ROTATE, 40, EventData::Rotate { next_file: "relay.000625".into(), position: 4 }),
        ];
        let mut asm = Assembler::new();
        let mut txns = feed(&mut asm, evs);
        txns.extend(asm.finish().unwrap());
        assert_eq!(txns.len(), 3);
        assert_eq!((txns[0].pos.start, txns[0].pos.end, txns[0].size, txns[0].end), (4, 4 + 28 + 98 + 31, 28 + 98 + 31, TxnEnd::Xid));
        assert!(matches!(&txns[0].changes[..], [Change::Context(StatementContext::InsertId(144100157)), Change::Query(_)]));
        assert_eq!((txns[1].end, txns[1].thread_id), (TxnEnd::Xid, Some(99)));
        assert_eq!((txns[2].end, txns[2].is_ddl, txns[2].size), (TxnEnd::Commit, true, 93));
        assert_eq!(asm.finish(), Ok(None));
    }

    #[test]
    fn old_row_events_without_begin_end_at_stmt_end() {
        let mut s = Stream::new("x");
        let (tm_ev, tm) = s.table_map("t");
        let evs = vec![tm_ev, s.rows(&tm, RowsEventKind::Write, 1, false), s.rows(&tm, RowsEventKind::Delete, 2, true)];
        let mut asm = Assembler::new();
        assert!(feed(&mut asm, evs).is_empty(), "held back: an XID may follow");
        let txns = [asm.finish().unwrap().unwrap()];
        assert_eq!(txns[0].row_counts(), (1, 0, 2));
        assert_eq!(txns[0].end, TxnEnd::Commit);
    }

    #[test]
    fn mysql_xa_prepare_then_commit() {
        let mut s = Stream::new("x");
        let (tm_ev, tm) = s.table_map("t");
        let xid = XaId { format_id: 1, gtrid: b"g".to_vec(), bqual: vec![] };
        let evs = vec![
            s.mysql_gtid(1, 0, 1, None),
            s.query("XA START X'67',X'',1"),
            tm_ev,
            s.rows(&tm, RowsEventKind::Write, 1, true),
            s.query("XA END X'67',X'',1"),
            s.ev(t::XA_PREPARE, 50, EventData::XaPrepare { one_phase: false, xid: xid.clone() }),
            s.mysql_gtid(2, 1, 2, None),
            s.query("XA COMMIT X'67',X'',1"),
            s.mysql_gtid(3, 2, 3, None),
            s.query("XA START X'68',X'',1"),
            s.query("XA END X'68',X'',1"),
            s.ev(t::XA_PREPARE, 50, EventData::XaPrepare { one_phase: true, xid }),
        ];
        let txns = feed(&mut Assembler::new(), evs);
        assert_eq!(txns.len(), 3);
        assert_eq!((txns[0].end, txns[0].row_counts()), (TxnEnd::XaPrepare, (1, 0, 0)));
        assert_eq!((txns[1].end, txns[1].is_ddl), (TxnEnd::Commit, false));
        assert!(matches!(&txns[1].changes[..], [Change::Query(q)] if q.text().starts_with("XA COMMIT")));
        assert_eq!(txns[0].xa, Some(XaPart::Prepare(XaId { format_id: 1, gtrid: b"g".to_vec(), bqual: vec![] })));
        assert_eq!(txns[1].xa, Some(XaPart::Commit(XaId { format_id: 1, gtrid: b"g".to_vec(), bqual: vec![] })));
        // ONE PHASE: an ordinary commit.
        assert_eq!((txns[2].end, txns[2].xa.clone()), (TxnEnd::Commit, None));
    }

    #[test]
    fn mariadb_xa_prepare_and_complete() {
        // The shape MariaDB 10.11 logs (checked with mariadb-binlog on a sandbox): the GTID
        // carries the xid and implies XA START, `XA END` is a QUERY, XA PREPARE an XA_PREPARE
        // event; XA ROLLBACK / XA COMMIT come later under a GTID with COMPLETED_XA.
        let mut s = Stream::new("x");
        let (tm_ev, tm) = s.table_map("t");
        let xid = XaId { format_id: 7, gtrid: vec![1, 2], bqual: vec![0xff] };
        let xa_gtid = |s: &mut Stream, seq, flags2| {
            let g = MariadbGtidEvent { seq_no: seq, domain_id: 1, server_id: 7, flags2, commit_id: None, xid: Some(xid.clone()) };
            s.ev(t::MARIA_GTID, 55, EventData::MariadbGtid(g))
        };
        let evs = vec![
            xa_gtid(&mut s, 5, mariadb_flags2::PREPARED_XA | mariadb_flags2::TRANSACTIONAL),
            tm_ev,
            s.rows(&tm, RowsEventKind::Write, 1, true),
            s.query("XA END X'0102',X'ff',7"),
            s.ev(t::XA_PREPARE, 38, EventData::XaPrepare { one_phase: false, xid: xid.clone() }),
            xa_gtid(&mut s, 6, mariadb_flags2::COMPLETED_XA | mariadb_flags2::TRANSACTIONAL),
            s.query("XA ROLLBACK X'0102',X'ff',7"),
            xa_gtid(&mut s, 7, mariadb_flags2::COMPLETED_XA | mariadb_flags2::TRANSACTIONAL),
            s.query("XA COMMIT X'0102',X'ff',7"),
            // An older shape: QUERY XA START / XA PREPARE, xid from the text.
            s.maria_gtid(8, mariadb_flags2::TRANSACTIONAL, None),
            s.query("XA START 'a','b',3"),
            s.query("XA END 'a','b',3"),
            s.query("XA PREPARE 'a','b',3"),
        ];
        let txns = feed(&mut Assembler::new(), evs);
        assert_eq!(txns.len(), 4);
        assert_eq!((txns[0].end, txns[0].row_counts()), (TxnEnd::XaPrepare, (1, 0, 0)));
        assert_eq!(txns[0].xa, Some(XaPart::Prepare(xid.clone())));
        assert_eq!((txns[1].end, txns[1].xa.clone()), (TxnEnd::Rollback, Some(XaPart::Rollback(xid.clone()))));
        assert_eq!((txns[2].end, txns[2].xa.clone()), (TxnEnd::Commit, Some(XaPart::Commit(xid))));
        let ab = XaId { format_id: 3, gtrid: b"a".to_vec(), bqual: b"b".to_vec() };
        assert_eq!((txns[3].end, txns[3].xa.clone()), (TxnEnd::XaPrepare, Some(XaPart::Prepare(ab))));
    }

    #[test]
    fn xid_text_forms() {
        let x = |f: i32, g: &[u8], b: &[u8]| Some(XaId { format_id: f, gtrid: g.to_vec(), bqual: b.to_vec() });
        assert_eq!(xid_of_statement("XA COMMIT X'7831',X'',1"), x(1, b"x1", b""));
        assert_eq!(xid_of_statement("/* c */ xa  rollback  x'00ff' , X'6271' , -5 "), x(-5, &[0, 0xff], b"bq"));
        assert_eq!(xid_of_statement("XA START 'it''s', \"q\\\"\", 2147483647"), x(i32::MAX, b"it's", b"q\""));
        assert_eq!(xid_of_statement("XA COMMIT 'x1' ONE PHASE"), x(1, b"x1", b""));
        assert_eq!(xid_of_statement("XA END 0xabc,0x01"), x(1, &[0x0a, 0xbc], &[1]));
        assert_eq!(xid_of_statement("XA COMMIT X'7',X'',1"), None, "odd hex digit count");
        assert_eq!(xid_of_statement("XA COMMIT 'a',X'',2147483648"), None, "format id out of range");
        assert_eq!(xid_of_statement("XA COMMIT 'unterminated"), None);
        assert_eq!(xid_of_statement("XA RECOVER"), None);
        assert_eq!(xid_of_statement(format!("XA COMMIT X'{}'", "ab".repeat(65))), None, "gtrid over 64 bytes");
    }

    #[test]
    fn xa_statement_without_readable_xid_is_an_error_naming_the_position() {
        let mut s = Stream::new("binlog.000003");
        let evs = vec![s.maria_gtid(6, mariadb_flags2::COMPLETED_XA, None), s.query("XA COMMIT @x")];
        let mut asm = Assembler::new();
        let mut err = None;
        for ev in evs {
            if let Err(e) = asm.push(ev) {
                err = Some(e.to_string());
            }
        }
        let err = err.expect("an error");
        assert!(err.starts_with("binlog.000003 at offset ") && err.ends_with("cannot read the XA xid of \"XA COMMIT @x\""), "{err}");
    }

    #[test]
    fn transaction_payload_is_assembled_inline() {
        let mut s = Stream::new("binlog.000057");
        let g = s.mysql_gtid(11, 0, 1, Some(5));
        let tm = Arc::new(TableMap { table: "t".into(), schema: "d".into(), ..Default::default() });
        let h = |event_type: u8| EventHeader { event_type, event_size: 10, ..Default::default() };
        let inner = vec![
            (h(t::QUERY), EventData::Query(QueryEvent { query: "BEGIN".into(), thread_id: 3, ..Default::default() })),
            (h(t::TABLE_MAP), EventData::TableMap(tm.clone())),
            (
                h(t::UPDATE_ROWS_V2),
                EventData::Rows(RowsEvent { kind: RowsEventKind::Update, table_id: 1, flags: 1, table: tm, rows: vec![(Some(Row::default()), Some(Row::default()))], raw: None }),
            ),
            (h(t::XID), EventData::Xid(1)),
        ];
        let p = s.ev(t::TRANSACTION_PAYLOAD, 300, EventData::TransactionPayload(inner));
        let txns = feed(&mut Assembler::new(), vec![g, p]);
        assert_eq!(txns.len(), 1);
        assert_eq!((txns[0].size, txns[0].pos.start, txns[0].pos.end), (365, 4, 369));
        assert_eq!((txns[0].row_counts(), txns[0].thread_id, txns[0].end), ((0, 1, 0), Some(3), TxnEnd::Xid));
    }

    #[test]
    fn errors_name_file_and_offset() {
        let mut s = Stream::new("f.000001");
        let mut asm = Assembler::new();
        let e = asm.push(s.xid()).unwrap_err();
        assert_eq!(e.to_string(), "f.000001 at offset 4: XID event outside a transaction");
        assert!(asm.push(s.mysql_gtid(1, 0, 1, None)).unwrap().is_none());
        assert!(asm.push(s.query("BEGIN")).unwrap().is_none());
        let e = asm.push(s.mysql_gtid(2, 1, 2, None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.000001 at offset 175: GTID event while transaction 11111111-1111-1111-1111-111111111111:1 (started at f.000001:35) is still open"
        );
        let e = asm.push(s.ev(t::INCIDENT, 30, EventData::Incident { kind: 1, message: "lost".into() })).unwrap_err();
        assert_eq!(e.to_string(), "f.000001 at offset 240: INCIDENT event (kind 1): lost");
    }
}
