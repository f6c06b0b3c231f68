//! The binary's conveniences for an operator, run as one runs them: `parapply --version` names
//! the git commit it was built from (build.rs), `parapply completions <shell>` is a script the
//! shell really completes with, `parapply manpage` is a man page with every subcommand (both
//! generated from the clap definitions, so they cannot drift from `--help`). Needs no server.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the built binary; (exit success, stdout, stderr).
fn parapply(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_parapply")).args(args).output().expect("run parapply");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The commit build.rs must have stamped: HEAD of this checkout, or `unknown` outside git.
fn expected_commit() -> String {
    if let Some(c) = std::env::var("PARAPPLY_GIT_COMMIT").ok().filter(|c| !c.trim().is_empty()) {
        return c.trim().to_string();
    }
    Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

const SUBCOMMANDS: [&str; 11] = ["inspect", "analyze", "gen", "status", "replay", "run", "failover", "doctor", "bench", "completions", "manpage"];

#[test]
fn version_names_the_commit_of_head() {
    let commit = expected_commit();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(parapply(&["--version"]), (true, format!("parapply {version} (commit {commit})\n"), String::new()));
    // Subcommands say the same (propagate_version).
    assert_eq!(parapply(&["run", "--version"]), (true, format!("parapply-run {version} (commit {commit})\n"), String::new()));
    // In this repository's checkout it is a real commit, not the fallback.
    if repo().join(".git").exists() && Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success()) {
        assert!(commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()), "HEAD is {commit:?}");
    }
}

/// Source the bash script and ask it to complete `words` (the last one being typed).
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parapply.bash");
    std::fs::write(&file, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword == 0 { "parapply" } else { words[cword - 1] };
    let cmd = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; _parapply parapply '{}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        quoted.join(" "),
        words[cword]
    );
    let out = Command::new("bash").args(["--norc", "--noprofile", "-c", &cmd]).output().expect("run bash");
    assert!(out.status.success(), "bash: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completions_complete_subcommands_and_options() {
    let (ok, script, err) = parapply(&["completions", "bash"]);
    assert!(ok && err.is_empty(), "{err}");
    assert!(script.contains("complete -F _parapply"), "a bash completion script:\n{script}");
    // Bash accepts it and completes with it: the top level offers every subcommand (and
    // clap's `help`) after the global options, in the definitions' order.
    let mut want: Vec<String> = ["-h", "-V", "--log", "--log-format", "--help", "--version"].iter().map(|s| s.to_string()).collect();
    want.extend(SUBCOMMANDS.iter().map(|s| s.to_string()));
    want.push("help".into());
    assert_eq!(bash_complete(&script, &["parapply", ""]), want);
    assert_eq!(bash_complete(&script, &["parapply", "fail"]), ["failover"]);
    assert_eq!(bash_complete(&script, &["parapply", "failover", "s"]), ["switchover", "status"]);
    assert_eq!(bash_complete(&script, &["parapply", "run", "--c"]), ["--config"]);
    // Other shells get their own scripts naming the same subcommands.
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (ok, text, err) = parapply(&["completions", shell]);
        assert!(ok && err.is_empty(), "{shell}: {err}");
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let (ok, _, err) = parapply(&["completions", "tcsh"]);
    assert!(!ok && err.contains("invalid value 'tcsh'"), "{err}");
}

#[test]
fn manpage_has_name_synopsis_and_every_subcommand() {
    let (ok, page, err) = parapply(&["manpage"]);
    assert!(ok && err.is_empty(), "{err}");
    let commit = expected_commit();
    let version = env!("CARGO_PKG_VERSION");
    assert!(page.contains(&format!(".TH parapply 1  \"parapply {version} (commit {commit})\"")), "{page}");
    let sections: Vec<&str> = page.lines().filter_map(|l| l.strip_prefix(".SH ")).collect();
    assert_eq!(sections, ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS", "VERSION"]);
    assert!(page.contains(".SH NAME\nparapply \\- Standalone parallel replica applier for MySQL and MariaDB with a built\\-in failover watcher\n"), "{page}");
    let listed: Vec<&str> = page.split(".SH SUBCOMMANDS").nth(1).unwrap_or("").lines().filter_map(|l| l.strip_suffix("(1)")).collect();
    let mut want: Vec<String> = SUBCOMMANDS.iter().map(|s| format!("parapply\\-{s}")).collect();
    want.push("parapply\\-help".into());
    assert_eq!(listed, want);
    // man itself renders it, when installed.
    if Command::new("man").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("parapply.1");
        std::fs::write(&file, &page).unwrap();
        let out = Command::new("man").arg("-l").arg(&file).env("MANPAGER", "cat").env("MANWIDTH", "100").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("NAME") && text.contains("parapply-failover(1)"), "man -l:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn manpage_out_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    let (ok, stdout, err) = parapply(&["manpage", "--out-dir", out_dir.to_str().unwrap()]);
    assert!(ok && err.is_empty(), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut want: Vec<String> = SUBCOMMANDS.iter().map(|s| format!("parapply-{s}.1")).collect();
    want.extend(["watch", "promote", "switchover", "reconcile", "status"].map(|a| format!("parapply-failover-{a}.1")));
    want.push("parapply.1".into());
    want.sort();
    assert_eq!(names, want);
    // It says what it wrote, one path a line.
    let printed: Vec<String> = stdout.lines().map(|l| PathBuf::from(l).file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(printed, want);
    let run = std::fs::read_to_string(out_dir.join("parapply-run.1")).unwrap();
    assert!(run.starts_with(".ie \\n(.g .ds Aq \\(aq\n") && run.contains(".SH NAME\nparapply\\-run \\- Run as a replica"), "{run}");
    assert!(run.contains("\\fB\\-c\\fR, \\fB\\-\\-config\\fR"), "{run}");
}
