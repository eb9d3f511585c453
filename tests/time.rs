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
