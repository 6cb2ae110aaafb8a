//! `ktui`: parse the command line and hand over to the library. `anyhow` lives only here.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = ktui::cli::Cli::parse();
    ktui::cli::run(cli)
}
