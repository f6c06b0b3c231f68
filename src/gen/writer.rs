//! Binlog *file* writer for the generator: file header, FORMAT_DESCRIPTION and PREVIOUS_GTIDS at
//! the start of each file, `log_pos` bookkeeping, GTID `transaction_length`, optional
//! TRANSACTION_PAYLOAD wrapping, and ROTATE to the next file.
//!
//! Owns files and positions only. Event bytes come from [`super::encode`]; what the transactions
//! contain and when to rotate is decided by the caller ([`super::generate`]). It must not read
//! binlogs back (tests do that with an independent decoder).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::encode::{
    self, event_flags, event_type, framed_len, EncodeError, EventHeader, GtidFields, Placement,
};
use super::GenError;

/// Binlog file magic.
const BINLOG_MAGIC: [u8; 4] = [0xfe, b'b', b'i', b'n'];

/// One event of a transaction after its GTID, before framing.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub type_code: u8,
    pub flags: u16,
    pub body: Vec<u8>,
}

/// What the writer needs to know about the files it makes.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub dir: PathBuf,
    pub base_name: String,
    pub server_id: u32,
    pub server_uuid: [u8; 16],
    /// Timestamp for the first file's FDE `create_timestamp` (later files write 0, as MySQL does
    /// for files opened by a rotation rather than by a server start).
    pub start_timestamp: u32,
    /// Set `LOG_EVENT_BINLOG_IN_USE_F` on the last file's FDE (see [`super::GenParams`]).
    pub last_file_in_use: bool,
}

/// One finished file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// File name (`BASE.000001`).
    pub name: String,
    pub bytes: u64,
    /// Transactions (GTIDs) in this file.
    pub transactions: u64,
    /// First and last GNO in this file (0 when the file holds none).
    pub first_gno: u64,
    pub last_gno: u64,
}

/// Event counts by type name, for files and for TRANSACTION_PAYLOAD contents.
pub type EventCounts = BTreeMap<String, u64>;

pub struct BinlogWriter {
    cfg: WriterConfig,
    file_no: u32,
    path: PathBuf,
    out: BufWriter<File>,
    pos: u64,
    current: FileInfo,
    files: Vec<FileInfo>,
    /// Highest GNO written so far (GNOs are 1..=max_gno, contiguous).
    max_gno: u64,
    last_timestamp: u32,
    events: EventCounts,
    payload_events: EventCounts,
    scratch: Vec<u8>,
}

impl BinlogWriter {
    /// Creates the output directory and the first file.
    pub fn create(cfg: WriterConfig) -> Result<Self, GenError> {
        std::fs::create_dir_all(&cfg.dir).map_err(|source| GenError::Io { path: cfg.dir.clone(), cause: source })?;
        let (path, out, current) = Self::open_file(&cfg, 1)?;
        let mut w = BinlogWriter {
            last_timestamp: cfg.start_timestamp,
            cfg,
            file_no: 1,
            path,
            out,
            pos: 0,
            current,
            files: Vec::new(),
            max_gno: 0,
            events: EventCounts::new(),
            payload_events: EventCounts::new(),
            scratch: Vec::with_capacity(64 * 1024),
        };
        w.write_file_preamble()?;
        Ok(w)
    }

    fn file_name(cfg: &WriterConfig, n: u32) -> String {
        format!("{}.{:06}", cfg.base_name, n)
    }

    fn open_file(cfg: &WriterConfig, n: u32) -> Result<(PathBuf, BufWriter<File>, FileInfo), GenError> {
        let name = Self::file_name(cfg, n);
        let path = cfg.dir.join(&name);
        let file = File::create(&path).map_err(|source| GenError::Io { path: path.clone(), cause: source })?;
        let info = FileInfo { name, bytes: 0, transactions: 0, first_gno: 0, last_gno: 0 };
        Ok((path, BufWriter::with_capacity(256 * 1024, file), info))
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), GenError> {
        self.out.write_all(bytes).map_err(|source| GenError::Io { path: self.path.clone(), cause: source })?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Frames one top-level event at the current position and writes it.
    fn write_event(&mut self, type_code: u8, flags: u16, body: &[u8]) -> Result<(), GenError> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let header = EventHeader { timestamp: self.last_timestamp, type_code, server_id: self.cfg.server_id, flags };
        let framed = encode::frame_event(&mut buf, header, body, Placement::File { start: self.pos });
        let result = framed.map_err(GenError::from).and_then(|_| self.write_bytes(&buf));
        self.scratch = buf;
        result?;
        *self.events.entry(event_type::name(type_code).to_string()).or_default() += 1;
        Ok(())
    }

    fn write_file_preamble(&mut self) -> Result<(), GenError> {
        self.write_bytes(&BINLOG_MAGIC)?;
        let create_ts = if self.file_no == 1 { self.cfg.start_timestamp } else { 0 };
        self.write_event(event_type::FORMAT_DESCRIPTION, 0, &encode::format_description_body(create_ts))?;
        let prev = if self.max_gno == 0 { vec![] } else { vec![(self.cfg.server_uuid, vec![(1, self.max_gno + 1)])] };
        self.write_event(event_type::PREVIOUS_GTIDS, event_flags::IGNORABLE, &encode::previous_gtids_body(&prev))
    }

