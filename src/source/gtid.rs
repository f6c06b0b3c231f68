//! GTID positions and sets, for both server families.
//!
//! Owns the two shapes a "how far have we got" can take and their text and wire forms:
//!
//! - [`MariadbGtidPos`]: MariaDB's position, one `server_id` and sequence number per replication
//!   domain (`0-1-100,1-2-5`), as `@@gtid_slave_pos` / `@slave_connect_state` spell it.
//! - [`MysqlGtidSet`]: MySQL's executed set, per `uuid[:tag]` a sorted list of disjoint intervals
//!   (`uuid:1-5:7,uuid2:tag:1-3`), with union, subtraction and the COM_BINLOG_DUMP_GTID SID block.
//! - [`GtidPosition`]: either of the two, for code that serves both (checkpoints, failover's
//!   errant-transaction check, `inspect --from`).
//!
//! This module is pure data: it must not open connections or read binlogs. Text forms are the
//! ones the servers print and accept, so a value can be pasted to and from a SQL prompt.

use std::collections::BTreeMap;
use std::fmt;

use crate::txn::Gtid;

/// A GTID text or encoding that could not be understood, naming the input and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtidError {
    #[error("invalid MariaDB GTID position `{input}`: {why}")]
    Mariadb { input: String, why: String },
    #[error("invalid MySQL GTID set `{input}`: {why}")]
    Mysql { input: String, why: String },
    #[error("invalid GTID set encoding at byte {offset}: {why}")]
    Encoding { offset: usize, why: String },
    #[error("GTID {gtid} does not belong to a {family} position")]
    WrongFamily { gtid: String, family: &'static str },
}

// ---------------------------------------------------------------------------------------------
// MariaDB
// ---------------------------------------------------------------------------------------------

/// MariaDB GTID position: for every replication domain, the last transaction (server_id, seq).
///
/// MariaDB orders transactions inside a domain by sequence number alone; the server_id is kept
/// because the server wants it back verbatim in `@slave_connect_state`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MariadbGtidPos {
    domains: BTreeMap<u32, (u32, u64)>,
}

impl MariadbGtidPos {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse `domain-server-seq[,domain-server-seq...]`; whitespace around entries is ignored and
    /// the empty string is the empty position. A domain given twice is an error (the server
    /// refuses such a position too).
    pub fn parse(text: &str) -> Result<Self, GtidError> {
        let err = |why: String| GtidError::Mariadb { input: text.to_string(), why };
        let mut pos = MariadbGtidPos::new();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(pos);
        }
        for entry in trimmed.split(',') {
            let entry = entry.trim();
            let mut parts = entry.split('-');
            let (Some(d), Some(s), Some(q), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                return Err(err(format!("entry `{entry}` is not domain-server_id-seq")));
            };
            let domain: u32 = parse_decimal(d).ok_or_else(|| err(format!("domain `{d}` is not a 32-bit number")))?;
            let server_id: u32 = parse_decimal(s).ok_or_else(|| err(format!("server_id `{s}` is not a 32-bit number")))?;
            let seq: u64 = parse_decimal(q).ok_or_else(|| err(format!("sequence `{q}` is not a 64-bit number")))?;
            if pos.domains.insert(domain, (server_id, seq)).is_some() {
                return Err(err(format!("domain {domain} appears twice")));
            }
        }
        Ok(pos)
    }

    /// The last (server_id, seq) recorded for `domain`.
    pub fn get(&self, domain: u32) -> Option<(u32, u64)> {
        self.domains.get(&domain).copied()
    }

    /// Record (domain, server_id, seq) as the latest transaction of its domain, replacing what
    /// was there. Replication hands transactions of one domain on in order, so the newest one is
    /// the position even if a sequence number went backwards (a server with non-strict mode can
    /// log that; the position must follow the binlog, not the arithmetic).
    pub fn set(&mut self, domain: u32, server_id: u32, seq: u64) {
        self.domains.insert(domain, (server_id, seq));
    }

    /// Advance with a transaction's GTID. Only MariaDB GTIDs belong here.
    pub fn advance(&mut self, gtid: &Gtid) -> Result<(), GtidError> {
        match gtid {
            Gtid::Mariadb { domain, server_id, seq } => {
                self.set(*domain, *server_id, *seq);
                Ok(())
            }
            other => Err(GtidError::WrongFamily { gtid: other.to_string(), family: "MariaDB" }),
        }
    }

    /// True when the transaction `gtid` is at or before this position in its domain.
    pub fn contains(&self, gtid: &Gtid) -> bool {
        match gtid {
            Gtid::Mariadb { domain, seq, .. } => self.domains.get(domain).is_some_and(|&(_, s)| *seq <= s),
            _ => false,
        }
    }

    /// True when this position is at or beyond `other` in every domain `other` has.
    pub fn covers(&self, other: &MariadbGtidPos) -> bool {
        other.domains.iter().all(|(d, &(_, seq))| self.domains.get(d).is_some_and(|&(_, s)| s >= seq))
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The entries of `self` that `other` does not cover: domains `other` lacks or where `self`
    /// is further. For failover's errant-transaction check: a candidate's position `beyond` the
    /// writer's is what only the candidate has. Empty when `other.covers(self)`.
    pub fn beyond(&self, other: &MariadbGtidPos) -> MariadbGtidPos {
        self.domains.iter().filter(|(d, &(_, seq))| other.domains.get(d).is_none_or(|&(_, s)| seq > s)).map(|(&d, &v)| (d, v)).collect::<BTreeMap<_, _>>().into()
    }

    /// (domain, server_id, seq), ordered by domain.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, u64)> + '_ {
        self.domains.iter().map(|(&d, &(s, q))| (d, s, q))
    }

    /// The entries as GTIDs, ordered by domain.
    pub fn gtids(&self) -> Vec<Gtid> {
        self.iter().map(|(domain, server_id, seq)| Gtid::Mariadb { domain, server_id, seq }).collect()
    }
}

