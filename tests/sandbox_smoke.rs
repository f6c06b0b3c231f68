//! The sandbox starts a replicating dual-master pair plus a target, as tests and the quickstart
//! rely on.
mod common;

#[test]
fn dual_master_pair_replicates_both_ways_and_b_is_read_only() {
    let sb = common::Sandbox::start(&["A", "B", "C"], "");
    sb.sql("A", "CREATE DATABASE s; CREATE TABLE s.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT); INSERT INTO s.t (v) VALUES (1),(2);");
    // auto_increment_increment=2, offset 1 on A.
    let mut b_rows = String::new();
    for _ in 0..100 {
        b_rows = sb.sql("B", "SELECT GROUP_CONCAT(id ORDER BY id) FROM s.t");
        if b_rows == "1,3" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(b_rows, "1,3");
    assert_eq!(sb.sql("B", "SELECT @@read_only, @@server_id, @@gtid_domain_id, @@auto_increment_offset"), "1\t2\t2\t2");
    assert_eq!(sb.sql("C", "SELECT @@server_id, @@binlog_row_metadata, @@binlog_format"), "3\tFULL\tROW");
    assert!(sb.binlog_files("A").len() >= 1);
}
