//! The Tail screen: live records of a topic (partition, offset, timestamp, key, value preview,
//! headers count), pause and resume, a filter (`filter`: text, a regex after `~`, or a
//! JSONPath filter on the value starting with `$`), a detail pane (pretty JSON, headers, hex for binary), a counter and a rate, and a
//! bounded buffer ([`TAIL_RECORDS_MAX`] records, oldest dropped and counted). `w` saves the
//! shown records as JSON lines. `i` switches between read_uncommitted and read_committed (the
//! tail starts again from its start; the header says which), and `c` shows or hides control
//! records (transaction markers), which are fetched always and drawn dimmed.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

mod filter;

use super::{Ctx, View};
use crate::client::isolation::{IsolationLevel, Marker};
use crate::client::tail::Reading;
use crate::tui::action::{Action, Request, Route, TailStart};
use crate::tui::event::Update;
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{TailRecord, TAIL_RECORDS_MAX};
use crate::tui::theme::Theme;
use crate::tui::widgets::bars;
use crate::tui::widgets::table::{ListState, TableView};
use filter::Filter;

/// Characters of a value shown in the table.
const PREVIEW_CHARS_MAX: usize = 160;

/// The Tail screen.
#[derive(Debug)]
pub struct TailView {
    topic: String,
    start: TailStart,
    isolation: IsolationLevel,
    /// Whether control records are shown (they are kept either way).
    show_control: bool,
    /// Each partition's offset after the newest record received, to resume from.
    next: BTreeMap<i32, i64>,
    records: VecDeque<TailRecord>,
    /// Sequence number of `records[0]` (records ever kept before it were dropped).
    first_seq: u64,
    /// Sequence numbers of the records the filter accepts, oldest first.
    shown: VecDeque<u64>,
    filter_text: String,
    filter: Filter,
    filter_error: Option<String>,
    seen: u64,
    dropped: u64,
    paused: bool,
    /// Keep the newest record selected as records arrive.
    follow: bool,
    detail: bool,
    list: ListState,
    rate: f64,
    rate_mark: Option<(Instant, u64)>,
    error: Option<String>,
}

impl TailView {
    pub fn new(topic: &str, start: TailStart) -> TailView {
        TailView::reading(topic, start, IsolationLevel::ReadUncommitted, false)
    }

    /// A Tail screen at `isolation`, control records shown or not.
    fn reading(
        topic: &str,
        start: TailStart,
        isolation: IsolationLevel,
        show_control: bool,
    ) -> TailView {
        TailView {
            topic: topic.to_string(),
            start,
            isolation,
            show_control,
            next: BTreeMap::new(),
            records: VecDeque::new(),
            first_seq: 0,
            shown: VecDeque::new(),
            filter_text: String::new(),
            filter: Filter::None,
            filter_error: None,
            seen: 0,
            dropped: 0,
            paused: false,
            follow: true,
            detail: false,
            list: ListState::default(),
            rate: 0.0,
            rate_mark: None,
            error: None,
        }
    }

    /// Records kept and the count dropped (for tests and benchmarks).
    pub fn counts(&self) -> (usize, u64, u64) {
        (self.records.len(), self.seen, self.dropped)
    }

    fn record(&self, shown_index: usize) -> Option<&TailRecord> {
        let seq = *self.shown.get(shown_index)?;
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.records.get(i)
    }

    /// Whether `r` is shown: the filter accepts it, and it is data or control records are shown.
    fn visible(&self, r: &TailRecord) -> bool {
        (self.show_control || !r.control) && self.filter.accepts(r)
    }

    /// What the tail asks the worker for: this screen's isolation, control records included.
    fn fetching(&self) -> Reading {
        Reading {
            isolation: self.isolation,
            control_records: true,
        }
    }

    /// Reads on at the other isolation level from where each partition has got to (`i`):
    /// what was shown stays, and only what comes next is read the new way.
    fn switch_isolation(&mut self) -> Action {
        self.isolation = self.isolation.toggled();
        Action::Run(Request::TailStart {
            topic: self.topic.clone(),
            start: self.start,
            resume: self.next.clone(),
            reading: self.fetching(),
        })
    }

