//! Table key knowledge for the writeset modes: primary key, every unique key, foreign keys (as
//! child and as parent, with their ON DELETE / ON UPDATE actions) and per-column collation,
//! resolved to column positions.
//!
//! Owns the [`KeyCatalog`] trait, the resolved [`TableKeys`] layout and [`StaticCatalog`] (built
//! from TABLE_MAP FULL metadata plus explicit [`TableDef`]s; used by tests and by `analyze` on
//! files). The live-server catalog is [`super::infoschema::InfoSchemaCatalog`]. It must not
//! hash values or decide dependencies (that is [`super::keys`] and the rules).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::RwLock;
use xxhash_rust::xxh3::xxh3_64;

use super::collation::{self, CollationRule};
use crate::decode::event::{ColumnDef, TableMap};

/// Key knowledge about tables. Called by the dispatcher thread once per ROWS change.
pub trait KeyCatalog: Send + Sync {
    /// The key layout of the table `table` describes, or `None` when it is unknown (the
    /// transaction then becomes an `UnknownSchema` barrier).
    fn table_keys(&self, table: &TableMap) -> Option<Arc<TableKeys>>;
    /// The layout [`KeyCatalog::table_keys`] already resolved for `table`, without loading
    /// anything (so callable from async code): `None` when unknown or not looked up yet.
    fn cached_table_keys(&self, table: &TableMap) -> Option<Arc<TableKeys>> {
        let _ = table;
        None
    }
    /// The table `table` describes as the target has it: column names, primary key, signedness
    /// and collations taken from the target's schema and checked against the TABLE_MAP (see
    /// [`super::target`]). `None`: this catalog knows no target (tests, `analyze`); the
    /// TABLE_MAP is used as it is. May load (blocking), like [`KeyCatalog::table_keys`].
    fn target_table(&self, table: &TableMap) -> Option<Result<Arc<super::target::TargetTable>, super::target::MapError>> {
        let _ = table;
        None
    }
    /// A DDL transaction has been applied: drop cached layouts so they are reloaded.
    fn invalidate(&self) {}
}

/// One index whose values identify rows: the primary key, a unique key, or a column set that a
/// foreign key of another table references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    /// Column positions (row image order).
    pub columns: Vec<usize>,
    /// Prefix length in characters per column (`KEY(c(10))`), `None` for the whole value.
    pub prefix_chars: Vec<Option<u32>>,
    /// Hash seed identifying (schema, table, index); two tables never share one.
    pub id: u64,
}

/// A foreign key of this table (the child) to a parent's column set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDef {
    pub name: String,
    /// Child column positions, in the constraint's order.
    pub columns: Vec<usize>,
    pub parent_schema: String,
    pub parent_table: String,
    pub parent_columns: Vec<String>,
    /// Equals the `id` of the parent's referenced [`IndexDef`], so both sides hash alike.
    pub id: u64,
}

/// The resolved key layout of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableKeys {
    pub schema: String,
    pub table: String,
    pub column_names: Vec<String>,
    /// Comparison rule per column (binary for non-string columns: they never carry bytes).
    pub collations: Vec<CollationRule>,
    /// Primary key first (when there is one), then every unique key.
    pub unique_keys: Vec<IndexDef>,
    pub has_primary_key: bool,
    /// This table as FK child.
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Column sets of this table that other tables' FKs reference (this table as parent).
    pub referenced_keys: Vec<IndexDef>,
    /// Cascades a change to this table sets off on the target (see [`CascadeReach`]).
    pub cascade: CascadeReach,
}

/// What a referencing FK does to its child rows when the parent row is deleted or its
/// referenced columns change (`information_schema.REFERENTIAL_CONSTRAINTS.DELETE_RULE` /
/// `UPDATE_RULE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FkAction {
    /// `RESTRICT` or `NO ACTION` (InnoDB checks both at once): the change fails while children
    /// exist, so a logged change reached no child row.
    #[default]
    Restrict,
    Cascade,
    SetNull,
    /// Refused by InnoDB; kept so an unknown engine's rule is treated as the widest reach.
    SetDefault,
}

impl FkAction {
    /// The rule as information_schema spells it; anything unrecognised reaches as far as
    /// `SET DEFAULT` (the conservative side).
    pub fn from_rule(rule: &str) -> FkAction {
        match rule.trim().to_ascii_uppercase().as_str() {
            "RESTRICT" | "NO ACTION" => FkAction::Restrict,
            "CASCADE" => FkAction::Cascade,
            "SET NULL" => FkAction::SetNull,
            _ => FkAction::SetDefault,
        }
    }
}

