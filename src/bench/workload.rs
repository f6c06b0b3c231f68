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
    let opts = mysql_async::Opts::from_url(url).map_err(mysql_async::Error::Url)?;
    let mut admin = mysql_async::Conn::new(opts.clone()).await?;
    let schema = format!("`{}`", p.schema.replace('`', "``"));
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
        let table = format!("{schema}.`sbtest{}`", rng.gen_range(1..=p.tables));
        let (a, b, d) = (rng.gen_range(1..=p.rows_per_table), rng.gen_range(1..=p.rows_per_table), rng.gen_range(1..=p.rows_per_table));
        let c = filler(&mut rng, 40);
        let pad = filler(&mut rng, 20);
        let k = rng.gen_range(1..=p.rows_per_table);
        let stmts = [
            format!("UPDATE {table} SET k=k+1 WHERE id={a}"),
            format!("UPDATE {table} SET c='{c}' WHERE id={b}"),
            format!("DELETE FROM {table} WHERE id={d}"),
            format!("INSERT INTO {table} (id,k,c,pad) VALUES ({d},{k},'{c}','{pad}')"),
        ];
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

/// `sysbench TEST prepare` then `run --events=N`: blocks until sysbench exits.
pub fn run_sysbench(port: u16, schema: &str, tables: u32, p: &SysbenchParams) -> Result<(), String> {
    for (phase, extra) in [("prepare", vec![]), ("run", vec![format!("--events={}", p.events), "--time=0".to_string(), format!("--threads={}", p.threads)])] {
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
