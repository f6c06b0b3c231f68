//! The TOML configuration: every key, its default, validation, and env overrides.
//!
//! Owns loading and validating `parapply.toml` once at start. Errors name the offending key.
//! Secrets (passwords) are resolved here from the config, an env var or a file, and are wrapped in
//! [`Secret`] so that `Debug`/`Serialize` never print them. Other modules receive a validated
//! [`Config`] and must not read the environment for settings themselves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::schedule::mode::Mode;

/// A credential that never prints.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself: only for handing to a connection builder.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"<redacted>\"" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "<redacted>" })
    }
}

/// TLS verification mode for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain TCP.
    #[default]
    Disabled,
    /// Encrypt, but accept any certificate (like `--ssl-mode=REQUIRED`).
    Required,
    /// Encrypt and verify the certificate chain against `ca` (`VERIFY_CA`).
    VerifyCa,
    /// Also verify the host name (`VERIFY_IDENTITY`).
    VerifyIdentity,
}

/// TLS settings for one endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub mode: TlsMode,
    /// PEM file of the CA that signed the server certificate.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

/// One MySQL/MariaDB server to connect to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_user")]
    pub user: String,
    /// Password in the config file. Prefer `password_env` or `password_file`.
    #[serde(default)]
    pub password: Secret,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File whose first line is the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Connect/query timeout.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default)]
    pub tls: TlsConfig,
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_port() -> u16 {
    3306
}
fn default_user() -> String {
    "root".into()
}
fn default_connect_timeout_ms() -> u64 {
    2000
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            host: default_host(),
            port: default_port(),
            user: default_user(),
            password: Secret::default(),
            password_env: None,
            password_file: None,
            connect_timeout_ms: default_connect_timeout_ms(),
            tls: TlsConfig::default(),
        }
    }
}

impl Endpoint {
    /// Parse `mysql://user[:password]@host[:port]` (the form the CLI accepts).
    pub fn from_url(url: &str) -> Result<Endpoint, ConfigError> {
        let bad = |why: &str| ConfigError::Invalid { key: "url".into(), why: format!("{why} (expected mysql://user[:password]@host[:port])") };
        let rest = url.strip_prefix("mysql://").or_else(|| url.strip_prefix("mariadb://")).ok_or_else(|| bad("missing mysql:// scheme"))?;
        let rest = rest.split(['/', '?']).next().unwrap_or(rest);
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let mut ep = Endpoint::default();
        if let Some(auth) = auth {
            match auth.split_once(':') {
                Some((u, p)) => {
                    ep.user = u.to_string();
                    ep.password = Secret::new(p);
                }
                None => ep.user = auth.to_string(),
            }
        }
        match hostport.rsplit_once(':') {
            Some((h, p)) => {
                ep.host = h.to_string();
                ep.port = p.parse().map_err(|_| bad("port is not a number"))?;
            }
            None => ep.host = hostport.to_string(),
        }
        if ep.host.is_empty() {
            return Err(bad("empty host"));
        }
        Ok(ep)
    }

    /// Resolve the password from `password`, `password_env` or `password_file` (in that order of
    /// precedence: file, env, inline), so the rest of the program sees only `password`.
    pub fn resolve_password(&mut self, section: &str) -> Result<(), ConfigError> {
        if let Some(path) = &self.password_file {
            self.password = read_secret_file(path, &format!("{section}.password_file"))?;
        } else if let Some(var) = &self.password_env {
            let v = std::env::var(var).map_err(|_| ConfigError::Invalid {
                key: format!("{section}.password_env"),
                why: format!("environment variable {var} is not set"),
            })?;
            self.password = Secret::new(v);
        }
        Ok(())
    }

    /// A server given on the command line as `mysql://user[:password]@host[:port]` (`option`
    /// names the flag in messages). A password in the URL works but is visible to every local
    /// user in the process list: it is warned about (never printed), pointing to `env_var`,
    /// which supplies the password when the URL has none.
    pub fn from_cli_url(url: &str, option: &str, env_var: &str) -> Result<Endpoint, ConfigError> {
        let mut ep = Endpoint::from_url(url)?;
        if !ep.password.is_empty() {
            tracing::warn!(option, user = %ep.user, server = %ep.address(), "{option}: the URL carries a password, which other local users can read in the process list; give it in {env_var} instead");
        } else if let Ok(pw) = std::env::var(env_var) {
            ep.password = Secret::new(pw);
        }
        Ok(ep)
    }

    /// `host:port` for messages (never includes credentials).
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

/// The first line of a secret file (`key` names the config key in errors). A file that group or
/// others may read gets a warning naming it (never its content): the secret is only as private
/// as the file.
pub fn read_secret_file(path: &Path, key: &str) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid { key: key.to_string(), why: format!("cannot read {}: {e}", path.display()) })?;
    warn_if_readable_by_others(path, key);
    Ok(Secret::new(text.lines().next().unwrap_or("").to_string()))
}

/// Warn when `path`'s mode lets group or others read, write or run it (`mode & 0o077`).
fn warn_if_readable_by_others(path: &Path, key: &str) {
    if let Some(mode) = mode_open_to_others(path) {
        tracing::warn!(key, file = %path.display(), mode = %format!("{mode:o}"), "{key}: {} is accessible to group or others (mode {mode:o}); run `chmod 600 {}`", path.display(), path.display());
    }
}

