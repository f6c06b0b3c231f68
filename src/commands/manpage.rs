//! `parapply manpage`: the man pages, rendered by `clap_mangen` from the clap definitions in
//! [`crate::cli`] (the same text as `--help`), never written by hand.
//!
//! Owns rendering and writing those pages; it must not describe any command itself.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, ManpageArgs};

/// Print parapply(1), or write every page to `--out-dir`.
pub fn run(args: &ManpageArgs) -> anyhow::Result<i32> {
    match &args.out_dir {
        None => {
            let mut out = Vec::new();
            render(&mut out)?;
            use std::io::Write;
            std::io::stdout().write_all(&out)?;
        }
        Some(dir) => {
            for page in write_all(dir)? {
                println!("{}", page.display());
            }
        }
    }
    Ok(0)
}

/// parapply(1) in roff: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, SUBCOMMANDS, VERSION.
pub fn render(out: &mut Vec<u8>) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Write parapply.1 and one page per subcommand, nested ones included (parapply-failover-watch.1),
/// into `dir` (created if missing). Returns the files written, sorted.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir).with_context(|| format!("cannot write man pages to {}", dir.display()))?;
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("parapply") && n.ends_with(".1")))
        .collect();
    pages.sort();
    Ok(pages)
}
