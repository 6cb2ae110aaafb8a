//! The Topics screen: name, partitions, replication factor, messages, under-replicated and
//! offline partitions (highlighted); internal topics hidden unless toggled; sort by any
//! column; `/` filter.

use std::cmp::Ordering;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{matches, Ctx, LoadState, View};
use crate::tui::action::{Action, DialogKind, Request, Route, TailStart};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{or_dash, TopicRow};
use crate::tui::theme::Theme;
use crate::tui::widgets::table::{ListState, TableView};

const HEADERS: [&str; 6] = [
    "NAME",
    "PARTITIONS",
    "RF",
    "MESSAGES",
    "UNDER-REPL",
    "OFFLINE",
];

/// The Topics screen.
#[derive(Debug, Default)]
pub struct TopicsView {
    rows: Vec<TopicRow>,
    /// Indexes into `rows` after filter and sort, in display order.
    shown: Vec<usize>,
    filter: String,
    sort_column: usize,
    reverse: bool,
    show_internal: bool,
    list: ListState,
    load: LoadState,
}

impl TopicsView {
    pub fn new() -> TopicsView {
        TopicsView::default()
    }

    /// The topic under the cursor.
    pub fn selected(&self) -> Option<&TopicRow> {
        self.shown.get(self.list.selected).map(|&i| &self.rows[i])
    }

    /// Names in display order (for tests).
    pub fn shown_names(&self) -> Vec<&str> {
        self.shown
            .iter()
            .map(|&i| self.rows[i].name.as_str())
            .collect()
    }

    fn recompute(&mut self, height: usize) {
        let keep = self.selected().map(|r| r.name.clone());
        let needle = self.filter.to_lowercase();
        let mut shown: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                let r = &self.rows[i];
                (self.show_internal || !r.internal) && matches(&r.name, &needle)
            })
            .collect();
        let column = self.sort_column;
        shown.sort_by(|&a, &b| compare(&self.rows[a], &self.rows[b], column));
        if self.reverse {
            shown.reverse();
        }
        self.shown = shown;
        if let Some(name) = keep {
            if let Some(pos) = self.shown.iter().position(|&i| self.rows[i].name == name) {
                self.list.selected = pos;
            }
        }
        self.list.follow(self.shown.len(), height);
    }

    fn on_selected(&self, make: impl FnOnce(String) -> Action) -> Action {
        self.selected()
            .map_or(Action::None, |r| make(r.name.clone()))
    }
}

fn compare(a: &TopicRow, b: &TopicRow, column: usize) -> Ordering {
    let by = match column {
        1 => a.partitions.cmp(&b.partitions).reverse(),
        2 => a.replication.cmp(&b.replication).reverse(),
        3 => a.messages.cmp(&b.messages).reverse(),
        4 => a.under_replicated.cmp(&b.under_replicated).reverse(),
        5 => a.offline.cmp(&b.offline).reverse(),
        _ => Ordering::Equal,
    };
    by.then_with(|| a.name.cmp(&b.name))
}

impl View for TopicsView {
    fn title(&self) -> String {
        "Topics".into()
    }
    fn scope(&self) -> Scope {
        Scope::Topics
    }
    fn route(&self) -> Route {
        Route::Topics
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let arrow = if self.reverse { "↑" } else { "↓" };
        let internal = if self.show_internal {
            ", internal shown"
        } else {
            ""
        };
        let table = TableView {
            title: format!(
                " Topics ({}/{}) sorted by {} {arrow}{internal} ",
                self.shown.len(),
                self.rows.len(),
                HEADERS[self.sort_column].to_lowercase()
            ),
            headers: &HEADERS,
            widths: &[
                Constraint::Min(18),
                Constraint::Length(10),
                Constraint::Length(3),
                Constraint::Length(12),
                Constraint::Length(10),
                Constraint::Length(7),
            ],
            len: self.shown.len(),
            state: self.list,
            empty: self.load.empty_text("topics"),
        };
        table.render(frame, area, theme, |i| {
            let r = &self.rows[self.shown[i]];
            let style = if r.offline > 0 {
                theme.error()
            } else if r.under_replicated > 0 {
                theme.warn()
            } else {
                ratatui::style::Style::new()
            };
            Row::new(vec![
                Cell::from(r.name.clone()),
                Cell::from(r.partitions.to_string()),
                Cell::from(r.replication.to_string()),
                Cell::from(or_dash(r.messages)),
                Cell::from(r.under_replicated.to_string()),
                Cell::from(r.offline.to_string()),
            ])
            .style(style)
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Topics, key) else {
            return Action::None;
        };
        if self.list.apply(command, self.shown.len(), ctx.height) {
            return Action::None;
        }
        match command {
            Command::Open => self.on_selected(|n| Action::Open(Route::Topic(n))),
            Command::Sort => {
                self.sort_column = (self.sort_column + 1) % HEADERS.len();
                self.recompute(ctx.height);
                Action::None
            }
            Command::Reverse => {
                self.reverse = !self.reverse;
                self.recompute(ctx.height);
                Action::None
            }
            Command::ToggleInternal => {
                self.show_internal = !self.show_internal;
                self.recompute(ctx.height);
                Action::None
            }
            Command::Create => Action::Dialog(DialogKind::CreateTopic),
            Command::Delete => self.on_selected(|n| Action::Dialog(DialogKind::DeleteTopic(n))),
            Command::Tail => self.on_selected(|n| Action::Open(Route::Tail(n, TailStart::End))),
            Command::Produce => self.on_selected(|n| Action::Open(Route::Produce(n))),
            _ => Action::None,
        }
    }

    fn update(&mut self, update: &Update, height: usize) {
        if let Update::Failed { subject, error } = update {
            if *subject == Subject::Cluster {
                self.load = super::LoadState::Error(error.clone());
            }
        }
        if let Update::Cluster(snapshot, _) = update {
            self.rows.clone_from(&snapshot.topics);
            self.load = LoadState::Loaded;
            self.recompute(height);
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Cluster]
    }

    fn filter(&self) -> &str {
        &self.filter
    }

    fn set_filter(&mut self, filter: &str, height: usize) {
        filter.clone_into(&mut self.filter);
        self.list.selected = 0;
        self.recompute(height);
    }

    fn click(&mut self, row: usize, height: usize) {
        let Some(row) = row.checked_sub(2) else {
            return;
        };
        self.list.click(row, self.shown.len());
        self.list.follow(self.shown.len(), height);
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.list.scroll(delta, self.shown.len(), height);
    }
}
