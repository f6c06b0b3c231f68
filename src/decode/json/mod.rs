//! MySQL binary JSON (JSONB) decoding and PARTIAL_UPDATE_ROWS JSON diffs.
//!
//! Owns the JSONB reader that turns a MySQL JSON column value into MySQL's canonical text (what
//! `SELECT json_col` prints: `{"a": 1, "b": [1, 2]}`, keys in stored order, doubles through
//! MySQL's `my_gcvt` rules, DECIMAL/temporal opaque values printed as the server does and other
//! opaque values as `"base64:typeNN:..."`), and the applier of binary JSON diffs (REPLACE /
//! INSERT / REMOVE at a JSON path) to a before image. It must not know about rows, events or
//! SQL. Input is untrusted: offsets, sizes and nesting depth are checked, output size is capped
//! so shared or overlapping offsets cannot blow up, and nothing panics.
//!
//! - [`binary`]: the JSONB reader and MySQL's text forms of its scalars.
//! - [`text`]: a JSON text document as a tree whose scalars keep their text, and JSON paths.
//! - [`diff`]: the logged diffs, applied to a before image or written as SQL functions.

mod binary;
mod diff;
mod text;

#[cfg(test)]
mod tests;

use crate::decode::scalar::ValueError;

pub use binary::{decode_jsonb, format_mysql_double, push_json_string};
pub use diff::{apply_json_diff_text, parse_json_diffs, write_diff_expression, JsonDiff, JsonDiffOp};

/// MySQL's JSON_DOCUMENT_MAX_DEPTH: deeper documents are rejected by the server too.
const MAX_DEPTH: usize = 100;

fn err(what: impl Into<String>) -> ValueError {
    ValueError::new(format!("JSON: {}", what.into()))
}

#[inline]
fn le(data: &[u8], at: usize, n: usize, what: &str) -> Result<u64, ValueError> {
    let s = at
        .checked_add(n)
        .and_then(|end| data.get(at..end))
        .ok_or_else(|| err(format!("{what} at offset {at} runs past the value ({} bytes)", data.len())))?;
    Ok(s.iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}
