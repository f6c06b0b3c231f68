//! Exactly-once bookkeeping on the target: which source transactions are already applied.
//!
//! Owns the two state tables in `apply.state_schema` and their SQL, the in-memory view loaded at
//! start ([`AppliedSet`]) and the tracker that decides how far the watermark may be compacted
//! ([`Progress`]). It must not apply rows or decide scheduling.
//!
//! # The record
//! - `applied_txn(stream, seq, gtid)`: one row per applied transaction, inserted by the worker
//!   **in the same target transaction as the rows** (DESIGN rule 1). Commit order does not
//!   matter: out-of-order commits simply leave holes that other rows fill later.
//! - `applied_watermark(stream, seq, gtid)`: per stream, every transaction of that stream up to
//!   `seq` that this applier ever saw is applied. Compaction moves it forward and deletes the
//!   `applied_txn` rows it covers, in its own transaction; it never moves past a transaction that
//!   is still in flight, so a crash at any point leaves `watermark ∪ applied_txn` exact.
//!
//! - `xa_prepared(xid, gtid)`: a branch parapply prepared on the target (an XA transaction's
//!   first part, see `crate::txn::XaPart`), inserted with the prepare's `applied_txn` row in a
//!   transaction of its own right after `XA PREPARE` (rows inside an XA branch only become
//!   visible at its XA COMMIT, so the record cannot go in the branch), deleted with the `XA
//!   COMMIT`/`XA ROLLBACK`'s row. After a crash between `XA COMMIT` and its record, the xid
//!   missing from `XA RECOVER` while marked here means the commit landed.
//!
//! A *stream* is an independent sequence of source transactions: a MariaDB GTID domain
//! (`mariadb:<domain>`, seq = seq_no), a MySQL source UUID and tag (`mysql:<uuid>[:tag]`,
//! seq = gno), or, for sources without GTIDs, the binlog file base name (`file:<base>`, seq =
//! file number × 2^40 + end position). Within a stream the source writes seqs in increasing
//! order (MariaDB per domain, MySQL per UUID); the watermark relies on that and [`Progress`]
//! warns when a stream goes backwards.
//!
//! # Resumption
//! On start the worker pool loads [`AppliedSet`] and skips every transaction it contains (the
//! skip is still reported to the scheduler and counted).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mysql_async::prelude::Queryable;

use crate::apply::sql::{quote_ident, quote_str};
use crate::decode::event::XaId;
use crate::txn::{Gtid, Transaction};

/// `xid` as one hex literal: format id (4 bytes, big endian), gtrid length, gtrid, bqual.
fn xa_key(xid: &XaId) -> String {
    let mut key = xid.format_id.to_be_bytes().to_vec();
    key.push(xid.gtrid.len().min(255) as u8);
    key.extend_from_slice(&xid.gtrid);
    key.extend_from_slice(&xid.bqual);
    let mut out = String::with_capacity(3 + key.len() * 2);
    out.push_str("X'");
    for b in key {
        out.push_str(&format!("{b:02x}"));
    }
    out.push('\'');
    out
}

/// Checkpoint failures, naming the table or transaction.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("transaction at {file}:{pos} has no GTID and its file name {file:?} has no numeric suffix to order it by")]
    NoOrder { file: String, pos: u64 },
    #[error("checkpoint table {table}: {}", crate::error_text::chain(.cause))]
    Sql { table: String, cause: mysql_async::Error },
}

/// Where one transaction sits in its stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamPos {
    pub stream: String,
    pub seq: u64,
    /// The GTID (or `file:end`) as text, kept for humans and for positions.
    pub gtid: String,
    /// MariaDB (domain, server_id, seq) when the source GTID can be kept on the target.
    pub mariadb: Option<(u32, u32, u64)>,
}

