//! The live binlog source against real MariaDB servers (tools/sandbox): GTID positioning over two
//! domains, file+offset positioning across a rotate (with and without checksums), heartbeats
//! while idle, reconnects that neither double nor skip a transaction, and clear errors for
//! refused credentials and a missing REPLICATION SLAVE privilege.
//!
//! Every expected value comes from the server itself (`SHOW BINLOG EVENTS`, `@@gtid_binlog_pos`)
//! or from reading its binlog files, never from the code under test. Timeouts here only stop a
//! hung test; nothing asserts how fast anything is.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Sandbox;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use parapply::config::{Endpoint, Secret};
use parapply::source::file::BinlogFiles;
use parapply::source::gtid::{GtidPosition, MariadbGtidPos};
use parapply::source::stream::{self, BlockingTransactions, StartPosition, StreamError, StreamOptions, TransactionStream};
use parapply::txn::{Assembler, Transaction};

fn endpoint(sb: &Sandbox, name: &str) -> Endpoint {
    Endpoint::from_url(&sb.url(name)).unwrap()
}

async fn connect(sb: &Sandbox, name: &str) -> Conn {
    Conn::new(stream::connection_opts(&endpoint(sb, name))).await.unwrap()
}

/// Await `f`, failing the test (not asserting a speed) if it hangs.
async fn within<T>(secs: u64, what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: still waiting after {secs} s"),
    }
}

