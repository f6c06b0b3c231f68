//! Row changes and statements -> SQL text for the target.
//!
//! Owns the translation of one [`Transaction`]'s changes into statements: multi-row INSERTs,
//! UPDATE/DELETE by primary key (or by every column with `LIMIT 1` on keyless tables), and
//! statement events with their session context. Values become exact literals (never lossy text
//! conversions): strings and blobs are hex with their column's charset introducer, so utf8mb4
//! and binary data round-trip byte for byte, and comparisons stay index-friendly under the
//! column's own collation. It must not talk to the server, decide retries or track checkpoints.
//!
//! # Session the text assumes
//! Every worker session runs with `time_zone = '+00:00'` (TIMESTAMP values are rendered in UTC),
//! utf8mb4 names, CLIENT_FOUND_ROWS (affected rows of an UPDATE count matched rows, so "0"
//! really means "row not found"), and `sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,
//! ALLOW_INVALID_DATES'`: zero dates, dates with zero parts and 0 in AUTO_INCREMENT columns
//! apply as they were logged, while a value the target column cannot hold as logged (a
//! narrower column, an out-of-range number, a charset without the character) is an error
//! naming the column instead of a warning and a silently changed row. The one legitimate value
//! strict mode refuses, an ENUM's error value '' (index 0, stored by a lax source), is written
//! under the same mode without STRICT_ALL_TABLES (see [`RowSession`]). [`SESSION_DEFAULTS`]
//! restores all of that after a statement event changed it.
//!
//! # Row session flags
//! Each ROWS event carries the source session's `foreign_key_checks` and `unique_checks` (its
//! flags; MariaDB writes no BEGIN query event to carry them). The native replica sets both
//! from every ROWS event before applying its rows (`Rows_log_event::do_apply_event`); so does
//! [`SqlBuilder::plan`], with a `SET SESSION` wherever they change and the defaults restored at
//! the end. An orphan child written with checks off applies, and a parent deleted with checks
//! off does not cascade on the target either.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::decode::event::{ColumnDef, QueryEvent, TableMap, UserValue};
// Quoting is shared by every module that builds SQL; re-exported for the callers of this one.
use crate::net::push_hex;
pub use crate::net::{quote_ident, quote_str};
use crate::decode::value::{Row, Value};
use crate::txn::{Change, LoadData, RowChange, RowKind, RowsChange, StatementContext, Transaction};

/// SQL that puts a worker session back into the state the generated row SQL assumes.
///
/// On MariaDB 10.3.4+ (the executable comment; MySQL reads a comment) it also sets
/// `system_versioning_alter_history=KEEP`: the source's ALTER of a system-versioned table
/// succeeded there, and the native replica's SQL thread is never refused one
/// (`Alter_info::vers_prohibited` lets slave threads through); with the default `ERROR` the
/// replayed ALTER would stop with ERROR 4119.
pub const SESSION_DEFAULTS: &str = "SET SESSION time_zone='+00:00', \
     sql_mode='NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,ALLOW_INVALID_DATES', \
     NAMES utf8mb4, collation_server=DEFAULT, auto_increment_increment=DEFAULT, auto_increment_offset=DEFAULT, \
     foreign_key_checks=1, unique_checks=1, timestamp=DEFAULT /*M!100304 , system_versioning_alter_history='KEEP' */ \
     /*M!100201 , check_constraint_checks=1 */ /*M!100500 , sql_if_exists=0 */ \
     /*M!100108 , explicit_defaults_for_timestamp=DEFAULT */, sql_auto_is_null=0, lc_time_names=DEFAULT";

/// The savepoint a rolled-back source transaction's statements run in (see
/// [`SqlBuilder::rolled_back`]).
const ROLLED_BACK_SAVEPOINT: &str = "`parapply_rolled_back`";

/// The `sql_mode` of [`SESSION_DEFAULTS`], for row statements.
const ROW_SQL_MODE: &str = "NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,ALLOW_INVALID_DATES";
/// [`ROW_SQL_MODE`] without strictness, for a row carrying a value only a lax mode stores.
const LAX_ROW_SQL_MODE: &str = "NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES";

/// MySQL collation id of the `binary` charset.
const BINARY_COLLATION: u16 = 63;

/// Query-event flags2 bits (sql/log_event.h `OPTION_*` as written to the binlog).
const OPTION_NO_FOREIGN_KEY_CHECKS: u32 = 1 << 26;
const OPTION_RELAXED_UNIQUE_CHECKS: u32 = 1 << 27;
const OPTION_AUTO_IS_NULL: u32 = 1 << 14;
/// MariaDB only (MySQL has no such session option and leaves the bit clear).
const OPTION_NO_CHECK_CONSTRAINT_CHECKS: u32 = 1 << 15;
/// MariaDB only: `explicit_defaults_for_timestamp` and `sql_if_exists` (sql/sql_priv.h).
const OPTION_EXPLICIT_DEF_TIMESTAMP: u32 = 1 << 24;
const OPTION_IF_EXISTS: u32 = 1 << 28;

/// A statement could not be generated; names the table and column.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("table `{schema}`.`{table}`: no column names (not in the TABLE_MAP, whose binlog_row_metadata is not FULL, and not mapped onto the target's table)")]
    NoColumnNames { schema: String, table: String },
    #[error("table `{schema}`.`{table}`: {kind:?} row has no {image} image")]
    MissingImage { schema: String, table: String, kind: RowKind, image: &'static str },
    #[error("table `{schema}`.`{table}`: row image has {got} columns, TABLE_MAP has {want}")]
    ColumnCount { schema: String, table: String, got: usize, want: usize },
    #[error("table `{schema}`.`{table}` column `{column}`: primary-key column absent from the before image (MINIMAL image without key?)")]
    KeyColumnAbsent { schema: String, table: String, column: String },
    #[error("table `{schema}`.`{table}` column `{column}`: {what}")]
    BadValue { schema: String, table: String, column: String, what: String },
    #[error("statement logged in client charset (collation id {collation}) that the target does not know, and it is not ASCII: running it in another charset could change its meaning: {statement}")]
    UnknownCharset { collation: u16, statement: String },
    #[error("LOAD DATA file name at {start}..{end} outside its {len}-byte statement")]
    LoadFileName { start: usize, end: usize, len: usize },
    #[error("event type {event_type} cannot be applied ({what}): stopping rather than skipping it")]
    Opaque { event_type: u8, what: String },
    #[error("table `{schema}`.`{table}` is system-versioned: its rows keep the source's ROW START/ROW END and history only through the server's own row-event code (BINLOG statements: a MariaDB target, the BINLOG REPLAY privilege, apply.row_events auto or binlog); as SQL the target would write its own timestamps and history rows, so it stops here")]
    SystemVersioned { schema: String, table: String },
    #[error("sequence `{schema}`.`{table}`: row image logs columns {logged:?} of 8; only a full row (an INSERT into the sequence) or next_not_cached_value with cycle_count (NEXTVAL/SETVAL under binlog_row_image=MINIMAL) can be applied")]
    SequenceImage { schema: String, table: String, logged: Vec<usize> },
}

/// Bytes of a statement shown in a message.
const SHOWN_MAX: usize = 300;

/// A logged statement as text for messages: lossy UTF-8, cut by [`truncate`].
fn shown(bytes: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(bytes), SHOWN_MAX)
}

/// `s` cut to at most `max` bytes at a character boundary, naming its full length when cut.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Which target charset a collation id belongs to (loaded from the target's
/// `information_schema.COLLATIONS`, so no collation table is hard-coded here).
#[derive(Debug, Clone, Default)]
pub struct Charsets {
    by_collation: HashMap<u16, String>,
}

impl Charsets {
    pub fn new(by_collation: HashMap<u16, String>) -> Self {
        Charsets { by_collation }
    }
    /// The charset name for `collation`, if the target knows it.
    pub fn charset_of(&self, collation: u16) -> Option<&str> {
        self.by_collation.get(&collation).map(String::as_str)
    }
}

/// The session one row change is applied in: the source session's checks as its ROWS event
/// logged them, and whether the row needs a lax `sql_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowSession {
    foreign_key_checks: bool,
    unique_checks: bool,
    /// MariaDB's `check_constraint_checks` (ROWS event flag `NO_CHECK_CONSTRAINT_CHECKS_F`):
    /// a row the source wrote with CHECK constraints off applies on the native replica.
    check_constraint_checks: bool,
    /// False only for a row whose after image holds an ENUM's error value (index 0): a lax
    /// source stores '' for an invalid ENUM value, strict mode refuses to write it back, and
    /// the native replica copies it as is.
    strict: bool,
}

impl RowSession {
    /// What [`SESSION_DEFAULTS`] sets.
    pub(super) const DEFAULT: RowSession = RowSession { foreign_key_checks: true, unique_checks: true, check_constraint_checks: true, strict: true };

    /// The session `row` of `rc` must be applied in.
    pub(super) fn of(rc: &RowsChange, row: &RowChange) -> RowSession {
        let strict = !row.after.as_ref().is_some_and(|a| a.cols.iter().any(|v| matches!(v, Some(Value::Enum(0)))));
        RowSession { foreign_key_checks: rc.foreign_key_checks(), unique_checks: rc.unique_checks(), check_constraint_checks: rc.check_constraint_checks(), strict }
    }

    /// `SET SESSION` of what differs between `self` (the session now) and `to`.
    fn switch_to(self, to: RowSession) -> String {
        let mut parts = Vec::with_capacity(3);
        if self.foreign_key_checks != to.foreign_key_checks {
            parts.push(format!("foreign_key_checks={}", to.foreign_key_checks as u8));
        }
        if self.unique_checks != to.unique_checks {
            parts.push(format!("unique_checks={}", to.unique_checks as u8));
        }
        if self.check_constraint_checks != to.check_constraint_checks {
            parts.push(format!("check_constraint_checks={}", to.check_constraint_checks as u8));
        }
        if self.strict != to.strict {
            parts.push(format!("sql_mode='{}'", if to.strict { ROW_SQL_MODE } else { LAX_ROW_SQL_MODE }));
        }
        format!("SET SESSION {}", parts.join(", "))
    }
}

/// What a generated statement is, so the executor knows what result to expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    /// Session setup, `USE`, checkpoint writes: any result is fine.
    Session,
    /// INSERT of `rows` rows; a duplicate key (1062) means the target diverged.
    Insert,
    /// UPDATE by key (or LIMIT 1): exactly one matched row expected.
    Update,
    /// DELETE by key (or LIMIT 1): exactly one row expected.
    Delete,
    /// A statement event (DDL, statement-based DML): its bytes exactly as logged, never
    /// re-encoded and never joined with other statements: the worker sends them alone, under
    /// the charset the context statements before it set (see [`SqlBuilder::plan`]). The
    /// statement's `sql` is empty.
    Logged(Arc<[u8]>),
    /// A statement-based `LOAD DATA`: its logged bytes with the file name part replaced by
    /// `LOCAL INFILE` of a name parapply serves `data` for (see
    /// [`SqlBuilder::load_statements`]); sent alone like [`StmtKind::Logged`].
    LoadData { sql: Arc<[u8]>, data: Arc<[u8]> },
    /// A `BINLOG '<base64>'` statement of `rows` row changes (see [`crate::apply::binlog_stmt`]):
    /// a missing row (1032) or a duplicate key (1062) means the target diverged.
    Binlog,
}

/// One statement of a planned transaction.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: String,
    pub kind: StmtKind,
    /// The table the statement changes (for errors and per-table conflict counts).
    pub table: Option<Arc<TableMap>>,
    /// Row changes this statement carries (INSERT batch size; 1 for UPDATE/DELETE).
    pub rows: u64,
    /// The idempotent statement to run instead when `on_conflict = overwrite` finds the target
    /// diverged: `REPLACE` of the after image for INSERT and UPDATE. `None` for DELETE (a missing
    /// row is already the wanted state) and statements.
    pub overwrite_sql: Option<String>,
    /// For a statement event: the error the source logged it with (0: none). MariaDB logs a
    /// statement that failed after changing a non-transactional table (a multi-row INSERT into
    /// MyISAM that hit a duplicate part way, `DROP TABLE a, missing`) with its error code;
    /// its replica runs it and goes on when the same error comes back.
    pub expected_error: u16,
}

