//! `parapply inspect`: binlog contents one TRANSACTION per line (where mysqlbinlog prints one
//! event per paragraph), then a summary.
//!
//! Owns the output formats (text and JSON Lines) and the summary. It wires
//! [`crate::source::file::BinlogFiles`] into [`crate::txn::TransactionReader`] and must not parse
//! bytes or group events itself. `--source` reads a live master through
//! [`crate::source::stream::BlockingTransactions`]; both feed [`print_transactions`].
//!
//! # Output (text)
//! ```text
//! 0-1-2 cid=345 f2=0x0e 2024-01-02T03:04:05.000000Z sid=1 db.t1,db.t2 +3 ~1 -0 1234B binlog.000001:256-1490
//! ```
//! Fields: GTID (`-` when the file has none), commit dependencies (`lc=LAST/SEQ` for MySQL's
//! logical clock, `cid=ID|- f2=0xFLAGS` for MariaDB, `-` when the source recorded none), commit
//! time (UTC, microseconds), origin server_id, tables touched by row events, rows inserted /
//! updated / deleted, bytes of binlog, and `file:start-end` (end is where the next transaction
//! starts). Then, when they apply: `ddl="CREATE TABLE"` (the statement's first words only:
//! statements can carry passwords), `q=N` statement-based statements, `opaque=N` context events
//! the applier cannot see into, `end=rollback|xa-prepare`. Summary lines start with `#`.
//!
//! Row values are personal data: `--rows` lists row changes with values redacted unless
//! `--show-values` is given.

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::Context;

use crate::cli::InspectArgs;
use crate::config::Endpoint;
use crate::decode::event::{TableMap, UserValue};
use crate::decode::value::{Row, Value};
use crate::source::file::BinlogFiles;
use crate::source::stream::{BlockingTransactions, StartPosition, StreamOptions};
use crate::txn::{Change, CommitDeps, RowKind, StatementContext, Transaction, TransactionReader, TxnEnd};

/// Output options, from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub json: bool,
    pub rows: bool,
    pub show_values: bool,
    pub limit: Option<u64>,
}

/// Entry point for `parapply inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<i32> {
    let opts = Options { json: args.json, rows: args.rows, show_values: args.show_values, limit: args.limit };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if let Some(url) = &args.source {
        let result = inspect_live(url, args, &mut out, opts);
        return finish(result, out);
    }
    let files = BinlogFiles::open(&args.files)?.verify_checksum(!args.no_verify_checksum);
    let mut reader = TransactionReader::new(files);
    let result = print_transactions(&mut reader, &mut out, opts, false).and_then(|mut summary| {
        summary.events = reader.stats().events;
        summary.files = reader.source().files_opened() as u64;
        write_summary(&mut out, &summary, opts)
    });
    finish(result, out)
}

/// `--source`: transactions from a live master through [`BlockingTransactions`] (which owns
/// positioning, heartbeats and reconnects). Output is flushed after every transaction, since a
/// live stream does not end by itself: the summary is printed when `--limit` is reached.
fn inspect_live<W: Write>(url: &str, args: &InspectArgs, out: &mut W, opts: Options) -> anyhow::Result<()> {
    let endpoint = Endpoint::from_cli_url(url, "--source", "PARAPPLY_SOURCE_PASSWORD")?;
    let mut stream_opts = StreamOptions::new(endpoint, args.server_id);
    // A person is waiting at the terminal: fail fast instead of retrying forever.
    stream_opts.max_attempts = Some(3);
    stream_opts.verify_checksum = !args.no_verify_checksum;
    let start = StartPosition::parse(args.from.as_deref().unwrap_or(""))?;
    let mut txns = BlockingTransactions::start(stream_opts, start, 1024)?;
    let mut summary = print_transactions(&mut txns, out, opts, true)?;
    let stats = txns.stats().snapshot();
    summary.events = stats.events;
    write_summary(out, &summary, opts)
}

/// Flush, and treat a closed stdout (`| head`) as success rather than an error.
fn finish<W: Write>(result: anyhow::Result<()>, mut out: W) -> anyhow::Result<i32> {
    let flushed = out.flush();
    let broken_pipe = |e: &anyhow::Error| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe);
    match result {
        Err(e) if broken_pipe(&e) => Ok(0),
        Err(e) => Err(e),
        Ok(()) => match flushed {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
            Err(e) => Err(e).context("writing to stdout"),
            Ok(()) => Ok(0),
        },
    }
}

