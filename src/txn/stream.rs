//! Streaming: a transaction too large to hold whole, handed on as a head whose row changes
//! follow in bounded chunks.
//!
//! Owns the consumer side ([`StreamPiece`], [`StreamEnd`], [`ChangeStream`]), the sending side
//! (`Pump`, used by the [`TransactionReader`](super::TransactionReader) too), the
//! [`Splitter`] for a source that drives its own [`Assembler`] (the live stream), and the chunk
//! limits. It must not assemble events nor read a source: it only cuts and sends changes the
//! assembler already holds.

use std::sync::Arc;

use super::{Assembler, Change, Transaction, TxnEnd};

/// A chunk of a streamed transaction ends at this many row changes or this many bytes of row
/// data, whichever comes first (bytes: with large BLOBs a few rows are megabytes, and the
/// worker turns each chunk into SQL of about twice its size). The channel holds a few chunks.
pub(super) const STREAM_CHUNK_ROWS: usize = 2000;
pub(super) const STREAM_CHUNK_BYTES: u64 = 4 << 20;
pub(super) const STREAM_CHANNEL_CHUNKS: usize = 4;

/// One piece of a streamed transaction.
#[derive(Debug)]
pub enum StreamPiece {
    /// The next row changes, in source order.
    Changes(Vec<Change>),
    /// The transaction ended: what the head could not know yet.
    End(StreamEnd),
    /// Reading failed before the end; the transaction must not be committed.
    Failed(String),
    /// The source broke off inside the transaction (lost connection, the reader went away): it
    /// must not be committed, and will be read again from its start by a new reader.
    Interrupted(String),
}

/// How a streamed transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEnd {
    pub end: TxnEnd,
    pub pos_end: u64,
    pub size: u64,
    pub commit_time_us: u64,
}

/// The receiving side of a streamed transaction: a bounded channel (memory stays at a few
/// chunks whatever the transaction's size) and a flag with which the consumer gives up, so the
/// reader stops sending instead of waiting for it forever.
#[derive(Clone)]
pub struct ChangeStream {
    rx: crossbeam_channel::Receiver<StreamPiece>,
    abandoned: Arc<std::sync::atomic::AtomicBool>,
}

impl ChangeStream {
    /// The next piece, waiting at most `timeout`. `None` on timeout; a closed stream (the reader
    /// went away before the end) reads as [`StreamPiece::Interrupted`].
    pub fn next_piece(&self, timeout: std::time::Duration) -> Option<StreamPiece> {
        match self.rx.recv_timeout(timeout) {
            Ok(p) => Some(p),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Some(StreamPiece::Interrupted("the reader stopped before the transaction ended".into())),
        }
    }

    /// The consumer will read no more: the reader discards the rest of this transaction.
    pub fn abandon(&self) {
        self.abandoned.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for ChangeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChangeStream({} queued)", self.rx.len())
    }
}

impl PartialEq for ChangeStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.abandoned, &other.abandoned)
    }
}

/// The sending side, owned by the [`TransactionReader`](super::TransactionReader) (or the
/// [`Splitter`]) while it pumps a streamed transaction.
pub(super) struct Pump {
    /// `None`: nobody wants the rest (filtered out, or the consumer gave up); read and discard.
    pub(super) tx: Option<crossbeam_channel::Sender<StreamPiece>>,
    abandoned: Arc<std::sync::atomic::AtomicBool>,
}

impl Pump {
    pub(super) fn new(capacity: usize) -> (Pump, ChangeStream) {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        (Pump { tx: Some(tx), abandoned: abandoned.clone() }, ChangeStream { rx, abandoned })
    }

    /// Send, waiting while the consumer is behind (that is the memory bound), until it reads or
    /// gives up.
    pub(super) fn send(&mut self, mut piece: StreamPiece) {
        loop {
            let Some(tx) = &self.tx else { return };
            match tx.send_timeout(piece, std::time::Duration::from_millis(100)) {
                Ok(()) => return,
                Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => {
                    if self.abandoned.load(std::sync::atomic::Ordering::Relaxed) {
                        self.tx = None;
                        return;
                    }
                    piece = back;
                }
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => {
                    self.tx = None;
                    return;
                }
            }
        }
    }
}

