//! The allocator every process that runs the broker (or decodes a peer's messages) installs
//! as its global allocator: the system allocator, except that very large requests are
//! reserved lazily (`MAP_NORESERVE`), so that they cost address space until they are touched.
//! A library does not choose its users' allocator, so this crate only provides it: the `ktui`
//! binary and the test binaries declare it with `#[global_allocator]`.
//!
//! Why: kafka-protocol sizes a decoded array with `Vec::with_capacity(count)` using the count
//! from the wire before it reads any element. A 40-byte Metadata request claiming 2^31-1 topics
//! would ask for ~150 GB; the system allocator refuses and the process aborts. With a lazy
//! reservation the request succeeds, decoding fails at the first missing element, and the
//! reservation is returned untouched. Memory actually written stays bounded by the frame size
//! (each decoded element consumes at least one byte of a frame of at most
//! `socket.request.max.bytes`). This is the only unsafe code in the broker (the benchmark also
//! calls librdkafka directly).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Requests of at least this many bytes are mapped lazily.
const LAZY_BYTES_MIN: usize = 1 << 30;
/// Page alignment an anonymous mapping guarantees.
const PAGE_BYTES: usize = 4096;

/// The system allocator with lazy reservation of huge blocks.
pub struct LazyHugeAlloc;

fn is_lazy(layout: &Layout) -> bool {
    layout.size() >= LAZY_BYTES_MIN && layout.align() <= PAGE_BYTES
}

// SAFETY: every block is either from `System` (small) or from `mmap` (large), chosen by the
// layout's size alone, so `dealloc` and `realloc` route each block back to its source.
unsafe impl GlobalAlloc for LazyHugeAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_lazy(&layout) {
            return unsafe { System.alloc(layout) };
        }
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: an anonymous private mapping with no address hint has no preconditions.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), layout.size(), prot, flags, -1, 0) };
        if p == libc::MAP_FAILED {
            std::ptr::null_mut()
        } else {
            p.cast()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_lazy(&layout) {
            // Fresh anonymous pages are zero already; writing them would commit them.
            return unsafe { self.alloc(layout) };
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_lazy(&layout) {
            // SAFETY: `ptr` came from `mmap` with this exact size (see `alloc`).
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with this alignment is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_lazy(&layout) && !is_lazy(&new_layout) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let fresh = unsafe { self.alloc(new_layout) };
        if !fresh.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two sizes and do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        fresh
    }
}

/// The broker's own unit tests decode hostile counts too.
#[cfg(test)]
#[global_allocator]
static GLOBAL: LazyHugeAlloc = LazyHugeAlloc;

#[cfg(test)]
mod tests {
    #[test]
    fn a_huge_reservation_costs_nothing_until_touched() {
        // 200 GB: more than this machine has, refused by the system allocator.
        let mut v: Vec<[u8; 100]> = Vec::with_capacity(2_000_000_000);
        v.push([7; 100]);
        assert_eq!(v[0][99], 7);
        let mut small: Vec<u8> = Vec::with_capacity(16);
        small.extend_from_slice(b"still fine");
        assert_eq!(small.len(), 10);
    }
}
