//! The Users screen (`:users`): SCRAM users with each mechanism and its iteration count —
//! never a secret, which brokers do not send; `c` sets a user's password (a form, the
//! password masked), `d` deletes the selected user's credentials after a confirmation.

use std::borrow::Cow;
use std::cmp::Ordering;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{matches, Ctx, LoadState, View};
use crate::client::scram_users::ScramUser;
use crate::tui::action::{Action, DialogKind, Request, Route};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::row_list::{ListRow, RowList};
use crate::tui::widgets::table::TableView;

const HEADERS: [&str; 2] = ["USER", "CREDENTIALS (MECHANISM ITERATIONS)"];

/// The Users screen.
#[derive(Debug)]
pub struct UsersView {
    rows: RowList<ScramUser>,
    load: LoadState,
}

impl Default for UsersView {
    fn default() -> Self {
        UsersView {
            rows: RowList::new(1, 0),
            load: LoadState::Loading,
        }
    }
}

impl UsersView {
    pub fn new() -> UsersView {
        UsersView::default()
    }
}

fn all(_: &ScramUser) -> bool {
    true
}

fn credentials(u: &ScramUser) -> String {
    let parts: Vec<String> = u
        .credentials
        .iter()
        .map(|c| format!("{} {}", c.mechanism.name(), c.iterations))
        .collect();
    parts.join(", ")
}

impl ListRow for ScramUser {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    fn matches(&self, needle: &str) -> bool {
        matches(&self.name, needle) || matches(&credentials(self), needle)
    }

    fn compare(&self, _other: &Self, _column: usize) -> Ordering {
        Ordering::Equal
    }
}

impl View for UsersView {
    fn title(&self) -> String {
        "Users".into()
    }
    fn scope(&self) -> Scope {
        Scope::Users
    }
    fn route(&self) -> Route {
        Route::Users
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let table = TableView {
            title: format!(" SCRAM users {} ", self.rows.caption(&HEADERS)),
            headers: &HEADERS,
            widths: &[Constraint::Min(16), Constraint::Fill(1)],
            len: self.rows.len(),
            state: self.rows.list,
            empty: self.load.empty_text("SCRAM users"),
        };
        table.render(frame, area, theme, |i| {
            let u = self.rows.shown(i);
            Row::new(vec![Cell::from(u.name.clone()), Cell::from(credentials(u))])
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Users, key) else {
            return Action::None;
        };
        if self.rows.apply(command, ctx.height) {
            return Action::None;
        }
        let selected = self.rows.selected().map(|u| u.name.clone());
        match command {
            Command::Create => {
                Action::Dialog(DialogKind::SetPassword(selected.unwrap_or_default()))
            }
            Command::Delete => {
                selected.map_or(Action::None, |u| Action::Dialog(DialogKind::DeleteUser(u)))
            }
            _ => Action::None,
        }
    }

    fn update(&mut self, update: &Update, height: usize) {
        match update {
            Update::Users(rows, _) => {
                self.rows.set_rows(rows.clone(), all, height);
                self.load = LoadState::Loaded;
            }
            Update::Failed { subject, error } if *subject == Subject::Users => {
                self.load = LoadState::Error(error.clone());
            }
            _ => {}
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Users]
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