    /// Starts this screen's tail again from its start, its buffer emptied (`b`).
    fn restart(&mut self, start: TailStart, isolation: IsolationLevel) -> Action {
        *self = TailView::reading(&self.topic, start, isolation, self.show_control);
        Action::Run(Request::TailStart {
            topic: self.topic.clone(),
            start,
            resume: BTreeMap::new(),
            reading: self.fetching(),
        })
    }

    /// Appends records, dropping the oldest beyond the bound; control records are kept but
    /// not counted as seen.
    pub fn push(&mut self, records: Vec<TailRecord>, dropped_upstream: u64, height: usize) {
        let data = records.iter().filter(|r| !r.control).count();
        self.seen += data as u64 + dropped_upstream;
        self.dropped += dropped_upstream;
        for r in records {
            let next = self.next.entry(r.partition).or_insert(0);
            *next = (*next).max(r.offset + 1);
            let seq = self.first_seq + self.records.len() as u64;
            if self.visible(&r) {
                self.shown.push_back(seq);
            }
            self.records.push_back(r);
        }
        let excess = self.records.len().saturating_sub(TAIL_RECORDS_MAX);
        if excess > 0 {
            let _ = self.records.drain(..excess);
            self.first_seq += excess as u64;
            self.dropped += excess as u64;
            let mut gone = 0;
            while self.shown.front().is_some_and(|s| *s < self.first_seq) {
                let _ = self.shown.pop_front();
                gone += 1;
            }
            self.list.selected = self.list.selected.saturating_sub(gone);
            self.list.offset = self.list.offset.saturating_sub(gone);
        }
        if self.follow {
            self.list.selected = self.shown.len().saturating_sub(1);
        }
        self.list.follow(self.shown.len(), height);
    }

    fn refilter(&mut self, height: usize) {
        self.shown = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| self.visible(r))
            .map(|(i, _)| self.first_seq + i as u64)
            .collect();
        self.list.selected = self.shown.len().saturating_sub(1);
        self.follow = true;
        self.list.follow(self.shown.len(), height);
    }

    fn save(&self) -> Action {
        let topic = self.topic.split(':').next().unwrap_or(&self.topic);
        let lines: Vec<String> = (0..self.shown.len())
            .filter_map(|i| self.record(i))
            .map(|r| record_json(topic, r).to_string())
            .collect();
        let stamp = crate::client::produce::now_ms();
        Action::Run(Request::Save {
            file: format!("ktui-tail-{topic}-{stamp}.jsonl"),
            lines,
        })
    }

    fn status_line(&self, theme: Theme) -> Line<'static> {
        let state = if self.paused { "PAUSED" } else { "live" };
        let filter = match (&self.filter_error, self.filter_text.is_empty()) {
            (Some(e), _) => e.clone(),
            (None, true) => "-".into(),
            (None, false) => self.filter_text.clone(),
        };
        bars::pairs(
            &[
                (
                    "",
                    state.to_string(),
                    if self.paused {
                        theme.warn()
                    } else {
                        theme.ok()
                    },
                ),
                ("seen", self.seen.to_string(), theme.header()),
                ("rate", format!("{:.0}/s", self.rate), theme.header()),
                (
                    "kept",
                    format!("{}/{}", self.records.len(), TAIL_RECORDS_MAX),
                    theme.header(),
                ),
                ("dropped", self.dropped.to_string(), theme.header()),
                ("shown", self.shown.len().to_string(), theme.header()),
                ("filter", filter, theme.header()),
            ],
            theme,
        )
    }

    fn render_table(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let empty = match &self.error {
            Some(e) => format!("error: {e}"),
            None => format!("waiting for records ({})…", start_text(self.start)),
        };
        let control = if self.show_control {
            "control records shown"
        } else {
            "control records hidden"
        };
        let table = TableView {
            title: format!(" Tail {}  {}  {control} ", self.topic, self.isolation),
            headers: &["PART", "OFFSET", "TIMESTAMP", "KEY", "VALUE", "HDRS"],
            widths: &[
                Constraint::Length(4),
                Constraint::Length(9),
                Constraint::Length(24),
                Constraint::Length(14),
                Constraint::Min(20),
                Constraint::Length(4),
            ],
            len: self.shown.len(),
            state: self.list,
            empty,
        };
        table.render(frame, area, theme, |i| {
            let Some(r) = self.record(i) else {
                return Row::new(Vec::<Cell>::new());
            };
            if r.control {
                return Row::new(vec![
                    Cell::from(r.partition.to_string()),
                    Cell::from(r.offset.to_string()),
                    Cell::from(timestamp_text(r.timestamp)),
                    Cell::from("-"),
                    Cell::from(control_text(r)),
                    Cell::from("-"),
                ])
                .style(theme.dim());
            }
            Row::new(vec![
                Cell::from(r.partition.to_string()),
                Cell::from(r.offset.to_string()),
                Cell::from(timestamp_text(r.timestamp)),
                Cell::from(preview(r.key.as_deref())),
                Cell::from(preview(r.value.as_deref())),
                Cell::from(r.headers.len().to_string()),
            ])
        });
    }
}