/// Print every transaction from `txns` (binlog files through a [`TransactionReader`], or a live
/// stream) up to `opts.limit`, and return the totals; the caller adds event and file counts and
/// prints the summary with [`write_summary`]. Transactions before an error are printed (and
/// flushed); the error is returned. `flush_each` flushes after every transaction (live input).
pub fn print_transactions<T, E, W>(txns: &mut T, out: &mut W, opts: Options, flush_each: bool) -> anyhow::Result<Summary>
where
    T: Iterator<Item = Result<Transaction, E>>,
    E: std::error::Error + Send + Sync + 'static,
    W: Write,
{
    let mut summary = Summary::default();
    let mut line = String::with_capacity(256);
    while opts.limit.is_none_or(|l| summary.transactions < l) {
        let Some(next) = txns.next() else { break };
        let txn = match next {
            Ok(t) => t,
            Err(e) => {
                out.flush()?;
                return Err(anyhow::Error::new(e));
            }
        };
        summary.add(&txn);
        line.clear();
        if opts.json {
            let v = txn_json(&txn, opts);
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")?;
        } else {
            format_txn_line(&txn, &mut line);
            if opts.rows {
                format_changes(&txn, opts.show_values, &mut line);
            }
            out.write_all(line.as_bytes())?;
        }
        if flush_each {
            out.flush()?;
        }
    }
    Ok(summary)
}

/// The summary: `# ...` lines, or one JSON object with `"summary": true`.
pub fn write_summary<W: Write>(out: &mut W, summary: &Summary, opts: Options) -> anyhow::Result<()> {
    if opts.json {
        serde_json::to_writer(&mut *out, &summary.json())?;
        out.write_all(b"\n")?;
    } else {
        let mut text = String::new();
        summary.format_text(&mut text);
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One transaction
// ---------------------------------------------------------------------------------------------

use std::fmt::Write as _;

fn gtid_or_dash(txn: &Transaction) -> String {
    txn.gtid.as_ref().map(|g| g.to_string()).unwrap_or_else(|| "-".to_string())
}

/// `lc=12/13`, `cid=345 f2=0x0e`, `cid=- f2=0x0c` or `-`.
pub fn format_deps(deps: &CommitDeps, out: &mut String) {
    match deps {
        CommitDeps::None => out.push('-'),
        CommitDeps::LogicalClock { last_committed, sequence_number } => {
            let _ = write!(out, "lc={last_committed}/{sequence_number}");
        }
        CommitDeps::Mariadb { commit_id: Some(c), flags2 } => {
            let _ = write!(out, "cid={c} f2=0x{flags2:02x}");
        }
        CommitDeps::Mariadb { commit_id: None, flags2 } => {
            let _ = write!(out, "cid=- f2=0x{flags2:02x}");
        }
    }
}

/// Tables touched by row events, in first-touch order, without cloning names.
fn touched_tables(txn: &Transaction) -> Vec<&TableMap> {
    let mut out: Vec<&TableMap> = Vec::new();
    for c in &txn.changes {
        if let Change::Rows(r) = c {
            let t: &TableMap = &r.table;
            if !out.iter().any(|o| o.schema == t.schema && o.table == t.table) {
                out.push(t);
            }
        }
    }
    out
}

fn statement_counts(txn: &Transaction) -> (usize, usize) {
    let mut queries = 0;
    let mut opaque = 0;
    for c in &txn.changes {
        match c {
            Change::Query(_) | Change::Load(_) => queries += 1,
            Change::Opaque { .. } | Change::Context(_) => opaque += 1,
            Change::Rows(_) => {}
        }
    }
    (queries, opaque)
}

/// The first two words of the first DDL statement: enough to say what it was, never a value
/// or a password.
fn ddl_words(txn: &Transaction) -> Option<String> {
    if !txn.is_ddl {
        return None;
    }
    txn.changes.iter().find_map(|c| match c {
        Change::Query(q) => {
            let text = q.text();
            let mut s = text.trim_start();
            while let Some(rest) = s.strip_prefix("/*") {
                s = rest.find("*/").map(|e| rest[e + 2..].trim_start()).unwrap_or("");
            }
            let words: Vec<String> = s
                .split_whitespace()
                .take(2)
                .map(|w| w.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>().to_ascii_uppercase())
                .filter(|w| !w.is_empty())
                .collect();
            Some(words.join(" "))
        }
        _ => None,
    })
}

fn end_name(end: TxnEnd) -> &'static str {
    match end {
        TxnEnd::Xid => "xid",
        TxnEnd::Commit => "commit",
        TxnEnd::XaPrepare => "xa-prepare",
        TxnEnd::Rollback => "rollback",
    }
}

/// One text line (with the trailing newline).
pub fn format_txn_line(txn: &Transaction, out: &mut String) {
    match &txn.gtid {
        Some(g) => {
            let _ = write!(out, "{g}");
        }
        None => out.push('-'),
    }
    out.push(' ');
    format_deps(&txn.deps, out);
    out.push(' ');
    format_time_us(txn.commit_time_us, out);
    let _ = write!(out, " sid={} ", txn.server_id);
    let tables = touched_tables(txn);
    if tables.is_empty() {
        out.push('-');
    }
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}.{}", t.schema, t.table);
    }
    let (ins, upd, del) = txn.row_counts();
    let _ = write!(out, " +{ins} ~{upd} -{del} {}B {}:{}-", txn.size, txn.pos.file, txn.pos.start);
    // A relay-log transaction split by the replica's relay-log rotation ends in a later file.
    if !txn.pos.end_file.is_empty() && txn.pos.end_file != txn.pos.file {
        let _ = write!(out, "{}:", txn.pos.end_file);
    }
    let _ = write!(out, "{}", txn.pos.end);
    if let Some(w) = ddl_words(txn) {
        let _ = write!(out, " ddl=\"{w}\"");
    }
    let (queries, opaque) = statement_counts(txn);
    let queries = if txn.is_ddl { queries.saturating_sub(1) } else { queries };
    if queries > 0 {
        let _ = write!(out, " q={queries}");
    }
    if opaque > 0 {
        let _ = write!(out, " opaque={opaque}");
    }
    if matches!(txn.end, TxnEnd::Rollback | TxnEnd::XaPrepare) {
        let _ = write!(out, " end={}", end_name(txn.end));
    }
    out.push('\n');
}

