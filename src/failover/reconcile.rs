//! Reconciling a failed writer that comes back: the *exact* transactions it holds that its
//! successor never received.
//!
//! At promotion time the data-loss estimate ([`crate::failover::promote`]) is a lower bound: a
//! transaction the dead writer wrote to its binlog but never sent to anyone is invisible to every
//! survivor. When the old writer answers again, its own binlog settles the question. This module
//! owns that settlement:
//!
//! 1. Fence the old writer (`read_only=ON`, KILL its client connections) *before* reading its
//!    position, so the position is final and the server is not silently re-admitted as a writer.
//! 2. Read its `gtid_binlog_pos` and the new writer's `gtid_binlog_pos`/`gtid_slave_pos`;
//!    per domain, the old writer's transactions beyond the new writer's are lost.
//! 3. Read exactly those GTIDs from the old writer's binlog over a binlog dump (the project's
//!    own live reader, [`TransactionStream`]) started at the new writer's position in each such
//!    domain: the lost GTIDs as ranges, their count, and the tables and rows they touched.
//!    Should the read fail (purged binlog, timeout), the list falls back to the positions' seq
//!    ranges and the entry says it is not exact.
//!
//! Like orchestrator's errant-GTID report (it shows a returning server's GTIDs the cluster lacks
//! and leaves fixing them to an operator) and unlike MHA (which copies the dead master's binlog
//! over SSH and applies it to the new master during failover), parapply reports and keeps the
//! old writer fenced; replaying or discarding the lost transactions is the operator's decision.
//!
//! It must not decide *when* to reconcile (the watcher does, or the operator's
//! `parapply failover reconcile`), must not write the switch log (the caller appends the
//! returned [`Entry`]) and must not change anything on the new writer.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::{FailoverConfig, FailoverServer};
use crate::failover::log::{DataLoss, Entry, LostRows, PassiveMark, Reconcile, Step};
use crate::failover::probe::{self, ServerVars};
use crate::failover::{promote, FailoverError, ReconcileView};
use crate::source::gtid::{GtidPosition, MariadbGtidPos};
use crate::source::stream::{StartPosition, StreamError, StreamOptions, TransactionStream};
use crate::txn::{Change, Gtid, RowKind};

/// server_id the reconciliation's binlog dump registers with. A master drops an older dump
/// connection registered with the same id, so it must differ from every real replica's and
/// applier's; it is far above the ids people hand out.
pub const RECONCILE_SERVER_ID: u32 = 4_223_372_001;

/// How long reading the lost transactions from the old writer's binlog may take before the
/// list falls back to the positions (the watcher's loop waits for it).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// An unplanned promotion away from `old` that no `reconcile` entry has settled yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub old: String,
    pub new: String,
    /// `time` of the promotion entry.
    pub promotion_time: String,
    pub estimate: Option<DataLoss>,
}

/// Promotions still to reconcile, from the switch log (in order): the last `failover` or
/// `forced_promotion` away from each server, unless a later `reconcile` entry names it or a
/// later switch made it the writer again (then there is nothing left to compare it with). This
/// is what lets a restarted watcher (or one that took over the lease) still reconcile.
pub fn pending_from_log(entries: &[Entry]) -> Vec<Pending> {
    let mut out: Vec<Pending> = Vec::new();
    for e in entries {
        if let (Some(new), "failover" | "forced_promotion" | "switchover" | "adopted_writer") = (&e.new_writer, e.event.as_str()) {
            out.retain(|p| &p.old != new);
        }
        let Some(old) = e.old_writer.clone() else { continue };
        match e.event.as_str() {
            "failover" | "forced_promotion" => {
                let Some(new) = e.new_writer.clone() else { continue };
                out.retain(|p| p.old != old);
                out.push(Pending { old, new, promotion_time: e.time.clone(), estimate: e.data_loss_estimate.clone() });
            }
            "reconcile" => out.retain(|p| p.old != old),
            _ => {}
        }
    }
    out
}

