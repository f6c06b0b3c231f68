//! Every real binlog fixture (listed in `PROVENANCE.md`) read end to end through
//! `BinlogFiles` + `Assembler`:
//! - it decodes completely, or (the known-bad files listed in [`EXPECTED_ERRORS`]) ends in an
//!   error that names the file and the offset — never a panic;
//! - the event-type histogram equals PROVENANCE's `events` column (and the payload-inner
//!   histogram for TRANSACTION_PAYLOAD files);
//! - the number of transactions is exact: the number of GTID events for files that have them
//!   (from PROVENANCE), else the count in [`GTIDLESS_TRANSACTIONS`] (worked out from
//!   `mariadb-binlog` listings of each file);
//! - every byte after the magic is an event, and every XID ends exactly one transaction;
//! - where a mysqlbinlog text dump exists (zalora `plaintext-*`, mysql-cdc-rs `dump.txt`), the
//!   transactions' GTIDs, start and end positions, last_committed/sequence_number, commit
//!   timestamps and lengths equal the dump's.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parapply::decode::event::EventData;
use parapply::source::file::BinlogFiles;
use parapply::txn::{Assembler, CommitDeps, Transaction, TxnEnd};

/// Files that must end in an error, with the exact start of the error text (file and offset).
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    // Deliberately truncated mysql-test files.
    ("rust_mysql_common/binlog_truncated_event.000001", "binlog_truncated_event.000001 at offset 4: truncated event: 10 bytes left"),
    (
        "rust_mysql_common/binlog_truncated_prev_gtid_event.000001",
        "binlog_truncated_prev_gtid_event.000001 at offset 120: truncated event: 9 bytes left",
    ),
    // Named "corrupt" upstream: the QUERY at 91204 has a status-vars length running past the
    // event (mariadb-binlog also stops there with "Found invalid event").
    ("rust_mysql_common/corrupt-relay-bin.000624", "corrupt-relay-bin.000624 at offset 91204: QUERY event"),
    // The source recorded lost events: applying past an INCIDENT is unsafe.
    ("rust_mysql_common/bug40482-bin.000001", "bug40482-bin.000001 at offset 106: INCIDENT event (kind"),
    // Ends after BEGIN and an Aurora padding event: the transaction is cut off.
    (
        "mysql-binlog-connector-java/mysql-bin.aurora-padding",
        "incomplete transaction ANONYMOUS at end of mysql-bin.aurora-padding:216",
    ),
    // 5.2 dev-tree "one event of each type" files: a TABLE_MAP with no rows before STOP, and a
    // BEGIN never committed.
    ("rust_mysql_common/ver_5_1-wl2325_r.001", "incomplete transaction (no GTID) at end of ver_5_1-wl2325_r.001:650"),
    ("rust_mysql_common/ver_5_1-wl2325_s.001", "incomplete transaction (no GTID) at end of ver_5_1-wl2325_s.001:102"),
];

