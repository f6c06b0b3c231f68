//! Command-line interface: the clap definitions of every subcommand and their help text.
//!
//! Owns argument parsing only. Each subcommand's behaviour lives in [`crate::commands`]; this
//! module must not open connections or read binlogs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Domain types the command line names; they live in their stage (see [`crate::schedule::mode`])
/// and are re-exported so `parapply::cli::Mode` keeps working.
pub use crate::schedule::mode::{CostModel, Mode};

/// `parapply --version`: the crate version and the git commit the binary was built from
/// (`unknown` outside a git checkout; see build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("PARAPPLY_GIT_COMMIT"), ")");

/// parapply — a parallel replica applier for MySQL and MariaDB with a built-in failover watcher.
///
/// It streams the binlog of the active master, works out which transactions can run side by
/// side (from the source's LOGICAL_CLOCK / commit_id, or from its own writeset of primary-,
/// unique- and foreign-key hashes), applies them on a target with a pool of workers exactly once,
/// and reports lag monitors can trust.
///
/// Start with `parapply inspect` on a binlog file to see what it reads, `parapply analyze` to see
/// what each parallel mode could achieve, then `parapply run --config parapply.toml`.
#[derive(Debug, Parser)]
#[command(name = "parapply", version = VERSION, about, long_about, propagate_version = true)]
pub struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `parapply=debug`. Overrides RUST_LOG.
    #[arg(long, global = true, env = "PARAPPLY_LOG")]
    pub log: Option<String>,

    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print binlog contents one transaction per line (GTID, dependencies, commit time, tables,
    /// rows, bytes), from files or a live source, then a summary.
    ///
    /// Examples:
    ///   parapply inspect /var/lib/mysql/binlog.000042
    ///   parapply inspect --json binlog.0000*  | jq .gtid
    ///   parapply inspect --source mysql://repl:secret@127.0.0.1:3306 --from 1-1-100 --limit 10
    Inspect(InspectArgs),

    /// Offline what-if: for each scheduling mode, how much parallelism these binlog files allow
    /// (critical path, ideal and simulated speedup, barriers, hottest keys). Needs no target.
    ///
    /// Example:
    ///   parapply analyze binlog.000042 --workers 16
    Analyze(AnalyzeArgs),

    /// Write valid MySQL 8.0 binlog files from a parametrised synthetic workload (tests, benches).
    Gen(GenArgs),

    /// Readable summary of a running parapply (state, three lag clocks, backlog, positions),
    /// from its /status and /lag endpoints. Exit code 0 healthy, 2 unhealthy, 1 unreachable.
    ///
    /// Example:
    ///   parapply status --http http://127.0.0.1:9187
    Status(StatusArgs),

    /// Apply binlog files to a target with the parallel applier, exactly once (point-in-time
    /// recovery, benchmarks). Resumes from the target's checkpoint: rerunning the same command
    /// after a crash applies nothing twice.
    ///
    /// Examples:
    ///   parapply replay /backup/binlog.0000* --target mysql://root@127.0.0.1:3307
    ///   parapply replay binlog.000042 --target mysql://root@db2 --stop-datetime '2026-11-25 10:00:00'
    Replay(ReplayArgs),

    /// Run as a replica: stream the source's binlog and apply it to the target in parallel,
    /// exactly once, resuming from the target's checkpoint.
    ///
    /// Example:
    ///   parapply run --config parapply.toml
    Run(RunArgs),

    /// The failover watcher of a master-master pair (`[failover]` in the config): watch,
    /// promote, planned switchover, status.
    ///
    /// Examples:
    ///   parapply failover watch --config parapply.toml
    ///   parapply failover switchover --config parapply.toml --to B
    ///   parapply failover promote --config parapply.toml --to B --force
    ///   parapply failover reconcile --config parapply.toml --old A
    Failover(FailoverArgs),

    /// Dual-master checks of the `[failover]` servers: distinct server_id and gtid domain,
    /// auto_increment, ROW/FULL/FULL binlogs, log_slave_updates, passive read_only, dual writes.
    /// Exit code 0 when everything passes, 2 otherwise.
    ///
    /// Example:
    ///   parapply doctor --config parapply.toml
    Doctor(DoctorArgs),

    /// Benchmark harness: capture a write workload once on a private MariaDB sandbox, apply the
    /// same backlog with every parapply mode and worker count and with MariaDB's own parallel
    /// replication, verify CHECKSUM TABLE after every arm, and write results.md, results.json
    /// and SVG plots. Exit code 2 when an arm FAILED.
    ///
    /// Examples:
    ///   parapply bench --quick --out /tmp/bench
    ///   parapply bench --out bench-results/today
    Bench(BenchArgs),

    /// Print a shell completion script, generated from these very definitions.
    ///
    /// Examples:
    ///   parapply completions bash > /etc/bash_completion.d/parapply
    ///   parapply completions zsh > "${fpath[1]}/_parapply"
    ///   parapply completions fish > ~/.config/fish/completions/parapply.fish
    Completions(CompletionsArgs),

    /// Print the man page parapply(1) in roff, generated from these very definitions, or write
    /// it with one page per subcommand (parapply-run(1), parapply-failover-watch(1), ...) to a
    /// directory.
    ///
    /// Examples:
    ///   parapply manpage | man -l -
    ///   parapply manpage --out-dir /usr/local/share/man/man1
    Manpage(ManpageArgs),
}

