//! Collation knowledge for key comparison: which values a unique index treats as equal.
//!
//! Owns the collation id/name -> [`CollationRule`] mapping and [`normalise`], which turns a
//! string value into bytes that are equal whenever the collation says the values are equal (and
//! usually only then). Over-folding is safe (two transactions are merely ordered), under-folding
//! is not (they could overlap), so what cannot be modelled exactly is folded coarser.
//!
//! Checked against the server itself: `tests/collation_oracle.rs` asks MariaDB `a = b` for
//! thousands of likely-equal pairs per collation and fails on any pair the server calls equal
//! whose folds differ.
//!
//! Modelled: values are decoded from their character set (UTF-8, latin1 as cp1252, UCS-2,
//! UTF-16 BE/LE, UTF-32); `_bin` collations compare code points; every other collation (`_ci`,
//! `_ai_ci`, `_as_ci`, and UCA `_cs`) folds each character through [`super::fold_table`]
//! (compatibility decomposition, marks, controls and format characters dropped, full case
//! folding, UCA's base letters: `ø` = `o`, `æ` = `ae`, `ß` = `ss`), with general_ci's own
//! rules first (`ß` = `s`, every supplementary character = U+FFFD) and german2's (`ä` = `ae`);
//! PAD SPACE collations ignore trailing spaces; MySQL `utf8mb4_0900_*` and MariaDB `*nopad*`
//! are NO PAD. Character sets parapply cannot decode, and unknown collation ids, fold every
//! value to one marker (all changes to such an index conflict). Not modelled (folded coarser or not at all): contractions and
//! language tailorings other than german2 (e.g. Danish `aa` = `å`).

/// How a collation compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compare {
    /// Code points (or bytes) as they are (`binary`, `*_bin`).
    Bytes,
    /// `*_general_ci`: case- and accent-insensitive, `ß` = `s`, every supplementary character
    /// weighs as U+FFFD.
    GeneralCi,
    /// Everything else: `*_unicode_ci`, `*_unicode_520_ci`, `*_uca1400_*`, `*_0900_*`, 8-bit
    /// `_ci` collations, and `_cs` collations other than `_bin` (folded like `_ci`: coarser than
    /// they are, never finer), `ß` = `ss`.
    UnicodeCi,
    /// `*_german2_ci`: `ä` = `ae`, `ö` = `oe`, `ü` = `ue`, then as [`Compare::UnicodeCi`].
    German2Ci,
    /// `*_unicode_ci` (UCA 4.0.0): as [`Compare::UnicodeCi`], but every supplementary character
    /// weighs as U+FFFD (MariaDB's 4.0.0 tables cover the BMP only).
    Uca400Ci,
}

/// Character set of the stored bytes (how to turn them into characters for folding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// utf8mb4, utf8mb3, ascii.
    Utf8,
    /// latin1 (MariaDB's is cp1252).
    Latin1,
    /// ucs2 and utf16: big-endian UTF-16.
    Utf16Be,
    /// utf16le.
    Utf16Le,
    /// utf32: big-endian, four bytes per character.
    Utf32,
    Binary,
    /// Any other character set (sjis, gbk, big5, ...) or an unknown collation id: parapply
    /// cannot decode it, so under a non-`_bin` collation every value folds to one marker and
    /// all of them conflict within the index (coarse, never missing a conflict).
    Other,
}

/// What a column's collation means for key equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollationRule {
    pub compare: Compare,
    /// PAD SPACE: trailing spaces are ignored.
    pub pad_space: bool,
    pub charset: Charset,
}

impl CollationRule {
    /// `binary` (id 63): bytes as they are, NO PAD.
    pub const BINARY: CollationRule = CollationRule { compare: Compare::Bytes, pad_space: false, charset: Charset::Binary };
    /// Used for string columns whose collation is unknown: folds everything we can fold.
    pub const UNKNOWN: CollationRule = CollationRule { compare: Compare::UnicodeCi, pad_space: true, charset: Charset::Other };
}

