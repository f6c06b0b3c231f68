//! Offline what-if for `parapply analyze`: per mode, the dependency graph's critical path, the
//! ideal and simulated speedups, barriers and hottest keys — computed with the same
//! [`DependencyRule`]s and [`SchedulerCore`] the dispatcher runs, so the numbers describe the
//! real scheduler, not a model of it.
//!
//! Owns the simulation and the report types. It must not read files or print (that is
//! `crate::commands::analyze`).
//!
//! Definitions (all per mode):
//! - **critical path**: the longest dependency chain, in transactions and in cost (cost model
//!   `rows`: a transaction costs max(1, row changes); `uniform`: 1).
//! - **ideal speedup**: transactions / critical path (and total cost / critical cost): what
//!   unlimited workers with no overhead could reach.
//! - **simulated speedup**: total cost / makespan of a discrete-event simulation with N workers,
//!   the mode's rule, the dispatcher's window and (when on) commit order: a worker that finished
//!   executing holds on until every earlier transaction has committed, exactly like a worker in
//!   `wait_turn`.
//! - **schedule efficiency**: simulated speedup / min(N, ideal cost speedup): 1.0 means the
//!   scheduler lost nothing to the window, commit order or its release policy.
//! - **ready at once**: the dependency graph cut into levels (level = length of the longest
//!   chain ending at a transaction); the histogram counts levels by how many transactions they
//!   hold, i.e. how many transactions were ready to run together.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use super::catalog::KeyCatalog;
use super::core::SchedulerCore;
use super::keys::{KeyExtractor, KeyLabel, TxnFacts};
use super::stats::SchedulerStats;
use super::{rule_for, BarrierReason, Plan};
use crate::schedule::mode::{CostModel, Mode};
use crate::txn::Transaction;

/// What to analyse.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    pub modes: Vec<Mode>,
    /// Workers in the simulation (at least 1).
    pub workers: usize,
    pub cost: CostModel,
    /// Keep key values in the hottest-keys list.
    pub show_values: bool,
    /// Dispatcher window in the simulation (default 1024, as in the config).
    pub window: usize,
    pub preserve_commit_order: bool,
    pub writeset_limit: usize,
    /// How many hottest keys to report.
    pub hot_keys: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            modes: Mode::ALL.to_vec(),
            workers: 16,
            cost: CostModel::Rows,
            show_values: false,
            window: 1024,
            preserve_commit_order: true,
            writeset_limit: 10_000,
            hot_keys: 10,
        }
    }
}

/// One bucket of the ready-at-once histogram: `levels` levels held between `min` and `max`
/// transactions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadyBucket {
    pub min: u64,
    pub max: u64,
    pub levels: u64,
}

/// The analysis of one mode.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModeReport {
    pub mode: Mode,
    pub transactions: u64,
    pub total_cost: u64,
    pub critical_path_txns: u64,
    pub critical_path_cost: u64,
    pub ideal_speedup: f64,
    pub ideal_speedup_cost: f64,
    pub workers: usize,
    pub simulated_makespan: u64,
    pub simulated_speedup: f64,
    pub schedule_efficiency: f64,
    pub ready_at_once: Vec<ReadyBucket>,
    pub barriers: Vec<(BarrierReason, u64)>,
}

/// A frequently touched key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HotKey {
    pub table: String,
    pub index: String,
    /// Values, or `(?)` per column unless `show_values`.
    pub values: String,
    /// The first 8 hex digits of the key's writeset hash (xxh3 of index and normalised values):
    /// tells keys apart when values are hidden, without printing them. It is a label, not a
    /// secret: a low-entropy key (a small integer id) can be found by hashing candidates.
    pub key_hash: String,
    /// Transactions touching it.
    pub transactions: u64,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AnalyzeReport {
    pub transactions: u64,
    pub rows: u64,
    pub cost_model: &'static str,
    pub workers: usize,
    pub modes: Vec<ModeReport>,
    /// From the writeset key extraction (empty when no writeset mode was analysed).
    pub hottest_keys: Vec<HotKey>,
    /// Where key layouts came from: `table_map` (primary keys only) or the server named by
    /// `information_schema <host:port>`. Set by the caller that chose the catalog.
    pub key_source: String,
}

/// Collects transactions, then analyses every requested mode.
pub struct Analyzer {
    opts: AnalyzeOptions,
    extractor: KeyExtractor,
    with_keys: bool,
    facts: Vec<TxnFacts>,
    key_heat: HashMap<u64, u64>,
    labels: HashMap<u64, KeyLabel>,
    label_scratch: Vec<KeyLabel>,
}

