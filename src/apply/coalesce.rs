//! Commit-group coalescing: the row changes of several transactions that share one target
//! transaction (a commit group, see [`crate::apply::group`]) as few statements as their key
//! conflicts allow.
//!
//! Inside one target transaction only the state at COMMIT is seen, so row changes may run in
//! any order that keeps every pair touching the same row (by primary key, unique key or
//! foreign-key parent/child: the writeset keys of [`crate::schedule::KeyExtractor`]) in source
//! order. Each change gets a *level*: one more than the highest level of an earlier change it
//! shares a key with. Levels run in order; within a level no two changes share a key, so the
//! changes of one table and kind become one statement: a multi-row INSERT, `DELETE ... WHERE pk
//! IN (...)`, `UPDATE ... SET c = CASE pk WHEN ... END WHERE pk IN (...)`. A sysbench
//! `oltp_write_only` group of 64 transactions (256 statements) becomes about 40 statements,
//! and the target parses, opens tables and logs table maps once per statement.
//!
//! Owns the ordering only. The SQL text comes from [`SqlBuilder`]; it must not talk to the
//! server. When anything in the group cannot be placed (a layout the scheduler has not
//! resolved, a statement event, session flags), it declines and the caller plans member by
//! member, in source order, as before.

use std::collections::HashMap;
use std::sync::Arc;

use super::sql::{self, SqlBuilder, SqlError, Stmt};
use crate::decode::event::TableMap;
use crate::decode::value::{Row, Value};
use crate::schedule::{KeyCatalog, KeyExtractor, TableKeys};
use crate::txn::{Change, RowChange, RowKind, Transaction, TxnEnd};

/// Plans commit groups; one per worker (it keeps scratch space).
pub struct Coalescer {
    catalog: Arc<dyn KeyCatalog>,
    keys: KeyExtractor,
    /// Per key hash: the level of the last change placed with it.
    last_level: HashMap<u64, u32>,
    scratch: Vec<u64>,
}

/// One row change placed at its level.
struct Placed<'t> {
    level: u32,
    table: &'t Arc<TableMap>,
    keys: Arc<TableKeys>,
    kind: RowKind,
    row: &'t RowChange,
}

/// Changes of one level that become one statement (or, where they cannot, one each).
struct Bucket<'t> {
    table: &'t Arc<TableMap>,
    kind: RowKind,
    /// INSERT: the present-column mask; UPDATE: the columns set (empty: not batchable).
    shape: Vec<usize>,
    rows: Vec<&'t RowChange>,
}

impl Coalescer {
    pub fn new(catalog: Arc<dyn KeyCatalog>) -> Self {
        let keys = KeyExtractor::new(catalog.clone(), usize::MAX);
        Coalescer { catalog, keys, last_level: HashMap::new(), scratch: Vec::with_capacity(16) }
    }

    /// The statements for the row changes of `txns` (in source order), or `None` when some
    /// change cannot be placed and the caller should plan them one transaction after another.
    pub fn plan<'t>(&mut self, builder: &SqlBuilder, txns: impl IntoIterator<Item = &'t Transaction>) -> Option<Result<Vec<Stmt>, SqlError>> {
        let buckets = self.buckets(txns)?;
        let mut out = Vec::with_capacity(buckets.len());
        Some(buckets.into_iter().try_for_each(|bucket| emit(builder, bucket, &mut out)).map(|()| out))
    }

    /// The row changes of `txns` as buckets in the order they run, or `None` (see
    /// [`Coalescer::plan`]).
    fn buckets<'t>(&mut self, txns: impl IntoIterator<Item = &'t Transaction>) -> Option<Vec<Bucket<'t>>> {
        self.last_level.clear();
        let mut placed: Vec<Placed<'t>> = Vec::new();
        for txn in txns {
            if txn.is_ddl || txn.stream.is_some() || !matches!(txn.end, TxnEnd::Xid | TxnEnd::Commit | TxnEnd::Rollback) || !sql::rows_only(txn) {
                return None;
            }
            if txn.end == TxnEnd::Rollback {
                // Applies nothing; only its checkpoint row, which the caller writes.
                continue;
            }
            for change in &txn.changes {
                let Change::Rows(rc) = change else { continue };
                let tk = self.catalog.cached_table_keys(&rc.table)?;
                if !tk.has_unique_key() {
                    return None;
                }
                for row in &rc.rows {
                    self.scratch.clear();
                    self.keys.row_keys(&tk, rc.kind, row, &mut self.scratch, None).ok()?;
                    let level = self.scratch.iter().filter_map(|k| self.last_level.get(k)).map(|l| l + 1).max().unwrap_or(0);
                    for k in &self.scratch {
                        self.last_level.insert(*k, level);
                    }
                    placed.push(Placed { level, table: &rc.table, keys: tk.clone(), kind: rc.kind, row });
                }
            }
        }
        // Stable: within a level, changes keep source order.
        placed.sort_by_key(|p| p.level);
        let mut out = Vec::new();
        for level in placed.chunk_by(|a, b| a.level == b.level) {
            level_buckets(level, &mut out);
        }
        Some(out)
    }
}

/// The changes of one level, by table, kind and shape, in order of first appearance.
fn level_buckets<'t>(level: &[Placed<'t>], all: &mut Vec<Bucket<'t>>) {
    let mut out: Vec<Bucket<'t>> = Vec::new();
    for p in level {
        let shape = shape(p);
        let same = |b: &&mut Bucket<'t>| b.kind == p.kind && b.shape == shape && !shape.is_empty() && sql::same_table(b.table, p.table);
        match out.iter_mut().find(same) {
            Some(b) => b.rows.push(p.row),
            None => out.push(Bucket { table: p.table, kind: p.kind, shape, rows: vec![p.row] }),
        }
    }
    all.extend(out);
}

