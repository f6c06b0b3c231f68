//! The built-in SQL write workload run once on the bench source: sysbench-like
//! `oltp_write_only` transactions from several concurrent clients on a few tables.
//!
//! Owns the workload's DDL and statements only. It runs on a fresh source right after
//! `RESET MASTER`, so the source's binlog holds exactly the schema plus the workload and every
//! arm replays it onto an empty target. It must not copy files or measure arms.

use mysql_async::prelude::Queryable;
use rand::{Rng, SeedableRng};

/// The size of the built-in workload.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OltpParams {
    pub schema: String,
    pub tables: u32,
    pub rows_per_table: u32,
    pub clients: u32,
    pub txns_per_client: u32,
    pub seed: u64,
}

impl OltpParams {
    pub fn table_names(&self) -> Vec<String> {
        (1..=self.tables).map(|i| format!("sbtest{i}")).collect()
    }
}

fn filler(rng: &mut impl Rng, len: usize) -> String {
    (0..len).map(|_| char::from(b'a' + rng.gen_range(0..26u8))).collect()
}

/// Create the schema and tables, fill them, then run the concurrent clients. Returns the number
/// of transactions the clients committed (deadlocked attempts are retried, not counted twice).
pub async fn run_oltp(url: &str, p: &OltpParams) -> Result<u64, mysql_async::Error> {
    prepare_oltp(url, p).await?;
    load_oltp(url, p).await
}

/// The built-in workload's tables and rows (the pre-workload snapshot).
pub async fn prepare_oltp(url: &str, p: &OltpParams) -> Result<(), mysql_async::Error> {
    let opts = mysql_async::Opts::from_url(url).map_err(mysql_async::Error::Url)?;
    let mut admin = mysql_async::Conn::new(opts).await?;
    let schema = crate::net::quote_ident(&p.schema);
    admin.query_drop(format!("CREATE DATABASE IF NOT EXISTS {schema}")).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(p.seed);
    for t in p.table_names() {
        admin
            .query_drop(format!(
                "CREATE TABLE {schema}.`{t}` (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0, \
                 c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_idx (k)) ENGINE=InnoDB"
            ))
            .await?;
        // Prepare in batches of 100 rows per transaction.
        let mut id = 1u32;
        while id <= p.rows_per_table {
            let end = (id + 99).min(p.rows_per_table);
            let values: Vec<String> = (id..=end).map(|i| format!("({i},{},'{}','{}')", rng.gen_range(1..=p.rows_per_table), filler(&mut rng, 40), filler(&mut rng, 20))).collect();
            admin.query_drop(format!("INSERT INTO {schema}.`{t}` (id,k,c,pad) VALUES {}", values.join(","))).await?;
            id = end + 1;
        }
    }
    drop(admin);
    Ok(())
}

/// The built-in workload's clients: returns the transactions they committed.
pub async fn load_oltp(url: &str, p: &OltpParams) -> Result<u64, mysql_async::Error> {
    let opts = mysql_async::Opts::from_url(url).map_err(mysql_async::Error::Url)?;
    let schema = crate::net::quote_ident(&p.schema);
    let mut clients = Vec::new();
    for client in 0..p.clients {
        let opts = opts.clone();
        let p = p.clone();
        let schema = schema.clone();
        clients.push(tokio::spawn(async move { client_loop(opts, &p, &schema, client).await }));
    }
    let mut committed = 0;
    for c in clients {
        committed += c.await.map_err(|e| mysql_async::Error::Other(Box::new(e)))??;
    }
    Ok(committed)
}