impl Stmt {
    fn session(sql: String) -> Stmt {
        Stmt { sql, kind: StmtKind::Session, table: None, rows: 0, overwrite_sql: None, expected_error: 0 }
    }
    /// The statement for messages (a logged one as lossy UTF-8), at most 300 bytes.
    pub fn shown(&self) -> String {
        match &self.kind {
            StmtKind::Logged(bytes) | StmtKind::LoadData { sql: bytes, .. } => shown(bytes),
            _ => truncate(&self.sql, SHOWN_MAX),
        }
    }
    /// Goes alone in its round trip: a statement event or `LOAD DATA` (its logged bytes are
    /// never joined with other text), or a BINLOG statement (in a multi-statement text
    /// mysql_async fell out of packet sync after one on MariaDB 10.11).
    pub fn goes_alone(&self) -> bool {
        matches!(self.kind, StmtKind::Logged(_) | StmtKind::LoadData { .. } | StmtKind::Binlog)
    }
    /// Bytes the statement adds to a round trip.
    pub fn len(&self) -> usize {
        match &self.kind {
            StmtKind::Logged(bytes) | StmtKind::LoadData { sql: bytes, .. } => bytes.len(),
            _ => self.sql.len(),
        }
    }
    /// `schema.table` for messages.
    pub fn table_name(&self) -> String {
        match &self.table {
            Some(t) => format!("{}.{}", t.schema, t.table),
            None => "-".into(),
        }
    }
}

/// How to cut a transaction into statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStyle {
    /// Consecutive inserts into one table become multi-row INSERTs (the fast path).
    Batched,
    /// One statement per row change, each with its overwrite alternative (the careful path used
    /// after a conflict, so each divergence is found and handled on its own row).
    RowByRow,
}

/// Turns transactions into statements. Cheap to clone; holds the target's charset table.
#[derive(Debug, Clone)]
pub struct SqlBuilder {
    charsets: Arc<Charsets>,
    /// Upper bound on the VALUES of one multi-row INSERT, well under max_allowed_packet (only a
    /// single row larger than this makes a larger statement).
    batch_bytes: usize,
}

impl SqlBuilder {
    pub fn new(charsets: Arc<Charsets>) -> Self {
        SqlBuilder { charsets, batch_bytes: 512 * 1024 }
    }

