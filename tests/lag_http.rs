//! Honest lag and the monitor endpoints, against real parts: the HTTP server on an ephemeral
//! port, a real heartbeat writer on a sandbox MariaDB source (its binlog read back through the
//! project's own file reader and assembler, as the pipeline would), pt-heartbeat reading our table,
//! a real Prometheus scraping `/metrics`, and a real HAProxy health-checking `/health`.
//!
//! No timing assertions: waits poll for a condition with a generous deadline; lag values are
//! compared with bounds that follow from what the test did (e.g. a note 100 s in the past).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Sandbox;
use parapply::config::{Config, Endpoint, LagConfig};
use parapply::decode::event::TableMap;
use parapply::decode::value::{Row, Value};
use parapply::heartbeat;
use parapply::source::TxnSourceError;
use parapply::lag::heartbeat_row::{heartbeat_id_in, heartbeat_row_in, TableRef};
use parapply::http::{http_get, http_get_auth, HttpServer, StatusInfo};
use parapply::lag::{Progress, SchedulerMetrics, SourcePosition};
use parapply::source::file::BinlogFiles;
use parapply::txn::{BinlogPos, Change, Gtid, RowChange, RowKind, RowsChange, Transaction, TransactionReader};
use serde_json::Value as Json;

// ---------- helpers ----------

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    rt().block_on(http_get(&format!("http://{addr}"), path, Duration::from_secs(10))).unwrap()
}

