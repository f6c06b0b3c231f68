//! The generator's synthetic workload: schema, and a deterministic stream of transactions
//! (setup DDL, DML of `txn_size` row changes grouped into logical-clock groups, periodic DDL).
//!
//! Owns *what* happens (tables, keys, row values, groups), not how it is encoded: it yields
//! [`WorkTxn`]s that [`super::generate`] turns into events. Same [`super::GenParams`] (seed
//! included) => same stream, so tests re-run it to know exactly what the files must contain.
//!
//! # Rules tests rely on
//!
//! - **Setup.** The stream starts with `CREATE DATABASE IF NOT EXISTS gen`, then one
//!   `CREATE TABLE` per table (`t1..tN`, then `p1, c1, p2, c2, ...` for FK pairs, parents
//!   first). Each setup DDL is its own transaction and its own group.
//! - **Groups.** DML transactions are packed into groups of `group_width` consecutive
//!   transactions. A periodic DDL (before DML transaction number `k * ddl_every`, k >= 1, i.e.
//!   never first and never last) closes the open group early and is a group of its own; the next
//!   DML starts a fresh group. The generator gives every transaction of group g
//!   `last_committed` = sequence number of the last transaction of group g-1 in the same file (0
//!   for the first group of a file) and consecutive `sequence_number`s (restarting at 1 in every
//!   file, like MySQL); files rotate only between groups. Hence the logical-clock critical path
//!   equals the number of groups: e.g. 800 DML transactions, width 8, 4 tables, no periodic
//!   DDL => 100 DML groups + 5 setup groups = 105.
//! - **No key overlap inside a group** (unless `allow_group_overlap`): the *keys* of a
//!   transaction are (table, primary key) of every row it changes plus, for child tables,
//!   (parent table, parent id) of the before and after images. The unique key `uk` is a
//!   function of `id` (`2^63 + id`) so it adds no key of its own. No two transactions of one
//!   group share a key, so any order inside a group gives the same result.
//! - **Statements.** A DML transaction is a sequence of statements, each 1..=`max_statement_rows`
//!   rows (uniform) of one kind on one table, until it has exactly `txn_size` row changes. Each
//!   statement is one TABLE_MAP and one or more ROWS events (split at `rows_event_max_size`).
//! - **Key choice.** An id is drawn uniformly or Zipf(`zipf`) over 1..=rows (id 1 hottest); if
//!   it does not qualify (insert needs an absent id, update/delete a present one, and the key
//!   must be free in the open group), the next ids are tried in order, wrapping. So under the
//!   no-overlap rule a hot key taken by one transaction of a group pushes the others of that
//!   group to its neighbours: skew shows across groups, not inside one.
//! - **Valid stream.** Inserts hit absent ids, updates and deletes present ones, child rows
//!   always reference an existing parent, and a parent row is deleted only when no child row
//!   references it: the stream applies cleanly to an empty server in source order.
//! - **Sessions.** DML transaction i of a group runs in session (QUERY thread_id) 100 + i, DDL
//!   in session 10: one session per group position, like `group_width` clients.

use std::collections::{HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::encode::{ColumnDef, ColumnType, DateTime, RowsKind, TableDef, Value};
use super::{GenError, GenParams};
use crate::net::quote_ident;

/// Schema (database) all generated tables live in.
pub const SCHEMA: &str = "gen";
/// Name of the secondary index periodic DDL adds and drops.
pub const PERIODIC_INDEX: &str = "ix_k";
/// Session (thread id) of DDL transactions.
pub const DDL_SESSION: u32 = 10;
/// Session of DML transaction i of a group is `DML_SESSION_BASE + i`.
pub const DML_SESSION_BASE: u32 = 100;
/// Largest key space the generator keeps state for (rows x tables).
pub const MAX_KEY_SPACE: u64 = 50_000_000;
const STATUS_VALUES: [&str; 4] = ["new", "paid", "shipped", "cancelled"];

/// Role of a table in the FK structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableRole {
    Plain,
    /// Parent of the child table at this index.
    Parent { child: usize },
    /// Child whose `parent_id` references the parent table at this index.
    Child { parent: usize },
}

#[derive(Debug, Clone)]
pub struct GenTable {
    pub def: TableDef,
    pub role: TableRole,
    pub create_sql: String,
}

/// Index of the `parent_id` column in child tables (the last column).
pub const CHILD_PARENT_COLUMN: usize = 9;

