//! HTTP endpoints for monitors and load balancers: `/lag`, `/metrics`, `/health`,
//! `/health/live`, `/health/ready`, `/status`.
//!
//! Owns the axum router and the server thread. It only reads [`crate::lag::Progress::snapshot`]
//! (a short leaf lock) and a fixed [`StatusInfo`]; it never blocks the pipeline: it runs on its
//! own thread with its own single-threaded tokio runtime, so a flood of requests competes for CPU
//! at most, never for the pipeline's runtime or locks.
//!
//! # Endpoints
//! - `GET /lag`: JSON with the three clocks, the state, the received/applied/source positions.
//! - `GET /metrics`: OpenMetrics text (prometheus-client), built from one snapshot per scrape.
//! - `GET /health` and `GET /health/ready`: 200 `ok` while running with heartbeat lag below
//!   `lag.max_lag_s`, else 503 with a one-line reason (for HAProxy `option httpchk`).
//! - `GET /health/live`: 200 while the process answers.
//! - `GET /status`: positions, mode, workers, uptime, and the config with secrets redacted
//!   ([`redact`]: passwords and the status token as `<redacted>` by their types; hook command
//!   lines, `password_file`/`status_token_file` paths and the password of any `scheme://user:pw@`
//!   URL in any string by this module). With `http.status_token` set it answers only
//!   `Authorization: Bearer <token>` (compared in constant time), else 401.
//! - `GET /readers`: the failover watcher's read pool.
//! - Anything else: 404; another method on a known path: 405.
//!
//! Only `/status` can be closed by a token: `/lag`, `/metrics`, `/health*` and `/readers` are
//! what monitors and load balancers poll, and they show no configuration.
//!
//! # Hostile clients
//! Request heads must arrive within [`HEADER_READ_TIMEOUT`] (slowloris), heads are capped at
//! [`MAX_HEAD_BYTES`], request bodies are never read, a connection lives at most
//! [`CONNECTION_LIFETIME`], at most [`MAX_CONNECTIONS`] are served at once, and at most
//! `http.max_connections_per_peer` per client IP address, so one client cannot take every slot
//! from the monitors (extra ones are closed at accept). Garbage bytes get a 400 from hyper and a
//! closed connection.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::config::{Config, HttpConfig};
use crate::lag::{LagSnapshot, PipelineState, Progress};

/// A client must send a complete request head within this time.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection (keep-alive included); monitors simply reconnect.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Connections served at once; more are closed right after accept (a config bound too).
pub use crate::config::HTTP_MAX_CONNECTIONS as MAX_CONNECTIONS;
/// Request head size limit.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Fixed facts for `/status`, captured once at start.
#[derive(Debug, Clone, Serialize)]
pub struct StatusInfo {
    pub version: &'static str,
    /// The subcommand running (`run`, `replay`, ...).
    pub command: String,
    pub mode: String,
    pub workers: usize,
    /// The configuration, secrets redacted (see [`redact`]).
    pub config: serde_json::Value,
    /// Who may read `/status` and how many connections a client may hold: the `[http]` section
    /// the server is started for (kept here so that every server built from a config enforces
    /// it; never serialized).
    #[serde(skip)]
    pub access: Access,
}

/// The `[http]` access rules the server enforces.
#[derive(Debug, Clone)]
pub struct Access {
    /// `/status` needs `Authorization: Bearer <this>` when non-empty.
    pub status_token: crate::config::Secret,
    pub max_connections_per_peer: usize,
}

impl Default for Access {
    fn default() -> Self {
        Access::of(&HttpConfig::default())
    }
}

impl Access {
    pub fn of(http: &HttpConfig) -> Access {
        Access { status_token: http.status_token.clone(), max_connections_per_peer: http.max_connections_per_peer.clamp(1, MAX_CONNECTIONS) }
    }
}

impl StatusInfo {
    pub fn from_config(cfg: &Config, command: &str) -> StatusInfo {
        let mut config = serde_json::to_value(cfg).unwrap_or(serde_json::Value::Null);
        redact(&mut config);
        StatusInfo {
            version: env!("CARGO_PKG_VERSION"),
            command: command.to_string(),
            mode: cfg.apply.mode.name().to_string(),
            workers: cfg.apply.workers,
            config,
            access: Access::of(&cfg.http),
        }
    }
}