/// What a control record says: `COMMIT marker (control record)`.
pub fn control_text(r: &TailRecord) -> String {
    let marker = r.key.as_deref().and_then(Marker::of_key);
    format!(
        "{} marker (control record)",
        marker.map_or("unknown", Marker::as_str)
    )
}

/// The record as one JSON object (the saved file's lines); a control record says so.
pub fn record_json(topic: &str, r: &TailRecord) -> serde_json::Value {
    let text = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    let headers: serde_json::Map<String, serde_json::Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), text(v).into()))
        .collect();
    let mut json = serde_json::json!({
        "topic": topic, "partition": r.partition, "offset": r.offset,
        "timestamp": r.timestamp, "key": text(&r.key), "value": text(&r.value),
        "headers": headers,
    });
    if r.control {
        json["control"] = control_text(r).into();
    }
    json
}

fn start_text(start: TailStart) -> String {
    match start {
        TailStart::End => "from the end".into(),
        TailStart::Beginning => "from the beginning".into(),
        TailStart::Offset(o) => format!("from offset {o}"),
        TailStart::Timestamp(t) => format!("from {}", timestamp_text(t)),
    }
}

/// A record timestamp as RFC 3339 with milliseconds, UTC.
pub fn timestamp_text(ms: i64) -> String {
    let Ok(ms) = u64::try_from(ms) else {
        return "-".into();
    };
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(at).to_string()
}

/// A one-line preview: text with control characters shown as spaces, or `<N bytes>`.
pub fn preview(bytes: Option<&[u8]>) -> String {
    let Some(bytes) = bytes else {
        return "null".into();
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => text
            .chars()
            .take(PREVIEW_CHARS_MAX)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
        Err(_) => format!("<{} bytes binary>", bytes.len()),
    }
}

/// The detail pane's text: value (pretty JSON, text, or hex), key, headers.
pub fn detail_text(r: &TailRecord) -> String {
    let mut out = format!(
        "partition {}  offset {}  timestamp {}\n",
        r.partition,
        r.offset,
        timestamp_text(r.timestamp)
    );
    if r.control {
        out.push_str(&format!(
            "{}: a transaction's end, not data\n",
            control_text(r)
        ));
    }
    out.push_str(&format!("key: {}\n", preview(r.key.as_deref())));
    for (k, v) in &r.headers {
        out.push_str(&format!("header {k}: {}\n", preview(v.as_deref())));
    }
    let value = r.value.as_deref().unwrap_or_default();
    if value.len() < r.value_len {
        out.push_str(&format!(
            "value ({} bytes, first {} kept):\n",
            r.value_len,
            value.len()
        ));
    } else {
        out.push_str(&format!("value ({} bytes):\n", r.value_len));
    }
    match (
        serde_json::from_slice::<serde_json::Value>(value),
        std::str::from_utf8(value),
    ) {
        (Ok(json), _) => out.push_str(&serde_json::to_string_pretty(&json).unwrap_or_default()),
        (Err(_), Ok(text)) => out.push_str(text),
        (Err(_), Err(_)) => out.push_str(&hex_dump(value)),
    }
    out
}

