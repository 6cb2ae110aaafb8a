//! The flags every client subcommand takes (`--bootstrap`, `--command-config`, `--profile`,
//! `-o`), turning them into a connected [`Cluster`], and the runtime the subcommands run on.
//! `--zookeeper`, which Kafka's tools took before KIP-500, is accepted only to be refused with
//! the flag to use instead. Parsing of settings lives in `crate::config`.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::output::Format;
use crate::client::Cluster;
use crate::config::{ClientConfig, Sources};

/// Where the cluster is and how to print.
#[derive(Debug, Clone, Args)]
pub(super) struct ConnectArgs {
    /// Brokers to bootstrap from: HOST:PORT[,HOST:PORT...].
    #[arg(
        long = "bootstrap",
        short = 'b',
        visible_alias = "bootstrap-server",
        global = true,
        value_name = "HOST:PORT"
    )]
    pub(super) bootstrap: Option<String>,
    /// A Kafka client.properties file (bootstrap.servers, security.protocol, sasl.*, ssl.*, ...).
    #[arg(long, global = true, value_name = "FILE")]
    pub(super) command_config: Option<PathBuf>,
    /// A named cluster from ~/.config/ktui/config.toml (or $KTUI_CONFIG).
    #[arg(long, global = true, value_name = "NAME")]
    pub(super) profile: Option<String>,
    /// Output: a table for people, or JSON for scripts (documented in docs/cli.md).
    #[arg(long = "output", short = 'o', value_enum, default_value_t = Format::Table, global = true)]
    pub(super) output: Format,
    /// Kafka's tools took ZooKeeper's address before KIP-500; parsed only to be refused.
    #[arg(long, global = true, hide = true, num_args = 0..=1, value_name = "HOST:PORT")]
    zookeeper: Option<Option<String>>,
}

impl ConnectArgs {
    /// Takes the cluster named before the subcommand (`ktui -b HOST:PORT topics list`) where
    /// the subcommand names none itself.
    pub(super) fn inherit(&mut self, parent: &crate::tui::ConsoleArgs) {
        if self.bootstrap.is_none() && self.command_config.is_none() && self.profile.is_none() {
            self.bootstrap.clone_from(&parent.bootstrap);
            self.command_config.clone_from(&parent.command_config);
            self.profile.clone_from(&parent.profile);
        }
    }

    /// Refuses `--zookeeper` with the flag that replaced it.
    pub(super) fn refuse_zookeeper(&self) -> anyhow::Result<()> {
        if self.zookeeper.is_some() {
            anyhow::bail!(
                "--zookeeper is not supported: Kafka no longer uses ZooKeeper (KIP-500, removed \
                 in Kafka 4.0); name the brokers with --bootstrap-server HOST:PORT instead"
            );
        }
        Ok(())
    }

    /// Resolves the settings and connects (bootstrap and metadata).
    pub(super) async fn connect(&self) -> anyhow::Result<Arc<Cluster>> {
        let config = ClientConfig::resolve(&Sources {
            bootstrap: self.bootstrap.clone(),
            command_config: self.command_config.clone(),
            profile: self.profile.clone(),
            profiles_file: None,
        })?;
        Ok(Cluster::connect(config).await?)
    }
}

/// Runs a subcommand on a multi-threaded tokio runtime.
pub(super) fn block_on<F>(future: F) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>>,
{
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(future)
}

/// Logs go to stderr, quiet unless RUST_LOG asks.
fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
