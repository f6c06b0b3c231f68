//! Statement-based DML replays with the session context it ran with on the source: the
//! INTVAR (INSERT_ID, LAST_INSERT_ID), RAND and USER_VAR events before each statement, and the
//! statement's own time (`NOW()`). Without them the target would pick its own AUTO_INCREMENT
//! values, random numbers, clock and NULL user variables, and the rows would differ.
mod apply_support;
mod common;

use apply_support::*;

#[test]
fn statement_dml_gets_insert_id_rand_user_variables_and_time_from_the_source() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE ctx; CREATE TABLE ctx.t (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, \
         b VARBINARY(8), i BIGINT, u BIGINT UNSIGNED, d DECIMAL(20,6), r DOUBLE, ts DATETIME(6), li BIGINT) ENGINE=InnoDB",
    );
    // Move the source's counter on without logging it, so the target's own AUTO_INCREMENT would
    // pick other ids than the source did.
    sb.sql("A", "SET SESSION sql_log_bin = 0; INSERT INTO ctx.t (s) VALUES ('a'),('b'),('c'); DELETE FROM ctx.t");
    let statements = "SET SESSION binlog_format = 'STATEMENT'; \
        SET @s = _utf8mb4 'h\u{e9}llo \u{1F600}' COLLATE utf8mb4_unicode_ci, @b = X'00FF10', @i = -9000000000, @u = 18446744073709551615, \
            @d = CAST('-12345.678901' AS DECIMAL(20,6)), @r = 2.5e-3, @n = NULL; \
        INSERT INTO ctx.t (s, b, i, u, d, r, ts) VALUES (@s, @b, @i, @u, @d, @r, NOW(6)); \
        INSERT INTO ctx.t (s, r) VALUES ('rand', RAND()); \
        INSERT INTO ctx.t (s, li) VALUES ('last', LAST_INSERT_ID()); \
        UPDATE ctx.t SET i = @n, s = CONCAT(@s, '!') WHERE id = LAST_INSERT_ID() - 1; \
        DO SLEEP(1.1); \
        INSERT INTO ctx.t (s, ts) VALUES ('later', NOW(6))";
    sb.sql("A", statements);
    let files = sb.binlog_files("A");
    // The source really logged statements with their context.
    let dump = std::process::Command::new("mariadb-binlog").args(&files).output().expect("mariadb-binlog");
    let dump = String::from_utf8_lossy(&dump.stdout);
    for logged in ["SET INSERT_ID=", "SET @@RAND_SEED1=", "SET LAST_INSERT_ID=", "SET @`s`:=_utf8mb4 X'", "SET @`u`:=18446744073709551615", "SET @`n`:=NULL", "INSERT INTO ctx.t (s, b, i, u, d, r, ts)"] {
        assert!(dump.contains(logged), "the source binlog has no {logged:?}");
    }

    let rows = "SELECT id, HEX(s), HEX(b), i, u, d, r, ts, li, COLLATION(s) FROM ctx.t ORDER BY id";
    let want = sb.sql("A", rows);
    assert_eq!(want.lines().count(), 4, "{want}");
    // The source's ids continue its unlogged counter (the sandbox runs auto_increment_increment=2).
    assert!(want.lines().next().unwrap().starts_with("7\t"), "{want}");
    let summary = replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "4"]);
    assert_eq!(u(&summary, "conflicts"), 0);
    assert_eq!(sb.sql("C", rows), want);
    // The two NOW(6) values are the source's: a second apart there, whatever the replay took.
    let gap = "SELECT TIMESTAMPDIFF(MICROSECOND, (SELECT ts FROM ctx.t ORDER BY id LIMIT 1), (SELECT ts FROM ctx.t WHERE s = 'later'))";
    assert_eq!(sb.sql("C", gap), sb.sql("A", gap));
}

/// Regression (adversarial case 43): a logged statement that answers with rows (ANALYZE,
/// OPTIMIZE, REPAIR TABLE, `ALTER TABLE ... ANALYZE PARTITION`, all logged in every format)
/// was read as two statements ("the target ran a logged statement as 2 statements") and the
/// replay stopped; the native replica runs them. The batch reader counts one result per
/// statement, rows or not, and an error after a row-returning statement belongs to the next.
#[test]
fn logged_statements_that_answer_with_rows_count_as_one() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE adm; CREATE TABLE adm.t (id INT PRIMARY KEY, v INT); CREATE TABLE adm.m (id INT PRIMARY KEY) ENGINE=MyISAM; \
         CREATE TABLE adm.p (id INT PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 2; \
         INSERT INTO adm.t VALUES (1, 1); ANALYZE TABLE adm.t; OPTIMIZE TABLE adm.t, adm.m; REPAIR TABLE adm.m; \
         ALTER TABLE adm.p ANALYZE PARTITION p0; INSERT INTO adm.t VALUES (2, 2)",
    );
    let files = sb.binlog_files("A");
    replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "2"]);
    assert_eq!(sb.sql("C", "SELECT id, v FROM adm.t ORDER BY id"), "1\t1\n2\t2");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut conn = rt.block_on(mysql_async::Conn::from_url(sb.url("C"))).expect("connect to C");
    let run = |conn: &mut mysql_async::Conn, sql: &str| rt.block_on(parapply::apply::worker::run_batch_for_test(conn, sql));
    assert_eq!(run(&mut conn, "ANALYZE TABLE adm.t").0.len(), 1);
    // (A statement with rows reports no affected rows of its own: its count is not read.)
    let (counts, err) = run(&mut conn, "UPDATE adm.t SET v = 3; ANALYZE TABLE adm.t; UPDATE adm.t SET v = 4 WHERE id = 1");
    assert_eq!((counts.len(), counts[0], counts[2], err), (3, 2, 1, None));
    // The error is the third statement's, after a statement with rows.
    assert_eq!(run(&mut conn, "DO 1; SELECT 1; INSERT INTO adm.t VALUES (1, 1); DO 2"), (vec![0, 0], Some((2, 1062))));
    assert_eq!(run(&mut conn, "DO 1; INSERT INTO adm.t VALUES (1, 1)"), (vec![0], Some((1, 1062))));
}

