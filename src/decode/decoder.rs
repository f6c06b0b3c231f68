//! The stateful [`Decoder`]: event framing (common header, size check, CRC32 with the FDE
//! in-use quirk), the FORMAT_DESCRIPTION and TABLE_MAP state, and dispatch to the per-event
//! body parsers in the sibling modules.
//!
//! It must not know where bytes come from (files or network: see [`crate::source`]) nor how
//! events group into transactions (see [`crate::txn`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::event::{Event, EventData, EventHeader, FormatDescription, RawRowsEvent, RowsEventKind, TableMap};
use super::event_type as et;
use super::reader::{Fail, Res};
use super::{fde, gtid, misc, payload, query, rows, table_map, DecodeError};

/// Length of the v4 common event header.
pub const HEADER_LEN: usize = 19;
/// Length of the CRC32 trailer when the FDE says CRC32.
const CRC_LEN: usize = 4;
/// FDE flag: the file was not closed cleanly. Servers compute the FDE checksum with it cleared.
const LOG_EVENT_BINLOG_IN_USE_F: u16 = 0x1;
/// Header flag: a replica that does not know this event type may skip it.
const LOG_EVENT_IGNORABLE_F: u16 = 0x80;
/// Default cap on a decompressed TRANSACTION_PAYLOAD (MySQL's own limit is 1 GiB).
pub const DEFAULT_MAX_PAYLOAD_SIZE: usize = 1 << 30;

/// Stateful event decoder: remembers the FORMAT_DESCRIPTION in force (header layout, checksum
/// algorithm) and the TABLE_MAPs seen, which later ROWS events refer to by table id.
///
/// Use one `Decoder` per binlog stream (files of one server in order, or one live connection).
#[derive(Debug)]
pub struct Decoder {
    fde: Option<FormatDescription>,
    /// CRC32 present after every event body (from the FDE in force).
    has_crc: bool,
    /// Verify CRC32 when present (default on).
    verify_checksum: bool,
    tables: HashMap<u64, CachedTable>,
    max_payload_size: usize,
    /// Keep the raw bytes of FDE, TABLE_MAP and ROWS events (see [`Decoder::set_keep_raw`]).
    keep_raw: bool,
    /// With `keep_raw`: whether ROWS events keep theirs now (see [`Decoder::share_raw_rows`]).
    rows_wanted: Option<Arc<AtomicBool>>,
    /// A statement naming TRIGGER or VERSIONING has been decoded: from here on every ROWS event keeps its
    /// bytes whatever `rows_wanted` says (see [`Decoder::share_raw_rows`]).
    trigger_ddl_seen: bool,
    /// The FORMAT_DESCRIPTION event in force, as logged (only with `keep_raw`).
    fde_raw: Option<Arc<[u8]>>,
}

/// A TABLE_MAP with the body bytes it was parsed from: servers resend the same TABLE_MAP in
/// every transaction, and comparing bytes is much cheaper than parsing again.
#[derive(Debug)]
struct CachedTable {
    body: Box<[u8]>,
    map: Arc<TableMap>,
    /// The whole TABLE_MAP event as logged (only with `keep_raw`).
    raw: Option<Arc<[u8]>>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder before any FDE: v4 header, no checksum, CRC verification on, payload cap
    /// [`DEFAULT_MAX_PAYLOAD_SIZE`].
    pub fn new() -> Decoder {
        Decoder {
            fde: None,
            has_crc: false,
            verify_checksum: true,
            tables: HashMap::new(),
            max_payload_size: DEFAULT_MAX_PAYLOAD_SIZE,
            keep_raw: false,
            rows_wanted: None,
            trigger_ddl_seen: false,
            fde_raw: None,
        }
    }

    /// Keep each replayable ROWS event's bytes, with its TABLE_MAP's and the FDE's, in
    /// [`crate::decode::event::RowsEvent::raw`] (default off: the SQL apply path needs only the
    /// decoded rows, and the bytes would double what a transaction holds). Kept for the ROWS
    /// types a MariaDB server applies in a BINLOG statement: v1 (23-25, MariaDB), v2 (30-32,
    /// MySQL 5.6+) and MariaDB's compressed ones (166-171); not for PARTIAL_UPDATE_ROWS nor
    /// for events inside a TRANSACTION_PAYLOAD (they have no event of their own to send).
    pub fn set_keep_raw(&mut self, on: bool) {
        self.keep_raw = on;
        if !on {
            self.fde_raw = None;
        }
    }

