//! Go's `select`: wait on several operations at once and run the one that completes first.
//!
//! [`select!`](crate::select!) blocks; [`select_async!`](crate::select_async!) is its
//! `.await` form. Both take any mix of arms:
//!
//! | arm | fires when | binds |
//! |---|---|---|
//! | `recv(rx) -> msg => ...` | a value can be received, or the channel ended | `Result<T, RecvError>` |
//! | `send(tx, v) -> res => ...` | `v` can be sent, or the channel is closed | `Result<(), SendError<T>>` |
//! | `done(ctx) -> err => ...` | the [`Context`](crate::context::Context) is done | [`ContextError`](crate::context::ContextError) |
//! | `get(promise) -> r => ...` | the [`Promise`](crate::future::Promise) has its result (then spent) | `Result<T, PromiseError>` |
//! | `default => ...` | no arm is ready right now (last arm) | |
//! | `default(timeout) => ...` | no arm fired within `timeout` (blocking form only; last arm) | |
//!
//! In `recv(rx)` and `send(tx, v)`, `rx` and `tx` are a [`Receiver`](crate::channel::Receiver)
//! or [`Sender`](crate::channel::Sender) (a local, a temporary, a reference, an `Arc`, ...),
//! or an `Option` of one: `None` *disables* the arm, which then never fires, as a nil channel
//! never does in Go's `select`. That is how a loop over channels that end at different times
//! stops selecting an ended one (set its `Option` to `None`) instead of spinning on it; see
//! the example below. A disabled send arm's value is dropped on entry, never sent. A select
//! whose arms are all disabled and which has no `default` would wait forever: it panics, as
//! `select! {}` does.
//!
//! For a set of receivers known only at run time (a fan-in over a `Vec<Receiver<T>>`), use
//! [`SelectRecv`]: the same protocol and guarantees, with arms added and removed by index.
//!
//! A timer is a receive: `recv(lockgate::time::after(d)) -> _ => ...` is Go's
//! `case <-time.After(d):`. Channel expressions and send values are evaluated once, on entry,
//! as in Go; the value of a send arm that does not fire is dropped with the select.
//!
//! Guarantees:
//!
//! * exactly one arm fires, and nothing is lost: an arm that does not fire has taken nothing
//!   (a value it did not receive is still in its channel; a value it did not send was not
//!   sent);
//! * fair: when several arms are ready, each is equally likely to fire (the arms are tried
//!   in an order shuffled afresh for every select, as Go does), so no arm starves;
//! * one waiter, linked in every arm's wait list at once: a blocked select parks once and
//!   costs no CPU; whichever list fires first wakes it;
//! * rendezvous channels (`bounded(0)`) pair with selects on the other end too: a select
//!   sending and a select receiving on the same unbuffered channel meet;
//! * the async form is cancel-safe: dropping it while it waits unlinks everything, and a
//!   value a rendezvous sender had already handed to it goes to the next receiver.
//!
//! # Examples
//!
//! A pipeline stage from the Go concurrency patterns tutorial: send the next value, unless
//! the context ends first. Nobody reads here, so after two values the producer waits in the
//! select until it is cancelled.
//!
//! ```
//! use lockgate::channel::bounded;
//! use lockgate::context::{Context, ContextError};
//! use lockgate::select;
//!
//! let (ctx, cancel) = Context::background().with_cancel();
//! let (tx, rx) = bounded(2);
//! let producer = std::thread::spawn(move || {
//!     let mut sent = 0;
//!     for v in 0.. {
//!         select! {
//!             send(tx, v) -> res => { res.unwrap(); sent += 1; },
//!             done(ctx) -> err => { assert_eq!(err, ContextError::Canceled); break; },
//!         }
//!     }
//!     sent
//! });
//! std::thread::sleep(std::time::Duration::from_millis(10));
//! cancel.cancel();
//! let sent = producer.join().unwrap();
//! assert!(sent <= 2); // both arms may be ready at once: then either is picked, as in Go
//! assert_eq!(rx.len(), sent);
//! ```
//!
//! Two sources, a timeout, and Go's non-blocking `default`:
//!
//! ```
//! use lockgate::channel::bounded;
//! use lockgate::select;
//! use std::time::Duration;
//!
//! let (tx1, rx1) = bounded::<&str>(1);
//! let (_tx2, rx2) = bounded::<u32>(1);
//! tx1.send("one").unwrap();
//! let got = select! {
//!     recv(rx1) -> m => m.unwrap().to_string(),
//!     recv(rx2) -> n => n.unwrap().to_string(),
//!     recv(lockgate::time::after(Duration::from_secs(5))) -> _ => "timeout".to_string(),
//! };
//! assert_eq!(got, "one");
//!
//! let idle = select! {
//!     recv(rx1) -> _ => false,
//!     default => true,
//! };
//! assert!(idle);
//! ```
//!
//! Fan-in over two channels that end at different times: Go's idiom of setting an ended
//! channel to nil, with `Option`. Each pass of the loop receives a value or sees one channel
//! end, once; an ended channel is never selected again, so the loop never spins.
//!
//! ```
//! use lockgate::channel::bounded;
//! use lockgate::select;
//!
//! let (tx1, rx1) = bounded::<u32>(1);
//! let (tx2, rx2) = bounded::<u32>(1);
//! std::thread::spawn(move || (0..3).for_each(|v| tx1.send(v).unwrap()));
//! std::thread::spawn(move || (10..20).for_each(|v| tx2.send(v).unwrap()));
//! let (mut a, mut b) = (Some(&rx1), Some(&rx2));
//! let (mut sum, mut passes) = (0, 0);
//! while a.is_some() || b.is_some() {
//!     passes += 1;
//!     select! {
//!         recv(a) -> v => match v {
//!             Ok(v) => sum += v,
//!             Err(_) => a = None, // ended: disable the arm
//!         },
//!         recv(b) -> v => match v {
//!             Ok(v) => sum += v,
//!             Err(_) => b = None,
//!         },
//!     }
//! }
//! assert_eq!(sum, 3 + 145);
//! assert_eq!(passes, 13 + 2); // one per value, one per end
//! ```

