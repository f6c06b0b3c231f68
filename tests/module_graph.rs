//! The import graph between the files of `src/`: every `crate::` path a file names (in a `use`,
//! or inline such as `crate::net::connect(..)`) is an edge from that file to the file that
//! defines the module the path goes through (the longest prefix that is a file:
//! `crate::apply::sql::quote_ident` is `src/apply/sql.rs`, `crate::lag::Progress` is
//! `src/lag/mod.rs`). The graph must have no cycle: data flows one way (DESIGN.md), and a cycle
//! between two files means neither can be read, tested or moved without the other.
//!
//! What it does not see: relative paths (`super::`, `self::`, a child module's name in its
//! parent), which stay inside one module folder, and the `#[cfg(test)] mod tests` at the end of a
//! file (test helpers may reach anywhere). Comments are skipped, so an intra-doc link is no edge.
//! Needs no server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as paths relative to `src/` with `/` separators.
fn files(dir: &Path, out: &mut BTreeSet<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).map(|e| e.expect("dir entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(src()).expect("under src").to_string_lossy().replace('\\', "/");
            out.insert(rel);
        }
    }
}

/// The code of a file without comments and without its trailing `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        // The inline test module only: `mod tests;` declares a file and code may follow it.
        if t == "#[cfg(test)]" && lines.peek().is_some_and(|n| n.trim_start().starts_with("mod tests {")) {
            break;
        }
        // A `//` inside a string literal (a URL) ends the line early: it can only hide an
        // edge written after it on the same line, which the code does not do.
        let cut = match t.find("//") {
            Some(i) => &t[..i],
            None => t,
        };
        out.push_str(cut);
        out.push('\n');
    }
    out
}

/// Every path named after `crate::` in `code`, group imports expanded:
/// `crate::a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i;
        from = at + "crate::".len();
        // `$crate::` (macros) and `foo_crate::` are not this crate's paths.
        if at > 0 && (b[at - 1] == b'$' || b[at - 1] == b'_' || b[at - 1].is_ascii_alphanumeric()) {
            continue;
        }
        let (paths, end) = tree(code, from, Vec::new());
        out.extend(paths);
        from = end.max(from);
    }
    out
}

/// Parse a use tree starting at `pos`, under `prefix`. Returns the leaf paths and where it ended.
fn tree(code: &str, mut pos: usize, mut prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let b = code.as_bytes();
    let skip_ws = |mut p: usize| {
        while p < b.len() && b[p].is_ascii_whitespace() {
            p += 1;
        }
        p
    };
    loop {
        pos = skip_ws(pos);
        if pos < b.len() && b[pos] == b'{' {
            let mut out = Vec::new();
            pos += 1;
            loop {
                pos = skip_ws(pos);
                if pos >= b.len() {
                    return (out, pos);
                }
                if b[pos] == b'}' {
                    return (out, pos + 1);
                }
                if b[pos] == b',' {
                    pos += 1;
                    continue;
                }
                let (inner, end) = tree(code, pos, prefix.clone());
                out.extend(inner);
                if end <= pos {
                    // Something we do not parse (a `*` glob): skip one byte.
                    pos += 1;
                } else {
                    pos = end;
                }
                // Skip an `as name` rename up to the next separator.
                while pos < b.len() && b[pos] != b',' && b[pos] != b'}' {
                    pos += 1;
                }
            }
        }
        let start = pos;
        while pos < b.len() && (b[pos] == b'_' || b[pos].is_ascii_alphanumeric()) {
            pos += 1;
        }
        if pos == start {
            return (vec![prefix], pos);
        }
        let seg = &code[start..pos];
        if seg != "self" {
            prefix.push(seg.to_string());
        }
        if code[pos..].starts_with("::") {
            pos += 2;
            continue;
        }
        return (vec![prefix], pos);
    }
}

/// The file that defines the module a path goes through: the longest prefix that is a file.
fn resolve(files: &BTreeSet<String>, path: &[String]) -> String {
    for n in (1..=path.len()).rev() {
        let p = path[..n].join("/");
        for candidate in [format!("{p}.rs"), format!("{p}/mod.rs")] {
            if files.contains(&candidate) {
                return candidate;
            }
        }
    }
    "lib.rs".to_string()
}

