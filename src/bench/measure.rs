//! Process measurements for bench arms: CPU seconds and peak resident memory from `/proc`, and
//! `CHECKSUM TABLE` of a set of tables.
//!
//! Owns reading these numbers only; it must not decide what an arm is or whether it passed.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;

/// CPU seconds (user + system) of a process from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after the last ')' are fixed.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' the first field is state (field 3); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) / ticks)
}

/// CPU seconds of this process (all threads).
pub fn self_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id() as i32).unwrap_or(0.0)
}

/// Reset the peak-RSS mark (`VmHWM`) of a process so the next reading covers one arm only.
pub fn reset_peak_rss(pid: i32) {
    // "5" resets the peak RSS (see proc(5), clear_refs). Best effort: the reading still
    // works without it, it then covers the process lifetime.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Peak resident memory (`VmHWM`) of a process in bytes.
pub fn peak_rss_bytes(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `` `schema`.`table` `` with backticks doubled inside names.
pub fn quote_table(schema: &str, table: &str) -> String {
    format!("`{}`.`{}`", schema.replace('`', "``"), table.replace('`', "``"))
}

/// `CHECKSUM TABLE` of every table of `schema` on `conn`: `table -> checksum` (None when missing).
pub async fn checksums(conn: &mut mysql_async::Conn, schema: &str, tables: &[String]) -> Result<BTreeMap<String, Option<u64>>, mysql_async::Error> {
    let mut out = BTreeMap::new();
    for t in tables {
        let rows: Vec<(String, Option<u64>)> = conn.query(format!("CHECKSUM TABLE {}", quote_table(schema, t))).await?;
        out.insert(t.clone(), rows.into_iter().next().and_then(|r| r.1));
    }
    Ok(out)
}

/// A global status counter (e.g. `Innodb_deadlocks`), 0 when absent.
pub async fn global_status(conn: &mut mysql_async::Conn, name: &str) -> Result<u64, mysql_async::Error> {
    // SHOW cannot be prepared; the name is a constant of ours, quoted as a string literal.
    let row: Option<(String, String)> = conn.query_first(format!("SHOW GLOBAL STATUS LIKE '{}'", name.replace('\\', "\\\\").replace('\'', "''"))).await?;
    Ok(row.and_then(|r| r.1.parse().ok()).unwrap_or(0))
}