/// `parapply completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `parapply manpage`
#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write parapply.1 and one page per subcommand into this directory instead of printing
    /// parapply(1).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// `parapply bench`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Small workload, workers 1 and 4, MariaDB none/optimistic at 4 threads, one repetition,
    /// durability fast (CI; a few minutes).
    #[arg(long)]
    pub quick: bool,
    /// Results directory (default bench-results/<unix time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker counts, e.g. `1,2,4,8,16` (overrides the mode's default).
    #[arg(long, value_delimiter = ',')]
    pub workers: Option<Vec<usize>>,
    /// parapply modes to measure, comma-separated: serial, logical_clock, writeset,
    /// writeset_session (as named in the report; `-` for `_` works too) (default: all four).
    #[arg(long, value_delimiter = ',')]
    pub modes: Option<Vec<String>>,
    /// MariaDB replica arms, comma-separated slave_parallel_mode values (default: none,
    /// conservative, optimistic, aggressive; quick: none, optimistic).
    #[arg(long, value_delimiter = ',')]
    pub mariadb_modes: Option<Vec<String>>,
    /// `--commit-group` of the default parapply arms: at most N consecutive source transactions
    /// per target commit (parapply's default 128). Per-transaction arms (`cg=1`) run as well.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub commit_group: usize,
    /// Worker counts of the per-transaction arms (`--commit-group 1`, with and without commit
    /// order, every mode) (default 8; quick 4).
    #[arg(long, value_delimiter = ',', value_name = "N,...", conflicts_with = "no_per_txn")]
    pub per_txn_workers: Option<Vec<usize>>,
    /// Skip the per-transaction (`cg=1`) arms: only the default parapply arms and the MariaDB
    /// arms run (a shorter run that answers "default settings vs native" alone).
    #[arg(long)]
    pub no_per_txn: bool,
    /// Run every arm N times, interleaved (round r runs every arm once before round r+1), and
    /// report the median with min and max (default 3; quick 1).
    #[arg(long, value_name = "N")]
    pub repeat: Option<usize>,
    /// Commit durability of every instance: full = sync_binlog=1 and
    /// innodb_flush_log_at_trx_commit=1; relaxed = 0 and 1; fast = 0 and 2 (default full;
    /// quick fast).
    #[arg(long, value_enum)]
    pub durability: Option<crate::bench::Durability>,
    /// Multiply every workload's default size (sized so the fastest arm lasts about 5 s on 2
    /// cores); ignored with --txns-per-client / --sysbench-events.
    #[arg(long, value_name = "FACTOR")]
    pub scale: Option<f64>,
    /// Transactions per workload client of the built-in and custom workloads (overrides the
    /// per-workload default sizes).
    #[arg(long)]
    pub txns_per_client: Option<u32>,
    /// Path of tools/sandbox (default: ./tools/sandbox or the source tree's).
    #[arg(long)]
    pub sandbox_script: Option<PathBuf>,
    /// Workloads to capture and replay, comma-separated: oltp (built-in), oltp_write_only,
    /// oltp_update_index, oltp_insert (sysbench), hot_rows, many_tables, fk_parent_child,
    /// large_txn, ddl, no_pk, mysql8_gen. Default: all (sysbench's when installed, else oltp);
    /// with --quick: oltp.
    #[arg(long, value_delimiter = ',')]
    pub workload: Option<Vec<String>>,
    /// Capture this sysbench test only (same as `--workload TEST`).
    #[arg(long)]
    pub sysbench: Option<String>,
    /// Skip the steady-state lag experiment.
    #[arg(long)]
    pub no_lag: bool,
    /// Lag experiment: seconds of fixed-rate source load per applier and rate (default 60;
    /// quick 6).
    #[arg(long)]
    pub lag_seconds: Option<u64>,
    /// Lag experiment: source rates as fractions of the native serial replica's capacity
    /// (default 0.5,0.8,1.2; quick 0.8).
    #[arg(long, value_delimiter = ',', value_name = "F,...")]
    pub lag_factors: Option<Vec<f64>>,
    /// Lag experiment: the capacity (txn/s) the factors multiply (default: the native serial
    /// replica's median txn/s on the oltp backlog of this run).
    #[arg(long, value_name = "TPS")]
    pub lag_capacity: Option<f64>,
    /// Lag experiment: one absolute source rate in transactions/s instead of the factors.
    #[arg(long)]
    pub lag_rate: Option<f64>,
    /// Lag experiment: parapply workers and native replica threads (default 8; quick 4).
    #[arg(long)]
    pub lag_workers: Option<usize>,
    /// sysbench --tables.
    #[arg(long, default_value_t = 8)]
    pub sysbench_tables: u32,
    /// sysbench --table-size.
    #[arg(long, default_value_t = 10_000)]
    pub sysbench_table_size: u32,
    /// sysbench --threads (source clients).
    #[arg(long, default_value_t = 16)]
    pub sysbench_threads: u32,
    /// sysbench --events (transactions of the timed run; overrides the per-workload default).
    #[arg(long)]
    pub sysbench_events: Option<u64>,
}

