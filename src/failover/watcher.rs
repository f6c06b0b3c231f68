//! The failover watcher loop: health checks, misses, the second channel, the lease, the read
//! pool, and handing a confirmed failure to [`crate::failover::promote`].
//!
//! Owns *when* to act. Every `check_interval` it connects to the writer and reads its variables
//! (a connect plus a query, each bounded by `check_timeout`); `max_misses` consecutive failures
//! make the writer *suspect-failed*. Before anything happens a second, independent channel must
//! agree: each candidate's own replication link to the writer (`SHOW SLAVE STATUS`: IO thread
//! running, no IO error, and an event or heartbeat received within `max_link_silence`). If any
//! candidate still hears the writer, only the watcher's path is broken: no failover, and the
//! decision is logged. Only the holder of the lease (`GET_LOCK` on the witness, freed by the
//! server when the holder's connection dies) acts; a standby keeps checking so it can take over
//! with a warm miss count. After an unplanned promotion it keeps checking the old writer and,
//! once it answers, hands it to [`reconcile`] (pending promotions are read back from the switch
//! log at start). It must not run SQL on the servers beyond what [`probe`] offers, nor fence or
//! promote by itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::Conn;

use crate::net::quote_str;
use crate::config::{Endpoint, FailoverConfig, FailoverServer};
use crate::failover::doctor;
use crate::failover::hooks::{HookOptions, SerialHooks};
use crate::failover::log::{Entry, PassiveMark, SwitchLog};
use crate::failover::probe::{self, LinkStatus, ServerVars};
use crate::failover::promote::{self, Knowledge, Request};
use crate::failover::reconcile::{self, Pending};
use crate::failover::{Check, FailoverError, FailoverState, ReaderView, SourceSwitch, StateHandle};

/// Called with every new state (e.g. to show it on `/status`).
pub type StatePublisher = Arc<dyn Fn(&FailoverState) + Send + Sync>;

/// A GET_LOCK lease on the witness server. The lock lives as long as `conn`.
struct Lease {
    witness: Option<Endpoint>,
    name: String,
    conn: Option<Conn>,
    held: bool,
}

impl Lease {
    /// Keep or take the lease; true when this watcher holds it. Without a witness, always true.
    async fn ensure(&mut self, t: Duration) -> bool {
        let Some(ep) = self.witness.clone() else { return true };
        let name = quote_str(&self.name);
        if self.held {
            if let Some(c) = self.conn.as_mut() {
                let q = format!("SELECT IS_USED_LOCK({name}) = CONNECTION_ID() AS mine");
                if let Ok(r) = probe::rows(c, &ep, &q, t).await {
                    if r.first().and_then(|r| probe::text(r, "mine")).as_deref() == Some("1") {
                        return true;
                    }
                }
            }
            tracing::warn!(witness = %ep.address(), "failover lease lost");
            self.held = false;
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = probe::connect(&ep, t).await.ok();
        }
        if let Some(c) = self.conn.as_mut() {
            match probe::rows(c, &ep, &format!("SELECT GET_LOCK({name}, 0) AS got"), t).await {
                Ok(r) => self.held = r.first().and_then(|r| probe::text(r, "got")).as_deref() == Some("1"),
                Err(_) => self.conn = None,
            }
        }
        if self.held {
            tracing::info!(witness = %ep.address(), lease = %self.name, "failover lease acquired");
        }
        self.held
    }
}

/// What the watcher tracks about one candidate's replication link to the writer.
#[derive(Debug, Clone)]
struct LinkTrack {
    last: Option<LinkStatus>,
    heard: (u64, String),
    heard_at: Instant,
    /// Seconds_Behind_Master at the last sample where both threads ran (`None`: unknown).
    lag: Option<f64>,
    reachable: bool,
    error: String,
}

/// The watcher. Build with [`Watcher::start`], run with [`Watcher::run`].
pub struct Watcher {
    cfg: FailoverConfig,
    writer: usize,
    target: Option<(Endpoint, String)>,
    state: StateHandle,
    switch: SourceSwitch,
    log: SwitchLog,
    publish: Option<StatePublisher>,
    marks: Vec<PassiveMark>,
    /// Promotions whose old writer has not come back yet (see [`reconcile`]).
    pending: Vec<Pending>,
    /// The last reconcile failure logged (logged once until it changes).
    reconcile_error: Option<String>,
    /// `on_reader_change` runs, one queue per reader.
    reader_hooks: SerialHooks,
}