/// What a redacted value shows.
pub const REDACTED: &str = "<redacted>";

/// Keys whose string values (or arrays of strings) are shown as [`REDACTED`] wherever they
/// appear: hook command lines carry whatever the operator put in them (tokens in a `curl`,
/// passwords of a proxy's admin interface), and secret-file paths point at the secrets.
const REDACTED_KEYS: [&str; 4] = ["on_promote", "on_reader_change", "password_file", "status_token_file"];

/// Redact, in place, what `/status` must not show: the values of [`REDACTED_KEYS`] and, in every
/// other string, the password of a `scheme://user:password@host` URL.
pub fn redact(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if REDACTED_KEYS.contains(&k.as_str()) {
                    redact_all(v);
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        Value::String(s) if s.contains("://") => *s = redact_url_passwords(s),
        _ => {}
    }
}

/// Every string in `v` (a non-empty one) becomes [`REDACTED`]; the shape stays (an array keeps
/// its length: how many hooks are configured is not a secret).
fn redact_all(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if !s.is_empty() => *s = REDACTED.into(),
        Value::Array(a) => a.iter_mut().for_each(redact_all),
        Value::Object(m) => m.values_mut().for_each(redact_all),
        _ => {}
    }
}

/// `mysql://user:pw@host/x` -> `mysql://user:<redacted>@host/x`, for every URL in `s`.
pub fn redact_url_passwords(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the path, query, fragment, or anything that cannot be in it.
        let end = tail.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')).unwrap_or(tail.len());
        let (authority, after) = tail.split_at(end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                let user = userinfo.split(':').next().unwrap_or("");
                out.push_str(user);
                out.push(':');
                out.push_str(REDACTED);
                out.push('@');
                out.push_str(host);
            }
            _ => out.push_str(authority),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("http: config key `http.listen` = {listen:?}: {}", crate::error_text::chain(.cause))]
    Bind { listen: String, cause: std::io::Error },
    #[error("http: cannot start the server thread: {0}")]
    Thread(std::io::Error),
}

/// `/lag` body.
#[derive(Debug, Serialize)]
pub struct LagView<'a> {
    pub state: PipelineState,
    pub heartbeat_lag_seconds: f64,
    pub heartbeat_lag_basis: crate::lag::LagBasis,
    pub event_lag_seconds: f64,
    pub backlog: &'a crate::lag::Backlog,
    pub received: &'a crate::lag::Received,
    pub applied: &'a crate::lag::Applied,
    pub source: &'a crate::lag::SourceView,
    pub target_up: bool,
    pub max_lag_seconds: f64,
    pub healthy: bool,
    pub health_reason: &'a str,
}

impl<'a> LagView<'a> {
    pub fn of(s: &'a LagSnapshot) -> LagView<'a> {
        LagView {
            state: s.state,
            heartbeat_lag_seconds: s.heartbeat_lag_seconds,
            heartbeat_lag_basis: s.heartbeat_lag_basis,
            event_lag_seconds: s.event_lag_seconds,
            backlog: &s.backlog,
            received: &s.received,
            applied: &s.applied,
            source: &s.source,
            target_up: s.target_up,
            max_lag_seconds: s.max_lag_seconds,
            healthy: s.healthy,
            health_reason: &s.health_reason,
        }
    }
}

/// `/status` body.
#[derive(Debug, Serialize)]
struct StatusView<'a> {
    #[serde(flatten)]
    info: &'a StatusInfo,
    uptime_seconds: f64,
    lag: LagView<'a>,
    heartbeat: &'a crate::lag::HeartbeatView,
    apply_rate_tps: f64,
    eta_seconds: Option<f64>,
    worker_stats: &'a [crate::lag::WorkerView],
    retries: u64,
    errors: u64,
    reconnects: u64,
    conflicts: &'a std::collections::BTreeMap<String, u64>,
    /// The failover watcher's state when one runs in this process.
    #[serde(skip_serializing_if = "Option::is_none")]
    failover: Option<serde_json::Value>,
}

#[derive(Clone)]
struct AppState {
    progress: Arc<Progress>,
    info: Arc<StatusInfo>,
}

