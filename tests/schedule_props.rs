//! Property and concurrency tests of the REAL dispatcher (`spawn_dispatcher`) with worker
//! threads: random transactions with random key overlaps, sessions, logical clocks and DDL
//! barriers, under every mode, with commit order on and off, small windows and channels.
//!
//! Workers stamp start, commit and finish with one global counter; the test then checks every
//! ordering the mode requires against an oracle written independently of the rules.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parapply::cli::Mode;
use parapply::decode::event::QueryEvent;
use parapply::schedule::synth::{self, TYPE_LONGLONG};
use parapply::schedule::{spawn_dispatcher, BarrierReason, DispatcherConfig, Done, StaticCatalog, TxnFacts};
use parapply::txn::{Change, CommitDeps, Transaction};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Spec {
    keys: Vec<i64>,
    thread: u32,
    last_committed: i64,
    ddl: bool,
}

fn spec_strategy() -> impl Strategy<Value = Vec<Spec>> {
    (1usize..60).prop_flat_map(|n| {
        proptest::collection::vec(
            (proptest::collection::vec(0i64..12, 1..4), 0u32..4, 0u32..=1000, proptest::bool::weighted(0.06)),
            n,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (keys, thread, lc_frac, ddl))| Spec { keys, thread, last_committed: (i as i64 * i64::from(lc_frac)) / 1000, ddl })
                .collect()
        })
    })
}

fn build(specs: &[Spec]) -> Vec<Arc<Transaction>> {
    let t = synth::table(1, "db", "t", &[("id", TYPE_LONGLONG, None), ("v", TYPE_LONGLONG, None)], &[0]);
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut txn = synth::txn(vec![synth::insert_ids(&t, &s.keys)]);
            txn.pos.start = i as u64;
            txn.thread_id = Some(s.thread);
            txn.deps = CommitDeps::LogicalClock { last_committed: s.last_committed, sequence_number: i as i64 + 1 };
            if s.ddl {
                txn.is_ddl = true;
                txn.changes = vec![Change::Query(QueryEvent { query: "ALTER TABLE t ADD x INT".into(), ..Default::default() })];
            }
            Arc::new(txn)
        })
        .collect()
}

