//! TABLE_MAP (19) event bodies: table identity, column types, per-type metadata normalised into
//! [`ColumnDef`] (see the contract table on `ColumnDef`), the nullable bitmap and all optional
//! metadata fields (MySQL 8.0.1+ / MariaDB 10.5+ `binlog_row_metadata`).
//!
//! It must not decode row values ([`crate::decode::value`]) nor cache maps (the
//! [`crate::decode::Decoder`] does).

use crate::decode::event::{ColumnDef, TableMap};
use crate::decode::reader::{bit_lsb, bit_msb, text, Cursor, Fail, Res};

// Column type codes: the one table in `value`, so the two modules cannot disagree (they once
// did, on MariaDB's compressed-column codes 140/141).
use crate::decode::value::column_type as ty;

// Optional metadata field types (MySQL `Table_map_event::Optional_metadata_field_type`).
const SIGNEDNESS: u8 = 1;
const DEFAULT_CHARSET: u8 = 2;
const COLUMN_CHARSET: u8 = 3;
const COLUMN_NAME: u8 = 4;
const SET_STR_VALUE: u8 = 5;
const ENUM_STR_VALUE: u8 = 6;
const GEOMETRY_TYPE: u8 = 7;
const SIMPLE_PRIMARY_KEY: u8 = 8;
const PRIMARY_KEY_WITH_PREFIX: u8 = 9;
const ENUM_AND_SET_DEFAULT_CHARSET: u8 = 10;
const ENUM_AND_SET_COLUMN_CHARSET: u8 = 11;
const COLUMN_VISIBILITY: u8 = 12;

/// Columns counted by SIGNEDNESS (same set as mysql_common's `is_numeric_type`).
fn is_numeric(real_type: u8) -> bool {
    matches!(
        real_type,
        ty::TINY | ty::SHORT | ty::INT24 | ty::LONG | ty::LONGLONG | ty::DECIMAL | ty::NEWDECIMAL | ty::FLOAT | ty::DOUBLE | ty::YEAR
    )
}

/// Columns counted by (DEFAULT_|COLUMN_)CHARSET: CHAR, VARCHAR, TEXT/BLOB (binary ones too) and
/// MySQL 9 VECTOR (vector.binlog: a DEFAULT_CHARSET override at index 1 of columns
/// `BIGINT, VECTOR, TEXT, VECTOR` names the TEXT column only if VECTOR is counted).
fn is_character(real_type: u8) -> bool {
    matches!(
        real_type,
        ty::STRING
            | ty::VAR_STRING
            | ty::VARCHAR
            | ty::BLOB
            | ty::VECTOR
            | ty::MARIA_VARCHAR_COMPRESSED
            | ty::MARIA_BLOB_COMPRESSED
    )
}

/// MariaDB also counts GEOMETRY as a character column for (DEFAULT_|COLUMN_)CHARSET ("base
/// class is blob for geom type" in its `is_character_type`); MySQL does not.
fn is_character_mariadb(real_type: u8) -> bool {
    is_character(real_type) || real_type == ty::GEOMETRY
}

fn is_enum_or_set(real_type: u8) -> bool {
    real_type == ty::ENUM || real_type == ty::SET
}

/// Parse a TABLE_MAP body. `post_header_len` is 6 on 5.1-era servers (4-byte table id) and 8
/// otherwise; `mariadb` selects MariaDB's counting of character columns in optional metadata.
pub(crate) fn parse_table_map(body: &[u8], base: usize, post_header_len: usize, mariadb: bool) -> Res<TableMap> {
    let mut c = Cursor::new(body, base);
    let table_id = if post_header_len == 6 { u64::from(c.u32("TABLE_MAP table id")?) } else { c.uint_n(6, "TABLE_MAP table id")? };
    let _flags = c.u16("TABLE_MAP flags")?;
    if post_header_len > 8 {
        c.skip(post_header_len - 8, "TABLE_MAP post-header")?;
    }
    let schema = text(c.u8_bytes("TABLE_MAP schema")?);
    c.skip(1, "TABLE_MAP schema terminator")?;
    let table = text(c.u8_bytes("TABLE_MAP table")?);
    c.skip(1, "TABLE_MAP table terminator")?;
    let ncols = c.lenenc_count(1, "TABLE_MAP column count")?;
    let types = c.bytes(ncols, "TABLE_MAP column types")?;
    let meta_block = c.lenenc_bytes("TABLE_MAP column metadata")?;
    let meta_block_at = c.at() - meta_block.len();
    let null_bits = c.bytes(ncols.div_ceil(8), "TABLE_MAP null bitmap")?;

    let mut columns = Vec::with_capacity(ncols);
    let mut m = Cursor::new(meta_block, meta_block_at);
    for (i, &t) in types.iter().enumerate() {
        let (real_type, meta) = column_meta(t, &mut m)?;
        columns.push(ColumnDef {
            column_type: t,
            real_type,
            meta,
            nullable: bit_lsb(null_bits, i),
            visible: true,
            ..ColumnDef::default()
        });
    }
    let mut tm = TableMap { table_id, schema, table, columns, primary_key: Vec::new(), has_full_metadata: false, system_versioned: false, sequence: false };
    parse_optional_metadata(&mut tm, c, mariadb)?;
    Ok(tm)
}

