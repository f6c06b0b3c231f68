//! `parapply doctor`: the dual-master checks of [`crate::failover::doctor`] against the servers
//! in `[failover]`, printed as a table or JSON. Owns printing and the exit code only.

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
    let (report, _) = rt.block_on(doctor::run(&f.servers, f.writer.as_deref(), &marks, Duration::from_millis(f.check_timeout_ms.max(1000))));
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
