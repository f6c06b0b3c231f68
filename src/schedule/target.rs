//! A TABLE_MAP mapped onto the target's table: the column names, primary key, signedness and
//! collations the row images are applied with, taken from the target's schema (as MariaDB's own
//! replica does, by column position) and checked against what the binlog says about each column.
//!
//! Owns [`map_onto`] (TABLE_MAP + the target's [`TableDef`] -> [`TargetTable`] or a
//! [`MapError`] naming table, column position and both types) and [`TargetTable::fix_row`]
//! (unsigned integers the source logged without signedness). It must not load anything (the
//! catalogs do, [`super::infoschema::InfoSchemaCatalog`] from information_schema) nor build SQL.
//!
//! # What the binlog carries, by `binlog_row_metadata`
//! - `NO_LOG` (MariaDB's default; MySQL 5.7 has nothing else): types and their lengths only.
//!   Names, primary key and signedness come from the target; an unsigned integer was decoded as
//!   signed (TINYINT UNSIGNED 200 as -56) and is converted back with the target's width.
//! - `MINIMAL` (MySQL 8's default): also signedness and charsets, which are checked.
//! - `FULL`: also names, ENUM/SET strings and the primary key. Rows are then mapped by name, so a
//!   target whose columns are in another order still gets each value in its column (that is what
//!   FULL still adds), and the names are checked to exist there.
//!
//! # What is checked
//! The target may have more columns than the binlog's rows (by position: the first ones are
//! the logged ones, as for the native replica; the rest keep their defaults), never fewer (the
//! native replica can drop a source's extra trailing columns; parapply refuses instead). Each column's type family must agree
//! (an INT where the target has BIGINT is an error, as it is for the native replica with its
//! default `slave_type_conversions`), and the lengths the binlog states: DECIMAL precision and
//! scale, temporal fractional digits, CHAR/VARCHAR byte length, BLOB/TEXT size class, BIT width,
//! ENUM/SET element count (and strings when logged), signedness of integers and the charset of
//! text columns when logged. A target type this module does not know (a plugin type) is not
//! refused.

use std::sync::Arc;

use super::catalog::{ColumnInfo, TableDef, Versioning};
use crate::decode::event::{ColumnDef, TableMap};
use crate::decode::value::column_type as ty;
use crate::decode::value::{Row, Value};

/// A TABLE_MAP that cannot be applied to the target's table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("table `{schema}`.`{table}` does not exist on the target; its rows carry no column names (the source's binlog_row_metadata is not FULL), so they can only be applied by position onto an existing table")]
    NoTable { schema: String, table: String },
    #[error("table `{schema}`.`{table}`: the binlog's rows have {binlog} columns, the target's table has {target}")]
    ColumnCount { schema: String, table: String, binlog: usize, target: usize },
    #[error("table `{schema}`.`{table}` column {position} `{name}`: the target's table has no such column")]
    NoSuchColumn { schema: String, table: String, position: usize, name: String },
    #[error("table `{schema}`.`{table}` is system-versioned by transaction id (ROW START `{column}` is BIGINT UNSIGNED): the server that applies its rows writes its own transaction ids into the history (the native replica does too), so the target can never hold the source's; refused. Version it by TIMESTAMP(6) on the target, or leave it out of the replicated schemas")]
    TrxVersioned { schema: String, table: String, column: String },
    #[error("table `{schema}`.`{table}` column {position} (`{name}` on the target): the binlog has {binlog}, the target has {target}")]
    Type { schema: String, table: String, position: usize, name: String, binlog: String, target: String },
}

/// A TABLE_MAP as the target's table has it (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTable {
    /// The TABLE_MAP with names, primary key, signedness and collations filled in from the
    /// target (`has_full_metadata` set: names and key are now known).
    pub map: Arc<TableMap>,
    /// `(row position, width in bits)` of unsigned integer columns the source logged without
    /// signedness: their values were decoded as signed.
    pub unsigned_fix: Vec<(usize, u32)>,
    /// `(row position, length in bytes)` of fixed-length binary columns (BINARY(n), and the
    /// types stored as one: UUID, INET6, INET4) the source logged without their charset: the
    /// server logs them with trailing zero bytes cut, which only the charset said to restore.
    pub binary_pad: Vec<(usize, usize)>,
}

