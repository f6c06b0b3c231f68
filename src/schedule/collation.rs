//! Collation knowledge for key comparison: which values a unique index treats as equal.
//!
//! Owns the collation id/name -> [`CollationRule`] mapping and [`normalise`], which turns a
//! string value into bytes that are equal exactly when (or, for the rare cases we cannot model,
//! at least whenever) the collation says the values are equal. Over-folding is safe (two
//! transactions are merely ordered), under-folding is not (they could overlap), so anything
//! unknown is folded as much as we can.
//!
//! Modelled: `_ci` collations fold case (Unicode simple lowercase) and accents of Latin letters
//! (MySQL `_ci`/`_ai_ci` treat `'é' = 'e'`; folding `_as_ci` accents too only adds ordering);
//! `ß` folds to `s` under `*_general_ci` and `ss` elsewhere; PAD SPACE collations ignore trailing
//! spaces; `_bin`, `_cs` and `binary` compare bytes (MySQL `utf8mb4_0900_*` and MariaDB `*nopad*`
//! are NO PAD). Not modelled (known gap): contractions and ignorable code points of UCA
//! collations beyond Latin, and language-specific tailorings.

/// How a collation compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compare {
    /// Bytes as they are (`binary`, `*_bin`, `*_cs`).
    Bytes,
    /// Case- and accent-insensitive, `ß` = `s` (`*_general_ci`).
    GeneralCi,
    /// Case- and accent-insensitive, `ß` = `ss` (`*_unicode_ci`, `*_0900_ai_ci`, `uca1400`, latin1).
    UnicodeCi,
}

/// Character set of the stored bytes (how to turn them into characters for folding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// utf8mb4, utf8mb3, ascii (and unknown: decoded lossily, which only merges more values).
    Utf8,
    /// latin1 (cp1252 in MySQL; decoded as ISO-8859-1, which agrees on every letter we fold).
    Latin1,
    Binary,
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
    pub const UNKNOWN: CollationRule = CollationRule { compare: Compare::UnicodeCi, pad_space: true, charset: Charset::Utf8 };
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
    } else {
        // Other charsets (sjis, gbk, ...): decoding them as UTF-8 is lossy, which only merges.
        Charset::Utf8
    };
    let pad_space = !(n.contains("_0900_") || n.contains("nopad"));
    let compare = if n.ends_with("_bin") || n.ends_with("_cs") {
        Compare::Bytes
    } else if n.contains("_general_") && n.ends_with("_ci") && !n.contains("_mysql500_") {
        Compare::GeneralCi
    } else {
        // `_ci`, `_ai_ci`, `_as_ci` and anything unrecognised: fold.
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
    (45, "utf8mb4_general_ci"),
    (46, "utf8mb4_bin"),
    (47, "latin1_bin"),
    (48, "latin1_general_ci"),
    (49, "latin1_general_cs"),
    (63, "binary"),
    (65, "ascii_bin"),
    (76, "utf8mb3_tolower_ci"),
    (83, "utf8mb3_bin"),
    (94, "latin1_spanish_ci"),
    (192, "utf8mb3_unicode_ci"),
    (214, "utf8mb3_unicode_520_ci"),
    (223, "utf8mb3_general_mysql500_ci"),
    (224, "utf8mb4_unicode_ci"),
    (246, "utf8mb4_unicode_520_ci"),
    (255, "utf8mb4_0900_ai_ci"),
    (278, "utf8mb4_0900_as_cs"),
    (305, "utf8mb4_0900_as_ci"),
    (309, "utf8mb4_0900_bin"),
    (1025, "latin1_swedish_nopad_ci"),
    (1071, "latin1_nopad_bin"),
    (1057, "utf8mb3_general_nopad_ci"),
    (1069, "utf8mb4_general_nopad_ci"),
    (1070, "utf8mb4_nopad_bin"),
    (1107, "utf8mb3_nopad_bin"),
    (1124, "utf8mb3_unicode_nopad_ci"),
    (1156, "utf8mb4_unicode_nopad_ci"),
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
        None => CollationRule::UNKNOWN,
    }
}

/// Append to `out` the comparison form of `bytes` under `rule`, keeping at most `prefix_chars`
/// characters (prefix indexes; for binary, bytes).
pub fn normalise(rule: CollationRule, bytes: &[u8], prefix_chars: Option<u32>, out: &mut Vec<u8>) {
    let start = out.len();
    match (rule.compare, rule.charset) {
        (Compare::Bytes, _) | (_, Charset::Binary) => {
            // Prefix lengths count bytes for binary and latin1, characters for UTF-8 text.
            let take = match (rule.charset, prefix_chars) {
                (_, None) => bytes.len(),
                (Charset::Utf8, Some(_)) => utf8_prefix_len(bytes, prefix_chars),
                (_, Some(n)) => bytes.len().min(n as usize),
            };
            out.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
        }
        (compare, charset) => {
            let mut budget = prefix_chars.map_or(usize::MAX, |n| n as usize);
            let mut push = |c: char, out: &mut Vec<u8>| {
                if budget == 0 {
                    return;
                }
                budget -= 1;
                fold_char(compare, c, out);
            };
            match charset {
                Charset::Latin1 => {
                    for &b in bytes {
                        push(b as char, out);
                    }
                }
                _ => {
                    if bytes.is_ascii() {
                        // One character per byte: copy the prefix, then fold it in place.
                        let take = bytes.len().min(budget);
                        let at = out.len();
                        out.extend_from_slice(&bytes[..take]);
                        out[at..].make_ascii_lowercase();
                    } else {
                        for c in String::from_utf8_lossy(bytes).chars() {
                            push(c, out);
                        }
                    }
                }
            }
        }
    }
    if rule.pad_space {
        while out.len() > start && out.last() == Some(&b' ') {
            out.pop();
        }
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

fn fold_char(compare: Compare, c: char, out: &mut Vec<u8>) {
    if c.is_ascii() {
        out.push((c as u8).to_ascii_lowercase());
        return;
    }
    let mut buf = [0u8; 4];
    for lc in c.to_lowercase() {
        match strip_accent(lc) {
            Some(base) => out.extend_from_slice(base.as_bytes()),
            None if lc == 'ß' => out.extend_from_slice(if compare == Compare::GeneralCi { b"s" } else { b"ss" }),
            None => out.extend_from_slice(lc.encode_utf8(&mut buf).as_bytes()),
        }
    }
}

/// The base letter(s) of an accented lowercase Latin letter (Latin-1 Supplement, Latin
/// Extended-A), or None.
fn strip_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ţ' | 'ť' | 'ŧ' => "t",
        'þ' => "th",
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
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
