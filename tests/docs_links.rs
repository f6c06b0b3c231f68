//! The README and `docs/*.md` as a reader follows them: every relative link `](path)` or
//! `](path#anchor)` names a file that exists, and every anchor names a heading of that file
//! (GitHub's slug rules). Also: the README's minimal config is a config parapply loads. Needs
//! no server.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, as (path relative to the repository, text).
fn pages() -> Vec<(PathBuf, String)> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("docs entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.strip_prefix(repo()).expect("under the repository").to_path_buf())
        .collect();
    docs.sort();
    files.extend(docs);
    files.into_iter().map(|f| (f.clone(), std::fs::read_to_string(repo().join(&f)).unwrap_or_else(|e| panic!("read {}: {e}", f.display())))).collect()
}

/// Lines outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// GitHub's heading anchor: the heading's text (inline code marks, emphasis and link targets
/// dropped), lower case, only letters, digits, `-`, `_` and spaces kept, spaces made `-`.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading.trim();
    // [label](target) -> label
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| open + c) else { break };
        let Some(end) = rest[close..].find(')').map(|e| close + e) else { break };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    text.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor a page's headings define (a repeated heading gets `-1`, `-2`, ... as on GitHub).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let s = slug(&line[hashes + 1..]);
            let n = seen.entry(s.clone()).or_insert(0);
            out.insert(if *n == 0 { s.clone() } else { format!("{s}-{n}") });
            *n += 1;
        }
    }
    out
}

/// Relative link targets on a page: (line, target) for every `](target)` outside code fences
/// that has no URL scheme.
fn relative_links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].trim();
            let scheme = target.split_once(':').is_some_and(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()));
            if !target.is_empty() && !scheme {
                out.push((n, target.to_string()));
            }
            rest = &after[end..];
        }
    }
    out
}

/// Every broken link of every page, as `file:line: link `target`: why`.
fn broken_links() -> Vec<String> {
    let pages = pages();
    let mut broken = Vec::new();
    for (page, text) in &pages {
        let dir = page.parent().unwrap_or(Path::new(""));
        for (line, target) in relative_links(text) {
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() { page.clone() } else { dir.join(path) };
            let where_ = format!("{}:{line}: link `{target}`", page.display());
            if !repo().join(&file).exists() {
                broken.push(format!("{where_}: file {} does not exist", file.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                if file.extension().is_some_and(|e| e == "md") {
                    let text = std::fs::read_to_string(repo().join(&file)).unwrap_or_default();
                    if !anchors(&text).contains(anchor) {
                        broken.push(format!("{where_}: no heading in {} has the anchor #{anchor}", file.display()));
                    }
                }
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let pages = pages();
    assert!(pages.len() > 10, "README.md and the docs pages: {:?}", pages.iter().map(|p| &p.0).collect::<Vec<_>>());
    let broken = broken_links();
    assert!(broken.is_empty(), "broken links in the docs:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_links_every_docs_page() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let linked: BTreeSet<String> = relative_links(&readme).into_iter().map(|(_, t)| t.split('#').next().unwrap_or("").to_string()).collect();
    let missing: Vec<String> = pages()
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .filter(|p| p.starts_with("docs/") && p != "docs/README.md" && !linked.contains(p))
        .collect();
    assert!(missing.is_empty(), "docs pages the README does not link: {missing:?}");
}

#[test]
fn slugs_follow_githubs_rules() {
    assert_eq!(slug("Latest: 20,000 sysbench oltp_write_only transactions"), "latest-20000-sysbench-oltp_write_only-transactions");
    assert_eq!(slug("Steady-state lag at 1,200 txn/s"), "steady-state-lag-at-1200-txns");
    assert_eq!(slug("What the headline numbers mean (read this first)"), "what-the-headline-numbers-mean-read-this-first");
    assert_eq!(slug("`[apply]` and [Modes](modes.md)"), "apply-and-modes");
    let a = anchors("# Run\n```\n# not a heading\n```\n## Tests\n## Tests\n");
    assert_eq!(a.into_iter().collect::<Vec<_>>(), ["run", "tests", "tests-1"]);
}

#[test]
fn a_broken_link_is_named_with_file_line_and_target() {
    let text = "see [x](nope.md#a) and [y](https://example.com) and\n```\n[z](ignored.md)\n```\n[w](#here)\n";
    assert_eq!(relative_links(text), [(1, "nope.md#a".to_string()), (5, "#here".to_string())]);
}

#[test]
fn the_readme_minimal_config_loads() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let section = readme.split("## A minimal config").nth(1).expect("README has a minimal config section");
    let block = section.split("```toml\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a ```toml block in it");
    // The block names its passwords by environment variable; give them values for the load.
    std::env::set_var("PARAPPLY_SOURCE_PASSWORD", "s");
    std::env::set_var("PARAPPLY_TARGET_PASSWORD", "t");
    let cfg = parapply::config::Config::from_toml(block, "README.md").unwrap_or_else(|e| panic!("README's minimal config: {e}"));
    assert_eq!((cfg.source.endpoint.host.as_str(), cfg.source.server_id, cfg.target.host.as_str(), cfg.apply.workers), ("10.0.0.1", 4_000_001, "10.0.0.3", 8));
    // And the copy in docs/configuration.md is the same block.
    let conf = std::fs::read_to_string(repo().join("docs/configuration.md")).expect("docs/configuration.md");
    assert!(conf.contains(block), "docs/configuration.md's minimal config differs from the README's");
}
