//! The Topics screen: name, partitions, replication factor, messages, under-replicated,
//! under-min-ISR and offline partitions (yellow, orange, red), and the groups reading each
//! topic with their total lag on it; internal topics hidden unless toggled; `u` (or
//! `:topics urp`) shows only unhealthy topics; sort by any column; `/` filter.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{matches, Ctx, LoadState, View};
use crate::tui::action::{Action, DialogKind, ElectionScope, Request, Route, TailStart};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{or_dash, GroupRow, TopicRow};
use crate::tui::theme::Theme;
use crate::tui::widgets::row_list::{ListRow, RowList};
use crate::tui::widgets::table::TableView;

const HEADERS: [&str; 9] = [
    "NAME", "PARTS", "RF", "MESSAGES", "URP", "<MIN-ISR", "OFFLINE", "GROUPS", "LAG",
];

/// The Topics screen.
#[derive(Debug)]
pub struct TopicsView {
    rows: RowList<TopicRow>,
    show_internal: bool,
    unhealthy_only: bool,
    /// Per topic: groups reading it and their summed lag, from the last groups' answer.
    readers: HashMap<String, (usize, Option<i64>)>,
    load: LoadState,
}

impl TopicsView {
    /// All topics, or (`unhealthy_only`) those with an unhealthy partition.
    pub fn new(unhealthy_only: bool) -> TopicsView {
        TopicsView {
            rows: RowList::new(HEADERS.len(), 0),
            show_internal: false,
            unhealthy_only,
            readers: HashMap::new(),
            load: LoadState::Loading,
        }
    }

    /// The topic under the cursor.
    pub fn selected(&self) -> Option<&TopicRow> {
        self.rows.selected()
    }

    /// Names in display order (for tests).
    pub fn shown_names(&self) -> Vec<&str> {
        self.rows.shown_rows().map(|r| r.name.as_str()).collect()
    }

    /// The screen's own choice of rows.
    fn keep(&self) -> impl Fn(&TopicRow) -> bool {
        let (internal, unhealthy) = (self.show_internal, self.unhealthy_only);
        move |r: &TopicRow| (internal || !r.internal) && (!unhealthy || r.is_unhealthy())
    }

    fn on_selected(&self, make: impl FnOnce(String) -> Action) -> Action {
        self.selected()
            .map_or(Action::None, |r| make(r.name.clone()))
    }

    /// Rows with the groups' numbers merged in.
    fn with_readers(&self, rows: &[TopicRow]) -> Vec<TopicRow> {
        rows.iter()
            .map(|r| {
                let (groups, lag) = self.readers.get(&r.name).copied().unwrap_or((0, None));
                TopicRow {
                    groups,
                    lag,
                    ..r.clone()
                }
            })
            .collect()
    }

    fn take_groups(&mut self, groups: &[GroupRow]) {
        self.readers.clear();
        for g in groups {
            for (topic, lag) in &g.topic_lag {
                let entry = self.readers.entry(topic.clone()).or_insert((0, None));
                entry.0 += 1;
                if let Some(lag) = lag {
                    entry.1 = Some(entry.1.unwrap_or(0) + lag);
                }
            }
        }
    }
}

impl ListRow for TopicRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    fn matches(&self, needle: &str) -> bool {
        matches(&self.name, needle)
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            1 => self.partitions.cmp(&other.partitions).reverse(),
            2 => self.replication.cmp(&other.replication).reverse(),
            3 => self.messages.cmp(&other.messages).reverse(),
            4 => self.under_replicated.cmp(&other.under_replicated).reverse(),
            5 => self.under_min_isr.cmp(&other.under_min_isr).reverse(),
            6 => self.offline.cmp(&other.offline).reverse(),
            7 => self.groups.cmp(&other.groups).reverse(),
            8 => self.lag.cmp(&other.lag).reverse(),
            _ => Ordering::Equal,
        }
    }
}

/// A count, coloured when not zero.
fn count_cell(n: usize, style: Style) -> Cell<'static> {
    let cell = Cell::from(n.to_string());
    if n > 0 {
        cell.style(style)
    } else {
        cell
    }
}

