//! [`InfoSchemaCatalog`]: table key layouts loaded from a live server's information_schema —
//! unique keys (`STATISTICS`, with prefix lengths), foreign keys in both directions with their
//! ON DELETE / ON UPDATE rules (`KEY_COLUMN_USAGE` joined with `REFERENTIAL_CONSTRAINTS`; a
//! referencing FK also says whether a further FK references its child columns, for
//! multi-level cascades) and column collations
//! (`COLUMNS.COLLATION_NAME`) — the parts of rule 2 that TABLE_MAP does not carry.
//!
//! Owns the queries and their cache. It must not decide dependencies or hash values.
//!
//! Which server: the target is the better choice when it replicates the source's schema, because
//! its schema is exactly the one at the applied position (DDL reaches it through the same
//! pipeline). The source works too; a unique key added there later only adds ordering.
//!
//! Loading: [`InfoSchemaCatalog::preload`] reads whole schemas up front (async). A table missing
//! from the cache is loaded on first use from the dispatcher thread, which is not a runtime
//! thread, by blocking on the runtime handle; called from inside a runtime it cannot block, so it
//! answers "unknown" (an `UnknownSchema` barrier) instead. After DDL the dispatcher calls
//! [`KeyCatalog::invalidate`], which drops everything so the next use reloads.
//!
//! Foreign keys are read for the whole instance in one query and kept until the next
//! invalidation ([`FkSnapshot`]): information_schema cannot look up "which FKs reference this
//! table" by table (the lookup keys of `KEY_COLUMN_USAGE` and `REFERENTIAL_CONSTRAINTS` are the
//! owning table), so asking per table opened every table of the server twice per table loaded
//! (6 ms and 12 ms per table on a near-empty 10.11; 64 tables, or a reload after every DDL, made
//! that most of the target's work).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use parking_lot::{Mutex, RwLock};

use super::catalog::{resolve, ColumnInfo, FkAction, ForeignKeySpec, KeyCatalog, LayoutCache, TableDef, TableKeys, Versioning};
use super::target::{map_onto, MapError, TargetTable};
use crate::decode::event::TableMap;

/// Loading key metadata failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading key metadata of `{schema}`.`{table}`: {}", crate::error_text::chain(.cause))]
    Query { schema: String, table: String, cause: mysql_async::Error },
    #[error("listing tables of schema `{schema}`: {}", crate::error_text::chain(.cause))]
    List { schema: String, cause: mysql_async::Error },
}

/// [`InfoSchemaCatalog::target_table_async`] failed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Load(CatalogError),
    #[error(transparent)]
    Map(MapError),
}

/// What one table's rows in information_schema say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedTable {
    pub def: TableDef,
    /// Foreign keys of other tables that reference this one.
    pub referencing: Vec<ForeignKeySpec>,
}

type Key = (String, String);

/// Key layouts from a live server (see the module doc).
pub struct InfoSchemaCatalog {
    pool: mysql_async::Pool,
    runtime: tokio::runtime::Handle,
    // Sync lock: read once per cache miss of `LayoutCache`; never held across a query.
    tables: RwLock<HashMap<Key, Option<Arc<LoadedTable>>>>,
    layouts: LayoutCache,
    /// TABLE_MAPs mapped onto the target's tables (see [`super::target`]); `None`: mapping
    /// failed (the error is rebuilt from `tables` when asked again).
    targets: LayoutCache<TargetTable>,
    /// Every foreign key of the instance, read once per generation (see [`FkSnapshot`]).
    fks: Mutex<Option<Arc<FkSnapshot>>>,
    /// Bumped by every invalidation, so a snapshot read before one is never kept after it.
    generation: AtomicU64,
}

