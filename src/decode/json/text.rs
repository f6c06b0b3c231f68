//! JSON text as a tree whose scalars keep their text verbatim (so numbers and strings print back
//! exactly as MySQL printed them), and JSON paths (`$.a[2]`) to find a node in it. Used by the
//! diff applier; it does not read binary JSON.

use super::binary::push_json_string;
use super::{err, MAX_DEPTH};
use crate::decode::scalar::ValueError;

/// A JSON document held as a tree whose scalars keep their canonical text verbatim, so that
/// numbers (DECIMAL scale, double formatting) and strings print back exactly as MySQL did.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Scalar(String),
    Array(Vec<Node>),
    /// Keys unescaped, in MySQL's order (shorter keys first, then bytewise).
    Object(Vec<(String, Node)>),
}

pub(super) fn write_node(n: &Node, out: &mut String) {
    match n {
        Node::Scalar(s) => out.push_str(s),
        Node::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_node(v, out);
            }
            out.push(']');
        }
        Node::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_json_string(out, k.as_bytes());
                out.push_str(": ");
                write_node(v, out);
            }
            out.push('}');
        }
    }
}

/// Parser for JSON text (the canonical text this module produces), keeping scalars verbatim.
pub(super) struct TextParser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> TextParser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ValueError> {
        self.skip_ws();
        if self.peek() != Some(c) {
            return Err(err(format!("expected '{}' at {} in JSON text", c as char, self.pos)));
        }
        self.pos += 1;
        Ok(())
    }

    /// Byte offset just past the closing quote of the string starting at `self.pos`.
    fn string_end(&self) -> Result<usize, ValueError> {
        let b = self.s.as_bytes();
        let mut i = self.pos + 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Ok(i + 1),
                _ => i += 1,
            }
        }
        Err(err("unterminated string in JSON text"))
    }

    fn value(&mut self, depth: usize) -> Result<Node, ValueError> {
        if depth > MAX_DEPTH {
            return Err(err(format!("JSON text nested deeper than {MAX_DEPTH} levels")));
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Node::Object(members));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(err(format!("expected a key at {} in JSON text", self.pos)));
                    }
                    let end = self.string_end()?;
                    let raw = self.s.get(self.pos..end).ok_or_else(|| err("bad key"))?;
                    let key = unescape_json_string(raw)?;
                    self.pos = end;
                    self.expect(b':')?;
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Node::Object(members));
                        }
                        _ => return Err(err(format!("expected ',' or '}}' at {} in JSON text", self.pos))),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Node::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Node::Array(items));
                        }
                        _ => return Err(err(format!("expected ',' or ']' at {} in JSON text", self.pos))),
                    }
                }
            }
            Some(b'"') => {
                let end = self.string_end()?;
                let raw = self.s.get(self.pos..end).ok_or_else(|| err("bad string"))?;
                self.pos = end;
                Ok(Node::Scalar(raw.to_owned()))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | b':' | b'[' | b'{' | b'"') {
                        break;
                    }
                    self.pos += 1;
                }
                let tok = self.s.get(start..self.pos).unwrap_or("");
                if tok.is_empty() {
                    return Err(err(format!("unexpected character at {start} in JSON text")));
                }
                Ok(Node::Scalar(tok.to_owned()))
            }
            None => Err(err("JSON text ended early")),
        }
    }
}

pub(super) fn parse_text(s: &str) -> Result<Node, ValueError> {
    let mut p = TextParser { s, pos: 0 };
    let n = p.value(0)?;
    p.skip_ws();
    if p.pos != s.len() {
        return Err(err(format!("trailing characters at {} in JSON text", p.pos)));
    }
    Ok(n)
}

/// `raw` includes the surrounding quotes.
pub(super) fn unescape_json_string(raw: &str) -> Result<String, ValueError> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| err("string is not quoted"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex4 = |chars: &mut std::str::Chars| -> Result<u32, ValueError> {
                    let h: String = chars.by_ref().take(4).collect();
                    if h.len() != 4 {
                        return Err(err("short \\u escape"));
                    }
                    u32::from_str_radix(&h, 16).map_err(|_| err("bad \\u escape"))
                };
                let hi = hex4(&mut chars)?;
                let cp = if (0xd800..0xdc00).contains(&hi) {
                    if chars.next() != Some('\\') || chars.next() != Some('u') {
                        return Err(err("unpaired surrogate in \\u escape"));
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xdc00..0xe000).contains(&lo) {
                        return Err(err("bad low surrogate in \\u escape"));
                    }
                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                } else {
                    hi
                };
                out.push(char::from_u32(cp).ok_or_else(|| err("\\u escape is not a character"))?);
            }
            _ => return Err(err("bad escape in string")),
        }
    }
    Ok(out)
}