fn base_columns() -> Vec<ColumnDef> {
    let col = |name: &str, ty: ColumnType, nullable: bool| ColumnDef { name: name.to_string(), ty, nullable };
    vec![
        col("id", ColumnType::BigInt { unsigned: false }, false),
        col("k", ColumnType::Int { unsigned: false }, false),
        col("qty", ColumnType::Int { unsigned: true }, false),
        col("uk", ColumnType::BigInt { unsigned: true }, false),
        col("c", ColumnType::Varchar { max_chars: 60 }, false),
        col("pad", ColumnType::Varchar { max_chars: 255 }, true),
        col("amount", ColumnType::Decimal { precision: 10, scale: 2 }, false),
        col("ts", ColumnType::DateTime { fsp: 6 }, false),
        col("status", ColumnType::Enum { values: STATUS_VALUES.iter().map(|s| s.to_string()).collect() }, false),
    ]
}

fn create_table_sql(def: &TableDef, fk_parent: Option<&str>) -> String {
    let mut lines: Vec<String> = def
        .columns
        .iter()
        .map(|c| format!("  {} {} {}", quote_ident(&c.name), c.ty.sql(), if c.nullable { "NULL" } else { "NOT NULL" }))
        .collect();
    lines.push(format!("  PRIMARY KEY ({})", quote_ident("id")));
    lines.push(format!("  UNIQUE KEY {} ({})", quote_ident("uk_uk"), quote_ident("uk")));
    if let Some(parent) = fk_parent {
        lines.push(format!("  KEY {} ({})", quote_ident("ix_parent"), quote_ident("parent_id")));
        lines.push(format!(
            "  CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}.{} ({})",
            quote_ident(&format!("fk_{}_{}", def.name, parent)),
            quote_ident("parent_id"),
            quote_ident(SCHEMA),
            quote_ident(parent),
            quote_ident("id")
        ));
    }
    format!(
        "CREATE TABLE {}.{} (\n{}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
        quote_ident(SCHEMA),
        quote_ident(&def.name),
        lines.join(",\n")
    )
}

/// The tables of a parameter set, in creation order.
pub fn schema(params: &GenParams) -> Vec<GenTable> {
    let mut tables = Vec::new();
    for i in 1..=params.tables {
        let def = TableDef { schema: SCHEMA.into(), name: format!("t{i}"), columns: base_columns(), primary_key: vec![0] };
        let create_sql = create_table_sql(&def, None);
        tables.push(GenTable { def, role: TableRole::Plain, create_sql });
    }
    for j in 1..=params.fk_pairs {
        let parent_idx = tables.len();
        let parent_name = format!("p{j}");
        let def = TableDef { schema: SCHEMA.into(), name: parent_name.clone(), columns: base_columns(), primary_key: vec![0] };
        let create_sql = create_table_sql(&def, None);
        tables.push(GenTable { def, role: TableRole::Parent { child: parent_idx + 1 }, create_sql });
        let mut columns = base_columns();
        columns.push(ColumnDef { name: "parent_id".into(), ty: ColumnType::BigInt { unsigned: false }, nullable: false });
        let def = TableDef { schema: SCHEMA.into(), name: format!("c{j}"), columns, primary_key: vec![0] };
        let create_sql = create_table_sql(&def, Some(&parent_name));
        tables.push(GenTable { def, role: TableRole::Child { parent: parent_idx }, create_sql });
    }
    tables
}

/// One row change: `(before, after)` full images.
pub type RowImages = (Option<Vec<Value>>, Option<Vec<Value>>);

/// One statement: rows of one kind on one table (one TABLE_MAP + one ROWS event).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub table: usize,
    pub kind: RowsKind,
    pub rows: Vec<RowImages>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TxnBody {
    /// A DDL statement. `table` is the table it creates or alters (None for CREATE DATABASE);
    /// `alters` is true for periodic ALTERs (the table gets a new table id afterwards).
    Ddl { sql: String, table: Option<usize>, alters: bool, setup: bool },
    Dml { statements: Vec<Statement> },
}

/// A (table, id) key; see the module doc for which keys a transaction has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    pub table: u32,
    pub id: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkTxn {
    /// 0-based position in the stream (setup DDL included).
    pub index: u64,
    /// 0-based commit group.
    pub group: u64,
    /// QUERY thread_id.
    pub session: u32,
    pub body: TxnBody,
    /// Keys touched (empty for DDL), deduplicated, sorted.
    pub keys: Vec<RowKey>,
    /// True when this transaction shares a key with an earlier one of its group (only possible
    /// with `allow_group_overlap`).
    pub overlaps_group: bool,
}

