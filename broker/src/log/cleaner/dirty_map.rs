//! Phase one of a pass, without the lock: the key map over the dirty part. Each dirty batch
//! gets an ordinal, in log order; each keyed record of a data batch goes into the map, and the
//! batch of the record it replaces is marked, as is a batch holding an expired tombstone, so
//! the filter decodes only batches that will change. Control batches and aborted transactions'
//! batches get an ordinal but put nothing in the map. Mapping stops before the first batch at
//! or past the clean upper bound, or whose records might not fit in the map.

use super::offset_map::OffsetMap;
use super::reader::{Batch, BatchReader};
use super::rewrite::timestamp_of;
use super::{CleanPlan, CleanStats};
use crate::log::file_name::{file_path, SegmentFile};
use crate::log::records::views;
use crate::log::LogError;

/// The map of the dirty part and which of its batches lose records.
#[derive(Debug)]
pub(super) struct DirtyMap {
    pub(super) map: OffsetMap,
    /// One bit per dirty batch, by ordinal: set when the batch will lose a record.
    touched: Vec<u64>,
    /// Dirty batches mapped.
    pub(super) batches: u32,
    /// The offset mapping stopped at: the next pass's first dirty offset.
    pub(super) end: i64,
}

impl DirtyMap {
    pub(super) fn is_touched(&self, ordinal: u32) -> bool {
        let (word, bit) = (ordinal as usize / 64, ordinal % 64);
        self.touched.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn touch(&mut self, ordinal: u32) {
        let (word, bit) = (ordinal as usize / 64, ordinal % 64);
        if self.touched.len() <= word {
            self.touched.resize(word + 1, 0);
        }
        self.touched[word] |= 1 << bit;
    }
}

/// Maps the dirty part of `plan`.
pub(super) fn build(plan: &CleanPlan, stats: &mut CleanStats) -> Result<DirtyMap, LogError> {
    let records_hint = u64::try_from(plan.upper - plan.first_dirty).unwrap_or(0);
    let mut dirty = DirtyMap {
        map: OffsetMap::new(plan.dedupe_buffer_bytes, records_hint),
        touched: Vec::new(),
        batches: 0,
        end: plan.upper,
    };
    let segments = plan
        .segments
        .iter()
        .filter(|s| s.next_offset > plan.first_dirty);
    for segment in segments {
        let path = file_path(&plan.dir, segment.base, SegmentFile::Log);
        let mut reader = BatchReader::open(&path, segment.size)?;
        stats.bytes_read += segment.size;
        while let Some(batch) = reader.next_batch()? {
            let header = &batch.header;
            if header.last_offset() < plan.first_dirty {
                continue;
            }
            let fits = dirty.map.has_room_for(header.records_count.max(0) as usize);
            if header.last_offset() >= plan.upper || !fits || dirty.batches == u32::MAX {
                dirty.end = header.base_offset.clamp(plan.first_dirty, plan.upper);
                return Ok(dirty);
            }
            let ordinal = dirty.batches;
            dirty.batches += 1;
            if header.is_control() || plan.aborted.covers(header) {
                continue;
            }
            map_batch(plan, &batch, ordinal, &mut dirty, stats)?;
        }
    }
    Ok(dirty)
}

/// Puts the keyed records of one data batch into the map.
fn map_batch(
    plan: &CleanPlan,
    batch: &Batch<'_>,
    ordinal: u32,
    dirty: &mut DirtyMap,
    stats: &mut CleanStats,
) -> Result<(), LogError> {
    let header = &batch.header;
    let section = batch.section()?;
    stats.batches_decoded += 1;
    for view in views(&section, header.records_count) {
        let view = view.map_err(|reason| batch.corrupt(&reason))?;
        let Some(key) = view.key else {
            continue;
        };
        let offset = header.base_offset + i64::from(view.offset_delta);
        let hash = dirty.map.hash(key);
        if let Some(replaced) = dirty.map.put(hash, offset, ordinal) {
            dirty.touch(replaced);
        }
        stats.records_mapped += 1;
        if view.value_is_null && timestamp_of(header, &view) < plan.tombstone_horizon_ms {
            dirty.touch(ordinal);
        }
    }
    Ok(())
}