/// Read one column's metadata and normalise it (see the table on [`ColumnDef`]).
fn column_meta(t: u8, m: &mut Cursor<'_>) -> Res<(u8, u16)> {
    const W: &str = "TABLE_MAP column metadata";
    Ok(match t {
        ty::FLOAT | ty::DOUBLE | ty::TIMESTAMP2 | ty::DATETIME2 | ty::TIME2 => (t, u16::from(m.u8(W)?)),
        ty::BLOB | ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB | ty::GEOMETRY | ty::JSON | ty::VECTOR
        | ty::MARIA_BLOB_COMPRESSED => (t, u16::from(m.u8(W)?)),
        ty::VARCHAR | ty::VAR_STRING | ty::MARIA_VARCHAR_COMPRESSED => (t, m.u16(W)?),
        ty::BIT => {
            let bits = u16::from(m.u8(W)?);
            let bytes = u16::from(m.u8(W)?);
            (t, bytes * 8 + bits)
        }
        ty::NEWDECIMAL => {
            let precision = u16::from(m.u8(W)?);
            let scale = u16::from(m.u8(W)?);
            (t, precision << 8 | scale)
        }
        ty::STRING | ty::ENUM | ty::SET => {
            let b0 = m.u8(W)?;
            let b1 = m.u8(W)?;
            if b0 == 0 {
                (ty::STRING, u16::from_le_bytes([b0, b1]))
            } else {
                let real = b0 | 0x30;
                match real {
                    ty::ENUM | ty::SET => (real, u16::from(b1)),
                    // CHAR longer than 255 bytes keeps bits 8-9 of the length, inverted, in
                    // bits 4-5 of the type byte (MySQL bug #37426).
                    ty::STRING => (ty::STRING, u16::from(b1) | (u16::from((b0 & 0x30) ^ 0x30) << 4)),
                    other => {
                        return Err(Fail::new(m.at(), format!("TABLE_MAP: unexpected real type {other} for a STRING column")));
                    }
                }
            }
        }
        ty::TYPED_ARRAY => {
            // MySQL multi-valued index arrays: element type then that type's metadata.
            let inner = m.u8(W)?;
            if inner == ty::TYPED_ARRAY {
                // Arrays do not nest; refusing keeps the recursion one level deep.
                return Err(Fail::new(m.at(), "TABLE_MAP: nested TYPED_ARRAY column"));
            }
            let (_, meta) = column_meta(inner, m)?;
            (t, meta)
        }
        _ => (t, 0),
    })
}

