//! Every layout shape through [`Allocator`]: blocks are aligned as asked (on the plain path
//! mimalloc's size classes must provide it), zeroed when asked, and keep their contents and
//! alignment through `realloc`, with many blocks of a shape live at once so that blocks come
//! from all over mimalloc's pages, not only the first one of each.
#![allow(unsafe_code, clippy::undocumented_unsafe_blocks, clippy::unwrap_used)]

use rampart_alloc::Allocator;
use std::alloc::{GlobalAlloc, Layout};

#[global_allocator]
static GLOBAL: Allocator = Allocator;

const ALIGNS: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 4096, 65536];

/// Every size up to 4 KB (multiples of `align`, as every layout of a Rust type is, and the
/// others a layout may still have), then a spread of multiples up to 4 MB (medium, large and
/// huge blocks).
fn sizes(align: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (1..=4096).collect();
    let mut s = 4096 + align;
    while s <= 4 << 20 {
        v.push(s.next_multiple_of(align));
        s = s * 5 / 4 + 8;
    }
    v
}

fn check(p: *mut u8, layout: Layout) {
    assert!(!p.is_null(), "{layout:?}: null");
    assert_eq!(
        p as usize & (layout.align() - 1),
        0,
        "{layout:?}: misaligned"
    );
}

#[test]
fn blocks_are_aligned_and_writable() {
    for align in ALIGNS {
        for size in sizes(align) {
            let layout = Layout::from_size_align(size, align).unwrap();
            let live = if size <= 4096 { 12 } else { 3 };
            let blocks: Vec<*mut u8> = (0..live)
                .map(|i| {
                    let p = unsafe { Allocator.alloc(layout) };
                    check(p, layout);
                    unsafe { std::ptr::write_bytes(p, i as u8, size) };
                    p
                })
                .collect();
            for (i, &p) in blocks.iter().enumerate() {
                let b = unsafe { std::slice::from_raw_parts(p, size) };
                assert!(
                    b.iter().all(|&x| x == i as u8),
                    "{layout:?}: blocks overlap"
                );
                unsafe { Allocator.dealloc(p, layout) };
            }
        }
    }
}

#[test]
fn zeroed_blocks_are_zero_and_aligned() {
    for align in ALIGNS {
        for size in sizes(align).into_iter().step_by(7) {
            let layout = Layout::from_size_align(size, align).unwrap();
            // Dirty a block of the same shape first, so that a recycled one shows.
            let dirty = unsafe { Allocator.alloc(layout) };
            unsafe { std::ptr::write_bytes(dirty, 0xa5, size) };
            unsafe { Allocator.dealloc(dirty, layout) };
            let p = unsafe { Allocator.alloc_zeroed(layout) };
            check(p, layout);
            let b = unsafe { std::slice::from_raw_parts(p, size) };
            assert!(b.iter().all(|&x| x == 0), "{layout:?}: not zeroed");
            unsafe { Allocator.dealloc(p, layout) };
        }
    }
}

/// `p` (a block of `from`) reallocated to `to` bytes: aligned, and its first `kept` bytes still
/// the pattern `realloc_keeps_contents_and_alignment` wrote.
fn resize(p: *mut u8, from: Layout, to: usize, kept: usize) -> (*mut u8, Layout) {
    let q = unsafe { Allocator.realloc(p, from, to) };
    let layout = Layout::from_size_align(to, from.align()).unwrap();
    check(q, layout);
    let b = unsafe { std::slice::from_raw_parts(q, kept) };
    assert!(
        b.iter().enumerate().all(|(j, &x)| x == (j % 251) as u8),
        "{from:?} -> {to}: contents lost"
    );
    (q, layout)
}

#[test]
fn realloc_keeps_contents_and_alignment() {
    for align in ALIGNS {
        let all = sizes(align);
        for (i, &size) in all.iter().enumerate().step_by(5) {
            let layout = Layout::from_size_align(size, align).unwrap();
            let p = unsafe { Allocator.alloc(layout) };
            check(p, layout);
            for j in 0..size {
                unsafe { *p.add(j) = (j % 251) as u8 };
            }
            // Grow far, then shrink below the original size.
            let (q, grown) = resize(p, layout, all[(i + 9).min(all.len() - 1)], size);
            let (r, shrunk) = resize(q, grown, all[i / 2], all[i / 2]);
            unsafe { Allocator.dealloc(r, shrunk) };
        }
    }
}

#[test]
fn ordinary_collections_work_through_it() {
    // The test binary's own allocations (the harness, these) all go through `Allocator`.
    let mut v: Vec<String> = (0..10_000).map(|i| format!("value {i}")).collect();
    v.retain(|s| s.ends_with('7'));
    assert_eq!(v.len(), 1_000);
    let m: std::collections::HashMap<u64, [u128; 3]> =
        (0..5_000).map(|i| (i, [i as u128; 3])).collect();
    assert!(m
        .values()
        .all(|a| a.as_ptr() as usize & (std::mem::align_of::<u128>() - 1) == 0));
    assert_eq!(m[&4_999][2], 4_999);
}
