//! ROWS event bodies: WRITE/UPDATE/DELETE v1 (23-25, MariaDB and MySQL 5.1-5.5), v2 (30-32,
//! MySQL 5.6+, with extra data) and PARTIAL_UPDATE_ROWS (39, MySQL 8 JSON diffs).
//!
//! Owns the column bitmaps, per-row null bitmaps (over PRESENT columns only) and the walk over
//! row images. Each non-NULL value is handed to [`crate::decode::value::decode_value`]; partial
//! JSON after-images to [`crate::decode::value::apply_json_diff`] when the before image holds the
//! column, else (MINIMAL row image) kept as [`Value::JsonDiff`]. It must not decode a value's
//! bytes itself nor resolve table ids (the caller passes the TABLE_MAP in force).

use std::sync::Arc;

use crate::decode::event::{RowsEvent, RowsEventKind, TableMap};
use crate::decode::json::parse_json_diffs;
use crate::decode::reader::{bit_lsb, Cursor, Fail, Res};
use crate::decode::value::column_type as ty;
use crate::decode::value::{apply_json_diff, decode_value, Row, Value};

/// `value_options` bit in PARTIAL_UPDATE_ROWS after-images: partial JSON bitmap follows.
const PARTIAL_JSON_UPDATES: u64 = 1;

/// The table id MySQL writes in a dummy ROWS event that closes a statement whose rows were all
/// filtered out; no TABLE_MAP precedes it.
pub(crate) const DUMMY_TABLE_ID_6: u64 = 0x00FF_FFFF_FFFF;
pub(crate) const DUMMY_TABLE_ID_4: u64 = 0xFFFF_FFFF;

/// The fixed part of a ROWS event: enough to look up the table before decoding rows.
pub(crate) struct RowsHead<'a> {
    pub table_id: u64,
    pub flags: u16,
    /// Body after the post-header and extra data: column count, bitmaps, rows.
    pub rest: Cursor<'a>,
}

/// Read the post-header (and v2 extra data). `post_header_len` is 6 (5.1 4-byte table id),
/// 8 (v1) or 10 (v2, with the extra-data length).
pub(crate) fn parse_rows_head(body: &[u8], base: usize, post_header_len: usize, v2: bool) -> Res<RowsHead<'_>> {
    let mut c = Cursor::new(body, base);
    let table_id = if post_header_len == 6 { u64::from(c.u32("ROWS table id")?) } else { c.uint_n(6, "ROWS table id")? };
    let flags = c.u16("ROWS flags")?;
    if v2 {
        let at = c.at();
        let extra_len = c.u16("ROWS extra data length")? as usize;
        // The length counts its own two bytes.
        let extra = extra_len
            .checked_sub(2)
            .ok_or_else(|| Fail::new(at, format!("ROWS extra data length {extra_len} is below 2")))?;
        c.skip(extra, "ROWS extra data")?;
    } else if post_header_len > 8 {
        c.skip(post_header_len - 8, "ROWS post-header")?;
    }
    Ok(RowsHead { table_id, flags, rest: c })
}

/// Decode the rows of a ROWS event against its table map. `compressed_cap` is `Some(max size)`
/// for MariaDB compressed ROWS events, whose row images (after the bitmaps) are one compressed
/// block; positions in errors then count inside the inflated images.
pub(crate) fn parse_rows(
    head: RowsHead<'_>,
    kind: RowsEventKind,
    table: &Arc<TableMap>,
    compressed_cap: Option<usize>,
) -> Res<RowsEvent> {
    let mut c = head.rest;
    let ncols_at = c.at();
    // Bounded by the TABLE_MAP below, not by the bytes left: a wide table with a small row
    // image has far fewer bytes than columns.
    let ncols = c.lenenc("ROWS column count")?;
    if ncols > table.columns.len() as u64 {
        return Err(Fail::new(
            ncols_at,
            format!(
                "ROWS event has {ncols} columns but the TABLE_MAP of `{}`.`{}` (table id {}) has {}",
                table.schema,
                table.table,
                table.table_id,
                table.columns.len()
            ),
        ));
    }
    let ncols = ncols as usize;
    let bitmap_len = ncols.div_ceil(8);
    let present = c.bytes(bitmap_len, "ROWS columns-present bitmap")?;
    let has_after = matches!(kind, RowsEventKind::Update | RowsEventKind::PartialUpdate);
    let present_after = if has_after { c.bytes(bitmap_len, "ROWS after-image bitmap")? } else { present };
    let json_cols = if kind == RowsEventKind::PartialUpdate {
        table.columns.iter().filter(|col| col.real_type == ty::JSON).count()
    } else {
        0
    };

    let inflated;
    if let Some(cap) = compressed_cap {
        let at = c.at();
        inflated = crate::decode::compressed::uncompress(c.take_rest(), at, cap)?;
        c = Cursor::new(&inflated, 0);
    }
    let img = ImageShape { table, ncols, present: Bits::new(present, ncols) };
    let img_after = ImageShape { table, ncols, present: Bits::new(present_after, ncols) };
    let mut rows = Vec::new();
    while !c.is_empty() {
        let row_start = c.at();
        let row = match kind {
            RowsEventKind::Write => (None, Some(read_image(&mut c, &img_after, None)?)),
            RowsEventKind::Delete => (Some(read_image(&mut c, &img, None)?), None),
            RowsEventKind::Update => {
                let before = read_image(&mut c, &img, None)?;
                let after = read_image(&mut c, &img_after, None)?;
                (Some(before), Some(after))
            }
            RowsEventKind::PartialUpdate => {
                let before = read_image(&mut c, &img, None)?;
                let after = read_image(&mut c, &img_after, Some((json_cols, &before)))?;
                (Some(before), Some(after))
            }
        };
        // An image with no present columns takes no bytes: without this check a corrupt
        // bitmap would make this loop push empty rows forever (found by fuzzing).
        if c.at() == row_start {
            return Err(Fail::new(row_start, "ROWS event row image has no columns present"));
        }
        rows.push(row);
    }
    Ok(RowsEvent { kind, table_id: head.table_id, flags: head.flags, table: Arc::clone(table), rows, raw: None })
}

