//! QUERY (2) event bodies and their status variables (MySQL and MariaDB).
//!
//! Owns the post-header, the status-variable block and the schema/query text. Unknown status
//! variables cannot be skipped (their length is not self-described), so parsing of the block
//! stops there and `status_vars_complete` is false; schema and query are still read from their
//! known offsets, which the block length gives. It must not interpret the SQL.

use crate::decode::event::{LoadQuery, QueryEvent};
use crate::decode::reader::{text, Cursor, Fail, Res};

// Status variable codes (MySQL `Query_event` and MariaDB `Query_log_event`).
const Q_FLAGS2: u8 = 0;
const Q_SQL_MODE: u8 = 1;
const Q_CATALOG: u8 = 2;
const Q_AUTO_INCREMENT: u8 = 3;
const Q_CHARSET: u8 = 4;
const Q_TIME_ZONE: u8 = 5;
const Q_CATALOG_NZ: u8 = 6;
const Q_LC_TIME_NAMES: u8 = 7;
const Q_CHARSET_DATABASE: u8 = 8;
const Q_TABLE_MAP_FOR_UPDATE: u8 = 9;
const Q_MASTER_DATA_WRITTEN: u8 = 10;
const Q_INVOKER: u8 = 11;
const Q_UPDATED_DB_NAMES: u8 = 12;
const Q_MICROSECONDS: u8 = 13;
const Q_COMMIT_TS: u8 = 14;
const Q_COMMIT_TS2: u8 = 15;
const Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP: u8 = 16;
const Q_DDL_LOGGED_WITH_XID: u8 = 17;
const Q_DEFAULT_COLLATION_FOR_UTF8MB4: u8 = 18;
const Q_SQL_REQUIRE_PRIMARY_KEY: u8 = 19;
const Q_DEFAULT_TABLE_ENCRYPTION: u8 = 20;
// MariaDB-only codes.
const Q_HRNOW: u8 = 128;
const Q_XID: u8 = 129;
const Q_GTID_FLAGS3: u8 = 130;
const Q_CHARACTER_SET_COLLATIONS: u8 = 131;

/// Q_UPDATED_DB_NAMES count meaning "too many databases, names not listed".
const OVER_MAX_DBS_IN_EVENT_MTS: u8 = 254;

/// Parse a QUERY body. `post_header_len` comes from the FDE (13 for v4, 11 for v1/v3).
/// `compressed_cap` is `Some(max size)` for MariaDB QUERY_COMPRESSED, whose query text is a
/// compressed block.
pub(crate) fn parse_query(
    body: &[u8],
    base: usize,
    post_header_len: usize,
    compressed_cap: Option<usize>,
) -> Res<QueryEvent> {
    parse_query_with_extra(body, base, post_header_len, compressed_cap).map(|(q, _)| q)
}

/// EXECUTE_LOAD_QUERY (18): a QUERY body whose post-header carries 13 more bytes (file id,
/// start and end of the ` [LOCAL] INFILE '...' [REPLACE|IGNORE] INTO` part of the statement,
/// duplicate handling); `post_header_len` is 26 in v4 FDEs.
pub(crate) fn parse_execute_load(body: &[u8], base: usize, post_header_len: usize) -> Res<LoadQuery> {
    if post_header_len < 26 {
        return Err(Fail::new(base, format!("EXECUTE_LOAD_QUERY post-header of {post_header_len} bytes, expected at least 26")));
    }
    let (query, extra) = parse_query_with_extra(body, base, post_header_len, None)?;
    let mut c = Cursor::new(extra, base + 13);
    let file_id = c.u32("EXECUTE_LOAD_QUERY file id")?;
    let fn_start_at = c.at();
    let fn_pos_start = c.u32("EXECUTE_LOAD_QUERY file name start")? as usize;
    let fn_pos_end = c.u32("EXECUTE_LOAD_QUERY file name end")? as usize;
    let dup_handling = c.u8("EXECUTE_LOAD_QUERY duplicate handling")?;
    if fn_pos_start > fn_pos_end || fn_pos_end > query.query.len() {
        return Err(Fail::new(
            fn_start_at,
            format!("EXECUTE_LOAD_QUERY file name at {fn_pos_start}..{fn_pos_end} outside its {}-byte statement", query.query.len()),
        ));
    }
    Ok(LoadQuery { query, file_id, fn_pos_start, fn_pos_end, dup_handling })
}

/// BEGIN_LOAD_QUERY (17) / APPEND_BLOCK (9): `u32 file id`, then the block of the file.
pub(crate) fn parse_load_block(body: &[u8], base: usize) -> Res<(u32, Vec<u8>)> {
    let mut c = Cursor::new(body, base);
    let file_id = c.u32("LOAD block file id")?;
    Ok((file_id, c.take_rest().to_vec()))
}