/// Transactions in files without GTID events. Each count was read off a `mariadb-binlog` listing
/// of the file: BEGIN..XID/COMMIT/ROLLBACK groups plus statements outside them (for
/// mysql_binlog_utils/test-mysql-bin: 47 BEGIN groups + 20 CREATE + 20 DROP + 10 FLUSH + 1 create).
const GTIDLESS_TRANSACTIONS: &[(&str, usize)] = &[
    ("canal/mysql-bin.000001", 111),
    ("canal/mysql-bin.000002", 1),
    ("mariadb-poc/domain_id_0/mariadb-repl-bin.000001", 0),
    ("mariadb-poc/domain_id_1/mariadb-repl-bin.000001", 0),
    ("mysql-binlog-connector-java/mysql-bin.sakila.gz", 53),
    ("mysql-cdc-rs/5.7/03_stop/log.bin", 0),
    ("mysql-cdc-rs/5.7/04_rotate/log.bin", 0),
    ("mysql-cdc-rs/5.7/15_format_desc/log.bin", 0),
    ("mysql_binlog_utils/mysql-bin56.000001", 0),
    ("mysql_binlog_utils/mysql-relay-bin.unfinished", 0),
    ("mysql_binlog_utils/only-header-mysql-bin", 0),
    ("mysql_binlog_utils/test-mysql-bin", 98),
    ("mysqlmv/PVGN50874064A-bin.000003", 1),
    ("mysqlmv/PVGN50874064A-bin.000004", 2),
    ("mysqlmv/PVGN50874064A-bin.000005", 0),
    ("mysqlmv/PVGN50874064A-bin.000006", 9),
    ("mysqlmv/PVGN50874064A-bin.000008", 8),
    ("mysqlmv/PVGN50874064A-bin.000009", 1),
    ("mysqlmv/PVGN50874064A-bin.000010", 3),
    ("mysqlmv/PVGN50874064A-bin.000011", 2),
    ("percona-toolkit/raw_binlog.log", 13),
    ("percona-toolkit/relay-binlog001", 8),
    ("rust_mysql_common/binlog_savepoint.000001", 1),
    ("rust_mysql_common/binlog_transaction.000001", 9),
    ("rust_mysql_common/binlog_transaction_previous_GTID_no_tag.000001", 0),
    ("rust_mysql_common/bug11747887-bin.000003", 4),
    ("rust_mysql_common/bug16266.000001", 4),
    ("rust_mysql_common/bug32407.001", 2),
    ("rust_mysql_common/bug33029-slave-relay-bin.000001", 28),
    ("rust_mysql_common/master-bin.000001", 0),
    ("rust_mysql_common/update-full-row.binlog", 1),
    ("rust_mysql_common/update-partial-row.binlog", 1),
    // 3 CREATE, 3 MyISAM row statements without BEGIN, BEGIN..XID, 3 statements with
    // USER_VAR/RAND/INTVAR context, and LOAD DATA (BEGIN_LOAD_QUERY, APPEND_BLOCK, EXECUTE_LOAD_QUERY).
    ("rust_mysql_common/ver_5_1_23.001", 11),
    ("rust_mysql_common/ver_trunk_row_v2.001", 12),
    ("rust_mysql_common/write-full-row.binlog", 1),
    ("rust_mysql_common/write-partial-row.binlog", 1),
    ("wal-g/binlog_small_test", 0),
    ("ybinlogp/mysql-bin.default-path", 14),
    ("ybinlogp/mysql-bin.delayed-event", 14),
    ("zalora-binlog-parser/mysql-bin.01", 4),
    ("zalora-binlog-parser/mysql-bin.02", 3),
    ("zalora-binlog-parser/mysql-bin.03", 4),
    ("zalora-binlog-parser/mysql-bin.05", 3),
    ("zalora-binlog-parser/mysql-bin.06", 5),
    ("zalora-binlog-parser/mysql-bin.empty", 0),
];

/// One binlog row of PROVENANCE.md.
#[derive(Debug)]
struct Row {
    file: String,
    size: u64,
    events: BTreeMap<String, u64>,
    payload_inner: BTreeMap<String, u64>,
}

fn parse_hist(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, n) = part.rsplit_once(':').unwrap_or_else(|| panic!("bad histogram item {part:?}"));
        out.insert(name.trim().to_string(), n.trim().parse().unwrap_or_else(|_| panic!("bad count in {part:?}")));
    }
    out
}

/// Binlog rows of the PROVENANCE tables (companion text files and empty files skipped).
fn provenance() -> Vec<Row> {
    let text = std::fs::read_to_string(common::fixture("PROVENANCE.md")).expect("PROVENANCE.md");
    let mut rows = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        // | file | origin | commit | size | server | crc | events |  -> 9 pieces with the empty ends
        if cols.len() != 9 || cols[1] == "file" || cols[1].starts_with("---") {
            continue;
        }
        let server = cols[5];
        if server.contains("companion") || server.contains("(empty file)") {
            continue;
        }
        let (hist, notes) = cols[7].split_once(';').unwrap_or((cols[7], ""));
        let payload_inner = notes
            .split(';')
            .find_map(|n| n.trim().strip_prefix("payload inner:").map(parse_hist))
            .unwrap_or_default();
        rows.push(Row { file: cols[1].to_string(), size: cols[4].parse().expect("size"), events: parse_hist(hist), payload_inner });
    }
    rows
}

