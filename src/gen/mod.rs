//! Synthetic binlog generator: writes valid MySQL 8.0 binlog files from a parametrised workload.
//!
//! Owns the binlog *encoder* used by tests, benches and `parapply gen`. It must not depend on the
//! decoder (so that decoding its output is an independent check).
//!
//! - [`encode`]: event framing, CRC32 and event bodies (FDE, PREVIOUS_GTIDS, GTID, QUERY,
//!   TABLE_MAP with FULL metadata, ROWS v2, XID, ROTATE, TRANSACTION_PAYLOAD) and row values.
//! - [`writer`]: files, positions, `transaction_length`, compression wrapping, rotation.
//! - [`workload`]: the deterministic schema and transaction stream, and the rules tests rely on
//!   (groups, key overlap, sessions) — read its module doc before asserting numbers.
//! - [`generate`] ties them together and returns a [`GenSummary`] with exact counts.
//!
//! # Logical clock
//!
//! Every transaction of group g has `last_committed` = `sequence_number` of the last
//! transaction of group g-1 in the same file (0 for the first group of a file), and sequence
//! numbers count 1, 2, 3, ... per file, as MySQL 8 writes them. Files rotate (when the file has
//! reached `max_file_size`) only between groups, so the logical-clock critical path is exactly
//! [`GenSummary::groups`].

pub mod encode;
pub mod workload;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use encode::{event_flags, event_type, GtidFields, QueryFields, RowsKind, SERVER_VERSION_ID};
use workload::{RowKey, TxnBody, Workload, SCHEMA};
use writer::{BinlogWriter, EventCounts, FileInfo, PendingEvent, WriterConfig};

#[derive(Debug, Error)]
pub enum GenError {
    #[error("{}: {}", .path.display(), crate::error_text::chain(.cause))]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("invalid generator parameter: {0}")]
    InvalidParams(String),
    #[error("no row change possible on any of {tables} tables of {rows} rows without key overlap inside a group: raise --rows")]
    KeySpaceExhausted { rows: u64, tables: u32 },
    #[error("encoding failed: {0}")]
    Encode(encode::EncodeError),
    #[error("generator bug: {0}")]
    Internal(String),
}

/// Generator parameters. Defaults match `parapply gen`'s; fields missing from a serialised
/// copy take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenParams {
    /// Files are `BASE.000001`, `BASE.000002`, ...
    pub base_name: String,
    /// DML transactions (setup and periodic DDL come on top).
    pub transactions: u64,
    /// Plain tables `t1..tN`.
    pub tables: u32,
    /// Key space per table: ids 1..=rows.
    pub rows: u64,
    /// Row changes per DML transaction.
    pub txn_size: u32,
    /// Zipf exponent over ids (rank 1 = id 1 is hottest); 0 = uniform.
    pub zipf: f64,
    /// DML transactions per logical-clock group.
    pub group_width: u32,
    /// A periodic DDL before every `ddl_every`-th DML transaction (0 = none).
    pub ddl_every: u64,
    /// Parent/child table pairs `p1/c1, ...` with a declared foreign key.
    pub fk_pairs: u32,
    /// Wrap each DML transaction in a zstd TRANSACTION_PAYLOAD (DDL stays plain, as in MySQL).
    pub compress: bool,
    /// Rotate once a file has reached this many bytes (checked between groups).
    pub max_file_size: u64,
    pub seed: u64,
    /// Let transactions of one group share keys (to test that a scheduler does not trust the
    /// logical clock blindly). Off by default.
    pub allow_group_overlap: bool,
    pub server_id: u32,
    /// Server UUID of the GTIDs.
    pub server_uuid: String,
    /// When > 0, `original_commit_timestamp` = immediate - this many µs (a file from a replica
    /// with `log_replica_updates`), written with the high-bit convention.
    pub origin_lag_us: u64,
    /// Commit time of the first transaction, µs since the epoch; each next one is 1 ms later.
    pub start_time_us: u64,
    /// `original_server_version` of GTID events; when it differs from 80036 (the immediate
    /// version) it is written after it with the high-bit convention.
    pub original_server_version: u32,
    /// Most rows in one statement (one TABLE_MAP, one or more ROWS events); each statement
    /// takes 1..=this many rows, drawn uniformly.
    pub max_statement_rows: u32,
    /// Split a statement's rows over several ROWS events at this many bytes of row data, like
    /// MySQL's `binlog_row_event_max_size` (only the last event has STMT_END_F).
    pub rows_event_max_size: u32,
    /// Leave `LOG_EVENT_BINLOG_IN_USE_F` set in the last file's FORMAT_DESCRIPTION, as in the
    /// active binlog of a running server (its CRC is computed with the flag cleared, as MySQL
    /// does, so it stays valid once the server clears the flag at close).
    pub last_file_in_use: bool,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            base_name: "binlog".into(),
            transactions: 1000,
            tables: 4,
            rows: 10_000,
            txn_size: 4,
            zipf: 0.0,
            group_width: 8,
            ddl_every: 0,
            fk_pairs: 0,
            compress: false,
            max_file_size: 64 * 1024 * 1024,
            seed: 1,
            allow_group_overlap: false,
            server_id: 1,
            server_uuid: "3e11fa47-71ca-11e1-9e33-c80aa9429562".into(),
            origin_lag_us: 0,
            // 2026-01-01T00:00:00Z
            start_time_us: 1_767_225_600_000_000,
            original_server_version: SERVER_VERSION_ID,
            last_file_in_use: false,
            max_statement_rows: 3,
            rows_event_max_size: encode::ROWS_EVENT_MAX_SIZE_DEFAULT as u32,
        }
    }
}

/// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` into 16 bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || s.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl GenParams {
    /// Total tables (plain + both sides of each FK pair).
    pub fn table_count(&self) -> u32 {
        self.tables + 2 * self.fk_pairs
    }

    pub fn validate(&self) -> Result<(), GenError> {
        let bad = |m: String| Err(GenError::InvalidParams(m));
        let ntables = u64::from(self.table_count());
        if ntables == 0 {
            return bad("need at least one table (--tables or --fk-pairs)".into());
        }
        if self.rows == 0 || self.txn_size == 0 || self.group_width == 0 || self.max_statement_rows == 0 {
            return bad("--rows, --txn-size, --group-width and --statement-rows must be at least 1".into());
        }
        if self.rows_event_max_size < 256 {
            return bad("--rows-event-max-size must be at least 256".into());
        }
        if self.rows.saturating_mul(ntables) > workload::MAX_KEY_SPACE {
            return bad(format!("rows x tables must be at most {}", workload::MAX_KEY_SPACE));
        }
        if !self.zipf.is_finite() || self.zipf < 0.0 {
            return bad(format!("--zipf must be a finite number >= 0, got {}", self.zipf));
        }
        // A row change touches at most 3 keys (row, old parent, new parent): leave room so that a
        // full group never runs out of free keys.
        let per_group = 4 * u64::from(self.group_width) * u64::from(self.txn_size);
        if !self.allow_group_overlap && self.rows.saturating_mul(ntables) < per_group {
            return bad(format!(
                "rows x tables = {} is too small for groups of {} transactions of {} rows without key overlap (need >= {per_group})",
                self.rows * ntables,
                self.group_width,
                self.txn_size
            ));
        }
        if self.max_file_size < 1024 {
            return bad("--max-file-size must be at least 1024".into());
        }
        if self.base_name.is_empty() || self.base_name.contains(['/', '\\']) {
            return bad(format!("--base-name must be a plain file name, got {:?}", self.base_name));
        }
        if parse_uuid(&self.server_uuid).is_none() {
            return bad(format!("server uuid {:?} is not a UUID", self.server_uuid));
        }
        if self.original_server_version >= 1 << 31 {
            return bad(format!("original server version {} does not fit 31 bits", self.original_server_version));
        }
        if self.start_time_us < self.origin_lag_us {
            return bad("origin lag larger than the start time".into());
        }
        Ok(())
    }
}

