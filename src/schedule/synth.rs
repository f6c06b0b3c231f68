//! Synthetic transactions for tests, benches and `analyze` self-checks: tables with full
//! TABLE_MAP metadata and row changes built from plain values.
//!
//! Owns nothing the pipeline uses at run time; it only builds [`Transaction`]s.

use std::sync::Arc;

use crate::decode::event::{ColumnDef, TableMap};
use crate::decode::value::{Row, Value};
use crate::txn::{Change, CommitDeps, RowChange, RowKind, RowsChange, Transaction};

/// MYSQL_TYPE_LONGLONG and MYSQL_TYPE_VARCHAR.
pub const TYPE_LONGLONG: u8 = 8;
pub const TYPE_VARCHAR: u8 = 15;

/// A TABLE_MAP with FULL metadata. `columns`: (name, type, collation id for strings).
pub fn table(table_id: u64, schema: &str, name: &str, columns: &[(&str, u8, Option<u16>)], primary_key: &[usize]) -> Arc<TableMap> {
    Arc::new(TableMap {
        table_id,
        schema: schema.into(),
        table: name.into(),
        columns: columns
            .iter()
            .map(|(n, t, coll)| ColumnDef {
                column_type: *t,
                real_type: *t,
                meta: if *t == TYPE_VARCHAR { 1020 } else { 0 },
                nullable: true,
                name: Some((*n).into()),
                unsigned: Some(false),
                collation: *coll,
                visible: true,
                ..Default::default()
            })
            .collect(),
        primary_key: primary_key.to_vec(),
        has_full_metadata: true,
        system_versioned: false,
        sequence: false,
    })
}

/// A full row image.
pub fn row(values: Vec<Value>) -> Row {
    Row { cols: values.into_iter().map(Some).collect() }
}

/// A string value.
pub fn s(v: &str) -> Value {
    Value::Bytes(v.as_bytes().to_vec())
}

/// One ROWS change.
pub fn rows(table: &Arc<TableMap>, kind: RowKind, images: Vec<(Option<Row>, Option<Row>)>) -> Change {
    Change::Rows(RowsChange { raw: None,
        table: table.clone(),
        kind,
        rows: images.into_iter().map(|(before, after)| RowChange { before, after }).collect(),
        flags: 0,
    })
}

/// A transaction with these changes and no commit information.
pub fn txn(changes: Vec<Change>) -> Transaction {
    Transaction { changes, ..Default::default() }
}

/// A transaction with a MySQL logical clock.
pub fn txn_clock(last_committed: i64, sequence_number: i64, changes: Vec<Change>) -> Transaction {
    Transaction { deps: CommitDeps::LogicalClock { last_committed, sequence_number }, changes, ..Default::default() }
}

/// Insert `ids` into a single-column-PK table `t` (column 0), one row each.
pub fn insert_ids(t: &Arc<TableMap>, ids: &[i64]) -> Change {
    rows(t, RowKind::Insert, ids.iter().map(|&i| (None, Some(row(vec![Value::Int(i), Value::Int(0)])))).collect())
}
