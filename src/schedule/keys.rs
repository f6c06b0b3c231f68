//! Key extraction for the writeset modes: from each row change's before AND after images, the
//! xxh3 hashes of (index id, normalised key values) for the primary key, every unique key, every
//! foreign key (the child row carries the parent's referenced-key hash) and every column set
//! other tables reference (the parent side), plus the per-transaction facts every rule reads
//! ([`TxnFacts`]).
//!
//! Owns hashing and the "can we see into this?" decisions (which become barrier reasons). It
//! must not decide dependencies (the rules do) or know where key layouts come from (the
//! [`KeyCatalog`] does).
//!
//! Worked example (why both images): `t(id PK, email UNIQUE)`.
//! ```text
//! T1: UPDATE t SET email='b@x' WHERE id=1   (before: 1,'a@x'  after: 1,'b@x')
//! T2: INSERT INTO t VALUES (2,'a@x')
//! T3: UPDATE t SET email='c@x' WHERE id=3 AND email='b@x'... (any txn touching 'b@x')
//! ```
//! T1's keys: PRIMARY(1), email('a@x'), email('b@x'). T2 reuses 'a@x', freed by T1: run before
//! T1 commits it would fail with a duplicate key, so it must wait; it does, because it shares
//! email('a@x') with T1's before image. Anything touching 'b@x' shares T1's after-image key.
//!
//! MINIMAL row images: a key whose columns are all missing from an update's after image did not
//! change (fine); a key whose old value is missing while the new one is present, or a key only
//! partly present, cannot be compared and makes the transaction a `PartialImage` barrier.
//! NULL in a unique key never conflicts (SQL allows many NULLs), so such a key is not hashed.

use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

use super::catalog::{KeyCatalog, TableKeys};
use super::collation::{self, CollationRule};
use super::BarrierReason;
use crate::decode::value::{Row, Value};
use crate::txn::{Change, CommitDeps, RowChange, RowKind, RowsChange, Transaction};

/// What the rules need to know about one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnFacts {
    pub deps: CommitDeps,
    pub thread_id: Option<u32>,
    pub is_ddl: bool,
    /// Deduplicated key hashes (filled for the writeset modes only).
    pub keys: Vec<u64>,
    /// Set when the writeset modes must make this transaction a barrier.
    pub key_barrier: Option<BarrierReason>,
    /// Row changes in the transaction (the `rows` cost model).
    pub rows: u64,
    /// One part of an XA transaction: a barrier in every mode ([`BarrierReason::Xa`]).
    pub xa: bool,
}

impl TxnFacts {
    /// Facts with precomputed keys (benches, tests, simulations).
    pub fn with_keys(keys: Vec<u64>) -> Self {
        TxnFacts { keys, rows: 1, ..Default::default() }
    }
}

/// Readable description of a key hash, for `analyze`'s hottest keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLabel {
    pub hash: u64,
    /// `schema.table`
    pub table: String,
    /// Index name and its columns, e.g. `email_uk(email)`.
    pub index: String,
    /// The key values, rendered (only kept when asked for).
    pub values: Option<String>,
}

/// Turns transactions into [`TxnFacts`], computing keys through a [`KeyCatalog`].
pub struct KeyExtractor {
    catalog: Arc<dyn KeyCatalog>,
    writeset_limit: usize,
    scratch: Vec<u8>,
}

enum Presence {
    Full,
    Absent,
    Partial,
}

impl KeyExtractor {
    pub fn new(catalog: Arc<dyn KeyCatalog>, writeset_limit: usize) -> Self {
        KeyExtractor { catalog, writeset_limit: writeset_limit.max(1), scratch: Vec::with_capacity(256) }
    }

    pub fn catalog(&self) -> &Arc<dyn KeyCatalog> {
        &self.catalog
    }

    /// Facts for `txn`; keys only when `with_keys` (writeset modes).
    pub fn facts(&mut self, txn: &Transaction, with_keys: bool) -> TxnFacts {
        let mut f = TxnFacts::default();
        self.facts_into(txn, with_keys, &mut f, None);
        f
    }

    /// Like [`KeyExtractor::facts`], reusing `out`'s allocation; with `labels`, also describes
    /// every key (slow path for `analyze`).
    pub fn facts_into(&mut self, txn: &Transaction, with_keys: bool, out: &mut TxnFacts, mut labels: Option<(&mut Vec<KeyLabel>, bool)>) {
        out.deps = txn.deps;
        out.thread_id = txn.thread_id;
        out.is_ddl = txn.is_ddl;
        out.xa = txn.xa.is_some();
        out.keys.clear();
        out.key_barrier = None;
        out.rows = txn
            .changes
            .iter()
            .map(|c| match c {
                Change::Rows(r) => r.rows.len() as u64,
                _ => 0,
            })
            .sum();
        if !with_keys {
            return;
        }
        if txn.is_ddl {
            out.key_barrier = Some(BarrierReason::Ddl);
            return;
        }
        if txn.stream.is_some() {
            // A streamed transaction's rows arrive after dispatch: more rows than the reader
            // holds at once, so more keys than any writeset should carry.
            out.key_barrier = Some(BarrierReason::TooManyKeys);
            return;
        }
        for change in &txn.changes {
            let result = match change {
                Change::Rows(rc) => self.rows_change_keys(rc, &mut out.keys, labels.as_mut().map(|(l, v)| (&mut **l, *v))),
                Change::Query(_) | Change::Context(_) | Change::Load(_) => Err(BarrierReason::StatementDml),
                Change::Opaque { .. } => Err(BarrierReason::Opaque),
            };
            if let Err(reason) = result {
                out.keys.clear();
                out.key_barrier = Some(reason);
                return;
            }
        }
        out.keys.sort_unstable();
        out.keys.dedup();
        if out.keys.len() > self.writeset_limit {
            out.keys.clear();
            out.key_barrier = Some(BarrierReason::TooManyKeys);
        }
    }

