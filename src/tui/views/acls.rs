//! The ACLs screen (`:acls`): every ACL by principal and resource (permission, operation,
//! resource type, name, pattern, host), denials red; `/` filters on any column; `c` creates
//! an ACL (a form), `d` deletes the selected one after a confirmation. A cluster without an
//! authorizer answers SECURITY_DISABLED, shown as such.

use std::borrow::Cow;
use std::cmp::Ordering;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{matches, Ctx, LoadState, View};
use crate::client::acls::{AclBinding, Permission};
use crate::tui::action::{Action, DialogKind, Request, Route};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::row_list::{ListRow, RowList};
use crate::tui::widgets::table::TableView;

const HEADERS: [&str; 7] = [
    "PRINCIPAL",
    "PERMISSION",
    "OPERATION",
    "RESOURCE",
    "NAME",
    "PATTERN",
    "HOST",
];

/// The ACLs screen.
#[derive(Debug)]
pub struct AclsView {
    rows: RowList<AclBinding>,
    load: LoadState,
}

impl Default for AclsView {
    fn default() -> Self {
        AclsView {
            rows: RowList::new(HEADERS.len(), 0),
            load: LoadState::Loading,
        }
    }
}

impl AclsView {
    pub fn new() -> AclsView {
        AclsView::default()
    }
}

fn all(_: &AclBinding) -> bool {
    true
}

impl ListRow for AclBinding {
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(crate::client::acls::describe_binding(self))
    }

    fn matches(&self, needle: &str) -> bool {
        [
            self.principal.as_str(),
            self.permission.as_str(),
            self.operation.as_str(),
            self.resource_type.as_str(),
            self.resource_name.as_str(),
            self.pattern_type.as_str(),
            self.host.as_str(),
        ]
        .iter()
        .any(|field| matches(field, needle))
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            0 => self.principal.cmp(&other.principal),
            1 => self.permission.cmp(&other.permission),
            2 => self.operation.cmp(&other.operation),
            3 => self.resource_type.cmp(&other.resource_type),
            4 => self.resource_name.cmp(&other.resource_name),
            5 => self.pattern_type.cmp(&other.pattern_type),
            _ => self.host.cmp(&other.host),
        }
    }
}

impl View for AclsView {
    fn title(&self) -> String {
        "ACLs".into()
    }
    fn scope(&self) -> Scope {
        Scope::Acls
    }
    fn route(&self) -> Route {
        Route::Acls
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let table = TableView {
            title: format!(" ACLs {} ", self.rows.caption(&HEADERS)),
            headers: &HEADERS,
            widths: &[
                Constraint::Min(14),
                Constraint::Length(10),
                Constraint::Length(15),
                Constraint::Length(15),
                Constraint::Min(12),
                Constraint::Length(8),
                Constraint::Length(9),
            ],
            len: self.rows.len(),
            state: self.rows.list,
            empty: self.load.empty_text("ACLs"),
        };
        table.render(frame, area, theme, |i| {
            let b = self.rows.shown(i);
            let style = if b.permission == Permission::Deny {
                theme.error()
            } else {
                Style::new()
            };
            Row::new(vec![
                Cell::from(b.principal.clone()),
                Cell::from(b.permission.as_str()).style(style),
                Cell::from(b.operation.as_str()),
                Cell::from(b.resource_type.as_str()),
                Cell::from(b.resource_name.clone()),
                Cell::from(b.pattern_type.as_str()),
                Cell::from(b.host.clone()),
            ])
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Acls, key) else {
            return Action::None;
        };
        if self.rows.apply(command, ctx.height) {
            return Action::None;
        }
        match command {
            Command::Sort => self.rows.next_sort(all, ctx.height),
            Command::Reverse => self.rows.toggle_reverse(all, ctx.height),
            Command::Create => return Action::Dialog(DialogKind::CreateAcl),
            Command::Delete => {
                if let Some(b) = self.rows.selected() {
                    return Action::Dialog(DialogKind::DeleteAcl(b.clone()));
                }
            }
            _ => {}
        }
        Action::None
    }

    fn update(&mut self, update: &Update, height: usize) {
        match update {
            Update::Acls(rows, _) => {
                self.rows.set_rows(rows.clone(), all, height);
                self.load = LoadState::Loaded;
            }
            Update::Failed { subject, error } if *subject == Subject::Acls => {
                self.load = LoadState::Error(error.clone());
            }
            _ => {}
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Acls]
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
