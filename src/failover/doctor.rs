//! Dual-master configuration checks (`parapply doctor`, also run when the watcher starts and by
//! the promotion gate for the candidate).
//!
//! Owns the rules, as pure functions over [`ServerVars`] read by [`crate::failover::probe`]:
//! distinct server_id and gtid_domain_id, consistent auto_increment increment/offset, ROW
//! binlogs with FULL image (row metadata is reported, not required), log_bin and
//! log_slave_updates, the passive side
//! read_only, and the dual-write hazard (GTIDs in a passive master's own domain that appeared
//! after it became passive). It must not change any server.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::FailoverServer;
use crate::failover::log::PassiveMark;
use crate::failover::probe::{self, ServerVars};
use crate::failover::Check;

/// The result of the checks: every check, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DoctorReport {
    pub checks: Vec<Check>,
}

impl DoctorReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }
    pub fn problems(&self) -> Vec<String> {
        self.checks.iter().filter(|c| c.result != "ok").map(|c| format!("{} {}: {}", c.result, c.name, c.detail)).collect()
    }
}

/// The settings one master must have on its own (binlog format, image, log_bin,
/// log_slave_updates; row metadata reported). Used for every master and by the gate for the candidate.
pub fn server_checks(name: &str, v: &ServerVars) -> Vec<Check> {
    let mut out = Vec::new();
    let want = |out: &mut Vec<Check>, what: &str, have: &str, expected: &str| {
        let key = format!("{name}.{what}");
        if have.eq_ignore_ascii_case(expected) {
            out.push(Check::ok(key, have.to_string()));
        } else {
            out.push(Check::fail(key, format!("is {have:?}, must be {expected}")));
        }
    };
    want(&mut out, "binlog_format", &v.binlog_format, "ROW");
    want(&mut out, "binlog_row_image", &v.binlog_row_image, "FULL");
    // Not required: without FULL metadata rows are applied by position onto the target's
    // columns, as MariaDB's own replica does (see `schedule::target`). Reported for what it adds.
    let key = format!("{name}.binlog_row_metadata");
    if v.binlog_row_metadata.eq_ignore_ascii_case("FULL") {
        out.push(Check::ok(key, "FULL (rows carry column names: mapped by name, checked against the target's columns)"));
    } else {
        out.push(Check::ok(
            key,
            format!("{} (rows are applied by position onto the target's columns; FULL would also map them by name, so a target with its columns in another order still gets each value right)", v.binlog_row_metadata),
        ));
    }
    want(&mut out, "log_bin", if v.log_bin { "ON" } else { "OFF" }, "ON");
    want(&mut out, "log_slave_updates", if v.log_slave_updates { "ON" } else { "OFF" }, "ON");
    out
}

