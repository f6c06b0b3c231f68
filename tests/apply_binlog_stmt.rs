//! Triggers on the target do not fire for replicated row events (issue 14 item 2), as with
//! MariaDB's native replica (`slave_run_triggers_for_rbr=NO`): the rows the source's triggers
//! wrote are in its binlog already, so parapply sends row events as `BINLOG` statements, which
//! the server applies through its own row code. A replicated CREATE EVENT lands disabled on the
//! target (SLAVESIDE_DISABLED). Without a BINLOG path, a target with triggers is refused at start.
mod apply_support;
mod common;

use std::fmt::Write as _;

use apply_support::*;

/// Tables with BEFORE/AFTER INSERT/UPDATE/DELETE triggers that write a keyed audit table, a
/// keyless one and a hot counter row, and triggers that change NEW columns.
const SCHEMA: &str = "CREATE DATABASE trg; \
    CREATE TABLE trg.t (id INT PRIMARY KEY, v INT, note VARCHAR(20)) ENGINE=InnoDB; \
    CREATE TABLE trg.audit (id INT AUTO_INCREMENT PRIMARY KEY, tid INT, what VARCHAR(10), v INT) ENGINE=InnoDB; \
    CREATE TABLE trg.audit_nk (tid INT, what VARCHAR(10), v INT) ENGINE=InnoDB; \
    CREATE TABLE trg.counts (k VARCHAR(10) PRIMARY KEY, n INT) ENGINE=InnoDB; \
    INSERT INTO trg.counts VALUES ('ins', 0), ('upd', 0), ('del', 0); \
    CREATE TRIGGER trg.t_bi BEFORE INSERT ON trg.t FOR EACH ROW SET NEW.v = NEW.v * 10, NEW.note = CONCAT('b:', IFNULL(NEW.note, '')); \
    CREATE TRIGGER trg.t_ai1 AFTER INSERT ON trg.t FOR EACH ROW INSERT INTO trg.audit (tid, what, v) VALUES (NEW.id, 'ins', NEW.v); \
    CREATE TRIGGER trg.t_ai2 AFTER INSERT ON trg.t FOR EACH ROW FOLLOWS t_ai1 INSERT INTO trg.audit_nk VALUES (NEW.id, 'ins', NEW.v); \
    CREATE TRIGGER trg.t_ai3 AFTER INSERT ON trg.t FOR EACH ROW FOLLOWS t_ai2 UPDATE trg.counts SET n = n + 1 WHERE k = 'ins'; \
    CREATE TRIGGER trg.t_bu BEFORE UPDATE ON trg.t FOR EACH ROW SET NEW.v = NEW.v + 1; \
    CREATE TRIGGER trg.t_au1 AFTER UPDATE ON trg.t FOR EACH ROW INSERT INTO trg.audit_nk VALUES (NEW.id, 'upd', NEW.v); \
    CREATE TRIGGER trg.t_au2 AFTER UPDATE ON trg.t FOR EACH ROW FOLLOWS t_au1 UPDATE trg.counts SET n = n + 1 WHERE k = 'upd'; \
    CREATE TRIGGER trg.t_bd BEFORE DELETE ON trg.t FOR EACH ROW INSERT INTO trg.audit_nk VALUES (OLD.id, 'bdel', OLD.v); \
    CREATE TRIGGER trg.t_ad1 AFTER DELETE ON trg.t FOR EACH ROW INSERT INTO trg.audit (tid, what, v) VALUES (OLD.id, 'del', OLD.v); \
    CREATE TRIGGER trg.t_ad2 AFTER DELETE ON trg.t FOR EACH ROW FOLLOWS t_ad1 UPDATE trg.counts SET n = n + 1 WHERE k = 'del'";

const TABLES: [&str; 4] = ["trg.t", "trg.audit", "trg.audit_nk", "trg.counts"];

/// Single-row and multi-row transactions on the trigger table.
fn workload() -> String {
    let mut w = String::new();
    for i in 1..=120 {
        let _ = write!(w, "INSERT INTO trg.t VALUES ({i}, {i}, 'n{i}'); ");
        if i % 3 == 0 {
            let _ = write!(w, "UPDATE trg.t SET v = v + 5 WHERE id = {}; ", i - 1);
        }
        if i % 5 == 0 {
            let _ = write!(w, "DELETE FROM trg.t WHERE id = {}; ", i - 2);
        }
        if i % 20 == 0 {
            let _ = write!(
                w,
                "BEGIN; INSERT INTO trg.t VALUES ({a}, 1, NULL), ({b}, 2, 'x'); UPDATE trg.t SET note = 'multi' WHERE id BETWEEN {lo} AND {i}; DELETE FROM trg.t WHERE id = {a}; COMMIT; ",
                a = 1000 + i,
                b = 2000 + i,
                lo = i - 4
            );
        }
    }
    w
}

