//! The app: the stack of screens (breadcrumbs), the `:` and `/` line, the help overlay, an
//! open dialog, the header (cluster, bootstrap, controller, connection) and the status line.
//! It turns keys, mouse and data into state changes and collects the [`Request`]s the event
//! loop hands to background tasks; it never waits on anything itself.

use std::time::{Duration, Instant, SystemTime};

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::action::{Action, Request, Route};
use crate::tui::event::{ConnState, Event, Subject, Update};
use crate::tui::events::{EventLog, EVENTS_KEPT_MAX};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::clock;
use crate::tui::model::Health;
use crate::tui::theme::Theme;
use crate::tui::views::acls::AclsView;
use crate::tui::views::brokers::BrokersView;
use crate::tui::views::dialog::Dialog;
use crate::tui::views::events::EventsView;
use crate::tui::views::group::GroupView;
use crate::tui::views::groups::GroupsView;
use crate::tui::views::produce::ProduceView;
use crate::tui::views::tail::TailView;
use crate::tui::views::topic::TopicView;
use crate::tui::views::topics::TopicsView;
use crate::tui::views::transactions::TransactionsView;
use crate::tui::views::users::UsersView;
use crate::tui::views::{help, Ctx, View};
use crate::tui::widgets::bars;
use crate::tui::widgets::input::Input;
use crate::tui::widgets::table::data_height;

/// Rows the mouse wheel scrolls per notch.
const WHEEL_ROWS: isize = 3;

/// What the bottom line is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Typing a `:` command.
    Command(Input),
    /// Typing a `/` filter; the filter the screen had before, restored on esc.
    Filter(Input, String),
    Help,
}

/// Settings fixed for the app's life.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub bootstrap: String,
    pub read_only: bool,
    pub refresh: Duration,
    pub theme: Theme,
    /// Where the log file is (shown in help).
    pub log_path: String,
    /// A first status message (for example where the local broker runs).
    pub note: Option<String>,
    /// Whether the cluster is one `ktui local up -n` launched (its nodes can be stopped,
    /// killed and started from the Brokers screen).
    pub local_cluster: bool,
    /// A group's lag at or above this is an event.
    pub lag_threshold: i64,
}

/// The console's state.
pub struct App {
    views: Vec<Box<dyn View>>,
    pub mode: Mode,
    dialog: Option<Dialog>,
    options: AppOptions,
    size: Rect,
    conn: ConnState,
    cluster_id: Option<String>,
    controller: Option<i32>,
    health: Option<Health>,
    /// When the last cluster answer came. The answer itself is the event log's copy, handed
    /// to every screen that opens (no "loading" for data the app already has).
    last_cluster_at: Option<SystemTime>,
    /// Every broker address seen, by id.
    addresses: std::collections::BTreeMap<i32, String>,
    events: EventLog,
    status: Option<(String, bool)>,
    /// When data last arrived (display) and when (staleness).
    refreshed: Option<(SystemTime, Instant)>,
    /// The time between the last two answers of the same kind (the worker spaces out reads
    /// that take long, so a large cluster is refreshed less often than `--refresh`).
    data_gap: Duration,
    data_kind: Option<std::mem::Discriminant<Update>>,
    stale: bool,
    now: Instant,
    requests: Vec<Request>,
    quit: bool,
}

impl App {
    /// An app on the Topics screen, connecting.
    pub fn new(options: AppOptions, size: Rect, now: Instant) -> App {
        let status = options.note.clone().map(|n| (n, false));
        let events = EventLog::new(options.lag_threshold);
        let mut app = App {
            views: Vec::new(),
            mode: Mode::Normal,
            dialog: None,
            options,
            size,
            conn: ConnState::Connecting,
            cluster_id: None,
            controller: None,
            health: None,
            last_cluster_at: None,
            addresses: std::collections::BTreeMap::new(),
            events,
            status,
            refreshed: None,
            data_gap: Duration::ZERO,
            data_kind: None,
            stale: false,
            now,
            requests: Vec::new(),
            quit: false,
        };
        app.push(Route::Topics);
        app
    }