fn server_by_name(cfg: &FailoverConfig, name: &str) -> Option<usize> {
    cfg.servers.iter().position(|s| s.name == name)
}

/// Which master is the writer: the one reachable master with read_only=OFF, else `cfg.writer`.
pub async fn discover_writer(cfg: &FailoverConfig) -> Result<usize, FailoverError> {
    let t = Duration::from_millis(cfg.check_timeout_ms);
    let mut writable = Vec::new();
    for (i, s) in cfg.servers.iter().enumerate().filter(|(_, s)| s.role == "master") {
        if let Ok(v) = probe::check(&s.endpoint, t).await {
            if !v.read_only {
                writable.push(i);
            }
        }
    }
    let named = cfg.writer.as_deref().and_then(|w| server_by_name(cfg, w));
    match (writable.as_slice(), named) {
        ([one], _) => Ok(*one),
        (many, Some(n)) if many.is_empty() || many.contains(&n) => Ok(n),
        ([], None) => Err(FailoverError::NoWriter("no master is reachable and writable, and failover.writer is not set".into())),
        (many, _) => Err(FailoverError::NoWriter(format!(
            "several masters are writable ({}); set failover.writer",
            many.iter().filter_map(|i| cfg.servers.get(*i)).map(|s| s.name.as_str()).collect::<Vec<_>>().join(",")
        ))),
    }
}

impl Watcher {
    /// Discover the writer and prepare. `target` (endpoint, state schema) is where the applier
    /// keeps its checkpoint and, unless `failover.witness` is set, the lease witness.
    pub async fn start(cfg: FailoverConfig, target: Option<(Endpoint, String)>) -> Result<Watcher, FailoverError> {
        let writer = discover_writer(&cfg).await?;
        let ws = cfg.servers.get(writer).ok_or_else(|| FailoverError::NoWriter("index".into()))?;
        let switch = SourceSwitch::new(ws);
        let log = SwitchLog::new(cfg.switch_log.clone());
        // The passive masters' marks: the latest from the switch log, else "now" (set at the
        // first check of each passive master).
        let entries = log.read_all().unwrap_or_default();
        let pending = reconcile::pending_from_log(&entries);
        let marks = entries.into_iter().filter_map(|e| e.new_passive).collect();
        let reader_hooks = SerialHooks::new(HookOptions::from_config(&cfg), "on_reader_change");
        Ok(Watcher { cfg, writer, target, state: StateHandle::default(), switch, log, publish: None, marks, pending, reconcile_error: None, reader_hooks })
    }

    pub fn state(&self) -> StateHandle {
        self.state.clone()
    }
    /// The writer channel the applier follows.
    pub fn switch(&self) -> SourceSwitch {
        self.switch.clone()
    }
    pub fn set_publisher(&mut self, p: StatePublisher) {
        self.publish = Some(p);
    }
    pub fn writer_name(&self) -> String {
        self.cfg.servers.get(self.writer).map(|s| s.name.clone()).unwrap_or_default()
    }

    fn set_state(&self, f: impl FnOnce(&mut FailoverState)) {
        self.state.update(f);
        if let Some(p) = &self.publish {
            p(&self.state.snapshot());
        }
    }

    fn append(&self, e: &Entry) {
        if let Err(err) = self.log.append(e) {
            tracing::error!(error = %err, "cannot write the switch log");
        }
    }

    /// Run until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) -> Result<(), FailoverError> {
        let cfg = self.cfg.clone();
        let t = Duration::from_millis(cfg.check_timeout_ms);
        let interval = Duration::from_millis(cfg.check_interval_ms);
        let witness = if cfg.lease == "witness" { cfg.witness.clone().or_else(|| self.target.as_ref().map(|(e, _)| e.clone())) } else { None };
        let mut lease = Lease { witness, name: cfg.lease_name.clone(), conn: None, held: false };

