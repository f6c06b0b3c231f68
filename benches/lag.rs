//! Cost of the lag hooks on the pipeline's hot path, as ratios against baselines measured in the
//! same run.
//!
//! - `on_applied` (per committed transaction: counters, GTID stream, heartbeat detection) vs a
//!   bare `parking_lot::Mutex<u64>` increment plus `Transaction::row_counts` (the least any
//!   registry must do);
//! - `on_received` vs a bare relaxed `AtomicU64::fetch_add`;
//! - the same hooks from 4 threads at once (contention on the registry's one leaf lock) vs 4
//!   threads on one `AtomicU64`;
//! - `snapshot()` and a full `/metrics` render (per scrape; off the hot path) for 8 workers.
//!
//! Run: `cargo bench --bench lag`. Prints a ratio table after criterion's own output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, Criterion};
use parapply::config::LagConfig;
use parapply::decode::event::{ColumnDef, TableMap};
use parapply::decode::value::{Row, Value};
use parapply::lag::Progress;
use parapply::txn::{BinlogPos, Change, Gtid, RowChange, RowKind, RowsChange, Transaction};

/// A typical small OLTP transaction: 4 rows in 2 tables.
fn txn(seq: u64) -> Transaction {
    let table = |name: &str| {
        Arc::new(TableMap {
            schema: "app".into(),
            table: name.into(),
            columns: (0..6).map(|i| ColumnDef { name: Some(format!("c{i}")), ..Default::default() }).collect(),
            ..Default::default()
        })
    };
    let row = || RowChange { before: None, after: Some(Row { cols: (0..6).map(|i| Some(Value::Int(i))).collect() }) };
    Transaction {
        gtid: Some(Gtid::Mariadb { domain: 1, server_id: 1, seq }),
        commit_time_us: 1_700_000_000_000_000,
        size: 600,
        pos: BinlogPos { file: "binlog.000001".into(), start: 4, end: 604, end_file: "binlog.000001".into() },
        changes: vec![
            Change::Rows(RowsChange { raw: None, table: table("orders"), kind: RowKind::Insert, rows: vec![row(), row()], flags: 0 }),
            Change::Rows(RowsChange { raw: None, table: table("items"), kind: RowKind::Update, rows: vec![row(), row()], flags: 0 }),
        ],
        ..Default::default()
    }
}

/// Best of 5 runs of `n` calls of `f`, in ns per call.
fn ns_per_op(n: u64, mut f: impl FnMut(u64)) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..n {
                f(i);
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Best of 5: `threads` threads each calling `f` `n` times; ns per call overall (wall / total).
fn ns_per_op_threads(threads: usize, n: u64, f: Arc<dyn Fn(u64) + Send + Sync>) -> f64 {
    (0..5)
        .map(|_| {
            let start = Arc::new(std::sync::Barrier::new(threads + 1));
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    let (f, start) = (f.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        for i in 0..n {
                            f(i);
                        }
                    })
                })
                .collect();
            let t = Instant::now();
            start.wait();
            for h in hs {
                h.join().unwrap();
            }
            t.elapsed().as_nanos() as f64 / (n * threads as u64) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let t = txn(1);
    let progress = Progress::new(&LagConfig::default());
    let counter = parking_lot::Mutex::new(0u64);
    let atomic = AtomicU64::new(0);

    let mut c = Criterion::default().configure_from_args().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    {
        let mut g = c.benchmark_group("lag_hooks");
        g.bench_function("baseline: mutex += 1 and row_counts", |b| {
            b.iter(|| {
                let (i, u, d) = black_box(&t).row_counts();
                *counter.lock() += (i + u + d) as u64;
            })
        });
        g.bench_function("Progress::on_applied", |b| b.iter(|| progress.on_applied(black_box(&t), 3)));
        g.bench_function("baseline: AtomicU64 fetch_add", |b| b.iter(|| atomic.fetch_add(black_box(600), Ordering::Relaxed)));
        g.bench_function("Progress::on_received", |b| b.iter(|| progress.on_received(black_box(600), t.gtid.as_ref(), t.commit_time_us)));
        g.finish();
    }
    c.final_summary();

    // Ratio table (same process, same inputs).
    let n = 2_000_000;
    let base_applied = ns_per_op(n, |_| {
        let (i, u, d) = black_box(&t).row_counts();
        *counter.lock() += (i + u + d) as u64;
    });
    let applied = ns_per_op(n, |_| progress.on_applied(black_box(&t), 3));
    let base_received = ns_per_op(n, |_| {
        atomic.fetch_add(black_box(600), Ordering::Relaxed);
    });
    let received = ns_per_op(n, |_| progress.on_received(black_box(600), t.gtid.as_ref(), t.commit_time_us));
    let threads = 4;
    let shared_atomic = Arc::new(AtomicU64::new(0));
    let base_contended = ns_per_op_threads(threads, n / 4, {
        let a = shared_atomic.clone();
        Arc::new(move |_| {
            a.fetch_add(1, Ordering::Relaxed);
        })
    });
    let contended = ns_per_op_threads(threads, n / 4, {
        let (p, t) = (progress.clone(), Arc::new(txn(2)));
        Arc::new(move |i| p.on_applied(&t, (i % 8) as usize))
    });
    let snapshot = ns_per_op(20_000, |_| {
        black_box(progress.snapshot());
    });
    let metrics = ns_per_op(2_000, |_| {
        black_box(parapply::http::render_metrics(&progress.snapshot()).unwrap());
    });
    println!("\nlag hooks, ns per call (best of 5), ratio to the baseline measured in this run:");
    println!("  on_applied                 {applied:8.1} ns   vs mutex+row_counts {base_applied:6.1} ns   ratio {:.2}", applied / base_applied);
    println!("  on_received                {received:8.1} ns   vs atomic add       {base_received:6.1} ns   ratio {:.2}", received / base_received);
    println!("  on_applied, {threads} threads      {contended:8.1} ns   vs shared atomic    {base_contended:6.1} ns   ratio {:.2}", contended / base_contended);
    println!("  snapshot (8 workers)       {snapshot:8.1} ns");
    println!("  /metrics render            {metrics:8.1} ns");
}
