//! A table that draws only the rows on screen (30,000 partitions cost what 30 do), with its
//! selection and scroll offset, moved by keymap commands and mouse clicks.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;

use crate::tui::keymap::Command;
use crate::tui::theme::Theme;

/// Rows taken by the border and the column header above the first data row.
pub const ROWS_ABOVE_DATA: u16 = 2;

/// Spaces between columns.
const COLUMN_SPACING: u16 = 2;

/// How many leading columns fit in `width` at their least widths (a `Fill` needs none): the
/// rest are left out on a narrow terminal, rather than squeezing every column (which also
/// lets the layout solver pick among equal-cost squeezes, so frames were not reproducible).
pub fn columns_that_fit(widths: &[Constraint], width: u16) -> usize {
    let mut used: u32 = 0;
    for (i, c) in widths.iter().enumerate() {
        let least = match c {
            Constraint::Length(n) | Constraint::Min(n) => u32::from(*n),
            Constraint::Max(_) | Constraint::Fill(_) | Constraint::Percentage(_) => 0,
            Constraint::Ratio(..) => 0,
        };
        let spacing = if i == 0 { 0 } else { u32::from(COLUMN_SPACING) };
        used += least + spacing;
        if used > u32::from(width) {
            return i.max(1);
        }
    }
    widths.len()
}

/// Selection and scroll position of a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
}

/// Data rows a table in `area` shows.
pub fn data_height(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(ROWS_ABOVE_DATA + 1))
}

impl ListState {
    /// Applies a movement command; returns whether it was one.
    pub fn apply(&mut self, command: Command, len: usize, height: usize) -> bool {
        let last = len.saturating_sub(1);
        let page = height.max(1);
        self.selected = match command {
            Command::Up => self.selected.saturating_sub(1),
            Command::Down => (self.selected + 1).min(last),
            Command::Top => 0,
            Command::Bottom => last,
            Command::PageUp => self.selected.saturating_sub(page),
            Command::PageDown => (self.selected + page).min(last),
            _ => return false,
        };
        self.follow(len, height);
        true
    }

    /// Keeps the selection inside `len` rows and on screen.
    pub fn follow(&mut self, len: usize, height: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        self.offset = window_start(self.selected, self.offset, height);
    }

    /// Selects the data row at `row` on screen (0 = first data row), if there is one.
    pub fn click(&mut self, row: usize, len: usize) {
        let index = self.offset + row;
        if index < len {
            self.selected = index;
        }
    }

    /// Scrolls by `delta` rows (mouse wheel), moving the selection along.
    pub fn scroll(&mut self, delta: isize, len: usize, height: usize) {
        let next = self.selected.saturating_add_signed(delta);
        self.selected = next.min(len.saturating_sub(1));
        self.follow(len, height);
    }
}

/// The first row to show so that `selected` is on a screen of `height` rows.
pub fn window_start(selected: usize, offset: usize, height: usize) -> usize {
    let height = height.max(1);
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

/// One table to draw.
pub struct TableView<'a> {
    pub title: String,
    pub headers: &'a [&'a str],
    pub widths: &'a [Constraint],
    pub len: usize,
    pub state: ListState,
    /// Shown instead of rows when there are none (loading, empty, error).
    pub empty: String,
}

impl TableView<'_> {
    /// Draws the rows on screen; `row(i)` builds row `i` of the data.
    pub fn render<'r>(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: Theme,
        row: impl Fn(usize) -> Row<'r>,
    ) {
        let block = Block::new()
            .borders(Borders::TOP)
            .border_style(theme.border())
            .title(Line::styled(self.title.clone(), theme.title()));
        let height = data_height(area);
        if self.len == 0 {
            let inner = block.inner(area);
            frame.render_widget(block, area);
            let text = Paragraph::new(Line::styled(self.empty.clone(), theme.dim()));
            frame.render_widget(text, inner);
            return;
        }
        let start = window_start(self.state.selected, self.state.offset, height);
        let end = (start + height).min(self.len);
        let rows: Vec<Row> = (start..end)
            .map(|i| {
                let r = row(i);
                if i == self.state.selected {
                    r.style(theme.selected())
                } else {
                    r
                }
            })
            .collect();
        let shown = columns_that_fit(self.widths, area.width);
        let header =
            Row::new(self.headers.iter().take(shown).copied()).style(theme.column_header());
        let table = Table::new(rows, self.widths.iter().take(shown).copied())
            .header(header)
            .block(block)
            .column_spacing(COLUMN_SPACING);
        frame.render_widget(table, area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_past_the_width_are_left_out() {
        let widths = [
            Constraint::Min(10),
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Length(8),
        ];
        assert_eq!(columns_that_fit(&widths, 100), 4);
        assert_eq!(columns_that_fit(&widths, 29), 4, "10+2+5+2+0+2+8 = 29");
        assert_eq!(columns_that_fit(&widths, 28), 3);
        assert_eq!(columns_that_fit(&widths, 16), 1);
        assert_eq!(
            columns_that_fit(&widths, 3),
            1,
            "the first column always shows"
        );
    }
}