/// What rows must share to go in one statement; empty when this row goes on its own: the
/// table's primary key is not one column, an UPDATE changes a unique-key column (rows of one
/// statement change in no defined order, so a key moving onto another row's old value could
/// collide midway) or applies a JSON diff, or an image lacks the key.
fn shape(p: &Placed<'_>) -> Vec<usize> {
    let single_key = match p.table.primary_key[..] {
        [pk] => Some(pk),
        _ => None,
    };
    match p.kind {
        RowKind::Insert => p.row.after.as_ref().map(|after| after.cols.iter().enumerate().filter(|(_, v)| v.is_some()).map(|(i, _)| i).collect()).unwrap_or_default(),
        RowKind::Delete => match (&p.row.before, single_key) {
            (Some(before), Some(pk)) if key_present(before, pk) => vec![pk],
            _ => Vec::new(),
        },
        RowKind::Update => {
            let (Some(before), Some(after), Some(pk)) = (&p.row.before, &p.row.after, single_key) else { return Vec::new() };
            if !key_present(before, pk) || after.cols.iter().any(|v| matches!(v, Some(Value::JsonDiff(_)))) {
                return Vec::new();
            }
            let set = sql::set_columns(p.table, before, after);
            let unique_columns = |c: &usize| p.keys.unique_keys.iter().any(|k| k.columns.contains(c));
            // A generated column is never SET, but the target recomputes it: one in a unique
            // key whose value changes moves that key just the same.
            let generated_moves = |c: &usize| p.table.columns.get(*c).is_some_and(|d| d.generated) && before.cols.get(*c) != after.cols.get(*c);
            if set.iter().any(unique_columns) || p.keys.unique_keys.iter().any(|k| k.columns.iter().any(generated_moves)) {
                return Vec::new();
            }
            set
        }
    }
}

fn key_present(row: &Row, pk: usize) -> bool {
    matches!(row.cols.get(pk), Some(Some(v)) if !matches!(v, Value::Null))
}

/// One bucket's statements: batched when it has a shape and more than one row, cut so that
/// no statement grows far past the builder's batch size.
fn emit(builder: &SqlBuilder, bucket: Bucket<'_>, out: &mut Vec<Stmt>) -> Result<(), SqlError> {
    let Bucket { table, kind, shape, rows } = bucket;
    match kind {
        RowKind::Insert => {
            let afters = rows.iter().map(|r| image(table, r.after.as_ref(), kind, "after")).collect::<Result<Vec<_>, _>>()?;
            builder.insert_batches(table, &afters, out)
        }
        _ if shape.is_empty() || rows.len() == 1 => {
            for row in rows {
                out.push(builder.keyed_change(table, kind, row)?);
            }
            Ok(())
        }
        RowKind::Delete | RowKind::Update => {
            let pk = shape_key(table);
            let max_rows = if kind == RowKind::Update { UPDATE_BATCH_ROWS } else { usize::MAX };
            for chunk in chunks(&rows, builder.batch_limit(), max_rows) {
                out.push(match kind {
                    RowKind::Delete => {
                        let befores = chunk.iter().map(|r| image(table, r.before.as_ref(), kind, "before")).collect::<Result<Vec<_>, _>>()?;
                        builder.delete_batch(table, pk, &befores)?
                    }
                    _ => builder.update_batch(table, pk, &shape, chunk)?,
                });
            }
            Ok(())
        }
    }
}

fn shape_key(table: &TableMap) -> usize {
    table.primary_key.first().copied().unwrap_or(0)
}

fn image<'r>(table: &TableMap, row: Option<&'r Row>, kind: RowKind, which: &'static str) -> Result<&'r Row, SqlError> {
    row.ok_or_else(|| sql::missing(table, kind, which))
}

/// Rows per batched UPDATE. The server evaluates `CASE pk WHEN k1 THEN .. WHEN kn ..` by
/// walking the WHEN list for every row it updates, so one statement of n rows costs n²/2 key
/// comparisons per SET column: a 10,000-row source UPDATE cut only by bytes (about 3,500 rows
/// a statement) cost the target 8× the CPU of its native replica. At 64 rows the walk costs
/// less than the statement's parse and table open it saves. (`DELETE ... IN (...)` has no such
/// cost: the server sorts a constant IN list and searches it.)
const UPDATE_BATCH_ROWS: usize = 64;