/// One leg of a JSON path as written in a diff.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Leg {
    Member(String),
    /// `[n]`, or `[last - n]` when `from_end`.
    Index { n: usize, from_end: bool },
}

/// Parse a JSON path such as `$.a[1]."b c"[last-1]` (wildcards and ranges never appear in diffs).
pub(super) fn parse_path(path: &[u8]) -> Result<Vec<Leg>, ValueError> {
    let s = std::str::from_utf8(path).map_err(|_| err("diff path is not UTF-8"))?;
    let bad = |why: &str| err(format!("diff path {s:?}: {why}"));
    let b = s.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while matches!(b.get(*i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            *i += 1;
        }
    };
    ws(&mut i);
    if b.get(i) != Some(&b'$') {
        return Err(bad("does not start with '$'"));
    }
    i += 1;
    let mut legs = Vec::new();
    loop {
        ws(&mut i);
        match b.get(i) {
            None => return Ok(legs),
            Some(b'.') => {
                i += 1;
                ws(&mut i);
                if b.get(i) == Some(&b'"') {
                    let start = i;
                    i += 1;
                    loop {
                        match b.get(i) {
                            None => return Err(bad("unterminated quoted member")),
                            Some(b'\\') => i += 2,
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(_) => i += 1,
                        }
                    }
                    let raw = s.get(start..i).ok_or_else(|| bad("bad quoted member"))?;
                    legs.push(Leg::Member(unescape_json_string(raw)?));
                } else {
                    let start = i;
                    while let Some(c) = b.get(i) {
                        if matches!(c, b'.' | b'[' | b' ' | b'\t' | b'\n' | b'\r') {
                            break;
                        }
                        i += 1;
                    }
                    let name = s.get(start..i).unwrap_or("");
                    if name.is_empty() || name.contains('*') {
                        return Err(bad("empty or wildcard member"));
                    }
                    legs.push(Leg::Member(name.to_owned()));
                }
            }
            Some(b'[') => {
                i += 1;
                ws(&mut i);
                let from_end = s.get(i..).is_some_and(|r| r.starts_with("last"));
                let mut n = 0usize;
                if from_end {
                    i += 4;
                    ws(&mut i);
                    if b.get(i) == Some(&b'-') {
                        i += 1;
                        ws(&mut i);
                        n = parse_uint(b, &mut i).ok_or_else(|| bad("bad number after 'last -'"))?;
                    }
                } else {
                    n = parse_uint(b, &mut i).ok_or_else(|| bad("bad array index"))?;
                }
                ws(&mut i);
                if b.get(i) != Some(&b']') {
                    return Err(bad("expected ']' (ranges and wildcards are not allowed)"));
                }
                i += 1;
                legs.push(Leg::Index { n, from_end });
            }
            Some(_) => return Err(bad("expected '.' or '['")),
        }
    }
}

pub(super) fn parse_uint(b: &[u8], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(c @ b'0'..=b'9') = b.get(*i) {
        n = n.checked_mul(10)?.checked_add((c - b'0') as usize)?;
        *i += 1;
    }
    (*i > start).then_some(n)
}

/// Position an index leg names in an array of `len` (MySQL `Json_array_index`): the position
/// for an insert (clamped) and whether it is within bounds for a lookup.
pub(super) fn array_position(n: usize, from_end: bool, len: usize) -> (usize, bool) {
    let pos = if from_end {
        if n < len {
            len - n - 1
        } else {
            0
        }
    } else {
        n.min(len)
    };
    (pos, n < len)
}

pub(super) fn seek_mut<'a>(mut node: &'a mut Node, legs: &[Leg]) -> Option<&'a mut Node> {
    for leg in legs {
        node = match (node, leg) {
            (Node::Object(members), Leg::Member(k)) => members.iter_mut().find(|(mk, _)| mk == k).map(|(_, v)| v)?,
            (Node::Array(items), Leg::Index { n, from_end }) => {
                let (pos, within) = array_position(*n, *from_end, items.len());
                if !within {
                    return None;
                }
                items.get_mut(pos)?
            }
            _ => return None,
        };
    }
    Some(node)
}

/// MySQL's object key order: shorter keys first, then bytewise.
pub(super) fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}
