//! Segment file names: the base offset zero-padded to 20 digits plus a suffix, as Kafka's
//! `LogFileUtils` writes them (`00000000000000000042.log`). This module only builds and parses
//! names; it does no I/O.

use std::path::{Path, PathBuf};

/// Digits in a segment file name; 20 digits hold any non-negative i64.
pub(crate) const FILE_NAME_DIGITS: usize = 20;
pub(crate) const LOG_SUFFIX: &str = ".log";
pub(crate) const INDEX_SUFFIX: &str = ".index";
pub(crate) const TIME_INDEX_SUFFIX: &str = ".timeindex";

/// The kinds of per-segment files this broker reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentFile {
    Log,
    Index,
    TimeIndex,
}

impl SegmentFile {
    fn suffix(self) -> &'static str {
        match self {
            Self::Log => LOG_SUFFIX,
            Self::Index => INDEX_SUFFIX,
            Self::TimeIndex => TIME_INDEX_SUFFIX,
        }
    }
}

/// `00000000000000000042.log` for base offset 42 and `SegmentFile::Log`.
pub(crate) fn file_name(base_offset: i64, kind: SegmentFile) -> String {
    assert!(
        base_offset >= 0,
        "segment base offset {base_offset} is negative"
    );
    format!(
        "{base_offset:0width$}{}",
        kind.suffix(),
        width = FILE_NAME_DIGITS
    )
}

pub(crate) fn file_path(dir: &Path, base_offset: i64, kind: SegmentFile) -> PathBuf {
    dir.join(file_name(base_offset, kind))
}

/// Suffix the cleaner adds to a segment file it is rewriting (Kafka's `.cleaned`).
pub(crate) const CLEANED_SUFFIX: &str = ".cleaned";

/// `00000000000000000042.log.cleaned`: where the cleaner writes a segment before it replaces
/// the `.log` file. One left by a crash is removed when the log opens.
pub(crate) fn cleaned_path(dir: &Path, base_offset: i64) -> PathBuf {
    let name = file_name(base_offset, SegmentFile::Log);
    dir.join(format!("{name}{CLEANED_SUFFIX}"))
}

/// Parses a segment file name back to its base offset and kind; `None` for any other file.
pub(crate) fn parse_file_name(name: &str) -> Option<(i64, SegmentFile)> {
    let kinds = [SegmentFile::Log, SegmentFile::Index, SegmentFile::TimeIndex];
    let (digits, kind) = kinds
        .iter()
        .find_map(|kind| name.strip_suffix(kind.suffix()).map(|d| (d, *kind)))?;
    if digits.len() != FILE_NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let base_offset: i64 = digits.parse().ok()?;
    Some((base_offset, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_twenty_digits() {
        assert_eq!(file_name(0, SegmentFile::Log), "00000000000000000000.log");
        assert_eq!(
            file_name(42, SegmentFile::Index),
            "00000000000000000042.index"
        );
        assert_eq!(
            file_name(i64::MAX, SegmentFile::TimeIndex),
            "09223372036854775807.timeindex"
        );
    }

    #[test]
    fn names_round_trip() {
        for offset in [0, 1, 4096, 123_456_789_012, i64::MAX] {
            for kind in [SegmentFile::Log, SegmentFile::Index, SegmentFile::TimeIndex] {
                assert_eq!(
                    parse_file_name(&file_name(offset, kind)),
                    Some((offset, kind))
                );
            }
        }
    }

    #[test]
    fn other_names_are_ignored() {
        for name in [
            "log-start-offset",
            "00000000000000000000.txnindex",
            "0000000000000000000.log",
            "000000000000000000000.log",
            "0000000000000000000a.log",
            "+0000000000000000001.log",
            "99999999999999999999.log",
            "00000000000000000000.log.deleted",
            ".log",
        ] {
            assert_eq!(parse_file_name(name), None, "{name}");
        }
    }
}
