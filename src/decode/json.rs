//! MySQL binary JSON (JSONB) decoding and PARTIAL_UPDATE_ROWS JSON diffs.
//!
//! Owns the JSONB reader that turns a MySQL JSON column value into MySQL's canonical text (what
//! `SELECT json_col` prints: `{"a": 1, "b": [1, 2]}`, keys in stored order, doubles through
//! MySQL's `my_gcvt` rules, DECIMAL/temporal opaque values printed as the server does and other
//! opaque values as `"base64:typeNN:..."`), and the applier of binary JSON diffs (REPLACE /
//! INSERT / REMOVE at a JSON path) to a before image. It must not know about rows, events or
//! SQL. Input is untrusted: offsets, sizes and nesting depth are checked, output size is capped
//! so shared or overlapping offsets cannot blow up, and nothing panics.

use std::fmt::Write;

use crate::decode::value::{self, Value, ValueError};

/// MySQL's JSON_DOCUMENT_MAX_DEPTH: deeper documents are rejected by the server too.
const MAX_DEPTH: usize = 100;

// JSONB type bytes (json_binary.h).
const T_SMALL_OBJECT: u8 = 0x00;
const T_LARGE_OBJECT: u8 = 0x01;
const T_SMALL_ARRAY: u8 = 0x02;
const T_LARGE_ARRAY: u8 = 0x03;
const T_LITERAL: u8 = 0x04;
const T_INT16: u8 = 0x05;
const T_UINT16: u8 = 0x06;
const T_INT32: u8 = 0x07;
const T_UINT32: u8 = 0x08;
const T_INT64: u8 = 0x09;
const T_UINT64: u8 = 0x0a;
const T_DOUBLE: u8 = 0x0b;
const T_STRING: u8 = 0x0c;
const T_OPAQUE: u8 = 0x0f;

fn err(what: impl Into<String>) -> ValueError {
    ValueError::new(format!("JSON: {}", what.into()))
}

/// MySQL binary JSON (as stored in a JSON column) -> Value::Json(canonical MySQL text).
pub fn decode_jsonb(bytes: &[u8]) -> Result<String, ValueError> {
    let (&ty, rest) = bytes.split_first().ok_or_else(|| err("empty binary JSON value"))?;
    let mut w = Writer { out: String::with_capacity(bytes.len() * 2 + 8), budget: output_budget(bytes.len()) };
    w.value(ty, rest, 0)?;
    Ok(w.out)
}

/// Legit documents print at most a few characters per stored byte; a larger output means
/// offsets that point at the same data over and over.
fn output_budget(input_len: usize) -> usize {
    input_len.saturating_mul(32).saturating_add(4096)
}

struct Writer {
    out: String,
    budget: usize,
}