/// The body and the post-header bytes past the 13 every QUERY event has (empty when none).
fn parse_query_with_extra(
    body: &[u8],
    base: usize,
    post_header_len: usize,
    compressed_cap: Option<usize>,
) -> Res<(QueryEvent, &[u8])> {
    let mut c = Cursor::new(body, base);
    let thread_id = c.u32("QUERY thread id")?;
    let exec_time = c.u32("QUERY exec time")?;
    let schema_len = c.u8("QUERY schema length")? as usize;
    let error_code = c.u16("QUERY error code")?;
    let status_len = if post_header_len >= 13 { c.u16("QUERY status vars length")? as usize } else { 0 };
    // EXECUTE_LOAD_QUERY and newer servers extend the post-header.
    let extra = if post_header_len > 13 { c.bytes(post_header_len - 13, "QUERY post-header")? } else { &[] };
    let status_base = c.at();
    let status = c.bytes(status_len, "QUERY status vars")?;
    let mut q = QueryEvent { thread_id, exec_time, error_code, ..QueryEvent::default() };
    q.status_vars_complete = parse_status_vars(&mut q, Cursor::new(status, status_base))?;
    q.schema = text(c.bytes(schema_len, "QUERY schema")?);
    let nul_at = c.at();
    if c.u8("QUERY schema terminator")? != 0 {
        return Err(Fail::new(nul_at, "QUERY schema name is not NUL-terminated"));
    }
    let at = c.at();
    let rest = c.take_rest();
    q.query = match compressed_cap {
        Some(cap) => crate::decode::compressed::uncompress(rest, at, cap)?,
        None => rest.to_vec(),
    };
    Ok((q, extra))
}

/// Returns false when an unknown code stopped the parse.
fn parse_status_vars(q: &mut QueryEvent, mut c: Cursor<'_>) -> Res<bool> {
    while !c.is_empty() {
        let code_at = c.at();
        let code = c.u8("status var code")?;
        match code {
            Q_FLAGS2 => q.flags2 = Some(c.u32("Q_FLAGS2")?),
            Q_SQL_MODE => q.sql_mode = Some(c.u64("Q_SQL_MODE")?),
            Q_CATALOG => {
                // 5.0.0-5.0.3: length, text, NUL.
                let n = c.u8("Q_CATALOG length")? as usize;
                c.skip(n + 1, "Q_CATALOG")?;
            }
            Q_AUTO_INCREMENT => {
                let increment = c.u16("Q_AUTO_INCREMENT increment")?;
                let offset = c.u16("Q_AUTO_INCREMENT offset")?;
                q.auto_increment = Some((increment, offset));
            }
            Q_CHARSET => {
                let client = c.u16("Q_CHARSET client")?;
                let conn = c.u16("Q_CHARSET connection")?;
                let server = c.u16("Q_CHARSET server")?;
                q.charset = Some((client, conn, server));
            }
            Q_TIME_ZONE => q.time_zone = Some(text(c.u8_bytes("Q_TIME_ZONE")?)),
            Q_CATALOG_NZ => {
                c.u8_bytes("Q_CATALOG_NZ")?;
            }
            Q_LC_TIME_NAMES => q.lc_time_names = Some(c.u16("Q_LC_TIME_NAMES")?),
            Q_CHARSET_DATABASE => q.charset_database = Some(c.u16("Q_CHARSET_DATABASE")?),
            Q_TABLE_MAP_FOR_UPDATE => q.table_map_for_update = Some(c.u64("Q_TABLE_MAP_FOR_UPDATE")?),
            Q_MASTER_DATA_WRITTEN => {
                c.u32("Q_MASTER_DATA_WRITTEN")?;
            }
            Q_INVOKER => {
                let user = text(c.u8_bytes("Q_INVOKER user")?);
                let host = text(c.u8_bytes("Q_INVOKER host")?);
                q.invoker = Some((user, host));
            }
            Q_UPDATED_DB_NAMES => {
                let n = c.u8("Q_UPDATED_DB_NAMES count")?;
                let mut names = Vec::new();
                if n != OVER_MAX_DBS_IN_EVENT_MTS {
                    for _ in 0..n {
                        names.push(text(c.cstr("Q_UPDATED_DB_NAMES name")?));
                    }
                }
                q.updated_db_names = Some(names);
            }
            Q_MICROSECONDS | Q_HRNOW => q.microseconds = Some(c.uint_n(3, "Q_MICROSECONDS")? as u32),
            // Declared by MySQL but never written with a payload.
            Q_COMMIT_TS | Q_COMMIT_TS2 => {}
            Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP => {
                q.explicit_defaults_for_timestamp = Some(c.u8("Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP")? != 0)
            }
            Q_DDL_LOGGED_WITH_XID | Q_XID => q.ddl_xid = Some(c.u64("Q_DDL_LOGGED_WITH_XID")?),
            Q_DEFAULT_COLLATION_FOR_UTF8MB4 => {
                q.default_collation_for_utf8mb4 = Some(c.u16("Q_DEFAULT_COLLATION_FOR_UTF8MB4")?)
            }
            Q_SQL_REQUIRE_PRIMARY_KEY => q.sql_require_primary_key = Some(c.u8("Q_SQL_REQUIRE_PRIMARY_KEY")?),
            Q_DEFAULT_TABLE_ENCRYPTION => {
                q.default_table_encryption = Some(c.u8("Q_DEFAULT_TABLE_ENCRYPTION")?)
            }
            Q_GTID_FLAGS3 => q.gtid_flags3 = Some(c.u8("Q_GTID_FLAGS3")?),
            Q_CHARACTER_SET_COLLATIONS => {
                // MariaDB 11.2+: count, then count x (charset id u16, collation id u16).
                let n = c.u8("Q_CHARACTER_SET_COLLATIONS count")? as usize;
                c.skip(n * 4, "Q_CHARACTER_SET_COLLATIONS")?;
            }
            _ => {
                let _ = code_at;
                return Ok(false);
            }
        }
    }
    Ok(true)
}