/// Exact counts of what [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenSummary {
    /// The parameters that produced the files (regenerating with them gives identical bytes).
    pub params: GenParams,
    pub files: Vec<FileInfo>,
    pub bytes: u64,
    pub server_uuid: String,
    /// GTID set of all files, `uuid:1-N`.
    pub gtid_set: String,
    /// All transactions (GTIDs): DML + DDL.
    pub transactions: u64,
    pub dml_transactions: u64,
    /// Setup DDL (CREATE DATABASE + one CREATE TABLE per table) + periodic DDL.
    pub ddl_transactions: u64,
    pub setup_ddl_transactions: u64,
    pub periodic_ddl_transactions: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub rows_deleted: u64,
    /// Statements = TABLE_MAP events.
    pub statements: u64,
    /// ROWS events (more than `statements` when a statement is split at
    /// `rows_event_max_size`).
    pub rows_events: u64,
    /// Logical-clock groups. Each DDL is a group of its own, so DML groups = `groups` -
    /// `ddl_transactions`.
    pub groups: u64,
    /// Longest dependency chain by the files' last_committed/sequence_number: equals `groups`.
    pub logical_clock_critical_path: u64,
    /// Longest dependency chain when a transaction depends on the last earlier one sharing a key
    /// (keys as defined in [`workload`]) and DDL is a barrier (depends on everything before,
    /// everything after depends on it).
    pub writeset_critical_path: u64,
    /// Transactions sharing a key with an earlier transaction of their group (0 unless
    /// `allow_group_overlap`).
    pub group_key_overlaps: u64,
    /// DML transactions written inside TRANSACTION_PAYLOAD.
    pub compressed_transactions: u64,
    /// Top-level events per type name, over all files.
    pub events: EventCounts,
    /// Events inside TRANSACTION_PAYLOAD events, per type name.
    pub payload_events: EventCounts,
}

/// Table ids as MySQL assigns them: one per table, a fresh one after the table is altered.
const FIRST_TABLE_ID: u64 = 100;

