//! Build script: stamps the binary with the git commit it was built from, for `parapply
//! --version` (`PARAPPLY_GIT_COMMIT`, read with `env!` in `src/cli.rs`).
//!
//! Owns that one value. It must never fail a build: outside a git checkout (a source tarball, a
//! crate download) or without `git` the commit is `unknown`. A packager may set
//! `PARAPPLY_GIT_COMMIT` in the build environment to stamp a commit without a checkout; a
//! developer may pin it (e.g. `dev`) so that commits do not rebuild the crate.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PARAPPLY_GIT_COMMIT");
    if let Some(commit) = std::env::var("PARAPPLY_GIT_COMMIT").ok().filter(|c| !c.trim().is_empty()) {
        // Pinned: git is not asked, and a commit or checkout does not rebuild the crate.
        println!("cargo:rustc-env=PARAPPLY_GIT_COMMIT={}", commit.trim());
        return;
    }
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = git(&dir, &["rev-parse", "--short", "HEAD"]);
    println!("cargo:rustc-env=PARAPPLY_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
    // Every commit or checkout changes the stamp, so it recompiles this crate once (the price of
    // a --version that names the commit; pin PARAPPLY_GIT_COMMIT to avoid it while iterating).
    for path in head_files(&dir) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// `git ARGS` in `dir`: its trimmed output, or `None` when git is missing, fails or says nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The files whose change means HEAD names another commit: `HEAD` itself (a checkout), the
/// branch it points at (a commit), `packed-refs` (where the branch may live after a gc), and
/// HEAD's reflog `logs/HEAD` (written on every commit, checkout and reset, even when the
/// branch's loose ref did not exist before). Not the whole `refs/` folder: other branches'
/// commits must not rebuild this one.
/// In a linked worktree `.git` is a file and HEAD lives under the common git dir's
/// `worktrees/NAME/`, while branches live in the common dir: git says which is where. Only
/// existing files are listed (cargo re-runs the script on every build for a missing one).
fn head_files(dir: &Path) -> Vec<PathBuf> {
    let abs = |p: String| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            dir.join(p)
        }
    };
    let Some(git_dir) = git(dir, &["rev-parse", "--git-dir"]).map(abs) else { return Vec::new() };
    let common = git(dir, &["rev-parse", "--git-common-dir"]).map(abs).unwrap_or_else(|| git_dir.clone());
    let head = git_dir.join("HEAD");
    let mut files = vec![head.clone(), git_dir.join("logs/HEAD"), common.join("packed-refs")];
    if let Some(reference) = std::fs::read_to_string(&head).ok().and_then(|h| h.strip_prefix("ref: ").map(|r| r.trim().to_string())) {
        files.push(common.join(&reference));
        files.push(git_dir.join(&reference));
    }
    files.sort();
    files.dedup();
    files.retain(|f| f.is_file());
    files
}
