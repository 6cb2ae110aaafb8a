//! The Events screen (`:events`): what the console saw change, newest first: time, kind and
//! what happened, coloured by severity; `/` filters on the kind and the text (`leader`,
//! `broker 2`, `orders-3`); sortable by any column.

use std::borrow::Cow;
use std::cmp::Ordering;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{matches, Ctx, View};
use crate::tui::action::{Action, Route};
use crate::tui::event::Update;
use crate::tui::events::{ClusterEvent, Severity, EVENTS_KEPT_MAX};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::clock;
use crate::tui::theme::Theme;
use crate::tui::widgets::row_list::{ListRow, RowList};
use crate::tui::widgets::table::TableView;

const HEADERS: [&str; 3] = ["TIME", "KIND", "EVENT"];

/// The Events screen.
#[derive(Debug)]
pub struct EventsView {
    rows: RowList<ClusterEvent>,
}

impl EventsView {
    /// The screen with the events recorded so far (newest first).
    pub fn new(events: Vec<ClusterEvent>) -> EventsView {
        let mut rows = RowList::new(HEADERS.len(), 0);
        rows.set_rows(events, all, 1);
        EventsView { rows }
    }

    /// Texts in display order (for tests).
    pub fn shown_texts(&self) -> Vec<&str> {
        self.rows.shown_rows().map(|e| e.text.as_str()).collect()
    }
}

fn all(_: &ClusterEvent) -> bool {
    true
}

impl ListRow for ClusterEvent {
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{:020}", u64::MAX - self.seq))
    }

    fn matches(&self, needle: &str) -> bool {
        self.kind.name().contains(needle) || matches(&self.text, needle)
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            1 => self.kind.cmp(&other.kind),
            2 => self.text.cmp(&other.text),
            _ => Ordering::Equal,
        }
    }
}

impl View for EventsView {
    fn title(&self) -> String {
        "Events".into()
    }
    fn scope(&self) -> Scope {
        Scope::Events
    }
    fn route(&self) -> Route {
        Route::Events
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let table = TableView {
            title: format!(" Events {}, newest first ", self.rows.caption(&HEADERS)),
            headers: &HEADERS,
            widths: &[
                Constraint::Length(8),
                Constraint::Length(10),
                Constraint::Fill(1),
            ],
            len: self.rows.len(),
            state: self.rows.list,
            empty: "no changes seen yet: brokers, leaders, ISRs, topics and groups are compared at every refresh".into(),
        };
        table.render(frame, area, theme, |i| {
            let e = self.rows.shown(i);
            let style = match e.severity {
                Severity::Error => theme.error(),
                Severity::Warn => theme.warn(),
                Severity::Info => Style::new(),
            };
            Row::new(vec![
                Cell::from(clock(e.at)).style(theme.dim()),
                Cell::from(e.kind.name()),
                Cell::from(e.text.clone()).style(style),
            ])
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Events, key) else {
            return Action::None;
        };
        if self.rows.apply(command, ctx.height) {
            return Action::None;
        }
        match command {
            Command::Sort => self.rows.next_sort(all, ctx.height),
            Command::Reverse => self.rows.toggle_reverse(all, ctx.height),
            _ => {}
        }
        Action::None
    }

    fn update(&mut self, update: &Update, height: usize) {
        if let Update::Events(new) = update {
            let mut rows = new.clone();
            rows.extend(
                self.rows
                    .rows()
                    .iter()
                    .take(EVENTS_KEPT_MAX.saturating_sub(new.len()))
                    .cloned(),
            );
            self.rows.set_rows(rows, all, height);
        }
    }

    fn filter(&self) -> &str {
        self.rows.filter()
    }

    fn set_filter(&mut self, filter: &str, height: usize) {
        self.rows.set_filter(filter, all, height);
    }

    fn click(&mut self, row: usize, height: usize) {
        self.rows.click(row, height);
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.rows.scroll(delta, height);
    }
}