mod dynamic;

pub use dynamic::SelectRecv;

/// Waits until one of several operations can complete, completes it, and runs its arm: Go's
/// `select`. See the [module docs](mod@crate::select) for the arms and guarantees.
///
/// Arms are separated by commas (a comma after a block is optional); `default` comes last.
///
/// # Panics
///
/// A select with no arm but a plain `default` runs it; with no arm and nothing else it
/// would block forever, and panics instead; so does a select whose arms are all disabled
/// (`None`) and which has no `default` (nor `default(timeout)`). A `get` arm on a promise
/// that was already spent panics.
///
/// # Examples
///
/// ```
/// use lockgate::channel::bounded;
/// use std::time::Duration;
///
/// let (tx, rx) = bounded::<i32>(0);
/// std::thread::spawn(move || tx.send(42).unwrap());
/// lockgate::select! {
///     recv(rx) -> v => assert_eq!(v, Ok(42)),
///     default(Duration::from_secs(10)) => panic!("no value in 10 s"),
/// }
/// ```
#[macro_export]
macro_rules! select {
    ($($arms:tt)*) => {
        $crate::__select_parse!(@blocking [] $($arms)*)
    };
}

/// The async form of [`select!`](crate::select!): the same arms (except
/// `default(timeout)`: add a `recv(lockgate::time::after(d))` arm instead), awaited inside
/// an `async` block or function. Cancel-safe: dropping it while it waits takes nothing.
///
/// # Panics
///
/// As [`select!`](crate::select!): with no arm and no `default`, or every arm disabled and no
/// `default`.
///
/// # Examples
///
/// ```
/// use lockgate::channel::bounded;
/// use lockgate::context::Context;
///
/// let (tx, rx) = bounded::<u32>(1);
/// let ctx = Context::background();
/// let got = futures_executor::block_on(async {
///     tx.send_async(7).await.unwrap();
///     lockgate::select_async! {
///         recv(rx) -> v => v.ok(),
///         done(ctx) -> _ => None,
///     }
/// });
/// assert_eq!(got, Some(7));
/// ```
#[macro_export]
macro_rules! select_async {
    ($($arms:tt)*) => {
        $crate::__select_parse!(@async [] $($arms)*)
    };
}

