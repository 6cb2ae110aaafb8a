//! Local brokers: the data directory (XDG), the choice of port, the embedded broker the
//! console starts in-process when no cluster is named, and `ktui local`: one broker in the
//! background (`background`) or a cluster of broker processes (`cluster`), both started through
//! `process`.

pub mod background;
pub mod cluster;
mod process;

pub use process::Signal;

use std::net::TcpListener;
use std::path::PathBuf;

/// Port a local broker prefers, as Kafka's default listener uses.
pub const DEFAULT_PORT: u16 = 9092;

/// `$XDG_DATA_HOME/ktui`, else `~/.local/share/ktui`, else `./.ktui`.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("ktui");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/ktui"),
        None => PathBuf::from(".ktui"),
    }
}

/// Whether nothing listens on `port` of 127.0.0.1 (binding it succeeds).
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// 9092 if it is free on 127.0.0.1, else any free port.
pub fn pick_port() -> u16 {
    if port_is_free(DEFAULT_PORT) {
        return DEFAULT_PORT;
    }
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

/// Starts the workspace broker in-process on 127.0.0.1 (port 9092, or a free one), with its
/// data in `<data dir>/broker`; returns it and its data directory.
pub async fn start_embedded() -> anyhow::Result<(ktui_broker::RunningBroker, PathBuf)> {
    let dir = data_dir().join("broker");
    let config = ktui_broker::BrokerConfig::for_dir(&dir, pick_port());
    let broker = ktui_broker::RunningBroker::start(config).await?;
    Ok((broker, dir))
}

/// `ktui local`: the workspace broker for other clients.
#[derive(Debug, clap::Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: LocalCommand,
}

/// `ktui local up|down|status|stop|start|run`.
#[derive(Debug, clap::Subcommand)]
pub enum LocalCommand {
    /// Start the local broker in the background (pid file and log in the data directory); with
    /// -n N, a cluster of N broker processes instead.
    Up(UpArgs),
    /// Stop the background local broker and every node of the local cluster (each drains and
    /// flushes first); their data stays.
    Down,
    /// Whether the background local broker runs, and where; each node of the local cluster.
    Status,
    /// Stop one node of the local cluster (SIGTERM: it drains and flushes first).
    Stop(StopArgs),
    /// Start one stopped node of the local cluster again, with its ports and data.
    Start(StartArgs),
    /// Run the local broker in the foreground until Ctrl-C.
    Run,
}

/// Flags of `ktui local up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Start a cluster of N nodes, each a combined broker and controller, instead of one
    /// broker; its state, data and logs are in the data directory's `cluster` folder.
    #[arg(short = 'n', long = "nodes", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=i64::from(cluster::NODES_MAX)))]
    pub nodes: Option<u16>,
    /// A new cluster's Kafka ports run from this port up when all are free, else any free
    /// ports are taken (0: always); controller ports are any free ones [default: 9092].
    #[arg(long, value_name = "PORT", requires = "nodes")]
    pub port_base: Option<u16>,
    /// Make a new cluster secured: SASL_SSL with SCRAM-SHA-512 (an `admin` user, its random
    /// password), TLS certificates from a CA of its own, ACLs on with `admin` as super user;
    /// writes client.properties (Kafka's tools, ktui) and kcat.conf (kcat) beside its state.
    /// Without -n, a cluster of one node.
    #[arg(long)]
    pub secure: bool,
}

/// Flags of `ktui local stop`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// The node's id (`ktui local status` lists them).
    pub id: i32,
    /// SIGKILL instead of SIGTERM: the node ends at once, as in a crash.
    #[arg(long)]
    pub kill: bool,
}

/// Flags of `ktui local start`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// The node's id (`ktui local status` lists them).
    pub id: i32,
}

/// Runs a `ktui local` command, printing what it did; `status` exits 3 when nothing runs (as
/// LSB init scripts do). `run` is the caller's (it needs the broker runner).
pub fn run(command: &LocalCommand) -> anyhow::Result<()> {
    match command {
        LocalCommand::Up(UpArgs {
            nodes,
            port_base,
            secure,
        }) if nodes.is_some() || *secure => {
            let nodes = usize::from(nodes.unwrap_or(1));
            let ready = cluster::up(nodes, port_base.unwrap_or(DEFAULT_PORT), *secure)?;
            println!("{}", cluster::report::up(&ready));
        }
        LocalCommand::Up(_) => up_one()?,
        LocalCommand::Down => down()?,
        LocalCommand::Status => status()?,
        LocalCommand::Stop(args) => {
            let signal = if args.kill {
                Signal::Kill
            } else {
                Signal::Term
            };
            let stopped = cluster::stop(args.id, signal)?;
            println!("{}", cluster::report::stop(args.id, stopped, args.kill));
        }
        LocalCommand::Start(args) => {
            let started = cluster::start(args.id)?;
            println!("{}", cluster::report::start(&started));
        }
        LocalCommand::Run => {}
    }
    Ok(())
}

/// `up` without `-n`: the one background broker.
fn up_one() -> anyhow::Result<()> {
    let b = background::up()?;
    println!(
        "local broker on {} (pid {}), data in {}, log {}",
        b.addr,
        b.pid,
        data_dir().join("broker").display(),
        background::log_file().display()
    );
    Ok(())
}

/// `down`: the cluster's nodes, then the background broker; an error of the first does not
/// keep the second running.
fn down() -> anyhow::Result<()> {
    let nodes = cluster::down();
    if let Ok(stopped) = &nodes {
        for line in cluster::report::down(stopped) {
            println!("{line}");
        }
    }
    let one = background::down()?;
    if let Some(b) = &one {
        println!("local broker on {} (pid {}) stopped", b.addr, b.pid);
    }
    if nodes?.is_empty() && one.is_none() {
        println!("no local broker was running");
    }
    Ok(())
}

/// `status`: the background broker's line (or "not running") when there is no cluster; else
/// the cluster's table, with the background broker's line after it if one runs.
fn status() -> anyhow::Result<()> {
    let one = background::status();
    let nodes = cluster::status()?;
    if let Some(nodes) = &nodes {
        println!("{}", cluster::report::status(nodes));
    }
    match &one {
        Some(b) => println!(
            "running on {} (pid {}), data in {}",
            b.addr,
            b.pid,
            data_dir().join("broker").display()
        ),
        None if nodes.is_none() => println!("not running"),
        None => {}
    }
    if one.is_none() && !nodes.is_some_and(|n| n.any_alive()) {
        std::process::exit(3);
    }
    Ok(())
}
