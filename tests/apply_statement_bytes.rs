//! Statement events (DDL, statement-based DML) reach the target byte for byte, parsed in the
//! charset the source session used, each alone in its own round trip.
//!
//! Regression for a SQL injection: a `CREATE TABLE` sent from an sjis client whose string ends
//! in the sjis character 0x95 0x5C was decoded as UTF-8 with a replacement character; the
//! trailing 0x5C then read as a backslash escaping the closing quote, and since the statement was
//! joined with others into one multi-statement text, the rest of the source user's literal ran
//! as statements on the target (a `CREATE TABLE evil` appeared only there). The same holds for
//! every charset whose multibyte characters can end in 0x5C: cp932, big5, gbk.
mod apply_support;
mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use apply_support::*;

/// Send `bytes` to instance `name` from a `mariadb` client using `charset`, exactly as given
/// (comments kept, so trailing `-- ...` reach the server and its binlog).
fn sql_bytes(sb: &common::Sandbox, name: &str, charset: &str, bytes: &[u8]) {
    let socket = format!("--socket={}", sb.dir.join(name).join("mysqld.sock").display());
    let mut child = Command::new("mariadb")
        .args(["--no-defaults", "-uroot", &socket, "--batch", "--comments", &format!("--default-character-set={charset}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mariadb");
    child.stdin.take().expect("stdin").write_all(bytes).expect("write sql");
    let out = child.wait_with_output().expect("mariadb");
    assert!(out.status.success(), "sql on {name} ({charset}) failed: {}\n{}", String::from_utf8_lossy(bytes), String::from_utf8_lossy(&out.stderr));
}

/// Everything a comparison needs of schema `db` on `name`: its tables, each table's
/// definition and rows, as hex (so no client charset conversion can hide a difference).
fn snapshot(sb: &common::Sandbox, name: &str, db: &str) -> String {
    let tables = sb.sql(name, &format!("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' ORDER BY TABLE_NAME"));
    let mut out = format!("tables: {}\n", tables.replace('\n', ","));
    for t in tables.lines() {
        let cols = sb.sql(
            name,
            &format!("SELECT GROUP_CONCAT(CONCAT('HEX(`', COLUMN_NAME, '`)') ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{t}'"),
        );
        let defs = sb.sql(
            name,
            &format!(
                "SELECT HEX(CONCAT_WS('|', COLUMN_NAME, COLUMN_TYPE, COLLATION_NAME, COLUMN_DEFAULT, COLUMN_COMMENT)) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{t}' ORDER BY ORDINAL_POSITION"
            ),
        );
        let comment = sb.sql(name, &format!("SELECT HEX(TABLE_COMMENT), TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{t}'"));
        let rows = sb.sql(name, &format!("SELECT {cols} FROM `{db}`.`{t}` ORDER BY 1"));
        out.push_str(&format!("{t}: {comment}\n{defs}\nrows:\n{rows}\n"));
    }
    out
}

/// The injection payload for a charset in which `ch` (ending in 0x5C) is one character:
/// one `CREATE TABLE` for a server reading it in that charset; read as UTF-8 (or latin1), the
/// 0x5C escapes the quote after it and a second statement, `CREATE TABLE evil`, follows.
fn payload(db: &str, table: &str, ch: &[u8]) -> Vec<u8> {
    let mut sql = format!("CREATE TABLE {db}.{table} (a INT PRIMARY KEY, b VARCHAR(50) COMMENT '").into_bytes();
    sql.extend_from_slice(ch);
    sql.extend_from_slice(format!("', c VARCHAR(80) DEFAULT '); CREATE TABLE {db}.evil_{table} (i INT); -- ');\n").as_bytes());
    sql
}

#[test]
fn statement_bytes_keep_their_charset_and_no_literal_runs_as_sql_on_the_target() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", "CREATE DATABASE inj CHARACTER SET utf8mb4");
    // One character ending in 0x5C per charset: sjis/cp932 0x955C, big5 0xA55C, gbk 0xD55C.
    let cases: [(&str, &str, &[u8]); 4] = [("sjis", "t_sjis", b"\x95\x5c"), ("cp932", "t_cp932", b"\x95\x5c"), ("big5", "t_big5", b"\xa5\x5c"), ("gbk", "t_gbk", b"\xd5\x5c")];
    for (charset, table, ch) in cases {
        sql_bytes(&sb, "A", charset, &payload("inj", table, ch));
        // Statement-based DML carrying the same character, in a transaction.
        let mut dml = format!("SET SESSION binlog_format = 'STATEMENT'; BEGIN; INSERT INTO inj.{table} (a, b) VALUES (1, '").into_bytes();
        dml.extend_from_slice(ch);
        dml.extend_from_slice(b"'); UPDATE inj.");
        dml.extend_from_slice(table.as_bytes());
        dml.extend_from_slice(b" SET c = CONCAT(b, '");
        dml.extend_from_slice(ch);
        dml.extend_from_slice(b"', '; DROP TABLE inj.t_sjis; -- ') WHERE a = 1; COMMIT;\n");
        sql_bytes(&sb, "A", charset, &dml);
    }
    // DDL in latin1 with a non-ASCII comment, and DDL ending in comments (a `-- ` comment runs
    // to the end of the text: joined with anything after it, that would be swallowed).
    sql_bytes(&sb, "A", "latin1", b"CREATE TABLE inj.t_latin1 (a INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET latin1 DEFAULT 'caf\xe9') COMMENT 'caf\xe9 cr\xe8me' -- trailing comment\n;\n");
    sql_bytes(&sb, "A", "utf8mb4", "CREATE TABLE inj.t_comment (a INT PRIMARY KEY) COMMENT 'h\u{e9}' # hash comment\n;\nINSERT INTO inj.t_comment VALUES (7) -- dml comment\n;\n".as_bytes());
    let files = sb.binlog_files("A");

    let want = snapshot(&sb, "A", "inj");
    // The source holds exactly the tables its users created: no `evil_*` table.
    assert!(want.starts_with("tables: t_big5,t_comment,t_cp932,t_gbk,t_latin1,t_sjis\n"), "{want}");
    // The latin1 client's bytes were read as latin1: 'café crème' (stored as UTF-8 metadata).
    assert!(want.contains("t_latin1: 636166C3A9206372C3A86D65\tutf8mb4_general_ci"), "latin1 comment bytes on the source: {want}");

    for mode in [&["--mode", "serial", "--workers", "1"][..], &["--mode", "writeset", "--workers", "8"][..]] {
        reset_target(&sb, &["inj"]);
        replay_ok(&sb, &files, mode);
        let got = snapshot(&sb, "C", "inj");
        assert_eq!(got, want, "target differs from the source after replay {mode:?}");
        // And nothing of the payloads ran anywhere else on the target.
        assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME LIKE 'evil%'"), "0");
    }
}

/// MIXED binlogs (MariaDB's default) log temporary tables as statements, each marked as
/// depending on its session: two source sessions each with their own `tmp`, interleaved, copy
/// their temporary rows into a real table. The target must keep each session's `tmp` in one
/// session of its own, as the native SQL thread does per pseudo thread id.
#[test]
fn temporary_tables_live_in_one_target_session_per_source_session() {
    let sb = common::Sandbox::start(&["A", "C"], "--binlog-format=MIXED");
    sb.sql("A", "CREATE DATABASE tmpdb; CREATE TABLE tmpdb.real_t (id INT PRIMARY KEY, who VARCHAR(10), v INT)");
    let session = |who: &str, base: u32, delay: &str| {
        format!(
            "SET SESSION binlog_format='MIXED'; DO SLEEP({delay}); USE tmpdb; \
             CREATE TEMPORARY TABLE tmp (id INT PRIMARY KEY, v INT); \
             INSERT INTO tmp VALUES ({a}, 1), ({b}, 2); DO SLEEP(1); \
             UPDATE tmp SET v = v * 10; \
             INSERT INTO real_t SELECT id, '{who}', v FROM tmp; DO SLEEP(1); \
             BEGIN; INSERT INTO tmp VALUES ({c}, 3); INSERT INTO real_t SELECT id, '{who}', v + 100 FROM tmp WHERE id = {c}; COMMIT; \
             DROP TEMPORARY TABLE tmp;",
            a = base + 1,
            b = base + 2,
            c = base + 3
        )
    };
    let s1 = session("one", 100, "0");
    let s2 = session("two", 200, "0.5");
    std::thread::scope(|scope| {
        scope.spawn(|| sb.sql("A", &s1));
        scope.spawn(|| sb.sql("A", &s2));
    });
    let files = sb.binlog_files("A");
    let dump = Command::new("mariadb-binlog").args(&files).output().expect("mariadb-binlog");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("CREATE TEMPORARY TABLE tmp"), "the source logged no temporary table: the test does not test anything");
    assert!(dump.contains("FROM tmp"), "the source logged the copy as rows: the test does not test anything");
    let rows = "SELECT id, who, v FROM tmpdb.real_t ORDER BY id";
    let want = sb.sql("A", rows);
    assert_eq!(want, "101\tone\t10\n102\tone\t20\n103\tone\t103\n201\ttwo\t10\n202\ttwo\t20\n203\ttwo\t103");
    for mode in [&["--mode", "serial", "--workers", "1"][..], &["--mode", "writeset", "--workers", "8"][..]] {
        reset_target(&sb, &["tmpdb"]);
        replay_ok(&sb, &files, mode);
        assert_eq!(sb.sql("C", rows), want, "after replay {mode:?}");
    }
}