/// Equal in time independent of where `a` and `b` differ (only their lengths show).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235) equal to `token`.
fn bearer_ok(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some((scheme, given)) = value.trim().split_once(' ') else { return false };
    scheme.eq_ignore_ascii_case("bearer") && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

/// The router (exposed so tests and embedders can serve it their own way).
pub fn router(progress: Arc<Progress>, info: StatusInfo) -> Router {
    let state = AppState { progress, info: Arc::new(info) };
    Router::new()
        .route("/lag", get(lag_handler))
        .route("/metrics", get(metrics_handler))
        .route("/health", get(health_handler))
        .route("/health/ready", get(health_handler))
        .route("/health/live", get(|| async { "ok\n" }))
        .route("/status", get(status_handler))
        .route("/readers", get(readers_handler))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}

fn json_response<T: Serialize>(v: &T) -> Response {
    match serde_json::to_vec_pretty(v) {
        Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("json: {e}\n")).into_response(),
    }
}

async fn lag_handler(State(st): State<AppState>) -> Response {
    let snap = st.progress.snapshot();
    json_response(&LagView::of(&snap))
}

async fn health_handler(State(st): State<AppState>) -> Response {
    let snap = st.progress.snapshot();
    if snap.healthy {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("{}\n", snap.health_reason)).into_response()
    }
}

async fn status_handler(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let token = st.info.access.status_token.expose();
    if !token.is_empty() && !bearer_ok(&headers, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"parapply /status\""))],
            "unauthorized: /status needs `Authorization: Bearer <token>` (http.status_token)\n",
        )
            .into_response();
    }
    let snap = st.progress.snapshot();
    let view = StatusView {
        info: &st.info,
        uptime_seconds: snap.uptime_seconds,
        lag: LagView::of(&snap),
        heartbeat: &snap.heartbeat,
        apply_rate_tps: snap.apply_rate_tps,
        eta_seconds: snap.eta_seconds,
        worker_stats: &snap.workers,
        retries: snap.retries,
        errors: snap.errors,
        reconnects: snap.reconnects,
        conflicts: &snap.conflicts,
        failover: st.progress.failover_state(),
    };
    // The watcher's state holds server errors and reasons: strings that could carry a URL.
    match serde_json::to_value(&view) {
        Ok(mut v) => {
            redact(&mut v);
            json_response(&v)
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("json: {e}\n")).into_response(),
    }
}

/// The failover watcher's read pool (404 when no watcher runs in this process).
async fn readers_handler(State(st): State<AppState>) -> Response {
    match st.progress.failover_state().and_then(|f| f.get("readers").cloned()) {
        Some(r) => json_response(&r),
        None => (StatusCode::NOT_FOUND, "no failover watcher in this process\n").into_response(),
    }
}

/// Content type of `/metrics` (prometheus-client writes OpenMetrics text, `# EOF` included).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn metrics_handler(State(st): State<AppState>) -> Response {
    match render_metrics(&st.progress.snapshot()) {
        Ok(text) => ([(header::CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE))], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("metrics: {e}\n")).into_response(),
    }
}

/// One scrape: every metric from one consistent snapshot.
#[derive(Debug)]
struct SnapshotCollector(LagSnapshot);

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> std::fmt::Result {
    let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v).encode(m)
}

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    // prometheus-client appends `_total` to counter names.
    let m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(v).encode(m)
}

