//! Local brokers: the data directory (XDG) and the choice of port for an embedded broker.

use std::net::TcpListener;
use std::path::PathBuf;

/// Port a local broker prefers, as Kafka's default listener uses.
pub const DEFAULT_PORT: u16 = 9092;

/// `$XDG_DATA_HOME/ktui`, else `~/.local/share/ktui`, else `./.ktui`.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("ktui");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/ktui"),
        None => PathBuf::from(".ktui"),
    }
}

/// 9092 if it is free on 127.0.0.1, else any free port.
pub fn pick_port() -> u16 {
    if TcpListener::bind(("127.0.0.1", DEFAULT_PORT)).is_ok() {
        return DEFAULT_PORT;
    }
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}