/// `parapply failover ...`
#[derive(Debug, Args)]
pub struct FailoverArgs {
    /// The TOML configuration with a `[failover]` section.
    #[arg(long, short, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub action: FailoverAction,
}

#[derive(Debug, Subcommand)]
pub enum FailoverAction {
    /// Watch the writer and fail over when it is dead (runs until interrupted). Serves its
    /// state on `/status` (`failover`) and the read pool on `/readers` when `[http]` is enabled.
    Watch {
        /// Also run the applier ([source] -> [target]) and re-point it to every new writer,
        /// resuming from its checkpoint on the target.
        #[arg(long)]
        apply: bool,
    },
    /// Promote a server now (after the gate; `--force` overrides a failed gate).
    Promote {
        /// Name of the server to promote (from failover.servers).
        #[arg(long)]
        to: String,
        /// Promote even when the gate fails (the reasons are still logged).
        #[arg(long)]
        force: bool,
    },
    /// Planned switch: writer read-only, wait until the candidate applied everything, swap.
    Switchover {
        #[arg(long)]
        to: String,
    },
    /// After a failover, when the old writer is back: fence it (read_only), read the exact
    /// transactions it holds that the new writer never received, and log a `reconcile` entry.
    /// Exit 0 when nothing was lost, 3 when transactions were lost. (The watcher does this by
    /// itself when it sees the old writer answer again.)
    Reconcile {
        /// The old (failed) writer.
        #[arg(long)]
        old: String,
        /// The writer to compare with; default: the one that replaced `--old` (switch log).
        #[arg(long)]
        new: Option<String>,
    },
    /// The pair as the servers report it, and the last switch-log entries.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `parapply doctor`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The TOML configuration with a `[failover]` section.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where `status` asks.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The running parapply's TOML configuration: its `[http] listen` is the address asked and
    /// its `http.status_token*` the `/status` token (only the `[http]` section is read; no server
    /// is contacted and no password is needed). Without it the token comes from
    /// PARAPPLY_STATUS_TOKEN.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Base URL of the parapply HTTP endpoints; overrides `--config`'s address. Default
    /// `http://127.0.0.1:9187` (the default `http.listen`).
    #[arg(long)]
    pub http: Option<String>,
    /// Print the raw JSON of /status and /lag.
    #[arg(long)]
    pub json: bool,
    /// Request timeout.
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u64,
}