    /// Set the size at which a multi-row INSERT is cut (default 512 KiB).
    pub fn batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes.max(1);
        self
    }

    /// What a transaction the source ended with ROLLBACK still changes: its statement events
    /// run inside a savepoint that is then rolled back, so the changes they made to
    /// non-transactional tables (MyISAM, Aria, MEMORY) stay and the rest is undone. The source
    /// logs such a transaction only because of those changes (statement format, a
    /// non-transactional write after a transactional one: `BEGIN; INSERT INTO innodb_t ...;
    /// UPDATE myisam_t ...; ROLLBACK`), and MariaDB's replica runs it the same way, ROLLBACK
    /// included. Row events are left out: a row format source writes non-transactional rows as
    /// groups of their own, so rows here were transactional and undone anyway. Empty when the
    /// transaction holds no statement event.
    pub fn rolled_back(&self, txn: &Transaction) -> Result<Vec<Stmt>, SqlError> {
        if !txn.changes.iter().any(|c| matches!(c, Change::Query(_) | Change::Load(_))) {
            return Ok(Vec::new());
        }
        let statements = Transaction { changes: txn.changes.iter().filter(|c| !matches!(c, Change::Rows(_))).cloned().collect(), ..txn.clone() };
        let mut out = vec![Stmt::session(format!("SAVEPOINT {ROLLED_BACK_SAVEPOINT}"))];
        out.extend(self.plan(&statements, PlanStyle::Batched)?);
        out.push(Stmt::session(format!("ROLLBACK TO SAVEPOINT {ROLLED_BACK_SAVEPOINT}")));
        Ok(out)
    }

    /// All statements of `txn`, in source order. BEGIN/COMMIT and checkpoints are not included.
    ///
    /// Rows run in the session their ROWS event was logged with (see [`RowSession`]): where it
    /// differs from the worker's defaults, a `SET SESSION` goes before them and the defaults
    /// are restored after, so the common case (no flags) stays plain row statements.
    pub fn plan(&self, txn: &Transaction, style: PlanStyle) -> Result<Vec<Stmt>, SqlError> {
        let mut out = Vec::new();
        let mut session = RowSession::DEFAULT;
        let mut pending_insert: Option<InsertBatch> = None;
        let flush = |pending: &mut Option<InsertBatch>, out: &mut Vec<Stmt>| -> Result<(), SqlError> {
            if let Some(b) = pending.take() {
                let bcols = column_names(&b.table)?;
                out.push(b.finish(&bcols, false));
            }
            Ok(())
        };
        for change in &txn.changes {
            match change {
                Change::Rows(rc) => {
                    let cols = column_names(&rc.table)?;
                    for row in &rc.rows {
                        let wanted = RowSession::of(rc, row);
                        if wanted != session {
                            flush(&mut pending_insert, &mut out)?;
                            out.push(Stmt::session(session.switch_to(wanted)));
                            session = wanted;
                        }
                        if rc.kind != RowKind::Insert {
                            flush(&mut pending_insert, &mut out)?;
                            out.push(self.keyed_change(&rc.table, rc.kind, row)?);
                            continue;
                        }
                        let after = row.after.as_ref().ok_or_else(|| missing(&rc.table, rc.kind, "after"))?;
                        check_width(&rc.table, after)?;
                        if let Some(setval) = self.sequence_setval(&rc.table, after)? {
                            flush(&mut pending_insert, &mut out)?;
                            out.push(setval);
                            continue;
                        }
                        if style == PlanStyle::RowByRow {
                            let mut b = InsertBatch::new(rc.table.clone(), present_mask(&rc.table, after));
                            b.push(self, &cols, after)?;
                            out.push(b.finish(&cols, true));
                            continue;
                        }
                        let mask = present_mask(&rc.table, after);
                        let same = pending_insert.as_ref().is_some_and(|b| Arc::ptr_eq(&b.table, &rc.table) || same_table(&b.table, &rc.table)) && pending_insert.as_ref().is_some_and(|b| b.mask == mask);
                        if !same || pending_insert.as_ref().is_some_and(|b| b.values.len() >= self.batch_bytes) {
                            flush(&mut pending_insert, &mut out)?;
                            pending_insert = Some(InsertBatch::new(rc.table.clone(), mask));
                        }
                        if let Some(b) = pending_insert.as_mut() {
                            out.extend(b.push_capped(self, &cols, after)?);
                        }
                    }
                }
                other => {
                    flush(&mut pending_insert, &mut out)?;
                    // Statement events set their own session (and restore the defaults after).
                    if session != RowSession::DEFAULT && !matches!(other, Change::Opaque { .. }) {
                        out.push(Stmt::session(session.switch_to(RowSession::DEFAULT)));
                        session = RowSession::DEFAULT;
                    }
                    match other {
                        Change::Rows(_) => {}
                        Change::Query(q) => {
                            if is_transaction_control(&q.text()) {
                                continue;
                            }
                            out.extend(self.query_statements(q)?);
                        }
                        Change::Context(c) => out.push(Stmt::session(self.context_sql(c))),
                        Change::Load(l) => out.extend(self.load_statements(l)?),
                        // Never skipped silently: what cannot be applied stops the pipeline.
                        Change::Opaque { event_type, what } => return Err(SqlError::Opaque { event_type: *event_type, what: what.clone() }),
                    }
                }
            }
        }
        flush(&mut pending_insert, &mut out)?;
        if session != RowSession::DEFAULT {
            out.push(Stmt::session(session.switch_to(RowSession::DEFAULT)));
        }
        Ok(out)
    }

    /// How to set a session collation variable to the source's collation `id`: the number when
    /// the target knows it; MySQL 8's utf8mb4 collations (ids 255..=323, e.g. 255
    /// utf8mb4_0900_ai_ci), which MariaDB does not have, as utf8mb4 by name (the bytes of the
    /// statement are utf8mb4 either way); anything else unknown: `None` (leave the default).
    fn collation_value(&self, id: u16, charset_only: bool) -> Option<String> {
        if self.charsets.charset_of(id).is_some() {
            return Some(id.to_string());
        }
        is_mysql8_utf8mb4(id).then(|| if charset_only { "'utf8mb4'".to_string() } else { "'utf8mb4_general_ci'".to_string() })
    }

    /// A statement event with its session context, then the worker defaults restored.
    ///
    /// The statement itself is a [`StmtKind::Logged`]: its bytes exactly as logged, which the
    /// worker sends alone in its own round trip, after the context statements have set
    /// `character_set_client` to the charset the source session parsed them in. Any other
    /// charset, or joining them with other text, could change where a string literal ends
    /// (a sjis/cp932/big5/gbk trail byte 0x5C reads as a backslash in latin1 or utf8mb4) and
    /// run the rest of a source user's literal as SQL on the target.
    fn query_statements(&self, q: &QueryEvent) -> Result<Vec<Stmt>, SqlError> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(mode) = q.sql_mode {
            // Numeric form: both servers accept the bitmap, so no name table is needed here.
            parts.push(format!("sql_mode={mode}"));
        }
        match q.charset {
            Some((client, conn, server)) => {
                match self.collation_value(client, true) {
                    Some(v) => parts.push(format!("character_set_client={v}")),
                    // Bytes in a charset the target cannot parse: only pure ASCII reads the
                    // same in every charset a client may use.
                    None if q.query.is_ascii() => {
                        tracing::warn!(collation = client, "the target knows no such client charset; the statement is ASCII and runs as utf8mb4");
                    }
                    None => return Err(SqlError::UnknownCharset { collation: client, statement: shown(&q.query) }),
                }
                for (var, id) in [("collation_connection", conn), ("collation_server", server)] {
                    match self.collation_value(id, false) {
                        Some(v) => parts.push(format!("{var}={v}")),
                        None => tracing::warn!(collation = id, variable = var, "the target knows no such collation; the statement runs with the session default"),
                    }
                }
            }
            // No charset logged (MySQL before 4.1 wrote none): the replica's SQL thread parses
            // such statements in its server's default client charset; do the same.
            None => parts.push("character_set_client=@@GLOBAL.character_set_client".into()),
        }
        if let Some(tz) = &q.time_zone {
            parts.push(format!("time_zone={}", quote_str(tz)));
        }
        if q.timestamp > 0 {
            // The statement's NOW()/CURRENT_TIMESTAMP, as the replica's SQL thread sets it.
            parts.push(format!("timestamp={}.{:06}", q.timestamp, q.microseconds.unwrap_or(0).min(999_999)));
        }
        if let Some((increment, offset)) = q.auto_increment {
            // Multi-row statement-based INSERTs number their rows with the source's step (a
            // dual-master pair runs with increment 2); INSERT_ID only gives the first value.
            parts.push(format!("auto_increment_increment={}, auto_increment_offset={}", increment.max(1), offset.max(1)));
        }
        if let Some(flags2) = q.flags2 {
            parts.push(format!(
                "foreign_key_checks={}, unique_checks={}, sql_auto_is_null={}",
                (flags2 & OPTION_NO_FOREIGN_KEY_CHECKS == 0) as u8,
                (flags2 & OPTION_RELAXED_UNIQUE_CHECKS == 0) as u8,
                (flags2 & OPTION_AUTO_IS_NULL != 0) as u8
            ));
        }
        // MariaDB-only session options, in a MariaDB executable comment (the bits are MariaDB's;
        // a MySQL target never sees them): CHECK constraints, IF EXISTS, and how a CREATE
        // TABLE's TIMESTAMP columns without a default come out, all of which the native replica
        // copies from flags2 into its session.
        let mut mariadb_only = String::new();
        if let Some(flags2) = q.flags2 {
            // MariaDB's replica runs DDL with slave_ddl_exec_mode=IDEMPOTENT (its default), which
            // turns DROP TABLE into DROP TABLE IF EXISTS: the source logs `DROP TABLE a, missing`
            // (it dropped `a`, then failed) without an error code, and the target must drop `a`
            // and go on.
            let _ = write!(
                mariadb_only,
                " /*M!100201 , check_constraint_checks={} */ /*M!100500 , sql_if_exists={} */",
                (flags2 & OPTION_NO_CHECK_CONSTRAINT_CHECKS == 0) as u8,
                (flags2 & OPTION_IF_EXISTS != 0 || is_drop_table(&q.text())) as u8
            );
            if q.explicit_defaults_for_timestamp.is_none() {
                let _ = write!(mariadb_only, " /*M!100108 , explicit_defaults_for_timestamp={} */", (flags2 & OPTION_EXPLICIT_DEF_TIMESTAMP != 0) as u8);
            }
        }
        // MySQL 8 logs it as its own status variable.
        if let Some(on) = q.explicit_defaults_for_timestamp {
            parts.push(format!("explicit_defaults_for_timestamp={}", on as u8));
        }
        if let Some(n) = q.lc_time_names {
            // DATE_FORMAT's day and month names (both servers accept the locale's number).
            parts.push(format!("lc_time_names={n}"));
        }
        let mut out = Vec::new();
        // CREATE/DROP DATABASE are logged with the database itself as default schema, which
        // may not exist (yet, or any more) on the target: run them without `USE`.
        if !q.schema.is_empty() && !is_database_ddl(&q.text()) {
            out.push(Stmt::session(format!("USE {}", quote_ident(&q.schema))));
        }
        if !parts.is_empty() {
            out.push(Stmt::session(format!("SET SESSION {}{mariadb_only}", parts.join(", "))));
        }
        out.push(Stmt { sql: String::new(), kind: StmtKind::Logged(q.query.as_slice().into()), table: None, rows: 0, overwrite_sql: None, expected_error: q.error_code });
        out.push(Stmt::session(SESSION_DEFAULTS.to_string()));
        Ok(out)
    }

    /// A statement-based `LOAD DATA`: the statement's context like any statement event, and
    /// the statement itself with its ` [LOCAL] INFILE 'name' [REPLACE|IGNORE] INTO` part
    /// replaced, as `mariadb-binlog` prints it for replay, by `LOCAL INFILE` of a name the
    /// worker answers with the logged file bytes (never a file of the applier's host). LOCAL
    /// makes duplicate-key errors warnings unless REPLACE: the source's statement had none,
    /// or it would not have been logged.
    fn load_statements(&self, l: &LoadData) -> Result<Vec<Stmt>, SqlError> {
        let q = &l.load.query.query;
        let (start, end) = (l.load.fn_pos_start, l.load.fn_pos_end);
        let (Some(head), Some(tail)) = (q.get(..start), q.get(end..)) else {
            return Err(SqlError::LoadFileName { start, end, len: q.len() });
        };
        let mut sql = head.to_vec();
        sql.extend_from_slice(b" LOCAL INFILE 'parapply-load-data' ");
        sql.extend_from_slice(match l.load.dup_handling {
            1 => b"IGNORE INTO".as_slice(),
            2 => b"REPLACE INTO",
            _ => b"INTO",
        });
        sql.extend_from_slice(tail);
        let mut stmts = self.query_statements(&l.load.query)?;
        for s in &mut stmts {
            if matches!(s.kind, StmtKind::Logged(_)) {
                s.kind = StmtKind::LoadData { sql: sql.as_slice().into(), data: l.data.clone() };
            }
        }
        Ok(stmts)
    }

    /// What a statement event read from its session on the source, set the way the replica's
    /// SQL thread (and mysqlbinlog's output) sets it: `SET INSERT_ID=`, `SET LAST_INSERT_ID=`,
    /// `SET @@RAND_SEED1=, @@RAND_SEED2=`, `SET @name:=value` (strings in their charset and
    /// collation, as hex).
    fn context_sql(&self, c: &StatementContext) -> String {
        match c {
            StatementContext::InsertId(n) => format!("SET INSERT_ID={n}"),
            StatementContext::LastInsertId(n) => format!("SET LAST_INSERT_ID={n}"),
            StatementContext::Rand { seed1, seed2 } => format!("SET @@RAND_SEED1={seed1}, @@RAND_SEED2={seed2}"),
            StatementContext::UserVar { name, value } => {
                let mut sql = format!("SET @{}:=", quote_ident(name));
                match value {
                    None => sql.push_str("NULL"),
                    Some(UserValue::Int { value, unsigned: true }) => {
                        let _ = write!(sql, "{}", *value as u64);
                    }
                    Some(UserValue::Int { value, unsigned: false }) => {
                        let _ = write!(sql, "{value}");
                    }
                    // Exponent form: a DOUBLE literal, like the variable.
                    Some(UserValue::Real(f)) if f.is_finite() => {
                        let _ = write!(sql, "{f:e}");
                    }
                    Some(UserValue::Real(_)) => sql.push_str("NULL"),
                    // Decoded from binary DECIMAL digits; checked anyway, as every literal.
                    Some(UserValue::Decimal(text)) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.') => sql.push_str(text),
                    Some(UserValue::Decimal(text)) => {
                        sql.push_str("CAST(");
                        push_hex(&mut sql, text.as_bytes());
                        sql.push_str(" AS DECIMAL(65,30))");
                    }
                    Some(UserValue::Str { bytes, collation }) => {
                        let id = u16::try_from(*collation).ok();
                        let charset = id.and_then(|id| self.charsets.charset_of(id)).or(id.filter(|id| is_mysql8_utf8mb4(*id)).map(|_| "utf8mb4"));
                        match charset {
                            Some(cs) => {
                                let _ = write!(sql, "_{cs} ");
                                push_hex(&mut sql, bytes);
                                // The collation too when its name is the charset's (MariaDB
                                // calls utf8 utf8mb3; an alias would not match the introducer).
                                if let Some(name) = id.and_then(crate::schedule::collation::name_for_id).filter(|n| n.strip_prefix(cs).is_some_and(|r| r.starts_with('_'))) {
                                    let _ = write!(sql, " COLLATE {}", quote_ident(name));
                                }
                            }
                            // Unknown charset: the bytes, as a binary string.
                            None => push_hex(&mut sql, bytes),
                        }
                    }
                }
                sql
            }
        }
    }

    /// UPDATE or DELETE of one row, located by primary key or (keyless) by every column.
    pub(super) fn keyed_change(&self, table: &Arc<TableMap>, kind: RowKind, row: &RowChange) -> Result<Stmt, SqlError> {
        let cols = column_names(table)?;
        let before = row.before.as_ref().ok_or_else(|| missing(table, kind, "before"))?;
        check_width(table, before)?;
        let mut sql = String::with_capacity(128);
        let overwrite_sql;
        match kind {
            RowKind::Update => {
                let after = row.after.as_ref().ok_or_else(|| missing(table, kind, "after"))?;
                check_width(table, after)?;
                sql.push_str("UPDATE ");
                push_table(&mut sql, table);
                sql.push_str(" SET ");
                let mut first = true;
                for i in set_columns(table, before, after) {
                    let Some(Some(v)) = after.cols.get(i) else { continue };
                    if !first {
                        sql.push_str(", ");
                    }
                    first = false;
                    sql.push_str(&quote_ident(&cols[i]));
                    sql.push('=');
                    match v {
                        Value::JsonDiff(diffs) => push_json_diff(&mut sql, &quote_ident(&cols[i]), diffs),
                        v => self.literal(table, i, v, &mut sql)?,
                    }
                }
                if first {
                    return Err(missing(table, kind, "after"));
                }
                // Overwrite: make the target hold exactly the after image, whatever it had. A
                // JSON diff has no value of its own to write: a target that lacks the row cannot
                // be given it, so such a divergence is counted and left (as for DELETE).
                overwrite_sql = if after.cols.iter().any(|v| matches!(v, Some(Value::JsonDiff(_)))) {
                    None
                } else {
                    let mut b = InsertBatch::new(table.clone(), present_mask(table, after));
                    b.push(self, &cols, after)?;
                    Some(b.render(&cols, "REPLACE"))
                };
            }
            RowKind::Delete => {
                sql.push_str("DELETE FROM ");
                push_table(&mut sql, table);
                overwrite_sql = None;
            }
            // Inserts never reach here (the planner batches them); refuse rather than guess.
            RowKind::Insert => return Err(missing(table, kind, "before")),
        }
        self.where_clause(table, &cols, before, &mut sql)?;
        Ok(Stmt { sql, kind: if kind == RowKind::Update { StmtKind::Update } else { StmtKind::Delete }, table: Some(table.clone()), rows: 1, overwrite_sql, expected_error: 0 })
    }

    /// `DELETE FROM t WHERE pk IN (...)` of `befores` (rows of `table`, whose primary key is
    /// the one column `pk`, no two with the same key): one statement expected to find them all
    /// (see [`crate::apply::coalesce`]).
    pub(super) fn delete_batch(&self, table: &Arc<TableMap>, pk: usize, befores: &[&Row]) -> Result<Stmt, SqlError> {
        let cols = column_names(table)?;
        let keys = self.key_literals(table, &cols, pk, befores)?;
        let mut sql = String::with_capacity(64 + keys.iter().map(|k| k.len() + 1).sum::<usize>());
        sql.push_str("DELETE FROM ");
        push_table(&mut sql, table);
        push_in_list(&mut sql, &quote_ident(&cols[pk]), &keys);
        Ok(Stmt { sql, kind: StmtKind::Delete, table: Some(table.clone()), rows: befores.len() as u64, overwrite_sql: None, expected_error: 0 })
    }

    /// One UPDATE of several rows of `table` (primary key: the one column `pk`, no two rows with
    /// the same key) that all set the same columns `set` (none of them part of a unique key):
    /// `UPDATE t SET c = CASE pk WHEN k1 THEN v1 WHEN k2 THEN v2 END, ... WHERE pk IN (k1, k2)`.
    /// Expected to find every row (see [`crate::apply::coalesce`]).
    pub(super) fn update_batch(&self, table: &Arc<TableMap>, pk: usize, set: &[usize], rows: &[&RowChange]) -> Result<Stmt, SqlError> {
        let cols = column_names(table)?;
        let pk_name = quote_ident(&cols[pk]);
        let befores = rows.iter().map(|r| r.before.as_ref().ok_or_else(|| missing(table, RowKind::Update, "before"))).collect::<Result<Vec<_>, _>>()?;
        let afters = rows.iter().map(|r| r.after.as_ref().ok_or_else(|| missing(table, RowKind::Update, "after"))).collect::<Result<Vec<_>, _>>()?;
        for after in &afters {
            check_width(table, after)?;
        }
        let keys = self.key_literals(table, &cols, pk, &befores)?;
        let mut sql = String::with_capacity(64 + rows.len() * (32 + 48 * set.len()));
        sql.push_str("UPDATE ");
        push_table(&mut sql, table);
        sql.push_str(" SET ");
        for (n, &c) in set.iter().enumerate() {
            if n > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&quote_ident(&cols[c]));
            sql.push_str(" = CASE ");
            sql.push_str(&pk_name);
            for (after, key) in afters.iter().zip(&keys) {
                let Some(Some(v)) = after.cols.get(c) else { return Err(missing(table, RowKind::Update, "after")) };
                sql.push_str(" WHEN ");
                sql.push_str(key);
                sql.push_str(" THEN ");
                self.literal(table, c, v, &mut sql)?;
            }
            sql.push_str(" END");
        }
        push_in_list(&mut sql, &pk_name, &keys);
        Ok(Stmt { sql, kind: StmtKind::Update, table: Some(table.clone()), rows: rows.len() as u64, overwrite_sql: None, expected_error: 0 })
    }

    /// The literal of key column `pk` in each of `befores` (checked to be whole rows of `table`).
    fn key_literals(&self, table: &TableMap, cols: &[String], pk: usize, befores: &[&Row]) -> Result<Vec<String>, SqlError> {
        befores
            .iter()
            .map(|before| {
                check_width(table, before)?;
                let mut k = String::with_capacity(16);
                self.literal(table, pk, key_value(table, cols, before, pk)?, &mut k)?;
                Ok(k)
            })
            .collect()
    }

    /// The INSERT of `afters` (rows of `table` with the same present columns) as multi-row
    /// statements cut at the batch size, like [`SqlBuilder::plan`]'s.
    pub(super) fn insert_batches(&self, table: &Arc<TableMap>, afters: &[&Row], out: &mut Vec<Stmt>) -> Result<(), SqlError> {
        let cols = column_names(table)?;
        if table.sequence {
            // Each row replaces the sequence's one row, in order: no batching.
            for after in afters {
                check_width(table, after)?;
                match self.sequence_setval(table, after)? {
                    Some(setval) => out.push(setval),
                    None => {
                        let mut b = InsertBatch::new(table.clone(), present_mask(table, after));
                        b.push(self, &cols, after)?;
                        out.push(b.finish(&cols, false));
                    }
                }
            }
            return Ok(());
        }
        let Some(first) = afters.first() else { return Ok(()) };
        let mut batch = InsertBatch::new(table.clone(), present_mask(table, first));
        for after in afters {
            check_width(table, after)?;
            out.extend(batch.push_capped(self, &cols, after)?);
        }
        out.push(batch.finish(&cols, false));
        Ok(())
    }

    /// A row written to a SEQUENCE with a partial image: what `NEXTVAL`/`SETVAL` log under
    /// `binlog_row_image=MINIMAL` (next_not_cached_value and cycle_count, the columns they
    /// change). The server's row code (the native replica's, and a `BINLOG` statement's) reads
    /// the other six columns as their defaults and refuses the row (ERROR 4085, `out of range
    /// value for options`); `SETVAL(seq, next_not_cached_value, 0, cycle_count)` stores exactly
    /// the logged values in the target's row and leaves the definition (which only DDL changes,
    /// and which is replicated as a statement) as it is. SETVAL only moves a sequence forward
    /// within a round, as NEXTVAL on the source did. `None`: a full image (an INSERT into the
    /// sequence, or a FULL row image), applied as an INSERT, which replaces the row.
    fn sequence_setval(&self, table: &Arc<TableMap>, after: &Row) -> Result<Option<Stmt>, SqlError> {
        if !table.sequence || after.cols.iter().all(Option::is_some) {
            return Ok(None);
        }
        let logged: Vec<usize> = after.cols.iter().enumerate().filter(|(_, v)| v.is_some()).map(|(i, _)| i).collect();
        let (Some(Some(next)), Some(Some(round))) = (after.cols.first(), after.cols.get(7)) else {
            return Err(SqlError::SequenceImage { schema: table.schema.clone(), table: table.table.clone(), logged });
        };
        if after.cols.len() != 8 || logged != [0, 7] {
            return Err(SqlError::SequenceImage { schema: table.schema.clone(), table: table.table.clone(), logged });
        }
        let mut sql = String::from("DO SETVAL(");
        push_table(&mut sql, table);
        sql.push_str(", ");
        self.literal(table, 0, next, &mut sql)?;
        sql.push_str(", 0, ");
        self.literal(table, 7, round, &mut sql)?;
        sql.push(')');
        Ok(Some(Stmt { sql, kind: StmtKind::Session, table: Some(table.clone()), rows: 1, overwrite_sql: None, expected_error: 0 }))
    }

    /// The size at which batched statements are cut.
    pub(super) fn batch_limit(&self) -> usize {
        self.batch_bytes
    }

    fn where_clause(&self, table: &Arc<TableMap>, cols: &[String], before: &Row, sql: &mut String) -> Result<(), SqlError> {
        sql.push_str(" WHERE ");
        if !table.primary_key.is_empty() {
            for (n, &i) in table.primary_key.iter().enumerate() {
                let v = key_value(table, cols, before, i)?;
                if n > 0 {
                    sql.push_str(" AND ");
                }
                sql.push_str(&quote_ident(cols.get(i).map(String::as_str).unwrap_or("")));
                // A key column is never NULL, but `<=>` keeps a prefix/unique NULL honest.
                sql.push_str(if matches!(v, Value::Null) { " <=> " } else { " = " });
                self.literal(table, i, v, sql)?;
            }
            return Ok(());
        }
        // No key: match every logged column NULL-safely, and change one row only (duplicates are
        // indistinguishable; the source logged one event per row). The collation's `<=>` can use
        // an index but is not identity: under a _ci, accent-insensitive or PAD SPACE collation
        // 'a' = 'A' = 'á' = 'a ', and LIMIT 1 would change whichever came first. So text is also
        // compared as bytes, the way the native replica compares whole records
        // (`record_compare`). Everything else already compares exactly: numbers, temporal
        // values and ENUM/SET indexes by value, binary strings byte for byte (BINARY(n) images
        // come back padded, see the decoder), FLOAT widened to double exactly; CHAR's trailing spaces
        // are stripped both in the logged image and when the column is read.
        let mut first = true;
        for (i, v) in before.cols.iter().enumerate() {
            let Some(v) = v else { continue };
            // A generated column is a function of the others, which are matched: comparing it
            // too would only add the risk of an expression that evaluates differently.
            if is_generated(table, i) {
                continue;
            }
            if !first {
                sql.push_str(" AND ");
            }
            first = false;
            let col = quote_ident(&cols[i]);
            sql.push_str(&col);
            sql.push_str(" <=> ");
            self.literal(table, i, v, sql)?;
            if let Value::Bytes(b) = v {
                if is_text_column(table.columns.get(i)) {
                    sql.push_str(" AND CAST(");
                    sql.push_str(&col);
                    sql.push_str(" AS BINARY) = ");
                    push_hex(sql, b);
                }
            }
        }
        if first {
            sql.push_str("1");
        }
        sql.push_str(" LIMIT 1");
        Ok(())
    }

    /// Render one value as an exact SQL literal for column `idx` of `table`.
    pub fn literal(&self, table: &TableMap, idx: usize, v: &Value, out: &mut String) -> Result<(), SqlError> {
        let col = table.columns.get(idx);
        let bad = |what: String| SqlError::BadValue {
            schema: table.schema.clone(),
            table: table.table.clone(),
            column: col.and_then(|c| c.name.clone()).unwrap_or_else(|| format!("#{idx}")),
            what,
        };
        match v {
            Value::Null => out.push_str("NULL"),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            // Floats in exponent form parse as DOUBLE (not DECIMAL); a FLOAT widened to double
            // is exact, so `col <=> literal` matches the stored value (the server compares a
            // FLOAT column as a double) and INSERT rounds back to the same f32. A FLOAT(M,D)
            // column rounds it to D decimals first, which gives back the decimal the source
            // stored whenever M <= 7 (an f32 holds 7 digits): within range under strict mode.
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(bad(format!("non-finite FLOAT {f}")));
                }
                let _ = write!(out, "{:e}", *f as f64);
            }
            Value::Double(d) => {
                if !d.is_finite() {
                    return Err(bad(format!("non-finite DOUBLE {d}")));
                }
                let _ = write!(out, "{d:e}");
            }
            Value::Decimal(s) => {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.') {
                    return Err(bad(format!("malformed DECIMAL text {s:?}")));
                }
                out.push_str(s);
            }
            // Numeric YEAR: 0 means 0000 (a string '0' would mean 2000).
            Value::Year(y) => {
                let _ = write!(out, "{y}");
            }
            Value::Date { year, month, day } => {
                let _ = write!(out, "'{year:04}-{month:02}-{day:02}'");
            }
            Value::Time { negative, hours, minutes, seconds, micros } => {
                let sign = if *negative { "-" } else { "" };
                let _ = write!(out, "'{sign}{hours:02}:{minutes:02}:{seconds:02}.{micros:06}'");
            }
            Value::DateTime { year, month, day, hour, minute, second, micros } => {
                let _ = write!(out, "'{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}'");
            }
            Value::Timestamp { secs, micros } => {
                if *secs == 0 && *micros == 0 {
                    // The zero TIMESTAMP is stored as 0 and shown as the zero date.
                    out.push_str("'0000-00-00 00:00:00'");
                } else {
                    out.push('\'');
                    crate::utc::push_datetime(out, *secs as i64, ' ');
                    let _ = write!(out, ".{micros:06}'");
                }
            }
            Value::Bytes(b) => {
                let collation = col.and_then(|c| c.collation);
                match collation {
                    Some(c) if c != BINARY_COLLATION && is_character_column(col) => match self.charsets.charset_of(c) {
                        // Introducer: the literal is a string of the column's charset, so
                        // comparisons use the column's collation and can use its index.
                        Some(cs) => {
                            let _ = write!(out, "_{cs} ");
                            push_hex(out, b);
                        }
                        None => push_hex(out, b),
                    },
                    _ => push_hex(out, b),
                }
            }
            // Integer form is valid for INSERT and compares numerically with a BIT column.
            Value::Bit { value, .. } => {
                let _ = write!(out, "{value}");
            }
            // ENUM index and SET bitmap: numeric forms are accepted on insert and compare by
            // index/bitmap.
            Value::Enum(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Set(bits) => {
                let _ = write!(out, "{bits}");
            }
            Value::Json(text) => {
                out.push_str("_utf8mb4 ");
                push_hex(out, text.as_bytes());
            }
            // Only an UPDATE's SET can apply diffs (see `push_json_diff`); an INSERT or a WHERE
            // has no old document to apply them to.
            Value::JsonDiff(_) => return Err(bad("a partial JSON update (diffs) has no literal form outside an UPDATE's SET".into())),
            // GEOMETRY's stored form (SRID + WKB) is what a geometry column accepts as binary.
            Value::Geometry(b) => push_hex(out, b),
            Value::Vector(fs) => {
                let mut bytes = Vec::with_capacity(fs.len() * 4);
                for f in fs {
                    bytes.extend_from_slice(&f.to_le_bytes());
                }
                push_hex(out, &bytes);
            }
        }
        Ok(())
    }
}