/// PROVENANCE's names for event type codes.
fn type_name(t: u8) -> String {
    use parapply::decode::event_type as e;
    let n = match t {
        e::START_V3 => "START_V3",
        e::QUERY => "QUERY",
        e::STOP => "STOP",
        e::ROTATE => "ROTATE",
        e::INTVAR => "INTVAR",
        e::LOAD => "LOAD",
        e::CREATE_FILE => "CREATE_FILE",
        e::APPEND_BLOCK => "APPEND_BLOCK",
        e::EXEC_LOAD => "EXEC_LOAD",
        e::DELETE_FILE => "DELETE_FILE",
        e::NEW_LOAD => "NEW_LOAD",
        e::RAND => "RAND",
        e::USER_VAR => "USER_VAR",
        e::FORMAT_DESCRIPTION => "FORMAT_DESCRIPTION",
        e::XID => "XID",
        e::BEGIN_LOAD_QUERY => "BEGIN_LOAD_QUERY",
        e::EXECUTE_LOAD_QUERY => "EXECUTE_LOAD_QUERY",
        e::TABLE_MAP => "TABLE_MAP",
        e::PRE_GA_WRITE_ROWS => "PRE_GA_WRITE_ROWS",
        e::PRE_GA_UPDATE_ROWS => "PRE_GA_UPDATE_ROWS",
        e::PRE_GA_DELETE_ROWS => "PRE_GA_DELETE_ROWS",
        e::WRITE_ROWS_V1 => "WRITE_ROWS_V1",
        e::UPDATE_ROWS_V1 => "UPDATE_ROWS_V1",
        e::DELETE_ROWS_V1 => "DELETE_ROWS_V1",
        e::INCIDENT => "INCIDENT",
        e::HEARTBEAT => "HEARTBEAT",
        e::IGNORABLE => "IGNORABLE",
        e::ROWS_QUERY => "ROWS_QUERY",
        e::WRITE_ROWS_V2 => "WRITE_ROWS_V2",
        e::UPDATE_ROWS_V2 => "UPDATE_ROWS_V2",
        e::DELETE_ROWS_V2 => "DELETE_ROWS_V2",
        e::GTID => "GTID",
        e::ANONYMOUS_GTID => "ANONYMOUS_GTID",
        e::PREVIOUS_GTIDS => "PREVIOUS_GTIDS",
        e::XA_PREPARE => "XA_PREPARE",
        e::PARTIAL_UPDATE_ROWS => "PARTIAL_UPDATE_ROWS",
        e::TRANSACTION_PAYLOAD => "TRANSACTION_PAYLOAD",
        e::GTID_TAGGED => "GTID_TAGGED",
        e::MARIA_ANNOTATE_ROWS => "MARIA_ANNOTATE_ROWS",
        e::MARIA_BINLOG_CHECKPOINT => "MARIA_BINLOG_CHECKPOINT",
        e::MARIA_GTID => "MARIA_GTID",
        e::MARIA_GTID_LIST => "MARIA_GTID_LIST",
        other => return format!("UNKNOWN_{other}"),
    };
    n.to_string()
}

/// What reading one file produced.
struct Outcome {
    histogram: BTreeMap<String, u64>,
    payload_inner: BTreeMap<String, u64>,
    event_bytes: u64,
    transactions: Vec<Transaction>,
    error: Option<String>,
}

/// Read one binlog (gunzipped first when it ends in .gz) through BinlogFiles + Assembler.
fn read(path: &Path, tmp: &Path) -> Outcome {
    let path: PathBuf = if path.extension().is_some_and(|e| e == "gz") {
        let out = std::process::Command::new("gzip").arg("-dc").arg(path).output().expect("run gzip");
        assert!(out.status.success(), "gunzip {}", path.display());
        let name = path.file_stem().unwrap();
        let p = tmp.join(name);
        std::fs::write(&p, out.stdout).unwrap();
        p
    } else {
        path.to_path_buf()
    };
    let mut o = Outcome { histogram: BTreeMap::new(), payload_inner: BTreeMap::new(), event_bytes: 0, transactions: vec![], error: None };
    let files = match BinlogFiles::open(&[path]) {
        Ok(f) => f,
        Err(e) => {
            o.error = Some(e.to_string());
            return o;
        }
    };
    let mut asm = Assembler::new();
    for ev in files {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                o.error = Some(e.to_string());
                return o;
            }
        };
        *o.histogram.entry(type_name(ev.header.event_type)).or_default() += 1;
        o.event_bytes += u64::from(ev.header.event_size);
        if let EventData::TransactionPayload(inner) = &ev.data {
            for (h, _) in inner {
                *o.payload_inner.entry(type_name(h.event_type)).or_default() += 1;
            }
        }
        match asm.push(ev) {
            Ok(Some(t)) => o.transactions.push(t),
            Ok(None) => {}
            Err(e) => {
                o.error = Some(e.to_string());
                return o;
            }
        }
    }
    match asm.finish() {
        Ok(last) => o.transactions.extend(last),
        Err(e) => o.error = Some(e.to_string()),
    }
    o
}