/// The `--rows` lines under a transaction: `  + db.t [3 cols]` (redacted) or
/// `  ~ db.t (1, 'a') -> (1, 'b')` with `--show-values`.
pub fn format_changes(txn: &Transaction, show_values: bool, out: &mut String) {
    for c in &txn.changes {
        match c {
            Change::Rows(r) => {
                let sign = match r.kind {
                    RowKind::Insert => '+',
                    RowKind::Update => '~',
                    RowKind::Delete => '-',
                };
                for row in &r.rows {
                    let _ = write!(out, "  {sign} {}.{} ", r.table.schema, r.table.table);
                    let images: Vec<&Row> = row.before.iter().chain(row.after.iter()).collect();
                    for (i, img) in images.iter().enumerate() {
                        if i > 0 {
                            out.push_str(" -> ");
                        }
                        if show_values {
                            format_row(img, out);
                        } else {
                            let present = img.cols.iter().filter(|c| c.is_some()).count();
                            let _ = write!(out, "[{present} cols]");
                        }
                    }
                    out.push('\n');
                }
            }
            Change::Query(q) => {
                if show_values {
                    let _ = writeln!(out, "  q {}: {}", if q.schema.is_empty() { "-" } else { &q.schema }, one_line(&q.text()));
                } else {
                    let _ = writeln!(out, "  q {}: [{} bytes]", if q.schema.is_empty() { "-" } else { &q.schema }, q.query.len());
                }
            }
            Change::Load(l) => {
                let q = &l.load.query;
                if show_values {
                    let _ = writeln!(out, "  load {}: {} ({} bytes of file)", if q.schema.is_empty() { "-" } else { &q.schema }, one_line(&q.text()), l.data.len());
                } else {
                    let _ = writeln!(out, "  load {}: [{} bytes, {} bytes of file]", if q.schema.is_empty() { "-" } else { &q.schema }, q.query.len(), l.data.len());
                }
            }
            Change::Opaque { event_type, what } => {
                if show_values {
                    let _ = writeln!(out, "  ? {what}");
                } else {
                    let _ = writeln!(out, "  ? event type {event_type}");
                }
            }
            Change::Context(ctx) => {
                let _ = writeln!(out, "  = {}", context_text(ctx, show_values));
            }
        }
    }
}