    /// Current size of the open file (the offset the next event starts at).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// 1-based number of the open file.
    pub fn file_no(&self) -> u32 {
        self.file_no
    }

    /// Writes one transaction: its GTID event (with `transaction_length` computed here) and the
    /// events after it, either as they are or, with `compress`, inside one TRANSACTION_PAYLOAD.
    /// `timestamp` is the header timestamp of every event of the transaction. Returns the
    /// transaction's length in bytes.
    pub fn write_transaction(
        &mut self,
        mut gtid: GtidFields,
        timestamp: u32,
        events: &[PendingEvent],
        compress: bool,
    ) -> Result<u64, GenError> {
        self.last_timestamp = timestamp;
        let payload_body = if compress {
            let mut inner = Vec::new();
            for e in events {
                let header = EventHeader { timestamp, type_code: e.type_code, server_id: self.cfg.server_id, flags: e.flags };
                encode::frame_event(&mut inner, header, &e.body, Placement::Payload)?;
            }
            Some(encode::transaction_payload_body(&inner)?)
        } else {
            None
        };
        let file = Placement::File { start: 0 };
        let rest_len: u64 = match &payload_body {
            Some(body) => framed_len(body.len(), file) as u64,
            None => events.iter().map(|e| framed_len(e.body.len(), file) as u64).sum(),
        };
        // transaction_length includes the GTID event, whose size depends on how many bytes the
        // length itself takes: iterate to the fixed point (at most a couple of rounds).
        let mut total = rest_len;
        for _ in 0..4 {
            gtid.transaction_length = total;
            let gtid_len = framed_len(encode::gtid_body(&gtid).len(), file) as u64;
            if rest_len + gtid_len == total {
                break;
            }
            total = rest_len + gtid_len;
        }
        gtid.transaction_length = total;

        let start = self.pos;
        self.write_event(event_type::GTID, 0, &encode::gtid_body(&gtid))?;
        match payload_body {
            Some(body) => {
                self.write_event(event_type::TRANSACTION_PAYLOAD, 0, &body)?;
                for e in events {
                    *self.payload_events.entry(event_type::name(e.type_code).to_string()).or_default() += 1;
                }
            }
            None => {
                for e in events {
                    self.write_event(e.type_code, e.flags, &e.body)?;
                }
            }
        }
        let written = self.pos - start;
        if written != total {
            return Err(GenError::Internal(format!(
                "GTID {} transaction_length {} but {} bytes were written",
                gtid.gno, total, written
            )));
        }
        if self.current.transactions == 0 {
            self.current.first_gno = gtid.gno;
        }
        self.current.transactions += 1;
        self.current.last_gno = gtid.gno;
        self.max_gno = self.max_gno.max(gtid.gno);
        Ok(total)
    }

    fn close_current(&mut self) -> Result<(), GenError> {
        self.out.flush().map_err(|source| GenError::Io { path: self.path.clone(), cause: source })?;
        let mut info = self.current.clone();
        info.bytes = self.pos;
        self.files.push(info);
        Ok(())
    }

    /// Ends the open file with a ROTATE event and opens the next one.
    pub fn rotate(&mut self) -> Result<(), GenError> {
        let next = Self::file_name(&self.cfg, self.file_no + 1);
        self.write_event(event_type::ROTATE, 0, &encode::rotate_body(&next))?;
        self.close_current()?;
        self.file_no += 1;
        let (path, out, current) = Self::open_file(&self.cfg, self.file_no)?;
        self.path = path;
        self.out = out;
        self.current = current;
        self.pos = 0;
        self.write_file_preamble()
    }

    /// Flushes the last file (left open-ended, like the active binlog of a running server) and
    /// returns what was written.
    pub fn finish(mut self) -> Result<(Vec<FileInfo>, EventCounts, EventCounts), GenError> {
        self.close_current()?;
        if self.cfg.last_file_in_use {
            // The FDE starts right after the 4-byte magic; its flags are header bytes 17..19.
            // The stored CRC was computed with the flag clear, which is what readers expect.
            let io = |source| GenError::Io { path: self.path.clone(), cause: source };
            let file = self.out.get_mut();
            file.seek(SeekFrom::Start(4 + 17)).map_err(io)?;
            file.write_all(&encode::event_flags::BINLOG_IN_USE.to_le_bytes()).map_err(io)?;
            file.flush().map_err(io)?;
        }
        Ok((self.files, self.events, self.payload_events))
    }

    pub fn dir(&self) -> &Path {
        &self.cfg.dir
    }
}

impl From<EncodeError> for GenError {
    fn from(e: EncodeError) -> Self {
        GenError::Encode(e)
    }
}
