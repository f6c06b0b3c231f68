//! FORMAT_DESCRIPTION (15) and the old START_V3 (1) event bodies.
//!
//! Owns reading the server version, header length, per-type post-header lengths and the
//! checksum algorithm, including the pre-5.6.1 layout without a checksum field. It must not
//! verify checksums or keep state: [`crate::decode::Decoder`] does both.

use crate::decode::event::FormatDescription;
use crate::decode::reader::{text, Cursor, Res};

/// `(major, minor, patch)` from the leading digits of a server version string.
pub(crate) fn version_triple(v: &str) -> (u32, u32, u32) {
    let mut parts = [0u32; 3];
    for (i, p) in v.split(['.', '-']).take(3).enumerate() {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        parts[i] = digits.parse().unwrap_or(0);
    }
    (parts[0], parts[1], parts[2])
}

/// True when this server version writes the checksum-algorithm byte (and a 4-byte CRC slot)
/// at the end of its FDE: MySQL 5.6.1+, MariaDB 5.3+.
pub(crate) fn has_checksum_field(server_version: &str) -> bool {
    let v = version_triple(server_version);
    if server_version.contains("MariaDB") {
        v >= (5, 3, 0)
    } else {
        v >= (5, 6, 1)
    }
}

/// Parse an FDE body (after the 19-byte common header, CRC bytes still included).
/// Returns the description and the number of trailing checksum-slot bytes (0 or 4).
pub(crate) fn parse_fde(body: &[u8], base: usize) -> Res<(FormatDescription, usize)> {
    let mut c = Cursor::new(body, base);
    let binlog_version = c.u16("FDE binlog version")?;
    let server_version = text(trim_nul(c.bytes(50, "FDE server version")?));
    let create_timestamp = c.u32("FDE create timestamp")?;
    let header_length = c.u8("FDE header length")?;
    let with_alg = has_checksum_field(&server_version);
    let trailer = if with_alg { 5 } else { 0 };
    let rest = c.rest();
    if rest.len() < trailer {
        return Err(crate::decode::reader::Fail::new(
            c.at(),
            format!("FDE of {server_version} too short for its checksum-algorithm byte and CRC"),
        ));
    }
    let post_header_lengths = rest[..rest.len() - trailer].to_vec();
    let checksum_alg = if with_alg { Some(rest[rest.len() - trailer]) } else { None };
    Ok((
        FormatDescription {
            binlog_version,
            server_version,
            create_timestamp,
            header_length,
            post_header_lengths,
            checksum_alg,
        },
        if with_alg { 4 } else { 0 },
    ))
}

/// START_V3 (MySQL 4.x, binlog version 3): version and creation time only. Post-header lengths
/// are the fixed v3 ones, which the decoder's defaults cover.
pub(crate) fn parse_start_v3(body: &[u8], base: usize) -> Res<FormatDescription> {
    let mut c = Cursor::new(body, base);
    let binlog_version = c.u16("START_V3 binlog version")?;
    let server_version = text(trim_nul(c.bytes(50, "START_V3 server version")?));
    let create_timestamp = c.u32("START_V3 create timestamp")?;
    Ok(FormatDescription {
        binlog_version,
        server_version,
        create_timestamp,
        header_length: 19,
        post_header_lengths: Vec::new(),
        checksum_alg: None,
    })
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    &b[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(version_triple("5.6.4-m7-debug-log"), (5, 6, 4));
        assert_eq!(version_triple("10.5.15-MariaDB-1:10.5.15+maria~focal-log"), (10, 5, 15));
        assert!(has_checksum_field("5.6.4-m7-debug-log"));
        assert!(!has_checksum_field("5.6.0"));
        assert!(!has_checksum_field("5.1.37-ndb-6.2.19-debug-log"));
        assert!(has_checksum_field("5.5.30-MariaDB-log"));
        assert!(has_checksum_field("8.0.32"));
    }
}
