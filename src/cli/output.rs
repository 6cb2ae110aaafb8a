//! How subcommands print: aligned tables for people, JSON for scripts (one document, or JSON
//! Lines for streams), progress on stderr only when stderr is a terminal. A closed stdout
//! (`| head`) ends the output quietly instead of panicking.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use serde::Serialize;

/// `-o table|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Format {
    Table,
    Json,
}

/// A table: headers and rows of cells, printed with columns padded to their widest cell.
pub(super) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(headers: &[&'static str]) -> Self {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(super) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<&str>, out: &mut String| {
            let last = cells.len().saturating_sub(1);
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i == last {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<w$}  "));
                }
            }
            out.push('\n');
        };
        line(self.headers.clone(), &mut out);
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect(), &mut out);
        }
        out
    }

    pub(super) fn print(&self) -> anyhow::Result<()> {
        print_text(&self.render())
    }
}

/// Prints `text` to stdout; a closed pipe is not an error.
pub(super) fn print_text(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    ignore_broken_pipe(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// Prints `value` as pretty JSON and a newline.
pub(super) fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print_text(&text)
}

/// Maps a broken pipe to success: the reader has gone, which is not our failure.
pub(super) fn ignore_broken_pipe(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `-` for a missing value.
pub(super) fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A one-line progress display on stderr, shown only when stderr is a terminal and at most
/// once per `every`.
pub(super) struct Progress {
    enabled: bool,
    every: Duration,
    last: Instant,
    shown: bool,
}

impl Progress {
    pub(super) fn new() -> Self {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            every: Duration::from_millis(500),
            last: Instant::now(),
            shown: false,
        }
    }

    /// Shows `line()` if it is time to.
    pub(super) fn tick(&mut self, line: impl FnOnce() -> String) {
        if self.enabled && self.last.elapsed() >= self.every {
            self.last = Instant::now();
            self.shown = true;
            eprint!("\r\x1b[2K{}", line());
        }
    }

    /// Clears the progress line.
    pub(super) fn done(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}

/// Splits `key=value`; the error names the flag and the bad value.
pub(super) fn key_value(flag: &str, item: &str) -> anyhow::Result<(String, String)> {
    match item.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => anyhow::bail!("{flag} '{item}' is not key=value"),
    }
}

/// Asks on the terminal; refuses (false) when stdin is not one.
pub(super) fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    let _ = std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_all_but_the_last_column() {
        let mut t = Table::new(&["A", "LONGER"]);
        t.row(vec!["wide-cell".into(), "x".into()]);
        assert_eq!(t.render(), "A          LONGER\nwide-cell  x\n");
        assert!(key_value("--set", "novalue").is_err());
        assert_eq!(
            key_value("--set", "a=b=c").expect("kv"),
            ("a".into(), "b=c".into())
        );
    }
}