impl StreamPos {
    /// The stream position of `txn`.
    pub fn of(txn: &Transaction) -> Result<StreamPos, CheckpointError> {
        match &txn.gtid {
            Some(Gtid::Mariadb { domain, server_id, seq }) => Ok(StreamPos {
                stream: format!("mariadb:{domain}"),
                seq: *seq,
                gtid: format!("{domain}-{server_id}-{seq}"),
                mariadb: Some((*domain, *server_id, *seq)),
            }),
            Some(g @ Gtid::Mysql { tag, gno, .. }) => {
                let text = g.to_string();
                // Stream = uuid[:tag]: the GTID text without its trailing ":gno".
                let stream_id = text.rsplit_once(':').map(|(s, _)| s.to_string()).unwrap_or_default();
                let _ = tag;
                Ok(StreamPos { stream: format!("mysql:{stream_id}"), seq: *gno, gtid: text, mariadb: None })
            }
            Some(Gtid::Anonymous) | None => {
                // The file `end` is in (a relay-log transaction may end in a later file than it
                // started in), so that (file number, end) orders transactions.
                let file = if txn.pos.end_file.is_empty() { &txn.pos.file } else { &txn.pos.end_file };
                let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
                let (base, num) = name.rsplit_once('.').ok_or_else(|| CheckpointError::NoOrder { file: file.clone(), pos: txn.pos.start })?;
                let num: u64 = num.parse().map_err(|_| CheckpointError::NoOrder { file: file.clone(), pos: txn.pos.start })?;
                if num >= 1 << 23 || txn.pos.end >= 1 << 40 {
                    return Err(CheckpointError::NoOrder { file: file.clone(), pos: txn.pos.start });
                }
                Ok(StreamPos { stream: format!("file:{base}"), seq: (num << 40) | txn.pos.end, gtid: format!("{name}:{}", txn.pos.end), mariadb: None })
            }
        }
    }
}

/// What the target already holds, loaded once at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppliedSet {
    /// stream -> (seq, gtid text) of the watermark.
    pub watermark: HashMap<String, (u64, String)>,
    /// stream -> applied seqs beyond the watermark, with their gtid text.
    pub beyond: HashMap<String, BTreeMap<u64, String>>,
}

impl AppliedSet {
    /// True when the transaction at `pos` is already applied on the target.
    pub fn contains(&self, pos: &StreamPos) -> bool {
        if self.watermark.get(&pos.stream).is_some_and(|(w, _)| pos.seq <= *w) {
            return true;
        }
        self.beyond.get(&pos.stream).is_some_and(|m| m.contains_key(&pos.seq))
    }

    /// Number of applied transactions recorded beyond the watermarks.
    pub fn beyond_count(&self) -> usize {
        self.beyond.values().map(BTreeMap::len).sum()
    }

    /// The highest applied GTID per stream, as a position: MariaDB streams as
    /// `domain-server-seq` joined by `,` in domain order (the form of `@@gtid_binlog_pos`),
    /// then other streams' highest GTID text.
    pub fn position(&self) -> String {
        let mut streams: BTreeSet<&String> = self.watermark.keys().collect();
        streams.extend(self.beyond.keys());
        let mut mariadb: Vec<(u32, String)> = Vec::new();
        let mut other: Vec<String> = Vec::new();
        for s in streams {
            let w = self.watermark.get(s).map(|(seq, g)| (*seq, g.clone()));
            let b = self.beyond.get(s).and_then(|m| m.iter().next_back().map(|(seq, g)| (*seq, g.clone())));
            let best = match (w, b) {
                (Some(w), Some(b)) => Some(if b.0 > w.0 { b } else { w }),
                (w, b) => w.or(b),
            };
            let Some((_, gtid)) = best else { continue };
            match s.strip_prefix("mariadb:").and_then(|d| d.parse::<u32>().ok()) {
                Some(domain) => mariadb.push((domain, gtid)),
                None => other.push(gtid),
            }
        }
        mariadb.sort();
        let mut parts: Vec<String> = mariadb.into_iter().map(|(_, g)| g).collect();
        parts.extend(other);
        parts.join(",")
    }
}