    /// With `keep_raw`, keep ROWS events' bytes only while `wanted` is true. The applier sets
    /// it: bytes are needed only for tables with triggers on the target (or with
    /// `apply.row_events = binlog`), and copying every ROWS event costs the SQL path
    /// measurably. The reader decodes ahead of the applier, so a trigger the stream itself
    /// creates must not wait for the applier to notice it: once a statement naming `TRIGGER`
    /// (or `VERSIONING`: system-versioned tables take the same path) is decoded, every later
    /// ROWS event keeps its bytes regardless.
    pub fn share_raw_rows(&mut self, wanted: Arc<AtomicBool>) {
        self.rows_wanted = Some(wanted);
    }

    fn rows_wanted(&self) -> bool {
        self.trigger_ddl_seen || self.rows_wanted.as_ref().is_none_or(|w| w.load(Ordering::Relaxed))
    }

    /// Turn CRC32 verification on or off (default on). The trailing 4 bytes are still stripped.
    pub fn set_verify_checksum(&mut self, on: bool) {
        self.verify_checksum = on;
    }

    /// Cap on the decompressed size of one TRANSACTION_PAYLOAD (default 1 GiB).
    pub fn set_max_payload_size(&mut self, bytes: usize) {
        self.max_payload_size = bytes;
    }

    /// Decode one complete event (19-byte header + body + 4-byte CRC32 when the FDE says so).
    /// `offset` is the event's byte offset in `file` (used in errors).
    pub fn decode(&mut self, raw: &[u8], file: &Arc<str>, offset: u64) -> Result<Event, DecodeError> {
        let Some(header) = parse_header(raw) else {
            return Err(DecodeError {
                file: file.to_string(),
                offset,
                what: format!("truncated event: {} bytes, shorter than the 19-byte header", raw.len()),
            });
        };
        if header.event_size as usize != raw.len() {
            return Err(make_error(
                file,
                offset,
                header.event_type,
                Fail::new(9, format!("header says event_size {} but {} bytes were given", header.event_size, raw.len())),
            ));
        }
        match self.decode_framed(&header, raw) {
            Ok(mut data) => {
                if self.keep_raw {
                    self.attach_raw(raw, &mut data);
                }
                Ok(Event { header, file: Arc::clone(file), offset, data })
            }
            Err(fail) => Err(make_error(file, offset, header.event_type, fail)),
        }
    }

    /// Remember the FDE and TABLE_MAP bytes, and give a replayable ROWS event its own with them.
    fn attach_raw(&mut self, raw: &[u8], data: &mut EventData) {
        match data {
            EventData::FormatDescription(_) => self.fde_raw = Some(raw.into()),
            EventData::TableMap(map) => {
                if let Some(cached) = self.tables.get_mut(&map.table_id) {
                    // A byte-identical body resent: the bytes kept from its first event serve.
                    if cached.raw.is_none() {
                        cached.raw = Some(raw.into());
                    }
                }
            }
            EventData::Query(q) if !self.trigger_ddl_seen && q.query.len() >= 7 => {
                // `WITH SYSTEM VERSIONING` / `ADD SYSTEM VERSIONING`: a versioned table's rows go
                // as BINLOG statements too.
                self.trigger_ddl_seen = q.query.windows(7).any(|w| w.eq_ignore_ascii_case(b"TRIGGER")) || q.query.windows(10).any(|w| w.eq_ignore_ascii_case(b"VERSIONING"));
            }
            EventData::Rows(rows) if rows.kind != RowsEventKind::PartialUpdate && self.rows_wanted() => {
                let table_map = self.tables.get(&rows.table_id).and_then(|c| c.raw.clone());
                if let (Some(fde), Some(table_map)) = (self.fde_raw.clone(), table_map) {
                    let t = raw.get(4).copied().unwrap_or(0);
                    let event: Box<[u8]> = if (et::MARIA_WRITE_ROWS_COMPRESSED_V1..=et::MARIA_DELETE_ROWS_COMPRESSED).contains(&t) {
                        // The target's BINLOG statement takes no compressed event: replay the plain one.
                        let v2 = t >= et::MARIA_WRITE_ROWS_COMPRESSED;
                        match crate::decode::compressed::inflate_rows_event(raw, self.header_len(), self.post_header_len(t, if v2 { 10 } else { 8 }), self.has_crc, self.max_payload_size) {
                            Some(plain) => plain.into(),
                            None => return,
                        }
                    } else {
                        raw.into()
                    };
                    rows.raw = Some(Arc::new(RawRowsEvent { fde, table_map, event }));
                }
            }
            _ => {}
        }
    }

