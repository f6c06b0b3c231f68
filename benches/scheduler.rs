//! Scheduling speed, with the serial rule as the baseline measured in the same run.
//!
//! 1. `core/<mode>`: the dependency rule + `SchedulerCore` loop alone, on one core, no thread
//!    hops: 100,000 four-row transactions with precomputed keys (4 keys each, uniform over 10M
//!    keys; sessions 0..64; logical-clock groups of 16), 16 simulated workers finishing in
//!    release order, window 1024, commit order on.
//! 2. `threaded/<mode>`: the full dispatcher thread (`spawn_dispatcher`) with key extraction from
//!    real `Transaction`s (4 inserted rows each) and 16 worker threads that answer `Done` at once.
//!
//! Run: `cargo bench --bench scheduler`. Besides criterion's report it prints txns/s per mode
//! and the ratio to serial from timed passes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use parapply::cli::Mode;
use parapply::decode::value::Value;
use parapply::schedule::stats_for_bench as new_stats;
use parapply::schedule::synth::{self, TYPE_LONGLONG};
use parapply::schedule::{rule_for, spawn_dispatcher, DispatcherConfig, Done, SchedulerCore, StaticCatalog, TxnFacts};
use parapply::txn::{CommitDeps, RowKind, Transaction};
use rand::{Rng, SeedableRng};

const TXNS: usize = 100_000;
const WORKERS: usize = 16;

fn facts() -> Vec<TxnFacts> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    (0..TXNS)
        .map(|i| TxnFacts {
            deps: CommitDeps::LogicalClock { last_committed: ((i / 16) * 16) as i64, sequence_number: i as i64 + 1 },
            thread_id: Some(rng.gen_range(0..64)),
            keys: (0..4).map(|_| xxhash_like(rng.gen_range(0..10_000_000u64))).collect(),
            rows: 4,
            ..Default::default()
        })
        .collect()
}

/// Spread small integers over u64 like real key hashes.
fn xxhash_like(v: u64) -> u64 {
    v.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29)
}

fn core_loop(mode: Mode, facts: &[TxnFacts]) -> u64 {
    let mut core = SchedulerCore::new(rule_for(mode), 1024, true, new_stats());
    let mut running: VecDeque<u64> = VecDeque::with_capacity(WORKERS);
    let mut next = 0;
    let mut completed = 0u64;
    loop {
        while next < facts.len() && core.has_room() {
            core.admit(&facts[next]);
            next += 1;
        }
        while running.len() < WORKERS {
            match core.pop_released() {
                Some(s) => running.push_back(s),
                None => break,
            }
        }
        match running.pop_front() {
            Some(s) => {
                let _ = core.complete(s);
                completed += 1;
            }
            None => break,
        }
    }
    completed
}

fn transactions() -> Vec<Arc<Transaction>> {
    let t = synth::table(1, "db", "t", &[("id", TYPE_LONGLONG, None), ("v", TYPE_LONGLONG, None)], &[0]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    (0..TXNS)
        .map(|i| {
            let rows = (0..4).map(|_| (None, Some(synth::row(vec![Value::Int(rng.gen_range(0..10_000_000)), Value::Int(1)])))).collect();
            let mut txn = synth::txn(vec![synth::rows(&t, RowKind::Insert, rows)]);
            txn.deps = CommitDeps::LogicalClock { last_committed: ((i / 16) * 16) as i64, sequence_number: i as i64 + 1 };
            txn.thread_id = Some(rng.gen_range(0..64));
            Arc::new(txn)
        })
        .collect()
}

fn threaded(mode: Mode, txns: &[Arc<Transaction>]) -> u64 {
    let cfg = DispatcherConfig { mode, workers: WORKERS, window: 1024, preserve_commit_order: false, writeset_limit: 10_000, channel_capacity: 1024, defer_key_deps: false };
    let h = spawn_dispatcher(cfg, Arc::new(StaticCatalog::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (ready, done) = (h.ready.clone(), h.done.clone());
            std::thread::spawn(move || {
                for r in ready.iter() {
                    let _ = done.send(Done { seq: r.seq });
                }
            })
        })
        .collect();
    let input = h.input.clone();
    let feeder = {
        let txns = txns.to_vec();
        std::thread::spawn(move || {
            for t in txns {
                let _ = input.send(t);
            }
        })
    };
    let _ = feeder.join();
    let summary = h.join().expect("dispatcher");
    for w in workers {
        let _ = w.join();
    }
    summary.completed
}

fn report<F: FnMut(Mode) -> u64>(what: &str, mut f: F) {
    let mut rates = Vec::new();
    for mode in Mode::ALL {
        // Best of 3 passes.
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            assert_eq!(black_box(f(mode)), TXNS as u64);
            best = best.min(t.elapsed());
        }
        rates.push((mode, TXNS as f64 / best.as_secs_f64()));
    }
    let serial = rates[0].1;
    for (mode, rate) in rates {
        println!("{what:<9} {:<17} {:>12.0} txns/s  {:>5.2}x serial", mode.name(), rate, rate / serial);
    }
}

fn bench(c: &mut Criterion) {
    let facts = facts();
    report("core", |m| core_loop(m, &facts));
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(TXNS as u64)).sample_size(10).measurement_time(Duration::from_secs(3));
    for mode in Mode::ALL {
        g.bench_function(mode.name(), |b| b.iter(|| core_loop(mode, &facts)));
    }
    g.finish();

    let txns = transactions();
    report("threaded", |m| threaded(m, &txns));
    let mut g = c.benchmark_group("threaded");
    g.throughput(Throughput::Elements(TXNS as u64)).sample_size(10).measurement_time(Duration::from_secs(5));
    for mode in Mode::ALL {
        g.bench_function(mode.name(), |b| b.iter(|| threaded(mode, &txns)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