impl AppliedSet {
    /// Where a live source should resume: per MariaDB domain the watermark GTID (or, before the
    /// first compaction, the GTID just below the lowest applied one); per MySQL UUID the set
    /// `uuid:1-W`; for file streams `FILE:END` of the watermark. Transactions applied beyond it
    /// are skipped by [`AppliedSet::contains`], so resuming low is safe. `None` when nothing was
    /// ever recorded.
    pub fn resume_position(&self) -> Option<String> {
        let mut streams: BTreeSet<&String> = self.watermark.keys().collect();
        streams.extend(self.beyond.keys());
        let mut mariadb = Vec::new();
        let mut mysql = Vec::new();
        let mut file = None;
        for s in streams {
            let wm = self.watermark.get(s);
            let lowest = self.beyond.get(s).and_then(|m| m.iter().next());
            if let Some(domain) = s.strip_prefix("mariadb:") {
                let pos = match (wm, lowest) {
                    (Some((_, g)), _) => g.clone(),
                    // Nothing compacted yet and the domain's first transaction is applied
                    // beyond it: start the domain from its beginning (`D-S-0` does not exist
                    // and a strict-mode master refuses it). What is applied is skipped.
                    (None, Some((seq, _))) if *seq <= 1 => continue,
                    (None, Some((seq, g))) => {
                        let server = g.split('-').nth(1).unwrap_or("0");
                        format!("{domain}-{server}-{}", seq.saturating_sub(1))
                    }
                    (None, None) => continue,
                };
                mariadb.push(pos);
            } else if let Some(id) = s.strip_prefix("mysql:") {
                let w = wm.map(|(w, _)| *w).or_else(|| lowest.map(|(seq, _)| seq.saturating_sub(1))).unwrap_or(0);
                if w > 0 {
                    mysql.push(format!("{id}:1-{w}"));
                }
            } else if s.starts_with("file:") {
                if let Some((_, g)) = wm {
                    file = Some(g.clone());
                }
            }
        }
        if !mariadb.is_empty() {
            return Some(mariadb.join(","));
        }
        if !mysql.is_empty() {
            return Some(mysql.join(","));
        }
        file
    }
}

/// The default `apply.state_schema`, a config default (see [`crate::config`]).
pub use crate::config::DEFAULT_STATE_SCHEMA;
/// Where parapply kept its state before: moved to [`DEFAULT_STATE_SCHEMA`] on start (see
/// [`CheckpointStore::setup`]), so an upgrade keeps its checkpoint.
pub const LEGACY_STATE_SCHEMA: &str = "parapply";
const STATE_TABLES: [&str; 2] = ["applied_txn", "applied_watermark"];

/// The checkpoint tables of one state schema.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    schema: String,
}

impl CheckpointStore {
    pub fn new(schema: &str) -> Self {
        CheckpointStore { schema: schema.to_string() }
    }

    fn applied_table(&self) -> String {
        format!("{}.`applied_txn`", quote_ident(&self.schema))
    }

    fn watermark_table(&self) -> String {
        format!("{}.`applied_watermark`", quote_ident(&self.schema))
    }

    fn xa_table(&self) -> String {
        format!("{}.`xa_prepared`", quote_ident(&self.schema))
    }

    /// Mark `xid` as prepared by parapply at `pos` (runs in the prepare's record transaction).
    pub fn xa_mark_sql(&self, xid: &XaId, pos: &StreamPos) -> String {
        format!("REPLACE INTO {} (xid, gtid) VALUES ({}, {})", self.xa_table(), xa_key(xid), quote_str(&pos.gtid))
    }

    /// Forget `xid` (runs in the XA COMMIT/ROLLBACK's record transaction).
    pub fn xa_unmark_sql(&self, xid: &XaId) -> String {
        format!("DELETE FROM {} WHERE xid = {}", self.xa_table(), xa_key(xid))
    }