/// Zipf sampler over 1..=n (rejection-inversion, Hörmann & Derflinger 1996), O(1) memory so key
/// spaces of millions need no table.
#[derive(Debug, Clone)]
struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    threshold: f64,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Self {
        let mut z = Zipf { n: n as f64, s, h_integral_x1: 0.0, h_integral_n: 0.0, threshold: 0.0 };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(z.n + 0.5);
        z.threshold = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }
    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }
    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.s) * log_x) * log_x
    }
    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
    fn sample(&self, rng: &mut StdRng) -> u64 {
        loop {
            let u = self.h_integral_n + rng.gen::<f64>() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.threshold || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }
}

/// ln(1+x)/x, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// (e^x - 1)/x, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}

/// Per-table state: which ids exist and at which version; FK bookkeeping.
#[derive(Debug, Clone)]
struct TableState {
    /// `version[id]`: 0 = absent, else the version the row values derive from.
    version: Vec<u32>,
    count: u64,
    /// Parents: child rows referencing each id.
    refcount: Vec<u32>,
    /// Children: parent id of each row (0 = none).
    parent_of: Vec<u64>,
    has_periodic_index: bool,
}

/// The deterministic transaction stream. Iterate it; errors end the stream.
pub struct Workload {
    params: GenParams,
    tables: Vec<GenTable>,
    state: Vec<TableState>,
    rng: StdRng,
    zipf: Option<Zipf>,
    setup: VecDeque<TxnBody>,
    next_index: u64,
    next_group: u64,
    /// Group of the open DML group and how many transactions it has.
    open_group: Option<(u64, u32)>,
    dml_done: u64,
    periodic_ddl_done: u64,
    /// Keys of the open group -> position of the first transaction that touched them.
    group_keys: HashMap<RowKey, u32>,
    failed: bool,
}

const ALPHABET: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v',
    'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', 'é', 'ß', 'Ж', '漢', '字', '😀',
];

fn random_text(rng: &mut StdRng, chars: usize) -> String {
    (0..chars).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())]).collect()
}

impl Workload {
    pub fn new(params: &GenParams) -> Result<Self, GenError> {
        params.validate()?;
        let tables = schema(params);
        let rows = params.rows as usize + 1;
        let state = tables
            .iter()
            .map(|t| TableState {
                version: vec![0; rows],
                count: 0,
                refcount: if matches!(t.role, TableRole::Parent { .. }) { vec![0; rows] } else { Vec::new() },
                parent_of: if matches!(t.role, TableRole::Child { .. }) { vec![0; rows] } else { Vec::new() },
                has_periodic_index: false,
            })
            .collect();
        let mut setup = VecDeque::new();
        setup.push_back(TxnBody::Ddl {
            sql: format!("CREATE DATABASE IF NOT EXISTS {} DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", quote_ident(SCHEMA)),
            table: None,
            alters: false,
            setup: true,
        });
        for (i, t) in tables.iter().enumerate() {
            setup.push_back(TxnBody::Ddl { sql: t.create_sql.clone(), table: Some(i), alters: false, setup: true });
        }
        Ok(Workload {
            zipf: (params.zipf > 0.0).then(|| Zipf::new(params.rows, params.zipf)),
            params: params.clone(),
            tables,
            state,
            rng: StdRng::seed_from_u64(params.seed),
            setup,
            next_index: 0,
            next_group: 0,
            open_group: None,
            dml_done: 0,
            periodic_ddl_done: 0,
            group_keys: HashMap::new(),
            failed: false,
        })
    }

    pub fn tables(&self) -> &[GenTable] {
        &self.tables
    }

    fn take_group(&mut self) -> u64 {
        let g = self.next_group;
        self.next_group += 1;
        g
    }

    fn ddl_txn(&mut self, body: TxnBody) -> WorkTxn {
        self.open_group = None;
        self.group_keys.clear();
        let group = self.take_group();
        let index = self.next_index;
        self.next_index += 1;
        WorkTxn { index, group, session: DDL_SESSION, body, keys: Vec::new(), overlaps_group: false }
    }

