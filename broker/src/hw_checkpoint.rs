//! The high watermark checkpoint (Kafka's `replication-offset-checkpoint` in the log
//! directory): every hosted partition's high watermark, written every
//! `replica.high.watermark.checkpoint.interval.ms` and at shutdown, read at start. A restarted
//! replica starts from its checkpointed high watermark instead of its log end, so that,
//! elected leader before its followers fetch, it does not show consumers records the ISR may
//! not have.
//!
//! Kafka's format: a version line (`0`), a count line, then `topic partition offset` lines.

use std::collections::HashMap;
use std::path::Path;

use crate::log::write_atomically;

/// The file's name in the log directory.
pub const FILE: &str = "replication-offset-checkpoint";
const VERSION: &str = "0";

/// Reads the checkpoint; an absent or unreadable file gives nothing (the log ends serve).
pub fn read(dir: &Path) -> HashMap<(String, i32), i64> {
    let Ok(text) = std::fs::read_to_string(dir.join(FILE)) else {
        return HashMap::new();
    };
    let mut lines = text.lines();
    if lines.next() != Some(VERSION) {
        tracing::warn!("unknown replication-offset-checkpoint version; ignored");
        return HashMap::new();
    }
    let count: usize = lines.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let entries: HashMap<(String, i32), i64> = lines
        .filter_map(|line| {
            let mut parts = line.rsplitn(3, ' ');
            let offset = parts.next()?.parse().ok()?;
            let partition = parts.next()?.parse().ok()?;
            let topic = parts.next()?.to_string();
            Some(((topic, partition), offset))
        })
        .collect();
    if entries.len() != count {
        tracing::warn!(
            count,
            read = entries.len(),
            "replication-offset-checkpoint is short; ignored"
        );
        return HashMap::new();
    }
    entries
}

/// Writes the checkpoint (to a temporary file, fsynced and renamed).
pub fn write(dir: &Path, entries: &[((String, i32), i64)]) -> std::io::Result<()> {
    let mut text = format!("{VERSION}\n{}\n", entries.len());
    for ((topic, partition), offset) in entries {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    write_atomically(dir, FILE, text.as_bytes()).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_entries_read_back_in_kafkas_format() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(read(dir.path()).is_empty());
        let entries = vec![(("orders".to_string(), 0), 42), (("a b".to_string(), 3), 7)];
        write(dir.path(), &entries).expect("write");
        let text = std::fs::read_to_string(dir.path().join(FILE)).expect("file");
        assert!(text.starts_with("0\n2\norders 0 42\n"), "{text}");
        let back = read(dir.path());
        assert_eq!(back.get(&("orders".to_string(), 0)), Some(&42));
        assert_eq!(back.get(&("a b".to_string(), 3)), Some(&7));
        std::fs::write(dir.path().join(FILE), "0\n3\norders 0 42\n").expect("short");
        assert!(read(dir.path()).is_empty(), "a short file is not trusted");
    }
}
