//! PARTIAL_UPDATE_ROWS JSON diffs: parsing the logged list, applying it to a before image (via
//! [`super::text`]), and writing it as nested JSON_* SQL functions for the applier.

use super::binary::decode_jsonb;
use super::text::*;
use super::{err, le};
use crate::decode::scalar::ValueError;

pub(super) const OP_REPLACE: u8 = 0;
pub(super) const OP_INSERT: u8 = 1;
pub(super) const OP_REMOVE: u8 = 2;

pub(super) fn apply_one(doc: &mut Node, op: u8, legs: &[Leg], value: Option<Node>, path_text: &str) -> Result<(), ValueError> {
    let rejected = |why: &str| err(format!("diff on path {path_text:?} rejected: {why}"));
    match op {
        OP_REPLACE => {
            let target = seek_mut(doc, legs).ok_or_else(|| rejected("REPLACE path does not exist"))?;
            *target = value.ok_or_else(|| rejected("REPLACE without a value"))?;
        }
        OP_INSERT => {
            let (last, parent_legs) = legs.split_last().ok_or_else(|| rejected("INSERT at the root"))?;
            let value = value.ok_or_else(|| rejected("INSERT without a value"))?;
            let parent = seek_mut(doc, parent_legs).ok_or_else(|| rejected("INSERT parent does not exist"))?;
            match (parent, last) {
                (Node::Object(members), Leg::Member(k)) => {
                    match members.binary_search_by(|(mk, _)| key_order(mk, k)) {
                        Ok(i) => members[i].1 = value,
                        Err(i) => members.insert(i, (k.clone(), value)),
                    }
                }
                (Node::Array(items), Leg::Index { n, from_end }) => {
                    let (pos, _) = array_position(*n, *from_end, items.len());
                    items.insert(pos, value);
                }
                _ => return Err(rejected("INSERT parent type does not match the path leg")),
            }
        }
        OP_REMOVE => {
            let (last, parent_legs) = legs.split_last().ok_or_else(|| rejected("REMOVE of the root"))?;
            let parent = seek_mut(doc, parent_legs).ok_or_else(|| rejected("REMOVE parent does not exist"))?;
            match (parent, last) {
                (Node::Object(members), Leg::Member(k)) => {
                    let i = members.iter().position(|(mk, _)| mk == k).ok_or_else(|| rejected("REMOVE member does not exist"))?;
                    members.remove(i);
                }
                (Node::Array(items), Leg::Index { n, from_end }) => {
                    let (pos, within) = array_position(*n, *from_end, items.len());
                    if !within {
                        return Err(rejected("REMOVE index out of bounds"));
                    }
                    items.remove(pos);
                }
                _ => return Err(rejected("REMOVE parent type does not match the path leg")),
            }
        }
        other => return Err(err(format!("unknown JSON diff operation {other}"))),
    }
    Ok(())
}

/// MySQL length-encoded integer (`net_field_length`).
pub(super) fn lenenc(data: &[u8]) -> Result<(usize, usize), ValueError> {
    let first = *data.first().ok_or_else(|| err("truncated length in diff"))?;
    let (v, n) = match first {
        0..=250 => (first as u64, 1),
        252 => (le(data, 1, 2, "diff length")?, 3),
        253 => (le(data, 1, 3, "diff length")?, 4),
        254 => (le(data, 1, 8, "diff length")?, 9),
        _ => return Err(err(format!("invalid length byte {first:#04x} in diff"))),
    };
    usize::try_from(v).map(|v| (v, n)).map_err(|_| err("diff length overflows"))
}

/// What one JSON diff does, as the server logged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonDiffOp {
    /// Replace the value at the path (JSON_REPLACE / JSON_SET on an existing path).
    Replace,
    /// Insert at the path: a new object member, or an array element before the index.
    Insert,
    /// Remove the value at the path.
    Remove,
}

/// One decoded JSON diff: for appliers that must rebuild the change as SQL (for example
/// `JSON_REPLACE(col, path, CAST(value AS JSON))`) because the before image does not carry the
/// document (MINIMAL row image).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonDiff {
    pub op: JsonDiffOp,
    /// The path as logged, e.g. `$.a[1]`.
    pub path: String,
    /// The new value as canonical MySQL JSON text; `None` for [`JsonDiffOp::Remove`].
    pub value: Option<String>,
}

impl JsonDiff {
    /// The MySQL/MariaDB function that performs this diff on a document: `JSON_REPLACE`,
    /// `JSON_REMOVE`, and for an insert `JSON_ARRAY_INSERT` when the path ends in an array index
    /// (the element goes before that position, shifting the rest, as [`apply_one`] does) or
    /// `JSON_SET` for an object member. `JSON_SET`, not `JSON_INSERT`: MySQL's diff INSERT on a
    /// member that already exists replaces it (`Json_object::add_alias`, and [`apply_one`]),
    /// where `JSON_INSERT` would leave the old value.
    pub fn sql_function(&self) -> &'static str {
        match self.op {
            JsonDiffOp::Replace => "JSON_REPLACE",
            JsonDiffOp::Remove => "JSON_REMOVE",
            JsonDiffOp::Insert => match parse_path(self.path.as_bytes()).ok().and_then(|legs| legs.last().cloned()) {
                Some(Leg::Index { .. }) => "JSON_ARRAY_INSERT",
                _ => "JSON_SET",
            },
        }
    }
}