impl From<BTreeMap<u32, (u32, u64)>> for MariadbGtidPos {
    fn from(domains: BTreeMap<u32, (u32, u64)>) -> Self {
        MariadbGtidPos { domains }
    }
}

impl FromIterator<(u32, u32, u64)> for MariadbGtidPos {
    fn from_iter<I: IntoIterator<Item = (u32, u32, u64)>>(iter: I) -> Self {
        let mut pos = MariadbGtidPos::new();
        for (d, s, q) in iter {
            pos.set(d, s, q);
        }
        pos
    }
}

impl fmt::Display for MariadbGtidPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (d, s, q)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}-{s}-{q}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for MariadbGtidPos {
    type Err = GtidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Plain decimal digits only: `str::parse` would also take a leading `+`, which no server writes.
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// MySQL
// ---------------------------------------------------------------------------------------------

/// The largest valid MySQL GNO (`GNO_END - 1`, with `GNO_END = INT64_MAX`).
pub const MYSQL_MAX_GNO: u64 = i64::MAX as u64 - 1;
/// Longest GTID tag MySQL accepts.
pub const MYSQL_MAX_TAG_LEN: usize = 32;

/// A MySQL transaction source: server uuid plus optional tag (MySQL 8.4+).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tsid {
    pub uuid: [u8; 16],
    /// Lowercase tag, `[a-z_][a-z0-9_]{0,31}`; `None` for untagged GTIDs.
    pub tag: Option<String>,
}

/// A MySQL GTID set: for each [`Tsid`], sorted, disjoint, non-adjacent half-open intervals
/// `[start, end)` with `1 <= start < end <= MYSQL_MAX_GNO + 1`.
///
/// Intervals that touch are merged on insert, so equal sets have equal representations and
/// `==` is set equality.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MysqlGtidSet {
    sets: BTreeMap<Tsid, Vec<(u64, u64)>>,
}

