//! The `confab` binary: parse the command line, hand it to the library.

/// mimalloc instead of the system allocator: a GraphQL answer is thousands of small
/// allocations, freed together (docs/performance.md, "Build and process").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    confab::run(confab::config::Cli::load()?)
}
