//! Running the operator's hook commands (`on_promote`, `on_reader_change`).
//!
//! Owns how one hook process lives and dies: `sh -c CMD` in **its own process group**, stdin
//! closed, an environment without parapply's credentials, output drained and capped, and a
//! timeout that ends the whole group. Also owns [`SerialHooks`], which runs the hooks for one key
//! (one reader) in submission order while different keys run side by side. It must not decide
//! when a hook runs or what goes into its environment (that is [`crate::failover::promote`] and
//! [`crate::failover::watcher`]); it never reads the config itself.
//!
//! # Why a process group
//! A hook is a shell: `haproxy-switch-writer & curl ...` or a script that starts helpers. Killing
//! only the shell at the timeout leaves its children running, still holding the output pipes and
//! whatever they were changing. Each hook is started with `process_group(0)` (its pid is its
//! group id); at the timeout the group gets SIGTERM, the shell up to [`KILL_GRACE`] to exit, then
//! the group gets SIGKILL, and the shell is reaped. The group id stays reserved until then (the
//! shell is not reaped before the SIGKILL, or a live member still holds the id), so the signals
//! cannot reach an unrelated process. A hook that exits by itself may leave background members
//! running on purpose (a daemonising helper): those are not killed; their output is read for at
//! most [`DRAIN_AFTER_EXIT`] after the shell's exit and then abandoned.
//!
//! # Environment
//! Hooks inherit parapply's environment (so operators can pass their own settings, such as
//! `HAPROXY_SOCKET`) minus every variable parapply may hold a credential in: `MYSQL_PWD`, any
//! `PARAPPLY_*` whose name contains `PASSWORD` or `TOKEN`, and the variables the config names in
//! `password_env` / `status_token_env` ([`HookOptions::remove_env`]).
//!
//! # Output
//! stdout and stderr are read concurrently until EOF, so a hook writing megabytes never blocks on
//! a full pipe; only the last [`OUTPUT_CAP`] bytes of each are kept, and a truncation is logged and
//! said in the step detail.

use std::collections::HashMap;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::failover::log::Step;

/// Bytes of stdout and of stderr kept per hook (the last ones: errors come at the end).
pub const OUTPUT_CAP: usize = 64 * 1024;
/// After SIGTERM to the group, how long the shell may take to exit before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// After the shell exits, how long output from members it left running is still read.
pub const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);
/// Changes queued per key in [`SerialHooks`] before new ones are dropped (with a warning).
pub const QUEUE_DEPTH: usize = 64;
/// Characters of a hook's output shown in its step detail (the whole kept tail is in
/// [`HookRun`]).
const DETAIL_CHARS: usize = 300;

/// Why a hook did not run to a clean exit.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("cannot run: {}", crate::error_text::chain(.cause))]
    Spawn { cause: std::io::Error },
    #[error("cannot wait for it: {}", crate::error_text::chain(.cause))]
    Wait { cause: std::io::Error },
    #[error("timed out after {ms} ms; its process group was killed (SIGTERM, SIGKILL after {grace_ms} ms)")]
    TimedOut { ms: u128, grace_ms: u128 },
}

/// How hooks run.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// Each hook's timeout (`failover.hook_timeout_ms`).
    pub timeout: Duration,
    /// Variables removed from the hook's environment besides the built-in ones (see the module
    /// doc): the config's `password_env` and `status_token_env` names.
    pub remove_env: Vec<String>,
    /// Bytes kept of each output stream. Default [`OUTPUT_CAP`].
    pub output_cap: usize,
}

impl HookOptions {
    pub fn new(timeout: Duration) -> HookOptions {
        HookOptions { timeout, remove_env: Vec::new(), output_cap: OUTPUT_CAP }
    }

    /// The options the config gives (timeout and the credential variables it names).
    pub fn from_config(cfg: &crate::config::FailoverConfig) -> HookOptions {
        HookOptions { remove_env: cfg.hook_env_remove.clone(), ..HookOptions::new(Duration::from_millis(cfg.hook_timeout_ms)) }
    }
}

/// True for a variable parapply may read a credential from (removed from hooks whatever the
/// config says).
pub fn is_credential_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == "MYSQL_PWD" || (upper.starts_with("PARAPPLY_") && (upper.contains("PASSWORD") || upper.contains("TOKEN")))
}

/// What one output stream produced.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The last bytes (at most the cap).
    pub kept: Vec<u8>,
    /// Every byte read.
    pub total: u64,
}

impl Captured {
    pub fn truncated(&self) -> bool {
        self.total > self.kept.len() as u64
    }
}

/// One hook's run.
#[derive(Debug)]
pub struct HookRun {
    /// The exit status, or why there is none (spawn failure, timeout).
    pub status: Result<ExitStatus, HookError>,
    pub stdout: Captured,
    pub stderr: Captured,
    /// The hook's pid (also its process group id), when it started.
    pub pid: Option<u32>,
}