/// Child rows the target's own FK actions change when a row of this table changes. The source
/// logs none of them (InnoDB runs cascades below the binlog), so the writeset keys of the
/// logged parent row are all the scheduler sees; `keys.rs` turns what they cannot name into a
/// `FkCascade` barrier. Worked example, `orders.customer_id -> customer.id ON DELETE CASCADE`:
/// ```text
/// T1: DELETE customer 5          logged: customer 5 only; orders 100 (customer 5) goes too
/// T2: INSERT orders (100, 7)     keys {orders PK 100, customer ref 7}: nothing names T1
/// ```
/// Run before T1, T2 hits a duplicate key on orders 100. No key of T1 can name order 100 (the
/// parent row does not say which orders it has), so T1 is a barrier. ON UPDATE CASCADE, in
/// contrast, leaves the children in place with the parent's new value, which every later
/// transaction on them carries as its FK key (and every earlier one carried the old value):
/// the parent update's referenced keys of both images already order it against them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CascadeReach {
    /// A deleted row of this table may delete or change child rows (ON DELETE CASCADE, SET
    /// NULL or SET DEFAULT in some referencing FK): every DELETE is a barrier.
    pub delete_barrier: bool,
    /// Column positions whose change in an UPDATE changes child rows in a way no key of the
    /// update names (ON UPDATE SET NULL/SET DEFAULT, or a CASCADE into child columns that
    /// further FKs reference): such an UPDATE is a barrier.
    pub update_barrier_columns: Vec<usize>,
    /// Column positions whose change cascades ON UPDATE to child rows that keep the new value
    /// (named by the referenced keys of the after image); a barrier only when the new value is
    /// NULL (the children then carry no FK key at all).
    pub update_cascade_columns: Vec<usize>,
}

impl CascadeReach {
    /// True when no change to this table touches child rows.
    pub fn is_empty(&self) -> bool {
        !self.delete_barrier && self.update_barrier_columns.is_empty() && self.update_cascade_columns.is_empty()
    }
}

impl TableKeys {
    /// True when a row can be identified by a unique key (else the table as a whole is the key:
    /// see [`TableKeys::table_key`]).
    pub fn has_unique_key(&self) -> bool {
        !self.unique_keys.is_empty()
    }

    /// The key of the whole table, which every change to a table without a unique key carries
    /// (so such changes run one after another, in source order, and never beside each other)
    /// instead of making its transaction a barrier: transactions on other tables still run
    /// beside them, and they still join commit groups.
    pub fn table_key(&self) -> u64 {
        let s = format!("table\0{}\0{}", self.schema.to_lowercase(), self.table.to_lowercase());
        xxh3_64(s.as_bytes())
    }
}

/// The id of a unique index: (schema, table, index name), case-folded like MySQL on
/// case-insensitive file systems (folding only merges ids, which is safe).
pub fn unique_index_id(schema: &str, table: &str, index: &str) -> u64 {
    let s = format!("uk\0{}\0{}\0{}", schema.to_lowercase(), table.to_lowercase(), index.to_lowercase());
    xxh3_64(s.as_bytes())
}

/// The id of a referenced column set: (parent schema, parent table, parent columns in FK order).
pub fn referenced_key_id(parent_schema: &str, parent_table: &str, parent_columns: &[String]) -> u64 {
    let mut s = format!("ref\0{}\0{}", parent_schema.to_lowercase(), parent_table.to_lowercase());
    for c in parent_columns {
        s.push('\0');
        s.push_str(&c.to_lowercase());
    }
    xxh3_64(s.as_bytes())
}

/// The comparison rule for a TABLE_MAP column: its collation when it has one, else binary for
/// non-string types and the folding-everything rule for strings of unknown collation.
pub fn column_rule(col: &ColumnDef) -> CollationRule {
    match col.collation {
        Some(id) => collation::rule_for_id(id),
        None if is_text_type(col.real_type) => CollationRule::UNKNOWN,
        None => CollationRule::BINARY,
    }
}

fn is_text_type(t: u8) -> bool {
    // VARCHAR 15, VAR_STRING 253, STRING 254, BLOB family 249..=252, MariaDB compressed 140/141.
    matches!(t, 15 | 253 | 254 | 249..=252 | 140 | 141)
}