/// A column bitmap with its popcount, computed once per event.
#[derive(Clone, Copy)]
struct Bits<'a> {
    bits: &'a [u8],
    count: usize,
}

impl<'a> Bits<'a> {
    fn new(bits: &'a [u8], n: usize) -> Bits<'a> {
        let count = (0..n).filter(|&i| bit_lsb(bits, i)).count();
        Bits { bits, count }
    }
}

struct ImageShape<'a> {
    table: &'a TableMap,
    ncols: usize,
    present: Bits<'a>,
}

/// One row image: [partial-JSON header], null bitmap over present columns, values.
fn read_image(c: &mut Cursor<'_>, shape: &ImageShape<'_>, partial: Option<(usize, &Row)>) -> Res<Row> {
    let mut partial_bits: Option<&[u8]> = None;
    if let Some((json_cols, _)) = partial {
        let opts = c.lenenc("PARTIAL_UPDATE_ROWS value options")?;
        if opts & PARTIAL_JSON_UPDATES != 0 {
            partial_bits = Some(c.bytes(json_cols.div_ceil(8), "PARTIAL_UPDATE_ROWS partial-JSON bitmap")?);
        }
    }
    let nulls = c.bytes(shape.present.count.div_ceil(8), "ROWS null bitmap")?;
    let table = shape.table;
    let mut cols: Vec<Option<Value>> = Vec::with_capacity(table.columns.len());
    let mut image_idx = 0;
    let mut json_idx = 0;
    for (i, col) in table.columns.iter().enumerate().take(shape.ncols) {
        // Partial bits are numbered over all JSON columns of the table, present or not.
        let is_partial = col.real_type == ty::JSON && {
            let p = partial_bits.is_some_and(|b| bit_lsb(b, json_idx));
            json_idx += 1;
            p
        };
        if !bit_lsb(shape.present.bits, i) {
            cols.push(None);
            continue;
        }
        let is_null = bit_lsb(nulls, image_idx);
        image_idx += 1;
        if is_null {
            cols.push(Some(Value::Null));
            continue;
        }
        let at = c.at();
        let decoded = if is_partial {
            // With binlog_row_image=MINIMAL the before image lacks the column: the diffs cannot
            // become a full value here, so they travel as they are and the applier replays them
            // on the target's copy of the document.
            match partial.and_then(|(_, b)| b.cols.get(i)).and_then(|v| v.as_ref()) {
                Some(before) => apply_json_diff(before, c.rest()),
                None => parse_json_diffs(c.rest()).map(|(diffs, used)| (Value::JsonDiff(diffs), used)),
            }
        } else {
            decode_value(col, c.rest())
        };
        let (value, used) = decoded.map_err(|e| Fail::new(at, format!("{}: {e}", column_label(table, i))))?;
        c.skip(used, "column value")?;
        cols.push(Some(value));
    }
    // Columns beyond the event's column count are absent from this image.
    cols.resize(table.columns.len(), None);
    Ok(Row { cols })
}

#[cold]
fn column_label(table: &TableMap, i: usize) -> String {
    let col = table.columns.get(i);
    let name = col.and_then(|c| c.name.clone()).unwrap_or_else(|| format!("@{}", i + 1));
    let (t, r, m) = col.map(|c| (c.column_type, c.real_type, c.meta)).unwrap_or_default();
    format!("`{}`.`{}` column {name} (#{i}, type {t}, real type {r}, meta {m})", table.schema, table.table)
}
