//! Logs while the console owns the terminal: tracing to a file through tracing-appender's
//! non-blocking writer (the path is shown in help), never to the screen. `RUST_LOG` sets the
//! level (default `info`).

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;

/// `$KTUI_LOG`, else `<data dir>/logs/console.log`.
pub fn path() -> PathBuf {
    std::env::var_os("KTUI_LOG")
        .filter(|p| !p.is_empty())
        .map_or_else(
            || crate::local::data_dir().join("logs").join("console.log"),
            PathBuf::from,
        )
}

/// Starts logging to [`path`]; keep the guard until exit so the last lines are written.
pub fn init() -> std::io::Result<(WorkerGuard, PathBuf)> {
    let path = path();
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    std::fs::create_dir_all(&dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok((guard, path))
}
