//! Local brokers: the data directory (XDG), the choice of port, and the embedded broker the
//! console starts in-process when no cluster is named.

pub mod background;

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

/// 9092 if it is free on 127.0.0.1, else any free port.
pub fn pick_port() -> u16 {
    if TcpListener::bind(("127.0.0.1", DEFAULT_PORT)).is_ok() {
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

/// `ktui local up|down|status|run`.
#[derive(Debug, clap::Subcommand)]
pub enum LocalCommand {
    /// Start the local broker in the background (pid file and log in the data directory).
    Up,
    /// Stop the background local broker (it drains and flushes first).
    Down,
    /// Whether the background local broker runs, and where.
    Status,
    /// Run the local broker in the foreground until Ctrl-C.
    Run,
}

/// Runs `up`, `down` or `status`, printing one line; `status` exits 3 when none runs (as
/// LSB init scripts do). `run` is the caller's (it needs the broker runner).
pub fn run(command: &LocalCommand) -> anyhow::Result<()> {
    let data = data_dir();
    match command {
        LocalCommand::Up => {
            let b = background::up()?;
            println!(
                "local broker on {} (pid {}), data in {}, log {}",
                b.addr,
                b.pid,
                data.join("broker").display(),
                background::log_file().display()
            );
        }
        LocalCommand::Down => match background::down()? {
            Some(b) => println!("local broker on {} (pid {}) stopped", b.addr, b.pid),
            None => println!("no local broker was running"),
        },
        LocalCommand::Status => match background::status() {
            Some(b) => println!(
                "running on {} (pid {}), data in {}",
                b.addr,
                b.pid,
                data.join("broker").display()
            ),
            None => {
                println!("not running");
                std::process::exit(3);
            }
        },
        LocalCommand::Run => {}
    }
    Ok(())
}
