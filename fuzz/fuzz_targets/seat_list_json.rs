//! Seat-list JSON bytes -> decode, plan, render (see `checks.rs`).
//! Nothing may panic.

#![no_main]

mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checks::seat_list_json(data);
});
