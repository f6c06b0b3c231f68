//! Helpers shared by the `apply_*` integration tests: run the real `parapply` binary against a
//! sandbox target and read its JSON summary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use crate::common::Sandbox;

/// The `parapply` binary cargo built for this test run.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parapply"))
}

/// `parapply replay FILES --target C --json ARGS`.
pub fn replay_cmd(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("replay").args(files).arg("--target").arg(sb.url("C")).arg("--json").args(args);
    c.env("PARAPPLY_LOG", "parapply=info");
    c
}

/// Run a replay to the end; returns the process output.
pub fn replay(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> Output {
    replay_cmd(sb, files, args).output().expect("run parapply")
}

/// Run a replay that must succeed; returns its JSON summary.
pub fn replay_ok(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> serde_json::Value {
    let out = replay(sb, files, args);
    assert!(out.status.success(), "replay {args:?} failed:\nstdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Start a replay in the background (for kill tests).
pub fn spawn_replay(sb: &Sandbox, files: &[PathBuf], args: &[&str]) -> Child {
    replay_cmd(sb, files, args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn parapply")
}

/// SIGKILL a child we spawned, by its own pid.
pub fn kill9(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// Drop the given databases and parapply's state schema on C.
pub fn reset_target(sb: &Sandbox, dbs: &[&str]) {
    let mut sql = String::from("SET SESSION sql_log_bin=0;");
    for db in dbs.iter().chain(["parapply"].iter()) {
        sql.push_str(&format!("DROP DATABASE IF EXISTS `{db}`;"));
    }
    sb.sql("C", &sql);
}

/// `CHECKSUM TABLE` of each table on an instance, as text lines.
pub fn checksums(sb: &Sandbox, name: &str, tables: &[&str]) -> String {
    sb.sql(name, &format!("CHECKSUM TABLE {}", tables.join(", ")))
}

pub fn u(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("summary has no {key}: {v}"))
}