/// Statement-based `LOAD DATA` (MIXED and STATEMENT binlogs log it with the file in
/// BEGIN_LOAD_QUERY / APPEND_BLOCK events) lands on the target with the file's rows: it was
/// skipped silently before (GTID recorded, rows missing).
#[test]
fn statement_based_load_data_applies_the_logged_file() {
    let sb = common::Sandbox::start(&["A", "C"], "--binlog-format=MIXED");
    sb.sql(
        "A",
        "CREATE DATABASE ld; CREATE TABLE ld.t (id INT PRIMARY KEY, s VARCHAR(200), n DECIMAL(10,2)) ENGINE=InnoDB; \
         CREATE TABLE ld.m (id INT, s VARCHAR(20) CHARACTER SET latin1) ENGINE=MyISAM; \
         INSERT INTO ld.t VALUES (2, 'old two', 0), (9000, 'kept', 1)",
    );
    let dir = sb.dir.join("load-files");
    std::fs::create_dir_all(&dir).unwrap();
    // Large enough for APPEND_BLOCK events after the BEGIN_LOAD_QUERY.
    let mut big = String::new();
    for i in 1..=6000 {
        big.push_str(&format!("{i},\"row {i}, quoted \\\"x\\\" and \u{e9}\",{}.{:02}\n", i * 3, i % 100));
    }
    std::fs::write(dir.join("big.csv"), &big).unwrap();
    std::fs::write(dir.join("dups.csv"), "2,new two,2.5\n9000,not kept,0\n9001,new,1\n").unwrap();
    std::fs::write(dir.join("latin1.txt"), b"1\tcaf\xe9\n2\tna\xefve\n").unwrap();
    let path = |f: &str| dir.join(f).display().to_string();
    let loads = format!(
        "SET SESSION binlog_format = 'STATEMENT'; \
         LOAD DATA LOCAL INFILE '{big}' IGNORE INTO TABLE ld.t CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' (id, s, n); \
         LOAD DATA LOCAL INFILE '{dups}' REPLACE INTO TABLE ld.t FIELDS TERMINATED BY ',' (id, s, n); \
         BEGIN; DELETE FROM ld.t WHERE id = 9001; LOAD DATA LOCAL INFILE '{dups}' IGNORE INTO TABLE ld.t FIELDS TERMINATED BY ',' (id, @s, n) SET s = UPPER(@s); COMMIT; \
         LOAD DATA LOCAL INFILE '{latin1}' INTO TABLE ld.m CHARACTER SET latin1 (id, s);",
        big = path("big.csv"),
        dups = path("dups.csv"),
        latin1 = path("latin1.txt")
    );
    let socket = format!("--socket={}", sb.dir.join("A").join("mysqld.sock").display());
    let out = Command::new("mariadb").args(["--no-defaults", "-uroot", &socket, "--local-infile=1", "-e", &loads]).output().expect("mariadb");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files = sb.binlog_files("A");
    let dump = Command::new("mariadb-binlog").args(&files).output().expect("mariadb-binlog");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("Append_block"), "the big file was logged in one block: the test does not cover APPEND_BLOCK");
    assert_eq!(dump.matches("LOAD DATA LOCAL INFILE").count(), 4, "every LOAD DATA logged as a statement");

    let rows = "SELECT COUNT(*), SUM(id), SUM(n), MD5(GROUP_CONCAT(id, ':', HEX(s) ORDER BY id)) FROM ld.t; \
                SELECT id, HEX(s) FROM ld.m ORDER BY id";
    let want = sb.sql("A", rows);
    assert!(want.starts_with("6002\t"), "{want}");
    assert!(want.ends_with("1\t636166E9\n2\t6E61EF7665"), "{want}");
    for mode in [&["--mode", "serial", "--workers", "1"][..], &["--mode", "writeset", "--workers", "8"][..]] {
        reset_target(&sb, &["ld"]);
        replay_ok(&sb, &files, mode);
        assert_eq!(sb.sql("C", rows), want, "after replay {mode:?}");
    }
}