fn parse_optional_metadata(tm: &mut TableMap, mut c: Cursor<'_>, mariadb: bool) -> Res<()> {
    let is_char: fn(u8) -> bool = if mariadb { is_character_mariadb } else { is_character };
    while !c.is_empty() {
        let kind = c.u8("TABLE_MAP optional metadata type")?;
        let value = c.lenenc_bytes("TABLE_MAP optional metadata")?;
        let v = Cursor::new(value, c.at() - value.len());
        match kind {
            SIGNEDNESS => {
                let mut k = 0;
                for col in tm.columns.iter_mut().filter(|col| is_numeric(col.real_type)) {
                    col.unsigned = Some(bit_msb(value, k));
                    k += 1;
                }
            }
            DEFAULT_CHARSET => apply_default_charset(tm, v, is_char, "DEFAULT_CHARSET")?,
            ENUM_AND_SET_DEFAULT_CHARSET => apply_default_charset(tm, v, is_enum_or_set, "ENUM_AND_SET_DEFAULT_CHARSET")?,
            COLUMN_CHARSET => apply_column_charset(tm, v, is_char, "COLUMN_CHARSET")?,
            ENUM_AND_SET_COLUMN_CHARSET => apply_column_charset(tm, v, is_enum_or_set, "ENUM_AND_SET_COLUMN_CHARSET")?,
            COLUMN_NAME => {
                let mut v = v;
                for col in tm.columns.iter_mut() {
                    col.name = Some(text(v.lenenc_bytes("COLUMN_NAME")?));
                }
                tm.has_full_metadata = true;
            }
            SET_STR_VALUE => apply_str_values(tm, v, ty::SET)?,
            ENUM_STR_VALUE => apply_str_values(tm, v, ty::ENUM)?,
            GEOMETRY_TYPE => {
                let mut v = v;
                for col in tm.columns.iter_mut().filter(|col| col.real_type == ty::GEOMETRY) {
                    col.geometry_type = Some(v.lenenc("GEOMETRY_TYPE")? as u32);
                }
            }
            SIMPLE_PRIMARY_KEY | PRIMARY_KEY_WITH_PREFIX => {
                let mut v = v;
                while !v.is_empty() {
                    let idx_at = v.at();
                    let idx = v.lenenc("primary key column index")?;
                    if kind == PRIMARY_KEY_WITH_PREFIX {
                        v.lenenc("primary key prefix length")?;
                    }
                    if idx >= tm.columns.len() as u64 {
                        return Err(Fail::new(idx_at, format!("primary key column index {idx} out of {} columns", tm.columns.len())));
                    }
                    tm.primary_key.push(idx as usize);
                }
            }
            COLUMN_VISIBILITY => {
                for (i, col) in tm.columns.iter_mut().enumerate() {
                    col.visible = bit_msb(value, i);
                }
            }
            // Unknown fields are length-prefixed, so skipping them is safe.
            _ => {}
        }
    }
    Ok(())
}

/// Default collation, then (index among the counted columns, collation) overrides.
fn apply_default_charset(tm: &mut TableMap, mut v: Cursor<'_>, counted: fn(u8) -> bool, what: &'static str) -> Res<()> {
    let default = v.lenenc(what)? as u16;
    for col in tm.columns.iter_mut().filter(|c| counted(c.real_type)) {
        col.collation = Some(default);
    }
    while !v.is_empty() {
        let at = v.at();
        let idx = v.lenenc(what)?;
        let coll = v.lenenc(what)? as u16;
        let col = tm
            .columns
            .iter_mut()
            .filter(|c| counted(c.real_type))
            .nth(usize::try_from(idx).unwrap_or(usize::MAX))
            .ok_or_else(|| Fail::new(at, format!("{what}: column index {idx} out of range")))?;
        col.collation = Some(coll);
    }
    Ok(())
}

fn apply_column_charset(tm: &mut TableMap, mut v: Cursor<'_>, counted: fn(u8) -> bool, what: &'static str) -> Res<()> {
    for col in tm.columns.iter_mut().filter(|c| counted(c.real_type)) {
        if v.is_empty() {
            break;
        }
        col.collation = Some(v.lenenc(what)? as u16);
    }
    Ok(())
}

