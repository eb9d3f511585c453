#![no_main]
// Every input drives both checkers: the pool's own operations, then a Group's on a pool.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate_fuzz::check_workers(data);
    lockgate_fuzz::check_group(data);
});
