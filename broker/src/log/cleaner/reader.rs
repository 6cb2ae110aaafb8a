//! Reading a closed segment's batches front to back through one window buffer, outside the
//! partition lock: a closed segment's bytes never change while its file exists (the cleaner's
//! own swap and retention replace or delete the file, they never write into it).

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::log::batch::{parse_header_prefix, validate_crc, BatchHeader, BATCH_HEADER_BYTES};
use crate::log::records::records_section;
use crate::log::LogError;

/// Bytes read at a time (Kafka's `log.cleaner.io.buffer.size` is 512 KiB per read and write
/// buffer); a larger batch gets a window of its own size.
const WINDOW_BYTES: usize = 1024 * 1024;

/// One batch as stored.
#[derive(Debug)]
pub(super) struct Batch<'a> {
    pub(super) header: BatchHeader,
    pub(super) bytes: &'a [u8],
    /// Where it starts in the file.
    pub(super) position: u64,
    path: &'a Path,
}

impl Batch<'_> {
    /// The error for a batch whose records cannot be read.
    pub(super) fn corrupt(&self, reason: &str) -> LogError {
        LogError::Corrupt {
            path: self.path.to_path_buf(),
            position: self.position,
            reason: format!("batch at offset {}: {reason}", self.header.base_offset),
        }
    }

    /// The records section, decompressed, after checking the CRC.
    pub(super) fn section(&self) -> Result<Cow<'_, [u8]>, LogError> {
        validate_crc(&self.header, self.bytes).map_err(|e| self.corrupt(&e.to_string()))?;
        records_section(&self.header, self.bytes).map_err(|reason| self.corrupt(&reason))
    }
}

/// Walks the first `len` bytes of a segment file.
#[derive(Debug)]
pub(super) struct BatchReader {
    file: File,
    path: PathBuf,
    len: u64,
    window: Vec<u8>,
    /// File position of `window[0]`.
    window_start: u64,
    /// File position of the next batch.
    position: u64,
}

impl BatchReader {
    pub(super) fn open(path: &Path, len: u64) -> Result<Self, LogError> {
        let file = File::open(path).map_err(|source| LogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            len,
            window: Vec::new(),
            window_start: 0,
            position: 0,
        })
    }

    fn corrupt(&self, reason: String) -> LogError {
        LogError::Corrupt {
            path: self.path.clone(),
            position: self.position,
            reason,
        }
    }

    /// Makes `[position, position + len)` of the file available in the window.
    fn load(&mut self, position: u64, len: usize) -> Result<(), LogError> {
        let end = position + len as u64;
        if end > self.len {
            return Err(self.corrupt(format!(
                "a batch runs past the segment's {} bytes",
                self.len
            )));
        }
        let window_end = self.window_start + self.window.len() as u64;
        if position >= self.window_start && end <= window_end {
            return Ok(());
        }
        let rest = usize::try_from(self.len - position).unwrap_or(usize::MAX);
        self.window.resize(len.max(WINDOW_BYTES).min(rest), 0);
        self.window_start = position;
        self.file
            .read_exact_at(&mut self.window, position)
            .map_err(|source| LogError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// The next batch, or `None` at the end.
    pub(super) fn next_batch(&mut self) -> Result<Option<Batch<'_>>, LogError> {
        if self.position >= self.len {
            return Ok(None);
        }
        let position = self.position;
        self.load(position, BATCH_HEADER_BYTES)?;
        let at = (position - self.window_start) as usize;
        let header =
            parse_header_prefix(&self.window[at..]).map_err(|e| self.corrupt(e.to_string()))?;
        let total = header.total_bytes();
        self.load(position, total)?;
        self.position = position + total as u64;
        let at = (position - self.window_start) as usize;
        Ok(Some(Batch {
            header,
            bytes: &self.window[at..at + total],
            position,
            path: &self.path,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::batch;

    #[test]
    fn walks_batches_small_and_larger_than_the_window() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("segment");
        let batches = [
            batch(2, 0, 10),
            batch(1, 0, WINDOW_BYTES + 100),
            batch(3, 0, 5),
        ];
        std::fs::write(&path, batches.concat()).expect("write");
        let len = batches.iter().map(Vec::len).sum::<usize>() as u64;
        let mut reader = BatchReader::open(&path, len).expect("open");
        for expected in &batches {
            let b = reader.next_batch().expect("read").expect("a batch");
            assert_eq!(b.bytes, &expected[..]);
        }
        assert!(reader.next_batch().expect("end").is_none());
        // A length that cuts the last batch is corruption, not a panic.
        let mut reader = BatchReader::open(&path, len - 1).expect("open");
        reader.next_batch().expect("first");
        reader.next_batch().expect("second");
        assert!(matches!(reader.next_batch(), Err(LogError::Corrupt { .. })));
    }
}
