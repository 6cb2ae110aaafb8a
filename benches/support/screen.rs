//! The console as the benchmarks drive it: its options (2 s refresh, colours, no log file), a
//! 200x50 TestBackend, keys, frames, the first full screen after connecting, and the slowest
//! keystroke of a filter typed with its redraw.

use std::time::{Duration, Instant};

use ktui::client::Cluster;
use ktui::config::ClientConfig;
use ktui::tui::app::{App, AppOptions};
use ktui::tui::calls;
use ktui::tui::event::{ConnState, Event, Update};
use ktui::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::Terminal;

pub(crate) const WIDTH: u16 = 200;
pub(crate) const HEIGHT: u16 = 50;

pub(crate) fn options(bootstrap: &str) -> AppOptions {
    AppOptions {
        bootstrap: bootstrap.into(),
        read_only: false,
        refresh: Duration::from_secs(2),
        theme: Theme { color: true },
        log_path: String::new(),
        note: None,
        local_cluster: false,
        lag_threshold: 1_000,
    }
}

pub(crate) fn app(bootstrap: &str) -> App {
    App::new(
        options(bootstrap),
        Rect::new(0, 0, WIDTH, HEIGHT),
        Instant::now(),
    )
}

pub(crate) fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal")
}

pub(crate) fn key(app: &mut App, c: char) {
    app.handle(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
}

/// Draws one frame; returns how long it took.
pub(crate) fn draw(terminal: &mut Terminal<TestBackend>, app: &App) -> Duration {
    let started = Instant::now();
    let _ = terminal.draw(|f| app.render(f)).expect("draw");
    started.elapsed()
}

/// The Topics screen drawn once after connecting.
pub(crate) struct FirstScreen {
    /// Connect, metadata, both watermarks of every partition.
    pub(crate) fetched: Duration,
    /// All of that, the snapshot applied and one frame drawn.
    pub(crate) total: Duration,
    pub(crate) app: App,
    pub(crate) terminal: Terminal<TestBackend>,
}

pub(crate) async fn first_screen(config: &ClientConfig, label: &str) -> FirstScreen {
    let started = Instant::now();
    let cluster = Cluster::connect(config.clone()).await.expect("connect");
    let snapshot = calls::cluster(&cluster).await.expect("snapshot");
    let fetched = started.elapsed();
    let mut app = app(label);
    app.handle(Event::Data(Update::Connection(ConnState::Connected)));
    app.handle(Event::Data(Update::Cluster(
        snapshot,
        std::time::SystemTime::now(),
    )));
    let mut terminal = terminal();
    let _ = draw(&mut terminal, &app);
    FirstScreen {
        fetched,
        total: started.elapsed(),
        app,
        terminal,
    }
}

/// Opens the filter and types `word`; the slowest keystroke with its redraw.
pub(crate) fn slowest_filter_keystroke(
    app: &mut App,
    terminal: &mut Terminal<TestBackend>,
    word: &str,
) -> Duration {
    key(app, '/');
    let mut slowest = Duration::ZERO;
    for c in word.chars() {
        let started = Instant::now();
        key(app, c);
        let _ = draw(terminal, app);
        slowest = slowest.max(started.elapsed());
    }
    slowest
}