/// Accumulates rows of one table with the same present-column set into a multi-row INSERT.
struct InsertBatch {
    table: Arc<TableMap>,
    mask: Vec<bool>,
    values: String,
    rows: u64,
}

impl InsertBatch {
    fn new(table: Arc<TableMap>, mask: Vec<bool>) -> Self {
        InsertBatch { table, mask, values: String::with_capacity(256), rows: 0 }
    }

    fn push(&mut self, b: &SqlBuilder, _cols: &[String], row: &Row) -> Result<(), SqlError> {
        if self.rows > 0 {
            self.values.push(',');
        }
        self.values.push('(');
        let mut first = true;
        for (i, v) in row.cols.iter().enumerate() {
            let Some(v) = v else { continue };
            // Generated columns are left to the target (the mask leaves them out of the list).
            if self.mask.get(i) != Some(&true) {
                continue;
            }
            if !first {
                self.values.push(',');
            }
            first = false;
            b.literal(&self.table, i, v, &mut self.values)?;
        }
        self.values.push(')');
        self.rows += 1;
        Ok(())
    }

    /// [`InsertBatch::push`], and when this row carries the statement past the builder's cap,
    /// the statement without it (the row starts the next one instead).
    fn push_capped(&mut self, b: &SqlBuilder, cols: &[String], row: &Row) -> Result<Option<Stmt>, SqlError> {
        let before = self.values.len();
        self.push(b, cols, row)?;
        if self.rows > 1 && self.values.len() > b.batch_bytes {
            let next = self.split_off_last(before);
            return Ok(Some(std::mem::replace(self, next).finish(cols, false)));
        }
        Ok(None)
    }

    /// Move the last row (its values start at byte `at`, after a comma) into a batch of its own.
    fn split_off_last(&mut self, at: usize) -> InsertBatch {
        let last = self.values[at + 1..].to_string();
        self.values.truncate(at);
        self.rows -= 1;
        InsertBatch { table: self.table.clone(), mask: self.mask.clone(), values: last, rows: 1 }
    }

    fn render(&self, cols: &[String], verb: &str) -> String {
        let mut sql = String::with_capacity(self.values.len() + 64);
        sql.push_str(verb);
        sql.push_str(" INTO ");
        push_table(&mut sql, &self.table);
        sql.push_str(" (");
        let mut first = true;
        for (i, present) in self.mask.iter().enumerate() {
            if !present {
                continue;
            }
            if !first {
                sql.push(',');
            }
            first = false;
            sql.push_str(&quote_ident(cols.get(i).map(String::as_str).unwrap_or("")));
        }
        sql.push_str(") VALUES ");
        sql.push_str(&self.values);
        sql
    }

    fn finish(self, cols: &[String], with_overwrite: bool) -> Stmt {
        let sql = self.render(cols, "INSERT");
        let overwrite_sql = with_overwrite.then(|| self.render(cols, "REPLACE"));
        Stmt { sql, kind: StmtKind::Insert, table: Some(self.table), rows: self.rows, overwrite_sql, expected_error: 0 }
    }
}

/// `column`'s new value from MySQL JSON diffs, applied in order to the target's current value:
/// `JSON_REMOVE(JSON_REPLACE(`j`, '$.a', JSON_EXTRACT('26', '$')), '$.b')`.
///
/// MariaDB has no JSON type (no `CAST(... AS JSON)`): a plain string argument would be stored
/// as a JSON string (`"26"`, `"{\"x\": 1}"`). `JSON_EXTRACT(text, '$')` returns the text as a
/// JSON value, which the JSON_* functions insert as JSON for every kind (object, array, string,
/// number, true/false/null; checked on MariaDB 10.11 by `tests/apply_json_diff.rs`). Paths and
/// values are SQL literals from [`quote_str`] (hex when they hold anything but plain
/// characters), so no sql_mode or quote in the document can change their meaning.
fn push_json_diff(sql: &mut String, column: &str, diffs: &[crate::decode::json::JsonDiff]) {
    crate::decode::json::write_diff_expression(
        diffs,
        column,
        sql,
        |p, out| out.push_str(&quote_str(p)),
        |v, out| {
            out.push_str("JSON_EXTRACT(");
            out.push_str(&quote_str(v));
            out.push_str(", '$')");
        },
    );
}