/// Per domain where `old` is ahead of `new_has`: (server_id of old's last, new's seq, old's seq).
/// These are the transactions only the old writer holds.
pub fn ahead(old: &MariadbGtidPos, new_has: &MariadbGtidPos) -> BTreeMap<u32, (u32, u64, u64)> {
    old.iter().filter(|(d, _, seq)| *seq > probe::seq_of(new_has, *d)).map(|(d, sid, seq)| (d, (sid, probe::seq_of(new_has, d), seq))).collect()
}

/// Where the dump starts: the new writer's GTID in every domain where the old writer is ahead
/// (that GTID is in the old writer's binlog: the new writer received it from there), the old
/// writer's own last GTID elsewhere (so those domains send nothing old). A domain the new
/// writer never saw is left out: the server then sends it from the start of the binlog file it
/// picks, and the reader filters by seq.
pub fn dump_start(old: &MariadbGtidPos, new_has: &MariadbGtidPos) -> MariadbGtidPos {
    let mut start = MariadbGtidPos::new();
    for (d, sid, seq) in old.iter() {
        if seq <= probe::seq_of(new_has, d) {
            start.set(d, sid, seq);
        } else if let Some((nsid, nseq)) = new_has.get(d) {
            start.set(d, nsid, nseq);
        }
    }
    start
}

/// GTIDs as ranges of consecutive seqs with the same domain and server_id, e.g.
/// `["1-1-1041..1-1-1043", "1-1-1050"]`. Input order is kept within a domain; domains ascend.
pub fn ranges(gtids: &[(u32, u32, u64)]) -> Vec<String> {
    let mut sorted = gtids.to_vec();
    sorted.sort_by_key(|g| g.0);
    let mut out = Vec::new();
    let mut cur: Option<((u32, u32, u64), u64)> = None;
    let close = |c: ((u32, u32, u64), u64), out: &mut Vec<String>| {
        let ((d, s, first), last) = c;
        out.push(if first == last { format!("{d}-{s}-{first}") } else { format!("{d}-{s}-{first}..{d}-{s}-{last}") });
    };
    for &(d, s, q) in &sorted {
        cur = match cur {
            Some(((cd, cs, first), last)) if cd == d && cs == s && last.checked_add(1) == Some(q) => Some(((cd, cs, first), q)),
            Some(c) => {
                close(c, &mut out);
                Some(((d, s, q), q))
            }
            None => Some(((d, s, q), q)),
        };
    }
    if let Some(c) = cur {
        close(c, &mut out);
    }
    out
}

/// Why the old writer's binlog could not be read to the end of what was lost; the reconcile
/// entry then falls back to positions only.
#[derive(Debug, thiserror::Error)]
enum ReadLostError {
    /// Transient: the binlog did not reach the lost positions in time.
    #[error("binlog read timed out after {timeout_ms} ms before reaching {missing}")]
    Timeout { timeout_ms: u128, missing: String },
    /// Transient or definite as [`crate::source::stream::StreamError::is_transient`] says.
    #[error("binlog read: {0}")]
    Stream(StreamError),
}

/// What reading the old writer's binlog found.
#[derive(Debug, Default)]
struct Found {
    gtids: Vec<(u32, u32, u64)>,
    tables: BTreeMap<String, LostRows>,
}

