//! The Topic screen, three tabs: partitions (id, leader, whether it is the preferred replica,
//! replicas with those out of the ISR in brackets, ISR, offline replicas, low and high
//! watermark, messages; offline partitions red, under-replicated yellow), configs
//! (non-default values first, with their source) and the groups reading the topic with their
//! lag. On a partition, `E` elects its preferred leader and `R` reassigns its replicas.

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};
use ratatui::Frame;

use super::{Ctx, LoadState, View};
use crate::tui::action::{Action, DialogKind, ElectionScope, Request, Route, TailStart};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{ids, or_dash, ConfigRow, TopicDetail};
use crate::tui::theme::Theme;
use crate::tui::widgets::table::{ListState, TableView};

/// The tabs, in `tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Partitions,
    Configs,
    Groups,
}

const TABS: [(Tab, &str); 3] = [
    (Tab::Partitions, "Partitions"),
    (Tab::Configs, "Configs"),
    (Tab::Groups, "Groups"),
];

/// The Topic screen.
#[derive(Debug)]
pub struct TopicView {
    name: String,
    detail: TopicDetail,
    /// Configs with overridden ones first, then by name.
    configs: Vec<ConfigRow>,
    tab: Tab,
    list: ListState,
    load: LoadState,
    /// The cluster's broker ids (from the cluster's answer), for the reassign dialog.
    brokers: Vec<i32>,
}

impl TopicView {
    pub fn new(name: &str) -> TopicView {
        TopicView {
            name: name.to_string(),
            detail: TopicDetail::default(),
            configs: Vec::new(),
            tab: Tab::Partitions,
            list: ListState::default(),
            load: LoadState::Loading,
            brokers: Vec::new(),
        }
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    fn len(&self) -> usize {
        match self.tab {
            Tab::Partitions => self.detail.partitions.len(),
            Tab::Configs => self.configs.len(),
            Tab::Groups => self.detail.groups.len(),
        }
    }

    fn tabs_line(&self, theme: Theme) -> Line<'static> {
        let mut spans = Vec::new();
        for (tab, label) in TABS {
            let style = if tab == self.tab {
                theme.selected()
            } else {
                theme.dim()
            };
            spans.push(Span::styled(format!(" {label} "), style));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled("(tab)", theme.dim()));
        Line::from(spans)
    }

    fn render_partitions(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let table = TableView {
            title: format!(" Partitions of {} ", self.name),
            headers: &[
                "ID", "LEADER", "PREF", "REPLICAS", "ISR", "OFFLINE", "LOW", "HIGH", "MESSAGES",
            ],
            widths: &[
                Constraint::Length(3),
                Constraint::Length(6),
                Constraint::Length(4),
                Constraint::Min(9),
                Constraint::Min(7),
                Constraint::Length(7),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(8),
            ],
            len: self.detail.partitions.len(),
            state: self.list,
            empty: self.load.empty_text("partitions"),
        };
        table.render(frame, area, theme, |i| {
            let p = &self.detail.partitions[i];
            let style = if !p.offline.is_empty() || p.leader < 0 {
                theme.error()
            } else if p.isr.len() < p.replicas.len() {
                theme.warn()
            } else {
                ratatui::style::Style::new()
            };
            let messages = p.low.zip(p.high).map(|(l, h)| h - l);
            let (leader, preferred) = if p.leader < 0 {
                ("none".to_string(), "-")
            } else if p.replicas.first() == Some(&p.leader) {
                (p.leader.to_string(), "yes")
            } else {
                (p.leader.to_string(), "no")
            };
            Row::new(vec![
                Cell::from(p.id.to_string()),
                Cell::from(leader),
                Cell::from(preferred),
                Cell::from(replicas_marked(&p.replicas, &p.isr)),
                Cell::from(ids(&p.isr)),
                Cell::from(ids(&p.offline)),
                Cell::from(or_dash(p.low)),
                Cell::from(or_dash(p.high)),
                Cell::from(or_dash(messages)),
            ])
            .style(style)
        });
    }

    /// The partition under the cursor (Partitions tab).
    fn selected_partition(&self) -> Option<&crate::tui::model::PartitionRow> {
        (self.tab == Tab::Partitions)
            .then(|| self.detail.partitions.get(self.list.selected))
            .flatten()
    }

    fn render_configs(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let table = TableView {
            title: format!(" Configs of {} (non-default first) ", self.name),
            headers: &["NAME", "VALUE", "SOURCE"],
            widths: &[
                Constraint::Min(18),
                Constraint::Fill(2),
                Constraint::Length(22),
            ],
            len: self.configs.len(),
            state: self.list,
            empty: self.load.empty_text("configs"),
        };
        table.render(frame, area, theme, |i| {
            let c = &self.configs[i];
            let value = if c.sensitive {
                "(sensitive)".to_string()
            } else {
                c.value.clone().unwrap_or_else(|| "null".into())
            };
            let style = if c.is_default() {
                theme.dim()
            } else {
                theme.header()
            };
            Row::new(vec![
                Cell::from(c.name.clone()),
                Cell::from(value),
                Cell::from(c.source.clone()),
            ])
            .style(style)
        });
    }

