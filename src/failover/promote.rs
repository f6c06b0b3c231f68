//! The promotion gate and the promotion itself (DESIGN rule 6).
//!
//! Owns deciding whether a candidate may become the writer ([`evaluate`]: relay log applied,
//! lag under `max_promote_lag`, no errant transactions, dual-master settings) and the timed
//! steps of a switch ([`failover`] for an unplanned one, [`switchover`] for a planned one):
//! fence the old writer where reachable (`read_only=ON`, then KILL its client connections), wait
//! for the candidate's relay log (bounded), STOP SLAVE on it (unplanned only), `read_only=OFF`,
//! the `on_promote` hooks (run by [`crate::failover::hooks`]), and re-pointing the applier through
//! [`SourceSwitch`]. Every outcome becomes one [`Entry`] for the switch log; writing it is the
//! caller's job. It must not decide *when* to fail over (that is [`crate::failover::watcher`]).
//!
//! # Data-loss estimate
//! The writer's last known position is the per-domain maximum of what the watcher last read from
//! it (`gtid_binlog_pos`, at most one check interval old) and what the applier durably applied on
//! the target (its checkpoint, streamed from the writer). Transactions in the writer's domain
//! beyond what the candidate received are the estimate. The applier's watermark is what makes the
//! estimate catch transactions committed after the watcher's last check.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use mysql_async::Conn;

use crate::apply::checkpoint::CheckpointStore;
use crate::config::{Endpoint, FailoverConfig, FailoverServer};
use crate::failover::doctor;
pub use crate::failover::hooks::run_hooks;
use crate::failover::hooks::HookOptions;
use crate::failover::log::{DataLoss, Entry, PassiveMark, Positions, Step};
use crate::failover::probe::{self, LinkStatus, ServerVars};
use crate::failover::{Check, SourceSwitch};
use crate::source::gtid::MariadbGtidPos;

/// Why a read of the gate or a timed step of a switch failed; the step's detail in the switch
/// log is its text. [`StepError::is_transient`] tells an unreachable or refusing server (the
/// next check may pass) from a step that ran and did not reach its goal.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// Connect, a statement or a read timed out or was refused; names the server.
    #[error(transparent)]
    Probe(#[from] probe::ProbeError),
    /// The target answered but its checkpoint could not be read.
    #[error("{0}")]
    Checkpoint(String),
    #[error("checkpoint read timed out")]
    CheckpointTimeout,
    /// The candidate did not apply what it must within the bound.
    #[error("{left} transaction(s) still not applied after {timeout_ms} ms (applied {applied}, target {target})")]
    NotApplied { left: u64, timeout_ms: u128, applied: MariadbGtidPos, target: MariadbGtidPos },
}

impl StepError {
    /// True when the server could not be reached or did not answer in time: the same step may
    /// pass on the next attempt. False when it ran and did not reach its goal.
    pub fn is_transient(&self) -> bool {
        matches!(self, StepError::Probe(_) | StepError::CheckpointTimeout)
    }
}

/// What the watcher knows when it asks for a promotion.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// The old writer's variables at the last successful check.
    pub writer_last_seen: Option<ServerVars>,
    /// Per candidate name: the last Seconds_Behind_Master read while its link to the writer ran.
    pub last_lag: HashMap<String, Option<f64>>,
    /// Where the applier keeps its checkpoint: target endpoint and state schema.
    pub target: Option<(Endpoint, String)>,
}

/// One promotion request.
pub struct Request<'a> {
    pub cfg: &'a FailoverConfig,
    pub old: &'a FailoverServer,
    /// Candidates to consider (one for `--to`).
    pub candidates: Vec<&'a FailoverServer>,
    pub knowledge: &'a Knowledge,
    pub switch: Option<&'a SourceSwitch>,
    /// Promote even when the gate fails (operator override).
    pub force: bool,
    pub trigger: String,
    /// From the first failed check to now.
    pub detection: Option<Duration>,
}

/// A candidate as the gate saw it.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub name: String,
    pub priority: i32,
    pub checks: Vec<Check>,
    pub vars: Option<ServerVars>,
    pub link: Option<LinkStatus>,
    /// Seq received in the writer's domain (the "most advanced" tie-break).
    pub advanced: u64,
}

