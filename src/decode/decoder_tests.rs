//! Decoder tests on the real fixture binlogs in `../shared/fixtures/binlog` (read in place).

use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::decode::event::*;
use crate::decode::value::Value;

pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/binlog")
}

pub(crate) fn read_fixture(rel: &str) -> Vec<u8> {
    let p = fixtures_dir().join(rel);
    if rel.ends_with(".gz") {
        let out = std::process::Command::new("gzip").arg("-dc").arg(&p).output().expect("gzip runs");
        assert!(out.status.success(), "gzip -dc {}", p.display());
        return out.stdout;
    }
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Simple file framing: 4-byte magic, then events by header.event_size. Returns the events
/// decoded and the first error (decoding stops there).
pub(crate) fn walk_bytes(bytes: &[u8], name: &str, dec: &mut Decoder) -> (Vec<Event>, Option<DecodeError>) {
    let file: Arc<str> = Arc::from(name);
    let mut events = Vec::new();
    if bytes.len() < 4 || bytes[..4] != [0xFE, b'b', b'i', b'n'] {
        return (events, Some(DecodeError { file: name.into(), offset: 0, what: "no binlog magic".into() }));
    }
    let mut pos = 4usize;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let size = parse_header(rest).map_or(rest.len(), |h| h.event_size as usize);
        let raw = &rest[..size.min(rest.len())];
        match dec.decode(raw, &file, pos as u64) {
            Ok(ev) => events.push(ev),
            Err(e) => return (events, Some(e)),
        }
        // A zero-sized header would loop forever; the decoder rejects it (size mismatch).
        pos += size.max(1);
    }
    (events, None)
}

pub(crate) fn walk(rel: &str) -> (Vec<Event>, Option<DecodeError>) {
    let bytes = read_fixture(rel);
    walk_bytes(&bytes, rel, &mut Decoder::new())
}

fn walk_ok(rel: &str) -> Vec<Event> {
    let (events, err) = walk(rel);
    if let Some(e) = err {
        panic!("{rel}: {e}");
    }
    events
}

fn rows_of(events: &[Event]) -> Vec<&RowsEvent> {
    events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Rows(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
#[ignore = "debug helper: DUMP=path cargo test dump -- --ignored --nocapture"]
fn dump() {
    let rel = std::env::var("DUMP").expect("DUMP=fixture path");
    let (events, err) = walk(&rel);
    for e in &events {
        println!("@{} type={} {:?}", e.offset, e.header.event_type, e.data);
    }
    println!("error: {err:?}");
}

/// Every binlog listed in PROVENANCE.md with its event histogram (file, [(NAME, count)]),
/// payload inner events included under "payload inner".
fn provenance() -> Vec<(String, Vec<(String, usize)>)> {
    let text = std::fs::read_to_string(fixtures_dir().join("PROVENANCE.md")).expect("PROVENANCE.md");
    let mut out = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | file | origin | commit | size | server | crc | events |
        if cells.len() < 9 || !cells[1].contains('/') || cells[5].contains("companion") || cells[5].contains("empty") {
            continue;
        }
        let mut hist = Vec::new();
        let events = cells[7].replace("payload inner:", ";");
        for part in events.split(';').flat_map(|s| s.split(',')) {
            if let Some((name, n)) = part.trim().split_once(':') {
                if let Ok(n) = n.trim().parse::<usize>() {
                    hist.push((name.trim().to_string(), n));
                }
            }
        }
        out.push((cells[1].to_string(), hist));
    }
    out
}

/// PROVENANCE.md's spelling of an event type.
fn provenance_name(t: u8) -> String {
    match t {
        160 => "MARIA_ANNOTATE_ROWS".into(),
        161 => "MARIA_BINLOG_CHECKPOINT".into(),
        162 => "MARIA_GTID".into(),
        163 => "MARIA_GTID_LIST".into(),
        t if event_type_name(t) == "UNKNOWN" => format!("UNKNOWN_{t}"),
        t => event_type_name(t).to_string(),
    }
}

fn histogram(events: &[Event]) -> std::collections::BTreeMap<String, usize> {
    let mut h = std::collections::BTreeMap::new();
    for e in events {
        *h.entry(provenance_name(e.header.event_type)).or_insert(0) += 1;
        if let EventData::TransactionPayload(inner) = &e.data {
            for (ih, _) in inner {
                *h.entry(provenance_name(ih.event_type)).or_insert(0) += 1;
            }
        }
    }
    h
}

/// Fixtures that do not decode to the end, with the exact reason (checked by their own tests).
const EXPECTED_FAILURES: [&str; 4] = [
    "rust_mysql_common/binlog_truncated_event.000001",
    "rust_mysql_common/binlog_truncated_prev_gtid_event.000001",
    "rust_mysql_common/corrupt-relay-bin.000624",
    "rust_mysql_common/json.binlog.000001",
];

#[test]
fn every_fixture_decodes_with_the_provenance_histogram() {
    let files = provenance();
    assert!(files.len() >= 100, "PROVENANCE.md lists {} binlogs", files.len());
    let mut checked = 0;
    for (file, expected) in files {
        if EXPECTED_FAILURES.contains(&file.as_str()) {
            continue;
        }
        let events = walk_ok(&file);
        let mut summed = std::collections::BTreeMap::new();
        for (name, n) in expected {
            *summed.entry(name).or_insert(0) += n;
        }
        let expected = summed;
        assert_eq!(histogram(&events), expected, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 107);
}

#[test]
#[ignore = "debug helper"]
fn walk_all_report() {
    for (file, _) in provenance() {
        let (events, err) = walk(&file);
        println!("{file}: {} events, err={:?}", events.len(), err.map(|e| e.to_string()));
    }
}

// ---- error paths on real files ----

#[test]
fn truncated_event_fixture_names_offset() {
    let (events, err) = walk("rust_mysql_common/binlog_truncated_event.000001");
    assert!(events.is_empty());
    assert_eq!(
        err.expect("error").to_string(),
        "rust_mysql_common/binlog_truncated_event.000001 at offset 4: truncated event: 10 bytes, shorter than the 19-byte header"
    );
}

#[test]
fn truncated_previous_gtids_fixture_names_offset() {
    let (events, err) = walk("rust_mysql_common/binlog_truncated_prev_gtid_event.000001");
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0].data, EventData::FormatDescription(_)));
    let err = err.expect("error");
    assert_eq!(err.offset, 120);
    assert_eq!(err.what, "truncated event: 9 bytes, shorter than the 19-byte header");
}

