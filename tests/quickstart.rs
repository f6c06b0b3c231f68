//! `tools/quickstart`, the README's first command, run as a newcomer runs it (with the binary
//! this test suite built instead of a release build): it must show the live replica, what /lag
//! says, a failover from A to B with its switch-log line, C following B, equal checksums, and
//! the binlog-file part; and whatever way it ends, it must leave no server or parapply process
//! and no sandbox directory behind. Starts its own MariaDB instances through tools/sandbox.
//!
//! No timing assertions: the script's own waits are bounded by generous deadlines.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU16, Ordering};

static NEXT_SLOT: AtomicU16 = AtomicU16::new(0);

/// A base port with `n` (at most 10) free ports after it, from this process's own range; each
/// call takes another slot, so tests running side by side never pick the same one.
fn free_ports(n: u16) -> u16 {
    let pid = std::process::id() as u16;
    for _ in 0..200u16 {
        let slot = NEXT_SLOT.fetch_add(1, Ordering::SeqCst);
        let base = 21000 + ((pid % 300) * 100 + slot * 10 + 7) % 40000;
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range");
}

struct Run {
    dir: PathBuf,
    http_port: u16,
    out: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
}

/// Run tools/quickstart with its sandbox in target/sandboxes/<pid>-quickstart-<tag>.
fn quickstart(tag: &str, args: &[&str], http_port: Option<u16>) -> Run {
    let base = free_ports(10);
    let http_port = http_port.unwrap_or(base + 8);
    let dir = common::repo_dir().join("target/sandboxes").join(format!("{}-quickstart-{tag}", std::process::id()));
    let out = Command::new(common::repo_dir().join("tools/quickstart"))
        .args(args)
        .env("PARAPPLY_BIN", env!("CARGO_BIN_EXE_parapply"))
        .env("SANDBOX_DIR", &dir)
        .env("SANDBOX_BASE_PORT", base.to_string())
        .env("QUICKSTART_HTTP_PORT", http_port.to_string())
        .output()
        .expect("run tools/quickstart");
    Run { dir, http_port, out }
}

/// Processes whose command line names `dir` (servers of that sandbox, `parapply run` on its config).
fn processes_under(dir: &Path) -> Vec<String> {
    let out = Command::new("pgrep").arg("-af").arg(dir.to_str().unwrap()).output().expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.contains("pgrep")).map(str::to_string).collect()
}

fn assert_cleaned_up(run: &Run) {
    assert!(!run.dir.exists(), "the sandbox directory {} is left behind", run.dir.display());
    assert_eq!(processes_under(&run.dir), Vec::<String>::new(), "processes left behind");
    assert!(TcpListener::bind(("127.0.0.1", run.http_port)).is_ok(), "parapply's endpoints port is still taken");
}

/// The value after `label` on a line of `parapply status` (`applied         209 txns ...`).
fn status_field<'a>(block: &'a str, label: &str) -> &'a str {
    block.lines().find_map(|l| l.strip_prefix(label).filter(|r| r.starts_with(' ')).map(str::trim)).unwrap_or_else(|| panic!("no `{label}` line in:\n{block}"))
}

/// The text between the header line `== {from}` and the next `== ` header.
fn section<'a>(out: &'a str, from: &str) -> &'a str {
    let start = out.find(&format!("== {from}")).unwrap_or_else(|| panic!("no section `== {from}` in:\n{out}"));
    let body = &out[start..];
    let body = &body[body.find('\n').map(|i| i + 1).unwrap_or(body.len())..];
    &body[..body.find("\n== ").unwrap_or(body.len())]
}

/// `NAME table\tchecksum` lines of a checksum section, per instance.
fn checksums(block: &str, name: &str) -> Vec<String> {
    block.lines().filter_map(|l| l.strip_prefix(&format!("  {name} "))).map(str::to_string).collect()
}

