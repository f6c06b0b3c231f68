//! MySQL 8 partial JSON updates with a MINIMAL row image (PARTIAL_UPDATE_ROWS whose before image
//! lacks the JSON column) applied to a real MariaDB target.
//!
//! - `every_json_kind_is_written_as_json`: the UPDATE text `SqlBuilder` makes for a
//!   `Value::JsonDiff` stores each kind of JSON value (object, array, string, integer, decimal,
//!   double, true, false, null) as that JSON kind, not as a quoted string (MariaDB has no
//!   `CAST(... AS JSON)`; the builder uses `JSON_EXTRACT(text, '$')`).
//! - `minimal_image_partial_update_replays_onto_the_target`: a binlog file built here byte by
//!   byte as MySQL 8.0 writes it (FDE, GTID, BEGIN, TABLE_MAP, PARTIAL_UPDATE_ROWS, XID) is
//!   replayed by the `parapply` binary; each row's document afterwards equals the exact expected
//!   JSON for REPLACE, INSERT of a member, INSERT of an array element, REMOVE and all four in one
//!   row, and equals (JSON_EQUALS) what the decoder's own diff applier makes of the same bytes.
mod apply_support;
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use apply_support::*;
use parapply::apply::sql::{Charsets, PlanStyle, SqlBuilder};
use parapply::decode::event::{ColumnDef, TableMap};
use parapply::decode::json::{JsonDiff, JsonDiffOp};
use parapply::decode::value::{apply_json_diff, Row, Value};
use parapply::gen::encode::{self, EventHeader, GtidFields, Placement, QueryFields};
use parapply::txn::{Change, RowChange, RowKind, RowsChange, Transaction};