/// Checks across the masters. `writer` names the active one (None: not known). `marks` are the
/// passive masters' own-domain seqs when they became passive (from the switch log or the
/// watcher's start); without a mark, a passive master holding more of its own domain than the
/// writer received is reported instead.
pub fn pair_checks(masters: &[(String, ServerVars)], writer: Option<&str>, marks: &[PassiveMark]) -> Vec<Check> {
    let mut out = Vec::new();
    let unique = |what: &str, f: &dyn Fn(&ServerVars) -> u64| -> Check {
        let mut seen: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
        for (n, v) in masters {
            seen.entry(f(v)).or_default().push(n);
        }
        let dups: Vec<String> = seen.iter().filter(|(_, ns)| ns.len() > 1).map(|(val, ns)| format!("{} share {what}={val}", ns.join(","))).collect();
        let all: Vec<String> = masters.iter().map(|(n, v)| format!("{n}={}", f(v))).collect();
        if dups.is_empty() {
            Check::ok(format!("distinct_{what}"), all.join(" "))
        } else {
            Check::fail(format!("distinct_{what}"), dups.join("; "))
        }
    };
    out.push(unique("server_id", &|v| v.server_id));
    out.push(unique("gtid_domain_id", &|v| u64::from(v.gtid_domain_id)));

    // auto_increment: one increment everywhere, large enough for every master, offsets distinct
    // modulo it (else the two sides hand out the same ids: the seed's ID-conflict problem).
    let incs: Vec<u64> = masters.iter().map(|(_, v)| v.auto_increment_increment).collect();
    let detail = masters.iter().map(|(n, v)| format!("{n}={}/{}", v.auto_increment_increment, v.auto_increment_offset)).collect::<Vec<_>>().join(" ");
    let inc = incs.first().copied().unwrap_or(1);
    let offsets: std::collections::BTreeSet<u64> = masters.iter().map(|(_, v)| v.auto_increment_offset % inc.max(1)).collect();
    if incs.iter().any(|i| *i != inc) {
        out.push(Check::fail("auto_increment", format!("increments differ ({detail})")));
    } else if (inc as usize) < masters.len() {
        out.push(Check::fail("auto_increment", format!("increment {inc} is smaller than the number of masters {} ({detail})", masters.len())));
    } else if offsets.len() != masters.len() {
        out.push(Check::fail("auto_increment", format!("offsets collide modulo the increment ({detail})")));
    } else {
        out.push(Check::ok("auto_increment", detail));
    }

    for (n, v) in masters {
        out.extend(server_checks(n, v));
    }

    let writable: Vec<&str> = masters.iter().filter(|(_, v)| !v.read_only).map(|(n, _)| n.as_str()).collect();
    match writer {
        Some(w) => {
            for (n, v) in masters.iter().filter(|(n, _)| n != w) {
                if v.read_only {
                    out.push(Check::ok(format!("{n}.passive_read_only"), "read_only=ON"));
                } else {
                    out.push(Check::fail(format!("{n}.passive_read_only"), format!("passive master is writable while {w} is the writer")));
                }
            }
        }
        None => {
            if writable.len() == 1 {
                out.push(Check::ok("single_writer", format!("{} is the only writable master", writable.join(""))));
            } else {
                out.push(Check::fail("single_writer", format!("writable masters: [{}] (exactly one expected)", writable.join(","))));
            }
        }
    }

    // Dual-write hazard: GTIDs in the passive master's own domain after it became passive.
    let writer_vars = writer.and_then(|w| masters.iter().find(|(n, _)| n == w)).map(|(_, v)| v);
    for (n, v) in masters.iter().filter(|(n, _)| Some(n.as_str()) != writer) {
        let own = v.gtid_domain_id;
        let have = probe::seq_of(&v.gtid_binlog_pos, own);
        let key = format!("{n}.dual_write");
        if let Some(mark) = marks.iter().rev().find(|m| &m.name == n && m.domain == own) {
            if have > mark.seq {
                out.push(Check::fail(key, format!("{} transaction(s) written on passive {n} in its domain {own} since it became passive (seq {} -> {have})", have - mark.seq, mark.seq)));
            } else {
                out.push(Check::ok(key, format!("no writes in domain {own} since it became passive at seq {}", mark.seq)));
            }
        } else if let Some(wv) = writer_vars {
            let writer_has = probe::seq_of(&wv.gtid_binlog_pos, own);
            if have > writer_has {
                out.push(Check::fail(key, format!("passive {n} has {} transaction(s) in its domain {own} that the writer does not (seq {have} vs {writer_has})", have - writer_has)));
            } else {
                out.push(Check::ok(key, format!("domain {own}: passive seq {have}, writer has {writer_has}")));
            }
        }
    }
    out
}

