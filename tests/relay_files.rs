//! Relay logs read as files, with transactions that span two relay-log files.
//!
//! A replica rotates its relay log when it reaches `max_relay_log_size`, even in the middle of a
//! transaction: the TABLE_MAP and first ROWS events of a transaction can sit at the end of one
//! relay log and its remaining ROWS events and XID at the start of the next (after that file's
//! own FORMAT_DESCRIPTION, ROTATE, GTID_LIST, ...). Reading B's relay logs in order must give
//! exactly the transactions of A's binlog (B replicates A), and at least one of them must really
//! span two files, so the test cannot pass vacuously. Cutting the file list inside such a
//! transaction is an error that names the file and offset where it started.
mod common;

use std::path::PathBuf;
use std::sync::Arc;

use parapply::decode::event::EventData;
use parapply::source::file::BinlogFiles;
use parapply::txn::{Assembler, Change, RowKind, Transaction};

/// The transactions in `files`, with the file of each transaction's first and last event.
fn read(files: &[PathBuf]) -> Result<Vec<(Transaction, Arc<str>, Arc<str>)>, String> {
    let mut out = Vec::new();
    let mut asm = Assembler::new();
    let mut first_file: Option<Arc<str>> = None;
    for ev in BinlogFiles::open(files).map_err(|e| e.to_string())? {
        let ev = ev.map_err(|e| e.to_string())?;
        let file = ev.file.clone();
        let starts = matches!(ev.data, EventData::MariadbGtid(_));
        if starts {
            first_file = Some(file.clone());
        }
        if let Some(t) = asm.push(ev).map_err(|e| e.to_string())? {
            out.push((t, first_file.clone().unwrap_or_else(|| file.clone()), file));
        }
    }
    if let Some(t) = asm.finish().map_err(|e| e.to_string())? {
        let f = first_file.unwrap_or_else(|| Arc::from(""));
        out.push((t, f.clone(), f));
    }
    Ok(out)
}

fn relay_files(sb: &common::Sandbox) -> Vec<PathBuf> {
    // The index lists the relay logs in order (absolute paths, as `--relay-log` was given).
    let index = std::fs::read_to_string(sb.datadir("B").join("relay.index")).unwrap();
    index.lines().filter(|l| !l.trim().is_empty()).map(PathBuf::from).collect()
}

/// Rows per (table, kind) of a transaction, in first-seen order.
fn row_counts(t: &Transaction) -> Vec<(String, RowKind, usize)> {
    let mut v: Vec<(String, RowKind, usize)> = Vec::new();
    for c in &t.changes {
        if let Change::Rows(rc) = c {
            let name = format!("{}.{}", rc.table.schema, rc.table.table);
            match v.iter_mut().find(|(n, k, _)| *n == name && *k == rc.kind) {
                Some(e) => e.2 += rc.rows.len(),
                None => v.push((name, rc.kind, rc.rows.len())),
            }
        }
    }
    v
}

