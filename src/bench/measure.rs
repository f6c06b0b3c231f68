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
    format!("{}.{}", crate::net::quote_ident(schema), crate::net::quote_ident(table))
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

/// GTID events in a run of binlog files, by origin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GtidCount {
    /// Every GTID event: one per transaction the server logged (DML and DDL alike).
    pub total: u64,
    /// Those whose originating `server_id` is not `own_server_id`: source transactions logged
    /// under their source GTID (a native replica's, or parapply's when it keeps GTIDs; one per
    /// commit group).
    pub foreign: u64,
}

/// MariaDB's GTID event type code (`GTID_EVENT` in log_event.h).
const MARIADB_GTID_EVENT: u8 = 162;
/// MySQL's GTID and anonymous GTID event type codes (a MySQL target).
const MYSQL_GTID_EVENTS: [u8; 2] = [33, 34];

/// Count the GTID events of `files` (raw framing only: no decoding, so a target's binlog of
/// any size is counted in one pass). The header's `server_id` (bytes 5..9) is the server that
/// originated the transaction, which a replica keeps.
pub fn count_gtids(files: &[std::path::PathBuf], own_server_id: u32) -> Result<GtidCount, crate::source::file::SourceError> {
    let mut n = GtidCount::default();
    for f in files {
        let mut r = crate::source::file::RawEventReader::open(f)?;
        while let Some(ev) = r.next_raw()? {
            let b = ev.bytes;
            if b.len() < 9 {
                continue;
            }
            if b[4] == MARIADB_GTID_EVENT || MYSQL_GTID_EVENTS.contains(&b[4]) {
                n.total += 1;
                if u32::from_le_bytes([b[5], b[6], b[7], b[8]]) != own_server_id {
                    n.foreign += 1;
                }
            }
        }
    }
    Ok(n)
}

/// What a finished child process used.
#[derive(Debug)]
pub struct ChildRun {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
    pub wall_seconds: f64,
    /// User + system CPU of the child (from `wait4`'s rusage).
    pub cpu_seconds: f64,
    /// Peak resident set of the child (`ru_maxrss`).
    pub peak_rss_bytes: u64,
}

/// Run `cmd` to completion with its output captured, and read its CPU time and peak RSS from
/// `wait4` (the child's own rusage, not the sum over all children of this process).
pub fn run_child(mut cmd: std::process::Command) -> std::io::Result<ChildRun> {
    use std::io::Read;
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let t0 = std::time::Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; zeroed is a valid value for it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = loop {
        // SAFETY: pid is our own unreaped child; status and usage point to live locals.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break rc;
    };
    if rc == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // The child is reaped: `child` must not be waited on again (dropping it does not wait).
    drop(child);
    let wall_seconds = t0.elapsed().as_secs_f64();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let exited = libc::WIFEXITED(status);
    let code = if exited { Some(libc::WEXITSTATUS(status)) } else { None };
    Ok(ChildRun {
        success: code == Some(0),
        status: match code {
            Some(c) => format!("exit code {c}"),
            None if libc::WIFSIGNALED(status) => format!("signal {}", libc::WTERMSIG(status)),
            None => format!("wait status {status}"),
        },
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
        wall_seconds,
        cpu_seconds: tv(usage.ru_utime) + tv(usage.ru_stime),
        // Linux reports ru_maxrss in kilobytes.
        peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One v4 event: 19-byte header (timestamp, type, server_id, size, next position, flags)
    /// and `body`.
    fn event(kind: u8, server_id: u32, body: &[u8]) -> Vec<u8> {
        let size = (19 + body.len()) as u32;
        let mut e = Vec::new();
        e.extend_from_slice(&0u32.to_le_bytes());
        e.push(kind);
        e.extend_from_slice(&server_id.to_le_bytes());
        e.extend_from_slice(&size.to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        e.extend_from_slice(&0u16.to_le_bytes());
        e.extend_from_slice(body);
        e
    }

    #[test]
    fn count_gtids_counts_gtid_events_by_origin() {
        let dir = tempfile::tempdir().expect("tempdir");
        // File 1: two GTIDs of server 1 (the source), a query, a GTID of server 3 (the target
        // itself: parapply's checkpoint domain); file 2: a MySQL GTID of server 1 and a GTID
        // of server 3.
        let mut f1 = b"\xfebin".to_vec();
        for (k, sid) in [(162u8, 1u32), (2, 1), (16, 1), (162, 1), (162, 3)] {
            f1.extend(event(k, sid, &[0u8; 13]));
        }
        let mut f2 = b"\xfebin".to_vec();
        f2.extend(event(33, 1, &[0u8; 25]));
        f2.extend(event(162, 3, &[0u8; 13]));
        let (p1, p2) = (dir.path().join("binlog.000001"), dir.path().join("binlog.000002"));
        std::fs::write(&p1, f1).expect("write");
        std::fs::write(&p2, f2).expect("write");
        assert_eq!(count_gtids(&[p1.clone(), p2.clone()], 3).expect("count"), GtidCount { total: 5, foreign: 3 });
        assert_eq!(count_gtids(&[p2], 1).expect("count"), GtidCount { total: 2, foreign: 1 });
        assert_eq!(count_gtids(&[], 1).expect("count"), GtidCount::default());
    }

    #[test]
    fn run_child_reports_exit_status_output_and_peak_rss() {
        // A shell that allocates ~64 MiB resident (a string of 64 Mi characters via head).
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "echo hello; head -c 67108864 /dev/zero | tr '\\0' x | { v=$(cat); echo ${#v}; } ; exit 3"]);
        let r = run_child(cmd).expect("run sh");
        assert!(!r.success);
        assert_eq!(r.status, "exit code 3");
        assert_eq!(r.stdout, "hello\n67108864\n");
        assert!(r.peak_rss_bytes >= 64 * 1024 * 1024, "peak rss {}", r.peak_rss_bytes);
        assert!(r.cpu_seconds > 0.0);
    }
}
