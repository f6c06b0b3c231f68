//! Generated MySQL 8.0 binlogs read back by independent decoders.
//!
//! Each parameter set is generated into a temp dir, then read twice: by a raw walk over the
//! bytes (event sizes, `log_pos`, CRC32 with crc32fast) and by mysql_common's own `BinlogFile`
//! (every event parsed, CRC recomputed, TRANSACTION_PAYLOAD expanded). What the files must hold
//! comes from re-running the workload with the same parameters (`Workload` is deterministic), so
//! the expected counts and row values are not taken from the writer that produced the files.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use mysql_common::binlog::consts::{BinlogVersion, EventType};
use mysql_common::binlog::events::{Event, EventData, OptionalMetadataField, RowsEventData};
use mysql_common::binlog::value::BinlogValue;
use mysql_common::binlog::{BinlogFile, EventStreamReader};
use mysql_common::value::Value as MyValue;

use parapply::gen::encode::{ColumnDef, ColumnType, DateTime, RowsKind, Value};
use parapply::gen::workload::{schema, TxnBody, WorkTxn, Workload};
use parapply::gen::{generate, GenParams, GenSummary};

/// One statement as decoded: table name, kind, row images.
#[derive(Debug, Clone, PartialEq)]
struct DecodedStatement {
    table: String,
    kind: RowsKind,
    rows: Vec<(Option<Vec<Value>>, Option<Vec<Value>>)>,
}

#[derive(Debug, Default, Clone)]
struct DecodedTxn {
    file: usize,
    gno: u64,
    flags: u8,
    last_committed: u64,
    sequence_number: u64,
    immediate_commit_timestamp: u64,
    original_commit_timestamp: u64,
    immediate_server_version: u32,
    original_server_version: u32,
    tx_length: u64,
    /// Bytes from the GTID event to the end of the transaction, summed from event sizes.
    measured_length: u64,
    thread_id: Option<u32>,
    ddl: Option<String>,
    statements: Vec<DecodedStatement>,
    xid: bool,
    compressed: bool,
}

#[derive(Debug, Default)]
struct Decoded {
    events: BTreeMap<String, u64>,
    payload_events: BTreeMap<String, u64>,
    txns: Vec<DecodedTxn>,
    /// (file index, next file name) of every ROTATE.
    rotates: Vec<(usize, String, u64)>,
    /// Per file: the (uuid, [start, end)) sets of its PREVIOUS_GTIDS.
    previous_gtids: Vec<Vec<([u8; 16], Vec<(u64, u64)>)>>,
    table_maps_checked: u64,
    /// ROWS events per kind name (a statement may span several).
    rows_events: BTreeMap<String, u64>,
}

fn type_name(t: EventType) -> String {
    match t {
        EventType::WRITE_ROWS_EVENT => "WRITE_ROWS_V2".into(),
        EventType::UPDATE_ROWS_EVENT => "UPDATE_ROWS_V2".into(),
        EventType::DELETE_ROWS_EVENT => "DELETE_ROWS_V2".into(),
        other => format!("{other:?}").trim_end_matches("_EVENT").to_string(),
    }
}

/// Raw walk: magic, then events whose sizes chain to the end of the file, each with
/// `log_pos` = its end offset and a CRC32 over everything before the trailer.
fn raw_walk(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], &[0xfe, b'b', b'i', b'n'], "{}", path.display());
    let mut pos = 4usize;
    let mut n = 0;
    while pos < bytes.len() {
        assert!(pos + 19 <= bytes.len(), "truncated header at {pos}");
        let size = u32::from_le_bytes(bytes[pos + 9..pos + 13].try_into().unwrap()) as usize;
        let log_pos = u32::from_le_bytes(bytes[pos + 13..pos + 17].try_into().unwrap()) as usize;
        assert!(size >= 23 && pos + size <= bytes.len(), "bad size {size} at {pos} in {}", path.display());
        assert_eq!(log_pos, pos + size, "log_pos at {pos} in {}", path.display());
        let stored = u32::from_le_bytes(bytes[pos + size - 4..pos + size].try_into().unwrap());
        let mut event = bytes[pos..pos + size - 4].to_vec();
        if event[4] == 15 {
            // An FDE's CRC is computed with LOG_EVENT_BINLOG_IN_USE_F cleared.
            event[17] &= !1;
        }
        assert_eq!(crc32fast::hash(&event), stored, "CRC at {pos} in {}", path.display());
        pos += size;
        n += 1;
    }
    n
}

/// Bytes of one row image in a ROWS event, from the MySQL row format: a null bitmap over the
/// columns, then each non-NULL value (BIGINT 8, INT 4, VARCHAR 1- or 2-byte length + bytes,
/// DECIMAL per 9-digit groups, DATETIME(fsp) 5 + (fsp+1)/2, ENUM 1 or 2).
fn row_image_len(img: &[Value], cols: &[ColumnDef]) -> usize {
    const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
    let digits = |n: usize| (n / 9) * 4 + DIG2BYTES[n % 9];
    cols.len().div_ceil(8)
        + img
            .iter()
            .zip(cols)
            .map(|(v, c)| match (v, &c.ty) {
                (Value::Null, _) => 0,
                (_, ColumnType::BigInt { .. }) => 8,
                (_, ColumnType::Int { .. }) => 4,
                (Value::Str(s), ColumnType::Varchar { max_chars }) => (if *max_chars * 4 < 256 { 1 } else { 2 }) + s.len(),
                (_, ColumnType::Decimal { precision, scale }) => {
                    digits(usize::from(precision - scale)) + digits(usize::from(*scale))
                }
                (_, ColumnType::DateTime { fsp }) => 5 + (usize::from(*fsp) + 1) / 2,
                (_, ColumnType::Enum { values }) => if values.len() < 256 { 1 } else { 2 },
                (v, ty) => panic!("{v:?} in {ty:?}"),
            })
            .sum::<usize>()
}

fn my_to_value(v: &BinlogValue<'_>, col: &ColumnDef) -> Value {
    let BinlogValue::Value(v) = v else { panic!("column {}: unexpected JSON value", col.name) };
    match (v, &col.ty) {
        (MyValue::NULL, _) => Value::Null,
        (MyValue::Int(i), ColumnType::BigInt { unsigned: false } | ColumnType::Int { unsigned: false }) => Value::Int(*i),
        (MyValue::Int(i), ColumnType::BigInt { unsigned: true } | ColumnType::Int { unsigned: true }) => {
            Value::UInt(u64::try_from(*i).unwrap())
        }
        (MyValue::UInt(u), ColumnType::BigInt { unsigned: true } | ColumnType::Int { unsigned: true }) => Value::UInt(*u),
        (MyValue::Int(i), ColumnType::Enum { .. }) => Value::Enum(u16::try_from(*i).unwrap()),
        (MyValue::Bytes(b), ColumnType::Varchar { .. }) => Value::Str(String::from_utf8(b.clone()).unwrap()),
        (MyValue::Bytes(b), ColumnType::Decimal { scale, .. }) => {
            let text = std::str::from_utf8(b).unwrap();
            let (int_part, frac) = text.split_once('.').unwrap_or((text, ""));
            assert_eq!(frac.len(), usize::from(*scale), "decimal text {text}");
            let neg = int_part.starts_with('-');
            let digits = format!("{}{}", int_part.trim_start_matches('-'), frac);
            let mag: i64 = digits.parse().unwrap();
            Value::Decimal(if neg { -mag } else { mag })
        }
        (MyValue::Date(y, mo, d, h, mi, s, us), ColumnType::DateTime { .. }) => Value::DateTime(DateTime {
            year: *y,
            month: *mo,
            day: *d,
            hour: *h,
            minute: *mi,
            second: *s,
            micros: *us,
        }),
        (v, ty) => panic!("column {}: value {v:?} for type {ty:?}", col.name),
    }
}