#[test]
fn quickstart_shows_the_live_replica_a_failover_and_equal_checksums() {
    let run = quickstart("full", &[], None);
    let out = run.stdout();
    assert!(run.out.status.success(), "tools/quickstart failed: {:?}\nstdout:\n{out}\nstderr:\n{}", run.out.status, run.stderr());

    // The live replica caught up with A, as /lag says: nothing pending, applied = received.
    let lag = section(&out, "what /lag says (parapply status");
    assert_eq!(status_field(lag, "state"), "streaming (ok)", "{lag}");
    assert_eq!(status_field(lag, "backlog"), "0 txns, 0 B, 0 GTIDs behind the source", "{lag}");
    let applied = status_field(lag, "applied");
    let received = status_field(lag, "received");
    let last = received.split("last ").nth(1).expect("received ... last GTID");
    assert!(last.starts_with("1-1-"), "A's domain is 1: {received}");
    assert!(applied.contains(&format!(", last {last} at binlog.000001:")), "applied {applied:?} vs received {received:?}");
    assert!(status_field(lag, "heartbeat lag").ends_with("(basis heartbeat, max 30.0s)"), "{lag}");

    // The failover: A killed, B promoted, the switch log's line as `failover status` prints it.
    let kill = section(&out, "kill -9 A (the writer)");
    let lines: Vec<&str> = kill.lines().collect();
    assert_eq!(lines[0], "sandbox: A killed", "{kill}");
    assert_eq!(lines[1], "B promoted: read_only=0", "{kill}");
    assert!(lines[3].starts_with("  {\"address\":") && lines[3].contains("\"name\":\"A\"") && lines[3].contains("\"up\":false"), "{kill}");
    assert!(lines[3].contains("connect: Input/output error: Connection refused (os error 111)"), "A's error, each cause once: {kill}");
    assert!(lines[4].contains("\"name\":\"B\"") && lines[4].contains("\"read_only\":false") && lines[4].contains("\"up\":true"), "{kill}");
    let switch = lines[5].trim_start();
    let (time, rest) = switch.split_once(' ').expect("time and entry");
    assert!(time.ends_with('Z') && time.len() == "2026-12-02T01:52:01.607Z".len(), "{switch}");
    let (head, timing) = rest.split_once(", detected in ").expect("detection time");
    // Every gate check passed (their number grows with the gate; none may fail), and nothing
    // was lost: A's load had reached B before the kill.
    let (head, estimate) = head.split_once(" ok / 0 failed, ").unwrap_or_else(|| panic!("a failed check: {switch}"));
    let checks = head.strip_prefix("failover A -> B (writer_failed_3_checks), checks ").unwrap_or_else(|| panic!("{switch}"));
    assert!(checks.parse::<u32>().is_ok_and(|n| n >= 6), "{switch}");
    assert_eq!(estimate, "data loss estimate 0 transactions", "{switch}");
    let (detect, switched) = timing.split_once(" ms, switched in ").expect("switch time");
    assert!(detect.parse::<u64>().is_ok() && switched.strip_suffix(" ms").is_some_and(|s| s.parse::<u64>().is_ok()), "{switch}");
    assert_eq!(lines.len(), 6, "{kill}");

    // C follows B: the applier's log says so, and /lag now shows B's domain applied.
    let follows = section(&out, "load on B, the new writer");
    let streaming: Vec<&str> = follows.lines().filter(|l| l.contains("applier streaming from the writer")).collect();
    assert_eq!(streaming.first().map(|l| l.contains("writer=A")), Some(true), "{follows}");
    assert_eq!(streaming.last().map(|l| l.contains("writer=B") && l.contains("start=GTID position '1-1-")), Some(true), "{follows}");
    let now = section(&out, "what /lag says now");
    assert_eq!(status_field(now, "state"), "streaming (ok)", "{now}");
    assert_eq!(status_field(now, "backlog"), "0 txns, 0 B, 0 GTIDs behind the source", "{now}");
    assert!(status_field(now, "applied").contains(", last 2-2-"), "B's own domain (2) applied: {now}");

    // Equal checksums, B (the writer) and C (parapply's replica), then B and D (replay).
    let sums = section(&out, "checksums (B, the writer, vs C");
    let b = checksums(sums, "B");
    assert_eq!(b.len(), 2, "{sums}");
    assert!(b[0].starts_with("shop.customer\t") && b[1].starts_with("shop.orders\t"), "{sums}");
    assert_eq!(checksums(sums, "C"), b);
    let tail: Vec<&str> = sums.lines().rev().take(2).collect();
    assert_eq!(tail[1], "checksums equal: B and C", "{sums}");
    assert!(tail[0].starts_with("(part 1 took ") && tail[0].ends_with(" s)"), "{sums}");
    let inspect = section(&out, "part 2: binlog files");
    assert_eq!(inspect.lines().count(), 5, "{inspect}");
    assert!(inspect.lines().all(|l| l.starts_with("1-1-")), "A's first transactions, as B logged them: {inspect}");
    let analyze = section(&out, "parapply analyze --workers 8");
    for mode in ["serial", "logical_clock", "writeset", "writeset_session"] {
        assert!(analyze.lines().any(|l| l.starts_with(&format!("{mode} "))), "{mode} in:\n{analyze}");
    }
    assert!(analyze.contains("hottest keys (transactions touching them; #hash tells keys apart); values hidden, --show-values shows them:"), "{analyze}");
    let replay = section(&out, "parapply replay -> D");
    assert!(replay.lines().any(|l| l.starts_with("replay: ") && l.contains(" transactions applied (0 already on target, skipped)")), "{replay}");
    let sums_d = section(&out, "checksums (B vs D)");
    assert_eq!(checksums(sums_d, "B"), b);
    assert_eq!(checksums(sums_d, "D"), b);
    let tail: Vec<&str> = sums_d.lines().rev().take(2).collect();
    assert_eq!(tail[1], "checksums equal: B and D", "{sums_d}");
    assert!(tail[0].starts_with("(parts 1 and 2 took ") && tail[0].ends_with(" s)"), "{sums_d}");

    assert_cleaned_up(&run);
}

#[test]
fn quickstart_that_fails_says_why_and_leaves_nothing_behind() {
    // parapply's endpoints port is taken: `run` cannot start, the script must stop with its log.
    let blocker = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let run = quickstart("fail", &["--live-only"], Some(port));
    let err = run.stderr();
    assert_eq!(run.out.status.code(), Some(1), "stdout:\n{}\nstderr:\n{err}", run.stdout());
    assert!(err.contains("quickstart: parapply run exited\nquickstart: failed (exit 1); last lines of parapply's log:\n"), "{err}");
    assert!(err.contains(&format!("error: starting the monitor: http: config key `http.listen` = \"127.0.0.1:{port}\": Address already in use")), "parapply's own reason: {err}");
    drop(blocker);
    assert_cleaned_up(&run);
}

#[test]
fn quickstart_help_and_a_wrong_argument() {
    let out = Command::new(common::repo_dir().join("tools/quickstart")).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.starts_with("tools/quickstart — parapply's main job") && text.contains("Usage: tools/quickstart [--live-only] [--keep]"), "{text}");
    let out = Command::new(common::repo_dir().join("tools/quickstart")).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "quickstart: unknown argument '--bogus' (try --help)\n");
}
