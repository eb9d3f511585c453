//! Where continuations run: inline on the completing thread, up to a nesting depth; deeper
//! than that, on a per-thread queue that the outermost completion drains in a loop.
//!
//! A chain `p.then(f).then(g)...` resolved at once completes each link from inside the
//! previous one; running every link inline would recurse once per link and overflow the stack
//! for long chains. Queuing every nested continuation instead (Scala's batching executor)
//! has the opposite risk: a continuation that blocks on a result another queued continuation
//! would produce waits forever. Inline up to `MAX_DEPTH`, then queue, keeps the stack bounded
//! and queues only on long chains; and a blocking wait on a promise runs this thread's queued
//! continuations before it parks (`run_one_queued`).

use core::cell::RefCell;
use std::collections::VecDeque;

use crate::sync::thread_local;

/// Continuations nested deeper than this on one thread are queued instead of run inline.
const MAX_DEPTH: usize = 16;

/// A continuation bound to its cell (built by the cell, so this module knows nothing of
/// cells: the dependency runs one way, cell -> trampoline).
pub(super) type Job = Box<dyn FnOnce()>;

struct Trampoline {
    /// Continuations running inline on this thread right now.
    depth: usize,
    /// Continuations waiting for the outermost one to finish.
    queue: VecDeque<Job>,
}

thread_local! {
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    static TRAMPOLINE: RefCell<Trampoline> = RefCell::new(Trampoline {
        depth: 0,
        queue: VecDeque::new(),
    });
}

/// Runs continuation `job`: inline, or queued if this thread is nested deep enough.
pub(super) fn run(job: Job) {
    // `None`: queued. After this thread's locals are destroyed (a resolver dropped by another
    // thread-local's destructor), run inline: no chain is being drained then.
    let outermost = TRAMPOLINE.try_with(|t| {
        let mut t = t.borrow_mut();
        if t.depth >= MAX_DEPTH {
            None
        } else {
            t.depth += 1;
            Some(t.depth == 1)
        }
    });
    let outermost = match outermost {
        Ok(Some(o)) => o,
        Ok(None) => {
            TRAMPOLINE.with(|t| t.borrow_mut().queue.push_back(job));
            return;
        }
        Err(_) => {
            job();
            return;
        }
    };
    // Leaves the depth as it found it, unwinding included; the outermost also drains the
    // queue (unwinding too, so queued continuations of other chains are not lost).
    struct Leave(bool);
    impl Drop for Leave {
        fn drop(&mut self) {
            let _ = TRAMPOLINE.try_with(|t| t.borrow_mut().depth -= 1);
            if self.0 {
                while run_one_queued() {}
            }
        }
    }
    let _leave = Leave(outermost);
    job();
}

/// Runs one queued continuation of this thread, if any; false if there was none.
pub(super) fn run_one_queued() -> bool {
    let job = TRAMPOLINE
        .try_with(|t| t.borrow_mut().queue.pop_front())
        .ok()
        .flatten();
    match job {
        Some(job) => {
            let _ = TRAMPOLINE.try_with(|t| t.borrow_mut().depth += 1);
            struct Leave;
            impl Drop for Leave {
                fn drop(&mut self) {
                    let _ = TRAMPOLINE.try_with(|t| t.borrow_mut().depth -= 1);
                }
            }
            let _leave = Leave;
            job();
            true
        }
        None => false,
    }
}
