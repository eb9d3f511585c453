//! The counting build (`--cfg lockgate_count`): std's atomics, mutex, park and unpark, each
//! operation recorded per call site and per thread, so that the costs that decide speed on
//! many cores (a cache line moving between cores, a failed CAS, a park or an unpark per
//! item) can be counted on a machine with two.
//!
//! Every counted atomic carries a tag beside its value: the id of the thread that wrote it
//! last and a write version. A write (store, successful RMW) by a thread other than the last
//! writer, and a failed CAS there, count as *cross-thread RMWs/stores*: the line had to move
//! here. A load counts as a *cross-thread read* the first time a thread sees a version
//! another thread wrote (a thread spinning on an unchanged word pays one transfer, not one
//! per look). Call sites come from `#[track_caller]`.
//!
//! **Forced interleaving.** Two cores run sixteen threads in millisecond slices, so they
//! rarely meet on a line and the counts would be far below sixteen cores'. So after every
//! RMW (successful or not) the thread yields (`Interleave::Yield`, the default), spins
//! briefly (`Spin(n)`), or goes on (`Off`): threads then interleave per operation, as they do
//! when each has its own core. `LOCKGATE_COUNT_INTERLEAVE` (`yield`, `off`, `spin:N`) sets
//! the mode at start; [`set_interleave`] changes it.
//!
//! What it cannot see: atomics inside dependencies (crossbeam-epoch's, atomic-waker's, and
//! any taken later), std's own locks (inside `thread::park`, the allocator, `OnceLock`), and
//! false sharing: tags are per atomic, not per cache line, so two words on one line count
//! as two lines. Tag updates are not atomic with the operation they describe: two writers
//! racing may each see the other as the last writer, or neither; the counts are estimates
//! with that error, good for comparing designs and for budgets, not exact line traffic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicU32 as StdU32, AtomicU64 as StdU64, Ordering as O};
use std::sync::{Arc as StdArc, Mutex as StdMutex, OnceLock};

/// What one thread (or call site) did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Atomic loads.
    pub loads: u64,
    /// Loads that saw a version another thread wrote, first look only.
    pub cross_reads: u64,
    /// Atomic stores.
    pub stores: u64,
    /// Stores to a word another thread wrote last.
    pub cross_stores: u64,
    /// Read-modify-writes, failed CAS included.
    pub rmws: u64,
    /// RMWs (failed CAS included) on a word another thread wrote last.
    pub cross_rmws: u64,
    /// CAS attempts (compare-exchange, weak or strong), failed ones included.
    pub cas: u64,
    /// CAS that failed.
    pub failed_cas: u64,
    /// `spin_loop` hints.
    pub spins: u64,
    /// `yield_now` calls of the crate (not the forced ones).
    pub yields: u64,
    /// Parks (`park_until`).
    pub parks: u64,
    /// Unparks of another thread.
    pub unparks: u64,
    /// Acquisitions of the shim's `Mutex`.
    pub locks: u64,
}

impl Counts {
    /// Line transfers: cross-thread reads, stores and RMWs.
    pub fn transfers(&self) -> u64 {
        self.cross_reads + self.cross_stores + self.cross_rmws
    }

    fn add(&mut self, o: &Counts) {
        self.loads += o.loads;
        self.cross_reads += o.cross_reads;
        self.stores += o.stores;
        self.cross_stores += o.cross_stores;
        self.rmws += o.rmws;
        self.cross_rmws += o.cross_rmws;
        self.cas += o.cas;
        self.failed_cas += o.failed_cas;
        self.spins += o.spins;
        self.yields += o.yields;
        self.parks += o.parks;
        self.unparks += o.unparks;
        self.locks += o.locks;
    }
}

/// How a thread yields the core after each RMW (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interleave {
    /// No forced switch.
    Off,
    /// `std::thread::yield_now` after every RMW.
    Yield,
    /// `n` spin-loop hints after every RMW.
    Spin(u32),
}

/// `Interleave` as one word: 0 off, 1 yield, 2 + n spin n. `u32::MAX`: not read yet.
static MODE: StdU32 = StdU32::new(u32::MAX);

fn mode() -> u32 {
    let m = MODE.load(O::Relaxed);
    if m != u32::MAX {
        return m;
    }
    let m = match std::env::var("LOCKGATE_COUNT_INTERLEAVE").as_deref() {
        Ok("off") => 0,
        Ok(s) if s.starts_with("spin:") => 2 + s[5..].parse::<u32>().unwrap_or(100),
        _ => 1,
    };
    MODE.store(m, O::Relaxed);
    m
}