#[test]
fn relay_logs_rotated_mid_transaction_read_as_the_source_binlog() {
    let sb = common::Sandbox::start(&["A", "B"], "");
    // Keep every relay log (the SQL thread would purge applied ones) and rotate them often
    // (4096 is MariaDB's minimum; 0 would mean max_binlog_size).
    sb.sql("B", "STOP SLAVE SQL_THREAD; SET GLOBAL relay_log_purge = 0, max_relay_log_size = 4096");
    assert_eq!(sb.sql("B", "SELECT @@GLOBAL.max_relay_log_size"), "4096");
    sb.sql(
        "A",
        "CREATE DATABASE r; USE r;
         CREATE TABLE r.big (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB;
         CREATE TABLE r.small (id INT PRIMARY KEY, n INT) ENGINE=InnoDB;
         INSERT INTO r.small VALUES (1, 1);
         INSERT INTO r.big SELECT seq, CONCAT('value-', seq) FROM seq_1_to_3000;
         INSERT INTO r.small VALUES (2, 2);
         BEGIN; UPDATE r.big SET v = CONCAT(v, '-u') WHERE id % 3 = 0; DELETE FROM r.small WHERE id = 1; COMMIT;
         UPDATE r.small SET n = n + 10;",
    );
    let a_pos = sb.sql("A", "SELECT @@gtid_binlog_pos");
    // Wait until B's IO thread has written everything A logged into its relay logs.
    common::wait_for("B's relay log to hold A's binlog", 60, || {
        // The sandbox client prints values without names; with B's SQL thread stopped before
        // the writes, the only field that can hold A's position is Gtid_IO_Pos.
        let status = sb.sql("B", "SHOW SLAVE STATUS\\G");
        status.lines().any(|l| l.trim() == a_pos).then_some(())
    });

    let a_txns = read(&sb.binlog_files("A")).unwrap();
    let relay = relay_files(&sb);
    assert!(relay.len() >= 4, "expected several relay logs at 4 KB each, got {relay:?}");
    let b_txns = read(&relay).unwrap();

    // A's binlog: 3 DDL + 5 DML transactions, all in A's domain 1.
    assert_eq!(a_txns.len(), 8, "{:?}", a_txns.iter().map(|t| t.0.gtid.clone()).collect::<Vec<_>>());
    assert_eq!(a_pos, "1-1-8");
    assert_eq!(b_txns.len(), a_txns.len());
    for ((a, _, _), (b, _, _)) in a_txns.iter().zip(&b_txns) {
        assert_eq!(a.gtid, b.gtid);
        assert_eq!(a.deps, b.deps);
        assert_eq!(a.is_ddl, b.is_ddl);
        assert_eq!(a.end, b.end);
        assert_eq!(row_counts(a), row_counts(b), "{:?}", a.gtid);
        // Same row images, value for value (the relay log holds the source's events).
        assert_eq!(a.changes, b.changes, "{:?}", a.gtid);
    }
    let counts: Vec<String> = b_txns.iter().map(|(t, _, _)| format!("{}:{:?}", t.gtid.as_ref().unwrap(), row_counts(t))).collect();
    assert_eq!(
        counts,
        [
            "1-1-1:[]",
            "1-1-2:[]",
            "1-1-3:[]",
            "1-1-4:[(\"r.small\", Insert, 1)]",
            "1-1-5:[(\"r.big\", Insert, 3000)]",
            "1-1-6:[(\"r.small\", Insert, 1)]",
            "1-1-7:[(\"r.big\", Update, 1000), (\"r.small\", Delete, 1)]",
            "1-1-8:[(\"r.small\", Update, 1)]",
        ]
    );
    // A few values of the big insert and the update, read from the relay logs.
    let (big, _, _) = &b_txns[4];
    let Change::Rows(rc) = big.changes.iter().rev().find(|c| matches!(c, Change::Rows(_))).unwrap() else { unreachable!() };
    let last = rc.rows.last().unwrap().after.as_ref().unwrap();
    assert_eq!(last.cols[0], Some(parapply::decode::value::Value::Int(3000)));
    assert_eq!(last.cols[1], Some(parapply::decode::value::Value::Bytes(b"value-3000".to_vec())));
    let (upd, _, _) = &b_txns[6];
    let Change::Rows(rc) = &upd.changes.iter().find(|c| matches!(c, Change::Rows(_))).unwrap() else { unreachable!() };
    let r = &rc.rows[0];
    assert_eq!(r.before.as_ref().unwrap().cols[1], Some(parapply::decode::value::Value::Bytes(b"value-3".to_vec())));
    assert_eq!(r.after.as_ref().unwrap().cols[1], Some(parapply::decode::value::Value::Bytes(b"value-3-u".to_vec())));

    // The point of the test: some transactions start in one relay log and end in another.
    let spanning: Vec<&(Transaction, Arc<str>, Arc<str>)> = b_txns.iter().filter(|(_, first, last)| first != last).collect();
    assert!(!spanning.is_empty(), "no transaction spans two relay logs: {:?}", b_txns.iter().map(|(t, f, l)| format!("{:?} {f}..{l}", t.gtid)).collect::<Vec<_>>());
    assert!(spanning.iter().any(|(t, _, _)| t.gtid.as_ref().unwrap().to_string() == "1-1-5"), "the 3000-row insert spans files");
    // The transaction's position names both files; the text line of `inspect` shows them.
    for (t, first, last) in &b_txns {
        assert_eq!((t.pos.file.as_str(), t.pos.end_file.as_str()), (&**first, &**last), "{:?}", t.gtid);
    }
    // A's own binlog never splits a transaction.
    assert!(a_txns.iter().all(|(_, first, last)| first == last));

    // Cut the list inside a spanning transaction: an error naming where it started.
    let (t, first, _) = spanning[0];
    let cut: Vec<PathBuf> = relay.iter().take_while(|p| !p.ends_with(&**first)).cloned().chain(relay.iter().find(|p| p.ends_with(&**first)).cloned()).collect();
    let err = read(&cut).unwrap_err();
    assert!(
        err.starts_with(&format!("incomplete transaction {} at end of {first}:{}", t.gtid.as_ref().unwrap(), t.pos.start)),
        "{err}"
    );

    // `parapply inspect` reads the same files.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parapply")).arg("inspect").args(&relay).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("# summary: 8 transactions (3 ddl), rows +3002 ~1001 -1,"), "{text}");
    let (t, first, last) = spanning[0];
    let line = format!(" {}:{}-{}:{}\n", first, t.pos.start, last, t.pos.end);
    assert!(text.contains(&line), "{line:?} not in {text}");
}