    /// Did parapply prepare `xid` (and not yet record its XA COMMIT/ROLLBACK)?
    pub async fn xa_marked(&self, conn: &mut mysql_async::Conn, xid: &XaId) -> Result<bool, CheckpointError> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE xid = {}", self.xa_table(), xa_key(xid));
        let n: Option<u64> = conn.query_first(sql).await.map_err(|cause| CheckpointError::Sql { table: self.xa_table(), cause })?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// Statements creating the schema and tables (idempotent).
    pub fn setup_sql(&self) -> Vec<String> {
        vec![
            format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(&self.schema)),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (stream VARBINARY(128) NOT NULL, seq BIGINT UNSIGNED NOT NULL, \
                 gtid VARBINARY(255) NOT NULL, PRIMARY KEY (stream, seq)) ENGINE=InnoDB",
                self.applied_table()
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (stream VARBINARY(128) NOT NULL PRIMARY KEY, seq BIGINT UNSIGNED NOT NULL, \
                 gtid VARBINARY(255) NOT NULL) ENGINE=InnoDB",
                self.watermark_table()
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (xid VARBINARY(600) NOT NULL PRIMARY KEY, gtid VARBINARY(255) NOT NULL) ENGINE=InnoDB",
                self.xa_table()
            ),
        ]
    }

    /// The statement that records `pos` as applied; runs inside the transaction it records.
    pub fn record_sql(&self, pos: &StreamPos) -> String {
        self.record_many_sql(std::slice::from_ref(pos))
    }

    /// One statement recording every position of a commit group.
    pub fn record_many_sql(&self, positions: &[StreamPos]) -> String {
        let mut sql = format!("INSERT INTO {} (stream, seq, gtid) VALUES ", self.applied_table());
        for (i, pos) in positions.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("({}, {}, {})", quote_str(&pos.stream), pos.seq, quote_str(&pos.gtid)));
        }
        sql
    }

    /// Create the tables if needed. With the default state schema, a checkpoint still in the
    /// legacy schema is moved first (one atomic `RENAME TABLE`), and the legacy schema is dropped
    /// when that leaves it empty, so a replicated schema of that name can be created again.
    pub async fn setup(&self, conn: &mut mysql_async::Conn) -> Result<(), CheckpointError> {
        let err = |table: String| move |source| CheckpointError::Sql { table, cause: source };
        let moved = self.schema == DEFAULT_STATE_SCHEMA && self.state_tables_in(conn, LEGACY_STATE_SCHEMA).await? == STATE_TABLES.len() && self.state_tables_in(conn, &self.schema).await? == 0;
        for sql in self.setup_sql().into_iter().take(if moved { 1 } else { usize::MAX }) {
            conn.query_drop(sql).await.map_err(err(self.applied_table()))?;
        }
        if moved {
            let renames: Vec<String> = STATE_TABLES
                .iter()
                .map(|t| format!("{}.{} TO {}.{}", quote_ident(LEGACY_STATE_SCHEMA), quote_ident(t), quote_ident(&self.schema), quote_ident(t)))
                .collect();
            conn.query_drop(format!("RENAME TABLE {}", renames.join(", "))).await.map_err(err(format!("{}.*", quote_ident(LEGACY_STATE_SCHEMA))))?;
            let left: Option<u64> = conn
                .query_first(format!("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {}", quote_str(LEGACY_STATE_SCHEMA)))
                .await
                .map_err(err(format!("{}.*", quote_ident(LEGACY_STATE_SCHEMA))))?;
            let dropped = left == Some(0);
            if dropped {
                conn.query_drop(format!("DROP DATABASE {}", quote_ident(LEGACY_STATE_SCHEMA))).await.map_err(err(format!("{}.*", quote_ident(LEGACY_STATE_SCHEMA))))?;
            }
            tracing::warn!(from = LEGACY_STATE_SCHEMA, to = %self.schema, legacy_schema_dropped = dropped, "checkpoint moved to the new default state schema (apply.state_schema)");
        }
        Ok(())
    }

    /// How many of parapply's state tables exist in `schema`.
    async fn state_tables_in(&self, conn: &mut mysql_async::Conn, schema: &str) -> Result<usize, CheckpointError> {
        let n: Option<u64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME IN ({})",
                quote_str(schema),
                STATE_TABLES.map(quote_str).join(", ")
            ))
            .await
            .map_err(|source| CheckpointError::Sql { table: format!("{}.*", quote_ident(schema)), cause: source })?;
        Ok(n.unwrap_or(0) as usize)
    }

    /// Load the watermarks and the applied transactions beyond them.
    pub async fn load(&self, conn: &mut mysql_async::Conn) -> Result<AppliedSet, CheckpointError> {
        let mut set = AppliedSet::default();
        let wm: Vec<(Vec<u8>, u64, Vec<u8>)> = conn
            .query(format!("SELECT stream, seq, gtid FROM {}", self.watermark_table()))
            .await
            .map_err(|source| CheckpointError::Sql { table: self.watermark_table(), cause: source })?;
        for (stream, seq, gtid) in wm {
            set.watermark.insert(String::from_utf8_lossy(&stream).into_owned(), (seq, String::from_utf8_lossy(&gtid).into_owned()));
        }
        let rows: Vec<(Vec<u8>, u64, Vec<u8>)> = conn
            .query(format!("SELECT stream, seq, gtid FROM {}", self.applied_table()))
            .await
            .map_err(|source| CheckpointError::Sql { table: self.applied_table(), cause: source })?;
        for (stream, seq, gtid) in rows {
            let stream = String::from_utf8_lossy(&stream).into_owned();
            if set.watermark.get(&stream).is_some_and(|(w, _)| seq <= *w) {
                continue;
            }
            set.beyond.entry(stream).or_default().insert(seq, String::from_utf8_lossy(&gtid).into_owned());
        }
        Ok(set)
    }

    /// Is `pos` recorded (used after a lost connection to learn whether a COMMIT landed)?
    pub async fn is_recorded(&self, conn: &mut mysql_async::Conn, pos: &StreamPos) -> Result<bool, CheckpointError> {
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM {} WHERE stream={s} AND seq={q}) + (SELECT COUNT(*) FROM {} WHERE stream={s} AND seq>={q})",
            self.applied_table(),
            self.watermark_table(),
            s = quote_str(&pos.stream),
            q = pos.seq
        );
        let n: Option<u64> = conn.query_first(sql).await.map_err(|source| CheckpointError::Sql { table: self.applied_table(), cause: source })?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// Move watermarks forward to `targets` and drop the `applied_txn` rows they cover, in one
    /// transaction of its own. The connection should use READ COMMITTED so the range delete takes
    /// no gap locks that would stall workers inserting just above it.
    pub async fn compact(&self, conn: &mut mysql_async::Conn, targets: &[StreamPos]) -> Result<(), CheckpointError> {
        if targets.is_empty() {
            return Ok(());
        }
        let mut sql = String::from("BEGIN;");
        for t in targets {
            sql.push_str(&format!(
                "INSERT INTO {wm} (stream, seq, gtid) VALUES ({s}, {q}, {g}) ON DUPLICATE KEY UPDATE \
                 gtid = IF(VALUES(seq) > seq, VALUES(gtid), gtid), seq = GREATEST(seq, VALUES(seq));\
                 DELETE FROM {ap} WHERE stream = {s} AND seq <= {q};",
                wm = self.watermark_table(),
                ap = self.applied_table(),
                s = quote_str(&t.stream),
                q = t.seq,
                g = quote_str(&t.gtid)
            ));
        }
        sql.push_str("COMMIT");
        if let Err(source) = conn.query_drop(sql).await {
            let _ = conn.query_drop("ROLLBACK").await;
            return Err(CheckpointError::Sql { table: self.watermark_table(), cause: source });
        }
        Ok(())
    }

    /// The applied position as [`AppliedSet::position`] renders it.
    pub async fn position(&self, conn: &mut mysql_async::Conn) -> Result<String, CheckpointError> {
        Ok(self.load(conn).await?.position())
    }
}