/// A statement's session context (INTVAR/RAND/USER_VAR) as mysqlbinlog names it; a user
/// variable's value only with `show_values` (it may be row data).
fn context_text(ctx: &StatementContext, show_values: bool) -> String {
    match ctx {
        StatementContext::InsertId(n) => format!("INSERT_ID={n}"),
        StatementContext::LastInsertId(n) => format!("LAST_INSERT_ID={n}"),
        StatementContext::Rand { seed1, seed2 } => format!("RAND_SEED1={seed1}, RAND_SEED2={seed2}"),
        StatementContext::UserVar { name, value } if show_values => match value {
            None => format!("@{name}=NULL"),
            Some(UserValue::Int { value, unsigned: true }) => format!("@{name}={}", *value as u64),
            Some(UserValue::Int { value, .. }) => format!("@{name}={value}"),
            Some(UserValue::Real(f)) => format!("@{name}={f:e}"),
            Some(UserValue::Decimal(d)) => format!("@{name}={d}"),
            Some(UserValue::Str { bytes, collation }) => format!("@{name}={:?} (collation {collation})", String::from_utf8_lossy(bytes)),
        },
        StatementContext::UserVar { name, .. } => format!("@{name}"),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn format_row(row: &Row, out: &mut String) {
    out.push('(');
    for (i, col) in row.cols.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match col {
            None => out.push('-'),
            // As mysqlbinlog shows a partial JSON update: the diffs applied to the old value @N.
            Some(Value::JsonDiff(d)) => crate::decode::value::write_json_diff(d, &format!("@{}", i + 1), out),
            Some(v) => format_value(v, out),
        }
    }
    out.push(')');
}

/// Longest string or blob shown in full; longer ones are cut and their length given.
const MAX_SHOWN_BYTES: usize = 256;

/// A value as SQL-ish text: numbers bare, strings quoted, binary as hex.
pub fn format_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Double(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Decimal(s) => out.push_str(s),
        Value::Year(y) => {
            let _ = write!(out, "{y}");
        }
        Value::Date { year, month, day } => {
            let _ = write!(out, "'{year:04}-{month:02}-{day:02}'");
        }
        Value::Time { negative, hours, minutes, seconds, micros } => {
            let _ = write!(out, "'{}{hours:02}:{minutes:02}:{seconds:02}", if *negative { "-" } else { "" });
            if *micros > 0 {
                let _ = write!(out, ".{micros:06}");
            }
            out.push('\'');
        }
        Value::DateTime { year, month, day, hour, minute, second, micros } => {
            let _ = write!(out, "'{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}");
            if *micros > 0 {
                let _ = write!(out, ".{micros:06}");
            }
            out.push('\'');
        }
        Value::Timestamp { secs, micros } => {
            out.push('\'');
            format_time_us(u64::from(*secs) * 1_000_000 + u64::from(*micros), out);
            out.push('\'');
        }
        Value::Bytes(b) => format_bytes(b, out),
        Value::Bit { value, bits } => {
            let _ = write!(out, "b'{value:0width$b}'", width = usize::from(*bits));
        }
        Value::Enum(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Set(s) => {
            let _ = write!(out, "{s}");
        }
        Value::Json(j) => {
            out.push('\'');
            out.push_str(&j.replace('\'', "''"));
            out.push('\'');
        }
        Value::Geometry(g) => format_hex(g, out),
        Value::Vector(v) => {
            let _ = write!(out, "{v:?}");
        }
        Value::JsonDiff(d) => crate::decode::value::write_json_diff(d, "@col", out),
    }
}

fn format_bytes(b: &[u8], out: &mut String) {
    // Cut long values at a character boundary so valid UTF-8 stays text.
    let text = std::str::from_utf8(b).ok().map(|s| {
        let mut cut = s.len().min(MAX_SHOWN_BYTES);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        &s[..cut]
    });
    match text {
        Some(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            out.push('\'');
            for ch in s.chars() {
                match ch {
                    '\'' => out.push_str("''"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
        _ => format_hex(&b[..b.len().min(MAX_SHOWN_BYTES)], out),
    }
    if b.len() > MAX_SHOWN_BYTES {
        let _ = write!(out, "...({} bytes)", b.len());
    }
}

fn format_hex(b: &[u8], out: &mut String) {
    out.push_str("0x");
    for byte in b {
        let _ = write!(out, "{byte:02x}");
    }
}

fn value_json(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::Double(d) => json!(d),
        Value::Year(y) => json!(y),
        Value::Enum(i) => json!(i),
        Value::Set(s) => json!(s),
        Value::Decimal(s) | Value::Json(s) => json!(s),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => json!(s),
            Err(_) => {
                let mut h = String::new();
                format_hex(b, &mut h);
                json!(h)
            }
        },
        Value::Geometry(b) => {
            let mut h = String::new();
            format_hex(b, &mut h);
            json!(h)
        }
        Value::Vector(v) => json!(v),
        // The diffs themselves (values as MySQL JSON text, like `Json`): a tool gets the change
        // even though the event did not carry the whole document.
        Value::JsonDiff(d) => json!({"json_diff": d.iter().map(|d| json!({
            "op": match d.op {
                crate::decode::json::JsonDiffOp::Replace => "replace",
                crate::decode::json::JsonDiffOp::Insert => "insert",
                crate::decode::json::JsonDiffOp::Remove => "remove",
            },
            "path": d.path,
            "value": d.value,
        })).collect::<Vec<_>>()}),
        other => {
            let mut s = String::new();
            format_value(other, &mut s);
            json!(s.trim_matches('\''))
        }
    }
}

fn row_json(row: &Row) -> serde_json::Value {
    serde_json::Value::Array(row.cols.iter().map(|c| c.as_ref().map(value_json).unwrap_or(serde_json::Value::Null)).collect())
}

/// The JSON object for one transaction.
pub fn txn_json(txn: &Transaction, opts: Options) -> serde_json::Value {
    use serde_json::json;
    let deps = match txn.deps {
        CommitDeps::None => serde_json::Value::Null,
        CommitDeps::LogicalClock { last_committed, sequence_number } => {
            json!({"last_committed": last_committed, "sequence_number": sequence_number})
        }
        CommitDeps::Mariadb { commit_id, flags2 } => json!({"commit_id": commit_id, "flags2": flags2}),
    };
    let mut time = String::new();
    format_time_us(txn.commit_time_us, &mut time);
    let tables: Vec<String> = touched_tables(txn).iter().map(|t| format!("{}.{}", t.schema, t.table)).collect();
    let (ins, upd, del) = txn.row_counts();
    let (queries, opaque) = statement_counts(txn);
    let mut v = json!({
        "gtid": txn.gtid.as_ref().map(|g| g.to_string()),
        "deps": deps,
        "commit_time": time,
        "commit_time_us": txn.commit_time_us,
        "server_id": txn.server_id,
        "thread_id": txn.thread_id,
        "tables": tables,
        "rows": {"insert": ins, "update": upd, "delete": del},
        "bytes": txn.size,
        "file": txn.pos.file,
        "start": txn.pos.start,
        "end": txn.pos.end,
        "end_kind": end_name(txn.end),
        "ddl": txn.is_ddl,
        "statements": queries,
        "opaque": opaque,
    });
    if let (Some(w), Some(obj)) = (ddl_words(txn), v.as_object_mut()) {
        obj.insert("ddl_statement".into(), json!(w));
    }
    if let (false, Some(obj)) = (txn.pos.end_file.is_empty() || txn.pos.end_file == txn.pos.file, v.as_object_mut()) {
        obj.insert("end_file".into(), json!(txn.pos.end_file));
    }
    if opts.rows {
        let mut changes = Vec::new();
        for c in &txn.changes {
            match c {
                Change::Rows(r) => {
                    let op = match r.kind {
                        RowKind::Insert => "insert",
                        RowKind::Update => "update",
                        RowKind::Delete => "delete",
                    };
                    for row in &r.rows {
                        let mut o = json!({"op": op, "table": format!("{}.{}", r.table.schema, r.table.table)});
                        if let Some(obj) = o.as_object_mut() {
                            for (name, img) in [("before", &row.before), ("after", &row.after)] {
                                if let Some(img) = img {
                                    let val = if opts.show_values {
                                        row_json(img)
                                    } else {
                                        json!({"cols": img.cols.iter().filter(|c| c.is_some()).count()})
                                    };
                                    obj.insert(name.into(), val);
                                }
                            }
                        }
                        changes.push(o);
                    }
                }
                Change::Query(q) => {
                    if opts.show_values {
                        changes.push(json!({"op": "query", "schema": q.schema, "query": q.text()}));
                    } else {
                        changes.push(json!({"op": "query", "schema": q.schema, "bytes": q.query.len()}));
                    }
                }
                Change::Context(ctx) => changes.push(json!({"op": "context", "set": context_text(ctx, opts.show_values)})),
                Change::Load(l) => {
                    let q = &l.load.query;
                    if opts.show_values {
                        changes.push(json!({"op": "load", "schema": q.schema, "query": q.text(), "file_bytes": l.data.len()}));
                    } else {
                        changes.push(json!({"op": "load", "schema": q.schema, "bytes": q.query.len(), "file_bytes": l.data.len()}));
                    }
                }
                Change::Opaque { event_type, what } => {
                    if opts.show_values {
                        changes.push(json!({"op": "opaque", "event_type": event_type, "what": what}));
                    } else {
                        changes.push(json!({"op": "opaque", "event_type": event_type}));
                    }
                }
            }
        }
        if let Some(obj) = v.as_object_mut() {
            obj.insert("changes".into(), serde_json::Value::Array(changes));
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

/// Microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC).
pub fn format_time_us(us: u64, out: &mut String) {
    crate::utc::push_datetime(out, (us / 1_000_000) as i64, 'T');
    let _ = write!(out, ".{:06}Z", us % 1_000_000);
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

/// Totals over every printed transaction.
#[derive(Debug, Default)]
pub struct Summary {
    pub transactions: u64,
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    pub bytes: u64,
    pub events: u64,
    pub files: u64,
    pub ddl: u64,
    pub first_gtid: Option<String>,
    pub last_gtid: Option<String>,
    pub min_time_us: Option<u64>,
    pub max_time_us: Option<u64>,
    /// schema -> table -> rows changed.
    tables: HashMap<String, HashMap<String, u64>>,
}

impl Summary {
    pub fn add(&mut self, txn: &Transaction) {
        self.transactions += 1;
        let (i, u, d) = txn.row_counts();
        self.inserts += i as u64;
        self.updates += u as u64;
        self.deletes += d as u64;
        self.bytes += txn.size;
        if txn.is_ddl {
            self.ddl += 1;
        }
        if txn.gtid.is_some() {
            if self.first_gtid.is_none() {
                self.first_gtid = Some(gtid_or_dash(txn));
            }
            self.last_gtid = Some(gtid_or_dash(txn));
        }
        if txn.commit_time_us > 0 {
            self.min_time_us = Some(self.min_time_us.map_or(txn.commit_time_us, |m| m.min(txn.commit_time_us)));
            self.max_time_us = Some(self.max_time_us.map_or(txn.commit_time_us, |m| m.max(txn.commit_time_us)));
        }
        for c in &txn.changes {
            if let Change::Rows(r) = c {
                let n = r.rows.len() as u64;
                // Look up by &str first so the common case allocates nothing.
                match self.tables.get_mut(r.table.schema.as_str()) {
                    Some(by_table) => match by_table.get_mut(r.table.table.as_str()) {
                        Some(count) => *count += n,
                        None => {
                            by_table.insert(r.table.table.clone(), n);
                        }
                    },
                    None => {
                        self.tables.entry(r.table.schema.clone()).or_default().insert(r.table.table.clone(), n);
                    }
                }
            }
        }
    }

    /// The ten tables with the most changed rows, most first (ties by name).
    pub fn top_tables(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .tables
            .iter()
            .flat_map(|(s, ts)| ts.iter().map(move |(t, n)| (format!("{s}.{t}"), *n)))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(10);
        all
    }

    fn span_seconds(&self) -> Option<f64> {
        match (self.min_time_us, self.max_time_us) {
            (Some(a), Some(b)) => Some((b - a) as f64 / 1e6),
            _ => None,
        }
    }

    pub fn format_text(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# summary: {} transactions ({} ddl), rows +{} ~{} -{}, {} bytes in transactions, {} events, {} files",
            self.transactions, self.ddl, self.inserts, self.updates, self.deletes, self.bytes, self.events, self.files
        );
        let _ = writeln!(
            out,
            "# gtids: {} .. {}",
            self.first_gtid.as_deref().unwrap_or("-"),
            self.last_gtid.as_deref().unwrap_or("-")
        );
        match (self.min_time_us, self.max_time_us, self.span_seconds()) {
            (Some(a), Some(b), Some(span)) => {
                out.push_str("# time: ");
                format_time_us(a, out);
                out.push_str(" .. ");
                format_time_us(b, out);
                let _ = writeln!(out, " ({span:.6} s)");
            }
            _ => out.push_str("# time: -\n"),
        }
        let top = self.top_tables();
        if top.is_empty() {
            out.push_str("# top tables by rows: -\n");
        } else {
            let list: Vec<String> = top.iter().map(|(t, n)| format!("{t} {n}")).collect();
            let _ = writeln!(out, "# top tables by rows: {}", list.join(", "));
        }
    }

    pub fn json(&self) -> serde_json::Value {
        let time = |t: Option<u64>| {
            t.map(|us| {
                let mut s = String::new();
                format_time_us(us, &mut s);
                s
            })
        };
        let top: Vec<serde_json::Value> =
            self.top_tables().into_iter().map(|(t, n)| serde_json::json!({"table": t, "rows": n})).collect();
        serde_json::json!({
            "summary": true,
            "transactions": self.transactions,
            "ddl": self.ddl,
            "rows": {"insert": self.inserts, "update": self.updates, "delete": self.deletes},
            "bytes": self.bytes,
            "events": self.events,
            "files": self.files,
            "first_gtid": self.first_gtid,
            "last_gtid": self.last_gtid,
            "first_commit_time": time(self.min_time_us),
            "last_commit_time": time(self.max_time_us),
            "span_seconds": self.span_seconds(),
            "top_tables": top,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{BinlogPos, Gtid, RowChange, RowsChange};
    use std::sync::Arc;

    #[test]
    fn time_is_utc_iso8601_with_micros() {
        let mut s = String::new();
        format_time_us(0, &mut s);
        assert_eq!(s, "1970-01-01T00:00:00.000000Z");
        s.clear();
        format_time_us(1_647_193_191_638_429, &mut s);
        assert_eq!(s, "2022-03-13T17:39:51.638429Z");
        s.clear();
        // 2000-02-29 (leap day, century divisible by 400) 23:59:59.999999
        format_time_us(951_868_799_999_999, &mut s);
        assert_eq!(s, "2000-02-29T23:59:59.999999Z");
    }

    fn sample() -> Transaction {
        let t1 = Arc::new(TableMap { schema: "db".into(), table: "t1".into(), ..Default::default() });
        let t2 = Arc::new(TableMap { schema: "db".into(), table: "t2".into(), ..Default::default() });
        let row = |v: Vec<Value>| Row { cols: v.into_iter().map(Some).collect() };
        Transaction {
            gtid: Some(Gtid::Mariadb { domain: 0, server_id: 1, seq: 2 }),
            deps: CommitDeps::Mariadb { commit_id: Some(345), flags2: 0x0e },
            commit_time_us: 1_704_164_645_000_001,
            server_id: 1,
            thread_id: Some(9),
            pos: BinlogPos { file: "binlog.000001".into(), start: 256, end: 1490, end_file: "binlog.000001".into() },
            size: 1234,
            changes: vec![
                Change::Rows(RowsChange { raw: None,
                    table: t1.clone(),
                    kind: RowKind::Insert,
                    rows: vec![RowChange { before: None, after: Some(row(vec![Value::Int(1), Value::Bytes(b"it's".to_vec())])) }],
                    flags: 0,
                }),
                Change::Rows(RowsChange { raw: None,
                    table: t2,
                    kind: RowKind::Update,
                    rows: vec![RowChange {
                        before: Some(row(vec![Value::UInt(7), Value::Null])),
                        after: Some(Row { cols: vec![Some(Value::UInt(7)), None] }),
                    }],
                    flags: 0,
                }),
                Change::Rows(RowsChange { raw: None,
                    table: t1,
                    kind: RowKind::Insert,
                    rows: vec![RowChange { before: None, after: Some(row(vec![Value::Int(2), Value::Bytes(vec![0, 1, 0xff])])) }],
                    flags: 0,
                }),
            ],
            end: TxnEnd::Xid,
            is_ddl: false,
            stream: None,
            xa: None,
        }
    }

    #[test]
    fn text_line_and_rows() {
        let t = sample();
        let mut s = String::new();
        format_txn_line(&t, &mut s);
        assert_eq!(s, "0-1-2 cid=345 f2=0x0e 2024-01-02T03:04:05.000001Z sid=1 db.t1,db.t2 +2 ~1 -0 1234B binlog.000001:256-1490\n");
        s.clear();
        format_changes(&t, false, &mut s);
        assert_eq!(s, "  + db.t1 [2 cols]\n  ~ db.t2 [2 cols] -> [1 cols]\n  + db.t1 [2 cols]\n");
        s.clear();
        format_changes(&t, true, &mut s);
        assert_eq!(s, "  + db.t1 (1, 'it''s')\n  ~ db.t2 (7, NULL) -> (7, -)\n  + db.t1 (2, 0x0001ff)\n");
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary() {
        let mut v = vec![b'a'; MAX_SHOWN_BYTES - 1];
        v.extend_from_slice("é and more".as_bytes());
        let mut s = String::new();
        format_bytes(&v, &mut s);
        assert_eq!(s, format!("'{}'...({} bytes)", "a".repeat(MAX_SHOWN_BYTES - 1), v.len()));
        s.clear();
        format_bytes(b"tab\there\n", &mut s);
        assert_eq!(s, "'tab\\there\\n'");
    }

    #[test]
    fn ddl_shows_first_words_only() {
        let t = Transaction {
            deps: CommitDeps::LogicalClock { last_committed: 12, sequence_number: 13 },
            changes: vec![Change::Query(crate::decode::event::QueryEvent {
                query: "/* c */ create user 'u'@'%' identified by 'secret'".into(),
                ..Default::default()
            })],
            is_ddl: true,
            end: TxnEnd::Commit,
            ..Default::default()
        };
        let mut s = String::new();
        format_txn_line(&t, &mut s);
        assert_eq!(s, "- lc=12/13 1970-01-01T00:00:00.000000Z sid=0 - +0 ~0 -0 0B :0-0 ddl=\"CREATE USER\"\n");
        assert!(!s.contains("secret"));
    }

    #[test]
    fn json_redacts_values_unless_asked() {
        let t = sample();
        let v = txn_json(&t, Options { rows: true, ..Default::default() });
        assert_eq!(v["gtid"], "0-1-2");
        assert_eq!(v["deps"]["commit_id"], 345);
        assert_eq!(v["rows"]["update"], 1);
        assert_eq!(v["changes"][1]["before"]["cols"], 2);
        assert!(!v.to_string().contains("it's"));
        let v = txn_json(&t, Options { rows: true, show_values: true, ..Default::default() });
        assert_eq!(v["changes"][0]["after"][1], "it's");
        assert_eq!(v["changes"][2]["after"][1], "0x0001ff");
    }

    #[test]
    fn summary_counts_and_top_tables() {
        let mut sum = Summary::default();
        sum.add(&sample());
        sum.add(&sample());
        assert_eq!((sum.transactions, sum.inserts, sum.updates, sum.deletes, sum.bytes), (2, 4, 2, 0, 2468));
        assert_eq!(sum.top_tables(), vec![("db.t1".to_string(), 4), ("db.t2".to_string(), 2)]);
        let j = sum.json();
        assert_eq!(j["summary"], true);
        assert_eq!(j["first_gtid"], "0-1-2");
        assert_eq!(j["span_seconds"], 0.0);
    }
}