/// Regression (adversarial case 43, STATEMENT): a source transaction ended by ROLLBACK is
/// logged, ROLLBACK and all, when it wrote a non-transactional table after a transactional
/// one; MariaDB's replica runs it and keeps the MyISAM/Aria changes. parapply recorded such a
/// transaction without running anything, and the MyISAM row silently kept its old value.
#[test]
fn rolled_back_statement_transaction_keeps_its_non_transactional_changes() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", "CREATE DATABASE rb; CREATE TABLE rb.i (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; CREATE TABLE rb.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM; INSERT INTO rb.m VALUES (1, 1), (2, 2)");
    sb.sql(
        "A",
        "SET SESSION binlog_format = 'STATEMENT'; \
         BEGIN; INSERT INTO rb.i VALUES (1, 1); UPDATE rb.m SET v = 10 WHERE id = 1; INSERT INTO rb.m VALUES (3, 3); ROLLBACK; \
         BEGIN; INSERT INTO rb.i VALUES (2, 2); ROLLBACK; \
         BEGIN; INSERT INTO rb.i VALUES (4, 4); CREATE TEMPORARY TABLE rb.tmp (id INT) ENGINE=MyISAM; INSERT INTO rb.tmp VALUES (50); ROLLBACK; \
         INSERT INTO rb.m SELECT id, id FROM rb.tmp; \
         INSERT INTO rb.i VALUES (3, 3)",
    );
    let files = sb.binlog_files("A");
    let dump = std::process::Command::new("mariadb-binlog").args(&files).output().expect("mariadb-binlog");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("UPDATE rb.m SET v = 10 WHERE id = 1"), "the source logged the rolled-back transaction");
    assert!(dump.contains("\nROLLBACK\n"), "the source logged its ROLLBACK");
    for workers in ["1", "4"] {
        sb.sql("C", "SET SESSION sql_log_bin = 0; DROP DATABASE IF EXISTS rb; DROP DATABASE IF EXISTS parapply_state; RESET MASTER");
        replay_ok(&sb, &files, &["--mode", "writeset", "--workers", workers]);
        // The temporary table made and filled inside a rolled-back transaction (which holds a
        // DDL, so it must still not run as one: its savepoint needs the open transaction).
        assert_eq!(sb.sql("C", "SELECT id, v FROM rb.m ORDER BY id"), "1\t10\n2\t2\n3\t3\n50\t50", "workers {workers}");
        assert_eq!(sb.sql("C", "SELECT id, v FROM rb.i ORDER BY id"), "3\t3", "workers {workers}");
    }
}

/// Regression (adversarial case 45): a statement that changed a MyISAM/Aria table before
/// failing is logged with its error code (STATEMENT and MIXED); MariaDB's replica runs it,
/// gets the same error and goes on. parapply stopped at it with the target's error.
#[test]
fn statement_logged_with_its_error_replays_when_the_target_fails_alike() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "SET SESSION binlog_format = 'STATEMENT';\nCREATE DATABASE le; CREATE TABLE le.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;\n\
         CREATE TABLE le.i (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO le.m VALUES (1, 1);\nDELIMITER //\n\
         CREATE PROCEDURE le.p() BEGIN DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END; INSERT INTO le.m VALUES (5, 5), (1, 1), (6, 6); \
         START TRANSACTION; INSERT INTO le.i VALUES (1); INSERT INTO le.m VALUES (7, 7), (5, 5); INSERT INTO le.i VALUES (2); COMMIT; END//\nDELIMITER ;\n\
         CALL le.p(); INSERT INTO le.m VALUES (100, 100)",
    );
    let files = sb.binlog_files("A");
    let dump = std::process::Command::new("mariadb-binlog").args(&files).output().expect("mariadb-binlog");
    assert_eq!(String::from_utf8_lossy(&dump.stdout).matches("error_code=1062").count(), 2, "the source logged both statements with their error");
    replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "4"]);
    assert_eq!(sb.sql("C", "SELECT id, v FROM le.m ORDER BY id"), "1\t1\n5\t5\n7\t7\n100\t100");
    assert_eq!(sb.sql("C", "SELECT id FROM le.i ORDER BY id"), "1\n2");
}