    /// The next file of the same stream begins: forget the FORMAT_DESCRIPTION and checksum
    /// setting (every binlog and relay-log file starts with its own FDE, and a file must not be
    /// read with the previous file's checksum algorithm) but keep the TABLE_MAPs. A replica
    /// rotates its relay log when it reaches `max_relay_log_size` even inside a transaction, so
    /// a ROWS event at the start of one relay log may refer to a TABLE_MAP at the end of the
    /// previous one.
    pub fn begin_file(&mut self) {
        self.fde = None;
        self.has_crc = false;
    }

    /// The FORMAT_DESCRIPTION in force, once one was decoded.
    pub fn format_description(&self) -> Option<&FormatDescription> {
        self.fde.as_ref()
    }

    /// The TABLE_MAP last seen for `table_id`.
    pub fn table(&self, table_id: u64) -> Option<&Arc<TableMap>> {
        self.tables.get(&table_id).map(|t| &t.map)
    }

    /// Checksum handling, then the body.
    fn decode_framed(&mut self, header: &EventHeader, raw: &[u8]) -> Res<EventData> {
        if header.event_type == et::FORMAT_DESCRIPTION {
            return self.decode_fde(header, raw);
        }
        let crc_len = if self.has_crc
            || (self.fde.is_none() && header.event_type == et::ROTATE && crc_trailer_matches(raw))
        {
            CRC_LEN
        } else {
            0
        };
        let body_start = self.header_len();
        if raw.len() < body_start + crc_len {
            return Err(Fail::new(
                raw.len(),
                format!("event of {} bytes has no room for its header and {crc_len}-byte checksum", raw.len()),
            ));
        }
        if crc_len > 0 && self.verify_checksum {
            verify_crc(raw, false)?;
        }
        let body = &raw[body_start..raw.len() - crc_len];
        self.decode_body(header, body, body_start, 0)
    }

    fn decode_fde(&mut self, header: &EventHeader, raw: &[u8]) -> Res<EventData> {
        let body = raw.get(HEADER_LEN..).unwrap_or_default();
        let (fde, crc_slot) = fde::parse_fde(body, HEADER_LEN)?;
        if crc_slot > 0 && fde.has_crc32() && self.verify_checksum {
            verify_crc(raw, header.flags & LOG_EVENT_BINLOG_IN_USE_F != 0)?;
        }
        if (fde.header_length as usize) < HEADER_LEN {
            return Err(Fail::new(HEADER_LEN + 56, format!("FDE common-header length {} is below 19", fde.header_length)));
        }
        self.has_crc = fde.has_crc32();
        self.fde = Some(fde.clone());
        Ok(EventData::FormatDescription(fde))
    }

    /// Common-header length in force (19 for every v4 server; larger values mean extra header
    /// bytes, skipped).
    fn header_len(&self) -> usize {
        self.fde.as_ref().map_or(HEADER_LEN, |f| (f.header_length as usize).max(HEADER_LEN))
    }

    /// Post-header length of `event_type` from the FDE, or `default` when it is not listed.
    fn post_header_len(&self, event_type: u8, default: usize) -> usize {
        self.fde
            .as_ref()
            .and_then(|f| f.post_header_lengths.get(usize::from(event_type).wrapping_sub(1)))
            .map_or(default, |&l| l as usize)
    }