#[test]
fn truncated_previous_gtids_body_is_an_error_not_a_panic() {
    // Same file, but hand the decoder the event as the header announces it, cut short: the
    // body parser (not only the framing) must refuse it.
    let bytes = read_fixture("rust_mysql_common/binlog_truncated_prev_gtid_event.000001");
    let file: Arc<str> = Arc::from("t");
    let mut dec = Decoder::new();
    let fde_size = parse_header(&bytes[4..]).unwrap().event_size as usize;
    dec.decode(&bytes[4..4 + fde_size], &file, 4).unwrap();
    // Pad the 9 trailing bytes into a 19-byte header claiming a 31-byte PREVIOUS_GTIDS whose
    // body is too short for its u64 header.
    let mut raw = bytes[4 + fde_size..].to_vec();
    raw.resize(19, 0);
    raw[4] = et::PREVIOUS_GTIDS;
    raw[9..13].copy_from_slice(&31u32.to_le_bytes());
    raw.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // 8-byte header, sid count 1
    let crc = crc32fast::hash(&raw);
    raw.extend_from_slice(&crc.to_le_bytes());
    let err = dec.decode(&raw, &file, 120).unwrap_err();
    assert_eq!(
        err.what,
        "PREVIOUS_GTIDS event (type 35): PREVIOUS_GTIDS sid count = 1 exceeds the 0 bytes left (at byte 19 of the event, file offset 139)"
    );
}

#[test]
fn corrupt_relay_log_query_is_reported_at_its_offset() {
    let (events, err) = walk("rust_mysql_common/corrupt-relay-bin.000624");
    assert_eq!(events.len(), 872);
    let err = err.expect("error");
    assert_eq!(err.offset, 91204);
    assert_eq!(
        err.what,
        "QUERY event (type 2): truncated reading QUERY status vars: need 16949 bytes, 139 left (at byte 32 of the event, file offset 91236)"
    );
}

#[test]
fn crc_mismatch_names_file_offset_type_and_both_crcs() {
    let mut bytes = read_fixture("rust_mysql_common/mariadb-bin.000001");
    bytes[372 + 30] ^= 0xFF; // inside the ANNOTATE_ROWS text
    let (events, err) = walk_bytes(&bytes, "m.bin", &mut Decoder::new());
    assert_eq!(events.len(), 4);
    let err = err.expect("error");
    assert_eq!(err.file, "m.bin");
    assert_eq!(err.offset, 372);
    assert!(
        err.what.starts_with("ANNOTATE_ROWS event (type 160): CRC32 mismatch: expected 0x"),
        "{}",
        err.what
    );
    assert!(err.what.contains(", actual 0x"), "{}", err.what);
    // With verification off the (corrupted) text decodes.
    let mut dec = Decoder::new();
    dec.set_verify_checksum(false);
    let (events, err) = walk_bytes(&bytes, "m.bin", &mut dec);
    assert!(err.is_none());
    assert_eq!(events.len(), 13);
}

#[test]
fn fde_checksum_verifies_with_in_use_flag_cleared() {
    let events = walk_ok("rust_mysql_common/mariadb-bin.000001");
    // The FDE of this file still has LOG_EVENT_BINLOG_IN_USE_F set, and verified.
    assert_eq!(events[0].header.flags & 1, 1);
    let bytes = read_fixture("rust_mysql_common/mariadb-bin.000001");
    // Verifying it as stored must fail: proves the quirk is needed and applied.
    assert_ne!(crc32fast::hash(&bytes[4..252]), u32::from_le_bytes(bytes[252..256].try_into().unwrap()));
}

#[test]
fn rows_for_unknown_table_id_is_an_error_naming_it() {
    let bytes = read_fixture("rust_mysql_common/mariadb-bin.000001");
    let file: Arc<str> = Arc::from("m");
    let mut dec = Decoder::new();
    dec.decode(&bytes[4..256], &file, 4).unwrap();
    let err = dec.decode(&bytes[612..671], &file, 612).unwrap_err();
    assert_eq!(
        err.to_string(),
        "m at offset 612: WRITE_ROWS_V1 event (type 23): ROWS event for unknown table id 38 (no TABLE_MAP seen for it) (at byte 19 of the event, file offset 631)"
    );
}

#[test]
fn partial_json_without_before_image_keeps_the_diffs() {
    // MINIMAL row image: the before image holds only the key, so the JSON column's new value is
    // the diff list itself (the applier replays it on the target's document).
    let (events, err) = walk("rust_mysql_common/json.binlog.000001");
    assert!(err.is_none(), "{err:?}");
    assert_eq!(events.len(), 36);
    let ev = events.iter().find(|e| e.offset == 3750).unwrap();
    let EventData::Rows(r) = &ev.data else { panic!("{:?}", ev.data) };
    assert_eq!((r.kind, r.rows.len()), (RowsEventKind::PartialUpdate, 6));
    let (before, after) = &r.rows[0];
    assert_eq!(before.as_ref().unwrap().cols, vec![Some(Value::Int(1)), None, None, None]);
    let diff = crate::decode::json::JsonDiff { op: crate::decode::json::JsonDiffOp::Replace, path: "$.age".into(), value: Some("26".into()) };
    assert_eq!(after.as_ref().unwrap().cols[1], Some(Value::JsonDiff(vec![diff])));
    assert_eq!(after.as_ref().unwrap().cols[1].as_ref().unwrap().to_string(), "JSON_REPLACE(@col, '$.age', 26)");
}

#[test]
fn event_size_mismatch_is_an_error() {
    let bytes = read_fixture("rust_mysql_common/mariadb-bin.000001");
    let err = Decoder::new().decode(&bytes[4..200], &Arc::from("m"), 4).unwrap_err();
    assert_eq!(
        err.what,
        "FORMAT_DESCRIPTION event (type 15): header says event_size 252 but 196 bytes were given (at byte 9 of the event, file offset 13)"
    );
}

// ---- exact values per event type ----