        // Doctor at start: problems go to the state and the log, they do not stop the watcher.
        let (report, _) = doctor::run(&cfg.servers, Some(&self.writer_name()), &self.marks, t).await;
        let problems = report.problems();
        for p in &problems {
            tracing::warn!(problem = %p, "dual-master check");
        }
        let writer_name = self.writer_name();
        let pending: Vec<String> = self.pending.iter().map(|p| p.old.clone()).collect();
        self.set_state(|s| {
            s.state = "starting".into();
            s.writer = Some(writer_name);
            s.doctor_problems = problems;
            s.pending_reconcile = pending;
        });

        let mut misses: u32 = 0;
        let mut first_miss: Option<Instant> = None;
        let mut last_seen: Option<ServerVars> = None;
        let mut links: HashMap<String, LinkTrack> = HashMap::new();
        let mut pool: HashMap<String, bool> = HashMap::new();
        let mut logged: Option<String> = None;
        let mut had_lease = false;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        loop {
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                _ = ticker.tick() => {}
            }
            if *shutdown.borrow() {
                return Ok(());
            }
            let active = lease.ensure(t).await;
            if active && !had_lease {
                // Taking over (or starting): the servers, not our memory, say who the writer is.
                if let Ok(w) = discover_writer(&cfg).await {
                    if w != self.writer {
                        let mut e = Entry::new("adopted_writer", "lease_acquired");
                        e.old_writer = Some(self.writer_name());
                        self.writer = w;
                        e.new_writer = Some(self.writer_name());
                        e.reasons.push("the servers show another writer than this watcher believed (a previous holder switched)".into());
                        self.append(&e);
                        if let Some(s) = cfg.servers.get(w) {
                            self.switch.switch_to(s);
                        }
                        misses = 0;
                        first_miss = None;
                        last_seen = None;
                    }
                }
            }
            had_lease = active;
            let Some(writer) = cfg.servers.get(self.writer).cloned() else { return Err(FailoverError::NoWriter("writer index".into())) };
            let others: Vec<FailoverServer> = cfg.servers.iter().filter(|s| s.name != writer.name).cloned().collect();

