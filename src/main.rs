//! The `confab` binary: parse the command line, hand it to the library.

fn main() -> anyhow::Result<()> {
    confab::run(confab::config::Cli::load()?)
}