#[test]
fn mariadb_file_fde_gtid_list_checkpoint_gtid_annotate_table_map_rows_xid() {
    let events = walk_ok("rust_mysql_common/mariadb-bin.000001");
    let offsets: Vec<u64> = events.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, [4, 256, 285, 330, 372, 476, 612, 671, 702, 744, 848, 984, 1043]);
    let EventData::FormatDescription(f) = &events[0].data else { panic!() };
    assert_eq!(f.server_version, "10.5.15-MariaDB-1:10.5.15+maria~focal-log");
    assert_eq!((f.binlog_version, f.create_timestamp, f.header_length), (4, 1650493071, 19));
    assert_eq!(f.checksum_alg, Some(1));
    assert!(f.is_mariadb());
    assert_eq!(f.post_header_lengths.len(), 171);
    assert_eq!(f.post_header_lengths[usize::from(et::QUERY) - 1], 13);
    assert_eq!(events[1].data, EventData::MariadbGtidList(vec![]));
    assert_eq!(events[2].data, EventData::MariadbBinlogCheckpoint("mariadb-bin.000001".into()));
    assert_eq!(
        events[3].data,
        EventData::MariadbGtid(MariadbGtidEvent { seq_no: 1, domain_id: 0, server_id: 1, flags2: 12, commit_id: None, xid: None })
    );
    assert_eq!(
        events[4].data,
        EventData::RowsQuery("insert into outbox (topic, event_type, event) values ('foo', 'JSON', '{\"foo\":1}')".into())
    );
    let EventData::TableMap(tm) = &events[5].data else { panic!() };
    assert_eq!((tm.table_id, tm.schema.as_str(), tm.table.as_str()), (38, "toddy_test", "outbox"));
    assert_eq!(tm.primary_key, vec![0]);
    assert!(tm.has_full_metadata);
    let cols: Vec<(u8, u8, u16, bool, Option<&str>, Option<bool>, Option<u16>)> = tm
        .columns
        .iter()
        .map(|c| (c.column_type, c.real_type, c.meta, c.nullable, c.name.as_deref(), c.unsigned, c.collation))
        .collect();
    assert_eq!(
        cols,
        vec![
            (3, 3, 0, false, Some("id"), Some(false), None),
            (15, 15, 1020, false, Some("topic"), None, Some(45)),
            (254, 247, 1, true, Some("event_type"), None, Some(45)),
            (252, 252, 2, false, Some("event"), None, Some(63)),
            (17, 17, 0, false, Some("created"), None, None),
        ]
    );
    assert_eq!(tm.columns[2].enum_values, vec![b"BLOB".to_vec(), b"JSON".to_vec(), b"PROTOBUF".to_vec()]);
    let EventData::Rows(r) = &events[6].data else { panic!() };
    assert_eq!((r.kind, r.table_id, r.flags, r.is_stmt_end()), (RowsEventKind::Write, 38, 1, true));
    assert!(Arc::ptr_eq(&r.table, tm));
    assert_eq!(
        r.rows,
        vec![(
            None,
            Some(crate::decode::value::Row {
                cols: vec![
                    Some(Value::Int(62)),
                    Some(Value::Bytes(b"foo".to_vec())),
                    Some(Value::Enum(2)),
                    Some(Value::Bytes(b"{\"foo\":1}".to_vec())),
                    Some(Value::Timestamp { secs: 1650493084, micros: 0 }),
                ]
            })
        )]
    );
    assert_eq!(events[7].data, EventData::Xid(800));
    // The second, byte-identical TABLE_MAP comes from the cache: same Arc.
    let EventData::TableMap(tm2) = &events[10].data else { panic!() };
    assert!(Arc::ptr_eq(tm, tm2));
    assert_eq!(events[12].data, EventData::Xid(820));
    assert_eq!(&*events[12].file, "rust_mysql_common/mariadb-bin.000001");
}

#[test]
fn mysql8_gtid_query_status_vars_enum_set_rows() {
    let events = walk_ok("rust_mysql_common/mysql-enum-string-set.000001");
    let EventData::MysqlGtid(g) = &events[2].data else { panic!() };
    assert_eq!(
        *g,
        MysqlGtidEvent {
            flags: 1,
            uuid: [0x93, 0xe9, 0x50, 0x66, 0xa2, 0xf4, 0x11, 0xec, 0x9b, 0x69, 0x96, 0x57, 0xf0, 0xae, 0x95, 0xe2],
            gno: 1,
            tag: None,
            anonymous: false,
            last_committed: Some(0),
            sequence_number: Some(1),
            immediate_commit_timestamp: Some(1647193191638429),
            original_commit_timestamp: Some(1647193191638429),
            transaction_length: Some(336),
            immediate_server_version: Some(80028),
            original_server_version: Some(80028),
            commit_group_ticket: None,
        }
    );
    let EventData::Query(q) = &events[3].data else { panic!() };
    assert_eq!((q.thread_id, q.exec_time, q.error_code, q.schema.as_str()), (8, 0, 0, ""));
    assert!(q.text().starts_with("ALTER USER 'root'@'localhost' IDENTIFIED WITH 'caching_sha2_password' AS"));
    assert_eq!(q.sql_mode, Some(1168113696));
    assert_eq!(q.charset, Some((255, 255, 255)));
    assert_eq!(q.time_zone.as_deref(), Some("SYSTEM"));
    assert_eq!(q.flags2, Some(0));
    assert_eq!(q.default_collation_for_utf8mb4, Some(255));
    assert_eq!(q.ddl_xid, Some(3));
    assert_eq!(q.invoker, Some(("root".into(), "localhost".into())));
    assert_eq!(q.updated_db_names, Some(vec!["mysql".to_string()]));
    assert_eq!(q.microseconds, Some(636194));
    assert!(q.status_vars_complete);
    let EventData::Query(q) = &events[5].data else { panic!() };
    assert_eq!(q.sql_require_primary_key, Some(0));
    assert_eq!(q.ddl_xid, Some(46));
    let EventData::Query(q) = &events[12].data else { panic!() };
    assert_eq!((&*q.text(), q.table_map_for_update), ("BEGIN", Some(1)));

    let EventData::TableMap(tm) = &events[8].data else { panic!() };
    let shape: Vec<(u8, u8, u16)> = tm.columns.iter().map(|c| (c.column_type, c.real_type, c.meta)).collect();
    // CHAR(128) utf8mb4 = 512 bytes, VARCHAR(300) = 1200 bytes, ENUM and SET pack length 1, TEXT 2.
    assert_eq!(shape, vec![(254, 254, 512), (15, 15, 1200), (254, 247, 1), (254, 248, 1), (252, 252, 2)]);
    assert_eq!(tm.columns[3].set_values, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec(), b"four".to_vec()]);
    assert!(tm.columns.iter().all(|c| c.collation == Some(255)));
    let rows = rows_of(&events);
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0].kind, rows[1].kind, rows[2].kind), (RowsEventKind::Write, RowsEventKind::Update, RowsEventKind::Delete));
    let (before, after) = &rows[2].rows[0];
    assert!(after.is_none());
    let before = before.as_ref().unwrap();
    assert_eq!(before.cols[0], Some(Value::Bytes(b"field1".to_vec())));
    assert_eq!(before.cols[1], Some(Value::Bytes(b"field_2".to_vec())));
    assert_eq!(before.cols[2], Some(Value::Enum(2)));
    assert_eq!(before.cols[3], Some(Value::Set(10)));
    assert!(rows[1].rows[0].0.is_some() && rows[1].rows[0].1.is_some());
}