fn dump(sb: &common::Sandbox, name: &str) -> String {
    TABLES.iter().map(|t| sb.sql(name, &format!("SELECT * FROM {t} ORDER BY 1, 2"))).collect::<Vec<_>>().join("\n----\n")
}

#[test]
fn triggers_on_the_target_do_not_fire_for_replicated_rows_and_events_land_disabled() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", SCHEMA);
    sb.sql("A", "CREATE EVENT trg.ev_on ON SCHEDULE EVERY 1 HOUR DO INSERT INTO trg.audit_nk VALUES (0, 'event', 0)");
    sb.sql("A", "CREATE EVENT trg.ev_off ON SCHEDULE EVERY 1 HOUR DISABLE DO INSERT INTO trg.audit_nk VALUES (0, 'event', 0)");
    sb.sql("A", &workload());
    let want = dump(&sb, "A");
    // The source's triggers ran: every change is audited (the test is not vacuous).
    assert!(sb.sql("A", "SELECT n FROM trg.counts WHERE k = 'ins'").parse::<u64>().unwrap() > 120);
    let files = sb.binlog_files("A");

    // Today's SQL path fires the target's triggers again (it stops on the keyed audit table's
    // duplicate ids, or leaves extra rows): what this test guards against.
    let out = replay(&sb, &files, &["--mode", "writeset", "--workers", "8", "--row-events", "sql"]);
    assert!(!out.status.success() || dump(&sb, "C") != want, "SQL replay matched the source although triggers fired");
    reset_target(&sb, &["trg"]);

    // The tables and triggers reach the target through the replayed DDL: the trigger list is
    // re-read after it, and from then on rows go as BINLOG statements (row_events = auto).
    let summary = replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "8"]);
    assert_eq!(u(&summary, "conflicts"), 0);
    assert_eq!(dump(&sb, "C"), want);
    assert_eq!(checksums(&sb, "C", &TABLES), checksums(&sb, "A", &TABLES));
    // The event that is enabled on the source runs there only, like MariaDB's replica makes it.
    assert_eq!(sb.sql("A", "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'trg' ORDER BY 1"), "ev_off\tDISABLED\nev_on\tENABLED");
    assert_eq!(sb.sql("C", "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'trg' ORDER BY 1"), "ev_off\tDISABLED\nev_on\tSLAVESIDE_DISABLED");

    // Every row event as a BINLOG statement, with commit groups off too: the same end state.
    reset_target(&sb, &["trg"]);
    replay_ok(&sb, &files, &["--mode", "writeset", "--workers", "8", "--row-events", "binlog", "--commit-group", "1"]);
    assert_eq!(dump(&sb, "C"), want);
}

#[test]
fn a_target_with_triggers_and_no_binlog_privilege_is_refused_listing_them() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql("A", SCHEMA);
    sb.sql("A", "RESET MASTER");
    sb.sql("A", "INSERT INTO trg.t VALUES (1, 1, 'a')");
    sb.sql("C", &format!("SET SESSION sql_log_bin = 0; {SCHEMA}"));
    sb.sql(
        "C",
        "CREATE USER 'nobinlog'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'nobinlog'@'127.0.0.1'; \
         REVOKE SUPER, BINLOG REPLAY ON *.* FROM 'nobinlog'@'127.0.0.1'",
    );
    let files = sb.binlog_files("A");
    let url = format!("mysql://nobinlog@127.0.0.1:{}", sb.port("C"));
    let out = std::process::Command::new(bin())
        .arg("replay")
        .args(&files)
        .args(["--target", &url, "--json", "--mode", "writeset", "--workers", "8"])
        .output()
        .expect("run parapply");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "replay should refuse: {stderr}");
    for trigger in ["`trg`.`t`: `t_ad1` (AFTER DELETE)", "`trg`.`t`: `t_bi` (BEFORE INSERT)", "`trg`.`t`: `t_bu` (BEFORE UPDATE)", "`trg`.`t`: `t_au2` (AFTER UPDATE)"] {
        assert!(stderr.contains(trigger), "refusal does not list {trigger}: {stderr}");
    }
    assert!(stderr.contains("BINLOG REPLAY"), "{stderr}");
    // Nothing was applied.
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM trg.t"), "0");
    // With the privilege the same replay applies, the target's triggers silent.
    sb.sql("C", "GRANT BINLOG REPLAY ON *.* TO 'nobinlog'@'127.0.0.1'");
    let out = std::process::Command::new(bin())
        .arg("replay")
        .args(&files)
        .args(["--target", &url, "--json", "--mode", "writeset", "--workers", "8"])
        .output()
        .expect("run parapply");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(dump(&sb, "C"), dump(&sb, "A"));
}
