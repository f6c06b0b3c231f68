//! The adversarial fidelity sweep (issue 14): every SQL case under `tests/adversarial/` runs on
//! a clean source A, all of A's binlog files are replayed with `replay --mode writeset
//! --workers 8` onto a clean target C, and C must then hold exactly what A holds: the same
//! databases, the same definitions (`mariadb-dump --no-data` with routines and triggers), and
//! every table's rows byte for byte (each column as the hex of its bytes, or their MD5 when
//! long; system-versioned tables with their history and ROW START / ROW END; sequences with all
//! eight columns). A replay that stops passes only when the case says it must, with the exact
//! refusal text.
//!
//! One sandbox pair serves every case and configuration: between runs both sides drop every
//! user database (unlogged), A resets its binlog, and C resets its own (a GTID it logged for an
//! earlier case must not look like a DDL of this one already applied).
//!
//! A case file's header lines choose how it runs:
//! - `-- configs: row mixed` the source configurations (default `row mixed`): `row` is
//!   binlog_format=ROW with MariaDB's default binlog_row_metadata (NO_LOG, no column names),
//!   `mixed` MariaDB's default format MIXED (statement events carry the session state), `full`
//!   ROW with FULL metadata, `minimal` ROW with binlog_row_image=MINIMAL, `statement` STATEMENT,
//!   `compressed` ROW with log_bin_compress=ON (MariaDB's compressed QUERY and ROWS events).
//! - `-- expect-refused: TEXT` (or `-- expect-refused(CONFIG): TEXT`): the replay must stop and
//!   its error must contain TEXT; nothing is compared.
//!
//! `PARAPPLY_ADV_CASES=name,name` runs only the named cases (for diagnosing one);
//! `PARAPPLY_ADV_REPLAY_ARGS` adds replay options (another apply path against every case).
mod apply_support;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use apply_support::bin;

/// Databases that are not the case's.
const SYSTEM_DBS: &str = "'mysql','sys','information_schema','performance_schema','parapply','parapply_state'";

/// `(name, SET GLOBAL text)` of each source configuration.
fn config_sql(name: &str) -> &'static str {
    match name {
        "row" => "SET GLOBAL binlog_format='ROW', binlog_row_metadata='NO_LOG', binlog_row_image='FULL', log_bin_compress=OFF",
        "mixed" => "SET GLOBAL binlog_format='MIXED', binlog_row_metadata='NO_LOG', binlog_row_image='FULL', log_bin_compress=OFF",
        "full" => "SET GLOBAL binlog_format='ROW', binlog_row_metadata='FULL', binlog_row_image='FULL', log_bin_compress=OFF",
        "minimal" => "SET GLOBAL binlog_format='ROW', binlog_row_metadata='NO_LOG', binlog_row_image='MINIMAL', log_bin_compress=OFF",
        "statement" => "SET GLOBAL binlog_format='STATEMENT', binlog_row_metadata='NO_LOG', binlog_row_image='FULL', log_bin_compress=OFF",
        "compressed" => "SET GLOBAL binlog_format='ROW', binlog_row_metadata='NO_LOG', binlog_row_image='FULL', log_bin_compress=ON, log_bin_compress_min_len=10",
        other => panic!("unknown configuration {other}"),
    }
}

struct Case {
    name: String,
    /// The file's bytes: a case may switch charsets (`charset sjis`) and write the following
    /// statements in that charset.
    sql: Vec<u8>,
    configs: Vec<String>,
    /// (configuration or None for all, expected error text)
    refusals: Vec<(Option<String>, String)>,
}

impl Case {
    fn load(path: &Path) -> Case {
        let sql = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut configs = vec!["row".to_string(), "mixed".to_string()];
        let mut refusals = Vec::new();
        for line in String::from_utf8_lossy(&sql).lines() {
            if let Some(list) = line.strip_prefix("-- configs:") {
                configs = list.split_whitespace().map(str::to_string).collect();
            } else if let Some(text) = line.strip_prefix("-- expect-refused:") {
                refusals.push((None, text.trim().to_string()));
            } else if let Some(rest) = line.strip_prefix("-- expect-refused(") {
                let (config, text) = rest.split_once("):").unwrap_or_else(|| panic!("{name}: bad expect-refused line {line}"));
                refusals.push((Some(config.to_string()), text.trim().to_string()));
            }
        }
        for c in &configs {
            config_sql(c);
        }
        Case { name, sql, configs, refusals }
    }

    fn refusal(&self, config: &str) -> Option<&str> {
        self.refusals.iter().find(|(c, _)| c.as_deref().is_none_or(|c| c == config)).map(|(_, t)| t.as_str())
    }
}

