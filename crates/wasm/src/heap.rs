//! The wasm heap: dlmalloc — the allocator std uses on wasm32 — over a system layer that grows
//! the linear memory geometrically instead of one 64 KiB page at a time.
//!
//! Why (measured, Node 20 / V8 11.3): `memory.grow` costs time proportional to the memory's
//! size, and std's dlmalloc grows by the few pages it needs at that moment. Building a large
//! result — a FOCUS export of 100,000 lines, the allocation of 250,000 — took thousands of grows:
//! 8,000 one-page grows alone take 11 s, and `focusExport` of 40,000 lines was 4.3 s on the first
//! call against 1.1 s once the memory had grown. Growing by at least a quarter of the current
//! size (and 1 MiB) needs a few dozen grows for any size, at the price of up to 25 % of unused
//! memory at the top; when that much cannot be had, exactly what is needed is asked for.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;

use core::arch::wasm32;
use dlmalloc::{Allocator, Dlmalloc};

const PAGE: usize = 64 * 1024;
/// The smallest growth: 1 MiB.
const MIN_GROW_PAGES: usize = 16;

/// Linear memory, grown geometrically; never given back (as with std's allocator).
pub struct GeometricGrowth;

// SAFETY: `alloc` hands out only fresh pages from `memory.grow`, which nothing else uses.
unsafe impl Allocator for GeometricGrowth {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let need = size.div_ceil(PAGE);
        let want = need.max(wasm32::memory_size(0) / 4).max(MIN_GROW_PAGES);
        for pages in [want, need] {
            let prev = wasm32::memory_grow(0, pages);
            if prev != usize::MAX {
                let base = prev * PAGE;
                let len = pages * PAGE;
                // The very top of the address space: keep the end pointer from wrapping to 0.
                let len = if base.wrapping_add(len) == 0 {
                    len - 16
                } else {
                    len
                };
                return (base as *mut u8, len, 0);
            }
        }
        (std::ptr::null_mut(), 0, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        std::ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

/// The global allocator.
pub struct Heap(UnsafeCell<Dlmalloc<GeometricGrowth>>);

// SAFETY: wasm32-unknown-unknown without the `atomics` target feature runs one thread, so the
// allocator is never entered concurrently.
unsafe impl Sync for Heap {}

// SAFETY: forwards to dlmalloc, which upholds the GlobalAlloc contract; one thread (see above).
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        (*self.0.get()).malloc(layout.size(), layout.align())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        (*self.0.get()).calloc(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        (*self.0.get()).free(ptr, layout.size(), layout.align())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size)
    }
}

#[global_allocator]
static HEAP: Heap = Heap(UnsafeCell::new(Dlmalloc::new_with_allocator(
    GeometricGrowth,
)));
