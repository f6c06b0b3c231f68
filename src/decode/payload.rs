//! TRANSACTION_PAYLOAD (40, MySQL 8.0.20+ `binlog_transaction_compression`): the header fields
//! and zstd decompression under a size cap.
//!
//! Owns turning the event body into the bytes of the inner events. Decoding those inner events
//! (which carry no checksum) is the [`crate::decode::Decoder`]'s job.

use std::io::Read;

use crate::decode::reader::{Cursor, Fail, Res};

// Header field types (`Transaction_payload_event` on-the-wire fields).
const OTW_PAYLOAD_HEADER_END_MARK: u64 = 0;
const OTW_PAYLOAD_SIZE_FIELD: u64 = 1;
const OTW_PAYLOAD_COMPRESSION_TYPE_FIELD: u64 = 2;
const OTW_PAYLOAD_UNCOMPRESSED_SIZE_FIELD: u64 = 3;

const COMPRESSION_ZSTD: u64 = 0;
const COMPRESSION_NONE: u64 = 255;

/// Decompressed inner-event bytes of a TRANSACTION_PAYLOAD body. `max_size` caps the
/// decompressed size so a corrupt or hostile size cannot exhaust memory.
pub(crate) fn expand_payload(body: &[u8], base: usize, max_size: usize) -> Res<Vec<u8>> {
    let mut c = Cursor::new(body, base);
    let mut payload_size = None;
    let mut compression = None;
    let mut uncompressed_size = None;
    loop {
        let field = c.lenenc("TRANSACTION_PAYLOAD field type")?;
        if field == OTW_PAYLOAD_HEADER_END_MARK {
            break;
        }
        let value = c.lenenc_bytes("TRANSACTION_PAYLOAD field")?;
        let mut v = Cursor::new(value, c.at() - value.len());
        match field {
            OTW_PAYLOAD_SIZE_FIELD => payload_size = Some(v.lenenc("TRANSACTION_PAYLOAD payload size")?),
            OTW_PAYLOAD_COMPRESSION_TYPE_FIELD => compression = Some(v.lenenc("TRANSACTION_PAYLOAD compression type")?),
            OTW_PAYLOAD_UNCOMPRESSED_SIZE_FIELD => {
                uncompressed_size = Some(v.lenenc("TRANSACTION_PAYLOAD uncompressed size")?)
            }
            // Unknown fields are length-prefixed: skip.
            _ => {}
        }
    }
    let at = c.at();
    let payload_size = payload_size.ok_or_else(|| Fail::new(at, "TRANSACTION_PAYLOAD header has no payload size"))?;
    let payload_size = c.check_count(at, payload_size, 1, "TRANSACTION_PAYLOAD payload size")?;
    let payload = c.bytes(payload_size, "TRANSACTION_PAYLOAD payload")?;
    if let Some(n) = uncompressed_size {
        if n > max_size as u64 {
            return Err(Fail::new(at, format!("TRANSACTION_PAYLOAD uncompressed size {n} exceeds the cap of {max_size} bytes")));
        }
    }
    let out = match compression {
        Some(COMPRESSION_ZSTD) => {
            let dec = zstd::stream::read::Decoder::with_buffer(payload)
                .map_err(|e| Fail::new(at, format!("TRANSACTION_PAYLOAD zstd init: {e}")))?;
            let mut out = Vec::with_capacity(uncompressed_size.map_or(0, |n| n as usize).min(1 << 20));
            dec.take(max_size as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| Fail::new(at, format!("TRANSACTION_PAYLOAD zstd decompression failed: {e}")))?;
            if out.len() > max_size {
                return Err(Fail::new(at, format!("TRANSACTION_PAYLOAD decompresses beyond the cap of {max_size} bytes")));
            }
            out
        }
        Some(COMPRESSION_NONE) => payload.to_vec(),
        Some(other) => return Err(Fail::new(at, format!("TRANSACTION_PAYLOAD compression type {other} is not supported"))),
        None => return Err(Fail::new(at, "TRANSACTION_PAYLOAD header has no compression type")),
    };
    if let Some(n) = uncompressed_size {
        if out.len() as u64 != n {
            return Err(Fail::new(
                at,
                format!("TRANSACTION_PAYLOAD decompressed to {} bytes, header says {n}", out.len()),
            ));
        }
    }
    Ok(out)
}
