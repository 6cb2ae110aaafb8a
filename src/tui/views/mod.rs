//! One file per screen. A screen is a struct that renders itself (`&self`, so drawing never
//! changes state) and handles its own keys, returning an [`Action`] for the app; data arrives
//! through [`View::update`]. Dialogs and the help overlay live here too; the app owns the
//! stack and the `:`/`/` line.

pub mod acls;
pub mod brokers;
pub mod dialog;
pub mod events;
pub mod group;
pub mod groups;
pub mod help;
pub mod produce;
pub mod tail;
pub mod topic;
pub mod topics;
pub mod transactions;
pub mod users;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;

use crate::tui::action::{Action, Request, Route};
use crate::tui::event::Update;
use crate::tui::keymap::Scope;
use crate::tui::theme::Theme;

/// What a view may know about the app when it handles a key.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub theme: Theme,
    pub read_only: bool,
    /// Whether the cluster's nodes are `ktui local`'s to stop and start.
    pub local_cluster: bool,
    /// Data rows a table of the body shows.
    pub height: usize,
}

/// Whether a view's data has arrived.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LoadState {
    #[default]
    Loading,
    Loaded,
    Error(String),
}

impl LoadState {
    /// The text an empty table shows.
    pub fn empty_text(&self, what: &str) -> String {
        match self {
            LoadState::Loading => format!("loading {what}…"),
            LoadState::Loaded => format!("no {what}"),
            LoadState::Error(e) => format!("error: {e} (r to retry)"),
        }
    }
}

/// A screen.
pub trait View {
    /// The breadcrumb.
    fn title(&self) -> String;
    /// Which keymap applies.
    fn scope(&self) -> Scope;
    /// The screen's identity (a `:` command that leads here).
    fn route(&self) -> Route;
    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme);
    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action;
    /// Takes data from a background task; other screens' data is ignored.
    fn update(&mut self, _update: &Update, _height: usize) {}
    /// The requests sent when the screen opens.
    fn start(&self) -> Vec<Request> {
        self.refresh()
    }
    /// Once a second (rates, countdowns).
    fn tick(&mut self, _now: std::time::Instant) {}
    /// The requests that refresh this screen.
    fn refresh(&self) -> Vec<Request> {
        Vec::new()
    }
    /// Called when the screen is left for good (a tail stops).
    fn close(&self) -> Vec<Request> {
        Vec::new()
    }
    fn filter(&self) -> &str {
        ""
    }
    fn set_filter(&mut self, _filter: &str, _height: usize) {}
    /// A click on row `row` of the body (0 = its first line).
    fn click(&mut self, _row: usize, _height: usize) {}
    fn scroll(&mut self, _delta: isize, _height: usize) {}
    /// Whether the screen takes text (every key goes to it but esc and ctrl-c).
    fn takes_text(&self) -> bool {
        false
    }
}

/// Case-insensitive substring match with an already-lowercased needle.
pub fn matches(haystack: &str, needle_lower: &str) -> bool {
    needle_lower.is_empty() || haystack.to_lowercase().contains(needle_lower)
}
