//! Binlog and relay-log FILES as a stream of decoded events.
//!
//! Owns opening files (a directory expands to the binlog files in it, in name order), checking
//! the 4-byte `\xfebin` magic, framing events by the common header's `event_size` with bounds
//! checks, and handing each raw event to one [`Decoder`] for the whole list. Each file starts
//! with its own FORMAT_DESCRIPTION, so the FDE and checksum setting are reset at every file
//! ([`Decoder::begin_file`]); the TABLE_MAPs are kept, because a replica rotates its relay log
//! at `max_relay_log_size` even in the middle of a transaction: the ROWS events at the start of
//! a relay log may belong to a TABLE_MAP (and a transaction, which [`crate::txn`] keeps open
//! across ROTATE/FDE) from the end of the previous file. For a list of a server's own binlogs
//! this changes nothing: a server never splits a transaction between binlog files.
//! It must not interpret events (that is [`crate::decode`]) nor group them into transactions
//! (that is [`crate::txn`]).
//!
//! # Speed
//! Files may be many GB: they are streamed in large blocks into one reusable buffer (no mmap, no
//! per-event syscall, no whole-file read). An event larger than the buffer grows it to fit, but
//! only after its size was checked against the bytes the file really has, so a corrupt
//! `event_size` cannot make us allocate gigabytes.
//!
//! # Error handling
//! Every failure is a [`SourceError`] naming the file path and the byte offset of the event (or
//! of the bytes that could not be framed). After the first error the iterator ends: a reader
//! never skips over a bad event and carries on as if nothing happened.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::decode::event::Event;
use crate::decode::{DecodeError, Decoder};

/// The 4 bytes every binlog and relay-log file starts with.
pub const BINLOG_MAGIC: [u8; 4] = [0xfe, b'b', b'i', b'n'];

/// Length of the v4 common event header.
pub const HEADER_LEN: usize = 19;

/// Bytes read from the file per `read` call. Large enough that syscalls are noise next to
/// decoding (a 64 MiB file is 16 reads), small enough to stay in L2/L3-friendly territory.
const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// A failure while reading binlog files. Every variant names the file; framing and decoding
/// failures also name the byte offset.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// (The io error is part of the message, not a `source()`, so it is printed once.)
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: not a binlog file (first bytes {found:02x?}, expected fe 62 69 6e)")]
    BadMagic { path: String, found: Vec<u8> },
    #[error("{path} at offset {offset}: truncated event: {what}")]
    Truncated { path: String, offset: u64, what: String },
    #[error("{path} at offset {offset}: bad event header: {what}")]
    BadHeader { path: String, offset: u64, what: String },
    /// The decode error already names the file (by name) and offset; the path says where.
    #[error("{path}: {error}")]
    Decode { path: String, error: DecodeError },
    #[error("{path}: no binlog files in this directory")]
    EmptyDirectory { path: String },
}

impl SourceError {
    /// The path of the file the error is about.
    pub fn path(&self) -> &str {
        match self {
            SourceError::Io { path, .. }
            | SourceError::BadMagic { path, .. }
            | SourceError::Truncated { path, .. }
            | SourceError::BadHeader { path, .. }
            | SourceError::Decode { path, .. }
            | SourceError::EmptyDirectory { path } => path,
        }
    }
}

/// Expand the given paths: files stay as given (in the given order), a directory becomes the
/// binlog files in it sorted by name. Inside a directory, `*.index` and `*.state` files and
/// anything that does not start with the binlog magic are skipped, so pointing at a datadir
/// works.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SourceError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| io_err(p, e))?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(p).map_err(|e| io_err(p, e))? {
            let entry = entry.map_err(|e| io_err(p, e))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".index") || name.ends_with(".state") {
                continue;
            }
            if !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                continue;
            }
            if has_binlog_magic(&path) {
                found.push(path);
            }
        }
        if found.is_empty() {
            return Err(SourceError::EmptyDirectory { path: p.display().to_string() });
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn has_binlog_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    match File::open(path) {
        Ok(mut f) => f.read_exact(&mut magic).is_ok() && magic == BINLOG_MAGIC,
        Err(_) => false,
    }
}

fn io_err(path: &Path, source: std::io::Error) -> SourceError {
    SourceError::Io { path: path.display().to_string(), error: source }
}

