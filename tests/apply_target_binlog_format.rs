//! A target that logs in STATEMENT format (and a source that does too): the workers' READ
//! COMMITTED sessions cannot log InnoDB changes as statements (ERROR 1665 on the first
//! checkpoint), so parapply switches its sessions to MIXED, as the native replica logs row
//! events as rows whatever the format.
mod apply_support;
mod common;

use apply_support::*;

#[test]
fn statement_format_target_and_source_apply_to_the_same_end_state() {
    let sb = common::Sandbox::start(&["A", "C"], "--binlog-format=STATEMENT --binlog-row-metadata=NO_LOG");
    assert_eq!(sb.sql("C", "SELECT @@GLOBAL.binlog_format"), "STATEMENT");
    sb.sql(
        "A",
        "CREATE DATABASE sf; CREATE TABLE sf.t (id INT PRIMARY KEY, v INT, s VARCHAR(10)); \
         INSERT INTO sf.t VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c'); \
         UPDATE sf.t SET v = v * 10 WHERE id < 3; DELETE FROM sf.t WHERE id = 3; \
         BEGIN; INSERT INTO sf.t VALUES (4, 4, 'd'); UPDATE sf.t SET s = 'x' WHERE id = 1; COMMIT; \
         ALTER TABLE sf.t ADD COLUMN w INT DEFAULT 9; INSERT INTO sf.t (id, v) VALUES (5, 5)",
    );
    let files = sb.binlog_files("A");
    for args in [&["--mode", "writeset", "--workers", "8"][..], &["--mode", "serial", "--workers", "1"][..]] {
        let summary = replay_ok(&sb, &files, args);
        assert_eq!(u(&summary, "txns_applied"), u(&summary, "txns_read"), "{args:?}");
        assert_eq!(sb.sql("C", "SELECT id, v, s, w FROM sf.t ORDER BY id"), "1\t10\tx\t9\n2\t20\tb\t9\n4\t4\td\t9\n5\t5\tNULL\t9", "{args:?}");
        assert_eq!(checksums(&sb, "C", &["sf.t"]), checksums(&sb, "A", &["sf.t"]));
        reset_target(&sb, &["sf"]);
    }
}