/// Streaming of large transactions for a source that drives an [`Assembler`] itself (the live
/// stream), with the same limits and chunks as
/// [`TransactionReader::stream_large`](super::TransactionReader::stream_large).
///
/// After each pushed event that completed nothing, [`Splitter::after_open_event`] either hands
/// back the head of a transaction that just became large (to be passed on like a transaction)
/// or sends the next chunk of the one being streamed. When the assembler completes a
/// transaction, [`Splitter::complete`] takes it if it is the streamed one. [`Splitter::fail`]
/// tells the consumer the transaction will not end (lost connection): it must roll back.
pub struct Splitter {
    rows: Option<usize>,
    bytes: Option<u64>,
    pump: Option<Pump>,
}

impl Splitter {
    /// Stream past `rows` row changes or `bytes` of row events (`None`: no limit of that kind).
    pub fn new(rows: Option<usize>, bytes: Option<u64>) -> Splitter {
        Splitter { rows: rows.map(|r| r.max(STREAM_CHUNK_ROWS)), bytes: bytes.map(|b| b.max(STREAM_CHUNK_BYTES)), pump: None }
    }

    /// A transaction is being streamed.
    pub fn active(&self) -> bool {
        self.pump.is_some()
    }

    /// See the type's doc. Blocks while the consumer is a few chunks behind.
    pub fn after_open_event(&mut self, asm: &mut Assembler) -> Option<Transaction> {
        let (rows, bytes) = asm.streamable_size()?;
        if let Some(pump) = self.pump.as_mut() {
            if rows >= STREAM_CHUNK_ROWS || bytes >= STREAM_CHUNK_BYTES {
                pump.send(StreamPiece::Changes(asm.take_open_changes()));
            }
            return None;
        }
        if !(self.rows.is_some_and(|l| rows > l) || self.bytes.is_some_and(|l| bytes > l)) {
            return None;
        }
        let mut head = asm.open_head()?;
        let first = split_chunks(asm.take_open_changes());
        let (mut pump, stream) = Pump::new(STREAM_CHANNEL_CHUNKS.max(first.len()));
        for chunk in first {
            pump.send(StreamPiece::Changes(chunk));
        }
        head.stream = Some(stream);
        self.pump = Some(pump);
        Some(head)
    }

    /// `txn` just completed. The streamed transaction's end is sent on and `None` returned (its
    /// head was handed on already); any other transaction is given back.
    pub fn complete(&mut self, txn: Transaction) -> Option<Transaction> {
        let Some(mut pump) = self.pump.take() else { return Some(txn) };
        if !txn.changes.is_empty() {
            pump.send(StreamPiece::Changes(txn.changes));
        }
        pump.send(StreamPiece::End(StreamEnd { end: txn.end, pos_end: txn.pos.end, size: txn.size, commit_time_us: txn.commit_time_us }));
        None
    }

    /// The streamed transaction (if any) will not end: its consumer rolls back.
    pub fn fail(&mut self, why: &str) {
        if let Some(mut pump) = self.pump.take() {
            pump.send(StreamPiece::Interrupted(why.to_string()));
        }
    }
}