/// The rule for a collation name as in `information_schema.COLUMNS.COLLATION_NAME`.
pub fn rule_for_name(name: &str) -> CollationRule {
    let n = name.to_ascii_lowercase();
    if n == "binary" {
        return CollationRule::BINARY;
    }
    let charset = if n.starts_with("latin1_") {
        Charset::Latin1
    } else if n.starts_with("utf8") || n.starts_with("ascii_") {
        Charset::Utf8
    } else if n.starts_with("ucs2_") || n.starts_with("utf16_") {
        Charset::Utf16Be
    } else if n.starts_with("utf16le_") {
        Charset::Utf16Le
    } else if n.starts_with("utf32_") {
        Charset::Utf32
    } else {
        Charset::Other
    };
    let pad_space = !(n.contains("_0900_") || n.contains("nopad"));
    let compare = if n.ends_with("_bin") {
        Compare::Bytes
    } else if n.contains("german2") {
        Compare::German2Ci
    } else if n.contains("_general_") && n.ends_with("_ci") && !n.contains("_mysql500_") {
        Compare::GeneralCi
    } else if n.contains("_unicode_ci") || n.contains("_unicode_nopad_ci") {
        Compare::Uca400Ci
    } else {
        // `_ci`, `_ai_ci`, `_as_ci`, `_cs`, `_as_cs` and anything unrecognised: fold. A UCA
        // `_cs` collation still equates canonically equivalent spellings and ignores ignorable
        // code points, so comparing its bytes would miss conflicts.
        Compare::UnicodeCi
    };
    CollationRule { compare, pad_space, charset }
}

/// Collation ids common on MySQL 8 and MariaDB 10.x/11.x, as sent in TABLE_MAP metadata.
/// MySQL and MariaDB agree on ids below 256; MariaDB's NOPAD and UCA-14 collations are above.
const KNOWN_IDS: &[(u16, &str)] = &[
    (5, "latin1_german1_ci"),
    (8, "latin1_swedish_ci"),
    (11, "ascii_general_ci"),
    (15, "latin1_danish_ci"),
    (31, "latin1_german2_ci"),
    (33, "utf8mb3_general_ci"),
    (35, "ucs2_general_ci"),
    (45, "utf8mb4_general_ci"),
    (46, "utf8mb4_bin"),
    (47, "latin1_bin"),
    (48, "latin1_general_ci"),
    (49, "latin1_general_cs"),
    (54, "utf16_general_ci"),
    (55, "utf16_bin"),
    (56, "utf16le_general_ci"),
    (60, "utf32_general_ci"),
    (61, "utf32_bin"),
    (62, "utf16le_bin"),
    (63, "binary"),
    (65, "ascii_bin"),
    (76, "utf8mb3_tolower_ci"),
    (83, "utf8mb3_bin"),
    (90, "ucs2_bin"),
    (94, "latin1_spanish_ci"),
    (101, "utf16_unicode_ci"),
    (128, "ucs2_unicode_ci"),
    (160, "utf32_unicode_ci"),
    (192, "utf8mb3_unicode_ci"),
    (214, "utf8mb3_unicode_520_ci"),
    (223, "utf8mb3_general_mysql500_ci"),
    (224, "utf8mb4_unicode_ci"),
    (246, "utf8mb4_unicode_520_ci"),
    (255, "utf8mb4_0900_ai_ci"),
    (278, "utf8mb4_0900_as_cs"),
    (305, "utf8mb4_0900_as_ci"),
    (309, "utf8mb4_0900_bin"),
    (1032, "latin1_swedish_nopad_ci"),
    (1071, "latin1_nopad_bin"),
    (1057, "utf8mb3_general_nopad_ci"),
    (1069, "utf8mb4_general_nopad_ci"),
    (1070, "utf8mb4_nopad_bin"),
    (1107, "utf8mb3_nopad_bin"),
    (1216, "utf8mb3_unicode_nopad_ci"),
    (1248, "utf8mb4_unicode_nopad_ci"),
    (1270, "utf8mb4_unicode_520_nopad_ci"),
    (2048, "utf8mb3_uca1400_ai_ci"),
    (2304, "utf8mb4_uca1400_ai_ci"),
];

/// The collation name for a known id.
pub fn name_for_id(id: u16) -> Option<&'static str> {
    KNOWN_IDS.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
}

/// The rule for a collation id from TABLE_MAP metadata; unknown ids get [`CollationRule::UNKNOWN`].
pub fn rule_for_id(id: u16) -> CollationRule {
    match name_for_id(id) {
        Some(name) => rule_for_name(name),
        // MariaDB's UCA-14 family: utf8mb3 (2048..) and utf8mb4 (2304..) with AI/AS, CI/CS
        // and NOPAD variants. Folded as ai_ci with PAD SPACE: coarser than any of them.
        None if (2048..2560).contains(&id) => CollationRule { compare: Compare::UnicodeCi, pad_space: true, charset: Charset::Utf8 },
        None => CollationRule::UNKNOWN,
    }
}