#[test]
fn every_json_kind_is_written_as_json() {
    let sb = common::Sandbox::start(&["C"], "");
    sb.sql("C", "CREATE DATABASE jd; CREATE TABLE jd.t (id INT PRIMARY KEY, j JSON)");
    let table = Arc::new(TableMap {
        table_id: 1,
        schema: "jd".into(),
        table: "t".into(),
        columns: vec![
            ColumnDef { column_type: 3, real_type: 3, name: Some("id".into()), visible: true, ..Default::default() },
            ColumnDef { column_type: 245, real_type: 245, meta: 4, name: Some("j".into()), visible: true, ..Default::default() },
        ],
        primary_key: vec![0],
        has_full_metadata: true,
        system_versioned: false,
        sequence: false,
    });
    let builder = SqlBuilder::new(Arc::new(Charsets::new(HashMap::new())));
    // (diff value as MySQL logs it, MariaDB's JSON_TYPE of the stored member, the document after)
    let cases = [
        (r#"{"k": [1, "it's"], "n": null}"#, "OBJECT", r#"{"a": {"k": [1, "it's"], "n": null}, "b": 0}"#),
        (r#"[1, "two", {"x": false}]"#, "ARRAY", r#"{"a": [1, "two", {"x": false}], "b": 0}"#),
        (r#""qu\"ote\\ é""#, "STRING", r#"{"a": "qu\"ote\\ é", "b": 0}"#),
        ("26", "INTEGER", r#"{"a": 26, "b": 0}"#),
        ("-12.50", "DOUBLE", r#"{"a": -12.50, "b": 0}"#),
        ("1.5e300", "DOUBLE", r#"{"a": 1.5e300, "b": 0}"#),
        ("true", "BOOLEAN", r#"{"a": true, "b": 0}"#),
        ("false", "BOOLEAN", r#"{"a": false, "b": 0}"#),
        ("null", "NULL", r#"{"a": null, "b": 0}"#),
    ];
    for (i, (value, kind, want)) in cases.iter().enumerate() {
        let id = i as i64 + 1;
        sb.sql("C", &format!(r#"INSERT INTO jd.t VALUES ({id}, '{{"a": "old", "b": 0}}')"#));
        let diff = JsonDiff { op: JsonDiffOp::Replace, path: "$.a".into(), value: Some(value.to_string()) };
        let rc = RowsChange { raw: None,
            table: table.clone(),
            kind: RowKind::Update,
            rows: vec![RowChange {
                before: Some(Row { cols: vec![Some(Value::Int(id)), None] }),
                after: Some(Row { cols: vec![None, Some(Value::JsonDiff(vec![diff]))] }),
            }],
            flags: 0,
        };
        let txn = Transaction { changes: vec![Change::Rows(rc)], ..Default::default() };
        let stmts = builder.plan(&txn, PlanStyle::Batched).unwrap();
        assert_eq!(stmts.len(), 1);
        sb.sql("C", &stmts[0].sql);
        let got = sb.sql("C", &format!("SELECT JSON_TYPE(JSON_EXTRACT(j, '$.a')), j FROM jd.t WHERE id = {id}"));
        // The client's batch output escapes backslashes; undo that for the comparison.
        let got = got.replace("\\\\", "\\");
        assert_eq!(got, format!("{kind}\t{want}"), "value {value}: {}", stmts[0].sql);
    }
}

// ---- building a MySQL 8.0 binlog file with a MINIMAL-image PARTIAL_UPDATE_ROWS event ----

/// A JSON value for the test's binary JSON encoder.
enum J {
    Null,
    Bool(bool),
    Int(i16),
    Str(&'static str),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

/// MySQL binary JSON of `v` (type byte, then the value), small containers only.
fn jsonb(v: &J) -> Vec<u8> {
    let (t, body) = jsonb_body(v);
    let mut out = vec![t];
    out.extend(body);
    out
}

fn jsonb_body(v: &J) -> (u8, Vec<u8>) {
    match v {
        J::Null => (0x04, vec![0]),
        J::Bool(b) => (0x04, vec![if *b { 1 } else { 2 }]),
        J::Int(i) => (0x05, i.to_le_bytes().to_vec()),
        J::Str(s) => {
            assert!(s.len() < 128);
            let mut b = vec![s.len() as u8];
            b.extend_from_slice(s.as_bytes());
            (0x0c, b)
        }
        J::Arr(items) => (0x02, container(items.iter().map(|v| (None, v)).collect())),
        J::Obj(members) => (0x00, container(members.iter().map(|(k, v)| (Some(*k), v)).collect())),
    }
}

/// Small object/array: count, size, key entries, value entries (literals and int16 inlined),
/// keys, then values; offsets from the container's start.
fn container(members: Vec<(Option<&str>, &J)>) -> Vec<u8> {
    let n = members.len();
    let object = members.first().is_some_and(|(k, _)| k.is_some());
    let header = 4 + if object { n * 4 } else { 0 } + n * 3;
    let keys_len: usize = members.iter().map(|(k, _)| k.map_or(0, str::len)).sum();
    let mut entries = Vec::new();
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for (k, _) in &members {
        if let Some(k) = k {
            entries.extend_from_slice(&((header + keys.len()) as u16).to_le_bytes());
            entries.extend_from_slice(&(k.len() as u16).to_le_bytes());
            keys.extend_from_slice(k.as_bytes());
        }
    }
    for (_, v) in &members {
        let (t, body) = jsonb_body(v);
        entries.push(t);
        if matches!(t, 0x04 | 0x05) {
            let mut inline = body.clone();
            inline.resize(2, 0);
            entries.extend_from_slice(&inline);
        } else {
            entries.extend_from_slice(&((header + keys_len + values.len()) as u16).to_le_bytes());
            values.extend(body);
        }
    }
    let size = header + keys_len + values.len();
    let mut out = Vec::new();
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&(size as u16).to_le_bytes());
    out.extend(entries);
    out.extend(keys);
    out.extend(values);
    assert_eq!(out.len(), size);
    out
}

fn lenenc(out: &mut Vec<u8>, n: usize) {
    assert!(n < 251);
    out.push(n as u8);
}

/// One column's diff list as `Json_diff_vector::write_binary` writes it.
fn diff_list(diffs: &[(u8, &str, Option<J>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (op, path, value) in diffs {
        body.push(*op);
        lenenc(&mut body, path.len());
        body.extend_from_slice(path.as_bytes());
        if let Some(v) = value {
            let b = jsonb(v);
            lenenc(&mut body, b.len());
            body.extend(b);
        }
    }
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend(body);
    out
}

const REPLACE: u8 = 0;
const INSERT: u8 = 1;
const REMOVE: u8 = 2;
const TABLE_ID: u64 = 91;

/// TABLE_MAP of `jd`.`t` (id INT NOT NULL PRIMARY KEY, j JSON) with FULL metadata.
fn table_map_body() -> Vec<u8> {
    let mut b = TABLE_ID.to_le_bytes()[..6].to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&[2, b'j', b'd', 0, 1, b't', 0]);
    b.extend_from_slice(&[2, 3, 245]); // 2 columns: LONG, JSON
    b.extend_from_slice(&[1, 4]); // metadata: JSON length bytes = 4
    b.push(0b10); // j nullable
    b.extend_from_slice(&[1, 1, 0x00]); // SIGNEDNESS: id signed
    b.extend_from_slice(&[4, 5, 2, b'i', b'd', 1, b'j']); // COLUMN_NAME
    b.extend_from_slice(&[8, 1, 0]); // SIMPLE_PRIMARY_KEY: column 0
    b
}

/// PARTIAL_UPDATE_ROWS: per row a MINIMAL before image (the key) and an after image holding
/// only `j`, sent as a diff list.
fn partial_update_body(rows: &[(i32, Vec<u8>)]) -> Vec<u8> {
    let mut b = TABLE_ID.to_le_bytes()[..6].to_vec();
    b.extend_from_slice(&1u16.to_le_bytes()); // STMT_END_F
    b.extend_from_slice(&2u16.to_le_bytes()); // no extra row info
    b.extend_from_slice(&[2, 0b01, 0b10]); // 2 columns; before: id; after: j
    for (id, diffs) in rows {
        b.push(0); // before null bitmap
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&[1, 0b1, 0]); // PARTIAL_JSON_UPDATES, j is partial, null bitmap
        b.extend_from_slice(diffs);
    }
    b
}

fn write_binlog(path: &std::path::Path, rows: &[(i32, Vec<u8>)]) {
    let mut out = vec![0xfe, b'b', b'i', b'n'];
    let put = |out: &mut Vec<u8>, type_code: u8, body: &[u8]| {
        let start = out.len() as u64;
        encode::frame_event(out, EventHeader { timestamp: 1_700_000_000, type_code, server_id: 8, flags: 0 }, body, Placement::File { start })
            .unwrap();
    };
    put(&mut out, 15, &encode::format_description_body(1_700_000_000));
    let gtid = GtidFields {
        flags: 0,
        sid: [0x11; 16],
        gno: 1,
        last_committed: 0,
        sequence_number: 1,
        immediate_commit_timestamp: 1_700_000_000_000_000,
        original_commit_timestamp: 1_700_000_000_000_000,
        transaction_length: 0,
        immediate_server_version: encode::SERVER_VERSION_ID,
        original_server_version: encode::SERVER_VERSION_ID,
    };
    put(&mut out, 33, &encode::gtid_body(&gtid));
    put(&mut out, 2, &encode::query_body(&QueryFields { thread_id: 5, db: "", sql: "BEGIN", ddl_xid: None, updated_dbs: &[] }));
    put(&mut out, 19, &table_map_body());
    put(&mut out, 39, &partial_update_body(rows));
    put(&mut out, 16, &encode::xid_body(42));
    std::fs::write(path, out).unwrap();
}

#[test]
fn minimal_image_partial_update_replays_onto_the_target() {
    let before = r#"{"a": 1, "arr": [10, 20, 30], "b": "x", "o": {"k": true}}"#;
    // (id, diffs, exact document on the target afterwards)
    let cases: Vec<(i32, Vec<(u8, &str, Option<J>)>, &str)> = vec![
        (1, vec![(REPLACE, "$.a", Some(J::Obj(vec![("x", J::Arr(vec![J::Int(1), J::Null]))])))], r#"{"a": {"x": [1, null]}, "arr": [10, 20, 30], "b": "x", "o": {"k": true}}"#),
        (2, vec![(INSERT, "$.new", Some(J::Str("n")))], r#"{"a": 1, "arr": [10, 20, 30], "b": "x", "o": {"k": true}, "new": "n"}"#),
        (3, vec![(INSERT, "$.arr[1]", Some(J::Int(15)))], r#"{"a": 1, "arr": [10, 15, 20, 30], "b": "x", "o": {"k": true}}"#),
        (4, vec![(REMOVE, "$.b", None)], r#"{"a": 1, "arr": [10, 20, 30], "o": {"k": true}}"#),
        (
            5,
            vec![
                (REPLACE, "$.o.k", Some(J::Bool(false))),
                (INSERT, "$.arr[0]", Some(J::Arr(vec![]))),
                (INSERT, "$.o.z", Some(J::Int(-7))),
                (REMOVE, "$.arr[3]", None),
                (REMOVE, "$.a", None),
            ],
            r#"{"arr": [[], 10, 20], "b": "x", "o": {"k": false, "z": -7}}"#,
        ),
    ];
    let rows: Vec<(i32, Vec<u8>)> = cases.iter().map(|(id, d, _)| (*id, diff_list(d))).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("binlog.000001");
    write_binlog(&file, &rows);

    let sb = common::Sandbox::start(&["C"], "");
    let mut setup = String::from("CREATE DATABASE jd; CREATE TABLE jd.t (id INT PRIMARY KEY, j JSON);");
    for (id, _, _) in &cases {
        setup.push_str(&format!("INSERT INTO jd.t VALUES ({id}, '{before}');"));
    }
    sb.sql("C", &setup);
    let summary = replay_ok(&sb, &[file.clone()], &["--workers", "2"]);
    assert_eq!(u(&summary, "txns_applied"), 1, "{summary}");
    assert_eq!(u(&summary, "conflicts"), 0, "{summary}");

    for ((id, _, want), (_, bytes)) in cases.iter().zip(&rows) {
        let got = sb.sql("C", &format!("SELECT j FROM jd.t WHERE id = {id}"));
        assert_eq!(got, *want, "row {id}");
        // The decoder's own applier (MySQL's semantics and text) agrees on the document.
        let (Value::Json(ours), used) = apply_json_diff(&Value::Json(before.into()), bytes).unwrap() else { panic!() };
        assert_eq!(used, bytes.len());
        let equal = sb.sql("C", &format!("SELECT JSON_EQUALS(j, '{ours}') FROM jd.t WHERE id = {id}"));
        assert_eq!(equal, "1", "row {id}: target {got} vs decoder {ours}");
    }

    // `inspect` shows the diffs as mysqlbinlog does.
    let out = std::process::Command::new(bin()).args(["inspect", "--rows", "--show-values"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  ~ jd.t (4, -) -> (-, JSON_REMOVE(@2, '$.b'))\n"), "{text}");
    assert!(text.contains("  ~ jd.t (3, -) -> (-, JSON_ARRAY_INSERT(@2, '$.arr[1]', 15))\n"), "{text}");
}
