//! Reading batch headers out of a segment's `.log` file through one bounded window buffer.
//!
//! Lookups (finding the batch that holds an offset or a timestamp) and crash recovery both walk
//! the file header by header. Reading each 61-byte header with its own `pread` would cost one
//! system call per batch, so this module reads a window of the file at a time and serves headers
//! from it. It owns only that buffering and the file-bounds checks; what to do with each batch
//! is the caller's business.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::batch::{parse_header_prefix, BatchError, BatchHeader, BATCH_HEADER_BYTES, CRC_START};

/// Window for lookups that start at an index entry: about two index intervals.
pub(crate) const LOOKUP_WINDOW_BYTES: usize = 16 * 1024;
/// Window for recovery, which reads whole segments front to back.
pub(crate) const RECOVERY_WINDOW_BYTES: usize = 1024 * 1024;

const _: () = assert!(LOOKUP_WINDOW_BYTES >= BATCH_HEADER_BYTES);
const _: () = assert!(RECOVERY_WINDOW_BYTES >= LOOKUP_WINDOW_BYTES);

/// Why a scan stopped.
#[derive(Debug)]
pub(crate) enum ScanError {
    Io(io::Error),
    /// The bytes at `position` are not a valid batch (torn write or corruption).
    Invalid {
        position: u64,
        error: BatchError,
    },
    /// The batch at `position` is valid on its own but does not fit where it was found
    /// (its offsets do not continue the previous batch, or leave the segment's range).
    Misplaced {
        position: u64,
        reason: String,
    },
}

impl From<io::Error> for ScanError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// A window over the first `file_len` bytes of a file.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    file: &'a File,
    /// Bytes of the file that hold data; anything past it is ignored.
    file_len: u64,
    /// Holds the file bytes `[window_start, window_start + window.len())`.
    window: Vec<u8>,
    window_start: u64,
    capacity: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(file: &'a File, file_len: u64, capacity: usize) -> Self {
        assert!(capacity >= BATCH_HEADER_BYTES);
        Self {
            file,
            file_len,
            window: Vec::new(),
            window_start: 0,
            capacity,
        }
    }

    /// Returns `len` bytes starting at `position`, refilling the window when needed.
    fn bytes(&mut self, position: u64, len: usize) -> io::Result<&[u8]> {
        assert!(len <= self.capacity && position + len as u64 <= self.file_len);
        let window_end = self.window_start + self.window.len() as u64;
        if position < self.window_start || position + len as u64 > window_end {
            let available = self.file_len - position;
            let read_len =
                usize::try_from(available).map_or(self.capacity, |a| a.min(self.capacity));
            self.window.resize(read_len, 0);
            self.file.read_exact_at(&mut self.window, position)?;
            self.window_start = position;
        }
        let start = usize::try_from(position - self.window_start).unwrap_or(usize::MAX);
        Ok(&self.window[start..start + len])
    }

    /// Parses the batch header at `position`. `Ok(None)` at the end of the data; an error when
    /// the header is invalid or the batch runs past the end of the data.
    pub(crate) fn header_at(&mut self, position: u64) -> Result<Option<BatchHeader>, ScanError> {
        assert!(position <= self.file_len);
        let remaining = self.file_len - position;
        if remaining == 0 {
            return Ok(None);
        }
        if remaining < BATCH_HEADER_BYTES as u64 {
            let error = BatchError::Truncated {
                needed: BATCH_HEADER_BYTES as u64,
                available: remaining,
            };
            return Err(ScanError::Invalid { position, error });
        }
        let bytes = self.bytes(position, BATCH_HEADER_BYTES)?;
        let header =
            parse_header_prefix(bytes).map_err(|error| ScanError::Invalid { position, error })?;
        let total = header.total_bytes() as u64;
        if total > remaining {
            let error = BatchError::Truncated {
                needed: total,
                available: remaining,
            };
            return Err(ScanError::Invalid { position, error });
        }
        Ok(Some(header))
    }

    /// Checks the CRC of the batch at `position`, reading it window by window so that a large
    /// batch needs no buffer of its own.
    pub(crate) fn check_crc(
        &mut self,
        position: u64,
        header: &BatchHeader,
    ) -> Result<(), ScanError> {
        let end = position + header.total_bytes() as u64;
        assert!(end <= self.file_len);
        let mut at = position + CRC_START as u64;
        let mut crc = 0u32;
        while at < end {
            let chunk = usize::try_from(end - at).map_or(self.capacity, |n| n.min(self.capacity));
            crc = crc32c::crc32c_append(crc, self.bytes(at, chunk)?);
            at += chunk as u64;
        }
        if crc != header.crc {
            let error = BatchError::CrcMismatch {
                stored: header.crc,
                computed: crc,
            };
            return Err(ScanError::Invalid { position, error });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::{encode_batch, BatchSpec};
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scan.log");
        let mut file = File::create(&path).expect("create");
        file.write_all(bytes).expect("write");
        (dir, File::open(&path).expect("open"))
    }

    #[test]
    fn walks_headers_and_checks_crcs_with_a_small_window() {
        let small = encode_batch(&BatchSpec {
            records: 2,
            timestamp: 1,
            value_bytes: 10,
        });
        let large = encode_batch(&BatchSpec {
            records: 4,
            timestamp: 9,
            value_bytes: 300,
        });
        let mut bytes = small.clone();
        bytes.extend_from_slice(&large);
        bytes.extend_from_slice(&small);
        let (_dir, file) = file_with(&bytes);
        let mut scanner = Scanner::new(&file, bytes.len() as u64, BATCH_HEADER_BYTES);
        let mut position = 0u64;
        let mut sizes = Vec::new();
        while let Some(header) = scanner.header_at(position).expect("valid") {
            scanner.check_crc(position, &header).expect("crc");
            sizes.push(header.total_bytes());
            position += header.total_bytes() as u64;
        }
        assert_eq!(sizes, vec![small.len(), large.len(), small.len()]);
    }

    #[test]
    fn torn_and_corrupt_batches_are_invalid() {
        let batch = encode_batch(&BatchSpec {
            records: 2,
            timestamp: 1,
            value_bytes: 10,
        });
        let (_dir, file) = file_with(&batch);
        for len in 1..batch.len() as u64 {
            let mut scanner = Scanner::new(&file, len, LOOKUP_WINDOW_BYTES);
            let result = scanner.header_at(0);
            assert!(
                matches!(result, Err(ScanError::Invalid { position: 0, .. })),
                "len {len}"
            );
        }
        let mut corrupt = batch.clone();
        corrupt[batch.len() - 1] ^= 0x80;
        let (_dir, file) = file_with(&corrupt);
        let mut scanner = Scanner::new(&file, corrupt.len() as u64, LOOKUP_WINDOW_BYTES);
        let header = scanner.header_at(0).expect("header ok").expect("present");
        let result = scanner.check_crc(0, &header);
        assert!(matches!(
            result,
            Err(ScanError::Invalid {
                error: BatchError::CrcMismatch { .. },
                ..
            })
        ));
    }
}
