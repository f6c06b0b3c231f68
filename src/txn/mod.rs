//! The unit that flows from assembly to scheduling to apply: one source transaction.
//!
//! This file owns the [`Transaction`] type and what it is made of ([`Gtid`], [`CommitDeps`],
//! [`BinlogPos`], [`Change`], [`RowsChange`], [`XaPart`], ...), and re-exports the public face of
//! the files below, so the rest of the crate names everything `crate::txn::X`:
//! - `assemble.rs`: the [`Assembler`], decoded events (GTID through XID/COMMIT) -> transactions.
//! - `reader.rs`: the [`TransactionReader`], any event source -> transactions, with GTID start
//!   and stop filters.
//! - `stream.rs`: large transactions handed on as a head plus a bounded stream of chunks
//!   ([`ChangeStream`], [`Splitter`]).
//!
//! It holds data types only, no assembly or reading logic, and must not import its children's
//! internals. The whole module knows nothing about SQL text for the target and nothing about
//! bytes: events arrive already decoded from [`crate::decode`].

use std::sync::Arc;

use crate::decode::event::{QueryEvent, TableMap, XaId};
use crate::decode::value::Row;

mod assemble;
mod reader;
mod stream;
#[cfg(test)]
mod test_events;

pub use assemble::{AssembleError, Assembler};
pub use reader::{ReadError, ReadStats, TransactionReader};
pub use stream::{ChangeStream, Splitter, StreamEnd, StreamPiece};

/// A global transaction identifier as the source wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gtid {
    /// MariaDB `domain-server-seq`.
    Mariadb { domain: u32, server_id: u32, seq: u64 },
    /// MySQL `uuid[:tag]:gno`.
    Mysql { uuid: [u8; 16], tag: Option<String>, gno: u64 },
    /// MySQL ANONYMOUS_GTID or a server without GTIDs: identified only by position.
    Anonymous,
}

impl std::fmt::Display for Gtid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gtid::Mariadb { domain, server_id, seq } => write!(f, "{domain}-{server_id}-{seq}"),
            Gtid::Mysql { uuid, tag, gno } => {
                let u = uuid;
                write!(
                    f,
                    "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]
                )?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                write!(f, ":{gno}")
            }
            Gtid::Anonymous => f.write_str("ANONYMOUS"),
        }
    }
}

/// What the source recorded about which transactions may run in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitDeps {
    /// Nothing recorded (pre-5.7 MySQL, ANONYMOUS without logical clock, DDL in old formats).
    #[default]
    None,
    /// MySQL 5.7+ LOGICAL_CLOCK.
    LogicalClock { last_committed: i64, sequence_number: i64 },
    /// MariaDB group commit: `commit_id` is present only for groups of two or more.
    Mariadb { commit_id: Option<u64>, flags2: u8 },
}

/// MariaDB GTID event flags2 bits.
pub mod mariadb_flags2 {
    pub const STANDALONE: u8 = 1;
    pub const GROUP_COMMIT_ID: u8 = 2;
    pub const TRANSACTIONAL: u8 = 4;
    pub const ALLOW_PARALLEL: u8 = 8;
    pub const WAITED: u8 = 16;
    pub const DDL: u8 = 32;
    pub const PREPARED_XA: u8 = 64;
    pub const COMPLETED_XA: u8 = 128;
}

/// Where in the source's binlog a transaction sits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BinlogPos {
    pub file: String,
    /// Offset of the transaction's first event (its GTID event, or the first event when none).
    pub start: u64,
    /// Offset just past its last event: the position to resume from after it.
    pub end: u64,
    /// The file `end` is in: `file`, except for a relay-log transaction that the replica's
    /// relay-log rotation split across files, which ends in a later one.
    pub end_file: String,
}

/// The kind of a row change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKind {
    Insert,
    Update,
    Delete,
}

/// One row change: the before image (update/delete) and after image (insert/update).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub before: Option<Row>,
    pub after: Option<Row>,
}

/// The rows of one ROWS event, with the table they belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct RowsChange {
    pub table: Arc<TableMap>,
    pub kind: RowKind,
    pub rows: Vec<RowChange>,
    /// The ROWS event's flags as logged (sql/log_event.h `Rows_log_event` flags): whether the
    /// source session had `foreign_key_checks` / `unique_checks` off when it wrote these rows.
    /// MariaDB writes no BEGIN query event, so these are the only record of them; the native
    /// replica sets both session options from every ROWS event before applying its rows.
    pub flags: u16,
    /// The ROWS event as logged, when the source was read with raw bytes kept (the BINLOG
    /// statement apply path, see [`crate::apply::binlog_stmt`]); `None` on the SQL path.
    pub raw: Option<Arc<crate::decode::event::RawRowsEvent>>,
}

