//! Whole-file event decoding speed on a sysbench-made MariaDB binlog: parapply's `Decoder`
//! (every event, full row values, CRC32 verified) against mysql_common's `BinlogFile` iterating
//! the same bytes and decoding every row with `RowsEventData::rows(&table_map)` — the baseline,
//! measured in the same run. Both read from memory, so this is decode cost only.
//!
//! The binlog comes from `PARAPPLY_BENCH_BINLOG=<file>` or is generated once and cached in
//! `target/bench-data/sysbench-mariadb.binlog`: a MariaDB sandbox (tools/sandbox, port
//! `PARAPPLY_BENCH_PORT`, default 24406) runs `sysbench oltp_write_only` for
//! `PARAPPLY_BENCH_SECONDS` (default 20) seconds, or a SQL loop when sysbench is not installed.
//!
//! Run: `cargo bench --bench decode`. Besides criterion's report, the bench prints events/s of
//! both decoders and their ratio from alternating full passes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::events::{EventData as McEventData, TableMapEvent};
use mysql_common::binlog::BinlogFile;
use parapply::decode::event::EventData;
use parapply::decode::{parse_header, Decoder};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Start a one-instance sandbox, load it, copy its binlog to `dest`, destroy the sandbox.
fn generate(dest: &Path) -> Result<(), String> {
    let sb_dir = dest.with_extension("sandbox");
    let port = std::env::var("PARAPPLY_BENCH_PORT").unwrap_or_else(|_| "24406".into());
    let secs = std::env::var("PARAPPLY_BENCH_SECONDS").unwrap_or_else(|_| "20".into());
    let sandbox = |args: &[&str]| {
        let mut c = Command::new(repo().join("tools/sandbox"));
        c.args(args)
            .env("SANDBOX_DIR", &sb_dir)
            .env("SANDBOX_BASE_PORT", &port)
            .env("SANDBOX_NO_REPLICATION", "1");
        c
    };
    run(&mut sandbox(&["start", "A"]))?;
    let result = (|| {
        run(sandbox(&["sql", "A", "CREATE DATABASE sbtest"]).arg(""))?;
        let sysbench = Command::new("sysbench").arg("--version").output().is_ok_and(|o| o.status.success());
        if sysbench {
            let common = [
                "oltp_write_only",
                "--db-driver=mysql",
                "--mysql-host=127.0.0.1",
                &format!("--mysql-port={port}"),
                "--mysql-user=root",
                "--mysql-db=sbtest",
                "--tables=4",
                "--table-size=10000",
            ];
            run(Command::new("sysbench").args(common).arg("prepare"))?;
            run(Command::new("sysbench").args(common).args(["--threads=4", &format!("--time={secs}"), "run"]))?;
        } else {
            // Fallback: the same shape of transactions as a SQL script.
            let mut sql = String::from(
                "CREATE TABLE sbtest.t (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY(k));\n",
            );
            for i in 0..50_000u32 {
                sql.push_str(&format!(
                    "BEGIN; INSERT INTO sbtest.t VALUES ({i}, {k}, '{c}', '{p}'); UPDATE sbtest.t SET k = k + 1 WHERE id = {h};\
                     UPDATE sbtest.t SET c = '{c}x' WHERE id = {h}; DELETE FROM sbtest.t WHERE id = {d}; COMMIT;\n",
                    k = i % 1000,
                    c = "0123456789-".repeat(10),
                    p = "abcdefghij-".repeat(5),
                    h = i / 2,
                    d = i.saturating_sub(100),
                ));
            }
            let mut child = sandbox(&["sql", "A"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| format!("sandbox sql: {e}"))?;
            use std::io::Write;
            child.stdin.take().ok_or("no stdin")?.write_all(sql.as_bytes()).map_err(|e| e.to_string())?;
            let st = child.wait().map_err(|e| e.to_string())?;
            if !st.success() {
                return Err("SQL loop failed".into());
            }
        }
        run(sandbox(&["sql", "A", "FLUSH BINARY LOGS"]).arg(""))?;
        let src = sb_dir.join("A/data/binlog.000001");
        std::fs::copy(&src, dest).map_err(|e| format!("copy {}: {e}", src.display()))?;
        Ok(())
    })();
    let _ = run(&mut sandbox(&["destroy"]));
    result
}

fn binlog_bytes() -> Vec<u8> {
    let path = match std::env::var("PARAPPLY_BENCH_BINLOG") {
        Ok(p) => PathBuf::from(p),
        Err(_) => {
            let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| repo().join("target"), PathBuf::from);
            let dir = target.join("bench-data");
            std::fs::create_dir_all(&dir).expect("create target/bench-data");
            let p = dir.join("sysbench-mariadb.binlog");
            if !p.exists() {
                eprintln!("decode bench: generating {} with a MariaDB sandbox", p.display());
                if let Err(e) = generate(&p) {
                    panic!("cannot generate the bench binlog: {e}");
                }
            }
            p
        }
    };
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// parapply: decode every event (full row values); returns (events, rows).
fn parapply_pass(bytes: &[u8]) -> (u64, u64) {
    let file: Arc<str> = Arc::from("bench.binlog");
    let mut dec = Decoder::new();
    let (mut events, mut rows) = (0u64, 0u64);
    let mut pos = 4;
    while pos < bytes.len() {
        let size = parse_header(&bytes[pos..]).expect("header").event_size as usize;
        let ev = dec.decode(&bytes[pos..pos + size], &file, pos as u64).expect("decode");
        if let EventData::Rows(r) = &ev.data {
            rows += r.rows.len() as u64;
        }
        black_box(&ev);
        events += 1;
        pos += size;
    }
    (events, rows)
}

/// mysql_common: iterate BinlogFile, parse every event, decode every row of ROWS events.
fn mysql_common_pass(bytes: &[u8]) -> (u64, u64) {
    let bf = BinlogFile::new(BinlogVersion::Version4, std::io::Cursor::new(bytes)).expect("binlog file");
    let mut tables: HashMap<u64, TableMapEvent<'static>> = HashMap::new();
    let (mut events, mut rows) = (0u64, 0u64);
    for ev in bf {
        let ev = ev.expect("event");
        match ev.read_data().expect("event data") {
            Some(McEventData::TableMapEvent(t)) => {
                tables.insert(t.table_id(), t.into_owned());
            }
            Some(McEventData::RowsEvent(r)) => {
                let tme = tables.get(&r.table_id()).expect("table map");
                for row in r.rows(tme) {
                    black_box(row.expect("row"));
                    rows += 1;
                }
            }
            other => {
                black_box(other);
            }
        }
        events += 1;
    }
    (events, rows)
}

fn bench(c: &mut Criterion) {
    let bytes = binlog_bytes();
    let (events, rows) = parapply_pass(&bytes);
    let (mc_events, mc_rows) = mysql_common_pass(&bytes);
    assert_eq!((events, rows), (mc_events, mc_rows), "both decoders must see the same events and rows");
    eprintln!("decode bench: {} bytes, {events} events, {rows} rows", bytes.len());

    // Alternating full passes, same process: the ratio printed here is the headline number.
    let (mut ours, mut theirs) = (0f64, 0f64);
    for _ in 0..3 {
        let t = Instant::now();
        black_box(parapply_pass(&bytes));
        ours += t.elapsed().as_secs_f64();
        let t = Instant::now();
        black_box(mysql_common_pass(&bytes));
        theirs += t.elapsed().as_secs_f64();
    }
    let (ours_eps, theirs_eps) = (3.0 * events as f64 / ours, 3.0 * events as f64 / theirs);
    eprintln!(
        "decode bench: parapply {:.0} events/s ({:.0} rows/s), mysql_common {:.0} events/s ({:.0} rows/s), ratio {:.2}x",
        ours_eps,
        3.0 * rows as f64 / ours,
        theirs_eps,
        3.0 * rows as f64 / theirs,
        ours_eps / theirs_eps
    );

    let mut g = c.benchmark_group("decode_file");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("parapply_decoder", |b| b.iter(|| parapply_pass(black_box(&bytes))));
    g.bench_function("mysql_common_binlogfile", |b| b.iter(|| mysql_common_pass(black_box(&bytes))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