/// The columns an UPDATE from `before` to `after` sets, in column order: only those that
/// changed (the row on the target holds the before image, so an unchanged column already has
/// its value: less for the target to parse and write; the sysbench UPDATEs change one column of
/// four), plus every TIMESTAMP/DATETIME column (an `ON UPDATE CURRENT_TIMESTAMP` column left out
/// would take the target's clock). Nothing changed at all (a logged no-op): the first present
/// column, so the statement still finds the row.
pub(super) fn set_columns(table: &TableMap, before: &Row, after: &Row) -> Vec<usize> {
    let changed = |i: usize, v: &Value| matches!(v, Value::Timestamp { .. } | Value::DateTime { .. }) || before.cols.get(i).and_then(Option::as_ref) != Some(v);
    // Generated columns are the target's to compute (writing one is ERROR 1906).
    let set: Vec<usize> = after.cols.iter().enumerate().filter(|(i, v)| !is_generated(table, *i) && v.as_ref().is_some_and(|v| changed(*i, v))).map(|(i, _)| i).collect();
    if set.is_empty() {
        return after.cols.iter().enumerate().position(|(i, v)| v.is_some() && !is_generated(table, i)).into_iter().collect();
    }
    set
}

/// ` WHERE column IN (k1,k2,...)`.
fn push_in_list(sql: &mut String, column: &str, keys: &[String]) {
    sql.push_str(" WHERE ");
    sql.push_str(column);
    sql.push_str(" IN (");
    sql.push_str(&keys.join(","));
    sql.push(')');
}

/// The value of key column `idx` in `row`, which must be there.
fn key_value<'r>(table: &TableMap, cols: &[String], row: &'r Row, idx: usize) -> Result<&'r Value, SqlError> {
    row.cols.get(idx).and_then(|v| v.as_ref()).ok_or_else(|| SqlError::KeyColumnAbsent {
        schema: table.schema.clone(),
        table: table.table.clone(),
        column: cols.get(idx).cloned().unwrap_or_else(|| format!("#{idx}")),
    })
}

pub(super) fn same_table(a: &TableMap, b: &TableMap) -> bool {
    a.schema == b.schema && a.table == b.table && a.columns.len() == b.columns.len()
}

/// The columns an INSERT of `row` writes: those its image has, except the ones the target
/// computes (generated columns: writing them is ERROR 1906).
fn present_mask(table: &TableMap, row: &Row) -> Vec<bool> {
    row.cols.iter().enumerate().map(|(i, v)| v.is_some() && !is_generated(table, i)).collect()
}

/// Whether column `i` of `table` is computed by the target (see [`ColumnDef::generated`]).
fn is_generated(table: &TableMap, i: usize) -> bool {
    table.columns.get(i).is_some_and(|c| c.generated)
}

pub(super) fn missing(table: &TableMap, kind: RowKind, image: &'static str) -> SqlError {
    SqlError::MissingImage { schema: table.schema.clone(), table: table.table.clone(), kind, image }
}

fn check_width(table: &TableMap, row: &Row) -> Result<(), SqlError> {
    if row.cols.len() != table.columns.len() {
        return Err(SqlError::ColumnCount { schema: table.schema.clone(), table: table.table.clone(), got: row.cols.len(), want: table.columns.len() });
    }
    Ok(())
}

/// Column names: from FULL metadata, or the target's (by position) once the dispatcher mapped
/// the TABLE_MAP onto the target's table (see [`crate::schedule::target`]); an error naming the
/// table when neither happened.
///
/// Every row statement is built through here, so this is also where a system-versioned table's
/// rows are refused: SQL cannot give them the logged ROW START / ROW END (an UPDATE or DELETE
/// writes the target's own history row and timestamps), only the server's row-event code can
/// (BINLOG statements, chosen for them by [`crate::apply::worker::RowPath`]).
pub fn column_names(table: &TableMap) -> Result<Vec<String>, SqlError> {
    if table.system_versioned {
        return Err(SqlError::SystemVersioned { schema: table.schema.clone(), table: table.table.clone() });
    }
    table
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| SqlError::NoColumnNames { schema: table.schema.clone(), table: table.table.clone() })
}

/// True for column types whose bytes are text in a charset (so an introducer applies).
fn is_character_column(col: Option<&ColumnDef>) -> bool {
    // VARCHAR 15, VAR_STRING 253, STRING 254, BLOB family 249..=252, MariaDB compressed 140/141.
    col.is_some_and(|c| matches!(c.real_type, 15 | 253 | 254 | 249..=252 | 140 | 141))
}

/// A character column whose collation may call different bytes equal (anything but
/// `binary`; an unknown collation counts too).
fn is_text_column(col: Option<&ColumnDef>) -> bool {
    is_character_column(col) && col.and_then(|c| c.collation) != Some(BINARY_COLLATION)
}

/// `DROP [TEMPORARY] TABLE ...` (what MariaDB's idempotent replica runs as `... IF EXISTS`).
fn is_drop_table(q: &str) -> bool {
    let words = first_two_words(q);
    matches!(words.first().map(String::as_str), Some("DROP")) && matches!(words.get(1).map(String::as_str), Some("TABLE" | "TABLES" | "TEMPORARY"))
}

fn is_database_ddl(q: &str) -> bool {
    let words = first_two_words(q);
    matches!(words.first().map(String::as_str), Some("CREATE" | "DROP" | "ALTER"))
        && matches!(words.get(1).map(String::as_str), Some("DATABASE" | "SCHEMA"))
}

/// The statement's first two words, upper case, after leading `/* */` comments.
fn first_two_words(q: &str) -> Vec<String> {
    let mut s = q.trim_start();
    while let Some(rest) = s.strip_prefix("/*") {
        match rest.find("*/") {
            Some(end) => s = rest[end + 2..].trim_start(),
            None => return Vec::new(),
        }
    }
    s.split_whitespace().take(2).map(str::to_ascii_uppercase).collect()
}

/// Whether [`SqlBuilder::plan`] makes only row statements of `txn`: no statement events and
/// every row in the worker's default session (see [`RowSession`]).
pub(super) fn rows_only(txn: &Transaction) -> bool {
    txn.changes.iter().all(|c| match c {
        // Decided per change where it can be: only a table with an ENUM column can hold a row
        // that needs the lax session (this runs for every transaction of every commit group).
        Change::Rows(rc) => {
            rc.foreign_key_checks()
                && rc.unique_checks()
                && rc.check_constraint_checks()
                && (!rc.table.columns.iter().any(|c| c.real_type == crate::decode::value::column_type::ENUM) || rc.rows.iter().all(|row| RowSession::of(rc, row) == RowSession::DEFAULT))
        }
        // An opaque event makes the plan fail (never skipped); the coalescer must not skip it.
        Change::Opaque { .. } | Change::Load(_) | Change::Context(_) => false,
        Change::Query(q) => is_transaction_control(&q.text()),
    })
}

/// MySQL 8's utf8mb4 collations (ids 255..=323, e.g. 255 utf8mb4_0900_ai_ci), which MariaDB
/// does not have: text in them is utf8mb4.
fn is_mysql8_utf8mb4(id: u16) -> bool {
    (255..=323).contains(&id)
}

fn is_transaction_control(q: &str) -> bool {
    let t = q.trim().trim_end_matches(';').trim();
    t.eq_ignore_ascii_case("BEGIN") || t.eq_ignore_ascii_case("COMMIT") || t.eq_ignore_ascii_case("START TRANSACTION")
}

