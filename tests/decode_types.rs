//! Column value decoding against a real server and real files.
//!
//! * A MariaDB sandbox gets a table with every column type, edge rows are inserted, the binlog is
//!   decoded with [`Decoder`], and every decoded value is compared with what `SELECT` returns for
//!   the same row and column (exact text: negative TIME(1..6), DECIMAL(65,30), DATETIME(6),
//!   unsigned max, utf8mb4, JSON, compressed columns, the old pre-5.6 temporal formats).
//! * The MySQL fixtures with JSON (opaque values, PARTIAL_UPDATE_ROWS diffs), VECTOR and BIT are
//!   decoded and compared with the values their generating statements wrote.
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parapply::decode::event::{EventData, RowsEvent, RowsEventKind};
use parapply::decode::value::{apply_json_diff, Value};
use parapply::decode::Decoder;

/// Every decodable event of a binlog file (TRANSACTION_PAYLOAD expanded); panics on any decode
/// error so a wrong length anywhere in a row shows up.
fn rows_events(path: &Path) -> Vec<RowsEvent> {
    rows_events_before(path, None)
}

/// As [`rows_events`], stopping at the first event of type `stop_type`.
fn rows_events_before(path: &Path, stop_type: Option<u8>) -> Vec<RowsEvent> {
    let data = std::fs::read(path).unwrap();
    assert_eq!(&data[..4], b"\xfebin", "{}", path.display());
    let file: Arc<str> = Arc::from(path.display().to_string());
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    let mut off = 4usize;
    while off + 19 <= data.len() {
        let size = u32::from_le_bytes(data[off + 9..off + 13].try_into().unwrap()) as usize;
        assert!(size >= 19 && off + size <= data.len(), "bad event size at {off}");
        if Some(data[off + 4]) == stop_type {
            break;
        }
        let ev = dec.decode(&data[off..off + size], &file, off as u64).unwrap_or_else(|e| panic!("{e}"));
        match ev.data {
            EventData::Rows(r) => out.push(r),
            EventData::TransactionPayload(inner) => {
                out.extend(inner.into_iter().filter_map(|(_, d)| if let EventData::Rows(r) = d { Some(r) } else { None }))
            }
            _ => {}
        }
        off += size;
    }
    out
}

/// How a column's SELECT text is produced and how a decoded value is rendered to match it.
#[derive(Clone, Copy)]
enum Kind {
    /// Printed as is (integers, DECIMAL, DATE, FLOAT/DOUBLE with short values).
    Plain,
    /// `col+0`: YEAR, ENUM index, SET bitmap, BIT value.
    Numeric,
    Time(u32),
    DateTime(u32),
    /// `UNIX_TIMESTAMP(col)` with this many fraction digits.
    Timestamp(u32),
    /// `HEX(col)`: strings, blobs, JSON text (MariaDB), geometry, compressed columns.
    Hex,
}

fn frac(micros: u32, fsp: u32) -> String {
    if fsp == 0 {
        String::new()
    } else {
        format!(".{:0width$}", micros / 10u32.pow(6 - fsp), width = fsp as usize)
    }
}

/// The decoded value as the server's text for `kind`.
fn render(v: &Value, kind: Kind) -> String {
    match (kind, v) {
        (_, Value::Null) => "NULL".into(),
        (Kind::Plain, Value::Int(i)) => i.to_string(),
        (Kind::Plain, Value::UInt(u)) => u.to_string(),
        (Kind::Plain, Value::Float(f)) => f.to_string(),
        (Kind::Plain, Value::Double(d)) => d.to_string(),
        (Kind::Plain, Value::Decimal(s)) => s.clone(),
        (Kind::Plain, Value::Date { year, month, day }) => format!("{year:04}-{month:02}-{day:02}"),
        (Kind::Numeric, Value::Year(y)) => y.to_string(),
        (Kind::Numeric, Value::Enum(i)) => i.to_string(),
        (Kind::Numeric, Value::Set(b)) => b.to_string(),
        (Kind::Numeric, Value::Bit { value, .. }) => value.to_string(),
        (Kind::Time(fsp), Value::Time { negative, hours, minutes, seconds, micros }) => {
            format!("{}{hours:02}:{minutes:02}:{seconds:02}{}", if *negative { "-" } else { "" }, frac(*micros, fsp))
        }
        (Kind::DateTime(fsp), Value::DateTime { year, month, day, hour, minute, second, micros }) => {
            format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}{}", frac(*micros, fsp))
        }
        (Kind::Timestamp(fsp), Value::Timestamp { secs, micros }) => format!("{secs}{}", frac(*micros, fsp)),
        (Kind::Hex, Value::Bytes(b) | Value::Geometry(b)) => b.iter().map(|x| format!("{x:02X}")).collect(),
        (_, other) => panic!("unexpected value {other:?}"),
    }
}

