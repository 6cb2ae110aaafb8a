//! The console: `run` starts logging to a file, connects (or starts the workspace broker
//! in-process when no cluster is named), takes over the terminal and runs the event loop,
//! a `tokio::select!` over input, data from background tasks, a one-second tick and the
//! refresh timer. The UI redraws after events only and never waits on the network.
//!
//! Layout: `app` (state), `action` and `event` (what flows in and out), `views/` (one file
//! per screen and the dialogs), `widgets/`, `keymap`, `theme`, `terminal`, `log`; `worker`
//! runs requests on tasks and `calls` turns client answers into `model` rows; `command`
//! parses the `:` line.

pub mod action;
pub mod app;
pub mod calls;
pub mod command;
pub mod denied;
pub mod event;
pub mod events;
pub mod keymap;
pub mod log;
pub mod model;
pub mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;
pub mod worker;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use ktui_broker::RunningBroker;
use ratatui::crossterm::event::{self as term_event, Event as TermEvent, KeyEventKind};
use ratatui::layout::Rect;
use tokio::sync::mpsc;

use crate::config::{ClientConfig, Sources};
use app::{App, AppOptions};
use event::Event;
use worker::Worker;

/// Events buffered from input and from background tasks.
const EVENTS_BUFFERED_MAX: usize = 256;
/// How long the input thread waits for a key before checking whether the app has ended.
const INPUT_POLL: Duration = Duration::from_millis(200);

/// Flags of the console (`ktui` with no subcommand).
#[derive(Debug, Clone, Args, Default)]
pub struct ConsoleArgs {
    /// Brokers to bootstrap from: HOST:PORT[,HOST:PORT...]; without it (or a profile or a
    /// config file) the console starts a local broker in-process.
    #[arg(
        long = "bootstrap",
        short = 'b',
        visible_alias = "bootstrap-server",
        value_name = "HOST:PORT"
    )]
    pub bootstrap: Option<String>,
    /// A Kafka client.properties file.
    #[arg(long, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
    /// A named cluster from ~/.config/ktui/config.toml (or $KTUI_CONFIG).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// How often the screen's data is reloaded (humantime: 2s, 500ms, 1m).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub refresh: Duration,
    /// Hide and refuse every action that writes (create, delete, alter, produce, reset,
    /// elections, reassignments, stopping brokers).
    #[arg(long)]
    pub read_only: bool,
    /// A group's total lag at or above this is recorded on the Events screen (and again when
    /// it falls back under).
    #[arg(long, value_name = "RECORDS", default_value_t = events::LAG_THRESHOLD_DEFAULT)]
    pub lag_threshold: i64,
}

impl ConsoleArgs {
    fn names_a_cluster(&self) -> bool {
        self.bootstrap.is_some() || self.command_config.is_some() || self.profile.is_some()
    }
}

/// Runs the console until the user quits.
pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let (_log_guard, log_path) = log::init().context("cannot open the console's log file")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let Target {
            config,
            label: bootstrap,
            note,
            broker,
            local_cluster,
        } = target(&args).await?;
        let options = AppOptions {
            bootstrap,
            read_only: args.read_only,
            refresh: args.refresh,
            local_cluster,
            lag_threshold: args.lag_threshold,
            theme: theme::Theme::from_env(),
            log_path: log_path.display().to_string(),
            note,
        };
        let result = console(config, options).await;
        if let Some(broker) = broker {
            broker.shutdown_token().cancel();
            broker.wait().await;
        }
        result
    })
}

/// The cluster the console opens.
struct Target {
    config: ClientConfig,
    /// The bootstrap as the header shows it.
    label: String,
    /// A first status message.
    note: Option<String>,
    /// The broker started in-process, stopped when the console ends.
    broker: Option<RunningBroker>,
    /// A cluster `ktui local up -n` launched, whose nodes the Brokers screen can stop/start.
    local_cluster: bool,
}

