#![no_main]
// Every input drives every checker: the pool's own operations, a Group's on a pool, and
// jobs submitting jobs across several workers' deques (stealing).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate_fuzz::check_workers(data);
    lockgate_fuzz::check_group(data);
    lockgate_fuzz::check_stealing(data);
});
