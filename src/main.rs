//! `ktui`: parse the command line and hand over to the library. `anyhow` lives only here.

use clap::Parser;

/// Kafka messages size arrays from counts on the wire before reading them; the broker's
/// allocator reserves huge blocks lazily, so a hostile count fails to decode instead of
/// aborting the process (see `ktui_broker::alloc`).
#[global_allocator]
static GLOBAL: ktui_broker::alloc::LazyHugeAlloc = ktui_broker::alloc::LazyHugeAlloc;

fn main() -> anyhow::Result<()> {
    let cli = ktui::cli::Cli::parse();
    ktui::cli::run(cli)
}