#[derive(Debug, Default)]
struct StreamProgress {
    /// Dispatched, not yet committed.
    pending: BTreeSet<u64>,
    /// Committed or skipped, beyond the persisted watermark: seq -> gtid text.
    finished: BTreeMap<u64, String>,
    /// Watermark known to be on the target.
    persisted: u64,
    /// Highest seq seen in this run, to notice a stream going backwards.
    last_seen: Option<u64>,
}

/// In-process tracker of in-flight and finished transactions per stream, deciding how far each
/// watermark may move. Kept behind one short `parking_lot` lock by the pipeline (taken by the
/// reader before dispatch and by workers after commit; never held across I/O).
#[derive(Debug, Default)]
pub struct Progress {
    streams: HashMap<String, StreamProgress>,
    /// Streams whose seqs went backwards; their watermark is frozen (only `applied_txn` rows).
    backwards: BTreeSet<String>,
}

impl Progress {
    /// Seed persisted watermarks from what was loaded at start.
    pub fn from_applied(set: &AppliedSet) -> Progress {
        let mut p = Progress::default();
        for (s, (seq, _)) in &set.watermark {
            let sp = p.streams.entry(s.clone()).or_default();
            sp.persisted = *seq;
        }
        p
    }

    fn seen(&mut self, pos: &StreamPos) -> &mut StreamProgress {
        let backwards = {
            let sp = self.streams.entry(pos.stream.clone()).or_default();
            let b = sp.last_seen.is_some_and(|l| pos.seq <= l);
            sp.last_seen = Some(sp.last_seen.map_or(pos.seq, |l| l.max(pos.seq)));
            b
        };
        if backwards && self.backwards.insert(pos.stream.clone()) {
            tracing::warn!(stream = %pos.stream, gtid = %pos.gtid, "stream seq went backwards; its watermark stops advancing (applied_txn rows still make it exactly-once)");
        }
        self.streams.entry(pos.stream.clone()).or_default()
    }