/// `path`'s permission bits when they let group or others in (`mode & 0o077`), else `None`.
fn mode_open_to_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

/// `[source]`: the master whose binlog is streamed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// server_id parapply registers with; must be unique in the replication topology.
    #[serde(default = "default_server_id")]
    pub server_id: u32,
    /// Heartbeat period requested from the source while idle.
    #[serde(default = "default_source_heartbeat_ms")]
    pub heartbeat_period_ms: u64,
    /// Reconnect backoff: first delay and cap.
    #[serde(default = "default_reconnect_min_ms")]
    pub reconnect_min_ms: u64,
    #[serde(default = "default_reconnect_max_ms")]
    pub reconnect_max_ms: u64,
}

fn default_server_id() -> u32 {
    4_000_001
}
fn default_source_heartbeat_ms() -> u64 {
    1000
}
fn default_reconnect_min_ms() -> u64 {
    100
}
fn default_reconnect_max_ms() -> u64 {
    5000
}

/// What to do when a row to change is missing or an insert hits a duplicate key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    #[default]
    Stop,
    Skip,
    Overwrite,
}

/// `[apply]`: how transactions are scheduled and applied.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApplyConfig {
    #[serde(default = "default_mode")]
    pub mode: Mode,
    #[serde(default = "default_workers")]
    pub workers: usize,
    #[serde(default = "default_true")]
    pub preserve_commit_order: bool,
    #[serde(default)]
    pub on_conflict: OnConflict,
    /// Maximum transactions in flight between scheduler and commit.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Transactions whose key count exceeds this become barriers in writeset modes.
    #[serde(default = "default_writeset_limit")]
    pub writeset_limit: usize,
    /// Capacity of each bounded channel between stages.
    #[serde(default = "default_channel_capacity")]
    pub channel_capacity: usize,
    /// Schema on the target holding parapply's checkpoint tables.
    #[serde(default = "default_state_schema")]
    pub state_schema: String,
    /// Retries on deadlock/lock-wait timeout before giving up.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Send a row-only transaction as one compound statement (`BEGIN NOT ATOMIC ... END`,
    /// MariaDB targets; found-row checks run inside): one result packet instead of one per
    /// statement. Probed at start; MySQL targets use multi-statement text.
    #[serde(default = "default_true")]
    pub compound_statements: bool,
    /// Group commit: a free worker takes up to this many consecutive released source
    /// transactions and applies them as one target transaction (one COMMIT, one fsync). 1 turns it
    /// off. A group is logged on the target under its last member's GTID.
    #[serde(default = "default_commit_group_max_txns")]
    pub commit_group_max_txns: usize,
    /// With `commit_group_max_txns = 1` and `preserve_commit_order = false`: a free worker still
    /// takes up to this many released transactions and sends them in one round trip (one
    /// compound statement), each its own target transaction with its own GTID and COMMIT. 1
    /// sends one per round trip. MariaDB targets with compound statements only.
    #[serde(default = "default_txns_per_trip")]
    pub txns_per_trip: usize,
    /// A group stops growing at this many row changes (a bigger transaction goes alone).
    #[serde(default = "default_commit_group_max_rows")]
    pub commit_group_max_rows: usize,
    /// A transaction with more row changes than this is streamed through its worker in chunks
    /// instead of being held whole (memory stays bounded whatever its size). `replay` and `run`.
    #[serde(default = "default_stream_txn_rows")]
    pub stream_txn_rows: usize,
    /// ... or whose row events exceed this many bytes (a few rows of large BLOBs).
    #[serde(default = "default_stream_txn_bytes")]
    pub stream_txn_bytes: u64,
    /// How row events are applied: `auto` (default) sends the transactions that change a table
    /// with triggers on the target as `BINLOG` statements, which the server applies with its
    /// own row code and without firing triggers (MariaDB targets with BINLOG REPLAY), the rest
    /// as SQL; it refuses at start when the target has triggers and no such path. `sql`: SQL
    /// only (triggers on the target fire for replicated rows). `binlog`: every row event as a
    /// BINLOG statement.
    #[serde(default)]
    pub row_events: crate::apply::binlog_stmt::RowEvents,
}

fn default_mode() -> Mode {
    Mode::Writeset
}
fn default_workers() -> usize {
    8
}
fn default_true() -> bool {
    true
}
fn default_window() -> usize {
    1024
}
fn default_writeset_limit() -> usize {
    10_000
}
fn default_channel_capacity() -> usize {
    1024
}
/// The default `apply.state_schema`. Not `parapply`: that is the documented schema of the
/// heartbeat table on the source, so a replicated `CREATE DATABASE parapply` (pt-heartbeat in
/// read mode) would fail on a target where parapply had made its own (issue 19). Defined here,
/// with the other defaults, so the config does not import the checkpoint store.
pub const DEFAULT_STATE_SCHEMA: &str = "parapply_state";
fn default_state_schema() -> String {
    DEFAULT_STATE_SCHEMA.into()
}
fn default_max_retries() -> u32 {
    10
}
fn default_commit_group_max_txns() -> usize {
    128
}
fn default_txns_per_trip() -> usize {
    16
}
fn default_commit_group_max_rows() -> usize {
    4096
}
fn default_stream_txn_rows() -> usize {
    50_000
}
fn default_stream_txn_bytes() -> u64 {
    64 << 20
}