struct Reader<'a> {
    params: &'a GenParams,
    columns: BTreeMap<String, Vec<ColumnDef>>,
    out: Decoded,
    file: usize,
    /// A statement whose last ROWS event (STMT_END_F) has not been seen yet.
    open_statement: bool,
}

impl Reader<'_> {
    fn current(&mut self) -> &mut DecodedTxn {
        self.out.txns.last_mut().expect("event before the first GTID")
    }

    /// Handles one event (top level or from a payload). `reader` holds the table maps.
    fn handle(&mut self, ev: &Event, reader: &EventStreamReader, inner: bool) {
        let et = ev.header().event_type().expect("known event type");
        let name = type_name(et);
        if inner {
            *self.out.payload_events.entry(name).or_default() += 1;
            assert_eq!(ev.header().log_pos(), 0, "payload events have log_pos 0");
        } else {
            *self.out.events.entry(name).or_default() += 1;
            // CRC recomputed by mysql_common.
            let alg = ev.footer().get_checksum_alg().unwrap().expect("checksum alg");
            assert_eq!(ev.checksum(), Some(ev.calc_checksum(alg).to_le_bytes()), "CRC of {et:?}");
            if let Some(t) = self.out.txns.last_mut() {
                if t.file == self.file && et != EventType::GTID_EVENT && et != EventType::ROTATE_EVENT {
                    t.measured_length += u64::from(ev.header().event_size());
                }
            }
        }
        let data = ev.read_data().unwrap_or_else(|e| panic!("{et:?} does not parse: {e}")).expect("known data");
        match data {
            EventData::FormatDescriptionEvent(fde) => {
                assert_eq!(fde.server_version().trim_end_matches(char::from(0)), "8.0.36-gen");
                assert_eq!(fde.event_type_header_lengths().len(), 41);
            }
            EventData::PreviousGtidsEvent(p) => {
                let sets = p
                    .sids()
                    .iter()
                    .map(|s| (s.uuid(), s.intervals().iter().map(|i| (i.start(), i.end())).collect()))
                    .collect();
                self.out.previous_gtids.push(sets);
            }
            EventData::GtidEvent(g) => {
                assert_eq!(g.lc_typecode(), Some(2));
                self.out.txns.push(DecodedTxn {
                    file: self.file,
                    gno: g.gno(),
                    flags: g.flags_raw(),
                    last_committed: g.last_committed(),
                    sequence_number: g.sequence_number(),
                    immediate_commit_timestamp: g.immediate_commit_timestamp(),
                    original_commit_timestamp: g.original_commit_timestamp(),
                    immediate_server_version: g.immediate_server_version(),
                    original_server_version: g.original_server_version(),
                    tx_length: g.tx_length(),
                    measured_length: u64::from(ev.header().event_size()),
                    ..DecodedTxn::default()
                });
            }
            EventData::QueryEvent(q) => {
                for var in q.status_vars().iter() {
                    var.get_value().unwrap_or_else(|raw| panic!("status var {var:?} does not parse: {raw:?}"));
                }
                let sql = q.query().to_string();
                let thread_id = q.thread_id();
                let t = self.current();
                t.thread_id = Some(thread_id);
                if sql != "BEGIN" {
                    t.ddl = Some(sql);
                }
            }
            EventData::TableMapEvent(tme) => {
                assert!(!self.open_statement, "TABLE_MAP inside a statement");
                let cols = self.columns.get(tme.table_name().as_ref()).expect("known table").clone();
                check_table_map(&tme, &cols);
                self.out.table_maps_checked += 1;
            }
            EventData::RowsEvent(rows) => {
                let tme = reader.get_tme(rows.table_id()).expect("table map before rows");
                let table = tme.table_name().to_string();
                let cols = self.columns.get(&table).expect("known table").clone();
                let kind = match rows {
                    RowsEventData::WriteRowsEvent(_) => RowsKind::Write,
                    RowsEventData::UpdateRowsEvent(_) => RowsKind::Update,
                    RowsEventData::DeleteRowsEvent(_) => RowsKind::Delete,
                    other => panic!("unexpected rows event {other:?}"),
                };
                let conv = |row: Option<mysql_common::binlog::row::BinlogRow>| {
                    row.map(|r| {
                        let vals = r.unwrap();
                        assert_eq!(vals.len(), cols.len());
                        vals.iter().zip(&cols).map(|(v, c)| my_to_value(v, c)).collect::<Vec<_>>()
                    })
                };
                let mut images = Vec::new();
                for row in rows.rows(tme) {
                    let (before, after) = row.unwrap_or_else(|e| panic!("row of {table}: {e}"));
                    images.push((conv(before), conv(after)));
                }
                let kind_name = match kind {
                    RowsKind::Write => "WRITE_ROWS_V2",
                    RowsKind::Update => "UPDATE_ROWS_V2",
                    RowsKind::Delete => "DELETE_ROWS_V2",
                };
                *self.out.rows_events.entry(kind_name.to_string()).or_default() += 1;
                let stmt_end = rows.flags().contains(mysql_common::binlog::consts::RowsEventFlags::STMT_END);
                let open = std::mem::replace(&mut self.open_statement, !stmt_end);
                let t = self.current();
                match t.statements.last_mut() {
                    // A continuation of the statement: same table and kind, more rows.
                    Some(last) if open => {
                        assert_eq!((&last.table, last.kind), (&table, kind), "statement changed without STMT_END_F");
                        last.rows.extend(images);
                    }
                    _ => t.statements.push(DecodedStatement { table, kind, rows: images }),
                }
            }
            EventData::XidEvent(_) => {
                assert!(!self.open_statement, "XID inside a statement");
                self.current().xid = true
            }
            EventData::RotateEvent(r) => {
                self.out.rotates.push((self.file, r.name().to_string(), r.position()));
            }
            EventData::TransactionPayloadEvent(_) => unreachable!("handled by the caller"),
            other => panic!("unexpected event {other:?}"),
        }
        let _ = self.params;
    }
}

