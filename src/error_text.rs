//! How an error reads for a human: each cause once, outermost context first.
//!
//! Owns [`chain`], the one rendering of an error and its causes that the command line, logs
//! and messages embedding a library's error use. The crate's own error enums print their cause
//! in their message and do not also return it from `source()` (thiserror: "either, not both"),
//! so anyhow's `{:#}` does not say it twice. Libraries are not so careful: mysql_async's
//! `Error::Io` prints "Input/output error: " around an `IoError` that prints it again, and
//! returns the same cause from `source()`; [`chain`] drops what was already said. It must not
//! decide anything from an error's text.

use std::error::Error;

/// `err` and its causes joined by ": ", without a cause its outer message already contains,
/// and without a segment repeated right after itself ("a: a: b" reads "a: b").
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    collapse(&out)
}

/// Drop a run of ": "-separated segments that repeats the run right before it.
fn collapse(text: &str) -> String {
    let mut parts: Vec<&str> = text.split(": ").collect();
    let mut changed = true;
    while changed {
        changed = false;
        'search: for len in 1..=parts.len() / 2 {
            for i in 0..=parts.len() - 2 * len {
                if parts[i..i + len] == parts[i + len..i + 2 * len] {
                    parts.drain(i + len..i + 2 * len);
                    changed = true;
                    break 'search;
                }
            }
        }
    }
    parts.join(": ")
}

/// The first run of ": "-separated segments that is said twice in a row in `text`, if any
/// (what tests assert never happens in a rendered error).
pub fn repeated_segment(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(": ").collect();
    for len in 1..=parts.len() / 2 {
        for i in 0..=parts.len() - 2 * len {
            if parts[i..i + len] == parts[i + len..i + 2 * len] {
                return Some(parts[i..i + len].join(": "));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_async_io_error_says_its_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let e: mysql_async::Error = io.into();
        // The library's own Display repeats itself; chain() does not.
        assert_eq!(e.to_string(), "Input/output error: Input/output error: Connection refused");
        assert_eq!(chain(&e), "Input/output error: Connection refused");
    }

    fn refused() -> mysql_async::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused").into()
    }

    fn io() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
    }

    /// Issue 19: every error chain the crate builds around a cause, rendered as the command line
    /// prints it (`chain`) and as anyhow's `{:#}` does, says each segment once, and still says
    /// the innermost cause.
    #[test]
    fn no_error_chain_repeats_a_segment() {
        use crate::apply::checkpoint::CheckpointError;
        use crate::apply::sql::SqlError;
        use crate::apply::ApplyError;
        use crate::source::stream::StreamError;
        let no_names = || SqlError::NoColumnNames { schema: "d".into(), table: "t".into() };
        let errors: Vec<(anyhow::Error, &str)> = vec![
            (ApplyError::Connect { worker: 3, cause: refused() }.into(), "Connection refused"),
            (ApplyError::Build { gtid: "0-1-5".into(), cause: no_names() }.into(), "binlog_row_metadata is not FULL"),
            (ApplyError::Sql { gtid: "0-1-5".into(), table: "d.t".into(), sql: "DELETE".into(), cause: refused() }.into(), "Connection refused"),
            (ApplyError::RetriesExhausted { gtid: "0-1-5".into(), attempts: 5, cause: refused() }.into(), "Connection refused"),
            (ApplyError::from(CheckpointError::Sql { table: "s.applied_txn".into(), cause: refused() }).into(), "Connection refused"),
            (StreamError::Connect { address: "h:1".into(), cause: refused() }.into(), "Connection refused"),
            (StreamError::Tls { address: "h:1".into(), cause: refused() }.into(), "Connection refused"),
            (StreamError::Setup { address: "h:1".into(), step: "SET".into(), cause: refused() }.into(), "Connection refused"),
            (StreamError::Lost { address: "h:1".into(), file: "b.1".into(), pos: 4, cause: refused() }.into(), "Connection refused"),
            (StreamError::Decode { address: "h:1".into(), cause: crate::decode::DecodeError { file: "b.1".into(), offset: 4, what: "bad".into() } }.into(), "bad"),
            (
                StreamError::GaveUp { address: "h:1".into(), attempts: 5, last: Box::new(StreamError::Connect { address: "h:1".into(), cause: refused() }) }.into(),
                "Connection refused",
            ),
            (crate::heartbeat::HeartbeatError::Connect { address: "h:1".into(), cause: Box::new(refused()) }.into(), "Connection refused"),
            (
                crate::heartbeat::HeartbeatError::Query { what: "insert", address: "h:1".into(), table: "p.h".into(), cause: Box::new(refused()) }.into(),
                "Connection refused",
            ),
            (crate::schedule::infoschema::CatalogError::List { schema: "d".into(), cause: refused() }.into(), "Connection refused"),
            (crate::config::ConfigError::Read { path: "x.toml".into(), cause: io() }.into(), "No such file or directory"),
            (crate::failover::FailoverError::Log { path: "s.jsonl".into(), cause: io() }.into(), "No such file or directory"),
            (crate::http::HttpClientError::Connect { addr: "h:1".into(), cause: io() }.into(), "No such file or directory"),
            (crate::bench::BenchError::Io("writing report".into(), io()).into(), "No such file or directory"),
            (crate::bench::BenchError::Sql { what: "checksum".into(), cause: refused() }.into(), "Connection refused"),
            (crate::gen::GenError::Io { path: "out/b.1".into(), cause: io() }.into(), "No such file or directory"),
        ];
        for (e, innermost) in errors {
            let e = e.context("replay").context("parapply");
            for text in [chain(e.as_ref()), format!("{e:#}")] {
                assert_eq!(repeated_segment(&text), None, "{text}");
                assert!(text.starts_with("parapply: replay: "), "{text}");
                assert_eq!(text.matches(innermost).count(), 1, "{text}");
            }
        }
    }

    #[test]
    fn collapse_keeps_distinct_segments() {
        assert_eq!(collapse("a: b: a"), "a: b: a");
        assert_eq!(collapse("x: a: b: a: b: c"), "x: a: b: c");
        assert_eq!(repeated_segment("t: X: t: X"), Some("t: X".into()));
        assert_eq!(repeated_segment("t: X: u"), None);
    }
}
