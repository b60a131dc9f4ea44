//! The `confab` binary: parse the command line, hand it to the library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    confab::run(confab::config::Cli::parse())
}