impl Default for ApplyConfig {
    fn default() -> Self {
        toml::from_str("").unwrap_or_else(|_| unreachable!("all apply keys have defaults"))
    }
}

/// `[lag]`: heartbeats and thresholds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LagConfig {
    /// How often parapply writes a heartbeat row on the source.
    #[serde(default = "default_heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    /// `schema.table` of the heartbeat (pt-heartbeat compatible layout).
    #[serde(default = "default_heartbeat_table")]
    pub heartbeat_table: String,
    /// `write`: parapply writes heartbeats; `read`: only read rows pt-heartbeat writes.
    #[serde(default = "default_heartbeat_mode")]
    pub heartbeat_mode: String,
    /// `/health` answers 503 at or above this heartbeat lag.
    #[serde(default = "default_max_lag_s")]
    pub max_lag_s: f64,
    /// State `stalled`: a backlog exists and nothing was applied for this long.
    #[serde(default = "default_stall_timeout_s")]
    pub stall_timeout_s: f64,
}

fn default_heartbeat_interval_ms() -> u64 {
    1000
}
fn default_heartbeat_table() -> String {
    "parapply.heartbeat".into()
}
fn default_heartbeat_mode() -> String {
    "write".into()
}
fn default_max_lag_s() -> f64 {
    30.0
}
fn default_stall_timeout_s() -> f64 {
    30.0
}

impl Default for LagConfig {
    fn default() -> Self {
        toml::from_str("").unwrap_or_else(|_| unreachable!("all lag keys have defaults"))
    }
}

/// `[http]`: the monitor endpoints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_listen")]
    pub listen: String,
    /// When set, `/status` (the configuration, positions, hooks' existence) answers only requests
    /// with `Authorization: Bearer <token>`, else 401. `/lag`, `/metrics`, `/health*` and
    /// `/readers` stay open for monitors and load balancers. Prefer `status_token_env` or
    /// `status_token_file` (precedence as for passwords: file, env, inline). Default: none.
    #[serde(default)]
    pub status_token: Secret,
    /// Name of an environment variable holding the `/status` token.
    #[serde(default)]
    pub status_token_env: Option<String>,
    /// File whose first line is the `/status` token.
    #[serde(default)]
    pub status_token_file: Option<PathBuf>,
    /// Connections one client address may hold at once (the total is
    /// [`HTTP_MAX_CONNECTIONS`]); more are closed at accept, so one client cannot take
    /// every slot from the monitors. Default 32.
    #[serde(default = "default_max_connections_per_peer")]
    pub max_connections_per_peer: usize,
}

/// Connections the endpoints serve at once; more are closed right after accept
/// ([`crate::http::MAX_CONNECTIONS`]). Here because it bounds `http.max_connections_per_peer`.
pub const HTTP_MAX_CONNECTIONS: usize = 512;

fn default_listen() -> String {
    "127.0.0.1:9187".into()
}
fn default_max_connections_per_peer() -> usize {
    32
}

impl HttpConfig {
    /// Only the `[http]` section of a config file (defaults when absent): for `parapply status`,
    /// which must not need the servers' passwords to find the endpoints.
    pub fn from_config_file(path: &Path) -> Result<HttpConfig, ConfigError> {
        #[derive(Deserialize)]
        struct OnlyHttp {
            #[serde(default)]
            http: HttpConfig,
        }
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: origin.clone(), cause: source })?;
        let mut only: OnlyHttp = toml::from_str(&text).map_err(|e| ConfigError::Parse { path: origin, message: e.to_string() })?;
        only.http.resolve_token()?;
        only.http.validate()?;
        Ok(only.http)
    }

    /// Resolve `status_token` from `status_token_file` or `status_token_env` (the password
    /// precedence: file, env, inline).
    pub fn resolve_token(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.status_token_file {
            self.status_token = read_secret_file(path, "http.status_token_file")?;
        } else if let Some(var) = &self.status_token_env {
            let v = std::env::var(var).map_err(|_| ConfigError::Invalid { key: "http.status_token_env".into(), why: format!("environment variable {var} is not set") })?;
            self.status_token = Secret::new(v);
        }
        Ok(())
    }

    /// Check the section; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let max = HTTP_MAX_CONNECTIONS;
        if self.max_connections_per_peer == 0 || self.max_connections_per_peer > max {
            return Err(ConfigError::Invalid { key: "http.max_connections_per_peer".into(), why: format!("must be between 1 and {max}, got {}", self.max_connections_per_peer) });
        }
        // A token that is set but empty (an empty file or variable) would silently leave
        // /status open: refuse it.
        if (self.status_token_file.is_some() || self.status_token_env.is_some()) && self.status_token.is_empty() {
            let key = if self.status_token_file.is_some() { "http.status_token_file" } else { "http.status_token_env" };
            return Err(ConfigError::Invalid { key: key.into(), why: "gives an empty token (leave the key out to keep /status open)".into() });
        }
        Ok(())
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        toml::from_str("").unwrap_or_else(|_| unreachable!("all http keys have defaults"))
    }
}

/// One server the failover watcher knows about (`[[failover.servers]]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FailoverServer {
    /// Short name used in logs, hooks (`OLD_WRITER_NAME`/`NEW_WRITER_NAME`) and `--to`.
    pub name: String,
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `master` (writer or passive master: a promotion candidate) or `reader` (read pool only).
    /// Default `master`.
    #[serde(default = "default_failover_role")]
    pub role: String,
    /// Among candidates that pass the gate, the highest priority wins, then the most advanced.
    /// Default 100.
    #[serde(default = "default_failover_priority")]
    pub priority: i32,
}

