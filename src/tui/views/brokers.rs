//! The Brokers screen: id, host:port, rack, controller marker, partitions led, reachable.

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{Ctx, LoadState, View};
use crate::tui::action::{Action, Request, Route};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Scope};
use crate::tui::model::BrokerRow;
use crate::tui::theme::Theme;
use crate::tui::widgets::table::{ListState, TableView};

/// The Brokers screen.
#[derive(Debug, Default)]
pub struct BrokersView {
    rows: Vec<BrokerRow>,
    list: ListState,
    load: LoadState,
}

impl BrokersView {
    pub fn new() -> BrokersView {
        BrokersView::default()
    }
}

impl View for BrokersView {
    fn title(&self) -> String {
        "Brokers".into()
    }
    fn scope(&self) -> Scope {
        Scope::Brokers
    }
    fn route(&self) -> Route {
        Route::Brokers
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let table = TableView {
            title: format!(" Brokers ({}) ", self.rows.len()),
            headers: &[
                "ID",
                "HOST:PORT",
                "RACK",
                "CONTROLLER",
                "LEADERS",
                "REACHABLE",
            ],
            widths: &[
                Constraint::Length(6),
                Constraint::Min(16),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(9),
            ],
            len: self.rows.len(),
            state: self.list,
            empty: self.load.empty_text("brokers"),
        };
        table.render(frame, area, theme, |i| {
            let r = &self.rows[i];
            let reach = if r.reachable {
                Cell::from("yes").style(theme.ok())
            } else {
                Cell::from("no").style(theme.error())
            };
            Row::new(vec![
                Cell::from(r.id.to_string()),
                Cell::from(r.addr.clone()),
                Cell::from(r.rack.clone().unwrap_or_else(|| "-".into())),
                Cell::from(if r.controller { "*" } else { "" }),
                Cell::from(r.leaders.to_string()),
                reach,
            ])
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        if let Some(command) = keymap::lookup(Scope::Brokers, key) {
            let _ = self.list.apply(command, self.rows.len(), ctx.height);
        }
        Action::None
    }

    fn update(&mut self, update: &Update, height: usize) {
        if let Update::Failed { subject, error } = update {
            if *subject == Subject::Cluster {
                self.load = super::LoadState::Error(error.clone());
            }
        }
        if let Update::Cluster(snapshot, _) = update {
            self.rows.clone_from(&snapshot.brokers);
            self.load = LoadState::Loaded;
            self.list.follow(self.rows.len(), height);
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Cluster]
    }

    fn click(&mut self, row: usize, _height: usize) {
        let Some(row) = row.checked_sub(2) else {
            return;
        };
        self.list.click(row, self.rows.len());
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.list.scroll(delta, self.rows.len(), height);
    }
}
