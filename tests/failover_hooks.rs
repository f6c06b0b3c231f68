//! The `on_promote` hook runner (env, timeout) and the shipped HAProxy hook against a real
//! HAProxy through its runtime API.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use parapply::failover::promote::run_hooks;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn hooks_get_env_and_are_killed_at_the_timeout() {
    let env = vec![("NEW_WRITER_NAME".to_string(), "B".to_string()), ("OLD_WRITER_GTID".to_string(), "1-1-42".to_string())];
    let cmds = vec!["echo \"$NEW_WRITER_NAME $OLD_WRITER_GTID\"".to_string(), "sleep 5".to_string(), "exit 3".to_string()];
    let started = std::time::Instant::now();
    let steps = rt().block_on(run_hooks(&cmds, &env, Duration::from_millis(300), "on_promote"));
    assert!(started.elapsed() < Duration::from_secs(4), "the sleeping hook was not killed");
    let got: Vec<(&str, &str)> = steps.iter().map(|s| (s.name.as_str(), s.result.as_str())).collect();
    assert_eq!(got, vec![("on_promote[0]", "ok"), ("on_promote[1]", "fail"), ("on_promote[2]", "fail")]);
    assert_eq!(steps[0].detail, "echo \"$NEW_WRITER_NAME $OLD_WRITER_GTID\": B 1-1-42");
    assert!(steps[1].detail.ends_with("timed out after 300 ms, killed"), "{}", steps[1].detail);
    assert!(steps[2].detail.starts_with("exit 3: exit Some(3)"), "{}", steps[2].detail);
}

fn haproxy_status(sock: &std::path::Path) -> Vec<(String, String)> {
    let out = Command::new("socat").args(["-t", "2", "-"]).arg(format!("UNIX-CONNECT:{}", sock.display())).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().and_then(|mut c| {
        use std::io::Write;
        c.stdin.take().unwrap().write_all(b"show stat\n")?;
        c.wait_with_output()
    });
    let text = String::from_utf8_lossy(&out.unwrap().stdout).to_string();
    // CSV: pxname,svname,...; status is column 17 (0-based).
    text.lines().filter(|l| l.starts_with("mysql_writer,") && !l.contains(",BACKEND,")).map(|l| {
        let f: Vec<&str> = l.split(',').collect();
        (f[1].to_string(), f[17].to_string())
    }).collect()
}

#[test]
fn haproxy_hook_moves_the_writer_backend() {
    if Command::new("haproxy").arg("-v").output().is_err() || Command::new("socat").arg("-V").output().is_err() {
        panic!("haproxy and socat are required (CI installs them)");
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("admin.sock");
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, format!(
        "global\n  stats socket {} mode 600 level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend writer\n  bind 127.0.0.1:{listen}\n  default_backend mysql_writer\n\
         backend mysql_writer\n  server A 127.0.0.1:1 \n  server B 127.0.0.1:2 disabled\n", sock.display())).unwrap();
    let mut hap = Command::new("haproxy").arg("-db").arg("-f").arg(&cfg).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sock.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(haproxy_status(&sock), vec![("A".into(), "no check".into()), ("B".into(), "MAINT".into())]);
    let hook = common::repo_dir().join("tools/hooks/haproxy-switch-writer");
    let env = vec![
        ("OLD_WRITER_NAME".to_string(), "A".to_string()),
        ("NEW_WRITER_NAME".to_string(), "B".to_string()),
        ("HAPROXY_SOCKET".to_string(), sock.display().to_string()),
    ];
    let steps = rt().block_on(run_hooks(&[hook.display().to_string()], &env, Duration::from_secs(10), "on_promote"));
    let status = haproxy_status(&sock);
    let _ = hap.kill();
    let _ = hap.wait();
    assert_eq!(steps[0].result, "ok", "{:?}", steps[0]);
    assert_eq!(status, vec![("A".into(), "MAINT".into()), ("B".into(), "no check".into())]);
}
