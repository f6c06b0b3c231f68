//! Row changes applied with the semantics the source logged them with, against real MariaDB
//! source and target sandboxes (replayed with `--mode writeset --workers 8` and serially, every
//! table compared with the source):
//! - `foreign_key_checks=0` / `unique_checks=0` on the source, which MariaDB records only in
//!   each ROWS event's flags: an orphan child applies, a parent deleted or re-keyed with checks
//!   off does not cascade on the target.
//! - keyless tables whose rows differ only by case, accent or trailing space under _ci and PAD
//!   SPACE collations, or not at all: exactly the logged row is changed.
//! - strictness: a value the target column cannot hold stops replay with an error naming the
//!   GTID, table and column; values a lax source stored (zero and invalid dates, the ENUM error
//!   value, clipped numbers) still apply.
mod apply_support;
mod common;

use std::fmt::Write as _;

use apply_support::*;

/// Every row of `table` on `name`, one line each, sorted: floats as text, everything else as
/// hex, so the comparison is byte-exact and independent of collations.
fn dump_table(sb: &common::Sandbox, name: &str, table: &str) -> String {
    let (db, t) = table.split_once('.').unwrap();
    let cols = sb.sql(
        name,
        &format!(
            "SELECT GROUP_CONCAT(IF(DATA_TYPE IN ('float','double'), CONCAT('IFNULL(CONCAT(`', COLUMN_NAME, '`),''NULL'')'), CONCAT('IFNULL(HEX(`', COLUMN_NAME, '`),''NULL'')')) ORDER BY ORDINAL_POSITION) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='{db}' AND TABLE_NAME='{t}'"
        ),
    );
    sb.sql(name, &format!("SET time_zone='+00:00'; SELECT CONCAT_WS('|', {cols}) AS r FROM {table} ORDER BY r"))
}

/// Assert every table of `tables` holds on C exactly what it holds on A.
fn assert_same_tables(sb: &common::Sandbox, tables: &[&str], what: &str) {
    for t in tables {
        assert_eq!(dump_table(sb, "C", t), dump_table(sb, "A", t), "{t} differs after {what}");
    }
    assert_eq!(checksums(sb, "C", tables), checksums(sb, "A", tables), "{what}");
}

const FK_TABLES: [&str; 5] = ["fk.p", "fk.c", "fk.gc", "fk.u", "fk.bulk"];

