//! The Groups screen: id, state, members, protocol, topics, total lag; sorted by lag (largest
//! first) or another column; `/` filter.

use std::cmp::Ordering;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{matches, Ctx, LoadState, View};
use crate::tui::action::{Action, DialogKind, Request, Route};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{or_dash, GroupRow};
use crate::tui::theme::Theme;
use crate::tui::widgets::table::{ListState, TableView};

const HEADERS: [&str; 6] = ["GROUP", "STATE", "MEMBERS", "PROTOCOL", "TOPICS", "LAG"];
const SORT_LAG: usize = 5;

/// The Groups screen.
#[derive(Debug)]
pub struct GroupsView {
    rows: Vec<GroupRow>,
    shown: Vec<usize>,
    filter: String,
    sort_column: usize,
    reverse: bool,
    list: ListState,
    load: LoadState,
}

impl Default for GroupsView {
    fn default() -> Self {
        GroupsView {
            rows: Vec::new(),
            shown: Vec::new(),
            filter: String::new(),
            sort_column: SORT_LAG,
            reverse: false,
            list: ListState::default(),
            load: LoadState::Loading,
        }
    }
}

impl GroupsView {
    pub fn new() -> GroupsView {
        GroupsView::default()
    }

    pub fn selected(&self) -> Option<&GroupRow> {
        self.shown.get(self.list.selected).map(|&i| &self.rows[i])
    }

    /// Group ids in display order (for tests).
    pub fn shown_ids(&self) -> Vec<&str> {
        self.shown
            .iter()
            .map(|&i| self.rows[i].id.as_str())
            .collect()
    }

    fn recompute(&mut self, height: usize) {
        let keep = self.selected().map(|r| r.id.clone());
        let needle = self.filter.to_lowercase();
        let mut shown: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                let r = &self.rows[i];
                matches(&r.id, &needle) || r.topics.iter().any(|t| matches(t, &needle))
            })
            .collect();
        let column = self.sort_column;
        shown.sort_by(|&a, &b| compare(&self.rows[a], &self.rows[b], column));
        if self.reverse {
            shown.reverse();
        }
        self.shown = shown;
        if let Some(id) = keep {
            if let Some(pos) = self.shown.iter().position(|&i| self.rows[i].id == id) {
                self.list.selected = pos;
            }
        }
        self.list.follow(self.shown.len(), height);
    }
}

fn compare(a: &GroupRow, b: &GroupRow, column: usize) -> Ordering {
    let by = match column {
        1 => a.state.cmp(&b.state),
        2 => a.members.cmp(&b.members).reverse(),
        3 => a.protocol.cmp(&b.protocol),
        4 => a.topics.len().cmp(&b.topics.len()).reverse(),
        SORT_LAG => a.lag.cmp(&b.lag).reverse(),
        _ => Ordering::Equal,
    };
    by.then_with(|| a.id.cmp(&b.id))
}

impl View for GroupsView {
    fn title(&self) -> String {
        "Groups".into()
    }
    fn scope(&self) -> Scope {
        Scope::Groups
    }
    fn route(&self) -> Route {
        Route::Groups
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let arrow = if self.reverse { "↑" } else { "↓" };
        let table = TableView {
            title: format!(
                " Groups ({}/{}) sorted by {} {arrow} ",
                self.shown.len(),
                self.rows.len(),
                HEADERS[self.sort_column].to_lowercase()
            ),
            headers: &HEADERS,
            widths: &[
                Constraint::Min(16),
                Constraint::Length(19),
                Constraint::Length(7),
                Constraint::Length(10),
                Constraint::Fill(1),
                Constraint::Length(10),
            ],
            len: self.shown.len(),
            state: self.list,
            empty: self.load.empty_text("groups"),
        };
        table.render(frame, area, theme, |i| {
            let r = &self.rows[self.shown[i]];
            let lag_style = match r.lag {
                Some(l) if l > 0 => theme.warn(),
                _ => ratatui::style::Style::new(),
            };
            Row::new(vec![
                Cell::from(r.id.clone()),
                Cell::from(r.state.clone()),
                Cell::from(r.members.to_string()),
                Cell::from(r.protocol.clone()),
                Cell::from(r.topics.join(",")),
                Cell::from(or_dash(r.lag)).style(lag_style),
            ])
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Groups, key) else {
            return Action::None;
        };
        if self.list.apply(command, self.shown.len(), ctx.height) {
            return Action::None;
        }
        let selected = self.selected().cloned();
        match (command, selected) {
            (Command::Open, Some(r)) => Action::Open(Route::Group(r.id)),
            (Command::Sort, _) => {
                self.sort_column = (self.sort_column + 1) % HEADERS.len();
                self.recompute(ctx.height);
                Action::None
            }
            (Command::Reverse, _) => {
                self.reverse = !self.reverse;
                self.recompute(ctx.height);
                Action::None
            }
            (Command::ResetOffsets, Some(r)) => Action::Dialog(DialogKind::ResetOffsets {
                group: r.id,
                topics: r.topics,
            }),
            (Command::Delete, Some(r)) => Action::Dialog(DialogKind::DeleteGroup(r.id)),
            _ => Action::None,
        }
    }

    fn update(&mut self, update: &Update, height: usize) {
        if let Update::Failed { subject, error } = update {
            if *subject == Subject::Groups {
                self.load = super::LoadState::Error(error.clone());
            }
        }
        if let Update::Groups(rows, _) = update {
            self.rows.clone_from(rows);
            self.load = LoadState::Loaded;
            self.recompute(height);
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Groups]
    }

    fn filter(&self) -> &str {
        &self.filter
    }

    fn set_filter(&mut self, filter: &str, height: usize) {
        filter.clone_into(&mut self.filter);
        self.list.selected = 0;
        self.recompute(height);
    }

    fn click(&mut self, row: usize, _height: usize) {
        let Some(row) = row.checked_sub(2) else {
            return;
        };
        self.list.click(row, self.shown.len());
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.list.scroll(delta, self.shown.len(), height);
    }
}