/// Read the transactions of `want` (domain -> (after seq, up to seq)) from `old`'s binlog.
async fn read_lost(old: &FailoverServer, start: MariadbGtidPos, want: &BTreeMap<u32, (u32, u64, u64)>, timeout: Duration) -> Result<Found, ReadLostError> {
    let mut opts = StreamOptions::new(old.endpoint.clone(), RECONCILE_SERVER_ID);
    opts.max_attempts = Some(2);
    let mut stream = TransactionStream::new(opts, StartPosition::Gtid(GtidPosition::Mariadb(start)));
    let deadline = Instant::now() + timeout;
    let mut found = Found::default();
    let mut reached: BTreeMap<u32, bool> = want.keys().map(|d| (*d, false)).collect();
    while reached.values().any(|r| !r) {
        let left = deadline.saturating_duration_since(Instant::now());
        let txn = match tokio::time::timeout(left, stream.next()).await {
            Err(_) => {
                let missing: Vec<String> = reached.iter().filter(|(_, r)| !**r).map(|(d, _)| format!("domain {d} up to seq {}", want.get(d).map(|w| w.2).unwrap_or(0))).collect();
                return Err(ReadLostError::Timeout { timeout_ms: timeout.as_millis(), missing: missing.join(", ") });
            }
            Ok(Err(e)) => return Err(ReadLostError::Stream(e)),
            Ok(Ok(t)) => t,
        };
        let Some(Gtid::Mariadb { domain, server_id, seq }) = txn.gtid else { continue };
        let Some(&(_, after, upto)) = want.get(&domain) else { continue };
        if seq <= after || seq > upto {
            continue;
        }
        found.gtids.push((domain, server_id, seq));
        for (schema, table) in txn.tables() {
            found.tables.entry(format!("{schema}.{table}")).or_default().transactions += 1;
        }
        for c in &txn.changes {
            if let Change::Rows(r) = c {
                let t = found.tables.entry(format!("{}.{}", r.table.schema, r.table.table)).or_default();
                let n = r.rows.len() as u64;
                match r.kind {
                    RowKind::Insert => t.inserts += n,
                    RowKind::Update => t.updates += n,
                    RowKind::Delete => t.deletes += n,
                }
            }
        }
        if seq >= upto {
            reached.insert(domain, true);
        }
    }
    Ok(found)
}

/// A `reconcile` entry as `/status` shows it.
pub fn view(e: &Entry) -> Option<ReconcileView> {
    let r = e.reconcile.as_ref()?;
    Some(ReconcileView {
        time: e.time.clone(),
        old_writer: e.old_writer.clone().unwrap_or_default(),
        new_writer: e.new_writer.clone().unwrap_or_default(),
        lost_transactions: r.lost_transactions,
        lost_gtids: r.lost_gtids.iter().take(20).cloned().collect(),
        estimate: r.estimate,
        exact: r.exact,
        old_writer_read_only: r.old_writer_read_only,
    })
}

fn step(t: Instant, name: &str, result: &str, detail: impl Into<String>) -> Step {
    Step { name: name.into(), result: result.into(), ms: t.elapsed().as_secs_f64() * 1000.0, detail: detail.into() }
}

