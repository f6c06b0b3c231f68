//! The deployment pieces under `deploy/` and `tools/grafana-dashboard.json`, checked by the tools
//! that consume them: the Prometheus rules by `promtool check rules` and `promtool test rules`
//! (unit tests of every alert with input series), the systemd unit by `systemd-analyze verify`
//! and parapply's own argument parser, the dashboard as JSON. Every metric name they use must
//! be one `/metrics` exposes. Needs no database server; `tools/test` installs promtool
//! (Debian package `prometheus`) and systemd-analyze (`systemd`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// Run a tool the check needs; a missing tool is a failure that says how to install it.
fn tool(bin: &str, package: &str, args: &[&str], dir: &Path) -> (bool, String, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{bin} is required for this check ({e}); install it with: apt-get install -y {package} (tools/test does)"));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The sample names `/metrics` can expose, from the metric definitions in `src/http.rs`:
/// `gauge(.., "name", ..)` is `name`; `counter(.., "name", ..)` is `name_total`
/// (prometheus-client appends it); `encode_descriptor("name", .., MetricType::X)` by its type.
fn exposed_names() -> BTreeSet<String> {
    let src = read("src/http.rs");
    let src = src.split("#[cfg(test)]").next().unwrap_or(&src);
    let mut names = BTreeSet::new();
    let quoted = |s: &str| s.split('"').nth(1).map(str::to_string);
    for line in src.lines() {
        if let Some(rest) = line.split("gauge(&mut enc, ").nth(1) {
            names.extend(quoted(rest));
        } else if let Some(rest) = line.split("counter(&mut enc, ").nth(1) {
            names.extend(quoted(rest).map(|n| format!("{n}_total")));
        } else if let Some(rest) = line.split("encode_descriptor(").nth(1) {
            let Some(name) = quoted(rest) else { continue };
            if line.contains("MetricType::Gauge") {
                names.insert(name);
            } else if line.contains("MetricType::Counter") {
                names.insert(format!("{name}_total"));
            } else if line.contains("MetricType::Histogram") {
                names.extend(["_bucket", "_count", "_sum"].map(|s| format!("{name}{s}")));
            } else {
                panic!("src/http.rs: metric {name}: type not recognised by this test: {line}");
            }
        }
    }
    names
}

/// Every `parapply_*` name in a text (a PromQL expression, a rules file).
fn metric_names_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("parapply_") {
        let name: String = rest[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        rest = &rest[i + name.len()..];
        out.insert(name);
    }
    out
}

#[test]
fn exposed_names_match_what_metrics_renders() {
    let names = exposed_names();
    assert!(names.len() >= 20, "metric definitions found in src/http.rs: {names:?}");
    // The rendered text of a fresh snapshot (families that need data, e.g. per-worker ones, are
    // absent): each sample's name is one the definitions give.
    let progress = parapply::lag::Progress::new(&parapply::config::LagConfig::default());
    progress.on_conflict("db.t");
    let text = parapply::http::render_metrics(&progress.snapshot()).expect("render /metrics");
    let rendered: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_string())
        .collect();
    let unknown: Vec<&String> = rendered.difference(&names).collect();
    assert!(unknown.is_empty(), "/metrics renders names the definitions do not give: {unknown:?}\n{text}");
    for n in ["parapply_heartbeat_lag_seconds", "parapply_state", "parapply_max_lag_seconds", "parapply_errors_total", "parapply_conflicts_total"] {
        assert!(rendered.contains(n), "{n} rendered:\n{text}");
    }
}

#[test]
fn prometheus_rules_pass_promtool_check_and_unit_tests() {
    let dir = repo().join("deploy/prometheus");
    let (ok, out, err) = tool("promtool", "prometheus", &["check", "rules", "parapply-rules.yml"], &dir);
    assert!(ok && out.contains("SUCCESS: 9 rules found"), "promtool check rules:\n{out}{err}");
    let (ok, out, err) = tool("promtool", "prometheus", &["test", "rules", "parapply-rules.test.yml"], &dir);
    assert!(ok && out.contains("SUCCESS"), "promtool test rules:\n{out}{err}");
    let used = metric_names_in(&read("deploy/prometheus/parapply-rules.yml"));
    let exposed = exposed_names();
    let unknown: Vec<&String> = used.difference(&exposed).collect();
    assert!(unknown.is_empty(), "deploy/prometheus/parapply-rules.yml uses metrics /metrics does not expose: {unknown:?}");
    for n in ["parapply_heartbeat_lag_seconds", "parapply_max_lag_seconds", "parapply_state"] {
        assert!(used.contains(n), "the rules alert on {n}");
    }
}

#[test]
fn grafana_dashboard_is_json_and_uses_existing_metrics() {
    let text = read("tools/grafana-dashboard.json");
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("tools/grafana-dashboard.json is not valid JSON: {e}"));
    let panels = dash["panels"].as_array().expect("tools/grafana-dashboard.json has a panels array");
    let mut exprs = Vec::new();
    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => collect(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    collect(&dash, &mut exprs);
    assert!(!panels.is_empty() && exprs.len() >= panels.len() / 2, "{} panels, {} expressions", panels.len(), exprs.len());
    let names = exposed_names();
    let mut used = BTreeSet::new();
    for e in &exprs {
        let in_expr = metric_names_in(e);
        assert!(!in_expr.is_empty(), "dashboard expression without a parapply metric: {e}");
        for n in in_expr {
            assert!(names.contains(&n), "dashboard expression uses {n}, which /metrics does not expose: {e}");
            used.insert(n);
        }
    }
    assert!(used.contains("parapply_heartbeat_lag_seconds") && used.contains("parapply_state"), "dashboard metrics: {used:?}");
}

#[test]
fn systemd_unit_verifies_and_runs_the_live_replica() {
    let unit = read("deploy/systemd/parapply@.service");
    let keys: Vec<(&str, &str)> = unit
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |k: &str| keys.iter().filter(|(key, _)| *key == k).map(|(_, v)| *v).collect::<Vec<_>>();
    assert_eq!(get("Restart"), ["on-failure"]);
    // parapply has no reload (no SIGHUP handler): the unit must not claim one.
    assert_eq!(get("ExecReload"), Vec::<&str>::new());
    for (k, v) in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"), ("ReadWritePaths", "/var/lib/parapply"), ("StateDirectory", "parapply")] {
        assert_eq!(get(k), [v], "{k}");
    }
    // ExecStart is a command line parapply accepts: `run --config <file>`.
    let exec = get("ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart");
    let argv: Vec<String> = exec[0].replace("%i", "replica1").split_whitespace().map(str::to_string).collect();
    assert_eq!(argv[0], "/usr/local/bin/parapply");
    let cli = parapply::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("ExecStart {argv:?}: {e}"));
    match cli.command {
        parapply::cli::Command::Run(r) => assert_eq!(r.config, PathBuf::from("/etc/parapply/replica1.toml")),
        other => panic!("ExecStart runs {other:?}, not `run`"),
    }
    // systemd's own check, with ExecStart pointing at the binary built for this test (it must
    // exist); any warning (an unknown key, a bad value) fails.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("parapply@.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/parapply", env!("CARGO_BIN_EXE_parapply"))).unwrap();
    let (ok, out, err) = tool("systemd-analyze", "systemd", &["verify", copy.to_str().unwrap()], dir.path());
    assert!(ok && out.is_empty() && err.is_empty(), "systemd-analyze verify:\n{out}{err}");
}
