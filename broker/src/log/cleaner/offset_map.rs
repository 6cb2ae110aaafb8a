//! The cleaner's key map (Kafka's `SkimpyOffsetMap`): key → offset of its latest record in the
//! dirty range, held in a bounded number of bytes (`log.cleaner.dedupe.buffer.size`).
//!
//! Keys are not stored. Each slot holds 96 bits of a keyed hash of the key, the ordinal of the
//! batch the latest record is in (so the filter knows which batches lost a record without
//! decoding the others) and the offset: 24 bytes, as in Kafka (16 bytes of MD5 plus 8 of
//! offset). The hash is SipHash-1-3 under two random keys drawn for each pass, so nobody can
//! choose keys that collide; with 96 bits, two of a few million keys colliding (which would
//! drop the older one's record) has odds below 10^-15 per pass.
//!
//! The table is open addressing with linear probing, filled to at most 90% (Kafka's
//! `log.cleaner.io.buffer.load.factor`). It starts small and doubles as keys arrive, so a pass
//! over few keys uses little memory; the old and the new table together never exceed the
//! buffer, so a full table uses between a half and two thirds of it.

use std::hash::{BuildHasher, RandomState};

/// Bytes of one slot: 64 + 32 bits of hash, a 32-bit batch ordinal and a 64-bit offset.
pub(super) const ENTRY_BYTES: u64 = 24;
/// Slots of the first table (384 KiB), unless the buffer or the dirty range is smaller.
const SLOTS_INITIAL: usize = 16 * 1024;
/// Kafka's `log.cleaner.io.buffer.load.factor` default, as a fraction of tenths.
const LOAD_TENTHS: usize = 9;

const _: () = assert!(std::mem::size_of::<[u64; 3]>() as u64 == ENTRY_BYTES);

/// 96 bits of a key's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyHash {
    high: u64,
    low: u32,
}

/// The map; see the module docs.
#[derive(Debug)]
pub(super) struct OffsetMap {
    /// `[hash high, hash low << 32 | ordinal, offset + 1]`; a zero third word is an empty slot
    /// (offsets are never negative), so a fresh table is zeroed memory the kernel hands out
    /// lazily.
    slots: Vec<[u64; 3]>,
    entries: usize,
    /// The largest table growth can reach inside the buffer.
    slots_limit: usize,
    /// Slots the buffer holds.
    slots_budget: usize,
    hashers: (RandomState, RandomState),
}

fn slot_of(hash: KeyHash, len: usize) -> usize {
    // Lemire's multiply-shift maps the hash onto any table size without a division.
    ((u128::from(hash.high) * len as u128) >> 64) as usize
}

fn fits(entries: usize, slots: usize) -> bool {
    entries.saturating_mul(10) <= slots.saturating_mul(LOAD_TENTHS)
}

/// The next table size: double, but old and new together stay inside the budget.
fn grown(len: usize, budget: usize) -> Option<usize> {
    let next = len.saturating_mul(2).min(budget.saturating_sub(len));
    (next > len).then_some(next)
}

impl OffsetMap {
    /// A map inside `buffer_bytes`, sized first for at most `records_hint` keys.
    pub(super) fn new(buffer_bytes: u64, records_hint: u64) -> Self {
        let slots_budget = usize::try_from(buffer_bytes / ENTRY_BYTES)
            .unwrap_or(usize::MAX)
            .max(1);
        let wanted = usize::try_from(records_hint)
            .unwrap_or(usize::MAX)
            .saturating_mul(10)
            / LOAD_TENTHS
            + 1;
        let first = SLOTS_INITIAL.min(wanted).min(slots_budget).max(1);
        let mut slots_limit = first;
        while let Some(next) = grown(slots_limit, slots_budget) {
            slots_limit = next;
        }
        assert!(slots_limit <= slots_budget && first <= slots_limit);
        Self {
            slots: vec![[0u64; 3]; first],
            entries: 0,
            slots_limit,
            slots_budget,
            hashers: (RandomState::new(), RandomState::new()),
        }
    }

    pub(super) fn hash(&self, key: &[u8]) -> KeyHash {
        KeyHash {
            high: self.hashers.0.hash_one(key),
            low: self.hashers.1.hash_one(key) as u32,
        }
    }