/// Sets the forced-interleaving mode for every thread.
pub fn set_interleave(i: Interleave) {
    let m = match i {
        Interleave::Off => 0,
        Interleave::Yield => 1,
        Interleave::Spin(n) => 2 + n.min(u32::MAX - 3),
    };
    MODE.store(m, O::Relaxed);
}

fn interleave() {
    match mode() {
        0 => {}
        1 => std::thread::yield_now(),
        m => {
            for _ in 0..m - 2 {
                std::hint::spin_loop();
            }
        }
    }
}

/// One thread's counts: its total, per call site, and per atomic word (by address, with the
/// site that touched it last).
#[derive(Default)]
struct Local {
    total: Counts,
    sites: Keyed,
    words: Keyed,
}

/// Every thread's `Local`, for the report (threads that ended keep theirs here).
fn registry() -> &'static StdMutex<Vec<StdArc<StdMutex<Local>>>> {
    static R: OnceLock<StdMutex<Vec<StdArc<StdMutex<Local>>>>> = OnceLock::new();
    R.get_or_init(|| StdMutex::new(Vec::new()))
}

struct Me {
    id: u32,
    local: StdArc<StdMutex<Local>>,
    /// The write version of each word this thread last saw written by another (by address).
    seen: RefCell<HashMap<usize, u32>>,
}

thread_local! {
    static ME: Me = {
        static NEXT: StdU32 = StdU32::new(1);
        let local = StdArc::new(StdMutex::new(Local::default()));
        registry().lock().unwrap_or_else(|e| e.into_inner()).push(local.clone());
        Me { id: NEXT.fetch_add(1, O::Relaxed), local, seen: RefCell::new(HashMap::new()) }
    };
}

/// Adds `f` to this thread's total, to `loc`'s and, for an atomic access, to the word's.
fn bump(loc: &'static Location<'static>, word: Option<usize>, f: impl Fn(&mut Counts)) {
    let _ = ME.try_with(|me| {
        let mut l = me.local.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut l.total);
        let key = loc as *const Location<'static> as usize;
        f(&mut l.sites.entry(key).or_insert((loc, Counts::default())).1);
        if let Some(w) = word {
            let e = l.words.entry(w).or_insert((loc, Counts::default()));
            e.0 = loc;
            f(&mut e.1);
        }
    });
}

fn my_id() -> u32 {
    ME.try_with(|me| me.id).unwrap_or(0)
}

/// The tag of a counted atomic: last writer (high half) and write version (low half).
#[derive(Debug, Default)]
pub struct Tag(StdU64);

#[derive(Clone, Copy)]
enum Access {
    Load,
    Store,
    Rmw,
    Cas,
    FailedCas,
}

/// How a compare-exchange's result is counted.
fn cas_access<T>(r: &Result<T, T>) -> Access {
    if r.is_ok() {
        Access::Cas
    } else {
        Access::FailedCas
    }
}

impl Tag {
    const fn new() -> Self {
        Tag(StdU64::new(0))
    }

    fn record(&self, addr: usize, loc: &'static Location<'static>, a: Access) {
        let t = self.0.load(O::Relaxed);
        let (writer, version) = ((t >> 32) as u32, t as u32);
        let me = my_id();
        let other = writer != 0 && writer != me;
        match a {
            Access::Load => {
                let fresh = other
                    && ME
                        .try_with(|m| m.seen.borrow_mut().insert(addr, version) != Some(version))
                        .unwrap_or(false);
                bump(loc, Some(addr), |c| {
                    c.loads += 1;
                    c.cross_reads += u64::from(fresh);
                });
            }
            Access::Store | Access::Rmw | Access::Cas => {
                let next = (u64::from(me) << 32) | u64::from(version.wrapping_add(1));
                self.0.store(next, O::Relaxed);
                let store = matches!(a, Access::Store);
                let cas = matches!(a, Access::Cas);
                bump(loc, Some(addr), |c| {
                    c.cas += u64::from(cas);
                    if store {
                        c.stores += 1;
                        c.cross_stores += u64::from(other);
                    } else {
                        c.rmws += 1;
                        c.cross_rmws += u64::from(other);
                    }
                });
            }
            Access::FailedCas => bump(loc, Some(addr), |c| {
                c.cas += 1;
                c.rmws += 1;
                c.cross_rmws += u64::from(other);
                c.failed_cas += 1;
            }),
        }
        if matches!(a, Access::Rmw | Access::Cas | Access::FailedCas) {
            interleave();
        }
    }
}