#[test]
fn transaction_payload_is_expanded_with_inner_events() {
    let events = walk_ok("rust_mysql_common/transaction_compression.000001");
    let EventData::MysqlGtid(g) = &events[2].data else { panic!() };
    assert!(g.anonymous);
    assert_eq!((g.last_committed, g.sequence_number, g.transaction_length), (Some(0), Some(1), Some(234)));
    let EventData::TransactionPayload(inner) = &events[3].data else { panic!() };
    let types: Vec<u8> = inner.iter().map(|(h, _)| h.event_type).collect();
    assert_eq!(types, [et::QUERY, et::TABLE_MAP, et::WRITE_ROWS_V2, et::XID]);
    let sizes: Vec<u32> = inner.iter().map(|(h, _)| h.event_size).collect();
    assert_eq!(sizes, [71, 45, 36, 27]);
    let EventData::Query(q) = &inner[0].1 else { panic!() };
    assert_eq!((q.thread_id, q.schema.as_str(), &*q.text()), (107, "test", "BEGIN"));
    let EventData::TableMap(tm) = &inner[1].1 else { panic!() };
    assert_eq!((tm.table_id, tm.schema.as_str(), tm.table.as_str(), tm.columns.len()), (88, "test", "tb1", 1));
    let EventData::Rows(r) = &inner[2].1 else { panic!() };
    assert_eq!(r.rows, vec![(None, Some(crate::decode::value::Row { cols: vec![Some(Value::Int(1))] }))]);
    assert_eq!(inner[3].1, EventData::Xid(462));
    assert_eq!(events[4].data, EventData::Rotate { next_file: "binlog.000043".into(), position: 4 });
}

#[test]
fn tagged_gtid_and_tagged_previous_gtids() {
    let events = walk_ok("rust_mysql_common/binlog_transaction_with_GTID_TAG.000001");
    let uuid = [0x55, 0x77, 0x89, 0x04, 0x02, 0x99, 0x11, 0xf1, 0xb1, 0xb8, 0x4e, 0xf0, 0xc4, 0x95, 0x6f, 0xeb];
    assert_eq!(
        events[1].data,
        EventData::PreviousGtids(vec![(uuid, None, vec![(1, 14)]), (uuid, Some("mytag".into()), vec![(1, 3)])])
    );
    let EventData::MysqlGtid(g) = &events[2].data else { panic!() };
    assert_eq!(events[2].header.event_type, et::GTID_TAGGED);
    assert_eq!(
        *g,
        MysqlGtidEvent {
            flags: 0,
            uuid,
            gno: 3,
            tag: Some("mytag".into()),
            anonymous: false,
            last_committed: Some(0),
            sequence_number: Some(1),
            immediate_commit_timestamp: Some(1770368687207196),
            original_commit_timestamp: Some(1770368687207196),
            transaction_length: Some(296),
            immediate_server_version: Some(90600),
            original_server_version: Some(90600),
            commit_group_ticket: None,
        }
    );
    let EventData::Rows(r) = &events[5].data else { panic!() };
    assert_eq!(
        r.rows[0].1.as_ref().unwrap().cols,
        vec![Some(Value::Int(3)), Some(Value::Int(100)), Some(Value::Decimal("250.00".into()))]
    );
    let EventData::TableMap(tm) = &events[4].data else { panic!() };
    assert_eq!(tm.columns[2].meta, 10 << 8 | 2); // DECIMAL(10,2)
    assert!(!tm.has_full_metadata);
}