/// An explicit table definition (columns in ordinal order, keys by column name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDef {
    pub schema: String,
    pub table: String,
    /// (column name, collation name or None for non-string / use TABLE_MAP's).
    pub columns: Vec<(String, Option<String>)>,
    pub primary_key: Vec<String>,
    /// Prefix length per primary-key column (`PRIMARY KEY (c(10))`); missing entries mean the
    /// whole value. Kept apart from `primary_key` so existing users of that list stay valid.
    pub primary_key_prefix: Vec<Option<u32>>,
    /// (index name, columns with optional prefix length).
    pub unique_keys: Vec<(String, Vec<(String, Option<u32>)>)>,
    pub foreign_keys: Vec<ForeignKeySpec>,
    /// What the server says about each column, in ordinal order (filled by
    /// [`super::infoschema::InfoSchemaCatalog`]; empty for hand-written definitions). Used to map
    /// and check TABLE_MAPs against the target (see [`super::target`]).
    pub column_info: Vec<ColumnInfo>,
    /// MariaDB system versioning of the table (information_schema `TABLE_TYPE = 'SYSTEM
    /// VERSIONED'`).
    pub versioning: Versioning,
    /// A MariaDB SEQUENCE (information_schema `TABLE_TYPE = 'SEQUENCE'`).
    pub sequence: bool,
}

/// How a table is system-versioned (MariaDB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Versioning {
    #[default]
    None,
    /// `ROW START` / `ROW END` are TIMESTAMP(6) (implicit `row_start`/`row_end`, or named ones).
    Timestamp,
    /// Transaction-precise: `ROW START` / `ROW END` are BIGINT UNSIGNED transaction ids, which
    /// the server that applies the rows assigns from its own `mysql.transaction_registry`.
    TrxId,
}

/// One column as information_schema.COLUMNS describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnInfo {
    /// `DATA_TYPE`, lower case (`int`, `varchar`, `enum`, ...).
    pub data_type: String,
    /// `COLUMN_TYPE` as the server prints it (`int(10) unsigned`, `enum('a','b')`, ...).
    pub column_type: String,
    pub octet_length: Option<u64>,
    pub numeric_precision: Option<u64>,
    pub numeric_scale: Option<u64>,
    pub datetime_precision: Option<u64>,
    pub charset: Option<String>,
    /// The collation's id on the server (`COLLATIONS.ID`).
    pub collation_id: Option<u16>,
    /// Computed by the server: `VIRTUAL`/`STORED GENERATED` in `EXTRA` (not MySQL 8's
    /// `DEFAULT_GENERATED`, an expression default), including system versioning's ROW START/END.
    pub generated: bool,
}

/// A foreign key by names, as written in `CREATE TABLE` or read from information_schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignKeySpec {
    pub name: String,
    pub columns: Vec<String>,
    pub parent_schema: String,
    pub parent_table: String,
    pub parent_columns: Vec<String>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    /// Some foreign key (of any table) references one of this FK's child columns, so a cascade
    /// through this FK changes values another FK relation hashes (multi-level cascades).
    pub child_columns_referenced: bool,
}

impl TableDef {
    pub fn new(schema: &str, table: &str) -> Self {
        TableDef { schema: schema.into(), table: table.into(), ..Default::default() }
    }
    /// Add a column (in ordinal order) with an optional collation name.
    pub fn column(mut self, name: &str, collation: Option<&str>) -> Self {
        self.columns.push((name.into(), collation.map(str::to_string)));
        self
    }
    pub fn primary_key(mut self, cols: &[&str]) -> Self {
        self.primary_key = cols.iter().map(|c| c.to_string()).collect();
        self.primary_key_prefix.clear();
        self
    }
    /// A primary key with prefix lengths (`PRIMARY KEY (name(10), id)`).
    pub fn primary_key_prefix(mut self, cols: &[(&str, Option<u32>)]) -> Self {
        self.primary_key = cols.iter().map(|(c, _)| c.to_string()).collect();
        self.primary_key_prefix = cols.iter().map(|(_, p)| *p).collect();
        self
    }
    pub fn unique_key(mut self, name: &str, cols: &[&str]) -> Self {
        self.unique_keys.push((name.into(), cols.iter().map(|c| (c.to_string(), None)).collect()));
        self
    }
    pub fn unique_key_prefix(mut self, name: &str, cols: &[(&str, Option<u32>)]) -> Self {
        self.unique_keys.push((name.into(), cols.iter().map(|(c, p)| (c.to_string(), *p)).collect()));
        self
    }
    pub fn foreign_key(mut self, name: &str, cols: &[&str], parent_schema: &str, parent_table: &str, parent_cols: &[&str]) -> Self {
        self.foreign_keys.push(ForeignKeySpec {
            name: name.into(),
            columns: cols.iter().map(|c| c.to_string()).collect(),
            parent_schema: parent_schema.into(),
            parent_table: parent_table.into(),
            parent_columns: parent_cols.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        });
        self
    }
    /// Set the ON DELETE / ON UPDATE actions of the foreign key added last.
    pub fn on(mut self, on_delete: FkAction, on_update: FkAction) -> Self {
        if let Some(fk) = self.foreign_keys.last_mut() {
            fk.on_delete = on_delete;
            fk.on_update = on_update;
        }
        self
    }
}