    fn periodic_ddl(&mut self) -> TxnBody {
        let t = (self.periodic_ddl_done % self.tables.len() as u64) as usize;
        self.periodic_ddl_done += 1;
        let name = format!("{}.{}", quote_ident(SCHEMA), quote_ident(&self.tables[t].def.name));
        let st = &mut self.state[t];
        let sql = if st.has_periodic_index {
            format!("ALTER TABLE {name} DROP INDEX {}", quote_ident(PERIODIC_INDEX))
        } else {
            format!("ALTER TABLE {name} ADD INDEX {} ({})", quote_ident(PERIODIC_INDEX), quote_ident("k"))
        };
        st.has_periodic_index = !st.has_periodic_index;
        TxnBody::Ddl { sql, table: Some(t), alters: true, setup: false }
    }

    /// Row values are a pure function of (seed, table, id, version, parent): nothing but the
    /// version needs storing per row.
    fn row_values(&self, table: usize, id: u64, version: u32, parent: Option<u64>) -> Vec<Value> {
        let mut key = [0u8; 28];
        key[..8].copy_from_slice(&self.params.seed.to_le_bytes());
        key[8..12].copy_from_slice(&(table as u32).to_le_bytes());
        key[12..20].copy_from_slice(&id.to_le_bytes());
        key[20..24].copy_from_slice(&version.to_le_bytes());
        let mut rng = StdRng::seed_from_u64(xxhash_rust::xxh3::xxh3_64(&key));
        let c_len = rng.gen_range(8..=60);
        let pad = match rng.gen_range(0..16) {
            0..=3 => Value::Null,
            4 => {
                let n = rng.gen_range(200..=255);
                Value::Str(random_text(&mut rng, n))
            }
            _ => {
                let n = rng.gen_range(0..=40);
                Value::Str(random_text(&mut rng, n))
            }
        };
        let mut v = vec![
            Value::Int(id as i64),
            Value::Int(i64::from(rng.gen::<i32>())),
            Value::UInt(u64::from(rng.gen::<u32>())),
            Value::UInt((1u64 << 63) + id),
            Value::Str(random_text(&mut rng, c_len)),
            pad,
            Value::Decimal(rng.gen_range(-9_999_999_999i64..=9_999_999_999)),
            Value::DateTime(DateTime {
                year: rng.gen_range(1990..=2037),
                month: rng.gen_range(1..=12),
                day: rng.gen_range(1..=28),
                hour: rng.gen_range(0..24),
                minute: rng.gen_range(0..60),
                second: rng.gen_range(0..60),
                micros: rng.gen_range(0..1_000_000),
            }),
            Value::Enum(rng.gen_range(1..=STATUS_VALUES.len() as u16)),
        ];
        if let Some(p) = parent {
            v.push(Value::Int(p as i64));
        }
        v
    }

    fn sample_id(&mut self) -> u64 {
        match &self.zipf {
            Some(z) => z.sample(&mut self.rng),
            None => self.rng.gen_range(1..=self.params.rows),
        }
    }

    /// May transaction at group position `pos` use this key?
    fn key_free(&self, key: RowKey, pos: u32) -> bool {
        self.params.allow_group_overlap || self.group_keys.get(&key).is_none_or(|owner| *owner == pos)
    }

    /// Linear probe from a sampled id for one satisfying `ok` (wrapping); None if no id does.
    fn probe(&mut self, ok: impl Fn(&Self, u64) -> bool) -> Option<u64> {
        let n = self.params.rows;
        let start = self.sample_id();
        (0..n).map(|step| (start - 1 + step) % n + 1).find(|id| ok(self, *id))
    }

    fn find_parent(&mut self, parent: usize, pos: u32) -> Option<u64> {
        self.probe(|w, id| {
            w.state[parent].version[id as usize] != 0 && w.key_free(RowKey { table: parent as u32, id }, pos)
        })
    }