#[test]
fn minimal_row_metadata_has_no_names_or_keys() {
    let events = walk_ok("rust_mysql_common/minimal_row_metadata.000001");
    let tm = events
        .iter()
        .find_map(|e| match &e.data {
            EventData::TableMap(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    assert!(!tm.has_full_metadata);
    assert!(tm.primary_key.is_empty());
    assert!(tm.columns.iter().all(|c| c.name.is_none()));
    assert!(tm.columns.iter().any(|c| c.unsigned.is_some()), "SIGNEDNESS is part of MINIMAL metadata");
}

#[test]
fn mysql56_gtid_without_logical_clock_previous_gtids_and_stop() {
    let events = walk_ok("rust_mysql_common/binlog_transaction_with_GTID.000001");
    assert_eq!(events[1].data, EventData::PreviousGtids(vec![]));
    let EventData::MysqlGtid(g) = &events[2].data else { panic!() };
    assert_eq!(g.uuid, [0, 108, 44, 242, 177, 234, 17, 228, 144, 87, 140, 112, 90, 61, 62, 120]);
    assert_eq!((g.gno, g.flags, g.last_committed, g.immediate_commit_timestamp), (1, 1, None, None));
    let EventData::Query(q) = &events[3].data else { panic!() };
    assert_eq!(q.text(), "CREATE TABLE t1 (c1 INT)");
    assert_eq!(q.charset, Some((8, 8, 8)));
    assert_eq!(events.last().unwrap().data, EventData::Stop);
}

#[test]
fn intvar_user_var_rand_incident() {
    let events = walk_ok("mysql-cdc-rs/5.7/14_user_var/log.bin");
    let small: Vec<&EventData> = events
        .iter()
        .map(|e| &e.data)
        .filter(|d| matches!(d, EventData::IntVar { .. } | EventData::UserVar { .. }))
        .collect();
    assert_eq!(
        small,
        vec![
            &EventData::IntVar { kind: 2, value: 1 },
            // mysqlbinlog's dump.txt: SET @`val_s`:=_utf8 0x7465737420626C6F67 COLLATE
            // `utf8_general_ci`, @`val_i`:=100, @`val_d`:=1.00
            &EventData::UserVar { name: "val_s".into(), value: Some(UserValue::Str { bytes: b"test blog".to_vec(), collation: 33 }) },
            &EventData::UserVar { name: "val_i".into(), value: Some(UserValue::Int { value: 100, unsigned: false }) },
            &EventData::UserVar { name: "val_d".into(), value: Some(UserValue::Decimal("1.00".into())) },
        ]
    );
    let events = walk_ok("mysql-cdc-rs/5.7/13_rand/log.bin");
    let rand: Vec<&EventData> = events.iter().map(|e| &e.data).filter(|d| matches!(d, EventData::Rand { .. })).collect();
    assert_eq!(rand.len(), 1);
    // mysqlbinlog's dump.txt next to the file: SET @@RAND_SEED1=694882935, @@RAND_SEED2=292094996
    assert_eq!(rand[0], &EventData::Rand { seed1: 694882935, seed2: 292094996 });
    let events = walk_ok("rust_mysql_common/bug40482-bin.000001");
    assert_eq!(events[1].data, EventData::Incident { kind: 66, message: String::new() });
}

#[test]
fn old_51_rows_v1_without_checksum() {
    let events = walk_ok("canal/mysql-bin.000002");
    assert_eq!(events[0].header.event_type, et::FORMAT_DESCRIPTION);
    let EventData::FormatDescription(f) = &events[0].data else { panic!() };
    assert_eq!(f.checksum_alg, None);
    let EventData::Rows(r) = &events[3].data else { panic!() };
    assert_eq!(r.kind, RowsEventKind::Update);
    assert_eq!(
        r.rows,
        vec![(
            Some(crate::decode::value::Row { cols: vec![Some(Value::Int(1)), Some(Value::Timestamp { secs: 1341818483, micros: 0 })] }),
            Some(crate::decode::value::Row { cols: vec![Some(Value::Int(1)), Some(Value::Timestamp { secs: 1341820524, micros: 0 })] }),
        )]
    );
    assert_eq!(events[4].data, EventData::Xid(150627));
}

#[test]
fn load_data_events_are_decoded_and_aurora_padding_is_ignored() {
    let events = walk_ok("rust_mysql_common/ver_5_1_23.001");
    let load: Vec<(u8, u32, usize)> = events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::LoadBlock { file_id, data, .. } => Some((e.header.event_type, *file_id, data.len())),
            EventData::ExecuteLoad(l) => Some((e.header.event_type, l.file_id, l.fn_pos_end - l.fn_pos_start)),
            _ => None,
        })
        .collect();
    let opaque = events.iter().filter(|e| e.data == EventData::Opaque).count();
    assert_eq!(opaque, 0);
    // The file's two blocks under one id, then the statement reading it.
    assert_eq!(load.iter().map(|(t, id, _)| (*t, *id)).collect::<Vec<_>>(), [(et::BEGIN_LOAD_QUERY, load[0].1), (et::APPEND_BLOCK, load[0].1), (et::EXECUTE_LOAD_QUERY, load[0].1)]);
    let EventData::ExecuteLoad(l) = &events.iter().find(|e| e.header.event_type == et::EXECUTE_LOAD_QUERY).unwrap().data else { unreachable!() };
    let infile = String::from_utf8_lossy(&l.query.query[l.fn_pos_start..l.fn_pos_end]).into_owned();
    assert!(infile.contains(" INFILE '") && infile.ends_with("INTO"), "{infile}");
    let events = walk_ok("mysql-binlog-connector-java/mysql-bin.aurora-padding");
    let e = events.iter().find(|e| e.header.event_type == 100).unwrap();
    assert_eq!(e.data, EventData::Ignored);
    assert_ne!(e.header.flags & 0x80, 0);
}

// ---- synthetic events for types no fixture carries ----

/// A CRC32 MariaDB 10.5 decoder primed with the FDE of mariadb-bin.000001.
fn crc_decoder() -> Decoder {
    let bytes = read_fixture("rust_mysql_common/mariadb-bin.000001");
    let mut dec = Decoder::new();
    dec.decode(&bytes[4..256], &Arc::from("fde"), 4).unwrap();
    dec
}

/// Frame `body` as an event of type `t` with header `flags`, and a CRC32 when `crc`.
fn event(t: u8, flags: u16, server_id: u32, body: &[u8], crc: bool) -> Vec<u8> {
    let size = 19 + body.len() + if crc { 4 } else { 0 };
    let mut raw = Vec::with_capacity(size);
    raw.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    raw.push(t);
    raw.extend_from_slice(&server_id.to_le_bytes());
    raw.extend_from_slice(&(size as u32).to_le_bytes());
    raw.extend_from_slice(&0u32.to_le_bytes());
    raw.extend_from_slice(&flags.to_le_bytes());
    raw.extend_from_slice(body);
    if crc {
        let c = crc32fast::hash(&raw);
        raw.extend_from_slice(&c.to_le_bytes());
    }
    raw
}

fn decode_one(dec: &mut Decoder, raw: &[u8]) -> Result<EventData, DecodeError> {
    dec.decode(raw, &Arc::from("synthetic"), 1000).map(|e| e.data)
}

#[test]
fn mariadb_gtid_with_commit_id_and_with_xa() {
    let mut dec = crc_decoder();
    let mut body = Vec::new();
    body.extend_from_slice(&77u64.to_le_bytes());
    body.extend_from_slice(&2u32.to_le_bytes());
    body.push(2 | 4 | 8); // GROUP_COMMIT_ID | TRANSACTIONAL | ALLOW_PARALLEL
    body.extend_from_slice(&9001u64.to_le_bytes());
    assert_eq!(
        decode_one(&mut dec, &event(et::MARIA_GTID, 0, 11, &body, true)).unwrap(),
        EventData::MariadbGtid(MariadbGtidEvent { seq_no: 77, domain_id: 2, server_id: 11, flags2: 14, commit_id: Some(9001), xid: None })
    );
    let mut body = Vec::new();
    body.extend_from_slice(&78u64.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.push(64); // PREPARED_XA
    body.extend_from_slice(&1i32.to_le_bytes());
    body.extend_from_slice(&[3, 2]);
    body.extend_from_slice(b"abcxy");
    assert_eq!(
        decode_one(&mut dec, &event(et::MARIA_GTID, 0, 11, &body, true)).unwrap(),
        EventData::MariadbGtid(MariadbGtidEvent {
            seq_no: 78,
            domain_id: 0,
            server_id: 11,
            flags2: 64,
            commit_id: None,
            xid: Some(XaId { format_id: 1, gtrid: b"abc".to_vec(), bqual: b"xy".to_vec() }),
        })
    );
    // GTID_LIST with two domains (the fixtures only have empty lists).
    let mut body = Vec::new();
    body.extend_from_slice(&2u32.to_le_bytes());
    for (d, s, n) in [(0u32, 1u32, 100u64), (1, 2, 7)] {
        body.extend_from_slice(&d.to_le_bytes());
        body.extend_from_slice(&s.to_le_bytes());
        body.extend_from_slice(&n.to_le_bytes());
    }
    assert_eq!(
        decode_one(&mut dec, &event(et::MARIA_GTID_LIST, 0, 1, &body, true)).unwrap(),
        EventData::MariadbGtidList(vec![(0, 1, 100), (1, 2, 7)])
    );
}

#[test]
fn heartbeats_xa_prepare_ignorable_and_unknown() {
    let mut dec = crc_decoder();
    assert_eq!(
        decode_one(&mut dec, &event(et::HEARTBEAT, 0, 1, b"mariadb-bin.000009", true)).unwrap(),
        EventData::Heartbeat { log_file: "mariadb-bin.000009".into() }
    );
    let mut v2 = vec![0u8, 9];
    v2.extend_from_slice(b"binlog.07");
    v2.extend_from_slice(&[1, 2, 0xFC, 0x01]); // log position field, skipped
    assert_eq!(
        decode_one(&mut dec, &event(et::HEARTBEAT_V2, 0, 1, &v2, true)).unwrap(),
        EventData::Heartbeat { log_file: "binlog.07".into() }
    );
    let mut xa = vec![1u8];
    xa.extend_from_slice(&7i32.to_le_bytes());
    xa.extend_from_slice(&2u32.to_le_bytes());
    xa.extend_from_slice(&1u32.to_le_bytes());
    xa.extend_from_slice(b"g1b");
    assert_eq!(
        decode_one(&mut dec, &event(et::XA_PREPARE, 0, 1, &xa, true)).unwrap(),
        EventData::XaPrepare { one_phase: true, xid: XaId { format_id: 7, gtrid: b"g1".to_vec(), bqual: b"b".to_vec() } }
    );
    assert_eq!(decode_one(&mut dec, &event(99, 0x80, 1, b"whatever", true)).unwrap(), EventData::Ignored);
    assert_eq!(decode_one(&mut dec, &event(et::IGNORABLE, 0x80, 1, b"", true)).unwrap(), EventData::Ignored);
    let err = decode_one(&mut dec, &event(99, 0, 1, b"whatever", true)).unwrap_err();
    assert_eq!(
        err.what,
        "UNKNOWN event (type 99): unknown event type 99 without the ignorable flag (at byte 4 of the event, file offset 1004)"
    );
    let err = decode_one(&mut dec, &event(et::MARIA_START_ENCRYPTION, 0, 1, b"x", true)).unwrap_err();
    assert!(err.what.contains("encrypted binlog"), "{}", err.what);
}

#[test]
fn fake_rotate_before_any_fde_may_carry_a_crc() {
    // A live server starts the dump with an artificial ROTATE (log_pos 0, flag 0x20) that has
    // a CRC32 even though no FDE announced one yet.
    let mut body = 4u64.to_le_bytes().to_vec();
    body.extend_from_slice(b"mariadb-bin.000002");
    for crc in [true, false] {
        let mut dec = Decoder::new();
        assert_eq!(
            decode_one(&mut dec, &event(et::ROTATE, 0x20, 1, &body, crc)).unwrap(),
            EventData::Rotate { next_file: "mariadb-bin.000002".into(), position: 4 }
        );
    }
}

#[test]
fn query_stops_at_unknown_status_var_but_keeps_schema_and_query() {
    let mut dec = crc_decoder();
    let status: &[u8] = &[0, 0, 0, 0, 0, /* flags2 */ 200, 1, 2, 3 /* unknown code 200 */];
    let mut body = Vec::new();
    body.extend_from_slice(&5u32.to_le_bytes());
    body.extend_from_slice(&1u32.to_le_bytes());
    body.push(2);
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(status.len() as u16).to_le_bytes());
    body.extend_from_slice(status);
    body.extend_from_slice(b"db\0CREATE TABLE x (a INT)");
    let EventData::Query(q) = decode_one(&mut dec, &event(et::QUERY, 0, 1, &body, true)).unwrap() else { panic!() };
    assert_eq!((q.thread_id, q.exec_time, q.schema.as_str(), &*q.text()), (5, 1, "db", "CREATE TABLE x (a INT)"));
    assert_eq!(q.flags2, Some(0));
    assert!(!q.status_vars_complete);
    // MariaDB extras: Q_HRNOW (128) and Q_XID (129).
    let status: &[u8] = &[128, 0x40, 0x42, 0x0F, 129, 9, 0, 0, 0, 0, 0, 0, 0];
    let mut body = vec![0u8; 8];
    body.push(0);
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(status.len() as u16).to_le_bytes());
    body.extend_from_slice(status);
    body.extend_from_slice(b"\0DROP TABLE t");
    let EventData::Query(q) = decode_one(&mut dec, &event(et::QUERY, 0, 1, &body, true)).unwrap() else { panic!() };
    assert_eq!((q.microseconds, q.ddl_xid, q.status_vars_complete), (Some(0x0F4240), Some(9), true));
    assert_eq!(q.text(), "DROP TABLE t");
}