impl Evaluation {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }
    pub fn reasons(&self) -> Vec<String> {
        self.checks.iter().filter(|c| !c.passed()).map(|c| format!("{}: {}: {}", self.name, c.name, c.detail)).collect()
    }
}

fn timeout_of(cfg: &FailoverConfig) -> Duration {
    Duration::from_millis(cfg.check_timeout_ms.max(200))
}

/// The writer's own domain(s): the domain it reported, else every domain but the candidate's.
fn writer_domain(k: &Knowledge) -> Option<u32> {
    k.writer_last_seen.as_ref().map(|v| v.gtid_domain_id)
}

/// Run the gate on one candidate. Never changes the server.
pub async fn evaluate(cfg: &FailoverConfig, cand: &FailoverServer, k: &Knowledge) -> Evaluation {
    let t = timeout_of(cfg);
    let mut ev = Evaluation { name: cand.name.clone(), priority: cand.priority, checks: Vec::new(), vars: None, link: None, advanced: 0 };
    let mut conn = match probe::connect(&cand.endpoint, t).await {
        Ok(c) => c,
        Err(e) => {
            ev.checks.push(Check::fail("reachable", e.to_string()));
            return ev;
        }
    };
    let vars = match probe::server_vars(&mut conn, &cand.endpoint, t).await {
        Ok(v) => v,
        Err(e) => {
            ev.checks.push(Check::fail("reachable", e.to_string()));
            return ev;
        }
    };
    ev.checks.push(Check::ok("reachable", vars.version.clone()));
    let link = probe::link_status(&mut conn, &cand.endpoint, t).await;
    let _ = tokio::time::timeout(t, conn.disconnect()).await;
    let own = vars.gtid_domain_id;
    let wdom = writer_domain(k);

    // 1. Relay log: everything received must be applied, or at least be applying.
    match &link {
        Ok(Some(l)) => {
            let backlog = probe::relay_backlog(&l.gtid_io_pos, &vars.gtid_slave_pos, own);
            ev.advanced = wdom.map(|d| probe::seq_of(&l.gtid_io_pos, d).max(probe::seq_of(&vars.gtid_slave_pos, d))).unwrap_or(0);
            if backlog == 0 {
                ev.checks.push(Check::ok("relay_applied", format!("received {} = applied", l.gtid_io_pos)));
            } else if l.sql_yes() {
                ev.checks.push(Check::warn("relay_applied", format!("{backlog} transaction(s) received and still applying (SQL thread running); promotion waits up to {} ms", cfg.relay_apply_timeout_ms)));
            } else {
                ev.checks.push(Check::fail("relay_applied", format!("{backlog} received transaction(s) not applied and the SQL thread is not running (Slave_SQL_Running={}, Last_SQL_Errno={})", l.sql_running, l.last_sql_errno)));
            }
        }
        Ok(None) => ev.checks.push(Check::fail("relay_applied", "the candidate does not replicate from anyone (no SHOW SLAVE STATUS row)")),
        Err(e) => ev.checks.push(Check::fail("relay_applied", e.to_string())),
    }

    // 2. Lag: the last Seconds_Behind_Master seen while the link ran (the link is down now).
    let lag = k.last_lag.get(&cand.name).copied().flatten();
    match lag {
        Some(l) if l < cfg.max_promote_lag_s => ev.checks.push(Check::ok("lag", format!("{l:.0} s < max_promote_lag {:.0} s", cfg.max_promote_lag_s))),
        Some(l) => ev.checks.push(Check::fail("lag", format!("{l:.0} s >= max_promote_lag {:.0} s", cfg.max_promote_lag_s))),
        None => ev.checks.push(Check::fail("lag", "unknown: no Seconds_Behind_Master seen while the candidate's SQL and IO threads ran")),
    }

    // 3. Errant transactions: GTIDs in the candidate's own domain the writer never had.
    match &k.writer_last_seen {
        Some(w) => {
            let errant = vars.gtid_binlog_pos.beyond(&w.gtid_binlog_pos);
            let in_own: Vec<String> = errant.iter().filter(|(d, _, _)| *d == own).map(|(d, s, q)| format!("{d}-{s}-{q} (writer had seq {})", probe::seq_of(&w.gtid_binlog_pos, d))).collect();
            if in_own.is_empty() {
                ev.checks.push(Check::ok("no_errant_transactions", format!("domain {own}: candidate seq {} <= writer's {}", probe::seq_of(&vars.gtid_binlog_pos, own), probe::seq_of(&w.gtid_binlog_pos, own))));
            } else {
                ev.checks.push(Check::fail("no_errant_transactions", format!("candidate holds transactions in its own domain the writer never had, up to {}", in_own.join(","))));
            }
        }
        None => ev.checks.push(Check::fail("no_errant_transactions", "the writer's position was never read, errant transactions cannot be ruled out")),
    }

    // 4. Dual-master settings of the candidate, and identity distinct from the old writer.
    ev.checks.extend(doctor::server_checks(&cand.name, &vars).into_iter().map(|mut c| {
        c.name = format!("config.{}", c.name);
        c
    }));
    if let Some(w) = &k.writer_last_seen {
        if w.server_id == vars.server_id || w.gtid_domain_id == vars.gtid_domain_id {
            ev.checks.push(Check::fail("config.distinct_ids", format!("server_id {} / domain {} equal the writer's", vars.server_id, vars.gtid_domain_id)));
        }
    }
    ev.vars = Some(vars);
    ev.link = link.ok().flatten();
    ev
}