fn select_expr(name: &str, kind: Kind) -> String {
    match kind {
        Kind::Plain | Kind::Time(_) | Kind::DateTime(_) => format!("`{name}`"),
        Kind::Numeric => format!("`{name}`+0"),
        Kind::Timestamp(_) => format!("UNIX_TIMESTAMP(`{name}`)"),
        Kind::Hex => format!("HEX(`{name}`)"),
    }
}

/// Columns of the type matrix: name, DDL type, how to compare.
const COLUMNS: &[(&str, &str, Kind)] = &[
    ("ti", "TINYINT", Kind::Plain),
    ("tiu", "TINYINT UNSIGNED", Kind::Plain),
    ("si", "SMALLINT", Kind::Plain),
    ("siu", "SMALLINT UNSIGNED", Kind::Plain),
    ("mi", "MEDIUMINT", Kind::Plain),
    ("miu", "MEDIUMINT UNSIGNED", Kind::Plain),
    ("i", "INT", Kind::Plain),
    ("iu", "INT UNSIGNED", Kind::Plain),
    ("bi", "BIGINT", Kind::Plain),
    ("biu", "BIGINT UNSIGNED", Kind::Plain),
    ("f", "FLOAT", Kind::Plain),
    ("d", "DOUBLE", Kind::Plain),
    ("dec_max", "DECIMAL(65,30)", Kind::Plain),
    ("dec_money", "DECIMAL(10,2)", Kind::Plain),
    ("dec_int", "DECIMAL(5,0)", Kind::Plain),
    ("dec_frac", "DECIMAL(20,10)", Kind::Plain),
    ("dec_tiny", "DECIMAL(1,1)", Kind::Plain),
    ("y", "YEAR", Kind::Numeric),
    ("dt", "DATE", Kind::Plain),
    ("t0", "TIME", Kind::Time(0)),
    ("t1", "TIME(1)", Kind::Time(1)),
    ("t2", "TIME(2)", Kind::Time(2)),
    ("t3", "TIME(3)", Kind::Time(3)),
    ("t4", "TIME(4)", Kind::Time(4)),
    ("t5", "TIME(5)", Kind::Time(5)),
    ("t6", "TIME(6)", Kind::Time(6)),
    ("dt0", "DATETIME", Kind::DateTime(0)),
    ("dt3", "DATETIME(3)", Kind::DateTime(3)),
    ("dt6", "DATETIME(6)", Kind::DateTime(6)),
    ("ts0", "TIMESTAMP NULL", Kind::Timestamp(0)),
    ("ts2", "TIMESTAMP(2) NULL", Kind::Timestamp(2)),
    ("ts6", "TIMESTAMP(6) NULL", Kind::Timestamp(6)),
    ("vc", "VARCHAR(10)", Kind::Hex),
    ("vcl", "VARCHAR(300)", Kind::Hex),
    ("c", "CHAR(10)", Kind::Hex),
    ("cl", "CHAR(255)", Kind::Hex),
    ("bn", "BINARY(4)", Kind::Hex),
    ("vb", "VARBINARY(10)", Kind::Hex),
    ("e", "ENUM('a','b','c')", Kind::Numeric),
    ("s", "SET('x','y','z')", Kind::Numeric),
    ("b1", "BIT(1)", Kind::Numeric),
    ("b10", "BIT(10)", Kind::Numeric),
    ("b64", "BIT(64)", Kind::Numeric),
    ("tt", "TINYTEXT", Kind::Hex),
    ("tx", "TEXT", Kind::Hex),
    ("mt", "MEDIUMTEXT", Kind::Hex),
    ("lb", "LONGBLOB", Kind::Hex),
    ("j", "JSON", Kind::Hex),
    ("g", "GEOMETRY", Kind::Hex),
    ("vcc", "VARCHAR(1000) COMPRESSED", Kind::Hex),
    ("bc", "BLOB COMPRESSED", Kind::Hex),
];