/// Where `inspect` reads from.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Binlog or relay-log files, or directories (files read in name order).
    #[arg(value_name = "FILE", required_unless_present = "source")]
    pub files: Vec<PathBuf>,

    /// Read a live source instead of files: mysql://user[:password]@host:port. The password may
    /// also come from PARAPPLY_SOURCE_PASSWORD.
    #[arg(long, conflicts_with = "files")]
    pub source: Option<String>,

    /// Start position for --source: a GTID position (MariaDB `0-1-100,1-2-5`, MySQL
    /// `uuid:1-100`) or `FILE:POS`. Default: the source's current first binlog.
    #[arg(long)]
    pub from: Option<String>,

    /// Stop after this many transactions.
    #[arg(long)]
    pub limit: Option<u64>,

    /// Server id to register with when reading a live source.
    #[arg(long, default_value_t = 4_000_001)]
    pub server_id: u32,

    /// Print JSON Lines (one object per transaction) and a final summary object.
    #[arg(long)]
    pub json: bool,

    /// Print each row change (values redacted unless --show-values).
    #[arg(long)]
    pub rows: bool,

    /// With --rows: print column values (they may contain personal data).
    #[arg(long)]
    pub show_values: bool,

    /// Do not verify CRC32 checksums.
    #[arg(long)]
    pub no_verify_checksum: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeMode {
    All,
    Serial,
    LogicalClock,
    Writeset,
    WritesetSession,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Binlog files or directories.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Which mode(s) to analyse.
    #[arg(long, value_enum, default_value_t = AnalyzeMode::All)]
    pub mode: AnalyzeMode,
    /// Workers for the simulated speedup.
    #[arg(long, default_value_t = 16)]
    pub workers: usize,
    /// Cost model for the simulation.
    #[arg(long, value_enum, default_value_t = CostModel::Rows)]
    pub cost: CostModel,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Show key values in the hottest-keys list (redacted by default).
    #[arg(long)]
    pub show_values: bool,
    /// Read unique keys, foreign keys and collations from this server's information_schema
    /// (its current schema), e.g. mysql://root@127.0.0.1:3306. Without it only the primary keys
    /// in TABLE_MAP are known, and writeset numbers are an upper bound for tables with other
    /// unique or foreign keys. The password may come from PARAPPLY_SCHEMA_PASSWORD.
    #[arg(long, value_name = "URL")]
    pub schema_from: Option<String>,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Output directory (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
    /// File base name; files are BASE.000001, BASE.000002, ...
    #[arg(long, default_value = "binlog")]
    pub base_name: String,
    /// Transactions to write.
    #[arg(long, default_value_t = 1000)]
    pub transactions: u64,
    /// Tables in the workload.
    #[arg(long, default_value_t = 4)]
    pub tables: u32,
    /// Rows per table (the key space).
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Row changes per transaction.
    #[arg(long, default_value_t = 4)]
    pub txn_size: u32,
    /// Zipf exponent for key choice; 0 = uniform.
    #[arg(long, default_value_t = 0.0)]
    pub zipf: f64,
    /// Logical-clock group width: transactions per commit group.
    #[arg(long, default_value_t = 8)]
    pub group_width: u32,
    /// Emit a DDL statement every K transactions (0 = never).
    #[arg(long, default_value_t = 0)]
    pub ddl_every: u64,
    /// Add FK parent/child table pairs.
    #[arg(long, default_value_t = 0)]
    pub fk_pairs: u32,
    /// Wrap transactions in zstd TRANSACTION_PAYLOAD events.
    #[arg(long)]
    pub compress: bool,
    /// Rotate to a new file after this many bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Random seed (same seed, same files).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Let transactions of one commit group touch the same keys (by default they never do).
    #[arg(long)]
    pub allow_group_overlap: bool,
    /// Write original_commit_timestamp this many microseconds before the immediate one.
    #[arg(long, default_value_t = 0)]
    pub origin_lag_us: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Leave the last file marked in use (LOG_EVENT_BINLOG_IN_USE_F in its FDE), like the active
    /// binlog of a running server.
    #[arg(long)]
    pub last_file_in_use: bool,
    /// Most rows per statement (each statement takes 1..=N rows of one kind on one table).
    #[arg(long, default_value_t = 3)]
    pub statement_rows: u32,
    /// Split a statement over several ROWS events at this many bytes of row data (MySQL's
    /// binlog_row_event_max_size).
    #[arg(long, default_value_t = 8192)]
    pub rows_event_max_size: u32,
}

/// What `replay` applies, where, and how.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Binlog or relay-log files, or directories (files read in name order).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Target server: mysql://user[:password]@host[:port]. The password may also come from
    /// PARAPPLY_TARGET_PASSWORD.
    #[arg(long)]
    pub target: String,
    /// First transaction to apply (inclusive), e.g. `0-1-100` or `uuid:42`.
    #[arg(long)]
    pub start_gtid: Option<String>,
    /// Last transaction to apply (inclusive).
    #[arg(long)]
    pub stop_gtid: Option<String>,
    /// Apply only transactions committed before this UTC time (`YYYY-MM-DD HH:MM:SS`).
    #[arg(long)]
    pub stop_datetime: Option<String>,
    /// Scheduling mode.
    #[arg(long, value_enum, default_value_t = Mode::Writeset)]
    pub mode: Mode,
    /// Worker connections on the target.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Let workers commit out of source order (still exactly once).
    #[arg(long)]
    pub no_preserve_commit_order: bool,
    /// What to do when the target's rows differ from the source's.
    #[arg(long, value_enum, default_value_t = OnConflictArg::Stop)]
    pub on_conflict: OnConflictArg,
    /// Schema on the target holding the checkpoint tables.
    #[arg(long, default_value = crate::config::DEFAULT_STATE_SCHEMA)]
    pub state_schema: String,
    /// Do not try to keep source GTIDs on the target (MariaDB SET gtid_seq_no).
    #[arg(long)]
    pub no_keep_gtid: bool,
    /// Group commit: at most this many consecutive source transactions per target COMMIT (a
    /// free worker takes what has been released; 1 turns grouping off and keeps every source
    /// GTID on the target).
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub commit_group: usize,
    /// With `--commit-group 1 --no-preserve-commit-order`: a free worker sends up to N released
    /// transactions in one round trip, each still its own target transaction with its own GTID
    /// and COMMIT (apply.txns_per_trip; 1 sends one per round trip)
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub txns_per_trip: usize,
    /// Send transactions as multi-statement text even when the target runs compound statements
    /// (apply.compound_statements = false).
    #[arg(long)]
    pub no_compound: bool,
    /// How row events are applied (apply.row_events): `auto` sends transactions that change a
    /// table with triggers on the target as BINLOG statements (applied by the server's row code,
    /// triggers not fired, as its native replica), and refuses when the target has triggers and
    /// cannot run them; `sql` applies rows as SQL only; `binlog` sends every row event as a
    /// BINLOG statement (MariaDB target, BINLOG REPLAY privilege).
    #[arg(long, value_enum, default_value_t = crate::apply::binlog_stmt::RowEvents::Auto, value_name = "HOW")]
    pub row_events: crate::apply::binlog_stmt::RowEvents,
    /// Transactions with more row changes than this are streamed through their worker in chunks
    /// instead of being held in memory whole.
    #[arg(long, default_value_t = 50_000, value_name = "ROWS")]
    pub stream_txn_rows: usize,
    /// ... or whose row events exceed this many bytes (large BLOBs).
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub stream_txn_bytes: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not verify CRC32 checksums.
    #[arg(long)]
    pub no_verify_checksum: bool,
}

/// What `run` reads.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The TOML configuration (`[source]`, `[target]`, `[apply]`, ...).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Where to start when the target has no checkpoint yet: a GTID position or FILE:POS.
    /// Default: the source's earliest binlog. Ignored once a checkpoint exists.
    #[arg(long)]
    pub from: Option<String>,
}

/// `--on-conflict` values (mirrors `apply.on_conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnConflictArg {
    /// Stop with an error naming the GTID and table.
    Stop,
    /// Skip the divergent row change and count it.
    Skip,
    /// Make the target hold the source's row (idempotent upsert; missing deletes ignored).
    Overwrite,
}