/// Parses `select!` arms into `(kind (args) pattern body)` groups. Internal.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // A stray comma between arms.
    (@$mode:ident [$($done:tt)*] , $($rest:tt)*) => {
        $crate::__select_parse!(@$mode [$($done)*] $($rest)*)
    };
    // `default`, last.
    (@$mode:ident [$($done:tt)*] default => $body:expr $(,)?) => {
        $crate::__select_gen!(@$mode [$($done)*] [now] $body)
    };
    (@$mode:ident [$($done:tt)*] default ($timeout:expr $(,)?) => $body:expr $(,)?) => {
        $crate::__select_gen!(@$mode [$($done)*] [after $timeout] $body)
    };
    (@$mode:ident [$($done:tt)*] default $($rest:tt)*) => {
        ::core::compile_error!("select!: `default` must be the last arm, as `default => body` or `default(timeout) => body`")
    };
    // An arm whose body is a block, with or without a comma after it.
    (@$mode:ident [$($done:tt)*] $kind:ident ($($args:expr),+ $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@$mode [$($done)* ($kind ($($args),+) $res $body)] $($rest)*)
    };
    // An arm whose body is an expression, followed by a comma or the end.
    (@$mode:ident [$($done:tt)*] $kind:ident ($($args:expr),+ $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@$mode [$($done)* ($kind ($($args),+) $res $body)] $($rest)*)
    };
    (@$mode:ident [$($done:tt)*] $kind:ident ($($args:expr),+ $(,)?) -> $res:pat => $body:expr) => {
        $crate::__select_gen!(@$mode [$($done)* ($kind ($($args),+) $res $body)] [none] (::core::unreachable!("select!: no arm fired")))
    };
    (@$mode:ident [$($done:tt)*]) => {
        $crate::__select_gen!(@$mode [$($done)*] [none] (::core::unreachable!("select!: no arm fired")))
    };
    (@$mode:ident [$($done:tt)*] $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> pat => body`, `send(tx, value) -> pat => body` ",
            "(`rx`/`tx` a channel end or an `Option` of one, `None` disabling the arm), ",
            "`done(ctx) -> pat => body`, `get(promise) -> pat => body` or `default => body`, found `",
            ::core::stringify!($($rest)+), "`"
        ))
    };
}