impl TargetTable {
    /// Whether [`TargetTable::fix_row`] changes anything.
    pub fn fixes_rows(&self) -> bool {
        !self.unsigned_fix.is_empty() || !self.binary_pad.is_empty()
    }

    /// [`TargetTable::fix_row`] on every image of `rows` (nothing when there is nothing to fix).
    pub fn fix_rows(&self, rows: &mut [crate::txn::RowChange]) {
        if !self.fixes_rows() {
            return;
        }
        for row in rows {
            for image in [row.before.as_mut(), row.after.as_mut()].into_iter().flatten() {
                self.fix_row(image);
            }
        }
    }

    /// Turn the signed decodings of unsigned columns back into their values (-56 in a TINYINT
    /// UNSIGNED is 200), and put back the trailing zero bytes of fixed-length binary columns.
    /// Cheap when there is nothing to fix.
    pub fn fix_row(&self, row: &mut Row) {
        for &(i, len) in &self.binary_pad {
            if let Some(Some(Value::Bytes(b))) = row.cols.get_mut(i) {
                if b.len() < len {
                    b.resize(len, 0);
                }
            }
        }
        for &(i, bits) in &self.unsigned_fix {
            if let Some(Some(v)) = row.cols.get_mut(i) {
                if let Value::Int(n) = *v {
                    let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
                    *v = Value::UInt((n as u64) & mask);
                }
            }
        }
    }
}

/// Map `tm` onto the target's table `def` (see the module doc).
pub fn map_onto(tm: &TableMap, def: &TableDef) -> Result<TargetTable, MapError> {
    let (schema, table) = (tm.schema.clone(), tm.table.clone());
    if def.versioning == Versioning::TrxId {
        // The ROW START column is the first generated BIGINT: name it in the refusal.
        let column = def.columns.iter().zip(&def.column_info).find(|(_, i)| i.generated && i.data_type == "bigint").map(|((n, _), _)| n.clone()).unwrap_or_default();
        return Err(MapError::TrxVersioned { schema, table, column });
    }
    // More columns on the target is fine (they keep their defaults, as with the native
    // replica); fewer would drop logged values.
    if tm.columns.len() > def.columns.len() {
        return Err(MapError::ColumnCount { schema, table, binlog: tm.columns.len(), target: def.columns.len() });
    }
    // Binlog position -> target position: by name when the binlog has names, else the same.
    let named = tm.columns.iter().all(|c| c.name.is_some());
    let mut to_target = Vec::with_capacity(tm.columns.len());
    for (i, col) in tm.columns.iter().enumerate() {
        let j = match (&col.name, named) {
            (Some(name), true) => def.columns.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)).ok_or_else(|| MapError::NoSuchColumn {
                schema: schema.clone(),
                table: table.clone(),
                position: i + 1,
                name: name.clone(),
            })?,
            _ => i,
        };
        to_target.push(j);
    }
    let mut out = tm.clone();
    let mut unsigned_fix = Vec::new();
    let mut binary_pad = Vec::new();
    for (i, col) in out.columns.iter_mut().enumerate() {
        let j = to_target[i];
        if col.name.is_none() {
            col.name = Some(def.columns[j].0.clone());
        }
        let Some(info) = def.column_info.get(j) else { continue };
        col.generated = info.generated;
        if let Err((binlog, target)) = check_column(col, info) {
            return Err(MapError::Type { schema, table, position: i + 1, name: def.columns[j].0.clone(), binlog, target });
        }
        if let Some(bits) = int_bits(col.real_type) {
            let unsigned = is_unsigned(info);
            if col.unsigned.is_none() {
                col.unsigned = Some(unsigned);
                if unsigned {
                    unsigned_fix.push((i, bits));
                }
            }
        }
        if col.real_type == ty::STRING && col.collation.is_none() && info.charset.as_deref().is_none_or(|cs| cs.eq_ignore_ascii_case("binary")) {
            col.collation = Some(crate::decode::value::BINARY_COLLATION);
            binary_pad.push((i, col.meta as usize));
        }
        if is_character(col.real_type) {
            if let Some(id) = info.collation_id {
                // The target's collation: its charset agrees (checked above) and the target knows
                // it, so literals get its introducer (MySQL 8's utf8mb4_0900 ids it does not).
                col.collation = Some(id);
            }
        }
    }
    // The target's primary key identifies the target's row, whatever the source's was.
    let pk: Option<Vec<usize>> = def
        .primary_key
        .iter()
        .map(|name| {
            let j = def.columns.iter().position(|(n, _)| n.eq_ignore_ascii_case(name))?;
            to_target.iter().position(|&t| t == j)
        })
        .collect();
    if let Some(pk) = pk {
        out.primary_key = pk;
    }
    out.has_full_metadata = true;
    out.system_versioned = def.versioning == Versioning::Timestamp;
    out.sequence = def.sequence;
    Ok(TargetTable { map: Arc::new(out), unsigned_fix, binary_pad })
}

