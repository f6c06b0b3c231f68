//! Reading: any event source (binlog files, a live stream) -> [`Transaction`]s, in source order.
//!
//! Owns the [`TransactionReader`] (GTID start/stop filters, an incomplete tail, large
//! transactions streamed as they are read), its [`ReadError`] and [`ReadStats`]. It groups
//! events only through the [`Assembler`]'s public methods and sends chunks only through
//! `stream.rs`'s pump: it must not decide what a transaction is, nor how chunks are cut.

use crate::decode::event::{Event, EventData};

use super::assemble::{AssembleError, Assembler};
use super::stream::{split_chunks, Pump, STREAM_CHANNEL_CHUNKS, STREAM_CHUNK_BYTES, STREAM_CHUNK_ROWS};
use super::{Gtid, StreamEnd, StreamPiece, Transaction};

/// A failure while reading transactions: from the event source, from assembly, or a filter
/// whose GTID never appeared.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Source(E),
    #[error(transparent)]
    Assemble(#[from] AssembleError),
    #[error("start GTID {0} was not found in the input")]
    StartNotFound(Gtid),
}

/// Counters of what a [`TransactionReader`] consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Events read from the source (a TRANSACTION_PAYLOAD counts once).
    pub events: u64,
    /// Events inside TRANSACTION_PAYLOAD events.
    pub payload_inner_events: u64,
    /// Transactions assembled, including ones skipped by the start filter.
    pub transactions: u64,
    /// Transactions skipped because they came before the start GTID.
    pub skipped: u64,
}

/// Transactions from any event source (binlog files, a live stream), in source order.
///
/// Options (all off by default):
/// - [`start_gtid`](Self::start_gtid): skip transactions until the one with this GTID, which is
///   the first one yielded. If it never appears, the reader ends with
///   [`ReadError::StartNotFound`] rather than silently yielding nothing.
/// - [`stop_gtid`](Self::stop_gtid): stop after yielding the transaction with this GTID; nothing
///   after it is read.
/// - [`allow_incomplete_tail`](Self::allow_incomplete_tail): a transaction cut off at the end of
///   input is an error by default ([`AssembleError::Incomplete`]: for files it means a crash
///   mid-write or a copy taken too early, and applying the part would be wrong). With this
///   option it is dropped with a `warn!` instead, for reading a binlog that is still being
///   written.
/// - [`stream_large`](Self::stream_large) / [`stream_large_bytes`](Self::stream_large_bytes): a
///   transaction inside BEGIN with a GTID that grows past this many row changes, or this many
///   bytes of row events, is yielded early, as a head whose [`Transaction::stream`] carries the
///   rest in chunks; the reader sends them while the consumer takes them (the next call to
///   `next` first finishes that transaction), so memory stays bounded whatever its size.
pub struct TransactionReader<I> {
    events: I,
    assembler: Assembler,
    start: Option<Gtid>,
    stop: Option<Gtid>,
    started: bool,
    allow_incomplete_tail: bool,
    done: bool,
    stats: ReadStats,
    large_rows: Option<usize>,
    large_bytes: Option<u64>,
    pump: Option<Pump>,
}