/// `rows` in runs whose images add up to about `limit` bytes (a rough bound: the statement is
/// the rows' values once or twice over) and that hold at most `max_rows` rows.
fn chunks<'a, 't>(rows: &'a [&'t RowChange], limit: usize, max_rows: usize) -> Vec<&'a [&'t RowChange]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (i, r) in rows.iter().enumerate() {
        let size = r.before.as_ref().map_or(0, row_bytes) + r.after.as_ref().map_or(0, row_bytes);
        if i > start && (bytes + size > limit || i - start >= max_rows) {
            out.push(&rows[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// About how many bytes of SQL `row`'s values make (hex doubles byte strings).
fn row_bytes(row: &Row) -> usize {
    row.cols
        .iter()
        .flatten()
        .map(|v| match v {
            Value::Bytes(b) | Value::Geometry(b) => 2 * b.len() + 16,
            Value::Json(t) => 2 * t.len() + 16,
            _ => 24,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;

    use super::*;
    use crate::apply::sql::Charsets;
    use crate::decode::event::ColumnDef;
    use crate::schedule::{StaticCatalog, TableDef};
    use crate::txn::RowsChange;

    fn int_col(name: &str) -> ColumnDef {
        ColumnDef { column_type: 3, real_type: 3, name: Some(name.into()), visible: true, ..Default::default() }
    }

    /// `s.t(id PK, u UNIQUE, v)` and `s.c(cid PK, pid -> t.id)`, known to the catalog the way
    /// the dispatcher leaves them (looked up once).
    fn tables() -> (Arc<TableMap>, Arc<TableMap>, Arc<dyn KeyCatalog>) {
        let t = Arc::new(TableMap { table_id: 1, schema: "s".into(), table: "t".into(), columns: vec![int_col("id"), int_col("u"), int_col("v")], primary_key: vec![0], has_full_metadata: true, system_versioned: false, sequence: false });
        let c = Arc::new(TableMap { table_id: 2, schema: "s".into(), table: "c".into(), columns: vec![int_col("cid"), int_col("pid")], primary_key: vec![0], has_full_metadata: true, system_versioned: false, sequence: false });
        let catalog: Arc<dyn KeyCatalog> = Arc::new(
            StaticCatalog::new()
                .with_table(TableDef::new("s", "t").column("id", None).column("u", None).column("v", None).primary_key(&["id"]).unique_key("u_uk", &["u"]))
                .with_table(TableDef::new("s", "c").column("cid", None).column("pid", None).primary_key(&["cid"]).foreign_key("c_t", &["pid"], "s", "t", &["id"])),
        );
        assert!(catalog.table_keys(&t).is_some() && catalog.table_keys(&c).is_some());
        (t, c, catalog)
    }

    fn row(vals: &[i64]) -> Row {
        Row { cols: vals.iter().map(|v| Some(Value::Int(*v))).collect() }
    }

    fn change(table: &Arc<TableMap>, kind: RowKind, before: Option<&[i64]>, after: Option<&[i64]>) -> Change {
        Change::Rows(RowsChange { raw: None, table: table.clone(), kind, rows: vec![RowChange { before: before.map(row), after: after.map(row) }], flags: 0 })
    }

    fn txn(changes: Vec<Change>) -> Transaction {
        Transaction { changes, ..Default::default() }
    }

    fn builder() -> SqlBuilder {
        SqlBuilder::new(Arc::new(Charsets::new(HashMap::new())))
    }

    #[test]
    fn a_group_of_sysbench_like_transactions_becomes_one_statement_per_table_kind_and_level() {
        let (t, _, catalog) = tables();
        let sysbench = |a: i64, d: i64| {
            txn(vec![
                change(&t, RowKind::Update, Some(&[a, a, 0]), Some(&[a, a, 1])),
                change(&t, RowKind::Delete, Some(&[d, d, 0]), None),
                change(&t, RowKind::Insert, None, Some(&[d, d, 7])),
            ])
        };
        // The third updates the first one's row again: it must run after it.
        let group = [sysbench(1, 5), sysbench(2, 6), sysbench(1, 7)];
        let plan = Coalescer::new(catalog).plan(&builder(), &group).unwrap().unwrap();
        let sql: Vec<(&str, u64)> = plan.iter().map(|s| (s.sql.as_str(), s.rows)).collect();
        assert_eq!(
            sql,
            vec![
                ("UPDATE `s`.`t` SET `v` = CASE `id` WHEN 1 THEN 1 WHEN 2 THEN 1 END WHERE `id` IN (1,2)", 2),
                ("DELETE FROM `s`.`t` WHERE `id` IN (5,6,7)", 3),
                ("INSERT INTO `s`.`t` (`id`,`u`,`v`) VALUES (5,5,7),(6,6,7),(7,7,7)", 3),
                ("UPDATE `s`.`t` SET `v`=1 WHERE `id` = 1", 1),
            ]
        );
    }

    /// One source UPDATE of 200 rows: batched UPDATEs of at most UPDATE_BATCH_ROWS rows each
    /// (the CASE walk is quadratic in the rows of a statement), while its DELETE twin stays one
    /// statement.
    #[test]
    fn a_large_update_is_cut_into_batches_of_bounded_rows_and_a_large_delete_is_not() {
        let (t, _, catalog) = tables();
        let rows = |kind: RowKind| {
            let rows = (1..=200).map(|id| RowChange { before: Some(row(&[id, id, 0])), after: (kind == RowKind::Update).then(|| row(&[id, id, 1])) }).collect();
            txn(vec![Change::Rows(RowsChange { raw: None, table: t.clone(), kind, rows, flags: 0 })])
        };
        let plan = Coalescer::new(catalog.clone()).plan(&builder(), &[rows(RowKind::Update)]).unwrap().unwrap();
        assert_eq!(plan.iter().map(|s| s.rows).collect::<Vec<_>>(), vec![64, 64, 64, 8]);
        assert!(plan[3].sql.starts_with("UPDATE `s`.`t` SET `v` = CASE `id` WHEN 193 THEN 1 WHEN 194 THEN 1"), "{}", plan[3].sql);
        assert!(plan[3].sql.ends_with("WHERE `id` IN (193,194,195,196,197,198,199,200)"), "{}", plan[3].sql);
        let plan = Coalescer::new(catalog).plan(&builder(), &[rows(RowKind::Delete)]).unwrap().unwrap();
        assert_eq!(plan.iter().map(|s| s.rows).collect::<Vec<_>>(), vec![200]);
    }

    #[test]
    fn unique_key_changes_and_children_moving_between_the_same_parents_go_one_row_per_statement() {
        let (t, c, catalog) = tables();
        let group = [
            txn(vec![change(&t, RowKind::Update, Some(&[1, 10, 0]), Some(&[1, 11, 0]))]),
            txn(vec![change(&t, RowKind::Update, Some(&[2, 20, 0]), Some(&[2, 21, 0]))]),
            txn(vec![change(&c, RowKind::Update, Some(&[1, 1]), Some(&[1, 2])), change(&c, RowKind::Update, Some(&[2, 1]), Some(&[2, 2]))]),
        ];
        let plan = Coalescer::new(catalog).plan(&builder(), &group).unwrap().unwrap();
        let sql: Vec<&str> = plan.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql,
            vec![
                "UPDATE `s`.`t` SET `u`=11 WHERE `id` = 1",
                "UPDATE `s`.`t` SET `u`=21 WHERE `id` = 2",
                // Both children move from parent 1 to 2: they share the FK keys of both parents, so
                // they are on different levels.
                "UPDATE `s`.`c` SET `pid`=2 WHERE `cid` = 1",
                "UPDATE `s`.`c` SET `pid`=2 WHERE `cid` = 2",
            ]
        );
    }

    /// `u` generated (`v * 2`, UNIQUE): never SET, and an UPDATE that moves it (by changing
    /// `v`) goes alone, as a unique-key change does, while one that leaves it goes batched.
    #[test]
    fn a_generated_unique_column_that_moves_keeps_its_update_alone() {
        let (t, _, catalog) = tables();
        let mut g = (*t).clone();
        g.columns[1].generated = true;
        let g = Arc::new(g);
        let group = [
            txn(vec![change(&g, RowKind::Update, Some(&[1, 2, 1]), Some(&[1, 4, 2]))]),
            txn(vec![change(&g, RowKind::Update, Some(&[2, 4, 2]), Some(&[2, 6, 3]))]),
            txn(vec![change(&g, RowKind::Insert, None, Some(&[3, 99, 9]))]),
        ];
        let plan = Coalescer::new(catalog.clone()).plan(&builder(), &group).unwrap().unwrap();
        let sql: Vec<&str> = plan.iter().map(|s| s.sql.as_str()).collect();
        // The second moves `u` off the value the first moves onto: a later level.
        assert_eq!(sql, vec!["UPDATE `s`.`t` SET `v`=2 WHERE `id` = 1", "INSERT INTO `s`.`t` (`id`,`v`) VALUES (3,9)", "UPDATE `s`.`t` SET `v`=3 WHERE `id` = 2"]);
        let same = [txn(vec![change(&g, RowKind::Update, Some(&[1, 2, 1]), Some(&[1, 2, 5]))]), txn(vec![change(&g, RowKind::Update, Some(&[2, 4, 2]), Some(&[2, 4, 6]))])];
        let plan = Coalescer::new(catalog).plan(&builder(), &same).unwrap().unwrap();
        assert_eq!(plan.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>(), vec!["UPDATE `s`.`t` SET `v` = CASE `id` WHEN 1 THEN 5 WHEN 2 THEN 6 END WHERE `id` IN (1,2)"]);
    }

    #[test]
    fn declines_statement_events_session_flags_and_layouts_the_scheduler_has_not_resolved() {
        let (t, _, catalog) = tables();
        let unknown = Arc::new(TableMap { table_id: 3, schema: "s".into(), table: "other".into(), columns: vec![int_col("id")], primary_key: vec![0], has_full_metadata: true, system_versioned: false, sequence: false });
        let rows = txn(vec![change(&t, RowKind::Insert, None, Some(&[1, 1, 1]))]);
        let query = |q: &str, flags2: Option<u32>| Change::Query(crate::decode::event::QueryEvent { query: q.into(), flags2, ..Default::default() });
        let mut c = Coalescer::new(catalog);
        assert!(c.plan(&builder(), [&rows, &txn(vec![query("UPDATE s.t SET v = 2", None)])]).is_none());
        // Rows logged with foreign_key_checks=0 or unique_checks=0 (their ROWS event's flags).
        for flags in [crate::txn::RowsChange::NO_FOREIGN_KEY_CHECKS_F, crate::txn::RowsChange::RELAXED_UNIQUE_CHECKS_F] {
            let Change::Rows(mut rc) = change(&t, RowKind::Insert, None, Some(&[2, 2, 2])) else { unreachable!() };
            rc.flags = flags | 1;
            assert!(c.plan(&builder(), [&rows, &txn(vec![query("BEGIN", Some(0)), Change::Rows(rc)])]).is_none());
        }
        assert!(c.plan(&builder(), [&rows, &txn(vec![change(&unknown, RowKind::Insert, None, Some(&[1]))])]).is_none());
        // A plain BEGIN is fine, and a rolled-back member adds nothing.
        let rolled_back = Transaction { end: TxnEnd::Rollback, ..txn(vec![change(&t, RowKind::Insert, None, Some(&[9, 9, 9]))]) };
        let plan = c.plan(&builder(), [&txn(vec![query("BEGIN", Some(0)), change(&t, RowKind::Insert, None, Some(&[2, 2, 2]))]), &rows, &rolled_back]).unwrap().unwrap();
        assert_eq!(plan.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>(), vec!["INSERT INTO `s`.`t` (`id`,`u`,`v`) VALUES (2,2,2),(1,1,1)"]);
    }

    /// The two tables as the target holds them: t by id (u, v), c by cid (pid).
    #[derive(Debug, Clone, Default, PartialEq)]
    struct Model {
        t: BTreeMap<i64, (i64, i64)>,
        c: BTreeMap<i64, i64>,
    }

    #[derive(Debug, Clone)]
    enum Op {
        InsertT(i64, i64, i64),
        DeleteT(i64),
        SetV(i64, i64),
        SetU(i64, i64),
        InsertC(i64, i64),
        DeleteC(i64),
        MoveC(i64, i64),
    }

    impl Model {
        /// Apply one row change as the server would, with its constraints; `Err` names the violation.
        fn apply(&mut self, table: &str, kind: RowKind, rc: &RowChange) -> Result<(), String> {
            let img = |r: &Option<Row>| -> Vec<i64> { r.as_ref().map(|r| r.cols.iter().map(|v| if let Some(Value::Int(i)) = v { *i } else { 0 }).collect()).unwrap_or_default() };
            let (b, a) = (img(&rc.before), img(&rc.after));
            match (table, kind) {
                ("t", RowKind::Insert) => {
                    if self.t.contains_key(&a[0]) || self.t.values().any(|(u, _)| *u == a[1]) {
                        return Err(format!("duplicate key inserting t {a:?}"));
                    }
                    self.t.insert(a[0], (a[1], a[2]));
                }
                ("t", RowKind::Delete) => {
                    if self.c.values().any(|p| *p == b[0]) {
                        return Err(format!("t {} still has children", b[0]));
                    }
                    self.t.remove(&b[0]).ok_or(format!("t {} not found", b[0]))?;
                }
                ("t", RowKind::Update) => {
                    if !self.t.contains_key(&b[0]) {
                        return Err(format!("t {} not found", b[0]));
                    }
                    if self.t.iter().any(|(id, (u, _))| *id != b[0] && *u == a[1]) {
                        return Err(format!("duplicate u {}", a[1]));
                    }
                    self.t.insert(b[0], (a[1], a[2]));
                }
                ("c", RowKind::Insert) | ("c", RowKind::Update) => {
                    if !self.t.contains_key(&a[1]) {
                        return Err(format!("c {} parent {} missing", a[0], a[1]));
                    }
                    let exists = self.c.contains_key(&a[0]);
                    if exists == (kind == RowKind::Insert) {
                        return Err(format!("c {} {}", a[0], if exists { "duplicate" } else { "not found" }));
                    }
                    self.c.insert(a[0], a[1]);
                }
                ("c", RowKind::Delete) => {
                    self.c.remove(&b[0]).ok_or(format!("c {} not found", b[0]))?;
                }
                _ => unreachable!(),
            }
            Ok(())
        }

        /// The row change `op` makes from this state, if it is valid here.
        fn change(&self, op: &Op, t: &Arc<TableMap>, c: &Arc<TableMap>) -> Option<Change> {
            Some(match *op {
                Op::InsertT(id, u, v) => {
                    (!self.t.contains_key(&id) && !self.t.values().any(|(x, _)| *x == u)).then_some(())?;
                    change(t, RowKind::Insert, None, Some(&[id, u, v]))
                }
                Op::DeleteT(id) => {
                    let (u, v) = *self.t.get(&id)?;
                    (!self.c.values().any(|p| *p == id)).then_some(())?;
                    change(t, RowKind::Delete, Some(&[id, u, v]), None)
                }
                Op::SetV(id, nv) => {
                    let (u, v) = *self.t.get(&id)?;
                    change(t, RowKind::Update, Some(&[id, u, v]), Some(&[id, u, nv]))
                }
                Op::SetU(id, nu) => {
                    let (u, v) = *self.t.get(&id)?;
                    (!self.t.iter().any(|(x, (y, _))| *x != id && *y == nu)).then_some(())?;
                    change(t, RowKind::Update, Some(&[id, u, v]), Some(&[id, nu, v]))
                }
                Op::InsertC(cid, pid) => {
                    (!self.c.contains_key(&cid) && self.t.contains_key(&pid)).then_some(())?;
                    change(c, RowKind::Insert, None, Some(&[cid, pid]))
                }
                Op::DeleteC(cid) => change(c, RowKind::Delete, Some(&[cid, *self.c.get(&cid)?]), None),
                Op::MoveC(cid, pid) => {
                    let old = *self.c.get(&cid)?;
                    self.t.contains_key(&pid).then_some(())?;
                    change(c, RowKind::Update, Some(&[cid, old]), Some(&[cid, pid]))
                }
            })
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        let k = 0i64..6;
        prop_oneof![
            (k.clone(), k.clone(), k.clone()).prop_map(|(a, b, c)| Op::InsertT(a, b, c)),
            k.clone().prop_map(Op::DeleteT),
            (k.clone(), k.clone()).prop_map(|(a, b)| Op::SetV(a, b)),
            (k.clone(), k.clone()).prop_map(|(a, b)| Op::SetU(a, b)),
            (k.clone(), k.clone()).prop_map(|(a, b)| Op::InsertC(a, b)),
            k.clone().prop_map(Op::DeleteC),
            (k.clone(), k).prop_map(|(a, b)| Op::MoveC(a, b)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Coalesced, the group's changes reach the same final state as run one by one in
        /// source order, and no row of any statement breaks a key or finds nothing midway,
        /// whatever order the server takes a batched statement's rows in (here: backwards).
        #[test]
        fn coalesced_groups_end_in_the_sequential_state(txn_ops in prop::collection::vec(prop::collection::vec(op(), 1..5), 1..24)) {
            let (t, c, catalog) = tables();
            let mut sequential = Model::default();
            let mut group = Vec::new();
            for ops in &txn_ops {
                let mut changes = Vec::new();
                for op in ops {
                    if let Some(ch) = sequential.change(op, &t, &c) {
                        let Change::Rows(rc) = &ch else { unreachable!() };
                        sequential.apply(&rc.table.table, rc.kind, &rc.rows[0]).unwrap();
                        changes.push(ch);
                    }
                }
                group.push(txn(changes));
            }
            let mut coalescer = Coalescer::new(catalog);
            let buckets = coalescer.buckets(&group).expect("every table is known");
            let mut coalesced = Model::default();
            for b in &buckets {
                let batched = b.kind != RowKind::Insert && !b.shape.is_empty() && b.rows.len() > 1;
                let order: Vec<&&RowChange> = if batched { b.rows.iter().rev().collect() } else { b.rows.iter().collect() };
                for rc in order {
                    if let Err(e) = coalesced.apply(&b.table.table, b.kind, rc) {
                        panic!("{e} in bucket {:?} {:?}", b.kind, b.table.table);
                    }
                }
            }
            prop_assert_eq!(coalesced, sequential);
            // And it renders.
            prop_assert!(coalescer.plan(&builder(), &group).unwrap().is_ok());
        }
    }

    /// FK actions end to end: `s.p(id PK, v)` <- `s.c(cid PK, pid NULL -> p.id ON DELETE
    /// <del> ON UPDATE <upd>)` <- `s.g(gid PK, cid -> c.cid ON DELETE CASCADE)`. The model
    /// applies the cascades the way the target does; the logged row changes are only the
    /// direct ones, as in a binlog.
    mod cascades {
        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use super::super::*;
        use super::{builder, int_col, txn};
        use crate::schedule::catalog::FkAction;
        use crate::schedule::{BarrierReason, StaticCatalog, TableDef};
        use crate::txn::RowsChange;

        #[derive(Debug, Clone, Default, PartialEq)]
        struct Model {
            p: BTreeMap<i64, i64>,
            c: BTreeMap<i64, Option<i64>>,
            g: BTreeMap<i64, i64>,
        }

        #[derive(Debug, Clone, Copy)]
        enum Op {
            InsertP(i64, i64),
            DeleteP(i64),
            SetV(i64, i64),
            RekeyP(i64, i64),
            InsertC(i64, Option<i64>),
            DeleteC(i64),
            MoveC(i64, Option<i64>),
            InsertG(i64, i64),
            DeleteG(i64),
        }

        struct Schema {
            p: Arc<TableMap>,
            c: Arc<TableMap>,
            g: Arc<TableMap>,
            on_delete: FkAction,
            on_update: FkAction,
            catalog: Arc<dyn KeyCatalog>,
        }

        fn schema(on_delete: FkAction, on_update: FkAction) -> Schema {
            let tm = |id: u64, name: &str, cols: [&str; 2]| Arc::new(TableMap { table_id: id, schema: "s".into(), table: name.into(), columns: vec![int_col(cols[0]), int_col(cols[1])], primary_key: vec![0], has_full_metadata: true, system_versioned: false, sequence: false });
            let catalog: Arc<dyn KeyCatalog> = Arc::new(
                StaticCatalog::new()
                    .with_table(TableDef::new("s", "p").column("id", None).column("v", None).primary_key(&["id"]))
                    .with_table(TableDef::new("s", "c").column("cid", None).column("pid", None).primary_key(&["cid"]).foreign_key("c_p", &["pid"], "s", "p", &["id"]).on(on_delete, on_update))
                    .with_table(TableDef::new("s", "g").column("gid", None).column("cid", None).primary_key(&["gid"]).foreign_key("g_c", &["cid"], "s", "c", &["cid"]).on(FkAction::Cascade, FkAction::Restrict)),
            );
            let s = Schema { p: tm(1, "p", ["id", "v"]), c: tm(2, "c", ["cid", "pid"]), g: tm(3, "g", ["gid", "cid"]), on_delete, on_update, catalog };
            for t in [&s.p, &s.c, &s.g] {
                assert!(s.catalog.table_keys(t).is_some());
            }
            s
        }

        fn ints(r: &Option<Row>) -> Vec<Option<i64>> {
            r.as_ref().map(|r| r.cols.iter().map(|v| if let Some(Value::Int(i)) = v { Some(*i) } else { None }).collect()).unwrap_or_default()
        }

        impl Model {
            fn delete_c(&mut self, cid: i64) {
                self.c.remove(&cid);
                self.g.retain(|_, c| *c != cid);
            }

            /// Apply one logged row change and the cascades it sets off; `Err` names what the
            /// server would refuse.
            fn apply(&mut self, s: &Schema, table: &str, kind: RowKind, rc: &RowChange) -> Result<(), String> {
                let (b, a) = (ints(&rc.before), ints(&rc.after));
                let key = |v: &[Option<i64>]| v[0].ok_or("no key".to_string());
                match (table, kind) {
                    ("p", RowKind::Insert) => {
                        let id = key(&a)?;
                        if self.p.insert(id, a[1].unwrap_or(0)).is_some() {
                            return Err(format!("duplicate p {id}"));
                        }
                    }
                    ("p", RowKind::Delete) => {
                        let id = key(&b)?;
                        self.p.remove(&id).ok_or(format!("p {id} not found"))?;
                        let kids: Vec<i64> = self.c.iter().filter(|(_, p)| **p == Some(id)).map(|(c, _)| *c).collect();
                        match s.on_delete {
                            FkAction::Restrict if !kids.is_empty() => return Err(format!("p {id} has children")),
                            FkAction::Cascade => kids.iter().for_each(|k| self.delete_c(*k)),
                            FkAction::SetNull => kids.iter().for_each(|k| {
                                self.c.insert(*k, None);
                            }),
                            _ => {}
                        }
                    }
                    ("p", RowKind::Update) => {
                        let (old, new) = (key(&b)?, key(&a)?);
                        self.p.remove(&old).ok_or(format!("p {old} not found"))?;
                        if self.p.insert(new, a[1].unwrap_or(0)).is_some() {
                            return Err(format!("duplicate p {new}"));
                        }
                        if old != new {
                            let kids: Vec<i64> = self.c.iter().filter(|(_, p)| **p == Some(old)).map(|(c, _)| *c).collect();
                            match s.on_update {
                                FkAction::Restrict if !kids.is_empty() => return Err(format!("p {old} has children")),
                                FkAction::Cascade => kids.iter().for_each(|k| {
                                    self.c.insert(*k, Some(new));
                                }),
                                FkAction::SetNull => kids.iter().for_each(|k| {
                                    self.c.insert(*k, None);
                                }),
                                _ => {}
                            }
                        }
                    }
                    ("c", RowKind::Insert) | ("c", RowKind::Update) => {
                        let cid = key(&a)?;
                        if let Some(p) = a[1] {
                            if !self.p.contains_key(&p) {
                                return Err(format!("c {cid}: parent {p} missing"));
                            }
                        }
                        if self.c.contains_key(&cid) == (kind == RowKind::Insert) {
                            return Err(format!("c {cid} duplicate or missing"));
                        }
                        self.c.insert(cid, a[1]);
                    }
                    ("c", RowKind::Delete) => {
                        let cid = key(&b)?;
                        self.c.get(&cid).ok_or(format!("c {cid} not found"))?;
                        self.delete_c(cid);
                    }
                    ("g", RowKind::Insert) => {
                        let (gid, cid) = (key(&a)?, a[1].unwrap_or(-1));
                        if !self.c.contains_key(&cid) {
                            return Err(format!("g {gid}: parent {cid} missing"));
                        }
                        if self.g.insert(gid, cid).is_some() {
                            return Err(format!("duplicate g {gid}"));
                        }
                    }
                    ("g", RowKind::Delete) => {
                        let gid = key(&b)?;
                        self.g.remove(&gid).ok_or(format!("g {gid} not found"))?;
                    }
                    _ => return Err(format!("no such change {table} {kind:?}")),
                }
                Ok(())
            }

            /// The logged change `op` makes here, when the source would accept it.
            fn change(&self, s: &Schema, op: Op) -> Option<Change> {
                let v = |x: Option<i64>| x.map_or(Value::Null, Value::Int);
                let one = |t: &Arc<TableMap>, kind, before: Option<[Value; 2]>, after: Option<[Value; 2]>| {
                    Change::Rows(RowsChange { raw: None, flags: 0, table: t.clone(), kind, rows: vec![RowChange { before: before.map(|r| Row { cols: r.into_iter().map(Some).collect() }), after: after.map(|r| Row { cols: r.into_iter().map(Some).collect() }) }] })
                };
                let ch = match op {
                    Op::InsertP(id, x) => one(&s.p, RowKind::Insert, None, Some([Value::Int(id), Value::Int(x)])),
                    Op::DeleteP(id) => one(&s.p, RowKind::Delete, Some([Value::Int(id), Value::Int(*self.p.get(&id)?)]), None),
                    Op::SetV(id, x) => one(&s.p, RowKind::Update, Some([Value::Int(id), Value::Int(*self.p.get(&id)?)]), Some([Value::Int(id), Value::Int(x)])),
                    Op::RekeyP(id, new) => {
                        let x = *self.p.get(&id)?;
                        one(&s.p, RowKind::Update, Some([Value::Int(id), Value::Int(x)]), Some([Value::Int(new), Value::Int(x)]))
                    }
                    Op::InsertC(cid, pid) => one(&s.c, RowKind::Insert, None, Some([Value::Int(cid), v(pid)])),
                    Op::DeleteC(cid) => one(&s.c, RowKind::Delete, Some([Value::Int(cid), v(*self.c.get(&cid)?)]), None),
                    Op::MoveC(cid, pid) => one(&s.c, RowKind::Update, Some([Value::Int(cid), v(*self.c.get(&cid)?)]), Some([Value::Int(cid), v(pid)])),
                    Op::InsertG(gid, cid) => one(&s.g, RowKind::Insert, None, Some([Value::Int(gid), Value::Int(cid)])),
                    Op::DeleteG(gid) => one(&s.g, RowKind::Delete, Some([Value::Int(gid), Value::Int(*self.g.get(&gid)?)]), None),
                };
                let Change::Rows(rc) = &ch else { return None };
                self.clone().apply(s, &rc.table.table, rc.kind, &rc.rows[0]).ok()?;
                Some(ch)
            }

            fn apply_txn(&mut self, s: &Schema, t: &Transaction) -> Result<(), String> {
                for ch in &t.changes {
                    let Change::Rows(rc) = ch else { continue };
                    for r in &rc.rows {
                        self.apply(s, &rc.table.table, rc.kind, r)?;
                    }
                }
                Ok(())
            }
        }

        fn op() -> impl Strategy<Value = Op> {
            let k = 0i64..5;
            let opt = proptest::option::weighted(0.8, 0i64..5);
            prop_oneof![
                (k.clone(), k.clone()).prop_map(|(a, b)| Op::InsertP(a, b)),
                k.clone().prop_map(Op::DeleteP),
                (k.clone(), k.clone()).prop_map(|(a, b)| Op::SetV(a, b)),
                (k.clone(), k.clone()).prop_map(|(a, b)| Op::RekeyP(a, b)),
                (k.clone(), opt.clone()).prop_map(|(a, b)| Op::InsertC(a, b)),
                k.clone().prop_map(Op::DeleteC),
                (k.clone(), opt).prop_map(|(a, b)| Op::MoveC(a, b)),
                (k.clone(), k.clone()).prop_map(|(a, b)| Op::InsertG(a, b)),
                k.prop_map(Op::DeleteG),
            ]
        }

        fn action(i: u8) -> FkAction {
            [FkAction::Restrict, FkAction::Cascade, FkAction::SetNull][usize::from(i % 3)]
        }

        /// The source's transactions (valid one after another) and the state they end in.
        fn source(s: &Schema, txn_ops: &[Vec<Op>]) -> (Vec<Transaction>, Model) {
            let mut sequential = Model::default();
            let mut txns = Vec::new();
            for ops in txn_ops {
                let mut changes = Vec::new();
                for op in ops {
                    if let Some(ch) = sequential.change(s, *op) {
                        let Change::Rows(rc) = &ch else { unreachable!() };
                        sequential.apply(s, &rc.table.table, rc.kind, &rc.rows[0]).unwrap();
                        changes.push(ch);
                    }
                }
                txns.push(txn(changes));
            }
            (txns, sequential)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(768))]

            /// Any order the writeset keys allow (transactions that share no key and are no
            /// barrier may run in either order; everything else keeps source order) reaches the
            /// sequential end state with no statement refused, under every mix of ON DELETE
            /// (RESTRICT, CASCADE, SET NULL) and ON UPDATE (RESTRICT, CASCADE, SET NULL), with a
            /// second level (g ON DELETE CASCADE) below.
            #[test]
            fn every_order_the_keys_allow_ends_in_the_sequential_state(
                txn_ops in prop::collection::vec(prop::collection::vec(op(), 1..4), 1..16),
                del in 0u8..3,
                upd in 0u8..3,
                choices in prop::collection::vec(any::<u32>(), 16),
            ) {
                let s = schema(action(del), action(upd));
                let (txns, sequential) = source(&s, &txn_ops);
                let mut x = KeyExtractor::new(s.catalog.clone(), 1000);
                let facts: Vec<_> = txns.iter().map(|t| x.facts(t, true)).collect();
                let ordered = |i: usize, j: usize| facts[i].key_barrier.is_some() || facts[j].key_barrier.is_some() || facts[i].keys.iter().any(|k| facts[j].keys.contains(k));
                let mut done = vec![false; txns.len()];
                let mut model = Model::default();
                for step in 0..txns.len() {
                    let ready: Vec<usize> = (0..txns.len()).filter(|&j| !done[j] && (0..j).all(|i| done[i] || !ordered(i, j))).collect();
                    let pick = ready[choices[step % choices.len()] as usize % ready.len()];
                    done[pick] = true;
                    if let Err(e) = model.apply_txn(&s, &txns[pick]) {
                        panic!("txn {pick} ({:?}) run after {:?}: {e}", txns[pick].changes, done);
                    }
                }
                prop_assert_eq!(model, sequential);
            }

            /// Coalesced, a commit group's changes reach the sequential end state (batched rows
            /// run backwards); a group holding a change whose cascade no key names is declined
            /// (planned member by member) and for no other reason.
            #[test]
            fn coalesced_groups_with_cascades_end_in_the_sequential_state(
                txn_ops in prop::collection::vec(prop::collection::vec(op(), 1..4), 1..16),
                del in 0u8..3,
                upd in 0u8..3,
            ) {
                let s = schema(action(del), action(upd));
                let (txns, sequential) = source(&s, &txn_ops);
                let mut x = KeyExtractor::new(s.catalog.clone(), 1000);
                let cascading = txns.iter().any(|t| x.facts(t, true).key_barrier == Some(BarrierReason::FkCascade));
                let mut coalescer = Coalescer::new(s.catalog.clone());
                match coalescer.buckets(&txns) {
                    None => prop_assert!(cascading, "declined without a cascade"),
                    Some(buckets) => {
                        prop_assert!(!cascading, "a cascading change was coalesced");
                        let mut model = Model::default();
                        for b in &buckets {
                            let batched = b.kind != RowKind::Insert && !b.shape.is_empty() && b.rows.len() > 1;
                            let order: Vec<&&RowChange> = if batched { b.rows.iter().rev().collect() } else { b.rows.iter().collect() };
                            for rc in order {
                                if let Err(e) = model.apply(&s, &b.table.table, b.kind, rc) {
                                    panic!("{e} in bucket {:?} {:?}", b.kind, b.table.table);
                                }
                            }
                        }
                        prop_assert_eq!(model, sequential);
                        prop_assert!(coalescer.plan(&builder(), &txns).unwrap().is_ok());
                    }
                }
            }
        }
    }
}