/// Byte length of one `mysql.t` row image of json.binlog (INT, JSON, VARCHAR(100) utf8mb4, INT)
/// with all four columns present and none NULL.
fn json_t_image_len(img: &[u8]) -> usize {
    let json_len = u32::from_le_bytes(img[5..9].try_into().unwrap()) as usize;
    let str_at = 9 + json_len;
    // VARCHAR(100) utf8mb4: max 400 bytes, so a 2-byte length prefix.
    let str_len = u16::from_le_bytes(img[str_at..str_at + 2].try_into().unwrap()) as usize;
    str_at + 2 + str_len + 4
}

#[test]
fn partial_json_update_is_applied_to_the_before_image() {
    // Build a PARTIAL_UPDATE_ROWS event as MySQL writes it with binlog_row_image=FULL, from real
    // bytes of json.binlog.000001: the TABLE_MAP of `mysql`.`t`, the full after image of row 1
    // of the UPDATE at 2612 (age 25) as the before image, and the real after image of the
    // PARTIAL_UPDATE_ROWS at 3750 (diff: REPLACE $.age 26).
    let bytes = read_fixture("rust_mysql_common/json.binlog.000001");
    let file: Arc<str> = Arc::from("json");
    let mut dec = Decoder::new();
    dec.decode(&bytes[4..125], &file, 4).unwrap();
    let tm_size = parse_header(&bytes[3691..]).unwrap().event_size as usize;
    dec.decode(&bytes[3691..3691 + tm_size], &file, 3691).unwrap();
    // UPDATE at 2612: header 19, post-header 10, ncols 1, two bitmaps: rows start at 32.
    let upd = &bytes[2612 + 32..];
    let before_len = json_t_image_len(upd);
    let after_len = json_t_image_len(&upd[before_len..]);
    let full_after_row1 = &upd[before_len..before_len + after_len];
    // PARTIAL event at 3750: rows start at 32; before image = null byte + INT (5 bytes).
    let part = &bytes[3750 + 32 + 5..];
    let diff_len = u32::from_le_bytes(part[3..7].try_into().unwrap()) as usize;
    let partial_after = &part[..3 + 4 + diff_len + 2 + 3 + 4];

    let mut body = Vec::new();
    body.extend_from_slice(&119u64.to_le_bytes()[..6]);
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&2u16.to_le_bytes());
    body.extend_from_slice(&[4, 0x0F, 0x0E]);
    body.extend_from_slice(full_after_row1);
    body.extend_from_slice(partial_after);
    let raw = event(et::PARTIAL_UPDATE_ROWS, 0, 1, &body, true);
    let EventData::Rows(r) = dec.decode(&raw, &file, 5000).unwrap().data else { panic!() };
    assert_eq!(r.kind, RowsEventKind::PartialUpdate);
    let (before, after) = &r.rows[0];
    assert_eq!(
        before.as_ref().unwrap().cols[1],
        Some(Value::Json("{\"age\": 25, \"data\": \"xxxxxxxxxx\", \"name\": \"Joe\"}".into()))
    );
    assert_eq!(
        after.as_ref().unwrap().cols,
        vec![
            None,
            Some(Value::Json("{\"age\": 26, \"data\": \"xxxxxxxxxx\", \"name\": \"Joe\"}".into())),
            Some(Value::Bytes(b"Joe".to_vec())),
            Some(Value::Int(26)),
        ]
    );
}