impl View for TopicsView {
    fn title(&self) -> String {
        if self.unhealthy_only {
            "Topics (unhealthy)".into()
        } else {
            "Topics".into()
        }
    }
    fn scope(&self) -> Scope {
        Scope::Topics
    }
    fn route(&self) -> Route {
        if self.unhealthy_only {
            Route::UnhealthyTopics
        } else {
            Route::Topics
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let mut notes = String::new();
        if self.show_internal {
            notes.push_str(", internal shown");
        }
        if self.unhealthy_only {
            notes.push_str(", unhealthy only");
        }
        let table = TableView {
            title: format!(" Topics {}{notes} ", self.rows.caption(&HEADERS)),
            headers: &HEADERS,
            widths: &[
                Constraint::Min(16),
                Constraint::Length(5),
                Constraint::Length(2),
                Constraint::Length(10),
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(9),
            ],
            len: self.rows.len(),
            state: self.rows.list,
            empty: if self.unhealthy_only && self.load == LoadState::Loaded {
                "no unhealthy topics".into()
            } else {
                self.load.empty_text("topics")
            },
        };
        table.render(frame, area, theme, |i| {
            let r = self.rows.shown(i);
            let name_style = if r.offline > 0 {
                theme.error()
            } else if r.under_min_isr > 0 {
                theme.alert()
            } else if r.under_replicated > 0 {
                theme.warn()
            } else {
                Style::new()
            };
            Row::new(vec![
                Cell::from(r.name.clone()).style(name_style),
                Cell::from(r.partitions.to_string()),
                Cell::from(r.replication.to_string()),
                Cell::from(or_dash(r.messages)),
                count_cell(r.under_replicated, theme.warn()),
                count_cell(r.under_min_isr, theme.alert()),
                count_cell(r.offline, theme.error()),
                Cell::from(r.groups.to_string()),
                Cell::from(or_dash(r.lag)),
            ])
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Topics, key) else {
            return Action::None;
        };
        if self.rows.apply(command, ctx.height) {
            return Action::None;
        }
        match command {
            Command::Open => self.on_selected(|n| Action::Open(Route::Topic(n))),
            Command::Sort => {
                let keep = self.keep();
                self.rows.next_sort(keep, ctx.height);
                Action::None
            }
            Command::Reverse => {
                let keep = self.keep();
                self.rows.toggle_reverse(keep, ctx.height);
                Action::None
            }
            Command::ToggleInternal => {
                self.show_internal = !self.show_internal;
                let keep = self.keep();
                self.rows.recompute(keep, ctx.height);
                Action::None
            }
            Command::Unhealthy => {
                self.unhealthy_only = !self.unhealthy_only;
                let keep = self.keep();
                self.rows.recompute(keep, ctx.height);
                Action::None
            }
            Command::Elect => {
                self.on_selected(|n| Action::Dialog(DialogKind::Elect(ElectionScope::Topic(n))))
            }
            Command::Create => Action::Dialog(DialogKind::CreateTopic),
            Command::Delete => self.on_selected(|n| Action::Dialog(DialogKind::DeleteTopic(n))),
            Command::Tail => self.on_selected(|n| Action::Open(Route::Tail(n, TailStart::End))),
            Command::Produce => self.on_selected(|n| Action::Open(Route::Produce(n))),
            _ => Action::None,
        }
    }

    fn update(&mut self, update: &Update, height: usize) {
        match update {
            Update::Failed { subject, error } if *subject == Subject::Cluster => {
                self.load = LoadState::Error(error.clone());
            }
            Update::Cluster(snapshot, _) => {
                let rows = self.with_readers(&snapshot.topics);
                let keep = self.keep();
                self.rows.set_rows(rows, keep, height);
                self.load = LoadState::Loaded;
            }
            Update::Groups(groups, _) => {
                self.take_groups(groups);
                let rows = self.with_readers(self.rows.rows());
                let keep = self.keep();
                self.rows.set_rows(rows, keep, height);
            }
            _ => {}
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Cluster, Request::Groups]
    }

    fn filter(&self) -> &str {
        self.rows.filter()
    }

    fn set_filter(&mut self, filter: &str, height: usize) {
        let keep = self.keep();
        self.rows.set_filter(filter, keep, height);
    }

    fn click(&mut self, row: usize, height: usize) {
        self.rows.click(row, height);
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.rows.scroll(delta, height);
    }
}
