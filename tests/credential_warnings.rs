//! Issue 15 item 3: the binary warns about credentials kept where others can read them — a
//! `password_file` (or `status_token_file`) readable by group or others, and a password given in
//! a command-line URL — naming the file or the variable to use instead, and never printing the
//! secret itself. Needs no database server: each command stops (or fails to connect to a closed
//! port) right after the warning.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn parapply(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_parapply"))
        .args(["--log", "warn"])
        .args(args)
        .env_remove("PARAPPLY_TARGET_PASSWORD")
        .env_remove("PARAPPLY_SOURCE_PASSWORD")
        .env_remove("PARAPPLY_SCHEMA_PASSWORD")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_password_file_readable_by_others_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("target.pw");
    let tok = dir.path().join("status.token");
    let cfg = dir.path().join("parapply.toml");
    std::fs::write(&cfg, format!("[source]\n[target]\npassword_file = '{}'\n[http]\nstatus_token_file = '{}'\n", pw.display(), tok.display())).unwrap();
    write_mode(&tok, "tok-secret-6631\n", 0o600);
    // `doctor` loads the config, then stops: it has no [failover] section.
    for mode in [0o644, 0o640, 0o604, 0o660] {
        write_mode(&pw, "pw-secret-4417\n", mode);
        let (code, stderr) = parapply(&["doctor", "--config", cfg.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{stderr}");
        let warning = stderr.lines().find(|l| l.contains("WARN")).unwrap_or_else(|| panic!("no warning for mode {mode:o}:\n{stderr}"));
        assert!(
            warning.contains(&format!("target.password_file: {} is accessible to group or others (mode {mode:o}); run `chmod 600 {}`", pw.display(), pw.display())),
            "{warning}"
        );
        assert!(!stderr.contains("pw-secret-4417") && !stderr.contains("tok-secret-6631"), "{stderr}");
        assert_eq!(stderr.lines().filter(|l| l.contains("WARN")).count(), 1, "{stderr}");
    }
    // Owner-only: no warning. The token file is checked alike.
    write_mode(&pw, "pw-secret-4417\n", 0o600);
    let (_, stderr) = parapply(&["doctor", "--config", cfg.to_str().unwrap()]);
    assert!(!stderr.contains("WARN"), "{stderr}");
    write_mode(&tok, "tok-secret-6631\n", 0o644);
    let (_, stderr) = parapply(&["doctor", "--config", cfg.to_str().unwrap()]);
    assert!(stderr.contains(&format!("http.status_token_file: {} is accessible to group or others (mode 644); run `chmod 600 {}`", tok.display(), tok.display())), "{stderr}");
    assert!(!stderr.contains("tok-secret-6631"), "{stderr}");
}

#[test]
fn a_password_in_a_command_line_url_points_to_the_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-binlog.000001");
    let port = closed_port();
    let url = format!("mysql://repl:url-secret-9051@127.0.0.1:{port}");
    let cases: [(&[&str], &str, &str); 3] = [
        (&["replay", "--target", &url, missing.to_str().unwrap()], "--target", "PARAPPLY_TARGET_PASSWORD"),
        (&["inspect", "--source", &url, "--limit", "1"], "--source", "PARAPPLY_SOURCE_PASSWORD"),
        (&["analyze", "--schema-from", &url, missing.to_str().unwrap()], "--schema-from", "PARAPPLY_SCHEMA_PASSWORD"),
    ];
    for (args, option, var) in cases {
        let (code, stderr) = parapply(args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        let warning = stderr.lines().find(|l| l.contains("WARN")).unwrap_or_else(|| panic!("{args:?}: no warning:\n{stderr}"));
        assert!(
            warning.contains(&format!("{option}: the URL carries a password, which other local users can read in the process list; give it in {var} instead")),
            "{warning}"
        );
        assert!(warning.contains("user=repl") && warning.contains(&format!("server=127.0.0.1:{port}")), "{warning}");
        assert!(!stderr.contains("url-secret-9051"), "{args:?} printed the password:\n{stderr}");
    }
    // No password in the URL: no warning.
    let (_, stderr) = parapply(&["replay", "--target", &format!("mysql://repl@127.0.0.1:{port}"), missing.to_str().unwrap()]);
    assert!(!stderr.contains("WARN"), "{stderr}");
}