fn gtid_events(hist: &BTreeMap<String, u64>) -> u64 {
    ["GTID", "ANONYMOUS_GTID", "GTID_TAGGED", "MARIA_GTID"].iter().map(|k| hist.get(*k).copied().unwrap_or(0)).sum()
}

#[test]
fn every_fixture_decodes_or_fails_with_file_and_offset() {
    let rows = provenance();
    assert!(rows.len() >= 100, "PROVENANCE lists {} binlog files", rows.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut failures: Vec<String> = Vec::new();
    for row in &rows {
        let path = common::fixture(&row.file);
        let o = read(&path, tmp.path());
        let expected_error = EXPECTED_ERRORS.iter().find(|(f, _)| *f == row.file).map(|(_, e)| *e);
        match (&o.error, expected_error) {
            (Some(err), Some(want)) => {
                if !err.contains(want) {
                    failures.push(format!("{}: error {err:?} does not contain {want:?}", row.file));
                }
                // Everything read before the error is in the histogram, never more.
                for (name, n) in &o.histogram {
                    if row.events.get(name).copied().unwrap_or(0) < *n {
                        failures.push(format!("{}: read {n} {name} events, PROVENANCE has fewer", row.file));
                    }
                }
                continue;
            }
            (Some(err), None) => {
                failures.push(format!("{}: unexpected error: {err}", row.file));
                continue;
            }
            (None, Some(want)) => {
                failures.push(format!("{}: decoded cleanly, expected an error like {want:?}", row.file));
                continue;
            }
            (None, None) => {}
        }
        if o.histogram != row.events {
            failures.push(format!("{}: histogram {:?} != PROVENANCE {:?}", row.file, o.histogram, row.events));
        }
        if o.payload_inner != row.payload_inner {
            failures.push(format!("{}: payload histogram {:?} != PROVENANCE {:?}", row.file, o.payload_inner, row.payload_inner));
        }
        // Every byte after the magic belongs to an event (sizes from the uncompressed file).
        if !row.file.ends_with(".gz") && o.event_bytes + 4 != row.size {
            failures.push(format!("{}: events cover {} bytes + 4 magic, file has {}", row.file, o.event_bytes, row.size));
        }
        let expected_txns = match gtid_events(&row.events) {
            0 => match GTIDLESS_TRANSACTIONS.iter().find(|(f, _)| *f == row.file) {
                Some((_, n)) => *n,
                None => {
                    failures.push(format!("{}: no expected transaction count listed", row.file));
                    continue;
                }
            },
            n => n as usize,
        };
        if o.transactions.len() != expected_txns {
            failures.push(format!("{}: {} transactions, expected {expected_txns}", row.file, o.transactions.len()));
        }
        let xids = row.events.get("XID").copied().unwrap_or(0) + row.payload_inner.get("XID").copied().unwrap_or(0);
        let xid_ended = o.transactions.iter().filter(|t| t.end == TxnEnd::Xid).count() as u64;
        if xids != xid_ended {
            failures.push(format!("{}: {xids} XID events but {xid_ended} transactions end with one", row.file));
        }
        // Transactions are contiguous runs of events in file order.
        let mut prev_end = 0;
        for t in &o.transactions {
            if t.pos.start < prev_end || t.pos.end - t.pos.start != t.size || t.size == 0 {
                failures.push(format!("{}: transaction at {}-{} size {} overlaps or has a hole", row.file, t.pos.start, t.pos.end, t.size));
            }
            prev_end = t.pos.end;
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

/// json.binlog.000001 (MySQL 8.0.22, binlog_row_image=MINIMAL, binlog_row_value_options=
/// PARTIAL_JSON): the PARTIAL_UPDATE_ROWS at 3750 carries only the key in its before images and
/// `$.age` diffs in its after images. It decodes completely (8 transactions, the histogram check
/// above), and each row's JSON column is the diff itself: REPLACE `$.age` with the new age, the
/// same change `decoder_tests.rs::partial_json_update_is_applied_to_the_before_image` applies to
/// a FULL before image (25 -> 26 for row 1).
#[test]
fn json_partial_update_with_minimal_image_decodes_to_its_diffs() {
    use parapply::decode::json::{JsonDiff, JsonDiffOp};
    use parapply::decode::value::Value;
    use parapply::txn::{Change, RowKind};
    let o = read(&common::fixture("rust_mysql_common/json.binlog.000001"), Path::new("/nonexistent"));
    assert_eq!(o.error, None);
    assert_eq!(o.transactions.len(), 8);
    let last = o.transactions.last().unwrap();
    assert_eq!((last.pos.start, last.pos.end), (3527, 4011));
    let [Change::Rows(rc)] = &last.changes[..] else { panic!("one ROWS change expected: {:?}", last.changes) };
    assert_eq!((rc.table.schema.as_str(), rc.table.table.as_str(), rc.kind), ("mysql", "t", RowKind::Update));
    let want = [(1, "Joe", 26), (2, "Sue", 34), (3, "Pete", 42), (4, "Joe", 26), (5, "Sue", 34), (6, "Pete", 42)];
    assert_eq!(rc.rows.len(), want.len());
    for (row, (id, name, age)) in rc.rows.iter().zip(want) {
        assert_eq!(row.before.as_ref().unwrap().cols, vec![Some(Value::Int(id)), None, None, None]);
        let diff = JsonDiff { op: JsonDiffOp::Replace, path: "$.age".into(), value: Some(age.to_string()) };
        assert_eq!(
            row.after.as_ref().unwrap().cols,
            vec![None, Some(Value::JsonDiff(vec![diff])), Some(Value::Bytes(name.as_bytes().to_vec())), Some(Value::Int(age))]
        );
    }
}

/// A transaction split between two files as a replica's relay-log rotation splits it: the first
/// file ends after the TABLE_MAP of mariadb-bin.000001's first transaction, the second starts
/// with its own FORMAT_DESCRIPTION and goes on with that transaction's ROWS event and XID. Read
/// as one list, the files give the same two transactions as the whole file, the first named
/// by both files; the second file alone fails on the ROWS event whose TABLE_MAP it lacks.
#[test]
fn transaction_split_across_two_files_reads_as_one() {
    let whole = std::fs::read(common::fixture("rust_mysql_common/mariadb-bin.000001")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (f1, f2) = (tmp.path().join("relay.000001"), tmp.path().join("relay.000002"));
    // Events: FDE 4..256, GTID_LIST, CHECKPOINT, GTID 330, ANNOTATE 372, TABLE_MAP 476..612,
    // WRITE_ROWS 612, XID 671..702, then the second transaction to 1074.
    std::fs::write(&f1, &whole[..612]).unwrap();
    std::fs::write(&f2, [&whole[..256], &whole[612..]].concat()).unwrap();
    let read_all = |paths: &[PathBuf]| -> Result<Vec<Transaction>, String> {
        let mut asm = Assembler::new();
        let mut out = Vec::new();
        for ev in BinlogFiles::open(paths).map_err(|e| e.to_string())? {
            out.extend(asm.push(ev.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?);
        }
        out.extend(asm.finish().map_err(|e| e.to_string())?);
        Ok(out)
    };
    let split = read_all(&[f1.clone(), f2.clone()]).unwrap();
    let orig = read(&common::fixture("rust_mysql_common/mariadb-bin.000001"), tmp.path()).transactions;
    assert_eq!(split.len(), 2);
    assert_eq!(split.iter().map(|t| (&t.gtid, &t.changes)).collect::<Vec<_>>(), orig.iter().map(|t| (&t.gtid, &t.changes)).collect::<Vec<_>>());
    assert_eq!((split[0].pos.file.as_str(), split[0].pos.start, split[0].pos.end_file.as_str(), split[0].pos.end), ("relay.000001", 330, "relay.000002", 256 + 90));
    assert_eq!((split[1].pos.file.as_str(), split[1].pos.start, split[1].pos.end_file.as_str()), ("relay.000002", 346, "relay.000002"));
    let err = read_all(&[f2]).unwrap_err();
    assert!(err.contains("relay.000002 at offset 256: WRITE_ROWS_V1 event (type 23): ROWS event for unknown table id"), "{err}");
    // Cut after the first file: the open transaction is an error naming where it started.
    let err = read_all(&[f1]).unwrap_err();
    assert_eq!(err, "incomplete transaction 0-1-1 at end of relay.000001:330 (last event ends at 612)");
}

// ---------------------------------------------------------------------------------------------
// mysqlbinlog text dumps
// ---------------------------------------------------------------------------------------------

/// One event as mysqlbinlog printed it.
#[derive(Debug, Default)]
struct DumpEvent {
    at: u64,
    end: u64,
    text: String,
}

/// A transaction as the dump shows it.
#[derive(Debug, Clone, PartialEq)]
struct DumpTxn {
    start: u64,
    end: u64,
    gtid: Option<String>,
    lc_seq: Option<(i64, i64)>,
    immediate_commit_us: Option<u64>,
    length: Option<u64>,
}

fn read_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0xff, 0xfe]) {
        let units: Vec<u16> = bytes[2..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units).replace("\r\n", "\n")
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn number_after(text: &str, key: &str) -> Option<u64> {
    let i = text.find(key)? + key.len();
    let digits: String = text[i..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Split a dump into events: `# at N` lines give offsets, header lines (`#YYMMDD ...
/// end_log_pos M`) start each event's text; mariadb-binlog prints several `# at` lines before
/// a run of row-event headers, so offsets and headers are paired in order.
fn dump_events(text: &str) -> Vec<DumpEvent> {
    let mut ats = Vec::new();
    let mut events: Vec<DumpEvent> = Vec::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("# at ") {
            ats.push(n.trim().parse::<u64>().expect("# at N"));
            continue;
        }
        let is_header = line.len() > 7 && line.starts_with('#') && line[1..7].chars().all(|c| c.is_ascii_digit()) && line.contains("end_log_pos");
        if is_header {
            let end = number_after(line, "end_log_pos ").expect("end_log_pos");
            events.push(DumpEvent { at: 0, end, text: String::new() });
        }
        if let Some(e) = events.last_mut() {
            e.text.push_str(line);
            e.text.push('\n');
        }
    }
    assert_eq!(ats.len(), events.len(), "every '# at' has a header");
    for (e, at) in events.iter_mut().zip(ats) {
        e.at = at;
    }
    events
}

/// The statement of a QUERY event block: its first line that is not a comment or a SET.
fn statement(text: &str) -> Option<String> {
    text.lines()
        .skip(1)
        .map(str::trim)
        .find(|l| {
            !l.is_empty()
                && !l.starts_with('#')
                && !l.starts_with("SET ")
                && !l.starts_with("/*!")
                && !l.starts_with("use ")
                && !l.starts_with("BINLOG")
                && !l.starts_with('\'')
        })
        .map(|l| l.trim_end_matches("/*!*/;").to_string())
}

/// Group dump events into transactions, the way mysqlbinlog shows them: a GTID event opens a
/// transaction (MariaDB prints `BEGIN` in its GTID block), `BEGIN` opens one, XID / COMMIT /
/// ROLLBACK close it, and a statement outside BEGIN is a transaction by itself.
fn dump_transactions(events: &[DumpEvent]) -> Vec<DumpTxn> {
    let mut out = Vec::new();
    let mut open: Option<DumpTxn> = None;
    let mut pending: Option<DumpTxn> = None;
    for e in events {
        let t = &e.text;
        let mysql_gtid = t.contains("GTID\tlast_committed=") || t.contains("\tGTID\t") || t.contains("Anonymous_GTID");
        let maria_gtid = t.lines().next().is_some_and(|l| l.contains("\tGTID ") || l.contains(" GTID "));
        if mysql_gtid {
            let gtid = t.find("GTID_NEXT= '").map(|i| t[i + 12..].split('\'').next().unwrap_or("").to_string());
            let lc = number_after(t, "last_committed=").map(|v| v as i64);
            let seq = number_after(t, "sequence_number=").map(|v| v as i64);
            pending = Some(DumpTxn {
                start: e.at,
                end: e.end,
                gtid,
                lc_seq: lc.zip(seq),
                immediate_commit_us: number_after(t, "immediate_commit_timestamp="),
                length: number_after(t, "transaction_length="),
            });
        } else if maria_gtid {
            let header = t.lines().next().unwrap_or("");
            let gtid = header.split("GTID ").nth(1).map(|s| s.split_whitespace().next().unwrap_or("").to_string());
            let txn = DumpTxn { start: e.at, end: e.end, gtid, lc_seq: None, immediate_commit_us: None, length: None };
            if t.lines().any(|l| l.trim() == "BEGIN" || l.starts_with("START TRANSACTION")) {
                open = Some(txn);
            } else {
                pending = Some(txn);
            }
        } else if t.contains("\tQuery\t") {
            let stmt = statement(t).unwrap_or_default();
            let upper = stmt.to_ascii_uppercase();
            if upper == "BEGIN" {
                let mut txn = pending.take().unwrap_or(DumpTxn { start: e.at, end: e.end, gtid: None, lc_seq: None, immediate_commit_us: None, length: None });
                txn.end = e.end;
                open = Some(txn);
            } else if upper == "COMMIT" || upper == "ROLLBACK" {
                if let Some(mut txn) = open.take() {
                    txn.end = e.end;
                    out.push(txn);
                }
            } else if open.is_none() {
                let mut txn = pending.take().unwrap_or(DumpTxn { start: e.at, end: e.end, gtid: None, lc_seq: None, immediate_commit_us: None, length: None });
                txn.end = e.end;
                out.push(txn);
            }
        } else if t.contains("Xid = ") {
            // (Checked after Query: MySQL 8 prints "Xid = N" on atomic DDL QUERY lines too.)
            if let Some(mut txn) = open.take() {
                txn.end = e.end;
                out.push(txn);
            }
        }
    }
    out
}

fn ours(t: &Transaction) -> DumpTxn {
    let lc_seq = match t.deps {
        CommitDeps::LogicalClock { last_committed, sequence_number } => Some((last_committed, sequence_number)),
        _ => None,
    };
    DumpTxn {
        start: t.pos.start,
        end: t.pos.end,
        gtid: t.gtid.as_ref().map(|g| g.to_string()),
        lc_seq,
        immediate_commit_us: None,
        length: None,
    }
}

#[test]
fn transactions_match_mysqlbinlog_dumps() {
    let pairs: Vec<(&str, &str)> = vec![
        ("zalora-binlog-parser/plaintext-mysql-bin.01", "zalora-binlog-parser/mysql-bin.01"),
        ("zalora-binlog-parser/plaintext-mysql-bin.02", "zalora-binlog-parser/mysql-bin.02"),
        ("zalora-binlog-parser/plaintext-mysql-bin.03", "zalora-binlog-parser/mysql-bin.03"),
        ("zalora-binlog-parser/plaintext-mysql-bin.05", "zalora-binlog-parser/mysql-bin.05"),
        ("zalora-binlog-parser/plaintext-mysql-bin.06", "zalora-binlog-parser/mysql-bin.06"),
        ("zalora-binlog-parser/plaintext-mysql-bin.07", "zalora-binlog-parser/mysql-bin.07"),
        ("zalora-binlog-parser/plaintext-mysql-bin.empty", "zalora-binlog-parser/mysql-bin.empty"),
        ("mysql-cdc-rs/5.7/02_query/dump.txt", "mysql-cdc-rs/5.7/02_query/log.bin"),
        ("mysql-cdc-rs/5.7/03_stop/dump.txt", "mysql-cdc-rs/5.7/03_stop/log.bin"),
        ("mysql-cdc-rs/5.7/04_rotate/dump.txt", "mysql-cdc-rs/5.7/04_rotate/log.bin"),
        ("mysql-cdc-rs/5.7/05_intvar/dump.txt", "mysql-cdc-rs/5.7/05_intvar/log.bin"),
        ("mysql-cdc-rs/5.7/13_rand/dump.txt", "mysql-cdc-rs/5.7/13_rand/log.bin"),
        ("mysql-cdc-rs/5.7/14_user_var/dump.txt", "mysql-cdc-rs/5.7/14_user_var/log.bin"),
        ("mysql-cdc-rs/5.7/15_format_desc/dump.txt", "mysql-cdc-rs/5.7/15_format_desc/log.bin"),
        ("mysql-cdc-rs/5.7/16_xid/dump.txt", "mysql-cdc-rs/5.7/16_xid/log.bin"),
        ("mysql-cdc-rs/5.7/17_18_load/dump.txt", "mysql-cdc-rs/5.7/17_18_load/log.bin"),
        ("mysql-cdc-rs/5.7/19_table_map/dump.txt", "mysql-cdc-rs/5.7/19_table_map/log.bin"),
        ("mysql-cdc-rs/5.7/29_row_query/dump.txt", "mysql-cdc-rs/5.7/29_row_query/log.bin"),
        ("mysql-cdc-rs/5.7/30_write_rows_v2/dump.txt", "mysql-cdc-rs/5.7/30_write_rows_v2/log.bin"),
        ("mysql-cdc-rs/5.7/31_update_rows_v2/dump.txt", "mysql-cdc-rs/5.7/31_update_rows_v2/log.bin"),
        ("mysql-cdc-rs/5.7/32_delete_rows_v2/dump.txt", "mysql-cdc-rs/5.7/32_delete_rows_v2/log.bin"),
        ("mysql-cdc-rs/5.7/33_35_gtid_prev_gtid/dump.txt", "mysql-cdc-rs/5.7/33_35_gtid_prev_gtid/log.bin"),
        ("mysql-cdc-rs/5.7/34_anonymous_gtid/dump.txt", "mysql-cdc-rs/5.7/34_anonymous_gtid/log.bin"),
        ("mysql-cdc-rs/8.0/02_query/dump.txt", "mysql-cdc-rs/8.0/02_query/binlog.000001"),
        ("mysql-cdc-rs/8.0/19_30_Table_map_event_Write_rows_log_event/dump.txt", "mysql-cdc-rs/8.0/19_30_Table_map_event_Write_rows_log_event/binlog.000018"),
        ("mysql-cdc-rs/8.0/31_update_rows_v2/dump.txt", "mysql-cdc-rs/8.0/31_update_rows_v2/binlog.000001"),
        ("mysql-cdc-rs/8.0/32_delete_rows_v2/dump.txt", "mysql-cdc-rs/8.0/32_delete_rows_v2/binlog.000001"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut compared_txns = 0;
    let mut compared_commit_ts = 0;
    let mut failures = Vec::new();
    for (dump, bin) in pairs {
        let events = dump_events(&read_text(&common::fixture(dump)));
        assert!(!events.is_empty(), "{dump}: no events parsed");
        let expected = dump_transactions(&events);
        let o = read(&common::fixture(bin), tmp.path());
        if let Some(e) = &o.error {
            failures.push(format!("{bin}: {e}"));
            continue;
        }
        let got: Vec<DumpTxn> = o.transactions.iter().map(ours).collect();
        let expected_core: Vec<DumpTxn> = expected.iter().map(|d| DumpTxn { immediate_commit_us: None, length: None, ..d.clone() }).collect();
        if got != expected_core {
            failures.push(format!("{bin}: ours {got:?}\n  dump {expected_core:?}"));
            continue;
        }
        for (t, d) in o.transactions.iter().zip(&expected) {
            if let Some(ts) = d.immediate_commit_us {
                compared_commit_ts += 1;
                if t.commit_time_us != ts {
                    failures.push(format!("{bin}: {} commit time {} != dump {ts}", d.start, t.commit_time_us));
                }
            }
            if let Some(len) = d.length {
                if t.size != len {
                    failures.push(format!("{bin}: {} size {} != dump transaction_length {len}", d.start, t.size));
                }
            }
        }
        compared_txns += got.len();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The dumps really were compared (guards against a parser that finds nothing).
    assert_eq!((compared_txns, compared_commit_ts), (EXPECTED_DUMP_TXNS, EXPECTED_DUMP_COMMIT_TS));
}

/// Transactions in the dumps above (zalora 4+3+4+3+5+2+0, mysql-cdc-rs 5.7: 2+0+0+3+3+3+0+3+1+3+3+3+1+4+3+3,
/// 8.0: 1+3+4+5) and how many of them carry an immediate_commit_timestamp (the 8.0 ones).
const EXPECTED_DUMP_TXNS: usize = 21 + 35 + 13;
const EXPECTED_DUMP_COMMIT_TS: usize = 13;

#[test]
fn dump_parser_reads_a_mariadb_listing() {
    // Guard for the helper itself, on zalora's MariaDB 10.0 dump: GTID blocks with BEGIN and a
    // standalone DDL.
    let events = dump_events(&read_text(&common::fixture("zalora-binlog-parser/plaintext-mysql-bin.07")));
    let txns = dump_transactions(&events);
    assert_eq!(
        txns,
        vec![
            DumpTxn { start: 326, end: 627, gtid: Some("0-3704-2815".into()), lc_seq: None, immediate_commit_us: None, length: None },
            DumpTxn { start: 627, end: 884, gtid: Some("0-3704-2816".into()), lc_seq: None, immediate_commit_us: None, length: None },
        ]
    );
}
