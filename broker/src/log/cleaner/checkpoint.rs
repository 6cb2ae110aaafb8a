//! `cleaner-offset-checkpoint`: the first dirty offset of the partition, so that a pass maps
//! only what was appended since the last one and a restart does not start over.
//!
//! Kafka keeps one such file per log directory, in its checkpoint format: a version line (`0`),
//! a count line, then one `topic partition offset` line per log. This broker keeps the same
//! format in each partition directory, with the one line of that partition: a `PartitionLog`
//! owns its directory and nothing above it, writes the file under its own lock (a file shared
//! by every partition would need a lock of its own and a rewrite of every line on each pass),
//! and the file goes with the directory when the topic is deleted. Written atomically (temp
//! file, fsync, rename, directory fsync) as the other checkpoint files.

use std::path::Path;

use crate::log::checkpoint::write_atomically;
use crate::log::LogError;

/// Kafka's file name.
pub(crate) const CLEANER_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
const VERSION: &str = "0";
/// Larger than any file this module writes; a bigger file is not ours.
const FILE_BYTES_MAX: u64 = 4096;

/// `orders-3` → (`orders`, 3); a directory not named like a partition keeps its whole name
/// and partition -1 (only the offset is read back).
fn topic_partition(dir: &Path) -> (String, i32) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.rsplit_once('-').map(|(t, p)| (t, p.parse::<i32>())) {
        Some((topic, Ok(partition))) if !topic.is_empty() => (topic.to_string(), partition),
        _ => (name, -1),
    }
}

/// Persists the first dirty offset.
pub(super) fn write(dir: &Path, offset: i64) -> Result<(), LogError> {
    assert!(offset >= 0, "first dirty offset {offset} is negative");
    let (topic, partition) = topic_partition(dir);
    let text = format!("{VERSION}\n1\n{topic} {partition} {offset}\n");
    write_atomically(dir, CLEANER_CHECKPOINT_FILE, text.as_bytes())
}

/// Reads the first dirty offset, if a pass ever recorded one.
pub(super) fn read(dir: &Path) -> Result<Option<i64>, LogError> {
    let path = dir.join(CLEANER_CHECKPOINT_FILE);
    let bad = |reason: &str| LogError::BadCheckpoint {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > FILE_BYTES_MAX => {
            return Err(bad("file is larger than a checkpoint"))
        }
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LogError::Io { path, source }),
    }
    let text = std::fs::read_to_string(&path).map_err(|source| LogError::Io {
        path: path.clone(),
        source,
    })?;
    let mut lines = text.lines();
    if lines.next() != Some(VERSION) {
        return Err(bad("unknown version line"));
    }
    if lines.next().map(str::trim) != Some("1") {
        return Err(bad("the count line is not 1"));
    }
    let offset = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|o| o.parse::<i64>().ok())
        .filter(|o| *o >= 0)
        .ok_or_else(|| bad("no \"topic partition offset\" line"))?;
    Ok(Some(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_format_round_trips() {
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path().join("orders-3");
        std::fs::create_dir(&dir).expect("mkdir");
        assert_eq!(read(&dir).expect("read"), None);
        write(&dir, 1234).expect("write");
        let text = std::fs::read_to_string(dir.join(CLEANER_CHECKPOINT_FILE)).expect("file");
        assert_eq!(text, "0\n1\norders 3 1234\n");
        assert_eq!(read(&dir).expect("read"), Some(1234));
        for garbage in [
            "",
            "1\n1\nt 0 5\n",
            "0\n2\nt 0 5\n",
            "0\n1\nt 0\n",
            "0\n1\nt 0 -5\n",
        ] {
            std::fs::write(dir.join(CLEANER_CHECKPOINT_FILE), garbage).expect("write");
            assert!(
                matches!(read(&dir), Err(LogError::BadCheckpoint { .. })),
                "{garbage:?}"
            );
        }
        assert_eq!(
            topic_partition(Path::new("/x/my-topic-12")),
            ("my-topic".into(), 12)
        );
        assert_eq!(
            topic_partition(Path::new("/x/.tmpAb")),
            (".tmpAb".into(), -1)
        );
    }
}