impl MysqlGtidSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse the server's text form: comma-separated `uuid(:tag|:N|:N-M)+` groups, e.g.
    /// `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7:blue:1-3,ad9b...:1`. A tag applies to the
    /// intervals after it in its group. Whitespace and newlines (as `@@gtid_executed` prints) are
    /// ignored; the empty string is the empty set. UUIDs may be written with or without hyphens
    /// and in either case; tags are lowercased as the server does.
    pub fn parse(text: &str) -> Result<Self, GtidError> {
        let err = |why: String| GtidError::Mysql { input: text.to_string(), why };
        let mut set = MysqlGtidSet::new();
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Ok(set);
        }
        for group in compact.split(',') {
            let mut parts = group.split(':');
            let uuid_text = parts.next().unwrap_or("");
            let uuid = parse_uuid(uuid_text).ok_or_else(|| err(format!("`{uuid_text}` is not a UUID")))?;
            let mut tsid = Tsid { uuid, tag: None };
            let mut intervals_seen = false;
            let mut pending_tag = false;
            for part in parts {
                if part.starts_with(|c: char| c.is_ascii_digit()) {
                    let (start, end) = parse_interval(part).ok_or_else(|| err(format!("`{part}` is not N or N-M with 1 <= N <= M <= {MYSQL_MAX_GNO}")))?;
                    set.insert_interval(tsid.clone(), start, end);
                    intervals_seen = true;
                    pending_tag = false;
                } else {
                    let tag = normalize_tag(part).ok_or_else(|| err(format!("`{part}` is neither an interval nor a valid tag")))?;
                    if pending_tag {
                        return Err(err(format!("tag before `{part}` has no intervals")));
                    }
                    tsid = Tsid { uuid, tag: Some(tag) };
                    pending_tag = true;
                }
            }
            if !intervals_seen || pending_tag {
                return Err(err(format!("group `{group}` has a UUID or tag without intervals")));
            }
        }
        Ok(set)
    }

    /// Add one transaction. GNO 0 and GNOs above [`MYSQL_MAX_GNO`] are not valid GTIDs and are
    /// refused with `false` (nothing is added).
    pub fn add(&mut self, uuid: [u8; 16], tag: Option<&str>, gno: u64) -> bool {
        if gno == 0 || gno > MYSQL_MAX_GNO {
            return false;
        }
        let tsid = Tsid { uuid, tag: tag.map(str::to_string) };
        // The common case while streaming: the next GNO after the last interval.
        if let Some(list) = self.sets.get_mut(&tsid) {
            if let Some(last) = list.last_mut() {
                if last.1 == gno {
                    last.1 = gno + 1;
                    return true;
                }
            }
        }
        self.insert_interval(tsid, gno, gno + 1);
        true
    }

    /// Add a transaction's GTID. Only MySQL GTIDs belong here.
    pub fn add_gtid(&mut self, gtid: &Gtid) -> Result<(), GtidError> {
        match gtid {
            Gtid::Mysql { uuid, tag, gno } => {
                if self.add(*uuid, tag.as_deref(), *gno) {
                    Ok(())
                } else {
                    Err(GtidError::Mysql { input: gtid.to_string(), why: format!("GNO must be between 1 and {MYSQL_MAX_GNO}") })
                }
            }
            other => Err(GtidError::WrongFamily { gtid: other.to_string(), family: "MySQL" }),
        }
    }

    pub fn contains(&self, uuid: [u8; 16], tag: Option<&str>, gno: u64) -> bool {
        let tsid = Tsid { uuid, tag: tag.map(str::to_string) };
        let Some(list) = self.sets.get(&tsid) else { return false };
        // First interval whose end is beyond gno; it contains gno iff it starts at or before it.
        let i = list.partition_point(|&(_, end)| end <= gno);
        list.get(i).is_some_and(|&(start, _)| start <= gno)
    }

    pub fn contains_gtid(&self, gtid: &Gtid) -> bool {
        match gtid {
            Gtid::Mysql { uuid, tag, gno } => self.contains(*uuid, tag.as_deref(), *gno),
            _ => false,
        }
    }

    /// Insert `[start, end)` for `tsid`, merging with every interval it overlaps or touches.
    /// Empty or out-of-range intervals are ignored (the type's invariant excludes them).
    pub fn insert_interval(&mut self, tsid: Tsid, start: u64, end: u64) {
        if start == 0 || start >= end || end > MYSQL_MAX_GNO + 1 {
            return;
        }
        let list = self.sets.entry(tsid).or_default();
        // Intervals strictly before (ending before `start`, not touching) stay; those from `lo`
        // up to `hi` overlap or touch and are merged into one.
        let lo = list.partition_point(|&(_, e)| e < start);
        let hi = list.partition_point(|&(s, _)| s <= end);
        let mut merged = (start, end);
        if lo < hi {
            merged.0 = merged.0.min(list[lo].0);
            merged.1 = merged.1.max(list[hi - 1].1);
        }
        list.splice(lo..hi, std::iter::once(merged));
    }

    /// Everything in `self` or `other`.
    pub fn union(&self, other: &MysqlGtidSet) -> MysqlGtidSet {
        let mut out = self.clone();
        out.union_with(other);
        out
    }

    pub fn union_with(&mut self, other: &MysqlGtidSet) {
        for (tsid, list) in &other.sets {
            for &(s, e) in list {
                self.insert_interval(tsid.clone(), s, e);
            }
        }
    }

    /// Everything in `self` that is not in `other` (e.g. errant transactions: a candidate's
    /// executed set minus the writer's).
    pub fn subtract(&self, other: &MysqlGtidSet) -> MysqlGtidSet {
        let mut out = MysqlGtidSet::new();
        for (tsid, list) in &self.sets {
            let Some(remove) = other.sets.get(tsid) else {
                out.sets.insert(tsid.clone(), list.clone());
                continue;
            };
            let mut kept: Vec<(u64, u64)> = Vec::new();
            let mut j = 0;
            for &(s, e) in list {
                let mut cur = s;
                // Skip removals entirely before this interval; they cannot touch later ones either.
                while j < remove.len() && remove[j].1 <= cur {
                    j += 1;
                }
                let mut k = j;
                while cur < e {
                    match remove.get(k) {
                        Some(&(rs, re)) if rs < e => {
                            if rs > cur {
                                kept.push((cur, rs));
                            }
                            cur = cur.max(re);
                            k += 1;
                        }
                        _ => {
                            kept.push((cur, e));
                            cur = e;
                        }
                    }
                }
            }
            if !kept.is_empty() {
                out.sets.insert(tsid.clone(), kept);
            }
        }
        out
    }

    /// True when every GTID of `self` is in `other`.
    pub fn is_subset(&self, other: &MysqlGtidSet) -> bool {
        self.subtract(other).is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.values().all(Vec::is_empty)
    }

    /// Number of transactions in the set (saturating).
    pub fn count(&self) -> u64 {
        self.sets.values().flatten().fold(0u64, |acc, &(s, e)| acc.saturating_add(e - s))
    }

    /// (tsid, intervals `[start, end)`), ordered by uuid then tag (untagged first).
    pub fn iter(&self) -> impl Iterator<Item = (&Tsid, &[(u64, u64)])> + '_ {
        self.sets.iter().filter(|(_, l)| !l.is_empty()).map(|(t, l)| (t, l.as_slice()))
    }

    /// True when some entry carries a tag: the wire form then has to be the tagged format that
    /// only MySQL 8.3+ accepts.
    pub fn has_tags(&self) -> bool {
        self.iter().any(|(t, _)| t.tag.is_some())
    }

    /// The SID block of COM_BINLOG_DUMP_GTID (and the body of PREVIOUS_GTIDS): a u64 entry
    /// count, then per entry the 16-byte UUID, in the tagged format a tag (one byte `len << 1`,
    /// the server's variable-length integer for lengths below 128, then the bytes), a u64
    /// interval count and the intervals as (start, end-exclusive) u64 pairs, all little-endian.
    /// Without tags the count is the plain number of entries; with any tag the whole block uses
    /// the tagged format, whose first u64 is `(1 << 56) | (n << 8) | 1` (MySQL
    /// `encode_nsids_format`).
    pub fn encode_sid_block(&self) -> Vec<u8> {
        let tagged = self.has_tags();
        let entries: Vec<_> = self.iter().collect();
        let mut out = Vec::with_capacity(8 + entries.iter().map(|(_, l)| 16 + 1 + MYSQL_MAX_TAG_LEN + 8 + 16 * l.len()).sum::<usize>());
        let n = entries.len() as u64;
        let header = if tagged { (1u64 << 56) | (n << 8) | 1 } else { n };
        out.extend_from_slice(&header.to_le_bytes());
        for (tsid, list) in entries {
            out.extend_from_slice(&tsid.uuid);
            if tagged {
                let tag = tsid.tag.as_deref().unwrap_or("");
                // Tags are at most 32 bytes, so the varint is always one byte.
                out.push((tag.len() as u8) << 1);
                out.extend_from_slice(tag.as_bytes());
            }
            out.extend_from_slice(&(list.len() as u64).to_le_bytes());
            for &(s, e) in list {
                out.extend_from_slice(&s.to_le_bytes());
                out.extend_from_slice(&e.to_le_bytes());
            }
        }
        out
    }

    /// Decode a SID block (as written by [`Self::encode_sid_block`] or found in a PREVIOUS_GTIDS
    /// body), checking every length against the input. Returns the set and the bytes consumed.
    pub fn decode_sid_block(bytes: &[u8]) -> Result<(MysqlGtidSet, usize), GtidError> {
        let mut r = ByteReader { bytes, at: 0 };
        let header = r.u64()?;
        let format = (header >> 56) as u8;
        let (tagged, n) = match format {
            0 => (false, header),
            1 => (true, (header & !(0xffu64 << 56)) >> 8),
            other => return Err(GtidError::Encoding { offset: 7, why: format!("unknown SID block format {other}") }),
        };
        let mut set = MysqlGtidSet::new();
        for _ in 0..n {
            let uuid: [u8; 16] = r.take(16)?.try_into().map_err(|_| r.error("short UUID"))?;
            let tag = if tagged {
                let len_byte = r.take(1)?[0];
                if len_byte & 1 != 0 {
                    return Err(r.error("tag length longer than one byte"));
                }
                let len = (len_byte >> 1) as usize;
                if len == 0 {
                    None
                } else {
                    let raw = r.take(len)?;
                    let text = std::str::from_utf8(raw).map_err(|_| r.error("tag is not UTF-8"))?;
                    Some(normalize_tag(text).ok_or_else(|| r.error("invalid tag"))?)
                }
            } else {
                None
            };
            let count = r.u64()?;
            let tsid = Tsid { uuid, tag };
            for _ in 0..count {
                let (s, e) = (r.u64()?, r.u64()?);
                if s == 0 || s >= e || e > MYSQL_MAX_GNO + 1 {
                    return Err(r.error(&format!("invalid interval [{s}, {e})")));
                }
                set.insert_interval(tsid.clone(), s, e);
            }
        }
        Ok((set, r.at))
    }

    /// The set as mysql_common `Sid`s for `BinlogStreamRequest::with_gtid_set`.
    pub fn to_sids(&self) -> Vec<mysql_common::packets::Sid<'static>> {
        use mysql_common::packets::{GnoInterval, Sid, Tag};
        self.iter()
            .map(|(tsid, list)| {
                let sid = Sid::new(tsid.uuid).with_intervals(list.iter().map(|&(s, e)| GnoInterval::new(s, e)).collect());
                // Tags held here were validated on the way in, so `Tag::new` accepts them.
                match tsid.tag.as_ref().and_then(|t| Tag::new(t.clone()).ok()) {
                    Some(tag) => sid.with_tag(tag),
                    None => sid,
                }
            })
            .collect()
    }
}