impl prometheus_client::collector::Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        gauge(&mut enc, "parapply_heartbeat_lag_seconds", "Now minus parapply's own note of when the newest heartbeat applied on the target was committed on the source (grows while nothing newer applies)", s.heartbeat_lag_seconds)?;
        gauge(&mut enc, "parapply_event_lag_seconds", "Now minus the source commit time of the newest applied transaction (like Seconds_Behind_Master)", s.event_lag_seconds)?;
        gauge(&mut enc, "parapply_backlog_transactions", "Transactions received but not yet applied", s.backlog.transactions as f64)?;
        gauge(&mut enc, "parapply_backlog_bytes", "Binlog bytes received but not yet applied", s.backlog.bytes as f64)?;
        if let Some(d) = s.backlog.gtid_distance {
            gauge(&mut enc, "parapply_backlog_gtids", "GTID distance from the applied position to the source's current position", d as f64)?;
        }
        counter(&mut enc, "parapply_received_transactions", "Transactions received from the source", s.received.transactions)?;
        counter(&mut enc, "parapply_received_bytes", "Binlog bytes received from the source", s.received.bytes)?;
        counter(&mut enc, "parapply_applied_transactions", "Transactions committed on the target", s.applied.transactions)?;
        counter(&mut enc, "parapply_applied_rows", "Row changes committed on the target", s.applied.rows)?;
        counter(&mut enc, "parapply_applied_bytes", "Binlog bytes of transactions committed on the target", s.applied.bytes)?;
        counter(&mut enc, "parapply_applied_heartbeats", "Heartbeat transactions committed on the target", s.applied.heartbeats)?;
        gauge(&mut enc, "parapply_apply_rate_transactions_per_second", "Transactions applied per second over the last ~10 s", s.apply_rate_tps)?;
        gauge(&mut enc, "parapply_apply_rate_bytes_per_second", "Binlog bytes applied per second over the last ~10 s", s.apply_rate_bytes_per_second)?;
        {
            let mut m = enc.encode_descriptor("parapply_worker_busy_ratio", "Fraction of the last sampling period each worker was busy applying", None, MetricType::Gauge)?;
            for w in &s.workers {
                let labels = [("worker", w.worker.to_string())];
                ConstGauge::new(w.busy_ratio).encode(m.encode_family(&labels)?)?;
            }
        }
        {
            let mut m = enc.encode_descriptor("parapply_worker_busy_seconds", "Seconds each worker spent applying", None, MetricType::Counter)?;
            for w in &s.workers {
                let labels = [("worker", w.worker.to_string())];
                ConstCounter::new(w.busy_seconds).encode(m.encode_family(&labels)?)?;
            }
        }
        if let Some(sched) = &s.scheduler {
            let mut buckets = sched.parallelism_buckets.clone();
            if buckets.last().is_none_or(|(le, _)| *le != f64::MAX) {
                buckets.push((f64::MAX, 0));
            }
            let m = enc.encode_descriptor("parapply_scheduler_parallelism", "Transactions running at once, sampled at each dispatch", None, MetricType::Histogram)?;
            let mut m = m;
            m.encode_histogram::<()>(sched.parallelism_sum, sched.parallelism_count, &buckets, None)?;
            let mut m = enc.encode_descriptor("parapply_barriers", "Transactions downgraded to a barrier, by reason", None, MetricType::Counter)?;
            for (reason, n) in &sched.barriers {
                let labels = [("reason", reason.as_str())];
                ConstCounter::new(*n).encode(m.encode_family(&labels)?)?;
            }
        }
        counter(&mut enc, "parapply_retries", "Transient target errors retried", s.retries)?;
        {
            let mut m = enc.encode_descriptor("parapply_conflicts", "Row conflicts (missing row, duplicate key) by table", None, MetricType::Counter)?;
            for (table, n) in &s.conflicts {
                let labels = [("table", table.as_str())];
                ConstCounter::new(*n).encode(m.encode_family(&labels)?)?;
            }
        }
        counter(&mut enc, "parapply_errors", "Definite errors", s.errors)?;
        counter(&mut enc, "parapply_source_reconnects", "Reconnects of the source stream", s.reconnects)?;
        {
            let mut m = enc.encode_descriptor("parapply_state", "1 for the current pipeline state, 0 for the others", None, MetricType::Gauge)?;
            for st in PipelineState::ALL {
                let labels = [("state", st.name())];
                ConstGauge::new(i64::from(st == s.state)).encode(m.encode_family(&labels)?)?;
            }
        }
        gauge(&mut enc, "parapply_max_lag_seconds", "The configured lag.max_lag_s (/health answers 503 at or above it)", s.max_lag_seconds)?;
        gauge(&mut enc, "parapply_uptime_seconds", "Seconds since start", s.uptime_seconds)?;
        Ok(())
    }
}

