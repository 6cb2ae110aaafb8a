//! The Groups screen: id, state, members, protocol, topics, total lag; sorted by lag (largest
//! first) or another column; `/` filter.

use std::borrow::Cow;
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
use crate::tui::widgets::row_list::{ListRow, RowList};
use crate::tui::widgets::table::TableView;

const HEADERS: [&str; 6] = ["GROUP", "STATE", "MEMBERS", "PROTOCOL", "TOPICS", "LAG"];
const SORT_LAG: usize = 5;

/// The Groups screen.
#[derive(Debug)]
pub struct GroupsView {
    rows: RowList<GroupRow>,
    load: LoadState,
}

impl Default for GroupsView {
    fn default() -> Self {
        GroupsView {
            rows: RowList::new(HEADERS.len(), SORT_LAG),
            load: LoadState::Loading,
        }
    }
}

impl GroupsView {
    pub fn new() -> GroupsView {
        GroupsView::default()
    }

    pub fn selected(&self) -> Option<&GroupRow> {
        self.rows.selected()
    }

    /// Group ids in display order (for tests).
    pub fn shown_ids(&self) -> Vec<&str> {
        self.rows.shown_rows().map(|r| r.id.as_str()).collect()
    }
}

impl ListRow for GroupRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }

    fn matches(&self, needle: &str) -> bool {
        matches(&self.id, needle) || self.topics.iter().any(|t| matches(t, needle))
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            1 => self.state.cmp(&other.state),
            2 => self.members.cmp(&other.members).reverse(),
            3 => self.protocol.cmp(&other.protocol),
            4 => self.topics.len().cmp(&other.topics.len()).reverse(),
            SORT_LAG => self.lag.cmp(&other.lag).reverse(),
            _ => Ordering::Equal,
        }
    }
}

fn all(_: &GroupRow) -> bool {
    true
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
        let table = TableView {
            title: format!(" Groups {} ", self.rows.caption(&HEADERS)),
            headers: &HEADERS,
            widths: &[
                Constraint::Min(14),
                Constraint::Length(12),
                Constraint::Length(7),
                Constraint::Length(8),
                Constraint::Fill(1),
                Constraint::Length(8),
            ],
            len: self.rows.len(),
            state: self.rows.list,
            empty: self.load.empty_text("groups"),
        };
        table.render(frame, area, theme, |i| {
            let r = self.rows.shown(i);
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
        if self.rows.apply(command, ctx.height) {
            return Action::None;
        }
        let selected = self.selected().cloned();
        match (command, selected) {
            (Command::Open, Some(r)) => Action::Open(Route::Group(r.id)),
            (Command::Sort, _) => {
                self.rows.next_sort(all, ctx.height);
                Action::None
            }
            (Command::Reverse, _) => {
                self.rows.toggle_reverse(all, ctx.height);
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
            self.rows.set_rows(rows.clone(), all, height);
            self.load = LoadState::Loaded;
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Groups]
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
