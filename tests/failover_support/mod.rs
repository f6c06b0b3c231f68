//! Helpers shared by the `failover_*` integration tests: the watcher on its own runtime thread,
//! a write load that follows the writable master (like a proxy routing on read_only), the
//! failover config for a sandbox, table checksums, and a TCP proxy a test can pause.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use parapply::config::{Endpoint, FailoverConfig, FailoverServer};
use parapply::failover::log::{Entry, SwitchLog};
use parapply::failover::watcher::Watcher;
use parapply::failover::{SourceSwitch, StateHandle};

use crate::common::Sandbox;

pub fn ep(port: u16) -> Endpoint {
    Endpoint { host: "127.0.0.1".into(), port, ..Endpoint::default() }
}

/// `[failover]` for A (writer) and B (passive) of `sb`, defaults otherwise.
pub fn config(sb: &Sandbox, switch_log: &Path) -> FailoverConfig {
    FailoverConfig {
        servers: vec![
            FailoverServer { name: "A".into(), endpoint: ep(sb.port("A")), role: "master".into(), priority: 100 },
            FailoverServer { name: "B".into(), endpoint: ep(sb.port("B")), role: "master".into(), priority: 100 },
        ],
        switch_log: switch_log.to_path_buf(),
        ..FailoverConfig::default()
    }
}