/// The foreign keys of every user table, as rows of [`ALL_FKS_SQL`] (one per column, ordered by
/// owning table, constraint and position), each with whether some FK references its column in
/// turn. Names match without regard to ASCII case, as the per-table queries this replaces did
/// (information_schema compares in a case-insensitive collation): a spurious match only adds a
/// dependency, never hides one.
#[derive(Debug, Default)]
pub struct FkSnapshot {
    generation: u64,
    rows: Vec<FkRow>,
    /// Lowercased (schema, table) of every referenced parent.
    parents: HashSet<(String, String)>,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

impl FkSnapshot {
    fn new(generation: u64, raw: Vec<RawFkRow>) -> FkSnapshot {
        let referenced: HashSet<(String, String, String)> = raw.iter().map(|r| (lower(&r.4), lower(&r.5), lower(&r.6))).collect();
        let parents = referenced.iter().map(|(s, t, _)| (s.clone(), t.clone())).collect();
        let rows = raw
            .into_iter()
            .map(|(name, schema, table, col, pschema, ptable, pcol, on_delete, on_update)| {
                let col_referenced = i64::from(referenced.contains(&(lower(&schema), lower(&table), lower(&col))));
                (name, schema, table, col, pschema, ptable, pcol, on_delete, on_update, col_referenced)
            })
            .collect();
        FkSnapshot { generation, rows, parents }
    }

    /// The FK rows `schema.table` owns (it is the child), in constraint and column order.
    fn owned_by(&self, schema: &str, table: &str) -> Vec<FkRow> {
        self.rows.iter().filter(|r| r.1.eq_ignore_ascii_case(schema) && r.2.eq_ignore_ascii_case(table)).cloned().collect()
    }

