//! MySQL binary JSON (JSONB) decoding and PARTIAL_UPDATE_ROWS JSON diffs.

use crate::decode::value::{Value, ValueError};

/// MySQL binary JSON (as stored in a JSON column) -> Value::Json(canonical MySQL text).
pub fn decode_jsonb(bytes: &[u8]) -> Result<String, ValueError> {
    let _ = bytes;
    Err(ValueError { what: "decode_jsonb: not implemented yet".into() })
}

/// PARTIAL_UPDATE_ROWS: apply one column's binary JSON diff list (starting at `buf`) to the
/// before-image value; returns the new Value::Json and bytes consumed.
pub fn apply_json_diff(before: &Value, buf: &[u8]) -> Result<(Value, usize), ValueError> {
    let _ = (before, buf);
    Err(ValueError { what: "apply_json_diff: not implemented yet".into() })
}
