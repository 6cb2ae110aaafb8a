//! The Transactions screen (`:transactions`): every transactional id the brokers list, as its
//! coordinator describes it: state, producer id and epoch, partitions written, how long the
//! open transaction has been open and its timeout; longest open first. A transaction open
//! longer than its timeout (the coordinator should have aborted it) is marked `!` and red.
//! `enter` shows the selected one's partitions below; `a` aborts it on each of them after a
//! confirmation (KIP-664: an ABORT marker at each partition's leader, which is how a hanging
//! transaction is cleared).

use std::borrow::Cow;
use std::cmp::Ordering;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

use super::{matches, Ctx, LoadState, View};
use crate::tui::action::{Action, DialogKind, Request, Route, TxnAbort};
use crate::tui::event::{Subject, Update};
use crate::tui::keymap::{self, Command, Scope};
use crate::tui::model::{duration_ms, TransactionRow};
use crate::tui::theme::Theme;
use crate::tui::widgets::row_list::{ListRow, RowList};
use crate::tui::widgets::table::TableView;

/// How long a transaction has been open comes early: a narrow terminal leaves trailing
/// columns out.
const HEADERS: [&str; 8] = [
    "TRANSACTIONAL ID",
    "STATE",
    "OPEN FOR",
    "TIMEOUT",
    "PRODUCER",
    "EPOCH",
    "PARTS",
    "COORD",
];
/// The default sort: longest open first.
const SORT_OPEN: usize = 2;
/// Lines of the detail pane (border included).
const DETAIL_PANE: u16 = 5;
/// The mark of a transaction open past its timeout (seen without colour, and in snapshots).
const OVERDUE_MARK: &str = "!";

/// The Transactions screen.
#[derive(Debug)]
pub struct TransactionsView {
    rows: RowList<TransactionRow>,
    load: LoadState,
    /// Whether the selected transaction's detail pane is shown (`enter`).
    detail: bool,
}

impl Default for TransactionsView {
    fn default() -> Self {
        TransactionsView {
            rows: RowList::new(HEADERS.len(), SORT_OPEN),
            load: LoadState::Loading,
            detail: false,
        }
    }
}

impl TransactionsView {
    pub fn new() -> TransactionsView {
        TransactionsView::default()
    }

    /// The abort the selected row asks for, or why there is none.
    fn abort(&self) -> Action {
        let Some(r) = self.rows.selected() else {
            return Action::None;
        };
        if r.open_ms.is_none() || r.partitions.is_empty() {
            return Action::Status(format!(
                "{} has no open transaction on any partition ({}); for a partition's hanging one use `ktui producers describe` and `ktui transactions abort`",
                r.id, r.state
            ));
        }
        Action::Dialog(DialogKind::AbortTransaction(TxnAbort {
            id: r.id.clone(),
            producer_id: r.producer_id,
            partitions: r.partitions.clone(),
        }))
    }

    fn render_detail(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let Some(r) = self.rows.selected() else {
            return;
        };
        let block = Block::new()
            .borders(Borders::TOP)
            .border_style(theme.border())
            .title(Line::styled(
                format!(" Transaction {} ", r.id),
                theme.title(),
            ));
        let mut lines = Vec::new();
        if let Some(e) = &r.error {
            lines.push(Line::styled(format!("not described: {e}"), theme.error()));
        }
        if r.is_overdue() {
            lines.push(Line::styled(
                "open past its timeout: the coordinator should have aborted it (a: abort it)",
                theme.error(),
            ));
        }
        let partitions: Vec<String> = r
            .partitions
            .iter()
            .map(|(t, p)| format!("{t}-{p}"))
            .collect();
        lines.push(Line::raw(format!(
            "partitions ({}): {}",
            partitions.len(),
            if partitions.is_empty() {
                "-".to_string()
            } else {
                partitions.join(", ")
            }
        )));
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }
}

fn all(_: &TransactionRow) -> bool {
    true
}