    /// The reader is about to dispatch `pos`.
    pub fn dispatched(&mut self, pos: &StreamPos) {
        self.seen(pos).pending.insert(pos.seq);
    }

    /// The reader skipped `pos` because the target already has it.
    pub fn skipped(&mut self, pos: &StreamPos) {
        let sp = self.seen(pos);
        if pos.seq > sp.persisted {
            sp.finished.insert(pos.seq, pos.gtid.clone());
        }
    }

    /// A worker committed `pos`.
    pub fn committed(&mut self, pos: &StreamPos) {
        let sp = self.streams.entry(pos.stream.clone()).or_default();
        sp.pending.remove(&pos.seq);
        if pos.seq > sp.persisted {
            sp.finished.insert(pos.seq, pos.gtid.clone());
        }
    }

    /// Per stream, the furthest finished transaction with nothing in flight below it.
    pub fn compaction_targets(&self) -> Vec<StreamPos> {
        let mut out = Vec::new();
        for (stream, sp) in &self.streams {
            if self.backwards.contains(stream) {
                continue;
            }
            let candidate = match sp.pending.first() {
                Some(&p) => sp.finished.range(..p).next_back(),
                None => sp.finished.iter().next_back(),
            };
            if let Some((&seq, gtid)) = candidate {
                if seq > sp.persisted {
                    out.push(StreamPos { stream: stream.clone(), seq, gtid: gtid.clone(), mariadb: None });
                }
            }
        }
        out.sort_by(|a, b| a.stream.cmp(&b.stream));
        out
    }

    /// `targets` are now persisted.
    pub fn compacted(&mut self, targets: &[StreamPos]) {
        for t in targets {
            if let Some(sp) = self.streams.get_mut(&t.stream) {
                sp.persisted = sp.persisted.max(t.seq);
                sp.finished = sp.finished.split_off(&(t.seq + 1));
            }
        }
    }