    /// Requests collected since the last call, for the background tasks.
    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.requests)
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The screen on top.
    pub fn top(&self) -> &dyn View {
        self.views
            .last()
            .map(AsRef::as_ref)
            .expect("the stack is never empty")
    }

    fn top_mut(&mut self) -> &mut Box<dyn View> {
        self.views.last_mut().expect("the stack is never empty")
    }

    /// The routes of the stack, bottom first (for tests).
    pub fn routes(&self) -> Vec<Route> {
        self.views.iter().map(|v| v.route()).collect()
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_ref().map(|(s, _)| s.as_str())
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            theme: self.options.theme,
            read_only: self.options.read_only,
            local_cluster: self.options.local_cluster,
            height: data_height(self.body()),
        }
    }

    /// The event log (for tests).
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The area screens draw in.
    pub fn body(&self) -> Rect {
        let banner = u16::from(matches!(self.conn, ConnState::Lost { .. }));
        let [_, body, _] = Layout::vertical([
            Constraint::Length(2 + banner),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(self.size);
        body
    }

    /// Applies one event.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Key(key) => self.key(&key),
            Event::Mouse(mouse) => self.mouse(&mouse),
            Event::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                let height = self.ctx().height;
                self.top_mut().scroll(0, height);
            }
            Event::Tick(now) => self.tick(now),
            Event::Refresh => self.refresh(),
            Event::Data(update) => {
                let update = self.with_known_addresses(update);
                self.data(&update);
            }
        }
    }

    /// The top screen's requests, plus the cluster and the groups, which the header and the
    /// event log follow whatever the screen (the worker never doubles a read in flight).
    fn refresh(&mut self) {
        let mut requests = self.top().refresh();
        if let Some(dialog) = &self.dialog {
            requests.extend(dialog.refresh());
        }
        for always in [Request::Cluster, Request::Groups] {
            if !requests.contains(&always) {
                requests.push(always);
            }
        }
        self.requests.extend(requests);
    }

    fn tick(&mut self, now: Instant) {
        self.now = now;
        self.top_mut().tick(now);
        let old = self.options.refresh.max(self.data_gap) * 3;
        self.stale = matches!(self.conn, ConnState::Lost { .. })
            || self
                .refreshed
                .is_some_and(|(_, at)| now.saturating_duration_since(at) > old);
    }

    fn key(&mut self, key: &KeyEvent) {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        if let Some(dialog) = &mut self.dialog {
            let action = dialog.handle_key(key);
            self.apply(action);
            return;
        }
        match &mut self.mode {
            Mode::Help => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Char('?' | 'q')) {
                    self.mode = Mode::Normal;
                }
            }
            Mode::Command(_) => self.command_key(key),
            Mode::Filter(..) => self.filter_key(key),
            Mode::Normal => self.normal_key(key),
        }
    }

    fn normal_key(&mut self, key: &KeyEvent) {
        if self.top().takes_text() {
            if key.code == KeyCode::Esc {
                self.apply(Action::Back);
            } else {
                let ctx = self.ctx();
                let action = self.top_mut().handle_key(key, &ctx);
                self.apply(action);
            }
            return;
        }
        let command = keymap::lookup(self.top().scope(), key);
        let action = match command {
            Some(Command::Quit) => Action::Quit,
            Some(Command::Back) => Action::Back,
            Some(Command::Help) => Action::Help,
            Some(Command::CommandMode) => Action::CommandMode,
            Some(Command::FilterMode) => Action::FilterMode,
            Some(Command::Refresh) => Action::Refresh,
            Some(c) if c.writes() && self.options.read_only => {
                Action::Status("read-only: this action is disabled (--read-only)".into())
            }
            _ => {
                let ctx = self.ctx();
                self.top_mut().handle_key(key, &ctx)
            }
        };
        self.apply(action);
    }

    fn command_key(&mut self, key: &KeyEvent) {
        let Mode::Command(input) = &mut self.mode else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                let line = input.text.clone();
                self.mode = Mode::Normal;
                match crate::tui::command::parse(&line, crate::client::produce::now_ms()) {
                    Ok(action) => self.apply(action),
                    Err(e) => self.set_status(e, true),
                }
            }
            _ => {
                let _ = input.handle_key(key);
            }
        }
    }

    fn filter_key(&mut self, key: &KeyEvent) {
        let Mode::Filter(input, previous) = &mut self.mode else {
            return;
        };
        let text = match key.code {
            KeyCode::Esc => {
                let previous = previous.clone();
                self.mode = Mode::Normal;
                previous
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                return;
            }
            _ => {
                if !input.handle_key(key) {
                    return;
                }
                input.text.clone()
            }
        };
        let height = self.ctx().height;
        self.top_mut().set_filter(&text, height);
    }

    fn mouse(&mut self, mouse: &MouseEvent) {
        if self.dialog.is_some() || self.mode != Mode::Normal {
            return;
        }
        let height = self.ctx().height;
        let body = self.body();
        match mouse.kind {
            MouseEventKind::ScrollUp => self.top_mut().scroll(-WHEEL_ROWS, height),
            MouseEventKind::ScrollDown => self.top_mut().scroll(WHEEL_ROWS, height),
            MouseEventKind::Down(MouseButton::Left)
                if mouse.row >= body.y && mouse.row < body.y + body.height =>
            {
                self.top_mut()
                    .click(usize::from(mouse.row - body.y), height);
            }
            _ => {}
        }
    }

    fn set_status(&mut self, text: String, error: bool) {
        self.status = Some((text, error));
    }

    /// Carries out an action of a screen, a dialog or a command.
    pub fn apply(&mut self, action: Action) {
        let read_only = self.options.read_only;
        match action {
            Action::None => {}
            Action::Quit => self.quit = true,
            Action::Open(Route::Produce(_)) | Action::Dialog(_) if read_only => {
                self.set_status(
                    "read-only: this action is disabled (--read-only)".into(),
                    true,
                );
            }
            Action::Run(request) if read_only && request.writes() => {
                self.set_status(
                    "read-only: this action is disabled (--read-only)".into(),
                    true,
                );
            }
            Action::Open(route) => self.push(route),
            Action::Root(route) => {
                while self.views.len() > 1 {
                    self.pop();
                }
                if self.top().route() != route {
                    self.pop();
                    self.push(route);
                } else {
                    self.refresh();
                }
            }
            Action::Back => {
                if self.views.len() > 1 {
                    self.pop();
                    if self.top().scope() == Scope::Events {
                        self.events.mark_seen();
                    }
                    if self.top().scope() == Scope::Tail {
                        // Its tail was replaced by the one just closed: start it again.
                        let requests = self.top().start();
                        self.requests.extend(requests);
                    }
                    self.refresh();
                }
            }
            Action::Run(request) => {
                if self.dialog.is_some() && !Dialog::stays_open_for(&request) {
                    self.dialog = None;
                }
                self.requests.push(request);
            }
            Action::Dialog(kind) => self.dialog = Some(Dialog::new(kind)),
            Action::CloseDialog => self.dialog = None,
            Action::Status(text) => self.set_status(text, false),
            Action::Help => self.mode = Mode::Help,
            Action::CommandMode => self.mode = Mode::Command(Input::default()),
            Action::FilterMode => {
                let current = self.top().filter().to_string();
                self.mode = Mode::Filter(Input::new(current.clone()), current);
            }
            Action::Refresh => self.refresh(),
        }
    }

    fn push(&mut self, route: Route) {
        let mut view: Box<dyn View> = match &route {
            Route::Topics => Box::new(TopicsView::new(false)),
            Route::UnhealthyTopics => Box::new(TopicsView::new(true)),
            Route::Events => {
                self.events.mark_seen();
                Box::new(EventsView::new(self.events.recent(EVENTS_KEPT_MAX)))
            }
            Route::Topic(t) => Box::new(TopicView::new(t)),
            Route::Brokers => Box::new(BrokersView::new()),
            Route::Groups => Box::new(GroupsView::new()),
            Route::Acls => Box::new(AclsView::new()),
            Route::Users => Box::new(UsersView::new()),
            Route::Transactions => Box::new(TransactionsView::new()),
            Route::Group(g) => Box::new(GroupView::new(g)),
            Route::Tail(t, start) => Box::new(TailView::new(t, *start)),
            Route::Produce(t) => Box::new(ProduceView::new(t)),
        };
        if let (Some(snapshot), Some(at)) = (self.events.last_cluster(), self.last_cluster_at) {
            let update = Update::Cluster(snapshot.clone(), at);
            view.update(&update, self.ctx().height);
        }
        self.requests.extend(view.start());
        self.views.push(view);
    }

    /// Removes the top screen (the stack may be empty until the caller pushes).
    fn pop(&mut self) {
        if let Some(view) = self.views.pop() {
            self.requests.extend(view.close());
        }
    }

    /// A cluster answer with the last known address of each broker Metadata no longer
    /// lists (fenced or gone), so its row still says where it ran; other updates as they are.
    fn with_known_addresses(&mut self, update: Update) -> Update {
        let Update::Cluster(mut snapshot, at) = update else {
            return update;
        };
        for b in &mut snapshot.brokers {
            if b.addr.is_empty() {
                if let Some(addr) = self.addresses.get(&b.id) {
                    b.addr.clone_from(addr);
                }
            } else {
                let _ = self.addresses.insert(b.id, b.addr.clone());
            }
        }
        Update::Cluster(snapshot, at)
    }

    fn data(&mut self, update: &Update) {
        match update {
            Update::Connection(state) => {
                let was_connected = self.conn == ConnState::Connected;
                self.conn = state.clone();
                if *state == ConnState::Connected && !was_connected {
                    self.refresh();
                }
            }
            Update::Cluster(snapshot, at) => {
                self.cluster_id.clone_from(&snapshot.cluster_id);
                self.controller = Some(snapshot.controller);
                self.health = Some(snapshot.health());
                self.last_cluster_at = Some(*at);
                let new = self.events.observe_cluster(snapshot, *at);
                self.forward_events(new);
            }
            Update::Groups(groups, at) => {
                let new = self.events.observe_groups(groups, *at);
                self.forward_events(new);
            }
            Update::Done {
                subject,
                note,
                error,
            } => {
                let what = note.clone().unwrap_or_else(|| subject.to_string());
                match error {
                    Some(e) => self.set_status(format!("{what} failed: {e}"), true),
                    None => self.set_status(format!("{what}: done"), false),
                }
                if error.is_none() {
                    self.after_write(subject);
                }
            }
            Update::Failed { subject, error } => {
                self.set_status(format!("{subject}: {error}"), true);
            }
            Update::TailError(e) => self.set_status(format!("tail: {e}"), true),
            _ => {}
        }
        if let Update::Cluster(_, at)
        | Update::Groups(_, at)
        | Update::Topic(_, at)
        | Update::Group(_, at)
        | Update::Acls(_, at)
        | Update::Users(_, at)
        | Update::Transactions(_, at) = update
        {
            let kind = std::mem::discriminant(update);
            match self.refreshed {
                Some((previous, _)) if self.data_kind == Some(kind) => {
                    self.data_gap = at.duration_since(previous).unwrap_or_default();
                }
                _ => self.data_gap = Duration::ZERO,
            }
            self.data_kind = Some(kind);
            self.refreshed = Some((*at, self.now));
            self.stale = false;
        }
        let height = self.ctx().height;
        if matches!(update, Update::TailRecords { .. } | Update::TailError(_)) {
            // One tail runs at a time: the newest Tail screen's.
            let tail = self
                .views
                .iter_mut()
                .rev()
                .find(|v| v.scope() == Scope::Tail);
            if let Some(view) = tail {
                view.update(update, height);
            }
        } else {
            for view in &mut self.views {
                view.update(update, height);
            }
        }
        if let Some(dialog) = &mut self.dialog {
            dialog.update(update);
        }
    }

    /// Hands the `new` newest events to the screens (an open Events screen shows them); the
    /// header counts them until the Events screen is on top.
    fn forward_events(&mut self, new: usize) {
        if new == 0 {
            return;
        }
        let update = Update::Events(self.events.recent(new));
        let height = self.ctx().height;
        for view in &mut self.views {
            view.update(&update, height);
        }
        if self.top().scope() == Scope::Events {
            self.events.mark_seen();
        }
    }

    /// After a successful write: leave a deleted resource's screen, refresh the top one.
    fn after_write(&mut self, subject: &Subject) {
        let gone = match subject {
            Subject::DeleteTopic(name) => Some(Route::Topic(name.clone())),
            Subject::DeleteGroup(name) => Some(Route::Group(name.clone())),
            _ => None,
        };
        if gone.is_some_and(|route| self.top().route() == route) {
            self.pop();
        }
        self.refresh();
    }

    /// Draws the whole screen.
    pub fn render(&self, frame: &mut Frame) {
        let area = frame.area();
        let banner = u16::from(matches!(self.conn, ConnState::Lost { .. }));
        let [header, crumbs, banner_area, body, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(banner),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let theme = self.options.theme;
        frame.render_widget(Paragraph::new(self.header_line()), header);
        let titles: Vec<String> = self.views.iter().map(|v| v.title()).collect();
        frame.render_widget(Paragraph::new(bars::breadcrumbs(&titles, theme)), crumbs);
        if let ConnState::Lost { error, retry_at } = &self.conn {
            let secs = retry_at.saturating_duration_since(self.now).as_secs();
            let text = format!(" connection lost, retrying in {secs}s: {error} ");
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme.banner())),
                banner_area,
            );
        }
        self.top().render(frame, body, theme);
        frame.render_widget(Paragraph::new(self.bottom_line()), bottom);
        if let Some(dialog) = &self.dialog {
            dialog.render(frame, body, theme);
        }
        if self.mode == Mode::Help {
            help::render(
                frame,
                body,
                self.top().scope(),
                self.options.read_only,
                &self.options.log_path,
                theme,
            );
        }
    }

    /// `ktui`, the cluster's health (brokers up, controller, unhealthy partitions, new
    /// events), the connection, then the cluster id and bootstrap (cut first on a narrow
    /// terminal).
    fn header_line(&self) -> Line<'static> {
        let theme = self.options.theme;
        let plain = theme.header();
        let (conn, conn_style) = match &self.conn {
            ConnState::Connecting => ("● connecting".to_string(), theme.warn()),
            ConnState::Connected => ("● connected".to_string(), theme.ok()),
            ConnState::Lost { .. } => ("● disconnected".to_string(), theme.error()),
        };
        let mut items = vec![("", "ktui".to_string(), theme.title())];
        if let Some(h) = self.health {
            let count = |n: usize, bad| (n.to_string(), if n > 0 { bad } else { plain });
            let brokers_style = if h.brokers_up < h.brokers {
                theme.error()
            } else {
                plain
            };
            items.push((
                "brokers",
                format!("{}/{}", h.brokers_up, h.brokers),
                brokers_style,
            ));
            let controller = self
                .controller
                .filter(|c| *c >= 0)
                .map_or_else(|| "-".into(), |c| c.to_string());
            items.push(("controller", controller, plain));
            let (urp, urp_style) = count(h.under_replicated, theme.warn());
            items.push(("urp", urp, urp_style));
            let (min, min_style) = count(h.under_min_isr, theme.alert());
            items.push(("<min-isr", min, min_style));
            let (offline, offline_style) = count(h.offline, theme.error());
            items.push(("offline", offline, offline_style));
        }
        let unseen = self.events.unseen();
        if unseen > 0 {
            items.push(("", format!("{unseen} new events (:events)"), theme.warn()));
        }
        items.push(("", conn, conn_style));
        if self.options.read_only {
            items.push(("", "READ-ONLY".to_string(), theme.warn()));
        }
        items.push((
            "cluster",
            self.cluster_id.clone().unwrap_or_else(|| "-".into()),
            plain,
        ));
        items.push(("bootstrap", self.options.bootstrap.clone(), plain));
        bars::pairs(&items, theme)
    }

    fn bottom_line(&self) -> Line<'static> {
        let theme = self.options.theme;
        match &self.mode {
            Mode::Command(input) => {
                return Line::from(vec![
                    Span::styled(":", theme.title()),
                    Span::raw(input.text.clone()),
                    Span::raw("▏"),
                ])
            }
            Mode::Filter(input, _) => {
                return Line::from(vec![
                    Span::styled("/", theme.title()),
                    Span::raw(input.text.clone()),
                    Span::raw("▏"),
                ])
            }
            Mode::Normal | Mode::Help => {}
        }
        let mut spans = Vec::new();
        match &self.status {
            Some((text, true)) => spans.push(Span::styled(text.clone(), theme.error())),
            Some((text, false)) => spans.push(Span::raw(text.clone())),
            None => spans.push(Span::styled(
                "?: help  :: command  /: filter  esc: back",
                theme.dim(),
            )),
        }
        let filter = self.top().filter();
        if !filter.is_empty() {
            spans.push(Span::styled(format!("  filter: {filter}"), theme.key()));
        }
        if let Some((at, _)) = self.refreshed {
            spans.push(Span::styled(
                format!("  refreshed {}", clock(at)),
                theme.dim(),
            ));
        }
        if self.stale {
            spans.push(Span::styled("  STALE", theme.warn()));
        }
        Line::from(spans)
    }
}
