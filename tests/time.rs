//! Timers: `after` fires once and never early, `tick` fires every period and never early,
//! a slow receiver misses ticks instead of queuing them, dropped timers stop, and many
//! timers at once all fire.

mod common;

use common::Watchdog;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn after_fires_once_never_early() {
    let _w = Watchdog::new("after_fires_once_never_early", 60);
    let start = Instant::now();
    let rx = lockgate::time::after(Duration::from_millis(20));
    let at = rx.recv().unwrap();
    assert!(at >= start + Duration::from_millis(20), "fired early");
    assert!(start.elapsed() >= Duration::from_millis(20));
    // Once only: nothing more comes (generous wait).
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
}

#[test]
fn tick_fires_every_period_never_early() {
    let _w = Watchdog::new("tick_fires_every_period_never_early", 60);
    let period = Duration::from_millis(10);
    let start = Instant::now();
    let ticks = lockgate::time::tick(period);
    let mut last = start;
    for k in 1..=5u32 {
        let t = ticks.recv().unwrap();
        assert!(t >= start + period * k, "tick {k} early");
        assert!(t >= last);
        last = t;
    }
}

#[test]
fn a_slow_receiver_misses_ticks() {
    let _w = Watchdog::new("a_slow_receiver_misses_ticks", 60);
    let period = Duration::from_millis(10);
    let ticks = lockgate::time::tick(period);
    thread::sleep(period * 15);
    // One tick kept, not fifteen.
    assert_eq!(ticks.len(), 1);
    // Over the next two periods at most a few more come (a burst of the missed ones would
    // be about fifteen), and ticking goes on.
    let until = std::time::Instant::now() + period * 2;
    let mut got = 0;
    while std::time::Instant::now() < until {
        if ticks.recv_timeout(period).is_ok() {
            got += 1;
        }
    }
    assert!(
        (1..=5).contains(&got),
        "{got} ticks in two periods after a stall"
    );
}

#[test]
fn many_timers_all_fire_in_order_of_deadline() {
    let _w = Watchdog::new("many_timers_all_fire_in_order_of_deadline", 60);
    let start = Instant::now();
    let rxs: Vec<_> = (0..200u64)
        .map(|i| {
            let d = Duration::from_millis(1 + (i * 7) % 40);
            (d, lockgate::time::after(d))
        })
        .collect();
    for (d, rx) in rxs {
        let at = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a timer never fired");
        assert!(at >= start + d, "fired early");
    }
}

#[test]
fn dropped_timers_cost_nothing_more() {
    let _w = Watchdog::new("dropped_timers_cost_nothing_more", 60);
    // A thousand tickers dropped at once, then a fresh timer still fires on time.
    for _ in 0..1_000 {
        drop(lockgate::time::tick(Duration::from_millis(1)));
    }
    for _ in 0..1_000 {
        drop(lockgate::time::after(Duration::from_secs(3600)));
    }
    let start = Instant::now();
    assert!(lockgate::time::after(Duration::from_millis(5))
        .recv_timeout(Duration::from_secs(10))
        .is_ok());
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[test]
fn a_timer_too_far_to_represent_never_fires_and_is_released() {
    let _w = Watchdog::new(
        "a_timer_too_far_to_represent_never_fires_and_is_released",
        60,
    );
    let rx = lockgate::time::after(Duration::MAX);
    assert!(rx.recv_timeout(Duration::from_millis(10)).is_err());
    drop(rx);
    let ticks = lockgate::time::tick(Duration::MAX);
    assert!(ticks.try_recv().is_err());
}

/// Go's `time.After`: one value, then the channel is never ready again (it is not closed),
/// so a second receive waits: `try_recv` finds it empty and `recv_timeout` times out.
#[test]
fn after_delivers_once_then_is_never_ready() {
    use lockgate::channel::{RecvTimeoutError, TryRecvError};
    let _w = Watchdog::new("after_delivers_once_then_is_never_ready", 60);
    let rx = lockgate::time::after(Duration::from_millis(5));
    assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok());
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(50)),
        Err(RecvTimeoutError::Timeout)
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_closed());
    // A clone, and the original dropped: still open, still empty.
    let again = rx.clone();
    drop(rx);
    assert_eq!(again.try_recv(), Err(TryRecvError::Empty));
}

/// Go's timeout loop: `timeout := time.After(d); for { select { case v := <-ch: ...; case
/// <-timeout: ... } }`. The stored timer arm fires once, with a value, and never again while
/// the loop goes on receiving from the other channel.
#[test]
fn a_stored_after_arm_fires_once_in_a_select_loop() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let _w = Watchdog::new("a_stored_after_arm_fires_once_in_a_select_loop", 60);
    let timer = lockgate::time::after(Duration::from_millis(10));
    let (tx, rx) = lockgate::channel::bounded::<u32>(1);
    let fired_flag = Arc::new(AtomicBool::new(false));
    let producer = {
        let fired_flag = fired_flag.clone();
        thread::spawn(move || {
            // Keep sending until 20 values went out after the timer arm fired, so the loop
            // runs on well past the firing, whatever the machine's speed.
            let (mut sent, mut after_fire) = (0u32, 0);
            while after_fire < 20 {
                tx.send(sent).unwrap();
                sent += 1;
                if fired_flag.load(Ordering::SeqCst) {
                    after_fire += 1;
                }
                thread::sleep(Duration::from_millis(1));
            }
            sent // dropping `tx` ends the loop
        })
    };
    let (mut fired, mut got) = (0u32, 0u32);
    loop {
        lockgate::select! {
            recv(timer) -> t => {
                assert!(t.is_ok(), "the timer arm fired with {t:?} (after {fired} firings)");
                fired += 1;
                fired_flag.store(true, Ordering::SeqCst);
            }
            recv(rx) -> v => match v {
                Ok(_) => got += 1,
                Err(_) => break,
            },
        }
    }
    assert_eq!(fired, 1);
    assert_eq!(got, producer.join().unwrap());
}