/// Generates a select from parsed arms. Internal.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_gen {
    (@$mode:ident [] [none] $dbody:expr) => {
        $crate::__private::empty_select()
    };
    (@blocking [$($arms:tt)*] [$($dflt:tt)*] $dbody:expr) => {
        // A `match` keeps the temporaries of the arm expressions (`time::after(d)`) alive
        // for the whole select.
        // The `let` ends the temporaries' life before the enclosing block's locals end.
        {
            // The traits whose methods build the channel arms (see `__select_arms!`).
            #[allow(unused_imports)]
            use $crate::__private::{RecvArmSource as _, SendArmSource as _};
            let __lockgate_out = match $crate::__select_arms!($($arms)*) {
                mut __lockgate_arms => {
                    // The fair order's scratch: one slot per arm, on the stack.
                    let __lockgate_order: &mut [u32] = &mut [$($crate::__select_gen!(@slot $arms)),*];
                    let __lockgate_fired = $crate::__private::run_blocking(
                        &mut __lockgate_arms,
                        __lockgate_order,
                        $crate::__select_gen!(@is_default $($dflt)*),
                        $crate::__select_gen!(@deadline $($dflt)*),
                    );
                    $crate::__select_dispatch!(__lockgate_fired __lockgate_arms [] (0usize) [$($arms)*] $dbody)
                }
            };
            __lockgate_out
        }
    };
    (@async [$($arms:tt)*] [after $timeout:expr] $dbody:expr) => {
        ::core::compile_error!("select_async!: `default(timeout)` is not supported; add a `recv(lockgate::time::after(timeout)) -> _ => ...` arm")
    };
    (@async [$($arms:tt)*] [$($dflt:tt)*] $dbody:expr) => {
        {
            // The traits whose methods build the channel arms (see `__select_arms!`).
            #[allow(unused_imports)]
            use $crate::__private::{RecvArmSource as _, SendArmSource as _};
            let __lockgate_out = match $crate::__select_arms!($($arms)*) {
                mut __lockgate_arms => {
                    let __lockgate_order: &mut [u32] = &mut [$($crate::__select_gen!(@slot $arms)),*];
                    // SAFETY: the arms live in this match arm's binding, which is never moved,
                    // and the future is awaited in place, so it is dropped before the arms.
                    let __lockgate_fired = unsafe {
                        $crate::__private::SelectFuture::new(
                            &mut __lockgate_arms,
                            __lockgate_order,
                            if $crate::__select_gen!(@is_default $($dflt)*) {
                                $crate::__private::Otherwise::Default
                            } else {
                                $crate::__private::Otherwise::Wait
                            },
                        )
                    }
                    .await;
                    $crate::__select_dispatch!(__lockgate_fired __lockgate_arms [] (0usize) [$($arms)*] $dbody)
                }
            };
            __lockgate_out
        }
    };
    (@slot $arm:tt) => { 0u32 };
    (@is_default none) => { false };
    (@is_default now) => { true };
    (@is_default after $timeout:expr) => { false }; // wait, until the deadline
    (@deadline none) => { ::core::option::Option::None };
    (@deadline now) => { ::core::option::Option::None };
    (@deadline after $timeout:expr) => {
        ::std::time::Instant::now().checked_add($timeout)
    };
}

/// Builds the nested arm list `(A, (B, ()))`. Internal.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_arms {
    () => { () };
    // Method calls, for autoderef: `rx` may be a `Receiver`, a reference or pointer to one,
    // or an `Option` of those (`None`: a disabled arm). `__select_gen!` brings the traits into
    // scope.
    ((recv ($rx:expr) $res:tt $body:tt) $($rest:tt)*) => {
        ($rx.__lockgate_recv_arm(), $crate::__select_arms!($($rest)*))
    };
    ((send ($tx:expr, $value:expr) $res:tt $body:tt) $($rest:tt)*) => {
        ($tx.__lockgate_send_arm($value), $crate::__select_arms!($($rest)*))
    };
    ((done ($ctx:expr) $res:tt $body:tt) $($rest:tt)*) => {
        ($crate::__private::DoneArm::new(&$ctx), $crate::__select_arms!($($rest)*))
    };
    ((get ($promise:expr) $res:tt $body:tt) $($rest:tt)*) => {
        ($crate::__private::GetArm::new(&mut $promise), $crate::__select_arms!($($rest)*))
    };
    (($kind:ident ($($args:expr),+) $res:tt $body:tt) $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: unknown arm `", ::core::stringify!($kind), "(",
            ::core::stringify!($($args),+),
            ")`: expected recv(rx), send(tx, value), done(ctx) or get(promise)"
        ))
    };
}

/// Runs the body of the arm that fired, after taking its outcome out and dropping the arms
/// (so a body may use, even mutate, what the arms borrowed). Internal.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    ($fired:ident $root:ident [$($suffix:tt)*] ($idx:expr) [($kind:ident $args:tt $res:tt $body:tt) $($rest:tt)*] $dbody:expr) => {
        if $fired == ::core::option::Option::Some($idx) {
            let $res = $root $($suffix)* .0.take();
            ::core::mem::drop($root);
            $body
        } else {
            $crate::__select_dispatch!($fired $root [$($suffix)* .1] ($idx + 1usize) [$($rest)*] $dbody)
        }
    };
    ($fired:ident $root:ident [$($suffix:tt)*] ($idx:expr) [] $dbody:expr) => {{
        let _ = &$fired;
        ::core::mem::drop($root);
        $dbody
    }};
}