            // The check and the candidates' links, concurrently (one interval is the budget).
            let (check, samples) = tokio::join!(probe::check(&writer.endpoint, t), sample_links(&others, t));
            match check {
                Ok(v) => {
                    if misses > 0 {
                        tracing::info!(writer = %writer.name, misses, "writer answers again");
                    }
                    misses = 0;
                    first_miss = None;
                    logged = None;
                    last_seen = Some(v);
                }
                Err(e) => {
                    misses += 1;
                    first_miss.get_or_insert_with(Instant::now);
                    tracing::warn!(writer = %writer.name, misses, error = %e, "writer check failed");
                }
            }
            let now = Instant::now();
            for (s, sample) in others.iter().zip(samples) {
                let tr = links.entry(s.name.clone()).or_insert_with(|| LinkTrack { last: None, heard: (0, String::new()), heard_at: now, lag: None, reachable: false, error: String::new() });
                match sample {
                    Ok((vars, link)) => {
                        tr.reachable = true;
                        tr.error.clear();
                        if let Some(l) = &link {
                            let heard = (l.heartbeats, l.gtid_io_pos.to_string());
                            if heard != tr.heard {
                                tr.heard = heard;
                                tr.heard_at = now;
                            }
                            if l.io_yes() {
                                tr.lag = if l.sql_yes() { l.seconds_behind_master.map(|s| s as f64) } else { None };
                            }
                        }
                        tr.last = link;
                        // The mark of a passive master: its own-domain seq when first seen passive.
                        if s.role == "master" && !self.marks.iter().any(|m| m.name == s.name && m.domain == vars.gtid_domain_id) {
                            self.marks.push(PassiveMark { name: s.name.clone(), domain: vars.gtid_domain_id, seq: probe::seq_of(&vars.gtid_binlog_pos, vars.gtid_domain_id) });
                        }
                        // A returning old writer's excess is the loss [`reconcile`] settles, not
                        // a write on a passive master.
                        if s.role == "master" && !self.pending.iter().any(|p| p.old == s.name) {
                            if let Some(m) = self.marks.iter().rev().find(|m| m.name == s.name && m.domain == vars.gtid_domain_id) {
                                let have = probe::seq_of(&vars.gtid_binlog_pos, vars.gtid_domain_id);
                                if have > m.seq {
                                    let p = format!("dual-write hazard: {} transaction(s) written on passive {} (domain {}) since it became passive", have - m.seq, s.name, m.domain);
                                    let known = self.state.snapshot().doctor_problems.contains(&p);
                                    if !known {
                                        tracing::warn!(problem = %p, "dual-master check");
                                        self.set_state(|st| {
                                            st.doctor_problems.retain(|x| !x.starts_with("dual-write hazard: ") || !x.contains(&format!("passive {} ", s.name)));
                                            st.doctor_problems.push(p);
                                        });
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tr.reachable = false;
                        tr.error = e.to_string();
                    }
                }
            }
            let readers = self.update_pool(&others, &links, &mut pool);

            // Decide.
            let writer_gtid = last_seen.as_ref().map(|v| v.gtid_binlog_pos.to_string());
            let base = {
                let (wname, wgtid, readers, misses_now) = (writer.name.clone(), writer_gtid.clone(), readers.clone(), misses);
                move |st: &mut FailoverState, name: &str, reasons: Vec<String>| {
                    st.state = name.into();
                    st.writer = Some(wname.clone());
                    st.misses = misses_now;
                    st.lease_held = active;
                    st.reasons = reasons;
                    st.last_writer_gtid = wgtid.clone();
                    st.readers = readers.clone();
                }
            };
            if misses == 0 {
                if active {
                    self.reconcile_returned(&links).await;
                }
                self.set_state(|st| base(st, if active { "healthy" } else { "standby" }, vec![]));
                continue;
            }
            if misses < cfg.max_misses {
                self.set_state(|st| base(st, "suspect", vec![format!("{misses} consecutive failed check(s) of {}", writer.name)]));
                continue;
            }
            if !active {
                self.set_state(|st| base(st, "standby", vec![format!("writer {} failed {misses} checks; another watcher holds the lease", writer.name)]));
                continue;
            }

            // Second channel: does any candidate still hear the writer?
            let silence = Duration::from_millis(cfg.max_link_silence_ms);
            let mut votes = Vec::new();
            let mut alive_from = Vec::new();
            let mut confirmers = 0;
            for s in others.iter().filter(|s| s.role == "master") {
                let Some(tr) = links.get(&s.name) else { continue };
                if !tr.reachable {
                    votes.push(Check::warn(format!("{}.second_channel", s.name), format!("candidate unreachable: {}", tr.error)));
                    continue;
                }
                match &tr.last {
                    Some(l) if l.io_yes() && l.last_io_errno == 0 && tr.heard_at.elapsed() < silence => {
                        alive_from.push(s.name.clone());
                        votes.push(Check::fail(format!("{}.second_channel", s.name), format!("still replicating from the writer: IO thread Yes, last event/heartbeat {} ms ago", tr.heard_at.elapsed().as_millis())));
                    }
                    Some(l) => {
                        confirmers += 1;
                        votes.push(Check::ok(
                            format!("{}.second_channel", s.name),
                            format!("link to the writer is down: Slave_IO_Running={}, Last_IO_Errno={}, silent {} ms", l.io_running, l.last_io_errno, tr.heard_at.elapsed().as_millis()),
                        ));
                    }
                    None => votes.push(Check::warn(format!("{}.second_channel", s.name), "does not replicate from the writer")),
                }
            }
            let mut detection_checks = vec![Check::ok("watcher_checks", format!("{misses} consecutive failed checks of {} (max_misses {})", writer.name, cfg.max_misses))];
            detection_checks.extend(votes);
            if !alive_from.is_empty() {
                let reasons = vec![format!("only the watcher's path to {} fails: {} still replicate(s) from it", writer.name, alive_from.join(","))];
                let key = format!("no_failover:{reasons:?}");
                if logged.as_deref() != Some(&key) {
                    let mut e = Entry::new("no_failover", &format!("writer_failed_{misses}_checks"));
                    e.old_writer = Some(writer.name.clone());
                    e.checks = detection_checks;
                    e.reasons = reasons.clone();
                    e.gtid.writer_last_seen = writer_gtid.clone().unwrap_or_default();
                    self.append(&e);
                    logged = Some(key);
                }
                self.set_state(|st| base(st, "writer_unreachable_from_watcher", reasons));
                continue;
            }
            if confirmers == 0 {
                let reasons = vec![format!("writer {} failed {misses} checks but no candidate can confirm it over its own link", writer.name)];
                let key = format!("blocked:{reasons:?}");
                if logged.as_deref() != Some(&key) {
                    let mut e = Entry::new("failover_blocked", &format!("writer_failed_{misses}_checks"));
                    e.old_writer = Some(writer.name.clone());
                    e.checks = detection_checks;
                    e.reasons = reasons.clone();
                    self.append(&e);
                    logged = Some(key);
                }
                self.set_state(|st| base(st, "failover_blocked", reasons));
                continue;
            }

            // Confirmed: gate and promote.
            self.set_state(|st| base(st, "promoting", vec![]));
            let knowledge = Knowledge {
                writer_last_seen: last_seen.clone(),
                last_lag: links.iter().map(|(n, tr)| (n.clone(), tr.lag)).collect(),
                target: self.target.clone(),
            };
            let candidates: Vec<&FailoverServer> = others.iter().filter(|s| s.role == "master").collect();
            // Re-check the lease right before acting: a watcher that lost it must not promote.
            if !lease.ensure(t).await {
                self.set_state(|st| base(st, "standby", vec!["lease lost before promotion".into()]));
                had_lease = false;
                continue;
            }
            let req = Request { cfg: &cfg, old: &writer, candidates, knowledge: &knowledge, switch: Some(&self.switch), force: false, trigger: format!("writer_failed_{misses}_checks"), detection: first_miss.map(|f| f.elapsed()) };
            let (mut entry, promoted) = promote::failover(req).await;
            let mut checks = detection_checks;
            checks.append(&mut entry.checks);
            entry.checks = checks;
            match promoted {
                Some(name) => {
                    self.append(&entry);
                    if let Some(m) = entry.new_passive.clone() {
                        self.marks.push(m);
                    }
                    // The old writer may come back holding transactions nobody received.
                    self.pending.retain(|p| p.old != writer.name);
                    self.pending.push(Pending { old: writer.name.clone(), new: name.clone(), promotion_time: entry.time.clone(), estimate: entry.data_loss_estimate.clone() });
                    let pending: Vec<String> = self.pending.iter().map(|p| p.old.clone()).collect();
                    self.set_state(|st| st.pending_reconcile = pending);
                    if let Some(i) = server_by_name(&cfg, &name) {
                        self.writer = i;
                    }
                    misses = 0;
                    first_miss = None;
                    last_seen = None;
                    logged = None;
                    let new_name = name.clone();
                    self.set_state(|st| {
                        base(st, "healthy", vec![format!("promoted {new_name}")]);
                        st.writer = Some(new_name);
                        st.misses = 0;
                        st.promotions += 1;
                    });
                }
                None => {
                    let key = format!("{}:{:?}", entry.event, entry.reasons);
                    if logged.as_deref() != Some(&key) {
                        self.append(&entry);
                        logged = Some(key);
                    }
                    let reasons = entry.reasons.clone();
                    self.set_state(|st| base(st, "failover_blocked", reasons));
                }
            }
        }
    }

    /// Reconcile every pending old writer that answers again (its last sample reached it): fence
    /// it, settle the exact loss against the current writer, log a `reconcile` entry and show it
    /// on the state. Runs inside the loop (bounded by the check timeout and
    /// [`reconcile::READ_TIMEOUT`]) so no promotion can interleave with it.
    async fn reconcile_returned(&mut self, links: &HashMap<String, LinkTrack>) {
        let returned: Vec<Pending> = self.pending.iter().filter(|p| links.get(&p.old).is_some_and(|l| l.reachable)).cloned().collect();
        for p in returned {
            let Some(writer) = self.cfg.servers.get(self.writer).cloned() else { return };
            let Some(old) = self.cfg.servers.iter().find(|s| s.name == p.old).cloned() else {
                self.pending.retain(|q| q.old != p.old);
                continue;
            };
            if old.name == writer.name {
                // It is the writer again (an operator switched back): nothing to compare with.
                tracing::warn!(old = %old.name, "old writer is the writer again before it was reconciled; dropping the pending reconcile");
                self.pending.retain(|q| q.old != p.old);
                continue;
            }
            match reconcile::reconcile(&self.cfg, &old, &writer, Some(&p), "old_writer_returned").await {
                Ok(e) => {
                    self.append(&e);
                    if let Some(m) = e.new_passive.clone() {
                        self.marks.push(m);
                    }
                    self.pending.retain(|q| q.old != p.old);
                    self.reconcile_error = None;
                    let (pending, view): (Vec<String>, _) = (self.pending.iter().map(|q| q.old.clone()).collect(), reconcile::view(&e));
                    self.set_state(|st| {
                        st.pending_reconcile = pending;
                        st.last_reconcile = view;
                    });
                }
                Err(err) => {
                    let text = err.to_string();
                    if self.reconcile_error.as_deref() != Some(&text) {
                        tracing::warn!(old = %old.name, error = %text, "cannot reconcile the returned old writer yet; retrying");
                        self.reconcile_error = Some(text);
                    }
                }
            }
        }
    }

    /// Readers leave the pool at `max_reader_lag` and rejoin below `reader_rejoin_lag`
    /// (hysteresis, so a reader hovering at the limit does not flap).
    fn update_pool(&self, others: &[FailoverServer], links: &HashMap<String, LinkTrack>, pool: &mut HashMap<String, bool>) -> Vec<ReaderView> {
        let mut views = Vec::new();
        for s in others.iter().filter(|s| s.role == "reader") {
            let tr = links.get(&s.name);
            let lag = tr.filter(|t| t.reachable && t.last.as_ref().is_some_and(|l| l.io_yes() && l.sql_yes())).and_then(|t| t.lag);
            let was = pool.get(&s.name).copied();
            let now_in = in_pool(was, lag, self.cfg.max_reader_lag_s, self.cfg.reader_rejoin_lag_s);
            let reason = match lag {
                None => "lag unknown (unreachable or replication stopped)".to_string(),
                Some(l) if now_in => format!("lag {l:.0} s"),
                Some(l) => format!("lag {l:.0} s (out at >= {:.0} s, back below {:.0} s)", self.cfg.max_reader_lag_s, self.cfg.reader_rejoin_lag_s),
            };
            if was != Some(now_in) {
                pool.insert(s.name.clone(), now_in);
                if was.is_some() || !now_in {
                    tracing::info!(reader = %s.name, in_pool = now_in, %reason, "read pool change");
                    let env = vec![
                        ("READER".to_string(), s.endpoint.address()),
                        ("READER_NAME".to_string(), s.name.clone()),
                        ("READER_STATE".to_string(), if now_in { "in" } else { "out" }.to_string()),
                        ("READER_LAG".to_string(), lag.map(|l| format!("{l:.0}")).unwrap_or_default()),
                    ];
                    // Hooks must not delay the writer checks, and one reader's runs must not
                    // overtake each other (a load balancer would end with the older state).
                    if !self.cfg.on_reader_change.is_empty() {
                        drop(self.reader_hooks.submit(&s.name, self.cfg.on_reader_change.clone(), env));
                    }
                }
            }
            views.push(ReaderView { name: s.name.clone(), address: s.endpoint.address(), in_pool: now_in, lag_seconds: lag, reason });
        }
        views
    }
}

/// Read-pool membership with hysteresis: a member leaves at `max_lag` or when its lag is
/// unknown; an outsider rejoins only below `rejoin_lag`; a new reader starts in when below
/// `max_lag`.
pub fn in_pool(was: Option<bool>, lag: Option<f64>, max_lag: f64, rejoin_lag: f64) -> bool {
    match (was, lag) {
        (_, None) => false,
        (Some(false), Some(l)) => l < rejoin_lag,
        (Some(true) | None, Some(l)) => l < max_lag,
    }
}

/// Variables and replication link of every other server, concurrently.
async fn sample_links(servers: &[FailoverServer], t: Duration) -> Vec<Result<(ServerVars, Option<LinkStatus>), probe::ProbeError>> {
    let futs = servers.iter().map(|s| async move {
        let mut c = probe::connect(&s.endpoint, t).await?;
        let vars = probe::server_vars(&mut c, &s.endpoint, t).await;
        let link = probe::link_status(&mut c, &s.endpoint, t).await;
        let _ = tokio::time::timeout(t, c.disconnect()).await;
        Ok((vars?, link?))
    });
    futures_util::future::join_all(futs).await
}

/// `parapply failover promote --to X [--force]` (one shot, no loop): gate X against what can be
/// read now and promote it. The old writer's position is read if it answers.
pub async fn promote_once(cfg: &FailoverConfig, to: &str, force: bool, target: Option<(Endpoint, String)>, switch: Option<&SourceSwitch>) -> Result<Entry, FailoverError> {
    let t = Duration::from_millis(cfg.check_timeout_ms);
    let ci = server_by_name(cfg, to).ok_or_else(|| FailoverError::UnknownServer(to.into()))?;
    let cand = cfg.servers.get(ci).ok_or_else(|| FailoverError::UnknownServer(to.into()))?;
    let wi = match discover_writer(cfg).await {
        Ok(w) => w,
        Err(_) => cfg.servers.iter().position(|s| s.role == "master" && s.name != to).ok_or_else(|| FailoverError::NoWriter("no other master".into()))?,
    };
    let old = cfg.servers.get(wi).ok_or_else(|| FailoverError::NoWriter("index".into()))?;
    if old.name == cand.name {
        return Err(FailoverError::Other(format!("{to} already is the writer")));
    }
    let writer_last_seen = probe::check(&old.endpoint, t).await.ok();
    let lag = match probe::connect(&cand.endpoint, t).await {
        Ok(mut c) => {
            let l = probe::link_status(&mut c, &cand.endpoint, t).await.ok().flatten();
            let _ = tokio::time::timeout(t, c.disconnect()).await;
            // With the writer down the link has no lag figure: use 0 only when nothing is pending.
            l.and_then(|l| if l.io_yes() && l.sql_yes() { l.seconds_behind_master.map(|s| s as f64) } else if l.sql_yes() { Some(0.0) } else { None })
        }
        Err(_) => None,
    };
    let knowledge = Knowledge { writer_last_seen, last_lag: [(cand.name.clone(), lag)].into_iter().collect(), target };
    let req = Request { cfg, old, candidates: vec![cand], knowledge: &knowledge, switch, force, trigger: "operator".into(), detection: None };
    let (entry, _) = promote::failover(req).await;
    SwitchLog::new(cfg.switch_log.clone()).append(&entry)?;
    Ok(entry)
}

/// `parapply failover reconcile --old A [--new B]` (one shot): settle what the returned old
/// writer `old` holds that `new` never received, and append the `reconcile` entry. `new`
/// defaults to the writer that replaced `old` in the last unreconciled promotion of the switch
/// log (whose estimate the entry compares with).
pub async fn reconcile_once(cfg: &FailoverConfig, old: &str, new: Option<&str>) -> Result<Entry, FailoverError> {
    let log = SwitchLog::new(cfg.switch_log.clone());
    let pending = reconcile::pending_from_log(&log.read_all()?).into_iter().find(|p| p.old == old);
    let new = match (new, &pending) {
        (Some(n), _) => n.to_string(),
        (None, Some(p)) => p.new.clone(),
        (None, None) => return Err(FailoverError::Other(format!("the switch log has no unreconciled promotion away from {old}: name the new writer with --new"))),
    };
    let old_s = cfg.servers.iter().find(|s| s.name == old).ok_or_else(|| FailoverError::UnknownServer(old.into()))?;
    let new_s = cfg.servers.iter().find(|s| s.name == new).ok_or_else(|| FailoverError::UnknownServer(new.clone()))?;
    if old_s.name == new_s.name {
        return Err(FailoverError::Other(format!("--old and --new are both {old}")));
    }
    let entry = reconcile::reconcile(cfg, old_s, new_s, pending.as_ref(), "operator").await?;
    log.append(&entry)?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::in_pool;

    #[test]
    fn read_pool_hysteresis() {
        // Joining: below max.
        assert!(in_pool(None, Some(9.0), 10.0, 5.0));
        assert!(!in_pool(None, Some(10.0), 10.0, 5.0));
        // A member stays in between rejoin and max, leaves at max.
        assert!(in_pool(Some(true), Some(7.0), 10.0, 5.0));
        assert!(!in_pool(Some(true), Some(10.0), 10.0, 5.0));
        // An outsider stays out between rejoin and max, rejoins below rejoin.
        assert!(!in_pool(Some(false), Some(7.0), 10.0, 5.0));
        assert!(in_pool(Some(false), Some(4.0), 10.0, 5.0));
        // Unknown lag is out.
        assert!(!in_pool(Some(true), None, 10.0, 5.0));
    }
}