fn default_failover_role() -> String {
    "master".into()
}
fn default_failover_priority() -> i32 {
    100
}

/// `[failover]`: the built-in watcher of a master-master pair (DESIGN rule 6). Every key has a
/// default except `servers`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailoverConfig {
    /// The masters (writer and passive) and readers. The writer at start is the master with
    /// `read_only=OFF`, or `writer` when set.
    #[serde(default)]
    pub servers: Vec<FailoverServer>,
    /// Name of the writer at start (default: the one master with read_only=OFF).
    #[serde(default)]
    pub writer: Option<String>,
    /// How often the writer is checked (connect + query). Default 1000 ms.
    #[serde(default = "default_check_interval_ms")]
    pub check_interval_ms: u64,
    /// Timeout of one check (connect and query each). Default 800 ms.
    #[serde(default = "default_check_timeout_ms")]
    pub check_timeout_ms: u64,
    /// Consecutive failed checks before the writer counts as failed. Default 3.
    #[serde(default = "default_max_misses")]
    pub max_misses: u32,
    /// The second channel (a candidate's own replication link to the writer) counts as "writer
    /// alive" only when its IO thread runs and it received an event or heartbeat within this
    /// long. Default 3000 ms (three MASTER_HEARTBEAT_PERIODs of 1 s).
    #[serde(default = "default_max_link_silence_ms")]
    pub max_link_silence_ms: u64,
    /// A candidate whose replication lag (last Seconds_Behind_Master seen while its link ran)
    /// is at or above this is not promoted. Default 30 s.
    #[serde(default = "default_max_promote_lag_s")]
    pub max_promote_lag_s: f64,
    /// How long promotion waits for the candidate to apply its relay log. Default 10000 ms.
    #[serde(default = "default_relay_apply_timeout_ms")]
    pub relay_apply_timeout_ms: u64,
    /// Commands run (through `sh -c`) after a promotion, with OLD_WRITER, NEW_WRITER,
    /// OLD_WRITER_NAME, NEW_WRITER_NAME, OLD_WRITER_GTID, NEW_WRITER_GTID, TRIGGER in the
    /// environment. Default none. Examples in `tools/hooks/`.
    #[serde(default)]
    pub on_promote: Vec<String>,
    /// Commands run when a reader leaves or rejoins the read pool (READER, READER_NAME,
    /// READER_STATE=in|out, READER_LAG). Default none.
    #[serde(default)]
    pub on_reader_change: Vec<String>,
    /// Timeout of each hook command; its whole process group is killed after that. Between
    /// [`HOOK_TIMEOUT_MS_MIN`] and [`HOOK_TIMEOUT_MS_MAX`]. Default 10000 ms.
    #[serde(default = "default_hook_timeout_ms")]
    pub hook_timeout_ms: u64,
    /// Not a config key: the environment variables the config names for credentials
    /// (`password_env` of every endpoint, `http.status_token_env`), filled at load and removed
    /// from the hooks' environment.
    #[serde(skip)]
    pub hook_env_remove: Vec<String>,
    /// JSON Lines file every decision is appended to. Default `parapply-switch.jsonl`.
    #[serde(default = "default_switch_log")]
    pub switch_log: PathBuf,
    /// `witness` (GET_LOCK on `witness`, default the `[target]`) or `none` (single watcher).
    #[serde(default = "default_lease")]
    pub lease: String,
    /// Name of the GET_LOCK lease. Default `parapply_failover`.
    #[serde(default = "default_lease_name")]
    pub lease_name: String,
    /// The lease server; default the `[target]`.
    #[serde(default)]
    pub witness: Option<Endpoint>,
    /// A reader at or above this lag leaves the read pool. Default 10 s.
    #[serde(default = "default_max_reader_lag_s")]
    pub max_reader_lag_s: f64,
    /// A reader out of the pool rejoins below this lag (hysteresis). Default 5 s.
    #[serde(default = "default_reader_rejoin_lag_s")]
    pub reader_rejoin_lag_s: f64,
    /// Stop replication on the promoted candidate after an unplanned failover, so a returning
    /// old writer cannot feed it transactions that were never fenced. Default true.
    #[serde(default = "default_true")]
    pub stop_slave_on_promote: bool,
}

fn default_check_interval_ms() -> u64 {
    1000
}
fn default_check_timeout_ms() -> u64 {
    800
}
fn default_max_misses() -> u32 {
    3
}
fn default_max_link_silence_ms() -> u64 {
    3000
}
fn default_max_promote_lag_s() -> f64 {
    30.0
}
fn default_relay_apply_timeout_ms() -> u64 {
    10_000
}
fn default_hook_timeout_ms() -> u64 {
    10_000
}
/// Smallest `failover.hook_timeout_ms`: below it `sh` barely starts.
pub const HOOK_TIMEOUT_MS_MIN: u64 = 100;
/// Largest `failover.hook_timeout_ms` (10 minutes): promotion steps wait for `on_promote` hooks,
/// so a longer bound is a mistake, not a plan.
pub const HOOK_TIMEOUT_MS_MAX: u64 = 600_000;
fn default_switch_log() -> PathBuf {
    PathBuf::from("parapply-switch.jsonl")
}
fn default_lease() -> String {
    "witness".into()
}
fn default_lease_name() -> String {
    "parapply_failover".into()
}
fn default_max_reader_lag_s() -> f64 {
    10.0
}
fn default_reader_rejoin_lag_s() -> f64 {
    5.0
}

