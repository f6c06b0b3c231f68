//! `parapply doctor`: the dual-master checks of [`crate::failover::doctor`] against the servers
//! in `[failover]`, printed as a table or JSON. Owns printing, the exit code, and recording a
//! `passive_mark` in the switch log for a passive master seen for the first time (the baseline
//! of the dual-write check).

use std::time::Duration;

use anyhow::Context;

use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::failover::doctor;
use crate::failover::log::SwitchLog;

pub fn run(args: &DoctorArgs) -> anyhow::Result<i32> {
    let cfg = Config::load(&args.config)?;
    let f = cfg.failover.context("the config has no [failover] section (doctor checks its servers)")?;
    let marks: Vec<_> = SwitchLog::new(f.switch_log.clone()).read_all()?.into_iter().filter_map(|e| e.new_passive).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (report, vars) = rt.block_on(doctor::run(&f.servers, f.writer.as_deref(), &marks, Duration::from_millis(f.check_timeout_ms.max(1000))));
    // A passive master seen for the first time gets a mark in the switch log (its own-domain seq
    // now), so later runs report any write that lands on it afterwards, replicated or not.
    let log = SwitchLog::new(f.switch_log.clone());
    for (name, v) in vars.iter().filter(|(_, v)| v.read_only) {
        let clean = report.checks.iter().any(|c| c.name == format!("{name}.dual_write") && c.result == "ok");
        if clean && !marks.iter().any(|m| &m.name == name && m.domain == v.gtid_domain_id) {
            let mut e = crate::failover::log::Entry::new("passive_mark", "doctor");
            e.new_passive = Some(crate::failover::log::PassiveMark { name: name.clone(), domain: v.gtid_domain_id, seq: crate::failover::probe::seq_of(&v.gtid_binlog_pos, v.gtid_domain_id) });
            log.append(&e)?;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "ok": report.ok(), "checks": report.checks }))?);
    } else {
        let w = report.checks.iter().map(|c| c.name.len()).max().unwrap_or(10);
        for c in &report.checks {
            println!("{:<4}  {:<w$}  {}", c.result.to_uppercase(), c.name, c.detail);
        }
        println!("{}", if report.ok() { "all dual-master checks passed" } else { "some dual-master checks FAILED" });
    }
    Ok(if report.ok() { 0 } else { 2 })
}