// ---- property tests: mutated real files and random events never panic ----

/// Decodable fixtures, loaded once (the proptests below reuse them for every case).
fn corpus() -> &'static [(String, Vec<u8>)] {
    static CORPUS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        provenance()
            .into_iter()
            .filter(|(f, _)| !f.ends_with(".gz"))
            .map(|(f, _)| {
                let b = read_fixture(&f);
                (f, b)
            })
            .collect()
    })
}

/// Every error must say where: the file name and the offset.
fn assert_located(err: &DecodeError, name: &str) {
    let s = err.to_string();
    assert!(s.starts_with(&format!("{name} at offset {}: ", err.offset)), "{s}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    #[test]
    fn mutated_fixture_files_decode_or_fail_with_location(
        file_pick in 0usize..1000,
        flips in proptest::collection::vec((0usize..1 << 20, proptest::prelude::any::<u8>()), 1..8),
        cut in proptest::option::of(0usize..1 << 20),
        verify in proptest::prelude::any::<bool>(),
    ) {
        let corpus = corpus();
        let (name, bytes) = &corpus[file_pick % corpus.len()];
        let mut b = bytes.clone();
        if b.len() > 4 {
            for (pos, val) in &flips {
                let i = 4 + pos % (b.len() - 4);
                b[i] = *val;
            }
        }
        if let Some(c) = cut {
            b.truncate(c % (b.len() + 1));
        }
        let mut dec = Decoder::new();
        dec.set_verify_checksum(verify);
        dec.set_max_payload_size(1 << 20);
        let (_, err) = walk_bytes(&b, name, &mut dec);
        if let Some(e) = err {
            assert_located(&e, name);
        }
    }

    #[test]
    fn random_events_after_a_real_fde_never_panic(
        t in proptest::prelude::any::<u8>(),
        flags in proptest::prelude::any::<u16>(),
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
    ) {
        // CRC off so random bodies reach the body parsers instead of failing the checksum.
        let mut dec = crc_decoder();
        dec.set_verify_checksum(false);
        dec.set_max_payload_size(1 << 20);
        // Seed a TABLE_MAP so random ROWS events can reach the row decoder too.
        let bytes = read_fixture("rust_mysql_common/mariadb-bin.000001");
        dec.decode(&bytes[476..612], &Arc::from("seed"), 476).unwrap();
        let mut body = body;
        if matches!(t, 23..=25 | 30..=32 | 39) && body.len() >= 6 {
            body[..6].copy_from_slice(&38u64.to_le_bytes()[..6]);
        }
        let raw = event(t, flags, 1, &body, true);
        if let Err(e) = dec.decode(&raw, &Arc::from("rnd"), 7) {
            assert_located(&e, "rnd");
        }
    }
}

#[test]
fn mariadb_compressed_query_and_rows_events() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/decode/mariadb-10.11-log-bin-compress.000001");
    let bytes = std::fs::read(&p).unwrap();
    let (events, err) = walk_bytes(&bytes, "compressed", &mut Decoder::new());
    assert!(err.is_none(), "{err:?}");
    let types: Vec<u8> = events.iter().map(|e| e.header.event_type).collect();
    assert_eq!(types, [15, 163, 161, 162, 2, 162, 165, 162, 160, 19, 166, 16, 162, 160, 19, 167, 16, 162, 160, 19, 168, 16, 4]);
    let EventData::Query(q) = &events[6].data else { panic!() };
    assert_eq!(q.text(), "CREATE TABLE z.t (id INT PRIMARY KEY, name VARCHAR(100), note TEXT)");
    assert_eq!((q.thread_id, q.ddl_xid, q.auto_increment), (7, Some(8), Some((2, 1))));
    use crate::decode::value::Row;
    let abc = Value::Bytes(b"abc".repeat(50));
    let rows = rows_of(&events);
    assert_eq!(
        rows.iter().map(|r| (r.kind, r.rows.clone())).collect::<Vec<_>>(),
        vec![
            (
                RowsEventKind::Write,
                vec![
                    (None, Some(Row { cols: vec![Some(Value::Int(1)), Some(Value::Bytes(b"alpha".to_vec())), Some(abc.clone())] })),
                    (None, Some(Row { cols: vec![Some(Value::Int(2)), Some(Value::Bytes(b"beta".to_vec())), Some(Value::Null)] })),
                ]
            ),
            (
                RowsEventKind::Update,
                vec![(
                    Some(Row { cols: vec![Some(Value::Int(2)), Some(Value::Bytes(b"beta".to_vec())), Some(Value::Null)] }),
                    Some(Row { cols: vec![Some(Value::Int(2)), Some(Value::Bytes(b"gamma".to_vec())), Some(Value::Null)] }),
                )]
            ),
            (
                RowsEventKind::Delete,
                vec![(Some(Row { cols: vec![Some(Value::Int(1)), Some(Value::Bytes(b"alpha".to_vec())), Some(abc)] }), None)]
            ),
        ]
    );
}

