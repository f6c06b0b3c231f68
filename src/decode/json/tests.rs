//! Tests of the JSON module: the JSONB reader against MySQL's printed text, the text tree and
//! paths, and diffs applied to before images and written as SQL (with property tests).

use super::binary::*;
use super::diff::*;
use super::text::*;
use crate::decode::scalar::ValueError;
use proptest::prelude::*;

#[test]
fn diff_functions_follow_the_insert_target_and_nest_in_order() {
    let d = |op, path: &str, value: Option<&str>| JsonDiff { op, path: path.into(), value: value.map(String::from) };
    assert_eq!(d(JsonDiffOp::Replace, "$.a[0]", Some("1")).sql_function(), "JSON_REPLACE");
    assert_eq!(d(JsonDiffOp::Remove, "$.a[0]", None).sql_function(), "JSON_REMOVE");
    assert_eq!(d(JsonDiffOp::Insert, "$.a", Some("1")).sql_function(), "JSON_SET");
    assert_eq!(d(JsonDiffOp::Insert, "$.a[2]", Some("1")).sql_function(), "JSON_ARRAY_INSERT");
    assert_eq!(d(JsonDiffOp::Insert, "$.a[last]", Some("1")).sql_function(), "JSON_ARRAY_INSERT");
    assert_eq!(d(JsonDiffOp::Insert, "$[1].\"k[0]\"", Some("1")).sql_function(), "JSON_SET");
    let diffs = [d(JsonDiffOp::Replace, "$.a", Some("1")), d(JsonDiffOp::Remove, "$.b", None), d(JsonDiffOp::Insert, "$.c[0]", Some("[]"))];
    let mut out = String::new();
    write_diff_expression(&diffs, "@2", &mut out, |p, o| o.push_str(&format!("<{p}>")), |v, o| o.push_str(&format!("{{{v}}}")));
    assert_eq!(out, "JSON_ARRAY_INSERT(JSON_REMOVE(JSON_REPLACE(@2, <$.a>, {1}), <$.b>), <$.c[0]>, {[]})");
    // Same as applying the diffs to a document, for the INSERT-on-an-existing-member case
    // that made JSON_SET the right function: the member is replaced.
    let mut doc = parse_text(r#"{"a": 1}"#).unwrap();
    apply_one(&mut doc, OP_INSERT, &parse_path(b"$.a").unwrap(), Some(Node::Scalar("2".into())), "$.a").unwrap();
    let mut text = String::new();
    write_node(&doc, &mut text);
    assert_eq!(text, r#"{"a": 2}"#);
}

/// A JSON tree for the test-only JSONB encoder.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
    /// Raw opaque value: field type and payload.
    Opaque(u8, Vec<u8>),
}

fn varlen(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Type byte and body of a value, MySQL's choice of integer widths.
fn encode_body(j: &J, large: bool) -> (u8, Vec<u8>) {
    match j {
        J::Null => (T_LITERAL, vec![0]),
        J::Bool(b) => (T_LITERAL, vec![if *b { 1 } else { 2 }]),
        J::Int(i) if i16::try_from(*i).is_ok() => (T_INT16, (*i as i16).to_le_bytes().to_vec()),
        J::Int(i) if i32::try_from(*i).is_ok() => (T_INT32, (*i as i32).to_le_bytes().to_vec()),
        J::Int(i) => (T_INT64, i.to_le_bytes().to_vec()),
        J::UInt(u) => (T_UINT64, u.to_le_bytes().to_vec()),
        J::Double(d) => (T_DOUBLE, d.to_le_bytes().to_vec()),
        J::Str(s) => {
            let mut b = Vec::new();
            varlen(s.len(), &mut b);
            b.extend_from_slice(s.as_bytes());
            (T_STRING, b)
        }
        J::Opaque(t, p) => {
            let mut b = vec![*t];
            varlen(p.len(), &mut b);
            b.extend_from_slice(p);
            (T_OPAQUE, b)
        }
        J::Arr(items) => {
            let refs: Vec<(Option<&str>, &J)> = items.iter().map(|v| (None, v)).collect();
            (if large { T_LARGE_ARRAY } else { T_SMALL_ARRAY }, encode_container(&refs, large))
        }
        J::Obj(members) => {
            let refs: Vec<(Option<&str>, &J)> = members.iter().map(|(k, v)| (Some(k.as_str()), v)).collect();
            (if large { T_LARGE_OBJECT } else { T_SMALL_OBJECT }, encode_container(&refs, large))
        }
    }
}

fn put(out: &mut Vec<u8>, at: usize, v: usize, os: usize) {
    out[at..at + os].copy_from_slice(&(v as u32).to_le_bytes()[..os]);
}

fn encode_container(items: &[(Option<&str>, &J)], large: bool) -> Vec<u8> {
    let os = if large { 4 } else { 2 };
    let object = items.first().is_some_and(|(k, _)| k.is_some());
    let n = items.len();
    let header = 2 * os + if object { n * (os + 2) } else { 0 } + n * (1 + os);
    let mut out = vec![0u8; header];
    put(&mut out, 0, n, os);
    if object {
        for (i, (k, _)) in items.iter().enumerate() {
            let k = k.unwrap_or_default();
            let e = 2 * os + i * (os + 2);
            let at = out.len();
            put(&mut out, e, at, os);
            put(&mut out, e + os, k.len(), 2);
            out.extend_from_slice(k.as_bytes());
        }
    }
    let ve0 = 2 * os + if object { n * (os + 2) } else { 0 };
    for (i, (_, v)) in items.iter().enumerate() {
        let nested_large = large; // children use the same format in this encoder
        let (t, body) = encode_body(v, nested_large);
        let e = ve0 + i * (1 + os);
        out[e] = t;
        let inline = matches!(t, T_LITERAL | T_INT16 | T_UINT16) || (large && matches!(t, T_INT32 | T_UINT32));
        if inline {
            out[e + 1..e + 1 + body.len()].copy_from_slice(&body);
        } else {
            let at = out.len();
            put(&mut out, e + 1, at, os);
            out.extend_from_slice(&body);
        }
    }
    let size = out.len();
    put(&mut out, os, size, os);
    out
}

fn encode(j: &J, large: bool) -> Vec<u8> {
    let (t, body) = encode_body(j, large);
    let mut v = vec![t];
    v.extend_from_slice(&body);
    v
}

/// Independent printer of the expected MySQL text (no doubles or opaques in generated trees).
fn expected(j: &J, out: &mut String) {
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Int(i) => out.push_str(&i.to_string()),
        J::UInt(u) => out.push_str(&u.to_string()),
        J::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expected(v, out);
            }
            out.push(']');
        }
        J::Obj(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expected(&J::Str(k.clone()), out);
                out.push_str(": ");
                expected(v, out);
            }
            out.push('}');
        }
        J::Double(_) | J::Opaque(..) => unreachable!("not generated"),
    }
}