/// Pick among evaluated candidates: those that pass, by priority then most advanced.
pub fn choose(evals: &[Evaluation]) -> Option<usize> {
    let mut ok: Vec<(usize, &Evaluation)> = evals.iter().enumerate().filter(|(_, e)| e.passed()).collect();
    ok.sort_by(|a, b| b.1.priority.cmp(&a.1.priority).then(b.1.advanced.cmp(&a.1.advanced)));
    ok.first().map(|(i, _)| *i)
}

/// The applier's durable applied position on the target (MariaDB streams only).
pub async fn target_applied(target: &Endpoint, schema: &str, timeout: Duration) -> Result<MariadbGtidPos, StepError> {
    let mut conn = probe::connect(target, timeout).await?;
    let set = tokio::time::timeout(timeout, CheckpointStore::new(schema).load(&mut conn)).await;
    let _ = tokio::time::timeout(timeout, conn.disconnect()).await;
    let set = set.map_err(|_| StepError::CheckpointTimeout)?.map_err(|e| StepError::Checkpoint(e.to_string()))?;
    let text = set.position();
    Ok(text.split(',').filter_map(|p| MariadbGtidPos::parse(p).ok()).fold(MariadbGtidPos::new(), |acc, p| probe::max_pos(&acc, &p)))
}

/// Data-loss estimate: per domain other than the candidate's own, writer's last known seq minus
/// the seq the candidate received.
pub fn data_loss(last_known: &MariadbGtidPos, received: &MariadbGtidPos, candidate_domain: u32, basis: &str) -> DataLoss {
    let mut per_domain = BTreeMap::new();
    for (d, _, seq) in last_known.iter().filter(|(d, _, _)| *d != candidate_domain) {
        let missing = seq.saturating_sub(probe::seq_of(received, d));
        if missing > 0 {
            per_domain.insert(d, missing);
        }
    }
    DataLoss { transactions: per_domain.values().sum(), per_domain, basis: basis.into() }
}

struct Timer(Instant);
impl Timer {
    fn start() -> Timer {
        Timer(Instant::now())
    }
    fn step(&self, name: &str, result: &str, detail: impl Into<String>) -> Step {
        Step { name: name.into(), result: result.into(), ms: self.0.elapsed().as_secs_f64() * 1000.0, detail: detail.into() }
    }
}

/// Fence: `read_only=ON`, then KILL every client connection. `Err` when unreachable.
async fn fence(ep: &Endpoint, t: Duration) -> Result<String, StepError> {
    let mut conn = probe::connect(ep, t).await?;
    let r = fence_on(&mut conn, ep, t).await;
    let _ = tokio::time::timeout(t, conn.disconnect()).await;
    r
}

