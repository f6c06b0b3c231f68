//! Type-matrix round trip: every column type with edge values is written on MariaDB A, A's
//! binlog files are replayed onto C, and every row must read back identically (and CHECKSUM
//! TABLE must match). Covers exact literals for each `Value` variant, utf8mb4/binary/_ci text,
//! PK lookups on a _ci VARCHAR key, and keyless tables.
mod apply_support;
mod common;

use apply_support::*;

const SCHEMA: &str = r#"
SET NAMES utf8mb4;
SET time_zone = '+00:00';
CREATE DATABASE tm;
CREATE TABLE tm.all_types (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  f FLOAT, d DOUBLE, dec65 DECIMAL(65,30), dec0 DECIMAL(10,0) UNSIGNED, dsm DECIMAL(5,2),
  y YEAR, dt DATE, dtm DATETIME(6), dtm0 DATETIME, ts TIMESTAMP(6) NULL DEFAULT NULL,
  t0 TIME, t1 TIME(1), t2 TIME(2), t3 TIME(3), t4 TIME(4), t5 TIME(5), t6 TIME(6),
  ch CHAR(10) CHARACTER SET utf8mb4, vbin VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  vci VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, lat VARCHAR(20) CHARACTER SET latin1,
  bn BINARY(8), vb VARBINARY(100), tx TEXT CHARACTER SET utf8mb4, bl BLOB, lb LONGBLOB,
  j JSON, b1 BIT(1), b64 BIT(64), e ENUM('a','b','c'), st SET('x','y','z')
) ENGINE=InnoDB;
CREATE TABLE tm.ci_key (k VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE tm.nokey (a INT, b VARCHAR(10), c DOUBLE, f FLOAT) ENGINE=InnoDB;
CREATE TABLE tm.onupd (id INT PRIMARY KEY, v INT,
  ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  dt DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB;
"#;

const ROWS: &str = r#"
SET NAMES utf8mb4;
SET time_zone = '+00:00';
INSERT INTO tm.all_types (id) VALUES (1);
INSERT INTO tm.all_types VALUES (2,
  127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
  3.40282e38, 1.7976931348623157e308, '99999999999999999999999999999999999.999999999999999999999999999999', 9999999999, 999.99,
  2155, '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59', '2038-01-19 03:14:07.999999',
  '838:59:59', '838:59:58.9', '838:59:58.99', '838:59:58.999', '838:59:58.9999', '838:59:58.99999', '838:59:58.999999',
  'ten chars!', REPEAT('é', 300), 'MiXeD', 'caf\xe9', X'0001020304050607', X'FF00FE', 'text 😀 ok', X'00FF00FF', REPEAT(X'AB', 70000),
  '{"a": [1, 2.5, "x", null, true], "b": {"c": "😀"}}', b'1', b'1111111111111111111111111111111111111111111111111111111111111111', 'c', 'x,y,z');
INSERT INTO tm.all_types VALUES (3,
  -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -1.17549e-38, -2.2250738585072014e-308, '-99999999999999999999999999999999999.999999999999999999999999999999', 0, -999.99,
  1901, '1000-01-01', '1000-01-01 00:00:00.000001', '1000-01-01 00:00:00', '1970-01-01 00:00:01.000001',
  '-838:59:59', '-838:59:58.9', '-00:00:00.01', '-00:00:00.001', '-12:34:56.7891', '-00:00:01.00001', '-838:59:58.000001',
  '', '', '', '', X'00', X'', '', X'', X'',
  '[]', b'0', b'0', 'a', '');
INSERT INTO tm.all_types (id, f, d, dec65, dsm, y, t1, t6, ch, vbin, vci, bn, j, e, st) VALUES
  (4, 0.1, 0.1, '0.000000000000000000000000000001', -0.01, 0, '-00:00:00.5', '00:00:00.000001', '😀', '😀👍🏽', 'Ünïcödé', X'FF', '{"k": "v"}', 'b', 'y'),
  (5, -0, 1e-300, '-0.5', 0, 70, '01:02:03.4', '-01:02:03.000004', 'a', 'tab\there', 'quote''s \\ back', X'5C27', '"str"', NULL, 'x,z');
UPDATE tm.all_types SET vbin = CONCAT(vbin, '✓'), biu = biu - 1, t6 = '-00:00:00.000001', ts = '2001-02-03 04:05:06.7', j = JSON_OBJECT('u', 1) WHERE id = 4;
UPDATE tm.all_types SET id = 6, lb = X'00', b64 = b'101' WHERE id = 5;
DELETE FROM tm.all_types WHERE id = 1;
INSERT INTO tm.ci_key VALUES ('Key-A', 1), ('ß', 2), ('😀', 3);
UPDATE tm.ci_key SET v = 10 WHERE k = 'key-a';
DELETE FROM tm.ci_key WHERE k = 'ß';
INSERT INTO tm.nokey VALUES (1, 'dup', 0.1, 0.1), (1, 'dup', 0.1, 0.1), (2, NULL, NULL, NULL), (3, 'x', 1e-300, 3.5);
DELETE FROM tm.nokey WHERE a = 1 LIMIT 1;
UPDATE tm.nokey SET b = 'was null' WHERE a = 2;
UPDATE tm.nokey SET f = 7.25 WHERE a = 3;
INSERT INTO tm.all_types (id, j) VALUES (7, '{"deep": {"x": [1, {"y": null}]}}');
SET TIMESTAMP = 1000000000.25;
INSERT INTO tm.onupd (id, v) VALUES (1, 1), (2, 2);
UPDATE tm.onupd SET v = 10 WHERE id = 1;
SET TIMESTAMP = DEFAULT;
"#;

fn dump(sb: &common::Sandbox, name: &str) -> String {
    // HEX() of every column makes the comparison byte-exact, independent of client escaping.
    let cols = sb.sql(name, "SELECT GROUP_CONCAT(IF(DATA_TYPE IN ('float','double'), CONCAT('`', COLUMN_NAME, '`'), CONCAT('HEX(`', COLUMN_NAME, '`)')) ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='tm' AND TABLE_NAME='all_types'");
    let mut out = sb.sql(name, &format!("SET time_zone='+00:00'; SELECT id, {cols} FROM tm.all_types ORDER BY id"));
    out.push('\n');
    out.push_str(&sb.sql(name, "SELECT HEX(k), v FROM tm.ci_key ORDER BY k"));
    out.push('\n');
    out.push_str(&sb.sql(name, "SELECT a, HEX(b), HEX(c), HEX(f) FROM tm.nokey ORDER BY a, b"));
    out.push('\n');
    // The UPDATE left ts/dt equal to their old values (same TIMESTAMP): replayed later, the
    // target must keep them, not take its own clock through ON UPDATE CURRENT_TIMESTAMP.
    out.push_str(&sb.sql(name, "SET time_zone='+00:00'; SELECT id, v, ts, dt FROM tm.onupd ORDER BY id"));
    out
}

/// Compare dumps line by line, printing only the first difference (rows can be 200 KB).
fn assert_same_lines(got: &str, want: &str) {
    let short = |s: &str| if s.len() > 400 { format!("{}…", &s[..400]) } else { s.to_string() };
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            let col = g.split('\t').zip(w.split('\t')).position(|(a, b)| a != b);
            panic!("line {i} differs at column {col:?}:\n C: {}\n A: {}", short(g), short(w));
        }
    }
    assert_eq!(got.lines().count(), want.lines().count(), "row counts differ");
}