    fn rows_change_keys(&mut self, rc: &RowsChange, out: &mut Vec<u64>, mut labels: Option<(&mut Vec<KeyLabel>, bool)>) -> Result<(), BarrierReason> {
        let tk = self.catalog.table_keys(&rc.table).ok_or(BarrierReason::UnknownSchema)?;
        if !tk.has_unique_key() {
            // Rows without a unique key are found by their whole image on the target: changes
            // to the same table must keep their order, so the table itself is their key.
            let key = tk.table_key();
            out.push(key);
            if let Some((labels, with_values)) = labels.as_mut() {
                labels.push(KeyLabel { hash: key, table: format!("{}.{}", tk.schema, tk.table), index: "(whole table: no unique key)".into(), values: with_values.then(String::new) });
            }
        }
        for row in &rc.rows {
            self.row_keys(&tk, rc.kind, row, out, labels.as_mut().map(|(l, v)| (&mut **l, *v)))?;
            if out.len() > self.writeset_limit.saturating_mul(4) {
                // Bound work on huge transactions before deduplication; recheck after it.
                out.sort_unstable();
                out.dedup();
                if out.len() > self.writeset_limit {
                    return Err(BarrierReason::TooManyKeys);
                }
            }
        }
        Ok(())
    }

    /// Keys of one row change (both images) appended to `out`.
    pub fn row_keys(
        &mut self,
        tk: &TableKeys,
        kind: RowKind,
        row: &RowChange,
        out: &mut Vec<u64>,
        mut labels: Option<(&mut Vec<KeyLabel>, bool)>,
    ) -> Result<(), BarrierReason> {
        if !tk.cascade.is_empty() {
            cascade_check(tk, kind, row)?;
        }
        let mut identified = false;
        for (n, idx) in tk.unique_keys.iter().chain(tk.referenced_keys.iter()).enumerate() {
            let is_unique = n < tk.unique_keys.len();
            let hashed = self.index_keys(tk, kind, row, idx.id, &idx.columns, &idx.prefix_chars, out, &idx.name, labels.as_mut().map(|(l, v)| (&mut **l, *v)))?;
            identified |= is_unique && hashed;
        }
        for fk in &tk.foreign_keys {
            // The label is only built for `analyze`'s hot-key list, never on the hot path.
            let label = if labels.is_some() { format!("{} -> {}.{}", fk.name, fk.parent_schema, fk.parent_table) } else { String::new() };
            self.index_keys(tk, kind, row, fk.id, &fk.columns, &[], out, &label, labels.as_mut().map(|(l, v)| (&mut **l, *v)))?;
        }
        if identified || !tk.has_unique_key() {
            Ok(())
        } else {
            // Every unique key is NULL or unchanged-and-absent in every image: the row cannot be
            // told apart from others.
            Err(BarrierReason::NoKey)
        }
    }

    /// Hash one index over the images of `row`. Returns whether any image produced a hash.
    #[allow(clippy::too_many_arguments)]
    fn index_keys(
        &mut self,
        tk: &TableKeys,
        kind: RowKind,
        row: &RowChange,
        id: u64,
        columns: &[usize],
        prefix_chars: &[Option<u32>],
        out: &mut Vec<u64>,
        name: &str,
        mut labels: Option<(&mut Vec<KeyLabel>, bool)>,
    ) -> Result<bool, BarrierReason> {
        let before = row.before.as_ref().map(|r| (r, presence(r, columns)));
        let after = row.after.as_ref().map(|r| (r, presence(r, columns)));
        let images: [Option<&Row>; 2] = match (kind, &before, &after) {
            (_, Some((_, Presence::Partial)), _) | (_, _, Some((_, Presence::Partial))) => return Err(BarrierReason::PartialImage),
            (RowKind::Insert, _, Some((a, Presence::Full))) => [None, Some(a)],
            (RowKind::Delete, Some((b, Presence::Full)), _) => [Some(b), None],
            (RowKind::Update, Some((b, Presence::Full)), Some((a, Presence::Full))) => [Some(b), Some(a)],
            // Absent in the after image: unchanged, the before image has it.
            (RowKind::Update, Some((b, Presence::Full)), Some((_, Presence::Absent))) => [Some(b), None],
            // Absent in both: unchanged and unknown; the row is identified by another key.
            (RowKind::Update, Some((_, Presence::Absent)), Some((_, Presence::Absent))) => [None, None],
            _ => return Err(BarrierReason::PartialImage),
        };
        let mut hashed = false;
        for image in images.into_iter().flatten() {
            if let Some(h) = self.hash_key(tk, id, columns, prefix_chars, image) {
                out.push(h);
                hashed = true;
                if let Some((labels, show_values)) = labels.as_mut() {
                    let cols: Vec<&str> = columns.iter().map(|&c| tk.column_names.get(c).map(String::as_str).unwrap_or("?")).collect();
                    labels.push(KeyLabel {
                        hash: h,
                        table: format!("{}.{}", tk.schema, tk.table),
                        index: format!("{}({})", name, cols.join(",")),
                        values: show_values.then(|| render_values(image, columns)),
                    });
                }
            }
        }
        Ok(hashed)
    }