impl<I, E> TransactionReader<I>
where
    I: Iterator<Item = Result<Event, E>>,
    E: std::error::Error + 'static,
{
    pub fn new(events: I) -> TransactionReader<I> {
        TransactionReader {
            events,
            assembler: Assembler::new(),
            start: None,
            stop: None,
            started: true,
            allow_incomplete_tail: false,
            done: false,
            stats: ReadStats::default(),
            large_rows: None,
            large_bytes: None,
            pump: None,
        }
    }

    /// Stream transactions with more than `rows` row changes instead of holding them whole
    /// (`None`, the default: never).
    pub fn stream_large(mut self, rows: Option<usize>) -> Self {
        self.large_rows = rows.map(|r| r.max(STREAM_CHUNK_ROWS));
        self
    }

    /// Also stream transactions whose row events exceed `bytes` (`None`, the default: rows
    /// decide alone).
    pub fn stream_large_bytes(mut self, bytes: Option<u64>) -> Self {
        self.large_bytes = bytes.map(|b| b.max(STREAM_CHUNK_BYTES));
        self
    }

    /// First transaction to yield (inclusive). Default: from the beginning.
    pub fn start_gtid(mut self, gtid: Option<Gtid>) -> Self {
        self.started = gtid.is_none();
        self.start = gtid;
        self
    }

    /// Last transaction to yield (inclusive). Default: to the end of input.
    pub fn stop_gtid(mut self, gtid: Option<Gtid>) -> Self {
        self.stop = gtid;
        self
    }

    /// Drop (with a warning) instead of failing on a transaction cut off by the end of input.
    /// Default: false.
    pub fn allow_incomplete_tail(mut self, allow: bool) -> Self {
        self.allow_incomplete_tail = allow;
        self
    }

    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The underlying event source (e.g. to ask [`crate::source::file::BinlogFiles`] how many
    /// files it opened).
    pub fn source(&self) -> &I {
        &self.events
    }

    fn next_txn(&mut self) -> Result<Option<Transaction>, ReadError<E>> {
        loop {
            let Some(event) = self.events.next() else {
                let last = match self.assembler.finish() {
                    Err(e) if self.allow_incomplete_tail => {
                        tracing::warn!("{e}");
                        None
                    }
                    Err(e) => return Err(e.into()),
                    Ok(last) => last,
                };
                if let Some(txn) = last {
                    self.done = true;
                    if let Some(t) = self.filter(txn) {
                        return Ok(Some(t));
                    }
                }
                if let (false, Some(g)) = (self.started, &self.start) {
                    return Err(ReadError::StartNotFound(g.clone()));
                }
                return Ok(None);
            };
            let event = event.map_err(ReadError::Source)?;
            self.stats.events += 1;
            if let EventData::TransactionPayload(inner) = &event.data {
                self.stats.payload_inner_events += inner.len() as u64;
            }
            let Some(txn) = self.assembler.push(event)? else {
                if let Some(head) = self.start_stream() {
                    return Ok(Some(head));
                }
                continue;
            };
            if let Some(t) = self.filter(txn) {
                return Ok(Some(t));
            }
        }
    }

    /// When the open transaction just outgrew `large_rows` or `large_bytes`: its head, carrying
    /// the stream its changes will follow through (`None` when filtered out: the rest is then
    /// discarded).
    fn start_stream(&mut self) -> Option<Transaction> {
        if self.pump.is_some() || (self.large_rows.is_none() && self.large_bytes.is_none()) {
            return None;
        }
        let (rows, bytes) = self.assembler.streamable_size()?;
        if !(self.large_rows.is_some_and(|l| rows > l) || self.large_bytes.is_some_and(|l| bytes > l)) {
            return None;
        }
        let mut head = self.assembler.open_head()?;
        // What was read so far goes in chunks of the usual size too (the worker builds SQL per
        // chunk); the channel makes room for them all, since they are in memory already and
        // the consumer cannot take any before it has the head.
        let first = split_chunks(self.assembler.take_open_changes());
        let (mut pump, stream) = Pump::new(STREAM_CHANNEL_CHUNKS.max(first.len()));
        head.stream = Some(stream);
        let wanted = self.filter(head);
        if wanted.is_none() {
            pump.tx = None;
        }
        for chunk in first {
            pump.send(StreamPiece::Changes(chunk));
        }
        self.pump = Some(pump);
        // A filtered-out head still has to be read to its end before the next transaction.
        if wanted.is_none() {
            if let Err(e) = self.finish_stream() {
                tracing::warn!(error = %e, "reading a skipped large transaction failed");
            }
        }
        wanted
    }

    /// Read the rest of a streamed transaction, sending its changes on in chunks.
    fn finish_stream(&mut self) -> Result<(), ReadError<E>> {
        let Some(mut pump) = self.pump.take() else { return Ok(()) };
        loop {
            let event = match self.events.next() {
                Some(Ok(ev)) => ev,
                Some(Err(e)) => {
                    pump.send(StreamPiece::Failed(format!("reading the source: {e}")));
                    return Err(ReadError::Source(e));
                }
                None => {
                    let err = self.assembler.finish().err();
                    pump.send(StreamPiece::Failed("the input ended inside the transaction".into()));
                    return match err {
                        Some(e) if !self.allow_incomplete_tail => Err(e.into()),
                        Some(e) => {
                            tracing::warn!("{e}");
                            Ok(())
                        }
                        None => Ok(()),
                    };
                }
            };
            self.stats.events += 1;
            let completed = match self.assembler.push(event) {
                Ok(c) => c,
                Err(e) => {
                    pump.send(StreamPiece::Failed(e.to_string()));
                    return Err(e.into());
                }
            };
            match completed {
                None => {
                    if self.assembler.streamable_size().is_some_and(|(n, b)| n >= STREAM_CHUNK_ROWS || b >= STREAM_CHUNK_BYTES) {
                        let chunk = self.assembler.take_open_changes();
                        pump.send(StreamPiece::Changes(chunk));
                    }
                }
                Some(txn) => {
                    if !txn.changes.is_empty() {
                        pump.send(StreamPiece::Changes(txn.changes));
                    }
                    pump.send(StreamPiece::End(StreamEnd { end: txn.end, pos_end: txn.pos.end, size: txn.size, commit_time_us: txn.commit_time_us }));
                    return Ok(());
                }
            }
        }
    }

    /// Apply the start/stop filters to a completed transaction.
    fn filter(&mut self, txn: Transaction) -> Option<Transaction> {
        self.stats.transactions += 1;
        if !self.started {
            if txn.gtid.is_some() && txn.gtid == self.start {
                self.started = true;
            } else {
                self.stats.skipped += 1;
                return None;
            }
        }
        if self.stop.is_some() && txn.gtid == self.stop {
            self.done = true;
        }
        Some(txn)
    }
}

impl<I, E> Iterator for TransactionReader<I>
where
    I: Iterator<Item = Result<Event, E>>,
    E: std::error::Error + 'static,
{
    type Item = Result<Transaction, ReadError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        // A streamed transaction yielded last time is read to its end first.
        if let Err(e) = self.finish_stream() {
            self.done = true;
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        match self.next_txn() {
            Ok(Some(t)) => Some(Ok(t)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::test_events::Stream;

    #[derive(Debug, Clone, thiserror::Error)]
    #[error("source broke")]
    struct SourceBroke;

    fn mariadb_stream(n: u64) -> Vec<Result<Event, SourceBroke>> {
        let mut s = Stream::new("m");
        let mut v = Vec::new();
        for seq in 1..=n {
            v.push(Ok(s.maria_gtid(seq, 0, None)));
            v.push(Ok(s.query("INSERT INTO t VALUES (1)")));
            v.push(Ok(s.xid()));
        }
        v
    }

    #[test]
    fn reader_start_and_stop_filters() {
        let seqs = |r: TransactionReader<std::vec::IntoIter<Result<Event, SourceBroke>>>| -> Vec<u64> {
            r.map(|t| match t.unwrap().gtid {
                Some(Gtid::Mariadb { seq, .. }) => seq,
                other => panic!("{other:?}"),
            })
            .collect()
        };
        assert_eq!(seqs(TransactionReader::new(mariadb_stream(5).into_iter())), vec![1, 2, 3, 4, 5]);
        let r = TransactionReader::new(mariadb_stream(5).into_iter())
            .start_gtid(Some("1-7-2".parse().unwrap()))
            .stop_gtid(Some("1-7-4".parse().unwrap()));
        assert_eq!(seqs(r), vec![2, 3, 4]);
        let mut r = TransactionReader::new(mariadb_stream(3).into_iter()).start_gtid(Some("1-7-9".parse().unwrap()));
        assert!(matches!(r.next(), Some(Err(ReadError::StartNotFound(_)))));
        assert!(r.next().is_none());
        assert_eq!(r.stats().skipped, 3);
    }

    #[test]
    fn reader_incomplete_tail_is_an_error_unless_allowed() {
        let mut events = mariadb_stream(2);
        events.pop();
        let out: Vec<_> = TransactionReader::new(events.clone().into_iter()).collect();
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        assert_eq!(out[1].as_ref().unwrap_err().to_string(), "incomplete transaction 1-7-2 at end of m:171 (last event ends at 307)");
        let out: Vec<_> = TransactionReader::new(events.into_iter()).allow_incomplete_tail(true).collect();
        assert_eq!(out.len(), 1);
        let mut broken = mariadb_stream(1);
        broken.insert(1, Err(SourceBroke));
        let out: Vec<_> = TransactionReader::new(broken.into_iter()).collect();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().unwrap_err().to_string(), "source broke");
    }
}
