//! `parapply inspect` as a user runs it: the built binary on real fixture files. Expected values
//! come from `mariadb-binlog`/`mysqlbinlog` listings of the same files (positions, times,
//! GTIDs, logical clock, immediate_commit_timestamp, transaction_length) and PROVENANCE.md
//! (event counts).

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

fn inspect(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .arg("inspect")
        .args(args)
        .env_remove("PARAPPLY_LOG")
        .output()
        .expect("run parapply");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn fx(rel: &str) -> String {
    common::fixture(rel).display().to_string()
}

#[test]
fn text_lines_for_a_mariadb_binlog() {
    let (code, out, err) = inspect(&[&fx("rust_mysql_common/mariadb-bin.000001")]);
    assert_eq!((code, err.as_str()), (0, ""));
    // mariadb-binlog: GTID 0-1-1 at 330 (22:18:04 UTC) .. Xid end_log_pos 702; 0-1-2 at 702
    // (22:19:55) .. 1074; flags2 12 = TRANSACTIONAL|ALLOW_PARALLEL, no commit_id.
    assert_eq!(
        out,
        "0-1-1 cid=- f2=0x0c 2022-04-20T22:18:04.000000Z sid=1 toddy_test.outbox +1 ~0 -0 372B mariadb-bin.000001:330-702\n\
         0-1-2 cid=- f2=0x0c 2022-04-20T22:19:55.000000Z sid=1 toddy_test.outbox +1 ~0 -0 372B mariadb-bin.000001:702-1074\n\
         # summary: 2 transactions (0 ddl), rows +2 ~0 -0, 744 bytes in transactions, 13 events, 1 files\n\
         # gtids: 0-1-1 .. 0-1-2\n\
         # time: 2022-04-20T22:18:04.000000Z .. 2022-04-20T22:19:55.000000Z (111.000000 s)\n\
         # top tables by rows: toddy_test.outbox 2\n"
    );
}

#[test]
fn rows_are_redacted_unless_show_values() {
    let f = fx("rust_mysql_common/mariadb-bin.000001");
    let (code, out, _) = inspect(&["--rows", "--limit", "1", &f]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "  + toddy_test.outbox [5 cols]");
    assert!(!out.contains("foo"));
    let (code, out, _) = inspect(&["--rows", "--show-values", "--limit", "1", &f]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    // mariadb-binlog -v: @1=62 @2='foo' @3=2 @4='{"foo":1}' @5=1650493084 (a TIMESTAMP).
    assert_eq!(lines[1], "  + toddy_test.outbox (62, 'foo', 2, '{\"foo\":1}', '2022-04-20T22:18:04.000000Z')");
    assert_eq!(lines.len(), 2 + 4, "one transaction, its row, four summary lines");
    assert!(lines[2].starts_with("# summary: 1 transactions"));
}

#[test]
fn json_lines_for_a_mysql8_binlog_match_mysqlbinlog() {
    let (code, out, err) = inspect(&["--json", &fx("mysql-cdc-rs/8.0/31_update_rows_v2/binlog.000001")]);
    assert_eq!((code, err.as_str()), (0, ""));
    let objs: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(objs.len(), 5);
    // From dump.txt: (at, end_log_pos of the last event, last_committed, sequence_number,
    // immediate_commit_timestamp, transaction_length).
    let expected = [
        (157, 368, 0, 1, 1703581264076736u64, 211),
        (368, 832, 1, 2, 1703581273089461, 464),
        (832, 1132, 2, 3, 1703581281258304, 300),
        (1132, 1462, 3, 4, 1703581289681456, 330),
    ];
    for (o, (start, end, lc, seq, ts, len)) in objs.iter().zip(expected) {
        assert_eq!(o["gtid"], "ANONYMOUS");
        assert_eq!((o["start"].as_u64(), o["end"].as_u64()), (Some(start), Some(end)));
        assert_eq!((o["deps"]["last_committed"].as_i64(), o["deps"]["sequence_number"].as_i64()), (Some(lc), Some(seq)));
        assert_eq!(o["commit_time_us"].as_u64(), Some(ts));
        assert_eq!(o["bytes"].as_u64(), Some(len));
        assert_eq!(o["file"], "binlog.000001");
        assert_eq!(o["server_id"], 1);
    }
    assert_eq!((objs[0]["ddl"].as_bool(), objs[0]["ddl_statement"].as_str()), (Some(true), Some("DROP TABLE")));
    assert_eq!(objs[1]["ddl_statement"], "CREATE TABLE");
    assert_eq!(objs[2]["rows"], serde_json::json!({"insert": 1, "update": 0, "delete": 0}));
    assert_eq!(objs[3]["rows"], serde_json::json!({"insert": 0, "update": 1, "delete": 0}));
    assert_eq!(objs[3]["tables"], serde_json::json!(["test.int_table"]));
    assert_eq!(objs[3]["commit_time"], "2023-12-26T09:01:29.681456Z");
    let s = &objs[4];
    assert_eq!(s["summary"], true);
    assert_eq!((s["transactions"].as_u64(), s["ddl"].as_u64(), s["events"].as_u64(), s["files"].as_u64()), (Some(4), Some(2), Some(16), Some(1)));
    assert_eq!(s["bytes"].as_u64(), Some(211 + 464 + 300 + 330));
    assert_eq!(s["top_tables"], serde_json::json!([{"table": "test.int_table", "rows": 2}]));
    assert_eq!(s["span_seconds"].as_f64(), Some((1703581289681456u64 - 1703581264076736) as f64 / 1e6));
}

#[test]
fn json_rows_with_values() {
    let (code, out, _) = inspect(&["--json", "--rows", "--show-values", &fx("mysql-cdc-rs/8.0/31_update_rows_v2/binlog.000001")]);
    assert_eq!(code, 0);
    let update: serde_json::Value = serde_json::from_str(out.lines().nth(3).unwrap()).unwrap();
    // dump.txt: UPDATE WHERE @1=1 @2=11 @3=111 ... SET @1=1 @2=22 @3=222 ...
    assert_eq!(update["changes"][0]["op"], "update");
    assert_eq!(update["changes"][0]["before"][1], 11);
    assert_eq!(update["changes"][0]["after"][1], 22);
    assert_eq!(update["changes"][0]["after"][2], 222);
}

#[test]
fn truncated_file_fails_naming_file_and_offset() {
    let (code, out, err) = inspect(&[&fx("rust_mysql_common/binlog_truncated_prev_gtid_event.000001")]);
    assert_eq!(code, 1);
    assert_eq!(out, "", "no summary after an error");
    assert!(err.contains("binlog_truncated_prev_gtid_event.000001 at offset 120: truncated event: 9 bytes left at end of file"), "{err}");
}

#[test]
fn transactions_before_an_error_are_printed() {
    // Aurora file: a BEGIN and a padding event, then the file ends.
    let (code, out, err) = inspect(&[&fx("mysql-binlog-connector-java/mysql-bin.aurora-padding")]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.trim_end(), "error: incomplete transaction ANONYMOUS at end of mysql-bin.aurora-padding:216 (last event ends at 1294)");
    // corrupt-relay-bin.000624: its QUERY at 91204 is invalid (mariadb-binlog stops there too);
    // everything before it is printed.
    let (code, out, err) = inspect(&[&fx("rust_mysql_common/corrupt-relay-bin.000624")]);
    assert_eq!(code, 1);
    assert!(err.contains("corrupt-relay-bin.000624 at offset 91204"), "{err}");
    let last = out.lines().last().unwrap();
    // mariadb-binlog: the last complete transaction (INTVAR + INSERT + Xid) ends where the
    // unfinished one's BEGIN is printed "# at 91117" (relay-log end_log_pos values are the
    // master's, so the physical offset is what must match).
    assert!(last.ends_with(":90715-91117 q=1 opaque=1"), "{last}");
    assert!(!out.contains("# summary"));
}

#[test]
fn not_a_binlog_is_an_error() {
    let (code, _, err) = inspect(&[&fx("zalora-binlog-parser/plaintext-mysql-bin.01")]);
    assert_eq!(code, 1);
    assert!(err.contains("plaintext-mysql-bin.01: not a binlog file (first bytes [2f, 2a, 21, 35]"), "{err}");
}

#[test]
fn directory_reads_binlogs_in_name_order() {
    let (code, out, err) = inspect(&["--limit", "1000000", &fx("mariadb-poc/domain_id_0")]);
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<&str> = out.lines().collect();
    // PROVENANCE: MARIA_GTID 405 + 87 + 66 + 63 + 3 + 10 in files .000004 .. .000010, and
    // 4 + 2435 + 527 + 401 + 383 + 10 + 24 events in the seven files; 13 GTIDs with
    // FL_STANDALONE (all DDL); bytes = sizes of all events but FDE/ROTATE/STOP/GTID_LIST/CHECKPOINT.
    assert_eq!(
        lines.iter().find(|l| l.starts_with("# summary")).copied(),
        Some("# summary: 634 transactions (13 ddl), rows +0 ~0 -0, 528388 bytes in transactions, 3784 events, 7 files")
    );
    assert!(lines[0].starts_with("0-10-262176 "));
    assert!(lines[0].contains(" mariadb-repl-bin.000004:"));
    assert!(lines[633].contains(" mariadb-repl-bin.000010:"));
}

#[test]
fn limit_stops_early() {
    let (code, out, _) = inspect(&["--limit", "3", &fx("mariadb-poc/domain_id_0/mariadb-repl-bin.000004")]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().filter(|l| !l.starts_with('#')).count(), 3);
    assert!(out.contains("# summary: 3 transactions"));
}

#[test]
fn closed_stdout_is_not_an_error() {
    let dir = fx("mariadb-poc/domain_id_0");
    let mut child = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["inspect", "--rows", "--show-values", &dir, &dir, &dir, &dir])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}

/// `--source` on a real MariaDB: the live stream shows the same transactions, with the same
/// positions, as `inspect` on the server's binlog file.
#[test]
fn live_source_matches_the_binlog_file() {
    let sb = common::Sandbox::start(&["A"], "");
    sb.sql("A", "CREATE DATABASE d");
    sb.sql("A", "CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(10))");
    sb.sql("A", "INSERT INTO d.t VALUES (1,'a'),(2,'b')");
    sb.sql("A", "UPDATE d.t SET v='c' WHERE id=1");
    sb.sql("A", "DELETE FROM d.t WHERE id=2");
    let (code, live, err) = inspect(&["--log", "warn", "--source", &sb.url("A"), "--limit", "5"]);
    assert_eq!((code, err.as_str()), (0, ""), "{live}");
    let live_lines: Vec<&str> = live.lines().filter(|l| !l.starts_with('#')).collect();
    let cols = |l: &str| l.split(' ').map(str::to_string).collect::<Vec<String>>();
    let got: Vec<Vec<String>> = live_lines.iter().map(|l| cols(l)).collect();
    assert_eq!(got.len(), 5, "{live}");
    // GTID domain 1, server 1 (tools/sandbox gives A server_id=1, gtid_domain_id=1).
    let gtids: Vec<&str> = got.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(gtids, ["1-1-1", "1-1-2", "1-1-3", "1-1-4", "1-1-5"]);
    assert!(live_lines[0].ends_with("ddl=\"CREATE DATABASE\""), "{}", live_lines[0]);
    assert!(live_lines[1].ends_with("ddl=\"CREATE TABLE\""), "{}", live_lines[1]);
    // tables and rows: columns after "sid=1"
    let rows: Vec<String> = got[2..].iter().map(|c| c[5..9].join(" ")).collect();
    assert_eq!(rows, ["d.t +2 ~0 -0", "d.t +0 ~1 -0", "d.t +0 ~0 -1"]);
    // The same transactions read from the binlog file, byte for byte the same lines.
    let files = sb.binlog_files("A");
    let file_args: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut args: Vec<&str> = vec!["--limit", "5"];
    args.extend(file_args.iter().map(String::as_str));
    let (code, from_file, err) = inspect(&args);
    assert_eq!((code, err.as_str()), (0, ""));
    let file_lines: Vec<&str> = from_file.lines().filter(|l| !l.starts_with('#')).collect();
    // Equal but for the byte count: the dump does not send MariaDB's ANNOTATE_ROWS events (the
    // stream does not ask for them), so a live row transaction counts fewer bytes than the same
    // transaction in the file; positions are the master's either way.
    let without_size = |l: &str| l.split(' ').filter(|w| !w.ends_with('B')).collect::<Vec<_>>().join(" ");
    let size = |l: &str| l.split(' ').find(|w| w.ends_with('B')).and_then(|w| w.trim_end_matches('B').parse::<u64>().ok()).unwrap();
    assert_eq!(live_lines.iter().map(|l| without_size(l)).collect::<Vec<_>>(), file_lines.iter().map(|l| without_size(l)).collect::<Vec<_>>());
    for (l, f) in live_lines.iter().zip(&file_lines) {
        assert!(size(l) <= size(f), "{l} vs {f}");
    }
    assert_eq!(size(live_lines[0]), size(file_lines[0]), "DDL has no ANNOTATE_ROWS");
}

/// MariaDB 10.11 XA as written by a real server: GTID with PREPARED_XA (the GTID stands for
/// XA START), rows, `XA END`, an XA_PREPARE event; later `XA COMMIT` / `XA ROLLBACK` under a
/// GTID with COMPLETED_XA; `XA COMMIT .. ONE PHASE` is an ordinary XID transaction.
#[test]
fn mariadb_xa_transactions() {
    let sb = common::Sandbox::start(&["A"], "");
    sb.sql(
        "A",
        "CREATE DATABASE x; CREATE TABLE x.t (id INT PRIMARY KEY); \
         XA START 'a'; INSERT INTO x.t VALUES (1); XA END 'a'; XA PREPARE 'a'; XA COMMIT 'a'; \
         XA START 'b'; INSERT INTO x.t VALUES (2); XA END 'b'; XA COMMIT 'b' ONE PHASE; \
         XA START 'c'; INSERT INTO x.t VALUES (3); XA END 'c'; XA PREPARE 'c'; XA ROLLBACK 'c'",
    );
    let files: Vec<String> = sb.binlog_files("A").iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["--json"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = inspect(&args);
    assert_eq!((code, err.as_str()), (0, ""));
    let objs: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let shape: Vec<(String, String, u64, u64)> = objs[..objs.len() - 1]
        .iter()
        .map(|o| {
            (
                o["gtid"].as_str().unwrap().to_string(),
                o["end_kind"].as_str().unwrap().to_string(),
                o["rows"]["insert"].as_u64().unwrap(),
                o["deps"]["flags2"].as_u64().unwrap() & 0xc0,
            )
        })
        .collect();
    let s = |g: &str, e: &str, rows: u64, xa: u64| (g.to_string(), e.to_string(), rows, xa);
    assert_eq!(
        shape,
        vec![
            s("1-1-1", "commit", 0, 0),
            s("1-1-2", "commit", 0, 0),
            s("1-1-3", "xa-prepare", 1, 0x40),
            s("1-1-4", "commit", 0, 0x80),
            s("1-1-5", "xid", 1, 0),
            s("1-1-6", "xa-prepare", 1, 0x40),
            s("1-1-7", "rollback", 0, 0x80),
        ]
    );
    assert_eq!(objs[3]["statements"], 1, "the XA COMMIT statement is kept for the applier");
}