/// Append to `out` the comparison form of `bytes` under `rule`, keeping at most `prefix_chars`
/// characters (prefix indexes; for binary, bytes).
pub fn normalise(rule: CollationRule, bytes: &[u8], prefix_chars: Option<u32>, out: &mut Vec<u8>) {
    let start = out.len();
    let mut budget = prefix_chars.map_or(usize::MAX, |n| n as usize);
    match (rule.compare, rule.charset) {
        (_, Charset::Binary) | (Compare::Bytes, Charset::Latin1 | Charset::Utf8 | Charset::Other) => {
            // Prefix lengths count bytes for binary and single-byte sets, characters for UTF-8.
            // For a multi-byte set parapply cannot decode, N bytes are at most N characters: a
            // shorter prefix, which only merges more values.
            let take = match (rule.charset, prefix_chars) {
                (_, None) => bytes.len(),
                (Charset::Utf8, Some(_)) => utf8_prefix_len(bytes, prefix_chars),
                (_, Some(n)) => bytes.len().min(n as usize),
            };
            out.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
        }
        (Compare::Bytes, charset) => {
            // UCS-2/UTF-16/UTF-32 `_bin` compare code points: as UTF-8 they compare alike, and
            // a trailing space is one byte the PAD SPACE trim below can see.
            let mut buf = [0u8; 4];
            for c in chars(charset, bytes).take(budget) {
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        (_, Charset::Other) => {
            // Undecodable and compared by rules parapply does not know (ignorable code points
            // can make even "" equal to a non-empty value): one marker for every value, so all
            // changes to this index conflict (see Charset::Other).
            out.push(0xFF);
            return;
        }
        (compare, Charset::Utf8) if bytes.iter().all(|b| (0x20..0x7F).contains(b)) => {
            // Printable ASCII (the common case): one character per byte, folding is lower case.
            let _ = compare;
            let take = bytes.len().min(budget);
            let at = out.len();
            out.extend_from_slice(&bytes[..take]);
            out[at..].make_ascii_lowercase();
        }
        (compare, charset) => {
            for c in chars(charset, bytes) {
                if budget == 0 {
                    break;
                }
                budget -= 1;
                fold_char(compare, c, out);
            }
        }
    }
    if rule.pad_space {
        while out.len() > start && out.last() == Some(&b' ') {
            out.pop();
        }
    }
}

/// The characters of `bytes` in `charset`; malformed sequences become U+FFFD (which only
/// merges values).
fn chars(charset: Charset, bytes: &[u8]) -> Box<dyn Iterator<Item = char> + '_> {
    match charset {
        Charset::Latin1 => Box::new(bytes.iter().map(|&b| cp1252(b))),
        Charset::Utf16Be | Charset::Utf16Le => {
            let le = charset == Charset::Utf16Le;
            let units = bytes.chunks(2).map(move |p| match p {
                [a, b] if le => u16::from_le_bytes([*a, *b]),
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => 0xFFFD,
            });
            Box::new(char::decode_utf16(units).map(|r| r.unwrap_or('\u{FFFD}')))
        }
        Charset::Utf32 => Box::new(bytes.chunks(4).map(|q| match q {
            [a, b, c, d] => char::from_u32(u32::from_be_bytes([*a, *b, *c, *d])).unwrap_or('\u{FFFD}'),
            _ => '\u{FFFD}',
        })),
        Charset::Utf8 | Charset::Binary | Charset::Other => Box::new(Utf8Lossy { bytes }),
    }
}

/// Characters of possibly malformed UTF-8 without allocating (a malformed byte is U+FFFD).
struct Utf8Lossy<'a> {
    bytes: &'a [u8],
}

impl Iterator for Utf8Lossy<'_> {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        let first = *self.bytes.first()?;
        let len = match first {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        if len > 0 {
            if let Some(Ok(s)) = self.bytes.get(..len).map(std::str::from_utf8) {
                self.bytes = &self.bytes[len..];
                return s.chars().next();
            }
        }
        self.bytes = &self.bytes[1..];
        Some('\u{FFFD}')
    }
}

/// MariaDB's latin1 is cp1252: 0x80..0x9F hold letters and punctuation (five stay undefined).
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›',
        'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

