//! The Group screen: per topic-partition committed offset, end offset, lag, the last stable
//! offset where an open transaction holds it below the end (a read_committed member reads no
//! further), member, client id and host; the total lag over the session as a sparkline,
//! and the rate at which it grows or shrinks (over the last samples).

use std::collections::VecDeque;
use std::time::SystemTime;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline};
use ratatui::Frame;

use super::{Ctx, LoadState, View};
use crate::tui::action::{Action, DialogKind, Request, Route};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{or_dash, GroupDetail};
use crate::tui::theme::Theme;
use crate::tui::widgets::bars;
use crate::tui::widgets::table::{ListState, TableView};

/// Lag samples kept for the sparkline (one per refresh: 10 minutes at 2 s).
pub const LAG_SAMPLES_MAX: usize = 300;
/// Samples the rate is measured over.
const RATE_SAMPLES: usize = 10;

/// The Group screen.
#[derive(Debug)]
pub struct GroupView {
    id: String,
    detail: Option<GroupDetail>,
    /// (time of the sample, total lag), oldest first.
    history: VecDeque<(SystemTime, i64)>,
    list: ListState,
    load: LoadState,
}

impl GroupView {
    pub fn new(id: &str) -> GroupView {
        GroupView {
            id: id.to_string(),
            detail: None,
            history: VecDeque::new(),
            list: ListState::default(),
            load: LoadState::Loading,
        }
    }

    /// Lag change per second over the last samples; `None` with fewer than two.
    pub fn rate(&self) -> Option<f64> {
        let skip = self.history.len().saturating_sub(RATE_SAMPLES);
        let first = self.history.get(skip)?;
        let last = self.history.back()?;
        let secs = last.0.duration_since(first.0).ok()?.as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        Some((last.1 - first.1) as f64 / secs)
    }

    fn rows_len(&self) -> usize {
        self.detail.as_ref().map_or(0, |d| d.partitions.len())
    }

    fn summary(&self, theme: Theme) -> Line<'static> {
        let Some(d) = &self.detail else {
            return Line::styled(self.load.empty_text("group"), theme.dim());
        };
        let rate = self
            .rate()
            .map_or_else(|| "-".into(), |r| format!("{r:+.1}/s"));
        bars::pairs(
            &[
                ("state", d.state.clone(), theme.header()),
                ("members", d.members.to_string(), theme.header()),
                ("protocol", d.protocol.clone(), theme.header()),
                ("total lag", d.total_lag().to_string(), theme.warn()),
                ("rate", rate, theme.header()),
            ],
            theme,
        )
    }
}

impl View for GroupView {
    fn title(&self) -> String {
        self.id.clone()
    }
    fn scope(&self) -> Scope {
        Scope::Group
    }
    fn route(&self) -> Route {
        Route::Group(self.id.clone())
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let [summary, spark, table_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Fill(1),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.summary(theme)), summary);
        let width = usize::from(spark.width);
        let skip = self.history.len().saturating_sub(width);
        let data: Vec<u64> = self
            .history
            .iter()
            .skip(skip)
            .map(|(_, lag)| u64::try_from(*lag).unwrap_or(0))
            .collect();
        frame.render_widget(Sparkline::default().data(&data).style(theme.warn()), spark);
        let detail = self.detail.as_ref();
        let table = TableView {
            title: format!(" Partitions of {} ", self.id),
            headers: &[
                "TOPIC",
                "PART",
                "COMMITTED",
                "END",
                "LAG",
                "LSO",
                "MEMBER",
                "CLIENT",
                "HOST",
            ],
            widths: &[
                Constraint::Min(12),
                Constraint::Length(4),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(10),
                Constraint::Fill(2),
                Constraint::Fill(1),
                Constraint::Fill(1),
            ],
            len: self.rows_len(),
            state: self.list,
            empty: self.load.empty_text("committed offsets"),
        };
        table.render(frame, table_area, theme, |i| {
            let Some(p) = detail.and_then(|d| d.partitions.get(i)) else {
                return Row::new(Vec::<Cell>::new());
            };
            let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            // Blank where it is the end: only a held-back LSO is worth a reader's eye.
            let lso = match p.lso {
                Some(lso) if Some(lso) != p.end => Cell::from(lso.to_string()).style(theme.warn()),
                _ => Cell::from(""),
            };
            Row::new(vec![
                Cell::from(p.topic.clone()),
                Cell::from(p.partition.to_string()),
                Cell::from(or_dash(p.committed)),
                Cell::from(or_dash(p.end)),
                Cell::from(or_dash(p.lag)),
                lso,
                Cell::from(dash(&p.member)),
                Cell::from(dash(&p.client)),
                Cell::from(dash(&p.host)),
            ])
        });
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Group, key) else {
            return Action::None;
        };
        if self.list.apply(command, self.rows_len(), ctx.height) {
            return Action::None;
        }
        match command {
            Command::ResetOffsets => {
                let mut topics: Vec<String> = self
                    .detail
                    .iter()
                    .flat_map(|d| d.partitions.iter().map(|p| p.topic.clone()))
                    .collect();
                topics.dedup();
                Action::Dialog(DialogKind::ResetOffsets {
                    group: self.id.clone(),
                    topics,
                })
            }
            Command::Delete => Action::Dialog(DialogKind::DeleteGroup(self.id.clone())),
            _ => Action::None,
        }
    }

    fn update(&mut self, update: &Update, height: usize) {
        if let Update::Failed { subject, error } = update {
            if *subject == Subject::Group(self.id.clone()) {
                self.load = super::LoadState::Error(error.clone());
            }
        }
        if let Update::Group(detail, at) = update {
            if detail.id != self.id {
                return;
            }
            self.history.push_back((*at, detail.total_lag()));
            while self.history.len() > LAG_SAMPLES_MAX {
                let _ = self.history.pop_front();
            }
            self.detail = Some(detail.clone());
            self.load = LoadState::Loaded;
            self.list.follow(self.rows_len(), height);
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Group(self.id.clone())]
    }

    fn click(&mut self, row: usize, _height: usize) {
        let Some(row) = row.checked_sub(6) else {
            return;
        };
        self.list.click(row, self.rows_len());
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.list.scroll(delta, self.rows_len(), height);
    }
}