fn lc_pair(schema: &str, table: &str) -> (String, String) {
    (schema.to_lowercase(), table.to_lowercase())
}

/// Resolve a [`TableDef`] to positions. `referencing` are the FKs of any table pointing at this
/// one. `table_map` supplies collations for columns the definition leaves open. Returns None
/// when a key names a column the definition does not have (the layout would be wrong).
pub fn resolve(def: &TableDef, referencing: &[ForeignKeySpec], table_map: Option<&TableMap>) -> Option<TableKeys> {
    let pos = |name: &str| def.columns.iter().position(|(c, _)| c.eq_ignore_ascii_case(name));
    let collations = def
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, coll))| match coll {
            Some(name) => collation::rule_for_name(name),
            None => table_map.and_then(|tm| tm.columns.get(i)).map(column_rule).unwrap_or(CollationRule::BINARY),
        })
        .collect();
    let mut unique_keys = Vec::new();
    if !def.primary_key.is_empty() {
        let columns = def.primary_key.iter().map(|c| pos(c)).collect::<Option<Vec<_>>>()?;
        let prefix_chars = (0..columns.len()).map(|i| def.primary_key_prefix.get(i).copied().flatten()).collect();
        unique_keys.push(IndexDef { name: "PRIMARY".into(), columns, prefix_chars, id: unique_index_id(&def.schema, &def.table, "PRIMARY") });
    }
    for (name, cols) in &def.unique_keys {
        let columns = cols.iter().map(|(c, _)| pos(c)).collect::<Option<Vec<_>>>()?;
        let prefix_chars = cols.iter().map(|(_, p)| *p).collect();
        unique_keys.push(IndexDef { name: name.clone(), columns, prefix_chars, id: unique_index_id(&def.schema, &def.table, name) });
    }
    let mut foreign_keys = Vec::new();
    for fk in &def.foreign_keys {
        let columns = fk.columns.iter().map(|c| pos(c)).collect::<Option<Vec<_>>>()?;
        foreign_keys.push(ForeignKeyDef {
            name: fk.name.clone(),
            columns,
            parent_schema: fk.parent_schema.clone(),
            parent_table: fk.parent_table.clone(),
            parent_columns: fk.parent_columns.clone(),
            id: referenced_key_id(&fk.parent_schema, &fk.parent_table, &fk.parent_columns),
        });
    }
    let mut referenced_keys: Vec<IndexDef> = Vec::new();
    for fk in referencing {
        let id = referenced_key_id(&fk.parent_schema, &fk.parent_table, &fk.parent_columns);
        if referenced_keys.iter().any(|k| k.id == id) {
            continue;
        }
        let columns = fk.parent_columns.iter().map(|c| pos(c)).collect::<Option<Vec<_>>>()?;
        let prefix_chars = vec![None; columns.len()];
        referenced_keys.push(IndexDef { name: format!("referenced by {}", fk.name), columns, prefix_chars, id });
    }
    let cascade = cascade_reach(referencing, |c| pos(c))?;
    Some(TableKeys {
        schema: def.schema.clone(),
        table: def.table.clone(),
        column_names: def.columns.iter().map(|(c, _)| c.clone()).collect(),
        collations,
        has_primary_key: !def.primary_key.is_empty(),
        unique_keys,
        foreign_keys,
        referenced_keys,
        cascade,
    })
}

