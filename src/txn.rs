//! The unit that flows from assembly to scheduling to apply: one source transaction.
//!
//! Owns the [`Transaction`] type and the [`Assembler`] that groups decoded events (GTID through
//! XID/COMMIT) into transactions. It knows nothing about SQL text for the target and nothing
//! about bytes: events arrive already decoded from [`crate::decode`].

use std::sync::Arc;

use crate::decode::event::{QueryEvent, TableMap};
use crate::decode::value::Row;

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
}

/// A change inside a transaction, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Rows(RowsChange),
    /// A statement (DDL, or statement-based DML) with its session context.
    Query(QueryEvent),
    /// Statement-context events (INTVAR, RAND, USER_VAR) or LOAD DATA pieces the applier cannot
    /// see into; the scheduler treats a transaction carrying them as a barrier.
    Opaque { event_type: u8, what: String },
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