/// Poll `cond` until it holds (hang guard as above).
async fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    within(secs, what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// A GTID event as the server lists it: (gtid, file, position of the GTID event).
#[derive(Debug, Clone, PartialEq)]
struct ListedGtid {
    gtid: String,
    file: String,
    pos: u64,
}

/// Every transaction's GTID in the server's binlogs, in order, from `SHOW BINLOG EVENTS`.
async fn server_gtids(c: &mut Conn) -> Vec<ListedGtid> {
    let files: Vec<(String, u64)> = c.query("SHOW BINARY LOGS").await.unwrap();
    let mut out = Vec::new();
    for (file, _) in files {
        let rows: Vec<mysql_async::Row> = c.query(format!("SHOW BINLOG EVENTS IN '{file}'")).await.unwrap();
        for row in rows {
            let event_type: String = row.get("Event_type").unwrap();
            if event_type != "Gtid" {
                continue;
            }
            let pos: u64 = row.get("Pos").unwrap();
            let info: String = row.get("Info").unwrap();
            // "BEGIN GTID 1-1-5", "GTID 1-1-1" (DDL), possibly followed by "cid=...".
            let gtid = info.split_whitespace().skip_while(|w| *w != "GTID").nth(1).unwrap().to_string();
            out.push(ListedGtid { gtid, file: file.clone(), pos });
        }
    }
    out
}

fn gtid_of(t: &Transaction) -> String {
    t.gtid.as_ref().map(|g| g.to_string()).unwrap_or_default()
}

/// (domain, seq) of a MariaDB GTID text.
fn domain_seq(gtid: &str) -> (u32, u64) {
    let p: Vec<&str> = gtid.split('-').collect();
    (p[0].parse().unwrap(), p[2].parse().unwrap())
}

/// Transactions of the server's binlog files, read with the file source: GTID -> row counts.
fn file_row_counts(sb: &Sandbox, name: &str) -> HashMap<String, (usize, usize, usize)> {
    let mut asm = Assembler::new();
    let mut out = HashMap::new();
    for ev in BinlogFiles::open(&sb.binlog_files(name)).unwrap() {
        if let Some(t) = asm.push(ev.unwrap()).unwrap() {
            out.insert(gtid_of(&t), t.row_counts());
        }
    }
    out
}

async fn gtid_binlog_pos(c: &mut Conn) -> MariadbGtidPos {
    let text: String = c.query_first("SELECT @@GLOBAL.gtid_binlog_pos").await.unwrap().unwrap();
    MariadbGtidPos::parse(&text).unwrap()
}

async fn next_txn(s: &mut TransactionStream) -> Transaction {
    within(60, "next transaction", s.next()).await.unwrap()
}

/// (a) GTID start over two domains: A's binlog holds domain 1 (written on A) and domain 2
/// (written on B, replicated into A's binlog). Starting from a position in the middle of both,
/// exactly the later transactions of each domain arrive, in binlog order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gtid_start_over_two_domains_gives_exactly_the_later_transactions() {
    let sb = Sandbox::start(&["A", "B"], "");
    let mut a = connect(&sb, "A").await;
    let mut b = connect(&sb, "B").await;
    a.query_drop("CREATE DATABASE d").await.unwrap();
    a.query_drop("CREATE TABLE d.t (id INT PRIMARY KEY, origin CHAR(1), n INT)").await.unwrap();
    for i in 0..6 {
        a.query_drop(format!("INSERT INTO d.t VALUES ({}, 'A', {i})", 100 + i)).await.unwrap();
    }
    let a_pos = gtid_binlog_pos(&mut a).await;
    let a_last = a_pos.get(1).unwrap().1;
    within(60, "B applies A's transactions", async {
        loop {
            let text: String = b.query_first("SELECT @@GLOBAL.gtid_slave_pos").await.unwrap().unwrap();
            if MariadbGtidPos::parse(&text).unwrap().get(1).is_some_and(|(_, s)| s >= a_last) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    b.query_drop("SET GLOBAL read_only = OFF").await.unwrap();
    for i in 0..6 {
        b.query_drop(format!("INSERT INTO d.t VALUES ({}, 'B', {i})", 200 + i)).await.unwrap();
    }
    b.query_drop("SET GLOBAL read_only = ON").await.unwrap();
    let b_last = gtid_binlog_pos(&mut b).await.get(2).unwrap().1;
    within(60, "A logs B's transactions", async {
        while gtid_binlog_pos(&mut a).await.get(2).map(|(_, s)| s) != Some(b_last) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    for i in 0..3 {
        a.query_drop(format!("INSERT INTO d.t VALUES ({}, 'A', {i})", 300 + i)).await.unwrap();
    }

    let listed = server_gtids(&mut a).await;
    let seqs = |d: u32| listed.iter().map(|l| domain_seq(&l.gtid)).filter(|(dd, _)| *dd == d).map(|(_, s)| s).collect::<Vec<_>>();
    let (d1, d2) = (seqs(1), seqs(2));
    assert_eq!((d1.len(), d2.len()), (2 + 6 + 3, 6), "A's binlog: {listed:?}");
    let (from1, from2) = (d1[3], d2[1]);
    let expected: Vec<String> = listed
        .iter()
        .map(|l| l.gtid.clone())
        .filter(|g| {
            let (d, s) = domain_seq(g);
            (d == 1 && s > from1) || (d == 2 && s > from2)
        })
        .collect();
    assert_eq!(expected.len(), (11 - 4) + (6 - 2));

    let start = StartPosition::parse(&format!("1-1-{from1},2-2-{from2}")).unwrap();
    let mut s = TransactionStream::new(StreamOptions::new(endpoint(&sb, "A"), 4_000_101), start);
    let mut got = Vec::new();
    for _ in 0..expected.len() {
        got.push(gtid_of(&next_txn(&mut s).await));
    }
    assert_eq!(got, expected);
    assert_eq!(s.position().gtid.as_ref().map(|g| g.to_string()), Some(format!("1-1-{},2-2-{}", d1[10], d2[5])));

    // Nothing else was in between: the next transaction is a new marker, not a stray one.
    a.query_drop("INSERT INTO d.t VALUES (999, 'A', 999)").await.unwrap();
    let marker = next_txn(&mut s).await;
    assert_eq!(gtid_of(&marker), format!("1-1-{}", d1[10] + 1));
    assert_eq!(marker.row_counts(), (1, 0, 0));
    assert_eq!(s.stats().snapshot().reconnects, 0);
}

/// (b) File+offset start across a rotate, through the blocking API, on a source with CRC32
/// checksums and on one with `binlog_checksum=NONE` (whose opening artificial ROTATE still
/// carries a CRC32).
fn file_position_start(mariadbd_args: &str, checksum: &str) {
    let sb = Sandbox::start(&["A"], mariadbd_args);
    assert_eq!(sb.sql("A", "SELECT @@GLOBAL.binlog_checksum"), checksum);
    sb.sql("A", "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(20))");
    for i in 0..5 {
        sb.sql("A", &format!("INSERT INTO d.t VALUES ({i}, 'first-{i}')"));
    }
    sb.sql("A", "FLUSH BINARY LOGS");
    for i in 5..8 {
        sb.sql("A", &format!("INSERT INTO d.t VALUES ({i}, 'second-{i}')"));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listed = rt.block_on(async {
        let mut a = connect(&sb, "A").await;
        server_gtids(&mut a).await
    });
    // 2 DDL + 5 inserts in binlog.000001, 3 inserts in binlog.000002.
    assert_eq!(listed.len(), 10, "{listed:?}");
    let from = &listed[4]; // the third insert
    assert_eq!(from.file, "binlog.000001");
    let end_of_last: u64 = sb.sql("A", "SHOW MASTER STATUS").split('\t').nth(1).unwrap().parse().unwrap();

    let start = StartPosition::parse(&format!("{}:{}", from.file, from.pos)).unwrap();
    let mut txns = stream::transactions(&endpoint(&sb, "A"), start, 4_000_102).unwrap();
    let mut got = Vec::new();
    for _ in 4..10 {
        let t = txns.recv_timeout(Duration::from_secs(60)).expect("a transaction within 60 s").unwrap();
        got.push((gtid_of(&t), t.pos.file.clone(), t.pos.start, t.row_counts()));
    }
    let expected: Vec<_> = listed[4..].iter().map(|l| (l.gtid.clone(), l.file.clone(), l.pos, (1, 0, 0))).collect();
    assert_eq!(got, expected);
    let p = txns.position();
    assert_eq!((p.file.as_str(), p.pos, p.gtid), ("binlog.000002", end_of_last, None));
    assert_eq!(txns.stats().snapshot().reconnects, 0);
}

#[test]
fn file_position_start_with_crc32() {
    file_position_start("", "CRC32");
}

#[test]
fn file_position_start_without_checksums() {
    file_position_start("--binlog-checksum=NONE", "NONE");
}

/// (c) While the source is idle, heartbeats arrive (1 s period) and no transaction is made up;
/// the first write afterwards still assembles into exactly its transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_arrive_while_idle_and_do_not_break_assembly() {
    let sb = Sandbox::start(&["A"], "");
    let mut a = connect(&sb, "A").await;
    a.query_drop("CREATE DATABASE d").await.unwrap();
    a.query_drop("CREATE TABLE d.t (id INT PRIMARY KEY)").await.unwrap();
    let now = stream::current_mariadb_position(&endpoint(&sb, "A")).await.unwrap();
    let mut opts = StreamOptions::new(endpoint(&sb, "A"), 4_000_103);
    opts.heartbeat_period = Duration::from_secs(1);
    let mut s = TransactionStream::new(opts, StartPosition::Gtid(GtidPosition::Mariadb(now.clone())));
    let stats = s.stats();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            let r = s.next().await;
            let stop = r.is_err();
            if tx.send(r).is_err() || stop {
                break;
            }
        }
    });

    wait_until(60, "first heartbeat", || stats.heartbeats() >= 1).await;
    let first = stats.last_heartbeat().unwrap();
    let count = stats.heartbeats();
    wait_until(60, "two more heartbeats", || stats.heartbeats() >= count + 2).await;
    let later = stats.last_heartbeat().unwrap();
    assert!(later > first, "last heartbeat time did not advance");
    assert!(matches!(rx.try_recv(), Err(tokio::sync::mpsc::error::TryRecvError::Empty)), "a transaction appeared on an idle source");
    let snap = stats.snapshot();
    assert_eq!((snap.transactions, snap.reconnects), (0, 0));
    let head = snap.master_head.unwrap();
    assert_eq!(head.0, "binlog.000001");

    a.query_drop("INSERT INTO d.t VALUES (1)").await.unwrap();
    let after = gtid_binlog_pos(&mut a).await;
    let t = within(60, "the insert", rx.recv()).await.unwrap().unwrap();
    assert_eq!(gtid_of(&t), format!("1-1-{}", after.get(1).unwrap().1));
    assert_eq!(t.row_counts(), (1, 0, 0));
    reader.abort();
}

/// (d) The dump connection is killed on the server while a 200k-row transaction is being
/// streamed, four times, under a steady stream of small writes. The stream reconnects by
/// itself and the transactions it hands on are exactly the source's, once each, in order, with
/// the same row counts as in the binlog files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_dump_connection_resumes_without_gaps_or_duplicates() {
    const BIG_ROWS: u64 = 200_000;
    const ROUNDS: u64 = 4;
    let sb = Sandbox::start(&["A"], "");
    let mut admin = connect(&sb, "A").await;
    admin.query_drop("CREATE DATABASE d").await.unwrap();
    admin.query_drop("CREATE TABLE d.big (id INT PRIMARY KEY, v VARCHAR(100))").await.unwrap();
    admin.query_drop("CREATE TABLE d.small (id INT PRIMARY KEY AUTO_INCREMENT, v INT)").await.unwrap();
    let start = gtid_binlog_pos(&mut admin).await;
    let start_seq = start.get(1).unwrap().1;

    let mut opts = StreamOptions::new(endpoint(&sb, "A"), 4_000_104);
    opts.reconnect_min = Duration::from_millis(50);
    opts.reconnect_max = Duration::from_millis(400);
    let mut s = TransactionStream::new(opts, StartPosition::Gtid(GtidPosition::Mariadb(start)));
    let stats = s.stats();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            let r = s.next().await.map(|t| (gtid_of(&t), t.row_counts()));
            let stop = r.is_err();
            if tx.send(r).is_err() || stop {
                break;
            }
        }
    });

    let stop = Arc::new(AtomicBool::new(false));
    let mut small = connect(&sb, "A").await;
    let writer_stop = stop.clone();
    let writer = tokio::spawn(async move {
        let mut n = 0u64;
        while !writer_stop.load(Ordering::Relaxed) {
            small.query_drop("INSERT INTO d.small (v) VALUES (1)").await.unwrap();
            n += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        n
    });

    let mut big = connect(&sb, "A").await;
    for round in 0..ROUNDS {
        // ~90 bytes a row: the transaction (~18 MB of binlog) is far larger than what the
        // socket buffers can hold, so the server is still sending it when the kill lands.
        big.query_drop(format!("INSERT INTO d.big SELECT seq + {}, RPAD(seq, 80, 'x') FROM d.seq_1_to_{BIG_ROWS}", round * BIG_ROWS)).await.unwrap();
        // Once the stream has read 2 MB past the commit it is inside the big transaction (the
        // small writes add a few kB a second); cut the link under it.
        let at_commit = stats.snapshot().bytes;
        wait_until(120, "stream reads into the big transaction", || stats.snapshot().bytes > at_commit + 2_000_000).await;
        // The stream's connection as the server lists it (a killed predecessor may still be
        // on its way out, so pick ours by id rather than taking any dump thread).
        let ours = u64::from(stats.snapshot().connection_id);
        let ids: Vec<u64> = admin.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'").await.unwrap();
        assert!(ids.contains(&ours), "dump connection {ours} not among {ids:?}");
        admin.query_drop(format!("KILL {ours}")).await.unwrap();
        wait_until(120, "reconnect", || stats.reconnects() == round + 1).await;
    }
    stop.store(true, Ordering::Relaxed);
    let small_count = writer.await.unwrap();
    admin.query_drop("INSERT INTO d.small (v) VALUES (-1)").await.unwrap();
    let marker = format!("1-1-{}", gtid_binlog_pos(&mut admin).await.get(1).unwrap().1);

    let mut got: Vec<(String, (usize, usize, usize))> = Vec::new();
    within(600, "all transactions up to the marker", async {
        loop {
            let (g, counts) = rx.recv().await.unwrap().unwrap();
            let done = g == marker;
            got.push((g, counts));
            if done {
                break;
            }
        }
    })
    .await;
    reader.abort();

    let listed = server_gtids(&mut admin).await;
    let expected: Vec<String> = listed.iter().map(|l| l.gtid.clone()).filter(|g| domain_seq(g).1 > start_seq).collect();
    let got_gtids: Vec<String> = got.iter().map(|(g, _)| g.clone()).collect();
    assert_eq!(got_gtids.len(), expected.len(), "transaction count differs");
    assert_eq!(got_gtids, expected, "gap, duplicate or reordering");
    assert_eq!(expected.len() as u64, ROUNDS + small_count + 1);

    let in_files = file_row_counts(&sb, "A");
    for (g, counts) in &got {
        assert_eq!(Some(counts), in_files.get(g), "row counts of {g}");
    }
    let big_ones = got.iter().filter(|(_, c)| *c == (BIG_ROWS as usize, 0, 0)).count() as u64;
    assert_eq!(big_ones, ROUNDS);

    let snap = stats.snapshot();
    eprintln!("after {ROUNDS} kills: {snap:?}; {} transactions received", got.len());
    assert_eq!(snap.reconnects, ROUNDS);
    // Every kill cut a transaction in half (the one being written or the previous one being
    // read again), so every reconnect had a partial transaction to throw away.
    assert_eq!(snap.partials_discarded, ROUNDS, "{snap:?}");
}

