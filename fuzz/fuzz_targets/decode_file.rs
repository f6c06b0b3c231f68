//! Fuzz target: arbitrary bytes as a whole binlog file, walked event by event the way a file
//! reader frames them (optional 4-byte magic, then `event_size` from each header), with CRC
//! verification on and off. Any panic is a bug: bad input must end in a DecodeError.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use parapply::decode::{parse_header, Decoder};

fn walk(bytes: &[u8], verify: bool) {
    let file: Arc<str> = Arc::from("fuzz");
    let mut dec = Decoder::new();
    dec.set_verify_checksum(verify);
    dec.set_max_payload_size(16 << 20);
    let mut pos = if bytes.starts_with(&[0xFE, b'b', b'i', b'n']) { 4 } else { 0 };
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let size = parse_header(rest).map_or(rest.len(), |h| h.event_size as usize).max(1);
        let raw = &rest[..size.min(rest.len())];
        match dec.decode(raw, &file, pos as u64) {
            Ok(_) => pos += size,
            Err(e) => {
                // Errors must say where.
                assert_eq!(e.offset, pos as u64);
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    walk(data, true);
    walk(data, false);
});
