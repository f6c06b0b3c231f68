//! The hook runner (env, timeout, process group, output cap, credential scrubbing, per-reader
//! order) and the shipped HAProxy hook against a real HAProxy through its runtime API.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use parapply::config::Config;
use parapply::failover::hooks::{run_hook, HookOptions, SerialHooks, OUTPUT_CAP};
use parapply::failover::promote::run_hooks;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn opts(ms: u64) -> HookOptions {
    HookOptions::new(Duration::from_millis(ms))
}

#[test]
fn hooks_get_env_and_are_killed_at_the_timeout() {
    let env = vec![("NEW_WRITER_NAME".to_string(), "B".to_string()), ("OLD_WRITER_GTID".to_string(), "1-1-42".to_string())];
    let cmds = vec!["echo \"$NEW_WRITER_NAME $OLD_WRITER_GTID\"".to_string(), "sleep 5".to_string(), "exit 3".to_string()];
    let started = std::time::Instant::now();
    let steps = rt().block_on(run_hooks(&cmds, &env, &opts(300), "on_promote"));
    assert!(started.elapsed() < Duration::from_secs(4), "the sleeping hook was not killed");
    let got: Vec<(&str, &str)> = steps.iter().map(|s| (s.name.as_str(), s.result.as_str())).collect();
    assert_eq!(got, vec![("on_promote[0]", "ok"), ("on_promote[1]", "fail"), ("on_promote[2]", "fail")]);
    // The switch log gets the output, never the command line (it may carry a secret).
    assert_eq!(steps[0].detail, "B 1-1-42");
    assert_eq!(steps[1].detail, "timed out after 300 ms; its process group was killed (SIGTERM, SIGKILL after 2000 ms)");
    assert_eq!(steps[2].detail, "exit Some(3): ");
}

/// A process that exists and is not a zombie (a killed process whose parent is gone stays a
/// zombie until init reaps it; it runs nothing).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Kills a leftover test process if an assertion failed before the hook runner did.
struct KillOnDrop(Vec<u32>);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).stderr(Stdio::null()).status();
        }
    }
}

/// Issue 15 item 3: at the timeout the whole process group goes, not only `sh`: a background
/// grandchild (`sleep 300 &`) used to outlive the hook, holding its pipes.
#[test]
fn timed_out_hook_takes_its_background_grandchild_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let cmd = format!("sleep 300 & echo $! > {}; sleep 300", pidfile.display());
    let run = rt().block_on(run_hook(&cmd, &[], &opts(3000)));
    let grandchild: u32 = std::fs::read_to_string(&pidfile).expect("the hook wrote its background pid").trim().parse().unwrap();
    let shell = run.pid.expect("the hook started");
    let _cleanup = KillOnDrop(vec![grandchild]);
    assert!(!run.ok());
    assert_eq!(run.status.as_ref().unwrap_err().to_string(), "timed out after 3000 ms; its process group was killed (SIGTERM, SIGKILL after 2000 ms)");
    assert!(!alive(grandchild), "the background grandchild {grandchild} survived the hook's timeout");
    assert!(!alive(shell), "the hook's shell {shell} survived its timeout");

    // Through run_hooks the step names the hook and says it timed out.
    let cmd = format!("sleep 300 & echo $! > {}; sleep 300", pidfile.display());
    let steps = rt().block_on(run_hooks(&[String::from("true"), cmd.clone()], &[], &opts(3000), "on_promote"));
    let grandchild: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let _cleanup2 = KillOnDrop(vec![grandchild]);
    assert_eq!((steps[1].name.as_str(), steps[1].result.as_str()), ("on_promote[1]", "fail"));
    assert_eq!(steps[1].detail, "timed out after 3000 ms; its process group was killed (SIGTERM, SIGKILL after 2000 ms)");
    assert!(!alive(grandchild), "the background grandchild {grandchild} survived the hook's timeout");
}

/// A hook writing megabytes on both streams is drained as it writes (it never blocks on a full
/// pipe, so it finishes long before its timeout) and only the last OUTPUT_CAP bytes are kept.
#[test]
fn hook_output_is_drained_and_capped() {
    let cmd = "head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o; echo END; echo ERR-END >&2";
    let run = rt().block_on(run_hook(cmd, &[], &opts(120_000)));
    assert!(run.ok(), "{:?}", run.status);
    assert_eq!((run.stdout.total, run.stdout.kept.len()), (3_000_004, OUTPUT_CAP));
    assert_eq!((run.stderr.total, run.stderr.kept.len()), (3_000_008, OUTPUT_CAP));
    assert!(run.stdout.kept.ends_with(b"ooooEND\n") && run.stdout.kept.iter().rev().skip(4).all(|b| *b == b'o'));
    assert!(run.stderr.kept.ends_with(b"eeeeERR-END\n") && run.stderr.kept.iter().rev().skip(8).all(|b| *b == b'e'));
    let steps = rt().block_on(run_hooks(&[cmd.to_string()], &[], &opts(120_000), "on_promote"));
    assert_eq!(steps[0].result, "ok");
    assert!(
        steps[0].detail.ends_with("END (stdout truncated: 3000004 bytes written, last 65536 kept; stderr truncated: 3000008 bytes written, last 65536 kept)"),
        "{}",
        steps[0].detail
    );
}