    /// Transactions dispatched and not yet committed.
    pub fn in_flight(&self) -> usize {
        self.streams.values().map(|s| s.pending.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::BinlogPos;

    fn m(seq: u64) -> StreamPos {
        StreamPos::of(&Transaction { gtid: Some(Gtid::Mariadb { domain: 1, server_id: 7, seq }), ..Default::default() }).unwrap()
    }

    #[test]
    fn stream_positions_for_each_gtid_flavour() {
        let p = m(42);
        assert_eq!((p.stream.as_str(), p.seq, p.gtid.as_str(), p.mariadb), ("mariadb:1", 42, "1-7-42", Some((1, 7, 42))));
        let t = Transaction { gtid: Some(Gtid::Mysql { uuid: [0x11; 16], tag: Some("tg".into()), gno: 9 }), ..Default::default() };
        let p = StreamPos::of(&t).unwrap();
        assert_eq!(p.stream, "mysql:11111111-1111-1111-1111-111111111111:tg");
        assert_eq!(p.seq, 9);
        let t = Transaction { gtid: None, pos: BinlogPos { file: "/x/mysql-bin.000003".into(), start: 100, end: 250, end_file: "/x/mysql-bin.000003".into() }, ..Default::default() };
        let p = StreamPos::of(&t).unwrap();
        assert_eq!((p.stream.as_str(), p.seq, p.gtid.as_str()), ("file:mysql-bin", (3 << 40) | 250, "mysql-bin.000003:250"));
        let t = Transaction { gtid: None, pos: BinlogPos { file: "noext".into(), start: 4, end: 9, end_file: "noext".into() }, ..Default::default() };
        assert!(StreamPos::of(&t).is_err());
    }

    #[test]
    fn applied_set_contains_watermark_and_holes_beyond_it() {
        let mut s = AppliedSet::default();
        s.watermark.insert("mariadb:1".into(), (10, "1-7-10".into()));
        s.beyond.entry("mariadb:1".into()).or_default().insert(13, "1-7-13".into());
        assert!(s.contains(&m(3)) && s.contains(&m(10)) && s.contains(&m(13)));
        assert!(!s.contains(&m(11)) && !s.contains(&m(14)));
        assert_eq!(s.position(), "1-7-13");
        s.watermark.insert("mariadb:0".into(), (5, "0-1-5".into()));
        assert_eq!(s.position(), "0-1-5,1-7-13");
    }

    #[test]
    fn watermark_never_passes_a_transaction_in_flight_even_when_later_ones_committed() {
        let mut p = Progress::default();
        for s in 1..=5 {
            p.dispatched(&m(s));
        }
        // Out of order: 2, 4, 5 commit while 1 and 3 are still running.
        p.committed(&m(2));
        p.committed(&m(4));
        p.committed(&m(5));
        assert!(p.compaction_targets().is_empty());
        p.committed(&m(1));
        let t = p.compaction_targets();
        assert_eq!(t.iter().map(|t| t.seq).collect::<Vec<_>>(), vec![2]);
        p.compacted(&t);
        assert!(p.compaction_targets().is_empty());
        p.committed(&m(3));
        let t = p.compaction_targets();
        assert_eq!((t[0].seq, t[0].gtid.as_str()), (5, "1-7-5"));
        p.compacted(&t);
        assert_eq!(p.in_flight(), 0);
        assert!(p.compaction_targets().is_empty());
    }

    #[test]
    fn skipped_transactions_let_the_watermark_pass() {
        let mut set = AppliedSet::default();
        set.watermark.insert("mariadb:1".into(), (2, "1-7-2".into()));
        let mut p = Progress::from_applied(&set);
        p.skipped(&m(1));
        p.skipped(&m(2));
        p.skipped(&m(3));
        p.dispatched(&m(4));
        assert_eq!(p.compaction_targets().iter().map(|t| t.seq).collect::<Vec<_>>(), vec![3]);
        p.committed(&m(4));
        assert_eq!(p.compaction_targets().iter().map(|t| t.seq).collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn resume_position_per_flavour() {
        let mut s = AppliedSet::default();
        assert_eq!(s.resume_position(), None);
        s.beyond.entry("mariadb:2".into()).or_default().insert(41, "2-9-41".into());
        s.beyond.entry("mariadb:2".into()).or_default().insert(43, "2-9-43".into());
        assert_eq!(s.resume_position().as_deref(), Some("2-9-40"));
        s.watermark.insert("mariadb:1".into(), (10, "1-7-10".into()));
        assert_eq!(s.resume_position().as_deref(), Some("1-7-10,2-9-40"));
        // A domain whose first transaction is applied but nothing is compacted yet starts from
        // its beginning: there is no `3-5-0` to resume after (killed before the first compaction).
        s.beyond.entry("mariadb:3".into()).or_default().insert(1, "3-5-1".into());
        assert_eq!(s.resume_position().as_deref(), Some("1-7-10,2-9-40"));
        let mut only_first = AppliedSet::default();
        only_first.beyond.entry("mariadb:1".into()).or_default().insert(1, "1-1-1".into());
        assert_eq!(only_first.resume_position(), None);
        let mut m = AppliedSet::default();
        m.watermark.insert("mysql:11111111-1111-1111-1111-111111111111".into(), (5, "x".into()));
        assert_eq!(m.resume_position().as_deref(), Some("11111111-1111-1111-1111-111111111111:1-5"));
        let mut f = AppliedSet::default();
        f.watermark.insert("file:mysql-bin".into(), (1, "mysql-bin.000003:250".into()));
        assert_eq!(f.resume_position().as_deref(), Some("mysql-bin.000003:250"));
    }

    #[test]
    fn record_sql_quotes_everything() {
        let s = CheckpointStore::new("pa`x");
        assert_eq!(s.record_sql(&m(5)), "INSERT INTO `pa``x`.`applied_txn` (stream, seq, gtid) VALUES ('mariadb:1', 5, '1-7-5')");
    }
}
