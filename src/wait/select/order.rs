//! The order a select tries its arms in: a fresh uniformly random permutation per select
//! (an inside-out Fisher-Yates shuffle driven by a per-thread xorshift64*), so of the arms
//! ready at once each fires equally often, wherever it sits (Go's `pollorder`).

use core::cell::Cell;

use crate::sync::{self};

sync::thread_local! {
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    /// xorshift64* state for the select's shuffle; 0 until first used.
    static RNG: Cell<u64> = Cell::new(0);
}

/// A xorshift64* generator: fast, and good enough in its high bits to shuffle arms.
struct Xorshift(u64);

impl Xorshift {
    /// The next pseudo-random 32 bits (the high half of the scrambled state).
    #[inline]
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
}

/// Runs `f` with this thread's generator.
fn with_rng<R>(f: impl FnOnce(&mut Xorshift) -> R) -> R {
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            // Start from std's per-thread random hash keys (drawn from the OS once per thread,
            // then stepped per use) over the cell's address: distinct per thread, even for a
            // thread that reuses a finished one's stack and thread-locals. Loom and shuttle
            // executions must replay exactly: a constant there.
            x = if cfg!(any(lockgate_loom, lockgate_shuttle)) {
                0x9E37_79B9_7F4A_7C15
            } else {
                use std::hash::BuildHasher;
                let keys = std::collections::hash_map::RandomState::new();
                keys.hash_one(r as *const Cell<u64> as usize) | 1
            };
        }
        let mut g = Xorshift(x);
        let out = f(&mut g);
        r.set(g.0);
        out
    })
}

/// `bits` scaled into `0..n` (multiply-high: the bias is below `n / 2^32`).
fn below(bits: u32, n: usize) -> usize {
    ((u64::from(bits) * n as u64) >> 32) as usize
}

/// A pseudo-random number in `0..n` (n > 0).
pub(super) fn random_below(n: usize) -> usize {
    with_rng(|g| below(g.next(), n))
}

/// Fills `order` with a uniformly random permutation of `0..order.len()` (the "inside-out"
/// Fisher-Yates shuffle: one pass, no separate initialization).
///
/// # Panics
/// If the length does not fit in a `u32` (a select over four billion arms).
pub(crate) fn shuffle(order: &mut [u32]) {
    let n = order.len();
    assert!(u32::try_from(n).is_ok(), "select: too many arms");
    if n <= 1 {
        if let Some(o) = order.first_mut() {
            *o = 0;
        }
        return;
    }
    with_rng(|g| {
        order[0] = 0;
        for i in 1..n {
            // Invariant: `order[..i]` is a uniformly random permutation of `0..i`.
            let j = below(g.next(), i + 1);
            order[i] = order[j];
            order[j] = i as u32; // fits: checked above
        }
    });
}