/// Zeroes every thread's counts.
pub fn reset() {
    for l in registry().lock().unwrap_or_else(|e| e.into_inner()).iter() {
        *l.lock().unwrap_or_else(|e| e.into_inner()) = Local::default();
    }
}

/// The counts of every thread since the last [`reset`], summed.
pub fn totals() -> Counts {
    let mut c = Counts::default();
    for l in registry().lock().unwrap_or_else(|e| e.into_inner()).iter() {
        c.add(&l.lock().unwrap_or_else(|e| e.into_inner()).total);
    }
    c
}

/// Per-key counts of one thread (its call sites or its words), each with a call site.
type Keyed = HashMap<usize, (&'static Location<'static>, Counts)>;

/// The `n` keys with the most line transfers over every thread's `pick` map, summed.
fn top(n: usize, pick: fn(&Local) -> &Keyed) -> Vec<(String, Counts)> {
    let mut all: Keyed = HashMap::new();
    for l in registry().lock().unwrap_or_else(|e| e.into_inner()).iter() {
        for (k, (loc, c)) in pick(&l.lock().unwrap_or_else(|e| e.into_inner())) {
            all.entry(*k).or_insert((loc, Counts::default())).1.add(c);
        }
    }
    let mut v: Vec<_> = all
        .into_values()
        .map(|(loc, c)| (format!("{}:{}", loc.file(), loc.line()), c))
        .collect();
    v.sort_by_key(|(_, c)| std::cmp::Reverse((c.transfers(), c.failed_cas, c.rmws)));
    v.truncate(n);
    v
}

/// The `n` call sites with the most line transfers since the last [`reset`] (`file:line`).
pub fn top_sites(n: usize) -> Vec<(String, Counts)> {
    top(n, |l| &l.sites)
}

/// The `n` atomic words with the most line transfers since the last [`reset`], each named
/// by a call site that touched it (`file:line`). Words at reused addresses (a structure
/// freed and another allocated there) are summed together: reset between runs.
pub fn hot_words(n: usize) -> Vec<(String, Counts)> {
    top(n, |l| &l.words)
}

/// Records a spin-loop hint, a yield, a park, an unpark or a lock at the caller's site.
#[track_caller]
pub(crate) fn note(what: Event) {
    let loc = Location::caller();
    bump(loc, None, |c| match what {
        Event::Spin => c.spins += 1,
        Event::Yield => c.yields += 1,
        Event::Park => c.parks += 1,
        Event::Unpark => c.unparks += 1,
        Event::Lock => c.locks += 1,
    });
}

#[derive(Clone, Copy)]
pub(crate) enum Event {
    Spin,
    Yield,
    Park,
    Unpark,
    Lock,
}

/// The methods every counted atomic shares, over its value type `$t`: each operation of
/// std's atomic, then its record.
macro_rules! counted_ops {
    ($t:ty) => {
        fn at(&self, a: Access, loc: &'static Location<'static>) {
            self.tag.record(self as *const Self as usize, loc, a);
        }
        #[track_caller]
        pub(crate) fn load(&self, o: O) -> $t {
            let r = self.v.load(o);
            self.at(Access::Load, Location::caller());
            r
        }
        #[track_caller]
        pub(crate) fn store(&self, x: $t, o: O) {
            self.v.store(x, o);
            self.at(Access::Store, Location::caller());
        }
        #[track_caller]
        pub(crate) fn swap(&self, x: $t, o: O) -> $t {
            let r = self.v.swap(x, o);
            self.at(Access::Rmw, Location::caller());
            r
        }
        #[track_caller]
        pub(crate) fn compare_exchange(&self, c: $t, n: $t, s: O, f: O) -> Result<$t, $t> {
            let r = self.v.compare_exchange(c, n, s, f);
            self.at(cas_access(&r), Location::caller());
            r
        }
        #[track_caller]
        pub(crate) fn compare_exchange_weak(&self, c: $t, n: $t, s: O, f: O) -> Result<$t, $t> {
            let r = self.v.compare_exchange_weak(c, n, s, f);
            self.at(cas_access(&r), Location::caller());
            r
        }
        pub(crate) fn into_inner(self) -> $t {
            self.v.into_inner()
        }
        pub(crate) fn get_mut(&mut self) -> &mut $t {
            self.v.get_mut()
        }
    };
}

