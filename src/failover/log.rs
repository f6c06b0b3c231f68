//! The switch log: one JSON object per line for every failover decision (promotion, refusal,
//! veto by the second channel, switchover, forced promotion, writer adopted after a lease
//! takeover) and for the reconciliation of a failed writer that came back (`reconcile`).
//!
//! Owns the entry's shape and appending it. Each entry is written with a single `write` on a file
//! opened in append mode, so two watchers sharing a file never interleave lines. It must not
//! decide anything; the watcher and promotion fill the entry.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::failover::{Check, FailoverError};

/// One timed promotion step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    /// `ok`, `fail` or `skipped`.
    pub result: String,
    pub ms: f64,
    pub detail: String,
}

/// GTID positions known at decision time (MariaDB text form; empty when unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Positions {
    /// The old writer's `gtid_binlog_pos` at the watcher's last successful check.
    pub writer_last_seen: String,
    /// The applier's durable applied position on the target (its checkpoint), when known.
    pub target_applied: String,
    /// Per-domain maximum of the two: the writer's last known position.
    pub writer_last_known: String,
    /// What the candidate received from the writer (`Gtid_IO_Pos`).
    pub candidate_received: String,
    /// What the candidate applied (`gtid_slave_pos`).
    pub candidate_applied: String,
    /// The new writer's `gtid_binlog_pos` after promotion.
    pub new_writer: String,
}

/// Transactions the old writer had (as far as anyone saw) that the candidate never received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataLoss {
    pub transactions: u64,
    /// domain -> transactions missing in that domain.
    pub per_domain: BTreeMap<u32, u64>,
    pub basis: String,
}

/// The passive master's own-domain seq when it became passive: later GTIDs in that domain are
/// writes on the passive side (a dual-write hazard, see [`crate::failover::doctor`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassiveMark {
    pub name: String,
    pub domain: u32,
    pub seq: u64,
}

/// Table touched by lost transactions: how many of them, and their rows by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostRows {
    pub transactions: u64,
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
}

/// What a `reconcile` entry adds: the exact transactions a failed writer holds that its
/// successor never received, read when it came back (see [`crate::failover::reconcile`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    /// `time` of the promotion entry this reconciles (empty when none was found).
    pub promotion_time: String,
    /// The old writer's `gtid_binlog_pos` on its return (read after fencing: final).
    pub old_writer_pos: String,
    /// The new writer's `gtid_binlog_pos` and `gtid_slave_pos`.
    pub new_writer_pos: String,
    pub new_writer_slave_pos: String,
    /// Lost GTIDs as ranges of consecutive sequence numbers: `1-1-1041..1-1-1043`, `1-1-1050`.
    pub lost_gtids: Vec<String>,
    pub lost_transactions: u64,
    /// domain -> lost transactions in it.
    pub lost_per_domain: BTreeMap<u32, u64>,
    /// `schema.table` -> what the lost transactions did to it (empty when `exact` is false).
    pub lost_tables: BTreeMap<String, LostRows>,
    /// The promotion's `data_loss_estimate.transactions`, for comparison.
    pub estimate: Option<u64>,
    /// True when every lost GTID was read from the old writer's binlog; false when the list is
    /// derived from the positions alone (the binlog read failed; `basis` says why).
    pub exact: bool,
    pub basis: String,
    /// `read_only` of the old writer after the fence (it must stay fenced: not re-admitted).
    pub old_writer_read_only: bool,
}

/// One line of the switch log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339 UTC with milliseconds.
    pub time: String,
    pub unix_ms: u64,
    /// `failover`, `failover_blocked`, `no_failover`, `switchover`, `forced_promotion`,
    /// `adopted_writer`, `promotion_failed`, `reconcile`.
    pub event: String,
    /// What started it, e.g. `writer_failed_3_checks`, `operator`.
    pub trigger: String,
    /// `host:pid` of the watcher that wrote it.
    pub watcher: String,
    pub old_writer: Option<String>,
    pub new_writer: Option<String>,
    pub checks: Vec<Check>,
    pub reasons: Vec<String>,
    pub gtid: Positions,
    pub data_loss_estimate: Option<DataLoss>,
    pub steps: Vec<Step>,
    pub new_passive: Option<PassiveMark>,
    /// From the first failed check to the decision.
    pub detection_ms: Option<f64>,
    pub total_ms: Option<f64>,
    /// Only on `reconcile` entries (absent from the others' lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<Reconcile>,
}

impl Entry {
    /// A new entry stamped now.
    pub fn new(event: &str, trigger: &str) -> Entry {
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Entry { time: rfc3339_ms(unix_ms), unix_ms, event: event.into(), trigger: trigger.into(), watcher: watcher_id(), ..Default::default() }
    }
}

/// `hostname:pid` (hostname from /etc/hostname when readable).
pub fn watcher_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Appends entries to one file.
#[derive(Debug, Clone)]
pub struct SwitchLog {
    path: PathBuf,
}

impl SwitchLog {
    pub fn new(path: impl Into<PathBuf>) -> SwitchLog {
        SwitchLog { path: path.into() }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry as one line (a single write in append mode).
    pub fn append(&self, entry: &Entry) -> Result<(), FailoverError> {
        let err = |source| FailoverError::Log { path: self.path.display().to_string(), cause: source };
        let mut line = serde_json::to_vec(entry).map_err(|e| err(std::io::Error::other(e)))?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(err)?;
        f.write_all(&line).map_err(err)?;
        tracing::info!(event = %entry.event, trigger = %entry.trigger, old = ?entry.old_writer, new = ?entry.new_writer, reasons = ?entry.reasons, "switch log entry");
        Ok(())
    }

    /// Every entry in the file (lines that do not parse are skipped: a torn last line after a
    /// crash must not hide the others). A missing file is an empty log.
    pub fn read_all(&self) -> Result<Vec<Entry>, FailoverError> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => Ok(t.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(FailoverError::Log { path: self.path.display().to_string(), cause: source }),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_ms(unix_ms: u64) -> String {
    let mut s = String::with_capacity(24);
    crate::utc::push_datetime(&mut s, (unix_ms / 1000) as i64, 'T');
    let _ = std::fmt::Write::write_fmt(&mut s, format_args!(".{:03}Z", unix_ms % 1000));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(1_795_651_199_999), "2026-11-25T23:59:59.999Z");
    }

    #[test]
    fn append_then_read_back_one_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let log = SwitchLog::new(dir.path().join("sub/switch.jsonl"));
        let mut e = Entry::new("failover", "writer_failed_3_checks");
        e.old_writer = Some("A".into());
        e.data_loss_estimate = Some(DataLoss { transactions: 2, per_domain: [(1, 2)].into_iter().collect(), basis: "x".into() });
        log.append(&e).unwrap();
        log.append(&Entry::new("no_failover", "t")).unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        let back = log.read_all().unwrap();
        assert_eq!(back[0], e);
        assert_eq!(back[1].event, "no_failover");
    }
}