    /// Picks and applies one row change of `kind` on `table`; None when no id qualifies.
    fn row_change(&mut self, table: usize, kind: RowsKind, pos: u32, keys: &mut Vec<RowKey>) -> Option<RowImages> {
        let t32 = table as u32;
        let role = self.tables[table].role;
        let parent_table = match role {
            TableRole::Child { parent } => Some(parent),
            _ => None,
        };
        match kind {
            RowsKind::Write => {
                let parent_id = match parent_table {
                    Some(p) => Some(self.find_parent(p, pos)?),
                    None => None,
                };
                let id = self.probe(|w, id| {
                    w.state[table].version[id as usize] == 0 && w.key_free(RowKey { table: t32, id }, pos)
                })?;
                let st = &mut self.state[table];
                st.version[id as usize] = 1;
                st.count += 1;
                keys.push(RowKey { table: t32, id });
                if let (Some(p), Some(pid)) = (parent_table, parent_id) {
                    st.parent_of[id as usize] = pid;
                    self.state[p].refcount[pid as usize] += 1;
                    keys.push(RowKey { table: p as u32, id: pid });
                }
                Some((None, Some(self.row_values(table, id, 1, parent_id))))
            }
            RowsKind::Update | RowsKind::Delete => {
                let is_delete = kind == RowsKind::Delete;
                let id = self.probe(|w, id| {
                    let st = &w.state[table];
                    if st.version[id as usize] == 0 || !w.key_free(RowKey { table: t32, id }, pos) {
                        return false;
                    }
                    match role {
                        TableRole::Parent { .. } if is_delete => st.refcount[id as usize] == 0,
                        TableRole::Child { parent } => {
                            w.key_free(RowKey { table: parent as u32, id: st.parent_of[id as usize] }, pos)
                        }
                        _ => true,
                    }
                })?;
                let version = self.state[table].version[id as usize];
                let old_parent = parent_table.map(|_| self.state[table].parent_of[id as usize]);
                let before = self.row_values(table, id, version, old_parent);
                keys.push(RowKey { table: t32, id });
                if let (Some(p), Some(old)) = (parent_table, old_parent) {
                    keys.push(RowKey { table: p as u32, id: old });
                }
                if is_delete {
                    let st = &mut self.state[table];
                    st.version[id as usize] = 0;
                    st.count -= 1;
                    if let (Some(p), Some(old)) = (parent_table, old_parent) {
                        st.parent_of[id as usize] = 0;
                        self.state[p].refcount[old as usize] -= 1;
                    }
                    return Some((Some(before), None));
                }
                // Update: new version; a child moves to another parent half of the time.
                let mut new_parent = old_parent;
                if let (Some(p), Some(old)) = (parent_table, old_parent) {
                    if self.rng.gen_bool(0.5) {
                        if let Some(np) = self.find_parent(p, pos) {
                            new_parent = Some(np);
                            self.state[p].refcount[old as usize] -= 1;
                            self.state[p].refcount[np as usize] += 1;
                            self.state[table].parent_of[id as usize] = np;
                            keys.push(RowKey { table: p as u32, id: np });
                        }
                    }
                }
                let version = version.wrapping_add(1).max(1);
                self.state[table].version[id as usize] = version;
                Some((Some(before), Some(self.row_values(table, id, version, new_parent))))
            }
        }
    }

    fn dml_txn(&mut self) -> Result<WorkTxn, GenError> {
        let (group, pos) = match self.open_group {
            Some((g, n)) if n < self.params.group_width => (g, n),
            _ => {
                self.group_keys.clear();
                (self.take_group(), 0)
            }
        };
        self.open_group = Some((group, pos + 1));
        let ntables = self.tables.len();
        let mut statements: Vec<Statement> = Vec::new();
        let mut keys = Vec::new();
        let mut remaining = self.params.txn_size;
        while remaining > 0 {
            let batch = self.rng.gen_range(1..=remaining.min(self.params.max_statement_rows));
            let first_table = self.rng.gen_range(0..ntables);
            let desired = match self.rng.gen_range(0..100) {
                0..=39 => RowsKind::Write,
                40..=79 => RowsKind::Update,
                _ => RowsKind::Delete,
            };
            let kinds = match desired {
                RowsKind::Write => [RowsKind::Write, RowsKind::Update, RowsKind::Delete],
                RowsKind::Update => [RowsKind::Update, RowsKind::Write, RowsKind::Delete],
                RowsKind::Delete => [RowsKind::Delete, RowsKind::Write, RowsKind::Update],
            };
            // First row: the desired kind on the chosen table, else other kinds, else other tables.
            let mut started = None;
            'search: for dt in 0..ntables {
                let table = (first_table + dt) % ntables;
                for kind in kinds {
                    if let Some(row) = self.row_change(table, kind, pos, &mut keys) {
                        started = Some(Statement { table, kind, rows: vec![row] });
                        break 'search;
                    }
                }
            }
            let Some(mut stmt) = started else {
                return Err(GenError::KeySpaceExhausted { rows: self.params.rows, tables: ntables as u32 });
            };
            for _ in 1..batch {
                match self.row_change(stmt.table, stmt.kind, pos, &mut keys) {
                    Some(row) => stmt.rows.push(row),
                    None => break,
                }
            }
            remaining -= stmt.rows.len() as u32;
            statements.push(stmt);
        }
        keys.sort_unstable();
        keys.dedup();
        let mut overlaps_group = false;
        for k in &keys {
            let owner = *self.group_keys.entry(*k).or_insert(pos);
            overlaps_group |= owner != pos;
        }
        self.dml_done += 1;
        let index = self.next_index;
        self.next_index += 1;
        Ok(WorkTxn {
            index,
            group,
            session: DML_SESSION_BASE + pos,
            body: TxnBody::Dml { statements },
            keys,
            overlaps_group,
        })
    }
}