struct ByteReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> ByteReader<'a> {
    fn error(&self, why: &str) -> GtidError {
        GtidError::Encoding { offset: self.at, why: why.to_string() }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], GtidError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| self.error(&format!("need {n} more bytes, have {}", self.bytes.len() - self.at)))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u64(&mut self) -> Result<u64, GtidError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

impl fmt::Display for MysqlGtidSet {
    /// The server's layout: one comma-separated group per UUID, untagged intervals first, then
    /// each tag followed by its intervals (`uuid:1-5:7:blue:1-3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last_uuid: Option<[u8; 16]> = None;
        for (tsid, list) in self.iter() {
            if last_uuid != Some(tsid.uuid) {
                if last_uuid.is_some() {
                    f.write_str(",")?;
                }
                f.write_str(&format_uuid(&tsid.uuid))?;
                last_uuid = Some(tsid.uuid);
            }
            if let Some(tag) = &tsid.tag {
                write!(f, ":{tag}")?;
            }
            for &(s, e) in list {
                if e == s + 1 {
                    write!(f, ":{s}")?;
                } else {
                    write!(f, ":{s}-{}", e - 1)?;
                }
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for MysqlGtidSet {
    type Err = GtidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `N` or `N-M` (inclusive) as a half-open `[N, M+1)`.
fn parse_interval(part: &str) -> Option<(u64, u64)> {
    let (a, b) = match part.split_once('-') {
        Some((a, b)) => (parse_decimal::<u64>(a)?, parse_decimal::<u64>(b)?),
        None => {
            let a = parse_decimal::<u64>(part)?;
            (a, a)
        }
    };
    if a == 0 || a > b || b > MYSQL_MAX_GNO {
        return None;
    }
    Some((a, b + 1))
}

/// A valid tag, lowercased; `None` when it breaks MySQL's rule `[a-z_][a-z0-9_]{0,31}`.
fn normalize_tag(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut chars = lower.chars();
    let first = chars.next()?;
    if lower.len() > MYSQL_MAX_TAG_LEN || !(first.is_ascii_lowercase() || first == '_') {
        return None;
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return None;
    }
    Some(lower)
}

/// A UUID as 36 characters with hyphens at 8-4-4-4-12, or as 32 bare hex digits.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = match text.len() {
        36 => {
            let b = text.as_bytes();
            if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
                return None;
            }
            b.iter().copied().filter(|&c| c != b'-').collect()
        }
        32 => text.as_bytes().to_vec(),
        _ => return None,
    };
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Lowercase hyphenated UUID, as the server prints it.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Either family
// ---------------------------------------------------------------------------------------------

/// A GTID position of either server family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GtidPosition {
    Mariadb(MariadbGtidPos),
    Mysql(MysqlGtidSet),
}

impl GtidPosition {
    /// Parse either text form. MariaDB positions never contain `:` and MySQL sets always do,
    /// so the shape decides; the empty string is ambiguous and is an error here (use the
    /// family's own `new()`).
    pub fn parse(text: &str) -> Result<Self, GtidError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(GtidError::Mariadb { input: text.to_string(), why: "empty position: say which server family".into() });
        }
        if t.contains(':') {
            MysqlGtidSet::parse(t).map(GtidPosition::Mysql)
        } else {
            MariadbGtidPos::parse(t).map(GtidPosition::Mariadb)
        }
    }

    /// Move the position past a transaction.
    pub fn advance(&mut self, gtid: &Gtid) -> Result<(), GtidError> {
        match self {
            GtidPosition::Mariadb(p) => p.advance(gtid),
            GtidPosition::Mysql(s) => s.add_gtid(gtid),
        }
    }

    /// True when the transaction is at or before this position.
    pub fn contains(&self, gtid: &Gtid) -> bool {
        match self {
            GtidPosition::Mariadb(p) => p.contains(gtid),
            GtidPosition::Mysql(s) => s.contains_gtid(gtid),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            GtidPosition::Mariadb(p) => p.is_empty(),
            GtidPosition::Mysql(s) => s.is_empty(),
        }
    }
}