impl RowsChange {
    /// `NO_FOREIGN_KEY_CHECKS_F`: the rows were written with `foreign_key_checks=0`.
    pub const NO_FOREIGN_KEY_CHECKS_F: u16 = 1 << 1;
    /// `RELAXED_UNIQUE_CHECKS_F`: the rows were written with `unique_checks=0`.
    pub const RELAXED_UNIQUE_CHECKS_F: u16 = 1 << 2;

    /// `NO_CHECK_CONSTRAINT_CHECKS_F` (MariaDB): the rows were written with
    /// `check_constraint_checks=0`.
    pub const NO_CHECK_CONSTRAINT_CHECKS_F: u16 = 1 << 7;

    /// `check_constraint_checks` of the source session for these rows (MariaDB).
    pub fn check_constraint_checks(&self) -> bool {
        self.flags & Self::NO_CHECK_CONSTRAINT_CHECKS_F == 0
    }

    /// `foreign_key_checks` of the source session for these rows.
    pub fn foreign_key_checks(&self) -> bool {
        self.flags & Self::NO_FOREIGN_KEY_CHECKS_F == 0
    }

    /// `unique_checks` of the source session for these rows.
    pub fn unique_checks(&self) -> bool {
        self.flags & Self::RELAXED_UNIQUE_CHECKS_F == 0
    }
}

/// A change inside a transaction, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Rows(RowsChange),
    /// A statement (DDL, or statement-based DML) with its session context.
    Query(QueryEvent),
    /// What the next statement event ran with on the source (INTVAR, RAND, USER_VAR): the
    /// applier sets it before running that statement.
    Context(StatementContext),
    /// A statement-based `LOAD DATA` with the file it read (BEGIN_LOAD_QUERY / APPEND_BLOCK
    /// blocks, then EXECUTE_LOAD_QUERY).
    Load(LoadData),
    /// LOAD DATA pieces and other events the applier cannot see into; the scheduler treats a
    /// transaction carrying them as a barrier.
    Opaque { event_type: u8, what: String },
}

/// Session state a statement-based DML statement read on the source, logged before its QUERY.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementContext {
    /// INTVAR INSERT_ID: the first AUTO_INCREMENT value the statement generated.
    InsertId(u64),
    /// INTVAR LAST_INSERT_ID: what `LAST_INSERT_ID()` returned in the statement.
    LastInsertId(u64),
    /// RAND: the session's random seeds before the statement.
    Rand { seed1: u64, seed2: u64 },
    /// USER_VAR: a user variable the statement read (`None`: NULL).
    UserVar { name: String, value: Option<crate::decode::event::UserValue> },
}

/// A statement-based `LOAD DATA` and the file's bytes as the source read them.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadData {
    pub load: crate::decode::event::LoadQuery,
    pub data: Arc<[u8]>,
}

/// How the transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxnEnd {
    /// XID event (InnoDB commit).
    #[default]
    Xid,
    /// QUERY "COMMIT" (non-transactional engines) or an implicit commit (DDL, standalone).
    Commit,
    /// XA PREPARE: the transaction is prepared, not committed, on the source.
    XaPrepare,
    /// QUERY "ROLLBACK".
    Rollback,
}

/// One source transaction, from its GTID event through its commit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transaction {
    pub gtid: Option<Gtid>,
    pub deps: CommitDeps,
    /// Source commit time in microseconds since the epoch (MySQL 8 immediate commit timestamp when
    /// present, else the header timestamp of the commit event × 1e6).
    pub commit_time_us: u64,
    /// server_id from the event header (the origin server in a dual-master topology).
    pub server_id: u32,
    /// Source session (thread id from the QUERY `BEGIN`), used by `writeset_session`.
    pub thread_id: Option<u32>,
    pub pos: BinlogPos,
    /// Bytes of binlog events this transaction occupies.
    pub size: u64,
    pub changes: Vec<Change>,
    pub end: TxnEnd,
    /// DDL or a statement that implicitly commits.
    pub is_ddl: bool,
    /// Set on a transaction too large to hold whole: `changes` is empty and the row changes
    /// follow through this stream (see [`TransactionReader::stream_large`]).
    pub stream: Option<ChangeStream>,
    /// Set when this transaction is one part of an XA transaction (see [`XaPart`]).
    pub xa: Option<XaPart>,
}

