//! Live-stream reading speed against a real MariaDB master (tools/sandbox), every contender
//! measured in the same run over the same binlog, plus the cost of putting mysql_async's events
//! back into raw bytes for parapply's decoder.
//!
//! Contenders (alternating full passes over the whole binlog, best of three each):
//! - `mysql_async`: `get_binlog_stream`, events counted, nothing decoded (the transport ceiling);
//! - `mysql_common rows`: the same, plus every row decoded with `RowsEventData::rows(tme)` (the
//!   baseline a mysql_async user gets);
//! - `LiveSource`: parapply's stream: raw bytes rebuilt, decoded by parapply's `Decoder` (full
//!   row values, CRC32 verified);
//! - `TransactionStream`: the above plus assembly into `Transaction`s.
//!
//! Micro (criterion): rebuilding an event's bytes with `raw_event_bytes` (original checksum
//! kept) vs mysql_common's `Event::write` (checksum recomputed) on the same events.
//!
//! Run: `cargo bench --bench stream`. Port `PARAPPLY_BENCH_STREAM_PORT` (default 24420); rows
//! `PARAPPLY_BENCH_STREAM_ROWS` (default 400000, in 2000-row transactions, then as many rows
//! updated).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{black_box, Criterion, Throughput};
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn};
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::events::{Event as McEvent, EventData as McEventData};
use mysql_common::binlog::EventStreamReader;
use parapply::config::Endpoint;
use parapply::decode::event::EventData;
use parapply::source::stream::{self, LiveSource, StartPosition, StreamOptions, StreamStats, TransactionStream};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Sandbox {
    dir: PathBuf,
    port: u16,
}

impl Sandbox {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new(repo().join("tools/sandbox"))
            .args(args)
            .env("SANDBOX_DIR", &self.dir)
            .env("SANDBOX_BASE_PORT", self.port.to_string())
            .env("SANDBOX_NO_REPLICATION", "1")
            .output()
            .expect("run tools/sandbox");
        assert!(out.status.success(), "sandbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tools/sandbox")).arg("destroy").env("SANDBOX_DIR", &self.dir).output();
    }
}

async fn mysql_async_pass(ep: &Endpoint, decode_rows: bool) -> (u64, u64) {
    let mut conn = Conn::new(stream::connection_opts(ep)).await.unwrap();
    conn.query_drop("SET @mariadb_slave_capability = 4").await.unwrap();
    let mut s = conn.get_binlog_stream(BinlogStreamRequest::new(4_100_001).with_non_blocking()).await.unwrap();
    let (mut events, mut rows) = (0u64, 0u64);
    while let Some(ev) = s.next().await {
        let ev = ev.unwrap();
        events += 1;
        if decode_rows {
            if let Ok(Some(McEventData::RowsEvent(re))) = ev.read_data() {
                if let Some(tme) = s.get_tme(re.table_id()) {
                    for r in re.rows(tme) {
                        black_box(r.unwrap());
                        rows += 1;
                    }
                }
            }
        }
    }
    (events, rows)
}

async fn live_source_pass(ep: &Endpoint, end: &(String, u64)) -> (u64, u64) {
    let opts = StreamOptions::new(ep.clone(), 4_100_002);
    let mut src = LiveSource::connect(&opts, &StartPosition::Earliest, std::sync::Arc::new(StreamStats::default())).await.unwrap();
    let (mut events, mut rows) = (0u64, 0u64);
    loop {
        let ev = src.next_event().await.unwrap();
        events += 1;
        if let EventData::Rows(r) = &ev.data {
            rows += r.rows.len() as u64;
        }
        if &*ev.file == end.0.as_str() && u64::from(ev.header.log_pos) == end.1 {
            break;
        }
    }
    src.close().await;
    (events, rows)
}

async fn transaction_pass(ep: &Endpoint, transactions: u64) -> (u64, u64) {
    let mut s = TransactionStream::new(StreamOptions::new(ep.clone(), 4_100_003), StartPosition::Earliest);
    let mut rows = 0u64;
    for _ in 0..transactions {
        let t = s.next().await.unwrap();
        let (i, u, d) = t.row_counts();
        rows += (i + u + d) as u64;
    }
    (s.stats().snapshot().events, rows)
}