impl ListRow for TransactionRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }

    fn matches(&self, needle: &str) -> bool {
        matches(&self.id, needle)
            || matches(&self.state, needle)
            || matches(&self.producer_id.to_string(), needle)
            || self.partitions.iter().any(|(t, _)| matches(t, needle))
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            1 => self.state.cmp(&other.state),
            SORT_OPEN => self.open_ms.cmp(&other.open_ms).reverse(),
            3 => self.timeout_ms.cmp(&other.timeout_ms),
            4 => self.producer_id.cmp(&other.producer_id),
            5 => self.producer_epoch.cmp(&other.producer_epoch),
            6 => self.partitions.len().cmp(&other.partitions.len()).reverse(),
            7 => self.coordinator.cmp(&other.coordinator),
            _ => Ordering::Equal,
        }
    }
}

/// The table's cells for `r`.
fn cells(r: &TransactionRow, theme: Theme) -> Vec<Cell<'static>> {
    let overdue = r.is_overdue();
    let (mark, style) = if overdue {
        (OVERDUE_MARK, theme.error())
    } else {
        (" ", Style::new())
    };
    let epoch = if r.producer_epoch < 0 {
        "-".to_string()
    } else {
        r.producer_epoch.to_string()
    };
    vec![
        Cell::from(format!("{mark}{}", r.id)).style(style),
        Cell::from(r.state.clone()),
        Cell::from(r.open_ms.map_or_else(|| "-".to_string(), duration_ms)).style(style),
        Cell::from(duration_ms(i64::from(r.timeout_ms))),
        Cell::from(r.producer_id.to_string()),
        Cell::from(epoch),
        Cell::from(r.partitions.len().to_string()),
        Cell::from(r.coordinator.to_string()),
    ]
}

impl View for TransactionsView {
    fn title(&self) -> String {
        "Transactions".into()
    }
    fn scope(&self) -> Scope {
        Scope::Transactions
    }
    fn route(&self) -> Route {
        Route::Transactions
    }

    fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let pane = if self.detail { DETAIL_PANE } else { 0 };
        let [table_area, detail_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(pane)]).areas(area);
        let overdue = self.rows.rows().iter().filter(|r| r.is_overdue()).count();
        let table = TableView {
            title: format!(
                " Transactions {}, {overdue} past their timeout ",
                self.rows.caption(&HEADERS)
            ),
            headers: &HEADERS,
            widths: &[
                Constraint::Min(18),
                Constraint::Length(17),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(8),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(5),
            ],
            len: self.rows.len(),
            state: self.rows.list,
            empty: self.load.empty_text("transactional ids"),
        };
        table.render(frame, table_area, theme, |i| {
            Row::new(cells(self.rows.shown(i), theme))
        });
        if self.detail {
            self.render_detail(frame, detail_area, theme);
        }
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Action {
        let Some(command) = keymap::lookup(Scope::Transactions, key) else {
            return Action::None;
        };
        let height = self.table_height(ctx.height);
        if self.rows.apply(command, height) {
            return Action::None;
        }
        match command {
            Command::Sort => self.rows.next_sort(all, height),
            Command::Reverse => self.rows.toggle_reverse(all, height),
            Command::Open => self.detail = !self.detail,
            Command::Abort => return self.abort(),
            _ => {}
        }
        Action::None
    }

    fn update(&mut self, update: &Update, height: usize) {
        match update {
            Update::Transactions(rows, _) => {
                let height = self.table_height(height);
                self.rows.set_rows(rows.clone(), all, height);
                self.load = LoadState::Loaded;
            }
            Update::Failed { subject, error } if *subject == Subject::Transactions => {
                self.load = LoadState::Error(error.clone());
            }
            _ => {}
        }
    }

    fn refresh(&self) -> Vec<Request> {
        vec![Request::Transactions]
    }

    fn filter(&self) -> &str {
        self.rows.filter()
    }

    fn set_filter(&mut self, filter: &str, height: usize) {
        let height = self.table_height(height);
        self.rows.set_filter(filter, all, height);
    }

    fn click(&mut self, row: usize, height: usize) {
        let height = self.table_height(height);
        self.rows.click(row, height);
    }

    fn scroll(&mut self, delta: isize, height: usize) {
        let height = self.table_height(height);
        self.rows.scroll(delta, height);
    }
}

impl TransactionsView {
    /// Data rows the table shows in a body of `height` data rows, the detail pane taken out.
    fn table_height(&self, height: usize) -> usize {
        if self.detail {
            height.saturating_sub(usize::from(DETAIL_PANE))
        } else {
            height
        }
    }
}
