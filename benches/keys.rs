//! Key extraction + hashing speed (rows/s) for the writeset modes, against a baseline measured in
//! the same run: xxh3 of each row's raw primary-key bytes alone (the least any writeset can do).
//!
//! Workloads (100,000 transactions of 4 inserted rows each, from `schedule::synth`):
//! - `pk_int`: `t(id BIGINT PK, v BIGINT)`: one key per row.
//! - `pk_uk_ci`: `users(id PK, email VARCHAR UNIQUE utf8mb4_general_ci)`: two keys per row, the
//!   email case-folded and PAD SPACE-trimmed.
//! - `fk_child`: `orders(id PK, customer_id FK -> customer.id)`: own key + parent reference.
//!
//! Run: `cargo bench --bench keys`. Prints rows/s per workload and the ratio to the baseline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use parapply::decode::value::Value;
use parapply::schedule::synth::{self, TYPE_LONGLONG, TYPE_VARCHAR};
use parapply::schedule::{KeyExtractor, StaticCatalog, TableDef, TxnFacts};
use parapply::txn::{Change, RowKind, Transaction};
use rand::{Rng, SeedableRng};

const TXNS: usize = 100_000;
const ROWS_PER_TXN: usize = 4;

struct Workload {
    name: &'static str,
    catalog: Arc<StaticCatalog>,
    txns: Vec<Transaction>,
}

fn workloads() -> Vec<Workload> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let t = synth::table(1, "db", "t", &[("id", TYPE_LONGLONG, None), ("v", TYPE_LONGLONG, None)], &[0]);
    let pk_int = (0..TXNS)
        .map(|_| {
            let rows = (0..ROWS_PER_TXN).map(|_| (None, Some(synth::row(vec![Value::Int(rng.gen_range(0..1 << 40)), Value::Int(1)])))).collect();
            synth::txn(vec![synth::rows(&t, RowKind::Insert, rows)])
        })
        .collect();
    let users = synth::table(2, "app", "users", &[("id", TYPE_LONGLONG, None), ("email", TYPE_VARCHAR, Some(45))], &[0]);
    let users_def = TableDef::new("app", "users").column("id", None).column("email", None).primary_key(&["id"]).unique_key("email_uk", &["email"]);
    let pk_uk = (0..TXNS)
        .map(|_| {
            let rows = (0..ROWS_PER_TXN)
                .map(|_| {
                    let id: i64 = rng.gen_range(0..1 << 40);
                    (None, Some(synth::row(vec![Value::Int(id), synth::s(&format!("User.{id}@Example.com"))])))
                })
                .collect();
            synth::txn(vec![synth::rows(&users, RowKind::Insert, rows)])
        })
        .collect();
    let orders = synth::table(3, "shop", "orders", &[("id", TYPE_LONGLONG, None), ("customer_id", TYPE_LONGLONG, None)], &[0]);
    let fk_defs = [
        TableDef::new("shop", "customer").column("id", None).primary_key(&["id"]),
        TableDef::new("shop", "orders").column("id", None).column("customer_id", None).primary_key(&["id"]).foreign_key(
            "fk",
            &["customer_id"],
            "shop",
            "customer",
            &["id"],
        ),
    ];
    let fk = (0..TXNS)
        .map(|_| {
            let rows = (0..ROWS_PER_TXN)
                .map(|_| (None, Some(synth::row(vec![Value::Int(rng.gen_range(0..1 << 40)), Value::Int(rng.gen_range(0..100_000))]))))
                .collect();
            synth::txn(vec![synth::rows(&orders, RowKind::Insert, rows)])
        })
        .collect();
    let mut fk_catalog = StaticCatalog::new();
    for d in fk_defs {
        fk_catalog.add_table(d);
    }
    vec![
        Workload { name: "pk_int", catalog: Arc::new(StaticCatalog::new()), txns: pk_int },
        Workload { name: "pk_uk_ci", catalog: Arc::new(StaticCatalog::new().with_table(users_def)), txns: pk_uk },
        Workload { name: "fk_child", catalog: Arc::new(fk_catalog), txns: fk },
    ]
}

/// Baseline: xxh3 over the first column's raw integer bytes of every row image.
fn baseline(txns: &[Transaction]) -> u64 {
    let mut acc = 0u64;
    for t in txns {
        for c in &t.changes {
            if let Change::Rows(r) = c {
                for row in &r.rows {
                    if let Some(Some(Value::Int(id))) = row.after.as_ref().and_then(|a| a.cols.first()) {
                        acc ^= xxhash_rust::xxh3::xxh3_64(&id.to_le_bytes());
                    }
                }
            }
        }
    }
    acc
}

fn extract(x: &mut KeyExtractor, txns: &[Transaction], f: &mut TxnFacts) -> usize {
    let mut keys = 0;
    for t in txns {
        x.facts_into(t, true, f, None);
        keys += f.keys.len();
    }
    keys
}

fn bench(c: &mut Criterion) {
    let wl = workloads();
    let rows = (TXNS * ROWS_PER_TXN) as f64;
    let time = |f: &mut dyn FnMut()| {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            f();
            best = best.min(t.elapsed());
        }
        rows / best.as_secs_f64()
    };
    let base = time(&mut || {
        black_box(baseline(&wl[0].txns));
    });
    println!("keys baseline (raw xxh3 of the PK) {base:>14.0} rows/s");
    for w in &wl {
        let mut x = KeyExtractor::new(w.catalog.clone(), 10_000);
        let mut f = TxnFacts::default();
        let rate = time(&mut || {
            black_box(extract(&mut x, &w.txns, &mut f));
        });
        println!("keys {:<29} {rate:>14.0} rows/s  {:>5.2}x baseline", w.name, rate / base);
    }
    let mut g = c.benchmark_group("keys");
    g.throughput(Throughput::Elements(rows as u64)).sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("baseline_raw_pk_xxh3", |b| b.iter(|| baseline(&wl[0].txns)));
    for w in &wl {
        let mut x = KeyExtractor::new(w.catalog.clone(), 10_000);
        let mut f = TxnFacts::default();
        g.bench_function(w.name, |b| b.iter(|| extract(&mut x, &w.txns, &mut f)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
