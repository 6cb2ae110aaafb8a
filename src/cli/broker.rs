//! `ktui broker`: one broker in the foreground until Ctrl-C or SIGTERM, then a clean shutdown
//! (connections drained, logs flushed and fsynced).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ktui_broker::{BrokerConfig, RunningBroker};

/// Flags of `ktui broker`.
#[derive(Debug, Args)]
pub(super) struct BrokerArgs {
    /// A Kafka server.properties file.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Override one key, as `key=value` (repeatable); wins over the file.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// The cluster the data directory belongs to: an empty directory is formatted with it
    /// (as `kafka-storage.sh format -t ID`), one of another cluster is refused.
    #[arg(long, value_name = "ID")]
    cluster_id: Option<String>,
    /// A SCRAM user to create when the data directory is formatted, as Kafka's
    /// `kafka-storage.sh format --add-scram`: 'SCRAM-SHA-512=[name=admin,password=secret]'
    /// (repeatable).
    #[arg(long = "add-scram", value_name = "MECHANISM=[name=...,password=...]")]
    add_scram: Vec<String>,
    /// Format a new dynamic quorum (controller.quorum.bootstrap.servers) with this controller
    /// as its only voter, as `kafka-storage.sh format --standalone`; add others with `ktui
    /// metadata-quorum add-controller`.
    #[arg(long, conflicts_with = "initial_controllers")]
    standalone: bool,
    /// Format a new dynamic quorum with these first voters, as `kafka-storage.sh format
    /// --initial-controllers`: ID@HOST:PORT[:DIRECTORY-ID],...
    #[arg(long, value_name = "ID@HOST:PORT,...")]
    initial_controllers: Option<String>,
    /// Format without first voters (the default): a controller waits to be added with `ktui
    /// metadata-quorum add-controller`, as `kafka-storage.sh format --no-initial-controllers`.
    #[arg(long, conflicts_with_all = ["standalone", "initial_controllers"])]
    no_initial_controllers: bool,
}

/// Runs `ktui broker`.
pub(super) fn run(args: BrokerArgs) -> anyhow::Result<()> {
    let mut overrides = Vec::with_capacity(args.overrides.len());
    for item in &args.overrides {
        let (k, v) = item
            .split_once('=')
            .with_context(|| format!("--override '{item}' is not key=value"))?;
        overrides.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut config = BrokerConfig::load(args.config.as_deref(), &overrides)?;
    config.cluster_id = args.cluster_id;
    // --no-initial-controllers is the default, accepted as kafka-storage.sh takes it.
    let _ = args.no_initial_controllers;
    config.set_initial_voters(args.standalone, args.initial_controllers.as_deref())?;
    config.add_scram = args
        .add_scram
        .into_iter()
        .map(ktui_broker::security::Secret::from)
        .collect();
    serve(config)
}

/// Runs a broker on 127.0.0.1 with its data in the user's data directory.
pub(super) fn run_local() -> anyhow::Result<()> {
    let dir = crate::local::data_dir().join("broker");
    let port = crate::local::pick_port();
    let config = BrokerConfig::for_dir(&dir, port);
    eprintln!(
        "ktui: local broker on 127.0.0.1:{port}, data in {}",
        dir.display()
    );
    serve(config)
}

fn serve(config: BrokerConfig) -> anyhow::Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let broker = RunningBroker::start(config).await?;
        let token = broker.shutdown_token();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested");
            token.cancel();
        });
        broker.wait().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // openraft logs every failed RPC to a stopped voter as an error; the quorum's own
        // changes (controller elected, broker fenced) are logged by the broker.
        .unwrap_or_else(|_| "info,openraft=off".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
