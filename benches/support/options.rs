//! The console's options as the benchmarks run it: 2 s refresh, colours, no log file.

use std::time::Duration;

use ktui::tui::app::AppOptions;
use ktui::tui::theme::Theme;

pub(crate) fn options(bootstrap: &str) -> AppOptions {
    AppOptions {
        bootstrap: bootstrap.into(),
        read_only: false,
        refresh: Duration::from_secs(2),
        theme: Theme { color: true },
        log_path: String::new(),
        note: None,
    }
}