impl Analyzer {
    pub fn new(opts: AnalyzeOptions, catalog: Arc<dyn KeyCatalog>) -> Self {
        let with_keys = opts.modes.iter().any(|m| matches!(m, Mode::Writeset | Mode::WritesetSession));
        let extractor = KeyExtractor::new(catalog, opts.writeset_limit);
        Analyzer { opts, extractor, with_keys, facts: Vec::new(), key_heat: HashMap::new(), labels: HashMap::new(), label_scratch: Vec::new() }
    }

    /// Add the next transaction in source order.
    pub fn add(&mut self, txn: &Transaction) {
        let mut f = TxnFacts::default();
        self.extractor.facts_into(txn, self.with_keys, &mut f, None);
        let mut need_labels = false;
        for k in &f.keys {
            let heat = self.key_heat.entry(*k).or_insert(0);
            *heat += 1;
            // Labels are kept only for keys that repeat (or the first few): hot keys are among
            // them, and memory stays proportional to the keys that matter.
            if (*heat >= 2 || self.labels.len() < self.opts.hot_keys) && !self.labels.contains_key(k) {
                need_labels = true;
            }
        }
        if need_labels {
            self.label_scratch.clear();
            let mut again = TxnFacts::default();
            self.extractor.facts_into(txn, true, &mut again, Some((&mut self.label_scratch, self.opts.show_values)));
            for l in self.label_scratch.drain(..) {
                self.labels.entry(l.hash).or_insert(l);
            }
        }
        self.facts.push(f);
    }

    /// Add facts directly (synthetic inputs, benches).
    pub fn add_facts(&mut self, f: TxnFacts) {
        for k in &f.keys {
            *self.key_heat.entry(*k).or_insert(0) += 1;
        }
        self.facts.push(f);
    }

