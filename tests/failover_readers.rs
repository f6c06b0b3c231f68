//! The read pool: a reader (C replicating from A) leaves the pool when its lag becomes unknown
//! (SQL thread stopped) and rejoins when it applies again; the `on_reader_change` hook runs with
//! READER_NAME/READER_STATE; `/readers` and `/status` (`failover`) show it over HTTP; `doctor`
//! output lists every check.

mod common;
mod failover_support;


use common::Sandbox;
use failover_support::*;
use parapply::config::FailoverServer;

#[test]
fn reader_leaves_and_rejoins_the_pool_with_hook_and_http() {
    let sb = Sandbox::start(&["A", "B", "C"], "");
    sb.sql("C", &format!("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1; START SLAVE", sb.port("A")));
    let dir = tempfile::tempdir().unwrap();
    let hook_out = dir.path().join("readers.txt");
    let mut cfg = config(&sb, &dir.path().join("switch.jsonl"));
    cfg.servers.push(FailoverServer { name: "C".into(), endpoint: ep(sb.port("C")), role: "reader".into(), priority: 0 });
    cfg.on_reader_change = vec![format!("echo \"$READER_NAME $READER_STATE\" >> {}", hook_out.display())];

    let (w, _http, base) = start_served_watcher(cfg);
    w.wait_state("healthy", 20);
    wait_for("C in the pool", 20, || w.state.snapshot().readers.first().is_some_and(|r| r.in_pool).then_some(()));
    let (code, readers) = get_json(&base, "/readers");
    assert_eq!(code, 200);
    assert_eq!((readers[0]["name"].as_str(), readers[0]["in_pool"].as_bool()), (Some("C"), Some(true)));

    sb.sql("C", "STOP SLAVE SQL_THREAD");
    wait_for("C out of the pool", 20, || w.state.snapshot().readers.first().is_some_and(|r| !r.in_pool).then_some(()));
    let (_, status) = get_json(&base, "/status");
    assert_eq!(status["failover"]["state"].as_str(), Some("healthy"));
    assert_eq!(status["failover"]["writer"].as_str(), Some("A"));
    assert_eq!(status["failover"]["readers"][0]["in_pool"].as_bool(), Some(false));
    assert_eq!(status["failover"]["readers"][0]["reason"].as_str(), Some("lag unknown (unreachable or replication stopped)"));

    sb.sql("C", "START SLAVE SQL_THREAD");
    wait_for("C back in the pool", 20, || w.state.snapshot().readers.first().is_some_and(|r| r.in_pool).then_some(()));
    wait_for("both hook runs", 10, || (std::fs::read_to_string(&hook_out).unwrap_or_default().lines().count() == 2).then_some(()));
    assert_eq!(std::fs::read_to_string(&hook_out).unwrap(), "C out\nC in\n");
    drop(w);
}

#[test]
fn doctor_command_reports_every_check_and_a_dual_write() {
    let sb = Sandbox::start(&["A", "B"], "");
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("parapply.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "[source]\nport={a}\n[target]\nport=1\n[failover]\nswitch_log='{log}'\n[[failover.servers]]\nname='A'\nport={a}\n[[failover.servers]]\nname='B'\nport={b}\n",
            a = sb.port("A"),
            b = sb.port("B"),
            log = dir.path().join("switch.jsonl").display()
        ),
    )
    .unwrap();
    let doctor = || std::process::Command::new(env!("CARGO_BIN_EXE_parapply")).args(["doctor", "--json", "--config"]).arg(&cfg_path).output().unwrap();
    let out = doctor();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "A.reachable", "B.reachable", "distinct_server_id", "distinct_gtid_domain_id", "auto_increment",
            "A.binlog_format", "A.binlog_row_image", "A.binlog_row_metadata", "A.log_bin", "A.log_slave_updates",
            "B.binlog_format", "B.binlog_row_image", "B.binlog_row_metadata", "B.log_bin", "B.log_slave_updates",
            "B.passive_read_only", "B.dual_write",
        ]
    );
    // A write on the passive master (root bypasses read_only): a dual-write hazard, exit 2.
    sb.sql("B", "CREATE DATABASE oops");
    let out = doctor();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: Vec<&str> = v["checks"].as_array().unwrap().iter().filter(|c| c["result"] == "fail").map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(failed, vec!["B.dual_write"]);
}