fn int_bits(real_type: u8) -> Option<u32> {
    match real_type {
        ty::TINY => Some(8),
        ty::SHORT => Some(16),
        ty::INT24 => Some(24),
        ty::LONG => Some(32),
        ty::LONGLONG => Some(64),
        _ => None,
    }
}

fn is_unsigned(info: &ColumnInfo) -> bool {
    info.column_type.to_ascii_lowercase().split_whitespace().any(|w| w == "unsigned")
}

/// Types whose values are text in a charset (or binary strings).
fn is_character(real_type: u8) -> bool {
    matches!(
        real_type,
        ty::VARCHAR | ty::VAR_STRING | ty::STRING | ty::BLOB | ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB | ty::MARIA_BLOB_COMPRESSED | ty::MARIA_VARCHAR_COMPRESSED
    )
}

/// Every DATA_TYPE a built-in MySQL/MariaDB type reports. A target type outside this list (a
/// plugin type such as MariaDB's INET6 or UUID) is accepted for any binlog type.
const KNOWN: &[&str] = &[
    "tinyint", "smallint", "mediumint", "int", "bigint", "float", "double", "decimal", "year", "date", "time", "datetime", "timestamp",
    "char", "varchar", "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "tinytext", "text", "mediumtext", "longtext",
    "json", "enum", "set", "bit", "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
    "geometrycollection", "geomcollection", "vector",
];