/// Writes the files for `params` into `out_dir` (created if needed) and returns exact counts.
pub fn generate(params: &GenParams, out_dir: &Path) -> Result<GenSummary, GenError> {
    params.validate()?;
    let server_uuid = parse_uuid(&params.server_uuid)
        .ok_or_else(|| GenError::InvalidParams(format!("server uuid {:?}", params.server_uuid)))?;
    let workload = Workload::new(params)?;
    let tables: Vec<encode::TableDef> = workload.tables().iter().map(|t| t.def.clone()).collect();
    let mut table_ids: Vec<u64> = (0..tables.len() as u64).map(|i| FIRST_TABLE_ID + i).collect();
    let mut next_table_id = FIRST_TABLE_ID + tables.len() as u64;

    let mut writer = BinlogWriter::create(WriterConfig {
        dir: out_dir.to_path_buf(),
        base_name: params.base_name.clone(),
        server_id: params.server_id,
        server_uuid,
        start_timestamp: (params.start_time_us / 1_000_000) as u32,
        last_file_in_use: params.last_file_in_use,
    })?;

    let mut s = Counters::default();
    let mut current_group: Option<u64> = None;
    let mut file_seq: i64 = 0;
    let mut last_committed: i64 = 0;
    let mut next_xid: u64 = 1;
    let mut writeset = WritesetDepth::default();
    let p_rows_max = params.rows_event_max_size as usize;

    for txn in workload {
        let txn = txn?;
        if current_group != Some(txn.group) {
            if current_group.is_some() {
                if writer.position() >= params.max_file_size {
                    writer.rotate()?;
                    file_seq = 0;
                    last_committed = 0;
                } else {
                    last_committed = file_seq;
                }
            }
            current_group = Some(txn.group);
            s.groups += 1;
        }
        file_seq += 1;
        let gno = txn.index + 1;
        let commit_us = params.start_time_us + txn.index * 1_000;
        let timestamp = (commit_us / 1_000_000) as u32;
        let mut events = Vec::new();
        let is_ddl = matches!(txn.body, TxnBody::Ddl { .. });
        match &txn.body {
            TxnBody::Ddl { sql, table, alters, setup } => {
                let db = if table.is_some() { SCHEMA } else { "" };
                let q = QueryFields { thread_id: txn.session, db, sql, ddl_xid: Some(next_xid), updated_dbs: &[SCHEMA] };
                next_xid += 1;
                events.push(PendingEvent { type_code: event_type::QUERY, flags: 0, body: encode::query_body(&q) });
                if *setup {
                    s.setup_ddl += 1;
                } else {
                    s.periodic_ddl += 1;
                }
                if let (true, Some(t)) = (*alters, table) {
                    if let Some(id) = table_ids.get_mut(*t) {
                        *id = next_table_id;
                        next_table_id += 1;
                    }
                }
                writeset.barrier();
            }
            TxnBody::Dml { statements } => {
                let q = QueryFields { thread_id: txn.session, db: SCHEMA, sql: "BEGIN", ddl_xid: None, updated_dbs: &[] };
                events.push(PendingEvent { type_code: event_type::QUERY, flags: event_flags::SUPPRESS_USE, body: encode::query_body(&q) });
                for st in statements {
                    let (def, table_id) = match (tables.get(st.table), table_ids.get(st.table)) {
                        (Some(d), Some(id)) => (d, *id),
                        _ => return Err(GenError::Internal(format!("statement on unknown table {}", st.table))),
                    };
                    events.push(PendingEvent { type_code: event_type::TABLE_MAP, flags: 0, body: encode::table_map_body(table_id, def) });
                    let rows: Vec<encode::RowRef<'_>> =
                        st.rows.iter().map(|(b, a)| (b.as_deref(), a.as_deref())).collect();
                    let bodies = encode::statement_rows_bodies(st.kind, table_id, def, &rows, p_rows_max)?;
                    s.rows_events += bodies.len() as u64;
                    for body in bodies {
                        events.push(PendingEvent { type_code: st.kind.type_code(), flags: 0, body });
                    }
                    let n = st.rows.len() as u64;
                    match st.kind {
                        RowsKind::Write => s.rows_inserted += n,
                        RowsKind::Update => s.rows_updated += n,
                        RowsKind::Delete => s.rows_deleted += n,
                    }
                    s.statements += 1;
                }
                events.push(PendingEvent { type_code: event_type::XID, flags: 0, body: encode::xid_body(next_xid) });
                next_xid += 1;
                s.dml += 1;
                if txn.overlaps_group {
                    s.overlaps += 1;
                }
                writeset.transaction(&txn.keys);
            }
        }
        let gtid = GtidFields {
            flags: u8::from(is_ddl),
            sid: server_uuid,
            gno,
            last_committed,
            sequence_number: file_seq,
            immediate_commit_timestamp: commit_us,
            original_commit_timestamp: commit_us - params.origin_lag_us,
            transaction_length: 0,
            immediate_server_version: SERVER_VERSION_ID,
            original_server_version: params.original_server_version,
        };
        let compress = params.compress && !is_ddl;
        writer.write_transaction(gtid, timestamp, &events, compress)?;
        if compress {
            s.compressed += 1;
        }
        s.transactions += 1;
    }

    let (files, events, payload_events) = writer.finish()?;
    Ok(GenSummary {
        params: params.clone(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        files,
        gtid_set: if s.transactions == 0 {
            String::new()
        } else {
            format!("{}:1-{}", params.server_uuid, s.transactions)
        },
        server_uuid: params.server_uuid.clone(),
        transactions: s.transactions,
        dml_transactions: s.dml,
        ddl_transactions: s.setup_ddl + s.periodic_ddl,
        setup_ddl_transactions: s.setup_ddl,
        periodic_ddl_transactions: s.periodic_ddl,
        rows_inserted: s.rows_inserted,
        rows_updated: s.rows_updated,
        rows_deleted: s.rows_deleted,
        statements: s.statements,
        rows_events: s.rows_events,
        groups: s.groups,
        logical_clock_critical_path: s.groups,
        writeset_critical_path: writeset.max,
        group_key_overlaps: s.overlaps,
        compressed_transactions: s.compressed,
        events,
        payload_events,
    })
}

#[derive(Default)]
struct Counters {
    transactions: u64,
    dml: u64,
    setup_ddl: u64,
    periodic_ddl: u64,
    rows_inserted: u64,
    rows_updated: u64,
    rows_deleted: u64,
    statements: u64,
    rows_events: u64,
    groups: u64,
    overlaps: u64,
    compressed: u64,
}

/// Depth of each transaction in the key-dependency DAG (see
/// [`GenSummary::writeset_critical_path`]).
#[derive(Default)]
struct WritesetDepth {
    last: HashMap<RowKey, u64>,
    barrier: u64,
    max: u64,
}

impl WritesetDepth {
    fn transaction(&mut self, keys: &[RowKey]) {
        let depth = 1 + keys.iter().filter_map(|k| self.last.get(k).copied()).fold(self.barrier, u64::max);
        for k in keys {
            self.last.insert(*k, depth);
        }
        self.max = self.max.max(depth);
    }

    fn barrier(&mut self) {
        self.max += 1;
        self.barrier = self.max;
        // Every key's last writer is now at most the barrier's depth; forget them.
        self.last.clear();
    }
}