/// The cluster to open: the one named by flags, else the local cluster or the background
/// local broker when one runs (`ktui local up`), else a local broker started here.
async fn target(args: &ConsoleArgs) -> anyhow::Result<Target> {
    if args.names_a_cluster() {
        let config = ClientConfig::resolve(&Sources {
            bootstrap: args.bootstrap.clone(),
            command_config: args.command_config.clone(),
            profile: args.profile.clone(),
            profiles_file: None,
        })?;
        let label = config.bootstrap.join(",");
        return Ok(Target {
            config,
            label,
            note: None,
            broker: None,
            local_cluster: false,
        });
    }
    if let Some(cluster) = crate::local::cluster::running() {
        let addrs = cluster.client.bootstrap.join(",");
        let config = cluster.client;
        let secured = if cluster.secure {
            ", SASL_SSL as admin"
        } else {
            ""
        };
        let note = format!(
            "local cluster on {addrs} (ktui local up -n {}{secured})",
            cluster.nodes
        );
        return Ok(Target {
            config,
            label: format!("{addrs} (local)"),
            note: Some(note),
            broker: None,
            local_cluster: true,
        });
    }
    if let Some(running) = crate::local::background::status() {
        let addr = running.addr.to_string();
        let config = ClientConfig {
            bootstrap: vec![addr.clone()],
            ..ClientConfig::default()
        };
        let note = format!(
            "local broker on {addr} (ktui local up, pid {})",
            running.pid
        );
        return Ok(Target {
            config,
            label: format!("{addr} (local)"),
            note: Some(note),
            broker: None,
            local_cluster: false,
        });
    }
    let (broker, dir) = crate::local::start_embedded().await?;
    let addr = broker.local_addr().to_string();
    let config = ClientConfig {
        bootstrap: vec![addr.clone()],
        ..ClientConfig::default()
    };
    let note = format!(
        "local broker on {addr} (in-process), data in {}",
        dir.display()
    );
    tracing::info!("{note}");
    Ok(Target {
        config,
        label: format!("{addr} (local)"),
        note: Some(note),
        broker: Some(broker),
        local_cluster: false,
    })
}

/// Takes over the terminal and runs the event loop.
async fn console(config: ClientConfig, options: AppOptions) -> anyhow::Result<()> {
    let refresh_every = options.refresh.max(Duration::from_millis(100));
    let mut guard = terminal::enter().context("cannot take over the terminal")?;
    let size = guard.terminal.size()?;
    let (data_tx, mut data_rx) = mpsc::channel(EVENTS_BUFFERED_MAX);
    let (input_tx, mut input_rx) = mpsc::channel(EVENTS_BUFFERED_MAX);
    let input = std::thread::spawn(move || read_input(&input_tx));
    let mut worker = Worker::start(config, data_tx);
    let mut app = App::new(
        options,
        Rect::new(0, 0, size.width, size.height),
        Instant::now(),
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut refresh =
        tokio::time::interval_at(tokio::time::Instant::now() + refresh_every, refresh_every);
    while !app.should_quit() {
        let _ = guard.terminal.draw(|f| app.render(f))?;
        tokio::select! {
            Some(event) = input_rx.recv() => app.handle(event),
            Some(event) = data_rx.recv() => {
                app.handle(event);
                while let Ok(event) = data_rx.try_recv() {
                    app.handle(event);
                }
            }
            _ = tick.tick() => app.handle(Event::Tick(Instant::now())),
            _ = refresh.tick() => app.handle(Event::Refresh),
        }
        for request in app.take_requests() {
            worker.submit(request);
        }
    }
    for request in app.take_requests() {
        worker.submit(request);
    }
    drop(input_rx);
    drop(guard);
    let _ = input.join();
    Ok(())
}

/// Reads terminal input on its own thread until the app stops listening.
fn read_input(tx: &mpsc::Sender<Event>) {
    while !tx.is_closed() {
        match term_event::poll(INPUT_POLL) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => return,
        }
        let event = match term_event::read() {
            Ok(TermEvent::Key(key)) if key.kind != KeyEventKind::Release => Event::Key(key),
            Ok(TermEvent::Mouse(mouse)) => Event::Mouse(mouse),
            Ok(TermEvent::Resize(w, h)) => Event::Resize(w, h),
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.blocking_send(event).is_err() {
            return;
        }
    }
}