impl HookRun {
    pub fn ok(&self) -> bool {
        self.status.as_ref().is_ok_and(ExitStatus::success)
    }
}

/// Read `r` to EOF, keeping the last `cap` bytes.
async fn read_capped<R: AsyncRead + Unpin>(mut r: R, cap: usize) -> Captured {
    let mut buf = vec![0u8; 16 * 1024];
    let mut c = Captured::default();
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                c.total += n as u64;
                c.kept.extend_from_slice(buf.get(..n).unwrap_or_default());
                // Trim in batches so a long stream costs O(bytes), not O(bytes * cap).
                if c.kept.len() >= cap.saturating_mul(2).max(buf.len()) {
                    let cut = c.kept.len() - cap;
                    c.kept.drain(..cut);
                }
            }
        }
    }
    if c.kept.len() > cap {
        let cut = c.kept.len() - cap;
        c.kept.drain(..cut);
    }
    c
}

/// Send `sig` to the process group `pgid` (an error such as ESRCH, nobody left, is fine).
fn signal_group(pgid: u32, sig: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    if pgid <= 1 {
        return;
    }
    // SAFETY: killpg has no memory effects; `pgid` is the group of a child we have not reaped
    // yet (or one whose members still hold the id), so it names no unrelated process.
    unsafe {
        libc::killpg(pgid, sig);
    }
}

/// SIGKILLs the group when a hook's future is dropped before the hook was reaped (watcher
/// shutdown): `kill_on_drop` alone would only reach the shell.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            signal_group(pgid, libc::SIGKILL);
        }
    }
}

/// Wait for a reader task, at most until `until`; abandoned readers are aborted.
async fn collect(task: tokio::task::JoinHandle<Captured>, until: tokio::time::Instant) -> Captured {
    let abort = task.abort_handle();
    match tokio::time::timeout_at(until, task).await {
        Ok(Ok(c)) => c,
        Ok(Err(_)) => Captured::default(),
        Err(_) => {
            abort.abort();
            Captured::default()
        }
    }
}

/// Run one hook: `sh -c cmd` with `env` added to the scrubbed environment (see the module doc).
pub async fn run_hook(cmd: &str, env: &[(String, String)], opts: &HookOptions) -> HookRun {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c").arg(cmd).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_credential_var) {
            c.env_remove(&name);
        }
    }
    for name in &opts.remove_env {
        c.env_remove(name);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let started = tokio::time::Instant::now();
    let deadline = started + opts.timeout;
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => return HookRun { status: Err(HookError::Spawn { cause: e }), stdout: Captured::default(), stderr: Captured::default(), pid: None },
    };
    let pid = child.id();
    let mut guard = GroupGuard(pid);
    let cap = opts.output_cap;
    let out = child.stdout.take().map(|s| tokio::spawn(read_capped(s, cap)));
    let err = child.stderr.take().map(|s| tokio::spawn(read_capped(s, cap)));
    let status = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(st)) => Ok(st),
        Ok(Err(e)) => {
            kill_group(pid, &mut child).await;
            Err(HookError::Wait { cause: e })
        }
        Err(_) => {
            kill_group(pid, &mut child).await;
            Err(HookError::TimedOut { ms: opts.timeout.as_millis(), grace_ms: KILL_GRACE.as_millis() })
        }
    };
    // Reaped (or killed and reaped): nothing left for the guard to do.
    guard.0 = None;
    let until = tokio::time::Instant::now() + DRAIN_AFTER_EXIT;
    let stdout = match out {
        Some(t) => collect(t, until).await,
        None => Captured::default(),
    };
    let stderr = match err {
        Some(t) => collect(t, until).await,
        None => Captured::default(),
    };
    HookRun { status, stdout, stderr, pid }
}

/// SIGTERM the group, give the shell [`KILL_GRACE`], SIGKILL the group, reap the shell.
async fn kill_group(pid: Option<u32>, child: &mut tokio::process::Child) {
    let Some(pgid) = pid else {
        let _ = child.kill().await;
        return;
    };
    signal_group(pgid, libc::SIGTERM);
    let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
    // Members that outlived the TERM (or ignore it), and the shell itself if it is still there.
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait().await;
}

/// The last `DETAIL_CHARS` characters of `b`, trimmed.
fn tail(b: &[u8]) -> String {
    let text = String::from_utf8_lossy(b);
    let t = text.trim();
    let skip = t.chars().count().saturating_sub(DETAIL_CHARS);
    t.chars().skip(skip).collect()
}

fn truncation_note(what: &str, c: &Captured) -> Option<String> {
    c.truncated().then(|| format!("{what} truncated: {} bytes written, last {} kept", c.total, c.kept.len()))
}