/// Edge rows, one SQL value per column of [`COLUMNS`] in order.
fn rows() -> Vec<(u32, Vec<String>)> {
    let q = |s: &str| format!("'{s}'");
    let max_dec = format!("'{}.{}'", "9".repeat(35), "9".repeat(30));
    vec![
        (
            1,
            vec![
                "127".into(), "255".into(), "32767".into(), "65535".into(), "8388607".into(), "16777215".into(),
                "2147483647".into(), "4294967295".into(), "9223372036854775807".into(), "18446744073709551615".into(),
                "1.5".into(), "12345.678".into(), max_dec.clone(), "99999999.99".into(), "99999".into(),
                "9999999999.9999999999".into(), "0.9".into(), "2155".into(), q("9999-12-31"), q("838:59:59"),
                q("838:59:59.9"), q("838:59:59.99"), q("838:59:59.999"), q("838:59:59.9999"), q("838:59:59.99999"),
                q("838:59:59.999999"), q("9999-12-31 23:59:59"), q("2024-02-29 12:34:56.789"),
                q("9999-12-31 23:59:59.999999"), q("2038-01-19 03:14:07"), q("2038-01-19 03:14:07.99"),
                q("2038-01-19 03:14:07.999999"), q("abcdefghij"), format!("REPEAT('😀', 300)"), q("chars"),
                "REPEAT('é', 255)".into(), "0xDEADBEEF".into(), "0x00FF".into(), q("c"), q("x,y,z"), "b'1'".into(),
                "b'1000000001'".into(), "0xFFFFFFFFFFFFFFFF".into(), q("tiny"), q("text 😀 ünïcödé"),
                "REPEAT('m', 70000)".into(), "REPEAT(0x00FF10, 40000)".into(),
                q(r#"{"a": [1, 2.5, "x"], "b": null, "c": {"d": true}}"#), "ST_GeomFromText('POINT(1 2)')".into(),
                "REPEAT('compress ', 100)".into(), "REPEAT('blobcomp', 200)".into(),
            ],
        ),
        (
            2,
            vec![
                "-128".into(), "0".into(), "-32768".into(), "0".into(), "-8388608".into(), "0".into(),
                "-2147483648".into(), "0".into(), "-9223372036854775808".into(), "0".into(), "-2.25".into(),
                "-0.5".into(), format!("-{max_dec}").replace("-'", "'-"), "-0.01".into(), "-99999".into(),
                "-0.0000000001".into(), "-0.9".into(), "1901".into(), q("1000-01-01"), q("-838:59:59"),
                q("-838:59:58.9"), q("-00:00:00.01"), q("-12:34:56.123"), q("-00:00:01.0001"),
                q("-00:00:00.00001"), q("-12:34:56.123456"), q("1000-01-01 00:00:00"), q("1000-01-01 00:00:00.001"),
                q("1000-01-01 00:00:00.000001"), q("1970-01-01 00:00:01"), q("1970-01-01 00:00:01.01"),
                q("1970-01-01 00:00:01.000001"), q(""), q(""), q(""), q(""), "0x00000000".into(), q(""), q("a"),
                q(""), "b'0'".into(), "b'0'".into(), "0".into(), q(""), q(""), q(""), q(""), q("[]"),
                "ST_GeomFromText('POINT(0 0)')".into(), q(""), q(""),
            ],
        ),
        (
            3,
            vec![
                "0".into(), "0".into(), "0".into(), "0".into(), "0".into(), "0".into(), "0".into(), "0".into(),
                "0".into(), "0".into(), "0".into(), "0".into(), "0".into(), "0".into(), "0".into(), "0".into(),
                "0".into(), "0".into(), q("0000-00-00"), q("00:00:00"), q("-00:00:00.5"), q("-838:59:58.99"),
                q("-00:00:00.001"), q("-838:59:59.9999"), q("-01:00:00.10001"), q("-00:00:00.000001"),
                q("0000-00-00 00:00:00"), q("0000-00-00 00:00:00.000"), q("0000-00-00 00:00:00.000000"),
                q("0000-00-00 00:00:00"), q("0000-00-00 00:00:00.00"), q("0000-00-00 00:00:00.000000"),
                q(r"\t\n\'\\"), q("x"), q("trailing  "), q("z"), "0x01".into(), "0x00".into(), q("b"), q("y"),
                "b'1'".into(), "b'0111111111'".into(), "0x8000000000000001".into(), q("a"), q("b"), q("c"),
                "0x00".into(), q(r#"{"k": "v\\"q", "n": -1.25e-7, "big": 18446744073709551615}"#),
                "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 3)')".into(), q("short"), "0x00".into(),
            ],
        ),
        // All NULL (the caller handles NULL, but the null bitmap must line up with the values).
        (4, vec!["NULL".into(); 51]),
        // More negative TIME fractions at every precision.
        (
            5,
            vec![
                "-1".into(), "1".into(), "-1".into(), "1".into(), "-1".into(), "1".into(), "-1".into(), "1".into(),
                "-1".into(), "1".into(), "0.1".into(), "1e-5".into(), "'0.000000000000000000000000000001'".into(),
                "0.05".into(), "1".into(), "-1234567890.0123456789".into(), "0.1".into(), "2000".into(),
                q("2000-01-01"), q("-00:00:01"), q("-00:59:59.1"), q("-23:59:59.49"), q("-100:00:00.999"),
                q("-00:00:00.0009"), q("-00:00:00.99999"), q("-00:00:00.999999"), q("2000-01-01 00:00:00"),
                q("2000-01-01 00:00:00.5"), q("2000-01-01 00:00:00.05"), q("2001-09-09 01:46:40"),
                q("2001-09-09 01:46:40.5"), q("2001-09-09 01:46:40.123456"), "NULL".into(), "NULL".into(),
                "NULL".into(), "NULL".into(), "NULL".into(), "NULL".into(), "NULL".into(), "NULL".into(),
                "NULL".into(), "NULL".into(), "NULL".into(), "NULL".into(), "NULL".into(), "NULL".into(),
                "NULL".into(), q("\"a string doc\""), "NULL".into(), "NULL".into(), "NULL".into(),
            ],
        ),
    ]
}

/// Decoded rows of `db`.`tbl` from the server's binlogs, keyed by the first (id) column.
fn decoded_rows(files: &[std::path::PathBuf], db: &str, tbl: &str) -> BTreeMap<i64, Vec<Option<Value>>> {
    let mut by_id = BTreeMap::new();
    for f in files {
        for ev in rows_events(f) {
            if ev.table.schema != db || ev.table.table != tbl || ev.kind != RowsEventKind::Write {
                continue;
            }
            for (_, after) in ev.rows {
                let cols = after.expect("write rows have an after image").cols;
                let id = match cols.first() {
                    Some(Some(Value::Int(id))) => *id,
                    other => panic!("id column decoded as {other:?}"),
                };
                by_id.insert(id, cols);
            }
        }
    }
    by_id
}

#[test]
fn mariadb_type_matrix_matches_select() {
    let sb = common::Sandbox::start(&["A"], "");
    let ddl: Vec<String> = COLUMNS.iter().map(|(n, t, _)| format!("`{n}` {t}")).collect();
    let mut sql = format!(
        "SET NAMES utf8mb4; SET SESSION sql_mode=''; SET SESSION time_zone='+00:00'; CREATE DATABASE dt; \
         CREATE TABLE dt.types (id INT PRIMARY KEY, {}) DEFAULT CHARSET=utf8mb4;",
        ddl.join(", ")
    );
    let rows = rows();
    for (id, vals) in &rows {
        assert_eq!(vals.len(), COLUMNS.len(), "row {id}");
        sql.push_str(&format!("INSERT INTO dt.types VALUES ({id}, {});", vals.join(", ")));
    }
    sb.sql("A", &sql);
    // Every value must have been stored as written (strict checks off, so verify no warnings
    // turned into silent truncation in the interesting columns).
    assert_eq!(sb.sql("A", "SELECT t1, t6, dec_max FROM dt.types WHERE id=2"), format!("-838:59:58.9\t-12:34:56.123456\t-{}.{}", "9".repeat(35), "9".repeat(30)));

    let decoded = decoded_rows(&sb.binlog_files("A"), "dt", "types");
    assert_eq!(decoded.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);

    let exprs: Vec<String> = COLUMNS.iter().map(|(n, _, k)| select_expr(n, *k)).collect();
    let mut compared = 0;
    for (id, _) in &rows {
        // A trailing marker column, because the client output is trimmed and empty strings
        // at the end of the row would vanish.
        let selected = sb.sql(
            "A",
            &format!("SET SESSION time_zone='+00:00'; SELECT {}, 'END' FROM dt.types WHERE id={id}", exprs.join(", ")),
        );
        let mut want: Vec<&str> = selected.split('\t').collect();
        assert_eq!(want.pop(), Some("END"));
        assert_eq!(want.len(), COLUMNS.len(), "row {id}");
        let got = &decoded[&(*id as i64)];
        assert_eq!(got.len(), COLUMNS.len() + 1);
        for (i, (name, ty, kind)) in COLUMNS.iter().enumerate() {
            let v = got[i + 1].as_ref().unwrap_or_else(|| panic!("row {id} column {name} absent from the FULL image"));
            assert_eq!(render(v, *kind), want[i], "row {id} column {name} {ty}: decoded {v:?}");
            compared += 1;
        }
    }
    assert_eq!(compared, 5 * COLUMNS.len());

    // Values whose exact decoded form is worth pinning beyond the SELECT text.
    let r1 = &decoded[&1];
    let col = |name: &str| COLUMNS.iter().position(|(n, _, _)| *n == name).unwrap() + 1;
    assert_eq!(r1[col("biu")], Some(Value::UInt(u64::MAX)));
    assert_eq!(r1[col("b64")], Some(Value::Bit { value: u64::MAX, bits: 64 }));
    assert_eq!(r1[col("j")], Some(Value::Bytes(br#"{"a": [1, 2.5, "x"], "b": null, "c": {"d": true}}"#.to_vec())));
    assert_eq!(r1[col("vcl")], Some(Value::Bytes("😀".repeat(300).into_bytes())));
    assert_eq!(decoded[&3][col("t1")], Some(Value::Time { negative: true, hours: 0, minutes: 0, seconds: 0, micros: 500_000 }));
    assert_eq!(decoded[&4][col("ti")], Some(Value::Null));
}

/// MariaDB with `mysql56_temporal_format=OFF` writes the pre-5.6 formats for TIME, DATETIME and
/// TIMESTAMP without fractions: 3-byte `±HHMMSS`, 8-byte `YYYYMMDDhhmmss`, 4-byte seconds.
#[test]
fn mariadb_old_temporal_formats_match_select() {
    let sb = common::Sandbox::start(&["A"], "--mysql56-temporal-format=OFF");
    sb.sql(
        "A",
        "SET SESSION sql_mode=''; SET SESSION time_zone='+00:00'; CREATE DATABASE ot; \
         CREATE TABLE ot.t (id INT PRIMARY KEY, t TIME, d DATETIME, ts TIMESTAMP NULL); \
         INSERT INTO ot.t VALUES (1, '-838:59:59', '9999-12-31 23:59:59', '2038-01-19 03:14:07'), \
         (2, '838:59:59', '1000-01-01 00:00:00', '1970-01-01 00:00:01'), (3, '-00:00:01', '0000-00-00 00:00:00', '0000-00-00 00:00:00'), \
         (4, '12:34:56', '2024-02-29 12:34:56', '2001-09-09 01:46:40');",
    );
    let decoded = decoded_rows(&sb.binlog_files("A"), "ot", "t");
    let kinds = [("t", Kind::Time(0)), ("d", Kind::DateTime(0)), ("ts", Kind::Timestamp(0))];
    for id in 1..=4i64 {
        let selected = sb.sql("A", &format!("SET SESSION time_zone='+00:00'; SELECT t, d, UNIX_TIMESTAMP(ts) FROM ot.t WHERE id={id}"));
        let want: Vec<&str> = selected.split('\t').collect();
        let got = &decoded[&id];
        for (i, (name, kind)) in kinds.iter().enumerate() {
            assert_eq!(render(got[i + 1].as_ref().unwrap(), *kind), want[i], "row {id} column {name}");
        }
    }
    // The wire types really are the old ones.
    let ev = rows_events(&sb.binlog_files("A")[0]).into_iter().find(|e| e.table.table == "t").unwrap();
    let types: Vec<u8> = ev.table.columns.iter().map(|c| c.column_type).collect();
    assert_eq!(types, vec![3, 11, 12, 7]);
}

// ---- MySQL fixtures ------------------------------------------------------------------------

fn fixture_rows(rel: &str) -> Vec<RowsEvent> {
    rows_events(&common::fixture(rel))
}

fn json_after(ev: &RowsEvent) -> Vec<String> {
    ev.rows
        .iter()
        .map(|(_, a)| match a.as_ref().unwrap().cols.iter().flatten().find(|v| matches!(v, Value::Json(_))) {
            Some(Value::Json(s)) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// json-opaque.binlog (MySQL 9.0.1) inserts one value of each opaque kind into `foo.test (a json)`.
/// `b'01010101'` stored through JSON_OBJECT is the `"base64:type15:VQ=="` MySQL prints.
#[test]
fn mysql_json_opaque_fixture() {
    let docs: Vec<String> = fixture_rows("rust_mysql_common/json-opaque.binlog").iter().flat_map(json_after).collect();
    assert_eq!(
        docs,
        vec![
            r#"{"a": "base64:type15:VQ=="}"#,
            r#"{"b": "2012-03-18"}"#,
            r#"{"c": "2012-03-18 11:30:45.000000"}"#,
            r#"{"c": "87:31:46.654321"}"#,
            r#"{"d": 123.456}"#,
            r#"{"e": 9.00}"#,
            r#"{"e": [0, 1, true, false]}"#,
            r#"{"e": null}"#,
        ]
    );
}

/// json.binlog.000001 (MySQL 8.0.22): `t(id, json_col JSON, name AS (json_col->>'$.name'), age AS
/// (json_col->'$.age'))`; three people inserted twice, every age incremented with a full UPDATE,
/// then again with a partial JSON update (`binlog_row_value_options=PARTIAL_JSON`, MINIMAL image,
/// so the before image carries only the id). The generated `age` column in the after image is
/// the server's own statement of the new value.
#[test]
fn mysql_json_fixture_full_and_partial_updates() {
    // Up to the PARTIAL_UPDATE_ROWS event (39), which `mysql_partial_json_diff_applies_to_before_documents`
    // covers: its MINIMAL before image has no document to apply the diff to.
    let evs = rows_events_before(&common::fixture("rust_mysql_common/json.binlog.000001"), Some(39));
    let writes: Vec<String> = evs.iter().filter(|e| e.kind == RowsEventKind::Write).flat_map(json_after).collect();
    let people = [("Joe", 24, "x"), ("Sue", 32, "y"), ("Pete", 40, "z")];
    let doc = |(name, age, c): (&str, i32, &str)| format!(r#"{{"age": {age}, "data": "{}", "name": "{name}"}}"#, c.repeat(10));
    let want: Vec<String> = people.iter().chain(people.iter()).map(|p| doc(*p)).collect();
    assert_eq!(writes, want);
    let updated: Vec<String> = evs.iter().filter(|e| e.kind == RowsEventKind::Update).flat_map(json_after).collect();
    let want: Vec<String> = people.iter().chain(people.iter()).map(|&(n, a, c)| doc((n, a + 1, c))).collect();
    assert_eq!(updated, want);
}

/// The diff lists of the PARTIAL_UPDATE_ROWS event in json.binlog.000001, cut out of the event
/// by hand (layout: per row a before image with only `id`, then value_options=1, partial bit,
/// null bitmap, the JSON diff list, `name`, `age`), applied to the documents of the preceding
/// full UPDATE. The result must agree with the generated `age` column the server wrote.
#[test]
fn mysql_partial_json_diff_applies_to_before_documents() {
    let data = std::fs::read(common::fixture("rust_mysql_common/json.binlog.000001")).unwrap();
    let mut off = 4;
    let ev = loop {
        let size = u32::from_le_bytes(data[off + 9..off + 13].try_into().unwrap()) as usize;
        if data[off + 4] == 39 {
            break &data[off..off + size - 4]; // without the CRC32
        }
        off += size;
    };
    // header 19 + table id 6 + flags 2 + extra-data length 2 (=2, empty) + column count 1 +
    // before bitmap 1 + after bitmap 1.
    let mut p = 19 + 6 + 2 + 2 + 1 + 1 + 1;
    let people = [("Joe", 25, "x"), ("Sue", 33, "y"), ("Pete", 41, "z")];
    let mut results = Vec::new();
    for &(name, age, c) in people.iter().chain(people.iter()) {
        assert_eq!(ev[p], 0, "before null bitmap");
        p += 1 + 4; // id
        assert_eq!(&ev[p..p + 3], &[1, 1, 0], "value_options, partial bits, null bitmap");
        p += 3;
        let before = Value::Json(format!(r#"{{"age": {age}, "data": "{}", "name": "{name}"}}"#, c.repeat(10)));
        let (after, used) = apply_json_diff(&before, &ev[p..]).unwrap();
        p += used;
        let name_len = u16::from_le_bytes([ev[p], ev[p + 1]]) as usize;
        assert_eq!(&ev[p + 2..p + 2 + name_len], name.as_bytes());
        p += 2 + name_len;
        let generated_age = i32::from_le_bytes(ev[p..p + 4].try_into().unwrap());
        p += 4;
        assert_eq!(generated_age, age + 1);
        results.push(after);
    }
    assert_eq!(p, ev.len());
    let want: Vec<Value> = people
        .iter()
        .chain(people.iter())
        .map(|&(n, a, c)| Value::Json(format!(r#"{{"age": {}, "data": "{}", "name": "{n}"}}"#, a + 1, c.repeat(10))))
        .collect();
    assert_eq!(results, want);
}

/// mysql_type_bit.000001 (8.0.26): `BIT(3)` 0b100, `"foo"`, `BIT(8)` 0b100000 (the values
/// mysql_common's test asserts); time_issue.000001 (8.0.40): `INSERT INTO t VALUES
/// ('-507:48:27')` (rust_mysql_common issue #169, hours above 255).
#[test]
fn mysql_bit_and_time_fixtures() {
    let values = |rel: &str| -> Vec<Vec<Option<Value>>> {
        fixture_rows(rel).iter().flat_map(|e| e.rows.iter().map(|(_, a)| a.clone().unwrap().cols)).collect()
    };
    assert_eq!(
        values("rust_mysql_common/mysql_type_bit.000001"),
        vec![vec![
            Some(Value::Bit { value: 0b100, bits: 3 }),
            Some(Value::Bytes(b"foo".to_vec())),
            Some(Value::Bit { value: 0b100000, bits: 8 }),
        ]]
    );
    assert_eq!(
        values("rust_mysql_common/time_issue.000001"),
        vec![vec![Some(Value::Time { negative: true, hours: 507, minutes: 48, seconds: 27, micros: 0 })]]
    );
}

/// vector.binlog (MySQL 9.0.1): `dtb.foo (id SERIAL, vector_column VECTOR(3))` gets
/// [1.1, 2.2, 3.3] and [1, -1, 0] (float32), twice (the database is dropped and recreated).
#[test]
fn mysql_vector_fixture() {
    let foo: Vec<Vec<Option<Value>>> = fixture_rows("rust_mysql_common/vector.binlog")
        .iter()
        .filter(|e| e.table.table == "foo" && e.kind == RowsEventKind::Write)
        .flat_map(|e| e.rows.iter().map(|(_, a)| a.clone().unwrap().cols))
        .collect();
    let row = |id: u64, v: Vec<f32>| vec![Some(Value::UInt(id)), Some(Value::Vector(v))];
    let want = vec![row(1, vec![1.1, 2.2, 3.3]), row(2, vec![1.0, -1.0, 0.0])];
    assert_eq!(foo, [want.clone(), want].concat());
}
