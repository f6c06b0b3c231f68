//! Writeset key folding against the server as the oracle (rule 2: unique keys compare under the
//! column's collation). For thousands of string pairs per collation, `normalise(a) ==
//! normalise(b)` must hold whenever the server says `a = b`: folding that tells two equal
//! values apart would let two transactions on the same unique key run side by side. Folding
//! equal what the server tells apart is allowed (a false conflict only orders them) and counted.
//!
//! Pairs are drawn from groups of characters that collations tend to equate (case, accents,
//! `ß`/`ss`, ligatures and expansions, compatibility forms such as the Kelvin sign and
//! fullwidth letters, supplementary characters, ignorable and combining code points, trailing
//! spaces and tabs), so most pairs are "probably equal" variants of each other, plus random
//! ones. The bytes of each value are those of the collation's character set (latin1/cp1252,
//! UCS-2, UTF-16, UTF-32, UTF-8), as a row image carries them.
mod common;

use mysql_async::prelude::Queryable;
use parapply::schedule::collation::{normalise, rule_for_id, rule_for_name};
use rand::{Rng, SeedableRng};

/// Groups of spellings a collation may consider equal; a pair picks members of the same groups.
const GROUPS: &[&[&str]] = &[
    &["a", "A", "à", "á", "â", "ä", "å", "Å", "\u{212B}", "ạ", "ａ", "Ａ", "ā", "Ā", "a\u{0301}"],
    &["e", "E", "é", "É", "è", "ê", "ë", "ệ", "e\u{0301}", "ｅ"],
    &["s", "S", "ś", "š", "Š", "ſ"],
    &["ß", "ẞ", "ss", "SS", "Ss", "sS"],
    &["æ", "Æ", "ae", "AE", "Ae"],
    &["i", "I", "ı", "İ", "í", "ï"],
    &["o", "O", "ö", "Ö", "ø", "Ø", "ồ", "ő", "oe", "œ", "Œ"],
    &["u", "U", "ü", "Ü", "ú", "ű"],
    &["y", "Y", "ÿ", "Ÿ", "ý"],
    &["z", "Z", "ž", "Ž"],
    &["k", "K", "\u{212A}"],
    &["fi", "ﬁ", "FI"],
    &["ǆ", "ǅ", "Ǆ", "dž", "DŽ"],
    &["ĳ", "Ĳ", "ij"],
    &["σ", "ς", "Σ"],
    &["д", "Д"],
    &["ё", "Ё", "е", "Е"],
    &["中", "丮"],
    &["😀", "😃", "🙂", "𝐀", "\u{1F600}\u{FE0F}", "\u{10FFFF}"],
    &["", "\u{200D}", "\u{200B}", "\u{00AD}", "\u{0001}", "\u{0000}", "\u{FEFF}", "\u{FE0F}", "\u{0301}"],
    &[" ", "\t", "\u{00A0}", "\u{3000}"],
    &["-", "_", "‐", "–"],
    &["0", "1", "٠", "１"],
    &["€", "Œ", "ƒ"],
];

struct Collation {
    name: &'static str,
    charset: &'static str,
}