    fn render_groups(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let table = TableView {
            title: format!(" Groups reading {} ", self.name),
            headers: &["GROUP", "LAG"],
            widths: &[Constraint::Fill(1), Constraint::Length(12)],
            len: self.detail.groups.len(),
            state: self.list,
            empty: self.load.empty_text("groups reading this topic"),
        };
        table.render(frame, area, theme, |i| {
            let (g, lag) = &self.detail.groups[i];
            Row::new(vec![Cell::from(g.clone()), Cell::from(or_dash(*lag))])
        });
    }
}

impl View for TopicView {
    fn title(&self) -> String {
        self.name.clone()
    }
    fn scope(&self) -> Scope {
        Scope::Topic
    }
    fn route(&self) -> Route {
        Route::Topic(self.name.clone())
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let [tabs, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        frame.render_widget(Paragraph::new(self.tabs_line(theme)), tabs);
        match self.tab {
            Tab::Partitions => self.render_partitions(frame, body, theme),
            Tab::Configs => self.render_configs(frame, body, theme),
            Tab::Groups => self.render_groups(frame, body, theme),
        }
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Topic, key) else {
            return Action::None;
        };
        let height = ctx.height.saturating_sub(1);
        if self.list.apply(command, self.len(), height) {
            return Action::None;
        }
        let name = self.name.clone();
        match command {
            Command::NextTab => {
                let i = TABS.iter().position(|(t, _)| *t == self.tab).unwrap_or(0);
                self.tab = TABS[(i + 1) % TABS.len()].0;
                self.list = ListState::default();
                Action::None
            }
            Command::Open if self.tab == Tab::Groups => self
                .detail
                .groups
                .get(self.list.selected)
                .map_or(Action::None, |(g, _)| Action::Open(Route::Group(g.clone()))),
            Command::EditConfig => {
                let (name_c, value) = match (self.tab, self.configs.get(self.list.selected)) {
                    (Tab::Configs, Some(c)) => {
                        (c.name.clone(), c.value.clone().unwrap_or_default())
                    }
                    _ => (String::new(), String::new()),
                };
                Action::Dialog(DialogKind::AlterConfig {
                    topic: name,
                    name: name_c,
                    value,
                })
            }
            Command::AddPartitions => Action::Dialog(DialogKind::AddPartitions {
                topic: name,
                current: self.detail.partitions.len(),
            }),
            Command::Elect => match self.selected_partition() {
                Some(p) => Action::Dialog(DialogKind::Elect(ElectionScope::Partition(name, p.id))),
                None => Action::Dialog(DialogKind::Elect(ElectionScope::Topic(name))),
            },
            Command::Reassign => match self.selected_partition() {
                Some(p) => Action::Dialog(DialogKind::Reassign {
                    topic: name,
                    partition: p.id,
                    replicas: p.replicas.clone(),
                    brokers: self.brokers.clone(),
                }),
                None => Action::Status("choose a partition on the Partitions tab".into()),
            },
            Command::Delete => Action::Dialog(DialogKind::DeleteTopic(name)),
            Command::Tail => Action::Open(Route::Tail(name, TailStart::End)),
            Command::Produce => Action::Open(Route::Produce(name)),
            _ => Action::None,
        }
    }

    fn update(&mut self, update: &Update, height: usize) {
        if let Update::Cluster(snapshot, _) = update {
            self.brokers = snapshot
                .brokers
                .iter()
                .filter(|b| !b.fenced)
                .map(|b| b.id)
                .collect();
        }
        if let Update::Topic(detail, _) = update {
            if detail.name != self.name {
                return;
            }
            self.detail = detail.clone();
            let mut configs = detail.configs.clone();
            configs.sort_by(|a, b| {
                a.is_default()
                    .cmp(&b.is_default())
                    .then_with(|| a.name.cmp(&b.name))
            });
            self.configs = configs;
            self.load = LoadState::Loaded;
            self.list.follow(self.len(), height.saturating_sub(1));
        }
        if let Update::Failed { subject, error } = update {
            if *subject == Subject::Topic(self.name.clone()) {
                self.load = LoadState::Error(error.clone());
            }
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Topic(self.name.clone())]
    }

    fn click(&mut self, row: usize, _height: usize) {
        let Some(row) = row.checked_sub(3) else {
            return;
        };
        self.list.click(row, self.len());
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.list
            .scroll(delta, self.len(), height.saturating_sub(1));
    }
}

/// Replicas as `1,2,(3)`: those out of the ISR in brackets.
fn replicas_marked(replicas: &[i32], isr: &[i32]) -> String {
    let parts: Vec<String> = replicas
        .iter()
        .map(|r| {
            if isr.contains(r) {
                r.to_string()
            } else {
                format!("({r})")
            }
        })
        .collect();
    parts.join(",")
}