fn push_table(sql: &mut String, t: &TableMap) {
    sql.push_str(&quote_ident(&t.schema));
    sql.push('.');
    sql.push_str(&quote_ident(&t.table));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, real_type: u8, collation: Option<u16>) -> ColumnDef {
        ColumnDef { column_type: real_type, real_type, name: Some(name.into()), collation, visible: true, ..Default::default() }
    }

    fn table(pk: Vec<usize>) -> Arc<TableMap> {
        Arc::new(TableMap {
            table_id: 1,
            schema: "s".into(),
            table: "t`x".into(),
            columns: vec![col("id", 3, None), col("name", 15, Some(45)), col("raw", 252, Some(63))],
            primary_key: pk,
            has_full_metadata: true,
            system_versioned: false,
            sequence: false,
        })
    }

    fn builder() -> SqlBuilder {
        SqlBuilder::new(Arc::new(Charsets::new(HashMap::from([(45, "utf8mb4".to_string()), (8, "latin1".to_string()), (13, "sjis".to_string())]))))
    }

    fn row(vals: Vec<Value>) -> Row {
        Row { cols: vals.into_iter().map(Some).collect() }
    }

    fn txn(changes: Vec<Change>) -> Transaction {
        Transaction { changes, ..Default::default() }
    }

    #[test]
    fn quotes_identifiers_and_doubles_backticks() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_ident("plain"), "`plain`");
    }

    #[test]
    fn inserts_batch_into_one_multi_row_statement_with_exact_literals() {
        let t = table(vec![0]);
        let rc = RowsChange { raw: None,
            table: t.clone(),
            kind: RowKind::Insert,
            rows: vec![
                RowChange { before: None, after: Some(row(vec![Value::Int(1), Value::Bytes("é😀".as_bytes().to_vec()), Value::Bytes(vec![0, 0xff])])) },
                RowChange { before: None, after: Some(row(vec![Value::Int(2), Value::Null, Value::Bytes(vec![])])) },
            ],
            flags: 0,
        };
        let stmts = builder().plan(&txn(vec![Change::Rows(rc)]), PlanStyle::Batched).unwrap();
        assert_eq!(stmts.len(), 1);
        assert_eq!(stmts[0].kind, StmtKind::Insert);
        assert_eq!(stmts[0].rows, 2);
        assert_eq!(
            stmts[0].sql,
            "INSERT INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (1,_utf8mb4 X'C3A9F09F9880',X'00FF'),(2,NULL,X'')"
        );
    }

    #[test]
    fn multi_row_inserts_are_cut_by_bytes_before_a_row_that_would_overflow() {
        let t = table(vec![0]);
        // Each row's values are `(id,NULL,X'..')`: 12 + 2 x blob bytes (one-digit ids).
        let blob_row = |id: i64, n: usize| RowChange { before: None, after: Some(row(vec![Value::Int(id), Value::Null, Value::Bytes(vec![0xab; n])])) };
        let rc = RowsChange { raw: None, table: t, kind: RowKind::Insert, rows: vec![blob_row(1, 20), blob_row(2, 20), blob_row(3, 20), blob_row(4, 100), blob_row(5, 1), blob_row(6, 1)], flags: 0 };
        let stmts = builder().batch_bytes(110).plan(&txn(vec![Change::Rows(rc)]), PlanStyle::Batched).unwrap();
        let values: Vec<usize> = stmts.iter().map(|s| s.sql.len() - s.sql.find(" VALUES ").unwrap() - 8).collect();
        // 52 + 1 + 52 = 105 fits 110, a third row would not; the 212-byte row goes alone (a
        // single row may exceed the cap); then 14 + 1 + 14.
        assert_eq!(stmts.iter().map(|s| s.rows).collect::<Vec<_>>(), vec![2, 1, 1, 2]);
        assert_eq!(values, vec![105, 52, 212, 29]);
        let all: String = stmts.iter().map(|s| &s.sql[s.sql.find(" VALUES ").unwrap() + 8..]).collect::<Vec<_>>().join(",");
        assert_eq!(all.matches("),(").count() + 1, 6, "every row exactly once");
        assert!(stmts[3].sql.ends_with("VALUES (5,NULL,X'AB'),(6,NULL,X'AB')"), "{}", stmts[3].sql);
    }

    #[test]
    fn row_by_row_gives_one_insert_per_row_with_replace_alternative() {
        let t = table(vec![0]);
        let rc = RowsChange { raw: None,
            table: t,
            kind: RowKind::Insert,
            rows: vec![
                RowChange { before: None, after: Some(row(vec![Value::Int(1), Value::Null, Value::Null])) },
                RowChange { before: None, after: Some(row(vec![Value::Int(2), Value::Null, Value::Null])) },
            ],
            flags: 0,
        };
        let stmts = builder().plan(&txn(vec![Change::Rows(rc)]), PlanStyle::RowByRow).unwrap();
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[1].overwrite_sql.as_deref(), Some("REPLACE INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (2,NULL,NULL)"));
    }

    #[test]
    fn update_and_delete_by_primary_key() {
        let t = table(vec![0]);
        let upd = RowsChange { raw: None,
            table: t.clone(),
            kind: RowKind::Update,
            rows: vec![RowChange { before: Some(row(vec![Value::Int(1), Value::Null, Value::Null])), after: Some(row(vec![Value::Int(1), Value::Bytes(b"x".to_vec()), Value::Null])) }],
            flags: 0,
        };
        let del = RowsChange { raw: None, table: t, kind: RowKind::Delete, rows: vec![RowChange { before: Some(row(vec![Value::Int(7), Value::Null, Value::Null])), after: None }], flags: 0 };
        let stmts = builder().plan(&txn(vec![Change::Rows(upd), Change::Rows(del)]), PlanStyle::Batched).unwrap();
        // Only the changed column is set; the overwrite form carries the whole after image.
        assert_eq!(stmts[0].sql, "UPDATE `s`.`t``x` SET `name`=_utf8mb4 X'78' WHERE `id` = 1");
        assert_eq!(stmts[0].overwrite_sql.as_deref(), Some("REPLACE INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (1,_utf8mb4 X'78',NULL)"));
        assert_eq!(stmts[1].sql, "DELETE FROM `s`.`t``x` WHERE `id` = 7");
        assert_eq!(stmts[1].kind, StmtKind::Delete);
    }

    #[test]
    fn update_sets_changed_columns_temporal_ones_and_a_found_row_for_no_op() {
        let t = table(vec![0]);
        let upd = |before: Vec<Value>, after: Vec<Value>| {
            let rc = RowsChange { raw: None, table: t.clone(), kind: RowKind::Update, rows: vec![RowChange { before: Some(row(before)), after: Some(row(after)) }], flags: 0 };
            builder().plan(&txn(vec![Change::Rows(rc)]), PlanStyle::Batched).unwrap().remove(0).sql
        };
        // Primary key changed: set (the WHERE uses the before image).
        assert_eq!(upd(vec![Value::Int(1), Value::Null, Value::Null], vec![Value::Int(2), Value::Null, Value::Null]), "UPDATE `s`.`t``x` SET `id`=2 WHERE `id` = 1");
        // A DATETIME/TIMESTAMP column is set even when unchanged (ON UPDATE CURRENT_TIMESTAMP).
        let ts = Value::Timestamp { secs: 951_782_400, micros: 0 };
        assert_eq!(
            upd(vec![Value::Int(1), Value::Null, ts.clone()], vec![Value::Int(1), Value::Bytes(b"y".to_vec()), ts]),
            "UPDATE `s`.`t``x` SET `name`=_utf8mb4 X'79', `raw`='2000-02-29 00:00:00.000000' WHERE `id` = 1"
        );
        // Same bytes in another case is a change (compared by value, not by collation).
        assert_eq!(
            upd(vec![Value::Int(1), Value::Bytes(b"a".to_vec()), Value::Null], vec![Value::Int(1), Value::Bytes(b"A".to_vec()), Value::Null]),
            "UPDATE `s`.`t``x` SET `name`=_utf8mb4 X'41' WHERE `id` = 1"
        );
        // Nothing changed: the first column is set to itself so the row still counts as found.
        assert_eq!(upd(vec![Value::Int(1), Value::Null, Value::Null], vec![Value::Int(1), Value::Null, Value::Null]), "UPDATE `s`.`t``x` SET `id`=1 WHERE `id` = 1");
    }

    #[test]
    fn json_diffs_become_nested_json_functions_on_the_target_value() {
        use crate::decode::json::{JsonDiff, JsonDiffOp};
        // (id INT PK, j JSON) as a MySQL 8 MINIMAL image logs it: key in the before image, diffs
        // in the after image.
        let t = Arc::new(TableMap {
            table_id: 1,
            schema: "s".into(),
            table: "t".into(),
            columns: vec![col("id", 3, None), col("j", 245, None)],
            primary_key: vec![0],
            has_full_metadata: true,
            system_versioned: false,
            sequence: false,
        });
        let d = |op, path: &str, value: Option<&str>| JsonDiff { op, path: path.into(), value: value.map(String::from) };
        let diffs = vec![
            d(JsonDiffOp::Replace, "$.a", Some(r#"{"x": [1, "it's"]}"#)),
            d(JsonDiffOp::Insert, "$.new", Some("true")),
            d(JsonDiffOp::Insert, "$.arr[1]", Some("\"s\"")),
            d(JsonDiffOp::Remove, "$.b", None),
        ];
        let upd = RowsChange { raw: None,
            table: t.clone(),
            kind: RowKind::Update,
            rows: vec![RowChange { before: Some(Row { cols: vec![Some(Value::Int(7)), None] }), after: Some(Row { cols: vec![None, Some(Value::JsonDiff(diffs))] }) }],
            flags: 0,
        };
        let stmts = builder().plan(&txn(vec![Change::Rows(upd)]), PlanStyle::RowByRow).unwrap();
        assert_eq!(stmts.len(), 1);
        assert_eq!(
            stmts[0].sql,
            "UPDATE `s`.`t` SET `j`=JSON_REMOVE(JSON_ARRAY_INSERT(JSON_SET(JSON_REPLACE(`j`, \
             '$.a', JSON_EXTRACT(_utf8mb4 X'7B2278223A205B312C202269742773225D7D', '$')), \
             '$.new', JSON_EXTRACT('true', '$')), \
             '$.arr[1]', JSON_EXTRACT(_utf8mb4 X'227322', '$')), \
             '$.b') WHERE `id` = 7"
        );
        assert_eq!(stmts[0].kind, StmtKind::Update);
        // No value to overwrite a missing row with.
        assert_eq!(stmts[0].overwrite_sql, None);
        // A single diff; a number stays a plain literal.
        let one = vec![d(JsonDiffOp::Replace, "$.age", Some("26"))];
        let upd = RowsChange { raw: None,
            table: t.clone(),
            kind: RowKind::Update,
            rows: vec![RowChange { before: Some(Row { cols: vec![Some(Value::Int(1)), None] }), after: Some(Row { cols: vec![None, Some(Value::JsonDiff(one.clone()))] }) }],
            flags: 0,
        };
        let stmts = builder().plan(&txn(vec![Change::Rows(upd)]), PlanStyle::Batched).unwrap();
        assert_eq!(stmts[0].sql, "UPDATE `s`.`t` SET `j`=JSON_REPLACE(`j`, '$.age', JSON_EXTRACT('26', '$')) WHERE `id` = 1");
        // Anywhere but an UPDATE's SET a diff is an error naming the column, never a guess.
        let mut s = String::new();
        let e = builder().literal(&t, 1, &Value::JsonDiff(one), &mut s).unwrap_err().to_string();
        assert_eq!(e, "table `s`.`t` column `j`: a partial JSON update (diffs) has no literal form outside an UPDATE's SET");
    }

    #[test]
    fn keyless_table_matches_every_column_null_safely_with_limit_1() {
        let t = table(vec![]);
        let del = RowsChange { raw: None, table: t, kind: RowKind::Delete, rows: vec![RowChange { before: Some(row(vec![Value::Int(7), Value::Null, Value::Bytes(vec![1])])), after: None }], flags: 0 };
        let stmts = builder().plan(&txn(vec![Change::Rows(del)]), PlanStyle::Batched).unwrap();
        assert_eq!(stmts[0].sql, "DELETE FROM `s`.`t``x` WHERE `id` <=> 7 AND `name` <=> NULL AND `raw` <=> X'01' LIMIT 1");
    }

    /// `t` with a third column `g` that the target computes (VIRTUAL/STORED generated).
    fn with_generated(pk: Vec<usize>) -> Arc<TableMap> {
        let mut t = (*table(pk)).clone();
        t.columns[2] = ColumnDef { generated: true, ..col("g", 3, None) };
        Arc::new(t)
    }

    #[test]
    fn generated_columns_are_never_written_nor_matched_on() {
        let keyed = with_generated(vec![0]);
        let v = |id: i64, name: &[u8], g: i64| row(vec![Value::Int(id), Value::Bytes(name.to_vec()), Value::Int(g)]);
        let ins = RowsChange { raw: None, table: keyed.clone(), kind: RowKind::Insert, rows: vec![RowChange { before: None, after: Some(v(1, b"a", 2)) }, RowChange { before: None, after: Some(v(2, b"b", 4)) }], flags: 0 };
        let upd = RowsChange { raw: None, table: keyed.clone(), kind: RowKind::Update, rows: vec![RowChange { before: Some(v(1, b"a", 2)), after: Some(v(1, b"c", 6)) }], flags: 0 };
        // Only the generated column differs between the images: nothing to SET, but the logged
        // change must still find its row, so the first written column is set to itself.
        let noop = RowsChange { raw: None, table: keyed.clone(), kind: RowKind::Update, rows: vec![RowChange { before: Some(v(2, b"b", 4)), after: Some(v(2, b"b", 5)) }], flags: 0 };
        for style in [PlanStyle::Batched, PlanStyle::RowByRow] {
            let stmts = builder().plan(&txn(vec![Change::Rows(ins.clone()), Change::Rows(upd.clone()), Change::Rows(noop.clone())]), style).unwrap();
            let sql: Vec<&str> = stmts.iter().map(|s| s.sql.as_str()).collect();
            let inserts: Vec<&str> = if style == PlanStyle::Batched {
                vec!["INSERT INTO `s`.`t``x` (`id`,`name`) VALUES (1,_utf8mb4 X'61'),(2,_utf8mb4 X'62')"]
            } else {
                vec!["INSERT INTO `s`.`t``x` (`id`,`name`) VALUES (1,_utf8mb4 X'61')", "INSERT INTO `s`.`t``x` (`id`,`name`) VALUES (2,_utf8mb4 X'62')"]
            };
            let mut want = inserts;
            want.extend(["UPDATE `s`.`t``x` SET `name`=_utf8mb4 X'63' WHERE `id` = 1", "UPDATE `s`.`t``x` SET `id`=2 WHERE `id` = 2"]);
            assert_eq!(sql, want, "{style:?}");
        }
        // Overwrite's REPLACE leaves it out too.
        let stmts = builder().plan(&txn(vec![Change::Rows(upd)]), PlanStyle::RowByRow).unwrap();
        assert_eq!(stmts[0].overwrite_sql.as_deref(), Some("REPLACE INTO `s`.`t``x` (`id`,`name`) VALUES (1,_utf8mb4 X'63')"));
        // Keyless: matched by the written columns only.
        let del = RowsChange { raw: None, table: with_generated(vec![]), kind: RowKind::Delete, rows: vec![RowChange { before: Some(v(7, b"x", 14)), after: None }], flags: 0 };
        let stmts = builder().plan(&txn(vec![Change::Rows(del)]), PlanStyle::Batched).unwrap();
        assert_eq!(stmts[0].sql, "DELETE FROM `s`.`t``x` WHERE `id` <=> 7 AND `name` <=> _utf8mb4 X'78' AND CAST(`name` AS BINARY) = X'78' LIMIT 1");
    }

    #[test]
    fn a_system_versioned_table_is_never_applied_as_sql() {
        let mut t = (*table(vec![0])).clone();
        t.system_versioned = true;
        let ins = RowsChange { raw: None, table: Arc::new(t), kind: RowKind::Insert, rows: vec![RowChange { before: None, after: Some(row(vec![Value::Int(1), Value::Null, Value::Null])) }], flags: 0 };
        let e = builder().plan(&txn(vec![Change::Rows(ins)]), PlanStyle::Batched).unwrap_err();
        assert!(matches!(&e, SqlError::SystemVersioned { schema, table } if schema == "s" && table == "t`x"), "{e}");
        assert!(e.to_string().starts_with("table `s`.`t`x` is system-versioned: "), "{e}");
    }

    #[test]
    fn keyless_text_is_also_compared_as_bytes_so_case_accent_and_trailing_space_twins_are_not_taken() {
        let t = table(vec![]);
        // `name` is utf8mb4 (collation 45, _general_ci): 'b ' = 'B' under it; the byte
        // comparison keeps the collation's one (index-friendly) and pins the exact row.
        let upd = RowsChange { raw: None,
            table: t.clone(),
            kind: RowKind::Update,
            rows: vec![RowChange {
                before: Some(row(vec![Value::Int(1), Value::Bytes(b"b ".to_vec()), Value::Bytes(b"B".to_vec())])),
                after: Some(row(vec![Value::Int(2), Value::Bytes(b"b ".to_vec()), Value::Bytes(b"B".to_vec())])),
            }],
            flags: 0,
        };
        let stmts = builder().plan(&txn(vec![Change::Rows(upd)]), PlanStyle::Batched).unwrap();
        assert_eq!(
            stmts[0].sql,
            "UPDATE `s`.`t``x` SET `id`=2 WHERE `id` <=> 1 AND `name` <=> _utf8mb4 X'6220' AND CAST(`name` AS BINARY) = X'6220' AND `raw` <=> X'42' LIMIT 1"
        );
        // A FLOAT is compared as its exact double (the column is read as a double).
        let mut t2 = (*t).clone();
        t2.columns[0] = col("f", 4, None);
        let del = RowsChange { raw: None, table: Arc::new(t2), kind: RowKind::Delete, rows: vec![RowChange { before: Some(row(vec![Value::Float(0.1), Value::Null, Value::Null])), after: None }], flags: 0 };
        let stmts = builder().plan(&txn(vec![Change::Rows(del)]), PlanStyle::Batched).unwrap();
        assert_eq!(stmts[0].sql, "DELETE FROM `s`.`t``x` WHERE `f` <=> 1.0000000149011612e-1 AND `name` <=> NULL AND `raw` <=> NULL LIMIT 1");
    }

    #[test]
    fn rows_run_with_the_checks_their_rows_event_logged_and_the_defaults_come_back() {
        let t = table(vec![0]);
        let ins = |id: i64, flags: u16| Change::Rows(RowsChange { raw: None, table: t.clone(), kind: RowKind::Insert, rows: vec![RowChange { before: None, after: Some(row(vec![Value::Int(id), Value::Null, Value::Null])) }], flags });
        let del = |id: i64, flags: u16| Change::Rows(RowsChange { raw: None, table: t.clone(), kind: RowKind::Delete, rows: vec![RowChange { before: Some(row(vec![Value::Int(id), Value::Null, Value::Null])), after: None }], flags });
        // STMT_END_F alone (1) is the default session: plain row statements, fast-path eligible.
        let plain = txn(vec![ins(1, 1), ins(2, 0)]);
        let sql: Vec<String> = builder().plan(&plain, PlanStyle::Batched).unwrap().into_iter().map(|s| s.sql).collect();
        assert_eq!(sql, vec!["INSERT INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (1,NULL,NULL),(2,NULL,NULL)"]);
        assert!(rows_only(&plain));
        // foreign_key_checks=0 (2), then unique_checks=0 too (2|4), then both back on: an
        // INSERT batch is cut where the session changes, and the defaults are restored.
        let mixed = txn(vec![ins(1, 1), ins(2, 3), del(3, 2), ins(4, 7), ins(5, 1)]);
        let stmts = builder().plan(&mixed, PlanStyle::Batched).unwrap();
        let sql: Vec<&str> = stmts.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql,
            vec![
                "INSERT INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (1,NULL,NULL)",
                "SET SESSION foreign_key_checks=0",
                "INSERT INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (2,NULL,NULL)",
                "DELETE FROM `s`.`t``x` WHERE `id` = 3",
                "SET SESSION unique_checks=0",
                "INSERT INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (4,NULL,NULL)",
                "SET SESSION foreign_key_checks=1, unique_checks=1",
                "INSERT INTO `s`.`t``x` (`id`,`name`,`raw`) VALUES (5,NULL,NULL)",
            ]
        );
        assert_eq!(stmts[1].kind, StmtKind::Session);
        assert!(!rows_only(&mixed), "the coalescer must not merge rows logged under other flags");
        // CHECK constraints off (NO_CHECK_CONSTRAINT_CHECKS_F, 1 << 7): the coalescer, which runs
        // rows in the default session, must not take it either.
        assert!(!rows_only(&txn(vec![ins(1, 1 | RowsChange::NO_CHECK_CONSTRAINT_CHECKS_F)])));
        // Checks left off at the end are turned back on; the row-by-row plan does the same.
        let off = txn(vec![del(1, 2)]);
        for style in [PlanStyle::Batched, PlanStyle::RowByRow] {
            let sql: Vec<String> = builder().plan(&off, style).unwrap().into_iter().map(|s| s.sql).collect();
            assert_eq!(sql, vec!["SET SESSION foreign_key_checks=0", "DELETE FROM `s`.`t``x` WHERE `id` = 1", "SET SESSION foreign_key_checks=1"]);
        }
        // A statement event sets its own session: the row flags are put back before it.
        let q = Change::Query(QueryEvent { query: "DO 1".into(), ..Default::default() });
        let sql: Vec<String> = builder().plan(&txn(vec![del(1, 2), q]), PlanStyle::Batched).unwrap().iter().map(Stmt::shown).collect();
        assert_eq!(
            sql,
            vec![
                "SET SESSION foreign_key_checks=0",
                "DELETE FROM `s`.`t``x` WHERE `id` = 1",
                "SET SESSION foreign_key_checks=1",
                "SET SESSION character_set_client=@@GLOBAL.character_set_client",
                "DO 1",
                &Stmt::session(SESSION_DEFAULTS.to_string()).shown()
            ]
        );
    }

    #[test]
    fn an_enum_error_value_is_written_without_strict_mode_and_only_that_row() {
        let mut t = (*table(vec![0])).clone();
        t.columns[2] = col("e", 247, Some(45));
        let t = Arc::new(t);
        let ins = |id: i64, e: u16| RowChange { before: None, after: Some(row(vec![Value::Int(id), Value::Null, Value::Enum(e)])) };
        let rc = RowsChange { raw: None, table: t, kind: RowKind::Insert, rows: vec![ins(1, 1), ins(2, 0), ins(3, 2)], flags: 0 };
        let changes = txn(vec![Change::Rows(rc)]);
        let sql: Vec<String> = builder().plan(&changes, PlanStyle::Batched).unwrap().into_iter().map(|s| s.sql).collect();
        assert_eq!(
            sql,
            vec![
                "INSERT INTO `s`.`t``x` (`id`,`name`,`e`) VALUES (1,NULL,1)",
                "SET SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES'",
                "INSERT INTO `s`.`t``x` (`id`,`name`,`e`) VALUES (2,NULL,0)",
                "SET SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,ALLOW_INVALID_DATES'",
                "INSERT INTO `s`.`t``x` (`id`,`name`,`e`) VALUES (3,NULL,2)",
            ]
        );
        assert!(!rows_only(&changes));
        assert!(SESSION_DEFAULTS.contains(&format!("sql_mode='{ROW_SQL_MODE}'")));
    }

    #[test]
    fn missing_column_names_is_an_error_naming_the_table() {
        let mut t = (*table(vec![0])).clone();
        t.columns[1].name = None;
        let rc = RowsChange { raw: None, table: Arc::new(t), kind: RowKind::Insert, rows: vec![RowChange { before: None, after: Some(row(vec![Value::Int(1), Value::Null, Value::Null])) }], flags: 0 };
        let e = builder().plan(&txn(vec![Change::Rows(rc)]), PlanStyle::Batched).unwrap_err().to_string();
        assert_eq!(e, "table `s`.`t`x`: no column names (not in the TABLE_MAP, whose binlog_row_metadata is not FULL, and not mapped onto the target's table)");
    }

    #[test]
    fn literals_for_every_value_kind() {
        let t = table(vec![0]);
        let b = builder();
        let lit = |v: Value, idx: usize| {
            let mut s = String::new();
            b.literal(&t, idx, &v, &mut s).unwrap();
            s
        };
        assert_eq!(lit(Value::UInt(u64::MAX), 0), "18446744073709551615");
        assert_eq!(lit(Value::Int(i64::MIN), 0), "-9223372036854775808");
        assert_eq!(lit(Value::Decimal("-12.3400".into()), 0), "-12.3400");
        assert_eq!(lit(Value::Float(0.1), 0), "1.0000000149011612e-1");
        assert_eq!(lit(Value::Double(-2.5), 0), "-2.5e0");
        assert_eq!(lit(Value::Year(0), 0), "0");
        assert_eq!(lit(Value::Date { year: 0, month: 0, day: 0 }, 0), "'0000-00-00'");
        assert_eq!(lit(Value::Time { negative: true, hours: 838, minutes: 59, seconds: 58, micros: 999_999 }, 0), "'-838:59:58.999999'");
        assert_eq!(lit(Value::Time { negative: true, hours: 0, minutes: 0, seconds: 0, micros: 100_000 }, 0), "'-00:00:00.100000'");
        assert_eq!(
            lit(Value::DateTime { year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, micros: 5 }, 0),
            "'9999-12-31 23:59:59.000005'"
        );
        assert_eq!(lit(Value::Timestamp { secs: 2_147_483_647, micros: 999_999 }, 0), "'2038-01-19 03:14:07.999999'");
        assert_eq!(lit(Value::Timestamp { secs: 951_782_400, micros: 0 }, 0), "'2000-02-29 00:00:00.000000'");
        assert_eq!(lit(Value::Timestamp { secs: 0, micros: 0 }, 0), "'0000-00-00 00:00:00'");
        assert_eq!(lit(Value::Bit { value: u64::MAX, bits: 64 }, 0), "18446744073709551615");
        assert_eq!(lit(Value::Enum(2), 0), "2");
        assert_eq!(lit(Value::Set(5), 0), "5");
        assert_eq!(lit(Value::Json("{\"a\":1}".into()), 0), "_utf8mb4 X'7B2261223A317D'");
        assert_eq!(lit(Value::Vector(vec![1.0]), 0), "X'0000803F'");
        assert_eq!(lit(Value::Geometry(vec![0, 1]), 0), "X'0001'");
        // Unknown collation: plain hex (a binary string) is still exact on insert.
        let mut t2 = (*t).clone();
        t2.columns[1].collation = Some(9999);
        let mut s = String::new();
        b.literal(&t2, 1, &Value::Bytes(b"a".to_vec()), &mut s).unwrap();
        assert_eq!(s, "X'61'");
    }

    #[test]
    fn bad_values_are_errors_naming_the_column() {
        let t = table(vec![0]);
        let mut s = String::new();
        let e = builder().literal(&t, 1, &Value::Double(f64::NAN), &mut s).unwrap_err().to_string();
        assert_eq!(e, "table `s`.`t`x` column `name`: non-finite DOUBLE NaN");
        let e = builder().literal(&t, 0, &Value::Decimal("1;DROP".into()), &mut s).unwrap_err().to_string();
        assert!(e.starts_with("table `s`.`t`x` column `id`: malformed DECIMAL"), "{e}");
    }

    /// What each planned statement sends: built SQL as is, a logged statement as `<logged: hex>`.
    fn sent(stmts: &[Stmt]) -> Vec<String> {
        stmts
            .iter()
            .map(|s| match &s.kind {
                StmtKind::Logged(bytes) => format!("<logged: {}>", bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()),
                _ => s.sql.clone(),
            })
            .collect()
    }

    #[test]
    fn database_ddl_runs_without_use() {
        let q = QueryEvent { schema: "newdb".into(), query: "/* x */ create  database newdb".into(), ..Default::default() };
        let stmts = builder().plan(&txn(vec![Change::Query(q)]), PlanStyle::Batched).unwrap();
        assert_eq!(
            sent(&stmts),
            vec![
                "SET SESSION character_set_client=@@GLOBAL.character_set_client".to_string(),
                "<logged: 2F2A2078202A2F2063726561746520206461746162617365206E65776462>".into(),
                SESSION_DEFAULTS.into()
            ]
        );
    }

    #[test]
    fn query_event_runs_with_its_context_then_restores_defaults() {
        let q = QueryEvent {
            schema: "db".into(),
            query: "CREATE TABLE x (a INT)".into(),
            sql_mode: Some(1 << 21),
            charset: Some((45, 45, 8)),
            time_zone: Some("SYSTEM".into()),
            auto_increment: Some((2, 1)),
            flags2: Some(OPTION_NO_FOREIGN_KEY_CHECKS),
            ..Default::default()
        };
        let stmts = builder().plan(&txn(vec![Change::Query(q.clone())]), PlanStyle::Batched).unwrap();
        assert_eq!(
            sent(&stmts),
            vec![
                "USE `db`".to_string(),
                "SET SESSION sql_mode=2097152, character_set_client=45, collation_connection=45, collation_server=8, time_zone='SYSTEM', auto_increment_increment=2, auto_increment_offset=1, foreign_key_checks=0, unique_checks=1, sql_auto_is_null=0 /*M!100201 , check_constraint_checks=1 */ /*M!100500 , sql_if_exists=0 */ /*M!100108 , explicit_defaults_for_timestamp=0 */".into(),
                "<logged: 435245415445205441424C45207820286120494E5429>".into(),
                SESSION_DEFAULTS.into(),
            ]
        );
        // MySQL 8's utf8mb4_0900_ai_ci (255) on a MariaDB target: utf8mb4 by name; a connection
        // or server collation nobody knows is left at the session default.
        let mysql8 = QueryEvent { charset: Some((255, 255, 999)), auto_increment: None, ..q.clone() };
        let stmts = builder().plan(&txn(vec![Change::Query(mysql8)]), PlanStyle::Batched).unwrap();
        assert_eq!(
            stmts[1].sql,
            "SET SESSION sql_mode=2097152, character_set_client='utf8mb4', collation_connection='utf8mb4_general_ci', time_zone='SYSTEM', foreign_key_checks=0, unique_checks=1, sql_auto_is_null=0 /*M!100201 , check_constraint_checks=1 */ /*M!100500 , sql_if_exists=0 */ /*M!100108 , explicit_defaults_for_timestamp=0 */"
        );
        // MariaDB's other flags2 options and the locale, as the native replica takes them:
        // sql_auto_is_null (1 << 14), check_constraint_checks off (1 << 15),
        // explicit_defaults_for_timestamp (1 << 24), sql_if_exists (1 << 28).
        let flags = QueryEvent { flags2: Some((1 << 14) | (1 << 15) | (1 << 24) | (1 << 28)), lc_time_names: Some(4), auto_increment: None, time_zone: None, charset: None, ..q.clone() };
        let stmts = builder().plan(&txn(vec![Change::Query(flags)]), PlanStyle::Batched).unwrap();
        assert_eq!(
            stmts[1].sql,
            "SET SESSION sql_mode=2097152, character_set_client=@@GLOBAL.character_set_client, foreign_key_checks=1, unique_checks=1, sql_auto_is_null=1, lc_time_names=4 /*M!100201 , check_constraint_checks=0 */ /*M!100500 , sql_if_exists=1 */ /*M!100108 , explicit_defaults_for_timestamp=1 */"
        );
        // A client charset nobody knows: ASCII text reads the same in any of them and runs;
        // anything else is refused, naming the collation id.
        let unknown = QueryEvent { charset: Some((999, 45, 8)), ..q.clone() };
        assert!(builder().plan(&txn(vec![Change::Query(unknown.clone())]), PlanStyle::Batched).is_ok());
        let unknown = QueryEvent { query: b"CREATE TABLE x (a INT) COMMENT '\x95\\'".to_vec(), ..unknown };
        let err = builder().plan(&txn(vec![Change::Query(unknown)]), PlanStyle::Batched).unwrap_err();
        assert!(err.to_string().starts_with("statement logged in client charset (collation id 999) that the target does not know"), "{err}");
    }

    /// The logged bytes reach the plan unchanged, whatever they are as UTF-8: an sjis statement
    /// whose string ends in 0x95 0x5C is not re-encoded (as UTF-8 with a replacement character,
    /// the 0x5C would then escape the closing quote).
    #[test]
    fn statement_bytes_are_kept_exactly_as_logged() {
        let bytes = b"CREATE TABLE t (b VARCHAR(5) COMMENT '\x95\x5c', c VARCHAR(9) DEFAULT '); DROP TABLE u; -- ')".to_vec();
        let q = QueryEvent { query: bytes.clone(), charset: Some((13, 13, 8)), ..Default::default() };
        let stmts = builder().plan(&txn(vec![Change::Query(q)]), PlanStyle::Batched).unwrap();
        let logged: Vec<&[u8]> = stmts.iter().filter_map(|s| if let StmtKind::Logged(b) = &s.kind { Some(&b[..]) } else { None }).collect();
        assert_eq!(logged, vec![&bytes[..]]);
        // Built statements around it never carry any of its text.
        assert!(stmts.iter().all(|s| !s.sql.contains("DROP")));
    }

    /// A logged DROP TABLE runs as DROP TABLE IF EXISTS (sql_if_exists=1), as MariaDB's replica
    /// runs it under slave_ddl_exec_mode=IDEMPOTENT; other statements keep the logged flag.
    #[test]
    fn drop_table_runs_with_if_exists_like_the_idempotent_replica() {
        let session = |text: &str| {
            let q = QueryEvent { query: text.as_bytes().to_vec(), flags2: Some(0), ..Default::default() };
            builder().plan(&txn(vec![Change::Query(q)]), PlanStyle::Batched).unwrap().iter().map(|s| s.sql.clone()).find(|s| s.starts_with("SET SESSION sql_auto") || s.contains("sql_if_exists")).unwrap_or_default()
        };
        assert!(session("DROP TABLE `a`,`missing` /* generated by server */").contains("sql_if_exists=1 */"));
        assert!(session("/* c */ drop temporary table t").contains("sql_if_exists=1 */"));
        assert!(session("DROP VIEW v").contains("sql_if_exists=0 */"));
        assert!(session("INSERT INTO t VALUES ('DROP TABLE x')").contains("sql_if_exists=0 */"));
    }

    /// A statement logged with the error it ended in carries that code to the worker, which
    /// accepts the same error from the target (and only that one); others expect none.
    #[test]
    fn a_statement_logged_with_an_error_expects_it() {
        let q = QueryEvent { query: b"INSERT INTO m VALUES (5), (1), (6)".to_vec(), error_code: 1062, ..Default::default() };
        let stmts = builder().plan(&txn(vec![Change::Query(q)]), PlanStyle::Batched).unwrap();
        let expected: Vec<(bool, u16)> = stmts.iter().map(|s| (matches!(s.kind, StmtKind::Logged(_)), s.expected_error)).collect();
        assert!(expected.contains(&(true, 1062)), "{expected:?}");
        assert!(expected.iter().all(|&(logged, code)| logged || code == 0), "{expected:?}");
    }

    /// Every quoted literal in `sql` is hex (`X'..'`) or plain text of characters that cannot
    /// end or escape a literal in any charset; backtick identifiers are skipped. A source value
    /// never reaches the target as quoted text (DESIGN: values are exact, typed literals).
    fn literals_are_inert(sql: &str) -> Result<(), String> {
        let b = sql.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'`' => {
                    i += 1;
                    while i < b.len() {
                        if b[i] == b'`' {
                            if b.get(i + 1) == Some(&b'`') {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'\'' => {
                    let hex = i > 0 && b[i - 1] == b'X' && (i < 2 || !b[i - 2].is_ascii_alphanumeric() && b[i - 2] != b'_');
                    let end = b[i + 1..].iter().position(|&c| c == b'\'').map(|p| i + 1 + p).ok_or_else(|| format!("unterminated literal at {i}: {sql}"))?;
                    let body = &b[i + 1..end];
                    let ok = if hex { body.iter().all(u8::is_ascii_hexdigit) } else { body.iter().all(|c| c.is_ascii_alphanumeric() || b" +-:_./$[]".contains(c)) };
                    // A quote right after the closing one is an escaped quote inside the text.
                    if !ok || b.get(end + 1) == Some(&b'\'') {
                        return Err(format!("literal {:?} at {i} is neither hex nor inert text: {sql}", String::from_utf8_lossy(body)));
                    }
                    i = end + 1;
                }
                b'\\' | b'"' => return Err(format!("{:?} outside a literal at {i}: {sql}", b[i] as char)),
                _ => i += 1,
            }
        }
        Ok(())
    }

    #[test]
    fn the_inert_literal_check_catches_quoted_text() {
        assert!(literals_are_inert("INSERT INTO `a'b` VALUES (X'00FF','2026-01-01 00:00:00.000000',_utf8mb4 X'27')").is_ok());
        assert!(literals_are_inert("INSERT INTO t VALUES ('it''s')").is_err());
        assert!(literals_are_inert("INSERT INTO t VALUES (X'0G')").is_err());
        assert!(literals_are_inert("SET @v:='\\'").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever bytes the source logged, the SQL built for them (rows in both plan styles,
        /// their overwrite alternatives, user variables) carries them as hex or typed literals.
        #[test]
        fn built_sql_carries_source_values_only_as_hex_or_typed_literals(
            text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            blob in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            json in ".{0,16}",
            name in ".{0,8}",
            id in proptest::prelude::any::<i64>(),
            user_str in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16),
        ) {
            let t = Arc::new(TableMap {
                table_id: 1,
                schema: format!("s'{name}"),
                table: format!("t`{name}"),
                columns: vec![col("id", 8, None), col(&format!("n'{name}"), 15, Some(13)), col("raw", 252, Some(63)), col("j", 245, Some(45)), col("l", 15, Some(8))],
                primary_key: vec![0],
                has_full_metadata: true,
                system_versioned: false,
                sequence: false,
            });
            let image = |id: i64| row(vec![Value::Int(id), Value::Bytes(text.clone()), Value::Bytes(blob.clone()), Value::Json(json.clone()), Value::Bytes(text.clone())]);
            let rows = |kind: RowKind, before: bool, after: bool| Change::Rows(RowsChange { raw: None,
                table: t.clone(),
                kind,
                flags: 0,
                rows: vec![RowChange { before: before.then(|| image(id)), after: after.then(|| image(id.wrapping_add(1))) }],
            });
            let ctx = Change::Context(StatementContext::UserVar { name: name.clone(), value: Some(UserValue::Str { bytes: user_str.clone(), collation: 13 }) });
            let tx = txn(vec![ctx, rows(RowKind::Insert, false, true), rows(RowKind::Update, true, true), rows(RowKind::Delete, true, false)]);
            for style in [PlanStyle::Batched, PlanStyle::RowByRow] {
                for s in builder().plan(&tx, style).unwrap() {
                    proptest::prop_assert!(literals_are_inert(&s.sql).is_ok(), "{:?}", literals_are_inert(&s.sql));
                    if let Some(o) = &s.overwrite_sql {
                        proptest::prop_assert!(literals_are_inert(o).is_ok(), "{:?}", literals_are_inert(o));
                    }
                }
            }
        }
    }

    /// An event the applier cannot apply stops the plan, naming it; it was skipped before
    /// (statement-based LOAD DATA then lost its rows while its GTID was recorded).
    #[test]
    fn opaque_events_are_refused_not_skipped() {
        let tx = txn(vec![Change::Opaque { event_type: 6, what: "LOAD (pre-5.0)".into() }]);
        let err = builder().plan(&tx, PlanStyle::Batched).unwrap_err();
        assert_eq!(err.to_string(), "event type 6 cannot be applied (LOAD (pre-5.0)): stopping rather than skipping it");
        assert!(!rows_only(&tx), "the coalescer must not take it either");
    }

    /// LOAD DATA: the logged statement with its file-name part replaced by a LOCAL INFILE the
    /// worker serves the logged bytes for, and the duplicate handling the source logged.
    #[test]
    fn load_data_reads_the_logged_file_through_local_infile() {
        let q = b"LOAD DATA LOCAL INFILE '/tmp/ld.csv' REPLACE INTO TABLE `d`.`t` FIELDS TERMINATED BY ','";
        let load = crate::decode::event::LoadQuery {
            query: QueryEvent { query: q.to_vec(), charset: Some((45, 45, 8)), ..Default::default() },
            file_id: 1,
            fn_pos_start: 9,
            fn_pos_end: 49,
            dup_handling: 2,
        };
        let data: Arc<[u8]> = Arc::from(&b"1,a\n"[..]);
        let stmts = builder().plan(&txn(vec![Change::Load(LoadData { load, data: data.clone() })]), PlanStyle::Batched).unwrap();
        let loads: Vec<_> = stmts.iter().filter_map(|s| if let StmtKind::LoadData { sql, data } = &s.kind { Some((String::from_utf8_lossy(sql).into_owned(), data.clone())) } else { None }).collect();
        assert_eq!(loads, vec![("LOAD DATA LOCAL INFILE 'parapply-load-data' REPLACE INTO TABLE `d`.`t` FIELDS TERMINATED BY ','".to_string(), data)]);
        assert_eq!(stmts.first().map(|s| s.sql.as_str()), Some("SET SESSION character_set_client=45, collation_connection=45, collation_server=8"));
    }
}
