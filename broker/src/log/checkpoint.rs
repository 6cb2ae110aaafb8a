//! Small durable files in a partition directory: the persisted log start offset (moved by
//! DeleteRecords) and the clean-shutdown marker. Each is written to a temporary file, fsynced,
//! renamed into place, and the directory fsynced, so a crash leaves either the old or the new
//! content. The format follows Kafka's checkpoint files: a version line, then the value.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::recovery::{sync_dir, CLEAN_SHUTDOWN_FILE};
use super::LogError;

/// File holding the log start offset when DeleteRecords moved it inside a segment.
pub(crate) const LOG_START_OFFSET_FILE: &str = "log-start-offset";
const CHECKPOINT_VERSION: u32 = 0;
const TEMP_SUFFIX: &str = ".tmp";
/// Upper bound on a checkpoint file's size; a bigger file is not ours.
const CHECKPOINT_BYTES_MAX: u64 = 64;

pub(crate) fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> Result<(), LogError> {
    let path = dir.join(name);
    let temp = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let io_err = |source| LogError::Io {
        path: temp.clone(),
        source,
    };
    let mut file = File::create(&temp).map_err(io_err)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io_err)?;
    drop(file);
    std::fs::rename(&temp, &path).map_err(|source| LogError::Io {
        path: path.clone(),
        source,
    })?;
    sync_dir(dir)
}

/// Persists the log start offset.
pub(crate) fn write_log_start_offset(dir: &Path, offset: i64) -> Result<(), LogError> {
    assert!(offset >= 0, "log start offset {offset} is negative");
    let text = format!("{CHECKPOINT_VERSION}\n{offset}\n");
    write_atomically(dir, LOG_START_OFFSET_FILE, text.as_bytes())
}

/// Reads the persisted log start offset, if any.
pub(crate) fn read_log_start_offset(dir: &Path) -> Result<Option<i64>, LogError> {
    let path = dir.join(LOG_START_OFFSET_FILE);
    let bad = |reason: &str| LogError::BadCheckpoint {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    let len = match std::fs::metadata(&path) {
        Ok(meta) => meta.len(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LogError::Io { path, source }),
    };
    if len > CHECKPOINT_BYTES_MAX {
        return Err(bad("file is larger than a checkpoint"));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| LogError::Io {
        path: path.clone(),
        source,
    })?;
    let mut lines = text.lines();
    if lines.next() != Some(&CHECKPOINT_VERSION.to_string()) {
        return Err(bad("unknown version line"));
    }
    let offset: i64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| bad("no offset line"))?;
    if offset < 0 {
        return Err(bad("negative offset"));
    }
    Ok(Some(offset))
}

/// Writes the clean-shutdown marker (after the caller flushed everything).
pub(crate) fn write_clean_marker(dir: &Path) -> Result<(), LogError> {
    write_atomically(dir, CLEAN_SHUTDOWN_FILE, b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_start_offset_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_log_start_offset(dir.path()).expect("read"), None);
        write_log_start_offset(dir.path(), 17).expect("write");
        assert_eq!(read_log_start_offset(dir.path()).expect("read"), Some(17));
        write_log_start_offset(dir.path(), 1 << 40).expect("write");
        assert_eq!(
            read_log_start_offset(dir.path()).expect("read"),
            Some(1 << 40)
        );
        assert!(!dir.path().join("log-start-offset.tmp").exists());
    }

    #[test]
    fn garbage_checkpoint_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        for text in ["", "1\n5\n", "0\n", "0\nabc\n", "0\n-4\n"] {
            std::fs::write(dir.path().join(LOG_START_OFFSET_FILE), text).expect("write");
            let result = read_log_start_offset(dir.path());
            assert!(
                matches!(result, Err(LogError::BadCheckpoint { .. })),
                "{text:?}: {result:?}"
            );
        }
    }
}
