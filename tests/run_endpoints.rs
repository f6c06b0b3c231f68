//! `parapply run --config FILE` as a DBA runs it: the real binary, one TOML file, real servers.
//! The endpoints (/lag /metrics /health /status) and the heartbeat come up with the applier,
//! report exact positions and counts, turn `target_down` (lag growing, /health 503) when the
//! target dies, and SIGTERM stops the process cleanly. With `[failover]`, the same process hosts
//! the watcher and follows a `kill -9` of the writer A to B, ending with C equal to B.
//!
//! No timing assertions: waits poll for a condition with a generous deadline.

mod common;
mod failover_support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Sandbox;
use parapply::http::http_get;
use parapply::source::gtid::MariadbGtidPos;
use serde_json::Value as Json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// GET `path`; `None` while nothing listens yet.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(http_get(&format!("http://{addr}"), path, Duration::from_secs(10))).ok()
}

fn get_json(addr: SocketAddr, path: &str) -> Json {
    let (code, body) = get(addr, path).expect("endpoint answers");
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

use common::wait_for;

/// `parapply run`, killed when dropped (unless it already exited).
struct RunProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl RunProcess {
    fn spawn(config: &Path, from: Option<&str>, log: &Path) -> RunProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parapply"));
        cmd.arg("run").arg("--config").arg(config);
        if let Some(f) = from {
            cmd.arg("--from").arg(f);
        }
        let out = std::fs::File::create(log).unwrap();
        let child = cmd.env("RUST_LOG", "info").env("NO_COLOR", "1").stdout(Stdio::null()).stderr(out).spawn().expect("spawn parapply run");
        RunProcess { child, log: log.to_path_buf() }
    }
    /// The process's log, without terminal colour codes.
    fn log_text(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
    /// SIGTERM, then wait (bounded) for the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "parapply run ignored SIGTERM for 60 s; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RunProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Seq of `domain` in a GTID position text ("1-1-5,2-2-9").
fn seq(pos: &str, domain: u32) -> u64 {
    MariadbGtidPos::parse(pos.trim()).ok().and_then(|p| p.get(domain)).map(|(_, s)| s).unwrap_or(0)
}

/// Domain and seq of one GTID text ("1-1-5").
fn gtid_parts(g: &str) -> (u32, u64) {
    let mut it = g.split('-');
    let d = it.next().and_then(|x| x.parse().ok()).unwrap();
    let _server = it.next();
    (d, it.next().and_then(|x| x.parse().ok()).unwrap())
}

/// A counter's value in Prometheus text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

#[test]
fn run_serves_exact_lag_and_metrics_then_reports_target_down() {
    let sb = Sandbox::start(&["A", "C"], "");
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let config = dir.path().join("parapply.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\nserver_id = 4200001\n\n\
             [target]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\n\
             [apply]\nworkers = 4\nwindow = 64\n\n\
             [lag]\nheartbeat_interval_ms = 500\nmax_lag_s = 10.0\nstall_timeout_s = 30.0\n\n\
             [http]\nenabled = true\nlisten = \"127.0.0.1:{http_port}\"\n",
            sb.port("A"),
            sb.port("C")
        ),
    )
    .unwrap();
    // Start at A's current position: every transaction after it is one the run must apply.
    let start = sb.sql("A", "SELECT @@gtid_binlog_pos");
    let domain: u32 = sb.sql("A", "SELECT @@gtid_domain_id").parse().unwrap();
    let mut run = RunProcess::spawn(&config, (!start.is_empty()).then_some(start.as_str()), &dir.path().join("run.log"));
    wait_for("the endpoints", 60, || get(addr, "/health/live").map(|_| ()));
    assert_eq!(get_json(addr, "/status")["command"], "run");

    // 20 single-row transactions and one of 3 rows, after the two DDL statements.
    sb.sql("A", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    for i in 1..=20 {
        sb.sql("A", &format!("INSERT INTO app.t VALUES ({i}, {i})"));
    }
    sb.sql("A", "BEGIN; INSERT INTO app.t VALUES (21, 1); INSERT INTO app.t VALUES (22, 2); UPDATE app.t SET v = 100 WHERE id = 1; COMMIT");
    let user_rows = 20 + 3;

    // Caught up: the applied GTID is A's position, read before and after /lag (A keeps
    // receiving heartbeats, so equality needs a quiet moment between two of them).
    let lag = wait_for("applied position == A's @@gtid_binlog_pos with heartbeat lag measured", 90, || {
        let before = sb.sql("A", "SELECT @@gtid_binlog_pos");
        let l = get_json(addr, "/lag");
        let after = sb.sql("A", "SELECT @@gtid_binlog_pos");
        let applied = l["applied"]["last_gtid"].as_str()?.to_string();
        let (d, s) = gtid_parts(&applied);
        (before == after && d == domain && s == seq(&after, domain) && l["heartbeat_lag_basis"] == "heartbeat").then_some(l)
    });
    eprintln!("caught up: {lag}");
    let hb_lag = lag["heartbeat_lag_seconds"].as_f64().expect("heartbeat lag is a number");
    assert!(hb_lag > 0.0 && hb_lag < 10.0, "heartbeat lag {hb_lag}");
    assert_eq!(lag["state"], "streaming");
    assert_eq!(lag["backlog"]["transactions"], 0);
    assert_eq!(lag["backlog"]["gtid_distance"], 0);
    // Every transaction A logged since `start` was applied exactly once, and nothing else.
    let (_, applied_seq) = gtid_parts(lag["applied"]["last_gtid"].as_str().unwrap());
    assert_eq!(lag["applied"]["transactions"].as_u64().unwrap(), applied_seq - seq(&start, domain));
    // Row changes: ours plus one per heartbeat (an upsert of one row).
    assert_eq!(lag["applied"]["rows"].as_u64().unwrap(), user_rows + lag["applied"]["heartbeats"].as_u64().unwrap());
    assert_eq!(sb.sql("C", "SELECT COUNT(*), SUM(v) FROM app.t"), sb.sql("A", "SELECT COUNT(*), SUM(v) FROM app.t"));
    assert_eq!(sb.sql("C", "SELECT COUNT(*), SUM(v) FROM app.t"), "22\t312");

    // /metrics: the counter equals /lag's count, read between two equal /lag reads.
    let (applied, text) = wait_for("a /metrics scrape between two equal /lag reads", 60, || {
        let a = get_json(addr, "/lag")["applied"]["transactions"].as_u64()?;
        let (code, text) = get(addr, "/metrics")?;
        assert_eq!(code, 200);
        let b = get_json(addr, "/lag")["applied"]["transactions"].as_u64()?;
        (a == b).then_some((a, text))
    });
    assert_eq!(metric(&text, "parapply_applied_transactions_total"), Some(applied as f64), "{text}");
    // The live scheduler: one parallelism sample per dispatched transaction, and the DDL
    // (ours and the heartbeat table's) counted as barriers.
    assert_eq!(metric(&text, "parapply_scheduler_parallelism_count"), Some(applied as f64), "{text}");
    assert!(metric(&text, "parapply_barriers_total{reason=\"ddl\"}").is_some_and(|n| n >= 2.0), "{text}");
    let m_lag = metric(&text, "parapply_heartbeat_lag_seconds").expect("parapply_heartbeat_lag_seconds exported");
    assert!(m_lag > 0.0 && m_lag < 10.0, "{m_lag}");
    assert_eq!(metric(&text, "parapply_state{state=\"streaming\"}"), Some(1.0), "{text}");
    assert_eq!(get(addr, "/health").map(|(c, _)| c), Some(200));

    // The target dies: target_down, the lag keeps growing, /health 503 with the reason.
    sb.kill("C");
    let deadline = Instant::now() + Duration::from_secs(120);
    let down = loop {
        let l = get_json(addr, "/lag");
        if l["state"] == "target_down" {
            break l;
        }
        assert!(Instant::now() < deadline, "no target_down after 120 s: {l}\nlog:\n{}", run.log_text());
        std::thread::sleep(Duration::from_millis(100));
    };
    let l1 = down["heartbeat_lag_seconds"].as_f64().expect("a number while the target is down");
    std::thread::sleep(Duration::from_millis(1500));
    let later = get_json(addr, "/lag");
    let l2 = later["heartbeat_lag_seconds"].as_f64().expect("a number while the target is down");
    assert!(l1 > 0.0 && l2 > l1, "lag {l1} then {l2}");
    assert_eq!(later["state"], "target_down");
    assert_eq!(later["target_up"], false);
    assert_eq!(get(addr, "/health"), Some((503, "target down\n".to_string())));
    assert_eq!(metric(&get(addr, "/metrics").unwrap().1, "parapply_state{state=\"target_down\"}"), Some(1.0));

    // SIGTERM: a clean stop, exit 0, even with the target down.
    let st = run.terminate();
    assert!(st.success(), "exit {st:?}; log:\n{}", run.log_text());
}

#[test]
fn run_with_failover_follows_a_killed_writer_to_b() {
    use failover_support::{setup_app, table_digest, Load};

    let sb = Sandbox::start(&["A", "B", "C"], "");
    setup_app(&sb);
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let switch_log = dir.path().join("switch.jsonl");
    let config = dir.path().join("parapply.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {a}\nuser = \"root\"\nserver_id = 4200002\n\n\
             [target]\nhost = \"127.0.0.1\"\nport = {c}\nuser = \"root\"\n\n\
             [apply]\nworkers = 4\nwindow = 64\n\n\
             [http]\nlisten = \"127.0.0.1:{http_port}\"\n\n\
             [failover]\nswitch_log = {log:?}\n\n\
             [[failover.servers]]\nname = \"A\"\nhost = \"127.0.0.1\"\nport = {a}\nuser = \"root\"\n\n\
             [[failover.servers]]\nname = \"B\"\nhost = \"127.0.0.1\"\nport = {b}\nuser = \"root\"\n",
            a = sb.port("A"),
            b = sb.port("B"),
            c = sb.port("C"),
            log = switch_log.display().to_string(),
        ),
    )
    .unwrap();
    let mut run = RunProcess::spawn(&config, None, &dir.path().join("run.log"));
    wait_for("the endpoints", 60, || get(addr, "/health/live").map(|_| ()));
    wait_for("the hosted watcher healthy on /status", 60, || {
        let s = get_json(addr, "/status");
        (s["failover"]["state"] == "healthy" && s["failover"]["writer"] == "A").then_some(())
    });

    let load = Load::start(vec![sb.port("A"), sb.port("B")], "1", Duration::from_millis(2));
    // The table itself reaches C through the applier too: until it does, `app.t` is no error.
    wait_for("the load's rows on C", 60, || (sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 't'") == "1" && sb.sql("C", "SELECT COUNT(*) > 100 FROM app.t") == "1").then_some(()));
    sb.kill("A");
    let st = wait_for("the promotion on /status", 60, || {
        let s = get_json(addr, "/status");
        (s["failover"]["promotions"] == 1).then_some(s)
    });
    assert_eq!(st["failover"]["writer"], "B", "{st}");
    wait_for("a write on B", 60, || (load.current_port.load(std::sync::atomic::Ordering::Relaxed) == sb.port("B")).then_some(()));
    std::thread::sleep(Duration::from_secs(2));
    let result = load.stop();
    assert!(result.ok.iter().any(|(_, p, _)| *p == sb.port("B")), "writes succeeded on B");
    assert_eq!(sb.sql("B", "SELECT @@read_only"), "0");

    // The applier in the same process followed: C ends equal to B, and /lag shows B's position.
    wait_for("C to apply everything B has", 120, || (table_digest(&sb, "C") == table_digest(&sb, "B")).then_some(()));
    let b_domain: u32 = sb.sql("B", "SELECT @@gtid_domain_id").parse().unwrap();
    wait_for("/lag applied position at B's own writes", 60, || {
        let pos = sb.sql("B", "SELECT @@gtid_binlog_pos");
        let l = get_json(addr, "/lag");
        let g = l["applied"]["last_gtid"].as_str()?.to_string();
        let (d, s) = gtid_parts(&g);
        (d == b_domain && s == seq(&pos, b_domain) && l["state"] != "source_down").then_some(())
    });
    assert_eq!(table_digest(&sb, "C"), table_digest(&sb, "B"));
    let entries = failover_support::entries(&switch_log);
    let failovers: Vec<_> = entries.iter().filter(|e| e.event == "failover").collect();
    assert_eq!(failovers.len(), 1, "{entries:#?}");
    assert_eq!((failovers[0].old_writer.as_deref(), failovers[0].new_writer.as_deref()), (Some("A"), Some("B")));

    let st = run.terminate();
    let log = run.log_text();
    assert!(st.success(), "exit {st:?}; log:\n{log}");
    assert!(log.contains("applier streaming from the writer") && log.contains("writer=B"), "{log}");
}