/// One client: oltp_write_only transactions (index update, non-index update, delete + insert
/// of the same id), retried on deadlock.
async fn client_loop(opts: mysql_async::Opts, p: &OltpParams, schema: &str, client: u32) -> Result<u64, mysql_async::Error> {
    let mut conn = mysql_async::Conn::new(opts).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(p.seed.wrapping_add(1 + u64::from(client)));
    let mut committed = 0;
    for _ in 0..p.txns_per_client {
        let stmts = oltp_txn(&mut rng, p, schema);
        for attempt in 0..20 {
            match run_txn(&mut conn, &stmts).await {
                Ok(()) => {
                    committed += 1;
                    break;
                }
                // 1213 deadlock, 1205 lock wait timeout: roll back and retry the same transaction.
                Err(mysql_async::Error::Server(e)) if (e.code == 1213 || e.code == 1205) && attempt < 19 => {
                    let _ = conn.query_drop("ROLLBACK").await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(committed)
}

/// One oltp_write_only transaction on `schema` (quoted): index update, non-index update, delete
/// + insert of the same id.
pub fn oltp_txn(rng: &mut impl Rng, p: &OltpParams, schema: &str) -> [String; 4] {
    let table = format!("{schema}.`sbtest{}`", rng.gen_range(1..=p.tables));
    let (a, b, d) = (rng.gen_range(1..=p.rows_per_table), rng.gen_range(1..=p.rows_per_table), rng.gen_range(1..=p.rows_per_table));
    let c = filler(rng, 40);
    let pad = filler(rng, 20);
    let k = rng.gen_range(1..=p.rows_per_table);
    [
        format!("UPDATE {table} SET k=k+1 WHERE id={a}"),
        format!("UPDATE {table} SET c='{c}' WHERE id={b}"),
        format!("DELETE FROM {table} WHERE id={d}"),
        format!("INSERT INTO {table} (id,k,c,pad) VALUES ({d},{k},'{c}','{pad}')"),
    ]
}

/// [`run_txn`] retried on deadlock / lock wait timeout (public for the lag experiment).
pub async fn run_txn_retrying(conn: &mut mysql_async::Conn, stmts: &[String]) -> Result<bool, mysql_async::Error> {
    run_retrying(conn, stmts).await
}

async fn run_txn(conn: &mut mysql_async::Conn, stmts: &[String]) -> Result<(), mysql_async::Error> {
    conn.query_drop("BEGIN").await?;
    for s in stmts {
        conn.query_drop(s).await?;
    }
    conn.query_drop("COMMIT").await
}

/// A sysbench workload (`oltp_write_only`, `oltp_update_index`, `oltp_insert`, ...) run with the
/// `sysbench` binary against the source; tables `sbtest1..N` in the schema of [`OltpParams`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct SysbenchParams {
    pub test: String,
    pub table_size: u32,
    pub threads: u32,
    pub events: u64,
}

/// A phase of a sysbench workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysbenchPhase {
    /// `prepare`: the tables and rows (the pre-workload snapshot).
    Prepare,
    /// `run --events=N`: the backlog.
    Run,
}

/// `sysbench TEST prepare` or `run --events=N`: blocks until sysbench exits.
pub fn run_sysbench(port: u16, schema: &str, tables: u32, p: &SysbenchParams, phase: SysbenchPhase) -> Result<(), String> {
    let (phase, extra) = match phase {
        SysbenchPhase::Prepare => ("prepare", vec![]),
        SysbenchPhase::Run => ("run", vec![format!("--events={}", p.events), "--time=0".to_string(), format!("--threads={}", p.threads)]),
    };
    {
        let out = std::process::Command::new("sysbench")
            .arg(&p.test)
            .args(["--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-user=root", "--mysql-ignore-errors=1213,1205,1062"])
            .arg(format!("--mysql-port={port}"))
            .arg(format!("--mysql-db={schema}"))
            .arg(format!("--tables={tables}"))
            .arg(format!("--table-size={}", p.table_size))
            .args(&extra)
            .arg(phase)
            .output()
            .map_err(|e| format!("running sysbench (apt-get install -y sysbench): {e}"))?;
        if !out.status.success() {
            return Err(format!("sysbench {} {phase} failed: {}{}", p.test, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
        }
    }
    Ok(())
}

/// A workload of the bench, by name (`--workload NAME[,NAME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// The built-in sysbench-like `oltp_write_only` (no sysbench binary needed).
    Oltp,
    /// sysbench tests, run with the `sysbench` binary.
    OltpWriteOnly,
    OltpUpdateIndex,
    OltpInsert,
    /// Updates whose ids follow a zipf distribution: a few rows take most writes.
    HotRows,
    /// 64 small tables, one row changed in two of them per transaction.
    ManyTables,
    /// Parent/child tables with a declared foreign key: inserts, re-parenting, cascaded deletes.
    FkParentChild,
    /// 10,000-row UPDATE transactions (every 10th of session 0) among single-row ones.
    LargeTxn,
    /// oltp-like DML; session 0 runs an ALTER TABLE every 10th transaction.
    Ddl,
    /// A table without primary or unique key next to a keyed one.
    NoPk,
    /// The MySQL 8 generator's files (`parapply gen`): parapply arms only.
    Mysql8Gen,
}

impl WorkloadKind {
    pub const CUSTOM: [WorkloadKind; 6] =
        [WorkloadKind::HotRows, WorkloadKind::ManyTables, WorkloadKind::FkParentChild, WorkloadKind::LargeTxn, WorkloadKind::Ddl, WorkloadKind::NoPk];
    pub const SYSBENCH: [WorkloadKind; 3] = [WorkloadKind::OltpWriteOnly, WorkloadKind::OltpUpdateIndex, WorkloadKind::OltpInsert];
    pub const ALL: [WorkloadKind; 11] = [
        WorkloadKind::Oltp,
        WorkloadKind::OltpWriteOnly,
        WorkloadKind::OltpUpdateIndex,
        WorkloadKind::OltpInsert,
        WorkloadKind::HotRows,
        WorkloadKind::ManyTables,
        WorkloadKind::FkParentChild,
        WorkloadKind::LargeTxn,
        WorkloadKind::Ddl,
        WorkloadKind::NoPk,
        WorkloadKind::Mysql8Gen,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Oltp => "oltp",
            WorkloadKind::OltpWriteOnly => "oltp_write_only",
            WorkloadKind::OltpUpdateIndex => "oltp_update_index",
            WorkloadKind::OltpInsert => "oltp_insert",
            WorkloadKind::HotRows => "hot_rows",
            WorkloadKind::ManyTables => "many_tables",
            WorkloadKind::FkParentChild => "fk_parent_child",
            WorkloadKind::LargeTxn => "large_txn",
            WorkloadKind::Ddl => "ddl",
            WorkloadKind::NoPk => "no_pk",
            WorkloadKind::Mysql8Gen => "mysql8_gen",
        }
    }

    /// Backlog transactions of the full run, chosen so the fastest arm (parapply's default or
    /// the best native one) lasts about 5 s on a 2-core machine with `sync_binlog=1` (from the
    /// rates of earlier runs: ~6,000 txn/s on oltp; large_txn's 10,000-row transactions, one in
    /// 80, and no_pk's full-scan lookups are far slower per transaction). `--scale` multiplies it.
    pub fn default_transactions(self) -> u64 {
        match self {
            WorkloadKind::Oltp | WorkloadKind::OltpWriteOnly | WorkloadKind::OltpUpdateIndex | WorkloadKind::OltpInsert => 30_000,
            WorkloadKind::HotRows | WorkloadKind::ManyTables | WorkloadKind::FkParentChild | WorkloadKind::Ddl => 20_000,
            WorkloadKind::Mysql8Gen => 20_000,
            WorkloadKind::LargeTxn => 10_000,
            WorkloadKind::NoPk => 8_000,
        }
    }

    pub fn parse(s: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Sysbench tests run the `sysbench` binary.
    pub fn is_sysbench(self) -> bool {
        WorkloadKind::SYSBENCH.contains(&self)
    }

    /// The schema the workload writes on the source.
    pub fn schema(self, oltp: &OltpParams) -> String {
        match self {
            WorkloadKind::Oltp => oltp.schema.clone(),
            k if k.is_sysbench() => format!("sb_{}", k.name()),
            WorkloadKind::Mysql8Gen => crate::gen::workload::SCHEMA.to_string(),
            k => format!("w_{}", k.name()),
        }
    }
}

/// Size of the custom workloads: concurrent client sessions (so MariaDB records commit_id
/// groups) and transactions per client.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CustomScale {
    pub clients: u32,
    pub txns_per_client: u32,
    pub seed: u64,
}

/// Zipf sampler over ranks 1..=n (rank r has weight 1/r^s), by inverse CDF on the cumulative
/// weights; `rand` 0.8 has no zipf distribution and this is a few lines.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u32, s: f64) -> Zipf {
        let mut acc = 0.0;
        let cdf = (1..=n.max(1))
            .map(|r| {
                acc += 1.0 / f64::from(r).powf(s);
                acc
            })
            .collect();
        Zipf { cdf }
    }
    fn sample(&self, rng: &mut impl Rng) -> u32 {
        let total = self.cdf.last().copied().unwrap_or(1.0);
        let u = rng.gen::<f64>() * total;
        self.cdf.partition_point(|c| *c < u) as u32 + 1
    }
}