#[test]
fn foreign_key_and_unique_checks_off_on_the_source_apply_as_logged() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    let mut sql = String::from(
        "CREATE DATABASE fk; USE fk;
         CREATE TABLE fk.p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         CREATE TABLE fk.c (id INT PRIMARY KEY, pid INT, v INT,
           FOREIGN KEY (pid) REFERENCES fk.p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
         CREATE TABLE fk.gc (id INT PRIMARY KEY, cid INT, FOREIGN KEY (cid) REFERENCES fk.c (id) ON DELETE SET NULL) ENGINE=InnoDB;
         CREATE TABLE fk.u (id INT PRIMARY KEY, k INT, UNIQUE KEY (k)) ENGINE=InnoDB;
         CREATE TABLE fk.bulk (id INT PRIMARY KEY, k INT, pid INT, UNIQUE KEY (k), FOREIGN KEY (pid) REFERENCES fk.p (id)) ENGINE=InnoDB;
         INSERT INTO fk.p SELECT seq, seq FROM seq_1_to_40;
         INSERT INTO fk.c SELECT seq, (seq % 40) + 1, 0 FROM seq_1_to_120;
         INSERT INTO fk.gc SELECT seq, seq FROM seq_1_to_60;
         -- Checks off: an orphan child, a parent deleted with children (they stay, as do their
         -- grandchildren's links), a parent re-keyed (its children keep the old id).
         SET foreign_key_checks=0;
         INSERT INTO fk.c VALUES (1000, 999, 1);
         DELETE FROM fk.p WHERE id = 3;
         UPDATE fk.p SET id = 103 WHERE id = 4;
         SET foreign_key_checks=1;
         -- Checks toggled inside one transaction: only the middle rows were logged with them off.
         BEGIN;
         INSERT INTO fk.p VALUES (500, 1);
         SET foreign_key_checks=0;
         INSERT INTO fk.c VALUES (1001, 777, 2);
         DELETE FROM fk.p WHERE id = 5;
         SET foreign_key_checks=1;
         INSERT INTO fk.c VALUES (1002, 500, 3);
         DELETE FROM fk.p WHERE id = 6;
         COMMIT;
         -- unique_checks=0: a bulk load; with both off (InnoDB's bulk insert into an empty table).
         SET unique_checks=0;
         INSERT INTO fk.u SELECT seq, seq FROM seq_1_to_3000;
         SET foreign_key_checks=0;
         INSERT INTO fk.bulk SELECT seq, seq, seq + 10000 FROM seq_1_to_2000;
         SET unique_checks=1, foreign_key_checks=1;
         ",
    );
    // Many small transactions around flagged ones, so writeset commit groups mix both.
    for i in 0..300 {
        match i % 10 {
            3 => {
                let _ = write!(sql, "SET foreign_key_checks=0; INSERT INTO fk.c VALUES ({}, {}, {i}); SET foreign_key_checks=1;", 2000 + i, 100_000 + i);
            }
            7 if i / 10 + 7 <= 40 => {
                // A parent with children and grandchildren, deleted with checks off.
                let _ = write!(sql, "SET foreign_key_checks=0; DELETE FROM fk.p WHERE id = {}; SET foreign_key_checks=1;", i / 10 + 7);
            }
            9 => {
                let _ = write!(sql, "DELETE FROM fk.c WHERE id = {};", i / 10 + 1);
            }
            _ => {
                let _ = write!(sql, "INSERT INTO fk.p VALUES ({}, {i}); UPDATE fk.c SET v = v + 1 WHERE id = {};", 1000 + i, i % 120 + 1);
            }
        }
    }
    sb.sql("A", &sql);
    // The source kept the orphans and the children of deleted parents.
    assert_eq!(sb.sql("A", "SELECT COUNT(*) FROM fk.c WHERE pid NOT IN (SELECT id FROM fk.p)"), "103");
    let files = sb.binlog_files("A");
    for args in [vec!["--mode", "writeset", "--workers", "8"], vec!["--mode", "serial"]] {
        reset_target(&sb, &["fk"]);
        let summary = replay_ok(&sb, &files, &args);
        assert_eq!(u(&summary, "conflicts"), 0, "{args:?}");
        assert_same_tables(&sb, &FK_TABLES, &format!("replay {args:?}"));
    }
}

const KEYLESS_TABLES: [&str; 6] = ["kl.ci", "kl.ch", "kl.tx", "kl.dup", "kl.nu", "kl.mix"];

#[test]
fn keyless_rows_that_collations_call_equal_are_changed_exactly() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "SET NAMES utf8mb4; SET time_zone = '+00:00';
         CREATE DATABASE kl;
         CREATE TABLE kl.ci (v VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, n INT, KEY (v)) ENGINE=InnoDB;
         CREATE TABLE kl.ch (c CHAR(6) CHARACTER SET latin1 COLLATE latin1_swedish_ci, n INT) ENGINE=InnoDB;
         CREATE TABLE kl.tx (t TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, n INT, KEY (t(4))) ENGINE=InnoDB;
         CREATE TABLE kl.dup (a INT, b VARCHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci) ENGINE=InnoDB;
         CREATE TABLE kl.nu (u VARCHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL, w VARCHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, UNIQUE KEY (u)) ENGINE=InnoDB;
         CREATE TABLE kl.mix (f FLOAT, d DOUBLE, j JSON, bt BIT(8), e ENUM('x','y'), bn BINARY(4), bl BLOB, ts TIMESTAMP(3) NULL DEFAULT NULL,
           k VARCHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin) ENGINE=InnoDB;
         -- Case, accent and trailing space twins (utf8mb4_general_ci is PAD SPACE).
         INSERT INTO kl.ci VALUES ('a',1),('A',1),('á',1),('b',2),('b ',2),('B',2),('c',3);
         DELETE FROM kl.ci WHERE BINARY v = 'A';
         UPDATE kl.ci SET n = 20 WHERE BINARY v = 'b ';
         DELETE FROM kl.ci WHERE BINARY v = 'á';
         UPDATE kl.ci SET v = 'C' WHERE v = 'c';
         -- latin1_swedish_ci: e = E = é; CHAR drops trailing spaces, so 'z  ' and 'z' are one value.
         INSERT INTO kl.ch VALUES ('e',1),('E',1),('é',1),('z  ',3),('z',3);
         DELETE FROM kl.ch WHERE BINARY c = 'é';
         UPDATE kl.ch SET n = 10 WHERE BINARY c = 'E';
         DELETE FROM kl.ch WHERE c = 'z' LIMIT 1;
         -- utf8mb4_unicode_ci: ß = ss, and a prefix index.
         INSERT INTO kl.tx VALUES ('Straße',1),('STRASSE',1),('strasse',1);
         DELETE FROM kl.tx WHERE BINARY t = 'STRASSE';
         UPDATE kl.tx SET n = 5 WHERE BINARY t = 'strasse';
         -- Identical rows: deleting or updating one of them leaves the others.
         INSERT INTO kl.dup VALUES (1,'x'),(1,'x'),(1,'x'),(1,'X');
         DELETE FROM kl.dup WHERE a = 1 AND BINARY b = 'x' LIMIT 1;
         UPDATE kl.dup SET a = 3 WHERE a = 1 AND BINARY b = 'x' LIMIT 1;
         DELETE FROM kl.dup WHERE BINARY b = 'X';
         -- The only unique key is nullable: not a row identity.
         INSERT INTO kl.nu VALUES (NULL,'a'),(NULL,'A'),('k','q');
         DELETE FROM kl.nu WHERE u IS NULL AND BINARY w = 'A';
         UPDATE kl.nu SET w = 'Q' WHERE u = 'k';
         -- Other types in a keyless table: FLOAT, JSON, BIT, ENUM, padded BINARY, BLOB, TIMESTAMP.
         INSERT INTO kl.mix VALUES
           (0.1, 0.1, '{\"a\": 1}', b'101', 'y', 'ab', X'00FF', '2020-01-01 00:00:00.123', 'k'),
           (0.1, 0.1, '{\"a\": 1}', b'101', 'y', 'ab', X'00FF', '2020-01-01 00:00:00.123', 'K'),
           (3.5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           (999.25, 1e300, '[]', b'0', 'x', X'00000000', X'', '2038-01-19 03:14:07.999', 'n');
         UPDATE kl.mix SET d = 2 WHERE k = 'K';
         DELETE FROM kl.mix WHERE f = 3.5;
         UPDATE kl.mix SET bl = X'01', j = '{\"a\": 2}' WHERE k = 'k';
         UPDATE kl.mix SET f = 1.5 WHERE k = 'n';",
    );
    // The source changed exactly the rows named by bytes.
    assert_eq!(sb.sql("A", "SELECT GROUP_CONCAT(CONCAT(HEX(v), ':', n) ORDER BY HEX(v)) FROM kl.ci"), "42:2,43:3,61:1,62:2,6220:20");
    let files = sb.binlog_files("A");
    for args in [vec!["--mode", "writeset", "--workers", "8"], vec!["--mode", "serial"]] {
        reset_target(&sb, &["kl"]);
        let summary = replay_ok(&sb, &files, &args);
        assert_eq!(u(&summary, "conflicts"), 0, "{args:?}");
        assert_same_tables(&sb, &KEYLESS_TABLES, &format!("replay {args:?}"));
    }
}

#[test]
fn values_the_target_column_cannot_hold_stop_replay_naming_gtid_table_and_column() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE st;
         CREATE TABLE st.narrow (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
         CREATE TABLE st.big (id INT PRIMARY KEY, b BIGINT) ENGINE=InnoDB;
         CREATE TABLE st.tiny (id INT PRIMARY KEY, t INT) ENGINE=InnoDB;
         CREATE TABLE st.cs (id INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET utf8mb4) ENGINE=InnoDB;
         CREATE TABLE st.en (id INT PRIMARY KEY, e ENUM('a','b','c')) ENGINE=InnoDB;",
    );
    let schema_seq = seq(&sb);
    sb.sql("A", "FLUSH BINARY LOGS");
    // Every file but the new, empty one FLUSH just opened.
    let mut schema_files = sb.binlog_files("A");
    schema_files.pop();
    // The target's copy is narrower than the source's (and never gets the source's DDL).
    sb.sql(
        "C",
        "CREATE DATABASE st;
         CREATE TABLE st.narrow (id INT PRIMARY KEY, v VARCHAR(5)) ENGINE=InnoDB;
         CREATE TABLE st.big (id INT PRIMARY KEY, b INT) ENGINE=InnoDB;
         CREATE TABLE st.tiny (id INT PRIMARY KEY, t TINYINT UNSIGNED) ENGINE=InnoDB;
         CREATE TABLE st.cs (id INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET latin1) ENGINE=InnoDB;
         CREATE TABLE st.en (id INT PRIMARY KEY, e ENUM('a','b')) ENGINE=InnoDB;",
    );
    let mut load = String::from("INSERT INTO st.narrow VALUES (1, 'abc');");
    // Plenty that fits, so the writeset run coalesces commit groups around the bad rows.
    for i in 0..40 {
        let _ = write!(load, "INSERT INTO st.big VALUES ({}, {i}); INSERT INTO st.tiny VALUES ({}, {i});", 100 + i, 100 + i);
    }
    sb.sql("A", &load);
    let bad = |sql: &str| {
        sb.sql("A", &format!("SET NAMES utf8mb4; {sql}"));
        format!("1-1-{}", seq(&sb))
    };
    let g_insert = bad("INSERT INTO st.narrow VALUES (2, 'abcdefghij')");
    let g_big = bad("INSERT INTO st.big VALUES (1, 5000000000)");
    let g_tiny = bad("UPDATE st.tiny SET t = 300 WHERE id = 105");
    let g_cs = bad("INSERT INTO st.cs VALUES (1, 'a😀')");
    let g_enum = bad("INSERT INTO st.en VALUES (1, 'c')");
    let g_update = bad("UPDATE st.narrow SET v = 'abcdefghijklmno' WHERE id = 1");
    let change_files: Vec<_> = sb.binlog_files("A").into_iter().filter(|f| !schema_files.contains(f)).collect();
    assert!(schema_seq > 0);

    // Each replay stops before anything is truncated, naming the table: the column types differ
    // from the source's, so the TABLE_MAP check refuses the table before its first row (as the
    // native replica refuses a type conversion, error 1677), naming GTID, column position and
    // both types; a value that only strict mode refuses (same type) names GTID, table and
    // column. Giving the target the source's column lets the next replay resume past it.
    let _ = (&g_insert, &g_big, &g_tiny, &g_cs, &g_enum, &g_update);
    let fixes = [
        ("st.narrow", "`st`.`narrow`", "ALTER TABLE st.narrow MODIFY v VARCHAR(20)"),
        ("st.big", "`st`.`big`", "ALTER TABLE st.big MODIFY b BIGINT"),
        ("st.tiny", "`st`.`tiny`", "ALTER TABLE st.tiny MODIFY t INT"),
        ("st.cs", "`st`.`cs`", "ALTER TABLE st.cs MODIFY s VARCHAR(10) CHARACTER SET utf8mb4"),
        ("st.en", "`st`.`en`", "ALTER TABLE st.en MODIFY e ENUM('a','b','c')"),
    ];
    let mut stopped = Vec::new();
    for n in 0..fixes.len() {
        let args: &[&str] = if n % 2 == 0 { &["--mode", "writeset", "--workers", "8"] } else { &["--mode", "serial"] };
        let out = replay(&sb, &change_files, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "replay {args:?} should stop ({} tables still differ):\n{stderr}", fixes.len() - n);
        let (plain, quoted, fix) = fixes
            .iter()
            .find(|(plain, quoted, _)| {
                stderr.contains(&format!("rows do not fit the target's table: GTID 1-1-")) && stderr.contains(&format!("table {quoted} column 2"))
                    || stderr.contains(&format!("table {plain}: target error: "))
            })
            .unwrap_or_else(|| panic!("replay {args:?} stopped without naming a table that differs:\n{stderr}"));
        let _ = quoted;
        // Nothing was truncated or clipped into the target.
        let clipped = "SELECT (SELECT COUNT(*) FROM st.narrow WHERE v IN ('abcde', 'abcdefghijkl')) + (SELECT COUNT(*) FROM st.big WHERE b = 2147483647) \
                       + (SELECT COUNT(*) FROM st.tiny WHERE t = 255) + (SELECT COUNT(*) FROM st.cs WHERE s LIKE 'a?%') + (SELECT COUNT(*) FROM st.en WHERE e = '')";
        assert_eq!(sb.sql("C", clipped), "0", "after stop {n}");
        sb.sql("C", &format!("SET sql_log_bin=0; {fix}"));
        stopped.push(*plain);
    }
    stopped.sort();
    assert_eq!(stopped, ["st.big", "st.cs", "st.en", "st.narrow", "st.tiny"]);
    replay_ok(&sb, &change_files, &["--mode", "writeset", "--workers", "8"]);
    assert_same_tables(&sb, &["st.narrow", "st.big", "st.tiny", "st.cs", "st.en"], "the target was widened");
}