    /// Dispatch on the event type. `base` is the body's position inside the event; `depth` is
    /// the TRANSACTION_PAYLOAD nesting level.
    fn decode_body(&mut self, header: &EventHeader, body: &[u8], base: usize, depth: u8) -> Res<EventData> {
        let t = header.event_type;
        Ok(match t {
            et::START_V3 => EventData::FormatDescription(fde::parse_start_v3(body, base)?),
            et::QUERY => EventData::Query(query::parse_query(body, base, self.post_header_len(t, 13), None)?),
            et::MARIA_QUERY_COMPRESSED => EventData::Query(query::parse_query(
                body,
                base,
                self.post_header_len(t, 13),
                Some(self.max_payload_size),
            )?),
            et::STOP => EventData::Stop,
            et::ROTATE => misc::parse_rotate(body, base)?,
            et::INTVAR => misc::parse_intvar(body, base)?,
            et::RAND => misc::parse_rand(body, base)?,
            et::USER_VAR => misc::parse_user_var(body, base)?,
            et::XID => misc::parse_xid(body, base)?,
            et::INCIDENT => misc::parse_incident(body, base)?,
            et::HEARTBEAT => misc::parse_heartbeat(body),
            et::HEARTBEAT_V2 => misc::parse_heartbeat_v2(body, base)?,
            et::ROWS_QUERY => misc::parse_rows_query(body, base)?,
            et::MARIA_ANNOTATE_ROWS => misc::parse_annotate_rows(body),
            et::TABLE_MAP => self.decode_table_map(body, base)?,
            et::WRITE_ROWS_V1
            | et::UPDATE_ROWS_V1
            | et::DELETE_ROWS_V1
            | et::WRITE_ROWS_V2
            | et::UPDATE_ROWS_V2
            | et::DELETE_ROWS_V2
            | et::PARTIAL_UPDATE_ROWS
            | et::MARIA_WRITE_ROWS_COMPRESSED_V1..=et::MARIA_DELETE_ROWS_COMPRESSED => self.decode_rows(t, body, base)?,
            et::GTID => EventData::MysqlGtid(gtid::parse_mysql_gtid(body, base, false)?),
            et::ANONYMOUS_GTID => EventData::MysqlGtid(gtid::parse_mysql_gtid(body, base, true)?),
            et::GTID_TAGGED => EventData::MysqlGtid(gtid::parse_tagged_gtid(body, base)?),
            et::PREVIOUS_GTIDS => EventData::PreviousGtids(gtid::parse_previous_gtids(body, base)?),
            et::XA_PREPARE => {
                let (one_phase, xid) = gtid::parse_xa_prepare(body, base)?;
                EventData::XaPrepare { one_phase, xid }
            }
            et::MARIA_GTID => EventData::MariadbGtid(gtid::parse_mariadb_gtid(body, base, header.server_id)?),
            et::MARIA_GTID_LIST => EventData::MariadbGtidList(gtid::parse_mariadb_gtid_list(body, base)?),
            et::MARIA_BINLOG_CHECKPOINT => {
                EventData::MariadbBinlogCheckpoint(gtid::parse_binlog_checkpoint(body, base)?)
            }
            et::TRANSACTION_PAYLOAD => {
                if depth > 0 {
                    return Err(Fail::new(base, "TRANSACTION_PAYLOAD nested inside another"));
                }
                let inner = payload::expand_payload(body, base, self.max_payload_size)?;
                EventData::TransactionPayload(self.decode_inner_events(&inner, base)?)
            }
            et::BEGIN_LOAD_QUERY | et::APPEND_BLOCK => {
                let (file_id, data) = query::parse_load_block(body, base)?;
                EventData::LoadBlock { file_id, begin: t == et::BEGIN_LOAD_QUERY, data }
            }
            // Early 5.1 servers' FDEs give it a shorter post-header whose layout is not the
            // documented one: such a LOAD stays opaque, which the applier refuses by name.
            et::EXECUTE_LOAD_QUERY if self.post_header_len(t, 26) < 26 => EventData::Opaque,
            et::EXECUTE_LOAD_QUERY => EventData::ExecuteLoad(query::parse_execute_load(body, base, self.post_header_len(t, 26))?),
            et::DELETE_FILE => {
                let mut c = super::reader::Cursor::new(body, base);
                EventData::DeleteFile { file_id: c.u32("DELETE_FILE file id")? }
            }
            et::LOAD
            | et::CREATE_FILE
            | et::EXEC_LOAD
            | et::NEW_LOAD
            | et::SLAVE
            | et::PRE_GA_WRITE_ROWS
            | et::PRE_GA_UPDATE_ROWS
            | et::PRE_GA_DELETE_ROWS => EventData::Opaque,
            // Group Replication's certification context and membership changes: nothing for
            // an asynchronous replica to apply (its SQL thread skips them as well).
            et::TRANSACTION_CONTEXT | et::VIEW_CHANGE => EventData::Ignored,
            et::IGNORABLE => EventData::Ignored,
            et::MARIA_START_ENCRYPTION => {
                return Err(Fail::new(base, "encrypted binlog (START_ENCRYPTION): decryption is not supported"));
            }
            _ if header.flags & LOG_EVENT_IGNORABLE_F != 0 => EventData::Ignored,
            _ => return Err(Fail::new(4, format!("unknown event type {t} without the ignorable flag"))),
        })
    }