const HOT_ROWS: u32 = 1000;
const MANY_TABLES: u32 = 64;
const MANY_ROWS: u32 = 50;
const FK_PARENTS: u32 = 200;
const LARGE_ROWS: u32 = 20_000;
const LARGE_TXN_ROWS: u32 = 10_000;
const DDL_TABLES: u32 = 4;
const DDL_ROWS: u32 = 2000;
const DDL_EVERY: u32 = 10;
const NOPK_ROWS: u32 = 2000;

/// Multi-row INSERTs of `n` rows, 500 per statement (each its own transaction).
fn fill_into(out: &mut Vec<String>, table: &str, cols: &str, n: u32, row: &mut dyn FnMut(u32) -> String) {
    let mut id = 1;
    while id <= n {
        let end = (id + 499).min(n);
        let values: Vec<String> = (id..=end).map(&mut *row).collect();
        out.push(format!("INSERT INTO {table} ({cols}) VALUES {}", values.join(",")));
        id = end + 1;
    }
}

/// The DDL and fill statements of a custom workload, run once in order before the clients.
fn custom_setup(kind: WorkloadKind, s: &str, rng: &mut impl Rng) -> Vec<String> {
    let mut out = vec![format!("CREATE DATABASE IF NOT EXISTS {s}")];
    match kind {
        WorkloadKind::HotRows => {
            out.push(format!("CREATE TABLE {s}.hot (id INT NOT NULL PRIMARY KEY, v BIGINT NOT NULL DEFAULT 0, c CHAR(40) NOT NULL DEFAULT '') ENGINE=InnoDB"));
            fill_into(&mut out, &format!("{s}.hot"), "id,v,c", HOT_ROWS, &mut |i| format!("({i},0,'{}')", filler(rng, 20)));
        }
        WorkloadKind::ManyTables => {
            for t in 1..=MANY_TABLES {
                out.push(format!("CREATE TABLE {s}.mt{t} (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL DEFAULT 0, c CHAR(40) NOT NULL DEFAULT '') ENGINE=InnoDB"));
                fill_into(&mut out, &format!("{s}.mt{t}"), "id,v,c", MANY_ROWS, &mut |i| format!("({i},0,'{}')", filler(rng, 10)));
            }
        }
        WorkloadKind::FkParentChild => {
            out.push(format!("CREATE TABLE {s}.parent (id INT NOT NULL PRIMARY KEY, v INT NOT NULL DEFAULT 0, c CHAR(40) NOT NULL DEFAULT '') ENGINE=InnoDB"));
            out.push(format!(
                "CREATE TABLE {s}.child (id INT NOT NULL PRIMARY KEY, parent_id INT NOT NULL, v INT NOT NULL DEFAULT 0, KEY (parent_id), \
                 CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES {s}.parent (id)) ENGINE=InnoDB"
            ));
            fill_into(&mut out, &format!("{s}.parent"), "id,v,c", FK_PARENTS, &mut |i| format!("({i},0,'{}')", filler(rng, 10)));
            fill_into(&mut out, &format!("{s}.child"), "id,parent_id,v", 2 * FK_PARENTS, &mut |i| format!("({i},{},0)", (i - 1) / 2 + 1));
        }
        WorkloadKind::LargeTxn => {
            out.push(format!("CREATE TABLE {s}.big (id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0, c CHAR(40) NOT NULL DEFAULT '') ENGINE=InnoDB"));
            fill_into(&mut out, &format!("{s}.big"), "id,k,c", LARGE_ROWS, &mut |i| format!("({i},0,'{}')", filler(rng, 20)));
        }
        WorkloadKind::Ddl => {
            for t in 1..=DDL_TABLES {
                out.push(format!("CREATE TABLE {s}.d{t} (id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0, c CHAR(40) NOT NULL DEFAULT '') ENGINE=InnoDB"));
                fill_into(&mut out, &format!("{s}.d{t}"), "id,k,c", DDL_ROWS, &mut |i| format!("({i},0,'{}')", filler(rng, 20)));
            }
        }
        WorkloadKind::NoPk => {
            // No primary or unique key, and no index at all: the replica must find rows by their
            // full image. `a` values stay distinct so no two rows are identical.
            out.push(format!("CREATE TABLE {s}.nopk (a INT NOT NULL, b INT NOT NULL DEFAULT 0, c CHAR(40) NOT NULL DEFAULT '') ENGINE=InnoDB"));
            out.push(format!("CREATE TABLE {s}.keyed (id INT NOT NULL PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB"));
            fill_into(&mut out, &format!("{s}.nopk"), "a,b,c", NOPK_ROWS, &mut |i| format!("({i},0,'{}')", filler(rng, 20)));
            fill_into(&mut out, &format!("{s}.keyed"), "id,v", NOPK_ROWS, &mut |i| format!("({i},0)"));
        }
        _ => {}
    }
    out
}

