//! Shared integration-test harness: real MariaDB instances from `tools/sandbox`, and the path to
//! the shared binlog fixtures. Each [`Sandbox`] has its own directory and ports and is destroyed
//! when dropped, so tests run side by side.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/fixtures/binlog`, or `$PARAPPLY_FIXTURES` when set.
pub fn fixtures_dir() -> PathBuf {
    if let Ok(p) = std::env::var("PARAPPLY_FIXTURES") {
        return PathBuf::from(p);
    }
    repo_dir().join("../shared/fixtures/binlog")
}

static NEXT_SLOT: AtomicU16 = AtomicU16::new(0);

fn ports_free(base: u16, n: u16) -> bool {
    (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok())
}

/// A set of running sandbox instances (A, B, C, ...), destroyed on drop.
pub struct Sandbox {
    pub dir: PathBuf,
    pub base_port: u16,
    extra_env: Vec<(String, String)>,
}

impl Sandbox {
    /// Start the named instances (e.g. `&["A", "B", "C"]`). A and B together are wired as a
    /// dual-master pair. `mariadbd_args` are extra server arguments for every instance.
    pub fn start(names: &[&str], mariadbd_args: &str) -> Sandbox {
        Self::start_with(names, mariadbd_args, &[])
    }

    pub fn start_with(names: &[&str], mariadbd_args: &str, env: &[(&str, &str)]) -> Sandbox {
        let pid = std::process::id() as u16;
        let mut base = 0;
        for _ in 0..200 {
            let slot = NEXT_SLOT.fetch_add(1, Ordering::SeqCst);
            let candidate = 20000 + ((pid % 300) * 100 + slot * 10) % 40000;
            if ports_free(candidate, 8) {
                base = candidate;
                break;
            }
        }
        assert!(base != 0, "no free port range for the sandbox");
        let dir = repo_dir().join("target/sandboxes").join(format!("{}-{}", std::process::id(), base));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut sb = Sandbox { dir, base_port: base, extra_env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        sb.extra_env.push(("SANDBOX_MARIADBD_ARGS".into(), mariadbd_args.into()));
        let out = sb.cmd("start", names);
        assert!(out.status.success(), "sandbox start failed: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        sb
    }

    fn cmd(&self, verb: &str, args: &[&str]) -> std::process::Output {
        let mut c = Command::new(repo_dir().join("tools/sandbox"));
        c.arg(verb).args(args).env("SANDBOX_DIR", &self.dir).env("SANDBOX_BASE_PORT", self.base_port.to_string());
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c.output().expect("run tools/sandbox")
    }

    /// TCP port of instance `name`.
    pub fn port(&self, name: &str) -> u16 {
        let idx = name.as_bytes()[0] - b'A';
        self.base_port + idx as u16
    }

    /// `mysql://root@127.0.0.1:PORT` for instance `name`.
    pub fn url(&self, name: &str) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port(name))
    }

    /// Run SQL on `name` through the mariadb client; returns tab-separated output rows.
    pub fn sql(&self, name: &str, sql: &str) -> String {
        let out = self.cmd("sql", &[name, sql]);
        assert!(out.status.success(), "sql on {name} failed: {sql}\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Run a workload script on `name` that shares rows with other sessions running at the
    /// same time: a deadlock or lock wait timeout between them (InnoDB rolls that transaction
    /// back) does not stop the script (`--force`); any other error fails the test. Tests compare
    /// the target with what the source then logged, so the rolled-back work simply never happened.
    pub fn sql_concurrent(&self, name: &str, sql: &str) {
        let socket = format!("--socket={}", self.dir.join(name).join("mysqld.sock").display());
        let out = Command::new("mariadb")
            .args(["--no-defaults", "-uroot", &socket, "--batch", "--skip-column-names", "--force", "-e", sql])
            .output()
            .expect("run the mariadb client");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let unexpected: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ERROR") && !l.starts_with("ERROR 1213 ") && !l.starts_with("ERROR 1205 ")).collect();
        assert!(unexpected.is_empty(), "workload on {name} failed: {}", unexpected.join("\n"));
    }

    /// SIGKILL an instance.
    pub fn kill(&self, name: &str) {
        self.cmd("kill", &[name]);
    }

    /// Start (or restart) instances.
    pub fn start_more(&self, names: &[&str]) {
        let out = self.cmd("start", names);
        assert!(out.status.success(), "sandbox start failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The data directory of an instance (binlogs live there as `binlog.NNNNNN`).
    pub fn datadir(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("data")
    }

    /// Binlog files of an instance, in order.
    pub fn binlog_files(&self, name: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.datadir(name))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("binlog.") && !n.ends_with(".index") && !n.ends_with(".state")))
            .collect();
        v.sort();
        v
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if std::env::var("PARAPPLY_KEEP_SANDBOX").is_ok() {
            eprintln!("keeping sandbox in {}", self.dir.display());
            return;
        }
        let _ = self.cmd("destroy", &[]);
    }
}

/// Path helper for fixture files.
pub fn fixture(rel: &str) -> PathBuf {
    fixtures_dir().join(rel)
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// Poll `f` every 50 ms until it returns Some, or panic naming `what` after `secs`.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out after {secs}s waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