    fn decode_table_map(&mut self, body: &[u8], base: usize) -> Res<EventData> {
        let post = self.post_header_len(et::TABLE_MAP, 8);
        // Fast path: the same table id with a byte-identical body maps to the cached map.
        let id_len = if post == 6 { 4 } else { 6 };
        if let Some(id_bytes) = body.get(..id_len) {
            let mut id = [0u8; 8];
            id[..id_len].copy_from_slice(id_bytes);
            if let Some(cached) = self.tables.get(&u64::from_le_bytes(id)) {
                if *cached.body == *body {
                    return Ok(EventData::TableMap(Arc::clone(&cached.map)));
                }
            }
        }
        let map = Arc::new(table_map::parse_table_map(body, base, post, self.fde.as_ref().is_some_and(|f| f.is_mariadb()))?);
        self.tables.insert(map.table_id, CachedTable { body: body.into(), map: Arc::clone(&map), raw: None });
        Ok(EventData::TableMap(map))
    }

    fn decode_rows(&mut self, t: u8, body: &[u8], base: usize) -> Res<EventData> {
        let (kind, v2) = match t {
            et::WRITE_ROWS_V1 | et::MARIA_WRITE_ROWS_COMPRESSED_V1 => (RowsEventKind::Write, false),
            et::UPDATE_ROWS_V1 | et::MARIA_UPDATE_ROWS_COMPRESSED_V1 => (RowsEventKind::Update, false),
            et::DELETE_ROWS_V1 | et::MARIA_DELETE_ROWS_COMPRESSED_V1 => (RowsEventKind::Delete, false),
            et::WRITE_ROWS_V2 | et::MARIA_WRITE_ROWS_COMPRESSED => (RowsEventKind::Write, true),
            et::UPDATE_ROWS_V2 | et::MARIA_UPDATE_ROWS_COMPRESSED => (RowsEventKind::Update, true),
            et::DELETE_ROWS_V2 | et::MARIA_DELETE_ROWS_COMPRESSED => (RowsEventKind::Delete, true),
            _ => (RowsEventKind::PartialUpdate, true),
        };
        let compressed_cap = (t >= et::MARIA_WRITE_ROWS_COMPRESSED_V1).then_some(self.max_payload_size);
        let post = self.post_header_len(t, if v2 { 10 } else { 8 });
        let head = rows::parse_rows_head(body, base, post, v2)?;
        let Some(cached) = self.tables.get(&head.table_id) else {
            if head.table_id == rows::DUMMY_TABLE_ID_6 || head.table_id == rows::DUMMY_TABLE_ID_4 {
                // Dummy end-of-statement event for a statement whose rows were all filtered.
                return Ok(EventData::Ignored);
            }
            return Err(Fail::new(
                base,
                format!("ROWS event for unknown table id {} (no TABLE_MAP seen for it)", head.table_id),
            ));
        };
        let table = Arc::clone(&cached.map);
        Ok(EventData::Rows(rows::parse_rows(head, kind, &table, compressed_cap)?))
    }