/// Cut `changes` into chunks of at most [`STREAM_CHUNK_ROWS`] rows and about
/// [`STREAM_CHUNK_BYTES`] of row data (a change is never split; each chunk has at least one).
pub(super) fn split_chunks(changes: Vec<Change>) -> Vec<Vec<Change>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let (mut rows, mut bytes) = (0usize, 0u64);
    for c in changes {
        if !cur.is_empty() && (rows >= STREAM_CHUNK_ROWS || bytes >= STREAM_CHUNK_BYTES) {
            out.push(std::mem::take(&mut cur));
            (rows, bytes) = (0, 0);
        }
        if let Change::Rows(rc) = &c {
            rows += rc.rows.len();
            bytes += rc.rows.iter().flat_map(|r| r.before.iter().chain(r.after.iter())).map(row_data_bytes).sum::<u64>();
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// About how many bytes a row image holds (variable-length values by length, the rest as 8).
fn row_data_bytes(row: &crate::decode::value::Row) -> u64 {
    use crate::decode::value::Value;
    row.cols
        .iter()
        .flatten()
        .map(|v| match v {
            Value::Bytes(b) | Value::Geometry(b) => b.len() as u64,
            Value::Decimal(s) | Value::Json(s) => s.len() as u64,
            Value::Vector(f) => 4 * f.len() as u64,
            Value::JsonDiff(d) => d.iter().map(|d| (d.path.len() + d.value.as_ref().map_or(0, String::len)) as u64).sum(),
            _ => 8,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::decode::event::{Event, EventData, EventHeader, MariadbGtidEvent, RowsEvent, RowsEventKind, TableMap};
    use crate::decode::event_type as t;
    use crate::decode::value::{Row, Value};
    use crate::txn::{AssembleError, Gtid, ReadError, TransactionReader};

    /// MariaDB: a small transaction, a big one (`events` ROWS events of `per_event` rows), and a
    /// small one, at consecutive offsets.
    fn events(per_event: i64, big_events: usize) -> Vec<Result<Event, std::io::Error>> {
        events_with(per_event, big_events, 1000, 0)
    }

    /// [`events`] with ROWS events of `rows_event_size` bytes whose rows also carry a BLOB of
    /// `blob` bytes.
    fn events_with(per_event: i64, big_events: usize, rows_event_size: u32, blob: usize) -> Vec<Result<Event, std::io::Error>> {
        let file: Arc<str> = "binlog.000001".into();
        let mut offset = 4u64;
        let mut out = Vec::new();
        let mut ev = |event_type: u8, size: u32, data: EventData| {
            let header = EventHeader { timestamp: 1_700_000_000, event_type, server_id: 7, event_size: size, log_pos: 0, flags: 0 };
            out.push(Ok(Event { header, file: file.clone(), offset, data }));
            offset += u64::from(size);
        };
        let tm = Arc::new(TableMap { table_id: 5, schema: "db".into(), table: "t".into(), ..Default::default() });
        let mut next_id = 0i64;
        for (seq, n_events) in [(1u64, 1usize), (2, big_events), (3, 1)] {
            ev(t::MARIA_GTID, 42, EventData::MariadbGtid(MariadbGtidEvent { seq_no: seq, domain_id: 1, server_id: 7, flags2: 0, commit_id: None, xid: None }));
            for _ in 0..n_events {
                ev(t::TABLE_MAP, 50, EventData::TableMap(tm.clone()));
                let rows = (0..per_event)
                    .map(|_| {
                        next_id += 1;
                        let mut cols = vec![Some(Value::Int(next_id))];
                        if blob > 0 {
                            cols.push(Some(Value::Bytes(vec![0xab; blob])));
                        }
                        (None, Some(Row { cols }))
                    })
                    .collect();
                ev(t::WRITE_ROWS_V2, rows_event_size, EventData::Rows(RowsEvent { kind: RowsEventKind::Write, table_id: 5, flags: 1, table: tm.clone(), rows, raw: None }));
            }
            ev(t::XID, 31, EventData::Xid(seq));
        }
        out
    }

    fn drain(stream: &ChangeStream) -> (Vec<i64>, Vec<usize>, StreamEnd) {
        let (mut ids, mut chunks) = (Vec::new(), Vec::new());
        loop {
            match stream.next_piece(Duration::from_secs(5)).expect("a piece within 5 s") {
                StreamPiece::Changes(c) => {
                    let mut n = 0;
                    for ch in c {
                        let Change::Rows(r) = ch else { panic!("only rows expected") };
                        for row in r.rows {
                            n += 1;
                            match row.after.unwrap().cols[0] {
                                Some(Value::Int(i)) => ids.push(i),
                                ref other => panic!("{other:?}"),
                            }
                        }
                    }
                    chunks.push(n);
                }
                StreamPiece::End(end) => return (ids, chunks, end),
                StreamPiece::Failed(e) | StreamPiece::Interrupted(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_large_transaction_is_yielded_as_a_head_and_streamed_in_bounded_chunks() {
        // 30 events x 500 rows = 15,000 rows; streamed past 4,000 (the minimum chunk is 2,000).
        let evs = events(500, 30);
        let whole_size: u64 = 42 + 30 * 1050 + 31;
        let mut reader = TransactionReader::new(evs.into_iter()).stream_large(Some(4000));
        let first = reader.next().unwrap().unwrap();
        assert_eq!((first.gtid.clone(), first.changes.len(), first.stream.is_none()), (Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 1 }), 1, true));

        let head = reader.next().unwrap().unwrap();
        assert_eq!(head.gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 2 }));
        assert!(head.changes.is_empty());
        let stream = head.stream.clone().expect("streamed");
        // The consumer reads on its own thread while the reader pumps in `next`.
        let consumer = std::thread::spawn(move || drain(&stream));
        let third = reader.next().unwrap().unwrap();
        let (ids, chunks, end) = consumer.join().unwrap();
        assert_eq!(ids, (501..=15_500).collect::<Vec<_>>(), "every row once, in order");
        // 4,500 rows were read when it became large (the first event past 4,000): sent as chunks
        // of 2,000 too, then the rest in chunks of 2,000 as it is read.
        assert_eq!(chunks, vec![2000, 2000, 500, 2000, 2000, 2000, 2000, 2000, 500]);
        assert_eq!(end, StreamEnd { end: TxnEnd::Xid, pos_end: head.pos.start + whole_size, size: whole_size, commit_time_us: 1_700_000_000_000_000 });
        assert_eq!(third.gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 3 }));
        assert_eq!(third.row_counts(), (500, 0, 0));
        assert!(reader.next().is_none());
    }

    #[test]
    fn a_transaction_of_few_huge_rows_streams_by_bytes_in_chunks_of_about_4_mib() {
        // 100 rows of 256 KiB, one per ROWS event: 25 MiB in only 100 rows.
        let (blob, event) = (256 * 1024, 256 * 1024 + 50);
        let mut reader = TransactionReader::new(events_with(1, 100, event, blob).into_iter()).stream_large(Some(50_000)).stream_large_bytes(Some(8 << 20));
        let _ = reader.next().unwrap().unwrap();
        let head = reader.next().unwrap().unwrap();
        assert_eq!(head.gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 2 }));
        let stream = head.stream.clone().expect("streamed by size, far below the row limit");
        let consumer = std::thread::spawn(move || drain(&stream));
        let third = reader.next().unwrap().unwrap();
        let (ids, chunks, end) = consumer.join().unwrap();
        assert_eq!(ids, (2..=101).collect::<Vec<_>>(), "every row once, in order");
        // Past 8 MiB after 32 rows (32 x (256 KiB + 50) bytes of events); then 16 rows (4 MiB)
        // per chunk.
        assert_eq!(chunks, vec![16, 16, 16, 16, 16, 16, 4]);
        assert_eq!(end.size, 42 + 100 * (50 + u64::from(event)) + 31);
        assert_eq!(third.gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 3 }));
        // Without a byte limit the same transaction is held whole.
        let mut reader = TransactionReader::new(events_with(1, 100, event, blob).into_iter()).stream_large(Some(50_000));
        let _ = reader.next().unwrap().unwrap();
        let whole = reader.next().unwrap().unwrap();
        assert!(whole.stream.is_none());
        assert_eq!(whole.row_counts(), (100, 0, 0));
    }

    #[test]
    fn an_abandoned_or_filtered_stream_is_read_past_and_discarded() {
        // Abandoned by its consumer: the reader neither blocks nor loses the next transaction.
        let mut reader = TransactionReader::new(events(500, 30).into_iter()).stream_large(Some(4000));
        let _ = reader.next().unwrap().unwrap();
        let head = reader.next().unwrap().unwrap();
        head.stream.as_ref().unwrap().abandon();
        let third = reader.next().unwrap().unwrap();
        assert_eq!(third.gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 3 }));
        // Dropped head (e.g. already applied on the target): the channel closes, same result.
        let mut reader = TransactionReader::new(events(500, 30).into_iter()).stream_large(Some(4000));
        let _ = reader.next().unwrap().unwrap();
        drop(reader.next().unwrap().unwrap());
        assert_eq!(reader.next().unwrap().unwrap().gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 3 }));
        // Before the start GTID: never yielded, read past.
        let mut reader = TransactionReader::new(events(500, 30).into_iter()).stream_large(Some(4000)).start_gtid(Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 3 }));
        assert_eq!(reader.next().unwrap().unwrap().gtid, Some(Gtid::Mariadb { domain: 1, server_id: 7, seq: 3 }));
        assert!(reader.next().is_none());
    }

    #[test]
    fn input_ending_inside_a_streamed_transaction_fails_the_stream_and_the_reader() {
        let mut evs = events(500, 30);
        evs.truncate(evs.len() - 5); // cut inside transaction 2: all of 3 and 2's XID are gone
        let mut reader = TransactionReader::new(evs.into_iter()).stream_large(Some(4000));
        let _ = reader.next().unwrap().unwrap();
        let head = reader.next().unwrap().unwrap();
        let stream = head.stream.clone().unwrap();
        let consumer = std::thread::spawn(move || loop {
            match stream.next_piece(Duration::from_secs(5)).expect("piece") {
                StreamPiece::Changes(_) => continue,
                StreamPiece::End(_) => return "ended".to_string(),
                StreamPiece::Failed(e) | StreamPiece::Interrupted(e) => return e,
            }
        });
        let err = reader.next().unwrap().unwrap_err();
        assert!(matches!(err, ReadError::Assemble(AssembleError::Incomplete { .. })), "{err}");
        assert_eq!(consumer.join().unwrap(), "the input ended inside the transaction");
        assert!(reader.next().is_none());
    }
}
