//! One file per subcommand: each turns parsed CLI arguments into a pipeline and reports.
//!
//! Commands wire modules together and print; they own no protocol, scheduling or SQL logic.

use crate::cli::{Cli, Command};

pub mod analyze;
pub mod bench;
pub mod completions;
pub mod doctor;
pub mod failover;
pub mod gen;
pub mod inspect;
pub mod manpage;
pub mod monitor;
pub mod replay;
pub mod run;
pub mod status;

/// Run the parsed command line. Returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Gen(args) => gen::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Failover(args) => failover::run(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Manpage(args) => manpage::run(&args),
    }
}