    /// The FK rows that reference `schema.table` (it is the parent), by child table,
    /// constraint and column.
    fn referencing(&self, schema: &str, table: &str) -> Vec<FkRow> {
        if !self.parents.contains(&(lower(schema), lower(table))) {
            return Vec::new();
        }
        self.rows.iter().filter(|r| r.4.eq_ignore_ascii_case(schema) && r.5.eq_ignore_ascii_case(table)).cloned().collect()
    }
}

// The collation's id comes from the server's own COLLATIONS table, so literals can name it.
const COLUMNS_SQL: &str = "SELECT c.COLUMN_NAME, c.COLLATION_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.CHARACTER_OCTET_LENGTH, \
     c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.DATETIME_PRECISION, c.CHARACTER_SET_NAME, co.ID, c.EXTRA, c.GENERATION_EXPRESSION \
     FROM information_schema.COLUMNS c LEFT JOIN information_schema.COLLATIONS co ON co.COLLATION_NAME = c.COLLATION_NAME \
     WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION";
const UNIQUE_SQL: &str = "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS \
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX";
/// Every foreign key of the user schemas, one row per column. No `EXISTS` for "is this column
/// referenced in turn": [`FkSnapshot`] answers it from the same rows.
const ALL_FKS_SQL: &str = "SELECT k.CONSTRAINT_NAME, k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME, \
     k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE \
     FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
     ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
     WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND k.TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') \
     ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";
/// How many hidden hash columns the table's rows carry: MariaDB (10.4+) implements a UNIQUE key
/// that is too long for the engine, or declared `USING HASH` on one without hash indexes, as a
/// "long unique": a fully invisible BIGINT UNSIGNED `DB_ROW_HASH_n` per such key, which COLUMNS does not
/// list but every row image carries, last (sql/sql_table.cc `add_hash_field` appends them after
/// every other column, system-versioning ones included). STATISTICS shows such a key as
/// `INDEX_TYPE = 'HASH'`; on MEMORY a HASH key is the engine's own and adds no column.
const LONG_UNIQUE_SQL: &str = "SELECT COUNT(DISTINCT s.INDEX_NAME) FROM information_schema.STATISTICS s \
     JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.TABLE_SCHEMA AND t.TABLE_NAME = s.TABLE_NAME \
     WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 AND s.INDEX_TYPE = 'HASH' \
     AND IFNULL(t.ENGINE, '') NOT IN ('MEMORY', 'HEAP')";
const TABLES_SQL: &str = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')";
const TABLE_TYPE_SQL: &str = "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";

type FkRow = (String, String, String, String, String, String, String, String, String, i64);
/// A row of [`ALL_FKS_SQL`]: an [`FkRow`] without its last field.
type RawFkRow = (String, String, String, String, String, String, String, String, String);
#[allow(clippy::type_complexity)]
type ColumnRow = (String, Option<String>, String, String, Option<u64>, Option<u64>, Option<u64>, Option<u64>, Option<String>, Option<u64>, String, Option<String>);

/// Fill in what information_schema leaves out of a system-versioned table. A table declared
/// `WITH SYSTEM VERSIONING` without its own period columns has two hidden ones that COLUMNS does
/// not list but every row image carries, always last (an `ALTER TABLE ... ADD COLUMN` puts new
/// columns before them; checked on MariaDB 10.11): `row_start` and `row_end`, TIMESTAMP(6).
/// STATISTICS does not show that they extend the primary key either; the keys stay the declared
/// columns, which only makes a current row and its history rows conflict with each other (never
/// a missed conflict). Named period columns (`PERIOD FOR SYSTEM_TIME (s, e)`) are listed, with
/// `GENERATION_EXPRESSION` `ROW START` / `ROW END`; BIGINT UNSIGNED ones are transaction ids.
fn add_versioning(def: &mut TableDef, row_start: Option<usize>) {
    match row_start {
        Some(i) => {
            let trx = def.column_info.get(i).is_some_and(|c| c.data_type == "bigint");
            def.versioning = if trx { Versioning::TrxId } else { Versioning::Timestamp };
        }
        None => {
            def.versioning = Versioning::Timestamp;
            for name in ["row_start", "row_end"] {
                def.columns.push((name.into(), None));
                def.column_info.push(ColumnInfo {
                    data_type: "timestamp".into(),
                    column_type: "timestamp(6)".into(),
                    datetime_precision: Some(6),
                    generated: true,
                    ..ColumnInfo::default()
                });
            }
        }
    }
}

/// Append the `hashes` hidden long-unique hash columns (see [`LONG_UNIQUE_SQL`]) as generated
/// columns: their logged values are mapped by position and never written (the server
/// computes them), as the native replica's own table has them.
fn add_long_unique_hashes(def: &mut TableDef, hashes: u64) {
    for n in 1..=hashes {
        def.columns.push((format!("DB_ROW_HASH_{n}"), None));
        def.column_info.push(ColumnInfo { data_type: "bigint".into(), column_type: "bigint(20) unsigned".into(), generated: true, ..ColumnInfo::default() });
    }
}

fn group_fks(rows: Vec<FkRow>) -> Vec<ForeignKeySpec> {
    let mut out: Vec<ForeignKeySpec> = Vec::new();
    let mut owner: Vec<(String, String)> = Vec::new();
    for (name, schema, table, col, pschema, ptable, pcol, on_delete, on_update, col_referenced) in rows {
        let idx = out.iter().zip(owner.iter()).position(|(f, (s, t))| f.name == name && *s == schema && *t == table);
        match idx {
            Some(i) => {
                out[i].columns.push(col);
                out[i].parent_columns.push(pcol);
                out[i].child_columns_referenced |= col_referenced != 0;
            }
            None => {
                out.push(ForeignKeySpec {
                    name,
                    columns: vec![col],
                    parent_schema: pschema,
                    parent_table: ptable,
                    parent_columns: vec![pcol],
                    on_delete: FkAction::from_rule(&on_delete),
                    on_update: FkAction::from_rule(&on_update),
                    child_columns_referenced: col_referenced != 0,
                });
                owner.push((schema, table));
            }
        }
    }
    out
}

impl InfoSchemaCatalog {
    /// A catalog reading through `pool`; `runtime` is used to load lazily from non-runtime
    /// threads (the dispatcher).
    pub fn new(pool: mysql_async::Pool, runtime: tokio::runtime::Handle) -> Self {
        InfoSchemaCatalog {
            pool,
            runtime,
            tables: RwLock::new(HashMap::new()),
            layouts: LayoutCache::default(),
            targets: LayoutCache::default(),
            fks: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// The instance's foreign keys of the current generation, read now if not yet.
    async fn fk_snapshot(&self, conn: &mut mysql_async::Conn) -> Result<Arc<FkSnapshot>, mysql_async::Error> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(s) = self.fks.lock().as_ref().filter(|s| s.generation == generation) {
            return Ok(s.clone());
        }
        let raw: Vec<RawFkRow> = conn.query(ALL_FKS_SQL).await?;
        let snapshot = Arc::new(FkSnapshot::new(generation, raw));
        // Kept only if no invalidation came while it was read (a later one reads again).
        if self.generation.load(Ordering::Acquire) == generation {
            *self.fks.lock() = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    /// Forget the foreign-key snapshot (a DDL may have added or dropped one).
    fn forget_fks(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.fks.lock() = None;
    }

    /// Read one table's columns, unique keys and foreign keys (both directions). `None` when
    /// the table does not exist.
    pub async fn load_table(&self, schema: &str, table: &str) -> Result<Option<LoadedTable>, CatalogError> {
        let err = |source| CatalogError::Query { schema: schema.into(), table: table.into(), cause: source };
        let mut conn = self.pool.get_conn().await.map_err(err)?;
        let columns: Vec<ColumnRow> = conn.exec(COLUMNS_SQL, (schema, table)).await.map_err(err)?;
        if columns.is_empty() {
            return Ok(None);
        }
        let uniques: Vec<(String, String, Option<u32>)> = conn.exec(UNIQUE_SQL, (schema, table)).await.map_err(err)?;
        let fks = self.fk_snapshot(&mut conn).await.map_err(err)?;
        let (as_child, as_parent) = (fks.owned_by(schema, table), fks.referencing(schema, table));

        let table_type: Option<String> = conn.exec_first(TABLE_TYPE_SQL, (schema, table)).await.map_err(err)?;
        let mut def = TableDef::new(schema, table);
        let mut row_start: Option<usize> = None;
        for (i, (name, collation, data_type, column_type, octet_length, numeric_precision, numeric_scale, datetime_precision, charset, collation_id, extra, expression)) in
            columns.into_iter().enumerate()
        {
            if expression.as_deref().is_some_and(|e| e.eq_ignore_ascii_case("ROW START")) {
                row_start = Some(i);
            }
            // MariaDB: `VIRTUAL GENERATED`, `STORED GENERATED` (ROW START/END: `STORED GENERATED,
            // INVISIBLE`); MySQL: the same two, and `DEFAULT_GENERATED` for an expression default,
            // which is an ordinary column.
            let extra = extra.to_ascii_uppercase();
            let generated = extra.contains("VIRTUAL GENERATED") || extra.contains("STORED GENERATED");
            def.columns.push((name, collation));
            def.column_info.push(ColumnInfo {
                data_type: data_type.to_ascii_lowercase(),
                column_type,
                octet_length,
                numeric_precision,
                numeric_scale,
                datetime_precision,
                charset,
                collation_id: collation_id.and_then(|id| u16::try_from(id).ok()),
                generated,
            });
        }
        def.sequence = table_type.as_deref() == Some("SEQUENCE");
        if table_type.as_deref() == Some("SYSTEM VERSIONED") {
            add_versioning(&mut def, row_start);
        }
        let hashes: Option<u64> = conn.exec_first(LONG_UNIQUE_SQL, (schema, table)).await.map_err(err)?;
        add_long_unique_hashes(&mut def, hashes.unwrap_or(0));
        for (index, column, sub_part) in uniques {
            if index == "PRIMARY" {
                def.primary_key.push(column);
                def.primary_key_prefix.push(sub_part);
            } else {
                match def.unique_keys.iter_mut().find(|(n, _)| *n == index) {
                    Some((_, cols)) => cols.push((column, sub_part)),
                    None => def.unique_keys.push((index, vec![(column, sub_part)])),
                }
            }
        }
        def.foreign_keys = group_fks(as_child);
        Ok(Some(LoadedTable { def, referencing: group_fks(as_parent) }))
    }

    /// Load every base table of `schemas` into the cache. Returns how many were loaded.
    pub async fn preload(&self, schemas: &[&str]) -> Result<usize, CatalogError> {
        let mut n = 0;
        for schema in schemas {
            let names: Vec<String> = {
                let list_err = |source| CatalogError::List { schema: (*schema).into(), cause: source };
                let mut conn = self.pool.get_conn().await.map_err(list_err)?;
                conn.exec(TABLES_SQL, (*schema,)).await.map_err(list_err)?
            };
            for table in names {
                self.store(schema, &table).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Reload one table (after DDL on it).
    pub async fn refresh(&self, schema: &str, table: &str) -> Result<(), CatalogError> {
        self.forget_fks();
        self.store(schema, table).await
    }

    /// Load one table into the cache (the FK snapshot as it is).
    async fn store(&self, schema: &str, table: &str) -> Result<(), CatalogError> {
        let loaded = self.load_table(schema, table).await?;
        self.tables.write().insert((schema.to_string(), table.to_string()), loaded.map(Arc::new));
        self.layouts.clear();
        self.targets.clear();
        Ok(())
    }

    /// [`KeyCatalog::target_table`] for async callers (a worker applying a streamed
    /// transaction's rows): loads a missing table without blocking.
    pub async fn target_table_async(&self, tm: &TableMap) -> Result<Arc<TargetTable>, TargetError> {
        if let Some(Some(hit)) = self.targets.get(tm) {
            return Ok(hit);
        }
        let key = (tm.schema.clone(), tm.table.clone());
        let cached = self.tables.read().get(&key).cloned();
        let loaded = match cached {
            Some(t) => t,
            None => {
                let t = self.load_table(&tm.schema, &tm.table).await.map_err(TargetError::Load)?.map(Arc::new);
                self.tables.write().insert(key, t.clone());
                t
            }
        };
        self.map_cached(tm, loaded).map_err(TargetError::Map)
    }

    /// Map `tm` onto `loaded` (the target's table, `None`: absent) and cache the answer.
    fn map_cached(&self, tm: &TableMap, loaded: Option<Arc<LoadedTable>>) -> Result<Arc<TargetTable>, MapError> {
        let mapped = match loaded {
            Some(t) => map_onto(tm, &t.def).map(Arc::new),
            None => Err(MapError::NoTable { schema: tm.schema.clone(), table: tm.table.clone() }),
        };
        self.targets.put(tm, mapped.as_ref().ok().cloned());
        mapped
    }

    /// The loaded description of a table, if cached.
    pub fn cached(&self, schema: &str, table: &str) -> Option<Arc<LoadedTable>> {
        self.tables.read().get(&(schema.to_string(), table.to_string())).cloned().flatten()
    }

    fn loaded(&self, schema: &str, table: &str) -> Option<Arc<LoadedTable>> {
        let key = (schema.to_string(), table.to_string());
        if let Some(hit) = self.tables.read().get(&key) {
            return hit.clone();
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            tracing::warn!(schema, table, "table key metadata not preloaded and cannot be loaded from a runtime thread");
            return None;
        }
        match self.runtime.block_on(self.load_table(schema, table)) {
            Ok(t) => {
                let t = t.map(Arc::new);
                self.tables.write().insert(key, t.clone());
                t
            }
            Err(e) => {
                // Not cached: a transient error is retried on the next use.
                tracing::warn!(schema, table, error = %e, "loading table key metadata failed");
                None
            }
        }
    }
}

/// `def` with its columns in the order the binlog's rows have them, when the TABLE_MAP names
/// them (FULL metadata) in an order other than the target's. `None`: no names, or the same
/// order (positions are the target's); a name the target lacks leaves the layout unknown.
fn in_binlog_order(def: &TableDef, tm: &TableMap) -> Option<TableDef> {
    let names: Vec<&str> = tm.columns.iter().map(|c| c.name.as_deref()).collect::<Option<_>>()?;
    if names.iter().zip(&def.columns).all(|(n, (c, _))| c.eq_ignore_ascii_case(n)) {
        return None;
    }
    let mut out = def.clone();
    out.columns.clear();
    out.column_info.clear();
    for name in names {
        match def.columns.iter().position(|(c, _)| c.eq_ignore_ascii_case(name)) {
            Some(j) => {
                out.columns.push(def.columns[j].clone());
                if let Some(i) = def.column_info.get(j) {
                    out.column_info.push(i.clone());
                }
            }
            // Keys resolved against this lose the missing column: `resolve` refuses keys naming
            // a column the definition lacks, so such a key makes the layout unknown (a barrier).
            None => out.columns.push((format!("\0missing {name}"), None)),
        }
    }
    Some(out)
}

impl KeyCatalog for InfoSchemaCatalog {
    fn table_keys(&self, tm: &TableMap) -> Option<Arc<TableKeys>> {
        if let Some(hit) = self.layouts.get(tm) {
            return hit;
        }
        let built = self.loaded(&tm.schema, &tm.table).and_then(|t| {
            if t.def.columns.len() != tm.columns.len() {
                // information_schema and the binlog disagree (DDL in between): positions would lie.
                return None;
            }
            match in_binlog_order(&t.def, tm) {
                Some(def) => resolve(&def, &t.referencing, Some(tm)).map(Arc::new),
                None => resolve(&t.def, &t.referencing, Some(tm)).map(Arc::new),
            }
        });
        self.layouts.put(tm, built.clone());
        built
    }

    fn cached_table_keys(&self, tm: &TableMap) -> Option<Arc<TableKeys>> {
        self.layouts.get(tm).flatten()
    }

    fn target_table(&self, tm: &TableMap) -> Option<Result<Arc<TargetTable>, MapError>> {
        if let Some(Some(hit)) = self.targets.get(tm) {
            return Some(Ok(hit));
        }
        Some(self.map_cached(tm, self.loaded(&tm.schema, &tm.table)))
    }

    fn invalidate(&self) {
        self.forget_fks();
        self.tables.write().clear();
        self.layouts.clear();
        self.targets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(cols: &[(&str, &str, bool)]) -> TableDef {
        let mut d = TableDef::new("s", "t");
        for (name, data_type, generated) in cols {
            d.columns.push((name.to_string(), None));
            d.column_info.push(ColumnInfo { data_type: data_type.to_string(), generated: *generated, ..ColumnInfo::default() });
        }
        d
    }

    /// information_schema lists neither of the implicit period columns: they are added last,
    /// as the row images carry them; named ones are kept, and BIGINT ones mean transaction ids.
    #[test]
    fn implicit_period_columns_are_added_after_the_listed_ones() {
        let mut d = def(&[("id", "int", false), ("a", "int", false)]);
        add_versioning(&mut d, None);
        assert_eq!(d.versioning, Versioning::Timestamp);
        assert_eq!(d.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["id", "a", "row_start", "row_end"]);
        assert!(d.column_info[2].generated && d.column_info[3].generated && d.column_info[3].datetime_precision == Some(6));

        let mut d = def(&[("id", "int", false), ("s", "timestamp", true), ("e", "timestamp", true)]);
        add_versioning(&mut d, Some(1));
        assert_eq!((d.versioning, d.columns.len()), (Versioning::Timestamp, 3));

        let mut d = def(&[("id", "int", false), ("s", "bigint", true), ("e", "bigint", true)]);
        add_versioning(&mut d, Some(1));
        assert_eq!((d.versioning, d.columns.len()), (Versioning::TrxId, 3));
    }

    /// A long UNIQUE's hidden hash columns come after every listed column, period columns
    /// included, one per key, never written (generated).
    #[test]
    fn long_unique_hash_columns_are_added_last() {
        let mut d = def(&[("id", "int", false), ("b", "blob", false)]);
        add_versioning(&mut d, None);
        add_long_unique_hashes(&mut d, 2);
        assert_eq!(d.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["id", "b", "row_start", "row_end", "DB_ROW_HASH_1", "DB_ROW_HASH_2"]);
        assert!(d.column_info[4].generated && d.column_info[5].data_type == "bigint");
        let mut d = def(&[("id", "int", false)]);
        add_long_unique_hashes(&mut d, 0);
        assert_eq!(d.columns.len(), 1);
    }
}