/// Connect to every master, read its variables and run [`pair_checks`]. An unreachable master
/// is a failed check, not an error. Returns the report and the variables read.
pub async fn run(servers: &[FailoverServer], writer: Option<&str>, marks: &[PassiveMark], timeout: Duration) -> (DoctorReport, Vec<(String, ServerVars)>) {
    let mut checks = Vec::new();
    let mut vars = Vec::new();
    for s in servers.iter().filter(|s| s.role == "master") {
        match probe::check(&s.endpoint, timeout).await {
            Ok(v) => {
                checks.push(Check::ok(format!("{}.reachable", s.name), v.version.clone()));
                vars.push((s.name.clone(), v));
            }
            Err(e) => checks.push(Check::fail(format!("{}.reachable", s.name), e.to_string())),
        }
    }
    let writer = writer.map(str::to_string).or_else(|| {
        let w: Vec<&String> = vars.iter().filter(|(_, v)| !v.read_only).map(|(n, _)| n).collect();
        if w.len() == 1 {
            w.first().map(|s| s.to_string())
        } else {
            None
        }
    });
    checks.extend(pair_checks(&vars, writer.as_deref(), marks));
    (DoctorReport { checks }, vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::gtid::MariadbGtidPos;

    fn good(id: u64, off: u64, ro: bool, pos: &str) -> ServerVars {
        ServerVars {
            server_id: id,
            gtid_domain_id: id as u32,
            read_only: ro,
            gtid_binlog_pos: MariadbGtidPos::parse(pos).unwrap(),
            auto_increment_increment: 2,
            auto_increment_offset: off,
            binlog_format: "ROW".into(),
            binlog_row_image: "FULL".into(),
            binlog_row_metadata: "FULL".into(),
            log_bin: true,
            log_slave_updates: true,
            ..Default::default()
        }
    }

    fn failed(checks: &[Check]) -> Vec<String> {
        checks.iter().filter(|c| c.result == "fail").map(|c| c.name.clone()).collect()
    }

    #[test]
    fn healthy_pair_passes() {
        let m = vec![("A".into(), good(1, 1, false, "1-1-10,2-2-3")), ("B".into(), good(2, 2, true, "1-1-10,2-2-3"))];
        let c = pair_checks(&m, Some("A"), &[]);
        assert_eq!(failed(&c), Vec::<String>::new());
        assert_eq!(c.len(), 3 + 10 + 1 + 1);
    }

    #[test]
    fn each_rule_fails_alone() {
        let mut b = good(1, 1, false, "1-1-10,2-2-3");
        b.binlog_row_metadata = "MINIMAL".into();
        b.log_slave_updates = false;
        let m = vec![("A".into(), good(1, 1, false, "1-1-10,2-2-3")), ("B".into(), b)];
        let f = failed(&pair_checks(&m, Some("A"), &[]));
        assert_eq!(f, vec!["distinct_server_id", "distinct_gtid_domain_id", "auto_increment", "B.log_slave_updates", "B.passive_read_only"]);
        // MINIMAL (or NO_LOG) metadata passes: rows are applied by position.
        let c = server_checks("B", &m[1].1);
        let meta = c.iter().find(|c| c.name == "B.binlog_row_metadata").unwrap();
        assert_eq!(meta.result, "ok");
        assert!(meta.detail.starts_with("MINIMAL (rows are applied by position"), "{}", meta.detail);
    }

    #[test]
    fn dual_write_hazard_against_mark_and_against_writer() {
        let m = vec![("A".into(), good(1, 1, false, "1-1-10,2-2-3")), ("B".into(), good(2, 2, true, "1-1-10,2-2-5"))];
        let f = failed(&pair_checks(&m, Some("A"), &[]));
        assert_eq!(f, vec!["B.dual_write"]);
        // Replicated to A already, but after B became passive at seq 4: still a hazard.
        let m = vec![("A".into(), good(1, 1, false, "1-1-10,2-2-5")), ("B".into(), good(2, 2, true, "1-1-10,2-2-5"))];
        let c = pair_checks(&m, Some("A"), &[PassiveMark { name: "B".into(), domain: 2, seq: 4 }]);
        let hazard = c.iter().find(|c| c.name == "B.dual_write").unwrap();
        assert_eq!((hazard.result.as_str(), hazard.detail.starts_with("1 transaction(s)")), ("fail", true));
        let c = pair_checks(&m, Some("A"), &[PassiveMark { name: "B".into(), domain: 2, seq: 5 }]);
        assert_eq!(failed(&c), Vec::<String>::new());
    }

    #[test]
    fn two_writers_without_a_named_writer() {
        let m = vec![("A".into(), good(1, 1, false, "")), ("B".into(), good(2, 2, false, ""))];
        assert_eq!(failed(&pair_checks(&m, None, &[])), vec!["single_writer"]);
    }
}
