//! The waiting mechanism: no lost wake-up, and a timeout racing a wake loses nothing.
#![cfg(lockgate_loom)]

use lockgate::__loom::{wait_blocking, WaitList};
use lockgate::WaitPolicy;
use lockgate_loom_tests::model;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::time::{Duration, Instant};

/// A waiter that checks a flag and a notifier that sets it: the waiter must never sleep
/// through the notification (loom reports a deadlock if it does).
#[test]
fn no_lost_wakeup() {
    for policy in [WaitPolicy::Park, WaitPolicy::Adaptive] {
        model(3, move || {
            let flag = Arc::new(AtomicBool::new(false));
            let list = Arc::new(WaitList::<()>::new());
            let (f, l) = (flag.clone(), list.clone());
            let waiter = thread::spawn(move || {
                // Acquire pairs with the notifier's Release store.
                wait_blocking(&l, policy, None, || f.load(Ordering::Acquire).then_some(()))
            });
            flag.store(true, Ordering::Release);
            list.notify_one();
            assert_eq!(waiter.join().unwrap(), Some(()));
        });
    }
}

/// Takes one token if there is one.
fn take(tokens: &AtomicUsize) -> Option<()> {
    let mut n = tokens.load(Ordering::Acquire);
    while n > 0 {
        match tokens.compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some(()),
            Err(now) => n = now,
        }
    }
    None
}

/// One token, one notification, two waiters: one with a timeout (which under loom may strike
/// at any point) and one without. If the timed waiter gives up, the notification it may have
/// been picked for must reach the other waiter; if it took the token, the main thread adds one.
#[test]
fn timeout_racing_wake_loses_nothing() {
    model(3, || {
        let tokens = Arc::new(AtomicUsize::new(0));
        let list = Arc::new(WaitList::<()>::new());
        let timed = {
            let (t, l) = (tokens.clone(), list.clone());
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(3600);
                wait_blocking(&l, WaitPolicy::Park, Some(deadline), || take(&t))
            })
        };
        let untimed = {
            let (t, l) = (tokens.clone(), list.clone());
            thread::spawn(move || wait_blocking(&l, WaitPolicy::Park, None, || take(&t)))
        };
        tokens.fetch_add(1, Ordering::Release);
        list.notify_one();
        if timed.join().unwrap().is_some() {
            tokens.fetch_add(1, Ordering::Release);
            list.notify_one();
        }
        assert_eq!(untimed.join().unwrap(), Some(()));
        assert_eq!(tokens.load(Ordering::Acquire), 0);
    });
}

/// `notify_all` wakes every parked waiter.
#[test]
fn notify_all_wakes_everyone() {
    model(3, || {
        let flag = Arc::new(AtomicBool::new(false));
        let list = Arc::new(WaitList::<()>::new());
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (f, l) = (flag.clone(), list.clone());
                thread::spawn(move || {
                    wait_blocking(&l, WaitPolicy::Park, None, || {
                        f.load(Ordering::Acquire).then_some(())
                    })
                })
            })
            .collect();
        flag.store(true, Ordering::Release);
        list.notify_all(2);
        for h in hs {
            assert_eq!(h.join().unwrap(), Some(()));
        }
    });
}