fn utf8_prefix_len(bytes: &[u8], prefix_chars: Option<u32>) -> usize {
    let Some(n) = prefix_chars else { return bytes.len() };
    let mut chars = 0u32;
    for (i, b) in bytes.iter().enumerate() {
        // A byte that is not a continuation byte starts a character.
        if b & 0xC0 != 0x80 {
            if chars == n {
                return i;
            }
            chars += 1;
        }
    }
    bytes.len()
}

/// Append the folded form of one character (see the module doc and [`super::fold_table`]).
fn fold_char(compare: Compare, c: char, out: &mut Vec<u8>) {
    if c.is_ascii() {
        // Controls are ignorable in UCA; dropping them elsewhere only merges values.
        if !c.is_ascii_control() {
            out.push((c as u8).to_ascii_lowercase());
        }
        return;
    }
    let c = match compare {
        // general_ci and UCA 4.0.0 give every supplementary character the weight of U+FFFD.
        Compare::GeneralCi | Compare::Uca400Ci if u32::from(c) > 0xFFFF => '\u{FFFD}',
        Compare::GeneralCi if matches!(c, 'ß' | 'ẞ') => {
            out.push(b's');
            return;
        }
        Compare::German2Ci => {
            let two: &[u8] = match c {
                'ä' | 'Ä' => b"ae",
                'ö' | 'Ö' => b"oe",
                'ü' | 'Ü' => b"ue",
                _ => b"",
            };
            if !two.is_empty() {
                out.extend_from_slice(two);
                return;
            }
            c
        }
        _ => c,
    };
    let cp = u32::from(c);
    if (0xAC00..=0xD7A3).contains(&cp) {
        // A Hangul syllable is its jamo (canonical decomposition, computed).
        let s = cp - 0xAC00;
        let mut buf = [0u8; 4];
        for j in [0x1100 + s / 588, 0x1161 + (s % 588) / 28, 0x11A7 + s % 28] {
            if j != 0x11A7 {
                out.extend_from_slice(char::from_u32(j).unwrap_or('\u{FFFD}').encode_utf8(&mut buf).as_bytes());
            }
        }
        return;
    }
    match super::fold_table::FOLD.binary_search_by_key(&cp, |(k, _)| *k) {
        Ok(i) => out.extend_from_slice(super::fold_table::FOLD[i].1.as_bytes()),
        // Supplementary characters without a fold of their own: UCA 4.0 collations give most of
        // them one weight; folding them all alike only merges values.
        Err(_) if cp > 0xFFFF => out.extend_from_slice("\u{FFFD}".as_bytes()),
        Err(_) => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(rule: CollationRule, s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        normalise(rule, s, None, &mut out);
        out
    }

    #[test]
    fn ci_pad_space_folds_case_and_trailing_spaces() {
        let r = rule_for_id(45); // utf8mb4_general_ci
        assert_eq!(r, CollationRule { compare: Compare::GeneralCi, pad_space: true, charset: Charset::Utf8 });
        assert_eq!(norm(r, b"abc"), norm(r, b"ABC "));
        assert_eq!(norm(r, "Résumé".as_bytes()), b"resume".to_vec());
        assert_eq!(norm(r, "STRAßE".as_bytes()), b"strase".to_vec());
        assert_ne!(norm(r, b"abc"), norm(r, b"abd"));
        // Leading spaces matter under PAD SPACE.
        assert_ne!(norm(r, b"abc"), norm(r, b" abc"));
    }

    #[test]
    fn unicode_ci_expands_sharp_s() {
        let r = rule_for_id(224); // utf8mb4_unicode_ci
        assert_eq!(norm(r, "Straße".as_bytes()), b"strasse".to_vec());
        assert_eq!(norm(r, "ÅNGSTRÖM".as_bytes()), b"angstrom".to_vec());
    }

    #[test]
    fn mysql_0900_is_no_pad() {
        let r = rule_for_id(255); // utf8mb4_0900_ai_ci
        assert!(!r.pad_space);
        assert_eq!(norm(r, b"abc"), norm(r, b"ABC"));
        assert_ne!(norm(r, b"abc"), norm(r, b"abc "));
        let bin = rule_for_id(309); // utf8mb4_0900_bin
        assert_eq!(bin, CollationRule { compare: Compare::Bytes, pad_space: false, charset: Charset::Utf8 });
        assert_ne!(norm(bin, b"abc"), norm(bin, b"abc "));
    }

    #[test]
    fn bin_pad_space_and_binary() {
        let r = rule_for_id(46); // utf8mb4_bin: PAD SPACE, case-sensitive
        assert_eq!(norm(r, b"abc"), norm(r, b"abc  "));
        assert_ne!(norm(r, b"abc"), norm(r, b"ABC"));
        let b = rule_for_id(63);
        assert_eq!(b, CollationRule::BINARY);
        assert_ne!(norm(b, b"abc"), norm(b, b"abc "));
        assert_ne!(norm(b, b"abc"), norm(b, b"ABC"));
    }

    #[test]
    fn latin1_bytes_fold_as_latin1() {
        let r = rule_for_id(8); // latin1_swedish_ci
        assert_eq!(r.charset, Charset::Latin1);
        assert_eq!(norm(r, b"\xC9T\xC9 "), b"ete".to_vec()); // "ÉTÉ " in latin1
    }

    #[test]
    fn mariadb_nopad_and_unknown_ids() {
        let r = rule_for_id(1069); // utf8mb4_general_nopad_ci
        assert_eq!(r, CollationRule { compare: Compare::GeneralCi, pad_space: false, charset: Charset::Utf8 });
        assert_eq!(rule_for_id(9999), CollationRule::UNKNOWN);
        assert_eq!(rule_for_name("UTF8MB4_UCA1400_AI_CI").compare, Compare::UnicodeCi);
    }

    /// Pairs MariaDB 10.11 calls equal that the folding once told apart (found by
    /// `tests/collation_oracle.rs`, which asks the server itself).
    #[test]
    fn oracle_findings_stay_fixed() {
        let eq = |name: &str, a: &[u8], b: &[u8]| {
            let r = rule_for_name(name);
            assert_eq!(norm(r, a), norm(r, b), "{name}: {a:?} vs {b:?}");
        };
        eq("utf8mb4_general_ci", "ς".as_bytes(), "Σ".as_bytes());
        eq("utf8mb4_general_ci", "ü😀".as_bytes(), "U𝐀".as_bytes()); // supplementary = U+FFFD
        eq("utf8mb4_general_ci", "uạs".as_bytes(), "uàŠ".as_bytes());
        eq("utf8mb4_general_ci", "Дё".as_bytes(), "ДЕ".as_bytes());
        eq("utf8mb4_general_ci", "Iſ".as_bytes(), b"is  ");
        eq("utf8mb4_unicode_ci", "٠".as_bytes(), b"0 ");
        eq("utf8mb4_unicode_ci", "😃".as_bytes(), "𝐀".as_bytes());
        eq("utf8mb4_unicode_ci", "ﬁ\u{200D}".as_bytes(), b"FI");
        eq("utf8mb4_unicode_ci", "a\u{0301}\u{00AD}".as_bytes(), b"A\x01");
        eq("ucs2_general_ci", &[0x01, 0x01], &[0x01, 0x00]); // ā = Ā as UCS-2 bytes
        eq("utf16_bin", &[0, 0x61, 0, 0x20], &[0, 0x61]); // PAD SPACE in UTF-16
        eq("utf32_general_ci", &[0, 0, 0, 0xE9], &[0, 0, 0, 0x45]); // é = E
        eq("latin1_german2_ci", b"\xE4", b"AE");
        // Unknown ids: every value alike; MariaDB's UCA-14 ids fold like ai_ci.
        assert_eq!(norm(rule_for_id(9999), b""), norm(rule_for_id(9999), "\u{FEFF}".as_bytes()));
        let uca14_as_cs = rule_for_id(2307);
        assert_eq!(norm(uca14_as_cs, b""), norm(uca14_as_cs, "\u{200B} ".as_bytes()));
    }

    #[test]
    fn prefixes_count_characters() {
        let r = rule_for_id(45);
        let mut out = Vec::new();
        normalise(r, "ÉtÉsuffix".as_bytes(), Some(3), &mut out);
        assert_eq!(out, b"ete".to_vec());
        let bin = rule_for_id(46);
        let mut out = Vec::new();
        normalise(bin, "ééx".as_bytes(), Some(2), &mut out);
        assert_eq!(out, "éé".as_bytes().to_vec());
        let mut out = Vec::new();
        normalise(CollationRule::BINARY, b"abcdef", Some(2), &mut out);
        assert_eq!(out, b"ab".to_vec());
    }
}