const COLLATIONS: &[Collation] = &[
    Collation { name: "utf8mb4_general_ci", charset: "utf8mb4" },
    Collation { name: "utf8mb4_unicode_ci", charset: "utf8mb4" },
    Collation { name: "utf8mb4_unicode_520_ci", charset: "utf8mb4" },
    Collation { name: "utf8mb4_uca1400_ai_ci", charset: "utf8mb4" },
    Collation { name: "utf8mb4_uca1400_as_cs", charset: "utf8mb4" },
    Collation { name: "utf8mb4_0900_ai_ci", charset: "utf8mb4" },
    Collation { name: "utf8mb4_bin", charset: "utf8mb4" },
    Collation { name: "utf8mb4_nopad_bin", charset: "utf8mb4" },
    Collation { name: "utf8mb4_general_nopad_ci", charset: "utf8mb4" },
    Collation { name: "utf8mb4_unicode_nopad_ci", charset: "utf8mb4" },
    Collation { name: "utf8mb3_general_ci", charset: "utf8mb3" },
    Collation { name: "utf8mb3_unicode_ci", charset: "utf8mb3" },
    Collation { name: "latin1_swedish_ci", charset: "latin1" },
    Collation { name: "latin1_general_ci", charset: "latin1" },
    Collation { name: "latin1_german2_ci", charset: "latin1" },
    Collation { name: "latin1_general_cs", charset: "latin1" },
    Collation { name: "latin1_bin", charset: "latin1" },
    Collation { name: "latin1_swedish_nopad_ci", charset: "latin1" },
    Collation { name: "ucs2_general_ci", charset: "ucs2" },
    Collation { name: "ucs2_unicode_ci", charset: "ucs2" },
    Collation { name: "ucs2_bin", charset: "ucs2" },
    Collation { name: "utf16_general_ci", charset: "utf16" },
    Collation { name: "utf16_bin", charset: "utf16" },
    Collation { name: "utf16le_general_ci", charset: "utf16le" },
    Collation { name: "utf32_general_ci", charset: "utf32" },
    Collation { name: "utf32_unicode_ci", charset: "utf32" },
    Collation { name: "ascii_general_ci", charset: "ascii" },
    Collation { name: "binary", charset: "binary" },
];

/// cp1252 bytes 0x80..0x9F that MariaDB's latin1 gives a character.
const CP1252_HIGH: &[(char, u8)] = &[('€', 0x80), ('ƒ', 0x83), ('Š', 0x8A), ('Œ', 0x8C), ('Ž', 0x8E), ('š', 0x9A), ('œ', 0x9C), ('ž', 0x9E), ('Ÿ', 0x9F), ('–', 0x96)];