    /// The hash of `columns` of `image` under index `id`, or None when a value is NULL.
    fn hash_key(&mut self, tk: &TableKeys, id: u64, columns: &[usize], prefix_chars: &[Option<u32>], image: &Row) -> Option<u64> {
        let buf = &mut self.scratch;
        buf.clear();
        buf.extend_from_slice(&id.to_le_bytes());
        for (i, &c) in columns.iter().enumerate() {
            let value = image.cols.get(c)?.as_ref()?;
            let rule = tk.collations.get(c).copied().unwrap_or(CollationRule::UNKNOWN);
            let prefix = prefix_chars.get(i).copied().flatten();
            if !encode_value(value, rule, prefix, buf) {
                return None;
            }
        }
        Some(xxh3_64(buf))
    }
}

/// `FkCascade` when this change sets off FK actions on the target that reach child rows no key
/// of it names (see [`super::catalog::CascadeReach`] for why ON DELETE CASCADE cannot be named
/// and a one-level ON UPDATE CASCADE can).
fn cascade_check(tk: &TableKeys, kind: RowKind, row: &RowChange) -> Result<(), BarrierReason> {
    let reach = &tk.cascade;
    match kind {
        RowKind::Insert => Ok(()),
        RowKind::Delete if reach.delete_barrier => Err(BarrierReason::FkCascade),
        RowKind::Delete => Ok(()),
        RowKind::Update => {
            let (before, after) = (row.before.as_ref(), row.after.as_ref());
            let new = |c: usize| after.and_then(|a| a.cols.get(c)).and_then(Option::as_ref);
            // Absent from the after image: unchanged. Present there but not before: unknown,
            // so taken as changed. InnoDB cascades on any byte change, even one the column's
            // collation calls equal ('a' -> 'A'), so the comparison is of bytes.
            let changed = |c: usize| new(c).is_some_and(|v| before.and_then(|b| b.cols.get(c)).and_then(Option::as_ref) != Some(v));
            if reach.update_barrier_columns.iter().any(|&c| changed(c)) {
                return Err(BarrierReason::FkCascade);
            }
            // Children follow the parent to its new value and carry it as their FK key, unless
            // it is NULL (never hashed).
            if reach.update_cascade_columns.iter().any(|&c| changed(c) && matches!(new(c), Some(Value::Null))) {
                return Err(BarrierReason::FkCascade);
            }
            Ok(())
        }
    }
}

fn presence(row: &Row, columns: &[usize]) -> Presence {
    let present = columns.iter().filter(|&&c| matches!(row.cols.get(c), Some(Some(_)))).count();
    // A JSON diff is a change to a value the image does not hold: the key's value is unknown.
    // (MySQL cannot index a JSON column, so this only guards against a catalog that says so.)
    if columns.iter().any(|&c| matches!(row.cols.get(c), Some(Some(Value::JsonDiff(_))))) {
        return Presence::Partial;
    }
    if present == columns.len() {
        Presence::Full
    } else if present == 0 {
        Presence::Absent
    } else {
        Presence::Partial
    }
}