/// Render the `/metrics` body for a snapshot.
pub fn render_metrics(snap: &LagSnapshot) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(snap.clone())));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// A running server; stops (and joins its thread) on [`HttpServer::shutdown`] or drop.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Bind `listen` (e.g. `127.0.0.1:9187`, port 0 for an ephemeral port) and serve on a new
    /// thread with its own runtime. Bind errors are returned here, not on the thread.
    pub fn start(listen: &str, progress: Arc<Progress>, info: StatusInfo) -> Result<HttpServer, HttpError> {
        let std_listener = std::net::TcpListener::bind(listen).map_err(|source| HttpError::Bind { listen: listen.to_string(), cause: source })?;
        std_listener.set_nonblocking(true).map_err(|source| HttpError::Bind { listen: listen.to_string(), cause: source })?;
        let addr = std_listener.local_addr().map_err(|source| HttpError::Bind { listen: listen.to_string(), cause: source })?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let per_peer = info.access.max_connections_per_peer;
        let app = router(progress, info);
        let thread = std::thread::Builder::new()
            .name("parapply-http".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "http: cannot build runtime");
                        return;
                    }
                };
                rt.block_on(serve(std_listener, app, per_peer, stop_rx));
            })
            .map_err(HttpError::Thread)?;
        tracing::info!(listen = %addr, "http endpoints up (/lag /metrics /health /status)");
        Ok(HttpServer { addr, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, drop open connections and join the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Connections held per client address. The server's runtime is single-threaded; the lock is
/// a leaf held for one map operation, taken on accept and when a connection task ends.
#[derive(Default)]
struct PeerSlots(parking_lot::Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in [`PeerSlots`], given back on drop.
struct PeerSlot {
    slots: Arc<PeerSlots>,
    ip: IpAddr,
}

impl PeerSlots {
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<PeerSlot> {
        let mut map = self.0.lock();
        let n = map.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(PeerSlot { slots: self.clone(), ip })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut map = self.slots.0.lock();
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

async fn serve(std_listener: std::net::TcpListener, app: Router, per_peer: usize, mut stop: tokio::sync::watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::from_std(std_listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "http: cannot register listener");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let peers = Arc::new(PeerSlots::default());
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => break,
        };
        // Reap finished connection tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "http: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // An IPv4 client on a dual-stack listener shows as ::ffff:a.b.c.d: one address either way.
        let Some(peer_slot) = peers.take(peer.ip().to_canonical(), per_peer) else {
            tracing::debug!(%peer, per_peer, "http: this client holds http.max_connections_per_peer connections, closing");
            drop(stream);
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "http: too many connections, closing");
            drop(stream);
            continue;
        };
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let _peer_slot = peer_slot;
            let _ = stream.set_nodelay(true);
            let io = hyper_util::rt::TokioIo::new(stream);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES.max(8192))
                .serve_connection(io, svc);
            match tokio::time::timeout(CONNECTION_LIFETIME, conn).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "http: connection ended with an error"),
                Err(_) => tracing::debug!(%peer, "http: connection lifetime reached, closing"),
            }
        });
    }
    tasks.abort_all();
}

/// Errors of the small client `parapply status` uses.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    #[error("http: bad URL {url:?}: {why}")]
    Url { url: String, why: String },
    #[error("http: cannot connect to {addr}: {}", crate::error_text::chain(.cause))]
    Connect { addr: String, cause: std::io::Error },
    #[error("http: GET {url}: {}", crate::error_text::chain(.cause))]
    Request { url: String, cause: hyper::Error },
    #[error("http: GET {url}: {why}")]
    Body { url: String, why: String },
    #[error("http: GET {url} timed out after {secs} s")]
    Timeout { url: String, secs: u64 },
}

/// `GET base + path` over HTTP/1.1; returns the status code and the body (at most 4 MiB).
/// `base` is `http://host:port` (a trailing `/` is fine).
pub async fn http_get(base: &str, path: &str, timeout: Duration) -> Result<(u16, String), HttpClientError> {
    http_get_auth(base, path, timeout, None).await
}

