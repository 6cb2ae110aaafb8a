//! The `?` overlay: the keys of the current screen and the global ones, generated from the
//! keymap (without the writing ones in `--read-only`), and where the log file is.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::dialog::centered;
use crate::tui::keymap::{self, Scope};
use crate::tui::theme::Theme;

/// Draws the help overlay for `scope`.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    scope: Scope,
    read_only: bool,
    log: &str,
    theme: Theme,
) {
    let bindings = keymap::help(scope, read_only);
    let mut lines: Vec<Line> = bindings
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("{:>14}  ", b.keys), theme.key()),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    if read_only {
        lines.push(Line::styled(
            "read-only: actions that write are hidden",
            theme.warn(),
        ));
    }
    lines.push(Line::styled(format!("log: {log}"), theme.dim()));
    lines.push(Line::styled("esc or ? to close", theme.dim()));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centered(area, 76, height);
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.title())
        .title(Line::styled(" Help ", theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
