//! What a target connection allows, asked once at start by the pipeline: keeping source GTIDs
//! (`SET gtid_domain_id`), `BINLOG` statements, compound statements.
//!
//! Owns the probe statements and how their answers read. It must not decide what the pipeline
//! does with the answers (the pipeline does) nor keep a connection.

use mysql_async::prelude::Queryable;

/// Try `SET gtid_domain_id` on `conn`: true when the target lets parapply keep source GTIDs.
pub async fn probe_keep_gtid(conn: &mut mysql_async::Conn) -> bool {
    match conn.query_drop("SET SESSION gtid_domain_id=@@GLOBAL.gtid_domain_id, server_id=@@GLOBAL.server_id").await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "target refuses SET gtid_domain_id/server_id (needs MariaDB and SUPER); source GTIDs will not be kept on the target, only in the checkpoint table");
            false
        }
    }
}

/// Whether the target runs BINLOG statements for this user: `BINLOG ''` is refused with 1227
/// without BINLOG REPLAY (or SUPER), and with it fails as an empty statement (ER_SYNTAX_ERROR
/// 1149, seen on MariaDB 10.11; 1064 accepted too); other answers mean no BINLOG path.
pub async fn probe_binlog_statement(conn: &mut mysql_async::Conn) -> Result<(), String> {
    match conn.query_drop("BINLOG ''").await {
        Ok(()) => Ok(()),
        Err(mysql_async::Error::Server(e)) if matches!(e.code, 1149 | 1064) => Ok(()),
        Err(mysql_async::Error::Server(e)) if e.code == 1227 => Err(format!("the target user lacks the BINLOG REPLAY privilege (or SUPER): {}", e.message)),
        Err(e) => Err(format!("the target does not run BINLOG statements: {e}")),
    }
}

/// Whether the target runs compound statements outside stored programs (MariaDB 10.1+).
pub async fn probe_compound(conn: &mut mysql_async::Conn) -> bool {
    match conn.query_drop("BEGIN NOT ATOMIC DO 1; END").await {
        Ok(()) => true,
        Err(e) => {
            tracing::info!(error = %e, "target has no compound statements; transactions go as multi-statement text");
            false
        }
    }
}