fn check_table_map(tme: &mysql_common::binlog::events::TableMapEvent<'_>, cols: &[ColumnDef]) {
    assert_eq!(tme.database_name(), "gen");
    assert_eq!(tme.columns_count() as usize, cols.len());
    let mut seen = Vec::new();
    for field in tme.iter_optional_meta() {
        match field.expect("optional metadata parses") {
            OptionalMetadataField::Signedness(bits) => {
                let want: Vec<bool> = cols
                    .iter()
                    .filter(|c| !matches!(c.ty, ColumnType::Varchar { .. } | ColumnType::DateTime { .. } | ColumnType::Enum { .. }))
                    .map(|c| matches!(c.ty, ColumnType::BigInt { unsigned: true } | ColumnType::Int { unsigned: true }))
                    .collect();
                let got: Vec<bool> = bits.iter().map(|b| *b).collect();
                assert_eq!(got, want);
                seen.push("SIGNEDNESS");
            }
            OptionalMetadataField::DefaultCharset(cs) => {
                assert_eq!(cs.default_charset(), 45);
                seen.push("DEFAULT_CHARSET");
            }
            OptionalMetadataField::ColumnName(names) => {
                let got: Vec<String> = names.iter_names().map(|n| n.unwrap().name().to_string()).collect();
                let want: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
                assert_eq!(got, want);
                seen.push("COLUMN_NAME");
            }
            OptionalMetadataField::EnumAndSetDefaultCharset(cs) => {
                assert_eq!(cs.default_charset(), 45);
                seen.push("ENUM_AND_SET_DEFAULT_CHARSET");
            }
            OptionalMetadataField::EnumStrValue(values) => {
                let got: Vec<Vec<String>> = values
                    .iter_values()
                    .map(|e| e.unwrap().values().iter().map(|v| v.value().to_string()).collect())
                    .collect();
                let want: Vec<Vec<String>> = cols
                    .iter()
                    .filter_map(|c| match &c.ty {
                        ColumnType::Enum { values } => Some(values.clone()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(got, want);
                seen.push("ENUM_STR_VALUE");
            }
            OptionalMetadataField::SimplePrimaryKey(pk) => {
                let got: Vec<u64> = pk.iter_indexes().map(|i| i.unwrap()).collect();
                assert_eq!(got, vec![0]);
                seen.push("SIMPLE_PRIMARY_KEY");
            }
            OptionalMetadataField::ColumnVisibility(bits) => {
                assert_eq!(bits.iter().take(cols.len()).filter(|b| **b).count(), cols.len());
                seen.push("COLUMN_VISIBILITY");
            }
            other => panic!("unexpected optional metadata {other:?}"),
        }
    }
    assert_eq!(
        seen,
        vec![
            "SIGNEDNESS",
            "DEFAULT_CHARSET",
            "COLUMN_NAME",
            "ENUM_AND_SET_DEFAULT_CHARSET",
            "ENUM_STR_VALUE",
            "SIMPLE_PRIMARY_KEY",
            "COLUMN_VISIBILITY"
        ]
    );
    // Nullability: only `pad` is nullable.
    let nulls: Vec<bool> = tme.null_bitmask().iter().take(cols.len()).map(|b| *b).collect();
    assert_eq!(nulls, cols.iter().map(|c| c.nullable).collect::<Vec<_>>());
}

/// Reads every file of a summary with mysql_common.
fn decode_with_mysql_common(dir: &Path, params: &GenParams, summary: &GenSummary) -> Decoded {
    let columns = schema(params).into_iter().map(|t| (t.def.name.clone(), t.def.columns)).collect();
    let mut r = Reader { params, columns, out: Decoded::default(), file: 0, open_statement: false };
    for (i, f) in summary.files.iter().enumerate() {
        r.file = i;
        let path = dir.join(&f.name);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), f.bytes, "{}", f.name);
        let raw_events = raw_walk(&path);
        let mut file = BinlogFile::new(BinlogVersion::Version4, BufReader::new(File::open(&path).unwrap())).unwrap();
        let mut n = 0;
        while let Some(ev) = file.next() {
            let ev = ev.unwrap_or_else(|e| panic!("{}: event {n}: {e}", f.name));
            n += 1;
            if ev.header().event_type_raw() == EventType::TRANSACTION_PAYLOAD_EVENT as u8 {
                *r.out.events.entry("TRANSACTION_PAYLOAD".into()).or_default() += 1;
                let alg = ev.footer().get_checksum_alg().unwrap().unwrap();
                assert_eq!(ev.checksum(), Some(ev.calc_checksum(alg).to_le_bytes()));
                let Ok(Some(EventData::TransactionPayloadEvent(p))) = ev.read_data() else {
                    panic!("payload does not parse")
                };
                let t = r.current();
                t.compressed = true;
                t.measured_length += u64::from(ev.header().event_size());
                let mut inner_bytes = 0u64;
                let mut payload = p.decompressed().unwrap();
                while let Some(inner) = file.reader_mut().read_decompressed(&mut payload).unwrap() {
                    inner_bytes += u64::from(inner.header().event_size());
                    r.handle(&inner, file.reader(), true);
                }
                assert_eq!(inner_bytes, p.uncompressed_size(), "uncompressed size field");
                continue;
            }
            r.handle(&ev, file.reader(), false);
        }
        assert_eq!(n, raw_events, "{}: mysql_common and the raw walk see the same events", f.name);
    }
    r.out
}

fn run(params: &GenParams) -> (tempfile::TempDir, GenSummary, Decoded, Vec<WorkTxn>) {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(params, dir.path()).unwrap();
    let decoded = decode_with_mysql_common(dir.path(), params, &summary);
    let expected: Vec<WorkTxn> = Workload::new(params).unwrap().map(|t| t.unwrap()).collect();
    check_against_workload(params, &summary, &decoded, &expected);
    (dir, summary, decoded, expected)
}

/// Longest chain where a transaction waits for every transaction of its file with
/// sequence_number <= its last_committed, and for all transactions of earlier files.
fn logical_clock_critical_path(txns: &[DecodedTxn]) -> u64 {
    let mut best = 0u64;
    let mut file_base = 0u64;
    let mut file = usize::MAX;
    let mut depth_by_seq: Vec<u64> = Vec::new(); // prefix max depth, index = sequence_number
    for t in txns {
        if t.file != file {
            file = t.file;
            file_base = best;
            depth_by_seq = vec![file_base];
        }
        let dep = depth_by_seq.get(t.last_committed as usize).copied().unwrap_or_else(|| panic!("last_committed {} ahead", t.last_committed));
        let depth = dep.max(file_base) + 1;
        assert_eq!(depth_by_seq.len() as u64, t.sequence_number, "sequence numbers count 1, 2, ... per file");
        let prefix = depth_by_seq.last().copied().unwrap_or(0).max(depth);
        depth_by_seq.push(prefix);
        best = best.max(depth);
    }
    best
}

fn check_against_workload(params: &GenParams, summary: &GenSummary, d: &Decoded, expected: &[WorkTxn]) {
    let tables = schema(params);
    // Transactions, GTIDs, timestamps, server versions, lengths.
    assert_eq!(d.txns.len(), expected.len());
    assert_eq!(summary.transactions, expected.len() as u64);
    for (t, w) in d.txns.iter().zip(expected) {
        assert_eq!(t.gno, w.index + 1);
        let ict = params.start_time_us + w.index * 1000;
        assert_eq!(t.immediate_commit_timestamp, ict);
        assert_eq!(t.original_commit_timestamp, ict - params.origin_lag_us);
        assert_eq!((t.immediate_server_version, t.original_server_version), (80036, params.original_server_version));
        assert_eq!(t.tx_length, t.measured_length, "transaction_length of gno {}", t.gno);
        assert_eq!(t.thread_id, Some(w.session));
        match &w.body {
            TxnBody::Ddl { sql, .. } => {
                assert_eq!(t.flags, 1);
                assert_eq!(t.ddl.as_deref(), Some(sql.as_str()));
                assert!(t.statements.is_empty() && !t.xid && !t.compressed);
            }
            TxnBody::Dml { statements } => {
                assert_eq!(t.flags, 0);
                assert_eq!(t.ddl, None);
                assert!(t.xid);
                assert_eq!(t.compressed, params.compress);
                let want: Vec<DecodedStatement> = statements
                    .iter()
                    .map(|s| DecodedStatement { table: tables[s.table].def.name.clone(), kind: s.kind, rows: s.rows.clone() })
                    .collect();
                assert_eq!(t.statements, want, "rows of gno {}", t.gno);
            }
        }
    }

    // Group rule: same group => same last_committed; a new group's last_committed is the
    // previous transaction's sequence_number; each file restarts at (0, 1); files change only
    // between groups.
    for i in 0..d.txns.len() {
        let (t, w) = (&d.txns[i], &expected[i]);
        if i == 0 || d.txns[i - 1].file != t.file {
            assert_eq!((t.last_committed, t.sequence_number), (0, 1), "gno {}", t.gno);
            if i > 0 {
                assert_ne!(expected[i - 1].group, w.group, "rotation inside a group at gno {}", t.gno);
            }
            continue;
        }
        let prev = &d.txns[i - 1];
        assert_eq!(t.sequence_number, prev.sequence_number + 1);
        if expected[i - 1].group == w.group {
            assert_eq!(t.last_committed, prev.last_committed, "gno {}", t.gno);
        } else {
            assert_eq!(t.last_committed, prev.sequence_number, "gno {}", t.gno);
        }
    }
    let groups = expected.last().map_or(0, |t| t.group + 1);
    assert_eq!(summary.groups, groups);
    assert_eq!(logical_clock_critical_path(&d.txns), groups);
    assert_eq!(summary.logical_clock_critical_path, groups);

    // Keys and the writeset numbers, from the decoded rows alone: a row's key is (table, id);
    // a child row (table cN, column 9 = parent_id) also has (pN, parent_id).
    let keys_of = |t: &DecodedTxn| -> Vec<(String, i64)> {
        let mut keys = Vec::new();
        for st in &t.statements {
            for img in st.rows.iter().flat_map(|(b, a)| [b, a]).flatten() {
                let Value::Int(id) = img[0] else { panic!("id") };
                keys.push((st.table.clone(), id));
                if let Some(parent_table) = st.table.strip_prefix('c') {
                    let Value::Int(pid) = img[9] else { panic!("parent_id") };
                    keys.push((format!("p{parent_table}"), pid));
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    };
    let mut last_depth: BTreeMap<(String, i64), u64> = BTreeMap::new();
    let (mut barrier, mut max_depth) = (0u64, 0u64);
    let mut group_owner: BTreeMap<(usize, u64, (String, i64)), u64> = BTreeMap::new();
    let mut overlapping = 0u64;
    for t in &d.txns {
        if t.ddl.is_some() {
            max_depth += 1;
            barrier = max_depth;
            last_depth.clear();
            continue;
        }
        let keys = keys_of(t);
        let depth = 1 + keys.iter().filter_map(|k| last_depth.get(k).copied()).fold(barrier, u64::max);
        max_depth = max_depth.max(depth);
        let mut overlaps = false;
        for k in keys {
            last_depth.insert(k.clone(), depth);
            // (file, last_committed) identifies a group.
            let owner = *group_owner.entry((t.file, t.last_committed, k)).or_insert(t.gno);
            overlaps |= owner != t.gno;
        }
        overlapping += u64::from(overlaps);
    }
    assert_eq!(summary.writeset_critical_path, max_depth);
    assert_eq!(summary.group_key_overlaps, overlapping);
    if !params.allow_group_overlap {
        assert_eq!(overlapping, 0);
    }

    // Event counts derived from the workload stream. ROWS events: a statement's rows are packed
    // into events of at most rows_event_max_size bytes of row data (at least one row each).
    let dml = expected.iter().filter(|t| matches!(t.body, TxnBody::Dml { .. })).count() as u64;
    let ddl = expected.len() as u64 - dml;
    let mut by_kind = BTreeMap::<&str, u64>::new();
    let mut statements = 0;
    for t in expected {
        if let TxnBody::Dml { statements: s } = &t.body {
            for st in s {
                statements += 1;
                let cols = &tables[st.table].def.columns;
                let (mut events, mut used) = (1u64, 0usize);
                for (b, a) in &st.rows {
                    let len: usize = [b, a].into_iter().flatten().map(|img| row_image_len(img, cols)).sum();
                    if used > 0 && used + len > params.rows_event_max_size as usize {
                        events += 1;
                        used = 0;
                    }
                    used += len;
                }
                *by_kind
                    .entry(match st.kind {
                        RowsKind::Write => "WRITE_ROWS_V2",
                        RowsKind::Update => "UPDATE_ROWS_V2",
                        RowsKind::Delete => "DELETE_ROWS_V2",
                    })
                    .or_default() += events;
            }
        }
    }
    let rows_events: u64 = by_kind.values().sum();
    assert_eq!(summary.rows_events, rows_events);
    assert_eq!(d.rows_events.values().sum::<u64>(), rows_events);
    let files = summary.files.len() as u64;
    let mut want_outer = BTreeMap::<String, u64>::new();
    let mut want_inner = BTreeMap::<String, u64>::new();
    let add = |m: &mut BTreeMap<String, u64>, k: &str, n: u64| {
        if n > 0 {
            *m.entry(k.to_string()).or_default() += n;
        }
    };
    add(&mut want_outer, "FORMAT_DESCRIPTION", files);
    add(&mut want_outer, "PREVIOUS_GTIDS", files);
    add(&mut want_outer, "ROTATE", files - 1);
    add(&mut want_outer, "GTID", expected.len() as u64);
    add(&mut want_outer, "QUERY", ddl);
    let body = if params.compress { &mut want_inner } else { &mut want_outer };
    add(body, "QUERY", dml);
    add(body, "TABLE_MAP", statements);
    add(body, "XID", dml);
    for (k, n) in &by_kind {
        add(body, k, *n);
    }
    if params.compress {
        add(&mut want_outer, "TRANSACTION_PAYLOAD", dml);
    }
    assert_eq!(d.events, want_outer);
    assert_eq!(d.payload_events, want_inner);
    assert_eq!(summary.events, want_outer);
    assert_eq!(summary.payload_events, want_inner);
    assert_eq!(d.table_maps_checked, statements);
    assert_eq!(summary.statements, statements);
    assert_eq!((summary.dml_transactions, summary.ddl_transactions), (dml, ddl));
    let rows = |k: RowsKind| -> u64 {
        expected
            .iter()
            .filter_map(|t| match &t.body {
                TxnBody::Dml { statements } => Some(statements.iter().filter(|s| s.kind == k).map(|s| s.rows.len() as u64).sum::<u64>()),
                _ => None,
            })
            .sum()
    };
    assert_eq!(
        (summary.rows_inserted, summary.rows_updated, summary.rows_deleted),
        (rows(RowsKind::Write), rows(RowsKind::Update), rows(RowsKind::Delete))
    );
    assert_eq!(summary.rows_inserted + summary.rows_updated + summary.rows_deleted, dml * u64::from(params.txn_size));

    // Files: ROTATE names the next file at position 4; PREVIOUS_GTIDS covers all earlier files.
    let uuid = parapply::gen::parse_uuid(&params.server_uuid).unwrap();
    for (i, f) in summary.files.iter().enumerate() {
        let before: u64 = summary.files[..i].iter().map(|f| f.transactions).sum();
        let want = if before == 0 { vec![] } else { vec![(uuid, vec![(1, before + 1)])] };
        assert_eq!(d.previous_gtids[i], want, "PREVIOUS_GTIDS of {}", f.name);
        if i + 1 < summary.files.len() {
            assert!(d.rotates.contains(&(i, summary.files[i + 1].name.clone(), 4)));
        }
        let in_file = d.txns.iter().filter(|t| t.file == i).count() as u64;
        assert_eq!(f.transactions, in_file);
    }
}

fn base() -> GenParams {
    GenParams { transactions: 300, tables: 3, rows: 2000, txn_size: 4, group_width: 8, ..GenParams::default() }
}

#[test]
fn plain_single_file_reads_back_exactly() {
    let (_dir, s, d, _) = run(&base());
    assert_eq!(s.files.len(), 1);
    assert_eq!(s.dml_transactions, 300);
    assert_eq!(s.setup_ddl_transactions, 4);
    assert_eq!(s.periodic_ddl_transactions, 0);
    // 4 setup groups + ceil(300 / 8) = 38 DML groups.
    assert_eq!(s.groups, 4 + 38);
    assert_eq!(d.events.get("GTID"), Some(&304));
    assert_eq!(s.rows_inserted + s.rows_updated + s.rows_deleted, 1200);
    assert_eq!(s.group_key_overlaps, 0);
}

/// The rule other tests rely on: width 8 over 800 DML transactions with no key overlap gives
/// 100 DML groups; with 4 tables the setup adds CREATE DATABASE + 4 CREATE TABLE groups.
#[test]
fn width_8_over_800_transactions_gives_critical_path_100_plus_setup() {
    let p = GenParams { transactions: 800, tables: 4, rows: 10_000, txn_size: 4, group_width: 8, ..GenParams::default() };
    let (_dir, s, d, _) = run(&p);
    assert_eq!(s.groups, 105);
    assert_eq!(s.logical_clock_critical_path, 105);
    assert_eq!(logical_clock_critical_path(&d.txns), 105);
    // The 5 setup DDLs are 5 groups of one; the DML groups are the other 100.
    assert_eq!(s.groups - s.setup_ddl_transactions, 100);
    assert!(s.writeset_critical_path <= s.logical_clock_critical_path);
}

#[test]
fn rotation_fk_pairs_periodic_ddl_and_zipf() {
    let p = GenParams {
        transactions: 400,
        tables: 2,
        fk_pairs: 2,
        rows: 500,
        txn_size: 5,
        group_width: 6,
        ddl_every: 37,
        zipf: 0.9,
        max_file_size: 64 * 1024,
        seed: 42,
        ..GenParams::default()
    };
    let (_dir, s, d, expected) = run(&p);
    assert!(s.files.len() >= 4, "expected several files, got {}", s.files.len());
    assert_eq!(s.setup_ddl_transactions, 1 + 6);
    assert_eq!(s.periodic_ddl_transactions, 399 / 37);
    // Child tables reference parents that exist: every child row's parent_id was inserted
    // before and not deleted (checked by replaying the decoded stream).
    let mut present: BTreeMap<(String, i64), ()> = BTreeMap::new();
    for t in &d.txns {
        for st in &t.statements {
            for (before, after) in &st.rows {
                if let Some(b) = before {
                    let Value::Int(id) = b[0] else { panic!() };
                    assert!(present.remove(&(st.table.clone(), id)).is_some(), "{} id {id} missing", st.table);
                }
                if let Some(a) = after {
                    let Value::Int(id) = a[0] else { panic!() };
                    assert!(present.insert((st.table.clone(), id), ()).is_none(), "{} id {id} twice", st.table);
                    if st.table.starts_with('c') {
                        let Value::Int(parent) = a[9] else { panic!() };
                        let parent_table = st.table.replacen('c', "p", 1);
                        assert!(present.contains_key(&(parent_table, parent)), "orphan child row");
                    }
                }
            }
        }
    }
    // ALTERs give the table a new table id, as MySQL does; the DDL text is as generated.
    let alters = expected.iter().filter(|t| matches!(&t.body, TxnBody::Ddl { alters: true, .. })).count();
    assert_eq!(alters, 10);
}

#[test]
fn compressed_transactions_decode_from_payloads() {
    let p = GenParams {
        transactions: 250,
        tables: 2,
        fk_pairs: 1,
        rows: 300,
        txn_size: 3,
        group_width: 4,
        ddl_every: 60,
        compress: true,
        max_file_size: 16 * 1024,
        seed: 7,
        ..GenParams::default()
    };
    let (_dir, s, d, _) = run(&p);
    assert!(s.files.len() >= 3, "files {}", s.files.len());
    assert_eq!(s.compressed_transactions, 250);
    assert_eq!(d.events.get("TRANSACTION_PAYLOAD"), Some(&250));
    assert_eq!(d.payload_events.get("XID"), Some(&250));
    assert_eq!(d.events.get("XID"), None);
}

#[test]
fn origin_lag_and_group_overlap_are_written_and_reported() {
    let p = GenParams {
        transactions: 120,
        tables: 1,
        rows: 20,
        txn_size: 3,
        group_width: 8,
        allow_group_overlap: true,
        origin_lag_us: 2_500_000,
        ..GenParams::default()
    };
    let (_dir, s, d, expected) = run(&p);
    let overlaps = expected.iter().filter(|t| t.overlaps_group).count() as u64;
    assert!(overlaps > 0);
    assert_eq!(s.group_key_overlaps, overlaps);
    assert!(d.txns.iter().all(|t| t.immediate_commit_timestamp - t.original_commit_timestamp == 2_500_000));
}

#[test]
fn same_parameters_give_byte_identical_files() {
    let p = GenParams { transactions: 100, compress: true, max_file_size: 8 * 1024, ..base() };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let sa = generate(&p, a.path()).unwrap();
    let sb = generate(&p, b.path()).unwrap();
    assert_eq!(sa, sb);
    for f in &sa.files {
        assert_eq!(std::fs::read(a.path().join(&f.name)).unwrap(), std::fs::read(b.path().join(&f.name)).unwrap());
    }
}

#[test]
fn invalid_parameters_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for p in [
        GenParams { tables: 0, fk_pairs: 0, ..base() },
        GenParams { rows: 10, ..base() },
        GenParams { zipf: -1.0, ..base() },
        GenParams { base_name: "../x".into(), ..base() },
    ] {
        assert!(matches!(generate(&p, dir.path()), Err(parapply::gen::GenError::InvalidParams(_))), "{p:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// parapply's own reader (source::file + decode + txn) on the same files.

fn parapply_value(v: &parapply::decode::value::Value, col: &ColumnDef) -> Value {
    use parapply::decode::value::Value as P;
    match (v, &col.ty) {
        (P::Null, _) => Value::Null,
        (P::Int(i), _) => Value::Int(*i),
        (P::UInt(u), _) => Value::UInt(*u),
        (P::Bytes(b), ColumnType::Varchar { .. }) => Value::Str(String::from_utf8(b.clone()).unwrap()),
        (P::Decimal(text), ColumnType::Decimal { scale, .. }) => {
            let (int_part, frac) = text.split_once('.').unwrap_or((text, ""));
            assert_eq!(frac.len(), usize::from(*scale), "decimal text {text}");
            let mag: i64 = format!("{}{}", int_part.trim_start_matches('-'), frac).parse().unwrap();
            Value::Decimal(if int_part.starts_with('-') { -mag } else { mag })
        }
        (P::DateTime { year, month, day, hour, minute, second, micros }, _) => Value::DateTime(DateTime {
            year: *year,
            month: *month,
            day: *day,
            hour: *hour,
            minute: *minute,
            second: *second,
            micros: *micros,
        }),
        (P::Enum(i), _) => Value::Enum(*i),
        (v, ty) => panic!("column {}: parapply value {v:?} for {ty:?}", col.name),
    }
}

/// parapply's decoder reads the generated files into the same transactions: count, GTIDs,
/// logical clock, sessions, commit times, sizes, and every row value.
fn check_with_parapply_reader(dir: &Path, params: &GenParams, d: &Decoded, expected: &[WorkTxn]) {
    use parapply::source::file::BinlogFiles;
    use parapply::txn::{Change, CommitDeps, Gtid, RowKind, TransactionReader};

    let tables = schema(params);
    let uuid = parapply::gen::parse_uuid(&params.server_uuid).unwrap();
    let files = BinlogFiles::open(&[dir.to_path_buf()]).unwrap();
    let txns: Vec<_> = TransactionReader::new(files).map(|t| t.unwrap()).collect();
    assert_eq!(txns.len(), expected.len());
    for ((t, m), w) in txns.iter().zip(&d.txns).zip(expected) {
        assert_eq!(t.gtid, Some(Gtid::Mysql { uuid, tag: None, gno: m.gno }));
        assert_eq!(
            t.deps,
            CommitDeps::LogicalClock { last_committed: m.last_committed as i64, sequence_number: m.sequence_number as i64 }
        );
        assert_eq!(t.commit_time_us, m.immediate_commit_timestamp);
        assert_eq!(t.server_id, params.server_id);
        assert_eq!(t.thread_id, Some(w.session));
        assert_eq!(t.size, m.tx_length, "size of gno {}", m.gno);
        match &w.body {
            TxnBody::Ddl { sql, .. } => {
                assert!(t.is_ddl);
                let queries: Vec<String> = t
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Query(q) => Some(q.text().into_owned()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(queries, vec![sql.clone()]);
            }
            TxnBody::Dml { statements } => {
                assert!(!t.is_ddl);
                let got: Vec<DecodedStatement> = t
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Rows(r) => Some(r),
                        _ => None,
                    })
                    .map(|r| {
                        let cols = &tables.iter().find(|t| t.def.name == r.table.table).unwrap().def.columns;
                        let image = |row: &Option<parapply::decode::value::Row>| {
                            row.as_ref().map(|row| {
                                row.cols
                                    .iter()
                                    .zip(cols)
                                    .map(|(v, c)| parapply_value(v.as_ref().expect("full image"), c))
                                    .collect::<Vec<_>>()
                            })
                        };
                        DecodedStatement {
                            table: r.table.table.clone(),
                            kind: match r.kind {
                                RowKind::Insert => RowsKind::Write,
                                RowKind::Update => RowsKind::Update,
                                RowKind::Delete => RowsKind::Delete,
                            },
                            rows: r.rows.iter().map(|rc| (image(&rc.before), image(&rc.after))).collect(),
                        }
                    })
                    .collect();
                // A ROWS event is one Change::Rows; a statement may span several: compare the
                // flattened row sequence.
                type Flat = Vec<(String, RowsKind, (Option<Vec<Value>>, Option<Vec<Value>>))>;
                let flat = |v: Vec<DecodedStatement>| -> Flat {
                    v.into_iter().flat_map(|s| s.rows.into_iter().map(move |r| (s.table.clone(), s.kind, r))).collect()
                };
                let want: Vec<DecodedStatement> = statements
                    .iter()
                    .map(|s| DecodedStatement { table: tables[s.table].def.name.clone(), kind: s.kind, rows: s.rows.clone() })
                    .collect();
                assert_eq!(flat(got), flat(want), "rows of gno {}", m.gno);
            }
        }
    }
}

#[test]
fn parapply_reader_agrees_plain_and_compressed_with_rotation() {
    for compress in [false, true] {
        let p = GenParams {
            transactions: 200,
            tables: 2,
            fk_pairs: 1,
            rows: 400,
            txn_size: 4,
            group_width: 5,
            ddl_every: 45,
            zipf: 1.1,
            compress,
            max_file_size: 24 * 1024,
            seed: 11,
            ..GenParams::default()
        };
        let (dir, s, d, expected) = run(&p);
        assert!(s.files.len() >= 2);
        check_with_parapply_reader(dir.path(), &p, &d, &expected);
    }
}

/// A third, unrelated reader: MariaDB's `mariadb-binlog` (installed with the MariaDB server the
/// integration tests use) verifies every CRC and decodes the row events.
#[test]
fn mariadb_binlog_verifies_checksums_and_decodes_rows() {
    let p = GenParams { transactions: 60, tables: 2, rows: 500, txn_size: 3, group_width: 4, ..GenParams::default() };
    let dir = tempfile::tempdir().unwrap();
    let s = generate(&p, dir.path()).unwrap();
    let out = std::process::Command::new("mariadb-binlog")
        .args(["--verify-binlog-checksum", "--verbose", "--base64-output=decode-rows"])
        .arg(dir.path().join(&s.files[0].name))
        .output()
        .expect("mariadb-binlog is installed with MariaDB");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "mariadb-binlog failed: {}", String::from_utf8_lossy(&out.stderr));
    let count = |needle: &str| text.lines().filter(|l| l.starts_with(needle)).count() as u64;
    assert_eq!(count("### INSERT INTO `gen`."), s.rows_inserted);
    assert_eq!(count("### UPDATE `gen`."), s.rows_updated);
    assert_eq!(count("### DELETE FROM `gen`."), s.rows_deleted);
    assert_eq!(count("COMMIT/*!*/;"), s.dml_transactions);
    assert_eq!(text.matches("Ignorable event type 33 (MySQL Gtid)").count() as u64, s.transactions);
}

/// The committed sets in fixtures/generated are valid (same checks as above, on the committed
/// bytes) and still what the generator writes from their recorded parameters. If this fails
/// after a change to src/gen/, run tools/gen-fixtures and commit the result.
#[test]
fn committed_generated_fixtures_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated");
    let mut sets: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("summary.json").is_file())
        .collect();
    sets.sort();
    let names: Vec<String> = sets.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["mysql80-compressed", "mysql80-groups", "mysql80-overlap", "mysql80-rotate-fk-ddl"]);
    for set in &sets {
        let committed: GenSummary = serde_json::from_slice(&std::fs::read(set.join("summary.json")).unwrap()).unwrap();
        let p = committed.params.clone();
        let decoded = decode_with_mysql_common(set, &p, &committed);
        let expected: Vec<WorkTxn> = Workload::new(&p).unwrap().map(|t| t.unwrap()).collect();
        check_against_workload(&p, &committed, &decoded, &expected);
        let tmp = tempfile::tempdir().unwrap();
        let fresh = generate(&p, tmp.path()).unwrap();
        assert_eq!(fresh, committed, "{}: summary differs, run tools/gen-fixtures", set.display());
        for f in &fresh.files {
            assert!(
                std::fs::read(tmp.path().join(&f.name)).unwrap() == std::fs::read(set.join(&f.name)).unwrap(),
                "{}/{}: bytes differ, run tools/gen-fixtures",
                set.display(),
                f.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The workload is a valid stream: it applies to a real server (MariaDB, with InnoDB enforcing
// the primary, unique and foreign keys) in source order, every UPDATE/DELETE matches exactly the
// before image, and the final tables equal the replayed images.

fn sql_param(v: &Value, col: &ColumnDef) -> mysql_async::Value {
    use mysql_async::Value as M;
    match v {
        Value::Null => M::NULL,
        Value::Int(i) => M::Int(*i),
        Value::UInt(u) => M::UInt(*u),
        Value::Str(s) => M::Bytes(s.clone().into_bytes()),
        Value::Decimal(d) => match col.ty {
            ColumnType::Decimal { scale, .. } => M::Bytes(parapply::gen::encode::decimal_to_string(*d, scale).into_bytes()),
            _ => panic!("decimal in {}", col.name),
        },
        Value::DateTime(t) => M::Date(t.year, t.month, t.day, t.hour, t.minute, t.second, t.micros),
        Value::Enum(i) => match &col.ty {
            ColumnType::Enum { values } => M::Bytes(values[usize::from(*i) - 1].clone().into_bytes()),
            _ => panic!("enum in {}", col.name),
        },
    }
}

/// Text a server prints for a value (text protocol).
fn sql_text(v: &Value, col: &ColumnDef) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Str(s) => s.clone(),
        Value::Decimal(d) => match col.ty {
            ColumnType::Decimal { scale, .. } => parapply::gen::encode::decimal_to_string(*d, scale),
            _ => unreachable!(),
        },
        Value::DateTime(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            t.year, t.month, t.day, t.hour, t.minute, t.second, t.micros
        ),
        Value::Enum(i) => match &col.ty {
            ColumnType::Enum { values } => values[usize::from(*i) - 1].clone(),
            _ => unreachable!(),
        },
    })
}

#[test]
fn workload_applies_cleanly_to_a_real_server_with_keys_enforced() {
    use mysql_async::prelude::Queryable;

    let p = GenParams {
        transactions: 300,
        tables: 2,
        fk_pairs: 1,
        rows: 150,
        txn_size: 4,
        group_width: 6,
        ddl_every: 70,
        zipf: 0.8,
        seed: 5,
        ..GenParams::default()
    };
    let tables = schema(&p);
    let txns: Vec<WorkTxn> = Workload::new(&p).unwrap().map(|t| t.unwrap()).collect();
    let sb = common::Sandbox::start(&["C"], "");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(&sb.url("C")).unwrap()).await.unwrap();
        let mut state: BTreeMap<(String, i64), Vec<Value>> = BTreeMap::new();
        for t in &txns {
            match &t.body {
                TxnBody::Ddl { sql, .. } => conn.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")),
                TxnBody::Dml { statements } => {
                    conn.query_drop("BEGIN").await.unwrap();
                    for st in statements {
                        let def = &tables[st.table].def;
                        let name = format!("`gen`.`{}`", def.name);
                        let cols = &def.columns;
                        for (before, after) in &st.rows {
                            if let Some(b) = before {
                                let Value::Int(id) = b[0] else { panic!() };
                                let current = state.remove(&(def.name.clone(), id)).expect("before image of a present row");
                                assert_eq!(&current, b, "before image of {} id {id}", def.name);
                                let mut params: Vec<mysql_async::Value> = Vec::new();
                                let set = match after {
                                    Some(a) => {
                                        params.extend(a.iter().zip(cols).map(|(v, c)| sql_param(v, c)));
                                        let set: Vec<String> = cols.iter().map(|c| format!("`{}` = ?", c.name)).collect();
                                        format!("UPDATE {name} SET {}", set.join(", "))
                                    }
                                    None => format!("DELETE FROM {name}"),
                                };
                                params.extend(b.iter().zip(cols).map(|(v, c)| sql_param(v, c)));
                                let cond: Vec<String> = cols.iter().map(|c| format!("`{}` <=> ?", c.name)).collect();
                                let stmt = format!("{set} WHERE {}", cond.join(" AND "));
                                conn.exec_drop(&stmt, params).await.unwrap_or_else(|e| panic!("{stmt}: {e}"));
                                assert_eq!(conn.affected_rows(), 1, "{stmt} on id {id} (gno {})", t.index + 1);
                            }
                            if let Some(a) = after {
                                let Value::Int(id) = a[0] else { panic!() };
                                if before.is_none() {
                                    let marks = vec!["?"; cols.len()].join(", ");
                                    let stmt = format!("INSERT INTO {name} VALUES ({marks})");
                                    let params: Vec<mysql_async::Value> = a.iter().zip(cols).map(|(v, c)| sql_param(v, c)).collect();
                                    conn.exec_drop(&stmt, params).await.unwrap_or_else(|e| panic!("{stmt} id {id}: {e}"));
                                }
                                assert!(state.insert((def.name.clone(), id), a.clone()).is_none());
                            }
                        }
                    }
                    conn.query_drop("COMMIT").await.unwrap();
                }
            }
        }
        // Final contents equal the replayed images, table by table.
        let mut total = 0;
        for t in &tables {
            let rows: Vec<mysql_async::Row> =
                conn.query(format!("SELECT * FROM `gen`.`{}` ORDER BY `id`", t.def.name)).await.unwrap();
            let got: Vec<Vec<Option<String>>> = rows
                .into_iter()
                .map(|r| {
                    r.unwrap()
                        .into_iter()
                        .map(|v| match v {
                            mysql_async::Value::NULL => None,
                            mysql_async::Value::Bytes(b) => Some(String::from_utf8(b).unwrap()),
                            other => panic!("text protocol value {other:?}"),
                        })
                        .collect()
                })
                .collect();
            let want: Vec<Vec<Option<String>>> = state
                .iter()
                .filter(|((name, _), _)| *name == t.def.name)
                .map(|(_, vals)| vals.iter().zip(&t.def.columns).map(|(v, c)| sql_text(v, c)).collect())
                .collect();
            assert!(!want.is_empty(), "table {} ends empty", t.def.name);
            total += want.len();
            assert_eq!(got, want, "contents of {}", t.def.name);
        }
        assert!(total > 100);
        conn.disconnect().await.unwrap();
    });
}

