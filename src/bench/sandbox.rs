//! A private set of MariaDB instances for one bench run, started and stopped through
//! `tools/sandbox` (never a second copy of its logic).
//!
//! Owns the sandbox directory and port range of the run and its shutdown (also on drop, so an
//! error stops the servers too). Must not run workloads or measure anything.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::BenchError;

/// Running instances (`A` source, `C` parapply target, `D` MariaDB replica), stopped on drop.
pub struct BenchSandbox {
    script: PathBuf,
    pub dir: PathBuf,
    pub base_port: u16,
    mariadbd_args: String,
    names: Vec<String>,
    stopped: bool,
}

/// First port range of `n` free ports at or after `start` (stepping by 10).
fn free_port_range(start: u16, n: u16) -> Option<u16> {
    let mut base = start;
    while base < 60_000 {
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return Some(base);
        }
        base += 10;
    }
    None
}

impl BenchSandbox {
    /// Start `names` under `dir` with the extra server arguments (identical for every instance).
    pub fn start(script: &Path, dir: &Path, names: &[&str], mariadbd_args: &str) -> Result<BenchSandbox, BenchError> {
        let seed = 31_000 + (std::process::id() % 500) as u16 * 40;
        let base_port = free_port_range(seed, 8).ok_or_else(|| BenchError::Sandbox("no free port range".into()))?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| BenchError::Io(dir.display().to_string(), e))?;
        let sb = BenchSandbox {
            script: script.to_path_buf(),
            dir: dir.to_path_buf(),
            base_port,
            mariadbd_args: mariadbd_args.to_string(),
            names: names.iter().map(|s| s.to_string()).collect(),
            stopped: false,
        };
        sb.script_cmd("start", names)?;
        Ok(sb)
    }

    fn script_cmd(&self, verb: &str, args: &[&str]) -> Result<String, BenchError> {
        let out = Command::new(&self.script)
            .arg(verb)
            .args(args)
            .env("SANDBOX_DIR", &self.dir)
            .env("SANDBOX_BASE_PORT", self.base_port.to_string())
            .env("SANDBOX_MARIADBD_ARGS", &self.mariadbd_args)
            .env("SANDBOX_NO_REPLICATION", "1")
            .output()
            .map_err(|e| BenchError::Io(self.script.display().to_string(), e))?;
        if !out.status.success() {
            return Err(BenchError::Sandbox(format!(
                "tools/sandbox {verb} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn port(&self, name: &str) -> u16 {
        let idx = name.bytes().next().map(|b| b.saturating_sub(b'A')).unwrap_or(0);
        self.base_port + u16::from(idx)
    }

    pub fn url(&self, name: &str) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port(name))
    }

    /// The mariadbd process id of `name` (for its CPU time and memory).
    pub fn pid(&self, name: &str) -> Option<i32> {
        std::fs::read_to_string(self.dir.join(name).join("mysqld.pid")).ok()?.trim().parse().ok()
    }

    /// Binlog files of `name`, in order.
    pub fn binlog_files(&self, name: &str) -> Result<Vec<PathBuf>, BenchError> {
        let data = self.dir.join(name).join("data");
        let mut v: Vec<PathBuf> = std::fs::read_dir(&data)
            .map_err(|e| BenchError::Io(data.display().to_string(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("binlog.") && n.trim_start_matches("binlog.").bytes().all(|b| b.is_ascii_digit()))
            })
            .collect();
        v.sort();
        Ok(v)
    }

    /// Clean shutdown of every instance and removal of the directory.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        if let Err(e) = self.script_cmd("stop", &names) {
            tracing::warn!(error = %e, "bench sandbox stop");
        }
        let _ = self.script_cmd("destroy", &[]);
    }
}

impl Drop for BenchSandbox {
    fn drop(&mut self) {
        self.stop();
    }
}