/// [`http_get`] with `Authorization: Bearer <bearer>` when given.
pub async fn http_get_auth(base: &str, path: &str, timeout: Duration, bearer: Option<&str>) -> Result<(u16, String), HttpClientError> {
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    let fut = async {
        let uri: axum::http::Uri = url.parse().map_err(|e: axum::http::uri::InvalidUri| HttpClientError::Url { url: url.clone(), why: e.to_string() })?;
        if uri.scheme_str() != Some("http") {
            return Err(HttpClientError::Url { url: url.clone(), why: "only http:// is supported".into() });
        }
        let host = uri.host().ok_or_else(|| HttpClientError::Url { url: url.clone(), why: "no host".into() })?.to_string();
        let port = uri.port_u16().unwrap_or(80);
        let addr = format!("{}:{port}", host.trim_start_matches('[').trim_end_matches(']'));
        let stream = tokio::net::TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|source| HttpClientError::Connect { addr: addr.clone(), cause: source })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|source| HttpClientError::Request { url: url.clone(), cause: source })?;
        let driver = tokio::spawn(conn);
        let path_q = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
        let mut req = axum::http::Request::get(path_q).header(header::HOST, format!("{host}:{port}"));
        if let Some(t) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .body(axum::body::Body::empty())
            .map_err(|e| HttpClientError::Body { url: url.clone(), why: e.to_string() })?;
        let resp = sender.send_request(req).await.map_err(|source| HttpClientError::Request { url: url.clone(), cause: source })?;
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(axum::body::Body::new(resp.into_body()), 4 << 20)
            .await
            .map_err(|e| HttpClientError::Body { url: url.clone(), why: e.to_string() })?;
        driver.abort();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(HttpClientError::Timeout { url, secs: timeout.as_secs() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LagConfig;

    #[test]
    fn url_passwords_are_redacted_wherever_they_sit() {
        assert_eq!(redact_url_passwords("mysql://repl:pw@10.0.0.1:3306/db?x=1"), "mysql://repl:<redacted>@10.0.0.1:3306/db?x=1");
        assert_eq!(redact_url_passwords("a mysql://u:p:q@h b http://x:y@z/ c"), "a mysql://u:<redacted>@h b http://x:<redacted>@z/ c");
        // A password holding '@' ends at the last '@' of the authority.
        assert_eq!(redact_url_passwords("mysql://u:p@ss@h:1"), "mysql://u:<redacted>@h:1");
        // No password, no userinfo, or no URL: unchanged.
        for s in ["mysql://u@h:1", "http://127.0.0.1:9187/status", "user@host", "a:b@c", "://"] {
            assert_eq!(redact_url_passwords(s), s);
        }
    }

    #[test]
    fn redact_hides_hooks_secret_paths_and_url_passwords() {
        let mut v = serde_json::json!({
            "target": { "password": "<redacted>", "password_file": "/etc/pw", "password_env": "X" },
            "failover": { "on_promote": ["curl -H 'token: t'", "x"], "on_reader_change": [], "switch_log": "s.jsonl" },
            "http": { "status_token_file": null },
            "reasons": ["cannot reach mysql://u:secret@h:1"],
        });
        redact(&mut v);
        assert_eq!(v, serde_json::json!({
            "target": { "password": "<redacted>", "password_file": "<redacted>", "password_env": "X" },
            "failover": { "on_promote": ["<redacted>", "<redacted>"], "on_reader_change": [], "switch_log": "s.jsonl" },
            "http": { "status_token_file": null },
            "reasons": ["cannot reach mysql://u:<redacted>@h:1"],
        }));
    }

    #[test]
    fn bearer_token_check() {
        let mut h = HeaderMap::new();
        assert!(!bearer_ok(&h, "tok"));
        for (value, ok) in [("Bearer tok", true), ("bearer tok", true), ("Bearer  tok ", true), ("Bearer tok2", false), ("Bearer to", false), ("Basic tok", false), ("tok", false), ("Bearer ", false)] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert_eq!(bearer_ok(&h, "tok"), ok, "{value:?}");
        }
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"a", b"b"));
    }

    #[test]
    fn metrics_text_has_exact_names() {
        let p = Progress::new(&LagConfig::default());
        p.on_received(100, None, 0);
        p.on_conflict("db.t");
        let text = render_metrics(&p.snapshot()).unwrap();
        for line in [
            "# TYPE parapply_heartbeat_lag_seconds gauge",
            "parapply_backlog_transactions 1.0",
            "parapply_backlog_bytes 100.0",
            "parapply_applied_transactions_total 0",
            "parapply_received_bytes_total 100",
            "parapply_conflicts_total{table=\"db.t\"} 1",
            "parapply_state{state=\"streaming\"} 1",
            "parapply_state{state=\"stalled\"} 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