/// The active-binlog shape: the last file's FDE keeps LOG_EVENT_BINLOG_IN_USE_F (CRC computed
/// with it cleared); also a different original_server_version. All readers accept it.
#[test]
fn last_file_in_use_and_original_server_version() {
    let p = GenParams {
        transactions: 120,
        compress: false,
        max_file_size: 20 * 1024,
        last_file_in_use: true,
        original_server_version: 80035,
        ..base()
    };
    let (dir, s, d, expected) = run(&p);
    assert!(s.files.len() >= 2);
    for (i, f) in s.files.iter().enumerate() {
        let bytes = std::fs::read(dir.path().join(&f.name)).unwrap();
        let fde_flags = u16::from_le_bytes([bytes[4 + 17], bytes[4 + 18]]);
        assert_eq!(fde_flags, u16::from(i + 1 == s.files.len()), "{}", f.name);
    }
    assert!(d.txns.iter().all(|t| t.original_server_version == 80035 && t.immediate_server_version == 80036));
    check_with_parapply_reader(dir.path(), &p, &d, &expected);
    let last = dir.path().join(&s.files.last().unwrap().name);
    let out = std::process::Command::new("mariadb-binlog").arg("--verify-binlog-checksum").arg(&last).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

// ---------------------------------------------------------------------------------------------
// Encoder property test: any table of the supported column types (DECIMAL of every precision
// and scale up to 18 digits, DATETIME of every fsp, VARCHAR on both sides of the 1/2-byte
// length prefix, ENUM with 1- and 2-byte indexes, nullable or not) and any values, edge values
// included, round-trip through mysql_common in WRITE, UPDATE and DELETE events.

mod encoder_props {
    use super::*;
    use parapply::gen::encode::{self, event_type, EventHeader, Placement, TableDef};
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn column_type() -> impl Strategy<Value = ColumnType> {
        prop_oneof![
            any::<bool>().prop_map(|unsigned| ColumnType::BigInt { unsigned }),
            any::<bool>().prop_map(|unsigned| ColumnType::Int { unsigned }),
            (1u16..=300).prop_map(|max_chars| ColumnType::Varchar { max_chars }),
            (1u8..=18).prop_flat_map(|precision| (0..=precision).prop_map(move |scale| ColumnType::Decimal { precision, scale })),
            (0u8..=6).prop_map(|fsp| ColumnType::DateTime { fsp }),
            (1usize..=300).prop_map(|n| ColumnType::Enum { values: (1..=n).map(|i| format!("v{i}")).collect() }),
        ]
    }

    const CHARS: &[char] = &['a', 'Z', '0', ' ', 'é', 'Ж', '漢', '😀'];

    fn value(rng: &mut StdRng, col: &ColumnDef) -> Value {
        if col.nullable && rng.gen_ratio(1, 5) {
            return Value::Null;
        }
        let edge = rng.gen_ratio(1, 4);
        match &col.ty {
            ColumnType::BigInt { unsigned: false } => {
                Value::Int(if edge { [i64::MIN, i64::MAX, 0, -1][rng.gen_range(0..4)] } else { rng.gen() })
            }
            ColumnType::BigInt { unsigned: true } => {
                Value::UInt(if edge { [0, u64::MAX, 1 << 63][rng.gen_range(0..3)] } else { rng.gen() })
            }
            ColumnType::Int { unsigned: false } => Value::Int(i64::from(if edge {
                [i32::MIN, i32::MAX, 0, -1][rng.gen_range(0..4)]
            } else {
                rng.gen()
            })),
            ColumnType::Int { unsigned: true } => {
                Value::UInt(u64::from(if edge { [0, u32::MAX][rng.gen_range(0..2)] } else { rng.gen::<u32>() }))
            }
            ColumnType::Varchar { max_chars } => {
                let n = if edge { usize::from(*max_chars) } else { rng.gen_range(0..=usize::from(*max_chars)) };
                Value::Str((0..n).map(|_| CHARS[rng.gen_range(0..CHARS.len())]).collect())
            }
            ColumnType::Decimal { precision, .. } => {
                let max = 10i64.pow(u32::from(*precision)) - 1;
                Value::Decimal(if edge { [max, -max, 0][rng.gen_range(0..3)] } else { rng.gen_range(-max..=max) })
            }
            ColumnType::DateTime { fsp } => {
                let unit = 10u32.pow(6 - u32::from(*fsp));
                let micros = rng.gen_range(0..1_000_000u32);
                Value::DateTime(DateTime {
                    year: rng.gen_range(1000..=9999),
                    month: rng.gen_range(1..=12),
                    day: rng.gen_range(1..=28),
                    hour: rng.gen_range(0..24),
                    minute: rng.gen_range(0..60),
                    second: rng.gen_range(0..60),
                    micros: micros - micros % unit,
                })
            }
            ColumnType::Enum { values } => Value::Enum(rng.gen_range(1..=values.len() as u16)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn any_table_and_values_round_trip_through_mysql_common(
            types in prop::collection::vec((column_type(), any::<bool>()), 1..12),
            seed in any::<u64>(),
            nrows in 1usize..4,
        ) {
            let columns: Vec<ColumnDef> = types
                .into_iter()
                .enumerate()
                .map(|(i, (ty, nullable))| ColumnDef { name: format!("col{i}"), ty, nullable })
                .collect();
            let t = TableDef { schema: "s".into(), name: "t".into(), columns, primary_key: vec![] };
            let mut rng = StdRng::seed_from_u64(seed);
            let rows: Vec<Vec<Value>> = (0..nrows).map(|_| t.columns.iter().map(|c| value(&mut rng, c)).collect()).collect();

            let mut file = vec![0xfe, b'b', b'i', b'n'];
            let put = |file: &mut Vec<u8>, type_code: u8, body: &[u8]| {
                let h = EventHeader { timestamp: 1, type_code, server_id: 1, flags: 0 };
                let start = file.len() as u64;
                encode::frame_event(file, h, body, Placement::File { start }).unwrap();
            };
            put(&mut file, event_type::FORMAT_DESCRIPTION, &encode::format_description_body(0));
            put(&mut file, event_type::TABLE_MAP, &encode::table_map_body(7, &t));
            let writes: Vec<encode::RowRef<'_>> = rows.iter().map(|r| (None, Some(&r[..]))).collect();
            put(&mut file, event_type::WRITE_ROWS_V2, &encode::rows_body(RowsKind::Write, 7, &t, 1, &writes).unwrap());
            let updates: Vec<encode::RowRef<'_>> = rows.iter().zip(rows.iter().rev()).map(|(b, a)| (Some(&b[..]), Some(&a[..]))).collect();
            put(&mut file, event_type::UPDATE_ROWS_V2, &encode::rows_body(RowsKind::Update, 7, &t, 1, &updates).unwrap());
            let deletes: Vec<encode::RowRef<'_>> = rows.iter().map(|r| (Some(&r[..]), None)).collect();
            put(&mut file, event_type::DELETE_ROWS_V2, &encode::rows_body(RowsKind::Delete, 7, &t, 1, &deletes).unwrap());

            let mut reader = BinlogFile::new(BinlogVersion::Version4, &file[..]).unwrap();
            let mut decoded: Vec<Vec<(Option<Vec<Value>>, Option<Vec<Value>>)>> = Vec::new();
            while let Some(ev) = reader.next() {
                let ev = ev.unwrap();
                let alg = ev.footer().get_checksum_alg().unwrap().unwrap();
                prop_assert_eq!(ev.checksum(), Some(ev.calc_checksum(alg).to_le_bytes()));
                if let Some(EventData::RowsEvent(r)) = ev.read_data().unwrap() {
                    let tme = reader.reader().get_tme(r.table_id()).unwrap();
                    let conv = |row: Option<mysql_common::binlog::row::BinlogRow>| {
                        row.map(|row| row.unwrap().iter().zip(&t.columns).map(|(v, c)| my_to_value(v, c)).collect::<Vec<_>>())
                    };
                    decoded.push(r.rows(tme).map(|x| { let (b, a) = x.unwrap(); (conv(b), conv(a)) }).collect());
                }
            }
            let owned = |v: &[encode::RowRef<'_>]| -> Vec<(Option<Vec<Value>>, Option<Vec<Value>>)> {
                v.iter().map(|(b, a)| (b.map(|x| x.to_vec()), a.map(|x| x.to_vec()))).collect()
            };
            let want = vec![owned(&writes), owned(&updates), owned(&deletes)];
            prop_assert_eq!(&decoded, &want);

            // parapply's decoder on the same bytes.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("binlog.000001");
            std::fs::write(&path, &file).unwrap();
            let mut ours = Vec::new();
            for ev in parapply::source::file::BinlogFiles::open(&[path]).unwrap() {
                if let parapply::decode::event::EventData::Rows(r) = ev.unwrap().data {
                    let conv = |row: &Option<parapply::decode::value::Row>| {
                        row.as_ref().map(|row| {
                            row.cols.iter().zip(&t.columns).map(|(v, c)| parapply_value(v.as_ref().unwrap(), c)).collect::<Vec<_>>()
                        })
                    };
                    ours.push(r.rows.iter().map(|(b, a)| (conv(b), conv(a))).collect::<Vec<_>>());
                }
            }
            prop_assert_eq!(&ours, &want);
        }
    }
}

/// Big statements: up to 300 rows each, split into several ROWS events at 4 KB; only the last
/// event of a statement has STMT_END_F (checked while decoding), and rows reassemble exactly.
#[test]
fn big_statements_split_over_several_rows_events() {
    let p = GenParams {
        transactions: 24,
        tables: 2,
        fk_pairs: 1,
        rows: 50_000,
        txn_size: 600,
        group_width: 3,
        max_statement_rows: 300,
        rows_event_max_size: 4096,
        compress: false,
        max_file_size: 512 * 1024,
        seed: 9,
        ..GenParams::default()
    };
    let (dir, s, d, expected) = run(&p);
    assert!(s.rows_events > s.statements + 100, "rows events {} statements {}", s.rows_events, s.statements);
    assert_eq!(s.rows_inserted + s.rows_updated + s.rows_deleted, 24 * 600);
    check_with_parapply_reader(dir.path(), &p, &d, &expected);
    let pc = GenParams { compress: true, ..p };
    let (dir, s, d, expected) = run(&pc);
    assert!(s.rows_events > s.statements + 100);
    check_with_parapply_reader(dir.path(), &pc, &d, &expected);
}

/// `parapply gen` maps its flags onto GenParams and prints the same summary as the library.
#[test]
fn cli_prints_the_library_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["gen", "--json", "--transactions", "50", "--tables", "2", "--rows", "500", "--txn-size", "3"])
        .args(["--group-width", "5", "--ddl-every", "20", "--fk-pairs", "1", "--compress", "--zipf", "0.5"])
        .args(["--max-file-size", "20000", "--seed", "3", "--allow-group-overlap", "--origin-lag-us", "7"])
        .args(["--last-file-in-use", "--statement-rows", "2", "--rows-event-max-size", "1000", "--base-name", "mysql-bin"])
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: GenSummary = serde_json::from_slice(&out.stdout).unwrap();
    let want = GenParams {
        base_name: "mysql-bin".into(),
        transactions: 50,
        tables: 2,
        rows: 500,
        txn_size: 3,
        group_width: 5,
        ddl_every: 20,
        fk_pairs: 1,
        compress: true,
        zipf: 0.5,
        max_file_size: 20000,
        seed: 3,
        allow_group_overlap: true,
        origin_lag_us: 7,
        last_file_in_use: true,
        max_statement_rows: 2,
        rows_event_max_size: 1000,
        ..GenParams::default()
    };
    assert_eq!(printed.params, want);
    let again = tempfile::tempdir().unwrap();
    assert_eq!(generate(&want, again.path()).unwrap(), printed);
    assert_eq!(printed.files[0].name, "mysql-bin.000001");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["gen", "--rows", "0", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--rows"), "{}", String::from_utf8_lossy(&bad.stderr));
}
