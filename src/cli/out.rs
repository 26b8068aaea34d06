//! Standard output that a closed pipe (`seatkeeper plan | head -1`) ends
//! quietly: the first `EPIPE` stops further output, and the command keeps
//! its exit code. `print!` would panic instead.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Write `s` to stdout, unless stdout was closed by the reader.
pub fn write(s: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe is the reader's choice; anything else is reported once.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}");
        }
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// `print!` that a closed stdout cannot turn into a panic.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out::write(&format!($($t)*)) };
}

/// `println!` that a closed stdout cannot turn into a panic.
macro_rules! outln {
    () => { $crate::cli::out::write("\n") };
    ($($t:tt)*) => { $crate::cli::out::write(&format!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {out, outln};
