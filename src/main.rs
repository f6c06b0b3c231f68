//! Binary entry point: parse the command line, set up logging, hand over to the library.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = parapply::cli::Cli::parse();
    let filter = cli
        .log
        .clone()
        .map(EnvFilter::new)
        .unwrap_or_else(|| EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    // Colour codes only on a terminal: redirected logs (files, journald, pipes) stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        parapply::cli::LogFormat::Json => builder.json().init(),
        parapply::cli::LogFormat::Text => builder.init(),
    }
    match parapply::commands::dispatch(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", parapply::error_text::chain(e.as_ref()));
            std::process::exit(1);
        }
    }
}