/// Run `cmds` one after the other (each with the timeout), as steps named `step_prefix[i]`.
pub async fn run_hooks(cmds: &[String], env: &[(String, String)], opts: &HookOptions, step_prefix: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, cmd) in cmds.iter().enumerate() {
        let t0 = Instant::now();
        let name = format!("{step_prefix}[{i}]");
        let run = run_hook(cmd, env, opts).await;
        let notes: Vec<String> = [truncation_note("stdout", &run.stdout), truncation_note("stderr", &run.stderr)].into_iter().flatten().collect();
        for n in &notes {
            tracing::warn!(hook = %name, "hook output {n}");
        }
        let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
        // The detail goes to the switch log and the process log, so it never repeats the
        // command line (it may carry a token or a password); the step's name points at the
        // config entry instead.
        let (result, detail) = match &run.status {
            Ok(st) if st.success() => ("ok", tail(&run.stdout.kept) + &notes),
            Ok(st) => ("fail", format!("exit {:?}: {}{notes}", st.code(), tail(&run.stderr.kept))),
            Err(e @ HookError::TimedOut { .. }) => {
                tracing::warn!(hook = %name, error = %e, "hook timed out");
                ("fail", format!("{e}{notes}"))
            }
            Err(e) => ("fail", e.to_string()),
        };
        steps.push(Step { name, result: result.into(), ms: t0.elapsed().as_secs_f64() * 1000.0, detail });
    }
    steps
}

struct Job {
    cmds: Vec<String>,
    env: Vec<(String, String)>,
    done: tokio::sync::oneshot::Sender<Vec<Step>>,
}

/// Hooks serialized per key: the runs submitted for one key (one reader) happen one after the
/// other in submission order, never overlapping, so a load balancer sees `out` then `in` in the
/// order the pool changed; runs for different keys go side by side. One tokio task per key,
/// started at its first submission, ends when the `SerialHooks` is dropped and its queue is done.
pub struct SerialHooks {
    opts: Arc<HookOptions>,
    step_prefix: String,
    queues: Mutex<HashMap<String, tokio::sync::mpsc::Sender<Job>>>,
}

impl SerialHooks {
    pub fn new(opts: HookOptions, step_prefix: &str) -> SerialHooks {
        SerialHooks { opts: Arc::new(opts), step_prefix: step_prefix.into(), queues: Mutex::new(HashMap::new()) }
    }

    /// Queue `cmds` for `key` (call inside a tokio runtime). The receiver gets the steps when
    /// they ran; it may be dropped. A full queue drops the run with a warning (its receiver then
    /// reports a closed channel).
    pub fn submit(&self, key: &str, cmds: Vec<String>, env: Vec<(String, String)>) -> tokio::sync::oneshot::Receiver<Vec<Step>> {
        let (done, rx) = tokio::sync::oneshot::channel();
        let mut queues = self.queues.lock();
        let tx = queues.entry(key.to_string()).or_insert_with(|| {
            let (tx, mut jobs) = tokio::sync::mpsc::channel::<Job>(QUEUE_DEPTH);
            let (opts, prefix, key) = (self.opts.clone(), self.step_prefix.clone(), key.to_string());
            tokio::spawn(async move {
                while let Some(job) = jobs.recv().await {
                    let steps = run_hooks(&job.cmds, &job.env, &opts, &prefix).await;
                    for s in steps.iter().filter(|s| s.result != "ok") {
                        tracing::warn!(key = %key, step = %s.name, detail = %s.detail, "hook failed");
                    }
                    let _ = job.done.send(steps);
                }
            });
            tx
        });
        if let Err(e) = tx.try_send(Job { cmds, env, done }) {
            tracing::warn!(key, error = %e, "hook run dropped: {QUEUE_DEPTH} runs already queued for this key (hooks slower than the changes)");
        }
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_variables_are_recognised() {
        for v in ["MYSQL_PWD", "PARAPPLY_TARGET_PASSWORD", "PARAPPLY_SOURCE_PASSWORD", "parapply_schema_password", "PARAPPLY_STATUS_TOKEN"] {
            assert!(is_credential_var(v), "{v}");
        }
        for v in ["PATH", "HAPROXY_SOCKET", "PASSWORD_HINT", "PARAPPLY_LOG", "MYSQL_HOST"] {
            assert!(!is_credential_var(v), "{v}");
        }
    }

    #[test]
    fn tail_keeps_the_last_characters() {
        assert_eq!(tail(b"  abc \n"), "abc");
        let long = "x".repeat(1000) + "END";
        assert_eq!(tail(long.as_bytes()).len(), DETAIL_CHARS);
        assert!(tail(long.as_bytes()).ends_with("END"));
    }

    #[test]
    fn read_capped_keeps_the_last_bytes() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let c = rt.block_on(read_capped(&data[..], 1000));
        assert_eq!(c.total, 200_000);
        assert_eq!(c.kept, data[199_000..]);
        let c = rt.block_on(read_capped(&data[..10], 1000));
        assert_eq!((c.total, c.kept.as_slice(), c.truncated()), (10, &data[..10], false));
    }
}
