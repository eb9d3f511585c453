//! Sleeping on a 32-bit atomic word: `wait(word, expected, mask, deadline)` sleeps while the
//! word holds `expected`; `wake(word, mask)` wakes every sleeper on the word whose mask shares
//! a bit with `mask`. The semantics of Linux's `FUTEX_WAIT_BITSET` / `FUTEX_WAKE_BITSET`
//! (Drepper, "Futexes Are Tricky", 2011): the compare and the sleep are one atomic step
//! against `wake`, so a waker that changes the word and then calls `wake` never loses a
//! sleeper; spurious returns are allowed and callers re-check in a loop.
//!
//! Linux std builds (the counting build too) make the system call. Other std builds, and the
//! loom and shuttle builds, use [`emulated`]: a table of sleepers under the shim's mutex, in
//! which the compare happens under the lock that `wake` takes, which gives the same
//! guarantee. The model checkers thus check the protocols built on this layer with the
//! sleeping made explicit: a lost wake-up is a deadlock they report.

use std::time::Instant;

use super::AtomicU32;

/// A mask that matches every sleeper.
pub(crate) const ALL: u32 = u32::MAX;

/// Sleeps while `*word == expected`, until woken by a [`wake`] whose mask meets `mask`, or
/// until `deadline`. Returns true if the deadline has passed. May return spuriously.
#[cfg_attr(lockgate_count, track_caller)]
pub(crate) fn wait(word: &AtomicU32, expected: u32, mask: u32, deadline: Option<Instant>) -> bool {
    debug_assert_ne!(mask, 0);
    #[cfg(lockgate_count)]
    super::count::note(super::count::Event::Park);
    imp::wait(word, expected, mask, deadline)
}

/// Wakes every thread sleeping on `word` whose mask meets `mask`. One system call (Linux),
/// whatever the number of sleepers.
#[cfg_attr(lockgate_count, track_caller)]
pub(crate) fn wake(word: &AtomicU32, mask: u32) {
    #[cfg(lockgate_count)]
    super::count::note(super::count::Event::Unpark);
    imp::wake(word, mask);
}

#[cfg(all(target_os = "linux", not(any(lockgate_loom, lockgate_shuttle))))]
mod imp {
    use std::time::Instant;

    use super::AtomicU32;

    pub(super) fn wait(
        word: &AtomicU32,
        expected: u32,
        mask: u32,
        deadline: Option<Instant>,
    ) -> bool {
        // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, the clock `Instant` reads
        // on Linux; it is built from the time left, read against that clock now.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let ts_ptr = match deadline {
            None => core::ptr::null(),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return true;
                }
                // SAFETY: `ts` is a valid, writable timespec.
                unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
                let nanos = ts.tv_nsec as u64 + u64::from(left.subsec_nanos());
                let secs = (ts.tv_sec as u64)
                    .saturating_add(left.as_secs())
                    .saturating_add(nanos / 1_000_000_000);
                ts.tv_sec = secs.min(libc::time_t::MAX as u64) as libc::time_t;
                ts.tv_nsec = (nanos % 1_000_000_000) as _;
                &ts as *const libc::timespec
            }
        };
        // SAFETY: `word` is a live, aligned 32-bit atomic for the whole call; the kernel only
        // reads it. `ts_ptr` is null or points at `ts`, alive for the call. The result is not
        // needed: EAGAIN (the word changed), EINTR, ETIMEDOUT and a wake-up all send the
        // caller back to re-check.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
                core::ptr::null::<u32>(),
                mask,
            );
        }
        deadline.is_some_and(|d| Instant::now() >= d)
    }

    pub(super) fn wake(word: &AtomicU32, mask: u32) {
        // SAFETY: as in `wait`; the kernel uses the address only as a key.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE_BITSET | libc::FUTEX_PRIVATE_FLAG,
                i32::MAX,
                core::ptr::null::<libc::timespec>(),
                core::ptr::null::<u32>(),
                mask,
            );
        }
    }
}

#[cfg(not(all(target_os = "linux", not(any(lockgate_loom, lockgate_shuttle)))))]
use emulated as imp;

/// The futex, emulated: one table of sleepers, under the shim's mutex (std's, loom's or
/// shuttle's), each parked with the shim's park.
#[cfg(not(all(target_os = "linux", not(any(lockgate_loom, lockgate_shuttle)))))]
mod emulated {
    use std::time::Instant;

    use crate::sync::{self, global, AtomicU32, Mutex, Ordering, Thread};

    struct Sleeper {
        /// The word's address.
        word: usize,
        mask: u32,
        /// The address of the sleeping frame's `token`: unique while the entry is listed.
        token: usize,
        thread: Thread,
    }

    global!(table: Mutex<Vec<Sleeper>> = Mutex::new(Vec::new()));

    fn lock() -> sync::MutexGuard<'static, Vec<Sleeper>> {
        // Nothing panics under this lock.
        table().lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn wait(
        word: &AtomicU32,
        expected: u32,
        mask: u32,
        deadline: Option<Instant>,
    ) -> bool {
        // A wake may unpark this thread late, while it takes the table's lock again (loom
        // would fault a thread woken while blocked on a mutex): acquire by trying.
        let _y = sync::YieldingLocks::enter();
        let token = 0u8;
        let me = &token as *const u8 as usize;
        let addr = word as *const AtomicU32 as usize;
        {
            let mut t = lock();
            // SeqCst: under the lock `wake` takes after its caller changed the word, so a
            // changed word is seen here or this sleeper is seen there.
            if word.load(Ordering::SeqCst) != expected {
                return false;
            }
            t.push(Sleeper {
                word: addr,
                mask,
                token: me,
                thread: sync::current(),
            });
        }
        loop {
            let passed = sync::park_until(deadline);
            let mut t = lock();
            let Some(i) = t.iter().position(|s| s.token == me) else {
                return false; // woken: `wake` took the entry out
            };
            if passed {
                t.swap_remove(i);
                return true;
            }
            // A spurious return (an unpark meant for another wait of this thread): the word
            // may have changed without a wake reaching us yet, so re-check it.
            if word.load(Ordering::SeqCst) != expected {
                t.swap_remove(i);
                return false;
            }
        }
    }

    pub(super) fn wake(word: &AtomicU32, mask: u32) {
        let addr = word as *const AtomicU32 as usize;
        let mut t = lock();
        let mut i = 0;
        while i < t.len() {
            if t[i].word == addr && t[i].mask & mask != 0 {
                // Unparked under the lock: a sleeper whose entry is gone has been unparked
                // already, so no unpark of this layer reaches a thread after its wait
                // returned (loom would fault one arriving while it blocks on a mutex).
                sync::unpark(&t.swap_remove(i).thread);
            } else {
                i += 1;
            }
        }
    }
}