impl Default for FailoverConfig {
    fn default() -> Self {
        toml::from_str("").unwrap_or_else(|_| unreachable!("all failover keys have defaults"))
    }
}

impl FailoverConfig {
    /// Check the section; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: String| Err(ConfigError::Invalid { key: format!("failover.{key}"), why });
        if self.check_interval_ms == 0 {
            return invalid("check_interval_ms", "must be positive".into());
        }
        if self.check_timeout_ms == 0 {
            return invalid("check_timeout_ms", "must be positive".into());
        }
        if self.max_misses == 0 {
            return invalid("max_misses", "must be at least 1".into());
        }
        if !(self.max_promote_lag_s.is_finite() && self.max_promote_lag_s > 0.0) {
            return invalid("max_promote_lag_s", "must be a positive number".into());
        }
        if !(self.reader_rejoin_lag_s.is_finite() && self.max_reader_lag_s.is_finite() && self.reader_rejoin_lag_s >= 0.0 && self.reader_rejoin_lag_s <= self.max_reader_lag_s) {
            return invalid("reader_rejoin_lag_s", "must be between 0 and max_reader_lag_s".into());
        }
        if !(HOOK_TIMEOUT_MS_MIN..=HOOK_TIMEOUT_MS_MAX).contains(&self.hook_timeout_ms) {
            return invalid("hook_timeout_ms", format!("must be between {HOOK_TIMEOUT_MS_MIN} and {HOOK_TIMEOUT_MS_MAX} (100 ms to 10 min), got {}", self.hook_timeout_ms));
        }
        if !matches!(self.lease.as_str(), "witness" | "none") {
            return invalid("lease", "must be \"witness\" or \"none\"".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, s) in self.servers.iter().enumerate() {
            if s.name.is_empty() || !names.insert(s.name.as_str()) {
                return invalid(&format!("servers[{i}].name"), "must be non-empty and unique".into());
            }
            if !matches!(s.role.as_str(), "master" | "reader") {
                return invalid(&format!("servers[{i}].role"), "must be \"master\" or \"reader\"".into());
            }
        }
        if self.servers.iter().filter(|s| s.role == "master").count() < 2 {
            return invalid("servers", "needs at least two servers with role = \"master\"".into());
        }
        if let Some(w) = &self.writer {
            if !self.servers.iter().any(|s| &s.name == w && s.role == "master") {
                return invalid("writer", format!("`{w}` is not a master in failover.servers"));
            }
        }
        Ok(())
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub source: SourceConfig,
    pub target: Endpoint,
    #[serde(default)]
    pub apply: ApplyConfig,
    #[serde(default)]
    pub lag: LagConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub failover: Option<FailoverConfig>,
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {}", crate::error_text::chain(.cause))]
    Read { path: String, cause: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config key `{key}`: {why}")]
    Invalid { key: String, why: String },
}

impl Config {
    /// Load, resolve secrets and validate.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.display().to_string(), cause: source })?;
        let cfg = Self::from_toml(&text, &path.display().to_string())?;
        // A password written into the config is as private as the file; the sections that carry
        // one are named (never the value) when group or others can read it.
        let inline = cfg.inline_secret_keys();
        if !inline.is_empty() && mode_open_to_others(path).is_some() {
            let keys = inline.join(", ");
            tracing::warn!(keys = %keys, file = %path.display(), "{keys} written in {}, which group or others can read; run `chmod 600 {}` or move the secret to the key's `_env` or `_file` form", path.display(), path.display());
        }
        Ok(cfg)
    }

    /// The config keys whose secret is written inline in the file (a `password` or
    /// `status_token` given as text rather than through `_env` or `_file`).
    pub fn inline_secret_keys(&self) -> Vec<String> {
        let inline = |e: &Endpoint| e.password_file.is_none() && e.password_env.is_none() && !e.password.is_empty();
        let mut keys = Vec::new();
        if inline(&self.source.endpoint) {
            keys.push("source.password".to_string());
        }
        if inline(&self.target) {
            keys.push("target.password".to_string());
        }
        if let Some(f) = &self.failover {
            for (i, s) in f.servers.iter().enumerate() {
                if inline(&s.endpoint) {
                    keys.push(format!("failover.servers[{i}].password"));
                }
            }
            if f.witness.as_ref().is_some_and(inline) {
                keys.push("failover.witness.password".to_string());
            }
        }
        if self.http.status_token_file.is_none() && self.http.status_token_env.is_none() && !self.http.status_token.is_empty() {
            keys.push("http.status_token".to_string());
        }
        keys
    }

    /// Parse from TOML text (`origin` names it in errors).
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.to_string(), message: e.to_string() })?;
        cfg.source.endpoint.resolve_password("source")?;
        cfg.target.resolve_password("target")?;
        if let Some(f) = cfg.failover.as_mut() {
            for (i, s) in f.servers.iter_mut().enumerate() {
                s.endpoint.resolve_password(&format!("failover.servers[{i}]"))?;
            }
            if let Some(w) = f.witness.as_mut() {
                w.resolve_password("failover.witness")?;
            }
        }
        cfg.http.resolve_token()?;
        // Every variable the config names for a credential stays out of the hooks' environment.
        let mut secret_vars: Vec<String> = [&cfg.source.endpoint, &cfg.target].into_iter().filter_map(|e| e.password_env.clone()).collect();
        secret_vars.extend(cfg.http.status_token_env.clone());
        if let Some(f) = cfg.failover.as_mut() {
            secret_vars.extend(f.servers.iter().map(|s| &s.endpoint).chain(f.witness.iter()).filter_map(|e| e.password_env.clone()));
            secret_vars.sort();
            secret_vars.dedup();
            f.hook_env_remove = secret_vars;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: &str| Err(ConfigError::Invalid { key: key.into(), why: why.into() });
        if self.apply.workers == 0 || self.apply.workers > 256 {
            return invalid("apply.workers", "must be between 1 and 256");
        }
        if self.apply.window < self.apply.workers {
            return invalid("apply.window", "must be at least apply.workers");
        }
        if self.apply.commit_group_max_txns == 0 {
            return invalid("apply.commit_group_max_txns", "must be at least 1 (1 turns group commit off)");
        }
        if self.apply.channel_capacity == 0 {
            return invalid("apply.channel_capacity", "must be at least 1");
        }
        if self.source.server_id == 0 {
            return invalid("source.server_id", "must be non-zero (0 is refused by the source)");
        }
        if self.lag.heartbeat_interval_ms == 0 {
            return invalid("lag.heartbeat_interval_ms", "must be positive");
        }
        if !matches!(self.lag.heartbeat_mode.as_str(), "write" | "read") {
            return invalid("lag.heartbeat_mode", "must be \"write\" or \"read\"");
        }
        if self.lag.heartbeat_table.split('.').count() != 2 {
            return invalid("lag.heartbeat_table", "must be schema.table");
        }
        if !(self.lag.stall_timeout_s.is_finite() && self.lag.stall_timeout_s > 0.0) {
            return invalid("lag.stall_timeout_s", "must be a positive number of seconds");
        }
        self.http.validate()?;
        if let Some(f) = &self.failover {
            f.validate()?;
        }
        // Every endpoint parapply connects to, checked alike (the TLS rules are shared: net.rs).
        let mut endpoints = vec![("source".to_string(), &self.source.endpoint), ("target".to_string(), &self.target)];
        if let Some(f) = &self.failover {
            endpoints.extend(f.servers.iter().enumerate().map(|(i, s)| (format!("failover.servers[{i}]"), &s.endpoint)));
            endpoints.extend(f.witness.iter().map(|w| ("failover.witness".to_string(), w)));
        }
        for (key, ep) in endpoints {
            if matches!(ep.tls.mode, TlsMode::VerifyCa | TlsMode::VerifyIdentity) && ep.tls.ca.is_none() {
                return invalid(&format!("{key}.tls.ca"), "is required when mode verifies the certificate");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[source]\nhost='127.0.0.1'\nport=3306\n[target]\nport=3307\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::from_toml(MINIMAL, "t").unwrap();
        assert_eq!(c.apply.mode, Mode::Writeset);
        assert_eq!(c.apply.workers, 8);
        assert!(c.apply.preserve_commit_order);
        assert_eq!(c.target.port, 3307);
        assert_eq!(c.http.listen, "127.0.0.1:9187");
    }

    #[test]
    fn stall_timeout_defaults_and_is_validated() {
        assert_eq!(Config::from_toml(MINIMAL, "t").unwrap().lag.stall_timeout_s, 30.0);
        assert_eq!(Config::from_toml(&format!("{MINIMAL}[lag]\nstall_timeout_s=2.5\n"), "t").unwrap().lag.stall_timeout_s, 2.5);
        let e = Config::from_toml(&format!("{MINIMAL}[lag]\nstall_timeout_s=0\n"), "t").unwrap_err().to_string();
        assert!(e.contains("lag.stall_timeout_s"), "{e}");
    }

    #[test]
    fn row_events_defaults_to_auto_and_is_validated() {
        use crate::apply::binlog_stmt::RowEvents;
        assert_eq!(Config::from_toml(MINIMAL, "t").unwrap().apply.row_events, RowEvents::Auto);
        assert_eq!(Config::from_toml(&format!("{MINIMAL}[apply]\nrow_events=\"binlog\"\n"), "t").unwrap().apply.row_events, RowEvents::Binlog);
        assert_eq!(Config::from_toml(&format!("{MINIMAL}[apply]\nrow_events=\"sql\"\n"), "t").unwrap().apply.row_events, RowEvents::Sql);
        let e = Config::from_toml(&format!("{MINIMAL}[apply]\nrow_events=\"statement\"\n"), "t").unwrap_err().to_string();
        assert!(e.contains("row_events") && e.contains("auto") && e.contains("binlog"), "{e}");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml(&format!("{MINIMAL}[apply]\nworkerz=3\n"), "t").unwrap_err().to_string();
        assert!(e.contains("workerz"), "{e}");
    }

    #[test]
    fn invalid_value_names_key() {
        let e = Config::from_toml(&format!("{MINIMAL}[apply]\nworkers=0\n"), "t").unwrap_err().to_string();
        assert_eq!(e, "config key `apply.workers`: must be between 1 and 256");
    }

    #[test]
    fn password_never_prints() {
        let c = Config::from_toml("[source]\npassword='hunter2'\n[target]\n", "t").unwrap();
        let dbg = format!("{c:?}");
        let json = serde_json::to_string(&c).unwrap();
        assert!(!dbg.contains("hunter2") && !json.contains("hunter2"));
        assert_eq!(c.source.endpoint.password.expose(), "hunter2");
    }

    #[test]
    fn password_from_env() {
        std::env::set_var("PARAPPLY_TEST_PW_ENV", "s3cret");
        let c = Config::from_toml("[source]\npassword_env='PARAPPLY_TEST_PW_ENV'\n[target]\n", "t").unwrap();
        assert_eq!(c.source.endpoint.password.expose(), "s3cret");
    }

    const PAIR: &str = "[[failover.servers]]\nname='A'\n[[failover.servers]]\nname='B'\n";

    /// Issue 15 item 3: a zero or absurd hook timeout is refused at load, naming the key and range.
    #[test]
    fn hook_timeout_is_validated() {
        for bad in [0u64, 99, 600_001, u64::MAX] {
            let e = Config::from_toml(&format!("{MINIMAL}[failover]\nhook_timeout_ms={}\n{PAIR}", bad as i64), "t").map(|_| ()).unwrap_err().to_string();
            if bad == u64::MAX {
                // -1 as TOML: serde refuses a negative u64 before validation, naming the key.
                assert!(e.contains("hook_timeout_ms"), "{e}");
                continue;
            }
            assert_eq!(e, format!("config key `failover.hook_timeout_ms`: must be between 100 and 600000 (100 ms to 10 min), got {bad}"));
        }
        for good in [100u64, 10_000, 600_000] {
            let c = Config::from_toml(&format!("{MINIMAL}[failover]\nhook_timeout_ms={good}\n{PAIR}"), "t").unwrap();
            assert_eq!(c.failover.map(|f| f.hook_timeout_ms), Some(good));
        }
    }

    /// Every variable the config names for a credential is kept from the hooks.
    #[test]
    fn credential_variables_named_by_the_config_are_listed_for_the_hooks() {
        for v in ["PARAPPLY_T_SRC", "PARAPPLY_T_TGT", "PARAPPLY_T_B", "PARAPPLY_T_W", "PARAPPLY_T_TOK"] {
            std::env::set_var(v, "x");
        }
        let text = "[source]\npassword_env='PARAPPLY_T_SRC'\n[target]\npassword_env='PARAPPLY_T_TGT'\n[http]\nstatus_token_env='PARAPPLY_T_TOK'\n\
                    [failover]\n[[failover.servers]]\nname='A'\npassword_env='PARAPPLY_T_SRC'\n[[failover.servers]]\nname='B'\npassword_env='PARAPPLY_T_B'\n[failover.witness]\npassword_env='PARAPPLY_T_W'\n";
        let c = Config::from_toml(text, "t").unwrap();
        assert_eq!(c.failover.unwrap().hook_env_remove, vec!["PARAPPLY_T_B", "PARAPPLY_T_SRC", "PARAPPLY_T_TGT", "PARAPPLY_T_TOK", "PARAPPLY_T_W"]);
    }

    #[test]
    fn inline_secrets_are_named_and_a_config_open_to_others_is_noticed() {
        std::env::set_var("PARAPPLY_T_INLINE", "x");
        let text = "[source]\npassword='s'\n[target]\npassword='t'\npassword_env='PARAPPLY_T_INLINE'\n[http]\nstatus_token='tok'\n\
                    [failover]\n[[failover.servers]]\nname='A'\n[[failover.servers]]\nname='B'\npassword='b'\n[failover.witness]\npassword='w'\n";
        let c = Config::from_toml(text, "t").unwrap();
        assert_eq!(c.inline_secret_keys(), vec!["source.password", "failover.servers[1].password", "failover.witness.password", "http.status_token"]);
        assert!(Config::from_toml(MINIMAL, "t").unwrap().inline_secret_keys().is_empty());
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, text).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(mode_open_to_others(&f), Some(0o640));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(mode_open_to_others(&f), None);
        assert_eq!(Config::load(&f).unwrap().inline_secret_keys().len(), 4);
    }

    #[test]
    fn status_token_comes_from_a_file_an_env_var_or_inline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "from-file\nignored\n").unwrap();
        let c = Config::from_toml(&format!("{MINIMAL}[http]\nstatus_token_file='{}'\nstatus_token='inline'\n", f.display()), "t").unwrap();
        assert_eq!(c.http.status_token.expose(), "from-file");
        std::env::set_var("PARAPPLY_TEST_STATUS_TOKEN", "from-env");
        let c = Config::from_toml(&format!("{MINIMAL}[http]\nstatus_token_env='PARAPPLY_TEST_STATUS_TOKEN'\n"), "t").unwrap();
        assert_eq!(c.http.status_token.expose(), "from-env");
        let c = Config::from_toml(&format!("{MINIMAL}[http]\nstatus_token='inline'\n"), "t").unwrap();
        assert_eq!(c.http.status_token.expose(), "inline");
        assert!(!serde_json::to_string(&c).unwrap().contains("inline"));
        assert!(Config::from_toml(MINIMAL, "t").unwrap().http.status_token.is_empty());
        // A token file that is empty would leave /status open without anyone noticing.
        std::fs::write(&f, "\n").unwrap();
        let e = Config::from_toml(&format!("{MINIMAL}[http]\nstatus_token_file='{}'\n", f.display()), "t").unwrap_err().to_string();
        assert_eq!(e, "config key `http.status_token_file`: gives an empty token (leave the key out to keep /status open)");
        let e = Config::from_toml(&format!("{MINIMAL}[http]\nstatus_token_env='PARAPPLY_TEST_UNSET_TOKEN'\n"), "t").unwrap_err().to_string();
        assert_eq!(e, "config key `http.status_token_env`: environment variable PARAPPLY_TEST_UNSET_TOKEN is not set");
    }

    #[test]
    fn max_connections_per_peer_is_validated() {
        assert_eq!(Config::from_toml(MINIMAL, "t").unwrap().http.max_connections_per_peer, 32);
        for bad in [0, 513] {
            let e = Config::from_toml(&format!("{MINIMAL}[http]\nmax_connections_per_peer={bad}\n"), "t").unwrap_err().to_string();
            assert_eq!(e, format!("config key `http.max_connections_per_peer`: must be between 1 and 512, got {bad}"));
        }
    }

    #[test]
    fn cli_url_password_env_fills_only_a_missing_password() {
        std::env::set_var("PARAPPLY_TEST_CLI_PW", "from-env");
        let e = Endpoint::from_cli_url("mysql://u@h:1", "--target", "PARAPPLY_TEST_CLI_PW").unwrap();
        assert_eq!(e.password.expose(), "from-env");
        let e = Endpoint::from_cli_url("mysql://u:inurl@h:1", "--target", "PARAPPLY_TEST_CLI_PW").unwrap();
        assert_eq!(e.password.expose(), "inurl");
    }

    #[test]
    fn url_parses() {
        let e = Endpoint::from_url("mysql://repl:pw@10.0.0.1:3310").unwrap();
        assert_eq!((e.user.as_str(), e.password.expose(), e.host.as_str(), e.port), ("repl", "pw", "10.0.0.1", 3310));
        assert!(Endpoint::from_url("http://x").is_err());
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../parapply.example.toml");

    /// Every key of every section, as serde sees it, must be documented in the example.
    fn keys(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.push(format!("{prefix}{k}"));
                    keys(&format!("{prefix}{k}."), v, out);
                }
            }
            toml::Value::Array(a) => {
                for v in a {
                    keys(prefix, v, out);
                }
            }
            _ => {}
        }
    }

    const MINIMAL_CFG: &str = "[source]\nhost='127.0.0.1'\nport=3306\n[target]\nport=3307\n";

    /// Issue 19: the default state schema is not `parapply`, the documented heartbeat schema.
    #[test]
    fn default_state_schema_is_apart_from_the_heartbeat_schema() {
        let c = Config::from_toml(MINIMAL_CFG, "t").unwrap();
        assert_eq!(c.apply.state_schema, "parapply_state");
        assert_eq!(c.lag.heartbeat_table.split('.').next(), Some("parapply"));
    }

    /// Issue 15 item 2: every endpoint's TLS is validated alike, failover servers and witness too.
    #[test]
    fn verifying_tls_without_ca_is_refused_on_every_endpoint() {
        let failover = "[failover]\n[[failover.servers]]\nname='A'\n[[failover.servers]]\nname='B'\ntls = { mode = 'verify_ca' }\n";
        let e = Config::from_toml(&format!("{MINIMAL_CFG}{failover}"), "t").unwrap_err().to_string();
        assert_eq!(e, "config key `failover.servers[1].tls.ca`: is required when mode verifies the certificate");
        let witness = "[failover]\n[[failover.servers]]\nname='A'\n[[failover.servers]]\nname='B'\n[failover.witness]\ntls = { mode = 'verify_identity' }\n";
        let e = Config::from_toml(&format!("{MINIMAL_CFG}{witness}"), "t").unwrap_err().to_string();
        assert_eq!(e, "config key `failover.witness.tls.ca`: is required when mode verifies the certificate");
    }

    #[test]
    fn example_config_loads() {
        let c = Config::from_toml(EXAMPLE, "parapply.example.toml").unwrap();
        assert_eq!(c.apply.mode, Mode::Writeset);
        assert_eq!(c.source.server_id, 4_000_001);
        assert_eq!(c.failover.as_ref().map(|f| f.servers.len()), Some(2));
    }

    #[test]
    fn example_config_documents_every_key() {
        let c = Config::from_toml(EXAMPLE, "parapply.example.toml").unwrap();
        let v = toml::Value::try_from(&c).unwrap();
        let mut all = Vec::new();
        keys("", &v, &mut all);
        let missing: Vec<&String> = all
            .iter()
            .filter(|k| {
                let leaf = k.rsplit('.').next().unwrap_or(k);
                let plain = format!("\n{leaf} =");
                let commented = format!("\n# {leaf} =");
                let section = format!("[{k}]");
                let array = format!("[[{k}]]");
                !(EXAMPLE.contains(&plain) || EXAMPLE.contains(&commented) || EXAMPLE.contains(&section) || EXAMPLE.contains(&array))
            })
            .collect();
        assert!(missing.is_empty(), "keys not documented in parapply.example.toml: {missing:?}");
    }
}