/// The app schema and a user without SUPER/READ_ONLY ADMIN, so read_only stops its writes.
pub fn setup_app(sb: &Sandbox) {
    sb.sql(
        "A",
        "CREATE DATABASE app; CREATE TABLE app.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, token BIGINT NOT NULL, who CHAR(1) NOT NULL, KEY (token)) ENGINE=InnoDB; \
         CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app'; GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'127.0.0.1';",
    );
    wait_for("B to replicate the app schema", 30, || (sb.sql("B", "SELECT COUNT(*) FROM mysql.user WHERE user='app'") == "1" && sb.sql("B", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='app'") == "1").then_some(()));
}

pub use crate::common::wait_for;

/// A running watcher on its own thread and runtime.
pub struct RunningWatcher {
    pub state: StateHandle,
    pub switch: SourceSwitch,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl RunningWatcher {
    pub fn start(cfg: FailoverConfig, target: Option<(Endpoint, String)>) -> RunningWatcher {
        Self::start_with(cfg, target, None)
    }
    pub fn start_with(cfg: FailoverConfig, target: Option<(Endpoint, String)>, publisher: Option<parapply::failover::watcher::StatePublisher>) -> RunningWatcher {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut w = rt.block_on(Watcher::start(cfg, target)).expect("watcher start");
        if let Some(p) = publisher {
            w.set_publisher(p);
        }
        let (state, switch) = (w.state(), w.switch());
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let thread = std::thread::spawn(move || {
            let r = rt.block_on(w.run(stop_rx));
            if let Err(e) = r {
                eprintln!("watcher ended: {e}");
            }
        });
        RunningWatcher { state, switch, stop, thread: Some(thread) }
    }
    pub fn wait_state(&self, want: &str, secs: u64) {
        wait_for(&format!("watcher state {want}"), secs, || (self.state.snapshot().state == want).then_some(()));
    }
}

impl Drop for RunningWatcher {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the write load saw.
#[derive(Debug, Default, Clone)]
pub struct LoadResult {
    /// Tokens whose INSERT was acknowledged, with the port that acknowledged it and when.
    pub ok: Vec<(u64, u16, Instant)>,
    /// Tokens whose INSERT outcome is unknown (connection lost around the commit).
    pub unknown: Vec<u64>,
}

impl LoadResult {
    /// First acknowledged write on `port` at or after `t`.
    pub fn first_ok_on_after(&self, port: u16, t: Instant) -> Option<Instant> {
        self.ok.iter().filter(|(_, p, at)| *p == port && *at >= t).map(|(_, _, at)| *at).min()
    }
}

/// Inserts rows with unique tokens as user `app`, always on the master that is writable
/// (read_only=OFF), reconnecting and re-routing on any error.
pub struct Load {
    stop: Arc<AtomicBool>,
    pub current_port: Arc<AtomicU16>,
    thread: Option<JoinHandle<LoadResult>>,
}

impl Load {
    pub fn start(ports: Vec<u16>, who: &'static str, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let current_port = Arc::new(AtomicU16::new(0));
        let (s, cp) = (stop.clone(), current_port.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(load_loop(ports, who, pause, s, cp))
        });
        Load { stop, current_port, thread: Some(thread) }
    }
    pub fn stop(mut self) -> LoadResult {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map(|t| t.join().unwrap()).unwrap_or_default()
    }
}

fn app_opts(port: u16) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default().ip_or_hostname("127.0.0.1").tcp_port(port).user(Some("app")).pass(Some("app")).prefer_socket(false).into()
}

async fn connect_writable(ports: &[u16]) -> Option<(mysql_async::Conn, u16)> {
    for &p in ports {
        let Ok(Ok(mut c)) = tokio::time::timeout(Duration::from_millis(300), mysql_async::Conn::new(app_opts(p))).await else { continue };
        if let Ok(Ok(Some(0u8))) = tokio::time::timeout(Duration::from_millis(300), c.query_first::<u8, _>("SELECT @@read_only")).await {
            return Some((c, p));
        }
    }
    None
}

async fn load_loop(ports: Vec<u16>, who: &'static str, pause: Duration, stop: Arc<AtomicBool>, current_port: Arc<AtomicU16>) -> LoadResult {
    let mut res = LoadResult::default();
    let mut conn: Option<(mysql_async::Conn, u16)> = None;
    let mut token: u64 = match who {
        "1" => 1_000_000,
        "2" => 2_000_000,
        _ => 3_000_000,
    };
    while !stop.load(Ordering::Relaxed) {
        if conn.is_none() {
            conn = connect_writable(&ports).await;
            match &conn {
                Some((_, p)) => current_port.store(*p, Ordering::Relaxed),
                None => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        let Some((c, port)) = conn.as_mut() else { continue };
        let port = *port;
        let r = tokio::time::timeout(Duration::from_millis(2000), c.exec_drop("INSERT INTO app.t (token, who) VALUES (?, ?)", (token, who))).await;
        match r {
            Ok(Ok(())) => {
                res.ok.push((token, port, Instant::now()));
                token += 1;
            }
            // The server refused (read_only, 1290): nothing was written, retry the token elsewhere.
            Ok(Err(mysql_async::Error::Server(e))) if e.code == 1290 => conn = None,
            // Lost around the commit: the outcome is unknown, never reuse the token.
            _ => {
                res.unknown.push(token);
                token += 1;
                conn = None;
            }
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    res
}

/// `COUNT(*)`, `SUM(token)`, and CHECKSUM TABLE of app.t on `name`.
pub fn table_digest(sb: &Sandbox, name: &str) -> String {
    let agg = sb.sql(name, "SELECT COUNT(*), COALESCE(SUM(token),0), COALESCE(SUM(id),0) FROM app.t");
    let sum = sb.sql(name, "CHECKSUM TABLE app.t");
    format!("{agg} | {}", sum.split('\t').nth(1).unwrap_or(""))
}

/// tokens on `name` -> number of rows holding it.
pub fn token_counts(sb: &Sandbox, name: &str) -> std::collections::HashMap<u64, u64> {
    sb.sql(name, "SELECT token, COUNT(*) FROM app.t GROUP BY token")
        .lines()
        .filter_map(|l| {
            let mut it = l.split('\t');
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect()
}

/// Seq of `domain` in a MariaDB GTID position text.
pub fn seq(pos: &str, domain: u32) -> u64 {
    parapply::source::gtid::MariadbGtidPos::parse(pos.trim()).ok().and_then(|p| p.get(domain)).map(|(_, s)| s).unwrap_or(0)
}

pub fn entries(path: &Path) -> Vec<Entry> {
    SwitchLog::new(path).read_all().unwrap()
}

/// `Gtid_IO_Pos` of `name`'s replication link (what it received), read with the watcher's probe.
pub fn gtid_io_pos(sb: &Sandbox, name: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let e = ep(sb.port(name));
        let mut c = parapply::failover::probe::connect(&e, Duration::from_secs(5)).await.unwrap();
        let l = parapply::failover::probe::link_status(&mut c, &e, Duration::from_secs(5)).await.unwrap();
        let _ = c.disconnect().await;
        l.map(|l| l.gtid_io_pos.to_string()).unwrap_or_default()
    })
}

/// A TCP forwarder; while paused, new connections are accepted and then left unanswered (a
/// black hole), and data on existing ones stops flowing.
pub struct Proxy {
    pub port: u16,
    pub paused: Arc<AtomicBool>,
    _rt: tokio::runtime::Runtime,
}

pub fn start_proxy(upstream: u16) -> Proxy {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let paused = Arc::new(AtomicBool::new(false));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = paused.clone();
    rt.spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((client, _)) = listener.accept().await else { continue };
            if p.load(Ordering::Relaxed) {
                held.push(client);
                continue;
            }
            let p = p.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let gate = |p: Arc<AtomicBool>| async move {
                    while p.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                let p2 = p.clone();
                let up = async move {
                    let mut buf = vec![0u8; 16384];
                    loop {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let n = match cr.read(&mut buf).await { Ok(0) | Err(_) => break, Ok(n) => n };
                        gate(p.clone()).await;
                        if sw.write_all(&buf[..n]).await.is_err() { break; }
                    }
                };
                let down = async move {
                    let mut buf = vec![0u8; 16384];
                    loop {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let n = match sr.read(&mut buf).await { Ok(0) | Err(_) => break, Ok(n) => n };
                        gate(p2.clone()).await;
                        if cw.write_all(&buf[..n]).await.is_err() { break; }
                    }
                };
                tokio::join!(up, down);
            });
        }
    });
    Proxy { port, paused, _rt: rt }
}

/// A watcher whose state is served on a real HTTP `/status` (and `/readers`), as `failover
/// watch` serves it. Keep the returned server alive as long as the endpoint is read.
pub fn start_served_watcher(cfg: FailoverConfig) -> (RunningWatcher, parapply::http::HttpServer, String) {
    use parapply::http::{HttpServer, StatusInfo};
    let progress = parapply::lag::Progress::new(&parapply::config::LagConfig::default());
    let p = progress.clone();
    let status = StatusInfo::from_config(&parapply::config::Config::from_toml("[source]\n[target]\n", "t").unwrap(), "failover watch");
    let http = HttpServer::start("127.0.0.1:0", progress, status).unwrap();
    let base = format!("http://{}", http.local_addr());
    let w = RunningWatcher::start_with(cfg, None, Some(Arc::new(move |st| p.set_failover_state(serde_json::to_value(st).unwrap()))));
    (w, http, base)
}

/// GET `path` from `base`: the status code and the JSON body (`Null` when it is not JSON).
pub fn get_json(base: &str, path: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (code, body) = rt.block_on(parapply::http::http_get(base, path, Duration::from_secs(3))).unwrap();
    (code, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}