/// One raw event framed out of a file: its offset and its bytes (header, body and checksum).
#[derive(Debug)]
pub struct RawEvent<'a> {
    pub offset: u64,
    pub bytes: &'a [u8],
}

/// Frames raw events out of one file, streaming it in [`BLOCK_SIZE`] blocks.
///
/// This is the part of [`BinlogFiles`] that knows nothing about decoding; it is public so that
/// tools (histograms, copying, benchmarks) can walk events without paying for decoding.
pub struct RawEventReader {
    file: File,
    path: String,
    /// File length when last checked; re-read once when an event seems to run past it, because
    /// a binlog that is being written grows.
    file_len: u64,
    buf: Vec<u8>,
    /// `buf[start..end]` holds bytes not yet handed out.
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    eof: bool,
}

impl RawEventReader {
    /// Open `path` and check the magic. The first event is at offset 4.
    pub fn open(path: &Path) -> Result<RawEventReader, SourceError> {
        let mut file = File::open(path).map_err(|e| io_err(path, e))?;
        let file_len = file.metadata().map_err(|e| io_err(path, e))?.len();
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(path, e)),
            }
        }
        if got < 4 || magic != BINLOG_MAGIC {
            return Err(SourceError::BadMagic { path: path.display().to_string(), found: magic[..got].to_vec() });
        }
        Ok(RawEventReader {
            file,
            path: path.display().to_string(),
            file_len,
            buf: Vec::new(),
            start: 0,
            end: 0,
            buf_offset: 4,
            eof: false,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.buf_offset + self.start as u64
    }

    /// Make at least `want` unread bytes available in the buffer unless the file ends first.
    /// Returns the number of unread bytes available.
    fn fill(&mut self, want: usize) -> Result<usize, SourceError> {
        if self.end - self.start >= want {
            return Ok(self.end - self.start);
        }
        // Move the unread tail to the front so the buffer is reused rather than grown.
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.buf_offset += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        let capacity = want.max(BLOCK_SIZE);
        if self.buf.len() < capacity {
            self.buf.resize(capacity, 0);
        }
        while self.end < want && !self.eof {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SourceError::Io { path: self.path.clone(), error: e }),
            }
        }
        Ok(self.end - self.start)
    }

    /// The next raw event, or `None` at a clean end of file.
    pub fn next_raw(&mut self) -> Result<Option<RawEvent<'_>>, SourceError> {
        let avail = self.fill(HEADER_LEN)?;
        let offset = self.offset();
        if avail == 0 {
            return Ok(None);
        }
        if avail < HEADER_LEN {
            return Err(SourceError::Truncated {
                path: self.path.clone(),
                offset,
                what: format!("{avail} bytes left at end of file, an event header needs {HEADER_LEN}"),
            });
        }
        let h = &self.buf[self.start..self.start + HEADER_LEN];
        let size = u32::from_le_bytes([h[9], h[10], h[11], h[12]]) as usize;
        if size < HEADER_LEN {
            return Err(SourceError::BadHeader {
                path: self.path.clone(),
                offset,
                what: format!("event_size {size} is smaller than the {HEADER_LEN}-byte header (type {})", h[4]),
            });
        }
        if size > avail {
            // Bounds check before growing the buffer: the event must fit in what the file has.
            let event_end = offset + size as u64;
            if event_end > self.file_len {
                self.file_len = self.file.metadata().map_err(|e| SourceError::Io { path: self.path.clone(), error: e })?.len();
            }
            if event_end > self.file_len {
                return Err(SourceError::Truncated {
                    path: self.path.clone(),
                    offset,
                    what: format!(
                        "header says {size} bytes (type {}), only {} remain in the file",
                        h[4],
                        self.file_len.saturating_sub(offset)
                    ),
                });
            }
            let avail = self.fill(size)?;
            if avail < size {
                return Err(SourceError::Truncated {
                    path: self.path.clone(),
                    offset,
                    what: format!("header says {size} bytes, the file ended after {avail}"),
                });
            }
        }
        let bytes = &self.buf[self.start..self.start + size];
        self.start += size;
        Ok(Some(RawEvent { offset, bytes }))
    }
}