    /// Keys in the map.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries
    }

    /// Whether `more` new keys are sure to fit.
    pub(super) fn has_room_for(&self, more: usize) -> bool {
        fits(self.entries.saturating_add(more), self.slots_limit)
    }

    /// Bytes the table takes now; never more than the buffer.
    pub(super) fn table_bytes(&self) -> u64 {
        self.slots.len() as u64 * ENTRY_BYTES
    }

    /// The slot holding `hash`, or the empty slot where it would go.
    fn find(&self, hash: KeyHash) -> usize {
        let len = self.slots.len();
        let mut at = slot_of(hash, len);
        loop {
            let slot = &self.slots[at];
            if slot[2] == 0 || (slot[0] == hash.high && (slot[1] >> 32) as u32 == hash.low) {
                return at;
            }
            at += 1;
            if at == len {
                at = 0;
            }
        }
    }

    /// The offset of the latest record of the key with this hash.
    pub(super) fn get(&self, hash: KeyHash) -> Option<i64> {
        let slot = &self.slots[self.find(hash)];
        (slot[2] != 0).then(|| slot[2] as i64 - 1)
    }

    /// Records that the latest record of the key is at `offset`, in batch `ordinal`; returns
    /// the ordinal of the batch of the record it replaces. The caller checked
    /// [`has_room_for`](Self::has_room_for) and puts offsets in rising order.
    pub(super) fn put(&mut self, hash: KeyHash, offset: i64, ordinal: u32) -> Option<u32> {
        assert!(offset >= 0, "offsets are never negative");
        if !fits(self.entries + 1, self.slots.len()) {
            self.grow();
        }
        let at = self.find(hash);
        let slot = &mut self.slots[at];
        let previous = (slot[2] != 0).then_some(slot[1] as u32);
        assert!(
            slot[2] == 0 || slot[2] as i64 - 1 < offset,
            "a key's offsets rise"
        );
        *slot = [
            hash.high,
            u64::from(hash.low) << 32 | u64::from(ordinal),
            offset as u64 + 1,
        ];
        if previous.is_none() {
            self.entries += 1;
        }
        previous
    }

    fn grow(&mut self) {
        let len = grown(self.slots.len(), self.slots_budget)
            .filter(|len| *len <= self.slots_limit)
            .expect("the caller checked that the map has room");
        let old = std::mem::replace(&mut self.slots, vec![[0u64; 3]; len]);
        for slot in old.into_iter().filter(|s| s[2] != 0) {
            let hash = KeyHash {
                high: slot[0],
                low: (slot[1] >> 32) as u32,
            };
            let at = self.find(hash);
            self.slots[at] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_offset_wins_and_the_replaced_batch_is_named() {
        let mut map = OffsetMap::new(1 << 20, 10);
        let (a, b) = (map.hash(b"a"), map.hash(b"b"));
        assert_ne!(a, b);
        assert_eq!(map.put(a, 0, 0), None);
        assert_eq!(map.put(b, 1, 0), None);
        assert_eq!(map.put(a, 5, 3), Some(0));
        assert_eq!(map.get(a), Some(5));
        assert_eq!(map.get(b), Some(1));
        assert_eq!(map.get(map.hash(b"c")), None);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn growth_keeps_every_key_and_the_table_stays_inside_the_buffer() {
        let buffer = 64 * 1024 * ENTRY_BYTES;
        let mut map = OffsetMap::new(buffer, 1_000_000);
        let mut offset = 0;
        while map.has_room_for(1) {
            let key = offset.to_string();
            map.put(map.hash(key.as_bytes()), offset, 0);
            offset += 1;
            assert!(map.table_bytes() <= buffer);
        }
        // Between a half and two thirds of the buffer's slots, filled to 90%.
        assert!(offset >= 64 * 1024 * 9 / 20, "{offset} keys");
        assert!(offset <= 64 * 1024 * 2 * 9 / 30 + 1, "{offset} keys");
        for o in 0..offset {
            let key = o.to_string();
            assert_eq!(map.get(map.hash(key.as_bytes())), Some(o), "key {o}");
        }
    }

    #[test]
    fn a_tiny_buffer_still_holds_something() {
        let map = OffsetMap::new(1, 100);
        assert_eq!(map.table_bytes(), ENTRY_BYTES);
        assert!(!map.has_room_for(1), "one slot at 90% holds no key");
        let map = OffsetMap::new(10 * ENTRY_BYTES, 100);
        assert!(map.has_room_for(9) && !map.has_room_for(10));
    }
}