/// One logged part of an XA transaction. MariaDB 10.5+ and MySQL 5.7.7+ log an XA transaction
/// twice: its rows at `XA PREPARE` (MariaDB: GTID with PREPARED_XA, rows, `XA END`, XA_PREPARE
/// event; MySQL: GTID, `XA START`, rows, `XA END`, XA_PREPARE event), then, later and as its
/// own GTID group, `XA COMMIT` or `XA ROLLBACK` (MariaDB: GTID with COMPLETED_XA). Other
/// transactions may come between the two. `XA COMMIT ... ONE PHASE` is an ordinary commit and
/// carries no `XaPart`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XaPart {
    /// The rows, prepared under this xid (`txn.end` is [`TxnEnd::XaPrepare`]).
    Prepare(XaId),
    /// `XA COMMIT xid` of a branch prepared earlier.
    Commit(XaId),
    /// `XA ROLLBACK xid` of a branch prepared earlier.
    Rollback(XaId),
}

impl XaPart {
    pub fn xid(&self) -> &XaId {
        match self {
            XaPart::Prepare(x) | XaPart::Commit(x) | XaPart::Rollback(x) => x,
        }
    }
}

impl Transaction {
    /// Distinct `schema.table` names touched, in first-touch order.
    pub fn tables(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for c in &self.changes {
            if let Change::Rows(r) = c {
                let key = (r.table.schema.clone(), r.table.table.clone());
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        out
    }

    /// Row counts by kind: (inserts, updates, deletes).
    pub fn row_counts(&self) -> (usize, usize, usize) {
        let (mut i, mut u, mut d) = (0, 0, 0);
        for c in &self.changes {
            if let Change::Rows(r) = c {
                match r.kind {
                    RowKind::Insert => i += r.rows.len(),
                    RowKind::Update => u += r.rows.len(),
                    RowKind::Delete => d += r.rows.len(),
                }
            }
        }
        (i, u, d)
    }
}

impl std::str::FromStr for Gtid {
    type Err = String;

    /// Parse `domain-server-seq` (MariaDB), `uuid:gno` or `uuid:tag:gno` (MySQL), or `ANONYMOUS`.
    fn from_str(s: &str) -> Result<Gtid, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("anonymous") {
            return Ok(Gtid::Anonymous);
        }
        if s.contains(':') {
            let parts: Vec<&str> = s.split(':').collect();
            let (uuid_text, tag, gno_text) = match parts.as_slice() {
                [u, g] => (*u, None, *g),
                [u, t, g] => (*u, Some(t.to_string()), *g),
                _ => return Err(format!("GTID {s:?}: expected uuid:gno or uuid:tag:gno")),
            };
            let hex: String = uuid_text.chars().filter(|c| *c != '-').collect();
            if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("GTID {s:?}: {uuid_text:?} is not a UUID"));
            }
            let mut uuid = [0u8; 16];
            for (i, b) in uuid.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| format!("GTID {s:?}: {e}"))?;
            }
            let gno = gno_text.parse::<u64>().map_err(|e| format!("GTID {s:?}: bad gno: {e}"))?;
            return Ok(Gtid::Mysql { uuid, tag, gno });
        }
        let parts: Vec<&str> = s.split('-').collect();
        if let [d, sid, seq] = parts.as_slice() {
            let domain = d.parse::<u32>().map_err(|e| format!("GTID {s:?}: bad domain: {e}"))?;
            let server_id = sid.parse::<u32>().map_err(|e| format!("GTID {s:?}: bad server_id: {e}"))?;
            let seq = seq.parse::<u64>().map_err(|e| format!("GTID {s:?}: bad seq: {e}"))?;
            return Ok(Gtid::Mariadb { domain, server_id, seq });
        }
        Err(format!("GTID {s:?}: expected domain-server-seq (MariaDB) or uuid:gno (MySQL)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_parses_both_flavours() {
        assert_eq!("0-1-100".parse::<Gtid>(), Ok(Gtid::Mariadb { domain: 0, server_id: 1, seq: 100 }));
        let g: Gtid = "3E11FA47-71CA-11E1-9E33-C80AA9429562:23".parse().unwrap();
        assert_eq!(g.to_string(), "3e11fa47-71ca-11e1-9e33-c80aa9429562:23");
        let g: Gtid = "3e11fa47-71ca-11e1-9e33-c80aa9429562:tag_1:5".parse().unwrap();
        assert_eq!(g.to_string(), "3e11fa47-71ca-11e1-9e33-c80aa9429562:tag_1:5");
        assert!("1-2".parse::<Gtid>().is_err());
        assert!("zz:1".parse::<Gtid>().is_err());
    }
}
