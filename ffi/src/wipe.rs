//! The library's allocator: every heap block is wiped before it is freed.
//!
//! Callers hand the library faces (JPEG bytes, camera buffers) and the
//! engine wipes every copy it makes itself (`Zeroizing`). The binding
//! machinery makes copies of its own that no type of ours owns: uniffi
//! lifts a Kotlin `ByteArray` or a Swift `Data` out of the buffer the
//! foreign side filled into a new vector, then frees the filled buffer as a
//! plain `Vec<u8>`; the inference runtime frees its tensors unwiped. With
//! this allocator in `libfaceseal`, no block the library frees keeps a face.
//! Growing a block moves it and wipes the old one, so no stale copy is left
//! behind either. The cost is one `memset` per freed block, lost in the
//! noise of a capture (the commit that installed it has the measure).

use std::alloc::{GlobalAlloc, Layout, System};

/// Wraps an allocator so that every block is zeroed before it goes back.
pub struct WipeOnFree<A>(pub A);

/// The allocator of the C and uniffi libraries.
#[global_allocator]
static ALLOCATOR: WipeOnFree<System> = WipeOnFree(System);

/// # Safety
/// `ptr` must point to `len` writable bytes.
unsafe fn wipe(ptr: *mut u8, len: usize) {
    // SAFETY: the caller's contract: `ptr..ptr+len` is one live block.
    unsafe { std::ptr::write_bytes(ptr, 0, len) };
    // A plain memset before a free is a dead store the optimiser may remove.
    // An empty asm block that may read the block through `ptr` keeps it.
    // SAFETY: the asm is empty: it reads nothing, writes nothing, and only
    // claims it might read memory, which makes the stores above observable.
    unsafe {
        std::arch::asm!("/* {0} */", in(reg) ptr, options(nostack, preserves_flags, readonly));
    }
}

// SAFETY: every method forwards to the inner allocator with the caller's
// arguments; the only additions are writes inside the block being freed,
// before it is freed, and a copy between two live blocks in `realloc`.
unsafe impl<A: GlobalAlloc> GlobalAlloc for WipeOnFree<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes until the
        // inner dealloc, as GlobalAlloc's contract says.
        unsafe {
            wipe(ptr, layout.size());
            self.0.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: GlobalAlloc::realloc's contract makes `new_size` with the
        // old alignment a valid layout; `ptr` is live with `layout`, the new
        // block is live with `new_layout`, and they are distinct blocks.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.0.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts the blocks that come back holding a non-zero byte.
    struct Checking {
        dirty: AtomicUsize,
        freed: AtomicUsize,
    }

    // SAFETY: forwards to System; reads a block only while it is live.
    unsafe impl GlobalAlloc for Checking {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the block is live until System.dealloc.
            unsafe {
                let bytes = std::slice::from_raw_parts(ptr, layout.size());
                if bytes.iter().any(|&b| b != 0) {
                    self.dirty.fetch_add(1, Ordering::SeqCst);
                }
                self.freed.fetch_add(1, Ordering::SeqCst);
                System.dealloc(ptr, layout);
            }
        }
    }

    #[test]
    fn freed_and_moved_blocks_come_back_zeroed() {
        let wiping = WipeOnFree(Checking {
            dirty: AtomicUsize::new(0),
            freed: AtomicUsize::new(0),
        });
        let layout = Layout::from_size_align(4096, 8).unwrap();
        // SAFETY: each block is used within its layout and freed once.
        unsafe {
            let a = wiping.alloc(layout);
            std::ptr::write_bytes(a, 0xA5, 4096);
            wiping.dealloc(a, layout);

            let b = wiping.alloc(layout);
            std::ptr::write_bytes(b, 0x5A, 4096);
            let grown = wiping.realloc(b, layout, 1 << 20);
            assert!(!grown.is_null());
            assert!(
                std::slice::from_raw_parts(grown, 4096)
                    .iter()
                    .all(|&x| x == 0x5A)
            );
            wiping.dealloc(grown, Layout::from_size_align(1 << 20, 8).unwrap());
        }
        assert_eq!(wiping.0.freed.load(Ordering::SeqCst), 3);
        assert_eq!(wiping.0.dirty.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn without_the_wrapper_the_check_sees_the_bytes() {
        // The check itself can fail: the same block freed unwiped is seen.
        let plain = Checking {
            dirty: AtomicUsize::new(0),
            freed: AtomicUsize::new(0),
        };
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: as above.
        unsafe {
            let a = plain.alloc(layout);
            std::ptr::write_bytes(a, 0xA5, 64);
            plain.dealloc(a, layout);
        }
        assert_eq!(plain.dirty.load(Ordering::SeqCst), 1);
    }
}