fn cases() -> Vec<Case> {
    let dir = common::repo_dir().join("tests/adversarial");
    let only: Option<Vec<String>> = std::env::var("PARAPPLY_ADV_CASES").ok().map(|v| v.split(',').map(str::to_string).collect());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "sql")).collect();
    paths.sort();
    paths
        .iter()
        .map(|p| Case::load(p))
        .filter(|c| only.as_ref().is_none_or(|o| o.contains(&c.name)))
        .collect()
}

/// The mariadb client on instance `name` over its socket, `sql` on stdin (DELIMITER works).
fn client(sb: &common::Sandbox, name: &str, sql: &[u8], extra: &[&str]) -> Result<String, String> {
    use std::io::Write as _;
    let socket = format!("--socket={}", sb.dir.join(name).join("mysqld.sock").display());
    let mut child = Command::new("mariadb")
        .args(["--no-defaults", "-uroot", &socket, "--batch", "--skip-column-names", "--default-character-set=utf8mb4"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the mariadb client");
    let mut stdin = child.stdin.take().unwrap();
    let text = sql.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&text));
    let out = child.wait_with_output().expect("mariadb client output");
    let _ = writer.join();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn q(sb: &common::Sandbox, name: &str, sql: &str) -> String {
    client(sb, name, sql.as_bytes(), &[]).unwrap_or_else(|e| panic!("{sql} on {name}: {e}"))
}

/// A name as the client's `--batch` output escapes it (`\\`, `\t`, `\n`, `\0`), back to its text.
fn unbatch(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// Drop every user database on `name` without logging it; A and C also forget their binlogs.
fn reset(sb: &common::Sandbox, name: &str) {
    let dbs = q(sb, name, &format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ({SYSTEM_DBS}) OR SCHEMA_NAME LIKE 'parapply%'"));
    let mut sql = String::from("SET SESSION sql_log_bin=0; SET SESSION foreign_key_checks=0;");
    for db in dbs.lines().filter(|l| !l.is_empty()) {
        sql.push_str(&format!("DROP DATABASE IF EXISTS {};", ident(&unbatch(db))));
    }
    sql.push_str("RESET MASTER;");
    q(sb, name, &sql);
}

/// Everything a case can leave behind on `name`, keyed for a readable diff.
fn snapshot(sb: &common::Sandbox, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dbs: Vec<String> = q(sb, name, &format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ({SYSTEM_DBS}) ORDER BY 1"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(unbatch)
        .collect();
    out.insert("databases".into(), dbs.join(","));
    if dbs.is_empty() {
        return out;
    }
    let socket = format!("--socket={}", sb.dir.join(name).join("mysqld.sock").display());
    // No LOCK TABLES: nothing writes once the replay ended, and a view whose DEFINER does not
    // exist (which MariaDB, and its replica, create with a warning) cannot be locked (1449).
    let dump = Command::new("mariadb-dump")
        .args(["--no-defaults", "-uroot", &socket, "--no-data", "--routines", "--triggers", "--skip-dump-date", "--skip-comments", "--skip-add-drop-table", "--skip-lock-tables", "--databases"])
        .args(&dbs)
        .output()
        .expect("run mariadb-dump");
    assert!(dump.status.success(), "mariadb-dump on {name}: {}", String::from_utf8_lossy(&dump.stderr));
    let ddl: String = String::from_utf8_lossy(&dump.stdout)
        .lines()
        .map(|l| {
            // The next auto-increment value is not part of the data (the native replica's
            // table can be ahead too, after a rolled-back insert).
            match l.find(" AUTO_INCREMENT=") {
                Some(at) => {
                    let rest = &l[at + 16..];
                    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
                    format!("{}{}", &l[..at], &rest[end..])
                }
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.insert("ddl".into(), ddl);
    let events = q(sb, name, &format!("SELECT EVENT_SCHEMA, EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD FROM information_schema.EVENTS WHERE EVENT_SCHEMA NOT IN ({SYSTEM_DBS}) ORDER BY 1, 2"));
    out.insert("events".into(), events);
    let db_list = dbs.iter().map(|d| format!("'{}'", d.replace('\\', "\\\\").replace('\'', "''"))).collect::<Vec<_>>().join(",");
    let tables = q(sb, name, &format!("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({db_list}) AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'SEQUENCE') ORDER BY 1, 2"));
    for line in tables.lines().filter(|l| !l.is_empty()) {
        let mut f = line.split('\t');
        let (schema, table, kind) = (unbatch(f.next().unwrap()), unbatch(f.next().unwrap()), f.next().unwrap_or("").to_string());
        let cols = q(
            sb,
            name,
            &format!(
                "SELECT COLUMN_NAME, IFNULL(GENERATION_EXPRESSION, '') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}' ORDER BY ORDINAL_POSITION",
                schema.replace('\\', "\\\\").replace('\'', "''"),
                table.replace('\\', "\\\\").replace('\'', "''")
            ),
        );
        let mut exprs: Vec<String> = Vec::new();
        let mut named_period = false;
        for c in cols.lines().filter(|l| !l.is_empty()) {
            let (col, gen) = c.split_once('\t').unwrap_or((c, ""));
            named_period |= gen == "ROW START";
            exprs.push(ident(&unbatch(col)));
        }
        let versioned = kind == "SYSTEM VERSIONED";
        if versioned && !named_period {
            exprs.push("ROW_START".into());
            exprs.push("ROW_END".into());
        }
        let shown: Vec<String> = exprs.iter().map(|e| format!("IF(LENGTH(CAST({e} AS BINARY)) > 48, MD5(CAST({e} AS BINARY)), HEX(CAST({e} AS BINARY)))")).collect();
        let order: Vec<String> = (1..=shown.len()).map(|i| i.to_string()).collect();
        let sql = format!(
            "SET SESSION time_zone='+00:00'; SELECT {} FROM {}.{}{} ORDER BY {}",
            shown.join(", "),
            ident(&schema),
            ident(&table),
            if versioned { " FOR SYSTEM_TIME ALL" } else { "" },
            order.join(", ")
        );
        out.insert(format!("rows {schema}.{table}"), q(sb, name, &sql));
    }
    out
}

/// The first difference between two snapshots, for the failure message.
fn difference(a: &BTreeMap<String, String>, c: &BTreeMap<String, String>) -> Option<String> {
    for key in a.keys().chain(c.keys()) {
        let (x, y) = (a.get(key).map(String::as_str).unwrap_or("<absent>"), c.get(key).map(String::as_str).unwrap_or("<absent>"));
        if x != y {
            let (xl, yl): (Vec<&str>, Vec<&str>) = (x.lines().collect(), y.lines().collect());
            let at = xl.iter().zip(&yl).position(|(p, q)| p != q).unwrap_or(xl.len().min(yl.len()));
            let cut = |s: Option<&&str>| s.map(|s| s.chars().take(400).collect::<String>()).unwrap_or_else(|| "<end>".into());
            return Some(format!("{key}: line {at}: source `{}` target `{}` ({} vs {} lines)", cut(xl.get(at)), cut(yl.get(at)), xl.len(), yl.len()));
        }
    }
    None
}

/// Run one case under one configuration; `Err` says what diverged or stopped.
fn run_case(sb: &common::Sandbox, case: &Case, config: &str) -> Result<(), String> {
    reset(sb, "A");
    reset(sb, "C");
    q(sb, "A", config_sql(config));
    if let Err(e) = client(sb, "A", &case.sql, &["--local-infile=1"]) {
        return Err(format!("the case itself failed on the source: {e}"));
    }
    q(sb, "A", "FLUSH BINARY LOGS");
    let files = sb.binlog_files("A");
    let out = Command::new(bin())
        .arg("replay")
        .args(&files)
        .arg("--target")
        .arg(sb.url("C"))
        .args(["--mode", "writeset", "--workers", "8"])
        .args(extra_replay_args())
        .env("PARAPPLY_LOG", "parapply=warn")
        .output()
        .expect("run parapply");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match (case.refusal(config), out.status.success()) {
        (Some(want), true) => Err(format!("expected a refusal containing `{want}`, but the replay succeeded")),
        (Some(want), false) if stderr.contains(want) => Ok(()),
        (Some(want), false) => Err(format!("expected a refusal containing `{want}`, got: {}", stderr.trim())),
        (None, false) => Err(format!("replay stopped: {}", stderr.lines().rfind(|l| l.contains("error")).unwrap_or(stderr.trim()))),
        (None, true) => match difference(&snapshot(sb, "A"), &snapshot(sb, "C")) {
            None => Ok(()),
            Some(d) => Err(format!("diverged: {d}")),
        },
    }
}

/// `PARAPPLY_ADV_REPLAY_ARGS="--commit-group 1 --row-events binlog"`: the sweep with other
/// replay settings (for diagnosing one apply path against every case).
fn extra_replay_args() -> Vec<String> {
    std::env::var("PARAPPLY_ADV_REPLAY_ARGS").map(|a| a.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
}

#[test]
fn every_adversarial_case_replays_to_the_source_state() {
    let cases = cases();
    assert!(!cases.is_empty(), "no cases under tests/adversarial");
    // Servers at their defaults (max_allowed_packet included: a case's large transaction must
    // fit the target as it comes), local_infile for LOAD DATA LOCAL; the binlog format and
    // metadata are set per case and configuration.
    let sb = common::Sandbox::start(&["A", "C"], "--local-infile=1");
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in &cases {
        for config in &case.configs {
            runs += 1;
            match run_case(&sb, case, config) {
                Ok(()) => eprintln!("ok {} [{config}]", case.name),
                Err(e) => {
                    eprintln!("FAILED {} [{config}]: {e}", case.name);
                    failures.push(format!("{} [{config}]: {e}", case.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {runs} case runs failed:\n{}", failures.len(), failures.join("\n"));
}