impl Iterator for Workload {
    type Item = Result<WorkTxn, GenError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some(body) = self.setup.pop_front() {
            return Some(Ok(self.ddl_txn(body)));
        }
        if self.dml_done >= self.params.transactions {
            return None;
        }
        let every = self.params.ddl_every;
        if every > 0 && self.dml_done > 0 && self.dml_done.is_multiple_of(every) && self.periodic_ddl_done < self.dml_done / every {
            let body = self.periodic_ddl();
            return Some(Ok(self.ddl_txn(body)));
        }
        let txn = self.dml_txn();
        self.failed = txn.is_err();
        Some(txn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> GenParams {
        GenParams { transactions: 200, tables: 2, rows: 500, txn_size: 4, group_width: 8, fk_pairs: 1, ddl_every: 50, ..GenParams::default() }
    }

    #[test]
    fn same_seed_same_stream_and_different_seed_differs() {
        let a: Vec<WorkTxn> = Workload::new(&params()).unwrap().map(|t| t.unwrap()).collect();
        let b: Vec<WorkTxn> = Workload::new(&params()).unwrap().map(|t| t.unwrap()).collect();
        assert_eq!(a, b);
        let c: Vec<WorkTxn> = Workload::new(&GenParams { seed: 2, ..params() }).unwrap().map(|t| t.unwrap()).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn groups_ddl_and_row_counts_follow_the_rules() {
        let txns: Vec<WorkTxn> = Workload::new(&params()).unwrap().map(|t| t.unwrap()).collect();
        // 1 CREATE DATABASE + 4 CREATE TABLE, 200 DML, periodic DDL before DML 50, 100, 150.
        assert_eq!(txns.len(), 5 + 200 + 3);
        let ddl = txns.iter().filter(|t| matches!(t.body, TxnBody::Ddl { .. })).count();
        assert_eq!(ddl, 8);
        // Each 50-DML segment is ceil(50/8) = 7 groups: 4 segments -> 28, plus 8 DDL groups.
        let groups = txns.last().unwrap().group + 1;
        assert_eq!(groups, 36);
        for t in &txns {
            if let TxnBody::Dml { statements } = &t.body {
                let rows: usize = statements.iter().map(|s| s.rows.len()).sum();
                assert_eq!(rows, 4);
            }
        }
        // No key shared between two transactions of a group.
        let mut seen: HashMap<(u64, RowKey), u64> = HashMap::new();
        for t in &txns {
            assert!(!t.overlaps_group);
            for k in &t.keys {
                if let Some(other) = seen.insert((t.group, *k), t.index) {
                    panic!("key {k:?} in txns {other} and {} of group {}", t.index, t.group);
                }
            }
        }
    }

    #[test]
    fn allow_overlap_reports_overlaps_on_tiny_key_space() {
        let p = GenParams { rows: 3, tables: 1, fk_pairs: 0, allow_group_overlap: true, ..params() };
        let txns: Vec<WorkTxn> = Workload::new(&p).unwrap().map(|t| t.unwrap()).collect();
        assert!(txns.iter().any(|t| t.overlaps_group));
    }

    #[test]
    fn zipf_prefers_low_ranks() {
        let z = Zipf::new(1000, 1.0);
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0u32; 3];
        let n = 200_000;
        for _ in 0..n {
            let k = z.sample(&mut rng);
            assert!((1..=1000).contains(&k));
            if k <= 3 {
                counts[k as usize - 1] += 1;
            }
        }
        // P(k) = 1/(k * H_1000), H_1000 = 7.485: P(1) = 0.1336, P(2) = 0.0668.
        let p1 = f64::from(counts[0]) / n as f64;
        let p2 = f64::from(counts[1]) / n as f64;
        assert!((p1 - 0.1336).abs() < 0.005, "p1 {p1}");
        assert!((p2 - 0.0668).abs() < 0.004, "p2 {p2}");
    }
}
