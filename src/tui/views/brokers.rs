//! The Brokers screen: id, host:port, rack, controller mark, up / fenced / unreachable,
//! partitions led, replicas hosted, under-replicated partitions it leads and bytes on disk,
//! with the selected broker's log directories below (DescribeLogDirs). On a cluster that
//! `ktui local up -n` launched, `x` stops (SIGTERM), `K` kills (SIGKILL) and `u` starts the
//! selected node, each after a confirmation.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row};
use ratatui::Frame;

use super::{matches, Ctx, LoadState, View};
use crate::tui::action::{Action, BrokerOp, DialogKind, Request, Route};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{bytes, BrokerRow, LogDirRow};
use crate::tui::theme::Theme;
use crate::tui::widgets::row_list::{ListRow, RowList};
use crate::tui::widgets::table::TableView;

const HEADERS: [&str; 9] = [
    "ID",
    "HOST:PORT",
    "RACK",
    "CTRL",
    "STATUS",
    "LEADERS",
    "REPLICAS",
    "URP-LED",
    "DISK",
];
/// Lines of the log-directory pane (border included).
const DIRS_PANE: u16 = 4;

/// The Brokers screen.
#[derive(Debug)]
pub struct BrokersView {
    rows: RowList<BrokerRow>,
    dirs: Option<BTreeMap<i32, Vec<LogDirRow>>>,
    load: LoadState,
}

impl Default for BrokersView {
    fn default() -> Self {
        BrokersView {
            rows: RowList::new(HEADERS.len(), 0),
            dirs: None,
            load: LoadState::Loading,
        }
    }
}

impl BrokersView {
    pub fn new() -> BrokersView {
        BrokersView::default()
    }

    fn disk(&self, id: i32) -> Option<i64> {
        let dirs = self.dirs.as_ref()?.get(&id)?;
        Some(dirs.iter().map(|d| d.bytes).sum())
    }

    fn control(&self, op: BrokerOp, ctx: &Ctx) -> Action {
        if !ctx.local_cluster {
            return Action::Status(format!(
                "{} works on a cluster `ktui local up -n N` launched; this one is not",
                op.verb()
            ));
        }
        match self.rows.selected() {
            Some(b) => Action::Dialog(DialogKind::Broker { id: b.id, op }),
            None => Action::None,
        }
    }

    fn render_dirs(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let Some(b) = self.rows.selected() else {
            return;
        };
        let block = Block::new()
            .borders(Borders::TOP)
            .border_style(theme.border())
            .title(Line::styled(
                format!(" Log dirs of broker {} ", b.id),
                theme.title(),
            ));
        let lines: Vec<Line> = match self.dirs.as_ref().map(|d| d.get(&b.id)) {
            None => vec![Line::styled("loading…", theme.dim())],
            Some(None) => vec![Line::styled("not answering DescribeLogDirs", theme.dim())],
            Some(Some(dirs)) => dirs
                .iter()
                .map(|d| match &d.error {
                    Some(e) => Line::styled(format!("{}  offline: {e}", d.path), theme.error()),
                    None => Line::raw(format!("{}  {}", d.path, bytes(d.bytes))),
                })
                .collect(),
        };
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}

fn all(_: &BrokerRow) -> bool {
    true
}

impl ListRow for BrokerRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{:011}", i64::from(self.id) + i64::from(i32::MAX)))
    }

    fn matches(&self, needle: &str) -> bool {
        matches(&self.id.to_string(), needle)
            || matches(&self.addr, needle)
            || self.rack.as_deref().is_some_and(|r| matches(r, needle))
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            1 => self.addr.cmp(&other.addr),
            2 => self.rack.cmp(&other.rack),
            3 => self.controller.cmp(&other.controller).reverse(),
            4 => self.is_up().cmp(&other.is_up()),
            5 => self.leaders.cmp(&other.leaders).reverse(),
            6 => self.replicas.cmp(&other.replicas).reverse(),
            7 => self
                .under_replicated_led
                .cmp(&other.under_replicated_led)
                .reverse(),
            _ => Ordering::Equal,
        }
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
        let [table_area, dirs_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(DIRS_PANE)]).areas(area);
        let up = self.rows.rows().iter().filter(|b| b.is_up()).count();
        let table = TableView {
            title: format!(" Brokers {}, {up} up ", self.rows.caption(&HEADERS)),
            headers: &HEADERS,
            widths: &[
                Constraint::Length(4),
                Constraint::Min(15),
                Constraint::Length(6),
                Constraint::Length(4),
                Constraint::Length(11),
                Constraint::Length(7),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(10),
            ],
            len: self.rows.len(),
            state: self.rows.list,
            empty: self.load.empty_text("brokers"),
        };
        table.render(frame, table_area, theme, |i| {
            let r = self.rows.shown(i);
            let status = if r.fenced {
                Cell::from("fenced").style(theme.error())
            } else if r.reachable {
                Cell::from("up").style(theme.ok())
            } else {
                Cell::from("unreachable").style(theme.error())
            };
            let addr = if r.addr.is_empty() {
                "-".to_string()
            } else {
                r.addr.clone()
            };
            let urp = Cell::from(r.under_replicated_led.to_string());
            Row::new(vec![
                Cell::from(r.id.to_string()),
                Cell::from(addr),
                Cell::from(r.rack.clone().unwrap_or_else(|| "-".into())),
                Cell::from(if r.controller { "*" } else { "" }),
                status,
                Cell::from(r.leaders.to_string()),
                Cell::from(r.replicas.to_string()),
                if r.under_replicated_led > 0 {
                    urp.style(theme.warn())
                } else {
                    urp
                },
                Cell::from(self.disk(r.id).map_or_else(|| "-".into(), bytes)),
            ])
        });
        self.render_dirs(frame, dirs_area, theme);
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Brokers, key) else {
            return Action::None;
        };
        if self
            .rows
            .apply(command, ctx.height.saturating_sub(usize::from(DIRS_PANE)))
        {
            return Action::None;
        }
        match command {
            Command::Sort => self.rows.next_sort(all, ctx.height),
            Command::Reverse => self.rows.toggle_reverse(all, ctx.height),
            Command::StopBroker => return self.control(BrokerOp::Stop, ctx),
            Command::KillBroker => return self.control(BrokerOp::Kill, ctx),
            Command::StartBroker => return self.control(BrokerOp::Start, ctx),
            _ => {}
        }
        Action::None
    }

    fn update(&mut self, update: &Update, height: usize) {
        let height = height.saturating_sub(usize::from(DIRS_PANE));
        match update {
            Update::Failed { subject, error } if *subject == Subject::Cluster => {
                self.load = LoadState::Error(error.clone());
            }
            Update::Cluster(snapshot, _) => {
                self.rows.set_rows(snapshot.brokers.clone(), all, height);
                self.load = LoadState::Loaded;
            }
            Update::LogDirs(dirs) => self.dirs = Some(dirs.clone()),
            _ => {}
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Cluster, Request::LogDirs]
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