/// Issue 15 item 3: a hook's environment has none of the variables parapply reads credentials
/// from (the PARAPPLY_*_PASSWORD family, MYSQL_PWD, a status token, and whatever the config names
/// in password_env), while the operator's own variables and the hook's own pass through.
#[test]
fn hooks_do_not_inherit_credential_variables() {
    let secrets = [
        ("PARAPPLY_TARGET_PASSWORD", "tgt-s3cret"),
        ("PARAPPLY_SOURCE_PASSWORD", "src-s3cret"),
        ("PARAPPLY_SCHEMA_PASSWORD", "schema-s3cret"),
        ("PARAPPLY_STATUS_TOKEN", "token-s3cret"),
        ("MYSQL_PWD", "mysql-s3cret"),
        ("HOOKTEST_DB_PW", "named-s3cret"),
        ("HOOKTEST_WITNESS_PW", "witness-s3cret"),
    ];
    for (k, v) in secrets {
        std::env::set_var(k, v);
    }
    std::env::set_var("HOOKTEST_HARMLESS", "harmless-value");
    let cfg = Config::from_toml(
        "[source]\n[target]\npassword_env='HOOKTEST_DB_PW'\n[failover]\n[[failover.servers]]\nname='A'\n[[failover.servers]]\nname='B'\n[failover.witness]\npassword_env='HOOKTEST_WITNESS_PW'\n",
        "t",
    )
    .unwrap();
    let hook_opts = HookOptions::from_config(cfg.failover.as_ref().unwrap());
    let env = vec![("NEW_WRITER_NAME".to_string(), "B".to_string())];
    let run = rt().block_on(run_hook("env", &env, &hook_opts));
    assert!(run.ok(), "{:?}", run.status);
    let out = String::from_utf8_lossy(&run.stdout.kept).to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"HOOKTEST_HARMLESS=harmless-value"), "{out}");
    assert!(lines.contains(&"NEW_WRITER_NAME=B"), "{out}");
    for (k, v) in secrets {
        assert!(!out.contains(k) && !out.contains(v), "{k} reached the hook:\n{out}");
    }
}

fn log_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap_or_default().lines().map(String::from).collect()
}

/// Issue 15 item 3: two quick pool changes of one reader run their hooks in order, the second
/// only after the first ended; another reader's hooks do not wait for them.
///
/// The first run for C waits (up to 3 s) for a marker the second run for C creates: if they
/// overlapped, the first would see it and end early, after the second started. It also notes
/// whether D's run (another reader, submitted after both) happened meanwhile: per-reader
/// queues let it, a single global queue would not.
#[test]
fn reader_hooks_for_one_reader_run_in_order_and_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let (log, marker, d_ran) = (dir.path().join("log"), dir.path().join("c2-started"), dir.path().join("d-ran"));
    let first = format!(
        "echo C-start-1 >> {log}; i=0; while [ $i -lt 60 ] && [ ! -e {marker} ]; do sleep 0.05; i=$((i+1)); done; \
         [ -e {d} ] && echo C-1-saw-D >> {log}; echo C-end-1 >> {log}",
        log = log.display(),
        marker = marker.display(),
        d = d_ran.display()
    );
    let second = format!("touch {marker}; echo C-start-2 >> {log}; echo C-end-2 >> {log}", log = log.display(), marker = marker.display());
    let other = format!("touch {}", d_ran.display());
    let steps = rt().block_on(async {
        let hooks = SerialHooks::new(opts(60_000), "on_reader_change");
        let a = hooks.submit("C", vec![first], vec![]);
        let b = hooks.submit("C", vec![second], vec![]);
        // D is queued once C's first run has started, so it cannot slip in before it.
        while !log_lines(&log).contains(&"C-start-1".to_string()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let d = hooks.submit("D", vec![other], vec![]);
        (a.await.unwrap(), b.await.unwrap(), d.await.unwrap())
    });
    for s in [&steps.0[0], &steps.1[0], &steps.2[0]] {
        assert_eq!((s.name.as_str(), s.result.as_str()), ("on_reader_change[0]", "ok"), "{s:?}");
    }
    assert_eq!(log_lines(&log), vec!["C-start-1", "C-1-saw-D", "C-end-1", "C-start-2", "C-end-2"]);
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
    let steps = rt().block_on(run_hooks(&[hook.display().to_string()], &env, &opts(10_000), "on_promote"));
    let status = haproxy_status(&sock);
    let _ = hap.kill();
    let _ = hap.wait();
    assert_eq!(steps[0].result, "ok", "{:?}", steps[0]);
    assert_eq!(status, vec![("A".into(), "MAINT".into()), ("B".into(), "no check".into())]);
}