/// Transaction `i` of `client`: its statements (a single DDL statement runs as its own
/// implicit transaction). Ids a client inserts are its own (`client` in the high digits), so
/// concurrent clients never collide on inserts; updates may collide, and are retried.
fn custom_txn(kind: WorkloadKind, s: &str, client: u32, i: u32, rng: &mut impl Rng, zipf: &Zipf) -> Vec<String> {
    let own = |n: u32| (client + 1) * 10_000_000 + n;
    match kind {
        WorkloadKind::HotRows => {
            let (a, b) = (zipf.sample(rng), zipf.sample(rng));
            // Lower id first: the two updates of one transaction never deadlock each other's
            // reverse order.
            let (a, b) = (a.min(b), a.max(b));
            vec![format!("UPDATE {s}.hot SET v=v+1 WHERE id={a}"), format!("UPDATE {s}.hot SET c='{}' WHERE id={b}", filler(rng, 20))]
        }
        WorkloadKind::ManyTables => {
            let (t1, t2) = (rng.gen_range(1..=MANY_TABLES), rng.gen_range(1..=MANY_TABLES));
            vec![
                format!("UPDATE {s}.mt{t1} SET v=v+1 WHERE id={}", rng.gen_range(1..=MANY_ROWS)),
                format!("INSERT INTO {s}.mt{t2} (id,v,c) VALUES ({},1,'{}')", own(i), filler(rng, 10)),
            ]
        }
        WorkloadKind::FkParentChild => match i % 4 {
            // New parent and two children (the children depend on the parent's row).
            0 | 1 => vec![
                format!("INSERT INTO {s}.parent (id,v,c) VALUES ({},0,'{}')", own(i), filler(rng, 10)),
                format!("INSERT INTO {s}.child (id,parent_id,v) VALUES ({},{},0),({},{},0)", own(2 * i), own(i), own(2 * i + 1), own(i)),
            ],
            // Re-parent a seeded child to another seeded parent.
            2 => vec![
                format!("UPDATE {s}.child SET parent_id={} WHERE id={}", rng.gen_range(1..=FK_PARENTS), rng.gen_range(1..=2 * FK_PARENTS)),
                format!("UPDATE {s}.parent SET v=v+1 WHERE id={}", rng.gen_range(1..=FK_PARENTS)),
            ],
            // Delete an earlier own parent with its children (children first, as the FK needs).
            _ => {
                let p = i - 3;
                vec![format!("DELETE FROM {s}.child WHERE parent_id={}", own(p)), format!("DELETE FROM {s}.parent WHERE id={}", own(p))]
            }
        },
        WorkloadKind::LargeTxn => {
            // Session 0 writes the large ones (every 10th of its transactions), so the number of
            // 10k-row transactions does not grow with the client count.
            if client == 0 && i % 10 == 0 {
                let start = rng.gen_range(1..=LARGE_ROWS - LARGE_TXN_ROWS + 1);
                vec![format!("UPDATE {s}.big SET k=k+1, c='{}' WHERE id BETWEEN {start} AND {}", filler(rng, 20), start + LARGE_TXN_ROWS - 1)]
            } else {
                vec![format!("UPDATE {s}.big SET k=k+1 WHERE id={}", rng.gen_range(1..=LARGE_ROWS))]
            }
        }
        WorkloadKind::Ddl => {
            if client == 0 && i % DDL_EVERY == DDL_EVERY - 1 {
                let n = i / DDL_EVERY;
                let t = n % DDL_TABLES + 1;
                return vec![match n % 3 {
                    0 => format!("ALTER TABLE {s}.d{t} ADD COLUMN x{n} INT NOT NULL DEFAULT {n}"),
                    1 => format!("ALTER TABLE {s}.d{t} ADD INDEX ix{n} (k)"),
                    _ => format!("ALTER TABLE {s}.d{} DROP INDEX ix{}", (n - 1) % DDL_TABLES + 1, n - 1),
                }];
            }
            let t = rng.gen_range(1..=DDL_TABLES);
            vec![
                format!("UPDATE {s}.d{t} SET k=k+1 WHERE id={}", rng.gen_range(1..=DDL_ROWS)),
                format!("UPDATE {s}.d{t} SET c='{}' WHERE id={}", filler(rng, 20), rng.gen_range(1..=DDL_ROWS)),
            ]
        }
        WorkloadKind::NoPk => vec![
            format!("UPDATE {s}.nopk SET b=b+1 WHERE a={}", rng.gen_range(1..=NOPK_ROWS)),
            format!("INSERT INTO {s}.nopk (a,b,c) VALUES ({},0,'{}')", own(i), filler(rng, 20)),
            format!("UPDATE {s}.keyed SET v=v+1 WHERE id={}", rng.gen_range(1..=NOPK_ROWS)),
        ],
        _ => Vec::new(),
    }
}