    /// Inner events of a TRANSACTION_PAYLOAD: v4 headers, no checksums.
    fn decode_inner_events(&mut self, inner: &[u8], base: usize) -> Res<Vec<(EventHeader, EventData)>> {
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pos < inner.len() {
            let rest = &inner[pos..];
            let wrap = |f: Fail, t: Option<u8>| {
                let kind = t.map_or_else(|| "?".to_string(), |t| format!("{} ({t})", event_type_name(t)));
                Fail::new(
                    base,
                    format!("TRANSACTION_PAYLOAD inner event {kind} at payload byte {pos}: {} (at its byte {})", f.msg, f.at),
                )
            };
            let header = parse_header(rest).ok_or_else(|| wrap(Fail::new(0, "truncated header"), None))?;
            let size = header.event_size as usize;
            if size < HEADER_LEN || size > rest.len() {
                return Err(wrap(
                    Fail::new(9, format!("event_size {size} does not fit the {} bytes left", rest.len())),
                    Some(header.event_type),
                ));
            }
            let data = self
                .decode_body(&header, &rest[HEADER_LEN..size], HEADER_LEN, 1)
                .map_err(|f| wrap(f, Some(header.event_type)))?;
            out.push((header, data));
            pos += size;
        }
        Ok(out)
    }
}

/// CRC32 (ISO-HDLC, as zlib) of everything before the trailing 4 bytes, compared with them.
/// `clear_in_use` recomputes an FDE's checksum with LOG_EVENT_BINLOG_IN_USE_F cleared.
fn verify_crc(raw: &[u8], clear_in_use: bool) -> Res<()> {
    let n = raw.len();
    if n < HEADER_LEN + CRC_LEN {
        return Err(Fail::new(n, "event too short for its CRC32"));
    }
    let stored = u32::from_le_bytes([raw[n - 4], raw[n - 3], raw[n - 2], raw[n - 1]]);
    let computed = crc_of(raw, clear_in_use);
    if stored != computed {
        return Err(Fail::new(
            n - 4,
            format!("CRC32 mismatch: expected 0x{stored:08x} (stored in the event), actual 0x{computed:08x}"),
        ));
    }
    Ok(())
}

/// Caller guarantees `raw.len() >= HEADER_LEN + CRC_LEN`.
fn crc_of(raw: &[u8], clear_in_use: bool) -> u32 {
    let n = raw.len() - CRC_LEN;
    let mut h = crc32fast::Hasher::new();
    if clear_in_use {
        h.update(&raw[..17]);
        h.update(&[raw[17] & !(LOG_EVENT_BINLOG_IN_USE_F as u8), raw[18]]);
        h.update(&raw[HEADER_LEN..n]);
    } else {
        h.update(&raw[..n]);
    }
    h.finalize()
}

/// True when the last 4 bytes are a valid CRC32 of the rest (used only for a ROTATE seen before
/// any FDE, which a live server sends with a checksum even when the stream has none).
fn crc_trailer_matches(raw: &[u8]) -> bool {
    raw.len() >= HEADER_LEN + CRC_LEN && crc_of(raw, false).to_le_bytes() == raw[raw.len() - CRC_LEN..]
}

#[cold]
fn make_error(file: &Arc<str>, offset: u64, event_type: u8, fail: Fail) -> DecodeError {
    DecodeError {
        file: file.to_string(),
        offset,
        what: format!(
            "{} event (type {event_type}): {} (at byte {} of the event, file offset {})",
            event_type_name(event_type),
            fail.msg,
            fail.at,
            offset + fail.at as u64
        ),
    }
}

/// Parse the 19-byte common header; `None` if `raw` is shorter than that.
pub fn parse_header(raw: &[u8]) -> Option<EventHeader> {
    let h: &[u8; HEADER_LEN] = raw.get(..HEADER_LEN)?.try_into().ok()?;
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    Some(EventHeader {
        timestamp: u32_at(0),
        event_type: h[4],
        server_id: u32_at(5),
        event_size: u32_at(9),
        log_pos: u32_at(13),
        flags: u16::from_le_bytes([h[17], h[18]]),
    })
}