/// The counted atomics: std's, with a [`Tag`]; the same methods the crate calls.
macro_rules! counted_int {
    ($name:ident, $std:ty, $t:ty) => {
        #[derive(Debug, Default)]
        pub struct $name {
            v: $std,
            tag: Tag,
        }

        #[allow(dead_code)]
        impl $name {
            pub(crate) const fn new(v: $t) -> Self {
                $name {
                    v: <$std>::new(v),
                    tag: Tag::new(),
                }
            }
            counted_ops!($t);
            /// The std atomic's address (the futex call needs the word itself).
            pub(crate) fn as_ptr(&self) -> *mut $t {
                self.v.as_ptr()
            }
            #[track_caller]
            pub(crate) fn fetch_update(
                &self,
                s: O,
                f: O,
                mut g: impl FnMut($t) -> Option<$t>,
            ) -> Result<$t, $t> {
                let loc = Location::caller();
                let mut cur = self.v.load(f);
                self.at(Access::Load, loc);
                while let Some(n) = g(cur) {
                    match self.v.compare_exchange_weak(cur, n, s, f) {
                        Ok(x) => {
                            self.at(Access::Cas, loc);
                            return Ok(x);
                        }
                        Err(x) => {
                            self.at(Access::FailedCas, loc);
                            cur = x;
                        }
                    }
                }
                Err(cur)
            }
        }
    };
}

macro_rules! counted_arith {
    ($name:ident, $t:ty, $($op:ident),*) => {
        #[allow(dead_code)]
        impl $name {
            $(
                #[track_caller]
                pub(crate) fn $op(&self, x: $t, o: O) -> $t {
                    let r = self.v.$op(x, o);
                    self.at(Access::Rmw, Location::caller());
                    r
                }
            )*
        }
    };
}

counted_int!(AtomicUsize, std::sync::atomic::AtomicUsize, usize);
counted_int!(AtomicU32, std::sync::atomic::AtomicU32, u32);
counted_int!(AtomicU64, std::sync::atomic::AtomicU64, u64);
counted_int!(AtomicI64, std::sync::atomic::AtomicI64, i64);
counted_int!(AtomicBool, std::sync::atomic::AtomicBool, bool);
counted_arith!(
    AtomicUsize,
    usize,
    fetch_add,
    fetch_sub,
    fetch_or,
    fetch_and,
    fetch_max
);
counted_arith!(AtomicU32, u32, fetch_add, fetch_sub, fetch_or, fetch_and, fetch_xor);
counted_arith!(AtomicU64, u64, fetch_add, fetch_sub, fetch_or, fetch_and, fetch_max);
counted_arith!(AtomicI64, i64, fetch_add, fetch_sub, fetch_or, fetch_and, fetch_max);
counted_arith!(AtomicBool, bool, fetch_or, fetch_and);

/// A counted `AtomicPtr<T>`.
#[derive(Debug, Default)]
pub struct AtomicPtr<T> {
    v: std::sync::atomic::AtomicPtr<T>,
    tag: Tag,
}

#[allow(dead_code)]
impl<T> AtomicPtr<T> {
    pub(crate) const fn new(p: *mut T) -> Self {
        AtomicPtr {
            v: std::sync::atomic::AtomicPtr::new(p),
            tag: Tag::new(),
        }
    }
    counted_ops!(*mut T);
}

/// std's `Mutex`, each `lock` counted; everything else as std's (through `Deref`).
#[derive(Debug, Default)]
pub struct Mutex<T>(std::sync::Mutex<T>);

#[allow(dead_code)]
impl<T> Mutex<T> {
    pub(crate) const fn new(v: T) -> Self {
        Mutex(std::sync::Mutex::new(v))
    }
    #[track_caller]
    pub(crate) fn lock(&self) -> std::sync::LockResult<std::sync::MutexGuard<'_, T>> {
        note(Event::Lock);
        self.0.lock()
    }
    pub(crate) fn into_inner(self) -> std::sync::LockResult<T> {
        self.0.into_inner()
    }
}

impl<T> core::ops::Deref for Mutex<T> {
    type Target = std::sync::Mutex<T>;
    fn deref(&self) -> &std::sync::Mutex<T> {
        &self.0
    }
}