/// Whether binlog column `col` fits target column `info`; else (what the binlog says, what the
/// target has), for the error.
fn check_column(col: &ColumnDef, info: &ColumnInfo) -> Result<(), (String, String)> {
    let dt = info.data_type.to_ascii_lowercase();
    let target = || info.column_type.clone();
    let mismatch = || Err((binlog_type(col), target()));
    if !KNOWN.contains(&dt.as_str()) {
        return Ok(());
    }
    let meta = u64::from(col.meta);
    let family_ok = match col.real_type {
        ty::TINY => dt == "tinyint",
        ty::SHORT => dt == "smallint",
        ty::INT24 => dt == "mediumint",
        ty::LONG => dt == "int",
        ty::LONGLONG => dt == "bigint",
        ty::FLOAT => dt == "float",
        ty::DOUBLE => dt == "double",
        ty::NEWDECIMAL | ty::DECIMAL => dt == "decimal",
        ty::YEAR => dt == "year",
        ty::DATE | ty::NEWDATE => dt == "date",
        ty::TIME | ty::TIME2 => dt == "time",
        ty::DATETIME | ty::DATETIME2 => dt == "datetime",
        ty::TIMESTAMP | ty::TIMESTAMP2 => dt == "timestamp",
        ty::VARCHAR | ty::VAR_STRING | ty::MARIA_VARCHAR_COMPRESSED => matches!(dt.as_str(), "varchar" | "varbinary"),
        ty::STRING => matches!(dt.as_str(), "char" | "binary"),
        ty::BLOB | ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB | ty::MARIA_BLOB_COMPRESSED => {
            // MariaDB's JSON is LONGTEXT.
            matches!(dt.as_str(), "tinyblob" | "blob" | "mediumblob" | "longblob" | "tinytext" | "text" | "mediumtext" | "longtext" | "json")
        }
        // MySQL's binary JSON is decoded to text: a MariaDB JSON (LONGTEXT) column takes it.
        ty::JSON => matches!(dt.as_str(), "json" | "longtext"),
        ty::ENUM => dt == "enum",
        ty::SET => dt == "set",
        ty::BIT => dt == "bit",
        ty::GEOMETRY => matches!(
            dt.as_str(),
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon" | "geometrycollection" | "geomcollection"
        ),
        ty::VECTOR => dt == "vector",
        // TYPED_ARRAY and anything newer: nothing to compare with.
        _ => true,
    };
    if !family_ok {
        return mismatch();
    }
    let same = |a: u64, b: Option<u64>| b.is_none_or(|b| a == b);
    let sizes_ok = match col.real_type {
        ty::NEWDECIMAL => same(meta >> 8, info.numeric_precision) && same(meta & 0xff, info.numeric_scale),
        // The fractional digits are the metadata of the MySQL 5.6+ temporal formats.
        ty::TIME2 | ty::DATETIME2 | ty::TIMESTAMP2 => same(meta, Some(info.datetime_precision.unwrap_or(0))),
        ty::VARCHAR | ty::VAR_STRING | ty::STRING => same(meta, info.octet_length),
        ty::BLOB | ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB => {
            let class = match dt.as_str() {
                "tinyblob" | "tinytext" => 1,
                "blob" | "text" => 2,
                "mediumblob" | "mediumtext" => 3,
                _ => 4,
            };
            meta == class
        }
        ty::BIT => same(meta, info.numeric_precision),
        ty::ENUM | ty::SET => {
            let values = enum_values(&info.column_type);
            let n = values.len();
            let pack = if col.real_type == ty::ENUM {
                if n <= 255 {
                    1
                } else {
                    2
                }
            } else {
                match n.div_ceil(8) {
                    l if l > 4 => 8,
                    l => l as u64,
                }
            };
            let logged = if col.real_type == ty::ENUM { &col.enum_values } else { &col.set_values };
            // Strings are compared when logged (FULL) and readable as the target prints them
            // (information_schema shows them as UTF-8; a latin1 value's bytes would not be).
            let strings_ok = logged.is_empty()
                || (logged.len() == n
                    && logged.iter().zip(&values).all(|(l, v)| match std::str::from_utf8(l) {
                        Ok(s) => s == v,
                        Err(_) => true,
                    }));
            meta == pack && strings_ok
        }
        _ => true,
    };
    if !sizes_ok {
        return mismatch();
    }
    if int_bits(col.real_type).is_some() {
        if let Some(u) = col.unsigned {
            if u != is_unsigned(info) {
                return mismatch();
            }
        }
    }
    if is_character(col.real_type) {
        if let (Some(logged), target_cs) = (col.collation.and_then(charset_of_id), info.charset.as_deref().map(normal_charset)) {
            let target_cs = target_cs.unwrap_or_else(|| "binary".into());
            if logged != target_cs {
                return mismatch();
            }
        }
    }
    Ok(())
}

/// The charset of a collation id, when known (MySQL 8's utf8mb4_0900 range included).
fn charset_of_id(id: u16) -> Option<String> {
    if id == 63 {
        return Some("binary".into());
    }
    if (255..=323).contains(&id) {
        return Some("utf8mb4".into());
    }
    let name = super::collation::name_for_id(id)?;
    Some(normal_charset(name.split('_').next().unwrap_or(name)))
}

/// `utf8` is `utf8mb3` (MariaDB prints the latter, old servers the former).
fn normal_charset(cs: &str) -> String {
    let cs = cs.to_ascii_lowercase();
    if cs == "utf8" {
        "utf8mb3".into()
    } else {
        cs
    }
}

/// The element strings of `enum('a','b''c')` / `set(...)` as information_schema prints them.
fn enum_values(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else { return Vec::new() };
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = column_type[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        match (&mut cur, c) {
            (None, '\'') => cur = Some(String::new()),
            (None, ')') => break,
            (None, _) => {}
            (Some(s), '\'') => {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    s.push('\'');
                } else {
                    out.push(std::mem::take(s));
                    cur = None;
                }
            }
            (Some(s), '\\') => {
                if let Some(n) = chars.next() {
                    s.push(n);
                }
            }
            (Some(s), c) => s.push(c),
        }
    }
    out
}