/// Write `diffs` as nested JSON functions applied to `target`, in diff order (the first diff is
/// innermost): `JSON_REMOVE(JSON_REPLACE(target, path, value), path)`. `path` and `value` write
/// one diff's path text and JSON value text as the caller's dialect wants them (SQL literals,
/// or mysqlbinlog-style text for display).
pub fn write_diff_expression(
    diffs: &[JsonDiff],
    target: &str,
    out: &mut String,
    mut path: impl FnMut(&str, &mut String),
    mut value: impl FnMut(&str, &mut String),
) {
    for d in diffs.iter().rev() {
        out.push_str(d.sql_function());
        out.push('(');
    }
    out.push_str(target);
    for d in diffs {
        out.push_str(", ");
        path(&d.path, out);
        if let Some(v) = &d.value {
            out.push_str(", ");
            value(v, out);
        }
        out.push(')');
    }
}

/// Decode one column's diff list (starting at `buf`) without applying it; returns the diffs and
/// bytes consumed. Paths are checked to parse.
pub fn parse_json_diffs(buf: &[u8]) -> Result<(Vec<JsonDiff>, usize), ValueError> {
    let mut diffs = Vec::new();
    let used = for_each_diff(buf, |op, path, value| {
        parse_path(path.as_bytes())?;
        let op = match op {
            OP_REPLACE => JsonDiffOp::Replace,
            OP_INSERT => JsonDiffOp::Insert,
            OP_REMOVE => JsonDiffOp::Remove,
            other => return Err(err(format!("unknown JSON diff operation {other}"))),
        };
        diffs.push(JsonDiff { op, path: path.to_owned(), value });
        Ok(())
    })?;
    Ok((diffs, used))
}

/// Walk a diff list: 4-byte length, then per diff the operation, path and (unless REMOVE) the
/// value decoded to MySQL text. Returns the bytes consumed.
pub(super) fn for_each_diff(
    buf: &[u8],
    mut f: impl FnMut(u8, &str, Option<String>) -> Result<(), ValueError>,
) -> Result<usize, ValueError> {
    let len = le(buf, 0, 4, "diff list length")? as usize;
    let data = buf.get(4..4 + len).ok_or_else(|| {
        err(format!("diff list of {len} bytes runs past the row image ({} left)", buf.len().saturating_sub(4)))
    })?;
    let mut p = 0;
    while p < data.len() {
        let op = data[p];
        p += 1;
        let (path_len, n) = lenenc(data.get(p..).unwrap_or(&[]))?;
        p += n;
        let path_bytes =
            p.checked_add(path_len).and_then(|e| data.get(p..e)).ok_or_else(|| err("diff path runs past the list"))?;
        p += path_len;
        let path = std::str::from_utf8(path_bytes).map_err(|_| err("diff path is not UTF-8"))?;
        let value = if op == OP_REMOVE {
            None
        } else {
            let (vlen, n) = lenenc(data.get(p..).unwrap_or(&[]))?;
            p += n;
            let vbytes =
                p.checked_add(vlen).and_then(|e| data.get(p..e)).ok_or_else(|| err("diff value runs past the list"))?;
            p += vlen;
            Some(decode_jsonb(vbytes)?)
        };
        f(op, path, value)?;
    }
    Ok(4 + len)
}

/// PARTIAL_UPDATE_ROWS: apply one column's binary JSON diff list (starting at `buf`) to the
/// before image's JSON text; returns the new JSON text and bytes consumed (the row decoder
/// calls it through [`crate::decode::value::apply_json_diff`], which takes and gives values).
///
/// Layout (`Json_diff_vector::write_binary`): a 4-byte little-endian length of the list, then
/// per diff: operation byte (0 REPLACE, 1 INSERT, 2 REMOVE), length-encoded path text, and for
/// REPLACE/INSERT a length-encoded binary JSON value.
pub fn apply_json_diff_text(before_text: &str, buf: &[u8]) -> Result<(String, usize), ValueError> {
    let mut doc = parse_text(before_text)?;
    let used = for_each_diff(buf, |op, path, value| {
        let legs = parse_path(path.as_bytes())?;
        let value = value.map(|v| parse_text(&v)).transpose()?;
        apply_one(&mut doc, op, &legs, value, path)
    })?;
    let mut out = String::with_capacity(before_text.len() + 16);
    write_node(&doc, &mut out);
    Ok((out, used))
}
