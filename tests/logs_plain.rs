//! Logs written to something that is not a terminal (a file, journald, a pipe) carry no ANSI
//! colour codes: the binary's tracing subscriber colours only when stderr is a terminal.
//! Needs no database server: `run` logs its endpoints line before it reaches the source.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};

/// A local port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

#[test]
fn redirected_logs_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (src, tgt) = (closed_port(), closed_port());
    let config = dir.path().join("parapply.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nhost = \"127.0.0.1\"\nport = {src}\nuser = \"root\"\nserver_id = 4200099\n\n\
             [target]\nhost = \"127.0.0.1\"\nport = {tgt}\nuser = \"root\"\n\n\
             [http]\nlisten = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["--log", "info", "run", "--config"])
        .arg(&config)
        .env_remove("PARAPPLY_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run parapply");
    // Read stderr (a pipe) until the info line naming the endpoints, then stop the process: with
    // nothing listening on the source or target, `run` would retry for ever.
    let mut seen = Vec::new();
    let mut reader = BufReader::new(child.stderr.take().expect("stderr piped"));
    let mut line = String::new();
    while reader.read_line(&mut line).expect("read stderr") > 0 {
        seen.push(std::mem::take(&mut line));
        if seen.last().is_some_and(|l| l.contains("endpoints: /lag")) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.concat();
    let endpoints = seen.iter().find(|l| l.contains("endpoints: /lag")).unwrap_or_else(|| panic!("no endpoints line in stderr:\n{text}"));
    assert!(endpoints.contains(" INFO "), "level written as plain text: {endpoints:?}");
    assert!(!text.contains("\x1b["), "ANSI escape codes in redirected logs: {text:?}");
}