/// Append the canonical encoding of `v` (a type tag, then bytes equal exactly when the values
/// compare equal in a key). Returns false for NULL.
fn encode_value(v: &Value, rule: CollationRule, prefix: Option<u32>, buf: &mut Vec<u8>) -> bool {
    match v {
        Value::Null => return false,
        // Non-negative signed and unsigned share a tag: an FK may join INT to INT whatever the
        // decoder widened them to.
        Value::Int(i) if *i >= 0 => {
            buf.push(1);
            buf.extend_from_slice(&(*i as u64).to_le_bytes());
        }
        Value::Int(i) => {
            buf.push(2);
            buf.extend_from_slice(&i.to_le_bytes());
        }
        Value::UInt(u) => {
            buf.push(1);
            buf.extend_from_slice(&u.to_le_bytes());
        }
        Value::Float(f) => encode_double(f64::from(*f), buf),
        Value::Double(d) => encode_double(*d, buf),
        Value::Decimal(s) => {
            buf.push(4);
            let negative_zero = s.starts_with('-') && s.bytes().all(|b| matches!(b, b'-' | b'0' | b'.'));
            let s = if negative_zero { &s[1..] } else { s.as_str() };
            buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        Value::Year(y) => {
            buf.push(5);
            buf.extend_from_slice(&y.to_le_bytes());
        }
        Value::Date { year, month, day } => {
            buf.push(6);
            buf.extend_from_slice(&year.to_le_bytes());
            buf.extend_from_slice(&[*month, *day]);
        }
        Value::Time { negative, hours, minutes, seconds, micros } => {
            buf.push(7);
            let zero = *hours == 0 && *minutes == 0 && *seconds == 0 && *micros == 0;
            buf.push(u8::from(*negative && !zero));
            buf.extend_from_slice(&hours.to_le_bytes());
            buf.extend_from_slice(&[*minutes, *seconds]);
            buf.extend_from_slice(&micros.to_le_bytes());
        }
        Value::DateTime { year, month, day, hour, minute, second, micros } => {
            buf.push(8);
            buf.extend_from_slice(&year.to_le_bytes());
            buf.extend_from_slice(&[*month, *day, *hour, *minute, *second]);
            buf.extend_from_slice(&micros.to_le_bytes());
        }
        Value::Timestamp { secs, micros } => {
            buf.push(9);
            buf.extend_from_slice(&secs.to_le_bytes());
            buf.extend_from_slice(&micros.to_le_bytes());
        }
        Value::Bytes(b) => {
            buf.push(10);
            let len_at = buf.len();
            buf.extend_from_slice(&[0; 4]);
            collation::normalise(rule, b, prefix, buf);
            let len = (buf.len() - len_at - 4) as u32;
            buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        }
        Value::Bit { value, .. } => {
            buf.push(11);
            buf.extend_from_slice(&value.to_le_bytes());
        }
        Value::Enum(e) => {
            buf.push(12);
            buf.extend_from_slice(&e.to_le_bytes());
        }
        Value::Set(s) => {
            buf.push(13);
            buf.extend_from_slice(&s.to_le_bytes());
        }
        Value::Json(j) => {
            buf.push(14);
            buf.extend_from_slice(&(j.len() as u32).to_le_bytes());
            buf.extend_from_slice(j.as_bytes());
        }
        // Never reached through `hash_key` (`presence` makes it a PartialImage barrier first);
        // encoded distinctly all the same rather than panicking.
        Value::JsonDiff(d) => {
            buf.push(17);
            buf.extend_from_slice(format!("{d:?}").as_bytes());
        }
        Value::Geometry(g) => {
            buf.push(15);
            buf.extend_from_slice(&(g.len() as u32).to_le_bytes());
            buf.extend_from_slice(g);
        }
        Value::Vector(v) => {
            buf.push(16);
            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
            for f in v {
                buf.extend_from_slice(&f.to_bits().to_le_bytes());
            }
        }
    }
    true
}

fn encode_double(d: f64, buf: &mut Vec<u8>) {
    buf.push(3);
    // -0.0 == 0.0 in a key.
    let d = if d == 0.0 { 0.0 } else { d };
    buf.extend_from_slice(&d.to_bits().to_le_bytes());
}

fn render_values(image: &Row, columns: &[usize]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|&c| match image.cols.get(c) {
            Some(Some(v)) => {
                let shown = v.to_string();
                if shown.chars().count() > 48 {
                    shown.chars().take(45).collect::<String>() + "..."
                } else {
                    shown
                }
            }
            _ => "?".into(),
        })
        .collect();
    format!("({})", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::QueryEvent;
    use crate::schedule::catalog::{FkAction, StaticCatalog, TableDef};
    use crate::schedule::synth::{self, row, s, TYPE_LONGLONG, TYPE_VARCHAR};
    use crate::txn::RowKind::*;

    fn extractor(catalog: StaticCatalog) -> KeyExtractor {
        KeyExtractor::new(Arc::new(catalog), 1000)
    }
    fn shares(a: &TxnFacts, b: &TxnFacts) -> bool {
        a.keys.iter().any(|k| b.keys.contains(k))
    }

    /// users(id PK, email UNIQUE with the given collation)
    fn users(collation: u16) -> (Arc<crate::decode::event::TableMap>, StaticCatalog) {
        let t = synth::table(1, "app", "users", &[("id", TYPE_LONGLONG, None), ("email", TYPE_VARCHAR, Some(collation))], &[0]);
        let def = TableDef::new("app", "users").column("id", None).column("email", None).primary_key(&["id"]).unique_key("email_uk", &["email"]);
        (t, StaticCatalog::new().with_table(def))
    }

    fn insert_user(t: &Arc<crate::decode::event::TableMap>, id: i64, email: Value) -> Transaction {
        synth::txn(vec![synth::rows(t, Insert, vec![(None, Some(row(vec![Value::Int(id), email])))])])
    }

    fn email_conflict(collation: u16, a: &str, b: &str) -> bool {
        let (t, cat) = users(collation);
        let mut x = extractor(cat);
        let fa = x.facts(&insert_user(&t, 1, s(a)), true);
        let fb = x.facts(&insert_user(&t, 2, s(b)), true);
        assert_eq!(fa.key_barrier, None);
        assert_eq!(fa.keys.len(), 2);
        shares(&fa, &fb)
    }

    #[test]
    fn ci_pad_space_unique_key_conflicts_case_and_trailing_space() {
        assert!(email_conflict(45, "abc", "ABC ")); // utf8mb4_general_ci
        assert!(email_conflict(224, "Straße", "STRASSE")); // utf8mb4_unicode_ci
        assert!(email_conflict(8, "abc", "Abc  ")); // latin1_swedish_ci
        assert!(!email_conflict(45, "abc", "abd"));
    }

    #[test]
    fn no_pad_and_binary_collations_compare_exactly() {
        assert!(email_conflict(255, "abc", "ABC")); // 0900_ai_ci folds case ...
        assert!(!email_conflict(255, "abc", "abc ")); // ... but is NO PAD
        assert!(!email_conflict(309, "abc", "abc ")); // utf8mb4_0900_bin
        assert!(!email_conflict(309, "abc", "ABC"));
        assert!(email_conflict(46, "abc", "abc ")); // utf8mb4_bin is PAD SPACE
        assert!(!email_conflict(46, "abc", "ABC"));
        assert!(!email_conflict(63, "abc", "abc ")); // binary
        assert!(email_conflict(63, "abc", "abc"));
    }

    /// `UNIQUE KEY (code(4))` and `PRIMARY KEY (name(3))`: values equal in their first N
    /// characters (after collation folding) are the same key to the server, so they must
    /// conflict; values differing inside the prefix must not.
    #[test]
    fn prefix_lengths_reach_the_hash() {
        let t = synth::table(
            5,
            "app",
            "tags",
            &[("name", TYPE_VARCHAR, Some(45)), ("code", TYPE_VARCHAR, Some(46))], // general_ci, utf8mb4_bin
            &[0],
        );
        let def = TableDef::new("app", "tags")
            .column("name", None)
            .column("code", None)
            .primary_key_prefix(&[("name", Some(3))])
            .unique_key_prefix("code_pfx", &[("code", Some(4))]);
        let cat = StaticCatalog::new().with_table(def);
        let layout = cat.table_keys(&t).unwrap();
        assert_eq!(layout.unique_keys[0].prefix_chars, vec![Some(3)]);
        assert_eq!(layout.unique_keys[1].prefix_chars, vec![Some(4)]);
        let mut x = extractor(cat);
        let ins = |name: &str, code: &str| synth::txn(vec![synth::rows(&t, Insert, vec![(None, Some(row(vec![s(name), s(code)])))])]);
        let a = x.facts(&ins("Éta-one", "K1-a"), true);
        assert_eq!((a.key_barrier, a.keys.len()), (None, 2));
        // PK prefix: "eta" = "ÉTA" under general_ci; the rest of the value does not count.
        let same_name = x.facts(&ins("ÉTAx", "Z9-z"), true);
        assert!(shares(&a, &same_name));
        let other_name = x.facts(&ins("Etb-one", "Z9-y"), true);
        assert!(!shares(&a, &other_name));
        // UK prefix, case-sensitive collation: the first 4 characters decide.
        let same_code = x.facts(&ins("zzz", "K1-azzzz"), true);
        assert!(shares(&a, &same_code));
        let case_differs = x.facts(&ins("yyy", "k1-a"), true);
        assert!(!shares(&a, &case_differs));
        // Without the prefix the same values would not meet.
        let full = StaticCatalog::new().with_table(TableDef::new("app", "tags").column("name", None).column("code", None).primary_key(&["name"]));
        let mut y = extractor(full);
        assert!(!shares(&y.facts(&ins("Éta-one", "K1-a"), true), &y.facts(&ins("ÉTAx", "Z9-z"), true)));
    }

    #[test]
    fn null_unique_values_never_conflict() {
        let (t, cat) = users(45);
        let mut x = extractor(cat);
        let a = x.facts(&insert_user(&t, 1, Value::Null), true);
        let b = x.facts(&insert_user(&t, 2, Value::Null), true);
        assert_eq!(a.keys.len(), 1); // PK only
        assert!(!shares(&a, &b));
    }

    #[test]
    fn unique_key_change_conflicts_with_old_and_new_values() {
        let (t, cat) = users(45);
        let mut x = extractor(cat);
        let change = synth::txn(vec![synth::rows(
            &t,
            Update,
            vec![(Some(row(vec![Value::Int(1), s("a@x")])), Some(row(vec![Value::Int(1), s("b@x")])))],
        )]);
        let f = x.facts(&change, true);
        assert_eq!(f.keys.len(), 3); // PK 1 (same in both images), email a, email b
        assert!(shares(&f, &x.facts(&insert_user(&t, 2, s("A@X")), true)));
        assert!(shares(&f, &x.facts(&insert_user(&t, 3, s("b@x")), true)));
        assert!(!shares(&f, &x.facts(&insert_user(&t, 4, s("c@x")), true)));
        // Same row through the primary key.
        let del = synth::txn(vec![synth::rows(&t, Delete, vec![(Some(row(vec![Value::Int(1), s("zzz")])), None)])]);
        assert!(shares(&f, &x.facts(&del, true)));
    }

    fn fk_catalog() -> (Arc<crate::decode::event::TableMap>, Arc<crate::decode::event::TableMap>, StaticCatalog) {
        let parent = synth::table(10, "shop", "customer", &[("id", TYPE_LONGLONG, None), ("name", TYPE_VARCHAR, Some(45))], &[0]);
        let child = synth::table(11, "shop", "orders", &[("id", TYPE_LONGLONG, None), ("customer_id", TYPE_LONGLONG, None)], &[0]);
        let cat = StaticCatalog::new()
            .with_table(TableDef::new("shop", "customer").column("id", None).column("name", None).primary_key(&["id"]))
            .with_table(
                TableDef::new("shop", "orders")
                    .column("id", None)
                    .column("customer_id", None)
                    .primary_key(&["id"])
                    .foreign_key("fk_customer", &["customer_id"], "shop", "customer", &["id"]),
            );
        (parent, child, cat)
    }

    #[test]
    fn fk_child_carries_parent_key() {
        let (parent, child, cat) = fk_catalog();
        let mut x = extractor(cat);
        let new_order = x.facts(&synth::txn(vec![synth::rows(&child, Insert, vec![(None, Some(row(vec![Value::Int(100), Value::Int(5)])))])]), true);
        let delete_customer5 = x.facts(&synth::txn(vec![synth::rows(&parent, Delete, vec![(Some(row(vec![Value::Int(5), s("ann")])), None)])]), true);
        let delete_customer6 = x.facts(&synth::txn(vec![synth::rows(&parent, Delete, vec![(Some(row(vec![Value::Int(6), s("bob")])), None)])]), true);
        assert_eq!(new_order.keys.len(), 2); // own PK + parent reference
        assert_eq!(delete_customer5.keys.len(), 2); // own PK + referenced key
        assert!(shares(&new_order, &delete_customer5));
        assert!(!shares(&new_order, &delete_customer6));
        // A child with a NULL parent references nothing.
        let orphan = x.facts(&synth::txn(vec![synth::rows(&child, Insert, vec![(None, Some(row(vec![Value::Int(101), Value::Null])))])]), true);
        assert_eq!(orphan.keys.len(), 1);
        // Parent and child primary keys with equal values do not collide (different indexes).
        let order5 = x.facts(&synth::txn(vec![synth::rows(&child, Insert, vec![(None, Some(row(vec![Value::Int(5), Value::Int(7)])))])]), true);
        assert!(!shares(&order5, &delete_customer5));
    }

    /// customer(id PK, code UNIQUE NULL) <- orders(id PK, customer_id, customer_code) with the
    /// given actions on both FKs, and lines(id PK, order_id -> orders.id ON DELETE CASCADE).
    fn cascade_catalog(on_delete: FkAction, on_update: FkAction) -> (Arc<crate::decode::event::TableMap>, Arc<crate::decode::event::TableMap>, StaticCatalog) {
        let parent = synth::table(20, "shop", "customer", &[("id", TYPE_LONGLONG, None), ("code", TYPE_LONGLONG, None)], &[0]);
        let child = synth::table(21, "shop", "orders", &[("id", TYPE_LONGLONG, None), ("customer_id", TYPE_LONGLONG, None), ("customer_code", TYPE_LONGLONG, None)], &[0]);
        let cat = StaticCatalog::new()
            .with_table(TableDef::new("shop", "customer").column("id", None).column("code", None).primary_key(&["id"]).unique_key("code_uk", &["code"]))
            .with_table(
                TableDef::new("shop", "orders")
                    .column("id", None)
                    .column("customer_id", None)
                    .column("customer_code", None)
                    .primary_key(&["id"])
                    .foreign_key("fk_customer", &["customer_id"], "shop", "customer", &["id"])
                    .on(on_delete, on_update)
                    .foreign_key("fk_code", &["customer_code"], "shop", "customer", &["code"])
                    .on(on_delete, on_update),
            )
            .with_table(
                TableDef::new("shop", "lines")
                    .column("id", None)
                    .column("order_id", None)
                    .primary_key(&["id"])
                    .foreign_key("fk_order", &["order_id"], "shop", "orders", &["id"])
                    .on(FkAction::Cascade, FkAction::Cascade),
            );
        (parent, child, cat)
    }

    fn one(t: &Arc<crate::decode::event::TableMap>, kind: RowKind, before: Option<Vec<Value>>, after: Option<Vec<Value>>) -> Transaction {
        synth::txn(vec![synth::rows(t, kind, vec![(before.map(row), after.map(row))])])
    }

    /// ON DELETE CASCADE: the deleted children are in no binlog; a later insert reusing a
    /// cascaded-away child's primary key names nothing of the parent, so the delete must be a
    /// barrier. SET NULL and SET DEFAULT likewise; RESTRICT stays a keyed change.
    #[test]
    fn on_delete_cascade_and_set_null_make_the_parent_delete_a_barrier() {
        use Value::Int;
        for (action, barrier) in [(FkAction::Cascade, true), (FkAction::SetNull, true), (FkAction::SetDefault, true), (FkAction::Restrict, false)] {
            let (parent, child, cat) = cascade_catalog(action, FkAction::Restrict);
            let mut x = extractor(cat);
            let del = x.facts(&one(&parent, Delete, Some(vec![Int(5), Int(50)]), None), true);
            assert_eq!(del.key_barrier, barrier.then_some(BarrierReason::FkCascade), "{action:?}");
            // Inserting or updating the parent (no referenced column changed) sets off nothing.
            let ins = x.facts(&one(&parent, Insert, None, Some(vec![Int(6), Int(60)])), true);
            assert_eq!((ins.key_barrier, ins.keys.len()), (None, 4), "{action:?}"); // PK, code UK, 2 referenced keys
            let touch = x.facts(&one(&parent, Update, Some(vec![Int(6), Int(60)]), Some(vec![Int(6), Int(60)])), true);
            assert_eq!(touch.key_barrier, None, "{action:?}");
            // The children themselves are ordinary keyed rows.
            let order = x.facts(&one(&child, Insert, None, Some(vec![Int(100), Int(7), Value::Null])), true);
            assert_eq!(order.key_barrier, None);
        }
        // The child table `orders` cascades its own deletes into `lines` (multi-level).
        let (_, child, cat) = cascade_catalog(FkAction::Restrict, FkAction::Restrict);
        let mut x = extractor(cat);
        let del_order = x.facts(&one(&child, Delete, Some(vec![Int(100), Int(7), Value::Null]), None), true);
        assert_eq!(del_order.key_barrier, Some(BarrierReason::FkCascade));
    }

    /// ON UPDATE CASCADE (one level): the children keep the parent's new value, so a later
    /// transaction touching them by FK value shares the parent update's after-image referenced
    /// key, and an earlier one its before-image key: no barrier needed. A new value of NULL
    /// (children then carry no key) and ON UPDATE SET NULL are barriers.
    #[test]
    fn on_update_cascade_is_named_by_both_referenced_values() {
        use Value::Int;
        let (parent, child, cat) = cascade_catalog(FkAction::Restrict, FkAction::Cascade);
        let mut x = extractor(cat);
        let rekey = x.facts(&one(&parent, Update, Some(vec![Int(5), Int(50)]), Some(vec![Int(6), Int(50)])), true);
        assert_eq!(rekey.key_barrier, None);
        let later = x.facts(&one(&child, Update, Some(vec![Int(100), Int(6), Value::Null]), Some(vec![Int(100), Int(6), Int(1)])), true);
        let earlier = x.facts(&one(&child, Insert, None, Some(vec![Int(100), Int(5), Value::Null])), true);
        let unrelated = x.facts(&one(&child, Insert, None, Some(vec![Int(101), Int(7), Value::Null])), true);
        assert!(shares(&rekey, &later));
        assert!(shares(&rekey, &earlier));
        assert!(!shares(&rekey, &unrelated));
        // The nullable unique `code` set to NULL: its children's code becomes NULL, unhashed.
        let to_null = x.facts(&one(&parent, Update, Some(vec![Int(5), Int(50)]), Some(vec![Int(5), Value::Null])), true);
        assert_eq!(to_null.key_barrier, Some(BarrierReason::FkCascade));
        // MINIMAL after image without the referenced columns: they did not change.
        let minimal = synth::txn(vec![synth::rows(&parent, Update, vec![(Some(row(vec![Int(5), Int(50)])), Some(Row { cols: vec![None, None] }))])]);
        assert_eq!(x.facts(&minimal, true).key_barrier, None);
        // Present after, absent before: unknown, taken as a change.
        let unknown = synth::txn(vec![synth::rows(&parent, Update, vec![(Some(Row { cols: vec![Some(Int(5)), None] }), Some(Row { cols: vec![None, Some(Int(51))] }))])]);
        assert!(x.facts(&unknown, true).key_barrier.is_some());

        let (parent, _, cat) = cascade_catalog(FkAction::Restrict, FkAction::SetNull);
        let mut x = extractor(cat);
        let rekey = x.facts(&one(&parent, Update, Some(vec![Int(5), Int(50)]), Some(vec![Int(6), Int(50)])), true);
        assert_eq!(rekey.key_barrier, Some(BarrierReason::FkCascade));
        let other = x.facts(&one(&parent, Update, Some(vec![Int(5), Int(50)]), Some(vec![Int(5), Int(50)])), true);
        assert_eq!(other.key_barrier, None);
    }

    /// ON UPDATE CASCADE into child columns that a grandchild's FK references (here
    /// `item.order_code -> orders.code -> customer.code`): the grandchildren change under the
    /// child's index id, which the parent's keys never hash.
    #[test]
    fn multi_level_update_cascade_is_a_barrier() {
        use Value::Int;
        let parent = synth::table(30, "m", "a", &[("id", TYPE_LONGLONG, None)], &[0]);
        let cat = StaticCatalog::new()
            .with_table(TableDef::new("m", "a").column("id", None).primary_key(&["id"]))
            .with_table(TableDef::new("m", "b").column("id", None).column("a_id", None).primary_key(&["id"]).unique_key("a_uk", &["a_id"]).foreign_key("b_a", &["a_id"], "m", "a", &["id"]).on(FkAction::Restrict, FkAction::Cascade))
            .with_table(TableDef::new("m", "c").column("id", None).column("b_a", None).primary_key(&["id"]).foreign_key("c_b", &["b_a"], "m", "b", &["a_id"]).on(FkAction::Restrict, FkAction::Cascade));
        let mut x = extractor(cat);
        let f = x.facts(&one(&parent, Update, Some(vec![Int(1)]), Some(vec![Int(2)])), true);
        assert_eq!(f.key_barrier, Some(BarrierReason::FkCascade));
        // Without the grandchild the same update is a keyed change.
        let cat = StaticCatalog::new()
            .with_table(TableDef::new("m", "a").column("id", None).primary_key(&["id"]))
            .with_table(TableDef::new("m", "b").column("id", None).column("a_id", None).primary_key(&["id"]).foreign_key("b_a", &["a_id"], "m", "a", &["id"]).on(FkAction::Restrict, FkAction::Cascade));
        let mut x = extractor(cat);
        assert_eq!(x.facts(&one(&parent, Update, Some(vec![Int(1)]), Some(vec![Int(2)])), true).key_barrier, None);
    }

    /// A self-referencing tree `node(id PK, parent_id -> node.id)`: deleting a node with ON
    /// DELETE CASCADE removes its whole subtree (a barrier); ON UPDATE CASCADE of an id moves
    /// the direct children's parent_id, which they carry as their FK key.
    #[test]
    fn self_referencing_cascades() {
        use Value::Int;
        let t = synth::table(40, "m", "node", &[("id", TYPE_LONGLONG, None), ("parent_id", TYPE_LONGLONG, None)], &[0]);
        let cat = StaticCatalog::new().with_table(
            TableDef::new("m", "node").column("id", None).column("parent_id", None).primary_key(&["id"]).foreign_key("up", &["parent_id"], "m", "node", &["id"]).on(FkAction::Cascade, FkAction::Cascade),
        );
        let mut x = extractor(cat);
        assert_eq!(x.facts(&one(&t, Delete, Some(vec![Int(1), Value::Null]), None), true).key_barrier, Some(BarrierReason::FkCascade));
        let rekey = x.facts(&one(&t, Update, Some(vec![Int(1), Value::Null]), Some(vec![Int(9), Value::Null])), true);
        assert_eq!(rekey.key_barrier, None);
        let child_later = x.facts(&one(&t, Update, Some(vec![Int(2), Int(9)]), Some(vec![Int(2), Int(9)])), true);
        assert!(shares(&rekey, &child_later));
        // Moving a node under another parent changes no referenced column: no cascade.
        let mv = x.facts(&one(&t, Update, Some(vec![Int(2), Int(9)]), Some(vec![Int(2), Int(3)])), true);
        assert_eq!(mv.key_barrier, None);
    }

    #[test]
    fn barriers_by_reason() {
        let (t, cat) = users(45);
        let mut x = KeyExtractor::new(Arc::new(cat), 3);
        // PartialImage: update whose before image lacks the unique key but whose after has it.
        let partial = synth::txn(vec![synth::rows(
            &t,
            Update,
            vec![(Some(Row { cols: vec![Some(Value::Int(1)), None] }), Some(Row { cols: vec![None, Some(s("n@x"))] }))],
        )]);
        assert_eq!(x.facts(&partial, true).key_barrier, Some(BarrierReason::PartialImage));
        // MINIMAL update not touching the unique key: fine.
        let minimal = synth::txn(vec![synth::rows(
            &t,
            Update,
            vec![(Some(Row { cols: vec![Some(Value::Int(1)), None] }), Some(Row { cols: vec![None, None] }))],
        )]);
        let f = x.facts(&minimal, true);
        assert_eq!((f.key_barrier, f.keys.len()), (None, 1));
        // MINIMAL partial JSON update: a JSON diff outside any key changes nothing for the keys
        // (the PK from the before image identifies the row); a diff in a key column (which
        // MySQL cannot have, but a wrong catalog could claim) is an unknown value, a barrier.
        let diff = || Value::JsonDiff(vec![crate::decode::json::JsonDiff { op: crate::decode::json::JsonDiffOp::Remove, path: "$.a".into(), value: None }]);
        let (jt, jcat) = {
            let t = synth::table(2, "app", "docs", &[("id", TYPE_LONGLONG, None), ("j", 245, None)], &[0]);
            (t, StaticCatalog::new().with_table(TableDef::new("app", "docs").column("id", None).column("j", None).primary_key(&["id"])))
        };
        let mut xj = extractor(jcat);
        let json_update = |t: &Arc<crate::decode::event::TableMap>| {
            synth::txn(vec![synth::rows(t, Update, vec![(Some(Row { cols: vec![Some(Value::Int(1)), None] }), Some(Row { cols: vec![None, Some(diff())] }))])])
        };
        let f = xj.facts(&json_update(&jt), true);
        assert_eq!((f.key_barrier, f.keys.len()), (None, 1));
        let diff_in_key = synth::txn(vec![synth::rows(
            &t,
            Update,
            vec![(Some(Row { cols: vec![Some(Value::Int(1)), Some(s("a@x"))] }), Some(Row { cols: vec![None, Some(diff())] }))],
        )]);
        assert_eq!(x.facts(&diff_in_key, true).key_barrier, Some(BarrierReason::PartialImage));
        // TooManyKeys: 2 rows x 2 keys > 3.
        let big = synth::txn(vec![synth::rows(&t, Insert, vec![(None, Some(row(vec![Value::Int(1), s("a")]))), (None, Some(row(vec![Value::Int(2), s("b")])))])]);
        assert_eq!(x.facts(&big, true).key_barrier, Some(BarrierReason::TooManyKeys));
        // Statement DML, opaque, DDL.
        let stmt = synth::txn(vec![Change::Query(QueryEvent { query: "UPDATE t SET a=1".into(), ..Default::default() })]);
        assert_eq!(x.facts(&stmt, true).key_barrier, Some(BarrierReason::StatementDml));
        let opaque = synth::txn(vec![Change::Opaque { event_type: 13, what: "RAND".into() }]);
        assert_eq!(x.facts(&opaque, true).key_barrier, Some(BarrierReason::Opaque));
        let mut ddl = synth::txn(vec![Change::Query(QueryEvent { query: "ALTER TABLE t ADD c INT".into(), ..Default::default() })]);
        ddl.is_ddl = true;
        assert_eq!(x.facts(&ddl, true).key_barrier, Some(BarrierReason::Ddl));
        // Without keys requested, nothing is a key barrier.
        assert_eq!(x.facts(&stmt, false).key_barrier, None);
    }

    #[test]
    fn unknown_and_keyless_tables() {
        let mut x = extractor(StaticCatalog::new());
        let mut no_meta = (*synth::table(3, "a", "b", &[("id", TYPE_LONGLONG, None)], &[0])).clone();
        no_meta.has_full_metadata = false;
        let t = Arc::new(no_meta);
        let f = x.facts(&synth::txn(vec![synth::rows(&t, Insert, vec![(None, Some(row(vec![Value::Int(1)])))])]), true);
        assert_eq!(f.key_barrier, Some(BarrierReason::UnknownSchema));
        // A definition without any key: the whole table is the key of every change to it, so
        // two changes to different rows still conflict, and a change elsewhere does not.
        let cat = StaticCatalog::new().with_table(TableDef::new("a", "heap").column("v", None)).with_table(TableDef::new("a", "k").column("id", None).primary_key(&["id"]));
        let mut x = extractor(cat);
        let heap = synth::table(4, "a", "heap", &[("v", TYPE_LONGLONG, None)], &[]);
        let keyed = synth::table(5, "a", "k", &[("id", TYPE_LONGLONG, None)], &[0]);
        let ins = |t: &Arc<crate::decode::event::TableMap>, v: i64| synth::txn(vec![synth::rows(t, Insert, vec![(None, Some(row(vec![Value::Int(v)])))])]);
        let (h1, h2, k1) = (x.facts(&ins(&heap, 1), true), x.facts(&ins(&heap, 2), true), x.facts(&ins(&keyed, 1), true));
        assert_eq!((h1.key_barrier, h2.key_barrier), (None, None));
        assert_eq!(h1.keys, vec![xxhash_rust::xxh3::xxh3_64(b"table\0a\0heap")]);
        assert_eq!(h1.keys, h2.keys);
        assert!(!k1.keys.iter().any(|k| h1.keys.contains(k)));
        // TABLE_MAP with FULL metadata but no primary key and no definition: unknown layout.
        let mut x = extractor(StaticCatalog::new());
        let f = x.facts(&synth::txn(vec![synth::rows(&heap, Insert, vec![(None, Some(row(vec![Value::Int(1)])))])]), true);
        assert_eq!(f.key_barrier, Some(BarrierReason::UnknownSchema));
    }

    #[test]
    fn labels_redact_values_unless_asked() {
        let (t, cat) = users(45);
        let mut x = extractor(cat);
        let mut f = TxnFacts::default();
        let mut labels = Vec::new();
        x.facts_into(&insert_user(&t, 7, s("q@x")), true, &mut f, Some((&mut labels, false)));
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].table, "app.users");
        assert_eq!(labels[0].index, "PRIMARY(id)");
        assert_eq!(labels[1].index, "email_uk(email)");
        assert_eq!(labels[1].values, None);
        labels.clear();
        x.facts_into(&insert_user(&t, 7, s("q@x")), true, &mut f, Some((&mut labels, true)));
        assert_eq!(labels[1].values.as_deref(), Some("('q@x')"));
    }
}