/// Reconcile `old` (the failed writer, now reachable) against `new` (the writer now). Fences
/// `old` first. Returns the `reconcile` entry for the switch log; `Err` when either server
/// cannot be read (nothing was settled: try again later).
pub async fn reconcile(cfg: &FailoverConfig, old: &FailoverServer, new: &FailoverServer, pending: Option<&Pending>, trigger: &str) -> Result<Entry, FailoverError> {
    let started = Instant::now();
    let t = Duration::from_millis(cfg.check_timeout_ms.max(200));
    let server_err = |s: &FailoverServer, what: String| FailoverError::Server { server: s.name.clone(), address: s.endpoint.address(), what };
    let mut entry = Entry::new("reconcile", trigger);
    entry.old_writer = Some(old.name.clone());
    entry.new_writer = Some(new.name.clone());
    entry.data_loss_estimate = pending.and_then(|p| p.estimate.clone());

    // 1. Fence, then read the (now final) position on the same connection.
    let timer = Instant::now();
    let mut conn = probe::connect(&old.endpoint, t).await.map_err(|e| server_err(old, e.to_string()))?;
    let fenced = promote::fence_on(&mut conn, &old.endpoint, t).await;
    let old_vars: Result<ServerVars, _> = probe::server_vars(&mut conn, &old.endpoint, t).await;
    let _ = tokio::time::timeout(t, conn.disconnect()).await;
    let old_vars = old_vars.map_err(|e| server_err(old, e.to_string()))?;
    entry.steps.push(match &fenced {
        Ok(d) => step(timer, "fence_old_writer", "ok", d.clone()),
        Err(e) => step(timer, "fence_old_writer", "fail", e.to_string()),
    });

    // 2. The new writer's positions (read only).
    let timer = Instant::now();
    let new_vars = probe::check(&new.endpoint, t).await.map_err(|e| server_err(new, e.to_string()))?;
    let new_has = probe::max_pos(&new_vars.gtid_binlog_pos, &new_vars.gtid_slave_pos);
    let lost_at = ahead(&old_vars.gtid_binlog_pos, &new_has);
    entry.steps.push(step(timer, "read_positions", "ok", format!("{} on return {}; {} has {}", old.name, old_vars.gtid_binlog_pos, new.name, new_has)));
    entry.gtid.writer_last_seen = old_vars.gtid_binlog_pos.to_string();
    entry.gtid.new_writer = new_vars.gtid_binlog_pos.to_string();

    // 3. The lost GTIDs themselves, from the old writer's binlog.
    let by_positions: Vec<String> = lost_at.iter().map(|(d, (s, after, upto))| if after + 1 == *upto { format!("{d}-{s}-{upto}") } else { format!("{d}-{s}-{}..{d}-{s}-{upto}", after + 1) }).collect();
    let by_positions_count: BTreeMap<u32, u64> = lost_at.iter().map(|(d, (_, after, upto))| (*d, upto - after)).collect();
    let mut rec = Reconcile {
        promotion_time: pending.map(|p| p.promotion_time.clone()).unwrap_or_default(),
        old_writer_pos: old_vars.gtid_binlog_pos.to_string(),
        new_writer_pos: new_vars.gtid_binlog_pos.to_string(),
        new_writer_slave_pos: new_vars.gtid_slave_pos.to_string(),
        estimate: pending.and_then(|p| p.estimate.as_ref()).map(|e| e.transactions),
        old_writer_read_only: old_vars.read_only,
        ..Reconcile::default()
    };
    let timer = Instant::now();
    if lost_at.is_empty() {
        rec.exact = true;
        rec.basis = format!("{} holds nothing beyond {} in any domain", old.name, new.name);
        entry.steps.push(step(timer, "read_old_binlog", "skipped", "nothing to read"));
    } else {
        let start = dump_start(&old_vars.gtid_binlog_pos, &new_has);
        match read_lost(old, start.clone(), &lost_at, READ_TIMEOUT).await {
            Ok(found) => {
                rec.exact = true;
                rec.basis = format!("GTIDs read from {}'s binlog after {start}, up to its position on return", old.name);
                for (d, _, _) in &found.gtids {
                    *rec.lost_per_domain.entry(*d).or_default() += 1;
                }
                rec.lost_gtids = ranges(&found.gtids);
                rec.lost_tables = found.tables;
                entry.steps.push(step(timer, "read_old_binlog", "ok", format!("{} transaction(s)", found.gtids.len())));
            }
            Err(e) => {
                rec.exact = false;
                rec.basis = format!("positions only ({} on return minus {}): {e}", old.name, new.name);
                rec.lost_gtids = by_positions;
                rec.lost_per_domain = by_positions_count;
                entry.steps.push(step(timer, "read_old_binlog", "fail", e.to_string()));
            }
        }
    }
    rec.lost_transactions = rec.lost_per_domain.values().sum();
    // From now on, what the old writer holds beyond this mark would be writes on a passive
    // master (a dual-write hazard), not the loss settled here.
    entry.new_passive = Some(PassiveMark { name: old.name.clone(), domain: old_vars.gtid_domain_id, seq: probe::seq_of(&old_vars.gtid_binlog_pos, old_vars.gtid_domain_id) });
    if !old_vars.read_only {
        entry.reasons.push(format!("{} could not be fenced and is still writable: {}", old.name, fenced.as_ref().err().map(ToString::to_string).unwrap_or_default()));
    }
    if rec.lost_transactions > 0 {
        entry.reasons.push(format!(
            "{} transaction(s) on {} were never received by {} and are not on it: {} (promotion estimate {})",
            rec.lost_transactions,
            old.name,
            new.name,
            rec.lost_gtids.join(","),
            rec.estimate.map(|e| e.to_string()).unwrap_or_else(|| "unknown".into())
        ));
        tracing::warn!(old = %old.name, new = %new.name, lost = rec.lost_transactions, gtids = %rec.lost_gtids.join(","), estimate = ?rec.estimate, exact = rec.exact, "old writer returned with transactions its successor never received; it stays fenced (read_only)");
    } else {
        tracing::info!(old = %old.name, new = %new.name, estimate = ?rec.estimate, "old writer returned: nothing lost; it stays fenced (read_only)");
    }
    entry.reconcile = Some(rec);
    entry.total_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(s: &str) -> MariadbGtidPos {
        MariadbGtidPos::parse(s).unwrap()
    }

    #[test]
    fn ahead_and_dump_start_per_domain() {
        let old = pos("1-1-1043,2-2-500");
        let new = pos("1-1-1040,2-2-510");
        assert_eq!(ahead(&old, &new).into_iter().collect::<Vec<_>>(), vec![(1, (1, 1040, 1043))]);
        // Domain 1 from the new writer's GTID, domain 2 from the old writer's own last.
        assert_eq!(dump_start(&old, &new).to_string(), "1-1-1040,2-2-500");
        // A domain the new writer never saw: left out of the start, counted from seq 0.
        let old = pos("1-1-3,3-3-2");
        let new = pos("1-1-3");
        assert_eq!(ahead(&old, &new).into_iter().collect::<Vec<_>>(), vec![(3, (3, 0, 2))]);
        assert_eq!(dump_start(&old, &new).to_string(), "1-1-3");
        assert!(ahead(&new, &new).is_empty());
    }

    #[test]
    fn ranges_merge_consecutive_seqs_of_one_server() {
        assert_eq!(ranges(&[(1, 1, 1041), (1, 1, 1042), (1, 1, 1043)]), vec!["1-1-1041..1-1-1043"]);
        assert_eq!(ranges(&[(1, 1, 5), (1, 1, 7), (1, 1, 8), (1, 9, 9), (0, 4, 1)]), vec!["0-4-1", "1-1-5", "1-1-7..1-1-8", "1-9-9"]);
        assert!(ranges(&[]).is_empty());
    }

    #[test]
    fn pending_is_the_last_unreconciled_promotion_per_server() {
        let mk = |event: &str, old: &str, new: Option<&str>, time: &str| {
            let mut e = Entry::new(event, "t");
            e.old_writer = Some(old.into());
            e.new_writer = new.map(Into::into);
            e.time = time.into();
            e
        };
        let log = vec![mk("failover", "A", Some("B"), "t1"), mk("reconcile", "A", Some("B"), "t2"), mk("failover", "B", Some("A"), "t3"), mk("failover_blocked", "A", None, "t4")];
        let p = pending_from_log(&log);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].old.as_str(), p[0].new.as_str(), p[0].promotion_time.as_str()), ("B", "A", "t3"));
        assert!(pending_from_log(&log[..2]).is_empty());
        // A switchover is planned and loses nothing: nothing to reconcile.
        assert!(pending_from_log(&[mk("switchover", "A", Some("B"), "t")]).is_empty());
        // A made the writer again before it was reconciled: nothing left to compare it with.
        assert!(pending_from_log(&[mk("failover", "A", Some("B"), "t1"), mk("forced_promotion", "B", Some("A"), "t2")]).iter().all(|p| p.old != "A"));
    }
}