/// Decoded events from a list of binlog files, in file order.
///
/// ```no_run
/// # use parapply::source::file::BinlogFiles;
/// let files = BinlogFiles::open(&["/var/lib/mysql/binlog.000042".into()]).unwrap();
/// for event in files {
///     let event = event.unwrap();
///     println!("{}:{} type {}", event.file, event.offset, event.header.event_type);
/// }
/// ```
pub struct BinlogFiles {
    pending: VecDeque<PathBuf>,
    current: Option<OpenFile>,
    /// One decoder for the whole list (see the module doc: TABLE_MAPs carry across files).
    decoder: Decoder,
    verify_checksum: bool,
    files_opened: usize,
    events_read: u64,
    bytes_read: u64,
    finished: bool,
}

struct OpenFile {
    raw: RawEventReader,
    /// The name events carry (the file name without directories, as a server names it).
    name: Arc<str>,
}

impl BinlogFiles {
    /// Open a list of files and/or directories (see [`expand_paths`]). Files are opened lazily,
    /// one at a time, as the previous one is exhausted; a missing file fails here.
    pub fn open(paths: &[PathBuf]) -> Result<BinlogFiles, SourceError> {
        let expanded = expand_paths(paths)?;
        Ok(BinlogFiles {
            pending: expanded.into(),
            current: None,
            decoder: Decoder::new(),
            verify_checksum: true,
            files_opened: 0,
            events_read: 0,
            bytes_read: 0,
            finished: false,
        })
    }

    /// Verify CRC32 checksums (default: on). Turning it off saves a few percent of CPU on
    /// trusted files.
    pub fn verify_checksum(mut self, on: bool) -> BinlogFiles {
        self.verify_checksum = on;
        self
    }

    /// Keep row events' logged bytes for the BINLOG statement apply path (default off; see
    /// [`crate::decode::Decoder::set_keep_raw`]).
    pub fn keep_raw(mut self, on: bool) -> BinlogFiles {
        self.decoder.set_keep_raw(on);
        self
    }

    /// With `keep_raw`, keep ROWS events' bytes only while `wanted` says so (see
    /// [`crate::decode::Decoder::share_raw_rows`]).
    pub fn share_raw_rows(mut self, wanted: Arc<std::sync::atomic::AtomicBool>) -> BinlogFiles {
        self.decoder.share_raw_rows(wanted);
        self
    }

    /// Files opened so far.
    pub fn files_opened(&self) -> usize {
        self.files_opened
    }

    /// Events yielded so far (a TRANSACTION_PAYLOAD counts as one).
    pub fn events_read(&self) -> u64 {
        self.events_read
    }

    /// Bytes of events yielded so far (magic bytes not included).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            if self.current.is_none() {
                let Some(path) = self.pending.pop_front() else { return Ok(None) };
                let raw = RawEventReader::open(&path)?;
                self.decoder.begin_file();
                self.decoder.set_verify_checksum(self.verify_checksum);
                let name: Arc<str> = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string())
                    .into();
                self.files_opened += 1;
                self.current = Some(OpenFile { raw, name });
            }
            let Some(cur) = self.current.as_mut() else { continue };
            match cur.raw.next_raw()? {
                None => {
                    self.current = None;
                }
                Some(raw) => {
                    let len = raw.bytes.len() as u64;
                    let event = self
                        .decoder
                        .decode(raw.bytes, &cur.name, raw.offset)
                        .map_err(|e| SourceError::Decode { path: cur.raw.path.clone(), error: e })?;
                    self.events_read += 1;
                    self.bytes_read += len;
                    return Ok(Some(event));
                }
            }
        }
    }
}