/// file -> files it imports through `crate::`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut all = BTreeSet::new();
    files(&src(), &mut all);
    let mut g = BTreeMap::new();
    for f in &all {
        let text = std::fs::read_to_string(src().join(f)).unwrap_or_else(|e| panic!("read src/{f}: {e}"));
        let mut to: BTreeSet<String> = crate_paths(&code(&text)).iter().map(|p| resolve(&all, p)).collect();
        to.remove(f);
        g.insert(f.clone(), to);
    }
    g
}

/// Strongly connected components with more than one file (Tarjan), each sorted.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            for w in self.g.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T { g, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on: BTreeSet::new(), next: 0, out: Vec::new() };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

/// One shortest cycle through `start` inside `comp`, as `a -> b -> a`.
fn one_cycle(g: &BTreeMap<String, BTreeSet<String>>, comp: &[String], start: &str) -> String {
    let inside: BTreeSet<&str> = comp.iter().map(String::as_str).collect();
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in g.get(v).into_iter().flatten().map(String::as_str).filter(|w| inside.contains(w)) {
            if w == start {
                let mut path = vec![start.to_string()];
                let mut at = v;
                while at != start {
                    path.push(at.to_string());
                    at = prev[at];
                }
                path.push(start.to_string());
                path.reverse();
                return path.join(" -> ");
            }
            if !prev.contains_key(w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    String::new()
}

/// Edges left out of the check, each closing a cycle that is known and has an owner: `(from,
/// to, why)`. An entry whose edge is gone, or no longer closes a cycle, fails the test: remove it.
const KNOWN: &[(&str, &str, &str)] = &[];

#[test]
fn no_import_cycle_between_files_in_src() {
    let mut g = graph();
    for (from, to, why) in KNOWN {
        let had = g.get_mut(*from).is_some_and(|t| t.remove(*to));
        assert!(had, "KNOWN lists {from} -> {to} ({why}), but that edge is gone: remove the entry");
        let comp = [from.to_string(), to.to_string()];
        let mut with = g.clone();
        with.get_mut(*from).map(|t| t.insert(to.to_string()));
        assert!(
            cycles(&with).iter().any(|c| comp.iter().all(|f| c.contains(f))),
            "KNOWN lists {from} -> {to} ({why}), but it no longer closes a cycle: remove the entry"
        );
    }
    let found = cycles(&g);
    let mut report = String::new();
    for comp in &found {
        report.push_str(&format!("cycle among {} files: {}\n", comp.len(), one_cycle(&g, comp, &comp[0])));
        for f in comp {
            let inside: Vec<&str> = g[f].iter().filter(|t| comp.contains(t)).map(String::as_str).collect();
            report.push_str(&format!("    {f} -> {}\n", inside.join(", ")));
        }
    }
    assert!(found.is_empty(), "import cycles between files in src/ (`use crate::` edges):\n{report}");
}

#[test]
fn the_parser_sees_grouped_nested_and_inline_paths() {
    let text = "#[cfg(test)]\nmod tests;\nuse crate::a::{b, c::{d, e as f}, self};\nfn x() { crate::g::h(); $crate::no::edge; } // crate::comment::no\n#[cfg(test)]\nmod tests { use crate::test::only; }\n";
    let paths: Vec<String> = crate_paths(&code(text)).iter().map(|p| p.join("::")).collect();
    assert_eq!(paths, ["a::b", "a::c::d", "a::c::e", "a", "g::h"]);
    let files: BTreeSet<String> = ["a/mod.rs", "a/c.rs", "g.rs"].iter().map(|s| s.to_string()).collect();
    assert_eq!(resolve(&files, &["a".into(), "c".into(), "d".into()]), "a/c.rs");
    assert_eq!(resolve(&files, &["a".into(), "b".into()]), "a/mod.rs");
    assert_eq!(resolve(&files, &["z".into()]), "lib.rs");
}

#[test]
fn a_cycle_is_found_and_printed() {
    let mut g = BTreeMap::new();
    g.insert("a.rs".to_string(), BTreeSet::from(["b.rs".to_string()]));
    g.insert("b.rs".to_string(), BTreeSet::from(["c.rs".to_string()]));
    g.insert("c.rs".to_string(), BTreeSet::from(["a.rs".to_string(), "d.rs".to_string()]));
    g.insert("d.rs".to_string(), BTreeSet::new());
    let found = cycles(&g);
    assert_eq!(found, vec![vec!["a.rs".to_string(), "b.rs".into(), "c.rs".into()]]);
    assert_eq!(one_cycle(&g, &found[0], "a.rs"), "a.rs -> b.rs -> c.rs -> a.rs");
}