#[test]
fn every_type_round_trips_exactly_through_replay() {
    round_trip("");
}

/// The same matrix from a source at MariaDB's default `binlog_row_metadata=NO_LOG`: no names,
/// no signedness, no primary key in TABLE_MAP; rows are mapped by position onto the target's
/// table (issue 14, item 1), unsigned maxima included.
#[test]
fn every_type_round_trips_without_row_metadata() {
    round_trip("--binlog-row-metadata=NO_LOG");
}

fn round_trip(server_args: &str) {
    let sb = common::Sandbox::start(&["A", "C"], server_args);
    sb.sql("A", SCHEMA);
    sb.sql("A", "FLUSH BINARY LOGS");
    sb.sql("A", ROWS);
    let files = sb.binlog_files("A");
    assert!(files.len() >= 2, "expected at least two binlog files");

    let summary = replay_ok(&sb, &files, &["--workers", "4"]);
    let a = dump(&sb, "A");
    let c = dump(&sb, "C");
    // all_types keeps ids 2, 3, 4, 6, 7; ci_key 2 rows; nokey 3 rows; onupd 2 rows.
    assert_eq!(a.lines().count(), 5 + 2 + 3 + 2, "unexpected row count on A");
    assert!(a.ends_with("1\t10\t2001-09-09 01:46:40.250000\t2001-09-09 01:46:40\n2\t2\t2001-09-09 01:46:40.250000\t2001-09-09 01:46:40"), "{a}");
    assert_same_lines(&c, &a);
    let tables = ["tm.all_types", "tm.ci_key", "tm.nokey", "tm.onupd"];
    assert_eq!(checksums(&sb, "C", &tables), checksums(&sb, "A", &tables));
    assert_eq!(u(&summary, "conflicts"), 0);
    assert_eq!(u(&summary, "txns_skipped"), 0);

    // The applied position equals A's binlog position, and C logged the same GTIDs.
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    assert_eq!(summary["applied_position"].as_str().unwrap(), a_pos);
    let c_pos = sb.sql("C", "SELECT @@gtid_binlog_pos");
    assert!(c_pos.split(',').any(|g| g == a_pos), "C gtid_binlog_pos {c_pos} lacks {a_pos}");

    // Replaying again applies nothing: everything is recorded as applied.
    let again = replay_ok(&sb, &files, &["--workers", "4"]);
    assert_eq!(u(&again, "txns_applied"), 0);
    assert_eq!(u(&again, "txns_skipped"), u(&summary, "txns_applied"));
    assert_eq!(dump(&sb, "C"), a);
}