/// Upper-case name of an event type, as MySQL/MariaDB documentation spells it.
pub fn event_type_name(t: u8) -> &'static str {
    match t {
        et::START_V3 => "START_V3",
        et::QUERY => "QUERY",
        et::STOP => "STOP",
        et::ROTATE => "ROTATE",
        et::INTVAR => "INTVAR",
        et::LOAD => "LOAD",
        et::SLAVE => "SLAVE",
        et::CREATE_FILE => "CREATE_FILE",
        et::APPEND_BLOCK => "APPEND_BLOCK",
        et::EXEC_LOAD => "EXEC_LOAD",
        et::DELETE_FILE => "DELETE_FILE",
        et::NEW_LOAD => "NEW_LOAD",
        et::RAND => "RAND",
        et::USER_VAR => "USER_VAR",
        et::FORMAT_DESCRIPTION => "FORMAT_DESCRIPTION",
        et::XID => "XID",
        et::BEGIN_LOAD_QUERY => "BEGIN_LOAD_QUERY",
        et::EXECUTE_LOAD_QUERY => "EXECUTE_LOAD_QUERY",
        et::TABLE_MAP => "TABLE_MAP",
        et::PRE_GA_WRITE_ROWS => "PRE_GA_WRITE_ROWS",
        et::PRE_GA_UPDATE_ROWS => "PRE_GA_UPDATE_ROWS",
        et::PRE_GA_DELETE_ROWS => "PRE_GA_DELETE_ROWS",
        et::WRITE_ROWS_V1 => "WRITE_ROWS_V1",
        et::UPDATE_ROWS_V1 => "UPDATE_ROWS_V1",
        et::DELETE_ROWS_V1 => "DELETE_ROWS_V1",
        et::INCIDENT => "INCIDENT",
        et::HEARTBEAT => "HEARTBEAT",
        et::IGNORABLE => "IGNORABLE",
        et::ROWS_QUERY => "ROWS_QUERY",
        et::WRITE_ROWS_V2 => "WRITE_ROWS_V2",
        et::UPDATE_ROWS_V2 => "UPDATE_ROWS_V2",
        et::DELETE_ROWS_V2 => "DELETE_ROWS_V2",
        et::GTID => "GTID",
        et::ANONYMOUS_GTID => "ANONYMOUS_GTID",
        et::PREVIOUS_GTIDS => "PREVIOUS_GTIDS",
        et::TRANSACTION_CONTEXT => "TRANSACTION_CONTEXT",
        et::VIEW_CHANGE => "VIEW_CHANGE",
        et::XA_PREPARE => "XA_PREPARE",
        et::PARTIAL_UPDATE_ROWS => "PARTIAL_UPDATE_ROWS",
        et::TRANSACTION_PAYLOAD => "TRANSACTION_PAYLOAD",
        et::HEARTBEAT_V2 => "HEARTBEAT_V2",
        et::GTID_TAGGED => "GTID_TAGGED",
        et::MARIA_ANNOTATE_ROWS => "ANNOTATE_ROWS",
        et::MARIA_BINLOG_CHECKPOINT => "BINLOG_CHECKPOINT",
        et::MARIA_GTID => "MARIADB_GTID",
        et::MARIA_GTID_LIST => "GTID_LIST",
        et::MARIA_START_ENCRYPTION => "START_ENCRYPTION",
        et::MARIA_QUERY_COMPRESSED => "QUERY_COMPRESSED",
        et::MARIA_WRITE_ROWS_COMPRESSED_V1 => "WRITE_ROWS_COMPRESSED_V1",
        et::MARIA_UPDATE_ROWS_COMPRESSED_V1 => "UPDATE_ROWS_COMPRESSED_V1",
        et::MARIA_DELETE_ROWS_COMPRESSED_V1 => "DELETE_ROWS_COMPRESSED_V1",
        et::MARIA_WRITE_ROWS_COMPRESSED => "WRITE_ROWS_COMPRESSED",
        et::MARIA_UPDATE_ROWS_COMPRESSED => "UPDATE_ROWS_COMPRESSED",
        et::MARIA_DELETE_ROWS_COMPRESSED => "DELETE_ROWS_COMPRESSED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
