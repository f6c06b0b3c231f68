//! MariaDB system-versioned tables on the target: which there are, and which of them parapply
//! refuses.
//!
//! Owns the queries that list them and the refusal texts. It must not decide how rows are sent
//! (the worker's [`crate::apply::worker::RowPath`] sends a timestamp-versioned table's rows as
//! BINLOG statements) nor map TABLE_MAPs (the catalog marks each mapped table, see
//! [`crate::schedule::target`]).
//!
//! # What the source logs, and what the native replica does (MariaDB 10.11, checked live)
//! - Timestamp versioning (`WITH SYSTEM VERSIONING`, implicit `row_start`/`row_end` or a named
//!   `PERIOD FOR SYSTEM_TIME (s, e)` of TIMESTAMP(6) columns): ROW events carry both period
//!   columns. An UPDATE is an UPDATE_ROWS of the current row (new ROW START) plus a WRITE_ROWS of
//!   the history row (old values, ROW END = the new ROW START); a DELETE is an UPDATE_ROWS that
//!   sets ROW END; `DELETE HISTORY` is DELETE_ROWS of history rows. The replica's row code writes
//!   the images as logged, so its history equals the source's to the microsecond. BINLOG
//!   statements go through the same code and give the same table; SQL cannot (an UPDATE or
//!   DELETE writes the target's own history row and timestamps).
//! - Transaction-precise versioning (`BIGINT UNSIGNED ... AS ROW START`): the source logs its DML
//!   as statements even under `binlog_format=ROW`, and whatever server applies them writes its
//!   own transaction ids (and `mysql.transaction_registry` times). The native replica's history
//!   therefore never equals the source's, and neither could parapply's: such a table is refused,
//!   at start when the target has one, and after the DDL that creates one.

use mysql_async::prelude::Queryable;

/// System-versioned tables on the target (MariaDB; none on MySQL), as (schema, table).
pub const VERSIONED_SQL: &str = "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'SYSTEM VERSIONED' \
     AND TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') ORDER BY 1, 2";

/// The ROW START column of one table when it holds transaction ids.
const TRX_START_SQL: &str = "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
     AND GENERATION_EXPRESSION = 'ROW START' AND DATA_TYPE = 'bigint'";

/// A versioned table: (schema, table).
pub type VersionedTable = (String, String);

/// The target's system-versioned tables.
pub async fn versioned_tables(conn: &mut mysql_async::Conn) -> Result<Vec<VersionedTable>, mysql_async::Error> {
    conn.query(VERSIONED_SQL).await
}

/// Of `tables`, those versioned by transaction id, with their ROW START column.
pub async fn trx_versioned(conn: &mut mysql_async::Conn, tables: &[VersionedTable]) -> Result<Vec<(String, String, String)>, mysql_async::Error> {
    let mut out = Vec::new();
    for (schema, table) in tables {
        let col: Option<String> = conn.exec_first(TRX_START_SQL, (schema, table)).await?;
        if let Some(col) = col {
            out.push((schema.clone(), table.clone(), col));
        }
    }
    Ok(out)
}

/// `` `s`.`t` `` list for messages.
pub fn describe(tables: &[VersionedTable]) -> String {
    tables.iter().map(|(s, t)| format!("`{s}`.`{t}`")).collect::<Vec<_>>().join(", ")
}

/// Why transaction-precise versioned tables are refused (see the module doc).
pub fn trx_refusal(tables: &[(String, String, String)]) -> String {
    let list = tables.iter().map(|(s, t, c)| format!("`{s}`.`{t}` (ROW START `{c}` BIGINT UNSIGNED)")).collect::<Vec<_>>().join(", ");
    format!(
        "system-versioned by transaction id: {list}. The source logs their changes as statements and the server that runs them writes its own transaction ids into the history (the native replica does too), so the target can never hold the source's history; refused. Version them by TIMESTAMP(6) (AS ROW START on TIMESTAMP(6) columns, or WITH SYSTEM VERSIONING alone), or keep them out of the replicated schemas"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_names_each_table_and_its_column() {
        let t = vec![("d".to_string(), "tx".to_string(), "s".to_string()), ("e".to_string(), "u`v".to_string(), "rs".to_string())];
        let m = trx_refusal(&t);
        assert!(m.starts_with("system-versioned by transaction id: `d`.`tx` (ROW START `s` BIGINT UNSIGNED), `e`.`u`v` (ROW START `rs` BIGINT UNSIGNED). "), "{m}");
        assert_eq!(describe(&[("a".into(), "b".into()), ("c".into(), "d".into())]), "`a`.`b`, `c`.`d`");
    }
}