/// Must `j` wait for `i` (i < j) directly, per the mode's definition?
fn must_order(mode: Mode, specs: &[Spec], i: usize, j: usize) -> bool {
    let (a, b) = (&specs[i], &specs[j]);
    if mode == Mode::Serial || a.ddl || b.ddl {
        return true;
    }
    match mode {
        Mode::LogicalClock => (i as i64 + 1) <= b.last_committed,
        Mode::Writeset => a.keys.iter().any(|k| b.keys.contains(k)),
        Mode::WritesetSession => a.keys.iter().any(|k| b.keys.contains(k)) || a.thread == b.thread,
        Mode::Serial => true,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Stamp {
    start: u64,
    commit: u64,
    finish: u64,
    runs: u64,
}

struct Outcome {
    stamps: Vec<Stamp>,
    barriers: u64,
}

/// `defer`: key dependencies travel with the transaction (`Ready::after`) and the simulated
/// worker, like the applier, starts it only once each has committed.
fn run(mode: Mode, txns: &[Arc<Transaction>], workers: usize, window: usize, capacity: usize, preserve: bool, defer: bool) -> Outcome {
    let cfg = DispatcherConfig { mode, workers, window, preserve_commit_order: preserve, writeset_limit: 1000, channel_capacity: capacity, defer_key_deps: defer };
    let h = spawn_dispatcher(cfg, Arc::new(StaticCatalog::new()));
    let clock = Arc::new(AtomicU64::new(1));
    let n = txns.len();
    let stamps: Arc<Vec<parking_lot::Mutex<Stamp>>> = Arc::new((0..n).map(|_| parking_lot::Mutex::new(Stamp::default())).collect());
    let mut hs = Vec::new();
    for w in 0..workers {
        let ready = h.ready.clone();
        let done = h.done.clone();
        let order = h.commit_order.clone();
        let clock = clock.clone();
        let stamps = stamps.clone();
        hs.push(std::thread::spawn(move || {
            for r in ready.iter() {
                let idx = r.txn.pos.start as usize;
                assert_eq!(r.seq, idx as u64, "seq follows source order");
                assert!(preserve && defer || r.after.is_empty(), "dependencies travel only when deferred");
                if let Some(&last) = r.after.iter().max() {
                    order.wait_turn_blocking(last + 1);
                }
                let start = clock.fetch_add(1, SeqCst);
                // Shake interleavings a little.
                for _ in 0..(idx + w) % 3 {
                    std::thread::yield_now();
                }
                if preserve {
                    order.wait_turn_blocking(r.seq);
                }
                let commit = clock.fetch_add(1, SeqCst);
                order.done(r.seq);
                let finish = clock.fetch_add(1, SeqCst);
                {
                    let mut s = stamps[idx].lock();
                    s.start = start;
                    s.commit = commit;
                    s.finish = finish;
                    s.runs += 1;
                }
                done.send(Done { seq: r.seq }).unwrap();
            }
        }));
    }
    for t in txns {
        h.input.send(t.clone()).unwrap();
    }
    let summary = {
        // Close our clones so the dispatcher can finish; join drops the handle's own.
        let input = h.input.clone();
        drop(input);
        let stats = h.stats.clone();
        let s = h.join().expect("dispatcher ends cleanly");
        assert_eq!(stats.snapshot(), s);
        s
    };
    for t in hs {
        t.join().unwrap();
    }
    let stamps: Vec<Stamp> = stamps.iter().map(|m| *m.lock()).collect();
    assert_eq!(summary.admitted, n as u64);
    assert_eq!(summary.released, n as u64);
    assert_eq!(summary.completed, n as u64);
    assert_eq!(summary.low_watermark, n as u64);
    Outcome { stamps, barriers: summary.barriers_total() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn dispatcher_respects_every_dependency(
        specs in spec_strategy(),
        mode_idx in 0usize..4,
        workers in 1usize..6,
        window in 1usize..12,
        capacity in 1usize..4,
        preserve in proptest::bool::ANY,
        defer in proptest::bool::ANY,
    ) {
        let mode = Mode::ALL[mode_idx];
        let txns = build(&specs);
        let out = run(mode, &txns, workers, window, capacity, preserve, defer);
        let deferred = preserve && defer;
        let n = specs.len();
        for (i, s) in out.stamps.iter().enumerate() {
            prop_assert_eq!(s.runs, 1, "txn {} dispatched exactly once", i);
        }
        for j in 0..n {
            for i in 0..j {
                if must_order(mode, &specs, i, j) {
                    // Never in flight together, and the earlier one first. Deferred: the later
                    // one was handed out early but starts only after the earlier one committed.
                    let earlier_end = if deferred { out.stamps[i].commit } else { out.stamps[i].finish };
                    prop_assert!(earlier_end < out.stamps[j].start,
                        "{:?}: txn {} started before txn {} finished ({:?} vs {:?})", mode, j, i, out.stamps[j], out.stamps[i]);
                }
            }
        }
        if preserve {
            for i in 1..n {
                prop_assert!(out.stamps[i - 1].commit < out.stamps[i].commit, "commit order at {}", i);
            }
        }
        // Barriers: every DDL counted (serial mode never needs to downgrade anything).
        let ddls = specs.iter().filter(|s| s.ddl).count() as u64;
        if mode != Mode::Serial {
            prop_assert_eq!(out.barriers, ddls);
        } else {
            prop_assert_eq!(out.barriers, 0);
        }
    }
}

/// Barrier placement checked directly: a DDL waits for everything before and blocks everything
/// after, in every mode, even with keys that never overlap.
#[test]
fn ddl_barrier_separates_before_and_after() {
    let mut specs: Vec<Spec> = (0..40).map(|i| Spec { keys: vec![i], thread: i as u32, last_committed: 0, ddl: false }).collect();
    specs[20].ddl = true;
    let txns = build(&specs);
    for mode in [Mode::LogicalClock, Mode::Writeset, Mode::WritesetSession] {
        for preserve in [false, true] {
            let out = run(mode, &txns, 4, 16, 2, preserve, preserve);
            let b = out.stamps[20];
            for (i, s) in out.stamps.iter().enumerate() {
                if i < 20 {
                    assert!(s.finish < b.start, "{mode:?} txn {i} overlaps the barrier");
                } else if i > 20 {
                    assert!(b.finish < s.start, "{mode:?} txn {i} started before the barrier finished");
                }
            }
            assert_eq!(out.barriers, 1);
        }
    }
}

/// Run `n` transactions through the dispatcher whose workers stay busy until either `target`
/// of them are active at once or a generous deadline passes; returns the largest number seen
/// active together. (The deadline only keeps a broken scheduler from hanging the test; the
/// assertion is on the count.)
fn max_active(mode: Mode, txns: &[Arc<Transaction>], workers: usize, target: usize) -> usize {
    let cfg = DispatcherConfig { mode, workers, window: 64, preserve_commit_order: false, writeset_limit: 1000, channel_capacity: 8, defer_key_deps: false };
    let h = spawn_dispatcher(cfg, Arc::new(StaticCatalog::new()));
    let active = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for _ in 0..workers {
        let (ready, done, active, max) = (h.ready.clone(), h.done.clone(), active.clone(), max.clone());
        hs.push(std::thread::spawn(move || {
            for r in ready.iter() {
                let now = active.fetch_add(1, SeqCst) + 1;
                max.fetch_max(now, SeqCst);
                let deadline = Instant::now() + Duration::from_millis(300);
                while active.load(SeqCst) < target && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                max.fetch_max(active.load(SeqCst), SeqCst);
                active.fetch_sub(1, SeqCst);
                done.send(Done { seq: r.seq }).unwrap();
            }
        }));
    }
    for t in txns {
        h.input.send(t.clone()).unwrap();
    }
    h.join().unwrap();
    for t in hs {
        t.join().unwrap();
    }
    max.load(SeqCst)
}

#[test]
fn non_conflicting_transactions_reach_full_parallelism() {
    let specs: Vec<Spec> = (0..16).map(|i| Spec { keys: vec![i], thread: i as u32, last_committed: 0, ddl: false }).collect();
    let txns = build(&specs);
    assert_eq!(max_active(Mode::Writeset, &txns, 4, 4), 4);
    assert_eq!(max_active(Mode::WritesetSession, &txns, 4, 4), 4);
    // All in one logical-clock group (last_committed 0).
    assert_eq!(max_active(Mode::LogicalClock, &txns, 4, 4), 4);
}

#[test]
fn conflicting_transactions_never_overlap() {
    let specs: Vec<Spec> = (0..8).map(|i| Spec { keys: vec![7], thread: i as u32, last_committed: 0, ddl: false }).collect();
    let txns = build(&specs);
    assert_eq!(max_active(Mode::Writeset, &txns, 4, 4), 1);
    assert_eq!(max_active(Mode::Serial, &txns, 4, 4), 1);
    // Same session, different keys: ordered in writeset_session, parallel in writeset.
    let same_session: Vec<Spec> = (0..8).map(|i| Spec { keys: vec![i], thread: 1, last_committed: 0, ddl: false }).collect();
    let txns = build(&same_session);
    assert_eq!(max_active(Mode::WritesetSession, &txns, 4, 4), 1);
    assert_eq!(max_active(Mode::Writeset, &txns, 4, 4), 4);
}

#[test]
fn barrier_reasons_are_counted() {
    let t = synth::table(1, "db", "t", &[("id", TYPE_LONGLONG, None), ("v", TYPE_LONGLONG, None)], &[0]);
    let heap = synth::table(2, "db", "heap", &[("v", TYPE_LONGLONG, None)], &[]);
    let txns: Vec<Arc<Transaction>> = vec![
        synth::txn(vec![synth::insert_ids(&t, &[1])]),
        synth::txn(vec![Change::Opaque { event_type: 13, what: "RAND".into() }]),
        synth::txn(vec![synth::rows(&heap, parapply::txn::RowKind::Insert, vec![(None, Some(synth::row(vec![parapply::decode::value::Value::Int(1)])))])]),
        synth::txn(vec![Change::Query(QueryEvent { query: "DELETE FROM t".into(), ..Default::default() })]),
        synth::txn(vec![synth::insert_ids(&t, &[2])]),
    ]
    .into_iter()
    .map(Arc::new)
    .collect();
    let cfg = DispatcherConfig { mode: Mode::Writeset, workers: 2, window: 8, preserve_commit_order: true, writeset_limit: 100, channel_capacity: 2, defer_key_deps: false };
    let h = spawn_dispatcher(cfg, Arc::new(StaticCatalog::new()));
    let (ready, done) = (h.ready.clone(), h.done.clone());
    let worker = std::thread::spawn(move || {
        for r in ready.iter() {
            done.send(Done { seq: r.seq }).unwrap();
        }
    });
    for t in &txns {
        h.input.send(t.clone()).unwrap();
    }
    let s = h.join().unwrap();
    worker.join().unwrap();
    assert_eq!(s.barrier_count(BarrierReason::Opaque), 1);
    assert_eq!(s.barrier_count(BarrierReason::UnknownSchema), 1); // no PK, no definition
    assert_eq!(s.barrier_count(BarrierReason::StatementDml), 1);
    assert_eq!(s.barriers_total(), 3);
}

#[test]
fn workers_disappearing_is_an_error_not_a_hang() {
    let specs: Vec<Spec> = (0..4).map(|i| Spec { keys: vec![i], thread: 0, last_committed: 0, ddl: false }).collect();
    let txns = build(&specs);
    let cfg = DispatcherConfig { mode: Mode::Writeset, workers: 1, window: 8, preserve_commit_order: false, writeset_limit: 100, channel_capacity: 8, defer_key_deps: false };
    let h = spawn_dispatcher(cfg, Arc::new(StaticCatalog::new()));
    for t in &txns {
        h.input.send(t.clone()).unwrap();
    }
    // Take one and drop it without Done, then every worker endpoint goes away.
    let first = h.ready.recv().unwrap();
    assert_eq!(first.seq, 0);
    let err = h.join().unwrap_err();
    assert!(matches!(err, parapply::schedule::ScheduleError::WorkersGone { .. }), "{err}");
}

#[test]
fn done_for_unknown_seq_is_an_error() {
    let cfg = DispatcherConfig { mode: Mode::Serial, workers: 1, window: 8, preserve_commit_order: false, writeset_limit: 100, channel_capacity: 8, defer_key_deps: false };
    let h = spawn_dispatcher(cfg, Arc::new(StaticCatalog::new()));
    h.done.send(Done { seq: 5 }).unwrap();
    let err = h.join().unwrap_err();
    assert!(matches!(err, parapply::schedule::ScheduleError::UnexpectedDone { seq: 5 }), "{err}");
}

mod common;

/// `InfoSchemaCatalog` against a real MariaDB: unique keys (with a prefix), collations and a
/// foreign key in both directions come back from information_schema, and key extraction through
/// it makes `'abc'` and `'ABC '` conflict on a `_ci` unique key and an order conflict with its
/// customer's deletion — knowledge TABLE_MAP alone does not carry.
#[test]
fn info_schema_catalog_reads_keys_from_a_live_server() {
    use parapply::decode::value::Value;
    use parapply::schedule::synth::{row, s, TYPE_VARCHAR};
    use parapply::schedule::{InfoSchemaCatalog, KeyCatalog, KeyExtractor};
    use parapply::txn::RowKind;

    let sb = common::Sandbox::start(&["C"], "");
    sb.sql(
        "C",
        "CREATE DATABASE shop; \
         CREATE TABLE shop.customer (id INT PRIMARY KEY, email VARCHAR(100) COLLATE utf8mb4_general_ci, \
           code VARCHAR(40) COLLATE utf8mb4_bin, UNIQUE KEY email_uk (email), UNIQUE KEY code_pfx (code(4))) ENGINE=InnoDB; \
         CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_id INT, \
           CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES shop.customer (id)) ENGINE=InnoDB;",
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = mysql_async::Pool::new(sb.url("C").as_str());
    let cat = Arc::new(InfoSchemaCatalog::new(pool, rt.handle().clone()));
    assert_eq!(rt.block_on(cat.preload(&["shop"])).unwrap(), 2);

    let customer = cat.cached("shop", "customer").unwrap();
    assert_eq!(customer.def.primary_key, vec!["id".to_string()]);
    assert_eq!(
        customer.def.unique_keys,
        vec![("code_pfx".to_string(), vec![("code".to_string(), Some(4))]), ("email_uk".to_string(), vec![("email".to_string(), None)])]
    );
    assert_eq!(customer.def.columns[1], ("email".to_string(), Some("utf8mb4_general_ci".to_string())));
    assert_eq!(customer.def.columns[0], ("id".to_string(), None));
    assert_eq!(customer.referencing.len(), 1);
    assert_eq!(customer.referencing[0].columns, vec!["customer_id".to_string()]);
    assert!(!customer.referencing[0].child_columns_referenced);
    let orders = cat.cached("shop", "orders").unwrap();
    assert_eq!(orders.def.foreign_keys.len(), 1);
    assert_eq!(
        (orders.def.foreign_keys[0].parent_table.as_str(), orders.def.foreign_keys[0].parent_columns.clone()),
        ("customer", vec!["id".to_string()])
    );

    // Key extraction through the live catalog (TABLE_MAP as the binlog would show it).
    let cust_tm = synth::table(
        70,
        "shop",
        "customer",
        &[("id", TYPE_LONGLONG, None), ("email", TYPE_VARCHAR, Some(45)), ("code", TYPE_VARCHAR, Some(46))],
        &[0],
    );
    let orders_tm = synth::table(71, "shop", "orders", &[("id", TYPE_LONGLONG, None), ("customer_id", TYPE_LONGLONG, None)], &[0]);
    let mut x = KeyExtractor::new(cat.clone(), 1000);
    let ins = |id: i64, email: &str, code: &str| {
        synth::txn(vec![synth::rows(&cust_tm, RowKind::Insert, vec![(None, Some(row(vec![Value::Int(id), s(email), s(code)])))])])
    };
    let a = x.facts(&ins(1, "abc", "K1-aaaa"), true);
    let b = x.facts(&ins(2, "ABC ", "K2-bbbb"), true);
    let c = x.facts(&ins(3, "other", "K1-azzz"), true); // same 4-char code prefix as `a`
    let d = x.facts(&ins(4, "fourth", "k1-aaaa"), true); // `_bin`: case matters
    let shares = |p: &TxnFacts, q: &TxnFacts| p.keys.iter().any(|k| q.keys.contains(k));
    assert_eq!(a.key_barrier, None);
    assert_eq!(a.keys.len(), 4); // PK, email, code prefix, referenced key (id)
    assert!(shares(&a, &b));
    assert!(shares(&a, &c));
    assert!(!shares(&a, &d));
    let order = x.facts(&synth::txn(vec![synth::rows(&orders_tm, RowKind::Insert, vec![(None, Some(row(vec![Value::Int(9), Value::Int(1)])))])]), true);
    let del_customer = x.facts(
        &synth::txn(vec![synth::rows(&cust_tm, RowKind::Delete, vec![(Some(row(vec![Value::Int(1), s("abc"), s("K1-aaaa")])), None)])]),
        true,
    );
    assert!(shares(&order, &del_customer));
    assert!(!shares(&order, &d));

    // After invalidate, a table is loaded lazily from this (non-runtime) thread.
    cat.invalidate();
    assert!(cat.cached("shop", "orders").is_none());
    assert!(cat.table_keys(&orders_tm).is_some());
    assert!(cat.cached("shop", "orders").is_some());
    // An unknown table is unknown, not an error.
    let ghost = synth::table(72, "shop", "ghost", &[("id", TYPE_LONGLONG, None)], &[0]);
    assert!(cat.table_keys(&ghost).is_none());

    // A foreign key added by DDL (here in another schema, onto the child's FK column) shows after
    // the invalidation that follows it: the instance-wide FK snapshot is read again.
    assert!(cat.table_keys(&cust_tm).is_some());
    sb.sql("C", "CREATE DATABASE audit; CREATE TABLE audit.trail (id INT PRIMARY KEY, cid INT, CONSTRAINT fk_t FOREIGN KEY (cid) REFERENCES shop.orders (customer_id)) ENGINE=InnoDB;");
    assert!(!cat.cached("shop", "customer").unwrap().referencing[0].child_columns_referenced, "no invalidation yet");
    cat.invalidate();
    assert!(cat.table_keys(&cust_tm).is_some());
    let customer = cat.cached("shop", "customer").unwrap();
    assert_eq!((customer.referencing.len(), customer.referencing[0].child_columns_referenced), (1, true));
    assert!(cat.table_keys(&orders_tm).is_some());
    let orders = cat.cached("shop", "orders").unwrap();
    assert_eq!(orders.referencing.iter().map(|f| (f.name.as_str(), f.columns.clone())).collect::<Vec<_>>(), vec![("fk_t", vec!["cid".to_string()])]);
}

/// One step of the key-table model test: a transaction's keys (with repeats, as the rule must
/// cope with them), its session, and how far the low watermark moves before it is planned.
#[derive(Debug, Clone)]
struct KeyStep {
    keys: Vec<u64>,
    thread: Option<u32>,
    barrier: bool,
    advance: usize,
}

fn key_steps() -> impl Strategy<Value = Vec<KeyStep>> {
    proptest::collection::vec(
        (proptest::collection::vec(0u64..24, 0..6), proptest::option::of(0u32..5), proptest::bool::weighted(0.05), 0usize..4),
        1..160,
    )
    .prop_map(|v| v.into_iter().map(|(keys, thread, barrier, advance)| KeyStep { keys, thread, barrier, advance }).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The writeset key tables (which forget keys as the low watermark passes their last
    /// toucher) give the same dependencies as a naive model that remembers all history: for each
    /// key, the last earlier transaction that touched it, if not below the low watermark; in
    /// `writeset_session` also the session's last earlier transaction. And they remember exactly
    /// the keys whose last toucher is at or above the low watermark.
    #[test]
    fn key_table_matches_naive_model(steps in key_steps()) {
        use parapply::schedule::writeset::WritesetRule;
        use parapply::schedule::writeset_session::WritesetSessionRule;
        use parapply::schedule::{DependencyRule, Plan};

        let mut ws = WritesetRule::default();
        let mut wss = WritesetSessionRule::default();
        let mut history: Vec<&KeyStep> = Vec::new();
        let mut lw = 0u64;
        for (seq, step) in steps.iter().enumerate() {
            let seq = seq as u64;
            // The watermark only moves forward and never past the transaction being planned.
            let new_lw = (lw + step.advance as u64).min(seq);
            if new_lw != lw {
                lw = new_lw;
                ws.forget_below(lw);
                wss.forget_below(lw);
            }
            let mut facts = TxnFacts::with_keys(step.keys.iter().map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect());
            facts.thread_id = step.thread;
            facts.key_barrier = step.barrier.then_some(BarrierReason::TooManyKeys);

            // The model.
            let last_with = |pred: &dyn Fn(&KeyStep) -> bool| history.iter().rposition(|s| pred(s)).map(|i| i as u64);
            let mut want_keys: Vec<u64> = Vec::new();
            if !step.barrier {
                for k in &step.keys {
                    if let Some(p) = last_with(&|s: &KeyStep| !s.barrier && s.keys.contains(k)) {
                        want_keys.push(p);
                    }
                }
            }
            let mut want_session = want_keys.clone();
            if let Some(t) = step.thread {
                if let Some(p) = last_with(&|s: &KeyStep| s.thread == Some(t)) {
                    want_session.push(p);
                }
            }
            let norm = |mut v: Vec<u64>| {
                v.retain(|&p| p >= lw && p < seq);
                v.sort_unstable();
                v.dedup();
                v
            };

            let mut plan = Plan::default();
            ws.plan(seq, &facts, lw, &mut plan);
            prop_assert_eq!(plan.barrier.is_some(), step.barrier);
            prop_assert_eq!(norm(plan.after.clone()), norm(want_keys), "writeset deps of seq {}", seq);
            let mut plan = Plan::default();
            wss.plan(seq, &facts, lw, &mut plan);
            prop_assert_eq!(norm(plan.after.clone()), norm(want_session), "writeset_session deps of seq {}", seq);
            history.push(step);

            // Memory: exactly the keys whose last toucher (this step included) is not below
            // the watermark.
            let mut live: Vec<u64> = Vec::new();
            for s in history.iter().filter(|s| !s.barrier) {
                live.extend(s.keys.iter().copied());
            }
            live.sort_unstable();
            live.dedup();
            let remembered = live
                .iter()
                .filter(|k| {
                    let last = history.iter().rposition(|s| !s.barrier && s.keys.contains(k)).unwrap_or(0) as u64;
                    last >= lw
                })
                .count();
            prop_assert_eq!(ws.remembered_keys(), remembered, "keys remembered after seq {} (low watermark {})", seq, lw);
        }
    }
}
