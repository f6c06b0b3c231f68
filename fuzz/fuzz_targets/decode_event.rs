//! Fuzz target: arbitrary bytes as a sequence of events decoded after a fixed, real
//! FORMAT_DESCRIPTION (MariaDB 10.5, CRC32) with CRC verification off, so mutated bodies reach
//! every body parser (TABLE_MAP then ROWS, TRANSACTION_PAYLOAD, GTIDs...). Any panic is a bug.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use parapply::decode::{parse_header, Decoder};

/// The FDE of a real MariaDB 10.5 binlog (read in place from the shared fixtures).
static MARIADB_FILE: &[u8] = include_bytes!("../../../shared/fixtures/binlog/rust_mysql_common/mariadb-bin.000001");
/// The FDE of a real MySQL 8.0.32 binlog (TRANSACTION_PAYLOAD, GTID v2 layouts).
static MYSQL_FILE: &[u8] = include_bytes!("../../../shared/fixtures/binlog/rust_mysql_common/transaction_compression.000001");

fn fde_of(file: &'static [u8]) -> &'static [u8] {
    let size = parse_header(&file[4..]).map_or(0, |h| h.event_size as usize);
    &file[4..4 + size]
}

fuzz_target!(|data: &[u8]| {
    // First byte picks the server flavour, the rest is the event sequence.
    let Some((&flavour, events)) = data.split_first() else { return };
    let file: Arc<str> = Arc::from("fuzz");
    let mut dec = Decoder::new();
    let fde = if flavour & 1 == 0 { fde_of(MARIADB_FILE) } else { fde_of(MYSQL_FILE) };
    if dec.decode(fde, &file, 4).is_err() {
        return;
    }
    dec.set_verify_checksum(false);
    dec.set_max_payload_size(16 << 20);
    let mut pos = 0usize;
    while pos < events.len() {
        let rest = &events[pos..];
        let size = parse_header(rest).map_or(rest.len(), |h| h.event_size as usize).max(1);
        let raw = &rest[..size.min(rest.len())];
        if dec.decode(raw, &file, pos as u64).is_err() {
            return;
        }
        pos += size;
    }
});
