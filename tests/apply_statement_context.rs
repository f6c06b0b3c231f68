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
