//! Column value decoding speed: one typical row (INT, BIGINT UNSIGNED, VARCHAR, DATETIME2,
//! DECIMAL(10,2), TIMESTAMP2(6), TIME2(3), DOUBLE, small JSON) decoded with
//! `parapply::decode::value::decode_value`, against mysql_common's `BinlogValue` parser on the
//! same bytes and metadata as the baseline measured in the same run. Report the ratio.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use mysql_common::binlog::value::BinlogValue;
use mysql_common::constants::ColumnType;
use mysql_common::io::ParseBuf;
use parapply::decode::event::ColumnDef;
use parapply::decode::value::decode_value;

struct Col {
    def: ColumnDef,
    /// mysql_common's view: type and raw TABLE_MAP metadata bytes.
    mc_type: ColumnType,
    mc_meta: Vec<u8>,
    unsigned: bool,
}

fn col(t: u8, meta: u16, raw_meta: &[u8], mc_type: ColumnType, unsigned: bool) -> Col {
    Col {
        def: ColumnDef { column_type: t, real_type: t, meta, unsigned: Some(unsigned), ..Default::default() },
        mc_type,
        mc_meta: raw_meta.to_vec(),
        unsigned,
    }
}

/// The row's columns and its image bytes.
fn row() -> (Vec<Col>, Vec<u8>) {
    let cols = vec![
        col(3, 0, &[], ColumnType::MYSQL_TYPE_LONG, false),
        col(8, 0, &[], ColumnType::MYSQL_TYPE_LONGLONG, true),
        col(15, 1020, &[0xfc, 0x03], ColumnType::MYSQL_TYPE_VARCHAR, false),
        col(18, 0, &[0], ColumnType::MYSQL_TYPE_DATETIME2, false),
        col(246, 10 << 8 | 2, &[10, 2], ColumnType::MYSQL_TYPE_NEWDECIMAL, false),
        col(17, 6, &[6], ColumnType::MYSQL_TYPE_TIMESTAMP2, false),
        col(19, 3, &[3], ColumnType::MYSQL_TYPE_TIME2, false),
        col(5, 8, &[8], ColumnType::MYSQL_TYPE_DOUBLE, false),
        col(245, 4, &[4], ColumnType::MYSQL_TYPE_JSON, false),
    ];
    let mut b = Vec::new();
    b.extend_from_slice(&123_456i32.to_le_bytes());
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    let s = b"customer-0000012345@example.org";
    b.extend_from_slice(&(s.len() as u16).to_le_bytes());
    b.extend_from_slice(s);
    b.extend_from_slice(&[0x99, 0xb2, 0x7a, 0xd9, 0x0e]); // DATETIME2(0)
    b.extend_from_slice(&[0x80, 0x00, 0x30, 0x39, 0x2a]); // DECIMAL(10,2) 12345.42
    b.extend_from_slice(&[0x65, 0x5d, 0x4a, 0x80, 0x01, 0xe2, 0x40]); // TIMESTAMP2(6)
    b.extend_from_slice(&[0x80, 0x10, 0x00, 0x01, 0xf4]); // TIME2(3)
    b.extend_from_slice(&1234.5f64.to_le_bytes());
    // {"a": 1, "b": "xy"}
    let j: &[u8] = &[0x00, 0x02, 0x00, 0x17, 0x00, 0x12, 0x00, 0x01, 0x00, 0x13, 0x00, 0x01, 0x00, 0x05, 0x01, 0x00, 0x0c,
        0x14, 0x00, b'a', b'b', 0x02, b'x', b'y'];
    b.extend_from_slice(&(j.len() as u32).to_le_bytes());
    b.extend_from_slice(j);
    (cols, b)
}

fn bench(c: &mut Criterion) {
    let (cols, bytes) = row();
    // Both decoders must accept the row and consume it exactly.
    let mut at = 0;
    for col in &cols {
        let (_, n) = decode_value(&col.def, &bytes[at..]).expect("parapply decodes the row");
        at += n;
    }
    assert_eq!(at, bytes.len());
    let mut buf = ParseBuf(&bytes);
    for col in &cols {
        buf.parse::<BinlogValue>((col.mc_type, &col.mc_meta[..], col.unsigned, false)).expect("mysql_common decodes the row");
    }
    assert!(buf.is_empty());

    let mut g = c.benchmark_group("decode_row_9_columns");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parapply_decode_value", |bch| {
        bch.iter(|| {
            let mut at = 0;
            for col in &cols {
                let (v, n) = decode_value(&col.def, &bytes[at..]).unwrap();
                black_box(v);
                at += n;
            }
        })
    });
    g.bench_function("baseline_mysql_common_binlog_value", |bch| {
        bch.iter(|| {
            let mut buf = ParseBuf(&bytes);
            for col in &cols {
                let v = buf.parse::<BinlogValue>((col.mc_type, &col.mc_meta[..], col.unsigned, false)).unwrap();
                black_box(v);
            }
        })
    });
    g.finish();

    // Per column, to see where the time goes.
    let mut g = c.benchmark_group("decode_column");
    let mut at = 0;
    for col in &cols {
        let (_, n) = decode_value(&col.def, &bytes[at..]).unwrap();
        let slice = &bytes[at..at + n];
        g.bench_function(format!("type_{}", col.def.column_type), |bch| {
            bch.iter(|| black_box(decode_value(&col.def, black_box(slice)).unwrap()))
        });
        at += n;
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
