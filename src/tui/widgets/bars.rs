//! The one-line bars: the header (cluster, bootstrap, controller, connection), breadcrumbs, the
//! connection banner and the status line.

use ratatui::text::{Line, Span};

use crate::tui::theme::Theme;

/// `Topics › orders › Tail`.
pub fn breadcrumbs(titles: &[String], theme: Theme) -> Line<'static> {
    let mut spans = Vec::with_capacity(titles.len() * 2);
    for (i, t) in titles.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", theme.dim()));
        }
        let style = if i + 1 == titles.len() {
            theme.title()
        } else {
            theme.dim()
        };
        spans.push(Span::styled(t.clone(), style));
    }
    Line::from(spans)
}

/// `label: value` pairs separated by two spaces.
pub fn pairs(items: &[(&str, String, ratatui::style::Style)], theme: Theme) -> Line<'static> {
    let mut spans = Vec::with_capacity(items.len() * 3);
    for (label, value, style) in items {
        if !spans.is_empty() {
            spans.push(Span::raw("  "));
        }
        if !label.is_empty() {
            spans.push(Span::styled(format!("{label} "), theme.dim()));
        }
        spans.push(Span::styled(value.clone(), *style));
    }
    Line::from(spans)
}