fn apply_str_values(tm: &mut TableMap, mut v: Cursor<'_>, real_type: u8) -> Res<()> {
    let what = if real_type == ty::SET { "SET_STR_VALUE" } else { "ENUM_STR_VALUE" };
    for col in tm.columns.iter_mut().filter(|c| c.real_type == real_type) {
        if v.is_empty() {
            break;
        }
        let n = v.lenenc_count(1, what)?;
        let mut values = Vec::with_capacity(n);
        for _ in 0..n {
            values.push(v.lenenc_bytes(what)?.to_vec());
        }
        if real_type == ty::SET {
            col.set_values = values;
        } else {
            col.enum_values = values;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TABLE_MAP body for `d`.`t` with the given types, metadata block, nullable bitmap and
    /// optional metadata.
    fn body(types: &[u8], meta: &[u8], nulls: &[u8], optional: &[u8]) -> Vec<u8> {
        let mut b = vec![7, 0, 0, 0, 0, 0, 1, 0, 1, b'd', 0, 1, b't', 0, types.len() as u8];
        b.extend_from_slice(types);
        b.push(meta.len() as u8);
        b.extend_from_slice(meta);
        b.extend_from_slice(nulls);
        b.extend_from_slice(optional);
        b
    }

    #[test]
    fn metadata_is_normalised_per_type() {
        // BIT(13) = 1 byte + 5 bits; DECIMAL(12,4); CHAR(255) utf8mb4 = 1020 bytes (high bits
        // folded into the type byte); SET pack length 2; DATETIME2(3); DOUBLE; MEDIUMBLOB (3).
        let types = [ty::BIT, ty::NEWDECIMAL, ty::STRING, ty::STRING, ty::DATETIME2, ty::DOUBLE, ty::BLOB];
        let meta = [5, 1, 12, 4, 0xCE, 0xFC, 0xF8, 2, 3, 8, 3];
        let tm = parse_table_map(&body(&types, &meta, &[0b0100_0001], &[]), 19, 8, false).unwrap();
        let got: Vec<(u8, u16, bool)> = tm.columns.iter().map(|c| (c.real_type, c.meta, c.nullable)).collect();
        assert_eq!(
            got,
            vec![
                (ty::BIT, 13, true),
                (ty::NEWDECIMAL, 12 << 8 | 4, false),
                (ty::STRING, 1020, false),
                (ty::SET, 2, false),
                (ty::DATETIME2, 3, false),
                (ty::DOUBLE, 8, false),
                (ty::BLOB, 3, true),
            ]
        );
        assert_eq!((tm.table_id, tm.schema.as_str(), tm.table.as_str()), (7, "d", "t"));
    }

    #[test]
    fn optional_metadata_counts_only_matching_columns() {
        // INT UNSIGNED, VARCHAR, INT, TEXT, ENUM; signedness over the 2 numeric columns (MSB
        // first: 1,0); DEFAULT_CHARSET 45 with an override for the 2nd character column (TEXT,
        // 63); ENUM values; SIMPLE_PRIMARY_KEY 0; VISIBILITY: 4th column invisible.
        let types = [ty::LONG, ty::VARCHAR, ty::LONG, ty::BLOB, ty::STRING];
        let meta = [40, 0, 2, 0xF7, 1];
        let mut opt = vec![SIGNEDNESS, 1, 0b1000_0000];
        opt.extend_from_slice(&[DEFAULT_CHARSET, 3, 45, 1, 63]);
        opt.extend_from_slice(&[ENUM_STR_VALUE, 5, 2, 1, b'a', 1, b'b']);
        opt.extend_from_slice(&[SIMPLE_PRIMARY_KEY, 1, 0]);
        opt.extend_from_slice(&[COLUMN_VISIBILITY, 1, 0b1110_1000]);
        opt.extend_from_slice(&[99, 2, 0xAA, 0xBB]); // unknown field: skipped by its length
        let tm = parse_table_map(&body(&types, &meta, &[0], &opt), 19, 8, false).unwrap();
        let got: Vec<(Option<bool>, Option<u16>, bool)> =
            tm.columns.iter().map(|c| (c.unsigned, c.collation, c.visible)).collect();
        assert_eq!(
            got,
            vec![(Some(true), None, true), (None, Some(45), true), (Some(false), None, true), (None, Some(63), false), (None, None, true)]
        );
        assert_eq!(tm.columns[4].enum_values, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(tm.primary_key, vec![0]);
        assert!(!tm.has_full_metadata);
    }

    #[test]
    fn corrupt_metadata_is_an_error() {
        let nested = body(&[ty::TYPED_ARRAY], &[ty::TYPED_ARRAY, ty::TYPED_ARRAY, 3], &[0], &[]);
        assert_eq!(parse_table_map(&nested, 19, 8, false).unwrap_err().msg, "TABLE_MAP: nested TYPED_ARRAY column");
        let bad_pk = body(&[ty::LONG], &[], &[0], &[SIMPLE_PRIMARY_KEY, 1, 5]);
        assert_eq!(parse_table_map(&bad_pk, 19, 8, false).unwrap_err().msg, "primary key column index 5 out of 1 columns");
        let short = body(&[ty::VARCHAR], &[40], &[0], &[]);
        assert_eq!(
            parse_table_map(&short, 19, 8, false).unwrap_err().msg,
            "truncated reading TABLE_MAP column metadata: need 2 bytes, 1 left"
        );
    }
}