#[inline]
fn le(data: &[u8], at: usize, n: usize, what: &str) -> Result<u64, ValueError> {
    let s = at
        .checked_add(n)
        .and_then(|end| data.get(at..end))
        .ok_or_else(|| err(format!("{what} at offset {at} runs past the value ({} bytes)", data.len())))?;
    Ok(s.iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

/// MySQL's variable-length size (7 bits per byte, low first, at most 5 bytes).
fn read_varlen(data: &[u8]) -> Result<(usize, usize), ValueError> {
    let mut len: u64 = 0;
    for i in 0..5 {
        let b = *data.get(i).ok_or_else(|| err("truncated variable-length size"))?;
        len |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            if len > u32::MAX as u64 {
                return Err(err("variable-length size exceeds 4 GiB"));
            }
            return Ok((len as usize, i + 1));
        }
    }
    Err(err("variable-length size longer than 5 bytes"))
}

impl Writer {
    fn check_budget(&self) -> Result<(), ValueError> {
        if self.out.len() > self.budget {
            return Err(err("decoded text is far larger than the binary value (overlapping offsets?)"));
        }
        Ok(())
    }

    fn value(&mut self, ty: u8, data: &[u8], depth: usize) -> Result<(), ValueError> {
        match ty {
            T_SMALL_OBJECT => self.container(data, false, true, depth),
            T_LARGE_OBJECT => self.container(data, true, true, depth),
            T_SMALL_ARRAY => self.container(data, false, false, depth),
            T_LARGE_ARRAY => self.container(data, true, false, depth),
            T_LITERAL | T_INT16 | T_UINT16 | T_INT32 | T_UINT32 => self.scalar_fixed(ty, data),
            T_INT64 => {
                value::push_int(&mut self.out, le(data, 0, 8, "int64")? as i64);
                Ok(())
            }
            T_UINT64 => {
                value::push_uint(&mut self.out, le(data, 0, 8, "uint64")?, 0);
                Ok(())
            }
            T_DOUBLE => {
                let d = f64::from_bits(le(data, 0, 8, "double")?);
                push_json_double(&mut self.out, d)
            }
            T_STRING => {
                let (len, n) = read_varlen(data)?;
                let s = data.get(n..n + len).ok_or_else(|| err(format!("string of {len} bytes runs past the value")))?;
                push_json_string(&mut self.out, s);
                Ok(())
            }
            T_OPAQUE => {
                let (&field_type, rest) = data.split_first().ok_or_else(|| err("truncated opaque value"))?;
                let (len, n) = read_varlen(rest)?;
                let payload =
                    rest.get(n..n + len).ok_or_else(|| err(format!("opaque value of {len} bytes runs past the value")))?;
                push_opaque(&mut self.out, field_type, payload)
            }
            other => Err(err(format!("unknown value type {other:#04x}"))),
        }
    }

    /// Scalars small enough to be inlined in a value entry; `data` holds at least their bytes.
    fn scalar_fixed(&mut self, ty: u8, data: &[u8]) -> Result<(), ValueError> {
        match ty {
            T_LITERAL => match le(data, 0, 1, "literal")? {
                0 => self.out.push_str("null"),
                1 => self.out.push_str("true"),
                2 => self.out.push_str("false"),
                x => return Err(err(format!("unknown literal {x}"))),
            },
            T_INT16 => value::push_int(&mut self.out, le(data, 0, 2, "int16")? as u16 as i16 as i64),
            T_UINT16 => value::push_uint(&mut self.out, le(data, 0, 2, "uint16")?, 0),
            T_INT32 => value::push_int(&mut self.out, le(data, 0, 4, "int32")? as u32 as i32 as i64),
            T_UINT32 => value::push_uint(&mut self.out, le(data, 0, 4, "uint32")?, 0),
            other => return Err(err(format!("type {other:#04x} cannot be inlined"))),
        }
        Ok(())
    }

    /// Object or array: `count`, `size`, key entries (offset, u16 length), value entries (type,
    /// offset-or-inlined value), then keys and values. Offsets are relative to `data`.
    fn container(&mut self, data: &[u8], large: bool, object: bool, depth: usize) -> Result<(), ValueError> {
        if depth >= MAX_DEPTH {
            return Err(err(format!("document nested deeper than {MAX_DEPTH} levels")));
        }
        self.check_budget()?;
        let os = if large { 4 } else { 2 };
        let count = le(data, 0, os, "element count")? as usize;
        let size = le(data, os, os, "container size")? as usize;
        let d = data
            .get(..size)
            .ok_or_else(|| err(format!("container of {size} bytes runs past the value ({} bytes)", data.len())))?;
        let key_entry = os + 2;
        let value_entry = 1 + os;
        let keys_len = if object { count * key_entry } else { 0 };
        let header = 2 * os + keys_len + count * value_entry;
        if header > size {
            return Err(err(format!("container header ({count} elements) is larger than its size {size}")));
        }
        self.out.push(if object { '{' } else { '[' });
        for i in 0..count {
            if i > 0 {
                self.out.push_str(", ");
            }
            if object {
                let e = 2 * os + i * key_entry;
                let koff = le(d, e, os, "key offset")? as usize;
                let klen = le(d, e + os, 2, "key length")? as usize;
                let key = d
                    .get(koff..koff + klen)
                    .ok_or_else(|| err(format!("key at {koff}+{klen} runs past the object ({size} bytes)")))?;
                push_json_string(&mut self.out, key);
                self.out.push_str(": ");
            }
            let e = 2 * os + keys_len + i * value_entry;
            let vt = *d.get(e).ok_or_else(|| err("value entry past the container"))?;
            let inlined = match vt {
                T_LITERAL | T_INT16 | T_UINT16 => true,
                T_INT32 | T_UINT32 => large,
                _ => false,
            };
            if inlined {
                self.scalar_fixed(vt, d.get(e + 1..e + 1 + os).unwrap_or(&[]))?;
            } else {
                let voff = le(d, e + 1, os, "value offset")? as usize;
                if voff < header {
                    return Err(err(format!("value offset {voff} points into the container header")));
                }
                let v = d.get(voff..).ok_or_else(|| err(format!("value offset {voff} past the container ({size} bytes)")))?;
                self.value(vt, v, depth + 1)?;
            }
        }
        self.out.push(if object { '}' } else { ']' });
        self.check_budget()
    }
}

/// JSON string with MySQL's escaping (`double_quote`): `"` and `\`, the short escapes for
/// \b \f \n \r \t, `\u00XX` for other control characters; everything else (non-ASCII too) as is.
pub fn push_json_string(out: &mut String, bytes: &[u8]) {
    // Borrowed when the bytes are valid UTF-8 (the normal case).
    let s = String::from_utf8_lossy(bytes);
    out.reserve(s.len() + 2);
    out.push('"');
    // Copy runs of plain characters at once; every special character is ASCII, so the slice
    // bounds are character boundaries.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

/// MySQL's `my_gcvt(d, MY_GCVT_ARG_DOUBLE, MY_GCVT_MAX_FIELD_WIDTH)`: shortest round-trip digits,
/// fixed notation for decimal exponents -14..=15 (or when all digits fit), else `1.5e100`
/// style (no `+`, no zero padding).
pub fn format_mysql_double(d: f64) -> Result<String, ValueError> {
    if !d.is_finite() {
        return Err(err(format!("double {d} is not finite")));
    }
    // Rust's shortest round-trip digits, the same digits dtoa mode 0 gives.
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').ok_or_else(|| err("internal: no exponent"))?;
    let exp: i32 = exp.parse().map_err(|_| err("internal: bad exponent"))?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.as_bytes();
    let len = digits.len() as i32;
    let decpt = exp + 1;
    let negative = d.is_sign_negative();
    const MAX_DECPT_FOR_F_FORMAT: i32 = 15;
    let width: i32 = 15 + 4 + 15 - i32::from(negative);
    let exp_len = 1 + i32::from(decpt >= 101 || decpt <= -99) + i32::from(decpt >= 11 || decpt <= -9);
    let f_len = if decpt <= 0 {
        len - decpt + 2
    } else if decpt < len {
        len + 1
    } else {
        decpt
    };
    let have_space = f_len <= width;
    let force_e = decpt <= 0 && width <= 2 - decpt && width >= 3 + exp_len;
    let use_f = (have_space
        // MySQL's my_gcvt has `(decpt == -2 && (len > 1 || !force_e))` here; under the
        // `&& !force_e` that follows, the inner disjunction is always true.
        || (decpt <= width && (decpt >= -1 || decpt == -2) && !force_e))
        && (!have_space
            || (decpt >= -MAX_DECPT_FOR_F_FORMAT + 1 && (decpt <= MAX_DECPT_FOR_F_FORMAT || len > decpt)));
    let mut s = String::with_capacity(26);
    if negative {
        s.push('-');
    }
    let dig = |s: &mut String, b: &[u8]| b.iter().for_each(|&c| s.push(c as char));
    if use_f {
        if decpt <= 0 {
            s.push_str("0.");
            (0..-decpt).for_each(|_| s.push('0'));
            dig(&mut s, digits);
        } else if decpt < len {
            dig(&mut s, &digits[..decpt as usize]);
            s.push('.');
            dig(&mut s, &digits[decpt as usize..]);
        } else {
            dig(&mut s, digits);
            (0..decpt - len).for_each(|_| s.push('0'));
        }
    } else {
        dig(&mut s, &digits[..1]);
        if len > 1 {
            s.push('.');
            dig(&mut s, &digits[1..]);
        }
        let _ = write!(s, "e{}", decpt - 1);
    }
    Ok(s)
}

/// A JSON double as MySQL prints it: `my_gcvt`, plus ".0" when that shows neither a decimal
/// point nor an exponent, so it stays distinguishable from an integer.
fn push_json_double(out: &mut String, d: f64) -> Result<(), ValueError> {
    let s = format_mysql_double(d)?;
    out.push_str(&s);
    if !s.contains(['.', 'e']) {
        out.push_str(".0");
    }
    Ok(())
}

/// Opaque values, printed as MySQL's `Json_wrapper::to_string` does.
fn push_opaque(out: &mut String, field_type: u8, payload: &[u8]) -> Result<(), ValueError> {
    use value::column_type as ct;
    match field_type {
        ct::NEWDECIMAL => {
            let [p, s] = match payload {
                [p, s, ..] => [*p, *s],
                _ => return Err(err("opaque DECIMAL shorter than its precision/scale header")),
            };
            let (text, used) = value::decode_newdecimal(p, s, &payload[2..])?;
            if used != payload.len() - 2 {
                return Err(err(format!("opaque DECIMAL({p},{s}) has {} bytes, expected {used}", payload.len() - 2)));
            }
            out.push_str(&text);
        }
        ct::DATE | ct::DATETIME | ct::TIMESTAMP | ct::TIME => {
            let raw: [u8; 8] = payload
                .get(..8)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| err(format!("opaque temporal value of {} bytes (need 8)", payload.len())))?;
            let packed = i64::from_le_bytes(raw);
            out.push('"');
            if field_type == ct::TIME {
                if let Value::Time { negative, hours, minutes, seconds, micros } = value::time_from_packed(packed) {
                    let sign = if negative { "-" } else { "" };
                    let _ = write!(out, "{sign}{hours:02}:{minutes:02}:{seconds:02}.{micros:06}");
                }
            } else if let Value::DateTime { year, month, day, hour, minute, second, micros } =
                value::datetime_from_packed(packed)
            {
                let _ = write!(out, "{year:04}-{month:02}-{day:02}");
                if field_type != ct::DATE {
                    let _ = write!(out, " {hour:02}:{minute:02}:{second:02}.{micros:06}");
                }
            }
            out.push('"');
        }
        // Strings stored as opaque print as plain JSON strings.
        ct::VAR_STRING => push_json_string(out, payload),
        other => {
            let mut s = String::with_capacity(payload.len() * 4 / 3 + 24);
            let _ = write!(s, "base64:type{other}:");
            base64_mysql(payload, &mut s);
            push_json_string(out, s.as_bytes());
        }
    }
    Ok(())
}

/// MySQL's `base64_encode`: standard alphabet with padding and a newline after every 76
/// output characters.
fn base64_mysql(src: &[u8], out: &mut String) {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut line = 0;
    for chunk in src.chunks(3) {
        if line == 76 {
            out.push('\n');
            line = 0;
        }
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let c = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(TABLE[(c >> 18) as usize & 63] as char);
        out.push(TABLE[(c >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { TABLE[(c >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { TABLE[c as usize & 63] as char } else { '=' });
        line += 4;
    }
}

// ---------------------------------------------------------------------------------------------
// PARTIAL_UPDATE_ROWS: JSON diffs applied to the before image.

/// A JSON document held as a tree whose scalars keep their canonical text verbatim, so that
/// numbers (DECIMAL scale, double formatting) and strings print back exactly as MySQL did.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Scalar(String),
    Array(Vec<Node>),
    /// Keys unescaped, in MySQL's order (shorter keys first, then bytewise).
    Object(Vec<(String, Node)>),
}

fn write_node(n: &Node, out: &mut String) {
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
struct TextParser<'a> {
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

fn parse_text(s: &str) -> Result<Node, ValueError> {
    let mut p = TextParser { s, pos: 0 };
    let n = p.value(0)?;
    p.skip_ws();
    if p.pos != s.len() {
        return Err(err(format!("trailing characters at {} in JSON text", p.pos)));
    }
    Ok(n)
}

/// `raw` includes the surrounding quotes.
fn unescape_json_string(raw: &str) -> Result<String, ValueError> {
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
enum Leg {
    Member(String),
    /// `[n]`, or `[last - n]` when `from_end`.
    Index { n: usize, from_end: bool },
}

/// Parse a JSON path such as `$.a[1]."b c"[last-1]` (wildcards and ranges never appear in diffs).
fn parse_path(path: &[u8]) -> Result<Vec<Leg>, ValueError> {
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

fn parse_uint(b: &[u8], i: &mut usize) -> Option<usize> {
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
fn array_position(n: usize, from_end: bool, len: usize) -> (usize, bool) {
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

fn seek_mut<'a>(mut node: &'a mut Node, legs: &[Leg]) -> Option<&'a mut Node> {
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
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

const OP_REPLACE: u8 = 0;
const OP_INSERT: u8 = 1;
const OP_REMOVE: u8 = 2;

fn apply_one(doc: &mut Node, op: u8, legs: &[Leg], value: Option<Node>, path_text: &str) -> Result<(), ValueError> {
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
fn lenenc(data: &[u8]) -> Result<(usize, usize), ValueError> {
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
fn for_each_diff(
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
/// before-image value; returns the new Value::Json and bytes consumed.
///
/// Layout (`Json_diff_vector::write_binary`): a 4-byte little-endian length of the list, then
/// per diff: operation byte (0 REPLACE, 1 INSERT, 2 REMOVE), length-encoded path text, and for
/// REPLACE/INSERT a length-encoded binary JSON value.
pub fn apply_json_diff(before: &Value, buf: &[u8]) -> Result<(Value, usize), ValueError> {
    let before_text = match before {
        Value::Json(s) => s.as_str(),
        other => return Err(err(format!("partial update needs a JSON before image, got {other:?}"))),
    };
    let mut doc = parse_text(before_text)?;
    let used = for_each_diff(buf, |op, path, value| {
        let legs = parse_path(path.as_bytes())?;
        let value = value.map(|v| parse_text(&v)).transpose()?;
        apply_one(&mut doc, op, &legs, value, path)
    })?;
    let mut out = String::with_capacity(before_text.len() + 16);
    write_node(&doc, &mut out);
    Ok((Value::Json(out), used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn diff_functions_follow_the_insert_target_and_nest_in_order() {
        let d = |op, path: &str, value: Option<&str>| JsonDiff { op, path: path.into(), value: value.map(String::from) };
        assert_eq!(d(JsonDiffOp::Replace, "$.a[0]", Some("1")).sql_function(), "JSON_REPLACE");
        assert_eq!(d(JsonDiffOp::Remove, "$.a[0]", None).sql_function(), "JSON_REMOVE");
        assert_eq!(d(JsonDiffOp::Insert, "$.a", Some("1")).sql_function(), "JSON_SET");
        assert_eq!(d(JsonDiffOp::Insert, "$.a[2]", Some("1")).sql_function(), "JSON_ARRAY_INSERT");
        assert_eq!(d(JsonDiffOp::Insert, "$.a[last]", Some("1")).sql_function(), "JSON_ARRAY_INSERT");
        assert_eq!(d(JsonDiffOp::Insert, "$[1].\"k[0]\"", Some("1")).sql_function(), "JSON_SET");
        let diffs = [d(JsonDiffOp::Replace, "$.a", Some("1")), d(JsonDiffOp::Remove, "$.b", None), d(JsonDiffOp::Insert, "$.c[0]", Some("[]"))];
        let mut out = String::new();
        write_diff_expression(&diffs, "@2", &mut out, |p, o| o.push_str(&format!("<{p}>")), |v, o| o.push_str(&format!("{{{v}}}")));
        assert_eq!(out, "JSON_ARRAY_INSERT(JSON_REMOVE(JSON_REPLACE(@2, <$.a>, {1}), <$.b>), <$.c[0]>, {[]})");
        // Same as applying the diffs to a document, for the INSERT-on-an-existing-member case
        // that made JSON_SET the right function: the member is replaced.
        let mut doc = parse_text(r#"{"a": 1}"#).unwrap();
        apply_one(&mut doc, OP_INSERT, &parse_path(b"$.a").unwrap(), Some(Node::Scalar("2".into())), "$.a").unwrap();
        let mut text = String::new();
        write_node(&doc, &mut text);
        assert_eq!(text, r#"{"a": 2}"#);
    }

    /// A JSON tree for the test-only JSONB encoder.
    #[derive(Debug, Clone)]
    enum J {
        Null,
        Bool(bool),
        Int(i64),
        UInt(u64),
        Double(f64),
        Str(String),
        Arr(Vec<J>),
        Obj(Vec<(String, J)>),
        /// Raw opaque value: field type and payload.
        Opaque(u8, Vec<u8>),
    }

    fn varlen(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    /// Type byte and body of a value, MySQL's choice of integer widths.
    fn encode_body(j: &J, large: bool) -> (u8, Vec<u8>) {
        match j {
            J::Null => (T_LITERAL, vec![0]),
            J::Bool(b) => (T_LITERAL, vec![if *b { 1 } else { 2 }]),
            J::Int(i) if i16::try_from(*i).is_ok() => (T_INT16, (*i as i16).to_le_bytes().to_vec()),
            J::Int(i) if i32::try_from(*i).is_ok() => (T_INT32, (*i as i32).to_le_bytes().to_vec()),
            J::Int(i) => (T_INT64, i.to_le_bytes().to_vec()),
            J::UInt(u) => (T_UINT64, u.to_le_bytes().to_vec()),
            J::Double(d) => (T_DOUBLE, d.to_le_bytes().to_vec()),
            J::Str(s) => {
                let mut b = Vec::new();
                varlen(s.len(), &mut b);
                b.extend_from_slice(s.as_bytes());
                (T_STRING, b)
            }
            J::Opaque(t, p) => {
                let mut b = vec![*t];
                varlen(p.len(), &mut b);
                b.extend_from_slice(p);
                (T_OPAQUE, b)
            }
            J::Arr(items) => {
                let refs: Vec<(Option<&str>, &J)> = items.iter().map(|v| (None, v)).collect();
                (if large { T_LARGE_ARRAY } else { T_SMALL_ARRAY }, encode_container(&refs, large))
            }
            J::Obj(members) => {
                let refs: Vec<(Option<&str>, &J)> = members.iter().map(|(k, v)| (Some(k.as_str()), v)).collect();
                (if large { T_LARGE_OBJECT } else { T_SMALL_OBJECT }, encode_container(&refs, large))
            }
        }
    }

    fn put(out: &mut Vec<u8>, at: usize, v: usize, os: usize) {
        out[at..at + os].copy_from_slice(&(v as u32).to_le_bytes()[..os]);
    }

    fn encode_container(items: &[(Option<&str>, &J)], large: bool) -> Vec<u8> {
        let os = if large { 4 } else { 2 };
        let object = items.first().is_some_and(|(k, _)| k.is_some());
        let n = items.len();
        let header = 2 * os + if object { n * (os + 2) } else { 0 } + n * (1 + os);
        let mut out = vec![0u8; header];
        put(&mut out, 0, n, os);
        if object {
            for (i, (k, _)) in items.iter().enumerate() {
                let k = k.unwrap_or_default();
                let e = 2 * os + i * (os + 2);
                let at = out.len();
                put(&mut out, e, at, os);
                put(&mut out, e + os, k.len(), 2);
                out.extend_from_slice(k.as_bytes());
            }
        }
        let ve0 = 2 * os + if object { n * (os + 2) } else { 0 };
        for (i, (_, v)) in items.iter().enumerate() {
            let nested_large = large; // children use the same format in this encoder
            let (t, body) = encode_body(v, nested_large);
            let e = ve0 + i * (1 + os);
            out[e] = t;
            let inline = matches!(t, T_LITERAL | T_INT16 | T_UINT16) || (large && matches!(t, T_INT32 | T_UINT32));
            if inline {
                out[e + 1..e + 1 + body.len()].copy_from_slice(&body);
            } else {
                let at = out.len();
                put(&mut out, e + 1, at, os);
                out.extend_from_slice(&body);
            }
        }
        let size = out.len();
        put(&mut out, os, size, os);
        out
    }

    fn encode(j: &J, large: bool) -> Vec<u8> {
        let (t, body) = encode_body(j, large);
        let mut v = vec![t];
        v.extend_from_slice(&body);
        v
    }

    /// Independent printer of the expected MySQL text (no doubles or opaques in generated trees).
    fn expected(j: &J, out: &mut String) {
        match j {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => out.push_str(&i.to_string()),
            J::UInt(u) => out.push_str(&u.to_string()),
            J::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '\r' => out.push_str("\\r"),
                        '\u{8}' => out.push_str("\\b"),
                        '\u{c}' => out.push_str("\\f"),
                        c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    expected(v, out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    expected(&J::Str(k.clone()), out);
                    out.push_str(": ");
                    expected(v, out);
                }
                out.push('}');
            }
            J::Double(_) | J::Opaque(..) => unreachable!("not generated"),
        }
    }

    fn text(j: &J) -> String {
        let mut s = String::new();
        expected(j, &mut s);
        s
    }

    fn obj(members: &[(&str, J)]) -> J {
        J::Obj(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn scalars_and_nested_documents() {
        for large in [false, true] {
            let doc = obj(&[
                ("a", J::Int(1)),
                ("b", J::Arr(vec![J::Int(1), J::Int(2)])),
                ("id", J::Int(-70000)),
                ("big", J::Int(i64::MIN)),
                ("nul", J::Null),
                ("ubig", J::UInt(u64::MAX)),
                ("yes", J::Bool(true)),
                ("no", J::Bool(false)),
                ("s", J::Str("quote\" back\\ nl\n tab\t bell\u{7} 😀 é".into())),
                ("nested", obj(&[("x", J::Arr(vec![obj(&[]), J::Arr(vec![])]))])),
            ]);
            let got = decode_jsonb(&encode(&doc, large)).unwrap();
            assert_eq!(
                got,
                r#"{"a": 1, "b": [1, 2], "id": -70000, "big": -9223372036854775808, "nul": null, "ubig": 18446744073709551615, "yes": true, "no": false, "s": "quote\" back\\ nl\n tab\t bell\u0007 😀 é", "nested": {"x": [{}, []]}}"#
            );
        }
        assert_eq!(decode_jsonb(&encode(&J::Str(String::new()), false)).unwrap(), r#""""#);
        assert_eq!(decode_jsonb(&encode(&J::Int(5), false)).unwrap(), "5");
        assert_eq!(decode_jsonb(&[T_UINT16, 0xff, 0xff]).unwrap(), "65535");
        assert_eq!(decode_jsonb(&[T_UINT32, 0xff, 0xff, 0xff, 0xff]).unwrap(), "4294967295");
        assert_eq!(decode_jsonb(&[T_LITERAL, 0]).unwrap(), "null");
    }

    #[test]
    fn large_object_with_many_members_and_long_strings() {
        // > 64 KiB forces MySQL's large format; strings > 127 bytes use multi-byte varlen sizes.
        let members: Vec<(String, J)> =
            (0..300).map(|i| (format!("k{i:03}"), J::Str("v".repeat(300 + i)))).collect();
        let doc = J::Obj(members);
        let bytes = encode(&doc, true);
        assert!(bytes.len() > 65_536);
        assert_eq!(decode_jsonb(&bytes).unwrap(), text(&doc));
    }

    #[test]
    fn doubles_print_like_mysql() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.5, "-0.5"),
            (3.25, "3.25"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e100, "1e100"),
            (-1e100, "-1e100"),
            (1e15, "1e15"),
            (1e14, "100000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e17"),
            (1234567890123456.7, "1234567890123456.8"),
            (1e-15, "0.000000000000001"),
            (1e-16, "1e-16"),
            (1.5e-7, "0.00000015"),
            (2.5e-300, "2.5e-300"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        ];
        for &(d, want) in cases {
            assert_eq!(decode_jsonb(&encode(&J::Double(d), false)).unwrap(), want, "{d:e}");
        }
        assert!(format_mysql_double(f64::NAN).is_err());
    }

    #[test]
    fn opaque_values_print_like_mysql() {
        let dec = |p: u8, s: u8, bin: &[u8]| {
            let mut v = vec![p, s];
            v.extend_from_slice(bin);
            J::Opaque(246, v)
        };
        let arr = J::Arr(vec![
            dec(3, 2, &[0x81, 0x32]),                                   // 1.50
            dec(14, 4, &[0x7e, 0xf2, 0x04, 0xc7, 0x2d, 0xfb, 0x2d]),    // -1234567890.1234
        ]);
        assert_eq!(decode_jsonb(&encode(&arr, false)).unwrap(), "[1.50, -1234567890.1234]");

        let dt_packed = |y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, us: i64| {
            let ymd = ((y * 13 + mo) << 5) | d;
            let hms = (h << 12) | (mi << 6) | s;
            ((((ymd << 17) | hms) << 24) + us).to_le_bytes().to_vec()
        };
        let time_packed = |neg: bool, h: i64, mi: i64, s: i64, us: i64| {
            let v = ((((h << 12) | (mi << 6) | s) << 24) + us) * if neg { -1 } else { 1 };
            v.to_le_bytes().to_vec()
        };
        let arr = J::Arr(vec![
            J::Opaque(12, dt_packed(2015, 1, 15, 23, 24, 25, 0)),
            J::Opaque(7, dt_packed(2015, 1, 15, 23, 24, 25, 123_456)),
            J::Opaque(10, dt_packed(2015, 1, 15, 0, 0, 0, 0)),
            J::Opaque(11, time_packed(true, 838, 59, 58, 900_000)),
            J::Opaque(11, time_packed(false, 1, 2, 3, 0)),
            J::Opaque(253, b"plain".to_vec()),
            J::Opaque(15, b"abc\x00\xff".to_vec()),
            J::Opaque(252, vec![]),
        ]);
        assert_eq!(
            decode_jsonb(&encode(&arr, false)).unwrap(),
            r#"["2015-01-15 23:24:25.000000", "2015-01-15 23:24:25.123456", "2015-01-15", "-838:59:58.900000", "01:02:03.000000", "plain", "base64:type15:YWJjAP8=", "base64:type252:"]"#
        );
        // MySQL's base64 breaks lines after 76 characters; the newline is escaped in JSON.
        let long = J::Opaque(16, vec![0u8; 60]);
        let want = format!("\"base64:type16:{}\\n{}\"", "A".repeat(76), "A".repeat(4));
        assert_eq!(decode_jsonb(&encode(&long, false)).unwrap(), want);
        // Truncated opaque payloads are errors.
        assert!(decode_jsonb(&encode(&J::Opaque(12, vec![1, 2, 3]), false)).is_err());
        assert!(decode_jsonb(&encode(&dec(14, 4, &[0x81]), false)).is_err());
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        assert!(decode_jsonb(&[]).is_err());
        assert!(decode_jsonb(&[0x42]).is_err());
        assert!(decode_jsonb(&[T_SMALL_OBJECT, 1, 0]).is_err());
        assert!(decode_jsonb(&[T_SMALL_ARRAY, 0xff, 0xff, 0x04, 0x00]).is_err());
        assert!(decode_jsonb(&[T_STRING, 0x85]).is_err());
        assert!(decode_jsonb(&[T_STRING, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
        assert!(decode_jsonb(&[T_LITERAL, 9]).is_err());
        // Value offset pointing into the header.
        assert!(decode_jsonb(&[T_SMALL_ARRAY, 1, 0, 7, 0, T_STRING, 0, 0]).is_err());
        // Nesting deeper than MySQL allows.
        let mut deep = J::Arr(vec![]);
        for _ in 0..120 {
            deep = J::Arr(vec![deep]);
        }
        assert!(decode_jsonb(&encode(&deep, false)).unwrap_err().what.contains("deeper"));
    }

    #[test]
    fn shared_offsets_cannot_blow_up_the_output() {
        // Every element of each level points at the same child: output would be 1000^depth.
        let n = 1000usize;
        let mut child = encode_container(&[(None, &J::Str("x".repeat(10)))], false);
        let mut child_type = T_SMALL_ARRAY;
        for _ in 0..4 {
            let os = 2;
            let header = 2 * os + n * (1 + os);
            let mut out = vec![0u8; header];
            put(&mut out, 0, n, os);
            for i in 0..n {
                let e = 2 * os + i * 3;
                out[e] = child_type;
                put(&mut out, e + 1, header, os);
            }
            out.extend_from_slice(&child);
            let size = out.len();
            put(&mut out, os, size, os);
            child = out;
            child_type = T_SMALL_ARRAY;
        }
        let mut doc = vec![T_SMALL_ARRAY];
        doc.extend_from_slice(&child);
        assert!(decode_jsonb(&doc).is_err());
    }

    fn arb_json() -> impl Strategy<Value = J> {
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::Int),
            (i64::MAX as u64 + 1..=u64::MAX).prop_map(J::UInt),
            any::<i16>().prop_map(|i| J::Int(i as i64)),
            "\\PC{0,20}".prop_map(J::Str),
            "[\\x00-\\x1f\"\\\\a]{0,8}".prop_map(J::Str),
        ];
        leaf.prop_recursive(5, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(J::Arr),
                proptest::collection::btree_map("[a-z]{0,6}", inner, 0..8).prop_map(|m| {
                    // MySQL stores keys shorter-first, then bytewise.
                    let mut v: Vec<(String, J)> = m.into_iter().collect();
                    v.sort_by(|a, b| key_order(&a.0, &b.0));
                    J::Obj(v)
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn encoded_trees_decode_to_their_text(j in arb_json(), large in any::<bool>()) {
            let bytes = encode(&j, large);
            let want = text(&j);
            prop_assert_eq!(decode_jsonb(&bytes).unwrap(), want.clone());
            // The text model used for diffs prints the same text back.
            let mut again = String::new();
            write_node(&parse_text(&want).unwrap(), &mut again);
            prop_assert_eq!(again, want);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_jsonb(&bytes);
            let _ = apply_json_diff(&Value::Json("{\"a\": [1, 2]}".into()), &bytes);
        }

        #[test]
        fn corrupted_documents_never_panic(j in arb_json(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
            let mut bytes = encode(&j, false);
            for (at, v) in flips {
                let n = bytes.len();
                bytes[at % n] = v;
            }
            let _ = decode_jsonb(&bytes);
        }
    }

    // ---- diffs ----------------------------------------------------------------------------

    fn diff(op: u8, path: &str, value: Option<&J>) -> Vec<u8> {
        let mut d = vec![op];
        assert!(path.len() < 251);
        d.push(path.len() as u8);
        d.extend_from_slice(path.as_bytes());
        if let Some(v) = value {
            let b = encode(v, false);
            if b.len() < 251 {
                d.push(b.len() as u8);
            } else {
                d.push(252);
                d.extend_from_slice(&(b.len() as u16).to_le_bytes());
            }
            d.extend_from_slice(&b);
        }
        d
    }

    fn diff_list(diffs: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = diffs.concat();
        let mut v = (body.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(&body);
        v
    }

    fn apply(before: &str, diffs: &[Vec<u8>]) -> Result<String, ValueError> {
        let mut buf = diff_list(diffs);
        let want_used = buf.len();
        buf.extend_from_slice(&[0xaa, 0xbb]); // next column's bytes are not consumed
        let (v, used) = apply_json_diff(&Value::Json(before.into()), &buf)?;
        assert_eq!(used, want_used);
        match v {
            Value::Json(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn diff_replace_insert_remove() {
        let before = r#"{"a": 1, "b": [1, 2, 3], "name": "x", "price": 1.50}"#;
        assert_eq!(
            apply(before, &[diff(OP_REPLACE, "$.a", Some(&J::Int(2)))]).unwrap(),
            r#"{"a": 2, "b": [1, 2, 3], "name": "x", "price": 1.50}"#
        );
        assert_eq!(
            apply(before, &[diff(OP_REPLACE, "$.b[1]", Some(&J::Str("two".into())))]).unwrap(),
            r#"{"a": 1, "b": [1, "two", 3], "name": "x", "price": 1.50}"#
        );
        // New keys go where MySQL keeps them: shorter first, then bytewise.
        assert_eq!(
            apply(before, &[diff(OP_INSERT, "$.c", Some(&J::Bool(true))), diff(OP_INSERT, "$.zz", Some(&J::Null))]).unwrap(),
            r#"{"a": 1, "b": [1, 2, 3], "c": true, "zz": null, "name": "x", "price": 1.50}"#
        );
        assert_eq!(
            apply(before, &[diff(OP_INSERT, "$.b[1]", Some(&J::Int(9))), diff(OP_INSERT, "$.b[99]", Some(&J::Int(10)))]).unwrap(),
            r#"{"a": 1, "b": [1, 9, 2, 3, 10], "name": "x", "price": 1.50}"#
        );
        assert_eq!(
            apply(before, &[diff(OP_REMOVE, "$.b[last]", None), diff(OP_REMOVE, "$.name", None)]).unwrap(),
            r#"{"a": 1, "b": [1, 2], "price": 1.50}"#
        );
        assert_eq!(
            apply(before, &[diff(OP_REPLACE, "$.b[last-2]", Some(&obj(&[("k", J::Arr(vec![]))])))]).unwrap(),
            r#"{"a": 1, "b": [{"k": []}, 2, 3], "name": "x", "price": 1.50}"#
        );
        assert_eq!(apply(before, &[diff(OP_REPLACE, "$", Some(&J::Int(7)))]).unwrap(), "7");
        // Quoted member names with spaces and escapes.
        assert_eq!(
            apply(r#"{"a b": {"c\"d": 1}}"#, &[diff(OP_REPLACE, r#"$."a b"."c\"d""#, Some(&J::Int(5)))]).unwrap(),
            r#"{"a b": {"c\"d": 5}}"#
        );
        // Empty diff list leaves the document as is.
        assert_eq!(apply(before, &[]).unwrap(), before);
    }

    #[test]
    fn diffs_parse_without_applying() {
        let buf = diff_list(&[
            diff(OP_REPLACE, "$.age", Some(&J::Int(26))),
            diff(OP_INSERT, "$.tags[0]", Some(&obj(&[("x", J::Str("y".into()))]))),
            diff(OP_REMOVE, "$.\"old key\"", None),
        ]);
        let (diffs, used) = parse_json_diffs(&buf).unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(
            diffs,
            vec![
                JsonDiff { op: JsonDiffOp::Replace, path: "$.age".into(), value: Some("26".into()) },
                JsonDiff { op: JsonDiffOp::Insert, path: "$.tags[0]".into(), value: Some(r#"{"x": "y"}"#.into()) },
                JsonDiff { op: JsonDiffOp::Remove, path: r#"$."old key""#.into(), value: None },
            ]
        );
        assert!(parse_json_diffs(&diff_list(&[diff(OP_REPLACE, "$.**", Some(&J::Null))])).is_err());
        assert!(parse_json_diffs(&diff_list(&[diff(9, "$.a", None)])).is_err());
    }

    #[test]
    fn diff_large_value_and_errors() {
        let big = J::Str("y".repeat(400));
        assert_eq!(apply("[1]", &[diff(OP_REPLACE, "$[0]", Some(&big))]).unwrap(), format!("[\"{}\"]", "y".repeat(400)));
        assert!(apply("{\"a\": 1}", &[diff(OP_REPLACE, "$.nope", Some(&J::Int(1)))]).is_err());
        assert!(apply("{\"a\": 1}", &[diff(OP_REMOVE, "$.nope", None)]).is_err());
        assert!(apply("{\"a\": 1}", &[diff(OP_REMOVE, "$", None)]).is_err());
        assert!(apply("{\"a\": 1}", &[diff(OP_INSERT, "$[0]", Some(&J::Int(1)))]).is_err());
        assert!(apply("{\"a\": 1}", &[diff(OP_REPLACE, "$.*", Some(&J::Int(1)))]).is_err());
        assert!(apply("{\"a\": 1}", &[diff(OP_REPLACE, "a", Some(&J::Int(1)))]).is_err());
        assert!(apply("{\"a\": 1}", &[diff(7, "$.a", Some(&J::Int(1)))]).is_err());
        assert!(apply_json_diff(&Value::Null, &diff_list(&[])).is_err());
        assert!(apply_json_diff(&Value::Json("{}".into()), &[9, 0, 0, 0, 1]).is_err());
    }
}