/// (e) Wrong password and a user without REPLICATION SLAVE: a definite error naming the user
/// and the server's code, at once (no retry loop), without the password in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_and_missing_privilege_are_clear_errors() {
    let sb = Sandbox::start(&["A"], "");
    sb.sql("A", "CREATE USER 'norepl'@'127.0.0.1' IDENTIFIED BY 'pw-norepl'; GRANT SELECT ON *.* TO 'norepl'@'127.0.0.1'");

    let mut wrong = endpoint(&sb, "A");
    wrong.password = Secret::new("not-the-password");
    let mut s = TransactionStream::new(StreamOptions::new(wrong, 4_000_105), StartPosition::Earliest);
    let e = within(60, "wrong password", s.connect()).await.unwrap_err();
    let text = e.to_string();
    match &e {
        StreamError::Access { user, code, message, .. } => {
            assert_eq!((user.as_str(), *code), ("root", 1045));
            assert!(message.starts_with("Access denied for user 'root'"), "{message}");
        }
        other => panic!("expected an access error, got {other:?}"),
    }
    assert!(!text.contains("not-the-password"), "{text}");
    assert!(!e.is_transient());
    assert_eq!(s.stats().snapshot().failed_attempts, 0);

    let mut norepl = endpoint(&sb, "A");
    norepl.user = "norepl".into();
    norepl.password = Secret::new("pw-norepl");
    let e = match BlockingTransactions::start(StreamOptions::new(norepl, 4_000_106), StartPosition::Earliest, 4) {
        Ok(_) => panic!("a user without REPLICATION SLAVE was allowed to stream"),
        Err(e) => e,
    };
    match &e {
        StreamError::NoReplicationPrivilege { user, code, message, .. } => {
            assert_eq!((user.as_str(), *code), ("norepl", 1045));
            assert_eq!(message, "Access denied for user 'norepl'@'127.0.0.1' (using password: YES)");
        }
        other => panic!("expected an access error, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("logged in but may not read the binlog") && text.contains("GRANT REPLICATION SLAVE"), "{text}");
    assert!(!text.contains("pw-norepl"));
    assert!(!e.is_transient());
}

/// `parapply inspect --source URL --from GTID --limit N` prints exactly the N transactions after
/// the position, then the summary, and exits 0; a refused login exits non-zero with the
/// server's error and without the password.
#[test]
fn inspect_source_prints_live_transactions() {
    let sb = Sandbox::start(&["A"], "");
    sb.sql("A", "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY)");
    let from = sb.sql("A", "SELECT @@GLOBAL.gtid_binlog_pos");
    for i in 0..4 {
        sb.sql("A", &format!("INSERT INTO d.t VALUES ({i})"));
    }
    let (_, seq) = domain_seq(&from);
    let bin = env!("CARGO_BIN_EXE_parapply");
    let out = std::process::Command::new(bin)
        .args(["inspect", "--source", &sb.url("A"), "--from", &from, "--limit", "3", "--json", "--server-id", "4000107"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    for (i, l) in lines[..3].iter().enumerate() {
        assert_eq!(l["gtid"], serde_json::json!(format!("1-1-{}", seq + 1 + i as u64)), "{l}");
    }
    assert_eq!(lines[3]["summary"], serde_json::json!(true));
    assert_eq!(lines[3]["transactions"], serde_json::json!(3));
    assert_eq!(lines[3]["rows"]["insert"], serde_json::json!(3));

    let bad_url = format!("mysql://root:sekrit-pw@127.0.0.1:{}", sb.port("A"));
    let out = std::process::Command::new(bin).args(["inspect", "--source", &bad_url, "--limit", "1"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("error 1045") && !err.contains("sekrit-pw"), "{err}");
}