/// A custom workload's schema and seed rows (the pre-workload snapshot).
pub async fn setup_custom(url: &str, kind: WorkloadKind, schema: &str, scale: CustomScale) -> Result<(), mysql_async::Error> {
    let opts = mysql_async::Opts::from_url(url).map_err(mysql_async::Error::Url)?;
    let s = crate::net::quote_ident(schema);
    let mut admin = mysql_async::Conn::new(opts).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(scale.seed);
    for stmt in custom_setup(kind, &s, &mut rng) {
        admin.query_drop(stmt).await?;
    }
    drop(admin);
    Ok(())
}

/// A custom workload's concurrent sessions. Returns the transactions the clients committed.
pub async fn load_custom(url: &str, kind: WorkloadKind, schema: &str, scale: CustomScale) -> Result<u64, mysql_async::Error> {
    let opts = mysql_async::Opts::from_url(url).map_err(mysql_async::Error::Url)?;
    let s = crate::net::quote_ident(schema);
    let mut clients = Vec::new();
    for client in 0..scale.clients {
        let (opts, s) = (opts.clone(), s.clone());
        clients.push(tokio::spawn(async move {
            let mut conn = mysql_async::Conn::new(opts).await?;
            let mut rng = rand::rngs::StdRng::seed_from_u64(scale.seed.wrapping_add(1 + u64::from(client)));
            let zipf = Zipf::new(HOT_ROWS, 1.1);
            let mut committed = 0u64;
            for i in 0..scale.txns_per_client {
                let stmts = custom_txn(kind, &s, client, i, &mut rng, &zipf);
                if run_retrying(&mut conn, &stmts).await? {
                    committed += 1;
                }
            }
            Ok::<u64, mysql_async::Error>(committed)
        }));
    }
    let mut committed = 0;
    for c in clients {
        committed += c.await.map_err(|e| mysql_async::Error::Other(Box::new(e)))??;
    }
    Ok(committed)
}

