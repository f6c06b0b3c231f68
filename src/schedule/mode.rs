//! The scheduling modes and the analyze simulator's cost models, as named in the config, on the
//! command line and in reports.
//!
//! Owns the two enums and their names only (no behaviour: each mode's rule is its own file, see
//! [`crate::schedule`]). The CLI re-exports them (`parapply::cli::Mode`), so clap derives their
//! values and help text from here; nothing else may live here, because the config, every
//! scheduling rule, the applier and the bench harness import this file.

use clap::ValueEnum;

/// Scheduling modes, as named in config and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One transaction at a time (the baseline).
    Serial,
    /// Trust the source's LOGICAL_CLOCK (MySQL) or commit_id groups (MariaDB).
    LogicalClock,
    /// Compute dependencies from primary/unique/foreign-key hashes.
    Writeset,
    /// Writeset, plus transactions of one source session stay in order.
    WritesetSession,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Serial, Mode::LogicalClock, Mode::Writeset, Mode::WritesetSession];
    pub fn name(self) -> &'static str {
        match self {
            Mode::Serial => "serial",
            Mode::LogicalClock => "logical_clock",
            Mode::Writeset => "writeset",
            Mode::WritesetSession => "writeset_session",
        }
    }
}

/// How the `analyze` simulator prices a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CostModel {
    /// Cost proportional to the transaction's row count.
    Rows,
    /// Every transaction costs the same.
    Uniform,
}