impl fmt::Display for GtidPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidPosition::Mariadb(p) => p.fmt(f),
            GtidPosition::Mysql(s) => s.fmt(f),
        }
    }
}

impl std::str::FromStr for GtidPosition {
    type Err = GtidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const U2: &str = "ad9b8e3c-0000-4000-8000-000000000002";

    fn u(text: &str) -> [u8; 16] {
        parse_uuid(text).unwrap()
    }

    #[test]
    fn mariadb_parse_format_and_order() {
        let p = MariadbGtidPos::parse(" 1-2-5 , 0-1-100").unwrap();
        assert_eq!(p.to_string(), "0-1-100,1-2-5");
        assert_eq!(p.get(1), Some((2, 5)));
        assert_eq!(MariadbGtidPos::parse("").unwrap(), MariadbGtidPos::new());
        assert_eq!(MariadbGtidPos::parse("4294967295-4294967295-18446744073709551615").unwrap().to_string(), "4294967295-4294967295-18446744073709551615");
    }

    #[test]
    fn mariadb_parse_errors_name_the_entry() {
        let e = MariadbGtidPos::parse("0-1-100,0-2-3").unwrap_err().to_string();
        assert_eq!(e, "invalid MariaDB GTID position `0-1-100,0-2-3`: domain 0 appears twice");
        for bad in ["0-1", "0-1-2-3", "a-1-2", "0--1-2", "4294967296-1-1", "0-1-+2", "0-1-2,"] {
            assert!(MariadbGtidPos::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn mariadb_advance_and_contains() {
        let mut p = MariadbGtidPos::parse("0-1-100").unwrap();
        p.advance(&Gtid::Mariadb { domain: 2, server_id: 2, seq: 7 }).unwrap();
        p.advance(&Gtid::Mariadb { domain: 0, server_id: 3, seq: 101 }).unwrap();
        assert_eq!(p.to_string(), "0-3-101,2-2-7");
        assert!(p.contains(&Gtid::Mariadb { domain: 0, server_id: 1, seq: 101 }));
        assert!(!p.contains(&Gtid::Mariadb { domain: 0, server_id: 1, seq: 102 }));
        assert!(!p.contains(&Gtid::Mariadb { domain: 1, server_id: 1, seq: 1 }));
        assert!(p.advance(&Gtid::Anonymous).is_err());
        let q = MariadbGtidPos::parse("0-9-50,2-2-7").unwrap();
        assert!(p.covers(&q));
        assert!(!q.covers(&p));
        assert_eq!(p.beyond(&q).to_string(), "0-3-101");
        assert!(q.beyond(&p).is_empty());
        assert_eq!(MariadbGtidPos::parse("0-1-5,3-3-1").unwrap().beyond(&q).to_string(), "3-3-1");
    }

    #[test]
    fn mysql_parse_format_examples() {
        let s = MysqlGtidSet::parse(&format!("{U1}:1-5:7,{U2}:tag:1-3")).unwrap();
        assert_eq!(s.to_string(), format!("{U1}:1-5:7,{U2}:tag:1-3"));
        // Server output spells UUIDs in either case and wraps lines.
        let s2 = MysqlGtidSet::parse(&format!("{}:7:1-5,\n{U2}:TAG:3:1-2", U1.to_uppercase())).unwrap();
        assert_eq!(s, s2);
        // A tag covers the intervals after it; the same UUID in two groups is one entry.
        let t = MysqlGtidSet::parse(&format!("{U1}:blue:1-3:5,{U1}:1-2:red:9")).unwrap();
        assert_eq!(t.to_string(), format!("{U1}:1-2:blue:1-3:5:red:9"));
        assert_eq!(MysqlGtidSet::parse(&format!("{U1}:1-3:4-6:8")).unwrap().to_string(), format!("{U1}:1-6:8"));
        assert_eq!(MysqlGtidSet::parse(" ").unwrap(), MysqlGtidSet::new());
    }

    #[test]
    fn mysql_parse_rejects() {
        for bad in [
            format!("{U1}"),
            format!("{U1}:0"),
            format!("{U1}:5-3"),
            format!("{U1}:tag"),
            format!("{U1}:tag:other:1"),
            format!("{U1}:9bad:1"),
            format!("{U1}:1-{}", MYSQL_MAX_GNO + 1),
            "3e11fa47-71ca-11e1-9e33-c80aa942956:1".to_string(),
            format!("{U1}:1,"),
            format!("{U1}:{}:1", "a".repeat(33)),
        ] {
            assert!(MysqlGtidSet::parse(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn mysql_add_contains_and_merge() {
        let mut s = MysqlGtidSet::new();
        for g in [5, 1, 3, 2, 4, 10] {
            assert!(s.add(u(U1), None, g));
        }
        assert!(!s.add(u(U1), None, 0));
        assert_eq!(s.to_string(), format!("{U1}:1-5:10"));
        assert!(s.contains(u(U1), None, 5) && s.contains(u(U1), None, 10));
        assert!(!s.contains(u(U1), None, 6) && !s.contains(u(U1), Some("x"), 1) && !s.contains(u(U2), None, 1));
        s.add(u(U1), None, 6);
        s.add(u(U1), None, 8);
        s.add(u(U1), None, 9);
        s.add(u(U1), None, 7);
        assert_eq!(s.to_string(), format!("{U1}:1-10"));
        assert_eq!(s.count(), 10);
    }

    #[test]
    fn mysql_subtract_and_union_examples() {
        let a = MysqlGtidSet::parse(&format!("{U1}:1-10:20-30,{U2}:1-5")).unwrap();
        let b = MysqlGtidSet::parse(&format!("{U1}:3-4:8-22:25,{U2}:1-5")).unwrap();
        assert_eq!(a.subtract(&b).to_string(), format!("{U1}:1-2:5-7:23-24:26-30"));
        assert_eq!(a.union(&b).to_string(), format!("{U1}:1-30,{U2}:1-5"));
        assert!(b.subtract(&a).to_string() == format!("{U1}:11-19"));
    }

    #[test]
    fn sid_block_matches_mysql_common_untagged() {
        use mysql_common::packets::ComBinlogDumpGtid;
        use mysql_common::proto::MySerialize;
        let s = MysqlGtidSet::parse(&format!("{U1}:1-5:7,{U2}:1-3")).unwrap();
        let cmd = ComBinlogDumpGtid::new(1).with_sids(s.to_sids());
        let mut buf = Vec::new();
        cmd.serialize(&mut buf);
        // header(1) flags(2) server_id(4) filename len(4)+0 pos(8) sid_len(4), then the block.
        let block = &buf[1 + 2 + 4 + 4 + 8 + 4..];
        assert_eq!(block, s.encode_sid_block().as_slice());
        let expected_len = 8 + (16 + 8 + 2 * 16) + (16 + 8 + 16);
        assert_eq!(block.len(), expected_len);
    }

    #[test]
    fn sid_block_tagged_layout() {
        let s = MysqlGtidSet::parse(&format!("{U1}:1-2:ab:5")).unwrap();
        let b = s.encode_sid_block();
        let mut want = Vec::new();
        want.extend_from_slice(&((1u64 << 56) | (2 << 8) | 1).to_le_bytes());
        want.extend_from_slice(&u(U1));
        want.push(0);
        want.extend_from_slice(&1u64.to_le_bytes());
        want.extend_from_slice(&1u64.to_le_bytes());
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(&u(U1));
        want.push(4);
        want.extend_from_slice(b"ab");
        want.extend_from_slice(&1u64.to_le_bytes());
        want.extend_from_slice(&5u64.to_le_bytes());
        want.extend_from_slice(&6u64.to_le_bytes());
        assert_eq!(b, want);
        assert_eq!(MysqlGtidSet::decode_sid_block(&b).unwrap(), (s, want.len()));
    }

    #[test]
    fn sid_block_decode_rejects_truncation() {
        let s = MysqlGtidSet::parse(&format!("{U1}:1-5:7")).unwrap();
        let b = s.encode_sid_block();
        for cut in 0..b.len() {
            assert!(MysqlGtidSet::decode_sid_block(&b[..cut]).is_err(), "cut {cut}");
        }
        let mut huge = b.clone();
        huge[..8].copy_from_slice(&u64::MAX.wrapping_shr(8).to_le_bytes());
        assert!(MysqlGtidSet::decode_sid_block(&huge).is_err());
    }

    #[test]
    fn position_either_family() {
        let mut p = GtidPosition::parse("0-1-5").unwrap();
        assert!(matches!(p, GtidPosition::Mariadb(_)));
        p.advance(&Gtid::Mariadb { domain: 0, server_id: 1, seq: 6 }).unwrap();
        assert_eq!(p.to_string(), "0-1-6");
        let mut m = GtidPosition::parse(&format!("{U1}:1-5")).unwrap();
        m.advance(&Gtid::Mysql { uuid: u(U1), tag: None, gno: 6 }).unwrap();
        assert_eq!(m.to_string(), format!("{U1}:1-6"));
        assert!(m.contains(&Gtid::Mysql { uuid: u(U1), tag: None, gno: 6 }));
        assert!(m.advance(&Gtid::Mariadb { domain: 0, server_id: 1, seq: 6 }).is_err());
        assert!(GtidPosition::parse("").is_err());
    }

    // ---- property tests ----

    fn arb_tag() -> impl Strategy<Value = Option<String>> {
        prop_oneof![3 => Just(None), 1 => "[a-z_][a-z0-9_]{0,5}".prop_map(Some)]
    }

    fn arb_set() -> impl Strategy<Value = (MysqlGtidSet, Vec<(usize, Option<String>, u64)>)> {
        // A small GNO range so that intervals collide and merge often.
        let uuids = [u(U1), u(U2)];
        proptest::collection::vec((0usize..2, arb_tag(), 1u64..60), 0..40).prop_map(move |adds| {
            let mut s = MysqlGtidSet::new();
            for (i, tag, gno) in &adds {
                s.add(uuids[*i], tag.as_deref(), *gno);
            }
            (s, adds)
        })
    }

    fn members(s: &MysqlGtidSet) -> std::collections::BTreeSet<(Tsid, u64)> {
        s.iter().flat_map(|(t, l)| l.iter().flat_map(move |&(a, b)| (a..b).map(move |g| (t.clone(), g)))).collect()
    }

    fn invariants_hold(s: &MysqlGtidSet) -> bool {
        s.sets.values().all(|l| !l.is_empty() && l.iter().all(|&(a, b)| a >= 1 && a < b) && l.windows(2).all(|w| w[0].1 < w[1].0))
    }

    proptest! {
        #[test]
        fn mariadb_roundtrip(entries in proptest::collection::btree_map(any::<u32>(), (any::<u32>(), any::<u64>()), 0..8)) {
            let p: MariadbGtidPos = entries.iter().map(|(&d, &(s, q))| (d, s, q)).collect();
            prop_assert_eq!(MariadbGtidPos::parse(&p.to_string()).unwrap(), p.clone());
            prop_assert_eq!(GtidPosition::parse(&p.to_string()).map(|x| x.to_string()).unwrap_or_default(), if p.is_empty() { String::new() } else { p.to_string() });
        }

        #[test]
        fn mariadb_advance_then_contains(start in proptest::collection::btree_map(0u32..4, (any::<u32>(), 0u64..1000), 0..4), d in 0u32..4, s in any::<u32>(), q in 0u64..1000) {
            let mut p: MariadbGtidPos = start.iter().map(|(&d, &(s, q))| (d, s, q)).collect();
            let g = Gtid::Mariadb { domain: d, server_id: s, seq: q };
            p.advance(&g).unwrap();
            prop_assert!(p.contains(&g));
            let next = Gtid::Mariadb { domain: d, server_id: s, seq: q + 1 };
            prop_assert!(!p.contains(&next));
            prop_assert_eq!(p.get(d), Some((s, q)));
        }

        #[test]
        fn mariadb_beyond_is_empty_exactly_when_covered(a in proptest::collection::btree_map(0u32..4, (0u32..3, 0u64..20), 0..4), b in proptest::collection::btree_map(0u32..4, (0u32..3, 0u64..20), 0..4)) {
            let (pa, pb): (MariadbGtidPos, MariadbGtidPos) = (a.into(), b.into());
            prop_assert_eq!(pa.beyond(&pb).is_empty(), pb.covers(&pa));
            prop_assert!(pb.covers(&pa.beyond(&pb)) == pa.beyond(&pb).is_empty());
        }

        #[test]
        fn mysql_roundtrip_text_and_wire((s, _) in arb_set()) {
            prop_assert!(invariants_hold(&s));
            prop_assert_eq!(MysqlGtidSet::parse(&s.to_string()).unwrap(), s.clone());
            let b = s.encode_sid_block();
            prop_assert_eq!(MysqlGtidSet::decode_sid_block(&b).unwrap(), (s.clone(), b.len()));
        }

        #[test]
        fn mysql_add_then_contains_exactly_the_added((s, adds) in arb_set()) {
            let uuids = [u(U1), u(U2)];
            let want: std::collections::BTreeSet<(Tsid, u64)> = adds.iter().map(|(i, t, g)| (Tsid { uuid: uuids[*i], tag: t.clone() }, *g)).collect();
            prop_assert_eq!(members(&s), want.clone());
            prop_assert_eq!(s.count(), want.len() as u64);
            for (t, g) in &want {
                prop_assert!(s.contains(t.uuid, t.tag.as_deref(), *g));
            }
            for i in 0..2 {
                for g in 1..62 {
                    let t = Tsid { uuid: uuids[i], tag: None };
                    prop_assert_eq!(s.contains(t.uuid, None, g), want.contains(&(t, g)));
                }
            }
        }

        #[test]
        fn mysql_union_subtract_laws((a, _) in arb_set(), (b, _) in arb_set(), (c, _) in arb_set()) {
            let (ma, mb) = (members(&a), members(&b));
            let u = a.union(&b);
            let d = a.subtract(&b);
            prop_assert!(invariants_hold(&u) && invariants_hold(&d));
            prop_assert_eq!(members(&u), ma.union(&mb).cloned().collect());
            prop_assert_eq!(members(&d), ma.difference(&mb).cloned().collect());
            prop_assert_eq!(u.clone(), b.union(&a));
            prop_assert_eq!(a.union(&b).union(&c), a.union(&b.union(&c)));
            prop_assert_eq!(a.union(&a), a.clone());
            prop_assert!(a.subtract(&a).is_empty());
            prop_assert_eq!(d.union(&b), u.clone());
            prop_assert!(d.subtract(&b) == d.clone());
            prop_assert!(a.is_subset(&u) && b.is_subset(&u));
            prop_assert_eq!(a.subtract(&b.union(&c)), a.subtract(&b).subtract(&c));
        }
    }
}