/// One transaction, retried on deadlock / lock wait timeout; false when it gave up.
async fn run_retrying(conn: &mut mysql_async::Conn, stmts: &[String]) -> Result<bool, mysql_async::Error> {
    for attempt in 0..20 {
        match run_txn(conn, stmts).await {
            Ok(()) => return Ok(true),
            Err(mysql_async::Error::Server(e)) if (e.code == 1213 || e.code == 1205) && attempt < 19 => {
                let _ = conn.query_drop("ROLLBACK").await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// The MySQL 8 generator's workload for the bench: logical-clock groups of 8, zipf keys, FK
/// pairs and a periodic DDL, so each parapply mode has something to find.
pub fn mysql8_gen_params(transactions: u64) -> crate::gen::GenParams {
    crate::gen::GenParams { transactions, tables: 4, rows: 20_000, txn_size: 4, zipf: 0.8, group_width: 8, ddl_every: 500, fk_pairs: 1, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_round_trip() {
        for k in WorkloadKind::ALL {
            assert_eq!(WorkloadKind::parse(k.name()), Some(k));
        }
        assert_eq!(WorkloadKind::parse("nope"), None);
    }

    #[test]
    fn zipf_rank_one_is_hottest() {
        let z = Zipf::new(1000, 1.1);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut counts = vec![0u32; 1001];
        for _ in 0..20_000 {
            let r = z.sample(&mut rng) as usize;
            assert!((1..=1000).contains(&r));
            counts[r] += 1;
        }
        assert!(counts[1] > counts[2] && counts[2] > counts[10] && counts[10] > counts[500], "{:?}", &counts[..12]);
    }

    #[test]
    fn fk_deletes_only_parents_the_client_inserted() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let z = Zipf::new(10, 1.0);
        let del = custom_txn(WorkloadKind::FkParentChild, "`s`", 2, 7, &mut rng, &z);
        assert_eq!(del, vec!["DELETE FROM `s`.child WHERE parent_id=30000004".to_string(), "DELETE FROM `s`.parent WHERE id=30000004".to_string()]);
        let ins = custom_txn(WorkloadKind::FkParentChild, "`s`", 2, 4, &mut rng, &z);
        assert!(ins[0].starts_with("INSERT INTO `s`.parent (id,v,c) VALUES (30000004,"), "{ins:?}");
    }
}