fn get_json(addr: SocketAddr, path: &str) -> Json {
    let (code, body) = get(addr, path);
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn lag_cfg(max_lag_s: f64, interval_ms: u64) -> LagConfig {
    LagConfig { max_lag_s, heartbeat_interval_ms: interval_ms, ..LagConfig::default() }
}

fn test_config() -> Config {
    Config::from_toml("[source]\nport=1\npassword='hunter2'\n[target]\nport=2\npassword='swordfish'\n", "test").unwrap()
}

fn serve(p: &Arc<Progress>) -> HttpServer {
    HttpServer::start("127.0.0.1:0", p.clone(), StatusInfo::from_config(&test_config(), "test")).unwrap()
}

use common::wait_for;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn keys(v: &Json) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// Raw request bytes; returns everything the server sent until it closed (or 10 s passed).
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                // A complete small response is enough; the server may keep the connection.
                if out.windows(4).any(|w| w == b"\r\n\r\n") && out.len() > 12 {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const LIVE: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";

/// [`raw`] over a connection from the local address `src` (any 127.x.y.z reaches loopback
/// listeners on Linux): another client, as the server's per-peer cap sees it.
fn raw_from(src: &str, addr: SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt().block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
        let mut s = sock.connect(addr).await.unwrap();
        s.write_all(bytes).await.unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(n)) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.windows(4).any(|w| w == b"\r\n\r\n") && out.len() > 12 {
                        break;
                    }
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// A user transaction of 3 inserted rows, 500 bytes.
fn user_txn(seq: u64, commit_time_us: u64) -> Transaction {
    let table = Arc::new(TableMap { schema: "db".into(), table: "t".into(), ..Default::default() });
    let rows = vec![RowChange { before: None, after: Some(Row { cols: vec![Some(Value::Int(seq as i64))] }) }; 3];
    Transaction {
        gtid: Some(Gtid::Mariadb { domain: 0, server_id: 1, seq }),
        commit_time_us,
        size: 500,
        pos: BinlogPos { file: "binlog.000001".into(), start: 4, end: 504, end_file: "binlog.000001".into() },
        changes: vec![Change::Rows(RowsChange { raw: None, table, kind: RowKind::Insert, rows, flags: 0 })],
        ..Default::default()
    }
}

/// Simulated heartbeat round trip: written (noted now) and applied at once.
fn round_trip(p: &Progress, id: u64) {
    p.on_heartbeat_written(id, Instant::now());
    p.on_heartbeat_applied(id);
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------- /lag, /health, /status, errors ----------

#[test]
fn lag_json_has_exact_fields_and_states_follow_the_pipeline() {
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = serve(&p);
    let addr = srv.local_addr();

    let lag = get_json(addr, "/lag");
    assert_eq!(
        keys(&lag),
        sorted(&[
            "state",
            "heartbeat_lag_seconds",
            "heartbeat_lag_basis",
            "event_lag_seconds",
            "backlog",
            "received",
            "applied",
            "source",
            "target_up",
            "max_lag_seconds",
            "healthy",
            "health_reason"
        ])
    );
    assert_eq!(keys(&lag["backlog"]), sorted(&["transactions", "bytes", "gtid_distance"]));
    assert_eq!(keys(&lag["received"]), sorted(&["transactions", "bytes", "last_gtid", "last_commit_time_us"]));
    assert_eq!(keys(&lag["applied"]), sorted(&["transactions", "rows", "bytes", "heartbeats", "last_gtid", "file", "pos", "last_commit_time_us"]));
    assert_eq!(keys(&lag["source"]), sorted(&["up", "stream_up", "heartbeat_writer_up", "gtids", "file", "pos"]));
    assert_eq!(lag["state"], "streaming");
    assert_eq!(lag["heartbeat_lag_basis"], "since_start");
    // Never 0 before the first round trip: it is the time since start.
    assert!(lag["heartbeat_lag_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!((lag["healthy"].as_bool(), lag["health_reason"].as_str(), lag["max_lag_seconds"].as_f64()), (Some(true), Some("ok"), Some(30.0)));

    // Positions as the stages report them.
    for seq in 1..=3 {
        p.on_received(500, Some(&Gtid::Mariadb { domain: 0, server_id: 1, seq }), seq * 1_000_000);
    }
    p.on_applied(&user_txn(1, 1_000_000), 0);
    p.seed_applied_gtids(&[Gtid::Mariadb { domain: 0, server_id: 1, seq: 0 }]);
    p.set_source_position(SourcePosition { gtids: vec![Gtid::Mariadb { domain: 0, server_id: 1, seq: 5 }], file: Some("binlog.000001".into()), pos: Some(9000) });
    let lag = get_json(addr, "/lag");
    assert_eq!(lag["backlog"], serde_json::json!({"transactions": 2, "bytes": 1000, "gtid_distance": 4}));
    assert_eq!(lag["received"], serde_json::json!({"transactions": 3, "bytes": 1500, "last_gtid": "0-1-3", "last_commit_time_us": 3_000_000}));
    assert_eq!(
        lag["applied"],
        serde_json::json!({"transactions": 1, "rows": 3, "bytes": 500, "heartbeats": 0, "last_gtid": "0-1-1", "file": "binlog.000001", "pos": 504, "last_commit_time_us": 1_000_000})
    );
    assert_eq!(lag["source"], serde_json::json!({"up": true, "stream_up": true, "heartbeat_writer_up": true, "gtids": ["0-1-5"], "file": "binlog.000001", "pos": 9000}));
    // Source commit time 1 s after the epoch: event lag is decades.
    assert!(lag["event_lag_seconds"].as_f64().unwrap() > 1.0e9);

    assert_eq!(get(addr, "/health"), (200, "ok\n".to_string()));
    assert_eq!(get(addr, "/health/ready"), (200, "ok\n".to_string()));
    assert_eq!(get(addr, "/health/live"), (200, "ok\n".to_string()));

    p.set_target_up(false);
    assert_eq!(get_json(addr, "/lag")["state"], "target_down");
    assert_eq!(get(addr, "/health"), (503, "target down\n".to_string()));
    p.set_target_up(true);

    // Source down alone is not unhealthy until the lag passes max_lag; the state says it.
    p.set_source_up(false);
    let lag = get_json(addr, "/lag");
    assert_eq!((lag["state"].as_str(), lag["source"]["up"].as_bool()), (Some("source_down"), Some(false)));
    assert_eq!(get(addr, "/health").0, 200);
    p.set_source_up(true);

    let status = get_json(addr, "/status");
    for k in ["version", "command", "mode", "workers", "config", "uptime_seconds", "lag", "heartbeat", "apply_rate_tps", "eta_seconds", "worker_stats", "retries", "errors", "reconnects", "conflicts"] {
        assert!(status.get(k).is_some(), "/status lacks {k}: {status}");
    }
    assert_eq!((status["command"].as_str(), status["mode"].as_str(), status["workers"].as_u64()), (Some("test"), Some("writeset"), Some(8)));
    assert_eq!(status["config"]["source"]["password"], "<redacted>");
    assert_eq!(status["config"]["target"]["password"], "<redacted>");
    assert_eq!(status["lag"]["applied"]["last_gtid"], "0-1-1");
    let (_, body) = get(addr, "/status");
    assert!(!body.contains("hunter2") && !body.contains("swordfish"), "secret leaked: {body}");

    p.set_stopped();
    assert_eq!(get_json(addr, "/lag")["state"], "stopped");
    assert_eq!(get(addr, "/health"), (503, "stopped\n".to_string()));
    assert_eq!(get(addr, "/health/live"), (200, "ok\n".to_string()));

    assert_eq!(get(addr, "/nope").0, 404);
    assert_eq!(get(addr, "/lag/extra").0, 404);
    let post = raw(addr, b"POST /lag HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    srv.shutdown();
    assert!(TcpStream::connect(addr).is_err(), "server still accepting after shutdown");
}

#[test]
fn heartbeat_lag_grows_while_nothing_applies_and_health_flips_around_max_lag() {
    let p = Progress::new(&lag_cfg(1.0, 200));
    let srv = serve(&p);
    let addr = srv.local_addr();
    round_trip(&p, 1);
    let first = get_json(addr, "/lag");
    assert_eq!(first["heartbeat_lag_basis"], "heartbeat");
    assert_eq!(get(addr, "/health"), (200, "ok\n".to_string()));

    // Nothing newer applied: the lag keeps growing past max_lag and /health says why.
    let body = wait_for("/health to turn 503", 30, || {
        let (code, body) = get(addr, "/health");
        (code == 503).then_some(body)
    });
    assert!(body.starts_with("heartbeat lag ") && body.ends_with("s >= max_lag 1s\n"), "{body}");
    let later = get_json(addr, "/lag");
    let (l1, l2) = (first["heartbeat_lag_seconds"].as_f64().unwrap(), later["heartbeat_lag_seconds"].as_f64().unwrap());
    assert!(l2 >= 1.0 && l2 > l1, "lag did not grow: {l1} then {l2}");
    assert_eq!(later["healthy"], false);
    // Beyond the heartbeat sawtooth (2 × 0.2 s + 1 s) the state says catching_up.
    wait_for("catching_up", 30, || (get_json(addr, "/lag")["state"] == "catching_up").then_some(()));

    // A heartbeat written and applied now: back under max_lag at once.
    p.on_heartbeat_written(2, Instant::now());
    assert_eq!(get(addr, "/health").0, 503, "written but not applied must not reset the lag");
    p.on_heartbeat_applied(2);
    assert_eq!(get(addr, "/health"), (200, "ok\n".to_string()));
    let reset = get_json(addr, "/lag");
    assert!(reset["heartbeat_lag_seconds"].as_f64().unwrap() < l2);
    assert_eq!(reset["state"], "streaming");
}

#[test]
fn metrics_are_valid_text_with_the_exact_names() {
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = serve(&p);
    let addr = srv.local_addr();
    for seq in 1..=3 {
        p.on_received(500, Some(&Gtid::Mariadb { domain: 0, server_id: 1, seq }), 1);
    }
    p.on_applied(&user_txn(1, 1), 0);
    p.on_conflict("db.t");
    p.on_retry();
    p.on_reconnect();
    p.worker_busy(1, Duration::from_millis(1500));
    p.seed_applied_gtids(&[Gtid::Mariadb { domain: 0, server_id: 1, seq: 1 }]);
    p.set_source_position(SourcePosition { gtids: vec![Gtid::Mariadb { domain: 0, server_id: 1, seq: 4 }], file: None, pos: None });
    p.set_scheduler_snapshot(SchedulerMetrics {
        parallelism_buckets: vec![(1.0, 3), (2.0, 4), (f64::MAX, 1)],
        parallelism_sum: 14.0,
        parallelism_count: 8,
        barriers: [("ddl".to_string(), 2)].into(),
    });
    let text = raw(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"), "{head}");
    let (_, body) = get(addr, "/metrics");

    // Every line is a comment we know or `name{labels} value`.
    let mut types = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.push((name.to_string(), kind.to_string()));
            continue;
        }
        if line.starts_with("# HELP ") || line == "# EOF" {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "bad value in {line:?}");
        let name = series.split('{').next().unwrap();
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name in {line:?}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')), "bad labels in {line:?}");
        }
        assert!(name.starts_with("parapply_"), "{line}");
    }
    assert_eq!(body.lines().last(), Some("# EOF"));
    let expected: Vec<(String, String)> = [
        ("parapply_heartbeat_lag_seconds", "gauge"),
        ("parapply_event_lag_seconds", "gauge"),
        ("parapply_backlog_transactions", "gauge"),
        ("parapply_backlog_bytes", "gauge"),
        ("parapply_backlog_gtids", "gauge"),
        ("parapply_received_transactions", "counter"),
        ("parapply_received_bytes", "counter"),
        ("parapply_applied_transactions", "counter"),
        ("parapply_applied_rows", "counter"),
        ("parapply_applied_bytes", "counter"),
        ("parapply_applied_heartbeats", "counter"),
        ("parapply_apply_rate_transactions_per_second", "gauge"),
        ("parapply_apply_rate_bytes_per_second", "gauge"),
        ("parapply_worker_busy_ratio", "gauge"),
        ("parapply_worker_busy_seconds", "counter"),
        ("parapply_scheduler_parallelism", "histogram"),
        ("parapply_barriers", "counter"),
        ("parapply_retries", "counter"),
        ("parapply_conflicts", "counter"),
        ("parapply_errors", "counter"),
        ("parapply_source_reconnects", "counter"),
        ("parapply_state", "gauge"),
        ("parapply_max_lag_seconds", "gauge"),
        ("parapply_uptime_seconds", "gauge"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(types, expected);
    for line in [
        "parapply_backlog_transactions 2.0",
        "parapply_backlog_bytes 1000.0",
        "parapply_backlog_gtids 3.0",
        "parapply_received_transactions_total 3",
        "parapply_applied_transactions_total 1",
        "parapply_applied_rows_total 3",
        "parapply_applied_bytes_total 500",
        "parapply_worker_busy_seconds_total{worker=\"1\"} 1.5",
        "parapply_scheduler_parallelism_sum 14.0",
        "parapply_scheduler_parallelism_count 8",
        "parapply_scheduler_parallelism_bucket{le=\"1.0\"} 3",
        "parapply_scheduler_parallelism_bucket{le=\"2.0\"} 7",
        "parapply_scheduler_parallelism_bucket{le=\"+Inf\"} 8",
        "parapply_barriers_total{reason=\"ddl\"} 2",
        "parapply_retries_total 1",
        "parapply_conflicts_total{table=\"db.t\"} 1",
        "parapply_errors_total 0",
        "parapply_source_reconnects_total 1",
        "parapply_state{state=\"streaming\"} 1",
        "parapply_state{state=\"catching_up\"} 0",
        "parapply_state{state=\"stalled\"} 0",
        "parapply_state{state=\"source_down\"} 0",
        "parapply_state{state=\"target_down\"} 0",
        "parapply_state{state=\"stopped\"} 0",
        "parapply_max_lag_seconds 30.0",
    ] {
        assert!(body.lines().any(|l| l == line), "missing {line:?} in\n{body}");
    }

    // Every series the shipped Grafana dashboard queries is one we export.
    let samples: std::collections::BTreeSet<&str> = body.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split([' ', '{']).next()).collect();
    let dash: Json = serde_json::from_str(&std::fs::read_to_string(common::repo_dir().join("tools/grafana-dashboard.json")).unwrap()).unwrap();
    let mut used = std::collections::BTreeSet::new();
    for panel in dash["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(i) = rest.find("parapply_") {
                let tail = &rest[i..];
                let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
                used.insert(tail[..end].to_string());
                rest = &tail[end..];
            }
        }
    }
    assert!(used.len() >= 15, "{used:?}");
    for name in &used {
        assert!(samples.contains(name.as_str()), "dashboard uses {name}, which /metrics does not export");
    }
}

#[test]
fn garbage_and_slowloris_clients_do_not_hurt_the_server() {
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = serve(&p);
    let addr = srv.local_addr();

    let garbage = raw(addr, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage:?}");
    let huge = raw(addr, format!("GET /lag HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(100_000)).as_bytes());
    assert!(huge.starts_with("HTTP/1.1 431 Request Header Fields Too Large"), "{huge:?}");

    // Slowloris: half a request head, never finished.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /lag HTTP/1.1\r\nHost: x\r\n").unwrap();
    // Others are served meanwhile (the server is not single-request-at-a-time).
    assert_eq!(get(addr, "/health/live"), (200, "ok\n".to_string()));
    // The half request is cut off by the header timeout (5 s): read ends, it never hangs.
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = Vec::new();
    match slow.read_to_end(&mut buf) {
        Ok(_) => assert_eq!(String::from_utf8_lossy(&buf), "", "closed without a response"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "slowloris connection was not closed: {e}"),
    }

    // Many idle connections at once from one client, then another client is still served (the
    // first holds at most http.max_connections_per_peer of the slots).
    let idle: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(addr).unwrap()).collect();
    assert!(raw_from("127.0.0.2", addr, LIVE).starts_with("HTTP/1.1 200 OK"));
    drop(idle);
    wait_for("127.0.0.1 served again", 30, || raw(addr, LIVE).starts_with("HTTP/1.1 200 OK").then_some(()));
    // Still answering with real data (no heartbeat has made a round trip in this test).
    assert_eq!(get_json(addr, "/lag")["heartbeat_lag_basis"], "since_start");
}

// ---------- parapply status ----------

#[test]
fn status_command_prints_a_readable_summary_and_exit_code() {
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = serve(&p);
    let addr = srv.local_addr();
    for seq in 1..=3 {
        p.on_received(500, Some(&Gtid::Mariadb { domain: 0, server_id: 1, seq }), 1);
    }
    p.on_applied(&user_txn(1, 1), 0);
    round_trip(&p, 7);
    let bin = env!("CARGO_BIN_EXE_parapply");
    let out = Command::new(bin).args(["status", "--http", &format!("http://{addr}")]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with(&format!("parapply        {} — test, mode writeset, 8 workers, up ", env!("CARGO_PKG_VERSION"))), "{stdout}");
    assert_eq!(lines[1], "state           streaming (ok)");
    assert!(lines[2].starts_with("heartbeat lag   0.") && lines[2].ends_with("s (basis heartbeat, max 30.0s)"), "{stdout}");
    assert_eq!(lines[4], "backlog         2 txns, 1000 B");
    assert_eq!(lines[5], "received        3 txns, last 0-1-3");
    assert_eq!(lines[6], "applied         1 txns (3 rows), last 0-1-1 at binlog.000001:504");
    assert_eq!(lines[9], "counters        retries 0, errors 0, reconnects 0, conflicts none");

    let json = Command::new(bin).args(["status", "--json", "--http", &format!("http://{addr}")]).output().unwrap();
    let v: Json = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["lag"]["state"], "streaming");
    assert_eq!(v["status"]["config"]["source"]["password"], "<redacted>");

    p.set_stopped();
    let out = Command::new(bin).args(["status", "--http", &format!("http://{addr}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l == "state           stopped (stopped)"));

    let port = free_port();
    let out = Command::new(bin).args(["status", "--http", &format!("http://127.0.0.1:{port}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("cannot connect to 127.0.0.1:{port}")), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Issue 19: `status --config FILE` asks the `http.listen` of that config, like every other
/// command takes `--config`; the rest of the file (servers, password variables that are not set
/// in this shell) is not needed for that.
#[test]
fn status_reads_http_listen_from_the_config() {
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = serve(&p);
    let addr = srv.local_addr();
    p.on_applied(&user_txn(1, 1), 0);
    round_trip(&p, 7);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("parapply.toml");
    std::fs::write(
        &cfg,
        format!("[source]\nhost = \"127.0.0.1\"\npassword_env = \"PARAPPLY_TEST_UNSET_PASSWORD\"\n[target]\nport = 3307\n[http]\nlisten = \"0.0.0.0:{}\"\n", addr.port()),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_parapply");
    let out = Command::new(bin).args(["status", "--config"]).arg(&cfg).env_remove("PARAPPLY_TEST_UNSET_PASSWORD").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().nth(1), Some("state           streaming (ok)"), "{stdout}");

    // --http still wins over the config.
    let port = free_port();
    let out = Command::new(bin).args(["status", "--config"]).arg(&cfg).args(["--http", &format!("http://127.0.0.1:{port}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("cannot connect to 127.0.0.1:{port}")), "{}", String::from_utf8_lossy(&out.stderr));

    // Endpoints switched off in the config: said, not a connection error.
    std::fs::write(&cfg, "[source]\n[target]\n[http]\nenabled = false\n").unwrap();
    let out = Command::new(bin).args(["status", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), format!("error: {}: `http.enabled = false`: the endpoints `status` reads are off", cfg.display()));
}

// ---------- access: /status token, redaction, per-client cap ----------

/// A config with a `/status` token from a 0600 file, hooks whose command lines carry secrets, a
/// target password file, and a per-client cap of 3 connections. Returns the config and the
/// paths that must not show on /status.
fn access_config(dir: &Path, listen: &str) -> (Config, PathBuf, String) {
    use std::os::unix::fs::PermissionsExt;
    let token_file = dir.join("status.token");
    std::fs::write(&token_file, "tok-3f9a1c\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pw_file = dir.join("target.pw");
    std::fs::write(&pw_file, "target-pw-77\n").unwrap();
    std::fs::set_permissions(&pw_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = format!(
        "[source]\nport=1\npassword='hunter2'\n[target]\nport=2\npassword_file='{pw}'\n\
         [http]\nlisten='{listen}'\nstatus_token_file='{tok}'\nmax_connections_per_peer=3\n\
         [failover]\non_promote=[\"curl -fsS -H 'X-Api-Key: hookkey-51' http://lb.local/switch\"]\n\
         on_reader_change=[\"/usr/local/bin/lb-reader mysql://admin:adminpw-8@lb.local:6032\"]\n\
         [[failover.servers]]\nname='A'\n[[failover.servers]]\nname='B'\n",
        pw = pw_file.display(),
        tok = token_file.display(),
    );
    let path = dir.join("parapply.toml");
    std::fs::write(&path, &text).unwrap();
    (Config::from_toml(&text, "test").unwrap(), path, pw_file.display().to_string())
}

/// Issue 15 item 3: with `http.status_token`, `/status` answers 401 without the right bearer
/// token; the monitor endpoints stay open; `parapply status` sends the token from the config
/// or PARAPPLY_STATUS_TOKEN.
#[test]
fn status_needs_the_bearer_token_and_monitors_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cfg, cfg_path, _) = access_config(dir.path(), &format!("127.0.0.1:{port}"));
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = HttpServer::start(&cfg.http.listen, p.clone(), StatusInfo::from_config(&cfg, "test")).unwrap();
    let addr = srv.local_addr();
    round_trip(&p, 7);
    let base = format!("http://{addr}");
    let ask = |path: &str, token: Option<&str>| rt().block_on(http_get_auth(&base, path, Duration::from_secs(10), token)).unwrap();

    let unauthorized = (401, "unauthorized: /status needs `Authorization: Bearer <token>` (http.status_token)\n".to_string());
    assert_eq!(ask("/status", None), unauthorized);
    assert_eq!(ask("/status", Some("tok-3f9a1")), unauthorized);
    assert_eq!(ask("/status", Some("tok-3f9a1cX")), unauthorized);
    let (code, body) = ask("/status", Some("tok-3f9a1c"));
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<Json>(&body).unwrap()["command"], "test");
    let challenge = raw(addr, b"GET /status HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dG9rLTNmOWExYw==\r\n\r\n");
    assert!(challenge.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{challenge}");
    assert!(challenge.to_ascii_lowercase().contains("www-authenticate: bearer realm=\"parapply /status\""), "{challenge}");

    // Monitors need no token.
    assert_eq!(ask("/health", None), (200, "ok\n".to_string()));
    assert_eq!(ask("/health/live", None), (200, "ok\n".to_string()));
    assert_eq!(ask("/lag", None).0, 200);
    assert_eq!(ask("/metrics", None).0, 200);

    // `parapply status`: the token from --config; from PARAPPLY_STATUS_TOKEN with --http; none: 401.
    let bin = env!("CARGO_BIN_EXE_parapply");
    let out = Command::new(bin).args(["status", "--config"]).arg(&cfg_path).env_remove("PARAPPLY_STATUS_TOKEN").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin).args(["status", "--http", &base]).env("PARAPPLY_STATUS_TOKEN", "tok-3f9a1c").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin).args(["status", "--http", &base]).env_remove("PARAPPLY_STATUS_TOKEN").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("error: GET {base}/status: HTTP 401: unauthorized: /status needs `Authorization: Bearer <token>` (http.status_token)")
    );
}

/// Issue 15 item 3: `/status` shows no hook command line, no password or token file path, no
/// password of a URL in the watcher's state, and neither passwords nor the token.
#[test]
fn status_redacts_hooks_secret_files_and_url_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _, pw_path) = access_config(dir.path(), "127.0.0.1:0");
    let p = Progress::new(&lag_cfg(30.0, 1000));
    p.set_failover_state(serde_json::json!({ "state": "failover_blocked", "reasons": ["writer A (mysql://repl:state-pw-3@10.0.0.1:3306): connection refused"] }));
    let srv = HttpServer::start(&cfg.http.listen, p.clone(), StatusInfo::from_config(&cfg, "test")).unwrap();
    let (code, body) = rt().block_on(http_get_auth(&format!("http://{}", srv.local_addr()), "/status", Duration::from_secs(10), Some("tok-3f9a1c"))).unwrap();
    assert_eq!(code, 200, "{body}");
    for secret in ["hookkey-51", "lb.local/switch", "adminpw-8", "lb-reader", pw_path.as_str(), "target.pw", "status.token", "tok-3f9a1c", "hunter2", "target-pw-77", "state-pw-3"] {
        assert!(!body.contains(secret), "/status shows {secret:?}:\n{body}");
    }
    let v: Json = serde_json::from_str(&body).unwrap();
    let c = &v["config"];
    assert_eq!(c["failover"]["on_promote"], serde_json::json!(["<redacted>"]));
    assert_eq!(c["failover"]["on_reader_change"], serde_json::json!(["<redacted>"]));
    assert_eq!(c["target"]["password_file"], "<redacted>");
    assert_eq!(c["http"]["status_token_file"], "<redacted>");
    assert_eq!(c["http"]["status_token"], "<redacted>");
    assert_eq!(c["source"]["password"], "<redacted>");
    assert_eq!(c["target"]["password"], "<redacted>");
    assert_eq!(v["failover"]["reasons"][0], "writer A (mysql://repl:<redacted>@10.0.0.1:3306): connection refused");
}

/// Issue 15 item 3: one client address holds at most `http.max_connections_per_peer`
/// connections; another client is served meanwhile, and a slot given back is taken again.
#[test]
fn one_client_cannot_take_every_connection_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _, _) = access_config(dir.path(), "127.0.0.1:0");
    assert_eq!(cfg.http.max_connections_per_peer, 3);
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = HttpServer::start(&cfg.http.listen, p.clone(), StatusInfo::from_config(&cfg, "test")).unwrap();
    let addr = srv.local_addr();
    // Three kept-alive connections from 127.0.0.1, each served once (so each holds a slot).
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(LIVE).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"\r\n\r\nok\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&buf[..n]);
            }
            assert!(got.starts_with(b"HTTP/1.1 200 OK"));
            s
        })
        .collect();
    // A fourth from the same address is closed without an answer.
    assert_eq!(raw(addr, LIVE), "");
    // Another client is served.
    assert!(raw_from("127.0.0.2", addr, LIVE).starts_with("HTTP/1.1 200 OK"));
    // A held connection still works (keep-alive), and a slot given back is usable again.
    held[0].write_all(LIVE).unwrap();
    let mut buf = [0u8; 1024];
    assert!(held[0].read(&mut buf).unwrap() > 0);
    held.pop();
    wait_for("a slot back for 127.0.0.1", 30, || raw(addr, LIVE).starts_with("HTTP/1.1 200 OK").then_some(()));
}

// ---------- real heartbeat writer on a sandbox source ----------

/// Run the heartbeat writer on its own thread until the returned sender says stop.
fn spawn_writer(ep: Endpoint, cfg: LagConfig, p: Arc<Progress>) -> (tokio::sync::watch::Sender<bool>, std::thread::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let h = std::thread::spawn(move || {
        rt().block_on(async move {
            heartbeat::run(ep, cfg, p, rx).await.unwrap();
        })
    });
    (tx, h)
}

/// Read the closed binlog files of `name` (after FLUSH BINARY LOGS) with the project's reader.
fn closed_binlog_transactions(sb: &Sandbox, name: &str) -> Vec<Transaction> {
    sb.sql(name, "FLUSH BINARY LOGS");
    let mut files = sb.binlog_files(name);
    files.pop(); // the new active file
    let reader = TransactionReader::new(BinlogFiles::open(&files).unwrap());
    reader.map(|t| t.unwrap()).collect()
}

#[test]
fn heartbeat_writer_on_a_real_source_round_trips_through_its_binlog() {
    let sb = Sandbox::start(&["A", "C"], "");
    let cfg = lag_cfg(30.0, 200);
    let p = Progress::new(&cfg);
    let srv = serve(&p);
    let addr = srv.local_addr();
    let ep = Endpoint::from_url(&sb.url("A")).unwrap();
    let (stop, writer) = spawn_writer(ep, cfg.clone(), p.clone());

    let first_id = wait_for("a heartbeat write", 30, || p.snapshot().heartbeat.last_written_id);
    wait_for("a few more heartbeats", 30, || (p.snapshot().heartbeat.last_written_id? >= first_id + 3).then_some(()));
    let lag = get_json(addr, "/lag");
    // Written is not applied: still measured from start.
    assert_eq!(lag["heartbeat_lag_basis"], "since_start");
    let a_server_id = sb.sql("A", "SELECT @@server_id");
    // The polled source position is A's own GTID stream.
    let gtids = lag["source"]["gtids"].as_array().unwrap();
    assert!(!gtids.is_empty() && gtids.iter().all(|g| g.as_str().unwrap().split('-').nth(1) == Some(a_server_id.as_str())), "{gtids:?}");
    assert!(lag["source"]["file"].as_str().unwrap().starts_with("binlog."));

    // pt-heartbeat's layout plus our id column.
    let cols = sb.sql("A", "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='parapply' AND TABLE_NAME='heartbeat' ORDER BY ORDINAL_POSITION");
    assert_eq!(
        cols,
        "ts\tvarchar(26)\tNO\t\n\
         server_id\tint(10) unsigned\tNO\tPRI\n\
         file\tvarchar(255)\tYES\t\n\
         position\tbigint(20) unsigned\tYES\t\n\
         relay_master_log_file\tvarchar(255)\tYES\t\n\
         exec_master_log_pos\tbigint(20) unsigned\tYES\t\n\
         parapply_seq\tbigint(20) unsigned\tYES" // (the harness trims the last line's empty key column)
    );
    let row = sb.sql("A", "SELECT server_id, LENGTH(ts), ts LIKE '____-__-__T__:__:__.______', file LIKE 'binlog.%', parapply_seq >= 1 FROM parapply.heartbeat");
    assert_eq!(row, format!("{a_server_id}\t26\t1\t1\t1"));

    // pt-heartbeat reads our table (UTC ts), and finds a small delay.
    if Path::new("/usr/bin/pt-heartbeat").exists() {
        let out = Command::new("/usr/bin/pt-heartbeat")
            .args(["--check", "--utc", "--database", "parapply", "--table", "heartbeat", "--master-server-id", &a_server_id, "-h", "127.0.0.1", "-P", &sb.port("A").to_string(), "-u", "root"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "pt-heartbeat failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
        let delay: f64 = text.trim().parse().unwrap_or_else(|_| panic!("pt-heartbeat printed {text:?}"));
        assert!((0.0..60.0).contains(&delay), "pt-heartbeat delay {delay} (ts not UTC?)");
    } else {
        eprintln!("\n\n!!!!! SKIPPED pt-heartbeat compatibility check: /usr/bin/pt-heartbeat is absent (apt-get install -y percona-toolkit) !!!!!\n");
    }

    // Apply A's binlog the way the pipeline would: every transaction, in order.
    let table = TableRef::parse("parapply.heartbeat").unwrap();
    let txns = closed_binlog_transactions(&sb, "A");
    let ids: Vec<u64> = txns.iter().filter_map(|t| heartbeat_id_in(t, &table)).collect();
    assert!(ids.len() >= 4, "heartbeats in the binlog: {ids:?}");
    assert_eq!(ids[0], first_id, "the first write's id is the first heartbeat in the binlog");
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "one transaction per write, ids consecutive: {ids:?}");
    for t in &txns {
        p.on_received(t.size, t.gtid.as_ref(), t.commit_time_us);
        p.on_applied(t, 0);
    }
    let s1 = p.snapshot();
    assert_eq!(s1.heartbeat_lag_basis, parapply::lag::LagBasis::Heartbeat);
    assert_eq!(s1.heartbeat.last_applied_id, ids.last().copied());
    assert_eq!(s1.applied.heartbeats, ids.len() as u64);
    assert_eq!(s1.backlog.transactions, 0);
    assert!(s1.backlog.gtid_distance.is_some(), "GTID distance known once A's domain was applied");
    // Nothing newer applied: it grows.
    std::thread::sleep(Duration::from_millis(300));
    let t2 = Instant::now();
    let s2 = p.snapshot();
    assert!(s2.heartbeat_lag_seconds > s1.heartbeat_lag_seconds, "{} then {}", s1.heartbeat_lag_seconds, s2.heartbeat_lag_seconds);
    assert_eq!(s2.heartbeat.last_applied_id, s1.heartbeat.last_applied_id);
    // Newer heartbeats applied: it resets below the previous value.
    wait_for("newer heartbeats", 30, || (p.snapshot().heartbeat.last_written_id? > ids.last().copied()? + 2).then_some(()));
    let more = closed_binlog_transactions(&sb, "A");
    for t in more.iter().filter(|t| heartbeat_id_in(t, &table).is_some_and(|id| id > *ids.last().unwrap())) {
        p.on_applied(t, 0);
    }
    let s3 = p.snapshot();
    let between = t2.elapsed().as_secs_f64();
    assert!(s3.heartbeat.last_applied_id > s2.heartbeat.last_applied_id);
    // lag3 − lag2 = (t3 − t2) − (note3 − note2), and the newer note is later: the clock reset.
    assert!(s3.heartbeat_lag_seconds < s2.heartbeat_lag_seconds + between, "{} then {} ({between} s apart)", s2.heartbeat_lag_seconds, s3.heartbeat_lag_seconds);

    // Source killed: state source_down, the lag keeps growing, never 0.
    sb.kill("A");
    let down = wait_for("source_down", 60, || {
        let l = get_json(addr, "/lag");
        (l["state"] == "source_down").then_some(l)
    });
    assert_eq!(down["source"]["heartbeat_writer_up"], false);
    let lag_a = down["heartbeat_lag_seconds"].as_f64().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let lag_b = get_json(addr, "/lag")["heartbeat_lag_seconds"].as_f64().unwrap();
    assert!(lag_b > lag_a && lag_a > 0.0, "{lag_a} then {lag_b}");
    assert!(p.snapshot().heartbeat.write_failures >= 1);

    stop.send(true).unwrap();
    writer.join().unwrap();

    // A read_only source gets no heartbeat writes (they would be errant transactions there).
    sb.sql("C", "SET GLOBAL read_only = ON");
    let pc = Progress::new(&cfg);
    let (stop_c, writer_c) = spawn_writer(Endpoint::from_url(&sb.url("C")).unwrap(), cfg.clone(), pc.clone());
    wait_for("C's position polled", 30, || pc.snapshot().source.file);
    assert_eq!(pc.snapshot().heartbeat.last_written_id, None);
    assert_eq!(sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'parapply'"), "0");
    stop_c.send(true).unwrap();
    writer_c.join().unwrap();
}

#[test]
fn read_mode_takes_lag_from_pt_heartbeat_rows() {
    if !Path::new("/usr/bin/pt-heartbeat").exists() {
        eprintln!("\n\n!!!!! SKIPPED read_mode_takes_lag_from_pt_heartbeat_rows: /usr/bin/pt-heartbeat is absent (apt-get install -y percona-toolkit) !!!!!\n");
        return;
    }
    let sb = Sandbox::start(&["A"], "");
    sb.sql("A", "CREATE DATABASE pt");
    let port = sb.port("A").to_string();
    let _pt = KillOnDrop(
        Command::new("/usr/bin/pt-heartbeat")
            .args(["--update", "--utc", "--create-table", "--database", "pt", "--table", "heartbeat", "--interval", "0.2", "-h", "127.0.0.1", "-P", &port, "-u", "root"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("pt-heartbeat rows", 30, || (sb.sql("A", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='pt'") == "1" && sb.sql("A", "SELECT COUNT(*) FROM pt.heartbeat") == "1").then_some(()));
    std::thread::sleep(Duration::from_millis(600));
    let cfg = LagConfig { heartbeat_mode: "read".into(), heartbeat_table: "pt.heartbeat".into(), ..lag_cfg(30.0, 200) };
    let p = Progress::new(&cfg);
    let txns = closed_binlog_transactions(&sb, "A");
    let table = TableRef::parse("pt.heartbeat").unwrap();
    let rows: Vec<_> = txns.iter().filter_map(|t| heartbeat_row_in(t, &table)).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.id.is_none() && r.ts_us.is_some()), "{rows:?}");
    for t in &txns {
        p.on_applied(t, 0);
    }
    let s = p.snapshot();
    assert_eq!(s.heartbeat_lag_basis, parapply::lag::LagBasis::PtHeartbeatTs);
    // Same host, so no skew: the ts is recent (bounded by how long this test has run).
    assert!(s.heartbeat_lag_seconds > 0.0 && s.heartbeat_lag_seconds < 120.0, "{}", s.heartbeat_lag_seconds);
}

// ---------- real Prometheus and HAProxy ----------

fn percent_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'_' { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn prom_query(prom: SocketAddr, q: &str) -> Option<String> {
    let (code, body) = rt().block_on(http_get(&format!("http://{prom}"), &format!("/api/v1/query?query={}", percent_encode(q)), Duration::from_secs(5))).ok()?;
    if code != 200 {
        return None;
    }
    let v: Json = serde_json::from_str(&body).ok()?;
    v["data"]["result"].as_array()?.first()?["value"][1].as_str().map(String::from)
}

#[test]
fn real_prometheus_scrapes_the_metrics() {
    let bin = Path::new("/usr/bin/prometheus");
    if !bin.exists() {
        eprintln!("\n\n!!!!! SKIPPED real_prometheus_scrapes_the_metrics: /usr/bin/prometheus is absent (apt-get install -y prometheus) !!!!!\n");
        return;
    }
    let p = Progress::new(&lag_cfg(30.0, 1000));
    let srv = serve(&p);
    p.on_heartbeat_written(1, Instant::now().checked_sub(Duration::from_secs(100)).unwrap());
    p.on_heartbeat_applied(1);
    for _ in 0..7 {
        p.on_received(10, None, 0);
    }
    p.set_scheduler_snapshot(SchedulerMetrics { parallelism_buckets: vec![(1.0, 3), (f64::MAX, 5)], parallelism_sum: 20.0, parallelism_count: 8, barriers: [("no_key".to_string(), 4)].into() });

    let dir = tempfile::tempdir().unwrap();
    let prom_port = free_port();
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg_path,
        format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: parapply\n    static_configs:\n      - targets: ['{}']\n", srv.local_addr()),
    )
    .unwrap();
    let data: PathBuf = dir.path().join("data");
    let _prom = KillOnDrop(
        Command::new(bin)
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prom: SocketAddr = format!("127.0.0.1:{prom_port}").parse().unwrap();
    let lag: f64 = wait_for("Prometheus to have parapply_heartbeat_lag_seconds", 90, || prom_query(prom, "parapply_heartbeat_lag_seconds")).parse().unwrap();
    assert!(lag >= 100.0 && lag <= p.snapshot().heartbeat_lag_seconds, "scraped {lag}");
    assert_eq!(prom_query(prom, "up{job=\"parapply\"}").as_deref(), Some("1"));
    assert_eq!(prom_query(prom, "parapply_backlog_transactions").as_deref(), Some("7"));
    assert_eq!(prom_query(prom, "parapply_state{state=\"catching_up\"}").as_deref(), Some("1"));
    assert_eq!(prom_query(prom, "parapply_state{state=\"streaming\"}").as_deref(), Some("0"));
    assert_eq!(prom_query(prom, "parapply_barriers_total{reason=\"no_key\"}").as_deref(), Some("4"));
    assert_eq!(prom_query(prom, "parapply_scheduler_parallelism_count").as_deref(), Some("8"));
    assert_eq!(prom_query(prom, "parapply_scheduler_parallelism_bucket{le=\"+Inf\"}").as_deref(), Some("8"));
    assert_eq!(prom_query(prom, "parapply_received_transactions_total").as_deref(), Some("7"));
}

/// `show stat` over the admin socket: (status, check_status) of `proxy/server`.
fn haproxy_server_state(sock: &Path, proxy: &str, server: &str) -> Option<(String, String)> {
    let mut s = std::os::unix::net::UnixStream::connect(sock).ok()?;
    s.write_all(b"show stat\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let status_i = header.iter().position(|h| *h == "status")?;
    let check_i = header.iter().position(|h| *h == "check_status")?;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f.first() == Some(&proxy) && f.get(1) == Some(&server) {
            // HAProxy prefixes check_status with "* " while a check is in
            // progress; the rest is the last completed check's result.
            let check = f.get(check_i)?.trim_start_matches("* ");
            return Some((f.get(status_i)?.to_string(), check.to_string()));
        }
    }
    None
}

#[test]
fn real_haproxy_takes_the_replica_out_above_max_lag_and_back_after_catch_up() {
    let bin = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].into_iter().map(Path::new).find(|p| p.exists());
    let Some(bin) = bin else {
        eprintln!("\n\n!!!!! SKIPPED real_haproxy_takes_the_replica_out_above_max_lag_and_back_after_catch_up: haproxy is absent (apt-get install -y haproxy) !!!!!\n");
        return;
    };
    let p = Progress::new(&lag_cfg(2.0, 200));
    let srv = serve(&p);
    // Heartbeats flowing (a simulated healthy pipeline) while `flowing` is set.
    let flowing = Arc::new(AtomicBool::new(true));
    let done = Arc::new(AtomicBool::new(false));
    let driver = {
        let (p, flowing, done) = (p.clone(), flowing.clone(), done.clone());
        std::thread::spawn(move || {
            let mut id = 0;
            while !done.load(Ordering::SeqCst) {
                if flowing.load(Ordering::SeqCst) {
                    id += 1;
                    round_trip(&p, id);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("haproxy.sock");
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} mode 600 level admin\n    maxconn 100\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 1s\n\
             listen replica\n    bind 127.0.0.1:{}\n    option httpchk GET /health\n    server c {} check inter 500ms fall 2 rise 2\n",
            sock.display(),
            free_port(),
            srv.local_addr()
        ),
    )
    .unwrap();
    let _haproxy = KillOnDrop(Command::new(bin).arg("-f").arg(&cfg).arg("-db").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());

    let state = |want: &str| {
        wait_for(&format!("HAProxy to report {want}"), 60, || {
            let (status, check) = haproxy_server_state(&sock, "replica", "c")?;
            (status == want).then_some(check)
        })
    };
    assert_eq!(state("UP"), "L7OK");
    // Wait for a real check to have passed (not just the initial state).
    wait_for("a passing check", 30, || (haproxy_server_state(&sock, "replica", "c")?.1 == "L7OK").then_some(()));

    // The pipeline stops applying: lag passes max_lag, /health answers 503, HAProxy marks DOWN.
    flowing.store(false, Ordering::SeqCst);
    assert_eq!(state("DOWN"), "L7STS");
    assert_eq!(get(srv.local_addr(), "/health").0, 503);

    // Catch-up: heartbeats apply again, HAProxy brings it back.
    flowing.store(true, Ordering::SeqCst);
    assert_eq!(state("UP"), "L7OK");
    assert_eq!(get(srv.local_addr(), "/health"), (200, "ok\n".to_string()));

    done.store(true, Ordering::SeqCst);
    driver.join().unwrap();
}

// ---------- accuracy through the real pipeline: live stream from A -> apply on C ----------

/// The live stream as an iterator that ends when `stop` is set (it would block forever idle).
struct LiveIter {
    inner: parapply::source::stream::BlockingTransactions,
    stop: Arc<AtomicBool>,
}

impl Iterator for LiveIter {
    type Item = Result<Transaction, parapply::source::stream::StreamError>;
    fn next(&mut self) -> Option<Self::Item> {
        while !self.stop.load(Ordering::SeqCst) {
            if let Some(item) = self.inner.recv_timeout(Duration::from_millis(100)) {
                return Some(item);
            }
        }
        None
    }
}

/// Holds every transaction until `delay_ms` after it was received (an injected apply delay).
/// Received times are stamped by a feeder thread, so delays do not add up.
struct Delayed {
    rx: crossbeam_channel::Receiver<(Instant, Result<Transaction, TxnSourceError>)>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Iterator for Delayed {
    type Item = Result<Transaction, TxnSourceError>;
    fn next(&mut self) -> Option<Self::Item> {
        let (at, item) = self.rx.recv().ok()?;
        let due = at + Duration::from_millis(self.delay_ms.load(Ordering::SeqCst));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        Some(item)
    }
}

#[test]
fn heartbeat_lag_is_accurate_through_the_real_pipeline() {
    use parapply::apply::pipeline::{self, PipelineOptions};
    use parapply::source::stream::{BlockingTransactions, StartPosition, StreamOptions};

    let sb = Sandbox::start(&["A", "C"], "");
    let interval_ms = 500;
    let config = Config::from_toml(
        &format!("[source]\nport={}\n[target]\nport={}\n[lag]\nheartbeat_interval_ms={interval_ms}\n[http]\nlisten='127.0.0.1:0'\n", sb.port("A"), sb.port("C")),
        "test",
    )
    .unwrap();
    let ep_a = config.source.endpoint.clone();
    let ep_c = config.target.clone();

    // Live stream from A's current position -> observed (received) -> delay -> pipeline -> C.
    // The stream starts before the heartbeat writer, so the heartbeat table's DDL reaches C.
    let start = StartPosition::parse(&sb.sql("A", "SELECT @@gtid_binlog_pos")).unwrap();
    let stream = BlockingTransactions::start(StreamOptions::new(ep_a.clone(), 4_000_321), start, 256).unwrap();
    let mut monitor = parapply::commands::monitor::Monitor::start(
        &config,
        parapply::commands::monitor::MonitorOptions { command: "run".into(), heartbeat_writer: true, report_every: Some(Duration::from_secs(2)) },
    )
    .unwrap();
    let p = monitor.progress().clone();
    let addr = monitor.http_addr().unwrap();
    assert_eq!(get_json(addr, "/status")["command"], "run");
    p.attach_stream_stats(stream.stats());
    let stop = Arc::new(AtomicBool::new(false));
    let (observed, bridge) = parapply::lag::bridge::observe(p.clone(), LiveIter { inner: stream, stop: stop.clone() });
    let (tx, rx) = crossbeam_channel::unbounded();
    let feeder = std::thread::spawn(move || {
        for item in observed {
            if tx.send((Instant::now(), item.map_err(TxnSourceError::from))).is_err() {
                break;
            }
        }
    });
    let delay_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let source = Delayed { rx, delay_ms: delay_ms.clone() };
    let mut apply_cfg = parapply::config::ApplyConfig::default();
    apply_cfg.workers = 4;
    apply_cfg.window = 64;
    let opts = PipelineOptions::new(ep_c, apply_cfg);
    let pipeline_thread = std::thread::spawn(move || pipeline::run(opts, Box::new(source), Some(bridge.into_progress_fn())));

    // User data on A after the stream started: the schema replicates too.
    sb.sql("A", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v INT); INSERT INTO app.t VALUES (1, 1)");
    wait_for("app.t on C", 60, || (sb.sql("C", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'") == "1").then_some(()));
    wait_for("heartbeats applied on C", 60, || (p.snapshot().heartbeat_lag_basis == parapply::lag::LagBasis::Heartbeat).then_some(()));
    wait_for("the user row on C", 60, || (sb.sql("C", "SELECT COUNT(*) FROM app.t") == "1").then_some(()));

    // Idle source: the heartbeat lag stays small while the event lag (last user commit) grows.
    let idle = wait_for("event lag above 3 s on the idle source", 60, || {
        let s = p.snapshot();
        (s.event_lag_seconds > 3.0).then_some(s)
    });
    eprintln!("idle source: heartbeat lag {:.3} s, event lag {:.3} s", idle.heartbeat_lag_seconds, idle.event_lag_seconds);
    assert!(idle.heartbeat_lag_seconds < 2.0, "idle source: heartbeat lag {} (event lag {})", idle.heartbeat_lag_seconds, idle.event_lag_seconds);
    assert_eq!(idle.state, parapply::lag::PipelineState::Streaming);
    std::thread::sleep(Duration::from_millis(300));
    assert!(p.snapshot().event_lag_seconds > idle.event_lag_seconds);

    // Injected apply delay X: the heartbeat lag settles within ±(interval + 0.5 s) of X.
    let x = 3.0;
    delay_ms.store(3000, Ordering::SeqCst);
    wait_for("lag to reach the injected delay", 60, || (p.snapshot().heartbeat_lag_seconds >= x).then_some(()));
    std::thread::sleep(Duration::from_millis(2 * interval_ms));
    let tolerance = interval_ms as f64 / 1000.0 + 0.5;
    for _ in 0..10 {
        let s = p.snapshot();
        eprintln!("injected {x} s: heartbeat lag {:.3} s, event lag {:.3} s, backlog {} txns", s.heartbeat_lag_seconds, s.event_lag_seconds, s.backlog.transactions);
        assert!((s.heartbeat_lag_seconds - x).abs() <= tolerance, "heartbeat lag {} with an injected delay of {x} s (±{tolerance})", s.heartbeat_lag_seconds);
        assert!(s.backlog.transactions > 0, "heartbeats held by the delay are backlog");
        let l = get_json(addr, "/lag");
        assert!((l["heartbeat_lag_seconds"].as_f64().unwrap() - x).abs() <= tolerance);
        std::thread::sleep(Duration::from_millis(200));
    }

    // Delay removed: it catches up.
    delay_ms.store(0, Ordering::SeqCst);
    wait_for("catch-up below 2 s", 60, || (p.snapshot().heartbeat_lag_seconds < 2.0).then_some(()));

    // Source killed: source_down (both the stream and the heartbeat writer notice), and the lag
    // keeps growing (never 0, never null).
    assert_eq!(get_json(addr, "/lag")["source"]["stream_up"], true);
    sb.kill("A");
    let down = wait_for("source_down seen by the stream and the writer", 60, || {
        let l = get_json(addr, "/lag");
        (l["state"] == "source_down" && l["source"]["stream_up"] == false && l["source"]["heartbeat_writer_up"] == false).then_some(l)
    });
    let l1 = down["heartbeat_lag_seconds"].as_f64().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let l2 = get_json(addr, "/lag")["heartbeat_lag_seconds"].as_f64().unwrap();
    assert!(l2 > l1 && l1 > 0.0, "{l1} then {l2}");

    monitor.finish();
    assert_eq!(get(addr, "/health"), (503, "stopped\n".to_string()));
    stop.store(true, Ordering::SeqCst);
    feeder.join().unwrap();
    let summary = pipeline_thread.join().unwrap().unwrap();
    assert_eq!(summary.txns_applied + summary.txns_skipped, p.snapshot().applied.transactions);
    drop(monitor);
    assert!(TcpStream::connect(addr).is_err(), "endpoints still up after the monitor was dropped");
}
