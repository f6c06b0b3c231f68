//! The tail of issue 14: sequences from a `binlog_row_image=MINIMAL` source, CREATE TABLE ...
//! SELECT into generated columns with FULL metadata, and a crash between a CTAS's CREATE and its
//! rows.
//!
//! Before the fixes: a NEXTVAL's row (next_not_cached_value and cycle_count only) became an
//! INSERT of two columns (ERROR 1364 `Field 'minimum_value' doesn't have a default value`; the
//! server's own row code refuses it too, ERROR 4085); the CTAS rows were written into the
//! generated columns (ERROR 1906); and a rerun after a crash between the CREATE and its rows
//! found the CREATE's GTID on the target, took the whole CTAS for applied and lost its rows.
mod apply_support;
mod common;

use apply_support::*;

const WRITESET: [&str; 4] = ["--mode", "writeset", "--workers", "8"];

#[test]
fn sequence_rows_from_a_minimal_image_source_reach_the_source_state() {
    let sb = common::Sandbox::start(&["A", "C"], "--binlog-row-image=MINIMAL --binlog-row-metadata=NO_LOG");
    sb.sql(
        "A",
        "CREATE DATABASE sq; \
         CREATE SEQUENCE sq.s START WITH 100 INCREMENT BY 7; \
         CREATE SEQUENCE sq.c START WITH 1 MINVALUE 1 MAXVALUE 3 CACHE 2 CYCLE; \
         CREATE TABLE sq.t (id INT PRIMARY KEY, v INT); \
         SELECT NEXTVAL(sq.s); \
         INSERT INTO sq.t VALUES (NEXTVAL(sq.s), 1); \
         SELECT NEXTVAL(sq.c), NEXTVAL(sq.c), NEXTVAL(sq.c), NEXTVAL(sq.c), NEXTVAL(sq.c); \
         SELECT SETVAL(sq.s, 100000); \
         ALTER SEQUENCE sq.s RESTART WITH 10; \
         SELECT NEXTVAL(sq.s)",
    );
    // What the source logged for each NEXTVAL is two of the eight columns.
    let files = sb.binlog_files("A");
    replay_ok(&sb, &files, &WRITESET);
    for s in ["sq.s", "sq.c"] {
        assert_eq!(sb.sql("C", &format!("SELECT * FROM {s}")), sb.sql("A", &format!("SELECT * FROM {s}")), "{s}");
    }
    assert_eq!(sb.sql("C", "SELECT next_not_cached_value, cycle_count FROM sq.s"), "7010\t0");
    // The cycling sequence went round: its logged rows carry a cycle_count above 0.
    assert_ne!(sb.sql("A", "SELECT cycle_count FROM sq.c"), "0");
    assert_eq!(checksums(&sb, "C", &["sq.t"]), checksums(&sb, "A", &["sq.t"]));
}

#[test]
fn create_table_select_into_generated_columns_with_full_metadata() {
    // The sandbox's default: ROW, FULL image, FULL metadata (column names in the TABLE_MAP).
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE cg; \
         CREATE TABLE cg.src (id INT PRIMARY KEY, a INT); \
         INSERT INTO cg.src VALUES (1, 10), (2, 20); \
         CREATE TABLE cg.g (id INT PRIMARY KEY, a INT, v INT AS (a * 2) VIRTUAL, st VARCHAR(20) AS (CONCAT(id, '-', a)) STORED, KEY (v)) SELECT id, a FROM cg.src; \
         CREATE TABLE cg.g2 (v INT AS (a + 1) STORED, id INT PRIMARY KEY, a INT) SELECT id, a FROM cg.src; \
         UPDATE cg.g SET a = 5 WHERE id = 1",
    );
    let files = sb.binlog_files("A");
    replay_ok(&sb, &files, &WRITESET);
    assert_eq!(sb.sql("C", "SELECT id, a, v, st FROM cg.g ORDER BY id"), "1\t5\t10\t1-5\n2\t20\t40\t2-20");
    assert_eq!(sb.sql("C", "SELECT v, id, a FROM cg.g2 ORDER BY id"), "11\t1\t10\n21\t2\t20");
}

/// The crash window: the CREATE ran on the target under its source GTID, its rows and the
/// checkpoint did not follow. The rerun must not run the CREATE again and must apply the rows
/// exactly once.
fn crash_between_create_and_rows(server_args: &str) {
    let sb = common::Sandbox::start(&["A", "C"], server_args);
    sb.sql("A", "CREATE DATABASE cc; CREATE TABLE cc.src (id INT PRIMARY KEY, a INT); INSERT INTO cc.src VALUES (1, 10), (2, 20), (3, 30)");
    let before = sb.sql("A", "SELECT @@gtid_binlog_pos");
    sb.sql("A", "CREATE TABLE cc.t (id INT PRIMARY KEY, a INT, b INT AS (a + 1) STORED) SELECT id, a FROM cc.src; INSERT INTO cc.t (id, a) VALUES (4, 40)");
    let create = sb.sql("A", "SHOW CREATE TABLE cc.t");
    let create = create.split_once('\t').unwrap().1.replace("\\n", "\n").replace("CREATE TABLE `t`", "CREATE TABLE cc.`t`");
    let files = sb.binlog_files("A");
    replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "8", "--stop-gtid", &before]);
    let (domain, rest) = before.split_once('-').unwrap();
    let (server, seq) = rest.split_once('-').unwrap();
    let ctas_seq: u64 = seq.parse::<u64>().unwrap() + 1;
    // As if parapply had run the CREATE and died before the rows.
    sb.sql("C", &format!("SET SESSION gtid_domain_id={domain}, server_id={server}, gtid_seq_no={ctas_seq}; {create}"));
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM cc.t"), "0");
    let out = replay(&sb, &files, &["--mode", "writeset", "--workers", "8"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("DDL already on the target"), "{stderr}");
    assert_eq!(sb.sql("C", "SELECT id, a, b FROM cc.t ORDER BY id"), "1\t10\t11\n2\t20\t21\n3\t30\t31\n4\t40\t41");
    assert_eq!(checksums(&sb, "C", &["cc.t", "cc.src"]), checksums(&sb, "A", &["cc.t", "cc.src"]));
    // And once more from the start: everything is recorded, nothing runs twice.
    let summary = replay_ok(&sb, &files, &WRITESET);
    assert_eq!(u(&summary, "conflicts"), 0);
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM cc.t"), "4");
}

#[test]
fn crash_between_a_ctas_create_and_its_rows_applies_the_rows_once_full_metadata() {
    crash_between_create_and_rows("");
}

#[test]
fn crash_between_a_ctas_create_and_its_rows_applies_the_rows_once_default_metadata() {
    crash_between_create_and_rows("--binlog-row-metadata=NO_LOG");
}
