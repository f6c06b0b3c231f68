//! `on_conflict = stop | skip | overwrite` on a target that diverged from the source: rows
//! missing for UPDATE/DELETE and rows already present for INSERT, with exact per-table counts.
mod apply_support;
mod common;

use apply_support::*;

const TABLE: &str = "cf.t";

struct Setup {
    sb: common::Sandbox,
    schema_files: Vec<std::path::PathBuf>,
    change_files: Vec<std::path::PathBuf>,
    /// GTID of the first transaction in the change files.
    first_change_gtid: String,
    /// A's position after the schema files.
    schema_pos: String,
}

fn setup() -> Setup {
    let sb = common::Sandbox::start(&["A", "C"], "");
    sb.sql(
        "A",
        "CREATE DATABASE cf; CREATE TABLE cf.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
         INSERT INTO cf.t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e');",
    );
    let schema_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    sb.sql("A", "FLUSH BINARY LOGS");
    // Every file but the new, empty one FLUSH just opened.
    let mut schema_files = sb.binlog_files("A");
    schema_files.pop();
    sb.sql(
        "A",
        "UPDATE cf.t SET v='b2' WHERE id=2;
         DELETE FROM cf.t WHERE id=3;
         INSERT INTO cf.t VALUES (10,'ten');
         BEGIN; UPDATE cf.t SET v='d2' WHERE id=4; INSERT INTO cf.t VALUES (11,'eleven'),(12,'twelve'); DELETE FROM cf.t WHERE id=5; COMMIT;
         BEGIN; UPDATE cf.t SET v='a2' WHERE id=1; INSERT INTO cf.t VALUES (13,'x'); UPDATE cf.t SET v='b3' WHERE id=2; COMMIT;",
    );
    let change_files: Vec<_> = sb.binlog_files("A").into_iter().filter(|f| !schema_files.contains(f)).collect();
    let seq: u64 = schema_pos.rsplit('-').next().unwrap().parse().unwrap();
    Setup { first_change_gtid: format!("1-1-{}", seq + 1), sb, schema_files, change_files, schema_pos }
}

/// Replay the schema files to C, then make C diverge: rows 2 and 3 gone, 10 and 13 present
/// with C's own values. Row 4 already holds T4's after image: an UPDATE that matches a row
/// without changing it is NOT a divergence (CLIENT_FOUND_ROWS counts it as found).
fn diverge(s: &Setup) {
    reset_target(&s.sb, &["cf"]);
    replay_ok(&s.sb, &s.schema_files, &[]);
    s.sb.sql("C", "DELETE FROM cf.t WHERE id IN (2,3); INSERT INTO cf.t VALUES (10,'C-ten'),(13,'C-13'); UPDATE cf.t SET v='d2' WHERE id=4;");
}

fn rows(sb: &common::Sandbox, name: &str) -> String {
    sb.sql(name, "SELECT id, v FROM cf.t ORDER BY id").replace('\t', "=").replace('\n', " ")
}

#[test]
fn on_conflict_stop_skip_overwrite() {
    let s = setup();
    let all: Vec<_> = s.schema_files.iter().chain(&s.change_files).cloned().collect();

    // stop: the first divergent transaction fails, naming GTID and table; nothing after it
    // is applied (one worker, so nothing runs beside it).
    diverge(&s);
    let out = replay(&s.sb, &all, &["--workers", "1", "--on-conflict", "stop"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let expected = format!("GTID {}, table cf.t: target diverged: Update found no row (row missing on target) (on_conflict = stop)", s.first_change_gtid);
    assert!(stderr.contains(&expected), "stderr lacks {expected:?}:\n{stderr}");
    assert_eq!(rows(&s.sb, "C"), "1=a 4=d2 5=e 10=C-ten 13=C-13");
    assert_eq!(s.sb.sql("C", "SELECT gtid FROM parapply_state.applied_watermark"), s.schema_pos);

    // skip: each divergent row change is skipped and counted; everything else applies.
    diverge(&s);
    let sum = replay_ok(&s.sb, &all, &["--workers", "4", "--on-conflict", "skip"]);
    // T1 update id2 (missing), T2 delete id3 (missing), T3 insert 10 (dup),
    // T5 insert 13 (dup) and update id2 (missing).
    assert_eq!(sum["conflicts_by_table"][TABLE].as_u64(), Some(5), "{sum}");
    assert_eq!(u(&sum, "conflicts"), 5);
    assert_eq!(u(&sum, "careful_txns"), 4);
    assert_eq!(rows(&s.sb, "C"), "1=a2 4=d2 10=C-ten 11=eleven 12=twelve 13=C-13");

    // overwrite: the target ends up holding the source's rows. T1's update becomes a REPLACE
    // of its after image, so T5's update of id 2 finds the row: 4 conflicts, not 5.
    diverge(&s);
    let sum = replay_ok(&s.sb, &all, &["--workers", "4", "--on-conflict", "overwrite"]);
    assert_eq!(sum["conflicts_by_table"][TABLE].as_u64(), Some(4), "{sum}");
    assert_eq!(rows(&s.sb, "C"), rows(&s.sb, "A"));
    assert_eq!(rows(&s.sb, "C"), "1=a2 2=b3 4=d2 10=ten 11=eleven 12=twelve 13=x");
    assert_eq!(checksums(&s.sb, "C", &[TABLE]), checksums(&s.sb, "A", &[TABLE]));

    // No divergence: the same replay onto a faithful target counts nothing.
    reset_target(&s.sb, &["cf"]);
    let sum = replay_ok(&s.sb, &all, &["--workers", "4", "--on-conflict", "stop"]);
    assert_eq!(u(&sum, "conflicts"), 0);
    assert_eq!(rows(&s.sb, "C"), rows(&s.sb, "A"));
}