/// [`fence`] on an open connection (also used by [`crate::failover::reconcile`]).
pub(crate) async fn fence_on(conn: &mut Conn, ep: &Endpoint, t: Duration) -> Result<String, StepError> {
    probe::exec(conn, ep, "SET GLOBAL read_only = ON", t * 5).await?;
    let ids = probe::client_connection_ids(conn, ep, t).await?;
    let mut killed = 0;
    for id in &ids {
        // A connection may end on its own between the listing and the KILL: not an error.
        if probe::exec(conn, ep, &format!("KILL CONNECTION {id}"), t).await.is_ok() {
            killed += 1;
        }
    }
    Ok(format!("read_only=ON, killed {killed} client connection(s)"))
}

/// Poll until the candidate applied `want` (every domain of it), or `timeout`.
async fn wait_applied(ep: &Endpoint, want: Option<&MariadbGtidPos>, skip_domain: u32, t: Duration, timeout: Duration) -> Result<String, StepError> {
    let deadline = Instant::now() + timeout;
    let mut conn = probe::connect(ep, t).await?;
    let result = loop {
        let vars = probe::server_vars(&mut conn, ep, t).await?;
        let link = probe::link_status(&mut conn, ep, t).await?;
        let received = link.as_ref().map(|l| l.gtid_io_pos.clone()).unwrap_or_default();
        let target = match want {
            Some(w) => probe::max_pos(w, &received),
            None => received,
        };
        let left = probe::relay_backlog(&target, &vars.gtid_slave_pos, skip_domain);
        if left == 0 {
            break Ok(format!("applied {}", vars.gtid_slave_pos));
        }
        if Instant::now() >= deadline {
            break Err(StepError::NotApplied { left, timeout_ms: timeout.as_millis(), applied: vars.gtid_slave_pos, target });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = tokio::time::timeout(t, conn.disconnect()).await;
    result
}

fn hook_env(old: &FailoverServer, new: &FailoverServer, old_gtid: &str, new_gtid: &str, trigger: &str) -> Vec<(String, String)> {
    vec![
        ("OLD_WRITER".into(), old.endpoint.address()),
        ("NEW_WRITER".into(), new.endpoint.address()),
        ("OLD_WRITER_NAME".into(), old.name.clone()),
        ("NEW_WRITER_NAME".into(), new.name.clone()),
        ("OLD_WRITER_HOST".into(), old.endpoint.host.clone()),
        ("OLD_WRITER_PORT".into(), old.endpoint.port.to_string()),
        ("NEW_WRITER_HOST".into(), new.endpoint.host.clone()),
        ("NEW_WRITER_PORT".into(), new.endpoint.port.to_string()),
        ("OLD_WRITER_GTID".into(), old_gtid.into()),
        ("NEW_WRITER_GTID".into(), new_gtid.into()),
        ("TRIGGER".into(), trigger.into()),
    ]
}

/// An unplanned failover (or `promote --to X [--force]`): gate, then the steps. Returns the
/// switch-log entry and, when a promotion happened, the promoted server's name.
pub async fn failover(req: Request<'_>) -> (Entry, Option<String>) {
    let started = Instant::now();
    let cfg = req.cfg;
    let t = timeout_of(cfg);
    let k = req.knowledge;
    let mut entry = Entry::new("failover", &req.trigger);
    entry.old_writer = Some(req.old.name.clone());
    entry.detection_ms = req.detection.map(|d| d.as_secs_f64() * 1000.0);

    // Gate every candidate.
    let mut evals = Vec::new();
    for c in &req.candidates {
        evals.push(evaluate(cfg, c, k).await);
    }
    for e in &evals {
        entry.checks.extend(e.checks.iter().map(|c| Check { name: format!("{}.{}", e.name, c.name), ..c.clone() }));
    }
    let chosen = match choose(&evals) {
        Some(i) => Some(i),
        None if req.force => evals.iter().position(|e| e.vars.is_some()),
        None => None,
    };
    let Some(ci) = chosen else {
        entry.event = "failover_blocked".into();
        entry.reasons = evals.iter().flat_map(Evaluation::reasons).collect();
        if entry.reasons.is_empty() {
            entry.reasons.push("no candidate".into());
        }
        entry.total_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        return (entry, None);
    };
    let (Some(ev), Some(cand)) = (evals.get(ci), req.candidates.get(ci).copied()) else {
        entry.event = "failover_blocked".into();
        entry.reasons.push("internal: chosen candidate missing".into());
        return (entry, None);
    };
    if req.force && !ev.passed() {
        entry.event = "forced_promotion".into();
        entry.reasons = ev.reasons().into_iter().map(|r| format!("overridden by --force: {r}")).collect();
    }
    entry.new_writer = Some(cand.name.clone());
    let cand_domain = ev.vars.as_ref().map(|v| v.gtid_domain_id).unwrap_or(0);

    // Positions and the data-loss estimate (before anything changes).
    let seen = k.writer_last_seen.as_ref().map(|v| v.gtid_binlog_pos.clone()).unwrap_or_default();
    let applied_on_target = match &k.target {
        Some((ep, schema)) => match target_applied(ep, schema, t).await {
            Ok(p) => Some(p),
            Err(e) => {
                entry.checks.push(Check::warn("target_checkpoint", e.to_string()));
                None
            }
        },
        None => None,
    };
    let last_known = probe::max_pos(&seen, applied_on_target.as_ref().unwrap_or(&MariadbGtidPos::new()));
    let received = ev.link.as_ref().map(|l| probe::max_pos(&l.gtid_io_pos, &ev.vars.as_ref().map(|v| v.gtid_slave_pos.clone()).unwrap_or_default())).unwrap_or_default();
    entry.gtid = Positions {
        writer_last_seen: seen.to_string(),
        target_applied: applied_on_target.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        writer_last_known: last_known.to_string(),
        candidate_received: ev.link.as_ref().map(|l| l.gtid_io_pos.to_string()).unwrap_or_default(),
        candidate_applied: ev.vars.as_ref().map(|v| v.gtid_slave_pos.to_string()).unwrap_or_default(),
        new_writer: String::new(),
    };
    let basis = if applied_on_target.is_some() { "max(watcher's last read of the writer, applier checkpoint on the target) minus candidate's Gtid_IO_Pos" } else { "watcher's last read of the writer minus candidate's Gtid_IO_Pos" };
    entry.data_loss_estimate = Some(data_loss(&last_known, &received, cand_domain, basis));

    // Step 1: fence the old writer where reachable.
    let timer = Timer::start();
    entry.steps.push(match fence(&req.old.endpoint, t).await {
        Ok(d) => timer.step("fence_old_writer", "ok", d),
        Err(e) => timer.step("fence_old_writer", "skipped", format!("unreachable: {e}")),
    });

    // Step 2: wait for the candidate's relay log (bounded).
    let timer = Timer::start();
    match wait_applied(&cand.endpoint, None, cand_domain, t, Duration::from_millis(cfg.relay_apply_timeout_ms)).await {
        Ok(d) => entry.steps.push(timer.step("wait_relay_applied", "ok", d)),
        Err(e) if req.force => entry.steps.push(timer.step("wait_relay_applied", "fail", format!("{e} (continuing: --force)"))),
        Err(e) => {
            entry.steps.push(timer.step("wait_relay_applied", "fail", e.to_string()));
            entry.event = "promotion_failed".into();
            entry.reasons.push(format!("{}: relay log not applied: {e}", cand.name));
            entry.total_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            return (entry, None);
        }
    }

    // Step 3: make the candidate the writer.
    let timer = Timer::start();
    let promote_result = async {
        let mut conn = probe::connect(&cand.endpoint, t).await?;
        let mut done = Vec::new();
        if cfg.stop_slave_on_promote {
            probe::exec(&mut conn, &cand.endpoint, "STOP SLAVE", t * 5).await?;
            done.push("STOP SLAVE");
        }
        probe::exec(&mut conn, &cand.endpoint, "SET GLOBAL read_only = OFF", t * 5).await?;
        done.push("read_only=OFF");
        let vars = probe::server_vars(&mut conn, &cand.endpoint, t).await?;
        let _ = tokio::time::timeout(t, conn.disconnect()).await;
        Ok::<_, StepError>((done.join(", "), vars))
    }
    .await;
    let new_vars = match promote_result {
        Ok((d, v)) => {
            entry.steps.push(timer.step("promote_candidate", "ok", d));
            v
        }
        Err(e) => {
            entry.steps.push(timer.step("promote_candidate", "fail", e.to_string()));
            entry.event = "promotion_failed".into();
            entry.reasons.push(format!("{}: {e}", cand.name));
            entry.total_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            return (entry, None);
        }
    };
    entry.gtid.new_writer = new_vars.gtid_binlog_pos.to_string();
    let old_domain = k.writer_last_seen.as_ref().map(|v| v.gtid_domain_id);
    entry.new_passive = old_domain.map(|d| PassiveMark { name: req.old.name.clone(), domain: d, seq: probe::seq_of(&last_known, d) });

    finish(&mut entry, cfg, req.old, cand, &last_known.to_string(), &new_vars.gtid_binlog_pos.to_string(), req.switch, &req.trigger).await;
    entry.total_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    (entry, Some(cand.name.clone()))
}

/// Hooks and re-point, shared by failover and switchover.
#[allow(clippy::too_many_arguments)]
async fn finish(entry: &mut Entry, cfg: &FailoverConfig, old: &FailoverServer, new: &FailoverServer, old_gtid: &str, new_gtid: &str, switch: Option<&SourceSwitch>, trigger: &str) {
    let env = hook_env(old, new, old_gtid, new_gtid, trigger);
    entry.steps.extend(run_hooks(&cfg.on_promote, &env, &HookOptions::from_config(cfg), "on_promote").await);
    let timer = Timer::start();
    match switch {
        Some(s) if s.has_followers() => {
            s.switch_to(new);
            entry.steps.push(timer.step("repoint_applier", "ok", format!("applier source -> {} ({}), resuming from its checkpoint on the target", new.name, new.endpoint.address())));
        }
        _ => entry.steps.push(timer.step("repoint_applier", "skipped", "no applier follows this watcher")),
    }
}

/// A planned switchover: fence the writer, wait until the candidate applied the writer's final
/// position, then promote it. Zero loss by construction; on any failure the old writer is made
/// writable again.
pub async fn switchover(cfg: &FailoverConfig, old: &FailoverServer, cand: &FailoverServer, switch: Option<&SourceSwitch>) -> (Entry, bool) {
    let started = Instant::now();
    let t = timeout_of(cfg);
    let mut entry = Entry::new("switchover", "operator");
    entry.old_writer = Some(old.name.clone());
    entry.new_writer = Some(cand.name.clone());
    let old_vars = match probe::check(&old.endpoint, t).await {
        Ok(v) => v,
        Err(e) => {
            entry.event = "switchover_failed".into();
            entry.reasons.push(format!("writer {} unreachable: {e} (use failover promote for an unplanned switch)", old.name));
            return (entry, false);
        }
    };
    // Gate: the candidate must replicate, be near, hold nothing errant and be configured right.
    let lag = match probe::connect(&cand.endpoint, t).await {
        Ok(mut c) => {
            let l = probe::link_status(&mut c, &cand.endpoint, t).await.ok().flatten();
            let _ = tokio::time::timeout(t, c.disconnect()).await;
            l.filter(|l| l.io_yes() && l.sql_yes()).and_then(|l| l.seconds_behind_master).map(|s| s as f64)
        }
        Err(_) => None,
    };
    let k = Knowledge { writer_last_seen: Some(old_vars.clone()), last_lag: [(cand.name.clone(), lag)].into_iter().collect(), target: None };
    let ev = evaluate(cfg, cand, &k).await;
    entry.checks = ev.checks.iter().map(|c| Check { name: format!("{}.{}", ev.name, c.name), ..c.clone() }).collect();
    if !ev.passed() {
        entry.event = "switchover_refused".into();
        entry.reasons = ev.reasons();
        return (entry, false);
    }
    let cand_domain = ev.vars.as_ref().map(|v| v.gtid_domain_id).unwrap_or(0);

    let timer = Timer::start();
    match fence(&old.endpoint, t).await {
        Ok(d) => entry.steps.push(timer.step("fence_old_writer", "ok", d)),
        Err(e) => {
            entry.steps.push(timer.step("fence_old_writer", "fail", e.to_string()));
            entry.event = "switchover_failed".into();
            entry.reasons.push(format!("cannot fence {}: {e}", old.name));
            return (entry, false);
        }
    }
    // The writer is read-only and its clients are gone: its position is final.
    let final_pos = match probe::check(&old.endpoint, t).await {
        Ok(v) => v.gtid_binlog_pos,
        Err(e) => {
            entry.event = "switchover_failed".into();
            entry.reasons.push(format!("cannot read {}'s final position: {e}", old.name));
            unfence(&old.endpoint, t).await;
            return (entry, false);
        }
    };
    entry.gtid.writer_last_seen = final_pos.to_string();
    entry.gtid.writer_last_known = final_pos.to_string();
    let timer = Timer::start();
    match wait_applied(&cand.endpoint, Some(&final_pos), cand_domain, t, Duration::from_millis(cfg.relay_apply_timeout_ms)).await {
        Ok(d) => entry.steps.push(timer.step("wait_candidate_applied_all", "ok", d)),
        Err(e) => {
            entry.steps.push(timer.step("wait_candidate_applied_all", "fail", e.to_string()));
            entry.event = "switchover_failed".into();
            entry.reasons.push(e.to_string());
            unfence(&old.endpoint, t).await;
            entry.steps.push(Timer::start().step("unfence_old_writer", "ok", "read_only=OFF again"));
            return (entry, false);
        }
    }
    let timer = Timer::start();
    let new_vars = async {
        let mut conn = probe::connect(&cand.endpoint, t).await?;
        probe::exec(&mut conn, &cand.endpoint, "SET GLOBAL read_only = OFF", t * 5).await?;
        let v = probe::server_vars(&mut conn, &cand.endpoint, t).await?;
        let _ = tokio::time::timeout(t, conn.disconnect()).await;
        Ok::<_, StepError>(v)
    }
    .await;
    let new_vars = match new_vars {
        Ok(v) => {
            entry.steps.push(timer.step("promote_candidate", "ok", "read_only=OFF"));
            v
        }
        Err(e) => {
            entry.steps.push(timer.step("promote_candidate", "fail", e.to_string()));
            entry.event = "switchover_failed".into();
            entry.reasons.push(e.to_string());
            unfence(&old.endpoint, t).await;
            return (entry, false);
        }
    };
    entry.gtid.candidate_applied = new_vars.gtid_slave_pos.to_string();
    entry.gtid.new_writer = new_vars.gtid_binlog_pos.to_string();
    entry.data_loss_estimate = Some(DataLoss { transactions: 0, per_domain: BTreeMap::new(), basis: "planned: the candidate applied the fenced writer's final position".into() });
    entry.new_passive = Some(PassiveMark { name: old.name.clone(), domain: old_vars.gtid_domain_id, seq: probe::seq_of(&final_pos, old_vars.gtid_domain_id) });
    finish(&mut entry, cfg, old, cand, &final_pos.to_string(), &new_vars.gtid_binlog_pos.to_string(), switch, "switchover").await;
    entry.total_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    (entry, true)
}

async fn unfence(ep: &Endpoint, t: Duration) {
    if let Ok(mut c) = probe::connect(ep, t).await {
        let _ = probe::exec(&mut c, ep, "SET GLOBAL read_only = OFF", t * 5).await;
        let _ = tokio::time::timeout(t, c.disconnect()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, prio: i32, adv: u64, pass: bool) -> Evaluation {
        Evaluation { name: name.into(), priority: prio, checks: vec![if pass { Check::ok("x", "") } else { Check::fail("x", "no") }], vars: None, link: None, advanced: adv }
    }

    #[test]
    fn choose_priority_then_most_advanced_among_passing() {
        assert_eq!(choose(&[ev("B", 100, 5, true), ev("D", 100, 9, true)]), Some(1));
        assert_eq!(choose(&[ev("B", 200, 5, true), ev("D", 100, 9, true)]), Some(0));
        assert_eq!(choose(&[ev("B", 200, 5, false), ev("D", 100, 9, true)]), Some(1));
        assert_eq!(choose(&[ev("B", 200, 5, false)]), None);
    }

    #[test]
    fn data_loss_counts_writer_domains_only() {
        let known = MariadbGtidPos::parse("1-1-120,2-2-9").unwrap();
        let recv = MariadbGtidPos::parse("1-1-117,2-2-5").unwrap();
        let d = data_loss(&known, &recv, 2, "t");
        assert_eq!(d.transactions, 3);
        assert_eq!(d.per_domain.into_iter().collect::<Vec<_>>(), vec![(1, 3)]);
        assert_eq!(data_loss(&recv, &known, 2, "t").transactions, 0);
    }
}