/// 16 bytes per line: offset, hex, printable ASCII.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!("{:08x}  {:<47}  {ascii}\n", i * 16, hex.join(" ")));
    }
    out
}

impl View for TailView {
    fn title(&self) -> String {
        format!("Tail {}", self.topic)
    }
    fn scope(&self) -> Scope {
        Scope::Tail
    }
    fn route(&self) -> Route {
        Route::Tail(self.topic.clone(), self.start)
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let detail_height = if self.detail { area.height / 2 } else { 0 };
        let [status, table, detail] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(detail_height),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.status_line(theme)), status);
        self.render_table(frame, table, theme);
        if self.detail {
            let text = self
                .record(self.list.selected)
                .map_or_else(|| "no record selected".into(), detail_text);
            let block = Block::new()
                .borders(Borders::TOP)
                .border_style(theme.border())
                .title(Line::styled(" Record ", theme.title()));
            frame.render_widget(
                Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
                detail,
            );
        }
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Tail, key) else {
            return Action::None;
        };
        let height = ctx.height.saturating_sub(1);
        if self.list.apply(command, self.shown.len(), height) {
            self.follow = self.list.selected + 1 >= self.shown.len();
            return Action::None;
        }
        match command {
            Command::Open => {
                self.detail = !self.detail;
                Action::None
            }
            Command::Pause => {
                self.paused = !self.paused;
                Action::Run(Request::TailPause(self.paused))
            }
            Command::Save => self.save(),
            Command::FromBeginning => self.restart(TailStart::Beginning, self.isolation),
            Command::Isolation => self.switch_isolation(),
            Command::ControlRecords => {
                self.show_control = !self.show_control;
                self.refilter(height);
                Action::None
            }
            _ => Action::None,
        }
    }

    fn update(&mut self, update: &Update, height: usize) {
        match update {
            Update::TailRecords {
                records, dropped, ..
            } => {
                self.push(records.clone(), *dropped, height.saturating_sub(1));
            }
            Update::TailError(e) => self.error = Some(e.clone()),
            _ => {}
        }
    }

    fn start(&self) -> Vec<Request> {
        vec![Request::TailStart {
            topic: self.topic.clone(),
            start: self.start,
            resume: self.next.clone(),
            reading: self.fetching(),
        }]
    }

    fn refresh(&self) -> Vec<Request> {
        Vec::new()
    }

    fn close(&self) -> Vec<Request> {
        vec![Request::TailStop]
    }

    fn filter(&self) -> &str {
        &self.filter_text
    }

    fn set_filter(&mut self, filter: &str, height: usize) {
        filter.clone_into(&mut self.filter_text);
        match Filter::parse(filter) {
            Ok(f) => {
                self.filter = f;
                self.filter_error = None;
            }
            Err(e) => self.filter_error = Some(e),
        }
        self.refilter(height.saturating_sub(1));
    }

    fn click(&mut self, row: usize, _height: usize) {
        if let Some(row) = row.checked_sub(3) {
            self.list.click(row, self.shown.len());
            self.follow = false;
        }
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        self.list
            .scroll(delta, self.shown.len(), height.saturating_sub(1));
        self.follow = self.list.selected + 1 >= self.shown.len();
    }

    fn tick(&mut self, now: Instant) {
        if let Some((at, seen)) = self.rate_mark {
            let secs = now.duration_since(at).as_secs_f64();
            if secs > 0.0 {
                #[allow(clippy::cast_precision_loss)]
                let delta = (self.seen - seen) as f64;
                self.rate = delta / secs;
            }
        }
        self.rate_mark = Some((now, self.seen));
    }
}