    pub fn finish(&self) -> AnalyzeReport {
        let costs: Vec<u64> = self
            .facts
            .iter()
            .map(|f| match self.opts.cost {
                CostModel::Uniform => 1,
                CostModel::Rows => f.rows.max(1),
            })
            .collect();
        let modes = self.opts.modes.iter().map(|&m| self.analyse_mode(m, &costs)).collect();
        let mut hot: Vec<(u64, u64)> = self.key_heat.iter().map(|(k, n)| (*k, *n)).collect();
        hot.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let hottest_keys = if self.with_keys {
            hot.iter()
                .take(self.opts.hot_keys)
                .map(|(k, n)| {
                    let label = self.labels.get(k);
                    let index = label.map(|l| l.index.clone()).unwrap_or_else(|| format!("key {k:016x}"));
                    let redacted = {
                        let cols = index.split('(').nth(1).map(|c| c.trim_end_matches(')').split(',').count()).unwrap_or(1);
                        format!("({})", vec!["?"; cols].join(","))
                    };
                    HotKey {
                        table: label.map(|l| l.table.clone()).unwrap_or_default(),
                        index,
                        values: label.and_then(|l| l.values.clone()).filter(|_| self.opts.show_values).unwrap_or(redacted),
                        key_hash: format!("{:08x}", k >> 32),
                        transactions: *n,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        AnalyzeReport {
            transactions: self.facts.len() as u64,
            rows: self.facts.iter().map(|f| f.rows).sum(),
            cost_model: match self.opts.cost {
                CostModel::Rows => "rows",
                CostModel::Uniform => "uniform",
            },
            workers: self.opts.workers.max(1),
            modes,
            hottest_keys,
            key_source: "table_map".into(),
        }
    }

    fn analyse_mode(&self, mode: Mode, costs: &[u64]) -> ModeReport {
        let n = self.facts.len();
        let graph = critical_path(mode, &self.facts, costs);
        let total_cost: u64 = costs.iter().sum();
        let workers = self.opts.workers.max(1);
        let makespan = simulate(mode, &self.facts, costs, workers, self.opts.window.max(workers), self.opts.preserve_commit_order);
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let ideal_cost = ratio(total_cost, graph.critical_cost);
        let simulated = ratio(total_cost, makespan);
        let bound = ideal_cost.min(workers as f64);
        ModeReport {
            mode,
            transactions: n as u64,
            total_cost,
            critical_path_txns: graph.critical_txns,
            critical_path_cost: graph.critical_cost,
            ideal_speedup: ratio(n as u64, graph.critical_txns),
            ideal_speedup_cost: ideal_cost,
            workers,
            simulated_makespan: makespan,
            simulated_speedup: simulated,
            schedule_efficiency: if bound > 0.0 { simulated / bound } else { 0.0 },
            ready_at_once: graph.ready_at_once,
            barriers: graph.barriers,
        }
    }
}

/// Critical path and level widths of one mode's dependency graph.
pub struct GraphSummary {
    pub critical_txns: u64,
    pub critical_cost: u64,
    pub ready_at_once: Vec<ReadyBucket>,
    pub barriers: Vec<(BarrierReason, u64)>,
}

/// Longest chains of `mode`'s dependency graph over `facts` (every transaction admitted before
/// any finishes, i.e. unlimited window, as the definition of the graph requires).
pub fn critical_path(mode: Mode, facts: &[TxnFacts], costs: &[u64]) -> GraphSummary {
    let mut rule = rule_for(mode);
    let n = facts.len();
    // depth[i]: transactions on the longest chain ending at i; finish[i]: its cost.
    let mut depth = vec![0u64; n];
    let mut finish = vec![0u64; n];
    // Prefix maxima: best over every j < i, for "wait for everything before" dependencies.
    let mut prefix_depth = vec![0u64; n + 1];
    let mut prefix_finish = vec![0u64; n + 1];
    let mut last_barrier: Option<usize> = None;
    let mut barriers: HashMap<BarrierReason, u64> = HashMap::new();
    let mut plan = Plan::default();
    for (i, f) in facts.iter().enumerate() {
        plan.clear();
        rule.plan(i as u64, f, 0, &mut plan);
        if f.xa {
            // As the dispatcher does (see `SchedulerCore::admit`).
            plan.barrier = Some(BarrierReason::Xa);
        }
        let (mut d, mut c) = (0u64, 0u64);
        let before = if plan.barrier.is_some() { i } else { (plan.wait_all_before as usize).min(i) };
        d = d.max(prefix_depth[before]);
        c = c.max(prefix_finish[before]);
        if plan.barrier.is_none() {
            if let Some(b) = last_barrier {
                d = d.max(depth[b]);
                c = c.max(finish[b]);
            }
        }
        for &a in &plan.after {
            if let Some(&ad) = depth.get(a as usize).filter(|_| (a as usize) < i) {
                d = d.max(ad);
                c = c.max(finish[a as usize]);
            }
        }
        if let Some(r) = plan.barrier {
            *barriers.entry(r).or_insert(0) += 1;
            last_barrier = Some(i);
        }
        depth[i] = d + 1;
        finish[i] = c + costs.get(i).copied().unwrap_or(1);
        prefix_depth[i + 1] = prefix_depth[i].max(depth[i]);
        prefix_finish[i + 1] = prefix_finish[i].max(finish[i]);
    }
    let critical_txns = prefix_depth[n];
    let critical_cost = prefix_finish[n];
    let mut width = vec![0u64; critical_txns as usize + 1];
    for &d in &depth {
        width[d as usize] += 1;
    }
    let mut buckets: Vec<ReadyBucket> = Vec::new();
    for &w in width.iter().skip(1) {
        // Power-of-two buckets: 1, 2-3, 4-7, 8-15, ...
        let lo = if w == 0 { 0 } else { 1u64 << (63 - w.leading_zeros()) };
        let hi = if lo == 0 { 0 } else { lo * 2 - 1 };
        match buckets.iter_mut().find(|b| b.min == lo) {
            Some(b) => b.levels += 1,
            None => buckets.push(ReadyBucket { min: lo, max: hi, levels: 1 }),
        }
    }
    buckets.sort_by_key(|b| b.min);
    let mut barriers: Vec<(BarrierReason, u64)> = barriers.into_iter().collect();
    barriers.sort();
    GraphSummary { critical_txns, critical_cost, ready_at_once: buckets, barriers }
}

/// Makespan of running `facts` through the real [`SchedulerCore`] with `workers` workers.
pub fn simulate(mode: Mode, facts: &[TxnFacts], costs: &[u64], workers: usize, window: usize, preserve_commit_order: bool) -> u64 {
    let mut core = SchedulerCore::new(rule_for(mode), window, preserve_commit_order, Arc::new(SchedulerStats::default()));
    let mut next_input = 0usize;
    let mut idle = workers.max(1);
    let mut now = 0u64;
    // (finish time, seq) of executing transactions.
    let mut running: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    // With commit order: executed but waiting for their turn (the worker stays busy).
    let mut executed: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    let mut next_commit = 0u64;
    let mut queue: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    loop {
        while next_input < facts.len() && core.has_room() {
            core.admit(&facts[next_input]);
            next_input += 1;
        }
        while let Some(s) = core.pop_released() {
            queue.push_back(s);
        }
        while idle > 0 {
            let Some(s) = queue.pop_front() else { break };
            idle -= 1;
            running.push(Reverse((now + costs.get(s as usize).copied().unwrap_or(1), s)));
        }
        let Some(Reverse((t, _))) = running.peek().copied() else {
            if next_input >= facts.len() && queue.is_empty() {
                return now;
            }
            // Nothing running yet input remains: only possible with zero workers; stop.
            return now;
        };
        now = t;
        // Every execution finishing at `now`.
        while let Some(Reverse((t, s))) = running.peek().copied() {
            if t != now {
                break;
            }
            running.pop();
            if preserve_commit_order {
                executed.insert(s);
            } else {
                let _ = core.complete(s);
                idle += 1;
            }
        }
        if preserve_commit_order {
            while executed.remove(&next_commit) {
                let _ = core.complete(next_commit);
                next_commit += 1;
                idle += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::CommitDeps;

    /// `n` transactions in MySQL commit groups of `width`, each touching its own key.
    fn groups(n: u64, width: u64) -> Vec<TxnFacts> {
        (0..n)
            .map(|i| TxnFacts {
                deps: CommitDeps::LogicalClock { last_committed: ((i / width) * width) as i64, sequence_number: i as i64 + 1 },
                keys: vec![i * 7919 + 1],
                rows: 1,
                ..Default::default()
            })
            .collect()
    }

    fn analyze(facts: Vec<TxnFacts>, workers: usize) -> AnalyzeReport {
        let mut a = Analyzer::new(AnalyzeOptions { workers, cost: CostModel::Uniform, ..Default::default() }, Arc::new(super::super::StaticCatalog::new()));
        for f in facts {
            a.add_facts(f);
        }
        a.finish()
    }

    #[test]
    fn group_width_8_over_800_disjoint() {
        let r = analyze(groups(800, 8), 16);
        let by = |m: Mode| r.modes.iter().find(|x| x.mode == m).unwrap().clone();
        let serial = by(Mode::Serial);
        assert_eq!((serial.critical_path_txns, serial.simulated_makespan), (800, 800));
        assert_eq!(serial.ideal_speedup, 1.0);
        assert_eq!(serial.ready_at_once, vec![ReadyBucket { min: 1, max: 1, levels: 800 }]);
        let lc = by(Mode::LogicalClock);
        assert_eq!(lc.critical_path_txns, 100);
        assert_eq!(lc.ideal_speedup, 8.0);
        assert_eq!(lc.ready_at_once, vec![ReadyBucket { min: 8, max: 15, levels: 100 }]);
        // 16 workers, groups of 8: each group takes one time unit.
        assert_eq!(lc.simulated_makespan, 100);
        assert_eq!(lc.schedule_efficiency, 1.0);
        let ws = by(Mode::Writeset);
        assert_eq!(ws.critical_path_txns, 1);
        assert_eq!(ws.ideal_speedup, 800.0);
        assert_eq!(ws.simulated_makespan, 50);
        assert_eq!(ws.simulated_speedup, 16.0);
        assert_eq!(ws.schedule_efficiency, 1.0);
        assert!(ws.barriers.is_empty());
        assert_eq!(by(Mode::WritesetSession).critical_path_txns, 1);
    }

    #[test]
    fn shared_keys_chain_and_barriers_split() {
        // 10 txns: 0..5 share key 1, 5 is a barrier, 6..10 disjoint.
        let mut facts: Vec<TxnFacts> = (0..10).map(|i| TxnFacts::with_keys(vec![if i < 5 { 1 } else { 100 + i }])).collect();
        facts[5].key_barrier = Some(BarrierReason::NoKey);
        let g = critical_path(Mode::Writeset, &facts, &[1; 10]);
        // Chain 0-1-2-3-4 (5), barrier (6), then one level of 4.
        assert_eq!(g.critical_txns, 7);
        assert_eq!(g.barriers, vec![(BarrierReason::NoKey, 1)]);
        assert_eq!(simulate(Mode::Writeset, &facts, &[1; 10], 4, 64, true), 7);
        // Session ordering adds a chain through thread 1.
        for (i, f) in facts.iter_mut().enumerate() {
            f.thread_id = Some(if i >= 6 { 1 } else { 2 });
        }
        assert_eq!(critical_path(Mode::WritesetSession, &facts, &[1; 10]).critical_txns, 10);
    }

    #[test]
    fn cost_weighted_critical_path() {
        // Two independent chains: key 1 with costs 5+5, key 2 with cost 3.
        let facts = vec![TxnFacts::with_keys(vec![1]), TxnFacts::with_keys(vec![2]), TxnFacts::with_keys(vec![1])];
        let g = critical_path(Mode::Writeset, &facts, &[5, 3, 5]);
        assert_eq!((g.critical_txns, g.critical_cost), (2, 10));
        // Commit order: txn 1 (cost 3) must wait for txn 0 (5) to commit, its worker held.
        assert_eq!(simulate(Mode::Writeset, &facts, &[5, 3, 5], 2, 64, true), 10);
        assert_eq!(simulate(Mode::Writeset, &facts, &[5, 3, 5], 1, 64, true), 13);
    }
}