/// What the FKs in `referencing` (all pointing at one parent table, whose columns `pos`
/// resolves) do to child rows; None when a parent column is unknown.
pub fn cascade_reach(referencing: &[ForeignKeySpec], pos: impl Fn(&str) -> Option<usize>) -> Option<CascadeReach> {
    let mut reach = CascadeReach::default();
    let add = |list: &mut Vec<usize>, cols: &[usize]| {
        for &c in cols {
            if !list.contains(&c) {
                list.push(c);
            }
        }
    };
    for fk in referencing {
        let cols = fk.parent_columns.iter().map(|c| pos(c)).collect::<Option<Vec<_>>>()?;
        // A deleted parent row: CASCADE deletes children (their primary and unique key values
        // become free for later inserts that carry no key of the parent), SET NULL / SET
        // DEFAULT leave them with values no FK key hashes (NULL is never hashed).
        if fk.on_delete != FkAction::Restrict {
            reach.delete_barrier = true;
        }
        match fk.on_update {
            FkAction::Restrict => {}
            FkAction::Cascade if !fk.child_columns_referenced => add(&mut reach.update_cascade_columns, &cols),
            // The children's new FK values are referenced by grandchildren under the child's
            // own index id, which the parent's keys never hash; or they become NULL / default.
            _ => add(&mut reach.update_barrier_columns, &cols),
        }
    }
    Some(reach)
}

/// The layout TABLE_MAP FULL metadata alone gives: the primary key and collations, no unique
/// keys beyond it and no foreign keys. None without FULL metadata or without a primary key.
pub fn from_table_map(tm: &TableMap) -> Option<TableKeys> {
    if !tm.has_full_metadata || tm.primary_key.is_empty() {
        return None;
    }
    if tm.primary_key.iter().any(|&i| i >= tm.columns.len()) {
        return None;
    }
    let column_names = tm.columns.iter().enumerate().map(|(i, c)| c.name.clone().unwrap_or_else(|| format!("@{}", i + 1))).collect();
    Some(TableKeys {
        schema: tm.schema.clone(),
        table: tm.table.clone(),
        column_names,
        collations: tm.columns.iter().map(column_rule).collect(),
        unique_keys: vec![IndexDef {
            name: "PRIMARY".into(),
            columns: tm.primary_key.clone(),
            prefix_chars: vec![None; tm.primary_key.len()],
            id: unique_index_id(&tm.schema, &tm.table, "PRIMARY"),
        }],
        has_primary_key: true,
        foreign_keys: Vec::new(),
        referenced_keys: Vec::new(),
        cascade: CascadeReach::default(),
    })
}

/// Cache of resolved layouts (or other per-table answers, `T`) keyed by TABLE_MAP identity
/// (table id + names + width), so the per-event lookup allocates nothing. Shared by the catalogs.
pub struct LayoutCache<T = TableKeys> {
    // Sync lock: the dispatcher reads it once per ROWS change; writers only on a miss. Never held
    // while calling out (to a server or another lock).
    #[allow(clippy::type_complexity)]
    by_table_id: RwLock<HashMap<u64, Vec<(String, String, usize, Option<Arc<T>>)>, BuildHasherDefault<TableIdHasher>>>,
}

impl<T> Default for LayoutCache<T> {
    fn default() -> Self {
        LayoutCache { by_table_id: RwLock::new(HashMap::default()) }
    }
}

/// Table ids are small server-assigned integers, not attacker-chosen strings: a multiply is
/// enough to spread them, and SipHash was a visible share of per-change key extraction.
#[derive(Default, Clone, Copy)]
pub struct TableIdHasher(u64);

impl Hasher for TableIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl<T> LayoutCache<T> {
    pub fn get(&self, tm: &TableMap) -> Option<Option<Arc<T>>> {
        let map = self.by_table_id.read();
        map.get(&tm.table_id)?
            .iter()
            .find(|(s, t, n, _)| *n == tm.columns.len() && s == &tm.schema && t == &tm.table)
            .map(|(_, _, _, k)| k.clone())
    }
    pub fn put(&self, tm: &TableMap, keys: Option<Arc<T>>) {
        let mut map = self.by_table_id.write();
        let slot = map.entry(tm.table_id).or_default();
        slot.retain(|(s, t, n, _)| !(*n == tm.columns.len() && s == &tm.schema && t == &tm.table));
        slot.push((tm.schema.clone(), tm.table.clone(), tm.columns.len(), keys));
    }
    pub fn clear(&self) {
        self.by_table_id.write().clear();
    }
}

/// A catalog from explicit definitions, falling back to TABLE_MAP FULL metadata (primary key
/// only) for tables without one when `trust_table_map` is on.
///
/// Without definitions, unique keys other than the primary key and foreign keys are invisible:
/// fine for `analyze` estimates (it says so), not for applying tables that have them.
pub struct StaticCatalog {
    defs: HashMap<(String, String), TableDef>,
    /// FKs pointing at each (parent schema, parent table), lower-cased.
    referencing: HashMap<(String, String), Vec<ForeignKeySpec>>,
    trust_table_map: bool,
    cache: LayoutCache,
}