impl Iterator for BinlogFiles {
    type Item = Result<Event, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_event() {
            Ok(Some(ev)) => Some(Ok(ev)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                self.current = None;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn event_bytes(event_type: u8, body: &[u8]) -> Vec<u8> {
        let size = (HEADER_LEN + body.len()) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(&0u32.to_le_bytes());
        v.push(event_type);
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    #[test]
    fn frames_events_by_size_and_reports_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = BINLOG_MAGIC.to_vec();
        bytes.extend(event_bytes(2, &[7; 10]));
        bytes.extend(event_bytes(16, &[1; 8]));
        let p = write_file(dir.path(), "b.000001", &bytes);
        let mut r = RawEventReader::open(&p).unwrap();
        let e1 = r.next_raw().unwrap().unwrap();
        assert_eq!((e1.offset, e1.bytes.len(), e1.bytes[4]), (4, 29, 2));
        let e2 = r.next_raw().unwrap().unwrap();
        assert_eq!((e2.offset, e2.bytes.len(), e2.bytes[4]), (33, 27, 16));
        assert!(r.next_raw().unwrap().is_none());
    }

    #[test]
    fn event_larger_than_a_block_is_framed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = BINLOG_MAGIC.to_vec();
        bytes.extend(event_bytes(2, &[1; 10]));
        let big = vec![0xab; BLOCK_SIZE + 1000];
        bytes.extend(event_bytes(30, &big));
        bytes.extend(event_bytes(16, &[2; 8]));
        let p = write_file(dir.path(), "b.000001", &bytes);
        let mut r = RawEventReader::open(&p).unwrap();
        assert_eq!(r.next_raw().unwrap().unwrap().offset, 4);
        let e = r.next_raw().unwrap().unwrap();
        assert_eq!((e.offset, e.bytes.len()), (33, HEADER_LEN + BLOCK_SIZE + 1000));
        assert!(e.bytes[HEADER_LEN..].iter().all(|b| *b == 0xab));
        let e = r.next_raw().unwrap().unwrap();
        assert_eq!(e.offset, 33 + (HEADER_LEN + BLOCK_SIZE + 1000) as u64);
        assert!(r.next_raw().unwrap().is_none());
    }

    #[test]
    fn truncated_header_names_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = BINLOG_MAGIC.to_vec();
        bytes.extend(event_bytes(2, &[7; 10]));
        bytes.extend_from_slice(&[1, 2, 3]);
        let p = write_file(dir.path(), "t.000001", &bytes);
        let mut r = RawEventReader::open(&p).unwrap();
        r.next_raw().unwrap().unwrap();
        let err = r.next_raw().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("t.000001 at offset 33: truncated event: 3 bytes left"), "{msg}");
    }

    #[test]
    fn event_size_past_end_of_file_is_an_error_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = BINLOG_MAGIC.to_vec();
        let mut ev = event_bytes(2, &[7; 10]);
        ev[9..13].copy_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend(ev);
        let p = write_file(dir.path(), "t.000002", &bytes);
        let mut r = RawEventReader::open(&p).unwrap();
        let msg = r.next_raw().unwrap_err().to_string();
        assert!(msg.contains("t.000002 at offset 4: truncated event: header says 4294967295 bytes (type 2), only 29 remain"), "{msg}");
    }

    #[test]
    fn event_size_below_header_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = BINLOG_MAGIC.to_vec();
        let mut ev = event_bytes(2, &[7; 10]);
        ev[9..13].copy_from_slice(&5u32.to_le_bytes());
        bytes.extend(ev);
        let p = write_file(dir.path(), "t.000003", &bytes);
        let mut r = RawEventReader::open(&p).unwrap();
        let msg = r.next_raw().unwrap_err().to_string();
        assert!(msg.contains("t.000003 at offset 4: bad event header: event_size 5"), "{msg}");
    }

    #[test]
    fn bad_magic_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "x.000001", b"hello world");
        let msg = RawEventReader::open(&p).err().unwrap().to_string();
        assert!(msg.ends_with("x.000001: not a binlog file (first bytes [68, 65, 6c, 6c], expected fe 62 69 6e)"), "{msg}");
        let p = write_file(dir.path(), "y.000001", b"");
        assert!(matches!(RawEventReader::open(&p), Err(SourceError::BadMagic { found, .. }) if found.is_empty()));
    }

    #[test]
    fn directory_expands_to_binlogs_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut magic_only = BINLOG_MAGIC.to_vec();
        magic_only.extend(event_bytes(2, &[]));
        write_file(dir.path(), "binlog.000010", &magic_only);
        write_file(dir.path(), "binlog.000002", &magic_only);
        write_file(dir.path(), "binlog.index", b"./binlog.000002\n./binlog.000010\n");
        write_file(dir.path(), "binlog.state", &magic_only);
        write_file(dir.path(), "ibdata1", b"not a binlog");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let got = expand_paths(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<String> = got.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["binlog.000002", "binlog.000010"]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(expand_paths(&[empty.path().to_path_buf()]), Err(SourceError::EmptyDirectory { .. })));
    }
}