fn text(j: &J) -> String {
    let mut s = String::new();
    expected(j, &mut s);
    s
}

fn obj(members: &[(&str, J)]) -> J {
    J::Obj(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

#[test]
fn scalars_and_nested_documents() {
    for large in [false, true] {
        let doc = obj(&[
            ("a", J::Int(1)),
            ("b", J::Arr(vec![J::Int(1), J::Int(2)])),
            ("id", J::Int(-70000)),
            ("big", J::Int(i64::MIN)),
            ("nul", J::Null),
            ("ubig", J::UInt(u64::MAX)),
            ("yes", J::Bool(true)),
            ("no", J::Bool(false)),
            ("s", J::Str("quote\" back\\ nl\n tab\t bell\u{7} 😀 é".into())),
            ("nested", obj(&[("x", J::Arr(vec![obj(&[]), J::Arr(vec![])]))])),
        ]);
        let got = decode_jsonb(&encode(&doc, large)).unwrap();
        assert_eq!(
            got,
            r#"{"a": 1, "b": [1, 2], "id": -70000, "big": -9223372036854775808, "nul": null, "ubig": 18446744073709551615, "yes": true, "no": false, "s": "quote\" back\\ nl\n tab\t bell\u0007 😀 é", "nested": {"x": [{}, []]}}"#
        );
    }
    assert_eq!(decode_jsonb(&encode(&J::Str(String::new()), false)).unwrap(), r#""""#);
    assert_eq!(decode_jsonb(&encode(&J::Int(5), false)).unwrap(), "5");
    assert_eq!(decode_jsonb(&[T_UINT16, 0xff, 0xff]).unwrap(), "65535");
    assert_eq!(decode_jsonb(&[T_UINT32, 0xff, 0xff, 0xff, 0xff]).unwrap(), "4294967295");
    assert_eq!(decode_jsonb(&[T_LITERAL, 0]).unwrap(), "null");
}

#[test]
fn large_object_with_many_members_and_long_strings() {
    // > 64 KiB forces MySQL's large format; strings > 127 bytes use multi-byte varlen sizes.
    let members: Vec<(String, J)> =
        (0..300).map(|i| (format!("k{i:03}"), J::Str("v".repeat(300 + i)))).collect();
    let doc = J::Obj(members);
    let bytes = encode(&doc, true);
    assert!(bytes.len() > 65_536);
    assert_eq!(decode_jsonb(&bytes).unwrap(), text(&doc));
}

#[test]
fn doubles_print_like_mysql() {
    let cases: &[(f64, &str)] = &[
        (1.5, "1.5"),
        (1.0, "1.0"),
        (0.0, "0.0"),
        (-0.5, "-0.5"),
        (3.25, "3.25"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e100, "1e100"),
        (-1e100, "-1e100"),
        (1e15, "1e15"),
        (1e14, "100000000000000.0"),
        (123456789012345680.0, "1.2345678901234568e17"),
        (1234567890123456.7, "1234567890123456.8"),
        (1e-15, "0.000000000000001"),
        (1e-16, "1e-16"),
        (1.5e-7, "0.00000015"),
        (2.5e-300, "2.5e-300"),
        (f64::MAX, "1.7976931348623157e308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
    ];
    for &(d, want) in cases {
        assert_eq!(decode_jsonb(&encode(&J::Double(d), false)).unwrap(), want, "{d:e}");
    }
    assert!(format_mysql_double(f64::NAN).is_err());
}

#[test]
fn opaque_values_print_like_mysql() {
    let dec = |p: u8, s: u8, bin: &[u8]| {
        let mut v = vec![p, s];
        v.extend_from_slice(bin);
        J::Opaque(246, v)
    };
    let arr = J::Arr(vec![
        dec(3, 2, &[0x81, 0x32]),                                   // 1.50
        dec(14, 4, &[0x7e, 0xf2, 0x04, 0xc7, 0x2d, 0xfb, 0x2d]),    // -1234567890.1234
    ]);
    assert_eq!(decode_jsonb(&encode(&arr, false)).unwrap(), "[1.50, -1234567890.1234]");

    let dt_packed = |y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, us: i64| {
        let ymd = ((y * 13 + mo) << 5) | d;
        let hms = (h << 12) | (mi << 6) | s;
        ((((ymd << 17) | hms) << 24) + us).to_le_bytes().to_vec()
    };
    let time_packed = |neg: bool, h: i64, mi: i64, s: i64, us: i64| {
        let v = ((((h << 12) | (mi << 6) | s) << 24) + us) * if neg { -1 } else { 1 };
        v.to_le_bytes().to_vec()
    };
    let arr = J::Arr(vec![
        J::Opaque(12, dt_packed(2015, 1, 15, 23, 24, 25, 0)),
        J::Opaque(7, dt_packed(2015, 1, 15, 23, 24, 25, 123_456)),
        J::Opaque(10, dt_packed(2015, 1, 15, 0, 0, 0, 0)),
        J::Opaque(11, time_packed(true, 838, 59, 58, 900_000)),
        J::Opaque(11, time_packed(false, 1, 2, 3, 0)),
        J::Opaque(253, b"plain".to_vec()),
        J::Opaque(15, b"abc\x00\xff".to_vec()),
        J::Opaque(252, vec![]),
    ]);
    assert_eq!(
        decode_jsonb(&encode(&arr, false)).unwrap(),
        r#"["2015-01-15 23:24:25.000000", "2015-01-15 23:24:25.123456", "2015-01-15", "-838:59:58.900000", "01:02:03.000000", "plain", "base64:type15:YWJjAP8=", "base64:type252:"]"#
    );
    // MySQL's base64 breaks lines after 76 characters; the newline is escaped in JSON.
    let long = J::Opaque(16, vec![0u8; 60]);
    let want = format!("\"base64:type16:{}\\n{}\"", "A".repeat(76), "A".repeat(4));
    assert_eq!(decode_jsonb(&encode(&long, false)).unwrap(), want);
    // Truncated opaque payloads are errors.
    assert!(decode_jsonb(&encode(&J::Opaque(12, vec![1, 2, 3]), false)).is_err());
    assert!(decode_jsonb(&encode(&dec(14, 4, &[0x81]), false)).is_err());
}

#[test]
fn malformed_documents_are_errors_not_panics() {
    assert!(decode_jsonb(&[]).is_err());
    assert!(decode_jsonb(&[0x42]).is_err());
    assert!(decode_jsonb(&[T_SMALL_OBJECT, 1, 0]).is_err());
    assert!(decode_jsonb(&[T_SMALL_ARRAY, 0xff, 0xff, 0x04, 0x00]).is_err());
    assert!(decode_jsonb(&[T_STRING, 0x85]).is_err());
    assert!(decode_jsonb(&[T_STRING, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
    assert!(decode_jsonb(&[T_LITERAL, 9]).is_err());
    // Value offset pointing into the header.
    assert!(decode_jsonb(&[T_SMALL_ARRAY, 1, 0, 7, 0, T_STRING, 0, 0]).is_err());
    // Nesting deeper than MySQL allows.
    let mut deep = J::Arr(vec![]);
    for _ in 0..120 {
        deep = J::Arr(vec![deep]);
    }
    assert!(decode_jsonb(&encode(&deep, false)).unwrap_err().what.contains("deeper"));
}

#[test]
fn shared_offsets_cannot_blow_up_the_output() {
    // Every element of each level points at the same child: output would be 1000^depth.
    let n = 1000usize;
    let mut child = encode_container(&[(None, &J::Str("x".repeat(10)))], false);
    let mut child_type = T_SMALL_ARRAY;
    for _ in 0..4 {
        let os = 2;
        let header = 2 * os + n * (1 + os);
        let mut out = vec![0u8; header];
        put(&mut out, 0, n, os);
        for i in 0..n {
            let e = 2 * os + i * 3;
            out[e] = child_type;
            put(&mut out, e + 1, header, os);
        }
        out.extend_from_slice(&child);
        let size = out.len();
        put(&mut out, os, size, os);
        child = out;
        child_type = T_SMALL_ARRAY;
    }
    let mut doc = vec![T_SMALL_ARRAY];
    doc.extend_from_slice(&child);
    assert!(decode_jsonb(&doc).is_err());
}

fn arb_json() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::Int),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(J::UInt),
        any::<i16>().prop_map(|i| J::Int(i as i64)),
        "\\PC{0,20}".prop_map(J::Str),
        "[\\x00-\\x1f\"\\\\a]{0,8}".prop_map(J::Str),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(J::Arr),
            proptest::collection::btree_map("[a-z]{0,6}", inner, 0..8).prop_map(|m| {
                // MySQL stores keys shorter-first, then bytewise.
                let mut v: Vec<(String, J)> = m.into_iter().collect();
                v.sort_by(|a, b| key_order(&a.0, &b.0));
                J::Obj(v)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn encoded_trees_decode_to_their_text(j in arb_json(), large in any::<bool>()) {
        let bytes = encode(&j, large);
        let want = text(&j);
        prop_assert_eq!(decode_jsonb(&bytes).unwrap(), want.clone());
        // The text model used for diffs prints the same text back.
        let mut again = String::new();
        write_node(&parse_text(&want).unwrap(), &mut again);
        prop_assert_eq!(again, want);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_jsonb(&bytes);
        let _ = apply_json_diff_text("{\"a\": [1, 2]}", &bytes);
    }

    #[test]
    fn corrupted_documents_never_panic(j in arb_json(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut bytes = encode(&j, false);
        for (at, v) in flips {
            let n = bytes.len();
            bytes[at % n] = v;
        }
        let _ = decode_jsonb(&bytes);
    }
}

// ---- diffs ----------------------------------------------------------------------------

fn diff(op: u8, path: &str, value: Option<&J>) -> Vec<u8> {
    let mut d = vec![op];
    assert!(path.len() < 251);
    d.push(path.len() as u8);
    d.extend_from_slice(path.as_bytes());
    if let Some(v) = value {
        let b = encode(v, false);
        if b.len() < 251 {
            d.push(b.len() as u8);
        } else {
            d.push(252);
            d.extend_from_slice(&(b.len() as u16).to_le_bytes());
        }
        d.extend_from_slice(&b);
    }
    d
}

fn diff_list(diffs: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = diffs.concat();
    let mut v = (body.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(&body);
    v
}

fn apply(before: &str, diffs: &[Vec<u8>]) -> Result<String, ValueError> {
    let mut buf = diff_list(diffs);
    let want_used = buf.len();
    buf.extend_from_slice(&[0xaa, 0xbb]); // next column's bytes are not consumed
    let (text, used) = apply_json_diff_text(before, &buf)?;
    assert_eq!(used, want_used);
    Ok(text)
}

#[test]
fn diff_replace_insert_remove() {
    let before = r#"{"a": 1, "b": [1, 2, 3], "name": "x", "price": 1.50}"#;
    assert_eq!(
        apply(before, &[diff(OP_REPLACE, "$.a", Some(&J::Int(2)))]).unwrap(),
        r#"{"a": 2, "b": [1, 2, 3], "name": "x", "price": 1.50}"#
    );
    assert_eq!(
        apply(before, &[diff(OP_REPLACE, "$.b[1]", Some(&J::Str("two".into())))]).unwrap(),
        r#"{"a": 1, "b": [1, "two", 3], "name": "x", "price": 1.50}"#
    );
    // New keys go where MySQL keeps them: shorter first, then bytewise.
    assert_eq!(
        apply(before, &[diff(OP_INSERT, "$.c", Some(&J::Bool(true))), diff(OP_INSERT, "$.zz", Some(&J::Null))]).unwrap(),
        r#"{"a": 1, "b": [1, 2, 3], "c": true, "zz": null, "name": "x", "price": 1.50}"#
    );
    assert_eq!(
        apply(before, &[diff(OP_INSERT, "$.b[1]", Some(&J::Int(9))), diff(OP_INSERT, "$.b[99]", Some(&J::Int(10)))]).unwrap(),
        r#"{"a": 1, "b": [1, 9, 2, 3, 10], "name": "x", "price": 1.50}"#
    );
    assert_eq!(
        apply(before, &[diff(OP_REMOVE, "$.b[last]", None), diff(OP_REMOVE, "$.name", None)]).unwrap(),
        r#"{"a": 1, "b": [1, 2], "price": 1.50}"#
    );
    assert_eq!(
        apply(before, &[diff(OP_REPLACE, "$.b[last-2]", Some(&obj(&[("k", J::Arr(vec![]))])))]).unwrap(),
        r#"{"a": 1, "b": [{"k": []}, 2, 3], "name": "x", "price": 1.50}"#
    );
    assert_eq!(apply(before, &[diff(OP_REPLACE, "$", Some(&J::Int(7)))]).unwrap(), "7");
    // Quoted member names with spaces and escapes.
    assert_eq!(
        apply(r#"{"a b": {"c\"d": 1}}"#, &[diff(OP_REPLACE, r#"$."a b"."c\"d""#, Some(&J::Int(5)))]).unwrap(),
        r#"{"a b": {"c\"d": 5}}"#
    );
    // Empty diff list leaves the document as is.
    assert_eq!(apply(before, &[]).unwrap(), before);
}

#[test]
fn diffs_parse_without_applying() {
    let buf = diff_list(&[
        diff(OP_REPLACE, "$.age", Some(&J::Int(26))),
        diff(OP_INSERT, "$.tags[0]", Some(&obj(&[("x", J::Str("y".into()))]))),
        diff(OP_REMOVE, "$.\"old key\"", None),
    ]);
    let (diffs, used) = parse_json_diffs(&buf).unwrap();
    assert_eq!(used, buf.len());
    assert_eq!(
        diffs,
        vec![
            JsonDiff { op: JsonDiffOp::Replace, path: "$.age".into(), value: Some("26".into()) },
            JsonDiff { op: JsonDiffOp::Insert, path: "$.tags[0]".into(), value: Some(r#"{"x": "y"}"#.into()) },
            JsonDiff { op: JsonDiffOp::Remove, path: r#"$."old key""#.into(), value: None },
        ]
    );
    assert!(parse_json_diffs(&diff_list(&[diff(OP_REPLACE, "$.**", Some(&J::Null))])).is_err());
    assert!(parse_json_diffs(&diff_list(&[diff(9, "$.a", None)])).is_err());
}

#[test]
fn diff_large_value_and_errors() {
    let big = J::Str("y".repeat(400));
    assert_eq!(apply("[1]", &[diff(OP_REPLACE, "$[0]", Some(&big))]).unwrap(), format!("[\"{}\"]", "y".repeat(400)));
    assert!(apply("{\"a\": 1}", &[diff(OP_REPLACE, "$.nope", Some(&J::Int(1)))]).is_err());
    assert!(apply("{\"a\": 1}", &[diff(OP_REMOVE, "$.nope", None)]).is_err());
    assert!(apply("{\"a\": 1}", &[diff(OP_REMOVE, "$", None)]).is_err());
    assert!(apply("{\"a\": 1}", &[diff(OP_INSERT, "$[0]", Some(&J::Int(1)))]).is_err());
    assert!(apply("{\"a\": 1}", &[diff(OP_REPLACE, "$.*", Some(&J::Int(1)))]).is_err());
    assert!(apply("{\"a\": 1}", &[diff(OP_REPLACE, "a", Some(&J::Int(1)))]).is_err());
    assert!(apply("{\"a\": 1}", &[diff(7, "$.a", Some(&J::Int(1)))]).is_err());
    assert!(apply_json_diff_text("{}", &[9, 0, 0, 0, 1]).is_err());
}
