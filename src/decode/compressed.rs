//! MariaDB compressed binlog events (`log_bin_compress=ON`): QUERY_COMPRESSED (165) and the
//! compressed ROWS events (166-168 v1, 169-171 v2).
//!
//! Owns the MariaDB compressed-block format: one header byte `0x80 | n` where `n` (1..=4) is the
//! number of bytes that follow holding the uncompressed length, big-endian, then a zlib stream.
//! Only the query text (QUERY) or the row images (ROWS, after the column bitmaps) are compressed;
//! the callers decode the rest as usual.

use std::io::Read;

use crate::decode::reader::{Fail, Res};

/// The most a deflate stream can expand: one bit per 258-byte match gives 1032:1 (zlib's own
/// bound, "Maximum Compression Factor" in its technical details). A block announcing more per
/// byte present is not a real block.
pub(crate) const MAX_INFLATE_RATIO: usize = 1032;
/// The capacity reserved up front for an inflated block; past it the buffer grows with the
/// bytes the decompressor really produces.
const INITIAL_INFLATE_CAPACITY: usize = 1 << 20;

/// How much to reserve for a block announcing `announced` bytes from `compressed` bytes, or an
/// error when the announcement cannot be true. A length field never decides an allocation by
/// itself: the bytes present bound it.
pub(crate) fn inflate_capacity(announced: usize, compressed: usize) -> Result<usize, String> {
    // 64 bytes of slack for the stream's own header and final block.
    let possible = compressed.saturating_mul(MAX_INFLATE_RATIO).saturating_add(64);
    if announced > possible {
        return Err(format!("compressed block announces {announced} bytes from {compressed} compressed bytes (deflate inflates at most {MAX_INFLATE_RATIO}:1)"));
    }
    Ok(announced.min(INITIAL_INFLATE_CAPACITY))
}

/// Inflate one MariaDB compressed block starting at `buf[0]`; `at` is its position in the
/// event (for errors) and `max_size` caps the announced uncompressed length.
pub(crate) fn uncompress(buf: &[u8], at: usize, max_size: usize) -> Res<Vec<u8>> {
    let Some(&first) = buf.first() else {
        return Err(Fail::new(at, "compressed block is empty"));
    };
    let len_bytes = usize::from(first & 0x07);
    if first & 0x80 == 0 || !(1..=4).contains(&len_bytes) {
        return Err(Fail::new(at, format!("invalid compressed-block header byte 0x{first:02X}")));
    }
    let len_field = buf
        .get(1..1 + len_bytes)
        .ok_or_else(|| Fail::new(at, "compressed block truncated in its length field"))?;
    let expected = len_field.iter().fold(0usize, |n, &b| n << 8 | usize::from(b));
    if expected > max_size {
        return Err(Fail::new(at, format!("compressed block announces {expected} bytes, above the cap of {max_size}")));
    }
    let stream = &buf[1 + len_bytes..];
    let mut out = Vec::with_capacity(inflate_capacity(expected, stream.len()).map_err(|why| Fail::new(at, why))?);
    flate2::read::ZlibDecoder::new(stream)
        .take(expected as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Fail::new(at, format!("zlib decompression failed: {e}")))?;
    if out.len() != expected {
        return Err(Fail::new(at, format!("compressed block inflated to {} bytes, header says {expected}", out.len())));
    }
    Ok(out)
}