/// The binlog's view of a column, for errors: type, the lengths the metadata states, and
/// signedness/charset when logged.
fn binlog_type(col: &ColumnDef) -> String {
    let m = col.meta;
    let mut s = match col.real_type {
        ty::TINY => "tinyint".to_string(),
        ty::SHORT => "smallint".into(),
        ty::INT24 => "mediumint".into(),
        ty::LONG => "int".into(),
        ty::LONGLONG => "bigint".into(),
        ty::FLOAT => "float".into(),
        ty::DOUBLE => "double".into(),
        ty::NEWDECIMAL => format!("decimal({},{})", m >> 8, m & 0xff),
        ty::DECIMAL => "decimal".into(),
        ty::YEAR => "year".into(),
        ty::DATE | ty::NEWDATE => "date".into(),
        ty::TIME => "time".into(),
        ty::DATETIME => "datetime".into(),
        ty::TIMESTAMP => "timestamp".into(),
        ty::TIME2 => format!("time({m})"),
        ty::DATETIME2 => format!("datetime({m})"),
        ty::TIMESTAMP2 => format!("timestamp({m})"),
        ty::VARCHAR | ty::VAR_STRING => format!("varchar/varbinary of {m} bytes"),
        ty::MARIA_VARCHAR_COMPRESSED => format!("compressed varchar of {m} bytes"),
        ty::STRING => format!("char/binary of {m} bytes"),
        ty::BLOB | ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB | ty::MARIA_BLOB_COMPRESSED => {
            let class = match m {
                1 => "tinyblob/tinytext",
                2 => "blob/text",
                3 => "mediumblob/mediumtext",
                _ => "longblob/longtext",
            };
            class.to_string()
        }
        ty::JSON => "json".into(),
        ty::ENUM => format!("enum ({m}-byte)"),
        ty::SET => format!("set ({m}-byte)"),
        ty::BIT => format!("bit({m})"),
        ty::GEOMETRY => "geometry".into(),
        ty::VECTOR => "vector".into(),
        other => format!("type {other}"),
    };
    let logged = if col.real_type == ty::ENUM { &col.enum_values } else { &col.set_values };
    if !logged.is_empty() {
        let v: Vec<String> = logged.iter().map(|b| format!("'{}'", String::from_utf8_lossy(b))).collect();
        s = format!("{s} of ({})", v.join(","));
    }
    if int_bits(col.real_type).is_some() && col.unsigned == Some(true) {
        s.push_str(" unsigned");
    }
    if is_character(col.real_type) {
        if let Some(cs) = col.collation.and_then(charset_of_id) {
            s.push_str(&format!(" in {cs}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::catalog::TableDef;

    fn bcol(real_type: u8, meta: u16) -> ColumnDef {
        ColumnDef { column_type: real_type, real_type, meta, visible: true, ..Default::default() }
    }

    fn info(data_type: &str, column_type: &str) -> ColumnInfo {
        ColumnInfo { data_type: data_type.into(), column_type: column_type.into(), ..Default::default() }
    }

    fn tm(columns: Vec<ColumnDef>) -> TableMap {
        TableMap { table_id: 9, schema: "s".into(), table: "t".into(), columns, primary_key: vec![], has_full_metadata: false, system_versioned: false, sequence: false }
    }

    /// `(id BIGINT, u TINYINT UNSIGNED, pk INT UNSIGNED PRIMARY KEY, name VARCHAR(10) utf8mb4, e ENUM('a','b'))`
    fn target() -> TableDef {
        let mut def = TableDef::new("s", "t").column("id", None).column("u", None).column("pk", None).column("name", Some("utf8mb4_general_ci")).column("e", None).primary_key(&["pk"]);
        def.column_info = vec![
            info("bigint", "bigint(20)"),
            info("tinyint", "tinyint(3) unsigned"),
            info("int", "int(10) unsigned"),
            ColumnInfo { octet_length: Some(40), charset: Some("utf8mb4".into()), collation_id: Some(45), ..info("varchar", "varchar(10)") },
            info("enum", "enum('a','it''s')"),
        ];
        def
    }

    /// A versioned target marks the mapped TABLE_MAP (rows go as BINLOG statements) and its
    /// generated columns (never written as SQL); one versioned by transaction id is refused,
    /// naming its ROW START column.
    #[test]
    fn versioning_and_generated_columns_come_from_the_target() {
        let mut def = TableDef::new("s", "t").column("id", None).column("g", None).column("rs", None).column("re", None);
        let ts = ColumnInfo { datetime_precision: Some(6), generated: true, ..info("timestamp", "timestamp(6)") };
        def.column_info = vec![info("int", "int(11)"), ColumnInfo { generated: true, ..info("int", "int(11)") }, ts.clone(), ts];
        def.versioning = Versioning::Timestamp;
        let logged = tm(vec![bcol(ty::LONG, 0), bcol(ty::LONG, 0), bcol(ty::TIMESTAMP2, 6), bcol(ty::TIMESTAMP2, 6)]);
        let mapped = map_onto(&logged, &def).unwrap().map;
        assert!(mapped.system_versioned);
        assert_eq!(mapped.columns.iter().map(|c| c.generated).collect::<Vec<_>>(), vec![false, true, true, true]);
        def.versioning = Versioning::None;
        assert!(!map_onto(&logged, &def).unwrap().map.system_versioned);

        def.versioning = Versioning::TrxId;
        let trx = ColumnInfo { generated: true, ..info("bigint", "bigint(20) unsigned") };
        def.column_info[2] = trx.clone();
        def.column_info[3] = trx;
        let e = map_onto(&logged, &def).unwrap_err();
        assert_eq!(e, MapError::TrxVersioned { schema: "s".into(), table: "t".into(), column: "rs".into() });
        assert!(e.to_string().starts_with("table `s`.`t` is system-versioned by transaction id (ROW START `rs` is BIGINT UNSIGNED)"), "{e}");
    }

    fn binlog() -> Vec<ColumnDef> {
        vec![bcol(ty::LONGLONG, 0), bcol(ty::TINY, 0), bcol(ty::LONG, 0), bcol(ty::VARCHAR, 40), bcol(ty::ENUM, 1)]
    }

    #[test]
    fn positions_take_the_targets_names_key_signedness_and_collation() {
        let t = map_onto(&tm(binlog()), &target()).unwrap();
        let names: Vec<_> = t.map.columns.iter().map(|c| c.name.clone().unwrap()).collect();
        assert_eq!(names, vec!["id", "u", "pk", "name", "e"]);
        assert_eq!(t.map.primary_key, vec![2]);
        assert!(t.map.has_full_metadata);
        assert_eq!(t.map.columns.iter().map(|c| c.unsigned).collect::<Vec<_>>(), vec![Some(false), Some(true), Some(true), None, None]);
        assert_eq!(t.map.columns[3].collation, Some(45));
        assert_eq!(t.unsigned_fix, vec![(1, 8), (2, 32)]);
        // TINYINT UNSIGNED 200 and INT UNSIGNED 4294967295, decoded without signedness.
        let mut row = Row { cols: vec![Some(Value::Int(-1)), Some(Value::Int(-56)), Some(Value::Int(-1)), Some(Value::Null), None] };
        t.fix_row(&mut row);
        assert_eq!(row.cols, vec![Some(Value::Int(-1)), Some(Value::UInt(200)), Some(Value::UInt(4_294_967_295)), Some(Value::Null), None]);
    }

    #[test]
    fn names_in_the_binlog_map_by_name_onto_a_reordered_target() {
        // FULL metadata, columns logged in another order than the target's.
        let mut cols = vec![bcol(ty::LONG, 0), bcol(ty::LONGLONG, 0), bcol(ty::ENUM, 1), bcol(ty::VARCHAR, 40), bcol(ty::TINY, 0)];
        for (c, n) in cols.iter_mut().zip(["pk", "id", "e", "name", "u"]) {
            c.name = Some(n.into());
        }
        cols[0].unsigned = Some(true);
        cols[1].unsigned = Some(false);
        cols[4].unsigned = Some(true);
        cols[2].enum_values = vec![b"a".to_vec(), b"it's".to_vec()];
        cols[3].collation = Some(224); // utf8mb4_unicode_ci: same charset as the target's
        let t = map_onto(&tm(cols.clone()), &target()).unwrap();
        assert_eq!(t.map.primary_key, vec![0]);
        assert_eq!(t.map.columns[3].collation, Some(45));
        assert!(t.unsigned_fix.is_empty());
        // A name the target lacks.
        cols[3].name = Some("nom".into());
        assert_eq!(map_onto(&tm(cols), &target()).unwrap_err().to_string(), "table `s`.`t` column 4 `nom`: the target's table has no such column");
    }

    #[test]
    fn disagreements_name_table_position_and_both_types() {
        let err = |cols: Vec<ColumnDef>| map_onto(&tm(cols), &target()).unwrap_err().to_string();
        let mut c = binlog();
        c[0] = bcol(ty::LONG, 0);
        assert_eq!(err(c), "table `s`.`t` column 1 (`id` on the target): the binlog has int, the target has bigint(20)");
        let mut c = binlog();
        c[3] = bcol(ty::VARCHAR, 80);
        assert_eq!(err(c), "table `s`.`t` column 4 (`name` on the target): the binlog has varchar/varbinary of 80 bytes, the target has varchar(10)");
        let mut c = binlog();
        c[3].collation = Some(8);
        assert_eq!(err(c), "table `s`.`t` column 4 (`name` on the target): the binlog has varchar/varbinary of 40 bytes in latin1, the target has varchar(10)");
        let mut c = binlog();
        c[1].unsigned = Some(false);
        assert_eq!(err(c), "table `s`.`t` column 2 (`u` on the target): the binlog has tinyint, the target has tinyint(3) unsigned");
        let mut c = binlog();
        c[4].enum_values = vec![b"a".to_vec(), b"b".to_vec()];
        assert_eq!(err(c), "table `s`.`t` column 5 (`e` on the target): the binlog has enum (1-byte) of ('a','b'), the target has enum('a','it''s')");
        let mut c = binlog();
        c.push(bcol(ty::LONG, 0));
        assert_eq!(err(c), "table `s`.`t`: the binlog's rows have 6 columns, the target's table has 5");
        // Fewer logged columns than the target has: the first ones, by position.
        let t = map_onto(&tm(binlog()[..4].to_vec()), &target()).unwrap();
        assert_eq!(t.map.columns.len(), 4);
        assert_eq!(t.map.primary_key, vec![2]);
    }

    #[test]
    fn families_and_sizes_per_type() {
        let ok = |c: ColumnDef, i: ColumnInfo| check_column(&c, &i).is_ok();
        assert!(ok(bcol(ty::NEWDECIMAL, 10 << 8 | 4), ColumnInfo { numeric_precision: Some(10), numeric_scale: Some(4), ..info("decimal", "decimal(10,4)") }));
        assert!(!ok(bcol(ty::NEWDECIMAL, 10 << 8 | 4), ColumnInfo { numeric_precision: Some(12), numeric_scale: Some(4), ..info("decimal", "decimal(12,4)") }));
        assert!(ok(bcol(ty::DATETIME2, 6), ColumnInfo { datetime_precision: Some(6), ..info("datetime", "datetime(6)") }));
        assert!(!ok(bcol(ty::DATETIME2, 0), ColumnInfo { datetime_precision: Some(6), ..info("datetime", "datetime(6)") }));
        assert!(ok(bcol(ty::TIMESTAMP2, 0), ColumnInfo { datetime_precision: Some(0), ..info("timestamp", "timestamp") }));
        assert!(ok(bcol(ty::BLOB, 2), info("text", "text")));
        assert!(ok(bcol(ty::BLOB, 4), info("longtext", "longtext")));
        assert!(!ok(bcol(ty::BLOB, 3), info("longblob", "longblob")));
        assert!(ok(bcol(ty::JSON, 4), info("longtext", "longtext")));
        assert!(ok(bcol(ty::BIT, 64), ColumnInfo { numeric_precision: Some(64), ..info("bit", "bit(64)") }));
        assert!(ok(bcol(ty::SET, 1), info("set", "set('x','y','z')")));
        assert!(!ok(bcol(ty::SET, 2), info("set", "set('x','y','z')")));
        assert!(ok(bcol(ty::STRING, 16), info("inet6", "inet6")), "plugin types are not refused");
        assert!(ok(bcol(ty::GEOMETRY, 4), info("point", "point")));
        assert!(!ok(bcol(ty::DOUBLE, 8), info("float", "float")));
        // A latin1 ENUM string (not UTF-8) is not compared with information_schema's UTF-8.
        let mut e = bcol(ty::ENUM, 1);
        e.enum_values = vec![b"caf\xe9".to_vec()];
        assert!(ok(e, info("enum", "enum('café')")));
        assert_eq!(enum_values("set('a','b''c','d\\\\e')"), vec!["a", "b'c", "d\\e"]);
    }
}