#[test]
fn rows_event_without_present_columns_is_an_error_not_an_endless_loop() {
    // Regression (fuzz/artifacts oom-743c5ade): an all-zero columns-present bitmap makes every
    // row image zero bytes long.
    let mut dec = crc_decoder();
    let bytes = read_fixture("rust_mysql_common/mariadb-bin.000001");
    dec.decode(&bytes[476..612], &Arc::from("m"), 476).unwrap();
    let mut body = 38u64.to_le_bytes()[..6].to_vec();
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&[5, 0x00, 0xAB]); // 5 columns, none present, then one stray byte
    let err = decode_one(&mut dec, &event(et::WRITE_ROWS_V1, 0, 1, &body, true)).unwrap_err();
    assert_eq!(
        err.what,
        "WRITE_ROWS_V1 event (type 23): ROWS event row image has no columns present (at byte 29 of the event, file offset 1029)"
    );
}

/// Issue 15 item 4: the hand-made fuzz seeds in `fuzz/seeds/decode_event` (flavour byte 0 =
/// after the MariaDB FDE, CRC off, as the fuzz target runs them) carry length fields that claim
/// far more than the bytes present; each ends in an error naming the claim, not an allocation.
#[test]
fn fuzz_seeds_with_oversized_length_fields_are_errors() {
    let file = read_fixture("rust_mysql_common/mariadb-bin.000001");
    let fde_size = parse_header(&file[4..]).unwrap().event_size as usize;
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/decode_event");
    let expect = [
        ("query_compressed_announces_1gib.bin", "compressed block announces 1073741824 bytes from 9 compressed bytes (deflate inflates at most 1032:1)"),
        ("event_size_4gib.bin", "4294967295"),
    ];
    for (name, what) in expect {
        let seed = std::fs::read(seeds.join(name)).unwrap();
        assert_eq!(seed[0], 0, "{name}: MariaDB flavour");
        let mut dec = Decoder::new();
        let f: Arc<str> = Arc::from("seed");
        dec.decode(&file[4..4 + fde_size], &f, 4).unwrap();
        dec.set_verify_checksum(false);
        let err = dec.decode(&seed[1..], &f, 0).unwrap_err();
        assert!(err.what.contains(what), "{name}: {}", err.what);
    }
}

/// ROWS events keep their bytes only while the shared switch is on, or once a statement
/// naming TRIGGER has been decoded (a trigger the stream creates, before the applier knows);
/// with the switch on, exactly the events a plain `keep_raw` decoder keeps.
#[test]
fn shared_raw_rows_switch_and_the_trigger_statement_latch() {
    use std::sync::atomic::AtomicBool;
    let mut files: Vec<String> = Vec::new();
    for dir in ["rust_mysql_common", "mariadb-poc", "canal", "percona-toolkit"] {
        let Ok(rd) = std::fs::read_dir(fixtures_dir().join(dir)) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !name.ends_with(".txt") && !name.ends_with(".sql") && !name.ends_with(".md") && e.path().is_file() {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    let (mut kept_off, mut kept_after_trigger, mut kept_on) = (0, 0, 0);
    for rel in &files {
        let bytes = read_fixture(rel);
        let raw_count = |wanted: Option<bool>| {
            let mut dec = Decoder::new();
            dec.set_keep_raw(true);
            if let Some(w) = wanted {
                dec.share_raw_rows(Arc::new(AtomicBool::new(w)));
            }
            let (events, _) = walk_bytes(&bytes, rel, &mut dec);
            let mut trigger_seen = false;
            let (mut kept, mut kept_after) = (0, 0);
            for ev in &events {
                match &ev.data {
                    EventData::Query(q) if ["TRIGGER", "VERSIONING"].iter().any(|w| String::from_utf8_lossy(&q.query).to_ascii_uppercase().contains(w)) => trigger_seen = true,
                    EventData::Rows(r) if r.raw.is_some() => {
                        kept += 1;
                        kept_after += trigger_seen as usize;
                    }
                    _ => {}
                }
            }
            (kept, kept_after)
        };
        let (plain, _) = raw_count(None);
        let (on, _) = raw_count(Some(true));
        let (off, off_after) = raw_count(Some(false));
        assert_eq!(on, plain, "{rel}: switch on keeps what keep_raw keeps");
        assert_eq!(off, off_after, "{rel}: switch off keeps only ROWS events after a TRIGGER statement");
        kept_on += on;
        kept_off += off;
        kept_after_trigger += off_after;
    }
    assert!(kept_on > 100, "the fixtures have replayable ROWS events ({kept_on})");
    assert!(kept_off < kept_on, "the switch off drops bytes ({kept_off} of {kept_on})");
    // No fixture creates a trigger before row events: make one say TRIGGER. The first statement
    // of at least 7 bytes that precedes ROWS events gets its last 7 bytes overwritten (same
    // length, so the framing holds; CRCs are not verified).
    // The same for VERSIONING (`WITH SYSTEM VERSIONING`: a versioned table's rows go as
    // BINLOG statements too).
    for word in [&b"trigger"[..], &b"versioning"[..]] {
        let mut latched = 0;
        for rel in &files {
            let mut bytes = read_fixture(rel);
            let (events, _) = walk_bytes(&bytes, rel, &mut Decoder::new());
            let Some((qi, q)) = events.iter().enumerate().find_map(|(i, e)| match &e.data {
                EventData::Query(q) if q.query.len() >= word.len() => Some((i, q.query.clone())),
                _ => None,
            }) else {
                continue;
            };
            let start = events[qi].offset as usize;
            let end = start + events[qi].header.event_size as usize;
            let Some(at) = bytes[start..end].windows(q.len()).rposition(|w| w == q.as_slice()) else { continue };
            let text_end = start + at + q.len();
            bytes[text_end - word.len()..text_end].copy_from_slice(word);
            let mut dec = Decoder::new();
            dec.set_keep_raw(true);
            dec.set_verify_checksum(false);
            dec.share_raw_rows(Arc::new(AtomicBool::new(false)));
            let (events, _) = walk_bytes(&bytes, rel, &mut dec);
            let after: Vec<bool> = events[qi + 1..].iter().filter_map(|e| if let EventData::Rows(r) = &e.data { Some(r.raw.is_some()) } else { None }).collect();
            let before = events[..qi].iter().filter(|e| matches!(&e.data, EventData::Rows(r) if r.raw.is_some())).count();
            assert_eq!(before, 0, "{rel}: nothing kept before the TRIGGER statement");
            latched += after.iter().filter(|k| **k).count();
        }
        assert!(latched > 50, "ROWS events after a statement naming {} keep their bytes with the switch off ({latched})", String::from_utf8_lossy(word));
        eprintln!("raw rows kept: on {kept_on}, off {kept_off} (after a TRIGGER statement: {kept_after_trigger}); latched by {}: {latched}", String::from_utf8_lossy(word));
    }
}