fn main() {
    let port: u16 = std::env::var("PARAPPLY_BENCH_STREAM_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(24420);
    let total_rows: u64 = std::env::var("PARAPPLY_BENCH_STREAM_ROWS").ok().and_then(|p| p.parse().ok()).unwrap_or(400_000);
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| repo().join("target"), PathBuf::from);
    let sb = Sandbox { dir: target.join("bench-data/stream-sandbox"), port };
    let _ = std::fs::remove_dir_all(&sb.dir);
    sb.cmd(&["start", "A"]);
    sb.cmd(&["sql", "A", "CREATE DATABASE b; CREATE TABLE b.t (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(60) NOT NULL, pad VARCHAR(60) NOT NULL)"]);
    let per_txn = 2000u64;
    let mut script = String::new();
    for i in 0..total_rows / per_txn {
        script.push_str(&format!("INSERT INTO b.t SELECT seq, seq % 1000, RPAD(seq, 60, 'c'), RPAD(seq, 40, 'p') FROM b.seq_{}_to_{};", i * per_txn + 1, (i + 1) * per_txn));
    }
    for i in 0..total_rows / per_txn {
        script.push_str(&format!("UPDATE b.t SET k = k + 1 WHERE id BETWEEN {} AND {};", i * per_txn + 1, (i + 1) * per_txn));
    }
    sb.cmd(&["sql", "A", &script]);
    let status = sb.cmd(&["sql", "A", "SHOW MASTER STATUS"]);
    let mut cols = status.split('\t');
    let end = (cols.next().unwrap().to_string(), cols.next().unwrap().parse::<u64>().unwrap());
    let transactions = 2 + 2 * (total_rows / per_txn);
    let ep = Endpoint::from_url(&format!("mysql://root@127.0.0.1:{port}")).unwrap();
    eprintln!("stream bench: binlog {}:{} bytes, {transactions} transactions", end.0, end.1);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut best: [(Duration, u64, u64); 4] = [(Duration::MAX, 0, 0); 4];
    for _ in 0..3 {
        for (i, best) in best.iter_mut().enumerate() {
            let t = Instant::now();
            let (events, rows) = rt.block_on(async {
                match i {
                    0 => mysql_async_pass(&ep, false).await,
                    1 => mysql_async_pass(&ep, true).await,
                    2 => live_source_pass(&ep, &end).await,
                    _ => transaction_pass(&ep, transactions).await,
                }
            });
            let took = t.elapsed();
            if took < best.0 {
                *best = (took, events, rows);
            }
        }
    }
    let names = ["mysql_async (no decoding)", "mysql_common rows (baseline)", "parapply LiveSource", "parapply TransactionStream"];
    let rate = |b: &(Duration, u64, u64)| b.1 as f64 / b.0.as_secs_f64();
    for (n, b) in names.iter().zip(best.iter()) {
        eprintln!("{n:32} {:>9.0} events/s {:>9.0} rows/s ({} events, {} rows, {:?})", rate(b), b.2 as f64 / b.0.as_secs_f64(), b.1, b.2, b.0);
    }
    eprintln!(
        "ratios (time of baseline / time of contender): LiveSource {:.2}x, TransactionStream {:.2}x vs mysql_common rows; LiveSource reaches {:.2} of the undecoded transport",
        best[1].0.as_secs_f64() / best[2].0.as_secs_f64(),
        best[1].0.as_secs_f64() / best[3].0.as_secs_f64(),
        best[0].0.as_secs_f64() / best[2].0.as_secs_f64(),
    );

    // Micro: rebuilding raw bytes, on the events of the file the master wrote.
    let file = std::fs::read(sb.dir.join("A/data").join(&end.0)).unwrap();
    let mut esr = EventStreamReader::new(BinlogVersion::Version4);
    let mut events: Vec<McEvent> = Vec::new();
    let mut at = 4;
    while at < file.len() {
        let size = u32::from_le_bytes(file[at + 9..at + 13].try_into().unwrap()) as usize;
        events.push(esr.read(&file[at..at + size]).unwrap().unwrap());
        at += size;
    }
    let bytes = (file.len() - 4) as u64;
    let mut c = Criterion::default().configure_from_args().measurement_time(Duration::from_secs(5));
    let mut g = c.benchmark_group("rebuild_raw_event");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("raw_event_bytes", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for e in &events {
                stream::raw_event_bytes(e, &mut out).unwrap();
                black_box(&out);
            }
        })
    });
    g.bench_function("mysql_common Event::write", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for e in &events {
                out.clear();
                e.write(BinlogVersion::Version4, &mut out).unwrap();
                black_box(&out);
            }
        })
    });
    g.finish();
    c.final_summary();
}
