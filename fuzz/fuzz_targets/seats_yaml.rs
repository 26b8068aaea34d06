//! seats.yaml bytes -> parse, validate, plan, render (see `checks.rs`).
//! Nothing may panic.

#![no_main]

mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checks::seats_yaml(data);
});