impl Default for StaticCatalog {
    fn default() -> Self {
        Self::new()
    }
}

impl StaticCatalog {
    /// No definitions; trusts TABLE_MAP FULL metadata.
    pub fn new() -> Self {
        StaticCatalog { defs: HashMap::new(), referencing: HashMap::new(), trust_table_map: true, cache: LayoutCache::default() }
    }

    /// Whether tables without a definition use the TABLE_MAP primary key (default true) or are
    /// unknown (`UnknownSchema` barriers).
    pub fn trust_table_map(mut self, on: bool) -> Self {
        self.trust_table_map = on;
        self
    }

    pub fn with_table(mut self, def: TableDef) -> Self {
        self.add_table(def);
        self
    }

    pub fn add_table(&mut self, def: TableDef) {
        for fk in &def.foreign_keys {
            self.referencing.entry(lc_pair(&fk.parent_schema, &fk.parent_table)).or_default().push(fk.clone());
        }
        self.defs.insert(lc_pair(&def.schema, &def.table), def);
        self.cache.clear();
    }

    fn build(&self, tm: &TableMap) -> Option<Arc<TableKeys>> {
        let key = lc_pair(&tm.schema, &tm.table);
        match self.defs.get(&key) {
            Some(def) => {
                if def.columns.len() != tm.columns.len() {
                    // The definition does not match what the binlog shows: positions would lie.
                    return None;
                }
                let referencing = self.referencing_with_reach(&key);
                resolve(def, &referencing, Some(tm)).map(Arc::new)
            }
            None if self.trust_table_map => from_table_map(tm).map(|mut k| {
                // Tables only referenced by definitions still learn their referenced keys.
                if let Some(refs) = self.referencing.get(&key) {
                    for fk in refs {
                        let id = referenced_key_id(&fk.parent_schema, &fk.parent_table, &fk.parent_columns);
                        let cols: Option<Vec<usize>> = fk
                            .parent_columns
                            .iter()
                            .map(|c| k.column_names.iter().position(|n| n.eq_ignore_ascii_case(c)))
                            .collect();
                        if let Some(columns) = cols {
                            if !k.referenced_keys.iter().any(|r| r.id == id) {
                                let prefix_chars = vec![None; columns.len()];
                                k.referenced_keys.push(IndexDef { name: format!("referenced by {}", fk.name), columns, prefix_chars, id });
                            }
                        }
                    }
                    let names = k.column_names.clone();
                    // A referencing FK naming a column the TABLE_MAP lacks: reach unknown, so
                    // every delete and key update is a barrier.
                    k.cascade = cascade_reach(&self.referencing_with_reach(&key), |c| names.iter().position(|n| n.eq_ignore_ascii_case(c))).unwrap_or_else(|| {
                        CascadeReach { delete_barrier: true, update_barrier_columns: (0..names.len()).collect(), update_cascade_columns: Vec::new() }
                    });
                }
                Arc::new(k)
            }),
            None => None,
        }
    }
}

impl StaticCatalog {
    /// The FKs pointing at `parent` (lower-cased key), each told whether some FK of these
    /// definitions references its child columns.
    fn referencing_with_reach(&self, parent: &(String, String)) -> Vec<ForeignKeySpec> {
        let mut out = self.referencing.get(parent).cloned().unwrap_or_default();
        for fk in &mut out {
            let Some(child) = self.defs.iter().find(|(_, d)| d.foreign_keys.iter().any(|f| f.name == fk.name && f.parent_columns == fk.parent_columns && f.columns == fk.columns)).map(|(k, _)| k.clone()) else {
                continue;
            };
            let grand = self.referencing.get(&child).map(Vec::as_slice).unwrap_or(&[]);
            fk.child_columns_referenced |= grand.iter().any(|g| g.parent_columns.iter().any(|pc| fk.columns.iter().any(|c| c.eq_ignore_ascii_case(pc))));
        }
        out
    }
}

impl KeyCatalog for StaticCatalog {
    fn table_keys(&self, table: &TableMap) -> Option<Arc<TableKeys>> {
        if let Some(hit) = self.cache.get(table) {
            return hit;
        }
        let built = self.build(table);
        self.cache.put(table, built.clone());
        built
    }
    fn cached_table_keys(&self, table: &TableMap) -> Option<Arc<TableKeys>> {
        self.cache.get(table).flatten()
    }
    fn invalidate(&self) {
        self.cache.clear();
    }
}