/// The source's last GTID sequence number (one domain, one server).
fn seq(sb: &common::Sandbox) -> u64 {
    sb.sql("A", "SELECT @@gtid_binlog_pos").rsplit('-').next().unwrap().parse().unwrap()
}

#[test]
fn values_a_lax_source_stored_still_apply() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "SET NAMES utf8mb4; SET time_zone = '+00:00';
         CREATE DATABASE lx;
         CREATE TABLE lx.t (id INT PRIMARY KEY, d DATE, dt DATETIME, ts TIMESTAMP NULL DEFAULT NULL, e ENUM('a','b'),
           ti TINYINT UNSIGNED, v VARCHAR(3), f FLOAT(7,4), dd DOUBLE(6,2), y YEAR, s SET('p','q')) ENGINE=InnoDB;
         CREATE TABLE lx.k (d DATE, e ENUM('a','b'), v VARCHAR(3), f FLOAT(7,4)) ENGINE=InnoDB;
         SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
         INSERT INTO lx.t VALUES
           (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 'zz', 300, 'abcdef', 999.9999, 9999.99, 0, 'p,q'),
           (2, '2020-02-31', '2020-00-15 10:00:00', '2001-02-03 04:05:06', 'b', -5, 'é', -999.9999, 1.005, 2155, ''),
           (3, '2020-00-00', '0000-01-01 00:00:00', NULL, '', 1e9, 'xyzzy', 123456, -1e9, 1901, 'q');
         UPDATE lx.t SET e = 'nope', d = '2020-04-31', f = 1000000 WHERE id = 2;
         INSERT INTO lx.k VALUES ('0000-00-00', 'zz', 'x', 999.9999), ('2020-02-30', 'a', 'yyyy', 0.1235), ('2020-02-30', 'a', 'yyyy', 0.1235);
         UPDATE lx.k SET v = 'z' WHERE e = 0;
         DELETE FROM lx.k WHERE d = '2020-02-30' LIMIT 1;
         UPDATE lx.k SET e = 'zz' WHERE d = '2020-02-30';
         SET SESSION sql_mode = DEFAULT;",
    );
    // The source stored what a lax mode makes of those values.
    assert_eq!(sb.sql("A", "SELECT d, e + 0, ti, v, f FROM lx.t WHERE id = 1"), "0000-00-00\t0\t255\tabc\t999.9999");
    let files = sb.binlog_files("A");
    for args in [vec!["--mode", "writeset", "--workers", "8"], vec!["--mode", "serial"]] {
        reset_target(&sb, &["lx"]);
        let summary = replay_ok(&sb, &files, &args);
        assert_eq!(u(&summary, "conflicts"), 0, "{args:?}");
        assert_same_tables(&sb, &["lx.t", "lx.k"], &format!("replay {args:?}"));
    }
}