/// A MariaDB compressed ROWS event (types 166-171) rewritten as the plain ROWS event it stands
/// for (23-25 for the v1 ones, 30-32 for v2): same header and post-header, the row images
/// inflated, the event length and (with `crc`) the CRC32 trailer made anew. A MariaDB target
/// refuses compressed events in a `BINLOG` statement (ERROR 1730, "Only Format_description_log_event
/// and row events are allowed"), while its replica applies them: the plain event is what
/// [`crate::apply::binlog_stmt`] replays. `None` for any other event or bytes that do not parse
/// (the decoder has already accepted them, so that does not happen).
pub(crate) fn inflate_rows_event(raw: &[u8], header_len: usize, post_header_len: usize, crc: bool, max_size: usize) -> Option<Vec<u8>> {
    let t = *raw.get(4)?;
    let (plain, v2, update) = match t {
        166 => (23, false, false),
        167 => (24, false, true),
        168 => (25, false, false),
        169 => (30, true, false),
        170 => (31, true, true),
        171 => (32, true, false),
        _ => return None,
    };
    let mut at = header_len.checked_add(post_header_len)?;
    if v2 {
        // The post-header ends with the extra-data length, which counts its own two bytes.
        let len_at = at.checked_sub(2)?;
        let extra = usize::from(u16::from_le_bytes([*raw.get(len_at)?, *raw.get(len_at + 1)?]));
        at += extra.checked_sub(2)?;
    }
    let (ncols, width) = match *raw.get(at)? {
        n @ 0..=250 => (u64::from(n), 1),
        252 => (u64::from(u16::from_le_bytes([*raw.get(at + 1)?, *raw.get(at + 2)?])), 3),
        253 => (u64::from(u32::from_le_bytes([*raw.get(at + 1)?, *raw.get(at + 2)?, *raw.get(at + 3)?, 0])), 4),
        _ => return None,
    };
    let bitmaps = usize::try_from(ncols).ok()?.div_ceil(8) * if update { 2 } else { 1 };
    let block_at = at + width + bitmaps;
    let end = raw.len().checked_sub(if crc { 4 } else { 0 })?;
    let inflated = uncompress(raw.get(block_at..end)?, block_at, max_size).ok()?;
    let mut out = Vec::with_capacity(block_at + inflated.len() + 4);
    out.extend_from_slice(&raw[..block_at]);
    out.extend_from_slice(&inflated);
    out[4] = plain;
    let size = u32::try_from(out.len() + if crc { 4 } else { 0 }).ok()?;
    out[9..13].copy_from_slice(&size.to_le_bytes());
    if crc {
        let sum = crc32fast::hash(&out);
        out.extend_from_slice(&sum.to_le_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A compressed WRITE_ROWS_V1 (166) becomes the WRITE_ROWS_V1 (23) with the same rows: type,
    /// length and CRC made anew, header and post-header kept.
    #[test]
    fn compressed_rows_event_inflates_to_the_plain_event() {
        let rows = b"\x00\x01\x00\x00\x00\x02\x00\x00\x00".to_vec();
        let mut head = vec![0u8; 19];
        head[4] = 166;
        head.extend_from_slice(&[7, 0, 0, 0, 0, 0, 1, 0]); // table id 7, flags STMT_END_F
        head.extend_from_slice(&[2, 0b11]); // 2 columns, both present
        let plain = {
            let mut e = head.clone();
            e[4] = 23;
            e.extend_from_slice(&rows);
            let size = (e.len() + 4) as u32;
            e[9..13].copy_from_slice(&size.to_le_bytes());
            let sum = crc32fast::hash(&e);
            e.extend_from_slice(&sum.to_le_bytes());
            e
        };
        let mut compressed = head.clone();
        compressed.extend_from_slice(&block(&rows));
        compressed.extend_from_slice(&[0xEE; 4]); // the logged CRC, replaced
        assert_eq!(inflate_rows_event(&compressed, 19, 8, true, 1 << 20), Some(plain));
        // An update (167) has two bitmaps; a plain event is not rewritten.
        let mut upd = head.clone();
        upd[4] = 167;
        upd.push(0b11);
        upd.extend_from_slice(&block(&rows));
        let out = inflate_rows_event(&upd, 19, 8, false, 1 << 20).unwrap();
        assert_eq!((out[4], &out[upd.len() - block(&rows).len()..]), (24, &rows[..]));
        assert_eq!(inflate_rows_event(&out, 19, 8, false, 1 << 20), None);
    }

    fn block(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        let mut out = vec![0x82, (data.len() >> 8) as u8, data.len() as u8];
        out.extend(z.finish().unwrap());
        out
    }

    #[test]
    fn round_trip_and_errors() {
        let data: Vec<u8> = (0..600u32).map(|i| (i % 7) as u8).collect();
        assert_eq!(uncompress(&block(&data), 0, 1 << 20).unwrap(), data);
        let mut wrong_len = block(&data);
        wrong_len[2] = wrong_len[2].wrapping_add(1);
        assert_eq!(
            uncompress(&wrong_len, 5, 1 << 20).unwrap_err().msg,
            "compressed block inflated to 600 bytes, header says 601"
        );
        assert_eq!(uncompress(&block(&data), 0, 100).unwrap_err().msg, "compressed block announces 600 bytes, above the cap of 100");
        assert_eq!(uncompress(&[0x05, 1], 0, 100).unwrap_err().msg, "invalid compressed-block header byte 0x05");
        assert!(uncompress(&[0x81, 3, 0xFF, 0xFF], 0, 100).unwrap_err().msg.starts_with("zlib decompression failed"));
    }

    /// Issue 15 item 4: a header announcing 1 GiB over a few bytes is refused before anything
    /// is reserved for it (it used to reserve from the header alone).
    #[test]
    fn announced_length_beyond_the_bytes_present_is_refused() {
        let mut b = block(b"abc");
        b[0] = 0x84;
        b.splice(1..3, (1u32 << 30).to_be_bytes());
        let compressed = b.len() - 5;
        assert_eq!(
            uncompress(&b, 7, 1 << 30).unwrap_err().msg,
            format!("compressed block announces 1073741824 bytes from {compressed} compressed bytes (deflate inflates at most 1032:1)")
        );
        assert_eq!(inflate_capacity(600, 20).unwrap(), 600);
        assert_eq!(inflate_capacity(50 << 20, 1 << 20).unwrap(), 1 << 20);
        // The real maximum ratio passes: a megabyte of zeros deflates to about 1 KB.
        let zeros = vec![0u8; 1 << 20];
        let mut big = block(&zeros);
        big[0] = 0x83;
        big.splice(1..3, [0x10, 0x00, 0x00]);
        assert_eq!(uncompress(&big, 0, 1 << 30).unwrap().len(), 1 << 20);
    }
}