/// The bytes of `s` in `charset`, or None when it cannot hold it.
fn encode(s: &str, charset: &str) -> Option<Vec<u8>> {
    match charset {
        "utf8mb4" | "binary" => Some(s.as_bytes().to_vec()),
        "utf8mb3" => s.chars().all(|c| (c as u32) < 0x10000).then(|| s.as_bytes().to_vec()),
        "ascii" => s.is_ascii().then(|| s.as_bytes().to_vec()),
        "latin1" => s
            .chars()
            .map(|c| match c as u32 {
                0..=0x7F | 0xA0..=0xFF => Some(c as u32 as u8),
                _ => CP1252_HIGH.iter().find(|(h, _)| *h == c).map(|(_, b)| *b),
            })
            .collect(),
        "ucs2" => s.chars().all(|c| (c as u32) < 0x10000).then(|| s.encode_utf16().flat_map(u16::to_be_bytes).collect()),
        "utf16" => Some(s.encode_utf16().flat_map(u16::to_be_bytes).collect()),
        "utf16le" => Some(s.encode_utf16().flat_map(u16::to_le_bytes).collect()),
        "utf32" => Some(s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect()),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A pair of strings: the same groups, members drawn independently (so often equal under a
/// collation), with trailing padding, or a random second string.
fn pair(rng: &mut rand::rngs::StdRng) -> (String, String) {
    let n = rng.gen_range(0..6);
    let groups: Vec<usize> = (0..n).map(|_| rng.gen_range(0..GROUPS.len())).collect();
    let pick = |rng: &mut rand::rngs::StdRng, g: usize| GROUPS[g][rng.gen_range(0..GROUPS[g].len())];
    let a: String = groups.iter().map(|&g| pick(rng, g)).collect();
    let mut b: String = if rng.gen_bool(0.1) {
        let m = rng.gen_range(0..6);
        let mut s = String::new();
        for _ in 0..m {
            let g = rng.gen_range(0..GROUPS.len());
            s.push_str(pick(rng, g));
        }
        s
    } else {
        let mut s = String::new();
        for &g in &groups {
            s.push_str(if rng.gen_bool(0.6) { pick(rng, g) } else { GROUPS[g][0] });
        }
        s
    };
    if rng.gen_bool(0.15) {
        b.insert_str(b.len(), pick(rng, 19)); // an ignorable-ish code point at the end
    }
    let mut a = a;
    for s in [&mut a, &mut b] {
        if rng.gen_bool(0.2) {
            s.push_str(&" ".repeat(rng.gen_range(1..4)));
        }
    }
    if rng.gen_bool(0.05) {
        b = a.to_uppercase();
    }
    (a, b)
}

fn fold(rule: parapply::schedule::collation::CollationRule, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    normalise(rule, bytes, None, &mut out);
    out
}

#[test]
fn folding_never_separates_values_the_server_calls_equal() {
    let sb = common::Sandbox::start(&["C"], "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = mysql_async::Pool::new(sb.url("C").as_str());
    let mut missed: Vec<String> = Vec::new();
    let mut report = Vec::new();
    rt.block_on(async {
        let mut conn = pool.get_conn().await.unwrap();
        // MariaDB 10.10+ names UCA-14 collations per character set only here (COLLATIONS has
        // `uca1400_ai_ci` with a NULL id).
        let ids: Vec<(String, u16)> = conn
            .query("SELECT FULL_COLLATION_NAME, ID FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY")
            .await
            .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(14_08);
        for coll in COLLATIONS {
            let Some(&(_, id)) = ids.iter().find(|(n, _)| n == coll.name) else {
                eprintln!("{}: not on this server, skipped", coll.name);
                continue;
            };
            let by_name = rule_for_name(coll.name);
            let by_id = rule_for_id(id);
            let mut pairs: Vec<(String, String, Vec<u8>, Vec<u8>)> = Vec::new();
            while pairs.len() < 3000 {
                let (a, b) = pair(&mut rng);
                if let (Some(ea), Some(eb)) = (encode(&a, coll.charset), encode(&b, coll.charset)) {
                    pairs.push((a, b, ea, eb));
                }
            }
            let (mut equal, mut false_conflicts) = (0usize, 0usize);
            let missed_before = missed.len();
            for chunk in pairs.chunks(300) {
                let exprs: Vec<String> = chunk
                    .iter()
                    .map(|(_, _, ea, eb)| {
                        format!("_{cs} x'{}' COLLATE `{c}` = _{cs} x'{}' COLLATE `{c}`", hex(ea), hex(eb), cs = coll.charset, c = coll.name)
                    })
                    .collect();
                let row: mysql_async::Row = conn.query_first(format!("SELECT {}", exprs.join(", "))).await.unwrap().unwrap();
                for (i, (a, b, ea, eb)) in chunk.iter().enumerate() {
                    let server_equal = row.get::<i64, _>(i).unwrap() == 1;
                    equal += usize::from(server_equal);
                    for (how, rule) in [("name", by_name), ("id", by_id)] {
                        let folds_equal = fold(rule, ea) == fold(rule, eb);
                        if server_equal && !folds_equal {
                            missed.push(format!("{} (by {how}): server says {a:?} = {b:?} (x'{}' = x'{}'), folds differ", coll.name, hex(ea), hex(eb)));
                        }
                        if !server_equal && folds_equal && how == "name" {
                            false_conflicts += 1;
                        }
                    }
                }
            }
            report.push(format!(
                "{:<26} id {:>4}: {} pairs, {} equal on the server, {} folded equal but different (false conflicts), {} missed",
                coll.name,
                id,
                pairs.len(),
                equal,
                false_conflicts,
                missed.len() - missed_before
            ));
        }
    });
    for line in &report {
        eprintln!("{line}");
    }
    assert!(report.len() >= 20, "most collations are on the server: {report:#?}");
    assert!(missed.is_empty(), "{} missed conflicts, first ones:\n{}", missed.len(), missed.iter().take(60).cloned().collect::<Vec<_>>().join("\n"));
}
