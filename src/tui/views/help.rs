//! The `?` overlay: the keys of the current screen and the global ones, generated from the
//! keymap (without the writing ones in `--read-only`), and where the log file is. When the
//! list is taller than the screen it is laid out in two columns.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::dialog::centered;
use crate::tui::keymap::{self, Binding, Scope};
use crate::tui::theme::Theme;

/// Width of one binding's help text in the two-column layout.
const HELP_COLUMN_CHARS: usize = 26;

fn spans(b: &Binding, theme: Theme, two_columns: bool) -> Vec<Span<'static>> {
    let help = if two_columns {
        let cut: String = b.help.chars().take(HELP_COLUMN_CHARS).collect();
        format!("{cut:<HELP_COLUMN_CHARS$}")
    } else {
        b.help.to_string()
    };
    vec![
        Span::styled(format!("{:>13}  ", b.keys), theme.key()),
        Span::raw(help),
    ]
}

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
    let mut footer = vec![Line::raw("")];
    if read_only {
        footer.push(Line::styled(
            "read-only: actions that write are hidden",
            theme.warn(),
        ));
    }
    footer.push(Line::styled(format!("log: {log}"), theme.dim()));
    footer.push(Line::styled("esc or ? to close", theme.dim()));
    let available = usize::from(area.height.saturating_sub(2));
    let two_columns = bindings.len() + footer.len() > available;
    let mut lines: Vec<Line> = if two_columns {
        bindings
            .chunks(2)
            .map(|pair| {
                let mut row = spans(pair[0], theme, true);
                if let Some(second) = pair.get(1) {
                    row.extend(spans(second, theme, true));
                }
                Line::from(row)
            })
            .collect()
    } else {
        bindings
            .iter()
            .map(|b| Line::from(spans(b, theme, false)))
            .collect()
    };
    lines.extend(footer);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let width = if two_columns { 90 } else { 76 };
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.title())
        .title(Line::styled(" Help ", theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
