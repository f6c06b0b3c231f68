//! `parapply status`: a readable summary of a running parapply, from its `/status` and `/lag`
//! endpoints.
//!
//! Owns presentation only: it fetches JSON over HTTP ([`crate::http::http_get`]) and prints it. It
//! must not connect to MySQL servers. Exit code: 0 when healthy, 2 when running but unhealthy
//! (lag at or above max_lag, stopped, target down); errors (unreachable) exit 1.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::cli::StatusArgs;
use crate::config::HttpConfig;
use crate::lag::reporter::{human_bytes, human_duration};

/// Fetch and print. Returns the exit code.
pub fn run(args: &StatusArgs) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("status: cannot build runtime")?;
    let timeout = Duration::from_millis(args.timeout_ms);
    let (base, token) = base_url(args)?;
    let (status, lag) = rt.block_on(async {
        let status = fetch_json(&base, "/status", timeout, token.as_deref()).await?;
        let lag = fetch_json(&base, "/lag", timeout, None).await?;
        anyhow::Ok((status, lag))
    })?;
    if args.json {
        let both = serde_json::json!({ "status": status, "lag": lag });
        println!("{}", serde_json::to_string_pretty(&both)?);
    } else {
        print!("{}", render(&status, &lag));
    }
    Ok(if lag.get("healthy").and_then(Value::as_bool) == Some(true) { 0 } else { 2 })
}

/// The variable `status` takes the `/status` bearer token from when `--config` gives none.
pub const STATUS_TOKEN_ENV: &str = "PARAPPLY_STATUS_TOKEN";

/// Where to ask (`--http`, else `http.listen` of `--config`, else the default listen address)
/// and the `/status` token (`http.status_token*` of `--config`, else `PARAPPLY_STATUS_TOKEN`).
fn base_url(args: &StatusArgs) -> anyhow::Result<(String, Option<String>)> {
    let env_token = std::env::var(STATUS_TOKEN_ENV).ok().filter(|t| !t.is_empty());
    let http = match &args.config {
        Some(path) => {
            let http = HttpConfig::from_config_file(path)?;
            anyhow::ensure!(args.http.is_some() || http.enabled, "{}: `http.enabled = false`: the endpoints `status` reads are off", path.display());
            Some(http)
        }
        None => None,
    };
    let token = http.as_ref().map(|h| h.status_token.expose().to_string()).filter(|t| !t.is_empty()).or(env_token);
    let base = match (&args.http, &http) {
        (Some(url), _) => url.clone(),
        (None, Some(h)) => format!("http://{}", connect_address(&h.listen)),
        (None, None) => format!("http://{}", HttpConfig::default().listen),
    };
    Ok((base, token))
}

/// The address a client connects to for a listen address: a wildcard listen (all interfaces)
/// is reached on loopback.
fn connect_address(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => listen.to_string(),
    }
}

async fn fetch_json(base: &str, path: &str, timeout: Duration, token: Option<&str>) -> anyhow::Result<Value> {
    let (code, body) = crate::http::http_get_auth(base, path, timeout, token).await?;
    anyhow::ensure!(code == 200, "GET {base}{path}: HTTP {code}: {}", body.trim());
    serde_json::from_str(&body).with_context(|| format!("GET {base}{path}: not JSON"))
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}

fn text(v: &Value, path: &[&str]) -> String {
    match s(v, path) {
        Some(Value::String(x)) => x.clone(),
        Some(x) => x.to_string(),
        None => "-".into(),
    }
}

fn num(v: &Value, path: &[&str]) -> f64 {
    s(v, path).and_then(Value::as_f64).unwrap_or(0.0)
}

/// The human summary (also used by tests through the binary).
pub fn render(status: &Value, lag: &Value) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<15} {v}\n"));
    line(
        "parapply",
        format!(
            "{} — {}, mode {}, {} workers, up {}",
            text(status, &["version"]),
            text(status, &["command"]),
            text(status, &["mode"]),
            text(status, &["workers"]),
            human_duration(num(status, &["uptime_seconds"]))
        ),
    );
    line("state", format!("{} ({})", text(lag, &["state"]), text(lag, &["health_reason"])));
    line(
        "heartbeat lag",
        format!("{:.1}s (basis {}, max {}s)", num(lag, &["heartbeat_lag_seconds"]), text(lag, &["heartbeat_lag_basis"]), text(lag, &["max_lag_seconds"])),
    );
    line("event lag", format!("{:.1}s (source commit time of the last applied transaction)", num(lag, &["event_lag_seconds"])));
    let gtids = match s(lag, &["backlog", "gtid_distance"]).and_then(Value::as_u64) {
        Some(d) => format!(", {d} GTIDs behind the source"),
        None => String::new(),
    };
    line(
        "backlog",
        format!("{} txns, {}{gtids}", text(lag, &["backlog", "transactions"]), human_bytes(num(lag, &["backlog", "bytes"]) as u64)),
    );
    line("received", format!("{} txns, last {}", text(lag, &["received", "transactions"]), text(lag, &["received", "last_gtid"])));
    line(
        "applied",
        format!(
            "{} txns ({} rows), last {} at {}:{}",
            text(lag, &["applied", "transactions"]),
            text(lag, &["applied", "rows"]),
            text(lag, &["applied", "last_gtid"]),
            text(lag, &["applied", "file"]),
            text(lag, &["applied", "pos"])
        ),
    );
    let src_gtids = s(lag, &["source", "gtids"]).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")).unwrap_or_default();
    line(
        "source",
        format!(
            "{} at {}:{} ({})",
            if src_gtids.is_empty() { "-".to_string() } else { src_gtids },
            text(lag, &["source", "file"]),
            text(lag, &["source", "pos"]),
            if s(lag, &["source", "up"]).and_then(Value::as_bool) == Some(true) { "up" } else { "DOWN" }
        ),
    );
    let eta = s(status, &["eta_seconds"]).and_then(Value::as_f64).map(human_duration).unwrap_or_else(|| "unknown".into());
    line("rate", format!("{:.0} txn/s, ETA {eta}", num(status, &["apply_rate_tps"])));
    let conflicts = s(status, &["conflicts"]).and_then(Value::as_object).map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")).unwrap_or_default();
    line(
        "counters",
        format!(
            "retries {}, errors {}, reconnects {}, conflicts {}",
            text(status, &["retries"]),
            text(status, &["errors"]),
            text(status, &["reconnects"]),
            if conflicts.is_empty() { "none".into() } else { conflicts }
        ),
    );
    out
}
