//! The JSONB reader: a MySQL JSON column value (binary, as stored and logged) to MySQL's
//! canonical text, with the server's forms for doubles and opaque values. Offsets, sizes and
//! depth are checked and the output is capped; nothing panics.

use std::fmt::Write;

use super::{err, le, MAX_DEPTH};
use crate::decode::scalar::{self, DateTimeFields, TimeFields, ValueError};


// JSONB type bytes (json_binary.h).
pub(super) const T_SMALL_OBJECT: u8 = 0x00;
pub(super) const T_LARGE_OBJECT: u8 = 0x01;
pub(super) const T_SMALL_ARRAY: u8 = 0x02;
pub(super) const T_LARGE_ARRAY: u8 = 0x03;
pub(super) const T_LITERAL: u8 = 0x04;
pub(super) const T_INT16: u8 = 0x05;
pub(super) const T_UINT16: u8 = 0x06;
pub(super) const T_INT32: u8 = 0x07;
pub(super) const T_UINT32: u8 = 0x08;
pub(super) const T_INT64: u8 = 0x09;
pub(super) const T_UINT64: u8 = 0x0a;
pub(super) const T_DOUBLE: u8 = 0x0b;
pub(super) const T_STRING: u8 = 0x0c;
pub(super) const T_OPAQUE: u8 = 0x0f;

/// MySQL binary JSON (as stored in a JSON column) -> Value::Json(canonical MySQL text).
pub fn decode_jsonb(bytes: &[u8]) -> Result<String, ValueError> {
    let (&ty, rest) = bytes.split_first().ok_or_else(|| err("empty binary JSON value"))?;
    let mut w = Writer { out: String::with_capacity(bytes.len() * 2 + 8), budget: output_budget(bytes.len()) };
    w.value(ty, rest, 0)?;
    Ok(w.out)
}

/// Legit documents print at most a few characters per stored byte; a larger output means
/// offsets that point at the same data over and over.
pub(super) fn output_budget(input_len: usize) -> usize {
    input_len.saturating_mul(32).saturating_add(4096)
}

pub(super) struct Writer {
    out: String,
    budget: usize,
}


/// MySQL's variable-length size (7 bits per byte, low first, at most 5 bytes).
pub(super) fn read_varlen(data: &[u8]) -> Result<(usize, usize), ValueError> {
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
                scalar::push_int(&mut self.out, le(data, 0, 8, "int64")? as i64);
                Ok(())
            }
            T_UINT64 => {
                scalar::push_uint(&mut self.out, le(data, 0, 8, "uint64")?, 0);
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
            T_INT16 => scalar::push_int(&mut self.out, le(data, 0, 2, "int16")? as u16 as i16 as i64),
            T_UINT16 => scalar::push_uint(&mut self.out, le(data, 0, 2, "uint16")?, 0),
            T_INT32 => scalar::push_int(&mut self.out, le(data, 0, 4, "int32")? as u32 as i32 as i64),
            T_UINT32 => scalar::push_uint(&mut self.out, le(data, 0, 4, "uint32")?, 0),
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
pub(super) fn push_json_double(out: &mut String, d: f64) -> Result<(), ValueError> {
    let s = format_mysql_double(d)?;
    out.push_str(&s);
    if !s.contains(['.', 'e']) {
        out.push_str(".0");
    }
    Ok(())
}

/// Opaque values, printed as MySQL's `Json_wrapper::to_string` does.
pub(super) fn push_opaque(out: &mut String, field_type: u8, payload: &[u8]) -> Result<(), ValueError> {
    use scalar::column_type as ct;
    match field_type {
        ct::NEWDECIMAL => {
            let [p, s] = match payload {
                [p, s, ..] => [*p, *s],
                _ => return Err(err("opaque DECIMAL shorter than its precision/scale header")),
            };
            let (text, used) = scalar::decode_newdecimal(p, s, &payload[2..])?;
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
                let TimeFields { negative, hours, minutes, seconds, micros } = scalar::unpack_time(packed);
                let sign = if negative { "-" } else { "" };
                let _ = write!(out, "{sign}{hours:02}:{minutes:02}:{seconds:02}.{micros:06}");
            } else {
                let DateTimeFields { year, month, day, hour, minute, second, micros } = scalar::unpack_datetime(packed);
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
pub(super) fn base64_mysql(src: &[u8], out: &mut String) {
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
